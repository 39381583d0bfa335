//! Side-by-side comparison of runs (matrix variants, repeats, or `chaos compare`).

use super::format::{count, opt_ms};
use crate::model::RunResult;
use tabled::{builder::Builder, settings::Style};

/// Repeats of one experiment × variant collapse into one column of median [min – max] and a
/// bootstrap interval; single runs show their values.
pub fn render_comparison(results: &[RunResult]) -> String {
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
        return render_repeats(&groups);
    }
    render_single(results)
}

fn render_repeats(groups: &[(String, Vec<&RunResult>)]) -> String {
    use super::repeats::spread;
    let mut b = Builder::default();
    let mut header = vec!["".to_string()];
    header.extend(groups.iter().map(|(k, _)| k.clone()));
    b.push_record(header);
    let metrics: [(&str, crate::model::Metric); 5] = [
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
    b.build().with(Style::rounded()).to_string()
}

fn render_single(results: &[RunResult]) -> String {
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
            .map(|v| count(v.lost_acked))
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
    b.build().with(Style::rounded()).to_string()
}
