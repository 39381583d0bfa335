//! The run page: headline figures first (failover, offline, client recovery, acked lost,
//! unknown outcomes), then the timeline, then the details as tables. `report.html` is this
//! page, self-contained (the style inline, no script, no network asset); `chaos serve` shows
//! the same body for a saved run and, refreshed from the event stream, for a live one. One
//! rendering path: the pictures are `timeline.svg` and the comparison charts made here.
//!
//! Markup is maud's `html!`: every value spliced in is escaped, so none can add markup. The
//! charts are embedded as `charts::Svg` (plotters' output), the style as a constant.

use super::charts::{NotDrawn, Svg};
use super::format::{count, duration_ms, measured, opt_ms};
use crate::model::{RunResult, Status};
use maud::{html, Markup, PreEscaped, DOCTYPE};

/// The style of every page (static report, served pages, live page).
pub const CSS: &str = include_str!("report.css");

fn title_of(r: &RunResult) -> String {
    match &r.variant {
        Some(v) => format!("{} [{v}]", r.experiment),
        None => r.experiment.clone(),
    }
}

/// `report.html`: the run page, standalone.
pub fn render_html(r: &RunResult, timeline: Option<&Svg>) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width";
                title { "chaos: " (title_of(r)) }
                // Trusted: report.css, a constant compiled in.
                style { (PreEscaped(CSS)) }
            }
            body { main { (render_run_body(r, timeline)) } }
        }
    }
    .into_string()
}

/// The run page's content: title, headline figures, timeline, details.
pub fn render_run_body(r: &RunResult, timeline: Option<&Svg>) -> Markup {
    render_run_body_live(r, timeline, false)
}

/// The run page's content for a run still in progress (`running`): the verdict and the
/// expectations are pending until the run ends.
pub fn render_run_body_live(r: &RunResult, timeline: Option<&Svg>, running: bool) -> Markup {
    let latency = r
        .workload
        .as_ref()
        .and_then(super::charts::latency::render_latency_spectrum_svg);
    html! {
        h1 #run-title { (title_of(r)) }
        (subtitle(r))
        @if !r.description.is_empty() {
            p #description { (r.description) }
        }
        (headline(r, running))
        h2 { "Timeline" }
        div.timeline #timeline {
            @match timeline {
                Some(svg) => (svg),
                None => p.muted { "(no timeline)" },
            }
        }
        p.muted { "One lane per partition coloured by its leader; red: no leader (offline); amber: under-replicated; shaded bands: faults in force; grey: no broker answered (unknown). Below: acked/s and p99 latency over time, the faults' bands across them; a gap in the p99 line is a second with no ack." }
        @if let Some(svg) = latency {
            h2 { "Latency distribution" }
            div.timeline #latency-spectrum { (svg) }
            p.muted { "Every acked message's latency (send → delivery report) by percentile, the tail opened up: each step right is ten times rarer. Dots: p50, p99, p99.9; dashed: the maximum." }
        }
        (details(r, running))
    }
}

/// Mode, Kafka version, where the cluster came from, how long the run took, the error bar.
fn subtitle(r: &RunResult) -> Markup {
    let took = r
        .duration_ms
        .map(|d| format!(" · {}", duration_ms(d)))
        .unwrap_or_default();
    html! {
        p.sub {
            (r.cluster.mode_name()) " mode, Kafka " (r.cluster.kafka_version)
            (r.cluster.origin_suffix()) (took)
            " · times ± " (duration_ms(r.error_bar_ms)) " (" (r.cluster.error_bar_source()) ")"
            @if r.partial {
                " · " b { "partial" } ": the numbers cover what was measured until then"
            }
        }
    }
}

struct Figure {
    label: &'static str,
    value: Markup,
    note: String,
    class: &'static str,
}

