//! How the common Kafka and ZooKeeper images read their settings from the environment, so
//! that roles, broker ids and listeners are found in users' compose files whichever image
//! they use, and an experiment's broker settings reach the broker in its image's terms. Pure.
//!
//! - `confluentinc/cp-kafka`, `apache/kafka` (the ASF's image) and this tool's `chaos/kafka`:
//!   `KAFKA_FOO_BAR` → `foo.bar` (`__` → `_`, `___` → `-`); ZooKeeper (`cp-zookeeper`,
//!   `chaos/kafka`) from `ZOOKEEPER_CLIENT_PORT`.
//! - `bitnami/kafka`: `KAFKA_CFG_FOO_BAR` → `foo.bar`; `bitnami/zookeeper`: `ZOO_PORT_NUMBER`
//!   (default 2181). The Docker official `zookeeper` image listens on 2181.

use super::image_ref::repository;
use super::model::Service;

/// A Kafka image's environment convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Convention {
    /// `KAFKA_FOO_BAR` → `foo.bar`: confluentinc/cp-kafka, apache/kafka, chaos/kafka.
    Confluent,
    /// `KAFKA_CFG_FOO_BAR` → `foo.bar`: bitnami/kafka.
    Bitnami,
}

/// Variables the images read themselves: not broker properties in any convention.
const IMAGE_VARIABLES: &[&str] = &[
    "KAFKA_HEAP_OPTS",
    "KAFKA_JVM_PERFORMANCE_OPTS",
    "KAFKA_GC_LOG_OPTS",
    "KAFKA_OPTS",
    "KAFKA_DEBUG",
    "KAFKA_VERSION",
    "KAFKA_HOME",
];

fn is_image_variable(name: &str) -> bool {
    IMAGE_VARIABLES.contains(&name)
        || ["KAFKA_JMX_", "KAFKA_LOG4J_", "KAFKA_TOOLS_LOG4J_"]
            .iter()
            .any(|p| name.starts_with(p))
}

impl Convention {
    /// The convention of a service: bitnami's by its image or by `KAFKA_CFG_` variables,
    /// otherwise Confluent's (which the ASF image and ours share).
    pub fn of(service: &Service) -> Convention {
        let repo = repository(&service.image);
        if repo == "bitnami/kafka"
            || repo.ends_with("/bitnami/kafka")
            || service
                .environment
                .keys()
                .any(|k| k.starts_with("KAFKA_CFG_"))
        {
            Convention::Bitnami
        } else {
            Convention::Confluent
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Convention::Confluent => "KAFKA_",
            Convention::Bitnami => "KAFKA_CFG_",
        }
    }

    /// `unclean.leader.election.enable` → `KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE` (Confluent) or
    /// `KAFKA_CFG_UNCLEAN_LEADER_ELECTION_ENABLE` (bitnami): `_` → `__`, `-` → `___`, `.` → `_`.
    pub fn env_name(self, property: &str) -> String {
        let mut out = String::from(self.prefix());
        for c in property.chars() {
            match c {
                '_' => out.push_str("__"),
                '-' => out.push_str("___"),
                '.' => out.push('_'),
                c => out.push(c.to_ascii_uppercase()),
            }
        }
        out
    }

    /// The property a variable sets in this convention, if it sets one.
    pub fn property(self, env_name: &str) -> Option<String> {
        if is_image_variable(env_name) {
            return None;
        }
        let raw = env_name.strip_prefix(self.prefix())?;
        if self == Convention::Confluent && raw.starts_with("CFG_") {
            return None;
        }
        let raw = raw.to_ascii_lowercase();
        Some(
            raw.replace("___", "-")
                .replace("__", "\u{1}")
                .replace('_', ".")
                .replace('\u{1}', "_"),
        )
    }

    /// A property's value as the service's environment sets it.
    pub fn get(self, service: &Service, property: &str) -> Option<String> {
        service.environment.get(&self.env_name(property)).cloned()
    }

    /// An experiment's broker variable, written in Confluent's convention (`KAFKA_FOO`), as
    /// this image wants it; image variables (`KAFKA_HEAP_OPTS`, …) and variables already in
    /// this convention are kept.
    pub fn translate(self, confluent_name: &str) -> String {
        match (self, Convention::Confluent.property(confluent_name)) {
            (Convention::Bitnami, Some(property)) => self.env_name(&property),
            _ => confluent_name.to_string(),
        }
    }
}

/// A setting every broker is given alike, each in its image's terms; None when one lacks it
/// or they differ (Kafka's default then applies to some).
pub fn common_setting(brokers: &[&Service], property: &str) -> Option<String> {
    let mut values = brokers.iter().map(|b| Convention::of(b).get(b, property));
    let first = values.next()??;
    values
        .all(|v| v.as_deref() == Some(first.as_str()))
        .then_some(first)
}

