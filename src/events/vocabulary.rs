//! The shared vocabulary of events: partitions and snapshots as the observer sees them, and
//! the closed sets (modes, phases, actions, fault kinds) as enums whose JSON is the same
//! strings as ever.

use super::BrokerId;
use serde::{Deserialize, Serialize};

/// Where a fault's timestamp came from (its error bar differs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimeSource {
    /// Docker's events stream (`timeNano` of kill/die/pause/…), mapped onto the run clock.
    DockerEvent,
    /// The answer to the call that applied the fault: Docker's API, an exec through the
    /// Kubernetes API (a signal sent within its round trip), a node container's kill.
    ApiResponse,
    /// A Kubernetes pod watch event's arrival at the harness (late by the kubelet's status
    /// report, up to about a second).
    KubernetesWatch,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionState {
    pub topic: String,
    pub partition: i32,
    /// `None` when the partition has no leader (offline).
    pub leader: Option<BrokerId>,
    pub leader_epoch: i32,
    pub replicas: Vec<BrokerId>,
    pub isr: Vec<BrokerId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offline_replicas: Vec<BrokerId>,
}

impl PartitionState {
    pub fn key(&self) -> String {
        format!("{}/{}", self.topic, self.partition)
    }
    /// The preferred leader is the first replica of the assignment.
    pub fn preferred_leader(&self) -> Option<BrokerId> {
        self.replicas.first().copied()
    }
}

/// A snapshot of the cluster as the observer saw it.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ClusterSnapshot {
    /// Active controller (ZooKeeper: Metadata controller id; KRaft: quorum leader).
    pub controller: Option<BrokerId>,
    /// Brokers registered (alive, in Metadata).
    pub brokers: Vec<BrokerId>,
    pub partitions: Vec<PartitionState>,
}

impl ClusterSnapshot {
    pub fn partition(&self, topic: &str, partition: i32) -> Option<&PartitionState> {
        self.partitions
            .iter()
            .find(|p| p.topic == topic && p.partition == partition)
    }
}

/// One effective topic setting and where its value comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicSetting {
    pub name: String,
    pub value: String,
    /// "topic" (set on the topic), "broker" (the broker's setting), "default" (Kafka's).
    pub source: String,
}

/// Per-partition summary of a workload phase, for reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AckGap {
    pub topic: String,
    pub partition: i32,
    /// Last successful ack before the gap, and first one after (run clock, µs).
    pub from_us: u64,
    pub to_us: u64,
    /// No ack came at all until the workload stopped at `to_us`: the client did not resume.
    #[serde(default, skip_serializing_if = "is_false")]
    pub open: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

// The closed sets of the vocabulary: enums whose JSON is the same string as before.

/// How the cluster keeps its metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClusterMode {
    #[default]
    Zookeeper,
    Kraft,
}

impl ClusterMode {
    pub fn as_str(&self) -> &'static str {
        match self {
            ClusterMode::Zookeeper => "zookeeper",
            ClusterMode::Kraft => "kraft",
        }
    }
}

impl std::fmt::Display for ClusterMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a run ended (its last event).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunOutcome {
    Completed,
    /// Stopped by an error.
    Aborted,
    /// Stopped by Ctrl-C / SIGTERM.
    Interrupted,
}

/// The phases of a run, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunPhase {
    Steps,
    Heal,
    RecoveryWindow,
    Drain,
    Verify,
}

/// The workload's latency phases: its histograms are kept apart per phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LatencyPhase {
    BeforeFault,
    DuringFault,
    AfterHeal,
}

impl LatencyPhase {
    pub const ALL: [LatencyPhase; 3] = [
        LatencyPhase::BeforeFault,
        LatencyPhase::DuringFault,
        LatencyPhase::AfterHeal,
    ];
    pub const fn as_str(&self) -> &'static str {
        match self {
            LatencyPhase::BeforeFault => "before-fault",
            LatencyPhase::DuringFault => "during-fault",
            LatencyPhase::AfterHeal => "after-heal",
        }
    }
    pub fn index(&self) -> usize {
        *self as usize
    }
    /// In a sentence: "timed out in flight during the fault".
    pub const fn describe(&self) -> &'static str {
        match self {
            LatencyPhase::BeforeFault => "before the fault",
            LatencyPhase::DuringFault => "during the fault",
            LatencyPhase::AfterHeal => "after the heal",
        }
    }
    /// The phase of its name in events.jsonl ("during-fault").
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

