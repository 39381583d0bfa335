//! Faults of a run: targets resolved at injection time (and recorded), the moment taken from
//! Docker's events, and every revert registered before the fault is applied so that success,
//! failure and Ctrl-C all heal.

use super::docker_events::{wall_now_ns, DockerEventLog};
use crate::clock::EventSink;
use crate::docker::cluster::Cluster;
use crate::docker::{faults as docker_faults, DockerError};
use crate::events::{ClusterSnapshot, EventKind, TimeSource};
use crate::experiment::{FaultKind, FaultSpec, Target};
use bollard::Docker;
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
    pub rules: Vec<(String, Vec<Vec<String>>)>,
}

/// What a heal reverts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealTarget<'a> {
    /// Every active fault, the last applied first.
    All,
    /// The fault applied by the step with this id.
    Step(&'a str),
}

pub struct Faults<'a> {
    pub docker: &'a Docker,
    pub cluster: &'a Cluster,
    pub sink: EventSink,
    pub events: DockerEventLog,
    pub rng: StdRng,
    pub active: Vec<Active>,
    /// Services each named fault step resolved to (for `same-as`).
    pub resolved: HashMap<String, Vec<String>>,
    /// Services stopped or killed on purpose right now (the supervisor leaves them alone).
    pub down_on_purpose: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// The workload's consumer group, for member faults.
    pub group: Option<std::sync::Arc<crate::kafka::group::GroupWorkload>>,
    /// Names in `coordinator-of` / `transaction-coordinator-of` → the id on the cluster (the
    /// workload's group and transactional id carry the run's producer id).
    pub coordinator_keys: HashMap<String, String>,
}

