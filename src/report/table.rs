//! The terminal report (tabled).

use super::format::{count, duration_ms, measured, opt_ms};
use crate::model::RunResult;
use tabled::{builder::Builder, settings::Style};

fn table(rows: Vec<Vec<String>>) -> String {
    let mut b = Builder::default();
    for r in rows {
        b.push_record(r);
    }
    b.build().with(Style::rounded()).to_string()
}

// Long: a renderer: the terminal report's tables in reading order
pub fn render_table(r: &RunResult) -> String {
    let mut out = String::new();
    let variant = r
        .variant
        .as_ref()
        .map(|v| format!(" [{v}]"))
        .unwrap_or_default();
    out.push_str(&format!(
        "{}{variant}: {}{}  —  {} mode, Kafka {}{}; times ± {} ({})\n",
        r.experiment,
        r.status.as_str().to_uppercase(),
        if r.partial { " (partial)" } else { "" },
        r.cluster.mode_name(),
        r.cluster.kafka_version,
        r.cluster.origin_suffix(),
        duration_ms(r.error_bar_ms),
        r.cluster.error_bar_source()
    ));
    for n in &r.cluster.nodes {
        out.push_str(&format!("host {}\n", super::format::host_line(n)));
    }
    for (topic, settings) in &r.cluster.topic_settings {
        out.push_str(&format!(
            "topic {topic} in force: {}\n",
            super::format::topic_settings(settings)
        ));
    }
    if !r.cluster.settings.is_empty() {
        out.push_str(&format!(
            "broker settings: {}\n",
            super::key_values(r.cluster.settings.iter().map(|(k, v)| (k, v)), "  ")
        ));
    }
    if !r.faults.is_empty() {
        let mut rows = vec![vec![
            "fault".into(),
            "target".into(),
            "hit".into(),
            "at".into(),
            "healed".into(),
        ]];
        for f in &r.faults {
            rows.push(vec![
                f.kind.to_string(),
                f.target.clone(),
                f.resolved.join(", "),
                duration_ms(f.at_ms),
                opt_ms(f.healed_at_ms),
            ]);
        }
        out.push_str(&table(rows));
        out.push('\n');
    }
    let mut rows = vec![super::format::PARTITION_COLUMNS.map(String::from).to_vec()];
    for p in &r.partitions {
        rows.push(super::format::partition_row(p, r.error_bar_ms));
    }
    out.push_str(&table(rows));
    out.push('\n');
    for u in &r.unobserved {
        out.push_str(&format!(
            "observer blind {} – {}: no broker answered; the cluster's state then is unknown (not counted as offline)\n",
            duration_ms(u.from_ms),
            opt_ms(u.to_ms)
        ));
    }
    let fo = &r.failover.metadata_ms;
    let lo = &r.failover.log_ms;
    if lo.count > 0 {
        out.push_str(&format!(
            "failover (broker log, ± 1 ms): min {} / p50 {} / max {} over {} partition(s)\n",
            opt_ms(lo.min),
            opt_ms(lo.p50),
            opt_ms(lo.max),
            lo.count
        ));
    }
    out.push_str(&format!(
        "failover (metadata): min {} / p50 {} / max {} over {} partition(s), ± {}    controller failover: {}\n",
        opt_ms(fo.min),
        opt_ms(fo.p50),
        opt_ms(fo.max),
        fo.count,
        duration_ms(r.failover.resolution_ms),
        measured(r.controller_failover_ms, r.error_bar_ms)
    ));
    if let Some(w) = r.workload.as_ref().filter(|w| !w.resumed) {
        out.push_str(&format!(
            "CLIENT DID NOT RESUME on {}: no ack at all when the workload stopped (see recovery)\n",
            w.not_resumed.join(", ")
        ));
    }
    if let Some(line) = r
        .workload
        .as_ref()
        .and_then(super::format::lost_brokers_line)
    {
        out.push_str(&line);
        out.push('\n');
    }
    if let Some(w) = &r.workload {
        let (acks, counts) = super::format::workload_line(w);
        out.push_str(&format!("workload ({acks}): {counts}\n"));
    }
    if let Some(c) = &r.consumer {
        out.push_str(&format!(
            "consumer: received {} · duplicates {} · rewinds {} · end-to-end p50 {} p99 {} max {}{}\n",
            count(c.received),
            count(c.duplicates),
            count(c.rewinds),
            duration_ms(c.e2e_latency_ms.p50),
            duration_ms(c.e2e_latency_ms.p99),
            duration_ms(c.e2e_latency_ms.max),
            super::format::consumer_silence(c, " · ")
        ));
    }
    if let Some(t) = &r.transactions {
        for line in super::format::transaction_lines(t) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    if let Some(g) = &r.group {
        for line in super::format::group_lines(g) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    if let Some(v) = &r.verification {
        out.push_str(&format!(
            "verification: acked {} · read {} · LOST {} · duplicated {} · reordered {} · unacked-present {}{}\n",
            count(v.acked),
            count(v.read),
            count(v.lost_acked),
            count(v.duplicated),
            count(v.reordered),
            count(v.unacked_present),
            if v.complete { String::new() } else { format!(" · INCOMPLETE ({})", v.note.clone().unwrap_or_default()) }
        ));
    }
    if let Some(n) = r.verification.as_ref().and_then(|v| v.consumed_then_lost) {
        out.push_str(&format!(
            "consumed then lost: {} message(s) the live consumer received are gone from the log{}\n",
            count(n),
            if n > 0 { " (a consumer acted on data the cluster then truncated)" } else { "" }
        ));
    }
    if let Some(u) = r.verification.as_ref().and_then(|v| v.unknown.as_ref()) {
        out.push_str(&super::format::unknown_outcomes(u));
    }
    if let Some(c) = &r.log_check {
        out.push_str(&format!(
            "cross-check with Kafka's log: {} leader change(s) matched, observed {}…{} after Kafka logged them{}\n",
            c.matched,
            opt_ms(c.min_offset_ms),
            opt_ms(c.max_offset_ms),
            if c.unmatched > 0 { format!(", {} not found in the log", c.unmatched) } else { String::new() }
        ));
    }
    if !r.expectations.is_empty() {
        let mut rows = vec![vec!["expectation".into(), "actual".into(), "".into()]];
        for e in &r.expectations {
            let verdict = match e.passed {
                Some(true) => "PASS",
                Some(false) => "FAIL",
                None => "NO DATA",
            };
            rows.push(vec![
                e.expr.clone(),
                e.actual.clone().unwrap_or_else(|| "—".into()),
                verdict.into(),
            ]);
        }
        out.push_str(&table(rows));
        out.push('\n');
    }
    for c in r.conditions.iter().filter(|c| !c.met) {
        out.push_str(&format!("{}\n", super::format::unmet_condition(c)));
    }
    for n in &r.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    for e in &r.errors {
        out.push_str(&format!("error: {e}\n"));
    }
    out
}
