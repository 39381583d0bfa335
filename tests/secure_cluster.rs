//! A real broker that only takes TLS + SASL clients (tests/compose/secure.yml, one KRaft
//! broker): a run whose experiment says `client-security` (SCRAM-SHA-512 over SASL_SSL),
//! `chaos observe` configured from the environment and flags (PLAIN over SASL_PLAINTEXT),
//! `chaos status` with SCRAM-SHA-256; every acked message re-read, the password in no output
//! and no report; a wrong password fails at once, naming the mechanism. The test makes the
//! CA and certificates with openssl and removes the cluster however it ends.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const CLUSTER: &str = "sec-test";

/// `chaos` with `env` added and every CHAOS_KAFKA_* of the caller removed.
fn chaos_with(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chaos"));
    for (k, _) in std::env::vars() {
        if k.starts_with("CHAOS_KAFKA_") {
            command.env_remove(k);
        }
    }
    command.envs(env.iter().copied());
    logged(command, args)
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl (Debian's openssl package)");
    assert!(
        out.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, the broker's certificate for localhost and 127.0.0.1 signed by it, a client's
/// (client.pem, client.key), and the broker's PKCS#12 keystore (base64, for the compose file's
/// environment).
fn make_certificates(dir: &Path) -> String {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=chaos sec-test CA",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "broker.key",
            "-out",
            "broker.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "broker.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "broker.pem",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ],
    );
    openssl(
        dir,
        &[
            "pkcs12",
            "-export",
            "-in",
            "broker.pem",
            "-inkey",
            "broker.key",
            "-certfile",
            "ca.pem",
            "-name",
            "broker",
            "-out",
            "broker.p12",
            "-passout",
            "pass:changeit",
        ],
    );
    // A client's certificate, signed by the same CA, for the mutual-TLS listener.
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "client.key",
            "-out",
            "client.csr",
            "-subj",
            "/CN=chaos-client",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "client.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "client.pem",
            "-days",
            "2",
        ],
    );
    // A stranger: a self-signed client certificate no CA of the broker's vouches for.
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "stranger.key",
            "-out",
            "stranger.pem",
            "-days",
            "2",
            "-subj",
            "/CN=stranger",
        ],
    );
    base64_of(&dir.join("broker.p12"))
}

fn base64_of(file: &Path) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(std::fs::read(file).unwrap())
}

/// Removes the cluster when the test ends, however it ends.
struct Down;

impl Drop for Down {
    fn drop(&mut self) {
        chaos_with(&["down", "--cluster", CLUSTER], &[]);
    }
}

/// Every file under `dir`, as text.
fn every_file(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let text = String::from_utf8_lossy(&std::fs::read(&p).unwrap()).to_string();
                files.push((p, text));
            }
        }
    }
    files
}

fn assert_secret_absent(password: &str, outputs: &[&Output], reports: &[&Path]) {
    for out in outputs {
        for stream in [&out.stdout, &out.stderr] {
            assert!(
                !String::from_utf8_lossy(stream).contains(password),
                "the password was printed"
            );
        }
    }
    for dir in reports {
        let files = every_file(dir);
        assert!(files.len() >= 3, "reports in {}", dir.display());
        for (path, text) in files {
            assert!(
                !text.contains(password),
                "the password is in {}",
                path.display()
            );
        }
    }
}

fn only_result(reports: &Path) -> Value {
    let results = results(reports);
    assert_eq!(results.len(), 1, "one run in {}", reports.display());
    results.into_iter().next().unwrap()
}

