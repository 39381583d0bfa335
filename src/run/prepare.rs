//! Everything `chaos run` checks before it touches Docker, shared with `chaos validate` and
//! `chaos run --dry-run`: each experiment file is loaded and validated, each compose file it
//! (or a matrix variant) names is loaded and the experiment validated against it, and each
//! variant's cluster plan is built. Errors are collected, not stopped at: one per problem
//! found (a file that does not parse as YAML of the schema has one: serde stops there).

use crate::compose::ComposeProject;
use crate::docker::{cluster::Plan, images};
use crate::error::Error;
use crate::experiment::{self, Experiment};
use std::path::{Path, PathBuf};

/// Compose-like options of `run` and `validate`, applied to every compose file an experiment
/// names.
#[derive(Debug, Clone, Default)]
pub struct ComposeOverrides {
    /// Variables for ${VAR} in the compose files instead of the .env beside each (repeatable;
    /// the process environment still wins).
    pub env_files: Vec<PathBuf>,
    /// The cluster (compose project) name for every experiment, instead of the compose
    /// file's `name:` or stem.
    pub project_name: Option<String>,
    /// A nodes file: run each service on the Docker engine its `x-chaos-node` names (see
    /// README, "Several hosts"). Without it every service runs on the one engine.
    pub nodes: Option<PathBuf>,
    /// Run every experiment against a Kafka cluster on Kubernetes instead of its compose
    /// file: NAMESPACE/CLUSTER, CLUSTER being the pods' `strimzi.io/cluster` label (see
    /// docs/kubernetes.md). Broker settings the experiment would set are refused: the
    /// cluster keeps its own.
    pub kubernetes: Option<String>,
    /// The kubeconfig context for --kubernetes (default: the current context).
    pub kube_context: Option<String>,
    /// How a node fault reaches a node for --kubernetes.
    pub kube_nodes: crate::experiment::NodeAccess,
}

/// `--kubernetes NAMESPACE/CLUSTER` (every command that takes it): the two names, trimmed.
pub fn namespace_and_cluster(value: &str) -> Result<(String, String), Error> {
    match value
        .split_once('/')
        .map(|(n, c)| (n.trim(), c.trim()))
        .filter(|(n, c)| !n.is_empty() && !c.is_empty())
    {
        Some((n, c)) => Ok((n.to_string(), c.to_string())),
        None => Err(Error::Invalid(format!(
            "--kubernetes {value}: expected NAMESPACE/CLUSTER\n  hint: --kubernetes chaos/seed \
             (CLUSTER is the pods' strimzi.io/cluster label)"
        ))),
    }
}

impl ComposeOverrides {
    /// `--kubernetes NAMESPACE/CLUSTER` as the experiment's `cluster.kubernetes` would say it.
    pub fn kubernetes_spec(&self) -> Result<Option<crate::experiment::KubernetesSpec>, Error> {
        let Some(value) = &self.kubernetes else {
            return Ok(None);
        };
        let (namespace, cluster) = namespace_and_cluster(value)?;
        Ok(Some(crate::experiment::KubernetesSpec {
            namespace,
            strimzi_cluster: cluster,
            context: self.kube_context.clone(),
            kubeconfig: None,
            external_port: 9094,
            local_port_base: 31090,
            nodes: self.kube_nodes,
        }))
    }

    /// The nodes file, read once per command (None: every service on the one engine).
    pub fn load_nodes(&self) -> Result<Option<crate::nodes::NodesFile>, Error> {
        match &self.nodes {
            Some(path) => Ok(Some(crate::nodes::NodesFile::load(path)?)),
            None => Ok(None),
        }
    }
}

/// Why a consumer group on the consumer protocol cannot run here, and the hint.
pub(crate) const CONSUMER_PROTOCOL_NEEDS_KRAFT: (&str, &str) = (
    "consumer (KIP-848) needs a KRaft cluster (Kafka 4); this one runs in ZooKeeper mode",
    "compose/kraft.yml, or protocol: classic",
);

