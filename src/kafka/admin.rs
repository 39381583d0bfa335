//! Topic set-up and the broker settings in force (DescribeConfigs), through rdkafka's admin
//! client.

use super::connect::Profile;
use super::KafkaError;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use std::time::Duration;

pub struct TopicPlan {
    pub name: String,
    pub partitions: i32,
    pub replication_factor: i32,
    pub assignment: Vec<Vec<i32>>,
    pub config: Vec<(String, String)>,
}

fn admin(
    bootstrap: &str,
    profile: &Profile,
) -> Result<AdminClient<DefaultClientContext>, KafkaError> {
    super::client_config(bootstrap, profile)
        .create()
        .map_err(KafkaError::client("admin client"))
}

fn options() -> AdminOptions {
    AdminOptions::new()
        .operation_timeout(Some(Duration::from_secs(30)))
        .request_timeout(Some(Duration::from_secs(30)))
}

/// A topic request can reach a broker that stopped being the controller since the client
/// last looked (a controller just moved: a controller-kill or a stop a moment before). Kafka
/// answers NotController, a retriable error its own admin client retries after refreshing
/// its metadata; so do we, with a fresh client, for this long.
const NOT_CONTROLLER_RETRY: Duration = Duration::from_secs(15);
const NOT_CONTROLLER_PAUSE: Duration = Duration::from_millis(500);

fn not_controller(code: &rdkafka::types::RDKafkaErrorCode) -> bool {
    *code == rdkafka::types::RDKafkaErrorCode::NotController
}

/// Deletes the topics if they exist (a run starts from empty topics).
pub async fn delete_topics(
    bootstrap: &str,
    profile: &Profile,
    names: &[String],
) -> Result<(), KafkaError> {
    let deadline = tokio::time::Instant::now() + NOT_CONTROLLER_RETRY;
    let mut left: Vec<String> = names.to_vec();
    while !left.is_empty() {
        let client = admin(bootstrap, profile)?;
        let refs: Vec<&str> = left.iter().map(String::as_str).collect();
        let results = client
            .delete_topics(&refs, &options())
            .await
            .map_err(KafkaError::client("delete topics"))?;
        let mut again = Vec::new();
        for r in results {
            match r {
                Ok(_) => {}
                Err((_, rdkafka::types::RDKafkaErrorCode::UnknownTopicOrPartition)) => {}
                Err((topic, code))
                    if not_controller(&code) && tokio::time::Instant::now() < deadline =>
                {
                    tracing::debug!("delete topic {topic}: {code}; retrying");
                    again.push(topic);
                }
                Err((topic, code)) => {
                    return Err(KafkaError::Rejected {
                        what: format!("delete topic {topic}"),
                        code,
                    })
                }
            }
        }
        if !again.is_empty() {
            tokio::time::sleep(NOT_CONTROLLER_PAUSE).await;
        }
        left = again;
    }
    Ok(())
}

pub async fn create_topics(
    bootstrap: &str,
    profile: &Profile,
    topics: &[TopicPlan],
) -> Result<(), KafkaError> {
    let deadline = tokio::time::Instant::now() + NOT_CONTROLLER_RETRY;
    let mut left: Vec<&TopicPlan> = topics.iter().collect();
    while !left.is_empty() {
        let client = admin(bootstrap, profile)?;
        let rows: Vec<Vec<&[i32]>> = left
            .iter()
            .map(|t| t.assignment.iter().map(Vec::as_slice).collect())
            .collect();
        let new_topics: Vec<NewTopic> = left
            .iter()
            .zip(&rows)
            .map(|(t, rows)| {
                let replication = if t.assignment.is_empty() {
                    TopicReplication::Fixed(t.replication_factor)
                } else {
                    TopicReplication::Variable(rows.as_slice())
                };
                let partitions = if t.assignment.is_empty() {
                    t.partitions
                } else {
                    t.assignment.len() as i32
                };
                let mut nt = NewTopic::new(&t.name, partitions, replication);
                for (k, v) in &t.config {
                    nt = nt.set(k, v);
                }
                nt
            })
            .collect();
        let results = client
            .create_topics(&new_topics, &options())
            .await
            .map_err(KafkaError::client("create topics"))?;
        let mut again = Vec::new();
        for r in results {
            match r {
                Ok(_) => {}
                Err((topic, code))
                    if not_controller(&code) && tokio::time::Instant::now() < deadline =>
                {
                    tracing::debug!("create topic {topic}: {code}; retrying");
                    again.extend(left.iter().copied().filter(|t| t.name == topic));
                }
                Err((topic, code)) => {
                    return Err(KafkaError::Rejected {
                        what: format!("create topic {topic}"),
                        code,
                    })
                }
            }
        }
        if !again.is_empty() {
            tokio::time::sleep(NOT_CONTROLLER_PAUSE).await;
        }
        left = again;
    }
    Ok(())
}

/// The entries of one resource's configuration that `names` asks for (DescribeConfigs).
async fn described(
    bootstrap: &str,
    profile: &Profile,
    resource: ResourceSpecifier<'_>,
    names: &[&str],
) -> Result<Vec<rdkafka::admin::ConfigEntry>, KafkaError> {
    let what = format!("describe configs of {resource:?}");
    let client = admin(bootstrap, profile)?;
    let results = client
        .describe_configs(&[resource], &options())
        .await
        .map_err(KafkaError::client(&what))?;
    let mut out = Vec::new();
    for r in results {
        let mut resource = r.map_err(|code| KafkaError::Rejected {
            what: what.clone(),
            code,
        })?;
        for name in names {
            if let Some(i) = resource.entries.iter().position(|e| e.name == *name) {
                out.push(resource.entries.swap_remove(i));
            }
        }
    }
    Ok(out)
}

/// The values in force on a broker for `names` (defaults included), as the broker reports them.
pub async fn broker_settings(
    bootstrap: &str,
    profile: &Profile,
    broker: i32,
    names: &[&str],
) -> Result<Vec<(String, String)>, KafkaError> {
    Ok(
        described(bootstrap, profile, ResourceSpecifier::Broker(broker), names)
            .await?
            .into_iter()
            .map(|e| (e.name, e.value.unwrap_or_default()))
            .collect(),
    )
}

/// A topic's effective values for `names` and where each comes from (the topic itself, the
/// broker, or Kafka's default), as the broker reports them.
pub async fn topic_settings(
    bootstrap: &str,
    profile: &Profile,
    topic: &str,
    names: &[&str],
) -> Result<Vec<crate::events::TopicSetting>, KafkaError> {
    use rdkafka::admin::ConfigSource;
    Ok(
        described(bootstrap, profile, ResourceSpecifier::Topic(topic), names)
            .await?
            .into_iter()
            .map(|entry| {
                let source = match entry.source {
                    ConfigSource::DynamicTopic => "topic",
                    ConfigSource::DynamicBroker
                    | ConfigSource::DynamicDefaultBroker
                    | ConfigSource::StaticBroker => "broker",
                    ConfigSource::Default => "default",
                    ConfigSource::Unknown => "unknown",
                };
                crate::events::TopicSetting {
                    name: entry.name,
                    value: entry.value.unwrap_or_default(),
                    source: source.into(),
                }
            })
            .collect(),
    )
}
