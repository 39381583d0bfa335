//! Static validation of an experiment (what serde cannot check), and validation against the
//! compose file it names. Errors name the step and field and, where it can be found, the line.

use super::expr::{check_against_result, parse_expectation};
use super::matrix;
use super::schema::*;
use super::ExperimentError;
use crate::compose::ComposeProject;
use crate::input::{line_of_item, line_of_key, line_of_nested_key, InputError};
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

struct Checker<'a> {
    text: &'a str,
    file: &'a Path,
}

impl Checker<'_> {
    fn err(
        &self,
        line: Option<usize>,
        path: impl Into<String>,
        message: impl Into<String>,
        hint: Option<&str>,
    ) -> ExperimentError {
        ExperimentError(Box::new(InputError {
            file: self.file.to_path_buf(),
            line,
            column: None,
            path: path.into(),
            message: message.into(),
            hint: hint.map(str::to_string),
        }))
    }
    fn step(
        &self,
        i: usize,
        field: &str,
        message: impl Into<String>,
        hint: Option<&str>,
    ) -> ExperimentError {
        let path = if field.is_empty() {
            format!("steps[{i}]")
        } else {
            format!("steps[{i}].{field}")
        };
        self.err(line_of_item(self.text, "steps", i), path, message, hint)
    }
}

fn partition_count(exp: &Experiment, topic: &str) -> Option<i32> {
    exp.topics
        .iter()
        .find(|t| t.name == topic)
        .map(TopicSpec::partition_count)
}

fn check_partition(
    c: &Checker,
    exp: &Experiment,
    i: usize,
    field: &str,
    p: &PartitionRef,
) -> Result<(), ExperimentError> {
    match partition_count(exp, &p.topic) {
        None => Err(c.step(
            i,
            field,
            format!("topic `{}` is not declared in `topics`", p.topic),
            Some("declare it under topics: (name, partitions, replication-factor)"),
        )),
        Some(n) if p.partition >= n => Err(c.step(
            i,
            field,
            format!("{p}: topic {} has {n} partition(s)", p.topic),
            Some("partitions are numbered from 0"),
        )),
        Some(_) => Ok(()),
    }
}

fn target_partition(t: &Target) -> Option<&PartitionRef> {
    match t {
        Target::LeaderOf(p) | Target::FollowersOf(p) | Target::FollowerOf(p) | Target::IsrOf(p) => {
            Some(p)
        }
        Target::NodeOf(inner) => target_partition(inner),
        _ => None,
    }
}

fn condition_partition(c: &Condition) -> Option<&PartitionRef> {
    match c {
        Condition::LeaderChanged(p)
        | Condition::PartitionOffline(p)
        | Condition::PartitionOnline(p)
        | Condition::PreferredLeader(p) => Some(p),
        Condition::IsrSize(s) => Some(&s.partition),
        Condition::ControllerChanged(_)
        | Condition::ClusterHealthy(_)
        | Condition::TransactionsCommitted(_) => None,
    }
}

/// A tc rate: a number and a unit tc knows.
fn is_tc_rate(rate: &str) -> bool {
    let digits = rate.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &rate[digits.len()..];
    !digits.is_empty()
        && digits.parse::<f64>().is_ok_and(|v| v > 0.0)
        && ["bit", "kbit", "mbit", "gbit", "bps", "kbps", "mbps", "gbps"]
            .contains(&unit.to_ascii_lowercase().as_str())
}

