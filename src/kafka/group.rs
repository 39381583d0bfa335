//! The consumer group (`workload.group`): N members in one group, each a librdkafka consumer
//! on a thread of its own or a Java consumer in a JVM of its own (`workload.client: java`),
//! reading the workload's topic, recording every message it processed (by identity and
//! offset), every commit the cluster confirmed and every rebalance callback — the history the
//! pure checker in `analysis::group` judges, the same for both clients. Member faults (crash,
//! leave, pause) are applied here: a Java member's crash kills its process.

use super::connect::Profile;
use super::consumer_driver::{ConsumerAnswer, ConsumerDriver, Role};
use super::payload::{self, Identity};
use super::{ConsumerClient, KafkaError};
use crate::analysis::group::{Assignment, Commit, GroupHistory, Processed};
use crate::clock::EventSink;
use crate::events::{CommitMode, EventKind, FaultKind, RebalanceChange};
use rdkafka::consumer::{
    BaseConsumer, CommitMode as RdCommit, Consumer, ConsumerContext, Rebalance,
};
use rdkafka::error::KafkaResult;
use rdkafka::message::Message;
use rdkafka::{ClientContext, TopicPartitionList};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The poll timeout: rebalance callbacks run inside a poll, so this bounds how late their
/// time can be (with one message's processing).
const POLL: Duration = Duration::from_millis(100);

#[derive(Debug, Clone)]
pub struct GroupOptions {
    pub bootstrap: String,
    /// How the clients connect (security, TLS).
    pub profile: Profile,
    pub topic: String,
    pub partitions: i32,
    /// The group id on the cluster.
    pub group_id: String,
    pub members: u32,
    pub commit: CommitMode,
    pub commit_interval: Duration,
    pub processing: Duration,
    pub session_timeout: Duration,
    pub max_poll_interval: Duration,
    pub protocol: crate::events::GroupProtocol,
    pub extra: Vec<(String, String)>,
    pub producer_id: u64,
    /// The members' client.
    pub client: ConsumerClient,
}

/// What a member thread is told to do, checked before every poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Command {
    Run = 0,
    /// Stop polling (librdkafka keeps heartbeating until max.poll.interval.ms, then leaves).
    Pause = 1,
    /// Close the consumer: LeaveGroup.
    Leave = 2,
    /// Destroy the client without closing: no LeaveGroup, no more heartbeats.
    Crash = 3,
    /// End of the run: commit what was processed, close.
    Stop = 4,
}

impl Command {
    fn of(v: u8) -> Command {
        match v {
            1 => Command::Pause,
            2 => Command::Leave,
            3 => Command::Crash,
            4 => Command::Stop,
            _ => Command::Run,
        }
    }
}

struct Shared {
    options: GroupOptions,
    sink: EventSink,
    history: Mutex<GroupHistory>,
    processed_in_tick: AtomicU64,
    processed_total: AtomicU64,
    /// Distinct messages processed (duplicates do not bring the group closer to done).
    distinct: Mutex<crate::analysis::verify::SeenSet>,
    distinct_total: AtomicU64,
    commit_failures: AtomicU64,
    /// (member, partition) → lag, for the partitions each member holds.
    lag: Mutex<BTreeMap<(u32, i32), i64>>,
    /// partition → the member holding it, from the callbacks.
    owners: Mutex<BTreeMap<i32, u32>>,
    /// The run is over: the members' closing revokes are not a rebalance.
    stopping: AtomicBool,
    errors: Mutex<Vec<String>>,
}

impl Shared {
    fn error(&self, message: String) {
        if let Ok(mut e) = self.errors.lock() {
            if e.len() < 20 && !e.contains(&message) {
                e.push(message);
            }
        }
    }

    /// A member's partitions taken away (revoked, or lost without a clean revoke). Only the
    /// ones listed: an incremental revoke (cooperative assignors, the consumer protocol of
    /// KIP-848) leaves the member its other partitions; an eager one lists all.
    fn revoked(&self, member: u32, change: RebalanceChange, revoked: Vec<i32>) {
        if let Ok(mut lag) = self.lag.lock() {
            lag.retain(|(m, p), _| *m != member || !revoked.contains(p));
        }
        if let Ok(mut owners) = self.owners.lock() {
            owners.retain(|p, m| *m != member || !revoked.contains(p));
        }
        if self.stopping.load(Ordering::SeqCst) {
            return;
        }
        self.sink.emit(EventKind::GroupRebalance {
            member,
            change,
            partitions: revoked,
        });
    }

