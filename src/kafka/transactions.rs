//! The transactional producer (`workload.transactions`), its read-process-write variant (a
//! consume → produce loop committing the consumed offsets inside each transaction), the live
//! read_committed reader and the two re-reads (read_committed and read_uncommitted) for the
//! exactly-once checker in `analysis::transactions`. Its messages carry the identity header of
//! their own producer id (so the acked-message checker and the group ignore them) and, after
//! it, `TXN <id, 20>`; a read-process-write output then ` IN <partition, 5> <offset, 20>`, the
//! input it was made from.

use super::payload::{self, Identity, HEADER_LEN};
use super::KafkaError;
use crate::analysis::transactions::{Txn, TxnOutcome, TxnRead};
use crate::clock::EventSink;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError as RdError;
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;

/// Delivery reports are served by the producer's own thread: commit and abort need them.
pub(super) type TxProducer = ThreadedProducer<DefaultProducerContext>;
use rdkafka::{Offset, TopicPartitionList};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TXN_TAG: &[u8; 4] = b"TXN ";
const IN_TAG: &[u8; 4] = b" IN ";
/// `TXN ` and the transaction id.
const TXN_LEN: usize = 24;
/// ` IN `, the input partition, a space and the input offset.
const IN_LEN: usize = 4 + 5 + 1 + 20;
const TIMEOUT: Duration = Duration::from_secs(30);
/// After the stop, how long the loop and the live reader read on to the end.
const DRAIN: Duration = Duration::from_secs(30);

/// Where a transaction's messages come from.
#[derive(Debug, Clone)]
pub enum TxnSource {
    /// `size` generated messages per transaction, across the partitions.
    Generated,
    /// Read-process-write: up to `size` messages consumed from `input_topic` per transaction,
    /// one output each, the consumed offsets of `group_id` committed inside it.
    Consumed {
        input_topic: String,
        input_partitions: i32,
        group_id: String,
    },
}

/// What the transactional producer (or loop) did.
#[derive(Debug, Default)]
pub struct TxnRecord {
    pub txns: Vec<Txn>,
    pub errors: Vec<String>,
    /// Read-process-write: times it went back to the last committed offsets.
    pub rewinds: u64,
    /// From its start to its stop, on the run's clock (µs): the span a stall is judged in.
    pub span_us: Option<(u64, u64)>,
}

#[derive(Debug, Clone)]
pub struct TxnOptions {
    pub bootstrap: String,
    pub topic: String,
    pub partitions: i32,
    pub transactional_id: String,
    /// The identity header's producer id for these messages.
    pub producer_id: u64,
    pub size: u32,
    /// Every n-th transaction is aborted on purpose (0: none).
    pub abort_every: u32,
    /// Between transactions (pacing, not a measurement); read-process-write waits this long
    /// for a transaction's inputs.
    pub pause: Duration,
    pub source: TxnSource,
}

/// How a client thread is told to end: finish (read or process on to the end, bounded by
/// [`DRAIN`]) or at once (an interrupted run, or dropped).
#[derive(Debug, Default)]
pub(super) struct Stop {
    finish: AtomicBool,
    now: AtomicBool,
}

impl Stop {
    pub(super) fn is_set(&self) -> bool {
        self.finish.load(Ordering::SeqCst) || self.now.load(Ordering::SeqCst)
    }
    pub(super) fn at_once(&self) -> bool {
        self.now.load(Ordering::SeqCst)
    }
    fn set(&self, drain: bool) {
        self.finish.store(true, Ordering::SeqCst);
        if !drain {
            self.now.store(true, Ordering::SeqCst);
        }
    }
}

pub struct TxnProducer {
    stop: Arc<Stop>,
    thread: Option<std::thread::JoinHandle<TxnRecord>>,
    clock: crate::clock::Clock,
    started_at_us: u64,
}

