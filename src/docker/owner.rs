//! Who created a resource: the `chaos` process (pid, its start time, its host), as its labels
//! record it — what the orphan sweep judges. Below `labels` (which puts these on every
//! resource) and `sweep`.

use std::collections::HashMap;
use std::sync::OnceLock;

/// Pid of the `chaos` process that created it, for the orphan sweep.
pub const OWNER_PID: &str = "chaos.owner-pid";
/// That process's start time (field 22 of /proc/<pid>/stat, clock ticks since boot): a pid
/// reused by another process has another start time.
pub const OWNER_START: &str = "chaos.owner-start";
/// The host the owner runs on (/etc/machine-id, else the hostname): a pid means nothing on
/// another host.
pub const OWNER_HOST: &str = "chaos.owner-host";

/// The process that created a resource, as recorded in its labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub pid: u32,
    /// Clock ticks since boot at which the process started; `None` on labels written before
    /// start times were recorded.
    pub start_time: Option<u64>,
    /// `None` on labels written before hosts were recorded.
    pub host: Option<String>,
}

impl Owner {
    /// This process (computed once).
    pub fn this_process() -> &'static Owner {
        static THIS: OnceLock<Owner> = OnceLock::new();
        THIS.get_or_init(|| {
            let pid = std::process::id();
            Owner {
                pid,
                start_time: start_time_of(pid),
                host: Some(host_id()),
            }
        })
    }

    /// The labels that record this owner.
    pub fn labels(&self) -> Vec<(String, String)> {
        let mut l = vec![(OWNER_PID.to_string(), self.pid.to_string())];
        if let Some(s) = self.start_time {
            l.push((OWNER_START.to_string(), s.to_string()));
        }
        if let Some(h) = &self.host {
            l.push((OWNER_HOST.to_string(), h.clone()));
        }
        l
    }

    /// The owner recorded in a resource's labels; `None` when there is no readable pid.
    pub fn from_labels(l: &HashMap<String, String>) -> Option<Owner> {
        Some(Owner {
            pid: l.get(OWNER_PID)?.parse().ok()?,
            start_time: l.get(OWNER_START).and_then(|s| s.parse().ok()),
            host: l
                .get(OWNER_HOST)
                .map(|h| h.trim().to_string())
                .filter(|h| !h.is_empty()),
        })
    }
}

/// Field 22 of /proc/<pid>/stat (start time in clock ticks after boot). The fields are
/// counted after the command name's closing parenthesis, since the name may hold spaces.
pub fn parse_start_time(stat: &str) -> Option<u64> {
    let (_, after_comm) = stat.rsplit_once(')')?;
    // After ")" come field 3 (state), 4, …: field 22 is the 20th.
    after_comm.split_whitespace().nth(19)?.parse().ok()
}

pub fn start_time_of(pid: u32) -> Option<u64> {
    parse_start_time(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// /etc/machine-id, else the hostname (trimmed); "unknown" when neither can be read.
pub fn host_id() -> String {
    [
        "/etc/machine-id",
        "/proc/sys/kernel/hostname",
        "/etc/hostname",
    ]
    .iter()
    .filter_map(|p| std::fs::read_to_string(p).ok())
    .map(|s| s.trim().to_string())
    .find(|s| !s.is_empty())
    .unwrap_or_else(|| "unknown".to_string())
}
