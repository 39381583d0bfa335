//! Acked, failed, and unknown: messages whose outcome the client never reported, and why
//! (classified for the report).

use super::vocabulary::LatencyPhase;
use serde::{Deserialize, Serialize};

/// Why the client does not know whether a message was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnknownCause {
    /// Timed out still queued in the client: never sent (no leader to send it to).
    TimedOutQueued,
    /// Timed out with its request in flight: the broker may have written it.
    TimedOutInFlight,
    /// No outcome at all before the producer's final flush gave up.
    NoAnswer,
}

impl UnknownCause {
    pub fn describe(&self) -> &'static str {
        match self {
            UnknownCause::TimedOutQueued => "timed out queued (never sent)",
            UnknownCause::TimedOutInFlight => "timed out in flight",
            UnknownCause::NoAnswer => "never answered before the flush",
        }
    }
}

/// Unknown outcomes of one cause and phase, split by what the re-read found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnresolvedClass {
    pub cause: UnknownCause,
    /// The workload phase the message was sent in.
    pub phase: LatencyPhase,
    /// In the log: written, only the ack was lost.
    pub written: u64,
    pub not_written: u64,
}

/// Every message whose outcome the client did not learn, looked up in the re-read.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct UnknownOutcomes {
    pub total: u64,
    pub written: u64,
    pub not_written: u64,
    pub classes: Vec<UnresolvedClass>,
    /// Reported failed (not persisted) by the client, but in the log all the same.
    #[serde(default)]
    pub failed_but_written: u64,
}

impl UnknownOutcomes {
    pub fn add(&mut self, cause: UnknownCause, phase: LatencyPhase, written: bool) {
        self.total += 1;
        if written {
            self.written += 1;
        } else {
            self.not_written += 1;
        }
        let class = match self
            .classes
            .iter_mut()
            .find(|c| c.cause == cause && c.phase == phase)
        {
            Some(c) => c,
            None => {
                self.classes.push(UnresolvedClass {
                    cause,
                    phase,
                    written: 0,
                    not_written: 0,
                });
                self.classes.last_mut().expect("just pushed")
            }
        };
        if written {
            class.written += 1;
        } else {
            class.not_written += 1;
        }
    }
}
