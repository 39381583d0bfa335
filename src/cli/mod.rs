//! Command-line interface: clap maps flags to options; the work is in the library.

mod progress;
mod status;

pub use progress::Progress;

use crate::docker::{self, cluster};
use crate::error::{exit, Error};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "chaos",
    version,
    about = "Chaos experiments on real Kafka clusters: failover, ISR and acked-data loss, measured"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start a cluster from a compose file and wait until it is ready.
    Up {
        #[arg(short = 'f', long = "file", default_value = "compose/seed.yml")]
        file: PathBuf,
        /// How long to wait for readiness.
        #[arg(long, default_value = "180s", value_parser = humantime::parse_duration)]
        timeout: Duration,
        /// Recreate even when a cluster with the same configuration is running.
        #[arg(long)]
        fresh: bool,
    },
    /// Services, brokers, controller, and leader / ISR per partition.
    Status {
        #[arg(long)]
        cluster: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Live view, refreshed every second: controller, brokers, leader and ISR per partition.
    Watch {
        #[arg(long)]
        cluster: Option<String>,
    },
    /// Remove the containers and networks this tool created (all clusters, or one).
    Down {
        #[arg(long)]
        cluster: Option<String>,
    },
    /// Heal what earlier runs left (rules, paused or disconnected containers); --all removes the clusters too.
    Clean {
        #[arg(long)]
        all: bool,
    },
    /// Build the images locally (Debian base, Kafka 3.9 for ZooKeeper mode, Kafka 4 for KRaft).
    Images {
        #[command(subcommand)]
        action: ImagesAction,
    },
    /// Run experiments (files or directories of *.yaml) and write reports.
    Run(crate::run::RunArgs),
    /// Benchmarks of the harness itself (throughput vs kafka-producer-perf-test, verification
    /// speed and memory, overhead, time to ready); writes reports/bench-*/bench.md.
    Bench(crate::bench::BenchArgs),
    /// Side by side: several run directories (or a parent of them), with the differences
    /// beyond noise.
    Compare {
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
    },
    /// Compare the latest run of each experiment with the previous ones (history.jsonl);
    /// exits 1 on a regression.
    Trend {
        #[arg(long, default_value = "reports/history.jsonl")]
        history: PathBuf,
        #[arg(long, default_value_t = 5)]
        previous: usize,
        /// A time this many times the previous median is a regression.
        #[arg(long, default_value_t = 1.5)]
        ratio: f64,
    },
    /// Re-render a run's reports from its events.jsonl.
    Report { dir: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum ImagesAction {
    Build,
}

/// Runs the CLI; returns the process exit code.
pub async fn main(cli: Cli) -> i32 {
    match dispatch(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

async fn dispatch(cli: Cli) -> Result<i32, Error> {
    match cli.command {
        Command::Up {
            file,
            timeout,
            fresh,
        } => {
            let progress = Progress::new();
            let project = crate::compose::load(&file)?;
            let plan = cluster::Plan::new(&project, &Default::default(), &Default::default())
                .map_err(|e| Error::Invalid(format!("{}: {e}", file.display())))?;
            let docker = docker::connect().await?;
            let say = |m: &str| progress.say(m);
            let images: Vec<String> = plan
                .services
                .iter()
                .map(|s| s.service.image.clone())
                .collect();
            docker::images::ensure_for(&docker, &images, &say).await?;
            let options = cluster::UpOptions {
                reuse: !fresh,
                ready_timeout: timeout,
                progress: &say,
            };
            let cluster = cluster::up(&docker, &plan, &options).await?;
            progress.finish();
            println!(
                "cluster {} ({} mode) ready in {:.1} s{}; bootstrap {}",
                cluster.name,
                cluster.mode,
                cluster.ready_after.as_secs_f64(),
                if cluster.reused { " (reused)" } else { "" },
                cluster.bootstrap_list()
            );
            Ok(exit::PASSED)
        }
        Command::Status { cluster, json } => status::run(cluster.as_deref(), json).await,
        Command::Watch { cluster } => status::watch(cluster.as_deref()).await,
        Command::Down { cluster } => {
            let docker = docker::connect().await?;
            let removed = cluster::down(&docker, cluster.as_deref()).await?;
            if removed.is_empty() {
                println!("nothing to remove");
            }
            for r in removed {
                println!("removed {r}");
            }
            Ok(exit::PASSED)
        }
        Command::Clean { all } => {
            let docker = docker::connect().await?;
            let orphans = docker::sweep::sweep_orphans(&docker).await?;
            for done in &orphans {
                println!("{done}");
            }
            let containers = cluster::lifecycle::list(&docker, None).await?;
            let mut clusters: Vec<String> = containers
                .iter()
                .filter_map(|c| c.labels.as_ref()?.get(docker::labels::CLUSTER).cloned())
                .collect();
            clusters.sort();
            clusters.dedup();
            for name in &clusters {
                for done in docker::faults::heal_everything(&docker, name).await? {
                    println!("{name}: {done}");
                }
            }
            if all {
                for r in cluster::down(&docker, None).await? {
                    println!("removed {r}");
                }
            }
            if clusters.is_empty() && orphans.is_empty() {
                println!("nothing to clean");
            }
            Ok(exit::PASSED)
        }
        Command::Images {
            action: ImagesAction::Build,
        } => {
            let progress = Progress::new();
            let docker = docker::connect().await?;
            let say = |m: &str| progress.say(m);
            let built = docker::images::ensure_all(&docker, &say).await?;
            progress.finish();
            for b in built {
                println!(
                    "{:<28} {:>7.1} s  {}",
                    b.tag,
                    b.seconds,
                    if b.cached { "cached" } else { "built" }
                );
            }
            Ok(exit::PASSED)
        }
        Command::Run(args) => crate::run::run_cli(args).await,
        Command::Bench(args) => crate::bench::run(args).await,
        Command::Report { dir } => crate::run::rerender(&dir),
        Command::Compare { dirs } => crate::run::compare(&dirs),
        Command::Trend {
            history,
            previous,
            ratio,
        } => crate::run::trend(&history, previous, ratio),
    }
}
