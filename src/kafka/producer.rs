//! The tracked producer: every message sequence-numbered per partition, its outcome recorded
//! (acked with offset and time, failed with the error, or unknown when it timed out), latency
//! in an HdrHistogram per phase, and gaps between acks per partition (client-visible
//! unavailability). Sends from one thread at a fixed rate; outcomes arrive a produce response
//! at a time on our own delivery thread (`delivery_events::BatchedProducer`).

use super::client_driver::{self, ClientDriver};
use super::client_install::{self, JavaInstall, PythonInstall};
use super::connect::Profile;
use super::delivery_events::{BatchedProducer, Delivery, DeliveryBatches, DeliveryOutcome};
use super::fast_clock::FastClock;
use super::payload::{self, Identity, HEADER_LEN};
use super::KafkaError;
use crate::analysis::verify::{AckLedger, NotAcked};
use crate::clock::{Clock, EventSink};
use crate::events::LatencyPhase;
use crate::events::{AckGap, EventKind, WorkloadSummary};
use base64::Engine;
use crossbeam_utils::CachePadded;
use hdrhistogram::serialization::{Serializer, V2Serializer};
use hdrhistogram::Histogram;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientContext;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The latency phases' names, by index (the index is what the hot path stores).
pub const PHASES: [&str; 3] = [
    LatencyPhase::BeforeFault.as_str(),
    LatencyPhase::DuringFault.as_str(),
    LatencyPhase::AfterHeal.as_str(),
];

#[derive(Debug, Clone)]
pub struct ProducerOptions {
    pub bootstrap: String,
    /// How the clients connect (security, TLS).
    pub profile: Profile,
    pub topic: String,
    pub partitions: i32,
    /// "0", "1" or "all".
    pub acks: crate::events::Acks,
    pub idempotence: bool,
    /// Messages per second over all partitions; 0 = unlimited.
    pub rate: u32,
    pub message_size: usize,
    pub delivery_timeout: Duration,
    pub retries: Option<u32>,
    pub extra: Vec<(String, String)>,
    pub producer_id: u64,
    /// Stop sending after this many messages; None = until `finish`.
    pub max_messages: Option<u64>,
    pub keys: crate::keys::KeyStrategy,
    /// Seeds the random key choice (the run's seed).
    pub key_seed: u64,
    /// Give librdkafka the bootstrap servers again when it has lost every broker (librdkafka
    /// issue #5301); the loss is reported either way.
    pub rebootstrap_when_no_brokers: bool,
    /// The client library that sends.
    pub client: ClientLibrary,
}

/// Which client library sends the tracked messages: what an application's recovery depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientLibrary {
    /// librdkafka as rdkafka-sys bundles it.
    Librdkafka,
    /// Apache Kafka's Java client (`scripts/java-client.sh`), in a JVM the harness drives.
    Java(JavaInstall),
    /// Another librdkafka, through Python's confluent-kafka of the same version
    /// (`scripts/python-client.sh`), in a Python process the harness drives.
    LibrdkafkaPython(PythonInstall),
}

impl ClientLibrary {
    /// The client the run's consumers (the group's members, the live consumer) use: the Java
    /// client's where it sends; the bundled librdkafka otherwise (the Python driver sends
    /// only).
    pub fn consumers(&self) -> super::ConsumerClient {
        match self {
            ClientLibrary::Java(install) => super::ConsumerClient::Java(install.clone()),
            _ => super::ConsumerClient::Librdkafka,
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            ClientLibrary::Librdkafka => "librdkafka",
            ClientLibrary::Java(_) => "java",
            ClientLibrary::LibrdkafkaPython(_) => "librdkafka-python",
        }
    }

    pub fn version(&self) -> String {
        match self {
            ClientLibrary::Librdkafka => rdkafka::util::get_rdkafka_version().1,
            ClientLibrary::Java(install) => install.version.clone(),
            ClientLibrary::LibrdkafkaPython(install) => install.version.clone(),
        }
    }
}

/// The client that sends: one variant per library.
enum Client {
    Librdkafka(BatchedProducer<TrackingContext>),
    /// Another process: the Java client, librdkafka through Python.
    Driver(ClientDriver),
}

/// Why a send was not taken.
enum Refused {
    /// The client's queue is full (back-pressure): try again.
    Full,
    /// Refused for good: counted as failed.
    Error(String),
}

impl Client {
    fn send(
        &self,
        id: Identity,
        key: Option<&[u8]>,
        payload: &[u8],
        topic: &str,
        clock: &Clock,
    ) -> Result<(), Refused> {
        match self {
            Client::Librdkafka(producer) => {
                let tag = DeliveryTag::new(clock, id.seq, id.sent_at_us);
                let mut record: BaseRecord<'_, [u8], [u8], usize> =
                    BaseRecord::with_opaque_to(topic, tag.opaque)
                        .partition(id.partition)
                        .timestamp(tag.create_time_ms)
                        .payload(payload);
                if let Some(key) = key {
                    record = record.key(key);
                }
                producer.producer().send(record).map_err(|(e, _)| {
                    if e.rdkafka_error_code() == Some(RDKafkaErrorCode::QueueFull) {
                        Refused::Full
                    } else {
                        Refused::Error(e.to_string())
                    }
                })
            }
            Client::Driver(driver) => driver
                .send(id, key, payload)
                .map_err(|e| Refused::Error(e.to_string())),
        }
    }

    /// Waits up to `timeout` for every outstanding outcome; the client then stops.
    fn flush(&self, timeout: Duration) {
        match self {
            // A flush that times out leaves messages without an outcome: they stay "unknown".
            Client::Librdkafka(producer) => {
                producer.flush(timeout);
            }
            Client::Driver(driver) => driver.close(timeout),
        }
    }
}

struct Shared {
    sink: EventSink,
    phase: Arc<AtomicUsize>,
    /// Written by the send loop only, on its own cache line: the delivery thread
    /// writes its counters on another, so neither steals the other's line once per message.
    progress: CachePadded<SendProgress>,
    counts: CachePadded<OutcomeCounts>,
    /// Everything an ack updates, under one lock: the delivery thread takes one per event
    /// (a produce response's acks).
    /// Padded too: the lock's word is written twice per ack, and the send loop reads the
    /// fields around it once per message.
    acks: CachePadded<Mutex<Acks>>,
    errors: Mutex<Vec<(String, u64)>>,
    gap_floor_us: u64,
    /// When the producer started (run clock, µs): a partition never acked is silent since.
    started_at_us: u64,
    topic: String,
    /// From librdkafka's latest statistics: it knows no broker any more (`knows_no_broker`).
    no_brokers: AtomicBool,
    client: ClientLibrary,
}

