//! Apache Kafka's Java consumer in a JVM of its own (`java/ChaosConsumer.java`): one member of
//! the consumer group, or the live consumer, driven over a line protocol (documented at the
//! top of that file). The driver only reads and says what the client did — a rebalance
//! callback, a record processed, a commit confirmed, a partition's lag; the harness stamps
//! each answer on the run's clock as it arrives and keeps the history, so every analysis
//! works unchanged. A member crash is this process killed: no LeaveGroup, no final commit.

use super::client_driver::{self, DriverCommand, DriverError, DriverProcess, LastLog, Spawned};
use crate::events::RebalanceChange;
use base64::Engine;
use std::io::{BufRead, BufReader, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// One answer of the consumer driver, after `ready`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsumerAnswer {
    /// A rebalance callback ran (inside the client's poll).
    Rebalance {
        change: RebalanceChange,
        partitions: Vec<i32>,
    },
    /// A record was processed: its partition, offset and the value's first bytes (where our
    /// identity header is), `None` for a record without a value.
    Record {
        partition: i32,
        offset: i64,
        head: Option<Vec<u8>>,
    },
    /// The cluster confirmed a commit of this partition's offset (the next to read).
    Committed { partition: i32, offset: i64 },
    /// An explicit commit failed.
    CommitFailed(String),
    /// The client's cached lag of a partition it holds.
    Lag { partition: i32, lag: i64 },
    /// An error the consumer survived.
    Warning(String),
    /// The consumer closed (on `leave` or `stop`).
    Closed,
}

/// What a line of the driver says: before `ready`, its version or why it will not start.
#[derive(Debug, PartialEq, Eq)]
enum Line {
    Ready(String),
    Fatal(String),
    Answer(ConsumerAnswer),
}

fn parse_line(line: &str) -> Option<Line> {
    let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
    let number = |s: Option<&str>| s?.parse::<i64>().ok();
    let answer = match tag {
        "ready" => return Some(Line::Ready(rest.to_string())),
        "x" => return Some(Line::Fatal(rest.to_string())),
        "closed" => ConsumerAnswer::Closed,
        "kf" => ConsumerAnswer::CommitFailed(rest.to_string()),
        "w" => ConsumerAnswer::Warning(rest.to_string()),
        "r" => {
            let (change, list) = rest.split_once(' ')?;
            let change = match change {
                "assigned" => RebalanceChange::Assigned,
                "revoked" => RebalanceChange::Revoked,
                "lost" => RebalanceChange::Lost,
                _ => return None,
            };
            let partitions = if list == "-" {
                Vec::new()
            } else {
                list.split(',')
                    .map(|p| p.parse().ok())
                    .collect::<Option<Vec<i32>>>()?
            };
            ConsumerAnswer::Rebalance { change, partitions }
        }
        "m" => {
            let mut f = rest.splitn(3, ' ');
            let partition = i32::try_from(number(f.next())?).ok()?;
            let offset = number(f.next())?;
            let head = match f.next()? {
                "-" => None,
                b64 => Some(base64::engine::general_purpose::STANDARD.decode(b64).ok()?),
            };
            ConsumerAnswer::Record {
                partition,
                offset,
                head,
            }
        }
        "k" | "l" => {
            let mut f = rest.splitn(2, ' ');
            let partition = i32::try_from(number(f.next())?).ok()?;
            let value = number(f.next())?;
            if tag == "k" {
                ConsumerAnswer::Committed {
                    partition,
                    offset: value,
                }
            } else {
                ConsumerAnswer::Lag {
                    partition,
                    lag: value,
                }
            }
        }
        _ => return None,
    };
    Some(Line::Answer(answer))
}

/// What the consumer is: a group member (subscribed) or the live consumer (every partition
/// from the beginning, no group).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Member {
        commit: crate::events::CommitMode,
        commit_interval: Duration,
        processing: Duration,
    },
    Live,
}

/// The running consumer driver.
pub struct ConsumerDriver {
    process: DriverProcess,
    /// Killed on purpose (a member crash): its end is not a death to report.
    killed: Arc<AtomicBool>,
    /// kafka-clients' version, as the driver reported it.
    pub version: String,
}

