//! The pod watch's events → container transitions (`die`, `start`) per service. Pure: the
//! watch task feeds it and stamps what it returns with the arrival time.
//!
//! A transition is seen when the API server's view of the Kafka container changes: running →
//! not running (terminated, waiting, or the pod deleted) is `die`; not running → running, or a
//! new pod of the same name running, is `start`; a new container id while running (a restart
//! between two watch events) is both. We cannot tell a SIGKILL from a crash here (the watch
//! sees results, not causes), hence `die`, never `kill`.

use super::discovery::{is_ready, is_running, kind_of, main_status, pod_name};
use crate::events::ContainerAction;
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::watcher::Event;
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    uid: String,
    running: bool,
    ready: bool,
    container_id: Option<String>,
}

fn seen(pod: &Pod) -> Seen {
    Seen {
        uid: pod.metadata.uid.clone().unwrap_or_default(),
        running: is_running(pod),
        ready: is_ready(pod),
        container_id: main_status(pod).and_then(|s| s.container_id.clone()),
    }
}

/// The last state seen of every pod of one cluster, by pod name (a StatefulSet's pod keeps
/// its name across recreation, and the name is the service).
#[derive(Debug, Default)]
pub struct PodTracker {
    cluster: String,
    pods: HashMap<String, Seen>,
    /// False until the watch's first full list is in: what runs then is not a transition.
    primed: bool,
    /// Pods listed since the last `Init` (a re-list after a gap in the watch).
    relisted: HashSet<String>,
    /// Readiness that changed while the container kept running, not yet taken.
    readiness: Vec<(String, bool)>,
    /// Pods said not Ready that way, until they are Ready again (a restart between keeps
    /// them here: "Ready again" follows only a "not Ready").
    not_ready: HashSet<String>,
}

impl PodTracker {
    pub fn new(cluster: impl Into<String>) -> Self {
        Self {
            cluster: cluster.into(),
            ..Self::default()
        }
    }

    /// The transitions one watch event shows, in order, as (service, action).
    pub fn observe(&mut self, event: &Event<Pod>) -> Vec<(String, ContainerAction)> {
        let mut out = Vec::new();
        match event {
            Event::Init => self.relisted.clear(),
            Event::InitApply(pod) => {
                if let Some(name) = self.ours(pod) {
                    self.relisted.insert(name.clone());
                    if self.primed {
                        self.apply(name, pod, &mut out);
                    } else {
                        self.pods.insert(name, seen(pod));
                    }
                }
            }
            Event::InitDone => {
                // After a gap: what the re-list no longer holds was deleted meanwhile.
                if self.primed {
                    let gone: Vec<String> = self
                        .pods
                        .keys()
                        .filter(|n| !self.relisted.contains(*n))
                        .cloned()
                        .collect();
                    for name in gone {
                        if self.pods.remove(&name).is_some_and(|s| s.running) {
                            out.push((name, ContainerAction::Die));
                        }
                    }
                }
                self.primed = true;
            }
            Event::Apply(pod) => {
                if let Some(name) = self.ours(pod) {
                    self.apply(name, pod, &mut out);
                }
            }
            Event::Delete(pod) => {
                if let Some(name) = self.ours(pod) {
                    let uid = pod.metadata.uid.as_deref().unwrap_or_default();
                    // A late delete of the previous pod must not end its successor.
                    let current = self.pods.get(&name).is_some_and(|s| s.uid == uid);
                    if current && self.pods.remove(&name).is_some_and(|s| s.running) {
                        out.push((name, ContainerAction::Die));
                    }
                }
            }
        }
        out
    }

    /// Pods whose Ready condition changed while their container was reported running
    /// throughout (name, ready now), since the last call: Kubernetes's own view turning, with
    /// no exit behind it — the node controller marking the pods of a node that stopped
    /// reporting, or a readiness probe failing.
    pub fn take_readiness(&mut self) -> Vec<(String, bool)> {
        std::mem::take(&mut self.readiness)
    }

    fn ours(&self, pod: &Pod) -> Option<String> {
        kind_of(pod, &self.cluster).map(|_| pod_name(pod).to_string())
    }

    fn apply(&mut self, name: String, pod: &Pod, out: &mut Vec<(String, ContainerAction)>) {
        let now = seen(pod);
        let before = match self.pods.get(&name) {
            // A new pod of the same name whose predecessor's delete we did not see.
            Some(prev) if prev.uid != now.uid => {
                if prev.running {
                    out.push((name.clone(), ContainerAction::Die));
                }
                None
            }
            other => other.cloned(),
        };
        let was_running = before.as_ref().is_some_and(|b| b.running);
        match (was_running, now.running) {
            (true, false) => out.push((name.clone(), ContainerAction::Die)),
            (false, true) => out.push((name.clone(), ContainerAction::Start)),
            (true, true)
                if before
                    .as_ref()
                    .is_some_and(|b| b.container_id != now.container_id) =>
            {
                out.push((name.clone(), ContainerAction::Die));
                out.push((name.clone(), ContainerAction::Start));
            }
            (true, true) if before.as_ref().is_some_and(|b| b.ready != now.ready) => {
                if !now.ready {
                    self.not_ready.insert(name.clone());
                    self.readiness.push((name.clone(), false));
                } else if self.not_ready.remove(&name) {
                    self.readiness.push((name.clone(), true));
                }
            }
            _ => {}
        }
        self.pods.insert(name, now);
    }
}