/// Whether the experiment asks for the consumer group protocol on a ZooKeeper cluster.
pub(crate) fn consumer_protocol_on_zookeeper(
    exp: &Experiment,
    mode: crate::events::ClusterMode,
) -> bool {
    mode != crate::events::ClusterMode::Kraft
        && exp
            .workload
            .as_ref()
            .and_then(|w| w.group.as_ref())
            .is_some_and(|g| g.protocol == crate::events::GroupProtocol::Consumer)
}

/// One matrix variant, ready to run.
#[derive(Debug, Clone)]
pub struct PreparedVariant {
    /// e.g. "unclean.leader.election.enable=true"; empty without a matrix.
    pub name: String,
    pub experiment: Experiment,
    pub cluster: ClusterSource,
    /// Service images, and the network sidecar's when a fault needs it.
    pub images: Vec<crate::docker::images::WantedImage>,
}

/// Where a variant's cluster comes from.
#[derive(Debug, Clone)]
pub enum ClusterSource {
    /// Started (or reused) by this tool from a compose file.
    // Boxed: a plan is large beside the other sources' names.
    Compose {
        project: Box<ComposeProject>,
        plan: Box<Plan>,
    },
    /// A compose project someone else started; found, and the experiment checked against
    /// it, when the run starts.
    Attach { project: String },
    /// A Kafka cluster on Kubernetes (its kubeconfig path resolved against the experiment
    /// file): found and port-forwarded when the run starts, never started or removed.
    Kubernetes {
        spec: crate::experiment::KubernetesSpec,
    },
}

impl PreparedVariant {
    /// The cluster's name: the plan's, or the attached project's.
    pub fn cluster_name(&self) -> &str {
        match &self.cluster {
            ClusterSource::Compose { plan, .. } => &plan.cluster,
            ClusterSource::Attach { project } => project,
            ClusterSource::Kubernetes { spec } => &spec.strimzi_cluster,
        }
    }
}

/// One experiment file, validated.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub file: PathBuf,
    pub experiment: Experiment,
    pub variants: Vec<PreparedVariant>,
}

/// Expands directories into their experiment files (sorted); a directory without any is an
/// error, so that a typo'd suite does not pass by running nothing.
pub fn experiment_files(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, Error> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(input)
                .map_err(|e| Error::Invalid(format!("{}: {e}", input.display())))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
                .collect();
            if found.is_empty() {
                return Err(Error::Invalid(format!(
                    "{}: no experiment files (*.yaml, *.yml) in this directory",
                    input.display()
                )));
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(input.clone());
        }
    }
    Ok(files)
}

