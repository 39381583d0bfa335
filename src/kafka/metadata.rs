//! The cluster view: brokers, active controller, and per partition leader, leader epoch,
//! replicas and ISR. ZooKeeper mode: Metadata's controller id is the active controller.
//! KRaft: Metadata's controller id is a random broker, so the active controller is the
//! quorum leader from DescribeQuorum.

use super::connect::Profile;
use super::wire::Connection;
use super::KafkaError;
use crate::events::{BrokerId, ClusterSnapshot, PartitionState};
use kafka_protocol::messages::describe_quorum_request::{PartitionData, TopicData};
use kafka_protocol::messages::elect_leaders_request::TopicPartitions;
use kafka_protocol::messages::{
    DescribeQuorumRequest, ElectLeadersRequest, MetadataRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use std::collections::BTreeMap;
use std::time::Duration;

/// Metadata v12 and DescribeQuorum v1 are served by Kafka 3.x and 4.x alike.
const METADATA_VERSION: i16 = 12;
const DESCRIBE_QUORUM_VERSION: i16 = 1;
const ELECT_LEADERS_VERSION: i16 = 2;

/// One broker's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct BrokerView {
    pub controller: Option<BrokerId>,
    pub brokers: Vec<BrokerId>,
    pub partitions: Vec<PartitionState>,
}

fn broker_id(id: i32) -> Option<BrokerId> {
    (id >= 0).then_some(id)
}

pub async fn fetch_view(
    conn: &mut Connection,
    timeout: Duration,
) -> Result<BrokerView, KafkaError> {
    let request = MetadataRequest::default()
        .with_topics(None)
        .with_allow_auto_topic_creation(false);
    let response = conn.send(&request, METADATA_VERSION, timeout).await?;
    let mut brokers: Vec<BrokerId> = response.brokers.iter().map(|b| b.node_id.0).collect();
    brokers.sort_unstable();
    let mut partitions = Vec::new();
    for topic in &response.topics {
        let Some(name) = topic.name.as_ref() else {
            continue;
        };
        if topic.error_code != 0 || name.0.starts_with("__") {
            continue;
        }
        for p in &topic.partitions {
            partitions.push(PartitionState {
                topic: name.0.to_string(),
                partition: p.partition_index,
                leader: broker_id(p.leader_id.0),
                leader_epoch: p.leader_epoch,
                replicas: p.replica_nodes.iter().map(|b| b.0).collect(),
                isr: sorted(p.isr_nodes.iter().map(|b| b.0).collect()),
                offline_replicas: sorted(p.offline_replicas.iter().map(|b| b.0).collect()),
            });
        }
    }
    partitions.sort_by(|a, b| (&a.topic, a.partition).cmp(&(&b.topic, b.partition)));
    Ok(BrokerView {
        controller: broker_id(response.controller_id.0),
        brokers,
        partitions,
    })
}

fn sorted(mut v: Vec<i32>) -> Vec<i32> {
    v.sort_unstable();
    v
}

/// KRaft: the quorum leader (active controller) and its epoch.
pub async fn fetch_quorum_leader(
    conn: &mut Connection,
    timeout: Duration,
) -> Result<Option<(BrokerId, i32)>, KafkaError> {
    let request = DescribeQuorumRequest::default().with_topics(vec![TopicData::default()
        .with_topic_name(TopicName(StrBytes::from_static_str("__cluster_metadata")))
        .with_partitions(vec![PartitionData::default().with_partition_index(0)])]);
    let response = conn
        .send(&request, DESCRIBE_QUORUM_VERSION, timeout)
        .await?;
    if response.error_code != 0 {
        return Err(KafkaError::Protocol {
            addr: conn.addr().into(),
            api: "DescribeQuorum",
            reason: format!("error code {}", response.error_code),
        });
    }
    Ok(response
        .topics
        .first()
        .and_then(|t| t.partitions.first())
        .and_then(|p| broker_id(p.leader_id.0).map(|l| (l, p.leader_epoch))))
}