impl TxnProducer {
    pub fn start(options: TxnOptions, sink: EventSink) -> Result<Self, KafkaError> {
        let stop = Arc::new(Stop::default());
        let (clock, started_at_us) = (*sink.clock(), sink.clock().now_us());
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("chaos-txn-producer".into())
                .spawn(move || match &options.source {
                    TxnSource::Generated => run(&options, &sink, &stop),
                    TxnSource::Consumed {
                        input_topic,
                        input_partitions,
                        group_id,
                    } => super::read_process_write::run(
                        &options,
                        &super::read_process_write::Input {
                            topic: input_topic,
                            partitions: *input_partitions,
                            group_id,
                        },
                        &sink,
                        &stop,
                    ),
                })
                .map_err(|source| KafkaError::Thread {
                    what: "transactional producer thread",
                    source,
                })?
        };
        Ok(Self {
            stop,
            thread: Some(thread),
            clock,
            started_at_us,
        })
    }

    /// Stops after the transaction in progress (read-process-write with `drain`: once every
    /// input is processed, for at most 30 s); blocking.
    pub fn finish(mut self, drain: bool) -> TxnRecord {
        self.stop.set(drain);
        let mut record: TxnRecord = self
            .thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        record.span_us = Some((self.started_at_us, self.clock.now_us()));
        record
    }
}

impl Drop for TxnProducer {
    fn drop(&mut self) {
        self.stop.set(false);
    }
}

pub(super) fn create(o: &TxnOptions) -> Result<TxProducer, String> {
    let producer: TxProducer = super::client_config(&o.bootstrap)
        .set("transactional.id", &o.transactional_id)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .create()
        .map_err(|e| e.to_string())?;
    producer
        .init_transactions(TIMEOUT)
        .map_err(|e| format!("init_transactions: {e}"))?;
    Ok(producer)
}

fn retriable(e: &RdError) -> bool {
    match e {
        RdError::Transaction(t) => t.is_retriable(),
        // commit_transaction's own flush timed out: the commit is still in progress.
        RdError::Flush(RDKafkaErrorCode::OperationTimedOut) => true,
        _ => false,
    }
}

/// Commits (or aborts) the open transaction. A timed-out call is retried ("retry call to
/// resume": e.g. while the transaction coordinator moves), a commit that needs an abort is
/// aborted; only when that fails too is the outcome unknown.
pub(super) fn end_transaction(
    p: &TxProducer,
    commit: bool,
    note: &mut dyn FnMut(String),
) -> TxnOutcome {
    const ATTEMPTS: u32 = 6;
    const ATTEMPT: Duration = Duration::from_secs(10);
    if commit {
        for attempt in 1..=ATTEMPTS {
            match p.commit_transaction(ATTEMPT) {
                Ok(()) => return TxnOutcome::Committed,
                Err(e) if retriable(&e) && attempt < ATTEMPTS => {
                    note(format!("commit (retried): {e}"))
                }
                Err(e) if requires_abort(&e) => {
                    note(format!("commit: {e}"));
                    break;
                }
                Err(e) => {
                    note(format!("commit: {e}"));
                    return TxnOutcome::Unknown;
                }
            }
        }
    }
    for attempt in 1..=ATTEMPTS {
        match p.abort_transaction(ATTEMPT) {
            Ok(()) => return TxnOutcome::Aborted,
            Err(e) if retriable(&e) && attempt < ATTEMPTS => note(format!("abort (retried): {e}")),
            Err(e) => {
                note(format!("abort: {e}"));
                return TxnOutcome::Unknown;
            }
        }
    }
    TxnOutcome::Unknown
}

pub(super) fn requires_abort(e: &RdError) -> bool {
    matches!(e, RdError::Transaction(t) if t.txn_requires_abort())
}
pub(super) fn fatal(e: &RdError) -> bool {
    matches!(e, RdError::Transaction(t) if t.is_fatal())
}

/// Destroys a librdkafka client on a thread of its own: a consumer that lived through a
/// broker going down and coming back can wait forever in `rd_kafka_destroy` for its broker
/// threads (librdkafka issue #4674, seen here with 2.12.1 after a leader kill), and the run
/// must not wait with it. A thread that cannot be started is an error (the client was then
/// destroyed on this thread, as the failed spawn dropped it).
fn dispose<T: Send + 'static>(client: T) -> Result<(), KafkaError> {
    std::thread::Builder::new()
        .name("chaos-rdkafka-destroy".into())
        .spawn(move || drop(client))
        .map(drop)
        .map_err(|source| KafkaError::Thread {
            what: "client destroy thread",
            source,
        })
}