/// Validates one experiment file as `run` does before starting anything.
pub fn prepare(
    file: &Path,
    overrides: &ComposeOverrides,
    nodes: Option<&crate::nodes::NodesFile>,
) -> Result<Prepared, Vec<Error>> {
    let exp = experiment::load_all(file)
        .map_err(|errors| errors.into_iter().map(Error::from).collect::<Vec<_>>())?;
    let mut errors: Vec<Error> = Vec::new();
    // Compose files by path, loaded and checked once each.
    let mut composes: Vec<(PathBuf, Option<ComposeProject>)> = Vec::new();
    let mut variants = Vec::new();
    let on_kubernetes = overrides.kubernetes_spec().map_err(|e| vec![e])?;
    for mut variant in experiment::matrix::expand(&exp) {
        if let Err(e) = experiment::check_client(&variant.experiment, file, &installed_client) {
            push_once(&mut errors, e.into());
            continue;
        }
        if let Some(spec) = &on_kubernetes {
            match onto_kubernetes(&mut variant, spec, &exp, file) {
                Ok(()) => {}
                Err(Refused::Variant(e)) => {
                    errors.push(e);
                    continue;
                }
                Err(Refused::Every(e)) => {
                    errors.push(e);
                    break;
                }
            }
        }
        if let Some(spec) = variant.experiment.cluster.kubernetes.clone() {
            match kubernetes_variant(variant, spec, file, nodes) {
                Ok(v) => variants.push(v),
                Err(e) => errors.push(e),
            }
            continue;
        }
        let Some(path) = experiment::compose_path(&variant.experiment, file) else {
            let Some(attach) = variant.experiment.cluster.attach.clone() else {
                continue; // validation said why
            };
            match attached_variant(variant, attach.project, file, nodes) {
                Ok(v) => variants.push(v),
                Err(e) => errors.push(e),
            }
            continue;
        };
        let project = match composes.iter().find(|(p, _)| *p == path) {
            Some((_, project)) => project.clone(),
            None => {
                let project = load_and_check_compose(&path, overrides, &exp, file, &mut errors);
                composes.push((path, project.clone()));
                project
            }
        };
        let Some(project) = project else { continue };
        match compose_variant(variant, project, file, nodes) {
            Ok(v) => variants.push(v),
            Err(e) => push_once(&mut errors, e),
        }
    }
    if errors.is_empty() {
        Ok(Prepared {
            file: file.to_path_buf(),
            experiment: exp,
            variants,
        })
    } else {
        Err(errors)
    }
}

/// An error, unless the same one is already there (variants of one file often share one).
fn push_once(errors: &mut Vec<Error>, e: Error) {
    if !errors.iter().any(|o| o.to_string() == e.to_string()) {
        errors.push(e);
    }
}

/// Whether the client a variant asks for is installed here; for the Java client, the
/// configuration names its version knows.
fn installed_client(
    client: &experiment::ClientChoice,
    version: &str,
) -> Result<Option<experiment::SettingNames>, String> {
    use crate::kafka::client_install::{JavaInstall, PythonInstall};
    match client {
        experiment::ClientChoice::LibrdkafkaPython { .. } => PythonInstall::find(version)
            .map(|_| None)
            .map_err(|e| e.to_string()),
        _ => JavaInstall::find(version)
            .map(|install| Some(install.setting_names()))
            .map_err(|e| e.to_string()),
    }
}

/// Why `--kubernetes` refuses a variant: this one only, or every variant of the file.
enum Refused {
    Variant(Error),
    Every(Error),
}

/// `--kubernetes`: the same experiment, unchanged, against a cluster on Kubernetes; what it
/// would set on brokers it creates cannot apply to pods that exist.
fn onto_kubernetes(
    variant: &mut experiment::matrix::Variant,
    spec: &experiment::KubernetesSpec,
    exp: &Experiment,
    file: &Path,
) -> Result<(), Refused> {
    let cluster = &variant.experiment.cluster;
    if !cluster.broker_environment.is_empty() || !cluster.environment.is_empty() {
        return Err(Refused::Variant(Error::Invalid(format!(
            "{}: cluster.broker-config / broker-environment / environment{}: sets broker \
             settings, but --kubernetes runs it on a cluster that keeps its own\n  hint: set \
             them in the StatefulSet (or Strimzi's Kafka resource), or run it with its compose file",
            file.display(),
            if variant.name.is_empty() { String::new() } else { format!(" (variant {})", variant.name) }
        ))));
    }
    if let Some(kind) = experiment::fault_unavailable_on_kubernetes(&variant.experiment) {
        return Err(Refused::Variant(Error::Invalid(format!(
            "{}: steps: a `{kind}` fault is not available on Kubernetes (a pod cannot be taken \
             off its network through the API)\n  hint: use `partition`",
            file.display(),
        ))));
    }
    if let Some(axis) = exp.matrix.keys().find(|k| k.starts_with("cluster:")) {
        return Err(Refused::Every(Error::Invalid(format!(
            "{}: matrix.{axis}: the axis chooses clusters this tool starts, but --kubernetes \
             runs every variant on the one cluster on Kubernetes\n  hint: run it with its \
             compose files, or without that axis",
            file.display()
        ))));
    }
    let cluster = &mut variant.experiment.cluster;
    cluster.compose = None;
    cluster.attach = None;
    cluster.kubernetes = Some(spec.clone());
    Ok(())
}

