//! Per-partition history from the observations, and what follows from it: failover after each
//! fault, leader and ISR changes, offline and under-replicated time, preferred-leader
//! restoration, controller failover, the client's longest ack gap, and the log cross-check.

use super::kafka_log::leadership_lines;
use super::{ms, stats::stats};
use crate::events::{BrokerId, Event, EventKind, PartitionState};
use crate::model::{
    Interval, IsrChange, LeaderChange, LogCheck, OfflineSummary, PartitionResult, RunResult,
};
use std::collections::BTreeMap;

/// Every distinct state of every partition, and of the controller, in time order; and the
/// spans in which the observer saw nothing (the state then is unknown, not offline).
pub struct Timeline {
    pub partitions: BTreeMap<(String, i32), Vec<(u64, PartitionState)>>,
    pub controller: Vec<(u64, Option<BrokerId>)>,
    /// (from, to): from the last view before the observer went blind to the next view.
    pub blind: Vec<(u64, Option<u64>)>,
    /// Each observation's time and the time of the view before it (its real error bar).
    pub previous_view: BTreeMap<u64, u64>,
    pub end_us: u64,
}

impl Timeline {
    pub fn build(events: &[&Event]) -> Self {
        let mut partitions: BTreeMap<(String, i32), Vec<(u64, PartitionState)>> = BTreeMap::new();
        let mut controller: Vec<(u64, Option<BrokerId>)> = Vec::new();
        let mut blind: Vec<(u64, Option<u64>)> = Vec::new();
        let mut previous_view = BTreeMap::new();
        for e in events {
            match &e.kind {
                // A new blind spell, unless one is still open.
                EventKind::ObserverError { last_view_us, .. }
                    if blind.last().is_none_or(|(_, to)| to.is_some()) =>
                {
                    blind.push((last_view_us.unwrap_or(e.at_us).min(e.at_us), None));
                }
                EventKind::Observed {
                    snapshot,
                    previous_view_us,
                } => {
                    if let Some((_, to @ None)) = blind.last_mut() {
                        *to = Some(e.at_us);
                    }
                    if let Some(prev) = previous_view_us {
                        previous_view.insert(e.at_us, *prev);
                    }
                    // An empty view is what a blind observer publishes: not a state.
                    if snapshot.brokers.is_empty() && snapshot.partitions.is_empty() {
                        continue;
                    }
                    if controller.last().map(|(_, c)| *c) != Some(snapshot.controller) {
                        controller.push((e.at_us, snapshot.controller));
                    }
                    for p in &snapshot.partitions {
                        let history = partitions
                            .entry((p.topic.clone(), p.partition))
                            .or_default();
                        if history.last().map(|(_, s)| s) != Some(p) {
                            history.push((e.at_us, p.clone()));
                        }
                    }
                }
                _ => {}
            }
        }
        Timeline {
            partitions,
            controller,
            blind,
            previous_view,
            end_us: events.last().map(|e| e.at_us).unwrap_or(0),
        }
    }

    /// The error bar of an observation at `t`: the time since the view before it (at least
    /// the poll period, more after the observer was blind).
    pub fn error_bar_us(&self, t: u64, period_us: u64) -> u64 {
        let blind_before = self
            .blind
            .iter()
            .filter(|(_, to)| *to == Some(t))
            .map(|(from, _)| t.saturating_sub(*from))
            .max()
            .unwrap_or(0);
        let since_previous = self
            .previous_view
            .get(&t)
            .map(|prev| t.saturating_sub(*prev))
            .unwrap_or(period_us);
        since_previous.max(blind_before).max(period_us)
    }
}

/// A broker a fault holds unreachable for clients: from the fault to its revert.
struct HeldDown {
    broker: BrokerId,
    from: u64,
    to: Option<u64>,
    /// Killed or stopped: its process died, so a leadership it held before is gone for good
    /// (a restarted broker leads again only under a new leader epoch). Frozen or cut off: it
    /// serves again as soon as the fault is reverted.
    died: bool,
}

