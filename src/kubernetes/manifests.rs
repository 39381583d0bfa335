//! `chaos up` and `chaos down` on Kubernetes: a cluster's objects read from manifest files,
//! applied server-side (field manager `chaos`) into the target's namespace and labelled as
//! ours, so `down` deletes exactly what `up` created and never a cluster someone else made.
//!
//! Reading and checking the files is pure ([`parse`]); applying, waiting and deleting talk to
//! the API server.

use super::{Call, Connection, KubeError, KubernetesTarget};
use crate::input::InputError;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::ApiResource;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The label on every object `up` creates: `down` deletes only what carries it.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
pub const MANAGER: &str = "chaos";

/// The kinds `up` creates: the namespaced objects a Kafka cluster is made of. A closed set,
/// so `down` knows every kind to look in (namespaces and RBAC stay kubectl's: they outlive a
/// cluster and need more than the namespace's rights).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestKind {
    ConfigMap,
    Secret,
    ServiceAccount,
    Service,
    StatefulSet,
    Deployment,
    PodDisruptionBudget,
}

impl ManifestKind {
    /// In the order `up` applies them (what a workload refers to exists before it).
    pub const ALL: [ManifestKind; 7] = [
        ManifestKind::ConfigMap,
        ManifestKind::Secret,
        ManifestKind::ServiceAccount,
        ManifestKind::Service,
        ManifestKind::StatefulSet,
        ManifestKind::Deployment,
        ManifestKind::PodDisruptionBudget,
    ];

    fn of(api_version: &str, kind: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.api_version() == api_version && k.kind() == kind)
    }

    pub fn api_version(self) -> &'static str {
        match self {
            Self::ConfigMap | Self::Secret | Self::ServiceAccount | Self::Service => "v1",
            Self::StatefulSet | Self::Deployment => "apps/v1",
            Self::PodDisruptionBudget => "policy/v1",
        }
    }

    pub fn kind(self) -> &'static str {
        match self {
            Self::ConfigMap => "ConfigMap",
            Self::Secret => "Secret",
            Self::ServiceAccount => "ServiceAccount",
            Self::Service => "Service",
            Self::StatefulSet => "StatefulSet",
            Self::Deployment => "Deployment",
            Self::PodDisruptionBudget => "PodDisruptionBudget",
        }
    }

    /// The resource's plural: what RBAC grants and what an error names.
    pub fn plural(self) -> &'static str {
        match self {
            Self::ConfigMap => "configmaps",
            Self::Secret => "secrets",
            Self::ServiceAccount => "serviceaccounts",
            Self::Service => "services",
            Self::StatefulSet => "statefulsets",
            Self::Deployment => "deployments",
            Self::PodDisruptionBudget => "poddisruptionbudgets",
        }
    }

    /// Whether it makes pods (its pod template must carry the cluster's label).
    fn is_workload(self) -> bool {
        matches!(self, Self::StatefulSet | Self::Deployment)
    }

    fn resource(self) -> ApiResource {
        let (group, version) = match self.api_version().split_once('/') {
            Some((group, version)) => (group, version),
            None => ("", self.api_version()),
        };
        ApiResource {
            group: group.into(),
            version: version.into(),
            api_version: self.api_version().into(),
            kind: self.kind().into(),
            plural: self.plural().into(),
        }
    }
}

const KINDS_HINT: &str =
    "chaos up creates ConfigMap, Secret, ServiceAccount, Service, StatefulSet, \
     Deployment and PodDisruptionBudget objects in the cluster's namespace; apply the rest with \
     kubectl (the namespace, RBAC: k8s/rbac.yaml)";

/// One object of a manifest file, checked and made ours.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    pub kind: ManifestKind,
    pub name: String,
    /// Where it was written (`file:line`), for what is said about it.
    pub origin: String,
    /// The object as it is applied: namespace set, our labels added.
    pub object: Value,
}

impl Manifest {
    /// `statefulset/seed-kafka`.
    pub fn describe(&self) -> String {
        format!("{}/{}", self.kind.kind().to_lowercase(), self.name)
    }
}

