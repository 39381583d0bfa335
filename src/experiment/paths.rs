//! The paths an expectation may name: every number and boolean of result.json, with its unit.
//!
//! Derived from `result-shape.json`, a fully populated result (every optional part present,
//! every list with one item). A unit test reads it into [`crate::model::RunResult`] and writes
//! it back unchanged, so a field added to, renamed in or removed from the model fails that
//! test until the shape follows: the set of valid paths cannot drift from the model.

use std::sync::OnceLock;

use serde_json::Value;

const SHAPE: &str = include_str!("result-shape.json");

/// What a result number measures, and so how an expectation's value must be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A time in milliseconds (`…_ms`, the fields of a `…_ms` object but `count`): the value
    /// needs a unit (`25s`, `500ms`).
    Millis,
    /// A time in microseconds (`…_us`): a bare number of µs.
    Micros,
    /// Dimensionless (counts, ids, rates): a bare number.
    Count,
    /// true / false.
    Bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultPath {
    /// e.g. `failover.metadata_ms.max`, `partitions[*].offline_ms`.
    pub path: String,
    pub unit: Unit,
}

/// Every comparable path of result.json, in alphabetical order.
pub fn result_paths() -> &'static [ResultPath] {
    static PATHS: OnceLock<Vec<ResultPath>> = OnceLock::new();
    PATHS.get_or_init(|| {
        let shape: Value = serde_json::from_str(SHAPE).expect("result-shape.json is JSON");
        let mut out = Vec::new();
        leaves(&shape, "", &mut out);
        out
    })
}

fn leaves(value: &Value, prefix: &str, out: &mut Vec<ResultPath>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(v, &path, out);
            }
        }
        // Lists of pairs (settings, per-phase latencies) have no field names to select.
        Value::Array(items) => match items.first() {
            Some(Value::Array(_)) | None => {}
            Some(first) => leaves(first, &format!("{prefix}[*]"), out),
        },
        Value::Bool(_) => out.push(ResultPath {
            path: prefix.to_string(),
            unit: Unit::Bool,
        }),
        Value::Number(_) => out.push(ResultPath {
            path: prefix.to_string(),
            unit: unit_of(prefix),
        }),
        Value::String(_) | Value::Null => {}
    }
}

fn unit_of(path: &str) -> Unit {
    let mut segments = path.rsplit('.').map(|s| s.trim_end_matches("[*]"));
    let last = segments.next().unwrap_or_default();
    let parent = segments.next().unwrap_or_default();
    if last.ends_with("_us") {
        Unit::Micros
    } else if last.ends_with("_ms") || last == "ms" || parent.ends_with("_ms") && last != "count" {
        Unit::Millis
    } else {
        Unit::Count
    }
}

/// The form of a split expectation path that [`result_paths`] lists: every selector
/// (`[orders/0]`, `[1]`, `[*]`) becomes `[*]`.
pub fn pattern(path: &[String]) -> String {
    let mut out = String::new();
    for segment in path {
        if segment.starts_with('[') {
            out.push_str("[*]");
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(segment);
        }
    }
    out
}

/// The unit of a path, or the nearest valid paths (at most `n`, best first).
pub fn lookup(pattern: &str, n: usize) -> Result<Unit, Vec<&'static str>> {
    let paths = result_paths();
    if let Some(p) = paths.iter().find(|p| p.path == pattern) {
        return Ok(p.unit);
    }
    Err(nearest(pattern, n))
}

