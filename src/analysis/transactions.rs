//! The exactly-once checker, pure: what a transactional producer committed and aborted,
//! against what a `read_committed` reader and a `read_uncommitted` reader found in the log.
//! Atomicity: a committed transaction is visible whole or not at all; isolation: nothing of an
//! aborted transaction is visible to read_committed; plus duplicates and per-partition order.

use crate::events::{
    AtomicityViolation, LiveTransactionView, ProcessingAnomaly, ProcessingOffender,
    ReadProcessWriteSummary, TransactionSummary,
};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The violations kept for the report.
const SAMPLE: usize = 20;

pub use crate::events::TxnOutcome;

/// One transaction and the messages it wrote: (partition, seq) with seq per partition.
#[derive(Debug, Clone, PartialEq)]
pub struct Txn {
    pub id: u64,
    pub outcome: TxnOutcome,
    pub messages: Vec<(i32, u64)>,
    /// When commit (or abort) returned, on the run's clock.
    pub ended_at_us: u64,
}

/// One transactional message as a reader found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnRead {
    pub partition: i32,
    pub seq: u64,
    pub offset: i64,
    pub txn: u64,
    /// Read-process-write: the (partition, offset) of the input it was made from.
    pub input: Option<(i32, i64)>,
    /// When the reader received it, on the run's clock.
    pub at_us: u64,
}

/// What one read_committed view shows of the transactions.
#[derive(Debug, Default)]
struct Visibility {
    duplicates: u64,
    reordered: u64,
    aborted_visible: u64,
    committed_missing: u64,
    committed_whole: u64,
    atomicity_violations: u64,
    sample: Vec<AtomicityViolation>,
    /// Per committed transaction seen whole: its last message's receive time − commit's end.
    visible_after_commit_us: Vec<u64>,
}

/// `judged`: whether a transaction seen partly is a violation (the reader got past it).
fn visibility(
    txns: &[Txn],
    reads: &[TxnRead],
    judged: impl Fn(&Txn, &HashSet<(i32, u64)>) -> bool,
) -> Visibility {
    let mut out = Visibility::default();
    // Visible messages per transaction, with their offsets.
    let mut visible: BTreeMap<u64, Vec<TxnRead>> = BTreeMap::new();
    let mut seen: HashSet<(i32, u64)> = HashSet::with_capacity(reads.len());
    let mut highest: HashMap<i32, u64> = HashMap::new();
    for r in reads {
        if !seen.insert((r.partition, r.seq)) {
            out.duplicates += 1;
        }
        let h = highest.entry(r.partition).or_insert(r.seq);
        if r.seq < *h {
            out.reordered += 1;
        }
        *h = (*h).max(r.seq);
        visible.entry(r.txn).or_default().push(*r);
    }
    for t in txns {
        let reads_of = visible.get(&t.id).map(Vec::as_slice).unwrap_or_default();
        let seen_of: HashSet<(i32, u64)> = reads_of.iter().map(|r| (r.partition, r.seq)).collect();
        let present = t.messages.iter().filter(|m| seen_of.contains(m)).count();
        match t.outcome {
            TxnOutcome::Aborted => out.aborted_visible += present as u64,
            TxnOutcome::Committed if present == 0 && !t.messages.is_empty() => {
                out.committed_missing += 1
            }
            TxnOutcome::Committed | TxnOutcome::Unknown
                if present > 0 && present < t.messages.len() && judged(t, &seen_of) =>
            {
                out.atomicity_violations += 1;
                if out.sample.len() < SAMPLE {
                    out.sample.push(AtomicityViolation {
                        txn: t.id,
                        size: t.messages.len() as u64,
                        visible: present as u64,
                        offsets: reads_of.iter().map(|r| (r.partition, r.offset)).collect(),
                    });
                }
            }
            TxnOutcome::Committed if present == t.messages.len() => {
                out.committed_whole += 1;
                if let Some(last) = reads_of.iter().map(|r| r.at_us).max() {
                    out.visible_after_commit_us
                        .push(last.saturating_sub(t.ended_at_us));
                }
            }
            _ => {}
        }
    }
    out
}

