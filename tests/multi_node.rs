//! A cluster over three hosts: three Docker engines in containers (`scripts/nodes.sh`, test
//! infrastructure built from the project's own image build; no registry), ZooKeeper + 3
//! brokers spread over them (compose/multi-node.yml), and the shipped experiments of
//! experiments/multi-node/ run on them as a user runs them: a leader kill, a crash of the
//! leader's host, a partition of the controller's host. Then the same experiment unchanged on
//! one engine. Nothing may be left on any node.

mod common;

use common::*;
use serde_json::Value;
use std::process::Command;

const NODES_FILE: &str = "nodes/test-nodes.yaml";
/// n3's engine speaks TLS only (dockerd --tlsverify, certificates made by scripts/nodes.sh).
const ENGINES: [&str; 3] = [
    "tcp://10.250.0.11:2375",
    "tcp://10.250.0.12:2375",
    "tcp://10.250.0.13:2376",
];

fn nodes_script(action: &str) {
    let out = Command::new("bash")
        .args(["scripts/nodes.sh", action])
        .current_dir(repo())
        .output()
        .expect("run scripts/nodes.sh");
    eprintln!(
        "$ scripts/nodes.sh {action}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "scripts/nodes.sh {action} failed: the three test nodes are needed (they never skip)"
    );
}

/// Our containers and networks on every node's engine (any cluster), reached as `chaos` does.
fn left_on_the_nodes() -> Vec<String> {
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    rt.block_on(async {
        let nodes = chaos::nodes::NodesFile::load(&repo().join(NODES_FILE)).expect("nodes file");
        let engines = chaos::docker::engines::Engines::connect(Some(&nodes))
            .await
            .expect("every node's engine");
        let mut left = Vec::new();
        for (node, docker) in engines.named() {
            let node = node.map(|n| n.name.clone()).unwrap_or_default();
            for thing in left_on(docker).await {
                left.push(format!("{thing} on {node}"));
            }
        }
        left
    })
}

async fn left_on(docker: &bollard::Docker) -> Vec<String> {
    {
        let mut left: Vec<String> = chaos::docker::cluster::lifecycle::list(docker, None)
            .await
            .expect("list containers")
            .iter()
            .map(|c| {
                format!(
                    "container {}",
                    chaos::docker::cluster::lifecycle::name_of(c)
                )
            })
            .collect();
        let networks = docker
            .list_networks(None::<bollard::query_parameters::ListNetworksOptions>)
            .await
            .expect("list networks");
        left.extend(
            networks
                .into_iter()
                .filter(|n| chaos::docker::labels::is_ours(n.labels.as_ref(), None))
                .map(|n| format!("network {}", n.name.unwrap_or_default())),
        );
        left
    }
}

fn fault<'a>(r: &'a Value, kind: &str) -> &'a Value {
    r["faults"]
        .as_array()
        .expect("faults")
        .iter()
        .find(|f| f["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} fault in {r:#}"))
}

fn hit(f: &Value) -> Vec<String> {
    let mut hit: Vec<String> = f["resolved"]
        .as_array()
        .expect("resolved")
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect();
    hit.sort();
    hit
}

/// The node a service ran on, from the run's own record.
fn node_of(r: &Value, service: &str) -> String {
    r["cluster"]["nodes"]
        .as_array()
        .expect("cluster.nodes")
        .iter()
        .find(|n| {
            n["services"]
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s == service)
        })
        .map(|n| n["name"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("{service} on no node"))
}

