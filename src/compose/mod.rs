//! The part of the Docker Compose format the cluster files use: services, image, environment
//! (map or list), ports, depends_on, hostname / container_name, networks, command, entrypoint,
//! healthcheck, labels, profiles, restart, volumes and tmpfs (with top-level named volumes),
//! env_file, pull_policy, top-level `x-` fields, YAML anchors and merge keys (`<<: *common`)
//! — with compose's interpolation (`${VAR}`, `$VAR`,
//! `${VAR:-default}`, `${VAR-default}`, `${VAR:?err}`, `${VAR?err}`, `${VAR:+alt}`,
//! `${VAR+alt}`, `$$`, nested defaults) from the process environment and a `.env` beside the
//! file. `profiles` follow compose: a service listing some starts only when one is active
//! (`load_with_profiles`, or `COMPOSE_PROFILES`). Any other key is an error naming file, line
//! and key. Pure: no Docker here.

pub mod convention;
pub mod files;
pub mod image_ref;
mod interpolate;
mod model;
mod mounts;
mod order;

pub use interpolate::{
    interpolate, parse_dotenv, DotenvError, InterpolationError, InterpolationErrorKind,
};
pub use model::{
    ComposeProject, Condition, Dependency, Healthcheck, Mount, NamedVolume, PortMapping,
    PullPolicy, Service,
};
pub use mounts::MountError;

use crate::input::{read_text, InputError};
use indexmap::IndexMap;
use model::{Command, KeyValues, Names, RawFile, RawPort};
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct ComposeError(pub Box<InputError>);

const SUPPORTED: &str = "services keys: image, environment, env_file, ports, volumes, tmpfs, depends_on, hostname, \
container_name, command, entrypoint, healthcheck, labels, networks, profiles, restart, pull_policy, x- fields; \
top level: \
version, name, services, networks, volumes, x- fields";

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
    parse_env_text(&text, env_file)
}

