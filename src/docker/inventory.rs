//! What runs: our containers found by their labels, as a cluster of services with roles.
//! The lowest layer of `docker`: faults act on these, the lifecycle creates them.

use crate::compose::{ComposeProject, PortMapping, Service};
use crate::docker::labels::Scope;
use crate::docker::{api, labels, DockerError};
pub use crate::platform::{mode_of, Cluster, ContainerState, Origin, Role, RunningService};
use bollard::query_parameters::ListContainersOptionsBuilder;
use bollard::Docker;
use std::time::Duration;

pub(crate) const ROLE_KIND: &str = "chaos.role-kind";
pub(crate) const BOOTSTRAP: &str = "chaos.bootstrap";
pub(crate) const NETWORK: &str = "chaos.network";
/// The service's placement (`x-chaos-node`), when it has one.
pub(crate) const NODE: &str = "chaos.node";

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

/// A listed container's state, in the platform's terms.
fn container_state(c: &bollard::models::ContainerSummary) -> ContainerState {
    c.state
        .as_ref()
        .map(|s| ContainerState::from_docker(s.as_ref()))
        .unwrap_or_default()
}

/// True when a listed container is running.
pub fn is_running(c: &bollard::models::ContainerSummary) -> bool {
    container_state(c) == ContainerState::Running
}

/// Builds the view of a running cluster from its containers' labels alone, on every engine
/// in use (each service's node is in its labels).
pub async fn attach(
    engines: &super::engines::Engines,
    cluster: Option<&str>,
) -> Result<Cluster, DockerError> {
    let mut containers = Vec::new();
    for docker in engines.all() {
        containers.extend(list(docker, cluster).await?);
    }
    let mut found = from_containers(&containers, cluster)?;
    found.nodes = engines.node_infos();
    Ok(found)
}

/// [`attach`] on one engine.
pub async fn attach_on(docker: &Docker, cluster: Option<&str>) -> Result<Cluster, DockerError> {
    from_containers(&list(docker, cluster).await?, cluster)
}

/// The clusters these containers belong to, sorted, each once.
pub fn cluster_names(containers: &[bollard::models::ContainerSummary]) -> Vec<String> {
    let mut names: Vec<String> = containers
        .iter()
        .filter_map(|c| c.labels.as_ref()?.get(labels::CLUSTER).cloned())
        .collect();
    names.sort();
    names.dedup();
    names
}

// Long: each labelled container read into a service (role, state, address), then the cluster's mode
// and nodes
fn from_containers(
    containers: &[bollard::models::ContainerSummary],
    cluster: Option<&str>,
) -> Result<Cluster, DockerError> {
    let names = cluster_names(containers);
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
        if labels::ContainerRole::of(&l) != Some(labels::ContainerRole::Service) {
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
        let role = Role::from_label(l.get(ROLE_KIND).map(String::as_str).unwrap_or("other"));
        let state = match container_state(c) {
            // Docker's status text is the summary's only word on the exit code.
            ContainerState::Exited
                if matches!(role, Role::Other)
                    && c.status
                        .as_deref()
                        .is_some_and(|s| s.starts_with("Exited (0)")) =>
            {
                ContainerState::Completed
            }
            state => state,
        };
        services.push(RunningService {
            name: l.get(labels::SERVICE).cloned().unwrap_or_default(),
            container_id: c.id.clone().unwrap_or_default(),
            container_name: name_of(c),
            role,
            host_bootstrap: l.get(BOOTSTRAP).cloned(),
            ip,
            state,
            node: l.get(NODE).cloned(),
        });
    }
    services.sort_by(|a, b| a.name.cmp(&b.name));
    let mode = mode_of(services.iter().map(|s| &s.role));
    Ok(Cluster {
        name,
        origin: Origin::Started,
        network,
        mode,
        config_hash,
        services,
        reused: false,
        ready_after: Duration::ZERO,
        replaced_unready: None,
        nodes: Vec::new(),
    })
}

/// The running view of whatever `scope` names: our cluster, or an attached project (on the
/// local engine: attaching spans one engine).
pub async fn view(
    engines: &super::engines::Engines,
    scope: &Scope,
) -> Result<Cluster, DockerError> {
    match scope {
        Scope::Cluster(name) => attach(engines, Some(name)).await,
        Scope::Project(project) => attach_project(engines.local(), project)
            .await
            .map(|(c, _)| c),
    }
}

/// [`view`] of the containers on one engine.
pub async fn view_on(docker: &Docker, scope: &Scope) -> Result<Cluster, DockerError> {
    match scope {
        Scope::Cluster(name) => attach_on(docker, Some(name)).await,
        Scope::Project(project) => attach_project(docker, project).await.map(|(c, _)| c),
    }
}

