//! Matrix expansion: axes over broker, topic and workload settings or the compose file; the
//! run covers their product, in key order.

use super::schema::{ConfigValue, Experiment};
use serde_yaml_ng::Value;

#[derive(Debug, Clone)]
pub struct Variant {
    /// e.g. "unclean.leader.election.enable=true, acks=1"; empty without a matrix.
    pub name: String,
    pub experiment: Experiment,
}

pub const PREFIXES: [&str; 4] = ["broker:", "topic:", "workload:", "cluster:compose"];

/// `unclean.leader.election.enable` → `KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE` (the inverse of
/// the cp-kafka rule: `_` → `__`, `-` → `___`, `.` → `_`).
pub fn property_to_env(prop: &str) -> String {
    crate::compose::convention::Convention::Confluent.env_name(prop)
}

pub use super::schema::scalar;

/// What is wrong with a matrix axis.
#[derive(Debug, thiserror::Error)]
pub enum AxisError {
    #[error("matrix axis {key}: the experiment has no workload")]
    NoWorkload { key: String },
    #[error("matrix axis {key}: workload.{field} is not a map")]
    NotAMap { key: String, field: String },
    #[error("matrix axis {key}: {source}")]
    Value {
        key: String,
        #[source]
        source: serde_yaml_ng::Error,
    },
    #[error("matrix axis `{key}` has no known prefix ({})", PREFIXES.join(", "))]
    UnknownPrefix { key: String },
}

/// Applies one axis value. Errors say what is wrong with the axis.
pub fn apply(exp: &mut Experiment, key: &str, value: &Value) -> Result<(), AxisError> {
    let value_error = |source| AxisError::Value {
        key: key.to_string(),
        source,
    };
    if let Some(prop) = key.strip_prefix("broker:") {
        exp.cluster
            .broker_environment
            .insert(property_to_env(prop), scalar(value));
    } else if let Some(config) = key.strip_prefix("topic:") {
        for t in &mut exp.topics {
            t.config
                .insert(config.to_string(), ConfigValue(scalar(value)));
        }
    } else if let Some(field) = key.strip_prefix("workload:") {
        let workload = exp.workload.as_ref().ok_or_else(|| AxisError::NoWorkload {
            key: key.to_string(),
        })?;
        let not_a_map = |field: &str| AxisError::NotAMap {
            key: key.to_string(),
            field: field.to_string(),
        };
        let mut map = match serde_yaml_ng::to_value(workload).map_err(value_error)? {
            Value::Mapping(m) => m,
            _ => return Err(not_a_map("")),
        };
        // `workload:group.commit`: one level down (a map created when absent).
        match field.split_once('.') {
            Some((outer, inner)) => {
                let entry = map
                    .entry(Value::String(outer.to_string()))
                    .or_insert_with(|| Value::Mapping(Default::default()));
                if entry.is_null() {
                    *entry = Value::Mapping(Default::default());
                }
                let Value::Mapping(m) = entry else {
                    return Err(not_a_map(outer));
                };
                m.insert(Value::String(inner.to_string()), value.clone());
            }
            None => {
                map.insert(Value::String(field.to_string()), value.clone());
            }
        }
        exp.workload = Some(serde_yaml_ng::from_value(Value::Mapping(map)).map_err(value_error)?);
    } else if key == "cluster:compose" {
        exp.cluster.compose = Some(scalar(value).into());
    } else {
        return Err(AxisError::UnknownPrefix {
            key: key.to_string(),
        });
    }
    Ok(())
}

