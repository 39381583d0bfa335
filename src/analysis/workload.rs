//! The tracked producer's summary: counts, throughput, latency percentiles per phase.

use super::ms;
use crate::events::{Event, EventKind};
use crate::report::{Latency, WorkloadResult};
use base64::Engine;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::Histogram;

fn latency(h: &Histogram<u64>) -> Latency {
    Latency {
        p50: ms(h.value_at_quantile(0.5)),
        p99: ms(h.value_at_quantile(0.99)),
        p999: ms(h.value_at_quantile(0.999)),
        max: ms(h.max()),
    }
}

pub fn summarize(events: &[&Event], errors: &mut Vec<String>) -> Option<WorkloadResult> {
    let done = events.iter().rev().find_map(|e| match &e.kind {
        EventKind::WorkloadDone(w) => Some(w),
        _ => None,
    })?;
    let mut all: Option<Histogram<u64>> = None;
    let mut by_phase = Vec::new();
    for (phase, encoded) in &done.latency_histograms {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|e| e.to_string())
            .and_then(|bytes| {
                Deserializer::new()
                    .deserialize::<u64, _>(&mut &bytes[..])
                    .map_err(|e| format!("{e:?}"))
            });
        match decoded {
            Ok(h) => {
                by_phase.push((phase.clone(), latency(&h)));
                match &mut all {
                    Some(a) => {
                        let _ = a.add(&h);
                    }
                    None => all = Some(h),
                }
            }
            Err(e) => errors.push(format!("latency histogram of {phase}: {e}")),
        }
    }
    Some(WorkloadResult {
        acks: done.acks.clone(),
        sent: done.sent,
        acked: done.acked,
        failed: done.failed,
        unknown: done.unknown,
        throughput_per_s: if done.duration_us > 0 {
            done.acked as f64 / (done.duration_us as f64 / 1e6)
        } else {
            0.0
        },
        latency_ms: all.as_ref().map(latency).unwrap_or_default(),
        latency_by_phase_ms: by_phase,
        max_unavailability_ms: None,
        keys: done.keys.clone(),
    })
}
