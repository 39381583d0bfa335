//! `chaos run`: experiments (files or directories) → variants (matrix × repeat) → a cluster
//! (reused when its configuration is unchanged) → one event stream per run → analysis →
//! reports. Interrupts heal first, then write a partial report.

mod conditions;
mod docker_events;
mod execute;
mod faults;
pub mod observer;
mod outcome;
mod reports;

pub use outcome::worst_exit_code;

use crate::cli::Progress;
use crate::docker::{self, cluster};
use crate::error::{exit, Error};
use crate::events::EventKind;
use crate::experiment::{self, Experiment, FaultKind};
use crate::report::RunResult;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Experiment files, or directories of *.yaml / *.yml (a suite).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Where run directories are written.
    #[arg(long, default_value = "reports")]
    pub reports: PathBuf,
    /// Leave the cluster running (healed) after the run.
    #[arg(long)]
    pub keep: bool,
    /// Start a fresh cluster even when a matching one is running.
    #[arg(long)]
    pub fresh: bool,
    /// Write a JUnit XML file (one test case per experiment × variant).
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Write a markdown summary (e.g. $GITHUB_STEP_SUMMARY).
    #[arg(long)]
    pub summary_md: Option<PathBuf>,
}

/// Expands directories into their experiment files (sorted).
fn experiment_files(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(input)
                .map_err(|e| Error::Invalid(format!("{}: {e}", input.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(input.clone());
        }
    }
    Ok(files)
}

pub async fn run_cli(args: RunArgs) -> Result<i32, Error> {
    // Everything is validated before any cluster starts.
    let mut plans = Vec::new();
    for file in experiment_files(&args.files)? {
        let exp = experiment::load(&file)?;
        let compose_file = experiment::compose_path(&exp, &file);
        let project = crate::compose::load(&compose_file)?;
        experiment::validate_against_compose(&exp, &file, &project)?;
        plans.push((file, exp, project));
    }
    let progress = Progress::new();
    let say = |m: &str| progress.say(m);
    let docker = docker::connect().await?;
    // What an earlier killed run left behind (its owner process is gone) is healed first.
    for done in docker::sweep::sweep_orphans(&docker).await? {
        progress.line(&format!("orphan sweep: {done}"));
    }
    let (interrupt_tx, interrupt) = watch::channel(false);
    let current_cluster: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    spawn_signal_handler(interrupt_tx, current_cluster.clone(), docker.clone());

    let mut results: Vec<RunResult> = Vec::new();
    let mut codes = Vec::new();
    let mut clusters_used: Vec<String> = Vec::new();
    'files: for (file, exp, project) in &plans {
        for variant in experiment::matrix::expand(exp) {
            for repeat in 1..=exp.repeat.max(1) {
                if *interrupt.borrow() {
                    break 'files;
                }
                let label = variant_label(exp, &variant.name, repeat);
                progress.line(&format!("== {label}"));
                let outcome = run_variant(
                    &docker,
                    file,
                    &variant.experiment,
                    project,
                    &variant.name,
                    repeat,
                    &args,
                    &say,
                    interrupt.clone(),
                    &current_cluster,
                )
                .await;
                // Whatever happened, the cluster this variant started is ours to remove.
                if let Some(name) = current_cluster.lock().ok().and_then(|c| c.clone()) {
                    if !clusters_used.contains(&name) {
                        clusters_used.push(name);
                    }
                }
                match outcome {
                    Ok((result, dir, _)) => {
                        progress.line(&crate::report::render_table(&result));
                        progress.line(&format!("reports: {}", dir.display()));
                        codes.push(outcome::exit_code_of(&result, *interrupt.borrow()));
                        append_history(&args.reports, &result);
                        results.push(result);
                    }
                    Err(e) => {
                        progress.line(&format!("error: {e}"));
                        codes.push(e.exit_code());
                        if matches!(e, Error::Interrupted) {
                            break 'files;
                        }
                    }
                }
            }
        }
    }
    // Variants and repeats of one experiment side by side (different experiments are not
    // comparable).
    let mut names: Vec<&str> = results.iter().map(|r| r.experiment.as_str()).collect();
    names.dedup();
    for name in names {
        let group: Vec<RunResult> = results
            .iter()
            .filter(|r| r.experiment == name)
            .cloned()
            .collect();
        if group.len() > 1 {
            let page = args.reports.join(format!("{name}-matrix.html"));
            if let Err(e) = crate::report::write_atomically(
                &page,
                crate::report::render_matrix_html(&group).as_bytes(),
            ) {
                eprintln!("{}: {e}", page.display());
            }
            progress.line(&crate::report::render_comparison(&group));
            for d in crate::report::differences_beyond_noise(&group) {
                progress.line(&format!("beyond noise: {d}"));
            }
        }
    }
    if let Some(path) = &args.junit {
        let bytes = crate::report::render_junit(&results).map_err(Error::Io)?;
        crate::report::write_atomically(path, &bytes)?;
    }
    if let Some(path) = &args.summary_md {
        let mut md = String::new();
        for r in &results {
            md.push_str(&crate::report::render_markdown(r));
            md.push('\n');
        }

        append_or_write(path, md.as_bytes())?;
    }
    if !args.keep {
        for name in &clusters_used {
            say(&format!(
                "removing cluster {name} (use --keep to leave it running)"
            ));
            cluster::down(&docker, Some(name)).await?;
        }
    }
    progress.finish();
    Ok(worst_exit_code(&codes))
}