/// A cluster chaos did not start, from a bootstrap list: every broker's id and advertised
/// address (as the listener asked advertises them), and whether it runs KRaft (DescribeQuorum
/// answers). The first address that answers decides.
pub async fn discover(
    bootstrap: &str,
    timeout: Duration,
    profile: &Profile,
) -> Result<(Vec<(BrokerId, String)>, bool), KafkaError> {
    let mut last = String::from("an empty bootstrap list");
    for addr in bootstrap
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
    {
        let mut conn = match Connection::connect(addr, timeout, profile).await {
            Ok(c) => c,
            // Wrong credentials or certificates fail on every broker alike: say so at once.
            Err(e @ (KafkaError::Authentication { .. } | KafkaError::Tls { .. })) => return Err(e),
            Err(e) => {
                last = e.to_string();
                continue;
            }
        };
        let request = MetadataRequest::default()
            .with_topics(Some(vec![]))
            .with_allow_auto_topic_creation(false);
        let response = match conn.send(&request, METADATA_VERSION, timeout).await {
            Ok(r) => r,
            Err(e) => {
                last = e.to_string();
                continue;
            }
        };
        let mut brokers: Vec<(BrokerId, String)> = response
            .brokers
            .iter()
            .map(|b| (b.node_id.0, format!("{}:{}", b.host.as_str(), b.port)))
            .collect();
        brokers.sort();
        let kraft = fetch_quorum_leader(&mut conn, timeout)
            .await
            .is_ok_and(|q| q.is_some());
        return Ok((brokers, kraft));
    }
    Err(KafkaError::NoBroker {
        tried: bootstrap.into(),
        last,
    })
}

/// Asks the controller for a leader election (0 = preferred, 1 = unclean). Returns Kafka's
/// answer for the partition as text ("ok" or the error).
pub async fn elect_leader(
    conn: &mut Connection,
    topic: &str,
    partition: i32,
    unclean: bool,
    timeout: Duration,
) -> Result<String, KafkaError> {
    let request = ElectLeadersRequest::default()
        .with_election_type(if unclean { 1 } else { 0 })
        .with_topic_partitions(Some(vec![TopicPartitions::default()
            .with_topic(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partitions(vec![partition])]))
        .with_timeout_ms(timeout.as_millis() as i32);
    let response = conn
        .send(
            &request,
            ELECT_LEADERS_VERSION,
            timeout + Duration::from_secs(1),
        )
        .await?;
    if response.error_code != 0 {
        return Ok(format!("error code {}", response.error_code));
    }
    let result = response
        .replica_election_results
        .iter()
        .flat_map(|r| r.partition_result.iter())
        .find(|p| p.partition_id == partition);
    Ok(match result {
        Some(p) if p.error_code == 0 => "ok".into(),
        Some(p) => format!(
            "error code {}{}",
            p.error_code,
            p.error_message
                .as_ref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        ),
        None => "no result for the partition".into(),
    })
}

/// FindCoordinator v4 (batched keys) is served by Kafka 3.x and 4.x alike.
const FIND_COORDINATOR_VERSION: i16 = 4;

/// Whose coordinator FindCoordinator asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoordinatorKind {
    Group = 0,
    Transaction = 1,
}

/// The broker coordinating a consumer group or a transactional id. An unknown group still has
/// a coordinator (the one its id hashes to); an unknown transactional id has none yet
/// (COORDINATOR_NOT_AVAILABLE until the producer first asks).
pub async fn find_coordinator(
    conn: &mut Connection,
    kind: CoordinatorKind,
    key: &str,
    timeout: Duration,
) -> Result<BrokerId, KafkaError> {
    let request = kafka_protocol::messages::FindCoordinatorRequest::default()
        .with_key_type(kind as i8)
        .with_coordinator_keys(vec![StrBytes::from_string(key.to_string())]);
    let response = conn
        .send(&request, FIND_COORDINATOR_VERSION, timeout)
        .await?;
    let c = response
        .coordinators
        .iter()
        .find(|c| c.key.as_str() == key)
        .ok_or_else(|| KafkaError::Protocol {
            addr: conn.addr().into(),
            api: "FindCoordinator",
            reason: format!("no answer for `{key}`"),
        })?;
    if c.error_code != 0 {
        return Err(KafkaError::Protocol {
            addr: conn.addr().into(),
            api: "FindCoordinator",
            reason: format!(
                "`{key}`: error code {}{}",
                c.error_code,
                c.error_message
                    .as_ref()
                    .map(|m| format!(": {}", m.as_str()))
                    .unwrap_or_default()
            ),
        });
    }
    broker_id(c.node_id.0).ok_or_else(|| KafkaError::Protocol {
        addr: conn.addr().into(),
        api: "FindCoordinator",
        reason: format!("`{key}`: no coordinator"),
    })
}