/// Reads and checks every file (see [`parse`]); nothing is sent before all are valid.
#[allow(clippy::result_large_err)] // once per command; the caller boxes it into its error
pub fn read(files: &[PathBuf], target: &KubernetesTarget) -> Result<Vec<Manifest>, InputError> {
    let mut all = Vec::new();
    for file in files {
        let text = crate::input::read_text(file, "manifest file")?;
        all.extend(parse(&text, file, target)?);
    }
    let file = files.first().cloned().unwrap_or_default();
    if !all.iter().any(|m| m.kind.is_workload()) {
        return Err(InputError {
            file,
            line: None,
            column: None,
            path: String::new(),
            message: "no StatefulSet or Deployment: nothing would run the cluster's brokers".into(),
            hint: Some("pass the cluster's manifests with -f (e.g. k8s/seed.yaml)".into()),
        });
    }
    for (i, m) in all.iter().enumerate() {
        if let Some(first) = all[..i]
            .iter()
            .find(|o| o.kind == m.kind && o.name == m.name)
        {
            return Err(InputError {
                file,
                line: None,
                column: None,
                path: String::new(),
                message: format!(
                    "{} is written twice: {} and {}",
                    m.describe(),
                    first.origin,
                    m.origin
                ),
                hint: Some("keep one of them".into()),
            });
        }
    }
    Ok(all)
}

/// The objects of one multi-document YAML file, each checked: a kind of [`ManifestKind`], a
/// name, no other namespace or cluster than the target's, and a workload's pods labelled with
/// the cluster (or they would not be found). Each gets the target's namespace and the labels
/// [`MANAGED_BY_LABEL`]=[`MANAGER`] and `strimzi.io/cluster=<cluster>`.
#[allow(clippy::result_large_err)] // once per file, as `read`
pub fn parse(
    text: &str,
    file: &Path,
    target: &KubernetesTarget,
) -> Result<Vec<Manifest>, InputError> {
    let mut manifests = Vec::new();
    for (first_line, chunk) in documents(text) {
        let document = Document {
            file,
            first_line,
            text: &chunk,
        };
        let Some(mut object) = document.object()? else {
            continue;
        };
        let (kind, name) = document.identify(&object)?;
        document.check_placement(&object, kind, target)?;
        make_ours(&mut object, target);
        manifests.push(Manifest {
            kind,
            name,
            origin: format!("{}:{first_line}", file.display()),
            object,
        });
    }
    Ok(manifests)
}

/// One document of a manifest file, for the errors that place what is wrong in it.
struct Document<'a> {
    file: &'a Path,
    first_line: usize,
    text: &'a str,
}

/// The text at a JSON pointer of an object, if it is text.
fn text_at(object: &Value, pointer: &str) -> Option<String> {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .map(str::to_string)
}

#[allow(clippy::result_large_err)] // per document of a file read once
impl Document<'_> {
    /// An error at the line where `key:` is written (else the document's first line).
    fn error(&self, key: &str, path: &str, message: String, hint: &str) -> InputError {
        InputError {
            file: self.file.to_path_buf(),
            line: Some(self.first_line + key_line(self.text, key).unwrap_or(0)),
            column: None,
            path: path.into(),
            message,
            hint: (!hint.is_empty()).then(|| hint.to_string()),
        }
    }

    /// The document as JSON; None when it holds nothing (comments only).
    fn object(&self) -> Result<Option<Value>, InputError> {
        let yaml: serde_yaml_ng::Value = serde_yaml_ng::from_str(self.text).map_err(|e| {
            let at = e.location();
            InputError {
                file: self.file.to_path_buf(),
                line: Some(self.first_line + at.as_ref().map_or(0, |l| l.line().saturating_sub(1))),
                column: at.map(|l| l.column()),
                path: String::new(),
                message: e
                    .to_string()
                    .split(" at line ")
                    .next()
                    .unwrap_or_default()
                    .into(),
                hint: None,
            }
        })?;
        if yaml.is_null() {
            return Ok(None);
        }
        serde_json::to_value(&yaml)
            .map(Some)
            .map_err(|e| self.error("", "", format!("not a Kubernetes object: {e}"), ""))
    }

    /// Its kind (one `up` creates) and name.
    fn identify(&self, object: &Value) -> Result<(ManifestKind, String), InputError> {
        let (Some(api_version), Some(kind_name)) =
            (text_at(object, "/apiVersion"), text_at(object, "/kind"))
        else {
            return Err(self.error(
                "",
                "",
                "a document without apiVersion and kind".into(),
                "each document of a manifest file is one Kubernetes object",
            ));
        };
        let Some(kind) = ManifestKind::of(&api_version, &kind_name) else {
            return Err(self.error(
                "kind",
                "kind",
                format!("{kind_name} ({api_version}) is not a kind chaos up creates"),
                KINDS_HINT,
            ));
        };
        let Some(name) = text_at(object, "/metadata/name") else {
            return Err(self.error("metadata", "metadata.name", "missing".into(), ""));
        };
        Ok((kind, name))
    }

    /// No other namespace or cluster than the target's, and a workload's pods labelled with
    /// the cluster (or the harness would not find them).
    fn check_placement(
        &self,
        object: &Value,
        kind: ManifestKind,
        target: &KubernetesTarget,
    ) -> Result<(), InputError> {
        let label = super::discovery::CLUSTER_LABEL;
        if let Some(namespace) = text_at(object, "/metadata/namespace") {
            if namespace != target.namespace {
                return Err(self.error(
                    "namespace",
                    "metadata.namespace",
                    format!("{namespace}, but the cluster is in {}", target.namespace),
                    "remove it: every object goes into the namespace of --kubernetes NAMESPACE/CLUSTER",
                ));
            }
        }
        let cluster = text_at(object, &format!("/metadata/labels/{}", pointer_key(label)));
        if let Some(cluster) = cluster {
            if cluster != target.cluster {
                return Err(self.error(
                    "labels",
                    &format!("metadata.labels.{label}"),
                    format!("{cluster}, but the cluster is {}", target.cluster),
                    "the files of one cluster name it alike (--kubernetes NAMESPACE/CLUSTER)",
                ));
            }
        }
        let pod_label = format!("/spec/template/metadata/labels/{}", pointer_key(label));
        if kind.is_workload() && text_at(object, &pod_label).as_deref() != Some(&target.cluster) {
            return Err(self.error(
                "template",
                &format!("spec.template.metadata.labels.{label}"),
                format!(
                    "its pods are not labelled {label}={}: the harness would not find them",
                    target.cluster
                ),
                "label the pod template as Strimzi does (see k8s/seed.yaml)",
            ));
        }
        Ok(())
    }
}

