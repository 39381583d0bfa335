//! How numbers read in every report: times with their unit and error bar.

pub fn duration_ms(ms: f64) -> String {
    if !ms.is_finite() {
        "—".into()
    } else if ms.abs() >= 10_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else if ms.abs() >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        format!("{ms:.0} ms")
    }
}

pub fn opt_ms(ms: Option<f64>) -> String {
    ms.map(duration_ms).unwrap_or_else(|| "—".into())
}

/// A failover: from the new leader's own log line (± 1 ms) where there is one, with the
/// poll-derived time beside it; else the poll-derived time with its error bar.
pub fn failover(p: &super::PartitionResult, error_bar_ms: f64) -> String {
    let polled = measured(p.failover_ms, p.failover_error_ms.unwrap_or(error_bar_ms));
    match (p.failover_log_ms, p.failover_ms) {
        (Some(logged), Some(_)) => format!("{} ± 1 ms (log; poll {polled})", duration_ms(logged)),
        _ => polled,
    }
}

/// A metadata-derived time with the observer's poll period as its error bar.
pub fn measured(ms: Option<f64>, error_bar_ms: f64) -> String {
    match ms {
        Some(v) => format!("{} ± {}", duration_ms(v), duration_ms(error_bar_ms)),
        None => "—".into(),
    }
}

pub fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "longest silence 9.55 s on orders/0", or nothing without a silence.
pub fn consumer_silence(c: &super::ConsumerResult, lead: &str) -> String {
    c.longest_gap
        .as_ref()
        .map(|g| {
            format!(
                "{lead}longest silence {} on {}/{}",
                duration_ms(g.ms),
                g.topic,
                g.partition
            )
        })
        .unwrap_or_default()
}

/// "unclean.leader.election.enable=true (topic)  min.insync.replicas=1 (default)".
pub fn topic_settings(settings: &[crate::events::TopicSetting]) -> String {
    settings
        .iter()
        .map(|s| format!("{}={} ({})", s.name, s.value, s.source))
        .collect::<Vec<_>>()
        .join("  ")
}

/// The client's recovery of a partition: "450 ms", "did not resume (≥ 13.0 s)", or "—".
pub fn recovery(p: &super::PartitionResult) -> String {
    let ours = match (p.resumed, p.recovery_ms) {
        (Some(false), Some(at_least)) => format!("did not resume (≥ {})", duration_ms(at_least)),
        (Some(false), None) => "did not resume".into(),
        (_, Some(ms)) => duration_ms(ms),
        (_, None) => "—".into(),
    };
    let consumer = p
        .consumer_recovery_ms
        .map(|c| format!(", consumer {}", duration_ms(c)))
        .unwrap_or_default();
    match (p.fresh_client_ms, &p.probe_error) {
        (Some(fresh), _) => format!("{ours} (fresh client {}{consumer})", duration_ms(fresh)),
        (None, Some(_)) => format!("{ours} (fresh client failed{consumer})"),
        (None, None) if !consumer.is_empty() => format!("{ours} ({})", &consumer[2..]),
        (None, None) => ours,
    }
}

/// "unknown outcomes 4,162: 1,900 written (only the ack was lost) · 2,262 not written", then a
/// line per cause and phase.
/// A span in which no broker answered the observer, with the run's own faults on brokers
/// that overlap it (taken down then, or healed inside it and still starting) — what
/// explains it when the run caused it; the line says so when none does.
pub fn blind_line(r: &crate::model::RunResult, u: &crate::model::Interval) -> String {
    let end = u.to_ms.unwrap_or(f64::INFINITY);
    let causes: Vec<String> = r
        .faults
        .iter()
        .filter(|f| !f.resolved.is_empty())
        .filter(|f| f.at_ms < end && f.healed_at_ms.is_none_or(|h| h > u.from_ms))
        .map(|f| {
            let healed = match f.healed_at_ms {
                Some(h) if h < end => format!(", healed at {}: starting again", duration_ms(h)),
                Some(_) => String::new(),
                None => ", never healed".into(),
            };
            format!(
                "{} {} at {}{healed}",
                f.kind,
                f.resolved.join(", "),
                duration_ms(f.at_ms)
            )
        })
        .collect();
    let why = if causes.is_empty() {
        "no fault of the run explains it".to_string()
    } else {
        format!("the run's faults then: {}", causes.join("; "))
    };
    format!(
        "observer blind {} – {}: no broker answered ({why}); the cluster's state then is unknown (not counted as offline)",
        duration_ms(u.from_ms),
        opt_ms(u.to_ms)
    )
}

