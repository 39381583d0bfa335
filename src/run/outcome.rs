//! Exit codes of a run and of a suite (the worst outcome wins: [`ExitCode`]'s order).

use crate::exit::ExitCode;
use crate::model::RunResult;

pub fn exit_code_of(result: &RunResult, interrupted: bool) -> ExitCode {
    if interrupted {
        return ExitCode::Interrupted;
    }
    result.status.exit_code()
}

#[cfg(test)]
mod tests {
    use crate::model::Status;

    #[test]
    fn each_status_has_its_documented_code() {
        let codes = [
            Status::Passed,
            Status::Failed,
            Status::Inconclusive,
            Status::Aborted,
        ]
        .map(|s| s.exit_code().code());
        assert_eq!(codes, [0, 1, 3, 4]);
    }
}
