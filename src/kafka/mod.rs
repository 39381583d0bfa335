//! Kafka effects: metadata view (kafka-protocol), workload and re-read (rdkafka).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct KafkaError(pub String);
