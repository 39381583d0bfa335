//! The JSON Schema of experiment files (`docs/experiment.schema.json`), derived from the types
//! of `schema.rs` with `schemars`. Editors use it to complete and check keys; `chaos validate`
//! stays the authority (positions, cross-references, the compose file).
//!
//! Fields whose serde form is custom get their shape here: durations (humantime strings),
//! `acks`, `keys`, targets, partition references, conditions, `expect` entries, and the
//! types defined outside this module (fault kinds, client security), whose names are taken
//! from serde itself so they cannot drift from what the parser accepts.

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::borrow::Cow;

/// The schema of an experiment file, as committed at `docs/experiment.schema.json`: draft 7,
/// the newest draft editors' YAML language server (VS Code's YAML extension) fully supports.
pub fn experiment_schema() -> Value {
    let schema = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<super::Experiment>();
    let mut schema = serde_json::to_value(schema).expect("a schema is JSON");
    if let Value::Object(map) = &mut schema {
        map.insert("title".into(), "chaos experiment".into());
        map.insert(
            "description".into(),
            "A chaos experiment file (see docs/experiments.md). Generated from src/experiment/schema.rs: \
             UPDATE_SCHEMA=1 cargo test --no-default-features --test docs_reference"
                .into(),
        );
    }
    schema
}

/// The schema as committed: pretty-printed JSON with a final newline.
pub fn experiment_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&experiment_schema()).expect("JSON");
    text.push('\n');
    text
}

/// The names serde accepts for a type, read from its own "unknown variant" or "unknown field"
/// error (`expected one of `a`, `b``): enum variants, or the fields of a struct that denies
/// unknown fields.
pub fn serde_names<T: DeserializeOwned>(probe: Value) -> Vec<String> {
    let err = match serde_json::from_value::<T>(probe) {
        Ok(_) => return Vec::new(),
        Err(e) => e.to_string(),
    };
    let Some((_, expected)) = err.split_once(", expected") else {
        return Vec::new();
    };
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

const UNKNOWN: &str = "\u{1}not-a-name";

/// The variants of a unit-only enum, as serde spells them.
pub fn variants<T: DeserializeOwned>() -> Vec<String> {
    serde_names::<T>(Value::String(UNKNOWN.into()))
}

/// The fields of a struct with `deny_unknown_fields`, as serde spells them.
pub fn fields<T: DeserializeOwned>() -> Vec<String> {
    let mut probe = serde_json::Map::new();
    probe.insert(UNKNOWN.into(), Value::String("x".into()));
    serde_names::<T>(Value::Object(probe))
}

fn enum_of<T: DeserializeOwned>(description: &str) -> Schema {
    let names = variants::<T>();
    assert!(
        !names.is_empty(),
        "serde names no variant of {}",
        std::any::type_name::<T>()
    );
    json_schema!({
        "type": "string",
        "enum": names,
        "description": description,
    })
}

/// humantime's units (`humantime::parse_duration`).
const DURATION_PATTERN: &str = r"^\s*(0|([0-9]+\s*(nsec|ns|usec|us|µs|msec|ms|seconds|second|secs|sec|s|minutes|minute|mins|min|m|hours|hour|hrs|hr|h|days|day|d|weeks|week|w|months|month|M|years|year|y)\s*)+)$";

/// A duration with its unit: `100ms`, `5s`, `2m`, `1h 30m`.
pub struct HumanDuration;

impl JsonSchema for HumanDuration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": "A duration with its unit: 100ms, 5s, 2m, 1h 30m.",
        })
    }
}

/// `acks`: 0, 1 or all (as numbers or strings; -1 is all).
/// `client`: `librdkafka`, `java` or `java@<version>`.
pub struct ClientShape;

impl JsonSchema for ClientShape {
    fn schema_name() -> Cow<'static, str> {
        "Client".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "pattern": "^(librdkafka(@[0-9A-Za-z.+-]+)?|java(@[0-9A-Za-z.+-]+)?)$",
            "description": "The tracked producer's client: librdkafka (bundled), librdkafka@<version> (through Python's confluent-kafka), java (Apache Kafka's Java client of the brokers' version) or java@<version>.",
        })
    }
}

pub struct AcksShape;

impl JsonSchema for AcksShape {
    fn schema_name() -> Cow<'static, str> {
        "Acks".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "enum": [0, 1, -1, "0", "1", "-1", "all"],
            "description": "0 (no ack), 1 (the leader's) or all (every in-sync replica's).",
        })
    }
}

/// `keys`: `none`, `{round-robin: N}` or `{random: N}`.
pub struct KeysShape;

impl JsonSchema for KeysShape {
    fn schema_name() -> Cow<'static, str> {
        "Keys".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let mut branches = vec![json_schema!({"const": "none"})];
        for name in variants::<crate::keys::KeyStrategy>() {
            if name == "none" {
                continue;
            }
            branches.push(json_schema!({
                "type": "object",
                "properties": {
                    name.clone(): {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": crate::keys::MAX_KEYS,
                    }
                },
                "required": [name],
                "additionalProperties": false,
            }));
        }
        json_schema!({
            "oneOf": branches,
            "description": "Message keys: none (partitions in turn), {round-robin: N} or {random: N}.",
        })
    }
}

