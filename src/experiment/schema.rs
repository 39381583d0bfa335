//! The experiment file: what cluster, what topics and workload, which faults when, and what
//! results are expected. Pure data; parsing with positioned errors lives in `load.rs`.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{de, Deserialize, Deserializer, Serialize};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Experiment {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub cluster: ClusterSpec,
    #[serde(default)]
    pub observer: ObserverSpec,
    #[serde(default)]
    pub topics: Vec<TopicSpec>,
    #[serde(default)]
    pub workload: Option<WorkloadSpec>,
    #[serde(default)]
    pub steps: Vec<Step>,
    /// Expectations such as `failover.metadata_ms.max < 25s` (see `expr.rs`), each for every
    /// variant or, with `when`, for the variants of the matrix it names.
    #[serde(default)]
    pub expect: Vec<ExpectEntry>,
    /// Axes over settings; the run covers their product. Keys: `broker:<property>`,
    /// `topic:<config>`, `workload:<field>`, `cluster:compose`.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, Vec<serde_json::Value>>")]
    pub matrix: IndexMap<String, Vec<serde_yaml_ng::Value>>,
    /// Runs each combination this many times.
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 100))]
    pub repeat: u32,
    /// Seed for `random` targets; recorded in the events. Default: from the clock.
    #[serde(default)]
    pub seed: Option<u64>,
}

fn one() -> u32 {
    1
}

/// One `expect:` entry: an expectation (`verification.lost_acked == 0`) for every variant, or
/// `{when: {<matrix axis>: <value>, …}, that: <expectation>}` for the variants with those axis
/// values only.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectEntry {
    pub that: String,
    /// Matrix axis → value; empty: every variant.
    pub when: IndexMap<String, serde_yaml_ng::Value>,
}

impl ExpectEntry {
    pub fn plain(that: impl Into<String>) -> Self {
        Self {
            that: that.into(),
            when: IndexMap::new(),
        }
    }

    /// Whether the entry applies to a variant with these axis values (key, value as text).
    pub fn applies_to(&self, axes: &[(String, String)]) -> bool {
        self.when
            .iter()
            .all(|(key, want)| axes.iter().any(|(k, v)| k == key && *v == scalar(want)))
    }
}

impl fmt::Display for ExpectEntry {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.that)?;
        if !self.when.is_empty() {
            let when: Vec<String> = self
                .when
                .iter()
                .map(|(k, v)| format!("{k}={}", scalar(v)))
                .collect();
            write!(f, " (when {})", when.join(", "))?;
        }
        Ok(())
    }
}

/// The map form of an [`ExpectEntry`].
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct ExpectRepr {
    when: IndexMap<String, serde_yaml_ng::Value>,
    that: String,
}

