//! `chaos observe`: a cluster chaos did not start, while something else disturbs it (a rolling
//! restart, an upgrade, an operator's change). No faults of ours: the observer, a tracked
//! workload on a topic of our own and the final verification run, and the reports are those
//! of a run.

use super::progress::{Reporter, RunnerEvent};
use super::shutdown::Shutdown;
use super::{close_run, execute_catching_panics, reports, run_started, session, signals};
use crate::error::Error;
use crate::events::{ClusterMode, EventKind};
use crate::exit::ExitCode;
use crate::experiment::Experiment;
use crate::platform::{Cluster, Role, RunningService};
use crate::security::{SaslMechanism, SecurityInput, SecurityProtocol};
use std::path::PathBuf;
use std::time::Duration;

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

/// The experiment `observe` runs: one topic, the tracked workload (acks=all) with a live
/// consumer, and a single step — waiting.
pub fn experiment_for(args: &ObserveArgs, brokers: usize) -> Result<Experiment, Error> {
    let yaml = format!(
        "name: {name:?}\n\
         cluster: {{compose: external, warm-up: 0s}}\n\
         topics:\n  - name: {topic:?}\n    partitions: {partitions}\n    replication-factor: {rf}\n    config: {{min.insync.replicas: \"{isr}\"}}\n\
         workload: {{acks: all, rate: {rate}, consumer: true}}\n\
         steps:\n  - wait: {duration}\n",
        name = args.name,
        topic = args.topic,
        partitions = args.partitions.max(1),
        rf = args.replication_factor.clamp(1, brokers.max(1) as i32),
        isr = args.min_insync_replicas.max(1),
        rate = args.rate,
        duration = humantime::format_duration(args.duration),
    );
    serde_yaml_ng::from_str(&yaml)
        .map_err(|e| Error::Invalid(format!("observe: {e} (from the flags)")))
}

/// The cluster as the runner sees it, from the brokers' own metadata.
fn external_cluster(brokers: &[(i32, String)], kraft: bool) -> Cluster {
    Cluster {
        name: "external".into(),
        origin: crate::platform::Origin::External,
        network: String::new(),
        mode: if kraft {
            ClusterMode::Kraft
        } else {
            ClusterMode::Zookeeper
        },
        config_hash: String::new(),
        services: brokers
            .iter()
            .map(|(id, addr)| RunningService {
                name: format!("broker-{id}"),
                container_id: String::new(),
                container_name: String::new(),
                role: Role::Broker { id: *id, kraft },
                host_bootstrap: Some(addr.clone()),
                ip: None,
                state: crate::platform::ContainerState::Running,
                node: None,
            })
            .collect(),
        reused: false,
        ready_after: Duration::ZERO,
        replaced_unready: None,
        nodes: Vec::new(),
    }
}

pub async fn observe(args: ObserveArgs, reporter: &dyn Reporter) -> Result<ExitCode, Error> {
    let say = &|m: &str| reporter.report(RunnerEvent::Status(m));
    let security = crate::kafka::connect::from_environment_and(args.security.to_input())?;
    let connected_as = security.to_string();
    crate::kafka::connect::install(security);
    let (brokers, kraft) =
        crate::kafka::metadata::discover(&args.bootstrap, Duration::from_secs(5))
            .await
            .map_err(Error::Kafka)?;
    let cluster = external_cluster(&brokers, kraft);
    let exp = experiment_for(&args, brokers.len())?;
    say(&format!(
        "observing {} ({} broker(s), {} mode, {connected_as}) for {}",
        args.bootstrap,
        brokers.len(),
        cluster.mode,
        humantime::format_duration(args.duration)
    ));
    let (trigger, shutdown) = Shutdown::new();
    // No faults of ours to heal: the first signal stops and reports, the second one ends the
    // process at once (the caller exits 130).
    let handler = tokio::spawn(async move {
        signals::first_stops_second_aborts(signals::os_interrupts(), &trigger, |_| {}).await
    });
    let dir = reports::run_dir(&args.reports, &exp.name, "", 1)?;
    let recorder = reports::Recorder::start(&dir)?;
    let sink = recorder.sink();
    let seed = rand::random::<u32>() as u64;
    // Not ours (never "reused"): the header says "not started by chaos" in Kafka's version.
    sink.emit(run_started(
        &exp,
        None,
        &cluster,
        "unknown (not started by chaos)".into(),
        reports::settings_in_force(&cluster, &crate::kafka::producer::ClientLibrary::Librdkafka)
            .await,
        seed,
    ));
    sink.emit(EventKind::Note {
        message: format!(
            "cluster not started by chaos, observed at {} over {connected_as}: no faults of \
             ours, no container events and no broker logs (no cross-check with Kafka's own log)",
            args.bootstrap
        ),
    });
    let ctx = session::RunContext {
        cluster: &cluster,
        experiment: &exp,
        sink: sink.clone(),
        seed,
        producer_id: rand::random(),
        progress: say,
        client: crate::kafka::producer::ClientLibrary::Librdkafka,
    };
    let outcome = tokio::select! {
        outcome = execute_catching_panics(&ctx, crate::platform::NotStarted, shutdown.clone()) => outcome,
        Ok(Some(_)) = handler => return Ok(ExitCode::Interrupted),
    };
    drop(sink);
    let (result, dir) = close_run(recorder, dir, outcome, None, reporter).await?;
    reporter.report(RunnerEvent::VariantFinished {
        result: &result,
        dir: &dir,
        experiment_file: std::path::Path::new("(observe)"),
    });
    reporter.report(RunnerEvent::Finished);
    Ok(super::outcome::exit_code_of(&result, shutdown.is_set()))
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
    fn the_flags_make_a_valid_experiment_with_one_wait() {
        let t = T::parse_from([
            "t",
            "--bootstrap",
            "h:1",
            "--duration",
            "90s",
            "--rate",
            "50",
        ]);
        let exp = experiment_for(&t.args, 2).unwrap();
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

    #[test]
    fn the_cluster_is_named_by_broker_ids_and_addresses() {
        let c = external_cluster(&[(1, "a:1".into()), (2, "b:2".into())], true);
        assert_eq!(c.bootstrap_list(), "a:1,b:2");
        assert_eq!(c.mode, ClusterMode::Kraft);
        assert_eq!(c.broker_id("broker-2"), Some(2));
    }
}
