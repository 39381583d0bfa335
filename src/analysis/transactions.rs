//! The exactly-once checker, pure: what a transactional producer committed and aborted,
//! against what a `read_committed` reader and a `read_uncommitted` reader found in the log.
//! Atomicity: a committed transaction is visible whole or not at all; isolation: nothing of an
//! aborted transaction is visible to read_committed; plus duplicates and per-partition order.

use crate::events::{AtomicityViolation, TransactionSummary};
use std::collections::{BTreeMap, HashMap, HashSet};

/// The violations kept for the report.
const SAMPLE: usize = 20;

/// How a transaction ended, as the producer saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxnOutcome {
    Committed,
    /// Aborted on purpose (`abort-every`) or after an error.
    Aborted,
    /// Commit and abort both failed: either may have happened.
    Unknown,
}

/// One transaction and the messages it wrote: (partition, seq) with seq per partition.
#[derive(Debug, Clone, PartialEq)]
pub struct Txn {
    pub id: u64,
    pub outcome: TxnOutcome,
    pub messages: Vec<(i32, u64)>,
}

/// One transactional message as a reader found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxnRead {
    pub partition: i32,
    pub seq: u64,
    pub offset: i64,
    pub txn: u64,
}

pub fn check(
    txns: &[Txn],
    committed_read: &[TxnRead],
    uncommitted_read: &[TxnRead],
) -> TransactionSummary {
    let by_id: HashMap<u64, &Txn> = txns.iter().map(|t| (t.id, t)).collect();
    let mut out = TransactionSummary {
        committed: txns
            .iter()
            .filter(|t| t.outcome == TxnOutcome::Committed)
            .count() as u64,
        aborted: txns
            .iter()
            .filter(|t| t.outcome == TxnOutcome::Aborted)
            .count() as u64,
        unknown: txns
            .iter()
            .filter(|t| t.outcome == TxnOutcome::Unknown)
            .count() as u64,
        read_committed: committed_read.len() as u64,
        read_uncommitted: uncommitted_read.len() as u64,
        ..Default::default()
    };
    // Visible messages per transaction (read_committed), with their offsets.
    let mut visible: BTreeMap<u64, Vec<TxnRead>> = BTreeMap::new();
    let mut seen: HashSet<(i32, u64)> = HashSet::new();
    let mut highest: HashMap<i32, u64> = HashMap::new();
    for r in committed_read {
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
        let seen_of: HashSet<(i32, u64)> = visible
            .get(&t.id)
            .map(|v| v.iter().map(|r| (r.partition, r.seq)).collect())
            .unwrap_or_default();
        let present = t.messages.iter().filter(|m| seen_of.contains(m)).count();
        match t.outcome {
            TxnOutcome::Aborted => out.aborted_visible += present as u64,
            TxnOutcome::Committed if present == 0 && !t.messages.is_empty() => {
                out.committed_missing += 1
            }
            TxnOutcome::Committed | TxnOutcome::Unknown
                if present > 0 && present < t.messages.len() =>
            {
                out.atomicity_violations += 1;
                if out.violation_sample.len() < SAMPLE {
                    let offsets = visible
                        .get(&t.id)
                        .map(|v| v.iter().map(|r| (r.partition, r.offset)).collect())
                        .unwrap_or_default();
                    out.violation_sample.push(AtomicityViolation {
                        txn: t.id,
                        size: t.messages.len() as u64,
                        visible: present as u64,
                        offsets,
                    });
                }
            }
            _ => {}
        }
    }
    // Messages of transactions the producer never reported (not ours to judge) are ignored;
    // the uncommitted reader must see the aborted ones: the proof the check could fail.
    out.aborted_seen_uncommitted = uncommitted_read
        .iter()
        .filter(|r| {
            by_id
                .get(&r.txn)
                .is_some_and(|t| t.outcome == TxnOutcome::Aborted)
        })
        .count() as u64;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txn(id: u64, outcome: TxnOutcome, partition: i32, seqs: std::ops::Range<u64>) -> Txn {
        Txn {
            id,
            outcome,
            messages: seqs.map(|s| (partition, s)).collect(),
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
        let s = check(&txns, &committed, &uncommitted);
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
        let s = check(&txns, &committed, &[]);
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
        let s = check(&txns[..1], &[], &[]);
        assert_eq!((s.committed_missing, s.atomicity_violations), (1, 0));
    }
}