/// Brokers a fault holds unreachable for clients (killed, stopped, frozen, disconnected, or
/// on a node cut at its uplink).
fn held_down(events: &[&Event]) -> Vec<HeldDown> {
    let mut down: Vec<(String, HeldDown)> = Vec::new();
    for e in events {
        match &e.kind {
            EventKind::FaultInjected {
                id,
                kind,
                broker_ids,
                unreachable,
                ..
            } if kind.makes_broker_unusable() || *unreachable => {
                for b in broker_ids {
                    down.push((
                        id.clone(),
                        HeldDown {
                            broker: *b,
                            from: e.at_us,
                            to: None,
                            died: kind.ends_process(),
                        },
                    ));
                }
            }
            EventKind::FaultReverted { id, .. } => {
                for (_, d) in down.iter_mut().filter(|(i, d)| i == id && d.to.is_none()) {
                    d.to = Some(e.at_us);
                }
            }
            _ => {}
        }
    }
    down.into_iter().map(|(_, d)| d).collect()
}

/// Intervals in which the partition had no usable leader: none in the metadata, or one that
/// a fault holds down (a killed ZooKeeper-mode leader stays listed until its session expires),
/// or a leadership whose broker died while holding it — still listed under the same epoch
/// after the broker was started again, it serves nothing until a new election.
fn unavailable_intervals(
    history: &[(u64, PartitionState)],
    down: &[HeldDown],
) -> Vec<(u64, Option<u64>)> {
    let Some(first) = history.first().map(|(t, _)| *t) else {
        return vec![];
    };
    let mut points: Vec<u64> = history.iter().map(|(t, _)| *t).collect();
    for d in down {
        points.push(d.from);
        points.extend(d.to);
    }
    points.retain(|t| *t >= first);
    points.sort_unstable();
    points.dedup();
    let mut intervals = Vec::new();
    let mut open: Option<u64> = None;
    for t in points {
        // The state in force at t, and since when it is (the same leader and epoch).
        let Some(i) = history.iter().rposition(|(at, _)| *at <= t) else {
            continue;
        };
        let state = &history[i].1;
        let since = history[..=i]
            .iter()
            .rev()
            .take_while(|(_, s)| (s.leader, s.leader_epoch) == (state.leader, state.leader_epoch))
            .last()
            .map(|(at, _)| *at)
            .unwrap_or(history[i].0);
        let unusable = match state.leader {
            None => true,
            Some(l) => down.iter().any(|d| {
                d.broker == l
                    && d.from <= t
                    && (d.to.is_none_or(|to| t < to)
                        || (d.died && d.to.is_some_and(|to| to > since)))
            }),
        };
        match (open, unusable) {
            (None, true) => open = Some(t),
            (Some(from), false) => {
                intervals.push((from, Some(t)));
                open = None;
            }
            _ => {}
        }
    }
    if let Some(from) = open {
        intervals.push((from, None));
    }
    intervals
}

/// The state in force at `t` (the latest observed at or before it).
fn at<T>(history: &[(u64, T)], t: u64) -> Option<&T> {
    history
        .iter()
        .take_while(|(at, _)| *at <= t)
        .last()
        .map(|(_, s)| s)
}

fn same_set(a: &[i32], b: &[i32]) -> bool {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort_unstable();
    b.sort_unstable();
    a == b
}

/// Partition back online (metadata) at `online_at` → the first ack after it. The ack that
/// ends the gap spanning that moment; a client that saw the new leader a little before the
/// observer did (within the poll period) recovered at once. An open gap (no ack until the
/// workload stopped at `done`): the recovery took at least until then.
/// Gaps are (from, to, open).
fn recovery(gaps: &[(u64, u64, bool)], online_at: u64, period_us: u64, done: u64) -> Option<f64> {
    let (_, to, open) = gaps
        .iter()
        .filter(|(from, to, _)| *from < online_at && to + period_us >= online_at)
        .min_by_key(|(_, to, _)| *to)?;
    if *open {
        return Some(ms((*to).max(done).saturating_sub(online_at)));
    }
    Some(ms(to.saturating_sub(online_at)))
}

