//! The web view over HTTP, without a cluster: a reports folder made from the saved events of
//! a real run (tests/fixtures/events/leader-kill.jsonl) and a live hub fed by the test.
//! Path traversal, unknown run ids, malformed query strings, foreign Host headers, markup in
//! names, the SSE resume, and a client that never reads its stream.

#[path = "common/http.rs"]
mod http;

use chaos::events::{Event, EventKind};
use chaos::serve::LiveHub;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const FIXTURE: &str = include_str!("fixtures/events/leader-kill.jsonl");

/// A reports folder: two variants of the fixture run, a history, and a secret file beside
/// the folder that must never be served.
fn reports_folder(name: &str) -> (tempfile::TempDir, PathBuf) {
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::write(root.path().join("secret.txt"), "do not serve").unwrap();
    let reports = root.path().join("reports");
    for (dir, variant) in [
        ("leader-kill-fast-acks-1-20261127-100000", "acks=1"),
        ("leader-kill-fast-acks-all-20261127-100100", "acks=all"),
    ] {
        let d = reports.join(dir);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("events.jsonl"),
            FIXTURE.replacen("\"variant\":null", &format!("\"variant\":\"{variant}\""), 1),
        )
        .unwrap();
        std::fs::write(d.join("notes.txt"), "not a report file").unwrap();
    }
    let mut history = String::new();
    for (i, failover) in [6100.0, 6300.0, 6200.0].iter().enumerate() {
        history.push_str(&format!(
            "{{\"unix_s\":{},\"experiment\":\"leader-kill-fast\",\"variant\":null,\"status\":\"passed\",\"failover_p50_ms\":{failover},\"failover_max_ms\":{failover},\"controller_failover_ms\":null,\"offline_total_ms\":95.0,\"lost_acked\":0,\"latency_p99_ms\":7090.0}}\n",
            1_795_600_000 + i * 86_400
        ));
    }
    std::fs::write(reports.join("history.jsonl"), history).unwrap();
    let _ = name;
    (root, reports)
}

struct Server {
    addr: SocketAddr,
    _runtime: tokio::runtime::Runtime,
}

fn serve(reports: &Path, hub: Option<LiveHub>) -> Server {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let running = runtime
        .block_on(chaos::serve::start(
            reports.to_path_buf(),
            hub,
            "127.0.0.1".parse().unwrap(),
            0,
            Default::default(),
        ))
        .expect("server starts");
    Server {
        addr: running.addr,
        _runtime: runtime,
    }
}

fn fixture_events() -> Vec<Event> {
    chaos::events::read_events(FIXTURE.as_bytes()).unwrap()
}

#[test]
fn the_reports_list_run_page_comparison_and_trend_render() {
    let (_root, reports) = reports_folder("pages");
    let s = serve(&reports, None);
    let list = http::get(s.addr, "/", &[]);
    assert_eq!(list.status, 200);
    assert!(list.body.contains("2 of 2 run(s)"), "{}", list.body);
    assert!(list.body.contains("acks=1") && list.body.contains("acks=all"));
    let filtered = http::get(s.addr, "/?q=acks%3Dall&status=passed", &[]);
    assert!(filtered.body.contains("1 of 2 run(s)"), "{}", filtered.body);

    let page = http::get(s.addr, "/runs/leader-kill-fast-acks-1-20261127-100000", &[]);
    assert_eq!(page.status, 200);
    let at = |needle: &str| page.body.find(needle).unwrap_or_else(|| panic!("{needle}"));
    assert!(at("data-figure=\"acked-lost\"") < at("id=\"timeline\""));
    assert!(at("id=\"timeline\"") < at("id=\"partitions\""));
    assert!(page.body.contains("kill kafka-3"), "the fault band");
    assert!(
        page.header("content-security-policy")
            .is_some_and(|c| c.contains("default-src 'self'")),
        "nothing from elsewhere"
    );

    let compare = http::get(
        s.addr,
        "/compare?run=leader-kill-fast-acks-1-20261127-100000&run=leader-kill-fast-acks-all-20261127-100100",
        &[],
    );
    assert_eq!(compare.status, 200, "{}", compare.body);
    assert!(
        compare.body.contains("id=\"compare-table\"")
            && compare.body.contains("id=\"beyond-noise\"")
    );
    assert!(compare.body.contains("leader-kill-fast [acks=1]"));

    let trend = http::get(s.addr, "/trend?experiment=leader-kill-fast", &[]);
    assert_eq!(trend.status, 200);
    assert!(trend.body.contains("id=\"trend-chart\"") && trend.body.contains("3 run(s)"));

    let file = http::get(
        s.addr,
        "/runs/leader-kill-fast-acks-1-20261127-100000/files/events.jsonl",
        &[],
    );
    assert_eq!(file.status, 200);
    assert!(file.body.starts_with("{\"at_us\""));
    let css = http::get(s.addr, "/assets/style.css", &[]);
    assert_eq!(
        (css.status, css.header("content-type")),
        (200, Some("text/css; charset=utf-8"))
    );
}

