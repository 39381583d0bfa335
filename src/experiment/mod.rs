//! Experiment files: schema, loading with positioned errors, static validation, validation
//! against the compose file, expectations and matrices.

pub mod expr;
pub mod json_schema;
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

/// Like [`load`], with every problem of the file: when it does not parse, every section and
/// every step, expectation and topic that does not (one error each), else every static
/// problem (see [`validate::statically_all`]).
pub fn load_all(path: &Path) -> Result<Experiment, Vec<ExperimentError>> {
    let text = read_text(path, "experiment file").map_err(|e| vec![e.into()])?;
    parse_all(&text, path)
}

/// [`load_all`] of a file's text.
pub fn parse_all(text: &str, file: &Path) -> Result<Experiment, Vec<ExperimentError>> {
    let mut exp =
        parse_unchecked(text, file).map_err(|first| every_parse_error(text, file, first))?;
    let errors = validate::statically_all(&exp, text, file);
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

/// Every part of a file that does not parse, given the first error the whole-file parse
/// found (kept as it is: it has the exact line and column). Each list item (`steps`,
/// `expect`, `topics`) and each other section is read on its own, so one mistake does not
/// hide the next; an error found this way has the line of the key it names, within its item.
fn every_parse_error(text: &str, file: &Path, first: ExperimentError) -> Vec<ExperimentError> {
    use serde_yaml_ng::Value;
    let Ok(mut doc) = serde_yaml_ng::from_str::<Value>(text) else {
        return vec![first]; // not YAML: nothing more to tell apart
    };
    // Merge keys (`<<: *common`) as the whole-file parse reads them.
    let merged = doc.apply_merge();
    let (Ok(()), Value::Mapping(doc)) = (merged, doc) else {
        return vec![first];
    };
    let mut found: Vec<InputError> = Vec::new();
    let mut report = |path: String, line: Option<usize>, message: String| {
        let hint = crate::input::hint_for(&message);
        found.push(InputError {
            file: file.to_path_buf(),
            line,
            column: None,
            path,
            message,
            hint,
        });
    };
    for (key, value) in &doc {
        let Some(key) = key.as_str() else { continue };
        let item: Option<Probe> = match key {
            "steps" => Some(probe::<Step>),
            "expect" => Some(probe::<ExpectEntry>),
            "topics" => Some(probe::<TopicSpec>),
            _ => None,
        };
        match (item, value) {
            (Some(item), Value::Sequence(seq)) => {
                for (i, v) in seq.iter().enumerate() {
                    if let Err((inner, message)) = item(v.clone()) {
                        let path = if inner.is_empty() || inner == "." {
                            format!("{key}[{i}]")
                        } else {
                            format!("{key}[{i}].{inner}")
                        };
                        report(path, item_key_line(text, key, i, &inner), message);
                    }
                }
            }
            _ => what_section(key, value, &mut report, text),
        }
    }
    let mut found: Vec<ExperimentError> = found.into_iter().map(ExperimentError::from).collect();
    // The expectations that parse are checked as in a file that parses (paths, units).
    if let Some(Value::Sequence(items)) = doc.get("expect") {
        for (i, item) in items.iter().enumerate() {
            if let Ok(entry) = serde_yaml_ng::from_value::<ExpectEntry>(item.clone()) {
                found.extend(validate::expectation(text, file, i, &entry.that));
            }
        }
    }
    // Every item or section once: the first error stands for its own.
    let first_part = part_of(&first.0.path).to_string();
    let mut errors = vec![first];
    errors.extend(
        found
            .into_iter()
            .filter(|e| part_of(&e.0.path) != first_part),
    );
    errors.sort_by_key(|e| e.0.line.unwrap_or(usize::MAX));
    errors
}

/// `steps[3].fault.target` → `steps[3]`; `cluster.reuse` → `cluster`.
fn part_of(path: &str) -> &str {
    match (path.find(']'), path.find('.')) {
        (Some(b), Some(d)) if b < d => &path[..=b],
        (Some(b), None) => &path[..=b],
        (_, Some(d)) => &path[..d],
        _ => path,
    }
}

type Probe = fn(serde_yaml_ng::Value) -> Result<(), (String, String)>;

/// Reads a value as `T`: the path inside it and the message of the first problem.
fn probe<T: serde::de::DeserializeOwned>(
    value: serde_yaml_ng::Value,
) -> Result<(), (String, String)> {
    serde_path_to_error::deserialize::<_, T>(value)
        .map(|_| ())
        .map_err(|e| {
            let path = e.path().to_string();
            let mut message = e.into_inner().to_string();
            if let Some(rest) = message.strip_prefix(&format!("{path}: ")) {
                message = rest.to_string();
            }
            (path, message)
        })
}

/// A top-level section other than the lists, read as the schema's type for it.
fn what_section(
    key: &str,
    value: &serde_yaml_ng::Value,
    report: &mut dyn FnMut(String, Option<usize>, String),
    text: &str,
) {
    let v = value.clone();
    let result = match key {
        "name" | "description" => probe::<String>(v),
        "cluster" => probe::<ClusterSpec>(v),
        "observer" => probe::<ObserverSpec>(v),
        "workload" => probe::<Option<WorkloadSpec>>(v),
        "matrix" => probe::<indexmap::IndexMap<String, Vec<serde_yaml_ng::Value>>>(v),
        "repeat" => probe::<u32>(v),
        "seed" => probe::<Option<u64>>(v),
        "steps" => probe::<Vec<Step>>(v),
        "expect" => probe::<Vec<ExpectEntry>>(v),
        "topics" => probe::<Vec<TopicSpec>>(v),
        _ => Err((String::new(), format!("unknown field `{key}`"))),
    };
    if let Err((inner, message)) = result {
        let path = if inner.is_empty() || inner == "." {
            key.to_string()
        } else {
            format!("{key}.{inner}")
        };
        let last = inner.rsplit('.').next().unwrap_or_default();
        let line = crate::input::line_of_nested_key(text, key, last).or(line_of_key(text, key));
        report(path, line, message);
    }
}

/// The line of the innermost key of `inner` within item `i` of the list `key`: the item's
/// line when the key is not on a line of its own.
fn item_key_line(text: &str, key: &str, i: usize, inner: &str) -> Option<usize> {
    let start = line_of_item(text, key, i)?;
    let end = line_of_item(text, key, i + 1).unwrap_or(usize::MAX);
    let last = inner
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .split('[')
        .next()
        .unwrap_or_default();
    if last.is_empty() {
        return Some(start);
    }
    let needle = format!("{last}:");
    text.lines()
        .enumerate()
        .skip(start - 1)
        .take_while(|(n, _)| n + 1 < end)
        .find(|(_, l)| {
            l.match_indices(&needle)
                .any(|(at, _)| at == 0 || l[..at].ends_with([' ', '{', ',', '-']))
        })
        .map(|(n, _)| n + 1)
        .or(Some(start))
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

/// The setting names a client version knows (Java's differ from librdkafka's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingNames {
    pub producer: std::collections::BTreeSet<String>,
    pub consumer: std::collections::BTreeSet<String>,
}

/// Answers whether a client version is installed: the setting names it knows (`None`: not
/// checked), or why it cannot be used.
pub type InstalledClient = dyn Fn(&ClientChoice, &str) -> Result<Option<SettingNames>, String>;

/// What a client out of process needs from the machine, checked before any cluster starts:
/// the chosen version installed, and (Java) every `producer-config` key one it knows (Java's
/// names differ from librdkafka's). `installed(choice, version)` answers the setting names
/// that version knows (`None`: not checked), or why it cannot be used (with its hint). A Java
/// client without a version (the brokers') waits for the run, which knows the brokers'
/// version.
pub fn check_client(
    exp: &Experiment,
    experiment_file: &Path,
    installed: &InstalledClient,
) -> Result<(), ExperimentError> {
    let Some(w) = &exp.workload else {
        return Ok(());
    };
    let version = match &w.client {
        ClientChoice::Librdkafka => return Ok(()),
        ClientChoice::Java { version } => version.clone(),
        ClientChoice::LibrdkafkaPython { version } => Some(version.clone()),
    };
    let text = read_text(experiment_file, "experiment file").unwrap_or_default();
    let err = |key: &str, path: String, message: String, hint: Option<String>| -> ExperimentError {
        InputError {
            file: experiment_file.into(),
            line: crate::input::line_of_nested_key(&text, "workload", key)
                .or_else(|| line_of_key(&text, "workload")),
            column: None,
            path,
            message,
            hint,
        }
        .into()
    };
    let Some(version) = version else {
        return Ok(());
    };
    let names = installed(&w.client, &version).map_err(|why| {
        let (message, hint) = why.split_once("\n  hint: ").unwrap_or((&why, ""));
        err(
            "client",
            "workload.client".into(),
            message.to_string(),
            (!hint.is_empty()).then(|| hint.to_string()),
        )
    })?;
    let Some(names) = names else {
        return Ok(());
    };
    unknown_java_settings(w, &names).map_or(Ok(()), |unknown| {
        let line = if unknown.in_group {
            crate::input::line_of_nested_key(&text, "consumer-config", &unknown.key)
        } else {
            crate::input::line_of_nested_key(&text, "producer-config", &unknown.key)
        };
        let mut e = err(
            &unknown.key,
            unknown.path(),
            unknown.message,
            Some(
                "the Java client takes Java's names (e.g. retry.backoff.ms, fetch.max.wait.ms); \
                 librdkafka-only settings do not apply to it"
                    .into(),
            ),
        );
        if line.is_some() {
            e.0.line = line;
        }
        Err(e)
    })
}

/// A `producer-config` or group `consumer-config` key the Java client does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownSetting {
    pub key: String,
    /// Under `workload.group.consumer-config` (else `workload.producer-config`).
    pub in_group: bool,
    pub message: String,
}