/// The first problem of an experiment that serde cannot see (see [`statically_all`]).
pub fn statically(exp: &Experiment, text: &str, file: &Path) -> Result<(), ExperimentError> {
    match statically_all(exp, text, file).into_iter().next() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Every problem serde cannot see, in file order: one per section, topic, matrix axis,
/// expectation and step (the first of each). A step's name counts even when the step has
/// another problem, so that later steps naming it are not reported too.
pub fn statically_all(exp: &Experiment, text: &str, file: &Path) -> Vec<ExperimentError> {
    let c = Checker { text, file };
    let mut errors: Vec<ExperimentError> = Vec::new();
    errors.extend(check_name(&c, exp, text).err());
    errors.extend(check_cluster(&c, exp, text).err());
    errors.extend(check_broker_settings(&c, exp, text));
    let mut keep = |r: Result<(), ExperimentError>| {
        if let Err(e) = r {
            errors.push(e);
        }
    };
    keep(check_client_security(&c, exp, text));
    for (i, t) in exp.topics.iter().enumerate() {
        keep(check_topic(&c, exp, text, i, t));
    }
    keep(check_observer(&c, exp, text));
    keep(check_workload(&c, exp, text));
    keep(check_repeat(&c, exp, text));
    for (key, values) in &exp.matrix {
        keep(check_axis(&c, exp, text, key, values));
    }
    for (i, e) in exp.expect.iter().enumerate() {
        keep(check_expectation(&c, text, i, &e.that));
        keep(check_when(&c, exp, text, i, e));
    }
    let mut names: HashMap<&str, (usize, Option<FaultKind>)> = HashMap::new();
    for (i, step) in exp.steps.iter().enumerate() {
        keep(check_step(&c, exp, i, step, &mut names));
    }
    errors
}

fn check_name(c: &Checker, exp: &Experiment, text: &str) -> Result<(), ExperimentError> {
    if exp.name.trim().is_empty() {
        return Err(c.err(
            line_of_key(text, "name"),
            "name",
            "the experiment needs a name",
            None,
        ));
    }
    Ok(())
}

// Long: one independent check per cluster key, in the schema's order
/// A cluster is started from a compose file, attached to (a running compose project), or on
/// Kubernetes; the last two exist already, so nothing that configures them at creation applies.
fn check_cluster(c: &Checker, exp: &Experiment, text: &str) -> Result<(), ExperimentError> {
    let cluster = &exp.cluster;
    let at = line_of_key(text, "cluster");
    let sources: Vec<&str> = [
        ("compose", cluster.compose.is_some()),
        ("attach", cluster.attach.is_some()),
        ("kubernetes", cluster.kubernetes.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect();
    match sources.as_slice() {
        [] => {
            return Err(c.err(
                at,
                "cluster",
                "the cluster needs `compose:` (a compose file this tool starts), `attach:` (a running compose project) or `kubernetes:` (a cluster on Kubernetes)",
                Some("cluster: {compose: ../compose/seed.yml}, or cluster: {attach: {project: my-kafka}}, or cluster: {kubernetes: {namespace: kafka, strimzi-cluster: my-cluster}}"),
            ))
        }
        ["compose"] => return Ok(()),
        [_] => {}
        [_, second, ..] => {
            return Err(c.err(
                line_of_nested_key(text, "cluster", second),
                format!("cluster.{second}"),
                format!("`{}` exclude each other: a cluster is started by this tool, attached to, or on Kubernetes", sources.join("` and `")),
                Some("keep one of them"),
            ))
        }
    }
    let source = sources[0];
    if let Some(attach) = &cluster.attach {
        if attach.project.trim().is_empty() {
            return Err(c.err(
                line_of_nested_key(text, "cluster", "project"),
                "cluster.attach.project",
                "the compose project name is empty",
                Some(
                    "the name `docker compose ls` (or the com.docker.compose.project label) shows",
                ),
            ));
        }
    }
    if let Some(k8s) = &cluster.kubernetes {
        for (field, value) in [
            ("namespace", &k8s.namespace),
            ("strimzi-cluster", &k8s.strimzi_cluster),
        ] {
            if value.trim().is_empty() {
                return Err(c.err(
                    line_of_nested_key(text, "cluster", field),
                    format!("cluster.kubernetes.{field}"),
                    format!("`{field}` is empty"),
                    Some("cluster: {kubernetes: {namespace: chaos, strimzi-cluster: seed}} (the pods' strimzi.io/cluster label)"),
                ));
            }
        }
        if let Some(kind) = super::fault_unavailable_on_kubernetes(exp) {
            return Err(c.err(
                line_of_key(text, "steps"),
                "steps.fault.kind",
                format!("`{kind}` is not available on Kubernetes: a pod cannot be taken off its network through the API"),
                Some("use `partition` (iptables in an ephemeral container, the same rules as on Docker)"),
            ));
        }
    }
    let (what, where_) = match source {
        "attach" => ("an attached project's containers exist already", "set it in the project's compose file and recreate the project, or start the cluster with `compose:`"),
        _ => ("a Kubernetes cluster's pods exist already", "set it in the StatefulSet (or Strimzi's Kafka resource) and let it roll, or start the cluster with `compose:`"),
    };
    let created: [(&str, bool); 3] = [
        ("broker-environment", !cluster.broker_environment.is_empty()),
        ("broker-config", !cluster.broker_config.is_empty()),
        ("environment", !cluster.environment.is_empty()),
    ];
    if let Some((field, _)) = created.iter().find(|(_, set)| *set) {
        return Err(c.err(
            line_of_nested_key(text, "cluster", field),
            format!("cluster.{field}"),
            format!("`{field}` configures containers this tool creates; {what}"),
            Some(where_),
        ));
    }
    if let Some(axis) = exp
        .matrix
        .keys()
        .find(|k| k.starts_with("broker:") || k.starts_with("cluster:"))
    {
        return Err(c.err(
            line_of_key(text, "matrix").or(at),
            format!("matrix.{axis}"),
            format!(
                "the axis `{axis}` needs a cluster this tool starts; {} keeps its settings",
                if source == "attach" {
                    "an attached project"
                } else {
                    "a Kubernetes cluster"
                }
            ),
            Some("topic: and workload: axes work on it"),
        ));
    }
    Ok(())
}

/// The line of `key` inside the `cluster:` section, block or flow style (the section's line
/// when it cannot be told).
fn cluster_key_line(text: &str, key: &str) -> Option<usize> {
    let start = line_of_key(text, "cluster")?;
    let lines: Vec<&str> = text.lines().collect();
    let section_end = lines
        .iter()
        .enumerate()
        .skip(start)
        .find(|(_, l)| !l.is_empty() && !l.starts_with([' ', '\t', '#']))
        .map(|(i, _)| i)
        .unwrap_or(lines.len());
    let needles = [
        format!("{key}:"),
        format!("\"{key}\":"),
        format!("'{key}':"),
    ];
    let names_it = |l: &str| {
        needles.iter().any(|n| {
            l.match_indices(n.as_str())
                .any(|(i, _)| l[..i].ends_with([' ', '\t', '{', ',']) || i == 0)
        })
    };
    let first = lines[start - 1..section_end]
        .iter()
        .position(|l| names_it(l))
        .map(|i| i + start);
    first.or(Some(start))
}

/// `broker-environment` holds environment variables (a dotted Kafka property there sets
/// nothing: the broker never sees it); `broker-config` holds Kafka's property names; the
/// two never name the same setting. Every problem, one error each.
fn check_broker_settings(c: &Checker, exp: &Experiment, text: &str) -> Vec<ExperimentError> {
    let cluster = &exp.cluster;
    let mut errors = Vec::new();
    for name in cluster.broker_environment.keys() {
        if name.contains('.') {
            errors.push(c.err(
                cluster_key_line(text, name),
                format!("cluster.broker-environment.{name}"),
                format!("`{name}` is a Kafka property name, not an environment variable: the broker would never see it"),
                Some(&format!(
                    "write {}: … under broker-environment, or {name}: … under cluster.broker-config (Kafka's names, translated)",
                    matrix::property_to_env(name)
                )),
            ));
        }
    }
    for (property, _) in &cluster.broker_config {
        let env = matrix::property_to_env(property);
        let bad = if property.trim().is_empty() {
            Some(("an empty property name".to_string(), None))
        } else if property.starts_with("KAFKA_")
            || property.chars().any(|ch| ch.is_ascii_uppercase())
        {
            Some((
                format!("`{property}` is not a Kafka property name (those are lower-case and dotted)"),
                Some(format!(
                    "environment variables go under broker-environment; here write Kafka's name, e.g. {}",
                    property
                        .strip_prefix("KAFKA_")
                        .unwrap_or(property)
                        .to_ascii_lowercase()
                        .replace('_', ".")
                )),
            ))
        } else if !property
            .chars()
            .all(|ch| ch.is_ascii_alphanumeric() || "._-".contains(ch))
        {
            Some((
                format!("`{property}` is not a Kafka property name"),
                Some("property names are letters, digits, dots, `_` and `-`, e.g. zookeeper.session.timeout.ms".to_string()),
            ))
        } else if cluster.broker_environment.contains_key(&env) {
            Some((
                format!("`{property}` is {env}, which broker-environment sets too"),
                Some(format!(
                    "keep one of them: broker-config.{property} or broker-environment.{env}"
                )),
            ))
        } else {
            None
        };
        if let Some((message, hint)) = bad {
            errors.push(c.err(
                cluster_key_line(text, property),
                format!("cluster.broker-config.{property}"),
                message,
                hint.as_deref(),
            ));
        }
    }
    errors
}

/// `cluster.client-security`: what holds without the environment (the password variable and
/// the files are checked when a run starts).
fn check_client_security(c: &Checker, exp: &Experiment, text: &str) -> Result<(), ExperimentError> {
    let Some(spec) = &exp.cluster.client_security else {
        return Ok(());
    };
    spec.check().map_err(|e| {
        c.err(
            security_error_line(text, &e.field),
            e.field,
            e.message,
            e.hint.as_deref(),
        )
    })
}

/// The line of a `cluster.client-security.…` field: its last key, else the section's.
pub(crate) fn security_error_line(text: &str, field: &str) -> Option<usize> {
    let cluster = line_of_key(text, "cluster");
    // line_of_nested_key answers the section's line for a key it does not find.
    let found =
        |key: &str| line_of_nested_key(text, "cluster", key).filter(|l| Some(*l) != cluster);
    let key = field.rsplit('.').next().unwrap_or("client-security");
    found(key).or_else(|| found("client-security")).or(cluster)
}

fn check_topic(
    c: &Checker,
    exp: &Experiment,
    text: &str,
    i: usize,
    t: &TopicSpec,
) -> Result<(), ExperimentError> {
    let at = line_of_item(text, "topics", i);
    if t.name.trim().is_empty() {
        return Err(c.err(at, format!("topics[{i}].name"), "empty topic name", None));
    }
    if t.partitions < 1 || t.replication_factor < 1 {
        return Err(c.err(
            at,
            format!("topics[{i}]"),
            "partitions and replication-factor must be at least 1",
            None,
        ));
    }
    if let Some(first) = t.assignment.first() {
        if first.is_empty() || t.assignment.iter().any(|r| r.len() != first.len()) {
            return Err(c.err(
                at,
                format!("topics[{i}].assignment"),
                "every partition needs the same, non-zero number of replicas",
                Some("e.g. assignment: [[1, 2, 3], [2, 3, 1]]"),
            ));
        }
    }
    for (key, value) in &t.config {
        if let Some(expected) = topic_config_refused(key, &value.0) {
            return Err(c.err(
                at,
                format!("topics[{i}].config.{key}"),
                format!(
                    "`{}`: Kafka refuses this value (InvalidConfigurationException)",
                    value.0
                ),
                Some(&format!("{key} is {expected}")),
            ));
        }
    }
    if exp.topics.iter().filter(|o| o.name == t.name).count() > 1 {
        return Err(c.err(
            at,
            format!("topics[{i}].name"),
            format!("topic `{}` is declared twice", t.name),
            None,
        ));
    }
    Ok(())
}

/// What a common topic config takes, when `value` is not that (Kafka refuses the topic);
/// None when the value fits or the key is not one checked here.
fn topic_config_refused(key: &str, value: &str) -> Option<&'static str> {
    let v = value.trim();
    let long_at_least = |min: i64| v.parse::<i64>().is_ok_and(|n| n >= min);
    // Each key: whether the value fits, and what the key takes (for the hint).
    let (fits, takes) = match key {
        "unclean.leader.election.enable" | "preallocate" | "message.downconversion.enable" => (
            ["true", "false"].contains(&v.to_ascii_lowercase().as_str()),
            "true or false",
        ),
        "min.insync.replicas" => (long_at_least(1), "a whole number, at least 1"),
        "retention.ms" | "retention.bytes" | "local.retention.ms" | "local.retention.bytes" => {
            (long_at_least(-1), "a whole number, -1 for unlimited")
        }
        "segment.bytes" => (long_at_least(14), "a whole number of bytes, at least 14"),
        "segment.ms" | "flush.ms" | "flush.messages" => {
            (long_at_least(1), "a whole number, at least 1")
        }
        "max.message.bytes" | "delete.retention.ms" | "min.compaction.lag.ms" => (
            long_at_least(0),
            "a whole number (milliseconds, bytes or a count)",
        ),
        "cleanup.policy" => (
            v.split(',')
                .all(|p| ["delete", "compact"].contains(&p.trim())),
            "delete, compact, or delete,compact",
        ),
        "compression.type" => (
            ["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"].contains(&v),
            "uncompressed, zstd, lz4, snappy, gzip or producer",
        ),
        "message.timestamp.type" => (
            ["CreateTime", "LogAppendTime"].contains(&v),
            "CreateTime or LogAppendTime",
        ),
        _ => return None,
    };
    (!fits).then_some(takes)
}

fn check_observer(c: &Checker, exp: &Experiment, text: &str) -> Result<(), ExperimentError> {
    if exp.observer.period < Duration::from_millis(10)
        || exp.observer.period > Duration::from_secs(10)
    {
        return Err(c.err(
            line_of_key(text, "observer"),
            "observer.period",
            "the observer period must be between 10ms and 10s",
            Some("100ms is the default: the error bar of every failover time"),
        ));
    }
    Ok(())
}

/// Consumer settings librdkafka refuses with `group.protocol=consumer` (the broker decides).
const CONSUMER_PROTOCOL_REFUSES: [&str; 4] = [
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "partition.assignment.strategy",
    "group.protocol.type",
];

// Long: one independent check per workload key, in the schema's order
fn check_workload(c: &Checker, exp: &Experiment, text: &str) -> Result<(), ExperimentError> {
    if let Some(w) = &exp.workload {
        if w.message_size > 1 << 20 {
            return Err(c.err(
                line_of_key(text, "workload"),
                "workload.message-size",
                "message-size is larger than 1 MiB",
                None,
            ));
        }
        if let Some(t) = &w.topic {
            if partition_count(exp, t).is_none() {
                return Err(c.err(
                    line_of_key(text, "workload"),
                    "workload.topic",
                    format!("topic `{t}` is not declared in `topics`"),
                    None,
                ));
            }
        }
        if let Some(g) = &w.group {
            let bad = if g.members == 0 || g.members > 32 {
                Some(("members", "members must be between 1 and 32"))
            } else if g.session_timeout < Duration::from_secs(1) {
                Some(("session-timeout", "session-timeout must be at least 1s"))
            } else if g.protocol == crate::events::GroupProtocol::Consumer {
                CONSUMER_PROTOCOL_REFUSES
                    .iter()
                    .find(|k| g.consumer_config.contains_key(**k))
                    .map(|_| {
                        (
                            "consumer-config",
                            "protocol: consumer (KIP-848) refuses session.timeout.ms, heartbeat.interval.ms, \
                             partition.assignment.strategy and group.protocol.type: the broker decides them \
                             (group.consumer.session.timeout.ms, group.consumer.heartbeat.interval.ms, \
                             group.consumer.assignors)",
                        )
                    })
            } else if g.max_poll_interval < g.session_timeout {
                Some((
                    "max-poll-interval",
                    "max-poll-interval must be at least the session timeout (librdkafka refuses less)",
                ))
            } else if g.commit == crate::events::CommitMode::Auto && g.commit_interval.is_zero() {
                Some((
                    "commit-interval",
                    "auto commit needs a commit-interval above 0 (0s means every message, for sync or async)",
                ))
            } else if g.id.trim().is_empty() {
                Some(("id", "the group id is empty"))
            } else {
                None
            };
            if let Some((field, message)) = bad {
                return Err(c.err(
                    line_of_key(text, "group").or(line_of_key(text, "workload")),
                    format!("workload.group.{field}"),
                    message,
                    Some("e.g. group: {members: 3, commit: sync, session-timeout: 10s}"),
                ));
            }
        }
        if let Some(t) = &w.transactions {
            if t.size == 0 || t.size > 10_000 || t.id.trim().is_empty() {
                return Err(c.err(
                    line_of_key(text, "workload"),
                    "workload.transactions",
                    "transactions need a size between 1 and 10000 and a non-empty id",
                    Some("e.g. transactions: {size: 10, abort-every: 5}"),
                ));
            }
            let rpw_hint = Some(
                "e.g. transactions: {size: 10, read-process-write: true, output-topic: orders-out} \
                 with orders-out under topics:",
            );
            let input = w
                .topic
                .clone()
                .or_else(|| exp.topics.first().map(|t| t.name.clone()));
            let bad = match (t.read_process_write, &t.output_topic) {
                (true, None) => Some((
                    "output-topic",
                    "read-process-write needs an output-topic to write to".to_string(),
                )),
                (false, Some(_)) => Some((
                    "output-topic",
                    "output-topic is for read-process-write: true (plain transactions write the workload's topic)"
                        .to_string(),
                )),
                (true, Some(o)) if partition_count(exp, o).is_none() => Some((
                    "output-topic",
                    format!("topic `{o}` is not declared in `topics` (the run creates it fresh from there)"),
                )),
                (true, Some(o)) if input.as_deref() == Some(o.as_str()) => Some((
                    "output-topic",
                    format!("`{o}` is the input (the workload's topic): read-process-write needs another topic to write"),
                )),
                _ => None,
            };
            if let Some((field, message)) = bad {
                // `transactions:` sits under `workload:`, indented.
                let line = text
                    .lines()
                    .position(|l| l.trim_start().starts_with("transactions:"))
                    .map(|i| i + 1);
                return Err(c.err(
                    line.or(line_of_key(text, "workload")),
                    format!("workload.transactions.{field}"),
                    message,
                    rpw_hint,
                ));
            }
        }
        if exp.topics.is_empty() {
            return Err(c.err(
                line_of_key(text, "workload"),
                "workload",
                "a workload needs a topic",
                Some("declare one under topics:"),
            ));
        }
    }
    Ok(())
}

fn check_repeat(c: &Checker, exp: &Experiment, text: &str) -> Result<(), ExperimentError> {
    if exp.repeat == 0 || exp.repeat > 100 {
        return Err(c.err(
            line_of_key(text, "repeat"),
            "repeat",
            "repeat must be between 1 and 100",
            None,
        ));
    }
    Ok(())
}

fn check_axis(
    c: &Checker,
    exp: &Experiment,
    text: &str,
    key: &str,
    values: &[serde_yaml_ng::Value],
) -> Result<(), ExperimentError> {
    let at = line_of_key(text, "matrix");
    if !matrix::PREFIXES.iter().any(|p| key.starts_with(p)) {
        return Err(c.err(
            at,
            format!("matrix.{key}"),
            format!("unknown axis `{key}`"),
            Some("axes start with broker:, topic:, workload: or are cluster:compose"),
        ));
    }
    if values.is_empty() {
        return Err(c.err(
            at,
            format!("matrix.{key}"),
            "an axis needs at least one value",
            None,
        ));
    }
    let mut probe = exp.clone();
    for v in values {
        matrix::apply(&mut probe, key, v)
            .map_err(|e| c.err(at, format!("matrix.{key}"), e.to_string(), None))?;
    }
    Ok(())
}

/// `expect[i]` on its own (for a file whose other parts do not parse).
pub(super) fn expectation(text: &str, file: &Path, i: usize, e: &str) -> Option<ExperimentError> {
    check_expectation(&Checker { text, file }, text, i, e).err()
}

fn check_expectation(c: &Checker, text: &str, i: usize, e: &str) -> Result<(), ExperimentError> {
    let line = line_of_item(text, "expect", i);
    let parsed = parse_expectation(e).map_err(|why| {
        c.err(
            line,
            format!("expect[{i}]"),
            why.to_string(),
            Some("e.g. failover.metadata.max < 25s, verification.lost_acked == 0"),
        )
    })?;
    check_against_result(&parsed)
        .map_err(|m| c.err(line, format!("expect[{i}]"), m.message, Some(&m.hint)))
}

/// A per-variant expectation names axes of the matrix and values they take.
fn check_when(
    c: &Checker,
    exp: &Experiment,
    text: &str,
    i: usize,
    e: &ExpectEntry,
) -> Result<(), ExperimentError> {
    let line = line_of_item(text, "expect", i);
    let axes: Vec<&str> = exp.matrix.keys().map(String::as_str).collect();
    for (key, want) in &e.when {
        let Some(values) = exp.matrix.get(key) else {
            return Err(c.err(
                line,
                format!("expect[{i}].when.{key}"),
                format!("`{key}` is not an axis of the matrix"),
                Some(&if axes.is_empty() {
                    "the experiment has no matrix: `when` picks variants of one; write the expectation alone".to_string()
                } else {
                    format!("the axes: {}", axes.join(", "))
                }),
            ));
        };
        let shown: Vec<String> = values.iter().map(matrix::scalar).collect();
        if !shown.contains(&matrix::scalar(want)) {
            return Err(c.err(
                line,
                format!("expect[{i}].when.{key}"),
                format!(
                    "`{}` is not a value of the axis `{key}`",
                    matrix::scalar(want)
                ),
                Some(&format!("its values: {}", shown.join(", "))),
            ));
        }
    }
    Ok(())
}

/// `heal: <step>` names an earlier fault step that leaves something to revert.
fn check_heal(
    c: &Checker,
    i: usize,
    target: &str,
    names: &HashMap<&str, (usize, Option<FaultKind>)>,
) -> Result<(), ExperimentError> {
    if target != "all" {
        match names.get(target) {
            Some((_, Some(kind))) if kind.needs_revert() => {}
            Some((_, Some(kind))) => {
                return Err(c.step(
                    i,
                    "heal",
                    format!("step `{target}` ({}) leaves nothing to heal", kind.as_str()),
                    None,
                ))
            }
            Some((_, None)) => {
                return Err(c.step(i, "heal", format!("step `{target}` is not a fault"), None))
            }
            None => {
                let known: Vec<&str> = names
                    .iter()
                    .filter(|(_, (_, k))| k.is_some())
                    .map(|(n, _)| *n)
                    .collect();
                return Err(c.step(
                    i,
                    "heal",
                    format!("no earlier fault step is named `{target}`"),
                    Some(&format!(
                        "name the fault step (name: …); earlier fault steps: {}",
                        if known.is_empty() {
                            "none".into()
                        } else {
                            known.join(", ")
                        }
                    )),
                ));
            }
        }
    }
    Ok(())
}

/// A step does exactly one thing.
fn check_one_action(c: &Checker, i: usize, step: &Step) -> Result<(), ExperimentError> {
    let actions = [
        step.fault.is_some(),
        step.heal.is_some(),
        step.wait.is_some(),
        step.wait_for.is_some(),
        step.assert.is_some(),
        step.elect.is_some(),
    ];
    match actions.iter().filter(|a| **a).count() {
        0 => {
            return Err(c.step(
                i,
                "",
                "a step needs one action",
                Some("one of fault, heal, wait, wait-for, assert, elect"),
            ))
        }
        1 => {}
        _ => {
            return Err(c.step(
                i,
                "",
                "a step has exactly one action",
                Some("split it into several steps"),
            ))
        }
    }
    Ok(())
}

fn check_step<'a>(
    c: &Checker,
    exp: &Experiment,
    i: usize,
    step: &'a Step,
    names: &mut HashMap<&'a str, (usize, Option<FaultKind>)>,
) -> Result<(), ExperimentError> {
    if let Some(name) = &step.name {
        if name.trim().is_empty() || name == "all" {
            return Err(c.step(i, "name", format!("`{name}` cannot name a step"), None));
        }
        if names.contains_key(name.as_str()) {
            return Err(c.step(i, "name", format!("step name `{name}` is used twice"), None));
        }
        names.insert(name, (i, step.fault.as_ref().map(|f| f.kind)));
    }
    check_one_action(c, i, step)?;
    if step.timeout.is_some() && step.wait_for.is_none() {
        return Err(c.step(i, "timeout", "timeout belongs to a wait-for step", None));
    }
    if step.on_timeout.is_some() && step.wait_for.is_none() {
        return Err(c.step(
            i,
            "on-timeout",
            "on-timeout belongs to a wait-for step",
            Some("a failed assert always fails the run"),
        ));
    }
    if let Some(f) = &step.fault {
        validate_fault(c, exp, i, f, names)?;
    }
    if let Some(target) = &step.heal {
        check_heal(c, i, target, names)?;
    }
    for (field, cond) in [("wait-for", &step.wait_for), ("assert", &step.assert)] {
        if let Some(p) = cond.as_ref().and_then(condition_partition) {
            check_partition(c, exp, i, field, p)?;
        }
        if matches!(cond, Some(Condition::TransactionsCommitted(_)))
            && exp
                .workload
                .as_ref()
                .is_none_or(|w| w.transactions.is_none())
        {
            return Err(c.step(
                i,
                field,
                "transactions-committed counts the workload's transactions, and it has none",
                Some("add workload.transactions: {size: 10}, or wait for a cluster condition"),
            ));
        }
    }
    if let Some(e) = &step.elect {
        check_partition(c, exp, i, "elect.partition", &e.partition)?;
    }
    Ok(())
}

// Long: one independent check per fault field, in the schema's order
fn validate_fault(
    c: &Checker,
    exp: &Experiment,
    i: usize,
    f: &FaultSpec,
    names: &HashMap<&str, (usize, Option<FaultKind>)>,
) -> Result<(), ExperimentError> {
    for (field, t) in std::iter::once(("fault.target", &f.target))
        .chain(f.peers.iter().map(|p| ("fault.peers", p)))
    {
        if let Some(p) = target_partition(t) {
            check_partition(c, exp, i, field, p)?;
        }
        let innermost = match t {
            Target::NodeOf(inner) => inner.as_ref(),
            t => t,
        };
        if matches!(innermost, Target::NodeOf(_) | Target::Member(_)) && innermost != t {
            return Err(c.step(
                i,
                field,
                format!("`{t}`: node-of takes a service, a role or a partition's broker"),
                Some("e.g. {node-of: {leader-of: orders/0}} or {node-of: kafka-1}"),
            ));
        }
        if let Target::SameAs(step) = innermost {
            if !names
                .get(step.as_str())
                .is_some_and(|(j, k)| *j < i && k.is_some())
            {
                return Err(c.step(
                    i,
                    field,
                    format!("same-as `{step}`: no earlier fault step has that name"),
                    None,
                ));
            }
        }
    }
    let group = exp.workload.as_ref().and_then(|w| w.group.as_ref());
    match (&f.target, f.kind.is_member_fault()) {
        (Target::Member(m), true) => match group {
            None => {
                return Err(c.step(
                    i,
                    "fault.target",
                    format!("{} needs a consumer group in the workload", f.kind.as_str()),
                    Some("e.g. workload: {group: {members: 3}}"),
                ))
            }
            Some(g) if *m >= g.members => {
                return Err(c.step(
                    i,
                    "fault.target",
                    format!("member {m}: the group has {} members (0-based)", g.members),
                    None,
                ))
            }
            Some(_) => {}
        },
        (_, true) => {
            return Err(c.step(
                i,
                "fault.target",
                format!("{} targets a group member", f.kind.as_str()),
                Some("e.g. target: {member: 0}"),
            ))
        }
        (Target::Member(_), false) => {
            return Err(c.step(
                i,
                "fault.kind",
                format!(
                    "a member target takes member-crash, member-leave or member-pause, not {}",
                    f.kind.as_str()
                ),
                None,
            ))
        }
        _ => {}
    }
    if let Target::CoordinatorOf(name) | Target::TransactionCoordinatorOf(name) = &f.target {
        if name.trim().is_empty() {
            return Err(c.step(
                i,
                "fault.target",
                "the coordinator target needs a group or transactional id",
                Some("e.g. target: {coordinator-of: chaos-group}"),
            ));
        }
    }
    if f.peers.iter().any(|p| matches!(p, Target::Member(_))) {
        return Err(c.step(
            i,
            "fault.peers",
            "peers are brokers, not group members",
            None,
        ));
    }
    let partition = f.kind == FaultKind::Partition;
    if f.kind.per_container() != FaultKind::Partition
        && (!f.peers.is_empty() || f.direction != Direction::Both)
    {
        return Err(c.step(
            i,
            "fault",
            "peers and direction belong to partition and node-partition faults",
            None,
        ));
    }
    if partition && f.peers.is_empty() {
        return Err(c.step(
            i,
            "fault.peers",
            "a partition fault needs peers (the other side)",
            Some("e.g. peers: [zookeeper-1]"),
        ));
    }
    check_fault_parameters(c, i, f)
}

/// Each fault kind's own parameters, and no parameter of another kind.
fn check_fault_parameters(c: &Checker, i: usize, f: &FaultSpec) -> Result<(), ExperimentError> {
    match f.kind {
        FaultKind::Bandwidth => match &f.rate {
            Some(r) if is_tc_rate(r) => {}
            Some(r) => {
                return Err(c.step(
                    i,
                    "fault.rate",
                    format!("`{r}` is not a tc rate"),
                    Some("e.g. 1mbit, 500kbit"),
                ))
            }
            None => {
                return Err(c.step(
                    i,
                    "fault.rate",
                    "a bandwidth fault needs a rate",
                    Some("e.g. rate: 1mbit"),
                ))
            }
        },
        FaultKind::Delay if f.delay.is_none() => {
            return Err(c.step(
                i,
                "fault.delay",
                "a delay fault needs delay",
                Some("e.g. delay: 100ms"),
            ))
        }
        FaultKind::Loss if !f.percent.is_some_and(|p| (0.0..=100.0).contains(&p)) => {
            return Err(c.step(
                i,
                "fault.percent",
                "a loss fault needs percent between 0 and 100",
                None,
            ))
        }
        _ => {}
    }
    if f.rate.is_some() && f.kind != FaultKind::Bandwidth
        || f.delay.is_some() && f.kind != FaultKind::Delay
        || f.percent.is_some() && f.kind != FaultKind::Loss
    {
        return Err(c.step(
            i,
            "fault",
            format!(
                "rate, delay and percent belong to bandwidth, delay and loss faults, not {}",
                f.kind.as_str()
            ),
            None,
        ));
    }
    Ok(())
}

/// Services named in targets, peers and per-service environment exist in the compose file.
/// The first problem; [`against_compose_all`] gives every one.
pub fn against_compose(
    exp: &Experiment,
    file: &Path,
    compose: &ComposeProject,
) -> Result<(), ExperimentError> {
    match against_compose_all(exp, file, compose).into_iter().next() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Every service named in targets, peers or per-service environment that the compose file
/// lacks, one error each, in file order.
pub fn against_compose_all(
    exp: &Experiment,
    file: &Path,
    compose: &ComposeProject,
) -> Vec<ExperimentError> {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let c = Checker { text: &text, file };
    let known: Vec<&str> = compose.services.iter().map(|s| s.name.as_str()).collect();
    let hint = format!(
        "services in {}: {}",
        compose.file.display(),
        known.join(", ")
    );
    let mut errors = Vec::new();
    for (i, step) in exp.steps.iter().enumerate() {
        let Some(f) = &step.fault else { continue };
        for (field, t) in std::iter::once(("fault.target", &f.target))
            .chain(f.peers.iter().map(|p| ("fault.peers", p)))
        {
            if let Target::Service(name) = t {
                if !known.contains(&name.as_str()) {
                    errors.push(c.step(i, field, format!("`{name}` is neither a service of the compose file nor a role"), Some(&format!("{hint}; roles: controller, random, all-but-one, all-brokers, {{leader-of: t/p}}, {{followers-of: t/p}}, {{follower-of: t/p}}, {{isr-of: t/p}}"))));
                }
            }
        }
    }
    errors.extend(cluster_refusals(&c, exp, compose));
    for service in exp.cluster.environment.keys() {
        if !known.contains(&service.as_str()) {
            errors.push(c.err(
                line_of_key(&text, "cluster"),
                format!("cluster.environment.{service}"),
                format!("no service `{service}` in the compose file"),
                Some(&hint),
            ));
        }
    }
    errors
}

/// What Kafka would refuse (or never complete) on the compose file's brokers: a replication
/// factor above the broker count, an assignment naming a broker the file lacks, a
/// transactional workload whose transaction log cannot be created.
fn cluster_refusals(
    c: &Checker,
    exp: &Experiment,
    compose: &ComposeProject,
) -> Vec<ExperimentError> {
    use crate::compose::convention::{broker_id, common_setting, Convention};
    let brokers: Vec<i32> = compose.services.iter().filter_map(broker_id).collect();
    let mut errors = Vec::new();
    if brokers.is_empty() {
        return errors; // no broker found: said where the cluster is started or attached
    }
    let n = brokers.len();
    let file = compose.file.display();
    for (i, t) in exp.topics.iter().enumerate() {
        let at = line_of_item(c.text, "topics", i);
        if t.assignment.is_empty() && t.replication_factor as usize > n {
            errors.push(c.err(
                at,
                format!("topics[{i}].replication-factor"),
                format!(
                    "replication factor {} but {file} has {n} broker(s): Kafka refuses the topic \
                     (INVALID_REPLICATION_FACTOR)",
                    t.replication_factor
                ),
                Some(&format!("at most {n}")),
            ));
        }
        if let Some(id) = t
            .assignment
            .iter()
            .flatten()
            .find(|id| !brokers.contains(id))
        {
            errors.push(c.err(
                at,
                format!("topics[{i}].assignment"),
                format!("broker {id} is not in {file} (its brokers: {brokers:?})"),
                None,
            ));
        }
    }
    if exp
        .workload
        .as_ref()
        .is_some_and(|w| w.transactions.is_some())
    {
        // The experiment's own setting, else the file's (every broker alike), else Kafka's 3.
        let property = "transaction.state.log.replication.factor";
        let rf: usize = exp
            .cluster
            .broker_environment
            .get(&Convention::Confluent.env_name(property))
            .cloned()
            .or_else(|| {
                let brokers: Vec<&crate::compose::Service> = compose
                    .services
                    .iter()
                    .filter(|s| broker_id(s).is_some())
                    .collect();
                common_setting(&brokers, property)
            })
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(3);
        if rf > n {
            errors.push(c.err(
                line_of_key(c.text, "workload"),
                "workload.transactions",
                format!(
                    "{property} is {rf} but {file} has {n} broker(s): Kafka cannot create \
                     __transaction_state, and init_transactions waits forever"
                ),
                Some(&format!("set {property}: {n} under cluster.broker-config")),
            ));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use std::path::Path;

    const BASE: &str =
        "name: t\ncluster: {compose: c.yml}\ntopics:\n  - {name: orders, partitions: 2}\n";

    fn err(steps: &str) -> String {
        parse(&format!("{BASE}{steps}"), Path::new("e.yaml"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn read_process_write_needs_a_declared_output_topic_other_than_its_input() {
        let base = "name: t\ncluster: {compose: c.yml}\ntopics:\n  - {name: orders, partitions: 2}\n  - {name: out, partitions: 2}\n";
        let parse_with = |tx: &str| {
            parse(
                &format!("{base}workload:\n  transactions: {tx}\n"),
                Path::new("e.yaml"),
            )
        };
        let ok = parse_with("{size: 10, read-process-write: true, output-topic: out}").unwrap();
        let t = ok.workload.unwrap().transactions.unwrap();
        assert!(t.read_process_write);
        assert_eq!(t.written_topic("orders"), "out");
        let e = parse_with("{read-process-write: true}")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(
                "workload.transactions.output-topic: read-process-write needs an output-topic"
            ),
            "{e}"
        );
        let e = parse_with("{output-topic: out}").unwrap_err().to_string();
        assert!(
            e.contains("output-topic is for read-process-write: true"),
            "{e}"
        );
        let e = parse_with("{read-process-write: true, output-topic: nope}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("topic `nope` is not declared"), "{e}");
        let e = parse_with("{read-process-write: true, output-topic: orders}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("is the input"), "{e}");
        let e = parse_with("{read-process-write: yes please}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("read-process-write"), "{e}");
        let e = parse_with("{read-proces-write: true}")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field"), "{e}");
    }

    #[test]
    fn a_good_experiment_passes() {
        let text = format!("{BASE}steps:\n  - name: k\n    fault: {{kind: kill, target: {{leader-of: orders/1}}}}\n  - wait-for: {{leader-changed: orders/1}}\n    timeout: 10s\n  - heal: k\nexpect:\n  - failover.metadata.max < 25s\n");
        parse(&text, Path::new("e.yaml")).unwrap();
    }

    #[test]
    fn a_cluster_is_started_from_compose_or_attached_never_both_or_neither() {
        let parse_err = |text: &str| {
            parse(text, Path::new("e.yaml"))
                .map(|_| String::new())
                .unwrap_or_else(|e| e.to_string())
        };
        let ok = "name: t\ncluster:\n  attach: {project: shop}\ntopics: [{name: orders}]\nmatrix:\n  topic:min.insync.replicas: [1, 2]\n";
        assert_eq!(parse_err(ok), "");
        let e = parse_err("name: t\ncluster: {reuse: true}\n");
        assert!(
            e.starts_with("e.yaml:2: cluster: the cluster needs `compose:`"),
            "{e}"
        );
        let e = parse_err("name: t\ncluster:\n  compose: c.yml\n  attach: {project: shop}\n");
        assert!(
            e.starts_with("e.yaml:4: cluster.attach: `compose` and `attach` exclude each other"),
            "{e}"
        );
        let e = parse_err(
            "name: t\ncluster:\n  attach: {project: shop}\n  broker-environment: {KAFKA_X: '1'}\n",
        );
        assert!(
            e.starts_with("e.yaml:4: cluster.broker-environment: `broker-environment` configures containers this tool creates"),
            "{e}"
        );
        let e = parse_err(
            "name: t\ncluster:\n  attach: {project: shop}\nmatrix:\n  broker:replica.lag.time.max.ms: [5000]\n",
        );
        assert!(
            e.contains("matrix.broker:replica.lag.time.max.ms: the axis")
                && e.contains("hint: topic: and workload: axes work on it"),
            "{e}"
        );
        let e = parse_err("name: t\ncluster:\n  attach: {project: ' '}\n");
        assert!(
            e.contains("cluster.attach.project: the compose project name is empty"),
            "{e}"
        );
        let e = parse_err("name: t\ncluster:\n  attach: {projekt: shop}\n");
        assert!(e.contains("unknown field `projekt`"), "{e}");
    }

    #[test]
    fn a_kubernetes_cluster_excludes_compose_and_what_configures_containers() {
        let parse_err = |text: &str| {
            parse(text, Path::new("e.yaml"))
                .map(|_| String::new())
                .unwrap_or_else(|e| e.to_string())
        };
        let ok = "name: t\ncluster:\n  kubernetes: {namespace: chaos, strimzi-cluster: seed}\n";
        assert_eq!(parse_err(ok), "");
        let e = parse_err(
            "name: t\ncluster:\n  compose: c.yml\n  kubernetes: {namespace: chaos, strimzi-cluster: seed}\n",
        );
        assert!(
            e.starts_with(
                "e.yaml:4: cluster.kubernetes: `compose` and `kubernetes` exclude each other"
            ),
            "{e}"
        );
        let e =
            parse_err("name: t\ncluster:\n  kubernetes: {namespace: chaos, strimzi-cluster: ''}\n");
        assert!(
            e.contains("cluster.kubernetes.strimzi-cluster: `strimzi-cluster` is empty"),
            "{e}"
        );
        let e = parse_err(
            "name: t\ncluster:\n  kubernetes: {namespace: chaos, strimzi-cluster: seed}\n  broker-config: {a.b: 1}\n",
        );
        assert!(
            e.contains("cluster.broker-config: `broker-config` configures containers this tool creates; a Kubernetes cluster's pods exist already"),
            "{e}"
        );
        let e = parse_err(
            "name: t\ncluster:\n  kubernetes: {namespace: chaos, strimzi-cluster: seed}\nsteps:\n  - fault: {kind: disconnect, target: {service: seed-kafka-0}}\n",
        );
        assert!(
            e.contains("`disconnect` is not available on Kubernetes")
                && e.contains("hint: use `partition`"),
            "{e}"
        );
        let e = parse_err("name: t\ncluster:\n  kubernetes: {namespace: chaos}\n");
        assert!(e.contains("strimzi-cluster"), "{e}");
    }

    #[test]
    fn client_security_errors_name_file_line_field_and_hint() {
        let parse_err = |text: &str| {
            parse(text, Path::new("e.yaml"))
                .map(|_| String::new())
                .unwrap_or_else(|e| e.to_string())
        };
        let ok = "name: t\ncluster:\n  compose: c.yml\n  client-security:\n    protocol: sasl-ssl\n    sasl: {mechanism: scram-sha-512, username: alice, password-env: KAFKA_PW}\n    tls: {ca-file: ca.pem}\n";
        assert_eq!(parse_err(ok), "");
        let e = parse_err(
            "name: t\ncluster:\n  compose: c.yml\n  client-security:\n    protocol: sasl-ssl\n",
        );
        assert!(
            e.starts_with(
                "e.yaml:4: cluster.client-security.sasl: protocol sasl-ssl needs SASL settings"
            ) && e.contains("hint: e.g. sasl: {mechanism: scram-sha-512"),
            "{e}"
        );
        let e = parse_err("name: t\ncluster:\n  compose: c.yml\n  client-security:\n    protocol: sasl-plaintext\n    sasl:\n      mechanism: plain\n      username: a\n      password-env: not a name\n");
        assert!(
            e.starts_with("e.yaml:9: cluster.client-security.sasl.password-env: `not a name`"),
            "{e}"
        );
        // The password itself has no place in the file.
        let e = parse_err("name: t\ncluster:\n  compose: c.yml\n  client-security:\n    protocol: sasl-plaintext\n    sasl:\n      mechanism: plain\n      username: a\n      password: hunter2\n");
        assert!(
            e.contains("e.yaml:9") && e.contains("unknown field `password`"),
            "{e}"
        );
        let e = parse_err("name: t\ncluster:\n  compose: c.yml\n  client-security: {protocol: sasl-ssl, sasl: {mechanism: scram-sha-1, username: a}}\n");
        assert!(e.contains("unknown variant `scram-sha-1`"), "{e}");
    }

    #[test]
    fn steps_are_checked_with_their_line() {
        let e = err("steps:\n  - wait: 1s\n  - heal: nope\n");
        assert!(
            e.starts_with("e.yaml:7: steps[1].heal: no earlier fault step is named `nope`"),
            "{e}"
        );
        let e = err("steps:\n  - wait: 1s\n    heal: all\n");
        assert!(e.contains("exactly one action"), "{e}");
        let e = err("steps:\n  - fault: {kind: kill, target: {leader-of: orders/5}}\n");
        assert!(
            e.contains("orders/5: topic orders has 2 partition(s)"),
            "{e}"
        );
        let e = err("steps:\n  - fault: {kind: partition, target: kafka-1}\n");
        assert!(e.contains("needs peers"), "{e}");
        let e = err("steps:\n  - fault: {kind: bandwidth, target: kafka-1, rate: fast}\n");
        assert!(e.contains("not a tc rate"), "{e}");
        let e = err("steps:\n  - wait: 1s\n    timeout: 3s\n");
        assert!(e.contains("timeout belongs to a wait-for"), "{e}");
    }

    #[test]
    fn every_problem_is_found_and_the_first_is_the_one_parse_reports() {
        let text = format!(
            "{BASE}steps:\n  - name: k\n    wait: 1s\n    heal: all\n  - heal: nope\n  - fault: {{kind: kill, target: {{leader-of: orders/5}}}}\n  - heal: k\nexpect:\n  - failover.metadata.max <\n"
        );
        let exp: super::super::Experiment = serde_yaml_ng::from_str(&text).unwrap();
        let all: Vec<String> = super::statically_all(&exp, &text, Path::new("e.yaml"))
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(all.len(), 5, "{all:#?}");
        assert!(all[0].contains("expect[0]"), "{}", all[0]);
        assert!(
            all[1].contains("steps[0]: a step has exactly one action"),
            "{}",
            all[1]
        );
        assert!(
            all[2].contains("steps[1].heal: no earlier fault step is named `nope`"),
            "{}",
            all[2]
        );
        assert!(all[3].contains("orders/5"), "{}", all[3]);
        // steps[0] is named k although it has another problem; it is no fault, so:
        assert!(
            all[4].contains("steps[3].heal: step `k` is not a fault"),
            "{}",
            all[4]
        );
        assert_eq!(
            parse(&text, Path::new("e.yaml")).unwrap_err().to_string(),
            all[0]
        );
    }

    #[test]
    fn broker_config_takes_kafka_names_and_broker_environment_variables() {
        let parse_err = |text: &str| {
            parse(text, Path::new("e.yaml"))
                .map(|_| String::new())
                .unwrap_or_else(|e| e.to_string())
        };
        let e = parse_err("name: t\ncluster:\n  compose: c.yml\n  broker-environment:\n    KAFKA_X: '1'\n    zookeeper.session.timeout.ms: \"6000\"\n");
        assert!(
            e.starts_with("e.yaml:6: cluster.broker-environment.zookeeper.session.timeout.ms: `zookeeper.session.timeout.ms` is a Kafka property name, not an environment variable")
                && e.contains("hint: write KAFKA_ZOOKEEPER_SESSION_TIMEOUT_MS: … under broker-environment, or zookeeper.session.timeout.ms: … under cluster.broker-config"),
            "{e}"
        );
        // Flow style: the line of the section's map.
        let e = parse_err("name: t\ncluster:\n  compose: c.yml\n  broker-environment: {zookeeper.session.timeout.ms: \"6000\"}\n");
        assert!(
            e.starts_with("e.yaml:4: cluster.broker-environment.zookeeper"),
            "{e}"
        );
        let e = parse_err("name: t\ncluster:\n  compose: c.yml\n  broker-config:\n    KAFKA_LOG_RETENTION_MS: 1\n");
        assert!(
            e.starts_with("e.yaml:5: cluster.broker-config.KAFKA_LOG_RETENTION_MS: `KAFKA_LOG_RETENTION_MS` is not a Kafka property name")
                && e.contains("e.g. log.retention.ms"),
            "{e}"
        );
        let e = parse_err("name: t\ncluster:\n  compose: c.yml\n  broker-environment: {KAFKA_ZOOKEEPER_SESSION_TIMEOUT_MS: '6000'}\n  broker-config:\n    zookeeper.session.timeout.ms: 12000\n");
        assert!(
            e.starts_with("e.yaml:6: cluster.broker-config.zookeeper.session.timeout.ms: `zookeeper.session.timeout.ms` is KAFKA_ZOOKEEPER_SESSION_TIMEOUT_MS, which broker-environment sets too"),
            "{e}"
        );
        let e = parse_err("name: t\ncluster:\n  attach: {project: p}\n  broker-config: {a.b: 1}\n");
        assert!(
            e.contains("cluster.broker-config: `broker-config` configures containers"),
            "{e}"
        );
        // Translated into the images' variables, merged with broker-environment.
        let exp = parse(
            "name: t\ncluster:\n  compose: c.yml\n  broker-environment: {KAFKA_X: '1'}\n  broker-config:\n    zookeeper.session.timeout.ms: 6000\n    unclean.leader.election.enable: true\n    confluent.support_metrics-enable: false\n",
            Path::new("e.yaml"),
        )
        .unwrap();
        let env: Vec<(&str, &str)> = exp
            .cluster
            .broker_environment
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            env,
            [
                ("KAFKA_X", "1"),
                ("KAFKA_ZOOKEEPER_SESSION_TIMEOUT_MS", "6000"),
                ("KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE", "true"),
                ("KAFKA_CONFLUENT_SUPPORT__METRICS___ENABLE", "false"),
            ]
        );
        // A broker: axis overrides it per variant.
        let exp = parse(
            "name: t\ncluster:\n  compose: c.yml\n  broker-config: {replica.lag.time.max.ms: 30000}\nmatrix:\n  broker:replica.lag.time.max.ms: [5000, 10000]\n",
            Path::new("e.yaml"),
        )
        .unwrap();
        let v = super::super::matrix::expand(&exp);
        assert_eq!(
            exp.cluster.broker_environment["KAFKA_REPLICA_LAG_TIME_MAX_MS"],
            "30000"
        );
        assert_eq!(
            v[0].experiment.cluster.broker_environment["KAFKA_REPLICA_LAG_TIME_MAX_MS"],
            "5000"
        );
        assert_eq!(
            v[1].experiment.cluster.broker_environment["KAFKA_REPLICA_LAG_TIME_MAX_MS"],
            "10000"
        );
    }

    #[test]
    fn a_per_variant_expectation_names_axes_and_values_of_the_matrix() {
        let base = "name: t\ncluster: {compose: c.yml}\ntopics: [{name: orders}]\nmatrix:\n  topic:unclean.leader.election.enable: [false, true]\nexpect:\n  - verification.complete == true\n";
        let with = |entry: &str| {
            parse(&format!("{base}  - {entry}\n"), Path::new("e.yaml"))
                .map(|_| String::new())
                .unwrap_or_else(|e| e.to_string())
        };
        assert_eq!(
            with("{when: {topic:unclean.leader.election.enable: false}, that: verification.lost_acked == 0}"),
            ""
        );
        let e = with("{when: {broker:unclean.leader.election.enable: false}, that: verification.lost_acked == 0}");
        assert!(
            e.starts_with("e.yaml:8: expect[1].when.broker:unclean.leader.election.enable: `broker:unclean.leader.election.enable` is not an axis of the matrix")
                && e.contains("hint: the axes: topic:unclean.leader.election.enable"),
            "{e}"
        );
        let e = with("{when: {topic:unclean.leader.election.enable: maybe}, that: verification.lost_acked == 0}");
        assert!(
            e.contains("expect[1].when.topic:unclean.leader.election.enable: `maybe` is not a value of the axis")
                && e.contains("hint: its values: false, true"),
            "{e}"
        );
        // The expectation itself is checked as any other.
        let e = with(
            "{when: {topic:unclean.leader.election.enable: true}, that: verification.lost > 0}",
        );
        assert!(
            e.contains("e.yaml:8: expect[1]: `verification.lost > 0`"),
            "{e}"
        );
        let e = with("{when: {topic:unclean.leader.election.enable: true}, than: x}");
        assert!(e.contains("unknown field `than`"), "{e}");
        let e = parse(
            "name: t\ncluster: {compose: c.yml}\nexpect:\n  - {when: {topic:x: 1}, that: verification.lost_acked == 0}\n",
            Path::new("e.yaml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("the experiment has no matrix"), "{e}");
    }

    #[test]
    fn flow_style_entries_keep_their_lines() {
        let e = err("steps: [{wait: 1s}, {heal: nope}]\n");
        assert!(
            e.starts_with("e.yaml:5: steps[1].heal: no earlier fault step is named `nope`"),
            "{e}"
        );
        let e = err(
            "steps:\n  - wait: 1s\nexpect: [verification.lost_acked == 0,\n  failover.max < 10s]\n",
        );
        assert!(
            e.starts_with("e.yaml:8: expect[1]: `failover.max < 10s`"),
            "{e}"
        );
    }

    #[test]
    fn serde_errors_carry_line_column_and_path() {
        let e = parse(
            "name: t\ncluster: {compose: c.yml}\nsteps:\n  - wait: soon\n",
            Path::new("e.yaml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("e.yaml:4:"), "{e}");
        assert!(e.contains("steps[0].wait"), "{e}");
        let e = parse(
            "name: t\ncluster: {compose: c.yml}\ntopic: []\n",
            Path::new("e.yaml"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("unknown field `topic`") && e.contains("hint"),
            "{e}"
        );
        let e = parse("", Path::new("e.yaml")).unwrap_err().to_string();
        assert!(e.contains("empty experiment file"), "{e}");
    }
}
