//! Creating, reusing, attaching to and removing a cluster's containers and network.
//! Every resource carries our labels; nothing without them is touched.

use super::plan::{Plan, Role, ServicePlan};
use super::ready;
use crate::compose::{Condition, Mount};
use crate::docker::engines::Engines;
use crate::docker::{api, labels, DockerError};
use bollard::models::{
    ContainerCreateBody, EndpointSettings, HealthConfig, HostConfig, MountType, MountVolumeOptions,
    NetworkCreateRequest, NetworkingConfig, PortBinding, RestartPolicy, RestartPolicyNameEnum,
    VolumeCreateRequest,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder,
    RemoveContainerOptionsBuilder,
};
use bollard::Docker;
use std::collections::HashMap;
use std::time::{Duration, Instant};

pub use crate::docker::inventory::{attach, list, name_of, Cluster, RunningService};
use crate::docker::inventory::{BOOTSTRAP, NETWORK, NODE, ROLE_KIND};

/// What `up` does with a plan, given the containers of its cluster that exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartDecision {
    /// A cluster from the identical configuration exists: reuse it.
    Reuse,
    /// A cluster of that name exists but differs (or reuse is off): remove it, then start.
    Recreate,
    /// Nothing of that name exists: start.
    Start,
}

impl std::fmt::Display for StartDecision {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(match self {
            StartDecision::Reuse => "reuse the running cluster (same configuration)",
            StartDecision::Recreate => {
                "remove the existing cluster of that name and start a fresh one"
            }
            StartDecision::Start => "start a fresh cluster",
        })
    }
}

/// Pure: reuse only when every planned service exists with the plan's configuration hash.
pub fn decide_start(
    plan: &Plan,
    existing: &[bollard::models::ContainerSummary],
    reuse: bool,
) -> StartDecision {
    if existing.is_empty() {
        return StartDecision::Start;
    }
    let same = plan.services.iter().all(|s| {
        existing.iter().any(|c| {
            c.labels.as_ref().and_then(|l| l.get(labels::SERVICE)) == Some(&s.service.name)
                && c.labels.as_ref().and_then(|l| l.get(labels::CONFIG_HASH))
                    == Some(&plan.config_hash)
        })
    });
    if reuse && same {
        StartDecision::Reuse
    } else {
        StartDecision::Recreate
    }
}

pub struct UpOptions<'a> {
    pub reuse: bool,
    pub ready_timeout: Duration,
    pub progress: &'a (dyn Fn(&str) + Sync),
    /// How the readiness check connects to the brokers.
    pub profile: &'a crate::kafka::connect::Profile,
    /// Where each container's create-and-start runs when the caller may drop `up` half-way
    /// (a run's Ctrl-C): as a task of its own, which the caller then waits for, so no
    /// container is left created and never started. None: inline.
    pub in_flight: Option<&'a tokio_util::task::TaskTracker>,
}

