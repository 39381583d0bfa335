//! GitHub Actions workflow commands: on a runner (`GITHUB_ACTIONS=true`) a failed expectation
//! is also printed as `::error file=…,line=…::…`, so the job's summary points at the line of
//! the experiment file that holds it. An expectation without data gets a `::warning`.

use crate::experiment::line_of_item;
use crate::model::RunResult;
use std::path::Path;

pub fn on_github_actions() -> bool {
    std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true")
}

/// Escapes a workflow command's message (`%`, CR, LF).
fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow command's property value (also `:` and `,`).
fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One annotation per failed (`::error`) or data-less (`::warning`) expectation of `result`.
/// `text` is the experiment file's content: the line is that of the `expect:` item with the
/// same expression (the file's first such item; none when it cannot be found).
pub fn expectation_annotations(file: &Path, text: &str, result: &RunResult) -> Vec<String> {
    let items = expect_items(text);
    let run = match &result.variant {
        Some(v) => format!("{} [{v}]", result.experiment),
        None => result.experiment.clone(),
    };
    let mut out = Vec::new();
    for e in &result.expectations {
        let (level, what) = match e.passed {
            Some(false) => ("error", "expectation failed"),
            None => ("warning", "expectation without data (inconclusive)"),
            Some(true) => continue,
        };
        let line = items
            .iter()
            .position(|item| item == e.expr.trim())
            .and_then(|i| line_of_item(text, "expect", i));
        let mut props = format!("file={}", escape_property(&file.display().to_string()));
        if let Some(line) = line {
            props.push_str(&format!(",line={line}"));
        }
        props.push_str(&format!(
            ",title={}",
            escape_property(&format!("{run}: {what}"))
        ));
        let actual = e.actual.as_deref().unwrap_or("no data");
        out.push(format!(
            "::{level} {props}::{}",
            escape_data(&format!("{run}: {} (actual: {actual})", e.expr))
        ));
    }
    out
}

/// The `expect:` items of an experiment file, as written (trimmed), in order.
fn expect_items(text: &str) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct Only {
        #[serde(default)]
        expect: Vec<crate::experiment::ExpectEntry>,
    }
    serde_yaml_ng::from_str::<Only>(text)
        .map(|o| {
            o.expect
                .into_iter()
                .map(|e| e.that.trim().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ExpectationResult;

    const TEXT: &str = "name: leader-kill\n\
cluster: {compose: c.yml}\n\
steps:\n\
  - wait: 1s\n\
expect:\n\
  # the interesting one\n\
  - failover.metadata.max < 25s\n\
  - verification.lost_acked == 0\n\
  - consumer.max_gap_ms < 1s\n";

    fn result() -> RunResult {
        let events = crate::events::read_events(std::io::BufReader::new(
            std::fs::File::open(
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("tests/fixtures/events/leader-kill.jsonl"),
            )
            .expect("fixture"),
        ))
        .expect("fixture events");
        let mut r = crate::analysis::analyze(&events);
        r.expectations = vec![
            ExpectationResult {
                expr: "failover.metadata.max < 25s".into(),
                actual: Some("14378 ms".into()),
                passed: Some(true),
            },
            ExpectationResult {
                expr: "verification.lost_acked == 0".into(),
                actual: Some("12".into()),
                passed: Some(false),
            },
            ExpectationResult {
                expr: "consumer.max_gap_ms < 1s".into(),
                actual: None,
                passed: None,
            },
        ];
        r
    }

    #[test]
    fn a_failed_expectation_points_at_its_line() {
        let a = expectation_annotations(Path::new("experiments/lk,1.yaml"), TEXT, &result());
        assert_eq!(a.len(), 2, "{a:?}");
        assert_eq!(
            a[0],
            "::error file=experiments/lk%2C1.yaml,line=8,title=leader-kill-fast%3A expectation failed::leader-kill-fast: verification.lost_acked == 0 (actual: 12)"
        );
        assert!(
            a[1].starts_with("::warning file=experiments/lk%2C1.yaml,line=9,"),
            "{}",
            a[1]
        );
    }

    #[test]
    fn an_expectation_not_found_in_the_file_has_no_line() {
        let a = expectation_annotations(Path::new("x.yaml"), "name: x\n", &result());
        assert!(a[0].starts_with("::error file=x.yaml,title="), "{}", a[0]);
    }

    #[test]
    fn messages_are_escaped() {
        assert_eq!(escape_data("50%\nnext"), "50%25%0Anext");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }
}