/// [`dispose`], a failure kept with the workload's errors.
pub(super) fn dispose_noting<T: Send + 'static>(client: T, errors: &mut Vec<String>) {
    if let Err(e) = dispose(client) {
        note(errors, e.to_string());
    }
}

/// Keeps the first 20 distinct errors.
pub(super) fn note(errors: &mut Vec<String>, e: String) {
    if errors.len() < 20 && !errors.contains(&e) {
        errors.push(e);
    }
}

/// The payload of a transactional message: identity header, transaction id, and for
/// read-process-write the input it was made from.
pub(super) fn encode_txn(identity: &Identity, txn: u64, input: Option<(i32, i64)>) -> Vec<u8> {
    use std::io::Write;
    let mut buf = vec![b'.'; HEADER_LEN + TXN_LEN + input.map_or(2, |_| IN_LEN)];
    payload::encode(identity, &mut buf);
    let mut tail = std::io::Cursor::new(&mut buf[HEADER_LEN..]);
    let _ = tail.write_all(TXN_TAG);
    let _ = write!(tail, "{txn:020}");
    if let Some((partition, offset)) = input {
        let _ = tail.write_all(IN_TAG);
        let _ = write!(tail, "{partition:05} {offset:020}");
    }
    buf
}

/// One of our transactional messages, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TxnMessage {
    identity: Identity,
    txn: u64,
    /// Read-process-write: the input's (partition, offset).
    input: Option<(i32, i64)>,
}

/// One of `producer_id`'s transactional messages, if `buf` is one.
fn decode_txn(buf: &[u8], producer_id: u64) -> Option<TxnMessage> {
    let id = payload::decode(buf)?;
    if id.producer_id != producer_id {
        return None;
    }
    let txn = buf
        .get(HEADER_LEN..HEADER_LEN + TXN_LEN)
        .filter(|t| t.starts_with(TXN_TAG))
        .and_then(|t| std::str::from_utf8(&t[4..]).ok())
        .and_then(|t| t.parse().ok())?;
    let input = buf
        .get(HEADER_LEN + TXN_LEN..HEADER_LEN + TXN_LEN + IN_LEN)
        .filter(|t| t.starts_with(IN_TAG))
        .and_then(|t| std::str::from_utf8(&t[4..]).ok())
        .and_then(|t| {
            let (p, o) = t.split_once(' ')?;
            Some((p.parse().ok()?, o.parse().ok()?))
        });
    Some(TxnMessage {
        identity: id,
        txn,
        input,
    })
}

/// A transaction left open holds every read_committed reader at its first offset (the last
/// stable offset) until the coordinator times it out: a new producer with the same
/// transactional.id fences the old one and aborts it now.
pub(super) fn fence_if_needed(o: &TxnOptions, needed: bool, errors: &mut Vec<String>) {
    if needed {
        if let Err(e) = create(o) {
            note(errors, format!("fencing the last producer: {e}"));
        }
    }
}

/// Sends one message of transaction `txn` to `partition` with its next sequence (carrying its
/// input under read-process-write), waiting while the client's queue is full until `stop`.
/// Returns the sequence, or why the client refused it.
#[allow(clippy::too_many_arguments)] // the message's coordinates, where it goes, and the stop
pub(super) fn send_one(
    p: &TxProducer,
    o: &TxnOptions,
    sink: &EventSink,
    stop: &Stop,
    seqs: &mut [u64],
    partition: i32,
    txn: u64,
    input: Option<(i32, i64)>,
) -> Result<u64, String> {
    let seq = seqs[partition as usize];
    seqs[partition as usize] += 1;
    let buf = encode_txn(
        &Identity {
            producer_id: o.producer_id,
            partition,
            seq,
            sent_at_us: sink.clock().now_us(),
        },
        txn,
        input,
    );
    let mut record = BaseRecord::<(), [u8]>::to(&o.topic)
        .partition(partition)
        .payload(&buf[..]);
    loop {
        match p.send(record) {
            Ok(()) => return Ok(seq),
            Err((RdError::MessageProduction(RDKafkaErrorCode::QueueFull), r)) if !stop.is_set() => {
                // Queue full: let librdkafka drain, then try again.
                std::thread::sleep(Duration::from_millis(10));
                record = r;
            }
            Err((e, _)) => return Err(format!("send: {e}")),
        }
    }
}