impl UnknownSetting {
    pub fn path(&self) -> String {
        if self.in_group {
            format!("workload.group.consumer-config.{}", self.key)
        } else {
            format!("workload.producer-config.{}", self.key)
        }
    }
}

/// The first `producer-config` (then group `consumer-config`) key the Java client does not
/// know. The group's members and the live consumer run the same client as the producer.
pub fn unknown_java_settings(w: &WorkloadSpec, names: &SettingNames) -> Option<UnknownSetting> {
    let unknown = |keys: Vec<&String>, known: &std::collections::BTreeSet<String>, in_group| {
        keys.into_iter()
            .find(|k| !known.contains(*k))
            .map(|k| UnknownSetting {
                key: k.clone(),
                in_group,
                message: format!(
                    "`{k}` is not a setting of the Java client's {} (it knows {} settings)",
                    if in_group { "consumer" } else { "producer" },
                    known.len()
                ),
            })
    };
    unknown(w.producer_config.keys().collect(), &names.producer, false).or_else(|| {
        let group = w.group.as_ref()?;
        unknown(
            group.consumer_config.keys().collect(),
            &names.consumer,
            true,
        )
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

    fn all_errors(text: &str) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("e.yaml");
        std::fs::write(&file, text).unwrap();
        load_all(&file)
            .map(|_| vec![])
            .unwrap_or_else(|errors| errors.iter().map(|e| e.to_string()).collect())
            .into_iter()
            .map(|e| e.replace(&file.display().to_string(), "e.yaml"))
            .collect()
    }

    #[test]
    fn every_error_of_a_file_that_does_not_parse_each_with_its_line() {
        let text = [
            "name: t",
            "cluster:",
            "  compose: c.yml",
            "  ready-timeout: 60",
            "topics: [{name: orders, partitions: 2}]",
            "steps:",
            "  - wait: 1s",
            "  - wait-for: {leader-changed: orders/0}",
            "    timeout: 60",
            "  - name: k",
            "    fault: {kind: kill, target: {leader-off: orders/0}}",
            "  - wait: 2s",
            "    colour: red",
            "expect:",
            "  - verification.lost == 0",
            "  - {when: {a: b}, than: x}",
            "  - failover.metadata.max < 25",
        ]
        .join("\n");
        let text = text.as_str();
        let all = all_errors(text);
        let want = [
            "e.yaml:4:18: cluster.ready-timeout: invalid value",
            "e.yaml:9: steps[1].timeout: invalid type: integer `60`, expected a duration\n  hint: durations need a unit: 60s",
            "e.yaml:11: steps[2].fault.target: unknown field `leader-off`",
            "e.yaml:13: steps[3].colour: unknown field `colour`",
            "e.yaml:15: expect[0]: `verification.lost == 0`: result.json has no number or true/false at `verification.lost`",
            "e.yaml:16: expect[1].than: unknown field `than`",
            "e.yaml:17: expect[2]: `failover.metadata.max < 25`: `failover.metadata_ms.max` is a duration",
        ];
        assert_eq!(all.len(), want.len(), "{all:#?}");
        for (got, want) in all.iter().zip(want) {
            assert!(
                got.starts_with(want),
                "{got}\n  does not start with\n{want}"
            );
        }
        // `load` (and `run`) stop at the first, the same one.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("e.yaml");
        std::fs::write(&file, text).unwrap();
        let first = load(&file).unwrap_err().to_string();
        assert!(first.contains(":4:18: cluster.ready-timeout"), "{first}");
    }

    #[test]
    fn merge_keys_are_read_as_the_whole_file_parse_reads_them() {
        let all = all_errors("name: t\ncluster: {compose: c.yml}\nx-wait: &w {wait: 1s}\nsteps:\n  - <<: *w\n  - wait: 60\n");
        // The unknown top-level key and the bare duration; the merged step is fine.
        assert_eq!(all.len(), 2, "{all:#?}");
        assert!(all[0].starts_with("e.yaml:3"), "{}", all[0]);
        assert!(all[1].starts_with("e.yaml:6"), "{}", all[1]);
    }

    #[test]
    fn every_expectation_and_step_error_of_a_file_that_parses() {
        let all = all_errors("name: t\ncluster: {compose: c.yml}\ntopics: [{name: orders}]\nsteps:\n  - wait: 1s\n  - heal: nope\n  - fault: {kind: kill, target: {leader-of: orders/3}}\nexpect: [failover.max < 10s, verification.lost_acked == 0,\n  workload.latency.p99 < 2]\n");
        assert_eq!(all.len(), 4, "{all:#?}");
        assert!(
            all[0].starts_with("e.yaml:8: expect[0]: `failover.max < 10s`"),
            "{}",
            all[0]
        );
        assert!(
            all[1].starts_with("e.yaml:9: expect[2]: `workload.latency.p99 < 2`"),
            "{}",
            all[1]
        );
        assert!(all[2].starts_with("e.yaml:6: steps[1].heal"), "{}", all[2]);
        assert!(
            all[3].starts_with("e.yaml:7: steps[2].fault.target: orders/3"),
            "{}",
            all[3]
        );
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

/// Faults on a coordinator whose internal topic has one replica in this cluster: killing it
/// is an outage of that topic until the broker returns, not a coordinator failover. One line
/// per such fault, for `validate`; `brokers` are the brokers as they will start (the
/// experiment's broker settings applied). Pure.
pub fn single_replica_coordinators(
    exp: &Experiment,
    brokers: &[&crate::compose::Service],
) -> Vec<String> {
    // Kafka's default is 3; only a factor every broker is given counts.
    let replication_factor =
        |property: &str| crate::compose::convention::common_setting(brokers, property);
    let mut lines = Vec::new();
    for (i, step) in exp.steps.iter().enumerate() {
        let Some(fault) = &step.fault else { continue };
        let (topic, property) = match &fault.target {
            Target::TransactionCoordinatorOf(_) => (
                "__transaction_state",
                "transaction.state.log.replication.factor",
            ),
            Target::CoordinatorOf(_) => ("__consumer_offsets", "offsets.topic.replication.factor"),
            _ => continue,
        };
        if replication_factor(property).as_deref() == Some("1") {
            lines.push(format!(
                "steps[{i}]: {} {}: {topic} has replication factor 1 on this cluster \
                 ({property}=1), so this measures an outage of that topic until the broker \
                 returns, not a coordinator failover; set {property}: 3 under \
                 cluster.broker-config to measure a failover",
                fault.kind, fault.target
            ));
        }
    }
    lines
}

/// Where the experiment's faults mean something else when its cluster is on Kubernetes (a
/// controller brings pods back by itself): one line per fault kind used, for `validate` and the
/// run's notes. Pure; empty when nothing differs.
pub fn kubernetes_differences(exp: &Experiment, nodes: NodeAccess) -> Vec<String> {
    use crate::events::FaultKind;
    let mut kinds: Vec<FaultKind> = Vec::new();
    for kind in exp
        .steps
        .iter()
        .filter_map(|s| s.fault.as_ref().map(|f| f.kind))
    {
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    kinds
        .into_iter()
        .filter_map(|kind| {
            let why = match kind {
                FaultKind::NodeCrash if nodes == NodeAccess::DockerContainers => {
                    "the node's Docker container is killed: its kubelet, containerd and every \
                     pod on it die at once (other clusters' too); Kubernetes marks the node \
                     NotReady and its pods not Ready only after the node controller's grace \
                     period (50 s by default); the heal starts the container again (a reboot) \
                     and its kubelet restarts the pods in place"
                }
                FaultKind::NodePartition if nodes == NodeAccess::DockerContainers => {
                    "without peers, the node itself is cut at its uplink (iptables in its \
                     container): from the other nodes, the control plane and the \
                     port-forwards, so its brokers are out of the harness's reach too; its pods \
                     keep running and reach each other; Kubernetes marks the node NotReady \
                     after its grace period (50 s by default); with peers, each pod is cut from \
                     them as without `nodes`"
                }
                FaultKind::Kill | FaultKind::NodeCrash => {
                    "the killed JVM's container is restarted in place by the kubelet at once (then \
                     with its back-off), not when the experiment heals it; in ZooKeeper mode a \
                     broker restarted before its old session expires fails to register and \
                     crash-loops until it does"
                }
                FaultKind::Stop | FaultKind::Restart => {
                    "the pod is deleted gracefully and its StatefulSet recreates it at once: a \
                     stopped broker does not stay down until the heal"
                }
                FaultKind::Pause | FaultKind::NodePause => {
                    "the JVM is stopped with SIGSTOP (pods/exec), not a cgroup freeze: the pod's \
                     other processes run on and the API still shows it Running"
                }
                _ => return None,
            };
            Some(format!("`{kind}` on Kubernetes: {why}"))
        })
        .collect()
}

/// The first fault the experiment uses that Kubernetes cannot do (a pod cannot be taken off
/// its network through the API): one rule for `validate` and `run --kubernetes`.
pub fn fault_unavailable_on_kubernetes(exp: &Experiment) -> Option<crate::events::FaultKind> {
    use crate::events::FaultKind;
    exp.steps
        .iter()
        .filter_map(|s| s.fault.as_ref().map(|f| f.kind))
        .find(|k| matches!(k, FaultKind::Disconnect | FaultKind::Connect))
}

/// Broker ids an experiment names in topic assignments that the cluster does not have (known
/// once a cluster found at run time — Kubernetes, an attached project — is listed).
pub fn unknown_assigned_brokers(exp: &Experiment, brokers: &[i32]) -> Vec<(String, i32)> {
    exp.topics
        .iter()
        .flat_map(|t| {
            t.assignment
                .iter()
                .flatten()
                .filter(|id| !brokers.contains(id))
                .map(|id| (t.name.clone(), *id))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[cfg(test)]
mod kubernetes_tests {
    use super::*;

    #[test]
    fn kubernetes_differences_name_each_fault_kind_once_and_skip_the_same_ones() {
        let exp = parse(
            "name: t\ncluster: {kubernetes: {namespace: n, strimzi-cluster: c}}\ntopics: [{name: t}]\nsteps:\n  - fault: {kind: kill, target: {leader-of: t/0}}\n  - fault: {kind: stop, target: {leader-of: t/0}}\n  - fault: {kind: kill, target: controller}\n  - fault: {kind: partition, target: {leader-of: t/0}, peers: [z]}\n",
            std::path::Path::new("e.yaml"),
        )
        .expect("valid");
        let lines = kubernetes_differences(&exp, NodeAccess::Pods);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(lines[0]
            .starts_with("`kill` on Kubernetes: the killed JVM's container is restarted in place"));
        assert!(lines[1].starts_with("`stop` on Kubernetes: the pod is deleted gracefully"));
    }

    #[test]
    fn a_node_crash_on_node_containers_is_said_to_crash_the_node() {
        let exp = parse(
            "name: t\ncluster: {kubernetes: {namespace: n, strimzi-cluster: c, nodes: docker-containers}}\ntopics: [{name: t}]\nsteps:\n  - fault: {kind: node-crash, target: {node-of: {leader-of: t/0}}}\n",
            std::path::Path::new("e.yaml"),
        )
        .expect("valid");
        let on_nodes = kubernetes_differences(&exp, NodeAccess::DockerContainers);
        assert_eq!(on_nodes.len(), 1);
        assert!(on_nodes[0]
            .starts_with("`node-crash` on Kubernetes: the node's Docker container is killed"));
        let on_pods = kubernetes_differences(&exp, NodeAccess::Pods);
        assert!(on_pods[0].contains("restarted in place by the kubelet at once"));
    }

    #[test]
    fn assigned_brokers_the_cluster_lacks_are_named_with_their_topic() {
        let exp = parse(
            "name: t\ncluster: {kubernetes: {namespace: n, strimzi-cluster: c}}\ntopics:\n  - name: orders\n    assignment: [[1, 2, 3]]\n",
            std::path::Path::new("e.yaml"),
        )
        .expect("valid");
        assert_eq!(
            unknown_assigned_brokers(&exp, &[0, 1, 2]),
            vec![("orders".to_string(), 3)]
        );
        assert!(unknown_assigned_brokers(&exp, &[1, 2, 3]).is_empty());
    }
}