/// What the whole run says that every partition's analysis needs.
struct RunFacts {
    workload_done_us: Option<u64>,
    /// (time, broker ids hit) of every fault.
    faults: Vec<(u64, Vec<BrokerId>)>,
    heals: Vec<u64>,
    down: Vec<HeldDown>,
    period_us: u64,
    logged: Vec<(u64, crate::analysis::kafka_log::LoggedLeadership)>,
}

/// Failover times over every partition, gathered as each is analysed.
#[derive(Default)]
struct Failovers {
    metadata: Vec<f64>,
    logged: Vec<f64>,
    elections: Vec<f64>,
    error_us: u64,
}

pub fn fill(result: &mut RunResult, timeline: &Timeline, events: &[&Event]) {
    let facts = RunFacts {
        workload_done_us: events.iter().find_map(|e| match e.kind {
            EventKind::WorkloadDone(_) => Some(e.at_us),
            _ => None,
        }),
        faults: events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::FaultInjected { broker_ids, .. } => Some((e.at_us, broker_ids.clone())),
                _ => None,
            })
            .collect(),
        heals: events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::FaultReverted { .. }))
            .map(|e| e.at_us)
            .collect(),
        down: held_down(events),
        period_us: (result.error_bar_ms * 1000.0) as u64,
        logged: logged_leadership(events),
    };
    let mut failovers = Failovers::default();
    let mut offline = OfflineSummary::default();
    for ((topic, partition), history) in &timeline.partitions {
        let mut pr = empty_result(topic, *partition);
        probe_of(&mut pr, events);
        walk_history(&mut pr, history, &facts, timeline, &mut failovers);
        failovers_of(&mut pr, history, &facts, timeline, &mut failovers);
        pr.preferred_restored_ms = preferred_restored(history, &facts);
        client_view(&mut pr, history, &facts, timeline, events);
        if pr.offline_ms > 0.0 {
            offline.partitions += 1;
            offline.total_ms += pr.offline_ms;
            offline.max_ms = offline.max_ms.max(pr.offline_ms);
        }
        result.partitions.push(pr);
    }
    result.failover.metadata_ms = stats(&failovers.metadata);
    result.failover.log_ms = stats(&failovers.logged);
    if failovers.error_us > 0 {
        result.failover.resolution_ms = ms(failovers.error_us);
    }
    result.failover.election_ms = stats(&failovers.elections);
    result.offline = offline;
    result.controller_failover_ms = facts.faults.iter().find_map(|(fault_at, brokers)| {
        let before = at(&timeline.controller, *fault_at)?.as_ref()?;
        if !brokers.contains(before) {
            return None;
        }
        timeline
            .controller
            .iter()
            .find(|(t, c)| *t > *fault_at && c.is_some_and(|c| !brokers.contains(&c)))
            .map(|(t, _)| ms(t - fault_at))
    });
    result.log_check = log_check(timeline, events);
}

fn empty_result(topic: &str, partition: i32) -> PartitionResult {
    PartitionResult {
        topic: topic.to_string(),
        partition,
        failover_ms: None,
        offline_ms: 0.0,
        offline_intervals: vec![],
        under_replicated_ms: 0.0,
        leader_changes: vec![],
        isr_changes: vec![],
        preferred_restored_ms: None,
        unavailability_ms: None,
        unavailable_ms: 0.0,
        unavailable_intervals: vec![],
        failover_error_ms: None,
        recovery_ms: None,
        resumed: None,
        fresh_client_ms: None,
        probe_error: None,
        failover_log_ms: None,
        consumer_recovery_ms: None,
    }
}

