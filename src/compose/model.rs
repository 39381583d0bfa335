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
    pub depends_on: Vec<String>,
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

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    pub image: Option<String>,
    pub environment: Option<KeyValues>,
    pub ports: Option<Vec<RawPort>>,
    pub depends_on: Option<Names>,
    pub hostname: Option<String>,
    pub container_name: Option<String>,
    pub command: Option<Command>,
    pub entrypoint: Option<Command>,
    pub healthcheck: Option<RawHealthcheck>,
    pub labels: Option<KeyValues>,
    pub networks: Option<Names>,
    pub profiles: Option<Vec<String>>,
    pub restart: Option<String>,
    #[serde(rename = "x-chaos-node")]
    pub x_chaos_node: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNetwork {
    pub driver: Option<String>,
    pub external: Option<bool>,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    /// Obsolete in the compose spec; accepted and ignored.
    pub version: Option<Scalar>,
    pub name: Option<String>,
    pub services: Option<IndexMap<String, RawService>>,
    pub networks: Option<IndexMap<String, Option<RawNetwork>>>,
}
