//! `chaos status`: services, brokers registered, controller, and per partition leader / ISR.

use crate::docker::{self, cluster};
use crate::error::Error;
use crate::exit::ExitCode;
use crate::kafka::connect::Profile;
use crate::kafka::metadata;
use std::time::Duration;
use tabled::{builder::Builder, settings::Style};

/// The named cluster, or an error that names the clusters there are (a name with no
/// container would otherwise show an empty table and "no broker answered").
async fn attach_existing(
    engines: &docker::engines::Engines,
    cluster_name: Option<&str>,
) -> Result<cluster::Cluster, Error> {
    let found = cluster::attach(engines, cluster_name).await?;
    if !found.services.is_empty() {
        return Ok(found);
    }
    let mut containers = Vec::new();
    for docker in engines.all() {
        containers.extend(cluster::lifecycle::list(docker, None).await?);
    }
    let running = docker::inventory::cluster_names(&containers);
    Err(Error::Invalid(format!(
        "no cluster named {} (running: {})\n  hint: chaos up -f <compose file>, or --cluster with one of those",
        found.name,
        if running.is_empty() {
            "none".to_string()
        } else {
            running.join(", ")
        }
    )))
}

/// Where `status` and `watch` find the cluster: Docker's containers, or a Kafka cluster on
/// Kubernetes reached through a tunnel per broker.
pub enum Source {
    Docker {
        engines: docker::engines::Engines,
        name: Option<String>,
    },
    Kubernetes(Box<crate::kubernetes::Lookout>),
}

impl Source {
    /// Where the cluster is, after its name ("" on Docker).
    fn location(&self) -> String {
        match self {
            Source::Docker { .. } => String::new(),
            Source::Kubernetes(lookout) => format!(
                " on Kubernetes, namespace {}; brokers through a port-forward each (host address)",
                lookout.namespace()
            ),
        }
    }

    /// The cluster as it is now.
    async fn cluster(&self) -> Result<cluster::Cluster, Error> {
        match self {
            Source::Docker { engines, name } => attach_existing(engines, name.as_deref()).await,
            Source::Kubernetes(lookout) => Ok(lookout.cluster().await?),
        }
    }
}

pub async fn run(source: &Source, json: bool, profile: &Profile) -> Result<ExitCode, Error> {
    let cluster = source.cluster().await?;
    let snapshot = metadata::snapshot(
        &cluster.bootstrap(),
        cluster.mode == crate::events::ClusterMode::Kraft,
        Duration::from_secs(3),
        profile,
    )
    .await;
    if json {
        let value = serde_json::json!({
            "cluster": cluster.name,
            "mode": cluster.mode,
            "services": cluster.services.iter().map(|s| serde_json::json!({
                "name": s.name, "container": s.container_name, "state": s.state,
                "role": s.role.as_label(), "host_bootstrap": s.host_bootstrap, "ip": s.ip,
                "node": s.node,
            })).collect::<Vec<_>>(),
            "view": snapshot.as_ref().ok(),
            "view_error": snapshot.as_ref().err().map(|e| e.to_string()),
        });
        outln!(
            "{}",
            serde_json::to_string_pretty(&value).unwrap_or_default()
        );
        return Ok(ExitCode::Passed);
    }
    outln!(
        "cluster {} ({} mode){}",
        cluster.name,
        cluster.mode,
        source.location()
    );
    let mut services = Builder::default();
    services.push_record([
        "service",
        "container",
        "state",
        "role",
        "host address",
        "node",
    ]);
    for s in &cluster.services {
        services.push_record([
            s.name.clone(),
            s.container_name.clone(),
            s.state.to_string(),
            s.role.as_label(),
            s.host_bootstrap.clone().unwrap_or_default(),
            s.node.clone().unwrap_or_default(),
        ]);
    }
    outln!("{}", services.build().with(Style::rounded()));
    match snapshot {
        Ok(view) => {
            super::out(&render_view(&cluster, &view));
            Ok(ExitCode::Passed)
        }
        Err(e) => {
            outln!("cluster view unavailable: {e}");
            Ok(ExitCode::Infrastructure)
        }
    }
}

/// Brokers, controller and the leader / ISR table of a view.
pub fn render_view(cluster: &cluster::Cluster, view: &crate::events::ClusterSnapshot) -> String {
    let name_of = |id: i32| {
        cluster
            .broker_service(id)
            .map(|s| format!("{id} ({})", s.name))
            .unwrap_or(id.to_string())
    };
    let mut out = format!(
        "brokers registered: {}    controller: {}\n",
        view.brokers
            .iter()
            .map(|b| name_of(*b))
            .collect::<Vec<_>>()
            .join(", "),
        view.controller
            .map(name_of)
            .unwrap_or_else(|| "none".into())
    );
    if view.partitions.is_empty() {
        out.push_str("no topics\n");
        return out;
    }
    let mut parts = Builder::default();
    parts.push_record(["partition", "leader", "epoch", "replicas", "isr", ""]);
    for p in &view.partitions {
        let note = if p.leader.is_none() {
            "OFFLINE"
        } else if p.isr.len() < p.replicas.len() {
            "under-replicated"
        } else {
            ""
        };
        parts.push_record([
            p.key(),
            p.leader
                .map(|l| l.to_string())
                .unwrap_or_else(|| "none".into()),
            p.leader_epoch.to_string(),
            format!("{:?}", p.replicas),
            format!("{:?}", p.isr),
            note.to_string(),
        ]);
    }
    out.push_str(&parts.build().with(Style::rounded()).to_string());
    out.push('\n');
    out
}

/// `chaos watch`: the view refreshed every second (the part of Kafka-UI that matters during
/// chaos), beside a run. Ends on Ctrl-C.
pub async fn watch(source: &Source, profile: &Profile) -> Result<ExitCode, Error> {
    use std::io::IsTerminal;
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = tokio::signal::ctrl_c() => return Ok(ExitCode::Passed),
        }
        let cluster = match source.cluster().await {
            Ok(c) => c,
            Err(e) => {
                outln!("{e}");
                continue;
            }
        };
        let states: Vec<String> = cluster
            .services
            .iter()
            .map(|s| format!("{} {}", s.name, s.state))
            .collect();
        let view = metadata::snapshot(
            &cluster.bootstrap(),
            cluster.mode == crate::events::ClusterMode::Kraft,
            Duration::from_millis(800),
            profile,
        )
        .await;
        let mut screen = String::new();
        if std::io::stdout().is_terminal() {
            screen.push_str("\x1b[2J\x1b[H");
        }
        screen.push_str(&format!(
            "{} cluster {} ({}){}    {}\n",
            humantime::format_rfc3339_seconds(std::time::SystemTime::now()),
            cluster.name,
            cluster.mode,
            source.location(),
            states.join(" · ")
        ));
        match view {
            Ok(v) => screen.push_str(&render_view(&cluster, &v)),
            Err(e) => screen.push_str(&format!("cluster view unavailable: {e}\n")),
        }
        // A closed stdout (`chaos watch | head`) ends the watch.
        if !super::write_out(&screen) {
            return Ok(ExitCode::Passed);
        }
    }
}
