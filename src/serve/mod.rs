//! `chaos serve` and `chaos run --serve`: a local, read-only web view of the reports folder
//! and of the run in progress. One binary, every asset embedded (no Node, nothing fetched
//! from the internet), bound to 127.0.0.1 unless told otherwise. The pages render with the
//! report's own code (report::html, report::charts::timeline): one rendering path for report.html,
//! the served run page and the live page.
//!
//! Safety: nothing here changes the cluster or starts a run; files are served only from the
//! reports folder, by names listed from it (no path is ever joined from a request); the Host
//! header must name this server (a DNS-rebinding page cannot read it).

pub mod live;
mod pages;

use crate::kafka::connect::Profile;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub use live::LiveHub;

/// `chaos serve`.
#[derive(Debug)]
pub struct ServeOptions {
    /// The reports folder to browse.
    pub reports: PathBuf,
    /// Port (0: any free port; the address is printed).
    pub port: u16,
    /// Address to bind; 127.0.0.1 keeps the view on this machine.
    pub bind: IpAddr,
    /// How the cluster page connects to the brokers (the CLI reads CHAOS_KAFKA_*).
    pub profile: Profile,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl IntoResponse for ServeError {
    fn into_response(self) -> Response {
        let (status, title) = match &self {
            ServeError::NotFound(_) => (StatusCode::NOT_FOUND, "Not found"),
            ServeError::BadRequest(_) => (StatusCode::BAD_REQUEST, "Bad request"),
            ServeError::Forbidden(_) => (StatusCode::FORBIDDEN, "Forbidden"),
            ServeError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "Unavailable"),
            ServeError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "Error"),
        };
        let body = pages::shell(
            title,
            "",
            maud::html! {
                h1 { (title) }
                p.err #error { (self) }
                p { a href="/" { "all reports" } }
            },
        );
        (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response()
    }
}

/// The last rendered live view: (run, events rendered, html).
type ViewCache = Arc<Mutex<Option<(Option<String>, usize, Arc<String>)>>>;

#[derive(Clone)]
pub(crate) struct AppState {
    reports: PathBuf,
    hub: Option<LiveHub>,
    port: u16,
    bound: IpAddr,
    /// The last rendered live view (run, upto) → html: several pages share one render.
    view_cache: ViewCache,
    /// How the cluster page connects to the brokers.
    profile: Profile,
}

/// The router of the web view over `reports`, with the live feed of `hub` if any. `port`
/// and `bound` are what the Host header must name.
pub fn router(
    reports: PathBuf,
    hub: Option<LiveHub>,
    bound: IpAddr,
    port: u16,
    profile: Profile,
) -> Router {
    let state = AppState {
        reports,
        hub,
        port,
        bound,
        view_cache: Arc::new(Mutex::new(None)),
        profile,
    };
    Router::new()
        .route("/", get(pages::reports))
        .route("/runs/{id}", get(pages::run_page))
        .route("/runs/{id}/files/{name}", get(pages::run_file))
        .route("/compare", get(pages::compare))
        .route("/trend", get(pages::trend))
        .route("/cluster", get(pages::cluster))
        .route("/live", get(pages::live_page))
        .route("/api/live/events", get(pages::live_events))
        .route("/api/live/view", get(pages::live_view))
        .route("/api/live/status", get(pages::live_status))
        .route("/assets/{name}", get(pages::asset))
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            check_host,
        ))
        .with_state(state)
}

/// The Host header must name this server: 127.0.0.1, localhost, [::1], the bound address,
/// or (bound to every interface) any IP literal — with our port. A DNS-rebinding attack
/// comes with a domain name and is refused.
pub fn host_allowed(host: &str, bound: IpAddr, port: u16) -> bool {
    let (name, host_port) = match host.rsplit_once(':') {
        Some((n, p)) if !n.is_empty() && (!n.contains(':') || n.starts_with('[')) => (n, p),
        _ => return false,
    };
    if host_port.parse::<u16>().ok() != Some(port) {
        return false;
    }
    let ip: Option<IpAddr> = name
        .strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .unwrap_or(name)
        .parse()
        .ok();
    name.eq_ignore_ascii_case("localhost")
        || match ip {
            Some(ip) => ip.is_loopback() || ip == bound || bound.is_unspecified(),
            None => false,
        }
}

async fn check_host(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string);
    let Some(host) = host else {
        return ServeError::BadRequest("no Host header".into()).into_response();
    };
    if !host_allowed(&host, state.bound, state.port) {
        return ServeError::Forbidden(format!(
            "Host `{host}` is not this server (only 127.0.0.1:{p}, localhost:{p}, [::1]:{p} or the bound address; DNS-rebinding protection)",
            p = state.port
        ))
        .into_response();
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    // Everything comes from this server: no script, style or picture from elsewhere.
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// A server bound and running in the background.
pub struct Running {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    pub fn stop(self) {
        self.task.abort();
    }
}

/// Binds and serves in the background.
pub async fn start(
    reports: PathBuf,
    hub: Option<LiveHub>,
    bind: IpAddr,
    port: u16,
    profile: Profile,
) -> Result<Running, crate::error::Error> {
    let listener = tokio::net::TcpListener::bind((bind, port))
        .await
        .map_err(|e| {
            crate::error::Error::Infrastructure(format!(
                "cannot listen on {}: {e}\n  hint: another port with --port / --serve-port (0 picks a free one)",
                SocketAddr::new(bind, port)
            ))
        })?;
    let addr = listener.local_addr()?;
    let app = router(reports, hub, bind, addr.port(), profile);
    let task = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            eprintln!("web view stopped: {e}");
        }
    });
    Ok(Running { addr, task })
}

