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
/// Pid and host of the `chaos` process that created it, for the orphan sweep.
pub const OWNER_PID: &str = "chaos.owner-pid";
/// So `docker compose -p <cluster>` tools see our containers as a project.
pub const COMPOSE_PROJECT: &str = "com.docker.compose.project";
pub const COMPOSE_SERVICE: &str = "com.docker.compose.service";

pub fn for_cluster(cluster: &str) -> HashMap<String, String> {
    HashMap::from([
        (MANAGED.to_string(), "true".to_string()),
        (CLUSTER.to_string(), cluster.to_string()),
        (COMPOSE_PROJECT.to_string(), cluster.to_string()),
        (OWNER_PID.to_string(), std::process::id().to_string()),
    ])
}

pub fn for_service(cluster: &str, service: &str, role: &str) -> HashMap<String, String> {
    let mut labels = for_cluster(cluster);
    labels.insert(SERVICE.to_string(), service.to_string());
    labels.insert(COMPOSE_SERVICE.to_string(), service.to_string());
    labels.insert(ROLE.to_string(), role.to_string());
    labels
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
        let ours = for_service("seed", "kafka-1", "service");
        assert!(is_ours(Some(&ours), Some("seed")));
        assert!(is_ours(Some(&ours), None));
        assert!(!is_ours(Some(&ours), Some("other")));
        let mut foreign = ours.clone();
        foreign.remove(MANAGED);
        assert!(!is_ours(Some(&foreign), None));
        assert!(!is_ours(None, None));
    }
}
