//! The Docker daemon stopped in the middle of a run: the run notices (its events stream ends
//! and a ping fails), exits 4 and leaves a partial report with everything measured so far.
//! The test stops the real dockerd and starts it again with scripts/install-docker.sh, so it
//! needs root, as the README's test command does.

mod common;

use common::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Starts dockerd again when dropped (once the stopped one has exited), so a failed assertion
/// does not leave later tests without a daemon.
struct RestartDockerOnDrop {
    stopped_pid: String,
}

impl Drop for RestartDockerOnDrop {
    fn drop(&mut self) {
        let gone = Instant::now() + Duration::from_secs(120);
        while std::path::Path::new(&format!("/proc/{}", self.stopped_pid)).exists()
            && Instant::now() < gone
        {
            std::thread::sleep(Duration::from_millis(200));
        }
        let status = Command::new("bash")
            .arg("scripts/install-docker.sh")
            .current_dir(repo())
            .status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "could not start dockerd again"
        );
    }
}

/// SIGTERM to dockerd (a clean daemon shutdown: it stops every container); returns its pid.
fn stop_dockerd() -> String {
    let pid = std::fs::read_to_string("/var/run/docker.pid")
        .expect("dockerd's pid file (/var/run/docker.pid): is dockerd running on this host?")
        .trim()
        .to_string();
    let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(status.success(), "could not stop dockerd (pid {pid})");
    pid
}

#[test]
#[ignore = "full tier: stops the real dockerd mid-run, ~75 s"]
fn docker_stopped_mid_run_exits_4_with_a_partial_report() {
    let _one = cluster_test();
    let reports = reports_dir("docker-outage");
    let log = std::fs::File::create(reports.join("chaos.stderr")).unwrap();
    let mut child = run_command("tests/experiments/interrupt.yaml", &reports)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    wait_for_events(&reports, r#""event":"fault-injected""#, 2);

    let restart = RestartDockerOnDrop {
        stopped_pid: stop_dockerd(),
    };
    let deadline = Instant::now() + Duration::from_secs(180);
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the run did not stop within 180 s of the daemon going away");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    drop(restart);

    let stderr = std::fs::read_to_string(reports.join("chaos.stderr")).unwrap();
    assert_eq!(code, Some(4), "infrastructure errors exit 4: {stderr}");
    assert!(
        stderr.contains("docker daemon stopped answering"),
        "the error names the cause: {stderr}"
    );
    let results = results(&reports);
    assert_eq!(results.len(), 1, "a partial report is written: {stderr}");
    let r = &results[0];
    assert_eq!(r["partial"], true, "{r:#}");
    assert_eq!(r["status"], "aborted", "{r:#}");
    assert_eq!(r["faults"].as_array().map(Vec::len), Some(2), "{r:#}");
    assert!(
        f64_at(r, "/workload/acked") > 0.0,
        "what was measured before the outage is kept: {r:#}"
    );

    // With the daemon back, `chaos clean --all` removes what the run left.
    let out = chaos(&["clean", "--all"]);
    assert!(out.status.success());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let left = rt.block_on(async {
        let docker = chaos::docker::connect().await.unwrap();
        chaos::docker::cluster::lifecycle::list(&docker, None)
            .await
            .unwrap()
    });
    assert!(left.is_empty(), "labelled containers left: {left:?}");
}