/// One line per run in `<reports>/history.jsonl`, for `chaos trend`.
fn append_history(reports: &Path, result: &RunResult) {
    use std::io::Write;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let entry = crate::report::trend::HistoryEntry::of(result, now);
    if let Ok(mut line) = serde_json::to_vec(&entry) {
        line.push(b'\n');
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(reports.join("history.jsonl"));
        if let Err(e) = file.and_then(|mut f| f.write_all(&line)) {
            eprintln!("history.jsonl not updated: {e}");
        }
    }
}

/// `chaos trend`: the latest run of each experiment against the previous ones.
pub fn trend(history: &Path, previous: usize, ratio: f64) -> Result<i32, Error> {
    let text = std::fs::read_to_string(history)
        .map_err(|e| Error::Invalid(format!("{}: {e}", history.display())))?;
    let entries: Vec<crate::report::trend::HistoryEntry> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let regressions = crate::report::trend::regressions(&entries, previous, ratio, 500.0);
    println!("{} runs in {}", entries.len(), history.display());
    if regressions.is_empty() {
        println!("no regression against the previous {previous} runs");
        return Ok(exit::PASSED);
    }
    for r in &regressions {
        println!("REGRESSION {r}");
    }
    Ok(exit::EXPECTATIONS_FAILED)
}

/// $GITHUB_STEP_SUMMARY is appended to; other files are replaced.
fn append_or_write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    if std::env::var_os("GITHUB_STEP_SUMMARY").is_some_and(|s| Path::new(&s) == path) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        f.write_all(bytes)?;
        Ok(())
    } else {
        crate::report::write_atomically(path, bytes).map_err(Into::into)
    }
}

fn variant_label(exp: &Experiment, variant: &str, repeat: u32) -> String {
    let mut label = exp.name.clone();
    if !variant.is_empty() {
        label.push_str(&format!(" [{variant}]"));
    }
    if exp.repeat > 1 {
        label.push_str(&format!(" (repeat {repeat}/{})", exp.repeat));
    }
    label
}

