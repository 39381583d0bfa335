//! `chaos observe`: a cluster chaos did not start, while something else disturbs it (a rolling
//! restart, an upgrade, an operator's change). No faults of ours: the observer, a tracked
//! workload on a topic of our own and the final verification run, and the reports are those
//! of a run.

use crate::error::Error;
use crate::events::{ClusterMode, EventKind};
use crate::exit::ExitCode;
use crate::experiment::Experiment;
use crate::kafka::connect::Profile;
use crate::platform::{Cluster, Role, RunningService};
use crate::run::shutdown::Shutdown;
use crate::run::{
    close_run, execute_catching_panics, reports, run_started, session, signals, Reporter,
    RunnerEvent,
};
use crate::security::ClientSecurity;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct ObserveOptions {
    /// The cluster's bootstrap addresses, as a client reaches them (host:port,…).
    pub bootstrap: String,
    /// How long to observe.
    pub duration: Duration,
    /// The workload's topic: deleted and created fresh at the start — never name a topic
    /// whose data matters.
    pub topic: String,
    pub partitions: i32,
    /// Replication factor (at most the number of brokers).
    pub replication_factor: i32,
    /// The topic's min.insync.replicas.
    pub min_insync_replicas: u32,
    /// Messages per second.
    pub rate: u32,
    /// The run's name in its reports.
    pub name: String,
    /// Where the run directory is written.
    pub reports: PathBuf,
    /// How the clients connect (the CLI's flags over the CHAOS_KAFKA_* environment).
    pub security: ClientSecurity,
}

/// The experiment `observe` runs: one topic, the tracked workload (acks=all) with a live
/// consumer, and a single step — waiting.
pub fn experiment_for(args: &ObserveOptions, brokers: usize) -> Result<Experiment, Error> {
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

pub async fn observe(args: ObserveOptions, reporter: &dyn Reporter) -> Result<ExitCode, Error> {
    let say = &|m: &str| reporter.report(RunnerEvent::Status(m));
    let connected_as = args.security.to_string();
    let profile = Profile::new(args.security.clone());
    let (brokers, kraft) =
        crate::kafka::metadata::discover(&args.bootstrap, Duration::from_secs(5), &profile)
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
    let recorder = reports::Recorder::start(&dir, reporter.event_tap())?;
    let sink = recorder.sink();
    let seed = rand::random::<u32>() as u64;
    // Not ours (never "reused"): the header says "not started by chaos" in Kafka's version.
    sink.emit(run_started(
        &exp,
        None,
        &cluster,
        "unknown (not started by chaos)".into(),
        reports::settings_in_force(
            &cluster,
            &crate::kafka::producer::ClientLibrary::Librdkafka,
            &profile,
        )
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
        profile,
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
    Ok(crate::run::exit_code_of(&result, shutdown.is_set()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cluster_is_named_by_broker_ids_and_addresses() {
        let c = external_cluster(&[(1, "a:1".into()), (2, "b:2".into())], true);
        assert_eq!(c.bootstrap_list(), "a:1,b:2");
        assert_eq!(c.mode, ClusterMode::Kraft);
        assert_eq!(c.broker_id("broker-2"), Some(2));
    }
}