fn url(addr: SocketAddr, path: &str) -> String {
    match addr.ip() {
        ip if ip.is_unspecified() => format!("http://127.0.0.1:{}{path}", addr.port()),
        IpAddr::V6(ip) => format!("http://[{ip}]:{}{path}", addr.port()),
        IpAddr::V4(ip) => format!("http://{ip}:{}{path}", addr.port()),
    }
}

/// `chaos serve`: until Ctrl-C or SIGTERM.
pub async fn serve(args: ServeOptions) -> Result<crate::exit::ExitCode, crate::error::Error> {
    if !args.reports.is_dir() {
        return Err(crate::error::Error::Invalid(format!(
            "{}: not a directory (the reports folder to browse; --reports DIR)",
            args.reports.display()
        )));
    }
    let running = start(
        args.reports.clone(),
        None,
        args.bind,
        args.port,
        args.profile,
    )
    .await?;
    println!(
        "serving {} on {}  (Ctrl-C to stop)",
        args.reports.display(),
        url(running.addr, "/")
    );
    wait_for_interrupt().await;
    running.stop();
    Ok(crate::exit::ExitCode::Passed)
}

async fn wait_for_interrupt() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Passes the runner's events on to the terminal's reporter, and its status line (the step
/// in progress, e.g. what a `wait-for` waits for) to the live page.
pub struct LiveReporter<'a> {
    inner: &'a dyn crate::run::Reporter,
    hub: LiveHub,
}

impl crate::run::Reporter for LiveReporter<'_> {
    fn report(&self, event: crate::run::RunnerEvent<'_>) {
        if let crate::run::RunnerEvent::Status(now) = &event {
            self.hub.set_now(now);
        }
        self.inner.report(event);
    }
    /// Every recorder of the runs publishes its events to the live page (and to the inner
    /// reporter's tap, if it has one).
    fn event_tap(&self) -> Option<Arc<dyn crate::events::EventTap>> {
        let hub: Arc<dyn crate::events::EventTap> = Arc::new(self.hub.clone());
        Some(match self.inner.event_tap() {
            Some(inner) => Arc::new(crate::events::Fanout(vec![hub, inner])),
            None => hub,
        })
    }
}

/// The web view of `chaos run --serve`: started before the first run, fed by every run's
/// Recorder through the reporter's tap (the hub).
pub struct ForRun {
    running: Running,
    hub: LiveHub,
}

impl ForRun {
    pub async fn start(
        bind: IpAddr,
        port: u16,
        reports: &std::path::Path,
        profile: Profile,
    ) -> Result<Self, crate::error::Error> {
        std::fs::create_dir_all(reports)?;
        let hub = LiveHub::new();
        let running = start(
            reports.to_path_buf(),
            Some(hub.clone()),
            bind,
            port,
            profile,
        )
        .await?;
        eprintln!("live view: {}", url(running.addr, "/live"));
        Ok(Self { running, hub })
    }

    /// `inner`, with the status line also shown on the live page.
    pub fn reporter<'a>(&self, inner: &'a dyn crate::run::Reporter) -> LiveReporter<'a> {
        LiveReporter {
            inner,
            hub: self.hub.clone(),
        }
    }

    /// After the runs: with --keep the view stays up (the cluster does too) until Ctrl-C.
    pub async fn finish(self, keep: bool) {
        if keep {
            eprintln!(
                "live view still at {} while the cluster is kept (Ctrl-C to stop)",
                url(self.running.addr, "/live")
            );
            wait_for_interrupt().await;
        }
        self.running.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::host_allowed;
    use std::net::IpAddr;

    #[test]
    fn only_this_servers_names_pass_the_host_check() {
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        for ok in [
            "127.0.0.1:8080",
            "localhost:8080",
            "LOCALHOST:8080",
            "[::1]:8080",
        ] {
            assert!(host_allowed(ok, lo, 8080), "{ok}");
        }
        for bad in [
            "127.0.0.1:8081",
            "evil.example:8080",
            "127.0.0.1",
            "localhost",
            "",
            ":8080",
            "127.0.0.1.nip.io:8080",
            "[::1]",
            "192.168.1.5:8080",
        ] {
            assert!(!host_allowed(bad, lo, 8080), "{bad}");
        }
        let any: IpAddr = "0.0.0.0".parse().unwrap();
        assert!(host_allowed("192.168.1.5:8080", any, 8080));
        assert!(!host_allowed("attacker.example:8080", any, 8080));
        let own: IpAddr = "10.0.0.7".parse().unwrap();
        assert!(host_allowed("10.0.0.7:9000", own, 9000));
        assert!(!host_allowed("10.0.0.8:9000", own, 9000));
    }
}
