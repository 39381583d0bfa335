//! Real-cluster tests on compose/kraft.yml (three combined broker+controller nodes, Kafka 4),
//! with shortened broker timeouts. One test at a time; the cluster is reused between tests.

mod common;

use common::*;
use serde_json::Value;

#[test]
fn kraft_up_status_produce_consume_down_and_an_unlabelled_decoy_survives() {
    let _one = cluster_test();
    common::lifecycle::lifecycle("compose/kraft.yml", "kraft");
}

fn run(experiment: &str, test: &str) -> (Option<i32>, serde_json::Value) {
    let reports = reports_dir(test);
    let out = chaos_run(experiment, &reports);
    (out.status.code(), results(&reports).remove(0))
}

/// The leader kill's failover on a 4 s broker session (the KRaft test experiments' setting).
fn assert_kraft_leader_kill_failover(r: &Value) {
    let failover = f64_at(r, "/failover/metadata_ms/max");
    // The broker is fenced when broker.session.timeout.ms (4 s) passes after its last
    // heartbeat (every 500 ms): 3.5–4 s after the kill; the controller's fencing, the new
    // leader's election and the next poll add up to 1 s: [3.4, 5] s. When the killed broker
    // was the active controller too, the new controller first gives every broker a fresh
    // session from its own election on, and fences only after it: measured controller 2.1 s,
    // leader 10.0 s, i.e. up to two sessions after the new controller (+ 2 s of its start).
    let (low, high) = match r["controller_failover_ms"].as_f64() {
        Some(controller) => (3_400.0, controller + 2.0 * 4_000.0 + 2_000.0),
        None => (3_400.0, 5_000.0),
    };
    assert!(
        (low..=high).contains(&failover),
        "failover {failover} ms outside {low}–{high} ms for a 4 s session"
    );
}

