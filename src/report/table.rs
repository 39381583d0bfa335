//! The terminal report (tabled).

use super::format::{count, duration_ms, measured, opt_ms};
use crate::model::RunResult;
use tabled::{builder::Builder, settings::Style};

fn table(rows: Vec<Vec<String>>, width: Option<usize>) -> String {
    let mut b = Builder::default();
    for r in rows {
        b.push_record(r);
    }
    fitted(b.build().with(Style::rounded()), width)
}

/// The partition table's columns a narrow terminal loses first (the rest wrap): the ones
/// the run page and result.json still carry, and that the others summarise.
const PARTITION_DROP_ORDER: &[&str] = &[
    "preferred back",
    "min ISR",
    "ISR changes",
    "under-replicated",
    "unavailable",
];

/// Columns named in `order` (their header in the first row) removed, in that order, while the
/// table is wider than `width`; returns the names removed. Nothing is removed without a width.
fn drop_columns_to_fit(
    rows: &mut [Vec<String>],
    width: Option<usize>,
    order: &[&str],
) -> Vec<String> {
    let Some(width) = width else {
        return Vec::new();
    };
    let natural = |rows: &[Vec<String>]| {
        table(rows.to_vec(), None)
            .lines()
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0)
    };
    let mut dropped = Vec::new();
    for name in order {
        if natural(rows) <= width {
            break;
        }
        let Some(i) = rows.first().and_then(|h| h.iter().position(|c| c == name)) else {
            continue;
        };
        for row in rows.iter_mut() {
            if i < row.len() {
                row.remove(i);
            }
        }
        dropped.push(name.to_string());
    }
    dropped
}

/// A table within `width` columns: the widest columns' cells wrapped (words kept where they
/// fit) until it fits; `None`: as wide as its content.
pub(super) fn fitted(table: &mut tabled::Table, width: Option<usize>) -> String {
    use tabled::settings::{peaker::PriorityMax, Width};
    if let Some(w) = width {
        table.with(
            Width::wrap(w)
                .priority(PriorityMax::right())
                .keep_words(true),
        );
    }
    table.to_string()
}

/// The terminal report as wide as its content (files, golden tests, piped output).
pub fn render_table(r: &RunResult) -> String {
    render_table_within(r, None)
}

/// The terminal report with every table within `width` columns (a terminal's width).
// Long: a renderer: the terminal report's tables in reading order
pub fn render_table_within(r: &RunResult, width: Option<usize>) -> String {
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
    if !r.description.is_empty() {
        // What the experiment expects, so an accepted timeout or an outage reads as planned.
        out.push_str(&format!("what it shows: {}\n", r.description));
    }
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
        out.push_str(&table(rows, width));
        out.push('\n');
    }
    let mut rows = vec![super::format::PARTITION_COLUMNS.map(String::from).to_vec()];
    for p in &r.partitions {
        rows.push(super::format::partition_row(p, r.error_bar_ms));
    }
    let dropped = drop_columns_to_fit(&mut rows, width, PARTITION_DROP_ORDER);
    out.push_str(&table(rows, width));
    out.push('\n');
    if !dropped.is_empty() {
        out.push_str(&format!(
            "(left out to fit {} columns: {}; --wide shows all)\n",
            width.unwrap_or_default(),
            dropped.join(", ")
        ));
    }
    for u in &r.unobserved {
        out.push_str(&super::format::blind_line(r, u));
        out.push('\n');
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
    if let Some(w) = &r.workload {
        for line in super::format::not_resumed_line(w)
            .into_iter()
            .chain(super::format::lost_brokers_line(w))
        {
            out.push_str(&line);
            out.push('\n');
        }
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
            "verification: acked {} · read {} · LOST {}{} · duplicated {} · reordered {} · unacked-present {}{}\n",
            count(v.acked),
            count(v.read),
            count(v.lost_acked),
            super::format::unverified_suffix(v),
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
        out.push_str(&table(rows, width));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> RunResult {
        let events = crate::events::read_events(
            &include_bytes!("../../tests/fixtures/events/leader-kill.jsonl")[..],
        )
        .unwrap();
        crate::analysis::analyze(&events)
    }

    /// The widest line of the tables (the lines drawn with box characters).
    fn widest_table_line(text: &str) -> usize {
        text.lines()
            .filter(|l| l.starts_with(['╭', '│', '├', '╰']))
            .map(|l| l.chars().count())
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn every_table_fits_a_terminal_of_80_120_or_200_columns_and_keeps_its_content() {
        let r = fixture();
        let full = render_table(&r);
        assert!(
            widest_table_line(&full) > 120,
            "the fixture's partition table is wide"
        );
        for width in [80, 120, 200] {
            let fitted = render_table_within(&r, Some(width));
            assert!(
                widest_table_line(&fitted) <= width,
                "{width} columns:\n{fitted}"
            );
            if width < 200 {
                // Narrow: low-priority columns left out, and said; the rest wrapped whole.
                assert!(fitted.contains("left out to fit"), "{fitted}");
                for kept in ["partition", "failover", "offline", "recovery", "orders/0"] {
                    assert!(
                        fitted.contains(kept),
                        "{width} columns lost {kept}:\n{fitted}"
                    );
                }
                continue;
            }
            // Wrapped, not cut: every word of the full table is still there.
            let words = |t: &str| {
                let mut w: Vec<String> = t
                    .split(|c: char| c.is_whitespace() || "│╭╮╰╯├┤┬┴┼─".contains(c))
                    .filter(|w| !w.is_empty())
                    .map(str::to_string)
                    .collect();
                w.sort();
                w
            };
            let missing: Vec<String> = words(&full)
                .into_iter()
                .filter(|w| !fitted.contains(w.as_str()))
                .collect();
            assert!(missing.is_empty(), "{width} columns lost {missing:?}");
        }
        // As wide as the content when there is room (or when piped / --wide).
        assert_eq!(render_table_within(&r, Some(1000)), full);
    }
}
