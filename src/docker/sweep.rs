//! The orphan sweep: helper containers (network-fault sidecars, one-off tools) whose owner
//! `chaos` process is gone have nobody left to revert them. The start of every run and
//! `chaos clean` clear their rules and remove them. Cluster services are healed separately
//! (a kept cluster outlives its owner on purpose).

use super::{cluster::lifecycle, faults, labels, DockerError};
use bollard::Docker;
use std::collections::HashMap;

/// A helper whose owner process is not alive. Services are never orphans (`--keep`).
pub fn is_orphan(labels: &HashMap<String, String>, owner_alive: impl Fn(u32) -> bool) -> bool {
    let helper = matches!(
        labels.get(labels::ROLE).map(String::as_str),
        Some("sidecar" | "tool")
    );
    let owner = labels
        .get(labels::OWNER_PID)
        .and_then(|p| p.parse::<u32>().ok());
    helper && owner.is_none_or(|pid| !owner_alive(pid))
}

/// True when `pid` is a running `chaos` process on this host (a reused pid of another
/// program does not count).
pub fn owner_alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.trim() == "chaos")
}

/// Clears and removes every orphaned helper; returns what it did, one line each.
pub async fn sweep_orphans(docker: &Docker) -> Result<Vec<String>, DockerError> {
    let mut done = Vec::new();
    for c in lifecycle::list(docker, None).await? {
        let l = c.labels.clone().unwrap_or_default();
        if !is_orphan(&l, owner_alive) {
            continue;
        }
        let owner = l.get(labels::OWNER_PID).cloned().unwrap_or_default();
        let cluster = l.get(labels::CLUSTER).cloned().unwrap_or_default();
        let what = match l.get(labels::ROLE).map(String::as_str) {
            Some("sidecar") => "network-fault sidecar",
            _ => "helper",
        };
        let name = faults::retire_helper(docker, &c).await?;
        done.push(format!(
            "{cluster}: removed orphaned {what} {name} (owner pid {owner} is gone)"
        ));
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn helper(role: &str, pid: &str) -> HashMap<String, String> {
        let mut l = labels::for_service("seed", "kafka-1", role);
        l.insert(labels::OWNER_PID.into(), pid.into());
        l
    }

    #[test]
    fn a_helper_of_a_dead_owner_is_an_orphan() {
        assert!(is_orphan(&helper("sidecar", "41"), |_| false));
        assert!(is_orphan(&helper("tool", "41"), |_| false));
        assert!(is_orphan(&helper("sidecar", "not-a-pid"), |_| true));
    }

    #[test]
    fn a_live_owners_helper_and_any_service_are_left_alone() {
        assert!(!is_orphan(&helper("sidecar", "41"), |pid| pid == 41));
        assert!(!is_orphan(&helper("service", "41"), |_| false));
    }

    #[test]
    fn this_test_process_is_not_a_chaos_owner() {
        assert!(!owner_alive(std::process::id()));
        assert!(!owner_alive(u32::MAX));
    }
}
