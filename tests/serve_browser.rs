//! The web view in a real browser (Debian's headless Chromium through chromedriver).
//! - the reports page of a matrix (saved events, no cluster): filter, select two runs,
//!   compare; then all four runs, with their repeat ranges as error bars;
//! - the live page during a real leader-kill run (`chaos run … --serve`): the fault band and
//!   the leader change appear without a reload, the final table at the end, and a page
//!   opened (and reloaded) mid-run holds the same history as the one opened at the start.
//!
//! Both fail — never skip — without Chromium (installed with apt when missing) or Docker.
//! Screenshots go to target/test-reports/<test>/.

#[path = "common/browser.rs"]
mod browser;
mod common;

use browser::Browser;
use std::io::BufRead;
use std::process::Stdio;
use std::sync::Mutex;
use std::time::Duration;

/// `script` with two helpers before it: `textBoxes(svg)`, the bounding box of every
/// non-empty text of an SVG, and `overlaps(boxes)`, each pair of boxes that overlap by more
/// than a pixel ("a / b").
fn with_text_boxes(script: &str) -> String {
    format!(
        "{}\n{script}",
        r#"
        const textBoxes = svg => [...svg.querySelectorAll('text')]
          .filter(t => t.textContent.trim() !== '')
          .map(t => { const r = t.getBoundingClientRect();
                      return {text: t.textContent.trim(), l: r.left, r: r.right, t: r.top, b: r.bottom}; });
        const overlaps = boxes => {
          const over = [];
          for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
            const a = boxes[i], c = boxes[j];
            if (a.l < c.r - 1 && c.l < a.r - 1 && a.t < c.b - 1 && c.t < a.b - 1)
              over.push(a.text + ' / ' + c.text);
          }
          return over;
        };
        "#
    )
}

/// One browser at a time: two Chromiums beside a Kafka cluster are too much for two cores.
static ONE_BROWSER: Mutex<()> = Mutex::new(());

const FIXTURE: &str = include_str!("fixtures/events/leader-kill.jsonl");

/// A matrix of two variants × two repeats from the saved real run; the `acks=1` runs lost
/// messages and failed over 3 s later, so the comparison has something to show.
fn matrix_reports(dir: &std::path::Path) {
    let mut n = 0;
    for (variant, lost, shift_ms) in [("acks=1", 1262u64, 3000u64), ("acks=all", 0, 0)] {
        for repeat in 1..=2u64 {
            n += 1;
            let run = dir.join(format!(
                "leader-kill-fast-{}-r{repeat}-20261127-1000{n:02}",
                variant.replace('=', "-")
            ));
            std::fs::create_dir_all(&run).unwrap();
            let mut events = chaos::events::read_events(FIXTURE.as_bytes()).unwrap();
            for e in &mut events {
                e.wall_ms += (n as i64) * 60_000;
                match &mut e.kind {
                    chaos::events::EventKind::RunStarted { variant: v, .. } => {
                        *v = Some(variant.to_string())
                    }
                    chaos::events::EventKind::Verified(v) => {
                        v.lost_acked = lost + repeat * 10 * u64::from(lost > 0);
                    }
                    _ => {}
                }
                // Everything after the fault later by `shift_ms` (+ 250 ms for the repeat).
                if e.at_us > 3_800_000 {
                    e.at_us += (shift_ms + repeat * 250) * 1000;
                }
            }
            let mut text = String::new();
            for e in &events {
                text.push_str(&serde_json::to_string(e).unwrap());
                text.push('\n');
            }
            std::fs::write(run.join("events.jsonl"), text).unwrap();
        }
    }
}

