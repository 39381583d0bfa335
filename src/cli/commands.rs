//! The cluster commands: `up`, `down`, `clean`, `images build|pull`. Each takes plain values
//! (the CLI parsed the flags) and prints its result on stdout.

use super::progress::{Progress, Verbosity};
use crate::compose::ComposeProject;
use crate::docker::{self, cluster, engines::Engines};
use crate::error::Error;
use crate::exit::ExitCode;
use crate::kafka::connect::Profile;
use std::time::Duration;

/// `chaos up`'s options beside the compose project and the nodes.
pub struct Up<'a> {
    /// Recreate even when a cluster with the same configuration runs.
    pub fresh: bool,
    /// How long to wait for readiness.
    pub timeout: Duration,
    pub verbosity: Verbosity,
    /// How the readiness check connects to the brokers.
    pub profile: &'a Profile,
}

pub async fn up(
    project: &ComposeProject,
    nodes: Option<&crate::nodes::NodesFile>,
    options: &Up<'_>,
) -> Result<ExitCode, Error> {
    let progress = Progress::new(options.verbosity);
    let plan = cluster::Plan::new(project, &Default::default(), &Default::default(), nodes)
        .map_err(|e| Error::Invalid(format!("{}: {e}", project.file.display())))?;
    let engines = Engines::connect(nodes).await?;
    let say = |m: &str| progress.say(m);
    docker::images::ensure_on_engines(&engines, &plan.images_needed(None), &say).await?;
    let up = cluster::UpOptions {
        reuse: !options.fresh,
        ready_timeout: options.timeout,
        progress: &say,
        profile: options.profile,
        in_flight: None,
    };
    let cluster = cluster::up(&engines, &plan, &up).await?;
    progress.finish();
    outln!(
        "cluster {} ({} mode) ready in {:.1} s{}; bootstrap {}",
        cluster.name,
        cluster.mode,
        cluster.ready_after.as_secs_f64(),
        if cluster.reused { " (reused)" } else { "" },
        cluster.bootstrap_list()
    );
    Ok(ExitCode::Passed)
}

pub async fn down(engines: &Engines, name: Option<&str>) -> Result<ExitCode, Error> {
    let removed = cluster::down(engines, name).await?;
    if removed.is_empty() {
        outln!("nothing to remove");
    }
    for r in removed {
        outln!("removed {r}");
    }
    Ok(ExitCode::Passed)
}

/// `chaos up --kubernetes`'s options beside the target.
pub struct UpKubernetes<'a> {
    /// The cluster's manifests.
    pub files: &'a [std::path::PathBuf],
    /// How long to wait for the pods, then for the brokers.
    pub timeout: Duration,
    pub verbosity: Verbosity,
    /// How the readiness check connects to the brokers (through their tunnels).
    pub profile: &'a Profile,
}

/// `chaos up --kubernetes NAMESPACE/CLUSTER`: every manifest checked before anything is
/// sent, applied as ours, then waited for: every replica ready, then every broker answering
/// through its port-forward with the cluster whole (the same check as a run's).
pub async fn up_kubernetes(
    target: &crate::kubernetes::KubernetesTarget,
    options: &UpKubernetes<'_>,
) -> Result<ExitCode, Error> {
    use crate::kubernetes::manifests;
    let started = std::time::Instant::now();
    let objects = manifests::read(options.files, target)?;
    let progress = Progress::new(options.verbosity);
    let conn = crate::kubernetes::connect(target).await?;
    for (object, applied) in manifests::apply(&conn, target, &objects).await? {
        progress.say(&format!("{object} {applied}"));
    }
    progress.say(&format!(
        "waiting for the pods labelled {} in {}",
        target.selector(),
        target.namespace
    ));
    manifests::wait_rolled_out(&conn, target, &objects, options.timeout).await?;
    let lookout = crate::kubernetes::Lookout::open(&conn, target).await?;
    let cluster = lookout.cluster().await?;
    progress.say("waiting for every broker to answer through its port-forward");
    let left = options.timeout.saturating_sub(started.elapsed());
    crate::run::kubernetes_brokers_ready(&conn, &target.namespace, &cluster, left, options.profile)
        .await?;
    progress.finish();
    outln!(
        "cluster {}/{} ({} mode) ready in {:.1} s on Kubernetes; brokers through port-forwards {}",
        target.namespace,
        target.cluster,
        cluster.mode,
        started.elapsed().as_secs_f64(),
        cluster.bootstrap_list()
    );
    Ok(ExitCode::Passed)
}

