//! summary.md and the CI step summary: the table's content as markdown.

use super::format::{count, duration_ms, measured, opt_ms};
use crate::model::RunResult;

// Long: a renderer: the summary's sections in reading order
pub fn render_markdown(r: &RunResult) -> String {
    let variant = r
        .variant
        .as_ref()
        .map(|v| format!(" `{v}`"))
        .unwrap_or_default();
    let mut md = format!(
        "### {}{variant} — **{}**{}\n\n{} mode, Kafka {}; metadata times ± {} (observer poll period).\n\n",
        r.experiment,
        r.status.as_str(),
        if r.partial { " (partial)" } else { "" },
        r.cluster.mode_name(),
        r.cluster.kafka_version,
        duration_ms(r.error_bar_ms)
    );
    for (topic, settings) in &r.cluster.topic_settings {
        md.push_str(&format!(
            "Topic `{topic}` in force: {}\n\n",
            super::format::topic_settings(settings)
        ));
    }
    if !r.cluster.settings.is_empty() {
        md.push_str(&format!(
            "Settings in force: `{}`\n\n",
            super::key_values(r.cluster.settings.iter().map(|(k, v)| (k, v)), "`, `")
        ));
    }
    for n in &r.cluster.nodes {
        md.push_str(&format!("Host {}\n\n", super::format::host_line(n)));
    }
    if !r.faults.is_empty() {
        md.push_str("| fault | target | hit | at | healed |\n|---|---|---|---|---|\n");
        for f in &r.faults {
            md.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                f.kind,
                f.target,
                f.resolved.join(", "),
                duration_ms(f.at_ms),
                opt_ms(f.healed_at_ms)
            ));
        }
        md.push('\n');
    }
    md.push_str("| partition | failover | unavailable | offline | under-replicated | ISR changes | preferred back | client gap | recovery |\n|---|---|---|---|---|---|---|---|---|\n");
    for p in &r.partitions {
        md.push_str(&format!(
            "| {}/{} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            p.topic,
            p.partition,
            super::format::failover(p, r.error_bar_ms),
            duration_ms(p.unavailable_ms),
            duration_ms(p.offline_ms),
            duration_ms(p.under_replicated_ms),
            p.isr_changes.len(),
            opt_ms(p.preferred_restored_ms),
            opt_ms(p.unavailability_ms),
            super::format::recovery(p)
        ));
    }
    // What the text report says beside the table, so a summary read alone hides none of it.
    for u in &r.unobserved {
        md.push_str(&format!("\n{}.\n", super::format::blind_line(r, u)));
    }
    md.push_str(&format!(
        "\nController failover: {}.\n",
        measured(r.controller_failover_ms, r.error_bar_ms)
    ));
    if let Some(w) = &r.workload {
        for line in super::format::not_resumed_line(w)
            .into_iter()
            .chain(super::format::lost_brokers_line(w))
        {
            md.push_str(&format!("\n**{line}**\n"));
        }
        md.push_str(&format!(
            "\nWorkload (acks={}{}): {} sent, {} acked, {} failed, {} unknown; {:.0} msg/s; latency p50 {}, p99 {}, max {}.\n",
            w.acks,
            w.keys.as_ref().map(|k| format!(", keys {k}")).unwrap_or_default(),
            count(w.sent),
            count(w.acked),
            count(w.failed),
            count(w.unknown),
            w.throughput_per_s,
            duration_ms(w.latency_ms.p50),
            duration_ms(w.latency_ms.p99),
            duration_ms(w.latency_ms.max)
        ));
    }
    if let Some(c) = &r.consumer {
        md.push_str(&format!(
            "\nConsumer: {} received; end-to-end latency p50 {}, p99 {}, max {}{}.\n",
            count(c.received),
            duration_ms(c.e2e_latency_ms.p50),
            duration_ms(c.e2e_latency_ms.p99),
            duration_ms(c.e2e_latency_ms.max),
            super::format::consumer_silence(c, "; ")
        ));
    }
    if let Some(t) = &r.transactions {
        for line in super::format::transaction_lines(t) {
            md.push_str(&format!("- {line}\n"));
        }
    }
    if let Some(g) = &r.group {
        md.push('\n');
        for line in super::format::group_lines(g) {
            md.push_str(&format!("- {line}\n"));
        }
    }
    if let Some(v) = &r.verification {
        md.push_str(&format!(
            "\nVerification{}: **{} acked lost**{}, {} duplicated, {} reordered, {} unacked-but-present ({} acked, {} read).\n",
            if v.complete { "" } else { " (INCOMPLETE)" },
            count(v.lost_acked),
            super::format::unverified_suffix(v),
            count(v.duplicated),
            count(v.reordered),
            count(v.unacked_present),
            count(v.acked),
            count(v.read)
        ));
    }
    if let Some(u) = r.verification.as_ref().and_then(|v| v.unknown.as_ref()) {
        md.push('\n');
        for line in super::format::unknown_outcomes(u).lines() {
            md.push_str(&format!("- {}\n", line.trim_start()));
        }
    }
    for n in &r.notes {
        md.push_str(&format!("\nNote: {n}\n"));
    }
    if !r.expectations.is_empty() {
        md.push_str("\n| expectation | actual | |\n|---|---|---|\n");
        for e in &r.expectations {
            let verdict = match e.passed {
                Some(true) => "✅ pass",
                Some(false) => "❌ fail",
                None => "⚠️ no data",
            };
            md.push_str(&format!(
                "| `{}` | {} | {verdict} |\n",
                e.expr,
                e.actual.clone().unwrap_or_else(|| "—".into())
            ));
        }
    }
    let unmet: Vec<String> = r
        .conditions
        .iter()
        .filter(|c| !c.met)
        .map(|c| format!("- {}\n", super::format::unmet_condition(c)))
        .collect();
    if !unmet.is_empty() {
        md.push('\n');
        md.push_str(&unmet.concat());
    }
    md
}
