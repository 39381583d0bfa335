//! Pods → the platform's [`Cluster`], by Strimzi's labels (so the same rules find a Strimzi
//! cluster and ours): brokers carry `strimzi.io/cluster=<c>` and `strimzi.io/name=<c>-kafka`
//! (or, with node pools, `strimzi.io/broker-role=true`), ZooKeeper `strimzi.io/name=<c>-zookeeper`;
//! a broker's id is its pod name's ordinal (`<c>-kafka-2`, `<c>-<pool>-2`). Pure: no client.

use super::KubernetesTarget;
use crate::platform::{mode_of, Cluster, ContainerState, Origin, Role, RunningService};
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};

pub const CLUSTER_LABEL: &str = "strimzi.io/cluster";
pub const NAME_LABEL: &str = "strimzi.io/name";
pub const BROKER_ROLE_LABEL: &str = "strimzi.io/broker-role";
pub const CONTROLLER_ROLE_LABEL: &str = "strimzi.io/controller-role";
pub const ZOOKEEPER_CLIENT_PORT: u16 = 2181;

/// What a pod of the cluster is, before the mode is known (KRaft: no ZooKeeper pod).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodKind {
    Broker {
        id: i32,
    },
    ZooKeeper,
    /// A KRaft controller-only node (node pools with `broker-role=false`).
    Controller,
}

fn label<'a>(pod: &'a Pod, key: &str) -> Option<&'a str> {
    pod.metadata.labels.as_ref()?.get(key).map(String::as_str)
}

pub fn pod_name(pod: &Pod) -> &str {
    pod.metadata.name.as_deref().unwrap_or_default()
}

/// The ordinal suffix of a StatefulSet's (or Strimzi pool's) pod name: `seed-kafka-2` → 2.
pub fn ordinal(name: &str) -> Option<i32> {
    let (_, suffix) = name.rsplit_once('-')?;
    if suffix.is_empty() || !suffix.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    suffix.parse().ok()
}

/// The pod's part in cluster `cluster`; None for a pod of another cluster or a helper
/// (entity operator, exporter, Cruise Control: not Kafka's own processes, never faulted).
pub fn kind_of(pod: &Pod, cluster: &str) -> Option<PodKind> {
    if label(pod, CLUSTER_LABEL) != Some(cluster) {
        return None;
    }
    let name = label(pod, NAME_LABEL);
    if name == Some(format!("{cluster}-zookeeper").as_str()) {
        return Some(PodKind::ZooKeeper);
    }
    let pool_broker = label(pod, BROKER_ROLE_LABEL);
    let kafka = name == Some(format!("{cluster}-kafka").as_str()) || pool_broker.is_some();
    if !kafka {
        return None;
    }
    if pool_broker == Some("false") {
        return Some(PodKind::Controller);
    }
    ordinal(pod_name(pod)).map(|id| PodKind::Broker { id })
}

/// The container that runs Kafka (or ZooKeeper): Strimzi names it after the component; else
/// the pod's first container.
pub fn main_container(pod: &Pod) -> Option<&str> {
    let containers = &pod.spec.as_ref()?.containers;
    containers
        .iter()
        .find(|c| c.name == "kafka" || c.name == "zookeeper")
        .or_else(|| containers.first())
        .map(|c| c.name.as_str())
}

/// The status of [`main_container`].
pub fn main_status(pod: &Pod) -> Option<&ContainerStatus> {
    let name = main_container(pod)?;
    pod.status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .iter()
        .find(|s| s.name == name)
}

/// Whether Kafka's container runs now (a pod being deleted still runs until it stops).
pub fn is_running(pod: &Pod) -> bool {
    main_status(pod)
        .and_then(|s| s.state.as_ref())
        .is_some_and(|s| s.running.is_some())
}