/// `span_us`: the producer's start and stop, when known (a stall at either end counts).
pub fn check(
    txns: &[Txn],
    committed_read: &[TxnRead],
    uncommitted_read: &[TxnRead],
    span_us: Option<(u64, u64)>,
) -> TransactionSummary {
    let by_id: HashMap<u64, &Txn> = txns.iter().map(|t| (t.id, t)).collect();
    let count = |o: TxnOutcome| txns.iter().filter(|t| t.outcome == o).count() as u64;
    let v = visibility(txns, committed_read, |_, _| true);
    TransactionSummary {
        committed: count(TxnOutcome::Committed),
        aborted: count(TxnOutcome::Aborted),
        unknown: count(TxnOutcome::Unknown),
        read_committed: committed_read.len() as u64,
        read_uncommitted: uncommitted_read.len() as u64,
        atomicity_violations: v.atomicity_violations,
        violation_sample: v.sample,
        aborted_visible: v.aborted_visible,
        committed_missing: v.committed_missing,
        duplicates: v.duplicates,
        reordered: v.reordered,
        // Messages of transactions the producer never reported (not ours to judge) are
        // ignored; the uncommitted reader must see the aborted ones: the proof the check could
        // fail.
        aborted_seen_uncommitted: uncommitted_read
            .iter()
            .filter(|r| {
                by_id
                    .get(&r.txn)
                    .is_some_and(|t| t.outcome == TxnOutcome::Aborted)
            })
            .count() as u64,
        longest_without_commit_ms: longest_without_commit(txns, span_us)
            .map(|us| us as f64 / 1000.0),
        ..Default::default()
    }
}

/// The longest time without a commit, in µs: between the producer's start (else the first
/// transaction's end), each commit, and its stop (else the last transaction's end). None
/// without a span and with fewer than two transactions.
pub fn longest_without_commit(txns: &[Txn], span_us: Option<(u64, u64)>) -> Option<u64> {
    let mut ends: Vec<(u64, bool)> = txns
        .iter()
        .map(|t| (t.ended_at_us, t.outcome == TxnOutcome::Committed))
        .collect();
    ends.sort_unstable();
    let (first, last) = match span_us {
        Some((start, stop)) => (start, stop.max(ends.last().map_or(stop, |e| e.0))),
        None if ends.len() >= 2 => (ends[0].0, ends[ends.len() - 1].0),
        None => return None,
    };
    let mut longest = 0;
    let mut since = first;
    for &(at, committed) in &ends {
        if committed {
            longest = longest.max(at - since);
            since = at;
        }
    }
    Some(longest.max(last - since))
}

/// The live read_committed reader's view. `complete`: it read on to the end of every
/// partition after the producer stopped, so a transaction seen partly was never completed;
/// without it, only one the reader got past is.
pub fn check_live(txns: &[Txn], live: &[TxnRead], complete: bool) -> LiveTransactionView {
    // Without the end, a transaction seen partly is judged only if the reader got past each
    // of its missing messages (a later message of the partition arrived): never completed.
    let mut last: HashMap<i32, u64> = HashMap::new();
    for r in live {
        let l = last.entry(r.partition).or_insert(r.seq);
        *l = (*l).max(r.seq);
    }
    let mut v = visibility(txns, live, |t, seen| {
        complete
            || t.messages
                .iter()
                .filter(|m| !seen.contains(m))
                .all(|(p, seq)| last.get(p).is_some_and(|l| l > seq))
    });
    v.visible_after_commit_us.sort_unstable();
    let ms = |us: u64| us as f64 / 1000.0;
    let lags = &v.visible_after_commit_us;
    LiveTransactionView {
        read: live.len() as u64,
        committed_seen: v.committed_whole,
        atomicity_violations: v.atomicity_violations,
        violation_sample: v.sample,
        aborted_visible: v.aborted_visible,
        committed_missing: v.committed_missing,
        duplicates: v.duplicates,
        reordered: v.reordered,
        visible_after_commit_p50_ms: lags.get(lags.len() / 2).copied().map(ms),
        visible_after_commit_max_ms: lags.last().copied().map(ms),
        complete,
    }
}

