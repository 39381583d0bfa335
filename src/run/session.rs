//! One run of one experiment variant against a running cluster, phase by phase: set up
//! (topics, observer, workload), steps, heal, wait until whole, recovery window, drain,
//! verify. Faults are reverted whatever happens; everything measured goes to the event stream.

use super::app_workloads;
use super::background;
pub use super::context::RunContext;
use super::faults::{Faults, HealTarget};
use super::kafka_side::KafkaSide;
use super::shutdown::Shutdown;
use super::steps;
use super::workload::{Drained, LiveReader, Producer, SharedGroup, Transactions};
use crate::error::Error;
use crate::events::{BrokerId, ClusterMode, EventKind, LatencyPhase, RunPhase};
use crate::experiment::Condition;
use crate::platform::{ClusterPlatform, FaultError, FaultPlatform};
use crate::run::conditions::Baseline;
use crate::run::observer::{Observer, ObserverOptions};
use rand::SeedableRng;
use std::time::Duration;
use tokio::task::JoinHandle;

/// After the last step: every fault reverted, then the cluster must be whole again.
const HEAL_TIMEOUT: Duration = Duration::from_secs(180);

/// Runs the experiment's phases in order; faults are reverted whatever happens.
/// The place brokers run is one thing the run asks of (`P`): Docker for the clusters chaos
/// starts or attaches to, [`crate::platform::NotStarted`] for `observe`. Kafka is the other
/// (`K`: topics, metadata, the workload's clients, the prober, the re-read): the cluster
/// itself, or a test's script.
pub async fn execute<P, K>(
    ctx: &RunContext<'_>,
    platform: P,
    kafka: &K,
    shutdown: Shutdown,
) -> Result<(), Error>
where
    P: FaultPlatform + ClusterPlatform + Clone + Send + 'static,
    K: KafkaSide,
{
    let mut session = RunSession::set_up(ctx, platform, kafka, shutdown).await?;
    let steps = session.steps().await;
    // Without the platform there is no cluster to wait for or to re-read.
    session.platform_lost = steps.as_ref().is_err_and(Error::platform_lost);
    let healed = session.heal().await;
    session.wait_until_whole().await;
    session.recovery_window().await;
    let drained = session.drain().await?;
    if let Some(drained) = drained {
        session.verify(kafka, drained).await?;
    }
    session.judge_app_workloads().await?;
    session.finish(steps, healed).await
}

/// What runs beside the phases. Aborted when dropped: a run that ends early (an error, a
/// panic caught above) must not leave its supervisor restarting brokers the next run of a
/// suite kills on purpose.
#[derive(Default)]
struct Background(Vec<JoinHandle<()>>);

impl Drop for Background {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// The state a run carries from phase to phase.
pub struct RunSession<'a, P: FaultPlatform> {
    ctx: &'a RunContext<'a>,
    shutdown: Shutdown,
    topics: Vec<String>,
    expected_brokers: Vec<BrokerId>,
    observer: Observer,
    faults: Faults<'a, P>,
    producer: Option<Box<dyn Producer>>,
    live_consumer: Option<Box<dyn LiveReader>>,
    group: Option<SharedGroup>,
    txn_producer: Option<Box<dyn Transactions>>,
    /// The group after its drain, judged once the re-read says what it skipped.
    group_record: Option<app_workloads::GroupRecord>,
    /// (skipped, unprocessed tail) of the group, from the re-read.
    unprocessed: Option<(u64, u64)>,
    /// The supervisor and the fresh-client prober: stopped when the run ends, however it ends.
    background: Background,
    platform_lost: bool,
}

