//! Shared by seed_cluster.rs and kraft_cluster.rs: bring a compose file up, check the view,
//! produce and consume through every host listener, and tear down without touching a decoy.
#![allow(dead_code)]

use super::*;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Starts an unlabelled container with a compose service's name; returns its id.
pub fn start_decoy(name: &str) -> String {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use bollard::models::ContainerCreateBody;
        use bollard::query_parameters::{
            CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder,
        };
        let docker = chaos::docker::connect().await.unwrap();
        let _ = docker
            .remove_container(
                name,
                Some(RemoveContainerOptionsBuilder::default().force(true).build()),
            )
            .await;
        let body = ContainerCreateBody {
            image: Some(chaos::docker::images::BASE_IMAGE.into()),
            cmd: Some(vec!["sleep".into(), "infinity".into()]),
            ..Default::default()
        };
        let created = docker
            .create_container(
                Some(CreateContainerOptionsBuilder::default().name(name).build()),
                body,
            )
            .await
            .unwrap();
        docker
            .start_container(
                name,
                None::<bollard::query_parameters::StartContainerOptions>,
            )
            .await
            .unwrap();
        created.id
    })
}

pub fn decoy_state(name: &str) -> Option<String> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let docker = chaos::docker::connect().await.unwrap();
        docker
            .inspect_container(name, None)
            .await
            .ok()?
            .state?
            .status
            .map(|s| s.to_string())
    })
}

pub fn remove_decoy(name: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let docker = chaos::docker::connect().await.unwrap();
        let options = bollard::query_parameters::RemoveContainerOptionsBuilder::default()
            .force(true)
            .build();
        let _ = docker.remove_container(name, Some(options)).await;
    });
}

pub fn status_json(cluster: &str) -> Value {
    let out = chaos(&["status", "--json", "--cluster", cluster]);
    assert!(out.status.success(), "status failed");
    serde_json::from_slice(&out.stdout).expect("status --json is JSON")
}

/// A topic with replication factor 3; then one message produced and consumed through each
/// host listener.
pub fn produce_and_consume_through_each_listener(listeners: &[&str], topic: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let all = listeners.join(",");
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &all)
        .set("broker.address.family", "v4")
        .create()
        .unwrap();
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let _ = rt.block_on(admin.delete_topics(&[topic], &options));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let created = rt
            .block_on(admin.create_topics(
                &[NewTopic::new(topic, 3, TopicReplication::Fixed(3))],
                &options,
            ))
            .unwrap();
        match &created[0] {
            Ok(_) => break,
            Err((_, code)) if Instant::now() < deadline => {
                eprintln!("create {topic}: {code}, retrying");
                std::thread::sleep(Duration::from_millis(500));
            }
            Err((_, code)) => panic!("create {topic}: {code}"),
        }
    }
    for (i, listener) in listeners.iter().enumerate() {
        let producer: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", *listener)
            .set("broker.address.family", "v4")
            .set("acks", "all")
            .create()
            .unwrap();
        let payload = format!("hello through {listener}");
        producer
            .send(
                BaseRecord::<(), str>::to(topic)
                    .partition(i as i32 % 3)
                    .payload(&payload),
            )
            .map_err(|(e, _)| e)
            .unwrap();
        producer.flush(Duration::from_secs(30)).unwrap();
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", *listener)
            .set("broker.address.family", "v4")
            .set("group.id", "chaos-test")
            .set("enable.auto.commit", "false")
            .create()
            .unwrap();
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, i as i32 % 3, Offset::Beginning)
            .unwrap();
        consumer.assign(&tpl).unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut got = Vec::new();
        while Instant::now() < deadline && !got.contains(&payload) {
            if let Some(Ok(m)) = consumer.poll(Duration::from_millis(500)) {
                got.push(String::from_utf8_lossy(m.payload().unwrap_or_default()).to_string());
            }
        }
        assert!(
            got.contains(&payload),
            "did not read back through {listener}: {got:?}"
        );
    }
}

/// up → status (3 brokers, a controller, RF 3 topic with full ISR) → produce/consume on every
/// listener → down, with an unlabelled decoy named like a service surviving all of it.
pub fn lifecycle(compose: &str, cluster: &str) {
    let decoy = "kafka-1";
    start_decoy(decoy);
    let out = chaos(&["up", "-f", compose, "--fresh"]);
    assert!(out.status.success(), "chaos up failed");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("ready in"), "{stdout}");

    let listeners = ["127.0.0.1:29092", "127.0.0.1:39092", "127.0.0.1:49092"];
    produce_and_consume_through_each_listener(&listeners, "lifecycle");
    let status = status_json(cluster);
    assert_eq!(status["cluster"], cluster);
    let brokers: Vec<i64> = status["view"]["brokers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_i64)
        .collect();
    assert_eq!(brokers, vec![1, 2, 3]);
    assert!(
        status["view"]["controller"].as_i64().is_some(),
        "no controller: {status:#}"
    );
    let partitions = status["view"]["partitions"].as_array().unwrap();
    let lifecycle: Vec<&Value> = partitions
        .iter()
        .filter(|p| p["topic"] == "lifecycle")
        .collect();
    assert_eq!(lifecycle.len(), 3);
    for p in lifecycle {
        assert!(p["leader"].as_i64().is_some(), "{p}");
        assert_eq!(p["isr"].as_array().unwrap().len(), 3, "{p}");
    }
    assert_eq!(decoy_state(decoy).as_deref(), Some("running"));

    let out = chaos(&["down", "--cluster", cluster]);
    assert!(out.status.success());
    let out = chaos(&["clean", "--all"]);
    assert!(out.status.success());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let left = rt.block_on(async {
        let docker = chaos::docker::connect().await.unwrap();
        chaos::docker::cluster::lifecycle::list(&docker, Some(cluster))
            .await
            .unwrap()
    });
    assert!(left.is_empty(), "labelled containers left: {left:?}");
    // Status of a cluster that is gone: said, exit 2 (not an empty table and exit 4).
    let out = chaos(&["status", "--cluster", cluster]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("no cluster named {cluster}")));
    assert_eq!(
        decoy_state(decoy).as_deref(),
        Some("running"),
        "the unlabelled decoy must survive up/down/clean"
    );
    remove_decoy(decoy);
}
