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
/// Pid of the `chaos` process that created it, for the orphan sweep.
pub const OWNER_PID: &str = "chaos.owner-pid";
/// That process's start time (field 22 of /proc/<pid>/stat, clock ticks since boot): a pid
/// reused by another process has another start time.
pub const OWNER_START: &str = "chaos.owner-start";
/// The host the owner runs on (/etc/machine-id, else the hostname): a pid means nothing on
/// another host.
pub const OWNER_HOST: &str = "chaos.owner-host";
/// So `docker compose -p <cluster>` tools see our containers as a project.
pub const COMPOSE_PROJECT: &str = "com.docker.compose.project";
pub const COMPOSE_SERVICE: &str = "com.docker.compose.service";

pub fn for_cluster(cluster: &str) -> HashMap<String, String> {
    let mut labels = HashMap::from([
        (MANAGED.to_string(), "true".to_string()),
        (CLUSTER.to_string(), cluster.to_string()),
        (COMPOSE_PROJECT.to_string(), cluster.to_string()),
    ]);
    labels.extend(super::sweep::Owner::this_process().labels());
    labels
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

    #[test]
    fn every_resource_names_its_owner_pid_start_time_and_host() {
        let l = for_service("seed", "kafka-1", "sidecar");
        assert_eq!(l[OWNER_PID], std::process::id().to_string());
        assert!(l[OWNER_START].parse::<u64>().is_ok(), "{l:?}");
        assert!(!l[OWNER_HOST].is_empty(), "{l:?}");
    }
}