/// A broker's id (`broker.id`, else KRaft's `node.id`) in its image's terms; None for a
/// service that is not a broker.
pub fn broker_id(service: &Service) -> Option<i32> {
    let convention = Convention::of(service);
    convention
        .get(service, "broker.id")
        .or_else(|| convention.get(service, "node.id"))
        .and_then(|id| id.parse().ok())
}

/// The client port of a ZooKeeper service: `ZOOKEEPER_CLIENT_PORT` (cp-zookeeper, chaos/kafka),
/// or for the bitnami and Docker official ZooKeeper images `ZOO_PORT_NUMBER`, default 2181.
pub fn zookeeper_client_port(service: &Service) -> Option<u16> {
    if let Some(port) = service.environment.get("ZOOKEEPER_CLIENT_PORT") {
        return port.parse().ok();
    }
    let repo = repository(&service.image);
    let last = repo.rsplit('/').next().unwrap_or(repo);
    if last == "zookeeper" {
        return service
            .environment
            .get("ZOO_PORT_NUMBER")
            .map_or(Some(2181), |p| p.parse().ok());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexmap::IndexMap;

    fn service(image: &str, env: &[(&str, &str)]) -> Service {
        Service {
            name: "s".into(),
            image: image.into(),
            environment: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<IndexMap<_, _>>(),
            ..Default::default()
        }
    }

    #[test]
    fn each_image_s_convention_is_recognised() {
        for image in [
            "confluentinc/cp-kafka:7.9.1",
            "apache/kafka:4.1.1",
            "docker.io/apache/kafka:4.1.1",
            "chaos/kafka:4.1.1",
        ] {
            assert_eq!(
                Convention::of(&service(image, &[])),
                Convention::Confluent,
                "{image}"
            );
        }
        for image in [
            "bitnami/kafka:3.9",
            "docker.io/bitnami/kafka:3.9",
            "127.0.0.1:5000/bitnami/kafka",
            "registry.example.com/mirror/bitnami/kafka:4.0@sha256:00",
        ] {
            assert_eq!(
                Convention::of(&service(image, &[])),
                Convention::Bitnami,
                "{image}"
            );
        }
        // A bitnami-style file on another image name: the variables tell.
        assert_eq!(
            Convention::of(&service("acme/kafka:1", &[("KAFKA_CFG_NODE_ID", "1")])),
            Convention::Bitnami
        );
    }

    #[test]
    fn properties_and_variables_in_both_conventions() {
        let c = Convention::Confluent;
        let b = Convention::Bitnami;
        assert_eq!(
            c.env_name("confluent.support_metrics-enable"),
            "KAFKA_CONFLUENT_SUPPORT__METRICS___ENABLE"
        );
        assert_eq!(b.env_name("node.id"), "KAFKA_CFG_NODE_ID");
        assert_eq!(
            c.property("KAFKA_ADVERTISED_LISTENERS").as_deref(),
            Some("advertised.listeners")
        );
        assert_eq!(
            b.property("KAFKA_CFG_ADVERTISED_LISTENERS").as_deref(),
            Some("advertised.listeners")
        );
        assert_eq!(c.property("KAFKA_CFG_NODE_ID"), None);
        assert_eq!(c.property("KAFKA_HEAP_OPTS"), None);
        assert_eq!(
            b.translate("KAFKA_BROKER_SESSION_TIMEOUT_MS"),
            "KAFKA_CFG_BROKER_SESSION_TIMEOUT_MS"
        );
        assert_eq!(b.translate("KAFKA_HEAP_OPTS"), "KAFKA_HEAP_OPTS");
        assert_eq!(b.translate("KAFKA_CFG_NODE_ID"), "KAFKA_CFG_NODE_ID");
        assert_eq!(
            c.translate("KAFKA_BROKER_SESSION_TIMEOUT_MS"),
            "KAFKA_BROKER_SESSION_TIMEOUT_MS"
        );
    }

    #[test]
    fn zookeeper_ports_by_image() {
        assert_eq!(
            zookeeper_client_port(&service(
                "confluentinc/cp-zookeeper:7.9.1",
                &[("ZOOKEEPER_CLIENT_PORT", "2182")]
            )),
            Some(2182)
        );
        assert_eq!(
            zookeeper_client_port(&service(
                "bitnami/zookeeper:3.9",
                &[("ZOO_PORT_NUMBER", "2183")]
            )),
            Some(2183)
        );
        assert_eq!(
            zookeeper_client_port(&service("bitnami/zookeeper:3.9", &[])),
            Some(2181)
        );
        assert_eq!(
            zookeeper_client_port(&service("zookeeper:3.9", &[("ZOO_MY_ID", "1")])),
            Some(2181)
        );
        assert_eq!(
            zookeeper_client_port(&service("bitnami/kafka:3.9", &[])),
            None
        );
    }
}
