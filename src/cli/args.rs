//! The flags of `run`, `validate`, `observe`, `bench` and `serve`, and how each maps to the
//! plain options the library takes (ripgrep's split: clap stays in the CLI).

use super::progress::ResultFormat;
use crate::bench::BenchOptions;
use crate::kafka::connect::Profile;
use crate::observe::ObserveOptions;
use crate::run::{ComposeOverrides, RunOptions};
use crate::security::{
    ClientSecurity, SaslMechanism, SecurityError, SecurityInput, SecurityProtocol,
};
use crate::serve::ServeOptions;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

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
    /// Print the plan (compose file, cluster started or reused, broker settings, topics,
    /// variants × repeats, steps, expectations) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub compose: ComposeArgs,
}

/// Compose-like flags of `run` and `validate`, applied to every compose file an experiment
/// names.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ComposeArgs {
    /// Variables for ${VAR} in the compose files instead of the .env beside each (repeatable;
    /// the process environment still wins).
    #[arg(long = "env-file")]
    pub env_files: Vec<PathBuf>,
    /// The cluster (compose project) name for every experiment, instead of the compose
    /// file's `name:` or stem.
    #[arg(short = 'p', long = "project-name")]
    pub project_name: Option<String>,
    /// A nodes file: run each service on the Docker engine its `x-chaos-node` names (see
    /// README, "Several hosts"). Without it every service runs on the one engine.
    #[arg(long = "nodes", env = "CHAOS_NODES", value_name = "FILE")]
    pub nodes: Option<PathBuf>,
    /// Run every experiment against a Kafka cluster on Kubernetes instead of its compose
    /// file: NAMESPACE/CLUSTER, CLUSTER being the pods' `strimzi.io/cluster` label (see
    /// docs/kubernetes.md). Broker settings the experiment would set are refused: the
    /// cluster keeps its own.
    #[arg(long = "kubernetes", value_name = "NAMESPACE/CLUSTER")]
    pub kubernetes: Option<String>,
    /// The kubeconfig context for --kubernetes (default: the current context).
    #[arg(long = "kube-context", requires = "kubernetes")]
    pub kube_context: Option<String>,
    /// How a node fault reaches a node for --kubernetes: `pods` (default: each of the
    /// cluster's pods on it, through the API) or `docker-containers` (the nodes are
    /// containers of this machine's Docker engine named as the nodes — kind, k3d,
    /// scripts/k8s.sh — and `node-crash` kills the node itself).
    #[arg(long = "kube-nodes", requires = "kubernetes", value_enum)]
    pub kube_nodes: Option<KubeNodes>,
}

/// `--kube-nodes`: the CLI's names for [`crate::experiment::NodeAccess`].
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum KubeNodes {
    Pods,
    DockerContainers,
}

