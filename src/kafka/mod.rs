//! Kafka effects: the cluster view over the wire protocol (kafka-protocol: Metadata with the
//! controller id and leader epochs, DescribeQuorum, ElectLeaders — which librdkafka lacks),
//! and the tracked workload and re-read (rdkafka).

pub mod admin;
pub mod features;
pub mod group;
pub mod live_consumer;
pub mod metadata;
pub mod payload;
pub mod probe;
pub mod producer;
pub mod reader;
pub mod transactions;
pub mod wire;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum KafkaError {
    #[error("{addr}: {reason}")]
    Connection { addr: String, reason: String },
    #[error("{addr}: protocol error in {api}: {reason}")]
    Protocol {
        addr: String,
        api: &'static str,
        reason: String,
    },
    #[error("no broker answered (tried {tried}): {last}")]
    NoBroker { tried: String, last: String },
    #[error("{0}")]
    Client(String),
}
