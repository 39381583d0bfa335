//! A scripted cluster for the session's unit tests: one shared world that the fake platform
//! acts on (kill, stop, pause, start…) and the fake Kafka answers metadata from, with Kafka's
//! rules at their simplest — a broker that is down leaves every ISR at once, a partition it led
//! moves to the first in-sync replica left (offline when none), a broker back rejoins every
//! ISR and leads what was offline. Every platform call is recorded; the platform can be lost
//! on demand; a broker can be made to hang without being down (frozen answers).

use super::context::RunContext;
use super::kafka_side::KafkaSide;
use super::observer::{BrokerConnection, MetadataSource};
use super::workload::{
    DownOnPurpose, Drained, Group, LiveReader, Producer, Reread, SharedGroup, Transactions,
};
use crate::analysis::group::GroupHistory;
use crate::analysis::verify::{AckLedger, SeenSet};
use crate::error::Error;
use crate::events::{
    BrokerId, ClusterMode, ClusterSnapshot, ConsumerSummary, EventKind, LatencyPhase,
    PartitionState, TransactionSummary, VerificationSummary, WorkloadSummary,
};
use crate::experiment::{Direction, FaultKind, WorkloadSpec};
use crate::kafka::metadata::BrokerView;
use crate::kafka::reader::ReadOptions;
use crate::kafka::KafkaError;
use crate::platform::{
    Cluster, ClusterPlatform, ContainerState, FaultPlatform, Lifecycle, NetworkRules, Origin,
    PlatformError, Role, RunningService,
};
use std::collections::BTreeMap;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The cluster as the fakes see it.
#[derive(Debug, Default)]
pub struct World {
    /// Every service of the cluster and its state (brokers `kafka-N` are broker N).
    pub services: BTreeMap<String, ContainerState>,
    pub partitions: Vec<PartitionState>,
    /// Every platform call, in order (`"kill kafka-2"`, `"partition kafka-1 from …"`).
    pub calls: Vec<String>,
    /// Brokers that accept connections but never answer (a frozen process seen from outside).
    pub hanging: Vec<BrokerId>,
    /// Calls the platform refuses (matched on the recorded text; `*`: every call).
    pub refuse: Vec<String>,
    /// Metadata requests asked of any broker so far.
    pub requests: u64,
    /// The tracked producer acks nothing, whatever the partitions (a client that does not
    /// resume).
    pub producer_stalled: bool,
    /// The latency phases the session switched the producer to, in order.
    pub producer_phases: Vec<LatencyPhase>,
    /// How long the re-read takes.
    pub reread_takes: Duration,
    /// What the re-read finds the group skipped and left unprocessed.
    pub group_unprocessed: Option<(u64, u64)>,
    /// Whether the consumer group holds every partition (it forms when set).
    pub group_formed: bool,
    /// The grace each drain was given: the live consumer's, the group's.
    pub consumer_grace: Option<Duration>,
    pub group_grace: Option<Duration>,
    /// Whether the transactions' end was asked to re-read (None: not ended).
    pub transactions_reread: Option<bool>,
}

/// One world shared by the fake platform and the fake Kafka.
#[derive(Debug, Clone, Default)]
pub struct Scripted {
    world: Arc<Mutex<World>>,
    lost: Arc<tokio::sync::Notify>,
}

pub fn broker_name(id: BrokerId) -> String {
    format!("kafka-{id}")
}

fn broker_of(service: &str) -> Option<BrokerId> {
    service.strip_prefix("kafka-")?.parse().ok()
}

