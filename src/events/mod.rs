//! The one event stream of a run. Faults, observations and workload results are all
//! `Event`s; analysis and every report read only these, so a saved `events.jsonl`
//! re-renders the whole report.
//!
//! Time: `at_us` is microseconds on the monotonic clock since the run started (all
//! durations are differences of it); `wall_ms` is the wall clock (Unix ms) at the same
//! instant, for correlating with broker logs and Docker events.

mod io;
mod summary;
mod unknown;
mod vocabulary;

pub use io::*;
pub use summary::*;
pub use unknown::*;
pub use vocabulary::*;

use serde::{Deserialize, Serialize};

/// Broker id as Kafka reports it.
pub type BrokerId = i32;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub at_us: u64,
    pub wall_ms: i64,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum EventKind {
    /// First event of every run.
    RunStarted {
        experiment: String,
        /// What the experiment sets out to show, as its file says (what a reader needs to
        /// tell an expected timeout or outage from a surprise).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        description: String,
        #[serde(default)]
        variant: Option<String>,
        cluster_name: String,
        cluster_mode: ClusterMode,
        kafka_version: String,
        /// Observer poll period: the error bar of every metadata-derived time.
        observer_period_us: u64,
        /// service name -> broker id, so reports can name brokers.
        brokers: Vec<(String, BrokerId)>,
        /// Broker settings in force that decide the numbers (e.g. zookeeper.session.timeout.ms).
        #[serde(default)]
        settings: Vec<(String, String)>,
        #[serde(default)]
        seed: u64,
        #[serde(default)]
        reused_cluster: bool,
        /// The compose project the run attached to (a cluster chaos did not start).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attached_project: Option<String>,
        /// The Kubernetes cluster the run faulted (`namespace/strimzi-cluster`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        kubernetes: Option<String>,
        /// The experiment's expectations, so a saved run re-evaluates them.
        #[serde(default)]
        expect: Vec<String>,
        /// The hosts (Docker engines) the cluster spans, when more than one.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        nodes: Vec<RunNode>,
    },
    /// A topic's settings in force once it was created (DescribeConfigs on the topic): these,
    /// not the broker defaults, decide e.g. unclean election and min.insync.replicas.
    TopicSettings {
        topic: String,
        settings: Vec<TopicSetting>,
    },
    /// A named phase of the run begins (warm-up, fault, heal, verify…).
    Phase { name: RunPhase },
    /// A fault was applied. `target` is the role as written, `resolved` the services hit.
    FaultInjected {
        id: String,
        kind: FaultKind,
        target: String,
        resolved: Vec<String>,
        /// Broker ids of the resolved services (empty for ZooKeeper etc.).
        #[serde(default)]
        broker_ids: Vec<BrokerId>,
        source: TimeSource,
        /// The fault left its services out of every client's reach too, not only of their
        /// peers (a node cut at its uplink on Kubernetes): its brokers serve no one until it
        /// is reverted.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        unreachable: bool,
    },
    /// A fault was reverted (healed).
    FaultReverted {
        id: String,
        kind: FaultKind,
        resolved: Vec<String>,
        source: TimeSource,
    },
    /// A container lifecycle event seen on Docker's event stream (die, start, pause, …).
    Container {
        service: String,
        action: ContainerAction,
    },
    /// The observer saw a change; `snapshot` is the whole new view.
    Observed {
        snapshot: ClusterSnapshot,
        /// When the observer last had a view before this one (run clock, µs): the change
        /// happened in between, so this is the real error bar of the time.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous_view_us: Option<u64>,
    },
    /// The observer lost sight of the cluster: no broker answered for a while. Until the next
    /// `observed`, the cluster's state is unknown (not offline).
    ObserverError {
        error: String,
        /// The last time any broker had answered (run clock, µs).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_view_us: Option<u64>,
    },
    /// A `wait-for` condition became true or timed out, or an assert was evaluated.
    Condition {
        step: String,
        condition: String,
        met: bool,
        #[serde(default, skip_serializing_if = "is_default")]
        check: ConditionCheck,
        /// A wait-for that did not hold: what it makes of the run.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        on_timeout: Option<OnTimeout>,
    },
    /// An unclean leader election was requested explicitly (KRaft ElectLeaders).
    ElectionRequested {
        topic: String,
        partition: i32,
        election_type: ElectionType,
        result: String,
    },
    /// Workload progress, once a second: counts in the last interval.
    WorkloadTick {
        acked: u64,
        failed: u64,
        p99_us: u64,
    },
    /// A gap between consecutive successful acks on one partition (only gaps above the floor).
    AckGap(AckGap),
    /// A fresh producer's single write to a partition that had just become usable again
    /// (`became_usable_us`: its leader in the metadata, alive). The event's time is the ack.
    Probe {
        topic: String,
        partition: i32,
        became_usable_us: u64,
        acked: bool,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// The tracked producer's librdkafka knew no broker any more: every one it had learned
    /// was decommissioned because a Metadata response listed none (a broker that is still
    /// starting answers so — librdkafka issue #5301, 2.10 to at least 2.15 — and the client
    /// then never re-bootstraps by itself). `rebootstrapped`: the harness gave it the
    /// bootstrap servers again (`rd_kafka_brokers_add`), as its re-bootstrap should have.
    ClientLostBrokers {
        client: String,
        rebootstrapped: bool,
    },
    /// Totals of the tracked producer when it stopped.
    WorkloadDone(WorkloadSummary),
    /// A partition delivered nothing to the live consumer for a while (above 200 ms): the last
    /// delivery before and the first after.
    ConsumerGap(ConsumerSilence),
    /// The concurrent consumer's summary (when the workload has `consumer: true`).
    ConsumerDone(ConsumerSummary),
    /// A consumer-group member's own rebalance callback: partitions assigned to it, or
    /// revoked / lost. Stamped when the callback ran (inside the member's poll).
    GroupRebalance {
        member: u32,
        change: RebalanceChange,
        partitions: Vec<i32>,
    },
    /// The consumer group's progress, once a second: messages processed in the interval and
    /// the lag (high watermark − position, summed over the partitions members hold).
    GroupTick {
        processed: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lag: Option<u64>,
    },
    /// The consumer group's record once it stopped, checked (after the re-read when there is one).
    GroupDone(GroupSummary),
    /// The transactional producer's record, checked against a read_committed and a
    /// read_uncommitted re-read.
    TransactionsDone(TransactionSummary),
    /// The transactional producer's commit or abort returned (or both failed), at that moment.
    TransactionEnded { id: u64, outcome: TxnOutcome },
    /// Result of re-reading every partition and checking message identities.
    Verified(VerificationSummary),
    /// A leadership change as Kafka itself logged it (for cross-checking the observer).
    KafkaLog {
        service: String,
        /// The broker's own log timestamp (Unix ms).
        logged_wall_ms: i64,
        line: String,
    },
    /// Something the harness did or saw that a reader of the report should know (e.g. a broker
    /// that exited after its heal and was started again).
    Note { message: String },
    /// Something went wrong; the run goes on or is aborted (see RunFinished).
    Error { message: String },
    /// Last event of every run.
    RunFinished { outcome: RunOutcome },
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_outcome_classes_name_their_phase_as_ever() {
        let mut u = UnknownOutcomes::default();
        u.add(UnknownCause::NoAnswer, LatencyPhase::DuringFault, true);
        u.add(UnknownCause::NoAnswer, LatencyPhase::DuringFault, false);
        u.add(UnknownCause::NoAnswer, LatencyPhase::AfterHeal, false);
        let json = serde_json::to_string(&u.classes).unwrap();
        assert_eq!(
            json,
            r#"[{"cause":"no-answer","phase":"during-fault","written":1,"not_written":1},{"cause":"no-answer","phase":"after-heal","written":0,"not_written":1}]"#
        );
    }

    #[test]
    fn container_actions_are_dockers_words() {
        assert_eq!(
            ContainerAction::from_docker("kill"),
            Some(ContainerAction::Kill)
        );
        assert_eq!(ContainerAction::from_docker("exec_start: sh -c tc"), None);
        assert_eq!(ContainerAction::from_docker("attach"), None);
        for action in ContainerAction::ALL {
            let json = serde_json::to_string(&action).unwrap();
            assert_eq!(json, format!("\"{}\"", action.as_str()));
            assert_eq!(ContainerAction::from_docker(action.as_str()), Some(action));
        }
        let line =
            r#"{"at_us":1,"wall_ms":2,"event":"container","service":"kafka-1","action":"die"}"#;
        let event: Event = serde_json::from_str(line).unwrap();
        assert_eq!(serde_json::to_string(&event).unwrap(), line);
    }

    #[test]
    fn round_trips_through_jsonl_and_tolerates_a_torn_last_line() {
        let events = vec![
            Event {
                at_us: 0,
                wall_ms: 1,
                kind: EventKind::Phase {
                    name: RunPhase::Steps,
                },
            },
            Event {
                at_us: 5,
                wall_ms: 2,
                kind: EventKind::Observed {
                    snapshot: ClusterSnapshot {
                        controller: Some(1),
                        brokers: vec![1, 2, 3],
                        partitions: vec![PartitionState {
                            topic: "t".into(),
                            partition: 0,
                            leader: None,
                            leader_epoch: 3,
                            replicas: vec![1, 2, 3],
                            isr: vec![1],
                            offline_replicas: vec![],
                        }],
                    },
                    previous_view_us: None,
                },
            },
        ];
        let mut buf = Vec::new();
        let mut w = EventWriter::new(&mut buf);
        for e in &events {
            w.write(e).unwrap();
        }
        buf.extend_from_slice(b"{\"at_us\":9,\"wal");
        let back = read_events(&buf[..]).unwrap();
        assert_eq!(back, events);
    }

    #[test]
    fn a_corrupt_line_in_the_middle_is_an_error_with_its_line() {
        let text = "{\"at_us\":0,\"wall_ms\":0,\"event\":\"phase\",\"name\":\"steps\"}\nnope\n{\"at_us\":0,\"wall_ms\":0,\"event\":\"phase\",\"name\":\"heal\"}\n";
        let err = read_events(text.as_bytes()).unwrap_err();
        assert!(err.to_string().starts_with("line 2:"), "{err}");
    }
}

/// Builders of events for the unit tests of every module that reads them (one place, so the
/// tests agree on what "orders/0 on brokers 1–3" is).
#[cfg(test)]
pub(crate) mod testing {
    use super::*;

    /// An event `at_ms` into the run.
    pub fn at_ms(at_ms: u64, kind: EventKind) -> Event {
        Event {
            at_us: at_ms * 1000,
            wall_ms: 0,
            kind,
        }
    }

    /// orders/0 on `replicas` with this leader, epoch and ISR.
    pub fn orders0(
        leader: Option<BrokerId>,
        epoch: i32,
        replicas: &[BrokerId],
        isr: &[BrokerId],
    ) -> PartitionState {
        PartitionState {
            topic: "orders".into(),
            partition: 0,
            leader,
            leader_epoch: epoch,
            replicas: replicas.to_vec(),
            isr: isr.to_vec(),
            offline_replicas: vec![],
        }
    }

    /// Brokers 1–3 with this controller and orders/0 on 1, 2, 3.
    pub fn snapshot(
        leader: Option<BrokerId>,
        epoch: i32,
        isr: &[BrokerId],
        controller: BrokerId,
    ) -> ClusterSnapshot {
        ClusterSnapshot {
            controller: Some(controller),
            brokers: vec![1, 2, 3],
            partitions: vec![orders0(leader, epoch, &[1, 2, 3], isr)],
        }
    }

    /// The observer's view of `snapshot`.
    pub fn observed(
        leader: Option<BrokerId>,
        epoch: i32,
        isr: &[BrokerId],
        controller: BrokerId,
    ) -> EventKind {
        EventKind::Observed {
            snapshot: snapshot(leader, epoch, isr, controller),
            previous_view_us: None,
        }
    }

    /// SIGKILL of `broker`, timed by Docker's event stream.
    pub fn kill(at: u64, broker: BrokerId) -> Event {
        at_ms(
            at,
            EventKind::FaultInjected {
                id: "k".into(),
                kind: FaultKind::Kill,
                target: "t".into(),
                resolved: vec![],
                broker_ids: vec![broker],
                source: TimeSource::DockerEvent,
                unreachable: false,
            },
        )
    }

    /// Two hosts n1 and n2 (n2's clock 2.2 ms less sure than n1's).
    pub fn two_hosts() -> Vec<RunNode> {
        ["n1", "n2"]
            .iter()
            .enumerate()
            .map(|(i, n)| RunNode {
                name: n.to_string(),
                engine: format!("tcp://10.0.0.{i}:2375"),
                address: format!("10.0.0.{i}"),
                clock_offset_us: 40,
                clock_error_us: 300 + i as i64 * 2_200,
                services: vec![format!("kafka-{i}")],
            })
            .collect()
    }

    /// A whole run on `nodes` (empty: one engine): started, `between`, finished, 1 ms apart.
    pub fn run_on(nodes: Vec<RunNode>, between: Vec<EventKind>) -> Vec<Event> {
        let mut kinds = vec![EventKind::RunStarted {
            experiment: "x".into(),
            description: String::new(),
            variant: None,
            cluster_name: "c".into(),
            cluster_mode: ClusterMode::Zookeeper,
            kafka_version: "3.9.1".into(),
            observer_period_us: 100_000,
            brokers: vec![],
            settings: vec![],
            seed: 0,
            reused_cluster: false,
            attached_project: None,
            kubernetes: None,
            nodes,
            expect: vec![],
        }];
        kinds.extend(between);
        kinds.push(EventKind::RunFinished {
            outcome: RunOutcome::Completed,
        });
        kinds
            .into_iter()
            .enumerate()
            .map(|(i, kind)| at_ms(i as u64, kind))
            .collect()
    }

    /// step-2's wait for a new leader of orders/0, met or not.
    pub fn leader_changed_condition(
        met: bool,
        check: ConditionCheck,
        on_timeout: Option<OnTimeout>,
    ) -> EventKind {
        EventKind::Condition {
            step: "step-2".into(),
            condition: "leader of orders/0 changed".into(),
            met,
            check,
            on_timeout,
        }
    }
}
