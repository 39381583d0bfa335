//! The client libraries the tracked producer can run out of process, as installed on this
//! machine: Apache Kafka's Java client (`scripts/java-client.sh`) and librdkafka through
//! Python's confluent-kafka (`scripts/python-client.sh`), each under
//! `<cache>/<kind>/<version>/`. Each says how to start its driver and which settings it takes.

use super::client_driver::DriverCommand;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
#[error(
    "the {client} {version} is not installed (no {path})\n  hint: {script} {version} installs it{installed}"
)]
pub struct NotInstalled {
    pub client: &'static str,
    pub version: String,
    pub path: PathBuf,
    pub script: &'static str,
    pub installed: String,
}

/// The versions installed under `root` (each a directory with `marker`), oldest first.
fn installed_under(root: &std::path::Path, marker: &str) -> Vec<String> {
    let mut versions: Vec<String> = std::fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join(marker).is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    versions.sort();
    versions
}

fn not_installed(
    client: &'static str,
    script: &'static str,
    root: &std::path::Path,
    version: &str,
    marker: &str,
) -> NotInstalled {
    let installed = installed_under(root, marker);
    NotInstalled {
        client,
        version: version.to_string(),
        path: root.join(version).join(marker),
        script,
        installed: if installed.is_empty() {
            String::new()
        } else {
            format!(" (installed: {})", installed.join(", "))
        },
    }
}

/// One installed version of the Java client: `<cache>/java-client/<version>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JavaInstall {
    pub version: String,
    pub dir: PathBuf,
}

impl JavaInstall {
    const MARKER: &'static str = "config-names.txt";

    pub fn root() -> PathBuf {
        crate::cache::cache_dir().join("java-client")
    }

    /// The versions installed, oldest first.
    pub fn installed() -> Vec<String> {
        installed_under(&Self::root(), Self::MARKER)
    }

    /// The installation of `version`, checked complete.
    pub fn find(version: &str) -> Result<Self, NotInstalled> {
        let dir = Self::root().join(version);
        if !dir.join(Self::MARKER).is_file() || !dir.join("classes/ChaosProducer.class").is_file() {
            return Err(not_installed(
                "Java client",
                "scripts/java-client.sh",
                &Self::root(),
                version,
                Self::MARKER,
            ));
        }
        Ok(Self {
            version: version.to_string(),
            dir,
        })
    }

    /// The producer setting names this version knows (`ProducerConfig.configNames()`,
    /// written at install).
    pub fn config_names(&self) -> BTreeSet<String> {
        std::fs::read_to_string(self.dir.join(Self::MARKER))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The JVM running `java/ChaosProducer.java` against this kafka-clients.
    pub fn command(&self) -> DriverCommand {
        DriverCommand {
            client: "Java client",
            program: "java".into(),
            args: vec![
                "-cp".into(),
                format!(
                    "{}:{}/*",
                    self.dir.join("classes").display(),
                    self.dir.join("lib").display()
                ),
                // A small heap: the harness shares the machine with the cluster's JVMs.
                "-Xmx256m".into(),
                "-XX:+UseSerialGC".into(),
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn".into(),
                "-Dorg.slf4j.simpleLogger.showDateTime=false".into(),
                "ChaosProducer".into(),
            ],
            hint: "apt-get install openjdk-17-jre-headless",
        }
    }
}

/// One installed version of Python's confluent-kafka, whose wheel carries the librdkafka of
/// the same version: `<cache>/python-client/<version>/` (a virtualenv and the driver).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PythonInstall {
    pub version: String,
    pub dir: PathBuf,
}

impl PythonInstall {
    const MARKER: &'static str = "chaos_producer.py";

    pub fn root() -> PathBuf {
        crate::cache::cache_dir().join("python-client")
    }

    pub fn installed() -> Vec<String> {
        installed_under(&Self::root(), Self::MARKER)
    }