/// The figures a reader needs first, loss before the verdict.
pub fn headline(r: &RunResult, running: bool) -> Markup {
    let figures = [
        failover_figure(r),
        offline_figure(r),
        recovery_figure(r),
        loss_figure(r),
        unknown_figure(r),
        verdict_figure(r, running),
    ];
    html! {
        section.headline #headline {
            @for f in &figures {
                div class={ "figure " (f.class) } data-figure=(f.label.replace(' ', "-")) {
                    div.label { (f.label) }
                    div.value { (f.value) }
                    div.note { (f.note) }
                }
            }
        }
    }
}

fn failover_figure(r: &RunResult) -> Figure {
    let lo = &r.failover.log_ms;
    let md = &r.failover.metadata_ms;
    let (value, note) = match (lo.max, md.max) {
        (Some(log), _) => (
            duration_ms(log),
            format!(
                "max over {} partition(s), broker log ± 1 ms; poll {}",
                lo.count,
                measured(md.max, r.failover.resolution_ms)
            ),
        ),
        (None, Some(m)) => (
            duration_ms(m),
            format!(
                "max over {} partition(s), ± {} (poll)",
                md.count,
                duration_ms(r.failover.resolution_ms)
            ),
        ),
        (None, None) => (
            "—".into(),
            match r.controller_failover_ms {
                Some(c) => format!("no leader moved; controller {}", duration_ms(c)),
                None => "no leader moved".into(),
            },
        ),
    };
    Figure {
        label: "failover",
        value: html! { (value) },
        note,
        class: "",
    }
}

fn offline_figure(r: &RunResult) -> Figure {
    let unavailable = r
        .partitions
        .iter()
        .map(|p| p.unavailable_ms)
        .fold(0.0, f64::max);
    Figure {
        label: "offline",
        value: html! { (duration_ms(r.offline.total_ms)) },
        note: format!(
            "{} partition(s) without a leader; longest unavailable {}",
            r.offline.partitions,
            duration_ms(unavailable)
        ),
        class: if r.offline.total_ms > 0.0 { "warn" } else { "" },
    }
}

fn max_of(values: impl Iterator<Item = f64>) -> Option<f64> {
    values.fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
}

fn recovery_figure(r: &RunResult) -> Figure {
    let not_resumed = r.partitions.iter().any(|p| p.resumed == Some(false))
        || r.workload.as_ref().is_some_and(|w| !w.resumed);
    let recovery = max_of(r.partitions.iter().filter_map(|p| p.recovery_ms));
    let fresh = max_of(r.partitions.iter().filter_map(|p| p.fresh_client_ms));
    let gap = r.workload.as_ref().and_then(|w| w.max_unavailability_ms);
    Figure {
        label: "client recovery",
        value: html! {
            @if not_resumed { "did not resume" } @else { (opt_ms(recovery)) }
        },
        note: match (fresh, gap) {
            (Some(f), Some(g)) => format!(
                "fresh client {}; longest ack gap {}",
                duration_ms(f),
                duration_ms(g)
            ),
            (None, Some(g)) => format!("longest ack gap {}", duration_ms(g)),
            (Some(f), None) => format!("fresh client {}", duration_ms(f)),
            (None, None) => "no outage seen by the client".into(),
        },
        class: if not_resumed { "bad" } else { "" },
    }
}

fn loss_figure(r: &RunResult) -> Figure {
    let Some(v) = &r.verification else {
        return Figure {
            label: "acked lost",
            value: html! { "—" },
            note: "not verified (yet)".into(),
            class: "",
        };
    };
    Figure {
        label: "acked lost",
        value: html! { (count(v.lost_acked)) },
        note: format!(
            "of {} acked; {} duplicated{}",
            count(v.acked),
            count(v.duplicated),
            if v.complete {
                String::new()
            } else {
                format!(
                    "; re-read INCOMPLETE: {} acked unverified (not read)",
                    count(v.unverified_acked)
                )
            }
        ),
        class: if v.lost_acked > 0 {
            "bad"
        } else if v.complete {
            "good"
        } else {
            "warn"
        },
    }
}

