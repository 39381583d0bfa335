//! Forwards Docker's container events into the run's event stream (on the run clock) and
//! lets a fault wait for the event that marks its moment (e.g. the `kill` of SIGKILL).

use super::events::ContainerEvent;
use super::labels::ContainerRole;
use super::DockerError;
use crate::clock::EventSink;
use crate::events::{ContainerAction, EventKind};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch, Notify};

#[derive(Clone)]
pub struct DockerEventLog {
    seen: Arc<Mutex<Vec<ContainerEvent>>>,
    notify: Arc<Notify>,
    /// Turns true when the daemon closes the events stream (e.g. dockerd stopped).
    ended: watch::Receiver<bool>,
}

impl DockerEventLog {
    pub fn start(mut rx: mpsc::UnboundedReceiver<ContainerEvent>, sink: EventSink) -> Self {
        let (ended_tx, ended) = watch::channel(false);
        let log = Self {
            seen: Arc::new(Mutex::new(Vec::new())),
            notify: Arc::new(Notify::new()),
            ended,
        };
        let forward = log.clone();
        tokio::spawn(async move {
            while let Some(event) = rx.recv().await {
                // Every tracked action has a place on the timeline.
                if let (Some(ContainerRole::Service), Some(action)) = (event.role, event.action) {
                    let at = sink.clock().at_us_of_wall_ns(event.time_nano);
                    sink.emit_at(
                        at,
                        EventKind::Container {
                            service: event.service.clone().unwrap_or_default(),
                            action,
                        },
                    );
                }
                {
                    let mut seen = forward.seen.lock().unwrap_or_else(|e| e.into_inner());
                    seen.push(event);
                    if seen.len() > 10_000 {
                        seen.drain(..5_000);
                    }
                }
                forward.notify.notify_waiters();
            }
            let _ = ended_tx.send(true);
        });
        log
    }

    /// Resolves when the Docker daemon is gone: its events stream ended and a ping fails.
    /// An event-driven watchdog (no polling while the daemon is there). If the stream ends
    /// but the daemon still answers, this never resolves.
    pub async fn daemon_lost(&self, engines: &crate::docker::engines::Engines) -> DockerError {
        let mut ended = self.ended.clone();
        if ended.wait_for(|e| *e).await.is_err() {
            return std::future::pending().await;
        }
        for docker in engines.all() {
            match tokio::time::timeout(Duration::from_secs(5), docker.ping()).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => return DockerError::Lost(e.to_string()),
                Err(_) => return DockerError::Lost("no answer to a ping within 5 s".into()),
            }
        }
        std::future::pending().await
    }

    /// The first event on `container_id` with one of `actions` at or after `since_ns`,
    /// waiting up to `timeout` for it.
    pub async fn wait_for(
        &self,
        container_id: &str,
        actions: &[ContainerAction],
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
                        && e.action.is_some_and(|a| actions.contains(&a))
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
