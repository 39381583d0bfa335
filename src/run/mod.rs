//! `chaos run`: experiments (files or directories) → variants (matrix × repeat) → a cluster
//! (reused when its configuration is unchanged) → one event stream per run → analysis →
//! reports. Interrupts heal first, then write a partial report.

mod app_workloads;
mod background;
mod conditions;
mod context;
mod faults;
pub(crate) mod kafka_side;
pub mod observer;
mod on_kubernetes;
mod outcome;
pub mod prepare;
mod prober;
mod progress;
pub(crate) mod reports;
#[cfg(test)]
mod scripted;
pub(crate) mod session;
pub mod shutdown;
pub mod signals;
mod steps;
mod topics;
pub(crate) mod workload;

pub use crate::platform::FaultError;
pub use on_kubernetes::ready_or_why as kubernetes_brokers_ready;
pub use outcome::exit_code_of;
pub use prepare::{
    namespace_and_cluster, prepare, prepare_all, ClusterSource, ComposeOverrides, Prepared,
    PreparedVariant,
};
pub use progress::{Reporter, RunnerEvent};
pub use reports::{analyze_and_write, result_of, unwritten_error};

use crate::docker::labels::Scope;
use crate::docker::{self, cluster};
use crate::error::Error;
use crate::events::{EventKind, RunOutcome};
use crate::exit::ExitCode;
use crate::experiment::{Experiment, FaultKind};
use crate::kafka::connect::Profile;
use crate::model::RunResult;
use shutdown::{Shutdown, ShutdownTrigger};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// What `chaos run` is asked to do (the CLI maps its flags to these).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Experiment files, or directories of *.yaml / *.yml (a suite).
    pub files: Vec<PathBuf>,
    /// Where run directories are written.
    pub reports: PathBuf,
    /// Leave the cluster running (healed) after the run.
    pub keep: bool,
    /// Start a fresh cluster even when a matching one is running.
    pub fresh: bool,
    /// Write a JUnit XML file (one test case per experiment × variant).
    pub junit: Option<PathBuf>,
    /// Write a markdown summary (e.g. $GITHUB_STEP_SUMMARY).
    pub summary_md: Option<PathBuf>,
    /// Print the plan (compose file, cluster started or reused, broker settings, topics,
    /// variants × repeats, steps, expectations) and change nothing.
    pub dry_run: bool,
    pub compose: ComposeOverrides,
    /// How clients connect where an experiment has no `client-security` (the CLI reads it
    /// from the CHAOS_KAFKA_* environment).
    pub security: crate::security::ClientSecurity,
}

/// Several errors as one: every one is printed (`error: …` each), the first decides the
/// exit code.
pub fn all_errors(mut errors: Vec<Error>) -> Result<(), Error> {
    match errors.len() {
        0 => Ok(()),
        1 => Err(errors.remove(0)),
        _ => Err(Error::Several(errors)),
    }
}

