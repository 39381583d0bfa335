//! Trends across nightly runs: each run appends one line to `history.jsonl`; `chaos trend`
//! compares the latest entry of every experiment × variant with the previous ones.

use crate::model::{RunResult, Status};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub unix_s: u64,
    pub experiment: String,
    pub variant: Option<String>,
    pub status: Status,
    pub failover_p50_ms: Option<f64>,
    pub failover_max_ms: Option<f64>,
    pub controller_failover_ms: Option<f64>,
    pub offline_total_ms: f64,
    pub lost_acked: Option<u64>,
    pub latency_p99_ms: Option<f64>,
    /// Wall time the run took in its suite, cluster start included (s): what a suite's "time
    /// left" is estimated from. Absent in lines written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub took_s: Option<f64>,
}

impl HistoryEntry {
    pub fn of(r: &RunResult, unix_s: u64) -> Self {
        Self {
            unix_s,
            experiment: r.experiment.clone(),
            variant: r.variant.clone(),
            status: r.status,
            failover_p50_ms: r.failover.metadata_ms.p50,
            failover_max_ms: r.failover.metadata_ms.max,
            controller_failover_ms: r.controller_failover_ms,
            offline_total_ms: r.offline.total_ms,
            lost_acked: r.verification.as_ref().map(|v| v.lost_acked),
            latency_p99_ms: r.workload.as_ref().map(|w| w.latency_ms.p99),
            took_s: None,
        }
    }

    /// The same entry, with the wall time the run took.
    pub fn took(mut self, seconds: f64) -> Self {
        self.took_s = Some(seconds);
        self
    }
}

/// Every readable line of a history.jsonl text, and how many were not.
pub fn parse_history(text: &str) -> (Vec<HistoryEntry>, usize) {
    let mut unreadable = 0usize;
    let entries = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| {
            let entry = serde_json::from_str(l).ok();
            unreadable += usize::from(entry.is_none());
            entry
        })
        .collect();
    (entries, unreadable)
}

/// The time a suite's runs still to come will take, from the history: each run's median of
/// its own past wall times (experiment and variant), else of its experiment's; `unknown`
/// counts the runs never timed. `None` when no run to come has a past.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeLeft {
    pub seconds: f64,
    pub unknown: usize,
}

pub fn time_left(
    history: &[HistoryEntry],
    to_come: &[(String, Option<String>)],
) -> Option<TimeLeft> {
    let took = |keep: &dyn Fn(&HistoryEntry) -> bool| {
        median(
            history
                .iter()
                .filter(|h| keep(h))
                .filter_map(|h| h.took_s)
                .collect(),
        )
    };
    let mut left = TimeLeft {
        seconds: 0.0,
        unknown: 0,
    };
    for (experiment, variant) in to_come {
        let own = took(&|h| h.experiment == *experiment && h.variant == *variant);
        match own.or_else(|| took(&|h| h.experiment == *experiment)) {
            Some(s) => left.seconds += s,
            None => left.unknown += 1,
        }
    }
    (left.unknown < to_come.len()).then_some(left)
}

impl std::fmt::Display for TimeLeft {
    /// `~6 min left`, `~40 s left`, `~6 min left (+2 runs never timed)`.
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        if self.seconds >= 90.0 {
            write!(f, "~{:.0} min left", self.seconds / 60.0)?;
        } else {
            write!(f, "~{:.0} s left", self.seconds)?;
        }
        match self.unknown {
            0 => Ok(()),
            1 => write!(f, " (+1 run never timed)"),
            n => write!(f, " (+{n} runs never timed)"),
        }
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(|a, b| a.total_cmp(b));
    crate::analysis::stats::median_of_sorted(&v)
}

