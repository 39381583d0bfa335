//! The experiment's steps, one after the other: faults, heals, waits, conditions, elections.

use super::conditions::{self, Baseline};
use super::context::RunContext;
use super::faults::{Faults, HealTarget};
use super::workload::Producer;
use crate::error::Error;
use crate::events::{BrokerId, ClusterSnapshot, ConditionCheck, EventKind, LatencyPhase};
use crate::experiment::{Condition, ElectionType, Step};
use crate::kafka::metadata;
use crate::kafka::wire::Connection;
use crate::kafka::KafkaError;
use crate::platform::Cluster;
use crate::platform::FaultPlatform;
use crate::run::observer::Observer;
use std::time::Duration;
// Tokio's instant: schedules and deadlines follow paused time in the session's tests.
use tokio::sync::watch;
use tokio::time::Instant;

const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(60);

/// Waits until `condition` holds on the observed view; returns when it first did.
pub(super) async fn wait_condition(
    view: &mut watch::Receiver<ClusterSnapshot>,
    condition: &Condition,
    baseline: &Baseline,
    expected_brokers: &[BrokerId],
    timeout: Duration,
) -> Result<(), ()> {
    let none = conditions::DeadLeaderships::default();
    wait_condition_knowing(
        view,
        condition,
        baseline,
        expected_brokers,
        &[],
        &none,
        timeout,
    )
    .await
}

/// Like `wait_condition`, but a broker we hold down (killed or stopped) never counts as a
/// live leader, nor does a leadership that died with its broker, whatever stale metadata
/// still says.
pub(super) async fn wait_condition_knowing(
    view: &mut watch::Receiver<ClusterSnapshot>,
    condition: &Condition,
    baseline: &Baseline,
    expected_brokers: &[BrokerId],
    down: &[BrokerId],
    dead: &conditions::DeadLeaderships,
    timeout: Duration,
) -> Result<(), ()> {
    let check = |s: &ClusterSnapshot| {
        conditions::is_met(
            condition,
            &dead.usable_view(s, down),
            baseline,
            expected_brokers,
        )
    };
    tokio::time::timeout(timeout, view.wait_for(check))
        .await
        .map_err(|_| ())?
        .map_err(|_| ())?;
    Ok(())
}

pub(super) fn step_label(i: usize, step: &Step) -> String {
    step.name
        .clone()
        .unwrap_or_else(|| format!("step-{}", i + 1))
}

/// Runs the steps in order. "Changed" in a wait-for is relative to the cluster as it was when
/// the latest fault, heal or election step began (a graceful stop moves leadership while
/// `docker stop` still runs), or when the latest wait-for was met; before any of those, the
/// start of the steps.
pub(super) async fn run_steps(
    ctx: &RunContext<'_>,
    faults: &mut Faults<'_, impl FaultPlatform>,
    observer: &Observer,
    producer: Option<&dyn Producer>,
    expected_brokers: &[BrokerId],
    started: Instant,
) -> Result<(), Error> {
    let mut runner = StepRunner {
        ctx,
        faults,
        observer,
        producer,
        expected_brokers,
        baseline: Baseline {
            snapshot: observer.current(),
            committed: ctx.sink.transactions_committed(),
        },
    };
    for (i, step) in ctx.experiment.steps.iter().enumerate() {
        if let Some(at) = step.at {
            // Scheduling, not measuring: the step starts at this offset.
            tokio::time::sleep_until(started + at).await;
        }
        runner.run(&step_label(i, step), step).await?;
    }
    Ok(())
}

struct StepRunner<'r, 'c, 'f, P: FaultPlatform> {
    ctx: &'r RunContext<'c>,
    faults: &'r mut Faults<'f, P>,
    observer: &'r Observer,
    producer: Option<&'r dyn Producer>,
    expected_brokers: &'r [BrokerId],
    baseline: Baseline,
}

