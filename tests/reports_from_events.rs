//! Every report renders from a saved events.jsonl alone (a real leader-kill run on the seed
//! cluster, session timeout 6 s), with the numbers the events imply.

#[path = "common/fixture.rs"]
mod fixture;

fn result() -> (Vec<chaos::events::Event>, chaos::report::RunResult) {
    fixture::fixture_result(&[
        "failover.metadata.max < 12s",
        "partitions[orders/0].preferred_restored_ms < 30s",
    ])
}

#[test]
fn the_analysis_finds_the_failover_of_the_killed_leader() {
    let (_, r) = result();
    assert_eq!(r.experiment, "leader-kill-fast");
    let failover = r
        .partitions
        .iter()
        .find(|p| p.partition == 0)
        .unwrap()
        .failover_ms
        .unwrap();
    // A fixed fixture: the exact value (fault at the Docker kill event, the new leader at the
    // first view that showed it), so any change to how it is derived shows here.
    assert_eq!(failover, 6389.135);
    assert_eq!(
        r.failover.metadata_ms.count, 1,
        "only orders/0 was led by the killed broker"
    );
    assert_eq!(r.faults[0].resolved, vec!["kafka-3"]);
    assert_eq!(
        r.expectations[1].passed, None,
        "leadership never went back to the preferred replica: no data, never a pass"
    );
    assert_eq!(r.status, chaos::report::Status::Inconclusive);
}

#[test]
fn table_markdown_junit_json_and_timeline_render() {
    let (events, r) = result();
    let table = chaos::report::render_table(&r);
    assert!(
        table.contains("6.39 s ± 100 ms")
            && table.contains("orders/0")
            && table.contains("NO DATA"),
        "{table}"
    );
    let md = chaos::report::render_markdown(&r);
    assert!(
        md.contains("| orders/0 |") && md.contains("⚠️ no data"),
        "{md}"
    );
    let junit =
        String::from_utf8(chaos::report::render_junit(std::slice::from_ref(&r)).unwrap()).unwrap();
    assert!(
        junit.contains("<testcase")
            && junit.contains("<error")
            && junit.contains("leader-kill-fast"),
        "{junit}"
    );
    let json: serde_json::Value = serde_json::from_slice(&chaos::report::render_json(&r)).unwrap();
    assert_eq!(json["status"], "inconclusive");
    let svg = chaos::report::charts::timeline::render_timeline_svg(&events).unwrap();
    assert!(svg.contains("kill kafka-3"));
}

#[test]
fn compare_skips_files_a_glob_matched_and_compares_the_runs() {
    let dir = tempfile::tempdir().unwrap();
    let events = std::fs::read("tests/fixtures/events/leader-kill.jsonl").unwrap();
    let mut args = vec!["compare".to_string()];
    for run in ["run-a", "run-b"] {
        std::fs::create_dir(dir.path().join(run)).unwrap();
        std::fs::write(dir.path().join(run).join("events.jsonl"), &events).unwrap();
        args.push(dir.path().join(run).display().to_string());
    }
    let page = dir.path().join("leader-kill-matrix.html");
    std::fs::write(&page, "<html></html>").unwrap();
    args.push(page.display().to_string());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_chaos"))
        .args(&args)
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("a file, not a run directory; skipped"),
        "{stderr}"
    );
    assert!(stdout.contains("(n=2)"), "both runs compared: {stdout}");

    let only_files = std::process::Command::new(env!("CARGO_BIN_EXE_chaos"))
        .args(["compare", &page.display().to_string()])
        .output()
        .unwrap();
    assert_eq!(
        only_files.status.code(),
        Some(2),
        "no run directory is invalid input"
    );
}

/// Runs of different experiments are compared like with like: a table each, no "beyond
/// noise" line between them unless asked (`--across-experiments`).
#[test]
fn compare_groups_runs_by_experiment_unless_asked_across() {
    let dir = tempfile::tempdir().unwrap();
    let events = std::fs::read_to_string("tests/fixtures/events/leader-kill.jsonl").unwrap();
    let mut args = vec!["compare".to_string()];
    for (run, experiment) in [
        ("run-a", "leader-kill-fast"),
        ("run-b", "same-scenario-renamed"),
    ] {
        std::fs::create_dir(dir.path().join(run)).unwrap();
        let renamed = events.replacen(
            r#""experiment":"leader-kill-fast""#,
            &format!(r#""experiment":"{experiment}""#),
            1,
        );
        std::fs::write(dir.path().join(run).join("events.jsonl"), renamed).unwrap();
        args.push(dir.path().join(run).display().to_string());
    }
    let compare = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_chaos"))
            .args(&args)
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let grouped = compare(&[]);
    assert!(
        grouped.contains("== leader-kill-fast (1 run(s))")
            && grouped.contains("== same-scenario-renamed (1 run(s))"),
        "{grouped}"
    );
    assert!(!grouped.contains("beyond noise:"), "{grouped}");
    let across = compare(&["--across-experiments"]);
    assert!(!across.contains("== "), "one table: {across}");
    assert!(
        across.contains("leader-kill-fast") && across.contains("same-scenario-renamed"),
        "{across}"
    );
}