#[allow(clippy::too_many_arguments)]
async fn run_variant(
    docker: &bollard::Docker,
    file: &Path,
    exp: &Experiment,
    project: &crate::compose::ComposeProject,
    variant: &str,
    repeat: u32,
    args: &RunArgs,
    say: &(dyn Fn(&str) + Sync),
    interrupt: watch::Receiver<bool>,
    current_cluster: &Mutex<Option<String>>,
) -> Result<(RunResult, PathBuf, String), Error> {
    // A matrix axis may change the compose file.
    let project = if experiment::compose_path(exp, file) != project.file {
        crate::compose::load(&experiment::compose_path(exp, file))?
    } else {
        project.clone()
    };
    let plan = cluster::Plan::new(
        &project,
        &exp.cluster.broker_environment,
        &exp.cluster.environment,
    )
    .map_err(|e| Error::Invalid(format!("{}: {e}", project.file.display())))?;
    let images: Vec<String> = plan
        .services
        .iter()
        .map(|s| s.service.image.clone())
        .collect();
    docker::images::ensure_for(docker, &images, say).await?;
    if let Ok(mut c) = current_cluster.lock() {
        *c = Some(plan.cluster.clone());
    }
    let options = cluster::UpOptions {
        reuse: exp.cluster.reuse && !args.fresh,
        ready_timeout: exp.cluster.ready_timeout,
        progress: say,
    };
    let cluster =
        execute::unless_interrupted(&interrupt, cluster::up(docker, &plan, &options)).await??;
    say(&format!(
        "cluster {} ready in {:.1} s{}",
        cluster.name,
        cluster.ready_after.as_secs_f64(),
        if cluster.reused { " (reused)" } else { "" }
    ));
    if exp.steps.iter().any(|s| {
        s.fault
            .as_ref()
            .is_some_and(|f| matches!(f.kind, FaultKind::Delay | FaultKind::Loss))
    }) {
        let probe = cluster
            .services
            .first()
            .ok_or_else(|| Error::Invalid("the cluster has no services".into()))?;
        if !docker::faults::netem_available(docker, &cluster, probe).await? {
            return Err(Error::Invalid(format!(
                "{}: capability error: `delay` and `loss` faults need tc netem, which this kernel lacks \
                 (`tc qdisc add … netem` fails: \"Specified qdisc kind is unknown\")\n  hint: use `bandwidth` (tc tbf) or \
                 `partition` (iptables) faults, or run on a kernel with sch_netem",
                file.display()
            )));
        }
    }
    if !cluster.reused && !exp.cluster.warm_up.is_zero() {
        say(&format!(
            "warming up the fresh cluster for {} (unmeasured)",
            humantime::format_duration(exp.cluster.warm_up)
        ));
        execute::unless_interrupted(&interrupt, execute::warm_up(&cluster, exp.cluster.warm_up))
            .await??;
    }
    if execute::is_interrupted(&interrupt) {
        return Err(Error::Interrupted);
    }
    let dir = reports::run_dir(&args.reports, &exp.name, variant, repeat)?;
    let recorder = reports::Recorder::start(&dir)?;
    let sink = recorder.sink();
    let seed = exp.seed.unwrap_or_else(|| rand::random::<u32>() as u64);
    let settings = reports::settings_in_force(docker, &cluster).await;
    sink.emit(EventKind::RunStarted {
        experiment: exp.name.clone(),
        variant: (!variant.is_empty()).then(|| variant.to_string()),
        cluster_name: cluster.name.clone(),
        cluster_mode: cluster.mode.clone(),
        kafka_version: reports::kafka_version(docker, &cluster).await,
        observer_period_us: exp.observer.period.as_micros() as u64,
        brokers: cluster
            .brokers()
            .into_iter()
            .map(|(s, id)| (s.name.clone(), id))
            .collect(),
        settings,
        seed,
        reused_cluster: cluster.reused,
        expect: exp.expect.clone(),
    });
    if let Some(why) = &cluster.replaced_unready {
        sink.emit(EventKind::Note {
            message: why.clone(),
        });
    }
    let ctx = execute::RunContext {
        docker,
        cluster: &cluster,
        experiment: exp,
        sink: sink.clone(),
        seed,
        producer_id: rand::random(),
        progress: say,
    };
    // A panic inside the run (a bug of ours) must not leave faults in force: it becomes an
    // error, so the heal below and the partial report still happen.
    let outcome = {
        use futures_util::FutureExt;
        std::panic::AssertUnwindSafe(execute::execute(&ctx, interrupt))
            .catch_unwind()
            .await
            .unwrap_or_else(|panic| {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown".into());
                Err(Error::Io(format!("internal error (a panic: {what})")))
            })
    };
    let finished = match &outcome {
        Ok(()) => "completed",
        Err(Error::Interrupted) => "interrupted",
        Err(_) => "aborted",
    };
    if let Err(e) = &outcome {
        sink.emit(EventKind::Error {
            message: e.to_string(),
        });
        // Belt and braces: whatever the fault registry did, nothing of ours stays faulted.
        if let Err(heal) = docker::faults::heal_everything(docker, &cluster.name).await {
            sink.emit(EventKind::Error {
                message: format!("heal everything: {heal}"),
            });
        }
    }
    sink.emit(EventKind::RunFinished {
        outcome: finished.into(),
    });
    let (events, events_unwritten) = recorder.finish().await?;
    let (result, mut unwritten) = reports::analyze_and_write(&dir, &events);
    unwritten.splice(0..0, events_unwritten);
    if !unwritten.is_empty() {
        // Nothing measured is lost: the table goes to the terminal before the error.
        eprintln!("{}", crate::report::render_table(&result));
        return Err(reports::unwritten_error(&dir, &unwritten));
    }
    if let Err(Error::Interrupted) = outcome {
        return Ok((result, dir, cluster.name.clone()));
    }
    if let Err(e) = outcome {
        // A partial report is written; the error still decides the exit code.
        eprintln!("partial report written to {}", dir.display());
        return Err(e);
    }
    Ok((result, dir, cluster.name.clone()))
}

