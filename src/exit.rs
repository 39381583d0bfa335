//! The documented exit codes (README), ranked: when a suite has several outcomes, the worst
//! one is the process's. Pure and at the bottom: `model` and `error` both name them.

/// An outcome of the process. The order of the variants is the ranking (`Ord`): passed <
/// failed < inconclusive < invalid input < infrastructure < interrupted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ExitCode {
    /// 0: every expectation held.
    Passed,
    /// 1: an expectation did not hold.
    ExpectationsFailed,
    /// 3: the run could not decide (e.g. nothing measured for an expectation).
    Inconclusive,
    /// 2: the input was wrong (experiment, compose file, flags).
    InvalidInput,
    /// 4: the harness or the place brokers run failed.
    Infrastructure,
    /// 130: interrupted (SIGINT / Ctrl-C).
    Interrupted,
}

impl ExitCode {
    /// Every outcome, in rank order.
    pub const ALL: [ExitCode; 6] = [
        ExitCode::Passed,
        ExitCode::ExpectationsFailed,
        ExitCode::Inconclusive,
        ExitCode::InvalidInput,
        ExitCode::Infrastructure,
        ExitCode::Interrupted,
    ];

    /// The process's exit status.
    pub const fn code(self) -> i32 {
        match self {
            ExitCode::Passed => 0,
            ExitCode::ExpectationsFailed => 1,
            ExitCode::InvalidInput => 2,
            ExitCode::Inconclusive => 3,
            ExitCode::Infrastructure => 4,
            ExitCode::Interrupted => 130,
        }
    }

    /// Its name in JSON documents (`chaos run --json`).
    pub const fn name(self) -> &'static str {
        match self {
            ExitCode::Passed => "passed",
            ExitCode::ExpectationsFailed => "failed",
            ExitCode::InvalidInput => "invalid-input",
            ExitCode::Inconclusive => "inconclusive",
            ExitCode::Infrastructure => "infrastructure",
            ExitCode::Interrupted => "interrupted",
        }
    }

    /// The worst of several outcomes (a suite's); passed when there are none.
    pub fn worst(codes: impl IntoIterator<Item = ExitCode>) -> ExitCode {
        codes.into_iter().max().unwrap_or(ExitCode::Passed)
    }
}

#[cfg(test)]
mod tests {
    use super::ExitCode::{self, *};

    #[test]
    fn the_documented_numbers_in_rank_order() {
        assert_eq!(ExitCode::ALL.map(ExitCode::code), [0, 1, 3, 2, 4, 130]);
        assert!(ExitCode::ALL.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn the_worst_outcome_decides() {
        assert_eq!(ExitCode::worst([]), Passed);
        assert_eq!(
            ExitCode::worst([Passed, ExpectationsFailed, Passed]),
            ExpectationsFailed
        );
        // Inconclusive (3) ranks below invalid input (2): the ranking is not the number.
        assert_eq!(
            ExitCode::worst([ExpectationsFailed, InvalidInput]),
            InvalidInput
        );
        assert_eq!(ExitCode::worst([Inconclusive, InvalidInput]), InvalidInput);
        assert_eq!(
            ExitCode::worst([InvalidInput, Infrastructure, ExpectationsFailed]),
            Infrastructure
        );
        assert_eq!(ExitCode::worst([Infrastructure, Interrupted]), Interrupted);
    }
}
