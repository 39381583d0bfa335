//! The acked-message checker. The producer records acks in an `AckLedger`; the re-read feeds
//! a `ReadChecker`. Both are bitsets per partition (one bit per sequence number) plus runs of
//! (seq, offset, ack time) that grow while both advance by one — the normal case — so ten
//! million messages cost a few bits each.

use crate::events::{
    LatencyPhase, LostMessage, PartitionVerification, UnknownCause, UnknownOutcomes,
    VerificationSummary,
};

const LOST_SAMPLE: usize = 100;

#[derive(Debug, Default, Clone)]
struct BitSet {
    words: Vec<u64>,
}

impl BitSet {
    fn set(&mut self, i: u64) -> bool {
        let (w, b) = ((i / 64) as usize, i % 64);
        if w >= self.words.len() {
            self.words.resize(w + 1, 0);
        }
        let was = self.words[w] & (1 << b) != 0;
        self.words[w] |= 1 << b;
        was
    }
    fn highest(&self) -> Option<u64> {
        let (w, word) = self.words.iter().enumerate().rfind(|(_, w)| **w != 0)?;
        Some(w as u64 * 64 + 63 - word.leading_zeros() as u64)
    }
    fn count(&self) -> u64 {
        self.words.iter().map(|w| w.count_ones() as u64).sum()
    }
    fn word(&self, w: usize) -> u64 {
        self.words.get(w).copied().unwrap_or(0)
    }
    fn bytes(&self) -> usize {
        self.words.capacity() * 8
    }
}

/// Consecutive acks: seqs `seq..seq+len` at offsets `offset..offset+len`, acked from
/// `first_ack_us` to `first_ack_us + span_us`. A run spans at most `MAX_RUN_SPAN_US`, so the
/// ack time of any message in it is known to that precision (a lost message's ack time says
/// when the loss window was).
#[derive(Debug, Clone, Copy)]
struct AckRun {
    seq: u64,
    offset: i64,
    len: u32,
    span_us: u32,
    first_ack_us: u64,
}

/// The longest time one run of acks may span: the precision of a message's ack time. At
/// 200 msg/s this is 20 messages a run (16 bytes each), at 130,000 msg/s 13,000.
const MAX_RUN_SPAN_US: u64 = 100_000;

#[derive(Debug, Default, Clone)]
struct PartitionLedger {
    acked: BitSet,
    /// Definitely not written (a non-retriable error: librdkafka says not persisted).
    failed: BitSet,
    /// Timed out before it was ever sent to a broker (no leader to send it to).
    timed_out_queued: BitSet,
    /// Timed out after it was sent: the broker may or may not have written it.
    timed_out_in_flight: BitSet,
    sent: u64,
    runs: Vec<AckRun>,
}

impl PartitionLedger {
    /// The acked messages whose ack gave an offset below `end`, from the runs in one pass
    /// (an ack without an offset, acks=0, is never below).
    fn acked_below(&self, end: i64) -> BitSet {
        let mut below = BitSet::default();
        for r in self.runs.iter().filter(|r| r.offset >= 0 && r.offset < end) {
            // Offsets r.offset.. in the run: the first (end − r.offset) are below `end`.
            let n = (end - r.offset).min(r.len as i64) as u64;
            for seq in r.seq..r.seq + n {
                below.set(seq);
            }
        }
        below
    }
}

/// How a message that was not acked ended, as the client saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotAcked {
    /// A definite error: not written.
    Failed,
    /// Timed out while still queued in the client (never sent).
    TimedOutQueued,
    /// Timed out with a request in flight: written or not, unknown until the re-read.
    TimedOutInFlight,
}

#[derive(Debug, Default, Clone)]
pub struct AckLedger {
    topic: String,
    partitions: Vec<PartitionLedger>,
    acked: u64,
    /// Where each workload phase began: (phase, the first seq of each partition in it).
    phase_starts: Vec<(LatencyPhase, Vec<u64>)>,
}

impl AckLedger {
    pub fn new(topic: &str, partitions: i32) -> Self {
        Self {
            topic: topic.to_string(),
            partitions: vec![PartitionLedger::default(); partitions.max(0) as usize],
            acked: 0,
            phase_starts: vec![],
        }
    }

