//! The consumer group's checker, pure: from what each member processed, committed and was
//! assigned, the messages processed twice (with why), and the times nobody processed a
//! partition; from the events, the rebalances (first revoke → every partition held by a live
//! member again) and how long the group took to resume after each fault.

use crate::events::{
    DuplicateCause, DuplicateSample, Event, EventKind, FaultKind, ProcessingGap, RebalanceChange,
};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// The duplicates kept for the report (at most 5 of each cause).
const SAMPLE: usize = 20;
/// A pause in processing worth recording: well above the spacing of messages at usual rates.
pub const GAP_FLOOR_US: u64 = 500_000;

/// One message as a member processed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Processed {
    pub member: u32,
    pub partition: i32,
    pub seq: u64,
    pub offset: i64,
    pub at_us: u64,
}

/// A successful commit of one partition (`offset`: the next one to read), as the member's
/// commit callback reported it — auto commits included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Commit {
    pub member: u32,
    pub partition: i32,
    pub offset: i64,
    pub at_us: u64,
}

/// A partition handed to a member (its assign callback).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assignment {
    pub member: u32,
    pub partition: i32,
    pub at_us: u64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupHistory {
    pub processed: Vec<Processed>,
    pub commits: Vec<Commit>,
    pub assignments: Vec<Assignment>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcessingCheck {
    pub processed: u64,
    pub distinct: u64,
    pub duplicates: u64,
    pub causes: Vec<(DuplicateCause, u64)>,
    pub sample: Vec<DuplicateSample>,
    pub gaps: Vec<ProcessingGap>,
}

/// Duplicates with their cause, and processing gaps. Records may come in any order.
pub fn check(history: &GroupHistory) -> ProcessingCheck {
    let mut processed = history.processed.clone();
    processed.sort_by_key(|p| p.at_us);
    let mut commits = history.commits.clone();
    commits.sort_by_key(|c| c.at_us);
    let mut first: HashMap<(i32, u64), Processed> = HashMap::new();
    let mut causes: BTreeMap<DuplicateCause, u64> = BTreeMap::new();
    let mut out = ProcessingCheck {
        processed: processed.len() as u64,
        ..Default::default()
    };
    let mut last_at: BTreeMap<i32, u64> = BTreeMap::new();
    for p in &processed {
        if let Some(prev) = last_at.insert(p.partition, p.at_us) {
            if p.at_us.saturating_sub(prev) > GAP_FLOOR_US {
                out.gaps.push(ProcessingGap {
                    partition: p.partition,
                    from_us: prev,
                    to_us: p.at_us,
                });
            }
        }
        let Some(f) = first.get(&(p.partition, p.seq)).copied() else {
            first.insert((p.partition, p.seq), *p);
            continue;
        };
        out.duplicates += 1;
        // The last commit of the partition before the message was processed again.
        let upto = commits.partition_point(|c| c.at_us <= p.at_us);
        let committed = commits[..upto]
            .iter()
            .rev()
            .find(|c| c.partition == p.partition)
            .map(|c| c.offset);
        let reassigned = history.assignments.iter().any(|a| {
            a.member == p.member
                && a.partition == p.partition
                && a.at_us >= f.at_us
                && a.at_us <= p.at_us
        });
        let cause = if f.offset != p.offset {
            DuplicateCause::DuplicateInLog
        } else if committed.is_some_and(|c| c > p.offset) {
            DuplicateCause::BehindCommitted
        } else if f.member != p.member {
            DuplicateCause::RebalanceFromCommitted
        } else if reassigned {
            DuplicateCause::RejoinFromCommitted
        } else {
            DuplicateCause::RefetchedWithoutRebalance
        };
        let seen = causes.entry(cause).or_default();
        *seen += 1;
        // The first few of each cause, so a rare one is not crowded out by a common one.
        if out.sample.len() < SAMPLE && *seen <= 5 {
            out.sample.push(DuplicateSample {
                partition: p.partition,
                seq: p.seq,
                first_member: f.member,
                first_offset: f.offset,
                first_at_us: f.at_us,
                again_member: p.member,
                again_offset: p.offset,
                again_at_us: p.at_us,
                committed,
                cause,
            });
        }
    }
    out.distinct = first.len() as u64;
    out.causes = causes.into_iter().collect();
    out
}

/// One rebalance as the members' callbacks show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Episode {
    /// The first revoke (or lost) callback.
    pub from_us: u64,
    /// Every partition assigned to a live member again; `None` if never.
    pub to_us: Option<u64>,
}

