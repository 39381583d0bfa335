//! A run against a Kafka cluster on Kubernetes: the pods found by their labels, a tunnel per
//! broker, the pod watch feeding the run's stream, then the same session as on Docker
//! (`docker_platform` is its sibling). Nothing is started or removed.

use super::*;

/// The plain options of the Kubernetes platform from the experiment's `cluster.kubernetes`.
fn kubernetes_target(
    spec: &crate::experiment::KubernetesSpec,
) -> crate::kubernetes::KubernetesTarget {
    crate::kubernetes::KubernetesTarget {
        namespace: spec.namespace.clone(),
        cluster: spec.strimzi_cluster.clone(),
        context: spec.context.clone(),
        kubeconfig: spec.kubeconfig.clone(),
        pod_port: spec.external_port,
        local_port_base: spec.local_port_base,
        nodes: spec.nodes,
    }
}

/// One run against a Kafka cluster on Kubernetes: its pods found by their labels, a tunnel
/// per broker, the pod watch feeding the run's stream, then the same session as on Docker.
/// Nothing is started or removed; a fault's revert waits for the StatefulSet's own restart.
// Long: one run on Kubernetes in its order: connect, watch, wait until ready, record, execute, close
#[allow(clippy::too_many_arguments)] // run::run_variant's, and the Kubernetes spec it matched
pub(super) async fn run_variant(
    variant: &PreparedVariant,
    spec: &crate::experiment::KubernetesSpec,
    repeat: u32,
    args: &RunOptions,
    profile: &crate::kafka::connect::Profile,
    reporter: &dyn Reporter,
    shutdown: Shutdown,
    current_cluster: &Mutex<Option<HealTarget>>,
) -> Result<(RunResult, PathBuf, String), Error> {
    let say = &|m: &str| reporter.report(RunnerEvent::Status(m));
    let exp = &variant.experiment;
    let target = kubernetes_target(spec);
    say(&format!(
        "connecting to Kubernetes: namespace {}, pods labelled {}",
        target.namespace,
        target.selector()
    ));
    let started = std::time::Instant::now();
    let conn = shutdown
        .guard(crate::kubernetes::connect(&target))
        .await??;
    // From here a second Ctrl-C heals this namespace at once.
    *current_cluster.lock().unwrap_or_else(|e| e.into_inner()) = Some(HealTarget::Kubernetes {
        conn: conn.clone(),
        target: target.clone(),
    });
    let dir = reports::run_dir(&args.reports, &exp.name, &variant.name, repeat)?;
    let recorder = reports::Recorder::start(&dir, reporter.event_tap())?;
    let sink = recorder.sink();
    // The pod watch feeds the run's stream from here on; the tunnels live with the platform.
    let (platform, mut cluster) = shutdown
        .guard(crate::kubernetes::KubernetesRun::start(
            conn.clone(),
            &target,
            sink.clone(),
        ))
        .await??;
    let (namespace, timeout) = (&target.namespace, exp.cluster.ready_timeout);
    let waited = ready_or_why(&conn, namespace, &cluster, timeout, profile);
    let ready = shutdown
        .guard(waited)
        .await?
        .and_then(|()| assignment_fits(exp, &cluster));
    if let Err(e) = ready {
        drop(sink);
        drop(recorder);
        return Err(e);
    }
    cluster.ready_after = started.elapsed();
    for line in crate::experiment::kubernetes_differences(exp, target.nodes) {
        reporter.report(RunnerEvent::Warning(&line));
        sink.emit(EventKind::Note { message: line });
    }
    say(&found(&target, &cluster));
    let seed = exp.seed.unwrap_or_else(|| rand::random::<u32>() as u64);
    let client = record_start(&platform, &cluster, variant, profile, seed, &sink).await?;
    sink.emit(EventKind::Note {
        message: how_it_runs_there(&conn.address, &target),
    });
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
    if outcome.is_err() {
        // Belt and braces, as on Docker: nothing of ours stays faulted.
        heal_everything(&conn, &target, &sink).await;
    }
    let (result, dir) = close_run(recorder, dir, outcome, None, reporter).await?;
    Ok((
        result,
        dir,
        format!("{}/{}", target.namespace, target.cluster),
    ))
}

