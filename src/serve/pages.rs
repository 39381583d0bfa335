//! The pages and endpoints of the web view. Every run page is rendered from the run's
//! events.jsonl with the report's own code, the same as report.html.

use super::live::{self, LiveHub};
use super::{AppState, ServeError};
use crate::events::Event;
use crate::kafka::connect::Profile;
use crate::report::html::{self, escape};
use crate::report::{RunResult, Status};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, Uri};
use axum::response::sse::{self, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use futures_util::Stream;
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

/// A full page: navigation, the shared style and script.
pub fn shell(title: &str, active: &str, body: &str) -> String {
    let nav = [
        ("/", "reports", "Reports"),
        ("/live", "live", "Live run"),
        ("/trend", "trend", "Trend"),
        ("/cluster", "cluster", "Cluster"),
    ]
    .iter()
    .map(|(href, key, label)| {
        format!(
            "<a href=\"{href}\"{}>{label}</a>",
            if *key == active {
                " style=\"color:#fff;font-weight:600\""
            } else {
                ""
            }
        )
    })
    .collect::<String>();
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
<title>chaos: {}</title><link rel=\"stylesheet\" href=\"/assets/style.css\"><script src=\"/assets/app.js\" defer></script></head>\n\
<body><nav class=\"top\"><span class=\"brand\">chaos</span>{nav}</nav><main>\n{body}\n</main></body></html>\n",
        escape(title)
    )
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

// Long: a renderer: the reports index (runs, suites, trend links) in reading order
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
    let mut body = String::new();
    if let Some(hub) = &state.hub {
        if let (Some(run), _, finished) = hub.status() {
            body.push_str(&format!(
                "<p class=\"figure {}\" id=\"live-banner\">{} <b>{}</b> — <a href=\"/live\">watch it live</a></p>",
                if finished { "" } else { "warn" },
                if finished { "Last run:" } else { "Running now:" },
                escape(&run)
            ));
        }
    }
    body.push_str(&format!(
        "<h1>Reports</h1><p class=\"sub\">{} of {} run(s) in {}</p>",
        shown.len(),
        runs.len(),
        escape(&state.reports.display().to_string())
    ));
    let status_options: String = ["", "passed", "failed", "inconclusive", "aborted"]
        .iter()
        .map(|s| {
            format!(
                "<option value=\"{s}\"{}>{}</option>",
                if query.status.map(|q| q.as_str()) == Some(*s) {
                    " selected"
                } else {
                    ""
                },
                if s.is_empty() { "any status" } else { s }
            )
        })
        .collect();
    body.push_str(&format!(
        "<form class=\"filters\" method=\"get\" action=\"/\"><input type=\"search\" name=\"q\" id=\"filter\" placeholder=\"filter: experiment, variant, status\" value=\"{}\"><select name=\"status\" id=\"status-filter\">{status_options}</select><button type=\"submit\">filter</button></form>",
        escape(query.q.as_deref().unwrap_or(""))
    ));
    body.push_str("<form method=\"get\" action=\"/compare\" id=\"compare-form\"><table id=\"runs\"><thead><tr><th></th><th>experiment</th><th>variant</th><th>status</th><th>when</th><th>failover</th><th>offline</th><th>acked lost</th><th>client gap</th></tr></thead><tbody>\n");
    for r in &shown {
        let res = &r.result;
        let lost = res.verification.as_ref().map(|v| v.lost_acked);
        body.push_str(&format!(
            "<tr data-run=\"{id}\" data-text=\"{text}\"><td><input type=\"checkbox\" name=\"run\" value=\"{id}\"></td><td><a href=\"/runs/{id}\">{exp}</a></td><td>{variant}</td><td><span class=\"verdict {status}\">{status}</span>{partial}</td><td>{when}</td><td class=\"num\">{failover}</td><td class=\"num\">{offline}</td><td class=\"num{lost_class}\">{lost}</td><td class=\"num\">{gap}</td></tr>\n",
            id = escape(&r.id),
            text = escape(&row_text(r)),
            exp = escape(&res.experiment),
            variant = escape(res.variant.as_deref().unwrap_or("")),
            status = res.status.as_str(),
            partial = if res.partial { " <span class=\"muted\">partial</span>" } else { "" },
            when = when(r.started_ms),
            failover = crate::report::format_duration_opt(
                res.failover.log_ms.max.or(res.failover.metadata_ms.max)
            ),
            offline = crate::report::format_duration_ms(res.offline.total_ms),
            lost_class = if lost.unwrap_or(0) > 0 { " err" } else { "" },
            lost = lost.map(|l| l.to_string()).unwrap_or_else(|| "—".into()),
            gap = crate::report::format_duration_opt(
                res.workload.as_ref().and_then(|w| w.max_unavailability_ms)
            ),
        ));
    }
    body.push_str("</tbody></table><button type=\"submit\" id=\"compare-button\">compare selected runs</button></form>");
    let mut experiments: Vec<&str> = runs.iter().map(|r| r.result.experiment.as_str()).collect();
    experiments.sort_unstable();
    experiments.dedup();
    if !experiments.is_empty() {
        body.push_str("<h2>Trends</h2><ul class=\"lines\">");
        for e in experiments {
            body.push_str(&format!(
                "<li><a href=\"/trend?experiment={}\">{}</a></li>",
                percent_encode(e),
                escape(e)
            ));
        }
        body.push_str("</ul>");
    }
    Ok(Html(shell("reports", "reports", &body)))
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
        let files: String = RUN_FILES
            .iter()
            .filter(|(name, _)| dir.join(name).is_file())
            .map(|(name, _)| format!("<a href=\"/runs/{}/files/{name}\">{name}</a>", escape(&id)))
            .collect::<Vec<_>>()
            .join(" · ");
        let body = format!(
            "{}<h2>Files</h2><p id=\"files\">{files}</p>",
            html::render_run_body(&result, svg.as_ref()).into_string()
        );
        Ok(shell(&id, "reports", &body))
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
        let runs: String = ids
            .iter()
            .map(|id| format!("<li><a href=\"/runs/{id}\">{id}</a></li>", id = escape(id)))
            .collect();
        let body = format!(
            "<h1>Comparison of {} runs</h1><ul class=\"lines\">{runs}</ul>{}",
            ids.len(),
            html::comparison_body(&results).into_string()
        );
        Ok(shell("comparison", "reports", &body))
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

// Long: a renderer: the trend page's table and chart in reading order
pub async fn trend(
    State(state): State<AppState>,
    query: Result<Query<TrendQuery>, QueryRejection>,
) -> Result<Html<String>, ServeError> {
    let Query(query) = query.map_err(bad_query)?;
    let path = state.reports.join("history.jsonl");
    let text = tokio::fs::read_to_string(&path).await.unwrap_or_default();
    let entries: Vec<crate::report::trend::HistoryEntry> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let mut body = String::new();
    let Some(experiment) = query.experiment else {
        body.push_str("<h1>Trend</h1>");
        if entries.is_empty() {
            body.push_str("<p>No history yet: every `chaos run` appends a line to history.jsonl in the reports folder.</p>");
        }
        let mut keys: Vec<(String, Option<String>)> = entries
            .iter()
            .map(|h| (h.experiment.clone(), h.variant.clone()))
            .collect();
        keys.sort();
        keys.dedup();
        body.push_str("<ul class=\"lines\" id=\"trend-list\">");
        for (e, v) in keys {
            let n = entries
                .iter()
                .filter(|h| h.experiment == e && h.variant == v)
                .count();
            body.push_str(&format!(
                "<li><a href=\"/trend?experiment={}{}\">{}{}</a> — {n} run(s)</li>",
                percent_encode(&e),
                v.as_ref()
                    .map(|v| format!("&variant={}", percent_encode(v)))
                    .unwrap_or_default(),
                escape(&e),
                v.as_ref()
                    .map(|v| format!(" [{}]", escape(v)))
                    .unwrap_or_default()
            ));
        }
        body.push_str("</ul>");
        return Ok(Html(shell("trend", "trend", &body)));
    };
    let runs: Vec<crate::report::trend::HistoryEntry> = entries
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
    body.push_str(&format!(
        "<h1>Trend: {}</h1><p class=\"sub\">{} run(s) from history.jsonl; a red point is a run that did not pass; a gap is a run without that value.</p>",
        escape(&title),
        runs.len()
    ));
    let regressions = crate::report::trend::regressions(&runs, 5, 1.5, 500.0);
    body.push_str("<ul class=\"lines\" id=\"regressions\">");
    if regressions.is_empty() {
        body.push_str("<li>no regression of the latest run against the previous 5</li>");
    }
    for r in &regressions {
        body.push_str(&format!("<li class=\"err\">REGRESSION {}</li>", escape(r)));
    }
    body.push_str("</ul>");
    body.push_str(&html::trend_svg(&runs).into_string());
    body.push_str("<table id=\"trend-runs\"><thead><tr><th>when</th><th>status</th><th>failover p50</th><th>offline</th><th>acked lost</th><th>p99</th></tr></thead><tbody>");
    for h in runs.iter().rev() {
        body.push_str(&format!(
            "<tr><td>{}</td><td><span class=\"verdict {s}\">{s}</span></td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            when(i64::try_from(h.unix_s.saturating_mul(1000)).ok()),
            crate::report::format_duration_opt(h.failover_p50_ms),
            crate::report::format_duration_ms(h.offline_total_ms),
            h.lost_acked.map(|l| l.to_string()).unwrap_or_else(|| "—".into()),
            crate::report::format_duration_opt(h.latency_p99_ms),
            s = escape(h.status.as_str()),
        ));
    }
    body.push_str("</tbody></table>");
    Ok(Html(shell("trend", "trend", &body)))
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
        Ok(Err(why)) => format!(
            "<h1>Cluster</h1><p id=\"no-cluster\">{why}</p>"
        ),
        Err(_) => "<h1>Cluster</h1><p id=\"no-cluster\">No answer from Docker or the brokers within 8 s.</p>".into(),
    };
    Ok(Html(shell("cluster", "cluster", &body)))
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

/// The cluster's page, or why there is none (HTML).
async fn cluster_body(wanted: Option<String>, profile: &Profile) -> Result<String, String> {
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

fn render_no_cluster(why: &NoCluster) -> String {
    match why {
        NoCluster::Unreachable(e) => format!("No cluster to show: {}", escape(e)),
        NoCluster::NoneRunning => "No cluster is running (start one with <code>chaos up</code> or <code>chaos run … --keep</code>).".into(),
        NoCluster::NotRunning { wanted, running } => format!(
            "No cluster named <code>{}</code> is running; running: {}",
            escape(wanted),
            cluster_links(running)
        ),
        NoCluster::Several(names) => format!("Several clusters are running: {}", cluster_links(names)),
    }
}

fn render_cluster(page: &ClusterPage) -> String {
    let cluster = &page.cluster;
    let mut body = format!(
        "<h1>Cluster {}</h1><p class=\"sub\">{} mode · read-only view, refreshed on reload</p>",
        escape(&cluster.name),
        cluster.mode
    );
    body.push_str("<h2>Services</h2><table id=\"services\"><thead><tr><th>service</th><th>container</th><th>state</th><th>role</th><th>host address</th></tr></thead><tbody>");
    for s in &cluster.services {
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&s.name),
            escape(&s.container_name),
            escape(s.state.as_str()),
            escape(&s.role.as_label()),
            escape(s.host_bootstrap.as_deref().unwrap_or(""))
        ));
    }
    body.push_str("</tbody></table>");
    match &page.view {
        Ok(view) => {
            let name_of = |id: i32| {
                cluster
                    .broker_service(id)
                    .map(|s| format!("{id} ({})", s.name))
                    .unwrap_or(id.to_string())
            };
            body.push_str(&format!(
                "<h2>Brokers</h2><p id=\"brokers\">{}</p><p>controller: <b id=\"controller\">{}</b></p>",
                view.brokers
                    .iter()
                    .map(|b| format!(
                        "<span class=\"broker up{}\">{}</span>",
                        if view.controller == Some(*b) { " controller" } else { "" },
                        escape(&name_of(*b))
                    ))
                    .collect::<String>(),
                view.controller
                    .map(|c| escape(&name_of(c)))
                    .unwrap_or_else(|| "none".into())
            ));
            body.push_str("<h2>Partitions</h2>");
            body.push_str(&partition_lanes(&view.partitions));
        }
        Err(e) => body.push_str(&format!(
            "<p class=\"err\">cluster view unavailable: {}</p>",
            escape(e)
        )),
    }
    if let Some((id, settings)) = &page.settings {
        {
            body.push_str(&format!(
                "<h2>Broker settings in force (broker {id})</h2><table id=\"settings\"><tbody>"
            ));
            for (k, v) in settings {
                body.push_str(&format!(
                    "<tr><td>{}</td><td>{}</td></tr>",
                    escape(k),
                    escape(v)
                ));
            }
            body.push_str("</tbody></table>");
        }
    }
    body
}

