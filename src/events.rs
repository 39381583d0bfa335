//! The one event stream of a run. Faults, observations and workload results are all
//! `Event`s; analysis and every report read only these, so a saved `events.jsonl`
//! re-renders the whole report.
//!
//! Time: `at_us` is microseconds on the monotonic clock since the run started (all
//! durations are differences of it); `wall_ms` is the wall clock (Unix ms) at the same
//! instant, for correlating with broker logs and Docker events.

use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};

/// Broker id as Kafka reports it.
pub type BrokerId = i32;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub at_us: u64,
    pub wall_ms: i64,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// Where a fault's timestamp came from (its error bar differs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TimeSource {
    /// Docker's events stream (`timeNano` of kill/die/pause/…), mapped onto the run clock.
    DockerEvent,
    /// The completion of the Docker API call that applied the fault.
    ApiResponse,
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

impl ContainerAction {
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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum EventKind {
    /// First event of every run.
    RunStarted {
        experiment: String,
        #[serde(default)]
        variant: Option<String>,
        cluster_name: String,
        cluster_mode: ClusterMode,
        kafka_version: String,
        /// Observer poll period: the error bar of every metadata-derived time.
        observer_period_us: u64,
        /// service name -> broker id, so reports can name brokers.
        brokers: Vec<(String, BrokerId)>,
        /// Broker settings in force that decide the numbers (e.g. zookeeper.session.timeout.ms).
        #[serde(default)]
        settings: Vec<(String, String)>,
        #[serde(default)]
        seed: u64,
        #[serde(default)]
        reused_cluster: bool,
        /// The compose project the run attached to (a cluster chaos did not start).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attached_project: Option<String>,
        /// The Kubernetes cluster the run faulted (`namespace/strimzi-cluster`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kubernetes: Option<String>,
        /// The experiment's expectations, so a saved run re-evaluates them.
        #[serde(default)]
        expect: Vec<String>,
        /// The hosts (Docker engines) the cluster spans, when more than one.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        nodes: Vec<RunNode>,
    },
    /// A topic's settings in force once it was created (DescribeConfigs on the topic): these,
    /// not the broker defaults, decide e.g. unclean election and min.insync.replicas.
    TopicSettings {
        topic: String,
        settings: Vec<TopicSetting>,
    },
    /// A named phase of the run begins (warm-up, fault, heal, verify…).
    Phase { name: RunPhase },
    /// A fault was applied. `target` is the role as written, `resolved` the services hit.
    FaultInjected {
        id: String,
        kind: FaultKind,
        target: String,
        resolved: Vec<String>,
        /// Broker ids of the resolved services (empty for ZooKeeper etc.).
        #[serde(default)]
        broker_ids: Vec<BrokerId>,
        source: TimeSource,
    },
    /// A fault was reverted (healed).
    FaultReverted {
        id: String,
        kind: FaultKind,
        resolved: Vec<String>,
        source: TimeSource,
    },
    /// A container lifecycle event seen on Docker's event stream (die, start, pause, …).
    Container {
        service: String,
        action: ContainerAction,
    },
    /// The observer saw a change; `snapshot` is the whole new view.
    Observed {
        snapshot: ClusterSnapshot,
        /// When the observer last had a view before this one (run clock, µs): the change
        /// happened in between, so this is the real error bar of the time.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous_view_us: Option<u64>,
    },
    /// The observer lost sight of the cluster: no broker answered for a while. Until the next
    /// `observed`, the cluster's state is unknown (not offline).
    ObserverError {
        error: String,
        /// The last time any broker had answered (run clock, µs).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_view_us: Option<u64>,
    },
    /// A `wait-for` condition became true or timed out, or an assert was evaluated.
    Condition {
        step: String,
        condition: String,
        met: bool,
        #[serde(default, skip_serializing_if = "is_default")]
        check: ConditionCheck,
        /// A wait-for that did not hold: what it makes of the run.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        on_timeout: Option<OnTimeout>,
    },
    /// An unclean leader election was requested explicitly (KRaft ElectLeaders).
    ElectionRequested {
        topic: String,
        partition: i32,
        election_type: ElectionType,
        result: String,
    },
    /// Workload progress, once a second: counts in the last interval.
    WorkloadTick {
        acked: u64,
        failed: u64,
        p99_us: u64,
    },
    /// A gap between consecutive successful acks on one partition (only gaps above the floor).
    AckGap(AckGap),
    /// A fresh producer's single write to a partition that had just become usable again
    /// (`became_usable_us`: its leader in the metadata, alive). The event's time is the ack.
    Probe {
        topic: String,
        partition: i32,
        became_usable_us: u64,
        acked: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// The tracked producer's librdkafka knew no broker any more: every one it had learned
    /// was decommissioned because a Metadata response listed none (a broker that is still
    /// starting answers so — librdkafka issue #5301, 2.10 to at least 2.15 — and the client
    /// then never re-bootstraps by itself). `rebootstrapped`: the harness gave it the
    /// bootstrap servers again (`rd_kafka_brokers_add`), as its re-bootstrap should have.
    ClientLostBrokers {
        client: String,
        rebootstrapped: bool,
    },
    /// Totals of the tracked producer when it stopped.
    WorkloadDone(WorkloadSummary),
    /// A partition delivered nothing to the live consumer for a while (above 200 ms): the last
    /// delivery before and the first after.
    ConsumerGap(ConsumerSilence),
    /// The concurrent consumer's summary (when the workload has `consumer: true`).
    ConsumerDone(ConsumerSummary),
    /// A consumer-group member's own rebalance callback: partitions assigned to it, or
    /// revoked / lost. Stamped when the callback ran (inside the member's poll).
    GroupRebalance {
        member: u32,
        change: RebalanceChange,
        partitions: Vec<i32>,
    },
    /// The consumer group's progress, once a second: messages processed in the interval and
    /// the lag (high watermark − position, summed over the partitions members hold).
    GroupTick {
        processed: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lag: Option<u64>,
    },
    /// The consumer group's record once it stopped, checked (after the re-read when there is one).
    GroupDone(GroupSummary),
    /// The transactional producer's record, checked against a read_committed and a
    /// read_uncommitted re-read.
    TransactionsDone(TransactionSummary),
    /// The transactional producer's commit or abort returned (or both failed), at that moment.
    TransactionEnded { id: u64, outcome: TxnOutcome },
    /// Result of re-reading every partition and checking message identities.
    Verified(VerificationSummary),
    /// A leadership change as Kafka itself logged it (for cross-checking the observer).
    KafkaLog {
        service: String,
        /// The broker's own log timestamp (Unix ms).
        logged_wall_ms: i64,
        line: String,
    },
    /// Something the harness did or saw that a reader of the report should know (e.g. a broker
    /// that exited after its heal and was started again).
    Note { message: String },
    /// Something went wrong; the run goes on or is aborted (see RunFinished).
    Error { message: String },
    /// Last event of every run.
    RunFinished { outcome: RunOutcome },
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
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

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WorkloadSummary {
    pub acks: Acks,
    pub sent: u64,
    pub acked: u64,
    pub failed: u64,
    pub unknown: u64,
    pub duration_us: u64,
    /// Latency histograms per phase, HdrHistogram V2 serialization, base64.
    #[serde(default)]
    pub latency_histograms: Vec<(String, String)>,
    #[serde(default)]
    pub errors: Vec<(String, u64)>,
    /// The key strategy, when messages carried keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ConsumerSummary {
    pub received: u64,
    /// End-to-end latency per phase, HdrHistogram V2 serialization, base64.
    pub latency_histograms: Vec<(String, String)>,
    /// Per partition, the longest time between two deliveries (or from the first send).
    pub gaps: Vec<ConsumerSilence>,
    /// Our messages delivered to it more than once.
    #[serde(default)]
    pub duplicates: u64,
    /// Times a partition's delivered offsets went back (a re-fetch after a leader change or
    /// a truncation).
    #[serde(default)]
    pub rewinds: u64,
}

/// What a member's rebalance callback reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RebalanceChange {
    Assigned,
    Revoked,
    /// The member lost its partitions without a clean revoke (e.g. after max.poll.interval.ms).
    Lost,
}

/// The consumer group protocol the members speak (`workload.group.protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GroupProtocol {
    /// The classic protocol (JoinGroup/SyncGroup, client-side assignment, eager rebalances
    /// with librdkafka's default assignors); its session timeout is the client's.
    #[default]
    Classic,
    /// Kafka 4's consumer protocol (KIP-848: ConsumerGroupHeartbeat, broker-side assignment,
    /// incremental); its session timeout is the broker's `group.consumer.session.timeout.ms`.
    Consumer,
}

impl GroupProtocol {
    pub fn as_str(&self) -> &'static str {
        match self {
            GroupProtocol::Classic => "classic",
            GroupProtocol::Consumer => "consumer",
        }
    }
}

