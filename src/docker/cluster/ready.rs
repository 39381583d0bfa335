//! Readiness by protocol: ZooKeeper answers `srvr`; every broker's metadata lists all
//! brokers; in KRaft the quorum has a leader. Waiting (not measuring): polls every 250 ms.

use super::plan::Role;
use crate::docker::inventory::{Cluster, RunningService};
use crate::docker::{logs, DockerError};
use crate::kafka::{metadata, wire::Connection};
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
) -> Result<(), DockerError> {
    let deadline = Instant::now() + timeout;
    for service in &cluster.services {
        let left = deadline.saturating_duration_since(Instant::now());
        wait_service(engines, cluster, service, left.max(Duration::from_secs(1))).await?;
    }
    Ok(())
}

pub async fn wait_service(
    engines: &crate::docker::engines::Engines,
    cluster: &Cluster,
    service: &RunningService,
    timeout: Duration,
) -> Result<(), DockerError> {
    let docker = engines.of(service);
    let started = Instant::now();
    let mut refused_since: Option<Instant> = None;
    loop {
        let mut last = match check(cluster, service).await {
            Ok(()) => return Ok(()),
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
        if let Ok(inspect) = docker.inspect_container(&service.container_id, None).await {
            let state = inspect.state.unwrap_or_default();
            if state.running == Some(false) && state.paused != Some(true) {
                last = format!("container exited (code {})", state.exit_code.unwrap_or(-1));
                return Err(not_ready(docker, service, started, last).await);
            }
        }
        if started.elapsed() >= timeout {
            return Err(not_ready(docker, service, started, last).await);
        }
        tokio::time::sleep(POLL).await;
    }
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
pub async fn check(cluster: &Cluster, service: &RunningService) -> Result<(), Unready> {
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
            let mut conn = Connection::connect(addr, REQUEST_TIMEOUT)
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