/// A variant on a cluster on Kubernetes (its kubeconfig resolved against the file). Nothing
/// is built: the cluster's own images run its pods, and the network helper's image must be on
/// its nodes (docs/kubernetes.md).
fn kubernetes_variant(
    variant: experiment::matrix::Variant,
    mut spec: experiment::KubernetesSpec,
    file: &Path,
    nodes: Option<&crate::nodes::NodesFile>,
) -> Result<PreparedVariant, Error> {
    if let Some(nodes) = nodes {
        return Err(Error::Invalid(format!(
            "{}: cluster.kubernetes: a Kubernetes cluster places its own pods, \
             but a nodes file ({}) is given\n  hint: run it without --nodes / CHAOS_NODES",
            file.display(),
            nodes.file.display()
        )));
    }
    let base = file.parent().unwrap_or(Path::new("."));
    spec.kubeconfig = spec.kubeconfig.map(|k| base.join(k));
    Ok(PreparedVariant {
        name: variant.name,
        experiment: variant.experiment,
        cluster: ClusterSource::Kubernetes { spec },
        images: Vec::new(),
    })
}

/// A variant on a compose project someone else started (on the one engine). Only the
/// sidecar image is needed, when network faults need it: the project's are there.
fn attached_variant(
    variant: experiment::matrix::Variant,
    project: String,
    file: &Path,
    nodes: Option<&crate::nodes::NodesFile>,
) -> Result<PreparedVariant, Error> {
    if let Some(nodes) = nodes {
        return Err(Error::Invalid(format!(
            "{}: cluster.attach: an attached compose project runs on the one engine, \
             but a nodes file ({}) is given\n  hint: run it without --nodes / CHAOS_NODES",
            file.display(),
            nodes.file.display()
        )));
    }
    let images = images::needed([], variant.experiment.needs_network_sidecar());
    Ok(PreparedVariant {
        name: variant.name,
        experiment: variant.experiment,
        cluster: ClusterSource::Attach { project },
        images,
    })
}

/// A compose file loaded and the experiment checked against it (every mismatch pushed);
/// `None` when either failed.
fn load_and_check_compose(
    path: &Path,
    overrides: &ComposeOverrides,
    exp: &Experiment,
    file: &Path,
    errors: &mut Vec<Error>,
) -> Option<ComposeProject> {
    match crate::compose::files::load(
        std::slice::from_ref(&path.to_path_buf()),
        &overrides.env_files,
        overrides.project_name.as_deref(),
        &[],
    ) {
        Ok(project) => {
            let wrong = experiment::validate_against_compose_all(exp, file, &project);
            if wrong.is_empty() {
                Some(project)
            } else {
                errors.extend(wrong.into_iter().map(Error::from));
                None
            }
        }
        Err(e) => {
            errors.push(e.into());
            None
        }
    }
}

/// A variant on a cluster this tool starts from a compose file: its plan, and what the plan
/// already tells (the run checks attached and Kubernetes clusters once it sees them).
fn compose_variant(
    variant: experiment::matrix::Variant,
    project: ComposeProject,
    file: &Path,
    nodes: Option<&crate::nodes::NodesFile>,
) -> Result<PreparedVariant, Error> {
    let plan = Plan::new(
        &project,
        &variant.experiment.cluster.broker_environment,
        &variant.experiment.cluster.environment,
        nodes,
    )
    .map_err(|e| Error::Invalid(format!("{}: {e}", project.file.display())))?;
    if consumer_protocol_on_zookeeper(&variant.experiment, plan.mode()) {
        let text = experiment::read_text(file, "experiment file").unwrap_or_default();
        let (message, hint) = CONSUMER_PROTOCOL_NEEDS_KRAFT;
        return Err(Error::from(experiment::ExperimentError::from(
            experiment::InputError {
                file: file.to_path_buf(),
                line: crate::input::line_of_nested_key(&text, "workload", "group"),
                column: None,
                path: "workload.group.protocol".into(),
                message: message.into(),
                hint: Some(hint.into()),
            },
        )));
    }
    let images = plan.images_needed(Some(&variant.experiment));
    Ok(PreparedVariant {
        name: variant.name,
        experiment: variant.experiment,
        cluster: ClusterSource::Compose {
            project: Box::new(project),
            plan: Box::new(plan),
        },
        images,
    })
}

