//! What a run asks of Kafka before its workload starts: fresh topics, their settings as the
//! brokers hold them, and the brokers' metadata for the observer. [`LiveKafka`] is the real
//! one (librdkafka's admin client and Kafka's protocol, connected with the run's profile);
//! the session's tests script a cluster instead, under paused time.

use super::context::RunContext;
use super::observer::{MetadataSource, WireMetadata};
use super::topics;
use crate::error::Error;
use std::future::Future;

pub trait KafkaSide: Sync {
    type Metadata: MetadataSource;
    /// Deletes the experiment's topics if they exist and creates them afresh.
    fn setup_topics(&self, ctx: &RunContext<'_>) -> impl Future<Output = Result<(), Error>> + Send;
    /// Records the topics' settings as the brokers hold them (a failure is a note).
    fn record_topic_settings(&self, ctx: &RunContext<'_>) -> impl Future<Output = ()> + Send;
    /// Where the observer asks each broker for its metadata.
    fn metadata(&self, ctx: &RunContext<'_>) -> Self::Metadata;
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
}
