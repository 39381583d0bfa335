//! Fault primitives on our own containers. Network faults run `iptables` / `tc` from a
//! sidecar that shares the target's network namespace with NET_ADMIN only, so they work on
//! any image (the target needs no tools and no extra capability).
//!
//! Rules live in a chain of our own (`CHAOS`) jumped to from INPUT and OUTPUT, so healing
//! removes exactly what we added.

use super::images::BASE_IMAGE;
use super::inventory::{self, Cluster, ContainerState, RunningService};
use super::labels::Scope;
use super::{api, labels, DockerError};
use crate::experiment::Direction;
use crate::platform::{Lifecycle, PlatformAction};
use bollard::exec::{StartExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, EndpointSettings, ExecConfig, HostConfig, NetworkConnectRequest,
    NetworkDisconnectRequest,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, KillContainerOptionsBuilder, RemoveContainerOptionsBuilder,
    StopContainerOptionsBuilder,
};
use bollard::Docker;
use futures_util::StreamExt;

const CHAIN: &str = "CHAOS";

fn guard(service: &RunningService) -> Result<(), DockerError> {
    // Every RunningService comes from `attach`, which only lists labelled containers; this
    // is the last line of defence against an id from elsewhere.
    if service.container_id.is_empty() {
        return Err(DockerError::Other(format!(
            "{}: no container",
            service.name
        )));
    }
    Ok(())
}

async fn ensure_ours(
    docker: &Docker,
    cluster: &Cluster,
    service: &RunningService,
) -> Result<(), DockerError> {
    guard(service)?;
    let inspect = docker
        .inspect_container(&service.container_id, None)
        .await
        .map_err(api(format!("inspect {}", service.name)))?;
    let scope = Scope::of(cluster);
    if scope.admits(inspect.config.as_ref().and_then(|c| c.labels.as_ref())) {
        return Ok(());
    }
    Err(match scope {
        Scope::Cluster(cluster) => DockerError::Foreign {
            name: service.container_name.clone(),
            cluster,
        },
        Scope::Project(project) => DockerError::NotInProject {
            name: service.container_name.clone(),
            project,
        },
    })
}

fn fault_err(
    action: Lifecycle,
    service: &RunningService,
) -> impl FnOnce(bollard::errors::Error) -> DockerError {
    let (fault, service) = (PlatformAction::Lifecycle(action), service.name.clone());
    move |e| DockerError::Fault {
        fault,
        service,
        reason: e.to_string(),
    }
}

pub async fn kill(
    docker: &Docker,
    cluster: &Cluster,
    s: &RunningService,
) -> Result<(), DockerError> {
    ensure_ours(docker, cluster, s).await?;
    let options = KillContainerOptionsBuilder::default()
        .signal("SIGKILL")
        .build();
    docker
        .kill_container(&s.container_id, Some(options))
        .await
        .map_err(fault_err(Lifecycle::Kill, s))
}

/// SIGTERM and wait (controlled shutdown moves leadership first).
pub async fn stop(
    docker: &Docker,
    cluster: &Cluster,
    s: &RunningService,
) -> Result<(), DockerError> {
    ensure_ours(docker, cluster, s).await?;
    let options = StopContainerOptionsBuilder::default().t(60).build();
    docker
        .stop_container(&s.container_id, Some(options))
        .await
        .map_err(fault_err(Lifecycle::Stop, s))
}

pub async fn start(
    docker: &Docker,
    cluster: &Cluster,
    s: &RunningService,
) -> Result<(), DockerError> {
    ensure_ours(docker, cluster, s).await?;
    match docker
        .start_container(
            &s.container_id,
            None::<bollard::query_parameters::StartContainerOptions>,
        )
        .await
    {
        Ok(()) => Ok(()),
        // 304: already running.
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 304, ..
        }) => Ok(()),
        Err(e) => Err(fault_err(Lifecycle::Start, s)(e)),
    }
}

pub async fn restart(
    docker: &Docker,
    cluster: &Cluster,
    s: &RunningService,
) -> Result<(), DockerError> {
    ensure_ours(docker, cluster, s).await?;
    let options = bollard::query_parameters::RestartContainerOptionsBuilder::default()
        .t(60)
        .build();
    docker
        .restart_container(&s.container_id, Some(options))
        .await
        .map_err(fault_err(Lifecycle::Restart, s))
}

