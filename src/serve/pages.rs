//! The pages and endpoints of the web view. Every run page is rendered from the run's
//! events.jsonl with the report's own code, the same as report.html.

use super::live::{self, LiveHub};
use super::{AppState, ServeError};
use crate::events::Event;
use crate::kafka::connect::Profile;
use crate::report::html;
use crate::report::trend::HistoryEntry;
use crate::report::{RunResult, Status};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, Uri};
use axum::response::sse::{self, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use futures_util::Stream;
use maud::{html, Markup, DOCTYPE};
use serde::Deserialize;
use std::collections::VecDeque;
use std::convert::Infallible;
use std::path::{Path as FsPath, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

const APP_JS: &str = include_str!("assets/app.js");

/// The files of a run directory that may be downloaded.
const RUN_FILES: &[(&str, &str)] = &[
    ("events.jsonl", "application/x-ndjson; charset=utf-8"),
    ("result.json", "application/json; charset=utf-8"),
    ("summary.md", "text/markdown; charset=utf-8"),
    ("timeline.svg", "image/svg+xml"),
    ("report.html", "text/html; charset=utf-8"),
];

/// The pages of the navigation bar: link, key (the page's `active`), label.
const NAV: [(&str, &str, &str); 4] = [
    ("/", "reports", "Reports"),
    ("/live", "live", "Live run"),
    ("/trend", "trend", "Trend"),
    ("/cluster", "cluster", "Cluster"),
];

/// A full page: navigation, the shared style and script.
pub fn shell(title: &str, active: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width";
                title { "chaos: " (title) }
                link rel="stylesheet" href="/assets/style.css";
                script src="/assets/app.js" defer {}
            }
            body {
                nav.top {
                    span.brand { "chaos" }
                    @for (href, key, label) in NAV {
                        a href=(href) style=[(key == active).then_some("color:#fff;font-weight:600")] {
                            (label)
                        }
                    }
                }
                main { (body) }
            }
        }
    }
    .into_string()
}

fn bad_query(e: QueryRejection) -> ServeError {
    ServeError::BadRequest(format!("malformed query string: {}", e.body_text()))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ServeError> + Send + 'static,
) -> Result<T, ServeError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ServeError::Internal(e.to_string()))?
}

/// A run id names a directory listed in the reports folder that holds an events.jsonl;
/// nothing else is ever opened, so `..`, absolute paths and links out of the folder fail.
fn run_dir(reports: &FsPath, id: &str) -> Result<PathBuf, ServeError> {
    let unknown = || ServeError::NotFound(format!("no run `{id}` in the reports folder"));
    if id.is_empty() || id.starts_with('.') || id.contains(['/', '\\', '\0']) {
        return Err(unknown());
    }
    let listed = std::fs::read_dir(reports)
        .map_err(|e| ServeError::Internal(format!("{}: {e}", reports.display())))?
        .filter_map(|e| e.ok())
        .find(|e| e.file_name().to_str() == Some(id))
        .map(|e| e.path())
        .ok_or_else(unknown)?;
    if !listed.join("events.jsonl").is_file() {
        return Err(unknown());
    }
    Ok(listed)
}

fn read_events(dir: &FsPath) -> Result<Vec<Event>, ServeError> {
    let file = std::fs::File::open(dir.join("events.jsonl"))
        .map_err(|e| ServeError::Internal(format!("events.jsonl: {e}")))?;
    crate::events::read_events(std::io::BufReader::new(file))
        .map_err(|e| ServeError::Internal(format!("{}: {e}", dir.display())))
}

/// One run in the list.
struct RunEntry {
    id: String,
    result: RunResult,
    /// Wall time of its first event (Unix ms).
    started_ms: Option<i64>,
}

fn first_event_wall_ms(dir: &FsPath) -> Option<i64> {
    use std::io::BufRead;
    let file = std::fs::File::open(dir.join("events.jsonl")).ok()?;
    let mut line = String::new();
    std::io::BufReader::new(file).read_line(&mut line).ok()?;
    serde_json::from_str::<Event>(&line).ok().map(|e| e.wall_ms)
}

