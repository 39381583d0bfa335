//! Command-line interface: clap maps flags to options; the work is in the library.

/// `println!` that treats a closed stdout as the end of output (`chaos status | head`)
/// instead of panicking; see [`out`].
macro_rules! outln {
    () => {
        $crate::cli::out("\n")
    };
    ($($arg:tt)*) => {
        $crate::cli::out(&format!("{}\n", format_args!($($arg)*)))
    };
}

mod args;
mod commands;
pub mod github;
mod progress;
mod reports;
mod status;
pub mod style;

pub use crate::compose::files::load as load_compose_files;
pub use progress::{log_filter, Progress, Verbosity};

use crate::docker;
use crate::error::Error;
use crate::exit::ExitCode;
use crate::kafka::connect::Profile;
use clap::{CommandFactory, Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "chaos",
    version,
    about = "Chaos experiments on real Kafka clusters: failover, ISR and acked-data loss, measured",
    after_long_help = AFTER_HELP
)]
pub struct Cli {
    /// Only results (the final tables and status lines) and errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// More detail: -v debug logging of chaos itself, -vv also the Kafka client's.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Tables as wide as their content even on a terminal (piped output always is).
    #[arg(long, global = true)]
    pub wide: bool,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    pub fn verbosity(&self) -> Verbosity {
        Verbosity::from_flags(self.quiet, self.verbose)
    }
}

/// Exit status and environment, in `--help` and the man page (docs/cli.md has the same, with
/// links); a unit test keeps the exit codes in step with `ExitCode`.
const AFTER_HELP: &str = "\
EXIT STATUS
  0    passed: every expectation held
  1    an expectation failed (chaos trend: a regression)
  2    invalid input: experiment, compose or nodes file, flags; a missing capability
  3    inconclusive: an expectation had no data, or the re-read could not complete
  4    infrastructure: Docker unreachable or failing, image missing, cluster not ready
       (a partial report is written)
  130  interrupted (Ctrl-C, SIGTERM): every fault reverted first, partial report written
  A suite exits with the worst outcome of its runs (130 > 4 > 2 > 3 > 1 > 0).

ENVIRONMENT
  CHAOS_LOG             tracing filter, overrides -v/-vv (e.g. librdkafka=debug)
  NO_COLOR, CLICOLOR_FORCE=1
                        colour off / forced
  CHAOS_NODES           the nodes file (several Docker hosts), as --nodes
  DOCKER_HOST           the one Docker engine without a nodes file
  CHAOS_KAFKA_SECURITY_PROTOCOL, CHAOS_KAFKA_SASL_MECHANISM, CHAOS_KAFKA_SASL_USERNAME,
  CHAOS_KAFKA_SASL_PASSWORD, CHAOS_KAFKA_SSL_CA, CHAOS_KAFKA_SSL_CERT, CHAOS_KAFKA_SSL_KEY,
  CHAOS_KAFKA_SSL_VERIFY_HOSTNAME
                        how the harness's clients connect (TLS, SASL)
  KAFKA_IMAGE, ZOOKEEPER_IMAGE, COMPOSE_PROFILES
                        read by the shipped compose files
  CHAOS_DEBIAN_MIRROR   the Debian mirror of `chaos images build`
  GITHUB_ACTIONS=true   failed expectations also as GitHub annotations

Documentation: README.md and docs/ (docs/cli.md, docs/experiments.md, docs/metrics.md).";

/// Sets the verbosity and installs the tracing subscriber (stderr; `CHAOS_LOG` overrides the
/// filter, e.g. CHAOS_LOG=librdkafka=warn).
pub fn init_logging(cli: &Cli) {
    let v = cli.verbosity();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CHAOS_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(log_filter(v))),
        )
        .with_ansi(style::stderr_colored())
        .with_writer(std::io::stderr)
        .init();
}

/// Writes to stdout; a closed pipe (`chaos man | head`) ends the output instead of panicking
/// as `println!` does (SIGPIPE stays ignored: its default would kill a run mid-fault whose
/// output is piped).
pub fn out(text: &str) {
    write_out(text);
}