impl Serialize for ExpectEntry {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.when.is_empty() {
            s.serialize_str(&self.that)
        } else {
            ExpectRepr {
                when: self.when.clone(),
                that: self.that.clone(),
            }
            .serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for ExpectEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = ExpectEntry;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "an expectation (`verification.lost_acked == 0`) or {when: {<axis>: <value>}, that: <expectation>}",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ExpectEntry, E> {
                Ok(ExpectEntry::plain(v))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<ExpectEntry, A::Error> {
                let r = ExpectRepr::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(ExpectEntry {
                    that: r.that,
                    when: r.when,
                })
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ClusterSpec {
    /// Compose file, relative to the experiment file: the cluster this tool starts (or reuses).
    #[serde(default)]
    pub compose: Option<PathBuf>,
    /// Instead of `compose`: a compose project someone else started.
    #[serde(default)]
    pub attach: Option<AttachSpec>,
    /// Instead of `compose`: a Kafka cluster running on Kubernetes (our `k8s/` manifests or
    /// Strimzi's), found by its labels and reached through a port-forward per broker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<KubernetesSpec>,
    /// Environment added to every broker service (e.g. `KAFKA_ZOOKEEPER_SESSION_TIMEOUT_MS`).
    #[serde(default)]
    pub broker_environment: IndexMap<String, String>,
    /// Broker settings by Kafka's own property names (`zookeeper.session.timeout.ms: 6000`),
    /// set on every broker through our images' environment convention
    /// (`KAFKA_ZOOKEEPER_SESSION_TIMEOUT_MS`, see [`super::matrix::property_to_env`]). Merged
    /// into `broker_environment` when the file is loaded; naming the same setting in both is
    /// an error, a `broker:` matrix axis overrides it per variant.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub broker_config: IndexMap<String, ConfigValue>,
    /// Environment added per service.
    #[serde(default)]
    pub environment: IndexMap<String, IndexMap<String, String>>,
    /// Reuse a running cluster started from the identical configuration (default true).
    #[serde(default = "yes")]
    pub reuse: bool,
    /// How long to wait for the cluster to become ready.
    #[serde(default = "default_ready_timeout", with = "humantime_serde")]
    #[schemars(with = "super::json_schema::HumanDuration")]
    pub ready_timeout: Duration,
    /// Unmeasured traffic to a scratch topic after a fresh start: JVMs on a small machine are
    /// slow until their JIT has warmed up, which would skew the first latencies. 0s disables.
    #[serde(default = "default_warm_up", with = "humantime_serde")]
    #[schemars(with = "super::json_schema::HumanDuration")]
    pub warm_up: Duration,
    /// How the harness's clients connect (TLS, SASL); default: the CHAOS_KAFKA_* environment,
    /// else plaintext. The password is never in the file (`password-env`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<super::json_schema::ClientSecurityShape>")]
    pub client_security: Option<crate::security::ClientSecuritySpec>,
}

/// `cluster.attach`: run against a compose project started without this tool (`docker compose
/// -p <project> up`). Its containers are faulted and healed, never created or removed;
/// nothing outside the project is touched.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AttachSpec {
    /// The compose project name (the `com.docker.compose.project` label of its containers).
    pub project: String,
}

/// `cluster.kubernetes`: a Kafka cluster on Kubernetes, found by Strimzi's labels (pods with
/// `strimzi.io/cluster=<strimzi-cluster>`; brokers `strimzi.io/name=<c>-kafka` or
/// `strimzi.io/broker-role=true`, the broker id the pod's ordinal). Its pods are faulted; its
/// StatefulSets are never created, scaled or removed. The harness reaches broker N through a
/// port-forward from `127.0.0.1:<local-port-base + N>` to the pod's `external-port`, so each
/// broker must advertise that address on that listener (as `k8s/seed.yaml` does).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct KubernetesSpec {
    /// The namespace the cluster's pods run in.
    pub namespace: String,
    /// The value of the pods' `strimzi.io/cluster` label (Strimzi's `Kafka` resource name).
    pub strimzi_cluster: String,
    /// The kubeconfig context (default: the kubeconfig's current context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// The kubeconfig file (default: `KUBECONFIG`, else `~/.kube/config`), relative to the
    /// experiment file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubeconfig: Option<PathBuf>,
    /// The broker listener the harness's clients use, in the pod (default 9094).
    #[serde(default = "default_external_port")]
    pub external_port: u16,
    /// Broker N is reached on `127.0.0.1:<local-port-base + N>` (default 31090).
    #[serde(default = "default_local_port_base")]
    pub local_port_base: u16,
    /// How a node fault reaches a node (default `pods`: through the API, on each of the
    /// cluster's pods on it).
    #[serde(default, skip_serializing_if = "NodeAccess::is_pods")]
    pub nodes: NodeAccess,
}

/// How a node fault (`node-crash`, `node-partition`) reaches a Kubernetes node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NodeAccess {
    /// Only through the API: a node fault acts on each of the cluster's pods on the node
    /// (every JVM killed at once); the node itself, its kubelet and the control plane's view
    /// of it are untouched.
    #[default]
    Pods,
    /// The nodes are containers of this machine's Docker engine named as the nodes (kind,
    /// k3d, `scripts/k8s.sh`): `node-crash` kills the node container (kubelet, containerd and
    /// every pod on it die at once; the control plane learns it from the missing heartbeats)
    /// and its heal starts it again (a reboot: the kubelet restarts the pods in place);
    /// `node-partition` without `peers` cuts the node at its uplink (iptables in the node
    /// container: other nodes, the control plane and the port-forwards).
    DockerContainers,
}

impl NodeAccess {
    pub fn is_pods(&self) -> bool {
        *self == NodeAccess::Pods
    }
    /// A clause for the plan and the run's notes ("" for `pods`, the default).
    pub fn clause(&self) -> &'static str {
        match self {
            NodeAccess::Pods => "",
            NodeAccess::DockerContainers => {
                "; the nodes are Docker containers: node-crash kills a node's container and the \
                 heal starts it again, node-partition without peers cuts it at its uplink"
            }
        }
    }
}

fn default_external_port() -> u16 {
    9094
}
fn default_local_port_base() -> u16 {
    31090
}

fn default_warm_up() -> Duration {
    Duration::from_secs(15)
}