#[test]
fn the_reports_page_compares_two_runs_of_a_matrix() {
    let _one = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let out = common::reports_dir("serve_browser_compare");
    let reports = out.join("reports");
    matrix_reports(&reports);
    let served = browser::chaos_serve(&reports);
    let b = Browser::start();
    b.goto(&format!("http://{}/", served.addr));
    b.wait_for(
        "four runs listed",
        "return document.querySelectorAll('#runs tbody tr').length === 4",
        Duration::from_secs(20),
    );
    // The filter hides what does not match, as you type.
    b.eval("const f = document.getElementById('filter'); f.value = 'acks=all'; f.dispatchEvent(new Event('input')); return true;");
    let visible = b.eval("return [...document.querySelectorAll('#runs tbody tr')].filter(r => r.style.display !== 'none').length");
    assert_eq!(visible, 2);
    b.eval("const f = document.getElementById('filter'); f.value = ''; f.dispatchEvent(new Event('input')); return true;");
    assert_eq!(
        b.eval("return document.getElementById('compare-button').disabled"),
        true,
        "compare needs two runs"
    );
    // One run of each variant.
    b.eval("for (const v of ['acks-1-r1', 'acks-all-r1']) { document.querySelector(`#runs input[value*='${v}']`).click(); } return true;");
    b.click("#compare-button");
    let table = b.wait_for(
        "the comparison",
        "const t = document.getElementById('compare-table'); return t && t.innerText",
        Duration::from_secs(20),
    );
    let table = table.as_str().unwrap().to_string();
    assert!(
        table.contains("leader-kill-fast [acks=1]")
            && table.contains("leader-kill-fast [acks=all]"),
        "{table}"
    );
    assert!(
        table.contains("1,272") || table.contains("1272"),
        "acked lost of acks=1: {table}"
    );
    let beyond = b.eval("return document.getElementById('beyond-noise').innerText");
    assert!(
        beyond.as_str().unwrap().contains("acked loss"),
        "beyond noise: {beyond}"
    );
    // All four: repeats collapse into medians with min–max error bars.
    b.goto(&format!("http://{}/", served.addr));
    b.wait_for(
        "the list again",
        "return document.querySelectorAll('#runs input[type=checkbox]').length === 4",
        Duration::from_secs(20),
    );
    b.eval("document.querySelectorAll('#runs input[type=checkbox]').forEach(c => c.click()); return true;");
    b.click("#compare-button");
    b.wait_for(
        "error bars over repeats",
        // Each whisker is three strokes in the whisker colour (range and caps).
        "return document.querySelectorAll('#comparison svg polyline[stroke=\"#222222\"]').length >= 6",
        Duration::from_secs(20),
    );
    let table = b.eval("return document.getElementById('compare-table').innerText");
    assert!(table.as_str().unwrap().contains("(n=2)"), "{table}");
    // In every chart, no two texts overlap (names, values with their ranges, axis labels).
    let overlaps = b.eval(&with_text_boxes(
        r#"
        return [...document.querySelectorAll('#comparison svg')].flatMap(svg => overlaps(textBoxes(svg)));
        "#,
    ));
    assert_eq!(overlaps, serde_json::json!([]), "the comparison's charts");
    b.screenshot(&out.join("compare.png"));
    // The whole page at the window's width (the window is 1300 px wide, less a scrollbar).
    let (width, height) = browser::png_size(&out.join("compare.png"));
    assert!(
        (1200..=1300).contains(&width) && height >= 600,
        "{width}x{height}"
    );
}