#[cfg(test)]
mod tests {
    use super::super::discovery::fixtures::broker;
    use super::*;
    use ContainerAction::{Die, Start};

    fn primed(pods: &[Pod]) -> PodTracker {
        let mut t = PodTracker::new("seed");
        assert!(t.observe(&Event::Init).is_empty());
        for p in pods {
            assert!(
                t.observe(&Event::InitApply(p.clone())).is_empty(),
                "the first list is the state, not transitions"
            );
        }
        assert!(t.observe(&Event::InitDone).is_empty());
        t
    }

    fn with_uid(mut pod: Pod, uid: &str) -> Pod {
        pod.metadata.uid = Some(uid.into());
        pod
    }

    fn one(name: &str, action: ContainerAction) -> Vec<(String, ContainerAction)> {
        vec![(name.to_string(), action)]
    }

    #[test]
    fn kill_by_delete_then_the_statefulset_recreates_it() {
        let mut t = primed(&[broker("seed", 0, "running"), broker("seed", 1, "running")]);
        let old = broker("seed", 1, "running");
        assert_eq!(
            t.observe(&Event::Delete(old.clone())),
            one("seed-kafka-1", Die)
        );
        let new = with_uid(broker("seed", 1, "waiting:ContainerCreating"), "uid-2");
        assert!(t.observe(&Event::Apply(new)).is_empty());
        let new = with_uid(broker("seed", 1, "running"), "uid-2");
        assert_eq!(t.observe(&Event::Apply(new)), one("seed-kafka-1", Start));
        // The old pod's delete arriving late ends nothing.
        assert!(t.observe(&Event::Delete(old)).is_empty());
    }

    #[test]
    fn graceful_stop_terminates_before_the_delete() {
        let mut t = primed(&[broker("seed", 0, "running")]);
        assert_eq!(
            t.observe(&Event::Apply(broker("seed", 0, "terminated"))),
            one("seed-kafka-0", Die)
        );
        assert!(t
            .observe(&Event::Delete(broker("seed", 0, "terminated")))
            .is_empty());
    }

    #[test]
    fn a_recreated_pod_whose_delete_was_missed() {
        let mut t = primed(&[broker("seed", 0, "running")]);
        let new = with_uid(broker("seed", 0, "running"), "uid-2");
        assert_eq!(
            t.observe(&Event::Apply(new)),
            vec![
                ("seed-kafka-0".to_string(), Die),
                ("seed-kafka-0".to_string(), Start)
            ]
        );
    }

    #[test]
    fn a_container_restart_in_place() {
        let mut t = primed(&[broker("seed", 0, "running")]);
        let mut restarted = broker("seed", 0, "running");
        if let Some(s) = restarted
            .status
            .as_mut()
            .and_then(|s| s.container_statuses.as_mut())
        {
            s[0].container_id = Some("containerd://seed-kafka-0-2".into());
        }
        assert_eq!(
            t.observe(&Event::Apply(restarted)),
            vec![
                ("seed-kafka-0".to_string(), Die),
                ("seed-kafka-0".to_string(), Start)
            ]
        );
    }

    #[test]
    fn readiness_turning_while_the_container_runs_is_taken_apart() {
        let mut t = primed(&[broker("seed", 0, "running")]);
        let mut marked = broker("seed", 0, "running");
        if let Some(c) = marked.status.as_mut().and_then(|s| s.conditions.as_mut()) {
            c[0].status = "False".into();
        }
        // The node controller's mark: no transition, one readiness change.
        assert!(t.observe(&Event::Apply(marked.clone())).is_empty());
        assert_eq!(
            t.take_readiness(),
            vec![("seed-kafka-0".to_string(), false)]
        );
        assert!(t.observe(&Event::Apply(marked)).is_empty());
        assert!(t.take_readiness().is_empty(), "only changes");
        assert!(t
            .observe(&Event::Apply(broker("seed", 0, "running")))
            .is_empty());
        assert_eq!(t.take_readiness(), vec![("seed-kafka-0".to_string(), true)]);
        // An exit is a transition, not a readiness change; Ready after a restart is said
        // only after a "not Ready".
        t.observe(&Event::Apply(broker("seed", 0, "terminated")));
        let mut starting = broker("seed", 0, "running");
        if let Some(c) = starting.status.as_mut().and_then(|s| s.conditions.as_mut()) {
            c[0].status = "False".into();
        }
        t.observe(&Event::Apply(starting));
        t.observe(&Event::Apply(broker("seed", 0, "running")));
        assert!(t.take_readiness().is_empty(), "a restart's own readiness");
    }

    #[test]
    fn a_relist_after_a_gap_shows_what_changed() {
        let mut t = primed(&[broker("seed", 0, "running"), broker("seed", 1, "running")]);
        t.observe(&Event::Init);
        assert_eq!(
            t.observe(&Event::InitApply(broker("seed", 0, "terminated"))),
            one("seed-kafka-0", Die)
        );
        assert_eq!(t.observe(&Event::InitDone), one("seed-kafka-1", Die));
    }

    #[test]
    fn other_clusters_and_helpers_are_not_tracked() {
        let mut t = primed(&[]);
        assert!(t
            .observe(&Event::Apply(broker("other", 0, "running")))
            .is_empty());
    }
}