impl ConsumerDriver {
    /// Starts the driver and waits for its consumer. `on_answer` runs on the thread reading
    /// the answers, in their order; `on_died` once if the driver's output ends without
    /// `closed` and it was not killed on purpose.
    pub fn start(
        command: &DriverCommand,
        topic: &str,
        role: Role,
        settings: &[(String, String)],
        security: &crate::security::ClientSecurity,
        mut on_answer: impl FnMut(ConsumerAnswer) + Send + 'static,
        on_died: impl FnOnce(String) + Send + 'static,
    ) -> Result<Self, DriverError> {
        let more: Vec<String> = match role {
            Role::Live => vec!["mode assign".into()],
            Role::Member {
                commit,
                commit_interval,
                processing,
            } => vec![
                "mode group".into(),
                format!("commit {}", commit.as_str()),
                format!("commit-interval {}", commit_interval.as_millis()),
                format!("processing {}", processing.as_millis()),
            ],
        };
        let Spawned {
            mut child,
            stdin,
            stdout,
            last_log,
            client,
        } = client_driver::spawn(command, settings, security, topic, &more)?;
        let killed = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = mpsc::channel();
        let reader = {
            let killed = killed.clone();
            std::thread::Builder::new()
                .name("chaos-consumer-answers".into())
                .spawn(move || {
                    let ended = read_answers(stdout, &mut on_answer, ready_tx, client, &last_log);
                    if let Some(why) = ended.filter(|_| !killed.load(Ordering::SeqCst)) {
                        on_died(format!(
                            "the {client}'s consumer exited without closing ({why})"
                        ));
                    }
                })
                .map_err(|source| DriverError::Io {
                    client,
                    what: "answer thread",
                    source,
                })?
        };
        let version = client_driver::await_ready(&ready_rx, &mut child, client)?;
        Ok(Self {
            process: DriverProcess::new(child, stdin, reader, client),
            killed,
            version,
        })
    }

    /// The driver's process id.
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// Tells the consumer to `pause`, `run`, `leave` or `stop`.
    pub fn tell(&self, command: &'static str) -> Result<(), DriverError> {
        self.process.write_input(|w| writeln!(w, "{command}"))
    }

    /// A crash: SIGKILL, as an application's process dies (no LeaveGroup, no commit).
    pub fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        self.process.kill();
    }

    /// Asks it to stop (commit, close), waits up to `timeout` for it to exit, then kills it;
    /// every answer it gave has been handed on when this returns.
    pub fn close(&self, timeout: Duration) {
        let _ = self.tell("stop");
        self.process.close(timeout);
    }
}

impl Drop for ConsumerDriver {
    fn drop(&mut self) {
        // Before the process is killed (its field drops after this): not a death to report.
        self.killed.store(true, Ordering::SeqCst);
    }
}

/// Reads every answer; `None` if the output ended after `closed`, else why it ended.
fn read_answers(
    stdout: std::process::ChildStdout,
    on_answer: &mut dyn FnMut(ConsumerAnswer),
    ready: mpsc::Sender<Result<String, String>>,
    client: &'static str,
    last_log: &LastLog,
) -> Option<String> {
    let mut closed = false;
    let mut last_fatal = None;
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        match parse_line(&line) {
            Some(Line::Ready(version)) => {
                let _ = ready.send(Ok(version));
            }
            Some(Line::Fatal(why)) => {
                let _ = ready.send(Err(why.clone()));
                last_fatal = Some(why);
            }
            Some(Line::Answer(answer)) => {
                closed |= answer == ConsumerAnswer::Closed;
                on_answer(answer);
            }
            None => tracing::warn!(target: "client-driver", client, "unreadable answer: {line}"),
        }
    }
    if closed {
        return None;
    }
    let why = client_driver::why_it_ended(last_fatal, last_log);
    let _ = ready.send(Err(why.clone()));
    Some(why)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(line: &str) -> Option<ConsumerAnswer> {
        match parse_line(line)? {
            Line::Answer(a) => Some(a),
            _ => None,
        }
    }

    #[test]
    fn the_consumer_drivers_answers_are_read() {
        assert_eq!(parse_line("ready 4.1.1"), Some(Line::Ready("4.1.1".into())));
        assert_eq!(
            answer("r assigned 0,2"),
            Some(ConsumerAnswer::Rebalance {
                change: RebalanceChange::Assigned,
                partitions: vec![0, 2]
            })
        );
        assert_eq!(
            answer("r revoked -"),
            Some(ConsumerAnswer::Rebalance {
                change: RebalanceChange::Revoked,
                partitions: vec![]
            })
        );
        assert_eq!(
            answer("m 1 4077 Q0hTMSA="),
            Some(ConsumerAnswer::Record {
                partition: 1,
                offset: 4077,
                head: Some(b"CHS1 ".to_vec())
            })
        );
        assert_eq!(
            answer("m 1 5 -"),
            Some(ConsumerAnswer::Record {
                partition: 1,
                offset: 5,
                head: None
            })
        );
        assert_eq!(
            answer("k 2 310"),
            Some(ConsumerAnswer::Committed {
                partition: 2,
                offset: 310
            })
        );
        assert_eq!(
            answer("l 0 -1"),
            Some(ConsumerAnswer::Lag {
                partition: 0,
                lag: -1
            })
        );
        assert_eq!(answer("closed"), Some(ConsumerAnswer::Closed));
        assert_eq!(
            answer("r moved 1"),
            None,
            "an unknown change is not guessed"
        );
        assert_eq!(answer("m x 1 -"), None);
        assert_eq!(answer("m 1 2 !!notbase64"), None);
    }
}
