//! Faults of a run: targets resolved at injection time (and recorded), the moment taken from
//! Docker's events, and every revert registered before the fault is applied so that success,
//! failure and Ctrl-C all heal.

use crate::clock::{wall_now_ns, EventSink};
use crate::events::{ClusterSnapshot, EventKind, TimeSource};
use crate::experiment::{FaultKind, FaultSpec, Target};
use crate::platform::{
    Cluster, FaultError, FaultPlatform, Lifecycle, Moment, NetworkRules, PlatformError,
};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use std::collections::HashMap;
use std::time::Duration;

/// A fault in force, with what it takes to revert it.
#[derive(Debug, Clone)]
pub struct Active {
    pub id: String,
    pub kind: FaultKind,
    pub services: Vec<String>,
    /// Partition faults: the rules added per service.
    pub rules: Vec<(String, NetworkRules)>,
    /// A node partition that cut the nodes themselves ([`FaultPlatform::isolate_nodes`]).
    pub isolated_nodes: bool,
}

/// What a heal reverts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealTarget<'a> {
    /// Every active fault, the last applied first.
    All,
    /// The fault applied by the step with this id.
    Step(&'a str),
}

impl<'a> HealTarget<'a> {
    /// A `heal:` step's value: `all`, or the name of an earlier fault step.
    pub fn of_step(value: &'a str) -> HealTarget<'a> {
        if value == "all" {
            HealTarget::All
        } else {
            HealTarget::Step(value)
        }
    }
}

pub struct Faults<'a, P: FaultPlatform> {
    pub platform: P,
    pub cluster: &'a Cluster,
    pub sink: EventSink,
    pub rng: StdRng,
    pub active: Vec<Active>,
    /// Services each named fault step resolved to (for `same-as`).
    pub resolved: HashMap<String, Vec<String>>,
    /// Services stopped or killed on purpose right now (the supervisor leaves them alone).
    pub down_on_purpose: super::workload::DownOnPurpose,
    /// The leaderships that died with a broker we killed or stopped.
    pub dead_leaderships: std::sync::Arc<std::sync::Mutex<super::conditions::DeadLeaderships>>,
    /// The workload's consumer group, for member faults (they act inside the harness, not on
    /// the platform).
    pub group: Option<super::workload::SharedGroup>,
    /// Names in `coordinator-of` / `transaction-coordinator-of` → the id on the cluster (the
    /// workload's group and transactional id carry the run's producer id).
    pub coordinator_keys: HashMap<String, String>,
    /// How the coordinator lookups connect to the brokers.
    pub profile: crate::kafka::connect::Profile,
}

/// Why a target did not resolve to services (each names the role it asked for).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TargetError {
    #[error("broker {id} is not a service of cluster {cluster}")]
    BrokerNotAService { id: i32, cluster: String },
    #[error("{target}: partition {partition} is not in the observed metadata")]
    UnknownPartition { target: String, partition: String },
    #[error("service {name} is not in cluster {cluster}")]
    UnknownService { name: String, cluster: String },
    #[error("controller: no active controller observed")]
    NoController,
    #[error("leader-of {partition}: the partition has no leader")]
    NoLeader { partition: String },
    #[error("random: the cluster has no brokers")]
    NoBrokers,
    #[error("same-as {step}: no fault step named {step} ran before")]
    UnknownStep { step: String },
    #[error("node {node}: no service of cluster {cluster} runs there (nodes: {nodes})")]
    EmptyNode {
        node: String,
        cluster: String,
        /// The cluster's nodes, comma-separated.
        nodes: String,
    },
    #[error("{target}: resolved by FindCoordinator before this")]
    Coordinator { target: String },
    #[error("{target} resolved to no service")]
    Nothing { target: String },
    #[error("{target}: coordinator {broker} is not a service of the cluster")]
    CoordinatorNotAService { target: String, broker: i32 },
    /// No broker named the coordinator: the last answer (or that none came).
    #[error("{target} (`{key}`): {last}")]
    NoCoordinator {
        target: String,
        key: String,
        last: String,
    },
}

