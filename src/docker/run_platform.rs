//! The platform a run asks everything of, on Docker (one engine or several): lifecycle
//! actions through the Docker API, their moments from Docker's event stream (merged over the
//! engines on the harness clock), network faults from a NET_ADMIN sidecar, the services'
//! states and logs. The runner sees it only as a [`FaultPlatform`] and a [`ClusterPlatform`].

use super::engines::Engines;
use super::event_log::DockerEventLog;
use super::{faults as docker_faults, DockerError};
use crate::clock::EventSink;
use crate::events::ContainerAction;
use crate::experiment::Direction;
use crate::platform::{
    Cluster, ClusterPlatform, FaultPlatform, Lifecycle, Moment, NetworkRules, PlatformAction,
    PlatformError, RunningService,
};
use std::time::Duration;

#[derive(Clone)]
pub struct DockerRun {
    /// Every call goes to the engine that runs the service's container.
    docker: Engines,
    cluster: Cluster,
    events: DockerEventLog,
}

impl DockerRun {
    /// Subscribes to the cluster's container events on every engine (each forwarded into the
    /// run's stream on the harness clock) before anything is done to it.
    pub async fn start(engines: &Engines, cluster: &Cluster, sink: EventSink) -> DockerRun {
        let scope = crate::docker::labels::Scope::of(cluster);
        let rx = crate::docker::events::subscribe(engines, &scope).await;
        DockerRun {
            docker: engines.clone(),
            cluster: cluster.clone(),
            events: DockerEventLog::start(rx, sink),
        }
    }

    fn service(&self, name: &str) -> Result<&RunningService, PlatformError> {
        self.cluster
            .service(name)
            .ok_or_else(|| PlatformError::Failed {
                action: PlatformAction::Find,
                service: name.into(),
                source: format!("no service {name} in cluster {}", self.cluster.name).into(),
            })
    }
}

/// The container event that marks a lifecycle action's moment (stop and restart begin with
/// the kill of their signal); None for the network's own actions.
fn container_action(action: Lifecycle) -> Option<ContainerAction> {
    match action {
        Lifecycle::Kill | Lifecycle::Stop | Lifecycle::Restart => Some(ContainerAction::Kill),
        Lifecycle::Start => Some(ContainerAction::Start),
        Lifecycle::Pause => Some(ContainerAction::Pause),
        Lifecycle::Unpause => Some(ContainerAction::Unpause),
        Lifecycle::Disconnect | Lifecycle::Connect => None,
    }
}

fn platform_error(
    action: PlatformAction,
    service: &str,
) -> impl FnOnce(DockerError) -> PlatformError {
    let service = service.to_string();
    move |e| match e {
        DockerError::Lost(why) => PlatformError::Lost(why),
        DockerError::Capability(why) => PlatformError::Capability(why),
        other => PlatformError::Failed {
            action,
            service,
            source: Box::new(other),
        },
    }
}

impl FaultPlatform for DockerRun {
    async fn act(&self, action: Lifecycle, service: &str) -> Result<(), PlatformError> {
        let s = self.service(service)?;
        let (d, c) = (self.docker.of(s), &self.cluster);
        let done = match action {
            Lifecycle::Kill => docker_faults::kill(d, c, s).await,
            Lifecycle::Stop => docker_faults::stop(d, c, s).await,
            Lifecycle::Start => docker_faults::start(d, c, s).await,
            Lifecycle::Restart => docker_faults::restart(d, c, s).await,
            Lifecycle::Pause => docker_faults::pause(d, c, s).await,
            Lifecycle::Unpause => docker_faults::unpause(d, c, s).await,
            Lifecycle::Disconnect => docker_faults::disconnect(d, c, s).await,
            Lifecycle::Connect => docker_faults::connect(d, c, s).await,
        };
        done.map_err(platform_error(PlatformAction::Lifecycle(action), service))
    }

    async fn moment(
        &self,
        service: &str,
        action: Lifecycle,
        since_ns: i64,
        wait: Duration,
    ) -> Option<Moment> {
        let s = self.cluster.service(service)?;
        // Network (dis)connects are network events, not on the containers' stream.
        let action = container_action(action)?;
        self.events
            .wait_for(&s.container_id, &[action], since_ns, wait)
            .await
            .map(|e| Moment {
                at_ns: e.time_nano,
                source: crate::events::TimeSource::DockerEvent,
            })
    }

    async fn partition(
        &self,
        service: &str,
        peers: &[String],
        direction: Direction,
    ) -> Result<NetworkRules, PlatformError> {
        let target = self.service(service)?;
        let peers: Vec<&RunningService> = peers
            .iter()
            .filter_map(|p| self.cluster.service(p))
            .collect();
        docker_faults::partition(
            self.docker.of(target),
            &self.cluster,
            target,
            &peers,
            direction,
        )
        .await
        .map_err(platform_error(PlatformAction::Partition, service))
    }

    async fn heal_partition(
        &self,
        service: &str,
        rules: &NetworkRules,
    ) -> Result<(), PlatformError> {
        let s = self.service(service)?;
        docker_faults::heal_partition(self.docker.of(s), &self.cluster, s, rules)
            .await
            .map_err(platform_error(PlatformAction::HealPartition, service))
    }

    async fn bandwidth(&self, service: &str, rate: &str) -> Result<(), PlatformError> {
        let s = self.service(service)?;
        docker_faults::bandwidth(self.docker.of(s), &self.cluster, s, rate)
            .await
            .map_err(platform_error(PlatformAction::Bandwidth, service))
    }

    async fn heal_bandwidth(&self, service: &str) -> Result<(), PlatformError> {
        let s = self.service(service)?;
        docker_faults::heal_bandwidth(self.docker.of(s), &self.cluster, s)
            .await
            .map_err(platform_error(PlatformAction::HealBandwidth, service))
    }

    async fn retire_network_helper(&self, service: &str) -> Result<(), PlatformError> {
        let s = self.service(service)?;
        docker_faults::remove_network_sidecar(self.docker.of(s), s)
            .await
            .map_err(platform_error(PlatformAction::RetireNetworkHelper, service))
    }
}

impl ClusterPlatform for DockerRun {
    async fn services(&self) -> Result<Vec<RunningService>, PlatformError> {
        let scope = crate::docker::labels::Scope::of(&self.cluster);
        crate::docker::inventory::view(&self.docker, &scope)
            .await
            .map(|view| view.services)
            .map_err(platform_error(
                PlatformAction::ListServices,
                &self.cluster.name,
            ))
    }

    async fn logs_since(&self, service: &str, since_unix_s: i64) -> Result<String, PlatformError> {
        let s = self.service(service)?;
        crate::docker::logs::since(self.docker.of(s), &s.container_id, since_unix_s)
            .await
            .map_err(platform_error(PlatformAction::ReadLog, service))
    }

    async fn lost(&self) -> PlatformError {
        // The daemon's own words ("stopped answering during the run", with the hint).
        PlatformError::Lost(self.events.daemon_lost(&self.docker).await.to_string())
    }
}
