//! The session's phases against the scripted cluster (`run::scripted`) under paused time:
//! a whole run, an interrupt at each phase, a platform lost mid-run, a broker that exits by
//! itself or never comes back, a producer that does not resume, the application workloads'
//! drains. Milliseconds each; the real-cluster suites test the same paths against Kafka.
//! (Hooks on events fire from the event channel, a moment after the event: the experiments
//! put a `wait` after the points they interrupt at.)

use super::*;
use crate::clock::{Clock, EventSink};
use crate::events::Event;
use crate::experiment::Experiment;
use crate::run::scripted::Scripted;
use crate::run::shutdown::ShutdownTrigger;
use std::sync::{Arc, Mutex};

/// The seed's leader-kill experiment without a workload: kill the leader of orders/0, wait
/// for a new one, heal, wait until whole.
const LEADER_KILL: &str = r#"
name: leader-kill
cluster: { compose: seed.yml }
topics:
  - { name: orders, partitions: 3, replication-factor: 3 }
steps:
  - wait: 5s
  - name: kill-leader
    fault: { kind: kill, target: { leader-of: orders/0 } }
  - wait-for: { leader-changed: orders/0 }
    timeout: 60s
  - wait: 5s
  - heal: kill-leader
  - wait-for: { cluster-healthy: true }
    timeout: 120s
"#;

/// The same with the tracked producer (scripted: acked whenever every partition has a
/// leader, unless the world stalls it), its 30 s recovery window and the re-read.
fn with_workload() -> String {
    LEADER_KILL.replace(
        "steps:",
        "workload: { rate: 10, recovery-window: 30s }\nsteps:",
    )
}

/// Run-clock time of the first event of `phase`.
fn phase_at(ran: &Ran, phase: RunPhase) -> u64 {
    ran.events
        .iter()
        .find(|e| matches!(&e.kind, EventKind::Phase { name } if *name == phase))
        .map(|e| e.at_us)
        .unwrap_or_else(|| panic!("no {phase:?} phase"))
}

fn experiment(yaml: &str) -> Experiment {
    crate::experiment::parse(yaml, std::path::Path::new("test.yaml")).expect("a valid experiment")
}

/// What a run left behind: its outcome, its events, its progress lines.
struct Ran {
    outcome: Result<(), Error>,
    events: Vec<Event>,
    progress: Vec<String>,
}

impl Ran {
    fn phases(&self) -> Vec<RunPhase> {
        self.events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Phase { name } => Some(*name),
                _ => None,
            })
            .collect()
    }
    fn notes(&self) -> Vec<&str> {
        self.events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Note { message } | EventKind::Error { message } => {
                    Some(message.as_str())
                }
                _ => None,
            })
            .collect()
    }
}

/// When the run is to be disturbed, and how.
type Hook = Arc<dyn Fn(&str, &Scripted, &ShutdownTrigger) + Send + Sync>;