/// Starts the plan's cluster (or reuses a running one with the same configuration hash) and
/// waits until ZooKeeper answers and every broker sees all brokers (KRaft: a quorum leader).
pub async fn up(
    engines: &Engines,
    plan: &Plan,
    options: &UpOptions<'_>,
) -> Result<Cluster, DockerError> {
    let started = Instant::now();
    let mut existing = Vec::new();
    for docker in engines.all() {
        existing.extend(list(docker, Some(&plan.cluster)).await?);
    }
    let decision = decide_start(plan, &existing, options.reuse);
    let mut replaced = None;
    if decision == StartDecision::Reuse {
        (options.progress)(&format!(
            "reusing running cluster {} (same configuration)",
            plan.cluster
        ));
        crate::docker::faults::heal_everything(
            engines,
            &labels::Scope::Cluster(plan.cluster.clone()),
        )
        .await?;
        let cluster = attach(engines, Some(&plan.cluster)).await?;
        // A healthy reused cluster is ready at once; one that an earlier run left broken
        // (e.g. a broker that never registered again) is replaced instead of failing the run.
        let patience = options.ready_timeout.min(REUSE_READY_TIMEOUT);
        match ready::wait(engines, &cluster, patience, options.profile).await {
            Ok(()) => {
                let mut cluster = attach(engines, Some(&plan.cluster)).await?;
                cluster.reused = true;
                cluster.ready_after = started.elapsed();
                return Ok(cluster);
            }
            Err(e) => {
                let why = format!(
                    "the running cluster {} was not ready within {} s ({e}): replaced by a fresh one",
                    plan.cluster,
                    patience.as_secs()
                );
                (options.progress)(&why);
                replaced = Some(why);
            }
        }
    }
    if decision == StartDecision::Recreate || replaced.is_some() {
        if replaced.is_none() {
            (options.progress)(&format!(
                "removing cluster {} (configuration changed)",
                plan.cluster
            ));
        }
        down(engines, Some(&plan.cluster)).await?;
    }
    refuse_foreign_names(engines, plan).await?;
    for docker in engines.all() {
        free_ports_held_by_our_other_clusters(engines, docker, plan, options.progress).await?;
    }
    // The cluster network on every engine in use (`down` removes it from each).
    for docker in engines.all() {
        create_network(docker, plan).await?;
    }
    create_volumes(engines, plan).await?;
    for service in &plan.services {
        for dep in &service.service.depends_on {
            wait_for_dependency(engines, plan, dep, options).await?;
        }
        (options.progress)(&format!("starting {}", service.service.name));
        start_service(engines, plan, service, options.in_flight).await?;
    }
    let cluster = attach(engines, Some(&plan.cluster)).await?;
    (options.progress)("waiting for the cluster to be ready");
    ready::wait(engines, &cluster, options.ready_timeout, options.profile).await?;
    let mut cluster = attach(engines, Some(&plan.cluster)).await?;
    cluster.ready_after = started.elapsed();
    cluster.replaced_unready = replaced;
    Ok(cluster)
}

/// Waits until a dependency has reached its `depends_on` condition. ZooKeeper is also waited
/// for when only its start is asked: Kafka gives up on it after
/// `zookeeper.connection.timeout.ms`.
async fn wait_for_dependency(
    engines: &Engines,
    plan: &Plan,
    dep: &crate::compose::Dependency,
    options: &UpOptions<'_>,
) -> Result<(), DockerError> {
    let Some(planned) = plan.services.iter().find(|s| s.service.name == dep.service) else {
        return Ok(());
    };
    let is_zookeeper = matches!(planned.role, Role::ZooKeeper { .. });
    if dep.condition == Condition::ServiceStarted && !is_zookeeper {
        return Ok(());
    }
    let partial = attach(engines, Some(&plan.cluster)).await?;
    let Some(running) = partial.service(&dep.service) else {
        return Ok(());
    };
    match dep.condition {
        Condition::ServiceStarted => {
            ready::wait_service(
                engines,
                &partial,
                running,
                options.ready_timeout,
                options.profile,
            )
            .await
        }
        Condition::ServiceHealthy => {
            (options.progress)(&format!("waiting for {} to be healthy", dep.service));
            ready::wait_healthy(engines.of(running), running, options.ready_timeout).await
        }
        Condition::ServiceCompletedSuccessfully => {
            (options.progress)(&format!("waiting for {} to complete", dep.service));
            ready::wait_completed(engines.of(running), running, options.ready_timeout).await
        }
    }
}

/// The plan's named volumes, on each engine that runs a service mounting one, with our
/// labels (so `down` removes them); an external one must exist already.
async fn create_volumes(engines: &Engines, plan: &Plan) -> Result<(), DockerError> {
    for (key, planned) in &plan.volumes {
        for node in &planned.nodes {
            let docker = engines.on(node.as_deref());
            let found = docker.inspect_volume(&planned.name).await;
            if planned.volume.external {
                if found.is_err() {
                    return Err(DockerError::Other(format!(
                        "volume {key}: the external volume {} does not exist\n  hint: create it \
                         (docker volume create {}) or drop `external: true` to let chaos create it",
                        planned.name, planned.name
                    )));
                }
                continue;
            }
            if let Ok(found) = found {
                if labels::is_ours(Some(&found.labels), Some(&plan.cluster)) {
                    continue;
                }
                return Err(DockerError::Foreign {
                    name: format!("volume {}", planned.name),
                    cluster: plan.cluster.clone(),
                });
            }
            let mut volume_labels: HashMap<String, String> =
                planned.volume.labels.clone().into_iter().collect();
            volume_labels.extend(labels::for_cluster(&plan.cluster));
            let request = VolumeCreateRequest {
                name: Some(planned.name.clone()),
                driver: planned.volume.driver.clone(),
                driver_opts: Some(planned.volume.driver_opts.clone().into_iter().collect())
                    .filter(|o: &HashMap<String, String>| !o.is_empty()),
                labels: Some(volume_labels),
                ..Default::default()
            };
            docker
                .create_volume(request)
                .await
                .map_err(api(format!("create volume {}", planned.name)))?;
        }
    }
    Ok(())
}

