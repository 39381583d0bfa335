//! Shared helpers of the real-cluster tests: they run the `chaos` binary against a real
//! cluster, one test at a time (one cluster fits on the machine), and fail — never skip —
//! when Docker is not reachable.
#![allow(dead_code)]

pub mod lifecycle;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

static ONE_CLUSTER_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Serialises the tests of this binary and checks that Docker answers.
pub fn cluster_test() -> MutexGuard<'static, ()> {
    let guard = ONE_CLUSTER_AT_A_TIME
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    if let Err(e) = rt.block_on(chaos::docker::connect()) {
        panic!("real-cluster test needs Docker and it is not reachable ({e}); run scripts/install-docker.sh as root");
    }
    guard
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn chaos(args: &[&str]) -> Output {
    logged(Command::new(env!("CARGO_BIN_EXE_chaos")), args)
}

/// Runs `command` (the chaos binary, configured by the caller) with `args` in the repo and logs
/// what it said, as `chaos` does.
pub fn logged(mut command: Command, args: &[&str]) -> Output {
    let out = command
        .args(args)
        .current_dir(repo())
        .output()
        .expect("run chaos");
    eprintln!(
        "$ chaos {}\n-- exit {:?}\n-- stdout\n{}\n-- stderr\n{}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `chaos run <experiment> --keep --reports <reports>`: the cluster stays up for the next test.
pub fn run_command(experiment: &str, reports: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chaos"));
    command
        .args(["run", experiment, "--keep", "--reports"])
        .arg(reports)
        .current_dir(repo());
    command
}

/// `run_command` to its end, logged like `chaos`.
pub fn chaos_run(experiment: &str, reports: &Path) -> Output {
    chaos(&[
        "run",
        experiment,
        "--keep",
        "--reports",
        reports.to_str().expect("a UTF-8 reports path"),
    ])
}

/// A fresh reports directory for one test.
pub fn reports_dir(test: &str) -> PathBuf {
    let dir = repo().join("target").join("test-reports").join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("reports dir");
    dir
}

/// The result.json of every run under `reports`, oldest first.
pub fn results(reports: &Path) -> Vec<Value> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(reports)
        .expect("reports")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("result.json").exists())
        .collect();
    dirs.sort();
    dirs.iter()
        .map(|d| {
            serde_json::from_slice(&std::fs::read(d.join("result.json")).expect("result.json"))
                .expect("json")
        })
        .collect()
}

pub fn run_dirs(reports: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(reports)
        .map(|r| {
            r.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    dirs.sort();
    dirs
}

pub fn f64_at(v: &Value, pointer: &str) -> f64 {
    v.pointer(pointer)
        .and_then(Value::as_f64)
        .unwrap_or_else(|| panic!("{pointer} missing in {v:#}"))
}

/// Nothing of ours is left faulted: no paused container, no network-fault sidecar, every
/// service container running and on its network.
pub fn assert_everything_healed() {
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    rt.block_on(async {
        let docker = chaos::docker::connect().await.expect("docker");
        let containers = chaos::docker::cluster::lifecycle::list(&docker, None)
            .await
            .expect("list");
        for c in &containers {
            let labels = c.labels.clone().unwrap_or_default();
            let name = c.names.clone().unwrap_or_default().join(",");
            let state = c.state.as_ref().map(|s| s.to_string()).unwrap_or_default();
            assert_ne!(
                labels.get("chaos.role").map(String::as_str),
                Some("sidecar"),
                "sidecar {name} left behind"
            );
            // A one-off service that ran to completion (exit 0) is done, not faulted.
            let completed = state == "exited"
                && labels.get("chaos.role-kind").map(String::as_str) == Some("other")
                && c.status
                    .as_deref()
                    .is_some_and(|s| s.starts_with("Exited (0)"));
            assert!(state == "running" || completed, "{name} is {state}");
        }
        // Every cluster of ours (tests on other ports leave the shared one running).
        for name in chaos::docker::inventory::cluster_names(&containers) {
            let cluster = chaos::docker::inventory::attach_on(&docker, Some(&name))
                .await
                .expect("attach");
            for s in cluster.services.iter().filter(|s| !s.state.is_stopped()) {
                assert!(s.ip.is_some(), "{} is not on the cluster network", s.name);
            }
        }
    });
}

/// Every events.jsonl under `reports`, concatenated.
pub fn events_of(reports: &std::path::Path) -> String {
    run_dirs(reports)
        .iter()
        .map(|d| std::fs::read_to_string(d.join("events.jsonl")).unwrap_or_default())
        .collect()
}

/// Waits until the run's events hold `n` lines containing `needle`.
pub fn wait_for_events(reports: &Path, needle: &str, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(180);
    while Instant::now() < deadline {
        if events_of(reports).matches(needle).count() >= n {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no {needle} in time: {}", events_of(reports));
}

/// A `chaos run` child that cannot outlive its test: if the test fails while the run goes on,
/// dropping this interrupts it (SIGINT: it heals), kills it after 60 s and sweeps with
/// `chaos clean`, so the next test — which takes the cluster lock as soon as this one panics —
/// never shares the cluster with an orphaned run.
pub struct RunningChaos(pub std::process::Child);

impl RunningChaos {
    pub fn spawn(experiment: &str, reports: &Path) -> Self {
        RunningChaos(
            run_command(experiment, reports)
                .spawn()
                .expect("spawn chaos run"),
        )
    }
}

impl std::ops::Deref for RunningChaos {
    type Target = std::process::Child;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for RunningChaos {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl Drop for RunningChaos {
    fn drop(&mut self) {
        if !matches!(self.0.try_wait(), Ok(None)) {
            return;
        }
        eprintln!("test ended with `chaos run` still going: interrupting it");
        let _ = Command::new("kill")
            .args(["-INT", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if !matches!(self.0.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
        let _ = Command::new(env!("CARGO_BIN_EXE_chaos"))
            .arg("clean")
            .current_dir(repo())
            .output();
    }
}

/// Where a broker kill's failover must land in ZooKeeper mode, from the settings in force
/// (ms): ZooKeeper counts the session timeout `session_ms` from the session's last heartbeat
/// (the broker pings every third of it) and expires sessions on its tick (`tick_ms`), so the
/// broker is declared dead between 2/3·T and T + tick after the kill; the controller's
/// election, its LeaderAndIsr and the next metadata poll add up to 1 s on two busy cores, and
/// the poll period (100 ms) can put the observed time that much early.
pub fn zk_kill_failover_window_ms(session_ms: f64, tick_ms: f64) -> std::ops::RangeInclusive<f64> {
    (session_ms * 2.0 / 3.0 - 100.0)..=(session_ms + tick_ms + 1_000.0)
}