/// Runs `yaml` on `world`; `hook` sees every progress line and every event's kind (as
/// `event:<kind>`) as they happen, with the world and the Ctrl-C trigger at hand.
async fn run(yaml: &str, world: &Scripted, hook: Hook) -> Ran {
    let experiment = experiment(yaml);
    let cluster = world.cluster();
    let (trigger, shutdown) = Shutdown::new();
    let trigger = Arc::new(trigger);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let events = Arc::new(Mutex::new(Vec::new()));
    let forward = {
        let (events, world, hook, trigger) =
            (events.clone(), world.clone(), hook.clone(), trigger.clone());
        tokio::spawn(async move {
            while let Some(e) = rx.recv().await {
                let kind = serde_json::to_value(&e.kind).expect("an event serialises");
                let mut name = format!("event:{}", kind["event"].as_str().unwrap_or_default());
                if let Some(phase) = kind["name"].as_str() {
                    name = format!("{name}:{phase}");
                }
                hook(&name, &world, &trigger);
                events.lock().unwrap().push(e);
            }
        })
    };
    let progress = Arc::new(Mutex::new(Vec::new()));
    let on_progress = {
        let (progress, world, hook, trigger) = (
            progress.clone(),
            world.clone(),
            hook.clone(),
            trigger.clone(),
        );
        move |line: &str| {
            progress.lock().unwrap().push(line.to_string());
            hook(line, &world, &trigger);
        }
    };
    let ctx = RunContext {
        cluster: &cluster,
        experiment: &experiment,
        sink: EventSink::new(Clock::start(), tx),
        seed: 7,
        producer_id: 1,
        progress: &on_progress,
        client: crate::kafka::producer::ClientLibrary::Librdkafka,
        profile: Default::default(),
    };
    let outcome = execute(&ctx, world.clone(), world, shutdown).await;
    drop(ctx);
    // Paused time: the forwarder drains what was sent before the sleep ends.
    tokio::time::sleep(Duration::from_millis(10)).await;
    forward.abort();
    let events = std::mem::take(&mut *events.lock().unwrap());
    let progress = std::mem::take(&mut *progress.lock().unwrap());
    Ran {
        outcome,
        events,
        progress,
    }
}

fn no_hook() -> Hook {
    Arc::new(|_, _, _| {})
}

/// Triggers Ctrl-C the first time a progress line or event starting with `at` is seen.
fn interrupt_at(at: &'static str) -> Hook {
    Arc::new(move |line, _, trigger| {
        if line.starts_with(at) {
            trigger.trigger();
        }
    })
}

#[tokio::test(start_paused = true)]
async fn a_leader_kill_runs_every_phase_heals_and_ends_whole() {
    let world = Scripted::three_brokers("orders", 3);
    let ran = run(LEADER_KILL, &world, no_hook()).await;
    assert!(ran.outcome.is_ok(), "{:?}", ran.outcome);
    // orders/0 is led by broker 1: killed, then started by the heal.
    assert_eq!(world.calls(), ["kill kafka-1", "start kafka-1"]);
    assert_eq!(ran.phases(), [RunPhase::Steps, RunPhase::Heal]);
    let led_by_2 = ran.events.iter().any(|e| match &e.kind {
        EventKind::Observed { snapshot, .. } => snapshot
            .partition("orders", 0)
            .is_some_and(|p| p.leader == Some(2)),
        _ => false,
    });
    assert!(led_by_2, "the observer saw the new leader");
    assert!(ran.notes().is_empty(), "{:?}", ran.notes());
}

#[tokio::test(start_paused = true)]
async fn an_interrupt_at_each_phase_reverts_every_fault_and_says_interrupted() {
    // (where Ctrl-C comes, the platform calls the run must have made by its end)
    let cases: [(&str, &[&str]); 5] = [
        ("creating topics", &[]),
        ("event:phase", &[]),
        ("event:fault-injected", &["kill kafka-1", "start kafka-1"]),
        ("healing", &["kill kafka-1", "start kafka-1"]),
        (
            "waiting for every partition",
            &["kill kafka-1", "start kafka-1"],
        ),
    ];
    for (at, calls) in cases {
        let world = Scripted::three_brokers("orders", 3);
        let ran = run(LEADER_KILL, &world, interrupt_at(at)).await;
        assert!(
            matches!(ran.outcome, Err(Error::Interrupted)),
            "at {at}: {:?}",
            ran.outcome
        );
        assert_eq!(world.calls(), calls, "at {at}");
        // Nothing after the interrupt waits for the cluster: the run ends at once.
        let waited = ran
            .progress
            .iter()
            .any(|l| l.starts_with("waiting for every"));
        assert_eq!(
            waited,
            at.starts_with("waiting"),
            "at {at}: {:?}",
            ran.progress
        );
    }
}

