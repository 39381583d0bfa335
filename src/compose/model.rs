//! The compose model: what the cluster code uses, and the raw file form serde reads (every
//! unsupported key is an error, never ignored).

use indexmap::IndexMap;
use serde::{de, Deserialize, Deserializer, Serialize};
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComposeProject {
    pub file: PathBuf,
    pub name: Option<String>,
    /// In start order: dependencies first, otherwise file order.
    pub services: Vec<Service>,
    /// Top-level `volumes:`: the named volumes services may mount, by their key.
    pub volumes: IndexMap<String, NamedVolume>,
}

impl ComposeProject {
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Service {
    pub name: String,
    pub image: String,
    pub environment: IndexMap<String, String>,
    pub ports: Vec<PortMapping>,
    pub depends_on: Vec<Dependency>,
    /// `volumes:` and `tmpfs:` of the service.
    pub mounts: Vec<Mount>,
    pub pull_policy: PullPolicy,
    pub hostname: Option<String>,
    pub container_name: Option<String>,
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub healthcheck: Option<Healthcheck>,
    pub labels: IndexMap<String, String>,
    pub networks: Vec<String>,
    pub profiles: Vec<String>,
    pub restart: Option<String>,
    /// `x-chaos-node`: the node it runs on (a name from the nodes file) and the unit node
    /// faults act on. Without a nodes file every node is on the one engine.
    pub node: Option<String>,
}

impl Service {
    /// The names of the services it depends on.
    pub fn dependencies(&self) -> impl Iterator<Item = &str> {
        self.depends_on.iter().map(|d| d.service.as_str())
    }
}

/// One `depends_on` entry: the service, and what it must have reached before this one starts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Dependency {
    pub service: String,
    pub condition: Condition,
}

/// Compose's `depends_on.<service>.condition`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    /// Started (compose's default). For ZooKeeper this tool also waits until it serves:
    /// Kafka gives up on it after `zookeeper.connection.timeout.ms`.
    #[default]
    ServiceStarted,
    /// Its healthcheck (the file's or the image's) reports healthy.
    ServiceHealthy,
    /// It ran to completion with exit code 0 (a one-off set-up container).
    ServiceCompletedSuccessfully,
}

/// What a service mounts, with host paths already resolved against the compose file's
/// directory.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Mount {
    /// A volume: named (`source` is the key under the top-level `volumes:`) or anonymous.
    Volume {
        source: Option<String>,
        target: String,
        read_only: bool,
        /// `volume.nocopy`: do not copy the image's content into a new volume.
        nocopy: bool,
    },
    /// A host path (on the engine the service runs on).
    Bind {
        source: PathBuf,
        target: String,
        read_only: bool,
        /// Options passed to Docker as they are (`z`, `Z`, …).
        options: Vec<String>,
    },
    /// Memory-backed; `options` as Docker's `--tmpfs` takes them (`size=64m,mode=1777`).
    Tmpfs { target: String, options: String },
}

impl Mount {
    pub fn target(&self) -> &str {
        match self {
            Mount::Volume { target, .. }
            | Mount::Bind { target, .. }
            | Mount::Tmpfs { target, .. } => target,
        }
    }
}

/// A top-level `volumes:` entry.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct NamedVolume {
    /// `external: true`: it exists already; never created or removed here.
    pub external: bool,
    /// `name:`: the engine's name for it (default `<cluster>_<key>`, as compose names them).
    pub name: Option<String>,
    pub driver: Option<String>,
    pub driver_opts: IndexMap<String, String>,
    pub labels: IndexMap<String, String>,
}

