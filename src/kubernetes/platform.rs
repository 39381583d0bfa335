//! [`KubernetesRun`]: the runner's `FaultPlatform` and `ClusterPlatform` on a Kubernetes
//! namespace. Lifecycle faults are pod deletes (the StatefulSet recreates the pod: a "start"
//! is waiting for that, never creating anything) and signals exec'd in Kafka's container;
//! network faults run iptables / tc in an ephemeral container with NET_ADMIN in the pod's
//! network namespace; moments come from a pod watch, stamped when each event *arrived*.

use super::discovery::{self, is_ready, main_container, main_status, pod_name};
use super::lifecycle::PodTracker;
use super::nodes::{DockerNodes, NodeError};
use super::tunnel::Tunnels;
use super::{is_not_found, Call, KubeError, KubernetesTarget};
use crate::clock::{wall_now_ns, EventSink};
use crate::events::{ContainerAction, EventKind, TimeSource};
use crate::experiment::{Direction, NodeAccess};
use crate::platform::{
    partition_rules, Cluster, ClusterPlatform, FaultPlatform, Lifecycle, Moment, NetworkRules,
    PlatformAction, PlatformError, RunningService,
};
use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status as ExecStatus;
use kube::api::{
    AttachParams, DeleteParams, ListParams, LogParams, Patch, PatchParams, Preconditions,
};
use kube::runtime::{watcher, WatchStreamExt};
use kube::{Api, Client};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::sync::{oneshot, watch, Notify};

/// The network helper's image: iptables and tc. It must be pullable by the cluster's nodes
/// (the one image we bring; the brokers run the cluster's own).
pub const HELPER_IMAGE: &str = "chaos/base:bookworm-jre17";
/// Our ephemeral containers are `chaos-net-<n>`: they cannot be removed, so a helper that
/// has exited is replaced by the next number.
pub const HELPER_PREFIX: &str = "chaos-net-";
/// Who created a thing (`<pid>:<start time>`, as Docker's owner labels). Ephemeral
/// containers carry no annotations of their own: the helper records it in its environment
/// as [`OWNER_ENV`].
pub const OWNER_ANNOTATION: &str = "chaos.io/owner";
pub const OWNER_ENV: &str = "CHAOS_OWNER";
const CHAIN: &str = "CHAOS";
/// How long a pod deleted by a fault may take to be Running and Ready again.
const READY_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a new network helper may take to run (the image pull on a cold node included).
const HELPER_TIMEOUT: Duration = Duration::from_secs(120);
/// Beyond the pod's own grace period, for a graceful delete to finish.
const DELETE_SLACK: Duration = Duration::from_secs(30);

/// A client and the API server's address (for the errors that name it).
#[derive(Clone)]
pub struct Connection {
    pub client: Client,
    pub address: String,
}

/// A client from the target's kubeconfig and context (else `$KUBECONFIG`, `~/.kube/config`,
/// the in-cluster account), checked with `GET /version`.
pub async fn connect(target: &KubernetesTarget) -> Result<Connection, KubeError> {
    let config_error = |source: Box<dyn std::error::Error + Send + Sync>| KubeError::Config {
        path: target.kubeconfig.clone(),
        source,
    };
    let options = kube::config::KubeConfigOptions {
        context: target.context.clone(),
        ..Default::default()
    };
    let config = match &target.kubeconfig {
        Some(path) => {
            let file =
                kube::config::Kubeconfig::read_from(path).map_err(|e| config_error(Box::new(e)))?;
            kube::Config::from_custom_kubeconfig(file, &options)
                .await
                .map_err(|e| config_error(Box::new(e)))?
        }
        None if target.context.is_some() => kube::Config::from_kubeconfig(&options)
            .await
            .map_err(|e| config_error(Box::new(e)))?,
        None => kube::Config::infer()
            .await
            .map_err(|e| config_error(Box::new(e)))?,
    };
    let address = config.cluster_url.to_string();
    let client = Client::try_from(config).map_err(|source| KubeError::Unreachable {
        address: address.clone(),
        source,
    })?;
    client
        .apiserver_version()
        .await
        .map_err(|source| KubeError::Unreachable {
            address: address.clone(),
            source,
        })?;
    Ok(Connection { client, address })
}

/// A container transition the watch saw (or, for a signal or a node's kill, the answer of
/// the call that did it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub service: String,
    pub action: ContainerAction,
    /// Harness wall time (Unix ns) when it arrived.
    pub at_ns: i64,
    /// The watch's arrival, or a call's answer.
    pub source: TimeSource,
}

/// Every transition of the run, for `moment` to wait on.
#[derive(Default)]
struct TransitionLog {
    seen: Mutex<Vec<Transition>>,
    notify: Notify,
}

impl TransitionLog {
    /// Stamps `action` on `service` at `at_ns` (harness wall time, from `source`), into the
    /// run's stream and the log.
    fn record(
        &self,
        sink: &EventSink,
        service: String,
        action: ContainerAction,
        at_ns: i64,
        source: TimeSource,
    ) {
        sink.emit_at(
            sink.clock().at_us_of_wall_ns(at_ns),
            EventKind::Container {
                service: service.clone(),
                action,
            },
        );
        {
            let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
            seen.push(Transition {
                service,
                action,
                at_ns,
                source,
            });
            if seen.len() > 10_000 {
                seen.drain(..5_000);
            }
        }
        self.notify.notify_waiters();
    }

    async fn wait_for(
        &self,
        service: &str,
        action: ContainerAction,
        since_ns: i64,
        timeout: Duration,
    ) -> Option<Moment> {
        let find = || {
            self.seen
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .iter()
                .find(|t| t.service == service && t.action == action && t.at_ns >= since_ns)
                .map(|t| Moment {
                    at_ns: t.at_ns,
                    source: t.source,
                })
        };
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.notify.notified();
            if let Some(at) = find() {
                return Some(at);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return find();
            }
        }
    }
}

/// Aborts the pod watch when the last clone of the run is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

struct Inner {
    conn: Connection,
    target: KubernetesTarget,
    pods: Api<Pod>,
    cluster: Cluster,
    sink: EventSink,
    log: Arc<TransitionLog>,
    /// Counts the watch's errors: `lost` checks the server after each one.
    watch_errors: watch::Receiver<u64>,
    /// The node containers, with `nodes: docker-containers`.
    nodes: Option<DockerNodes>,
    /// Nodes this run crashed and has not booted again.
    crashed: Mutex<Vec<String>>,
    _watch: AbortOnDrop,
    _tunnels: Tunnels,
}

/// The run's platform on Kubernetes. Cheap to clone; the watch and the tunnels end with the
/// last clone.
#[derive(Clone)]
pub struct KubernetesRun {
    inner: Arc<Inner>,
}