/// How the group's members commit their offsets (`workload.group.commit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CommitMode {
    /// librdkafka commits the offsets it handed out every `commit-interval`.
    #[default]
    Auto,
    /// The member commits what it processed, blocking, every `commit-interval` (0: after
    /// every message).
    Sync,
    /// As `sync`, without waiting for the answer.
    Async,
}

impl CommitMode {
    pub fn as_str(&self) -> &'static str {
        match self {
            CommitMode::Auto => "auto",
            CommitMode::Sync => "sync",
            CommitMode::Async => "async",
        }
    }
}

/// Why a message was processed twice by the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DuplicateCause {
    /// Another member got the partition in a rebalance and re-read it from the last
    /// committed offset (at-least-once, as designed).
    RebalanceFromCommitted,
    /// The same member re-read it from the last committed offset (it left and rejoined).
    RejoinFromCommitted,
    /// Processed again although an offset past it had been committed: not explained by
    /// the commit protocol (an anomaly).
    BehindCommitted,
    /// The same member read it again without being assigned the partition anew (its fetch
    /// position went back, e.g. an offset reset).
    RefetchedWithoutRebalance,
    /// The log holds the message twice (a producer retry without idempotence).
    DuplicateInLog,
}

impl DuplicateCause {
    pub fn describe(&self) -> &'static str {
        match self {
            DuplicateCause::RebalanceFromCommitted => {
                "re-delivered to another member after a rebalance, from the last committed offset"
            }
            DuplicateCause::RejoinFromCommitted => {
                "re-delivered to the same member after it rejoined, from the last committed offset"
            }
            DuplicateCause::BehindCommitted => {
                "re-delivered although a later offset was committed (anomaly)"
            }
            DuplicateCause::RefetchedWithoutRebalance => {
                "read again by the same member without a rebalance (fetch position went back)"
            }
            DuplicateCause::DuplicateInLog => "in the log twice (producer retry)",
        }
    }
}