impl<P: FaultPlatform> StepRunner<'_, '_, '_, P> {
    fn say(&self, message: &str) {
        (self.ctx.progress)(message)
    }

    fn rebase(&mut self) {
        self.baseline = Baseline {
            snapshot: self.observer.current(),
            committed: self.ctx.sink.transactions_committed(),
        };
    }

    async fn run(&mut self, label: &str, step: &Step) -> Result<(), Error> {
        if step.fault.is_some() || step.heal.is_some() || step.elect.is_some() {
            self.rebase();
            self.observer.burst(self.ctx.experiment.observer.fast_for);
        }
        if let Some(spec) = &step.fault {
            self.say(&format!("{label}: {} {}", spec.kind, spec.target));
            if let Some(p) = self.producer {
                p.set_phase(LatencyPhase::DuringFault);
            }
            self.faults
                .inject(label, spec, &self.baseline.snapshot)
                .await?;
        } else if let Some(target) = &step.heal {
            self.say(&format!("{label}: heal {target}"));
            self.faults.heal(HealTarget::of_step(target)).await?;
        } else if let Some(d) = step.wait {
            self.say(&format!("{label}: wait {}", humantime::format_duration(d)));
            tokio::time::sleep(d).await;
        } else if let Some(condition) = &step.wait_for {
            self.wait_for(label, step, condition).await;
        } else if let Some(condition) = &step.assert {
            self.assert(label, condition);
        } else if let Some(elect) = &step.elect {
            self.elect(label, elect).await;
        }
        Ok(())
    }

    async fn wait_for(&mut self, label: &str, step: &Step, condition: &Condition) {
        let timeout = step.timeout.unwrap_or(DEFAULT_WAIT_TIMEOUT);
        self.say(&format!(
            "{label}: wait for {condition} (up to {})",
            humantime::format_duration(timeout)
        ));
        let met = if let Condition::TransactionsCommitted(n) = condition {
            // The workload's commits, counted as their events are emitted.
            let wanted = self.baseline.committed + n;
            let mut committed = self.ctx.sink.committed_transactions();
            tokio::time::timeout(timeout, committed.wait_for(|c| *c >= wanted))
                .await
                .is_ok_and(|r| r.is_ok())
        } else {
            self.wait_for_cluster(condition, timeout).await
        };
        if met {
            self.rebase();
        } else {
            self.say(&format!(
                "{label}: TIMED OUT after {} waiting for {condition}",
                humantime::format_duration(timeout)
            ));
        }
        self.ctx.sink.emit(EventKind::Condition {
            step: label.to_string(),
            condition: condition.to_string(),
            met,
            check: ConditionCheck::WaitFor,
            on_timeout: (!met).then(|| step.on_timeout.unwrap_or_default()),
        });
    }

    /// Waits for a condition on the observed cluster.
    async fn wait_for_cluster(&self, condition: &Condition, timeout: Duration) -> bool {
        let mut view = self.observer.view();
        let down: Vec<BrokerId> = self
            .faults
            .down_on_purpose
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter_map(|n| self.ctx.cluster.broker_id(n))
            .collect();
        let dead = self
            .faults
            .dead_leaderships
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        wait_condition_knowing(
            &mut view,
            condition,
            &self.baseline,
            self.expected_brokers,
            &down,
            &dead,
            timeout,
        )
        .await
        .is_ok()
    }

    fn assert(&mut self, label: &str, condition: &Condition) {
        let met = match condition {
            Condition::TransactionsCommitted(n) => {
                self.ctx.sink.transactions_committed() >= self.baseline.committed + n
            }
            _ => conditions::is_met(
                condition,
                &self.observer.current(),
                &self.baseline,
                self.expected_brokers,
            ),
        };
        self.ctx.sink.emit(EventKind::Condition {
            step: label.to_string(),
            condition: condition.to_string(),
            met,
            check: ConditionCheck::Assert,
            on_timeout: None,
        });
    }

    async fn elect(&mut self, label: &str, elect: &crate::experiment::ElectSpec) {
        let unclean = elect.election_type == ElectionType::Unclean;
        self.say(&format!(
            "{label}: request {} election of {}",
            if unclean { "unclean" } else { "preferred" },
            elect.partition
        ));
        let allowed = self.ctx.experiment.topics.iter().any(|t| {
            t.name == elect.partition.topic
                && t.config
                    .get("unclean.leader.election.enable")
                    .is_some_and(|v| v.0 == "true")
        });
        let result = if unclean && elect.if_topic_allows && !allowed {
            Ok("skipped: the topic does not allow unclean leader election".to_string())
        } else {
            request_election(
                self.ctx.cluster,
                &self.observer.current(),
                &elect.partition.topic,
                elect.partition.partition,
                unclean,
                &self.ctx.profile,
            )
            .await
        };
        self.ctx.sink.emit(EventKind::ElectionRequested {
            topic: elect.partition.topic.clone(),
            partition: elect.partition.partition,
            election_type: elect.election_type,
            result: result.unwrap_or_else(|e| format!("failed: {e}")),
        });
    }
}

