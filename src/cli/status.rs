//! `chaos status`: services, brokers registered, controller, and per partition leader / ISR.

use crate::docker::{self, cluster};
use crate::error::{exit, Error};
use crate::kafka::metadata;
use std::time::Duration;
use tabled::{builder::Builder, settings::Style};

pub async fn run(cluster_name: Option<&str>, json: bool) -> Result<i32, Error> {
    let docker = docker::connect().await?;
    let cluster = cluster::attach(&docker, cluster_name).await?;
    let snapshot = metadata::snapshot(&cluster.bootstrap(), cluster.mode == "kraft", Duration::from_secs(3)).await;
    if json {
        let value = serde_json::json!({
            "cluster": cluster.name,
            "mode": cluster.mode,
            "services": cluster.services.iter().map(|s| serde_json::json!({
                "name": s.name, "container": s.container_name, "state": s.state,
                "role": s.role.as_label(), "host_bootstrap": s.host_bootstrap, "ip": s.ip,
            })).collect::<Vec<_>>(),
            "view": snapshot.as_ref().ok(),
            "view_error": snapshot.as_ref().err().map(|e| e.to_string()),
        });
        println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
        return Ok(exit::PASSED);
    }
    println!("cluster {} ({} mode)", cluster.name, cluster.mode);
    let mut services = Builder::default();
    services.push_record(["service", "container", "state", "role", "host address"]);
    for s in &cluster.services {
        services.push_record([
            s.name.clone(),
            s.container_name.clone(),
            s.state.clone(),
            s.role.as_label(),
            s.host_bootstrap.clone().unwrap_or_default(),
        ]);
    }
    println!("{}", services.build().with(Style::rounded()));
    match snapshot {
        Ok(view) => {
            let name_of = |id: i32| cluster.broker_service(id).map(|s| format!("{id} ({})", s.name)).unwrap_or(id.to_string());
            println!(
                "brokers registered: {}    controller: {}",
                view.brokers.iter().map(|b| name_of(*b)).collect::<Vec<_>>().join(", "),
                view.controller.map(name_of).unwrap_or_else(|| "none".into())
            );
            if view.partitions.is_empty() {
                println!("no topics");
            } else {
                let mut parts = Builder::default();
                parts.push_record(["partition", "leader", "epoch", "replicas", "isr"]);
                for p in &view.partitions {
                    parts.push_record([
                        p.key(),
                        p.leader.map(|l| l.to_string()).unwrap_or_else(|| "none (offline)".into()),
                        p.leader_epoch.to_string(),
                        format!("{:?}", p.replicas),
                        format!("{:?}", p.isr),
                    ]);
                }
                println!("{}", parts.build().with(Style::rounded()));
            }
            Ok(exit::PASSED)
        }
        Err(e) => {
            println!("cluster view unavailable: {e}");
            Ok(exit::INFRASTRUCTURE)
        }
    }
}