/// The fresh client's write once the partition was usable again.
fn probe_of(pr: &mut PartitionResult, events: &[&Event]) {
    for e in events {
        if let EventKind::Probe {
            topic,
            partition,
            became_usable_us,
            acked,
            error,
        } = &e.kind
        {
            if *topic == pr.topic && *partition == pr.partition {
                pr.fresh_client_ms = acked.then(|| ms(e.at_us.saturating_sub(*became_usable_us)));
                pr.probe_error = error.clone();
            }
        }
    }
}

/// Leader changes, ISR changes, offline and under-replicated time, from the observed history.
fn walk_history(
    pr: &mut PartitionResult,
    history: &[(u64, PartitionState)],
    facts: &RunFacts,
    timeline: &Timeline,
    failovers: &mut Failovers,
) {
    let mut prev: Option<&PartitionState> = None;
    let mut offline_from: Option<u64> = None;
    let mut under_from: Option<u64> = None;
    let fault_times: Vec<u64> = facts.faults.iter().map(|(f, _)| *f).collect();
    let since = |times: &[u64], t: u64| times.iter().rfind(|x| **x <= t).map(|x| ms(t - x));
    for (t, s) in history {
        if let Some(p) = prev {
            if (p.leader, p.leader_epoch) != (s.leader, s.leader_epoch) {
                pr.leader_changes.push(LeaderChange {
                    at_ms: ms(*t),
                    leader: s.leader,
                    epoch: s.leader_epoch,
                });
            }
            if !same_set(&p.isr, &s.isr) {
                pr.isr_changes.push(IsrChange {
                    at_ms: ms(*t),
                    isr: s.isr.clone(),
                    since_fault_ms: since(&fault_times, *t),
                    since_heal_ms: since(&facts.heals, *t),
                });
            }
        }
        match (offline_from, s.leader) {
            (None, None) => offline_from = Some(*t),
            (Some(from), Some(_)) => {
                pr.offline_intervals.push(Interval {
                    from_ms: ms(from),
                    to_ms: Some(ms(*t)),
                });
                failovers.elections.push(ms(t - from));
                offline_from = None;
            }
            _ => {}
        }
        let under = s.isr.len() < s.replicas.len();
        match (under_from, under) {
            (None, true) => under_from = Some(*t),
            (Some(from), false) => {
                pr.under_replicated_ms += ms(t - from);
                under_from = None;
            }
            _ => {}
        }
        prev = Some(s);
    }
    if let Some(from) = offline_from {
        pr.offline_intervals.push(Interval {
            from_ms: ms(from),
            to_ms: None,
        });
    }
    if let Some(from) = under_from {
        pr.under_replicated_ms += ms(timeline.end_us.saturating_sub(from));
    }
    pr.offline_ms = pr
        .offline_intervals
        .iter()
        .map(|i| i.to_ms.unwrap_or(ms(timeline.end_us)) - i.from_ms)
        .fold(0.0, |a, b| a + b);
}

