//! Exit codes of a run and of a suite (the worst outcome wins).

use crate::error::exit;
use crate::model::RunResult;

pub fn exit_code_of(result: &RunResult, interrupted: bool) -> i32 {
    if interrupted {
        return exit::INTERRUPTED;
    }
    result.status.exit_code()
}

/// Severity order: passed < failed < inconclusive < invalid < infrastructure < interrupted.
pub fn worst_exit_code(codes: &[i32]) -> i32 {
    let rank = |c: i32| match c {
        exit::PASSED => 0,
        exit::EXPECTATIONS_FAILED => 1,
        exit::INCONCLUSIVE => 2,
        exit::INVALID_INPUT => 3,
        exit::INFRASTRUCTURE => 4,
        _ => 5,
    };
    codes
        .iter()
        .copied()
        .max_by_key(|c| rank(*c))
        .unwrap_or(exit::PASSED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_outcome_decides() {
        assert_eq!(worst_exit_code(&[]), 0);
        assert_eq!(worst_exit_code(&[0, 1, 0]), 1);
        assert_eq!(worst_exit_code(&[1, 3]), 3);
        assert_eq!(worst_exit_code(&[3, 4, 1]), 4);
        assert_eq!(worst_exit_code(&[4, 130]), 130);
    }
}
