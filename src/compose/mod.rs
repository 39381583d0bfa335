//! The part of the Docker Compose format the cluster files use: services, image, environment
//! (map or list), ports, depends_on, hostname / container_name, networks, command, entrypoint,
//! healthcheck, labels, profiles, restart — with compose's interpolation (`${VAR}`, `$VAR`,
//! `${VAR:-default}`, `${VAR-default}`, `${VAR:?err}`, `${VAR?err}`, `${VAR:+alt}`,
//! `${VAR+alt}`, `$$`, nested defaults) from the process environment and a `.env` beside the
//! file. `profiles` follow compose: a service listing some starts only when one is active
//! (`load_with_profiles`, or `COMPOSE_PROFILES`). Any other key is an error naming file, line
//! and key. Pure: no Docker here.

pub mod files;
mod interpolate;
mod model;
mod order;

pub use interpolate::{
    interpolate, parse_dotenv, DotenvError, InterpolationError, InterpolationErrorKind,
};
pub use model::{ComposeProject, Healthcheck, PortMapping, Service};

use crate::input::{read_text, InputError};
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
/// it (compose's precedence: the environment wins). Active profiles come from
/// `COMPOSE_PROFILES`; see `load_with_profiles`.
pub fn load(path: &Path) -> Result<ComposeProject, ComposeError> {
    load_with_profiles(path, &[])
}

/// `load` with compose's `--profile` (repeatable): a service listing `profiles:` is kept only
/// when one of them is active. As in docker compose, profiles given here replace those of
/// `COMPOSE_PROFILES` (comma-separated, from the environment or `.env`), which apply only when
/// none are given; `*` activates every profile.
pub fn load_with_profiles(
    path: &Path,
    profiles: &[String],
) -> Result<ComposeProject, ComposeError> {
    load_with_env(path, profiles, &|name| std::env::var(name).ok())
}