/// Compose's `pull_policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PullPolicy {
    /// Pulled when the engine does not have it (compose's default).
    #[default]
    Missing,
    /// Pulled before every start.
    Always,
    /// Never pulled: missing is an error.
    Never,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Healthcheck {
    pub test: Vec<String>,
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    pub retries: Option<u32>,
    pub start_period: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PortMapping {
    pub host_ip: Option<String>,
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: String,
}

/// A YAML scalar (string, number, bool) as text, the way compose reads environment values.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = Scalar;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
                Ok(Scalar(v.into()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
                Ok(Scalar(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// `KEY: value` map or `- KEY=value` list (environment, labels).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged, expecting = "a map of KEY: value, or a list of KEY=value")]
pub enum KeyValues {
    Map(IndexMap<String, Option<Scalar>>),
    List(Vec<String>),
}

/// A list of names, or a map whose keys are the names (depends_on, networks).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged, expecting = "a list of names, or a map whose keys are names")]
pub enum Names {
    List(Vec<String>),
    Map(IndexMap<String, serde_yaml_ng::Value>),
}

/// A command as one string or a list.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged, expecting = "a string or a list of strings")]
pub enum Command {
    Line(String),
    List(Vec<Scalar>),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(
    untagged,
    expecting = "\"host:container\", \"ip:host:container\", a port number, or a map with target/published"
)]
pub enum RawPort {
    Short(Scalar),
    Long(LongPort),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LongPort {
    pub target: u16,
    pub published: Option<Scalar>,
    pub host_ip: Option<String>,
    pub protocol: Option<String>,
    pub mode: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHealthcheck {
    pub test: Command,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub retries: Option<u32>,
    pub start_period: Option<String>,
}

/// A struct of optional fields read from a map whose other keys are errors, except compose's
/// `x-` extension fields, which are skipped. Values are read as they stream (serde's
/// `flatten` would buffer them and lose their positions).
macro_rules! extensible {
    ($(#[$meta:meta])* $name:ident { $($field:ident: $ty:ty = $key:literal),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Default)]
        pub struct $name {
            $(pub $field: Option<$ty>,)*
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                const FIELDS: &[&str] = &[$($key,)* "x-…"];
                struct V;
                impl<'de> de::Visitor<'de> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                        f.write_str(concat!("a map (", stringify!($name), ")"))
                    }
                    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<$name, A::Error> {
                        let mut out = $name::default();
                        while let Some(key) = map.next_key::<String>()? {
                            match key.as_str() {
                                $($key => {
                                    if out.$field.is_some() {
                                        return Err(de::Error::duplicate_field($key));
                                    }
                                    out.$field = Some(map.next_value()?);
                                })*
                                x if x.starts_with("x-") => {
                                    map.next_value::<de::IgnoredAny>()?;
                                }
                                other => return Err(de::Error::unknown_field(other, FIELDS)),
                            }
                        }
                        Ok(out)
                    }
                }
                d.deserialize_map(V)
            }
        }
    };
}

extensible!(
    /// A service as the file writes it; its `x-` fields other than `x-chaos-node` are skipped.
    RawService {
        image: String = "image",
        environment: KeyValues = "environment",
        ports: Vec<RawPort> = "ports",
        depends_on: Names = "depends_on",
        hostname: String = "hostname",
        container_name: String = "container_name",
        command: Command = "command",
        entrypoint: Command = "entrypoint",
        healthcheck: RawHealthcheck = "healthcheck",
        labels: KeyValues = "labels",
        networks: Names = "networks",
        profiles: Vec<String> = "profiles",
        restart: String = "restart",
        volumes: Vec<RawMount> = "volumes",
        tmpfs: OneOrMany = "tmpfs",
        env_file: RawEnvFiles = "env_file",
        pull_policy: String = "pull_policy",
        x_chaos_node: String = "x-chaos-node",
    }
);

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    pub driver: Option<String>,
    pub external: Option<bool>,
    pub name: Option<String>,
}

/// The top level: compose's keys, and any `x-` extension field (ignored, as compose does; it
/// is where files keep the anchors their services merge in).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RawFile {
    /// Obsolete in the compose spec; accepted and ignored.
    pub version: Option<Scalar>,
    pub name: Option<String>,
    pub services: Option<IndexMap<String, RawService>>,
    pub networks: Option<IndexMap<String, Option<RawNetwork>>>,
    pub volumes: Option<IndexMap<String, Option<RawNamedVolume>>>,
}

const TOP_LEVEL: &[&str] = &["version", "name", "services", "networks", "volumes", "x-…"];

impl<'de> Deserialize<'de> for RawFile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = RawFile;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a compose file: a map with services:")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<RawFile, A::Error> {
                let mut file = RawFile::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "version" => file.version = map.next_value()?,
                        "name" => file.name = map.next_value()?,
                        "services" => file.services = map.next_value()?,
                        "networks" => file.networks = map.next_value()?,
                        "volumes" => file.volumes = map.next_value()?,
                        x if x.starts_with("x-") => {
                            map.next_value::<de::IgnoredAny>()?;
                        }
                        other => return Err(de::Error::unknown_field(other, TOP_LEVEL)),
                    }
                }
                Ok(file)
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNamedVolume {
    pub external: Option<bool>,
    pub name: Option<String>,
    pub driver: Option<String>,
    pub driver_opts: Option<IndexMap<String, Scalar>>,
    pub labels: Option<KeyValues>,
}

/// A `volumes:` entry of a service: `source:target[:mode]` / `target`, or the long form.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(
    untagged,
    expecting = "\"source:target[:ro]\", a target path, or a map with type, source, target"
)]
pub enum RawMount {
    Short(String),
    Long(LongMount),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LongMount {
    #[serde(rename = "type")]
    pub kind: String,
    pub source: Option<String>,
    pub target: String,
    pub read_only: Option<bool>,
    pub bind: Option<LongBindOptions>,
    pub volume: Option<LongVolumeOptions>,
    pub tmpfs: Option<LongTmpfsOptions>,
    /// Docker Desktop's file-sharing hint; no effect on Linux engines.
    pub consistency: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LongBindOptions {
    pub create_host_path: Option<bool>,
    pub selinux: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LongVolumeOptions {
    pub nocopy: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LongTmpfsOptions {
    pub size: Option<Scalar>,
    pub mode: Option<Scalar>,
}

/// `env_file:` one path, or a list of paths and `{path, required}` maps.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(
    untagged,
    expecting = "a path, or a list of paths or {path, required} maps"
)]
pub enum RawEnvFiles {
    One(String),
    List(Vec<RawEnvFile>),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged, expecting = "a path, or a map with path and required")]
pub enum RawEnvFile {
    Path(String),
    Long(LongEnvFile),
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LongEnvFile {
    pub path: String,
    pub required: Option<bool>,
    /// Compose's `format: raw` (values taken as they are, no quotes or interpolation).
    pub format: Option<String>,
}

/// One string or a list (`tmpfs:`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged, expecting = "a string or a list of strings")]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}
