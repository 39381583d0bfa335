//! The run page: headline figures first (failover, offline, client recovery, acked lost,
//! unknown outcomes), then the timeline, then the details as tables. `report.html` is this
//! page, self-contained (the style inline, no script, no network asset); `chaos serve` shows
//! the same body for a saved run and, refreshed from the event stream, for a live one. One
//! rendering path: the pictures are `timeline.svg` and the comparison charts made here.

use super::format::{count, duration_ms, measured, opt_ms};
use crate::model::{RunResult, Status};

/// The style of every page (static report, served pages, live page).
pub const CSS: &str = include_str!("report.css");

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn title_of(r: &RunResult) -> String {
    match &r.variant {
        Some(v) => format!("{} [{v}]", r.experiment),
        None => r.experiment.clone(),
    }
}

/// `report.html`: the run page, standalone.
pub fn render_html(r: &RunResult, timeline_svg: Option<&str>) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
<title>chaos: {t}</title>\n<style>{CSS}</style></head>\n<body><main>\n{body}</main></body></html>\n",
        t = escape(&title_of(r)),
        body = render_run_body(r, timeline_svg),
    )
}

/// The run page's content: title, headline figures, timeline, details.
pub fn render_run_body(r: &RunResult, timeline_svg: Option<&str>) -> String {
    render_run_body_live(r, timeline_svg, false)
}

/// The run page's content for a run still in progress (`running`): the verdict and the
/// expectations are pending until the run ends.
pub fn render_run_body_live(r: &RunResult, timeline_svg: Option<&str>, running: bool) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "<h1 id=\"run-title\">{}</h1>\n<p class=\"sub\">{} mode, Kafka {}{}{} · times ± {} ({}){}</p>\n",
        escape(&title_of(r)),
        r.cluster.mode_name(),
        escape(&r.cluster.kafka_version),
        escape(&r.cluster.origin_suffix()),
        r.duration_ms
            .map(|d| format!(" · {}", duration_ms(d)))
            .unwrap_or_default(),
        duration_ms(r.error_bar_ms),
        r.cluster.error_bar_source(),
        if r.partial { " · <b>partial</b>: the numbers cover what was measured until then" } else { "" },
    ));
    if !r.description.is_empty() {
        out.push_str(&format!(
            "<p id=\"description\">{}</p>\n",
            escape(&r.description)
        ));
    }
    out.push_str(&headline(r, running));
    out.push_str("<h2>Timeline</h2>\n<div class=\"timeline\" id=\"timeline\">");
    out.push_str(timeline_svg.unwrap_or("<p class=\"muted\">(no timeline)</p>"));
    out.push_str("</div>\n<p class=\"muted\">One lane per partition coloured by its leader; red: no leader (offline); amber: under-replicated; shaded bands: faults in force; grey: no broker answered (unknown). Below: acked/s and p99 latency over time, the faults' bands across them; a gap in the p99 line is a second with no ack.</p>\n");
    if let Some(svg) = r
        .workload
        .as_ref()
        .and_then(super::charts::latency::render_latency_spectrum_svg)
    {
        out.push_str(
            "<h2>Latency distribution</h2>\n<div class=\"timeline\" id=\"latency-spectrum\">",
        );
        out.push_str(&svg);
        out.push_str("</div>\n<p class=\"muted\">Every acked message's latency (send → delivery report) by percentile, the tail opened up: each step right is ten times rarer. Dots: p50, p99, p99.9; dashed: the maximum.</p>\n");
    }
    out.push_str(&details(r, running));
    out
}

struct Figure {
    label: &'static str,
    value: String,
    note: String,
    class: &'static str,
}