/// Every broker ready, or the pod that never answered, named with the last thing Kubernetes
/// said about it.
/// (A run's and `chaos up --kubernetes`'s wait.)
pub async fn ready_or_why(
    conn: &crate::kubernetes::Connection,
    namespace: &str,
    cluster: &cluster::Cluster,
    timeout: std::time::Duration,
    profile: &crate::kafka::connect::Profile,
) -> Result<(), Error> {
    let Err(NotReady { pod, why }) = wait_brokers_ready(cluster, timeout, profile).await else {
        return Ok(());
    };
    let event = crate::kubernetes::platform::last_event(&conn.client, namespace, &pod)
        .await
        .unwrap_or_else(|| "none readable".into());
    Err(Error::Timeout {
        what: format!("broker pod {pod} ready ({why}; its last Kubernetes event: {event})"),
        after: timeout,
    })
}

/// The topics' assignments name only brokers the cluster has (on Kubernetes a broker's id is
/// its pod's ordinal: known once the pods are found).
fn assignment_fits(
    exp: &crate::experiment::Experiment,
    cluster: &cluster::Cluster,
) -> Result<(), Error> {
    let ids: Vec<i32> = cluster.brokers().into_iter().map(|(_, id)| id).collect();
    let unknown = crate::experiment::unknown_assigned_brokers(exp, &ids);
    if unknown.is_empty() {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "topics: {} name broker(s) this cluster does not have (its brokers: {ids:?}, the pods' \
         ordinals)\n  hint: on Kubernetes a broker's id is its pod's ordinal; write the \
         assignment with those ids, or drop it",
        unknown
            .iter()
            .map(|(t, id)| format!("{t}'s assignment, broker {id}"))
            .collect::<Vec<_>>()
            .join("; ")
    )))
}

/// The status line once the cluster is found and ready.
fn found(target: &crate::kubernetes::KubernetesTarget, cluster: &cluster::Cluster) -> String {
    format!(
        "Kubernetes cluster {}/{} found: {} pod(s), brokers {} on nodes {}, ready in {:.1} s (reached through port-forwards: {})",
        target.namespace,
        target.cluster,
        cluster.services.len(),
        cluster
            .brokers()
            .iter()
            .map(|(s, id)| format!("{id} ({})", s.name))
            .collect::<Vec<_>>()
            .join(", "),
        cluster.node_names().join(", "),
        cluster.ready_after.as_secs_f64(),
        cluster.bootstrap_list()
    )
}

/// The report's note on what differs on Kubernetes (faults, moments, how clients reach it).
fn how_it_runs_there(api_server: &str, target: &crate::kubernetes::KubernetesTarget) -> String {
    format!(
        "on Kubernetes ({api_server}): pods faulted through the API, never created or removed; a killed \
         broker (SIGKILL of its JVM) is restarted in place by the kubelet, with its back-off, \
         not by chaos; a stopped one is deleted and recreated by its StatefulSet; moments of \
         signals at the exec's answer, of a stop at the delete's answer, of container exits and \
         starts from a pod watch (stamped on arrival, up to ~1 s late); clients reach broker N through a port-forward \
         127.0.0.1:{}+N → pod port {} via the API server{}",
        target.local_port_base,
        target.pod_port,
        target.nodes.clause()
    )
}

/// Every fault of ours in the namespace healed, each step noted in the run's events.
async fn heal_everything(
    conn: &crate::kubernetes::Connection,
    target: &crate::kubernetes::KubernetesTarget,
    sink: &crate::clock::EventSink,
) {
    match crate::kubernetes::clean(conn, target).await {
        Ok(done) => {
            for line in done {
                sink.emit(EventKind::Note {
                    message: format!("heal everything: {line}"),
                });
            }
        }
        Err(e) => sink.emit(EventKind::Error {
            message: format!("heal everything: {e}"),
        }),
    }
}

/// A broker pod that did not answer in time, and the last reason.
struct NotReady {
    pod: String,
    why: String,
}

/// Every broker answers through its tunnel with every broker registered and a controller
/// (the same check as on Docker; ZooKeeper's pod address is not reachable from outside the
/// cluster, so its health is read through the brokers'). Waiting, not measuring.
async fn wait_brokers_ready(
    cluster: &cluster::Cluster,
    timeout: std::time::Duration,
    profile: &crate::kafka::connect::Profile,
) -> Result<(), NotReady> {
    let deadline = std::time::Instant::now() + timeout;
    for (service, _) in cluster.brokers() {
        loop {
            match docker::cluster::ready::check(cluster, service, profile).await {
                Ok(()) => break,
                Err(why) if std::time::Instant::now() >= deadline => {
                    return Err(NotReady {
                        pod: service.name.clone(),
                        why: match why {
                            docker::cluster::ready::Unready::Yet(r)
                            | docker::cluster::ready::Unready::Refused(r) => r,
                        },
                    })
                }
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(250)).await,
            }
        }
    }
    Ok(())
}
