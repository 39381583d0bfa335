//! Whether measured values differ beyond their noise. Repeats of one experiment × variant are
//! taken together first: two groups differ when their ranges (min – max over repeats, widened
//! by the error bar of each number, the observer's poll period) do not overlap.

use crate::model::RunResult;

type Metric = fn(&RunResult) -> Option<f64>;

fn label(r: &RunResult) -> String {
    match &r.variant {
        Some(v) => format!("{} [{v}]", r.experiment),
        None => r.experiment.clone(),
    }
}

/// Why a difference counts: with repeats, the ranges over them; with a single run on either
/// side only the error bar is known, and the claim says so.
fn why(single: bool, a_runs: usize, b_runs: usize) -> String {
    if single {
        "beyond the error bar; single runs, so run-to-run noise is unknown: use repeat ≥ 2".into()
    } else {
        format!(
            "ranges over {a_runs} and {b_runs} repeats, widened by the error bar, do not overlap"
        )
    }
}

/// The differences beyond noise, like with like: within each experiment, between its first
/// variant and each other (runs of different experiments are not compared: two names for one
/// scenario, or two scenarios, say nothing about a setting).
pub fn differences_beyond_noise(results: &[RunResult]) -> Vec<String> {
    let mut experiments: Vec<(&str, Vec<RunResult>)> = Vec::new();
    for r in results {
        match experiments.iter_mut().find(|(e, _)| *e == r.experiment) {
            Some((_, runs)) => runs.push(r.clone()),
            None => experiments.push((&r.experiment, vec![r.clone()])),
        }
    }
    experiments
        .iter()
        .flat_map(|(_, runs)| differences_from_the_first(runs))
        .collect()
}

/// Across experiments too (`chaos compare --across-experiments`): the first experiment ×
/// variant against every other group.
pub fn differences_beyond_noise_across(results: &[RunResult]) -> Vec<String> {
    differences_from_the_first(results)
}

/// Describes the differences between the first group and each other group that exceed the noise.
fn differences_from_the_first(results: &[RunResult]) -> Vec<String> {
    let mut groups: Vec<(String, Vec<&RunResult>)> = Vec::new();
    for r in results {
        let key = label(r);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, g)) => g.push(r),
            None => groups.push((key, vec![r])),
        }
    }
    let Some((base_name, base)) = groups.first() else {
        return vec![];
    };
    let metrics: [(&str, Metric); 3] = [
        ("failover max", |r| r.failover.metadata_ms.max),
        ("controller failover", |r| r.controller_failover_ms),
        ("offline total", |r| Some(r.offline.total_ms)),
    ];
    let range = |g: &[&RunResult], get: Metric| -> Option<(f64, f64, f64)> {
        let mut v: Vec<f64> = g.iter().filter_map(|r| get(r)).collect();
        v.sort_by(|a, b| a.total_cmp(b));
        let bar = g.iter().map(|r| r.error_bar_ms).fold(0.0, f64::max);
        Some((*v.first()? - bar, v[(v.len() - 1) / 2], *v.last()? + bar))
    };
    let mut out = Vec::new();
    for (name, other) in &groups[1..] {
        let single = base.len() < 2 || other.len() < 2;
        for (what, get) in metrics {
            if let (Some((a_lo, a_mid, a_hi)), Some((b_lo, b_mid, b_hi))) =
                (range(base, get), range(other, get))
            {
                if a_hi < b_lo || b_hi < a_lo {
                    out.push(format!(
                        "{what}: {base_name} {a_mid:.0} ms vs {name} {b_mid:.0} ms ({})",
                        why(single, base.len(), other.len())
                    ));
                }
            }
        }
        let lost = |g: &[&RunResult]| {
            g.iter()
                .filter_map(|r| r.verification.as_ref().map(|v| v.lost_acked))
                .max()
        };
        if let (Some(a), Some(b)) = (lost(base), lost(other)) {
            if (a == 0) != (b == 0) {
                let caveat = if single {
                    " (single runs: repeat ≥ 2 to see whether it always happens)"
                } else {
                    ""
                };
                out.push(format!(
                    "acked loss: {base_name} lost up to {a}, {name} lost up to {b}{caveat}"
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(variant: &str, failover: f64) -> RunResult {
        let events = crate::events::read_events(
            &include_bytes!("../../tests/fixtures/events/leader-kill.jsonl")[..],
        )
        .unwrap();
        let mut r = crate::analysis::analyze(&events);
        r.variant = Some(variant.into());
        r.failover.metadata_ms.max = Some(failover);
        r
    }

    #[test]
    fn repeats_of_one_variant_are_not_compared_with_each_other() {
        let d = differences_beyond_noise(&[
            run("6s", 6000.0),
            run("6s", 6700.0),
            run("12s", 9200.0),
            run("12s", 10500.0),
        ]);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].starts_with("failover max"));
        assert!(d[0].contains("ranges over 2 and 2 repeats"), "{d:?}");
    }

    #[test]
    fn a_single_run_difference_says_its_noise_is_unknown() {
        let d = differences_beyond_noise(&[run("a", 6000.0), run("b", 9000.0)]);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(d[0].contains("run-to-run noise is unknown"), "{d:?}");
    }

    #[test]
    fn different_experiments_are_compared_only_when_asked() {
        let mut other = run("a", 9000.0);
        other.experiment = "another-name-for-it".into();
        let runs = [run("a", 6000.0), other];
        assert!(differences_beyond_noise(&runs).is_empty());
        let across = differences_beyond_noise_across(&runs);
        assert_eq!(across.len(), 1, "{across:?}");
        assert!(across[0].contains("another-name-for-it [a]"), "{across:?}");
        // Within each experiment its variants still are.
        let mut runs = runs.to_vec();
        runs.push(run("b", 12000.0));
        let d = differences_beyond_noise(&runs);
        assert_eq!(d.len(), 1, "{d:?}");
        assert!(
            d[0].contains("[a] 6000 ms vs") && d[0].contains("[b] 12000 ms"),
            "{d:?}"
        );
    }

    #[test]
    fn overlapping_ranges_are_noise() {
        assert!(
            differences_beyond_noise(&[run("a", 6000.0), run("a", 7000.0), run("b", 6900.0)])
                .is_empty()
        );
    }
}
