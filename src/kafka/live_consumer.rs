//! The optional concurrent consumer (`workload: {consumer: true}`): reads the workload's
//! topic while the run goes on, for end-to-end latency (send → delivered to a consumer, on
//! the run's one clock) and for what a consumer sees during a fault: the longest time each
//! partition delivered nothing. It runs the workload's client: the bundled librdkafka on a
//! thread of its own, or the Java client in a JVM (`java/ChaosConsumer.java`), whose records
//! are stamped as their lines arrive.

use super::connect::Profile;
use super::consumer_driver::{ConsumerAnswer, ConsumerDriver, Role};
use super::payload::{self, Identity};
use super::producer::{encode_histograms, histogram, PHASES};
use super::{ConsumerClient, KafkaError};
use crate::analysis::verify::SeenSet;
use crate::clock::EventSink;
use crate::events::{ConsumerSilence, ConsumerSummary, EventKind};

/// A silence worth recording: well above the spacing of deliveries at the usual rates.
const GAP_FLOOR_US: u64 = 200_000;
use hdrhistogram::Histogram;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct LiveConsumer {
    stop: Arc<AtomicBool>,
    /// Stop once this many of our messages were received (set by `finish`).
    enough: Arc<AtomicU64>,
    /// Signalled when the reader has `enough`.
    done: std::sync::mpsc::Receiver<()>,
    reader: Reader,
}

/// Where the records come from.
enum Reader {
    /// librdkafka polled on a thread of its own, which returns the tally.
    Thread(Option<std::thread::JoinHandle<(ConsumerSummary, SeenSet)>>),
    /// The Java client's driver, whose answer thread keeps the tally.
    Java {
        driver: ConsumerDriver,
        tally: Arc<Mutex<Tally>>,
    },
}

/// What the live consumer saw, whichever client read it.
struct Tally {
    sink: EventSink,
    topic: String,
    producer_id: u64,
    histograms: Vec<Histogram<u64>>,
    received: u64,
    /// Per partition: the last delivery, and the longest silence so far.
    last_us: Vec<Option<u64>>,
    longest: Vec<Option<(u64, u64)>>,
    started_us: u64,
    /// Every message delivered, for duplicates and for what the cluster later lost.
    seen: SeenSet,
    duplicates: u64,
    last_offset: Vec<Option<i64>>,
    rewinds: u64,
    phase: Arc<AtomicUsize>,
}

/// Where and what the live consumer reads.
pub struct LiveOptions<'a> {
    pub bootstrap: &'a str,
    pub profile: &'a Profile,
    pub topic: &'a str,
    pub partitions: i32,
    pub producer_id: u64,
    /// The latency phase, shared with the tracked producer.
    pub phase: Arc<AtomicUsize>,
    pub client: &'a ConsumerClient,
}

impl LiveConsumer {
    pub fn start(options: LiveOptions<'_>, sink: EventSink) -> Result<Self, KafkaError> {
        let LiveOptions {
            bootstrap,
            profile,
            topic,
            partitions,
            producer_id,
            phase,
            client,
        } = options;
        let started_us = sink.clock().now_us();
        let n = partitions.max(0) as usize;
        let tally = Tally {
            sink,
            topic: topic.to_string(),
            producer_id,
            histograms: PHASES.iter().map(|_| histogram()).collect(),
            received: 0,
            last_us: vec![None; n],
            longest: vec![None; n],
            started_us,
            seen: SeenSet::new(partitions),
            duplicates: 0,
            last_offset: vec![None; n],
            rewinds: 0,
            phase,
        };
        let stop = Arc::new(AtomicBool::new(false));
        let enough = Arc::new(AtomicU64::new(u64::MAX));
        let (done_tx, done) = std::sync::mpsc::channel();
        let reader = match client {
            ConsumerClient::Java(install) => {
                on_java(install, bootstrap, profile, topic, tally, &enough, done_tx)?
            }
            ConsumerClient::Librdkafka => on_librdkafka(
                bootstrap, profile, topic, partitions, tally, &stop, &enough, done_tx,
            )?,
        };
        Ok(Self {
            stop,
            enough,
            done,
            reader,
        })
    }
}

/// The Java client's consumer in a JVM: its records are tallied as their lines arrive.
fn on_java(
    install: &super::client_install::JavaInstall,
    bootstrap: &str,
    profile: &Profile,
    topic: &str,
    tally: Tally,
    enough: &Arc<AtomicU64>,
    done_tx: std::sync::mpsc::Sender<()>,
) -> Result<Reader, KafkaError> {
    let tally = Arc::new(Mutex::new(tally));
    let on_answer = {
        let (tally, enough) = (tally.clone(), enough.clone());
        move |answer| {
            let ConsumerAnswer::Record {
                partition,
                offset,
                head,
            } = answer
            else {
                return;
            };
            let Some(id) = head.as_deref().and_then(payload::decode) else {
                return;
            };
            let mut t = tally.lock().unwrap_or_else(|p| p.into_inner());
            t.record(partition, offset, id);
            if t.received >= enough.load(Ordering::Relaxed) {
                let _ = done_tx.send(());
            }
        }
    };
    let on_died = {
        let tally = tally.clone();
        move |why: String| {
            let t = tally.lock().unwrap_or_else(|p| p.into_inner());
            t.sink.emit(EventKind::Error {
                message: format!("the live consumer: {why}"),
            });
        }
    };
    let settings = [
        ("bootstrap.servers", bootstrap),
        ("client.id", "chaos-live-consumer"),
        ("enable.auto.commit", "false"),
        ("auto.offset.reset", "earliest"),
        // librdkafka's fetch.wait.max.ms under Java's name.
        ("fetch.max.wait.ms", "50"),
        ("isolation.level", "read_uncommitted"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()));
    let driver = ConsumerDriver::start(
        &install.consumer_command(),
        topic,
        Role::Live,
        &settings,
        &profile.security,
        on_answer,
        on_died,
    )
    .map_err(|e| KafkaError::Workload(format!("the live consumer: {e}")))?;
    Ok(Reader::Java { driver, tally })
}

