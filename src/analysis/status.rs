//! The run's status from its outcome, expectations and verification.

use crate::model::{RunResult, Status};

/// Aborted when the run did not complete; failed when an expectation or an assert step failed
/// (or a wait-for marked `on-timeout: fail` timed out); inconclusive when an expectation had no
/// data, a wait-for timed out or the re-read was incomplete; passed otherwise.
pub fn conclude(r: &mut RunResult) {
    let verdicts: Vec<Status> = r.conditions.iter().filter_map(|c| c.verdict()).collect();
    r.status = if r.partial {
        Status::Aborted
    } else if r.expectations.iter().any(|e| e.passed == Some(false))
        || verdicts.contains(&Status::Failed)
    {
        Status::Failed
    } else if r.expectations.iter().any(|e| e.passed.is_none())
        || verdicts.contains(&Status::Inconclusive)
        || r.verification.as_ref().is_some_and(|v| !v.complete)
    {
        Status::Inconclusive
    } else {
        Status::Passed
    };
}

#[cfg(test)]
mod tests {
    use crate::events::{ConditionCheck, EventKind, OnTimeout};
    use crate::model::Status;

    fn run_with(conditions: Vec<EventKind>) -> crate::model::RunResult {
        run_on(vec![], conditions)
    }

    /// A run on `nodes` (empty: one engine) with these events between its start and end.
    fn run_on(
        nodes: Vec<crate::events::RunNode>,
        conditions: Vec<EventKind>,
    ) -> crate::model::RunResult {
        crate::analysis::analyze(&crate::events::testing::run_on(nodes, conditions))
    }

    use crate::events::testing::leader_changed_condition as condition;

    #[test]
    fn hosts_clocks_widen_the_error_bar() {
        assert_eq!(run_with(vec![]).error_bar_ms, 100.0);
        let r = run_on(crate::events::testing::two_hosts(), vec![]);
        assert_eq!(r.error_bar_ms, 102.5);
        // How the reports show the hosts: report::analysed.
    }

    #[test]
    fn a_timed_out_wait_makes_the_run_inconclusive_unless_the_step_says_otherwise() {
        let met = run_with(vec![condition(true, ConditionCheck::WaitFor, None)]);
        assert_eq!(met.status, Status::Passed);
        let timed_out = run_with(vec![condition(
            false,
            ConditionCheck::WaitFor,
            Some(OnTimeout::Inconclusive),
        )]);
        assert_eq!(timed_out.status, Status::Inconclusive);
        // An old events.jsonl has no on-timeout: a timeout there is inconclusive too.
        let old = run_with(vec![condition(false, ConditionCheck::WaitFor, None)]);
        assert_eq!(old.status, Status::Inconclusive);
        let required = run_with(vec![condition(
            false,
            ConditionCheck::WaitFor,
            Some(OnTimeout::Fail),
        )]);
        assert_eq!(required.status, Status::Failed);
        let accepted = run_with(vec![condition(
            false,
            ConditionCheck::WaitFor,
            Some(OnTimeout::Continue),
        )]);
        assert_eq!(accepted.status, Status::Passed);
    }

    #[test]
    fn a_failed_assert_fails_the_run() {
        let r = run_with(vec![condition(false, ConditionCheck::Assert, None)]);
        assert_eq!(r.status, Status::Failed);
        assert_eq!(r.conditions[0].on_timeout, None);
    }
}