fn unknown_figure(r: &RunResult) -> Figure {
    let unknown = r.workload.as_ref().map(|w| w.unknown);
    let resolved = r.verification.as_ref().and_then(|v| v.unknown.as_ref());
    Figure {
        label: "unknown outcomes",
        value: html! { (unknown.map(count).unwrap_or_else(|| "—".into())) },
        note: match resolved {
            Some(u) => format!(
                "{} written (only the ack lost), {} not",
                count(u.written),
                count(u.not_written)
            ),
            None => "timed out or unanswered sends".into(),
        },
        class: if unknown.unwrap_or(0) > 0 { "warn" } else { "" },
    }
}

fn verdict_figure(r: &RunResult, running: bool) -> Figure {
    let held = r
        .expectations
        .iter()
        .filter(|e| e.passed == Some(true))
        .count();
    let verdict = if running {
        "running"
    } else {
        r.status.as_str()
    };
    Figure {
        label: "verdict",
        value: html! { span class={ "verdict " (verdict) } #verdict { (verdict) } },
        note: if running {
            format!(
                "{} expectation(s), decided when the run ends",
                r.expectations.len()
            )
        } else {
            format!("{held} of {} expectation(s) held", r.expectations.len())
        },
        class: "",
    }
}

/// A table of text cells; the columns from `numeric_from` on are numbers (right-aligned).
fn html_table(id: &str, header: &[&str], rows: &[Vec<String>], numeric_from: usize) -> Markup {
    html! {
        table id=(id) {
            thead { tr { @for h in header { th { (h) } } } }
            tbody {
                @for row in rows {
                    tr {
                        @for (i, cell) in row.iter().enumerate() {
                            td class=[(i >= numeric_from).then_some("num")] { (cell) }
                        }
                    }
                }
            }
        }
    }
}

fn verdict_cell(passed: Option<bool>) -> Markup {
    let (class, text) = match passed {
        Some(true) => ("pass", "PASS"),
        Some(false) => ("fail", "FAIL"),
        None => ("nodata", "NO DATA"),
    };
    html! { span class={ "verdict " (class) } { (text) } }
}

/// The details below the timeline, section by section in reading order.
fn details(r: &RunResult, running: bool) -> Markup {
    html! {
        (expectations_section(r, running))
        (faults_section(r))
        (partitions_section(r))
        (workload_section(r))
        @if let Some(t) = &r.transactions {
            h2 { "Transactions" }
            (list(&super::format::transaction_lines(t)))
        }
        (verification_section(r))
        (conditions_section(r))
        (log_check_section(r))
        h2 { "Settings in force" }
        (list(&settings_lines(r)))
        (notes_section(r))
    }
}

fn expectations_section(r: &RunResult, running: bool) -> Markup {
    if r.expectations.is_empty() {
        return html! {};
    }
    html! {
        h2 { "Expectations" }
        table #expectations {
            thead { tr { th { "expectation" } th { "actual" } th {} } }
            tbody {
                @for e in &r.expectations {
                    tr {
                        td { code { (e.expr) } }
                        td.num { (e.actual.as_deref().unwrap_or("—")) }
                        td {
                            @if running {
                                span.verdict.pending { "PENDING" }
                            } @else {
                                (verdict_cell(e.passed))
                            }
                        }
                    }
                }
            }
        }
    }
}

fn faults_section(r: &RunResult) -> Markup {
    if r.faults.is_empty() {
        return html! {};
    }
    let rows: Vec<Vec<String>> = r
        .faults
        .iter()
        .map(|f| {
            vec![
                f.kind.to_string(),
                f.target.clone(),
                f.resolved.join(", "),
                duration_ms(f.at_ms),
                opt_ms(f.healed_at_ms),
            ]
        })
        .collect();
    html! {
        h2 { "Faults" }
        (html_table("faults", &["fault", "target", "hit", "at", "healed"], &rows, 3))
    }
}