/// Every run under the reports folder, newest first. result.json when it reads, else the
/// result derived from events.jsonl (a run still in progress, or an older format).
fn scan(reports: &FsPath) -> Result<Vec<RunEntry>, ServeError> {
    let dirs = std::fs::read_dir(reports)
        .map_err(|e| ServeError::Internal(format!("{}: {e}", reports.display())))?;
    let mut runs = Vec::new();
    for entry in dirs.filter_map(|e| e.ok()) {
        let Some(id) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let dir = entry.path();
        if id.starts_with('.') || !dir.join("events.jsonl").is_file() {
            continue;
        }
        let result = std::fs::read(dir.join("result.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<RunResult>(&b).ok())
            .or_else(|| read_events(&dir).ok().map(|e| crate::run::result_of(&e)));
        let Some(result) = result else { continue };
        runs.push(RunEntry {
            started_ms: first_event_wall_ms(&dir),
            id,
            result,
        });
    }
    runs.sort_by(|a, b| (b.started_ms, &b.id).cmp(&(a.started_ms, &a.id)));
    Ok(runs)
}

fn when(ms: Option<i64>) -> String {
    ms.and_then(|ms| u64::try_from(ms).ok())
        .map(|ms| {
            humantime::format_rfc3339_seconds(
                std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms),
            )
            .to_string()
            .replace('T', " ")
            .trim_end_matches('Z')
            .to_string()
        })
        .unwrap_or_else(|| "—".into())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    q: Option<String>,
    status: Option<Status>,
    experiment: Option<String>,
}

pub async fn reports(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Html<String>, ServeError> {
    let Query(query) = query.map_err(bad_query)?;
    let reports = state.reports.clone();
    let runs = blocking(move || scan(&reports)).await?;
    let needle = query.q.clone().unwrap_or_default().to_lowercase();
    let shown: Vec<&RunEntry> = runs
        .iter()
        .filter(|r| query.status.is_none_or(|s| r.result.status == s))
        .filter(|r| {
            query
                .experiment
                .as_ref()
                .is_none_or(|e| &r.result.experiment == e)
        })
        .filter(|r| needle.is_empty() || row_text(r).contains(&needle))
        .collect();
    let body = html! {
        @if let Some(hub) = &state.hub { (live_banner(hub)) }
        h1 { "Reports" }
        p.sub { (shown.len()) " of " (runs.len()) " run(s) in " (state.reports.display()) }
        (filters(&query))
        (runs_table(&shown))
        (trend_links(&runs))
    };
    Ok(Html(shell("reports", "reports", body)))
}

/// The run in progress (or the last one) of `run --serve`, linked to the live page.
fn live_banner(hub: &LiveHub) -> Markup {
    let (Some(run), _, finished) = hub.status() else {
        return html! {};
    };
    html! {
        p.figure.warn[!finished] #live-banner {
            (if finished { "Last run:" } else { "Running now:" }) " " b { (run) }
            " — " a href="/live" { "watch it live" }
        }
    }
}

/// The list's filters: text (also applied as you type) and status.
fn filters(query: &ListQuery) -> Markup {
    let selected = query.status.map(|q| q.as_str());
    html! {
        form.filters method="get" action="/" {
            input type="search" name="q" #filter placeholder="filter: experiment, variant, status"
                value=(query.q.as_deref().unwrap_or(""));
            select name="status" #status-filter {
                @for status in ["", "passed", "failed", "inconclusive", "aborted"] {
                    option value=(status) selected[selected == Some(status)] {
                        (if status.is_empty() { "any status" } else { status })
                    }
                }
            }
            button type="submit" { "filter" }
        }
    }
}

/// The runs, each with a box to pick it for the comparison.
fn runs_table(shown: &[&RunEntry]) -> Markup {
    html! {
        form method="get" action="/compare" #compare-form {
            table #runs {
                thead {
                    tr {
                        th {} th { "experiment" } th { "variant" } th { "status" } th { "when" }
                        th { "failover" } th { "offline" } th { "acked lost" } th { "client gap" }
                    }
                }
                tbody { @for r in shown { (run_row(r)) } }
            }
            button type="submit" #compare-button { "compare selected runs" }
        }
    }
}

fn run_row(r: &RunEntry) -> Markup {
    let res = &r.result;
    let lost = res.verification.as_ref().map(|v| v.lost_acked);
    let failover = res.failover.log_ms.max.or(res.failover.metadata_ms.max);
    let gap = res.workload.as_ref().and_then(|w| w.max_unavailability_ms);
    html! {
        tr data-run=(r.id) data-text=(row_text(r)) {
            td { input type="checkbox" name="run" value=(r.id); }
            td { a href={ "/runs/" (r.id) } { (res.experiment) } }
            td { (res.variant.as_deref().unwrap_or("")) }
            td {
                span class={ "verdict " (res.status.as_str()) } { (res.status.as_str()) }
                @if res.partial { " " span.muted { "partial" } }
            }
            td { (when(r.started_ms)) }
            td.num { (crate::report::format_duration_opt(failover)) }
            td.num { (crate::report::format_duration_ms(res.offline.total_ms)) }
            td.num.err[lost.unwrap_or(0) > 0] {
                (lost.map(|l| l.to_string()).unwrap_or_else(|| "—".into()))
                @if let Some(v) = res.verification.as_ref().filter(|v| v.unverified_acked > 0) {
                    " " span.muted { "+ " (v.unverified_acked) " unverified" }
                }
            }
            td.num { (crate::report::format_duration_opt(gap)) }
        }
    }
}

