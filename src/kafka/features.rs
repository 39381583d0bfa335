//! The cluster's finalized feature levels (ApiVersions v3), e.g. `metadata.version` and, on
//! Kafka 4.x, `eligible.leader.replicas.version` (KIP-966): whether ELR takes part in leader
//! elections changes what an unclean-election experiment measures, so a run records it.

use super::wire::Connection;
use super::KafkaError;
use kafka_protocol::messages::ApiVersionsRequest;
use kafka_protocol::protocol::StrBytes;
use std::time::Duration;

const API_VERSIONS_VERSION: i16 = 3;

/// `(feature, finalized level)` pairs, sorted by name. Empty where the broker finalizes none
/// (ZooKeeper mode before `metadata.version`).
pub async fn finalized_features(
    addr: &str,
    timeout: Duration,
    profile: &super::connect::Profile,
) -> Result<Vec<(String, i16)>, KafkaError> {
    let mut conn = Connection::connect(addr, timeout, profile).await?;
    let request = ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("chaos"))
        .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
    let response = conn.send(&request, API_VERSIONS_VERSION, timeout).await?;
    if response.error_code != 0 {
        return Err(KafkaError::Protocol {
            addr: addr.into(),
            api: "ApiVersions",
            reason: format!("error code {}", response.error_code),
        });
    }
    let mut features: Vec<(String, i16)> = response
        .finalized_features
        .iter()
        .map(|f| (f.name.to_string(), f.max_version_level))
        .collect();
    features.sort();
    Ok(features)
}
