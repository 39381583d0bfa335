//! The labels every resource this tool creates carries. Destructive calls check them first:
//! a container without them is never stopped, paused, partitioned or removed.

use std::collections::HashMap;

pub const MANAGED: &str = "chaos.managed";
pub const CLUSTER: &str = "chaos.cluster";
pub const SERVICE: &str = "chaos.service";
/// Hash of the resolved cluster configuration: a running cluster is reused only when equal.
pub const CONFIG_HASH: &str = "chaos.config-hash";
/// "service", "sidecar" (network fault helper) or "tool" (one-off helper containers).
pub const ROLE: &str = "chaos.role";
pub use super::owner::{OWNER_HOST, OWNER_PID, OWNER_START};
/// So `docker compose -p <cluster>` tools see our containers as a project.
pub const COMPOSE_PROJECT: &str = "com.docker.compose.project";
pub const COMPOSE_SERVICE: &str = "com.docker.compose.service";

pub fn for_cluster(cluster: &str) -> HashMap<String, String> {
    let mut labels = HashMap::from([
        (MANAGED.to_string(), "true".to_string()),
        (CLUSTER.to_string(), cluster.to_string()),
        (COMPOSE_PROJECT.to_string(), cluster.to_string()),
    ]);
    labels.extend(super::owner::Owner::this_process().labels());
    labels
}

/// What a container of ours is: the value of [`ROLE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerRole {
    /// One of the cluster's services (a broker, ZooKeeper, a controller, …).
    Service,
    /// The network-fault helper next to a service (NET_ADMIN, its network namespace).
    Sidecar,
    /// A one-off helper container.
    Tool,
}

impl ContainerRole {
    pub fn as_label(self) -> &'static str {
        match self {
            ContainerRole::Service => "service",
            ContainerRole::Sidecar => "sidecar",
            ContainerRole::Tool => "tool",
        }
    }
    pub fn from_label(value: &str) -> Option<Self> {
        [
            ContainerRole::Service,
            ContainerRole::Sidecar,
            ContainerRole::Tool,
        ]
        .into_iter()
        .find(|r| r.as_label() == value)
    }
    /// The role a container's labels give it; None without the label or with a value this
    /// version does not know.
    pub fn of(labels: &HashMap<String, String>) -> Option<Self> {
        labels.get(ROLE).and_then(|v| Self::from_label(v))
    }
    /// A helper of ours (sidecar or tool), which the orphan sweep may remove.
    pub fn is_helper(self) -> bool {
        matches!(self, ContainerRole::Sidecar | ContainerRole::Tool)
    }
}

pub fn for_service(cluster: &str, service: &str, role: ContainerRole) -> HashMap<String, String> {
    let mut labels = for_cluster(cluster);
    labels.insert(SERVICE.to_string(), service.to_string());
    labels.insert(COMPOSE_SERVICE.to_string(), service.to_string());
    labels.insert(ROLE.to_string(), role.as_label().to_string());
    labels
}

/// The containers one cluster's operations may touch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// A cluster this tool created: `chaos.managed=true`, `chaos.cluster=<name>`.
    Cluster(String),
    /// A compose project someone else started: `com.docker.compose.project=<name>`. Its
    /// containers are faulted and healed, never created or removed; our helpers next to them
    /// carry `chaos.cluster=<name>` (and no compose labels, so compose never counts them).
    Project(String),
}

impl Scope {
    pub fn of(cluster: &crate::platform::Cluster) -> Scope {
        match &cluster.origin {
            crate::platform::Origin::Attached { project } => Scope::Project(project.clone()),
            _ => Scope::Cluster(cluster.name.clone()),
        }
    }

    /// The cluster name our own helpers are labelled with.
    pub fn name(&self) -> &str {
        match self {
            Scope::Cluster(name) | Scope::Project(name) => name,
        }
    }

    /// May a fault act on a service container with these labels?
    pub fn admits(&self, labels: Option<&HashMap<String, String>>) -> bool {
        match self {
            Scope::Cluster(name) => is_ours(labels, Some(name)),
            // The project's own containers, never one of our helpers.
            Scope::Project(project) => labels.is_some_and(|l| {
                l.get(COMPOSE_PROJECT) == Some(project) && !is_ours(Some(l), None)
            }),
        }
    }

