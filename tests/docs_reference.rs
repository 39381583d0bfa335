//! The reference docs checked against the code, so they cannot drift (issue 24):
//!
//! - `docs/experiments.md` ↔ the experiment schema: the key tables under "Every key" list
//!   exactly the keys of every map of an experiment file, read from the JSON Schema the types
//!   give (`chaos::experiment::json_schema`);
//! - `docs/metrics.md` ↔ the result model: every number and boolean an expectation may name
//!   (`chaos::experiment::paths`) is in a table, and every path in a table exists;
//! - `docs/experiment.schema.json` is the schema the types give (regenerate with
//!   `UPDATE_SCHEMA=1 cargo test --no-default-features --test docs_reference`), it accepts
//!   every shipped experiment (each of which points to it) and rejects the bad-input corpus'
//!   schema errors.
//!
//! Pure core only: runs with and without default features.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The backticked spans of a text.
fn backticked(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// The cells of a Markdown table row (`| a | b |`), or None for other lines and separators.
fn cells(line: &str) -> Option<Vec<&str>> {
    let line = line.trim();
    let inner = line.strip_prefix('|')?.strip_suffix('|')?;
    if inner.trim_start().starts_with("---") {
        return None;
    }
    Some(inner.split('|').map(str::trim).collect())
}

// ---------------------------------------------------------------------------------------
// The JSON Schema, walked.

struct Walk<'a> {
    root: &'a Value,
}