struct TrackingContext(Arc<Shared>);

/// The part of librdkafka's statistics that says which brokers the client knows.
#[derive(serde::Deserialize)]
struct BrokerStats {
    #[serde(default)]
    brokers: std::collections::HashMap<String, KnownBroker>,
}

#[derive(serde::Deserialize)]
struct KnownBroker {
    /// learned (from metadata), configured (bootstrap), internal or logical.
    source: String,
}

/// Whether a statistics document shows no broker the client could ever reach: every learned
/// and configured one decommissioned, only librdkafka's internal ones left.
fn knows_no_broker(stats: &[u8]) -> bool {
    serde_json::from_slice::<BrokerStats>(stats).is_ok_and(|s| {
        !s.brokers
            .values()
            .any(|b| b.source == "learned" || b.source == "configured")
    })
}

impl ClientContext for TrackingContext {
    /// librdkafka's log lines, tagged with the client they come from (a run has several).
    fn log(&self, level: rdkafka::config::RDKafkaLogLevel, fac: &str, message: &str) {
        super::log_client_line("tracked-producer", level, fac, message);
    }

    /// librdkafka's statistics (once a second): the only place it says which brokers it
    /// still knows. A client that knows none never sends again by itself (librdkafka issue
    /// #5301: a Metadata response listing no brokers — from a broker still starting —
    /// decommissions every broker, and no re-bootstrap follows).
    fn stats_raw(&self, statistics: &[u8]) {
        self.0
            .no_brokers
            .store(knows_no_broker(statistics), Ordering::Relaxed);
    }
}

/// What rides with a librdkafka message to its delivery report, so that the report needs no
/// clock of its own for the send time: the send time's whole milliseconds as the record's
/// CreateTime (the wall time the run clock gives it, so it maps back exactly; librdkafka then
/// reads no clock of its own for it), the rest beside the sequence number in the opaque.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DeliveryTag {
    /// The sequence number above `SUB_MS_BITS`, the send time's microseconds within its
    /// millisecond below.
    opaque: usize,
    create_time_ms: i64,
}

impl DeliveryTag {
    /// 0..=999 needs 10 bits; the sequence number keeps 54 (per partition: more messages
    /// than a run sends in centuries).
    const SUB_MS_BITS: u32 = 10;

    fn new(clock: &Clock, seq: u64, sent_at_us: u64) -> Self {
        const _: () = assert!(usize::BITS == 64);
        DeliveryTag {
            opaque: ((seq << Self::SUB_MS_BITS) | (sent_at_us % 1000)) as usize,
            create_time_ms: clock.wall_ms_at(sent_at_us),
        }
    }

    fn seq(opaque: usize) -> u64 {
        opaque as u64 >> Self::SUB_MS_BITS
    }

    /// The send time (run clock, µs) back from the acked message's CreateTime and opaque
    /// (None when the CreateTime is not ours: before the run).
    fn sent_at_us(clock: &Clock, opaque: usize, create_time_ms: i64) -> Option<u64> {
        let sub_ms = opaque as u64 & ((1 << Self::SUB_MS_BITS) - 1);
        clock
            .at_us_of_stamped_ms(create_time_ms)
            .map(|ms_us| ms_us + sub_ms)
    }

    /// From the send to the ack at `now` (µs), from the CreateTime the ack returned (None:
    /// not ours, before the run).
    fn latency_us(clock: &Clock, opaque: usize, create_time_ms: i64, now: u64) -> Option<u64> {
        // The send and the ack are read on two threads' `FastClock`s, each within 13 µs of
        // the run clock: an ack within 26 µs of its send may read before it. That is 0 µs,
        // not a restamped message.
        Self::sent_at_us(clock, opaque, create_time_ms).map(|sent| now.saturating_sub(sent))
    }
}

impl ProducerContext for TrackingContext {
    /// The message's sequence number and the rest of its send time (`DeliveryTag`), handed
    /// to `produce()` beside it: the callback needs no look at the payload, which by then is
    /// out of every cache (≈ 100,000 messages are in flight at full speed) — reading it back
    /// cost more than everything else an ack does (docs/measurements.md, the cost of tracking).
    type DeliveryOpaque = usize;

    /// Reports reach `delivered` an event at a time (`BatchedProducer`); this is only for a
    /// poll of rust-rdkafka's own (the one `BaseProducer` makes when it is dropped).
    fn delivery(&self, result: &DeliveryResult<'_>, _: usize) {
        self.delivered(&[Delivery::of(result)]);
    }
}

impl DeliveryBatches for TrackingContext {
    fn delivered(&self, reports: &[Delivery]) {
        self.0.on_deliveries(reports);
    }
}

/// What the send loop publishes as it goes (one writer: plain stores, no lock). The ledger
/// takes the per-partition sequence numbers when it needs them: at a phase change and at the
/// end (`Shared::sync_sent`).
struct SendProgress {
    /// Messages handed to the client.
    sent: AtomicU64,
    /// The last message handed to the client (run clock, µs).
    last_send_us: AtomicU64,
    /// Per partition, the next sequence number to send.
    next_seq: Box<[AtomicU64]>,
}

/// Outcome counters, written by the client's callback thread.
/// (Acks are counted in `Acks`, under the lock each ack takes anyway.)
struct OutcomeCounts {
    failed: AtomicU64,
    timed_out: AtomicU64,
    interval_failed: AtomicU64,
}

/// An ack's latency (µs), and whose count it is.
enum AckLatency {
    /// From the send time the producer stamped.
    Ours(u64),
    /// librdkafka's own count (none: it had none): the broker replaced the stamped send
    /// time (`DeliveryTag::latency_us`).
    Librdkafka(Option<u64>),
    /// A CreateTime that is not ours (before the run): left out of the histograms.
    Unknown,
}

/// The ledger, the acks' latency histograms and each partition's last ack.
struct Acks {
    ledger: AckLedger,
    acked: u64,
    /// Since the last tick.
    interval_acked: u64,
    /// Per latency phase, for the whole run (up to the last fold).
    by_phase: Vec<Histogram<u64>>,
    /// Acks since the last fold into `by_phase` (at a tick, a phase change and the end): one
    /// record per ack, not one here and one there.
    unfolded: Histogram<u64>,
    /// Latencies (µs) not yet recorded in `unfolded`: recorded `PENDING` at a time. Each lands
    /// on its own counter of a ≈ 190 KB histogram; one at a time between librdkafka's work on
    /// the delivery thread, every record was a cache miss, while a tight loop overlaps them.
    pending: Vec<u64>,
    /// What a phase change folded since the last tick: the tick's p99 covers it too.
    folded_since_tick: Option<Histogram<u64>>,
    /// Per partition, the last ack's time (run clock, µs; 0: none yet).
    last_ack_us: Vec<u64>,
    /// The acks' clock (the send loop has its own).
    clock: FastClock,
    /// Acks whose latency is librdkafka's own count (`AckLatency::Librdkafka`): counted
    /// under the lock taken anyway, not with an atomic of its own.
    latency_from_librdkafka: u64,
}