/// One message the group processed twice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DuplicateSample {
    pub partition: i32,
    pub seq: u64,
    pub first_member: u32,
    pub first_offset: i64,
    pub first_at_us: u64,
    pub again_member: u32,
    pub again_offset: i64,
    pub again_at_us: u64,
    /// The last offset committed for the partition before it was processed again.
    #[serde(default)]
    pub committed: Option<i64>,
    pub cause: DuplicateCause,
}

/// A time a partition's messages were not processed by anyone (above the floor).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessingGap {
    pub partition: i32,
    pub from_us: u64,
    pub to_us: u64,
}

/// What the consumer group did and what the checker found.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GroupSummary {
    pub group_id: String,
    pub topic: String,
    pub partitions: i32,
    pub members: u32,
    pub commit: CommitMode,
    #[serde(default)]
    pub protocol: GroupProtocol,
    pub commit_interval_us: u64,
    /// The client's session timeout; with the consumer protocol the broker's decides (0 here,
    /// the analysis reads it from the settings in force).
    pub session_timeout_ms: u64,
    pub max_poll_interval_ms: u64,
    /// Our messages processed, duplicates included.
    pub processed: u64,
    pub distinct: u64,
    /// Messages processed more than once (each extra processing counts once).
    pub duplicates: u64,
    pub duplicate_causes: Vec<(DuplicateCause, u64)>,
    /// The first duplicates, for the report.
    #[serde(default)]
    pub duplicate_sample: Vec<DuplicateSample>,
    /// Acked, in the re-read, never processed, below what the group processed of the partition.
    /// `None` without a re-read.
    #[serde(default)]
    pub skipped: Option<u64>,
    /// Acked and in the re-read but past what the group had processed when it stopped (lag,
    /// not a skip).
    #[serde(default)]
    pub unprocessed_tail: Option<u64>,
    #[serde(default)]
    pub commits: u64,
    #[serde(default)]
    pub commit_failures: u64,
    /// Per partition, the times nobody processed it (above 500 ms) while the workload ran.
    #[serde(default)]
    pub gaps: Vec<ProcessingGap>,
    #[serde(default)]
    pub errors: Vec<String>,
}

