//! Whether two measured values differ beyond their noise: the error bar of each number
//! (the observer's poll period) and, with repeats, the spread of the repeats.

use super::RunResult;

/// Describes differences between the first result and each other one that exceed the noise.
pub fn differences_beyond_noise(results: &[RunResult]) -> Vec<String> {
    let Some(base) = results.first() else {
        return vec![];
    };
    let label = |r: &RunResult| match &r.variant {
        Some(v) => format!("{} [{v}]", r.experiment),
        None => r.experiment.clone(),
    };
    let mut out = Vec::new();
    for other in &results[1..] {
        let bar = base.error_bar_ms.max(other.error_bar_ms);
        let pairs = [
            (
                "failover p50",
                base.failover.metadata_ms.p50,
                other.failover.metadata_ms.p50,
            ),
            (
                "controller failover",
                base.controller_failover_ms,
                other.controller_failover_ms,
            ),
            (
                "offline total",
                Some(base.offline.total_ms),
                Some(other.offline.total_ms),
            ),
        ];
        for (what, a, b) in pairs {
            if let (Some(a), Some(b)) = (a, b) {
                // Each time is ± one poll period: a difference above two is real.
                if (a - b).abs() > 2.0 * bar {
                    out.push(format!(
                        "{what}: {} {:.0} ms vs {} {:.0} ms (beyond ±{:.0} ms)",
                        label(base),
                        a,
                        label(other),
                        b,
                        bar
                    ));
                }
            }
        }
        let lost = |r: &RunResult| r.verification.as_ref().map(|v| v.lost_acked);
        if let (Some(a), Some(b)) = (lost(base), lost(other)) {
            if (a == 0) != (b == 0) {
                out.push(format!(
                    "acked loss: {} lost {a}, {} lost {b}",
                    label(base),
                    label(other)
                ));
            }
        }
    }
    out
}
