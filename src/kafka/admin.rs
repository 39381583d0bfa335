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

type TopicResults = rdkafka::error::KafkaResult<Vec<rdkafka::admin::TopicResult>>;
type Request<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = TopicResults> + Send + 'a>>;

/// Sends a per-topic request (create, delete) for `items` with a fresh client, again for the
/// topics answered NotController, until none is or `NOT_CONTROLLER_RETRY` has passed. `fine`
/// says which other answers are no error (a topic already gone, for a delete).
async fn per_topic<'a, T: Copy + Send + 'a>(
    bootstrap: &str,
    profile: &Profile,
    verb: &str,
    items: Vec<T>,
    name_of: impl Fn(T) -> &'a str,
    mut request: impl FnMut(AdminClient<DefaultClientContext>, Vec<T>) -> Request<'a>,
    fine: impl Fn(rdkafka::types::RDKafkaErrorCode) -> bool,
) -> Result<(), KafkaError> {
    let deadline = tokio::time::Instant::now() + NOT_CONTROLLER_RETRY;
    let mut left = items;
    while !left.is_empty() {
        let results = request(admin(bootstrap, profile)?, left.clone())
            .await
            .map_err(KafkaError::client(format!("{verb} topics")))?;
        let mut again = Vec::new();
        for r in results {
            match r {
                Ok(_) => {}
                Err((_, code)) if fine(code) => {}
                Err((topic, code))
                    if not_controller(&code) && tokio::time::Instant::now() < deadline =>
                {
                    tracing::debug!("{verb} topic {topic}: {code}; retrying");
                    again.extend(left.iter().copied().filter(|t| name_of(*t) == topic));
                }
                Err((topic, code)) => {
                    return Err(KafkaError::Rejected {
                        what: format!("{verb} topic {topic}"),
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

/// Deletes the topics if they exist (a run starts from empty topics).
pub async fn delete_topics(
    bootstrap: &str,
    profile: &Profile,
    names: &[String],
) -> Result<(), KafkaError> {
    per_topic(
        bootstrap,
        profile,
        "delete",
        names.iter().map(String::as_str).collect(),
        |name| name,
        |client, left| Box::pin(async move { client.delete_topics(&left, &options()).await }),
        |code| code == rdkafka::types::RDKafkaErrorCode::UnknownTopicOrPartition,
    )
    .await
}

pub async fn create_topics(
    bootstrap: &str,
    profile: &Profile,
    topics: &[TopicPlan],
) -> Result<(), KafkaError> {
    per_topic(
        bootstrap,
        profile,
        "create",
        topics.iter().collect(),
        |t: &TopicPlan| t.name.as_str(),
        |client, left| {
            Box::pin(async move {
                let rows: Vec<Vec<&[i32]>> = left
                    .iter()
                    .map(|t| t.assignment.iter().map(Vec::as_slice).collect())
                    .collect();
                client
                    .create_topics(&new_topics(&left, &rows), &options())
                    .await
            })
        },
        |_| false,
    )
    .await
}

/// The topics as the admin client takes them; `rows`: each plan's assignment as slices.
fn new_topics<'a>(plans: &[&'a TopicPlan], rows: &'a [Vec<&'a [i32]>]) -> Vec<NewTopic<'a>> {
    plans
        .iter()
        .zip(rows)
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
        .collect()
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
