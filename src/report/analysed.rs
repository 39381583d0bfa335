//! The reports of runs analysed from events: what the analysis found (a failover timed by
//! the log, a gap that did not resume, hosts, timed-out waits, a failed assert) as each
//! report shows it. Here, not in `analysis`, so that only `report` looks at `analysis`.

use super::{render_junit, render_markdown, render_table};
use crate::events::{
    AckGap, ConditionCheck, Event, EventKind, OnTimeout, RunNode, WorkloadSummary,
};
use crate::model::RunResult;

use crate::events::testing::{at_ms as ev, kill, leader_changed_condition as condition, observed};

/// At `at_ms`, orders/0 on brokers 1–3 with this leader, epoch, ISR and controller.
fn snap(at_ms: u64, leader: Option<i32>, epoch: i32, isr: &[i32], controller: i32) -> Event {
    ev(at_ms, observed(leader, epoch, isr, controller))
}

fn analyze(events: Vec<Event>) -> RunResult {
    crate::analysis::analyze(&events)
}

/// A run on `nodes` (empty: one engine) with these events between its start and end.
fn run_on(nodes: Vec<RunNode>, between: Vec<EventKind>) -> RunResult {
    analyze(crate::events::testing::run_on(nodes, between))
}

#[test]
fn a_failover_timed_by_the_log_shows_its_millisecond_and_the_poll() {
    let log = ev(
        6_937,
        EventKind::KafkaLog {
            service: "kafka-2".into(),
            logged_wall_ms: 0,
            line: "[2026-11-27T11:24:20,068] INFO [Broker id=2] Leader orders-0 with topic id Some(x) starts at leader epoch 1 from offset 1 (state.change.logger)".into(),
        },
    );
    let r = analyze(vec![
        snap(0, Some(1), 0, &[1, 2], 1),
        kill(1000, 1),
        log,
        snap(7000, Some(2), 1, &[2], 2),
    ]);
    let table = render_table(&r);
    assert!(table.contains("5.94 s ± 1 ms (log; poll 6.00 s"), "{table}");
}

#[test]
fn a_gap_that_did_not_resume_says_so() {
    let r = analyze(vec![
        snap(0, Some(1), 0, &[1, 2], 1),
        kill(1000, 1),
        snap(7000, Some(2), 1, &[2], 2),
        ev(
            19000,
            EventKind::AckGap(AckGap {
                topic: "orders".into(),
                partition: 0,
                from_us: 990_000,
                to_us: 19_000_000,
                open: true,
            }),
        ),
        ev(20000, EventKind::WorkloadDone(WorkloadSummary::default())),
    ]);
    assert!(render_table(&r).contains("did not resume"));
}

#[test]
fn every_report_names_the_hosts_and_their_clocks() {
    let r = run_on(crate::events::testing::two_hosts(), vec![]);
    let table = render_table(&r);
    assert!(
        table.contains("on 2 hosts (n1, n2); times ± 102 ms (observer poll + host clocks)")
            && table.contains(
                "host n2: tcp://10.0.0.1:2375 at 10.0.0.1, clock +0.04 ms ± 2.50 ms: kafka-1"
            ),
        "{table}"
    );
    assert!(render_markdown(&r).contains("Host n1: "));
}

#[test]
fn a_timed_out_wait_and_an_accepted_one_show_in_the_table() {
    let timed_out = run_on(
        vec![],
        vec![condition(
            false,
            ConditionCheck::WaitFor,
            Some(OnTimeout::Inconclusive),
        )],
    );
    assert!(
        render_table(&timed_out).contains("TIMED OUT: step-2"),
        "the table shows it"
    );
    let accepted = run_on(
        vec![],
        vec![condition(
            false,
            ConditionCheck::WaitFor,
            Some(OnTimeout::Continue),
        )],
    );
    assert!(render_table(&accepted).contains("accepted (on-timeout: continue)"));
}

#[test]
fn a_failed_assert_is_in_the_junit_report() {
    let r = run_on(vec![], vec![condition(false, ConditionCheck::Assert, None)]);
    assert!(render_junit(std::slice::from_ref(&r))
        .map(|x| String::from_utf8_lossy(&x).contains("ASSERT FAILED"))
        .unwrap());
}