/// Validates every file (directories expanded); returns the good ones and every error.
pub fn prepare_all(
    inputs: &[PathBuf],
    overrides: &ComposeOverrides,
    nodes: Option<&crate::nodes::NodesFile>,
) -> (Vec<Prepared>, Vec<Error>) {
    let mut good = Vec::new();
    let mut errors = Vec::new();
    for input in inputs {
        match experiment_files(std::slice::from_ref(input)) {
            Ok(files) => {
                for file in files {
                    match prepare(&file, overrides, nodes) {
                        Ok(p) => good.push(p),
                        Err(e) => errors.extend(e),
                    }
                }
            }
            Err(e) => errors.push(e),
        }
    }
    (good, errors)
}

/// Whether a variant's cluster would be reused, as far as can be known without changing
/// anything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterState {
    /// The decision `chaos up` would take now.
    Known(crate::docker::cluster::StartDecision),
    /// Docker could not be asked.
    DockerUnreachable,
    /// A project someone else started: attached to, never started.
    Attached,
    /// A cluster on Kubernetes: found, never started.
    Kubernetes,
}

/// The plan of `chaos run --dry-run --json`: per experiment file, its variants, each with
/// its cluster (where it comes from, and what Docker would do with it), the services and
/// their images, and the experiment as the variant runs it (matrix values applied) — the
/// same facts as [`render_dry_run`], for scripts.
pub fn dry_run_json(
    p: &Prepared,
    fresh: bool,
    state: &dyn Fn(&PreparedVariant, bool) -> ClusterState,
) -> serde_json::Value {
    use serde_json::json;
    let variants: Vec<serde_json::Value> = p
        .variants
        .iter()
        .map(|v| {
            let reuse = v.experiment.cluster.reuse && !fresh;
            let state = match state(v, reuse) {
                ClusterState::Known(d) => match d {
                    crate::docker::cluster::StartDecision::Reuse => "reuse",
                    crate::docker::cluster::StartDecision::Recreate => "recreate",
                    crate::docker::cluster::StartDecision::Start => "start",
                },
                ClusterState::DockerUnreachable => "unknown (Docker unreachable)",
                ClusterState::Attached => "attach",
                ClusterState::Kubernetes => "find on Kubernetes",
            };
            let cluster = match &v.cluster {
                ClusterSource::Compose { project, plan } => json!({
                    "source": "compose",
                    "compose_file": project.file,
                    "name": plan.cluster,
                    "mode": plan.mode().to_string(),
                    "services": plan.services.iter().map(|s| json!({
                        "name": s.service.name,
                        "role": s.role.as_label(),
                        "image": s.service.image,
                        "host_bootstrap": s.host_bootstrap,
                    })).collect::<Vec<_>>(),
                    "state": state,
                }),
                ClusterSource::Attach { project } => json!({
                    "source": "attach", "project": project, "state": state,
                }),
                ClusterSource::Kubernetes { spec } => json!({
                    "source": "kubernetes",
                    "namespace": spec.namespace,
                    "strimzi_cluster": spec.strimzi_cluster,
                    "state": state,
                }),
            };
            json!({
                "name": v.name,
                "cluster": cluster,
                "images": v.images.iter().map(|i| &i.tag).collect::<Vec<_>>(),
                "experiment": v.experiment,
            })
        })
        .collect();
    json!({
        "file": p.file,
        "name": p.experiment.name,
        "repeat": p.experiment.repeat.max(1),
        "runs": p.variants.len() as u32 * p.experiment.repeat.max(1),
        "variants": variants,
    })
}

