//! What runs beside the steps: the supervisor that restarts a broker Kafka itself let exit,
//! the workload's ticks, and Kafka's own leadership log at the end (the fresh-client probes
//! are `run::prober`).

use super::context::RunContext;
use super::workload::Producer;
use crate::clock::EventSink;
use crate::events::EventKind;
use crate::platform::{ClusterPlatform, ContainerState, FaultPlatform, Lifecycle};
use std::time::Duration;
// Tokio's instant: the restart back-off follows paused time in the session's tests.
use tokio::time::Instant;

/// Starts again a service that exited although no fault keeps it down — e.g. a ZooKeeper-mode
/// broker restarted before its old session expired exits with NodeExistsException on
/// /brokers/ids/N. That is Kafka's behaviour, recorded as a note; the heal still has to hold.
pub(super) async fn supervise<P: ClusterPlatform + FaultPlatform>(
    platform: P,
    down_on_purpose: super::workload::DownOnPurpose,
    sink: EventSink,
) {
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_start: std::collections::HashMap<String, Instant> = Default::default();
    // What was down before the run (an attached project's one-off or stopped container) is
    // not ours to start.
    let down_before: Vec<String> = match platform.services().await {
        Ok(services) => services
            .iter()
            .filter(|s| !matches!(s.state, ContainerState::Running | ContainerState::Paused))
            .map(|s| s.name.clone())
            .collect(),
        Err(_) => Vec::new(),
    };
    loop {
        ticker.tick().await;
        // Read what is held down before looking at the containers: a heal that lands in
        // between must not look like an unexpected exit.
        let down = down_on_purpose
            .lock()
            .map(|d| d.clone())
            .unwrap_or_default();
        let Ok(services) = platform.services().await else {
            continue;
        };
        for s in &services {
            if !matches!(s.state, ContainerState::Exited | ContainerState::Dead)
                || down.contains(&s.name)
                || down_before.contains(&s.name)
            {
                continue;
            }
            if last_start
                .get(&s.name)
                .is_some_and(|t| t.elapsed() < Duration::from_secs(2))
            {
                continue;
            }
            let why = platform
                .logs_since(&s.name, 0)
                .await
                .ok()
                .and_then(|log| {
                    log.lines()
                        .rev()
                        .find(|l| l.contains("ERROR") || l.contains("Exception"))
                        .map(|l| l.chars().take(240).collect::<String>())
                })
                .unwrap_or_else(|| "no error in its log".into());
            last_start.insert(s.name.clone(), Instant::now());
            let message = match platform.act(Lifecycle::Start, &s.name).await {
                Ok(()) => format!(
                    "{} exited although no fault holds it down ({why}); started it again",
                    s.name
                ),
                Err(e) => format!(
                    "{} exited although no fault holds it down ({why}); starting it again failed: {e}",
                    s.name
                ),
            };
            sink.emit(EventKind::Note { message });
        }
    }
}

/// Kafka's own record of every leadership change during the run (the new leader's log line),
/// to cross-check the observer's times.
pub(super) async fn record_kafka_leadership_log(
    ctx: &RunContext<'_>,
    platform: &impl ClusterPlatform,
    topics: &[String],
) {
    let since_s = ctx.sink.clock().wall_ms_at(0) / 1000;
    for (service, _) in ctx.cluster.brokers() {
        let Ok(log) = platform.logs_since(&service.name, since_s).await else {
            continue;
        };
        // A broker on another node logs on that node's clock: brought to ours.
        let offset_ms = ctx
            .cluster
            .node_of(service)
            .map_or(0, |n| n.clock_offset_ns / 1_000_000);
        for entry in crate::analysis::kafka_log::leadership_lines(&log) {
            if topics.contains(&entry.topic) {
                let at = ctx
                    .sink
                    .clock()
                    .at_us_of_wall_ms((entry.logged_wall_ms - offset_ms).max(0));
                ctx.sink.emit_at(
                    at,
                    EventKind::KafkaLog {
                        service: service.name.clone(),
                        logged_wall_ms: entry.logged_wall_ms,
                        line: entry.line,
                    },
                );
            }
        }
    }
}

/// The workload's progress once a second, for ever (it runs beside a phase); without a
/// workload, never anything.
pub(super) async fn tick_workload(
    producer: Option<&dyn Producer>,
    group: Option<&dyn super::workload::Group>,
    sink: &EventSink,
) {
    let Some(producer) = producer else {
        return std::future::pending().await;
    };
    let mut interval = tokio::time::interval(Duration::from_secs(1));
    interval.tick().await;
    loop {
        interval.tick().await;
        sink.emit(producer.tick());
        if let Some(g) = group {
            sink.emit(g.tick());
        }
    }
}