/// The container lifecycle actions worth a place on the timeline, in Docker's words (its
/// `exec_*`, `attach` and the like are noise and never recorded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ContainerAction {
    Kill,
    Die,
    Stop,
    Start,
    Restart,
    Pause,
    Unpause,
    Oom,
}

/// What a container action does to the process in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessChange {
    Ended,
    Started,
    Frozen,
    Thawed,
}

impl ContainerAction {
    /// Kill, die, stop and oom end the process; start and restart start one; pause freezes
    /// it and unpause thaws it.
    pub const fn process_change(&self) -> ProcessChange {
        match self {
            ContainerAction::Kill
            | ContainerAction::Die
            | ContainerAction::Stop
            | ContainerAction::Oom => ProcessChange::Ended,
            ContainerAction::Pause => ProcessChange::Frozen,
            ContainerAction::Unpause => ProcessChange::Thawed,
            ContainerAction::Start | ContainerAction::Restart => ProcessChange::Started,
        }
    }
    pub const ALL: [ContainerAction; 8] = [
        ContainerAction::Kill,
        ContainerAction::Die,
        ContainerAction::Stop,
        ContainerAction::Start,
        ContainerAction::Restart,
        ContainerAction::Pause,
        ContainerAction::Unpause,
        ContainerAction::Oom,
    ];
    pub const fn as_str(&self) -> &'static str {
        match self {
            ContainerAction::Kill => "kill",
            ContainerAction::Die => "die",
            ContainerAction::Stop => "stop",
            ContainerAction::Start => "start",
            ContainerAction::Restart => "restart",
            ContainerAction::Pause => "pause",
            ContainerAction::Unpause => "unpause",
            ContainerAction::Oom => "oom",
        }
    }
    /// Docker's action word (`kill`, or `exec_start: sh -c …`); None for one not tracked.
    pub fn from_docker(action: &str) -> Option<Self> {
        let word = action.split(':').next().unwrap_or_default();
        Self::ALL.into_iter().find(|a| a.as_str() == word)
    }
}

impl std::fmt::Display for ContainerAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Acks {
    #[serde(rename = "0")]
    None,
    #[serde(rename = "1")]
    Leader,
    #[default]
    All,
}

impl std::fmt::Display for Acks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_kafka())
    }
}