impl<'a> Walk<'a> {
    fn resolve(&self, mut v: &'a Value) -> &'a Value {
        while let Some(r) = v.get("$ref").and_then(Value::as_str) {
            v = self
                .root
                .pointer(
                    r.strip_prefix('#')
                        .unwrap_or_else(|| panic!("unexpected $ref {r}")),
                )
                .unwrap_or_else(|| panic!("no {r} in the schema"));
        }
        v
    }

    /// The schema and its alternatives (anyOf / oneOf / allOf), resolved.
    fn branches(&self, v: &'a Value) -> Vec<&'a Value> {
        let v = self.resolve(v);
        let mut out = vec![v];
        for key in ["anyOf", "oneOf", "allOf"] {
            for b in v.get(key).and_then(Value::as_array).into_iter().flatten() {
                out.extend(self.branches(b));
            }
        }
        out
    }

    /// The maps with named keys a value may be: in its alternatives, or the items of a list.
    fn maps(&self, v: &'a Value) -> Vec<&'a Value> {
        let mut out = Vec::new();
        for b in self.branches(v) {
            if b.get("properties")
                .and_then(Value::as_object)
                .is_some_and(|p| !p.is_empty())
            {
                out.push(b);
            }
            if let Some(items) = b.get("items") {
                out.extend(self.maps(items));
            }
        }
        out
    }

    /// The maps at a documented path such as `steps.fault.target` (lists are stepped into).
    fn maps_at(&self, path: &str) -> Vec<&'a Value> {
        let mut nodes = vec![self.root];
        if !path.is_empty() {
            for key in path.split('.') {
                nodes = nodes
                    .iter()
                    .flat_map(|n| self.maps(n))
                    .filter_map(|m| m["properties"].get(key))
                    .collect();
            }
        }
        nodes.iter().flat_map(|n| self.maps(n)).collect()
    }

    /// Every map with named keys anywhere in the schema.
    fn every_map(&self) -> Vec<&'a Value> {
        let mut seen: BTreeSet<*const Value> = BTreeSet::new();
        let mut out = Vec::new();
        let mut stack = vec![self.root];
        while let Some(v) = stack.pop() {
            let v = self.resolve(v);
            if !seen.insert(v as *const Value) {
                continue;
            }
            if v.get("properties")
                .and_then(Value::as_object)
                .is_some_and(|p| !p.is_empty())
            {
                out.push(v);
            }
            for key in ["anyOf", "oneOf", "allOf", "prefixItems"] {
                stack.extend(v.get(key).and_then(Value::as_array).into_iter().flatten());
            }
            for key in ["items", "additionalProperties"] {
                if let Some(s) = v.get(key).filter(|s| s.is_object()) {
                    stack.push(s);
                }
            }
            stack.extend(
                v.get("properties")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flat_map(|p| p.values()),
            );
        }
        out
    }
}

fn keys_of(maps: &[&Value]) -> BTreeSet<String> {
    maps.iter()
        .flat_map(|m| m["properties"].as_object().unwrap().keys().cloned())
        .collect()
}

// ---------------------------------------------------------------------------------------
// docs/experiments.md ↔ the schema.

/// The key tables of docs/experiments.md's "Every key": heading path (`` (top level), `cluster`,
/// `steps.fault.target`, …) → the keys in the first column of its table.
fn documented_keys() -> BTreeMap<String, BTreeSet<String>> {
    key_tables()
        .into_iter()
        .map(|(path, rows)| (path, rows.into_keys().collect()))
        .collect()
}

/// The key tables: heading path → key → its default column (None: the table has none).
fn key_tables() -> BTreeMap<String, BTreeMap<String, Option<String>>> {
    let doc = read("docs/experiments.md");
    let section = doc
        .split("\n## Every key")
        .nth(1)
        .expect("docs/experiments.md has a section `## Every key`");
    let section = section.split("\n## ").next().unwrap();
    let mut out: BTreeMap<String, BTreeMap<String, Option<String>>> = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut default_column: Option<usize> = None;
    for line in section.lines() {
        if let Some(heading) = line.strip_prefix("### ") {
            let path = if heading.trim() == "Top level" {
                String::new()
            } else {
                backticked(heading)
                    .first()
                    .unwrap_or_else(|| panic!("heading `{heading}` names no key path"))
                    .to_string()
            };
            assert!(
                !out.contains_key(&path),
                "docs/experiments.md: `{path}` has two key tables"
            );
            out.insert(path.clone(), BTreeMap::new());
            current = Some(path);
        } else if let (Some(path), Some(cells)) = (&current, cells(line)) {
            if cells[0] == "key" {
                default_column = cells.iter().position(|c| *c == "default");
                continue;
            }
            let key = backticked(cells[0])
                .first()
                .unwrap_or_else(|| {
                    panic!("docs/experiments.md, `{path}`: row `{line}` names no key")
                })
                .to_string();
            let default = default_column
                .and_then(|i| cells.get(i))
                .map(|c| c.to_string());
            assert!(
                out.get_mut(path)
                    .unwrap()
                    .insert(key.clone(), default)
                    .is_none(),
                "docs/experiments.md, `{path}`: `{key}` twice"
            );
        }
    }
    out
}

#[test]
fn experiments_md_documents_every_key_of_the_schema_and_no_other() {
    let schema = chaos::experiment::json_schema::experiment_schema();
    let walk = Walk { root: &schema };
    let documented = documented_keys();
    let mut problems = Vec::new();
    let mut covered: BTreeSet<*const Value> = BTreeSet::new();
    for (path, keys) in &documented {
        let maps = walk.maps_at(path);
        if maps.is_empty() {
            problems.push(format!(
                "a table for `{path}`, which is not a map of the experiment file"
            ));
            continue;
        }
        covered.extend(maps.iter().map(|m| *m as *const Value));
        let schema_keys = keys_of(&maps);
        let name = if path.is_empty() { "top level" } else { path };
        for k in schema_keys.difference(keys) {
            problems.push(format!("`{name}`: `{k}` is missing from the table"));
        }
        for k in keys.difference(&schema_keys) {
            problems.push(format!(
                "`{name}`: `{k}` is documented but no such key exists"
            ));
        }
    }
    for map in walk.every_map() {
        if !covered.contains(&(map as *const Value)) {
            let keys: Vec<String> = keys_of(&[map]).into_iter().collect();
            problems.push(format!(
                "a map with the keys {} has no key table (a `### `path`` heading and a table)",
                keys.join(", ")
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "docs/experiments.md (\"Every key\") has drifted from src/experiment/schema.rs:\n  {}",
        problems.join("\n  ")
    );
}

/// Whether a documented default (`120s`, `true`, 3, `chaos-tx`) says the schema's.
fn same_default(documented: &str, schema: &Value) -> bool {
    let doc = documented.replace('`', "");
    let doc = doc.trim();
    match schema {
        Value::Bool(b) => doc == b.to_string(),
        Value::Number(n) => doc.replace(',', "").parse::<f64>().ok() == n.as_f64(),
        Value::String(s) => {
            doc == s
                || matches!(
                    (humantime::parse_duration(doc), humantime::parse_duration(s)),
                    (Ok(a), Ok(b)) if a == b
                )
        }
        _ => true,
    }
}

#[test]
fn experiments_md_states_the_schemas_defaults() {
    let schema = chaos::experiment::json_schema::experiment_schema();
    let walk = Walk { root: &schema };
    let mut problems = Vec::new();
    let mut compared = 0;
    for (path, rows) in key_tables() {
        let maps = walk.maps_at(&path);
        for (key, documented) in rows {
            let Some(documented) = documented else {
                continue;
            };
            let defaults: Vec<&Value> = maps
                .iter()
                .filter_map(|m| m["properties"].get(&key))
                .filter_map(|p| p.get("default"))
                .filter(|d| {
                    d.is_boolean() || d.is_number() || d.as_str().is_some_and(|s| !s.is_empty())
                })
                .collect();
            for d in defaults {
                compared += 1;
                if !same_default(&documented, d) {
                    problems.push(format!(
                        "`{path}` `{key}`: the table says {documented}, the schema's default is {d}"
                    ));
                }
            }
        }
    }
    assert!(compared > 30, "only {compared} defaults compared");
    assert!(
        problems.is_empty(),
        "docs/experiments.md's defaults have drifted from src/experiment/schema.rs:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn the_key_tables_are_found() {
    let documented = documented_keys();
    for path in ["", "cluster", "workload", "steps", "steps.fault"] {
        assert!(documented.contains_key(path), "{path}");
    }
    assert!(documented[""].contains("cluster"));
}

// ---------------------------------------------------------------------------------------
// docs/metrics.md ↔ the result model.

/// `a.{b,c}.d` → `a.b.d`, `a.c.d`.
fn expand_braces(path: &str) -> Vec<String> {
    let Some(open) = path.find('{') else {
        return vec![path.to_string()];
    };
    let close = open + path[open..].find('}').expect("a closing brace");
    path[open + 1..close]
        .split(',')
        .flat_map(|alt| {
            expand_braces(&format!(
                "{}{}{}",
                &path[..open],
                alt.trim(),
                &path[close + 1..]
            ))
        })
        .collect()
}

/// Every selector (`[orders/0]`, `[2]`, `[*]`) as `[*]`.
fn wildcard(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('[') {
        out.push_str(&rest[..open]);
        out.push_str("[*]");
        let close = rest[open..].find(']').expect("a closing bracket") + open;
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// The paths in the first column of docs/metrics.md's tables, with the conventions its
/// "Reading the paths" states: `{a,b}` lists keys, a path starting with `.` continues the
/// previous path's parent, any selector stands for `[*]`.
fn documented_paths() -> BTreeMap<String, String> {
    let doc = read("docs/metrics.md");
    let mut out = BTreeMap::new();
    for line in doc.lines() {
        let Some(cells) = cells(line) else { continue };
        if cells[0] == "path" {
            continue;
        }
        let mut parent = String::new();
        for token in backticked(cells[0]) {
            let full = match token.strip_prefix('.') {
                Some(rest) => {
                    assert!(
                        !parent.is_empty(),
                        "docs/metrics.md: `{token}` continues nothing: {line}"
                    );
                    format!("{parent}.{rest}")
                }
                None => token.to_string(),
            };
            for path in expand_braces(&full) {
                let path = wildcard(&path);
                parent = match path.rfind('.') {
                    Some(i) => path[..i].to_string(),
                    None => String::new(),
                };
                out.insert(path, line.to_string());
            }
        }
    }
    out
}

/// Every path of result.json (maps, lists and values), from the fully populated shape the
/// paths module reads.
fn every_result_path() -> BTreeSet<String> {
    fn walk(v: &Value, prefix: &str, out: &mut BTreeSet<String>) {
        if !prefix.is_empty() {
            out.insert(prefix.to_string());
        }
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    let p = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(v, &p, out);
                }
            }
            Value::Array(items) => match items.first() {
                Some(Value::Array(_)) | None => {}
                Some(first) => walk(first, &format!("{prefix}[*]"), out),
            },
            _ => {}
        }
    }
    let shape: Value = serde_json::from_str(&read("src/experiment/result-shape.json")).unwrap();
    let mut out = BTreeSet::new();
    walk(&shape, "", &mut out);
    out
}

#[test]
fn metrics_md_documents_every_expectation_path_and_no_other() {
    let documented = documented_paths();
    let existing = every_result_path();
    let mut problems = Vec::new();
    for p in chaos::experiment::paths::result_paths() {
        // A list of numbers (`log_check.offsets_ms[*]`) is documented by its name.
        let list = p.path.strip_suffix("[*]").unwrap_or(&p.path);
        if !documented.contains_key(&p.path) && !documented.contains_key(list) {
            problems.push(format!("`{}` ({:?}) is in no table", p.path, p.unit));
        }
    }
    for (path, line) in &documented {
        if !existing.contains(path) {
            problems.push(format!(
                "`{path}` is documented but result.json has no such path: {line}"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "docs/metrics.md has drifted from the result model (src/model.rs, src/experiment/result-shape.json):\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn metrics_md_conventions() {
    assert_eq!(expand_braces("a.{b, c}.d"), ["a.b.d", "a.c.d"]);
    assert_eq!(
        wildcard("partitions[orders/0].x[2].y"),
        "partitions[*].x[*].y"
    );
    let documented = documented_paths();
    for p in [
        "failover.metadata_ms.max",
        "partitions[*].recovery_ms",
        "workload.acked",
    ] {
        assert!(documented.contains_key(p), "{p}");
    }
}

// ---------------------------------------------------------------------------------------
// docs/experiment.schema.json.

const SCHEMA_FILE: &str = "docs/experiment.schema.json";

#[test]
fn the_committed_schema_is_the_one_the_types_give() {
    let generated = chaos::experiment::json_schema::experiment_schema_text();
    let path = root().join(SCHEMA_FILE);
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{SCHEMA_FILE} is not the schema src/experiment/schema.rs gives; regenerate it with\n  \
         UPDATE_SCHEMA=1 cargo test --no-default-features --test docs_reference\nand commit it"
    );
}

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&read(SCHEMA_FILE)).unwrap();
    jsonschema::validator_for(&schema).expect("docs/experiment.schema.json is a valid JSON Schema")
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
}

fn shipped_experiments() -> Vec<PathBuf> {
    let mut files = Vec::new();
    yaml_files(&root().join("experiments"), &mut files);
    yaml_files(&root().join("tests/experiments"), &mut files);
    files.sort();
    assert!(files.len() > 30, "{files:?}");
    files
}

fn errors(validator: &jsonschema::Validator, text: &str) -> Vec<String> {
    let instance: Value = match serde_yaml_ng::from_str(text) {
        Ok(v) => v,
        Err(e) => return vec![format!("not YAML: {e}")],
    };
    validator
        .iter_errors(&instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

#[test]
fn the_schema_accepts_every_shipped_experiment_and_each_points_to_it() {
    let validator = validator();
    let mut problems = Vec::new();
    for file in shipped_experiments() {
        let rel = file.strip_prefix(root()).unwrap().display().to_string();
        let text = std::fs::read_to_string(&file).unwrap();
        for e in errors(&validator, &text) {
            problems.push(format!("{rel}: {e}"));
        }
        // The first line tells editors (yaml-language-server) where the schema is.
        let first = text.lines().next().unwrap_or_default();
        match first.strip_prefix("# yaml-language-server: $schema=") {
            Some(target) => {
                let resolved = file.parent().unwrap().join(target);
                if resolved.canonicalize().ok() != root().join(SCHEMA_FILE).canonicalize().ok() {
                    problems.push(format!("{rel}: `$schema={target}` is not {SCHEMA_FILE}"));
                }
            }
            None => problems.push(format!(
                "{rel}: the first line is not `# yaml-language-server: $schema=<relative path to {SCHEMA_FILE}>`"
            )),
        }
        // And `chaos validate` still accepts it (the comment changes nothing): the file, then
        // the file against its compose file.
        match chaos::experiment::load(&file) {
            Err(e) => problems.push(format!("{rel}: chaos does not load it: {e}")),
            Ok(exp) => {
                if let Some(compose) = chaos::experiment::compose_path(&exp, &file) {
                    let checked = chaos::compose::load(&compose)
                        .map_err(|e| e.to_string())
                        .and_then(|c| {
                            chaos::experiment::validate_against_compose(&exp, &file, &c)
                                .map_err(|e| e.to_string())
                        });
                    if let Err(e) = checked {
                        problems.push(format!("{rel}: not valid against its compose file: {e}"));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The bad-input corpus' files whose error is one of the schema's: unknown keys, wrong types,
/// values outside a fixed set or range, missing required keys, malformed durations and
/// references, steps without exactly one action.
const SCHEMA_ERRORS: &[&str] = &[
    "bad-acks.yaml",
    "bad-duration-unit.yaml",
    "bad-duration.yaml",
    "bad-partition-ref.yaml",
    "loss-percent.yaml",
    "group-unknown-field.yaml",
    "missing-cluster.yaml",
    "nested-path-once.yaml",
    "repeat-zero.yaml",
    "no-action.yaml",
    "timeout-without-unit.yaml",
    "transactions-size-zero.yaml",
    "two-actions.yaml",
    "two-independent-errors.yaml",
    "unknown-fault-kind.yaml",
    "unknown-role-key.yaml",
    "unknown-step-key.yaml",
    "unknown-top-key.yaml",
    "wrong-type-partitions.yaml",
];

#[test]
fn the_schema_rejects_the_bad_input_corpus_schema_errors() {
    let validator = validator();
    let dir = root().join("tests/fixtures/bad/experiments");
    let mut problems = Vec::new();
    let mut listed = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let file = entry.unwrap().path();
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let text = std::fs::read_to_string(&file).unwrap();
        let expected = text.lines().next().unwrap_or_default();
        // Every error serde reports about the file's form is one the schema must catch too.
        let serde_form = [
            "unknown field",
            "unknown variant",
            "invalid type",
            "missing field",
        ]
        .iter()
        .any(|m| expected.contains(m));
        let listed_here = SCHEMA_ERRORS.contains(&name.as_str());
        listed += usize::from(listed_here);
        if (serde_form || listed_here) && errors(&validator, &text).is_empty() {
            problems.push(format!("{name} ({expected}) passes the schema"));
        }
    }
    assert_eq!(
        listed,
        SCHEMA_ERRORS.len(),
        "a listed file is missing from {dir:?}"
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_duration_pattern_takes_what_humantime_takes() {
    let validator = validator();
    let step = |wait: &str| {
        format!("name: x\ncluster: {{compose: c.yml}}\nsteps:\n  - wait: \"{wait}\"\n")
    };
    for ok in ["100ms", "5s", "2m", "1h 30m", "0s", "1500 ms", "2min"] {
        assert!(humantime::parse_duration(ok).is_ok(), "{ok}");
        assert!(errors(&validator, &step(ok)).is_empty(), "{ok}");
    }
    for bad in ["5 parsecs", "soon", "60", "s", ""] {
        assert!(humantime::parse_duration(bad).is_err(), "{bad}");
        assert!(!errors(&validator, &step(bad)).is_empty(), "{bad}");
    }
}