fn partitions_section(r: &RunResult) -> Markup {
    if r.partitions.is_empty() {
        return html! {};
    }
    let rows: Vec<Vec<String>> = r
        .partitions
        .iter()
        .map(|p| super::format::partition_row(p, r.error_bar_ms))
        .collect();
    html! {
        h2 { "Partitions" }
        (html_table("partitions", &super::format::PARTITION_COLUMNS, &rows, 2))
        (list(&failover_lines(r)))
    }
}

/// The failover statistics under the partitions' table, and the spans the observer was blind.
fn failover_lines(r: &RunResult) -> Vec<String> {
    let mut lines = Vec::new();
    let fo = &r.failover.metadata_ms;
    let lo = &r.failover.log_ms;
    if lo.count > 0 {
        lines.push(format!(
            "failover (broker log, ± 1 ms): min {} / p50 {} / max {} over {} partition(s)",
            opt_ms(lo.min),
            opt_ms(lo.p50),
            opt_ms(lo.max),
            lo.count
        ));
    }
    lines.push(format!(
        "failover (metadata): min {} / p50 {} / max {} over {} partition(s), ± {}; controller failover {}",
        opt_ms(fo.min),
        opt_ms(fo.p50),
        opt_ms(fo.max),
        fo.count,
        duration_ms(r.failover.resolution_ms),
        measured(r.controller_failover_ms, r.error_bar_ms)
    ));
    for u in &r.unobserved {
        lines.push(super::format::blind_line(r, u));
    }
    lines
}

fn workload_section(r: &RunResult) -> Markup {
    let Some(w) = &r.workload else {
        return html! {};
    };
    let (acks, counts) = super::format::workload_line(w);
    let mut lines = vec![format!("{acks}: {counts}")];
    lines.extend(super::format::not_resumed_line(w));
    lines.extend(super::format::lost_brokers_line(w));
    for (phase, l) in &w.latency_by_phase_ms {
        lines.push(format!(
            "{phase}: p50 {} · p99 {} · max {}",
            duration_ms(l.p50),
            duration_ms(l.p99),
            duration_ms(l.max)
        ));
    }
    if let Some(c) = &r.consumer {
        lines.push(format!(
            "consumer: received {} · duplicates {} · rewinds {} · end-to-end p50 {} p99 {} max {}{}",
            count(c.received),
            count(c.duplicates),
            count(c.rewinds),
            duration_ms(c.e2e_latency_ms.p50),
            duration_ms(c.e2e_latency_ms.p99),
            duration_ms(c.e2e_latency_ms.max),
            super::format::consumer_silence(c, " · ")
        ));
    }
    html! {
        h2 { "Workload" }
        (list(&lines))
    }
}

fn verification_section(r: &RunResult) -> Markup {
    let Some(v) = &r.verification else {
        return html! {};
    };
    let mut rows: Vec<Vec<String>> = v
        .partitions
        .iter()
        .map(|p| {
            vec![
                format!("{}/{}", p.topic, p.partition),
                count(p.acked),
                count(p.read),
                count(p.lost_acked),
                count(p.duplicated),
                count(p.reordered),
                count(p.unacked_present),
            ]
        })
        .collect();
    rows.push(vec![
        "all".into(),
        count(v.acked),
        count(v.read),
        count(v.lost_acked),
        count(v.duplicated),
        count(v.reordered),
        count(v.unacked_present),
    ]);
    let header = [
        "partition",
        "acked",
        "read",
        "LOST",
        "duplicated",
        "reordered",
        "unacked-present",
    ];
    let mut header = header.to_vec();
    // Only an incomplete re-read leaves acked messages unverified: a column then, not always.
    if v.unverified_acked > 0 {
        header.insert(4, "unverified");
        let column = v.partitions.iter().map(|p| p.unverified_acked);
        for (row, n) in rows.iter_mut().zip(column.chain([v.unverified_acked])) {
            row.insert(4, count(n));
        }
    }
    html! {
        h2 { "Verification" }
        (html_table("verification", &header, &rows, 1))
        (list(&verification_lines(v)))
    }
}