impl Acks {
    /// Latencies held back before they go into `unfolded` together.
    const PENDING: usize = 4096;

    fn record_latency(&mut self, latency_us: u64) {
        self.pending.push(latency_us);
        if self.pending.len() >= Self::PENDING {
            self.record_pending();
        }
    }

    /// An ack at `now` (run clock, µs): in the ledger, the counts and the latency histogram
    /// (an unknown latency is left out of it, not counted as 0). If the partition's last ack
    /// was more than `gap_floor_us` before, when it was: the gap this ack closes.
    fn record(
        &mut self,
        partition: i32,
        seq: u64,
        offset: i64,
        now: u64,
        latency: AckLatency,
        gap_floor_us: u64,
    ) -> Option<u64> {
        let latency_us = match latency {
            AckLatency::Ours(us) => Some(us),
            AckLatency::Librdkafka(us) => {
                self.latency_from_librdkafka += 1;
                us
            }
            AckLatency::Unknown => None,
        };
        self.ledger.record_ack(partition, seq, offset, now);
        // Counted under the lock taken anyway: two atomic read-modify-writes fewer.
        self.acked += 1;
        self.interval_acked += 1;
        if let Some(latency) = latency_us.map(|l| l.max(1)) {
            self.record_latency(latency);
        }
        let slot = self.last_ack_us.get_mut(partition as usize)?;
        let before = *slot;
        *slot = before.max(now);
        (before > 0 && now.saturating_sub(before) > gap_floor_us).then_some(before)
    }

    fn record_pending(&mut self) {
        for &latency in &self.pending {
            self.unfolded.saturating_record(latency);
        }
        self.pending.clear();
    }

    /// The acks' latencies since the last fold into `phase`'s histogram (`unfolded` is kept:
    /// the tick's p99 reads it).
    fn fold(&mut self, phase: usize) {
        self.record_pending();
        // Same bounds: adding cannot fail.
        let _ = self.by_phase[phase].add(&self.unfolded);
    }
}

impl Shared {
    /// Switches the latency phase: every ack recorded before it counts in the old one.
    fn set_phase(&self, phase: LatencyPhase) {
        // Under the lock acks are recorded under.
        let mut guard = lock(&self.acks);
        let acks = &mut *guard;
        acks.fold(self.phase());
        let _ = acks
            .folded_since_tick
            .get_or_insert_with(histogram)
            .add(&acks.unfolded);
        acks.unfolded.reset();
        self.phase.store(phase.index(), Ordering::Relaxed);
        self.sync_sent(&mut acks.ledger);
        acks.ledger.begin(phase);
    }

    /// Acks since the last call, and their p99 latency (µs); the latencies folded into their
    /// phase.
    fn take_interval(&self) -> (u64, u64) {
        let mut acks = lock(&self.acks);
        acks.fold(self.phase());
        let p99 = match acks.folded_since_tick.take() {
            Some(mut since_tick) => {
                let _ = since_tick.add(&acks.unfolded);
                since_tick.value_at_quantile(0.99)
            }
            None => acks.unfolded.value_at_quantile(0.99),
        };
        acks.unfolded.reset();
        (std::mem::take(&mut acks.interval_acked), p99)
    }

    /// The latency phase now, as an index of `PHASES`.
    fn phase(&self) -> usize {
        self.phase.load(Ordering::Relaxed).min(PHASES.len() - 1)
    }

    /// One event's delivery reports: the acks under one lock and at one time (the response
    /// that settled them came at one time), the rest one by one (rare).
    fn on_deliveries(&self, reports: &[Delivery]) {
        let clock = self.sink.clock();
        let mut gaps = Vec::new();
        let now = {
            let mut acks = lock(&self.acks);
            let now = acks.clock.now_us();
            for report in reports {
                let DeliveryOutcome::Acked {
                    offset,
                    create_time_ms,
                    librdkafka_latency_us,
                } = report.outcome
                else {
                    continue;
                };
                let latency = match create_time_ms {
                    Some(ms) => DeliveryTag::latency_us(clock, report.opaque, ms, now)
                        .map_or(AckLatency::Unknown, AckLatency::Ours),
                    // The topic stamps LogAppendTime (librdkafka's mock cluster always does).
                    None => AckLatency::Librdkafka(librdkafka_latency_us),
                };
                let seq = DeliveryTag::seq(report.opaque);
                if let Some(from_us) = acks.record(
                    report.partition,
                    seq,
                    offset,
                    now,
                    latency,
                    self.gap_floor_us,
                ) {
                    gaps.push((report.partition, from_us));
                }
            }
            now
        };
        self.emit_gaps(gaps, now);
        for report in reports {
            if let DeliveryOutcome::NotAcked { error, never_sent } = report.outcome {
                let timed_out = error == RDKafkaErrorCode::MessageTimedOut;
                // librdkafka knows whether the message ever left the client.
                let how = match (timed_out, never_sent) {
                    (true, true) => NotAcked::TimedOutQueued,
                    (true, false) => NotAcked::TimedOutInFlight,
                    // Not persisted for sure: a definite failure. Otherwise the error left the
                    // outcome open (e.g. a timeout reported as a request error): unknown.
                    (false, true) => NotAcked::Failed,
                    (false, false) => NotAcked::TimedOutInFlight,
                };
                self.on_not_acked(
                    report.partition,
                    DeliveryTag::seq(report.opaque),
                    how,
                    DeliveryOutcome::error_text(error),
                );
            }
        }
    }

    /// An ack now, from a client in another process.
    fn on_acked(&self, partition: i32, seq: u64, offset: i64, sent_at_us: u64) {
        let (now, gap_from) = {
            let mut acks = lock(&self.acks);
            let now = acks.clock.now_us();
            let latency = AckLatency::Ours(now.saturating_sub(sent_at_us));
            let gap = acks.record(partition, seq, offset, now, latency, self.gap_floor_us);
            (now, gap)
        };
        self.emit_gaps(gap_from.map(|from| (partition, from)), now);
    }

    /// The partitions' ack gaps that an ack at `now` closed (from when).
    fn emit_gaps(&self, gaps: impl IntoIterator<Item = (i32, u64)>, now: u64) {
        for (partition, from_us) in gaps {
            self.sink.emit(EventKind::AckGap(AckGap {
                topic: self.topic.clone(),
                partition,
                from_us,
                to_us: now,
                open: false,
            }));
        }
    }