// Long: one arm per target of the schema (service, controller, leader-of, followers-of, isr-of,
// random, same-as, coordinator-of, …)
/// Resolves a target against the current view. Errors name the role. (One arm per target
/// kind, kept together so the kinds read side by side.)
pub fn resolve(
    target: &Target,
    view: &ClusterSnapshot,
    cluster: &Cluster,
    resolved: &HashMap<String, Vec<String>>,
    rng: &mut StdRng,
) -> Result<Vec<String>, TargetError> {
    let broker_name = |id: i32| {
        cluster
            .broker_service(id)
            .map(|s| s.name.clone())
            .ok_or_else(|| TargetError::BrokerNotAService {
                id,
                cluster: cluster.name.clone(),
            })
    };
    let brokers: Vec<String> = cluster
        .brokers()
        .into_iter()
        .map(|(s, _)| s.name.clone())
        .collect();
    let partition = |p: &crate::experiment::PartitionRef| {
        view.partition(&p.topic, p.partition)
            .cloned()
            .ok_or_else(|| TargetError::UnknownPartition {
                target: target.to_string(),
                partition: p.to_string(),
            })
    };
    let names = match target {
        Target::Service(name) => {
            cluster
                .service(name)
                .ok_or_else(|| TargetError::UnknownService {
                    name: name.clone(),
                    cluster: cluster.name.clone(),
                })?;
            vec![name.clone()]
        }
        Target::Controller => vec![broker_name(
            view.controller.ok_or(TargetError::NoController)?,
        )?],
        Target::LeaderOf(p) => {
            vec![broker_name(partition(p)?.leader.ok_or_else(|| {
                TargetError::NoLeader {
                    partition: p.to_string(),
                }
            })?)?]
        }
        Target::FollowersOf(p) => {
            let state = partition(p)?;
            state
                .replicas
                .iter()
                .filter(|r| Some(**r) != state.leader)
                .map(|r| broker_name(*r))
                .collect::<Result<_, _>>()?
        }
        Target::FollowerOf(p) => {
            let state = partition(p)?;
            let mut followers: Vec<i32> = state
                .replicas
                .iter()
                .copied()
                .filter(|r| Some(*r) != state.leader)
                .collect();
            // A follower in sync and alive first (not one a fault holds down, which is still
            // listed among the replicas), never the controller when another follower exists.
            followers.sort_by_key(|r| {
                (
                    !state.isr.contains(r) || !view.brokers.contains(r),
                    Some(*r) == view.controller,
                    *r,
                )
            });
            match followers.first() {
                Some(id) => vec![broker_name(*id)?],
                None => vec![],
            }
        }
        Target::IsrOf(p) => partition(p)?
            .isr
            .iter()
            .map(|r| broker_name(*r))
            .collect::<Result<_, _>>()?,
        Target::Random => vec![brokers.choose(rng).cloned().ok_or(TargetError::NoBrokers)?],
        Target::AllButOne => {
            let mut all = brokers.clone();
            all.shuffle(rng);
            all.pop();
            all.sort();
            all
        }
        Target::AllBrokers => brokers,
        Target::SameAs(step) => resolved
            .get(step)
            .cloned()
            .ok_or_else(|| TargetError::UnknownStep { step: step.clone() })?,
        Target::Member(m) => vec![format!("member-{m}")],
        Target::Node(node) => {
            let on: Vec<String> = cluster
                .services_on(&[node.as_str()])
                .map(|s| s.name.clone())
                .collect();
            if on.is_empty() {
                return Err(TargetError::EmptyNode {
                    node: node.clone(),
                    cluster: cluster.name.clone(),
                    nodes: cluster.node_names().join(", "),
                });
            }
            on
        }
        Target::NodeOf(inner) => {
            services_on_nodes_of(&resolve(inner, view, cluster, resolved, rng)?, cluster)
        }
        Target::CoordinatorOf(_) | Target::TransactionCoordinatorOf(_) => {
            return Err(TargetError::Coordinator {
                target: target.to_string(),
            })
        }
    };
    if names.is_empty() {
        return Err(TargetError::Nothing {
            target: target.to_string(),
        });
    }
    Ok(names)
}

/// Every service on the nodes `names` run on (a node fault's reach), in the cluster's order.
pub fn services_on_nodes_of(names: &[String], cluster: &Cluster) -> Vec<String> {
    let nodes: Vec<&str> = names
        .iter()
        .filter_map(|n| cluster.service(n))
        .map(|s| s.node_name())
        .collect();
    cluster
        .services_on(&nodes)
        .map(|s| s.name.clone())
        .collect()
}

/// The lifecycle action a fault kind is, and the platform event that marks its moment (a
/// graceful stop's moment is the kill that ends the process, as Docker reports it).
fn lifecycle_of(kind: FaultKind) -> Option<(Lifecycle, Option<Lifecycle>)> {
    Some(match kind {
        FaultKind::Kill => (Lifecycle::Kill, Some(Lifecycle::Kill)),
        FaultKind::Stop => (Lifecycle::Stop, Some(Lifecycle::Kill)),
        FaultKind::Restart => (Lifecycle::Restart, Some(Lifecycle::Kill)),
        FaultKind::Start => (Lifecycle::Start, Some(Lifecycle::Start)),
        FaultKind::Pause => (Lifecycle::Pause, Some(Lifecycle::Pause)),
        FaultKind::Unpause => (Lifecycle::Unpause, Some(Lifecycle::Unpause)),
        FaultKind::Disconnect => (Lifecycle::Disconnect, None),
        FaultKind::Connect => (Lifecycle::Connect, None),
        FaultKind::Partition
        | FaultKind::Bandwidth
        | FaultKind::Delay
        | FaultKind::Loss
        | FaultKind::MemberCrash
        | FaultKind::MemberLeave
        | FaultKind::MemberPause => return None,
        node_fault => return lifecycle_of(node_fault.per_container()),
    })
}

