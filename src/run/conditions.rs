//! `wait-for` / `assert` conditions on the observed cluster. Pure.

use crate::events::{BrokerId, ClusterSnapshot};
use crate::experiment::Condition;

/// What the cluster looked like when the step began ("changed" is relative to it).
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    pub snapshot: ClusterSnapshot,
    /// Transactions committed by then (`transactions-committed` counts from it).
    pub committed: u64,
}

/// Leaderships that are gone: a partition whose leader we killed or stopped serves nothing
/// again — even once that broker runs again — until a new election (a new leader epoch),
/// whatever stale metadata still says. One rule for the wait-for conditions and the
/// fresh-client probes (the analysis applies it to the recorded history).
#[derive(Debug, Clone, Default)]
pub struct DeadLeaderships(
    // topic → partition → (leader, epoch): looked up by `&str`, no key built per check.
    std::collections::HashMap<String, std::collections::HashMap<i32, (Option<BrokerId>, i32)>>,
);

impl DeadLeaderships {
    /// Notes every partition that `view` shows led by a broker in `held` (killed or stopped).
    pub fn note(&mut self, view: &ClusterSnapshot, held: &[BrokerId]) {
        for p in &view.partitions {
            if p.leader.is_some_and(|l| held.contains(&l)) {
                self.0
                    .entry(p.topic.clone())
                    .or_default()
                    .insert(p.partition, (p.leader, p.leader_epoch));
            }
        }
    }

    /// Whether the partition's leader can serve: one, not held down, and not a leadership
    /// that died.
    pub fn usable(&self, p: &crate::events::PartitionState, held: &[BrokerId]) -> bool {
        p.leader.is_some_and(|l| !held.contains(&l))
            && self
                .0
                .get(p.topic.as_str())
                .and_then(|t| t.get(&p.partition))
                != Some(&(p.leader, p.leader_epoch))
    }

    /// The view with every leader that cannot serve shown as none.
    pub fn usable_view(&self, view: &ClusterSnapshot, held: &[BrokerId]) -> ClusterSnapshot {
        let mut usable = view.clone();
        for p in &mut usable.partitions {
            if p.leader.is_some() && !self.usable(p, held) {
                p.leader = None;
            }
        }
        usable
    }
}