/// For every fault that hit this partition's leader: the time to a leader elsewhere, from
/// the metadata (with its error bar) and from the new leader's own log line. A change that
/// follows a later fault on the leader is that fault's (a bandwidth limit on the leader, then
/// its stop: the stop moved leadership, not the limit).
fn failovers_of(
    pr: &mut PartitionResult,
    history: &[(u64, PartitionState)],
    facts: &RunFacts,
    timeline: &Timeline,
    failovers: &mut Failovers,
) {
    for (fault_at, brokers) in &facts.faults {
        if brokers.is_empty() {
            continue;
        }
        let Some(before) = at(history, *fault_at) else {
            continue;
        };
        if !before.leader.is_some_and(|l| brokers.contains(&l)) {
            continue;
        }
        let new_leader = history
            .iter()
            .find(|(t, s)| *t > *fault_at && s.leader.is_some_and(|l| !brokers.contains(&l)));
        let Some((t, state)) = new_leader else {
            continue;
        };
        let hit_the_leader = |(at_us, brokers): &(u64, Vec<i32>)| {
            at(history, *at_us).is_some_and(|s| s.leader.is_some_and(|l| brokers.contains(&l)))
        };
        if facts
            .faults
            .iter()
            .any(|f| f.0 > *fault_at && f.0 < *t && hit_the_leader(f))
        {
            continue;
        }
        // The new leader's own log line for that epoch: the same host clock as the fault's
        // Docker event, to the millisecond.
        if let Some(logged_at) = facts.logged.iter().find_map(|(at, l)| {
            (l.topic == pr.topic
                && l.partition == pr.partition
                && l.leader_epoch == state.leader_epoch)
                .then_some(*at)
        }) {
            let v = ms(logged_at.saturating_sub(*fault_at));
            failovers.logged.push(v);
            pr.failover_log_ms = Some(pr.failover_log_ms.map_or(v, |m: f64| m.max(v)));
        }
        let v = ms(t - fault_at);
        failovers.metadata.push(v);
        if pr.failover_ms.is_none_or(|m| v >= m) {
            let error = timeline.error_bar_us(*t, facts.period_us);
            pr.failover_error_ms = Some(ms(error));
            failovers.error_us = failovers.error_us.max(error);
        }
        pr.failover_ms = Some(pr.failover_ms.map_or(v, |m: f64| m.max(v)));
    }
}

/// After the last heal, the time until the preferred replica leads again (when it did not).
fn preferred_restored(history: &[(u64, PartitionState)], facts: &RunFacts) -> Option<f64> {
    let last_heal = facts.heals.last()?;
    let state = at(history, *last_heal)?;
    if state.leader.is_some() && state.leader == state.preferred_leader() {
        return None;
    }
    history
        .iter()
        .find(|(t, s)| *t > *last_heal && s.leader.is_some() && s.leader == s.preferred_leader())
        .map(|(t, _)| ms(t - last_heal))
}

/// The client's side: the longest ack gap, the time the partition was unusable, whether acks
/// flowed again and how long after the partition came back, for the producer and the live
/// consumer.
fn client_view(
    pr: &mut PartitionResult,
    history: &[(u64, PartitionState)],
    facts: &RunFacts,
    timeline: &Timeline,
    events: &[&Event],
) {
    let gaps: Vec<&crate::events::AckGap> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::AckGap(g) if g.topic == pr.topic && g.partition == pr.partition => Some(g),
            _ => None,
        })
        .collect();
    pr.unavailability_ms = gaps
        .iter()
        .map(|g| ms(g.to_us.saturating_sub(g.from_us)))
        .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    let unavailable = unavailable_intervals(history, &facts.down);
    pr.unavailable_ms = unavailable
        .iter()
        .map(|(from, to)| ms(to.unwrap_or(timeline.end_us).saturating_sub(*from)))
        .fold(0.0, |a, b| a + b);
    pr.unavailable_intervals = unavailable
        .iter()
        .map(|(from, to)| Interval {
            from_ms: ms(*from),
            to_ms: to.map(ms),
        })
        .collect();
    let Some(done) = facts.workload_done_us else {
        return;
    };
    // Acks flowed at the end unless a gap was still open when the workload stopped.
    pr.resumed = Some(!gaps.iter().any(|g| g.open));
    if let Some((_, Some(online_at))) = unavailable.last() {
        let acks: Vec<(u64, u64, bool)> =
            gaps.iter().map(|g| (g.from_us, g.to_us, g.open)).collect();
        pr.recovery_ms = recovery(&acks, *online_at, facts.period_us, done);
        let deliveries: Vec<(u64, u64, bool)> = events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::ConsumerGap(g) if g.topic == pr.topic && g.partition == pr.partition => {
                    Some((g.from_us, g.to_us, false))
                }
                _ => None,
            })
            .collect();
        pr.consumer_recovery_ms = recovery(&deliveries, *online_at, facts.period_us, done);
    }
}