#[test]
#[ignore = "full tier: three Docker hosts (engines in containers), ~205 s"]
fn experiments_run_on_three_hosts_and_unchanged_on_one_engine() {
    let _one = cluster_test();
    nodes_script("up");
    let reports = reports_dir("multi-node");
    // As a user: the whole directory, one command, no --keep.
    let out = chaos(&[
        "run",
        "--nodes",
        NODES_FILE,
        "experiments/multi-node/",
        "--reports",
        reports.to_str().unwrap(),
    ]);
    let runs = results(&reports);
    let by_name = |name: &str| -> &Value {
        runs.iter()
            .find(|r| r["experiment"] == name)
            .unwrap_or_else(|| panic!("no run of {name}"))
    };
    for r in &runs {
        // Every service on its node, every node's clock measured, nothing acked lost.
        let nodes = r["cluster"]["nodes"].as_array().expect("cluster.nodes");
        assert_eq!(nodes.len(), 3, "{r:#}");
        for (i, n) in nodes.iter().enumerate() {
            let i = i + 1;
            assert_eq!(n["engine"], ENGINES[i - 1]);
            let mut services: Vec<&str> = n["services"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap())
                .collect();
            services.sort();
            assert_eq!(services, [format!("kafka-{i}"), format!("zookeeper-{i}")]);
            // Engines in containers share this kernel's clock: the offset is within its error.
            let (offset, error) = (f64_at(n, "/clock_offset_us"), f64_at(n, "/clock_error_us"));
            assert!((0.0..50_000.0).contains(&error), "clock error {error} µs");
            assert!(
                offset.abs() <= error + 2_000.0,
                "clock offset {offset} ± {error} µs"
            );
        }
        assert_eq!(f64_at(r, "/verification/lost_acked"), 0.0, "{r:#}");
        assert!(f64_at(r, "/verification/acked") > 1_000.0, "{r:#}");
        // The error bar is the observer's poll plus the worst host clock's error, exactly.
        let worst_clock_ms = nodes
            .iter()
            .map(|n| f64_at(n, "/clock_error_us"))
            .fold(0.0, f64::max)
            / 1e3;
        // The experiments keep the observer's default period.
        let poll_ms = chaos::experiment::ObserverSpec::default()
            .period
            .as_secs_f64()
            * 1e3;
        assert!(
            (f64_at(r, "/error_bar_ms") - (poll_ms + worst_clock_ms)).abs() < 0.01,
            "error bar {} ms = poll {poll_ms} + clocks {worst_clock_ms}: {r:#}",
            f64_at(r, "/error_bar_ms")
        );
    }

    // A leader kill across hosts: the failover follows the 6 s ZooKeeper session.
    let kill = by_name("multi-node-leader-kill");
    assert_eq!(hit(fault(kill, "kill")).len(), 1);
    let failover = f64_at(kill, "/failover/metadata_ms/max");
    // compose/multi-node.yml: 6 s session, tickTime 2 s.
    let window = zk_kill_failover_window_ms(6_000.0, 2_000.0);
    assert!(
        window.contains(&failover),
        "leader-kill failover {failover} ms outside {window:?}"
    );
    // A host lost with a ZooKeeper server on it: when that server led the ensemble, the
    // followers notice after syncLimit × tickTime (2 × 2 s), vote (< 1 s), and the lost
    // broker's session then expires under the new leader: the kill's window, 5 s later at
    // most (the README's measurement: ≈ 3.6 + 6 s + the controller's work).
    let ensemble_lost = 2.0 * 2_000.0 + 1_000.0;
    let host_window = *window.start()..=(*window.end() + ensemble_lost);

    // A host crash: the broker and ZooKeeper server of one host, killed together.
    let crash = by_name("multi-node-node-crash");
    let crashed = hit(fault(crash, "node-crash"));
    assert_eq!(crashed.len(), 2, "{crashed:?}");
    assert_eq!(node_of(crash, &crashed[0]), node_of(crash, &crashed[1]));
    assert!(
        crashed.iter().any(|s| s.starts_with("kafka-"))
            && crashed.iter().any(|s| s.starts_with("zookeeper-"))
    );
    let failover = f64_at(crash, "/failover/metadata_ms/max");
    assert!(
        host_window.contains(&failover),
        "node-crash failover {failover} ms outside {host_window:?}"
    );

    // The controller's host cut from the others: a controller elected on the majority side.
    let cut = by_name("multi-node-node-partition");
    let isolated = hit(fault(cut, "node-partition"));
    assert_eq!(isolated.len(), 2, "{isolated:?}");
    assert_eq!(node_of(cut, &isolated[0]), node_of(cut, &isolated[1]));
    let controller = f64_at(cut, "/controller_failover_ms");
    assert!(
        host_window.contains(&controller),
        "controller failover {controller} ms outside {host_window:?}"
    );

    assert_eq!(
        out.status.code(),
        Some(0),
        "every multi-node experiment passes"
    );
    assert_eq!(
        left_on_the_nodes(),
        Vec::<String>::new(),
        "left on the nodes"
    );

    // Ctrl-C on three hosts, the controller's host cut off and a broker on another frozen:
    // exit 130 with a partial report, and every host's part healed by the run itself —
    // `chaos clean` finds nothing left to heal on any engine.
    let interrupted = reports_dir("multi-node-sigint");
    let mut child = common::RunningChaos(
        Command::new(env!("CARGO_BIN_EXE_chaos"))
            .args(["run", "--nodes", NODES_FILE, "--keep", "--reports"])
            .arg(&interrupted)
            .arg("tests/experiments/multi-node-interrupt.yaml")
            .current_dir(repo())
            .spawn()
            .expect("spawn chaos run"),
    );
    wait_for_events(&interrupted, r#""event":"fault-injected""#, 2);
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let signalled = std::time::Instant::now();
    assert_eq!(
        child.wait().unwrap().code(),
        Some(130),
        "interrupted runs exit 130"
    );
    assert!(
        signalled.elapsed() < std::time::Duration::from_secs(60),
        "stopped {:?} after Ctrl-C",
        signalled.elapsed()
    );
    let r = results(&interrupted).remove(0);
    assert_eq!(r["partial"], true, "{r:#}");
    let events = events_of(&interrupted);
    assert_eq!(
        events.matches(r#""event":"fault-reverted""#).count(),
        2,
        "{events}"
    );
    let clean = chaos(&["clean", "--nodes", NODES_FILE]);
    assert!(clean.status.success());
    assert_eq!(
        String::from_utf8_lossy(&clean.stdout).trim(),
        "",
        "chaos clean healed what the interrupted run left"
    );
    assert!(chaos(&["down", "--nodes", NODES_FILE]).status.success());
    assert_eq!(
        left_on_the_nodes(),
        Vec::<String>::new(),
        "left on the nodes"
    );

    // The same experiment, unchanged, on one engine: the host is a group of containers.
    let one = reports_dir("multi-node-one-engine");
    let out = chaos(&[
        "run",
        "experiments/multi-node/node-crash.yaml",
        "--reports",
        one.to_str().unwrap(),
    ]);
    let r = results(&one).remove(0);
    assert!(
        r["cluster"].get("nodes").is_none(),
        "one engine: no hosts recorded"
    );
    let crashed = hit(fault(&r, "node-crash"));
    assert_eq!(crashed.len(), 2, "{crashed:?}");
    let n = |s: &str| s.rsplit('-').next().unwrap().to_string();
    assert_eq!(
        n(&crashed[0]),
        n(&crashed[1]),
        "kafka-N and zookeeper-N: {crashed:?}"
    );
    assert_eq!(f64_at(&r, "/verification/lost_acked"), 0.0);
    assert_eq!(out.status.code(), Some(0), "{r:#}");
    nodes_script("down");
}

#[test]
#[ignore = "full tier: node-pause on one engine (6 containers), ~90 s"]
fn node_pause_freezes_the_broker_and_zookeeper_of_one_host_and_thaws_both() {
    let _one = cluster_test();
    // One cluster fits two cores: the shared seed cluster goes (the next seed test starts it).
    assert!(chaos(&["down"]).status.success());
    let reports = reports_dir("node-pause");
    let out = chaos(&[
        "run",
        "tests/experiments/node-pause-fast.yaml",
        "--reports",
        reports.to_str().unwrap(),
    ]);
    let r = results(&reports).remove(0);
    assert_eq!(out.status.code(), Some(0), "{r:#}");
    // Both containers of the host: kafka-N and zookeeper-N.
    let frozen = hit(fault(&r, "node-pause"));
    assert_eq!(frozen.len(), 2, "{frozen:?}");
    let n = |s: &str| s.rsplit('-').next().unwrap().to_string();
    assert_eq!(n(&frozen[0]), n(&frozen[1]), "{frozen:?}");
    assert!(
        fault(&r, "node-pause")["healed_at_ms"].as_f64().is_some(),
        "{r:#}"
    );
    // Docker saw each of them paused and unpaused.
    let events = events_of(&reports);
    for service in &frozen {
        for action in ["pause", "unpause"] {
            let line = format!(r#""event":"container","service":"{service}","action":"{action}""#);
            assert!(events.contains(&line), "no {action} of {service}");
        }
    }
    // A frozen broker is a dead one to ZooKeeper once its 6 s session expires; a frozen
    // ZooKeeper leader costs the ensemble syncLimit × tickTime (2 × 2 s) and a vote (< 1 s)
    // first — the node-crash window of the three-host test.
    let window = zk_kill_failover_window_ms(6_000.0, 2_000.0);
    let host_window = *window.start()..=(*window.end() + 2.0 * 2_000.0 + 1_000.0);
    let failover = f64_at(&r, "/failover/metadata_ms/max");
    assert!(
        host_window.contains(&failover),
        "node-pause failover {failover} ms outside {host_window:?}"
    );
    assert_eq!(f64_at(&r, "/verification/lost_acked"), 0.0, "{r:#}");
    assert_everything_healed();
}