impl<'a, P> RunSession<'a, P>
where
    P: FaultPlatform + ClusterPlatform + Clone + Send + 'static,
{
    // Long: the set-up's steps in order (topics, observer, whole cluster, workloads, background tasks),
    // each a call
    /// Fresh topics, the observer, a whole cluster, then the workload and what runs beside
    /// the steps.
    pub async fn set_up(
        ctx: &'a RunContext<'a>,
        platform: P,
        kafka: &impl KafkaSide,
        shutdown: Shutdown,
    ) -> Result<Self, Error> {
        let exp = ctx.experiment;
        let topics: Vec<String> = exp.topics.iter().map(|t| t.name.clone()).collect();
        (ctx.progress)("creating topics");
        kafka.setup_topics(ctx).await?;
        kafka.record_topic_settings(ctx).await;

        let observer = start_observer(ctx, &topics, kafka.metadata(ctx));
        let expected_brokers: Vec<BrokerId> = ctx
            .cluster
            .brokers()
            .into_iter()
            .map(|(_, id)| id)
            .collect();
        let mut view = observer.view();
        shutdown
            .guard(steps::wait_condition(
                &mut view,
                &Condition::ClusterHealthy(true),
                &Baseline::default(),
                &expected_brokers,
                Duration::from_secs(60),
            ))
            .await?
            .map_err(|()| Error::Timeout {
                what: "the topics did not become fully replicated".into(),
                after: Duration::from_secs(60),
            })?;

        let producer = match &exp.workload {
            Some(w) => Some(kafka.start_producer(ctx, w)?),
            None => None,
        };
        let live_consumer = match (&exp.workload, &producer) {
            (Some(w), Some(p)) if w.consumer => {
                Some(kafka.start_live_consumer(ctx, p.phase_handle())?)
            }
            _ => None,
        };
        let (group, txn_producer) = match (&exp.workload, &producer) {
            (Some(w), Some(_)) => (
                kafka.start_group(ctx, w)?,
                kafka.start_transactions(ctx, w)?,
            ),
            _ => (None, None),
        };
        let faults = Faults {
            platform: platform.clone(),
            cluster: ctx.cluster,
            sink: ctx.sink.clone(),
            rng: rand::rngs::StdRng::seed_from_u64(ctx.seed),
            active: Vec::new(),
            resolved: Default::default(),
            down_on_purpose: Default::default(),
            dead_leaderships: Default::default(),
            group: group.clone(),
            coordinator_keys: app_workloads::coordinator_keys(ctx),
            profile: ctx.profile.clone(),
        };
        let mut background = Background::default();
        // A cluster reached over the network only has no containers to watch.
        if ctx.cluster.origin != crate::platform::Origin::External {
            background.0.push(tokio::spawn(background::supervise(
                platform,
                faults.down_on_purpose.clone(),
                ctx.sink.clone(),
            )));
        }
        // A fresh client's write to each partition that becomes usable again, beside the
        // long-lived producer's first ack (is a slow recovery the cluster's or the client's?).
        if let Some(w) = &exp.workload {
            let down = faults.down_on_purpose.clone();
            background
                .0
                .extend(kafka.start_prober(ctx, w, observer.view(), down));
        }
        if let Some(g) = &group {
            // An interrupt here falls through to the steps, which stop at once and heal.
            let _ = shutdown
                .guard(app_workloads::wait_until_formed(ctx, g.as_ref().as_ref()))
                .await;
        }
        Ok(Self {
            ctx,
            shutdown,
            topics,
            expected_brokers,
            observer,
            faults,
            producer,
            live_consumer,
            group,
            txn_producer,
            group_record: None,
            unprocessed: None,
            background,
            platform_lost: false,
        })
    }

    /// The experiment's steps, the workload ticking beside them; stops at Ctrl-C or when the
    /// platform (the Docker daemon) goes away.
    pub async fn steps(&mut self) -> Result<(), Error> {
        let ctx = self.ctx;
        ctx.sink.emit(EventKind::Phase {
            name: RunPhase::Steps,
        });
        let platform = self.faults.platform.clone();
        let steps = steps::run_steps(
            ctx,
            &mut self.faults,
            &self.observer,
            self.producer.as_deref(),
            &self.expected_brokers,
            tokio::time::Instant::now(),
        );
        let tick = background::tick_workload(
            self.producer.as_deref(),
            self.group.as_deref().map(|g| g.as_ref()),
            &ctx.sink,
        );
        let lost = platform.lost();
        tokio::select! {
            r = self.shutdown.guard(steps) => r.and_then(|r| r),
            lost = lost => Err(Error::Fault(FaultError::Platform(lost))),
            _ = tick => unreachable!("the tick loop never ends"),
        }
    }

    /// Reverts every fault, whatever happened before.
    pub async fn heal(&mut self) -> Result<(), FaultError> {
        let ctx = self.ctx;
        ctx.sink.emit(EventKind::Phase {
            name: RunPhase::Heal,
        });
        (ctx.progress)("healing: reverting every fault");
        let healed = self.faults.heal(HealTarget::All).await;
        if let Some(p) = &self.producer {
            p.set_phase(LatencyPhase::AfterHeal);
        }
        if let Err(e) = &healed {
            ctx.sink.emit(EventKind::Error {
                message: format!("heal: {e}"),
            });
        }
        healed
    }

    /// A Ctrl-C or a lost daemon skips what follows the heal: the faults are already
    /// reverted, and what was measured so far goes into a partial report.
    fn cut_short(&self) -> bool {
        self.shutdown.is_set() || self.platform_lost
    }

    /// Until every partition is led and fully replicated again (up to 180 s; a timeout is
    /// recorded as an error, not hidden).
    pub async fn wait_until_whole(&mut self) {
        if self.cut_short() {
            return;
        }
        let ctx = self.ctx;
        (ctx.progress)("waiting for every partition to be led and fully replicated");
        // Every broker must answer for itself first: right after a revert the metadata can
        // still show the pre-fault view (the cluster has not noticed the fault yet).
        let mut answering = self.observer.answering();
        let mut view = self.observer.view();
        let expected = &self.expected_brokers;
        let heal_wait = async {
            let all_answer = answering.wait_for(|a| expected.iter().all(|b| a.contains(b)));
            if tokio::time::timeout(HEAL_TIMEOUT, all_answer)
                .await
                .is_err()
            {
                ctx.sink.emit(EventKind::Note {
                    message: format!(
                        "not every broker answered the observer within {} s of the heal",
                        HEAL_TIMEOUT.as_secs()
                    ),
                });
            }
            steps::wait_condition(
                &mut view,
                &Condition::ClusterHealthy(true),
                &Baseline::default(),
                expected,
                HEAL_TIMEOUT,
            )
            .await
        };
        let healed = tokio::select! {
            r = self.shutdown.guard(heal_wait) => r,
            _ = background::tick_workload(self.producer.as_deref(), self.group.as_deref().map(|g| g.as_ref()), &ctx.sink) => unreachable!(),
        };
        if let Ok(Err(())) = healed {
            ctx.sink.emit(EventKind::Error {
                message: format!(
                    "the cluster was not whole again within {} s of the heal",
                    HEAL_TIMEOUT.as_secs()
                ),
            });
        }
    }

    /// The workload goes on until every partition has an ack again (from now, the cluster
    /// being whole), or the window ends — so a client that does not resume shows up as such
    /// instead of being cut off by the drain.
    pub async fn recovery_window(&mut self) {
        let (Some(p), Some(w)) = (&self.producer, &self.ctx.experiment.workload) else {
            return;
        };
        if self.cut_short() || w.recovery_window.is_zero() {
            return;
        }
        let ctx = self.ctx;
        ctx.sink.emit(EventKind::Phase {
            name: RunPhase::RecoveryWindow,
        });
        (ctx.progress)(&format!(
            "recovery window: until every partition is acked again (up to {})",
            humantime::format_duration(w.recovery_window)
        ));
        let from = ctx.sink.clock().now_us();
        let resumed = async {
            let mut check = tokio::time::interval(Duration::from_millis(100));
            // A producer that reached its message count sends nothing more to wait for.
            while p.is_sending() && !p.every_partition_acked_since(from) {
                check.tick().await;
            }
        };
        let window = tokio::time::timeout(w.recovery_window, resumed);
        tokio::select! {
            _ = self.shutdown.guard(window) => {}
            _ = background::tick_workload(Some(p.as_ref()), self.group.as_deref().map(|g| g.as_ref()), &ctx.sink) => unreachable!(),
        }
    }

    /// Stops the workload and waits for its outstanding acks; the live consumer reads on
    /// until it has every acked message (up to 10 s). Returns what the verification needs,
    /// when it is to run.
    pub async fn drain(&mut self) -> Result<Option<Drained>, Error> {
        let Some(p) = self.producer.take() else {
            return Ok(None);
        };
        let ctx = self.ctx;
        ctx.sink.emit(EventKind::Phase {
            name: RunPhase::Drain,
        });
        (ctx.progress)("stopping the workload, waiting for outstanding acks");
        let (summary, ledger) = tokio::task::spawn_blocking(move || p.finish())
            .await
            .map_err(Error::task("the workload's drain"))?;
        let acked = summary.acked;
        ctx.sink.emit(EventKind::WorkloadDone(summary));
        let mut consumed = None;
        if let Some(c) = self.live_consumer.take() {
            // An interrupted run or a lost daemon does not wait for the consumer.
            let grace = if self.cut_short() {
                Duration::ZERO
            } else {
                Duration::from_secs(10)
            };
            let (seen, which) = tokio::task::spawn_blocking(move || c.finish(acked, grace))
                .await
                .map_err(Error::task("the live consumer's drain"))?;
            ctx.sink.emit(EventKind::ConsumerDone(seen));
            consumed = Some(which);
        }
        // The fault registry lets go of the group, so that it can be drained.
        self.faults.group = None;
        if let Some(g) = self.group.take() {
            let grace = if self.cut_short() {
                Duration::ZERO
            } else {
                Duration::from_secs(20)
            };
            self.group_record = app_workloads::drain_group(ctx, g, acked, grace).await?;
        }
        let (_, partitions) = ctx.experiment.workload_topic().unwrap_or_default();
        let group_seen = self.group_record.as_ref().map(|r| r.seen(partitions));
        let verify = ctx.experiment.workload.as_ref().is_some_and(|w| w.verify);
        Ok((verify && !self.cut_short()).then_some(Drained {
            ledger,
            consumed,
            group_seen,
        }))
    }

    /// Re-reads every partition to its high watermark and checks every acked message.
    pub async fn verify(&mut self, kafka: &impl KafkaSide, drained: Drained) -> Result<(), Error> {
        let ctx = self.ctx;
        ctx.sink.emit(EventKind::Phase {
            name: RunPhase::Verify,
        });
        (ctx.progress)("re-reading every partition and checking every acked message");
        let (topic, partitions) = ctx.experiment.workload_topic().unwrap_or_default();
        let options = crate::kafka::reader::ReadOptions {
            bootstrap: ctx.cluster.bootstrap_list(),
            profile: ctx.profile.clone(),
            topic,
            partitions,
            producer_id: ctx.producer_id,
            timeout: Duration::from_secs(120),
        };
        let reread = kafka.reread(options, drained);
        // An interrupted re-read is abandoned (the blocking reader ends with the process).
        match self.shutdown.guard(reread).await {
            Err(_) => ctx.sink.emit(EventKind::Note {
                message: "the re-read was interrupted: no verification".into(),
            }),
            Ok(joined) => match joined.map_err(Error::task("the re-read"))? {
                Ok((s, unprocessed)) => {
                    self.unprocessed = unprocessed;
                    ctx.sink.emit(EventKind::Verified(s))
                }
                Err(e) => ctx.sink.emit(EventKind::Error {
                    message: format!("verification: {e}"),
                }),
            },
        }
        Ok(())
    }

    /// The transactional producer's and the consumer group's verdicts, after the re-read.
    pub async fn judge_app_workloads(&mut self) -> Result<(), Error> {
        if let Some(t) = self.txn_producer.take() {
            app_workloads::finish_transactions(self.ctx, t, !self.cut_short()).await?;
        }
        if let Some(record) = self.group_record.take() {
            app_workloads::record_group(self.ctx, record, self.unprocessed);
        }
        Ok(())
    }

    /// Stops what ran beside the steps, records Kafka's own leadership log, and decides the
    /// run's outcome: the steps' error first, then the heal's, then an interrupt.
    pub async fn finish(
        self,
        steps: Result<(), Error>,
        healed: Result<(), FaultError>,
    ) -> Result<(), Error> {
        self.observer.stop();
        drop(self.background);
        background::record_kafka_leadership_log(self.ctx, &self.faults.platform, &self.topics)
            .await;
        steps?;
        healed?;
        if self.shutdown.is_set() {
            return Err(Error::Interrupted);
        }
        Ok(())
    }
}

fn start_observer(
    ctx: &RunContext<'_>,
    topics: &[String],
    source: impl crate::run::observer::MetadataSource,
) -> Observer {
    let exp = ctx.experiment;
    Observer::start(
        ObserverOptions {
            endpoints: ctx.cluster.bootstrap(),
            kraft: ctx.cluster.mode == ClusterMode::Kraft,
            period: exp.observer.period,
            fast_period: exp.observer.fast_period,
            topics: topics.to_vec(),
        },
        source,
        ctx.sink.clone(),
    )
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