    fn assigned(&self, member: u32, partitions: Vec<i32>) {
        let at_us = self.sink.clock().now_us();
        if let Ok(mut owners) = self.owners.lock() {
            owners.extend(partitions.iter().map(|p| (*p, member)));
        }
        if let Ok(mut h) = self.history.lock() {
            h.assignments.extend(partitions.iter().map(|p| Assignment {
                member,
                partition: *p,
                at_us,
            }));
        }
        self.sink.emit_at(
            at_us,
            EventKind::GroupRebalance {
                member,
                change: RebalanceChange::Assigned,
                partitions,
            },
        );
    }

    fn committed(&self, commits: impl IntoIterator<Item = Commit>) {
        if let Ok(mut h) = self.history.lock() {
            h.commits.extend(commits);
        }
    }

    /// A record a member processed; whether it is one of the run's (others are not work).
    fn processed(&self, member: u32, partition: i32, offset: i64, id: Option<Identity>) -> bool {
        let o = &self.options;
        let Some(id) = id.filter(|id| id.producer_id == o.producer_id && id.partition == partition)
        else {
            return false;
        };
        let at_us = self.sink.clock().now_us();
        if let Ok(mut h) = self.history.lock() {
            h.processed.push(Processed {
                member,
                partition,
                seq: id.seq,
                offset,
                at_us,
            });
        }
        self.processed_in_tick.fetch_add(1, Ordering::Relaxed);
        self.processed_total.fetch_add(1, Ordering::Relaxed);
        let again = self
            .distinct
            .lock()
            .map_or(true, |mut d| d.insert(partition, id.seq));
        if !again {
            self.distinct_total.fetch_add(1, Ordering::Relaxed);
        }
        true
    }

    fn commit_failed(&self, member: u32, error: String) {
        self.commit_failures.fetch_add(1, Ordering::Relaxed);
        self.error(format!("member {member}: commit: {error}"));
    }

    fn clear_lag(&self, member: u32) {
        if let Ok(mut lag) = self.lag.lock() {
            lag.retain(|(m, _), _| *m != member);
        }
    }
}

struct MemberContext {
    index: u32,
    shared: Arc<Shared>,
    /// Offsets stored since the last sync commit (partition → next offset): what that commit
    /// carries, as librdkafka calls no commit callback for a sync commit. Revoked partitions
    /// leave it (librdkafka drops their stored offsets).
    stored: Mutex<BTreeMap<i32, i64>>,
}

impl ClientContext for MemberContext {}

impl MemberContext {
    fn partitions(list: &TopicPartitionList) -> Vec<i32> {
        list.elements().iter().map(|e| e.partition()).collect()
    }
}

impl ConsumerContext for MemberContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let (change, list) = match rebalance {
            // Lost: taken away without a clean revoke (session expired, max poll exceeded).
            Rebalance::Revoke(l) if consumer.assignment_lost() => (RebalanceChange::Lost, *l),
            Rebalance::Revoke(l) => (RebalanceChange::Revoked, *l),
            Rebalance::Assign(_) => return,
            Rebalance::Error(e) => {
                self.shared
                    .error(format!("member {}: rebalance error: {e}", self.index));
                return;
            }
        };
        let revoked = Self::partitions(list);
        if let Ok(mut stored) = self.stored.lock() {
            for p in &revoked {
                stored.remove(p);
            }
        }
        self.shared.revoked(self.index, change, revoked);
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Assign(list) = rebalance else {
            return;
        };
        self.shared.assigned(self.index, Self::partitions(list));
    }

    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        let at_us = self.shared.sink.clock().now_us();
        if result.is_err() {
            self.shared.commit_failures.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.shared
            .committed(
                offsets
                    .elements()
                    .iter()
                    .filter_map(|e| match (e.error(), e.offset()) {
                        (Ok(()), rdkafka::Offset::Offset(o)) => Some(Commit {
                            member: self.index,
                            partition: e.partition(),
                            offset: o,
                            at_us,
                        }),
                        _ => None,
                    }),
            );
    }
}

