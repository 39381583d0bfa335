//! A compose file whose start cannot succeed, on the real Docker engine: each reason is said
//! with the service it is about, before any broker starts, and nothing of the project is left
//! running. Full tier (each case starts containers).

mod common;

use common::*;

/// A one-broker KRaft cluster whose broker waits for `gate` (`condition`), plus `extra` YAML
/// under `services:` and at the top level.
fn compose(dir: &std::path::Path, gate: &str, condition: &str, top: &str) -> std::path::PathBuf {
    let file = dir.join("compose.yml");
    std::fs::write(
        &file,
        format!(
            "services:\n{gate}\n  kafka-1:\n    image: chaos/kafka:4.1.1\n    depends_on:\n      gate: {{condition: {condition}}}\n    ports: [\"127.0.0.1:29392:29392\"]\n    environment:\n      KAFKA_NODE_ID: 1\n      KAFKA_PROCESS_ROLES: broker,controller\n      KAFKA_CONTROLLER_QUORUM_VOTERS: 1@kafka-1:9093\n      KAFKA_LISTENERS: PLAINTEXT://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093,PLAINTEXT_HOST://0.0.0.0:29392\n      KAFKA_ADVERTISED_LISTENERS: PLAINTEXT://kafka-1:9092,PLAINTEXT_HOST://localhost:29392\n      KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,PLAINTEXT_HOST:PLAINTEXT\n      KAFKA_CONTROLLER_LISTENER_NAMES: CONTROLLER\n      KAFKA_INTER_BROKER_LISTENER_NAME: PLAINTEXT\n      CLUSTER_ID: MkU3OEVBNTcwNTJENDM2Qk\n{top}"
        ),
    )
    .unwrap();
    file
}

/// `chaos up` of `file` as project `name`: it fails, and says every one of `said`; the broker
/// never ran; `chaos down` leaves nothing of the project.
fn up_fails_saying(file: &std::path::Path, name: &str, said: &[&str]) {
    let out = chaos(&[
        "up",
        "-f",
        file.to_str().unwrap(),
        "-p",
        name,
        "--timeout",
        "60s",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let down = chaos(&["down", "--cluster", name]);
    assert!(!out.status.success(), "chaos up must fail: {stderr}");
    for s in said {
        assert!(stderr.contains(s), "{s:?} in: {stderr}");
    }
    assert!(down.status.success());
    let left = std::process::Command::new("docker")
        .args([
            "ps",
            "-a",
            "--filter",
            &format!("label=com.docker.compose.project={name}"),
            "-q",
        ])
        .output()
        .expect("docker ps");
    assert!(
        String::from_utf8_lossy(&left.stdout).trim().is_empty(),
        "containers of {name} left after down"
    );
}

#[test]
#[ignore = "full tier: real Docker, ~40 s"]
fn a_start_that_cannot_succeed_names_the_service_and_why() {
    let _one = cluster_test();
    let dir = tempfile::tempdir().unwrap();
    // A one-off that exits 3: the broker waiting for its success never starts.
    let file = compose(
        dir.path(),
        "  gate:\n    image: chaos/base:bookworm-jre17\n    command: [\"sh\", \"-c\", \"exit 3\"]",
        "service_completed_successfully",
        "",
    );
    up_fails_saying(
        &file,
        "chaos-start-oneoff",
        &["service gate was not ready", "it exited with code 3"],
    );
    // A healthcheck that always fails: unhealthy, said with the service.
    let file = compose(
        dir.path(),
        "  gate:\n    image: chaos/base:bookworm-jre17\n    command: [\"sleep\", \"600\"]\n    healthcheck: {test: [\"CMD\", \"false\"], interval: 1s, timeout: 1s, retries: 2}",
        "service_healthy",
        "",
    );
    up_fails_saying(
        &file,
        "chaos-start-unhealthy",
        &[
            "service gate was not ready",
            "healthcheck: unhealthy (last probe: exit 1",
        ],
    );
    // service_healthy on a service without a healthcheck: the hint says what to do.
    let file = compose(
        dir.path(),
        "  gate:\n    image: chaos/base:bookworm-jre17\n    command: [\"sleep\", \"600\"]",
        "service_healthy",
        "",
    );
    up_fails_saying(
        &file,
        "chaos-start-nocheck",
        &["gate has no healthcheck", "condition: service_started"],
    );
    // An external volume that does not exist: named, with the command that creates it.
    let file = compose(
        dir.path(),
        "  gate:\n    image: chaos/base:bookworm-jre17\n    command: [\"sleep\", \"600\"]\n    volumes: [\"shared:/data\"]",
        "service_started",
        "volumes:\n  shared: {external: true, name: chaos-test-no-such-volume}\n",
    );
    up_fails_saying(
        &file,
        "chaos-start-external",
        &[
            "chaos-test-no-such-volume",
            "does not exist",
            "docker volume create",
        ],
    );
}