/// As [`out`]; false when stdout is closed, so a loop (`watch`) can stop.
pub fn write_out(text: &str) -> bool {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes()).is_ok() && stdout.flush().is_ok()
}

/// `-p/--project-name` (compose's name) or `--cluster`: which cluster.
#[derive(Debug, Clone, clap::Args)]
pub struct ClusterArg {
    /// The cluster (compose project) name; default: the only running one.
    #[arg(long = "cluster", short = 'p', visible_alias = "project-name")]
    pub name: Option<String>,
    #[command(flatten)]
    pub nodes: NodesArg,
    /// A Kafka cluster on Kubernetes instead (NAMESPACE/CLUSTER, the pods' strimzi.io/cluster
    /// label), reached through a port-forward per broker (docs/kubernetes.md).
    #[arg(
        long = "kubernetes",
        value_name = "NAMESPACE/CLUSTER",
        conflicts_with = "name"
    )]
    pub kubernetes: Option<String>,
    /// The kubeconfig context for --kubernetes (default: the current context).
    #[arg(long = "kube-context", requires = "kubernetes")]
    pub kube_context: Option<String>,
}

impl ClusterArg {
    /// `--kubernetes` as a target; None without it.
    fn kubernetes_target(&self) -> Result<Option<crate::kubernetes::KubernetesTarget>, Error> {
        let Some(value) = &self.kubernetes else {
            return Ok(None);
        };
        let (namespace, cluster) = crate::run::namespace_and_cluster(value)?;
        let mut target = crate::kubernetes::KubernetesTarget::new(namespace, cluster);
        target.context = self.kube_context.clone();
        Ok(Some(target))
    }

    /// Where `status` and `watch` look: the Kubernetes cluster (its tunnels opened), else the
    /// Docker engines.
    async fn source(&self) -> Result<status::Source, Error> {
        let Some(target) = self.kubernetes_target()? else {
            return Ok(status::Source::Docker {
                engines: self.nodes.engines().await?,
                name: self.name.clone(),
            });
        };
        let conn = crate::kubernetes::connect(&target).await?;
        let lookout = crate::kubernetes::Lookout::open(&conn, &target).await?;
        Ok(status::Source::Kubernetes(Box::new(lookout)))
    }
}

/// `--nodes FILE` (or CHAOS_NODES): the Docker engines a cluster spans.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct NodesArg {
    /// A nodes file: the cluster spans these Docker engines (see README, "Several hosts").
    #[arg(long = "nodes", env = "CHAOS_NODES", value_name = "FILE")]
    pub file: Option<PathBuf>,
}

impl NodesArg {
    pub fn load(&self) -> Result<Option<crate::nodes::NodesFile>, Error> {
        match &self.file {
            Some(path) => Ok(Some(crate::nodes::NodesFile::load(path)?)),
            None => Ok(None),
        }
    }

