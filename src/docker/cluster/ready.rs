//! Readiness by protocol: ZooKeeper answers `srvr`; every broker's metadata lists all
//! brokers; in KRaft the quorum has a leader. Waiting (not measuring): polls every 250 ms.

use super::plan::Role;
use crate::docker::inventory::{Cluster, RunningService};
use crate::docker::{logs, DockerError};
use crate::kafka::{connect::Profile, metadata, wire::Connection};
use bollard::Docker;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const POLL: Duration = Duration::from_millis(250);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// How long an authentication or TLS refusal may last before waiting stops.
const REFUSAL_GRACE: Duration = Duration::from_secs(10);

pub async fn wait(
    engines: &crate::docker::engines::Engines,
    cluster: &Cluster,
    timeout: Duration,
    profile: &Profile,
) -> Result<(), DockerError> {
    let deadline = Instant::now() + timeout;
    for service in &cluster.services {
        let left = deadline.saturating_duration_since(Instant::now());
        wait_service(
            engines,
            cluster,
            service,
            left.max(Duration::from_secs(1)),
            profile,
        )
        .await?;
    }
    Ok(())
}

pub async fn wait_service(
    engines: &crate::docker::engines::Engines,
    cluster: &Cluster,
    service: &RunningService,
    timeout: Duration,
    profile: &Profile,
) -> Result<(), DockerError> {
    let docker = engines.of(service);
    let started = Instant::now();
    let mut refused_since: Option<Instant> = None;
    loop {
        let checked = check(cluster, service, profile).await;
        // The container's own word (exited, healthcheck), one inspect per poll.
        let health = match inspect(docker, service).await {
            Ok(i) => health_of(&i, &service.role),
            Err(_) => Health::Ready,
        };
        if let Health::Failed(reason) = health {
            return Err(not_ready(docker, service, started, reason).await);
        }
        let last = match checked {
            Ok(()) => match health {
                Health::Waiting(reason) => reason,
                _ => return Ok(()),
            },
            // Wrong credentials or an untrusted certificate do not get better by waiting; but
            // a broker still starting may also drop a handshake, so a refusal is final only
            // once it has lasted.
            Err(Unready::Refused(reason)) => {
                let since = *refused_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= REFUSAL_GRACE {
                    return Err(not_ready(docker, service, started, reason).await);
                }
                reason
            }
            Err(Unready::Yet(reason)) => {
                refused_since = None;
                reason
            }
        };
        if started.elapsed() >= timeout {
            return Err(not_ready(docker, service, started, last).await);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// What the container's own state says beyond the protocol check: its healthcheck (the
/// compose file's or the image's) must report healthy, as compose's `service_healthy` asks;
/// a one-off service (not Kafka, not ZooKeeper) that ran to completion with code 0 is done.
enum Health {
    Ready,
    Waiting(String),
    Failed(String),
}

async fn inspect(
    docker: &Docker,
    service: &RunningService,
) -> Result<bollard::models::ContainerInspectResponse, DockerError> {
    docker
        .inspect_container(&service.container_id, None)
        .await
        .map_err(crate::docker::api(format!("inspect {}", service.name)))
}

/// Exited (code 0 is done for a one-off service), or what its healthcheck says.
fn health_of(inspect: &bollard::models::ContainerInspectResponse, role: &Role) -> Health {
    let state = inspect.state.clone().unwrap_or_default();
    if let Some(code) = exit_code(&state) {
        return if code == 0 && matches!(role, Role::Other) {
            Health::Ready
        } else {
            Health::Failed(format!("container exited (code {code})"))
        };
    }
    use bollard::models::HealthStatusEnum as H;
    let h = state.health.unwrap_or_default();
    match h.status {
        Some(H::STARTING) => Health::Waiting(format!("healthcheck: starting{}", last_probe(&h))),
        Some(H::UNHEALTHY) => Health::Failed(format!("healthcheck: unhealthy{}", last_probe(&h))),
        _ => Health::Ready,
    }
}

/// Compose's `service_completed_successfully`: exited with code 0.
fn completion_of(inspect: &bollard::models::ContainerInspectResponse) -> Health {
    match exit_code(&inspect.state.clone().unwrap_or_default()) {
        Some(0) => Health::Ready,
        Some(code) => Health::Failed(format!(
            "it exited with code {code}; a service depends on it with condition: service_completed_successfully"
        )),
        None => Health::Waiting("still running".into()),
    }
}

/// The exit code of a container that stopped by itself (not one paused).
fn exit_code(state: &bollard::models::ContainerState) -> Option<i64> {
    (state.running == Some(false) && state.paused != Some(true))
        .then(|| state.exit_code.unwrap_or(-1))
}

/// The last healthcheck probe's exit code and output, for the message.
fn last_probe(h: &bollard::models::Health) -> String {
    h.log
        .as_ref()
        .and_then(|l| l.last())
        .map(|p| {
            format!(
                " (last probe: exit {}, {:?})",
                p.exit_code.unwrap_or(-1),
                p.output.as_deref().unwrap_or("").trim()
            )
        })
        .unwrap_or_default()
}

/// Polls the container until `judge` says ready (or failed, or the timeout passes).
/// Waiting (not measuring): every 250 ms.
async fn wait_until(
    docker: &Docker,
    service: &RunningService,
    timeout: Duration,
    judge: impl Fn(&bollard::models::ContainerInspectResponse) -> Health,
) -> Result<(), DockerError> {
    let started = Instant::now();
    loop {
        let reason = match judge(&inspect(docker, service).await?) {
            Health::Ready => return Ok(()),
            Health::Waiting(reason) => reason,
            Health::Failed(reason) => return Err(not_ready(docker, service, started, reason).await),
        };
        if started.elapsed() >= timeout {
            return Err(not_ready(docker, service, started, reason).await);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Compose's `condition: service_healthy`: the container's healthcheck reports healthy.
pub async fn wait_healthy(
    docker: &Docker,
    service: &RunningService,
    timeout: Duration,
) -> Result<(), DockerError> {
    // Configuration, not state: checked once.
    let has_check = inspect(docker, service)
        .await?
        .config
        .and_then(|c| c.healthcheck)
        .and_then(|h| h.test)
        .is_some_and(|t| t.first().map(String::as_str) != Some("NONE"));
    if !has_check {
        return Err(DockerError::Other(format!(
            "{} has no healthcheck, but a service depends on it with condition: \
             service_healthy\n  hint: give it a healthcheck: in the compose file, or use \
             condition: service_started",
            service.name
        )));
    }
    wait_until(docker, service, timeout, |i| health_of(i, &service.role)).await
}

/// Compose's `condition: service_completed_successfully`: the container exited with code 0.
pub async fn wait_completed(
    docker: &Docker,
    service: &RunningService,
    timeout: Duration,
) -> Result<(), DockerError> {
    wait_until(docker, service, timeout, completion_of).await
}

async fn not_ready(
    docker: &Docker,
    service: &RunningService,
    started: Instant,
    reason: String,
) -> DockerError {
    DockerError::NotReady {
        service: service.name.clone(),
        waited_s: started.elapsed().as_secs(),
        reason,
        logs: logs::tail(docker, &service.container_id, 25)
            .await
            .unwrap_or_else(|e| format!("(no logs: {e})")),
    }
}

/// Why a service is not ready: not yet, or refused for good (authentication, TLS).
#[derive(Debug, Clone, PartialEq)]
pub enum Unready {
    Yet(String),
    Refused(String),
}

impl From<String> for Unready {
    fn from(reason: String) -> Unready {
        Unready::Yet(reason)
    }
}

impl From<&str> for Unready {
    fn from(reason: &str) -> Unready {
        Unready::Yet(reason.to_string())
    }
}

fn unready(e: crate::kafka::KafkaError) -> Unready {
    match e {
        crate::kafka::KafkaError::Authentication { .. } | crate::kafka::KafkaError::Tls { .. } => {
            Unready::Refused(e.to_string())
        }
        other => Unready::Yet(other.to_string()),
    }
}

/// One readiness check of one service.
/// Brokers are asked over `profile`'s connection security.
pub async fn check(
    cluster: &Cluster,
    service: &RunningService,
    profile: &Profile,
) -> Result<(), Unready> {
    match service.role {
        Role::ZooKeeper { client_port } => {
            // On a node of several, through the node's address (the client port is published
            // there); on one engine, the container's own address.
            let ip = match cluster.node_of(service) {
                Some(n) => &n.address,
                None => service
                    .ip
                    .as_ref()
                    .ok_or("no address on the cluster network")?,
            };
            zookeeper_srvr(&format!("{ip}:{client_port}"))
                .await
                .map(|_| ())
                .map_err(|e| Unready::Yet(e.to_string()))
        }
        Role::Broker { kraft, .. } => {
            let addr = service.host_bootstrap.as_ref().ok_or("no host listener")?;
            let mut conn = Connection::connect(addr, REQUEST_TIMEOUT, profile)
                .await
                .map_err(unready)?;
            let view = metadata::fetch_view(&mut conn, REQUEST_TIMEOUT)
                .await
                .map_err(unready)?;
            let expected: Vec<i32> = cluster.brokers().into_iter().map(|(_, id)| id).collect();
            let missing: Vec<i32> = expected
                .iter()
                .copied()
                .filter(|id| !view.brokers.contains(id))
                .collect();
            if !missing.is_empty() {
                return Err(format!("brokers not registered yet: {missing:?}").into());
            }
            if kraft {
                metadata::fetch_quorum_leader(&mut conn, REQUEST_TIMEOUT)
                    .await
                    .map_err(unready)?
                    .ok_or("the KRaft quorum has no leader yet")?;
            } else if view.controller.is_none() {
                return Err("no active controller yet".into());
            }
            Ok(())
        }
        Role::Other => Ok(()),
    }
}

/// Why ZooKeeper did not answer `srvr` as a serving server.
#[derive(Debug, thiserror::Error)]
pub enum SrvrError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("srvr timed out")]
    TimedOut,
    /// It answered, without a mode: the first line of its answer.
    #[error("not serving yet: {0}")]
    NotServing(String),
}

/// ZooKeeper's four-letter word `srvr`: answers with its version and mode when serving.
pub async fn zookeeper_srvr(addr: &str) -> Result<String, SrvrError> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream.write_all(b"srvr").await?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    let answer = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
        .await
        .map_err(|_| SrvrError::TimedOut)??;
    if answer.contains("Mode:") {
        Ok(answer)
    } else {
        Err(SrvrError::NotServing(
            answer.lines().next().unwrap_or("no answer").to_string(),
        ))
    }
}
