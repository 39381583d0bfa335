//! Top-level errors and the documented exit codes.

use thiserror::Error;

/// Exit codes (documented in the README).
pub mod exit {
    pub const PASSED: i32 = 0;
    pub const EXPECTATIONS_FAILED: i32 = 1;
    pub const INVALID_INPUT: i32 = 2;
    pub const INCONCLUSIVE: i32 = 3;
    pub const INFRASTRUCTURE: i32 = 4;
    pub const INTERRUPTED: i32 = 130;
}

#[derive(Debug, Error)]
pub enum Error {
    #[error(transparent)]
    Compose(#[from] crate::compose::ComposeError),
    #[error(transparent)]
    Experiment(#[from] crate::experiment::ExperimentError),
    #[cfg(feature = "runtime")]
    #[error(transparent)]
    Docker(#[from] crate::docker::DockerError),
    #[cfg(feature = "runtime")]
    #[error(transparent)]
    Kafka(#[from] crate::kafka::KafkaError),
    /// Input that is wrong in a way only known after loading (e.g. a broker without a host listener).
    #[error("{0}")]
    Invalid(String),
    #[error("interrupted")]
    Interrupted,
    #[error("{0}")]
    Io(String),
    /// Independent problems (e.g. one per invalid experiment file), every one reported; the
    /// first decides the exit code.
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\nerror: "))]
    Several(Vec<Error>),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Compose(_) | Error::Experiment(_) | Error::Invalid(_) => exit::INVALID_INPUT,
            #[cfg(feature = "runtime")]
            Error::Docker(_) | Error::Kafka(_) => exit::INFRASTRUCTURE,
            Error::Io(_) => exit::INFRASTRUCTURE,
            Error::Interrupted => exit::INTERRUPTED,
            Error::Several(errors) => errors
                .first()
                .map(Error::exit_code)
                .unwrap_or(exit::INVALID_INPUT),
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::Io(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_errors_are_all_printed_and_the_first_decides_the_exit_code() {
        let e = Error::Several(vec![
            Error::Invalid("a.yaml:3: bad".into()),
            Error::Io("disk".into()),
        ]);
        assert_eq!(e.to_string(), "a.yaml:3: bad\nerror: disk");
        assert_eq!(e.exit_code(), exit::INVALID_INPUT);
    }
}
