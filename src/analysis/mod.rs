//! Pure analysis of a run's events into a `RunResult`: failover, controller failover, ISR
//! timeline, offline and under-replicated intervals, preferred-leader restoration, client
//! view, verification, and the cross-check against Kafka's own log. Events may come out of
//! order (Docker events are stamped by the daemon); they are sorted by time first.

pub mod group;
pub mod kafka_log;
mod partitions;
pub mod stats;
mod status;
pub mod transactions;
pub mod verify;
mod workload;

pub use status::conclude;

use crate::events::{ConditionCheck, Event, EventKind, RunOutcome};
use crate::model::{
    ClusterInfo, ConditionResult, FailoverSummary, FaultResult, OfflineSummary, RunResult, Status,
};

pub(crate) fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// The spans in which the observer saw nothing (run clock, µs; open when it never saw again):
/// the state of the cluster is unknown there, not offline. `events` sorted by time.
pub fn blind_spans(events: &[&Event]) -> Vec<(u64, Option<u64>)> {
    partitions::Timeline::build(events).blind
}

pub fn analyze(events: &[Event]) -> RunResult {
    let mut sorted: Vec<&Event> = events.iter().collect();
    sorted.sort_by_key(|e| e.at_us);
    let mut result = empty_result();
    let mut bounds = Bounds::default();
    for e in &sorted {
        record_event(&mut result, e, &mut bounds);
    }
    if !bounds.started {
        result
            .errors
            .push("no run-started event: the run's settings are unknown".into());
    }
    // Broker log lines may be stamped before the run started: the run's own events bound it.
    let start = bounds.started_at.or(sorted.first().map(|e| e.at_us));
    let end = bounds.finished_at.or(sorted.last().map(|e| e.at_us));
    result.duration_ms = start.zip(end).map(|(s, e)| ms(e.saturating_sub(s)));
    result.failover.resolution_ms = result.error_bar_ms;
    let timeline = partitions::Timeline::build(&sorted);
    partitions::fill(&mut result, &timeline, &sorted);
    result.workload = workload::summarize(&sorted, &mut result.errors);
    result.consumer = workload::summarize_consumer(&sorted, &mut result.errors);
    result.group = workload::summarize_group(&sorted);
    result.unobserved = timeline
        .blind
        .iter()
        .map(|(from, to)| crate::model::Interval {
            from_ms: ms(*from),
            to_ms: to.map(ms),
        })
        .collect();
    workload_totals(&mut result);
    conclude(&mut result);
    result
}

/// A result that says nothing yet (unknown, partial, inconclusive) until events say more.
fn empty_result() -> RunResult {
    RunResult {
        status: Status::Inconclusive,
        experiment: "unknown".into(),
        description: String::new(),
        variant: None,
        partial: true,
        cluster: ClusterInfo {
            name: "unknown".into(),
            mode: None,
            kafka_version: "unknown".into(),
            reused: false,
            attached_project: None,
            kubernetes: None,
            settings: vec![],
            topic_settings: vec![],
            nodes: vec![],
        },
        duration_ms: None,
        error_bar_ms: 0.0,
        faults: vec![],
        partitions: vec![],
        failover: FailoverSummary::default(),
        controller_failover_ms: None,
        offline: OfflineSummary::default(),
        unobserved: vec![],
        workload: None,
        consumer: None,
        verification: None,
        group: None,
        transactions: None,
        expectations: vec![],
        conditions: vec![],
        log_check: None,
        notes: vec![],
        errors: vec![],
    }
}

/// When the run started and finished, as its own events say.
#[derive(Default)]
struct Bounds {
    started: bool,
    started_at: Option<u64>,
    finished_at: Option<u64>,
}

