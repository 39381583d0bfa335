//! A librdkafka producer whose delivery reports arrive a response at a time.
//!
//! rust-rdkafka's `ThreadedProducer` polls librdkafka's event queue and hands each delivery
//! report to `ProducerContext::delivery` one message at a time. But librdkafka reports a
//! produce response's messages together, in one event: they were acked by one response, at
//! one time. Taken together, the tracked producer reads one clock and takes one lock per
//! response instead of per message (docs/measurements.md, "Delivery reports a response at a
//! time").
//!
//! `BatchedProducer` is a `BaseProducer` with its own polling thread, which serves the same
//! events rust-rdkafka's would (delivery reports, logs, statistics, errors) and hands the
//! delivery reports to `DeliveryBatches::delivered` an event at a time.

use rdkafka::bindings as rdsys;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::KafkaError as RdKafkaError;
use rdkafka::producer::{BaseProducer, DeliveryResult, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode;
use std::ffi::CStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// One message's delivery report, read out of librdkafka's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Delivery {
    pub partition: i32,
    /// What the producer handed over with the message (`BaseRecord::with_opaque_to`).
    pub opaque: usize,
    pub outcome: DeliveryOutcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeliveryOutcome {
    /// Written at `offset`. `create_time_ms`: the record's CreateTime as the ack returned
    /// it (None: the topic replaced it with the broker's LogAppendTime, or there is none).
    /// `librdkafka_latency_us`: librdkafka's own count from `produce()` to the report, read
    /// only when there is no CreateTime (it reads a clock).
    Acked {
        offset: i64,
        create_time_ms: Option<i64>,
        librdkafka_latency_us: Option<u64>,
    },
    /// Not written for sure (`never_sent`: librdkafka says it never left the client), or
    /// with its outcome open.
    NotAcked {
        error: RDKafkaErrorCode,
        never_sent: bool,
    },
}

impl DeliveryOutcome {
    /// The error as rust-rdkafka words it (the text the reports have always shown).
    pub(crate) fn error_text(error: RDKafkaErrorCode) -> String {
        RdKafkaError::MessageProduction(error).to_string()
    }
}

impl Delivery {
    /// Reads a delivery report's message.
    ///
    /// # Safety
    /// `message` points to a live message of a delivery report.
    unsafe fn read(message: *const rdsys::rd_kafka_message_t) -> Self {
        let m = &*message;
        let outcome = if m.err == rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR {
            let mut kind = rdsys::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
            let ms = rdsys::rd_kafka_message_timestamp(message, &mut kind);
            let create_time_ms = (kind
                == rdsys::rd_kafka_timestamp_type_t::RD_KAFKA_TIMESTAMP_CREATE_TIME
                && ms != -1)
                .then_some(ms);
            DeliveryOutcome::Acked {
                offset: m.offset,
                create_time_ms,
                // −1: no enqueue time (never for a produced message).
                librdkafka_latency_us: match create_time_ms {
                    Some(_) => None,
                    None => u64::try_from(rdsys::rd_kafka_message_latency(message)).ok(),
                },
            }
        } else {
            let status = rdsys::rd_kafka_message_status(message);
            DeliveryOutcome::NotAcked {
                error: m.err.into(),
                never_sent: status
                    == rdsys::rd_kafka_msg_status_t::RD_KAFKA_MSG_STATUS_NOT_PERSISTED,
            }
        };
        Delivery {
            partition: m.partition,
            opaque: m._private as usize,
            outcome,
        }
    }

    /// A report rust-rdkafka handed over itself (`ProducerContext::delivery`: a poll other
    /// than ours, e.g. the one `BaseProducer` makes when it is dropped). Its opaque is the
    /// message's own (rust-rdkafka's `usize` opaque is the pointer-sized value as it is).
    pub(crate) fn of(result: &DeliveryResult<'_>) -> Self {
        let message = match result {
            Ok(m) | Err((_, m)) => m,
        };
        // SAFETY: the message is borrowed, so it is alive.
        unsafe { Delivery::read(message.ptr()) }
    }
}

/// A producer context that takes delivery reports an event at a time.
pub(crate) trait DeliveryBatches: ProducerContext<DeliveryOpaque = usize> {
    /// The reports of one event: the messages one produce response settled (or one batch
    /// that failed or timed out together).
    fn delivered(&self, reports: &[Delivery]);
}

/// A `BaseProducer` with a thread that serves its events (see the module's comment).
pub(crate) struct BatchedProducer<C: DeliveryBatches + 'static> {
    producer: Arc<BaseProducer<C>>,
    stop: Arc<AtomicBool>,
    poller: Option<std::thread::JoinHandle<()>>,
}

/// The polling thread's name (the kernel keeps 15 bytes of it).
pub(crate) const DELIVERY_THREAD: &str = "chaos-deliveries";

/// How long one wait for an event lasts, so that a stop is seen (rust-rdkafka's too).
const POLL_MS: i32 = 100;