#[tokio::test(start_paused = true)]
async fn an_interrupted_set_up_leaves_no_observer_polling() {
    let world = Scripted::three_brokers("orders", 3);
    // Broker 1 never answers: the set-up waits for a whole cluster and is interrupted there,
    // once the observer has reported what the others say.
    world.world().hanging.push(1);
    let ran = run(LEADER_KILL, &world, interrupt_at("event:observed")).await;
    assert!(matches!(ran.outcome, Err(Error::Interrupted)));
    let asked = world.world().requests;
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(world.world().requests, asked, "the observer still polls");
}

#[tokio::test(start_paused = true)]
async fn a_platform_lost_mid_run_ends_the_steps_tries_the_heal_and_skips_the_wait() {
    let world = Scripted::three_brokers("orders", 3);
    let lose = Arc::new(|line: &str, world: &Scripted, _: &ShutdownTrigger| {
        if line == "event:fault-injected" {
            world.lose_platform();
        }
    });
    let ran = run(LEADER_KILL, &world, lose).await;
    let err = ran
        .outcome
        .as_ref()
        .expect_err("a lost platform fails the run");
    assert!(err.platform_lost(), "{err}");
    // The heal was tried (and refused: the platform is gone); nothing waited for the cluster.
    assert_eq!(world.calls(), ["kill kafka-1", "start kafka-1"]);
    assert_eq!(ran.phases(), [RunPhase::Steps, RunPhase::Heal]);
    assert!(!ran
        .progress
        .iter()
        .any(|l| l.starts_with("waiting for every")));
    assert!(
        ran.notes().iter().any(|n| n.starts_with("heal:")),
        "the failed heal is reported: {:?}",
        ran.notes()
    );
}

#[tokio::test(start_paused = true)]
async fn a_broker_that_exits_without_a_fault_is_started_again_with_a_note() {
    let world = Scripted::three_brokers("orders", 3);
    let exit = Arc::new(|line: &str, world: &Scripted, _: &ShutdownTrigger| {
        if line == "event:phase:steps" {
            world.exit_by_itself(3);
        }
    });
    let ran = run(LEADER_KILL, &world, exit).await;
    assert!(ran.outcome.is_ok(), "{:?}", ran.outcome);
    let calls = world.calls();
    assert!(calls.contains(&"start kafka-3".to_string()), "{calls:?}");
    assert!(
        ran.notes()
            .iter()
            .any(|n| n.starts_with("kafka-3 exited although no fault holds it down")),
        "{:?}",
        ran.notes()
    );
}