/// An env file's variables (`.env`, `env_file:`, `--env-file`), its errors naming it.
pub(crate) fn parse_env_text(
    text: &str,
    file: &Path,
) -> Result<Vec<(String, String)>, ComposeError> {
    parse_dotenv(text).map_err(|e| {
        ComposeError(Box::new(InputError {
            file: file.to_path_buf(),
            line: e.line,
            column: None,
            path: String::new(),
            message: e.message,
            hint: Some(
                "lines are KEY=value; quote a value with spaces: KEY=\"a b\" or KEY='a b'".into(),
            ),
        }))
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

// Long: the file's passes in order: interpolate, parse, each service, dependencies, profiles
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
    let loader = Loader {
        file,
        text: &text,
        dir: file.parent().unwrap_or(Path::new("")),
    };
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
    let raw: RawFile = deserialize(&text).map_err(|e| {
        let mut e = e.into_input_error(file);
        if e.message.contains("unknown field") {
            // The hint lists what is supported, beyond the struct's own field names.
            if let Some(i) = e.message.find(", expected one of") {
                e.message.truncate(i);
            }
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
    let mut dependencies: IndexMap<String, Vec<(Dependency, bool)>> = IndexMap::new();
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
    let volumes = loader.named_volumes(raw.volumes.unwrap_or_default(), vars)?;
    loader.check_volumes_declared(&services, &volumes)?;
    let deps: IndexMap<String, Vec<String>> = services
        .values()
        .map(|s| {
            (
                s.name.clone(),
                s.dependencies().map(str::to_string).collect(),
            )
        })
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
        volumes,
    })
}

/// One compose file being loaded: where its errors point.
struct Loader<'a> {
    file: &'a Path,
    /// The interpolated text (lines of services are found in it).
    text: &'a str,
    /// The compose file's directory: relative paths (bind mounts, env_file) start there.
    dir: &'a Path,
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

    // Long: one conversion per compose key of a service
    /// One service from its raw form, with its dependencies and their `required`.
    fn service(
        &self,
        name: &str,
        s: model::RawService,
        vars: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(Service, Vec<(Dependency, bool)>), ComposeError> {
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
        // env_file first, `environment:` over it (compose's precedence).
        service.environment = self.env_files(name, s.env_file)?;
        service.environment.extend(key_values(s.environment, vars));
        service.labels = key_values(s.labels, vars);
        let resolver = mounts::Resolver {
            dir: self.dir,
            home: vars("HOME"),
        };
        for (i, m) in s.volumes.unwrap_or_default().into_iter().enumerate() {
            service.mounts.push(resolver.mount(m).map_err(|e| {
                self.err(
                    at,
                    format!("services.{name}.volumes[{i}]"),
                    e.to_string(),
                    Some(e.hint().into()),
                )
            })?);
        }
        for (i, t) in s
            .tmpfs
            .map(model::OneOrMany::into_vec)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            service.mounts.push(resolver.tmpfs(t).map_err(|e| {
                self.err(
                    at,
                    format!("services.{name}.tmpfs[{i}]"),
                    e.to_string(),
                    Some(e.hint().into()),
                )
            })?);
        }
        if let Some(policy) = s.pull_policy {
            service.pull_policy = pull_policy(&policy).map_err(|(message, hint)| {
                self.err(at, path("pull_policy"), message, Some(hint))
            })?;
        }
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
        let deps = dependencies_of(s.depends_on).map_err(|(dep, field, m, hint)| {
            self.err(
                at,
                format!("services.{name}.depends_on.{dep}.{field}"),
                m,
                Some(hint.into()),
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

    /// The variables of a service's `env_file:` entries, later files over earlier ones.
    fn env_files(
        &self,
        name: &str,
        files: Option<model::RawEnvFiles>,
    ) -> Result<IndexMap<String, String>, ComposeError> {
        use model::{RawEnvFile, RawEnvFiles};
        let entries: Vec<(String, bool, bool)> = match files {
            None => vec![],
            Some(RawEnvFiles::One(p)) => vec![(p, true, false)],
            Some(RawEnvFiles::List(l)) => l
                .into_iter()
                .map(|e| match e {
                    RawEnvFile::Path(p) => (p, true, false),
                    RawEnvFile::Long(l) => (
                        l.path,
                        l.required.unwrap_or(true),
                        l.format.as_deref() == Some("raw"),
                    ),
                })
                .collect(),
        };
        let mut vars = IndexMap::new();
        for (i, (path, required, raw)) in entries.into_iter().enumerate() {
            let at = self.dir.join(&path);
            let field = format!("services.{name}.env_file[{i}]");
            let text = match std::fs::metadata(&at) {
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => continue,
                Err(e) => {
                    return Err(self.err(
                        self.line_of_service(name),
                        field,
                        format!("env file {}: {e}", at.display()),
                        Some(format!(
                            "paths are relative to the compose file's directory ({}); \
                             `{{path: {path}, required: false}}` makes it optional",
                            self.dir.display()
                        )),
                    ))
                }
                Ok(_) => read_text(&at, "env file").map_err(|e| ComposeError(Box::new(e)))?,
            };
            if raw {
                // `format: raw`: KEY=value lines taken as they are.
                for line in text
                    .lines()
                    .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
                {
                    if let Some((k, v)) = line.split_once('=') {
                        vars.insert(k.trim().to_string(), v.to_string());
                    }
                }
                continue;
            }
            vars.extend(parse_env_text(&text, &at)?);
        }
        Ok(vars)
    }

    /// The top-level `volumes:`.
    fn named_volumes(
        &self,
        raw: IndexMap<String, Option<model::RawNamedVolume>>,
        vars: &dyn Fn(&str) -> Option<String>,
    ) -> Result<IndexMap<String, NamedVolume>, ComposeError> {
        let mut volumes = IndexMap::new();
        for (key, v) in raw {
            let v = v.unwrap_or_default();
            volumes.insert(
                key,
                NamedVolume {
                    external: v.external.unwrap_or(false),
                    name: v.name,
                    driver: v.driver,
                    driver_opts: v
                        .driver_opts
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(k, v)| (k, v.0))
                        .collect(),
                    labels: key_values(v.labels, vars),
                },
            );
        }
        Ok(volumes)
    }

    /// Compose refuses a named volume that the top level does not declare; so does this.
    fn check_volumes_declared(
        &self,
        services: &IndexMap<String, Service>,
        volumes: &IndexMap<String, NamedVolume>,
    ) -> Result<(), ComposeError> {
        for s in services.values() {
            for (i, m) in s.mounts.iter().enumerate() {
                if let Mount::Volume {
                    source: Some(source),
                    ..
                } = m
                {
                    if !volumes.contains_key(source) {
                        let declared: Vec<&str> = volumes.keys().map(String::as_str).collect();
                        return Err(self.err(
                            self.line_of_service(&s.name),
                            format!("services.{}.volumes[{i}]", s.name),
                            format!("volume `{source}` is not declared under the top-level volumes:"),
                            Some(if declared.is_empty() {
                                format!("add it: volumes: {{{source}: {{}}}} at the top level, or write a host path as ./{source}")
                            } else {
                                format!("declared: {}; or write a host path as ./{source}", declared.join(", "))
                            }),
                        ));
                    }
                }
            }
        }
        Ok(())
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
        dependencies: &IndexMap<String, Vec<(Dependency, bool)>>,
    ) -> Result<(), ComposeError> {
        let known: Vec<&str> = services.keys().map(String::as_str).collect();
        for (name, deps) in dependencies {
            if let Some((d, _)) = deps
                .iter()
                .find(|(d, _)| !services.contains_key(&d.service))
            {
                let d = &d.service;
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
        dependencies: &IndexMap<String, Vec<(Dependency, bool)>>,
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
            for (dependency, required) in &dependencies[&s.name] {
                let d = &dependency.service;
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
                s.depends_on.retain(|x| &x.service != d);
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

/// A YAML or type error of the raw file: where, and the field path.
struct RawError {
    path: String,
    // Boxed: the library's error is large and this one travels in a `Result`.
    error: Box<serde_saphyr::Error>,
}

/// The raw file through serde-saphyr: anchors, aliases and merge keys resolved, positions
/// kept (for a key merged in from an anchor, the line where it is written).
fn deserialize(text: &str) -> Result<RawFile, RawError> {
    let mut path = String::new();
    // YAML 1.2's core schema, as compose reads files: `N`, `yes`, `on` are strings and
    // `0755` keeps its zero.
    let options = serde_saphyr::options! {
        with_snippet: false,
        strict_booleans: true,
        leading_zero_numbers_as_strings: true,
        underscored_numbers_as_strings: true,
    };
    serde_saphyr::with_deserializer_from_str_with_options(text, options, |de| {
        serde_path_to_error::deserialize(de).map_err(|e| {
            path = e.path().to_string();
            e.into_inner()
        })
    })
    .map_err(|error| RawError {
        path,
        error: Box::new(error),
    })
}

impl RawError {
    fn into_input_error(self, file: &Path) -> InputError {
        let location = self.error.location();
        let mut message = self.error.to_string();
        // The position is printed in front; drop the library's own " at line X, column Y".
        if let Some(i) = message.rfind(" at line ") {
            message.truncate(i);
        }
        let hint = crate::input::hint_for(&message);
        InputError {
            file: file.to_path_buf(),
            line: location.map(|l| l.line() as usize),
            column: location.map(|l| l.column() as usize),
            path: self.path,
            message,
            hint,
        }
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
/// depends_on as (dependency, required): the list form is always required and waits for the
/// start; the map form may give `condition` and say `required: false` (compose's optional
/// dependency). Err: (service, field, message, hint).
#[allow(clippy::type_complexity)]
fn dependencies_of(
    n: Option<Names>,
) -> Result<Vec<(Dependency, bool)>, (String, &'static str, String, &'static str)> {
    use serde_yaml_ng::Value;
    let started = |service: String| Dependency {
        service,
        condition: Condition::ServiceStarted,
    };
    match n {
        None => Ok(vec![]),
        Some(Names::List(l)) => Ok(l.into_iter().map(|d| (started(d), true)).collect()),
        Some(Names::Map(m)) => m
            .into_iter()
            .map(|(d, v)| {
                if let Some(other) = v.as_mapping().and_then(|m| {
                    m.keys()
                        .find(|k| !matches!(k.as_str(), Some("condition" | "required" | "restart")))
                }) {
                    let key = other.as_str().unwrap_or("?").to_string();
                    return Err((
                        d,
                        "",
                        format!("unknown field `{key}`"),
                        "a dependency has condition, required and restart",
                    ));
                }
                let required = match v.get("required") {
                    None => true,
                    Some(Value::Bool(b)) => *b,
                    Some(_) => {
                        return Err((
                            d,
                            "required",
                            "`required` must be true or false".to_string(),
                            "required: true or required: false",
                        ))
                    }
                };
                let condition = match v.get("condition") {
                    None => Condition::ServiceStarted,
                    Some(c) => serde_yaml_ng::from_value::<Condition>(c.clone()).map_err(|_| {
                        (
                            d.clone(),
                            "condition",
                            format!(
                                "`{}` is not a dependency condition",
                                c.as_str().unwrap_or("?")
                            ),
                            "service_started, service_healthy or service_completed_successfully",
                        )
                    })?,
                };
                Ok((
                    Dependency {
                        service: d,
                        condition,
                    },
                    required,
                ))
            })
            .collect(),
    }
}

/// Compose's `pull_policy`; Err: (message, hint).
fn pull_policy(text: &str) -> Result<PullPolicy, (String, String)> {
    match text {
        "missing" | "if_not_present" => Ok(PullPolicy::Missing),
        "always" => Ok(PullPolicy::Always),
        "never" => Ok(PullPolicy::Never),
        "build" => Err((
            "pull_policy: build: chaos does not build images".into(),
            "build it first (docker build -t <image> <dir>), then use pull_policy: never".into(),
        )),
        other => Err((
            format!("pull_policy `{other}` is not supported"),
            "missing (the default), always or never".into(),
        )),
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
        assert_eq!(a.dependencies().collect::<Vec<_>>(), ["b"]);
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

    /// The way users write Kafka compose files: shared settings in an `x-` field, merged
    /// in with `<<: *anchor`; named volumes for data; an env file; a one-off set-up service.
    const AS_USERS_WRITE_IT: &str = "x-kafka-common: &kafka-common
  image: chaos/kafka:3.9.1
  env_file: [kafka.env]
  environment: &kafka-env
    KAFKA_PROCESS_ROLES: broker,controller
    KAFKA_LOG_DIRS: /var/lib/kafka/data
  healthcheck:
    test: [CMD-SHELL, \"nc -z localhost 9092\"]
    interval: 2s
  depends_on:
    init:
      condition: service_completed_successfully
services:
  init:
    image: chaos/kafka:3.9.1
    command: [\"true\"]
  kafka-1:
    <<: *kafka-common
    environment:
      <<: *kafka-env
      KAFKA_NODE_ID: 1
    volumes:
      - kafka-1-data:/var/lib/kafka/data
      - ./config:/etc/kafka/extra:ro
    tmpfs: /tmp:size=64m
    pull_policy: never
volumes:
  kafka-1-data:
  shared: {external: true, name: team-shared}
";

    #[test]
    fn anchors_merge_keys_x_fields_volumes_and_env_files_load() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("compose.yml");
        std::fs::write(&file, AS_USERS_WRITE_IT).unwrap();
        std::fs::write(
            dir.path().join("kafka.env"),
            "KAFKA_NODE_ID=9\nFROM_FILE=yes\n",
        )
        .unwrap();
        let p = load_with_env(&file, &[], &|_| None).unwrap();
        assert_eq!(p.services[0].name, "init");
        let k = p.service("kafka-1").unwrap();
        assert_eq!(k.image, "chaos/kafka:3.9.1");
        // `environment:` over env_file; the merged map under the service's own keys.
        assert_eq!(k.environment["KAFKA_NODE_ID"], "1");
        assert_eq!(k.environment["FROM_FILE"], "yes");
        assert_eq!(k.environment["KAFKA_PROCESS_ROLES"], "broker,controller");
        assert_eq!(
            k.depends_on,
            [Dependency {
                service: "init".into(),
                condition: Condition::ServiceCompletedSuccessfully
            }]
        );
        assert_eq!(
            k.healthcheck.as_ref().unwrap().interval,
            Some(Duration::from_secs(2))
        );
        assert_eq!(k.pull_policy, PullPolicy::Never);
        assert_eq!(
            k.mounts,
            [
                Mount::Volume {
                    source: Some("kafka-1-data".into()),
                    target: "/var/lib/kafka/data".into(),
                    read_only: false,
                    nocopy: false
                },
                Mount::Bind {
                    source: dir.path().join("config"),
                    target: "/etc/kafka/extra".into(),
                    read_only: true,
                    options: vec![]
                },
                Mount::Tmpfs {
                    target: "/tmp".into(),
                    options: "size=67108864".into()
                },
            ]
        );
        assert!(p.volumes["shared"].external);
        assert_eq!(p.volumes["shared"].name.as_deref(), Some("team-shared"));
        assert_eq!(p.volumes["kafka-1-data"], NamedVolume::default());
    }

    #[test]
    fn an_env_file_in_raw_format_keeps_its_values_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("compose.yml");
        std::fs::write(
            &file,
            "services:\n  kafka-1:\n    image: chaos/kafka:3.9.1\n    env_file:\n      - {path: raw.env, format: raw}\n      - {path: plain.env}\n",
        )
        .unwrap();
        let text = "# a comment\nRAW_QUOTED=\"a b\"\nRAW_DOLLAR=${HOME}\n\nRAW_SPACES= kept \n";
        std::fs::write(dir.path().join("raw.env"), text).unwrap();
        std::fs::write(dir.path().join("plain.env"), text.replace("RAW_", "PLAIN_")).unwrap();
        let p = load_with_env(&file, &[], &|_| None).unwrap();
        let env = &p.service("kafka-1").unwrap().environment;
        // Raw: quotes, `$` and spaces after `=` as written; comments and blank lines skipped.
        assert_eq!(env["RAW_QUOTED"], "\"a b\"");
        assert_eq!(env["RAW_DOLLAR"], "${HOME}");
        assert_eq!(env["RAW_SPACES"], " kept ");
        assert!(!env.keys().any(|k| k.starts_with('#')));
        // The default format unquotes the same line.
        assert_eq!(env["PLAIN_QUOTED"], "a b");
    }

    #[test]
    fn mistakes_in_the_new_keys_name_file_line_and_a_hint() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("compose.yml");
        let load_text = |text: &str| {
            std::fs::write(&file, text).unwrap();
            load_with_env(&file, &[], &|_| None)
                .unwrap_err()
                .to_string()
        };
        // The env file is missing: named with its resolved path; required: false skips it.
        let e = load_text(AS_USERS_WRITE_IT);
        assert!(
            e.contains("services.kafka-1.env_file[0]: env file") && e.contains("kafka.env"),
            "{e}"
        );
        assert!(e.contains("required: false"), "{e}");
        let optional = AS_USERS_WRITE_IT.replace(
            "env_file: [kafka.env]",
            "env_file: [{path: kafka.env, required: false}]",
        );
        std::fs::write(&file, &optional).unwrap();
        assert!(load_with_env(&file, &[], &|_| None).is_ok());
        // An undeclared volume, a relative target, a bad mode, an unknown top-level key.
        let e = load_text("services:\n  a:\n    image: x\n    volumes: [data:/d]\n");
        assert!(
            e.starts_with(&format!(
                "{}:2: services.a.volumes[0]: volume `data` is not declared",
                file.display()
            )),
            "{e}"
        );
        assert!(e.contains("hint: add it: volumes: {data: {}}"), "{e}");
        let e = load_text("services:\n  a:\n    image: x\n    volumes: [\"./d:d\"]\n");
        assert!(e.contains("target `d` is not an absolute path"), "{e}");
        let e = load_text("services:\n  a:\n    image: x\n    volumes: [\"./d:/d:rx\"]\n");
        assert!(e.contains("`rx` is not a mount mode"), "{e}");
        let e = load_text("services:\n  a:\n    image: x\nconfigs: {}\n");
        assert!(
            e.starts_with(&format!("{}:4:1: unknown field `configs`", file.display())),
            "{e}"
        );
        // A key merged in from an anchor is reported where it is written.
        let e = load_text(
            "x-common: &c\n  image: x\n  privileged: true\nservices:\n  a:\n    <<: *c\n",
        );
        assert!(
            e.starts_with(&format!(
                "{}:3:3: services.a: unknown field `privileged`",
                file.display()
            )),
            "{e}"
        );
        // Conditions and pull policies compose does not have, or this tool does not do.
        let e = load_text("services:\n  a:\n    image: x\n    depends_on: {b: {condition: healthy}}\n  b:\n    image: x\n");
        assert!(
            e.contains(
                "services.a.depends_on.b.condition: `healthy` is not a dependency condition"
            ),
            "{e}"
        );
        assert!(e.contains("service_healthy"), "{e}");
        let e = load_text("services:\n  a:\n    image: x\n    pull_policy: build\n");
        assert!(
            e.contains("chaos does not build images") && e.contains("docker build"),
            "{e}"
        );
        // A service's own `x-` fields are skipped, as compose skips them.
        let p = parse_str("services:\n  a:\n    image: x\n    x-team: {owner: kafka}\n").unwrap();
        assert_eq!(p.services[0].image, "x");
        // YAML 1.2 as compose reads it: `N`, `no` and `0755` stay strings.
        let p = parse_str("services:\n  a:\n    image: x\n    environment: {N: no, MODE: 0755}\n")
            .unwrap();
        assert_eq!(p.services[0].environment["N"], "no");
        assert_eq!(p.services[0].environment["MODE"], "0755");
    }
}