/// Namespace set, our two labels added (kept beside the object's own).
fn make_ours(object: &mut Value, target: &KubernetesTarget) {
    let Some(metadata) = object
        .as_object_mut()
        .and_then(|o| o.get_mut("metadata"))
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    metadata.insert("namespace".into(), Value::String(target.namespace.clone()));
    let labels = metadata
        .entry("labels")
        .or_insert_with(|| Value::Object(Default::default()));
    if !labels.is_object() {
        *labels = Value::Object(Default::default());
    }
    if let Some(labels) = labels.as_object_mut() {
        labels.insert(MANAGED_BY_LABEL.into(), Value::String(MANAGER.into()));
        labels.insert(
            super::discovery::CLUSTER_LABEL.into(),
            Value::String(target.cluster.clone()),
        );
    }
}

/// A JSON pointer's escaping of one key (`/` → `~1`).
fn pointer_key(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// The documents of a multi-document YAML text, each with the line it starts on. A `---` line
/// separates them (a leading one starts the first).
fn documents(text: &str) -> Vec<(usize, String)> {
    let mut docs = Vec::new();
    let mut current = String::new();
    let mut start = 1;
    for (i, line) in text.lines().enumerate() {
        let separator = line.trim_end() == "---" || line.starts_with("--- ");
        if separator {
            docs.push((start, std::mem::take(&mut current)));
            start = i + 2;
            continue;
        }
        current.push_str(line);
        current.push('\n');
    }
    docs.push((start, current));
    docs
}

/// The 0-based line in `chunk` where `key:` is first written (for an error's position).
fn key_line(chunk: &str, key: &str) -> Option<usize> {
    let wanted = format!("{key}:");
    chunk
        .lines()
        .position(|l| l.trim_start().starts_with(&wanted))
}

/// What `up` did to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Created,
    Configured,
    Unchanged,
}

impl std::fmt::Display for Applied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Applied::Created => "created",
            Applied::Configured => "configured",
            Applied::Unchanged => "unchanged",
        })
    }
}

fn call<'a>(
    conn: &'a Connection,
    target: &'a KubernetesTarget,
    verb: &'static str,
    resource: &'static str,
) -> Call<'a> {
    Call {
        verb,
        resource,
        namespace: &target.namespace,
        address: &conn.address,
    }
}

fn api(conn: &Connection, target: &KubernetesTarget, kind: ManifestKind) -> Api<DynamicObject> {
    Api::namespaced_with(conn.client.clone(), &target.namespace, &kind.resource())
}