/// A committed (or unknown) transaction only partly visible to read_committed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AtomicityViolation {
    pub txn: u64,
    pub size: u64,
    pub visible: u64,
    /// (partition, offset) of every visible message of it.
    pub offsets: Vec<(i32, i64)>,
}

/// How a transaction ended, as the producer saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TxnOutcome {
    Committed,
    /// Aborted on purpose (`abort-every`) or after an error.
    Aborted,
    /// Commit and abort both failed: either may have happened.
    Unknown,
}

/// What the transactional producer did and what the exactly-once checker found.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TransactionSummary {
    #[serde(default)]
    pub transactional_id: String,
    #[serde(default)]
    pub size: u32,
    #[serde(default)]
    pub abort_every: u32,
    pub committed: u64,
    pub aborted: u64,
    /// Commit and abort both failed: either may have happened.
    pub unknown: u64,
    /// Messages read by the read_committed and the read_uncommitted re-read.
    pub read_committed: u64,
    pub read_uncommitted: u64,
    /// Committed transactions partly visible to read_committed.
    pub atomicity_violations: u64,
    #[serde(default)]
    pub violation_sample: Vec<AtomicityViolation>,
    /// Messages of aborted transactions visible to read_committed.
    pub aborted_visible: u64,
    /// Committed transactions with no message visible at all.
    pub committed_missing: u64,
    pub duplicates: u64,
    pub reordered: u64,
    /// Messages of aborted transactions the read_uncommitted reader saw: > 0 shows the
    /// isolation check could have failed.
    pub aborted_seen_uncommitted: u64,
    /// The re-read reached the end of every partition (both readers).
    #[serde(default)]
    pub complete: bool,
    #[serde(default)]
    pub errors: Vec<String>,
    /// The longest time without a commit, between transaction ends: from a commit (or the
    /// first transaction's end) to the next commit (or, with none after it, the last
    /// transaction's end). How long exactly-once processing made no progress: the
    /// transactional client gap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub longest_without_commit_ms: Option<f64>,
    /// The topic the transactions wrote (the output topic under read-process-write).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub topic: String,
    /// What a read_committed consumer saw while the run went on (faults included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<Box<LiveTransactionView>>,
    /// Read-process-write: each input processed exactly once in the committed output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_process_write: Option<Box<ReadProcessWriteSummary>>,
}

/// The live read_committed reader's view: it consumed the transactional topic while the
/// faults happened, then on to the end once the transactional producer had stopped.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LiveTransactionView {
    /// Transactional messages it received, duplicates included.
    pub read: u64,
    /// Committed transactions it saw whole.
    pub committed_seen: u64,
    /// Committed (or unknown) transactions it saw partly and never completed.
    pub atomicity_violations: u64,
    #[serde(default)]
    pub violation_sample: Vec<AtomicityViolation>,
    /// Messages of aborted transactions it received (must be 0).
    pub aborted_visible: u64,
    /// Committed transactions it never saw a message of.
    pub committed_missing: u64,
    /// Messages it received more than once.
    pub duplicates: u64,
    pub reordered: u64,
    /// From the producer's commit returning to the live reader holding the transaction's
    /// last message (0 when the reader was first: the markers are written before the answer).
    #[serde(default)]
    pub visible_after_commit_p50_ms: Option<f64>,
    #[serde(default)]
    pub visible_after_commit_max_ms: Option<f64>,
    /// It reached the end of every partition after the producer stopped.
    pub complete: bool,
}

/// What a read-process-write offender is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProcessingAnomaly {
    /// The input is in the committed output more than once.
    ProcessedTwice,
    /// The input's offset was committed but no committed output carries it.
    Missing,
    /// Committed output for an input whose offset was never committed: output and offsets
    /// were not committed together.
    BeyondCommittedOffset,
}

impl ProcessingAnomaly {
    pub fn as_str(self) -> &'static str {
        match self {
            ProcessingAnomaly::ProcessedTwice => "processed twice",
            ProcessingAnomaly::Missing => "missing",
            ProcessingAnomaly::BeyondCommittedOffset => "output beyond the committed offset",
        }
    }
}

/// One input the read-process-write check found wrong, with where its output went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessingOffender {
    pub anomaly: ProcessingAnomaly,
    pub input_partition: i32,
    pub input_offset: i64,
    /// (partition, offset) of each committed output carrying it (read_committed).
    pub outputs: Vec<(i32, i64)>,
    /// The transactions of those outputs; for a missing input, the transactions a
    /// read_uncommitted reader found it in (aborted or unknown ones).
    pub txns: Vec<u64>,
}