/// A link to each experiment's trend.
fn trend_links(runs: &[RunEntry]) -> Markup {
    let mut experiments: Vec<&str> = runs.iter().map(|r| r.result.experiment.as_str()).collect();
    experiments.sort_unstable();
    experiments.dedup();
    if experiments.is_empty() {
        return html! {};
    }
    html! {
        h2 { "Trends" }
        ul.lines {
            @for e in experiments {
                li { a href={ "/trend?experiment=" (percent_encode(e)) } { (e) } }
            }
        }
    }
}

fn row_text(r: &RunEntry) -> String {
    format!(
        "{} {} {} {}",
        r.result.experiment,
        r.result.variant.as_deref().unwrap_or(""),
        r.result.status.as_str(),
        r.id
    )
    .to_lowercase()
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub async fn run_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Html<String>, ServeError> {
    let dir = run_dir(&state.reports, &id)?;
    let page = blocking(move || {
        let events = read_events(&dir)?;
        let result = crate::run::result_of(&events);
        let svg = crate::report::charts::timeline::render_timeline_svg(&events).ok();
        let files: Vec<&str> = RUN_FILES
            .iter()
            .map(|(name, _)| *name)
            .filter(|name| dir.join(name).is_file())
            .collect();
        let body = html! {
            (html::render_run_body(&result, svg.as_ref()))
            h2 { "Files" }
            p #files {
                @for (i, name) in files.iter().enumerate() {
                    @if i > 0 { " · " }
                    a href={ "/runs/" (id) "/files/" (name) } { (name) }
                }
            }
        };
        Ok(shell(&id, "reports", body))
    })
    .await?;
    Ok(Html(page))
}

