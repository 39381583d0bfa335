//! `chaos bench`: the harness's own numbers, each reproducible with one command, written as a
//! report (bench.md, bench.json) with the machine facts beside them. Not a timed test.
//!
//! 1. Tracked workload throughput vs Kafka's kafka-producer-perf-test (same jars, same cluster,
//!    same acks / size / partitions, both through the host listeners).
//!    Beside it, an untracked rdkafka producer with the same settings: the cost of tracking.
//! 2. Verification speed and peak memory on N acked messages (pure, synthetic), in order and
//!    under a realistic ack pattern (random keys, acks out of order, failures and timeouts).
//! 3. Harness overhead: CPU and memory of this process during a steady observed workload, and
//!    the observer's request rate.
//! 4. Time to a ready cluster, fresh and reused.

use crate::analysis::verify::{AckLedger, ReadChecker};
use crate::clock::{Clock, EventSink};
use crate::docker::{self, cluster};
use crate::error::Error;
use crate::kafka::delivery_events::{
    BatchedProducer, Delivery, DeliveryBatches, DeliveryOutcome, DELIVERY_THREAD,
};
use crate::kafka::producer::{ProducerOptions, TrackedProducer};
use crate::run::observer::{Observer, ObserverOptions};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What `chaos bench` measures and where it writes.
#[derive(Debug)]
pub struct BenchOptions {
    /// Messages for the throughput comparison.
    pub messages: u64,
    /// Pairs of rounds in the tracking-cost comparison.
    pub rounds: usize,
    /// Messages for the verification benchmark.
    pub verify_messages: u64,
    /// Seconds of steady workload for the overhead measurement.
    pub overhead_seconds: u64,
    pub reports: PathBuf,
    /// Only the pure verification benchmark (no cluster).
    pub verify_only: bool,
    /// Only the soak: this many minutes of the overhead workload, its memory sampled.
    pub soak_minutes: Option<u64>,
    /// Only the tracked-vs-untracked rounds (the cost of tracking): on librdkafka's mock
    /// cluster, then on the seed cluster.
    pub tracking_only: bool,
    /// With `tracking_only`: on the mock cluster only (no Docker).
    pub mock_only: bool,
}

#[derive(Debug, Default, Serialize)]
struct BenchReport {
    machine: Vec<(String, String)>,
    throughput: Option<Throughput>,
    /// On librdkafka's mock cluster, then on the seed cluster.
    tracking: Vec<TrackingCost>,
    verification: Verification,
    /// The ledger with random keys, out-of-order acks, failures and timeouts.
    verification_realistic: Verification,
    overhead: Option<Overhead>,
    soak: Option<Soak>,
    ready: Vec<(String, f64)>,
}

/// A long steady workload in a process that ran nothing before it: does memory stay flat?
#[derive(Debug, Serialize)]
struct Soak {
    minutes: u64,
    rate: u32,
    /// (seconds since the workload started, resident set MB) every 30 s.
    rss_mb: Vec<(f64, f64)>,
    /// The ack ledger's heap (MB, its own estimate) at the same moments: it grows by design
    /// (every ack's run is kept for the re-read).
    ledger_mb: Vec<f64>,
    acked: u64,
}

#[derive(Debug, Serialize)]
struct Throughput {
    messages: u64,
    message_size: usize,
    acks: String,
    partitions: i32,
    chaos_per_s: f64,
    perf_test_per_s: f64,
    ratio: f64,
    /// The re-read with verification of the same messages, and Kafka's console consumer
    /// reading them (its JVM start included, as a user would run it).
    reread_per_s: f64,
    console_consumer_per_s: f64,
    reread_ratio: f64,
    /// kcat (librdkafka's consumer, as C, no checking) reading them: the same library's
    /// ceiling for reading (its process start included).
    kcat_per_s: f64,
}

/// One producer's run of the same messages.
#[derive(Debug, Clone, Serialize)]
struct Round {
    messages_per_s: f64,
    /// This process's CPU (user + system, all threads) per acked message: the client's own
    /// work, which the brokers' speed moves far less than the throughput.
    cpu_us_per_message: f64,
    /// The same by thread (ns a message): where the work went.
    cpu_ns_by_thread: BTreeMap<ThreadKind, f64>,
}

impl Round {
    fn new(messages_per_s: f64, cpu: &BTreeMap<ThreadKind, u64>, acked: u64) -> Self {
        let per_message = |ns: u64| ns as f64 / acked.max(1) as f64;
        Round {
            messages_per_s,
            cpu_us_per_message: per_message(cpu.values().sum()) / 1e3,
            cpu_ns_by_thread: cpu.iter().map(|(k, ns)| (*k, per_message(*ns))).collect(),
        }
    }
}

/// Where a round's CPU went, by the threads' names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
enum ThreadKind {
    /// Threads that ended during the round: the producer's send loop, joined before the
    /// round ends (the process's total less its live threads).
    SendLoop,
    /// rust-rdkafka's polling thread or ours (`BatchedProducer`): librdkafka's delivery
    /// reports and what is done with them.
    Delivery,
    /// librdkafka's own threads (main, one per broker).
    Librdkafka,
    /// The mock cluster's brokers (in this process; none on the seed cluster).
    MockBrokers,
    /// Everything else alive: the round's own waiting, the async runtime.
    Other,
}

impl ThreadKind {
    /// By the name the kernel keeps (15 bytes: "producer polling thread" is cut).
    fn of(name: &str) -> Self {
        match name {
            n if n.starts_with("producer pollin") => ThreadKind::Delivery,
            n if DELIVERY_THREAD.starts_with(n) && n.len() >= 15 => ThreadKind::Delivery,
            "rdk:mock" => ThreadKind::MockBrokers,
            n if n.starts_with("rdk:") => ThreadKind::Librdkafka,
            _ => ThreadKind::Other,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            ThreadKind::SendLoop => "send loop",
            ThreadKind::Delivery => "delivery thread",
            ThreadKind::Librdkafka => "librdkafka's threads",
            ThreadKind::MockBrokers => "mock brokers",
            ThreadKind::Other => "the rest",
        }
    }
}

/// This process's CPU so far: in all (threads ended included) and by live thread.
struct ThreadsCpu {
    total_ns: u64,
    /// (thread id, name, ns).
    live: Vec<(u32, String, u64)>,
}

impl ThreadsCpu {
    /// From getrusage (`process_usage`: to the µs, ended threads too) and
    /// /proc/self/task/*/schedstat (its first field: ns on the CPU).
    fn now() -> Self {
        let mut live = Vec::new();
        for entry in std::fs::read_dir("/proc/self/task")
            .into_iter()
            .flatten()
            .flatten()
        {
            let read = |file: &str| std::fs::read_to_string(entry.path().join(file));
            let tid = entry.file_name().to_string_lossy().parse().ok();
            let ns = read("schedstat")
                .ok()
                .and_then(|s| s.split_whitespace().next()?.parse().ok());
            if let (Some(tid), Some(ns)) = (tid, ns) {
                live.push((tid, read("comm").unwrap_or_default().trim().to_string(), ns));
            }
        }
        ThreadsCpu {
            total_ns: (process_usage().0 * 1e9).round() as u64,
            live,
        }
    }

    /// The CPU each kind of thread used since `before`.
    fn since(&self, before: &ThreadsCpu) -> BTreeMap<ThreadKind, u64> {
        let mut by_kind = BTreeMap::new();
        let mut live_ns = 0;
        for (tid, name, ns) in &self.live {
            let then = before
                .live
                .iter()
                .find(|(t, _, _)| t == tid)
                .map_or(0, |t| t.2);
            let used = ns.saturating_sub(then);
            live_ns += used;
            *by_kind.entry(ThreadKind::of(name)).or_default() += used;
        }
        let total = self.total_ns.saturating_sub(before.total_ns);
        // getrusage's µs against schedstat's ns: a live thread's share may round above it.
        by_kind.insert(ThreadKind::SendLoop, total.saturating_sub(live_ns));
        by_kind
    }
}

/// The tracked producer against a plain rdkafka producer with the same settings (acks=all,
/// linger 5 ms, 100 B, 3 partitions in turn) whose delivery callback only counts.
#[derive(Debug, Serialize)]
struct TrackingCost {
    brokers: Brokers,
    messages: u64,
    /// Each as fast as acks allow.
    tracked: Vec<Round>,
    untracked: Vec<Round>,
    /// Each at `paced_rate`.
    paced_rate: u32,
    tracked_paced: Vec<Round>,
    untracked_paced: Vec<Round>,
    /// 1 − median tracked rate / median untracked rate. On a machine whose cores the brokers
    /// share, the brokers' speed from round to round is most of it.
    throughput_cost: f64,
    /// 1 − tracked rate / untracked rate in each pair of rounds (the untracked just before
    /// the tracked, so both meet the brokers in about the same state): the verdict's number.
    throughput_cost_pairs: Option<PairedCost>,
    /// The same, as fast as acks allow.
    cpu_cost_unpaced: f64,
    /// At the fixed rate, median tracked CPU per message / median untracked − 1: what
    /// tracking adds to the client's work, i.e. its cost in throughput wherever the client is
    /// the bottleneck.
    cpu_cost: f64,
    /// The same ratio for each pair of paced rounds.
    cpu_cost_pairs: Option<PairedCost>,
    /// Where the CPU went, ns a message by kind of thread (medians of the rounds): as fast as
    /// acks allow, then paced.
    by_thread: Vec<ThreadShare>,
    by_thread_paced: Vec<ThreadShare>,
    /// Both producers at once (`side_by_side`), against each baseline.
    side_by_side: Vec<SideBySide>,
}

