//! What a run asks of Kafka: fresh topics, their settings as the brokers hold them, the
//! brokers' metadata for the observer, the tracked producer, the fresh-client prober and the
//! re-read. [`LiveKafka`] is the real one (librdkafka and Kafka's protocol, connected with
//! the run's profile); the session's tests script a cluster instead, under paused time. The
//! live consumer, the consumer group and the transactions are not behind it yet (always real).

use super::context::RunContext;
use super::observer::{MetadataSource, WireMetadata};
use super::prober;
use super::topics;
use crate::analysis::verify::{AckLedger, SeenSet};
use crate::error::Error;
use crate::events::WorkloadSummary;
use crate::events::{ClusterSnapshot, EventKind, LatencyPhase, VerificationSummary};
use crate::experiment::WorkloadSpec;
use crate::kafka::producer::{ProducerOptions, TrackedProducer};
use crate::kafka::reader::ReadOptions;
use crate::kafka::KafkaError;
use std::future::Future;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The tracked producer as the session drives it ([`TrackedProducer`] is the real one).
pub trait Producer: Send + Sync {
    /// Messages sent from now on count in this latency phase.
    fn set_phase(&self, phase: LatencyPhase);
    /// The phase switch, shared with the live consumer so both histograms agree.
    fn phase_handle(&self) -> Arc<AtomicUsize>;
    /// Counts since the last call (a `WorkloadTick`).
    fn tick(&self) -> EventKind;
    /// Whether it still sends (it stops at its message count, if any).
    fn is_sending(&self) -> bool;
    /// Whether every partition has had an ack at or after `t_us` (run clock).
    fn every_partition_acked_since(&self, t_us: u64) -> bool;
    /// Stops sending, waits for every outstanding outcome (blocking): the summary and the
    /// ledger of acks.
    fn finish(self: Box<Self>) -> (WorkloadSummary, AckLedger);
}

impl Producer for TrackedProducer {
    fn set_phase(&self, phase: LatencyPhase) {
        TrackedProducer::set_phase(self, phase)
    }
    fn phase_handle(&self) -> Arc<AtomicUsize> {
        TrackedProducer::phase_handle(self)
    }
    fn tick(&self) -> EventKind {
        TrackedProducer::tick(self)
    }
    fn is_sending(&self) -> bool {
        TrackedProducer::is_sending(self)
    }
    fn every_partition_acked_since(&self, t_us: u64) -> bool {
        TrackedProducer::every_partition_acked_since(self, t_us)
    }
    fn finish(self: Box<Self>) -> (WorkloadSummary, AckLedger) {
        TrackedProducer::finish(*self)
    }
}

/// What the drain hands to the verification.
pub struct Drained {
    pub ledger: AckLedger,
    pub consumed: Option<SeenSet>,
    /// What the consumer group processed, for its skip check.
    pub group_seen: Option<SeenSet>,
}

/// The re-read's verdict, and the group's (skipped, unprocessed tail) when it ran.
pub type Reread = Result<(VerificationSummary, Option<(u64, u64)>), KafkaError>;

/// Names of the services a fault holds down right now (the prober leaves them alone).
pub type DownOnPurpose = Arc<Mutex<Vec<String>>>;

pub trait KafkaSide: Sync {
    type Metadata: MetadataSource;
    /// Deletes the experiment's topics if they exist and creates them afresh.
    fn setup_topics(&self, ctx: &RunContext<'_>) -> impl Future<Output = Result<(), Error>> + Send;
    /// Records the topics' settings as the brokers hold them (a failure is a note).
    fn record_topic_settings(&self, ctx: &RunContext<'_>) -> impl Future<Output = ()> + Send;
    /// Where the observer asks each broker for its metadata.
    fn metadata(&self, ctx: &RunContext<'_>) -> Self::Metadata;
    /// The tracked producer, sending from now.
    fn start_producer(
        &self,
        ctx: &RunContext<'_>,
        w: &WorkloadSpec,
    ) -> Result<Box<dyn Producer>, Error>;
    /// A fresh client's write to each partition that becomes usable again in `view` (None:
    /// no prober).
    fn start_prober(
        &self,
        ctx: &RunContext<'_>,
        w: &WorkloadSpec,
        view: watch::Receiver<ClusterSnapshot>,
        down: DownOnPurpose,
    ) -> Option<JoinHandle<()>>;
    /// Re-reads every partition to its high watermark and checks every acked message (an
    /// abandoned handle ends with the process).
    fn reread(&self, options: ReadOptions, drained: Drained) -> JoinHandle<Reread>;
}

/// The cluster itself, through the run's clients.
#[derive(Debug, Clone, Copy, Default)]
pub struct LiveKafka;

impl KafkaSide for LiveKafka {
    type Metadata = WireMetadata;
    async fn setup_topics(&self, ctx: &RunContext<'_>) -> Result<(), Error> {
        topics::setup_topics(ctx).await
    }
    async fn record_topic_settings(&self, ctx: &RunContext<'_>) {
        topics::record_topic_settings(ctx).await
    }
    fn metadata(&self, ctx: &RunContext<'_>) -> WireMetadata {
        WireMetadata(ctx.profile.clone())
    }
    fn start_producer(
        &self,
        ctx: &RunContext<'_>,
        w: &WorkloadSpec,
    ) -> Result<Box<dyn Producer>, Error> {
        let (topic, partitions) = ctx.experiment.workload_topic().unwrap_or_default();
        let producer = TrackedProducer::start(
            ProducerOptions {
                bootstrap: ctx.cluster.bootstrap_list(),
                profile: ctx.profile.clone(),
                topic,
                partitions,
                acks: w.acks,
                idempotence: w.idempotence,
                rate: w.rate,
                message_size: w.message_size,
                delivery_timeout: w.delivery_timeout,
                retries: w.retries,
                extra: producer_config(w),
                producer_id: ctx.producer_id,
                max_messages: w.messages,
                keys: w.keys,
                key_seed: ctx.seed,
                rebootstrap_when_no_brokers: w.rebootstrap_when_no_brokers,
                client: ctx.client.clone(),
            },
            ctx.sink.clone(),
        )
        .map_err(Error::Kafka)?;
        Ok(Box::new(producer))
    }
    fn start_prober(
        &self,
        ctx: &RunContext<'_>,
        w: &WorkloadSpec,
        view: watch::Receiver<ClusterSnapshot>,
        down: DownOnPurpose,
    ) -> Option<JoinHandle<()>> {
        let (topic, _) = ctx.experiment.workload_topic().unwrap_or_default();
        Some(tokio::spawn(prober::probe_recoveries(
            view,
            down,
            ctx.cluster
                .brokers()
                .into_iter()
                .map(|(s, id)| (s.name.clone(), id))
                .collect(),
            topic,
            Arc::new(crate::kafka::probe::ProbeOptions {
                bootstrap: ctx.cluster.bootstrap_list(),
                profile: ctx.profile.clone(),
                acks: w.acks,
                extra: producer_config(w),
                timeout: Duration::from_secs(10),
            }),
            ctx.sink.clone(),
        )))
    }
    fn reread(&self, options: ReadOptions, drained: Drained) -> JoinHandle<Reread> {
        tokio::task::spawn_blocking(move || {
            crate::kafka::reader::reread_and_check_with_group(
                &options,
                &drained.ledger,
                drained.consumed.as_ref(),
                drained.group_seen.as_ref(),
            )
        })
    }
}

/// The experiment's extra producer settings, as librdkafka takes them.
pub(super) fn producer_config(w: &WorkloadSpec) -> Vec<(String, String)> {
    w.producer_config
        .iter()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect()
}