impl KubernetesRun {
    /// Finds the cluster (its pods by [`KubernetesTarget::selector`]), opens a tunnel per
    /// broker, and starts the pod watch that forwards container transitions into the run's
    /// stream; returns once the watch has its first list, so nothing after it is missed.
    ///
    /// Error bar of the moments: a transition is stamped when the watch event *arrived* at the
    /// harness (its clock, `sink.clock()`), not with the kubelet's timestamps (whole seconds).
    /// It lags the fact by the kubelet's status report (its pod lifecycle event generator
    /// relists every second unless evented) plus the API server's fan-out (milliseconds), so a
    /// die or start moment is late by up to about a second; a kill by a grace-0 delete is the
    /// delete itself arriving (the kubelet's SIGKILL follows within milliseconds).
    pub async fn start(
        conn: Connection,
        target: &KubernetesTarget,
        sink: EventSink,
    ) -> Result<(KubernetesRun, Cluster), KubeError> {
        let pods: Api<Pod> = Api::namespaced(conn.client.clone(), &target.namespace);
        let call = |verb, resource| Call {
            verb,
            resource,
            namespace: &target.namespace,
            address: &conn.address,
        };
        let cluster = list_cluster(&pods, target, &conn.address).await?;

        let log = Arc::new(TransitionLog::default());
        let (errors_tx, watch_errors) = watch::channel(0u64);
        let (primed_tx, primed_rx) = oneshot::channel();
        let task = tokio::spawn(watch_pods(
            pods.clone(),
            target.clone(),
            Arc::clone(&log),
            sink.clone(),
            errors_tx,
            primed_tx,
        ));
        let watch = AbortOnDrop(task);
        match tokio::time::timeout(Duration::from_secs(30), primed_rx).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => return Err(watch_error(e, call("watch", "pods"))),
            Ok(Err(_)) | Err(_) => {
                return Err(KubeError::Timeout {
                    what: format!("the first list of the pod watch in {}", target.namespace),
                    waited: Duration::from_secs(30),
                })
            }
        }

        let brokers: Vec<(i32, String)> = cluster
            .brokers()
            .into_iter()
            .map(|(s, id)| (id, s.name.clone()))
            .collect();
        let tunnels = Tunnels::open(pods.clone(), target, &brokers).await?;
        let nodes = match target.nodes {
            NodeAccess::Pods => None,
            NodeAccess::DockerContainers => Some(node_containers(&cluster).await?),
        };

        let run = KubernetesRun {
            inner: Arc::new(Inner {
                conn,
                target: target.clone(),
                pods,
                cluster: cluster.clone(),
                sink,
                log,
                watch_errors,
                nodes,
                crashed: Mutex::new(Vec::new()),
                _watch: watch,
                _tunnels: tunnels,
            }),
        };
        Ok((run, cluster))
    }
}

/// The cluster as it is now and a tunnel per broker, for commands that only look (`status`,
/// `watch`): no pod watch, nothing faulted. The tunnels end when it is dropped.
pub struct Lookout {
    pods: Api<Pod>,
    target: KubernetesTarget,
    address: String,
    _tunnels: Tunnels,
}

impl Lookout {
    /// Finds the cluster's pods and opens a tunnel per broker found.
    pub async fn open(conn: &Connection, target: &KubernetesTarget) -> Result<Self, KubeError> {
        let pods: Api<Pod> = Api::namespaced(conn.client.clone(), &target.namespace);
        let cluster = list_cluster(&pods, target, &conn.address).await?;
        let brokers: Vec<(i32, String)> = cluster
            .brokers()
            .into_iter()
            .map(|(s, id)| (id, s.name.clone()))
            .collect();
        let tunnels = Tunnels::open(pods.clone(), target, &brokers).await?;
        Ok(Self {
            pods,
            target: target.clone(),
            address: conn.address.clone(),
            _tunnels: tunnels,
        })
    }

    pub fn namespace(&self) -> &str {
        &self.target.namespace
    }

    /// The cluster's pods as they are now.
    pub async fn cluster(&self) -> Result<Cluster, KubeError> {
        list_cluster(&self.pods, &self.target, &self.address).await
    }
}

/// The newest event Kubernetes recorded about `pod` ("Back-off restarting failed
/// container…", "Readiness probe failed…"), for an error that names why a pod is not
/// ready; None when there is none or events cannot be read (`events: list` in the Role).
pub async fn last_event(client: &Client, namespace: &str, pod: &str) -> Option<String> {
    use k8s_openapi::api::core::v1::Event;
    let events: Api<Event> = Api::namespaced(client.clone(), namespace);
    let list = events
        .list(&ListParams::default().fields(&format!("involvedObject.name={pod}")))
        .await
        .ok()?;
    list.items
        .into_iter()
        .max_by_key(|e| {
            e.last_timestamp
                .as_ref()
                .map(|t| t.0)
                .or_else(|| e.event_time.as_ref().map(|t| t.0))
        })
        .map(|e| {
            format!(
                "{} {}: {}",
                e.type_.unwrap_or_default(),
                e.reason.unwrap_or_default(),
                e.message.unwrap_or_default().trim()
            )
        })
}

/// The cluster from a list of the pods labelled as its.
async fn list_cluster(
    pods: &Api<Pod>,
    target: &KubernetesTarget,
    address: &str,
) -> Result<Cluster, KubeError> {
    let call = Call {
        verb: "list",
        resource: "pods",
        namespace: &target.namespace,
        address,
    };
    let listed = pods
        .list(&ListParams::default().labels(&target.selector()))
        .await
        .map_err(|e| call.error(e))?;
    discovery::cluster(&listed.items, target)
}

/// The engine of the node containers, each node of the cluster's pods checked to be one (a
/// wrong `nodes:` is said before anything is faulted).
async fn node_containers(cluster: &Cluster) -> Result<DockerNodes, KubeError> {
    let nodes = DockerNodes::connect().await?;
    for node in cluster.node_names() {
        nodes.state(node).await?;
    }
    Ok(nodes)
}

/// The pod watch: every event through the tracker, every transition into the log and the
/// run's stream. Errors are retried with kube's default backoff; each one is counted for
/// [`ClusterPlatform::lost`]. `primed` answers once: the first full list, or the first error.
async fn watch_pods(
    pods: Api<Pod>,
    target: KubernetesTarget,
    log: Arc<TransitionLog>,
    sink: EventSink,
    errors: watch::Sender<u64>,
    primed: oneshot::Sender<Result<(), watcher::Error>>,
) {
    let config = watcher::Config::default().labels(&target.selector());
    let mut stream = std::pin::pin!(watcher(pods, config).default_backoff());
    let mut tracker = PodTracker::new(target.cluster.clone());
    let mut primed = Some(primed);
    while let Some(item) = stream.next().await {
        match item {
            Ok(event) => {
                for (service, action) in tracker.observe(&event) {
                    log.record(
                        &sink,
                        service,
                        action,
                        wall_now_ns(),
                        TimeSource::KubernetesWatch,
                    );
                }
                for (pod, ready) in tracker.take_readiness() {
                    sink.emit(EventKind::Note {
                        message: if ready {
                            format!("Kubernetes: pod {pod} Ready again")
                        } else {
                            format!(
                                "Kubernetes: pod {pod} not Ready while its container is still \
                                 reported running (its node stopped reporting, or its readiness \
                                 probe fails)"
                            )
                        },
                    });
                }
                if matches!(event, watcher::Event::InitDone) {
                    if let Some(p) = primed.take() {
                        let _ = p.send(Ok(()));
                    }
                }
            }
            Err(e) => {
                tracing::debug!("pod watch in {}: {e}", target.namespace);
                match primed.take() {
                    Some(p) => {
                        let _ = p.send(Err(e));
                        return;
                    }
                    None => errors.send_modify(|n| *n += 1),
                }
            }
        }
    }
}

/// The kube error inside a watcher's, mapped as the call it was.
fn watch_error(e: watcher::Error, call: Call<'_>) -> KubeError {
    match e {
        watcher::Error::InitialListFailed(source)
        | watcher::Error::WatchStartFailed(source)
        | watcher::Error::WatchFailed(source) => call.error(source),
        watcher::Error::WatchError(status) => call.error(kube::Error::Api(status)),
        other => KubeError::Refused(format!("watch pods in {}: {other}", call.namespace)),
    }
}

