//! Forwards Docker's container events into the run's event stream (on the run clock) and
//! lets a fault wait for the event that marks its moment (e.g. the `kill` of SIGKILL).

use crate::clock::EventSink;
use crate::docker::events::ContainerEvent;
use crate::events::EventKind;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, Notify};

/// Container lifecycle actions worth a place on the timeline (exec_* and attach are noise).
const TIMELINE_ACTIONS: &[&str] = &[
    "kill", "die", "stop", "start", "restart", "pause", "unpause", "oom",
];

#[derive(Clone)]
pub struct DockerEventLog {
    seen: Arc<Mutex<Vec<ContainerEvent>>>,
    notify: Arc<Notify>,
}

impl DockerEventLog {
    pub fn start(mut rx: mpsc::UnboundedReceiver<ContainerEvent>, sink: EventSink) -> Self {
        let log = Self {
            seen: Arc::new(Mutex::new(Vec::new())),
            notify: Arc::new(Notify::new()),
        };
        let forward = log.clone();
        tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                if event.role.as_deref() == Some("service")
                    && TIMELINE_ACTIONS.contains(&event.action.as_str())
                {
                    let at = sink.clock().at_us_of_wall_ns(event.time_nano);
                    sink.emit_at(
                        at,
                        EventKind::Container {
                            service: event.service.clone().unwrap_or_default(),
                            action: event.action.clone(),
                        },
                    );
                }
                if let Ok(mut seen) = forward.seen.lock() {
                    seen.push(event);
                    if seen.len() > 10_000 {
                        seen.drain(..5_000);
                    }
                }
                forward.notify.notify_waiters();
            }
        });
        log
    }

    /// The first event on `container_id` with one of `actions` at or after `since_ns`,
    /// waiting up to `timeout` for it.
    pub async fn wait_for(
        &self,
        container_id: &str,
        actions: &[&str],
        since_ns: i64,
        timeout: Duration,
    ) -> Option<ContainerEvent> {
        let find = || {
            self.seen
                .lock()
                .ok()?
                .iter()
                .find(|e| {
                    e.container_id == container_id
                        && actions.contains(&e.action.as_str())
                        && e.time_nano >= since_ns
                })
                .cloned()
        };
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.notify.notified();
            if let Some(found) = find() {
                return Some(found);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return find();
            }
        }
    }
}

pub fn wall_now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}