impl From<KubeNodes> for crate::experiment::NodeAccess {
    fn from(nodes: KubeNodes) -> Self {
        match nodes {
            KubeNodes::Pods => crate::experiment::NodeAccess::Pods,
            KubeNodes::DockerContainers => crate::experiment::NodeAccess::DockerContainers,
        }
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct ObserveArgs {
    /// The cluster's bootstrap addresses, as a client reaches them (host:port,…).
    #[arg(long, required = true)]
    pub bootstrap: String,
    /// How long to observe.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// The workload's topic: deleted and created fresh at the start — never name a topic
    /// whose data matters.
    #[arg(long, default_value = "chaos-observe")]
    pub topic: String,
    #[arg(long, default_value_t = 3)]
    pub partitions: i32,
    /// Replication factor (at most the number of brokers).
    #[arg(long, default_value_t = 3)]
    pub replication_factor: i32,
    /// The topic's min.insync.replicas.
    #[arg(long, default_value_t = 2)]
    pub min_insync_replicas: u32,
    /// Messages per second.
    #[arg(long, default_value_t = 200)]
    pub rate: u32,
    /// The run's name in its reports.
    #[arg(long, default_value = "observe")]
    pub name: String,
    /// Where the run directory is written.
    #[arg(long, default_value = "reports")]
    pub reports: PathBuf,
    #[command(flatten)]
    pub security: SecurityFlags,
}

/// How the clients connect; each flag overrides its CHAOS_KAFKA_* variable. The password is
/// read from CHAOS_KAFKA_SASL_PASSWORD only, never from a flag.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Connection security (default: the CHAOS_KAFKA_* environment)")]
pub struct SecurityFlags {
    /// plaintext, ssl, sasl-plaintext or sasl-ssl [env: CHAOS_KAFKA_SECURITY_PROTOCOL].
    #[arg(long, value_name = "PROTOCOL")]
    pub security_protocol: Option<SecurityProtocol>,
    /// plain, scram-sha-256 or scram-sha-512 [env: CHAOS_KAFKA_SASL_MECHANISM].
    #[arg(long, value_name = "MECHANISM")]
    pub sasl_mechanism: Option<SaslMechanism>,
    /// [env: CHAOS_KAFKA_SASL_USERNAME]; the password: CHAOS_KAFKA_SASL_PASSWORD.
    #[arg(long, value_name = "USER")]
    pub sasl_username: Option<String>,
    /// PEM file of the CA that signed the brokers' certificates [env: CHAOS_KAFKA_SSL_CA].
    #[arg(long, value_name = "FILE")]
    pub ssl_ca: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS [env: CHAOS_KAFKA_SSL_CERT].
    #[arg(long, value_name = "FILE")]
    pub ssl_cert: Option<PathBuf>,
    /// The client certificate's key (PEM) [env: CHAOS_KAFKA_SSL_KEY].
    #[arg(long, value_name = "FILE")]
    pub ssl_key: Option<PathBuf>,
    /// Do not check that a broker's certificate names its host [env:
    /// CHAOS_KAFKA_SSL_VERIFY_HOSTNAME=false].
    #[arg(long)]
    pub ssl_no_verify_hostname: bool,
}

impl SecurityFlags {
    pub fn to_input(&self) -> SecurityInput {
        SecurityInput {
            protocol: self.security_protocol,
            mechanism: self.sasl_mechanism,
            username: self.sasl_username.clone(),
            ca_file: self.ssl_ca.clone(),
            cert_file: self.ssl_cert.clone(),
            key_file: self.ssl_key.clone(),
            verify_hostname: self.ssl_no_verify_hostname.then_some(false),
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Messages for the throughput comparison.
    #[arg(long, default_value_t = 200_000)]
    pub messages: u64,
    /// Pairs of rounds (untracked, then tracked) in the tracking-cost comparison; 6 or more
    /// give its cost a 95 % interval.
    #[arg(long, default_value_t = 9, value_parser = clap::value_parser!(u16).range(1..))]
    pub rounds: u16,
    /// Messages for the verification benchmark.
    #[arg(long, default_value_t = 10_000_000)]
    pub verify_messages: u64,
    /// Seconds of steady workload for the overhead measurement.
    #[arg(long, default_value_t = 30)]
    pub overhead_seconds: u64,
    #[arg(long, default_value = "reports")]
    pub reports: PathBuf,
    /// Only the pure verification benchmark (no cluster).
    #[arg(long)]
    pub verify_only: bool,
    /// Only the soak: MINUTES of a steady 500 msg/s tracked workload with the observer, this
    /// process's memory read every 30 s (does it stay flat?).
    #[arg(long, value_name = "MINUTES")]
    pub soak: Option<u64>,
    /// Only the cost of tracking: the tracked producer against an untracked one, in
    /// alternating rounds of --messages each (throughput and CPU per message).
    #[arg(long, conflicts_with = "soak")]
    pub tracking_only: bool,
    /// With --tracking-only: only on librdkafka's mock cluster, in this process (no Docker):
    /// the client's own cost, the client being the bottleneck.
    #[arg(long, requires = "tracking_only")]
    pub mock_only: bool,
}

/// `chaos serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// The reports folder to browse.
    #[arg(long, default_value = "reports")]
    pub reports: PathBuf,
    /// Port (0: any free port; the address is printed).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Address to bind; 127.0.0.1 keeps the view on this machine.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
}

/// `chaos run --serve`: the same server for the duration of the run.
#[derive(Debug, Clone, clap::Args)]
pub struct RunServeArgs {
    /// Serve the live web view of the run (and the reports folder) while it runs; with
    /// --keep, until Ctrl-C after the run.
    #[arg(long)]
    pub serve: bool,
    /// Port of the web view (0: any free port).
    #[arg(long, default_value_t = 8080, requires = "serve")]
    pub serve_port: u16,
    /// Address of the web view.
    #[arg(long, default_value = "127.0.0.1", requires = "serve")]
    pub serve_bind: IpAddr,
}

/// `--json` of `validate` and `observe`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct JsonArg {
    /// One JSON document on stdout instead of text (progress and tables stay on stderr).
    #[arg(long)]
    pub json: bool,
}

impl JsonArg {
    pub fn format(&self) -> ResultFormat {
        if self.json {
            ResultFormat::Json
        } else {
            ResultFormat::Text
        }
    }
}

/// How `chaos run` gives its results on stdout.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct RunOutputArgs {
    /// One JSON document on stdout at the end: every run's result (as result.json) and
    /// report folder, the differences beyond noise, the errors, the exit code. With
    /// --dry-run: the plan. Tables and progress stay on stderr.
    #[arg(long, conflicts_with = "json_events")]
    pub json: bool,
    /// Every event of every run on stdout as it is recorded, one JSON object per line
    /// (NDJSON, the events.jsonl format). Tables and progress stay on stderr.
    #[arg(long)]
    pub json_events: bool,
}

impl RunOutputArgs {
    pub fn format(&self) -> ResultFormat {
        match (self.json, self.json_events) {
            (true, _) => ResultFormat::Json,
            (_, true) => ResultFormat::JsonEvents,
            _ => ResultFormat::Text,
        }
    }
}

impl RunArgs {
    /// `security`: how clients connect where an experiment does not say (the environment's).
    pub fn options(self, security: ClientSecurity) -> RunOptions {
        RunOptions {
            files: self.files,
            reports: self.reports,
            keep: self.keep,
            fresh: self.fresh,
            junit: self.junit,
            summary_md: self.summary_md,
            dry_run: self.dry_run,
            compose: self.compose.options(),
            security,
        }
    }
}

impl ComposeArgs {
    pub fn options(self) -> ComposeOverrides {
        ComposeOverrides {
            env_files: self.env_files,
            project_name: self.project_name,
            nodes: self.nodes,
            kubernetes: self.kubernetes,
            kube_context: self.kube_context,
            kube_nodes: self.kube_nodes.map(Into::into).unwrap_or_default(),
        }
    }
}

impl ObserveArgs {
    /// The security flags over the CHAOS_KAFKA_* environment, field by field.
    pub fn options(self) -> Result<ObserveOptions, SecurityError> {
        Ok(ObserveOptions {
            bootstrap: self.bootstrap,
            duration: self.duration,
            topic: self.topic,
            partitions: self.partitions,
            replication_factor: self.replication_factor,
            min_insync_replicas: self.min_insync_replicas,
            rate: self.rate,
            name: self.name,
            reports: self.reports,
            security: crate::kafka::connect::from_environment_and(self.security.to_input())?,
        })
    }
}

impl BenchArgs {
    pub fn options(self) -> BenchOptions {
        BenchOptions {
            messages: self.messages,
            rounds: usize::from(self.rounds),
            verify_messages: self.verify_messages,
            overhead_seconds: self.overhead_seconds,
            reports: self.reports,
            verify_only: self.verify_only,
            soak_minutes: self.soak,
            tracking_only: self.tracking_only,
            mock_only: self.mock_only,
        }
    }
}

impl ServeArgs {
    pub fn options(self, profile: Profile) -> ServeOptions {
        ServeOptions {
            reports: self.reports,
            port: self.port,
            bind: self.bind,
            profile,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        args: ObserveArgs,
    }

    #[test]
    fn observe_flags_make_a_valid_experiment_with_one_wait() {
        let t = T::parse_from([
            "t",
            "--bootstrap",
            "h:1",
            "--duration",
            "90s",
            "--rate",
            "50",
        ]);
        let exp = crate::observe::experiment_for(&t.args.options().unwrap(), 2).unwrap();
        assert_eq!(exp.steps.len(), 1);
        assert_eq!(exp.steps[0].wait, Some(Duration::from_secs(90)));
        // The replication factor never exceeds the brokers found.
        assert_eq!(exp.topics[0].replication_factor, 2);
        assert_eq!(exp.topics[0].name, "chaos-observe");
        let w = exp.workload.unwrap();
        assert_eq!((w.rate, w.consumer), (50, true));
    }

    #[test]
    fn security_flags_parse_in_both_spellings_and_take_no_password() {
        let t = T::parse_from([
            "t",
            "--bootstrap",
            "h:1",
            "--security-protocol",
            "SASL_SSL",
            "--sasl-mechanism",
            "scram-sha-512",
            "--sasl-username",
            "alice",
            "--ssl-no-verify-hostname",
        ]);
        let input = t.args.security.to_input();
        assert_eq!(input.protocol, Some(SecurityProtocol::SaslSsl));
        assert_eq!(input.mechanism, Some(SaslMechanism::ScramSha512));
        assert_eq!(input.verify_hostname, Some(false));
        assert!(T::try_parse_from(["t", "--bootstrap", "h:1", "--sasl-password", "x"]).is_err());
        assert!(
            T::try_parse_from(["t", "--bootstrap", "h:1", "--security-protocol", "tls"]).is_err()
        );
    }
}
