//! The seam between the runner and the place brokers run. The runner sees a cluster as
//! services with roles (this module's data, no platform types) and asks a [`FaultPlatform`]
//! to act on them; Docker on one engine is one implementation (`docker::run_platform`), a
//! recording fake tests the orchestration in milliseconds, and `docs/kubernetes.md` maps each
//! operation to the Kubernetes API. Pure: no Docker or Kafka imports.

use crate::events::{ClusterMode, TimeSource};
use crate::experiment::{Direction, FaultKind};
use std::future::Future;
use std::time::Duration;

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
    pub state: ContainerState,
    /// Its placement (`x-chaos-node`): the host it runs on, and what node faults act on.
    /// None: unplaced, on the one engine (all unplaced services are one node, [`LOCAL_NODE`]).
    pub node: Option<String>,
}

/// A container's state as its platform reports it (Docker's words; serialised and shown as
/// them). `Unknown` when the platform said nothing (shown as an empty string, as before).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerState {
    #[default]
    #[serde(rename = "")]
    Unknown,
    Created,
    Running,
    Paused,
    Restarting,
    Removing,
    Stopping,
    Exited,
    Dead,
    /// A one-off service (not Kafka, not ZooKeeper) that exited with code 0: it ran to
    /// completion (compose's `service_completed_successfully`). Never started again by a heal.
    Completed,
}

impl ContainerState {
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerState::Unknown => "",
            ContainerState::Created => "created",
            ContainerState::Running => "running",
            ContainerState::Paused => "paused",
            ContainerState::Restarting => "restarting",
            ContainerState::Removing => "removing",
            ContainerState::Stopping => "stopping",
            ContainerState::Exited => "exited",
            ContainerState::Dead => "dead",
            ContainerState::Completed => "completed",
        }
    }
    /// Docker's word for it; a word it does not know is `Unknown`.
    pub fn from_docker(word: &str) -> Self {
        [
            ContainerState::Created,
            ContainerState::Running,
            ContainerState::Paused,
            ContainerState::Restarting,
            ContainerState::Removing,
            ContainerState::Stopping,
            ContainerState::Exited,
            ContainerState::Dead,
        ]
        .into_iter()
        .find(|s| s.as_str() == word)
        .unwrap_or_default()
    }
    /// Not running and not about to be: stopped (or never started) by someone, or done.
    pub fn is_stopped(self) -> bool {
        matches!(
            self,
            ContainerState::Exited | ContainerState::Created | ContainerState::Completed
        )
    }
}

impl std::fmt::Display for ContainerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Transitional: `run::background` still compares the state with Docker's words (a file
/// being edited elsewhere now); remove once it matches the variants.
/// The node of unplaced services: the one engine the harness talks to by default.
pub const LOCAL_NODE: &str = "local";

impl RunningService {
    pub fn node_name(&self) -> &str {
        self.node.as_deref().unwrap_or(LOCAL_NODE)
    }
}

/// A node of a cluster spread over several Docker engines (from the nodes file).
#[derive(Debug, Clone, PartialEq)]
pub struct NodeInfo {
    pub name: String,
    /// The engine's address as declared (`tcp://10.250.0.11:2375`, `unix:///…`).
    pub engine: String,
    /// Where the node's published ports are reached, from the harness and the other nodes.
    pub address: String,
    /// The engine's clock minus the harness's (ns), estimated from its `/info` answer at the
    /// midpoint of the request, and the error of that estimate (half the round trip).
    pub clock_offset_ns: i64,
    pub clock_error_ns: i64,
}

