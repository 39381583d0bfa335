//! Orchestration of a run.