/// Both producers at once, on the same brokers and topic, each at half the paced rate, CPU
/// per acked message compared window by window: what disturbs a window (the brokers'
/// collections, the other JVMs, this machine's other work) falls on both in the same seconds,
/// which rounds taken one after the other cannot give.
#[derive(Debug, Clone, Serialize)]
struct SideBySide {
    /// What the tracked producer is compared with.
    baseline: Baseline,
    rate_each: u32,
    window_s: f64,
    /// Per window, ns a message: (tracked, untracked).
    windows: Vec<(f64, f64)>,
    /// tracked / untracked − 1, window by window.
    cost: Option<PairedCost>,
    /// CPU of threads that appeared after both producers had started (in neither's count),
    /// ns over all windows: should be 0.
    unattributed_ns: u64,
    /// Either producer's threads that ended during the windows (their last window's CPU is
    /// in neither's count): should be 0.
    threads_exited: usize,
}

impl SideBySide {
    fn new(
        baseline: Baseline,
        rate_each: u32,
        window: Duration,
        windows: Vec<(f64, f64)>,
        unattributed_ns: u64,
        threads_exited: usize,
    ) -> Self {
        let costs: Vec<f64> = windows.iter().map(|(t, u)| t / u - 1.0).collect();
        SideBySide {
            baseline,
            rate_each,
            window_s: window.as_secs_f64(),
            cost: PairedCost::of(&costs),
            windows,
            unattributed_ns,
            threads_exited,
        }
    }
}

/// One kind of thread's CPU a message (ns, the median of the rounds), tracked and untracked.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
struct ThreadShare {
    thread: ThreadKind,
    tracked_ns: f64,
    untracked_ns: f64,
}

impl ThreadShare {
    /// Every kind either producer's rounds used.
    fn of(tracked: &[Round], untracked: &[Round]) -> Vec<Self> {
        let kinds: std::collections::BTreeSet<ThreadKind> = (tracked.iter().chain(untracked))
            .flat_map(|r| r.cpu_ns_by_thread.keys().copied())
            .collect();
        let at = |rounds: &[Round], kind| {
            median(
                rounds
                    .iter()
                    .map(|r| r.cpu_ns_by_thread.get(&kind).copied().unwrap_or(0.0)),
            )
        };
        kinds
            .into_iter()
            .map(|thread| ThreadShare {
                thread,
                tracked_ns: at(tracked, thread),
                untracked_ns: at(untracked, thread),
            })
            .collect()
    }

    /// "send loop 540 vs 500 (+40)".
    fn describe(shares: &[ThreadShare]) -> String {
        shares
            .iter()
            .map(|s| {
                format!(
                    "{} {:.0} vs {:.0} ({:+.0})",
                    s.thread.describe(),
                    s.tracked_ns,
                    s.untracked_ns,
                    s.tracked_ns - s.untracked_ns
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A cost measured in each pair of rounds: the median of the pairs, and how far the true
/// median may lie from it (`analysis::stats::median_interval`: distribution-free, 95 % or
/// more; with too few pairs for that, their lowest and highest, `confidence` None).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
struct PairedCost {
    pairs: usize,
    median: f64,
    low: f64,
    high: f64,
    confidence: Option<f64>,
}

impl PairedCost {
    fn of(costs: &[f64]) -> Option<Self> {
        let all = crate::analysis::stats::stats(costs);
        let median = all.p50?;
        let (low, high, confidence) = match crate::analysis::stats::median_interval(costs) {
            Some((low, high, c)) => (low, high, Some(c)),
            None => (all.min?, all.max?, None),
        };
        Some(PairedCost {
            pairs: all.count,
            median,
            low,
            high,
            confidence,
        })
    }

    /// Whether the cost is shown to be at most `bound`: the interval's top is under it.
    fn shown_at_most(&self, bound: f64) -> bool {
        self.confidence.is_some() && self.high <= bound
    }

    /// "4.2 % (95 % interval 1.0 … 6.3 %, 9 pairs)".
    fn describe(&self) -> String {
        let pct = |x: f64| format!("{:.1}", x * 100.0);
        match self.confidence {
            Some(c) => format!(
                "{} % ({:.0} % interval of the median {} … {} %, {} pairs)",
                pct(self.median),
                (c * 100.0).floor(),
                pct(self.low),
                pct(self.high),
                self.pairs
            ),
            None => format!(
                "{} % (pairs {} … {} %; {} pairs are too few for a 95 % interval, 6 are needed)",
                pct(self.median),
                pct(self.low),
                pct(self.high),
                self.pairs
            ),
        }
    }

    /// The verdict against the bound (5 %).
    fn verdict(&self) -> &'static str {
        if self.shown_at_most(GOAL) {
            "≤ 5 %: shown"
        } else if self.confidence.is_some() && self.low > GOAL {
            "≤ 5 %: not met"
        } else {
            "≤ 5 %: not shown (the interval reaches past it)"
        }
    }
}

/// What tracking may cost: at most 5 % of the throughput and of the client's work.
const GOAL: f64 = 0.05;

impl TrackingCost {
    fn new(brokers: Brokers, messages: u64) -> Self {
        TrackingCost {
            brokers,
            messages,
            tracked: vec![],
            untracked: vec![],
            paced_rate: PACED_RATE,
            tracked_paced: vec![],
            untracked_paced: vec![],
            throughput_cost: f64::NAN,
            cpu_cost_unpaced: f64::NAN,
            cpu_cost: f64::NAN,
            throughput_cost_pairs: None,
            cpu_cost_pairs: None,
            by_thread: vec![],
            by_thread_paced: vec![],
            side_by_side: vec![],
        }
    }

    fn summarise(&mut self) {
        let rate = |rounds: &[Round]| median(rounds.iter().map(|r| r.messages_per_s));
        let cpu = |rounds: &[Round]| median(rounds.iter().map(|r| r.cpu_us_per_message));
        self.throughput_cost = 1.0 - rate(&self.tracked) / rate(&self.untracked);
        self.cpu_cost_unpaced = cpu(&self.tracked) / cpu(&self.untracked) - 1.0;
        self.cpu_cost = cpu(&self.tracked_paced) / cpu(&self.untracked_paced) - 1.0;
        let throughput_pairs: Vec<f64> = (self.tracked.iter().zip(&self.untracked))
            .map(|(t, u)| 1.0 - t.messages_per_s / u.messages_per_s)
            .collect();
        self.throughput_cost_pairs = PairedCost::of(&throughput_pairs);
        let cpu_pairs: Vec<f64> = (self.tracked_paced.iter().zip(&self.untracked_paced))
            .map(|(t, u)| t.cpu_us_per_message / u.cpu_us_per_message - 1.0)
            .collect();
        self.cpu_cost_pairs = PairedCost::of(&cpu_pairs);
        self.by_thread = ThreadShare::of(&self.tracked, &self.untracked);
        self.by_thread_paced = ThreadShare::of(&self.tracked_paced, &self.untracked_paced);
    }
}

#[derive(Debug, Default, Serialize)]
pub struct Verification {
    pub messages: u64,
    pub seconds: f64,
    pub messages_per_s: f64,
    pub heap_bytes: usize,
    pub bytes_per_message: f64,
}

#[derive(Debug, Serialize)]
struct Overhead {
    seconds: f64,
    rate: u32,
    cpu_percent_of_one_core: f64,
    peak_rss_mb: f64,
    observer_requests_per_s: f64,
}

fn machine() -> Vec<(String, String)> {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_string())
        })
        .unwrap_or_default();
    vec![
        (
            "cpus".into(),
            std::thread::available_parallelism()
                .map(|n| n.to_string())
                .unwrap_or_default(),
        ),
        ("cpu model".into(), cpu),
        (
            "memory".into(),
            format!("{:.1} GiB", mem.parse::<f64>().unwrap_or(0.0) / 1_048_576.0),
        ),
        (
            "kernel".into(),
            std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .unwrap_or_default()
                .trim()
                .to_string(),
        ),
        ("chaos".into(), env!("CARGO_PKG_VERSION").to_string()),
        (
            "build".into(),
            if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            }
            .into(),
        ),
    ]
}

/// CPU seconds (user + system, every thread, ended ones too; to the µs) of this process so
/// far, and its peak RSS in bytes — both from getrusage.
fn process_usage() -> (f64, u64) {
    // SAFETY: getrusage fills the struct it is given; RUSAGE_SELF is always valid.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    // ru_maxrss: kB on Linux.
    (
        seconds(usage.ru_utime) + seconds(usage.ru_stime),
        usage.ru_maxrss as u64 * 1024,
    )
}

