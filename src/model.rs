//! `result.json`: what a run measured, derived from the events by `analysis`. Every
//! report format renders this (plus the events for pictures).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Passed,
    Failed,
    Inconclusive,
    Aborted,
}

impl Status {
    /// Documented exit codes: 0 passed, 1 failed, 3 inconclusive, 4 aborted (infrastructure).
    pub fn exit_code(&self) -> crate::exit::ExitCode {
        use crate::exit::ExitCode;
        match self {
            Status::Passed => ExitCode::Passed,
            Status::Failed => ExitCode::ExpectationsFailed,
            Status::Inconclusive => ExitCode::Inconclusive,
            Status::Aborted => ExitCode::Infrastructure,
        }
    }
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Passed => "passed",
            Status::Failed => "failed",
            Status::Inconclusive => "inconclusive",
            Status::Aborted => "aborted",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    pub status: Status,
    pub experiment: String,
    /// What the experiment sets out to show (its file's `description`, on one line).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default)]
    pub variant: Option<String>,
    /// True when the run did not finish (aborted or interrupted): the numbers cover what was
    /// measured until then.
    pub partial: bool,
    pub cluster: ClusterInfo,
    /// Run started → run finished (or first → last event when either is missing), ms. `None`
    /// for a result.json written before it was recorded.
    #[serde(default)]
    pub duration_ms: Option<f64>,
    /// Error bar of every metadata-derived time (the observer poll period), ms.
    pub error_bar_ms: f64,
    pub faults: Vec<FaultResult>,
    pub partitions: Vec<PartitionResult>,
    pub failover: FailoverSummary,
    /// After a controller fault: fault → a different controller observed.
    pub controller_failover_ms: Option<f64>,
    /// Offline (no leader) time summed over partitions, ms.
    pub offline: OfflineSummary,
    /// Spans in which the observer saw nothing (no broker answered): the cluster's state then
    /// is unknown — neither offline nor online.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unobserved: Vec<Interval>,
    pub workload: Option<WorkloadResult>,
    /// The concurrent consumer (`workload: {consumer: true}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer: Option<ConsumerResult>,
    pub verification: Option<crate::events::VerificationSummary>,
    /// The consumer group (`workload.group`): duplicates, skips, rebalances, lag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<GroupResult>,
    /// The transactional producer (`workload.transactions`) and the exactly-once checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transactions: Option<crate::events::TransactionSummary>,
    pub expectations: Vec<ExpectationResult>,
    /// Every `wait-for` and `assert` step, met or not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<ConditionResult>,
    /// The observer's leader changes against the times Kafka logged them.
    #[serde(default)]
    pub log_check: Option<LogCheck>,
    #[serde(default)]
    pub notes: Vec<String>,
    #[serde(default)]
    pub errors: Vec<String>,
}

/// Observed leader change time minus the new leader's own log time ("Leader t-p … starts at
/// leader epoch N"), per matched change. Expected in [0, error bar + a request's time].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct LogCheck {
    pub matched: usize,
    /// Observed changes with no log line (e.g. logs rotated) — not counted as failures.
    pub unmatched: usize,
    pub offsets_ms: Vec<f64>,
    pub min_offset_ms: Option<f64>,
    pub max_offset_ms: Option<f64>,
}

/// A number read off a result (None when it has no data), for the reports that compare.
pub type Metric = fn(&RunResult) -> Option<f64>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterInfo {
    pub name: String,
    /// None when the events hold no run-started.
    pub mode: Option<crate::events::ClusterMode>,
    pub kafka_version: String,
    pub reused: bool,
    /// The compose project the run attached to (started without chaos).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attached_project: Option<String>,
    /// The Kubernetes cluster the run faulted (`namespace/strimzi-cluster`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<String>,
    /// Settings in force that decide the numbers.
    pub settings: Vec<(String, String)>,
    /// Each workload topic's effective settings and their source (topic / broker / default).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topic_settings: Vec<(String, Vec<crate::events::TopicSetting>)>,
    /// The hosts the cluster spanned (empty: one Docker engine).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nodes: Vec<crate::events::RunNode>,
}

