//! Side-by-side comparison of runs (matrix variants, repeats, or `chaos compare`).

use super::format::{count, opt_ms};
use super::RunResult;
use tabled::{builder::Builder, settings::Style};

pub fn render_comparison(results: &[RunResult]) -> String {
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