/// What the group's callbacks and the faults say about its rebalances.
#[derive(Debug, Default)]
pub struct GroupTimes {
    pub episodes: Vec<Episode>,
    /// Per fault that hit a whole group: the time until it was whole again (`None`: never).
    pub resumed: Vec<(String, Option<u64>)>,
    /// Faults that hit while the group was not whole: not timed.
    pub hit_while_not_whole: Vec<String>,
}

// Long: one pass over the group's events keeping who owns what, each event kind an arm
/// The group's rebalances and, per member fault or broker fault, the time until every
/// partition was held by a live member again. `partitions`: the topic's partition count.
///
/// Revokes before the steps began (the group forming: members joining one after another)
/// are not rebalances under a fault. A fault that hit while the group was not whole (still
/// forming, or mid-rebalance) is not timed — its "whole again" would measure what was already
/// under way — and is listed apart.
pub fn rebalances(events: &[&Event], partitions: i32) -> GroupTimes {
    let counting_from = events
        .iter()
        .find(|e| {
            matches!(
                e.kind,
                EventKind::Phase {
                    name: crate::events::RunPhase::Steps
                }
            )
        })
        .map_or(0, |e| e.at_us);
    let mut owner: BTreeMap<i32, u32> = BTreeMap::new();
    let mut down: BTreeSet<u32> = BTreeSet::new();
    let mut episodes: Vec<Episode> = Vec::new();
    let mut open: Option<u64> = None;
    // Faults waiting for the group to be whole again: (fault id, injected at).
    let mut waiting: Vec<(String, u64)> = Vec::new();
    let mut resumed: Vec<(String, Option<u64>)> = Vec::new();
    let mut hit_while_not_whole: Vec<String> = Vec::new();
    let mut ever_whole = false;
    // Not whole after the last event (a member down holding partitions, or mid-rebalance).
    let mut broken = false;
    let whole = |owner: &BTreeMap<i32, u32>, down: &BTreeSet<u32>| {
        (0..partitions).all(|p| owner.get(&p).is_some_and(|m| !down.contains(m)))
    };
    for e in events {
        match &e.kind {
            EventKind::GroupRebalance {
                member,
                change,
                partitions: ps,
            } => match change {
                RebalanceChange::Assigned => {
                    for p in ps {
                        owner.insert(*p, *member);
                    }
                }
                RebalanceChange::Revoked | RebalanceChange::Lost => {
                    for p in ps {
                        if owner.get(p) == Some(member) {
                            owner.remove(p);
                        }
                    }
                    if ever_whole && open.is_none() && e.at_us >= counting_from {
                        open = Some(e.at_us);
                    }
                }
            },
            EventKind::FaultInjected {
                id, kind, resolved, ..
            } => {
                let whole_before = whole(&owner, &down);
                if kind.is_member_fault() {
                    down.extend(resolved.iter().filter_map(|r| member_of(r)));
                }
                if ever_whole && *kind != FaultKind::Start {
                    if whole_before {
                        waiting.push((id.clone(), e.at_us));
                    } else {
                        hit_while_not_whole.push(id.clone());
                    }
                }
            }
            EventKind::FaultReverted { kind, resolved, .. } if kind.is_member_fault() => {
                for m in resolved.iter().filter_map(|r| member_of(r)) {
                    down.remove(&m);
                }
            }
            _ => continue,
        }
        let now_whole = whole(&owner, &down);
        if now_whole {
            // A fault is over for the group once it is whole again after being broken: a
            // rebalance completed (classic: revoke, then assign), or — incremental, KIP-848 —
            // the broker handed a dead member's partitions to the live ones without any
            // revoke callback.
            if open.is_some() || (broken && ever_whole) {
                let (done, still): (Vec<_>, Vec<_>) =
                    waiting.drain(..).partition(|(_, at)| *at <= e.at_us);
                waiting = still;
                resumed.extend(done.into_iter().map(|(id, at)| (id, Some(e.at_us - at))));
            }
            ever_whole = true;
            if let Some(from) = open.take() {
                episodes.push(Episode {
                    from_us: from,
                    to_us: Some(e.at_us),
                });
            }
        }
        broken = !now_whole;
    }
    if let Some(from) = open {
        episodes.push(Episode {
            from_us: from,
            to_us: None,
        });
    }
    resumed.extend(waiting.into_iter().map(|(id, _)| (id, None)));
    GroupTimes {
        episodes,
        resumed,
        hit_while_not_whole,
    }
}

