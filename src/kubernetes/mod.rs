//! The platform seam on Kubernetes (kube-rs): a Kafka cluster's pods found by Strimzi's
//! labels, faults as pod deletes, exec'd signals and an ephemeral network helper, lifecycle
//! from a pod watch, and a port-forward per broker so the harness reaches every broker as
//! `127.0.0.1:<port>`. A run faults the user's pods but never creates or deletes their
//! StatefulSets: a deleted pod comes back by its controller. Only `chaos up`/`down` create and
//! delete objects, and only those labelled as ours ([`manifests`]).
//!
//! Imports point one way: this module uses `platform`, `events` and `clock` (and the owner
//! of `docker::owner`); `run` uses it, never the reverse.
//!
//! - [`discovery`]: pods → [`crate::platform::Cluster`] (pure);
//! - [`lifecycle`]: pod watch events → container transitions (pure);
//! - [`tunnel`]: the per-broker port-forwards;
//! - [`platform`]: [`KubernetesRun`], the `FaultPlatform` and `ClusterPlatform`, and [`clean`];
//! - [`manifests`]: `chaos up` / `down` — a cluster's objects applied and deleted as ours.

pub mod discovery;
pub mod lifecycle;
pub mod manifests;
pub mod nodes;
pub mod platform;
pub mod tunnel;

pub use platform::{clean, connect, Connection, KubernetesRun, Lookout, Transition, HELPER_IMAGE};
pub use tunnel::Tunnels;

use std::path::PathBuf;

/// Where the cluster is and how to reach its brokers (plain options: the CLI and the
/// experiment file map onto these).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubernetesTarget {
    pub namespace: String,
    /// The value of the `strimzi.io/cluster` label on the cluster's pods.
    pub cluster: String,
    /// A context of the kubeconfig (None: its current context).
    pub context: Option<String>,
    /// None: `$KUBECONFIG`, `~/.kube/config`, else the in-cluster service account.
    pub kubeconfig: Option<PathBuf>,
    /// The broker's external listener port inside the pod (what the tunnel forwards to).
    pub pod_port: u16,
    /// Broker `id` is reached on `127.0.0.1:(local_port_base + id)`; the brokers must
    /// advertise exactly that address on the external listener.
    pub local_port_base: u16,
    /// How a node fault reaches a node.
    pub nodes: crate::experiment::NodeAccess,
}

impl KubernetesTarget {
    pub const DEFAULT_POD_PORT: u16 = 9094;
    pub const DEFAULT_LOCAL_PORT_BASE: u16 = 31090;

    pub fn new(namespace: impl Into<String>, cluster: impl Into<String>) -> Self {
        Self {
            namespace: namespace.into(),
            cluster: cluster.into(),
            context: None,
            kubeconfig: None,
            pod_port: Self::DEFAULT_POD_PORT,
            local_port_base: Self::DEFAULT_LOCAL_PORT_BASE,
            nodes: crate::experiment::NodeAccess::Pods,
        }
    }

    /// The label selector of every pod of the cluster.
    pub fn selector(&self) -> String {
        format!("{}={}", discovery::CLUSTER_LABEL, self.cluster)
    }

    /// The local port of broker `id`'s tunnel; None when it does not fit in a port.
    pub fn local_port(&self, id: i32) -> Option<u16> {
        u16::try_from(i64::from(self.local_port_base) + i64::from(id)).ok()
    }
}