enum Member {
    /// librdkafka in this process, on a thread of its own, told what to do by `command`.
    InProcess {
        command: Arc<AtomicU8>,
        thread: Option<JoinHandle<()>>,
    },
    /// The Java client in a JVM of its own.
    Java(ConsumerDriver),
}

impl Member {
    /// Tells a running member to stop (commit, close); a crashed or departed one stays so.
    fn ask_to_stop(&self) {
        match self {
            Member::InProcess { command, .. } => {
                let _ = command.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |c| {
                    matches!(Command::of(c), Command::Run | Command::Pause)
                        .then_some(Command::Stop as u8)
                });
            }
            // A JVM that already exited (crashed, left) cannot read it: harmless.
            Member::Java(driver) => {
                let _ = driver.tell("stop");
            }
        }
    }

    /// Waits until it has closed (a Java member that does not within `timeout` is killed).
    fn wait_closed(self, timeout: Duration) {
        match self {
            Member::InProcess { thread, .. } => {
                if let Some(t) = thread {
                    let _ = t.join();
                }
            }
            Member::Java(driver) => driver.close(timeout),
        }
    }
}

pub struct GroupWorkload {
    shared: Arc<Shared>,
    members: Mutex<Vec<Member>>,
}

impl GroupWorkload {
    pub fn start(options: GroupOptions, sink: EventSink) -> Result<Self, KafkaError> {
        let (n, partitions) = (options.members, options.partitions);
        let shared = Arc::new(Shared {
            options,
            sink,
            history: Mutex::default(),
            processed_in_tick: AtomicU64::new(0),
            processed_total: AtomicU64::new(0),
            distinct: Mutex::new(crate::analysis::verify::SeenSet::new(partitions)),
            distinct_total: AtomicU64::new(0),
            commit_failures: AtomicU64::new(0),
            lag: Mutex::default(),
            owners: Mutex::default(),
            stopping: AtomicBool::new(false),
            errors: Mutex::default(),
        });
        // At once: a JVM takes a second or two to start, and the members should join together.
        let members = std::thread::scope(|scope| {
            let starting: Vec<_> = (0..n)
                .map(|i| {
                    let shared = &shared;
                    scope.spawn(move || spawn_member(i, shared))
                })
                .collect();
            starting
                .into_iter()
                .map(|t| t.join().unwrap_or_else(|_| Err(poisoned())))
                .collect::<Result<Vec<_>, _>>()
        })?;
        Ok(Self {
            shared,
            members: Mutex::new(members),
        })
    }

    /// Applies a member fault.
    pub fn fault(&self, member: u32, kind: FaultKind) -> Result<(), KafkaError> {
        let command = match kind {
            FaultKind::MemberCrash => Command::Crash,
            FaultKind::MemberLeave => Command::Leave,
            FaultKind::MemberPause => Command::Pause,
            other => {
                return Err(KafkaError::Workload(format!(
                    "{other} is not a member fault"
                )))
            }
        };
        let members = self.members.lock().map_err(|_| poisoned())?;
        let m = members
            .get(member as usize)
            .ok_or_else(|| KafkaError::Workload(format!("no member {member}")))?;
        match m {
            Member::InProcess { command: c, .. } => c.store(command as u8, Ordering::SeqCst),
            Member::Java(driver) => match command {
                Command::Crash => driver.kill(),
                Command::Leave => driver.tell("leave").map_err(driver_error(member))?,
                _ => driver.tell("pause").map_err(driver_error(member))?,
            },
        }
        Ok(())
    }

