//! A scripted cluster for the session's unit tests: one shared world that the fake platform
//! acts on (kill, stop, pause, start…) and the fake Kafka answers metadata from, with Kafka's
//! rules at their simplest — a broker that is down leaves every ISR at once, a partition it led
//! moves to the first in-sync replica left (offline when none), a broker back rejoins every
//! ISR and leads what was offline. Every platform call is recorded; the platform can be lost
//! on demand; a broker can be made to hang without being down (frozen answers).

use super::context::RunContext;
use super::kafka_side::KafkaSide;
use super::observer::{BrokerConnection, MetadataSource};
use crate::error::Error;
use crate::events::{BrokerId, ClusterMode, PartitionState};
use crate::experiment::Direction;
use crate::kafka::metadata::BrokerView;
use crate::kafka::KafkaError;
use crate::platform::{
    Cluster, ClusterPlatform, ContainerState, FaultPlatform, Lifecycle, NetworkRules, Origin,
    PlatformError, Role, RunningService,
};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

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
    async fn moment(&self, _: &str, _: Lifecycle, since_ns: i64, _: Duration) -> Option<i64> {
        Some(since_ns + 5_000_000)
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
