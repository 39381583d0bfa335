//! Clusters over several Docker engines: the nodes file (which engines, where each is
//! reached) and the placement rules that make a compose file work across them. Pure.
//!
//! A service says where it runs with `x-chaos-node: n2`. Without a nodes file every service
//! runs on the one engine and the names only group services for node faults; with one, each
//! service is created on its node's engine and rewritten so that every other node and the
//! harness reach it:
//! - ports published on loopback are published on the node's address instead;
//! - an advertised listener on `localhost`/`127.0.0.1` advertises the node's address;
//! - every port other services reach it on by name (`kafka-1:9092` in an advertised listener,
//!   `zookeeper-1:2181` in `KAFKA_ZOOKEEPER_CONNECT`, `zookeeper-1:2888:3888` in
//!   `ZOOKEEPER_SERVERS`, `1@kafka-1:9093` in the KRaft voters) is published on the node's
//!   address too, under the same number;
//! - on every other node its names resolve to its node's address (`extra_hosts`).
//!
//! So two services on one node cannot both be reached on the same port by name; that is an
//! error naming both.

use crate::compose::{PortMapping, Service};
use crate::input::InputError;
use indexmap::IndexMap;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NodeSpec {
    /// The engine's API: `tcp://host:2375` or `unix:///path/docker.sock` (an ssh-forwarded
    /// socket reaches a remote engine securely).
    pub engine: String,
    /// Where the node's published ports are reached by the harness and the other nodes;
    /// defaults to the host of a `tcp://` engine.
    #[serde(default)]
    pub address: Option<String>,
    /// TLS to a `tcp://` engine (dockerd `--tlsverify`): PEM files, relative to the nodes file.
    #[serde(default)]
    pub tls: Option<EngineTls>,
}

/// The client side of an engine's TLS: the CA that signed the engine's certificate, and our
/// certificate and key (what `docker --tlsverify --tlscacert --tlscert --tlskey` take).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct EngineTls {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNodesFile {
    nodes: IndexMap<String, NodeSpec>,
}

/// The nodes file (`--nodes FILE` or `CHAOS_NODES`), every node with its address resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct NodesFile {
    pub file: PathBuf,
    pub nodes: IndexMap<String, Node>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub name: String,
    pub engine: String,
    pub address: String,
    /// Resolved against the nodes file's directory.
    pub tls: Option<EngineTls>,
}

impl NodesFile {
    #[allow(clippy::result_large_err)]
    pub fn load(path: &Path) -> Result<NodesFile, InputError> {
        let text = crate::input::read_text(path, "nodes file")?;
        Self::parse(path, &text)
    }