fn run(o: &TxnOptions, sink: &EventSink, stop: &Stop) -> TxnRecord {
    let mut txns = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    let mut seqs = vec![0u64; o.partitions.max(1) as usize];
    let mut producer: Option<TxProducer> = None;
    let mut id = 0u64;
    while !stop.is_set() {
        let p = match producer.take() {
            Some(p) => p,
            // A fatal error (e.g. fenced) needs a new producer: init_transactions again, which
            // also aborts whatever the old one left open.
            None => match create(o) {
                Ok(p) => p,
                Err(e) => {
                    note(&mut errors, e);
                    std::thread::sleep(Duration::from_secs(1));
                    continue;
                }
            },
        };
        if let Err(e) = p.begin_transaction() {
            note(&mut errors, format!("begin: {e}"));
            if !fatal(&e) {
                producer = Some(p);
            }
            std::thread::sleep(Duration::from_millis(200));
            continue;
        }
        let mut messages = Vec::with_capacity(o.size as usize);
        let mut send_failed = false;
        for i in 0..o.size {
            let partition = (i as i32) % o.partitions.max(1);
            match send_one(&p, o, sink, stop, &mut seqs, partition, id, None) {
                Ok(seq) => messages.push((partition, seq)),
                Err(e) => {
                    note(&mut errors, e);
                    send_failed = true;
                    break;
                }
            }
        }
        let abort =
            send_failed || (o.abort_every > 0 && (id + 1).is_multiple_of(o.abort_every as u64));
        if abort && !send_failed {
            // Written first, then aborted: an abort right after the sends would purge them
            // from the client's queue and the log would hold nothing to hide.
            if let Err(e) = p.flush(TIMEOUT) {
                note(&mut errors, format!("flush before abort: {e}"));
            }
        }
        let outcome = end_transaction(&p, !abort, &mut |e| note(&mut errors, e));
        let healthy = !matches!(outcome, TxnOutcome::Unknown);
        sink.emit(crate::events::EventKind::TransactionEnded { id, outcome });
        txns.push(Txn {
            id,
            outcome,
            messages,
            ended_at_us: sink.clock().now_us(),
        });
        id += 1;
        if healthy {
            producer = Some(p);
        }
        std::thread::sleep(o.pause);
    }
    fence_if_needed(o, producer.is_none(), &mut errors);
    TxnRecord {
        txns,
        errors,
        rewinds: 0,
        span_us: None,
    }
}

/// Reads every partition to its end with one isolation level; returns the transactional
/// messages of `producer_id` in log order, and whether every partition was read to its end.
pub fn reread(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    producer_id: u64,
    read_committed: bool,
    timeout: Duration,
) -> Result<(Vec<TxnRead>, bool), KafkaError> {
    let isolation = if read_committed {
        "read_committed"
    } else {
        "read_uncommitted"
    };
    let consumer: BaseConsumer = super::client_config(bootstrap)
        .set("group.id", format!("chaos-txn-verify-{producer_id:016x}"))
        .set("enable.auto.commit", "false")
        // End of partition (past control records and aborted data too) ends the read.
        .set("enable.partition.eof", "true")
        .set("isolation.level", isolation)
        .create()
        .map_err(KafkaError::client(format!("{isolation} reader")))?;
    let mut assignment = TopicPartitionList::new();
    for p in 0..partitions {
        assignment
            .add_partition_offset(topic, p, Offset::Beginning)
            .map_err(KafkaError::client(format!("{isolation} assignment")))?;
    }
    consumer
        .assign(&assignment)
        .map_err(KafkaError::client(format!("{isolation} assign")))?;
    let mut at_end = vec![false; partitions.max(0) as usize];
    let mut out = Vec::new();
    let deadline = Instant::now() + timeout;
    while !at_end.iter().all(|e| *e) && Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(500)) {
            Some(Ok(m)) => {
                if let Some(t) = m.payload().and_then(|b| decode_txn(b, producer_id)) {
                    out.push(TxnRead {
                        partition: m.partition(),
                        seq: t.identity.seq,
                        offset: m.offset(),
                        txn: t.txn,
                        input: t.input,
                        at_us: 0,
                    });
                }
            }
            Some(Err(RdError::PartitionEOF(p))) => {
                if let Some(e) = at_end.get_mut(p as usize) {
                    *e = true;
                }
            }
            Some(Err(_)) | None => {}
        }
    }
    Ok((out, at_end.iter().all(|e| *e)))
}