/// ElectLeaders goes to the controller in ZooKeeper mode; KRaft brokers forward it.
pub(super) async fn request_election(
    cluster: &Cluster,
    view: &ClusterSnapshot,
    topic: &str,
    partition: i32,
    unclean: bool,
    profile: &crate::kafka::connect::Profile,
) -> Result<String, KafkaError> {
    let mut endpoints = cluster.bootstrap();
    if let Some(c) = view.controller {
        endpoints.sort_by_key(|(id, _)| *id != c);
    }
    let mut last = String::from("no broker");
    // Brokers that were just started may refuse or drop connections for a few seconds: keep
    // asking (every broker in turn) until one answers, for up to 30 s.
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        for (_, addr) in &endpoints {
            let answer = match Connection::connect(addr, Duration::from_secs(2), profile).await {
                Ok(mut conn) => metadata::elect_leader(
                    &mut conn,
                    topic,
                    partition,
                    unclean,
                    Duration::from_secs(10),
                )
                .await
                .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match answer {
                Ok(r) => return Ok(format!("{r} (answered by {addr})")),
                Err(e) => last = e,
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Err(KafkaError::NoBroker {
        tried: endpoints
            .iter()
            .map(|(_, a)| a.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        last,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::PartitionRef;

    fn view(leader: Option<BrokerId>, epoch: i32) -> ClusterSnapshot {
        ClusterSnapshot {
            controller: Some(1),
            brokers: vec![1, 2, 3],
            partitions: vec![crate::events::testing::orders0(
                leader,
                epoch,
                &[2, 3, 1],
                &[2, 3, 1],
            )],
        }
    }

    fn online() -> Condition {
        Condition::PartitionOnline(PartitionRef {
            topic: "orders".into(),
            partition: 0,
        })
    }

    #[tokio::test(start_paused = true)]
    async fn a_leader_we_killed_is_no_leader_whatever_stale_metadata_says() {
        let (tx, mut rx) = watch::channel(view(Some(2), 0));
        let (condition, baseline) = (online(), Baseline::default());
        // Broker 2 was killed while leading, and runs again (held by no fault any more): the
        // metadata still shows its old leadership.
        let mut dead = conditions::DeadLeaderships::default();
        dead.note(&view(Some(2), 0), &[2]);
        let waiting = wait_condition_knowing(
            &mut rx,
            &condition,
            &baseline,
            &[1, 2, 3],
            &[],
            &dead,
            Duration::from_secs(10),
        );
        let elect = async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            tx.send_replace(view(Some(3), 1));
        };
        let (met, ()) = tokio::join!(waiting, elect);
        assert_eq!(met, Ok(()));
        assert_eq!(
            rx.borrow().partitions[0].leader,
            Some(3),
            "met on the new leader"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_condition_that_never_holds_times_out() {
        let (_tx, mut rx) = watch::channel(view(Some(2), 0));
        let (condition, baseline) = (online(), Baseline::default());
        let dead = conditions::DeadLeaderships::default();
        let met = wait_condition_knowing(
            &mut rx,
            &condition,
            &baseline,
            &[1, 2, 3],
            &[2],
            &dead,
            Duration::from_secs(5),
        )
        .await;
        assert_eq!(met, Err(()));
    }
}