    /// Filter for the daemon's list and events calls: the scope's service containers (and,
    /// for our clusters, our helpers).
    pub fn filter(&self) -> HashMap<String, Vec<String>> {
        match self {
            Scope::Cluster(name) => filter(Some(name)),
            Scope::Project(project) => HashMap::from([(
                "label".to_string(),
                vec![format!("{COMPOSE_PROJECT}={project}")],
            )]),
        }
    }

    /// Labels for a helper container (network-fault sidecar) next to `service`.
    pub fn helper_labels(&self, service: &str, role: ContainerRole) -> HashMap<String, String> {
        let mut labels = for_service(self.name(), service, role);
        if matches!(self, Scope::Project(_)) {
            labels.remove(COMPOSE_PROJECT);
            labels.remove(COMPOSE_SERVICE);
        }
        labels
    }
}

/// True when `labels` mark a resource of ours (of `cluster`, when given).
pub fn is_ours(labels: Option<&HashMap<String, String>>, cluster: Option<&str>) -> bool {
    let Some(labels) = labels else { return false };
    labels.get(MANAGED).map(String::as_str) == Some("true")
        && cluster.is_none_or(|c| labels.get(CLUSTER).map(String::as_str) == Some(c))
}

/// Filter for list calls: `label=chaos.managed=true` (and the cluster).
pub fn filter(cluster: Option<&str>) -> HashMap<String, Vec<String>> {
    let mut wanted = vec![format!("{MANAGED}=true")];
    if let Some(c) = cluster {
        wanted.push(format!("{CLUSTER}={c}"));
    }
    HashMap::from([("label".to_string(), wanted)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_labelled_resources_of_the_cluster_are_ours() {
        let ours = for_service("seed", "kafka-1", ContainerRole::Service);
        assert!(is_ours(Some(&ours), Some("seed")));
        assert!(is_ours(Some(&ours), None));
        assert!(!is_ours(Some(&ours), Some("other")));
        let mut foreign = ours.clone();
        foreign.remove(MANAGED);
        assert!(!is_ours(Some(&foreign), None));
        assert!(!is_ours(None, None));
    }

    #[test]
    fn an_attached_project_admits_its_containers_but_not_our_helpers_or_other_projects() {
        let project = Scope::Project("shop".into());
        let theirs = HashMap::from([(COMPOSE_PROJECT.to_string(), "shop".to_string())]);
        assert!(project.admits(Some(&theirs)));
        let other = HashMap::from([(COMPOSE_PROJECT.to_string(), "billing".to_string())]);
        assert!(!project.admits(Some(&other)));
        assert!(!project.admits(None));
        // Our sidecar next to one of its containers: not a service, and invisible to compose.
        let helper = project.helper_labels("kafka-1", ContainerRole::Sidecar);
        assert!(!project.admits(Some(&helper)));
        assert!(is_ours(Some(&helper), Some("shop")));
        assert!(!helper.contains_key(COMPOSE_PROJECT) && !helper.contains_key(COMPOSE_SERVICE));
        // A cluster of ours does not admit the project's containers, and vice versa.
        let ours = Scope::Cluster("shop".into());
        assert!(!ours.admits(Some(&theirs)));
        assert!(ours.admits(Some(&for_service(
            "shop",
            "kafka-1",
            ContainerRole::Service
        ))));
        assert_eq!(
            project.filter()["label"],
            vec!["com.docker.compose.project=shop".to_string()]
        );
    }

    #[test]
    fn every_resource_names_its_owner_pid_start_time_and_host() {
        let l = for_service("seed", "kafka-1", ContainerRole::Sidecar);
        assert_eq!(l[OWNER_PID], std::process::id().to_string());
        assert!(l[OWNER_START].parse::<u64>().is_ok(), "{l:?}");
        assert!(!l[OWNER_HOST].is_empty(), "{l:?}");
    }
}