/// The consume → transform → produce loop (`read-process-write: true`): the consumed offsets
/// are committed inside each transaction (`send_offsets_to_transaction`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ReadProcessWriteSummary {
    pub input_topic: String,
    pub output_topic: String,
    /// The consumer group whose offsets the transactions commit.
    pub group_id: String,
    /// Messages in the input topic's log (re-read after the run).
    pub inputs: u64,
    /// Per input partition, the group's committed offset after the run.
    pub committed_offsets: Vec<(i32, i64)>,
    /// Inputs below the committed offsets: each must be in the committed output once.
    pub consumed: u64,
    pub processed_once: u64,
    /// Inputs in the committed output more than once (each extra copy counts once).
    pub processed_twice: u64,
    /// Inputs below the committed offset with no committed output.
    pub missing: u64,
    /// Committed outputs of inputs at or past the committed offset.
    pub beyond_committed: u64,
    /// Inputs past the committed offsets when the loop stopped (not yet consumed).
    pub unprocessed_tail: u64,
    /// Times the loop went back to its last committed offsets (after each abort).
    pub rewinds: u64,
    #[serde(default)]
    pub offenders: Vec<ProcessingOffender>,
    /// The committed offsets were read from the cluster.
    pub complete: bool,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ConsumerSilence {
    pub topic: String,
    pub partition: i32,
    pub from_us: u64,
    pub to_us: u64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LostMessage {
    pub topic: String,
    pub partition: i32,
    pub seq: u64,
    pub offset: i64,
    pub acked_at_us: u64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PartitionVerification {
    pub topic: String,
    pub partition: i32,
    pub acked: u64,
    pub read: u64,
    pub lost_acked: u64,
    pub duplicated: u64,
    pub reordered: u64,
    pub unacked_present: u64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct VerificationSummary {
    /// False when a partition could not be read to its high watermark.
    pub complete: bool,
    pub acked: u64,
    pub read: u64,
    pub lost_acked: u64,
    pub duplicated: u64,
    pub reordered: u64,
    pub unacked_present: u64,
    pub partitions: Vec<PartitionVerification>,
    /// The first lost messages (capped), for the report.
    pub lost_sample: Vec<LostMessage>,
    /// Messages the live consumer received that the re-read no longer finds: consumed, then
    /// truncated away. `None` without a live consumer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumed_then_lost: Option<u64>,
    /// Messages whose outcome the client never learned, resolved by the re-read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown: Option<UnknownOutcomes>,
    #[serde(default)]
    pub note: Option<String>,
}

/// Why the client does not know whether a message was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnknownCause {
    /// Timed out still queued in the client: never sent (no leader to send it to).
    TimedOutQueued,
    /// Timed out with its request in flight: the broker may have written it.
    TimedOutInFlight,
    /// No outcome at all before the producer's final flush gave up.
    NoAnswer,
}

impl UnknownCause {
    pub fn describe(&self) -> &'static str {
        match self {
            UnknownCause::TimedOutQueued => "timed out queued (never sent)",
            UnknownCause::TimedOutInFlight => "timed out in flight",
            UnknownCause::NoAnswer => "never answered before the flush",
        }
    }
}

/// Unknown outcomes of one cause and phase, split by what the re-read found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnresolvedClass {
    pub cause: UnknownCause,
    /// The workload phase the message was sent in.
    pub phase: LatencyPhase,
    /// In the log: written, only the ack was lost.
    pub written: u64,
    pub not_written: u64,
}

/// Every message whose outcome the client did not learn, looked up in the re-read.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct UnknownOutcomes {
    pub total: u64,
    pub written: u64,
    pub not_written: u64,
    pub classes: Vec<UnresolvedClass>,
    /// Reported failed (not persisted) by the client, but in the log all the same.
    #[serde(default)]
    pub failed_but_written: u64,
}

impl UnknownOutcomes {
    pub fn add(&mut self, cause: UnknownCause, phase: LatencyPhase, written: bool) {
        self.total += 1;
        if written {
            self.written += 1;
        } else {
            self.not_written += 1;
        }
        let class = match self
            .classes
            .iter_mut()
            .find(|c| c.cause == cause && c.phase == phase)
        {
            Some(c) => c,
            None => {
                self.classes.push(UnresolvedClass {
                    cause,
                    phase,
                    written: 0,
                    not_written: 0,
                });
                self.classes.last_mut().expect("just pushed")
            }
        };
        if written {
            class.written += 1;
        } else {
            class.not_written += 1;
        }
    }
}

