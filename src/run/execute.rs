//! One run of one experiment variant against a running cluster: topics, observer, workload,
//! steps, heal, verification. Everything measured goes to the event stream.

use super::conditions::{self, Baseline};
use super::docker_events::DockerEventLog;
use super::faults::{Faults, HealTarget};
use crate::clock::EventSink;
use crate::docker::cluster::Cluster;
use crate::docker::DockerError;
use crate::error::Error;
use crate::events::{BrokerId, ClusterSnapshot, ConditionCheck, EventKind, LatencyPhase, RunPhase};
use crate::experiment::{Condition, ElectionType, Experiment, Step};
use crate::kafka::metadata;
use crate::kafka::producer::{ProducerOptions, TrackedProducer};
use crate::kafka::wire::Connection;
use crate::run::observer::{Observer, ObserverOptions};
use bollard::Docker;
use rand::SeedableRng;
use std::time::{Duration, Instant};
use tokio::sync::watch;

const DEFAULT_WAIT_TIMEOUT: Duration = Duration::from_secs(60);
/// After the last step: every fault reverted, then the cluster must be whole again.
const HEAL_TIMEOUT: Duration = Duration::from_secs(180);

pub struct RunContext<'a> {
    pub docker: &'a Docker,
    pub cluster: &'a Cluster,
    pub experiment: &'a Experiment,
    pub sink: EventSink,
    pub seed: u64,
    pub producer_id: u64,
    pub progress: &'a (dyn Fn(&str) + Sync),
}

