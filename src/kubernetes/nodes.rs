//! Kubernetes nodes that are containers of this machine's Docker engine, named as the nodes
//! (kind, k3d, `scripts/k8s.sh`): `node-crash` kills the node itself — its kubelet,
//! containerd and every pod on it at once, as a host that loses power — and the heal starts
//! it again (a reboot). The API cannot do this: a node fails for the control plane only when
//! its kubelet stops reporting. Only the containers named by the cluster's pods'
//! `spec.nodeName` are touched.

use bollard::query_parameters::{KillContainerOptionsBuilder, StartContainerOptions};
use bollard::Docker;

/// Why a node container could not be acted on.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("the Docker engine the Kubernetes nodes run on (cluster.kubernetes.nodes: docker-containers): {0}")]
    Engine(#[source] crate::docker::DockerError),
    #[error("node {node}: no Docker container of that name on this machine's engine\n  hint: `nodes: docker-containers` is for nodes that are containers named as the nodes (kind, k3d, scripts/k8s.sh); elsewhere leave it out (node faults then act on the pods)")]
    NoContainer { node: String },
    #[error("node {node}: docker {action} of its container: {source}")]
    Docker {
        node: String,
        action: &'static str,
        #[source]
        source: bollard::errors::Error,
    },
}

/// What a node container is doing now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeState {
    Running,
    /// Frozen by `docker pause` (by someone: we do not pause nodes).
    Paused,
    /// Exited, or never started.
    Down,
}

/// The node containers on the local engine (the docker CLI's: `DOCKER_HOST`, the context).
#[derive(Clone)]
pub struct DockerNodes {
    docker: Docker,
}

impl DockerNodes {
    pub async fn connect() -> Result<Self, NodeError> {
        let docker = crate::docker::client::connect()
            .await
            .map_err(NodeError::Engine)?;
        Ok(Self { docker })
    }

    fn failed<'a>(
        node: &'a str,
        action: &'static str,
    ) -> impl FnOnce(bollard::errors::Error) -> NodeError + 'a {
        move |source| match source {
            bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            } => NodeError::NoContainer {
                node: node.to_string(),
            },
            source => NodeError::Docker {
                node: node.to_string(),
                action,
                source,
            },
        }
    }

    pub async fn state(&self, node: &str) -> Result<NodeState, NodeError> {
        let inspected = self
            .docker
            .inspect_container(
                node,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
            .map_err(Self::failed(node, "inspect"))?;
        let state = inspected.state.unwrap_or_default();
        Ok(if state.paused == Some(true) {
            NodeState::Paused
        } else if state.running == Some(true) {
            NodeState::Running
        } else {
            NodeState::Down
        })
    }

    /// SIGKILL to the node container's init: the kernel then kills every process of its PID
    /// namespace, the pods' nested ones included — the pods' processes sit in cgroups outside
    /// the node container's (the kubelet's own tree), so `docker pause` would not freeze
    /// them, but a kill reaches them through the namespace. Returns when Docker answered.
    pub async fn crash(&self, node: &str) -> Result<(), NodeError> {
        self.docker
            .kill_container(
                node,
                Some(
                    KillContainerOptionsBuilder::default()
                        .signal("SIGKILL")
                        .build(),
                ),
            )
            .await
            .map_err(Self::failed(node, "kill"))
    }

    /// Starts the node container when it is down (a reboot: its init starts containerd,
    /// the kubelet and kube-proxy again); true when it was started now.
    pub async fn boot(&self, node: &str) -> Result<bool, NodeError> {
        if self.state(node).await? != NodeState::Down {
            return Ok(false);
        }
        self.docker
            .start_container(node, None::<StartContainerOptions>)
            .await
            .map_err(Self::failed(node, "start"))?;
        Ok(true)
    }
}