    fn partition(&mut self, p: i32) -> Option<&mut PartitionLedger> {
        self.partitions.get_mut(usize::try_from(p).ok()?)
    }

    pub fn record_sent(&mut self, partition: i32, seq: u64) {
        if let Some(p) = self.partition(partition) {
            p.sent = p.sent.max(seq + 1);
        }
    }

    pub fn record_ack(&mut self, partition: i32, seq: u64, offset: i64, at_us: u64) {
        let Some(p) = self.partition(partition) else {
            return;
        };
        if p.acked.set(seq) {
            return;
        }
        match p.runs.last_mut() {
            Some(r)
                if r.seq + r.len as u64 == seq
                    && r.offset + r.len as i64 == offset
                    && r.len < u32::MAX
                    && at_us >= r.first_ack_us
                    && at_us - r.first_ack_us <= MAX_RUN_SPAN_US =>
            {
                r.len += 1;
                r.span_us = (at_us - r.first_ack_us) as u32;
            }
            _ => p.runs.push(AckRun {
                seq,
                offset,
                len: 1,
                span_us: 0,
                first_ack_us: at_us,
            }),
        }
        self.acked += 1;
    }

    pub fn acked_count(&self) -> u64 {
        self.acked
    }

    /// A message that was not acked: a definite failure or a timeout (see `NotAcked`).
    pub fn record_not_acked(&mut self, partition: i32, seq: u64, how: NotAcked) {
        if let Some(p) = self.partition(partition) {
            match how {
                NotAcked::Failed => p.failed.set(seq),
                NotAcked::TimedOutQueued => p.timed_out_queued.set(seq),
                NotAcked::TimedOutInFlight => p.timed_out_in_flight.set(seq),
            };
        }
    }

    /// A workload phase begins: messages sent from now on belong to it.
    pub fn begin(&mut self, phase: LatencyPhase) {
        if self.phase_starts.last().is_some_and(|(p, _)| *p == phase) {
            return;
        }
        let next: Vec<u64> = self.partitions.iter().map(|p| p.sent).collect();
        self.phase_starts.push((phase, next));
    }

    fn phase_of(&self, partition: usize, seq: u64) -> LatencyPhase {
        self.phase_starts
            .iter()
            .rev()
            .find(|(_, starts)| starts.get(partition).is_some_and(|s| *s <= seq))
            .map_or(LatencyPhase::BeforeFault, |(p, _)| *p)
    }

    /// Offset and ack time of an acked seq: the ack time is interpolated within its run, so it
    /// is exact to `MAX_RUN_SPAN_US` (acks within a run come in seq order).
    fn ack_of(&self, partition: usize, seq: u64) -> (i64, u64) {
        let runs = &self.partitions[partition].runs;
        // Runs are in ack order, which is mostly seq order; search linearly only for lost ones.
        runs.iter()
            .find(|r| seq >= r.seq && seq < r.seq + r.len as u64)
            .map(|r| {
                let index = seq - r.seq;
                let at = r.first_ack_us + r.span_us as u64 * index / (r.len as u64 - 1).max(1);
                (r.offset + index as i64, at)
            })
            .unwrap_or((-1, 0))
    }

    pub fn approx_heap_bytes(&self) -> usize {
        self.partitions
            .iter()
            .map(|p| {
                p.acked.bytes()
                    + p.failed.bytes()
                    + p.timed_out_queued.bytes()
                    + p.timed_out_in_flight.bytes()
                    + p.runs.capacity() * std::mem::size_of::<AckRun>()
            })
            .sum()
    }
}

#[derive(Debug, Default, Clone)]
struct PartitionRead {
    seen: BitSet,
    read: u64,
    duplicated: u64,
    reordered: u64,
    highest: Option<u64>,
}

/// The messages (per partition, by sequence) some reader saw: the live consumer's record, to
/// find what it consumed that the cluster later lost.
#[derive(Debug, Default, Clone)]
pub struct SeenSet {
    partitions: Vec<BitSet>,
}