/// `docker` (the CLI) with `args`; its stdout.
fn docker(args: &[&str]) -> String {
    let out = std::process::Command::new("docker")
        .args(args)
        .output()
        .expect("docker CLI");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// compose/kraft-user-style.yml is written the way users write compose files: anchors and
/// merge keys, an env file, named volumes, healthchecks, a tmpfs, a one-off set-up service
/// behind `service_healthy` conditions. A leader kill runs on it as on our own files, and
/// `down` leaves nothing behind (containers, network, volumes).
#[test]
fn a_compose_file_as_users_write_it_runs_a_leader_kill_and_down_leaves_nothing() {
    let _one = cluster_test();
    let (code, r) = run(
        "tests/experiments/user-style-leader-kill-fast.yaml",
        "user-style-leader-kill",
    );
    assert_eq!(code, Some(0), "{r:#}");
    assert_kraft_leader_kill_failover(&r);
    assert_eq!(f64_at(&r, "/verification/lost_acked"), 0.0);
    // What the file asked for is what Docker ran.
    assert_eq!(
        docker(&[
            "volume",
            "ls",
            "-q",
            "--filter",
            "label=chaos.cluster=user-style"
        ]),
        "user-style_kafka-1-data\nuser-style_kafka-2-data\nuser-style_kafka-3-data"
    );
    assert_eq!(
        docker(&["inspect", "user-style-kafka-2", "--format",
            "{{range .Mounts}}{{.Name}}:{{.Destination}}{{end}} {{json .HostConfig.Tmpfs}} {{json .Config.Healthcheck.Test}}"]),
        "user-style_kafka-2-data:/var/lib/kafka/data {\"/tmp\":\"size=67108864\"} [\"CMD-SHELL\",\"nc -z localhost 9092\"]"
    );
    // The env file's and the merged anchor's settings reached the broker.
    let env = docker(&[
        "inspect",
        "user-style-kafka-3",
        "--format",
        "{{json .Config.Env}}",
    ]);
    for wanted in [
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR=2",
        "KAFKA_CONTROLLER_QUORUM_VOTERS=1@kafka-1:9093",
        "KAFKA_NODE_ID=3",
    ] {
        assert!(env.contains(wanted), "{wanted} not in {env}");
    }
    // The set-up service ran after the brokers were healthy, once, and is not restarted by
    // the heal (it is `completed`, not `exited`).
    assert_eq!(
        docker(&[
            "inspect",
            "user-style-kafka-setup",
            "--format",
            "{{.State.ExitCode}} {{.RestartCount}}"
        ]),
        "0 0"
    );
    assert!(docker(&["logs", "user-style-kafka-setup"]).contains("Created topic audit."));
    assert_everything_healed();
    let out = chaos(&["down", "-p", "user-style"]);
    assert!(out.status.success());
    for kind in ["ps -a", "volume ls", "network ls"] {
        let mut args: Vec<&str> = kind.split(' ').collect();
        args.extend(["-q", "--filter", "label=chaos.cluster=user-style"]);
        assert_eq!(docker(&args), "", "docker {kind} after down");
    }
}

/// bitnami/kafka's convention (KAFKA_CFG_*, KAFKA_KRAFT_CLUSTER_ID): an image that follows it,
/// built here from ours (tests/images/bitnami-convention), runs tests/compose/bitnami-kraft.yml
/// as bitnami's README writes it. Roles, node ids and host listeners are found in its terms;
/// the experiment's broker settings (Confluent's names) reach the brokers as KAFKA_CFG_* and
/// are in force; a leader kill fails over on the 4 s session they set.
#[test]
#[ignore = "full tier: a third KRaft cluster (the convention itself is unit-tested), ~50 s"]
fn a_bitnami_convention_cluster_is_recognised_and_takes_the_experiment_s_settings() {
    let _one = cluster_test();
    let image = "localhost/bitnami/kafka:4.1.1-test";
    let built = std::process::Command::new("docker")
        .args([
            "build",
            "-q",
            "-t",
            image,
            "tests/images/bitnami-convention",
        ])
        .current_dir(repo())
        .status()
        .expect("docker build");
    assert!(built.success(), "building {image}");
    let (code, r) = run(
        "tests/experiments/bitnami-leader-kill-fast.yaml",
        "bitnami-leader-kill",
    );
    assert_eq!(code, Some(0), "{r:#}");
    assert_eq!(r["cluster"]["mode"], "kraft");
    let settings: Vec<String> = r["cluster"]["settings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|kv| format!("{}={}", kv[0].as_str().unwrap(), kv[1].as_str().unwrap()))
        .collect();
    // Read back from the brokers (DescribeConfigs), not from the file.
    assert!(
        settings.contains(&"broker.session.timeout.ms=4000".to_string()),
        "{settings:?}"
    );
    let env = docker(&[
        "inspect",
        "bitnami-kraft-kafka-1",
        "--format",
        "{{json .Config.Env}}",
    ]);
    assert!(
        env.contains("\"KAFKA_CFG_BROKER_SESSION_TIMEOUT_MS=4000\""),
        "{env}"
    );
    assert_kraft_leader_kill_failover(&r);
    assert_eq!(f64_at(&r, "/verification/lost_acked"), 0.0);
    assert_everything_healed();
    assert!(chaos(&["down", "-p", "bitnami-kraft"]).status.success());
}

#[test]
#[ignore = "full tier: KRaft leader kill (ZooKeeper's is in the fast tier), ~35 s"]
fn kraft_leader_kill_failover_follows_the_broker_session_timeout() {
    let _one = cluster_test();
    let (code, r) = run(
        "tests/experiments/kraft-leader-kill-fast.yaml",
        "kraft-leader-kill",
    );
    // broker.session.timeout.ms = 4000 (heartbeats every 500 ms): fenced after ~4 s. When the
    // killed leader was also the active controller (combined mode), a quorum election comes
    // first and the new controller gives every broker a fresh session before it fences the dead
    // one (measured: controller 2.1 s, leader 10.0 s).
    assert_kraft_leader_kill_failover(&r);
    assert_eq!(f64_at(&r, "/verification/lost_acked"), 0.0);
    assert_eq!(r["cluster"]["mode"], "kraft");
    // The finalized feature levels are recorded (ELR, KIP-966, changes unclean elections).
    let features: Vec<String> = r["cluster"]["settings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|kv| kv[0].as_str().is_some_and(|k| k.starts_with("feature:")))
        .map(|kv| format!("{}={}", kv[0].as_str().unwrap(), kv[1].as_str().unwrap()))
        .collect();
    eprintln!("finalized features: {features:?}");
    assert!(
        features
            .iter()
            .any(|f| f.starts_with("feature:metadata.version=")),
        "{features:?}"
    );
    assert_eq!(code, Some(0), "{r:#}");
    assert_everything_healed();
}

#[test]
#[ignore = "full tier: KRaft controller kill, ~30 s"]
fn kraft_controller_kill_moves_the_quorum_leadership_in_seconds() {
    let _one = cluster_test();
    let (code, r) = run(
        "tests/experiments/kraft-controller-kill-fast.yaml",
        "kraft-controller-kill",
    );
    // controller.quorum.election.timeout.ms 1000 / fetch.timeout.ms 2000: a new quorum leader
    // within a few seconds, far below a ZooKeeper session.
    // The survivors must notice the dead leader (its connections fail at once when the process
    // dies), then one of them must win a vote round: measured 0.96–4.3 s here. A time below a
    // few hundred ms would mean the observer saw a change that was no election at all.
    // Upper bound from the quorum's settings (Kafka's defaults here): a follower stands for
    // election at the latest when controller.quorum.fetch.timeout.ms (2 s) passed without a
    // fetch, wins within controller.quorum.election.timeout.ms (1 s), or after one split vote
    // (back-off ≤ controller.quorum.election.backoff.max.ms, 1 s, and another 1 s round);
    // then the next DescribeQuorum poll (100 ms): 5.1 s. Lower bound: no election completes
    // in less than a vote round trip and a poll; 300 ms.
    let failover = f64_at(&r, "/controller_failover_ms");
    assert!(
        (300.0..=5_100.0).contains(&failover),
        "controller failover {failover} ms outside [0.3, 5.1] s"
    );
    assert_eq!(f64_at(&r, "/verification/lost_acked"), 0.0);
    assert_eq!(code, Some(0), "{r:#}");
    // The observer never went blind: DescribeQuorum stalls while the quorum elects, but it
    // runs apart from Metadata, so every broker's answers kept coming.
    // Typed: a renamed field fails to compile instead of reading as "never blind".
    let typed: chaos::model::RunResult = serde_json::from_value(r.clone()).unwrap();
    assert!(typed.unobserved.is_empty(), "observer blind: {r:#}");
    // The killed controller led a partition (three partitions, one per broker): that one
    // failed over; the partitions whose leader lived were never offline nor unavailable.
    let partitions = r["partitions"].as_array().unwrap();
    let (moved, stayed): (Vec<&Value>, Vec<&Value>) = partitions
        .iter()
        .partition(|p| p["failover_ms"].as_f64().is_some());
    assert!(!moved.is_empty(), "the controller led no partition: {r:#}");
    for p in &stayed {
        assert_eq!(f64_at(p, "/offline_ms"), 0.0, "{p:#}");
        assert_eq!(f64_at(p, "/unavailable_ms"), 0.0, "{p:#}");
    }
    for p in &moved {
        // Observed within the poll period of the previous view (no blind spell), and the new
        // leader's own log line (Kafka 4, log4j2 format) gives the same failover to the ms.
        // The observer polls every 20 ms for 5 s after the fault (observer.fast-for), 100 ms
        // after that; the partition moves 3–7 s after the kill: the error bar is one poll
        // period of the broker that showed it, plus that request's own time.
        let error = f64_at(p, "/failover_error_ms");
        assert!(error <= 250.0, "error bar {error} ms: {p:#}");
        let (polled, logged) = (f64_at(p, "/failover_ms"), f64_at(p, "/failover_log_ms"));
        assert!(
            // The new leader logs when it applies the metadata record; the other brokers apply
            // it on their own schedule: either can come first (hundreds of ms on two busy
            // cores), then the next poll sees it.
            (-400.0..=error + 400.0).contains(&(polled - logged)),
            "poll {polled} ms vs log {logged} ms"
        );
    }
    assert!(f64_at(&r, "/log_check/matched") >= 1.0, "{r:#}");
    assert_everything_healed();
}

/// The transaction coordinator killed for 15 s, __transaction_state at replication factor 1
/// and 3 (experiments/compare-transaction-log-rf.yaml, shortened): with 3 the first commit
/// after the kill comes before the killed broker returns (a follower took the log over once
/// the broker was fenced); with 1, only after it returned.
#[test]
#[ignore = "full tier: two KRaft clusters, ~3 min"]
fn a_replicated_transaction_log_resumes_commits_without_the_killed_coordinator() {
    let _one = cluster_test();
    let reports = reports_dir("eos-coordinator-rf");
    let out = chaos_run("tests/experiments/eos-coordinator-rf-fast.yaml", &reports);
    assert_eq!(out.status.code(), Some(0));
    let dirs = run_dirs(&reports);
    assert_eq!(dirs.len(), 2);
    for dir in dirs {
        let r: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("result.json")).unwrap())
                .unwrap();
        let rf = r["variant"].as_str().unwrap_or_default().to_string();
        let t = &r["transactions"];
        assert_eq!(t["atomicity_violations"], 0, "{rf}: {t:#}");
        // From the run's events: the kill, the heal and the first commit after the kill.
        let events: Vec<Value> = std::fs::read_to_string(dir.join("events.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let at = |kind: &str| {
            events
                .iter()
                .find(|e| e["event"] == kind)
                .and_then(|e| e["at_us"].as_f64())
                .unwrap_or_else(|| panic!("{rf}: no {kind} event"))
        };
        let (killed, healed) = (at("fault-injected"), at("fault-reverted"));
        let first_commit = events
            .iter()
            .filter(|e| e["event"] == "transaction-ended" && e["outcome"] == "committed")
            .filter_map(|e| e["at_us"].as_f64())
            .find(|t| *t > killed)
            .unwrap_or_else(|| panic!("{rf}: no commit after the kill: {t:#}"));
        eprintln!(
            "{rf}: first commit {:.2} s after the kill (heal at {:.2} s)",
            (first_commit - killed) / 1e6,
            (healed - killed) / 1e6
        );
        if rf.ends_with("=1") {
            assert!(
                first_commit > healed,
                "{rf}: committed while its only log replica was down"
            );
        } else {
            assert!(
                first_commit < healed,
                "{rf}: no commit until the killed coordinator returned"
            );
        }
    }
    assert_everything_healed();
}
