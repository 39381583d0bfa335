//! What runs: our containers found by their labels, as a cluster of services with roles.
//! The lowest layer of `docker`: faults act on these, the lifecycle creates them.

use crate::docker::{api, labels, DockerError};
use crate::events::ClusterMode;
use bollard::query_parameters::ListContainersOptionsBuilder;
use bollard::Docker;
use std::time::Duration;

pub(crate) const ROLE_KIND: &str = "chaos.role-kind";
pub(crate) const BOOTSTRAP: &str = "chaos.bootstrap";
pub(crate) const NETWORK: &str = "chaos.network";

/// KRaft when any broker runs in KRaft mode.
pub fn mode_of<'a>(roles: impl IntoIterator<Item = &'a Role>) -> ClusterMode {
    if roles
        .into_iter()
        .any(|r| matches!(r, Role::Broker { kraft: true, .. }))
    {
        ClusterMode::Kraft
    } else {
        ClusterMode::Zookeeper
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    ZooKeeper { client_port: u16 },
    Broker { id: i32, kraft: bool },
    Other,
}

impl Role {
    pub fn as_label(&self) -> String {
        match self {
            Role::ZooKeeper { client_port } => format!("zookeeper:{client_port}"),
            Role::Broker { id, kraft } => {
                format!("broker:{id}:{}", if *kraft { "kraft" } else { "zookeeper" })
            }
            Role::Other => "other".into(),
        }
    }
    pub fn from_label(s: &str) -> Role {
        let parts: Vec<&str> = s.split(':').collect();
        match parts.as_slice() {
            ["zookeeper", port] => port
                .parse()
                .map(|client_port| Role::ZooKeeper { client_port })
                .unwrap_or(Role::Other),
            ["broker", id, mode] => id
                .parse()
                .map(|id| Role::Broker {
                    id,
                    kraft: *mode == "kraft",
                })
                .unwrap_or(Role::Other),
            _ => Role::Other,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunningService {
    pub name: String,
    pub container_id: String,
    pub container_name: String,
    pub role: Role,
    pub host_bootstrap: Option<String>,
    /// Address on the cluster network (None while disconnected or stopped).
    pub ip: Option<String>,
    pub state: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    pub name: String,
    pub network: String,
    pub mode: crate::events::ClusterMode,
    pub config_hash: String,
    pub services: Vec<RunningService>,
    pub reused: bool,
    pub ready_after: Duration,
    /// Why a running cluster that could have been reused was replaced (it was not ready).
    pub replaced_unready: Option<String>,
}

impl Cluster {
    pub fn service(&self, name: &str) -> Option<&RunningService> {
        self.services.iter().find(|s| s.name == name)
    }
    pub fn brokers(&self) -> Vec<(&RunningService, i32)> {
        self.services
            .iter()
            .filter_map(|s| match s.role {
                Role::Broker { id, .. } => Some((s, id)),
                _ => None,
            })
            .collect()
    }
    pub fn broker_service(&self, id: i32) -> Option<&RunningService> {
        self.brokers()
            .into_iter()
            .find(|(_, b)| *b == id)
            .map(|(s, _)| s)
    }
    pub fn broker_id(&self, service: &str) -> Option<i32> {
        self.brokers()
            .into_iter()
            .find(|(s, _)| s.name == service)
            .map(|(_, id)| id)
    }
    /// (broker id, host address) of every broker.
    pub fn bootstrap(&self) -> Vec<(i32, String)> {
        self.brokers()
            .into_iter()
            .filter_map(|(s, id)| s.host_bootstrap.clone().map(|a| (id, a)))
            .collect()
    }
    pub fn bootstrap_list(&self) -> String {
        self.bootstrap()
            .into_iter()
            .map(|(_, a)| a)
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Our containers (of one cluster, or all), running or not.
pub async fn list(
    docker: &Docker,
    cluster: Option<&str>,
) -> Result<Vec<bollard::models::ContainerSummary>, DockerError> {
    let options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&labels::filter(cluster))
        .build();
    let found = docker
        .list_containers(Some(options))
        .await
        .map_err(api("list containers"))?;
    // The label filter is the daemon's; check again before anything destructive.
    Ok(found
        .into_iter()
        .filter(|c| labels::is_ours(c.labels.as_ref(), cluster))
        .collect())
}

/// A listed container's name, without Docker's leading slash.
pub fn name_of(c: &bollard::models::ContainerSummary) -> String {
    c.names
        .as_ref()
        .and_then(|n| n.first())
        .map(|n| n.trim_start_matches('/').to_string())
        .unwrap_or_default()
}

/// True when a listed container is running.
pub fn is_running(c: &bollard::models::ContainerSummary) -> bool {
    c.state.as_ref().map(|s| s.to_string()).as_deref() == Some("running")
}

/// Builds the view of a running cluster from its containers' labels alone.
pub async fn attach(docker: &Docker, cluster: Option<&str>) -> Result<Cluster, DockerError> {
    let containers = list(docker, cluster).await?;
    let mut names: Vec<String> = containers
        .iter()
        .filter_map(|c| c.labels.as_ref()?.get(labels::CLUSTER).cloned())
        .collect();
    names.sort();
    names.dedup();
    let name = match (cluster, names.as_slice()) {
        (Some(c), _) => c.to_string(),
        (None, [one]) => one.clone(),
        (None, []) => {
            return Err(DockerError::Other(
                "no cluster is running\n  hint: chaos up -f compose/seed.yml".into(),
            ))
        }
        (None, many) => {
            return Err(DockerError::Other(format!(
                "several clusters are running ({}); name one with --cluster",
                many.join(", ")
            )))
        }
    };
    let mut services = Vec::new();
    let mut network = format!("{name}-net");
    let mut config_hash = String::new();
    for c in containers
        .iter()
        .filter(|c| c.labels.as_ref().and_then(|l| l.get(labels::CLUSTER)) == Some(&name))
    {
        let l = c.labels.clone().unwrap_or_default();
        if l.get(labels::ROLE).map(String::as_str) != Some("service") {
            continue;
        }
        if let Some(n) = l.get(NETWORK) {
            network = n.clone();
        }
        config_hash = l.get(labels::CONFIG_HASH).cloned().unwrap_or_default();
        let ip = c
            .network_settings
            .as_ref()
            .and_then(|n| n.networks.as_ref())
            .and_then(|n| n.get(&network))
            .and_then(|e| e.ip_address.clone())
            .filter(|ip| !ip.is_empty());
        services.push(RunningService {
            name: l.get(labels::SERVICE).cloned().unwrap_or_default(),
            container_id: c.id.clone().unwrap_or_default(),
            container_name: name_of(c),
            role: Role::from_label(l.get(ROLE_KIND).map(String::as_str).unwrap_or("other")),
            host_bootstrap: l.get(BOOTSTRAP).cloned(),
            ip,
            state: c.state.as_ref().map(|s| s.to_string()).unwrap_or_default(),
        });
    }
    services.sort_by(|a, b| a.name.cmp(&b.name));
    let mode = mode_of(services.iter().map(|s| &s.role));
    Ok(Cluster {
        name,
        network,
        mode,
        config_hash,
        services,
        reused: false,
        ready_after: Duration::ZERO,
        replaced_unready: None,
    })
}