pub async fn run_file(
    State(state): State<AppState>,
    Path((id, name)): Path<(String, String)>,
) -> Result<Response, ServeError> {
    let dir = run_dir(&state.reports, &id)?;
    let Some((name, mime)) = RUN_FILES.iter().find(|(n, _)| *n == name) else {
        return Err(ServeError::NotFound(format!(
            "no file `{name}` in run `{id}` (files: {})",
            RUN_FILES
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    let bytes = tokio::fs::read(dir.join(name))
        .await
        .map_err(|_| ServeError::NotFound(format!("run `{id}` has no {name}")))?;
    Ok(([(header::CONTENT_TYPE, *mime)], bytes).into_response())
}

pub async fn compare(
    State(state): State<AppState>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Result<Html<String>, ServeError> {
    let Query(pairs) = query.map_err(bad_query)?;
    let mut ids = Vec::new();
    for (key, value) in pairs {
        if key != "run" {
            return Err(ServeError::BadRequest(format!(
                "unknown query parameter `{key}` (compare takes run=<id>, repeated)"
            )));
        }
        if !ids.contains(&value) {
            ids.push(value);
        }
    }
    if ids.len() < 2 {
        return Err(ServeError::BadRequest(
            "select two runs or more to compare (run=<id>&run=<id>)".into(),
        ));
    }
    let dirs = ids
        .iter()
        .map(|id| run_dir(&state.reports, id))
        .collect::<Result<Vec<_>, _>>()?;
    let page = blocking(move || {
        let mut results = Vec::new();
        for dir in &dirs {
            results.push(crate::run::result_of(&read_events(dir)?));
        }
        let body = html! {
            h1 { "Comparison of " (ids.len()) " runs" }
            ul.lines { @for id in &ids { li { a href={ "/runs/" (id) } { (id) } } } }
            (html::comparison_body(&results))
        };
        Ok(shell("comparison", "reports", body))
    })
    .await?;
    Ok(Html(page))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrendQuery {
    experiment: Option<String>,
    variant: Option<String>,
}

pub async fn trend(
    State(state): State<AppState>,
    query: Result<Query<TrendQuery>, QueryRejection>,
) -> Result<Html<String>, ServeError> {
    let Query(query) = query.map_err(bad_query)?;
    let path = state.reports.join("history.jsonl");
    let text = tokio::fs::read_to_string(&path).await.unwrap_or_default();
    let entries: Vec<HistoryEntry> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let Some(experiment) = query.experiment else {
        return Ok(Html(shell("trend", "trend", trend_index(&entries))));
    };
    let runs: Vec<HistoryEntry> = entries
        .into_iter()
        .filter(|h| h.experiment == experiment && h.variant == query.variant)
        .collect();
    if runs.is_empty() {
        return Err(ServeError::NotFound(format!(
            "no history for experiment `{experiment}`{}",
            query.variant.map(|v| format!(" [{v}]")).unwrap_or_default()
        )));
    }
    let title = match &query.variant {
        Some(v) => format!("{experiment} [{v}]"),
        None => experiment.clone(),
    };
    Ok(Html(shell("trend", "trend", trend_of(&title, &runs))))
}

/// Every experiment (and variant) in the history, linked to its trend.
fn trend_index(entries: &[HistoryEntry]) -> Markup {
    let mut keys: Vec<(&str, Option<&str>)> = entries
        .iter()
        .map(|h| (h.experiment.as_str(), h.variant.as_deref()))
        .collect();
    keys.sort();
    keys.dedup();
    let runs_of = |e: &str, v: Option<&str>| {
        entries
            .iter()
            .filter(|h| h.experiment == e && h.variant.as_deref() == v)
            .count()
    };
    html! {
        h1 { "Trend" }
        @if entries.is_empty() {
            p { "No history yet: every `chaos run` appends a line to history.jsonl in the reports folder." }
        }
        ul.lines #trend-list {
            @for (e, v) in keys {
                li {
                    a href=(trend_href(e, v)) {
                        (e)
                        @if let Some(v) = v { " [" (v) "]" }
                    }
                    " — " (runs_of(e, v)) " run(s)"
                }
            }
        }
    }
}

fn trend_href(experiment: &str, variant: Option<&str>) -> String {
    let mut href = format!("/trend?experiment={}", percent_encode(experiment));
    if let Some(v) = variant {
        href.push_str(&format!("&variant={}", percent_encode(v)));
    }
    href
}

/// One experiment's trend: regressions of the latest run, the chart, the runs newest first.
fn trend_of(title: &str, runs: &[HistoryEntry]) -> Markup {
    let regressions = crate::report::trend::regressions(runs, 5, 1.5, 500.0);
    html! {
        h1 { "Trend: " (title) }
        p.sub {
            (runs.len()) " run(s) from history.jsonl; a red point is a run that did not pass; a gap is a run without that value."
        }
        ul.lines #regressions {
            @if regressions.is_empty() {
                li { "no regression of the latest run against the previous 5" }
            }
            @for r in &regressions { li.err { "REGRESSION " (r) } }
        }
        (html::trend_svg(runs))
        table #trend-runs {
            thead {
                tr {
                    th { "when" } th { "status" } th { "failover p50" } th { "offline" }
                    th { "acked lost" } th { "p99" }
                }
            }
            tbody {
                @for h in runs.iter().rev() {
                    tr {
                        td { (when(i64::try_from(h.unix_s.saturating_mul(1000)).ok())) }
                        td { span class={ "verdict " (h.status.as_str()) } { (h.status.as_str()) } }
                        td.num { (crate::report::format_duration_opt(h.failover_p50_ms)) }
                        td.num { (crate::report::format_duration_ms(h.offline_total_ms)) }
                        td.num { (h.lost_acked.map(|l| l.to_string()).unwrap_or_else(|| "—".into())) }
                        td.num { (crate::report::format_duration_opt(h.latency_p99_ms)) }
                    }
                }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterQuery {
    name: Option<String>,
}

/// The running cluster, read-only: services, brokers, controller, topics, leader / ISR,
/// the broker settings in force. Which one: `?name=`, else the live run's, else the only one.
pub async fn cluster(
    State(state): State<AppState>,
    query: Result<Query<ClusterQuery>, QueryRejection>,
) -> Result<Html<String>, ServeError> {
    let Query(query) = query.map_err(bad_query)?;
    let live_cluster = state.hub.as_ref().and_then(|hub| {
        hub.snapshot(None)
            .events
            .iter()
            .find_map(|e| match &e.kind {
                crate::events::EventKind::RunStarted { cluster_name, .. } => {
                    Some(cluster_name.clone())
                }
                _ => None,
            })
    });
    let wanted = query.name.or(live_cluster);
    let body = match tokio::time::timeout(
        std::time::Duration::from_secs(8),
        cluster_body(wanted, &state.profile),
    )
    .await
    {
        Ok(Ok(body)) => body,
        Ok(Err(why)) => html! { h1 { "Cluster" } p #no-cluster { (why) } },
        Err(_) => html! {
            h1 { "Cluster" }
            p #no-cluster { "No answer from Docker or the brokers within 8 s." }
        },
    };
    Ok(Html(shell("cluster", "cluster", body)))
}

/// What the cluster page shows, all fetched before anything is rendered.
struct ClusterPage {
    cluster: crate::platform::Cluster,
    /// The brokers' merged metadata, or why it is unavailable.
    view: Result<crate::events::ClusterSnapshot, String>,
    /// One broker's settings in force (absent when it did not answer).
    settings: Option<(i32, Vec<(String, String)>)>,
}

/// Why there is no cluster page.
enum NoCluster {
    /// Docker did not answer, or the cluster could not be read.
    Unreachable(String),
    NoneRunning,
    NotRunning {
        wanted: String,
        running: Vec<String>,
    },
    Several(Vec<String>),
}

const CLUSTER_SETTINGS: &[&str] = &[
    "zookeeper.session.timeout.ms",
    "replica.lag.time.max.ms",
    "unclean.leader.election.enable",
    "min.insync.replicas",
    "default.replication.factor",
    "controlled.shutdown.enable",
    "auto.leader.rebalance.enable",
    "leader.imbalance.check.interval.seconds",
    "broker.session.timeout.ms",
    "broker.heartbeat.interval.ms",
];

/// The cluster's page, or why there is none.
async fn cluster_body(wanted: Option<String>, profile: &Profile) -> Result<Markup, Markup> {
    match fetch_cluster(wanted, profile).await {
        Ok(page) => Ok(render_cluster(&page)),
        Err(why) => Err(render_no_cluster(&why)),
    }
}

/// Docker for the cluster's containers, the brokers for their metadata and settings.
async fn fetch_cluster(
    wanted: Option<String>,
    profile: &Profile,
) -> Result<ClusterPage, NoCluster> {
    use crate::docker::{self, cluster};
    let unreachable = |e: &dyn std::fmt::Display| NoCluster::Unreachable(e.to_string());
    let docker = docker::connect().await.map_err(|e| unreachable(&e))?;
    let containers = cluster::lifecycle::list(&docker, None)
        .await
        .map_err(|e| unreachable(&e))?;
    let names = docker::inventory::cluster_names(&containers);
    let name = match (wanted, names.as_slice()) {
        (_, []) => return Err(NoCluster::NoneRunning),
        (Some(w), _) if names.contains(&w) => w,
        (Some(wanted), _) => {
            return Err(NoCluster::NotRunning {
                wanted,
                running: names,
            })
        }
        (None, [one]) => one.clone(),
        (None, _) => return Err(NoCluster::Several(names)),
    };
    let cluster = cluster::attach(&docker::engines::Engines::one(docker.clone()), Some(&name))
        .await
        .map_err(|e| unreachable(&e))?;
    let view = crate::kafka::metadata::snapshot(
        &cluster.bootstrap(),
        cluster.mode == crate::events::ClusterMode::Kraft,
        std::time::Duration::from_secs(3),
        profile,
    )
    .await
    .map_err(|e| e.to_string());
    let mut settings = None;
    if let Some((id, addr)) = cluster.bootstrap().into_iter().next() {
        if let Ok(s) =
            crate::kafka::admin::broker_settings(&addr, profile, id, CLUSTER_SETTINGS).await
        {
            settings = Some((id, s));
        }
    }
    Ok(ClusterPage {
        cluster,
        view,
        settings,
    })
}

fn render_no_cluster(why: &NoCluster) -> Markup {
    match why {
        NoCluster::Unreachable(e) => html! { "No cluster to show: " (e) },
        NoCluster::NoneRunning => html! {
            "No cluster is running (start one with " code { "chaos up" } " or "
            code { "chaos run … --keep" } ")."
        },
        NoCluster::NotRunning { wanted, running } => html! {
            "No cluster named " code { (wanted) } " is running; running: " (cluster_links(running))
        },
        NoCluster::Several(names) => html! {
            "Several clusters are running: " (cluster_links(names))
        },
    }
}

fn render_cluster(page: &ClusterPage) -> Markup {
    let cluster = &page.cluster;
    html! {
        h1 { "Cluster " (cluster.name) }
        p.sub { (cluster.mode) " mode · read-only view, refreshed on reload" }
        h2 { "Services" }
        (services_table(&cluster.services))
        @match &page.view {
            Ok(view) => {
                (brokers_section(cluster, view))
                h2 { "Partitions" }
                (partition_lanes(&view.partitions))
            }
            Err(e) => p.err { "cluster view unavailable: " (e) },
        }
        @if let Some((id, settings)) = &page.settings {
            h2 { "Broker settings in force (broker " (id) ")" }
            table #settings {
                tbody { @for (k, v) in settings { tr { td { (k) } td { (v) } } } }
            }
        }
    }
}

fn services_table(services: &[crate::platform::RunningService]) -> Markup {
    html! {
        table #services {
            thead {
                tr {
                    th { "service" } th { "container" } th { "state" } th { "role" }
                    th { "host address" }
                }
            }
            tbody {
                @for s in services {
                    tr {
                        td { (s.name) }
                        td { (s.container_name) }
                        td { (s.state.as_str()) }
                        td { (s.role.as_label()) }
                        td { (s.host_bootstrap.as_deref().unwrap_or("")) }
                    }
                }
            }
        }
    }
}

/// The brokers registered in the metadata, named by their service, and the controller.
fn brokers_section(
    cluster: &crate::platform::Cluster,
    view: &crate::events::ClusterSnapshot,
) -> Markup {
    let name_of = |id: i32| {
        cluster
            .broker_service(id)
            .map(|s| format!("{id} ({})", s.name))
            .unwrap_or(id.to_string())
    };
    html! {
        h2 { "Brokers" }
        p #brokers {
            @for b in &view.brokers {
                span.broker.up.controller[view.controller == Some(*b)] { (name_of(*b)) }
            }
        }
        p {
            "controller: "
            b #controller { (view.controller.map(name_of).unwrap_or_else(|| "none".into())) }
        }
    }
}

fn cluster_links(names: &[String]) -> Markup {
    html! {
        @for (i, n) in names.iter().enumerate() {
            @if i > 0 { ", " }
            a href={ "/cluster?name=" (percent_encode(n)) } { (n) }
        }
    }
}

/// Each partition as a lane: its leader coloured as in the timeline, red without a leader,
/// an amber edge while under-replicated.
fn partition_lanes(partitions: &[crate::events::PartitionState]) -> Markup {
    if partitions.is_empty() {
        return html! { p { "no topics" } };
    }
    html! {
        table.lanes #lanes {
            thead {
                tr {
                    th { "partition" } th { "leader" } th { "epoch" } th { "replicas" } th { "ISR" }
                    th {}
                }
            }
            tbody { @for p in partitions { (lane_row(p)) } }
        }
    }
}

fn lane_row(p: &crate::events::PartitionState) -> Markup {
    let under = p.isr.len() < p.replicas.len();
    let (class, background, note) = match p.leader {
        None => ("lane offline", None, "OFFLINE"),
        Some(l) => (
            if under { "lane under" } else { "lane" },
            Some(format!(
                "background:{}",
                crate::report::charts::timeline::broker_colour_hex(l)
            )),
            if under { "under-replicated" } else { "" },
        ),
    };
    let leader = p
        .leader
        .map(|l| l.to_string())
        .unwrap_or_else(|| "none".into());
    html! {
        tr data-partition=(p.key()) data-leader=(leader) {
            td { (p.key()) }
            td class=(class) style=[background] { (leader) }
            td.num { (p.leader_epoch) }
            td { (format!("{:?}", p.replicas)) }
            td { (format!("{:?}", p.isr)) }
            td { (note) }
        }
    }
}

pub async fn live_page(State(state): State<AppState>) -> Html<String> {
    let body = match &state.hub {
        Some(_) => html! {
            div #live data-live="1" {
                p.muted #live-waiting { "Waiting for the run's events…" }
            }
        },
        None => html! {
            h1 { "Live run" }
            p #no-live {
                "This server (`chaos serve`) shows saved reports only. Watch a run as it happens with "
                code { "chaos run EXPERIMENT --serve" } "."
            }
        },
    };
    Html(shell("live run", "live", body))
}

fn hub_of(state: &AppState) -> Result<&LiveHub, ServeError> {
    state.hub.as_ref().ok_or_else(|| {
        ServeError::NotFound(
            "no live run in this process (start one with `chaos run EXPERIMENT --serve`)".into(),
        )
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// The last id the client has, when it cannot send Last-Event-ID.
    last_id: Option<usize>,
}

/// Server-sent events: the current run's events from the start (or after Last-Event-ID),
/// then live. `id:` is the event's index.
pub async fn live_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Sse<impl Stream<Item = Result<sse::Event, Infallible>>>, ServeError> {
    let Query(query) = query.map_err(bad_query)?;
    let hub = hub_of(&state)?.clone();
    let last_id = match headers.get("last-event-id") {
        Some(v) => Some(
            v.to_str()
                .ok()
                .and_then(|s| s.trim().parse::<usize>().ok())
                .ok_or_else(|| {
                    ServeError::BadRequest("Last-Event-ID must be an event index".into())
                })?,
        ),
        None => query.last_id,
    };
    let next = hub.start_index(last_id);
    let position = hub.register_client(next);
    let rx = hub.subscribe();
    let stream = futures_util::stream::unfold(
        (hub, next, rx, position, VecDeque::new()),
        |(hub, mut next, mut rx, position, mut pending)| async move {
            loop {
                if let Some((id, json)) = pending.pop_front() {
                    let id: usize = id;
                    let json: Arc<str> = json;
                    position.store(id + 1, Ordering::Relaxed);
                    let event = sse::Event::default().id(id.to_string()).data(&*json);
                    return Some((Ok(event), (hub, next, rx, position, pending)));
                }
                // Mark the current total seen before reading, so no push is missed.
                rx.borrow_and_update();
                let batch = hub.since(next, 256);
                if batch.events.is_empty() {
                    next = batch.next.max(next);
                    if rx.changed().await.is_err() {
                        return None;
                    }
                    continue;
                }
                next = batch.next;
                pending.extend(batch.events);
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewQuery {
    upto: Option<usize>,
}

/// The live run rendered up to an event index: the live panel and the run page's body.
pub async fn live_view(
    State(state): State<AppState>,
    query: Result<Query<ViewQuery>, QueryRejection>,
) -> Result<Html<String>, ServeError> {
    let Query(query) = query.map_err(bad_query)?;
    let hub = hub_of(&state)?;
    let snapshot = hub.snapshot(query.upto);
    let upto = snapshot.base + snapshot.events.len();
    if let Ok(cache) = state.view_cache.lock() {
        if let Some((run, at, html)) = cache.as_ref() {
            if *run == snapshot.run && *at == upto {
                return Ok(Html(html.as_ref().clone()));
            }
        }
    }
    let run = snapshot.run.clone();
    let html = Arc::new(blocking(move || Ok(render_live(&snapshot).into_string())).await?);
    if let Ok(mut cache) = state.view_cache.lock() {
        *cache = Some((run, upto, html.clone()));
    }
    Ok(Html(html.as_ref().clone()))
}

/// The live run so far: its state for the page's script, the status bar, the brokers, the
/// faults in force, the partitions, what happened, then the run page's body.
fn render_live(snapshot: &live::Snapshot) -> Markup {
    let Some(run) = &snapshot.run else {
        return html! { p.muted #live-waiting { "No run has started yet." } };
    };
    let events: Vec<Event> = snapshot.events.iter().map(|e| (**e).clone()).collect();
    let result = crate::run::result_of(&events);
    let svg = crate::report::charts::timeline::render_timeline_svg(&events).ok();
    let view = live::live_view(&snapshot.events);
    let running = !snapshot.finished;
    html! {
        div #live-state data-run=(run) data-events=(snapshot.events.len()) data-finished=(snapshot.finished) {
            (live_bar(run, snapshot, &view, result.status, running))
            h2 { "Cluster now" }
            (live_brokers(&view))
            @if !view.faults_in_force.is_empty() {
                p #faults-in-force .err { "in force: " (faults_in_force(&view)) }
            }
            (partition_lanes(&view.partitions))
            h2 { "What happened" }
            ul.happenings.lines #happenings {
                @for (t, kind, text) in view.happenings.iter().rev() {
                    li class=(kind.css_class()) {
                        (crate::report::format_duration_ms(*t)) " — " (text)
                    }
                }
            }
            (html::render_run_body_live(&result, svg.as_ref(), running))
        }
    }
}

/// Status, phase, time, what the runner waits for, the last second's acks and p99.
fn live_bar(
    run: &str,
    snapshot: &live::Snapshot,
    view: &live::LiveView,
    status: Status,
    running: bool,
) -> Markup {
    let acked = view
        .last_tick
        .map(|(a, _)| a.to_string())
        .unwrap_or_else(|| "—".into());
    // No ack in the last second: no latency to show (a gap, not 0 ms).
    let p99 = match view.last_tick {
        Some((_, Some(p))) => crate::report::format_duration_ms(p),
        Some((_, None)) => "— (nothing acked)".into(),
        None => "—".into(),
    };
    let now = snapshot.now.as_deref().filter(|_| running);
    html! {
        div.livebar {
            @if running {
                span.verdict.running #live-status { "RUNNING" }
            } @else {
                span class={ "verdict " (status.as_str()) } #live-status {
                    "FINISHED: " (status.as_str())
                }
            }
            span { "phase: " b #phase { (view.phase.as_deref().unwrap_or("starting")) } }
            span { (crate::report::format_duration_ms(view.elapsed_ms)) }
            @if let Some(now) = now {
                span #now { "now: " b { (now) } }
            }
            span #acked { "acked/s: " (acked) }
            span #p99 { "p99: " (p99) }
            span.muted {
                (snapshot.events.len()) " event(s) · " a href={ "/runs/" (run) } { "run page" }
            }
        }
    }
}

/// Each broker as Docker and the observer see it, the controller marked.
fn live_brokers(view: &live::LiveView) -> Markup {
    html! {
        p #live-brokers {
            @for (service, id, state, registered) in &view.brokers {
                @let controller = view.controller == Some(*id);
                @let class = if controller {
                    format!("broker {state} controller")
                } else {
                    format!("broker {state}")
                };
                span class=(class) data-broker=(id) {
                    (service) " (" (id) "): " (state)
                    @if !registered { ", not registered" }
                    @if controller { " · controller" }
                }
            }
        }
    }
}

/// "kill kafka-2 since 5.01 s, …": the faults not yet healed.
fn faults_in_force(view: &live::LiveView) -> String {
    view.faults_in_force
        .iter()
        .map(|(label, at)| format!("{label} since {}", crate::report::format_duration_ms(*at)))
        .collect::<Vec<_>>()
        .join(", ")
}

pub async fn live_status(State(state): State<AppState>) -> Result<Response, ServeError> {
    let hub = hub_of(&state)?;
    let (run, events, finished) = hub.status();
    let body = serde_json::json!({
        "run": run,
        "events": events,
        "finished": finished,
        "clients": hub.clients(),
    });
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response())
}

pub async fn asset(Path(name): Path<String>) -> Result<Response, ServeError> {
    let (mime, body) = match name.as_str() {
        "style.css" => ("text/css; charset=utf-8", html::CSS),
        "app.js" => ("text/javascript; charset=utf-8", APP_JS),
        _ => return Err(ServeError::NotFound(format!("no asset `{name}`"))),
    };
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
        .into_response())
}

pub async fn not_found(uri: Uri) -> ServeError {
    ServeError::NotFound(format!("no page at {}", uri.path()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platform::{Cluster, ContainerState, Role, RunningService};

    /// Markup in a name, a quote that would end an attribute, an entity.
    const HOSTILE: &str = "<script>alert(1)</script>\"'&";
    const ESCAPED: &str = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;'&amp;";

    fn broker(name: &str, id: i32) -> RunningService {
        RunningService {
            name: name.into(),
            container_id: "c0ffee".into(),
            container_name: format!("seed-{name}"),
            role: Role::Broker { id, kraft: true },
            host_bootstrap: Some(format!("127.0.0.1:{}", 9091 + id)),
            ip: None,
            state: ContainerState::Running,
            node: None,
        }
    }

    #[test]
    fn the_cluster_page_escapes_what_docker_and_the_brokers_report() {
        let partition = |leader, isr| crate::events::PartitionState {
            topic: HOSTILE.into(),
            partition: 0,
            leader,
            leader_epoch: 3,
            replicas: vec![1, 2],
            isr,
            offline_replicas: vec![],
        };
        let page = ClusterPage {
            cluster: Cluster {
                name: HOSTILE.into(),
                origin: Default::default(),
                network: "seed".into(),
                mode: crate::events::ClusterMode::Kraft,
                config_hash: String::new(),
                services: vec![broker(HOSTILE, 1), broker("kafka-2", 2)],
                reused: false,
                ready_after: std::time::Duration::ZERO,
                replaced_unready: None,
                nodes: vec![],
            },
            view: Ok(crate::events::ClusterSnapshot {
                controller: Some(1),
                brokers: vec![1, 2],
                partitions: vec![partition(Some(1), vec![1]), partition(None, vec![])],
            }),
            settings: Some((1, vec![(HOSTILE.into(), HOSTILE.into())])),
        };
        let not_running = NoCluster::NotRunning {
            wanted: HOSTILE.into(),
            running: vec![HOSTILE.into()],
        };
        for html in [
            render_cluster(&page).into_string(),
            render_no_cluster(&not_running).into_string(),
            render_no_cluster(&NoCluster::Unreachable(HOSTILE.into())).into_string(),
        ] {
            assert!(
                !html.contains(HOSTILE) && !html.contains("<script"),
                "{html}"
            );
            assert!(html.contains(ESCAPED), "{html}");
        }
        let html = render_cluster(&page).into_string();
        assert!(html.contains("class=\"lane under\"") && html.contains("class=\"lane offline\""));
    }
}
