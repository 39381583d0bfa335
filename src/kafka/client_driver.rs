//! A client library in another process as the tracked producer's client (Apache Kafka's Java
//! client in a JVM, a newer librdkafka through Python's confluent-kafka), driven over one line
//! protocol on its stdin and stdout (documented at the top of `java/ChaosProducer.java` and
//! `python/chaos_producer.py`). The harness keeps the rate, the sequence numbers, the payloads
//! and the ledger; the driver only sends and answers each record's outcome, so every analysis
//! works unchanged. A driver that dies is said, never silence.

use super::payload::Identity;
use crate::analysis::verify::NotAcked;
use base64::Engine;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum DriverError {
    #[error("`{program}` could not be started: {source}\n  hint: {hint}")]
    NoProgram {
        program: String,
        hint: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("the {client} did not start: {why}")]
    Refused { client: &'static str, why: String },
    #[error("the {client} did not answer within {after:?} of starting")]
    Silent {
        client: &'static str,
        after: Duration,
    },
    #[error("the {client}'s {what}: {source}")]
    Io {
        client: &'static str,
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
}

/// How to start a driver: its program and arguments, and what to call it.
#[derive(Debug, Clone)]
pub struct DriverCommand {
    /// As errors and notes name it: "Java client", "librdkafka 2.16.1 (Python)".
    pub client: &'static str,
    pub program: PathBuf,
    pub args: Vec<String>,
    /// Where `program` comes from, when it cannot be started.
    pub hint: &'static str,
    /// Whose setting names it takes.
    pub dialect: Dialect,
}

/// Whose setting names a driver's client takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Java,
    Librdkafka,
}

/// The lines that make a driver's client connect as `security` says, in its dialect:
/// `c <key>\t<value>`, and for a value that is a file's content (Java's PEM keystore)
/// `f <key>\t<path>`, which the driver reads. Plaintext gives none.
fn security_lines(dialect: Dialect, security: &crate::security::ClientSecurity) -> Vec<String> {
    use crate::security::JavaSetting;
    match dialect {
        Dialect::Java => security
            .java_settings()
            .into_iter()
            .map(|s| match s {
                JavaSetting::Value(k, v) => format!("c {k}\t{v}"),
                JavaSetting::FileContent(k, path) => format!("f {k}\t{}", path.display()),
            })
            .collect(),
        Dialect::Librdkafka => {
            let mut lines = Vec::new();
            security.apply_rdkafka(&mut |k, v| lines.push(format!("c {k}\t{v}")));
            lines
        }
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
    /// librdkafka (in the driver) knows no broker any more (issue #5301); it cannot be
    /// re-bootstrapped from outside.
    fn lost_brokers(&self);
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
    /// librdkafka's statistics show no broker it could reach.
    LostBrokers,
    Closed,
    Fatal(&'a str),
}

fn parse_answer(line: &str) -> Option<Answer<'_>> {
    let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
    Some(match tag {
        "ready" => Answer::Ready(rest),
        "closed" => Answer::Closed,
        "x" => Answer::Fatal(rest),
        "lost-brokers" => Answer::LostBrokers,
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
                // Neither the Java client nor confluent-kafka says whether an expired record
                // was in flight: written or not, unknown until the re-read.
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
pub struct ClientDriver {
    process: DriverProcess,
    /// Sends whose outcome has not come yet, by their number.
    pending: Arc<Mutex<HashMap<u64, Identity>>>,
    next: Mutex<u64>,
    /// The library's own version, as the driver reported it.
    pub version: String,
}

/// A running driver (the producer's or a consumer's): its input, its process and the thread
/// reading its answers. Dropped, it kills the process: no driver outlives its owner.
pub(super) struct DriverProcess {
    stdin: Mutex<Option<BufWriter<ChildStdin>>>,
    child: Mutex<Child>,
    /// Ends when the driver's stdout does (after `closed`, or when it died).
    reader: Mutex<Option<std::thread::JoinHandle<()>>>,
    client: &'static str,
}

impl DriverProcess {
    pub(super) fn new(
        child: Child,
        stdin: BufWriter<ChildStdin>,
        reader: std::thread::JoinHandle<()>,
        client: &'static str,
    ) -> Self {
        DriverProcess {
            stdin: Mutex::new(Some(stdin)),
            child: Mutex::new(child),
            reader: Mutex::new(Some(reader)),
            client,
        }
    }

    pub(super) fn pid(&self) -> u32 {
        lock(&self.child).id()
    }

    /// Writes to the driver's input and flushes; an error means the driver is gone (or its
    /// input was closed).
    pub(super) fn write_input(
        &self,
        write: impl FnOnce(&mut BufWriter<ChildStdin>) -> std::io::Result<()>,
    ) -> Result<(), DriverError> {
        let mut stdin = lock(&self.stdin);
        let written = match stdin.as_mut() {
            Some(w) => write(w).and_then(|()| w.flush()),
            None => Err(std::io::Error::new(
                std::io::ErrorKind::BrokenPipe,
                "already closed",
            )),
        };
        written.map_err(|source| DriverError::Io {
            client: self.client,
            what: "input",
            source,
        })
    }

    /// SIGKILL, as an application's process dies.
    pub(super) fn kill(&self) {
        let mut child = lock(&self.child);
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Ends the input, waits up to `timeout` for the driver to exit (then kills it), and for
    /// its answers to be read to the end.
    pub(super) fn close(&self, timeout: Duration) {
        drop(lock(&self.stdin).take());
        exit_within(&mut lock(&self.child), timeout);
        if let Some(reader) = lock(&self.reader).take() {
            let _ = reader.join();
        }
    }
}

impl Drop for DriverProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// What the driver runs and sends.
pub struct DriverOptions<'a> {
    pub command: DriverCommand,
    pub topic: &'a str,
    /// Producer settings in the library's own names.
    pub settings: Vec<(String, String)>,
    /// How it connects (the run's client security).
    pub security: &'a crate::security::ClientSecurity,
}

/// How long a driver (a JVM, a Python interpreter) may take to start and create its producer
/// on a shared 2-core machine.
const START_TIMEOUT: Duration = Duration::from_secs(60);

impl ClientDriver {
    pub fn start(
        options: DriverOptions<'_>,
        outcomes: Arc<dyn Outcomes>,
    ) -> Result<Self, DriverError> {
        let Spawned {
            mut child,
            stdin,
            stdout,
            last_log,
            client,
        } = spawn(
            &options.command,
            &options.settings,
            options.security,
            options.topic,
            &[],
        )?;
        let io = |what| {
            move |source| DriverError::Io {
                client,
                what,
                source,
            }
        };
        let pending: Arc<Mutex<HashMap<u64, Identity>>> = Arc::default();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<String, String>>();
        let reader = {
            let pending = pending.clone();
            std::thread::Builder::new()
                .name("chaos-driver-answers".into())
                .spawn(move || {
                    read_answers(stdout, &pending, &*outcomes, ready_tx, client, &last_log)
                })
                .map_err(io("answer thread"))?
        };
        let version = await_ready(&ready_rx, &mut child, client)?;
        Ok(Self {
            process: DriverProcess::new(child, stdin, reader, client),
            pending,
            next: Mutex::new(0),
            version,
        })
    }

    /// The driver's process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Hands one record to the driver. An error means the driver is gone.
    pub fn send(
        &self,
        id: Identity,
        key: Option<&[u8]>,
        payload: &[u8],
    ) -> Result<(), DriverError> {
        let b64 = &base64::engine::general_purpose::STANDARD;
        let mut next = lock(&self.next);
        let n = *next;
        // Pending before written: the answer may come back before this returns.
        lock(&self.pending).insert(n, id);
        let key = key.map_or_else(|| "-".to_string(), |k| b64.encode(k));
        let written = self
            .process
            .write_input(|w| writeln!(w, "s {n} {} {key} {}", id.partition, b64.encode(payload)));
        if written.is_err() {
            lock(&self.pending).remove(&n);
        } else {
            *next += 1;
        }
        written
    }

    /// Ends the input (the driver flushes and closes its producer) and waits up to `timeout`
    /// for every answer; a driver still running then is killed, and what had no answer stays
    /// unknown in the ledger.
    pub fn close(&self, timeout: Duration) {
        self.process.close(timeout);
    }
}

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A driver process just started: its settings written, `start` sent.
pub(super) struct Spawned {
    pub child: Child,
    pub stdin: BufWriter<ChildStdin>,
    pub stdout: std::process::ChildStdout,
    /// Its log's last lines, for the error when it dies.
    pub last_log: LastLog,
    pub client: &'static str,
}

pub(super) type LastLog = Arc<Mutex<std::collections::VecDeque<String>>>;

/// Waits up to `timeout` for a driver whose input ended to exit, then kills it.
pub(super) fn exit_within(child: &mut Child, timeout: Duration) {
    let deadline = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < deadline {
        match child.try_wait() {
            Ok(Some(_)) | Err(_) => break,
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Starts a driver and writes its settings (the client's own, then how it connects, in its
/// dialect), its topic, `more` (what a kind of driver needs besides) and `start`; passes its
/// log (stderr) on where librdkafka's goes (off unless -vv), keeping the last lines.
pub(super) fn spawn(
    command: &DriverCommand,
    settings: &[(String, String)],
    security: &crate::security::ClientSecurity,
    topic: &str,
    more: &[String],
) -> Result<Spawned, DriverError> {
    let client = command.client;
    let mut preamble: Vec<String> = settings
        .iter()
        .map(|(k, v)| format!("c {k}\t{v}"))
        .collect();
    preamble.extend(security_lines(command.dialect, security));
    preamble.push(format!("t {topic}"));
    preamble.extend(more.iter().cloned());
    let mut child = Command::new(&command.program)
        .args(&command.args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| DriverError::NoProgram {
            program: command.program.display().to_string(),
            hint: command.hint,
            source,
        })?;
    let io = |what| {
        move |source| DriverError::Io {
            client,
            what,
            source,
        }
    };
    let mut stdin = BufWriter::new(child.stdin.take().expect("piped stdin"));
    for line in preamble {
        writeln!(stdin, "{line}").map_err(io("settings"))?;
    }
    writeln!(stdin, "start").map_err(io("settings"))?;
    stdin.flush().map_err(io("settings"))?;
    let stderr = child.stderr.take().expect("piped stderr");
    let last_log: LastLog = Arc::default();
    let keep = last_log.clone();
    std::thread::Builder::new()
        .name("chaos-driver-log".into())
        .spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                {
                    let mut kept = lock(&keep);
                    if kept.len() == 3 {
                        kept.pop_front();
                    }
                    kept.push_back(line.clone());
                }
                if line.contains(" ERROR ") || line.contains("Traceback") {
                    tracing::warn!(target: "client-driver", client, "{line}");
                } else {
                    tracing::info!(target: "client-driver", client, "{line}");
                }
            }
        })
        .map_err(io("log thread"))?;
    let stdout = child.stdout.take().expect("piped stdout");
    Ok(Spawned {
        child,
        stdin,
        stdout,
        last_log,
        client,
    })
}

/// Waits for the driver's `ready` (its version); a driver that refused or stayed silent is
/// killed.
pub(super) fn await_ready(
    ready: &mpsc::Receiver<Result<String, String>>,
    child: &mut Child,
    client: &'static str,
) -> Result<String, DriverError> {
    let failed = match ready.recv_timeout(START_TIMEOUT) {
        Ok(Ok(version)) => return Ok(version),
        Ok(Err(why)) => DriverError::Refused { client, why },
        Err(_) => DriverError::Silent {
            client,
            after: START_TIMEOUT,
        },
    };
    let _ = child.kill();
    let _ = child.wait();
    Err(failed)
}

/// Why a driver's output ended without `closed`: its last fatal answer, else its log's end.
pub(super) fn why_it_ended(last_fatal: Option<String>, last_log: &LastLog) -> String {
    last_fatal.unwrap_or_else(|| {
        // The log thread may still be reading the last lines of a dying process.
        std::thread::sleep(Duration::from_millis(100));
        let log: Vec<String> = lock(last_log).iter().cloned().collect();
        if log.is_empty() {
            "its output ended".into()
        } else {
            format!("its output ended; its log ended with: {}", log.join(" | "))
        }
    })
}

fn read_answers(
    stdout: std::process::ChildStdout,
    pending: &Mutex<HashMap<u64, Identity>>,
    outcomes: &dyn Outcomes,
    ready: mpsc::Sender<Result<String, String>>,
    client: &'static str,
    last_log: &LastLog,
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
            Some(Answer::LostBrokers) => outcomes.lost_brokers(),
            None => tracing::warn!(target: "client-driver", client, "unreadable answer: {line}"),
        }
    }
    if !closed {
        let why = why_it_ended(last_fatal, last_log);
        let _ = ready.send(Err(why.clone()));
        let left = lock(pending).len();
        outcomes.driver_died(format!(
            "the {client} exited without closing ({why}); {left} record(s) had no answer"
        ));
    }
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
}
