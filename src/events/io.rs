//! Events in and out: the JSON-lines file (`events.jsonl`), written as they come and read back
//! for `chaos report`, and the tap that shows them live.

use super::Event;
use std::io::{BufRead, Write};

/// Something outside the run that sees every event as it is recorded (the live web view of
/// `run --serve`), handed to the recorder by the run's reporter; the recorder only appends to
/// it, never waits.
pub trait EventTap: Send + Sync {
    /// A run begins (its directory's name).
    fn begin_run(&self, run: &str);
    fn push(&self, event: &Event);
}

/// Several taps, each given every event in turn.
pub struct Fanout(pub Vec<std::sync::Arc<dyn EventTap>>);

impl EventTap for Fanout {
    fn begin_run(&self, run: &str) {
        self.0.iter().for_each(|t| t.begin_run(run));
    }
    fn push(&self, event: &Event) {
        self.0.iter().for_each(|t| t.push(event));
    }
}

/// Writes events as JSON lines. Each event is flushed at once so a crash loses nothing.
pub struct EventWriter<W: Write> {
    out: W,
}

impl<W: Write> EventWriter<W> {
    pub fn new(out: W) -> Self {
        Self { out }
    }
    pub fn write(&mut self, event: &Event) -> std::io::Result<()> {
        serde_json::to_writer(&mut self.out, event)?;
        self.out.write_all(b"\n")?;
        self.out.flush()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReadEventsError {
    #[error("cannot read events: {0}")]
    Io(#[from] std::io::Error),
    #[error("line {line}: not an event: {source}")]
    Parse {
        line: usize,
        source: serde_json::Error,
    },
}

/// Reads an `events.jsonl`. A truncated last line (crash while writing) is ignored.
pub fn read_events(input: impl BufRead) -> Result<Vec<Event>, ReadEventsError> {
    let lines: Vec<String> = input.lines().collect::<Result<_, _>>()?;
    let mut events = Vec::with_capacity(lines.len());
    let last = lines.len().saturating_sub(1);
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str(line) {
            Ok(e) => events.push(e),
            Err(_) if i == last => break,
            Err(source) => {
                return Err(ReadEventsError::Parse {
                    line: i + 1,
                    source,
                })
            }
        }
    }
    Ok(events)
}
