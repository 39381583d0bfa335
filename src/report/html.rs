//! report.html: one self-contained page (no network assets): the summary, the timeline and
//! the verification, for a person to read at a glance.

use crate::model::RunResult;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

pub fn render_html(r: &RunResult, timeline_svg: Option<&str>) -> String {
    let title = match &r.variant {
        Some(v) => format!("{} [{v}]", r.experiment),
        None => r.experiment.clone(),
    };
    let colour = match r.status {
        super::Status::Passed => "#2e7d32",
        super::Status::Failed => "#c62828",
        _ => "#ef6c00",
    };
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>chaos: {t}</title>\n<style>\
body{{font-family:sans-serif;margin:2em;color:#222}} .status{{color:#fff;background:{colour};padding:.2em .6em;border-radius:4px}}\
pre{{background:#f6f8fa;padding:1em;overflow-x:auto;font-size:13px}} svg{{max-width:100%;height:auto}}</style></head>\n\
<body><h1>{t} <span class=\"status\">{status}</span></h1>\n{svg}\n<h2>Summary</h2><pre>{table}</pre>\n\
<p>Times derived from metadata polls carry the observer period ({bar} ms) as their error bar; fault times come from Docker's event stream.</p>\
</body></html>\n",
        t = escape(&title),
        status = r.status.as_str(),
        svg = timeline_svg.unwrap_or("<p>(no timeline)</p>"),
        table = escape(&super::render_table(r)),
        bar = r.error_bar_ms,
    )
}

/// One page comparing the combinations of a matrix run (and their repeats): the comparison
/// table, and a bar per combination for each headline metric — the median, with a whisker
/// from min to max when there are repeats.
pub fn render_matrix_html(results: &[RunResult]) -> String {
    use super::repeats::spread;
    let Some(first) = results.first() else {
        return String::new();
    };
    let mut groups: Vec<(String, Vec<&RunResult>)> = Vec::new();
    for r in results {
        let key = r.variant.clone().unwrap_or_else(|| "(default)".into());
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, g)) => g.push(r),
            None => groups.push((key, vec![r])),
        }
    }
    let metrics: [(&str, &str, crate::model::Metric); 3] = [
        ("failover (max)", "ms", |r| r.failover.metadata_ms.max),
        ("offline (total)", "ms", |r| Some(r.offline.total_ms)),
        ("acked messages lost", "", |r| {
            r.verification.as_ref().map(|v| v.lost_acked as f64)
        }),
    ];
    let mut charts = String::new();
    for (title, unit, get) in metrics {
        let spreads: Vec<Option<super::repeats::Spread>> = groups
            .iter()
            .map(|(_, g)| spread(&g.iter().filter_map(|r| get(r)).collect::<Vec<_>>()))
            .collect();
        let top = spreads
            .iter()
            .flatten()
            .map(|s| s.max)
            .fold(0.0_f64, f64::max)
            .max(1.0);
        let (width, bar_h, label_w) = (900.0, 26.0, 330.0);
        let height = 30.0 + bar_h * groups.len() as f64 + 10.0;
        let mut svg = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\"><text x=\"0\" y=\"16\" font-weight=\"bold\">{}</text>", escape(title));
        for (i, ((name, _), s)) in groups.iter().zip(&spreads).enumerate() {
            let y = 28.0 + bar_h * i as f64;
            svg.push_str(&format!(
                "<text x=\"0\" y=\"{}\">{}</text>",
                y + 15.0,
                escape(name)
            ));
            let Some(s) = s else {
                svg.push_str(&format!(
                    "<text x=\"{label_w}\" y=\"{}\">no data</text>",
                    y + 15.0
                ));
                continue;
            };
            let scale = |v: f64| label_w + (width - label_w - 120.0) * v / top;
            svg.push_str(&format!("<rect x=\"{label_w}\" y=\"{}\" width=\"{:.1}\" height=\"{}\" fill=\"#1f77b4\" opacity=\"0.8\"/>", y + 4.0, scale(s.median) - label_w, bar_h - 8.0));
            if s.n > 1 {
                svg.push_str(&format!("<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{}\" y2=\"{}\" stroke=\"#222\" stroke-width=\"2\"/>", scale(s.min), scale(s.max), y + bar_h / 2.0, y + bar_h / 2.0));
            }
            let shown = if unit == "ms" {
                super::format::duration_ms(s.median)
            } else {
                format!("{:.0}", s.median)
            };
            svg.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{}\">{}{}</text>",
                scale(s.max) + 6.0,
                y + 15.0,
                shown,
                if s.n > 1 {
                    format!(" (n={})", s.n)
                } else {
                    String::new()
                }
            ));
        }
        svg.push_str("</svg>");
        charts.push_str(&svg);
        charts.push('\n');
    }
    format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>chaos: {t}</title>\n<style>body{{font-family:sans-serif;margin:2em}} pre{{background:#f6f8fa;padding:1em;overflow-x:auto;font-size:12px}}</style></head>\n<body><h1>{t}: {n} combination(s)</h1>\n{charts}<h2>Side by side</h2><pre>{table}</pre>\n<p>Bars are medians over repeats; whiskers span min to max. Times carry the observer period ({bar} ms) as their error bar.</p></body></html>\n",
        t = escape(&first.experiment),
        n = groups.len(),
        table = escape(&super::render_comparison(results)),
        bar = first.error_bar_ms,
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_page_is_self_contained_and_escaped() {
        let events = crate::events::read_events(
            &include_bytes!("../../tests/fixtures/events/leader-kill.jsonl")[..],
        )
        .unwrap();
        let r = crate::analysis::analyze(&events);
        let svg = crate::report::timeline::render_timeline_svg(&events).unwrap();
        let html = super::render_html(&r, Some(&svg));
        assert!(
            html.starts_with("<!doctype html>")
                && html.contains("<svg")
                && html.contains("leader-kill")
        );
        assert!(
            !html.contains("http://")
                || html
                    .matches("http://")
                    .all(|_| html.contains("xmlns=\"http://www.w3.org/2000/svg\"")),
            "no network assets"
        );
        assert!(!html.contains("<script"));
    }

    #[test]
    fn the_matrix_page_has_a_bar_per_combination_with_repeat_whiskers() {
        let events = crate::events::read_events(
            &include_bytes!("../../tests/fixtures/events/leader-kill.jsonl")[..],
        )
        .unwrap();
        let base = crate::analysis::analyze(&events);
        let mut a = base.clone();
        a.variant = Some("acks=1".into());
        let mut a2 = a.clone();
        a2.failover.metadata_ms.max = Some(7000.0);
        let mut b = base.clone();
        b.variant = Some("acks=all".into());
        let html = super::render_matrix_html(&[a, a2, b]);
        assert!(html.contains("2 combination(s)"));
        assert_eq!(html.matches("<svg").count(), 3, "one chart per metric");
        assert!(
            html.contains("acks=1") && html.contains("(n=2)") && html.contains("<line"),
            "repeats get a whisker"
        );
    }
}