impl<C: DeliveryBatches + 'static> BatchedProducer<C> {
    pub(crate) fn start(producer: BaseProducer<C>) -> std::io::Result<Self> {
        let producer = Arc::new(producer);
        let stop = Arc::new(AtomicBool::new(false));
        let poller = {
            let (producer, stop) = (producer.clone(), stop.clone());
            std::thread::Builder::new()
                .name(DELIVERY_THREAD.into())
                .spawn(move || serve_events(&producer, &stop))?
        };
        Ok(BatchedProducer {
            producer,
            stop,
            poller: Some(poller),
        })
    }

    pub(crate) fn producer(&self) -> &BaseProducer<C> {
        &self.producer
    }

    /// Whether the polling thread still serves the events (until the drop: no, only if it
    /// panicked — its reports since are lost).
    pub(crate) fn is_serving(&self) -> bool {
        self.poller.as_ref().is_some_and(|p| !p.is_finished())
    }

    /// Waits up to `timeout` for every message's report (the polling thread hands them over
    /// meanwhile): whether all came. librdkafka's own wait, which with events returns once
    /// the last report was handled, not at the end of a poll slice.
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: a live client handle.
        let result = unsafe { rdsys::rd_kafka_flush(self.producer.client().native_ptr(), ms) };
        result == rdsys::rd_kafka_resp_err_t::RD_KAFKA_RESP_ERR_NO_ERROR
    }
}

/// The polling thread stops before the producer goes (whose own drop purges and polls).
impl<C: DeliveryBatches + 'static> Drop for BatchedProducer<C> {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(poller) = self.poller.take() {
            let _ = poller.join();
        }
    }
}

/// librdkafka's main queue, released when the polling ends (a panic too).
struct MainQueue(*mut rdsys::rd_kafka_queue_t);

impl Drop for MainQueue {
    fn drop(&mut self) {
        // SAFETY: our reference from `rd_kafka_queue_get_main`, released once.
        unsafe { rdsys::rd_kafka_queue_destroy(self.0) }
    }
}

/// One event, released once handled.
struct Event(*mut rdsys::rd_kafka_event_t);

impl Drop for Event {
    fn drop(&mut self) {
        // SAFETY: an event `rd_kafka_queue_poll` returned, released once.
        unsafe { rdsys::rd_kafka_event_destroy(self.0) }
    }
}

/// Serves the producer's events until `stop`: what rust-rdkafka's polling does (delivery
/// reports, logs, statistics, errors), delivery reports an event at a time.
fn serve_events<C: DeliveryBatches>(producer: &BaseProducer<C>, stop: &AtomicBool) {
    let context = producer.context();
    // SAFETY: a live client handle; the reference is released by `MainQueue`'s drop, before
    // the producer (which this thread's `Arc` keeps alive) is destroyed.
    let queue =
        MainQueue(unsafe { rdsys::rd_kafka_queue_get_main(producer.client().native_ptr()) });
    // Reused: no allocation per event.
    let mut reports = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        // SAFETY: the queue is alive (above).
        let event = unsafe { rdsys::rd_kafka_queue_poll(queue.0, POLL_MS) };
        if event.is_null() {
            continue;
        }
        let event = Event(event);
        // SAFETY (every call below): a live event, used as its type says; the strings it
        // returns live as long as it does.
        match unsafe { rdsys::rd_kafka_event_type(event.0) } {
            rdsys::RD_KAFKA_EVENT_DR => {
                reports.clear();
                loop {
                    let message = unsafe { rdsys::rd_kafka_event_message_next(event.0) };
                    if message.is_null() {
                        break;
                    }
                    reports.push(unsafe { Delivery::read(message) });
                }
                context.delivered(&reports);
            }
            rdsys::RD_KAFKA_EVENT_LOG => {
                let (mut fac, mut text, mut level) = (std::ptr::null(), std::ptr::null(), 0);
                if unsafe { rdsys::rd_kafka_event_log(event.0, &mut fac, &mut text, &mut level) }
                    == 0
                {
                    let (fac, text) = unsafe {
                        (
                            CStr::from_ptr(fac).to_string_lossy(),
                            CStr::from_ptr(text).to_string_lossy(),
                        )
                    };
                    context.log(log_level(level), fac.trim(), text.trim());
                }
            }
            rdsys::RD_KAFKA_EVENT_STATS => {
                let json = unsafe { CStr::from_ptr(rdsys::rd_kafka_event_stats(event.0)) };
                context.stats_raw(json.to_bytes());
            }
            rdsys::RD_KAFKA_EVENT_ERROR => {
                let code = unsafe { rdsys::rd_kafka_event_error(event.0) };
                let reason = unsafe { CStr::from_ptr(rdsys::rd_kafka_event_error_string(event.0)) };
                context.error(
                    RdKafkaError::Global(code.into()),
                    reason.to_string_lossy().trim(),
                );
            }
            // Nothing else is asked for (rust-rdkafka sets the producer's event mask); a
            // token refresh is for OAUTHBEARER, which no profile uses.
            _ => {}
        }
    }
}