/// `load` with the process environment given, so tests need not change the real one.
fn load_with_env(
    path: &Path,
    profiles: &[String],
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
    parse_with_profiles(&text, path, &vars, profiles)
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

/// Parses compose text; `COMPOSE_PROFILES` is read through `vars`.
pub fn parse(
    text: &str,
    file: &Path,
    vars: &dyn Fn(&str) -> Option<String>,
) -> Result<ComposeProject, ComposeError> {
    parse_with_profiles(text, file, vars, &[])
}

/// The profiles in force: those asked for, else `COMPOSE_PROFILES` (compose's rule: the
/// option replaces the variable, it does not add to it).
fn active_profiles(asked: &[String], vars: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    let listed: Vec<String> = if asked.is_empty() {
        vars("COMPOSE_PROFILES")
            .unwrap_or_default()
            .split(',')
            .map(|p| p.trim().to_string())
            .collect()
    } else {
        asked.iter().map(|p| p.trim().to_string()).collect()
    };
    listed.into_iter().filter(|p| !p.is_empty()).collect()
}

/// Compose's rule: no `profiles:` means always; otherwise one of them must be active.
fn enabled(service: &Service, active: &[String]) -> bool {
    service.profiles.is_empty()
        || active
            .iter()
            .any(|a| a == "*" || service.profiles.contains(a))
}

/// Compose's profile names: `[a-zA-Z0-9][a-zA-Z0-9_.-]+`.
fn valid_profile_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && name.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// `parse` with compose's `--profile` (see `load_with_profiles`).
pub fn parse_with_profiles(
    text: &str,
    file: &Path,
    vars: &dyn Fn(&str) -> Option<String>,
    profiles: &[String],
) -> Result<ComposeProject, ComposeError> {
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
    let loader = Loader { file, text: &text };
    if text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
    {
        return Err(loader.err(
            None,
            String::new(),
            "empty compose file: no services".into(),
            None,
        ));
    }
    let de = serde_yaml_ng::Deserializer::from_str(&text);
    let raw: RawFile = serde_path_to_error::deserialize(de).map_err(|e| {
        let mut e = crate::input::InputError::from(ComposeErrorSource(e, file));
        if e.message.contains("unknown field") {
            e.hint = Some(format!(
                "not supported by chaos's compose loader ({SUPPORTED})"
            ));
        }
        ComposeError(Box::new(e))
    })?;
    let services_raw = raw.services.unwrap_or_default();
    if services_raw.is_empty() {
        return Err(loader.err(
            None,
            "services".into(),
            "no services".into(),
            Some("a cluster file lists its services under services:".into()),
        ));
    }
    let mut services: IndexMap<String, Service> = IndexMap::new();
    // Every dependency with its `required` (compose's default: true).
    let mut dependencies: IndexMap<String, Vec<(String, bool)>> = IndexMap::new();
    for (name, s) in services_raw {
        let (service, deps) = loader.service(&name, s, vars)?;
        dependencies.insert(name.clone(), deps);
        services.insert(name, service);
    }
    loader.check_dependencies_exist(&services, &dependencies)?;
    loader.apply_profiles(
        &mut services,
        &dependencies,
        &active_profiles(profiles, vars),
    )?;
    loader.check_container_names(&services)?;
    let deps: IndexMap<String, Vec<String>> = services
        .values()
        .map(|s| (s.name.clone(), s.depends_on.clone()))
        .collect();
    let order = order::start_order(&deps).map_err(|cycle| {
        loader.err(
            loader.line_of_service(&cycle[0]),
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

/// One compose file being loaded: where its errors point.
struct Loader<'a> {
    file: &'a Path,
    /// The interpolated text (lines of services are found in it).
    text: &'a str,
}

impl Loader<'_> {
    fn err(
        &self,
        line: Option<usize>,
        path: String,
        message: String,
        hint: Option<String>,
    ) -> ComposeError {
        ComposeError(Box::new(InputError {
            file: self.file.to_path_buf(),
            line,
            column: None,
            path,
            message,
            hint,
        }))
    }

    fn line_of_service(&self, name: &str) -> Option<usize> {
        self.text
            .lines()
            .position(|l| {
                l.trim_end() == format!("  {name}:")
                    || l.trim_start().starts_with(&format!("{name}:"))
                        && l.starts_with("  ")
                        && !l.starts_with("    ")
            })
            .map(|i| i + 1)
    }

    /// One service from its raw form, with its dependencies and their `required`.
    fn service(
        &self,
        name: &str,
        s: model::RawService,
        vars: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(Service, Vec<(String, bool)>), ComposeError> {
        let at = self.line_of_service(name);
        let path = |field: &str| format!("services.{name}.{field}");
        let image = s
            .image
            .ok_or_else(|| self.err(at, path("image"), "a service needs an image".into(), None))?;
        let mut service = Service {
            name: name.to_string(),
            image,
            hostname: s.hostname,
            container_name: s.container_name,
            restart: s.restart,
            ..Default::default()
        };
        if let Some(node) = s.x_chaos_node {
            if !valid_profile_name(&node) {
                return Err(self.err(
                    at,
                    path("x-chaos-node"),
                    format!("`{node}` is not a node name"),
                    Some(
                        "node names match [a-zA-Z0-9][a-zA-Z0-9_.-]+, e.g. x-chaos-node: n2".into(),
                    ),
                ));
            }
            service.node = Some(node);
        }
        service.environment = key_values(s.environment, vars);
        service.labels = key_values(s.labels, vars);
        for (i, p) in s.ports.unwrap_or_default().into_iter().enumerate() {
            service.ports.push(port(p).map_err(|m| {
                self.err(
                    at,
                    format!("services.{name}.ports[{i}]"),
                    m.to_string(),
                    Some("e.g. \"127.0.0.1:29092:29092\" (ranges are not supported)".into()),
                )
            })?);
        }
        let deps = dependencies_of(s.depends_on).map_err(|(dep, m)| {
            self.err(
                at,
                format!("services.{name}.depends_on.{dep}.required"),
                m,
                Some("required: true or required: false".into()),
            )
        })?;
        service.depends_on = deps.iter().map(|(d, _)| d.clone()).collect();
        service.networks = names(s.networks);
        service.profiles = s.profiles.unwrap_or_default();
        if let Some(bad) = service.profiles.iter().find(|p| !valid_profile_name(p)) {
            return Err(self.err(
                at,
                path("profiles"),
                format!("`{bad}` is not a profile name"),
                Some("profile names match [a-zA-Z0-9][a-zA-Z0-9_.-]+".into()),
            ));
        }
        service.command = s.command.map(command);
        service.entrypoint = s.entrypoint.map(command);
        if let Some(h) = s.healthcheck {
            service.healthcheck = Some(self.healthcheck(name, h)?);
        }
        Ok((service, deps))
    }

    fn healthcheck(
        &self,
        name: &str,
        h: model::RawHealthcheck,
    ) -> Result<Healthcheck, ComposeError> {
        let d = |v: Option<String>, field: &str| -> Result<Option<Duration>, ComposeError> {
            v.map(|t| {
                humantime::parse_duration(&t).map_err(|e| {
                    self.err(
                        self.line_of_service(name),
                        format!("services.{name}.healthcheck.{field}"),
                        format!("`{t}`: {e}"),
                        Some("durations look like 10s, 1m30s".into()),
                    )
                })
            })
            .transpose()
        };
        Ok(Healthcheck {
            test: command(h.test),
            interval: d(h.interval, "interval")?,
            timeout: d(h.timeout, "timeout")?,
            retries: h.retries,
            start_period: d(h.start_period, "start_period")?,
        })
    }

    /// A typo in a dependency is an error whether or not its service is enabled.
    fn check_dependencies_exist(
        &self,
        services: &IndexMap<String, Service>,
        dependencies: &IndexMap<String, Vec<(String, bool)>>,
    ) -> Result<(), ComposeError> {
        let known: Vec<&str> = services.keys().map(String::as_str).collect();
        for (name, deps) in dependencies {
            if let Some((d, _)) = deps.iter().find(|(d, _)| !services.contains_key(d)) {
                return Err(self.err(
                    self.line_of_service(name),
                    format!("services.{name}.depends_on"),
                    format!("unknown service `{d}`"),
                    Some(format!("services: {}", known.join(", "))),
                ));
            }
        }
        Ok(())
    }

    /// Drops the services their profiles disable; a required dependency on one is an error
    /// (compose refuses it too), an optional one is dropped from `depends_on`.
    fn apply_profiles(
        &self,
        services: &mut IndexMap<String, Service>,
        dependencies: &IndexMap<String, Vec<(String, bool)>>,
        active: &[String],
    ) -> Result<(), ComposeError> {
        // Disabled services and their profiles, for the messages.
        let disabled: IndexMap<String, Vec<String>> = services
            .values()
            .filter(|s| !enabled(s, active))
            .map(|s| (s.name.clone(), s.profiles.clone()))
            .collect();
        services.retain(|name, _| !disabled.contains_key(name));
        let enable_hint = |profiles: &[String]| {
            format!(
                "enable a profile: --profile {p} or COMPOSE_PROFILES={p} (profiles: {})",
                profiles.join(", "),
                p = profiles.first().map_or("NAME", String::as_str)
            )
        };
        if services.is_empty() {
            let mut all: Vec<String> = disabled.values().flatten().cloned().collect();
            all.sort();
            all.dedup();
            return Err(self.err(
                None,
                "services".into(),
                format!(
                    "every service is disabled by its profiles (active: {})",
                    if active.is_empty() {
                        "none".to_string()
                    } else {
                        active.join(", ")
                    }
                ),
                Some(enable_hint(&all)),
            ));
        }
        for s in services.values_mut() {
            for (d, required) in &dependencies[&s.name] {
                let Some(their_profiles) = disabled.get(d) else {
                    continue;
                };
                if *required {
                    // Compose refuses this too: a dependency is never enabled implicitly.
                    return Err(self.err(
                        self.line_of_service(&s.name),
                        format!("services.{}.depends_on", s.name),
                        format!(
                            "service `{d}` is required by `{}` but is disabled by its profiles",
                            s.name
                        ),
                        Some(format!(
                            "{}, or mark the dependency `required: false`",
                            enable_hint(their_profiles)
                        )),
                    ));
                }
                // `required: false`: compose starts the service without it.
                s.depends_on.retain(|x| x != d);
            }
        }
        Ok(())
    }

    fn check_container_names(
        &self,
        services: &IndexMap<String, Service>,
    ) -> Result<(), ComposeError> {
        for s in services.values() {
            let Some(c) = &s.container_name else {
                continue;
            };
            let uses = services
                .values()
                .filter(|o| o.container_name.as_ref() == Some(c))
                .count();
            if uses > 1 {
                return Err(self.err(
                    self.line_of_service(&s.name),
                    format!("services.{}.container_name", s.name),
                    format!("container name `{c}` is used twice"),
                    None,
                ));
            }
        }
        Ok(())
    }
}

struct ComposeErrorSource<'a>(serde_path_to_error::Error<serde_yaml_ng::Error>, &'a Path);

impl From<ComposeErrorSource<'_>> for InputError {
    fn from(s: ComposeErrorSource<'_>) -> InputError {
        crate::input::from_serde(s.1, s.0)
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

/// depends_on as (service, required): the list form is always required; the map form may say
/// `required: false` (compose's optional dependency). Err: (service, message).
fn dependencies_of(n: Option<Names>) -> Result<Vec<(String, bool)>, (String, String)> {
    match n {
        None => Ok(vec![]),
        Some(Names::List(l)) => Ok(l.into_iter().map(|d| (d, true)).collect()),
        Some(Names::Map(m)) => m
            .into_iter()
            .map(|(d, v)| match v.get("required") {
                None => Ok((d, true)),
                Some(serde_yaml_ng::Value::Bool(b)) => Ok((d, *b)),
                Some(_) => Err((d, "`required` must be true or false".to_string())),
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

/// Why a `ports` entry is not one this tool maps.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
enum PortError {
    #[error("published port `{published}` is not a port number")]
    Published {
        published: String,
        #[source]
        source: std::num::ParseIntError,
    },
    #[error("`{text}`: port ranges are not supported")]
    Range { text: String },
    #[error("`{text}`: `{part}` is not a port number")]
    NotANumber {
        text: String,
        part: String,
        #[source]
        source: std::num::ParseIntError,
    },
    #[error("`{text}` is not host:container or ip:host:container")]
    Shape { text: String },
}

fn port(p: RawPort) -> Result<PortMapping, PortError> {
    match p {
        RawPort::Long(l) => {
            let host_port = match l.published {
                Some(p) => p.0.parse().map_err(|source| PortError::Published {
                    published: p.0.clone(),
                    source,
                })?,
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
                return Err(PortError::Range { text });
            }
            let parts: Vec<&str> = spec.split(':').collect();
            let num = |s: &str| {
                s.parse::<u16>().map_err(|source| PortError::NotANumber {
                    text: text.clone(),
                    part: s.to_string(),
                    source,
                })
            };
            let (host_ip, host, container) = match parts.as_slice() {
                [c] => (None, num(c)?, num(c)?),
                [h, c] => (None, num(h)?, num(c)?),
                [ip, h, c] => (Some(ip.to_string()), num(h)?, num(c)?),
                _ => return Err(PortError::Shape { text }),
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
        let p = load_with_env(&file, &[], &env).unwrap();
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
        let e = load_with_env(&file, &[], &|_| None)
            .unwrap_err()
            .to_string();
        let env_file = dir.path().join(".env").display().to_string();
        assert!(e.starts_with(&format!("{env_file}:2: ")), "{e}");
        assert!(e.contains("hint: lines are KEY=value"), "{e}");
    }

    /// The compose reference's example: web always; test_lib and coverage_lib with `test`;
    /// debug_lib with `debug`, depending on test_lib.
    const PROFILED: &str = "services:\n  web:\n    image: w\n  test_lib:\n    image: t\n    profiles: [test]\n  coverage_lib:\n    image: c\n    depends_on: [test_lib]\n    profiles: [test]\n  debug_lib:\n    image: d\n    depends_on: [test_lib]\n    profiles: [debug]\n";

    fn started(
        text: &str,
        profiles: &[&str],
        compose_profiles: Option<&str>,
    ) -> Result<Vec<String>, String> {
        let vars = |name: &str| {
            (name == "COMPOSE_PROFILES")
                .then(|| compose_profiles.map(str::to_string))
                .flatten()
        };
        let profiles: Vec<String> = profiles.iter().map(|p| p.to_string()).collect();
        parse_with_profiles(text, Path::new("c.yml"), &vars, &profiles)
            .map(|p| p.services.into_iter().map(|s| s.name).collect())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn a_service_with_profiles_starts_only_when_one_is_active() {
        assert_eq!(started(PROFILED, &[], None).unwrap(), ["web"]);
        assert_eq!(
            started(PROFILED, &["test"], None).unwrap(),
            ["web", "test_lib", "coverage_lib"]
        );
        // COMPOSE_PROFILES, comma-separated, when no profile is given.
        assert_eq!(
            started(PROFILED, &[], Some("test, debug")).unwrap(),
            ["web", "test_lib", "coverage_lib", "debug_lib"]
        );
        // Profiles given replace COMPOSE_PROFILES, as compose's --profile does.
        assert_eq!(
            started(PROFILED, &["test"], Some("nothing")).unwrap(),
            ["web", "test_lib", "coverage_lib"]
        );
        assert_eq!(started(PROFILED, &["*"], None).unwrap().len(), 4);
        assert_eq!(started(PROFILED, &[], Some("*")).unwrap().len(), 4);
        // `load` reads COMPOSE_PROFILES from the environment or `.env`.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.yml");
        std::fs::write(&file, PROFILED).unwrap();
        std::fs::write(dir.path().join(".env"), "COMPOSE_PROFILES=test\n").unwrap();
        assert_eq!(
            load_with_env(&file, &[], &|_| None).unwrap().services.len(),
            3
        );
        let env = |n: &str| (n == "COMPOSE_PROFILES").then(|| "debug,test".to_string());
        assert_eq!(load_with_env(&file, &[], &env).unwrap().services.len(), 4);
    }

    #[test]
    fn a_dependency_disabled_by_profiles_is_an_error_naming_file_and_line() {
        let e = started(PROFILED, &["debug"], None).unwrap_err();
        assert!(
            e.starts_with(
                "c.yml:11: services.debug_lib.depends_on: service `test_lib` is required by `debug_lib` but is disabled by its profiles"
            ),
            "{e}"
        );
        assert!(e.contains("hint: enable a profile: --profile test"), "{e}");
        // Compose's optional dependency: started without it.
        let optional = PROFILED.replace(
            "    depends_on: [test_lib]\n    profiles: [debug]",
            "    depends_on: {test_lib: {condition: service_started, required: false}}\n    profiles: [debug]",
        );
        let p = parse_with_profiles(
            &optional,
            Path::new("c.yml"),
            &|_| None,
            &["debug".to_string()],
        )
        .unwrap();
        assert!(p.service("debug_lib").unwrap().depends_on.is_empty());
        assert!(p.service("test_lib").is_none());
        // A typo in a disabled service's dependency is still an error.
        let typo = PROFILED.replace(
            "depends_on: [test_lib]\n    profiles: [debug]",
            "depends_on: [tset_lib]\n    profiles: [debug]",
        );
        assert!(started(&typo, &[], None)
            .unwrap_err()
            .contains("unknown service `tset_lib`"));
    }

    #[test]
    fn profile_errors() {
        let e = started(
            "services:\n  a:\n    image: x\n    profiles: [dev]\n",
            &[],
            None,
        )
        .unwrap_err();
        assert!(
            e.contains("every service is disabled by its profiles (active: none)"),
            "{e}"
        );
        assert!(e.contains("--profile dev"), "{e}");
        let e = started(
            "services:\n  a:\n    image: x\n    profiles: [\"-x\"]\n",
            &[],
            None,
        )
        .unwrap_err();
        assert!(
            e.starts_with("c.yml:2: services.a.profiles: `-x` is not a profile name"),
            "{e}"
        );
        let e = started("services:\n  a:\n    image: x\n    depends_on: {b: {required: maybe}}\n  b:\n    image: x\n", &[], None).unwrap_err();
        assert!(e.contains("`required` must be true or false"), "{e}");
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