/// The variants of the matrix, in key order; each keeps the expectations that apply to it
/// (every plain one, and those whose `when` names its axis values).
pub fn expand(exp: &Experiment) -> Vec<Variant> {
    let mut variants = vec![(
        Vec::<(String, String)>::new(),
        Variant {
            name: String::new(),
            experiment: Experiment {
                matrix: Default::default(),
                ..exp.clone()
            },
        },
    )];
    for (key, values) in &exp.matrix {
        let label = key.split_once(':').map(|(_, k)| k).unwrap_or(key);
        let mut next = Vec::new();
        for (axes, v) in &variants {
            for value in values {
                let mut e = v.experiment.clone();
                if apply(&mut e, key, value).is_err() {
                    continue; // validation reports it
                }
                let part = format!("{label}={}", scalar(value));
                let name = if v.name.is_empty() {
                    part
                } else {
                    format!("{}, {part}", v.name)
                };
                let mut axes = axes.clone();
                axes.push((key.clone(), scalar(value)));
                next.push((
                    axes,
                    Variant {
                        name,
                        experiment: e,
                    },
                ));
            }
        }
        variants = next;
    }
    variants
        .into_iter()
        .map(|(axes, mut v)| {
            v.experiment.expect.retain(|e| e.applies_to(&axes));
            v
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_map_back_to_cp_variables() {
        assert_eq!(
            property_to_env("unclean.leader.election.enable"),
            "KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE"
        );
        assert_eq!(
            property_to_env("confluent.support_metrics-enable"),
            "KAFKA_CONFLUENT_SUPPORT__METRICS___ENABLE"
        );
    }

    #[test]
    fn the_product_of_axes_in_key_order() {
        let text = "name: m\ncluster: {compose: c.yml}\ntopics: [{name: t}]\nworkload: {acks: all}\nmatrix:\n  topic:unclean.leader.election.enable: [false, true]\n  workload:acks: [\"1\", all]\n  broker:replica.lag.time.max.ms: [10000]\n";
        let exp: Experiment = serde_yaml_ng::from_str(text).unwrap();
        let v = expand(&exp);
        assert_eq!(v.len(), 4);
        assert_eq!(
            v[0].name,
            "unclean.leader.election.enable=false, acks=1, replica.lag.time.max.ms=10000"
        );
        assert_eq!(
            v[3].experiment.topics[0].config["unclean.leader.election.enable"].0,
            "true"
        );
        assert_eq!(
            v[3].experiment.workload.as_ref().unwrap().acks.as_kafka(),
            "all"
        );
        assert_eq!(
            v[0].experiment.workload.as_ref().unwrap().acks.as_kafka(),
            "1"
        );
        assert_eq!(
            v[0].experiment.cluster.broker_environment["KAFKA_REPLICA_LAG_TIME_MAX_MS"],
            "10000"
        );
        assert!(v[0].experiment.matrix.is_empty());
    }

    #[test]
    fn each_variant_keeps_the_expectations_that_apply_to_it() {
        let text = "name: m\ncluster: {compose: c.yml}\ntopics: [{name: t}]\nworkload: {acks: all}\nmatrix:\n  topic:unclean.leader.election.enable: [false, true]\n  workload:acks: [\"1\", all]\nexpect:\n  - verification.complete == true\n  - {when: {topic:unclean.leader.election.enable: false}, that: verification.lost_acked == 0}\n  - when: {topic:unclean.leader.election.enable: true, workload:acks: '1'}\n    that: verification.lost_acked > 0\n";
        let exp: Experiment = serde_yaml_ng::from_str(text).unwrap();
        let expects: Vec<Vec<String>> = expand(&exp)
            .iter()
            .map(|v| v.experiment.expect.iter().map(|e| e.that.clone()).collect())
            .collect();
        let complete = "verification.complete == true".to_string();
        let none_lost = "verification.lost_acked == 0".to_string();
        let lost = "verification.lost_acked > 0".to_string();
        assert_eq!(
            expects,
            [
                vec![complete.clone(), none_lost.clone()],
                vec![complete.clone(), none_lost],
                vec![complete.clone(), lost],
                vec![complete],
            ]
        );
        assert_eq!(
            exp.expect[2].to_string(),
            "verification.lost_acked > 0 (when topic:unclean.leader.election.enable=true, workload:acks=1)"
        );
    }

    #[test]
    fn the_unclean_experiment_bounds_acked_loss_only_without_unclean_election() {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("experiments/unclean-election.yaml");
        let exp = crate::experiment::load(&file).unwrap();
        let v = expand(&exp);
        let expects = |i: usize| -> Vec<&str> {
            v[i].experiment
                .expect
                .iter()
                .map(|e| e.that.as_str())
                .collect()
        };
        assert_eq!(v[0].name, "unclean.leader.election.enable=false");
        assert!(expects(0).contains(&"verification.lost_acked == 0"));
        assert!(expects(0).contains(&"verification.complete == true"));
        assert_eq!(v[1].name, "unclean.leader.election.enable=true");
        assert!(!expects(1).contains(&"verification.lost_acked == 0"));
        assert!(expects(1).contains(&"verification.complete == true"));
    }

    #[test]
    fn no_matrix_is_one_unnamed_variant() {
        let exp: Experiment =
            serde_yaml_ng::from_str("name: m\ncluster: {compose: c.yml}\n").unwrap();
        let v = expand(&exp);
        assert_eq!(v.len(), 1);
        assert!(v[0].name.is_empty());
    }
}