/// Why Kubernetes did not do what we asked.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// No kubeconfig (or in-cluster account) to build a client from.
    #[error("Kubernetes configuration{}: {source}", path.as_ref().map(|p| format!(" {}", p.display())).unwrap_or_default())]
    Config {
        path: Option<PathBuf>,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The API server did not answer (`address` is the one the kubeconfig names).
    #[error("the Kubernetes API server at {address} is unreachable: {source}")]
    Unreachable {
        address: String,
        #[source]
        source: kube::Error,
    },
    #[error("no Kafka pods in namespace {namespace} match {selector} (a broker needs strimzi.io/name=<cluster>-kafka or strimzi.io/broker-role=true)")]
    NothingMatched { namespace: String, selector: String },
    /// A missing RBAC permission: the verb and the resource to grant in the namespace.
    #[error("forbidden: cannot {verb} {resource} in namespace {namespace} (grant it in a Role: see docs/kubernetes.md, \"RBAC\")")]
    Forbidden {
        verb: &'static str,
        resource: &'static str,
        namespace: String,
        #[source]
        source: kube::Error,
    },
    #[error("{action}: {source}")]
    Api {
        action: String,
        #[source]
        source: kube::Error,
    },
    /// A command exec'd in a pod failed (exit code and its output).
    #[error("`{command}` in {pod}/{container} exited {code}: {output}")]
    Exec {
        pod: String,
        container: String,
        command: String,
        code: i32,
        output: String,
    },
    /// A tunnel's local port could not be bound (taken by another process?).
    #[error("cannot listen on 127.0.0.1:{port} for broker {broker}'s tunnel (is the port taken?): {source}")]
    Listen {
        port: u16,
        broker: i32,
        #[source]
        source: std::io::Error,
    },
    /// Something did not happen in time (a pod Ready again, a helper running).
    #[error("{what} did not happen within {waited:?}")]
    Timeout {
        what: String,
        waited: std::time::Duration,
    },
    /// A precondition on the cluster's objects (a pod that is not the cluster's, a helper
    /// image that cannot be pulled, …).
    #[error("{0}")]
    Refused(String),
    /// An object (or a whole cluster) that someone else made: `chaos up` does not take it
    /// over and `chaos down` does not delete it.
    #[error("{0}")]
    NotOurs(String),
    /// A node container (`nodes: docker-containers`) could not be acted on.
    #[error(transparent)]
    Node(#[from] nodes::NodeError),
}

/// What a call was, for its error: the RBAC verb and resource it needs, in which namespace,
/// and the API server's address (for an unreachable server).
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub verb: &'static str,
    pub resource: &'static str,
    pub namespace: &'a str,
    pub address: &'a str,
}

impl Call<'_> {
    /// Maps kube's error: HTTP 403 names the missing permission, a transport failure the
    /// unreachable server; the rest keep the API's own status.
    pub fn error(self, source: kube::Error) -> KubeError {
        match &source {
            kube::Error::Api(status) if status.code == 403 => KubeError::Forbidden {
                verb: self.verb,
                resource: self.resource,
                namespace: self.namespace.to_string(),
                source,
            },
            kube::Error::HyperError(_) | kube::Error::Service(_) => KubeError::Unreachable {
                address: self.address.to_string(),
                source,
            },
            _ => KubeError::Api {
                action: format!("{} {} in {}", self.verb, self.resource, self.namespace),
                source,
            },
        }
    }
}

/// Whether kube's error is the API's 404 (the object is gone).
pub(crate) fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(status) if status.code == 404)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call() -> Call<'static> {
        Call {
            verb: "delete",
            resource: "pods",
            namespace: "chaos",
            address: "https://127.0.0.1:6443/",
        }
    }

    #[test]
    fn a_403_names_the_verb_and_the_resource() {
        let status = kube::core::Status::failure(
            "pods \"seed-kafka-0\" is forbidden: User \"x\" cannot delete resource \"pods\"",
            "Forbidden",
        )
        .with_code(403);
        let e = call().error(kube::Error::Api(status.boxed()));
        assert!(
            matches!(
                &e,
                KubeError::Forbidden { verb: "delete", resource: "pods", namespace, .. }
                    if namespace == "chaos"
            ),
            "{e:?}"
        );
        let shown = e.to_string();
        assert!(
            shown.contains("cannot delete pods in namespace chaos"),
            "{shown}"
        );
        assert!(
            std::error::Error::source(&e).is_some(),
            "keeps kube's error"
        );
    }

    #[test]
    fn other_statuses_keep_the_action() {
        let status = kube::core::Status::failure("pods \"x\" not found", "NotFound").with_code(404);
        let source = kube::Error::Api(status.boxed());
        assert!(is_not_found(&source));
        let e = call().error(source);
        assert!(
            matches!(&e, KubeError::Api { action, .. } if action == "delete pods in chaos"),
            "{e:?}"
        );
    }

    #[test]
    fn local_ports_follow_the_broker_id() {
        let t = KubernetesTarget::new("chaos", "seed");
        assert_eq!(t.selector(), "strimzi.io/cluster=seed");
        assert_eq!(t.local_port(2), Some(31092));
        assert_eq!(t.local_port(40_000), None, "beyond 65535");
        assert_eq!(t.local_port(-40_000), None);
    }
}
