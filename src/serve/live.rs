//! The live feed: an append-only log of the current run's events, fed by the Recorder (the
//! run's one event stream), read by any number of web clients.
//!
//! Every event gets a global index (its SSE `id`). A client asks "everything from index N"
//! and is woken when the log grows; nothing is queued per client, so a client that never
//! reads costs the run nothing: its stream is only polled when its socket can take more
//! (hyper's bounded write buffer), and a push is an append under a short lock. A client that
//! reconnects with `Last-Event-ID: N` resumes at N + 1: no gap, no duplicate.

use crate::events::{ContainerAction, Event, EventKind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use tokio::sync::watch;

#[derive(Default)]
struct Inner {
    /// Global index of `events[0]`: runs of a suite follow each other, ids keep growing.
    base: usize,
    /// The current run's directory name (under the reports folder).
    run: Option<String>,
    events: Vec<Arc<Event>>,
    json: Vec<Arc<str>>,
    finished: bool,
    /// What the runner says it is doing now (e.g. "step-3: wait for leader of orders/0
    /// changed (up to 40s)"): the conditions being waited for.
    now: Option<String>,
    /// Per connected client, the next index it will be sent (for status and tests).
    clients: Vec<Weak<AtomicUsize>>,
}

/// The live log. Cheap to clone.
#[derive(Clone)]
pub struct LiveHub {
    inner: Arc<Mutex<Inner>>,
    /// The total number of events ever pushed (base + len): readers wait for it to change.
    total: watch::Sender<usize>,
}

impl Default for LiveHub {
    fn default() -> Self {
        Self::new()
    }
}

/// A batch of events for one reader.
pub struct Batch {
    /// (global index, JSON) of each event.
    pub events: Vec<(usize, Arc<str>)>,
    /// The next index to ask for.
    pub next: usize,
}

/// What the page needs to render the current run up to an index.
pub struct Snapshot {
    pub run: Option<String>,
    /// The runner's current status line.
    pub now: Option<String>,
    pub base: usize,
    pub events: Vec<Arc<Event>>,
    pub finished: bool,
}

impl crate::events::EventTap for LiveHub {
    fn begin_run(&self, run: &str) {
        LiveHub::begin_run(self, run)
    }
    fn push(&self, event: &Event) {
        LiveHub::push(self, event)
    }
}

impl LiveHub {
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Mutex::new(Inner::default())),
            total: watch::Sender::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves a consistent Vec: keep serving.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new run begins (its directory name): the previous run's events are dropped from the
    /// log (they are in its events.jsonl); indices go on.
    pub fn begin_run(&self, run: &str) {
        let total = {
            let mut inner = self.lock();
            inner.base += inner.events.len();
            inner.events.clear();
            inner.json.clear();
            inner.run = Some(run.to_string());
            inner.finished = false;
            inner.base
        };
        self.total.send_replace(total);
    }

    /// Appends an event; never blocks on readers.
    pub fn push(&self, event: &Event) {
        let json: Arc<str> = serde_json::to_string(event).unwrap_or_default().into();
        let total = {
            let mut inner = self.lock();
            if matches!(event.kind, EventKind::RunFinished { .. }) {
                inner.finished = true;
            }
            inner.events.push(Arc::new(event.clone()));
            inner.json.push(json);
            inner.base + inner.events.len()
        };
        self.total.send_replace(total);
    }

    /// Where a reader starts: after `last_id` when it resumes, else at the current run's
    /// first event. An id from an earlier run (or from another process) starts the current
    /// run from its beginning.
    pub fn start_index(&self, last_id: Option<usize>) -> usize {
        let inner = self.lock();
        let end = inner.base + inner.events.len();
        match last_id {
            Some(id) if id >= inner.base && id < end => id + 1,
            _ => inner.base,
        }
    }

    /// Up to `max` events from `from` on (clamped to the current run).
    pub fn since(&self, from: usize, max: usize) -> Batch {
        let inner = self.lock();
        let from = from.max(inner.base);
        let start = (from - inner.base).min(inner.json.len());
        let end = (start + max).min(inner.json.len());
        Batch {
            events: (start..end)
                .map(|i| (inner.base + i, inner.json[i].clone()))
                .collect(),
            next: inner.base + end,
        }
    }

    /// The current run's events up to and including index `upto` (all without it).
    pub fn snapshot(&self, upto: Option<usize>) -> Snapshot {
        let inner = self.lock();
        let len = match upto {
            Some(u) if u >= inner.base => (u - inner.base + 1).min(inner.events.len()),
            Some(_) => 0,
            None => inner.events.len(),
        };
        Snapshot {
            run: inner.run.clone(),
            now: inner.now.clone(),
            base: inner.base,
            events: inner.events[..len].to_vec(),
            finished: inner.finished && len == inner.events.len(),
        }
    }

    pub fn subscribe(&self) -> watch::Receiver<usize> {
        self.total.subscribe()
    }

    /// A position counter for one client, listed by `clients()` while the client lives.
    pub fn register_client(&self, next: usize) -> Arc<AtomicUsize> {
        let position = Arc::new(AtomicUsize::new(next));
        let mut inner = self.lock();
        inner.clients.retain(|c| c.strong_count() > 0);
        inner.clients.push(Arc::downgrade(&position));
        position
    }

    /// The next index of every connected client.
    pub fn clients(&self) -> Vec<usize> {
        let mut inner = self.lock();
        inner.clients.retain(|c| c.strong_count() > 0);
        inner
            .clients
            .iter()
            .filter_map(|c| c.upgrade().map(|p| p.load(Ordering::Relaxed)))
            .collect()
    }

    /// The runner's status line (not an event: it is not saved, only shown).
    pub fn set_now(&self, now: &str) {
        self.lock().now = Some(now.to_string());
    }

    /// (run, total events pushed, finished).
    pub fn status(&self) -> (Option<String>, usize, bool) {
        let inner = self.lock();
        (
            inner.run.clone(),
            inner.base + inner.events.len(),
            inner.finished,
        )
    }
}

