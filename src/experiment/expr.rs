//! Expectations: `<path> <op> <value>`, e.g. `failover.metadata_ms.max < 25s`,
//! `verification.lost_acked == 0`, `partitions[orders/0].offline_ms > 0`,
//! `partitions[*].failover_ms < 10s` (the largest). Paths are into result.json; times there
//! are milliseconds, so a duration value is compared in ms. No data is never a pass.

use crate::model::ExpectationResult;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    Number(f64),
    /// A duration, in ms.
    Millis(f64),
    Bool(bool),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    pub text: String,
    pub path: Vec<String>,
    pub op: Op,
    pub value: Expected,
}

/// Readable aliases for result.json paths.
fn canonical(path: &str) -> String {
    let mut p = path.to_string();
    for (alias, real) in [
        ("failover.metadata.", "failover.metadata_ms."),
        ("failover.election.", "failover.election_ms."),
        ("offline.total", "offline.total_ms"),
        ("offline.max", "offline.max_ms"),
        ("workload.latency.", "workload.latency_ms."),
    ] {
        if p.starts_with(alias) && !p.starts_with(real) {
            p = format!("{real}{}", &p[alias.len()..]);
        }
    }
    if p == "offline.total_ms_ms" {
        p = "offline.total_ms".into();
    }
    p
}

/// Why an expectation's text is not `<path> <op> <value>`.
#[derive(Debug, thiserror::Error)]
pub enum ExpectationSyntax {
    #[error("`{text}`: no comparison (use <, <=, >, >=, == or !=)")]
    NoComparison { text: String },
    #[error("`{text}`: expected `<path> <op> <value>`, e.g. `verification.lost_acked == 0`")]
    Incomplete { text: String },
    #[error("`{text}`: `{path}` is not a result path (e.g. failover.metadata_ms.max)")]
    NotAPath { text: String, path: String },
    #[error(
        "`{text}`: `{value}` is neither a number, a duration (500ms, 30s) nor true/false: {source}"
    )]
    NotAValue {
        text: String,
        value: String,
        #[source]
        source: humantime::DurationError,
    },
    #[error("`{text}`: true/false compare with == or != only")]
    OrderedBool { text: String },
}

