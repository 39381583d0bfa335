//! A fresh client's view of a recovery: when a partition becomes usable again, a new producer
//! (no reconnect back-off, no stale metadata) writes one message to it. Beside the long-lived
//! tracked producer's first ack, it tells the cluster's recovery from the client's.

use super::connect::Profile;
use super::KafkaError;
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::time::Duration;

pub struct ProbeOptions {
    pub bootstrap: String,
    /// How the clients connect (security, TLS).
    pub profile: Profile,
    pub acks: crate::events::Acks,
    pub extra: Vec<(String, String)>,
    pub timeout: Duration,
}

/// Sends one probe message to `topic`/`partition` with a new producer; resolves when it is
/// acked (Ok) or failed/timed out (Err).
pub async fn probe_once(
    options: &ProbeOptions,
    topic: &str,
    partition: i32,
) -> Result<(), KafkaError> {
    let mut config = super::client_config(&options.bootstrap, &options.profile);
    config
        .set("acks", options.acks.as_kafka())
        .set("linger.ms", "0")
        .set(
            "message.timeout.ms",
            options.timeout.as_millis().to_string(),
        );
    for (k, v) in &options.extra {
        config.set(k, v);
    }
    let producer: FutureProducer = config
        .create()
        .map_err(KafkaError::client("probe producer"))?;
    // Not a tracked message: the verification ignores payloads without our identity header.
    let record = FutureRecord::<(), [u8]>::to(topic)
        .partition(partition)
        .payload(b"chaos-probe");
    producer
        .send(record, options.timeout)
        .await
        .map(|_| ())
        .map_err(|(e, _)| KafkaError::client(format!("probe of {topic}/{partition}"))(e))
}