/// Resolves a target against the current view. Errors name the role.
pub fn resolve(
    target: &Target,
    view: &ClusterSnapshot,
    cluster: &Cluster,
    resolved: &HashMap<String, Vec<String>>,
    rng: &mut StdRng,
) -> Result<Vec<String>, String> {
    let broker_name = |id: i32| {
        cluster
            .broker_service(id)
            .map(|s| s.name.clone())
            .ok_or_else(|| format!("broker {id} is not a service of cluster {}", cluster.name))
    };
    let brokers: Vec<String> = cluster
        .brokers()
        .into_iter()
        .map(|(s, _)| s.name.clone())
        .collect();
    let partition = |p: &crate::experiment::PartitionRef| {
        view.partition(&p.topic, p.partition)
            .cloned()
            .ok_or_else(|| format!("{target}: partition {p} is not in the observed metadata"))
    };
    let names = match target {
        Target::Service(name) => {
            cluster
                .service(name)
                .ok_or_else(|| format!("service {name} is not in cluster {}", cluster.name))?;
            vec![name.clone()]
        }
        Target::Controller => vec![broker_name(
            view.controller
                .ok_or("controller: no active controller observed")?,
        )?],
        Target::LeaderOf(p) => {
            vec![broker_name(partition(p)?.leader.ok_or_else(|| {
                format!("leader-of {p}: the partition has no leader")
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
            followers.sort_by_key(|r| (Some(*r) == view.controller, *r));
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
        Target::Random => vec![brokers
            .choose(rng)
            .cloned()
            .ok_or("random: the cluster has no brokers")?],
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
            .ok_or_else(|| format!("same-as {step}: no fault step named {step} ran before"))?,
        Target::Member(m) => vec![format!("member-{m}")],
        Target::CoordinatorOf(_) | Target::TransactionCoordinatorOf(_) => {
            return Err(format!("{target}: resolved by FindCoordinator before this"))
        }
    };
    if names.is_empty() {
        return Err(format!("{target} resolved to no service"));
    }
    Ok(names)
}

fn moment_actions(kind: FaultKind) -> &'static [&'static str] {
    match kind {
        FaultKind::Kill | FaultKind::Stop | FaultKind::Restart => &["kill"],
        FaultKind::Start => &["start"],
        FaultKind::Pause => &["pause"],
        FaultKind::Unpause => &["unpause"],
        _ => &[],
    }
}

fn revert_actions(kind: FaultKind) -> &'static [&'static str] {
    match kind {
        FaultKind::Kill | FaultKind::Stop => &["start"],
        FaultKind::Pause => &["unpause"],
        _ => &[],
    }
}

impl Faults<'_> {
    fn service(&self, name: &str) -> Result<&crate::docker::cluster::RunningService, DockerError> {
        self.cluster
            .service(name)
            .ok_or_else(|| DockerError::Other(format!("no service {name}")))
    }

    /// Applies one primitive to every service; returns the earliest Docker event time (ns).
    async fn apply(
        &self,
        kind: FaultKind,
        names: &[String],
        actions: &[&str],
    ) -> Result<(Option<i64>, Vec<(String, Vec<Vec<String>>)>), DockerError> {
        let since = wall_now_ns() - 1_000_000;
        let mut rules = Vec::new();
        for name in names {
            let s = self.service(name)?;
            match kind {
                FaultKind::Kill => docker_faults::kill(self.docker, self.cluster, s).await?,
                FaultKind::Stop => docker_faults::stop(self.docker, self.cluster, s).await?,
                FaultKind::Start => docker_faults::start(self.docker, self.cluster, s).await?,
                FaultKind::Restart => docker_faults::restart(self.docker, self.cluster, s).await?,
                FaultKind::Pause => docker_faults::pause(self.docker, self.cluster, s).await?,
                FaultKind::Unpause => docker_faults::unpause(self.docker, self.cluster, s).await?,
                FaultKind::Disconnect => {
                    docker_faults::disconnect(self.docker, self.cluster, s).await?
                }
                FaultKind::Connect => docker_faults::connect(self.docker, self.cluster, s).await?,
                FaultKind::Partition
                | FaultKind::Bandwidth
                | FaultKind::Delay
                | FaultKind::Loss
                | FaultKind::MemberCrash
                | FaultKind::MemberLeave
                | FaultKind::MemberPause => {
                    unreachable!("handled by inject")
                }
            }
        }
        let mut earliest: Option<i64> = None;
        if !actions.is_empty() {
            for name in names {
                let s = self.service(name)?;
                if let Some(e) = self
                    .events
                    .wait_for(&s.container_id, actions, since, Duration::from_secs(3))
                    .await
                {
                    earliest = Some(earliest.map_or(e.time_nano, |t| t.min(e.time_nano)));
                }
            }
        }
        Ok((earliest, std::mem::take(&mut rules)))
    }

    fn stamp(&self, event_ns: Option<i64>) -> (u64, TimeSource) {
        match event_ns {
            Some(ns) => (
                self.sink.clock().at_us_of_wall_ns(ns),
                TimeSource::DockerEvent,
            ),
            None => (self.sink.clock().now_us(), TimeSource::ApiResponse),
        }
    }

    /// `coordinator-of` / `transaction-coordinator-of`: the broker FindCoordinator names now,
    /// as a service target (any broker may answer; the first that does wins).
    async fn coordinator_target(&self, target: &Target) -> Result<Option<Target>, String> {
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
            let answer = match crate::kafka::wire::Connection::connect(&addr, timeout).await {
                Ok(mut conn) => find_coordinator(&mut conn, kind, key, timeout).await,
                Err(e) => Err(e),
            };
            match answer {
                Ok(broker) => {
                    let service = self.cluster.broker_service(broker).ok_or_else(|| {
                        format!("{target}: coordinator {broker} is not a service of the cluster")
                    })?;
                    return Ok(Some(Target::Service(service.name.clone())));
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(format!("{target} (`{key}`): {last}"))
    }

    pub async fn inject(
        &mut self,
        id: &str,
        spec: &FaultSpec,
        view: &ClusterSnapshot,
    ) -> Result<(), DockerError> {
        let coordinator =
            self.coordinator_target(&spec.target)
                .await
                .map_err(|e| DockerError::Fault {
                    fault: spec.kind.as_str().into(),
                    service: spec.target.to_string(),
                    reason: e,
                })?;
        let names = resolve(
            coordinator.as_ref().unwrap_or(&spec.target),
            view,
            self.cluster,
            &self.resolved,
            &mut self.rng,
        )
        .map_err(|e| DockerError::Fault {
            fault: spec.kind.as_str().into(),
            service: spec.target.to_string(),
            reason: e,
        })?;
        let mut active = Active {
            id: id.to_string(),
            kind: spec.kind,
            services: names.clone(),
            rules: Vec::new(),
        };
        // Registered first: a failure half-way still reverts what was applied, and the
        // supervisor must not restart a broker that is being stopped on purpose.
        if spec.kind.needs_revert() {
            self.active.push(active.clone());
        }
        if let Ok(mut down) = self.down_on_purpose.lock() {
            match spec.kind {
                FaultKind::Kill | FaultKind::Stop => down.extend(names.iter().cloned()),
                FaultKind::Start => down.retain(|n| !names.contains(n)),
                _ => {}
            }
        }
        let (event_ns, _) = match spec.kind {
            FaultKind::Partition => {
                let mut peers = Vec::new();
                for p in &spec.peers {
                    peers.extend(
                        resolve(p, view, self.cluster, &self.resolved, &mut self.rng).map_err(
                            |e| DockerError::Fault {
                                fault: "partition".into(),
                                service: p.to_string(),
                                reason: e,
                            },
                        )?,
                    );
                }
                peers.retain(|p| !names.contains(p));
                for name in &names {
                    let target = self.service(name)?;
                    let peer_services: Vec<_> = peers
                        .iter()
                        .filter_map(|p| self.cluster.service(p))
                        .collect();
                    let added = docker_faults::partition(
                        self.docker,
                        self.cluster,
                        target,
                        &peer_services,
                        spec.direction,
                    )
                    .await?;
                    active.rules.push((name.clone(), added));
                    if let Some(a) = self.active.last_mut() {
                        a.rules = active.rules.clone();
                    }
                }
                (None, Vec::new())
            }
            FaultKind::Bandwidth => {
                let rate = spec.rate.clone().unwrap_or_else(|| "1mbit".into());
                for name in &names {
                    docker_faults::bandwidth(self.docker, self.cluster, self.service(name)?, &rate)
                        .await?;
                }
                (None, Vec::new())
            }
            kind if kind.is_member_fault() => {
                let group = self.group.as_ref().ok_or_else(|| {
                    DockerError::Other(format!("{kind}: the workload has no consumer group"))
                })?;
                for m in names
                    .iter()
                    .filter_map(|n| crate::analysis::group::member_of(n))
                {
                    group
                        .fault(m, kind)
                        .map_err(|e| DockerError::Other(e.to_string()))?;
                }
                (None, Vec::new())
            }
            FaultKind::Delay | FaultKind::Loss => {
                return Err(DockerError::Capability(format!(
                    "fault {} needs tc netem, which this kernel lacks",
                    spec.kind.as_str()
                )))
            }
            kind => self.apply(kind, &names, moment_actions(kind)).await?,
        };
        let (at, source) = self.stamp(event_ns);
        let broker_ids = names
            .iter()
            .filter_map(|n| self.cluster.broker_id(n))
            .collect();
        self.sink.emit_at(
            at,
            EventKind::FaultInjected {
                id: id.to_string(),
                kind: spec.kind,
                target: spec.target.to_string(),
                resolved: names.clone(),
                broker_ids,
                source,
            },
        );
        self.resolved.insert(id.to_string(), names);
        Ok(())
    }

    /// Reverts the fault with this id (or every active fault for `all`), newest first.
    /// Reverts the step's fault, or every active one in reverse order of application.
    pub async fn heal(&mut self, target: HealTarget<'_>) -> Result<(), DockerError> {
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

    async fn revert(&self, active: &Active) -> Result<(), DockerError> {
        let event_ns = match active.kind {
            FaultKind::Kill | FaultKind::Stop => {
                let started = self
                    .apply(
                        FaultKind::Start,
                        &active.services,
                        revert_actions(active.kind),
                    )
                    .await;
                // Only once it runs again may the supervisor restart it when it exits.
                if let Ok(mut down) = self.down_on_purpose.lock() {
                    down.retain(|n| !active.services.contains(n));
                }
                started?.0
            }
            FaultKind::Pause => {
                self.apply(
                    FaultKind::Unpause,
                    &active.services,
                    revert_actions(active.kind),
                )
                .await?
                .0
            }
            FaultKind::Disconnect => {
                self.apply(FaultKind::Connect, &active.services, &[])
                    .await?
                    .0
            }
            FaultKind::Partition => {
                for (name, rules) in &active.rules {
                    docker_faults::heal_partition(
                        self.docker,
                        self.cluster,
                        self.service(name)?,
                        rules,
                    )
                    .await?;
                }
                None
            }
            FaultKind::Bandwidth => {
                for name in &active.services {
                    docker_faults::heal_bandwidth(self.docker, self.cluster, self.service(name)?)
                        .await?;
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
                        group
                            .heal(m, kind)
                            .map_err(|e| DockerError::Other(e.to_string()))?;
                    }
                }
                None
            }
            _ => None,
        };
        if matches!(active.kind, FaultKind::Partition | FaultKind::Bandwidth) {
            // The sidecar goes once no other network fault in force uses it.
            for name in &active.services {
                let still_used = self.active.iter().any(|a| {
                    matches!(a.kind, FaultKind::Partition | FaultKind::Bandwidth)
                        && a.services.contains(name)
                });
                if !still_used {
                    docker_faults::remove_network_sidecar(self.docker, self.service(name)?).await?;
                }
            }
        }
        let (at, source) = self.stamp(event_ns);
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