#[test]
fn path_traversal_and_unknown_runs_are_404_and_nothing_else_is_affected() {
    let (_root, reports) = reports_folder("traversal");
    let s = serve(&reports, None);
    let run = "leader-kill-fast-acks-1-20261127-100000";
    for target in [
        "/runs/../secret.txt".to_string(),
        "/runs/..%2Fsecret.txt".into(),
        "/runs/%2E%2E".into(),
        "/runs/..".into(),
        "/runs/%2Fetc%2Fpasswd".into(),
        "/runs/nope-20260101-000000".into(),
        format!("/runs/{run}/files/..%2F..%2Fsecret.txt"),
        format!("/runs/{run}/files/notes.txt"),
        format!("/runs/{run}/files/result.json"),
        format!("/runs/..%2F{run}/files/events.jsonl"),
        "/runs/nope/files/events.jsonl".into(),
        "/assets/..%2F..%2FCargo.toml".into(),
        "/../secret.txt".into(),
        "/static/../../secret.txt".into(),
    ] {
        let r = http::get(s.addr, &target, &[]);
        assert!(
            r.status == 404 || r.status == 400,
            "{target}: {} {}",
            r.status,
            r.body
        );
        assert!(!r.body.contains("do not serve"), "{target} leaked the file");
        assert!(
            r.body.contains("id=\"error\""),
            "{target}: a clear page: {}",
            r.body
        );
    }
    let unknown = http::get(s.addr, "/runs/nope-20260101-000000", &[]);
    assert!(unknown
        .body
        .contains("no run `nope-20260101-000000` in the reports folder"));
    let missing = http::get(s.addr, &format!("/runs/{run}/files/result.json"), &[]);
    assert!(
        missing.body.contains("has no result.json"),
        "{}",
        missing.body
    );
    // The server is unaffected.
    assert_eq!(http::get(s.addr, &format!("/runs/{run}"), &[]).status, 200);
}

#[test]
fn malformed_query_strings_are_400_with_the_reason() {
    let (_root, reports) = reports_folder("queries");
    let hub = LiveHub::new();
    let s = serve(&reports, Some(hub));
    let run_a = "leader-kill-fast-acks-1-20261127-100000";
    for (target, status, says) in [
        ("/?status=bogus", 400, "unknown variant `bogus`"),
        ("/?nonsense=1", 400, "unknown field `nonsense`"),
        ("/?q=a&q=b", 400, "duplicate field `q`"),
        ("/api/live/view?upto=abc", 400, "upto: invalid digit"),
        ("/api/live/view?upto=-1", 400, "malformed query string"),
        ("/api/live/events?last_id=x", 400, "malformed query string"),
        ("/compare", 400, "select two runs or more"),
        (
            "/compare?run=leader-kill-fast-acks-1-20261127-100000",
            400,
            "select two runs or more",
        ),
        ("/compare?runs=a,b", 400, "unknown query parameter `runs`"),
        (
            "/trend?experiment=nope",
            404,
            "no history for experiment `nope`",
        ),
        ("/trend?since=yesterday", 400, "unknown field `since`"),
    ] {
        let r = http::get(s.addr, target, &[]);
        assert_eq!(r.status, status, "{target}: {}", r.body);
        assert!(r.body.contains(says), "{target}: {}", r.body);
    }
    let r = http::get(
        s.addr,
        &format!("/compare?run={run_a}&run=..%2Fsecret.txt"),
        &[],
    );
    assert_eq!(r.status, 404, "{}", r.body);
    let r = http::get(s.addr, "/api/live/events", &[("Last-Event-ID", "abc")]);
    assert_eq!(r.status, 400);
    assert!(r.body.contains("Last-Event-ID must be an event index"));
    assert_eq!(http::get(s.addr, "/", &[]).status, 200, "unaffected");
}

