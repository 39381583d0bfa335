//! Side-by-side comparison of runs (matrix variants, repeats, or `chaos compare`).

use super::format::{count, opt_ms};
use crate::model::RunResult;
use tabled::{builder::Builder, settings::Style};

/// Repeats of one experiment × variant collapse into one column of median [min – max] and a
/// bootstrap interval; single runs show their values. As wide as its content.
pub fn render_comparison(results: &[RunResult]) -> String {
    render_comparison_within(results, None)
}

/// The comparison within `width` columns (a terminal's width): the widest cells wrapped.
pub fn render_comparison_within(results: &[RunResult], width: Option<usize>) -> String {
    let mut groups: Vec<(String, Vec<&RunResult>)> = Vec::new();
    for r in results {
        let key = match &r.variant {
            Some(v) => format!("{} [{v}]", r.experiment),
            None => r.experiment.clone(),
        };
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, g)) => g.push(r),
            None => groups.push((key, vec![r])),
        }
    }
    if groups.iter().any(|(_, g)| g.len() > 1) {
        return render_repeats(&groups, width);
    }
    render_single(results, width)
}

/// A row of the repeats table: its name and how to read it from a run.
type Metric = (&'static str, fn(&RunResult) -> Option<f64>);

fn render_repeats(groups: &[(String, Vec<&RunResult>)], width: Option<usize>) -> String {
    use super::repeats::spread;
    let mut b = Builder::default();
    let mut header = vec!["".to_string()];
    header.extend(groups.iter().map(|(k, _)| k.clone()));
    b.push_record(header);
    let metrics: [Metric; 5] = [
        ("failover max", |r| r.failover.metadata_ms.max),
        ("controller failover", |r| r.controller_failover_ms),
        ("offline total", |r| Some(r.offline.total_ms)),
        ("acked lost", |r| {
            r.verification.as_ref().map(|v| v.lost_acked as f64)
        }),
        ("latency p99", |r| {
            r.workload.as_ref().map(|w| w.latency_ms.p99)
        }),
    ];
    let mut status = vec!["status".to_string()];
    status.extend(groups.iter().map(|(_, g)| {
        let passed = g
            .iter()
            .filter(|r| r.status == super::Status::Passed)
            .count();
        format!("{passed}/{} passed", g.len())
    }));
    b.push_record(status);
    for (name, get) in metrics {
        let mut row = vec![name.to_string()];
        row.extend(groups.iter().map(|(_, g)| {
            let values: Vec<f64> = g.iter().filter_map(|r| get(r)).collect();
            match spread(&values) {
                Some(s) if name == "acked lost" => {
                    format!("{:.0} [{:.0} – {:.0}] (n={})", s.median, s.min, s.max, s.n)
                }
                Some(s) => s.to_string(),
                None => "—".into(),
            }
        }));
        b.push_record(row);
    }
    if groups
        .iter()
        .any(|(_, g)| g.iter().any(|r| r.group.is_some()))
    {
        let group_metrics: [Metric; 4] = [
            ("group duplicates", |r| {
                r.group.as_ref().map(|g| g.duplicates as f64)
            }),
            ("group skipped", |r| {
                r.group.as_ref().and_then(|g| g.skipped).map(|s| s as f64)
            }),
            ("rebalance max", |r| {
                r.group.as_ref().and_then(|g| g.rebalance_ms.max)
            }),
            ("group resumed max", |r| group_resumed_max(r)),
        ];
        for (name, get) in group_metrics {
            let mut row = vec![name.to_string()];
            row.extend(groups.iter().map(|(_, g)| {
                let values: Vec<f64> = g.iter().filter_map(|r| get(r)).collect();
                match spread(&values) {
                    Some(s) if !name.starts_with("rebalance") && !name.ends_with("resumed max") => {
                        format!("{:.0} [{:.0} – {:.0}] (n={})", s.median, s.min, s.max, s.n)
                    }
                    Some(s) => s.to_string(),
                    None => "—".into(),
                }
            }));
            b.push_record(row);
        }
    }
    super::table::fitted(b.build().with(Style::rounded()), width)
}

/// The longest fault → group-whole-again time of a run.
fn group_resumed_max(r: &RunResult) -> Option<f64> {
    r.group
        .as_ref()?
        .resumed_after_fault
        .iter()
        .filter_map(|(_, ms)| *ms)
        .reduce(f64::max)
}

// Long: a renderer: the comparison's rows in reading order
fn render_single(results: &[RunResult], width: Option<usize>) -> String {
    let mut b = Builder::default();
    let mut header = vec!["".to_string()];
    header.extend(results.iter().map(|r| match &r.variant {
        Some(v) => format!("{} [{v}]", r.experiment),
        None => r.experiment.clone(),
    }));
    b.push_record(header);
    let row = |name: &str, f: &dyn Fn(&RunResult) -> String| {
        let mut cells = vec![name.to_string()];
        cells.extend(results.iter().map(f));
        cells
    };
    b.push_record(row("status", &|r| r.status.as_str().into()));
    b.push_record(row("failover p50", &|r| opt_ms(r.failover.metadata_ms.p50)));
    b.push_record(row("failover max", &|r| opt_ms(r.failover.metadata_ms.max)));
    b.push_record(row("controller failover", &|r| {
        opt_ms(r.controller_failover_ms)
    }));
    b.push_record(row("offline total", &|r| opt_ms(Some(r.offline.total_ms))));
    b.push_record(row("acked lost", &|r| {
        r.verification
            .as_ref()
            .map(|v| count(v.lost_acked) + &super::format::unverified_suffix(v))
            .unwrap_or_else(|| "—".into())
    }));
    b.push_record(row("duplicated", &|r| {
        r.verification
            .as_ref()
            .map(|v| count(v.duplicated))
            .unwrap_or_else(|| "—".into())
    }));
    b.push_record(row("throughput", &|r| {
        r.workload
            .as_ref()
            .map(|w| format!("{:.0}/s", w.throughput_per_s))
            .unwrap_or_else(|| "—".into())
    }));
    b.push_record(row("latency p99", &|r| {
        r.workload
            .as_ref()
            .map(|w| opt_ms(Some(w.latency_ms.p99)))
            .unwrap_or_else(|| "—".into())
    }));
    b.push_record(row("client gap max", &|r| {
        opt_ms(r.workload.as_ref().and_then(|w| w.max_unavailability_ms))
    }));
    if results.iter().any(|r| r.group.is_some()) {
        let dash = || "—".to_string();
        b.push_record(row("group commit", &|r| {
            r.group
                .as_ref()
                .map_or_else(dash, |g| match g.commit_interval_ms {
                    0.0 => format!("{} after every message", g.commit.as_str()),
                    ms => format!("{} every {}", g.commit.as_str(), opt_ms(Some(ms))),
                })
        }));
        b.push_record(row("group duplicates", &|r| {
            r.group.as_ref().map_or_else(dash, |g| count(g.duplicates))
        }));
        b.push_record(row("group skipped", &|r| {
            r.group
                .as_ref()
                .and_then(|g| g.skipped)
                .map_or_else(dash, count)
        }));
        b.push_record(row("rebalances", &|r| {
            r.group.as_ref().map_or_else(dash, |g| {
                format!(
                    "{} (max {})",
                    g.rebalances.len(),
                    opt_ms(g.rebalance_ms.max)
                )
            })
        }));
        b.push_record(row("group resumed max", &|r| opt_ms(group_resumed_max(r))));
    }
    if results.iter().any(|r| r.transactions.is_some()) {
        b.push_record(row("txn committed / aborted", &|r| {
            r.transactions.as_ref().map_or_else(
                || "—".into(),
                |t| format!("{} / {}", count(t.committed), count(t.aborted)),
            )
        }));
        b.push_record(row("longest without a commit", &|r| {
            opt_ms(
                r.transactions
                    .as_ref()
                    .and_then(|t| t.longest_without_commit_ms),
            )
        }));
        b.push_record(row("atomicity violations", &|r| {
            r.transactions
                .as_ref()
                .map_or_else(|| "—".into(), |t| count(t.atomicity_violations))
        }));
        b.push_record(row("aborted visible", &|r| {
            r.transactions
                .as_ref()
                .map_or_else(|| "—".into(), |t| count(t.aborted_visible))
        }));
        b.push_record(row("live: atomicity / aborted visible", &|r| {
            r.transactions
                .as_ref()
                .and_then(|t| t.live.as_ref())
                .map_or_else(
                    || "—".into(),
                    |l| {
                        format!(
                            "{} / {}",
                            count(l.atomicity_violations),
                            count(l.aborted_visible)
                        )
                    },
                )
        }));
        b.push_record(row("inputs processed twice / missing", &|r| {
            r.transactions
                .as_ref()
                .and_then(|t| t.read_process_write.as_ref())
                .map_or_else(
                    || "—".into(),
                    |p| format!("{} / {}", count(p.processed_twice), count(p.missing)),
                )
        }));
    }
    super::table::fitted(b.build().with(Style::rounded()), width)
}