    /// Reverts a member fault: a paused member polls again (and rejoins); a crashed or departed
    /// one is replaced by a new consumer under the same number.
    pub fn heal(&self, member: u32, kind: FaultKind) -> Result<(), KafkaError> {
        let mut members = self.members.lock().map_err(|_| poisoned())?;
        let slot = members
            .get_mut(member as usize)
            .ok_or_else(|| KafkaError::Workload(format!("no member {member}")))?;
        if kind == FaultKind::MemberPause {
            match slot {
                Member::InProcess { command, .. } => {
                    command.store(Command::Run as u8, Ordering::SeqCst)
                }
                Member::Java(driver) => driver.tell("run").map_err(driver_error(member))?,
            }
            return Ok(());
        }
        // The old thread has ended (or is closing); its consumer is gone from the group.
        *slot = spawn_member(member, &self.shared)?;
        Ok(())
    }

    pub fn tick(&self) -> EventKind {
        let lag = self
            .shared
            .lag
            .lock()
            .ok()
            .filter(|l| !l.is_empty())
            .map(|l| l.values().map(|v| (*v).max(0) as u64).sum());
        EventKind::GroupTick {
            processed: self.shared.processed_in_tick.swap(0, Ordering::Relaxed),
            lag,
        }
    }

    /// The group has formed: see [`settled`].
    pub fn fully_assigned(&self) -> bool {
        let o = &self.shared.options;
        self.shared
            .owners
            .lock()
            .is_ok_and(|owners| settled(&owners, o.partitions, o.members))
    }

    pub fn processed(&self) -> u64 {
        self.shared.processed_total.load(Ordering::Relaxed)
    }

    /// Lets the members read on until they processed `enough` distinct messages or `grace` passed,
    /// then stops them (each commits and leaves). Blocking.
    pub fn finish(self, enough: u64, grace: Duration) -> (GroupHistory, u64, Vec<String>) {
        let deadline = Instant::now() + grace;
        while self.shared.distinct_total.load(Ordering::Relaxed) < enough
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        let members = self
            .members
            .lock()
            .map(|mut m| std::mem::take(&mut *m))
            .unwrap_or_default();
        self.shared.stopping.store(true, Ordering::SeqCst);
        for m in &members {
            m.ask_to_stop();
        }
        for m in members {
            // A Java member's close: its last commit, then LeaveGroup, bounded by the client's
            // own close timeout (30 s by default).
            m.wait_closed(Duration::from_secs(35));
        }
        let history = self
            .shared
            .history
            .lock()
            .map(|h| h.clone())
            .unwrap_or_default();
        let errors = self
            .shared
            .errors
            .lock()
            .map(|e| e.clone())
            .unwrap_or_default();
        (
            history,
            self.shared.commit_failures.load(Ordering::Relaxed),
            errors,
        )
    }
}

/// A run that ends early must not leave members polling.
impl Drop for GroupWorkload {
    fn drop(&mut self) {
        if let Ok(members) = self.members.lock() {
            for m in members.iter() {
                m.ask_to_stop();
            }
        }
    }
}

/// Every partition is held by a member, and every member holds one when there are no more
/// members than partitions. The second half matters for incremental assignments: the
/// consumer protocol (KIP-848) first hands every partition to the first member to join and
/// moves them over the next heartbeats (seconds), so "every partition held" alone let a fault
/// hit a group still forming (measured: a crash at 10.5 s, partitions unheld since 5.9 s).
fn settled(owners: &BTreeMap<i32, u32>, partitions: i32, members: u32) -> bool {
    let every_partition = (0..partitions).all(|p| owners.contains_key(&p));
    let holders: std::collections::BTreeSet<u32> = owners.values().copied().collect();
    let wanted = members.min(u32::try_from(partitions).unwrap_or(0));
    every_partition && holders.len() as u32 >= wanted
}

fn poisoned() -> KafkaError {
    KafkaError::Workload("group state poisoned".into())
}

fn driver_error(member: u32) -> impl Fn(super::client_driver::DriverError) -> KafkaError {
    move |e| KafkaError::Workload(format!("member {member}: {e}"))
}

fn spawn_member(index: u32, shared: &Arc<Shared>) -> Result<Member, KafkaError> {
    if let ConsumerClient::Java(install) = &shared.options.client {
        return spawn_java_member(index, shared, install);
    }
    let command = Arc::new(AtomicU8::new(Command::Run as u8));
    let consumer = create_consumer(index, shared)?;
    let thread = {
        let (shared, command) = (shared.clone(), command.clone());
        std::thread::Builder::new()
            .name(format!("chaos-group-member-{index}"))
            .spawn(move || run_member(index, consumer, &shared, &command))
            .map_err(|source| KafkaError::Thread {
                what: "group member thread",
                source,
            })?
    };
    Ok(Member::InProcess {
        command,
        thread: Some(thread),
    })
}

