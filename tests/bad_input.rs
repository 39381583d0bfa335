//! The malformed-input corpus: every file must give a clear error (exit 2 from the CLI), with
//! file:line where the line is knowable and the expected words, and never a panic.

use std::path::{Path, PathBuf};

fn fixtures(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/bad")
            .join(dir),
    )
    .unwrap()
    .map(|e| e.unwrap().path())
    .collect();
    files.sort();
    files
}

fn expected(path: &Path) -> String {
    let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).to_string();
    text.lines()
        .next()
        .and_then(|l| l.strip_prefix("# expect: "))
        .unwrap_or_else(|| panic!("{} lacks its # expect: line", path.display()))
        // `\n` in the expect line stands for a line break (an error and its hint).
        .replace("\\n", "\n")
}

fn experiment_error(path: &Path) -> String {
    let result = std::panic::catch_unwind(|| {
        let exp = chaos::experiment::load(path).map_err(|e| e.to_string())?;
        let Some(file) = chaos::experiment::compose_path(&exp, path) else {
            return Ok(()); // attached: checked against the running project
        };
        let compose = chaos::compose::load(&file).map_err(|e| e.to_string())?;
        chaos::experiment::validate_against_compose(&exp, path, &compose).map_err(|e| e.to_string())
    });
    match result {
        Ok(Ok(())) => panic!("{} was accepted", path.display()),
        Ok(Err(e)) => e,
        Err(_) => panic!("{} made the loader panic", path.display()),
    }
}

fn compose_error(path: &Path) -> String {
    match std::panic::catch_unwind(|| chaos::compose::load(path)) {
        Ok(Ok(_)) => panic!("{} was accepted", path.display()),
        Ok(Err(e)) => e.to_string(),
        Err(_) => panic!("{} made the loader panic", path.display()),
    }
}

fn has_line(message: &str, path: &Path) -> bool {
    let name = path.display().to_string();
    message.starts_with(&format!("{name}:"))
        && message[name.len() + 1..]
            .split(':')
            .next()
            .is_some_and(|l| l.parse::<usize>().is_ok())
}

/// Errors about the whole file have no line.
const WHOLE_FILE: &[&str] = &[
    "empty",
    "missing-cluster",
    "no-services",
    "workload-no-topic",
];

#[test]
fn every_malformed_experiment_is_refused_with_position_and_reason() {
    let files = fixtures("experiments");
    assert!(
        files.len() >= 30,
        "the corpus has {} experiment files",
        files.len()
    );
    for path in files {
        let message = experiment_error(&path);
        assert!(
            message.contains(&expected(&path)),
            "{}: expected `{}` in:\n{message}",
            path.display(),
            expected(&path)
        );
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        if !WHOLE_FILE.contains(&stem.as_str()) {
            assert!(
                has_line(&message, &path),
                "{}: no line in:\n{message}",
                path.display()
            );
        }
    }
}

/// `validate` reports every error of a file, each with its line, not the first alone.
#[test]
fn independent_errors_of_one_file_are_all_reported() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bad/experiments/two-independent-errors.yaml");
    let errors: Vec<String> = chaos::experiment::load_all(&path)
        .expect_err("refused")
        .iter()
        .map(|e| e.to_string())
        .collect();
    let name = path.display().to_string();
    let want = [
        format!("{name}:11:14: steps[1].timeout: invalid value"),
        format!("{name}:13: steps[2].fault.target: unknown field `leader-off`"),
        format!("{name}:14: expect[1]: `failover.max < 10s`"),
    ];
    assert_eq!(errors.len(), want.len(), "{errors:#?}");
    for (got, want) in errors.iter().zip(&want) {
        assert!(
            got.starts_with(want.as_str()),
            "{got}\n  does not start with\n{want}"
        );
    }
}

#[test]
fn every_malformed_compose_file_is_refused_with_position_and_reason() {
    for path in fixtures("compose") {
        let message = compose_error(&path);
        assert!(
            message.contains(&expected(&path)),
            "{}: expected `{}` in:\n{message}",
            path.display(),
            expected(&path)
        );
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        if !WHOLE_FILE.contains(&stem.as_str()) {
            assert!(
                has_line(&message, &path),
                "{}: no line in:\n{message}",
                path.display()
            );
        }
    }
}

#[test]
fn huge_and_non_utf8_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let huge = dir.path().join("huge.yaml");
    std::fs::write(&huge, format!("name: x\n# {}\n", "x".repeat(2 << 20))).unwrap();
    assert!(experiment_error(&huge).contains("the limit is"));
    let binary = dir.path().join("binary.yaml");
    std::fs::write(&binary, b"name: x\ncluster: \xff\xfe\n").unwrap();
    let message = experiment_error(&binary);
    assert!(
        message.contains("not UTF-8") && message.contains(":2"),
        "{message}"
    );
    let compose = dir.path().join("binary.yml");
    std::fs::write(&compose, b"services:\n  a: \xc3\x28\n").unwrap();
    assert!(compose_error(&compose).contains("not UTF-8"));
}

#[test]
fn the_good_fixtures_and_every_shipped_experiment_load() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = vec![root.join("tests/fixtures/good/experiment.yaml")];
    for dir in ["experiments", "tests/experiments"] {
        files.extend(
            std::fs::read_dir(root.join(dir))
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "yaml")),
        );
    }
    for path in files {
        let exp = chaos::experiment::load(&path).unwrap_or_else(|e| panic!("{e}"));
        // An attached experiment is checked against the running project when it runs.
        let Some(file) = chaos::experiment::compose_path(&exp, &path) else {
            continue;
        };
        let compose = chaos::compose::load(&file).unwrap_or_else(|e| panic!("{e}"));
        chaos::experiment::validate_against_compose(&exp, &path, &compose)
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn the_cli_exits_2_on_invalid_input_before_touching_docker() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bad/experiments/heal-unknown.yaml");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chaos"))
        .arg("run")
        .arg(&path)
        .env("DOCKER_HOST", "unix:///nonexistent.sock")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("heal-unknown.yaml:") && stderr.contains("hint:"),
        "{stderr}"
    );
}
