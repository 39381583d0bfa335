//! Experiment files: schema, loading with positioned errors, validation, expectations.
pub mod schema;
pub use schema::*;
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ExperimentError(pub String);