    fn on_not_acked(&self, partition: i32, seq: u64, how: NotAcked, text: String) {
        lock(&self.acks)
            .ledger
            .record_not_acked(partition, seq, how);
        if how == NotAcked::Failed {
            self.counts.failed.fetch_add(1, Ordering::Relaxed);
        } else {
            self.counts.timed_out.fetch_add(1, Ordering::Relaxed);
        }
        self.counts.interval_failed.fetch_add(1, Ordering::Relaxed);
        let mut errors = lock(&self.errors);
        match errors.iter_mut().find(|(t, _)| *t == text) {
            Some((_, n)) => *n += 1,
            None => errors.push((text, 1)),
        }
    }

    /// Brings the ledger's sent counts up to what the send loop published.
    fn sync_sent(&self, ledger: &mut AckLedger) {
        for (partition, next) in self.progress.next_seq.iter().enumerate() {
            let next = next.load(Ordering::Relaxed);
            if next > 0 {
                ledger.record_sent(partition as i32, next - 1);
            }
        }
    }
}

/// A driver's answers, into the same bookkeeping as librdkafka's delivery reports.
impl client_driver::Outcomes for Shared {
    fn acked(&self, id: &Identity, offset: i64) {
        self.on_acked(id.partition, id.seq, offset, id.sent_at_us);
    }

    fn not_acked(&self, id: &Identity, how: NotAcked, error: &str) {
        self.on_not_acked(id.partition, id.seq, how, error.to_string());
    }

    fn driver_died(&self, why: String) {
        lock(&self.errors).push((why.clone(), 1));
        self.sink.emit(EventKind::Error { message: why });
    }

    fn lost_brokers(&self) {
        // In another process: its bootstrap servers cannot be handed back from here.
        self.sink.emit(EventKind::ClientLostBrokers {
            client: "tracked-producer".into(),
            rebootstrapped: false,
        });
    }

    fn send_blocked(&self, ms: u64) {
        // Long enough to matter beside the send interval: an application's sending thread
        // stops for that long, and the harness's rate with it.
        if ms >= 500 {
            let at_s = self.sink.clock().now_us().saturating_sub(ms * 1000) as f64 / 1e6;
            self.sink.emit(EventKind::Note {
                message: format!(
                    "tracked producer ({} {}): send() blocked {:.2} s from {at_s:.1} s \
                     (waiting for the topic's metadata or for buffer space); nothing was sent \
                     meanwhile",
                    self.client.name(),
                    self.client.version(),
                    ms as f64 / 1e3
                ),
            });
        }
    }
}

pub struct TrackedProducer {
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    sender: Option<std::thread::JoinHandle<()>>,
    /// Disconnected once the send loop's thread has ended (in a mutex only to be `Sync`:
    /// read through `&mut self`, never locked).
    sending: Mutex<std::sync::mpsc::Receiver<std::convert::Infallible>>,
    producer: Arc<Client>,
    started: Instant,
    options: ProducerOptions,
}

/// The ledger must never drop an ack: a panic elsewhere while holding the lock (a poisoned
/// lock) must not make verification report loss that did not happen.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Per-phase histograms as (phase, base64 of HdrHistogram V2), empty phases left out.
pub(crate) fn encode_histograms(hs: &[Histogram<u64>]) -> Vec<(String, String)> {
    PHASES
        .iter()
        .zip(hs.iter())
        .filter(|(_, h)| !h.is_empty())
        .filter_map(|(name, h)| {
            let mut bytes = Vec::new();
            V2Serializer::new().serialize(h, &mut bytes).ok()?;
            Some((
                name.to_string(),
                base64::engine::general_purpose::STANDARD.encode(bytes),
            ))
        })
        .collect()
}

pub(crate) fn histogram() -> Histogram<u64> {
    // 1 µs .. 1 h at 3 significant digits.
    Histogram::new_with_bounds(1, 3_600_000_000, 3)
        .unwrap_or_else(|_| Histogram::new(3).expect("3 sigfig histogram"))
}

impl Shared {
    /// The state both threads share, for a producer about to start.
    fn new(options: &ProducerOptions, sink: EventSink) -> Self {
        let per_partition_interval_us = if options.rate > 0 {
            1_000_000 * options.partitions as u64 / options.rate as u64
        } else {
            0
        };
        let started_at_us = sink.clock().now_us();
        let run_clock = *sink.clock();
        Shared {
            sink,
            phase: Arc::new(AtomicUsize::new(0)),
            progress: CachePadded::new(SendProgress {
                sent: AtomicU64::new(0),
                last_send_us: AtomicU64::new(started_at_us),
                next_seq: (0..options.partitions.max(0))
                    .map(|_| AtomicU64::new(0))
                    .collect(),
            }),
            counts: CachePadded::new(OutcomeCounts {
                failed: AtomicU64::new(0),
                timed_out: AtomicU64::new(0),
                interval_failed: AtomicU64::new(0),
            }),
            acks: CachePadded::new(Mutex::new(Acks {
                ledger: {
                    let mut ledger = AckLedger::new(&options.topic, options.partitions);
                    ledger.begin(LatencyPhase::BeforeFault);
                    ledger
                },
                acked: 0,
                interval_acked: 0,
                by_phase: PHASES.iter().map(|_| histogram()).collect(),
                unfolded: histogram(),
                pending: Vec::with_capacity(Acks::PENDING),
                folded_since_tick: None,
                last_ack_us: vec![0; options.partitions.max(0) as usize],
                clock: FastClock::new(run_clock),
                latency_from_librdkafka: 0,
            })),
            errors: Mutex::new(Vec::new()),
            // A gap worth recording: well above the normal spacing of acks on a partition.
            gap_floor_us: (per_partition_interval_us * 5).max(200_000),
            started_at_us,
            topic: options.topic.clone(),
            no_brokers: AtomicBool::new(false),
            client: options.client.clone(),
        }
    }
}

