//! The orphan sweep: helper containers (network-fault sidecars, one-off tools) whose owner
//! `chaos` process is gone have nobody left to revert them. The start of every run and
//! `chaos clean` clear their rules and remove them. Cluster services are healed separately
//! (a kept cluster outlives its owner on purpose).
//!
//! An owner is identified by pid, the process's start time and the host it runs on, so that
//! neither the binary's name nor a pid reused by another process, nor the same pid on another
//! host sharing the Docker daemon, decides whether a live run's helpers are removed.

pub use super::owner::{host_id, parse_start_time, start_time_of, Owner};
use super::{faults, inventory, labels, DockerError};
use bollard::Docker;
use std::collections::HashMap;
use std::fmt;

/// What the sweep needs to know about the processes of this host.
pub trait Processes {
    /// This host's id (see [`host_id`]).
    fn host_id(&self) -> &str;
    /// Start time of a running process, `None` when no process has that pid.
    fn start_time(&self, pid: u32) -> Option<u64>;
    /// The rule for labels without a start time: a process with that pid that is a `chaos`
    /// binary (named `chaos`, or named like this very binary).
    fn legacy_alive(&self, pid: u32) -> bool;
}

/// What the sweep decides about one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A cluster service (or anything that is not a helper): never swept.
    NotAHelper,
    /// Its owner runs: leave it.
    OwnerAlive,
    /// Its owner is gone: clear and remove it.
    Orphan,
    /// Its owner runs on another host sharing this Docker daemon: whether it lives cannot be
    /// known here, so it is never swept.
    OtherHost(String),
}

/// The decision for one container's labels.
pub fn judge(l: &HashMap<String, String>, processes: &dyn Processes) -> Verdict {
    if !labels::ContainerRole::of(l).is_some_and(labels::ContainerRole::is_helper) {
        return Verdict::NotAHelper;
    }
    let Some(owner) = Owner::from_labels(l) else {
        return Verdict::Orphan;
    };
    if let Some(host) = &owner.host {
        if host != processes.host_id() {
            return Verdict::OtherHost(host.clone());
        }
    }
    let alive = match owner.start_time {
        Some(start) => processes.start_time(owner.pid) == Some(start),
        None => processes.legacy_alive(owner.pid),
    };
    if alive {
        Verdict::OwnerAlive
    } else {
        Verdict::Orphan
    }
}

/// A helper whose owner process is not alive. Services are never orphans (`--keep`).
pub fn is_orphan(l: &HashMap<String, String>, processes: &dyn Processes) -> bool {
    judge(l, processes) == Verdict::Orphan
}

/// The processes of this host, read from /proc.
pub struct LocalProcesses {
    host: String,
    own_comm: Option<String>,
}

impl LocalProcesses {
    pub fn new() -> Self {
        Self {
            host: Owner::this_process().host.clone().unwrap_or_else(host_id),
            own_comm: comm_of("self"),
        }
    }
}

impl Default for LocalProcesses {
    fn default() -> Self {
        Self::new()
    }
}

fn comm_of(pid: &str) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .ok()
        .map(|c| c.trim().to_string())
}

impl Processes for LocalProcesses {
    fn host_id(&self) -> &str {
        &self.host
    }
    fn start_time(&self, pid: u32) -> Option<u64> {
        start_time_of(pid)
    }
    fn legacy_alive(&self, pid: u32) -> bool {
        comm_of(&pid.to_string())
            .is_some_and(|c| c == "chaos" || Some(&c) == self.own_comm.as_ref())
    }
}

/// What the sweep did (or deliberately did not do) about one helper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SweepNote {
    Removed {
        cluster: String,
        what: &'static str,
        name: String,
        owner_pid: String,
    },
    /// Owned by a process on another host: left alone.
    LeftAlone {
        cluster: String,
        what: &'static str,
        name: String,
        host: String,
    },
}

impl fmt::Display for SweepNote {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            SweepNote::Removed {
                cluster,
                what,
                name,
                owner_pid,
            } => write!(
                f,
                "{cluster}: removed orphaned {what} {name} (owner pid {owner_pid} is gone)"
            ),
            SweepNote::LeftAlone {
                cluster,
                what,
                name,
                host,
            } => write!(
                f,
                "{cluster}: left {what} {name} alone: its owner runs on another host ({host}); \
                 helpers of another host are never swept (run `chaos clean` there)"
            ),
        }
    }
}

