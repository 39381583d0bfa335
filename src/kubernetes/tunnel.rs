//! A port-forward per broker, as users do with `kubectl port-forward`: broker `id` listens on
//! `127.0.0.1:(local_port_base + id)`, and every accepted connection opens its own
//! port-forward to the broker's pod *by name, then*. A pod its StatefulSet recreated keeps its
//! name, so new connections reach the new pod; a connection to a pod that died ends, as a
//! real connection to a dead broker would. The brokers must advertise these local addresses
//! on the listener at `pod_port`.

use super::{KubeError, KubernetesTarget};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::{JoinHandle, JoinSet};

/// The listeners; dropping it ends them and every connection through them.
#[derive(Debug)]
pub struct Tunnels {
    listeners: Vec<JoinHandle<()>>,
    /// (broker id, local address), in the order opened.
    addresses: Vec<(i32, String)>,
}

impl Tunnels {
    /// Binds every broker's local port (all or none: the first port taken fails, naming it)
    /// and starts accepting.
    pub async fn open(
        pods: Api<Pod>,
        target: &KubernetesTarget,
        brokers: &[(i32, String)],
    ) -> Result<Tunnels, KubeError> {
        let mut bound = Vec::with_capacity(brokers.len());
        for (id, pod) in brokers {
            let port = target.local_port(*id).ok_or_else(|| {
                KubeError::Refused(format!(
                    "broker {id} ({pod}): {} + {id} is not a port (set a lower local port base)",
                    target.local_port_base
                ))
            })?;
            let listener = TcpListener::bind(("127.0.0.1", port))
                .await
                .map_err(|source| KubeError::Listen {
                    port,
                    broker: *id,
                    source,
                })?;
            bound.push((*id, pod.clone(), port, listener));
        }
        let mut tunnels = Tunnels {
            listeners: Vec::new(),
            addresses: Vec::new(),
        };
        for (id, pod, port, listener) in bound {
            tunnels.addresses.push((id, format!("127.0.0.1:{port}")));
            tunnels.listeners.push(tokio::spawn(accept(
                listener,
                pods.clone(),
                pod,
                target.pod_port,
            )));
        }
        Ok(tunnels)
    }

    /// (broker id, `127.0.0.1:<port>`) of every tunnel.
    pub fn addresses(&self) -> &[(i32, String)] {
        &self.addresses
    }

    /// Ends every listener and connection now (as dropping does).
    pub fn close(&mut self) {
        for l in self.listeners.drain(..) {
            l.abort();
        }
    }
}

impl Drop for Tunnels {
    fn drop(&mut self) {
        self.close();
    }
}

/// Accepts until aborted; the connections live in this task's set, so aborting the listener
/// ends them too.
async fn accept(listener: TcpListener, pods: Api<Pod>, pod: String, pod_port: u16) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((conn, _)) => {
                    connections.spawn(forward(conn, pods.clone(), pod.clone(), pod_port));
                }
                Err(e) => {
                    // Out of descriptors and the like: the next accept may succeed.
                    tracing::warn!("tunnel to {pod}: accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
            },
            // Reap finished connections so the set does not grow.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// One connection: a port-forward to the pod named `pod` as it is now, copied both ways.
async fn forward(mut conn: TcpStream, pods: Api<Pod>, pod: String, pod_port: u16) {
    let mut forwarder = match pods.portforward(&pod, &[pod_port]).await {
        Ok(f) => f,
        Err(e) => {
            // The pod is gone or not running yet: the client sees a closed connection, as
            // it would from a broker that is down. A refusal is the user's to fix: said loudly.
            match &e {
                kube::Error::Api(status) if status.code == 403 => tracing::warn!(
                    "tunnel to {pod}:{pod_port}: forbidden (grant create on pods/portforward): {e}"
                ),
                _ => tracing::debug!("tunnel to {pod}:{pod_port}: {e}"),
            }
            return;
        }
    };
    let Some(mut upstream) = forwarder.take_stream(pod_port) else {
        forwarder.abort();
        return;
    };
    let error = forwarder.take_error(pod_port);
    tokio::select! {
        copied = tokio::io::copy_bidirectional(&mut conn, &mut upstream) => {
            if let Err(e) = copied {
                tracing::debug!("tunnel to {pod}:{pod_port} ended: {e}");
            }
        }
        // The kubelet reports the port unusable (e.g. nothing listens there).
        Some(Some(why)) = async move { match error { Some(e) => Some(e.await), None => None } } => {
            tracing::debug!("tunnel to {pod}:{pod_port}: {why}");
        }
    }
    // Both ways are closed (or the pod side failed): nothing left to deliver.
    forwarder.abort();
}
