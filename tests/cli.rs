//! The built binary's commands that need no cluster: validate, run --dry-run (with Docker
//! made unreachable), completions, man, compare / trend --json, colour and NO_COLOR.

use std::path::Path;
use std::process::{Command, Output};

/// Runs chaos with Docker pointed at a socket that does not exist: nothing here can touch the
/// daemon (or the other engineer's cluster).
fn chaos(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_chaos"));
    c.args(args)
        .env("DOCKER_HOST", "unix:///nonexistent/chaos-test/docker.sock")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("the chaos binary runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).to_string()
}

#[test]
fn validate_accepts_a_good_file_and_exits_0() {
    let out = chaos(&["validate", "tests/fixtures/good/experiment.yaml"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let said = text(&out.stdout);
    assert!(
        said.contains("ok: tests/fixtures/good/experiment.yaml (good: 1 variant(s) × 1 repeat(s), cluster compose)"),
        "{said}"
    );
}

#[test]
fn validate_prints_every_error_and_exits_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Two broken files and a good one: all three are checked, both errors printed.
    std::fs::write(
        dir.path().join("a-missing-compose.yaml"),
        "name: a\ncluster: {compose: nope.yml}\n",
    )
    .expect("write");
    std::fs::write(
        dir.path().join("b-unknown-service.yaml"),
        format!(
            "name: b\ncluster: {{compose: {}}}\nsteps:\n  - fault: {{kind: kill, target: kafka-9}}\n  - fault: {{kind: pause, target: kafka-8}}\n",
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/good/compose.yml")
                .display()
        ),
    )
    .expect("write");
    // Two problems in one file: both reported.
    std::fs::write(
        dir.path().join("c-two-problems.yaml"),
        "name: c\ncluster: {compose: x.yml}\nrepeat: 0\nexpect:\n  - lost ==\n",
    )
    .expect("write");
    let out = chaos(
        &[
            "validate",
            &dir.path().display().to_string(),
            "tests/fixtures/good/experiment.yaml",
        ],
        &[],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    // Every error: the missing compose file, both unknown services of the second file, both
    // problems of the third.
    assert_eq!(stderr.matches("error: ").count(), 5, "{stderr}");
    assert!(
        stderr.contains("c-two-problems.yaml:3: repeat:")
            && stderr.contains("c-two-problems.yaml:5: expect[0]:"),
        "{stderr}"
    );
    assert!(stderr.contains("nope.yml"), "{stderr}");
    assert!(
        stderr.contains("b-unknown-service.yaml:4: steps[0].fault.target: `kafka-9`")
            && stderr.contains("b-unknown-service.yaml:5: steps[1].fault.target: `kafka-8`"),
        "{stderr}"
    );
    assert!(
        stdout.contains("ok: tests/fixtures/good/experiment.yaml"),
        "{stdout}"
    );
}

#[test]
fn validate_reports_every_file_of_the_bad_corpus() {
    let out = chaos(&["validate", "tests/fixtures/bad/experiments"], &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    let files = std::fs::read_dir("tests/fixtures/bad/experiments")
        .expect("corpus")
        .filter(|e| {
            e.as_ref().is_ok_and(|e| {
                e.path()
                    .extension()
                    .is_some_and(|x| x == "yaml" || x == "yml")
            })
        })
        .count();
    assert!(
        stderr.lines().filter(|l| l.starts_with("error: ")).count() >= files,
        "one error (at least) per file of {files}: {stderr}"
    );
}

#[test]
fn dry_run_prints_the_plan_without_docker() {
    let out = chaos(
        &["run", "--dry-run", "tests/fixtures/good/experiment.yaml"],
        &[],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    for expected in [
        "experiment good (tests/fixtures/good/experiment.yaml): 1 variant(s) × 1 repeat(s) = 1 run(s)",
        "compose file: tests/fixtures/good/compose.yml",
        "unknown (Docker unreachable)",
        "topic orders: 3 partition(s), replication factor 3",
        "[k] fault kill on leader-of orders/0",
        "- failover.metadata.max < 25s",
        "dry run: nothing was started, stopped or changed",
    ] {
        assert!(stdout.contains(expected), "{expected:?} missing from:\n{stdout}");
    }
}

#[test]
fn dry_run_of_an_invalid_file_exits_2() {
    let out = chaos(
        &[
            "run",
            "--dry-run",
            "tests/fixtures/bad/experiments/bad-acks.yaml",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn completions_and_man_page_come_from_the_definition() {
    let out = chaos(&["completions", "bash"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let bash = text(&out.stdout);
    assert!(
        bash.contains("complete -F _chaos") && bash.contains("validate"),
        "{bash}"
    );
    let out = chaos(&["completions", "zsh"], &[]);
    assert!(text(&out.stdout).contains("#compdef chaos"));
    let out = chaos(&["man"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let man = text(&out.stdout);
    assert!(
        man.contains(".TH chaos 1") && man.contains("validate"),
        "{man}"
    );
}

fn two_runs(dir: &Path) -> Vec<String> {
    let events = std::fs::read("tests/fixtures/events/leader-kill.jsonl").expect("fixture");
    ["run-a", "run-b"]
        .iter()
        .map(|run| {
            std::fs::create_dir(dir.join(run)).expect("mkdir");
            std::fs::write(dir.join(run).join("events.jsonl"), &events).expect("write");
            dir.join(run).display().to_string()
        })
        .collect()
}

#[test]
fn compare_json_is_one_document_with_every_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let runs = two_runs(dir.path());
    let out = chaos(&["compare", "--json", &runs[0], &runs[1]], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["runs"].as_array().map(Vec::len), Some(2));
    assert_eq!(v["runs"][0]["result"]["experiment"], "leader-kill-fast");
    assert!(v["runs"][1]["dir"]
        .as_str()
        .is_some_and(|d| d.ends_with("run-b")));
    assert!(v["differences_beyond_noise"].is_array());
}

#[test]
fn trend_json_reports_regressions_with_the_same_exit_code() {
    let dir = tempfile::tempdir().expect("tempdir");
    let history = dir.path().join("history.jsonl");
    let entry = |t: u64, failover: f64, status: &str| {
        serde_json::json!({
            "unix_s": t, "experiment": "leader-kill", "variant": null, "status": status,
            "failover_p50_ms": failover, "failover_max_ms": failover,
            "controller_failover_ms": null, "offline_total_ms": 0.0, "lost_acked": 0,
            "latency_p99_ms": null
        })
        .to_string()
    };
    std::fs::write(
        &history,
        [
            entry(1, 6000.0, "passed"),
            entry(2, 6100.0, "passed"),
            entry(3, 18000.0, "failed"),
        ]
        .join("\n"),
    )
    .expect("write");
    let h = history.display().to_string();
    let out = chaos(&["trend", "--json", "--history", &h], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["runs"], 3);
    assert_eq!(v["regression"], true);
    assert!(!v["regressions"].as_array().expect("a list").is_empty());
    // Without the regression: exit 0, still JSON.
    std::fs::write(
        &history,
        [entry(1, 6000.0, "passed"), entry(2, 6100.0, "passed")].join("\n"),
    )
    .expect("write");
    let out = chaos(&["trend", "--json", "--history", &h], &[]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["regression"], false);
}

#[test]
fn verdicts_are_coloured_only_when_wanted_and_no_color_wins() {
    let dir = tempfile::tempdir().expect("tempdir");
    let runs = two_runs(dir.path());
    // Not a terminal: plain.
    let out = chaos(&["report", &runs[0]], &[]);
    let plain = text(&out.stdout);
    assert!(
        plain.contains("leader-kill-fast: PASSED") && plain.contains("│ PASS │"),
        "{plain}"
    );
    assert!(!plain.contains('\u{1b}'), "{plain}");
    // Forced: coloured.
    let out = chaos(&["report", &runs[0]], &[("CLICOLOR_FORCE", "1")]);
    let coloured = text(&out.stdout);
    assert!(
        coloured.contains("\u{1b}[32mPASSED\u{1b}[0m")
            && coloured.contains("\u{1b}[32mPASS\u{1b}[0m │"),
        "{coloured}"
    );
    // NO_COLOR beats everything.
    let out = chaos(
        &["report", &runs[0]],
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")],
    );
    assert!(!text(&out.stdout).contains('\u{1b}'));
}

#[test]
fn a_nodes_file_places_services_and_its_mistakes_name_file_line_and_service() {
    let dir = tempfile::tempdir().expect("tempdir");
    let exp = "experiments/multi-node/node-crash.yaml";
    // The test hosts' file: every service placed, the plan shows where.
    let out = chaos(
        &["run", "--dry-run", "--nodes", "nodes/test-nodes.yaml", exp],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan = text(&out.stdout);
    assert!(
        plan.contains(
            "broker 2 (kafka-2, chaos/kafka:3.9.1, on n2 at 10.250.0.12, host 10.250.0.12:39092)"
        ) && plan.contains("PLAINTEXT_HOST://10.250.0.12:39092"),
        "{plan}"
    );
    // Without it, the same experiment on one engine.
    let out = chaos(&["run", "--dry-run", exp], &[]);
    assert!(text(&out.stdout)
        .contains("kafka-2, chaos/kafka:3.9.1, node n2 (one engine), host 127.0.0.1:39092"));
    // A node the compose file names is missing.
    let two = dir.path().join("two.yaml");
    std::fs::write(&two, "nodes:\n  n1: {engine: \"tcp://10.0.0.1:2375\"}\n  n2: {engine: \"tcp://10.0.0.2:2375\"}\n").unwrap();
    let out = chaos(&["validate", "--nodes", two.to_str().unwrap(), exp], &[]);
    assert_eq!(out.status.code(), Some(2));
    let said = text(&out.stderr);
    assert!(
        said.contains("service zookeeper-3: x-chaos-node `n3` is not in the nodes file")
            && said.contains("hint: one of n1, n2"),
        "{said}"
    );
    // A malformed nodes file: its line and field, from the environment as from the flag.
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "nodes:\n  n1:\n    engine: ftp://x\n").unwrap();
    let out = chaos(
        &["validate", exp],
        &[("CHAOS_NODES", bad.to_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(2));
    let said = text(&out.stderr);
    assert!(
        said.contains("bad.yaml:2: nodes.n1.engine: `ftp://x` is not an engine address"),
        "{said}"
    );
}

#[test]
fn a_bad_connection_security_is_an_input_error_before_anything_connects() {
    let out = chaos(&["status"], &[("CHAOS_KAFKA_SECURITY_PROTOCOL", "tls")]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let said = text(&out.stderr);
    assert!(
        said.contains("CHAOS_KAFKA_SECURITY_PROTOCOL: unknown security protocol `tls`")
            && said.contains("hint: e.g. CHAOS_KAFKA_SECURITY_PROTOCOL=sasl-ssl"),
        "{said}"
    );
    // SASL without its password: named, and never taken from a flag.
    let out = chaos(
        &[
            "observe",
            "--bootstrap",
            "127.0.0.1:1",
            "--security-protocol",
            "sasl-ssl",
            "--sasl-mechanism",
            "scram-sha-512",
            "--sasl-username",
            "alice",
        ],
        &[("CHAOS_KAFKA_SASL_PASSWORD", "")],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("CHAOS_KAFKA_SASL_PASSWORD: the SASL password is not set"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn validate_refuses_the_consumer_group_protocol_on_a_zookeeper_compose_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("e.yaml");
    let compose = Path::new(env!("CARGO_MANIFEST_DIR")).join("compose");
    let experiment = |compose_file: &str| {
        format!(
            "name: k\ncluster:\n  compose: {}\ntopics:\n  - name: orders\nworkload:\n  acks: all\n  group: {{ protocol: consumer }}\n",
            compose.join(compose_file).display()
        )
    };
    std::fs::write(&file, experiment("seed.yml")).unwrap();
    let out = chaos(&["validate", file.to_str().unwrap()], &[]);
    let said = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains(
            "e.yaml:8: workload.group.protocol: consumer (KIP-848) needs a KRaft cluster"
        ) && said.contains("hint: compose/kraft.yml"),
        "{said}"
    );
    std::fs::write(&file, experiment("kraft.yml")).unwrap();
    let out = chaos(&["validate", file.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

#[test]
fn dry_run_json_is_the_plan_as_one_document_on_stdout() {
    let out = chaos(
        &[
            "run",
            "--dry-run",
            "--json",
            "tests/fixtures/good/experiment.yaml",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(doc["dry_run"], true);
    let exp = &doc["experiments"][0];
    assert_eq!(exp["name"], "good");
    assert_eq!(exp["runs"], 1);
    let v = &exp["variants"][0];
    assert_eq!(v["cluster"]["source"], "compose");
    assert_eq!(
        v["cluster"]["compose_file"],
        "tests/fixtures/good/compose.yml"
    );
    assert_eq!(v["cluster"]["state"], "unknown (Docker unreachable)");
    assert_eq!(v["experiment"]["topics"][0]["name"], "orders");
    // A dry run records no events to stream.
    let out = chaos(
        &[
            "run",
            "--dry-run",
            "--json-events",
            "tests/fixtures/good/experiment.yaml",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(out.stdout.is_empty());
    let out = chaos(
        &[
            "run",
            "--json",
            "--json-events",
            "tests/fixtures/good/experiment.yaml",
        ],
        &[],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "the two formats exclude each other"
    );
}

#[test]
fn validate_json_lists_the_valid_files_and_every_error_with_its_place() {
    let out = chaos(
        &[
            "validate",
            "--json",
            "tests/fixtures/good/experiment.yaml",
            "tests/fixtures/bad/experiments/bad-acks.yaml",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let doc: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(doc["exit_code"], 2);
    assert_eq!(doc["status"], "invalid-input");
    assert_eq!(doc["valid"][0]["name"], "good");
    let e = &doc["errors"][0];
    assert_eq!(e["file"], "tests/fixtures/bad/experiments/bad-acks.yaml");
    assert!(e["line"].as_u64().is_some(), "{e}");
    assert!(e["path"].as_str().unwrap().contains("acks"), "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("bad-acks.yaml"),
        "{e}"
    );
    // Nothing but the document on stdout, and the errors not repeated as text on stderr.
    assert!(
        !text(&out.stderr).contains("error:"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_saved_run_renders_within_the_width_a_terminal_would_give_and_full_width_when_wide() {
    // Piped (as here), tables are as wide as their content; `chaos report` re-renders a
    // run from its events.
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        "tests/fixtures/events/leader-kill.jsonl",
        dir.path().join("events.jsonl"),
    )
    .expect("copy");
    let out = chaos(&["report", dir.path().to_str().unwrap()], &[]);
    assert!(out.status.code().is_some(), "{}", text(&out.stderr));
    let widest = text(&out.stdout)
        .lines()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0);
    assert!(widest > 120, "piped output keeps the full width: {widest}");
}

#[test]
fn man_dir_writes_a_page_per_command_each_with_exit_status_and_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = chaos(&["man", "--dir", dir.path().to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    for page in [
        "chaos.1",
        "chaos-run.1",
        "chaos-validate.1",
        "chaos-images-build.1",
    ] {
        let roff = std::fs::read_to_string(dir.path().join(page)).expect(page);
        assert!(
            roff.contains("EXIT STATUS") && roff.contains("CHAOS_KAFKA_SECURITY_PROTOCOL"),
            "{page} says the exit codes and the environment"
        );
    }
    let run = std::fs::read_to_string(dir.path().join("chaos-run.1")).unwrap();
    assert!(
        run.contains("json\\-events") || run.contains("json-events"),
        "run's own flags"
    );
}