    pub fn find(version: &str) -> Result<Self, NotInstalled> {
        let dir = Self::root().join(version);
        if !dir.join(Self::MARKER).is_file() || !dir.join("venv/bin/python").exists() {
            return Err(not_installed(
                "librdkafka (Python's confluent-kafka)",
                "scripts/python-client.sh",
                &Self::root(),
                version,
                Self::MARKER,
            ));
        }
        Ok(Self {
            version: version.to_string(),
            dir,
        })
    }

    /// The virtualenv's Python running `python/chaos_producer.py`.
    pub fn command(&self) -> DriverCommand {
        DriverCommand {
            client: "librdkafka (Python's confluent-kafka)",
            program: self.dir.join("venv/bin/python"),
            args: vec![
                "-u".into(),
                self.dir.join(Self::MARKER).display().to_string(),
            ],
            hint: "scripts/python-client.sh <version> makes the virtualenv",
        }
    }
}

/// The settings librdkafka in the Python driver gets: the bundled producer's (its own names).
pub fn librdkafka_settings(
    bootstrap: &str,
    acks: &str,
    idempotence: bool,
    delivery_timeout: Duration,
    retries: Option<u32>,
    extra: &[(String, String)],
) -> Vec<(String, String)> {
    let mut s: Vec<(String, String)> = vec![
        ("bootstrap.servers".into(), bootstrap.into()),
        ("client.id".into(), "chaos-tracked-producer".into()),
        ("acks".into(), acks.into()),
        ("enable.idempotence".into(), idempotence.to_string()),
        (
            "delivery.timeout.ms".into(),
            delivery_timeout.as_millis().to_string(),
        ),
        ("linger.ms".into(), "5".into()),
        // Statistics once a second: how a lost broker list is seen (librdkafka #5301).
        ("statistics.interval.ms".into(), "1000".into()),
    ];
    if let Some(r) = retries {
        s.push(("retries".into(), r.to_string()));
    }
    s.extend(extra.iter().cloned());
    s
}

/// The settings the Java client gets from a workload (Java's names), then the user's own.
/// Java refuses `delivery.timeout.ms` < `linger.ms` + `request.timeout.ms` (30 s by
/// default), so a shorter delivery timeout lowers the request timeout to fit, unless the
/// user set it.
pub fn java_settings(
    bootstrap: &str,
    acks: &str,
    idempotence: bool,
    delivery_timeout: Duration,
    retries: Option<u32>,
    extra: &[(String, String)],
) -> Vec<(String, String)> {
    const LINGER_MS: u128 = 5;
    let delivery_ms = delivery_timeout.as_millis();
    let mut s: Vec<(String, String)> = vec![
        ("bootstrap.servers".into(), bootstrap.into()),
        ("client.id".into(), "chaos-tracked-producer".into()),
        ("acks".into(), acks.into()),
        ("enable.idempotence".into(), idempotence.to_string()),
        ("delivery.timeout.ms".into(), delivery_ms.to_string()),
        ("linger.ms".into(), LINGER_MS.to_string()),
    ];
    if !extra.iter().any(|(k, _)| k == "request.timeout.ms") && delivery_ms < 30_000 + LINGER_MS {
        s.push((
            "request.timeout.ms".into(),
            delivery_ms.saturating_sub(LINGER_MS).max(1).to_string(),
        ));
    }
    if let Some(r) = retries {
        s.push(("retries".into(), r.to_string()));
    }
    s.extend(extra.iter().cloned());
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_delivery_timeout_lowers_the_request_timeout_java_would_refuse() {
        let s = java_settings("b:1", "all", false, Duration::from_secs(20), None, &[]);
        let get = |k: &str| s.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("request.timeout.ms"), Some("19995"));
        assert_eq!(get("delivery.timeout.ms"), Some("20000"));
        let own = java_settings(
            "b:1",
            "all",
            false,
            Duration::from_secs(20),
            None,
            &[("request.timeout.ms".into(), "5000".into())],
        );
        assert_eq!(
            own.iter()
                .filter(|(k, _)| k == "request.timeout.ms")
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>(),
            ["5000"],
            "the user's own wins, alone"
        );
        let long = java_settings("b:1", "all", false, Duration::from_secs(120), None, &[]);
        assert!(!long.iter().any(|(k, _)| k == "request.timeout.ms"));
    }
}