/// Who started the cluster, and so what the tool may do to its containers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Origin {
    /// Created from a compose file by this tool: faulted, healed, reused and removed by it.
    #[default]
    Started,
    /// A compose project someone else started (`cluster: {attach: {project}}`): its containers
    /// are faulted and healed, never created, restarted from scratch or removed.
    Attached { project: String },
    /// Reached over the network only (`chaos observe`): no faults, no container events.
    External,
    /// Pods on Kubernetes (`cluster: {kubernetes: …}`): faulted through the API; their
    /// StatefulSets are never created, scaled or removed.
    Kubernetes { namespace: String, cluster: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    pub name: String,
    pub origin: Origin,
    pub network: String,
    pub mode: crate::events::ClusterMode,
    pub config_hash: String,
    pub services: Vec<RunningService>,
    pub reused: bool,
    pub ready_after: Duration,
    /// Why a running cluster that could have been reused was replaced (it was not ready).
    pub replaced_unready: Option<String>,
    /// The engines it runs on, when more than the one (empty: one engine).
    pub nodes: Vec<NodeInfo>,
}

impl Cluster {
    /// A cluster found running rather than started by this tool (attached, on Kubernetes,
    /// observed): reused, ready from the start, on one engine as far as faults go, with no
    /// configuration of ours to compare.
    pub fn found(
        name: String,
        origin: Origin,
        network: String,
        mode: crate::events::ClusterMode,
        services: Vec<RunningService>,
    ) -> Cluster {
        Cluster {
            name,
            origin,
            network,
            mode,
            config_hash: String::new(),
            services,
            reused: true,
            ready_after: Duration::ZERO,
            replaced_unready: None,
            nodes: Vec::new(),
        }
    }
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
    /// The host (engine) a service runs on, when the cluster spans several.
    pub fn node_of(&self, service: &RunningService) -> Option<&NodeInfo> {
        let name = service.node.as_deref()?;
        self.nodes.iter().find(|n| n.name == name)
    }
    /// The services on any of `nodes` (placement names), in the cluster's order.
    pub fn services_on<'a>(
        &'a self,
        nodes: &'a [&str],
    ) -> impl Iterator<Item = &'a RunningService> {
        self.services
            .iter()
            .filter(move |s| nodes.contains(&s.node_name()))
    }
    /// The distinct placement names, in order of first appearance.
    pub fn node_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for s in &self.services {
            if !names.contains(&s.node_name()) {
                names.push(s.node_name());
            }
        }
        names
    }
    pub fn bootstrap_list(&self) -> String {
        self.bootstrap()
            .into_iter()
            .map(|(_, a)| a)
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A lifecycle action on one service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    Kill,
    Stop,
    Start,
    Restart,
    Pause,
    Unpause,
    Disconnect,
    Connect,
}

impl Lifecycle {
    pub fn as_str(self) -> &'static str {
        match self {
            Lifecycle::Kill => "kill",
            Lifecycle::Stop => "stop",
            Lifecycle::Start => "start",
            Lifecycle::Restart => "restart",
            Lifecycle::Pause => "pause",
            Lifecycle::Unpause => "unpause",
            Lifecycle::Disconnect => "disconnect",
            Lifecycle::Connect => "connect",
        }
    }
}

/// What the runner asked of the platform, as a failure names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlatformAction {
    /// Finding the service in the cluster.
    Find,
    Lifecycle(Lifecycle),
    Partition,
    HealPartition,
    Bandwidth,
    HealBandwidth,
    RetireNetworkHelper,
    ListServices,
    ReadLog,
}

impl std::fmt::Display for PlatformAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PlatformAction::Find => "find",
            PlatformAction::Lifecycle(l) => l.as_str(),
            PlatformAction::Partition => "partition",
            PlatformAction::HealPartition => "heal partition of",
            PlatformAction::Bandwidth => "bandwidth",
            PlatformAction::HealBandwidth => "heal bandwidth of",
            PlatformAction::RetireNetworkHelper => "remove the network helper of",
            PlatformAction::ListServices => "list the services of",
            PlatformAction::ReadLog => "read the log of",
        })
    }
}

/// Network rules a partition added to one service (to delete exactly those on heal).
pub type NetworkRules = Vec<Vec<String>>;

