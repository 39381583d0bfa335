//! Top-level errors and the exit code each one means.

use crate::exit::ExitCode;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    #[error(transparent)]
    Compose(#[from] crate::compose::ComposeError),
    #[error(transparent)]
    Experiment(#[from] crate::experiment::ExperimentError),
    /// The connection security from the environment or the flags.
    #[error(transparent)]
    Security(#[from] crate::security::SecurityError),
    #[cfg(feature = "runtime")]
    #[error(transparent)]
    Docker(#[from] crate::docker::DockerError),
    #[cfg(feature = "runtime")]
    #[error(transparent)]
    Kafka(#[from] crate::kafka::KafkaError),
    #[cfg(feature = "runtime")]
    #[error(transparent)]
    Fault(#[from] crate::platform::FaultError),
    #[cfg(feature = "runtime")]
    #[error(transparent)]
    Kubernetes(#[from] crate::kubernetes::KubeError),
    /// A file of ours that is wrong where it stands (e.g. the nodes file).
    #[error("{0}")]
    Input(Box<crate::input::InputError>),
    /// Input that is wrong in a way only known after loading (e.g. a broker without a host listener).
    #[error("{0}")]
    Invalid(String),
    #[error("interrupted")]
    Interrupted,
    /// A file or directory of ours could not be read or written.
    #[error("{}{source}", prefix(what))]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A task of the run panicked or was cancelled.
    #[cfg(feature = "runtime")]
    #[error("{what} failed: {source}")]
    Task {
        what: &'static str,
        #[source]
        source: tokio::task::JoinError,
    },
    /// A panic caught at the top of a run (its partial report is still written).
    #[error("internal error (a panic: {0})")]
    Panic(String),
    /// Something the run waited for did not happen in time.
    #[error("{what} within {} s", .after.as_secs())]
    Timeout {
        what: String,
        after: std::time::Duration,
    },
    /// The JUnit report could not be serialised.
    #[error("{0}")]
    Junit(#[from] quick_junit::SerializeError),
    /// Another infrastructure failure, described (e.g. an external tool that failed).
    #[error("{0}")]
    Infrastructure(String),
    /// Independent problems (e.g. one per invalid experiment file), every one reported; the
    /// first decides the exit code.
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\nerror: "))]
    Several(Vec<Error>),
}

impl From<crate::input::InputError> for Error {
    fn from(e: crate::input::InputError) -> Error {
        Error::Input(Box::new(e))
    }
}

impl Error {
    /// The positioned input error behind it (experiment, compose or nodes file), if any.
    pub fn input_error(&self) -> Option<&crate::input::InputError> {
        match self {
            Error::Experiment(e) => Some(&e.0),
            Error::Compose(e) => Some(&e.0),
            Error::Input(e) => Some(e),
            _ => None,
        }
    }

    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Compose(_)
            | Error::Experiment(_)
            | Error::Security(_)
            | Error::Invalid(_)
            | Error::Input(_) => ExitCode::InvalidInput,
            // An image no registry has is the compose file's mistake.
            #[cfg(feature = "runtime")]
            Error::Docker(crate::docker::DockerError::ImageNotFound { .. }) => {
                ExitCode::InvalidInput
            }
            #[cfg(feature = "runtime")]
            Error::Docker(_) | Error::Kafka(_) | Error::Fault(_) => ExitCode::Infrastructure,
            // A selector matching nothing is the experiment's mistake; the rest is the
            // cluster's or the API server's.
            #[cfg(feature = "runtime")]
            Error::Kubernetes(
                crate::kubernetes::KubeError::NothingMatched { .. }
                | crate::kubernetes::KubeError::NotOurs(_),
            ) => ExitCode::InvalidInput,
            #[cfg(feature = "runtime")]
            Error::Kubernetes(_) => ExitCode::Infrastructure,
            Error::Io { .. }
            | Error::Panic(_)
            | Error::Timeout { .. }
            | Error::Junit(_)
            | Error::Infrastructure(_) => ExitCode::Infrastructure,
            #[cfg(feature = "runtime")]
            Error::Task { .. } => ExitCode::Infrastructure,
            Error::Interrupted => ExitCode::Interrupted,
            Error::Several(errors) => errors
                .first()
                .map(Error::exit_code)
                .unwrap_or(ExitCode::InvalidInput),
        }
    }
}

impl Error {
    /// The place brokers run went away (the Docker daemon stopped answering): there is no
    /// cluster left to wait for or to re-read.
    #[cfg(feature = "runtime")]
    pub fn platform_lost(&self) -> bool {
        use crate::platform::PlatformError;
        matches!(
            self,
            Error::Docker(crate::docker::DockerError::Lost(_))
                | Error::Fault(crate::platform::FaultError::Platform(PlatformError::Lost(
                    _
                )))
        )
    }

    /// `map_err(Error::io(path))`: an I/O error about a named file.
    pub fn io(what: impl std::fmt::Display) -> impl FnOnce(std::io::Error) -> Error {
        move |source| Error::Io {
            what: what.to_string(),
            source,
        }
    }
    /// `map_err(Error::task("the re-read"))`: a joined task that panicked or was cancelled.
    #[cfg(feature = "runtime")]
    pub fn task(what: &'static str) -> impl FnOnce(tokio::task::JoinError) -> Error {
        move |source| Error::Task { what, source }
    }
}

fn prefix(what: &str) -> String {
    if what.is_empty() {
        String::new()
    } else {
        format!("{what}: ")
    }
}

impl From<std::io::Error> for Error {
    fn from(source: std::io::Error) -> Self {
        Error::Io {
            what: String::new(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_errors_are_all_printed_and_the_first_decides_the_exit_code() {
        let e = Error::Several(vec![
            Error::Invalid("a.yaml:3: bad".into()),
            Error::Infrastructure("disk".into()),
        ]);
        assert_eq!(e.to_string(), "a.yaml:3: bad\nerror: disk");
        assert_eq!(e.exit_code(), ExitCode::InvalidInput);
    }
}
