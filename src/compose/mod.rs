//! The part of the Docker Compose format the cluster files use (placeholder; see load.rs).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ComposeError(pub String);