/// Every leadership change the brokers logged, at its log time (run clock).
fn logged_leadership(
    events: &[&Event],
) -> Vec<(u64, crate::analysis::kafka_log::LoggedLeadership)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::KafkaLog { line, .. } => leadership_lines(line)
                .into_iter()
                .next()
                .map(|l| (e.at_us, l)),
            _ => None,
        })
        .collect()
}

/// Each observed leader change against the new leader's own log line for the same epoch.
fn log_check(timeline: &Timeline, events: &[&Event]) -> Option<LogCheck> {
    let logged = logged_leadership(events);
    if logged.is_empty() {
        return None;
    }
    let mut check = LogCheck::default();
    for ((topic, partition), history) in &timeline.partitions {
        for pair in history.windows(2) {
            let (t, s) = &pair[1];
            if s.leader.is_none()
                || (pair[0].1.leader, pair[0].1.leader_epoch) == (s.leader, s.leader_epoch)
            {
                continue;
            }
            match logged.iter().find(|(_, l)| {
                l.topic == *topic && l.partition == *partition && l.leader_epoch == s.leader_epoch
            }) {
                Some((logged_at, _)) => {
                    check.matched += 1;
                    check
                        .offsets_ms
                        .push((*t as f64 - *logged_at as f64) / 1000.0);
                }
                None => check.unmatched += 1,
            }
        }
    }
    let s = stats(&check.offsets_ms);
    check.min_offset_ms = s.min;
    check.max_offset_ms = s.max;
    Some(check)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::TimeSource;

    use crate::events::testing::{at_ms as ev, kill, observed as snap};

    fn analyze(events: Vec<Event>) -> RunResult {
        crate::analysis::analyze(&events)
    }

    #[test]
    fn failover_is_fault_to_a_new_live_leader_and_the_stale_leader_does_not_count() {
        let r = analyze(vec![
            ev(0, snap(Some(1), 0, &[1, 2, 3], 1)),
            kill(1000, 1),
            // ZooKeeper mode: the dead leader stays in the metadata until its session expires.
            ev(5000, snap(Some(1), 0, &[1, 2, 3], 1)),
            ev(7100, snap(Some(2), 1, &[2, 3], 2)),
            ev(
                9000,
                EventKind::FaultReverted {
                    id: "k".into(),
                    kind: crate::events::FaultKind::Kill,
                    resolved: vec![],
                    source: TimeSource::DockerEvent,
                },
            ),
            ev(12000, snap(Some(2), 1, &[1, 2, 3], 2)),
            ev(15000, snap(Some(1), 2, &[1, 2, 3], 2)),
        ]);
        let p = &r.partitions[0];
        assert_eq!(p.failover_ms, Some(6100.0));
        assert_eq!(r.failover.metadata_ms.max, Some(6100.0));
        assert_eq!(r.controller_failover_ms, Some(6100.0));
        assert_eq!(p.isr_changes.len(), 2);
        assert_eq!(p.isr_changes[0].since_fault_ms, Some(6100.0));
        assert_eq!(p.isr_changes[1].since_heal_ms, Some(3000.0));
        assert_eq!(p.under_replicated_ms, 12000.0 - 7100.0);
        assert_eq!(p.preferred_restored_ms, Some(6000.0));
        assert_eq!(p.offline_ms, 0.0);
        assert_eq!(p.leader_changes.len(), 2);
    }

    #[test]
    fn a_leader_change_after_a_second_fault_on_the_leader_is_the_second_faults_failover() {
        // A bandwidth limit on the leader (no failover), then a stop of it (controlled
        // shutdown: leadership moves 200 ms later).
        let r = analyze(vec![
            ev(0, snap(Some(1), 0, &[1, 2, 3], 1)),
            kill(1000, 1),
            ev(3000, snap(Some(1), 0, &[1, 2, 3], 1)),
            kill(5000, 1),
            ev(5200, snap(Some(2), 1, &[2, 3], 2)),
        ]);
        let p = &r.partitions[0];
        assert_eq!(p.failover_ms, Some(200.0), "{p:?}");
        assert_eq!(r.failover.metadata_ms.max, Some(200.0));
    }

    #[test]
    fn a_blind_observer_is_unknown_time_never_offline_and_widens_the_error_bar() {
        let r = analyze(vec![
            ev(0, snap(Some(1), 0, &[1, 2], 1)),
            kill(1000, 1),
            ev(
                1500,
                EventKind::ObserverError {
                    error: "no broker answered".into(),
                    last_view_us: Some(1_400_000),
                },
            ),
            ev(9000, snap(Some(2), 1, &[2], 2)),
            ev(11000, snap(Some(2), 1, &[1, 2], 2)),
        ]);
        let p = &r.partitions[0];
        assert!(p.offline_intervals.is_empty(), "{p:?}");
        assert_eq!(p.offline_ms, 0.0);
        assert_eq!(r.unobserved.len(), 1);
        assert_eq!(
            (r.unobserved[0].from_ms, r.unobserved[0].to_ms),
            (1400.0, Some(9000.0))
        );
        assert_eq!(p.failover_ms, Some(8000.0));
        // The new leader was first seen 7.6 s after the last view: that is the error bar.
        assert_eq!(p.failover_error_ms, Some(7600.0));
        // Unavailable from the kill (the leader was held down) to the new leader.
        assert_eq!(p.unavailable_ms, 8000.0);
    }

    #[test]
    fn the_new_leaders_log_line_gives_the_failover_to_the_millisecond() {
        let log = |at_ms: u64, epoch: i32| {
            ev(
                at_ms,
                EventKind::KafkaLog {
                    service: "kafka-2".into(),
                    logged_wall_ms: 0,
                    line: format!("[2026-11-27T11:24:20,068] INFO [Broker id=2] Leader orders-0 with topic id Some(x) starts at leader epoch {epoch} from offset 1 (state.change.logger)"),
                },
            )
        };
        let r = analyze(vec![
            ev(0, snap(Some(1), 0, &[1, 2], 1)),
            kill(1000, 1),
            log(6_937, 1),
            ev(7000, snap(Some(2), 1, &[2], 2)),
        ]);
        let p = &r.partitions[0];
        assert_eq!(p.failover_ms, Some(6000.0));
        assert_eq!(p.failover_log_ms, Some(5937.0));
        assert_eq!(r.failover.log_ms.max, Some(5937.0));
    }

    #[test]
    fn a_killed_leader_started_again_before_the_failover_is_still_unusable_until_the_election() {
        let heal = |at_ms: u64| {
            ev(
                at_ms,
                EventKind::FaultReverted {
                    id: "k".into(),
                    kind: crate::events::FaultKind::Kill,
                    resolved: vec![],
                    source: TimeSource::DockerEvent,
                },
            )
        };
        let r = analyze(vec![
            ev(0, snap(Some(1), 0, &[1, 2], 1)),
            kill(1000, 1),
            // Started again at 3.5 s while still listed as leader (epoch 0): not serving.
            heal(3500),
            ev(7000, snap(Some(2), 1, &[2], 2)),
        ]);
        assert_eq!(r.partitions[0].unavailable_ms, 6000.0);
    }

    #[test]
    fn offline_spans_and_elections() {
        let r = analyze(vec![
            ev(0, snap(Some(1), 0, &[1], 1)),
            kill(1000, 1),
            ev(9000, snap(None, 1, &[1], 2)),
            ev(11000, snap(Some(2), 2, &[2], 2)),
        ]);
        let p = &r.partitions[0];
        assert_eq!(p.offline_intervals.len(), 1);
        assert_eq!(p.offline_ms, 2000.0);
        assert_eq!(r.failover.election_ms.max, Some(2000.0));
        assert_eq!(r.offline.partitions, 1);
        // Kafka calls it offline for 2 s; clients had no leader from the kill: 10 s.
        assert_eq!(p.unavailable_ms, 10000.0);
    }

    fn gap(from_ms: u64, to_ms: u64, open: bool) -> Event {
        ev(
            to_ms,
            EventKind::AckGap(crate::events::AckGap {
                topic: "orders".into(),
                partition: 0,
                from_us: from_ms * 1000,
                to_us: to_ms * 1000,
                open,
            }),
        )
    }

    fn done(at_ms: u64) -> Event {
        ev(
            at_ms,
            EventKind::WorkloadDone(crate::events::WorkloadSummary::default()),
        )
    }

    #[test]
    fn recovery_is_back_online_to_the_first_ack_and_an_open_gap_did_not_resume() {
        let events = |g: Event| {
            vec![
                ev(0, snap(Some(1), 0, &[1, 2], 1)),
                kill(1000, 1),
                ev(7000, snap(Some(2), 1, &[2], 2)),
                g,
                done(20000),
            ]
        };
        let r = analyze(events(gap(990, 7450, false)));
        let p = &r.partitions[0];
        assert_eq!(p.recovery_ms, Some(450.0));
        assert_eq!(p.resumed, Some(true));
        assert!(r.workload.is_none() || r.workload.as_ref().unwrap().resumed);
        let r = analyze(events(gap(990, 19000, true)));
        let p = &r.partitions[0];
        assert_eq!(p.resumed, Some(false));
        assert_eq!(
            p.recovery_ms,
            Some(13000.0),
            "a lower bound: online → the stop"
        );
    }

    #[test]
    fn a_node_cut_off_from_every_client_holds_its_leader_unusable_until_the_new_one() {
        let cut = |unreachable: bool| {
            ev(
                1000,
                EventKind::FaultInjected {
                    id: "cut".into(),
                    kind: crate::events::FaultKind::NodePartition,
                    target: "t".into(),
                    resolved: vec![],
                    broker_ids: vec![1],
                    source: TimeSource::ApiResponse,
                    unreachable,
                },
            )
        };
        let events = |unreachable: bool| {
            vec![
                ev(0, snap(Some(1), 0, &[1, 2], 1)),
                cut(unreachable),
                // The cut-off leader stays listed until the controller fences it.
                ev(10_000, snap(Some(2), 1, &[2], 2)),
                gap(990, 40_000, false),
                done(60_000),
            ]
        };
        let cut_off = analyze(events(true));
        let p = &cut_off.partitions[0];
        assert_eq!(p.unavailable_ms, 9000.0);
        // The client's own recovery: its requests to the old leader time out first.
        assert_eq!(p.recovery_ms, Some(30_000.0));
        // Cut from its peers only, a leader may still serve clients on its side: no claim.
        let peers_only = analyze(events(false));
        assert_eq!(peers_only.partitions[0].unavailable_ms, 0.0);
        assert_eq!(peers_only.partitions[0].recovery_ms, None);
    }

    #[test]
    fn out_of_order_events_are_sorted_and_an_open_offline_span_runs_to_the_end() {
        let r = analyze(vec![
            ev(3000, snap(None, 1, &[1], 1)),
            ev(0, snap(Some(1), 0, &[1], 1)),
            ev(
                5000,
                EventKind::Phase {
                    name: crate::events::RunPhase::Drain,
                },
            ),
        ]);
        assert_eq!(r.partitions[0].offline_intervals[0].to_ms, None);
        assert_eq!(r.partitions[0].offline_ms, 2000.0);
        assert!(r.partial, "no run-finished: partial");
        assert!(!r.errors.is_empty(), "no run-started is reported");
    }
}
