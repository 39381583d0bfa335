//! What applications see beside the tracked producer: a consumer group (`workload.group`) and
//! a transactional producer (`workload.transactions`), started with the workload and judged
//! after the re-read.

use super::context::RunContext;
use super::workload::{Group, SharedGroup, Transactions};
use crate::analysis::group::GroupHistory;
use crate::analysis::verify::SeenSet;
use crate::error::Error;
use crate::events::{EventKind, TransactionSummary};
use crate::experiment::WorkloadSpec;
use crate::kafka::connect::Profile;
use crate::kafka::group::{GroupOptions, GroupWorkload};
use crate::kafka::transactions::{LiveOptions, LiveTxnReader, TxnOptions, TxnProducer, TxnSource};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// The group id (or transactional id) on the cluster: the experiment's name for it plus the
/// run's producer id, so no run starts from another's committed offsets.
pub fn cluster_id(name: &str, producer_id: u64) -> String {
    format!("{name}-{producer_id:016x}")
}

/// Transactional messages carry a producer id of their own: the acked-message checker and
/// the group read past them.
pub fn txn_producer_id(producer_id: u64) -> u64 {
    producer_id ^ 0x5458_0000_0000_0000
}

pub fn start_group(ctx: &RunContext<'_>, w: &WorkloadSpec) -> Result<Option<SharedGroup>, Error> {
    let Some(g) = &w.group else {
        return Ok(None);
    };
    // Compose clusters were checked before they started; attached and Kubernetes ones are
    // known from here.
    if super::prepare::consumer_protocol_on_zookeeper(ctx.experiment, ctx.cluster.mode) {
        let (message, hint) = super::prepare::CONSUMER_PROTOCOL_NEEDS_KRAFT;
        return Err(Error::Invalid(format!(
            "workload.group.protocol: {message}\n  hint: {hint}"
        )));
    }
    let (topic, partitions) = ctx.experiment.workload_topic().unwrap_or_default();
    let group = GroupWorkload::start(
        GroupOptions {
            bootstrap: ctx.cluster.bootstrap_list(),
            profile: ctx.profile.clone(),
            topic,
            partitions,
            group_id: cluster_id(&g.id, ctx.producer_id),
            members: g.members,
            commit: g.commit,
            commit_interval: g.commit_interval,
            processing: g.processing,
            session_timeout: g.session_timeout,
            max_poll_interval: g.max_poll_interval,
            protocol: g.protocol,
            extra: g
                .consumer_config
                .iter()
                .map(|(k, v)| (k.clone(), v.0.clone()))
                .collect(),
            producer_id: ctx.producer_id,
            client: ctx.client.consumers(),
        },
        ctx.sink.clone(),
    )
    .map_err(Error::Kafka)?;
    Ok(Some(Arc::new(Box::new(group))))
}

/// The transactional producer (or read-process-write loop) and its live read_committed reader,
/// with what its end needs to re-read and check.
pub struct TxnWorkload {
    producer: TxnProducer,
    live: Option<LiveTxnReader>,
    spec: crate::experiment::TransactionSpec,
    /// The workload's topic and partitions (read-process-write's input).
    input: (String, i32),
    /// The topic written and its partitions.
    output: (String, i32),
    bootstrap: String,
    profile: Profile,
    producer_id: u64,
}

/// The consumer group whose offsets the read-process-write transactions commit.
fn rpw_group_id(transactional_id: &str) -> String {
    format!("{transactional_id}-rpw")
}

pub fn start_transactions(
    ctx: &RunContext<'_>,
    w: &WorkloadSpec,
) -> Result<Option<Box<dyn Transactions>>, Error> {
    let Some(t) = &w.transactions else {
        return Ok(None);
    };
    let (input, input_partitions) = ctx.experiment.workload_topic().unwrap_or_default();
    let topic = t.written_topic(&input);
    let partitions = ctx.experiment.partition_count(&topic).unwrap_or(1);
    let transactional_id = cluster_id(&t.id, ctx.producer_id);
    let source = if t.read_process_write {
        TxnSource::Consumed {
            input_topic: input.clone(),
            input_partitions,
            group_id: rpw_group_id(&transactional_id),
        }
    } else {
        TxnSource::Generated
    };
    let bootstrap = ctx.cluster.bootstrap_list();
    // The live reader first: it reads from the beginning, so it misses nothing either way.
    let live = match LiveTxnReader::start(
        LiveOptions {
            bootstrap: bootstrap.clone(),
            profile: ctx.profile.clone(),
            topic: topic.clone(),
            partitions,
            producer_id: txn_producer_id(ctx.producer_id),
        },
        ctx.sink.clone(),
    ) {
        Ok(l) => Some(l),
        Err(e) => {
            ctx.sink.emit(EventKind::Error {
                message: format!("the live read_committed reader did not start: {e}"),
            });
            None
        }
    };
    let producer = TxnProducer::start(
        TxnOptions {
            bootstrap,
            profile: ctx.profile.clone(),
            topic: topic.clone(),
            partitions,
            transactional_id,
            producer_id: txn_producer_id(ctx.producer_id),
            size: t.size,
            abort_every: t.abort_every,
            pause: t.pause,
            source,
        },
        ctx.sink.clone(),
    )
    .map_err(Error::Kafka)?;
    Ok(Some(Box::new(TxnWorkload {
        producer,
        live,
        spec: t.clone(),
        input: (input, input_partitions),
        // The re-read reads the topic written, as given to the producer.
        output: (topic, partitions),
        bootstrap: ctx.cluster.bootstrap_list(),
        profile: ctx.profile.clone(),
        producer_id: ctx.producer_id,
    })))
}

