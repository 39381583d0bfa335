//! The transactional producer (`workload.transactions`) and the two re-reads of its messages
//! (read_committed and read_uncommitted) for the exactly-once checker in
//! `analysis::transactions`. Its messages carry the identity header of their own producer id
//! (so the acked-message checker and the group ignore them) and, after it, `TXN <id> `.

use super::payload::{self, Identity, HEADER_LEN};
use super::KafkaError;
use crate::analysis::transactions::{Txn, TxnOutcome, TxnRead};
use crate::clock::EventSink;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError as RdError;
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;

/// Delivery reports are served by the producer's own thread: commit and abort need them.
type TxProducer = ThreadedProducer<DefaultProducerContext>;
use rdkafka::{Offset, TopicPartitionList};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TXN_TAG: &[u8; 4] = b"TXN ";
const TIMEOUT: Duration = Duration::from_secs(30);

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
    /// Between transactions (pacing, not a measurement).
    pub pause: Duration,
}

pub struct TxnProducer {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<(Vec<Txn>, Vec<String>)>>,
}

impl TxnProducer {
    pub fn start(options: TxnOptions, sink: EventSink) -> Result<Self, KafkaError> {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("chaos-txn-producer".into())
                .spawn(move || run(&options, &sink, &stop))
                .map_err(|source| KafkaError::Thread {
                    what: "transactional producer thread",
                    source,
                })?
        };
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }

    /// Stops after the transaction in progress; blocking.
    pub fn finish(mut self) -> (Vec<Txn>, Vec<String>) {
        self.stop.store(true, Ordering::SeqCst);
        self.thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default()
    }
}

impl Drop for TxnProducer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn create(o: &TxnOptions) -> Result<TxProducer, String> {
    let producer: TxProducer = ClientConfig::new()
        .set("bootstrap.servers", &o.bootstrap)
        .set("broker.address.family", "v4")
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
fn end_transaction(p: &TxProducer, commit: bool, note: &mut dyn FnMut(String)) -> TxnOutcome {
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

fn requires_abort(e: &RdError) -> bool {
    matches!(e, RdError::Transaction(t) if t.txn_requires_abort())
}
fn fatal(e: &RdError) -> bool {
    matches!(e, RdError::Transaction(t) if t.is_fatal())
}

fn run(o: &TxnOptions, sink: &EventSink, stop: &AtomicBool) -> (Vec<Txn>, Vec<String>) {
    let mut txns = Vec::new();
    let mut errors: Vec<String> = Vec::new();
    let note = |errors: &mut Vec<String>, e: String| {
        if errors.len() < 20 && !errors.contains(&e) {
            errors.push(e);
        }
    };
    let mut seqs = vec![0u64; o.partitions.max(1) as usize];
    let mut producer: Option<TxProducer> = None;
    let mut id = 0u64;
    while !stop.load(Ordering::SeqCst) {
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
            let seq = seqs[partition as usize];
            seqs[partition as usize] += 1;
            let mut buf = vec![b'.'; HEADER_LEN + 26];
            payload::encode(
                &Identity {
                    producer_id: o.producer_id,
                    partition,
                    seq,
                    sent_at_us: sink.clock().now_us(),
                },
                &mut buf,
            );
            buf[HEADER_LEN..HEADER_LEN + 4].copy_from_slice(TXN_TAG);
            buf[HEADER_LEN + 4..HEADER_LEN + 24].copy_from_slice(format!("{id:020}").as_bytes());
            let mut record = BaseRecord::<(), [u8]>::to(&o.topic)
                .partition(partition)
                .payload(&buf[..]);
            loop {
                match p.send(record) {
                    Ok(()) => break,
                    Err((RdError::MessageProduction(RDKafkaErrorCode::QueueFull), r))
                        if !stop.load(Ordering::SeqCst) =>
                    {
                        // Queue full: let librdkafka drain, then try again.
                        std::thread::sleep(Duration::from_millis(10));
                        record = r;
                    }
                    Err((e, _)) => {
                        note(&mut errors, format!("send: {e}"));
                        send_failed = true;
                        break;
                    }
                }
            }
            if send_failed {
                break;
            }
            messages.push((partition, seq));
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
        txns.push(Txn {
            id,
            outcome,
            messages,
        });
        id += 1;
        if healthy {
            producer = Some(p);
        }
        std::thread::sleep(o.pause);
    }
    // A transaction left open holds every read_committed reader at its first offset (the
    // last stable offset) until the coordinator times it out: a new producer with the same
    // transactional.id fences the old one and aborts it now.
    if producer.is_none() {
        if let Err(e) = create(o) {
            note(&mut errors, format!("fencing the last producer: {e}"));
        }
    }
    (txns, errors)
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
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("broker.address.family", "v4")
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
                let Some(payload) = m.payload() else { continue };
                let Some(id) = payload::decode(payload) else {
                    continue;
                };
                if id.producer_id != producer_id {
                    continue;
                }
                let txn = payload
                    .get(HEADER_LEN..HEADER_LEN + 24)
                    .filter(|t| t.starts_with(TXN_TAG))
                    .and_then(|t| std::str::from_utf8(&t[4..]).ok())
                    .and_then(|t| t.parse().ok());
                if let Some(txn) = txn {
                    out.push(TxnRead {
                        partition: m.partition(),
                        seq: id.seq,
                        offset: m.offset(),
                        txn,
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
