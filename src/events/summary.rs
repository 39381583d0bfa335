//! What each workload reports at its end: the tracked producer's, the live consumer's, a
//! consumer group's, the transactional and read-process-write workloads', and the re-read's
//! verification.

use super::unknown::UnknownOutcomes;
use super::vocabulary::Acks;
use serde::{Deserialize, Serialize};

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
    /// Acked, not read, and the re-read never got to where the ack put it (its partition read
    /// short of the high watermark, or not at all): neither lost nor present, unknown.
    #[serde(default)]
    pub unverified_acked: u64,
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
    /// Acked and absent where the re-read looked: acknowledged-data loss.
    pub lost_acked: u64,
    /// Acked and not read, where the re-read did not look (an incomplete re-read): unknown,
    /// not counted as lost.
    #[serde(default)]
    pub unverified_acked: u64,
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