/// What the re-read could not read, what it found missing and what it resolved.
fn verification_lines(v: &crate::events::VerificationSummary) -> Vec<String> {
    let mut lines = Vec::new();
    if !v.complete {
        lines.push(format!(
            "INCOMPLETE re-read: {}",
            v.note.clone().unwrap_or_default()
        ));
    }
    if let Some(n) = v.consumed_then_lost {
        lines.push(format!(
            "consumed then lost: {} message(s) the live consumer received are gone from the log",
            count(n)
        ));
    }
    if let Some(u) = &v.unknown {
        lines.extend(
            super::format::unknown_outcomes(u)
                .lines()
                .map(str::to_string),
        );
    }
    if !v.lost_sample.is_empty() {
        lines.push(format!(
            "first lost: {}",
            v.lost_sample
                .iter()
                .take(5)
                .map(|m| format!(
                    "{}/{} seq {} (offset {}, acked at {})",
                    m.topic,
                    m.partition,
                    m.seq,
                    m.offset,
                    duration_ms(m.acked_at_us as f64 / 1000.0)
                ))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    lines
}

fn conditions_section(r: &RunResult) -> Markup {
    if r.conditions.is_empty() {
        return html! {};
    }
    html! {
        h2 { "Conditions" }
        table #conditions {
            thead { tr { th { "step" } th { "condition" } th { "at" } th {} } }
            tbody {
                @for c in &r.conditions {
                    tr {
                        td { (c.step) }
                        td { code { (c.condition) } }
                        td.num { (duration_ms(c.at_ms)) }
                        td {
                            @if c.met {
                                span.verdict.pass { "MET" }
                            } @else {
                                span.verdict.fail { "NOT MET" }
                                " " (super::format::unmet_condition(c))
                            }
                        }
                    }
                }
            }
        }
    }
}

fn log_check_section(r: &RunResult) -> Markup {
    let Some(c) = &r.log_check else {
        return html! {};
    };
    let line = format!(
        "{} leader change(s) matched, observed {} … {} after Kafka logged them{}",
        c.matched,
        opt_ms(c.min_offset_ms),
        opt_ms(c.max_offset_ms),
        if c.unmatched > 0 {
            format!("; {} not found in the log", c.unmatched)
        } else {
            String::new()
        }
    );
    html! {
        h2 { "Cross-check with Kafka's log" }
        (list(&[line]))
    }
}

/// The topics' and brokers' settings, the cluster and its hosts.
fn settings_lines(r: &RunResult) -> Vec<String> {
    let mut lines: Vec<String> = r
        .cluster
        .topic_settings
        .iter()
        .map(|(topic, s)| format!("topic {topic}: {}", super::format::topic_settings(s)))
        .collect();
    if !r.cluster.settings.is_empty() {
        lines.push(format!(
            "brokers: {}",
            r.cluster
                .settings
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("  ")
        ));
    }
    lines.push(format!("cluster {}", r.cluster.name));
    lines.extend(
        r.cluster
            .nodes
            .iter()
            .map(|n| format!("host {}", super::format::host_line(n))),
    );
    lines
}

fn notes_section(r: &RunResult) -> Markup {
    if r.notes.is_empty() && r.errors.is_empty() {
        return html! {};
    }
    html! {
        h2 { "Notes" }
        ul.lines {
            @for n in &r.notes { li { (n) } }
            @for e in &r.errors { li.err { "error: " (e) } }
        }
    }
}

fn list(lines: &[String]) -> Markup {
    html! {
        ul.lines { @for l in lines { li { (l) } } }
    }
}

use crate::model::Metric;

/// The comparison's metrics: name, unit ("ms" or a count), value of one run.
const METRICS: [(&str, &str, Metric); 6] = [
    ("failover (max)", "ms", |r| r.failover.metadata_ms.max),
    ("controller failover", "ms", |r| r.controller_failover_ms),
    ("offline (total)", "ms", |r| Some(r.offline.total_ms)),
    ("acked messages lost", "", |r| {
        r.verification.as_ref().map(|v| v.lost_acked as f64)
    }),
    ("client gap (max)", "ms", |r| {
        r.workload.as_ref().and_then(|w| w.max_unavailability_ms)
    }),
    ("latency p99", "ms", |r| {
        r.workload.as_ref().map(|w| w.latency_ms.p99)
    }),
];

type Groups<'a> = Vec<(String, Vec<&'a RunResult>)>;

fn groups(results: &[RunResult]) -> Groups<'_> {
    let mut groups: Groups<'_> = Vec::new();
    for r in results {
        let key = title_of(r);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, g)) => g.push(r),
            None => groups.push((key, vec![r])),
        }
    }
    groups
}

