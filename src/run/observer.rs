//! The observer: every broker is asked for its metadata each period by a task of its own (a
//! frozen or dead broker only silences its own task); the freshest answers are merged
//! (`metadata::merge`) and every change becomes an `Observed` event. The latest view is
//! published on a watch channel for wait-for conditions and target resolution.

use crate::clock::EventSink;
use crate::events::{BrokerId, ClusterSnapshot, EventKind};
use crate::kafka::metadata::{self, BrokerView};
use crate::kafka::wire::Connection;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub struct ObserverOptions {
    pub endpoints: Vec<(BrokerId, String)>,
    pub kraft: bool,
    pub period: Duration,
    /// Only these topics are reported.
    pub topics: Vec<String>,
}

#[derive(Default)]
struct State {
    views: HashMap<BrokerId, (Instant, BrokerView)>,
    quorum: HashMap<BrokerId, (Instant, (BrokerId, i32))>,
    last: Option<ClusterSnapshot>,
    blind_since: Option<Instant>,
    reported_blind: bool,
}

pub struct Observer {
    tasks: Vec<JoinHandle<()>>,
    view: watch::Receiver<ClusterSnapshot>,
    answering: watch::Receiver<Vec<BrokerId>>,
}

impl Observer {
    pub fn start(options: ObserverOptions, sink: EventSink) -> Self {
        let (tx, view) = watch::channel(ClusterSnapshot::default());
        let (answering_tx, answering) = watch::channel(Vec::new());
        let state = Arc::new(Mutex::new(State::default()));
        let tx = Arc::new((tx, answering_tx));
        let options = Arc::new(options);
        let mut tasks = Vec::new();
        for (id, addr) in options.endpoints.clone() {
            let (state, tx, sink, options) =
                (state.clone(), tx.clone(), sink.clone(), options.clone());
            tasks.push(tokio::spawn(async move {
                poll_broker(id, addr, options, state, tx, sink).await
            }));
        }
        Self {
            tasks,
            view,
            answering,
        }
    }

    /// Brokers whose own metadata answer is fresh (alive and reachable right now).
    pub fn answering(&self) -> watch::Receiver<Vec<BrokerId>> {
        self.answering.clone()
    }

    pub fn view(&self) -> watch::Receiver<ClusterSnapshot> {
        self.view.clone()
    }

    pub fn current(&self) -> ClusterSnapshot {
        self.view.borrow().clone()
    }

    pub fn stop(self) {
        for t in self.tasks {
            t.abort();
        }
    }
}

async fn poll_broker(
    id: BrokerId,
    addr: String,
    options: Arc<ObserverOptions>,
    state: Arc<Mutex<State>>,
    tx: Arc<(watch::Sender<ClusterSnapshot>, watch::Sender<Vec<BrokerId>>)>,
    sink: EventSink,
) {
    let request_timeout = Duration::from_secs(2);
    let mut ticker = tokio::time::interval(options.period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut conn: Option<Connection> = None;
    loop {
        ticker.tick().await;
        if conn.is_none() {
            conn = Connection::connect(&addr, Duration::from_secs(1))
                .await
                .ok();
        }
        let Some(c) = conn.as_mut() else {
            publish(&state, &tx, &sink, &options);
            continue;
        };
        let view = metadata::fetch_view(c, request_timeout).await;
        let quorum = if options.kraft && view.is_ok() {
            metadata::fetch_quorum_leader(c, request_timeout)
                .await
                .ok()
                .flatten()
        } else {
            None
        };
        let received = Instant::now();
        match view {
            Ok(mut view) => {
                view.partitions
                    .retain(|p| options.topics.contains(&p.topic));
                if let Ok(mut s) = state.lock() {
                    s.views.insert(id, (received, view));
                    if let Some(q) = quorum {
                        s.quorum.insert(id, (received, q));
                    }
                }
            }
            Err(_) => conn = None,
        }
        publish(&state, &tx, &sink, &options);
    }
}

/// Merges the fresh answers and emits an event when the merged view changed.
fn publish(
    state: &Mutex<State>,
    tx: &(watch::Sender<ClusterSnapshot>, watch::Sender<Vec<BrokerId>>),
    sink: &EventSink,
    options: &ObserverOptions,
) {
    let Ok(mut s) = state.lock() else { return };
    let now = Instant::now();
    // An answer older than this no longer speaks for its broker (frozen, dead, cut off).
    let fresh = (options.period * 5).max(Duration::from_secs(1));
    s.views
        .retain(|_, (at, _)| now.duration_since(*at) <= fresh);
    s.quorum
        .retain(|_, (at, _)| now.duration_since(*at) <= fresh);
    let mut answering: Vec<BrokerId> = s.views.keys().copied().collect();
    answering.sort_unstable();
    tx.1.send_if_modified(|a| {
        let changed = *a != answering;
        *a = answering.clone();
        changed
    });
    if s.views.is_empty() {
        let since = *s.blind_since.get_or_insert(now);
        if !s.reported_blind && now.duration_since(since) >= fresh {
            s.reported_blind = true;
            sink.emit(EventKind::ObserverError {
                error: "no broker answered metadata requests".into(),
            });
            // Nothing is known now: conditions must not be judged on the last, stale view.
            s.last = Some(ClusterSnapshot::default());
            tx.0.send_replace(ClusterSnapshot::default());
        }
        return;
    }
    s.blind_since = None;
    s.reported_blind = false;
    let mut views: Vec<(BrokerId, BrokerView)> = s
        .views
        .iter()
        .map(|(id, (_, v))| (*id, v.clone()))
        .collect();
    views.sort_by_key(|(id, _)| *id);
    let quorum_leader = s
        .quorum
        .values()
        .map(|(_, q)| *q)
        .max_by_key(|(_, epoch)| *epoch)
        .map(|(leader, _)| leader);
    let merged = metadata::merge(&views, quorum_leader);
    if s.last.as_ref() != Some(&merged) {
        s.last = Some(merged.clone());
        sink.emit(EventKind::Observed {
            snapshot: merged.clone(),
        });
        tx.0.send_replace(merged);
    }
}