impl Scripted {
    /// ZooKeeper and three brokers, every service running, `topic` with `partitions`
    /// partitions of replicas [1, 2, 3] led round-robin.
    pub fn three_brokers(topic: &str, partitions: i32) -> Self {
        let s = Scripted::default();
        {
            let mut w = s.world();
            w.services
                .insert("zookeeper".into(), ContainerState::Running);
            for id in 1..=3 {
                w.services.insert(broker_name(id), ContainerState::Running);
            }
            w.partitions = (0..partitions)
                .map(|p| PartitionState {
                    topic: topic.into(),
                    partition: p,
                    leader: Some(p % 3 + 1),
                    leader_epoch: 0,
                    replicas: vec![1, 2, 3],
                    isr: vec![1, 2, 3],
                    offline_replicas: Vec::new(),
                })
                .collect();
        }
        s
    }

    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().expect("the scripted world's lock")
    }

    pub fn calls(&self) -> Vec<String> {
        self.world().calls.clone()
    }

    /// The platform goes away (the Docker daemon stops answering): `lost()` resolves and
    /// every later call fails.
    pub fn lose_platform(&self) {
        self.world().refuse.push("*".into());
        self.lost.notify_waiters();
        self.lost.notify_one();
    }

    /// A broker's process exits by itself (no fault): it leaves the cluster.
    pub fn exit_by_itself(&self, id: BrokerId) {
        let mut w = self.world();
        w.services.insert(broker_name(id), ContainerState::Exited);
        w.leave(id);
    }

    /// The cluster as `Cluster`, the way a platform reports it.
    pub fn cluster(&self) -> Cluster {
        let services = self
            .world()
            .services
            .iter()
            .map(|(name, state)| RunningService {
                name: name.clone(),
                container_id: format!("id-{name}"),
                container_name: format!("scripted-{name}"),
                role: match broker_of(name) {
                    Some(id) => Role::Broker { id, kraft: false },
                    None => Role::ZooKeeper { client_port: 2181 },
                },
                host_bootstrap: broker_of(name).map(|id| format!("127.0.0.1:{}", 9090 + id)),
                ip: Some("10.0.0.2".into()),
                state: *state,
                node: None,
            })
            .collect();
        Cluster {
            name: "scripted".into(),
            origin: Origin::Started,
            network: "scripted".into(),
            mode: ClusterMode::Zookeeper,
            config_hash: String::new(),
            services,
            reused: false,
            ready_after: Duration::ZERO,
            replaced_unready: None,
            nodes: Vec::new(),
        }
    }

    fn record(&self, call: String) -> Result<(), PlatformError> {
        let mut w = self.world();
        let refused = w.refuse.iter().any(|r| r == "*" || *r == call);
        w.calls.push(call.clone());
        if refused {
            return Err(PlatformError::Failed {
                action: crate::platform::PlatformAction::Lifecycle(Lifecycle::Kill),
                service: call,
                source: "refused by the scripted platform".into(),
            });
        }
        Ok(())
    }
}

impl World {
    fn answering(&self, id: BrokerId) -> bool {
        self.services.get(&broker_name(id)) == Some(&ContainerState::Running)
            && !self.hanging.contains(&id)
    }

    fn running_brokers(&self) -> Vec<BrokerId> {
        self.services
            .iter()
            .filter(|(_, s)| **s == ContainerState::Running)
            .filter_map(|(name, _)| broker_of(name))
            .collect()
    }

    /// A broker down: out of every ISR, its leaderships moved to the first replica left.
    fn leave(&mut self, id: BrokerId) {
        for p in &mut self.partitions {
            p.isr.retain(|b| *b != id);
            if p.leader == Some(id) {
                p.leader = p.isr.first().copied();
                p.leader_epoch += 1;
            }
        }
    }

    /// A broker back: in every ISR again (caught up at once), leader of what was offline.
    fn rejoin(&mut self, id: BrokerId) {
        for p in &mut self.partitions {
            if p.replicas.contains(&id) && !p.isr.contains(&id) {
                p.isr.push(id);
                p.isr.sort_unstable();
            }
            if p.leader.is_none() {
                p.leader = Some(id);
                p.leader_epoch += 1;
            }
        }
    }

    fn view(&self) -> BrokerView {
        let brokers = self.running_brokers();
        BrokerView {
            controller: brokers.first().copied(),
            brokers,
            partitions: self.partitions.clone(),
        }
    }
}