use super::charts::shown;

/// A chart, or a line saying it could not be drawn.
fn chart_or_note(chart: Result<Svg, NotDrawn>) -> Markup {
    match chart {
        Ok(svg) => html! { (svg) },
        Err(NotDrawn(title)) => html! { p.muted { (title) ": chart not drawn" } },
    }
}

/// A bar per group for one metric: the median, with a whisker from min to max over repeats.
fn bar_chart(title: &str, unit: &str, get: Metric, groups: &Groups<'_>) -> Markup {
    let bars: Vec<super::charts::Bar> = groups
        .iter()
        .map(|(name, g)| super::charts::Bar {
            label: name.clone(),
            spread: super::repeats::spread(&g.iter().filter_map(|r| get(r)).collect::<Vec<_>>()),
        })
        .collect();
    chart_or_note(super::charts::bar_chart_svg(title, unit, &bars))
}

/// The comparison of runs: a chart per headline metric (median, min–max error bars over
/// repeats), the side-by-side table and the differences beyond noise — `chaos compare`'s
/// content as a page.
pub fn comparison_body(results: &[RunResult]) -> Markup {
    let groups = groups(results);
    let differences = super::differences_beyond_noise(results);
    let error_bar_ms = results.first().map(|r| r.error_bar_ms).unwrap_or(0.0);
    html! {
        section #comparison {
            h2 { "Side by side" }
            (side_by_side(&groups))
            h2 { "Beyond noise" }
            ul.lines #beyond-noise {
                @if differences.is_empty() {
                    li { "no difference beyond noise" }
                }
                @for d in &differences { li { (d) } }
            }
            h2 { "Charts" }
            div.charts {
                @for (title, unit, get) in METRICS {
                    (bar_chart(title, unit, get, &groups)) "\n"
                }
            }
            p.muted {
                "Bars are medians over repeats; error bars span min to max. Times carry the observer period (" (error_bar_ms) " ms) as their error bar."
            }
        }
    }
}

/// The comparison's table: a column per group, its status and each metric's spread.
fn side_by_side(groups: &Groups<'_>) -> Markup {
    html! {
        table #compare-table {
            thead {
                tr {
                    th {}
                    @for (name, g) in groups {
                        th {
                            (name)
                            @if g.len() > 1 { " " span.muted { "(n=" (g.len()) ")" } }
                        }
                    }
                }
            }
            tbody {
                tr {
                    td { "status" }
                    @for (_, g) in groups { td { (group_status(g)) } }
                }
                @for (name, unit, get) in METRICS {
                    tr {
                        td { (name) }
                        @for (_, g) in groups { (metric_cell(name, unit, get, g)) }
                    }
                }
            }
        }
    }
}

/// One run's status, or how many of the repeats passed.
fn group_status(g: &[&RunResult]) -> Markup {
    match g {
        [one] => html! {
            span class={ "verdict " (one.status.as_str()) } { (one.status.as_str()) }
        },
        _ => {
            let passed = g.iter().filter(|r| r.status == Status::Passed).count();
            html! { (passed) "/" (g.len()) " passed" }
        }
    }
}