impl SeenSet {
    pub fn new(partitions: i32) -> Self {
        Self {
            partitions: vec![BitSet::default(); partitions.max(0) as usize],
        }
    }

    /// Records `seq` of `partition`; true when it had been seen before (a duplicate).
    pub fn insert(&mut self, partition: i32, seq: u64) -> bool {
        usize::try_from(partition)
            .ok()
            .and_then(|p| self.partitions.get_mut(p))
            .is_some_and(|b| b.set(seq))
    }
}

/// How far the re-read got in one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadExtent {
    /// To the high watermark it asked for first: every acked message not read is lost.
    ToHighWatermark,
    /// Only offsets below this one (0: nothing, e.g. no high watermark): an acked message not
    /// read at or past it is unverified.
    Below(i64),
}

#[derive(Debug)]
pub struct ReadChecker {
    partitions: Vec<PartitionRead>,
}

impl ReadChecker {
    pub fn new(ledger: &AckLedger) -> Self {
        Self {
            partitions: vec![PartitionRead::default(); ledger.partitions.len()],
        }
    }

    /// One message as read (in log order).
    pub fn observe(&mut self, partition: i32, seq: u64, _offset: i64) {
        let Some(p) = usize::try_from(partition)
            .ok()
            .and_then(|i| self.partitions.get_mut(i))
        else {
            return;
        };
        p.read += 1;
        if p.seen.set(seq) {
            p.duplicated += 1;
        }
        match p.highest {
            Some(h) if seq < h => p.reordered += 1,
            _ => p.highest = Some(seq),
        }
    }

    pub fn approx_heap_bytes(&self) -> usize {
        self.partitions.iter().map(|p| p.seen.bytes()).sum()
    }

    /// Messages another reader consumed that this re-read no longer finds: consumed, then
    /// truncated away (e.g. by an unclean election) — data a consumer acted on and the cluster
    /// lost.
    pub fn consumed_then_lost(&self, consumed: &SeenSet) -> u64 {
        self.partitions
            .iter()
            .zip(&consumed.partitions)
            .map(|(read, consumed)| {
                consumed
                    .words
                    .iter()
                    .enumerate()
                    .map(|(w, c)| (c & !read.seen.word(w)).count_ones() as u64)
                    .sum::<u64>()
            })
            .sum()
    }

    /// Acked messages this re-read found that a consumer group never processed: `skipped`
    /// below the highest sequence the group processed of the partition, `tail` above it (the
    /// group had not got there yet: lag, not a skip).
    pub fn unprocessed(&self, ledger: &AckLedger, processed: &SeenSet) -> (u64, u64) {
        let (mut skipped, mut tail) = (0, 0);
        for (i, (read, acked)) in self.partitions.iter().zip(&ledger.partitions).enumerate() {
            let done = processed.partitions.get(i);
            let highest = done.and_then(BitSet::highest);
            let words = read.seen.words.len();
            for w in 0..words {
                let mut bits =
                    read.seen.word(w) & acked.acked.word(w) & !done.map_or(0, |d| d.word(w));
                while bits != 0 {
                    let seq = w as u64 * 64 + bits.trailing_zeros() as u64;
                    bits &= bits - 1;
                    if highest.is_some_and(|h| seq < h) {
                        skipped += 1;
                    } else {
                        tail += 1;
                    }
                }
            }
        }
        (skipped, tail)
    }

    /// As `finish`, every partition read to its high watermark.
    pub fn finish_read_to_end(self, ledger: &AckLedger) -> VerificationSummary {
        let extents = vec![ReadExtent::ToHighWatermark; ledger.partitions.len()];
        self.finish(ledger, &extents)
    }