impl FaultPlatform for Scripted {
    async fn act(&self, action: Lifecycle, service: &str) -> Result<(), PlatformError> {
        self.record(format!("{} {service}", action.as_str()))?;
        let mut w = self.world();
        let state = match action {
            Lifecycle::Kill | Lifecycle::Stop => ContainerState::Exited,
            Lifecycle::Pause => ContainerState::Paused,
            Lifecycle::Start | Lifecycle::Restart | Lifecycle::Unpause => ContainerState::Running,
            Lifecycle::Disconnect | Lifecycle::Connect => return Ok(()),
        };
        w.services.insert(service.into(), state);
        if let Some(id) = broker_of(service) {
            if state == ContainerState::Running {
                w.rejoin(id);
            } else {
                w.leave(id);
            }
        }
        Ok(())
    }
    async fn moment(
        &self,
        _: &str,
        _: Lifecycle,
        since_ns: i64,
        _: Duration,
    ) -> Option<crate::platform::Moment> {
        // As Docker's event stream would say it.
        Some(crate::platform::Moment {
            at_ns: since_ns + 5_000_000,
            source: crate::events::TimeSource::DockerEvent,
        })
    }
    async fn partition(
        &self,
        service: &str,
        peers: &[String],
        _: Direction,
    ) -> Result<NetworkRules, PlatformError> {
        self.record(format!("partition {service} from {}", peers.join(",")))?;
        Ok(vec![vec![format!("rule-{service}")]])
    }
    async fn heal_partition(&self, service: &str, _: &NetworkRules) -> Result<(), PlatformError> {
        self.record(format!("heal-partition {service}"))
    }
    async fn bandwidth(&self, service: &str, rate: &str) -> Result<(), PlatformError> {
        self.record(format!("bandwidth {service} {rate}"))
    }
    async fn heal_bandwidth(&self, service: &str) -> Result<(), PlatformError> {
        self.record(format!("heal-bandwidth {service}"))
    }
    async fn retire_network_helper(&self, service: &str) -> Result<(), PlatformError> {
        self.record(format!("retire {service}"))
    }
}

impl ClusterPlatform for Scripted {
    async fn services(&self) -> Result<Vec<RunningService>, PlatformError> {
        if self.world().refuse.iter().any(|r| r == "*") {
            return Err(PlatformError::Lost("the scripted platform is gone".into()));
        }
        Ok(self.cluster().services)
    }
    async fn logs_since(&self, _: &str, _: i64) -> Result<String, PlatformError> {
        Ok(String::new())
    }
    async fn lost(&self) -> PlatformError {
        self.lost.notified().await;
        PlatformError::Lost("the scripted platform is gone".into())
    }
}

