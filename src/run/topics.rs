//! The experiment's topics: created fresh for every run (after the old ones are gone), their
//! settings in force recorded, and the unmeasured warm-up of a fresh cluster.

use super::context::RunContext;
use crate::clock::EventSink;
use crate::error::Error;
use crate::events::EventKind;
use crate::kafka::connect::Profile;
use crate::kafka::producer::{ProducerOptions, TrackedProducer};
use crate::kafka::{metadata, KafkaError};
use crate::platform::Cluster;
use rdkafka::types::RDKafkaErrorCode;
use std::time::{Duration, Instant};

const WARM_UP_TOPIC: &str = "chaos-warm-up";

/// Unmeasured produce traffic so the brokers' JIT is warm before anything is measured.
pub async fn warm_up(
    cluster: &Cluster,
    profile: &Profile,
    duration: Duration,
) -> Result<(), Error> {
    let bootstrap = cluster.bootstrap_list();
    let plan = crate::kafka::admin::TopicPlan {
        name: WARM_UP_TOPIC.into(),
        partitions: 3,
        replication_factor: 3.min(cluster.brokers().len() as i32),
        assignment: vec![],
        config: vec![],
    };
    already_there_is_fine(
        crate::kafka::admin::create_topics(&bootstrap, profile, std::slice::from_ref(&plan)).await,
    )?;
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let sink = EventSink::new(crate::clock::Clock::start(), tx);
    let producer = TrackedProducer::start(
        ProducerOptions {
            bootstrap: bootstrap.clone(),
            profile: profile.clone(),
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
            rebootstrap_when_no_brokers: true,
            client: crate::kafka::producer::ClientLibrary::Librdkafka,
        },
        sink,
    )?;
    tokio::time::sleep(duration).await;
    // Unmeasured: its summary is not wanted, but a producer that panicked is an error.
    tokio::task::spawn_blocking(move || producer.finish())
        .await
        .map_err(Error::task("the warm-up producer"))?;
    crate::kafka::admin::delete_topics(&bootstrap, profile, &[WARM_UP_TOPIC.into()]).await?;
    Ok(())
}

/// The warm-up topic may be left over from a warm-up that was interrupted before it deleted
/// it: that is as good as created. Any other failure is the cluster not taking topics, which
/// the run would meet next; it is reported, not hidden. Matched on the cluster's code.
fn already_there_is_fine(created: Result<(), KafkaError>) -> Result<(), KafkaError> {
    match created {
        Err(e) if e.code() == Some(RDKafkaErrorCode::TopicAlreadyExists) => Ok(()),
        other => other,
    }
}

/// The settings that decide availability and loss, as each topic has them in force.
pub(super) async fn record_topic_settings(ctx: &RunContext<'_>) {
    const KEYS: &[&str] = &[
        "unclean.leader.election.enable",
        "min.insync.replicas",
        "retention.ms",
    ];
    let bootstrap = ctx.cluster.bootstrap_list();
    for topic in &ctx.experiment.topics {
        match crate::kafka::admin::topic_settings(&bootstrap, &ctx.profile, &topic.name, KEYS).await
        {
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

pub(super) async fn setup_topics(ctx: &RunContext<'_>) -> Result<(), Error> {
    let bootstrap = ctx.cluster.bootstrap_list();
    let names: Vec<String> = ctx
        .experiment
        .topics
        .iter()
        .map(|t| t.name.clone())
        .collect();
    crate::kafka::admin::delete_topics(&bootstrap, &ctx.profile, &names).await?;
    // Deletion is asynchronous: wait until the topics are gone from every broker's metadata.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let snapshot = metadata::snapshot(
            &ctx.cluster.bootstrap(),
            ctx.cluster.mode == crate::events::ClusterMode::Kraft,
            Duration::from_secs(3),
            &ctx.profile,
        )
        .await?;
        if !snapshot.partitions.iter().any(|p| names.contains(&p.topic)) {
            break;
        }
        if Instant::now() > deadline {
            return Err(Error::Timeout {
                what: "old topics were not deleted".into(),
                after: Duration::from_secs(60),
            });
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
    // A just-deleted topic can still be "marked for deletion" for a moment. One topic at a
    // time: retrying them together would meet the ones created on the first try as "already
    // exists" for ever.
    for plan in &plans {
        let mut attempt = 0;
        loop {
            match crate::kafka::admin::create_topics(
                &bootstrap,
                &ctx.profile,
                std::slice::from_ref(plan),
            )
            .await
            {
                Ok(()) => break,
                Err(e)
                    if attempt < 20 && e.code() == Some(RDKafkaErrorCode::TopicAlreadyExists) =>
                {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(code: RDKafkaErrorCode) -> Result<(), KafkaError> {
        Err(KafkaError::Rejected {
            what: format!("create topic {WARM_UP_TOPIC}"),
            code,
        })
    }

    #[test]
    fn a_warm_up_topic_left_over_is_as_good_as_created() {
        assert!(already_there_is_fine(Ok(())).is_ok());
        assert!(already_there_is_fine(rejected(RDKafkaErrorCode::TopicAlreadyExists)).is_ok());
    }

    #[test]
    fn any_other_failure_to_create_it_is_an_error() {
        let err = already_there_is_fine(rejected(RDKafkaErrorCode::InvalidReplicationFactor))
            .unwrap_err();
        assert_eq!(err.code(), Some(RDKafkaErrorCode::InvalidReplicationFactor));
        assert!(
            already_there_is_fine(Err(KafkaError::Workload("no admin client".into()))).is_err()
        );
    }
}