pub async fn run_experiments(args: RunOptions, reporter: &dyn Reporter) -> Result<ExitCode, Error> {
    // Everything is validated before any cluster starts; every error is reported.
    let nodes = args.compose.load_nodes()?;
    let (plans, mut errors) = prepare::prepare_all(&args.files, &args.compose, nodes.as_ref());
    // Each experiment's connection security (its own, else the environment's), checked
    // before any cluster starts.
    let profiles: Vec<Profile> = plans
        .iter()
        .map(|p| {
            crate::experiment::client_security(&p.experiment, &p.file, &|k| std::env::var(k).ok())
                .map_err(|e| errors.push(e.into()))
                .ok()
                .flatten()
                .unwrap_or_else(|| args.security.clone())
        })
        .map(Profile::new)
        .collect();
    all_errors(errors)?;
    if args.dry_run {
        return dry_run(&plans, args.fresh, reporter).await;
    }
    // Runs against Kubernetes only need no Docker engine (a machine may have none).
    let kubernetes_only = plans
        .iter()
        .flat_map(|p| &p.variants)
        .all(|v| matches!(v.cluster, prepare::ClusterSource::Kubernetes { .. }));
    let engines = if kubernetes_only {
        docker::engines::Engines::unconnected()?
    } else {
        let engines = docker::engines::Engines::connect(nodes.as_ref()).await?;
        // What an earlier killed run left behind (its owner process is gone) is healed first.
        for docker in engines.all() {
            for done in docker::sweep::sweep_orphans(docker).await? {
                reporter.report(RunnerEvent::Line(&format!("orphan sweep: {done}")));
            }
        }
        engines
    };
    let (trigger, shutdown) = Shutdown::new();
    let (abort_tx, abort_rx) = oneshot::channel();
    let current_cluster: Arc<Mutex<Option<HealTarget>>> = Arc::new(Mutex::new(None));
    let handler = spawn_signal_handler(trigger, current_cluster.clone(), engines.clone(), abort_tx);
    // The second signal ends the run at once (its faults were healed by the handler); the
    // caller exits 130.
    let aborted = async {
        match abort_rx.await {
            Ok(healed) => healed,
            Err(_) => std::future::pending().await,
        }
    };
    let announce = async {
        shutdown.wait().await;
        reporter.report(RunnerEvent::Line(
            // Before a run begins (cluster start, warm-up) there is nothing to heal or report.
            "interrupted: stopping — faults in force are healed and a run in progress writes a partial report (again to abort at once)",
        ));
        std::future::pending::<()>().await
    };
    let outcome = tokio::select! {
        outcome = run_all(&engines, &plans, &profiles, &args, reporter, shutdown.clone(), &current_cluster) => outcome,
        () = announce => unreachable!("the announcement never ends"),
        healed = aborted => {
            match healed {
                Ok(()) => reporter.report(RunnerEvent::Line("aborted: network rules cleared and paused processes resumed; no report written (`chaos clean` heals anything left)")),
                Err(e) => reporter.report(RunnerEvent::Warning(&format!("aborted, but healing failed: {e}; run `chaos clean`"))),
            }
            reporter.report(RunnerEvent::Finished);
            Ok(ExitCode::Interrupted)
        }
    };
    handler.abort();
    outcome
}

/// `chaos run --dry-run`: the plan, without changing anything. Docker is asked (read-only)
/// whether a matching cluster runs; when it cannot be reached the answer is "unknown".
async fn dry_run(
    plans: &[Prepared],
    fresh: bool,
    reporter: &dyn Reporter,
) -> Result<ExitCode, Error> {
    use std::collections::HashMap;
    let docker = tokio::time::timeout(std::time::Duration::from_secs(5), docker::connect())
        .await
        .ok()
        .and_then(Result::ok);
    let mut existing: HashMap<String, Option<Vec<bollard::models::ContainerSummary>>> =
        HashMap::new();
    for v in plans.iter().flat_map(|p| &p.variants) {
        let prepare::ClusterSource::Compose { plan, .. } = &v.cluster else {
            continue;
        };
        if existing.contains_key(&plan.cluster) {
            continue;
        }
        let found = match &docker {
            Some(d) => cluster::lifecycle::list(d, Some(&plan.cluster)).await.ok(),
            None => None,
        };
        existing.insert(plan.cluster.clone(), found);
    }
    let state = |v: &PreparedVariant, reuse: bool| match &v.cluster {
        prepare::ClusterSource::Attach { .. } => prepare::ClusterState::Attached,
        prepare::ClusterSource::Kubernetes { .. } => prepare::ClusterState::Kubernetes,
        prepare::ClusterSource::Compose { plan, .. } => match existing.get(&plan.cluster) {
            Some(Some(containers)) => {
                prepare::ClusterState::Known(cluster::decide_start(plan, containers, reuse))
            }
            _ => prepare::ClusterState::DockerUnreachable,
        },
    };
    let mut text = String::new();
    for (i, p) in plans.iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        text.push_str(&prepare::render_dry_run(p, fresh, &state));
    }
    text.push_str("dry run: nothing was started, stopped or changed\n");
    let plan = serde_json::json!({
        "dry_run": true,
        "experiments": plans
            .iter()
            .map(|p| prepare::dry_run_json(p, fresh, &state))
            .collect::<Vec<_>>(),
    });
    reporter.report(RunnerEvent::DryRun {
        text: &text,
        plan: &plan,
    });
    Ok(ExitCode::Passed)
}