/// What a wait on one pod decides at each change.
enum Wait {
    Done,
    Fail(String),
    Continue,
}

/// A command's exit code and its output (stdout then stderr).
#[derive(Debug)]
struct Exec {
    code: i32,
    output: String,
}

/// The exit code in an exec's final status: 0 on success, the `ExitCode` cause otherwise.
fn exit_code(status: Option<&ExecStatus>) -> i32 {
    let Some(status) = status else { return -1 };
    if status.status.as_deref() == Some("Success") {
        return 0;
    }
    status
        .details
        .as_ref()
        .and_then(|d| d.causes.as_ref())
        .and_then(|c| c.iter().find(|c| c.reason.as_deref() == Some("ExitCode")))
        .and_then(|c| c.message.as_deref()?.parse().ok())
        .unwrap_or(-1)
}

/// `s` as one word for `sh -c`.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The script that adds our chain (idempotent), jumped to first from INPUT and OUTPUT, then
/// `rules` in it; `set -e`: the first failing rule fails the fault.
fn partition_script(rules: &NetworkRules) -> String {
    let mut script = format!(
        "set -e; iptables -N {CHAIN} 2>/dev/null || true; \
         iptables -C INPUT -j {CHAIN} 2>/dev/null || iptables -I INPUT -j {CHAIN}; \
         iptables -C OUTPUT -j {CHAIN} 2>/dev/null || iptables -I OUTPUT -j {CHAIN}"
    );
    for rule in rules {
        script.push_str(&rule_command("-A", rule));
    }
    script
}

fn rule_command(op: &str, rule: &[String]) -> String {
    let words: Vec<String> = rule.iter().map(|w| shell_quote(w)).collect();
    format!("; iptables {op} {CHAIN} {}", words.join(" "))
}

/// Removes exactly `rules` from our chain.
fn heal_script(rules: &NetworkRules) -> String {
    let mut script = "set -e; true".to_string();
    for rule in rules {
        script.push_str(&rule_command("-D", rule));
    }
    script
}

/// Clears all we add: the jumps, the chain, the qdisc. Always exits 0.
fn cleanup_script() -> String {
    format!(
        "iptables -D INPUT -j {CHAIN} 2>/dev/null; iptables -D OUTPUT -j {CHAIN} 2>/dev/null; \
         iptables -F {CHAIN} 2>/dev/null; iptables -X {CHAIN} 2>/dev/null; \
         tc qdisc del dev eth0 root 2>/dev/null; true"
    )
}

/// `<pid>:<start time>` of this process (what the orphan sweep judges).
fn owner() -> String {
    let owner = crate::docker::owner::Owner::this_process();
    match owner.start_time {
        Some(start) => format!("{}:{start}", owner.pid),
        None => owner.pid.to_string(),
    }
}

/// The ephemeral container spec of a network helper named `name`.
fn helper_patch(name: &str) -> serde_json::Value {
    serde_json::json!({
        "spec": {
            "ephemeralContainers": [{
                "name": name,
                "image": HELPER_IMAGE,
                "imagePullPolicy": "IfNotPresent",
                "command": ["sleep", "infinity"],
                "env": [{"name": OWNER_ENV, "value": owner()}],
                "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}
            }]
        }
    })
}

/// Where a helper is in its life (ephemeral containers are never restarted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HelperState {
    Running,
    /// Not running yet (its image being pulled, or failing to be).
    Starting,
    Ended,
}

/// Our helpers in `pod`, in the order added.
fn helpers(pod: &Pod) -> Vec<(String, HelperState)> {
    let statuses = pod
        .status
        .as_ref()
        .and_then(|s| s.ephemeral_container_statuses.as_ref());
    pod.spec
        .as_ref()
        .and_then(|s| s.ephemeral_containers.as_ref())
        .into_iter()
        .flatten()
        .filter(|c| c.name.starts_with(HELPER_PREFIX))
        .map(|c| {
            let state = statuses
                .into_iter()
                .flatten()
                .find(|s| s.name == c.name)
                .and_then(|s| s.state.as_ref());
            let state = match state {
                Some(s) if s.running.is_some() => HelperState::Running,
                Some(s) if s.terminated.is_some() => HelperState::Ended,
                _ => HelperState::Starting,
            };
            (c.name.clone(), state)
        })
        .collect()
}

/// The next helper's name: one past the highest number in use.
fn next_helper(existing: &[(String, HelperState)]) -> String {
    let next = existing
        .iter()
        .filter_map(|(name, _)| name.strip_prefix(HELPER_PREFIX)?.parse::<u32>().ok())
        .max()
        .map_or(0, |n| n + 1);
    format!("{HELPER_PREFIX}{next}")
}

/// Whether the helper `name` in `pod` runs, cannot start (its waiting reason), or not yet.
fn helper_state(pod: Option<&Pod>, name: &str) -> Wait {
    let Some(pod) = pod else {
        return Wait::Fail("the pod is gone".into());
    };
    let status = pod
        .status
        .as_ref()
        .and_then(|s| s.ephemeral_container_statuses.as_ref())
        .into_iter()
        .flatten()
        .find(|s| s.name == name);
    let Some(state) = status.and_then(|s| s.state.as_ref()) else {
        return Wait::Continue;
    };
    if state.running.is_some() {
        return Wait::Done;
    }
    if let Some(t) = &state.terminated {
        return Wait::Fail(format!(
            "helper {name} exited {}: {}",
            t.exit_code,
            t.message.clone().unwrap_or_default()
        ));
    }
    match state.waiting.as_ref().and_then(|w| w.reason.as_deref()) {
        Some(
            reason @ ("ErrImagePull"
            | "ImagePullBackOff"
            | "InvalidImageName"
            | "CreateContainerError"
            | "CreateContainerConfigError"),
        ) => Wait::Fail(format!(
            "helper {name} cannot start ({reason}: {}); the image {HELPER_IMAGE} must be \
             pullable by the node",
            state
                .waiting
                .as_ref()
                .and_then(|w| w.message.clone())
                .unwrap_or_default()
        )),
        _ => Wait::Continue,
    }
}

/// The container transition that marks a lifecycle action's moment: kill, stop and restart
/// end the container (`die`: the watch cannot see which signal); none for the network's.
fn transition_of(action: Lifecycle) -> Option<ContainerAction> {
    match action {
        // Ours, at pkill's answer; the watch's `die` follows.
        Lifecycle::Kill => Some(ContainerAction::Kill),
        Lifecycle::Stop | Lifecycle::Restart => Some(ContainerAction::Die),
        Lifecycle::Start => Some(ContainerAction::Start),
        Lifecycle::Pause => Some(ContainerAction::Pause),
        Lifecycle::Unpause => Some(ContainerAction::Unpause),
        Lifecycle::Disconnect | Lifecycle::Connect => None,
    }
}

fn platform_error(
    action: PlatformAction,
    service: &str,
) -> impl FnOnce(KubeError) -> PlatformError {
    let service = service.to_string();
    move |e| match e {
        KubeError::Unreachable { .. } => PlatformError::Lost(e.to_string()),
        other => PlatformError::Failed {
            action,
            service,
            source: Box::new(other),
        },
    }
}

