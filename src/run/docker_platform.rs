//! The fault seam on one Docker engine: lifecycle actions through the Docker API, their
//! moments from Docker's event stream, network faults from a NET_ADMIN sidecar.

use super::docker_events::DockerEventLog;
use crate::docker::{faults as docker_faults, DockerError};
use crate::experiment::Direction;
use crate::platform::{
    Cluster, FaultPlatform, Lifecycle, NetworkRules, PlatformError, RunningService,
};
use std::time::Duration;

pub struct DockerPlatform<'a> {
    /// Every call goes to the engine that runs the service's container.
    pub docker: &'a crate::docker::engines::Engines,
    pub cluster: &'a Cluster,
    pub events: DockerEventLog,
}

impl DockerPlatform<'_> {
    fn service(&self, name: &str) -> Result<&RunningService, PlatformError> {
        self.cluster
            .service(name)
            .ok_or_else(|| PlatformError::Failed {
                action: "find".into(),
                service: name.into(),
                source: format!("no service {name} in cluster {}", self.cluster.name).into(),
            })
    }
}

/// Docker's own event name for a lifecycle action.
fn docker_action(action: Lifecycle) -> &'static str {
    match action {
        Lifecycle::Kill | Lifecycle::Stop | Lifecycle::Restart => "kill",
        Lifecycle::Start => "start",
        Lifecycle::Pause => "pause",
        Lifecycle::Unpause => "unpause",
        Lifecycle::Disconnect => "network_disconnect",
        Lifecycle::Connect => "network_connect",
    }
}

fn platform_error(action: &str, service: &str) -> impl FnOnce(DockerError) -> PlatformError {
    let (action, service) = (action.to_string(), service.to_string());
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

impl FaultPlatform for DockerPlatform<'_> {
    async fn act(&self, action: Lifecycle, service: &str) -> Result<(), PlatformError> {
        let s = self.service(service)?;
        let (d, c) = (self.docker.of(s), self.cluster);
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
        done.map_err(platform_error(docker_action(action), service))
    }

    async fn moment(
        &self,
        service: &str,
        action: Lifecycle,
        since_ns: i64,
        wait: Duration,
    ) -> Option<i64> {
        let s = self.cluster.service(service)?;
        self.events
            .wait_for(&s.container_id, &[docker_action(action)], since_ns, wait)
            .await
            .map(|e| e.time_nano)
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
        docker_faults::partition(self.docker.of(target), self.cluster, target, &peers, direction)
            .await
            .map_err(platform_error("partition", service))
    }

    async fn heal_partition(
        &self,
        service: &str,
        rules: &NetworkRules,
    ) -> Result<(), PlatformError> {
        let s = self.service(service)?;
        docker_faults::heal_partition(self.docker.of(s), self.cluster, s, rules)
            .await
            .map_err(platform_error("heal partition of", service))
    }

    async fn bandwidth(&self, service: &str, rate: &str) -> Result<(), PlatformError> {
        let s = self.service(service)?;
        docker_faults::bandwidth(self.docker.of(s), self.cluster, s, rate)
            .await
            .map_err(platform_error("bandwidth", service))
    }

    async fn heal_bandwidth(&self, service: &str) -> Result<(), PlatformError> {
        let s = self.service(service)?;
        docker_faults::heal_bandwidth(self.docker.of(s), self.cluster, s)
            .await
            .map_err(platform_error("heal bandwidth of", service))
    }

    async fn retire_network_helper(&self, service: &str) -> Result<(), PlatformError> {
        let s = self.service(service)?;
        docker_faults::remove_network_sidecar(self.docker.of(s), s)
            .await
            .map_err(platform_error("remove the network sidecar of", service))
    }
}