/// Clears and removes every orphaned helper; returns what it did, one note each.
pub async fn sweep_orphans(docker: &Docker) -> Result<Vec<SweepNote>, DockerError> {
    let processes = LocalProcesses::new();
    let mut done = Vec::new();
    for c in inventory::list(docker, None).await? {
        let l = c.labels.clone().unwrap_or_default();
        let verdict = judge(&l, &processes);
        let cluster = l.get(labels::CLUSTER).cloned().unwrap_or_default();
        let what = match labels::ContainerRole::of(&l) {
            Some(labels::ContainerRole::Sidecar) => "network-fault sidecar",
            _ => "helper",
        };
        match verdict {
            Verdict::NotAHelper | Verdict::OwnerAlive => {}
            Verdict::OtherHost(host) => done.push(SweepNote::LeftAlone {
                cluster,
                what,
                name: inventory::name_of(&c),
                host,
            }),
            Verdict::Orphan => {
                let owner_pid = l.get(labels::OWNER_PID).cloned().unwrap_or_default();
                let name = faults::retire_helper(docker, &c).await?;
                done.push(SweepNote::Removed {
                    cluster,
                    what,
                    name,
                    owner_pid,
                });
            }
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A host with given processes (pid → (start time, name)).
    struct Fake {
        host: &'static str,
        procs: Vec<(u32, u64, &'static str)>,
    }

    impl Processes for Fake {
        fn host_id(&self) -> &str {
            self.host
        }
        fn start_time(&self, pid: u32) -> Option<u64> {
            self.procs.iter().find(|p| p.0 == pid).map(|p| p.1)
        }
        fn legacy_alive(&self, pid: u32) -> bool {
            self.procs.iter().any(|p| p.0 == pid && p.2 == "chaos")
        }
    }

    fn here() -> Fake {
        Fake {
            host: "host-a",
            procs: vec![(41, 1000, "kafka-chaos"), (42, 2000, "chaos")],
        }
    }

    fn helper(role: &str, owner: &[(&str, &str)]) -> HashMap<String, String> {
        let mut l = HashMap::from([
            (labels::MANAGED.to_string(), "true".to_string()),
            (labels::CLUSTER.to_string(), "seed".to_string()),
            (labels::ROLE.to_string(), role.to_string()),
        ]);
        for (k, v) in owner {
            l.insert(k.to_string(), v.to_string());
        }
        l
    }

    const PID: &str = labels::OWNER_PID;
    const START: &str = labels::OWNER_START;
    const HOST: &str = labels::OWNER_HOST;

    #[test]
    fn alive_means_same_host_same_pid_and_same_start_time_whatever_the_binary_is_called() {
        // pid 41 is a binary named kafka-chaos: alive, its name does not matter.
        let l = helper("sidecar", &[(PID, "41"), (START, "1000"), (HOST, "host-a")]);
        assert_eq!(judge(&l, &here()), Verdict::OwnerAlive);
        let l = helper("tool", &[(PID, "41"), (START, "1000"), (HOST, "host-a")]);
        assert_eq!(judge(&l, &here()), Verdict::OwnerAlive);
    }

    #[test]
    fn a_reused_pid_or_a_gone_process_is_an_orphan() {
        let l = helper("sidecar", &[(PID, "41"), (START, "999"), (HOST, "host-a")]);
        assert_eq!(judge(&l, &here()), Verdict::Orphan);
        let l = helper("sidecar", &[(PID, "77"), (START, "1000"), (HOST, "host-a")]);
        assert_eq!(judge(&l, &here()), Verdict::Orphan);
        let l = helper("sidecar", &[(PID, "not-a-pid"), (START, "1000")]);
        assert_eq!(judge(&l, &here()), Verdict::Orphan);
        let l = helper("sidecar", &[]);
        assert_eq!(judge(&l, &here()), Verdict::Orphan);
    }

    #[test]
    fn a_helper_of_another_host_is_never_swept() {
        // Same pid and start time, other host: whether it lives is unknowable here.
        let l = helper("sidecar", &[(PID, "41"), (START, "1000"), (HOST, "host-b")]);
        assert_eq!(judge(&l, &here()), Verdict::OtherHost("host-b".into()));
        let l = helper("sidecar", &[(PID, "99"), (START, "5"), (HOST, "host-b")]);
        assert_eq!(judge(&l, &here()), Verdict::OtherHost("host-b".into()));
        assert!(!is_orphan(&l, &here()));
    }

    #[test]
    fn old_labels_without_a_start_time_fall_back_to_the_process_name() {
        assert_eq!(
            judge(&helper("sidecar", &[(PID, "42")]), &here()),
            Verdict::OwnerAlive
        );
        assert_eq!(
            judge(&helper("sidecar", &[(PID, "41")]), &here()),
            Verdict::Orphan
        );
        assert_eq!(
            judge(&helper("sidecar", &[(PID, "7")]), &here()),
            Verdict::Orphan
        );
    }

    #[test]
    fn services_are_never_orphans() {
        let l = helper("service", &[(PID, "7"), (HOST, "host-b")]);
        assert_eq!(judge(&l, &here()), Verdict::NotAHelper);
        assert_eq!(judge(&HashMap::new(), &here()), Verdict::NotAHelper);
    }

    #[test]
    fn start_time_is_field_22_even_when_the_name_holds_spaces_and_parens() {
        let stat = "1234 (my (odd) chaos) S 1 1234 1234 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 4 0 987654 1000000 200";
        assert_eq!(parse_start_time(stat), Some(987654));
        assert_eq!(parse_start_time("garbage"), None);
        assert_eq!(parse_start_time("1 (x) S 1 2"), None);
    }

    #[test]
    fn this_process_is_alive_by_its_own_labels_and_a_changed_start_time_is_not() {
        let me = Owner::this_process();
        assert!(me.start_time.is_some());
        let mut l: HashMap<String, String> = me.labels().into_iter().collect();
        l.insert(labels::ROLE.into(), "sidecar".into());
        let local = LocalProcesses::new();
        assert_eq!(judge(&l, &local), Verdict::OwnerAlive);
        l.insert(
            labels::OWNER_START.into(),
            (me.start_time.unwrap_or(0) + 1).to_string(),
        );
        assert_eq!(judge(&l, &local), Verdict::Orphan);
        // The test binary is not called chaos: by the old rule it is not an owner, unless it
        // is this very binary (its own name).
        assert!(local.legacy_alive(std::process::id()));
        assert!(!local.legacy_alive(u32::MAX));
    }
}
