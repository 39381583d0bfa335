//! Docker effects through bollard.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DockerError(pub String);
