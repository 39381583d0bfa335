//! The drivers of the clients out of process (java/ChaosProducer.java, python/chaos_producer.py)
//! and their Rust side, without a cluster: the line protocol, a record never queued (no
//! broker: metadata never arrives) answered as a definite failure, an expired one as unknown,
//! a setting the client refuses named at start, a driver that dies said, not silence, and the
//! checks `validate` makes. Needs the Java client and librdkafka 2.16.0 through Python
//! installed (scripts/java-client.sh, scripts/python-client.sh, which the README's test command
//! runs); fails, never skips, without them. ~8 s (JVM and Python starts).

use chaos::analysis::verify::NotAcked;
use chaos::kafka::client_driver::{ClientDriver, DriverOptions, Outcomes};
use chaos::kafka::client_install::{self, JavaInstall, PythonInstall};
use chaos::kafka::payload::Identity;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Seen {
    acked: Mutex<Vec<(Identity, i64)>>,
    not_acked: Mutex<Vec<(Identity, NotAcked, String)>>,
    died: Mutex<Vec<String>>,
    blocked: Mutex<Vec<u64>>,
}

impl Outcomes for Seen {
    fn acked(&self, id: &Identity, offset: i64) {
        self.acked.lock().unwrap().push((*id, offset));
    }
    fn not_acked(&self, id: &Identity, how: NotAcked, error: &str) {
        self.not_acked
            .lock()
            .unwrap()
            .push((*id, how, error.to_string()));
    }
    fn driver_died(&self, why: String) {
        self.died.lock().unwrap().push(why);
    }
    fn send_blocked(&self, ms: u64) {
        self.blocked.lock().unwrap().push(ms);
    }
    fn lost_brokers(&self) {}
}

fn install() -> JavaInstall {
    JavaInstall::find("3.9.1").expect("the Java client 3.9.1 (scripts/java-client.sh)")
}

/// What a workload asks, of a cluster that is not there: nothing listens on port 1, no
/// metadata ever comes.
fn without_a_cluster(
    delivery_timeout: Duration,
    extra: &[(String, String)],
) -> client_install::WorkloadSettings<'_> {
    client_install::WorkloadSettings {
        bootstrap: "127.0.0.1:1",
        acks: "all",
        idempotence: false,
        delivery_timeout,
        retries: None,
        extra,
    }
}

/// The Java client, whose send() waits 500 ms for the topic's metadata, then refuses.
fn java_without_a_cluster(extra: &[(String, String)]) -> Vec<(String, String)> {
    let mut extra = extra.to_vec();
    extra.push(("max.block.ms".into(), "500".into()));
    without_a_cluster(Duration::from_millis(1500), &extra).java()
}

/// A driver on topic `orders` answering into `outcomes`.
fn start(
    command: chaos::kafka::client_driver::DriverCommand,
    settings: Vec<(String, String)>,
    outcomes: Arc<Seen>,
) -> Result<ClientDriver, chaos::kafka::client_driver::DriverError> {
    ClientDriver::start(
        DriverOptions {
            command,
            topic: "orders",
            settings,
            security: &Default::default(),
        },
        outcomes,
    )
}

fn id(seq: u64) -> Identity {
    Identity {
        producer_id: 7,
        partition: 0,
        seq,
        sent_at_us: 0,
    }
}

fn wait_until(what: &str, timeout: Duration, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "{what}: not within {timeout:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_record_never_queued_is_a_definite_failure_and_close_is_clean() {
    let install = install();
    let seen = Arc::new(Seen::default());
    let driver = start(install.command(), java_without_a_cluster(&[]), seen.clone())
        .expect("the driver starts (the Java client connects lazily)");
    assert_eq!(driver.version, "3.9.1", "the version is the client's own");
    for seq in 0..3 {
        driver
            .send(id(seq), None, b"CHS1 payload")
            .expect("sent to the driver");
    }
    // Each send() blocks max.block.ms (500 ms) for metadata, then refuses: 3 × 0.5 s.
    wait_until("three answers", Duration::from_secs(10), || {
        seen.not_acked.lock().unwrap().len() == 3
    });
    let not_acked = seen.not_acked.lock().unwrap().clone();
    for (i, (id, how, error)) in not_acked.iter().enumerate() {
        assert_eq!(
            id.seq, i as u64,
            "answers come back matched to their record"
        );
        assert_eq!(
            *how,
            NotAcked::Failed,
            "never queued: not written ({error})"
        );
        assert!(error.contains("TimeoutException"), "{error}");
    }
    // Each send() waited for metadata: the blocking is said, about max.block.ms each.
    let blocked = seen.blocked.lock().unwrap().clone();
    assert_eq!(blocked.len(), 3, "{blocked:?}");
    assert!(
        blocked.iter().all(|ms| (450..=2_000).contains(ms)),
        "{blocked:?}"
    );
    driver.close(Duration::from_secs(10));
    assert!(seen.acked.lock().unwrap().is_empty());
    assert!(
        seen.died.lock().unwrap().is_empty(),
        "a driver asked to close did not die: {:?}",
        seen.died.lock().unwrap()
    );
}