// Long: one arm per event kind that carries run-level facts
/// The run-level facts of one event: settings, faults, conditions, notes, errors, the end.
fn record_event(result: &mut RunResult, e: &Event, bounds: &mut Bounds) {
    match &e.kind {
        EventKind::RunStarted {
            experiment,
            description,
            variant,
            cluster_name,
            cluster_mode,
            kafka_version,
            observer_period_us,
            settings,
            reused_cluster,
            attached_project,
            kubernetes,
            nodes,
            ..
        } => {
            bounds.started = true;
            bounds.started_at.get_or_insert(e.at_us);
            result.experiment = experiment.clone();
            result.description = description.clone();
            result.variant = variant.clone();
            result.cluster = ClusterInfo {
                name: cluster_name.clone(),
                mode: Some(*cluster_mode),
                kafka_version: kafka_version.clone(),
                reused: *reused_cluster,
                attached_project: attached_project.clone(),
                kubernetes: kubernetes.clone(),
                settings: settings.clone(),
                topic_settings: std::mem::take(&mut result.cluster.topic_settings),
                nodes: nodes.clone(),
            };
            // A fault's time comes from its host's events, a failover's end from the
            // observer: across hosts, the clock estimate's error adds to the poll's.
            let clock_error_us = nodes
                .iter()
                .map(|n| n.clock_error_us.max(0))
                .max()
                .unwrap_or(0);
            result.error_bar_ms = ms(*observer_period_us) + ms(clock_error_us as u64);
        }
        EventKind::FaultInjected {
            id,
            kind,
            target,
            resolved,
            ..
        } => result.faults.push(FaultResult {
            id: id.clone(),
            kind: *kind,
            target: target.clone(),
            resolved: resolved.clone(),
            at_ms: ms(e.at_us),
            healed_at_ms: None,
        }),
        EventKind::FaultReverted { id, .. } => {
            if let Some(f) = result
                .faults
                .iter_mut()
                .rev()
                .find(|f| &f.id == id && f.healed_at_ms.is_none())
            {
                f.healed_at_ms = Some(ms(e.at_us));
            }
        }
        EventKind::Condition {
            step,
            condition,
            met,
            check,
            on_timeout,
        } => result.conditions.push(ConditionResult {
            step: step.clone(),
            condition: condition.clone(),
            check: *check,
            met: *met,
            at_ms: ms(e.at_us),
            on_timeout: (!*met && *check == ConditionCheck::WaitFor)
                .then(|| on_timeout.unwrap_or_default()),
        }),
        EventKind::TopicSettings { topic, settings } => result
            .cluster
            .topic_settings
            .push((topic.clone(), settings.clone())),
        EventKind::Verified(v) => result.verification = Some(v.clone()),
        EventKind::TransactionsDone(t) => result.transactions = Some(t.clone()),
        EventKind::Error { message } => result.errors.push(message.clone()),
        EventKind::Note { message } => result.notes.push(message.clone()),
        EventKind::RunFinished { outcome } => {
            result.partial = *outcome != RunOutcome::Completed;
            bounds.finished_at = Some(e.at_us);
        }
        _ => {}
    }
}

/// The workload's totals over partitions: which never resumed, the longest ack gap.
fn workload_totals(result: &mut RunResult) {
    if let Some(w) = &mut result.workload {
        w.not_resumed = result
            .partitions
            .iter()
            .filter(|p| p.resumed == Some(false))
            .map(|p| format!("{}/{}", p.topic, p.partition))
            .collect();
        w.resumed = w.not_resumed.is_empty();
        w.max_unavailability_ms = result
            .partitions
            .iter()
            .filter_map(|p| p.unavailability_ms)
            .fold(None, |m, v| Some(m.map_or(v, |m: f64| m.max(v))));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(at_us: u64, kind: EventKind) -> Event {
        Event {
            at_us,
            wall_ms: 0,
            kind,
        }
    }

    #[test]
    fn the_duration_spans_run_started_to_run_finished() {
        let text = include_bytes!("../../tests/fixtures/events/leader-kill.jsonl");
        let events = crate::events::read_events(&text[..]).unwrap();
        // run-started at 260 809 µs, run-finished at 16 425 186 µs.
        assert_eq!(analyze(&events).duration_ms, Some(16_164.377));
    }

    #[test]
    fn without_start_or_finish_the_first_and_last_events_bound_it() {
        let note = |m: &str| EventKind::Note { message: m.into() };
        let events = [event(5_000, note("b")), event(2_000, note("a"))];
        assert_eq!(analyze(&events).duration_ms, Some(3.0));
        assert_eq!(analyze(&[]).duration_ms, None);
    }
}