/// "CLIENT DID NOT RESUME …" when a partition had no ack at all after its fault.
pub fn not_resumed_line(w: &crate::model::WorkloadResult) -> Option<String> {
    (!w.resumed).then(|| {
        format!(
            "CLIENT DID NOT RESUME on {}: no ack at all when the workload stopped (see recovery)",
            w.not_resumed.join(", ")
        )
    })
}

/// " (+ N unverified: not read)" beside the acked-lost count when the re-read did not get to
/// every acked message, so that the loss it counts is not read as the whole story.
pub fn unverified_suffix(v: &crate::events::VerificationSummary) -> String {
    if v.unverified_acked == 0 {
        return String::new();
    }
    format!(
        " (+ {} acked unverified: not read)",
        count(v.unverified_acked)
    )
}

pub fn unknown_outcomes(u: &crate::events::UnknownOutcomes) -> String {
    let mut out = format!(
        "unknown outcomes {}: {} written (only the ack was lost) · {} not written\n",
        count(u.total),
        count(u.written),
        count(u.not_written)
    );
    let mut classes = u.classes.clone();
    // By cause, then the phase's name (the order these lines have always had).
    classes.sort_by_key(|c| (c.cause, c.phase.as_str()));
    for c in &classes {
        out.push_str(&format!(
            "  {} {}: {} written · {} not written\n",
            c.cause.describe(),
            c.phase.describe(),
            count(c.written),
            count(c.not_written)
        ));
    }
    if u.failed_but_written > 0 {
        out.push_str(&format!(
            "  reported failed by the client, yet in the log: {}\n",
            count(u.failed_but_written)
        ));
    }
    out
}

/// A wait-for that timed out or an assert that did not hold, with what it made of the run.
pub fn unmet_condition(c: &super::ConditionResult) -> String {
    use crate::events::ConditionCheck;
    use crate::model::Status;
    // The consequence is the condition's own verdict (one rule), said in words.
    let consequence = match (c.verdict(), c.check) {
        (Some(Status::Failed), ConditionCheck::Assert) => "the run failed",
        (Some(Status::Failed), ConditionCheck::WaitFor) => "the run failed (on-timeout: fail)",
        (Some(_), _) => "the run is inconclusive",
        (None, _) => "accepted (on-timeout: continue)",
    };
    match c.check {
        ConditionCheck::WaitFor => format!(
            "TIMED OUT: {} waited for `{}` until {}: {consequence}",
            c.step,
            c.condition,
            duration_ms(c.at_ms)
        ),
        ConditionCheck::Assert => format!(
            "ASSERT FAILED: {} `{}` did not hold at {}: {consequence}",
            c.step,
            c.condition,
            duration_ms(c.at_ms)
        ),
    }
}

