//! JUnit XML (quick-junit): one test case per experiment × variant.

use super::{RunResult, Status};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

pub fn render_junit(results: &[RunResult]) -> Result<Vec<u8>, String> {
    let mut report = Report::new("chaos");
    let mut suite = TestSuite::new("chaos");
    for r in results {
        let name = match &r.variant {
            Some(v) => format!("{}[{v}]", r.experiment),
            None => r.experiment.clone(),
        };
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
        case.set_classname(format!("chaos.{}", r.cluster.mode));
        case.set_system_out(super::render_table(r));
        suite.add_test_case(case);
    }
    report.add_test_suite(suite);
    report
        .to_string()
        .map(String::into_bytes)
        .map_err(|e| e.to_string())
}
