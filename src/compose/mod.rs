//! The part of the Docker Compose format the cluster files use: services, image, environment
//! (map or list), ports, depends_on, hostname / container_name, networks, command, entrypoint,
//! healthcheck, labels, profiles, restart — with compose's interpolation (`${VAR}`, `$VAR`,
//! `${VAR:-default}`, `${VAR-default}`, `${VAR:?err}`, `${VAR?err}`, `${VAR:+alt}`,
//! `${VAR+alt}`, `$$`, nested defaults) from the process environment and a `.env` beside the
//! file. Any other key is an error naming file, line and key. Pure: no Docker here.

mod interpolate;
mod model;
mod order;

pub use interpolate::{
    interpolate, parse_dotenv, DotenvError, InterpolationError, InterpolationErrorKind,
};
pub use model::{ComposeProject, Healthcheck, PortMapping, Service};

use crate::experiment::{read_text, InputError};
use indexmap::IndexMap;
use model::{Command, KeyValues, Names, RawFile, RawPort};
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct ComposeError(pub Box<InputError>);

const SUPPORTED: &str = "services keys: image, environment, ports, depends_on, hostname, container_name, command, \
entrypoint, healthcheck, labels, networks, profiles, restart; top level: version, name, services, networks";

/// Reads a compose file; variables come from the process environment, then a `.env` beside
/// it (compose's precedence: the environment wins).
pub fn load(path: &Path) -> Result<ComposeProject, ComposeError> {
    load_with_env(path, &|name| std::env::var(name).ok())
}