impl KafkaSide for Scripted {
    type Metadata = Scripted;
    async fn setup_topics(&self, _: &RunContext<'_>) -> Result<(), Error> {
        Ok(())
    }
    async fn record_topic_settings(&self, _: &RunContext<'_>) {}
    fn metadata(&self, _: &RunContext<'_>) -> Scripted {
        self.clone()
    }
    fn start_producer(
        &self,
        _: &RunContext<'_>,
        _: &WorkloadSpec,
    ) -> Result<Box<dyn Producer>, Error> {
        Ok(Box::new(ScriptedProducer {
            world: self.clone(),
            stopped: false.into(),
        }))
    }
    fn start_prober(
        &self,
        _: &RunContext<'_>,
        _: &WorkloadSpec,
        _: watch::Receiver<ClusterSnapshot>,
        _: DownOnPurpose,
    ) -> Option<JoinHandle<()>> {
        None
    }
    fn start_live_consumer(
        &self,
        _: &RunContext<'_>,
        _: Arc<AtomicUsize>,
    ) -> Result<Box<dyn LiveReader>, Error> {
        Ok(Box::new(self.clone()))
    }
    fn start_group(
        &self,
        _: &RunContext<'_>,
        w: &WorkloadSpec,
    ) -> Result<Option<SharedGroup>, Error> {
        Ok(w.group
            .is_some()
            .then(|| Arc::new(Box::new(self.clone()) as Box<dyn Group>)))
    }
    fn start_transactions(
        &self,
        _: &RunContext<'_>,
        w: &WorkloadSpec,
    ) -> Result<Option<Box<dyn Transactions>>, Error> {
        Ok(w.transactions
            .is_some()
            .then(|| Box::new(self.clone()) as Box<dyn Transactions>))
    }
    fn reread(&self, _: ReadOptions, _: Drained) -> JoinHandle<Reread> {
        let (takes, unprocessed) = {
            let w = self.world();
            (w.reread_takes, w.group_unprocessed)
        };
        tokio::spawn(async move {
            tokio::time::sleep(takes).await;
            Ok((VerificationSummary::default(), unprocessed))
        })
    }
}

/// The live consumer: records the grace it was given.
impl LiveReader for Scripted {
    fn finish(self: Box<Self>, _: u64, grace: Duration) -> (ConsumerSummary, SeenSet) {
        self.world().consumer_grace = Some(grace);
        (ConsumerSummary::default(), SeenSet::new(1))
    }
}

/// The consumer group: formed when the world says so; member faults recorded as platform
/// calls are (`"member-crash member-0"`, `"heal member-crash member-0"`).
impl Group for Scripted {
    fn fault(&self, member: u32, kind: FaultKind) -> Result<(), KafkaError> {
        let mut w = self.world();
        w.calls.push(format!("{} member-{member}", kind.as_str()));
        Ok(())
    }
    fn heal(&self, member: u32, kind: FaultKind) -> Result<(), KafkaError> {
        let mut w = self.world();
        w.calls
            .push(format!("heal {} member-{member}", kind.as_str()));
        Ok(())
    }
    fn tick(&self) -> EventKind {
        EventKind::GroupTick {
            processed: 0,
            lag: None,
        }
    }
    fn fully_assigned(&self) -> bool {
        self.world().group_formed
    }
    fn finish(self: Box<Self>, _: u64, grace: Duration) -> (GroupHistory, u64, Vec<String>) {
        self.world().group_grace = Some(grace);
        (GroupHistory::default(), 0, Vec::new())
    }
}

/// The transactional producer: records whether its end re-reads.
impl Transactions for Scripted {
    fn finish(self: Box<Self>, reread: bool) -> TransactionSummary {
        self.world().transactions_reread = Some(reread);
        TransactionSummary::default()
    }
}

/// A producer whose partitions are acked whenever they have a leader, unless the world says
/// it stalls.
pub struct ScriptedProducer {
    world: Scripted,
    stopped: std::sync::atomic::AtomicBool,
}

impl Producer for ScriptedProducer {
    fn set_phase(&self, phase: LatencyPhase) {
        self.world.world().producer_phases.push(phase);
    }
    fn phase_handle(&self) -> Arc<AtomicUsize> {
        Arc::default()
    }
    fn tick(&self) -> EventKind {
        EventKind::WorkloadTick {
            acked: 0,
            failed: 0,
            p99_us: 0,
        }
    }
    fn is_sending(&self) -> bool {
        !self.stopped.load(std::sync::atomic::Ordering::Relaxed)
    }
    fn every_partition_acked_since(&self, _: u64) -> bool {
        let w = self.world.world();
        !w.producer_stalled && w.partitions.iter().all(|p| p.leader.is_some())
    }
    fn finish(self: Box<Self>) -> (WorkloadSummary, AckLedger) {
        self.stopped
            .store(true, std::sync::atomic::Ordering::Relaxed);
        (WorkloadSummary::default(), AckLedger::default())
    }
}

impl MetadataSource for Scripted {
    type Conn = ScriptedConnection;
    async fn connect(&self, addr: &str) -> Option<ScriptedConnection> {
        let id: BrokerId = addr.rsplit(':').next()?.parse::<i32>().ok()? - 9090;
        let w = self.world();
        // A frozen process still accepts connections (the kernel does); a stopped one refuses.
        (w.answering(id) || w.hanging.contains(&id)).then(|| ScriptedConnection {
            id,
            world: self.clone(),
        })
    }
}

/// A connection to one scripted broker.
pub struct ScriptedConnection {
    id: BrokerId,
    world: Scripted,
}

impl ScriptedConnection {
    /// The broker's answer now, or the timeout it would run into.
    async fn ask<T>(
        &mut self,
        timeout: Duration,
        answer: impl Fn(&World) -> T,
    ) -> Result<T, KafkaError> {
        let answered = {
            let mut w = self.world.world();
            w.requests += 1;
            w.answering(self.id).then(|| answer(&w))
        };
        match answered {
            Some(a) => Ok(a),
            None => {
                tokio::time::sleep(timeout).await;
                Err(KafkaError::Connection {
                    addr: broker_name(self.id),
                    reason: "no answer (scripted)".into(),
                })
            }
        }
    }
}

impl BrokerConnection for ScriptedConnection {
    async fn view(&mut self, timeout: Duration) -> Result<BrokerView, KafkaError> {
        self.ask(timeout, World::view).await
    }
    async fn quorum_leader(
        &mut self,
        timeout: Duration,
    ) -> Result<Option<(BrokerId, i32)>, KafkaError> {
        self.ask(timeout, |_| None).await
    }
}

mod tests {
    //! The observer against the scripted cluster under paused time: what one silent broker
    //! and then no broker at all do to the merged view. (Here, above the observer: the
    //! scripted cluster imports it.)
    use super::*;
    use crate::clock::{Clock, EventSink};
    use crate::events::Event;
    use crate::run::observer::{Observer, ObserverOptions};