/// A member in a JVM of its own: what it answers goes into the same history as an
/// in-process member's, stamped as it arrives (the pipe adds well under a millisecond).
fn spawn_java_member(
    index: u32,
    shared: &Arc<Shared>,
    install: &super::client_install::JavaInstall,
) -> Result<Member, KafkaError> {
    let o = &shared.options;
    let on_answer = {
        let shared = shared.clone();
        move |answer| match answer {
            ConsumerAnswer::Rebalance {
                change: RebalanceChange::Assigned,
                partitions,
            } => shared.assigned(index, partitions),
            ConsumerAnswer::Rebalance { change, partitions } => {
                shared.revoked(index, change, partitions)
            }
            ConsumerAnswer::Record {
                partition,
                offset,
                head,
            } => {
                let id = head.as_deref().and_then(payload::decode);
                shared.processed(index, partition, offset, id);
            }
            ConsumerAnswer::Committed { partition, offset } => {
                let at_us = shared.sink.clock().now_us();
                shared.committed([Commit {
                    member: index,
                    partition,
                    offset,
                    at_us,
                }]);
            }
            ConsumerAnswer::CommitFailed(error) => shared.commit_failed(index, error),
            ConsumerAnswer::Lag { partition, lag } => {
                // Only a partition it still holds: a lag line may follow its revoke.
                let holds = shared
                    .owners
                    .lock()
                    .is_ok_and(|o| o.get(&partition) == Some(&index));
                if let (true, Ok(mut l)) = (holds, shared.lag.lock()) {
                    l.insert((index, partition), lag);
                }
            }
            ConsumerAnswer::Warning(w) => shared.error(format!("member {index}: {w}")),
            ConsumerAnswer::Closed => shared.clear_lag(index),
        }
    };
    let on_died = {
        let shared = shared.clone();
        move |why: String| {
            shared.clear_lag(index);
            shared.error(format!("member {index}: {why}"));
        }
    };
    let driver = ConsumerDriver::start(
        &install.consumer_command(),
        &o.topic,
        Role::Member {
            commit: o.commit,
            commit_interval: o.commit_interval,
            processing: o.processing,
        },
        &java_member_settings(index, o),
        &o.profile.security,
        on_answer,
        on_died,
    )
    .map_err(driver_error(index))?;
    Ok(Member::Java(driver))
}

/// A Java member's settings, in Java's names, as `create_consumer` sets librdkafka's.
fn java_member_settings(index: u32, o: &GroupOptions) -> Vec<(String, String)> {
    let explicit = o.commit != CommitMode::Auto;
    let mut s: Vec<(String, String)> = vec![
        ("bootstrap.servers".into(), o.bootstrap.clone()),
        ("group.id".into(), o.group_id.clone()),
        ("client.id".into(), format!("chaos-member-{index}")),
        ("auto.offset.reset".into(), "earliest".into()),
        // librdkafka's fetch.wait.max.ms under Java's name.
        ("fetch.max.wait.ms".into(), "50".into()),
        (
            "max.poll.interval.ms".into(),
            o.max_poll_interval.as_millis().to_string(),
        ),
        ("enable.auto.commit".into(), (!explicit).to_string()),
        // One record per poll, as librdkafka's poll hands them: rebalance callbacks run
        // inside poll, so with Java's default of 500 a backlog processed with a sync commit
        // each (~15 ms here) held a revoke back for seconds (measured: 10 s under KIP-848).
        // The fetch still prefetches; `consumer-config` may set it back.
        ("max.poll.records".into(), "1".into()),
    ];
    // The consumer protocol's session is the broker's: Java refuses session.timeout.ms with it
    // (and 3.x clients know no group.protocol for the classic default).
    match o.protocol {
        crate::events::GroupProtocol::Classic => s.push((
            "session.timeout.ms".into(),
            o.session_timeout.as_millis().to_string(),
        )),
        crate::events::GroupProtocol::Consumer => {
            s.push(("group.protocol".into(), "consumer".into()))
        }
    }
    if !explicit {
        s.push((
            "auto.commit.interval.ms".into(),
            o.commit_interval.as_millis().max(1).to_string(),
        ));
    }
    s.extend(o.extra.iter().cloned());
    s
}