/// The bundled librdkafka, polled on a thread of its own.
#[allow(clippy::too_many_arguments)]
fn on_librdkafka(
    bootstrap: &str,
    profile: &Profile,
    topic: &str,
    partitions: i32,
    tally: Tally,
    stop: &Arc<AtomicBool>,
    enough: &Arc<AtomicU64>,
    done_tx: std::sync::mpsc::Sender<()>,
) -> Result<Reader, KafkaError> {
    let consumer: BaseConsumer = super::client_config(bootstrap, profile)
        .set("group.id", format!("chaos-live-{}", tally.producer_id))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .set("fetch.wait.max.ms", "50")
        // Not held back by another producer's open transaction (see reader.rs).
        .set("isolation.level", "read_uncommitted")
        .create()
        .map_err(KafkaError::client("live consumer"))?;
    let mut assignment = TopicPartitionList::new();
    for p in 0..partitions {
        assignment
            .add_partition_offset(topic, p, Offset::Beginning)
            .map_err(KafkaError::client("live consumer assignment"))?;
    }
    consumer
        .assign(&assignment)
        .map_err(KafkaError::client("live consumer assign"))?;
    let reader = {
        let (stop, enough) = (stop.clone(), enough.clone());
        std::thread::Builder::new()
            .name("chaos-live-consumer".into())
            .spawn(move || {
                let summary = poll(consumer, tally, &stop, &enough);
                let _ = done_tx.send(());
                summary
            })
            .map_err(|source| KafkaError::Thread {
                what: "live consumer thread",
                source,
            })?
    };
    Ok(Reader::Thread(Some(reader)))
}

impl LiveConsumer {
    /// Reads on until `acked` of our messages arrived or `grace` passed, then stops. Returns
    /// what it saw, and which messages (to compare with the re-read).
    pub fn finish(mut self, acked: u64, grace: Duration) -> (ConsumerSummary, SeenSet) {
        self.enough.store(acked, Ordering::Relaxed);
        let has_enough = match &self.reader {
            Reader::Java { tally, .. } => {
                tally.lock().unwrap_or_else(|p| p.into_inner()).received >= acked
            }
            Reader::Thread(_) => false,
        };
        if !has_enough {
            let _ = self.done.recv_timeout(grace);
        }
        self.stop.store(true, Ordering::Relaxed);
        match &mut self.reader {
            Reader::Thread(reader) => reader
                .take()
                .and_then(|r| r.join().ok())
                .unwrap_or_default(),
            Reader::Java { driver, tally } => {
                driver.close(Duration::from_secs(10));
                let mut t = tally.lock().unwrap_or_else(|p| p.into_inner());
                t.summary()
            }
        }
    }
}

/// A run that ends early (an error before `finish`) must not leave the reader polling.
impl Drop for LiveConsumer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Polls librdkafka until stopped or it has `enough`.
fn poll(
    consumer: BaseConsumer,
    mut tally: Tally,
    stop: &AtomicBool,
    enough: &AtomicU64,
) -> (ConsumerSummary, SeenSet) {
    while !stop.load(Ordering::Relaxed) && tally.received < enough.load(Ordering::Relaxed) {
        let Some(Ok(m)) = consumer.poll(Duration::from_millis(100)) else {
            continue;
        };
        if let Some(id) = m.payload().and_then(payload::decode) {
            tally.record(m.partition(), m.offset(), id);
        }
    }
    tally.summary()
}

impl Tally {
    /// A record delivered now.
    fn record(&mut self, partition: i32, offset: i64, id: Identity) {
        if id.producer_id != self.producer_id {
            return;
        }
        let now = self.sink.clock().now_us();
        self.received += 1;
        let phase = self.phase.load(Ordering::Relaxed).min(PHASES.len() - 1);
        self.histograms[phase].saturating_record(now.saturating_sub(id.sent_at_us).max(1));
        let p = partition as usize;
        if self.seen.insert(partition, id.seq) {
            self.duplicates += 1;
        }
        if let Some(last) = self.last_offset.get_mut(p) {
            if last.is_some_and(|l| offset <= l) {
                self.rewinds += 1;
            }
            *last = Some(offset);
        }
        if let (Some(last), Some(longest)) = (self.last_us.get_mut(p), self.longest.get_mut(p)) {
            let from = last.unwrap_or(self.started_us);
            if last.is_some() && now.saturating_sub(from) > GAP_FLOOR_US {
                self.sink.emit(EventKind::ConsumerGap(ConsumerSilence {
                    topic: self.topic.clone(),
                    partition,
                    from_us: from,
                    to_us: now,
                }));
            }
            if longest.is_none_or(|(a, b)| now.saturating_sub(from) > b - a) {
                *longest = Some((from, now));
            }
            *last = Some(now);
        }
    }

    fn summary(&mut self) -> (ConsumerSummary, SeenSet) {
        let summary = ConsumerSummary {
            received: self.received,
            duplicates: self.duplicates,
            rewinds: self.rewinds,
            latency_histograms: encode_histograms(&self.histograms),
            gaps: self
                .longest
                .iter()
                .enumerate()
                .filter_map(|(p, g)| {
                    g.map(|(from_us, to_us)| ConsumerSilence {
                        topic: self.topic.clone(),
                        partition: p as i32,
                        from_us,
                        to_us,
                    })
                })
                .collect(),
        };
        (summary, std::mem::take(&mut self.seen))
    }
}