/// First Ctrl-C / SIGTERM: stop the steps, heal, write a partial report. Second: heal the
/// network and unpause right now, then exit 130.
fn spawn_signal_handler(
    tx: watch::Sender<bool>,
    current: Arc<Mutex<Option<String>>>,
    docker: bollard::Docker,
) {
    tokio::spawn(async move {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
        match term.as_mut() {
            Some(t) => tokio::select! { _ = tokio::signal::ctrl_c() => {}, _ = t.recv() => {} },
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
        eprintln!("\ninterrupted: healing every fault, then writing a partial report (again to abort at once)");
        let _ = tx.send(true);
        let _ = tokio::signal::ctrl_c().await;
        let name = current.lock().ok().and_then(|c| c.clone());
        if let Some(name) = name {
            let _ = docker::faults::heal_everything(&docker, &name).await;
        }
        std::process::exit(exit::INTERRUPTED);
    });
}

/// `chaos report <dir>`: re-renders result.json, summary.md and the table from events.jsonl.
pub fn rerender(dir: &Path) -> Result<i32, Error> {
    let file = std::fs::File::open(dir.join("events.jsonl"))
        .map_err(|e| Error::Invalid(format!("{}: {e}", dir.join("events.jsonl").display())))?;
    let events = crate::events::read_events(std::io::BufReader::new(file))
        .map_err(|e| Error::Invalid(format!("{}: {e}", dir.display())))?;
    let (result, unwritten) = reports::analyze_and_write(dir, &events);
    println!("{}", crate::report::render_table(&result));
    if !unwritten.is_empty() {
        return Err(reports::unwritten_error(dir, &unwritten));
    }
    Ok(outcome::exit_code_of(&result, false))
}

/// `chaos compare`: results re-derived from each run's events, side by side.
pub fn compare(dirs: &[PathBuf]) -> Result<i32, Error> {
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
        results.push(reports::result_of(&events));
    }
    println!("{}", crate::report::render_comparison(&results));
    let differences = crate::report::differences_beyond_noise(&results);
    if differences.is_empty() {
        println!("no difference beyond noise");
    }
    for d in differences {
        println!("beyond noise: {d}");
    }
    Ok(exit::PASSED)
}
