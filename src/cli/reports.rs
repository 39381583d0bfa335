//! The commands that read saved runs — `chaos report`, `compare`, `trend` — and print them.

use crate::error::Error;
use crate::exit::ExitCode;
use std::path::{Path, PathBuf};

/// `chaos trend`: the latest run of each experiment against the previous ones. With `json`,
/// one JSON document on stdout instead of the text.
pub fn trend(history: &Path, previous: usize, ratio: f64, json: bool) -> Result<ExitCode, Error> {
    let text = std::fs::read_to_string(history)
        .map_err(|e| Error::Invalid(format!("{}: {e}", history.display())))?;
    let (entries, unreadable) = crate::report::trend::parse_history(&text);
    let regressions = crate::report::trend::regressions(&entries, previous, ratio, 500.0);
    let code = if regressions.is_empty() {
        ExitCode::Passed
    } else {
        ExitCode::ExpectationsFailed
    };
    if json {
        let value = serde_json::json!({
            "history": history,
            "runs": entries.len(),
            "unreadable_lines": unreadable,
            "previous": previous,
            "ratio": ratio,
            "regression": !regressions.is_empty(),
            "regressions": regressions,
        });
        super::out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        ));
        return Ok(code);
    }
    outln!("{} runs in {}", entries.len(), history.display());
    if regressions.is_empty() {
        outln!("no regression against the previous {previous} runs");
        return Ok(code);
    }
    let color = super::style::stdout_colored();
    for r in &regressions {
        outln!(
            "{} {r}",
            super::style::paint("REGRESSION", super::style::Verdict::Fail, color)
        );
    }
    Ok(code)
}

/// `chaos report <dir>`: re-renders result.json, summary.md and the table from events.jsonl.
/// `width`: the terminal's, for the table (`None`: as wide as its content).
pub fn rerender(dir: &Path, width: Option<usize>) -> Result<ExitCode, Error> {
    let file = std::fs::File::open(dir.join("events.jsonl"))
        .map_err(|e| Error::Invalid(format!("{}: {e}", dir.join("events.jsonl").display())))?;
    let events = crate::events::read_events(std::io::BufReader::new(file))
        .map_err(|e| Error::Invalid(format!("{}: {e}", dir.display())))?;
    let (result, unwritten) = crate::run::analyze_and_write(dir, &events);
    outln!(
        "{}",
        super::style::verdicts(
            &crate::report::render_table_within(&result, width),
            super::style::stdout_colored()
        )
    );
    if !unwritten.is_empty() {
        return Err(crate::run::unwritten_error(dir, &unwritten));
    }
    Ok(crate::run::exit_code_of(&result, false))
}

// Long: run directories found, read, compared, then printed as a table or JSON
/// `chaos compare`: results re-derived from each run's events, side by side.
pub fn compare(
    dirs: &[PathBuf],
    json: bool,
    across_experiments: bool,
    width: Option<usize>,
) -> Result<ExitCode, Error> {
    let mut runs: Vec<PathBuf> = Vec::new();
    for d in dirs {
        if d.join("events.jsonl").exists() {
            runs.push(d.clone());
        } else if d.is_dir() {
            let mut inner: Vec<PathBuf> = std::fs::read_dir(d)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.join("events.jsonl").exists())
                .collect();
            inner.sort();
            runs.extend(inner);
        } else if d.is_file() {
            // A shell glob over a reports directory also matches its pages (e.g. *-matrix.html).
            eprintln!("{}: a file, not a run directory; skipped", d.display());
        } else {
            return Err(Error::Invalid(format!(
                "{}: not a run directory (no events.jsonl)",
                d.display()
            )));
        }
    }
    if runs.is_empty() {
        return Err(Error::Invalid(
            "no run directories given (each holds an events.jsonl)".into(),
        ));
    }
    let mut results = Vec::new();
    for dir in &runs {
        let file = std::fs::File::open(dir.join("events.jsonl"))?;
        let events = crate::events::read_events(std::io::BufReader::new(file))
            .map_err(|e| Error::Invalid(format!("{}: {e}", dir.display())))?;
        results.push(crate::run::result_of(&events));
    }
    let differences = if across_experiments {
        crate::report::differences_beyond_noise_across(&results)
    } else {
        crate::report::differences_beyond_noise(&results)
    };
    if json {
        let value = serde_json::json!({
            "runs": runs.iter().zip(&results).map(|(dir, result)| serde_json::json!({
                "dir": dir,
                "result": result,
            })).collect::<Vec<_>>(),
            "differences_beyond_noise": differences,
        });
        super::out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        ));
        return Ok(ExitCode::Passed);
    }
    // One table per experiment (like with like), unless asked to put them side by side.
    let mut experiments: Vec<&str> = Vec::new();
    for r in &results {
        if !experiments.contains(&r.experiment.as_str()) {
            experiments.push(&r.experiment);
        }
    }
    if across_experiments || experiments.len() == 1 {
        outln!(
            "{}",
            crate::report::render_comparison_within(&results, width)
        );
    } else {
        for experiment in experiments {
            let runs: Vec<_> = results
                .iter()
                .filter(|r| r.experiment == experiment)
                .cloned()
                .collect();
            outln!("== {experiment} ({} run(s))", runs.len());
            outln!("{}", crate::report::render_comparison_within(&runs, width));
        }
    }
    if differences.is_empty() {
        outln!("no difference beyond noise");
    }
    for d in differences {
        outln!("beyond noise: {d}");
    }
    Ok(ExitCode::Passed)
}