/// Runs the experiment; faults are reverted whatever happens. `interrupt` resolves on Ctrl-C.
pub async fn execute(ctx: &RunContext<'_>, interrupt: watch::Receiver<bool>) -> Result<(), Error> {
    let exp = ctx.experiment;
    let bootstrap = ctx.cluster.bootstrap_list();
    let topics: Vec<String> = exp.topics.iter().map(|t| t.name.clone()).collect();
    (ctx.progress)("creating topics");
    setup_topics(ctx).await?;
    record_topic_settings(ctx).await;

    let events_rx = crate::docker::events::subscribe(ctx.docker, &ctx.cluster.name).await;
    let docker_events = DockerEventLog::start(events_rx, ctx.sink.clone());
    let observer = Observer::start(
        ObserverOptions {
            endpoints: ctx.cluster.bootstrap(),
            kraft: ctx.cluster.mode == crate::events::ClusterMode::Kraft,
            period: exp.observer.period,
            fast_period: exp.observer.fast_period,
            topics: topics.clone(),
        },
        ctx.sink.clone(),
    );
    let expected_brokers: Vec<BrokerId> = ctx
        .cluster
        .brokers()
        .into_iter()
        .map(|(_, id)| id)
        .collect();
    let mut view = observer.view();
    unless_interrupted(
        &interrupt,
        wait_condition(
            &mut view,
            &Condition::ClusterHealthy(true),
            &Baseline::default(),
            &expected_brokers,
            Duration::from_secs(60),
        ),
    )
    .await?
    .map_err(|_| Error::Io("the topics did not become fully replicated within 60 s".into()))?;

    let producer = match &exp.workload {
        Some(w) => {
            let (topic, partitions) = exp.workload_topic().unwrap_or_default();
            Some(
                TrackedProducer::start(
                    ProducerOptions {
                        bootstrap: bootstrap.clone(),
                        topic,
                        partitions,
                        acks: w.acks,
                        idempotence: w.idempotence,
                        rate: w.rate,
                        message_size: w.message_size,
                        delivery_timeout: w.delivery_timeout,
                        retries: w.retries,
                        extra: w
                            .producer_config
                            .iter()
                            .map(|(k, v)| (k.clone(), v.0.clone()))
                            .collect(),
                        producer_id: ctx.producer_id,
                        max_messages: w.messages,
                        keys: w.keys,
                        key_seed: ctx.seed,
                    },
                    ctx.sink.clone(),
                )
                .map_err(Error::Kafka)?,
            )
        }
        None => None,
    };
    let live_consumer = match (&exp.workload, &producer) {
        (Some(w), Some(p)) if w.consumer => {
            let (topic, partitions) = exp.workload_topic().unwrap_or_default();
            Some(
                crate::kafka::live_consumer::LiveConsumer::start(
                    &bootstrap,
                    &topic,
                    partitions,
                    ctx.producer_id,
                    p.phase_handle(),
                    ctx.sink.clone(),
                )
                .map_err(Error::Kafka)?,
            )
        }
        _ => None,
    };
    let group = match (&exp.workload, &producer) {
        (Some(w), Some(_)) => match &w.group {
            Some(g) => {
                let (topic, partitions) = exp.workload_topic().unwrap_or_default();
                Some(std::sync::Arc::new(
                    crate::kafka::group::GroupWorkload::start(
                        crate::kafka::group::GroupOptions {
                            bootstrap: bootstrap.clone(),
                            topic,
                            partitions,
                            group_id: group_id(&g.id, ctx.producer_id),
                            members: g.members,
                            commit: g.commit,
                            commit_interval: g.commit_interval,
                            processing: g.processing,
                            session_timeout: g.session_timeout,
                            max_poll_interval: g.max_poll_interval,
                            extra: g
                                .consumer_config
                                .iter()
                                .map(|(k, v)| (k.clone(), v.0.clone()))
                                .collect(),
                            producer_id: ctx.producer_id,
                        },
                        ctx.sink.clone(),
                    )
                    .map_err(Error::Kafka)?,
                ))
            }
            None => None,
        },
        _ => None,
    };
    // Transactional messages carry a producer id of their own: the acked-message checker and
    // the group read past them.
    let txn_producer_id = ctx.producer_id ^ 0x5458_0000_0000_0000;
    let txn_producer = match (&exp.workload, &producer) {
        (Some(w), Some(_)) => match &w.transactions {
            Some(t) => {
                let (topic, partitions) = exp.workload_topic().unwrap_or_default();
                Some(
                    crate::kafka::transactions::TxnProducer::start(
                        crate::kafka::transactions::TxnOptions {
                            bootstrap: bootstrap.clone(),
                            topic,
                            partitions,
                            transactional_id: group_id(&t.id, ctx.producer_id),
                            producer_id: txn_producer_id,
                            size: t.size,
                            abort_every: t.abort_every,
                            pause: t.pause,
                        },
                        ctx.sink.clone(),
                    )
                    .map_err(Error::Kafka)?,
                )
            }
            None => None,
        },
        _ => None,
    };
    let ticker = producer.as_ref().map(|_| ());
    let mut faults = Faults {
        docker: ctx.docker,
        cluster: ctx.cluster,
        sink: ctx.sink.clone(),
        events: docker_events.clone(),
        rng: rand::rngs::StdRng::seed_from_u64(ctx.seed),
        active: Vec::new(),
        resolved: Default::default(),
        down_on_purpose: Default::default(),
        group: group.clone(),
        coordinator_keys: exp
            .workload
            .iter()
            .filter_map(|w| w.group.as_ref())
            .map(|g| (g.id.clone(), group_id(&g.id, ctx.producer_id)))
            .chain(
                exp.workload
                    .iter()
                    .filter_map(|w| w.transactions.as_ref())
                    .map(|t| (t.id.clone(), group_id(&t.id, ctx.producer_id))),
            )
            .collect(),
    };
    // A fresh client's write to each partition that becomes usable again, beside the
    // long-lived producer's first ack (is a slow recovery the cluster's or the client's?).
    let prober = exp.workload.as_ref().map(|w| {
        let (topic, _) = exp.workload_topic().unwrap_or_default();
        tokio::spawn(probe_recoveries(
            observer.view(),
            faults.down_on_purpose.clone(),
            ctx.cluster
                .brokers()
                .into_iter()
                .map(|(s, id)| (s.name.clone(), id))
                .collect(),
            topic,
            std::sync::Arc::new(crate::kafka::probe::ProbeOptions {
                bootstrap: bootstrap.clone(),
                acks: w.acks,
                extra: w
                    .producer_config
                    .iter()
                    .map(|(k, v)| (k.clone(), v.0.clone()))
                    .collect(),
                timeout: Duration::from_secs(10),
            }),
            ctx.sink.clone(),
        ))
    });
    let supervisor = tokio::spawn(supervise(
        ctx.docker.clone(),
        ctx.cluster.name.clone(),
        faults.down_on_purpose.clone(),
        ctx.sink.clone(),
    ));

    if let Some(g) = &group {
        // Faults are meant for a formed group: every partition held by a member first.
        (ctx.progress)("waiting for the consumer group to be assigned every partition");
        let formed = async {
            while !g.fully_assigned() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        // An interrupt here falls through to the steps, which stop at once and heal.
        if let Ok(Err(_)) = unless_interrupted(
            &interrupt,
            tokio::time::timeout(Duration::from_secs(60), formed),
        )
        .await
        {
            ctx.sink.emit(EventKind::Note {
                message: "the consumer group was not assigned every partition within 60 s; \
                          the steps start anyway"
                    .into(),
            });
        }
    }
    ctx.sink.emit(EventKind::Phase {
        name: RunPhase::Steps,
    });
    let started = Instant::now();
    let steps_result = {
        let steps = run_steps(
            ctx,
            &mut faults,
            &observer,
            producer.as_ref(),
            &expected_brokers,
            started,
        );
        let tick = tick_workload(
            producer.as_ref(),
            group.as_deref(),
            &ctx.sink,
            ticker.is_some(),
        );
        tokio::select! {
            r = unless_interrupted(&interrupt, steps) => r.and_then(|r| r),
            lost = docker_events.daemon_lost(ctx.docker) => Err(Error::Docker(lost)),
            _ = tick => unreachable!("the tick loop never ends"),
        }
    };

    // Heal: always, whatever happened above.
    ctx.sink.emit(EventKind::Phase {
        name: RunPhase::Heal,
    });
    (ctx.progress)("healing: reverting every fault");
    let heal_result = faults.heal(HealTarget::All).await;
    if let Some(p) = &producer {
        p.set_phase(LatencyPhase::AfterHeal);
    }
    if let Err(e) = &heal_result {
        ctx.sink.emit(EventKind::Error {
            message: format!("heal: {e}"),
        });
    }
    // A Ctrl-C during the heal wait or the re-read cuts them short: the faults are already
    // reverted, and what was measured so far goes into a partial report.
    // Without the daemon there is no cluster to wait for or to re-read.
    let docker_lost = matches!(steps_result, Err(Error::Docker(DockerError::Lost(_))));
    if !is_interrupted(&interrupt) && !docker_lost {
        (ctx.progress)("waiting for every partition to be led and fully replicated");
        // Every broker must answer for itself first: right after a revert the metadata can
        // still show the pre-fault view (the cluster has not noticed the fault yet).
        let mut answering = observer.answering();
        let mut view = observer.view();
        let whole = Condition::ClusterHealthy(true);
        let baseline = Baseline::default();
        let heal_wait = async {
            let _ = tokio::time::timeout(
                HEAL_TIMEOUT,
                answering.wait_for(|a| expected_brokers.iter().all(|b| a.contains(b))),
            )
            .await;
            wait_condition(
                &mut view,
                &whole,
                &baseline,
                &expected_brokers,
                HEAL_TIMEOUT,
            )
            .await
        };
        let healed = tokio::select! {
            r = unless_interrupted(&interrupt, heal_wait) => r,
            _ = tick_workload(producer.as_ref(), group.as_deref(), &ctx.sink, ticker.is_some()) => unreachable!(),
        };
        if let Ok(Err(_)) = healed {
            ctx.sink.emit(EventKind::Error {
                message: format!(
                    "the cluster was not whole again within {} s of the heal",
                    HEAL_TIMEOUT.as_secs()
                ),
            });
        }
    }

    // Recovery window: the workload goes on until every partition has an ack again (from
    // now, the cluster being whole), or the window ends — so a client that does not resume
    // shows up as such instead of being cut off by the drain.
    if let (Some(p), Some(w)) = (&producer, &exp.workload) {
        if !is_interrupted(&interrupt) && !docker_lost && !w.recovery_window.is_zero() {
            ctx.sink.emit(EventKind::Phase {
                name: RunPhase::RecoveryWindow,
            });
            (ctx.progress)(&format!(
                "recovery window: until every partition is acked again (up to {})",
                humantime::format_duration(w.recovery_window)
            ));
            let from = ctx.sink.clock().now_us();
            let resumed = async {
                let mut check = tokio::time::interval(Duration::from_millis(100));
                // A producer that reached its message count sends nothing more to wait for.
                while p.is_sending() && !p.every_partition_acked_since(from) {
                    check.tick().await;
                }
            };
            let window = tokio::time::timeout(w.recovery_window, resumed);
            tokio::select! {
                _ = unless_interrupted(&interrupt, window) => {}
                _ = tick_workload(producer.as_ref(), group.as_deref(), &ctx.sink, ticker.is_some()) => unreachable!(),
            }
        }
    }
    if let Some(p) = producer {
        ctx.sink.emit(EventKind::Phase {
            name: RunPhase::Drain,
        });
        (ctx.progress)("stopping the workload, waiting for outstanding acks");
        let (summary, ledger) = tokio::task::spawn_blocking(move || p.finish())
            .await
            .map_err(|e| Error::Io(e.to_string()))?;
        let acked = summary.acked;
        ctx.sink.emit(EventKind::WorkloadDone(summary));
        let mut consumed = None;
        if let Some(c) = live_consumer {
            // The consumer reads on until it has every acked message (or 10 s passed); an
            // interrupted run or a lost daemon does not wait for it.
            let grace = if is_interrupted(&interrupt) || docker_lost {
                Duration::ZERO
            } else {
                Duration::from_secs(10)
            };
            let (seen, which) = tokio::task::spawn_blocking(move || c.finish(acked, grace))
                .await
                .map_err(|e| Error::Io(e.to_string()))?;
            ctx.sink.emit(EventKind::ConsumerDone(seen));
            consumed = Some(which);
        }
        // The group reads on until it processed every acked message (or 20 s passed); then
        // its members commit and leave. Its history is judged after the re-read (skips).
        faults.group = None;
        let mut group_record = None;
        if let Some(g) = group.and_then(std::sync::Arc::into_inner) {
            let grace = if is_interrupted(&interrupt) || docker_lost {
                Duration::ZERO
            } else {
                Duration::from_secs(20)
            };
            (ctx.progress)("letting the consumer group catch up");
            let (history, commit_failures, errors) =
                tokio::task::spawn_blocking(move || g.finish(acked, grace))
                    .await
                    .map_err(|e| Error::Io(e.to_string()))?;
            group_record = Some((history, commit_failures, errors));
        }
        let group_seen = group_record.as_ref().map(|(h, _, _)| {
            let (_, partitions) = exp.workload_topic().unwrap_or_default();
            let mut seen = crate::analysis::verify::SeenSet::new(partitions);
            for p in &h.processed {
                seen.insert(p.partition, p.seq);
            }
            seen
        });
        let mut unprocessed = None;
        let verify = exp.workload.as_ref().is_some_and(|w| w.verify);
        if verify && !is_interrupted(&interrupt) && !docker_lost {
            ctx.sink.emit(EventKind::Phase {
                name: RunPhase::Verify,
            });
            (ctx.progress)("re-reading every partition and checking every acked message");
            let (topic, partitions) = exp.workload_topic().unwrap_or_default();
            let options = crate::kafka::reader::ReadOptions {
                bootstrap: bootstrap.clone(),
                topic,
                partitions,
                producer_id: ctx.producer_id,
                timeout: Duration::from_secs(120),
            };
            let group_seen = group_seen.clone();
            let reread = tokio::task::spawn_blocking(move || {
                crate::kafka::reader::reread_and_check_with_group(
                    &options,
                    &ledger,
                    consumed.as_ref(),
                    group_seen.as_ref(),
                )
            });
            // An interrupted re-read is abandoned (the blocking reader ends with the process).
            match unless_interrupted(&interrupt, reread).await {
                Err(_) => ctx.sink.emit(EventKind::Note {
                    message: "the re-read was interrupted: no verification".into(),
                }),
                Ok(joined) => match joined.map_err(|e| Error::Io(e.to_string()))? {
                    Ok((s, u)) => {
                        unprocessed = u;
                        ctx.sink.emit(EventKind::Verified(s))
                    }
                    Err(e) => ctx.sink.emit(EventKind::Error {
                        message: format!("verification: {e}"),
                    }),
                },
            }
        }
        if let (Some(t), Some(spec)) = (
            txn_producer,
            exp.workload.as_ref().and_then(|w| w.transactions.as_ref()),
        ) {
            (ctx.progress)("stopping the transactional producer; re-reading read_committed and read_uncommitted");
            let (topic, partitions) = exp.workload_topic().unwrap_or_default();
            let transactional_id = group_id(&spec.id, ctx.producer_id);
            let (size, abort_every) = (spec.size, spec.abort_every);
            let reread = !is_interrupted(&interrupt) && !docker_lost;
            let bootstrap = bootstrap.clone();
            let summary = tokio::task::spawn_blocking(move || {
                use crate::kafka::transactions::reread as read;
                let (txns, mut errors) = t.finish();
                let timeout = Duration::from_secs(60);
                let (committed, uncommitted, complete) = if reread {
                    let c = read(
                        &bootstrap,
                        &topic,
                        partitions,
                        txn_producer_id,
                        true,
                        timeout,
                    );
                    let u = read(
                        &bootstrap,
                        &topic,
                        partitions,
                        txn_producer_id,
                        false,
                        timeout,
                    );
                    match (c, u) {
                        (Ok((c, c_end)), Ok((u, u_end))) => (c, u, c_end && u_end),
                        (c, u) => {
                            errors
                                .extend(c.err().into_iter().chain(u.err()).map(|e| e.to_string()));
                            (vec![], vec![], false)
                        }
                    }
                } else {
                    (vec![], vec![], false)
                };
                let mut s = crate::analysis::transactions::check(&txns, &committed, &uncommitted);
                s.transactional_id = transactional_id;
                s.size = size;
                s.abort_every = abort_every;
                s.complete = complete;
                s.errors = errors;
                s
            })
            .await
            .map_err(|e| Error::Io(e.to_string()))?;
            ctx.sink.emit(EventKind::TransactionsDone(summary));
        }
        if let (Some((history, commit_failures, errors)), Some(w)) = (group_record, &exp.workload) {
            if let Some(g) = &w.group {
                let (topic, partitions) = exp.workload_topic().unwrap_or_default();
                let check = crate::analysis::group::check(&history);
                ctx.sink
                    .emit(EventKind::GroupDone(crate::events::GroupSummary {
                        group_id: group_id(&g.id, ctx.producer_id),
                        topic,
                        partitions,
                        members: g.members,
                        commit: g.commit,
                        commit_interval_us: g.commit_interval.as_micros() as u64,
                        session_timeout_ms: g.session_timeout.as_millis() as u64,
                        max_poll_interval_ms: g.max_poll_interval.as_millis() as u64,
                        processed: check.processed,
                        distinct: check.distinct,
                        duplicates: check.duplicates,
                        duplicate_causes: check.causes,
                        duplicate_sample: check.sample,
                        skipped: unprocessed.map(|(s, _)| s),
                        unprocessed_tail: unprocessed.map(|(_, t)| t),
                        commits: history.commits.len() as u64,
                        commit_failures,
                        gaps: check.gaps,
                        errors,
                    }));
            }
        }
    }
    observer.stop();
    supervisor.abort();
    if let Some(p) = prober {
        p.abort();
    }
    record_kafka_leadership_log(ctx, &topics).await;
    steps_result?;
    heal_result.map_err(Error::Docker)?;
    if is_interrupted(&interrupt) {
        return Err(Error::Interrupted);
    }
    Ok(())
}

/// Resolves `work`, or stops with `Error::Interrupted` as soon as Ctrl-C / SIGTERM arrives.
pub async fn unless_interrupted<T>(
    interrupt: &watch::Receiver<bool>,
    work: impl std::future::Future<Output = T>,
) -> Result<T, Error> {
    let mut interrupt = interrupt.clone();
    tokio::select! {
        r = work => Ok(r),
        // A dropped sender (no signal handler) never interrupts: the pattern disables the branch.
        Ok(_) = interrupt.wait_for(|i| *i) => Err(Error::Interrupted),
    }
}

pub fn is_interrupted(interrupt: &watch::Receiver<bool>) -> bool {
    *interrupt.borrow()
}

/// Starts again a service that exited although no fault keeps it down — e.g. a ZooKeeper-mode
/// broker restarted before its old session expired exits with NodeExistsException on
/// /brokers/ids/N. That is Kafka's behaviour, recorded as a note; the heal still has to hold.
async fn supervise(
    docker: bollard::Docker,
    cluster: String,
    down_on_purpose: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    sink: EventSink,
) {
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_start: std::collections::HashMap<String, Instant> = Default::default();
    loop {
        ticker.tick().await;
        // Read what is held down before looking at the containers: a heal that lands in
        // between must not look like an unexpected exit.
        let down = down_on_purpose
            .lock()
            .map(|d| d.clone())
            .unwrap_or_default();
        let Ok(view) = crate::docker::cluster::attach(&docker, Some(&cluster)).await else {
            continue;
        };
        for s in &view.services {
            if !(s.state == "exited" || s.state == "dead") || down.contains(&s.name) {
                continue;
            }
            if last_start
                .get(&s.name)
                .is_some_and(|t| t.elapsed() < Duration::from_secs(2))
            {
                continue;
            }
            let why = crate::docker::logs::tail(&docker, &s.container_id, 200)
                .await
                .ok()
                .and_then(|log| {
                    log.lines()
                        .rev()
                        .find(|l| l.contains("ERROR") || l.contains("Exception"))
                        .map(|l| l.chars().take(240).collect::<String>())
                })
                .unwrap_or_else(|| "no error in its log".into());
            sink.emit(EventKind::Note {
                message: format!(
                    "{} exited although no fault holds it down ({why}); started it again",
                    s.name
                ),
            });
            last_start.insert(s.name.clone(), Instant::now());
            let _ = crate::docker::faults::start(&docker, &view, s).await;
        }
    }
}

/// Watches the observed view; when a partition of `topic` becomes usable again (a leader in
/// the metadata that no fault holds down), a fresh producer writes one message to it.
async fn probe_recoveries(
    mut view: watch::Receiver<ClusterSnapshot>,
    down: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    brokers: Vec<(String, BrokerId)>,
    topic: String,
    options: std::sync::Arc<crate::kafka::probe::ProbeOptions>,
    sink: EventSink,
) {
    let mut usable: std::collections::HashMap<i32, bool> = Default::default();
    let mut died_leading: std::collections::HashMap<i32, (Option<BrokerId>, i32)> =
        Default::default();
    let mut probes = tokio::task::JoinSet::new();
    // A fault holds a leader down before the metadata changes (a killed ZooKeeper-mode
    // leader stays listed for seconds): look again every 100 ms, not only on changes.
    let mut recheck = tokio::time::interval(Duration::from_millis(100));
    loop {
        tokio::select! {
            changed = view.changed() => if changed.is_err() { break },
            _ = recheck.tick() => {}
        }
        let snapshot = view.borrow_and_update().clone();
        // A blind observer's empty view says nothing about usability.
        if snapshot.partitions.is_empty() {
            continue;
        }
        let held: Vec<BrokerId> = down
            .lock()
            .map(|d| {
                brokers
                    .iter()
                    .filter(|(name, _)| d.contains(name))
                    .map(|(_, id)| *id)
                    .collect()
            })
            .unwrap_or_default();
        for p in snapshot.partitions.iter().filter(|p| p.topic == topic) {
            // A leadership whose broker we killed or stopped serves nothing again, even once
            // the broker runs again, until a new election (a new leader epoch).
            if p.leader.is_some_and(|l| held.contains(&l)) {
                died_leading.insert(p.partition, (p.leader, p.leader_epoch));
            }
            let now_usable = p.leader.is_some_and(|l| !held.contains(&l))
                && died_leading.get(&p.partition) != Some(&(p.leader, p.leader_epoch));
            if usable.insert(p.partition, now_usable) == Some(false) && now_usable {
                let became_usable_us = sink.clock().now_us();
                let (options, topic, sink, partition) =
                    (options.clone(), topic.clone(), sink.clone(), p.partition);
                probes.spawn(async move {
                    let result = crate::kafka::probe::probe_once(&options, &topic, partition).await;
                    sink.emit(EventKind::Probe {
                        topic,
                        partition,
                        became_usable_us,
                        acked: result.is_ok(),
                        error: result.err().map(|e| e.to_string()),
                    });
                });
            }
        }
    }
}

/// Kafka's own record of every leadership change during the run (the new leader's log line),
/// to cross-check the observer's times.
async fn record_kafka_leadership_log(ctx: &RunContext<'_>, topics: &[String]) {
    let since_s = ctx.sink.clock().wall_ms_at(0) / 1000;
    for (service, _) in ctx.cluster.brokers() {
        let Ok(log) = crate::docker::logs::since(ctx.docker, &service.container_id, since_s).await
        else {
            continue;
        };
        for entry in crate::docker::logs::leadership_lines(&log) {
            if topics.contains(&entry.topic) {
                let at = ctx.sink.clock().at_us_of_wall_ms(entry.logged_wall_ms);
                ctx.sink.emit_at(
                    at,
                    EventKind::KafkaLog {
                        service: service.name.clone(),
                        logged_wall_ms: entry.logged_wall_ms,
                        line: entry.line,
                    },
                );
            }
        }
    }
}

async fn tick_workload(
    producer: Option<&TrackedProducer>,
    group: Option<&crate::kafka::group::GroupWorkload>,
    sink: &EventSink,
    enabled: bool,
) {
    if !enabled {
        return std::future::pending().await;
    }
    let mut interval = tokio::time::interval(Duration::from_secs(1));
    interval.tick().await;
    loop {
        interval.tick().await;
        if let Some(p) = producer {
            sink.emit(p.tick());
        }
        if let Some(g) = group {
            sink.emit(g.tick());
        }
    }
}

/// The group id on the cluster: the experiment's name for it plus the run's producer id, so
/// no run starts from another's committed offsets.
fn group_id(name: &str, producer_id: u64) -> String {
    format!("{name}-{producer_id:016x}")
}

const WARM_UP_TOPIC: &str = "chaos-warm-up";

/// Unmeasured produce traffic so the brokers' JIT is warm before anything is measured.
pub async fn warm_up(cluster: &Cluster, duration: Duration) -> Result<(), Error> {
    let bootstrap = cluster.bootstrap_list();
    let plan = crate::kafka::admin::TopicPlan {
        name: WARM_UP_TOPIC.into(),
        partitions: 3,
        replication_factor: 3.min(cluster.brokers().len() as i32),
        assignment: vec![],
        config: vec![],
    };
    let _ = crate::kafka::admin::create_topics(&bootstrap, std::slice::from_ref(&plan)).await;
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let sink = EventSink::new(crate::clock::Clock::start(), tx);
    let producer = TrackedProducer::start(
        ProducerOptions {
            bootstrap: bootstrap.clone(),
            topic: WARM_UP_TOPIC.into(),
            partitions: 3,
            acks: crate::events::Acks::All,
            idempotence: false,
            rate: 1000,
            message_size: 100,
            delivery_timeout: Duration::from_secs(30),
            retries: None,
            extra: vec![],
            producer_id: 0,
            max_messages: None,
            keys: Default::default(),
            key_seed: 0,
        },
        sink,
    )?;
    tokio::time::sleep(duration).await;
    let _ = tokio::task::spawn_blocking(move || producer.finish()).await;
    crate::kafka::admin::delete_topics(&bootstrap, &[WARM_UP_TOPIC.into()]).await?;
    Ok(())
}

/// The settings that decide availability and loss, as each topic has them in force.
async fn record_topic_settings(ctx: &RunContext<'_>) {
    const KEYS: &[&str] = &[
        "unclean.leader.election.enable",
        "min.insync.replicas",
        "retention.ms",
    ];
    let bootstrap = ctx.cluster.bootstrap_list();
    for topic in &ctx.experiment.topics {
        match crate::kafka::admin::topic_settings(&bootstrap, &topic.name, KEYS).await {
            Ok(settings) => ctx.sink.emit(EventKind::TopicSettings {
                topic: topic.name.clone(),
                settings,
            }),
            Err(e) => ctx.sink.emit(EventKind::Note {
                message: format!("settings of topic {} unknown: {e}", topic.name),
            }),
        }
    }
}

async fn setup_topics(ctx: &RunContext<'_>) -> Result<(), Error> {
    let bootstrap = ctx.cluster.bootstrap_list();
    let names: Vec<String> = ctx
        .experiment
        .topics
        .iter()
        .map(|t| t.name.clone())
        .collect();
    crate::kafka::admin::delete_topics(&bootstrap, &names).await?;
    // Deletion is asynchronous: wait until the topics are gone from every broker's metadata.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let snapshot = metadata::snapshot(
            &ctx.cluster.bootstrap(),
            ctx.cluster.mode == crate::events::ClusterMode::Kraft,
            Duration::from_secs(3),
        )
        .await?;
        if !snapshot.partitions.iter().any(|p| names.contains(&p.topic)) {
            break;
        }
        if Instant::now() > deadline {
            return Err(Error::Io("old topics were not deleted within 60 s".into()));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let plans: Vec<crate::kafka::admin::TopicPlan> = ctx
        .experiment
        .topics
        .iter()
        .map(|t| crate::kafka::admin::TopicPlan {
            name: t.name.clone(),
            partitions: t.partitions,
            replication_factor: t.replication_factor,
            assignment: t.assignment.clone(),
            config: t
                .config
                .iter()
                .map(|(k, v)| (k.clone(), v.0.clone()))
                .collect(),
        })
        .collect();
    // A just-deleted topic can still be "marked for deletion" for a moment.
    let mut attempt = 0;
    loop {
        match crate::kafka::admin::create_topics(&bootstrap, &plans).await {
            Ok(()) => return Ok(()),
            Err(e) if attempt < 20 && e.to_string().contains("already exists") => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Waits until `condition` holds on the observed view; returns when it first did.
async fn wait_condition(
    view: &mut watch::Receiver<ClusterSnapshot>,
    condition: &Condition,
    baseline: &Baseline,
    expected_brokers: &[BrokerId],
    timeout: Duration,
) -> Result<(), ()> {
    wait_condition_knowing(view, condition, baseline, expected_brokers, &[], timeout).await
}

/// Like `wait_condition`, but a broker we hold down (killed or stopped) never counts as a
/// live leader, whatever stale metadata still says.
async fn wait_condition_knowing(
    view: &mut watch::Receiver<ClusterSnapshot>,
    condition: &Condition,
    baseline: &Baseline,
    expected_brokers: &[BrokerId],
    down: &[BrokerId],
    timeout: Duration,
) -> Result<(), ()> {
    let check = |s: &ClusterSnapshot| {
        conditions::is_met(
            condition,
            &conditions::without_leaders(s, down),
            baseline,
            expected_brokers,
        )
    };
    tokio::time::timeout(timeout, view.wait_for(check))
        .await
        .map_err(|_| ())?
        .map_err(|_| ())?;
    Ok(())
}

fn step_label(i: usize, step: &Step) -> String {
    step.name
        .clone()
        .unwrap_or_else(|| format!("step-{}", i + 1))
}

async fn run_steps(
    ctx: &RunContext<'_>,
    faults: &mut Faults<'_>,
    observer: &Observer,
    producer: Option<&TrackedProducer>,
    expected_brokers: &[BrokerId],
    started: Instant,
) -> Result<(), Error> {
    // "Changed" in a wait-for is relative to the cluster as it was when the latest fault, heal
    // or election step began (a graceful stop moves leadership while `docker stop` still
    // runs), or when the latest wait-for was met; before any of those, the start of the steps.
    let mut baseline = Baseline {
        snapshot: observer.current(),
    };
    for (i, step) in ctx.experiment.steps.iter().enumerate() {
        let label = step_label(i, step);
        if let Some(at) = step.at {
            // Scheduling, not measuring: the step starts at this offset.
            tokio::time::sleep_until((started + at).into()).await;
        }
        if step.fault.is_some() || step.heal.is_some() || step.elect.is_some() {
            baseline = Baseline {
                snapshot: observer.current(),
            };
            observer.burst(ctx.experiment.observer.fast_for);
        }
        if let Some(spec) = &step.fault {
            (ctx.progress)(&format!("{label}: {} {}", spec.kind.as_str(), spec.target));
            if let Some(p) = producer {
                p.set_phase(LatencyPhase::DuringFault);
            }
            faults.inject(&label, spec, &baseline.snapshot).await?;
        } else if let Some(target) = &step.heal {
            (ctx.progress)(&format!("{label}: heal {target}"));
            faults.heal(HealTarget::Step(target)).await?;
        } else if let Some(d) = step.wait {
            (ctx.progress)(&format!("{label}: wait {}", humantime::format_duration(d)));
            tokio::time::sleep(d).await;
        } else if let Some(condition) = &step.wait_for {
            let timeout = step.timeout.unwrap_or(DEFAULT_WAIT_TIMEOUT);
            (ctx.progress)(&format!(
                "{label}: wait for {condition} (up to {})",
                humantime::format_duration(timeout)
            ));
            let mut view = observer.view();
            let down: Vec<BrokerId> = faults
                .down_on_purpose
                .lock()
                .map(|d| d.iter().filter_map(|n| ctx.cluster.broker_id(n)).collect())
                .unwrap_or_default();
            let met = wait_condition_knowing(
                &mut view,
                condition,
                &baseline,
                expected_brokers,
                &down,
                timeout,
            )
            .await
            .is_ok();
            if met {
                baseline = Baseline {
                    snapshot: observer.current(),
                };
            } else {
                (ctx.progress)(&format!(
                    "{label}: TIMED OUT after {} waiting for {condition}",
                    humantime::format_duration(timeout)
                ));
            }
            ctx.sink.emit(EventKind::Condition {
                step: label.clone(),
                condition: condition.to_string(),
                met,
                check: ConditionCheck::WaitFor,
                on_timeout: (!met).then(|| step.on_timeout.unwrap_or_default()),
            });
        } else if let Some(condition) = &step.assert {
            let met =
                conditions::is_met(condition, &observer.current(), &baseline, expected_brokers);
            ctx.sink.emit(EventKind::Condition {
                step: label.clone(),
                condition: condition.to_string(),
                met,
                check: ConditionCheck::Assert,
                on_timeout: None,
            });
        } else if let Some(elect) = &step.elect {
            let unclean = elect.election_type == ElectionType::Unclean;
            (ctx.progress)(&format!(
                "{label}: request {} election of {}",
                if unclean { "unclean" } else { "preferred" },
                elect.partition
            ));
            let allowed = ctx.experiment.topics.iter().any(|t| {
                t.name == elect.partition.topic
                    && t.config
                        .get("unclean.leader.election.enable")
                        .is_some_and(|v| v.0 == "true")
            });
            let result = if unclean && elect.if_topic_allows && !allowed {
                Ok("skipped: the topic does not allow unclean leader election".to_string())
            } else {
                request_election(
                    ctx.cluster,
                    &observer.current(),
                    &elect.partition.topic,
                    elect.partition.partition,
                    unclean,
                )
                .await
            };
            ctx.sink.emit(EventKind::ElectionRequested {
                topic: elect.partition.topic.clone(),
                partition: elect.partition.partition,
                election_type: elect.election_type,
                result: result.unwrap_or_else(|e| format!("failed: {e}")),
            });
        }
    }
    Ok(())
}

/// ElectLeaders goes to the controller in ZooKeeper mode; KRaft brokers forward it.
async fn request_election(
    cluster: &Cluster,
    view: &ClusterSnapshot,
    topic: &str,
    partition: i32,
    unclean: bool,
) -> Result<String, DockerError> {
    let mut endpoints = cluster.bootstrap();
    if let Some(c) = view.controller {
        endpoints.sort_by_key(|(id, _)| *id != c);
    }
    let mut last = String::from("no broker");
    // Brokers that were just started may refuse or drop connections for a few seconds: keep
    // asking (every broker in turn) until one answers, for up to 30 s.
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        for (_, addr) in &endpoints {
            let answer = match Connection::connect(addr, Duration::from_secs(2)).await {
                Ok(mut conn) => metadata::elect_leader(
                    &mut conn,
                    topic,
                    partition,
                    unclean,
                    Duration::from_secs(10),
                )
                .await
                .map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match answer {
                Ok(r) => return Ok(format!("{r} (answered by {addr})")),
                Err(e) => last = e,
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    Err(DockerError::Other(last))
}