/// `chaos down --kubernetes NAMESPACE/CLUSTER`: what `up --kubernetes` created, deleted.
pub async fn down_kubernetes(
    target: &crate::kubernetes::KubernetesTarget,
) -> Result<ExitCode, Error> {
    use crate::kubernetes::manifests::{delete_ours, Removal};
    let conn = crate::kubernetes::connect(target).await?;
    // A Kafka pod's grace period (60 s in ours) plus the garbage collector's turn.
    match delete_ours(&conn, target, Duration::from_secs(120)).await? {
        Removal::Nothing => {
            outln!("nothing to remove");
        }
        Removal::Deleted(objects) => {
            for object in objects {
                outln!("removed {object}");
            }
        }
    }
    Ok(ExitCode::Passed)
}

/// `chaos clean --kubernetes NAMESPACE/CLUSTER`.
pub async fn clean_kubernetes(
    target: &str,
    nodes: crate::experiment::NodeAccess,
) -> Result<ExitCode, Error> {
    let (namespace, cluster) = crate::run::namespace_and_cluster(target)?;
    let mut target = crate::kubernetes::KubernetesTarget::new(namespace, cluster);
    target.nodes = nodes;
    let conn = crate::kubernetes::connect(&target).await?;
    for done in crate::kubernetes::clean(&conn, &target).await? {
        outln!("{done}");
    }
    Ok(ExitCode::Passed)
}

/// `chaos clean`: orphans swept on every engine, every fault of ours healed in every cluster
/// and in the named projects; with `all`, every cluster removed.
pub async fn clean(engines: &Engines, projects: &[String], all: bool) -> Result<ExitCode, Error> {
    let mut orphans = Vec::new();
    let mut containers = Vec::new();
    for docker in engines.all() {
        orphans.extend(docker::sweep::sweep_orphans(docker).await?);
        containers.extend(cluster::lifecycle::list(docker, None).await?);
    }
    for done in &orphans {
        outln!("{done}");
    }
    let clusters = docker::inventory::cluster_names(&containers);
    for name in &clusters {
        let scope = docker::labels::Scope::Cluster(name.clone());
        for done in docker::faults::heal_everything(engines, &scope).await? {
            outln!("{name}: {done}");
        }
    }
    for project in projects {
        let scope = docker::labels::Scope::Project(project.clone());
        let done = docker::faults::heal_everything(engines, &scope).await?;
        if done.is_empty() {
            outln!("{project}: nothing to heal");
        }
        for d in done {
            outln!("{project}: {d}");
        }
    }
    if all {
        for r in cluster::down(engines, None).await? {
            outln!("removed {r}");
        }
    }
    if clusters.is_empty() && orphans.is_empty() && projects.is_empty() {
        outln!("nothing to clean");
    }
    Ok(ExitCode::Passed)
}

pub async fn images_build(verbosity: Verbosity) -> Result<ExitCode, Error> {
    let progress = Progress::new(verbosity);
    let docker = docker::connect().await?;
    let say = |m: &str| progress.say(m);
    let built = docker::images::ensure_all(&docker, &say).await?;
    progress.finish();
    for b in built {
        outln!(
            "{:<28} {:>7.1} s  {}",
            b.tag,
            b.seconds,
            if b.cached { "cached" } else { "built" }
        );
    }
    Ok(ExitCode::Passed)
}

/// `chaos images pull`: the images named, and every image of the compose files that is not
/// one of ours.
pub async fn images_pull(
    mut references: Vec<String>,
    compose: Option<&ComposeProject>,
    verbosity: Verbosity,
) -> Result<ExitCode, Error> {
    for s in compose.iter().flat_map(|p| &p.services) {
        if !docker::images::is_ours(&s.image) && !references.contains(&s.image) {
            references.push(s.image.clone());
        }
    }
    if references.is_empty() {
        return Err(Error::Invalid(
            "nothing to pull: name images, or compose files with -f (chaos's own \
             images are built: chaos images build)"
                .into(),
        ));
    }
    let progress = Progress::new(verbosity);
    let docker = docker::connect().await?;
    let say = |m: &str| progress.say(m);
    for reference in &references {
        docker::images::pull(&docker, reference, &say).await?;
    }
    progress.finish();
    for reference in &references {
        outln!("pulled {reference}");
    }
    Ok(ExitCode::Passed)
}