// Long: a renderer: the plan's sections in the order they are printed
/// The plan `chaos run --dry-run` prints: compose file and cluster, whether it would be
/// started or reused, resolved broker settings, topics, variants × repeats, steps and
/// expectations. Pure; `state` tells what Docker would do with a plan.
pub fn render_dry_run(
    p: &Prepared,
    fresh: bool,
    state: &dyn Fn(&PreparedVariant, bool) -> ClusterState,
) -> String {
    use std::fmt::Write;
    let exp = &p.experiment;
    let mut out = String::new();
    let repeats = exp.repeat.max(1);
    let _ = writeln!(
        out,
        "experiment {} ({}): {} variant(s) × {} repeat(s) = {} run(s)",
        exp.name,
        p.file.display(),
        p.variants.len(),
        repeats,
        p.variants.len() as u32 * repeats
    );
    if !exp.description.trim().is_empty() {
        let _ = writeln!(out, "  {}", exp.description.trim());
    }
    let mut previous_brokers: Option<Vec<String>> = None;
    for v in &p.variants {
        let e = &v.experiment;
        let reuse = e.cluster.reuse && !fresh;
        let label = if v.name.is_empty() {
            "the run".to_string()
        } else {
            format!("variant [{}]", v.name)
        };
        let _ = writeln!(out, "{label}:");
        let plan = match &v.cluster {
            ClusterSource::Compose { project, plan } => {
                let _ = writeln!(
                    out,
                    "  compose file: {}    cluster: {} ({} mode)",
                    project.file.display(),
                    plan.cluster,
                    plan.mode()
                );
                Some(plan)
            }
            ClusterSource::Attach { project } => {
                let _ = writeln!(
                    out,
                    "  compose project: {project} (started without chaos; its services and \
                     brokers are found when the run starts)"
                );
                None
            }
            ClusterSource::Kubernetes { spec } => {
                let _ = writeln!(
                    out,
                    "  kubernetes: namespace {}, pods labelled strimzi.io/cluster={}{} (found \
                     when the run starts; broker N reached on 127.0.0.1:{}+N → pod port {}{})",
                    spec.namespace,
                    spec.strimzi_cluster,
                    spec.context
                        .as_deref()
                        .map(|c| format!(", context {c}"))
                        .unwrap_or_default(),
                    spec.local_port_base,
                    spec.external_port,
                    spec.nodes.clause()
                );
                None
            }
        };
        let cluster_line = match state(v, reuse) {
            ClusterState::Attached => "attach (nothing started or removed)".to_string(),
            ClusterState::Kubernetes => {
                "on Kubernetes (pods faulted; nothing started or removed)".to_string()
            }
            ClusterState::Known(d) => d.to_string(),
            ClusterState::DockerUnreachable => {
                if reuse {
                    "start or reuse: unknown (Docker unreachable)".to_string()
                } else {
                    "start a fresh cluster (reuse off); Docker unreachable".to_string()
                }
            }
        };
        let _ = writeln!(
            out,
            "  cluster: {cluster_line}; images: {}",
            v.images
                .iter()
                .map(|w| match w.pull {
                    crate::compose::PullPolicy::Missing => w.tag.clone(),
                    crate::compose::PullPolicy::Always => format!("{} (pulled every run)", w.tag),
                    crate::compose::PullPolicy::Never => format!("{} (never pulled)", w.tag),
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
        if !e.cluster.broker_environment.is_empty() {
            let _ = writeln!(
                out,
                "  broker environment (added to every broker): {}",
                crate::report::key_values(&e.cluster.broker_environment, "  ")
            );
        }
        for (service, env) in &e.cluster.environment {
            let _ = writeln!(
                out,
                "  environment of {service}: {}",
                crate::report::key_values(env, "  ")
            );
        }
        let brokers: Vec<String> = plan
            .into_iter()
            .flat_map(|plan| plan.brokers())
            .map(|(s, id)| {
                let mut env: Vec<String> = s
                    .service
                    .environment
                    .iter()
                    .filter(|(k, _)| k.starts_with("KAFKA_"))
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                env.sort();
                let node = match (&s.service.node, &s.placement.address) {
                    (Some(n), Some(a)) => format!(", on {n} at {a}"),
                    (Some(n), None) => format!(", node {n} (one engine)"),
                    _ => String::new(),
                };
                format!(
                    "  broker {id} ({}, {}{node}, host {}): {}",
                    s.service.name,
                    s.service.image,
                    s.host_bootstrap.as_deref().unwrap_or("—"),
                    env.join("  ")
                )
            })
            .collect();
        if previous_brokers.as_ref() == Some(&brokers) {
            let _ = writeln!(out, "  brokers: as above");
        } else {
            for line in &brokers {
                let _ = writeln!(out, "{line}");
            }
        }
        previous_brokers = Some(brokers);
        for t in &e.topics {
            let config = t
                .config
                .iter()
                .map(|(k, v)| format!("{k}={}", v.0))
                .collect::<Vec<_>>()
                .join(", ");
            let _ = writeln!(
                out,
                "  topic {}: {} partition(s), replication factor {}{}",
                t.name,
                t.partition_count(),
                if t.assignment.is_empty() {
                    t.replication_factor
                } else {
                    t.assignment[0].len() as i32
                },
                if config.is_empty() {
                    String::new()
                } else {
                    format!(", {config}")
                }
            );
        }
        if let Some(w) = &e.workload {
            let _ = writeln!(
                out,
                "  workload: acks={} rate={} msg/s size={} B delivery-timeout={}{}{}",
                w.acks.as_kafka(),
                w.rate,
                w.message_size,
                humantime::format_duration(w.delivery_timeout),
                if w.idempotence { " idempotence" } else { "" },
                if w.consumer { " consumer" } else { "" }
            );
        }
    }
    let _ = writeln!(
        out,
        "steps (observer every {}):",
        humantime::format_duration(exp.observer.period)
    );
    if exp.steps.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    for (i, s) in exp.steps.iter().enumerate() {
        let _ = writeln!(out, "  {}. {}", i + 1, describe_step(s));
    }
    let _ = writeln!(out, "expectations:");
    if exp.expect.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    for e in &exp.expect {
        let _ = writeln!(out, "  - {e}");
    }
    out
}

fn describe_step(s: &experiment::Step) -> String {
    let mut d = match (&s.fault, &s.heal, &s.wait, &s.wait_for, &s.assert, &s.elect) {
        (Some(f), ..) => {
            let mut d = format!("fault {} on {}", f.kind.as_str(), f.target);
            if !f.peers.is_empty() {
                let peers: Vec<String> = f.peers.iter().map(|p| p.to_string()).collect();
                d.push_str(&format!(" from [{}] ({:?})", peers.join(", "), f.direction));
            }
            if let Some(r) = &f.rate {
                d.push_str(&format!(" rate {r}"));
            }
            d
        }
        (_, Some(h), ..) => format!("heal {h}"),
        (_, _, Some(w), ..) => format!("wait {}", humantime::format_duration(*w)),
        (_, _, _, Some(c), ..) => format!(
            "wait for {c} (timeout {})",
            humantime::format_duration(s.timeout.unwrap_or(std::time::Duration::from_secs(60)))
        ),
        (_, _, _, _, Some(c), _) => format!("assert {c}"),
        (.., Some(e)) => format!("elect {:?} leader of {}", e.election_type, e.partition),
        _ => "nothing".into(),
    };
    if let Some(name) = &s.name {
        d = format!("[{name}] {d}");
    }
    if let Some(at) = s.at {
        d.push_str(&format!(" (at {})", humantime::format_duration(at)));
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docker::cluster::StartDecision;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(name)
    }

    #[test]
    fn a_good_file_prepares_with_its_plan() {
        let p = prepare(
            &fixture("tests/fixtures/good/experiment.yaml"),
            &ComposeOverrides::default(),
            None,
        )
        .expect("valid");
        assert_eq!(p.variants.len(), 1);
        let ClusterSource::Compose { plan, .. } = &p.variants[0].cluster else {
            panic!("a compose cluster")
        };
        assert_eq!(plan.brokers().count(), 3);
    }

    #[test]
    fn every_bad_file_is_reported_not_just_the_first() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("a.yaml"),
            "name: a\ncluster: {compose: nope.yml}\n",
        )
        .expect("write");
        std::fs::write(dir.path().join("b.yaml"), "name: b\n").expect("write");
        let good = fixture("tests/fixtures/good/experiment.yaml");
        let (ok, errors) = prepare_all(
            &[dir.path().to_path_buf(), good],
            &ComposeOverrides::default(),
            None,
        );
        assert_eq!(ok.len(), 1);
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].to_string().contains("nope.yml"), "{}", errors[0]);
        assert!(errors[1].to_string().contains("b.yaml"), "{}", errors[1]);
    }

    #[test]
    fn an_empty_directory_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (ok, errors) = prepare_all(
            &[dir.path().to_path_buf()],
            &ComposeOverrides::default(),
            None,
        );
        assert!(ok.is_empty());
        assert!(errors[0].to_string().contains("no experiment files"));
    }

    #[test]
    fn project_name_and_env_file_reach_every_variant() {
        let dir = tempfile::tempdir().expect("tempdir");
        let env = dir.path().join("images.env");
        std::fs::write(&env, "KAFKA_IMAGE=confluentinc/cp-kafka:7.9.1\n").expect("write");
        let exp = fixture("experiments/compare-unclean.yaml");
        let overrides = ComposeOverrides {
            env_files: vec![env],
            project_name: Some("Mine".into()),
            nodes: None,
            kubernetes: None,
            kube_context: None,
            kube_nodes: Default::default(),
        };
        let p = prepare(&exp, &overrides, None).expect("valid");
        for v in &p.variants {
            assert_eq!(v.cluster_name(), "mine");
            assert!(
                v.images
                    .iter()
                    .any(|w| w.tag == "confluentinc/cp-kafka:7.9.1"),
                "{:?}",
                v.images
            );
        }
    }

    #[test]
    fn the_dry_run_says_what_would_happen_or_that_docker_is_unreachable() {
        let p = prepare(
            &fixture("tests/fixtures/good/experiment.yaml"),
            &ComposeOverrides::default(),
            None,
        )
        .expect("valid");
        let text = render_dry_run(&p, false, &|_, _| ClusterState::DockerUnreachable);
        assert!(
            text.contains("1 variant(s) × 1 repeat(s) = 1 run(s)"),
            "{text}"
        );
        assert!(text.contains("unknown (Docker unreachable)"), "{text}");
        assert!(text.contains("topic orders: 3 partition(s)"), "{text}");
        assert!(
            text.contains("[k] fault kill on leader-of orders/0"),
            "{text}"
        );
        assert!(text.contains("- failover.metadata.max < 25s"), "{text}");
        assert!(text.contains("broker 1 (kafka-1"), "{text}");
        let text = render_dry_run(&p, true, &|_, reuse| {
            assert!(!reuse, "--fresh turns reuse off");
            ClusterState::Known(StartDecision::Recreate)
        });
        assert!(text.contains("remove the existing cluster"), "{text}");
    }
}
