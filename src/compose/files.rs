//! Compose-like flags: several `-f` files merged as `docker compose` merges them, `--env-file`
//! instead of the `.env` beside the first file, `-p` for the project (cluster) name.
//!
//! Merge rules (those of `docker compose` for the keys the loader supports): services are
//! merged by name, key by key; `environment` and `labels` by variable / label name (list and
//! map forms alike); `ports`, `depends_on`, `networks`, `profiles`, `env_file` and `tmpfs`
//! lists are appended (without repeats); `volumes` by target path (a later file's mount
//! replaces the one at the same path); anchors' merge keys within each file first; `command`, `entrypoint` and `healthcheck.test` are replaced; other
//! maps are merged recursively and other values replaced by the later file.

use crate::compose::{self, ComposeError, ComposeProject};
use crate::input::{read_text, InputError};
use serde_yaml_ng::{Mapping, Value};
use std::path::{Path, PathBuf};

/// Variables for interpolation: the process environment first, then the env files (later
/// files win), as compose does.
pub fn variables(
    env_files: &[(PathBuf, String)],
) -> Result<impl Fn(&str) -> Option<String>, ComposeError> {
    let mut parsed: Vec<(String, String)> = Vec::new();
    for (file, text) in env_files.iter().rev() {
        parsed.extend(compose::parse_env_text(text, file)?);
    }
    Ok(move |name: &str| {
        std::env::var(name).ok().or_else(|| {
            parsed
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    })
}

fn input_error(
    file: &Path,
    line: Option<usize>,
    message: String,
    hint: Option<&str>,
) -> ComposeError {
    ComposeError(Box::new(InputError {
        file: file.to_path_buf(),
        line,
        column: None,
        path: String::new(),
        message,
        hint: hint.map(str::to_string),
    }))
}

/// Loads one or several compose files with the given env files (default: the `.env` beside
/// the first file, if any) and an optional project name.
pub fn load(
    files: &[PathBuf],
    env_files: &[PathBuf],
    project_name: Option<&str>,
    profiles: &[String],
) -> Result<ComposeProject, ComposeError> {
    let first = files
        .first()
        .ok_or_else(|| input_error(Path::new("-f"), None, "no compose file given".into(), None))?;
    let env_texts: Vec<(PathBuf, String)> = if env_files.is_empty() {
        let beside = first.parent().unwrap_or(Path::new(".")).join(".env");
        std::fs::read_to_string(&beside)
            .ok()
            .map(|t| vec![(beside, t)])
            .unwrap_or_default()
    } else {
        env_files
            .iter()
            .map(|f| {
                read_text(f, "env file")
                    .map(|t| (f.clone(), t))
                    .map_err(|e| ComposeError(Box::new(e)))
            })
            .collect::<Result<_, _>>()?
    };
    let vars = variables(&env_texts)?;
    let mut project = if files.len() == 1 {
        let text = read_text(first, "compose file").map_err(|e| ComposeError(Box::new(e)))?;
        compose::parse_with_profiles(&text, first, &vars, profiles)?
    } else {
        let merged = merge_files(files, &vars)?;
        // Already interpolated: only COMPOSE_PROFILES is still asked for.
        // HOME too: `~` in a bind mount's source.
        let profiles_var = |name: &str| {
            matches!(name, "COMPOSE_PROFILES" | "HOME")
                .then(|| vars(name))
                .flatten()
        };
        compose::parse_with_profiles(&merged, first, &profiles_var, profiles).map_err(|e| {
            // Lines of the merged text mean nothing to the user: name the files instead.
            let mut inner = *e.0;
            inner.file = PathBuf::from(
                files
                    .iter()
                    .map(|f| f.display().to_string())
                    .collect::<Vec<_>>()
                    .join(" + "),
            );
            inner.line = None;
            inner.column = None;
            ComposeError(Box::new(inner))
        })?
    };
    if let Some(name) = project_name {
        if name.trim().is_empty() {
            return Err(input_error(
                first,
                None,
                "the project name (-p) is empty".into(),
                Some("e.g. -p seed"),
            ));
        }
        project.name = Some(name.to_string());
    }
    Ok(project)
}

/// Interpolates each file (errors keep its own lines), merges them and returns the merged
/// text, with every `$` escaped so that it is not interpolated twice.
fn merge_files(
    files: &[PathBuf],
    vars: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ComposeError> {
    let mut merged = Value::Mapping(Mapping::new());
    for file in files {
        let text = read_text(file, "compose file").map_err(|e| ComposeError(Box::new(e)))?;
        let text = compose::interpolate(&text, vars).map_err(|e| {
            let hint = e.kind.hint();
            input_error(file, Some(e.line), e.kind.to_string(), Some(hint.as_str()))
        })?;
        let mut value: Value = serde_yaml_ng::from_str(&text).map_err(|e| {
            let mut message = e.to_string();
            if let Some(i) = message.find(" at line ") {
                message.truncate(i);
            }
            input_error(file, e.location().map(|l| l.line()), message, None)
        })?;
        // `<<: *anchor` merged in each file before the files are merged with each other.
        value
            .apply_merge()
            .map_err(|e| input_error(file, None, e.to_string(), None))?;
        match value {
            Value::Mapping(_) => merge_top(&mut merged, value),
            Value::Null => {}
            _ => {
                return Err(input_error(
                    file,
                    None,
                    "a compose file is a map (services:, …)".into(),
                    None,
                ))
            }
        }
    }
    escape_dollars(&mut merged);
    serde_yaml_ng::to_string(&merged)
        .map_err(|e| input_error(&files[0], None, format!("merging compose files: {e}"), None))
}

fn key(k: &str) -> Value {
    Value::String(k.to_string())
}

fn merge_top(base: &mut Value, over: Value) {
    let (Value::Mapping(b), Value::Mapping(o)) = (base, over) else {
        return;
    };
    for (k, v) in o {
        if k == key("services") {
            let services = b.entry(k).or_insert_with(|| Value::Mapping(Mapping::new()));
            match (services, v) {
                (Value::Mapping(bs), Value::Mapping(os)) => {
                    for (name, service) in os {
                        match bs.get_mut(&name) {
                            Some(existing) => merge_service(existing, service),
                            None => {
                                bs.insert(name, service);
                            }
                        }
                    }
                }
                (slot, v) => *slot = v,
            }
        } else {
            match b.get_mut(&k) {
                Some(existing) => merge_deep(existing, v),
                None => {
                    b.insert(k, v);
                }
            }
        }
    }
}

fn merge_service(base: &mut Value, over: Value) {
    if !(base.is_mapping() && over.is_mapping()) {
        *base = over;
        return;
    }
    let (Value::Mapping(b), Value::Mapping(o)) = (base, over) else {
        return;
    };
    for (k, v) in o {
        let name = k.as_str().unwrap_or_default().to_string();
        let Some(existing) = b.get_mut(&k) else {
            b.insert(k, v);
            continue;
        };
        match name.as_str() {
            "environment" | "labels" => {
                let mut merged = key_values(existing);
                for (vk, vv) in key_values(&v) {
                    merged.insert(vk, vv);
                }
                *existing = Value::Mapping(merged);
            }
            "ports" | "depends_on" | "networks" | "profiles" | "env_file" | "tmpfs" => {
                append_unique(existing, v)
            }
            // Compose merges mounts by their target: a later file's mount replaces one at
            // the same path.
            "volumes" => merge_mounts(existing, v),
            "command" | "entrypoint" => *existing = v,
            "healthcheck" => merge_deep(existing, v),
            _ => merge_deep(existing, v),
        }
    }
}

fn merge_mounts(base: &mut Value, over: Value) {
    fn target(m: &Value) -> Option<String> {
        match m {
            Value::String(s) => s.split(':').nth(1).or(Some(s.as_str())).map(str::to_string),
            Value::Mapping(_) => m.get("target").and_then(Value::as_str).map(str::to_string),
            _ => None,
        }
    }
    let (Value::Sequence(b), Value::Sequence(o)) = (&mut *base, &over) else {
        *base = over;
        return;
    };
    for m in o {
        match b
            .iter_mut()
            .find(|x| target(x).is_some() && target(x) == target(m))
        {
            Some(slot) => *slot = m.clone(),
            None => b.push(m.clone()),
        }
    }
}

/// `environment` / `labels` as a map, from either form (`- K=V` or `- K`).
fn key_values(v: &Value) -> Mapping {
    match v {
        Value::Mapping(m) => m.clone(),
        Value::Sequence(items) => items
            .iter()
            .filter_map(|i| i.as_str())
            .map(|i| match i.split_once('=') {
                Some((k, v)) => (key(k), Value::String(v.to_string())),
                None => (key(i), Value::Null),
            })
            .collect(),
        _ => Mapping::new(),
    }
}

fn append_unique(base: &mut Value, over: Value) {
    match (&mut *base, over) {
        (Value::Sequence(b), Value::Sequence(o)) => {
            for item in o {
                if !b.contains(&item) {
                    b.push(item);
                }
            }
        }
        (Value::Mapping(_), over @ Value::Mapping(_)) => merge_deep(base, over),
        (_, over) => *base = over,
    }
}

/// Maps merge key by key (recursively); anything else is replaced.
fn merge_deep(base: &mut Value, over: Value) {
    match (&mut *base, over) {
        (Value::Mapping(b), Value::Mapping(o)) => {
            for (k, v) in o {
                match b.get_mut(&k) {
                    Some(existing) => merge_deep(existing, v),
                    None => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (_, over) => *base = over,
    }
}

fn escape_dollars(v: &mut Value) {
    match v {
        Value::String(s) if s.contains('$') => *s = s.replace('$', "$$"),
        Value::Sequence(items) => items.iter_mut().for_each(escape_dollars),
        Value::Mapping(m) => m.iter_mut().for_each(|(_, v)| escape_dollars(v)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write");
        p
    }

    const BASE: &str = "services:
  zookeeper-1:
    image: ${ZK_IMAGE:-chaos/kafka:3.9.1}
    environment:
      ZOOKEEPER_CLIENT_PORT: 2181
  kafka-1:
    image: chaos/kafka:3.9.1
    depends_on: [zookeeper-1]
    environment:
      - KAFKA_BROKER_ID=1
      - KAFKA_ZOOKEEPER_CONNECT=zookeeper-1:2181
      - KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://kafka-1:9092,PLAINTEXT_HOST://localhost:29092
    ports: [\"127.0.0.1:29092:29092\"]
    command: [\"a\"]
";

    const OVERRIDE: &str = "services:
  kafka-1:
    image: ${KAFKA_IMAGE}
    environment:
      KAFKA_ZOOKEEPER_SESSION_TIMEOUT_MS: \"6000\"
      KAFKA_BROKER_ID: \"1\"
      LITERAL: \"cost$$5\"
    ports: [\"127.0.0.1:29093:29093\", \"127.0.0.1:29092:29092\"]
    command: [\"b\"]
  tools:
    image: busybox
";

    #[test]
    fn several_files_merge_as_compose_merges_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = write(dir.path(), "base.yml", BASE);
        let over = write(dir.path(), "override.yml", OVERRIDE);
        let env = write(
            dir.path(),
            "my.env",
            "KAFKA_IMAGE=confluentinc/cp-kafka:7.9.1\nZK_IMAGE=zk:1\n",
        );
        let p = load(&[base, over], &[env], Some("mine"), &[]).expect("merged");
        assert_eq!(p.name.as_deref(), Some("mine"));
        let names: Vec<&str> = p.services.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["zookeeper-1", "kafka-1", "tools"]);
        let k = p.service("kafka-1").expect("kafka-1");
        assert_eq!(k.image, "confluentinc/cp-kafka:7.9.1");
        assert_eq!(
            p.service("zookeeper-1").map(|s| s.image.as_str()),
            Some("zk:1")
        );
        assert_eq!(k.environment["KAFKA_ZOOKEEPER_CONNECT"], "zookeeper-1:2181");
        assert_eq!(k.environment["KAFKA_ZOOKEEPER_SESSION_TIMEOUT_MS"], "6000");
        assert_eq!(k.environment["LITERAL"], "cost$5", "interpolated once");
        assert_eq!(k.ports.len(), 2, "{:?}", k.ports);
        assert_eq!(k.command.as_deref(), Some(&["b".to_string()][..]));
        assert_eq!(k.dependencies().collect::<Vec<_>>(), ["zookeeper-1"]);
    }

    #[test]
    fn an_env_file_replaces_the_dot_env_and_the_process_environment_wins() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), ".env", "ZK_IMAGE=from-dot-env\n");
        let base = write(dir.path(), "base.yml", BASE);
        let p = load(std::slice::from_ref(&base), &[], None, &[]).expect("loaded");
        assert_eq!(
            p.service("zookeeper-1").map(|s| s.image.as_str()),
            Some("from-dot-env")
        );
        let env = write(dir.path(), "other.env", "ZK_IMAGE=from-env-file\n");
        let p = load(std::slice::from_ref(&base), &[env], None, &[]).expect("loaded");
        assert_eq!(
            p.service("zookeeper-1").map(|s| s.image.as_str()),
            Some("from-env-file")
        );
        let e = load(&[base], &[dir.path().join("missing.env")], None, &[]).unwrap_err();
        assert!(e.to_string().contains("missing.env"), "{e}");
    }

    #[test]
    fn errors_name_the_file_and_line_before_merging_and_the_files_after() {
        let dir = tempfile::tempdir().expect("tempdir");
        let base = write(dir.path(), "base.yml", BASE);
        let bad = write(
            dir.path(),
            "bad.yml",
            "services:\n  kafka-1:\n    image: ${NOPE:?set NOPE}\n",
        );
        let e = load(&[base.clone(), bad], &[], None, &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad.yml:3") && e.contains("NOPE"), "{e}");
        let unknown = write(
            dir.path(),
            "unknown.yml",
            "services:\n  kafka-1:\n    privileged: true\n",
        );
        let e = load(&[base, unknown], &[], None, &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("base.yml + ") && e.contains("unknown.yml") && e.contains("privileged"),
            "{e}"
        );
    }
}