fn create_consumer(
    index: u32,
    shared: &Arc<Shared>,
) -> Result<BaseConsumer<MemberContext>, KafkaError> {
    let o = &shared.options;
    let explicit = o.commit != CommitMode::Auto;
    let mut config = super::client_config(&o.bootstrap, &o.profile);
    config
        .set("group.id", &o.group_id)
        .set("client.id", format!("chaos-member-{index}"))
        .set("auto.offset.reset", "earliest")
        .set("enable.partition.eof", "false")
        .set("fetch.wait.max.ms", "50")
        .set("group.protocol", o.protocol.as_str())
        .set(
            "max.poll.interval.ms",
            o.max_poll_interval.as_millis().to_string(),
        )
        .set("enable.auto.commit", (!explicit).to_string())
        .set("enable.auto.offset.store", (!explicit).to_string());
    // The consumer protocol's session timeout is the broker's: librdkafka refuses one here.
    if o.protocol == crate::events::GroupProtocol::Classic {
        config.set(
            "session.timeout.ms",
            o.session_timeout.as_millis().to_string(),
        );
    }
    if !explicit {
        config.set(
            "auto.commit.interval.ms",
            o.commit_interval.as_millis().max(1).to_string(),
        );
    }
    for (k, v) in &o.extra {
        config.set(k, v);
    }
    let consumer: BaseConsumer<MemberContext> = config
        .create_with_context(MemberContext {
            index,
            shared: shared.clone(),
            stored: Mutex::default(),
        })
        .map_err(KafkaError::client(format!("group member {index}")))?;
    consumer
        .subscribe(&[&o.topic])
        .map_err(KafkaError::client(format!(
            "group member {index} subscribe"
        )))?;
    Ok(consumer)
}