/// A broker's container as the live view shows it (its CSS class and text: "up", …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrokerState {
    Up,
    Down,
    Frozen,
}

impl BrokerState {
    pub fn as_str(self) -> &'static str {
        match self {
            BrokerState::Up => "up",
            BrokerState::Down => "down",
            BrokerState::Frozen => "frozen",
        }
    }
    /// What a container action leaves it as.
    fn after(action: ContainerAction) -> Self {
        use crate::events::ProcessChange;
        match action.process_change() {
            ProcessChange::Ended => BrokerState::Down,
            ProcessChange::Frozen => BrokerState::Frozen,
            ProcessChange::Started | ProcessChange::Thawed => BrokerState::Up,
        }
    }
}

impl std::fmt::Display for BrokerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of a line in the live view's list of what happened (its CSS class).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Happening {
    Plain,
    Fault,
    Heal,
    Leader,
}

impl Happening {
    pub fn css_class(self) -> &'static str {
        match self {
            Happening::Plain => "",
            Happening::Fault => "fault",
            Happening::Heal => "heal",
            Happening::Leader => "leader",
        }
    }
}

/// What a page shows live beside the run's report: the brokers as Docker and the observer
/// see them, each partition's leader and ISR, faults in force, the last workload second,
/// and a list of what happened.
pub struct LiveView {
    /// (service, broker id, its container's state, registered in the metadata).
    pub brokers: Vec<(String, i32, BrokerState, bool)>,
    pub controller: Option<i32>,
    pub partitions: Vec<crate::events::PartitionState>,
    /// Fault label and when it was applied (ms), for faults not yet healed.
    pub faults_in_force: Vec<(String, f64)>,
    pub phase: Option<String>,
    /// Acked in the last second, its p99 (ms; `None` when nothing was acked).
    pub last_tick: Option<(u64, Option<f64>)>,
    /// (ms, its kind, text), oldest first.
    pub happenings: Vec<(f64, Happening, String)>,
    pub elapsed_ms: f64,
    pub finished: bool,
}

