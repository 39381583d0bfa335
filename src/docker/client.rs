//! Connecting to the Docker engine, with an error that says how to start one.

use super::DockerError;
use bollard::Docker;

/// The socket we talk to, for messages.
pub fn socket_description() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".to_string())
}

/// Connects, negotiates the API version (Engine 20.10 speaks 1.41, older than bollard's
/// default) and pings, so that every later call can assume a live daemon. The engine is the
/// docker CLI's: `DOCKER_HOST`, else the docker context in force, else the default socket.
pub async fn connect() -> Result<Docker, DockerError> {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    if let Some(endpoint) =
        super::context::resolve(&|name| std::env::var(name).ok(), home.as_deref())?
    {
        tracing::debug!(context = %endpoint.context, host = %endpoint.host, "docker context");
        return super::engines::connect_node(&endpoint.host, endpoint.tls.as_ref())
            .await
            .map_err(|e| match e {
                DockerError::NotReachable { socket, reason } => DockerError::NotReachable {
                    socket: format!(
                        "{socket} (docker context {}; `docker context use default` leaves it)",
                        endpoint.context
                    ),
                    reason,
                },
                other => other,
            });
    }
    let not_reachable = |reason: String| DockerError::NotReachable {
        socket: socket_description(),
        reason,
    };
    let docker = Docker::connect_with_defaults().map_err(|e| not_reachable(e.to_string()))?;
    let docker = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        docker.negotiate_version(),
    )
    .await
    .map_err(|_| not_reachable("no answer within 10 s".into()))?
    .map_err(|e| not_reachable(e.to_string()))?;
    docker
        .ping()
        .await
        .map_err(|e| not_reachable(e.to_string()))?;
    Ok(docker)
}