// Long: one poll loop of a member's life (commit mode, lag, callbacks); its arms short
fn run_member(
    index: u32,
    consumer: BaseConsumer<MemberContext>,
    shared: &Shared,
    command: &AtomicU8,
) {
    let o = &shared.options;
    let explicit = o.commit != CommitMode::Auto;
    let mode = if o.commit == CommitMode::Async {
        RdCommit::Async
    } else {
        RdCommit::Sync
    };
    let sync = o.commit == CommitMode::Sync;
    let mut dirty = false;
    let mut last_commit = Instant::now();
    let mut last_lag = Instant::now();
    let commit = |consumer: &BaseConsumer<MemberContext>| {
        let pending = consumer
            .context()
            .stored
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default();
        match consumer.commit_consumer_state(mode) {
            Ok(()) if sync => {
                let at_us = shared.sink.clock().now_us();
                shared.committed(pending.into_iter().map(|(partition, offset)| Commit {
                    member: index,
                    partition,
                    offset,
                    at_us,
                }));
            }
            // Async: the commit callback reports the outcome.
            Ok(()) => {}
            // Nothing stored yet for any partition is not a failure.
            Err(e) if e.to_string().contains("No offset stored") => {}
            Err(e) => shared.commit_failed(index, e.to_string()),
        }
    };
    loop {
        match Command::of(command.load(Ordering::SeqCst)) {
            Command::Run => {}
            Command::Pause => {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
            Command::Stop | Command::Leave => {
                if explicit && dirty {
                    commit(&consumer);
                }
                // Dropping closes the consumer: revoke callback, LeaveGroup.
                drop(consumer);
                shared.clear_lag(index);
                return;
            }
            Command::Crash => {
                crash(consumer);
                shared.clear_lag(index);
                return;
            }
        }
        match consumer.poll(POLL) {
            Some(Ok(m)) => {
                let id = m.payload().and_then(payload::decode);
                if shared.processed(index, m.partition(), m.offset(), id) && !o.processing.is_zero()
                {
                    // Simulated work, not a measurement.
                    std::thread::sleep(o.processing);
                }
                if explicit {
                    // Processed: only now may its offset be committed.
                    match consumer.store_offset_from_message(&m) {
                        Ok(()) => {
                            if let Ok(mut stored) = consumer.context().stored.lock() {
                                stored.insert(m.partition(), m.offset() + 1);
                            }
                        }
                        Err(e) => shared.error(format!("member {index}: store offset: {e}")),
                    }
                    dirty = true;
                }
            }
            Some(Err(e)) => shared.error(format!("member {index}: {e}")),
            None => {}
        }
        if explicit && dirty && last_commit.elapsed() >= o.commit_interval {
            commit(&consumer);
            dirty = false;
            last_commit = Instant::now();
        }
        if last_lag.elapsed() >= Duration::from_secs(1) {
            record_lag(&consumer, shared, index);
            last_lag = Instant::now();
        }
    }
}

/// Lag per held partition from the client's cached high watermark (no request) and position.
fn record_lag(consumer: &BaseConsumer<MemberContext>, shared: &Shared, index: u32) {
    let Ok(position) = consumer.position() else {
        return;
    };
    let Ok(topic) = std::ffi::CString::new(shared.options.topic.as_str()) else {
        return;
    };
    let mut fresh = Vec::new();
    for e in position.elements() {
        let (mut low, mut high) = (0i64, 0i64);
        // SAFETY: the client pointer is alive (we hold the consumer); the out-parameters are
        // plain integers owned by this frame.
        let err = unsafe {
            rdkafka::bindings::rd_kafka_get_watermark_offsets(
                consumer.client().native_ptr(),
                topic.as_ptr(),
                e.partition(),
                &mut low,
                &mut high,
            )
        };
        if err != rdkafka::bindings::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR || high < 0 {
            continue;
        }
        let lag = match e.offset() {
            rdkafka::Offset::Offset(p) => high - p,
            // Nothing fetched yet: everything up to the high watermark is behind.
            _ => high - low,
        };
        fresh.push(((index, e.partition()), lag));
    }
    if let Ok(mut lag) = shared.lag.lock() {
        lag.retain(|(m, _), _| *m != index);
        lag.extend(fresh);
    }
}

/// Kills the client the way a crashed process would look to the group: no LeaveGroup, no
/// final commit, no more heartbeats (`RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE`). The Rust
/// wrapper is leaked so its Drop (which closes the consumer) never runs; the destroy runs
/// on a thread of its own in case it waits for librdkafka's threads.
fn crash(consumer: BaseConsumer<MemberContext>) {
    let ptr = consumer.client().native_ptr() as usize;
    std::mem::forget(consumer);
    let _ = std::thread::Builder::new()
        .name("chaos-member-crash".into())
        .spawn(move || {
            // SAFETY: the consumer was forgotten above, so nothing else uses or frees the
            // handle; this is its only destroy.
            unsafe {
                rdkafka::bindings::rd_kafka_destroy_flags(
                    ptr as *mut rdkafka::bindings::rd_kafka_t,
                    rdkafka::bindings::RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE,
                )
            }
        });
}

#[cfg(test)]
mod tests {
    use super::settled;
    use std::collections::BTreeMap;

    #[test]
    fn a_group_is_formed_when_every_partition_and_every_member_is_assigned() {
        let owners = |pairs: &[(i32, u32)]| pairs.iter().copied().collect::<BTreeMap<_, _>>();
        // KIP-848's first step: one member holds everything.
        assert!(!settled(&owners(&[(0, 2), (1, 2), (2, 2)]), 3, 3));
        // A revoke moved two partitions away, nobody holds them yet.
        assert!(!settled(&owners(&[(0, 2)]), 3, 3));
        assert!(settled(&owners(&[(0, 2), (1, 0), (2, 1)]), 3, 3));
        // More members than partitions: some stay idle.
        assert!(settled(&owners(&[(0, 4), (1, 0)]), 2, 5));
        // Fewer members: each holds some.
        assert!(settled(&owners(&[(0, 0), (1, 0), (2, 1)]), 3, 2));
        assert!(!settled(&owners(&[(0, 0), (1, 0), (2, 0)]), 3, 2));
    }
}
