//! The transactional producer (`workload.transactions`), its read-process-write variant (a
//! consume → produce loop committing the consumed offsets inside each transaction, in
//! `read_process_write`), the live read_committed reader and the two re-reads
//! (read_committed and read_uncommitted) for the exactly-once checker in
//! `analysis::transactions`. Their messages carry the identity header of their own producer id
//! (so the acked-message checker and the group ignore them); the layout and the client pieces
//! both workloads share are in `txn_client`.

use super::connect::Profile;
use super::txn_client::{
    create, decode_txn, dispose_noting, end_transaction, fatal, fence_if_needed, note, send_one,
    Stop, TxProducer, DRAIN, TIMEOUT,
};
pub use super::txn_client::{TxnOptions, TxnRecord, TxnSource};
use super::KafkaError;
use crate::analysis::transactions::{Txn, TxnOutcome, TxnRead};
use crate::clock::EventSink;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError as RdError;
use rdkafka::message::Message;
use rdkafka::producer::Producer;
use rdkafka::{Offset, TopicPartitionList};
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    profile: &Profile,
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
    let consumer: BaseConsumer = super::client_config(bootstrap, profile)
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
    /// How the clients connect (security, TLS).
    pub profile: Profile,
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
    let consumer: BaseConsumer = super::client_config(&o.bootstrap, &o.profile)
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
    profile: &Profile,
    topic: &str,
    partitions: i32,
    timeout: Duration,
) -> Result<(Vec<(i32, i64)>, bool), KafkaError> {
    let consumer: BaseConsumer = super::client_config(bootstrap, profile)
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
    profile: &Profile,
    group_id: &str,
    topic: &str,
    partitions: i32,
) -> Result<Vec<(i32, i64)>, KafkaError> {
    let consumer: BaseConsumer = super::client_config(bootstrap, profile)
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
