//! The tracked producer's summary: counts, throughput, latency percentiles per phase.

use super::ms;
use crate::events::{Event, EventKind};
use crate::model::{
    ConsumerGap, ConsumerResult, GroupResult, Interval, Latency, LostBrokers, PercentileMs,
    WorkloadResult,
};
use base64::Engine;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::Histogram;

/// The percentile spectrum of a histogram: HdrHistogram's iteration by percentile with 2
/// ticks per half distance to 100 % (0, 25, 50, 62.5, 75, … 99.9…, 100), one point per
/// distinct percentile.
pub fn spectrum(h: &Histogram<u64>) -> Vec<PercentileMs> {
    let mut out: Vec<PercentileMs> = Vec::new();
    for v in h.iter_quantiles(2) {
        let point = PercentileMs {
            percentile: v.quantile_iterated_to() * 100.0,
            ms: ms(v.value_iterated_to()),
        };
        match out.last_mut() {
            Some(last) if (last.percentile - point.percentile).abs() < 1e-9 => *last = point,
            _ => out.push(point),
        }
    }
    out
}

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
    let (all, by_phase) = merge_histograms(&done.latency_histograms, errors);
    Some(WorkloadResult {
        acks: done.acks,
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
        latency_spectrum_ms: all.as_ref().map(spectrum).unwrap_or_default(),
        latency_by_phase_ms: by_phase,
        max_unavailability_ms: None,
        resumed: true,
        not_resumed: vec![],
        keys: done.keys.clone(),
        lost_brokers: events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::ClientLostBrokers { rebootstrapped, .. } => Some(LostBrokers {
                    at_ms: ms(e.at_us),
                    rebootstrapped: *rebootstrapped,
                }),
                _ => None,
            })
            .collect(),
    })
}

/// Decodes per-phase histograms (HdrHistogram V2, base64): the latency of each phase and of
/// all phases together.
fn merge_histograms(
    encoded: &[(String, String)],
    errors: &mut Vec<String>,
) -> (Option<Histogram<u64>>, Vec<(String, Latency)>) {
    let mut all: Option<Histogram<u64>> = None;
    let mut by_phase = Vec::new();
    for (phase, encoded) in encoded {
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
                        // Each phase's histogram carries its own bounds: one whose values do
                        // not fit the first phase's range leaves the total short, said so.
                        if let Err(e) = a.add(&h) {
                            errors.push(format!(
                                "latency histogram of {phase}: not in the total over all phases: {e}"
                            ));
                        }
                    }
                    None => all = Some(h),
                }
            }
            Err(e) => errors.push(format!("latency histogram of {phase}: {e}")),
        }
    }
    (all, by_phase)
}

/// The concurrent consumer's view: end-to-end latency and the longest silence of a partition.
pub fn summarize_consumer(events: &[&Event], errors: &mut Vec<String>) -> Option<ConsumerResult> {
    let done = events.iter().rev().find_map(|e| match &e.kind {
        EventKind::ConsumerDone(c) => Some(c),
        _ => None,
    })?;
    let (all, by_phase) = merge_histograms(&done.latency_histograms, errors);
    let longest_gap = done
        .gaps
        .iter()
        .max_by_key(|g| g.to_us.saturating_sub(g.from_us))
        .map(|g| ConsumerGap {
            topic: g.topic.clone(),
            partition: g.partition,
            ms: ms(g.to_us.saturating_sub(g.from_us)),
            from_ms: ms(g.from_us),
            to_ms: ms(g.to_us),
        });
    Some(ConsumerResult {
        received: done.received,
        e2e_latency_ms: all.as_ref().map(latency).unwrap_or_default(),
        e2e_by_phase_ms: by_phase,
        longest_gap,
        duplicates: done.duplicates,
        rewinds: done.rewinds,
    })
}

