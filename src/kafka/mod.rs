//! Kafka effects: the cluster view over the wire protocol (kafka-protocol: Metadata with the
//! controller id and leader epochs, DescribeQuorum, ElectLeaders — which librdkafka lacks),
//! and the tracked workload and re-read (rdkafka).

pub mod admin;
pub mod client_driver;
pub mod client_install;
pub mod connect;
pub mod consumer_driver;
pub(crate) mod delivery_events;
pub mod fast_clock;
pub mod features;
pub mod group;
pub mod live_consumer;
pub mod metadata;
pub mod payload;
pub mod probe;
pub mod producer;
pub mod read_process_write;
pub mod reader;
pub mod sasl;
pub mod transactions;
mod txn_client;
pub mod wire;

/// The client the consumers of a run (the group's members, the live consumer) run: the
/// workload's `client`, where it has a consumer driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsumerClient {
    /// The bundled librdkafka, in this process.
    Librdkafka,
    /// Apache Kafka's Java client, one JVM per consumer.
    Java(client_install::JavaInstall),
}

pub use connect::client_config;

/// Forwards one of librdkafka's log lines to tracing under target `librdkafka`, naming the
/// client: a run has several (tracked producer, live consumer, probes, re-read) and their
/// lines are otherwise indistinguishable.
pub(crate) fn log_client_line(
    client: &str,
    level: rdkafka::config::RDKafkaLogLevel,
    fac: &str,
    message: &str,
) {
    use rdkafka::config::RDKafkaLogLevel as L;
    match level {
        L::Emerg | L::Alert | L::Critical | L::Error => {
            tracing::error!(target: "librdkafka", client, "{fac} {message}")
        }
        L::Warning => tracing::warn!(target: "librdkafka", client, "{fac} {message}"),
        L::Notice | L::Info => tracing::info!(target: "librdkafka", client, "{fac} {message}"),
        L::Debug => tracing::debug!(target: "librdkafka", client, "{fac} {message}"),
    }
}
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
    /// TLS failed (the handshake, a certificate, the CA or client files).
    #[error("{addr}: TLS: {reason}")]
    Tls { addr: String, reason: String },
    /// The broker refused our SASL credentials, or the exchange failed: not worth retrying
    /// with the same settings.
    #[error("{addr}: SASL {mechanism} authentication failed: {reason}")]
    Authentication {
        addr: String,
        mechanism: crate::security::SaslMechanism,
        reason: String,
    },
    #[error("no broker answered (tried {tried}): {last}")]
    NoBroker { tried: String, last: String },
    /// librdkafka failed (creating a client, assigning, producing).
    #[error("{what}: {source}")]
    Client {
        what: String,
        #[source]
        source: rdkafka::error::KafkaError,
    },
    /// The cluster answered a request with an error code (matched on the code, never the text).
    #[error("{what}: {code}")]
    Rejected {
        what: String,
        code: rdkafka::types::RDKafkaErrorCode,
    },
    /// The harness's own client workload refused a request (e.g. a fault on a member that
    /// does not exist).
    #[error("{0}")]
    Workload(String),
    /// A client in another process (the Java client, librdkafka through Python) could not
    /// be started or failed.
    #[error("tracked producer: {0}")]
    Driver(#[from] client_driver::DriverError),
    /// A client thread could not be started.
    #[error("{what}: {source}")]
    Thread {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
}

impl KafkaError {
    /// `map_err(KafkaError::client("create topics"))`.
    pub fn client(what: impl std::fmt::Display) -> impl FnOnce(rdkafka::error::KafkaError) -> Self {
        move |source| KafkaError::Client {
            what: what.to_string(),
            source,
        }
    }
    /// The error code the cluster answered with, if that is what this is.
    pub fn code(&self) -> Option<rdkafka::types::RDKafkaErrorCode> {
        match self {
            KafkaError::Rejected { code, .. } => Some(*code),
            KafkaError::Client { source, .. } => source.rdkafka_error_code(),
            _ => None,
        }
    }
}
