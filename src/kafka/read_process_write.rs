//! Read-process-write (`workload.transactions.read-process-write`): a consume → produce loop.
//! Up to `size` inputs per transaction, one output each (carrying the input's partition and
//! offset), the consumed offsets committed inside the transaction with
//! `send_offsets_to_transaction`. After an abort (on purpose or not) the loop goes back to its
//! last committed offsets with a new input consumer; after an unknown outcome it starts again
//! from the group's committed offsets with a new producer (which fences the old one).

use super::txn_client::{
    create, dispose_noting, end_transaction, fatal, fence_if_needed, note, send_one, Stop,
    TxProducer, TxnOptions, TxnRecord,
};
use super::KafkaError;
use crate::analysis::transactions::{Txn, TxnOutcome};
use crate::clock::EventSink;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::Producer;
use rdkafka::{Offset, TopicPartitionList};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(30);
/// After the stop, how long the loop goes on to process the rest of its input.
const DRAIN: Duration = Duration::from_secs(30);

pub struct Input<'a> {
    pub topic: &'a str,
    pub partitions: i32,
    pub group_id: &'a str,
}

/// The input consumer: read_committed, no auto commit (the transactions commit), assigned
/// every partition at `start` (the group's committed offset where `None`).
fn consumer(
    o: &TxnOptions,
    input: &Input<'_>,
    start: &[Option<i64>],
) -> Result<BaseConsumer, KafkaError> {
    let consumer: BaseConsumer = super::client_config(&o.bootstrap, &o.profile)
        .set("group.id", input.group_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("isolation.level", "read_committed")
        .create()
        .map_err(KafkaError::client("input consumer"))?;
    let mut assignment = TopicPartitionList::new();
    for p in 0..input.partitions {
        let offset = match start.get(p as usize).copied().flatten() {
            Some(o) => Offset::Offset(o),
            None => Offset::Stored,
        };
        assignment
            .add_partition_offset(input.topic, p, offset)
            .map_err(KafkaError::client("input assignment"))?;
    }
    consumer
        .assign(&assignment)
        .map_err(KafkaError::client("input assign"))?;
    Ok(consumer)
}

/// The group's committed offset per partition (`None`: none yet, the log's start).
fn committed(consumer: &BaseConsumer, partitions: i32) -> Result<Vec<Option<i64>>, KafkaError> {
    let list = consumer
        .committed(TIMEOUT)
        .map_err(KafkaError::client("committed offsets"))?;
    Ok((0..partitions)
        .map(|p| {
            list.elements()
                .iter()
                .find(|e| e.partition() == p)
                .and_then(|e| match e.offset() {
                    Offset::Offset(o) => Some(o),
                    _ => None,
                })
        })
        .collect())
}

/// Every input processed and committed: each partition's next offset to process is at its end.
fn drained(consumer: &BaseConsumer, input: &Input<'_>, next: &[Option<i64>]) -> bool {
    (0..input.partitions).all(|p| {
        match consumer.fetch_watermarks(input.topic, p, Duration::from_secs(5)) {
            Ok((low, high)) => next[p as usize].unwrap_or(low) >= high,
            Err(_) => false,
        }
    })
}

/// The consumer of the inputs, positioned where processing goes on: where this loop committed
/// last it knows; elsewhere the group's committed offsets say (each unknown `next` filled in).
fn open_source(
    o: &TxnOptions,
    input: &Input<'_>,
    next: &mut [Option<i64>],
) -> Result<BaseConsumer, KafkaError> {
    let c = consumer(o, input, next)?;
    let start = if next.iter().all(Option::is_some) {
        next.to_vec()
    } else {
        committed(&c, input.partitions)?
    };
    for (n, s) in next.iter_mut().zip(start) {
        if n.is_none() {
            *n = s;
        }
    }
    Ok(c)
}

/// Up to `size` inputs polled within `window` into `batch` (emptied first); the first input
/// of a partition since the last (re)start is where its `next` begins.
fn gather(
    c: &BaseConsumer,
    window: Duration,
    size: usize,
    next: &mut [Option<i64>],
    batch: &mut Vec<(i32, i64)>,
    errors: &mut Vec<String>,
) {
    batch.clear();
    let gather_until = Instant::now() + window;
    while batch.len() < size {
        let left = gather_until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match c.poll(left) {
            Some(Ok(m)) => {
                let (partition, offset) = (m.partition(), m.offset());
                if let Some(n) = next.get_mut(partition as usize) {
                    n.get_or_insert(offset);
                }
                batch.push((partition, offset));
            }
            Some(Err(e)) => note(errors, format!("input: {e}")),
            None => break,
        }
    }
}

// Long: one loop over the producer's and the consumer's lives and the transaction's
// outcome (each arm short); opening, gathering and the offsets are the helpers around it.
pub(super) fn run(o: &TxnOptions, input: &Input<'_>, sink: &EventSink, stop: &Stop) -> TxnRecord {
    let mut record = TxnRecord::default();
    let parts = input.partitions.max(1) as usize;
    let out_parts = o.partitions.max(1);
    let mut seqs = vec![0u64; out_parts as usize];
    let mut producer: Option<TxProducer> = None;
    let mut source: Option<BaseConsumer> = None;
    // Per input partition, the next offset to process after the last committed transaction.
    let mut next: Vec<Option<i64>> = vec![None; parts];
    let mut batch: Vec<(i32, i64)> = Vec::with_capacity(o.size as usize);
    let mut id = 0u64;
    let mut drain_until: Option<Instant> = None;
    let window = o.pause.max(Duration::from_millis(10));
    loop {
        if stop.at_once() {
            break;
        }
        if stop.is_set() {
            let until = *drain_until.get_or_insert_with(|| Instant::now() + DRAIN);
            if Instant::now() >= until {
                note(
                    &mut record.errors,
                    "inputs left unprocessed after 30 s of drain",
                );
                break;
            }
        }
        // The producer first: a new one completes or aborts what the old one left open, so
        // the committed offsets read next are settled.
        let p = match producer.take() {
            Some(p) => p,
            None => match create(o) {
                Ok(p) => p,
                Err(e) => {
                    note(&mut record.errors, e);
                    std::thread::sleep(Duration::from_secs(1));
                    continue;
                }
            },
        };
        let c = match source.take() {
            Some(c) => c,
            None => match open_source(o, input, &mut next) {
                Ok(c) => c,
                Err(e) => {
                    note(&mut record.errors, e);
                    producer = Some(p);
                    std::thread::sleep(Duration::from_secs(1));
                    continue;
                }
            },
        };
        gather(
            &c,
            window,
            o.size as usize,
            &mut next,
            &mut batch,
            &mut record.errors,
        );
        if batch.is_empty() {
            if stop.is_set() && drained(&c, input, &next) {
                source = Some(c);
                producer = Some(p);
                break;
            }
            source = Some(c);
            producer = Some(p);
            continue;
        }
        if let Err(e) = p.begin_transaction() {
            note(&mut record.errors, format!("begin: {e}"));
            if !fatal(&e) {
                producer = Some(p);
            }
            // The batch was consumed but not processed: back to the last commit.
            source = rewind(c, &mut record);
            std::thread::sleep(Duration::from_millis(200));
            continue;
        }
        let mut messages = Vec::with_capacity(batch.len());
        let mut failed = false;
        for &(in_partition, in_offset) in &batch {
            let partition = in_partition % out_parts;
            let input = Some((in_partition, in_offset));
            match send_one(&p, o, sink, stop, &mut seqs, partition, id, input) {
                Ok(seq) => messages.push((partition, seq)),
                Err(e) => {
                    note(&mut record.errors, e);
                    failed = true;
                    break;
                }
            }
        }
        if !failed {
            failed = !send_offsets(&p, &c, input, &batch, &mut record.errors);
        }
        let abort = failed || (o.abort_every > 0 && (id + 1).is_multiple_of(o.abort_every as u64));
        if abort && !failed {
            // Written first, then aborted: the log holds the outputs to hide.
            if let Err(e) = p.flush(TIMEOUT) {
                note(&mut record.errors, format!("flush before abort: {e}"));
            }
        }
        let outcome = end_transaction(&p, !abort, &mut |e| note(&mut record.errors, e));
        sink.emit(crate::events::EventKind::TransactionEnded { id, outcome });
        record.txns.push(Txn {
            id,
            outcome,
            messages,
            ended_at_us: sink.clock().now_us(),
        });
        id += 1;
        match outcome {
            TxnOutcome::Committed => {
                for &(partition, offset) in &batch {
                    if let Some(n) = next.get_mut(partition as usize) {
                        *n = Some(n.map_or(offset + 1, |n| n.max(offset + 1)));
                    }
                }
                source = Some(c);
                producer = Some(p);
            }
            TxnOutcome::Aborted => {
                source = rewind(c, &mut record);
                producer = Some(p);
            }
            TxnOutcome::Unknown => {
                // Committed or not, nobody knows: a new producer settles it, then the group's
                // committed offsets say where to go on.
                record.rewinds += 1;
                dispose_noting(c, &mut record.errors);
                dispose_noting(p, &mut record.errors);
                next.iter_mut().for_each(|n| *n = None);
            }
        }
    }
    fence_if_needed(o, producer.is_none(), &mut record.errors);
    if let Some(c) = source {
        dispose_noting(c, &mut record.errors);
    }
    if let Some(p) = producer {
        dispose_noting(p, &mut record.errors);
    }
    record
}

/// The offsets after the batch, per partition, committed with the transaction.
fn send_offsets(
    p: &TxProducer,
    c: &BaseConsumer,
    input: &Input<'_>,
    batch: &[(i32, i64)],
    errors: &mut Vec<String>,
) -> bool {
    let mut ends: Vec<Option<i64>> = vec![None; input.partitions.max(1) as usize];
    for &(partition, offset) in batch {
        if let Some(e) = ends.get_mut(partition as usize) {
            *e = Some(e.map_or(offset + 1, |e| e.max(offset + 1)));
        }
    }
    let mut offsets = TopicPartitionList::new();
    for (partition, end) in ends.iter().enumerate() {
        if let Some(end) = end {
            if let Err(e) =
                offsets.add_partition_offset(input.topic, partition as i32, Offset::Offset(*end))
            {
                note(errors, format!("offsets: {e}"));
                return false;
            }
        }
    }
    let Some(metadata) = c.group_metadata() else {
        note(errors, "the input consumer has no group metadata");
        return false;
    };
    match p.send_offsets_to_transaction(&offsets, &metadata, TIMEOUT) {
        Ok(()) => true,
        Err(e) => {
            note(errors, format!("send_offsets_to_transaction: {e}"));
            false
        }
    }
}

/// Back to the last committed offsets: the input consumer is replaced by a new one assigned
/// there (`next`). Not a seek: with `seek_partitions` after each abort, a run with a leader kill
/// saw one input partition deliver nothing more from the kill on (its committed offset stayed
/// put for 55 s while the other partitions went on); a fresh consumer carries no fetch state.
fn rewind(c: BaseConsumer, record: &mut TxnRecord) -> Option<BaseConsumer> {
    record.rewinds += 1;
    dispose_noting(c, &mut record.errors);
    None
}
