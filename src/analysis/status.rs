//! The run's status from its outcome, expectations and verification.

use crate::report::{RunResult, Status};

/// Aborted when the run did not complete; failed when an expectation failed; inconclusive when
/// one had no data or the re-read was incomplete; passed otherwise.
pub fn conclude(r: &mut RunResult) {
    r.status = if r.partial {
        Status::Aborted
    } else if r.expectations.iter().any(|e| e.passed == Some(false)) {
        Status::Failed
    } else if r.expectations.iter().any(|e| e.passed.is_none())
        || r.verification.as_ref().is_some_and(|v| !v.complete)
    {
        Status::Inconclusive
    } else {
        Status::Passed
    };
}
