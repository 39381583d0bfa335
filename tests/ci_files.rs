//! The CI files around the crate: the nightly workflow's history cache and the fuzz script's
//! toolchain step. Pure: the workflow is read as YAML; the script runs against stub `cargo` and
//! `rustup` commands (no fuzzing, no toolchain download).
#![cfg(unix)]

use serde_yaml_ng::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// A cache entry is never overwritten: a key that does not change from run to run restores the
/// first night's history forever and never saves a newer one.
#[test]
fn the_nightly_history_cache_is_saved_under_a_key_per_run() {
    let yaml: Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(repo(".github/workflows/nightly.yml")).unwrap(),
    )
    .unwrap();
    let steps = yaml["jobs"]["chaos"]["steps"].as_sequence().unwrap();
    let history: Vec<&Value> = steps
        .iter()
        .filter(|s| text(s, "uses").starts_with("actions/cache"))
        .filter(|s| text(&s["with"], "path").contains("history.jsonl"))
        .collect();
    assert!(!history.is_empty(), "no cache step holds history.jsonl");
    for step in &history {
        let key = text(&step["with"], "key");
        assert!(
            key.contains("${{ github.run_id }}"),
            "history cached under a key that does not change per run: {key}"
        );
    }
    let restore = history
        .iter()
        .find(|s| text(s, "uses").starts_with("actions/cache/restore"))
        .expect("a restore step for the history");
    let prefix = text(&restore["with"], "restore-keys");
    let key = text(&restore["with"], "key");
    assert!(
        !prefix.is_empty() && key.starts_with(prefix.trim()),
        "restore-keys `{prefix}` must be a prefix of `{key}`"
    );
    // A failing night belongs in the history: saved whatever the suite's outcome.
    let save = history
        .iter()
        .find(|s| text(s, "uses").starts_with("actions/cache/save"))
        .expect("a save step for the history");
    assert!(text(save, "if").contains("always()"));
    assert_eq!(text(&save["with"], "key"), key);
}

/// A copy of scripts/fuzz.sh in a directory of its own, with a PATH holding only the tools it
/// needs, stub `cargo` (nightly present once `$STATE/nightly` exists; fuzz runs succeed at once)
/// and, when `with_rustup`, a stub `rustup` that logs its arguments and installs "nightly".
fn run_fuzz_script(with_rustup: bool) -> (std::process::Output, PathBuf, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("repo");
    let bin = dir.path().join("bin");
    let state = dir.path().join("state");
    for d in [root.join("scripts"), bin.clone(), state.clone()] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::copy(repo("scripts/fuzz.sh"), root.join("scripts/fuzz.sh")).unwrap();
    let script = |name: &str, body: &str| {
        let path = bin.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    script(
        "cargo",
        r#"case "$1 $2" in
  "+nightly --version") [ -f "$STATE/nightly" ] || exit 1; echo "cargo 1.0.0-nightly" ;;
  "+nightly fuzz") echo "Done 1 runs in 1 second(s)" ;;
esac
exit 0
"#,
    );
    if with_rustup {
        script(
            "rustup",
            r#"echo "$@" >> "$STATE/rustup.log"; touch "$STATE/nightly""#,
        );
    }
    // Only these tools: a rustup elsewhere on the machine must not be found.
    for tool in ["sh", "bash", "dirname", "mkdir", "grep", "tail", "touch"] {
        let found = ["/usr/bin", "/bin"]
            .iter()
            .map(|d| Path::new(d).join(tool))
            .find(|p| p.exists())
            .unwrap_or_else(|| panic!("{tool} not found"));
        std::os::unix::fs::symlink(found, bin.join(tool)).unwrap();
    }
    let output = Command::new(bin.join("bash"))
        .arg(root.join("scripts/fuzz.sh"))
        .env_clear()
        .env("PATH", &bin)
        .env("STATE", &state)
        .env("FUZZ_SECONDS", "1")
        .output()
        .unwrap();
    (output, state, dir)
}

#[test]
fn the_fuzz_script_installs_a_missing_nightly_with_rustup() {
    let (out, state, _dir) = run_fuzz_script(true);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(state.join("rustup.log"))
            .unwrap()
            .trim(),
        "toolchain install nightly --profile minimal"
    );
    assert!(stderr.contains("installing it"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("fuzz: no failing input"));
}

#[test]
fn the_fuzz_script_fails_without_nightly_and_without_rustup() {
    let (out, _, _dir) = run_fuzz_script(false);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("rustup is not installed"), "{stderr}");
}
