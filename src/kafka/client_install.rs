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

/// Where one kind of client is installed, and what makes an installation of it complete.
struct Layout {
    /// Under the cache directory: `<cache>/<subdir>/<version>/`.
    subdir: &'static str,
    /// Files an installation has (the first one also marks it in the list of versions).
    files: &'static [&'static str],
    client: &'static str,
    script: &'static str,
}

const JAVA: Layout = Layout {
    subdir: "java-client",
    files: &[
        "config-names.txt",
        "consumer-config-names.txt",
        "classes/ChaosProducer.class",
        "classes/ChaosConsumer.class",
    ],
    client: "Java client",
    script: "scripts/java-client.sh",
};

const PYTHON: Layout = Layout {
    subdir: "python-client",
    files: &["chaos_producer.py", "venv/bin/python"],
    client: "librdkafka (Python's confluent-kafka)",
    script: "scripts/python-client.sh",
};

impl Layout {
    fn root(&self) -> PathBuf {
        crate::cache::cache_dir().join(self.subdir)
    }

    /// The versions installed, oldest first.
    fn installed(&self) -> Vec<String> {
        let mut versions: Vec<String> = std::fs::read_dir(self.root())
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().join(self.files[0]).is_file())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        versions.sort();
        versions
    }

    /// The directory of `version`, checked complete.
    fn find(&self, version: &str) -> Result<PathBuf, NotInstalled> {
        let dir = self.root().join(version);
        if self.files.iter().all(|f| dir.join(f).exists()) {
            return Ok(dir);
        }
        let installed = self.installed();
        Err(NotInstalled {
            client: self.client,
            version: version.to_string(),
            path: dir.join(self.files[0]),
            script: self.script,
            installed: if installed.is_empty() {
                String::new()
            } else {
                format!(" (installed: {})", installed.join(", "))
            },
        })
    }
}

/// One installed version of the Java client: `<cache>/java-client/<version>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JavaInstall {
    pub version: String,
    pub dir: PathBuf,
}

impl JavaInstall {
    /// The installation of `version`, checked complete.
    pub fn find(version: &str) -> Result<Self, NotInstalled> {
        Ok(Self {
            version: version.to_string(),
            dir: JAVA.find(version)?,
        })
    }

    /// The setting names this version knows (`ProducerConfig.configNames()` and
    /// `ConsumerConfig.configNames()`, written at install).
    pub fn setting_names(&self) -> crate::experiment::SettingNames {
        let read = |file: &str| {
            std::fs::read_to_string(self.dir.join(file))
                .unwrap_or_default()
                .lines()
                .map(str::to_string)
                .collect::<BTreeSet<String>>()
        };
        crate::experiment::SettingNames {
            producer: read(JAVA.files[0]),
            consumer: read(JAVA.files[1]),
        }
    }

    /// The JVM running `java/ChaosProducer.java` against this kafka-clients.
    pub fn command(&self) -> DriverCommand {
        self.jvm("ChaosProducer")
    }

    /// The JVM running `java/ChaosConsumer.java` (a group member, or the live consumer).
    pub fn consumer_command(&self) -> DriverCommand {
        self.jvm("ChaosConsumer")
    }

    fn jvm(&self, main: &str) -> DriverCommand {
        DriverCommand {
            client: JAVA.client,
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
                main.into(),
            ],
            hint: "apt-get install openjdk-17-jre-headless",
            dialect: super::client_driver::Dialect::Java,
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
    pub fn find(version: &str) -> Result<Self, NotInstalled> {
        Ok(Self {
            version: version.to_string(),
            dir: PYTHON.find(version)?,
        })
    }

    /// The virtualenv's Python running `python/chaos_producer.py`.
    pub fn command(&self) -> DriverCommand {
        DriverCommand {
            client: PYTHON.client,
            program: self.dir.join(PYTHON.files[1]),
            args: vec![
                "-u".into(),
                self.dir.join(PYTHON.files[0]).display().to_string(),
            ],
            hint: "scripts/python-client.sh <version> makes the virtualenv",
            dialect: super::client_driver::Dialect::Librdkafka,
        }
    }
}

/// Every client's linger: batches of 5 ms, as the harness has always sent.
const LINGER_MS: u128 = 5;

/// What the workload asks of the producer, before each library names it.
#[derive(Debug, Clone, Copy)]
pub struct WorkloadSettings<'a> {
    pub bootstrap: &'a str,
    pub acks: &'a str,
    pub idempotence: bool,
    pub delivery_timeout: Duration,
    pub retries: Option<u32>,
    /// The user's own `producer-config`, last, so it wins.
    pub extra: &'a [(String, String)],
}

impl WorkloadSettings<'_> {
    /// The settings every client gets (the names are the same in librdkafka and Java).
    fn common(&self) -> Vec<(String, String)> {
        vec![
            ("bootstrap.servers".into(), self.bootstrap.into()),
            ("client.id".into(), "chaos-tracked-producer".into()),
            ("acks".into(), self.acks.into()),
            ("enable.idempotence".into(), self.idempotence.to_string()),
            (
                "delivery.timeout.ms".into(),
                self.delivery_timeout.as_millis().to_string(),
            ),
            ("linger.ms".into(), LINGER_MS.to_string()),
        ]
    }

    /// `retries` if given, then the user's own.
    fn finish(&self, mut s: Vec<(String, String)>) -> Vec<(String, String)> {
        if let Some(r) = self.retries {
            s.push(("retries".into(), r.to_string()));
        }
        s.extend(self.extra.iter().cloned());
        s
    }

    /// The librdkafka producer's settings, in the harness and in the Python driver alike.
    pub fn librdkafka(&self) -> Vec<(String, String)> {
        let mut s = self.common();
        // Statistics once a second: how a lost broker list is seen (librdkafka #5301).
        s.push(("statistics.interval.ms".into(), "1000".into()));
        self.finish(s)
    }

    /// The Java client's (Java's names). Java refuses `delivery.timeout.ms` < `linger.ms` +
    /// `request.timeout.ms` (30 s by default), so a shorter delivery timeout lowers the
    /// request timeout to fit, unless the user set it.
    pub fn java(&self) -> Vec<(String, String)> {
        let delivery_ms = self.delivery_timeout.as_millis();
        let mut s = self.common();
        if !self.extra.iter().any(|(k, _)| k == "request.timeout.ms")
            && delivery_ms < 30_000 + LINGER_MS
        {
            s.push((
                "request.timeout.ms".into(),
                delivery_ms.saturating_sub(LINGER_MS).max(1).to_string(),
            ));
        }
        self.finish(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn java(delivery_s: u64, extra: &[(String, String)]) -> Vec<(String, String)> {
        WorkloadSettings {
            bootstrap: "b:1",
            acks: "all",
            idempotence: false,
            delivery_timeout: Duration::from_secs(delivery_s),
            retries: None,
            extra,
        }
        .java()
    }

    #[test]
    fn a_short_delivery_timeout_lowers_the_request_timeout_java_would_refuse() {
        let s = java(20, &[]);
        let get = |k: &str| s.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("request.timeout.ms"), Some("19995"));
        assert_eq!(get("delivery.timeout.ms"), Some("20000"));
        let own = java(20, &[("request.timeout.ms".into(), "5000".into())]);
        assert_eq!(
            own.iter()
                .filter(|(k, _)| k == "request.timeout.ms")
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>(),
            ["5000"],
            "the user's own wins, alone"
        );
        let long = java(120, &[]);
        assert!(!long.iter().any(|(k, _)| k == "request.timeout.ms"));
    }
}