/// Something outside the run that sees every event as it is recorded (the live web view of
/// `run --serve`), handed to the recorder by the run's reporter; the recorder only appends to
/// it, never waits.
pub trait EventTap: Send + Sync {
    /// A run begins (its directory's name).
    fn begin_run(&self, run: &str);
    fn push(&self, event: &Event);
}

/// Writes events as JSON lines. Each event is flushed at once so a crash loses nothing.
pub struct EventWriter<W: Write> {
    out: W,
}

impl<W: Write> EventWriter<W> {
    pub fn new(out: W) -> Self {
        Self { out }
    }
    pub fn write(&mut self, event: &Event) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.out, event)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReadEventsError {
    #[error("cannot read events: {0}")]
    Io(#[from] std::io::Error),
    #[error("line {line}: not an event: {source}")]
    Parse {
        line: usize,
        source: serde_json::Error,
    },
}

/// Reads an `events.jsonl`. A truncated last line (crash while writing) is ignored.
pub fn read_events(input: impl BufRead) -> Result<Vec<Event>, ReadEventsError> {
    let lines: Vec<String> = input.lines().collect::<Result<_, _>>()?;
    let mut events = Vec::with_capacity(lines.len());
    let last = lines.len().saturating_sub(1);
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(e) => events.push(e),
            Err(_) if i == last => break,
            Err(source) => {
                return Err(ReadEventsError::Parse {
                    line: i + 1,
                    source,
                })
            }
        }
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_outcome_classes_name_their_phase_as_ever() {
        let mut u = UnknownOutcomes::default();
        u.add(UnknownCause::NoAnswer, LatencyPhase::DuringFault, true);
        u.add(UnknownCause::NoAnswer, LatencyPhase::DuringFault, false);
        u.add(UnknownCause::NoAnswer, LatencyPhase::AfterHeal, false);
        let json = serde_json::to_string(&u.classes).unwrap();
        assert_eq!(
            json,
            r#"[{"cause":"no-answer","phase":"during-fault","written":1,"not_written":1},{"cause":"no-answer","phase":"after-heal","written":0,"not_written":1}]"#
        );
    }

    #[test]
    fn container_actions_are_dockers_words() {
        assert_eq!(
            ContainerAction::from_docker("kill"),
            Some(ContainerAction::Kill)
        );
        assert_eq!(ContainerAction::from_docker("exec_start: sh -c tc"), None);
        assert_eq!(ContainerAction::from_docker("attach"), None);
        for action in ContainerAction::ALL {
            let json = serde_json::to_string(&action).unwrap();
            assert_eq!(json, format!("\"{}\"", action.as_str()));
            assert_eq!(ContainerAction::from_docker(action.as_str()), Some(action));
        }
        let line =
            r#"{"at_us":1,"wall_ms":2,"event":"container","service":"kafka-1","action":"die"}"#;
        let event: Event = serde_json::from_str(line).unwrap();
        assert_eq!(serde_json::to_string(&event).unwrap(), line);
    }

    #[test]
    fn round_trips_through_jsonl_and_tolerates_a_torn_last_line() {
        let events = vec![
            Event {
                at_us: 0,
                wall_ms: 1,
                kind: EventKind::Phase {
                    name: RunPhase::Steps,
                },
            },
            Event {
                at_us: 5,
                wall_ms: 2,
                kind: EventKind::Observed {
                    snapshot: ClusterSnapshot {
                        controller: Some(1),
                        brokers: vec![1, 2, 3],
                        partitions: vec![PartitionState {
                            topic: "t".into(),
                            partition: 0,
                            leader: None,
                            leader_epoch: 3,
                            replicas: vec![1, 2, 3],
                            isr: vec![1],
                            offline_replicas: vec![],
                        }],
                    },
                    previous_view_us: None,
                },
            },
        ];
        let mut buf = Vec::new();
        let mut w = EventWriter::new(&mut buf);
        for e in &events {
            w.write(e).unwrap();
        }
        buf.extend_from_slice(b"{\"at_us\":9,\"wal");
        let back = read_events(&buf[..]).unwrap();
        assert_eq!(back, events);
    }

    #[test]
    fn a_corrupt_line_in_the_middle_is_an_error_with_its_line() {
        let text = "{\"at_us\":0,\"wall_ms\":0,\"event\":\"phase\",\"name\":\"steps\"}\nnope\n{\"at_us\":0,\"wall_ms\":0,\"event\":\"phase\",\"name\":\"heal\"}\n";
        let err = read_events(text.as_bytes()).unwrap_err();
        assert!(err.to_string().starts_with("line 2:"), "{err}");
    }
}