#[test]
fn a_foreign_host_header_is_refused() {
    let (_root, reports) = reports_folder("host");
    let s = serve(&reports, None);
    let port = s.addr.port();
    for host in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        format!("[::1]:{port}"),
    ] {
        assert_eq!(
            http::get(s.addr, "/", &[("Host", &host)]).status,
            200,
            "{host}"
        );
    }
    for host in [
        format!("attacker.example:{port}"),
        format!("127.0.0.1.nip.io:{port}"),
        format!("127.0.0.1:{}", port.wrapping_add(1)),
        "localhost".to_string(),
    ] {
        let r = http::get(
            s.addr,
            "/runs/leader-kill-fast-acks-1-20261127-100000",
            &[("Host", &host)],
        );
        assert_eq!(r.status, 403, "{host}");
        assert!(r.body.contains("DNS-rebinding") && !r.body.contains("kill kafka-3"));
    }
}

/// Markup in a name, a quote that would end an attribute, an entity.
const HOSTILE: &str = "<script>alert(1)</script>\"'&";
const ESCAPED: &str = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;'&amp;";

/// Every name a run's events carry (experiment, variant, description, topic, broker, fault
/// target), the run's name, the runner's status line, the history's names and the request's
/// own text reach the pages escaped: none can add markup or leave an attribute.
#[test]
fn names_from_the_events_are_escaped_on_every_page() {
    // HOSTILE inside a JSON string.
    let json = HOSTILE.replace('"', "\\\"");
    let events = FIXTURE
        .replace("leader-kill-fast", &format!("x{json}"))
        .replace("orders", &json)
        .replace("kafka-3", &format!("kafka-3{json}"))
        .replacen(
            "\"variant\":null",
            &format!("\"variant\":\"{json}\",\"description\":\"{json}\""),
            1,
        );
    let root = tempfile::tempdir().expect("tempdir");
    let reports = root.path().join("reports");
    for dir in ["a-20261127-100000", "b-20261127-100100"] {
        std::fs::create_dir_all(reports.join(dir)).unwrap();
        std::fs::write(reports.join(dir).join("events.jsonl"), &events).unwrap();
    }
    std::fs::write(
        reports.join("history.jsonl"),
        format!("{{\"unix_s\":1795600000,\"experiment\":\"x{json}\",\"variant\":\"{json}\",\"status\":\"passed\",\"failover_p50_ms\":6100.0,\"failover_max_ms\":6100.0,\"controller_failover_ms\":null,\"offline_total_ms\":95.0,\"lost_acked\":0,\"latency_p99_ms\":7090.0}}\n"),
    )
    .unwrap();
    let hub = LiveHub::new();
    let s = serve(&reports, Some(hub.clone()));
    hub.begin_run(&format!("run{HOSTILE}"));
    let parsed = chaos::events::read_events(events.as_bytes()).unwrap();
    // All but run-finished: the page shows the runner's status line while running.
    for e in &parsed[..parsed.len() - 1] {
        hub.push(e);
    }
    hub.set_now(HOSTILE);
    let encoded = "x%3Cscript%3Ealert(1)%3C%2Fscript%3E%22'%26";
    for (target, status) in [
        ("/".to_string(), 200),
        ("/?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E%22'%26".into(), 200),
        ("/runs/a-20261127-100000".into(), 200),
        (
            "/compare?run=a-20261127-100000&run=b-20261127-100100".into(),
            200,
        ),
        ("/trend".into(), 200),
        (
            format!("/trend?experiment={encoded}&variant={}", &encoded[1..]),
            200,
        ),
        ("/api/live/view".into(), 200),
        (
            "/runs/%3Cscript%3Ealert(1)%3C%2Fscript%3E%22'%26".into(),
            404,
        ),
    ] {
        let page = http::get(s.addr, &target, &[]);
        assert_eq!(page.status, status, "{target}: {}", page.body);
        assert!(
            !page.body.contains(HOSTILE) && !page.body.contains("<script>alert"),
            "{target}: {}",
            page.body
        );
        assert!(page.body.contains(ESCAPED), "{target}: {}", page.body);
    }
}