pub async fn pause(
    docker: &Docker,
    cluster: &Cluster,
    s: &RunningService,
) -> Result<(), DockerError> {
    ensure_ours(docker, cluster, s).await?;
    // The cgroup freezer can fail to settle on a busy host ("unable to freeze": a task stuck in
    // the kernel); runc thaws the container again, so asking once more is safe. The fault's
    // time is the Docker `pause` event of the attempt that succeeded.
    let mut attempt = 0;
    loop {
        match docker.pause_container(&s.container_id).await {
            Ok(()) => return Ok(()),
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 500,
                message,
            }) if message.contains("unable to freeze") && attempt < 3 => {
                attempt += 1;
                tracing::warn!(
                    "pause of {} did not freeze ({message}); trying again",
                    s.name
                );
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            Err(e) => return Err(fault_err(Lifecycle::Pause, s)(e)),
        }
    }
}

pub async fn unpause(
    docker: &Docker,
    cluster: &Cluster,
    s: &RunningService,
) -> Result<(), DockerError> {
    ensure_ours(docker, cluster, s).await?;
    match docker.unpause_container(&s.container_id).await {
        Ok(()) => Ok(()),
        // Docker 20.10 answers 500 for "not paused" (no finer code): the status first, then
        // the daemon's message, which is all there is to tell it from a real failure.
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 500,
            message,
        }) if message.contains("is not paused") => Ok(()),
        Err(e) => Err(fault_err(Lifecycle::Unpause, s)(e)),
    }
}

pub async fn disconnect(
    docker: &Docker,
    cluster: &Cluster,
    s: &RunningService,
) -> Result<(), DockerError> {
    ensure_ours(docker, cluster, s).await?;
    let request = NetworkDisconnectRequest {
        container: s.container_id.clone(),
        force: Some(true),
    };
    docker
        .disconnect_network(&cluster.network, request)
        .await
        .map_err(fault_err(Lifecycle::Disconnect, s))
}

pub async fn connect(
    docker: &Docker,
    cluster: &Cluster,
    s: &RunningService,
) -> Result<(), DockerError> {
    ensure_ours(docker, cluster, s).await?;
    let request = NetworkConnectRequest {
        container: s.container_id.clone(),
        // The service name must resolve again for its peers.
        endpoint_config: Some(EndpointSettings {
            aliases: Some(vec![s.name.clone()]),
            ..Default::default()
        }),
    };
    match docker.connect_network(&cluster.network, request).await {
        Ok(()) => Ok(()),
        // 403 Forbidden: the endpoint already exists — it is connected already (measured on
        // Engine 20.10).
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 403, ..
        }) => Ok(()),
        Err(e) => Err(fault_err(Lifecycle::Connect, s)(e)),
    }
}

fn sidecar_name(s: &RunningService) -> String {
    format!("{}-netfault", s.container_name)
}

/// Creates (or finds) the sidecar in `s`'s network namespace.
async fn sidecar(
    docker: &Docker,
    cluster: &Cluster,
    s: &RunningService,
) -> Result<String, DockerError> {
    ensure_ours(docker, cluster, s).await?;
    let name = sidecar_name(s);
    if let Ok(found) = docker.inspect_container(&name, None).await {
        if labels::is_ours(
            found.config.as_ref().and_then(|c| c.labels.as_ref()),
            Some(&cluster.name),
        ) {
            if found.state.and_then(|s| s.running) == Some(true) {
                return Ok(name);
            }
            remove_sidecar(docker, &name).await?;
        } else {
            return Err(DockerError::Foreign {
                name,
                cluster: cluster.name.clone(),
            });
        }
    }
    let body = ContainerCreateBody {
        image: Some(BASE_IMAGE.into()),
        cmd: Some(vec!["sleep".into(), "infinity".into()]),
        labels: Some(Scope::of(cluster).helper_labels(&s.name, labels::ContainerRole::Sidecar)),
        host_config: Some(HostConfig {
            network_mode: Some(format!("container:{}", s.container_id)),
            cap_add: Some(vec!["NET_ADMIN".into()]),
            privileged: Some(false),
            auto_remove: Some(false),
            ..Default::default()
        }),
        ..Default::default()
    };
    let options = CreateContainerOptionsBuilder::default().name(&name).build();
    docker
        .create_container(Some(options), body)
        .await
        .map_err(api(format!("create sidecar {name}")))?;
    docker
        .start_container(
            &name,
            None::<bollard::query_parameters::StartContainerOptions>,
        )
        .await
        .map_err(api(format!("start sidecar {name}")))?;
    Ok(name)
}

