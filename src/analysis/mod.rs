//! Pure analysis of a run's events into a `RunResult`.