    /// What the re-read found against what was acked. `extents` says per partition how far
    /// the re-read got (a partition it does not list was not read): an acked message not read
    /// is lost only where the re-read passed the offset its ack gave — a log never moves a
    /// message, so past that offset it is gone — and unverified where it did not get there.
    pub fn finish(self, ledger: &AckLedger, extents: &[ReadExtent]) -> VerificationSummary {
        let extent = |i: usize| extents.get(i).copied().unwrap_or(ReadExtent::Below(0));
        let mut summary = VerificationSummary {
            complete: (0..ledger.partitions.len().max(extents.len()))
                .all(|i| extent(i) == ReadExtent::ToHighWatermark),
            ..Default::default()
        };
        let mut unknown = UnknownOutcomes::default();
        for (i, (read, acked)) in self.partitions.iter().zip(&ledger.partitions).enumerate() {
            let mut pv = PartitionVerification {
                topic: ledger.topic.clone(),
                partition: i as i32,
                acked: acked.acked.count(),
                read: read.read,
                duplicated: read.duplicated,
                reordered: read.reordered,
                ..Default::default()
            };
            // Where the re-read stopped short: the acked messages whose offset it passed.
            let passed = match extent(i) {
                ReadExtent::ToHighWatermark => None,
                ReadExtent::Below(end) => Some(acked.acked_below(end)),
            };
            let words = acked.acked.words.len().max(read.seen.words.len());
            for w in 0..words {
                let a = acked.acked.words.get(w).copied().unwrap_or(0);
                let s = read.seen.words.get(w).copied().unwrap_or(0);
                pv.unacked_present += (s & !a).count_ones() as u64;
                let mut unread = a & !s;
                if let Some(passed) = &passed {
                    // Not read where the re-read did not get to: unverified, not lost.
                    pv.unverified_acked += (unread & !passed.word(w)).count_ones() as u64;
                    unread &= passed.word(w);
                }
                pv.lost_acked += unread.count_ones() as u64;
                let mut bits = unread;
                while bits != 0 && summary.lost_sample.len() < LOST_SAMPLE {
                    let seq = w as u64 * 64 + bits.trailing_zeros() as u64;
                    bits &= bits - 1;
                    let (offset, acked_at_us) = ledger.ack_of(i, seq);
                    summary.lost_sample.push(LostMessage {
                        topic: ledger.topic.clone(),
                        partition: i as i32,
                        seq,
                        offset,
                        acked_at_us,
                    });
                }
            }
            classify_unresolved(&mut unknown, ledger, i, acked, &read.seen);
            summary.acked += pv.acked;
            summary.read += pv.read;
            summary.lost_acked += pv.lost_acked;
            summary.unverified_acked += pv.unverified_acked;
            summary.duplicated += pv.duplicated;
            summary.reordered += pv.reordered;
            summary.unacked_present += pv.unacked_present;
            summary.partitions.push(pv);
        }
        if unknown.total > 0 || unknown.failed_but_written > 0 {
            summary.unknown = Some(unknown);
        }
        if !summary.complete {
            summary.note = Some("the re-read did not reach every partition's high watermark: what it did not get to is unverified, not lost".into());
        }
        summary
    }
}

