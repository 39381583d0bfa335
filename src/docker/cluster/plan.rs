//! What to create for a compose project: each service's role (ZooKeeper, broker, other), its
//! broker id, the address the host reaches it on, and a hash of the whole configuration so
//! that a running cluster is reused only when it was started from the same one. Pure.

use crate::compose::{ComposeProject, Service};
use crate::docker::inventory::host_bootstrap;
pub use crate::docker::inventory::{mode_of, role_of, Role};
use crate::events::ClusterMode;
use indexmap::IndexMap;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, PartialEq)]
pub struct ServicePlan {
    pub service: Service,
    pub role: Role,
    pub container_name: String,
    /// `127.0.0.1:<port>`: a listener the broker advertises as localhost and publishes (on
    /// a node of several: `<node address>:<port>`).
    pub host_bootstrap: Option<String>,
    /// Where it runs when the cluster spans several engines (see [`crate::nodes`]).
    pub placement: crate::nodes::Placement,
}

/// Why a compose project cannot be planned.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Placement(#[from] crate::nodes::PlacementError),
    #[error(
        "service {service}: no advertised listener reachable from the host; advertise \
         e.g. PLAINTEXT_HOST://localhost:29092 and publish that port"
    )]
    NoHostListener { service: String },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub cluster: String,
    pub network: String,
    pub services: Vec<ServicePlan>,
    /// The named volumes the services mount, by their key in the compose file.
    pub volumes: IndexMap<String, PlannedVolume>,
    pub config_hash: String,
}

/// A named volume: the engine's name for it, and the nodes that need it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedVolume {
    /// `<cluster>_<key>` as compose names them, or the file's `name:`.
    pub name: String,
    pub volume: crate::compose::NamedVolume,
    /// The `x-chaos-node` of each service mounting it (None: the one engine).
    pub nodes: Vec<Option<String>>,
}

impl Plan {
    // Long: the plan's fields in order (name, mode, each service's role, ports, overrides, placement),
    // each a short step
    /// Applies environment overrides (`broker_env` to every broker, `service_env` per service).
    pub fn new(
        project: &ComposeProject,
        broker_env: &IndexMap<String, String>,
        service_env: &IndexMap<String, IndexMap<String, String>>,
        nodes: Option<&crate::nodes::NodesFile>,
    ) -> Result<Plan, PlanError> {
        let cluster = project
            .name
            .clone()
            .or_else(|| {
                project
                    .file
                    .file_stem()
                    .map(|s| s.to_string_lossy().to_string())
            })
            .unwrap_or_else(|| "chaos".into());
        let cluster: String = cluster
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        let mut configured = Vec::new();
        for service in &project.services {
            let mut service = service.clone();
            if matches!(role_of(&service), Role::Broker { .. }) {
                // Written in Confluent's terms (KAFKA_FOO); bitnami's image reads KAFKA_CFG_FOO.
                let convention = crate::compose::convention::Convention::of(&service);
                for (k, v) in broker_env {
                    service
                        .environment
                        .insert(convention.translate(k), v.clone());
                }
            }
            if let Some(extra) = service_env.get(&service.name) {
                for (k, v) in extra {
                    service.environment.insert(k.clone(), v.clone());
                }
            }
            configured.push(service);
        }
        // Across several engines each service is rewritten for its node (after the host
        // listener is found on the file's own terms: a localhost listener).
        let as_written = configured.clone();
        let placements = match nodes {
            Some(nodes) => crate::nodes::place(&mut configured, nodes)?,
            None => vec![crate::nodes::Placement::default(); configured.len()],
        };
        let mut services = Vec::new();
        for ((service, written), placement) in
            configured.into_iter().zip(&as_written).zip(placements)
        {
            let role = role_of(&service);
            let host_bootstrap = match role {
                Role::Broker { .. } => Some(
                    host_bootstrap(written)
                        .map(|b| match &placement.address {
                            Some(a) => b.replacen("127.0.0.1", a, 1),
                            None => b,
                        })
                        .ok_or_else(|| PlanError::NoHostListener {
                            service: service.name.clone(),
                        })?,
                ),
                _ => None,
            };
            let container_name = service
                .container_name
                .clone()
                .unwrap_or_else(|| format!("{cluster}-{}", service.name));
            services.push(ServicePlan {
                service,
                role,
                container_name,
                host_bootstrap,
                placement,
            });
        }
        let mut volumes = IndexMap::new();
        for (key, volume) in &project.volumes {
            let mut nodes: Vec<Option<String>> = services
                .iter()
                .filter(|s| {
                    s.service.mounts.iter().any(|m| {
                        matches!(m, crate::compose::Mount::Volume { source: Some(k), .. } if k == key)
                    })
                })
                .map(|s| s.service.node.clone())
                .collect();
            nodes.sort();
            nodes.dedup();
            let name = volume
                .name
                .clone()
                .unwrap_or_else(|| format!("{cluster}_{key}"));
            volumes.insert(
                key.clone(),
                PlannedVolume {
                    name,
                    volume: volume.clone(),
                    nodes,
                },
            );
        }
        let mut hasher = Sha256::new();
        hasher.update(format!("{:?}{:?}", services, volumes));
        let config_hash = format!("{:x}", hasher.finalize())[..16].to_string();
        Ok(Plan {
            network: format!("{cluster}-net"),
            cluster,
            services,
            volumes,
            config_hash,
        })
    }