// Long: each input checked against the outputs once, then the outputs of inputs not found
/// Read-process-write: every input below the group's committed offset must be in the
/// committed output exactly once, and nothing past it. `inputs`: (partition, offset) of every
/// message in the input log; `committed_offsets`: per partition the next offset to consume
/// (a partition without one consumed nothing); the outputs as the two re-reads found them
/// (the read_uncommitted one names the transactions a missing input went into).
pub fn check_read_process_write(
    inputs: &[(i32, i64)],
    committed_offsets: &[(i32, i64)],
    committed_output: &[TxnRead],
    uncommitted_output: &[TxnRead],
) -> ReadProcessWriteSummary {
    let committed: HashMap<i32, i64> = committed_offsets.iter().copied().collect();
    let below = |(p, o): (i32, i64)| committed.get(&p).is_some_and(|c| o < *c);
    let mut outputs: HashMap<(i32, i64), Vec<&TxnRead>> = HashMap::new();
    for r in committed_output {
        if let Some(input) = r.input {
            outputs.entry(input).or_default().push(r);
        }
    }
    let mut out = ReadProcessWriteSummary {
        inputs: inputs.len() as u64,
        committed_offsets: committed_offsets.to_vec(),
        ..Default::default()
    };
    let offend = |out: &mut ReadProcessWriteSummary,
                  anomaly: ProcessingAnomaly,
                  input: (i32, i64),
                  reads: &[&TxnRead]| {
        if out.offenders.len() < SAMPLE {
            let txns = if anomaly == ProcessingAnomaly::Missing {
                let mut t: Vec<u64> = uncommitted_output
                    .iter()
                    .filter(|r| r.input == Some(input))
                    .map(|r| r.txn)
                    .collect();
                t.dedup();
                t
            } else {
                reads.iter().map(|r| r.txn).collect()
            };
            out.offenders.push(ProcessingOffender {
                anomaly,
                input_partition: input.0,
                input_offset: input.1,
                outputs: reads.iter().map(|r| (r.partition, r.offset)).collect(),
                txns,
            });
        }
    };
    let mut known: HashSet<(i32, i64)> = HashSet::with_capacity(inputs.len());
    for &input in inputs {
        known.insert(input);
        let reads = outputs.get(&input).map(Vec::as_slice).unwrap_or_default();
        if below(input) {
            out.consumed += 1;
            match reads.len() {
                0 => {
                    out.missing += 1;
                    offend(&mut out, ProcessingAnomaly::Missing, input, reads);
                }
                1 => out.processed_once += 1,
                n => {
                    out.processed_twice += n as u64 - 1;
                    offend(&mut out, ProcessingAnomaly::ProcessedTwice, input, reads);
                }
            }
        } else {
            out.unprocessed_tail += 1;
            if !reads.is_empty() {
                out.beyond_committed += reads.len() as u64;
                offend(
                    &mut out,
                    ProcessingAnomaly::BeyondCommittedOffset,
                    input,
                    reads,
                );
            }
        }
    }
    // Outputs of inputs the input re-read did not find: past the committed offset they are
    // still wrong; below it the input log is what is incomplete, not the processing.
    let mut unknown: Vec<(&(i32, i64), &Vec<&TxnRead>)> = outputs
        .iter()
        .filter(|(input, _)| !known.contains(input) && !below(**input))
        .collect();
    unknown.sort_by_key(|(input, _)| **input);
    for (input, reads) in unknown {
        out.beyond_committed += reads.len() as u64;
        offend(
            &mut out,
            ProcessingAnomaly::BeyondCommittedOffset,
            *input,
            reads,
        );
    }
    out
}

#[cfg(test)]
mod gap_tests {
    use super::*;

    fn ended(at_ms: u64, outcome: TxnOutcome) -> Txn {
        Txn {
            id: at_ms,
            outcome,
            messages: vec![],
            ended_at_us: at_ms * 1000,
        }
    }