async fn remove_sidecar(docker: &Docker, name: &str) -> Result<(), DockerError> {
    let options = RemoveContainerOptionsBuilder::default().force(true).build();
    match docker.remove_container(name, Some(options)).await {
        Ok(())
        | Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => Ok(()),
        Err(e) => Err(api(format!("remove sidecar {name}"))(e)),
    }
}

/// Runs a command in a container; returns (exit code, output).
pub async fn exec(
    docker: &Docker,
    container: &str,
    cmd: &[&str],
) -> Result<(i64, String), DockerError> {
    let config = ExecConfig {
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        cmd: Some(cmd.iter().map(|s| s.to_string()).collect()),
        ..Default::default()
    };
    let created = docker
        .create_exec(container, config)
        .await
        .map_err(api(format!("exec in {container}")))?;
    let mut output = String::new();
    if let StartExecResults::Attached {
        output: mut stream, ..
    } = docker
        .start_exec(&created.id, None::<StartExecOptions>)
        .await
        .map_err(api(format!("exec in {container}")))?
    {
        while let Some(chunk) = stream.next().await {
            if let Ok(chunk) = chunk {
                output.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
            }
        }
    }
    let inspect = docker
        .inspect_exec(&created.id)
        .await
        .map_err(api(format!("exec in {container}")))?;
    Ok((inspect.exit_code.unwrap_or(-1), output))
}

async fn run_in(
    docker: &Docker,
    sidecar: &str,
    service: &RunningService,
    fault: PlatformAction,
    cmd: &[&str],
) -> Result<(), DockerError> {
    let (code, output) = exec(docker, sidecar, cmd).await?;
    if code != 0 {
        return Err(DockerError::Fault {
            fault,
            service: service.name.clone(),
            reason: format!("`{}` exited {code}: {}", cmd.join(" "), output.trim()),
        });
    }
    Ok(())
}

/// The rules are the seam's (Kubernetes' helper adds the same).
pub use crate::platform::partition_rules;

/// Drops traffic between `target` and `peers`. Returns the rules added (for the heal).
pub async fn partition(
    docker: &Docker,
    cluster: &Cluster,
    target: &RunningService,
    peers: &[&RunningService],
    direction: Direction,
) -> Result<Vec<Vec<String>>, DockerError> {
    // A peer on another node is reached through its node's address (its published ports),
    // and its traffic arrives from that address: the rules name the node.
    let address_of = |p: &RunningService| match cluster.node_of(p) {
        Some(node) if p.node != target.node => Some(node.address.clone()),
        _ => p.ip.clone(),
    };
    let mut peer_ips: Vec<String> = peers
        .iter()
        .map(|p| {
            address_of(p).ok_or_else(|| DockerError::Fault {
                fault: PlatformAction::Partition,
                service: target.name.clone(),
                reason: format!(
                    "peer {} has no address on the cluster network (stopped or disconnected?)",
                    p.name
                ),
            })
        })
        .collect::<Result<_, _>>()?;
    peer_ips.sort();
    peer_ips.dedup();
    let sc = sidecar(docker, cluster, target).await?;
    let setup = format!(
        "iptables -N {CHAIN} 2>/dev/null; iptables -C INPUT -j {CHAIN} 2>/dev/null || iptables -I INPUT -j {CHAIN}; \
         iptables -C OUTPUT -j {CHAIN} 2>/dev/null || iptables -I OUTPUT -j {CHAIN}"
    );
    run_in(
        docker,
        &sc,
        target,
        PlatformAction::Partition,
        &["sh", "-c", &setup],
    )
    .await?;
    let rules = partition_rules(&peer_ips, direction);
    for rule in &rules {
        let mut cmd = vec!["iptables", "-A", CHAIN];
        cmd.extend(rule.iter().map(String::as_str));
        run_in(docker, &sc, target, PlatformAction::Partition, &cmd).await?;
    }
    Ok(rules)
}

pub async fn heal_partition(
    docker: &Docker,
    cluster: &Cluster,
    target: &RunningService,
    rules: &[Vec<String>],
) -> Result<(), DockerError> {
    if !is_running(docker, target).await {
        // Its network namespace went with it; a restart starts from a clean one.
        return remove_sidecar(docker, &sidecar_name(target)).await;
    }
    let sc = sidecar(docker, cluster, target).await?;
    for rule in rules {
        let mut cmd = vec!["iptables", "-D", CHAIN];
        cmd.extend(rule.iter().map(String::as_str));
        run_in(docker, &sc, target, PlatformAction::HealPartition, &cmd).await?;
    }
    Ok(())
}