/// Every message of `partition` that was sent but not acked, looked up in what the re-read
/// saw: timed out (queued or in flight) or never answered → written or not; a definite
/// failure that is in the log anyway is counted apart (the client was told wrong).
fn classify_unresolved(
    out: &mut UnknownOutcomes,
    ledger: &AckLedger,
    partition: usize,
    p: &PartitionLedger,
    seen: &BitSet,
) {
    let words = (p.sent as usize).div_ceil(64);
    for w in 0..words {
        // Bits past `sent` in the last word are not messages.
        let valid = if (w + 1) * 64 <= p.sent as usize {
            u64::MAX
        } else {
            (1u64 << (p.sent % 64)) - 1
        };
        let acked = p.acked.word(w);
        let failed = p.failed.word(w) & !acked;
        let queued = p.timed_out_queued.word(w) & !acked & !failed;
        let in_flight = p.timed_out_in_flight.word(w) & !acked & !failed & !queued;
        let no_answer = valid & !acked & !failed & !queued & !in_flight;
        let read = seen.word(w);
        out.failed_but_written += (failed & read).count_ones() as u64;
        for (cause, bits) in [
            (UnknownCause::TimedOutQueued, queued),
            (UnknownCause::TimedOutInFlight, in_flight),
            (UnknownCause::NoAnswer, no_answer),
        ] {
            let mut rest = bits;
            while rest != 0 {
                let bit = rest.trailing_zeros() as u64;
                rest &= rest - 1;
                let seq = w as u64 * 64 + bit;
                let written = read & (1 << bit) != 0;
                out.add(cause, ledger.phase_of(partition, seq), written);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ledger(acks: &[(i32, u64, i64)]) -> AckLedger {
        let mut l = AckLedger::new("t", 2);
        for (p, seq, off) in acks {
            l.record_sent(*p, *seq);
            l.record_ack(*p, *seq, *off, 1000 + *seq);
        }
        l
    }

    #[test]
    fn a_group_that_missed_an_acked_message_below_its_progress_skipped_it() {
        let acks: Vec<(i32, u64, i64)> = (0..200).map(|s| (0, s, s as i64)).collect();
        let l = ledger(&acks);
        let mut c = ReadChecker::new(&l);
        for s in 0..200 {
            c.observe(0, s, s as i64);
        }
        let mut all = SeenSet::new(2);
        for s in 0..200 {
            all.insert(0, s);
        }
        assert_eq!(
            c.unprocessed(&l, &all),
            (0, 0),
            "a complete group skips nothing"
        );
        // 70 and 130 never processed; the group got to 150: two skips, 49 still to come.
        let mut holes = SeenSet::new(2);
        for s in (0..=150).filter(|s| *s != 70 && *s != 130) {
            holes.insert(0, s);
        }
        assert_eq!(c.unprocessed(&l, &holes), (2, 49));
        // A message the group never saw that the re-read did not find either is loss, not a skip.
        let mut lost = ReadChecker::new(&l);
        for s in (0..200).filter(|s| *s != 70) {
            lost.observe(0, s, s as i64);
        }
        assert_eq!(lost.unprocessed(&l, &holes), (1, 49));
    }

    #[test]
    fn nothing_lost_when_everything_acked_is_read_once_in_order() {
        let l = ledger(&[(0, 0, 0), (0, 1, 1), (1, 0, 0)]);
        let mut c = ReadChecker::new(&l);
        for (p, s) in [(0, 0), (0, 1), (1, 0)] {
            c.observe(p, s, s as i64);
        }
        let v = c.finish_read_to_end(&l);
        assert_eq!(
            (
                v.acked,
                v.read,
                v.lost_acked,
                v.duplicated,
                v.reordered,
                v.unacked_present
            ),
            (3, 3, 0, 0, 0, 0)
        );
    }

    #[test]
    fn loss_duplicates_reorder_and_unacked_present_are_counted_apart() {
        let l = ledger(&[(0, 0, 0), (0, 1, 1), (0, 2, 2), (0, 3, 3)]);
        let mut c = ReadChecker::new(&l);
        // seq 2 lost; 1 duplicated; 0 read after 1 (reorder); seq 5 was never acked.
        for s in [1, 0, 1, 3, 5] {
            c.observe(0, s, 0);
        }
        let v = c.finish_read_to_end(&l);
        assert_eq!(v.lost_acked, 1);
        assert_eq!(v.duplicated, 1);
        // Only 0 comes after a higher seq (1); a duplicate of the highest is not a reorder.
        assert_eq!(v.reordered, 1);
        assert_eq!(v.unacked_present, 1);
        assert_eq!(v.lost_sample[0].seq, 2);
        assert_eq!(
            v.lost_sample[0].offset, 2,
            "offset at ack comes from the run"
        );
    }

    #[test]
    fn truncation_after_an_unclean_election_loses_the_tail_even_though_offsets_are_reused() {
        // A acked 0..10 at offsets 0..10; B (out of sync, had 0..5) became leader and took
        // 10..13 at offsets 5..8 — the same offsets now hold other messages.
        let mut l = AckLedger::new("t", 1);
        for s in 0..10 {
            l.record_ack(0, s, s as i64, s);
        }
        for s in 10..13 {
            l.record_ack(0, s, s as i64 - 5, s);
        }
        let mut c = ReadChecker::new(&l);
        for s in (0..5).chain(10..13) {
            c.observe(0, s, 0);
        }
        let v = c.finish_read_to_end(&l);
        assert_eq!(v.lost_acked, 5);
        assert_eq!(
            v.lost_sample.iter().map(|m| m.seq).collect::<Vec<_>>(),
            vec![5, 6, 7, 8, 9]
        );
    }

    #[test]
    fn unknown_outcomes_are_resolved_by_the_reread_and_add_up() {
        use crate::events::UnknownCause as C;
        let mut l = AckLedger::new("t", 1);
        l.begin(LatencyPhase::BeforeFault);
        for s in 0..4 {
            l.record_sent(0, s);
            l.record_ack(0, s, s as i64, s);
        }
        l.begin(LatencyPhase::DuringFault);
        // 4, 5 timed out queued; 6, 7 in flight; 8 failed; 9, 10 never answered.
        for s in 4..11 {
            l.record_sent(0, s);
        }
        for s in [4, 5] {
            l.record_not_acked(0, s, NotAcked::TimedOutQueued);
        }
        for s in [6, 7] {
            l.record_not_acked(0, s, NotAcked::TimedOutInFlight);
        }
        l.record_not_acked(0, 8, NotAcked::Failed);
        let mut c = ReadChecker::new(&l);
        // The log has 0..4, the in-flight 7 (its ack was lost), 8 (failed, yet written) and 10.
        for s in [0, 1, 2, 3, 7, 8, 10] {
            c.observe(0, s, 0);
        }
        let v = c.finish_read_to_end(&l);
        let u = v.unknown.expect("unknown outcomes");
        assert_eq!((u.total, u.written, u.not_written), (6, 2, 4));
        assert_eq!(u.failed_but_written, 1);
        let class = |cause| {
            u.classes
                .iter()
                .find(|c| c.cause == cause)
                .map(|c| (c.phase, c.written, c.not_written))
        };
        assert_eq!(
            class(C::TimedOutQueued),
            Some((LatencyPhase::DuringFault, 0, 2))
        );
        assert_eq!(
            class(C::TimedOutInFlight),
            Some((LatencyPhase::DuringFault, 1, 1))
        );
        assert_eq!(class(C::NoAnswer), Some((LatencyPhase::DuringFault, 1, 1)));
        let sum: u64 = u.classes.iter().map(|c| c.written + c.not_written).sum();
        assert_eq!(sum, u.total, "the classes add up");
        // Read-but-never-acked still counts every unacked message found in the log.
        assert_eq!(v.unacked_present, 3);
    }

    #[test]
    fn what_a_consumer_saw_and_the_reread_no_longer_finds_was_consumed_then_lost() {
        let l = ledger(&[(0, 0, 0), (0, 1, 1), (0, 2, 2)]);
        let mut consumed = SeenSet::new(2);
        for s in [0, 1, 2] {
            assert!(!consumed.insert(0, s));
        }
        assert!(consumed.insert(0, 2), "a second delivery is a duplicate");
        let mut c = ReadChecker::new(&l);
        c.observe(0, 0, 0);
        assert_eq!(c.consumed_then_lost(&consumed), 2);
        c.observe(0, 1, 1);
        c.observe(0, 2, 2);
        assert_eq!(c.consumed_then_lost(&consumed), 0);
    }

    /// An incomplete re-read claims no loss it did not see: an acked message it never got to
    /// is unverified; one whose offset it passed without finding it is lost.
    #[test]
    fn an_acked_message_the_reread_never_got_to_is_unverified_not_lost() {
        // Partition 0: seqs 0..6 at offsets 0..6; partition 1: 0..4 at 0..4, acks=0-like 4 (-1).
        let mut acks: Vec<(i32, u64, i64)> = (0..6).map(|s| (0, s, s as i64)).collect();
        acks.extend((0..4).map(|s| (1, s, s as i64)));
        acks.push((1, 4, -1));
        let l = ledger(&acks);
        let mut c = ReadChecker::new(&l);
        // Partition 0 read up to offset 3 (0, 1 found, 2 missing), then the timeout.
        for s in [0, 1] {
            c.observe(0, s, s as i64);
        }
        let v = c.finish(&l, &[ReadExtent::Below(3), ReadExtent::Below(0)]);
        assert!(!v.complete);
        assert_eq!(v.partitions[0].lost_acked, 1, "offset 2 was passed: lost");
        assert_eq!(
            v.partitions[0].unverified_acked, 3,
            "offsets 3..6 never reached"
        );
        assert_eq!(
            (v.partitions[1].lost_acked, v.partitions[1].unverified_acked),
            (0, 5),
            "a partition not read at all (no high watermark) verifies nothing"
        );
        assert_eq!((v.lost_acked, v.unverified_acked), (1, 8));
        assert_eq!(
            v.lost_sample
                .iter()
                .map(|m| (m.partition, m.seq))
                .collect::<Vec<_>>(),
            vec![(0, 2)],
            "only what is lost is sampled as lost"
        );
        assert!(v.note.as_deref().is_some_and(|n| n.contains("unverified")));
        // The same acks read to the end: what is missing is lost, nothing is unverified.
        let mut all = ReadChecker::new(&l);
        for s in [0, 1] {
            all.observe(0, s, s as i64);
        }
        let v = all.finish_read_to_end(&l);
        assert!(v.complete);
        assert_eq!((v.lost_acked, v.unverified_acked), (9, 0));
        // Past an ack without an offset the re-read cannot say: unverified, even when it read on.
        let v =
            ReadChecker::new(&l).finish(&l, &[ReadExtent::ToHighWatermark, ReadExtent::Below(9)]);
        assert_eq!(
            (v.partitions[1].lost_acked, v.partitions[1].unverified_acked),
            (4, 1)
        );
    }

    #[test]
    fn empty_and_out_of_range_inputs_are_harmless() {
        let l = AckLedger::new("t", 0);
        let mut c = ReadChecker::new(&l);
        c.observe(7, 1, 1);
        c.observe(-1, 1, 1);
        let v = c.finish(&l, &[ReadExtent::Below(0)]);
        assert_eq!(v.acked, 0);
        assert!(!v.complete && v.note.is_some());
    }

    #[test]
    fn a_million_messages_cost_a_few_bits_each() {
        let n = 1_000_000u64;
        let mut l = AckLedger::new("t", 1);
        for s in 0..n {
            l.record_ack(0, s, s as i64, s);
        }
        let mut c = ReadChecker::new(&l);
        for s in 0..n {
            c.observe(0, s, s as i64);
        }
        let bytes = l.approx_heap_bytes() + c.approx_heap_bytes();
        assert!(
            (bytes as f64) / (n as f64) < 0.5,
            "{bytes} bytes for {n} messages"
        );
        assert_eq!(c.finish_read_to_end(&l).lost_acked, 0);
    }

    /// A lost message's ack time says when the loss window was: each one's own (to the run
    /// span), not the first ack of a long in-order run (which once said "the workload's first
    /// second" for messages acked 4 s later).
    #[test]
    fn a_lost_message_carries_its_own_ack_time() {
        let mut l = AckLedger::new("t", 1);
        // 200 msg/s for 10 s, every ack in order: one long run before runs were bounded.
        for s in 0..2_000u64 {
            l.record_sent(0, s);
            l.record_ack(0, s, s as i64, 681_922 + s * 5_000);
        }
        let mut c = ReadChecker::new(&l);
        for s in (0..2_000u64).filter(|s| !(1_000..1_091).contains(s)) {
            c.observe(0, s, s as i64);
        }
        let v = c.finish_read_to_end(&l);
        assert_eq!(v.lost_acked, 91);
        for m in &v.lost_sample {
            let acked = 681_922 + m.seq * 5_000;
            assert!(
                m.acked_at_us.abs_diff(acked) <= MAX_RUN_SPAN_US,
                "seq {} acked at {acked} µs, reported {}",
                m.seq,
                m.acked_at_us
            );
        }
        // Interpolated within the run: exact for evenly spaced acks.
        assert_eq!(v.lost_sample[0].acked_at_us, 681_922 + 1_000 * 5_000);
    }
}
