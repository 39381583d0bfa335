//! What the runner tells whoever watches it — the CLI's terminal, a web view, a test — as
//! typed events (nextest's reporter model): the runner never prints, the watcher decides how.

use crate::error::Error;
use crate::events::EventTap;
use crate::model::RunResult;
use std::path::Path;
use std::sync::Arc;

/// One thing the runner has to say.
#[derive(Debug)]
pub enum RunnerEvent<'a> {
    /// Transient status (the spinner's message, or a timestamped line without a terminal).
    Status(&'a str),
    /// A line that stays: a variant begins, an orphan was swept, a cluster is removed.
    Line(&'a str),
    /// A variant ended with a result; its reports are in `dir`.
    VariantFinished {
        result: &'a RunResult,
        dir: &'a Path,
        experiment_file: &'a Path,
    },
    /// A variant's result whose report files could not all be written: shown so that nothing
    /// measured is lost (the error follows as `VariantFailed`).
    PartialResult {
        result: &'a RunResult,
        dir: &'a Path,
    },
    /// A variant ended without a result.
    VariantFailed { error: &'a Error },
    /// Several runs of one experiment side by side, and the differences beyond noise.
    Comparison {
        table: &'a str,
        beyond_noise: &'a [String],
    },
    /// Something went wrong that does not stop the run (a report file not written).
    Warning(&'a str),
    /// The plan of `--dry-run`, as text and as JSON.
    DryRun {
        text: &'a str,
        plan: &'a serde_json::Value,
    },
    /// Nothing more will be said (the spinner can go).
    Finished,
}

/// Receives the runner's events; `Sync` because the runner's tasks share it.
pub trait Reporter: Send + Sync {
    fn report(&self, event: RunnerEvent<'_>);
    /// Who else sees every event as it is recorded (the live web view); none by default.
    fn event_tap(&self) -> Option<Arc<dyn EventTap>> {
        None
    }
}