fn yes() -> bool {
    true
}
fn default_ready_timeout() -> Duration {
    Duration::from_secs(120)
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ObserverSpec {
    /// Metadata poll period; the error bar of every metadata-derived time.
    #[serde(default = "default_period", with = "humantime_serde")]
    #[schemars(with = "super::json_schema::HumanDuration")]
    pub period: Duration,
    /// The faster poll period for `fast-for` after each fault and heal, when leadership moves.
    #[serde(default = "default_fast_period", with = "humantime_serde")]
    #[schemars(with = "super::json_schema::HumanDuration")]
    pub fast_period: Duration,
    /// How long to poll at `fast-period` after each fault and heal (0s: never).
    #[serde(default = "default_fast_for", with = "humantime_serde")]
    #[schemars(with = "super::json_schema::HumanDuration")]
    pub fast_for: Duration,
}

impl Default for ObserverSpec {
    fn default() -> Self {
        Self {
            period: default_period(),
            fast_period: default_fast_period(),
            fast_for: default_fast_for(),
        }
    }
}

fn default_fast_period() -> Duration {
    Duration::from_millis(20)
}

fn default_fast_for() -> Duration {
    Duration::from_secs(5)
}

fn default_period() -> Duration {
    Duration::from_millis(100)
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TopicSpec {
    pub name: String,
    #[serde(default = "one_i32")]
    #[schemars(range(min = 1))]
    pub partitions: i32,
    #[serde(default = "three")]
    #[schemars(range(min = 1))]
    pub replication_factor: i32,
    /// Topic configs, e.g. `min.insync.replicas: 2`.
    #[serde(default)]
    pub config: IndexMap<String, ConfigValue>,
    /// Explicit replica assignment per partition (broker ids); overrides partitions / RF.
    #[serde(default)]
    pub assignment: Vec<Vec<i32>>,
}

impl TopicSpec {
    /// Partitions of the topic: the assignment's rows when one is given.
    pub fn partition_count(&self) -> i32 {
        if self.assignment.is_empty() {
            self.partitions
        } else {
            self.assignment.len() as i32
        }
    }
}

impl Experiment {
    /// True when a step injects a fault through a network sidecar (see
    /// [`FaultKind::uses_sidecar`]), whose image must then be present whatever the cluster's
    /// images are.
    pub fn needs_network_sidecar(&self) -> bool {
        self.steps
            .iter()
            .any(|s| s.fault.as_ref().is_some_and(|f| f.kind.uses_sidecar()))
    }

    /// A declared topic's partition count.
    pub fn partition_count(&self, topic: &str) -> Option<i32> {
        self.topics
            .iter()
            .find(|t| t.name == topic)
            .map(TopicSpec::partition_count)
    }

    /// The topic the workload writes (its own, else the first declared) and its partitions.
    pub fn workload_topic(&self) -> Option<(String, i32)> {
        let w = self.workload.as_ref()?;
        let name = w
            .topic
            .clone()
            .or_else(|| self.topics.first().map(|t| t.name.clone()))?;
        let partitions = self
            .topics
            .iter()
            .find(|t| t.name == name)
            .map(TopicSpec::partition_count)
            .unwrap_or(1);
        Some((name, partitions))
    }
}

fn one_i32() -> i32 {
    1
}
fn three() -> i32 {
    3
}

/// A config value written as a string, number or boolean in YAML; Kafka wants strings.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ConfigValue(pub String);

impl<'de> Deserialize<'de> for ConfigValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = ConfigValue;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ConfigValue, E> {
                Ok(ConfigValue(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<ConfigValue, E> {
                Ok(ConfigValue(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ConfigValue, E> {
                Ok(ConfigValue(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ConfigValue, E> {
                Ok(ConfigValue(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<ConfigValue, E> {
                Ok(ConfigValue(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// The tracked producer's client library (`workload.client`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(try_from = "String", into = "String")]
pub enum ClientChoice {
    /// librdkafka as rdkafka-sys bundles it, in the harness.
    #[default]
    Librdkafka,
    /// librdkafka of this version, through Python's confluent-kafka of the same version.
    LibrdkafkaPython { version: String },
    /// Apache Kafka's Java client; without a version, the brokers' (known once they run).
    Java { version: Option<String> },
}

impl TryFrom<String> for ClientChoice {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        match s.trim() {
            "librdkafka" => Ok(ClientChoice::Librdkafka),
            "java" => Ok(ClientChoice::Java { version: None }),
            other => {
                let version = |v: &str| {
                    (!v.is_empty()
                        && v.chars()
                            .all(|c| c.is_ascii_alphanumeric() || ".-+".contains(c)))
                    .then(|| v.to_string())
                };
                match other.split_once('@') {
                    Some(("java", v)) if version(v).is_some() => Ok(ClientChoice::Java {
                        version: version(v),
                    }),
                    Some(("librdkafka", v)) if version(v).is_some() => {
                        Ok(ClientChoice::LibrdkafkaPython {
                            version: v.to_string(),
                        })
                    }
                    _ => Err(format!(
                        "unknown client `{other}`: expected `librdkafka` (bundled), \
                         `librdkafka@<version>` (through Python's confluent-kafka), `java` (the \
                         brokers' version) or `java@<version>`, e.g. java@3.9.1"
                    )),
                }
            }
        }
    }
}

impl From<ClientChoice> for String {
    fn from(c: ClientChoice) -> String {
        c.to_string()
    }
}

impl std::fmt::Display for ClientChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientChoice::Librdkafka => f.write_str("librdkafka"),
            ClientChoice::LibrdkafkaPython { version } => write!(f, "librdkafka@{version}"),
            ClientChoice::Java { version: None } => f.write_str("java"),
            ClientChoice::Java { version: Some(v) } => write!(f, "java@{v}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct WorkloadSpec {
    /// Topic to write; default: the first topic.
    #[serde(default)]
    pub topic: Option<String>,
    #[serde(default = "default_acks", deserialize_with = "deserialize_acks")]
    #[schemars(with = "super::json_schema::AcksShape")]
    pub acks: Acks,
    #[serde(default)]
    pub idempotence: bool,
    /// Messages per second over all partitions; 0 = as fast as acks allow.
    #[serde(default = "default_rate")]
    pub rate: u32,
    /// Payload size in bytes (at least the identity header, 32 bytes).
    #[serde(default = "default_size")]
    pub message_size: usize,
    /// Producer `delivery.timeout.ms`.
    #[serde(default = "default_delivery_timeout", with = "humantime_serde")]
    #[schemars(with = "super::json_schema::HumanDuration")]
    pub delivery_timeout: Duration,
    /// Producer `retries` (default: librdkafka's).
    #[serde(default)]
    pub retries: Option<u32>,
    /// Extra librdkafka producer settings.
    #[serde(default)]
    pub producer_config: IndexMap<String, ConfigValue>,
    /// Re-read every partition after heal and check every acked message (default true).
    #[serde(default = "yes")]
    pub verify: bool,
    /// Message keys: `none` (partitions in turn), {round-robin: N} or {random: N} (Kafka's
    /// murmur2 partitioner decides the partition).
    #[serde(default, with = "serde_yaml_ng::with::singleton_map")]
    #[schemars(with = "super::json_schema::KeysShape")]
    pub keys: crate::keys::KeyStrategy,
    /// Stop sending after this many messages (default: until the steps end).
    #[serde(default)]
    pub messages: Option<u64>,
    /// Also consume the topic while the run goes on: end-to-end latency and the longest time
    /// a partition delivered nothing to a consumer.
    #[serde(default)]
    pub consumer: bool,
    /// After the last heal, once every partition is led and fully replicated, the workload
    /// goes on until every partition has been acked again, for at most this long: a client
    /// that does not resume is seen, not cut off.
    #[serde(default = "default_recovery_window", with = "humantime_serde")]
    #[schemars(with = "super::json_schema::HumanDuration")]
    pub recovery_window: Duration,
    /// When the tracked producer's librdkafka has lost every broker (a Metadata response
    /// listing none makes 2.10–2.15 decommission all of them, librdkafka issue #5301, and it
    /// never re-bootstraps by itself), give it the bootstrap servers again, as its
    /// re-bootstrap should. Either way the report says when it happened; `false` shows what an
    /// application on that library does (it stays without brokers).
    #[serde(default = "yes")]
    pub rebootstrap_when_no_brokers: bool,
    /// The tracked producer's client library: `librdkafka` (bundled, the default), `java`
    /// (Apache Kafka's Java client of the brokers' version) or `java@<version>`; installed by
    /// `scripts/java-client.sh`. A matrix axis like any other (`workload:client`).
    #[serde(default)]
    #[schemars(with = "super::json_schema::ClientShape")]
    pub client: ClientChoice,
    /// A consumer group reading the topic: duplicates, skips, rebalances, lag.
    #[serde(default)]
    pub group: Option<GroupSpec>,
    /// A transactional producer beside the tracked one: atomicity and isolation under faults.
    #[serde(default)]
    pub transactions: Option<TransactionSpec>,
}

/// `workload.transactions`: a transactional producer (idempotent, `transactional.id` from the
/// run) writing transactions of `size` messages across the partitions, every `abort-every`-th
/// aborted on purpose.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TransactionSpec {
    /// The name in targets (`transaction-coordinator-of: <id>`); the transactional.id on the
    /// cluster is `<id>-<run's producer id>`.
    #[serde(default = "default_txn_id")]
    pub id: String,
    #[serde(default = "default_txn_size")]
    #[schemars(range(min = 1, max = 10_000))]
    pub size: u32,
    /// Abort every n-th transaction on purpose (0: never).
    #[serde(default = "default_abort_every")]
    pub abort_every: u32,
    /// Between transactions (pacing); read-process-write: how long a transaction waits for
    /// its inputs (it takes what arrived, up to `size`).
    #[serde(default = "default_txn_pause", with = "humantime_serde")]
    #[schemars(with = "super::json_schema::HumanDuration")]
    pub pause: Duration,
    /// Consume the workload's topic (what the tracked producer writes) and write one message
    /// per input to `output-topic`, committing the consumed offsets inside each transaction
    /// (`send_offsets_to_transaction`): each input must be in the committed output once.
    /// `size` is then the most inputs per transaction.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_process_write: bool,
    /// Where read-process-write writes: a topic declared under `topics:` (so the run creates
    /// it fresh and faults can aim at its leaders), not the workload's own topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_topic: Option<String>,
}

impl TransactionSpec {
    /// The topic the transactions write: the output topic under read-process-write, else the
    /// workload's topic.
    pub fn written_topic(&self, workload_topic: &str) -> String {
        match (&self.output_topic, self.read_process_write) {
            (Some(t), true) => t.clone(),
            _ => workload_topic.to_string(),
        }
    }
}

fn default_txn_id() -> String {
    "chaos-tx".into()
}
fn default_txn_size() -> u32 {
    10
}
fn default_abort_every() -> u32 {
    5
}
fn default_txn_pause() -> Duration {
    Duration::from_millis(50)
}

/// `workload.group`: N consumers in one group (librdkafka), inside the harness.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct GroupSpec {
    /// The group's name in targets (`coordinator-of: <id>`); the group id on the cluster is
    /// `<id>-<run's producer id>`, so a run never inherits another's commits.
    #[serde(default = "default_group_id")]
    pub id: String,
    #[serde(default = "default_members")]
    #[schemars(range(min = 1, max = 32))]
    pub members: u32,
    #[serde(default)]
    pub commit: crate::events::CommitMode,
    /// `classic`, or `consumer` (KIP-848: Kafka 4 on KRaft; the session timeout is then the
    /// broker's `group.consumer.session.timeout.ms`, and `session-timeout` does not apply).
    #[serde(default)]
    pub protocol: crate::events::GroupProtocol,
    /// Auto: `auto.commit.interval.ms`; sync/async: how often the member commits (0s: after
    /// every message).
    #[serde(default = "default_commit_interval", with = "humantime_serde")]
    #[schemars(with = "super::json_schema::HumanDuration")]
    pub commit_interval: Duration,
    /// Simulated work per message (the member sleeps; nothing is measured with it).
    #[serde(default = "default_processing", with = "humantime_serde")]
    #[schemars(with = "super::json_schema::HumanDuration")]
    pub processing: Duration,
    #[serde(default = "default_session_timeout", with = "humantime_serde")]
    #[schemars(with = "super::json_schema::HumanDuration")]
    pub session_timeout: Duration,
    #[serde(default = "default_max_poll_interval", with = "humantime_serde")]
    #[schemars(with = "super::json_schema::HumanDuration")]
    pub max_poll_interval: Duration,
    /// Extra consumer settings, in the client's own names (librdkafka's, or Java's).
    #[serde(default)]
    pub consumer_config: IndexMap<String, ConfigValue>,
}

fn default_group_id() -> String {
    "chaos-group".into()
}
fn default_members() -> u32 {
    3
}
fn default_commit_interval() -> Duration {
    Duration::from_secs(1)
}
fn default_processing() -> Duration {
    Duration::from_millis(5)
}
fn default_session_timeout() -> Duration {
    // librdkafka's default (45 s since 2.0; the broker's group.min/max bound it).
    Duration::from_secs(45)
}
fn default_max_poll_interval() -> Duration {
    Duration::from_secs(300)
}

fn default_recovery_window() -> Duration {
    Duration::from_secs(10)
}

fn default_acks() -> Acks {
    Acks::All
}
fn default_rate() -> u32 {
    200
}
fn default_size() -> usize {
    100
}
fn default_delivery_timeout() -> Duration {
    Duration::from_secs(30)
}

/// `acks: 1`, `acks: all`, `acks: "0"` all work.
fn deserialize_acks<'de, D: Deserializer<'de>>(d: D) -> Result<Acks, D::Error> {
    let v = ConfigValue::deserialize(d)?;
    match v.0.as_str() {
        "0" => Ok(Acks::None),
        "1" => Ok(Acks::Leader),
        "all" | "-1" => Ok(Acks::All),
        other => Err(de::Error::invalid_value(
            de::Unexpected::Str(other),
            &"0, 1 or all",
        )),
    }
}

/// One step of the timeline. Exactly one of `fault`, `heal`, `wait`, `wait-for`, `assert`,
/// `elect` is set (checked by validation).
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(extend("oneOf" = [
    {"required": ["fault"]},
    {"required": ["heal"]},
    {"required": ["wait"]},
    {"required": ["wait-for"]},
    {"required": ["assert"]},
    {"required": ["elect"]},
]))]
pub struct Step {
    /// A name to refer to this step (its fault) later, e.g. in `heal`.
    #[serde(default)]
    pub name: Option<String>,
    /// Start no earlier than this offset from the start of the workload.
    #[serde(default, with = "humantime_serde")]
    #[schemars(with = "Option<super::json_schema::HumanDuration>")]
    pub at: Option<Duration>,
    #[serde(default)]
    pub fault: Option<FaultSpec>,
    /// Revert a fault by step name, or `all`.
    #[serde(default)]
    pub heal: Option<String>,
    #[serde(default, with = "humantime_serde")]
    #[schemars(with = "Option<super::json_schema::HumanDuration>")]
    pub wait: Option<Duration>,
    #[serde(default)]
    pub wait_for: Option<Condition>,
    #[serde(default)]
    pub assert: Option<Condition>,
    /// Ask the controller for a leader election now (ElectLeaders).
    #[serde(default)]
    pub elect: Option<ElectSpec>,
    /// Timeout for `wait-for` (default 60 s).
    #[serde(default, with = "humantime_serde")]
    #[schemars(with = "Option<super::json_schema::HumanDuration>")]
    pub timeout: Option<Duration>,
    /// What a `wait-for` that times out makes of the run (default: inconclusive).
    #[serde(default)]
    pub on_timeout: Option<OnTimeout>,
}

pub use crate::events::{Acks, ElectionType, FaultKind, OnTimeout};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// Drop both ways.
    #[default]
    Both,
    /// Drop what the target sends to the peers.
    Outgoing,
    /// Drop what the target receives from the peers.
    Incoming,
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct FaultSpec {
    pub kind: FaultKind,
    pub target: Target,
    /// `partition`: the other side (services or roles).
    #[serde(default)]
    pub peers: Vec<Target>,
    #[serde(default)]
    pub direction: Direction,
    /// `bandwidth`: rate as tc understands it, e.g. `1mbit`.
    #[serde(default)]
    pub rate: Option<String>,
    /// `delay`: added latency.
    #[serde(default, with = "humantime_serde")]
    #[schemars(with = "Option<super::json_schema::HumanDuration>")]
    pub delay: Option<Duration>,
    /// `loss`: percent of packets dropped.
    #[serde(default)]
    #[schemars(range(min = 0, max = 100))]
    pub percent: Option<f64>,
}

/// Which services a fault hits, resolved when it is injected (and recorded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub enum Target {
    Service(String),
    /// The active controller.
    Controller,
    LeaderOf(PartitionRef),
    FollowersOf(PartitionRef),
    /// One follower: not the active controller when another follower exists (freezing the
    /// controller also stalls ISR changes, which go through it), else the lowest broker id.
    FollowerOf(PartitionRef),
    IsrOf(PartitionRef),
    /// One broker chosen with the run's seed.
    Random,
    /// Every broker but one (the one kept is chosen with the seed).
    AllButOne,
    /// Every broker.
    AllBrokers,
    /// The services of an earlier fault step (by name).
    SameAs(String),
    /// The broker coordinating a consumer group (FindCoordinator); the workload's group by
    /// its `id`, any other name as written.
    CoordinatorOf(String),
    /// The broker coordinating a transactional id (FindCoordinator, key type transaction).
    TransactionCoordinatorOf(String),
    /// A member (0-based) of the workload's consumer group, for member-* faults.
    Member(u32),
    /// Every service on a node (a placement name, `x-chaos-node` in the compose file).
    Node(String),
    /// Every service on the node(s) the inner target's services run on.
    NodeOf(Box<Target>),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Target::Service(s) => write!(f, "{s}"),
            Target::Controller => f.write_str("controller"),
            Target::LeaderOf(p) => write!(f, "leader-of {p}"),
            Target::FollowersOf(p) => write!(f, "followers-of {p}"),
            Target::FollowerOf(p) => write!(f, "follower-of {p}"),
            Target::IsrOf(p) => write!(f, "isr-of {p}"),
            Target::Random => f.write_str("random"),
            Target::AllButOne => f.write_str("all-but-one"),
            Target::AllBrokers => f.write_str("all-brokers"),
            Target::SameAs(s) => write!(f, "same-as {s}"),
            Target::CoordinatorOf(g) => write!(f, "coordinator-of {g}"),
            Target::TransactionCoordinatorOf(t) => write!(f, "transaction-coordinator-of {t}"),
            Target::Member(m) => write!(f, "member {m}"),
            Target::Node(n) => write!(f, "node {n}"),
            Target::NodeOf(t) => write!(f, "node-of {t}"),
        }
    }
}

impl From<Target> for String {
    fn from(t: Target) -> String {
        t.to_string()
    }
}

const TARGET_HINT: &str = "a service name, `controller`, `random`, `all-but-one`, `all-brokers`, \
or one of {leader-of: topic/partition}, {followers-of: …}, {follower-of: …}, {isr-of: …}, \
{same-as: step-name}, {coordinator-of: group}, {transaction-coordinator-of: id}, {member: N}, \
{node: name}, {node-of: <target>}";

impl<'de> Deserialize<'de> for Target {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = Target;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(TARGET_HINT)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Target, E> {
                Ok(match v {
                    "controller" => Target::Controller,
                    "random" => Target::Random,
                    "all-but-one" => Target::AllButOne,
                    "all-brokers" => Target::AllBrokers,
                    "" => return Err(E::invalid_value(de::Unexpected::Str(v), &self)),
                    s => Target::Service(s.to_string()),
                })
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Target, A::Error> {
                let key: String = map
                    .next_key()?
                    .ok_or_else(|| de::Error::invalid_length(0, &self))?;
                if key == "node-of" {
                    let inner: Target = map.next_value()?;
                    if map.next_key::<String>()?.is_some() {
                        return Err(de::Error::custom(
                            "a target map has exactly one key, e.g. {node-of: {leader-of: orders/0}}",
                        ));
                    }
                    return Ok(Target::NodeOf(Box::new(inner)));
                }
                let value: ConfigValue = map.next_value()?;
                let value = value.0;
                let target = match key.as_str() {
                    "coordinator-of" => Target::CoordinatorOf(value),
                    "transaction-coordinator-of" => Target::TransactionCoordinatorOf(value),
                    "member" => Target::Member(value.parse().map_err(|_| {
                        de::Error::custom(format!(
                            "member: `{value}` is not a member number (0, 1, …)"
                        ))
                    })?),
                    "leader-of" => Target::LeaderOf(value.parse().map_err(de::Error::custom)?),
                    "followers-of" => {
                        Target::FollowersOf(value.parse().map_err(de::Error::custom)?)
                    }
                    "follower-of" => Target::FollowerOf(value.parse().map_err(de::Error::custom)?),
                    "isr-of" => Target::IsrOf(value.parse().map_err(de::Error::custom)?),
                    "same-as" => Target::SameAs(value),
                    "service" => Target::Service(value),
                    "node" => Target::Node(value),
                    other => {
                        return Err(de::Error::unknown_field(
                            other,
                            &[
                                "leader-of",
                                "followers-of",
                                "follower-of",
                                "isr-of",
                                "same-as",
                                "service",
                                "coordinator-of",
                                "transaction-coordinator-of",
                                "member",
                                "node",
                                "node-of",
                            ],
                        ))
                    }
                };
                if map.next_key::<String>()?.is_some() {
                    return Err(de::Error::custom(
                        "a target map has exactly one key, e.g. {leader-of: orders/0}",
                    ));
                }
                Ok(target)
            }
        }
        d.deserialize_any(V)
    }
}

/// `topic/partition`, e.g. `orders/0`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub struct PartitionRef {
    pub topic: String,
    pub partition: i32,
}

impl fmt::Display for PartitionRef {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}/{}", self.topic, self.partition)
    }
}

impl From<PartitionRef> for String {
    fn from(p: PartitionRef) -> String {
        p.to_string()
    }
}

impl std::str::FromStr for PartitionRef {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (topic, partition) = s
            .rsplit_once('/')
            .ok_or_else(|| format!("`{s}` is not topic/partition (e.g. orders/0)"))?;
        let partition = partition
            .parse::<i32>()
            .ok()
            .filter(|p| *p >= 0)
            .ok_or_else(|| format!("`{s}`: partition must be a number >= 0 (e.g. orders/0)"))?;
        if topic.is_empty() {
            return Err(format!("`{s}`: topic name is empty (e.g. orders/0)"));
        }
        Ok(PartitionRef {
            topic: topic.to_string(),
            partition,
        })
    }
}

impl<'de> Deserialize<'de> for PartitionRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(de::Error::custom)
    }
}

/// A condition on the observed cluster, for `wait-for` and `assert`. Written as a one-key
/// map, e.g. `{leader-changed: orders/0}` (see `ConditionRepr`).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case", try_from = "ConditionRepr")]
pub enum Condition {
    /// The partition's leader differs from its leader when the step started.
    LeaderChanged(PartitionRef),
    /// The partition has no leader.
    PartitionOffline(PartitionRef),
    /// The partition has a leader.
    PartitionOnline(PartitionRef),
    /// The ISR of the partition has exactly this many members.
    IsrSize(IsrSizeCondition),
    /// The leader is the preferred (first) replica.
    PreferredLeader(PartitionRef),
    /// The active controller differs from the one when the step started.
    ControllerChanged(bool),
    /// Every broker registered, every partition led, every ISR full.
    ClusterHealthy(bool),
    /// At least this many transactions of the workload committed since the step began
    /// (`workload.transactions`): e.g. a fault only once transactions flow.
    TransactionsCommitted(u64),
}

/// YAML form of a condition: a map with exactly one of these keys. (serde_yaml_ng reads
/// externally tagged enums only as YAML tags, so the map form is spelled out here.)
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(
    rename = "Condition",
    description = "A condition on the observed cluster (wait-for, assert): a map with exactly one key, e.g. {leader-changed: orders/0}.",
    extend("minProperties" = 1, "maxProperties" = 1)
)]
pub struct ConditionRepr {
    leader_changed: Option<PartitionRef>,
    partition_offline: Option<PartitionRef>,
    partition_online: Option<PartitionRef>,
    isr_size: Option<IsrSizeCondition>,
    preferred_leader: Option<PartitionRef>,
    controller_changed: Option<bool>,
    cluster_healthy: Option<bool>,
    transactions_committed: Option<u64>,
}

impl TryFrom<ConditionRepr> for Condition {
    type Error = String;
    fn try_from(r: ConditionRepr) -> Result<Self, String> {
        let mut found: Vec<Condition> = Vec::new();
        found.extend(r.leader_changed.map(Condition::LeaderChanged));
        found.extend(r.partition_offline.map(Condition::PartitionOffline));
        found.extend(r.partition_online.map(Condition::PartitionOnline));
        found.extend(r.isr_size.map(Condition::IsrSize));
        found.extend(r.preferred_leader.map(Condition::PreferredLeader));
        found.extend(r.controller_changed.map(Condition::ControllerChanged));
        found.extend(r.cluster_healthy.map(Condition::ClusterHealthy));
        found.extend(
            r.transactions_committed
                .map(Condition::TransactionsCommitted),
        );
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => Err(
                "a condition needs one of leader-changed, partition-offline, partition-online, \
isr-size, preferred-leader, controller-changed, cluster-healthy, transactions-committed"
                    .into(),
            ),
            _ => Err("a condition has exactly one key, e.g. {leader-changed: orders/0}".into()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct IsrSizeCondition {
    pub partition: PartitionRef,
    pub size: usize,
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Condition::LeaderChanged(p) => write!(f, "leader of {p} changed"),
            Condition::PartitionOffline(p) => write!(f, "{p} offline"),
            Condition::PartitionOnline(p) => write!(f, "{p} online"),
            Condition::IsrSize(c) => write!(f, "isr of {} has size {}", c.partition, c.size),
            Condition::PreferredLeader(p) => write!(f, "{p} led by its preferred replica"),
            Condition::ControllerChanged(_) => f.write_str("controller changed"),
            Condition::ClusterHealthy(_) => f.write_str("cluster healthy"),
            Condition::TransactionsCommitted(n) => write!(f, "{n} transaction(s) committed"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ElectSpec {
    pub partition: PartitionRef,
    #[serde(default)]
    pub election_type: ElectionType,
    /// Unclean elections only: skip the request (and record that) when the topic's
    /// `unclean.leader.election.enable` is not true — the operator's choice, kept across a matrix.
    #[serde(default)]
    pub if_topic_allows: bool,
}

/// A matrix axis value as text (`true`, `5000`, `all`).
pub fn scalar(v: &serde_yaml_ng::Value) -> String {
    use serde_yaml_ng::Value;
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => serde_yaml_ng::to_string(other)
            .unwrap_or_default()
            .trim()
            .to_string(),
    }
}

// The JSON Schema (`json_schema.rs`) of the types whose serde form is written by hand above.

impl JsonSchema for ConfigValue {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ConfigValue".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": ["string", "number", "boolean"],
            "description": "A setting passed to Kafka or librdkafka: a string, number or boolean.",
        })
    }
}

impl JsonSchema for ExpectEntry {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Expectation".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "`<result.json path> <op> <value>` (docs/metrics.md), or {when: {<matrix axis>: <value>}, that: <expectation>}.",
            "oneOf": [
                {"type": "string", "minLength": 1},
                {
                    "type": "object",
                    "properties": {
                        "when": {"type": "object", "description": "Matrix axis → value: the variants the expectation applies to."},
                        "that": {"type": "string", "minLength": 1, "description": "The expectation."},
                    },
                    "required": ["when", "that"],
                    "additionalProperties": false,
                },
            ],
        })
    }
}