/// Regressions of the latest entry of each experiment × variant against the median of up to
/// `previous` earlier entries: a time up by more than `ratio` (and by more than `floor_ms`, the
/// measurement's own noise), new acked loss, or a status that stopped passing.
pub fn regressions(
    history: &[HistoryEntry],
    previous: usize,
    ratio: f64,
    floor_ms: f64,
) -> Vec<String> {
    let mut keys: Vec<(String, Option<String>)> = history
        .iter()
        .map(|h| (h.experiment.clone(), h.variant.clone()))
        .collect();
    keys.sort();
    keys.dedup();
    let mut out = Vec::new();
    for (experiment, variant) in keys {
        let runs: Vec<&HistoryEntry> = history
            .iter()
            .filter(|h| h.experiment == experiment && h.variant == variant)
            .collect();
        let Some((latest, before)) = runs.split_last() else {
            continue;
        };
        let before: Vec<&&HistoryEntry> = before.iter().rev().take(previous).collect();
        if before.is_empty() {
            continue;
        }
        let name = match &variant {
            Some(v) => format!("{experiment} [{v}]"),
            None => experiment.clone(),
        };
        type Time = fn(&HistoryEntry) -> Option<f64>;
        let times: [(&str, Time); 4] = [
            ("failover p50", |h| h.failover_p50_ms),
            ("controller failover", |h| h.controller_failover_ms),
            ("offline total", |h| Some(h.offline_total_ms)),
            ("latency p99", |h| h.latency_p99_ms),
        ];
        for (what, get) in times {
            if let (Some(now), Some(then)) = (
                get(latest),
                median(before.iter().filter_map(|h| get(h)).collect()),
            ) {
                if now > then * ratio && now - then > floor_ms {
                    out.push(format!(
                        "{name}: {what} {now:.0} ms, was {then:.0} ms (median of {})",
                        before.len()
                    ));
                }
            }
        }
        if latest.lost_acked.unwrap_or(0) > 0
            && before.iter().all(|h| h.lost_acked.unwrap_or(0) == 0)
        {
            out.push(format!(
                "{name}: {} acked messages lost, none before",
                latest.lost_acked.unwrap_or(0)
            ));
        }
        if latest.status != Status::Passed && before.iter().all(|h| h.status == Status::Passed) {
            out.push(format!(
                "{name}: {} (passed before)",
                latest.status.as_str()
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(failover: f64, lost: u64, status: Status) -> HistoryEntry {
        HistoryEntry {
            unix_s: 0,
            experiment: "leader-kill".into(),
            variant: None,
            status,
            failover_p50_ms: Some(failover),
            failover_max_ms: Some(failover),
            controller_failover_ms: None,
            offline_total_ms: 0.0,
            lost_acked: Some(lost),
            latency_p99_ms: None,
            took_s: None,
        }
    }

    #[test]
    fn time_left_sums_each_runs_median_and_says_what_was_never_timed() {
        let timed = |experiment: &str, variant: Option<&str>, took: f64| {
            let mut e = entry(1.0, 0, Status::Passed).took(took);
            e.experiment = experiment.into();
            e.variant = variant.map(str::to_string);
            e
        };
        let history = vec![
            timed("leader-kill", None, 40.0),
            timed("leader-kill", None, 60.0),
            timed("leader-kill", None, 50.0),
            timed("unclean", Some("u=true"), 100.0),
            entry(1.0, 0, Status::Passed), // written before took_s was recorded
        ];
        let run = |e: &str, v: Option<&str>| (e.to_string(), v.map(str::to_string));
        let left = time_left(
            &history,
            &[
                run("leader-kill", None),
                // Never run with this variant: its experiment's median.
                run("unclean", Some("u=false")),
                run("never-run", None),
            ],
        )
        .unwrap();
        assert_eq!(
            left,
            TimeLeft {
                seconds: 150.0,
                unknown: 1
            }
        );
        assert_eq!(left.to_string(), "~2 min left (+1 run never timed)");
        assert_eq!(time_left(&history, &[run("never-run", None)]), None);
        assert_eq!(
            TimeLeft {
                seconds: 40.0,
                unknown: 0
            }
            .to_string(),
            "~40 s left"
        );
    }

    #[test]
    fn slower_failover_new_loss_and_a_new_failure_are_flagged() {
        let h = vec![
            entry(6000.0, 0, Status::Passed),
            entry(6100.0, 0, Status::Passed),
            entry(18000.0, 3, Status::Failed),
        ];
        let r = regressions(&h, 5, 1.5, 200.0);
        assert_eq!(r.len(), 3, "{r:?}");
        assert!(r[0].contains("failover p50 18000 ms, was 6000 ms"));
    }

    #[test]
    fn history_lines_keep_the_status_strings() {
        let line = serde_json::to_string(&entry(6000.0, 0, Status::Inconclusive)).unwrap();
        assert!(line.contains(r#""status":"inconclusive""#), "{line}");
        let back: HistoryEntry = serde_json::from_str(&line).unwrap();
        assert_eq!(back.status, Status::Inconclusive);
    }

    #[test]
    fn noise_is_not_a_regression() {
        let h = vec![
            entry(6000.0, 0, Status::Passed),
            entry(6150.0, 0, Status::Passed),
        ];
        assert!(regressions(&h, 5, 1.5, 200.0).is_empty());
        assert!(
            regressions(&h[..1], 5, 1.5, 200.0).is_empty(),
            "one run has nothing to compare"
        );
    }
}