#[test]
fn a_setting_the_java_client_refuses_is_named_at_start() {
    let install = install();
    let refused = start(
        install.command(),
        java_without_a_cluster(&[("linger.ms".into(), "soon".into())]),
        Arc::new(Seen::default()),
    )
    .err()
    .expect("linger.ms=soon is refused");
    let text = refused.to_string();
    assert!(
        text.contains("ConfigException") && text.contains("linger.ms"),
        "{text}"
    );
}

#[test]
fn a_driver_that_dies_is_said_with_what_had_no_answer() {
    let install = install();
    let seen = Arc::new(Seen::default());
    // Metadata is waited for a minute: the record stays without an answer.
    let driver = start(
        install.command(),
        without_a_cluster(Duration::from_secs(60), &[]).java(),
        seen.clone(),
    )
    .expect("the driver starts");
    driver.send(id(0), None, b"CHS1 payload").expect("sent");
    let status = std::process::Command::new("kill")
        .args(["-KILL", &driver.pid().to_string()])
        .status()
        .expect("kill(1)");
    assert!(status.success());
    wait_until("the death said", Duration::from_secs(10), || {
        !seen.died.lock().unwrap().is_empty()
    });
    let died = seen.died.lock().unwrap().clone();
    assert!(
        died[0].contains("exited without closing") && died[0].contains("1 record(s) had no answer"),
        "{died:?}"
    );
    assert!(
        driver.send(id(1), None, b"CHS1 payload").is_err() || {
            // The pipe may take the line before the write sees the broken pipe: the next does.
            driver.send(id(2), None, b"CHS1 payload").is_err()
        },
        "sending to a dead driver is an error"
    );
}

