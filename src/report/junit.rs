//! JUnit XML (quick-junit): one test case per run (experiment × variant × repeat), named as the
//! CLI labels the run, timed by the run's duration.

use crate::model::{RunResult, Status};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::collections::HashMap;
use std::time::Duration;

/// A run's label, as `chaos run` prints it: `name [variant] (repeat i/n)`, the repeat part only
/// when there are several.
pub fn run_label(experiment: &str, variant: Option<&str>, repeat: u32, repeats: u32) -> String {
    let mut label = experiment.to_string();
    if let Some(v) = variant.filter(|v| !v.is_empty()) {
        label.push_str(&format!(" [{v}]"));
    }
    if repeats > 1 {
        label.push_str(&format!(" (repeat {repeat}/{repeats})"));
    }
    label
}

/// One name per result. A result does not record its repeat number, so results of the same
/// experiment and variant are numbered in the order given, which is the order they ran in.
fn case_names(results: &[RunResult]) -> Vec<String> {
    let key = |r: &RunResult| (r.experiment.clone(), r.variant.clone().unwrap_or_default());
    let mut totals: HashMap<(String, String), u32> = HashMap::new();
    for r in results {
        *totals.entry(key(r)).or_default() += 1;
    }
    let mut seen: HashMap<(String, String), u32> = HashMap::new();
    results
        .iter()
        .map(|r| {
            let k = key(r);
            let n = seen.entry(k.clone()).or_default();
            *n += 1;
            run_label(&r.experiment, r.variant.as_deref(), *n, totals[&k])
        })
        .collect()
}

pub fn render_junit(results: &[RunResult]) -> Result<Vec<u8>, quick_junit::SerializeError> {
    let mut report = Report::new("chaos");
    let mut suite = TestSuite::new("chaos");
    let mut total = Duration::ZERO;
    for (r, name) in results.iter().zip(case_names(results)) {
        let status = match r.status {
            Status::Passed => TestCaseStatus::success(),
            Status::Failed => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                let mut failed: Vec<String> = r
                    .expectations
                    .iter()
                    .filter(|e| e.passed == Some(false))
                    .map(|e| {
                        format!(
                            "{} (actual {})",
                            e.expr,
                            e.actual.clone().unwrap_or_else(|| "no data".into())
                        )
                    })
                    .collect();
                failed.extend(
                    r.conditions
                        .iter()
                        .filter(|c| c.verdict() == Some(Status::Failed))
                        .map(super::format::unmet_condition),
                );
                s.set_message(failed.join("; "));
                s.set_type("expectation failed");
                s
            }
            Status::Inconclusive | Status::Aborted => {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Error);
                let mut reasons: Vec<String> = r
                    .expectations
                    .iter()
                    .filter(|e| e.passed.is_none())
                    .map(|e| format!("{}: no data", e.expr))
                    .collect();
                reasons.extend(
                    r.conditions
                        .iter()
                        .filter(|c| c.verdict() == Some(Status::Inconclusive))
                        .map(super::format::unmet_condition),
                );
                reasons.extend(r.errors.iter().cloned());
                if r.verification.as_ref().is_some_and(|v| !v.complete) {
                    reasons.push("the re-read did not complete".into());
                }
                s.set_message(format!("{}: {}", r.status.as_str(), reasons.join("; ")));
                s.set_type(r.status.as_str());
                s
            }
        };
        let mut case = TestCase::new(name, status);
        // A NaN or negative duration (hand-edited result) is left out rather than panicking.
        if let Some(time) = r
            .duration_ms
            .and_then(|ms| Duration::try_from_secs_f64(ms / 1000.0).ok())
        {
            case.set_time(time);
            total += time;
        }
        case.set_classname(format!("chaos.{}", r.cluster.mode_name()));
        case.set_system_out(super::render_table(r));
        suite.add_test_case(case);
    }
    // The runs ran one after the other: the suite took their sum.
    suite.set_time(total);
    report.set_time(total);
    report.add_test_suite(suite);
    report.to_string().map(String::into_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> RunResult {
        let text = include_bytes!("../../tests/fixtures/events/leader-kill.jsonl");
        crate::analysis::analyze(&crate::events::read_events(&text[..]).unwrap())
    }

    fn render(results: &[RunResult]) -> String {
        String::from_utf8(render_junit(results).unwrap()).unwrap()
    }

    /// `(name, time)` of every test case.
    fn cases(xml: &str) -> Vec<(String, Option<String>)> {
        let attr = |tag: &str, name: &str| {
            let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
            Some(tag[start..start + tag[start..].find('"')?].to_string())
        };
        xml.split("<testcase")
            .skip(1)
            .map(|t| {
                let tag = &t[..t.find('>').unwrap()];
                (attr(tag, "name").unwrap(), attr(tag, "time"))
            })
            .collect()
    }

    #[test]
    fn each_case_carries_its_runs_duration_and_the_suite_their_sum() {
        let mut short = fixture();
        short.duration_ms = Some(1_500.0);
        short.variant = Some("b".into());
        let mut unknown = fixture();
        unknown.duration_ms = None;
        unknown.variant = Some("c".into());
        let xml = render(&[fixture(), short, unknown]);
        let times: Vec<Option<String>> = cases(&xml).into_iter().map(|c| c.1).collect();
        assert_eq!(
            times,
            [Some("16.164".to_string()), Some("1.500".into()), None]
        );
        let suite = xml.lines().find(|l| l.contains("<testsuite ")).unwrap();
        assert!(suite.ends_with(r#" time="17.664">"#), "{suite}");
    }

    #[test]
    fn repeats_get_unique_names_labelled_as_the_cli_labels_runs() {
        let run = |variant: Option<&str>| {
            let mut r = fixture();
            r.experiment = "leader-kill".into();
            r.variant = variant.map(str::to_string);
            r
        };
        let xml = render(&[
            run(Some("acks=all")),
            run(Some("acks=1")),
            run(Some("acks=all")),
            run(None),
            run(Some("acks=all")),
        ]);
        let names: Vec<String> = cases(&xml).into_iter().map(|c| c.0).collect();
        assert_eq!(
            names,
            [
                "leader-kill [acks=all] (repeat 1/3)",
                "leader-kill [acks=1]",
                "leader-kill [acks=all] (repeat 2/3)",
                "leader-kill",
                "leader-kill [acks=all] (repeat 3/3)",
            ]
        );
    }

    #[test]
    fn a_duration_that_is_not_a_time_is_left_out() {
        let mut r = fixture();
        r.duration_ms = Some(f64::NAN);
        let mut negative = fixture();
        negative.duration_ms = Some(-5.0);
        negative.variant = Some("n".into());
        let xml = render(&[r, negative]);
        assert!(cases(&xml).iter().all(|c| c.1.is_none()), "{xml}");
    }
}