/// How long a reused cluster may take to be ready before it is replaced.
const REUSE_READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Only one of our clusters can hold a host port: another one of ours that publishes a port
/// this plan needs is removed (with a message). Foreign containers are never touched; if one
/// holds the port, starting fails with a hint.
async fn free_ports_held_by_our_other_clusters(
    engines: &Engines,
    docker: &Docker,
    plan: &Plan,
    progress: &(dyn Fn(&str) + Sync),
) -> Result<(), DockerError> {
    let wanted: Vec<u16> = plan
        .services
        .iter()
        .flat_map(|s| s.service.ports.iter().map(|p| p.host_port))
        .collect();
    let mut holders: Vec<String> = list(docker, None)
        .await?
        .into_iter()
        .filter(|c| {
            c.ports.as_ref().is_some_and(|ports| {
                ports
                    .iter()
                    .any(|p| p.public_port.is_some_and(|pp| wanted.contains(&pp)))
            })
        })
        .filter_map(|c| c.labels.as_ref()?.get(labels::CLUSTER).cloned())
        .filter(|name| *name != plan.cluster)
        .collect();
    holders.sort();
    holders.dedup();
    for other in holders {
        progress(&format!(
            "removing cluster {other}: it holds host ports that {} needs",
            plan.cluster
        ));
        down(engines, Some(&other)).await?;
    }
    Ok(())
}

async fn refuse_foreign_names(engines: &Engines, plan: &Plan) -> Result<(), DockerError> {
    for service in &plan.services {
        let docker = engines.on(service.service.node.as_deref());
        if let Ok(found) = docker
            .inspect_container(&service.container_name, None)
            .await
        {
            let ours = labels::is_ours(
                found.config.as_ref().and_then(|c| c.labels.as_ref()),
                Some(&plan.cluster),
            );
            if !ours {
                return Err(DockerError::Foreign {
                    name: service.container_name.clone(),
                    cluster: plan.cluster.clone(),
                });
            }
        }
    }
    Ok(())
}

async fn create_network(docker: &Docker, plan: &Plan) -> Result<(), DockerError> {
    if let Ok(found) = docker
        .inspect_network(
            &plan.network,
            None::<bollard::query_parameters::InspectNetworkOptions>,
        )
        .await
    {
        if labels::is_ours(found.labels.as_ref(), Some(&plan.cluster)) {
            return Ok(());
        }
        return Err(DockerError::Foreign {
            name: format!("network {}", plan.network),
            cluster: plan.cluster.clone(),
        });
    }
    let request = NetworkCreateRequest {
        name: plan.network.clone(),
        driver: Some("bridge".into()),
        labels: Some(labels::for_cluster(&plan.cluster)),
        ..Default::default()
    };
    docker
        .create_network(request)
        .await
        .map_err(api(format!("create network {}", plan.network)))?;
    Ok(())
}

/// One service's container created and started: on `in_flight` when given (it then finishes
/// even if `up` is dropped half-way), else inline.
async fn start_service(
    engines: &Engines,
    plan: &Plan,
    service: &ServicePlan,
    in_flight: Option<&tokio_util::task::TaskTracker>,
) -> Result<(), DockerError> {
    let create_and_start = create_and_start(
        engines.on(service.service.node.as_deref()).clone(),
        service.container_name.clone(),
        service.service.image.clone(),
        container_body(plan, service),
    );
    match in_flight {
        Some(tracker) => tracker
            .spawn(create_and_start)
            .await
            .map_err(|e| DockerError::Other(format!("starting {}: {e}", service.container_name)))?,
        None => create_and_start.await,
    }
}