/// The iptables rule specs (without -A/-D, in the `CHAOS` chain jumped to from INPUT and
/// OUTPUT) that cut a service from `peer_ips`: outgoing drops by destination, incoming by
/// source. Every platform's network helper adds exactly these, and deletes them on heal.
pub fn partition_rules(peer_ips: &[String], direction: Direction) -> NetworkRules {
    let mut rules = Vec::new();
    for ip in peer_ips {
        if matches!(direction, Direction::Both | Direction::Outgoing) {
            rules.push(vec!["-d".into(), ip.clone(), "-j".into(), "DROP".into()]);
        }
        if matches!(direction, Direction::Both | Direction::Incoming) {
            rules.push(vec!["-s".into(), ip.clone(), "-j".into(), "DROP".into()]);
        }
    }
    rules
}

/// Why the platform could not do what the runner asked.
#[derive(Debug, thiserror::Error)]
pub enum PlatformError {
    /// The platform refused or failed; `source` is its own error.
    #[error("{action} {service}: {source}")]
    Failed {
        action: PlatformAction,
        service: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The place lacks what the fault needs (e.g. tc netem in the kernel).
    #[error("{0}")]
    Capability(String),
    /// The platform itself went away (e.g. the Docker daemon stopped answering).
    #[error("{0}")]
    Lost(String),
}

/// Why a fault could not be applied or reverted.
#[derive(Debug, thiserror::Error)]
pub enum FaultError {
    /// The target did not resolve to a service (no leader, no such step, …).
    #[error("fault {fault} on {target}: {reason}")]
    Target {
        fault: FaultKind,
        target: String,
        reason: String,
    },
    #[error(transparent)]
    Platform(#[from] PlatformError),
}

/// When a fault took effect (harness wall time, Unix ns) and where that time came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moment {
    pub at_ns: i64,
    pub source: TimeSource,
}

/// What the runner's faults ask of the place brokers run. Every method acts on one service
/// by name; the platform owns how (Docker API calls, pod deletes, exec'd `kill -STOP`, …).
pub trait FaultPlatform: Sync {
    fn act(
        &self,
        action: Lifecycle,
        service: &str,
    ) -> impl Future<Output = Result<(), PlatformError>> + Send;
    /// When `action` took effect on `service` (after `since_ns`, waiting up to `wait`), by the
    /// platform's own account, with its source; None when it has none or saw nothing.
    fn moment(
        &self,
        service: &str,
        action: Lifecycle,
        since_ns: i64,
        wait: Duration,
    ) -> impl Future<Output = Option<Moment>> + Send;
    /// Drops traffic between `service` and `peers`; returns the rules it added.
    fn partition(
        &self,
        service: &str,
        peers: &[String],
        direction: Direction,
    ) -> impl Future<Output = Result<NetworkRules, PlatformError>> + Send;
    fn heal_partition(
        &self,
        service: &str,
        rules: &NetworkRules,
    ) -> impl Future<Output = Result<(), PlatformError>> + Send;
    /// Limits `service`'s egress to `rate` (tc syntax, e.g. "1mbit").
    fn bandwidth(
        &self,
        service: &str,
        rate: &str,
    ) -> impl Future<Output = Result<(), PlatformError>> + Send;
    fn heal_bandwidth(
        &self,
        service: &str,
    ) -> impl Future<Output = Result<(), PlatformError>> + Send;
    /// Removes the network helper next to `service` once no fault needs it.
    fn retire_network_helper(
        &self,
        service: &str,
    ) -> impl Future<Output = Result<(), PlatformError>> + Send;
    /// A node fault's `action` on the nodes themselves, `services` being every service on
    /// them; false when this platform reaches nodes only through their services (the caller
    /// then acts on each service at once). Its moment is [`Self::moment`]'s, per service.
    fn act_on_nodes(
        &self,
        _action: Lifecycle,
        _services: &[String],
    ) -> impl Future<Output = Result<bool, PlatformError>> + Send {
        async { Ok(false) }
    }
    /// Whether a `node-partition` without peers cuts the nodes themselves from the network
    /// ([`Self::isolate_nodes`]) rather than each service from the others.
    fn isolates_nodes(&self) -> bool {
        false
    }
    /// Cuts the nodes of `services` (every service on them) from the network.
    fn isolate_nodes(
        &self,
        _services: &[String],
    ) -> impl Future<Output = Result<(), PlatformError>> + Send {
        async { Err(not_ours()) }
    }
    /// Undoes [`Self::isolate_nodes`] (what was added of it, after a failure half-way).
    fn rejoin_nodes(
        &self,
        _services: &[String],
    ) -> impl Future<Output = Result<(), PlatformError>> + Send {
        async { Ok(()) }
    }
}

/// What a run asks of the place brokers run besides faults: the services as they are now
/// (the supervisor's view), their logs (Kafka's version, its leadership lines for the
/// cross-check), and noticing that the platform itself went away. Its lifecycle events reach
/// the run's stream from the implementation (Docker's events stream on one or several
/// engines); [`FaultPlatform::moment`] reads them. Docker is one implementation
/// (`docker::run_platform::DockerRun`), [`NotStarted`] the other (`observe`).
pub trait ClusterPlatform: Sync {
    /// Every service with its state now.
    fn services(&self) -> impl Future<Output = Result<Vec<RunningService>, PlatformError>> + Send;
    /// What `service` logged since a Unix second.
    fn logs_since(
        &self,
        service: &str,
        since_unix_s: i64,
    ) -> impl Future<Output = Result<String, PlatformError>> + Send;
    /// Resolves when the platform is gone (never while it answers).
    fn lost(&self) -> impl Future<Output = PlatformError> + Send;
}

/// No platform: a cluster chaos did not start (`observe`). Every fault is refused with the
/// reason; nothing has a moment, a log or a state; it is never lost.
#[derive(Debug, Clone, Copy, Default)]
pub struct NotStarted;

impl FaultPlatform for NotStarted {
    async fn act(&self, _: Lifecycle, _: &str) -> Result<(), PlatformError> {
        Err(not_ours())
    }
    async fn moment(&self, _: &str, _: Lifecycle, _: i64, _: Duration) -> Option<Moment> {
        None
    }
    async fn partition(
        &self,
        _: &str,
        _: &[String],
        _: Direction,
    ) -> Result<NetworkRules, PlatformError> {
        Err(not_ours())
    }
    async fn heal_partition(&self, _: &str, _: &NetworkRules) -> Result<(), PlatformError> {
        Err(not_ours())
    }
    async fn bandwidth(&self, _: &str, _: &str) -> Result<(), PlatformError> {
        Err(not_ours())
    }
    async fn heal_bandwidth(&self, _: &str) -> Result<(), PlatformError> {
        Err(not_ours())
    }
    async fn retire_network_helper(&self, _: &str) -> Result<(), PlatformError> {
        Err(not_ours())
    }
}

impl ClusterPlatform for NotStarted {
    async fn services(&self) -> Result<Vec<RunningService>, PlatformError> {
        Err(not_ours())
    }
    async fn logs_since(&self, _: &str, _: i64) -> Result<String, PlatformError> {
        Err(not_ours())
    }
    async fn lost(&self) -> PlatformError {
        std::future::pending().await
    }
}

fn not_ours() -> PlatformError {
    PlatformError::Capability(
        "this cluster was not started by chaos (observe): faults, container states and logs \
         need a cluster chaos started"
            .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_states_are_dockers_words_both_ways() {
        for word in [
            "created",
            "running",
            "paused",
            "restarting",
            "removing",
            "stopping",
            "exited",
            "dead",
        ] {
            let state = ContainerState::from_docker(word);
            assert_eq!(state.as_str(), word);
            assert_eq!(
                serde_json::to_string(&state).unwrap(),
                format!("\"{word}\"")
            );
        }
        assert_eq!(ContainerState::from_docker(""), ContainerState::Unknown);
        assert_eq!(
            ContainerState::from_docker("zombie"),
            ContainerState::Unknown
        );
        assert_eq!(
            serde_json::to_string(&ContainerState::Unknown).unwrap(),
            "\"\""
        );
    }
}