/// A metric over a group's repeats: the median, with min – max when repeated; red when any
/// acked message was lost.
fn metric_cell(name: &str, unit: &str, get: Metric, g: &[&RunResult]) -> Markup {
    let values: Vec<f64> = g.iter().filter_map(|r| get(r)).collect();
    let cell = match super::repeats::spread(&values) {
        Some(s) if s.n > 1 => format!(
            "{} [{} – {}] (n={})",
            shown(unit, s.median),
            shown(unit, s.min),
            shown(unit, s.max),
            s.n
        ),
        Some(s) => shown(unit, s.median),
        None => "—".into(),
    };
    let bad = name == "acked messages lost" && values.iter().any(|v| *v > 0.0);
    html! { td.num.err[bad] { (cell) } }
}

/// One page comparing the combinations of a matrix run (and their repeats).
pub fn render_matrix_html(results: &[RunResult]) -> String {
    let Some(first) = results.first() else {
        return String::new();
    };
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                title { "chaos: " (first.experiment) }
                // Trusted: report.css, a constant compiled in.
                style { (PreEscaped(CSS)) }
            }
            body {
                main {
                    h1 { (first.experiment) ": " (groups(results).len()) " combination(s)" }
                    (comparison_body(results))
                }
            }
        }
    }
    .into_string()
}

/// An experiment's trend over runs (history.jsonl): one chart per metric, a point per run,
/// a gap where a run has no value.
pub fn trend_svg(entries: &[super::trend::HistoryEntry]) -> Markup {
    type Get = fn(&super::trend::HistoryEntry) -> Option<f64>;
    let series: [(&str, &str, Get); 4] = [
        ("failover p50", "ms", |h| h.failover_p50_ms),
        ("offline total", "ms", |h| Some(h.offline_total_ms)),
        ("acked lost", "", |h| h.lost_acked.map(|l| l as f64)),
        ("latency p99", "ms", |h| h.latency_p99_ms),
    ];
    let series: Vec<super::charts::TrendSeries<'_>> = series
        .iter()
        .map(|(name, unit, get)| super::charts::TrendSeries {
            name,
            unit,
            values: entries.iter().map(get).collect(),
        })
        .collect();
    let passed: Vec<bool> = entries
        .iter()
        .map(|e| e.status == crate::model::Status::Passed)
        .collect();
    html! {
        div.chart #trend-chart {
            (chart_or_note(super::charts::trend_chart_svg(&series, &passed)))
        }
    }
}

#[cfg(test)]
mod tests {
    fn fixture() -> (Vec<crate::events::Event>, crate::report::RunResult) {
        let events = crate::events::read_events(
            &include_bytes!("../../tests/fixtures/events/leader-kill.jsonl")[..],
        )
        .unwrap();
        let r = crate::analysis::analyze(&events);
        (events, r)
    }

    #[test]
    fn the_page_is_self_contained_and_escaped() {
        let (events, r) = fixture();
        let svg = crate::report::charts::timeline::render_timeline_svg(&events).unwrap();
        let html = super::render_html(&r, Some(&svg));
        assert!(
            html.to_ascii_lowercase().starts_with("<!doctype html>")
                && html.contains("<svg")
                && html.contains("leader-kill")
        );
        assert!(
            html.matches("http://").count() == html.matches("http://www.w3.org/").count(),
            "no network assets"
        );
        assert!(!html.contains("<script"));
        assert!(!html.contains("<pre"), "tables, not preformatted text");
    }

    /// Markup in a name, a quote that would end an attribute, an entity.
    const HOSTILE: &str = "<script>alert(1)</script>\"'&";
    const ESCAPED: &str = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;'&amp;";

