//! The observer: every broker is asked for its metadata each period by a task of its own (a
//! frozen or dead broker only silences its own task); the freshest answers are merged
//! (`metadata::merge`) and every change becomes an `Observed` event. The latest view is
//! published on a watch channel for wait-for conditions and target resolution.

use crate::clock::EventSink;
use crate::events::{BrokerId, ClusterSnapshot, EventKind};
use crate::kafka::connect::Profile;
use crate::kafka::metadata::{self, BrokerView};
use crate::kafka::wire::Connection;
use crate::kafka::KafkaError;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
// Tokio's instant: the observer's freshness follows paused time in the session's tests.
use tokio::time::Instant;

/// Where the observer's answers come from: each broker asked on a connection of its own.
/// Kafka's protocol ([`WireMetadata`]) is the real source; the session's tests script one.
pub trait MetadataSource: Send + Sync + 'static {
    type Conn: BrokerConnection;
    /// A connection to the broker at `addr` (None while it refuses or does not answer).
    fn connect(&self, addr: &str) -> impl Future<Output = Option<Self::Conn>> + Send;
}

/// One broker's answers on one connection.
pub trait BrokerConnection: Send + 'static {
    /// Its Metadata answer: controller, registered brokers, partitions.
    fn view(
        &mut self,
        timeout: Duration,
    ) -> impl Future<Output = Result<BrokerView, KafkaError>> + Send;
    /// KRaft: the quorum leader and its epoch as this broker knows them.
    fn quorum_leader(
        &mut self,
        timeout: Duration,
    ) -> impl Future<Output = Result<Option<(BrokerId, i32)>, KafkaError>> + Send;
}

/// The brokers asked over Kafka's protocol, connected as the run's clients are.
pub struct WireMetadata(pub Profile);

impl MetadataSource for WireMetadata {
    type Conn = Connection;
    async fn connect(&self, addr: &str) -> Option<Connection> {
        Connection::connect(addr, Duration::from_secs(1), &self.0)
            .await
            .ok()
    }
}

impl BrokerConnection for Connection {
    async fn view(&mut self, timeout: Duration) -> Result<BrokerView, KafkaError> {
        metadata::fetch_view(self, timeout).await
    }
    async fn quorum_leader(
        &mut self,
        timeout: Duration,
    ) -> Result<Option<(BrokerId, i32)>, KafkaError> {
        metadata::fetch_quorum_leader(self, timeout).await
    }
}

pub struct ObserverOptions {
    pub endpoints: Vec<(BrokerId, String)>,
    pub kraft: bool,
    pub period: Duration,
    /// The poll period during a burst (after a fault or a heal).
    pub fast_period: Duration,
    /// Only these topics are reported.
    pub topics: Vec<String>,
}

#[derive(Default)]
struct State {
    views: HashMap<BrokerId, (Instant, BrokerView)>,
    quorum: HashMap<BrokerId, (Instant, (BrokerId, i32))>,
    last: Option<ClusterSnapshot>,
    /// The last time any broker answered (run clock, µs).
    last_view_us: Option<u64>,
    blind_since: Option<Instant>,
    reported_blind: bool,
}

/// Until when the observer polls at its fast period (None: not now).
#[derive(Clone, Default)]
struct Burst(Arc<Mutex<Option<Instant>>>);

impl Burst {
    fn period(&self, options: &ObserverOptions) -> Duration {
        let fast = self
            .0
            .lock()
            .map(|until| until.is_some_and(|u| Instant::now() < u))
            .unwrap_or(false);
        if fast {
            options.fast_period.min(options.period)
        } else {
            options.period
        }
    }
}

pub struct Observer {
    tasks: Vec<JoinHandle<()>>,
    burst: Burst,
    view: watch::Receiver<ClusterSnapshot>,
    answering: watch::Receiver<Vec<BrokerId>>,
}

impl Observer {
    pub fn start(options: ObserverOptions, source: impl MetadataSource, sink: EventSink) -> Self {
        let (tx, view) = watch::channel(ClusterSnapshot::default());
        let (answering_tx, answering) = watch::channel(Vec::new());
        let state = Arc::new(Mutex::new(State::default()));
        let tx = Arc::new((tx, answering_tx));
        let options = Arc::new(options);
        let source = Arc::new(source);
        let burst = Burst::default();
        let mut tasks = Vec::new();
        for (id, addr) in options.endpoints.clone() {
            let poller = Poller {
                id,
                addr,
                source: source.clone(),
                options: options.clone(),
                state: state.clone(),
                tx: tx.clone(),
                sink: sink.clone(),
                burst: burst.clone(),
            };
            tasks.push(tokio::spawn(poll_broker(poller)));
        }
        Self {
            tasks,
            burst,
            view,
            answering,
        }
    }