    fn start(world: &Scripted) -> (Observer, tokio::sync::mpsc::UnboundedReceiver<Event>) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let observer = Observer::start(
            ObserverOptions {
                endpoints: world.cluster().bootstrap(),
                kraft: false,
                period: Duration::from_millis(100),
                fast_period: Duration::from_millis(50),
                topics: vec!["orders".into()],
            },
            world.clone(),
            EventSink::new(Clock::start(), tx),
        );
        (observer, rx)
    }

    fn observer_errors(rx: &mut tokio::sync::mpsc::UnboundedReceiver<Event>) -> usize {
        std::iter::from_fn(|| rx.try_recv().ok())
            .filter(|e| matches!(e.kind, EventKind::ObserverError { .. }))
            .count()
    }

    #[tokio::test(start_paused = true)]
    async fn a_frozen_broker_silences_only_itself() {
        let world = Scripted::three_brokers("orders", 3);
        let (observer, mut rx) = start(&world);
        let mut answering = observer.answering();
        answering.wait_for(|a| *a == [1, 2, 3]).await.unwrap();
        let before = tokio::time::Instant::now();
        world.world().hanging.push(3);
        answering.wait_for(|a| *a == [1, 2]).await.unwrap();
        // Its last answer stops speaking for it once older than max(5 periods, 1 s) = 1 s,
        // counted from its last answer (up to one 100 ms period before the freeze) and seen
        // at the next publish (the others poll every 100 ms): 0.9–1.1 s.
        let silent_after = before.elapsed();
        assert!(
            (Duration::from_millis(900)..=Duration::from_millis(1_100)).contains(&silent_after),
            "{silent_after:?}"
        );
        // Every partition stays known through the two brokers that answer, broker 3's too
        // (the others still name it leader: it has not left the cluster yet).
        let view = observer.current();
        for p in 0..3 {
            let state = view.partition("orders", p).expect("still known");
            assert_eq!(state.leader, Some(p % 3 + 1));
        }
        assert_eq!(
            observer_errors(&mut rx),
            0,
            "one silent broker is not a blind observer"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn no_broker_answering_is_said_once_and_nothing_stale_is_kept() {
        let world = Scripted::three_brokers("orders", 3);
        let (observer, mut rx) = start(&world);
        let mut view = observer.view();
        view.wait_for(|v| v.partitions.len() == 3).await.unwrap();
        world.world().hanging.extend([1, 2, 3]);
        view.wait_for(|v| v.partitions.is_empty()).await.unwrap();
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert_eq!(observer_errors(&mut rx), 1, "said once, not at every poll");
        // Answers again: the view is back, and a later blindness would be said again.
        world.world().hanging.clear();
        view.wait_for(|v| v.partitions.len() == 3).await.unwrap();
        world.world().hanging.extend([1, 2, 3]);
        view.wait_for(|v| v.partitions.is_empty()).await.unwrap();
        assert_eq!(observer_errors(&mut rx), 1);
    }
}
