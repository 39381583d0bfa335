//! The Docker engines a cluster runs on: the one the harness talks to by default, or the
//! nodes of a nodes file (one engine per node). Per-container calls go to the engine that
//! owns the container ([`Engines::of`]); cluster-wide ones (list, heal, remove, events) go
//! to every engine in use.

use super::DockerError;
use crate::nodes::NodesFile;
use crate::platform::{NodeInfo, RunningService};
use bollard::Docker;
use std::time::{Duration, Instant};

#[derive(Clone)]
pub struct Engines {
    local: Docker,
    nodes: Vec<(NodeInfo, Docker)>,
}

impl Engines {
    /// The one engine (`DOCKER_HOST` or the default socket).
    pub fn one(local: Docker) -> Engines {
        Engines {
            local,
            nodes: Vec::new(),
        }
    }

    /// The local engine, and each node's when a nodes file is given (each pinged, its
    /// clock offset measured).
    pub async fn connect(nodes: Option<&NodesFile>) -> Result<Engines, DockerError> {
        let local = super::connect().await?;
        let mut engines = Engines::one(local);
        for node in nodes.iter().flat_map(|n| n.nodes.values()) {
            let docker = connect_node(&node.engine, node.tls.as_ref()).await?;
            let (offset, error) =
                clock_offset(&docker)
                    .await
                    .map_err(|source| DockerError::Clock {
                        engine: format!("{} (node {})", node.engine, node.name),
                        source,
                    })?;
            engines.nodes.push((
                NodeInfo {
                    name: node.name.clone(),
                    engine: node.engine.clone(),
                    address: node.address.clone(),
                    clock_offset_ns: offset,
                    clock_error_ns: error,
                },
                docker,
            ));
        }
        Ok(engines)
    }

    /// An inert client, for a run whose every cluster is on Kubernetes: it needs no Docker
    /// (the machine may have none) and calls nothing through it. It points at the discard
    /// port of 127.0.0.1, so a call made by mistake fails at once instead of reaching a daemon.
    pub fn unconnected() -> Result<Engines, DockerError> {
        let local = bollard::Docker::connect_with_http(
            "http://127.0.0.1:9",
            1,
            bollard::API_DEFAULT_VERSION,
        )
        .map_err(|e| DockerError::NotReachable {
            socket: "http://127.0.0.1:9".into(),
            reason: e.to_string(),
        })?;
        Ok(Engines::one(local))
    }

    /// The engine images are built on and unplaced services run on.
    pub fn local(&self) -> &Docker {
        &self.local
    }

    /// The engine of a node by name; the local engine for unplaced services, and for every
    /// placement name when no nodes file is given (all nodes on one engine).
    pub fn on(&self, node: Option<&str>) -> &Docker {
        node.and_then(|n| self.nodes.iter().find(|(i, _)| i.name == n))
            .map_or(&self.local, |(_, d)| d)
    }

    pub fn of(&self, service: &RunningService) -> &Docker {
        self.on(service.node.as_deref())
    }

    /// Every engine in use: the nodes', or the local one.
    pub fn all(&self) -> Vec<&Docker> {
        self.named().into_iter().map(|(_, d)| d).collect()
    }

    /// Every engine in use with its node (None: the local engine).
    pub fn named(&self) -> Vec<(Option<&NodeInfo>, &Docker)> {
        if self.nodes.is_empty() {
            vec![(None, &self.local)]
        } else {
            self.nodes.iter().map(|(i, d)| (Some(i), d)).collect()
        }
    }

    /// The nodes, with their clock offsets (empty on one engine).
    pub fn node_infos(&self) -> Vec<NodeInfo> {
        self.nodes.iter().map(|(i, _)| i.clone()).collect()
    }

    pub fn is_several(&self) -> bool {
        !self.nodes.is_empty()
    }
}

pub(crate) async fn connect_node(
    engine: &str,
    tls: Option<&crate::nodes::EngineTls>,
) -> Result<Docker, DockerError> {
    let not_reachable = |reason: String| DockerError::NotReachable {
        socket: engine.to_string(),
        reason,
    };
    let docker = match tls {
        _ if engine.starts_with("unix://") => {
            Docker::connect_with_unix(engine, 120, bollard::API_DEFAULT_VERSION)
        }
        Some(t) => Docker::connect_with_ssl(
            engine,
            &t.key,
            &t.cert,
            &t.ca,
            120,
            bollard::API_DEFAULT_VERSION,
        ),
        None => Docker::connect_with_http(engine, 120, bollard::API_DEFAULT_VERSION),
    }
    .map_err(|e| not_reachable(format!("{e}{}", source_chain(&e))))?;
    let docker = tokio::time::timeout(Duration::from_secs(10), docker.negotiate_version())
        .await
        .map_err(|_| not_reachable("no answer within 10 s".into()))?
        .map_err(|e| not_reachable(format!("{e}{}", source_chain(&e))))?;
    docker
        .ping()
        .await
        .map_err(|e| not_reachable(format!("{e}{}", source_chain(&e))))?;
    Ok(docker)
}

/// The engine's clock minus ours, from its `/info` time taken at the midpoint of the
/// request; the best of five by round trip, after one that opens the connection. The error
/// is half that round trip (the daemon formats its time to the nanosecond).
async fn clock_offset(docker: &Docker) -> Result<(i64, i64), ClockError> {
    // A first request opens the connection (and its TLS session): not a sample.
    docker.info().await?;
    let mut best: Option<(i64, i64)> = None;
    for _ in 0..5 {
        let sent = Instant::now();
        let wall_sent = crate::clock::wall_now_ns();
        let info = docker.info().await?;
        let rtt = sent.elapsed().as_nanos() as i64;
        let Some(theirs) = info.system_time.as_deref().and_then(parse_rfc3339_ns) else {
            return Err(ClockError::NoSystemTime);
        };
        let offset = theirs - (wall_sent + rtt / 2);
        if best.is_none_or(|(_, e)| rtt / 2 < e) {
            best = Some((offset, rtt / 2));
        }
    }
    best.ok_or(ClockError::NoSample)
}

/// Why an engine's clock could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ClockError {
    #[error("{0}")]
    Info(#[from] bollard::errors::Error),
    #[error("the engine's /info has no SystemTime")]
    NoSystemTime,
    #[error("no clock sample")]
    NoSample,
}

/// The causes under an error (a TLS failure's reason is often two levels down).
fn source_chain(e: &dyn std::error::Error) -> String {
    let mut out = String::new();
    let mut next = e.source();
    while let Some(cause) = next {
        out.push_str(&format!(": {cause}"));
        next = cause.source();
    }
    out
}

/// Docker's `SystemTime`: RFC 3339 with nanoseconds, `Z` or a numeric offset.
fn parse_rfc3339_ns(s: &str) -> Option<i64> {
    let t = chrono::DateTime::parse_from_rfc3339(s).ok()?;
    t.timestamp_nanos_opt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_system_time_parses_with_either_offset_form() {
        assert_eq!(
            parse_rfc3339_ns("1970-01-01T00:00:01.5Z"),
            Some(1_500_000_000)
        );
        assert_eq!(
            parse_rfc3339_ns("1970-01-01T01:00:01.000000001+01:00"),
            Some(1_000_000_001)
        );
        assert_eq!(parse_rfc3339_ns("yesterday"), None);
    }
}
