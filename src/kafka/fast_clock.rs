//! The run clock, read from the CPU's counter for the tracked producer's two timestamps per
//! message (its send time and its ack time): `quanta` reads the TSC here in ≈ 10 ns, the OS
//! clock takes ≈ 30 ns (docs/measurements.md, the cost of tracking), and at a million
//! messages a second those reads were most of what tracking cost.

use crate::clock::Clock;
use std::time::Duration;

/// One thread's reader of the run clock (µs) through the counter. It re-anchors on the run
/// clock every `REANCHOR`: quanta's calibration of the counter against the OS clock stops
/// once it is within ≈ 1e-4, so between anchors a time moves at most ≈ 1e-4 × 100 ms = 10 µs
/// from what the run clock would say — below the 1 µs resolution's hundredfold, far below
/// the observer's 100 ms polls that ack times are compared with. Never goes backwards.
#[derive(Debug)]
pub struct FastClock {
    run: Clock,
    counter: quanta::Clock,
    anchor: quanta::Instant,
    anchor_us: u64,
    last_us: u64,
}

impl FastClock {
    const REANCHOR: Duration = Duration::from_millis(100);

    /// The first one in the process calibrates the counter (quanta: 10–20 ms, at most 200).
    pub fn new(run: Clock) -> Self {
        let counter = quanta::Clock::new();
        let (anchor, anchor_us) = anchor(&counter, &run);
        FastClock {
            run,
            counter,
            anchor,
            anchor_us,
            last_us: anchor_us,
        }
    }

    pub fn now_us(&mut self) -> u64 {
        let now = self.counter.now();
        let since = now.saturating_duration_since(self.anchor);
        let us = if since >= Self::REANCHOR {
            (self.anchor, self.anchor_us) = anchor(&self.counter, &self.run);
            self.anchor_us
                + self
                    .counter
                    .now()
                    .saturating_duration_since(self.anchor)
                    .as_micros() as u64
        } else {
            self.anchor_us + since.as_micros() as u64
        };
        self.last_us = self.last_us.max(us);
        self.last_us
    }
}

/// A counter reading and the run clock's at the same moment: the run clock read between two
/// counter readings, taken again if the thread was preempted in between (an anchor late by a
/// preemption would shift every time until the next one).
fn anchor(counter: &quanta::Clock, run: &Clock) -> (quanta::Instant, u64) {
    const CLOSE: Duration = Duration::from_micros(2);
    let mut tries = 0;
    loop {
        let before = counter.now();
        let us = run.now_us();
        let after = counter.now();
        let span = after.saturating_duration_since(before);
        tries += 1;
        if span <= CLOSE || tries == 5 {
            return (before + span / 2, us);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_reads_the_run_clock_within_its_error_bound_and_never_goes_back() {
        let run = Clock::start();
        let mut fast = FastClock::new(run);
        let mut last = 0;
        // Across three re-anchors (≈ 300 ms of busy reading): every fast reading lies
        // between the run clock's readings just before and just after it, give or take the
        // bound: 10 µs of calibration between anchors (see `FastClock`), 1 µs of the anchor's
        // own span, 1 µs of truncation on each side.
        let end = run.now_us() + 300_000;
        loop {
            let before = run.now_us();
            let t = fast.now_us();
            let after = run.now_us();
            assert!(t >= last, "went back: {last} then {t}");
            assert!(
                t + 13 >= before && t <= after + 13,
                "{t} outside [{before}, {after}] ± 13 µs"
            );
            last = t;
            if after > end {
                break;
            }
        }
    }
}
