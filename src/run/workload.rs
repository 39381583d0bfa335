//! The workload's clients as a run drives them — the tracked producer, the live consumer, the
//! consumer group, the transactional producer — as traits: the real clients (`crate::kafka`)
//! implement them, and so does the scripted cluster of the session's tests.

use crate::analysis::group::GroupHistory;
use crate::analysis::verify::{AckLedger, SeenSet};
use crate::events::{ConsumerSummary, EventKind, LatencyPhase, TransactionSummary};
use crate::events::{VerificationSummary, WorkloadSummary};
use crate::experiment::FaultKind;
use crate::kafka::producer::TrackedProducer;
use crate::kafka::KafkaError;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The tracked producer as the session drives it ([`TrackedProducer`] is the real one).
pub trait Producer: Send + Sync {
    /// Messages sent from now on count in this latency phase.
    fn set_phase(&self, phase: LatencyPhase);
    /// The phase switch, shared with the live consumer so both histograms agree.
    fn phase_handle(&self) -> Arc<AtomicUsize>;
    /// Counts since the last call (a `WorkloadTick`).
    fn tick(&self) -> EventKind;
    /// Whether it still sends (it stops at its message count, if any).
    fn is_sending(&self) -> bool;
    /// Whether every partition has had an ack at or after `t_us` (run clock).
    fn every_partition_acked_since(&self, t_us: u64) -> bool;
    /// Stops sending, waits for every outstanding outcome (blocking): the summary and the
    /// ledger of acks.
    fn finish(self: Box<Self>) -> (WorkloadSummary, AckLedger);
}

impl Producer for TrackedProducer {
    fn set_phase(&self, phase: LatencyPhase) {
        TrackedProducer::set_phase(self, phase)
    }
    fn phase_handle(&self) -> Arc<AtomicUsize> {
        TrackedProducer::phase_handle(self)
    }
    fn tick(&self) -> EventKind {
        TrackedProducer::tick(self)
    }
    fn is_sending(&self) -> bool {
        TrackedProducer::is_sending(self)
    }
    fn every_partition_acked_since(&self, t_us: u64) -> bool {
        TrackedProducer::every_partition_acked_since(self, t_us)
    }
    fn finish(self: Box<Self>) -> (WorkloadSummary, AckLedger) {
        TrackedProducer::finish(*self)
    }
}

/// The live consumer (`workload.consumer`) as the session drains it.
pub trait LiveReader: Send {
    /// Reads on until it has `acked` messages or `grace` passed (blocking): its summary and
    /// every message it saw.
    fn finish(self: Box<Self>, acked: u64, grace: Duration) -> (ConsumerSummary, SeenSet);
}

impl LiveReader for crate::kafka::live_consumer::LiveConsumer {
    fn finish(self: Box<Self>, acked: u64, grace: Duration) -> (ConsumerSummary, SeenSet) {
        crate::kafka::live_consumer::LiveConsumer::finish(*self, acked, grace)
    }
}

/// The consumer group (`workload.group`) as the session, the faults and the drain use it.
pub trait Group: Send + Sync {
    /// A member fault (crash, leave, pause) acted inside the harness.
    fn fault(&self, member: u32, kind: FaultKind) -> Result<(), KafkaError>;
    fn heal(&self, member: u32, kind: FaultKind) -> Result<(), KafkaError>;
    /// Counts since the last call (a `GroupTick`).
    fn tick(&self) -> EventKind;
    /// Whether the group has formed: every partition held, every member holding one (when
    /// there are enough partitions).
    fn fully_assigned(&self) -> bool;
    /// Reads on until it processed `enough` or `grace` passed, then the members commit and
    /// leave (blocking): what it did, its commit failures, its errors.
    fn finish(self: Box<Self>, enough: u64, grace: Duration) -> (GroupHistory, u64, Vec<String>);
}

/// The group, shared by the session and the fault registry until the drain takes it back.
/// Boxed inside the `Arc`: `Arc::into_inner` needs a sized type, and `finish` takes the box.
pub type SharedGroup = Arc<Box<dyn Group>>;

impl Group for crate::kafka::group::GroupWorkload {
    fn fault(&self, member: u32, kind: FaultKind) -> Result<(), KafkaError> {
        crate::kafka::group::GroupWorkload::fault(self, member, kind)
    }
    fn heal(&self, member: u32, kind: FaultKind) -> Result<(), KafkaError> {
        crate::kafka::group::GroupWorkload::heal(self, member, kind)
    }
    fn tick(&self) -> EventKind {
        crate::kafka::group::GroupWorkload::tick(self)
    }
    fn fully_assigned(&self) -> bool {
        crate::kafka::group::GroupWorkload::fully_assigned(self)
    }
    fn finish(self: Box<Self>, enough: u64, grace: Duration) -> (GroupHistory, u64, Vec<String>) {
        crate::kafka::group::GroupWorkload::finish(*self, enough, grace)
    }
}

/// The transactional producer (`workload.transactions`) and its live read_committed reader.
pub trait Transactions: Send {
    /// Stops, lets the live reader read on and, when `reread`, re-reads the topic at both
    /// isolation levels and checks (blocking): the summary.
    fn finish(self: Box<Self>, reread: bool) -> TransactionSummary;
}

/// What the drain hands to the verification.
pub struct Drained {
    pub ledger: AckLedger,
    pub consumed: Option<SeenSet>,
    /// What the consumer group processed, for its skip check.
    pub group_seen: Option<SeenSet>,
}

/// The re-read's verdict, and the group's (skipped, unprocessed tail) when it ran.
pub type Reread = Result<(VerificationSummary, Option<(u64, u64)>), KafkaError>;

/// Names of the services a fault holds down right now (the prober leaves them alone).
pub type DownOnPurpose = Arc<Mutex<Vec<String>>>;