/// Running and Ready: what a StatefulSet's restart is waited for.
pub fn is_ready(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_none()
        && is_running(pod)
        && pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// The pod's state in the platform's (Docker's) words.
pub fn state_of(pod: &Pod) -> ContainerState {
    if pod.metadata.deletion_timestamp.is_some() {
        return ContainerState::Stopping;
    }
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    if let Some(state) = main_status(pod).and_then(|s| s.state.as_ref()) {
        if state.running.is_some() {
            return ContainerState::Running;
        }
        if state.terminated.is_some() {
            return ContainerState::Exited;
        }
        if let Some(waiting) = &state.waiting {
            // Being created for the first time is not "stopped by someone"; a crash loop is.
            return match waiting.reason.as_deref() {
                Some("ContainerCreating" | "PodInitializing") => ContainerState::Created,
                _ => ContainerState::Exited,
            };
        }
    }
    match phase {
        Some("Pending") => ContainerState::Created,
        Some("Running") => ContainerState::Running,
        Some("Succeeded" | "Failed") => ContainerState::Exited,
        _ => ContainerState::Unknown,
    }
}

/// One pod as a service; `kraft` is the cluster's mode.
fn service_of(pod: &Pod, kind: PodKind, kraft: bool, target: &KubernetesTarget) -> RunningService {
    let name = pod_name(pod).to_string();
    let (role, host_bootstrap) = match kind {
        PodKind::Broker { id } => (
            Role::Broker { id, kraft },
            target.local_port(id).map(|p| format!("127.0.0.1:{p}")),
        ),
        PodKind::ZooKeeper => (
            Role::ZooKeeper {
                client_port: ZOOKEEPER_CLIENT_PORT,
            },
            None,
        ),
        PodKind::Controller => (Role::Other, None),
    };
    let state = state_of(pod);
    RunningService {
        container_id: pod.metadata.uid.clone().unwrap_or_default(),
        container_name: name.clone(),
        name,
        role,
        host_bootstrap,
        ip: pod
            .status
            .as_ref()
            .and_then(|s| s.pod_ip.clone())
            .filter(|_| !state.is_stopped()),
        state,
        node: pod.spec.as_ref().and_then(|s| s.node_name.clone()),
    }
}

/// Every Kafka and ZooKeeper pod of the target's cluster as services: ZooKeeper first, then
/// the brokers by id, then controllers by name. KRaft when there is no ZooKeeper pod.
pub fn services(pods: &[Pod], target: &KubernetesTarget) -> Vec<RunningService> {
    let mut kinds: Vec<(&Pod, PodKind)> = pods
        .iter()
        .filter_map(|p| kind_of(p, &target.cluster).map(|k| (p, k)))
        .collect();
    let kraft = !kinds.iter().any(|(_, k)| *k == PodKind::ZooKeeper);
    let rank = |k: &PodKind| match k {
        PodKind::ZooKeeper => (0, 0),
        PodKind::Broker { id } => (1, *id),
        PodKind::Controller => (2, 0),
    };
    kinds.sort_by(|(pa, a), (pb, b)| {
        rank(a)
            .cmp(&rank(b))
            .then_with(|| pod_name(pa).cmp(pod_name(pb)))
    });
    kinds
        .into_iter()
        .map(|(p, k)| service_of(p, k, kraft, target))
        .collect()
}

/// The cluster the target names, from its pods (listed with [`KubernetesTarget::selector`]).
/// Attached: we fault its pods, never create or delete its StatefulSets.
pub fn cluster(pods: &[Pod], target: &KubernetesTarget) -> Result<Cluster, super::KubeError> {
    let services = services(pods, target);
    if !services
        .iter()
        .any(|s| matches!(s.role, Role::Broker { .. }))
    {
        return Err(super::KubeError::NothingMatched {
            namespace: target.namespace.clone(),
            selector: target.selector(),
        });
    }
    let mode = mode_of(services.iter().map(|s| &s.role));
    Ok(Cluster::found(
        target.cluster.clone(),
        Origin::Kubernetes {
            namespace: target.namespace.clone(),
            cluster: target.cluster.clone(),
        },
        target.namespace.clone(),
        mode,
        services,
    ))
}

/// Test pods, shaped as the API server returns them (the watch tests use them too).
#[cfg(test)]
pub(crate) mod fixtures {
    use k8s_openapi::api::core::v1::Pod;

    /// A pod `name` with `labels`, its Kafka container (`container`) in `state` ("running",
    /// "terminated", "waiting:<reason>", "none"), on node `node-a`, IP `10.0.0.<n>`.
    pub fn pod(name: &str, labels: &[(&str, &str)], container: &str, state: &str) -> Pod {
        let labels: serde_json::Map<String, serde_json::Value> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::from(*v)))
            .collect();
        let state = match state.split_once(':') {
            Some(("waiting", reason)) => serde_json::json!({"waiting": {"reason": reason}}),
            _ if state == "running" => {
                serde_json::json!({"running": {"startedAt": "2026-12-05T10:00:00Z"}})
            }
            _ if state == "terminated" => serde_json::json!({"terminated": {"exitCode": 137}}),
            _ => serde_json::json!({}),
        };
        let ip = format!("10.0.0.{}", name.len());
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "namespace": "chaos", "uid": format!("uid-{name}"), "labels": labels},
            "spec": {"nodeName": "node-a", "containers": [{"name": container, "image": "kafka"}]},
            "status": {
                "phase": "Running",
                "podIP": ip,
                "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [{
                    "name": container, "image": "kafka", "imageID": "", "ready": true,
                    "restartCount": 0, "containerID": format!("containerd://{name}-1"),
                    "state": state
                }]
            }
        }))
        .expect("a valid pod")
    }

    pub fn broker(cluster: &str, ordinal: i32, state: &str) -> Pod {
        let name = format!("{cluster}-kafka-{ordinal}");
        let strimzi_name = format!("{cluster}-kafka");
        pod(
            &name,
            &[
                ("strimzi.io/cluster", cluster),
                ("strimzi.io/name", &strimzi_name),
            ],
            "kafka",
            state,
        )
    }

    pub fn zookeeper(cluster: &str, ordinal: i32) -> Pod {
        let name = format!("{cluster}-zookeeper-{ordinal}");
        let strimzi_name = format!("{cluster}-zookeeper");
        pod(
            &name,
            &[
                ("strimzi.io/cluster", cluster),
                ("strimzi.io/name", &strimzi_name),
            ],
            "zookeeper",
            "running",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{broker, pod, zookeeper};
    use super::*;
    use crate::events::ClusterMode;

    fn target() -> KubernetesTarget {
        KubernetesTarget::new("chaos", "seed")
    }

    #[test]
    fn strimzi_classic_with_zookeeper() {
        let pods = vec![
            broker("seed", 2, "running"),
            zookeeper("seed", 0),
            broker("seed", 0, "running"),
            broker("seed", 1, "running"),
            // Not Kafka's own processes, and another cluster's broker.
            pod(
                "seed-entity-operator-7d9f",
                &[
                    ("strimzi.io/cluster", "seed"),
                    ("strimzi.io/name", "seed-entity-operator"),
                ],
                "topic-operator",
                "running",
            ),
            broker("other", 0, "running"),
        ];
        let c = cluster(&pods, &target()).unwrap();
        assert_eq!(c.mode, ClusterMode::Zookeeper);
        assert_eq!(
            c.origin,
            Origin::Kubernetes {
                namespace: "chaos".into(),
                cluster: "seed".into()
            }
        );
        let names: Vec<&str> = c.services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "seed-zookeeper-0",
                "seed-kafka-0",
                "seed-kafka-1",
                "seed-kafka-2"
            ]
        );
        assert_eq!(c.services[0].role, Role::ZooKeeper { client_port: 2181 });
        let b2 = c.broker_service(2).unwrap();
        assert_eq!(
            b2.role,
            Role::Broker {
                id: 2,
                kraft: false
            }
        );
        assert_eq!(b2.host_bootstrap.as_deref(), Some("127.0.0.1:31092"));
        assert_eq!(b2.container_id, "uid-seed-kafka-2");
        assert_eq!(b2.container_name, "seed-kafka-2");
        assert_eq!(b2.ip.as_deref(), Some("10.0.0.12"));
        assert_eq!(b2.state, ContainerState::Running);
        assert_eq!(b2.node.as_deref(), Some("node-a"));
        assert_eq!(
            c.bootstrap_list(),
            "127.0.0.1:31090,127.0.0.1:31091,127.0.0.1:31092"
        );
    }

    #[test]
    fn kraft_node_pools_take_the_id_from_the_pool_pod_name() {
        let pool = |name: &str, broker: &str, controller: &str| {
            pod(
                name,
                &[
                    ("strimzi.io/cluster", "seed"),
                    ("strimzi.io/name", "seed-kafka"),
                    ("strimzi.io/pool-name", "pool"),
                    ("strimzi.io/broker-role", broker),
                    ("strimzi.io/controller-role", controller),
                ],
                "kafka",
                "running",
            )
        };
        let pods = vec![
            pool("seed-brokers-101", "true", "false"),
            pool("seed-brokers-100", "true", "false"),
            pool("seed-controllers-3", "false", "true"),
        ];
        let c = cluster(&pods, &target()).unwrap();
        assert_eq!(c.mode, ClusterMode::Kraft);
        assert_eq!(
            c.brokers()
                .iter()
                .map(|(s, id)| (s.name.as_str(), *id))
                .collect::<Vec<_>>(),
            [("seed-brokers-100", 100), ("seed-brokers-101", 101)]
        );
        assert_eq!(
            c.broker_service(101).unwrap().role,
            Role::Broker {
                id: 101,
                kraft: true
            }
        );
        let controller = c.service("seed-controllers-3").unwrap();
        assert_eq!(controller.role, Role::Other);
        assert_eq!(controller.host_bootstrap, None);
    }

    #[test]
    fn kraft_without_pools_when_no_zookeeper_pod() {
        let pods = vec![broker("seed", 0, "running"), broker("seed", 1, "running")];
        let c = cluster(&pods, &target()).unwrap();
        assert_eq!(c.mode, ClusterMode::Kraft);
        assert!(c
            .services
            .iter()
            .all(|s| matches!(s.role, Role::Broker { kraft: true, .. })));
    }

    #[test]
    fn no_broker_is_nothing_matched() {
        let e = cluster(&[zookeeper("seed", 0)], &target()).unwrap_err();
        assert!(
            matches!(&e, super::super::KubeError::NothingMatched { namespace, selector }
                if namespace == "chaos" && selector == "strimzi.io/cluster=seed"),
            "{e:?}"
        );
    }

    #[test]
    fn states_from_the_phase_and_the_container() {
        let mut deleting = broker("seed", 0, "running");
        deleting.metadata.deletion_timestamp =
            Some(serde_json::from_value(serde_json::json!("2026-12-05T10:00:01Z")).unwrap());
        assert_eq!(state_of(&deleting), ContainerState::Stopping);
        assert_eq!(
            state_of(&broker("seed", 0, "terminated")),
            ContainerState::Exited
        );
        assert_eq!(
            state_of(&broker("seed", 0, "waiting:CrashLoopBackOff")),
            ContainerState::Exited
        );
        assert_eq!(
            state_of(&broker("seed", 0, "waiting:ContainerCreating")),
            ContainerState::Created
        );
        assert_eq!(
            state_of(&broker("seed", 0, "running")),
            ContainerState::Running
        );
        assert!(!is_ready(&deleting), "a pod being deleted is not Ready");
        assert!(is_ready(&broker("seed", 0, "running")));
        // A stopped broker has no address to cut it from.
        let c = cluster(&[broker("seed", 0, "terminated")], &target()).unwrap();
        assert_eq!(c.services[0].ip, None);
    }

    #[test]
    fn ordinals() {
        assert_eq!(ordinal("seed-kafka-2"), Some(2));
        assert_eq!(ordinal("seed-pool-a-104"), Some(104));
        assert_eq!(ordinal("seed-kafka-x"), None);
        assert_eq!(ordinal("seed-kafka-"), None);
        assert_eq!(ordinal("kafka"), None);
    }
}
