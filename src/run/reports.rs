//! A run's directory: the event stream written as it happens (nothing measured is lost on a
//! crash), then result.json and summary.md derived from it — the same path `chaos report`
//! takes from a saved events.jsonl.

use crate::clock::{Clock, EventSink};
use crate::error::Error;
use crate::events::{Event, EventKind, EventTap, EventWriter};
use crate::model::RunResult;
use crate::platform::Cluster;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

pub fn run_dir(
    root: &Path,
    experiment: &str,
    variant: &str,
    repeat: u32,
) -> Result<PathBuf, Error> {
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .replace(['-', ':'], "")
        .replace('T', "-")
        .trim_end_matches('Z')
        .to_string();
    let mut name = slug(experiment);
    if !variant.is_empty() {
        name.push('-');
        name.push_str(&slug(variant));
    }
    if repeat > 1 {
        name.push_str(&format!("-r{repeat}"));
    }
    let mut dir = root.join(format!("{name}-{stamp}"));
    let mut n = 1;
    while dir.exists() {
        n += 1;
        dir = root.join(format!("{name}-{stamp}-{n}"));
    }
    std::fs::create_dir_all(&dir).map_err(Error::io(dir.display()))?;
    Ok(dir)
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '.' {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// Writes every event to events.jsonl as it arrives and keeps them for the analysis.
pub struct Recorder {
    sink: EventSink,
    writer: JoinHandle<Result<Recorded, Error>>,
}

/// Every event of the run, and the error that stopped events.jsonl (if one did).
type Recorded = (Vec<Event>, Option<String>);

impl Recorder {
    /// `live`: who else sees every event (the reporter's tap, e.g. the web view of `run --serve`).
    pub fn start(dir: &Path, live: Option<Arc<dyn EventTap>>) -> Result<Self, Error> {
        let file = std::fs::File::create(dir.join("events.jsonl"))?;
        let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
        // `run --serve`: every event also goes to the live web view (an append, never a wait).
        if let (Some(live), Some(name)) = (&live, dir.file_name()) {
            live.begin_run(&name.to_string_lossy());
        }
        let writer = tokio::task::spawn_blocking(move || {
            let mut out = EventWriter::new(std::io::BufWriter::new(file));
            let mut events = Vec::new();
            // A failed write (e.g. a full disk) stops the file, not the run: every event is
            // still kept in memory for the analysis and the table.
            let mut write_error = None;
            while let Some(event) = rx.blocking_recv() {
                let last = matches!(event.kind, EventKind::RunFinished { .. });
                if write_error.is_none() {
                    if let Err(e) = out.write(&event) {
                        write_error = Some(format!("events.jsonl: {e}"));
                    }
                }
                if let Some(live) = &live {
                    live.push(&event);
                }
                events.push(event);
                if last {
                    break;
                }
            }
            Ok((events, write_error))
        });
        Ok(Self {
            sink: EventSink::new(Clock::start(), tx),
            writer,
        })
    }

    pub fn sink(&self) -> EventSink {
        self.sink.clone()
    }

    /// Waits for RunFinished; returns every event, and the write error of events.jsonl if
    /// the file could not be written whole.
    pub async fn finish(self) -> Result<(Vec<Event>, Option<String>), Error> {
        self.writer
            .await
            .map_err(Error::task("the events writer"))?
    }
}

/// The result of a run from its events alone: analysis, then the expectations the run
/// recorded in its first event, then the status.
pub fn result_of(events: &[Event]) -> RunResult {
    let mut result = crate::analysis::analyze(events);
    let expect: Vec<String> = events
        .iter()
        .find_map(|e| match &e.kind {
            EventKind::RunStarted { expect, .. } => Some(expect.clone()),
            _ => None,
        })
        .unwrap_or_default();
    let json = serde_json::to_value(&result).unwrap_or_default();
    result.expectations = crate::experiment::expr::evaluate_all(&expect, &json);
    crate::analysis::conclude(&mut result);
    result
}

/// The result and the files derived from the events: result.json, summary.md, timeline.svg,
/// report.html. Every file is tried even when one fails (e.g. a full disk); the result is
/// returned with the files that could not be written, `<file>: <reason>` each.
pub fn analyze_and_write(dir: &Path, events: &[Event]) -> (RunResult, Vec<String>) {
    let result = result_of(events);
    let mut unwritten = Vec::new();
    let mut write = |name: &str, bytes: &[u8]| {
        if let Err(e) = crate::report::write_atomically(&dir.join(name), bytes) {
            unwritten.push(format!("{name}: {e}"));
        }
    };
    write("result.json", &crate::report::render_json(&result));
    write(
        "summary.md",
        crate::report::render_markdown(&result).as_bytes(),
    );
    let svg = match crate::report::charts::timeline::render_timeline_svg(events) {
        Ok(svg) => {
            write("timeline.svg", svg.as_bytes());
            Some(svg)
        }
        Err(e) => {
            eprintln!("timeline.svg not rendered: {e}");
            None
        }
    };
    let html = crate::report::render_html(&result, svg.as_ref());
    write("report.html", html.as_bytes());
    (result, unwritten)
}

/// The error for reports that could not be written; what was measured is still in memory
/// (printed as the table) and, unless it is among them, in events.jsonl.
pub fn unwritten_error(dir: &Path, unwritten: &[String]) -> Error {
    let events_kept = !unwritten.iter().any(|u| u.starts_with("events.jsonl"));
    Error::Infrastructure(format!(
        "could not write every report in {}: {}\n  hint: free disk space or pass --reports on another disk; {}",
        dir.display(),
        unwritten.join("; "),
        if events_kept {
            format!("events.jsonl holds everything measured: `chaos report {}` renders the rest", dir.display())
        } else {
            "the result printed (stdout) is everything measured".to_string()
        }
    ))
}

/// Broker settings that decide the numbers, as the broker reports them (defaults included).
pub async fn settings_in_force(
    cluster: &Cluster,
    client: &crate::kafka::producer::ClientLibrary,
    profile: &crate::kafka::connect::Profile,
) -> Vec<(String, String)> {
    const KEYS: &[&str] = &[
        "zookeeper.session.timeout.ms",
        "replica.lag.time.max.ms",
        "unclean.leader.election.enable",
        "min.insync.replicas",
        "controlled.shutdown.enable",
        "auto.leader.rebalance.enable",
        "leader.imbalance.check.interval.seconds",
        "broker.session.timeout.ms",
        "broker.heartbeat.interval.ms",
        // The consumer group protocol's (KIP-848) session, decided by the broker.
        "group.consumer.session.timeout.ms",
    ];
    let Some((id, addr)) = cluster.bootstrap().into_iter().next() else {
        return Vec::new();
    };
    let mut settings = crate::kafka::admin::broker_settings(&addr, profile, id, KEYS)
        .await
        .unwrap_or_default();
    if cluster.mode == crate::events::ClusterMode::Kraft {
        settings.retain(|(k, _)| k != "zookeeper.session.timeout.ms");
    } else {
        settings.retain(|(k, _)| !k.starts_with("broker.") && !k.starts_with("group.consumer."));
    }
    // Finalized feature levels (e.g. eligible.leader.replicas.version), as `feature:<name>`.
    if let Ok(features) = crate::kafka::features::finalized_features(
        &addr,
        std::time::Duration::from_secs(5),
        profile,
    )
    .await
    {
        settings.extend(
            features
                .into_iter()
                .map(|(name, level)| (format!("feature:{name}"), level.to_string())),
        );
    }
    // The client library decides how fast a long-lived producer recovers (reconnect back-off,
    // metadata refresh, its own bugs): which one measured is part of the result.
    settings.push((format!("client:{}", client.name()), client.version()));
    settings
}

/// The version a broker logged at start-up.
pub async fn kafka_version(
    platform: &impl crate::platform::ClusterPlatform,
    cluster: &Cluster,
) -> String {
    for (service, _) in cluster.brokers() {
        if let Ok(log) = platform.logs_since(&service.name, 0).await {
            if let Some(v) = crate::analysis::kafka_log::kafka_version(&log) {
                return v;
            }
        }
    }
    "unknown".into()
}