pub fn is_met(
    condition: &Condition,
    now: &ClusterSnapshot,
    baseline: &Baseline,
    expected_brokers: &[BrokerId],
) -> bool {
    let part = |p: &crate::experiment::PartitionRef| now.partition(&p.topic, p.partition);
    match condition {
        Condition::LeaderChanged(p) => {
            let before = baseline
                .snapshot
                .partition(&p.topic, p.partition)
                .and_then(|s| s.leader);
            part(p).is_some_and(|s| s.leader.is_some() && s.leader != before)
        }
        Condition::PartitionOffline(p) => part(p).is_some_and(|s| s.leader.is_none()),
        Condition::PartitionOnline(p) => part(p).is_some_and(|s| s.leader.is_some()),
        Condition::IsrSize(c) => part(&c.partition).is_some_and(|s| s.isr.len() == c.size),
        Condition::PreferredLeader(p) => {
            part(p).is_some_and(|s| s.leader.is_some() && s.leader == s.preferred_leader())
        }
        Condition::ControllerChanged(want) => {
            let changed =
                now.controller.is_some() && now.controller != baseline.snapshot.controller;
            changed == *want
        }
        Condition::ClusterHealthy(want) => {
            let healthy = expected_brokers.iter().all(|b| now.brokers.contains(b))
                && !now.partitions.is_empty()
                && now.partitions.iter().all(|p| {
                    p.leader.is_some() && {
                        let mut isr = p.isr.clone();
                        let mut replicas = p.replicas.clone();
                        isr.sort_unstable();
                        replicas.sort_unstable();
                        isr == replicas
                    }
                });
            healthy == *want
        }
        // Not a cluster condition: the step runner counts the workload's commits.
        Condition::TransactionsCommitted(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::{IsrSizeCondition, PartitionRef};

    fn snap(leader: Option<i32>, isr: &[i32], controller: i32) -> ClusterSnapshot {
        crate::events::testing::snapshot(leader, 0, isr, controller)
    }

    fn p() -> PartitionRef {
        "orders/0".parse().unwrap()
    }

    #[test]
    fn leader_changed_needs_a_new_live_leader() {
        let base = Baseline {
            committed: 0,
            snapshot: snap(Some(1), &[1, 2, 3], 1),
        };
        assert!(!is_met(
            &Condition::LeaderChanged(p()),
            &snap(Some(1), &[1, 2, 3], 1),
            &base,
            &[]
        ));
        assert!(!is_met(
            &Condition::LeaderChanged(p()),
            &snap(None, &[1], 1),
            &base,
            &[]
        ));
        assert!(is_met(
            &Condition::LeaderChanged(p()),
            &snap(Some(2), &[2, 3], 1),
            &base,
            &[]
        ));
    }

    #[test]
    fn isr_size_offline_preferred_and_health() {
        let base = Baseline::default();
        let c = Condition::IsrSize(IsrSizeCondition {
            partition: p(),
            size: 1,
        });
        assert!(is_met(&c, &snap(Some(1), &[1], 1), &base, &[]));
        assert!(is_met(
            &Condition::PartitionOffline(p()),
            &snap(None, &[1], 1),
            &base,
            &[]
        ));
        assert!(is_met(
            &Condition::PreferredLeader(p()),
            &snap(Some(1), &[1], 1),
            &base,
            &[]
        ));
        assert!(!is_met(
            &Condition::PreferredLeader(p()),
            &snap(Some(2), &[1, 2], 1),
            &base,
            &[]
        ));
        assert!(is_met(
            &Condition::ClusterHealthy(true),
            &snap(Some(2), &[3, 2, 1], 1),
            &base,
            &[1, 2, 3]
        ));
        assert!(!is_met(
            &Condition::ClusterHealthy(true),
            &snap(Some(2), &[2, 1], 1),
            &base,
            &[1, 2, 3]
        ));
        assert!(!is_met(
            &Condition::ClusterHealthy(true),
            &ClusterSnapshot::default(),
            &base,
            &[1]
        ));
    }

    #[test]
    fn controller_changed_is_relative_to_the_step_start() {
        let base = Baseline {
            committed: 0,
            snapshot: snap(Some(1), &[1], 1),
        };
        assert!(!is_met(
            &Condition::ControllerChanged(true),
            &snap(Some(1), &[1], 1),
            &base,
            &[]
        ));
        assert!(is_met(
            &Condition::ControllerChanged(true),
            &snap(Some(1), &[1], 2),
            &base,
            &[]
        ));
    }
}

#[cfg(test)]
mod dead_leadership_tests {
    use super::*;
    use crate::events::PartitionState;

    fn view(leader: Option<BrokerId>, epoch: i32) -> ClusterSnapshot {
        ClusterSnapshot {
            controller: Some(1),
            brokers: vec![1, 2, 3],
            partitions: vec![PartitionState {
                topic: "t".into(),
                partition: 0,
                leader,
                leader_epoch: epoch,
                replicas: vec![2, 1, 3],
                isr: vec![1, 2, 3],
                offline_replicas: vec![],
            }],
        }
    }

    #[test]
    fn a_killed_leader_serves_nothing_until_a_new_epoch_even_once_it_runs_again() {
        let mut dead = DeadLeaderships::default();
        dead.note(&view(Some(2), 4), &[2]);
        // Held down: not usable.
        assert_eq!(
            dead.usable_view(&view(Some(2), 4), &[2]).partitions[0].leader,
            None
        );
        // Running again, but the metadata still shows the dead leadership: not usable.
        assert_eq!(
            dead.usable_view(&view(Some(2), 4), &[]).partitions[0].leader,
            None
        );
        // Re-elected (the same broker, a new epoch) or another leader: usable.
        assert_eq!(
            dead.usable_view(&view(Some(2), 5), &[]).partitions[0].leader,
            Some(2)
        );
        assert_eq!(
            dead.usable_view(&view(Some(3), 5), &[]).partitions[0].leader,
            Some(3)
        );
        // A pause (not noted) only counts while held.
        let fresh = DeadLeaderships::default();
        assert_eq!(
            fresh.usable_view(&view(Some(2), 4), &[]).partitions[0].leader,
            Some(2)
        );
    }
}