// Long: a renderer: the headline's facts in reading order
/// The figures a reader needs first, loss before the verdict.
pub fn headline(r: &RunResult, running: bool) -> String {
    let mut figures = Vec::new();
    let lo = &r.failover.log_ms;
    let md = &r.failover.metadata_ms;
    figures.push(match (lo.max, md.max) {
        (Some(log), _) => Figure {
            label: "failover",
            value: duration_ms(log),
            note: format!(
                "max over {} partition(s), broker log ± 1 ms; poll {}",
                lo.count,
                measured(md.max, r.failover.resolution_ms)
            ),
            class: "",
        },
        (None, Some(m)) => Figure {
            label: "failover",
            value: duration_ms(m),
            note: format!(
                "max over {} partition(s), ± {} (poll)",
                md.count,
                duration_ms(r.failover.resolution_ms)
            ),
            class: "",
        },
        (None, None) => Figure {
            label: "failover",
            value: "—".into(),
            note: match r.controller_failover_ms {
                Some(c) => format!("no leader moved; controller {}", duration_ms(c)),
                None => "no leader moved".into(),
            },
            class: "",
        },
    });
    let unavailable = r
        .partitions
        .iter()
        .map(|p| p.unavailable_ms)
        .fold(0.0, f64::max);
    figures.push(Figure {
        label: "offline",
        value: duration_ms(r.offline.total_ms),
        note: format!(
            "{} partition(s) without a leader; longest unavailable {}",
            r.offline.partitions,
            duration_ms(unavailable)
        ),
        class: if r.offline.total_ms > 0.0 { "warn" } else { "" },
    });
    let not_resumed = r.partitions.iter().any(|p| p.resumed == Some(false))
        || r.workload.as_ref().is_some_and(|w| !w.resumed);
    let recovery = r
        .partitions
        .iter()
        .filter_map(|p| p.recovery_ms)
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    let fresh = r
        .partitions
        .iter()
        .filter_map(|p| p.fresh_client_ms)
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    figures.push(Figure {
        label: "client recovery",
        value: if not_resumed {
            "did not resume".into()
        } else {
            opt_ms(recovery)
        },
        note: match (
            fresh,
            r.workload.as_ref().and_then(|w| w.max_unavailability_ms),
        ) {
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
    });
    figures.push(match &r.verification {
        Some(v) => Figure {
            label: "acked lost",
            value: count(v.lost_acked),
            note: format!(
                "of {} acked; {} duplicated{}",
                count(v.acked),
                count(v.duplicated),
                if v.complete {
                    ""
                } else {
                    "; re-read INCOMPLETE"
                }
            ),
            class: if v.lost_acked > 0 {
                "bad"
            } else if v.complete {
                "good"
            } else {
                "warn"
            },
        },
        None => Figure {
            label: "acked lost",
            value: "—".into(),
            note: "not verified (yet)".into(),
            class: "",
        },
    });
    let unknown = r.workload.as_ref().map(|w| w.unknown);
    let resolved = r.verification.as_ref().and_then(|v| v.unknown.as_ref());
    figures.push(Figure {
        label: "unknown outcomes",
        value: unknown.map(count).unwrap_or_else(|| "—".into()),
        note: match resolved {
            Some(u) => format!(
                "{} written (only the ack lost), {} not",
                count(u.written),
                count(u.not_written)
            ),
            None => "timed out or unanswered sends".into(),
        },
        class: if unknown.unwrap_or(0) > 0 { "warn" } else { "" },
    });
    let held = r
        .expectations
        .iter()
        .filter(|e| e.passed == Some(true))
        .count();
    figures.push(Figure {
        label: "verdict",
        value: format!(
            "<span class=\"verdict {s}\" id=\"verdict\">{s}</span>",
            s = if running {
                "running"
            } else {
                r.status.as_str()
            }
        ),
        note: if running {
            format!(
                "{} expectation(s), decided when the run ends",
                r.expectations.len()
            )
        } else {
            format!("{held} of {} expectation(s) held", r.expectations.len())
        },
        class: "",
    });
    let mut out = String::from("<section class=\"headline\" id=\"headline\">\n");
    for f in figures {
        // The verdict's value is markup made above; every other value is a number.
        out.push_str(&format!(
            "<div class=\"figure {}\" data-figure=\"{}\"><div class=\"label\">{}</div><div class=\"value\">{}</div><div class=\"note\">{}</div></div>\n",
            f.class,
            f.label.replace(' ', "-"),
            f.label,
            f.value,
            escape(&f.note)
        ));
    }
    out.push_str("</section>\n");
    out
}

fn html_table(id: &str, header: &[&str], rows: &[Vec<String>], numeric_from: usize) -> String {
    let mut out = format!("<table id=\"{id}\"><thead><tr>");
    for h in header {
        out.push_str(&format!("<th>{}</th>", escape(h)));
    }
    out.push_str("</tr></thead><tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            if i >= numeric_from {
                out.push_str(&format!("<td class=\"num\">{}</td>", escape(cell)));
            } else {
                out.push_str(&format!("<td>{}</td>", escape(cell)));
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
    out
}

fn verdict_cell(passed: Option<bool>) -> String {
    let (class, text) = match passed {
        Some(true) => ("pass", "PASS"),
        Some(false) => ("fail", "FAIL"),
        None => ("nodata", "NO DATA"),
    };
    format!("<span class=\"verdict {class}\">{text}</span>")
}

// Long: a renderer: the run page's sections in reading order, each a short block
fn details(r: &RunResult, running: bool) -> String {
    let mut out = String::new();
    if !r.expectations.is_empty() {
        out.push_str("<h2>Expectations</h2>\n<table id=\"expectations\"><thead><tr><th>expectation</th><th>actual</th><th></th></tr></thead><tbody>\n");
        for e in &r.expectations {
            out.push_str(&format!(
                "<tr><td><code>{}</code></td><td class=\"num\">{}</td><td>{}</td></tr>\n",
                escape(&e.expr),
                escape(e.actual.as_deref().unwrap_or("—")),
                if running {
                    "<span class=\"verdict pending\">PENDING</span>".to_string()
                } else {
                    verdict_cell(e.passed)
                }
            ));
        }
        out.push_str("</tbody></table>\n");
    }
    if !r.faults.is_empty() {
        out.push_str("<h2>Faults</h2>\n");
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
        out.push_str(&html_table(
            "faults",
            &["fault", "target", "hit", "at", "healed"],
            &rows,
            3,
        ));
    }
    if !r.partitions.is_empty() {
        out.push_str("<h2>Partitions</h2>\n");
        let rows: Vec<Vec<String>> = r
            .partitions
            .iter()
            .map(|p| super::format::partition_row(p, r.error_bar_ms))
            .collect();
        out.push_str(&html_table(
            "partitions",
            &super::format::PARTITION_COLUMNS,
            &rows,
            2,
        ));
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
        out.push_str(&list(&lines));
    }
    if let Some(w) = &r.workload {
        out.push_str("<h2>Workload</h2>\n");
        let (acks, counts) = super::format::workload_line(w);
        let mut lines = vec![format!("{acks}: {counts}")];
        if !w.resumed {
            lines.push(format!(
                "CLIENT DID NOT RESUME on {}: no ack at all when the workload stopped",
                w.not_resumed.join(", ")
            ));
        }
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
        out.push_str(&list(&lines));
    }
    if let Some(t) = &r.transactions {
        out.push_str("<h2>Transactions</h2>\n");
        out.push_str(&list(&super::format::transaction_lines(t)));
    }
    if let Some(v) = &r.verification {
        out.push_str("<h2>Verification</h2>\n");
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
        out.push_str(&html_table(
            "verification",
            &[
                "partition",
                "acked",
                "read",
                "LOST",
                "duplicated",
                "reordered",
                "unacked-present",
            ],
            &rows,
            1,
        ));
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
        out.push_str(&list(&lines));
    }
    if !r.conditions.is_empty() {
        out.push_str("<h2>Conditions</h2>\n<table id=\"conditions\"><thead><tr><th>step</th><th>condition</th><th>at</th><th></th></tr></thead><tbody>\n");
        for c in &r.conditions {
            out.push_str(&format!(
                "<tr><td>{}</td><td><code>{}</code></td><td class=\"num\">{}</td><td>{}</td></tr>\n",
                escape(&c.step),
                escape(&c.condition),
                duration_ms(c.at_ms),
                if c.met {
                    "<span class=\"verdict pass\">MET</span>".to_string()
                } else {
                    format!("<span class=\"verdict fail\">NOT MET</span> {}", escape(&super::format::unmet_condition(c)))
                }
            ));
        }
        out.push_str("</tbody></table>\n");
    }
    if let Some(c) = &r.log_check {
        out.push_str("<h2>Cross-check with Kafka's log</h2>\n");
        out.push_str(&list(&[format!(
            "{} leader change(s) matched, observed {} … {} after Kafka logged them{}",
            c.matched,
            opt_ms(c.min_offset_ms),
            opt_ms(c.max_offset_ms),
            if c.unmatched > 0 {
                format!("; {} not found in the log", c.unmatched)
            } else {
                String::new()
            }
        )]));
    }
    out.push_str("<h2>Settings in force</h2>\n");
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
    out.push_str(&list(&lines));
    if !r.notes.is_empty() || !r.errors.is_empty() {
        out.push_str("<h2>Notes</h2>\n<ul class=\"lines\">");
        for n in &r.notes {
            out.push_str(&format!("<li>{}</li>", escape(n)));
        }
        for e in &r.errors {
            out.push_str(&format!("<li class=\"err\">error: {}</li>", escape(e)));
        }
        out.push_str("</ul>\n");
    }
    out
}

fn list(lines: &[String]) -> String {
    let mut out = String::from("<ul class=\"lines\">");
    for l in lines {
        out.push_str(&format!("<li>{}</li>", escape(l)));
    }
    out.push_str("</ul>\n");
    out
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

fn groups(results: &[RunResult]) -> Vec<(String, Vec<&RunResult>)> {
    let mut groups: Vec<(String, Vec<&RunResult>)> = Vec::new();
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

/// A bar per group for one metric: the median, with a whisker from min to max over repeats.
fn bar_chart(title: &str, unit: &str, get: Metric, groups: &[(String, Vec<&RunResult>)]) -> String {
    let bars: Vec<super::charts::Bar> = groups
        .iter()
        .map(|(name, g)| super::charts::Bar {
            label: name.clone(),
            spread: super::repeats::spread(&g.iter().filter_map(|r| get(r)).collect::<Vec<_>>()),
        })
        .collect();
    super::charts::bar_chart_svg(title, unit, &bars)
}

/// The comparison of runs: a chart per headline metric (median, min–max error bars over
/// repeats), the side-by-side table and the differences beyond noise — `chaos compare`'s
/// content as a page.
pub fn comparison_body(results: &[RunResult]) -> String {
    use super::repeats::spread;
    let groups = groups(results);
    let mut out = String::from("<section id=\"comparison\">\n<h2>Side by side</h2>\n<table id=\"compare-table\"><thead><tr><th></th>");
    for (name, g) in &groups {
        out.push_str(&format!(
            "<th>{}{}</th>",
            escape(name),
            if g.len() > 1 {
                format!(" <span class=\"muted\">(n={})</span>", g.len())
            } else {
                String::new()
            }
        ));
    }
    out.push_str("</tr></thead><tbody>\n<tr><td>status</td>");
    for (_, g) in &groups {
        let passed = g.iter().filter(|r| r.status == Status::Passed).count();
        if g.len() == 1 {
            out.push_str(&format!(
                "<td><span class=\"verdict {s}\">{s}</span></td>",
                s = g[0].status.as_str()
            ));
        } else {
            out.push_str(&format!("<td>{passed}/{} passed</td>", g.len()));
        }
    }
    out.push_str("</tr>\n");
    for (name, unit, get) in METRICS {
        out.push_str(&format!("<tr><td>{name}</td>"));
        for (_, g) in &groups {
            let values: Vec<f64> = g.iter().filter_map(|r| get(r)).collect();
            let cell = match spread(&values) {
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
            out.push_str(&format!(
                "<td class=\"num{}\">{}</td>",
                if bad { " err" } else { "" },
                escape(&cell)
            ));
        }
        out.push_str("</tr>\n");
    }
    out.push_str(
        "</tbody></table>\n<h2>Beyond noise</h2>\n<ul class=\"lines\" id=\"beyond-noise\">",
    );
    let differences = super::differences_beyond_noise(results);
    if differences.is_empty() {
        out.push_str("<li>no difference beyond noise</li>");
    }
    for d in differences {
        out.push_str(&format!("<li>{}</li>", escape(&d)));
    }
    out.push_str("</ul>\n<h2>Charts</h2>\n<div class=\"charts\">");
    for (title, unit, get) in METRICS {
        out.push_str(&bar_chart(title, unit, get, &groups));
        out.push('\n');
    }
    out.push_str(&format!(
        "</div>\n<p class=\"muted\">Bars are medians over repeats; error bars span min to max. Times carry the observer period ({} ms) as their error bar.</p>\n</section>\n",
        results.first().map(|r| r.error_bar_ms).unwrap_or(0.0)
    ));
    out
}

/// One page comparing the combinations of a matrix run (and their repeats).
pub fn render_matrix_html(results: &[RunResult]) -> String {
    let Some(first) = results.first() else {
        return String::new();
    };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>chaos: {t}</title>\n<style>{CSS}</style></head>\n<body><main><h1>{t}: {n} combination(s)</h1>\n{body}</main></body></html>\n",
        t = escape(&first.experiment),
        n = groups(results).len(),
        body = comparison_body(results),
    )
}

/// An experiment's trend over runs (history.jsonl): one chart per metric, a point per run,
/// a gap where a run has no value.
pub fn trend_svg(entries: &[super::trend::HistoryEntry]) -> String {
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
    format!(
        "<div class=\"chart\" id=\"trend-chart\">{}</div>",
        super::charts::trend_chart_svg(&series, &passed)
    )
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
            html.starts_with("<!doctype html>")
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
        ]);
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