    #[test]
    fn every_value_of_the_run_is_escaped() {
        let (events, mut r) = fixture();
        r.experiment = format!("x{HOSTILE}");
        r.variant = Some(HOSTILE.into());
        r.description = HOSTILE.into();
        r.cluster.name = HOSTILE.into();
        for f in &mut r.faults {
            f.target = HOSTILE.into();
            f.resolved = vec![HOSTILE.into()];
        }
        for p in &mut r.partitions {
            p.topic = HOSTILE.into();
        }
        r.expectations.push(crate::model::ExpectationResult {
            expr: HOSTILE.into(),
            actual: Some(HOSTILE.into()),
            passed: Some(false),
        });
        r.conditions[0].step = HOSTILE.into();
        r.conditions[0].condition = HOSTILE.into();
        r.notes.push(HOSTILE.into());
        r.errors.push(HOSTILE.into());
        let svg = crate::report::charts::timeline::render_timeline_svg(&events).unwrap();
        let pages = [
            super::render_html(&r, Some(&svg)),
            super::render_run_body_live(&r, None, true).into_string(),
            super::render_matrix_html(&[r.clone(), r]),
        ];
        for page in pages {
            assert!(
                !page.contains(HOSTILE) && !page.contains("<script"),
                "{page}"
            );
            assert!(page.matches(ESCAPED).count() >= 2, "{page}");
        }
    }

    #[test]
    fn headline_figures_come_before_the_timeline_and_loss_is_red() {
        let (events, mut r) = fixture();
        let svg = crate::report::charts::timeline::render_timeline_svg(&events).unwrap();
        let v = r.verification.as_mut().unwrap();
        v.lost_acked = 1262;
        let html = super::render_html(&r, Some(&svg));
        let at = |needle: &str| html.find(needle).unwrap_or_else(|| panic!("{needle}"));
        assert!(at("data-figure=\"failover\"") < at("data-figure=\"offline\""));
        assert!(at("data-figure=\"client-recovery\"") < at("data-figure=\"acked-lost\""));
        assert!(at("data-figure=\"unknown-outcomes\"") < at("id=\"timeline\""));
        assert!(at("id=\"timeline\"") < at("id=\"partitions\""));
        assert!(html.contains("<div class=\"figure bad\" data-figure=\"acked-lost\"><div class=\"label\">acked lost</div><div class=\"value\">1,262</div>"));
    }

    #[test]
    fn the_comparison_has_a_bar_per_combination_with_repeat_error_bars() {
        let (_, base) = fixture();
        let mut a = base.clone();
        a.variant = Some("acks=1".into());
        let mut a2 = a.clone();
        a2.failover.metadata_ms.max = Some(7000.0);
        let mut b = base.clone();
        b.variant = Some("acks=all".into());
        let html = super::render_matrix_html(&[a, a2, b]);
        assert!(html.contains("2 combination(s)"));
        assert_eq!(html.matches("<svg").count(), super::METRICS.len());
        assert!(
            html.contains("acks=1")
                && html.contains("(n=2)")
                && html.contains("stroke=\"#222222\""),
            "repeats get an error bar"
        );
        assert!(html.contains("id=\"beyond-noise\""));
    }

    #[test]
    fn the_trend_chart_leaves_gaps_for_missing_values() {
        let entry = |p50: Option<f64>| crate::report::trend::HistoryEntry {
            unix_s: 0,
            experiment: "x".into(),
            variant: None,
            status: crate::model::Status::Passed,
            failover_p50_ms: p50,
            failover_max_ms: p50,
            controller_failover_ms: None,
            offline_total_ms: 0.0,
            lost_acked: Some(0),
            latency_p99_ms: None,
            took_s: None,
        };
        let svg = super::trend_svg(&[
            entry(Some(6000.0)),
            entry(Some(6100.0)),
            entry(None),
            entry(Some(6500.0)),
            entry(Some(6400.0)),
        ])
        .into_string();
        // failover p50 in two pieces around the gap; offline and acked lost in one each;
        // latency p99 has no value at all: no line.
        let lines = svg
            .lines()
            .filter(|l| l.starts_with("<polyline") && l.contains("stroke=\"#1F77B4\""))
            .count();
        assert_eq!(lines, 4, "{svg}");
        assert!(svg.starts_with("<div class=\"chart\" id=\"trend-chart\">"));
    }
}