/// A closed set from outside this module, its values taken from serde (`enum_of`).
macro_rules! enum_schema {
    ($($ty:ident: $description:literal),* $(,)?) => {$(
        impl JsonSchema for crate::events::$ty {
            fn schema_name() -> Cow<'static, str> {
                stringify!($ty).into()
            }
            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                enum_of::<Self>($description)
            }
        }
    )*};
}

enum_schema! {
    FaultKind: "What the fault does (docs/experiments.md, Steps).",
    ElectionType: "The ElectLeaders election type.",
    OnTimeout: "What a wait-for that times out makes of the run.",
    CommitMode: "How the group's members commit their offsets.",
    GroupProtocol: "The consumer group protocol: classic, or consumer (KIP-848, Kafka 4 on KRaft).",
}

/// `cluster.client-security` (`crate::security::ClientSecuritySpec`), field for field; a unit
/// test compares the names with serde's.
#[derive(JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(rename = "ClientSecurity")]
#[allow(dead_code)]
pub struct ClientSecurityShape {
    #[schemars(with = "ProtocolShape")]
    protocol: (),
    #[serde(default)]
    sasl: Option<SaslShape>,
    #[serde(default)]
    tls: Option<TlsShape>,
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(rename = "Sasl")]
#[allow(dead_code)]
pub struct SaslShape {
    #[schemars(with = "MechanismShape")]
    mechanism: (),
    username: String,
    /// The environment variable holding the password.
    #[serde(default = "default_password_env")]
    password_env: String,
}

#[derive(JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[schemars(rename = "Tls")]
#[allow(dead_code)]
pub struct TlsShape {
    /// PEM file of the CA(s) that signed the brokers' certificates, relative to the experiment file.
    #[serde(default)]
    ca_file: Option<String>,
    /// Client certificate (PEM), for brokers that require one (mutual TLS).
    #[serde(default)]
    cert_file: Option<String>,
    /// The client certificate's key (PEM).
    #[serde(default)]
    key_file: Option<String>,
    /// Check that the certificate names the host connected to.
    #[serde(default = "yes")]
    verify_hostname: bool,
}

fn default_password_env() -> String {
    crate::security::env::PASSWORD.into()
}

fn yes() -> bool {
    true
}

struct ProtocolShape;

impl JsonSchema for ProtocolShape {
    fn schema_name() -> Cow<'static, str> {
        "SecurityProtocol".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        enum_of::<crate::security::SecurityProtocol>("How the harness's clients connect.")
    }
}

struct MechanismShape;

impl JsonSchema for MechanismShape {
    fn schema_name() -> Cow<'static, str> {
        "SaslMechanism".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        enum_of::<crate::security::SaslMechanism>("The SASL mechanism.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::{ClientSecuritySpec, SaslSpec, TlsSpec};

    fn properties<T: JsonSchema>() -> Vec<String> {
        let schema = serde_json::to_value(schemars::schema_for!(T)).unwrap();
        let mut names: Vec<String> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        names.sort();
        names
    }

    fn sorted(mut v: Vec<String>) -> Vec<String> {
        v.sort();
        v
    }

    #[test]
    fn serde_names_are_read_from_serde_errors() {
        assert_eq!(
            variants::<crate::events::ElectionType>(),
            ["preferred", "unclean"]
        );
        assert!(variants::<crate::events::FaultKind>().contains(&"node-partition".to_string()));
        assert_eq!(
            sorted(fields::<SaslSpec>()),
            ["mechanism", "password-env", "username"]
        );
    }

    #[test]
    fn the_client_security_shapes_have_the_specs_fields() {
        assert_eq!(
            properties::<ClientSecurityShape>(),
            sorted(fields::<ClientSecuritySpec>())
        );
        assert_eq!(properties::<SaslShape>(), sorted(fields::<SaslSpec>()));
        assert_eq!(properties::<TlsShape>(), sorted(fields::<TlsSpec>()));
    }

    #[test]
    fn the_schema_is_a_json_schema_with_every_top_level_key() {
        let schema = experiment_schema();
        assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
        let mut keys: Vec<String> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        keys.sort();
        assert_eq!(keys, sorted(fields::<crate::experiment::Experiment>()));
    }

    #[test]
    fn the_target_and_condition_maps_have_the_keys_serde_takes() {
        let schema = experiment_schema();
        let mut keys: Vec<String> = schema["definitions"]["Target"]["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|b| b["properties"].as_object())
            .flat_map(|p| p.keys().cloned())
            .collect();
        keys.sort();
        assert_eq!(keys, sorted(fields::<crate::experiment::Target>()));
        let mut keys: Vec<String> = schema["definitions"]["Condition"]["properties"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        keys.sort();
        assert_eq!(
            keys,
            sorted(fields::<crate::experiment::schema::ConditionRepr>())
        );
    }
}
