//! What a run asks of Kafka: fresh topics, their settings as the brokers hold them, the
//! brokers' metadata for the observer, the tracked producer, the fresh-client prober and the
//! re-read, the live consumer, the consumer group and the transactional producer.
//! [`LiveKafka`] is the real one (librdkafka and Kafka's protocol, connected with the run's
//! profile); the session's tests script a cluster instead, under paused time.

use super::app_workloads;
use super::context::RunContext;
use super::observer::{MetadataSource, WireMetadata};
use super::prober;
use super::topics;
use super::workload::{
    DownOnPurpose, Drained, LiveReader, Producer, Reread, SharedGroup, Transactions,
};
use crate::error::Error;
use crate::events::ClusterSnapshot;
use crate::experiment::WorkloadSpec;
use crate::kafka::producer::{ProducerOptions, TrackedProducer};
use crate::kafka::reader::ReadOptions;
use std::future::Future;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

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
    /// The live consumer, reading what the producer writes (latency phases shared).
    fn start_live_consumer(
        &self,
        ctx: &RunContext<'_>,
        phase: Arc<AtomicUsize>,
    ) -> Result<Box<dyn LiveReader>, Error>;
    /// The workload's consumer group, when it has one.
    fn start_group(
        &self,
        ctx: &RunContext<'_>,
        w: &WorkloadSpec,
    ) -> Result<Option<SharedGroup>, Error>;
    /// The transactional producer, when the workload has one.
    fn start_transactions(
        &self,
        ctx: &RunContext<'_>,
        w: &WorkloadSpec,
    ) -> Result<Option<Box<dyn Transactions>>, Error>;
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
    fn start_live_consumer(
        &self,
        ctx: &RunContext<'_>,
        phase: Arc<AtomicUsize>,
    ) -> Result<Box<dyn LiveReader>, Error> {
        let (topic, partitions) = ctx.experiment.workload_topic().unwrap_or_default();
        let consumer = crate::kafka::live_consumer::LiveConsumer::start(
            crate::kafka::live_consumer::LiveOptions {
                bootstrap: &ctx.cluster.bootstrap_list(),
                profile: &ctx.profile,
                topic: &topic,
                partitions,
                producer_id: ctx.producer_id,
                phase,
                client: &ctx.client.consumers(),
            },
            ctx.sink.clone(),
        )
        .map_err(Error::Kafka)?;
        Ok(Box::new(consumer))
    }
    fn start_group(
        &self,
        ctx: &RunContext<'_>,
        w: &WorkloadSpec,
    ) -> Result<Option<SharedGroup>, Error> {
        app_workloads::start_group(ctx, w)
    }
    fn start_transactions(
        &self,
        ctx: &RunContext<'_>,
        w: &WorkloadSpec,
    ) -> Result<Option<Box<dyn Transactions>>, Error> {
        app_workloads::start_transactions(ctx, w)
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