/// Merges the latest fresh answers of several brokers into one snapshot.
/// Per partition the answer with the highest leader epoch wins (a broker cut from the
/// cluster keeps serving stale metadata; a newer epoch always comes from a later election);
/// on a tie the controller's own answer wins, else the first in `views` order.
/// The controller is the majority answer (ZooKeeper mode) unless `quorum_leader` is known.
pub fn merge(views: &[(BrokerId, BrokerView)], quorum_leader: Option<BrokerId>) -> ClusterSnapshot {
    let controller =
        quorum_leader.or_else(|| majority(views.iter().filter_map(|(_, v)| v.controller)));
    let rank = |from: BrokerId| if Some(from) == controller { 0 } else { 1 };
    let mut ordered: Vec<&(BrokerId, BrokerView)> = views.iter().collect();
    ordered.sort_by_key(|(from, _)| rank(*from));
    let mut partitions: BTreeMap<(String, i32), PartitionState> = BTreeMap::new();
    for (_, view) in &ordered {
        for p in &view.partitions {
            let key = (p.topic.clone(), p.partition);
            match partitions.get(&key) {
                Some(existing) if existing.leader_epoch >= p.leader_epoch => {}
                _ => {
                    partitions.insert(key, p.clone());
                }
            }
        }
    }
    let brokers = ordered
        .first()
        .map(|(_, v)| v.brokers.clone())
        .unwrap_or_default();
    ClusterSnapshot {
        controller,
        brokers,
        partitions: partitions.into_values().collect(),
    }
}

fn majority(ids: impl Iterator<Item = BrokerId>) -> Option<BrokerId> {
    let mut counts: BTreeMap<BrokerId, usize> = BTreeMap::new();
    for id in ids {
        *counts.entry(id).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by_key(|(id, n)| (*n, -*id))
        .map(|(id, _)| id)
}

/// One merged snapshot from every broker at once (for `status` and readiness), each asked
/// with `timeout`; brokers that do not answer are left out.
pub async fn snapshot(
    endpoints: &[(BrokerId, String)],
    kraft: bool,
    timeout: Duration,
    profile: &Profile,
) -> Result<ClusterSnapshot, KafkaError> {
    let asks = endpoints.iter().map(|(id, addr)| async move {
        let mut conn = Connection::connect(addr, timeout, profile).await?;
        let view = fetch_view(&mut conn, timeout).await?;
        let quorum = if kraft {
            fetch_quorum_leader(&mut conn, timeout).await.ok().flatten()
        } else {
            None
        };
        Ok::<_, KafkaError>((*id, view, quorum))
    });
    let answers = futures_util::future::join_all(asks).await;
    let mut views = Vec::new();
    let mut quorum: Option<(BrokerId, i32)> = None;
    let mut last_error = None;
    for answer in answers {
        match answer {
            Ok((id, view, q)) => {
                views.push((id, view));
                if let Some(q) = q {
                    if quorum.is_none_or(|(_, epoch)| q.1 > epoch) {
                        quorum = Some(q);
                    }
                }
            }
            Err(e) => last_error = Some(e.to_string()),
        }
    }
    if views.is_empty() {
        return Err(KafkaError::NoBroker {
            tried: endpoints
                .iter()
                .map(|(_, a)| a.as_str())
                .collect::<Vec<_>>()
                .join(","),
            last: last_error.unwrap_or_else(|| "no brokers".into()),
        });
    }
    Ok(merge(&views, quorum.map(|(id, _)| id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(leader: Option<i32>, epoch: i32, isr: &[i32]) -> PartitionState {
        crate::events::testing::orders0(leader, epoch, &[1, 2, 3], isr)
    }

    fn view(controller: i32, part: PartitionState) -> BrokerView {
        BrokerView {
            controller: Some(controller),
            brokers: vec![1, 2, 3],
            partitions: vec![part],
        }
    }

    #[test]
    fn a_stale_zombie_leader_loses_to_the_newer_epoch() {
        let zombie = (1, view(1, p(Some(1), 4, &[1, 2, 3])));
        let fresh2 = (2, view(2, p(Some(2), 5, &[2, 3])));
        let fresh3 = (3, view(2, p(Some(2), 5, &[2, 3])));
        let merged = merge(&[zombie, fresh2, fresh3], None);
        assert_eq!(merged.controller, Some(2));
        assert_eq!(merged.partitions[0].leader, Some(2));
        assert_eq!(merged.partitions[0].isr, vec![2, 3]);
    }

    #[test]
    fn on_equal_epochs_the_controller_answer_wins() {
        let follower = (3, view(1, p(Some(1), 4, &[1, 2, 3])));
        let controller = (1, view(1, p(Some(1), 4, &[1, 2])));
        let merged = merge(&[follower, controller], None);
        assert_eq!(merged.partitions[0].isr, vec![1, 2]);
    }

    #[test]
    fn kraft_uses_the_quorum_leader_not_the_metadata_controller_id() {
        let a = (1, view(3, p(Some(1), 1, &[1, 2, 3])));
        let merged = merge(&[a], Some(2));
        assert_eq!(merged.controller, Some(2));
    }

    #[test]
    fn no_answers_give_an_empty_view() {
        let merged = merge(&[], None);
        assert_eq!(merged.controller, None);
        assert!(merged.partitions.is_empty());
    }
}