/// Egress bandwidth limit with tc tbf (works without netem).
pub async fn bandwidth(
    docker: &Docker,
    cluster: &Cluster,
    target: &RunningService,
    rate: &str,
) -> Result<(), DockerError> {
    let sc = sidecar(docker, cluster, target).await?;
    let dev = cluster_interface(docker, &sc, target).await?;
    run_in(
        docker,
        &sc,
        target,
        PlatformAction::Bandwidth,
        &[
            "tc", "qdisc", "replace", "dev", &dev, "root", "tbf", "rate", rate, "burst", "32kbit",
            "latency", "400ms",
        ],
    )
    .await
}

/// The container's interface on the cluster network, read in its network namespace (the
/// sidecar shares it): not always eth0 — a container disconnected from the network and
/// connected again comes back on eth1, eth2, ….
async fn cluster_interface(
    docker: &Docker,
    sidecar: &str,
    target: &RunningService,
) -> Result<String, DockerError> {
    let (_, listed) = exec(docker, sidecar, &["ip", "-o", "-4", "addr", "show"]).await?;
    interface_with(&listed, target.ip.as_deref()).ok_or_else(|| {
        DockerError::Other(format!(
            "{}: no network interface but lo (`ip -o -4 addr show`: {listed})",
            target.container_name
        ))
    })
}

/// From `ip -o -4 addr show` ("2: eth2    inet 172.18.0.4/16 …"): the interface holding `ip`,
/// else the first that is not the loopback.
fn interface_with(listed: &str, ip: Option<&str>) -> Option<String> {
    let interfaces: Vec<(&str, &str)> = listed
        .lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let inet = fields.iter().position(|f| *f == "inet")?;
            let name = fields.get(1)?.split('@').next()?;
            Some((name, fields.get(inet + 1)?.split('/').next()?))
        })
        .filter(|(name, _)| *name != "lo")
        .collect();
    ip.and_then(|ip| interfaces.iter().find(|(_, a)| *a == ip))
        .or(interfaces.first())
        .map(|(name, _)| name.to_string())
}

pub async fn heal_bandwidth(
    docker: &Docker,
    cluster: &Cluster,
    target: &RunningService,
) -> Result<(), DockerError> {
    if !is_running(docker, target).await {
        return remove_sidecar(docker, &sidecar_name(target)).await;
    }
    let sc = sidecar(docker, cluster, target).await?;
    let dev = cluster_interface(docker, &sc, target).await?;
    let (_, _) = exec(docker, &sc, &["tc", "qdisc", "del", "dev", &dev, "root"]).await?;
    Ok(())
}

async fn is_running(docker: &Docker, s: &RunningService) -> bool {
    docker
        .inspect_container(&s.container_id, None)
        .await
        .ok()
        .and_then(|c| c.state?.running)
        .unwrap_or(false)
}

/// Whether this kernel has tc netem (delay / loss faults need it). Probed in a throwaway
/// sidecar of `target` on its loopback device, which nothing else uses.
pub async fn netem_available(
    docker: &Docker,
    cluster: &Cluster,
    target: &RunningService,
) -> Result<bool, DockerError> {
    let sc = sidecar(docker, cluster, target).await?;
    let (code, _) = exec(
        docker,
        &sc,
        &[
            "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms",
        ],
    )
    .await?;
    if code == 0 {
        let _ = exec(docker, &sc, &["tc", "qdisc", "del", "dev", "lo", "root"]).await?;
    }
    remove_sidecar(docker, &sidecar_name(target)).await?;
    Ok(code == 0)
}

/// Removes `s`'s sidecar once no fault needs it (clears our chain and qdisc first).
pub async fn remove_network_sidecar(
    docker: &Docker,
    s: &RunningService,
) -> Result<(), DockerError> {
    if !is_running(docker, s).await {
        return remove_sidecar(docker, &sidecar_name(s)).await;
    }
    clear_network_faults(docker, &sidecar_name(s)).await
}

/// Clears the rules and qdisc a sidecar added, then removes it.
pub async fn clear_network_faults(docker: &Docker, sidecar: &str) -> Result<(), DockerError> {
    let cleanup = format!(
        "iptables -D INPUT -j {CHAIN} 2>/dev/null; iptables -D OUTPUT -j {CHAIN} 2>/dev/null; \
         iptables -F {CHAIN} 2>/dev/null; iptables -X {CHAIN} 2>/dev/null; for d in /sys/class/net/*; do tc qdisc del dev $(basename $d) root 2>/dev/null; done; true"
    );
    // The script always exits 0; the exec itself fails only when the sidecar is not running,
    // i.e. its target's network namespace is gone, and the rules with it.
    let _ = exec(docker, sidecar, &["sh", "-c", &cleanup]).await;
    remove_sidecar(docker, sidecar).await
}