    /// The engines: each node's, or the one (`DOCKER_HOST` / the default socket).
    pub async fn engines(&self) -> Result<docker::engines::Engines, Error> {
        Ok(docker::engines::Engines::connect(self.load()?.as_ref()).await?)
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a cluster from compose files and wait until it is ready (with --kubernetes:
    /// apply a cluster's manifests in a namespace and wait until its brokers answer).
    Up {
        /// Compose file; several are merged in order, as `docker compose -f a -f b` does
        /// (default compose/seed.yml). With --kubernetes: the cluster's manifests (default
        /// k8s/<CLUSTER>.yaml).
        #[arg(short = 'f', long = "file")]
        files: Vec<PathBuf>,
        /// Variables for ${VAR} instead of the .env beside the first file (repeatable; the
        /// process environment still wins).
        #[arg(long = "env-file")]
        env_files: Vec<PathBuf>,
        /// The cluster (compose project) name; default: the file's `name:`, else its stem.
        #[arg(short = 'p', long = "project-name")]
        project_name: Option<String>,
        /// Compose profiles to enable (repeatable).
        #[arg(long = "profile")]
        profiles: Vec<String>,
        /// How long to wait for readiness.
        #[arg(long, default_value = "180s", value_parser = humantime::parse_duration)]
        timeout: Duration,
        /// Recreate even when a cluster with the same configuration is running.
        #[arg(long, conflicts_with = "kubernetes")]
        fresh: bool,
        #[command(flatten)]
        nodes: NodesArg,
        /// Create the cluster on Kubernetes instead (NAMESPACE/CLUSTER): the manifests'
        /// objects applied server-side in NAMESPACE, labelled app.kubernetes.io/managed-by=chaos
        /// so `chaos down --kubernetes` removes exactly them (docs/kubernetes.md).
        #[arg(
            long = "kubernetes",
            value_name = "NAMESPACE/CLUSTER",
            conflicts_with_all = ["env_files", "project_name", "profiles"]
        )]
        kubernetes: Option<String>,
        /// The kubeconfig context for --kubernetes (default: the current context).
        #[arg(long = "kube-context", requires = "kubernetes")]
        kube_context: Option<String>,
    },
    /// Services, brokers, controller, and leader / ISR per partition.
    Status {
        #[command(flatten)]
        cluster: ClusterArg,
        #[arg(long)]
        json: bool,
    },
    /// Live view, refreshed every second: controller, brokers, leader and ISR per partition.
    Watch {
        #[command(flatten)]
        cluster: ClusterArg,
    },
    /// Remove the containers and networks this tool created (all clusters, or one); with
    /// --kubernetes, the objects `chaos up --kubernetes` created for that cluster.
    Down {
        #[command(flatten)]
        cluster: ClusterArg,
    },
    /// Heal what earlier runs left (rules, paused or disconnected containers); --all removes the clusters too.
    Clean {
        #[arg(long)]
        all: bool,
        /// Also heal a compose project a run attached to (`cluster: {attach: …}`): unpause its
        /// containers, clear our network rules, reconnect; never starts or removes any of them.
        #[arg(long = "project", value_name = "PROJECT")]
        projects: Vec<String>,
        /// Heal a Kafka cluster on Kubernetes instead (NAMESPACE/CLUSTER, the pods'
        /// strimzi.io/cluster label): SIGCONT to every JVM, our network rules and bandwidth
        /// limits flushed from every helper; no pod is deleted. Docker is not asked.
        #[arg(long = "kubernetes", value_name = "NAMESPACE/CLUSTER")]
        kubernetes: Option<String>,
        /// With --kubernetes: the nodes are Docker containers of this engine (as the run's
        /// `nodes: docker-containers`): a node container of the cluster's pods that is down
        /// is started again (a node a killed run crashed).
        #[arg(long = "kube-nodes", requires = "kubernetes", value_enum)]
        kube_nodes: Option<args::KubeNodes>,
        #[command(flatten)]
        nodes: NodesArg,
    },
    /// Build this tool's images locally (Debian base, Kafka 3.9 for ZooKeeper mode, Kafka 4
    /// for KRaft), or pull others.
    Images {
        #[command(subcommand)]
        action: ImagesAction,
    },
    /// Run experiments (files or directories of *.yaml) and write reports.
    Run(RunCommand),
    /// Observe a cluster chaos did not start while something else disturbs it (a rolling
    /// restart, an upgrade): the observer, a tracked workload on a topic of its own and the
    /// final verification; no faults. Reports as for a run.
    Observe {
        #[command(flatten)]
        args: args::ObserveArgs,
        #[command(flatten)]
        output: args::JsonArg,
    },
    /// Check experiment files (or directories of them) against their compose files, as `run`
    /// does before starting; every error is printed. Exit 0 when all are valid, 2 otherwise.
    Validate {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[command(flatten)]
        compose: args::ComposeArgs,
        #[command(flatten)]
        output: args::JsonArg,
    },
    /// Benchmarks of the harness itself (throughput vs kafka-producer-perf-test, verification
    /// speed and memory, overhead, time to ready); writes reports/bench-*/bench.md.
    Bench(args::BenchArgs),
    /// Side by side: several run directories (or a parent of them), with the differences
    /// beyond noise.
    Compare {
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// One JSON document (each run's result and the differences) instead of the table.
        #[arg(long)]
        json: bool,
        /// Also compare runs of different experiments with each other (by default only the
        /// variants and repeats of one experiment are: like with like).
        #[arg(long)]
        across_experiments: bool,
    },
    /// Compare the latest run of each experiment with the previous ones (history.jsonl);
    /// exits 1 on a regression.
    Trend {
        #[arg(long, default_value = "reports/history.jsonl")]
        history: PathBuf,
        #[arg(long, default_value_t = 5)]
        previous: usize,
        /// A time this many times the previous median is a regression.
        #[arg(long, default_value_t = 1.5)]
        ratio: f64,
        /// One JSON document instead of the text.
        #[arg(long)]
        json: bool,
    },
    /// A local web view of the reports folder: every run, its page, comparisons, trends and
    /// the running cluster (read-only; `chaos run --serve` adds the live run).
    Serve(args::ServeArgs),
    /// Re-render a run's reports from its events.jsonl.
    Report { dir: PathBuf },
    /// Print a shell completion script (e.g. `chaos completions bash > /etc/bash_completion.d/chaos`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `chaos man > chaos.1`; with --dir, write one page per
    /// command there (chaos.1, chaos-run.1, chaos-images-build.1, …).
    Man {
        /// Write chaos.1 and a page per subcommand into this directory instead.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// `chaos run`: the runner's options, and the live web view's.
#[derive(Debug, clap::Args)]
pub struct RunCommand {
    #[command(flatten)]
    pub run: args::RunArgs,
    #[command(flatten)]
    pub serve: args::RunServeArgs,
    #[command(flatten)]
    pub output: args::RunOutputArgs,
}

#[derive(Debug, Subcommand)]
pub enum ImagesAction {
    /// Build this tool's images (chaos/base, chaos/kafka:3.9.1 and 4.1.1).
    Build,
    /// Pull images through the Docker API, with progress: those named, or every image of
    /// the compose files that is not one of ours.
    Pull {
        /// Image references (name[:tag] or name@digest).
        images: Vec<String>,
        /// Compose files whose images to pull (merged as `up -f` merges them).
        #[arg(short = 'f', long = "file")]
        files: Vec<PathBuf>,
    },
}

/// Runs the CLI; returns the process exit code.
pub async fn main(cli: Cli) -> ExitCode {
    match dispatch(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

/// `chaos run`, with the live web view when `--serve` asks for it: the view is the CLI's
/// (a reporter and an event tap around the runner), the runner does not know it.
async fn run_with_view(
    verbosity: Verbosity,
    output: progress::Output,
    run: crate::run::RunOptions,
    serve: args::RunServeArgs,
) -> Result<ExitCode, Error> {
    let terminal = progress::TerminalReporter::new(verbosity, output);
    let served = if serve.serve && !run.dry_run {
        Some(
            crate::serve::ForRun::start(
                serve.serve_bind,
                serve.serve_port,
                &run.reports,
                Profile::new(run.security.clone()),
            )
            .await?,
        )
    } else {
        None
    };
    let live = served.as_ref().map(|s| s.reporter(&terminal));
    let reporter: &dyn crate::run::Reporter = match &live {
        Some(r) => r,
        None => &terminal,
    };
    let (keep, dry_run) = (run.keep, run.dry_run);
    let outcome = crate::run::run_experiments(run, reporter).await;
    if let Some(served) = served {
        // An interrupted run ends the view too; a kept cluster keeps it up until Ctrl-C.
        let interrupted = matches!(outcome, Ok(ExitCode::Interrupted) | Err(Error::Interrupted));
        served.finish(keep && !interrupted).await;
    }
    if dry_run {
        // The plan was the document (`validate --json` gives the errors as one).
        return outcome;
    }
    print_json_document(&terminal, outcome)
}

/// `--json`: the document on stdout, whatever the outcome (an error is in it, and still
/// printed on stderr by `main`).
fn print_json_document(
    terminal: &progress::TerminalReporter,
    outcome: Result<ExitCode, Error>,
) -> Result<ExitCode, Error> {
    let (code, error) = match &outcome {
        Ok(code) => (*code, None),
        Err(e) => (e.exit_code(), Some(e)),
    };
    if let Some(doc) = terminal.json_document(code, error) {
        out(&doc);
    }
    outcome
}

// Long: one arm per subcommand, each mapping flags to one library call
/// One arm per subcommand, each mapping flags to one library call (the cluster commands'
/// in `commands`).
async fn dispatch(cli: Cli) -> Result<ExitCode, Error> {
    let verbosity = cli.verbosity();
    let wide = cli.wide;
    // Every command that talks to Kafka connects as CHAOS_KAFKA_* says (an experiment's
    // `client-security` and observe's flags take over where they are given).
    let profile = if matches!(
        cli.command,
        Command::Up { .. }
            | Command::Status { .. }
            | Command::Watch { .. }
            | Command::Run(_)
            | Command::Bench(_)
            | Command::Serve(_)
    ) {
        Profile::new(crate::kafka::connect::from_environment()?)
    } else {
        Profile::default()
    };
    match cli.command {
        Command::Up {
            files,
            timeout,
            kubernetes: Some(target),
            kube_context,
            ..
        } => {
            let (namespace, cluster) = crate::run::namespace_and_cluster(&target)?;
            let mut target = crate::kubernetes::KubernetesTarget::new(namespace, cluster);
            target.context = kube_context;
            let files = if files.is_empty() {
                let default = PathBuf::from(format!("k8s/{}.yaml", target.cluster));
                if !default.exists() {
                    return Err(Error::Invalid(format!(
                        "--kubernetes {}/{}: no -f given, and the default {} does not exist\n  \
                         hint: pass the cluster's manifests with -f (ours: k8s/seed.yaml, \
                         k8s/kraft.yaml)",
                        target.namespace,
                        target.cluster,
                        default.display()
                    )));
                }
                vec![default]
            } else {
                files
            };
            let options = commands::UpKubernetes {
                files: &files,
                timeout,
                verbosity,
                profile: &profile,
            };
            commands::up_kubernetes(&target, &options).await
        }
        Command::Up {
            files,
            env_files,
            project_name,
            profiles,
            timeout,
            fresh,
            nodes,
            ..
        } => {
            let files = if files.is_empty() {
                vec![PathBuf::from("compose/seed.yml")]
            } else {
                files
            };
            let project =
                load_compose_files(&files, &env_files, project_name.as_deref(), &profiles)?;
            let options = commands::Up {
                fresh,
                timeout,
                verbosity,
                profile: &profile,
            };
            commands::up(&project, nodes.load()?.as_ref(), &options).await
        }
        Command::Status { cluster, json } => {
            status::run(&cluster.source().await?, json, &profile).await
        }
        Command::Watch { cluster } => status::watch(&cluster.source().await?, &profile).await,
        Command::Down { cluster } => match cluster.kubernetes_target()? {
            Some(target) => commands::down_kubernetes(&target).await,
            None => commands::down(&cluster.nodes.engines().await?, cluster.name.as_deref()).await,
        },
        Command::Clean {
            kubernetes: Some(target),
            kube_nodes,
            ..
        } => {
            commands::clean_kubernetes(&target, kube_nodes.map(Into::into).unwrap_or_default())
                .await
        }
        Command::Clean {
            all,
            projects,
            nodes,
            ..
        } => commands::clean(&nodes.engines().await?, &projects, all).await,
        Command::Images {
            action: ImagesAction::Build,
        } => commands::images_build(verbosity).await,
        Command::Images {
            action: ImagesAction::Pull { images, files },
        } => {
            let compose = if files.is_empty() {
                None
            } else {
                Some(load_compose_files(&files, &[], None, &[])?)
            };
            commands::images_pull(images, compose.as_ref(), verbosity).await
        }
        Command::Run(RunCommand { run, serve, output }) => {
            let output = progress::Output::new(output.format(), wide);
            let run = run.options(profile.security.clone());
            if run.dry_run && output.format == progress::ResultFormat::JsonEvents {
                return Err(Error::Invalid(
                    "--json-events with --dry-run: a dry run records no events\n  hint: \
                     --dry-run --json prints the plan as JSON"
                        .into(),
                ));
            }
            run_with_view(verbosity, output, run, serve).await
        }
        Command::Observe { args, output } => {
            let output = progress::Output::new(output.format(), wide);
            let terminal = progress::TerminalReporter::new(verbosity, output);
            let outcome = crate::observe::observe(args.options()?, &terminal).await;
            print_json_document(&terminal, outcome)
        }
        Command::Validate {
            files,
            compose,
            output,
        } => Ok(validate(&files, &compose.options(), output.json)),
        Command::Bench(args) => crate::bench::run(args.options()).await,
        Command::Report { dir } => {
            reports::rerender(&dir, progress::Output::new(Default::default(), wide).width)
        }
        Command::Serve(args) => crate::serve::serve(args.options(profile)).await,
        Command::Compare {
            dirs,
            json,
            across_experiments,
        } => reports::compare(
            &dirs,
            json,
            across_experiments,
            progress::Output::new(Default::default(), wide).width,
        ),
        Command::Trend {
            history,
            previous,
            ratio,
            json,
        } => reports::trend(&history, previous, ratio, json),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), invoked_as(), &mut script);
            out(&String::from_utf8_lossy(&script));
            Ok(ExitCode::Passed)
        }
        Command::Man { dir: None } => {
            let mut page = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut page)
                .map_err(Error::io("rendering the man page"))?;
            out(&String::from_utf8_lossy(&page));
            Ok(ExitCode::Passed)
        }
        Command::Man { dir: Some(dir) } => {
            std::fs::create_dir_all(&dir).map_err(Error::io("the man page directory"))?;
            clap_mangen::generate_to(with_exit_status_everywhere(Cli::command()), &dir)
                .map_err(Error::io("writing the man pages"))?;
            outln!("man pages written to {}", dir.display());
            Ok(ExitCode::Passed)
        }
    }
}