    // Long: one check per key of the nodes file
    #[allow(clippy::result_large_err)]
    pub fn parse(path: &Path, text: &str) -> Result<NodesFile, InputError> {
        let de = serde_yaml_ng::Deserializer::from_str(text);
        let raw: RawNodesFile =
            serde_path_to_error::deserialize(de).map_err(|e| crate::input::from_serde(path, e))?;
        let err = |node: &str, field: &str, message: String, hint: &str| InputError {
            file: path.to_path_buf(),
            line: crate::input::line_of_nested_key(text, "nodes", node),
            column: None,
            path: format!("nodes.{node}{field}"),
            message,
            hint: Some(hint.to_string()),
        };
        if raw.nodes.is_empty() {
            return Err(InputError {
                file: path.to_path_buf(),
                line: crate::input::line_of_key(text, "nodes"),
                column: None,
                path: "nodes".into(),
                message: "no node is declared".into(),
                hint: Some("e.g. nodes: {n1: {engine: \"tcp://10.0.0.11:2375\"}}".into()),
            });
        }
        let mut nodes = IndexMap::new();
        for (name, spec) in raw.nodes {
            if !valid_name(&name) {
                return Err(err(
                    &name,
                    "",
                    format!("`{name}` is not a node name"),
                    "node names match [a-zA-Z0-9][a-zA-Z0-9_.-]*, e.g. n1",
                ));
            }
            let host = match spec.engine.split_once("://") {
                Some(("tcp", rest)) | Some(("http", rest)) => {
                    let host = rest.trim_end_matches('/').rsplit_once(':').map_or(rest, |(h, _)| h);
                    Some(host.trim_matches(['[', ']']).to_string())
                }
                Some(("unix", path)) if !path.is_empty() => None,
                _ => {
                    return Err(err(
                        &name,
                        ".engine",
                        format!("`{}` is not an engine address this tool speaks", spec.engine),
                        "tcp://host:2375, or unix:///path/to/docker.sock (forward a remote \
                         engine's socket over ssh: ssh -nNT -L /tmp/n2.sock:/var/run/docker.sock user@host)",
                    ))
                }
            };
            let is_tcp = host.is_some();
            let address = match (spec.address, host) {
                (Some(a), _) if !a.trim().is_empty() => a,
                (_, Some(h)) if !h.is_empty() => h,
                _ => {
                    return Err(err(
                        &name,
                        ".address",
                        "a node reached through a unix socket needs its address".into(),
                        "the host's address other nodes and this harness reach its published ports on, e.g. address: 10.0.0.12",
                    ))
                }
            };
            let tls = match spec.tls {
                Some(_) if !is_tcp => {
                    return Err(err(
                        &name,
                        ".tls",
                        "TLS is for a tcp:// engine".into(),
                        "a unix socket needs no TLS; drop tls: or use tcp://host:2376",
                    ))
                }
                Some(t) => {
                    let base = path.parent().unwrap_or(Path::new("."));
                    Some(EngineTls {
                        ca: base.join(t.ca),
                        cert: base.join(t.cert),
                        key: base.join(t.key),
                    })
                }
                None => None,
            };
            nodes.insert(
                name.clone(),
                Node {
                    name,
                    engine: spec.engine,
                    address,
                    tls,
                },
            );
        }
        Ok(NodesFile {
            file: path.to_path_buf(),
            nodes,
        })
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// Where a service goes and how it was rewritten for that.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Placement {
    /// The node's address (None: on the one engine, nothing rewritten).
    pub address: Option<String>,
    /// `name:address` for every service on another node.
    pub extra_hosts: Vec<String>,
}

/// Why the services cannot be placed on the nodes.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlacementError {
    #[error(
        "service {service}: no x-chaos-node, but the nodes file {} places every service\n  \
         hint: add `x-chaos-node: <one of {known}>` to it in the compose file",
        file.display()
    )]
    Unplaced {
        service: String,
        file: PathBuf,
        /// The nodes the file has, comma-separated.
        known: String,
    },
    #[error(
        "service {service}: x-chaos-node `{node}` is not in the nodes file {}\n  hint: one of {known}",
        file.display()
    )]
    UnknownNode {
        service: String,
        node: String,
        file: PathBuf,
        known: String,
    },
    #[error(
        "services {first} and {second} are on the same node ({address}) and both need port {port}\n  \
         hint: give one of them another port (listener and published port), or put it on another node"
    )]
    PortClash {
        first: String,
        second: String,
        address: String,
        port: u16,
    },
}

// Long: the placement rules in the order the module states them
/// Checks every service's node against the nodes file and rewrites them to run across the
/// nodes (see the module's rules). Returns each service's placement, in order.
pub fn place(
    services: &mut [Service],
    nodes: &NodesFile,
) -> Result<Vec<Placement>, PlacementError> {
    let known = || nodes.nodes.keys().cloned().collect::<Vec<_>>().join(", ");
    let mut addresses = Vec::new();
    for s in services.iter() {
        let node = s.node.as_deref().ok_or_else(|| PlacementError::Unplaced {
            service: s.name.clone(),
            file: nodes.file.clone(),
            known: known(),
        })?;
        let n = nodes
            .nodes
            .get(node)
            .ok_or_else(|| PlacementError::UnknownNode {
                service: s.name.clone(),
                node: node.to_string(),
                file: nodes.file.clone(),
                known: known(),
            })?;
        addresses.push(n.address.clone());
    }
    // Ports each service is reached on by name, from every service's environment.
    let all_env: Vec<String> = services
        .iter()
        .flat_map(|s| s.environment.values().cloned())
        .collect();
    let mut placements = Vec::new();
    let mut taken: Vec<(String, u16, String)> = Vec::new(); // (address, port, service)
    for (i, s) in services.iter_mut().enumerate() {
        let address = addresses[i].clone();
        let names = names_of(s);
        let mut reached: BTreeSet<u16> = BTreeSet::new();
        for value in &all_env {
            for name in &names {
                reached.extend(ports_after(value, name));
            }
        }
        for p in &mut s.ports {
            if p.host_ip.as_deref().is_none_or(is_loopback) {
                p.host_ip = Some(address.clone());
            }
        }
        for port in reached {
            if !s.ports.iter().any(|p| p.container_port == port) {
                s.ports.push(PortMapping {
                    host_ip: Some(address.clone()),
                    host_port: port,
                    container_port: port,
                    protocol: "tcp".into(),
                });
            }
        }
        for p in &s.ports {
            if let Some((_, _, other)) = taken
                .iter()
                .find(|(a, port, _)| *a == address && *port == p.host_port)
            {
                return Err(PlacementError::PortClash {
                    first: other.clone(),
                    second: s.name.clone(),
                    address,
                    port: p.host_port,
                });
            }
            taken.push((address.clone(), p.host_port, s.name.clone()));
        }
        let advertised_name =
            crate::compose::convention::Convention::of(s).env_name("advertised.listeners");
        if let Some(advertised) = s.environment.get_mut(&advertised_name) {
            *advertised = advertised
                .split(',')
                .map(|l| match l.trim().split_once("://") {
                    Some((listener, hostport)) => match hostport.rsplit_once(':') {
                        Some((host, port)) if is_loopback(host) => {
                            format!("{listener}://{address}:{port}")
                        }
                        _ => l.trim().to_string(),
                    },
                    None => l.trim().to_string(),
                })
                .collect::<Vec<_>>()
                .join(",");
        }
        placements.push(Placement {
            address: Some(address),
            extra_hosts: Vec::new(),
        });
    }
    for i in 0..services.len() {
        let mut hosts = Vec::new();
        for (j, other) in services.iter().enumerate() {
            if other.node != services[i].node {
                for name in names_of(other) {
                    hosts.push(format!("{name}:{}", addresses[j]));
                }
            }
        }
        placements[i].extra_hosts = hosts;
    }
    Ok(placements)
}