    pub fn brokers(&self) -> impl Iterator<Item = (&ServicePlan, i32)> {
        self.services.iter().filter_map(|s| match s.role {
            Role::Broker { id, .. } => Some((s, id)),
            _ => None,
        })
    }

    /// The images this plan (and, for a run, the experiment's faults) needs.
    pub fn images_needed(
        &self,
        experiment: Option<&crate::experiment::Experiment>,
    ) -> Vec<crate::docker::images::WantedImage> {
        crate::docker::images::needed(
            self.services
                .iter()
                .map(|s| (s.service.image.as_str(), s.service.pull_policy)),
            experiment.is_some_and(|e| e.needs_network_sidecar()),
        )
    }

    pub fn mode(&self) -> ClusterMode {
        mode_of(self.services.iter().map(|s| &s.role))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::PortMapping;

    fn broker(name: &str, id: &str, port: u16) -> Service {
        let mut s = Service {
            name: name.into(),
            image: "img".into(),
            ..Default::default()
        };
        s.environment.insert("KAFKA_BROKER_ID".into(), id.into());
        s.environment.insert(
            "KAFKA_ADVERTISED_LISTENERS".into(),
            format!("PLAINTEXT://{name}:9092,PLAINTEXT_HOST://localhost:{port}"),
        );
        s.ports.push(PortMapping {
            host_ip: None,
            host_port: port,
            container_port: port,
            protocol: "tcp".into(),
        });
        s
    }

    fn project(services: Vec<Service>) -> ComposeProject {
        ComposeProject {
            volumes: Default::default(),
            file: "compose/seed.yml".into(),
            name: None,
            services,
        }
    }

    #[test]
    fn roles_ids_and_host_bootstrap_come_from_the_environment() {
        let mut zk = Service {
            name: "zookeeper-1".into(),
            image: "img".into(),
            ..Default::default()
        };
        zk.environment
            .insert("ZOOKEEPER_CLIENT_PORT".into(), "2181".into());
        let plan = Plan::new(
            &project(vec![zk, broker("kafka-1", "1", 29092)]),
            &IndexMap::new(),
            &IndexMap::new(),
            None,
        )
        .unwrap();
        assert_eq!(plan.cluster, "seed");
        assert_eq!(plan.services[0].role, Role::ZooKeeper { client_port: 2181 });
        assert_eq!(
            plan.services[1].role,
            Role::Broker {
                id: 1,
                kraft: false
            }
        );
        assert_eq!(
            plan.services[1].host_bootstrap.as_deref(),
            Some("127.0.0.1:29092")
        );
        assert_eq!(plan.services[1].container_name, "seed-kafka-1");
        assert_eq!(plan.mode(), ClusterMode::Zookeeper);
    }

    #[test]
    fn broker_overrides_change_the_hash_and_reach_only_brokers() {
        let mut zk = Service {
            name: "zookeeper-1".into(),
            image: "img".into(),
            ..Default::default()
        };
        zk.environment
            .insert("ZOOKEEPER_CLIENT_PORT".into(), "2181".into());
        let p = project(vec![zk, broker("kafka-1", "1", 29092)]);
        let plain = Plan::new(&p, &IndexMap::new(), &IndexMap::new(), None).unwrap();
        let env = IndexMap::from([(
            "KAFKA_ZOOKEEPER_SESSION_TIMEOUT_MS".to_string(),
            "6000".to_string(),
        )]);
        let tuned = Plan::new(&p, &env, &IndexMap::new(), None).unwrap();
        assert_ne!(plain.config_hash, tuned.config_hash);
        assert!(!tuned.services[0]
            .service
            .environment
            .contains_key("KAFKA_ZOOKEEPER_SESSION_TIMEOUT_MS"));
        assert_eq!(
            tuned.services[1].service.environment["KAFKA_ZOOKEEPER_SESSION_TIMEOUT_MS"],
            "6000"
        );
    }

    #[test]
    fn a_broker_without_a_host_listener_is_an_error_that_says_what_to_add() {
        let mut b = broker("kafka-1", "1", 29092);
        b.ports.clear();
        let err = Plan::new(&project(vec![b]), &IndexMap::new(), &IndexMap::new(), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("PLAINTEXT_HOST://localhost"), "{err}");
    }

    #[test]
    fn role_labels_round_trip() {
        for role in [
            Role::ZooKeeper { client_port: 2181 },
            Role::Broker { id: 3, kraft: true },
            Role::Other,
        ] {
            assert_eq!(Role::from_label(&role.as_label()), role);
        }
    }
}