/// Paths that extend the one given (`verification.lost` → `verification.lost_acked`),
/// then those with its first and last segment (`failover.max` → `failover.metadata_ms.max`),
/// then the closest by edit distance.
pub fn nearest(pattern: &str, n: usize) -> Vec<&'static str> {
    let first = pattern.split('.').next().unwrap_or_default();
    let last = pattern.rsplit('.').next().unwrap_or_default();
    // (class, rank within it, path): extensions and same-shape paths alphabetically,
    // the rest by edit distance.
    let mut scored: Vec<(usize, usize, &'static str)> = result_paths()
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let c = p.path.as_str();
            let class = if c.starts_with(pattern) {
                0
            } else if c.split('.').next() == Some(first)
                && c.rsplit('.').next() == Some(last)
                && pattern.contains('.')
            {
                1
            } else {
                2
            };
            let rank = if class < 2 {
                i
            } else {
                edit_distance(pattern, c)
            };
            (class, rank, c)
        })
        .collect();
    scored.sort();
    let best = scored.iter().find(|s| s.0 == 2).map(|s| s.1).unwrap_or(0);
    scored
        .into_iter()
        // Far-fetched guesses help nobody: keep what is within reach of the best.
        .filter(|(class, d, _)| *class < 2 || *d <= best.max(pattern.len() / 2))
        .take(n)
        .map(|(_, _, c)| c)
        .collect()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shape_is_a_complete_result_of_the_model() {
        let shape: Value = serde_json::from_str(SHAPE).unwrap();
        let result: crate::model::RunResult = serde_json::from_value(shape.clone())
            .unwrap_or_else(|e| panic!("result-shape.json no longer fits model::RunResult: {e}"));
        let back = serde_json::to_value(&result).unwrap();
        assert_eq!(
            back, shape,
            "model::RunResult changed: update src/experiment/result-shape.json (every optional \
             part present, lists with one item) so that expectation paths follow"
        );
        // Every optional part is present: no null anywhere.
        assert!(
            !SHAPE.contains("null"),
            "fill every null of result-shape.json"
        );
    }

    /// A field left out of result.json when empty (`skip_serializing_if`) would slip past the
    /// round trip above: every such field of the result's types is in the shape by name.
    #[test]
    fn every_field_result_json_may_leave_out_is_in_the_shape() {
        // Types of the events' vocabulary that never appear in a result.
        const NOT_IN_RESULTS: [&str; 2] = ["offline_replicas", "open"];
        let root = env!("CARGO_MANIFEST_DIR");
        for file in [
            "src/model.rs",
            "src/events/mod.rs",
            "src/events/vocabulary.rs",
            "src/events/summary.rs",
            "src/events/unknown.rs",
        ] {
            let source = std::fs::read_to_string(format!("{root}/{file}")).unwrap();
            let lines: Vec<&str> = source.lines().collect();
            for (i, line) in lines.iter().enumerate() {
                if !line.contains("skip_serializing_if") {
                    continue;
                }
                // The field the attribute is on: the next line that is neither an attribute
                // nor a comment (fields of event variants, without `pub`, are not results).
                let Some(field) = lines[i + 1..]
                    .iter()
                    .map(|l| l.trim())
                    .find(|l| !l.starts_with('#') && !l.starts_with("//"))
                    .and_then(|l| l.strip_prefix("pub "))
                    .and_then(|l| l.split_once(':'))
                    .map(|(name, _)| name)
                else {
                    continue;
                };
                if NOT_IN_RESULTS.contains(&field) {
                    continue;
                }
                assert!(
                    SHAPE.contains(&format!("\"{field}\"")),
                    "{file}: `{field}` is missing from src/experiment/result-shape.json"
                );
            }
        }
    }

    #[test]
    fn paths_and_units() {
        let unit = |p: &str| lookup(p, 3);
        assert_eq!(unit("failover.metadata_ms.max"), Ok(Unit::Millis));
        assert_eq!(unit("failover.metadata_ms.count"), Ok(Unit::Count));
        assert_eq!(unit("verification.lost_acked"), Ok(Unit::Count));
        assert_eq!(unit("verification.complete"), Ok(Unit::Bool));
        assert_eq!(unit("partitions[*].offline_ms"), Ok(Unit::Millis));
        assert_eq!(unit("consumer.longest_gap.ms"), Ok(Unit::Millis));
        assert_eq!(unit("workload.latency_ms.p99"), Ok(Unit::Millis));
        assert_eq!(unit("workload.throughput_per_s"), Ok(Unit::Count));
        assert_eq!(unit("cluster.nodes[*].clock_offset_us"), Ok(Unit::Micros));
        assert_eq!(unit("offline.partitions"), Ok(Unit::Count));
        assert_eq!(
            unit("transactions.longest_without_commit_ms"),
            Ok(Unit::Millis)
        );
        // Strings and objects are not comparable.
        assert!(unit("experiment").is_err());
        assert!(unit("failover.metadata_ms").is_err());
        let split = |s: &str| -> Vec<String> { s.split('.').map(str::to_string).collect() };
        assert_eq!(
            pattern(&[
                "partitions".into(),
                "[orders/0]".into(),
                "offline_ms".into()
            ]),
            "partitions[*].offline_ms"
        );
        assert_eq!(pattern(&split("a.b")), "a.b");
    }

    #[test]
    fn the_nearest_paths_by_prefix_shape_and_spelling() {
        assert_eq!(
            nearest("verification.lost", 3)[0],
            "verification.lost_acked"
        );
        let n = nearest("failover.max", 3);
        assert_eq!(
            n,
            [
                "failover.election_ms.max",
                "failover.log_ms.max",
                "failover.metadata_ms.max"
            ],
            "{n:?}"
        );
        assert_eq!(
            nearest("verificaton.lost_aked", 1),
            ["verification.lost_acked"]
        );
        assert_eq!(
            nearest("failover.metadata_ms", 1)[0],
            "failover.metadata_ms.count"
        );
        assert!(nearest("zzzzzzzzzzzzzzzzzzzzzzzz", 3).len() <= 3);
    }
}