impl JsonSchema for PartitionRef {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PartitionRef".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "pattern": "^.+/[0-9]+$",
            "description": "topic/partition, e.g. orders/0.",
        })
    }
}

impl JsonSchema for Target {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Target".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let partition = generator.subschema_for::<PartitionRef>();
        let target = generator.subschema_for::<Target>();
        let name = schemars::json_schema!({"type": "string", "minLength": 1});
        let member = schemars::json_schema!({"type": ["integer", "string"], "minimum": 0});
        let one = |key: &str, value: &schemars::Schema| {
            schemars::json_schema!({
                "type": "object",
                "properties": {key: value},
                "required": [key],
                "additionalProperties": false,
            })
        };
        schemars::json_schema!({
            "description": TARGET_HINT,
            "oneOf": [
                {"type": "string", "minLength": 1, "description": "A service name, controller, random, all-but-one or all-brokers."},
                one("leader-of", &partition),
                one("followers-of", &partition),
                one("follower-of", &partition),
                one("isr-of", &partition),
                one("same-as", &name),
                one("service", &name),
                one("coordinator-of", &name),
                one("transaction-coordinator-of", &name),
                one("member", &member),
                one("node", &name),
                one("node-of", &target),
            ],
        })
    }
}

impl JsonSchema for Condition {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Condition".into()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        ConditionRepr::json_schema(generator)
    }
}
