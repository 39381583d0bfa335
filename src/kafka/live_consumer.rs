//! The optional concurrent consumer (`workload: {consumer: true}`): reads the workload's
//! topic while the run goes on, for end-to-end latency (send → delivered to a consumer, on
//! the run's one clock) and for what a consumer sees during a fault: the longest time each
//! partition delivered nothing.

use super::connect::Profile;
use super::payload;
use super::producer::{encode_histograms, histogram, PHASES};
use super::KafkaError;
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
use std::sync::Arc;
use std::time::Duration;

pub struct LiveConsumer {
    stop: Arc<AtomicBool>,
    /// Stop once this many of our messages were received (set by `finish`).
    enough: Arc<AtomicU64>,
    /// Signalled when the reader stops by itself (it has `enough`).
    done: std::sync::mpsc::Receiver<()>,
    reader: Option<std::thread::JoinHandle<(ConsumerSummary, SeenSet)>>,
}

struct Reading {
    consumer: BaseConsumer,
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
}

impl LiveConsumer {
    pub fn start(
        bootstrap: &str,
        profile: &Profile,
        topic: &str,
        partitions: i32,
        producer_id: u64,
        phase: Arc<AtomicUsize>,
        sink: EventSink,
    ) -> Result<Self, KafkaError> {
        let consumer: BaseConsumer = super::client_config(bootstrap, profile)
            .set("group.id", format!("chaos-live-{producer_id}"))
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
        let stop = Arc::new(AtomicBool::new(false));
        let enough = Arc::new(AtomicU64::new(u64::MAX));
        let started_us = sink.clock().now_us();
        let n = partitions.max(0) as usize;
        let mut reading = Reading {
            consumer,
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
        };
        let (done_tx, done) = std::sync::mpsc::channel();
        let reader = {
            let (stop, enough, phase) = (stop.clone(), enough.clone(), phase.clone());
            std::thread::Builder::new()
                .name("chaos-live-consumer".into())
                .spawn(move || {
                    let summary = reading.run(&stop, &enough, &phase);
                    let _ = done_tx.send(());
                    summary
                })
                .map_err(|source| KafkaError::Thread {
                    what: "live consumer thread",
                    source,
                })?
        };
        Ok(Self {
            stop,
            enough,
            done,
            reader: Some(reader),
        })
    }

    /// Reads on until `acked` of our messages arrived or `grace` passed, then stops. Returns
    /// what it saw, and which messages (to compare with the re-read).
    pub fn finish(mut self, acked: u64, grace: Duration) -> (ConsumerSummary, SeenSet) {
        self.enough.store(acked, Ordering::Relaxed);
        let _ = self.done.recv_timeout(grace);
        self.stop.store(true, Ordering::Relaxed);
        self.reader
            .take()
            .and_then(|r| r.join().ok())
            .unwrap_or_default()
    }
}

/// A run that ends early (an error before `finish`) must not leave the reader polling.
impl Drop for LiveConsumer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

impl Reading {
    fn run(
        &mut self,
        stop: &AtomicBool,
        enough: &AtomicU64,
        phase: &AtomicUsize,
    ) -> (ConsumerSummary, SeenSet) {
        while !stop.load(Ordering::Relaxed) && self.received < enough.load(Ordering::Relaxed) {
            let Some(Ok(m)) = self.consumer.poll(Duration::from_millis(100)) else {
                continue;
            };
            let Some(id) = m.payload().and_then(payload::decode) else {
                continue;
            };
            if id.producer_id != self.producer_id {
                continue;
            }
            let now = self.sink.clock().now_us();
            self.received += 1;
            let phase = phase.load(Ordering::Relaxed).min(PHASES.len() - 1);
            self.histograms[phase].saturating_record(now.saturating_sub(id.sent_at_us).max(1));
            let p = m.partition() as usize;
            if self.seen.insert(m.partition(), id.seq) {
                self.duplicates += 1;
            }
            if let Some(last) = self.last_offset.get_mut(p) {
                if last.is_some_and(|l| m.offset() <= l) {
                    self.rewinds += 1;
                }
                *last = Some(m.offset());
            }
            if let (Some(last), Some(longest)) = (self.last_us.get_mut(p), self.longest.get_mut(p))
            {
                let from = last.unwrap_or(self.started_us);
                if last.is_some() && now.saturating_sub(from) > GAP_FLOOR_US {
                    self.sink.emit(EventKind::ConsumerGap(ConsumerSilence {
                        topic: self.topic.clone(),
                        partition: m.partition(),
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