impl TrackedProducer {
    pub fn start(options: ProducerOptions, sink: EventSink) -> Result<Self, KafkaError> {
        let shared = Arc::new(Shared::new(&options, sink));
        let producer = Arc::new(match &options.client {
            ClientLibrary::Librdkafka => {
                Client::Librdkafka(librdkafka_producer(&options, &shared)?)
            }
            ClientLibrary::Java(install) => Client::Driver(start_driver(
                install.command(),
                workload_settings(&options).java(),
                &options,
                &shared,
            )?),
            ClientLibrary::LibrdkafkaPython(install) => Client::Driver(start_driver(
                install.command(),
                workload_settings(&options).librdkafka(),
                &options,
                &shared,
            )?),
        });
        let stop = Arc::new(AtomicBool::new(false));
        // Dropped when the send loop's thread ends, however it ends: `wait_until_sent`.
        let (sent_all, sending) = std::sync::mpsc::channel::<std::convert::Infallible>();
        let sender = {
            let (producer, shared, stop, options) = (
                producer.clone(),
                shared.clone(),
                stop.clone(),
                options.clone(),
            );
            std::thread::Builder::new()
                .name("chaos-producer".into())
                .spawn(move || {
                    let _sent_all = sent_all;
                    send_loop(&producer, &shared, &stop, &options)
                })
                .map_err(|source| KafkaError::Thread {
                    what: "producer thread",
                    source,
                })?
        };
        Ok(Self {
            shared,
            stop,
            sender: Some(sender),
            sending: Mutex::new(sending),
            producer,
            started: Instant::now(),
            options,
        })
    }

    /// The phase switch, shared with the live consumer so both histograms agree.
    pub fn phase_handle(&self) -> Arc<AtomicUsize> {
        self.shared.phase.clone()
    }

    /// Switches the latency histogram (before-fault, during-fault, after-heal); messages sent
    /// from now on count in this phase.
    pub fn set_phase(&self, phase: LatencyPhase) {
        self.shared.set_phase(phase);
    }

    /// Counts since the last call, and the p99 latency over them (µs).
    pub fn tick(&self) -> EventKind {
        let failed = self
            .shared
            .counts
            .interval_failed
            .swap(0, Ordering::Relaxed);
        let (acked, p99_us) = self.shared.take_interval();
        EventKind::WorkloadTick {
            acked,
            failed,
            p99_us,
        }
    }

    /// Whether the producer still sends (it stops at its message count, if any).
    pub fn is_sending(&self) -> bool {
        self.sender.as_ref().is_some_and(|s| !s.is_finished())
    }

    /// Whether every partition has had an ack at or after `t_us` (run clock).
    pub fn every_partition_acked_since(&self, t_us: u64) -> bool {
        lock(&self.shared.acks)
            .last_ack_us
            .iter()
            .all(|last| *last >= t_us)
    }

    pub fn acked(&self) -> u64 {
        lock(&self.shared.acks).acked
    }

    /// Messages with an outcome so far: acked, failed or timed out.
    pub fn settled(&self) -> u64 {
        let counts = &self.shared.counts;
        self.acked()
            + counts.failed.load(Ordering::Relaxed)
            + counts.timed_out.load(Ordering::Relaxed)
    }

    /// Messages handed to librdkafka so far.
    pub fn sent(&self) -> u64 {
        self.shared.progress.sent.load(Ordering::Relaxed)
    }

    /// The ack ledger's heap now (bytes, its own estimate): what the soak sets beside the
    /// process's resident set.
    pub fn ledger_heap_bytes(&self) -> usize {
        lock(&self.shared.acks).ledger.approx_heap_bytes()
    }

    /// Waits up to `timeout` for the send loop to end by itself (at its message count):
    /// whether it did. Blocks instead of polling `is_sending`, which from another thread
    /// in 1 ms steps cost ≈ 170 ns a message at 100 k msg/s (docs/measurements.md).
    pub fn wait_until_sent(&mut self, timeout: Duration) -> bool {
        let ended = matches!(
            self.sending
                .get_mut()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .recv_timeout(timeout),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected)
        );
        if ended {
            self.join_sender();
        }
        ended
    }

    /// Waits for the send loop to end (at once if it already has).
    fn join_sender(&mut self) {
        if let Some(sender) = self.sender.take() {
            if sender.join().is_err() {
                // The send loop panicked: what it sent is in the ledger; say so.
                lock(&self.shared.errors).push(("the send loop panicked".into(), 1));
            }
        }
    }

    /// Stops sending, waits for every outstanding message's outcome (up to the delivery
    /// timeout), and returns the summary and the ledger of acks for verification.
    pub fn finish(mut self) -> (WorkloadSummary, AckLedger) {
        self.stop.store(true, Ordering::Relaxed);
        self.join_sender();
        let duration_us = self.started.elapsed().as_micros() as u64;
        // Sending stopped here (earlier than now when a message count was reached).
        let stopped_at = self.shared.progress.last_send_us.load(Ordering::Relaxed);
        // A flush that times out leaves messages without an outcome: they stay "unknown" in
        // the ledger and the summary, which is what happened.
        self.producer
            .flush(self.options.delivery_timeout + Duration::from_secs(5));
        if let Client::Librdkafka(producer) = &*self.producer {
            if !producer.is_serving() {
                // Its reports since are not in the ledger: those messages stay unknown.
                lock(&self.shared.errors).push((
                    "the delivery report thread ended early (a panic): later outcomes unknown"
                        .into(),
                    1,
                ));
            }
        }
        // A partition with no ack for a while when sending stopped, and none during the flush
        // either, has an open gap: the client never resumed it. (Acks during the flush close
        // their gap on the delivery thread.)
        let flushed_at = self.shared.sink.clock().now_us();
        let started_at = self.shared.started_at_us;
        let last_acks = lock(&self.shared.acks).last_ack_us.clone();
        for (partition, last) in last_acks.iter().enumerate() {
            let last = if *last > 0 { *last } else { started_at };
            if stopped_at.saturating_sub(last) > self.shared.gap_floor_us {
                self.shared.sink.emit(EventKind::AckGap(AckGap {
                    topic: self.shared.topic.clone(),
                    partition: partition as i32,
                    from_us: last,
                    to_us: flushed_at,
                    open: true,
                }));
            }
        }
        let s = &self.shared;
        let restamped = lock(&s.acks).latency_from_librdkafka;
        if restamped > 0 {
            s.sink.emit(EventKind::Note {
                message: format!(
                    "tracked producer: the latency of {restamped} acks is librdkafka's own count \
                     from produce() to the ack: the topic stamps LogAppendTime, which replaces \
                     the send time the producer stamped as CreateTime"
                ),
            });
        }
        let sent = s.progress.sent.load(Ordering::Relaxed);
        let failed = s.counts.failed.load(Ordering::Relaxed);
        let timed_out = s.counts.timed_out.load(Ordering::Relaxed);
        let mut acks = lock(&s.acks);
        acks.fold(s.phase());
        let acked = acks.acked;
        let latency_histograms = encode_histograms(&acks.by_phase);
        let summary = WorkloadSummary {
            acks: self.options.acks,
            sent,
            acked,
            failed,
            // Timed out, or never answered before the flush gave up: written or not, unknown.
            unknown: timed_out + sent.saturating_sub(acked + failed + timed_out),
            duration_us,
            latency_histograms,
            errors: s.errors.lock().map(|e| e.clone()).unwrap_or_default(),
            keys: (self.options.keys != crate::keys::KeyStrategy::None)
                .then(|| self.options.keys.to_string()),
        };
        // The send loop has ended: what it published is final.
        s.sync_sent(&mut acks.ledger);
        let ledger = std::mem::replace(&mut acks.ledger, AckLedger::new(&s.topic, 0));
        (summary, ledger)
    }
}

