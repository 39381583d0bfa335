//! Docker effects, all through the Docker API (bollard): images, the cluster's containers and
//! network, faults, the events stream and logs. Nothing here shells out to `docker`.

pub mod client;
pub mod cluster;
pub mod context;
pub mod engines;
mod event_log;
pub mod events;
pub mod faults;
pub mod images;
pub mod inventory;
pub mod labels;
pub mod logs;
pub mod owner;
pub mod run_platform;
pub mod sweep;

pub use client::connect;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum DockerError {
    #[error("docker is not reachable at {socket}: {reason}\n  hint: start dockerd, or run scripts/install-docker.sh (as root)")]
    NotReachable { socket: String, reason: String },
    #[error(transparent)]
    Context(#[from] context::ContextError),
    #[error("docker api: {context}: {source}")]
    Api {
        context: String,
        #[source]
        source: bollard::errors::Error,
    },
    /// A node's engine answered, but its clock (its `/info` time) could not be read.
    #[error("docker is not reachable at {engine}: its clock: {source}\n  hint: start dockerd, or run scripts/install-docker.sh (as root)")]
    Clock {
        engine: String,
        #[source]
        source: engines::ClockError,
    },
    #[error("image build failed: {0}")]
    ImageBuild(String),
    /// The registry answered that it has no such image (or the image is absent and its
    /// pull_policy is `never`): the compose file's mistake.
    #[error("image {image}: {reason}\n  hint: {hint}")]
    ImageNotFound {
        image: String,
        reason: String,
        hint: String,
    },
    /// The pull failed for another reason (registry unreachable, refused, interrupted).
    #[error("pulling image {image} failed: {reason}\n  hint: {hint}")]
    Pull {
        image: String,
        reason: String,
        hint: String,
    },
    #[error("service {service} was not ready after {waited_s} s: {reason}\n  last log lines of {service}:\n{logs}")]
    NotReady {
        service: String,
        waited_s: u64,
        reason: String,
        logs: String,
    },
    #[error("refusing to touch container {name}: it does not carry this tool's labels (chaos.managed=true, chaos.cluster={cluster})\n  hint: remove or rename the foreign container, or use another cluster name")]
    Foreign { name: String, cluster: String },
    #[error("refusing to touch container {name}: it is not a container of compose project {project} (label com.docker.compose.project={project}), or it is one of this tool's helpers")]
    NotInProject { name: String, project: String },
    #[error("fault {fault} on {service}: {reason}")]
    Fault {
        fault: crate::platform::PlatformAction,
        service: String,
        reason: String,
    },
    #[error("capability error: {0}")]
    Capability(String),
    #[error("{0}")]
    Other(String),
    #[error("the docker daemon stopped answering during the run ({0})\n  hint: start dockerd again (scripts/install-docker.sh), then `chaos clean` heals or removes what the run left; what was measured is in the partial report")]
    Lost(String),
}

pub(crate) fn api(
    context: impl Into<String>,
) -> impl FnOnce(bollard::errors::Error) -> DockerError {
    let context = context.into();
    move |source| DockerError::Api { context, source }
}