// Long: a renderer: the live page's sections in reading order
/// The live view of a run from its events so far (pure).
pub fn live_view(events: &[Arc<Event>]) -> LiveView {
    let mut sorted: Vec<&Event> = events.iter().map(|e| e.as_ref()).collect();
    sorted.sort_by_key(|e| e.at_us);
    let ms = |us: u64| us as f64 / 1000.0;
    let mut view = LiveView {
        brokers: Vec::new(),
        controller: None,
        partitions: Vec::new(),
        faults_in_force: Vec::new(),
        phase: None,
        last_tick: None,
        happenings: Vec::new(),
        elapsed_ms: sorted.last().map(|e| ms(e.at_us)).unwrap_or(0.0),
        finished: false,
    };
    let mut registered: Vec<i32> = Vec::new();
    let mut fault_ids: Vec<(String, String, f64)> = Vec::new();
    let mut last: Option<crate::events::ClusterSnapshot> = None;
    for e in sorted {
        let t = ms(e.at_us);
        match &e.kind {
            EventKind::RunStarted {
                brokers,
                experiment,
                ..
            } => {
                view.brokers = brokers
                    .iter()
                    .map(|(s, id)| (s.clone(), *id, BrokerState::Up, true))
                    .collect();
                view.happenings
                    .push((t, Happening::Plain, format!("run of {experiment} started")));
            }
            EventKind::Phase { name } => {
                let name = kebab(name);
                view.happenings
                    .push((t, Happening::Plain, format!("phase: {name}")));
                view.phase = Some(name);
            }
            EventKind::FaultInjected {
                id, kind, resolved, ..
            } => {
                let label = format!("{kind} {}", resolved.join(", "));
                view.happenings
                    .push((t, Happening::Fault, format!("fault {id}: {label}")));
                fault_ids.push((id.clone(), label, t));
            }
            EventKind::FaultReverted {
                id, kind, resolved, ..
            } => {
                fault_ids.retain(|(f, _, _)| f != id);
                view.happenings.push((
                    t,
                    Happening::Heal,
                    format!("healed {id}: {kind} {}", resolved.join(", ")),
                ));
            }
            EventKind::Container { service, action } => {
                if let Some(b) = view.brokers.iter_mut().find(|b| &b.0 == service) {
                    b.2 = BrokerState::after(*action);
                }
                view.happenings.push((
                    t,
                    Happening::Plain,
                    format!("container: {service} {action}"),
                ));
            }
            EventKind::Observed { snapshot, .. } => {
                if snapshot.brokers.is_empty() && snapshot.partitions.is_empty() {
                    continue;
                }
                if let Some(before) = &last {
                    if before.controller != snapshot.controller {
                        view.happenings.push((
                            t,
                            Happening::Leader,
                            format!(
                                "controller {} → {}",
                                opt_id(before.controller),
                                opt_id(snapshot.controller)
                            ),
                        ));
                    }
                    for p in &snapshot.partitions {
                        let Some(old) = before.partition(&p.topic, p.partition) else {
                            continue;
                        };
                        if old.leader != p.leader {
                            view.happenings.push((
                                t,
                                Happening::Leader,
                                format!(
                                    "{} leader {} → {} (epoch {})",
                                    p.key(),
                                    opt_id(old.leader),
                                    opt_id(p.leader),
                                    p.leader_epoch
                                ),
                            ));
                        }
                        if old.isr != p.isr {
                            view.happenings.push((
                                t,
                                Happening::Plain,
                                format!("{} ISR {:?} → {:?}", p.key(), old.isr, p.isr),
                            ));
                        }
                    }
                }
                registered = snapshot.brokers.clone();
                view.controller = snapshot.controller;
                view.partitions = snapshot.partitions.clone();
                last = Some(snapshot.clone());
            }
            EventKind::ObserverError { .. } => {
                view.happenings
                    .push((t, Happening::Fault, "observer: no broker answers".into()));
            }
            EventKind::Condition {
                step,
                condition,
                met,
                ..
            } => view.happenings.push((
                t,
                if *met {
                    Happening::Heal
                } else {
                    Happening::Fault
                },
                format!(
                    "{step}: {condition} {}",
                    if *met { "met" } else { "NOT met" }
                ),
            )),
            EventKind::WorkloadTick { acked, p99_us, .. } => {
                view.last_tick = Some((*acked, (*acked > 0).then(|| *p99_us as f64 / 1000.0)));
            }
            EventKind::AckGap(g) => view.happenings.push((
                t,
                Happening::Plain,
                format!(
                    "client gap on {}/{}: {}{}",
                    g.topic,
                    g.partition,
                    crate::report::format_duration_ms(ms(g.to_us.saturating_sub(g.from_us))),
                    if g.open { " (did not resume)" } else { "" }
                ),
            )),
            EventKind::Verified(v) => view.happenings.push((
                t,
                if v.lost_acked > 0 {
                    Happening::Fault
                } else {
                    Happening::Heal
                },
                format!(
                    "verified: {} acked, {} LOST{}, {} duplicated",
                    v.acked,
                    v.lost_acked,
                    crate::report::unverified_suffix(v),
                    v.duplicated
                ),
            )),
            EventKind::Note { message } => {
                view.happenings
                    .push((t, Happening::Plain, format!("note: {message}")))
            }
            EventKind::Error { message } => {
                view.happenings
                    .push((t, Happening::Fault, format!("error: {message}")))
            }
            EventKind::RunFinished { outcome } => {
                view.finished = true;
                view.happenings
                    .push((t, Happening::Plain, format!("run {}", kebab(outcome))));
            }
            _ => {}
        }
    }
    if last.is_some() {
        for b in &mut view.brokers {
            b.3 = registered.contains(&b.1);
        }
    }
    view.faults_in_force = fault_ids.into_iter().map(|(_, l, t)| (l, t)).collect();
    view
}