fn is_ours(object: &DynamicObject) -> bool {
    object
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(MANAGED_BY_LABEL))
        .is_some_and(|v| v == MANAGER)
}

/// Applies every object server-side. First checks that none exists unless `up` made it: an
/// object of the same name that is someone else's is never taken over (nothing is changed).
pub async fn apply(
    conn: &Connection,
    target: &KubernetesTarget,
    manifests: &[Manifest],
) -> Result<Vec<(String, Applied)>, KubeError> {
    let mut before = Vec::new();
    for m in manifests {
        let existing = api(conn, target, m.kind)
            .get_opt(&m.name)
            .await
            .map_err(|e| call(conn, target, "get", m.kind.plural()).error(e))?;
        if let Some(existing) = &existing {
            if !is_ours(existing) {
                return Err(KubeError::NotOurs(format!(
                    "{} exists in namespace {} and was not created by chaos up (no label \
                     {MANAGED_BY_LABEL}={MANAGER}): nothing was changed",
                    m.describe(),
                    target.namespace
                )));
            }
        }
        before.push(existing.and_then(|o| o.metadata.resource_version));
    }
    let params = PatchParams::apply(MANAGER).force();
    let mut done = Vec::new();
    for (m, before) in manifests.iter().zip(before) {
        let applied = api(conn, target, m.kind)
            .patch(&m.name, &params, &Patch::Apply(&m.object))
            .await
            .map_err(|e| match &e {
                kube::Error::Api(status) if status.code == 404 => KubeError::Refused(format!(
                    "namespace {} does not exist (kubectl create namespace {})",
                    target.namespace, target.namespace
                )),
                _ => call(conn, target, "patch", m.kind.plural()).error(e),
            })?;
        let what = match before {
            None => Applied::Created,
            Some(v) if applied.metadata.resource_version.as_deref() == Some(v.as_str()) => {
                Applied::Unchanged
            }
            Some(_) => Applied::Configured,
        };
        done.push((m.describe(), what));
    }
    Ok(done)
}