#[test]
#[ignore = "full tier: a TLS + SASL cluster, ~90 s"]
fn tls_and_sasl_clients_write_and_reread_without_printing_the_password() {
    let _one = cluster_test();
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let keystore = make_certificates(dir);
    // Fresh for each run: found nowhere unless something printed it.
    let password = format!(
        "pw{}x{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let ca = dir.join("ca.pem");
    let ca = ca.to_str().unwrap();
    let _down = Down;

    // 1. A run whose experiment connects with SCRAM-SHA-512 over SASL_SSL: the cluster is
    // started by chaos and its readiness checked through that listener too.
    let experiment = dir.join("secure-scram.yaml");
    std::fs::write(
        &experiment,
        format!(
            "name: secure-scram\n\
             cluster:\n  compose: {compose}\n  warm-up: 0s\n  client-security:\n    protocol: sasl-ssl\n    \
             sasl: {{mechanism: scram-sha-512, username: alice, password-env: SEC_TEST_PASSWORD}}\n    \
             tls: {{ca-file: ca.pem}}\n\
             topics:\n  - {{name: secured, partitions: 2, replication-factor: 1}}\n\
             workload: {{acks: all, rate: 100, consumer: true}}\n\
             steps:\n  - wait: 8s\n\
             expect:\n  - verification.lost_acked == 0\n",
            compose = repo().join("tests/compose/secure.yml").display()
        ),
    )
    .unwrap();
    let run_reports = reports_dir("secure-run");
    let ca_pem = base64_of(&dir.join("ca.pem"));
    let env = [
        ("SEC_TEST_PASSWORD", password.as_str()),
        ("SEC_TEST_KEYSTORE", keystore.as_str()),
        ("SEC_TEST_CA", ca_pem.as_str()),
    ];
    let run = chaos_with(
        &[
            "run",
            experiment.to_str().unwrap(),
            "--keep",
            "--fresh",
            "--reports",
            run_reports.to_str().unwrap(),
        ],
        &env,
    );
    let r = only_result(&run_reports);
    assert_eq!(run.status.code(), Some(0), "{r:#}");
    assert_eq!(f64_at(&r, "/verification/lost_acked"), 0.0, "{r:#}");
    assert!(f64_at(&r, "/verification/acked") >= 400.0, "{r:#}");
    assert!(
        r["notes"]
            .to_string()
            .contains("clients connect over SASL_SSL (SCRAM-SHA-512 as alice, CA "),
        "{r:#}"
    );
    eprintln!("run done after {:.1} s", started.elapsed().as_secs_f64());

    // 1b. The same run with Apache Kafka's Java client as the producer and the live consumer
    // (two JVMs): SASL_SSL with SCRAM-SHA-512 in Java's names (a JAAS line, a PEM truststore).
    let java_experiment = dir.join("secure-scram-java.yaml");
    std::fs::write(
        &java_experiment,
        std::fs::read_to_string(&experiment).unwrap().replace(
            "workload: {acks: all, rate: 100, consumer: true}",
            "workload: {acks: all, rate: 100, consumer: true, client: java@4.1.1}",
        ),
    )
    .unwrap();
    let java_reports = reports_dir("secure-run-java");
    let java_run = chaos_with(
        &[
            "run",
            java_experiment.to_str().unwrap(),
            "--keep",
            "--reports",
            java_reports.to_str().unwrap(),
        ],
        &env,
    );
    let j = only_result(&java_reports);
    assert_eq!(java_run.status.code(), Some(0), "{j:#}");
    assert!(
        j["cluster"]["settings"]
            .to_string()
            .contains(r#"["client:java","4.1.1"]"#),
        "{j:#}"
    );
    assert_eq!(f64_at(&j, "/verification/lost_acked"), 0.0, "{j:#}");
    assert!(f64_at(&j, "/verification/acked") >= 400.0, "{j:#}");
    assert_eq!(
        f64_at(&j, "/consumer/received"),
        f64_at(&j, "/verification/acked"),
        "the Java live consumer read every acked message over SASL_SSL: {j:#}"
    );
    eprintln!(
        "Java run done after {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // 2. `chaos observe` from the environment and the flags: PLAIN over SASL_PLAINTEXT, at
    // the most verbose logging (-vv).
    let observe_reports = reports_dir("secure-observe");
    let observe = chaos_with(
        &[
            "-vv",
            "observe",
            "--bootstrap",
            "127.0.0.1:29194",
            "--security-protocol",
            "sasl-plaintext",
            "--sasl-mechanism",
            "plain",
            "--duration",
            "6s",
            "--rate",
            "100",
            "--partitions",
            "2",
            "--replication-factor",
            "1",
            "--min-insync-replicas",
            "1",
            "--reports",
            observe_reports.to_str().unwrap(),
        ],
        &[
            ("CHAOS_KAFKA_SASL_USERNAME", "alice"),
            ("CHAOS_KAFKA_SASL_PASSWORD", &password),
        ],
    );
    let o = only_result(&observe_reports);
    assert_eq!(observe.status.code(), Some(0), "{o:#}");
    assert_eq!(f64_at(&o, "/verification/lost_acked"), 0.0, "{o:#}");
    assert!(f64_at(&o, "/verification/acked") >= 300.0, "{o:#}");
    assert!(
        o["notes"]
            .to_string()
            .contains("over SASL_PLAINTEXT (PLAIN as alice)"),
        "{o:#}"
    );
    eprintln!(
        "observe done after {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // 3. `chaos status` with SCRAM-SHA-256 over SASL_SSL, all from the environment.
    let scram256 = [
        ("CHAOS_KAFKA_SECURITY_PROTOCOL", "SASL_SSL"),
        ("CHAOS_KAFKA_SASL_MECHANISM", "SCRAM-SHA-256"),
        ("CHAOS_KAFKA_SASL_USERNAME", "alice"),
        ("CHAOS_KAFKA_SASL_PASSWORD", password.as_str()),
        ("CHAOS_KAFKA_SSL_CA", ca),
    ];
    let status = chaos_with(&["status", "--cluster", CLUSTER, "--json"], &scram256);
    assert_eq!(status.status.code(), Some(0));
    let s: Value = serde_json::from_slice(&status.stdout).expect("status JSON");
    assert!(s["view_error"].is_null(), "{s:#}");
    assert_eq!(s["view"]["brokers"], serde_json::json!([1]), "{s:#}");

    // 4. A wrong password: a clear authentication error naming the mechanism, at once.
    let wrong = format!("{password}-wrong");
    let asked = Instant::now();
    let refused_reports = reports_dir("secure-refused");
    let refused = chaos_with(
        &[
            "observe",
            "--bootstrap",
            "127.0.0.1:29193",
            "--duration",
            "5s",
            "--reports",
            refused_reports.to_str().unwrap(),
        ],
        &[
            ("CHAOS_KAFKA_SECURITY_PROTOCOL", "sasl-ssl"),
            ("CHAOS_KAFKA_SASL_MECHANISM", "scram-sha-512"),
            ("CHAOS_KAFKA_SASL_USERNAME", "alice"),
            ("CHAOS_KAFKA_SASL_PASSWORD", &wrong),
            ("CHAOS_KAFKA_SSL_CA", ca),
        ],
    );
    let took = asked.elapsed();
    eprintln!("wrong password refused after {:.2} s", took.as_secs_f64());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("SASL SCRAM-SHA-512 authentication failed")
            && stderr.contains("refused the credentials of user `alice`"),
        "{stderr}"
    );
    assert!(took < Duration::from_secs(10), "refused after {took:?}");
    assert!(!stderr.contains(&wrong));
    // A TLS client that does not trust the broker's CA is refused by its own check.
    let untrusted = chaos_with(
        &["status", "--cluster", CLUSTER],
        &[
            ("CHAOS_KAFKA_SECURITY_PROTOCOL", "sasl-ssl"),
            ("CHAOS_KAFKA_SASL_MECHANISM", "scram-sha-512"),
            ("CHAOS_KAFKA_SASL_USERNAME", "alice"),
            ("CHAOS_KAFKA_SASL_PASSWORD", &password),
        ],
    );
    assert!(
        String::from_utf8_lossy(&untrusted.stdout).contains("certificate verification failed"),
        "{}",
        String::from_utf8_lossy(&untrusted.stdout)
    );

    // A plaintext client on a SASL listener is told what the silence means.
    let plaintext = chaos_with(
        &[
            "observe",
            "--bootstrap",
            "127.0.0.1:29194",
            "--reports",
            refused_reports.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(plaintext.status.code(), Some(4));
    assert!(
        String::from_utf8_lossy(&plaintext.stderr).contains("a listener that needs TLS or SASL"),
        "{}",
        String::from_utf8_lossy(&plaintext.stderr)
    );

    // 5. Mutual TLS: the broker requires a client certificate signed by its CA. With one,
    // the workload (librdkafka) and the observer (the wire client) both get in; without,
    // the broker's refusal is named with what to set.
    let mtls_reports = reports_dir("secure-mtls");
    let cert = dir.join("client.pem");
    let key = dir.join("client.key");
    let (stranger_cert, stranger_key) = (dir.join("stranger.pem"), dir.join("stranger.key"));
    // `with`: the client certificate and key presented, if any.
    let observe_mtls = |reports: &Path, with: Option<(&Path, &Path)>| {
        let mut env = vec![
            ("CHAOS_KAFKA_SECURITY_PROTOCOL", "ssl"),
            ("CHAOS_KAFKA_SSL_CA", ca),
        ];
        if let Some((cert, key)) = with {
            env.push(("CHAOS_KAFKA_SSL_CERT", cert.to_str().unwrap()));
            env.push(("CHAOS_KAFKA_SSL_KEY", key.to_str().unwrap()));
        }
        chaos_with(
            &[
                "observe",
                "--bootstrap",
                "127.0.0.1:29195",
                "--duration",
                "6s",
                "--rate",
                "100",
                "--partitions",
                "2",
                "--replication-factor",
                "1",
                "--min-insync-replicas",
                "1",
                "--reports",
                reports.to_str().unwrap(),
            ],
            &env,
        )
    };
    let mtls = observe_mtls(&mtls_reports, Some((&cert, &key)));
    let m = only_result(&mtls_reports);
    assert_eq!(mtls.status.code(), Some(0), "{m:#}");
    assert_eq!(f64_at(&m, "/verification/lost_acked"), 0.0, "{m:#}");
    assert!(f64_at(&m, "/verification/acked") >= 300.0, "{m:#}");
    assert!(
        m["notes"].to_string().contains("client certificate"),
        "{m:#}"
    );
    let no_cert_reports = reports_dir("secure-mtls-refused");
    let no_cert = observe_mtls(&no_cert_reports, None);
    let stranger = observe_mtls(&no_cert_reports, Some((&stranger_cert, &stranger_key)));
    for (refused, what) in [(&no_cert, "no certificate"), (&stranger, "a stranger's")] {
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert_eq!(refused.status.code(), Some(4), "{what}: {stderr}");
        assert!(
            stderr.contains("requires a client certificate")
                && stderr.contains("CHAOS_KAFKA_SSL_CERT"),
            "{what}: {stderr}"
        );
    }

    assert_secret_absent(
        &password,
        &[
            &run, &java_run, &observe, &status, &refused, &untrusted, &mtls, &no_cert,
        ],
        &[&run_reports, &java_reports, &observe_reports],
    );
    eprintln!(
        "secure cluster test: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