    #[test]
    fn the_longest_time_without_a_commit_counts_aborts_and_the_tail() {
        use TxnOutcome::*;
        // Commits every 300 ms, then 9 s of aborts and unknowns around a fault, then commits.
        let mut txns = vec![
            ended(0, Committed),
            ended(300, Committed),
            ended(600, Aborted),
        ];
        txns.extend([
            ended(4_000, Unknown),
            ended(9_300, Committed),
            ended(9_600, Committed),
        ]);
        assert_eq!(longest_without_commit(&txns, None), Some(9_000_000));
        // No commit after the fault: the tail to the last end counts.
        let stuck = vec![
            ended(0, Committed),
            ended(300, Aborted),
            ended(7_300, Unknown),
        ];
        assert_eq!(longest_without_commit(&stuck, None), Some(7_300_000));
        // Never a commit: the whole span.
        let never = vec![ended(100, Aborted), ended(2_100, Unknown)];
        assert_eq!(longest_without_commit(&never, None), Some(2_000_000));
        assert_eq!(longest_without_commit(&[ended(5, Committed)], None), None);
        // With the producer's start and stop: one commit, then stuck until the stop 40 s
        // later — 40 s, not "no value".
        let one = [ended(2_000, Committed)];
        assert_eq!(
            longest_without_commit(&one, Some((0, 42_000_000))),
            Some(40_000_000)
        );
        assert_eq!(
            longest_without_commit(&[], Some((0, 5_000_000))),
            Some(5_000_000)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txn(id: u64, outcome: TxnOutcome, partition: i32, seqs: std::ops::Range<u64>) -> Txn {
        Txn {
            id,
            outcome,
            messages: seqs.map(|s| (partition, s)).collect(),
            ended_at_us: 1_000 * id,
        }
    }
    fn read(t: &Txn) -> Vec<TxnRead> {
        t.messages
            .iter()
            .map(|(p, s)| TxnRead {
                partition: *p,
                seq: *s,
                offset: *s as i64,
                txn: t.id,
                input: None,
                at_us: 1_000 * t.id + 300,
            })
            .collect()
    }

    #[test]
    fn a_correct_history_passes_and_the_uncommitted_reader_sees_the_aborted_one() {
        let txns = vec![
            txn(0, TxnOutcome::Committed, 0, 0..10),
            txn(1, TxnOutcome::Aborted, 0, 10..20),
            txn(2, TxnOutcome::Committed, 0, 20..30),
        ];
        let committed: Vec<TxnRead> = [&txns[0], &txns[2]].into_iter().flat_map(read).collect();
        let uncommitted: Vec<TxnRead> = txns.iter().flat_map(read).collect();
        let s = check(&txns, &committed, &uncommitted, None);
        assert_eq!((s.committed, s.aborted), (2, 1));
        assert_eq!(
            (
                s.atomicity_violations,
                s.aborted_visible,
                s.duplicates,
                s.reordered
            ),
            (0, 0, 0, 0)
        );
        assert_eq!(s.committed_missing, 0);
        assert_eq!(s.aborted_seen_uncommitted, 10);
    }

    #[test]
    fn a_half_visible_transaction_an_aborted_message_and_a_duplicate_are_caught() {
        let txns = vec![
            txn(7, TxnOutcome::Committed, 1, 0..10),
            txn(8, TxnOutcome::Aborted, 1, 10..20),
        ];
        let mut committed = read(&txns[0]);
        committed.truncate(6); // 4 of 10 missing: half visible
        committed.push(read(&txns[1])[3]); // one aborted message visible
        committed.push(committed[0]); // and a duplicate, out of order
        let s = check(&txns, &committed, &[], None);
        assert_eq!(s.atomicity_violations, 1);
        assert_eq!(s.violation_sample[0].txn, 7);
        assert_eq!(
            (s.violation_sample[0].size, s.violation_sample[0].visible),
            (10, 6)
        );
        assert_eq!(
            s.violation_sample[0].offsets.len(),
            7,
            "every visible offset, duplicate too"
        );
        assert_eq!(s.aborted_visible, 1);
        assert_eq!(s.duplicates, 1);
        assert_eq!(s.reordered, 1);
        assert_eq!(
            s.aborted_seen_uncommitted, 0,
            "no uncommitted reader: nothing proven"
        );
        // A committed transaction not visible at all is counted apart (loss, not atomicity).
        let s = check(&txns[..1], &[], &[], None);
        assert_eq!((s.committed_missing, s.atomicity_violations), (1, 0));
    }

    #[test]
    fn the_live_view_passes_a_correct_history_and_times_commit_to_visible() {
        let txns = vec![
            txn(0, TxnOutcome::Committed, 0, 0..10),
            txn(1, TxnOutcome::Aborted, 0, 10..20),
            txn(2, TxnOutcome::Committed, 0, 20..30),
        ];
        let live: Vec<TxnRead> = [&txns[0], &txns[2]].into_iter().flat_map(read).collect();
        let v = check_live(&txns, &live, true);
        assert_eq!((v.read, v.committed_seen), (20, 2));
        assert_eq!(
            (
                v.atomicity_violations,
                v.aborted_visible,
                v.duplicates,
                v.committed_missing
            ),
            (0, 0, 0, 0)
        );
        assert_eq!(v.visible_after_commit_max_ms, Some(0.3));
        assert!(v.complete);
    }

    #[test]
    fn the_live_view_fails_on_a_half_seen_transaction_an_aborted_message_and_a_duplicate() {
        let txns = vec![
            txn(3, TxnOutcome::Committed, 2, 0..10),
            txn(4, TxnOutcome::Aborted, 2, 10..20),
        ];
        let mut live = read(&txns[0]);
        live.truncate(3); // seen partly, never completed
        live.push(read(&txns[1])[0]); // an aborted message delivered live
        live.push(live[1]); // one delivered twice
        let v = check_live(&txns, &live, true);
        assert_eq!(v.atomicity_violations, 1);
        assert_eq!(
            (
                v.violation_sample[0].txn,
                v.violation_sample[0].visible,
                v.violation_sample[0].size
            ),
            (3, 3, 10)
        );
        assert_eq!(v.aborted_visible, 1);
        assert_eq!(v.duplicates, 1);
        assert_eq!(v.committed_seen, 0);
        assert_eq!(v.visible_after_commit_max_ms, None);
    }

    /// Outputs of a read-process-write loop: transaction `txn` made output offsets from the
    /// given inputs of partition 0 (output partition 0, output offset = position in `all`).
    fn outputs(batches: &[(u64, std::ops::Range<i64>)]) -> Vec<TxnRead> {
        let mut out = Vec::new();
        for (txn, inputs) in batches {
            for i in inputs.clone() {
                let n = out.len();
                out.push(TxnRead {
                    partition: 0,
                    seq: n as u64,
                    offset: n as i64,
                    txn: *txn,
                    input: Some((0, i)),
                    at_us: 0,
                });
            }
        }
        out
    }
    fn log(n: i64) -> Vec<(i32, i64)> {
        (0..n).map(|o| (0, o)).collect()
    }

    #[test]
    fn read_process_write_passes_when_each_input_is_in_the_committed_output_once() {
        // Inputs 0..30; txn 1 (inputs 10..20) aborted and redone by txn 2; offsets committed
        // up to 30; inputs 30..35 not consumed yet.
        let committed = outputs(&[(0, 0..10), (2, 10..20), (3, 20..30)]);
        let uncommitted = outputs(&[(0, 0..10), (1, 10..20), (2, 10..20), (3, 20..30)]);
        let s = check_read_process_write(&log(35), &[(0, 30)], &committed, &uncommitted);
        assert_eq!((s.inputs, s.consumed, s.processed_once), (35, 30, 30));
        assert_eq!(
            (s.processed_twice, s.missing, s.beyond_committed),
            (0, 0, 0)
        );
        assert_eq!(s.unprocessed_tail, 5);
        assert!(s.offenders.is_empty(), "{:?}", s.offenders);
    }

    #[test]
    fn read_process_write_fails_on_double_processing_and_names_both_outputs() {
        // Txn 1's offsets were not committed with its output: txn 2 processed 10..20 again.
        let committed = outputs(&[(0, 0..10), (1, 10..20), (2, 10..20)]);
        let s = check_read_process_write(&log(20), &[(0, 20)], &committed, &committed);
        assert_eq!(s.processed_twice, 10);
        assert_eq!(s.processed_once, 10);
        let o = &s.offenders[0];
        assert_eq!(o.anomaly, ProcessingAnomaly::ProcessedTwice);
        assert_eq!((o.input_partition, o.input_offset), (0, 10));
        assert_eq!(o.outputs, vec![(0, 10), (0, 20)]);
        assert_eq!(o.txns, vec![1, 2]);
    }

    #[test]
    fn read_process_write_fails_on_a_missing_input_and_says_where_it_went() {
        // Offsets committed to 20 but inputs 10..20 only in aborted txn 1.
        let committed = outputs(&[(0, 0..10)]);
        let uncommitted = outputs(&[(0, 0..10), (1, 10..20)]);
        let s = check_read_process_write(&log(20), &[(0, 20)], &committed, &uncommitted);
        assert_eq!((s.missing, s.processed_once), (10, 10));
        let o = &s.offenders[0];
        assert_eq!(o.anomaly, ProcessingAnomaly::Missing);
        assert_eq!(o.input_offset, 10);
        assert!(o.outputs.is_empty());
        assert_eq!(o.txns, vec![1], "the aborted transaction it went into");
    }

    #[test]
    fn read_process_write_fails_on_output_past_the_committed_offset() {
        // Output of 10..20 committed but the offsets stayed at 10: they were not committed
        // in the same transaction.
        let committed = outputs(&[(0, 0..10), (1, 10..20)]);
        let s = check_read_process_write(&log(20), &[(0, 10)], &committed, &committed);
        assert_eq!(s.beyond_committed, 10);
        assert_eq!(
            s.offenders[0].anomaly,
            ProcessingAnomaly::BeyondCommittedOffset
        );
        assert_eq!(s.offenders[0].txns, vec![1]);
        // No committed offset at all: nothing consumed, every output is beyond it.
        let s = check_read_process_write(&log(20), &[], &committed, &committed);
        assert_eq!(
            (s.consumed, s.beyond_committed, s.unprocessed_tail),
            (0, 20, 20)
        );
    }

    #[test]
    fn read_process_write_output_is_checked_for_atomicity_and_aborted_messages_too() {
        // The output transactions themselves: txn 1 aborted but visible, txn 2 half visible.
        let txns = vec![
            txn(1, TxnOutcome::Aborted, 0, 0..10),
            txn(2, TxnOutcome::Committed, 0, 10..20),
        ];
        let mut committed = read(&txns[0]);
        committed.extend(read(&txns[1]).into_iter().take(4));
        let s = check(&txns, &committed, &committed, None);
        assert_eq!((s.aborted_visible, s.atomicity_violations), (10, 1));
    }

    #[test]
    fn a_live_reader_cut_short_judges_only_the_transactions_it_got_past() {
        let txns = vec![
            txn(0, TxnOutcome::Committed, 0, 0..10),
            txn(1, TxnOutcome::Committed, 0, 10..20),
        ];
        // Stopped in the middle of transaction 1: not a violation, the rest may have come.
        let mut live = read(&txns[0]);
        live.extend(read(&txns[1]).into_iter().take(4));
        let v = check_live(&txns, &live, false);
        assert_eq!((v.atomicity_violations, v.committed_seen), (0, 1));
        // Transaction 0 partly seen but transaction 1 after it: 0's rest never came.
        let mut live = read(&txns[0]);
        live.truncate(5);
        live.extend(read(&txns[1]));
        let v = check_live(&txns, &live, false);
        assert_eq!(v.atomicity_violations, 1);
        assert_eq!(v.violation_sample[0].txn, 0);
    }
}