/// The live read_committed reader: consumes the transactional topic while the run goes on,
/// recording each transactional message with its receive time; once stopped, reads on to the
/// end of every partition (a fresh consumer from its positions, so the end is reported anew).
pub struct LiveTxnReader {
    stop: Arc<Stop>,
    thread: Option<std::thread::JoinHandle<LiveRecord>>,
}

/// What the live reader saw; `complete`: it reached the end of every partition after the stop.
#[derive(Debug, Default)]
pub struct LiveRecord {
    pub reads: Vec<TxnRead>,
    pub complete: bool,
    pub errors: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct LiveOptions {
    pub bootstrap: String,
    pub topic: String,
    pub partitions: i32,
    pub producer_id: u64,
}

impl LiveTxnReader {
    pub fn start(o: LiveOptions, sink: EventSink) -> Result<Self, KafkaError> {
        let stop = Arc::new(Stop::default());
        let start = (0..o.partitions).map(|_| Offset::Beginning).collect();
        let consumer = live_consumer(&o, start)?;
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("chaos-txn-live".into())
                .spawn(move || live(&o, consumer, &sink, &stop))
                .map_err(|source| KafkaError::Thread {
                    what: "live read_committed reader thread",
                    source,
                })?
        };
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }

    /// Call once the transactional producer stopped: with `drain` reads on to the end (at most
    /// 30 s); blocking.
    pub fn finish(mut self, drain: bool) -> LiveRecord {
        self.stop.set(drain);
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for LiveTxnReader {
    fn drop(&mut self) {
        self.stop.set(false);
    }
}

fn live_consumer(o: &LiveOptions, start: Vec<Offset>) -> Result<BaseConsumer, KafkaError> {
    let consumer: BaseConsumer = super::client_config(&o.bootstrap)
        .set("group.id", format!("chaos-txn-live-{:016x}", o.producer_id))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .set("isolation.level", "read_committed")
        .create()
        .map_err(KafkaError::client("live read_committed reader"))?;
    let mut assignment = TopicPartitionList::new();
    for (p, offset) in start.into_iter().enumerate() {
        assignment
            .add_partition_offset(&o.topic, p as i32, offset)
            .map_err(KafkaError::client("live reader assignment"))?;
    }
    consumer
        .assign(&assignment)
        .map_err(KafkaError::client("live reader assign"))?;
    Ok(consumer)
}

fn live(o: &LiveOptions, consumer: BaseConsumer, sink: &EventSink, stop: &Stop) -> LiveRecord {
    let mut record = LiveRecord::default();
    let receive = |m: &rdkafka::message::BorrowedMessage<'_>, reads: &mut Vec<TxnRead>| {
        if let Some(t) = m.payload().and_then(|b| decode_txn(b, o.producer_id)) {
            reads.push(TxnRead {
                partition: m.partition(),
                seq: t.identity.seq,
                offset: m.offset(),
                txn: t.txn,
                input: t.input,
                at_us: sink.clock().now_us(),
            });
        }
    };
    while !stop.is_set() {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => receive(&m, &mut record.reads),
            Some(Err(RdError::PartitionEOF(_))) | None => {}
            Some(Err(e)) => note(&mut record.errors, format!("live reader: {e}")),
        }
    }
    // On to the end with a fresh consumer: the old one reported the end of a partition only
    // once, maybe long before the last transactions.
    let positions = consumer.position().ok();
    dispose_noting(consumer, &mut record.errors);
    if stop.at_once() {
        return record;
    }
    let start: Vec<Offset> = (0..o.partitions)
        .map(|p| {
            positions
                .as_ref()
                .and_then(|l| l.find_partition(&o.topic, p))
                .map(|e| e.offset())
                .filter(|off| matches!(off, Offset::Offset(_)))
                .unwrap_or(Offset::Beginning)
        })
        .collect();
    let consumer = match live_consumer(o, start) {
        Ok(c) => c,
        Err(e) => {
            note(&mut record.errors, e.to_string());
            return record;
        }
    };
    let mut at_end = vec![false; o.partitions.max(0) as usize];
    let deadline = Instant::now() + DRAIN;
    while !at_end.iter().all(|e| *e) && Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => receive(&m, &mut record.reads),
            Some(Err(RdError::PartitionEOF(p))) => {
                if let Some(e) = at_end.get_mut(p as usize) {
                    *e = true;
                }
            }
            Some(Err(_)) | None => {}
        }
    }
    record.complete = at_end.iter().all(|e| *e);
    dispose_noting(consumer, &mut record.errors);
    record
}