/// `load` with the process environment given, so tests need not change the real one.
fn load_with_env(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ComposeProject, ComposeError> {
    let text = read_text(path, "compose file").map_err(|e| ComposeError(Box::new(e)))?;
    let dotenv = match path.parent().map(|d| d.join(".env")) {
        Some(env_file) => read_dotenv(&env_file)?,
        None => Vec::new(),
    };
    let vars = move |name: &str| {
        env(name).or_else(|| {
            dotenv
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    };
    parse(&text, path, &vars)
}

/// The `.env` file's variables; none when there is no such file.
fn read_dotenv(env_file: &Path) -> Result<Vec<(String, String)>, ComposeError> {
    let input_error = |line, message, hint: Option<&str>| {
        ComposeError(Box::new(InputError {
            file: env_file.to_path_buf(),
            line,
            column: None,
            path: String::new(),
            message,
            hint: hint.map(str::to_string),
        }))
    };
    match std::fs::metadata(env_file) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => {
            return Err(input_error(
                None,
                format!("cannot read .env file: {e}"),
                None,
            ))
        }
        // A directory named `.env` is not compose's file either.
        Ok(m) if !m.is_file() => return Ok(Vec::new()),
        Ok(_) => {}
    }
    let text = read_text(env_file, ".env file").map_err(|e| ComposeError(Box::new(e)))?;
    parse_dotenv(&text).map_err(|e| {
        input_error(
            e.line,
            e.message,
            Some("lines are KEY=value; quote a value with spaces: KEY=\"a b\" or KEY='a b'"),
        )
    })
}

pub fn parse(
    text: &str,
    file: &Path,
    vars: &dyn Fn(&str) -> Option<String>,
) -> Result<ComposeProject, ComposeError> {
    let err = |line: Option<usize>, path: String, message: String, hint: Option<String>| {
        ComposeError(Box::new(InputError {
            file: file.to_path_buf(),
            line,
            column: None,
            path,
            message,
            hint,
        }))
    };
    let text = interpolate(text, vars).map_err(|e| {
        ComposeError(Box::new(InputError {
            file: file.to_path_buf(),
            line: Some(e.line),
            column: Some(e.column),
            path: String::new(),
            message: e.kind.to_string(),
            hint: Some(e.kind.hint()),
        }))
    })?;
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Err(err(
            None,
            String::new(),
            "empty compose file: no services".into(),
            None,
        ));
    }
    let de = serde_yaml_ng::Deserializer::from_str(&text);
    let raw: RawFile = serde_path_to_error::deserialize(de).map_err(|e| {
        let mut e = crate::experiment::InputError::from(ComposeErrorSource(e, file));
        if e.message.contains("unknown field") {
            e.hint = Some(format!(
                "not supported by chaos's compose loader ({SUPPORTED})"
            ));
        }
        ComposeError(Box::new(e))
    })?;
    let line_of_service = |name: &str| {
        text.lines()
            .position(|l| {
                l.trim_end() == format!("  {name}:")
                    || l.trim_start().starts_with(&format!("{name}:"))
                        && l.starts_with("  ")
                        && !l.starts_with("    ")
            })
            .map(|i| i + 1)
    };
    let services_raw = raw.services.unwrap_or_default();
    if services_raw.is_empty() {
        return Err(err(
            None,
            "services".into(),
            "no services".into(),
            Some("a cluster file lists its services under services:".into()),
        ));
    }
    let mut services: IndexMap<String, Service> = IndexMap::new();
    for (name, s) in services_raw {
        let at = line_of_service(&name);
        let path = |field: &str| format!("services.{name}.{field}");
        let image = s
            .image
            .ok_or_else(|| err(at, path("image"), "a service needs an image".into(), None))?;
        let mut service = Service {
            name: name.clone(),
            image,
            hostname: s.hostname,
            container_name: s.container_name,
            restart: s.restart,
            ..Default::default()
        };
        service.environment = key_values(s.environment, vars);
        service.labels = key_values(s.labels, vars);
        for (i, p) in s.ports.unwrap_or_default().into_iter().enumerate() {
            service.ports.push(port(p).map_err(|m| {
                err(
                    at,
                    format!("services.{name}.ports[{i}]"),
                    m,
                    Some("e.g. \"127.0.0.1:29092:29092\" (ranges are not supported)".into()),
                )
            })?);
        }
        service.depends_on = names(s.depends_on);
        service.networks = names(s.networks);
        service.profiles = s.profiles.unwrap_or_default();
        service.command = s.command.map(command);
        service.entrypoint = s.entrypoint.map(command);
        if let Some(h) = s.healthcheck {
            let d = |v: Option<String>, field: &str| -> Result<Option<Duration>, ComposeError> {
                v.map(|t| {
                    humantime::parse_duration(&t).map_err(|e| {
                        err(
                            at,
                            path(&format!("healthcheck.{field}")),
                            format!("`{t}`: {e}"),
                            Some("durations look like 10s, 1m30s".into()),
                        )
                    })
                })
                .transpose()
            };
            service.healthcheck = Some(Healthcheck {
                test: command(h.test),
                interval: d(h.interval, "interval")?,
                timeout: d(h.timeout, "timeout")?,
                retries: h.retries,
                start_period: d(h.start_period, "start_period")?,
            });
        }
        services.insert(name, service);
    }
    let known: Vec<String> = services.keys().cloned().collect();
    let mut deps: IndexMap<String, Vec<String>> = IndexMap::new();
    for s in services.values() {
        for d in &s.depends_on {
            if !services.contains_key(d) {
                return Err(err(
                    line_of_service(&s.name),
                    format!("services.{}.depends_on", s.name),
                    format!("unknown service `{d}`"),
                    Some(format!("services: {}", known.join(", "))),
                ));
            }
        }
        deps.insert(s.name.clone(), s.depends_on.clone());
        if let Some(c) = &s.container_name {
            if services
                .values()
                .filter(|o| o.container_name.as_ref() == Some(c))
                .count()
                > 1
            {
                return Err(err(
                    line_of_service(&s.name),
                    format!("services.{}.container_name", s.name),
                    format!("container name `{c}` is used twice"),
                    None,
                ));
            }
        }
    }
    let order = order::start_order(&deps).map_err(|cycle| {
        err(
            line_of_service(&cycle[0]),
            format!("services.{}.depends_on", cycle[0]),
            format!("circular depends_on: {}", cycle.join(" → ")),
            None,
        )
    })?;
    Ok(ComposeProject {
        file: file.to_path_buf(),
        name: raw.name,
        services: order
            .iter()
            .filter_map(|n| services.get(n).cloned())
            .collect(),
    })
}

struct ComposeErrorSource<'a>(serde_path_to_error::Error<serde_yaml_ng::Error>, &'a Path);

impl From<ComposeErrorSource<'_>> for InputError {
    fn from(s: ComposeErrorSource<'_>) -> InputError {
        crate::experiment::input_error_from_serde(s.1, s.0)
    }
}

fn key_values(
    kv: Option<KeyValues>,
    vars: &dyn Fn(&str) -> Option<String>,
) -> IndexMap<String, String> {
    match kv {
        None => IndexMap::new(),
        Some(KeyValues::Map(m)) => m
            .into_iter()
            .map(|(k, v)| (k, v.map(|v| v.0).unwrap_or_default()))
            .collect(),
        Some(KeyValues::List(l)) => l
            .into_iter()
            .filter_map(|item| match item.split_once('=') {
                Some((k, v)) => Some((k.to_string(), v.to_string())),
                // "- KEY" alone takes KEY from the environment, or is dropped.
                None => vars(&item).map(|v| (item, v)),
            })
            .collect(),
    }
}