impl ClusterInfo {
    /// How the cluster came to be, for headers: "", ", reused cluster" or ", attached to
    /// compose project X".
    pub fn origin_suffix(&self) -> String {
        let mut suffix = match (&self.attached_project, &self.kubernetes) {
            (Some(p), _) => format!(", attached to compose project {p}"),
            (None, Some(k)) => format!(", on Kubernetes ({k})"),
            (None, None) if self.reused => ", reused cluster".into(),
            (None, None) => String::new(),
        };
        if !self.nodes.is_empty() {
            suffix.push_str(&format!(
                ", on {} hosts ({})",
                self.nodes.len(),
                self.nodes
                    .iter()
                    .map(|n| n.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        suffix
    }

    /// What the error bar is made of: the observer's poll, and the hosts' clocks when the
    /// cluster spans several.
    pub fn error_bar_source(&self) -> &'static str {
        if self.nodes.is_empty() {
            "observer poll"
        } else {
            "observer poll + host clocks"
        }
    }

    /// "zookeeper", "kraft", or "unknown" when the events hold no run-started.
    pub fn mode_name(&self) -> &'static str {
        self.mode.map_or("unknown", |m| m.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultResult {
    pub id: String,
    pub kind: crate::events::FaultKind,
    pub target: String,
    pub resolved: Vec<String>,
    pub at_ms: f64,
    pub healed_at_ms: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IsrChange {
    pub at_ms: f64,
    pub isr: Vec<i32>,
    /// Time since the latest fault before it, ms.
    pub since_fault_ms: Option<f64>,
    /// Time since the latest heal before it, ms.
    pub since_heal_ms: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeaderChange {
    pub at_ms: f64,
    pub leader: Option<i32>,
    pub epoch: i32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub from_ms: f64,
    /// `None` when still open at the end of the run.
    pub to_ms: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionResult {
    pub topic: String,
    pub partition: i32,
    /// Fault → first observation of a new live leader, for a fault that hit this partition's leader.
    pub failover_ms: Option<f64>,
    /// Total time without a leader, ms.
    pub offline_ms: f64,
    pub offline_intervals: Vec<Interval>,
    /// Total time with ISR smaller than the replica set, ms.
    pub under_replicated_ms: f64,
    pub leader_changes: Vec<LeaderChange>,
    pub isr_changes: Vec<IsrChange>,
    /// Last heal → leader back on the preferred replica, ms.
    pub preferred_restored_ms: Option<f64>,
    /// Client view: the longest gap between consecutive acks on this partition, ms.
    pub unavailability_ms: Option<f64>,
    /// Time with no usable leader: none in the metadata, or one that a fault holds down
    /// (killed, stopped, frozen, disconnected). Kafka's "offline" is only the first.
    #[serde(default)]
    pub unavailable_ms: f64,
    #[serde(default)]
    pub unavailable_intervals: Vec<Interval>,
    /// Fault → the new leader's own log line ("Leader t-p … starts at leader epoch N"), ms:
    /// broker and Docker on one host clock, ± 1 ms (the log's resolution). The primary
    /// failover time where the line was found; `failover_ms` (polls) cross-checks it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover_log_ms: Option<f64>,
    /// The error bar `failover_ms` really had: from the observer's view before the new
    /// leader was seen to the view that showed it (the poll period, more after a blind spell).
    #[serde(default)]
    pub failover_error_ms: Option<f64>,
    /// Client view: usable again (end of the last unavailable interval) → first ack after it.
    /// A lower bound when `resumed` is false.
    #[serde(default)]
    pub recovery_ms: Option<f64>,
    /// The live consumer's view: usable again → its first delivery of the partition after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consumer_recovery_ms: Option<f64>,
    /// Whether acks were flowing on this partition when the workload stopped.
    #[serde(default)]
    pub resumed: Option<bool>,
    /// A fresh producer's write after the partition became usable again: usable → its ack,
    /// ms (the last such probe). Beside `recovery_ms` it tells the cluster's recovery from
    /// the long-lived client's. `None` with `probe_error` when the probe failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fresh_client_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Stats {
    pub count: usize,
    pub min: Option<f64>,
    pub p50: Option<f64>,
    pub max: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FailoverSummary {
    /// Metadata view: fault → new leader observed, over affected partitions, ms.
    pub metadata_ms: Stats,
    /// The error bar of metadata_ms: the poll period, or the largest real gap between the
    /// observer's views around a failover (after a blind spell), ms.
    pub resolution_ms: f64,
    /// Leaderless → leader elected, over partitions that went offline, ms.
    pub election_ms: Stats,
    /// Fault → the new leader's log line, over affected partitions, ms (± 1 ms).
    #[serde(default)]
    pub log_ms: Stats,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct OfflineSummary {
    pub total_ms: f64,
    pub max_ms: f64,
    pub partitions: usize,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Latency {
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

/// What a consumer reading alongside the workload saw.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ConsumerResult {
    /// Our messages delivered to it (duplicates included).
    pub received: u64,
    /// Send → delivered to the consumer, one clock.
    pub e2e_latency_ms: Latency,
    /// Per phase (before-fault, during, after-heal).
    pub e2e_by_phase_ms: Vec<(String, Latency)>,
    /// The longest time a partition delivered nothing while messages were being sent.
    pub longest_gap: Option<ConsumerGap>,
    /// Our messages delivered to it more than once.
    #[serde(default)]
    pub duplicates: u64,
    /// Times a partition's delivered offsets went back.
    #[serde(default)]
    pub rewinds: u64,
}

/// What the consumer group did and what the checker found.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GroupResult {
    pub group_id: String,
    pub members: u32,
    pub commit: crate::events::CommitMode,
    /// `classic` or `consumer` (KIP-848).
    #[serde(default)]
    pub protocol: crate::events::GroupProtocol,
    pub commit_interval_ms: f64,
    /// The session timeout in force: the client's (classic) or the broker's
    /// `group.consumer.session.timeout.ms` (consumer protocol; 0 when it was not read).
    pub session_timeout_ms: u64,
    pub max_poll_interval_ms: u64,
    pub processed: u64,
    pub distinct: u64,
    /// Messages processed more than once, by cause.
    pub duplicates: u64,
    pub duplicate_causes: Vec<(crate::events::DuplicateCause, u64)>,
    #[serde(default)]
    pub duplicate_sample: Vec<crate::events::DuplicateSample>,
    /// Acked, present in the re-read, never processed (below the group's progress).
    pub skipped: Option<u64>,
    /// Acked and present but beyond what the group had processed when it stopped.
    pub unprocessed_tail: Option<u64>,
    pub commits: u64,
    pub commit_failures: u64,
    /// Each rebalance: the first revoke callback → every partition held by a live member.
    pub rebalances: Vec<Interval>,
    pub rebalance_ms: Stats,
    /// Per fault: fault → the end of the first rebalance after it (`None`: no rebalance
    /// completed after it).
    pub resumed_after_fault: Vec<(String, Option<f64>)>,
    /// Faults that hit while the group was not whole (forming, or mid-rebalance): not timed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults_hit_while_not_whole: Vec<String>,
    /// The longest time a partition was processed by nobody.
    pub longest_gap: Option<ConsumerGap>,
    /// The largest lag seen (high watermark − position, summed over held partitions).
    pub lag_max: Option<u64>,
    /// Callback and processing times are taken inside the members' polls: ± the poll timeout
    /// plus one message's processing, ms.
    pub error_bar_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ConsumerGap {
    pub topic: String,
    pub partition: i32,
    pub ms: f64,
    pub from_ms: f64,
    pub to_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WorkloadResult {
    pub acks: crate::events::Acks,
    pub sent: u64,
    pub acked: u64,
    pub failed: u64,
    pub unknown: u64,
    pub throughput_per_s: f64,
    pub latency_ms: Latency,
    /// Per phase (before-fault, during, after-heal).
    pub latency_by_phase_ms: Vec<(String, Latency)>,
    /// Client view: longest gap between acks over all partitions, ms.
    pub max_unavailability_ms: Option<f64>,
    /// Acks were flowing on every partition when the workload stopped.
    #[serde(default = "yes")]
    pub resumed: bool,
    /// Partitions that had no ack at all at the end of the workload.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_resumed: Vec<String>,
    /// The key strategy, when messages carried keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<String>,
    /// When the client's library was seen without a broker (run clock, ms; from its statistics,
    /// once a second, so up to 1 s after it happened) — librdkafka
    /// issue #5301 — and whether the harness re-bootstrapped it. An application on the same
    /// library stays without brokers until it is restarted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lost_brokers: Vec<LostBrokers>,
    /// The ack latency's percentile spectrum over every phase, from the same histogram as
    /// `latency_ms` (HdrHistogram's iteration by percentile, ever closer to 100 %): the shape
    /// behind p50 / p99 / max, plotted on the run page. Empty without a histogram.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub latency_spectrum_ms: Vec<PercentileMs>,
}

/// A latency at a percentile (0–100).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PercentileMs {
    pub percentile: f64,
    pub ms: f64,
}

/// One time the tracked client knew no broker any more.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LostBrokers {
    pub at_ms: f64,
    pub rebootstrapped: bool,
}

/// A `wait-for` (met, or timed out) or an `assert` (held or not) as the run saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConditionResult {
    pub step: String,
    pub condition: String,
    pub check: crate::events::ConditionCheck,
    pub met: bool,
    /// When it was met, timed out or asserted (run clock), ms.
    pub at_ms: f64,
    /// A wait-for that timed out: what it made of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_timeout: Option<crate::events::OnTimeout>,
}

impl ConditionResult {
    /// What this condition makes of the run's status, if anything.
    pub fn verdict(&self) -> Option<Status> {
        use crate::events::{ConditionCheck, OnTimeout};
        match (self.met, self.check, self.on_timeout.unwrap_or_default()) {
            (true, _, _) => None,
            (false, ConditionCheck::Assert, _) => Some(Status::Failed),
            (false, ConditionCheck::WaitFor, OnTimeout::Fail) => Some(Status::Failed),
            (false, ConditionCheck::WaitFor, OnTimeout::Inconclusive) => Some(Status::Inconclusive),
            (false, ConditionCheck::WaitFor, OnTimeout::Continue) => None,
        }
    }
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpectationResult {
    pub expr: String,
    /// The value found (as text, with unit), or `None` when there was no data.
    pub actual: Option<String>,
    /// `None`: no data — inconclusive, never a pass.
    pub passed: Option<bool>,
}