// Long: a renderer: the group summary's lines in reading order
/// The consumer group in lines (terminal and Markdown alike): what it processed and what the
/// checker found, its rebalances, and the first duplicate as an example.
pub fn group_lines(g: &super::GroupResult) -> Vec<String> {
    use crate::events::CommitMode;
    let commit = match (g.commit, g.commit_interval_ms) {
        (CommitMode::Auto, i) => format!("auto every {}", duration_ms(i)),
        (m, 0.0) => format!("{} after every message", m.as_str()),
        (m, i) => format!("{} every {}", m.as_str(), duration_ms(i)),
    };
    let causes = g
        .duplicate_causes
        .iter()
        .map(|(c, n)| format!("{} {}", count(*n), serde_plain(c)))
        .collect::<Vec<_>>()
        .join(", ");
    let opt = |v: Option<u64>| v.map(count).unwrap_or_else(|| "— (no re-read)".into());
    let mut lines = vec![format!(
        "group {} ({} members, {} protocol, commit {commit}, session {}, max poll {}): processed {} · distinct {} · duplicates {}{} · skipped {} · past its progress {} · commits {}{} · lag max {}",
        g.group_id,
        g.members,
        match g.protocol {
            crate::events::GroupProtocol::Classic => "classic",
            crate::events::GroupProtocol::Consumer => "consumer (KIP-848)",
        },
        match (g.protocol, g.session_timeout_ms) {
            (crate::events::GroupProtocol::Consumer, 0) => "the broker's (not read)".to_string(),
            (crate::events::GroupProtocol::Consumer, ms) => format!("{} (the broker's)", duration_ms(ms as f64)),
            (_, ms) => duration_ms(ms as f64),
        },
        duration_ms(g.max_poll_interval_ms as f64),
        count(g.processed),
        count(g.distinct),
        count(g.duplicates),
        if causes.is_empty() { String::new() } else { format!(" ({causes})") },
        opt(g.skipped),
        opt(g.unprocessed_tail),
        count(g.commits),
        if g.commit_failures > 0 { format!(" ({} failed)", count(g.commit_failures)) } else { String::new() },
        g.lag_max.map(count).unwrap_or_else(|| "—".into()),
    )];
    let rebalances = g
        .rebalances
        .iter()
        .map(|r| match r.to_ms {
            Some(to) => duration_ms(to - r.from_ms),
            None => "not finished".into(),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let resumed = g
        .resumed_after_fault
        .iter()
        .map(|(id, ms)| match ms {
            Some(ms) => format!("{id} {}", duration_ms(*ms)),
            None => format!("{id} no rebalance after it"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let untimed = if g.faults_hit_while_not_whole.is_empty() {
        String::new()
    } else {
        format!(
            " · not timed, the group was not whole when it hit: {}",
            g.faults_hit_while_not_whole.join(", ")
        )
    };
    lines.push(format!(
        "rebalances: {}{} (first revoke → every partition held by a live member, ± {} each end){}{}{}",
        g.rebalances.len(),
        if rebalances.is_empty() { String::new() } else { format!(" — {rebalances}") },
        duration_ms(g.error_bar_ms),
        if resumed.is_empty() { String::new() } else { format!(" · fault → group whole again: {resumed}") },
        untimed,
        g.longest_gap
            .as_ref()
            .map(|gap| format!(" · longest unprocessed: {}/{} {}", gap.topic, gap.partition, duration_ms(gap.ms)))
            .unwrap_or_default(),
    ));
    if let Some(d) = g.duplicate_sample.first() {
        lines.push(format!(
            "first duplicate: partition {} seq {} — member {} at offset {} ({}), again member {} at offset {} ({}), last commit before {}: {}",
            d.partition,
            d.seq,
            d.first_member,
            d.first_offset,
            duration_ms(d.first_at_us as f64 / 1000.0),
            d.again_member,
            d.again_offset,
            duration_ms(d.again_at_us as f64 / 1000.0),
            d.committed.map(|c| c.to_string()).unwrap_or_else(|| "none".into()),
            d.cause.describe()
        ));
    }
    lines
}

/// The transactional producer and the exactly-once checks, in lines.
pub fn transaction_lines(t: &crate::events::TransactionSummary) -> Vec<String> {
    let mut lines = vec![format!(
        "transactions {} (size {}, abort every {}): committed {} · aborted {} · unknown {}{} · read_committed {} msgs: ATOMICITY VIOLATIONS {} · aborted visible {} · committed missing {} · duplicates {} · reordered {} · read_uncommitted saw {} aborted msgs{}",
        t.transactional_id,
        t.size,
        t.abort_every,
        count(t.committed),
        count(t.aborted),
        count(t.unknown),
        t.longest_without_commit_ms
            .map(|ms| format!(" · longest without a commit {}", duration_ms(ms)))
            .unwrap_or_default(),
        count(t.read_committed),
        count(t.atomicity_violations),
        count(t.aborted_visible),
        count(t.committed_missing),
        count(t.duplicates),
        count(t.reordered),
        count(t.aborted_seen_uncommitted),
        if t.complete { "" } else { " · re-read INCOMPLETE" },
    )];
    for v in t.violation_sample.iter().take(5) {
        lines.push(format!(
            "half-visible transaction {}: {} of {} messages visible at (partition, offset) {:?}",
            v.txn, v.visible, v.size, v.offsets
        ));
    }
    if let Some(l) = &t.live {
        lines.push(format!(
            "live read_committed reader: {} msgs · committed seen whole {} · ATOMICITY VIOLATIONS {} · aborted visible {} · committed never seen {} · duplicates {} · reordered {} · commit → visible p50 {}, max {}{}",
            count(l.read),
            count(l.committed_seen),
            count(l.atomicity_violations),
            count(l.aborted_visible),
            count(l.committed_missing),
            count(l.duplicates),
            count(l.reordered),
            l.visible_after_commit_p50_ms.map_or_else(|| "—".into(), duration_ms),
            l.visible_after_commit_max_ms.map_or_else(|| "—".into(), duration_ms),
            if l.complete { "" } else { " · did not reach the end: INCOMPLETE" },
        ));
        for v in l.violation_sample.iter().take(5) {
            lines.push(format!(
                "seen partly live, never completed: transaction {}: {} of {} messages at (partition, offset) {:?}",
                v.txn, v.visible, v.size, v.offsets
            ));
        }
    }
    if let Some(r) = &t.read_process_write {
        lines.push(format!(
            "read-process-write {} → {} (group {}): {} inputs, {} consumed (committed offsets {:?}): processed once {} · PROCESSED TWICE {} · MISSING {} · output beyond committed offset {} · not yet consumed {} · rewinds {}{}",
            r.input_topic,
            r.output_topic,
            r.group_id,
            count(r.inputs),
            count(r.consumed),
            r.committed_offsets,
            count(r.processed_once),
            count(r.processed_twice),
            count(r.missing),
            count(r.beyond_committed),
            count(r.unprocessed_tail),
            count(r.rewinds),
            if r.complete { "" } else { " · INCOMPLETE" },
        ));
        for o in r.offenders.iter().take(5) {
            lines.push(format!(
                "{}: input {}/{} → outputs (partition, offset) {:?} in transactions {:?}",
                o.anomaly.as_str(),
                o.input_partition,
                o.input_offset,
                o.outputs,
                o.txns
            ));
        }
    }
    lines
}

/// An enum's kebab-case JSON name.
fn serde_plain<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The partition table's columns, as the terminal table and the run page print them.
pub const PARTITION_COLUMNS: [&str; 10] = [
    "partition",
    "failover",
    "unavailable",
    "offline",
    "under-replicated",
    "ISR changes",
    "min ISR",
    "preferred back",
    "client gap",
    "recovery",
];

/// One partition's row under `PARTITION_COLUMNS`.
pub fn partition_row(p: &crate::model::PartitionResult, error_bar_ms: f64) -> Vec<String> {
    vec![
        format!("{}/{}", p.topic, p.partition),
        failover(p, error_bar_ms),
        duration_ms(p.unavailable_ms),
        duration_ms(p.offline_ms),
        duration_ms(p.under_replicated_ms),
        p.isr_changes.len().to_string(),
        p.isr_changes
            .iter()
            .map(|c| c.isr.len())
            .min()
            .map(|m| m.to_string())
            .unwrap_or_else(|| "—".into()),
        opt_ms(p.preferred_restored_ms),
        opt_ms(p.unavailability_ms),
        recovery(p),
    ]
}

/// The workload's line of the terminal table and the run page: ("acks=…, keys …",
/// "sent … · acked … · … latency p50 … p99 … max …").
pub fn workload_line(w: &crate::model::WorkloadResult) -> (String, String) {
    (
        format!(
            "acks={}{}",
            w.acks,
            w.keys.as_ref().map(|k| format!(", keys {k}")).unwrap_or_default()
        ),
        format!(
            "sent {} · acked {} · failed {} · unknown {} · {:.0} msg/s · latency p50 {} p99 {} max {}",
            count(w.sent),
            count(w.acked),
            count(w.failed),
            count(w.unknown),
            w.throughput_per_s,
            duration_ms(w.latency_ms.p50),
            duration_ms(w.latency_ms.p99),
            duration_ms(w.latency_ms.max)
        ),
    )
}

/// One host of a cluster over several engines: "n1: tcp://… at 10.0.0.1, clock +0.02 ms ±
/// 0.31 ms: zookeeper-1, kafka-1".
pub fn host_line(n: &crate::events::RunNode) -> String {
    format!(
        "{}: {} at {}, clock {:+.2} ms ± {:.2} ms: {}",
        n.name,
        n.engine,
        n.address,
        n.clock_offset_us as f64 / 1000.0,
        n.clock_error_us as f64 / 1000.0,
        n.services.join(", ")
    )
}

/// "CLIENT LOST EVERY BROKER …": when the tracked client's library decommissioned every broker
/// it knew (librdkafka issue #5301), and whether the harness re-bootstrapped it.
pub fn lost_brokers_line(w: &crate::model::WorkloadResult) -> Option<String> {
    let first = w.lost_brokers.first()?;
    let times: Vec<String> = w
        .lost_brokers
        .iter()
        .map(|l| duration_ms(l.at_ms))
        .collect();
    let what = if first.rebootstrapped {
        "the harness gave it the bootstrap servers again each time; an application on this \
         library stays without brokers until it is restarted"
    } else {
        "not re-bootstrapped (workload.rebootstrap-when-no-brokers: false, or a client in \
         another process): it stays without brokers, as an application on this library does, \
         unless the library finds them again itself"
    };
    Some(format!(
        "CLIENT LOST EVERY BROKER at {} (seen in librdkafka's statistics, once a second: up to \
         1 s late): a Metadata response listed no brokers (a broker still starting), so \
         librdkafka decommissioned every broker it knew (librdkafka issue #5301); {what}",
        times.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_client_that_lost_every_broker_is_said_with_its_times_and_what_followed() {
        let mut w = crate::model::WorkloadResult::default();
        assert_eq!(lost_brokers_line(&w), None);
        w.lost_brokers = vec![
            crate::model::LostBrokers {
                at_ms: 20_700.0,
                rebootstrapped: true,
            },
            crate::model::LostBrokers {
                at_ms: 23_100.0,
                rebootstrapped: true,
            },
        ];
        let line = lost_brokers_line(&w).unwrap();
        assert!(
            line.starts_with("CLIENT LOST EVERY BROKER at 20.7 s, 23.1 s (seen"),
            "{line}"
        );
        assert!(
            line.contains("up to 1 s late") && line.contains("#5301"),
            "{line}"
        );
        assert!(line.contains("bootstrap servers again"), "{line}");
        w.lost_brokers.truncate(1);
        w.lost_brokers[0].rebootstrapped = false;
        assert!(lost_brokers_line(&w)
            .unwrap()
            .contains("not re-bootstrapped"));
    }

    #[test]
    fn unknown_outcome_classes_are_listed_by_cause_then_the_phases_name() {
        use crate::events::{LatencyPhase, UnknownCause, UnknownOutcomes};
        let mut u = UnknownOutcomes::default();
        u.add(UnknownCause::NoAnswer, LatencyPhase::DuringFault, true);
        u.add(UnknownCause::NoAnswer, LatencyPhase::AfterHeal, false);
        u.add(
            UnknownCause::TimedOutQueued,
            LatencyPhase::BeforeFault,
            false,
        );
        let text = super::unknown_outcomes(&u);
        let at = |needle: &str| {
            text.find(needle)
                .unwrap_or_else(|| panic!("{needle}: {text}"))
        };
        assert!(at("queued (never sent) before the fault") < at("flush after the heal"));
        assert!(at("after the heal") < at("during the fault"), "{text}");
    }

    #[test]
    fn the_transaction_lines_carry_the_live_view_and_name_read_process_write_offenders() {
        use crate::events::{
            LiveTransactionView, ProcessingAnomaly, ProcessingOffender, ReadProcessWriteSummary,
            TransactionSummary,
        };
        let mut t = TransactionSummary {
            transactional_id: "tx-1".into(),
            complete: true,
            ..Default::default()
        };
        assert_eq!(
            super::transaction_lines(&t).len(),
            1,
            "no live reader, no loop"
        );
        t.live = Some(Box::new(LiveTransactionView {
            read: 1_482,
            aborted_visible: 2,
            visible_after_commit_p50_ms: Some(33.4),
            complete: true,
            ..Default::default()
        }));
        t.read_process_write = Some(Box::new(ReadProcessWriteSummary {
            input_topic: "orders".into(),
            output_topic: "orders-out".into(),
            processed_twice: 1,
            complete: false,
            offenders: vec![ProcessingOffender {
                anomaly: ProcessingAnomaly::ProcessedTwice,
                input_partition: 0,
                input_offset: 10,
                outputs: vec![(0, 10), (0, 20)],
                txns: vec![1, 2],
            }],
            ..Default::default()
        }));
        let lines = super::transaction_lines(&t);
        assert!(
            lines[1].starts_with("live read_committed reader: 1,482 msgs")
                && lines[1].contains("aborted visible 2")
                && lines[1].contains("commit → visible p50 33 ms, max —"),
            "{lines:?}"
        );
        assert!(
            lines[2].contains("orders → orders-out")
                && lines[2].contains("PROCESSED TWICE 1")
                && lines[2].ends_with("INCOMPLETE"),
            "{lines:?}"
        );
        assert_eq!(
            lines[3],
            "processed twice: input 0/10 → outputs (partition, offset) [(0, 10), (0, 20)] in transactions [1, 2]"
        );
    }

    #[test]
    fn the_group_lines_name_the_causes_the_rebalances_and_a_group_that_never_rebalanced() {
        use crate::events::{CommitMode, DuplicateCause};
        let mut g = super::super::GroupResult {
            group_id: "g-1".into(),
            members: 3,
            commit: CommitMode::Sync,
            commit_interval_ms: 0.0,
            duplicates: 7,
            duplicate_causes: vec![(DuplicateCause::RebalanceFromCommitted, 7)],
            skipped: Some(0),
            rebalances: vec![crate::model::Interval {
                from_ms: 1_000.0,
                to_ms: Some(3_500.0),
            }],
            resumed_after_fault: vec![("crash".into(), Some(9_000.0)), ("kill".into(), None)],
            error_bar_ms: 100.0,
            ..Default::default()
        };
        let lines = super::group_lines(&g).join("\n");
        assert!(lines.contains("commit sync after every message"), "{lines}");
        assert!(
            lines.contains("duplicates 7 (7 rebalance-from-committed)"),
            "{lines}"
        );
        assert!(lines.contains("rebalances: 1 — 2.50 s"), "{lines}");
        assert!(
            lines.contains("crash 9.00 s, kill no rebalance after it"),
            "{lines}"
        );
        g.skipped = None;
        assert!(super::group_lines(&g)[0].contains("skipped — (no re-read)"));
    }

    use super::*;

    #[test]
    fn units_follow_magnitude() {
        assert_eq!(duration_ms(850.2), "850 ms");
        assert_eq!(duration_ms(6292.3), "6.29 s");
        assert_eq!(duration_ms(18_260.0), "18.3 s");
        assert_eq!(measured(Some(6292.3), 100.0), "6.29 s ± 100 ms");
        assert_eq!(count(1_234_567), "1,234,567");
    }
}

#[cfg(test)]
mod blind_tests {
    #[test]
    fn a_blind_span_names_the_runs_faults_that_explain_it() {
        // The unclean scenario: B and C stopped, then A killed; no broker answered until B
        // and C, healed, had started again.
        let events = crate::events::read_events(
            &include_bytes!("../../tests/fixtures/events/unclean-election.jsonl")[..],
        )
        .unwrap();
        let r = crate::analysis::analyze(&events);
        let u = r.unobserved.first().expect("the fixture's blind span");
        let line = super::blind_line(&r, u);
        assert!(
            line.contains("the run's faults then: stop kafka-2, kafka-3 at")
                && line.contains("healed at")
                && line.contains("starting again")
                && line.contains("kill kafka-1 at"),
            "{line}"
        );
        let mut quiet = r.clone();
        quiet.faults.clear();
        assert!(super::blind_line(&quiet, u).contains("no fault of the run explains it"));
    }
}