fn validate(experiment: &str) -> std::process::Output {
    let dir = std::env::temp_dir().join(format!("chaos-java-validate-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("e.yaml");
    std::fs::write(&file, experiment).unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_chaos"))
        .args(["validate"])
        .arg(&file)
        .output()
        .expect("chaos validate")
}

const EXPERIMENT: &str =
    "name: j\ncluster:\n  compose: COMPOSE\ntopics:\n  - name: orders\nworkload:\n  acks: all\n";

fn experiment(workload_lines: &str) -> String {
    let compose = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("compose/seed.yml");
    EXPERIMENT.replace("COMPOSE", compose.to_str().unwrap()) + workload_lines
}

#[test]
fn a_java_client_version_not_installed_is_refused_with_its_line_and_the_install_command() {
    let out = validate(&experiment("  client: java@0.0.1-none\n"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("e.yaml:8: workload.client: the Java client 0.0.1-none is not installed")
            && stderr.contains("hint: scripts/java-client.sh 0.0.1-none"),
        "{stderr}"
    );
}

#[test]
fn a_librdkafka_setting_given_to_the_java_client_is_refused_before_the_run() {
    let out = validate(&experiment(
        "  client: java@3.9.1\n  producer-config:\n    queue.buffering.max.ms: \"5\"\n",
    ));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("workload.producer-config.queue.buffering.max.ms")
            && stderr.contains("not a setting of the Java client's producer")
            && stderr.contains("e.yaml:10:"),
        "{stderr}"
    );
    // Java's own name is accepted.
    let ok = validate(&experiment(
        "  client: java@3.9.1\n  producer-config:\n    retry.backoff.ms: \"50\"\n",
    ));
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

#[test]
fn a_librdkafka_consumer_setting_given_to_java_group_members_is_refused_with_its_line() {
    let group = |key_value: &str| {
        experiment(&format!(
            "  client: java@4.1.1\n  group:\n    id: g\n    consumer-config:\n      {key_value}\n"
        ))
    };
    let out = validate(&group("fetch.wait.max.ms: \"50\""));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("e.yaml:12: workload.group.consumer-config.fetch.wait.max.ms")
            && stderr.contains("not a setting of the Java client's consumer"),
        "{stderr}"
    );
    // Java's own name for it is accepted.
    let ok = validate(&group("fetch.max.wait.ms: \"50\""));
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
}

/// The Java consumer's driver without a cluster: it starts (a consumer needs no broker to be
/// created), a stop closes it with `closed` and no death reported; a kill (a member crash) is
/// not a death either; a setting Java refuses is named at start; a driver killed from outside
/// is said.
#[test]
fn the_java_consumer_driver_starts_stops_and_is_killed_without_a_cluster() {
    use chaos::events::CommitMode;
    use chaos::kafka::consumer_driver::{ConsumerAnswer, ConsumerDriver, Role};
    let command = JavaInstall::find("4.1.1")
        .expect("the Java client 4.1.1 (scripts/java-client.sh)")
        .consumer_command();
    let member = Role::Member {
        commit: CommitMode::Sync,
        commit_interval: Duration::ZERO,
        processing: Duration::ZERO,
    };
    let settings = |extra: &[(&str, &str)]| -> Vec<(String, String)> {
        [("bootstrap.servers", "127.0.0.1:1"), ("group.id", "g")]
            .iter()
            .chain(extra)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let start = |extra: &[(&str, &str)]| {
        let answers: Arc<Mutex<Vec<ConsumerAnswer>>> = Arc::default();
        let died: Arc<Mutex<Vec<String>>> = Arc::default();
        let (a, d) = (answers.clone(), died.clone());
        let driver = ConsumerDriver::start(
            &command,
            "orders",
            member,
            &settings(extra),
            &Default::default(),
            move |answer| a.lock().unwrap().push(answer),
            move |why| d.lock().unwrap().push(why),
        );
        (driver, answers, died)
    };

    let (driver, answers, died) = start(&[]);
    let driver = driver.expect("the consumer starts without a broker");
    assert_eq!(driver.version, "4.1.1");
    driver.close(Duration::from_secs(20));
    assert_eq!(
        answers.lock().unwrap().last(),
        Some(&ConsumerAnswer::Closed),
        "{:?}",
        answers.lock().unwrap()
    );
    assert!(
        died.lock().unwrap().is_empty(),
        "{:?}",
        died.lock().unwrap()
    );

    let (driver, _, died) = start(&[]);
    let driver = driver.expect("starts");
    driver.kill();
    driver.close(Duration::from_secs(5));
    assert!(
        died.lock().unwrap().is_empty(),
        "a crash on purpose is not a death: {:?}",
        died.lock().unwrap()
    );

    let (driver, _, died) = start(&[]);
    let driver = driver.expect("starts");
    let pid = driver.pid();
    let killed = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    wait_until("the death said", Duration::from_secs(10), || {
        !died.lock().unwrap().is_empty()
    });
    assert!(
        died.lock().unwrap()[0].contains("exited without closing"),
        "{:?}",
        died.lock().unwrap()
    );

    let (refused, _, _) = start(&[
        ("session.timeout.ms", "6000"),
        ("group.protocol", "consumer"),
    ]);
    let e = refused
        .err()
        .expect("Java refuses a session timeout with the consumer protocol");
    assert!(e.to_string().contains("session.timeout.ms"), "{e}");
}

#[test]
fn librdkafka_through_python_reports_its_version_and_an_expired_record_as_unknown() {
    let install =
        PythonInstall::find("2.16.0").expect("librdkafka 2.16.0 (scripts/python-client.sh)");
    let seen = Arc::new(Seen::default());
    let driver = start(
        install.command(),
        without_a_cluster(Duration::from_millis(1000), &[]).librdkafka(),
        seen.clone(),
    )
    .expect("the driver starts");
    assert_eq!(driver.version, "2.16.0", "the librdkafka the wheel carries");
    driver.send(id(0), None, b"CHS1 payload").expect("sent");
    // No broker: the message expires after delivery.timeout.ms (1 s). Whether it was ever
    // sent is not said through Python: unknown, never a definite failure.
    wait_until("the expiry", Duration::from_secs(10), || {
        seen.not_acked.lock().unwrap().len() == 1
    });
    let (got, how, error) = seen.not_acked.lock().unwrap()[0].clone();
    assert_eq!(got.seq, 0);
    assert_eq!(how, NotAcked::TimedOutInFlight, "{error}");
    driver.close(Duration::from_secs(10));
    assert!(seen.died.lock().unwrap().is_empty());
}

#[test]
fn a_setting_librdkafka_refuses_is_named_at_start_through_python_too() {
    let install =
        PythonInstall::find("2.16.0").expect("librdkafka 2.16.0 (scripts/python-client.sh)");
    let refused = start(
        install.command(),
        without_a_cluster(
            Duration::from_secs(5),
            &[("no.such.setting".into(), "1".into())],
        )
        .librdkafka(),
        Arc::new(Seen::default()),
    )
    .err()
    .expect("refused");
    assert!(refused.to_string().contains("no.such.setting"), "{refused}");
}