/// `coordinator-of: <name>` → the id FindCoordinator is asked about.
pub fn coordinator_keys(ctx: &RunContext<'_>) -> HashMap<String, String> {
    let w = ctx.experiment.workload.iter();
    w.clone()
        .filter_map(|w| w.group.as_ref().map(|g| &g.id))
        .chain(w.filter_map(|w| w.transactions.as_ref().map(|t| &t.id)))
        .map(|name| (name.clone(), cluster_id(name, ctx.producer_id)))
        .collect()
}

/// Faults are meant for a formed group: waits until every partition is held by a member and
/// every member holds one (when there are enough partitions; up to 60 s; a group that did not
/// form is a note, and the steps start anyway).
pub async fn wait_until_formed(ctx: &RunContext<'_>, group: &dyn Group) {
    (ctx.progress)("waiting for the consumer group to be assigned every partition");
    let formed = async {
        let mut check = tokio::time::interval(Duration::from_millis(50));
        while !group.fully_assigned() {
            check.tick().await;
        }
    };
    if tokio::time::timeout(Duration::from_secs(60), formed)
        .await
        .is_err()
    {
        ctx.sink.emit(EventKind::Note {
            message: "the consumer group was not assigned every partition (one or more to \
                      each member) within 60 s; the steps start anyway"
                .into(),
        });
    }
}

/// What the group did, kept from its drain to after the re-read (skips need the log).
pub struct GroupRecord {
    history: GroupHistory,
    commit_failures: u64,
    errors: Vec<String>,
}

impl GroupRecord {
    /// Every message the group processed, for the re-read's skip check.
    pub fn seen(&self, partitions: i32) -> SeenSet {
        let mut seen = SeenSet::new(partitions);
        for p in &self.history.processed {
            seen.insert(p.partition, p.seq);
        }
        seen
    }
}

/// The group reads on until it processed every acked message (or `grace` passed); then its
/// members commit and leave.
pub async fn drain_group(
    ctx: &RunContext<'_>,
    group: SharedGroup,
    acked: u64,
    grace: Duration,
) -> Result<Option<GroupRecord>, Error> {
    // The fault registry holds a clone until the run's faults are done with it.
    let Some(group) = Arc::into_inner(group) else {
        ctx.sink.emit(EventKind::Error {
            message: "the consumer group is still shared: not drained".into(),
        });
        return Ok(None);
    };
    (ctx.progress)("letting the consumer group catch up");
    let (history, commit_failures, errors) =
        tokio::task::spawn_blocking(move || group.finish(acked, grace))
            .await
            .map_err(Error::task("the consumer group's drain"))?;
    Ok(Some(GroupRecord {
        history,
        commit_failures,
        errors,
    }))
}

/// The group's summary: duplicates with their causes, skips (from the re-read), commits.
pub fn record_group(ctx: &RunContext<'_>, record: GroupRecord, unprocessed: Option<(u64, u64)>) {
    let Some(g) = ctx
        .experiment
        .workload
        .as_ref()
        .and_then(|w| w.group.as_ref())
    else {
        return;
    };
    let (topic, partitions) = ctx.experiment.workload_topic().unwrap_or_default();
    let check = crate::analysis::group::check(&record.history);
    ctx.sink
        .emit(EventKind::GroupDone(crate::events::GroupSummary {
            group_id: cluster_id(&g.id, ctx.producer_id),
            topic,
            partitions,
            members: g.members,
            commit: g.commit,
            protocol: g.protocol,
            commit_interval_us: g.commit_interval.as_micros() as u64,
            session_timeout_ms: match g.protocol {
                crate::events::GroupProtocol::Classic => g.session_timeout.as_millis() as u64,
                crate::events::GroupProtocol::Consumer => 0,
            },
            max_poll_interval_ms: g.max_poll_interval.as_millis() as u64,
            processed: check.processed,
            distinct: check.distinct,
            duplicates: check.duplicates,
            duplicate_causes: check.causes,
            duplicate_sample: check.sample,
            skipped: unprocessed.map(|(s, _)| s),
            unprocessed_tail: unprocessed.map(|(_, t)| t),
            commits: record.history.commits.len() as u64,
            commit_failures: record.commit_failures,
            gaps: check.gaps,
            errors: record.errors,
        }));
}