/// Runs `cmd` in `container` of `pod`; its exit code and output.
async fn exec_in(
    pods: &Api<Pod>,
    call: Call<'_>,
    pod: &str,
    container: &str,
    cmd: &[&str],
) -> Result<Exec, KubeError> {
    let params = AttachParams::default()
        .container(container)
        .stdout(true)
        .stderr(true);
    let mut process = pods
        .exec(pod, cmd.iter().copied(), &params)
        .await
        .map_err(|e| call.error(e))?;
    let status = process.take_status();
    let (mut stdout, mut stderr) = (process.stdout(), process.stderr());
    // Both at once: each pipe is small, and a full one would stall the other.
    let read = |r: Option<tokio::io::ReadHalf<tokio::io::SimplexStream>>| async move {
        let mut text = String::new();
        if let Some(mut r) = r {
            let mut bytes = Vec::new();
            let _ = r.read_to_end(&mut bytes).await;
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        text
    };
    let (out, err) = tokio::join!(read(stdout.take()), read(stderr.take()));
    let status = match status {
        Some(s) => s.await,
        None => None,
    };
    if let Err(e) = process.join().await {
        tracing::debug!("exec in {pod}/{container}: {e}");
    }
    Ok(Exec {
        code: exit_code(status.as_ref()),
        output: format!("{out}{err}").trim().to_string(),
    })
}

impl KubernetesRun {
    fn call(&self, verb: &'static str, resource: &'static str) -> Call<'_> {
        Call {
            verb,
            resource,
            namespace: &self.inner.target.namespace,
            address: &self.inner.conn.address,
        }
    }

    /// The cluster as found at the start.
    pub fn cluster(&self) -> &Cluster {
        &self.inner.cluster
    }

    /// The newest event Kubernetes recorded about `pod` (see [`last_event`]).
    pub async fn last_event(&self, pod: &str) -> Option<String> {
        last_event(&self.inner.conn.client, &self.inner.target.namespace, pod).await
    }

    /// Every transition seen so far (the run's container lifecycle on Kubernetes).
    pub fn transitions(&self) -> Vec<Transition> {
        self.inner
            .log
            .seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn service(&self, name: &str) -> Result<&RunningService, PlatformError> {
        self.inner
            .cluster
            .service(name)
            .ok_or_else(|| PlatformError::Failed {
                action: PlatformAction::Find,
                service: name.into(),
                source: format!("no service {name} in cluster {}", self.inner.cluster.name).into(),
            })
    }

    /// The pod named `name` now, refused unless it is the cluster's (the last line of
    /// defence against acting on someone else's pod of the same name).
    async fn pod(&self, name: &str) -> Result<Option<Pod>, KubeError> {
        let pod = self
            .inner
            .pods
            .get_opt(name)
            .await
            .map_err(|e| self.call("get", "pods").error(e))?;
        match pod {
            Some(p) if discovery::kind_of(&p, &self.inner.target.cluster).is_none() => {
                Err(KubeError::Refused(format!(
                    "pod {name} in {} is not a Kafka pod of cluster {} ({}={})",
                    self.inner.target.namespace,
                    self.inner.target.cluster,
                    discovery::CLUSTER_LABEL,
                    self.inner.target.cluster
                )))
            }
            other => Ok(other),
        }
    }

    async fn existing_pod(&self, name: &str) -> Result<Pod, KubeError> {
        self.pod(name).await?.ok_or_else(|| {
            KubeError::Refused(format!(
                "pod {name} is not in {} now (deleted, not recreated yet?)",
                self.inner.target.namespace
            ))
        })
    }

    /// Waits on the pod named `name` until `decide` says done or failed, up to `timeout`.
    /// Transient watch errors are retried (kube's backoff); a refusal (403) ends the wait.
    async fn wait_pod(
        &self,
        name: &str,
        what: &str,
        timeout: Duration,
        decide: impl Fn(Option<&Pod>) -> Wait,
    ) -> Result<(), KubeError> {
        let stream = watcher::watch_object(self.inner.pods.clone(), name);
        let waiting = async {
            let mut stream = std::pin::pin!(stream);
            while let Some(item) = stream.next().await {
                match item {
                    Ok(pod) => match decide(pod.as_ref()) {
                        Wait::Done => return Ok(()),
                        Wait::Fail(why) => {
                            return Err(KubeError::Refused(format!("{what}: {why}")))
                        }
                        Wait::Continue => {}
                    },
                    Err(e) => match watch_error(e, self.call("watch", "pods")) {
                        e @ KubeError::Forbidden { .. } => return Err(e),
                        e => {
                            tracing::debug!("waiting for {what}: {e}");
                            tokio::time::sleep(Duration::from_millis(500)).await;
                        }
                    },
                }
            }
            Err(KubeError::Refused(format!("{what}: the watch ended")))
        };
        tokio::time::timeout(timeout, waiting)
            .await
            .unwrap_or_else(|_| {
                Err(KubeError::Timeout {
                    what: what.to_string(),
                    waited: timeout,
                })
            })
    }

    /// Deletes the pod we just looked at (its uid as a precondition: never its successor).
    async fn delete(&self, pod: &Pod, grace_period_seconds: Option<u32>) -> Result<(), KubeError> {
        let params = DeleteParams {
            grace_period_seconds,
            preconditions: Some(Preconditions {
                uid: pod.metadata.uid.clone(),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match self.inner.pods.delete(pod_name(pod), &params).await {
            Ok(_) => Ok(()),
            // Gone already: what was asked.
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(self.call("delete", "pods").error(e)),
        }
    }

    /// A graceful delete, waited for until the pod (that uid) is gone. The stop's moment is
    /// the delete's answer: the kubelet sends SIGTERM as soon as its watch sees the deletion
    /// (milliseconds), as Docker's `kill` event marks a `docker stop`'s SIGTERM; the pod
    /// watch's `die` follows when the JVM has shut down.
    async fn delete_gracefully(&self, pod: &Pod) -> Result<(), KubeError> {
        self.delete(pod, None).await?;
        self.inner.log.record(
            &self.inner.sink,
            pod_name(pod).to_string(),
            ContainerAction::Kill,
            wall_now_ns(),
            TimeSource::ApiResponse,
        );
        let grace = pod
            .spec
            .as_ref()
            .and_then(|s| s.termination_grace_period_seconds)
            .and_then(|g| u64::try_from(g).ok())
            .unwrap_or(30);
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let name = pod_name(pod).to_string();
        self.wait_pod(
            &name,
            &format!("pod {name} to stop"),
            Duration::from_secs(grace) + DELETE_SLACK,
            |p| match p {
                Some(p) if p.metadata.uid.as_deref() == Some(uid.as_str()) => Wait::Continue,
                _ => Wait::Done,
            },
        )
        .await
    }

    /// Sends SIGSTOP (pause) or SIGCONT to the JVM in Kafka's container; a pause is checked
    /// to have taken (every JVM in state T). Returns when pkill answered (harness wall ns).
    async fn signal_java(&self, name: &str, pause: bool) -> Result<i64, KubeError> {
        let pod = self.existing_pod(name).await?;
        let container = main_container(&pod).unwrap_or("kafka").to_string();
        // `-f java`, not PID 1: our manifests share the pod's process namespace (PID 1 is the
        // pause container's). A signal sent from inside a namespace to its own PID 1 is
        // dropped by the kernel when PID 1 installed no handler, SIGSTOP included. pkill runs
        // without a shell: a shell whose command line says "java" would be matched too.
        let cmd = ["pkill", if pause { "-STOP" } else { "-CONT" }, "-f", "java"];
        let exec = self.call("create", "pods/exec");
        let done = exec_in(&self.inner.pods, exec, name, &container, &cmd).await?;
        let answered = wall_now_ns();
        let failed = |code, output| KubeError::Exec {
            pod: name.to_string(),
            container: container.clone(),
            command: cmd.join(" "),
            code,
            output,
        };
        match done.code {
            0 => {}
            // Nothing to resume (e.g. the pod was recreated since): resumed.
            1 if !pause => return Ok(answered),
            1 => return Err(failed(1, "no java process matched".into())),
            127 => {
                return Err(failed(
                    127,
                    format!("pkill is not in the image ({})", done.output),
                ))
            }
            code => return Err(failed(code, done.output)),
        }
        if !pause {
            return Ok(answered);
        }
        // `jav[a]`: matches the JVM, not this script's own command line.
        let check = r#"for p in $(pgrep -f 'jav[a]'); do grep -q '^State:.*stopped' /proc/$p/status || echo "pid $p"; done"#;
        let running = exec_in(
            &self.inner.pods,
            exec,
            name,
            &container,
            &["sh", "-c", check],
        )
        .await?;
        match running.code {
            0 if running.output.is_empty() => {}
            0 => {
                return Err(KubeError::Refused(format!(
                    "SIGSTOP did not stop java in {name}/{container} ({}): a process \
                     namespace's PID 1 ignores it from inside; run the pod with \
                     shareProcessNamespace: true",
                    running.output
                )))
            }
            // No sh or pgrep to check with: the signal was delivered, unverified.
            code => tracing::warn!(
                "pause of {name}: could not check that java stopped (exit {code}: {})",
                running.output
            ),
        }
        Ok(answered)
    }

    /// SIGKILL to every JVM of Kafka's container (`pkill -KILL -f java`, from inside the
    /// pod: not PID 1, see [`Self::signal_java`]). Returns when pkill answered (harness wall
    /// ns): the signal was sent within that exec's round trip before it.
    async fn signal_java_kill(&self, name: &str) -> Result<i64, KubeError> {
        let pod = self.existing_pod(name).await?;
        let container = main_container(&pod).unwrap_or("kafka").to_string();
        let cmd = ["pkill", "-KILL", "-f", "java"];
        let exec = self.call("create", "pods/exec");
        let done = exec_in(&self.inner.pods, exec, name, &container, &cmd).await?;
        let answered = wall_now_ns();
        match done.code {
            0 => Ok(answered),
            code => Err(KubeError::Exec {
                pod: name.to_string(),
                container,
                command: cmd.join(" "),
                code,
                output: if code == 1 {
                    "no java process matched".into()
                } else {
                    done.output
                },
            }),
        }
    }

    /// A running helper in `pod` (ours from an earlier fault), else a new one, waited for.
    async fn helper(&self, name: &str) -> Result<String, KubeError> {
        let pod = self.existing_pod(name).await?;
        let existing = helpers(&pod);
        let find = |wanted| existing.iter().find(|(_, s)| *s == wanted).map(|(h, _)| h);
        if let Some(helper) = find(HelperState::Running) {
            return Ok(helper.clone());
        }
        // One still starting is waited for, not doubled: each one added stays in the pod.
        let helper = match find(HelperState::Starting) {
            Some(helper) => helper.clone(),
            None => {
                let helper = next_helper(&existing);
                self.inner
                    .pods
                    .patch_ephemeral_containers(
                        name,
                        &PatchParams::default(),
                        &Patch::Strategic(helper_patch(&helper)),
                    )
                    .await
                    .map_err(|e| self.call("patch", "pods/ephemeralcontainers").error(e))?;
                helper
            }
        };
        self.wait_pod(
            name,
            &format!("network helper {helper} in {name}"),
            HELPER_TIMEOUT,
            |p| helper_state(p, &helper),
        )
        .await?;
        Ok(helper)
    }

    /// The helper already running in `name`'s pod, if any (none: the pod was recreated, its
    /// network namespace and our rules with it).
    async fn running_helper(&self, name: &str) -> Result<Option<String>, KubeError> {
        let Some(pod) = self.pod(name).await? else {
            return Ok(None);
        };
        Ok(helpers(&pod)
            .into_iter()
            .find(|(_, s)| *s == HelperState::Running)
            .map(|(h, _)| h))
    }

    /// Runs `cmd` in helper `helper` of `pod`; fails on a non-zero exit unless `lenient`.
    async fn in_helper(
        &self,
        pod: &str,
        helper: &str,
        cmd: &[&str],
        lenient: bool,
    ) -> Result<Exec, KubeError> {
        let done = exec_in(
            &self.inner.pods,
            self.call("create", "pods/exec"),
            pod,
            helper,
            cmd,
        )
        .await?;
        if done.code != 0 && !lenient {
            return Err(KubeError::Exec {
                pod: pod.to_string(),
                container: helper.to_string(),
                command: cmd.join(" "),
                code: done.code,
                output: done.output,
            });
        }
        Ok(done)
    }

    /// The pod IP of each peer now (a recreated pod has a new one).
    async fn peer_ips(&self, peers: &[String]) -> Result<Vec<String>, KubeError> {
        let mut ips = Vec::new();
        for peer in peers {
            let pod = self.existing_pod(peer).await?;
            let ip = pod
                .status
                .as_ref()
                .and_then(|s| s.pod_ip.clone())
                .ok_or_else(|| {
                    KubeError::Refused(format!("peer {peer} has no pod IP (not running?)"))
                })?;
            // Interpolated into a shell script: only an address may pass.
            if ip.parse::<std::net::IpAddr>().is_err() {
                return Err(KubeError::Refused(format!(
                    "peer {peer}: pod IP {ip:?} is not an address"
                )));
            }
            ips.push(ip);
        }
        ips.sort();
        ips.dedup();
        Ok(ips)
    }

    async fn act_on(&self, action: Lifecycle, name: &str) -> Result<(), KubeError> {
        match action {
            // SIGKILL to the JVM from inside its pod: a crash, as Docker's kill is. The
            // kubelet restarts the container in place (same pod, IP and data; its back-off
            // after repeated crashes); the previous container's log stays readable.
            // Not a grace-0 delete: that is a forced *deletion* — the object goes at once, but
            // the kubelet still stops the container with SIGTERM and a 2 s minimum grace, so
            // Kafka runs its controlled shutdown (measured here: leadership moved in 0.2 s
            // instead of the ZooKeeper session's 18 s).
            Lifecycle::Kill => {
                let answered = self.signal_java_kill(name).await?;
                self.inner.log.record(
                    &self.inner.sink,
                    name.to_string(),
                    ContainerAction::Kill,
                    answered,
                    TimeSource::ApiResponse,
                );
                Ok(())
            }
            // SIGTERM with the pod's own grace period (Kafka's controlled shutdown); the
            // StatefulSet recreates it at once: on Kubernetes a stop is not "stays down".
            Lifecycle::Stop | Lifecycle::Restart => {
                let pod = self.existing_pod(name).await?;
                self.delete_gracefully(&pod).await
            }
            // The StatefulSet restarts it; we only wait for Running and Ready.
            Lifecycle::Start => {
                self.boot_node_of(name).await?;
                self.wait_pod(
                    name,
                    &format!("pod {name} Running and Ready"),
                    READY_TIMEOUT,
                    |p| {
                        if p.is_some_and(is_ready) {
                            Wait::Done
                        } else {
                            Wait::Continue
                        }
                    },
                )
                .await
            }
            Lifecycle::Pause | Lifecycle::Unpause => {
                let pause = action == Lifecycle::Pause;
                let answered = self.signal_java(name, pause).await?;
                let transition = if pause {
                    ContainerAction::Pause
                } else {
                    ContainerAction::Unpause
                };
                // No watch event shows a signal: the moment is pkill's answer (the signal
                // was sent within that exec's round trip before it).
                self.inner.log.record(
                    &self.inner.sink,
                    name.to_string(),
                    transition,
                    answered,
                    TimeSource::ApiResponse,
                );
                Ok(())
            }
            Lifecycle::Disconnect | Lifecycle::Connect => unreachable_network(action),
        }
    }
}

impl KubernetesRun {
    /// Starts the node container of `service` again when this run crashed it (a reboot:
    /// its kubelet then restarts the pods in place); nothing otherwise.
    async fn boot_node_of(&self, service: &str) -> Result<(), KubeError> {
        let Some(nodes) = &self.inner.nodes else {
            return Ok(());
        };
        let Some(node) = self.inner.cluster.service(service).map(|s| s.node_name()) else {
            return Ok(());
        };
        let was_crashed = {
            let mut crashed = self.inner.crashed.lock().unwrap_or_else(|e| e.into_inner());
            let found = crashed.iter().position(|n| n == node);
            found.map(|i| crashed.remove(i)).is_some()
        };
        if was_crashed && nodes.boot(node).await? {
            self.inner.sink.emit(EventKind::Note {
                message: format!(
                    "node {node} started again (its Docker container): its kubelet restarts \
                     the pods on it in place"
                ),
            });
        }
        Ok(())
    }

    /// A node container's failure as the platform's, naming the node.
    fn node_failed(action: PlatformAction, node: &str) -> impl FnOnce(NodeError) -> PlatformError {
        let node = node.to_string();
        move |e| PlatformError::Failed {
            action,
            service: node,
            source: Box::new(e),
        }
    }

    /// The distinct nodes `services` run on, in order.
    fn nodes_of(&self, services: &[String]) -> Result<Vec<String>, PlatformError> {
        let mut nodes: Vec<String> = Vec::new();
        for service in services {
            let node = self.service(service)?.node_name().to_string();
            if !nodes.contains(&node) {
                nodes.push(node);
            }
        }
        Ok(nodes)
    }

    /// `node-crash` on nodes that are Docker containers: each node of `services` killed
    /// (registered first, so a failure half-way still boots it on heal); each service's
    /// kill moment is Docker's answer for its node.
    async fn crash_nodes(&self, services: &[String]) -> Result<(), PlatformError> {
        let Some(nodes) = &self.inner.nodes else {
            return Ok(());
        };
        let hit = self.nodes_of(services)?;
        self.inner
            .crashed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(hit.iter().cloned());
        for node in &hit {
            nodes.crash(node).await.map_err(Self::node_failed(
                PlatformAction::Lifecycle(Lifecycle::Kill),
                node,
            ))?;
            let answered = wall_now_ns();
            self.inner.sink.emit(EventKind::Note {
                message: format!(
                    "node {node} crashed (its Docker container killed): its kubelet, containerd \
                     and every pod on it died at once, other clusters' included"
                ),
            });
            for service in services {
                if self.service(service)?.node_name() == node {
                    self.inner.log.record(
                        &self.inner.sink,
                        service.clone(),
                        ContainerAction::Kill,
                        answered,
                        TimeSource::ApiResponse,
                    );
                }
            }
        }
        Ok(())
    }
}

/// Disconnect and connect are refused before any call (see `act`).
fn unreachable_network(action: Lifecycle) -> Result<(), KubeError> {
    Err(KubeError::Refused(format!(
        "{} is not on Kubernetes",
        action.as_str()
    )))
}

impl FaultPlatform for KubernetesRun {
    async fn act(&self, action: Lifecycle, service: &str) -> Result<(), PlatformError> {
        self.service(service)?;
        if matches!(action, Lifecycle::Disconnect | Lifecycle::Connect) {
            return Err(PlatformError::Capability(format!(
                "{} is not on Kubernetes (a pod has no network to leave): use partition",
                action.as_str()
            )));
        }
        self.act_on(action, service)
            .await
            .map_err(platform_error(PlatformAction::Lifecycle(action), service))
    }

    async fn moment(
        &self,
        service: &str,
        action: Lifecycle,
        since_ns: i64,
        wait: Duration,
    ) -> Option<Moment> {
        let transition = transition_of(action)?;
        self.inner
            .log
            .wait_for(service, transition, since_ns, wait)
            .await
    }

    /// With `nodes: docker-containers`, `node-crash` kills the node itself (the rest of the
    /// node faults act on its pods).
    async fn act_on_nodes(
        &self,
        action: Lifecycle,
        services: &[String],
    ) -> Result<bool, PlatformError> {
        if self.inner.nodes.is_none() || action != Lifecycle::Kill {
            return Ok(false);
        }
        self.crash_nodes(services).await?;
        Ok(true)
    }

    /// With `nodes: docker-containers`, a `node-partition` without peers cuts the node at its
    /// uplink (with peers, each pod from those peers, as without).
    fn isolates_nodes(&self) -> bool {
        self.inner.nodes.is_some()
    }

    async fn isolate_nodes(&self, services: &[String]) -> Result<(), PlatformError> {
        let Some(nodes) = &self.inner.nodes else {
            return Err(PlatformError::Capability(
                "cutting a node needs cluster.kubernetes.nodes: docker-containers".into(),
            ));
        };
        for node in self.nodes_of(services)? {
            nodes
                .isolate(&node)
                .await
                .map_err(Self::node_failed(PlatformAction::Partition, &node))?;
            self.inner.sink.emit(EventKind::Note {
                message: format!(
                    "node {node} cut from the network at its uplink (iptables in its container): \
                     other nodes, the control plane and the port-forwards; its pods still reach \
                     each other"
                ),
            });
        }
        Ok(())
    }

    async fn rejoin_nodes(&self, services: &[String]) -> Result<(), PlatformError> {
        let Some(nodes) = &self.inner.nodes else {
            return Ok(());
        };
        for node in self.nodes_of(services)? {
            nodes
                .rejoin(&node)
                .await
                .map_err(Self::node_failed(PlatformAction::HealPartition, &node))?;
        }
        Ok(())
    }

    async fn partition(
        &self,
        service: &str,
        peers: &[String],
        direction: Direction,
    ) -> Result<NetworkRules, PlatformError> {
        self.service(service)?;
        let fail = platform_error(PlatformAction::Partition, service);
        let run = async {
            let ips = self.peer_ips(peers).await?;
            let rules = partition_rules(&ips, direction);
            let helper = self.helper(service).await?;
            let script = partition_script(&rules);
            self.in_helper(service, &helper, &["sh", "-c", &script], false)
                .await?;
            Ok(rules)
        };
        run.await.map_err(fail)
    }

    async fn heal_partition(
        &self,
        service: &str,
        rules: &NetworkRules,
    ) -> Result<(), PlatformError> {
        self.service(service)?;
        let run = async {
            let Some(helper) = self.running_helper(service).await? else {
                return Ok(());
            };
            let script = heal_script(rules);
            self.in_helper(service, &helper, &["sh", "-c", &script], false)
                .await
                .map(drop)
        };
        run.await
            .map_err(platform_error(PlatformAction::HealPartition, service))
    }

    async fn bandwidth(&self, service: &str, rate: &str) -> Result<(), PlatformError> {
        self.service(service)?;
        let run = async {
            let helper = self.helper(service).await?;
            // `replace`, not `add`: a limit already there is changed, not an error.
            let cmd = [
                "tc", "qdisc", "replace", "dev", "eth0", "root", "tbf", "rate", rate, "burst",
                "32kbit", "latency", "400ms",
            ];
            self.in_helper(service, &helper, &cmd, false)
                .await
                .map(drop)
        };
        run.await
            .map_err(platform_error(PlatformAction::Bandwidth, service))
    }

    async fn heal_bandwidth(&self, service: &str) -> Result<(), PlatformError> {
        self.service(service)?;
        let run = async {
            let Some(helper) = self.running_helper(service).await? else {
                return Ok(());
            };
            // No qdisc left is healed too.
            let cmd = ["tc", "qdisc", "del", "dev", "eth0", "root"];
            self.in_helper(service, &helper, &cmd, true).await.map(drop)
        };
        run.await
            .map_err(platform_error(PlatformAction::HealBandwidth, service))
    }

    /// Ephemeral containers cannot be removed from a pod: the helper's rules and qdisc are
    /// cleared and it stays (idle, reused by the next fault) until the pod is recreated.
    async fn retire_network_helper(&self, service: &str) -> Result<(), PlatformError> {
        self.service(service)?;
        let run = async {
            let Some(helper) = self.running_helper(service).await? else {
                return Ok(());
            };
            let script = cleanup_script();
            self.in_helper(service, &helper, &["sh", "-c", &script], true)
                .await
                .map(drop)
        };
        run.await
            .map_err(platform_error(PlatformAction::RetireNetworkHelper, service))
    }
}

impl ClusterPlatform for KubernetesRun {
    async fn services(&self) -> Result<Vec<RunningService>, PlatformError> {
        let target = &self.inner.target;
        self.inner
            .pods
            .list(&ListParams::default().labels(&target.selector()))
            .await
            .map(|list| discovery::services(&list.items, target))
            .map_err(|e| {
                platform_error(PlatformAction::ListServices, &self.inner.cluster.name)(
                    self.call("list", "pods").error(e),
                )
            })
    }

    /// The current container's log since then; when that container started after `since`,
    /// the previous one's first (a restarted container's leadership lines are there). A pod
    /// deleted by a fault takes its containers' logs with it: only the new pod's remain.
    async fn logs_since(&self, service: &str, since_unix_s: i64) -> Result<String, PlatformError> {
        self.service(service)?;
        let run = async {
            let pod = self.existing_pod(service).await?;
            let container = main_container(&pod).map(str::to_string);
            let since_seconds = (wall_now_ns() / 1_000_000_000 - since_unix_s).max(1);
            let params = LogParams {
                container: container.clone(),
                since_seconds: Some(since_seconds),
                ..LogParams::default()
            };
            let call = self.call("get", "pods/log");
            let current = self
                .inner
                .pods
                .logs(service, &params)
                .await
                .map_err(|e| call.error(e))?;
            let started = main_status(&pod)
                .and_then(|s| s.state.as_ref())
                .and_then(|s| s.running.as_ref())
                .and_then(|r| r.started_at.as_ref())
                .map(|t| t.0.as_second());
            if started.is_none_or(|s| s <= since_unix_s) {
                return Ok(current);
            }
            let previous = LogParams {
                previous: true,
                ..params
            };
            match self.inner.pods.logs(service, &previous).await {
                Ok(before) => Ok(format!("{before}{current}")),
                // 400: no previous container (the pod itself is new).
                Err(kube::Error::Api(status)) if status.code == 400 => Ok(current),
                Err(e) => Err(call.error(e)),
            }
        };
        run.await
            .map_err(platform_error(PlatformAction::ReadLog, service))
    }

    /// After each watch error, `GET /version`: the server is lost when that fails too. No
    /// request while the watch runs.
    async fn lost(&self) -> PlatformError {
        let mut errors = self.inner.watch_errors.clone();
        loop {
            if errors.changed().await.is_err() {
                // The watch ended with the run: nothing more to notice.
                return std::future::pending().await;
            }
            let address = &self.inner.conn.address;
            match tokio::time::timeout(
                Duration::from_secs(5),
                self.inner.conn.client.apiserver_version(),
            )
            .await
            {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    return PlatformError::Lost(format!(
                        "the Kubernetes API server at {address} stopped answering: {e}"
                    ))
                }
                Err(_) => {
                    return PlatformError::Lost(format!(
                        "the Kubernetes API server at {address} gave no answer to GET /version within 5 s"
                    ))
                }
            }
        }
    }
}

/// Starts every node container of `pods` that is down (a node a killed run crashed) and
/// deletes our isolation rules in every one (a node a killed run cut off); says which.
async fn restore_nodes_of(pods: &[Pod]) -> Result<Vec<String>, KubeError> {
    let containers = DockerNodes::connect().await?;
    let mut nodes: Vec<&str> = pods
        .iter()
        .filter_map(|p| p.spec.as_ref()?.node_name.as_deref())
        .collect();
    nodes.sort_unstable();
    nodes.dedup();
    let mut done = Vec::new();
    for node in nodes {
        if containers.boot(node).await? {
            done.push(format!(
                "started node {node} again (its Docker container was down; its kubelet \
                 restarts the pods on it)"
            ));
        }
        let cut = containers.rejoin(node).await?;
        if cut > 0 {
            done.push(format!(
                "joined node {node} to the network again ({cut} rules of ours deleted)"
            ));
        }
    }
    Ok(done)
}

/// After a crashed run: with `nodes: docker-containers`, starts every node container of the
/// cluster's pods that is down and deletes our isolation rules in each (a node the run crashed
/// or cut off); clears our network rules and qdisc
/// in every running helper and sends SIGCONT to the JVM of every Kafka and ZooKeeper pod (a
/// no-op on one not paused) in `namespace`. Helpers stay (ephemeral containers cannot be
/// removed). Returns what it did.
pub async fn clean(conn: &Connection, target: &KubernetesTarget) -> Result<Vec<String>, KubeError> {
    let namespace = target.namespace.as_str();
    let pods: Api<Pod> = Api::namespaced(conn.client.clone(), namespace);
    let call = |verb, resource| Call {
        verb,
        resource,
        namespace,
        address: &conn.address,
    };
    let listed = pods
        .list(&ListParams::default().labels(discovery::CLUSTER_LABEL))
        .await
        .map_err(|e| call("list", "pods").error(e))?;
    let mut done = match target.nodes {
        NodeAccess::Pods => Vec::new(),
        NodeAccess::DockerContainers => restore_nodes_of(&listed.items).await?,
    };
    // One pod that cannot be reached does not stop the others; a refusal or a lost server
    // does.
    let note = |done: &mut Vec<String>, what: String, e: KubeError| match e {
        KubeError::Forbidden { .. } | KubeError::Unreachable { .. } => Err(e),
        e => {
            done.push(format!("could not {what}: {e}"));
            Ok(())
        }
    };
    for pod in &listed.items {
        let name = pod_name(pod);
        for (helper, state) in helpers(pod) {
            if state != HelperState::Running {
                continue;
            }
            let script = cleanup_script();
            let cmd = ["sh", "-c", script.as_str()];
            match exec_in(&pods, call("create", "pods/exec"), name, &helper, &cmd).await {
                Ok(_) => done.push(format!(
                    "cleared network rules in {name} (helper {helper} stays: ephemeral \
                     containers cannot be removed)"
                )),
                Err(e) => note(&mut done, format!("clear the rules in {name}"), e)?,
            }
        }
        let cluster = pod
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(discovery::CLUSTER_LABEL))
            .cloned()
            .unwrap_or_default();
        if discovery::kind_of(pod, &cluster).is_none() || !discovery::is_running(pod) {
            continue;
        }
        let container = main_container(pod).unwrap_or("kafka");
        let cmd = ["pkill", "-CONT", "-f", "java"];
        match exec_in(&pods, call("create", "pods/exec"), name, container, &cmd).await {
            Ok(resumed) if resumed.code == 0 => done.push(format!(
                "sent SIGCONT to java in {name} (resumes it if paused)"
            )),
            Ok(_) => {}
            Err(e) => note(&mut done, format!("resume java in {name}"), e)?,
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_scripts_add_and_delete_exactly_the_rules() {
        let rules = partition_rules(&["10.0.0.7".into(), "10.0.0.9".into()], Direction::Both);
        assert_eq!(
            rules,
            vec![
                vec!["-d", "10.0.0.7", "-j", "DROP"],
                vec!["-s", "10.0.0.7", "-j", "DROP"],
                vec!["-d", "10.0.0.9", "-j", "DROP"],
                vec!["-s", "10.0.0.9", "-j", "DROP"],
            ]
        );
        let add = partition_script(&rules);
        assert!(add.starts_with("set -e; iptables -N CHAOS"), "{add}");
        assert!(
            add.contains("iptables -C INPUT -j CHAOS 2>/dev/null || iptables -I INPUT -j CHAOS")
        );
        assert!(add.ends_with(
            "; iptables -A CHAOS '-d' '10.0.0.9' '-j' 'DROP'; iptables -A CHAOS '-s' '10.0.0.9' '-j' 'DROP'"
        ));
        let heal = heal_script(&rules);
        assert_eq!(heal.matches("iptables -D CHAOS").count(), 4, "{heal}");
        assert!(!heal.contains("-A"));
        let outgoing = partition_rules(&["10.0.0.7".into()], Direction::Outgoing);
        assert_eq!(outgoing, vec![vec!["-d", "10.0.0.7", "-j", "DROP"]]);
    }

    #[test]
    fn shell_words_are_quoted() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }

    #[test]
    fn exit_codes_from_the_exec_status() {
        let status = |v: serde_json::Value| serde_json::from_value::<ExecStatus>(v).unwrap();
        assert_eq!(exit_code(None), -1);
        assert_eq!(
            exit_code(Some(&status(serde_json::json!({"status": "Success"})))),
            0
        );
        let failed = status(serde_json::json!({
            "status": "Failure", "reason": "NonZeroExitCode",
            "message": "command terminated with non-zero exit code: exit status 1",
            "details": {"causes": [{"reason": "ExitCode", "message": "1"}]}
        }));
        assert_eq!(exit_code(Some(&failed)), 1);
    }

    #[test]
    fn helper_is_an_ephemeral_container_with_net_admin_only() {
        let patch = helper_patch("chaos-net-0");
        let c = &patch["spec"]["ephemeralContainers"][0];
        assert_eq!(c["name"], "chaos-net-0");
        assert_eq!(c["image"], HELPER_IMAGE);
        assert_eq!(c["command"], serde_json::json!(["sleep", "infinity"]));
        assert_eq!(
            c["securityContext"]["capabilities"]["add"],
            serde_json::json!(["NET_ADMIN"])
        );
        assert_eq!(c["env"][0]["name"], OWNER_ENV);
        assert!(c["env"][0]["value"]
            .as_str()
            .unwrap()
            .starts_with(&std::process::id().to_string()));
    }

    #[test]
    fn helpers_found_and_their_start_judged() {
        let mut pod = super::super::discovery::fixtures::broker("seed", 0, "running");
        pod.spec.as_mut().unwrap().ephemeral_containers = Some(
            serde_json::from_value(serde_json::json!([
                {"name": "chaos-net-0"}, {"name": "debugger"}, {"name": "chaos-net-1"}
            ]))
            .unwrap(),
        );
        pod.status.as_mut().unwrap().ephemeral_container_statuses = Some(
            serde_json::from_value(serde_json::json!([
                {"name": "chaos-net-0", "image": "", "imageID": "", "ready": false, "restartCount": 0,
                 "state": {"terminated": {"exitCode": 137}}},
                {"name": "chaos-net-1", "image": "", "imageID": "", "ready": false, "restartCount": 0,
                 "state": {"waiting": {"reason": "ImagePullBackOff", "message": "not found"}}}
            ]))
            .unwrap(),
        );
        assert_eq!(
            helpers(&pod),
            vec![
                ("chaos-net-0".to_string(), HelperState::Ended),
                ("chaos-net-1".to_string(), HelperState::Starting)
            ]
        );
        assert!(
            matches!(helper_state(Some(&pod), "chaos-net-1"), Wait::Fail(why) if why.contains("ImagePullBackOff"))
        );
        assert!(matches!(
            helper_state(Some(&pod), "chaos-net-0"),
            Wait::Fail(_)
        ));
        assert!(matches!(
            helper_state(Some(&pod), "chaos-net-2"),
            Wait::Continue
        ));
        assert!(matches!(helper_state(None, "chaos-net-2"), Wait::Fail(_)));
    }

    #[test]
    fn helper_numbers_go_past_the_highest() {
        assert_eq!(next_helper(&[]), "chaos-net-0");
        let existing = [
            ("chaos-net-0".to_string(), HelperState::Ended),
            ("chaos-net-4".to_string(), HelperState::Ended),
        ];
        assert_eq!(next_helper(&existing), "chaos-net-5");
    }

    #[test]
    fn moments_of_lifecycle_actions() {
        assert_eq!(transition_of(Lifecycle::Kill), Some(ContainerAction::Kill));
        assert_eq!(transition_of(Lifecycle::Stop), Some(ContainerAction::Die));
        assert_eq!(
            transition_of(Lifecycle::Start),
            Some(ContainerAction::Start)
        );
        assert_eq!(transition_of(Lifecycle::Connect), None);
    }

    #[tokio::test]
    async fn the_log_answers_a_moment_that_arrives_later() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let sink = EventSink::new(crate::clock::Clock::start(), tx);
        let log = Arc::new(TransitionLog::default());
        let since = wall_now_ns();
        let waiting = {
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                log.wait_for(
                    "seed-kafka-1",
                    ContainerAction::Die,
                    since,
                    Duration::from_secs(5),
                )
                .await
            })
        };
        tokio::task::yield_now().await;
        log.record(
            &sink,
            "seed-kafka-0".into(),
            ContainerAction::Die,
            wall_now_ns(),
            TimeSource::KubernetesWatch,
        );
        log.record(
            &sink,
            "seed-kafka-1".into(),
            ContainerAction::Die,
            wall_now_ns(),
            TimeSource::KubernetesWatch,
        );
        let at = waiting.await.unwrap().expect("seen");
        assert!(at.at_ns >= since);
        assert_eq!(at.source, TimeSource::KubernetesWatch);
        let first = rx.recv().await.unwrap();
        assert!(
            matches!(first.kind, EventKind::Container { ref service, action: ContainerAction::Die } if service == "seed-kafka-0")
        );
    }
}