// Long: a scripted ledger (random keys, reordered acks, retries) built, then timed
/// The ledger as a real run fills it: keyed messages spread unevenly over partitions, the
/// partitions' acks interleaved, each partition's in append order except a retried batch now
/// and then (0.2 %: two acks swapped, their offsets too), 1 % timed out or failed, offsets
/// with holes (other producers' records). Memory per message is what it costs. (One script
/// read top to bottom: the pattern, then the timed part.)
pub fn bench_verification_realistic(messages: u64) -> Verification {
    use crate::analysis::verify::NotAcked;
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};
    #[derive(Clone, Copy)]
    enum Outcome {
        Sent,
        Acked(i64),
        Not(NotAcked),
    }
    let partitions = 6;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    // The pattern first (not timed): what the producer's callbacks would report, in order.
    let mut script: Vec<(i32, u64, Outcome)> = Vec::with_capacity(2 * messages as usize);
    let mut next_seq = vec![0u64; partitions as usize];
    let mut next_offset = vec![0i64; partitions as usize];
    let mut window: Vec<(i32, u64)> = Vec::with_capacity(500);
    let mut flush = |window: &mut Vec<(i32, u64)>, script: &mut Vec<(i32, u64, Outcome)>| {
        // Interleaved across partitions, in order within each (librdkafka reports a
        // partition's deliveries in order), but for a retried batch now and then.
        window.shuffle(&mut rng);
        window.sort_by_key(|(p, seq)| (*p, *seq));
        for i in 1..window.len() {
            if window[i].0 == window[i - 1].0 && rng.gen_range(0..500) == 0 {
                window.swap(i, i - 1);
            }
        }
        for (p, seq) in window.drain(..) {
            let outcome = match rng.gen_range(0..200) {
                0 => Outcome::Not(NotAcked::TimedOutInFlight),
                1 => Outcome::Not(NotAcked::Failed),
                _ => {
                    let o = &mut next_offset[p as usize];
                    // Now and then another producer's records in between.
                    *o += if rng.gen_range(0..50) == 0 { 3 } else { 1 };
                    Outcome::Acked(*o)
                }
            };
            script.push((p, seq, outcome));
        }
    };
    let mut keys = rand::rngs::StdRng::seed_from_u64(11);
    for _ in 0..messages {
        // Keys hash unevenly: partition 5 gets about twice the others.
        let p = keys.gen_range(0..partitions + 1).min(partitions - 1);
        let seq = next_seq[p as usize];
        next_seq[p as usize] += 1;
        script.push((p, seq, Outcome::Sent));
        window.push((p, seq));
        if window.len() == 500 {
            flush(&mut window, &mut script);
        }
    }
    flush(&mut window, &mut script);
    let started = Instant::now();
    let mut ledger = AckLedger::new("bench", partitions);
    let mut acked = 0u64;
    for (p, seq, outcome) in &script {
        match outcome {
            Outcome::Sent => ledger.record_sent(*p, *seq),
            Outcome::Acked(offset) => {
                ledger.record_ack(*p, *seq, *offset, *seq);
                acked += 1;
            }
            Outcome::Not(how) => ledger.record_not_acked(*p, *seq, *how),
        }
    }
    let mut checker = ReadChecker::new(&ledger);
    for p in 0..partitions {
        for seq in 0..next_seq[p as usize] {
            checker.observe(p, seq, seq as i64);
        }
    }
    let heap = ledger.approx_heap_bytes() + checker.approx_heap_bytes();
    let summary = checker.finish_read_to_end(&ledger);
    let seconds = started.elapsed().as_secs_f64();
    assert!(summary.acked == acked, "the benchmark's own check failed");
    Verification {
        messages,
        seconds,
        messages_per_s: messages as f64 / seconds,
        heap_bytes: heap,
        bytes_per_message: heap as f64 / messages.max(1) as f64,
    }
}

pub fn bench_verification(messages: u64) -> Verification {
    let partitions = 6;
    let started = Instant::now();
    let mut ledger = AckLedger::new("bench", partitions);
    let per = messages / partitions as u64;
    for p in 0..partitions {
        for seq in 0..per {
            ledger.record_sent(p, seq);
            ledger.record_ack(p, seq, seq as i64, seq);
        }
    }
    let mut checker = ReadChecker::new(&ledger);
    for p in 0..partitions {
        for seq in 0..per {
            // One message in a million missing: the checker must still find it.
            if seq % 1_000_000 != 999_999 {
                checker.observe(p, seq, seq as i64);
            }
        }
    }
    let heap = ledger.approx_heap_bytes() + checker.approx_heap_bytes();
    let summary = checker.finish_read_to_end(&ledger);
    let seconds = started.elapsed().as_secs_f64();
    assert!(
        summary.acked == per * partitions as u64,
        "the benchmark's own check failed"
    );
    Verification {
        messages: per * partitions as u64,
        seconds,
        messages_per_s: (per * partitions as u64) as f64 / seconds,
        heap_bytes: heap,
        bytes_per_message: heap as f64 / (per * partitions as u64).max(1) as f64,
    }
}

/// The benchmarks start their own clusters from the shipped compose files, whose listeners are
/// plaintext: every client connects without TLS or SASL, whatever CHAOS_KAFKA_* says.
fn plaintext() -> crate::kafka::connect::Profile {
    crate::kafka::connect::Profile::default()
}

// Long: the benchmarks in the order the report lists them
/// The benchmark suite in the order its report lists it (read top to bottom).
pub async fn run(args: BenchOptions) -> Result<crate::exit::ExitCode, Error> {
    let mut report = BenchReport {
        machine: machine(),
        ..Default::default()
    };
    if let Some(minutes) = args.soak_minutes {
        report.soak = Some(soak_on_the_seed(minutes).await?);
        return write_report(&args, &report);
    }
    if args.tracking_only {
        let (messages, rounds) = (args.messages, args.rounds);
        report
            .tracking
            .push(tracking_cost(Brokers::Mock, "", messages, rounds).await?.0);
        if args.mock_only {
            return write_report(&args, &report);
        }
        let (cost, _) = on_the_seed(|cluster| async move {
            tracking_cost(
                Brokers::Cluster,
                &cluster.bootstrap_list(),
                messages,
                rounds,
            )
            .await
        })
        .await?;
        report.tracking.push(cost);
        return write_report(&args, &report);
    }
    eprintln!("verification: {} messages", args.verify_messages);
    let n = args.verify_messages;
    report.verification = tokio::task::spawn_blocking(move || bench_verification(n))
        .await
        .map_err(Error::task("the verification benchmark"))?;

    if !args.verify_only {
        let [plan, kplan] = plans()?;
        let docker = docker::connect().await?;
        let engines = docker::engines::Engines::one(docker.clone());
        let say = |m: &str| eprintln!("{m}");
        // Every image either cluster needs, built on first use (a fresh machine has none).
        docker::images::ensure_for(&docker, &images_needed(&[&plan, &kplan]), &say).await?;
        let fresh = bench_up(&engines, &plan, false).await?;
        report
            .ready
            .push(("seed, fresh".into(), fresh.ready_after.as_secs_f64()));
        let reused = bench_up(&engines, &plan, true).await?;
        report
            .ready
            .push(("seed, reused".into(), reused.ready_after.as_secs_f64()));
        let (throughput, tracking) = throughput(&reused, args.messages, args.rounds).await?;
        report.throughput = Some(throughput);
        report.tracking = tracking;
        report.overhead = Some(overhead(&reused, args.overhead_seconds).await?);
        let k = bench_up(&engines, &kplan, false).await?;
        report
            .ready
            .push(("kraft, fresh".into(), k.ready_after.as_secs_f64()));
        cluster::down(&engines, Some(&k.name)).await?;
    }
    // Last: its scripted ack pattern takes a few hundred MB, which would otherwise be the peak
    // RSS the overhead measurement reports.
    eprintln!("verification, realistic ack pattern: {n} messages");
    report.verification_realistic =
        tokio::task::spawn_blocking(move || bench_verification_realistic(n))
            .await
            .map_err(Error::task("the realistic verification benchmark"))?;
    write_report(&args, &report)
}

/// bench.md and bench.json in a new `bench-<time>` folder; the tables on stdout.
fn write_report(args: &BenchOptions, report: &BenchReport) -> Result<crate::exit::ExitCode, Error> {
    let dir = args.reports.join(format!(
        "bench-{}",
        humantime::format_rfc3339_seconds(std::time::SystemTime::now())
            .to_string()
            .replace([':', '-'], "")
    ));
    std::fs::create_dir_all(&dir)?;
    let md = render(report);
    crate::report::write_atomically(&dir.join("bench.md"), md.as_bytes())?;
    crate::report::write_atomically(
        &dir.join("bench.json"),
        &serde_json::to_vec_pretty(report).unwrap_or_default(),
    )?;
    println!("{md}\nwritten to {}", dir.display());
    Ok(crate::exit::ExitCode::Passed)
}

/// `plan`'s cluster up (reused when `reuse` and it runs), waiting up to 3 min, its progress
/// on stderr.
async fn bench_up(
    engines: &docker::engines::Engines,
    plan: &cluster::Plan,
    reuse: bool,
) -> Result<cluster::Cluster, Error> {
    let say = |m: &str| eprintln!("{m}");
    let options = cluster::UpOptions {
        reuse,
        ready_timeout: Duration::from_secs(180),
        progress: &say,
        profile: &plaintext(),
        in_flight: None,
    };
    Ok(cluster::up(engines, plan, &options).await?)
}

/// The soak on the seed cluster (reused when it runs; otherwise started, and removed after).
async fn soak_on_the_seed(minutes: u64) -> Result<Soak, Error> {
    on_the_seed(|cluster| async move { soak(&cluster, minutes).await }).await
}

/// `work` on the seed cluster (a running one reused); a cluster started for it is removed
/// after, as the full bench removes its own.
async fn on_the_seed<T, F, Fut>(work: F) -> Result<T, Error>
where
    F: FnOnce(cluster::Cluster) -> Fut,
    Fut: std::future::Future<Output = Result<T, Error>>,
{
    let [plan, _] = plans()?;
    let docker = docker::connect().await?;
    let engines = docker::engines::Engines::one(docker.clone());
    let say = |m: &str| eprintln!("{m}");
    docker::images::ensure_for(&docker, &images_needed(&[&plan]), &say).await?;
    let cluster = bench_up(&engines, &plan, true).await?;
    let (name, reused) = (cluster.name.clone(), cluster.reused);
    let result = work(cluster).await;
    if !reused {
        cluster::down(&engines, Some(&name)).await?;
    }
    result
}

/// The overhead workload (500 msg/s tracked, the observer at 100 ms) for `minutes`, this
/// process's resident set read every 30 s (/proc/self/status VmRSS: now, not the peak).
async fn soak(cluster: &cluster::Cluster, minutes: u64) -> Result<Soak, Error> {
    let rate = 500;
    let bootstrap = cluster.bootstrap_list();
    fresh_topic(&bootstrap, 3).await?;
    eprintln!("soak: {minutes} min of a steady {rate} msg/s workload with the observer at 100 ms");
    let (observer, producer, drain) = start_steady_workload(cluster, bootstrap, rate)?;
    let started = Instant::now();
    let mut rss_mb = Vec::new();
    let mut ledger_mb = Vec::new();
    let mut every = tokio::time::interval(Duration::from_secs(30));
    while started.elapsed() < Duration::from_secs(minutes * 60) {
        every.tick().await;
        let mb = resident_kb() as f64 / 1024.0;
        let ledger = producer.ledger_heap_bytes() as f64 / 1_048_576.0;
        eprintln!(
            "soak: {:.0} s, RSS {mb:.1} MB, ack ledger {ledger:.2} MB",
            started.elapsed().as_secs_f64()
        );
        rss_mb.push((started.elapsed().as_secs_f64(), mb));
        ledger_mb.push(ledger);
    }
    observer.stop();
    let (summary, _) = tokio::task::spawn_blocking(move || producer.finish())
        .await
        .map_err(Error::task("the soak's producer"))?;
    drain.abort();
    Ok(Soak {
        minutes,
        rate,
        rss_mb,
        ledger_mb,
        acked: summary.acked,
    })
}

