//! What runs: our containers found by their labels, as a cluster of services with roles.
//! The lowest layer of `docker`: faults act on these, the lifecycle creates them.

use crate::docker::{api, labels, DockerError};
pub use crate::platform::{mode_of, Cluster, Role, RunningService};
use bollard::query_parameters::ListContainersOptionsBuilder;
use bollard::Docker;
use std::time::Duration;

pub(crate) const ROLE_KIND: &str = "chaos.role-kind";
pub(crate) const BOOTSTRAP: &str = "chaos.bootstrap";
pub(crate) const NETWORK: &str = "chaos.network";

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