/// Owns what it needs: it may run as a task of its own (`UpOptions::in_flight`).
async fn create_and_start(
    docker: Docker,
    container_name: String,
    image: String,
    body: bollard::models::ContainerCreateBody,
) -> Result<(), DockerError> {
    let options = CreateContainerOptionsBuilder::default()
        .name(&container_name)
        .build();
    docker
        .create_container(Some(options), body)
        .await
        .map_err(api(format!("create container {container_name} ({image})")))?;
    docker
        .start_container(&container_name, None::<bollard::query_parameters::StartContainerOptions>)
        .await
        .map_err(|e| {
            // Docker answers a taken port with a 500 whose message is the only tell.
            let hint = if e.to_string().contains("port is already allocated") || e.to_string().contains("address already in use") {
                "\n  hint: a published port is taken by another process or container; free it or change the port in the compose file"
            } else {
                ""
            };
            DockerError::Other(format!("start {container_name}: {e}{hint}"))
        })?;
    Ok(())
}

// Long: one Docker field per compose key the loader understands (labels, ports, mounts,
// healthcheck, …)
/// The container a service plan asks for: our labels, ports on loopback unless the compose
/// file names an address, no restart policy, the cluster network with the service's aliases.
fn container_body(plan: &Plan, service: &ServicePlan) -> ContainerCreateBody {
    let s = &service.service;
    let mut container_labels: HashMap<String, String> = s.labels.clone().into_iter().collect();
    container_labels.extend(labels::for_service(
        &plan.cluster,
        &s.name,
        labels::ContainerRole::Service,
    ));
    container_labels.insert(labels::CONFIG_HASH.into(), plan.config_hash.clone());
    container_labels.insert(ROLE_KIND.into(), service.role.as_label());
    container_labels.insert(NETWORK.into(), plan.network.clone());
    if let Some(b) = &service.host_bootstrap {
        container_labels.insert(BOOTSTRAP.into(), b.clone());
    }
    if let Some(node) = &s.node {
        container_labels.insert(NODE.into(), node.clone());
    }
    let mut bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for p in &s.ports {
        bindings
            .entry(format!("{}/{}", p.container_port, p.protocol))
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(PortBinding {
                // Published on loopback unless the compose file names an address on purpose.
                host_ip: Some(p.host_ip.clone().unwrap_or_else(|| "127.0.0.1".into())),
                host_port: Some(p.host_port.to_string()),
            });
    }
    let (mut binds, mut mounts, mut tmpfs) = (Vec::new(), Vec::new(), HashMap::new());
    for m in &s.mounts {
        match m {
            Mount::Volume {
                source,
                target,
                read_only,
                nocopy,
            } => mounts.push(bollard::models::Mount {
                target: Some(target.clone()),
                // None: an anonymous volume, removed with the container.
                source: source
                    .as_ref()
                    .map(|k| plan.volumes.get(k).map_or(k.clone(), |v| v.name.clone())),
                typ: Some(MountType::VOLUME),
                read_only: Some(*read_only),
                volume_options: nocopy.then(|| MountVolumeOptions {
                    no_copy: Some(true),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            // The `Binds` form: the engine creates a missing host directory, as compose does.
            Mount::Bind {
                source,
                target,
                read_only,
                options,
            } => {
                let mut opts: Vec<&str> = options.iter().map(String::as_str).collect();
                if *read_only {
                    opts.push("ro");
                }
                let suffix = if opts.is_empty() {
                    String::new()
                } else {
                    format!(":{}", opts.join(","))
                };
                binds.push(format!("{}:{target}{suffix}", source.display()));
            }
            Mount::Tmpfs { target, options } => {
                tmpfs.insert(target.clone(), options.clone());
            }
        }
    }
    let hostname = s.hostname.clone().unwrap_or_else(|| s.name.clone());
    let mut aliases = vec![s.name.clone()];
    if hostname != s.name {
        aliases.push(hostname.clone());
    }
    let body = ContainerCreateBody {
        image: Some(s.image.clone()),
        hostname: Some(hostname),
        env: Some(
            s.environment
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect(),
        ),
        cmd: s.command.clone(),
        entrypoint: s.entrypoint.clone(),
        labels: Some(container_labels),
        exposed_ports: Some(bindings.keys().cloned().collect()),
        healthcheck: s.healthcheck.as_ref().map(|h| HealthConfig {
            test: Some(h.test.clone()),
            interval: h.interval.map(|d| d.as_nanos() as i64),
            timeout: h.timeout.map(|d| d.as_nanos() as i64),
            retries: h.retries.map(i64::from),
            start_period: h.start_period.map(|d| d.as_nanos() as i64),
            ..Default::default()
        }),
        host_config: Some(HostConfig {
            port_bindings: Some(bindings),
            binds: Some(binds).filter(|b| !b.is_empty()),
            mounts: Some(mounts).filter(|m| !m.is_empty()),
            tmpfs: Some(tmpfs).filter(|t| !t.is_empty()),
            network_mode: Some(plan.network.clone()),
            // Across nodes: the other nodes' services by name, at their node's address.
            extra_hosts: Some(service.placement.extra_hosts.clone()).filter(|h| !h.is_empty()),
            // Docker must never undo a fault by restarting a killed broker.
            restart_policy: Some(RestartPolicy {
                name: Some(RestartPolicyNameEnum::NO),
                maximum_retry_count: None,
            }),
            privileged: Some(false),
            ..Default::default()
        }),
        networking_config: Some(NetworkingConfig {
            endpoints_config: Some(HashMap::from([(
                plan.network.clone(),
                EndpointSettings {
                    aliases: Some(aliases),
                    ..Default::default()
                },
            )])),
        }),
        ..Default::default()
    };
    body
}

/// Removes our containers and networks (of one cluster, or all) on every engine in use.
/// Returns what it removed.
pub async fn down(engines: &Engines, cluster: Option<&str>) -> Result<Vec<String>, DockerError> {
    let mut removed = Vec::new();
    for (node, docker) in engines.named() {
        let here = down_on(docker, cluster).await?;
        removed.extend(here.into_iter().map(|r| match node {
            Some(n) => format!("{r} on {}", n.name),
            None => r,
        }));
    }
    Ok(removed)
}

/// [`down`] on one engine.
pub async fn down_on(docker: &Docker, cluster: Option<&str>) -> Result<Vec<String>, DockerError> {
    let mut removed = Vec::new();
    for c in list(docker, cluster).await? {
        let Some(id) = c.id.clone() else { continue };
        let name = name_of(&c);
        let options = RemoveContainerOptionsBuilder::default()
            .force(true)
            .v(true)
            .build();
        match docker.remove_container(&id, Some(options)).await {
            Ok(()) => removed.push(format!("container {name}")),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => {}
            Err(e) => return Err(api(format!("remove container {name}"))(e)),
        }
    }
    let options = ListNetworksOptionsBuilder::default()
        .filters(&labels::filter(cluster))
        .build();
    let networks = docker
        .list_networks(Some(options))
        .await
        .map_err(api("list networks"))?;
    for n in networks
        .into_iter()
        .filter(|n| labels::is_ours(n.labels.as_ref(), cluster))
    {
        let Some(name) = n.name else { continue };
        docker
            .remove_network(&name)
            .await
            .map_err(api(format!("remove network {name}")))?;
        removed.push(format!("network {name}"));
    }
    // Named volumes go with the cluster (a fresh cluster starts from empty data), never an
    // external one: those carry no labels of ours.
    let options = ListVolumesOptionsBuilder::default()
        .filters(&labels::filter(cluster))
        .build();
    let volumes = docker
        .list_volumes(Some(options))
        .await
        .map_err(api("list volumes"))?;
    for v in volumes
        .volumes
        .unwrap_or_default()
        .into_iter()
        .filter(|v| labels::is_ours(Some(&v.labels), cluster))
    {
        match docker
            .remove_volume(
                &v.name,
                None::<bollard::query_parameters::RemoveVolumeOptions>,
            )
            .await
        {
            Ok(()) => removed.push(format!("volume {}", v.name)),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => {}
            Err(e) => return Err(api(format!("remove volume {}", v.name))(e)),
        }
    }
    Ok(removed)
}