/// Stops the transactional producer (read-process-write: once its input is processed), lets
/// the live reader read on to the end and, unless the run was cut short, re-reads the topic
/// `read_committed` and `read_uncommitted` (see [`TxnWorkload::finish`]).
pub async fn finish_transactions(
    ctx: &RunContext<'_>,
    workload: Box<dyn Transactions>,
    reread: bool,
) -> Result<(), Error> {
    (ctx.progress)(
        "stopping the transactional producer; re-reading read_committed and read_uncommitted",
    );
    let summary = tokio::task::spawn_blocking(move || workload.finish(reread))
        .await
        .map_err(Error::task("the transactions' re-read"))?;
    ctx.sink.emit(EventKind::TransactionsDone(summary));
    Ok(())
}

impl Transactions for TxnWorkload {
    // Long: the transactional workload's end in order: stop, re-read both isolation levels,
    // the read-process-write checks, the summary
    /// Atomicity, aborted messages visible, order, and for read-process-write each input
    /// processed once.
    fn finish(self: Box<Self>, reread: bool) -> TransactionSummary {
        let workload = *self;
        let spec = &workload.spec;
        let (input, input_partitions) = workload.input.clone();
        let (topic, partitions) = workload.output.clone();
        let transactional_id = cluster_id(&spec.id, workload.producer_id);
        let (size, abort_every, rpw) = (spec.size, spec.abort_every, spec.read_process_write);
        let bootstrap = workload.bootstrap.clone();
        let profile = workload.profile.clone();
        let txn_id = txn_producer_id(workload.producer_id);

        use crate::analysis::transactions as check;
        use crate::kafka::transactions::{committed_offsets, read_offsets, reread as read};
        let record = workload.producer.finish(reread);
        let mut errors = record.errors;
        let live = workload.live.map(|l| {
            let seen = l.finish(reread);
            errors.extend(seen.errors);
            Box::new(check::check_live(&record.txns, &seen.reads, seen.complete))
        });
        let timeout = Duration::from_secs(60);
        let (committed, uncommitted, complete) = if reread {
            let c = read(
                &bootstrap, &profile, &topic, partitions, txn_id, true, timeout,
            );
            let u = read(
                &bootstrap, &profile, &topic, partitions, txn_id, false, timeout,
            );
            match (c, u) {
                (Ok((c, c_end)), Ok((u, u_end))) => (c, u, c_end && u_end),
                (c, u) => {
                    errors.extend(c.err().into_iter().chain(u.err()).map(|e| e.to_string()));
                    (vec![], vec![], false)
                }
            }
        } else {
            (vec![], vec![], false)
        };
        let mut s = check::check(&record.txns, &committed, &uncommitted, record.span_us);
        if rpw {
            let group_id = rpw_group_id(&transactional_id);
            let mut complete = reread;
            let inputs = if reread {
                match read_offsets(&bootstrap, &profile, &input, input_partitions, timeout) {
                    Ok((inputs, at_end)) => {
                        complete &= at_end;
                        inputs
                    }
                    Err(e) => {
                        errors.push(e.to_string());
                        complete = false;
                        vec![]
                    }
                }
            } else {
                vec![]
            };
            let offsets = match committed_offsets(
                &bootstrap,
                &profile,
                &group_id,
                &input,
                input_partitions,
            ) {
                Ok(o) => o,
                Err(e) => {
                    errors.push(e.to_string());
                    complete = false;
                    vec![]
                }
            };
            let mut r =
                check::check_read_process_write(&inputs, &offsets, &committed, &uncommitted);
            r.input_topic = input;
            r.output_topic = topic.clone();
            r.group_id = group_id;
            r.rewinds = record.rewinds;
            r.complete = complete;
            s.read_process_write = Some(Box::new(r));
        }
        s.transactional_id = transactional_id;
        s.topic = topic;
        s.size = size;
        s.abort_every = abort_every;
        s.complete = complete;
        s.live = live;
        s.errors = errors;
        s
    }
}