/// The resident set now (kB), from /proc/self/status.
fn resident_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .unwrap_or(0)
}

/// The clusters the benchmark starts: the seed (ZooKeeper mode) and KRaft.
pub const COMPOSE_FILES: [&str; 2] = ["compose/seed.yml", "compose/kraft.yml"];

fn plans() -> Result<[cluster::Plan; 2], Error> {
    let plan = |file: &str| -> Result<cluster::Plan, Error> {
        let project = crate::compose::load(Path::new(file))?;
        cluster::Plan::new(&project, &Default::default(), &Default::default(), None)
            .map_err(|e| Error::Invalid(format!("{file}: {e}")))
    };
    Ok([plan(COMPOSE_FILES[0])?, plan(COMPOSE_FILES[1])?])
}

/// The images of every cluster the benchmark starts (no faults: no sidecar).
pub fn images_needed(plans: &[&cluster::Plan]) -> Vec<crate::docker::images::WantedImage> {
    let mut all = Vec::new();
    for plan in plans {
        for image in plan.images_needed(None) {
            if !all.contains(&image) {
                all.push(image);
            }
        }
    }
    all
}

async fn fresh_topic(bootstrap: &str, partitions: i32) -> Result<(), Error> {
    fresh_topic_named(bootstrap, "bench", partitions).await
}

