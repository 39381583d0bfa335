//! Kubernetes nodes that are containers of this machine's Docker engine, named as the nodes
//! (kind, k3d, `scripts/k8s.sh`): `node-crash` kills the node itself — its kubelet,
//! containerd and every pod on it at once, as a host that loses power — and the heal starts
//! it again (a reboot). The API cannot do this: a node fails for the control plane only when
//! its kubelet stops reporting. Only the containers named by the cluster's pods'
//! `spec.nodeName` are touched. `node-partition` (without `peers`) cuts a node at its uplink
//! instead: iptables in the node container's own network namespace drop everything in and out
//! of `eth0` — other nodes, the control plane, the port-forwards — while its pods still reach
//! each other; the heal deletes exactly those rules.

use bollard::query_parameters::{KillContainerOptionsBuilder, StartContainerOptions};
use bollard::Docker;

/// Why a node container could not be acted on.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("the Docker engine the Kubernetes nodes run on (cluster.kubernetes.nodes: docker-containers): {0}")]
    Engine(#[source] crate::docker::DockerError),
    #[error("node {node}: no Docker container of that name on this machine's engine\n  hint: `nodes: docker-containers` is for nodes that are containers named as the nodes (kind, k3d, scripts/k8s.sh); elsewhere leave it out (node faults then act on the pods)")]
    NoContainer { node: String },
    #[error("node {node}: a command in its container: {source}")]
    Exec {
        node: String,
        #[source]
        source: Box<crate::docker::DockerError>,
    },
    #[error("node {node}: cannot cut it from the network: {why}")]
    Refused { node: String, why: String },
    #[error("node {node}: docker {action} of its container: {source}")]
    Docker {
        node: String,
        action: &'static str,
        #[source]
        source: bollard::errors::Error,
    },
}

/// Marks our rules in a node's chains (what a heal or `chaos clean` deletes, and only that).
const ISOLATION_COMMENT: &str = "chaos-node-isolated";
/// The node's uplink: a container's one interface on its Docker network.
const UPLINK: &str = "eth0";

/// The four rules that cut a node at its uplink, as iptables arguments after the chain verb.
fn isolation_rules() -> [String; 4] {
    let tail = format!("-m comment --comment {ISOLATION_COMMENT} -j DROP");
    [
        format!("INPUT -i {UPLINK} {tail}"),
        format!("OUTPUT -o {UPLINK} {tail}"),
        format!("FORWARD -i {UPLINK} {tail}"),
        format!("FORWARD -o {UPLINK} {tail}"),
    ]
}

/// Inserts the rules first in their chains (before kube-proxy's accepts); fails, adding
/// nothing more, at the first refused.
fn isolate_script() -> String {
    let mut script = format!("ip link show {UPLINK} >/dev/null || exit 3\n");
    for rule in isolation_rules() {
        script.push_str(&format!("iptables -I {rule} || exit 4\n"));
    }
    script
}

/// Deletes every copy of the rules; says how many went.
fn rejoin_script() -> String {
    let mut script = String::from("n=0\n");
    for rule in isolation_rules() {
        script.push_str(&format!(
            "while iptables -D {rule} 2>/dev/null; do n=$((n+1)); done\n"
        ));
    }
    script.push_str("echo $n\n");
    script
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

    /// Cuts the node at its uplink (see the module's note). Returns when the rules are in.
    pub async fn isolate(&self, node: &str) -> Result<(), NodeError> {
        let (code, output) = self.shell(node, &isolate_script()).await?;
        match code {
            0 => Ok(()),
            3 => Err(NodeError::Refused {
                node: node.to_string(),
                why: format!("it has no {UPLINK} to cut"),
            }),
            _ => Err(NodeError::Refused {
                node: node.to_string(),
                why: format!("iptables refused a rule (exit {code}): {}", output.trim()),
            }),
        }
    }

    /// Deletes our isolation rules in the node (none: nothing); how many there were. A node
    /// that is not running has none in force.
    pub async fn rejoin(&self, node: &str) -> Result<usize, NodeError> {
        if self.state(node).await? != NodeState::Running {
            return Ok(0);
        }
        let (_, output) = self.shell(node, &rejoin_script()).await?;
        Ok(output.trim().parse().unwrap_or(0))
    }

    async fn shell(&self, node: &str, script: &str) -> Result<(i64, String), NodeError> {
        crate::docker::faults::exec(&self.docker, node, &["sh", "-c", script])
            .await
            .map_err(|e| NodeError::Exec {
                node: node.to_string(),
                source: Box::new(e),
            })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rejoin_deletes_exactly_the_rules_the_isolation_inserts() {
        let isolate = isolate_script();
        let rejoin = rejoin_script();
        for rule in isolation_rules() {
            assert!(
                isolate.contains(&format!("iptables -I {rule} ")),
                "{isolate}"
            );
            assert!(rejoin.contains(&format!("iptables -D {rule} ")), "{rejoin}");
            assert!(rule.contains("--comment chaos-node-isolated -j DROP"));
        }
        assert_eq!(isolate.matches("iptables -I").count(), 4);
        assert!(isolate.contains("-i eth0") && isolate.contains("-o eth0"));
    }
}
