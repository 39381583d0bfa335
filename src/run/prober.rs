//! The fresh-client prober: when a partition becomes usable again, one write by a new
//! client — is a slow recovery the cluster's or the long-lived client's?

use crate::clock::EventSink;
use crate::events::{BrokerId, ClusterSnapshot, EventKind};
use std::time::Duration;
use tokio::sync::watch;

/// Watches the observed view; when a partition of `topic` becomes usable again (a leader in
/// the metadata that no fault holds down), a fresh producer writes one message to it.
pub(super) async fn probe_recoveries(
    mut view: watch::Receiver<ClusterSnapshot>,
    down: super::workload::DownOnPurpose,
    brokers: Vec<(String, BrokerId)>,
    topic: String,
    options: std::sync::Arc<crate::kafka::probe::ProbeOptions>,
    sink: EventSink,
) {
    let mut usable: std::collections::HashMap<i32, bool> = Default::default();
    let mut dead = super::conditions::DeadLeaderships::default();
    let mut probes = tokio::task::JoinSet::new();
    // A fault holds a leader down before the metadata changes (a killed ZooKeeper-mode
    // leader stays listed for seconds): look again every 100 ms, not only on changes.
    let mut recheck = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            changed = view.changed() => if changed.is_err() { break },
            _ = recheck.tick() => {}
        }
        let snapshot = view.borrow_and_update().clone();
        // A blind observer's empty view says nothing about usability.
        if snapshot.partitions.is_empty() {
            continue;
        }
        let held: Vec<BrokerId> = {
            let d = down.lock().unwrap_or_else(|e| e.into_inner());
            brokers
                .iter()
                .filter(|(name, _)| d.contains(name))
                .map(|(_, id)| *id)
                .collect()
        };
        dead.note(&snapshot, &held);
        for p in snapshot.partitions.iter().filter(|p| p.topic == topic) {
            let now_usable = dead.usable(p, &held);
            if usable.insert(p.partition, now_usable) == Some(false) && now_usable {
                let became_usable_us = sink.clock().now_us();
                let (options, topic, sink, partition) =
                    (options.clone(), topic.clone(), sink.clone(), p.partition);
                probes.spawn(async move {
                    let result = crate::kafka::probe::probe_once(&options, &topic, partition).await;
                    sink.emit(EventKind::Probe {
                        topic,
                        partition,
                        became_usable_us,
                        acked: result.is_ok(),
                        error: result.err().map(|e| e.to_string()),
                    });
                });
            }
        }
    }
}