/// `topic` deleted and created again (3 replicas).
async fn fresh_topic_named(bootstrap: &str, topic: &str, partitions: i32) -> Result<(), Error> {
    crate::kafka::admin::delete_topics(bootstrap, &plaintext(), &[topic.into()]).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let plan = crate::kafka::admin::TopicPlan {
        name: topic.into(),
        partitions,
        replication_factor: 3,
        assignment: vec![],
        config: vec![],
    };
    for _ in 0..20 {
        if crate::kafka::admin::create_topics(bootstrap, &plaintext(), std::slice::from_ref(&plan))
            .await
            .is_ok()
        {
            tokio::time::sleep(Duration::from_secs(2)).await;
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    Err(Error::Infrastructure(format!(
        "could not create the topic {topic}"
    )))
}

/// The throughput benchmarks' messages: 100 B, acks=all, 3 partitions.
const MESSAGE_SIZE: usize = 100;
const PARTITIONS: i32 = 3;

async fn throughput(
    cluster: &cluster::Cluster,
    messages: u64,
    rounds: usize,
) -> Result<(Throughput, Vec<TrackingCost>), Error> {
    let (partitions, size, acks) = (PARTITIONS, MESSAGE_SIZE, "all");
    let bootstrap = cluster.bootstrap_list();
    let (mock, _) = tracking_cost(Brokers::Mock, "", messages, rounds).await?;
    let (tracking, ledger) = tracking_cost(Brokers::Cluster, &bootstrap, messages, rounds).await?;
    let ledger = ledger.ok_or_else(|| Error::Infrastructure("no tracked round ran".into()))?;
    // The last tracked round's topic re-read end to end: our re-read + verification vs Kafka's
    // own console consumer reading it (no checking at all) and kcat, all from the host
    // listeners.
    eprintln!(
        "re-read: chaos re-read + verification vs kafka-console-consumer, {messages} messages"
    );
    let (reread_per_s, read) = reread_rate(&bootstrap, partitions, ledger).await?;
    let console_per_s = console_consumer_rate(&bootstrap, read).await?;
    let kcat_per_s = kcat_rate(&bootstrap, read).await?;

    eprintln!("throughput: kafka-producer-perf-test, {messages} messages");
    fresh_topic(&bootstrap, partitions).await?;
    let perf_test_per_s = perf_test_rate(&bootstrap, size, acks, messages).await?;
    let chaos_per_s = median(tracking.tracked.iter().map(|r| r.messages_per_s));
    let tracking = vec![mock, tracking];
    let throughput = Throughput {
        messages,
        message_size: size,
        acks: acks.into(),
        partitions,
        chaos_per_s,
        perf_test_per_s,
        ratio: chaos_per_s / perf_test_per_s,
        reread_per_s,
        console_consumer_per_s: console_per_s,
        reread_ratio: reread_per_s / console_per_s,
        kcat_per_s,
    };
    Ok((throughput, tracking))
}

fn median(values: impl Iterator<Item = f64>) -> f64 {
    let values: Vec<f64> = values.collect();
    crate::analysis::stats::stats(&values).p50.unwrap_or(0.0)
}

/// The fixed rate of the CPU rounds: below what either producer reaches here (≥ 300 k msg/s),
/// so both send the same batches whatever the brokers' speed that moment.
const PACED_RATE: u32 = 100_000;

/// Where a round of the tracking-cost comparison writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Brokers {
    /// The seed cluster: what a run sees, the brokers' speed (two cores shared with four
    /// JVMs) in every round.
    Cluster,
    /// librdkafka's mock cluster (3 brokers in this process, a fresh one per round): the
    /// client is the bottleneck, so its own cost is what the rounds compare.
    Mock,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Producer {
    Tracked,
    Untracked,
}

/// One producer's run of `messages` at `rate` (0: as fast as acks allow) on a fresh topic,
/// with this process's CPU over it; the tracked producer's ledger (its topic left as written).
async fn round(
    producer: Producer,
    brokers: Brokers,
    bootstrap: &str,
    messages: u64,
    rate: u32,
) -> Result<(Round, Option<AckLedger>), Error> {
    if brokers == Brokers::Cluster {
        fresh_topic(bootstrap, PARTITIONS).await?;
    }
    let bootstrap = bootstrap.to_string();
    tokio::task::spawn_blocking(move || {
        on_brokers(brokers, bootstrap, |bootstrap| {
            let before = ThreadsCpu::now();
            let (per_s, acked, ledger, after) = match producer {
                Producer::Tracked => {
                    let (per_s, acked, ledger, after) = tracked(bootstrap, messages, rate)?;
                    (per_s, acked, Some(ledger), after)
                }
                Producer::Untracked => {
                    let (per_s, acked, after) = untracked(bootstrap, messages, rate)?;
                    (per_s, acked, None, after)
                }
            };
            Ok((Round::new(per_s, &after.since(&before), acked), ledger))
        })
    })
    .await
    .map_err(Error::task("a tracking-cost round"))?
}

/// `run` with the bootstrap servers of `brokers`: the cluster's (`bootstrap`), or a mock
/// cluster made for the call — it lives for it (it is not Send: made and dropped on this
/// thread), with the bench's topics. Blocks.
fn on_brokers<T>(
    brokers: Brokers,
    bootstrap: String,
    run: impl FnOnce(&str) -> Result<T, Error>,
) -> Result<T, Error> {
    match brokers {
        Brokers::Cluster => run(&bootstrap),
        Brokers::Mock => {
            let mock = rdkafka::mocking::MockCluster::new(3)
                .map_err(|e| Error::Infrastructure(format!("librdkafka's mock cluster: {e}")))?;
            for topic in ["bench", SIDE_BY_SIDE_TOPIC] {
                mock.create_topic(topic, PARTITIONS, 3)
                    .map_err(|e| Error::Infrastructure(format!("mock cluster topic: {e}")))?;
            }
            run(&mock.bootstrap_servers())
        }
    }
}

// Long: warm-ups, then the alternating rounds of four runs each, then the summary
/// The tracked producer against an untracked one with the same settings, in alternating
/// rounds: each as fast as acks allow (throughput), then both at one fixed rate (this
/// process's CPU per acked message). Returns the ledger of the last tracked round, whose
/// topic is left as written, for the re-read.
async fn tracking_cost(
    brokers: Brokers,
    bootstrap: &str,
    messages: u64,
    rounds: usize,
) -> Result<(TrackingCost, Option<AckLedger>), Error> {
    let run = |producer, rate| round(producer, brokers, bootstrap, messages, rate);
    // The process's first counter clock calibrates it (10–200 ms): here, not inside the first
    // tracked round's timed span.
    let _ = crate::kafka::fast_clock::FastClock::new(Clock::start());
    // The brokers' JIT compiles under the first heavy load (profiled: a third of the machine
    // in C2 compiler threads then): whichever producer ran first paid for it, and each later
    // round was faster. Two warm-up runs, discarded, then the rounds, alternating.
    for i in 1..=2 {
        eprintln!("tracking cost ({brokers:?}): warm-up {i} (untracked, not counted), {messages} messages");
        run(Producer::Untracked, 0).await?;
    }
    let mut cost = TrackingCost::new(brokers, messages);
    let mut last_ledger = None;
    for n in 1..=rounds {
        let order = pair_order(n);
        eprintln!("tracking cost ({brokers:?}), round {n}: {:?} then {:?} ({messages} messages, as fast as acks allow; then at {PACED_RATE} msg/s, the same order)", order[0], order[1]);
        for producer in order {
            let (full, _) = run(producer, 0).await?;
            match producer {
                Producer::Tracked => cost.tracked.push(full),
                Producer::Untracked => cost.untracked.push(full),
            }
        }
        for producer in order {
            let (paced, ledger) = run(producer, PACED_RATE).await?;
            match producer {
                Producer::Tracked => {
                    cost.tracked_paced.push(paced);
                    last_ledger = ledger;
                }
                Producer::Untracked => cost.untracked_paced.push(paced),
            }
        }
    }
    cost.summarise();
    for baseline in [Baseline::PerMessageCallback, Baseline::SameDeliveryPath] {
        // A topic of its own: `bench` stays as the last tracked round left it, for the
        // re-read benchmarks after this.
        if brokers == Brokers::Cluster {
            fresh_topic_named(bootstrap, SIDE_BY_SIDE_TOPIC, PARTITIONS).await?;
        }
        eprintln!("tracking cost ({brokers:?}): both at once against {}, {} msg/s each, {SIDE_BY_SIDE_WINDOWS} windows of {SIDE_BY_SIDE_WINDOW:?}", baseline.describe(), PACED_RATE / 2);
        let bootstrap_list = bootstrap.to_string();
        let side = tokio::task::spawn_blocking(move || {
            on_brokers(brokers, bootstrap_list, |bootstrap| {
                side_by_side(
                    bootstrap,
                    SIDE_BY_SIDE_TOPIC,
                    PACED_RATE / 2,
                    SIDE_BY_SIDE_WINDOWS,
                    baseline,
                )
            })
        })
        .await
        .map_err(Error::task("both producers at once"))??;
        eprintln!(
            "tracking cost ({brokers:?}): both at once, window by window {}",
            side.cost.map_or("no windows".into(), |c| c.describe())
        );
        cost.side_by_side.push(side);
    }
    let pairs = |p: Option<PairedCost>| p.map_or("no pairs".into(), |p| p.describe());
    eprintln!(
        "tracking cost ({brokers:?}): throughput, pairs of rounds {}; CPU per message at {PACED_RATE} msg/s, pairs {} (medians of all rounds: throughput {:.1} %, CPU as fast as acks allow {:.1} %, paced {:.1} %)",
        pairs(cost.throughput_cost_pairs),
        pairs(cost.cpu_cost_pairs),
        cost.throughput_cost * 100.0,
        cost.cpu_cost_unpaced * 100.0,
        cost.cpu_cost * 100.0,
    );
    Ok((cost, last_ledger))
}

/// Which producer runs first in pair `n` (from 1): they take turns, so whatever a round
/// leaves to the next (the heap, the machine's state a minute long) falls on both alike, not
/// on the second of every pair.
fn pair_order(n: usize) -> [Producer; 2] {
    if n % 2 == 1 {
        [Producer::Untracked, Producer::Tracked]
    } else {
        [Producer::Tracked, Producer::Untracked]
    }
}

/// The tracked producer paced at `rate` (0: as fast as acks allow): acked messages per second,
/// how many, its ledger, and this process's CPU when the last outcome came (before the
/// client's teardown). Blocks.
fn tracked(
    bootstrap: &str,
    messages: u64,
    rate: u32,
) -> Result<(f64, u64, AckLedger, ThreadsCpu), Error> {
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let sink = EventSink::new(Clock::start(), tx);
    let options = tracked_options(bootstrap, "bench", Some(messages), rate);
    let started = Instant::now();
    let mut producer = TrackedProducer::start(options, sink).map_err(Error::Kafka)?;
    let deadline = started + Duration::from_secs(60);
    // The send loop joined, as the untracked round joins its send thread (polled from here
    // in 1 ms steps it cost this thread ≈ 170 ns a message at the paced rate, counted as
    // tracking's); then every message's outcome (a failure too: the round then says how
    // many were acked) in 1 ms steps, as the untracked round's flush waits. The producer's
    // finish comes after, not timed (its client's polling thread, joined when the client
    // drops, sleeps in 100 ms slices).
    let sent = producer.wait_until_sent(Duration::from_secs(60));
    while sent && producer.settled() < producer.sent() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    let took = started.elapsed();
    let cpu = ThreadsCpu::now();
    // Sending has ended (or never will: `finish` stops it).
    let (summary, ledger) = producer.finish();
    let chaos_per_s = summary.acked as f64 / took.as_secs_f64();
    Ok((chaos_per_s, summary.acked, ledger, cpu))
}

/// The tracked producer's settings in the bench: acks=all, 100 B, partitions in turn.
fn tracked_options(
    bootstrap: &str,
    topic: &str,
    messages: Option<u64>,
    rate: u32,
) -> ProducerOptions {
    ProducerOptions {
        bootstrap: bootstrap.to_string(),
        profile: plaintext(),
        topic: topic.into(),
        partitions: PARTITIONS,
        acks: crate::events::Acks::All,
        idempotence: false,
        rate,
        message_size: MESSAGE_SIZE,
        delivery_timeout: Duration::from_secs(60),
        retries: None,
        extra: vec![],
        producer_id: 1,
        max_messages: messages,
        keys: Default::default(),
        key_seed: 0,
        rebootstrap_when_no_brokers: true,
        client: crate::kafka::producer::ClientLibrary::Librdkafka,
    }
}

/// Windows of the side-by-side comparison: 15 give its median a 96 % interval from the 4th
/// to the 12th.
const SIDE_BY_SIDE_WINDOWS: usize = 15;
const SIDE_BY_SIDE_WINDOW: Duration = Duration::from_secs(4);
const SIDE_BY_SIDE_TOPIC: &str = "bench-side-by-side";

// Long: two producers started, their threads told apart, the windows, the teardown
/// Both producers at `rate_each` at once (see `SideBySide`), on `topic`: the untracked one
/// starts and sends for a while (librdkafka starts a broker's thread when it learns of the
/// broker), its threads are noted just before the tracked one starts, whose threads are those
/// that appeared since; then `windows` windows, each producer's CPU the sum of its threads'
/// (schedstat, ns). Blocks.
fn side_by_side(
    bootstrap: &str,
    topic: &str,
    rate_each: u32,
    windows: usize,
    baseline: Baseline,
) -> Result<SideBySide, Error> {
    use std::collections::{HashMap, HashSet};
    // Long enough for either client's metadata, connections and first batches.
    const SETTLE: Duration = Duration::from_secs(3);
    /// Stops the untracked send loop however the scope ends (a panic too: the scope would
    /// otherwise wait for it forever).
    struct StopOnDrop<'a>(&'a AtomicBool);
    impl Drop for StopOnDrop<'_> {
        fn drop(&mut self) {
            self.0.store(true, Ordering::Relaxed);
        }
    }
    let cpu_by_tid = || -> HashMap<u32, u64> {
        ThreadsCpu::now()
            .live
            .into_iter()
            .map(|(tid, _, ns)| (tid, ns))
            .collect()
    };
    let new_since = |known: &[&HashSet<u32>]| -> HashSet<u32> {
        cpu_by_tid()
            .into_keys()
            .filter(|t| known.iter().all(|k| !k.contains(t)))
            .collect()
    };
    let base: HashSet<u32> = cpu_by_tid().into_keys().collect();
    let untracked = Untracked::new(bootstrap, baseline)?;
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let _stop = StopOnDrop(&stop);
        let send = std::thread::Builder::new()
            .name("untracked-send".into())
            .spawn_scoped(scope, || {
                untracked_send_loop(&untracked, topic, rate_each, |_| {
                    !stop.load(Ordering::Relaxed)
                })
            })
            .map_err(|e| Error::Infrastructure(format!("untracked send thread: {e}")))?;
        std::thread::sleep(SETTLE);
        // Just before the tracked producer starts: every thread since `base` is the
        // untracked producer's.
        let untracked_threads = new_since(&[&base]);
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let sink = EventSink::new(Clock::start(), tx);
        let options = tracked_options(bootstrap, topic, None, rate_each);
        let started = TrackedProducer::start(options, sink).map_err(Error::Kafka);
        let result = started.map(|tracked| {
            std::thread::sleep(SETTLE);
            let tracked_threads = new_since(&[&base, &untracked_threads]);
            let acks = |tracked: &TrackedProducer| (tracked.acked(), untracked.acked());
            let mut before = (cpu_by_tid(), acks(&tracked));
            let mut per_window = Vec::with_capacity(windows);
            let (mut unattributed_ns, mut exited) = (0, 0);
            for _ in 0..windows {
                // The window's length only sets how many messages each ratio covers.
                std::thread::sleep(SIDE_BY_SIDE_WINDOW);
                let after = (cpu_by_tid(), acks(&tracked));
                let used = |threads: &dyn Fn(&u32) -> bool| -> u64 {
                    (after.0.iter())
                        .filter(|(tid, _)| threads(tid))
                        .map(|(tid, ns)| ns.saturating_sub(before.0.get(tid).copied().unwrap_or(0)))
                        .sum()
                };
                let tracked_ns = used(&|t| tracked_threads.contains(t));
                let untracked_ns = used(&|t| untracked_threads.contains(t));
                unattributed_ns += used(&|t| {
                    !base.contains(t)
                        && !tracked_threads.contains(t)
                        && !untracked_threads.contains(t)
                });
                // A producer's thread that ended in the window took its CPU with it.
                exited += (before.0.keys())
                    .filter(|t| tracked_threads.contains(t) || untracked_threads.contains(t))
                    .filter(|t| !after.0.contains_key(t))
                    .count();
                let acked = (
                    after.1 .0.saturating_sub(before.1 .0).max(1),
                    after.1 .1.saturating_sub(before.1 .1).max(1),
                );
                per_window.push((
                    tracked_ns as f64 / acked.0 as f64,
                    untracked_ns as f64 / acked.1 as f64,
                ));
                before = after;
            }
            stop.store(true, Ordering::Relaxed);
            let _ = tracked.finish();
            SideBySide::new(
                baseline,
                rate_each,
                SIDE_BY_SIDE_WINDOW,
                per_window,
                unattributed_ns,
                exited,
            )
        });
        stop.store(true, Ordering::Relaxed);
        send.join()
            .map_err(|_| Error::Infrastructure("untracked send thread panicked".into()))?;
        result
    })
}