// Long: each container of a foreign project read into a service (role, ports, address) by our
// compose rules, then checked as a whole
/// A compose project someone else started (`docker compose -p <project> up`), seen as a
/// cluster: each container's service, role and host address come from its own configuration
/// (environment, published ports) by the rules a compose file of ours follows. Also returns
/// the project as a compose model, to check an experiment's service names against it.
pub async fn attach_project(
    docker: &Docker,
    project: &str,
) -> Result<(Cluster, ComposeProject), DockerError> {
    let scope = Scope::Project(project.to_string());
    let options = ListContainersOptionsBuilder::default()
        .all(true)
        .filters(&scope.filter())
        .build();
    let found = docker
        .list_containers(Some(options))
        .await
        .map_err(api("list containers"))?;
    let mut compose = ComposeProject {
        volumes: Default::default(),
        file: format!("compose project {project}").into(),
        name: Some(project.to_string()),
        services: Vec::new(),
    };
    let mut containers = Vec::new();
    for c in found.iter().filter(|c| scope.admits(c.labels.as_ref())) {
        let id = c.id.clone().unwrap_or_default();
        let inspect = docker
            .inspect_container(&id, None)
            .await
            .map_err(api(format!("inspect {}", name_of(c))))?;
        let config = inspect.config.unwrap_or_default();
        let labels = config.labels.unwrap_or_default();
        let service = Service {
            name: labels
                .get(labels::COMPOSE_SERVICE)
                .cloned()
                .unwrap_or_else(|| name_of(c)),
            image: config.image.unwrap_or_default(),
            environment: config
                .env
                .unwrap_or_default()
                .iter()
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ports: published_ports(inspect.host_config.as_ref()),
            container_name: Some(name_of(c)),
            ..Default::default()
        };
        let networks: Vec<(String, Option<String>)> = inspect
            .network_settings
            .and_then(|n| n.networks)
            .unwrap_or_default()
            .into_iter()
            .map(|(name, e)| (name, e.ip_address.filter(|ip| !ip.is_empty())))
            .collect();
        compose.services.push(service.clone());
        containers.push((c, service, networks));
    }
    if containers.is_empty() {
        return Err(DockerError::Other(format!(
            "no container of compose project `{project}` is there (label \
             com.docker.compose.project={project})\n  hint: start it (`docker compose -p {project} up -d`), \
             or check the name with `docker ps --format '{{{{.Label \"com.docker.compose.project\"}}}}'`"
        )));
    }
    // The cluster network: the one the brokers share, `<project>_default` first.
    let default = format!("{project}_default");
    let mut shared: Vec<String> = containers
        .iter()
        .filter(|(_, s, _)| matches!(role_of(s), Role::Broker { .. }))
        .flat_map(|(_, _, n)| n.iter().map(|(name, _)| name.clone()))
        .collect();
    shared.sort_by_key(|n| (*n != default, n.clone()));
    let network = shared.into_iter().next().unwrap_or(default);
    let mut services = Vec::new();
    for (c, service, networks) in &containers {
        let role = role_of(service);
        let host_bootstrap = host_bootstrap(service);
        if matches!(role, Role::Broker { .. }) && host_bootstrap.is_none() {
            return Err(DockerError::Other(format!(
                "compose project {project}, service {}: no advertised listener this host can reach\n  \
                 hint: advertise one on localhost and publish its port (e.g. \
                 PLAINTEXT_HOST://localhost:29092 with ports \"127.0.0.1:29092:29092\")",
                service.name
            )));
        }
        services.push(RunningService {
            name: service.name.clone(),
            container_id: c.id.clone().unwrap_or_default(),
            container_name: name_of(c),
            role,
            host_bootstrap,
            ip: networks
                .iter()
                .find(|(n, _)| *n == network)
                .and_then(|(_, ip)| ip.clone()),
            state: container_state(c),
            node: None,
        });
    }
    services.sort_by(|a, b| a.name.cmp(&b.name));
    let mode = mode_of(services.iter().map(|s| &s.role));
    let cluster = Cluster::found(
        project.to_string(),
        Origin::Attached {
            project: project.to_string(),
        },
        network,
        mode,
        services,
    );
    Ok((cluster, compose))
}

/// The container ports published on the host, as compose mappings.
fn published_ports(host: Option<&bollard::models::HostConfig>) -> Vec<PortMapping> {
    let Some(bindings) = host.and_then(|h| h.port_bindings.as_ref()) else {
        return Vec::new();
    };
    let mut ports = Vec::new();
    for (container, published) in bindings {
        let (port, protocol) = container.split_once('/').unwrap_or((container, "tcp"));
        let Ok(container_port) = port.parse() else {
            continue;
        };
        for b in published.iter().flatten() {
            if let Some(host_port) = b.host_port.as_deref().and_then(|p| p.parse().ok()) {
                ports.push(PortMapping {
                    host_ip: b.host_ip.clone().filter(|ip| !ip.is_empty()),
                    host_port,
                    container_port,
                    protocol: protocol.to_string(),
                });
            }
        }
    }
    ports
}

/// ZooKeeper when it has a client port; a broker when it has a broker/node id.
pub fn role_of(service: &Service) -> Role {
    use crate::compose::convention::{zookeeper_client_port, Convention};
    if let Some(port) = zookeeper_client_port(service) {
        return Role::ZooKeeper { client_port: port };
    }
    // In the image's own terms (KAFKA_NODE_ID, or bitnami's KAFKA_CFG_NODE_ID).
    match crate::compose::convention::broker_id(service) {
        Some(id) => Role::Broker {
            id,
            kraft: Convention::of(service)
                .get(service, "process.roles")
                .is_some(),
        },
        None => Role::Other,
    }
}

/// The first advertised listener on localhost/127.0.0.1 whose port is published.
pub(crate) fn host_bootstrap(service: &Service) -> Option<String> {
    let convention = crate::compose::convention::Convention::of(service);
    let advertised = convention.get(service, "advertised.listeners")?;
    advertised.split(',').find_map(|listener| {
        let (_, address) = listener.trim().split_once("://")?;
        let (host, port) = address.rsplit_once(':')?;
        let port: u16 = port.parse().ok()?;
        if host != "localhost" && host != "127.0.0.1" {
            return None;
        }
        service
            .ports
            .iter()
            .find(|p| p.container_port == port)
            .map(|p| format!("127.0.0.1:{}", p.host_port))
    })
}
