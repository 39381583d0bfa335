//! Apache Kafka's Java client as the tracked producer's client: a JVM running
//! `java/ChaosProducer.java` (installed by `scripts/java-client.sh`), driven over a line
//! protocol on its stdin and stdout. The harness keeps the rate, the sequence numbers, the
//! payloads and the ledger; the JVM only sends and answers each record's outcome, so every
//! analysis works unchanged. A driver that dies is said, never silence.

use super::payload::Identity;
use crate::analysis::verify::NotAcked;
use base64::Engine;
use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum JavaClientError {
    #[error(
        "the Java client {version} is not installed (no {path})\n  hint: scripts/java-client.sh \
         {version} installs it from Maven Central{installed}"
    )]
    NotInstalled {
        version: String,
        path: PathBuf,
        installed: String,
    },
    #[error(
        "`java` could not be started: {source}\n  hint: apt-get install openjdk-17-jre-headless"
    )]
    NoJava {
        #[source]
        source: std::io::Error,
    },
    #[error("the Java client did not start: {0}")]
    Refused(String),
    #[error("the Java client did not answer within {0:?} of starting")]
    Silent(Duration),
    #[error("the Java client's {what}: {source}")]
    Io {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
}

/// One installed version of the Java client: `<cache>/java-client/<version>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JavaInstall {
    pub version: String,
    pub dir: PathBuf,
}

impl JavaInstall {
    pub fn root() -> PathBuf {
        crate::cache::cache_dir().join("java-client")
    }