/// Our re-read and verification of the topic: messages per second, and how many it read.
async fn reread_rate(
    bootstrap: &str,
    partitions: i32,
    ledger: crate::analysis::verify::AckLedger,
) -> Result<(f64, u64), Error> {
    let read_options = crate::kafka::reader::ReadOptions {
        bootstrap: bootstrap.to_string(),
        profile: plaintext(),
        topic: "bench".into(),
        partitions,
        producer_id: 1,
        timeout: Duration::from_secs(600),
    };
    let started = Instant::now();
    let verified = tokio::task::spawn_blocking(move || {
        crate::kafka::reader::reread_and_check(&read_options, &ledger, None)
    })
    .await
    .map_err(Error::task("the re-read"))?
    .map_err(Error::Kafka)?;
    let reread_per_s = verified.read as f64 / started.elapsed().as_secs_f64();
    Ok((reread_per_s, verified.read))
}

/// Kafka's console consumer reading the same `read` messages: messages per second.
async fn console_consumer_rate(bootstrap: &str, read: u64) -> Result<f64, Error> {
    let jars = crate::docker::images::jar_dir(&crate::docker::images::ZOOKEEPER_MODE).ok_or_else(
        || Error::Infrastructure("the Kafka jars are not cached; run chaos images build".into()),
    )?;
    let started = Instant::now();
    let out = tokio::process::Command::new("java")
        .args([
            "-Xmx512m",
            "-cp",
            &format!("{}/*", jars.display()),
            "org.apache.kafka.tools.consumer.ConsoleConsumer",
            "--bootstrap-server",
            bootstrap,
            "--topic",
            "bench",
            "--from-beginning",
            "--max-messages",
            &read.to_string(),
            "--timeout-ms",
            "60000",
        ])
        .stdout(std::process::Stdio::null())
        .output()
        .await
        .map_err(|e| Error::Infrastructure(format!("java: {e}")))?;
    let console_seconds = started.elapsed().as_secs_f64();
    let console_per_s = if out.status.success() {
        read as f64 / console_seconds
    } else {
        return Err(Error::Infrastructure(format!(
            "console consumer failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    };
    Ok(console_per_s)
}

/// kcat reading the same `read` messages from the beginning (`-C -o beginning -c N`, output
/// discarded): messages per second, its process start included as the console consumer's is.
async fn kcat_rate(bootstrap: &str, read: u64) -> Result<f64, Error> {
    let started = Instant::now();
    let out = tokio::process::Command::new("kcat")
        .args([
            "-C",
            "-b",
            bootstrap,
            "-t",
            "bench",
            "-o",
            "beginning",
            "-q",
        ])
        .args(["-c", &read.to_string(), "-f", "%o\\n"])
        .stdout(std::process::Stdio::null())
        .output()
        .await
        .map_err(|e| {
            Error::Infrastructure(format!(
                "kcat: {e}\n  hint: scripts/install-docker.sh installs it (Debian's kcat)"
            ))
        })?;
    if !out.status.success() {
        return Err(Error::Infrastructure(format!(
            "kcat failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(read as f64 / started.elapsed().as_secs_f64())
}

/// Kafka's own producer benchmark with the same settings: records per second.
async fn perf_test_rate(
    bootstrap: &str,
    size: usize,
    acks: &str,
    messages: u64,
) -> Result<f64, Error> {
    let jars = crate::docker::images::jar_dir(&crate::docker::images::ZOOKEEPER_MODE).ok_or_else(
        || Error::Infrastructure("the Kafka jars are not cached; run chaos images build".into()),
    )?;
    let out = tokio::process::Command::new("java")
        .args([
            "-Xmx512m",
            "-cp",
            &format!("{}/*", jars.display()),
            "org.apache.kafka.tools.ProducerPerformance",
        ])
        .args([
            "--topic",
            "bench",
            "--num-records",
            &messages.to_string(),
            "--record-size",
            &size.to_string(),
            "--throughput",
            "-1",
        ])
        .args([
            "--producer-props",
            &format!("bootstrap.servers={bootstrap}"),
            &format!("acks={acks}"),
            "linger.ms=5",
        ])
        .output()
        .await
        .map_err(|e| Error::Infrastructure(format!("java: {e}")))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let perf_test_per_s = text
        .lines()
        .rfind(|l| l.contains("records sent"))
        .and_then(|l| {
            l.split(',')
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse::<f64>()
                .ok()
        })
        .ok_or_else(|| {
            Error::Infrastructure(format!(
                "no summary from ProducerPerformance: {text}{}",
                String::from_utf8_lossy(&out.stderr)
            ))
        })?;
    Ok(perf_test_per_s)
}

/// The same producer settings as the tracked one (acks=all, linger 5 ms, 100 B, partitions in
/// turn), with a delivery callback that only counts, paced as the tracked producer paces
/// (`rate` 0: as fast as the queue takes them): acked messages per second, how many, and this
/// process's CPU when the last outcome came (before the client's teardown).
fn untracked(bootstrap: &str, messages: u64, rate: u32) -> Result<(f64, u64, ThreadsCpu), Error> {
    // Timed from before the client is made, as the tracked round is (its start makes one).
    let started = Instant::now();
    let producer = Untracked::new(bootstrap, Baseline::PerMessageCallback)?;
    // On a thread of its own, new each round, as the tracked producer's send loop is (a
    // thread the process reused from round to round would start every round warm).
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("untracked-send".into())
            .spawn_scoped(scope, || {
                untracked_send_loop(&producer, "bench", rate, |n| n < messages)
            })
            .map(|thread| thread.join())
    })
    .map_err(|e| Error::Infrastructure(format!("untracked send thread: {e}")))?
    .map_err(|_| Error::Infrastructure("untracked send thread panicked".into()))?;
    if !producer.flush(Duration::from_secs(60)) {
        return Err(Error::Infrastructure(
            "untracked producer flush: outcomes still missing after 60 s".into(),
        ));
    }
    let took = started.elapsed();
    let cpu = ThreadsCpu::now();
    let acked = producer.acked();
    Ok((acked as f64 / took.as_secs_f64(), acked, cpu))
}

/// The untracked producer's delivery callback: it only counts the acks.
struct CountAcks(AtomicU64);

impl rdkafka::ClientContext for CountAcks {}

impl rdkafka::producer::ProducerContext for CountAcks {
    type DeliveryOpaque = usize;
    fn delivery(&self, r: &rdkafka::producer::DeliveryResult<'_>, _: usize) {
        if r.is_ok() {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The same count an event at a time, on the tracked producer's delivery path.
impl DeliveryBatches for CountAcks {
    fn delivered(&self, reports: &[Delivery]) {
        let acked = (reports.iter())
            .filter(|r| matches!(r.outcome, DeliveryOutcome::Acked { .. }))
            .count();
        self.0.fetch_add(acked as u64, Ordering::Relaxed);
    }
}

/// Which untracked producer the tracked one is compared with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Baseline {
    /// rust-rdkafka's `ThreadedProducer`, its delivery reports handed to a callback one
    /// message at a time: what an application on rust-rdkafka runs.
    PerMessageCallback,
    /// The tracked producer's own delivery path (`BatchedProducer`: reports an event at a
    /// time), counting only: what the tracking itself adds.
    SameDeliveryPath,
}

impl Baseline {
    fn describe(self) -> &'static str {
        match self {
            Baseline::PerMessageCallback => "an untracked rust-rdkafka producer (ThreadedProducer, a callback per message: an application's)",
            Baseline::SameDeliveryPath => "an untracked producer on the tracked one's delivery path (reports an event at a time: the tracking's own work)",
        }
    }
}

/// The untracked producer: the tracked one's settings (acks=all, linger 5 ms, 100 B,
/// partitions in turn), its delivery reports only counted.
enum Untracked {
    PerMessage(rdkafka::producer::ThreadedProducer<CountAcks>),
    PerEvent(BatchedProducer<CountAcks>),
}

impl Untracked {
    fn new(bootstrap: &str, baseline: Baseline) -> Result<Self, Error> {
        let config = crate::kafka::client_config(bootstrap, &plaintext())
            .set("acks", "all")
            .set("linger.ms", "5")
            .clone();
        let failed =
            |e: &dyn std::fmt::Display| Error::Infrastructure(format!("untracked producer: {e}"));
        let counter = CountAcks(AtomicU64::new(0));
        // Two client types from one config: `create_with_context` is generic over it.
        Ok(match baseline {
            Baseline::PerMessageCallback => Untracked::PerMessage(
                config
                    .create_with_context(counter)
                    .map_err(|e| failed(&e))?,
            ),
            Baseline::SameDeliveryPath => Untracked::PerEvent(
                BatchedProducer::start(
                    config
                        .create_with_context(counter)
                        .map_err(|e| failed(&e))?,
                )
                .map_err(|e| failed(&e))?,
            ),
        })
    }

    /// Whether the client took the message (no: its queue is full).
    fn send(&self, topic: &str, partition: i32, payload: &[u8]) -> bool {
        let record: rdkafka::producer::BaseRecord<'_, [u8], [u8], usize> =
            rdkafka::producer::BaseRecord::with_opaque_to(topic, 0)
                .partition(partition)
                .payload(payload);
        match self {
            Untracked::PerMessage(p) => p.send(record).is_ok(),
            Untracked::PerEvent(p) => p.producer().send(record).is_ok(),
        }
    }

    fn acked(&self) -> u64 {
        use rdkafka::producer::Producer;
        let counter = match self {
            Untracked::PerMessage(p) => p.context(),
            Untracked::PerEvent(p) => p.producer().context(),
        };
        counter.0.load(Ordering::Relaxed)
    }

    /// Waits up to `timeout` for every outcome: whether all came. The rounds' (per message)
    /// in 1 ms steps, as the tracked round waits for its last outcome.
    fn flush(&self, timeout: Duration) -> bool {
        match self {
            // `flush_within`: 1 ms steps, not rdkafka's 100 ms.
            Untracked::PerMessage(p) => flush_within(p, timeout),
            Untracked::PerEvent(p) => p.flush(timeout),
        }
    }
}

/// Waits up to `timeout` for every message's outcome (librdkafka's flush), in 1 ms steps;
/// whether all came. rdkafka's own `flush` polls in 100 ms slices and returns only at the end
/// of one: up to 100 ms late, which the half-second rounds read as throughput.
fn flush_within<P: rdkafka::producer::Producer<C>, C: rdkafka::producer::ProducerContext>(
    producer: &P,
    timeout: std::time::Duration,
) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if producer.flush(std::time::Duration::ZERO).is_ok() {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}

/// The untracked producer's send loop: 100 B messages to `topic`'s partitions in turn, paced
/// as the tracked producer is (the same `Pace`), while `go_on(messages sent so far)`.
fn untracked_send_loop(producer: &Untracked, topic: &str, rate: u32, go_on: impl Fn(u64) -> bool) {
    let payload = [b'.'; MESSAGE_SIZE];
    let mut pace = crate::kafka::producer::Pace::new(rate);
    let mut n = 0u64;
    while go_on(n) {
        if !pace.ready(n) {
            continue;
        }
        if producer.send(topic, (n % PARTITIONS as u64) as i32, &payload) {
            n += 1;
        } else {
            // Back-pressure, as in the tracked producer.
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// The overhead's and the soak's workload started: the observer at 100 ms on topic `bench`,
/// the tracked producer, and the task that drains their events.
fn start_steady_workload(
    cluster: &cluster::Cluster,
    bootstrap: String,
    rate: u32,
) -> Result<(Observer, TrackedProducer, tokio::task::JoinHandle<()>), Error> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let drain = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let sink = EventSink::new(Clock::start(), tx);
    let observer = Observer::start(
        ObserverOptions {
            endpoints: cluster.bootstrap(),
            kraft: false,
            period: Duration::from_millis(100),
            fast_period: Duration::from_millis(100),
            topics: vec!["bench".into()],
        },
        crate::run::observer::WireMetadata(plaintext()),
        sink.clone(),
    );
    let producer =
        TrackedProducer::start(steady_producer(bootstrap, rate), sink).map_err(Error::Kafka)?;
    Ok((observer, producer, drain))
}

/// The overhead's and the soak's workload: `rate` msg/s of 100 B, acks=all, 3 partitions.
fn steady_producer(bootstrap: String, rate: u32) -> ProducerOptions {
    ProducerOptions {
        bootstrap,
        profile: plaintext(),
        topic: "bench".into(),
        partitions: 3,
        acks: crate::events::Acks::All,
        idempotence: false,
        rate,
        message_size: 100,
        delivery_timeout: Duration::from_secs(30),
        retries: None,
        extra: vec![],
        producer_id: 2,
        max_messages: None,
        keys: Default::default(),
        key_seed: 0,
        rebootstrap_when_no_brokers: true,
        client: crate::kafka::producer::ClientLibrary::Librdkafka,
    }
}

async fn overhead(cluster: &cluster::Cluster, seconds: u64) -> Result<Overhead, Error> {
    let rate = 500;
    let bootstrap = cluster.bootstrap_list();
    fresh_topic(&bootstrap, 3).await?;
    eprintln!(
        "overhead: {seconds} s of a steady {rate} msg/s workload with the observer at 100 ms"
    );
    let (observer, producer, drain) = start_steady_workload(cluster, bootstrap, rate)?;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (cpu0, _) = process_usage();
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let (cpu1, rss) = process_usage();
    let elapsed = t0.elapsed().as_secs_f64();
    observer.stop();
    let _ = tokio::task::spawn_blocking(move || producer.finish()).await;
    drain.abort();
    Ok(Overhead {
        seconds: elapsed,
        rate,
        cpu_percent_of_one_core: 100.0 * (cpu1 - cpu0) / elapsed,
        peak_rss_mb: rss as f64 / 1_048_576.0,
        // One Metadata request per broker per period.
        observer_requests_per_s: cluster.bootstrap().len() as f64 * 10.0,
    })
}

fn render(r: &BenchReport) -> String {
    let mut md = String::from("# chaos bench\n\n| machine | |\n|---|---|\n");
    for (k, v) in &r.machine {
        md.push_str(&format!("| {k} | {v} |\n"));
    }
    md.push_str("\n| benchmark | result | target |\n|---|---|---|\n");
    if let Some(t) = &r.throughput {
        md.push_str(&format!(
            "| tracked producer vs kafka-producer-perf-test ({} msgs, {} B, acks={}, {} partitions) | {:.0} vs {:.0} msg/s = **{:.2}×** | ≥ 0.9× |\n",
            t.messages, t.message_size, t.acks, t.partitions, t.chaos_per_s, t.perf_test_per_s, t.ratio
        ));
    }
    for c in &r.tracking {
        md.push_str(&tracking_rows(c));
    }
    if let Some(t) = &r.throughput {
        md.push_str(&format!(
            "| re-read + verification of those {} messages from the cluster vs kafka-console-consumer reading them | {:.0} vs {:.0} msg/s = **{:.2}×** | ≥ 1.0× |\n",
            t.messages, t.reread_per_s, t.console_consumer_per_s, t.reread_ratio
        ));
        md.push_str(&format!(
            "| the same re-read vs kcat (librdkafka's consumer in C, nothing checked) | {:.0} vs {:.0} msg/s = **{:.2}×** | — |\n",
            t.reread_per_s, t.kcat_per_s, t.reread_per_s / t.kcat_per_s
        ));
    }
    // A soak alone runs no verification benchmark: no row for what did not run.
    let v = &r.verification;
    if v.messages > 0 {
        md.push_str(&format!(
            "| verification of {} acked messages | {:.2} s ({:.1} M msg/s), {:.2} B/msg heap | < 5 s, < 4 B/msg |\n",
            v.messages, v.seconds, v.messages_per_s / 1e6, v.bytes_per_message
        ));
    }
    let v = &r.verification_realistic;
    if v.messages > 0 {
        md.push_str(&format!(
            "| the same with random keys, 0.2 % of acks reordered by retries, 1 % failed or timed out, offset holes | {:.2} s ({:.1} M msg/s), {:.2} B/msg heap | < 5 s, < 4 B/msg |\n",
            v.seconds, v.messages_per_s / 1e6, v.bytes_per_message
        ));
    }
    if let Some(o) = &r.overhead {
        md.push_str(&format!(
            "| harness overhead ({} msg/s, observer 100 ms, {:.0} s) | {:.1} % of one core, the process's peak RSS {:.0} MB (the benchmarks before it included; see --soak), {:.0} metadata req/s | < 10 % of one core |\n",
            o.rate, o.seconds, o.cpu_percent_of_one_core, o.peak_rss_mb, o.observer_requests_per_s
        ));
    }
    if let Some(s) = &r.soak {
        // The sample at 0 s is before the workload's buffers and histograms exist: growth is
        // counted from the first sample under load (30 s).
        let loaded = s.rss_mb.iter().position(|(t, _)| *t >= 29.0).unwrap_or(0);
        let (from_s, first) = s.rss_mb.get(loaded).copied().unwrap_or((0.0, 0.0));
        let (to_s, last) = s.rss_mb.last().copied().unwrap_or((0.0, 0.0));
        let max = s.rss_mb.iter().map(|(_, mb)| *mb).fold(0.0, f64::max);
        let ledger = s.ledger_mb.last().copied().unwrap_or(0.0)
            - s.ledger_mb.get(loaded).copied().unwrap_or(0.0);
        let per_min = (last - first) / ((to_s - from_s) / 60.0).max(1.0 / 60.0);
        md.push_str(&format!(
            "| soak: {} min of {} msg/s tracked + observer, RSS every 30 s ({} samples), {} acked | at start {:.1} MB; under load from {from_s:.0} s {first:.1} MB → {last:.1} MB (max {max:.1}): {:+.1} MB, {per_min:+.3} MB/min; the ack ledger (kept for the re-read by design) reserved {ledger:+.1} MB more, in doubling steps | flat beside the ledger |\n",
            s.minutes,
            s.rate,
            s.rss_mb.len(),
            s.acked,
            s.rss_mb.first().map_or(0.0, |(_, mb)| *mb),
            last - first
        ));
    }
    for (what, s) in &r.ready {
        md.push_str(&format!(
            "| time to a ready cluster ({what}) | {s:.1} s | |\n"
        ));
    }
    md
}

/// The two rows of one tracking-cost comparison (mock or seed cluster).
fn tracking_rows(c: &TrackingCost) -> String {
    let mut rows = String::new();
    // One cell per round, " / " between: the rates (msg/s) or the CPU per message (µs).
    let column = |rounds: &[Round], cell: fn(&Round) -> String| {
        rounds.iter().map(cell).collect::<Vec<_>>().join(" / ")
    };
    let rates = |rounds: &[Round]| column(rounds, |r| format!("{:.0}", r.messages_per_s));
    let cpus = |rounds: &[Round]| column(rounds, |r| format!("{:.2}", r.cpu_us_per_message));
    let on = match c.brokers {
        Brokers::Mock => {
            "librdkafka's mock cluster (in this process: the client is the bottleneck)"
        }
        Brokers::Cluster => "the seed cluster (its brokers' speed from round to round is in it)",
    };
    let pairs = |p: Option<PairedCost>| {
        p.map_or(("no pairs".to_string(), "≤ 5 %: not measured"), |p| {
            (format!("**{}**", p.describe()), p.verdict())
        })
    };
    let (throughput, throughput_verdict) = pairs(c.throughput_cost_pairs);
    rows.push_str(&format!(
        "| tracked producer vs an untracked rust-rdkafka producer (ThreadedProducer, a callback per message: an application's), same settings, on {on}, {} msgs each, as fast as acks allow (two warm-up runs, then {} alternating rounds: tracked {} vs untracked {} msg/s; CPU per message tracked {} vs untracked {} µs) | tracking costs, pair by pair, {throughput} of the throughput (medians of all rounds: {:.1} %; CPU per message {:.1} % more) | {throughput_verdict} |\n",
        c.messages, c.tracked.len(), rates(&c.tracked), rates(&c.untracked), cpus(&c.tracked), cpus(&c.untracked), c.throughput_cost * 100.0, c.cpu_cost_unpaced * 100.0
    ));
    let (cpu, cpu_verdict) = pairs(c.cpu_cost_pairs);
    rows.push_str(&format!(
        "| the same on {on}, both at a fixed {} msg/s, in the same rounds: this process's CPU per acked message (user + system, all threads: tracked {} vs untracked {} µs) | tracking adds, pair by pair, {cpu} to the client's work (medians of all rounds: {:.1} %) | {cpu_verdict} |\n",
        c.paced_rate, cpus(&c.tracked_paced), cpus(&c.untracked_paced), c.cpu_cost * 100.0
    ));
    for side in &c.side_by_side {
        let (cost, verdict) = pairs(side.cost);
        let ns = |pick: fn(&(f64, f64)) -> f64| median(side.windows.iter().map(pick));
        rows.push_str(&format!(
            "| both at once on {on}, against {}, {} msg/s each, {} windows of {:.0} s: each producer's threads' CPU per acked message (schedstat; median tracked {:.0} vs untracked {:.0} ns; threads in neither's count {:.1} ms; producers' threads ended in a window {}; one run, the untracked producer started first: the interval is this run's, runs differ by more) | tracking adds, window by window, {cost} to the client's work | {verdict} |\n",
            side.baseline.describe(), side.rate_each, side.windows.len(), side.window_s, ns(|w| w.0), ns(|w| w.1), side.unattributed_ns as f64 / 1e6, side.threads_exited
        ));
    }
    rows.push_str(&format!(
        "| where that CPU went on {on}, by thread (ns a message, medians of the rounds, tracked vs untracked; the send loop: the threads that ended in the round) | as fast as acks allow: {}; at {} msg/s: {} | — |\n",
        ThreadShare::describe(&c.by_thread), c.paced_rate, ThreadShare::describe(&c.by_thread_paced)
    ));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tracking_cost_compares_medians_and_keeps_the_spread_of_pairs() {
        let round = |per_s: f64, cpu: f64| Round {
            messages_per_s: per_s,
            cpu_us_per_message: cpu,
            cpu_ns_by_thread: [(ThreadKind::Delivery, cpu * 1e3)].into(),
        };
        let mut cost = TrackingCost::new(Brokers::Mock, 1000);
        // Full speed: tracked 80, 90, 100 vs untracked 100, 100, 200 (medians 90 vs 100).
        cost.tracked = vec![round(80.0, 1.2), round(90.0, 1.1), round(100.0, 1.0)];
        cost.untracked = vec![round(100.0, 1.0), round(100.0, 1.0), round(200.0, 0.5)];
        // Paced: CPU 3.3, 3.0, 4.4 vs 3.0, 3.0, 4.0 (medians 3.3 vs 3.0; pairs +10 %, 0, +10 %).
        cost.tracked_paced = vec![round(1.0, 3.3), round(1.0, 3.0), round(1.0, 4.4)];
        cost.untracked_paced = vec![round(1.0, 3.0), round(1.0, 3.0), round(1.0, 4.0)];
        cost.summarise();
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert!(close(cost.throughput_cost, 0.1), "{}", cost.throughput_cost);
        assert!(
            close(cost.cpu_cost_unpaced, 0.1),
            "{}",
            cost.cpu_cost_unpaced
        );
        assert!(close(cost.cpu_cost, 0.1), "{}", cost.cpu_cost);
        let paced = cost.cpu_cost_pairs.unwrap();
        assert!(close(paced.median, 0.1) && close(paced.low, 0.0) && close(paced.high, 0.1));
        assert_eq!(
            paced.confidence, None,
            "three pairs are too few for an interval"
        );
        // Pairs of full-speed rounds: 1 − 80/100, 1 − 90/100, 1 − 100/200.
        let full = cost.throughput_cost_pairs.unwrap();
        assert!(close(full.median, 0.2) && close(full.low, 0.1) && close(full.high, 0.5));
        let rows = tracking_rows(&cost);
        assert!(
            rows.contains("mock cluster")
                && rows.contains("**20.0 % (pairs 10.0 … 50.0 %")
                && rows.contains("not shown"),
            "{rows}"
        );
        // By thread: the delivery thread's medians, 1,100 vs 1,000 ns (+100).
        assert!(
            rows.contains("as fast as acks allow: delivery thread 1100 vs 1000 (+100); at 100000 msg/s: delivery thread 3300 vs 3000 (+300)"),
            "{rows}"
        );
        // Both at once: each window's ratio, their (lower) median and interval (6 windows:
        // the 1st and 6th, 96.9 %).
        let windows = vec![
            (1_030.0, 1_000.0),
            (2_040.0, 2_000.0),
            (990.0, 1_000.0),
            (1_050.0, 1_000.0),
            (1_010.0, 1_000.0),
            (1_100.0, 1_000.0),
        ];
        cost.side_by_side = vec![SideBySide::new(
            Baseline::SameDeliveryPath,
            50_000,
            Duration::from_secs(4),
            windows,
            0,
            0,
        )];
        let side = cost.side_by_side[0].cost.unwrap();
        assert!(close(side.median, 0.02) && close(side.low, -0.01) && close(side.high, 0.1));
        let rows = tracking_rows(&cost);
        assert!(
            rows.contains("both at once on librdkafka's mock cluster")
                && rows
                    .contains("against an untracked producer on the tracked one's delivery path")
                && rows.contains("50000 msg/s each, 6 windows of 4 s")
                && rows.contains("median tracked 1030 vs untracked 1000 ns"),
            "{rows}"
        );
    }

    #[test]
    fn a_rounds_cpu_goes_to_the_threads_it_ran_on_and_what_ended_is_the_send_loop() {
        let snapshot = |total_ns: u64, live: &[(u32, &str, u64)]| ThreadsCpu {
            total_ns,
            live: live
                .iter()
                .map(|(t, n, ns)| (*t, n.to_string(), *ns))
                .collect(),
        };
        let before = snapshot(
            10_000,
            &[
                (1, "chaos", 5_000),
                (7, "rdk:mock", 1_000),
                (9, "chaos-producer", 0),
            ],
        );
        // Thread 9 (the send loop) ended; 11-14 were made in the round.
        let after = snapshot(
            30_000,
            &[
                (1, "chaos", 5_500),
                (7, "rdk:mock", 3_000),
                (11, "producer pollin", 4_000),
                (12, "rdk:broker1", 2_000),
                (13, "rdk:main", 500),
                (14, "tokio-rt-worker", 1_000),
            ],
        );
        let used = after.since(&before);
        // Ours as the kernel keeps it (15 bytes), as rust-rdkafka's is.
        assert_eq!(ThreadKind::of("chaos-deliverie"), ThreadKind::Delivery);
        assert_eq!(ThreadKind::of("chaos-producer"), ThreadKind::Other);
        assert_eq!(
            used,
            [
                (
                    ThreadKind::SendLoop,
                    20_000 - 500 - 2_000 - 4_000 - 2_500 - 1_000
                ),
                (ThreadKind::Delivery, 4_000),
                (ThreadKind::Librdkafka, 2_500),
                (ThreadKind::MockBrokers, 2_000),
                (ThreadKind::Other, 1_500),
            ]
            .into()
        );
        let round = Round::new(1.0, &used, 1_000);
        assert!((round.cpu_us_per_message - 0.02).abs() < 1e-12);
        assert_eq!(round.cpu_ns_by_thread[&ThreadKind::Delivery], 4.0);
    }

    #[test]
    fn the_producers_take_turns_going_first() {
        let firsts: Vec<Producer> = (1..=4).map(|n| pair_order(n)[0]).collect();
        assert_eq!(
            firsts,
            [
                Producer::Untracked,
                Producer::Tracked,
                Producer::Untracked,
                Producer::Tracked
            ]
        );
        assert!((1..=9).all(|n| pair_order(n)[0] != pair_order(n)[1]));
    }

    #[test]
    fn a_cost_is_shown_under_the_bound_only_when_its_interval_is() {
        let cost = |pairs: &[f64]| PairedCost::of(pairs).unwrap();
        let under = cost(&[0.01, 0.02, 0.03, 0.00, 0.04, 0.02, 0.01, 0.03, 0.02]);
        assert_eq!(under.verdict(), "≤ 5 %: shown", "{}", under.describe());
        assert!(under
            .describe()
            .contains("96 % interval of the median 1.0 … 3.0 %, 9 pairs"));
        // The median under 5 %, the interval reaching past it: not shown.
        let wide = cost(&[0.01, 0.02, 0.03, 0.00, 0.04, 0.02, 0.20, 0.30, 0.02]);
        assert_eq!(
            wide.verdict(),
            "≤ 5 %: not shown (the interval reaches past it)"
        );
        let over = cost(&[0.10, 0.12, 0.20, 0.15, 0.11, 0.13]);
        assert_eq!(over.verdict(), "≤ 5 %: not met");
        // Five pairs: no interval, whatever the values.
        assert_eq!(
            cost(&[0.0; 5]).verdict(),
            "≤ 5 %: not shown (the interval reaches past it)"
        );
    }

    #[test]
    fn bench_builds_the_images_of_both_clusters_it_starts() {
        // Unit-level: which images the command needs (starting the clusters is a real test).
        let dir = std::env::current_dir().expect("cwd");
        assert!(
            dir.join(COMPOSE_FILES[1]).exists(),
            "run from the crate root"
        );
        let [seed, kraft] = plans().expect("the shipped compose files plan");
        let images: Vec<String> = images_needed(&[&seed, &kraft])
            .into_iter()
            .map(|w| w.tag)
            .collect();
        assert!(
            images.contains(&crate::docker::images::ZOOKEEPER_MODE.tag.to_string()),
            "{images:?}"
        );
        assert!(
            images.contains(&crate::docker::images::KRAFT_MODE.tag.to_string()),
            "{images:?}"
        );
    }
}