fn names(n: Option<Names>) -> Vec<String> {
    match n {
        None => vec![],
        Some(Names::List(l)) => l,
        Some(Names::Map(m)) => m.into_keys().collect(),
    }
}

fn command(c: Command) -> Vec<String> {
    match c {
        Command::List(l) => l.into_iter().map(|s| s.0).collect(),
        Command::Line(line) => {
            // Simple shell words: whitespace-separated, single or double quotes group.
            let mut words = Vec::new();
            let (mut current, mut quote, mut any) = (String::new(), None::<char>, false);
            for ch in line.chars() {
                match (quote, ch) {
                    (None, '\'' | '"') => {
                        quote = Some(ch);
                        any = true;
                    }
                    (Some(q), c) if c == q => quote = None,
                    (None, c) if c.is_whitespace() => {
                        if any {
                            words.push(std::mem::take(&mut current));
                            any = false;
                        }
                    }
                    (_, c) => {
                        current.push(c);
                        any = true;
                    }
                }
            }
            if any {
                words.push(current);
            }
            words
        }
    }
}

fn port(p: RawPort) -> Result<PortMapping, String> {
    match p {
        RawPort::Long(l) => {
            let host_port = match l.published {
                Some(p) => {
                    p.0.parse()
                        .map_err(|_| format!("published port `{}` is not a port number", p.0))?
                }
                None => l.target,
            };
            Ok(PortMapping {
                host_ip: l.host_ip,
                host_port,
                container_port: l.target,
                protocol: l.protocol.unwrap_or_else(|| "tcp".into()),
            })
        }
        RawPort::Short(s) => {
            let text = s.0;
            let (spec, protocol) = match text.rsplit_once('/') {
                Some((spec, proto)) => (spec, proto.to_string()),
                None => (text.as_str(), "tcp".to_string()),
            };
            if spec.contains('-') {
                return Err(format!("`{text}`: port ranges are not supported"));
            }
            let parts: Vec<&str> = spec.split(':').collect();
            let num = |s: &str| {
                s.parse::<u16>()
                    .map_err(|_| format!("`{text}`: `{s}` is not a port number"))
            };
            let (host_ip, host, container) = match parts.as_slice() {
                [c] => (None, num(c)?, num(c)?),
                [h, c] => (None, num(h)?, num(c)?),
                [ip, h, c] => (Some(ip.to_string()), num(h)?, num(c)?),
                _ => {
                    return Err(format!(
                        "`{text}` is not host:container or ip:host:container"
                    ))
                }
            };
            Ok(PortMapping {
                host_ip,
                host_port: host,
                container_port: container,
                protocol,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(name: &str) -> Option<String> {
        (name == "KAFKA_IMAGE").then(|| "confluentinc/cp-kafka:7.9.1".to_string())
    }

    fn parse_str(text: &str) -> Result<ComposeProject, String> {
        parse(text, Path::new("c.yml"), &vars).map_err(|e| e.to_string())
    }

    #[test]
    fn the_seed_file_loads_in_start_order_with_defaults_and_overrides() {
        let p = load(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/compose/seed.yml"
        )))
        .unwrap();
        let names: Vec<&str> = p.services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names[0], "zookeeper-1");
        assert_eq!(
            p.service("kafka-1").unwrap().environment["KAFKA_BROKER_ID"],
            "1"
        );
        assert_eq!(
            p.service("kafka-2").unwrap().ports[0],
            PortMapping {
                host_ip: Some("127.0.0.1".into()),
                host_port: 39092,
                container_port: 39092,
                protocol: "tcp".into()
            }
        );
        let p = parse_str("services:\n  k:\n    image: ${KAFKA_IMAGE:-chaos/kafka:3.9.1}\n  z:\n    image: ${ZK:-chaos/kafka:3.9.1}\n").unwrap();
        assert_eq!(p.services[0].image, "confluentinc/cp-kafka:7.9.1");
        assert_eq!(p.services[1].image, "chaos/kafka:3.9.1");
    }

    #[test]
    fn forms_of_environment_ports_commands_and_depends_on() {
        let p = parse_str(
            "services:\n  a:\n    image: x\n    environment:\n      - A=1\n      - KAFKA_IMAGE\n      - GONE\n    ports: [29092, \"1:2\", {target: 9, published: \"10\", host_ip: 0.0.0.0}]\n    command: sh -c 'echo hi there'\n    depends_on: {b: {condition: service_started}}\n    labels: {x: 1}\n  b:\n    image: y\n    environment: {N: 3, T: true}\n",
        )
        .unwrap();
        assert_eq!(p.services[0].name, "b");
        let a = p.service("a").unwrap();
        assert_eq!(a.environment["A"], "1");
        assert_eq!(a.environment["KAFKA_IMAGE"], "confluentinc/cp-kafka:7.9.1");
        assert!(!a.environment.contains_key("GONE"));
        assert_eq!(a.ports.len(), 3);
        assert_eq!(
            (a.ports[2].host_port, a.ports[2].host_ip.as_deref()),
            (10, Some("0.0.0.0"))
        );
        assert_eq!(
            a.command.as_ref().unwrap(),
            &vec!["sh".to_string(), "-c".into(), "echo hi there".into()]
        );
        assert_eq!(a.depends_on, vec!["b"]);
        assert_eq!(p.service("b").unwrap().environment["T"], "true");
    }

    #[test]
    fn dotenv_beside_the_file_fills_variables_and_the_environment_wins() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.yml");
        std::fs::write(
            &file,
            "services:\n  a:\n    image: ${IMAGE}\n    environment:\n      FROM_ENV: ${BOTH}\n      QUOTED: ${QUOTED}\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join(".env"),
            "# images\nexport IMAGE='img:1' # local\nBOTH=from-dotenv\nQUOTED=\"a \\\"b\\\" c\"\n",
        )
        .unwrap();
        let env = |name: &str| (name == "BOTH").then(|| "from-env".to_string());
        let p = load_with_env(&file, &env).unwrap();
        let a = &p.services[0];
        assert_eq!(a.image, "img:1");
        assert_eq!(a.environment["FROM_ENV"], "from-env");
        assert_eq!(a.environment["QUOTED"], "a \"b\" c");
    }

    #[test]
    fn a_malformed_dotenv_is_an_error_naming_it_and_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.yml");
        std::fs::write(&file, "services:\n  a:\n    image: x\n").unwrap();
        std::fs::write(dir.path().join(".env"), "A=1\nB=two words\n").unwrap();
        let e = load_with_env(&file, &|_| None).unwrap_err().to_string();
        let env_file = dir.path().join(".env").display().to_string();
        assert!(e.starts_with(&format!("{env_file}:2: ")), "{e}");
        assert!(e.contains("hint: lines are KEY=value"), "{e}");
    }

    #[test]
    fn unsupported_keys_name_file_line_and_key() {
        let e = parse_str("services:\n  a:\n    image: x\n    privileged: true\n").unwrap_err();
        assert!(e.starts_with("c.yml:4:"), "{e}");
        assert!(e.contains("services.a") && e.contains("privileged"), "{e}");
        assert!(e.contains("hint: not supported"), "{e}");
    }

    #[test]
    fn semantic_errors() {
        assert!(parse_str("").unwrap_err().contains("empty compose file"));
        assert!(parse_str("services: {}\n")
            .unwrap_err()
            .contains("no services"));
        assert!(parse_str("services:\n  a:\n    environment: {}\n")
            .unwrap_err()
            .contains("needs an image"));
        let e = parse_str("services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n").unwrap_err();
        assert!(e.contains("circular depends_on: a → b → a"), "{e}");
        assert!(
            parse_str("services:\n  a:\n    image: x\n    depends_on: [zz]\n")
                .unwrap_err()
                .contains("unknown service `zz`")
        );
        assert!(
            parse_str("services:\n  a:\n    image: x\n    ports: [\"9000-9002:9000-9002\"]\n")
                .unwrap_err()
                .contains("ranges")
        );
        assert!(
            parse_str("services:\n  a:\n    image: ${NEED:?must be set}\n")
                .unwrap_err()
                .contains("NEED is required")
        );
    }

    #[test]
    fn interpolation_errors_name_file_line_column_and_a_hint() {
        let e = parse_str("services:\n  a:\n    image: ${NEED:?must be set}\n").unwrap_err();
        assert!(
            e.starts_with("c.yml:3:12: variable NEED is required: must be set"),
            "{e}"
        );
        assert!(e.contains("hint: set NEED in the environment"), "{e}");
        let e = parse_str("services:\n  a:\n    image: ${IMG:-${KAFKA_IMAGE}\n").unwrap_err();
        assert!(e.starts_with("c.yml:3:12: unclosed `${`"), "{e}");
        assert!(e.contains("hint: each `${` needs its `}`"), "{e}");
        let e = parse_str("services:\n  a:\n    image: ${IMG:=x}\n").unwrap_err();
        assert!(e.contains("unsupported operator `:=`"), "{e}");
        assert!(e.contains("hint: supported: ${VAR}"), "{e}");
        // The nested default that used to come out as `${KAFKA_IMAGE}` followed by a `}`.
        let p = parse_str("services:\n  a:\n    image: ${IMG:-${KAFKA_IMAGE}}\n").unwrap();
        assert_eq!(p.services[0].image, "confluentinc/cp-kafka:7.9.1");
    }
}