fn cluster_links(names: &[String]) -> String {
    names
        .iter()
        .map(|n| {
            format!(
                "<a href=\"/cluster?name={}\">{}</a>",
                percent_encode(n),
                escape(n)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Each partition as a lane: its leader coloured as in the timeline, red without a leader,
/// an amber edge while under-replicated.
fn partition_lanes(partitions: &[crate::events::PartitionState]) -> String {
    if partitions.is_empty() {
        return "<p>no topics</p>".into();
    }
    let mut out = String::from("<table class=\"lanes\" id=\"lanes\"><thead><tr><th>partition</th><th>leader</th><th>epoch</th><th>replicas</th><th>ISR</th><th></th></tr></thead><tbody>");
    for p in partitions {
        let (class, style, note) = match p.leader {
            None => ("lane offline", String::new(), "OFFLINE"),
            Some(l) => (
                if p.isr.len() < p.replicas.len() {
                    "lane under"
                } else {
                    "lane"
                },
                format!(
                    " style=\"background:{}\"",
                    crate::report::charts::timeline::broker_colour_hex(l)
                ),
                if p.isr.len() < p.replicas.len() {
                    "under-replicated"
                } else {
                    ""
                },
            ),
        };
        out.push_str(&format!(
            "<tr data-partition=\"{key}\" data-leader=\"{leader}\"><td>{key}</td><td class=\"{class}\"{style}>{leader}</td><td class=\"num\">{}</td><td>{:?}</td><td>{:?}</td><td>{note}</td></tr>",
            p.leader_epoch,
            p.replicas,
            p.isr,
            key = escape(&p.key()),
            leader = p.leader.map(|l| l.to_string()).unwrap_or_else(|| "none".into()),
        ));
    }
    out.push_str("</tbody></table>");
    out
}

pub async fn live_page(State(state): State<AppState>) -> Html<String> {
    let body = match &state.hub {
        Some(_) => "<div id=\"live\" data-live=\"1\"><p class=\"muted\" id=\"live-waiting\">Waiting for the run's events…</p></div>".to_string(),
        None => "<h1>Live run</h1><p id=\"no-live\">This server (`chaos serve`) shows saved reports only. Watch a run as it happens with <code>chaos run EXPERIMENT --serve</code>.</p>".to_string(),
    };
    Html(shell("live run", "live", &body))
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
    let html = Arc::new(blocking(move || Ok(render_live(&snapshot))).await?);
    if let Ok(mut cache) = state.view_cache.lock() {
        *cache = Some((run, upto, html.clone()));
    }
    Ok(Html(html.as_ref().clone()))
}

// Long: a renderer: the live fragment's parts in reading order
fn render_live(snapshot: &live::Snapshot) -> String {
    let Some(run) = &snapshot.run else {
        return "<p class=\"muted\" id=\"live-waiting\">No run has started yet.</p>".into();
    };
    let events: Vec<Event> = snapshot.events.iter().map(|e| (**e).clone()).collect();
    let result = crate::run::result_of(&events);
    let svg = crate::report::charts::timeline::render_timeline_svg(&events).ok();
    let view = live::live_view(&snapshot.events);
    let running = !snapshot.finished;
    let mut out = format!(
        "<div id=\"live-state\" data-run=\"{}\" data-events=\"{}\" data-finished=\"{}\">",
        escape(run),
        snapshot.events.len(),
        snapshot.finished
    );
    out.push_str(&format!(
        "<div class=\"livebar\"><span class=\"verdict {}\" id=\"live-status\">{}</span><span>phase: <b id=\"phase\">{}</b></span><span>{}</span>{}<span id=\"acked\">acked/s: {}</span><span id=\"p99\">p99: {}</span><span class=\"muted\">{} event(s) · <a href=\"/runs/{}\">run page</a></span></div>",
        if running { "running" } else { result.status.as_str() },
        if running { "RUNNING".to_string() } else { format!("FINISHED: {}", result.status.as_str()) },
        escape(view.phase.as_deref().unwrap_or("starting")),
        crate::report::format_duration_ms(view.elapsed_ms),
        match (&snapshot.now, running) {
            (Some(now), true) => format!("<span id=\"now\">now: <b>{}</b></span>", escape(now)),
            _ => String::new(),
        },
        view.last_tick.map(|(a, _)| a.to_string()).unwrap_or_else(|| "—".into()),
        // No ack in the last second: no latency to show (a gap, not 0 ms).
        match view.last_tick {
            Some((_, Some(p))) => crate::report::format_duration_ms(p),
            Some((_, None)) => "— (nothing acked)".into(),
            None => "—".into(),
        },
        snapshot.events.len(),
        escape(run),
    ));
    out.push_str("<h2>Cluster now</h2><p id=\"live-brokers\">");
    for (service, id, state, registered) in &view.brokers {
        out.push_str(&format!(
            "<span class=\"broker {state}{}\" data-broker=\"{id}\">{} ({id}): {state}{}{}</span>",
            if view.controller == Some(*id) {
                " controller"
            } else {
                ""
            },
            escape(service),
            if *registered { "" } else { ", not registered" },
            if view.controller == Some(*id) {
                " · controller"
            } else {
                ""
            },
        ));
    }
    out.push_str("</p>");
    if !view.faults_in_force.is_empty() {
        out.push_str("<p id=\"faults-in-force\" class=\"err\">in force: ");
        out.push_str(
            &view
                .faults_in_force
                .iter()
                .map(|(l, t)| {
                    format!(
                        "{} since {}",
                        escape(l),
                        crate::report::format_duration_ms(*t)
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
        );
        out.push_str("</p>");
    }
    out.push_str(&partition_lanes(&view.partitions));
    out.push_str("<h2>What happened</h2><ul class=\"happenings lines\" id=\"happenings\">");
    for (t, kind, text) in view.happenings.iter().rev() {
        out.push_str(&format!(
            "<li class=\"{}\">{} — {}</li>",
            kind.css_class(),
            crate::report::format_duration_ms(*t),
            escape(text)
        ));
    }
    out.push_str("</ul>");
    out.push_str(&html::render_run_body_live(&result, svg.as_ref(), running).into_string());
    out.push_str("</div>");
    out
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