pub fn parse_expectation(s: &str) -> Result<Expectation, ExpectationSyntax> {
    let whole = || s.to_string();
    const OPS: [(&str, Op); 6] = [
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<", Op::Lt),
        (">", Op::Gt),
    ];
    let (i, text, op) = OPS
        .iter()
        .filter_map(|(t, op)| s.find(t).map(|i| (i, *t, *op)))
        .min_by_key(|(i, t, _)| (*i, std::cmp::Reverse(t.len())))
        .ok_or_else(|| ExpectationSyntax::NoComparison { text: whole() })?;
    let path = s[..i].trim();
    let value = s[i + text.len()..].trim();
    if path.is_empty() || value.is_empty() {
        return Err(ExpectationSyntax::Incomplete { text: whole() });
    }
    if !path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._[]/*-".contains(c))
    {
        return Err(ExpectationSyntax::NotAPath {
            text: whole(),
            path: path.to_string(),
        });
    }
    let value = match value {
        "true" => Expected::Bool(true),
        "false" => Expected::Bool(false),
        v => match v.parse::<f64>() {
            Ok(n) => Expected::Number(n),
            Err(_) => Expected::Millis(
                humantime::parse_duration(v)
                    .map_err(|source| ExpectationSyntax::NotAValue {
                        text: whole(),
                        value: v.to_string(),
                        source,
                    })?
                    .as_secs_f64()
                    * 1000.0,
            ),
        },
    };
    if matches!(value, Expected::Bool(_)) && !matches!(op, Op::Eq | Op::Ne) {
        return Err(ExpectationSyntax::OrderedBool { text: whole() });
    }
    Ok(Expectation {
        text: s.to_string(),
        path: split_path(&canonical(path)),
        op,
        value,
    })
}

/// A problem found by [`check_against_result`]: message and hint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaMismatch {
    pub message: String,
    pub hint: String,
}

/// Checks a parsed expectation against the result schema ([`super::paths`]): the path names a
/// number or true/false of result.json, and the value is written in that field's unit — a
/// duration with a unit (`25s`; a bare 0 is 0 in any unit), a count as a bare number.
pub fn check_against_result(e: &Expectation) -> Result<(), SchemaMismatch> {
    use super::paths::{self, Unit};
    let pattern = paths::pattern(&e.path);
    let err = |message: String, hint: String| Err(SchemaMismatch { message, hint });
    let unit = match paths::lookup(&pattern, 3) {
        Ok(unit) => unit,
        Err(near) => {
            return err(
                format!(
                    "`{}`: result.json has no number or true/false at `{pattern}`",
                    e.text
                ),
                if near.is_empty() {
                    "see the fields of result.json (README, Reports)".into()
                } else {
                    format!("the nearest valid paths: {}", near.join(", "))
                },
            )
        }
    };
    match (unit, &e.value) {
        (Unit::Millis, Expected::Number(n)) if *n != 0.0 => err(
            format!(
                "`{}`: `{pattern}` is a duration and `{n}` has no unit",
                e.text
            ),
            format!("write {n}ms or {n}s"),
        ),
        (Unit::Count, Expected::Millis(_)) => err(
            format!("`{}`: `{pattern}` is a count, not a duration", e.text),
            "compare it with a bare number, e.g. verification.lost_acked == 0".into(),
        ),
        (Unit::Micros, Expected::Millis(_)) => err(
            format!(
                "`{}`: `{pattern}` is in microseconds (a bare number), not a duration",
                e.text
            ),
            "write the number of µs, e.g. 5000 for 5ms".into(),
        ),
        (Unit::Bool, Expected::Number(_) | Expected::Millis(_)) => err(
            format!("`{}`: `{pattern}` is true or false, not a number", e.text),
            format!("e.g. {pattern} == true"),
        ),
        (Unit::Millis | Unit::Micros | Unit::Count, Expected::Bool(_)) => err(
            format!("`{}`: `{pattern}` is a number, not true or false", e.text),
            format!(
                "compare it with a {}",
                if unit == Unit::Millis {
                    "duration, e.g. < 25s"
                } else {
                    "number, e.g. == 0"
                }
            ),
        ),
        _ => Ok(()),
    }
}

/// `partitions[orders/0].offline_ms` → ["partitions", "[orders/0]", "offline_ms"].
fn split_path(path: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut in_brackets = false;
    for c in path.chars() {
        match c {
            '[' if !in_brackets => {
                if !current.is_empty() {
                    parts.push(std::mem::take(&mut current));
                }
                in_brackets = true;
                current.push('[');
            }
            ']' if in_brackets => {
                current.push(']');
                parts.push(std::mem::take(&mut current));
                in_brackets = false;
            }
            '.' if !in_brackets => {
                if !current.is_empty() {
                    parts.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

/// Resolves the path to numbers (several for `[*]`).
fn resolve(value: &Value, path: &[String]) -> Vec<Value> {
    let Some((head, rest)) = path.split_first() else {
        return vec![value.clone()];
    };
    if let Some(selector) = head.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        let Some(items) = value.as_array() else {
            return vec![];
        };
        if selector == "*" {
            return items.iter().flat_map(|i| resolve(i, rest)).collect();
        }
        if let Ok(n) = selector.parse::<usize>() {
            return items.get(n).map(|i| resolve(i, rest)).unwrap_or_default();
        }
        return items
            .iter()
            .filter(|i| {
                format!("{}/{}", i["topic"].as_str().unwrap_or(""), i["partition"]) == selector
            })
            .flat_map(|i| resolve(i, rest))
            .collect();
    }
    match value.get(head) {
        Some(v) => resolve(v, rest),
        None => vec![],
    }
}

pub fn evaluate(exp: &Expectation, result: &Value) -> ExpectationResult {
    let found: Vec<Value> = resolve(result, &exp.path)
        .into_iter()
        .filter(|v| !v.is_null())
        .collect();
    let no_data = || ExpectationResult {
        expr: exp.text.clone(),
        actual: None,
        passed: None,
    };
    match &exp.value {
        Expected::Bool(want) => {
            let Some(actual) = found.first().and_then(Value::as_bool) else {
                return no_data();
            };
            let passed = if exp.op == Op::Eq {
                actual == *want
            } else {
                actual != *want
            };
            ExpectationResult {
                expr: exp.text.clone(),
                actual: Some(actual.to_string()),
                passed: Some(passed),
            }
        }
        Expected::Number(want) | Expected::Millis(want) => {
            let numbers: Vec<f64> = found.iter().filter_map(Value::as_f64).collect();
            // Over several values ([*]) the worst case counts: the largest.
            let Some(actual) = numbers.into_iter().reduce(f64::max) else {
                return no_data();
            };
            let passed = match exp.op {
                Op::Lt => actual < *want,
                Op::Le => actual <= *want,
                Op::Gt => actual > *want,
                Op::Ge => actual >= *want,
                Op::Eq => (actual - want).abs() < 1e-9,
                Op::Ne => (actual - want).abs() >= 1e-9,
            };
            let shown = if matches!(exp.value, Expected::Millis(_)) {
                format!("{actual:.0} ms")
            } else {
                format!("{actual}")
            };
            ExpectationResult {
                expr: exp.text.clone(),
                actual: Some(shown),
                passed: Some(passed),
            }
        }
    }
}

pub fn evaluate_all(texts: &[String], result: &Value) -> Vec<ExpectationResult> {
    texts
        .iter()
        .map(|t| match parse_expectation(t) {
            Ok(e) => evaluate(&e, result),
            Err(why) => ExpectationResult {
                expr: t.clone(),
                actual: Some(format!("invalid: {why}")),
                passed: None,
            },
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn result() -> Value {
        json!({
            "failover": {"metadata_ms": {"max": 6292.0, "count": 1}},
            "offline": {"total_ms": 0.0},
            "controller_failover_ms": null,
            "verification": {"lost_acked": 0, "complete": true},
            "partitions": [
                {"topic": "orders", "partition": 0, "offline_ms": 1200.0, "failover_ms": 6292.0},
                {"topic": "orders", "partition": 1, "offline_ms": 0.0, "failover_ms": null}
            ]
        })
    }

    fn eval(s: &str) -> ExpectationResult {
        evaluate(&parse_expectation(s).unwrap(), &result())
    }

    #[test]
    fn durations_numbers_bools_and_aliases() {
        assert_eq!(eval("failover.metadata.max < 25s").passed, Some(true));
        assert_eq!(eval("failover.metadata_ms.max < 6s").passed, Some(false));
        assert_eq!(
            eval("failover.metadata_ms.max < 6s").actual.as_deref(),
            Some("6292 ms")
        );
        assert_eq!(eval("verification.lost_acked == 0").passed, Some(true));
        assert_eq!(eval("offline.total == 0").passed, Some(true));
        assert_eq!(eval("verification.complete == true").passed, Some(true));
    }

    #[test]
    fn partition_selectors_and_the_worst_of_many() {
        assert_eq!(
            eval("partitions[orders/0].offline_ms > 0").passed,
            Some(true)
        );
        assert_eq!(
            eval("partitions[orders/1].offline_ms > 0").passed,
            Some(false)
        );
        assert_eq!(eval("partitions[*].offline_ms < 1s").passed, Some(false));
        assert_eq!(
            eval("partitions[*].failover_ms <= 6292ms").passed,
            Some(true)
        );
    }

    #[test]
    fn no_data_is_never_a_pass() {
        assert_eq!(eval("controller_failover_ms < 10s").passed, None);
        assert_eq!(eval("no.such.path == 1").passed, None);
        assert_eq!(eval("partitions[orders/9].offline_ms == 0").passed, None);
    }

    fn schema(s: &str) -> Result<(), SchemaMismatch> {
        check_against_result(&parse_expectation(s).unwrap())
    }

    #[test]
    fn paths_are_checked_against_the_result_schema_with_the_nearest_valid_ones() {
        for ok in [
            "failover.metadata.max < 25s",
            "failover.metadata_ms.count == 1",
            "verification.lost_acked == 0",
            "verification.complete == true",
            "offline.total == 0",
            "partitions[orders/0].offline_ms > 0s",
            "partitions[*].failover_ms < 10s",
            "workload.latency.p99 < 2s",
            "transactions.atomicity_violations == 0",
            "group.rebalance_ms.max < 30s",
        ] {
            assert_eq!(schema(ok), Ok(()), "{ok}");
        }
        let e = schema("failover.max < 10s").unwrap_err();
        assert!(
            e.message
                .contains("no number or true/false at `failover.max`"),
            "{e:?}"
        );
        assert!(
            e.hint.contains("failover.metadata_ms.max")
                && e.hint.contains("failover.election_ms.max"),
            "{e:?}"
        );
        let e = schema("verification.lost == 0").unwrap_err();
        assert!(
            e.hint
                .starts_with("the nearest valid paths: verification.lost_acked"),
            "{e:?}"
        );
        let e = schema("partitions[orders/0].ofline_ms > 0s").unwrap_err();
        assert!(e.hint.contains("partitions[*].offline_ms"), "{e:?}");
    }

    #[test]
    fn a_duration_needs_a_unit_and_a_count_none() {
        let e = schema("failover.metadata.max < 25").unwrap_err();
        assert!(
            e.message.contains("is a duration and `25` has no unit"),
            "{e:?}"
        );
        assert_eq!(e.hint, "write 25ms or 25s");
        let e = schema("verification.lost_acked < 1s").unwrap_err();
        assert!(e.message.contains("is a count, not a duration"), "{e:?}");
        let e = schema("verification.complete == 1").unwrap_err();
        assert!(e.message.contains("true or false, not a number"), "{e:?}");
        let e = schema("verification.lost_acked == true").unwrap_err();
        assert!(e.message.contains("a number, not true or false"), "{e:?}");
        let e = schema("cluster.nodes[*].clock_offset_us < 5ms").unwrap_err();
        assert!(e.message.contains("microseconds"), "{e:?}");
        // Counts keep bare numbers; a bare 0 is 0 in any unit.
        assert_eq!(schema("workload.acked > 100"), Ok(()));
        assert_eq!(schema("offline.max == 0"), Ok(()));
    }

    #[test]
    fn malformed_expectations_say_why() {
        for bad in [
            "failover.max",
            "< 3s",
            "a.b < soon",
            "a.b > true",
            "a b < 1",
        ] {
            assert!(parse_expectation(bad).is_err(), "{bad}");
        }
        let r = evaluate_all(&["nonsense".into()], &result());
        assert_eq!(r[0].passed, None);
        assert!(r[0].actual.as_ref().unwrap().starts_with("invalid"));
    }
}