    /// The versions installed, oldest first.
    pub fn installed() -> Vec<String> {
        let mut versions: Vec<String> = std::fs::read_dir(Self::root())
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().join("config-names.txt").is_file())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        versions.sort();
        versions
    }

    /// The installation of `version`, checked complete.
    pub fn find(version: &str) -> Result<Self, JavaClientError> {
        let dir = Self::root().join(version);
        let names = dir.join("config-names.txt");
        if !names.is_file() || !dir.join("classes/ChaosProducer.class").is_file() {
            let installed = Self::installed();
            return Err(JavaClientError::NotInstalled {
                version: version.to_string(),
                path: names,
                installed: if installed.is_empty() {
                    String::new()
                } else {
                    format!(" (installed: {})", installed.join(", "))
                },
            });
        }
        Ok(Self {
            version: version.to_string(),
            dir,
        })
    }

    /// The producer setting names this version knows (`ProducerConfig.configNames()`,
    /// written at install).
    pub fn config_names(&self) -> BTreeSet<String> {
        std::fs::read_to_string(self.dir.join("config-names.txt"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

/// Where the driver's answers go: the tracked producer's bookkeeping.
pub trait Outcomes: Send + Sync {
    fn acked(&self, id: &Identity, offset: i64);
    fn not_acked(&self, id: &Identity, how: NotAcked, error: &str);
    /// The driver ended without being asked to (a crash, a kill): what it said last.
    fn driver_died(&self, why: String);
    /// The client's `send()` blocked for `ms` (an application's sending thread would too).
    fn send_blocked(&self, ms: u64);
}

/// One answer line of the driver.
#[derive(Debug, PartialEq)]
enum Answer<'a> {
    Ready(&'a str),
    Acked {
        n: u64,
        offset: i64,
    },
    NotAcked {
        n: u64,
        how: NotAcked,
        error: &'a str,
    },
    /// `send()` of record n blocked this long (ms).
    Blocked {
        n: u64,
        ms: u64,
    },
    Closed,
    Fatal(&'a str),
}

fn parse_answer(line: &str) -> Option<Answer<'_>> {
    let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
    Some(match tag {
        "ready" => Answer::Ready(rest),
        "closed" => Answer::Closed,
        "x" => Answer::Fatal(rest),
        "b" => {
            let (n, ms) = rest.split_once(' ')?;
            Answer::Blocked {
                n: n.parse().ok()?,
                ms: ms.parse().ok()?,
            }
        }
        "a" => {
            let (n, offset) = rest.split_once(' ')?;
            Answer::Acked {
                n: n.parse().ok()?,
                offset: offset.parse().ok()?,
            }
        }
        "e" => {
            let mut f = rest.splitn(3, ' ');
            let n = f.next()?.parse().ok()?;
            let how = match f.next()? {
                "failed" => NotAcked::Failed,
                // The Java client does not say whether an expired record was in flight:
                // written or not, unknown until the re-read.
                "timeout" | "unknown" => NotAcked::TimedOutInFlight,
                _ => return None,
            };
            Answer::NotAcked {
                n,
                how,
                error: f.next().unwrap_or(""),
            }
        }
        _ => return None,
    })
}

/// The running driver: its stdin for sends, a thread reading its answers.
pub struct JavaDriver {
    stdin: Mutex<Option<BufWriter<ChildStdin>>>,
    child: Mutex<Child>,
    /// Sends whose outcome has not come yet, by their number.
    pending: Arc<Mutex<HashMap<u64, Identity>>>,
    next: Mutex<u64>,
    /// Ends when the driver's stdout does (after `closed`, or when it died).
    reader: Mutex<Option<std::thread::JoinHandle<()>>>,
    pub version: String,
}

/// Settings for the driver, in Java's names.
pub struct DriverOptions<'a> {
    pub install: &'a JavaInstall,
    pub topic: &'a str,
    pub settings: Vec<(String, String)>,
}

/// How long a JVM may take to start and create its producer on a shared 2-core machine.
const START_TIMEOUT: Duration = Duration::from_secs(60);

impl JavaDriver {
    pub fn start(
        options: DriverOptions<'_>,
        outcomes: Arc<dyn Outcomes>,
    ) -> Result<Self, JavaClientError> {
        let dir = &options.install.dir;
        let mut child = Command::new("java")
            .arg("-cp")
            .arg(format!(
                "{}:{}/*",
                dir.join("classes").display(),
                dir.join("lib").display()
            ))
            // A small heap: the harness shares the machine with the cluster's JVMs.
            .args([
                "-Xmx256m",
                "-XX:+UseSerialGC",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-Dorg.slf4j.simpleLogger.showDateTime=false",
                "ChaosProducer",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| JavaClientError::NoJava { source })?;
        let io = |what| move |source| JavaClientError::Io { what, source };
        let mut stdin = BufWriter::new(child.stdin.take().expect("piped stdin"));
        for (k, v) in &options.settings {
            writeln!(stdin, "c {k}\t{v}").map_err(io("settings"))?;
        }
        writeln!(stdin, "t {}", options.topic).map_err(io("settings"))?;
        writeln!(stdin, "start").map_err(io("settings"))?;
        stdin.flush().map_err(io("settings"))?;
        // Its log (SLF4J, warnings and up) goes where librdkafka's does.
        let stderr = child.stderr.take().expect("piped stderr");
        std::thread::Builder::new()
            .name("chaos-java-log".into())
            .spawn(move || {
                // Off unless -vv, like librdkafka's (every refused reconnect of an outage is a
                // warning of the Java client's); its errors are warnings.
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if line.contains(" ERROR ") || !line.starts_with('[') {
                        tracing::warn!(target: "java-client", client = "tracked-producer", "{line}");
                    } else {
                        tracing::info!(target: "java-client", client = "tracked-producer", "{line}");
                    }
                }
            })
            .map_err(io("log thread"))?;
        let pending: Arc<Mutex<HashMap<u64, Identity>>> = Arc::default();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<String, String>>();
        let stdout = child.stdout.take().expect("piped stdout");
        let reader = {
            let pending = pending.clone();
            std::thread::Builder::new()
                .name("chaos-java-answers".into())
                .spawn(move || read_answers(stdout, &pending, &*outcomes, ready_tx))
                .map_err(io("answer thread"))?
        };
        let version = match ready_rx.recv_timeout(START_TIMEOUT) {
            Ok(Ok(version)) => version,
            Ok(Err(why)) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(JavaClientError::Refused(why));
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(JavaClientError::Silent(START_TIMEOUT));
            }
        };
        Ok(Self {
            stdin: Mutex::new(Some(stdin)),
            child: Mutex::new(child),
            pending,
            next: Mutex::new(0),
            reader: Mutex::new(Some(reader)),
            version,
        })
    }

    /// The JVM's process id.
    pub fn pid(&self) -> u32 {
        lock(&self.child).id()
    }

    /// Hands one record to the driver. An error means the driver is gone.
    pub fn send(
        &self,
        id: Identity,
        key: Option<&[u8]>,
        payload: &[u8],
    ) -> Result<(), JavaClientError> {
        let b64 = &base64::engine::general_purpose::STANDARD;
        let mut stdin = lock(&self.stdin);
        let Some(w) = stdin.as_mut() else {
            return Err(JavaClientError::Io {
                what: "input",
                source: std::io::Error::new(std::io::ErrorKind::BrokenPipe, "already closed"),
            });
        };
        let mut next = lock(&self.next);
        let n = *next;
        // Pending before written: the answer may come back before this returns.
        lock(&self.pending).insert(n, id);
        let key = key.map_or_else(|| "-".to_string(), |k| b64.encode(k));
        let written = writeln!(w, "s {n} {} {key} {}", id.partition, b64.encode(payload))
            .and_then(|()| w.flush());
        if let Err(source) = written {
            lock(&self.pending).remove(&n);
            return Err(JavaClientError::Io {
                what: "input",
                source,
            });
        }
        *next += 1;
        Ok(())
    }

    /// Ends the input (the driver flushes and closes its producer) and waits up to `timeout`
    /// for every answer; a driver still running then is killed, and what had no answer stays
    /// unknown in the ledger.
    pub fn close(&self, timeout: Duration) {
        drop(lock(&self.stdin).take());
        let deadline = std::time::Instant::now() + timeout;
        let mut child = lock(&self.child);
        while std::time::Instant::now() < deadline {
            match child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        drop(child);
        if let Some(reader) = lock(&self.reader).take() {
            let _ = reader.join();
        }
    }
}

impl Drop for JavaDriver {
    fn drop(&mut self) {
        let mut child = lock(&self.child);
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn read_answers(
    stdout: std::process::ChildStdout,
    pending: &Mutex<HashMap<u64, Identity>>,
    outcomes: &dyn Outcomes,
    ready: mpsc::Sender<Result<String, String>>,
) {
    let mut closed = false;
    let mut last_fatal = None;
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        match parse_answer(&line) {
            Some(Answer::Ready(version)) => {
                let _ = ready.send(Ok(version.to_string()));
            }
            Some(Answer::Acked { n, offset }) => {
                if let Some(id) = lock(pending).remove(&n) {
                    outcomes.acked(&id, offset);
                }
            }
            Some(Answer::NotAcked { n, how, error }) => {
                if let Some(id) = lock(pending).remove(&n) {
                    outcomes.not_acked(&id, how, error);
                }
            }
            Some(Answer::Blocked { ms, .. }) => outcomes.send_blocked(ms),
            Some(Answer::Closed) => closed = true,
            Some(Answer::Fatal(why)) => {
                let _ = ready.send(Err(why.to_string()));
                last_fatal = Some(why.to_string());
            }
            None => tracing::warn!(target: "java-client", "unreadable answer: {line}"),
        }
    }
    if !closed {
        let why = last_fatal.unwrap_or_else(|| "its output ended".into());
        let _ = ready.send(Err(why.clone()));
        let left = lock(pending).len();
        outcomes.driver_died(format!(
            "the Java client exited without closing ({why}); {left} record(s) had no answer"
        ));
    }
}

/// The settings the Java client gets from a workload (Java's names), then the user's own.
/// Java refuses `delivery.timeout.ms` < `linger.ms` + `request.timeout.ms` (30 s by
/// default), so a shorter delivery timeout lowers the request timeout to fit, unless the
/// user set it.
pub fn settings(
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
    fn answers_are_read_and_expired_records_are_unknown() {
        assert_eq!(parse_answer("ready 3.9.1"), Some(Answer::Ready("3.9.1")));
        assert_eq!(
            parse_answer("a 12 4077"),
            Some(Answer::Acked {
                n: 12,
                offset: 4077
            })
        );
        assert_eq!(
            parse_answer("e 3 timeout TimeoutException: Expiring 1 record(s)"),
            Some(Answer::NotAcked {
                n: 3,
                how: NotAcked::TimedOutInFlight,
                error: "TimeoutException: Expiring 1 record(s)"
            })
        );
        assert_eq!(
            parse_answer("e 4 failed RecordTooLargeException: x").map(|a| match a {
                Answer::NotAcked { how, .. } => how,
                _ => unreachable!(),
            }),
            Some(NotAcked::Failed)
        );
        assert_eq!(
            parse_answer("e 4 maybe x"),
            None,
            "an unknown class is not guessed"
        );
        assert_eq!(parse_answer("a x 1"), None);
        assert_eq!(parse_answer("closed"), Some(Answer::Closed));
        assert_eq!(
            parse_answer("b 9 6210"),
            Some(Answer::Blocked { n: 9, ms: 6210 })
        );
    }

    #[test]
    fn a_short_delivery_timeout_lowers_the_request_timeout_java_would_refuse() {
        let s = settings("b:1", "all", false, Duration::from_secs(20), None, &[]);
        let get = |k: &str| s.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("request.timeout.ms"), Some("19995"));
        assert_eq!(get("delivery.timeout.ms"), Some("20000"));
        let own = settings(
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
        let long = settings("b:1", "all", false, Duration::from_secs(120), None, &[]);
        assert!(!long.iter().any(|(k, _)| k == "request.timeout.ms"));
    }
}
