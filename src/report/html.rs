//! report.html: one self-contained page (no network assets): the summary, the timeline and
//! the verification, for a person to read at a glance.

use super::RunResult;

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
}