/// A run that ends early (an error before `finish`) must not leave the sender producing.
impl Drop for TrackedProducer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// What the workload asks of the producer, for each library to name.
fn workload_settings(options: &ProducerOptions) -> client_install::WorkloadSettings<'_> {
    client_install::WorkloadSettings {
        bootstrap: &options.bootstrap,
        acks: options.acks.as_kafka(),
        idempotence: options.idempotence,
        delivery_timeout: options.delivery_timeout,
        retries: options.retries,
        extra: &options.extra,
    }
}

/// A client in another process, its version checked against the one installed.
fn start_driver(
    command: client_driver::DriverCommand,
    settings: Vec<(String, String)>,
    options: &ProducerOptions,
    shared: &Arc<Shared>,
) -> Result<ClientDriver, KafkaError> {
    let client = command.client;
    let driver = ClientDriver::start(
        client_driver::DriverOptions {
            command,
            topic: &options.topic,
            settings,
            security: &options.profile.security,
        },
        shared.clone(),
    )?;
    let expected = options.client.version();
    if driver.version != expected {
        return Err(KafkaError::Driver(client_driver::DriverError::Refused {
            client,
            why: format!(
                "it runs version {}, not the {expected} installed under that name (reinstall it)",
                driver.version
            ),
        }));
    }
    Ok(driver)
}

/// The librdkafka producer, configured as the workload says.
fn librdkafka_producer(
    options: &ProducerOptions,
    shared: &Arc<Shared>,
) -> Result<BatchedProducer<TrackingContext>, KafkaError> {
    let mut config = super::client_config(&options.bootstrap, &options.profile);
    // librdkafka's default address family, as an application has it (the harness's own
    // clients take v4 only). The stall this was first blamed on was the CMake build's
    // (docs/measurements.md, "The bundled librdkafka was a broken build").
    config.remove(super::connect::IPV4_ONLY.0);
    // The same settings librdkafka gets in the Python driver: one list, two routes.
    for (k, v) in workload_settings(options).librdkafka() {
        config.set(k, v);
    }
    let producer: BaseProducer<TrackingContext> = config
        .create_with_context(TrackingContext(shared.clone()))
        .map_err(KafkaError::client("producer"))?;
    BatchedProducer::start(producer).map_err(|source| KafkaError::Thread {
        what: "delivery report thread",
        source,
    })
}

/// The client knows no broker any more: say so, and — unless the experiment wants to see
/// the library left alone — hand it the bootstrap servers again, which is what its own
/// re-bootstrap (`metadata.recovery.strategy=rebootstrap`) should have done.
fn rebootstrap(producer: &Client, shared: &Shared, options: &ProducerOptions) {
    // Only librdkafka's statistics say so; the Java client is never here.
    let Client::Librdkafka(producer) = producer else {
        return;
    };
    let rebootstrapped = options.rebootstrap_when_no_brokers
        && std::ffi::CString::new(options.bootstrap.as_str()).is_ok_and(|list| {
            // SAFETY: a live client handle and a NUL-terminated broker list; librdkafka copies
            // the list. It returns how many brokers it added.
            unsafe {
                rdkafka::bindings::rd_kafka_brokers_add(
                    producer.producer().client().native_ptr(),
                    list.as_ptr(),
                ) > 0
            }
        });
    shared.sink.emit(EventKind::ClientLostBrokers {
        client: "tracked-producer".into(),
        rebootstrapped,
    });
}

/// The send loop's rate: message `n` is due `n` intervals after the start (0: no limit).
///
/// Above 1,000 msg/s it sleeps in steps of at least 1 ms and then sends what fell due as a
/// burst: a sleep per message (10 µs at 100 k msg/s) cost both producers most of their CPU in
/// `clock_nanosleep` and context switches (docs/measurements.md). Each message is stamped when
/// it goes, and `linger.ms` (5) batches over a longer span than a step, so the brokers see the
/// same batches and the latencies are the messages' own.
pub(crate) struct Pace {
    interval: Option<Duration>,
    started: Instant,
    /// The clock's last reading: a message due before it goes without another read.
    seen: Instant,
}

/// The shortest sleep between bursts.
const MIN_PACE_SLEEP: Duration = Duration::from_millis(1);
/// The longest sleep, so a stop is seen.
const MAX_PACE_SLEEP: Duration = Duration::from_millis(50);

impl Pace {
    pub(crate) fn new(rate: u32) -> Self {
        let now = Instant::now();
        Pace {
            interval: (rate > 0).then(|| Duration::from_secs_f64(1.0 / rate as f64)),
            started: now,
            seen: now,
        }
    }

    /// Whether message `n` may go now; if it is not due yet, sleeps towards it and says no.
    pub(crate) fn ready(&mut self, n: u64) -> bool {
        match self.wait_before(n, Instant::now) {
            None => true,
            Some(sleep) => {
                std::thread::sleep(sleep);
                false
            }
        }
    }

    /// `None` when message `n` is due (the clock read only when the last reading does not
    /// already say so), else how long to sleep first.
    fn wait_before(&mut self, n: u64, now: impl FnOnce() -> Instant) -> Option<Duration> {
        let interval = self.interval?;
        let due = self.started + interval.mul_f64(n as f64);
        if due <= self.seen {
            return None;
        }
        let now = now();
        self.seen = now;
        if due > now {
            return Some((due - now).clamp(MIN_PACE_SLEEP, MAX_PACE_SLEEP));
        }
        if now - due > Duration::from_secs(1) {
            // Far behind (the queue was full during an outage): resume the rate from now
            // instead of bursting the backlog into a cluster that just recovered.
            self.started = now - interval.mul_f64(n as f64);
        }
        None
    }
}

