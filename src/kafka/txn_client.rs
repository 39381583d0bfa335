//! The transactional client's pieces both transactional workloads share — the generated
//! transactions (`transactions`) and the read-process-write loop (`read_process_write`): its
//! options and record, creating the producer, sending one message, ending a transaction,
//! disposing of a client, the stop, and the layout of a transactional message (the identity
//! header of its own producer id, then `TXN <id, 20>`, and for a read-process-write output
//! ` IN <partition, 5> <offset, 20>`, the input it was made from).

use super::connect::Profile;
use super::payload::{self, Identity, HEADER_LEN};
use super::KafkaError;
use crate::analysis::transactions::{Txn, TxnOutcome};
use crate::clock::EventSink;
use rdkafka::error::KafkaError as RdError;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Delivery reports are served by the producer's own thread: commit and abort need them.
pub(super) type TxProducer = ThreadedProducer<DefaultProducerContext>;

const TXN_TAG: &[u8; 4] = b"TXN ";
const IN_TAG: &[u8; 4] = b" IN ";
/// `TXN ` and the transaction id.
const TXN_LEN: usize = 24;
/// ` IN `, the input partition, a space and the input offset.
const IN_LEN: usize = 4 + 5 + 1 + 20;
pub(super) const TIMEOUT: Duration = Duration::from_secs(30);
/// After the stop, how long the loop and the live reader read on to the end.
pub(super) const DRAIN: Duration = Duration::from_secs(30);

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
    /// How the clients connect (security, TLS).
    pub profile: Profile,
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
    pub(super) fn set(&self, drain: bool) {
        self.finish.store(true, Ordering::SeqCst);
        if !drain {
            self.now.store(true, Ordering::SeqCst);
        }
    }
}

pub(super) fn create(o: &TxnOptions) -> Result<TxProducer, KafkaError> {
    let producer: TxProducer = super::client_config(&o.bootstrap, &o.profile)
        .set("transactional.id", &o.transactional_id)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .create()
        .map_err(KafkaError::client("transactional producer"))?;
    producer
        .init_transactions(TIMEOUT)
        .map_err(KafkaError::client("init_transactions"))?;
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
pub(super) fn note(errors: &mut Vec<String>, e: impl std::fmt::Display) {
    let e = e.to_string();
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
pub(super) struct TxnMessage {
    pub(super) identity: Identity,
    pub(super) txn: u64,
    /// Read-process-write: the input's (partition, offset).
    pub(super) input: Option<(i32, i64)>,
}

/// One of `producer_id`'s transactional messages, if `buf` is one.
pub(super) fn decode_txn(buf: &[u8], producer_id: u64) -> Option<TxnMessage> {
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
) -> Result<u64, KafkaError> {
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
            Err((e, _)) => return Err(KafkaError::client("send")(e)),
        }
    }
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
