//! TEMPORARY stand-in until the real loader lands (same public API).
pub mod schema;
pub use schema::*;
use std::path::{Path, PathBuf};
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ExperimentError(pub String);
pub fn load(path: &Path) -> Result<Experiment, ExperimentError> {
    let text = std::fs::read_to_string(path).map_err(|e| ExperimentError(e.to_string()))?;
    serde_yaml_ng::from_str(&text).map_err(|e| ExperimentError(format!("{}: {e}", path.display())))
}
pub fn compose_path(exp: &Experiment, experiment_file: &Path) -> PathBuf {
    experiment_file.parent().unwrap_or(Path::new(".")).join(&exp.cluster.compose)
}
pub fn validate_against_compose(_exp: &Experiment, _file: &Path, _compose: &crate::compose::ComposeProject) -> Result<(), ExperimentError> { Ok(()) }
pub mod matrix {
    use super::Experiment;
    pub struct Variant { pub name: String, pub experiment: Experiment }
    pub fn expand(exp: &Experiment) -> Vec<Variant> { vec![Variant { name: String::new(), experiment: exp.clone() }] }
}
pub mod expr {
    pub fn evaluate_all(_texts: &[String], _result: &serde_json::Value) -> Vec<crate::report::ExpectationResult> { vec![] }
}