/// (partition, offset) of every message in `topic` (read_uncommitted, to the end of every
/// partition): the read-process-write loop's inputs. And whether every end was reached.
pub fn read_offsets(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    timeout: Duration,
) -> Result<(Vec<(i32, i64)>, bool), KafkaError> {
    let consumer: BaseConsumer = super::client_config(bootstrap)
        .set("group.id", "chaos-rpw-input-reread")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "true")
        .create()
        .map_err(KafkaError::client("input re-read"))?;
    let mut assignment = TopicPartitionList::new();
    for p in 0..partitions {
        assignment
            .add_partition_offset(topic, p, Offset::Beginning)
            .map_err(KafkaError::client("input re-read assignment"))?;
    }
    consumer
        .assign(&assignment)
        .map_err(KafkaError::client("input re-read assign"))?;
    let mut at_end = vec![false; partitions.max(0) as usize];
    let mut out = Vec::new();
    let deadline = Instant::now() + timeout;
    while !at_end.iter().all(|e| *e) && Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(500)) {
            Some(Ok(m)) => out.push((m.partition(), m.offset())),
            Some(Err(RdError::PartitionEOF(p))) => {
                if let Some(e) = at_end.get_mut(p as usize) {
                    *e = true;
                }
            }
            Some(Err(_)) | None => {}
        }
    }
    Ok((out, at_end.iter().all(|e| *e)))
}

/// The group's committed offsets on `topic` (partitions without one are left out).
pub fn committed_offsets(
    bootstrap: &str,
    group_id: &str,
    topic: &str,
    partitions: i32,
) -> Result<Vec<(i32, i64)>, KafkaError> {
    let consumer: BaseConsumer = super::client_config(bootstrap)
        .set("group.id", group_id)
        .set("enable.auto.commit", "false")
        // Waits for offsets a transaction still holds (KIP-447's require_stable).
        .set("isolation.level", "read_committed")
        .create()
        .map_err(KafkaError::client("committed offsets"))?;
    let mut list = TopicPartitionList::new();
    for p in 0..partitions {
        list.add_partition(topic, p);
    }
    let committed = consumer
        .committed_offsets(list, TIMEOUT)
        .map_err(KafkaError::client("committed offsets"))?;
    Ok(committed
        .elements()
        .iter()
        .filter_map(|e| match e.offset() {
            Offset::Offset(o) => Some((e.partition(), o)),
            _ => None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_destroyed_on_a_thread_of_its_own() {
        struct Client(std::sync::mpsc::Sender<Option<String>>);
        impl Drop for Client {
            fn drop(&mut self) {
                let name = std::thread::current().name().map(str::to_owned);
                self.0.send(name).unwrap();
            }
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let mut errors = Vec::new();
        dispose_noting(Client(tx), &mut errors);
        let dropped_on = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(dropped_on.as_deref(), Some("chaos-rdkafka-destroy"));
        assert!(errors.is_empty(), "{errors:?}");
    }

    #[test]
    fn a_transactional_payload_round_trips_with_and_without_its_input() {
        let id = Identity {
            producer_id: 7,
            partition: 2,
            seq: 41,
            sent_at_us: 5,
        };
        let plain = encode_txn(&id, 12, None);
        assert_eq!(plain.len(), HEADER_LEN + 26, "the plain layout as before");
        let decoded = |identity, txn, input| {
            Some(TxnMessage {
                identity,
                txn,
                input,
            })
        };
        assert_eq!(decode_txn(&plain, 7), decoded(id, 12, None));
        assert_eq!(decode_txn(&plain, 8), None, "another producer's");
        let rpw = encode_txn(&id, 12, Some((1, 123_456)));
        assert_eq!(decode_txn(&rpw, 7), decoded(id, 12, Some((1, 123_456))));
        assert!(rpw.is_ascii());
    }
}