fn send_loop(producer: &Client, shared: &Shared, stop: &AtomicBool, options: &ProducerOptions) {
    let clock = *shared.sink.clock();
    let mut timestamps = FastClock::new(clock);
    let partitions = options.partitions.max(1);
    let keys = crate::keys::KeyPlan::new(options.keys, partitions, options.key_seed);
    let mut seqs = vec![0u64; partitions as usize];
    let mut buf = vec![b'.'; options.message_size.max(HEADER_LEN)];
    let header = payload::HeaderWriter::new(options.producer_id);
    let mut pace = Pace::new(options.rate);
    let mut n: u64 = 0;
    // When the client was last seen without brokers and handled (None: it has brokers).
    let mut lost_since: Option<Instant> = None;
    while !stop.load(Ordering::Relaxed) && options.max_messages.is_none_or(|max| n < max) {
        if !shared.no_brokers.load(Ordering::Relaxed) {
            lost_since = None;
        } else if lost_since.is_none_or(|t| {
            // Re-bootstrapped, and still none two statistics later: the new ones were
            // decommissioned too (the broker still starting); once more.
            options.rebootstrap_when_no_brokers && t.elapsed() > Duration::from_secs(2)
        }) {
            rebootstrap(producer, shared, options);
            lost_since = Some(Instant::now());
        }
        if !pace.ready(n) {
            continue;
        }
        let (key, partition) = keys.at(n);
        let seq = seqs[partition as usize];
        let id = Identity {
            producer_id: options.producer_id,
            partition,
            seq,
            sent_at_us: timestamps.now_us(),
        };
        header.write(&id, &mut buf);
        match producer.send(id, key, &buf, &options.topic, &clock) {
            Ok(()) => {
                seqs[partition as usize] += 1;
                n += 1;
                // One writer: stores, not read-modify-writes, and no lock.
                let progress = &shared.progress;
                progress.next_seq[partition as usize].store(seq + 1, Ordering::Relaxed);
                progress.sent.store(n, Ordering::Relaxed);
                progress
                    .last_send_us
                    .store(id.sent_at_us, Ordering::Relaxed);
            }
            Err(Refused::Full) => {
                // Back-pressure: the client's queue is full (e.g. partition offline).
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(Refused::Error(e)) => {
                // Refused before the client took it: not written, a definite failure (in
                // the ledger too, so the re-read does not count it unknown).
                shared.on_not_acked(partition, seq, NotAcked::Failed, format!("send: {e}"));
                seqs[partition as usize] += 1;
                n += 1;
                shared.progress.next_seq[partition as usize].store(seq + 1, Ordering::Relaxed);
                shared.progress.sent.store(n, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> ProducerOptions {
        ProducerOptions {
            bootstrap: "localhost:1".into(),
            profile: Default::default(),
            topic: "t".into(),
            partitions: 3,
            acks: crate::events::Acks::All,
            idempotence: false,
            rate: 0,
            message_size: 100,
            delivery_timeout: Duration::from_secs(60),
            retries: None,
            extra: vec![],
            producer_id: 1,
            max_messages: None,
            keys: Default::default(),
            key_seed: 0,
            rebootstrap_when_no_brokers: true,
            client: ClientLibrary::Librdkafka,
        }
    }

    #[test]
    fn above_a_thousand_a_second_the_pace_sleeps_a_millisecond_and_sends_what_fell_due() {
        let mut pace = Pace::new(100_000); // a message every 10 µs
        let t0 = pace.started;
        let at = |us: u64| t0 + Duration::from_micros(us);
        assert_eq!(pace.wait_before(0, || at(0)), None);
        // Message 1 is due in 10 µs: a sleep of 1 ms, not 10 µs.
        assert_eq!(pace.wait_before(1, || at(0)), Some(MIN_PACE_SLEEP));
        // Awake 1,005 µs later: messages 1..=100 are due, one clock reading for all of them.
        assert_eq!(pace.wait_before(1, || at(1_005)), None);
        for n in 2..=100 {
            assert_eq!(pace.wait_before(n, || unreachable!("read once")), None);
        }
        assert_eq!(pace.wait_before(101, || at(1_006)), Some(MIN_PACE_SLEEP));
        // A slow rate sleeps just until the next message (and at most 50 ms).
        let mut slow = Pace::new(150);
        let t0 = slow.started;
        assert_eq!(slow.wait_before(0, || t0), None);
        let sleep = slow.wait_before(1, || t0).unwrap();
        assert!(sleep > Duration::from_micros(6_600) && sleep < Duration::from_micros(6_700));
        assert_eq!(Pace::new(1).wait_before(1, || t0), Some(MAX_PACE_SLEEP));
        // No rate: never waits, never reads the clock.
        assert_eq!(Pace::new(0).wait_before(9, || unreachable!()), None);
    }

    #[test]
    fn a_pace_far_behind_resumes_the_rate_from_now() {
        let mut pace = Pace::new(1_000);
        let t0 = pace.started;
        // Message 10 was due at 10 ms; it is 5 s: it goes, and 11 is due 1 ms later.
        let now = t0 + Duration::from_secs(5);
        assert_eq!(pace.wait_before(10, || now), None);
        assert_eq!(pace.wait_before(11, || now), Some(MIN_PACE_SLEEP));
    }

    #[test]
    fn a_delivery_tag_gives_back_the_sequence_number_and_the_send_time() {
        let clock = Clock::start();
        for (seq, sent_at_us) in [(0, 0), (1, 999), (12_345, 1_000), (1 << 53, 86_400_123_456)] {
            let tag = DeliveryTag::new(&clock, seq, sent_at_us);
            assert_eq!(DeliveryTag::seq(tag.opaque), seq);
            assert_eq!(
                DeliveryTag::sent_at_us(&clock, tag.opaque, tag.create_time_ms),
                Some(sent_at_us)
            );
        }
        // Not a time this run stamped (the topic's own, or before the run): no send time.
        let tag = DeliveryTag::new(&clock, 7, 500);
        assert_eq!(
            DeliveryTag::sent_at_us(&clock, tag.opaque, tag.create_time_ms - 1),
            None
        );
    }

    #[test]
    fn waiting_for_the_send_loop_returns_when_it_ends_by_itself_and_not_before() {
        let sink = || EventSink::new(Clock::start(), tokio::sync::mpsc::unbounded_channel().0);
        // No broker is needed to send nothing.
        let mut done = TrackedProducer::start(
            ProducerOptions {
                max_messages: Some(0),
                ..options()
            },
            sink(),
        )
        .unwrap();
        assert!(done.wait_until_sent(Duration::from_secs(10)));
        assert!(!done.is_sending());
        // No message count: it never ends by itself.
        let mut sending = TrackedProducer::start(
            ProducerOptions {
                rate: 1,
                ..options()
            },
            sink(),
        )
        .unwrap();
        assert!(!sending.wait_until_sent(Duration::from_millis(50)));
        assert!(sending.is_sending());
    }

    #[test]
    fn the_latency_comes_from_the_tag_and_the_create_time() {
        let clock = Clock::start();
        let tag = DeliveryTag::new(&clock, 3, 2_500_250);
        let latency = |ts, now| DeliveryTag::latency_us(&clock, tag.opaque, ts, now);
        let ours = tag.create_time_ms;
        assert_eq!(latency(ours, 2_503_000), Some(2_750));
        assert_eq!(latency(ours, 2_500_250), Some(0));
        assert_eq!(
            latency(ours, 2_500_230),
            Some(0),
            "two threads' clocks, 26 µs apart at most: an ack read before its send is at once"
        );
        assert_eq!(
            latency(clock.wall_ms_at(0) - 1, 2_503_000),
            None,
            "a CreateTime before the run is not ours"
        );
    }

    /// One event's reports: the acks at one time, each in the ledger with its own latency
    /// (or librdkafka's, counted, where the broker restamped it), the failures one by one.
    #[test]
    fn an_events_reports_are_acked_at_one_time_and_its_failures_counted() {
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let shared = Shared::new(&options(), EventSink::new(Clock::start(), tx));
        let clock = *shared.sink.clock();
        let acked = |partition, seq, offset, sent_at_us| {
            let tag = DeliveryTag::new(&clock, seq, sent_at_us);
            Delivery {
                partition,
                opaque: tag.opaque,
                outcome: DeliveryOutcome::Acked {
                    offset,
                    create_time_ms: Some(tag.create_time_ms),
                    librdkafka_latency_us: None,
                },
            }
        };
        let restamped = Delivery {
            outcome: DeliveryOutcome::Acked {
                offset: 12,
                create_time_ms: None,
                librdkafka_latency_us: Some(777),
            },
            ..acked(1, 1, 0, 0)
        };
        let failed = Delivery {
            outcome: DeliveryOutcome::NotAcked {
                error: RDKafkaErrorCode::MessageTimedOut,
                never_sent: true,
            },
            ..acked(2, 0, 0, 0)
        };
        shared.on_deliveries(&[acked(0, 0, 10, 0), acked(0, 1, 11, 0), restamped, failed]);
        let acks = lock(&shared.acks);
        assert_eq!((acks.acked, acks.latency_from_librdkafka), (3, 1));
        assert_eq!(acks.ledger.acked_count(), 3);
        assert_eq!(
            acks.last_ack_us[0], acks.last_ack_us[1],
            "one response, one ack time"
        );
        assert_eq!(acks.last_ack_us[2], 0, "the failed one is not an ack");
        assert!(acks.pending.contains(&777));
        drop(acks);
        assert_eq!(shared.counts.timed_out.load(Ordering::Relaxed), 1);
        assert_eq!(
            lock(&shared.errors).as_slice(),
            [(
                "Message production error: MessageTimedOut (Local: Message timed out)".to_string(),
                1
            )]
        );
    }

    #[test]
    fn acks_restamped_by_the_broker_take_librdkafkas_latency_and_say_so() {
        // librdkafka's mock cluster answers every produce with a LogAppendTime: the send time
        // the producer stamped is gone, as on a topic with message.timestamp.type=LogAppendTime.
        let mock = rdkafka::mocking::MockCluster::new(1).expect("mock cluster");
        mock.create_topic("t", 3, 1).expect("topic");
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let options = ProducerOptions {
            bootstrap: mock.bootstrap_servers(),
            max_messages: Some(200),
            ..options()
        };
        let mut producer =
            TrackedProducer::start(options, EventSink::new(Clock::start(), tx)).expect("producer");
        assert!(producer.wait_until_sent(Duration::from_secs(30)));
        let (summary, _) = producer.finish();
        assert_eq!(summary.acked, 200);
        let mut notes = vec![];
        while let Ok(event) = rx.try_recv() {
            if let EventKind::Note { message } = event.kind {
                notes.push(message);
            }
        }
        assert!(
            notes
                .iter()
                .any(|n| n.contains("latency of 200 acks is librdkafka's own count")),
            "{notes:?}"
        );
    }

    #[test]
    fn latencies_count_in_the_phase_they_were_acked_in_and_in_their_tick() {
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let shared = Shared::new(&options(), EventSink::new(Clock::start(), tx));
        let ack = |seq: u64, latency: u64| {
            let mut acks = lock(&shared.acks);
            let now = acks.clock.now_us();
            acks.record(0, seq, seq as i64, now, AckLatency::Ours(latency), u64::MAX);
        };
        ack(0, 100);
        assert_eq!(shared.take_interval(), (1, 100));
        ack(1, 5_000);
        shared.set_phase(LatencyPhase::DuringFault);
        ack(2, 9_000);
        ack(3, 9_000);
        let (acked, p99) = shared.take_interval();
        assert_eq!(
            acked, 3,
            "the tick counts the acks on both sides of the switch"
        );
        assert!((9_000..9_010).contains(&p99), "{p99}");
        ack(4, 20);
        let acks = lock(&shared.acks);
        let [before, during, _] = &acks.by_phase[..] else {
            panic!("three phases")
        };
        assert_eq!(
            (before.len(), before.max()),
            (2, 5_003),
            "to 3 significant digits"
        );
        assert_eq!(
            during.len(),
            2,
            "the last ack is not folded until the next tick"
        );
        assert_eq!(
            (acks.unfolded.len(), acks.pending.len()),
            (0, 1),
            "held back until the next tick"
        );
        drop(acks);
        // A full batch goes into the histogram at once, before any tick.
        for seq in 5..5 + Acks::PENDING as u64 {
            ack(seq, 7);
        }
        let acks = lock(&shared.acks);
        assert_eq!(
            acks.unfolded.len() + acks.pending.len() as u64,
            1 + Acks::PENDING as u64
        );
        assert!(acks.pending.len() < Acks::PENDING);
    }

    #[test]
    fn a_client_with_only_internal_brokers_knows_none() {
        // Trimmed from librdkafka 2.12.1's statistics after a Metadata response listing no
        // brokers: every learned broker decommissioned, the internal one left.
        let lost = br#"{"name":"rdkafka#producer-1","type":"producer","brokers":{
            ":0/internal":{"name":":0/internal","nodeid":-1,"source":"internal","state":"UP"}}}"#;
        assert!(knows_no_broker(lost));
        let fine = br#"{"brokers":{
            ":0/internal":{"source":"internal"},
            "localhost:39092/2":{"source":"learned","state":"DOWN"}}}"#;
        assert!(!knows_no_broker(fine), "a known broker, even down, is one");
        let rebootstrapped =
            br#"{"brokers":{"localhost:29092/bootstrap":{"source":"configured"}}}"#;
        assert!(!knows_no_broker(rebootstrapped));
        assert!(
            !knows_no_broker(b"not json"),
            "unreadable statistics change nothing"
        );
    }
}
