//! Docker's events stream for our cluster's containers: fault times come from here
//! (`timeNano` of kill / die / pause / unpause / start), not from the clock around a call.

use super::labels::{self, ContainerRole};
use crate::events::ContainerAction;
use bollard::query_parameters::EventsOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;
use tokio::sync::mpsc;

#[derive(Debug, Clone, PartialEq)]
pub struct ContainerEvent {
    pub container_id: String,
    pub service: Option<String>,
    /// None: a role label this version does not know.
    pub role: Option<ContainerRole>,
    /// None: an action not tracked (`exec_start`, `attach`, …).
    pub action: Option<ContainerAction>,
    /// Unix time in nanoseconds, as the daemon stamped it.
    pub time_nano: i64,
}

/// Subscribes to container events of `cluster` on every engine in use, merged into one
/// stream on the harness's clock (each node's event times less its measured clock offset).
/// The stream ends when the receiver is dropped, or when every engine's stream has ended.
/// Returns once each daemon has accepted the subscription, so no event after it is missed.
pub async fn subscribe(
    engines: &super::engines::Engines,
    scope: &labels::Scope,
) -> mpsc::UnboundedReceiver<ContainerEvent> {
    let (tx, rx) = mpsc::unbounded_channel();
    for (node, docker) in engines.named() {
        let offset = node.map_or(0, |n| n.clock_offset_ns);
        subscribe_on(docker, scope, offset, tx.clone()).await;
    }
    rx
}

async fn subscribe_on(
    docker: &Docker,
    scope: &labels::Scope,
    clock_offset_ns: i64,
    tx: mpsc::UnboundedSender<ContainerEvent>,
) {
    let mut filters = scope.filter();
    filters.insert("type".to_string(), vec!["container".to_string()]);
    let options = EventsOptionsBuilder::default().filters(&filters).build();
    let mut stream = docker.events(Some(options)).boxed();
    tokio::spawn(async move {
        while let Some(item) = stream.next().await {
            let Ok(message) = item else { break };
            let actor = message.actor.unwrap_or_default();
            let attributes = actor.attributes.unwrap_or_default();
            let event = ContainerEvent {
                container_id: actor.id.unwrap_or_default(),
                // An attached project's containers carry compose's labels only: they are
                // its services.
                service: attributes
                    .get(labels::SERVICE)
                    .or_else(|| attributes.get(labels::COMPOSE_SERVICE))
                    .cloned(),
                role: match attributes.get(labels::ROLE) {
                    Some(role) => ContainerRole::from_label(role),
                    None => Some(ContainerRole::Service),
                },
                action: ContainerAction::from_docker(&message.action.unwrap_or_default()),
                time_nano: message
                    .time_nano
                    .unwrap_or_else(|| message.time.unwrap_or(0) * 1_000_000_000)
                    - clock_offset_ns,
            };
            if tx.send(event).is_err() {
                break;
            }
        }
    });
    // The request is sent when the stream is first polled (inside the task); give the
    // daemon a moment to register it. A ping round-trip orders us after it.
    tokio::task::yield_now().await;
    let _ = docker.ping().await;
}
