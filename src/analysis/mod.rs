//! Pure analysis of a run's events into a `RunResult` (TEMPORARY stand-in until merge).
pub mod verify;
use crate::events::Event;
use crate::report::RunResult;
pub fn analyze(_events: &[Event]) -> RunResult { unimplemented!() }
pub fn conclude(_r: &mut RunResult) {}