/// librdkafka's syslog level (rust-rdkafka's own mapping is private).
fn log_level(level: i32) -> RDKafkaLogLevel {
    match level {
        i32::MIN..=0 => RDKafkaLogLevel::Emerg,
        1 => RDKafkaLogLevel::Alert,
        2 => RDKafkaLogLevel::Critical,
        3 => RDKafkaLogLevel::Error,
        4 => RDKafkaLogLevel::Warning,
        5 => RDKafkaLogLevel::Notice,
        6 => RDKafkaLogLevel::Info,
        _ => RDKafkaLogLevel::Debug,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::producer::BaseRecord;
    use std::sync::atomic::AtomicU64;

    /// Counts events and reports; panics on its first event if asked to.
    #[derive(Default)]
    struct Counting {
        events: AtomicU64,
        acked: AtomicU64,
        /// The acked reports' opaques and offsets, summed.
        opaques: AtomicU64,
        offsets: AtomicU64,
        panic_once: AtomicBool,
    }

    impl rdkafka::ClientContext for Counting {}

    impl ProducerContext for Counting {
        type DeliveryOpaque = usize;
        fn delivery(&self, result: &DeliveryResult<'_>, _: usize) {
            self.delivered(&[Delivery::of(result)]);
        }
    }

    impl DeliveryBatches for Counting {
        fn delivered(&self, reports: &[Delivery]) {
            if self.panic_once.swap(false, Ordering::Relaxed) {
                panic!("a delivery handler that fails");
            }
            self.events.fetch_add(1, Ordering::Relaxed);
            for report in reports {
                if let DeliveryOutcome::Acked { offset, .. } = report.outcome {
                    self.acked.fetch_add(1, Ordering::Relaxed);
                    self.opaques
                        .fetch_add(report.opaque as u64, Ordering::Relaxed);
                    self.offsets.fetch_add(offset as u64, Ordering::Relaxed);
                }
            }
        }
    }

    fn producer_on_mock(
        mock: &rdkafka::mocking::MockCluster<'_, rdkafka::producer::DefaultProducerContext>,
        context: Counting,
    ) -> BatchedProducer<Counting> {
        let producer: BaseProducer<Counting> =
            crate::kafka::client_config(&mock.bootstrap_servers(), &Default::default())
                .set("linger.ms", "5")
                .create_with_context(context)
                .expect("producer");
        BatchedProducer::start(producer).expect("polling thread")
    }

    fn send(producer: &BatchedProducer<Counting>, n: usize) {
        for seq in 0..n {
            let record: BaseRecord<'_, [u8], [u8], usize> = BaseRecord::with_opaque_to("t", seq)
                .partition(0)
                .payload(&b"x"[..]);
            producer.producer().send(record).expect("queued");
        }
    }

    /// librdkafka's real client against its mock cluster: every report arrives, with its
    /// opaque and offset, and the reports of one produce response come as one event.
    #[test]
    fn every_report_arrives_and_one_responses_reports_come_together() {
        let mock = rdkafka::mocking::MockCluster::new(1).expect("mock cluster");
        mock.create_topic("t", 1, 1).expect("topic");
        let producer = producer_on_mock(&mock, Counting::default());
        send(&producer, 2_000);
        assert!(
            producer.flush(Duration::from_secs(30)),
            "every report within 30 s"
        );
        let context = producer.producer().context();
        let (events, acked) = (
            context.events.load(Ordering::Relaxed),
            context.acked.load(Ordering::Relaxed),
        );
        assert_eq!(acked, 2_000);
        // Each message's own opaque (0..2000) and offset (0..2000 on a fresh partition).
        let sum = (0..2_000u64).sum::<u64>();
        assert_eq!(context.opaques.load(Ordering::Relaxed), sum);
        assert_eq!(context.offsets.load(Ordering::Relaxed), sum);
        // 2,000 messages queued at once with linger 5 ms go in a few batches, not one each.
        assert!(events < 200, "{events} events for 2,000 reports");
        assert!(producer.is_serving());
    }

    /// A handler that panics ends the polling thread: said by `is_serving` (the tracked
    /// producer then reports later outcomes as unknown), not left silent.
    #[test]
    fn a_polling_thread_that_panics_is_no_longer_serving() {
        let mock = rdkafka::mocking::MockCluster::new(1).expect("mock cluster");
        mock.create_topic("t", 1, 1).expect("topic");
        let context = Counting {
            panic_once: AtomicBool::new(true),
            ..Default::default()
        };
        let producer = producer_on_mock(&mock, context);
        assert!(producer.is_serving());
        send(&producer, 10);
        // Waits for the thread's end (an outcome, not a measurement): at most the delivery.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while producer.is_serving() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(
            !producer.is_serving(),
            "the polling thread ended with its panic"
        );
    }
}