fn names_of(s: &Service) -> Vec<String> {
    let mut names = vec![s.name.clone()];
    if let Some(h) = s.hostname.as_ref().filter(|h| **h != s.name) {
        names.push(h.clone());
    }
    names
}

fn is_loopback(host: &str) -> bool {
    matches!(host, "localhost" | "127.0.0.1" | "")
}

/// The ports written after `name` in `value`: `name:9092` → 9092, `name:2888:3888` → both.
fn ports_after(value: &str, name: &str) -> Vec<u16> {
    let mut ports = Vec::new();
    let mut from = 0;
    while let Some(found) = value[from..].find(name) {
        let start = from + found;
        let end = start + name.len();
        from = end;
        let before_ok = value[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')));
        if !before_ok {
            continue;
        }
        let mut rest = &value[end..];
        while let Some(after) = rest.strip_prefix(':') {
            let digits: String = after.chars().take_while(|c| c.is_ascii_digit()).collect();
            match digits.parse::<u16>() {
                Ok(p) => ports.push(p),
                Err(_) => break,
            }
            rest = &after[digits.len()..];
        }
    }
    ports
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes() -> NodesFile {
        NodesFile::parse(
            Path::new("nodes.yaml"),
            "nodes:\n  n1: {engine: \"tcp://10.250.0.11:2375\"}\n  n2:\n    engine: unix:///tmp/n2.sock\n    address: 10.250.0.12\n",
        )
        .unwrap()
    }

    fn service(name: &str, node: &str, env: &[(&str, &str)], ports: &[(u16, u16)]) -> Service {
        Service {
            name: name.into(),
            image: "chaos/kafka:3.9.1".into(),
            environment: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ports: ports
                .iter()
                .map(|(h, c)| PortMapping {
                    host_ip: Some("127.0.0.1".into()),
                    host_port: *h,
                    container_port: *c,
                    protocol: "tcp".into(),
                })
                .collect(),
            node: Some(node.into()),
            ..Default::default()
        }
    }

    #[test]
    fn the_nodes_file_gives_each_node_an_engine_and_an_address() {
        let n = nodes();
        assert_eq!(n.nodes["n1"].address, "10.250.0.11");
        assert_eq!(n.nodes["n2"].engine, "unix:///tmp/n2.sock");
        assert_eq!(n.nodes["n2"].address, "10.250.0.12");
        let tls = NodesFile::parse(
            Path::new("conf/nodes.yaml"),
            "nodes:\n  n1:\n    engine: tcp://h:2376\n    tls: {ca: tls/ca.pem, cert: tls/cert.pem, key: tls/key.pem}\n",
        )
        .unwrap();
        let t = tls.nodes["n1"].tls.as_ref().unwrap();
        assert_eq!(t.ca, Path::new("conf/tls/ca.pem"));
        assert_eq!(t.key, Path::new("conf/tls/key.pem"));
        let e = NodesFile::parse(
            Path::new("nodes.yaml"),
            "nodes:\n  n1:\n    engine: unix:///s\n    address: a\n    tls: {ca: a, cert: b, key: c}\n",
        )
        .unwrap_err();
        assert_eq!(e.path, "nodes.n1.tls");
        let e = NodesFile::parse(
            Path::new("nodes.yaml"),
            "nodes:\n  n1:\n    engine: unix:///tmp/n1.sock\n",
        )
        .unwrap_err();
        assert_eq!((e.line, e.path.as_str()), (Some(2), "nodes.n1.address"));
        assert!(e.hint.unwrap().contains("address"));
        let e = NodesFile::parse(
            Path::new("nodes.yaml"),
            "nodes:\n  n1:\n    engine: ssh://me@h\n",
        )
        .unwrap_err();
        assert!(
            e.message.contains("ssh://me@h") && e.hint.as_ref().unwrap().contains("ssh -nNT"),
            "{e}"
        );
        let e = NodesFile::parse(
            Path::new("nodes.yaml"),
            "nodes:\n  n1:\n    engin: tcp://h:1\n",
        )
        .unwrap_err();
        assert!(e.message.contains("unknown field `engin`"), "{e}");
        assert_eq!(e.line, Some(3));
    }

    #[test]
    fn placement_publishes_what_others_reach_by_name_on_the_node_address() {
        let mut services = vec![
            service(
                "zookeeper-1",
                "n1",
                &[
                    ("ZOOKEEPER_CLIENT_PORT", "2181"),
                    ("ZOOKEEPER_SERVERS", "zookeeper-1:2888:3888"),
                ],
                &[],
            ),
            service(
                "kafka-2",
                "n2",
                &[
                    ("KAFKA_ZOOKEEPER_CONNECT", "zookeeper-1:2181"),
                    (
                        "KAFKA_ADVERTISED_LISTENERS",
                        "PLAINTEXT://kafka-2:9092,PLAINTEXT_HOST://localhost:39092",
                    ),
                ],
                &[(39092, 39092)],
            ),
        ];
        let placed = place(&mut services, &nodes()).unwrap();
        let published = |s: &Service| -> Vec<String> {
            s.ports
                .iter()
                .map(|p| {
                    format!(
                        "{}:{}:{}",
                        p.host_ip.as_deref().unwrap(),
                        p.host_port,
                        p.container_port
                    )
                })
                .collect()
        };
        assert_eq!(
            published(&services[0]),
            [
                "10.250.0.11:2181:2181",
                "10.250.0.11:2888:2888",
                "10.250.0.11:3888:3888"
            ]
        );
        assert_eq!(
            published(&services[1]),
            ["10.250.0.12:39092:39092", "10.250.0.12:9092:9092"]
        );
        assert_eq!(
            services[1].environment["KAFKA_ADVERTISED_LISTENERS"],
            "PLAINTEXT://kafka-2:9092,PLAINTEXT_HOST://10.250.0.12:39092"
        );
        assert_eq!(placed[0].extra_hosts, ["kafka-2:10.250.0.12"]);
        assert_eq!(placed[1].extra_hosts, ["zookeeper-1:10.250.0.11"]);
        assert_eq!(placed[1].address.as_deref(), Some("10.250.0.12"));
        // `zookeeper-10` is not `zookeeper-1`.
        assert_eq!(
            ports_after("zookeeper-10:2181,xzookeeper-1:1", "zookeeper-1"),
            Vec::<u16>::new()
        );
        assert_eq!(
            ports_after("1@kafka-1:9093,2@kafka-2:9093", "kafka-1"),
            [9093]
        );
    }

    #[test]
    fn placement_errors_name_the_service_the_node_and_the_clash() {
        let mut unplaced = vec![Service {
            name: "kafka-1".into(),
            ..Default::default()
        }];
        let e = place(&mut unplaced, &nodes()).unwrap_err().to_string();
        assert!(
            e.contains("kafka-1: no x-chaos-node") && e.contains("n1, n2"),
            "{e}"
        );
        let mut unknown = vec![service("kafka-1", "n9", &[], &[])];
        let e = place(&mut unknown, &nodes()).unwrap_err().to_string();
        assert!(
            e.contains("`n9` is not in the nodes file nodes.yaml"),
            "{e}"
        );
        let listener = |n: &str| format!("PLAINTEXT://{n}:9092");
        let mut clash = vec![
            service(
                "kafka-1",
                "n1",
                &[("KAFKA_ADVERTISED_LISTENERS", &listener("kafka-1"))],
                &[],
            ),
            service(
                "kafka-2",
                "n1",
                &[("KAFKA_ADVERTISED_LISTENERS", &listener("kafka-2"))],
                &[],
            ),
        ];
        let e = place(&mut clash, &nodes()).unwrap_err().to_string();
        assert!(
            e.contains("kafka-1 and kafka-2") && e.contains("port 9092"),
            "{e}"
        );
    }
}