#[test]
fn the_event_stream_gives_history_then_live_and_resumes_without_gaps_or_duplicates() {
    let (_root, reports) = reports_folder("sse");
    let hub = LiveHub::new();
    let events = fixture_events();
    let (before, after) = events.split_at(20);
    hub.begin_run("leader-kill-fast-20261127-120000");
    for e in before {
        hub.push(e);
    }
    let s = serve(&reports, Some(hub.clone()));
    let mut first = http::Sse::open(s.addr, None);
    assert_eq!(first.status, 200);
    let mut seen: Vec<(usize, String)> = (0..20).map(|_| first.next()).collect();
    assert_eq!(
        seen.iter().map(|e| e.0).collect::<Vec<_>>(),
        (0..20).collect::<Vec<_>>()
    );
    // Live: events pushed now arrive on the open stream.
    for e in &after[..5] {
        hub.push(e);
    }
    seen.extend((0..5).map(|_| first.next()));
    drop(first);
    // A reconnect after id 24 gets 25… and nothing twice.
    for e in &after[5..] {
        hub.push(e);
    }
    let mut resumed = http::Sse::open(s.addr, Some(24));
    let rest = events.len() - 25;
    seen.extend((0..rest).map(|_| resumed.next()));
    let ids: Vec<usize> = seen.iter().map(|e| e.0).collect();
    assert_eq!(ids, (0..events.len()).collect::<Vec<_>>());
    let back: Vec<Event> = seen
        .iter()
        .map(|(_, d)| serde_json::from_str(d).expect("an event"))
        .collect();
    assert_eq!(back, events, "the same events, in order");
    // A page opened now gets the same history.
    let mut late = http::Sse::open(s.addr, None);
    let late_ids: Vec<usize> = (0..events.len()).map(|_| late.next().0).collect();
    assert_eq!(late_ids, ids);
    // The live view renders the run so far, with the final table once it finished.
    let view = http::get(
        s.addr,
        &format!("/api/live/view?upto={}", events.len() - 1),
        &[],
    );
    assert!(
        view.body.contains("data-finished=\"true\"") && view.body.contains("id=\"expectations\"")
    );
    let early = http::get(s.addr, "/api/live/view?upto=5", &[]);
    assert!(early.body.contains("data-finished=\"false\"") && early.body.contains("RUNNING"));
}

/// A client that opens the stream and never reads it: pushing goes on at full speed, a
/// reading client gets everything, the stalled one holds no more than its socket buffers
/// (its position stops far behind), and the server answers everything else.
#[test]
fn a_client_that_never_reads_slows_nothing_and_holds_no_growing_buffer() {
    let (_root, reports) = reports_folder("stalled");
    let hub = LiveHub::new();
    hub.begin_run("stalled-20261127-120000");
    let s = serve(&reports, Some(hub.clone()));
    // Opened, then never read.
    let stalled = http::Sse::open(s.addr, None);
    let mut reader = http::Sse::open(s.addr, None);
    let note = "x".repeat(2000);
    let n = 30_000;
    let started = Instant::now();
    let reading = std::thread::spawn(move || {
        let mut last = 0;
        for _ in 0..n {
            last = reader.next().0;
        }
        last
    });
    for i in 0..n {
        hub.push(&Event {
            at_us: i as u64,
            wall_ms: 0,
            kind: EventKind::Note {
                message: format!("{i} {note}"),
            },
        });
    }
    let pushed_in = started.elapsed();
    assert_eq!(
        reading.join().expect("reader"),
        n - 1,
        "the reading client got every event"
    );
    // 30,000 appends of 2 kB: a lock and a Vec push each, whoever is connected.
    assert!(
        pushed_in < Duration::from_secs(20),
        "pushing took {pushed_in:?}"
    );
    let status = http::get(s.addr, "/api/live/status", &[]);
    let v: serde_json::Value = serde_json::from_str(&status.body).expect("json");
    let positions: Vec<u64> = v["clients"]
        .as_array()
        .expect("clients")
        .iter()
        .map(|p| p.as_u64().unwrap())
        .collect();
    let stalled_at = *positions
        .iter()
        .min()
        .expect("the stalled client is listed");
    // 30,000 × 2 kB = 60 MB pushed; the stalled client was handed only what its socket and
    // hyper's write buffer took (a few MB), not the whole log.
    assert!(
        stalled_at < n as u64 / 2,
        "the stalled client advanced to {stalled_at} of {n}: {positions:?}"
    );
    assert_eq!(
        http::get(s.addr, "/", &[]).status,
        200,
        "other requests are answered"
    );
    eprintln!("stalled client at {stalled_at} of {n}; pushed in {pushed_in:?}");
    drop(stalled);
}