// Long: the group summary's numbers, each a short computation over the events
/// The consumer group's section: the members' summary plus the rebalances and resume times
/// the analysis reads off the callbacks and faults. `None` when the run had no group.
pub fn summarize_group(events: &[&Event]) -> Option<GroupResult> {
    let done = events.iter().rev().find_map(|e| match &e.kind {
        EventKind::GroupDone(g) => Some(g),
        _ => None,
    });
    let any_callback = events
        .iter()
        .any(|e| matches!(e.kind, EventKind::GroupRebalance { .. }));
    if done.is_none() && !any_callback {
        return None;
    }
    let partitions = done.map(|d| d.partitions).unwrap_or_else(|| {
        events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::GroupRebalance { partitions, .. } => partitions.iter().max().copied(),
                _ => None,
            })
            .max()
            .map_or(0, |p| p + 1)
    });
    let super::group::GroupTimes {
        episodes,
        resumed,
        hit_while_not_whole,
    } = super::group::rebalances(events, partitions);
    let rebalances: Vec<Interval> = episodes
        .iter()
        .map(|e| Interval {
            from_ms: ms(e.from_us),
            to_ms: e.to_us.map(ms),
        })
        .collect();
    let durations: Vec<f64> = episodes
        .iter()
        .filter_map(|e| e.to_us.map(|t| ms(t - e.from_us)))
        .collect();
    let lag_max = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::GroupTick { lag, .. } => *lag,
            _ => None,
        })
        .max();
    let d = done.cloned().unwrap_or_default();
    let longest_gap = d
        .gaps
        .iter()
        .max_by_key(|g| g.to_us.saturating_sub(g.from_us))
        .map(|g| ConsumerGap {
            topic: d.topic.clone(),
            partition: g.partition,
            ms: ms(g.to_us.saturating_sub(g.from_us)),
            from_ms: ms(g.from_us),
            to_ms: ms(g.to_us),
        });
    Some(GroupResult {
        group_id: d.group_id,
        members: d.members,
        commit: d.commit,
        protocol: d.protocol,
        commit_interval_ms: ms(d.commit_interval_us),
        session_timeout_ms: match d.protocol {
            crate::events::GroupProtocol::Classic => d.session_timeout_ms,
            // The consumer protocol's session is the broker's, recorded at the run's start.
            crate::events::GroupProtocol::Consumer => events
                .iter()
                .find_map(|e| match &e.kind {
                    EventKind::RunStarted { settings, .. } => settings
                        .iter()
                        .find(|(k, _)| k == "group.consumer.session.timeout.ms")
                        .and_then(|(_, v)| v.parse().ok()),
                    _ => None,
                })
                .unwrap_or(0),
        },
        max_poll_interval_ms: d.max_poll_interval_ms,
        processed: d.processed,
        distinct: d.distinct,
        duplicates: d.duplicates,
        duplicate_causes: d.duplicate_causes,
        duplicate_sample: d.duplicate_sample,
        skipped: d.skipped,
        unprocessed_tail: d.unprocessed_tail,
        commits: d.commits,
        commit_failures: d.commit_failures,
        rebalances,
        rebalance_ms: super::stats::stats(&durations),
        faults_hit_while_not_whole: hit_while_not_whole,
        resumed_after_fault: resumed
            .into_iter()
            .map(|(id, us)| (id, us.map(ms)))
            .collect(),
        longest_gap,
        lag_max,
        error_bar_ms: GROUP_POLL_MS,
    })
}

/// The members' poll timeout: callbacks run inside a poll, so their times are late by up to this.
pub const GROUP_POLL_MS: f64 = 100.0;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{ConsumerSilence, ConsumerSummary};
    use hdrhistogram::serialization::{Serializer, V2Serializer};

    fn encoded(values_us: &[u64]) -> String {
        encoded_within(3_600_000_000, values_us)
    }

    fn encoded_within(highest_us: u64, values_us: &[u64]) -> String {
        let mut h = Histogram::<u64>::new_with_bounds(1, highest_us, 3).unwrap();
        for v in values_us {
            h.record(*v).unwrap();
        }
        let mut bytes = Vec::new();
        V2Serializer::new().serialize(&h, &mut bytes).unwrap();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn a_phase_that_does_not_fit_the_total_is_an_error_not_dropped_silently() {
        let mut errors = Vec::new();
        let (all, by_phase) = merge_histograms(
            &[
                ("before-fault".into(), encoded_within(10_000, &[2_000])),
                ("during-fault".into(), encoded(&[9_000_000])),
            ],
            &mut errors,
        );
        assert_eq!(by_phase.len(), 2, "each phase still has its own latency");
        assert_eq!(all.unwrap().len(), 1, "the total has what fitted");
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(
            errors[0].starts_with("latency histogram of during-fault: "),
            "{errors:?}"
        );
    }

    #[test]
    fn the_consumer_summary_gives_end_to_end_latency_and_the_longest_silence() {
        let done = Event {
            at_us: 10,
            wall_ms: 0,
            kind: EventKind::ConsumerDone(ConsumerSummary {
                received: 4,
                latency_histograms: vec![
                    ("before-fault".into(), encoded(&[2_000, 3_000])),
                    ("during-fault".into(), encoded(&[9_000_000, 10_000])),
                ],
                gaps: vec![
                    ConsumerSilence {
                        topic: "orders".into(),
                        partition: 0,
                        from_us: 1_000_000,
                        to_us: 8_000_000,
                    },
                    ConsumerSilence {
                        topic: "orders".into(),
                        partition: 1,
                        from_us: 1_000_000,
                        to_us: 1_200_000,
                    },
                ],
                duplicates: 0,
                rewinds: 0,
            }),
        };
        let mut errors = vec![];
        let c = summarize_consumer(&[&done], &mut errors).unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(c.received, 4);
        assert_eq!(c.e2e_by_phase_ms.len(), 2);
        assert!((8_990.0..9_010.0).contains(&c.e2e_latency_ms.max), "{c:?}");
        let gap = c.longest_gap.unwrap();
        assert_eq!((gap.partition, gap.ms, gap.from_ms), (0, 7_000.0, 1_000.0));
    }

    #[test]
    fn no_consumer_no_section() {
        assert!(summarize_consumer(&[], &mut vec![]).is_none());
    }
}