/// Builders of events for the unit tests of every module that reads them (one place, so the
/// tests agree on what "orders/0 on brokers 1–3" is).
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// An event `at_ms` into the run.
    pub fn at_ms(at_ms: u64, kind: EventKind) -> Event {
        Event {
            at_us: at_ms * 1000,
            wall_ms: 0,
            kind,
        }
    }

    /// orders/0 on `replicas` with this leader, epoch and ISR.
    pub fn orders0(
        leader: Option<BrokerId>,
        epoch: i32,
        replicas: &[BrokerId],
        isr: &[BrokerId],
    ) -> PartitionState {
        PartitionState {
            topic: "orders".into(),
            partition: 0,
            leader,
            leader_epoch: epoch,
            replicas: replicas.to_vec(),
            isr: isr.to_vec(),
            offline_replicas: vec![],
        }
    }

    /// Brokers 1–3 with this controller and orders/0 on 1, 2, 3.
    pub fn snapshot(
        leader: Option<BrokerId>,
        epoch: i32,
        isr: &[BrokerId],
        controller: BrokerId,
    ) -> ClusterSnapshot {
        ClusterSnapshot {
            controller: Some(controller),
            brokers: vec![1, 2, 3],
            partitions: vec![orders0(leader, epoch, &[1, 2, 3], isr)],
        }
    }

    /// The observer's view of `snapshot`.
    pub fn observed(
        leader: Option<BrokerId>,
        epoch: i32,
        isr: &[BrokerId],
        controller: BrokerId,
    ) -> EventKind {
        EventKind::Observed {
            snapshot: snapshot(leader, epoch, isr, controller),
            previous_view_us: None,
        }
    }

    /// SIGKILL of `broker`, timed by Docker's event stream.
    pub fn kill(at: u64, broker: BrokerId) -> Event {
        at_ms(
            at,
            EventKind::FaultInjected {
                id: "k".into(),
                kind: FaultKind::Kill,
                target: "t".into(),
                resolved: vec![],
                broker_ids: vec![broker],
                source: TimeSource::DockerEvent,
            },
        )
    }

    /// Two hosts n1 and n2 (n2's clock 2.2 ms less sure than n1's).
    pub fn two_hosts() -> Vec<RunNode> {
        ["n1", "n2"]
            .iter()
            .enumerate()
            .map(|(i, n)| RunNode {
                name: n.to_string(),
                engine: format!("tcp://10.0.0.{i}:2375"),
                address: format!("10.0.0.{i}"),
                clock_offset_us: 40,
                clock_error_us: 300 + i as i64 * 2_200,
                services: vec![format!("kafka-{i}")],
            })
            .collect()
    }

    /// A whole run on `nodes` (empty: one engine): started, `between`, finished, 1 ms apart.
    pub fn run_on(nodes: Vec<RunNode>, between: Vec<EventKind>) -> Vec<Event> {
        let mut kinds = vec![EventKind::RunStarted {
            experiment: "x".into(),
            variant: None,
            cluster_name: "c".into(),
            cluster_mode: ClusterMode::Zookeeper,
            kafka_version: "3.9.1".into(),
            observer_period_us: 100_000,
            brokers: vec![],
            settings: vec![],
            seed: 0,
            reused_cluster: false,
            attached_project: None,
            kubernetes: None,
            nodes,
            expect: vec![],
        }];
        kinds.extend(between);
        kinds.push(EventKind::RunFinished {
            outcome: RunOutcome::Completed,
        });
        kinds
            .into_iter()
            .enumerate()
            .map(|(i, kind)| at_ms(i as u64, kind))
            .collect()
    }

    /// step-2's wait for a new leader of orders/0, met or not.
    pub fn leader_changed_condition(
        met: bool,
        check: ConditionCheck,
        on_timeout: Option<OnTimeout>,
    ) -> EventKind {
        EventKind::Condition {
            step: "step-2".into(),
            condition: "leader of orders/0 changed".into(),
            met,
            check,
            on_timeout,
        }
    }
}