/// Removes a helper container (network-fault sidecar or tool); a running sidecar first clears
/// the rules and qdisc it added in its target's network namespace. Returns its name.
pub async fn retire_helper(
    docker: &Docker,
    c: &bollard::models::ContainerSummary,
) -> Result<String, DockerError> {
    let name = inventory::name_of(c);
    let sidecar = c.labels.as_ref().and_then(labels::ContainerRole::of)
        == Some(labels::ContainerRole::Sidecar);
    if sidecar && inventory::is_running(c) {
        clear_network_faults(docker, &name).await?;
    } else {
        remove_sidecar(docker, &name).await?;
    }
    Ok(name)
}

/// Brings every container of the cluster back: rules deleted and sidecars removed, paused
/// ones unpaused, disconnected ones reconnected, stopped ones started. Used by reverts on
/// abort, by a reused cluster, and by `chaos clean`. Returns what it did.
pub async fn heal_everything(
    engines: &super::engines::Engines,
    scope: &Scope,
) -> Result<Vec<String>, DockerError> {
    let mut done = Vec::new();
    for docker in engines.all() {
        done.extend(heal_everything_on(docker, scope).await?);
    }
    Ok(done)
}

/// [`heal_everything`] on one engine: the containers it runs.
async fn heal_everything_on(docker: &Docker, scope: &Scope) -> Result<Vec<String>, DockerError> {
    let mut done = Vec::new();
    let containers = inventory::list(docker, Some(scope.name())).await?;
    for c in &containers {
        let l = c.labels.clone().unwrap_or_default();
        if labels::ContainerRole::of(&l) == Some(labels::ContainerRole::Sidecar) {
            let name = retire_helper(docker, c).await?;
            done.push(format!(
                "removed network-fault sidecar {name} (rules cleared)"
            ));
        }
    }
    let cluster = match inventory::view_on(docker, scope).await {
        Ok(cluster) => cluster,
        // An attached project that is gone has nothing left to heal.
        Err(DockerError::Other(_)) if matches!(scope, Scope::Project(_)) => return Ok(done),
        Err(e) => return Err(e),
    };
    for s in &cluster.services {
        match s.state {
            ContainerState::Paused => {
                unpause(docker, &cluster, s).await?;
                done.push(format!("unpaused {}", s.name));
            }
            // Ours are started again; an attached project's stopped container may have been
            // stopped by its owner, so it is named, not started.
            ContainerState::Exited | ContainerState::Created
                if matches!(scope, Scope::Project(_)) =>
            {
                done.push(format!(
                    "{} is not running (not started: the project is not ours; \
                     `docker compose -p {} start {}` if a run left it down)",
                    s.name,
                    scope.name(),
                    s.name
                ));
            }
            ContainerState::Exited | ContainerState::Created => {
                start(docker, &cluster, s).await?;
                done.push(format!("started {}", s.name));
            }
            _ => {}
        }
        if s.ip.is_none() && !s.state.is_stopped() {
            connect(docker, &cluster, s).await?;
            done.push(format!("reconnected {}", s.name));
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::interface_with;

    #[test]
    fn the_cluster_interface_is_the_one_holding_the_address_not_always_eth0() {
        let listed = "1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever\n\
                      47: eth2    inet 172.18.0.4/16 brd 172.18.255.255 scope global eth2\n\
                      48: eth3@if49    inet 10.0.0.7/24 brd 10.0.0.255 scope global eth3\n";
        assert_eq!(
            interface_with(listed, Some("10.0.0.7")).as_deref(),
            Some("eth3")
        );
        assert_eq!(
            interface_with(listed, Some("172.18.0.4")).as_deref(),
            Some("eth2")
        );
        // Its address unknown (or stale): the first that is not the loopback.
        assert_eq!(interface_with(listed, None).as_deref(), Some("eth2"));
        assert_eq!(
            interface_with(listed, Some("192.0.2.1")).as_deref(),
            Some("eth2")
        );
        assert_eq!(
            interface_with("1: lo    inet 127.0.0.1/8 scope host lo\n", None),
            None
        );
    }
}
