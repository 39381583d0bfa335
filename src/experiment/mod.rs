//! Experiment files: schema, loading with positioned errors, static validation, validation
//! against the compose file, expectations and matrices.

pub mod expr;
pub mod matrix;
pub mod schema;
mod validate;

pub use crate::input::{
    from_serde as input_error_from_serde, line_of_item, line_of_key, read_text, InputError,
    MAX_FILE_BYTES,
};
pub use schema::*;

use std::path::{Path, PathBuf};

#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct ExperimentError(pub Box<InputError>);

impl From<InputError> for ExperimentError {
    fn from(e: InputError) -> Self {
        ExperimentError(Box::new(e))
    }
}

/// Reads, parses and statically validates an experiment file.
pub fn load(path: &Path) -> Result<Experiment, ExperimentError> {
    let text = read_text(path, "experiment file")?;
    parse(&text, path)
}

/// Like [`load`], with every static problem of the file (one when it does not parse).
pub fn load_all(path: &Path) -> Result<Experiment, Vec<ExperimentError>> {
    let text = read_text(path, "experiment file").map_err(|e| vec![e.into()])?;
    let exp = parse_unchecked(&text, path).map_err(|e| vec![e])?;
    let errors = validate::statically_all(&exp, &text, path);
    if errors.is_empty() {
        Ok(exp)
    } else {
        Err(errors)
    }
}

pub fn parse(text: &str, file: &Path) -> Result<Experiment, ExperimentError> {
    let exp = parse_unchecked(text, file)?;
    validate::statically(&exp, text, file)?;
    Ok(exp)
}

/// Parsed, not yet statically validated.
fn parse_unchecked(text: &str, file: &Path) -> Result<Experiment, ExperimentError> {
    if text
        .trim()
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Err(InputError {
            file: file.into(),
            line: None,
            column: None,
            path: String::new(),
            message: "empty experiment file".into(),
            hint: Some("start from one of experiments/*.yaml".into()),
        }
        .into());
    }
    let de = serde_yaml_ng::Deserializer::from_str(text);
    serde_path_to_error::deserialize(de).map_err(|e| crate::input::from_serde(file, e).into())
}

/// The compose file, relative to the experiment file's directory; None when the experiment
/// attaches to a running project instead.
pub fn compose_path(exp: &Experiment, experiment_file: &Path) -> Option<PathBuf> {
    let base = experiment_file.parent().unwrap_or(Path::new("."));
    exp.cluster.compose.as_ref().map(|c| base.join(c))
}

pub use validate::against_compose as validate_against_compose;
pub use validate::against_compose_all as validate_against_compose_all;

/// The connection security an experiment's clients use: its `cluster.client-security` with
/// the password from the environment and the files found (relative to the experiment file);
/// None when the experiment does not say (the environment decides). Checked before any
/// cluster starts; an error names the file, line and field.
pub fn client_security(
    exp: &Experiment,
    experiment_file: &Path,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<crate::security::ClientSecurity>, ExperimentError> {
    let Some(spec) = &exp.cluster.client_security else {
        return Ok(None);
    };
    let base = experiment_file.parent().unwrap_or(Path::new("."));
    spec.resolve(base, lookup).map(Some).map_err(|e| {
        let text = read_text(experiment_file, "experiment file").unwrap_or_default();
        InputError {
            file: experiment_file.into(),
            line: validate::security_error_line(&text, &e.field),
            column: None,
            path: e.field,
            message: e.message,
            hint: e.hint,
        }
        .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_security_is_resolved_against_the_environment_with_positioned_errors() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("e.yaml");
        let text = "name: t\ncluster:\n  compose: c.yml\n  client-security:\n    protocol: sasl-ssl\n    sasl:\n      mechanism: scram-sha-256\n      username: alice\n      password-env: SECRET_X\n    tls:\n      ca-file: ca.pem\n";
        std::fs::write(&file, text).unwrap();
        let exp = parse(text, &file).unwrap();
        let e = client_security(&exp, &file, &|_| None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("e.yaml:9: cluster.client-security.sasl.password-env: the environment variable SECRET_X")
                && e.contains("hint: export it"),
            "{e}"
        );
        let env = |k: &str| (k == "SECRET_X").then(|| "pw".to_string());
        let e = client_security(&exp, &file, &env).unwrap_err().to_string();
        assert!(
            e.contains("e.yaml:11: cluster.client-security.tls.ca-file:")
                && e.contains("ca.pem is not a file"),
            "{e}"
        );
        std::fs::write(dir.path().join("ca.pem"), "").unwrap();
        let sec = client_security(&exp, &file, &env).unwrap().unwrap();
        assert_eq!(sec.sasl().unwrap().password.expose(), "pw");
        // Without `client-security` the environment decides.
        let plain = parse("name: t\ncluster: {compose: c.yml}\n", &file).unwrap();
        assert_eq!(client_security(&plain, &file, &env).unwrap(), None);
    }
}
