//! Experiment files: schema, loading with positioned errors, static validation, validation
//! against the compose file, expectations and matrices.

pub mod expr;
pub mod matrix;
pub mod paths;
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
    let mut exp = parse_unchecked(&text, path).map_err(|e| vec![e])?;
    let errors = validate::statically_all(&exp, &text, path);
    if errors.is_empty() {
        merge_broker_config(&mut exp);
        Ok(exp)
    } else {
        Err(errors)
    }
}

pub fn parse(text: &str, file: &Path) -> Result<Experiment, ExperimentError> {
    let mut exp = parse_unchecked(text, file)?;
    validate::statically(&exp, text, file)?;
    merge_broker_config(&mut exp);
    Ok(exp)
}

/// `cluster.broker-config` (Kafka's property names) into `cluster.broker-environment` (our
/// images' variables), where everything that creates brokers, and `--dry-run`, reads it.
/// Validation has made sure no variable is named by both.
fn merge_broker_config(exp: &mut Experiment) {
    for (property, value) in &exp.cluster.broker_config {
        exp.cluster
            .broker_environment
            .insert(matrix::property_to_env(property), value.0.clone());
    }
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

    /// Every duration field of the schema, as `(path, file with that field set to 60)`.
    fn every_duration_field_set_to_60() -> Vec<(&'static str, String)> {
        let base = "name: t\ntopics: [{name: orders}]\n";
        let cluster = |f: &str| format!("{base}cluster:\n  compose: c.yml\n  {f}: 60\n");
        let c = "cluster: {compose: c.yml}\n";
        let observer = |f: &str| format!("{base}{c}observer:\n  {f}: 60\n");
        let workload = |f: &str| format!("{base}{c}workload:\n  {f}: 60\n");
        let group = |f: &str| format!("{base}{c}workload:\n  group:\n    {f}: 60\n");
        let step = |s: &str| format!("{base}{c}steps:\n  - wait: 1s\n  - {s}\n");
        vec![
            ("cluster.ready-timeout", cluster("ready-timeout")),
            ("cluster.warm-up", cluster("warm-up")),
            ("observer.period", observer("period")),
            ("observer.fast-period", observer("fast-period")),
            ("observer.fast-for", observer("fast-for")),
            ("workload.delivery-timeout", workload("delivery-timeout")),
            ("workload.recovery-window", workload("recovery-window")),
            (
                "workload.transactions.pause",
                format!("{base}{c}workload:\n  transactions:\n    pause: 60\n"),
            ),
            ("workload.group.commit-interval", group("commit-interval")),
            ("workload.group.processing", group("processing")),
            ("workload.group.session-timeout", group("session-timeout")),
            (
                "workload.group.max-poll-interval",
                group("max-poll-interval"),
            ),
            ("steps[1].at", step("at: 60\n    wait: 1s")),
            ("steps[1].wait", step("wait: 60")),
            (
                "steps[1].timeout",
                step("wait-for: {cluster-healthy: true}\n    timeout: 60"),
            ),
            (
                "steps[1].fault.delay",
                step("fault: {kind: delay, target: kafka-1, delay: 60}"),
            ),
        ]
    }

    #[test]
    fn a_bare_number_for_any_duration_says_durations_need_a_unit() {
        let fields = every_duration_field_set_to_60();
        assert_eq!(fields.len(), 16, "every humantime_serde field of schema.rs");
        for (path, text) in fields {
            let e = parse(&text, Path::new("e.yaml")).unwrap_err().to_string();
            assert!(
                e.starts_with("e.yaml:")
                    && e.contains(&format!(": {path}: invalid value"))
                    && e.contains("hint: durations need a unit: 60s"),
                "{path}:\n{e}"
            );
            // The path is printed once.
            assert_eq!(e.matches(path).count(), 1, "{e}");
        }
        let e = parse(
            "name: t\ncluster: {compose: c.yml}\nsteps:\n  - wait: 1.5\n",
            Path::new("e.yaml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("hint: durations need a unit: 1500ms"), "{e}");
        let e = parse(
            "name: t\ncluster: {compose: c.yml}\nsteps:\n  - wait: soon\n",
            Path::new("e.yaml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("hint: durations look like 500ms"), "{e}");
    }

    #[test]
    fn a_nested_serde_error_names_its_field_path_once() {
        let e = parse(
            "name: t\ncluster: {compose: c.yml}\nsteps:\n  - wait: 1s\n  - fault: {kind: kill, target: {leaderof: a/0}}\n",
            Path::new("e.yaml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("e.yaml:5:33: steps[1].fault.target: unknown field `leaderof`"),
            "{e}"
        );
    }

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