/// An enum of the event vocabulary as it reads in events.jsonl ("recovery-window").
fn kebab(value: &impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn opt_id(id: Option<i32>) -> String {
    id.map(|i| i.to_string()).unwrap_or_else(|| "none".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(at_ms: u64, kind: EventKind) -> Event {
        Event {
            at_us: at_ms * 1000,
            wall_ms: 0,
            kind,
        }
    }

    fn phase(i: u64) -> Event {
        ev(
            i,
            EventKind::Phase {
                name: crate::events::RunPhase::Steps,
            },
        )
    }

    #[test]
    fn readers_resume_after_their_last_id_without_gap_or_duplicate() {
        let hub = LiveHub::new();
        hub.begin_run("a");
        for i in 0..10 {
            hub.push(&phase(i));
        }
        assert_eq!(hub.start_index(None), 0);
        let b = hub.since(0, 4);
        assert_eq!(
            b.events.iter().map(|e| e.0).collect::<Vec<_>>(),
            [0, 1, 2, 3]
        );
        assert_eq!(hub.start_index(Some(3)), 4);
        assert_eq!(hub.since(4, 100).events.len(), 6);
        // The next run: ids go on; an id of the old run starts the new run from its start.
        hub.begin_run("b");
        hub.push(&phase(0));
        assert_eq!(hub.start_index(None), 10);
        assert_eq!(hub.start_index(Some(5)), 10);
        assert_eq!(
            hub.start_index(Some(99)),
            10,
            "an unknown id restarts the run"
        );
        assert_eq!(hub.since(0, 100).events[0].0, 10);
        let s = hub.snapshot(Some(10));
        assert_eq!(
            (s.base, s.events.len(), s.run.as_deref()),
            (10, 1, Some("b"))
        );
    }

    #[test]
    fn the_live_view_names_leader_changes_and_broker_states() {
        let events = crate::events::read_events(
            &include_bytes!("../../tests/fixtures/events/leader-kill.jsonl")[..],
        )
        .unwrap();
        let events: Vec<Arc<Event>> = events.into_iter().map(Arc::new).collect();
        let v = live_view(&events);
        assert!(v.finished);
        assert!(
            v.happenings
                .iter()
                .any(|(_, c, t)| *c == Happening::Leader && t.starts_with("orders/0 leader")),
            "{:?}",
            v.happenings
        );
        assert!(v.happenings.iter().any(|(_, c, _)| *c == Happening::Fault));
        assert_eq!(v.brokers.len(), 3);
        assert!(
            v.brokers.iter().all(|b| b.2 == BrokerState::Up),
            "killed, then started again: {:?}",
            v.brokers
        );
        let killed: Vec<Arc<Event>> = events
            .iter()
            .take_while(|e| {
                !matches!(
                    e.kind,
                    EventKind::Container {
                        action: ContainerAction::Start,
                        ..
                    }
                )
            })
            .cloned()
            .collect();
        assert!(live_view(&killed)
            .brokers
            .iter()
            .any(|b| b.2 == BrokerState::Down));
        assert!(v.faults_in_force.is_empty(), "healed by the end");
    }
}