// Long: the suite's loop: variants × repeats, each outcome recorded, clusters removed between
// experiments
#[allow(clippy::too_many_arguments)] // the plans, how to run them, and the run's channels
async fn run_all(
    engines: &docker::engines::Engines,
    plans: &[Prepared],
    profiles: &[Profile],
    args: &RunOptions,
    reporter: &dyn Reporter,
    shutdown: Shutdown,
    current_cluster: &Mutex<Option<HealTarget>>,
) -> Result<ExitCode, Error> {
    let say = |m: &str| reporter.report(RunnerEvent::Status(m));
    let mut results: Vec<RunResult> = Vec::new();
    let mut codes = Vec::new();
    // Clusters this run started (or reused): removed at the end unless --keep. An attached
    // project is never removed.
    let mut clusters_used: Vec<String> = Vec::new();
    // Every run of the suite, in order, for "run 3 of 27 …, ~6 min left" (estimated from the
    // wall times in history.jsonl, and from this suite's runs as they end).
    let to_run: Vec<(String, Option<String>)> = plans
        .iter()
        .flat_map(|p| {
            p.variants.iter().flat_map(|v| {
                let variant = (!v.name.is_empty()).then(|| v.name.clone());
                std::iter::repeat_n(
                    (p.experiment.name.clone(), variant),
                    p.experiment.repeat.max(1) as usize,
                )
            })
        })
        .collect();
    let mut history = std::fs::read_to_string(args.reports.join("history.jsonl"))
        .map(|text| crate::report::trend::parse_history(&text).0)
        .unwrap_or_default();
    let mut done = 0usize;
    'files: for (prepared, profile) in plans.iter().zip(profiles) {
        let exp = &prepared.experiment;
        let file = &prepared.file;
        for variant in &prepared.variants {
            for repeat in 1..=exp.repeat.max(1) {
                if shutdown.is_set() {
                    break 'files;
                }
                let label = variant_label(exp, &variant.name, repeat);
                reporter.report(RunnerEvent::Line(&suite_line(
                    &label, done, &to_run, &history,
                )));
                let started = std::time::Instant::now();
                let outcome = run_variant(
                    engines,
                    file,
                    variant,
                    repeat,
                    args,
                    profile,
                    reporter,
                    shutdown.clone(),
                    current_cluster,
                )
                .await;
                // Whatever happened, the cluster this variant started is ours to remove.
                let current = current_cluster
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clone();
                if let Some(HealTarget::Docker(Scope::Cluster(name))) = current {
                    if !clusters_used.contains(&name) {
                        clusters_used.push(name);
                    }
                }
                match outcome {
                    Ok((result, dir, _)) => {
                        reporter.report(RunnerEvent::VariantFinished {
                            result: &result,
                            dir: &dir,
                            experiment_file: file,
                        });
                        codes.push(outcome::exit_code_of(&result, shutdown.is_set()));
                        let entry = history_entry(&result).took(started.elapsed().as_secs_f64());
                        if let Err(e) = append_history(&args.reports, &entry) {
                            reporter.report(RunnerEvent::Warning(&format!(
                                "history.jsonl not updated: {e}"
                            )));
                        }
                        history.push(entry);
                        results.push(result);
                    }
                    Err(e) => {
                        reporter.report(RunnerEvent::VariantFailed { error: &e });
                        codes.push(e.exit_code());
                        if matches!(e, Error::Interrupted) {
                            break 'files;
                        }
                    }
                }
                done += 1;
            }
        }
    }
    write_suite_reports(&results, args, reporter)?;
    if !args.keep {
        for name in &clusters_used {
            say(&format!(
                "removing cluster {name} (use --keep to leave it running)"
            ));
            cluster::down(engines, Some(name)).await?;
        }
    }
    reporter.report(RunnerEvent::Finished);
    Ok(ExitCode::worst(codes))
}