/// Waits until every workload has all its replicas ready (the newest generation), polling
/// every half second; waiting, not measuring. On timeout names a pod that is not ready and
/// the last thing Kubernetes said about it.
pub async fn wait_rolled_out(
    conn: &Connection,
    target: &KubernetesTarget,
    manifests: &[Manifest],
    timeout: Duration,
) -> Result<(), KubeError> {
    let deadline = tokio::time::Instant::now() + timeout;
    for m in manifests.iter().filter(|m| m.kind.is_workload()) {
        let api = api(conn, target, m.kind);
        loop {
            let object = api
                .get_opt(&m.name)
                .await
                .map_err(|e| call(conn, target, "get", m.kind.plural()).error(e))?;
            if object.as_ref().is_some_and(rolled_out) {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(KubeError::Timeout {
                    what: format!(
                        "{} ready ({})",
                        m.describe(),
                        why_not_ready(conn, target).await
                    ),
                    waited: timeout,
                });
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    Ok(())
}

/// A StatefulSet's or Deployment's status: every replica of the newest generation ready.
fn rolled_out(object: &DynamicObject) -> bool {
    let number = |pointer: &str| object.data.pointer(pointer).and_then(Value::as_i64);
    let wanted = number("/spec/replicas").unwrap_or(1);
    let generation = object.metadata.generation.unwrap_or(0);
    number("/status/observedGeneration").unwrap_or(0) >= generation
        && number("/status/readyReplicas").unwrap_or(0) >= wanted
        && number("/status/updatedReplicas").unwrap_or(0) >= wanted
}

/// The first of the cluster's pods that is not ready, with its last event.
async fn why_not_ready(conn: &Connection, target: &KubernetesTarget) -> String {
    let pods: Api<Pod> = Api::namespaced(conn.client.clone(), &target.namespace);
    let listed = match pods
        .list(&ListParams::default().labels(&target.selector()))
        .await
    {
        Ok(list) => list.items,
        Err(e) => return format!("its pods could not be listed: {e}"),
    };
    let Some(pod) = listed.iter().find(|p| !super::discovery::is_ready(p)) else {
        return format!(
            "no pod labelled {} is missing readiness yet",
            target.selector()
        );
    };
    let name = super::discovery::pod_name(pod);
    let event = super::platform::last_event(&conn.client, &target.namespace, name)
        .await
        .unwrap_or_else(|| "none readable".into());
    format!("pod {name} not ready; its last Kubernetes event: {event}")
}

/// What `down` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removal {
    /// These objects (kind/name) were deleted, and the cluster's pods are gone.
    Deleted(Vec<String>),
    /// Nothing of the cluster exists.
    Nothing,
}

/// Deletes every object of the cluster that `up` created (our label and the cluster's), then
/// waits until the cluster's pods are gone. A cluster whose pods exist but none of whose
/// objects is ours is someone else's: refused, nothing deleted.
pub async fn delete_ours(
    conn: &Connection,
    target: &KubernetesTarget,
    timeout: Duration,
) -> Result<Removal, KubeError> {
    let selector = format!("{MANAGED_BY_LABEL}={MANAGER},{}", target.selector());
    let mut ours = Vec::new();
    for kind in ManifestKind::ALL {
        let listed = api(conn, target, kind)
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| call(conn, target, "list", kind.plural()).error(e))?;
        ours.extend(
            listed
                .items
                .into_iter()
                .map(|o| (kind, o.metadata.name.unwrap_or_default())),
        );
    }
    if ours.is_empty() {
        return match cluster_pods(conn, target).await?.first() {
            None => Ok(Removal::Nothing),
            Some(pod) => Err(KubeError::NotOurs(format!(
                "cluster {} in namespace {} (pod {} …) was not created by chaos up: no object \
                 of it is labelled {MANAGED_BY_LABEL}={MANAGER}; nothing was deleted\n  hint: \
                 remove it as it was made (kubectl delete -n {} -f <its manifests>)",
                target.cluster,
                target.namespace,
                super::discovery::pod_name(pod),
                target.namespace
            ))),
        };
    }
    let mut deleted = Vec::new();
    for (kind, name) in ours {
        match api(conn, target, kind)
            .delete(&name, &DeleteParams::background())
            .await
        {
            Ok(_) => {}
            Err(e) if super::is_not_found(&e) => {}
            Err(e) => return Err(call(conn, target, "delete", kind.plural()).error(e)),
        }
        deleted.push(format!("{}/{name}", kind.kind().to_lowercase()));
    }
    // The garbage collector deletes the pods after their owners; wait for them, so a
    // following `up` does not meet the old ones.
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let left = cluster_pods(conn, target).await?;
        if left.is_empty() {
            return Ok(Removal::Deleted(deleted));
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(KubeError::Timeout {
                what: format!(
                    "the pods of {} gone ({} still there, e.g. {})",
                    target.cluster,
                    left.len(),
                    super::discovery::pod_name(&left[0])
                ),
                waited: timeout,
            });
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The cluster's pods now.
async fn cluster_pods(conn: &Connection, target: &KubernetesTarget) -> Result<Vec<Pod>, KubeError> {
    let pods: Api<Pod> = Api::namespaced(conn.client.clone(), &target.namespace);
    pods.list(&ListParams::default().labels(&target.selector()))
        .await
        .map(|l| l.items)
        .map_err(|e| call(conn, target, "list", "pods").error(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> KubernetesTarget {
        KubernetesTarget::new("chaos", "seed")
    }

    #[allow(clippy::result_large_err)]
    fn parse_text(text: &str) -> Result<Vec<Manifest>, InputError> {
        parse(text, Path::new("m.yaml"), &target())
    }

    const WORKLOAD: &str = "apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: seed-kafka
spec:
  replicas: 3
  template:
    metadata:
      labels: {strimzi.io/cluster: seed}
";

    #[test]
    fn the_shipped_manifests_are_read_as_they_are_and_made_ours() {
        for (file, cluster, kinds) in [("k8s/seed.yaml", "seed", 5), ("k8s/kraft.yaml", "kraft", 3)]
        {
            let target = KubernetesTarget::new("chaos", cluster);
            let all = read(&[PathBuf::from(file)], &target).unwrap();
            assert_eq!(all.len(), kinds, "{file}");
            for m in &all {
                assert_eq!(
                    m.object["metadata"]["namespace"], "chaos",
                    "{file} {}",
                    m.name
                );
                assert_eq!(m.object["metadata"]["labels"][MANAGED_BY_LABEL], MANAGER);
                assert_eq!(
                    m.object["metadata"]["labels"]["strimzi.io/cluster"],
                    cluster
                );
            }
            // kraft's PodDisruptionBudget carries no cluster label of its own: it gets one.
            assert!(all
                .iter()
                .any(|m| m.kind == ManifestKind::PodDisruptionBudget));
        }
    }

    #[test]
    fn documents_keep_their_first_line_and_a_leading_separator_starts_none() {
        let docs = documents("# c\n---\na: 1\n---\nb: 2\n");
        assert_eq!(
            docs,
            vec![
                (1, "# c\n".to_string()),
                (3, "a: 1\n".into()),
                (5, "b: 2\n".into())
            ]
        );
        let all = parse_text(&format!("---\n{WORKLOAD}---\n# only a comment\n")).unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].origin, "m.yaml:2");
        assert_eq!(all[0].describe(), "statefulset/seed-kafka");
    }

    #[test]
    fn a_kind_chaos_up_does_not_create_is_named_with_its_line_and_the_kinds_it_does() {
        let e = parse_text(&format!(
            "{WORKLOAD}---\napiVersion: v1\nkind: Namespace\nmetadata: {{name: chaos}}\n"
        ))
        .unwrap_err();
        assert_eq!(e.line, Some(12), "{e}");
        assert_eq!(e.path, "kind");
        assert!(
            e.to_string()
                .contains("Namespace (v1) is not a kind chaos up creates"),
            "{e}"
        );
        assert!(e.hint.unwrap().contains("kubectl"));
    }

    #[test]
    fn another_namespace_or_cluster_is_refused_before_anything_is_sent() {
        let e = parse_text(&WORKLOAD.replace(
            "  name: seed-kafka\n",
            "  name: seed-kafka\n  namespace: prod\n",
        ))
        .unwrap_err();
        assert_eq!(
            (e.line, e.path.as_str()),
            (Some(5), "metadata.namespace"),
            "{e}"
        );
        assert!(
            e.message.contains("prod, but the cluster is in chaos"),
            "{e}"
        );

        let e = parse_text(&WORKLOAD.replace(
            "  name: seed-kafka\n",
            "  name: seed-kafka\n  labels: {strimzi.io/cluster: other}\n",
        ))
        .unwrap_err();
        assert_eq!(e.path, "metadata.labels.strimzi.io/cluster", "{e}");

        let e =
            parse_text(&WORKLOAD.replace("strimzi.io/cluster: seed", "app: kafka")).unwrap_err();
        assert_eq!(
            e.path, "spec.template.metadata.labels.strimzi.io/cluster",
            "{e}"
        );
        assert_eq!(e.line, Some(7), "{e}");
        assert!(e.message.contains("would not find them"), "{e}");
    }

    #[test]
    fn broken_yaml_is_placed_in_its_file() {
        let e = parse_text(&format!("{WORKLOAD}---\nkind: [\n")).unwrap_err();
        assert_eq!(e.file, Path::new("m.yaml"));
        assert!(e.line.unwrap() >= 11, "{e}");
        let e = parse_text("kind: StatefulSet\n").unwrap_err();
        assert!(e.message.contains("without apiVersion and kind"), "{e}");
    }

    #[test]
    fn files_without_a_workload_or_with_an_object_twice_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let only_service = dir.path().join("s.yaml");
        std::fs::write(
            &only_service,
            "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n",
        )
        .unwrap();
        let e = read(std::slice::from_ref(&only_service), &target()).unwrap_err();
        assert!(e.message.contains("no StatefulSet or Deployment"), "{e}");

        let twice = dir.path().join("w.yaml");
        std::fs::write(&twice, format!("{WORKLOAD}---\n{WORKLOAD}")).unwrap();
        let e = read(&[twice], &target()).unwrap_err();
        assert!(
            e.message
                .contains("statefulset/seed-kafka is written twice"),
            "{e}"
        );
    }

    #[test]
    fn a_workload_is_rolled_out_when_every_replica_of_its_newest_generation_is_ready() {
        let object = |status: Value, generation: i64| {
            let mut o: DynamicObject = serde_json::from_value(serde_json::json!({
                "apiVersion": "apps/v1", "kind": "StatefulSet",
                "metadata": {"name": "s", "generation": generation},
                "spec": {"replicas": 3},
                "status": status,
            }))
            .unwrap();
            o.metadata.generation = Some(generation);
            o
        };
        let ready =
            serde_json::json!({"observedGeneration": 2, "readyReplicas": 3, "updatedReplicas": 3});
        assert!(rolled_out(&object(ready.clone(), 2)));
        assert!(
            !rolled_out(&object(ready, 3)),
            "an older generation's status"
        );
        assert!(!rolled_out(&object(
            serde_json::json!({"observedGeneration": 2, "readyReplicas": 2, "updatedReplicas": 3}),
            2
        )));
    }
}