/// The live page of `chaos run tests/experiments/leader-kill-fast.yaml --serve` on the seed
/// cluster (reused when running, kept for the next test).
#[test]
#[ignore = "full tier: browser live view of a real run, ~60 s"]
fn the_live_page_shows_a_leader_kill_as_it_happens() {
    let _one = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let _cluster = common::cluster_test();
    let out = common::reports_dir("serve_browser_live");
    let reports = out.join("reports");
    // The browser first: its start is not part of the run.
    let b = Browser::start();
    let mut child = Interrupted(
        common::run_command("tests/experiments/leader-kill-fast.yaml", &reports)
            .args(["--serve", "--serve-port", "0"])
            .stderr(Stdio::piped())
            .spawn()
            .expect("chaos run"),
    );
    let stderr = child.0.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    let log = std::thread::spawn(move || {
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            eprintln!("chaos: {line}");
            if line.starts_with("live view: ") {
                let _ = tx.send(browser::address_in(&line));
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("chaos run printed the live view's address")
        .expect("an address");
    let live = format!("http://{addr}/live");
    let first = b.window();
    b.goto(&live);
    b.eval("window.openedOnce = true; return true;");
    // The fault band in the timeline, without a reload.
    b.wait_for(
        "the fault band",
        "const t = document.getElementById('timeline'); return t && t.textContent.includes('kill kafka-')",
        Duration::from_secs(240),
    );
    let change = b.wait_for(
        "the leader change of orders/0",
        "const li = [...document.querySelectorAll('#happenings li.leader')].find(l => /orders\\/0 leader (\\d+|none) → \\d+/.test(l.textContent)); return li ? li.textContent : null",
        Duration::from_secs(120),
    );
    eprintln!(
        "seen: {change}; the runner then: {}",
        b.eval("const n = document.getElementById('now'); return n ? n.textContent : ''")
    );
    assert_eq!(
        b.eval("return window.openedOnce === true"),
        true,
        "the page was not reloaded"
    );
    b.screenshot(&out.join("live-failover.png"));
    // A second page, opened while the run is still going.
    let status = common_http_status(addr);
    assert_eq!(
        status["finished"], false,
        "the second page must open mid-run: {status}"
    );
    let second = b.new_window();
    b.goto(&live);
    b.wait_for(
        "the second page's first events",
        "return window.chaosLive && window.chaosLive.ids.length > 0",
        Duration::from_secs(30),
    );
    // And reloaded, still mid-run: it starts again from the run's first event.
    assert_eq!(
        common_http_status(addr)["finished"],
        false,
        "reload mid-run"
    );
    b.eval("location.reload(); return true;");
    b.wait_for(
        "the reloaded page's events",
        "return window.chaosLive && window.chaosLive.ids.length > 0 && window.chaosLive.ids[0] === 0",
        Duration::from_secs(30),
    );
    // Both pages end with the final table.
    for handle in [&second, &first] {
        b.switch_to(handle);
        b.wait_for(
            "the final table",
            "const s = document.getElementById('live-state'); return s && s.dataset.finished === 'true' && document.getElementById('expectations') && document.getElementById('verdict').textContent",
            Duration::from_secs(240),
        );
    }
    let history = "return JSON.stringify({ids: window.chaosLive.ids, events: window.chaosLive.events, duplicates: window.chaosLive.duplicates, renders: window.chaosLive.renders, seconds: performance.now() / 1000})";
    b.switch_to(&first);
    let a: serde_json::Value = serde_json::from_str(b.eval(history).as_str().unwrap()).unwrap();
    b.screenshot(&out.join("live-final.png"));
    b.switch_to(&second);
    let m: serde_json::Value = serde_json::from_str(b.eval(history).as_str().unwrap()).unwrap();
    // Re-rendered as events came, at most twice a second (one render in flight at a time).
    let (renders, seconds) = (
        a["renders"].as_f64().unwrap(),
        a["seconds"].as_f64().unwrap(),
    );
    assert!(
        renders >= 3.0 && renders <= 2.0 * seconds + 2.0,
        "{renders} renders in {seconds:.1} s"
    );
    assert_eq!(a["duplicates"], 0);
    assert_eq!(m["duplicates"], 0);
    let ids: Vec<u64> = a["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(ids.len() > 20, "{} events", ids.len());
    assert!(
        ids.windows(2).all(|w| w[1] == w[0] + 1),
        "no gap in the ids: {ids:?}"
    );
    assert_eq!(a["ids"], m["ids"], "the same history on both pages");
    assert_eq!(a["events"], m["events"]);
    // The page's verdict is the run's.
    let verdict = b.eval("return document.getElementById('verdict').textContent");
    // The cluster page: the kept cluster, read-only, as the brokers report it.
    b.goto(&format!("http://{addr}/cluster"));
    let controller = b.wait_for(
        "the cluster page",
        "const c = document.getElementById('controller'); return c && document.querySelectorAll('#lanes tbody tr[data-partition^=\"orders/\"]').length === 3 && c.textContent",
        Duration::from_secs(30),
    );
    eprintln!("cluster page: controller {controller}");
    let settings = b.eval("return document.getElementById('settings').innerText");
    assert!(
        settings
            .as_str()
            .unwrap()
            .contains("zookeeper.session.timeout.ms\t6000"),
        "{settings}"
    );
    let code = child.stop();
    let output = log.join().expect("stderr");
    let results = common::results(&reports);
    assert_eq!(results.len(), 1, "{output}");
    assert_eq!(verdict, results[0]["status"], "{output}");
    let events_on_disk = common::events_of(&reports).lines().count();
    assert_eq!(
        events_on_disk,
        ids.len(),
        "the page got every event of events.jsonl"
    );
    assert_eq!(
        code,
        Some(if results[0]["status"] == "passed" {
            0
        } else {
            1
        }),
        "{output}"
    );
    let (width, height) = browser::png_size(&out.join("live-final.png"));
    assert!(
        (1200..=1300).contains(&width) && height >= 600,
        "{width}x{height}"
    );
}

/// `chaos run --serve --keep` serves until Ctrl-C: interrupted when the test ends, also
/// when it fails (it must not linger holding the cluster).
struct Interrupted(std::process::Child);

impl Interrupted {
    fn stop(&mut self) -> Option<i32> {
        let _ = std::process::Command::new("kill")
            .args(["-INT", &self.0.id().to_string()])
            .status();
        self.0.wait().expect("chaos run exits").code()
    }
}

impl Drop for Interrupted {
    fn drop(&mut self) {
        // Mid-run, the first Ctrl-C heals and writes a partial report; a second one aborts.
        for _ in 0..2 {
            if !matches!(self.0.try_wait(), Ok(None)) {
                return;
            }
            let _ = std::process::Command::new("kill")
                .args(["-INT", &self.0.id().to_string()])
                .status();
            for _ in 0..600 {
                if !matches!(self.0.try_wait(), Ok(None)) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn common_http_status(addr: std::net::SocketAddr) -> serde_json::Value {
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    use std::io::{Read, Write};
    write!(
        stream,
        "GET /api/live/status HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
        addr.port()
    )
    .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let body = text.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// The run page's timeline, measured in the browser: no two texts (lane names, fault
/// labels, legend, leader numbers, axis labels) overlap, and the legend sits above every
/// lane. A real unclean-election run (a stop and a kill 7 s apart, an observer blind span):
/// before the fix its legend and fault labels were drawn over the lanes.
#[test]
fn the_timeline_has_no_overlapping_text_and_its_legend_clears_the_lanes() {
    let _one = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let out = common::reports_dir("serve_browser_timeline");
    let reports = out.join("reports");
    let run = reports.join("unclean-election-20261205-173956");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::write(
        run.join("events.jsonl"),
        include_str!("fixtures/events/unclean-election.jsonl"),
    )
    .unwrap();
    let served = browser::chaos_serve(&reports);
    let b = Browser::start();
    b.goto(&format!(
        "http://{}/runs/unclean-election-20261205-173956",
        served.addr
    ));
    b.wait_for(
        "the timeline",
        "return document.querySelectorAll('#timeline svg text').length > 20",
        Duration::from_secs(20),
    );
    let measured = b.eval(&with_text_boxes(
        r#"
        const svg = document.querySelector('#timeline svg');
        const boxes = textBoxes(svg);
        const over = overlaps(boxes);
        const legend = boxes.filter(x => x.text.startsWith('■'));
        const bars = [...svg.querySelectorAll('rect')].map(r => r.getBoundingClientRect())
          .filter(r => r.height > 15 && r.height < 25);
        const faultLabels = boxes.filter(x => x.text.startsWith('stop') || x.text.startsWith('kill'));
        return {
          over,
          legend: legend.map(x => x.text),
          lowestLegend: Math.max(...legend.map(x => x.b)),
          lowestFaultLabel: Math.max(...faultLabels.map(x => x.b)),
          faultLabels: faultLabels.length,
          highestBar: Math.min(...bars.map(r => r.top)),
          bars: bars.length,
        };
        "#,
    ));
    b.screenshot(&out.join("timeline.png"));
    assert_eq!(measured["over"], serde_json::json!([]), "{measured}");
    // The latency distribution beside it: there, and its labels apart too.
    let spectrum_overlaps = b.eval(&with_text_boxes(
        r#"
        const svg = document.querySelector('#latency-spectrum svg');
        if (!svg) return 'missing';
        const boxes = textBoxes(svg);
        const over = overlaps(boxes);
        const labels = boxes.map(x => x.text);
        return {over, ninetyNine: labels.includes('99%'), max: labels.some(l => l.startsWith('max'))};
        "#,
    ));
    assert_eq!(
        spectrum_overlaps,
        serde_json::json!({"over": [], "ninetyNine": true, "max": true}),
        "the latency distribution"
    );
    let f = |k: &str| measured[k].as_f64().unwrap();
    assert!(f("bars") >= 4.0, "lane bars measured: {measured}");
    assert_eq!(f("faultLabels"), 2.0, "{measured}");
    assert!(
        f("lowestLegend") <= f("highestBar") && f("lowestFaultLabel") <= f("highestBar"),
        "legend and fault labels above the lanes: {measured}"
    );
    let legend = measured["legend"].to_string();
    for entry in [
        "broker 1",
        "broker 2",
        "broker 3",
        "offline",
        "unknown",
        "fault in force",
    ] {
        assert!(legend.contains(entry), "{entry} in the legend: {legend}");
    }
}

/// The trend page in the browser: the experiments listed from history.jsonl, then one
/// experiment's runs with its chart, and the latest run's regression flagged (failover 12 s
/// against a median of 6 s before it: ratio 2 > 1.5, and 6 s more than the 500 ms floor).
#[test]
fn the_trend_page_lists_the_runs_and_flags_a_regression() {
    let _one = ONE_BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let out = common::reports_dir("serve_browser_trend");
    let reports = out.join("reports");
    std::fs::create_dir_all(&reports).unwrap();
    let mut history = String::new();
    for (i, failover) in [6000.0, 6100.0, 5900.0, 6050.0, 5950.0, 12000.0]
        .iter()
        .enumerate()
    {
        history.push_str(&format!(
            "{{\"unix_s\":{},\"experiment\":\"leader-kill\",\"variant\":null,\"status\":\"passed\",\"failover_p50_ms\":{failover},\"failover_max_ms\":{failover},\"controller_failover_ms\":null,\"offline_total_ms\":0.0,\"lost_acked\":0,\"latency_p99_ms\":90.0}}\n",
            1_796_000_000 + i * 86_400
        ));
    }
    std::fs::write(reports.join("history.jsonl"), history).unwrap();
    let served = browser::chaos_serve(&reports);
    let b = Browser::start();
    b.goto(&format!("http://{}/trend", served.addr));
    let listed = b.wait_for(
        "the experiments",
        "const l = document.getElementById('trend-list'); return l && l.innerText",
        Duration::from_secs(20),
    );
    assert!(listed.as_str().unwrap().contains("leader-kill"), "{listed}");
    b.goto(&format!(
        "http://{}/trend?experiment=leader-kill",
        served.addr
    ));
    let rows = b.wait_for(
        "the runs",
        "const t = document.querySelectorAll('#trend-runs tbody tr'); return t.length > 0 && t.length",
        Duration::from_secs(20),
    );
    assert_eq!(rows, 6);
    let regressions = b.eval("return document.getElementById('regressions').innerText");
    let regressions = regressions.as_str().unwrap();
    assert!(
        regressions.contains("REGRESSION") && regressions.contains("failover"),
        "{regressions}"
    );
    assert_eq!(
        b.eval("return document.querySelectorAll('#trend-chart svg polyline').length > 0"),
        true,
        "the trend chart is drawn"
    );
    let overlaps = b.eval(&with_text_boxes(
        r#"
        const svg = document.querySelector('#trend-chart svg');
        const boxes = textBoxes(svg);
        const over = overlaps(boxes);
        return over;
        "#,
    ));
    assert_eq!(overlaps, serde_json::json!([]), "the trend chart's labels");
    // The run that regressed is the red point.
    assert_eq!(
        b.eval(
            "return document.querySelectorAll('#trend-chart svg circle[fill=\"#C62828\"]').length"
        ),
        0,
        "every run passed: no red point"
    );
    b.screenshot(&out.join("trend.png"));
}