/// What a suite of runs adds to each run's own reports: the comparison of the variants and
/// repeats of each experiment (page and terminal), the JUnit file, the markdown summary.
fn write_suite_reports(
    results: &[RunResult],
    args: &RunOptions,
    reporter: &dyn Reporter,
) -> Result<(), Error> {
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
                reporter.report(RunnerEvent::Warning(&format!("{}: {e}", page.display())));
            }
            reporter.report(RunnerEvent::Comparison {
                table: &crate::report::render_comparison(&group),
                beyond_noise: &crate::report::differences_beyond_noise(&group),
            });
        }
    }
    if let Some(path) = &args.junit {
        let bytes = crate::report::render_junit(results)?;
        crate::report::write_atomically(path, &bytes)?;
    }
    if let Some(path) = &args.summary_md {
        let mut md = String::new();
        for r in results {
            md.push_str(&crate::report::render_markdown(r));
            md.push('\n');
        }

        append_or_write(path, md.as_bytes())?;
    }
    Ok(())
}

/// One line per run in `<reports>/history.jsonl`, for `chaos trend`.
/// A run's line of history.jsonl, stamped now.
fn history_entry(result: &RunResult) -> crate::report::trend::HistoryEntry {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    crate::report::trend::HistoryEntry::of(result, now)
}

/// The line that starts a run: its label; in a suite, its place and the time left.
fn suite_line(
    label: &str,
    done: usize,
    to_run: &[(String, Option<String>)],
    history: &[crate::report::trend::HistoryEntry],
) -> String {
    if to_run.len() <= 1 {
        return format!("== {label}");
    }
    let left = match crate::report::trend::time_left(history, &to_run[done.min(to_run.len())..]) {
        Some(left) => left.to_string(),
        None => "time left unknown (not run here before)".into(),
    };
    format!("== run {} of {}: {label}; {left}", done + 1, to_run.len())
}