impl Acks {
    pub fn as_kafka(&self) -> &'static str {
        match self {
            Acks::None => "0",
            Acks::Leader => "1",
            Acks::All => "all",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultKind {
    /// SIGKILL. Healed by starting the container again.
    Kill,
    /// Graceful stop (SIGTERM, controlled shutdown). Healed by start.
    Stop,
    /// Start a stopped container (no revert).
    Start,
    /// Graceful restart (no revert needed).
    Restart,
    /// Freeze every process (cgroup freezer). Healed by unpause.
    Pause,
    Unpause,
    /// Disconnect from the cluster network. Healed by connect.
    Disconnect,
    Connect,
    /// Drop traffic between the target and `peers` (iptables in the target's namespace).
    Partition,
    /// Limit egress bandwidth (tc tbf).
    Bandwidth,
    /// Needs tc netem: refused with a capability error where the kernel lacks it.
    Delay,
    Loss,
    /// A consumer-group member (inside the harness) stops polling and heartbeating without
    /// leaving: the group rebalances after `session.timeout.ms`. Healed by a new member.
    MemberCrash,
    /// A member leaves the group cleanly (LeaveGroup). Healed by a new member.
    MemberLeave,
    /// A member stops polling (still heartbeating): after `max.poll.interval.ms` the client
    /// leaves the group itself. Healed by polling again (it rejoins).
    MemberPause,
    /// A host failure: every container on the target's node killed at once. Healed by
    /// starting them again.
    NodeCrash,
    /// A VM stall: every container on the target's node frozen. Healed by unpause.
    NodePause,
    /// The target's node cut from the other nodes (iptables in each of its containers;
    /// `peers` narrows the other side). Healed by deleting the rules.
    NodePartition,
}

impl std::fmt::Display for FaultKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FaultKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            FaultKind::Kill => "kill",
            FaultKind::Stop => "stop",
            FaultKind::Start => "start",
            FaultKind::Restart => "restart",
            FaultKind::Pause => "pause",
            FaultKind::Unpause => "unpause",
            FaultKind::Disconnect => "disconnect",
            FaultKind::Connect => "connect",
            FaultKind::Partition => "partition",
            FaultKind::Bandwidth => "bandwidth",
            FaultKind::Delay => "delay",
            FaultKind::Loss => "loss",
            FaultKind::MemberCrash => "member-crash",
            FaultKind::MemberLeave => "member-leave",
            FaultKind::MemberPause => "member-pause",
            FaultKind::NodeCrash => "node-crash",
            FaultKind::NodePause => "node-pause",
            FaultKind::NodePartition => "node-partition",
        }
    }
    /// A node fault is its per-container fault applied to every container of a node at once.
    pub fn per_container(&self) -> FaultKind {
        match self {
            FaultKind::NodeCrash => FaultKind::Kill,
            FaultKind::NodePause => FaultKind::Pause,
            FaultKind::NodePartition => FaultKind::Partition,
            other => *other,
        }
    }
    /// Acts on whole nodes: the target names a node, or a service whose node is meant.
    pub fn is_node_fault(&self) -> bool {
        matches!(
            self,
            FaultKind::NodeCrash | FaultKind::NodePause | FaultKind::NodePartition
        )
    }
    /// Faults applied from a network sidecar (the `chaos/base` image, with iptables and tc)
    /// sharing the target's network namespace. `disconnect` / `connect` go through the Docker
    /// API and need none; `delay` / `loss` need one to probe for tc netem.
    pub fn uses_sidecar(&self) -> bool {
        matches!(
            self.per_container(),
            FaultKind::Partition | FaultKind::Bandwidth | FaultKind::Delay | FaultKind::Loss
        )
    }
    /// The broker cannot serve while this fault lasts (its process is gone, frozen or cut off).
    pub fn makes_broker_unusable(&self) -> bool {
        matches!(
            self.per_container(),
            FaultKind::Kill | FaultKind::Stop | FaultKind::Pause | FaultKind::Disconnect
        )
    }
    /// The broker's process ends: a leader it had is gone until a new one is elected.
    pub fn ends_process(&self) -> bool {
        matches!(self.per_container(), FaultKind::Kill | FaultKind::Stop)
    }
    /// Faults on a consumer-group member inside the harness, not on a container.
    pub fn is_member_fault(&self) -> bool {
        matches!(
            self,
            FaultKind::MemberCrash | FaultKind::MemberLeave | FaultKind::MemberPause
        )
    }
    /// Faults that leave the cluster (or the group) damaged until reverted.
    pub fn needs_revert(&self) -> bool {
        matches!(
            self.per_container(),
            FaultKind::MemberCrash
                | FaultKind::MemberLeave
                | FaultKind::MemberPause
                | FaultKind::Kill
                | FaultKind::Stop
                | FaultKind::Pause
                | FaultKind::Disconnect
                | FaultKind::Partition
                | FaultKind::Bandwidth
                | FaultKind::Delay
                | FaultKind::Loss
        )
    }
}

/// A host of a cluster over several Docker engines: where it is, its clock against the
/// harness's (its events and logs are brought to the harness clock by this offset; the error
/// enters the error bar of times that cross hosts), and what ran on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunNode {
    pub name: String,
    pub engine: String,
    pub address: String,
    pub clock_offset_us: i64,
    pub clock_error_us: i64,
    pub services: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ElectionType {
    #[default]
    Preferred,
    Unclean,
}

/// How a condition was checked: waited for (up to a timeout) or asserted once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConditionCheck {
    #[default]
    WaitFor,
    Assert,
}

/// What a timed-out `wait-for` makes of the run's status (`on-timeout:` in a step).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnTimeout {
    /// The run could not show what it set out to: inconclusive (exit 3).
    #[default]
    Inconclusive,
    /// The condition is a requirement: the run failed (exit 1).
    Fail,
    /// The timeout is an accepted outcome: shown, but the status does not change.
    Continue,
}