#[tokio::test(start_paused = true)]
async fn a_broker_that_never_comes_back_is_an_error_after_the_heal_timeout() {
    let world = Scripted::three_brokers("orders", 3);
    // The heal's start is refused: broker 1 stays down, the cluster is never whole again.
    world.world().refuse.push("start kafka-1".into());
    let ran = run(LEADER_KILL, &world, no_hook()).await;
    assert!(ran.outcome.is_err(), "a refused heal fails the run");
    let notes = ran.notes();
    assert!(
        notes
            .iter()
            .any(|n| n.starts_with("the cluster was not whole again within 180 s")),
        "{notes:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn with_a_workload_every_phase_runs_and_the_producer_is_switched_at_fault_and_heal() {
    let world = Scripted::three_brokers("orders", 3);
    let ran = run(&with_workload(), &world, no_hook()).await;
    assert!(ran.outcome.is_ok(), "{:?}", ran.outcome);
    use RunPhase::*;
    assert_eq!(ran.phases(), [Steps, Heal, RecoveryWindow, Drain, Verify]);
    assert_eq!(
        world.world().producer_phases,
        [LatencyPhase::DuringFault, LatencyPhase::AfterHeal]
    );
    let kinds = |f: fn(&EventKind) -> bool| ran.events.iter().filter(|e| f(&e.kind)).count();
    assert_eq!(kinds(|k| matches!(k, EventKind::WorkloadDone(_))), 1);
    assert_eq!(kinds(|k| matches!(k, EventKind::Verified(_))), 1);
}

#[tokio::test(start_paused = true)]
async fn a_producer_that_does_not_resume_is_given_the_whole_recovery_window() {
    let world = Scripted::three_brokers("orders", 3);
    world.world().producer_stalled = true;
    let ran = run(&with_workload(), &world, no_hook()).await;
    assert!(ran.outcome.is_ok(), "{:?}", ran.outcome);
    // The window's timeout ends it: 30 s of paused time to the microsecond (1 ms allowed).
    let window = phase_at(&ran, RunPhase::Drain) - phase_at(&ran, RunPhase::RecoveryWindow);
    assert!((30_000_000..=30_001_000).contains(&window), "{window} µs");
}

#[tokio::test(start_paused = true)]
async fn a_producer_that_resumes_ends_the_recovery_window_at_its_first_acks() {
    let world = Scripted::three_brokers("orders", 3);
    let ran = run(&with_workload(), &world, no_hook()).await;
    // Every partition acked at the first check (the cluster is whole when the window opens).
    let window = phase_at(&ran, RunPhase::Drain) - phase_at(&ran, RunPhase::RecoveryWindow);
    assert!(window <= 100_000, "{window} µs");
}

#[tokio::test(start_paused = true)]
async fn an_interrupt_after_the_heal_drains_the_workload_and_skips_or_abandons_the_re_read() {
    use RunPhase::*;
    // (where Ctrl-C comes — progress lines, said in the session's own task, so the flag is
    // set before its next step — and the phases the run went through)
    let cases: [(&str, RunPhase, &[RunPhase]); 3] = [
        (
            "recovery window",
            RecoveryWindow,
            &[Steps, Heal, RecoveryWindow, Drain],
        ),
        (
            "stopping the workload",
            Drain,
            &[Steps, Heal, RecoveryWindow, Drain],
        ),
        (
            "re-reading every partition",
            Verify,
            &[Steps, Heal, RecoveryWindow, Drain, Verify],
        ),
    ];
    for (at, interrupted, phases) in cases {
        let world = Scripted::three_brokers("orders", 3);
        world.world().producer_stalled = true;
        world.world().reread_takes = Duration::from_secs(60);
        let ran = run(&with_workload(), &world, interrupt_at(at)).await;
        assert!(
            matches!(ran.outcome, Err(Error::Interrupted)),
            "at {at}: {:?}",
            ran.outcome
        );
        assert_eq!(ran.phases(), phases, "at {at}");
        assert_eq!(world.calls(), ["kill kafka-1", "start kafka-1"], "at {at}");
        // The acks so far are always summarised; an interrupted re-read says so.
        let done = ran
            .events
            .iter()
            .any(|e| matches!(e.kind, EventKind::WorkloadDone(_)));
        assert!(done, "at {at}");
        if at.starts_with("re-reading") {
            assert!(ran
                .notes()
                .contains(&"the re-read was interrupted: no verification"));
        }
        // Nothing waited after the interrupt: not the stalled producer's 30 s window, not the
        // 60 s re-read, not the live consumer's 10 s grace.
        let after = ran.events.last().map_or(0, |e| e.at_us) - phase_at(&ran, interrupted);
        assert!(after < 100_000, "at {at}: the run went on {after} µs");
    }
}

/// The seed's leader kill with the whole application side: the live consumer, a consumer
/// group of two (a member crashed, then the leader killed) and a transactional producer.
fn with_applications() -> String {
    LEADER_KILL
        .replace(
            "steps:",
            "workload:\n  rate: 10\n  recovery-window: 30s\n  consumer: true\n  \
             group: { members: 2 }\n  transactions: { size: 5 }\nsteps:",
        )
        .replace(
            "  - name: kill-leader",
            "  - name: crash\n    fault: { kind: member-crash, target: { member: 0 } }\n  \
             - name: kill-leader",
        )
}

fn formed(world: &Scripted) -> &Scripted {
    world.world().group_formed = true;
    world
}

#[tokio::test(start_paused = true)]
async fn the_applications_are_drained_with_their_grace_and_judged_after_the_re_read() {
    let world = Scripted::three_brokers("orders", 3);
    world.world().group_unprocessed = Some((3, 7));
    let ran = run(&with_applications(), formed(&world), no_hook()).await;
    assert!(ran.outcome.is_ok(), "{:?}", ran.outcome);
    // Judged after the re-read: the group's skips are the re-read's.
    let position = |f: fn(&EventKind) -> bool| ran.events.iter().position(|e| f(&e.kind));
    let verified = position(|k| matches!(k, EventKind::Verified(_))).expect("verified");
    let txns = position(|k| matches!(k, EventKind::TransactionsDone(_))).expect("transactions");
    let group = position(|k| matches!(k, EventKind::GroupDone(_))).expect("group");
    assert!(
        verified < txns && verified < group,
        "{verified} {txns} {group}"
    );
    let EventKind::GroupDone(summary) = &ran.events[group].kind else {
        unreachable!()
    };
    assert_eq!(
        (summary.skipped, summary.unprocessed_tail),
        (Some(3), Some(7))
    );
    // The member fault acts on the group, its heal too (the heal reverts it with the kill).
    let calls = world.calls();
    assert_eq!(calls[0], "member-crash member-0", "{calls:?}");
    assert!(
        calls.contains(&"heal member-crash member-0".into()),
        "{calls:?}"
    );
    let w = world.world();
    // The live consumer reads on up to 10 s for what was acked, the group up to 20 s.
    assert_eq!(w.consumer_grace, Some(Duration::from_secs(10)));
    assert_eq!(w.group_grace, Some(Duration::from_secs(20)));
    assert_eq!(w.transactions_reread, Some(true));
    let has = |f: fn(&EventKind) -> bool| ran.events.iter().any(|e| f(&e.kind));
    assert!(has(|k| matches!(k, EventKind::ConsumerDone(_))));
    assert!(has(|k| matches!(k, EventKind::GroupDone(_))));
    assert!(has(|k| matches!(k, EventKind::TransactionsDone(_))));
}

#[tokio::test(start_paused = true)]
async fn an_interrupt_gives_the_applications_no_grace_and_the_transactions_no_re_read() {
    let world = Scripted::three_brokers("orders", 3);
    // A long wait after the member crash: Ctrl-C lands in it, before the kill.
    let yaml = with_applications().replace(
        "  - name: kill-leader",
        "  - wait: 5m\n  - name: kill-leader",
    );
    let ran = run(&yaml, formed(&world), interrupt_at("event:fault-injected")).await;
    assert!(
        matches!(ran.outcome, Err(Error::Interrupted)),
        "{:?}",
        ran.outcome
    );
    // Ctrl-C came with the member crash in force: it is healed like any fault.
    assert_eq!(
        world.calls(),
        ["member-crash member-0", "heal member-crash member-0"]
    );
    let w = world.world();
    assert_eq!(w.consumer_grace, Some(Duration::ZERO));
    assert_eq!(w.group_grace, Some(Duration::ZERO));
    assert_eq!(w.transactions_reread, Some(false));
}

#[tokio::test(start_paused = true)]
async fn a_group_that_never_forms_is_said_after_60_s_and_the_steps_start_anyway() {
    let world = Scripted::three_brokers("orders", 3);
    let ran = run(&with_applications(), &world, no_hook()).await;
    assert!(ran.outcome.is_ok(), "{:?}", ran.outcome);
    assert!(
        ran.notes()
            .contains(&"the consumer group was not assigned every partition (one or more to each member) within 60 s; the steps start anyway"),
        "{:?}",
        ran.notes()
    );
    // The set-up itself takes no time here: the steps begin at the 60 s wait's end.
    let steps = phase_at(&ran, RunPhase::Steps);
    assert!((60_000_000..60_100_000).contains(&steps), "{steps} µs");
}
