//! The re-read after heal: every partition from the beginning to its high watermark, each
//! message's identity handed to the checker. If a partition cannot be read to the end (it is
//! offline), the result says so (`complete: false`).

use super::connect::Profile;
use super::payload;
use super::KafkaError;
use crate::analysis::verify::{AckLedger, ReadChecker, ReadExtent, SeenSet};
use crate::events::VerificationSummary;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct ReadOptions {
    pub bootstrap: String,
    /// How the clients connect (security, TLS).
    pub profile: Profile,
    pub topic: String,
    pub partitions: i32,
    pub producer_id: u64,
    /// Give up (result incomplete) after this long.
    pub timeout: Duration,
}

/// Blocking (librdkafka); call from `spawn_blocking`.
pub fn reread_and_check(
    options: &ReadOptions,
    ledger: &AckLedger,
    consumed: Option<&SeenSet>,
) -> Result<VerificationSummary, KafkaError> {
    reread_and_check_with_group(options, ledger, consumed, None).map(|(s, _)| s)
}

// Long: the re-read in order: watermarks, assignment, the read loop to the high watermarks, the
// notes
/// As `reread_and_check`; with what a consumer group processed, also the acked messages in
/// the log it never processed: (skipped, unprocessed tail), see `ReadChecker::unprocessed`.
pub fn reread_and_check_with_group(
    options: &ReadOptions,
    ledger: &AckLedger,
    consumed: Option<&SeenSet>,
    group: Option<&SeenSet>,
) -> Result<(VerificationSummary, Option<(u64, u64)>), KafkaError> {
    let consumer: BaseConsumer = super::client_config(&options.bootstrap, &options.profile)
        .set("group.id", format!("chaos-verify-{}", options.producer_id))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .set("auto.offset.reset", "earliest")
        // Every message in the log counts, also past another producer's open transaction
        // (librdkafka's default, read_committed, stops at the last stable offset).
        .set("isolation.level", "read_uncommitted")
        .create()
        .map_err(KafkaError::client("consumer"))?;
    let deadline = Instant::now() + options.timeout;
    let mut high = vec![None::<i64>; options.partitions.max(0) as usize];
    let mut notes = Vec::new();
    for p in 0..options.partitions {
        match consumer.fetch_watermarks(&options.topic, p, Duration::from_secs(10)) {
            Ok((_, hw)) => high[p as usize] = Some(hw),
            Err(e) => notes.push(format!("{}/{p}: no high watermark ({e})", options.topic)),
        }
    }
    let mut assignment = TopicPartitionList::new();
    for (p, hw) in high.iter().enumerate() {
        if hw.is_some_and(|hw| hw > 0) {
            assignment
                .add_partition_offset(&options.topic, p as i32, Offset::Beginning)
                .map_err(KafkaError::client("assignment"))?;
        }
    }
    let mut checker = ReadChecker::new(ledger);
    let mut next = vec![0i64; high.len()];
    let done = |next: &[i64]| {
        high.iter()
            .zip(next)
            .all(|(hw, n)| hw.is_none_or(|hw| *n >= hw))
    };
    if assignment.count() > 0 {
        consumer
            .assign(&assignment)
            .map_err(KafkaError::client("assign"))?;
        while !done(&next) && Instant::now() < deadline {
            match consumer.poll(Duration::from_millis(500)) {
                Some(Ok(m)) => {
                    let p = m.partition();
                    if let Some(slot) = next.get_mut(p as usize) {
                        *slot = (*slot).max(m.offset() + 1);
                    }
                    if let Some(id) = m.payload().and_then(payload::decode) {
                        if id.producer_id == options.producer_id && id.partition == p {
                            checker.observe(p, id.seq, m.offset());
                        }
                    }
                }
                Some(Err(e)) => notes.push(format!("read error: {e}")),
                None => {}
            }
        }
    }
    let mut extents = Vec::with_capacity(high.len());
    for (p, (hw, n)) in high.iter().zip(&next).enumerate() {
        extents.push(match hw {
            // No high watermark: not read, nothing in it verified.
            None => ReadExtent::Below(0),
            Some(hw) if n < hw => {
                notes.push(format!(
                    "{}/{p}: read to offset {n} of {hw} before the timeout",
                    options.topic
                ));
                ReadExtent::Below(*n)
            }
            Some(_) => ReadExtent::ToHighWatermark,
        });
    }
    let consumed_then_lost = consumed.map(|c| checker.consumed_then_lost(c));
    let unprocessed = group.map(|g| checker.unprocessed(ledger, g));
    let mut summary = checker.finish(ledger, &extents);
    summary.consumed_then_lost = consumed_then_lost;
    if !notes.is_empty() {
        notes.dedup();
        notes.truncate(10);
        summary.note = Some(notes.join("; "));
    }
    Ok((summary, unprocessed))
}