impl<P: FaultPlatform> Faults<'_, P> {
    /// Applies one lifecycle action to every service; returns the earliest moment the
    /// platform saw it take effect.
    async fn apply(
        &self,
        action: Lifecycle,
        moment: Option<Lifecycle>,
        names: &[String],
        at_once: bool,
    ) -> Result<Option<Moment>, PlatformError> {
        let since = wall_now_ns() - 1_000_000;
        if at_once && self.platform.act_on_nodes(action, names).await? {
            // The nodes themselves (a real host crash): their services went with them.
        } else if at_once {
            // A node fault: every container of the node in the same instant, as a host dies.
            let acts = names.iter().map(|name| self.platform.act(action, name));
            futures_util::future::join_all(acts)
                .await
                .into_iter()
                .collect::<Result<Vec<()>, _>>()?;
        } else {
            for name in names {
                self.platform.act(action, name).await?;
            }
        }
        let mut earliest: Option<Moment> = None;
        if let Some(moment) = moment {
            for name in names {
                if let Some(t) = self
                    .platform
                    .moment(name, moment, since, Duration::from_secs(3))
                    .await
                {
                    earliest = Some(earliest.map_or(t, |e| if t.at_ns < e.at_ns { t } else { e }));
                }
            }
        }
        Ok(earliest)
    }

    fn stamp(&self, moment: Option<Moment>) -> (u64, TimeSource) {
        match moment {
            Some(m) => (self.sink.clock().at_us_of_wall_ns(m.at_ns), m.source),
            None => (self.sink.clock().now_us(), TimeSource::ApiResponse),
        }
    }

    /// Cuts each target from the peers; the rules each one got are registered as they are
    /// added (a failure half-way still deletes what was added).
    async fn inject_partition(
        &mut self,
        spec: &FaultSpec,
        names: &[String],
        view: &ClusterSnapshot,
    ) -> Result<(), FaultError> {
        if spec.kind == FaultKind::NodePartition
            && spec.peers.is_empty()
            && self.platform.isolates_nodes()
        {
            // Marked first: a failure half-way still rejoins what was cut.
            if let Some(a) = self.active.last_mut() {
                a.isolated_nodes = true;
            }
            // Out of every client's reach: the prober waits for a leader elsewhere.
            self.down_on_purpose
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .extend(names.iter().cloned());
            self.platform.isolate_nodes(names).await?;
            return Ok(());
        }
        let mut rules: Vec<(String, NetworkRules)> = Vec::new();
        let mut peers = Vec::new();
        for p in &spec.peers {
            peers.extend(
                resolve(p, view, self.cluster, &self.resolved, &mut self.rng).map_err(
                    |reason| FaultError::Target {
                        fault: FaultKind::Partition,
                        target: p.to_string(),
                        reason: reason.to_string(),
                    },
                )?,
            );
        }
        if spec.kind == FaultKind::NodePartition && spec.peers.is_empty() {
            // The other side of a node partition: every service on another node.
            peers = self
                .cluster
                .services
                .iter()
                .map(|s| s.name.clone())
                .collect();
        }
        peers.retain(|p| !names.contains(p));
        if peers.is_empty() {
            return Err(FaultError::Target {
                fault: spec.kind,
                target: spec.target.to_string(),
                reason: "no peer is left on the other side (every service is on that node)".into(),
            });
        }
        for name in names {
            let added = self
                .platform
                .partition(name, &peers, spec.direction)
                .await?;
            rules.push((name.clone(), added));
            if let Some(a) = self.active.last_mut() {
                a.rules = rules.clone();
            }
        }
        Ok(())
    }

    /// `coordinator-of` / `transaction-coordinator-of`: the broker FindCoordinator names now,
    /// as a service target (any broker may answer; the first that does wins).
    async fn coordinator_target(&self, target: &Target) -> Result<Option<Target>, TargetError> {
        use crate::kafka::metadata::{find_coordinator, CoordinatorKind};
        let (kind, name) = match target {
            Target::CoordinatorOf(g) => (CoordinatorKind::Group, g),
            Target::TransactionCoordinatorOf(t) => (CoordinatorKind::Transaction, t),
            _ => return Ok(None),
        };
        let key = self.coordinator_keys.get(name).unwrap_or(name);
        let mut last = String::from("no broker answered");
        for (_, addr) in self.cluster.bootstrap() {
            let timeout = Duration::from_secs(3);
            let answer = match crate::kafka::wire::Connection::connect(
                &addr,
                timeout,
                &self.profile,
            )
            .await
            {
                Ok(mut conn) => find_coordinator(&mut conn, kind, key, timeout).await,
                Err(e) => Err(e),
            };
            match answer {
                Ok(broker) => {
                    let service = self.cluster.broker_service(broker).ok_or_else(|| {
                        TargetError::CoordinatorNotAService {
                            target: target.to_string(),
                            broker,
                        }
                    })?;
                    return Ok(Some(Target::Service(service.name.clone())));
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(TargetError::NoCoordinator {
            target: target.to_string(),
            key: key.clone(),
            last,
        })
    }

    pub async fn inject(
        &mut self,
        id: &str,
        spec: &FaultSpec,
        view: &ClusterSnapshot,
    ) -> Result<(), FaultError> {
        let coordinator = self
            .coordinator_target(&spec.target)
            .await
            .map_err(|reason| FaultError::Target {
                fault: spec.kind,
                target: spec.target.to_string(),
                reason: reason.to_string(),
            })?;
        let mut names = resolve(
            coordinator.as_ref().unwrap_or(&spec.target),
            view,
            self.cluster,
            &self.resolved,
            &mut self.rng,
        )
        .map_err(|reason| FaultError::Target {
            fault: spec.kind,
            target: spec.target.to_string(),
            reason: reason.to_string(),
        })?;
        if spec.kind.is_node_fault() {
            names = services_on_nodes_of(&names, self.cluster);
        }
        // Registered first: a failure half-way still reverts what was applied, and the
        // supervisor must not restart a broker that is being stopped on purpose.
        if spec.kind.needs_revert() {
            self.active.push(Active {
                id: id.to_string(),
                kind: spec.kind,
                services: names.clone(),
                rules: Vec::new(),
                isolated_nodes: false,
            });
        }
        self.hold_down(spec.kind, &names, view);
        let moment = self.apply_fault(spec, &names, view).await?;
        let (at, source) = self.stamp(moment);
        let broker_ids = names
            .iter()
            .filter_map(|n| self.cluster.broker_id(n))
            .collect();
        let unreachable = self.active.iter().any(|a| a.id == id && a.isolated_nodes);
        self.sink.emit_at(
            at,
            EventKind::FaultInjected {
                id: id.to_string(),
                kind: spec.kind,
                target: spec.target.to_string(),
                resolved: names.clone(),
                broker_ids,
                source,
                unreachable,
            },
        );
        self.resolved.insert(id.to_string(), names);
        Ok(())
    }

    /// What the supervisor must leave alone (killed or stopped on purpose), and the
    /// leaderships that die with those brokers.
    fn hold_down(&self, kind: FaultKind, names: &[String], view: &ClusterSnapshot) {
        let mut down = self
            .down_on_purpose
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        match kind.per_container() {
            FaultKind::Kill | FaultKind::Stop => {
                down.extend(names.iter().cloned());
                let ids: Vec<i32> = names
                    .iter()
                    .filter_map(|n| self.cluster.broker_id(n))
                    .collect();
                self.dead_leaderships
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .note(view, &ids);
            }
            FaultKind::Start => down.retain(|n| !names.contains(n)),
            _ => {}
        }
    }

    /// Applies the fault to every service; returns when the platform saw it (Unix ns).
    async fn apply_fault(
        &mut self,
        spec: &FaultSpec,
        names: &[String],
        view: &ClusterSnapshot,
    ) -> Result<Option<Moment>, FaultError> {
        Ok(match spec.kind {
            FaultKind::Partition | FaultKind::NodePartition => {
                self.inject_partition(spec, names, view).await?;
                None
            }
            FaultKind::Bandwidth => {
                let rate = spec.rate.clone().unwrap_or_else(|| "1mbit".into());
                for name in names {
                    self.platform.bandwidth(name, &rate).await?;
                }
                None
            }
            kind if kind.is_member_fault() => {
                let group = self.group.as_ref().ok_or_else(|| FaultError::Target {
                    fault: kind,
                    target: spec.target.to_string(),
                    reason: "the workload has no consumer group".into(),
                })?;
                for m in names
                    .iter()
                    .filter_map(|n| crate::analysis::group::member_of(n))
                {
                    group.fault(m, kind).map_err(|e| FaultError::Target {
                        fault: kind,
                        target: spec.target.to_string(),
                        reason: e.to_string(),
                    })?;
                }
                None
            }
            FaultKind::Delay | FaultKind::Loss => {
                return Err(PlatformError::Capability(format!(
                    "fault {} needs tc netem, which this kernel lacks",
                    spec.kind
                ))
                .into())
            }
            kind => match lifecycle_of(kind) {
                Some((action, moment)) => {
                    self.apply(action, moment, names, kind.is_node_fault())
                        .await?
                }
                None => None,
            },
        })
    }

    /// Reverts the step's fault, or every active one in reverse order of application.
    pub async fn heal(&mut self, target: HealTarget<'_>) -> Result<(), FaultError> {
        let mut first_error = None;
        while let Some(pos) = self.active.iter().rposition(|a| match target {
            HealTarget::All => true,
            HealTarget::Step(id) => a.id == id,
        }) {
            let active = self.active.remove(pos);
            if let Err(e) = self.revert(&active).await {
                first_error.get_or_insert(e);
            }
            if matches!(target, HealTarget::Step(_)) {
                break;
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    // Long: one arm per fault kind: how each is undone
    async fn revert(&self, active: &Active) -> Result<(), FaultError> {
        let moment = match active.kind.per_container() {
            FaultKind::Kill | FaultKind::Stop => {
                // ZooKeeper first: a broker started before it answers may give up on it.
                let mut order = active.services.clone();
                order.sort_by_key(|n| {
                    !matches!(
                        self.cluster.service(n).map(|s| &s.role),
                        Some(crate::platform::Role::ZooKeeper { .. })
                    )
                });
                let started = self
                    .apply(Lifecycle::Start, Some(Lifecycle::Start), &order, false)
                    .await;
                // Only once it runs again may the supervisor restart it when it exits.
                self.down_on_purpose
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .retain(|n| !active.services.contains(n));
                started?
            }
            FaultKind::Pause => {
                self.apply(
                    Lifecycle::Unpause,
                    Some(Lifecycle::Unpause),
                    &active.services,
                    active.kind.is_node_fault(),
                )
                .await?
            }
            FaultKind::Disconnect => {
                self.apply(Lifecycle::Connect, None, &active.services, false)
                    .await?
            }
            FaultKind::Partition if active.isolated_nodes => {
                let rejoined = self.platform.rejoin_nodes(&active.services).await;
                self.down_on_purpose
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .retain(|n| !active.services.contains(n));
                rejoined?;
                None
            }
            FaultKind::Partition => {
                for (name, rules) in &active.rules {
                    self.platform.heal_partition(name, rules).await?;
                }
                None
            }
            FaultKind::Bandwidth => {
                for name in &active.services {
                    self.platform.heal_bandwidth(name).await?;
                }
                None
            }
            kind if kind.is_member_fault() => {
                if let Some(group) = &self.group {
                    for m in active
                        .services
                        .iter()
                        .filter_map(|n| crate::analysis::group::member_of(n))
                    {
                        group.heal(m, kind).map_err(|e| FaultError::Target {
                            fault: kind,
                            target: m.to_string(),
                            reason: e.to_string(),
                        })?;
                    }
                }
                None
            }
            _ => None,
        };
        let networked = |k: FaultKind| {
            matches!(
                k.per_container(),
                FaultKind::Partition | FaultKind::Bandwidth
            )
        };
        if networked(active.kind) {
            // The sidecar goes once no other network fault in force uses it.
            for name in &active.services {
                let still_used = self
                    .active
                    .iter()
                    .any(|a| networked(a.kind) && a.services.contains(name));
                if !still_used {
                    self.platform.retire_network_helper(name).await?;
                }
            }
        }
        let (at, source) = self.stamp(moment);
        self.sink.emit_at(
            at,
            EventKind::FaultReverted {
                id: active.id.clone(),
                kind: active.kind,
                resolved: active.services.clone(),
                source,
            },
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! The orchestration of faults against a recording fake platform: target resolution,
    //! registration before application, heal ordering, the supervisor's list — in milliseconds.
    use super::*;
    use crate::events::PartitionState;
    use crate::experiment::{Direction, PartitionRef};
    use crate::platform::{PlatformAction, Role, RunningService};
    use rand::SeedableRng;
    use std::sync::Mutex;

    /// Records every call; fails the calls it is told to; with `reaches_nodes`, crashes and
    /// cuts the nodes themselves (as Kubernetes nodes that are Docker containers).
    #[derive(Default)]
    struct Fake {
        calls: Mutex<Vec<String>>,
        fail: Vec<String>,
        reaches_nodes: bool,
    }

    impl Fake {
        fn record(&self, action: PlatformAction, call: String) -> Result<(), PlatformError> {
            let refuse = self.fail.contains(&call);
            self.calls.lock().unwrap().push(call.clone());
            if refuse {
                return Err(PlatformError::Failed {
                    action,
                    service: String::new(),
                    source: "refused by the fake".into(),
                });
            }
            Ok(())
        }
    }

    impl FaultPlatform for &Fake {
        async fn act(&self, action: Lifecycle, service: &str) -> Result<(), PlatformError> {
            self.record(
                PlatformAction::Lifecycle(action),
                format!("{action:?} {service}"),
            )
        }
        async fn moment(
            &self,
            _: &str,
            _: Lifecycle,
            since_ns: i64,
            _: Duration,
        ) -> Option<crate::platform::Moment> {
            Some(crate::platform::Moment {
                at_ns: since_ns + 5_000_000,
                source: TimeSource::DockerEvent,
            })
        }
        async fn partition(
            &self,
            service: &str,
            peers: &[String],
            _: Direction,
        ) -> Result<NetworkRules, PlatformError> {
            self.record(
                PlatformAction::Partition,
                format!("partition {service} from {}", peers.join(",")),
            )?;
            Ok(vec![vec![format!("rule-{service}")]])
        }
        async fn heal_partition(
            &self,
            service: &str,
            rules: &NetworkRules,
        ) -> Result<(), PlatformError> {
            self.record(
                PlatformAction::HealPartition,
                format!("heal-partition {service} {}", rules[0][0]),
            )
        }
        async fn bandwidth(&self, service: &str, rate: &str) -> Result<(), PlatformError> {
            self.record(
                PlatformAction::Bandwidth,
                format!("bandwidth {service} {rate}"),
            )
        }
        async fn heal_bandwidth(&self, service: &str) -> Result<(), PlatformError> {
            self.record(
                PlatformAction::HealBandwidth,
                format!("heal-bandwidth {service}"),
            )
        }
        async fn retire_network_helper(&self, service: &str) -> Result<(), PlatformError> {
            self.record(
                PlatformAction::RetireNetworkHelper,
                format!("retire {service}"),
            )
        }
        async fn act_on_nodes(
            &self,
            action: Lifecycle,
            services: &[String],
        ) -> Result<bool, PlatformError> {
            if !self.reaches_nodes || action != Lifecycle::Kill {
                return Ok(false);
            }
            self.record(
                PlatformAction::Lifecycle(action),
                format!("crash the node of {}", services.join(",")),
            )?;
            Ok(true)
        }
        fn isolates_nodes(&self) -> bool {
            self.reaches_nodes
        }
        async fn isolate_nodes(&self, services: &[String]) -> Result<(), PlatformError> {
            self.record(
                PlatformAction::Partition,
                format!("cut the node of {}", services.join(",")),
            )
        }
        async fn rejoin_nodes(&self, services: &[String]) -> Result<(), PlatformError> {
            self.record(
                PlatformAction::HealPartition,
                format!("rejoin the node of {}", services.join(",")),
            )
        }
    }

    fn cluster() -> Cluster {
        let service = |name: &str, role| RunningService {
            name: name.into(),
            container_id: format!("id-{name}"),
            container_name: format!("seed-{name}"),
            role,
            host_bootstrap: None,
            ip: Some("10.0.0.2".into()),
            state: crate::platform::ContainerState::Running,
            node: None,
        };
        Cluster {
            name: "seed".into(),
            origin: crate::platform::Origin::Started,
            network: "seed".into(),
            mode: crate::events::ClusterMode::Zookeeper,
            config_hash: String::new(),
            services: vec![
                service("zookeeper", Role::ZooKeeper { client_port: 2181 }),
                service(
                    "kafka-1",
                    Role::Broker {
                        id: 1,
                        kraft: false,
                    },
                ),
                service(
                    "kafka-2",
                    Role::Broker {
                        id: 2,
                        kraft: false,
                    },
                ),
                service(
                    "kafka-3",
                    Role::Broker {
                        id: 3,
                        kraft: false,
                    },
                ),
            ],
            reused: false,
            ready_after: Duration::ZERO,
            replaced_unready: None,
            nodes: Vec::new(),
        }
    }

    /// ZooKeeper and kafka-1 on n1, kafka-2 on n2, kafka-3 on n3.
    fn placed() -> Cluster {
        let mut c = cluster();
        for s in &mut c.services {
            s.node = Some(
                match s.name.as_str() {
                    "kafka-2" => "n2",
                    "kafka-3" => "n3",
                    _ => "n1",
                }
                .into(),
            );
        }
        c
    }

    /// `crash`: a node crash of kafka-1's node (n1, with ZooKeeper, in `placed()`).
    async fn crash_node_of_kafka_1(f: &mut Faults<'_, &Fake>) {
        let crash = spec(FaultKind::NodeCrash, Target::Service("kafka-1".into()));
        f.inject("crash", &crash, &view()).await.unwrap();
    }

    /// `cut`: a node partition of the controller's node (n3, kafka-3 alone).
    async fn cut_node_of_the_controller(f: &mut Faults<'_, &Fake>) {
        let target = Target::NodeOf(Box::new(Target::Controller));
        let cut = spec(FaultKind::NodePartition, target);
        f.inject("cut", &cut, &view()).await.unwrap();
    }

    #[tokio::test]
    async fn node_faults_act_on_every_service_of_the_node_and_heal_zookeeper_first() {
        let (fake, c) = (Fake::default(), placed());
        let (mut f, _rx) = faults(&fake, &c);
        crash_node_of_kafka_1(&mut f).await;
        assert_eq!(f.resolved["crash"], ["zookeeper", "kafka-1"]);
        // Both held down: the supervisor must not restart either.
        assert_eq!(*f.down_on_purpose.lock().unwrap(), ["zookeeper", "kafka-1"]);
        // The controller (kafka-3) is alone on n3: cut from every service elsewhere.
        cut_node_of_the_controller(&mut f).await;
        f.heal(HealTarget::All).await.unwrap();
        let calls = fake.calls.lock().unwrap().clone();
        assert_eq!(
            calls,
            [
                "Kill zookeeper",
                "Kill kafka-1",
                "partition kafka-3 from zookeeper,kafka-1,kafka-2",
                "heal-partition kafka-3 rule-kafka-3",
                "retire kafka-3",
                "Start zookeeper",
                "Start kafka-1",
            ]
        );
        let e = resolve(
            &Target::Node("n9".into()),
            &view(),
            &c,
            &HashMap::new(),
            &mut StdRng::seed_from_u64(1),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("node n9") && e.contains("n1, n2, n3"), "{e}");
        // Unplaced services are one node: a node crash on one engine takes them all.
        assert_eq!(
            services_on_nodes_of(&["kafka-2".into()], &cluster()),
            ["zookeeper", "kafka-1", "kafka-2", "kafka-3"]
        );
    }

    #[tokio::test]
    async fn a_platform_that_reaches_the_nodes_crashes_and_cuts_them_and_says_so() {
        let fake = Fake {
            reaches_nodes: true,
            ..Fake::default()
        };
        let c = placed();
        let (mut f, mut rx) = faults(&fake, &c);
        crash_node_of_kafka_1(&mut f).await;
        cut_node_of_the_controller(&mut f).await;
        // The cut node's broker is out of every client's reach: held down, and said so.
        assert_eq!(
            *f.down_on_purpose.lock().unwrap(),
            ["zookeeper", "kafka-1", "kafka-3"]
        );
        let mut unreachable = Vec::new();
        while let Ok(e) = rx.try_recv() {
            if let EventKind::FaultInjected {
                id, unreachable: u, ..
            } = e.kind
            {
                unreachable.push((id, u));
            }
        }
        assert_eq!(
            unreachable,
            [("crash".to_string(), false), ("cut".to_string(), true)]
        );
        f.heal(HealTarget::All).await.unwrap();
        assert!(f.down_on_purpose.lock().unwrap().is_empty());
        assert_eq!(
            *fake.calls.lock().unwrap(),
            [
                "crash the node of zookeeper,kafka-1",
                "cut the node of kafka-3",
                "rejoin the node of kafka-3",
                "retire kafka-3",
                // Each service started (the platform boots the node at the first).
                "Start zookeeper",
                "Start kafka-1",
            ]
        );
        // With peers, a node partition cuts the services from them, as without node access.
        let (mut f, _rx) = faults(&fake, &c);
        let mut with_peers = spec(
            FaultKind::NodePartition,
            Target::NodeOf(Box::new(Target::Controller)),
        );
        with_peers.peers = vec![Target::Service("kafka-2".into())];
        f.inject("cut-some", &with_peers, &view()).await.unwrap();
        assert_eq!(
            fake.calls.lock().unwrap().last().unwrap(),
            "partition kafka-3 from kafka-2"
        );
    }

    fn view() -> ClusterSnapshot {
        ClusterSnapshot {
            controller: Some(3),
            brokers: vec![1, 2, 3],
            partitions: vec![PartitionState {
                topic: "orders".into(),
                partition: 0,
                leader: Some(2),
                leader_epoch: 0,
                replicas: vec![2, 3, 1],
                isr: vec![2, 3, 1],
                offline_replicas: vec![],
            }],
        }
    }

    fn orders0() -> PartitionRef {
        PartitionRef {
            topic: "orders".into(),
            partition: 0,
        }
    }

    fn spec(kind: FaultKind, target: Target) -> FaultSpec {
        FaultSpec {
            kind,
            target,
            peers: vec![],
            direction: Direction::default(),
            rate: None,
            delay: None,
            percent: None,
        }
    }

    fn faults<'a>(
        fake: &'a Fake,
        cluster: &'a Cluster,
    ) -> (
        Faults<'a, &'a Fake>,
        tokio::sync::mpsc::UnboundedReceiver<crate::events::Event>,
    ) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let faults = Faults {
            platform: fake,
            cluster,
            sink: EventSink::new(crate::clock::Clock::start(), tx),
            rng: StdRng::seed_from_u64(7),
            active: vec![],
            resolved: HashMap::new(),
            down_on_purpose: Default::default(),
            dead_leaderships: Default::default(),
            group: None,
            coordinator_keys: HashMap::new(),
            profile: Default::default(),
        };
        (faults, rx)
    }

    fn resolve_one(target: Target) -> Result<Vec<String>, TargetError> {
        resolve(
            &target,
            &view(),
            &cluster(),
            &HashMap::new(),
            &mut StdRng::seed_from_u64(1),
        )
    }

    #[test]
    fn targets_resolve_against_the_observed_view() {
        assert_eq!(
            resolve_one(Target::LeaderOf(orders0())).unwrap(),
            ["kafka-2"]
        );
        assert_eq!(resolve_one(Target::Controller).unwrap(), ["kafka-3"]);
        assert_eq!(
            resolve_one(Target::FollowersOf(orders0())).unwrap(),
            ["kafka-3", "kafka-1"]
        );
        // One follower, never the controller when another follower exists.
        assert_eq!(
            resolve_one(Target::FollowerOf(orders0())).unwrap(),
            ["kafka-1"]
        );
        assert_eq!(resolve_one(Target::AllButOne).unwrap().len(), 2);
        // After a kill of kafka-1 the metadata still lists it among the replicas: the one
        // follower is one in sync, even the controller.
        let mut after_kill = view();
        after_kill.brokers = vec![2, 3];
        after_kill.partitions[0].isr = vec![2, 3];
        assert_eq!(
            resolve(
                &Target::FollowerOf(orders0()),
                &after_kill,
                &cluster(),
                &HashMap::new(),
                &mut StdRng::seed_from_u64(1),
            )
            .unwrap(),
            ["kafka-3"]
        );
        let missing = PartitionRef {
            topic: "orders".into(),
            partition: 9,
        };
        let e = resolve_one(Target::LeaderOf(missing))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("orders/9") && e.contains("not in the observed metadata"),
            "{e}"
        );
        let e = resolve_one(Target::SameAs("kill-it".into())).unwrap_err();
        assert_eq!(
            e,
            TargetError::UnknownStep {
                step: "kill-it".into()
            }
        );
        assert!(e.to_string().contains("no fault step named kill-it"), "{e}");
        assert!(resolve_one(Target::Service("nope".into())).is_err());
    }

    #[tokio::test]
    async fn heal_all_reverts_the_newest_first_and_a_step_heal_only_its_own() {
        let (fake, c) = (Fake::default(), cluster());
        let (mut f, _rx) = faults(&fake, &c);
        f.inject(
            "k",
            &spec(FaultKind::Kill, Target::LeaderOf(orders0())),
            &view(),
        )
        .await
        .unwrap();
        f.inject("p", &spec(FaultKind::Pause, Target::Controller), &view())
            .await
            .unwrap();
        let mut cut = spec(FaultKind::Partition, Target::Service("kafka-1".into()));
        cut.peers = vec![Target::AllBrokers];
        f.inject("c", &cut, &view()).await.unwrap();
        assert_eq!(*f.down_on_purpose.lock().unwrap(), ["kafka-2"]);

        f.heal(HealTarget::of_step("p")).await.unwrap();
        // `heal: all` (validation accepts it as every fault) is every fault, not a step
        // named "all".
        f.heal(HealTarget::of_step("all")).await.unwrap();
        assert!(f.active.is_empty(), "heal: all leaves nothing active");
        assert_eq!(
            *fake.calls.lock().unwrap(),
            [
                "Kill kafka-2",
                "Pause kafka-3",
                "partition kafka-1 from kafka-2,kafka-3",
                "Unpause kafka-3",
                "heal-partition kafka-1 rule-kafka-1",
                "retire kafka-1",
                "Start kafka-2",
            ]
        );
        assert!(f.active.is_empty());
        assert!(f.down_on_purpose.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_fault_that_fails_half_way_is_still_reverted() {
        // The followers are kafka-3 then kafka-1: the second pause fails.
        let fake = Fake {
            fail: vec!["Pause kafka-1".into()],
            ..Default::default()
        };
        let c = cluster();
        let (mut f, _rx) = faults(&fake, &c);
        let both = spec(FaultKind::Pause, Target::FollowersOf(orders0()));
        assert!(f.inject("p", &both, &view()).await.is_err());
        assert_eq!(f.active.len(), 1, "registered before it was applied");
        f.heal(HealTarget::All).await.unwrap();
        assert_eq!(
            *fake.calls.lock().unwrap(),
            [
                "Pause kafka-3",
                "Pause kafka-1",
                "Unpause kafka-3",
                "Unpause kafka-1"
            ]
        );
    }

    #[tokio::test]
    async fn netem_faults_are_a_capability_error_and_touch_nothing() {
        let (fake, c) = (Fake::default(), cluster());
        let (mut f, _rx) = faults(&fake, &c);
        let e = f
            .inject("d", &spec(FaultKind::Delay, Target::Controller), &view())
            .await
            .unwrap_err();
        assert!(
            matches!(e, FaultError::Platform(PlatformError::Capability(_))),
            "{e}"
        );
        assert!(fake.calls.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn fault_times_come_from_the_platform_events_and_the_resolution_is_recorded() {
        let (fake, c) = (Fake::default(), cluster());
        let (mut f, mut rx) = faults(&fake, &c);
        f.inject(
            "k",
            &spec(FaultKind::Kill, Target::LeaderOf(orders0())),
            &view(),
        )
        .await
        .unwrap();
        let event = rx.try_recv().unwrap();
        match event.kind {
            EventKind::FaultInjected {
                resolved,
                broker_ids,
                source,
                ..
            } => {
                assert_eq!(resolved, ["kafka-2"]);
                assert_eq!(broker_ids, [2]);
                assert_eq!(source, TimeSource::DockerEvent);
            }
            other => panic!("{other:?}"),
        }
        // `same-as` finds what the step hit.
        f.inject(
            "again",
            &spec(FaultKind::Pause, Target::SameAs("k".into())),
            &view(),
        )
        .await
        .unwrap();
        assert_eq!(fake.calls.lock().unwrap().last().unwrap(), "Pause kafka-2");
    }
}