    /// Polls at the fast period for `duration` from now (after a fault or a heal, when
    /// leadership moves): finer times where they matter, without the cost all run long.
    pub fn burst(&self, duration: Duration) {
        if let Ok(mut until) = self.burst.0.lock() {
            let end = Instant::now() + duration;
            *until = Some(until.map_or(end, |u| u.max(end)));
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
        drop(self)
    }
}

/// An observer dropped on an early return (a set-up that failed or was interrupted) stops
/// polling: its tasks would otherwise go on for the rest of the process.
impl Drop for Observer {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// What one broker's poll task holds.
struct Poller<S> {
    id: BrokerId,
    addr: String,
    source: Arc<S>,
    options: Arc<ObserverOptions>,
    state: Arc<Mutex<State>>,
    tx: Arc<(watch::Sender<ClusterSnapshot>, watch::Sender<Vec<BrokerId>>)>,
    sink: EventSink,
    burst: Burst,
}

async fn poll_broker<S: MetadataSource>(p: Poller<S>) {
    // KRaft's active controller comes from DescribeQuorum, which stalls while the quorum
    // elects: it runs on a connection and task of its own, so it never delays Metadata.
    let quorum_task = p.options.kraft.then(|| {
        let (id, addr, source, options, state) = (
            p.id,
            p.addr.clone(),
            p.source.clone(),
            p.options.clone(),
            p.state.clone(),
        );
        tokio::spawn(async move { poll_quorum(id, addr, source, options, state).await })
    });
    let _stop_quorum = AbortOnDrop(quorum_task);
    let request_timeout = Duration::from_secs(2);
    let mut conn: Option<S::Conn> = None;
    let mut previous_answer_us: Option<u64> = None;
    let mut next = Instant::now();
    loop {
        // The next poll one period after the last began (the fast one during a burst); a slow
        // poll delays the next instead of bursting to catch up.
        tokio::time::sleep_until(next).await;
        next = Instant::now().max(next) + p.burst.period(&p.options);
        let Some(c) = connected(&mut conn, &p.addr, &*p.source).await else {
            publish(&p.state, &p.tx, &p.sink, &p.options, None);
            continue;
        };
        match c.view(request_timeout).await {
            Ok(mut view) => {
                let received = Instant::now();
                let received_us = p.sink.clock().now_us();
                view.partitions
                    .retain(|part| p.options.topics.contains(&part.topic));
                if let Ok(mut s) = p.state.lock() {
                    s.views.insert(p.id, (received, view));
                }
                publish(&p.state, &p.tx, &p.sink, &p.options, previous_answer_us);
                previous_answer_us = Some(received_us);
            }
            // A timed-out request may still be answered later: never read that answer as the
            // next request's (a fresh connection next time).
            Err(_) => {
                conn = None;
                publish(&p.state, &p.tx, &p.sink, &p.options, None);
            }
        }
    }
}

/// A poll every `period`; a slow poll delays the next instead of bursting to catch up.
fn poll_ticker(period: Duration) -> tokio::time::Interval {
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker
}

/// The connection, opened again if the last one failed (None while the broker refuses).
async fn connected<'a, S: MetadataSource>(
    conn: &'a mut Option<S::Conn>,
    addr: &str,
    source: &S,
) -> Option<&'a mut S::Conn> {
    if conn.is_none() {
        *conn = source.connect(addr).await;
    }
    conn.as_mut()
}

struct AbortOnDrop(Option<JoinHandle<()>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(t) = &self.0 {
            t.abort();
        }
    }
}

/// KRaft: the quorum leader as this broker knows it, on its own connection.
async fn poll_quorum<S: MetadataSource>(
    id: BrokerId,
    addr: String,
    source: Arc<S>,
    options: Arc<ObserverOptions>,
    state: Arc<Mutex<State>>,
) {
    let mut ticker = poll_ticker(options.period);
    let mut conn: Option<S::Conn> = None;
    loop {
        ticker.tick().await;
        let Some(c) = connected(&mut conn, &addr, &*source).await else {
            continue;
        };
        match c.quorum_leader(Duration::from_secs(2)).await {
            Ok(Some(q)) => {
                if let Ok(mut s) = state.lock() {
                    s.quorum.insert(id, (Instant::now(), q));
                }
            }
            Ok(None) => {}
            Err(_) => conn = None,
        }
    }
}

/// Merges the fresh answers and emits an event when the merged view changed.
fn publish(
    state: &Mutex<State>,
    tx: &(watch::Sender<ClusterSnapshot>, watch::Sender<Vec<BrokerId>>),
    sink: &EventSink,
    options: &ObserverOptions,
    previous_answer_us: Option<u64>,
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
                last_view_us: s.last_view_us,
            });
            // Nothing is known now: conditions must not be judged on the last, stale view.
            s.last = Some(ClusterSnapshot::default());
            tx.0.send_replace(ClusterSnapshot::default());
        }
        return;
    }
    s.blind_since = None;
    s.reported_blind = false;
    let now_us = sink.clock().now_us();
    // The change (if any) happened after this broker's previous answer, or after the last
    // view at all when the observer had been blind.
    let previous_view_us = match (previous_answer_us, s.last_view_us) {
        (Some(p), _) => Some(p),
        (None, last) => last,
    };
    s.last_view_us = Some(now_us);
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
            previous_view_us,
        });
        tx.0.send_replace(merged);
    }
}
