//! How numbers read in every report: times with their unit and error bar.

pub fn duration_ms(ms: f64) -> String {
    if !ms.is_finite() {
        "—".into()
    } else if ms.abs() >= 10_000.0 {
        format!("{:.1} s", ms / 1000.0)
    } else if ms.abs() >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else {
        format!("{ms:.0} ms")
    }
}

pub fn opt_ms(ms: Option<f64>) -> String {
    ms.map(duration_ms).unwrap_or_else(|| "—".into())
}

/// A failover: from the new leader's own log line (± 1 ms) where there is one, with the
/// poll-derived time beside it; else the poll-derived time with its error bar.
pub fn failover(p: &super::PartitionResult, error_bar_ms: f64) -> String {
    let polled = measured(p.failover_ms, p.failover_error_ms.unwrap_or(error_bar_ms));
    match (p.failover_log_ms, p.failover_ms) {
        (Some(logged), Some(_)) => format!("{} ± 1 ms (log; poll {polled})", duration_ms(logged)),
        _ => polled,
    }
}

/// A metadata-derived time with the observer's poll period as its error bar.
pub fn measured(ms: Option<f64>, error_bar_ms: f64) -> String {
    match ms {
        Some(v) => format!("{} ± {}", duration_ms(v), duration_ms(error_bar_ms)),
        None => "—".into(),
    }
}

pub fn count(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "longest silence 9.55 s on orders/0", or nothing without a silence.
pub fn consumer_silence(c: &super::ConsumerResult, lead: &str) -> String {
    c.longest_gap
        .as_ref()
        .map(|g| {
            format!(
                "{lead}longest silence {} on {}/{}",
                duration_ms(g.ms),
                g.topic,
                g.partition
            )
        })
        .unwrap_or_default()
}

/// "unclean.leader.election.enable=true (topic)  min.insync.replicas=1 (default)".
pub fn topic_settings(settings: &[crate::events::TopicSetting]) -> String {
    settings
        .iter()
        .map(|s| format!("{}={} ({})", s.name, s.value, s.source))
        .collect::<Vec<_>>()
        .join("  ")
}

/// The client's recovery of a partition: "450 ms", "did not resume (≥ 13.0 s)", or "—".
pub fn recovery(p: &super::PartitionResult) -> String {
    let ours = match (p.resumed, p.recovery_ms) {
        (Some(false), Some(at_least)) => format!("did not resume (≥ {})", duration_ms(at_least)),
        (Some(false), None) => "did not resume".into(),
        (_, Some(ms)) => duration_ms(ms),
        (_, None) => "—".into(),
    };
    let consumer = p
        .consumer_recovery_ms
        .map(|c| format!(", consumer {}", duration_ms(c)))
        .unwrap_or_default();
    match (p.fresh_client_ms, &p.probe_error) {
        (Some(fresh), _) => format!("{ours} (fresh client {}{consumer})", duration_ms(fresh)),
        (None, Some(_)) => format!("{ours} (fresh client failed{consumer})"),
        (None, None) if !consumer.is_empty() => format!("{ours} ({})", &consumer[2..]),
        (None, None) => ours,
    }
}

/// "unknown outcomes 4,162: 1,900 written (only the ack was lost) · 2,262 not written", then a
/// line per cause and phase.
pub fn unknown_outcomes(u: &crate::events::UnknownOutcomes) -> String {
    let mut out = format!(
        "unknown outcomes {}: {} written (only the ack was lost) · {} not written\n",
        count(u.total),
        count(u.written),
        count(u.not_written)
    );
    let mut classes = u.classes.clone();
    classes.sort_by(|a, b| (a.cause, &a.phase).cmp(&(b.cause, &b.phase)));
    for c in &classes {
        out.push_str(&format!(
            "  {} during {}: {} written · {} not written\n",
            c.cause.describe(),
            c.phase,
            count(c.written),
            count(c.not_written)
        ));
    }
    if u.failed_but_written > 0 {
        out.push_str(&format!(
            "  reported failed by the client, yet in the log: {}\n",
            count(u.failed_but_written)
        ));
    }
    out
}

/// A wait-for that timed out or an assert that did not hold, with what it made of the run.
pub fn unmet_condition(c: &super::ConditionResult) -> String {
    use crate::events::ConditionCheck;
    use crate::model::Status;
    // The consequence is the condition's own verdict (one rule), said in words.
    let consequence = match (c.verdict(), c.check) {
        (Some(Status::Failed), ConditionCheck::Assert) => "the run failed",
        (Some(Status::Failed), ConditionCheck::WaitFor) => "the run failed (on-timeout: fail)",
        (Some(_), _) => "the run is inconclusive",
        (None, _) => "accepted (on-timeout: continue)",
    };
    match c.check {
        ConditionCheck::WaitFor => format!(
            "TIMED OUT: {} waited for `{}` until {}: {consequence}",
            c.step,
            c.condition,
            duration_ms(c.at_ms)
        ),
        ConditionCheck::Assert => format!(
            "ASSERT FAILED: {} `{}` did not hold at {}: {consequence}",
            c.step,
            c.condition,
            duration_ms(c.at_ms)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_follow_magnitude() {
        assert_eq!(duration_ms(850.2), "850 ms");
        assert_eq!(duration_ms(6292.3), "6.29 s");
        assert_eq!(duration_ms(18_260.0), "18.3 s");
        assert_eq!(measured(Some(6292.3), 100.0), "6.29 s ± 100 ms");
        assert_eq!(count(1_234_567), "1,234,567");
    }
}