/// `member-3` → 3.
pub fn member_of(service: &str) -> Option<u32> {
    service.strip_prefix("member-")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(member: u32, partition: i32, seq: u64, offset: i64, at_us: u64) -> Processed {
        Processed {
            member,
            partition,
            seq,
            offset,
            at_us,
        }
    }

    #[test]
    fn a_clean_history_has_no_duplicates_and_a_bad_one_is_caught_with_its_cause() {
        let clean = GroupHistory {
            processed: (0..10).map(|i| p(0, 0, i, i as i64, i * 1000)).collect(),
            commits: vec![],
            assignments: vec![],
        };
        let c = check(&clean);
        assert_eq!((c.processed, c.distinct, c.duplicates), (10, 10, 0));
        assert!(c.sample.is_empty() && c.gaps.is_empty());

        // Member 0 processed 0..10 and committed 5; member 1 took over from 5: 5..10 twice.
        let mut h = clean.clone();
        h.commits.push(Commit {
            member: 0,
            partition: 0,
            offset: 5,
            at_us: 6_000,
        });
        h.assignments.push(Assignment {
            member: 1,
            partition: 0,
            at_us: 2_000_000,
        });
        h.processed
            .extend((5..10).map(|i| p(1, 0, i, i as i64, 2_000_000 + i)));
        let c = check(&h);
        assert_eq!(c.duplicates, 5);
        assert_eq!(c.causes, vec![(DuplicateCause::RebalanceFromCommitted, 5)]);
        assert_eq!(c.sample[0].committed, Some(5));
        assert_eq!((c.sample[0].first_member, c.sample[0].again_member), (0, 1));
        // The takeover left partition 0 unprocessed for ~2 s.
        assert_eq!(c.gaps.len(), 1);
        assert_eq!(c.gaps[0].to_us - c.gaps[0].from_us, 2_000_000 + 5 - 9_000);
    }

    #[test]
    fn a_redelivery_behind_the_committed_offset_is_an_anomaly() {
        let h = GroupHistory {
            processed: vec![p(0, 0, 7, 7, 100), p(1, 0, 7, 7, 900)],
            commits: vec![Commit {
                member: 0,
                partition: 0,
                offset: 8,
                at_us: 200,
            }],
            assignments: vec![],
        };
        assert_eq!(check(&h).causes, vec![(DuplicateCause::BehindCommitted, 1)]);
    }

    #[test]
    fn same_member_rejoin_refetch_and_log_duplicates_are_told_apart() {
        let h = GroupHistory {
            processed: vec![
                p(0, 0, 1, 1, 100),
                p(0, 0, 1, 1, 500), // re-assigned at 300: rejoined
                p(2, 1, 4, 4, 100),
                p(2, 1, 4, 4, 600), // no assignment between: refetched
                p(2, 2, 9, 10, 100),
                p(2, 2, 9, 11, 150), // same seq at another offset: in the log twice
            ],
            commits: vec![],
            assignments: vec![Assignment {
                member: 0,
                partition: 0,
                at_us: 300,
            }],
        };
        assert_eq!(
            check(&h).causes,
            vec![
                (DuplicateCause::RejoinFromCommitted, 1),
                (DuplicateCause::RefetchedWithoutRebalance, 1),
                (DuplicateCause::DuplicateInLog, 1),
            ]
        );
    }

    fn ev(at_us: u64, kind: EventKind) -> Event {
        Event {
            at_us,
            wall_ms: 0,
            kind,
        }
    }
    fn fault(at: u64, id: &str, kind: FaultKind, resolved: &str) -> Event {
        ev(
            at,
            EventKind::FaultInjected {
                id: id.into(),
                kind,
                target: id.into(),
                resolved: vec![resolved.into()],
                broker_ids: vec![],
                source: crate::events::TimeSource::ApiResponse,
                unreachable: false,
            },
        )
    }

    fn rb(member: u32, change: RebalanceChange, partitions: &[i32]) -> EventKind {
        EventKind::GroupRebalance {
            member,
            change,
            partitions: partitions.to_vec(),
        }
    }

    #[test]
    fn a_crashed_member_rebalance_runs_from_the_first_revoke_to_the_last_assign() {
        use RebalanceChange::*;
        let events = [
            ev(0, rb(0, Assigned, &[0])),
            ev(1, rb(1, Assigned, &[1])),
            ev(2, rb(2, Assigned, &[2])),
            fault(1_000, "crash", FaultKind::MemberCrash, "member-1"),
            // Session timeout later, the survivors' callbacks.
            ev(10_000, rb(0, Revoked, &[0])),
            ev(10_050, rb(2, Revoked, &[2])),
            ev(10_400, rb(0, Assigned, &[0, 1])),
            // Not whole yet: member 2 has nothing, but every partition is held: whole.
            ev(10_500, rb(2, Assigned, &[2])),
        ];
        let refs: Vec<&Event> = events.iter().collect();
        let GroupTimes {
            episodes, resumed, ..
        } = rebalances(&refs, 3);
        assert_eq!(
            episodes,
            vec![Episode {
                from_us: 10_000,
                to_us: Some(10_500)
            }]
        );
        assert_eq!(resumed, vec![("crash".to_string(), Some(9_500))]);

        // The same callbacks while the group was still forming (before the steps) are no
        // rebalance under a fault.
        let mut forming: Vec<Event> = events[..3].to_vec();
        forming.push(ev(50, rb(0, Revoked, &[0])));
        forming.push(ev(60, rb(0, Assigned, &[0])));
        forming.push(ev(
            100,
            EventKind::Phase {
                name: crate::events::RunPhase::Steps,
            },
        ));
        forming.extend(events[3..].iter().cloned());
        let refs_forming: Vec<&Event> = forming.iter().collect();
        assert_eq!(rebalances(&refs_forming, 3).episodes.len(), 1);

        // Without the survivors' reassignment the group never resumes: open episode, None.
        let GroupTimes {
            episodes, resumed, ..
        } = rebalances(&refs[..6], 3);
        assert_eq!(episodes[0].to_us, None);
        assert_eq!(resumed, vec![("crash".to_string(), None)]);
    }

    #[test]
    fn an_incremental_reassignment_without_any_revoke_ends_the_crash_and_is_no_rebalance() {
        use RebalanceChange::*;
        // KIP-848 (measured on Kafka 4.1.1): the session expires, the broker gives the dead
        // member's partition to a live one, which only sees an assign callback.
        let events = [
            ev(0, rb(0, Assigned, &[0])),
            ev(1, rb(1, Assigned, &[1])),
            ev(2, rb(2, Assigned, &[2])),
            fault(1_000, "crash", FaultKind::MemberCrash, "member-1"),
            ev(11_000, rb(0, Assigned, &[1])),
            // A coordinator kill the members carry on through: nothing is revoked.
            fault(20_000, "kill-coordinator", FaultKind::Kill, "kafka-3"),
        ];
        let refs: Vec<&Event> = events.iter().collect();
        let GroupTimes {
            episodes, resumed, ..
        } = rebalances(&refs, 3);
        assert!(episodes.is_empty(), "no revoke, no rebalance: {episodes:?}");
        assert_eq!(
            resumed,
            vec![
                ("crash".to_string(), Some(10_000)),
                ("kill-coordinator".to_string(), None)
            ]
        );
    }

    #[test]
    fn a_fault_that_hits_a_group_still_moving_partitions_is_not_timed() {
        use RebalanceChange::*;
        // KIP-848 forming (measured, Java 4.1.1): member 2 gets everything, then gives 1 and 2
        // up; before anyone holds them, member 1 crashes. The partitions' arrival later ends
        // the forming, not the crash.
        let events = [
            ev(0, rb(2, Assigned, &[0, 1, 2])),
            ev(400, rb(2, Revoked, &[1, 2])),
            fault(5_000, "crash", FaultKind::MemberCrash, "member-1"),
            ev(5_300, rb(0, Assigned, &[2])),
            ev(10_400, rb(0, Assigned, &[1])),
        ];
        let refs: Vec<&Event> = events.iter().collect();
        let times = rebalances(&refs, 3);
        assert!(times.resumed.is_empty(), "{:?}", times.resumed);
        assert_eq!(times.hit_while_not_whole, vec!["crash".to_string()]);
    }
}