fn append_history(
    reports: &Path,
    entry: &crate::report::trend::HistoryEntry,
) -> std::io::Result<()> {
    use std::io::Write;
    let mut line = serde_json::to_vec(entry)?;
    line.push(b'\n');
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(reports.join("history.jsonl"))?
        .write_all(&line)
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

#[allow(clippy::too_many_arguments)] // the variant, where it runs, and the run's three channels
async fn run_variant(
    engines: &docker::engines::Engines,
    file: &Path,
    variant: &PreparedVariant,
    repeat: u32,
    args: &RunOptions,
    profile: &Profile,
    reporter: &dyn Reporter,
    shutdown: Shutdown,
    current_cluster: &Mutex<Option<HealTarget>>,
) -> Result<(RunResult, PathBuf, String), Error> {
    let say = &|m: &str| reporter.report(RunnerEvent::Status(m));
    let exp = &variant.experiment;
    let scope = match &variant.cluster {
        prepare::ClusterSource::Compose { plan, .. } => Scope::Cluster(plan.cluster.clone()),
        prepare::ClusterSource::Attach { project } => Scope::Project(project.clone()),
        prepare::ClusterSource::Kubernetes { spec } => {
            // Set once connected: the connection is what the heal needs.
            *current_cluster.lock().unwrap_or_else(|e| e.into_inner()) = None;
            return on_kubernetes::run_variant(
                variant,
                spec,
                repeat,
                args,
                profile,
                reporter,
                shutdown,
                current_cluster,
            )
            .await;
        }
    };
    *current_cluster.lock().unwrap_or_else(|e| e.into_inner()) = Some(HealTarget::Docker(scope));
    let cluster = ready_cluster(engines, file, variant, args, profile, say, &shutdown).await?;
    let dir = reports::run_dir(&args.reports, &exp.name, &variant.name, repeat)?;
    let recorder = reports::Recorder::start(&dir, reporter.event_tap())?;
    let sink = recorder.sink();
    let seed = exp.seed.unwrap_or_else(|| rand::random::<u32>() as u64);
    // Docker's events (on every engine) flow into the run's stream from here on.
    let platform = docker::run_platform::DockerRun::start(engines, &cluster, sink.clone()).await;
    let client = record_start(&platform, &cluster, variant, profile, seed, &sink).await?;
    let ctx = session::RunContext {
        cluster: &cluster,
        experiment: exp,
        sink: sink.clone(),
        seed,
        producer_id: rand::random(),
        progress: say,
        client,
        profile: profile.clone(),
    };
    let outcome = execute_catching_panics(&ctx, platform, shutdown).await;
    let (result, dir) = close_run(
        recorder,
        dir,
        outcome,
        Some((engines, Scope::of(&cluster))),
        reporter,
    )
    .await?;
    Ok((result, dir, cluster.name.clone()))
}

/// Ends a run: its outcome recorded (and, on an error, every fault of ours healed once more),
/// the reports written from the events. A run that failed still has its partial report; the
/// error decides the exit code.
pub(crate) async fn close_run(
    recorder: reports::Recorder,
    dir: PathBuf,
    outcome: Result<(), Error>,
    heal: Option<(&docker::engines::Engines, Scope)>,
    reporter: &dyn Reporter,
) -> Result<(RunResult, PathBuf), Error> {
    let sink = recorder.sink();
    let finished = match &outcome {
        Ok(()) => RunOutcome::Completed,
        Err(Error::Interrupted) => RunOutcome::Interrupted,
        Err(_) => RunOutcome::Aborted,
    };
    if let Err(e) = &outcome {
        sink.emit(EventKind::Error {
            message: e.to_string(),
        });
        // Belt and braces: whatever the fault registry did, nothing of ours stays faulted.
        if let Some((engines, scope)) = heal {
            if let Err(heal) = docker::faults::heal_everything(engines, &scope).await {
                sink.emit(EventKind::Error {
                    message: format!("heal everything: {heal}"),
                });
            }
        }
    }
    sink.emit(EventKind::RunFinished { outcome: finished });
    drop(sink);
    let (events, events_unwritten) = recorder.finish().await?;
    let (result, mut unwritten) = reports::analyze_and_write(&dir, &events);
    unwritten.splice(0..0, events_unwritten);
    if !unwritten.is_empty() {
        // Nothing measured is lost: the table goes to the terminal before the error.
        reporter.report(RunnerEvent::PartialResult {
            result: &result,
            dir: &dir,
        });
        return Err(reports::unwritten_error(&dir, &unwritten));
    }
    match outcome {
        Ok(()) | Err(Error::Interrupted) => Ok((result, dir)),
        Err(e) => {
            // A partial report is written; the error still decides the exit code.
            reporter.report(RunnerEvent::Line(&format!(
                "partial report written to {}",
                dir.display()
            )));
            Err(e)
        }
    }
}

/// How long an interrupted run waits for a container's create and start in flight: one pair
/// of Docker API calls, well under a second here; a wedged engine does not hold the exit.
const IN_FLIGHT_START: std::time::Duration = std::time::Duration::from_secs(3);

/// A compose cluster up (or reused). Interrupted, it first lets a container whose create was
/// sent be started (it takes well under a second): dropped half-way, the create still landed
/// after the run's removal of the half-started cluster had listed its containers, and a
/// container was left created and never started (the seed sigint test, 4 of 6 runs).
async fn up_compose(
    engines: &docker::engines::Engines,
    plan: &cluster::Plan,
    exp: &crate::experiment::schema::Experiment,
    args: &RunOptions,
    profile: &Profile,
    say: &(dyn Fn(&str) + Sync),
    shutdown: &Shutdown,
) -> Result<cluster::Cluster, Error> {
    let in_flight = tokio_util::task::TaskTracker::new();
    let options = cluster::UpOptions {
        reuse: exp.cluster.reuse && !args.fresh,
        ready_timeout: exp.cluster.ready_timeout,
        progress: say,
        profile,
        in_flight: Some(&in_flight),
    };
    let up = shutdown.guard(cluster::up(engines, plan, &options)).await;
    if up.is_err() {
        in_flight.close();
        let _ = tokio::time::timeout(IN_FLIGHT_START, in_flight.wait()).await;
    }
    Ok(up??)
}

/// The variant's cluster, up and ready: images built when they are ours, a running cluster
/// reused when it was started from the same configuration, the kernel asked for what the
/// faults need, and a fresh cluster warmed up.
async fn ready_cluster(
    engines: &docker::engines::Engines,
    file: &Path,
    variant: &PreparedVariant,
    args: &RunOptions,
    profile: &Profile,
    say: &(dyn Fn(&str) + Sync),
    shutdown: &Shutdown,
) -> Result<cluster::Cluster, Error> {
    let exp = &variant.experiment;
    // Service images and, for network faults, the sidecar's: built when they are ours.
    docker::images::ensure_on_engines(engines, &variant.images, say).await?;
    let cluster = match &variant.cluster {
        prepare::ClusterSource::Compose { plan, .. } => {
            let cluster = up_compose(engines, plan, exp, args, profile, say, shutdown).await?;
            say(&format!(
                "cluster {} ready in {:.1} s{}",
                cluster.name,
                cluster.ready_after.as_secs_f64(),
                if cluster.reused { " (reused)" } else { "" }
            ));
            cluster
        }
        prepare::ClusterSource::Attach { project } => {
            shutdown
                .guard(attached_cluster(
                    engines, file, variant, project, profile, say,
                ))
                .await??
        }
        prepare::ClusterSource::Kubernetes { .. } => {
            unreachable!("run_variant runs a Kubernetes variant on its own path")
        }
    };
    let needs_netem = exp.steps.iter().any(|s| {
        s.fault
            .as_ref()
            .is_some_and(|f| matches!(f.kind, FaultKind::Delay | FaultKind::Loss))
    });
    if needs_netem {
        let probe = cluster
            .services
            .first()
            .ok_or_else(|| Error::Invalid("the cluster has no services".into()))?;
        if !docker::faults::netem_available(engines.of(probe), &cluster, probe).await? {
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
        shutdown
            .guard(topics::warm_up(&cluster, profile, exp.cluster.warm_up))
            .await??;
    }
    if shutdown.is_set() {
        return Err(Error::Interrupted);
    }
    Ok(cluster)
}

/// A compose project someone else started, found by its label, the experiment checked
/// against its services, and ready (every service answers).
async fn attached_cluster(
    engines: &docker::engines::Engines,
    file: &Path,
    variant: &PreparedVariant,
    project: &str,
    profile: &Profile,
    say: &(dyn Fn(&str) + Sync),
) -> Result<cluster::Cluster, Error> {
    let exp = &variant.experiment;
    let started = std::time::Instant::now();
    say(&format!("attaching to compose project {project}"));
    let (mut cluster, compose) =
        docker::inventory::attach_project(engines.local(), project).await?;
    let wrong = crate::experiment::validate_against_compose_all(exp, file, &compose);
    all_errors(wrong.into_iter().map(Error::from).collect())?;
    if cluster.brokers().is_empty() {
        return Err(Error::Invalid(format!(
            "compose project {project}: no broker among its services ({})\n  hint: a broker is a \
             container with KAFKA_BROKER_ID or KAFKA_NODE_ID in its environment",
            cluster
                .services
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    cluster::ready::wait(engines, &cluster, exp.cluster.ready_timeout, profile).await?;
    cluster.ready_after = started.elapsed();
    say(&format!(
        "compose project {project} attached: {} service(s), brokers {}, ready in {:.1} s",
        cluster.services.len(),
        cluster
            .brokers()
            .iter()
            .map(|(s, id)| format!("{id} ({})", s.name))
            .collect::<Vec<_>>()
            .join(", "),
        cluster.ready_after.as_secs_f64()
    ));
    Ok(cluster)
}

/// The tracked producer's client, as the workload chooses it: a Java client without a
/// version is the brokers' (`kafka_version`, from their logs), which must be installed, and
/// must know every `producer-config` key. Checked before the workload starts.
fn resolve_client(
    exp: &crate::experiment::Experiment,
    kafka_version: &str,
) -> Result<crate::kafka::producer::ClientLibrary, Error> {
    use crate::experiment::ClientChoice;
    use crate::kafka::client_install::{JavaInstall, PythonInstall};
    use crate::kafka::producer::ClientLibrary;
    let Some(w) = &exp.workload else {
        return Ok(ClientLibrary::Librdkafka);
    };
    let installed = |e| Error::Invalid(format!("workload.client: {e}"));
    let version = match &w.client {
        ClientChoice::Librdkafka => return Ok(ClientLibrary::Librdkafka),
        // Named versions and their settings were checked before the cluster started
        // (`prepare`); only the installation is looked up again.
        ClientChoice::LibrdkafkaPython { version } => {
            return PythonInstall::find(version)
                .map(ClientLibrary::LibrdkafkaPython)
                .map_err(installed);
        }
        ClientChoice::Java { version: Some(v) } => {
            return JavaInstall::find(v)
                .map(ClientLibrary::Java)
                .map_err(installed);
        }
        ClientChoice::Java { version: None } => {
            if kafka_version.is_empty() || kafka_version.starts_with("unknown") {
                return Err(Error::Invalid(
                    "workload.client: java (the brokers' version), but the brokers' version is \
                     unknown (not in their logs)\n  hint: name it: client: java@3.9.1"
                        .into(),
                ));
            }
            kafka_version.to_string()
        }
    };
    let install = JavaInstall::find(&version).map_err(installed)?;
    if let Some(unknown) = crate::experiment::unknown_java_settings(w, &install.setting_names()) {
        return Err(Error::Invalid(format!(
            "{}: {}",
            unknown.path(),
            unknown.message
        )));
    }
    Ok(ClientLibrary::Java(install))
}

/// What of the workload runs the bundled librdkafka although `client` names another: said
/// in the report, so no number is read as that client's.
fn clients_not_chosen(
    exp: &crate::experiment::Experiment,
    client: &crate::kafka::producer::ClientLibrary,
) -> Option<String> {
    use crate::kafka::producer::ClientLibrary;
    let w = exp.workload.as_ref()?;
    // Each part, and whether it is one thing (the verb agrees).
    let mut parts: Vec<(&str, bool)> = Vec::new();
    if matches!(client, ClientLibrary::LibrdkafkaPython(_)) {
        if w.group.is_some() {
            parts.push(("the consumer group's members", false));
        }
        if w.consumer {
            parts.push(("the live consumer", true));
        }
    }
    if *client != ClientLibrary::Librdkafka && w.transactions.is_some() {
        parts.push(("the transactions", false));
    }
    (!parts.is_empty()).then(|| {
        let (verb, them) = match parts.as_slice() {
            [(_, true)] => ("runs", "it"),
            _ => ("run", "them"),
        };
        let parts: Vec<&str> = parts.iter().map(|(name, _)| *name).collect();
        format!(
            "{} {verb} the bundled librdkafka {}, not the workload's client ({}): it has no driver for {them} yet",
            parts.join(" and "),
            rdkafka::util::get_rdkafka_version().1,
            client.name()
        )
    })
}

/// The run's first event: what ran where, with the settings in force and the expectations;
/// and the tracked producer's client, which a Java client without a version takes from the
/// brokers' version read here (an error before any event when it cannot be used).
async fn record_start(
    platform: &impl crate::platform::ClusterPlatform,
    cluster: &cluster::Cluster,
    variant: &PreparedVariant,
    profile: &Profile,
    seed: u64,
    sink: &crate::clock::EventSink,
) -> Result<crate::kafka::producer::ClientLibrary, Error> {
    let exp = &variant.experiment;
    let kafka_version = reports::kafka_version(platform, cluster).await;
    let client = resolve_client(exp, &kafka_version)?;
    sink.emit(run_started(
        exp,
        (!variant.name.is_empty()).then(|| variant.name.clone()),
        cluster,
        kafka_version,
        reports::settings_in_force(cluster, &client, profile).await,
        seed,
    ));
    if let crate::platform::Origin::Attached { project } = &cluster.origin {
        sink.emit(EventKind::Note {
            message: format!(
                "attached to compose project {project}, started without chaos: its containers \
                 were faulted and healed, never created or removed"
            ),
        });
    }
    if let Some(message) = clients_not_chosen(exp, &client) {
        sink.emit(EventKind::Note { message });
    }
    let security = &profile.security;
    if security.protocol() != crate::security::SecurityProtocol::Plaintext {
        sink.emit(EventKind::Note {
            message: format!("clients connect over {security}"),
        });
    }
    if let Some(why) = &cluster.replaced_unready {
        sink.emit(EventKind::Note {
            message: why.clone(),
        });
    }
    Ok(client)
}

/// A run's first event: what ran where, with the settings in force and the expectations (so
/// a saved run re-evaluates them).
pub(crate) fn run_started(
    exp: &Experiment,
    variant: Option<String>,
    cluster: &cluster::Cluster,
    kafka_version: String,
    settings: Vec<(String, String)>,
    seed: u64,
) -> EventKind {
    EventKind::RunStarted {
        experiment: exp.name.clone(),
        description: exp
            .description
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
        variant,
        cluster_name: cluster.name.clone(),
        cluster_mode: cluster.mode,
        kafka_version,
        observer_period_us: exp.observer.period.as_micros() as u64,
        brokers: cluster
            .brokers()
            .into_iter()
            .map(|(s, id)| (s.name.clone(), id))
            .collect(),
        settings,
        seed,
        reused_cluster: cluster.reused,
        attached_project: match &cluster.origin {
            crate::platform::Origin::Attached { project } => Some(project.clone()),
            _ => None,
        },
        kubernetes: match &cluster.origin {
            crate::platform::Origin::Kubernetes { namespace, cluster } => {
                Some(format!("{namespace}/{cluster}"))
            }
            _ => None,
        },
        // The variant's own expectations (matrix::expand kept those whose `when` fits).
        expect: exp.expect.iter().map(|e| e.that.clone()).collect(),
        nodes: cluster
            .nodes
            .iter()
            .map(|n| crate::events::RunNode {
                name: n.name.clone(),
                engine: n.engine.clone(),
                address: n.address.clone(),
                clock_offset_us: n.clock_offset_ns / 1000,
                clock_error_us: n.clock_error_ns / 1000,
                services: cluster
                    .services_on(&[n.name.as_str()])
                    .map(|s| s.name.clone())
                    .collect(),
            })
            .collect(),
    }
}

/// A panic inside the run (a bug of ours) must not leave faults in force: it becomes an
/// error, so the heal and the partial report still happen.
pub(crate) async fn execute_catching_panics<P>(
    ctx: &session::RunContext<'_>,
    platform: P,
    shutdown: Shutdown,
) -> Result<(), Error>
where
    P: crate::platform::FaultPlatform + crate::platform::ClusterPlatform + Clone + Send + 'static,
{
    use futures_util::FutureExt;
    std::panic::AssertUnwindSafe(session::execute(
        ctx,
        platform,
        &kafka_side::LiveKafka,
        shutdown,
    ))
    .catch_unwind()
    .await
    .unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".into());
        Err(Error::Panic(what))
    })
}

/// Where the current run's faults live, for the second Ctrl-C to heal at once (`None`
/// between runs): the Docker cluster or attached project, or the Kubernetes namespace.
#[derive(Clone)]
pub(crate) enum HealTarget {
    Docker(Scope),
    Kubernetes {
        conn: crate::kubernetes::Connection,
        target: crate::kubernetes::KubernetesTarget,
    },
}

impl HealTarget {
    /// Clears every network rule and resumes every paused process of ours, on its platform
    /// (a killed broker comes back by itself on Kubernetes; on Docker `chaos clean` or the
    /// next run starts it).
    async fn heal_everything(&self, engines: &docker::engines::Engines) -> Result<(), Error> {
        match self {
            HealTarget::Docker(scope) => {
                docker::faults::heal_everything(engines, scope).await?;
            }
            HealTarget::Kubernetes { conn, target } => {
                crate::kubernetes::clean(conn, target).await?;
            }
        }
        Ok(())
    }
}

/// First Ctrl-C / SIGTERM: stop the steps, heal, write a partial report. Second (either
/// kind): heal the network and unpause right now, on whichever platform the run is, then
/// tell the run to end (exit 130).
fn spawn_signal_handler(
    trigger: ShutdownTrigger,
    current: Arc<Mutex<Option<HealTarget>>>,
    engines: docker::engines::Engines,
    abort: oneshot::Sender<Result<(), Error>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let second =
            signals::first_stops_second_aborts(signals::os_interrupts(), &trigger, |_| {}).await;
        if second.is_none() {
            return;
        }
        let target = current.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let healed = match target {
            Some(target) => target.heal_everything(&engines).await,
            None => Ok(()),
        };
        // The receiver is gone only when the run already ended: nothing left to abort.
        let _ = abort.send(healed);
    })
}
