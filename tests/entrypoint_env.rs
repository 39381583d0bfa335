//! The image entrypoint's environment → configuration mapping, against the cp-kafka /
//! cp-zookeeper images' documented rules (CHAOS_DRY_RUN prints the generated file).

use std::collections::BTreeMap;
use std::process::Command;

fn generated(env: &[(&str, &str)]) -> BTreeMap<String, String> {
    let out = Command::new("bash")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/images/entrypoint.sh"))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("CHAOS_DRY_RUN", "1")
        .envs(env.iter().copied())
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            l.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
        })
        .collect()
}

#[test]
fn kafka_variables_become_properties_with_the_cp_rules() {
    let p = generated(&[
        ("KAFKA_BROKER_ID", "1"),
        ("KAFKA_ZOOKEEPER_CONNECT", "zookeeper-1:2181"),
        (
            "KAFKA_LISTENER_SECURITY_PROTOCOL_MAP",
            "PLAINTEXT:PLAINTEXT,PLAINTEXT_HOST:PLAINTEXT",
        ),
        (
            "KAFKA_ADVERTISED_LISTENERS",
            "PLAINTEXT://kafka-1:9092,PLAINTEXT_HOST://localhost:29092",
        ),
        ("KAFKA_CONFLUENT_SUPPORT__METRICS___ENABLE", "false"),
        ("KAFKA_HEAP_OPTS", "-Xmx1g"),
        ("KAFKA_JMX_PORT", "9999"),
        ("KAFKA_LOG4J_ROOT_LOGLEVEL", "WARN"),
    ]);
    assert_eq!(p["broker.id"], "1");
    assert_eq!(p["zookeeper.connect"], "zookeeper-1:2181");
    // "__" → "_", "___" → "-", "_" → "."
    assert_eq!(p["confluent.support_metrics-enable"], "false");
    // listeners derived from the advertised listeners, every host 0.0.0.0
    assert_eq!(
        p["listeners"],
        "PLAINTEXT://0.0.0.0:9092,PLAINTEXT_HOST://0.0.0.0:29092"
    );
    // image variables are not properties
    assert!(
        !p.keys()
            .any(|k| k.starts_with("heap") || k.starts_with("jmx") || k.starts_with("log4j")),
        "{p:?}"
    );
    assert_eq!(p["log.dirs"], "/var/lib/kafka/data");
}

#[test]
fn explicit_listeners_are_kept() {
    let p = generated(&[
        ("KAFKA_NODE_ID", "2"),
        ("KAFKA_PROCESS_ROLES", "broker,controller"),
        (
            "KAFKA_LISTENERS",
            "PLAINTEXT://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093",
        ),
        ("KAFKA_ADVERTISED_LISTENERS", "PLAINTEXT://kafka-2:9092"),
        (
            "KAFKA_CONTROLLER_QUORUM_VOTERS",
            "1@kafka-1:9093,2@kafka-2:9093",
        ),
        ("CLUSTER_ID", "abc"),
    ]);
    assert_eq!(
        p["listeners"],
        "PLAINTEXT://0.0.0.0:9092,CONTROLLER://0.0.0.0:9093"
    );
    assert_eq!(p["process.roles"], "broker,controller");
    assert_eq!(
        p["controller.quorum.voters"],
        "1@kafka-1:9093,2@kafka-2:9093"
    );
    assert!(
        !p.contains_key("cluster.id"),
        "CLUSTER_ID formats the storage; it is not a property"
    );
}

#[test]
fn zookeeper_variables_become_zoo_cfg() {
    let z = generated(&[
        ("ZOOKEEPER_SERVER_ID", "1"),
        ("ZOOKEEPER_CLIENT_PORT", "2181"),
        ("ZOOKEEPER_TICK_TIME", "2000"),
        ("ZOOKEEPER_INIT_LIMIT", "5"),
        ("ZOOKEEPER_SYNC_LIMIT", "2"),
        ("ZOOKEEPER_SERVERS", "zk1:2888:3888;zk2:2888:3888"),
    ]);
    assert_eq!(z["clientPort"], "2181");
    assert_eq!(z["tickTime"], "2000");
    assert_eq!(z["initLimit"], "5");
    assert_eq!(z["syncLimit"], "2");
    assert_eq!(z["server.1"], "zk1:2888:3888");
    assert_eq!(z["server.2"], "zk2:2888:3888");
    assert_eq!(z["4lw.commands.whitelist"], "*", "readiness uses srvr");
}