/// Every subcommand's page also says the exit codes and the environment (as `chaos --help`).
fn with_exit_status_everywhere(command: clap::Command) -> clap::Command {
    let names: Vec<String> = command
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    names.into_iter().fold(command, |command, name| {
        command.mut_subcommand(name, |sub| {
            with_exit_status_everywhere(sub.after_long_help(AFTER_HELP))
        })
    })
}

/// The name the binary was called by: a renamed or symlinked binary completes too.
fn invoked_as() -> String {
    std::env::args_os()
        .next()
        .and_then(|a| {
            std::path::Path::new(&a)
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
        })
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "chaos".into())
}

/// `chaos validate`: every file checked as `run` checks it before starting; every error
/// `chaos validate`: every file checked as `run` checks it before starting; every error
/// printed (stderr), or, with `json`, one document on stdout. 0 when all are valid, 2 otherwise.
fn validate(files: &[PathBuf], compose: &crate::run::ComposeOverrides, json: bool) -> ExitCode {
    let (good, errors) = match compose.load_nodes() {
        Ok(nodes) => crate::run::prepare_all(files, compose, nodes.as_ref()),
        Err(e) => (Vec::new(), vec![e]),
    };
    let code = if errors.is_empty() {
        ExitCode::Passed
    } else {
        ExitCode::InvalidInput
    };
    let warnings: Vec<Vec<String>> = good.iter().map(validation_warnings).collect();
    if json {
        let valid: Vec<serde_json::Value> = good
            .iter()
            .zip(&warnings)
            .map(|(p, warnings)| {
                serde_json::json!({
                    "file": p.file,
                    "name": p.experiment.name,
                    "variants": p.variants.len(),
                    "repeat": p.experiment.repeat.max(1),
                    "clusters": cluster_names(p),
                    "warnings": warnings,
                })
            })
            .collect();
        let doc = serde_json::json!({
            "exit_code": code.code(),
            "status": code.name(),
            "valid": valid,
            "errors": errors.iter().map(error_json).collect::<Vec<_>>(),
        });
        out(&(serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"));
        return code;
    }
    for (p, warnings) in good.iter().zip(&warnings) {
        outln!(
            "ok: {} ({}: {} variant(s) × {} repeat(s), cluster {})",
            p.file.display(),
            p.experiment.name,
            p.variants.len(),
            p.experiment.repeat.max(1),
            cluster_names(p).join(", ")
        );
        for w in warnings {
            eprintln!("warning: {w}");
        }
    }
    for e in &errors {
        eprintln!("error: {e}");
    }
    if !errors.is_empty() {
        eprintln!("{} error(s); {} file(s) valid", errors.len(), good.len());
    }
    code
}

/// The clusters a prepared file's variants run on, in order, without repeats side by side.
fn cluster_names(p: &crate::run::Prepared) -> Vec<&str> {
    let mut c: Vec<&str> = p.variants.iter().map(|v| v.cluster_name()).collect();
    c.dedup();
    c
}

/// What `validate` says but does not refuse: a coordinator fault on a single-replica internal
/// topic, and where a fault means something else on Kubernetes. Each names its file.
fn validation_warnings(p: &crate::run::Prepared) -> Vec<String> {
    let mut out = Vec::new();
    for v in &p.variants {
        if let crate::run::ClusterSource::Compose { plan, .. } = &v.cluster {
            let brokers: Vec<&crate::compose::Service> =
                plan.brokers().map(|(s, _)| &s.service).collect();
            let variant = if v.name.is_empty() {
                String::new()
            } else {
                format!(" [{}]", v.name)
            };
            for line in crate::experiment::single_replica_coordinators(&v.experiment, &brokers) {
                out.push(format!("{}{variant}: {line}", p.file.display()));
            }
        }
    }
    if let Some(spec) = p.variants.iter().find_map(|v| match &v.cluster {
        crate::run::ClusterSource::Kubernetes { spec } => Some(spec),
        _ => None,
    }) {
        for line in crate::experiment::kubernetes_differences(&p.experiment, spec.nodes) {
            out.push(format!("{}: {line}", p.file.display()));
        }
    }
    out
}

/// An error in `validate --json`: its message, and where it is when it is in a file.
fn error_json(e: &Error) -> serde_json::Value {
    let mut v = serde_json::json!({ "message": e.to_string() });
    if let Some(input) = e.input_error() {
        v["file"] = serde_json::json!(input.file);
        v["line"] = serde_json::json!(input.line);
        v["column"] = serde_json::json!(input.column);
        v["path"] = serde_json::json!(input.path);
        v["reason"] = serde_json::json!(input.message);
        v["hint"] = serde_json::json!(input.hint);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("chaos").chain(args.iter().copied()))
    }

    #[test]
    fn help_lists_every_exit_code_and_the_man_page_has_it() {
        for code in crate::exit::ExitCode::ALL {
            let line = format!("\n  {:<5}", code.code());
            assert!(
                AFTER_HELP.contains(&line),
                "exit code {} not in --help",
                code.code()
            );
        }
        let help = Cli::command().render_long_help().to_string();
        assert!(
            help.contains("EXIT STATUS") && help.contains("CHAOS_LOG"),
            "{help}"
        );
        let mut man = Vec::new();
        clap_mangen::Man::new(Cli::command())
            .render(&mut man)
            .unwrap();
        let man = String::from_utf8(man).unwrap();
        assert!(
            man.contains("EXIT STATUS") && man.contains("CHAOS_NODES"),
            "{man}"
        );
    }

    #[test]
    fn the_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn up_takes_compose_like_flags() {
        let cli = parse(&[
            "up",
            "-f",
            "a.yml",
            "-f",
            "b.yml",
            "--env-file",
            "x.env",
            "-p",
            "mine",
            "--profile",
            "ui",
        ])
        .expect("parses");
        let Command::Up {
            files,
            env_files,
            project_name,
            profiles,
            ..
        } = cli.command
        else {
            panic!("not up: {:?}", cli.command)
        };
        assert_eq!(files, [PathBuf::from("a.yml"), PathBuf::from("b.yml")]);
        assert_eq!(env_files, [PathBuf::from("x.env")]);
        assert_eq!(project_name.as_deref(), Some("mine"));
        assert_eq!(profiles, ["ui"]);
        let Command::Up { files, .. } = parse(&["up"]).expect("parses").command else {
            panic!("not up")
        };
        // The default is dispatch's: compose/seed.yml, or k8s/<CLUSTER>.yaml with --kubernetes.
        assert!(files.is_empty());
        let Command::Up {
            files, kubernetes, ..
        } = parse(&["up", "--kubernetes", "chaos/kraft", "-f", "k.yaml"])
            .expect("parses")
            .command
        else {
            panic!("not up")
        };
        assert_eq!(
            (files, kubernetes.as_deref()),
            (vec![PathBuf::from("k.yaml")], Some("chaos/kraft"))
        );
        // Compose's own flags mean nothing there.
        for flag in [
            &["--env-file", "x.env"][..],
            &["-p", "x"],
            &["--profile", "ui"],
            &["--fresh"],
        ] {
            let mut args = vec!["up", "--kubernetes", "chaos/kraft"];
            args.extend_from_slice(flag);
            assert!(parse(&args).is_err(), "{args:?}");
        }
    }

    #[test]
    fn project_name_selects_the_cluster_everywhere() {
        for args in [
            &["status", "-p", "seed"][..],
            &["status", "--project-name", "seed"],
            &["down", "--cluster", "seed"],
            &["watch", "-p", "seed"],
        ] {
            let cli = parse(args).expect("parses");
            let name = match cli.command {
                Command::Status { cluster, .. }
                | Command::Down { cluster }
                | Command::Watch { cluster } => cluster.name,
                other => panic!("{other:?}"),
            };
            assert_eq!(name.as_deref(), Some("seed"), "{args:?}");
        }
    }

    #[test]
    fn quiet_and_verbose_are_global_and_exclusive() {
        let cli = parse(&["run", "-q", "x.yaml"]).expect("parses");
        assert_eq!(cli.verbosity(), Verbosity::Quiet);
        let cli = parse(&["-vv", "status"]).expect("parses");
        assert_eq!(cli.verbosity(), Verbosity::VeryVerbose);
        assert!(parse(&["-q", "-v", "status"]).is_err());
    }

    #[test]
    fn new_commands_and_flags_parse() {
        let cli = parse(&[
            "run",
            "--dry-run",
            "--fresh",
            "a.yaml",
            "dir/",
            "-p",
            "x",
            "--env-file",
            "e",
        ])
        .expect("parses");
        let Command::Run(RunCommand { run: args, .. }) = cli.command else {
            panic!("not run")
        };
        assert!(args.dry_run && args.fresh);
        assert_eq!(args.files.len(), 2);
        assert_eq!(args.compose.project_name.as_deref(), Some("x"));
        assert_eq!(args.compose.env_files, [PathBuf::from("e")]);
        assert!(matches!(
            parse(&["validate", "a.yaml"]).expect("parses").command,
            Command::Validate { .. }
        ));
        assert!(parse(&["validate"]).is_err(), "validate needs a file");
        assert!(matches!(
            parse(&["completions", "zsh"]).expect("parses").command,
            Command::Completions {
                shell: clap_complete::Shell::Zsh
            }
        ));
        assert!(parse(&["completions", "tcsh"]).is_err());
        assert!(matches!(
            parse(&["man"]).expect("parses").command,
            Command::Man { dir: None }
        ));
        assert!(matches!(
            parse(&["compare", "--json", "a"]).expect("parses").command,
            Command::Compare { json: true, .. }
        ));
        assert!(matches!(
            parse(&["trend", "--json"]).expect("parses").command,
            Command::Trend { json: true, .. }
        ));
    }
}
