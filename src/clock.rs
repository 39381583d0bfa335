//! The run clock: monotonic microseconds since the run started, plus the wall time of the same
//! instant. Docker event times (wall, ns) are mapped onto it through the anchor.

use crate::events::{Event, EventKind};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc::UnboundedSender;
// Tokio's instant (std's outside a paused test runtime): run times follow paused time in
// the session's tests.
use tokio::time::Instant;

/// The wall time now, Unix nanoseconds (the scale of Docker's event times).
pub fn wall_now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: Instant,
    start_wall_ns: i128,
    /// `start_wall_ns` in whole milliseconds: `wall_ms_at` runs once per tracked message,
    /// and an `i128` division there would cost more than the rest of it.
    start_wall_ms: i64,
}

impl Clock {
    pub fn start() -> Self {
        let start = Instant::now();
        let start_wall_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as i128)
            .unwrap_or(0);
        Self {
            start,
            start_wall_ns,
            start_wall_ms: (start_wall_ns / 1_000_000) as i64,
        }
    }

    pub fn now_us(&self) -> u64 {
        self.start.elapsed().as_micros() as u64
    }

    /// The wall time (Unix ms) of a run time: the run's start plus the whole milliseconds since.
    pub fn wall_ms_at(&self, at_us: u64) -> i64 {
        self.start_wall_ms + (at_us / 1000) as i64
    }

    /// The run time (µs) of the millisecond that `wall_ms_at` gave: the exact inverse for
    /// every `at_us` a whole millisecond (None before the run).
    pub fn at_us_of_stamped_ms(&self, wall_ms: i64) -> Option<u64> {
        u64::try_from(wall_ms - self.start_wall_ms)
            .ok()
            .map(|ms| ms * 1000)
    }

    /// A wall-clock time in Unix nanoseconds (e.g. Docker's `timeNano`) on the run clock.
    pub fn at_us_of_wall_ns(&self, wall_ns: i64) -> u64 {
        ((wall_ns as i128 - self.start_wall_ns).max(0) / 1000) as u64
    }

    pub fn at_us_of_wall_ms(&self, wall_ms: i64) -> u64 {
        self.at_us_of_wall_ns(wall_ms.saturating_mul(1_000_000))
    }
}

/// Where every part of a run sends its events; stamped on the run clock.
#[derive(Debug, Clone)]
pub struct EventSink {
    clock: Clock,
    tx: UnboundedSender<Event>,
    /// Transactions committed so far, for the `transactions-committed` condition.
    committed: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
}

impl EventSink {
    pub fn new(clock: Clock, tx: UnboundedSender<Event>) -> Self {
        Self {
            clock,
            tx,
            committed: std::sync::Arc::new(tokio::sync::watch::Sender::new(0)),
        }
    }
    /// The number of transactions committed so far.
    pub fn transactions_committed(&self) -> u64 {
        *self.committed.borrow()
    }
    /// The number of transactions committed so far, as it changes.
    pub fn committed_transactions(&self) -> tokio::sync::watch::Receiver<u64> {
        self.committed.subscribe()
    }
    pub fn clock(&self) -> &Clock {
        &self.clock
    }
    pub fn emit(&self, kind: EventKind) {
        self.emit_at(self.clock.now_us(), kind);
    }
    pub fn emit_at(&self, at_us: u64, kind: EventKind) {
        if let EventKind::TransactionEnded {
            outcome: crate::events::TxnOutcome::Committed,
            ..
        } = kind
        {
            self.committed.send_modify(|n| *n += 1);
        }
        let _ = self.tx.send(Event {
            at_us,
            wall_ms: self.clock.wall_ms_at(at_us),
            kind,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wall_times_map_onto_the_run_clock() {
        let clock = Clock::start();
        let wall_ns = clock.start_wall_ns as i64 + 1_500_000_000;
        assert_eq!(clock.at_us_of_wall_ns(wall_ns), 1_500_000);
        assert_eq!(clock.at_us_of_wall_ns(0), 0, "before the run clamps to 0");
        assert_eq!(
            clock.wall_ms_at(2_000),
            (clock.start_wall_ns / 1_000_000) as i64 + 2
        );
    }

    #[test]
    fn a_wall_millisecond_maps_back_to_its_run_millisecond() {
        let clock = Clock::start();
        for at_us in [0, 999, 1_000, 1_234_567, 86_400_000_123] {
            assert_eq!(
                clock.at_us_of_stamped_ms(clock.wall_ms_at(at_us)),
                Some(at_us / 1000 * 1000),
                "{at_us}"
            );
        }
        assert_eq!(clock.at_us_of_stamped_ms(clock.wall_ms_at(0) - 1), None);
    }
}
