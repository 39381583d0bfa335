//! Images built locally, with no container registry: a Debian rootfs (mmdebstrap) imported
//! through the Docker API, then Kafka images from Maven Central jars on top of it.
//! Each image carries a hash of what it was built from; a matching image is reused.

use super::{api, DockerError};
use crate::compose::image_ref::split_reference;
use crate::compose::PullPolicy;
use bollard::query_parameters::{BuildImageOptionsBuilder, CreateImageOptionsBuilder};
use bollard::Docker;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Stdio;

pub const BASE_IMAGE: &str = "chaos/base:bookworm-jre17";
const BASE_PACKAGES: &str =
    "openjdk-17-jre-headless,iproute2,iptables,procps,netcat-openbsd,ca-certificates";
const IMAGE_HASH_LABEL: &str = "chaos.image-hash";
pub const KAFKA_VERSION_LABEL: &str = "chaos.kafka-version";

/// A Kafka image: same entrypoint and logging, different jars.
pub struct KafkaImage {
    pub tag: &'static str,
    pub kafka_version: &'static str,
    pub mode: crate::events::ClusterMode,
    pub pom: &'static str,
}

pub const ZOOKEEPER_MODE: KafkaImage = KafkaImage {
    tag: "chaos/kafka:3.9.1",
    kafka_version: "3.9.1",
    mode: crate::events::ClusterMode::Zookeeper,
    pom: include_str!("../../images/zk/pom.xml"),
};

pub const KRAFT_MODE: KafkaImage = KafkaImage {
    tag: "chaos/kafka:4.1.1",
    kafka_version: "4.1.1",
    mode: crate::events::ClusterMode::Kraft,
    pom: include_str!("../../images/kraft/pom.xml"),
};

pub const ALL: [&KafkaImage; 2] = [&ZOOKEEPER_MODE, &KRAFT_MODE];

const DOCKERFILE: &str = include_str!("../../images/Dockerfile");
const ENTRYPOINT: &str = include_str!("../../images/entrypoint.sh");
const LOG4J: &str = include_str!("../../images/log4j.properties");
const LOG4J2: &str = include_str!("../../images/log4j2.properties");

/// What happened to one image, for the progress display and `images build`.
#[derive(Debug, Clone)]
pub struct Built {
    pub tag: String,
    pub cached: bool,
    pub seconds: f64,
}

/// Reports progress lines (a spinner on a terminal, plain lines in CI).
pub type Progress<'a> = &'a (dyn Fn(&str) + Sync);

/// Builds what is missing; a second call with nothing changed takes well under a second.
pub async fn ensure_all(
    docker: &Docker,
    progress: Progress<'_>,
) -> Result<Vec<Built>, DockerError> {
    let mut built = vec![ensure_base(docker, progress).await?];
    for image in ALL {
        built.push(ensure_kafka(docker, image, progress).await?);
    }
    Ok(built)
}

/// An image a cluster needs, and when to pull it (the service's `pull_policy`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantedImage {
    pub tag: String,
    pub pull: PullPolicy,
}

/// The images a cluster needs before it starts: every service's image, and the sidecar image
/// ([`BASE_IMAGE`]) when network faults will run — whoever built the service images (a
/// cluster on Confluent's images still gets its iptables / tc from our sidecar). In order,
/// without repeats (the strictest policy of the services sharing an image wins: `always`
/// over `missing` over `never`); [`ensure_for`] builds those that are ours and pulls the rest.
pub fn needed<'a>(
    service_images: impl IntoIterator<Item = (&'a str, PullPolicy)>,
    network_sidecar: bool,
) -> Vec<WantedImage> {
    let mut out: Vec<WantedImage> = Vec::new();
    let sidecar = network_sidecar.then_some((BASE_IMAGE, PullPolicy::Missing));
    for (tag, pull) in service_images.into_iter().chain(sidecar) {
        match out.iter_mut().find(|w| w.tag == tag) {
            Some(w) => {
                if pull == PullPolicy::Always || w.pull == PullPolicy::Never {
                    w.pull = pull;
                }
            }
            None => out.push(WantedImage {
                tag: tag.to_string(),
                pull,
            }),
        }
    }
    out
}

/// One of the images this tool builds (never pulled).
pub fn is_ours(tag: &str) -> bool {
    tag == BASE_IMAGE || ALL.iter().any(|i| i.tag == tag)
}

/// Builds the images that are ours (`chaos/…`) and pulls the others as their pull policy
/// says (`missing`: when absent; `always`: every time; `never`: absent is an error).
pub async fn ensure_for(
    docker: &Docker,
    wanted: &[WantedImage],
    progress: Progress<'_>,
) -> Result<(), DockerError> {
    let mut need_base = false;
    for w in wanted {
        let tag = &w.tag;
        if let Some(image) = ALL.iter().find(|i| i.tag == tag) {
            ensure_base(docker, progress).await?;
            ensure_kafka(docker, image, progress).await?;
            continue;
        }
        if tag == BASE_IMAGE {
            need_base = true;
            continue;
        }
        apply_pull_policy(docker, w, None, progress).await?;
    }
    if need_base {
        ensure_base(docker, progress).await?;
    }
    Ok(())
}

/// Pulls an image that is not ours as its `pull_policy` says: when absent (`missing`), every
/// time (`always`), never (`never`: absent is an error). `node`: the engine's node, for the
/// messages (None: the one engine).
async fn apply_pull_policy(
    docker: &Docker,
    w: &WantedImage,
    node: Option<&crate::platform::NodeInfo>,
    progress: Progress<'_>,
) -> Result<(), DockerError> {
    let present = docker.inspect_image(&w.tag).await.is_ok();
    match (w.pull, present) {
        (PullPolicy::Missing | PullPolicy::Never, true) => Ok(()),
        (PullPolicy::Never, false) => Err(DockerError::ImageNotFound {
            image: w.tag.clone(),
            reason: format!(
                "not present on {}, and its pull_policy is never",
                node.map_or("the engine".to_string(), |n| format!("node {}", n.name))
            ),
            hint: match node {
                None => format!(
                    "load it (docker load -i …), pull it (chaos images pull {}), or drop \
                     pull_policy: never",
                    w.tag
                ),
                Some(n) => format!(
                    "load it there (docker save {} | docker -H {} load)",
                    w.tag, n.engine
                ),
            },
        }),
        (PullPolicy::Always, _) | (PullPolicy::Missing, false) => {
            if let Some(n) = node {
                progress(&format!("on node {}:", n.name));
            }
            pull(docker, &w.tag, progress).await
        }
    }
}

/// Pulls an image through the Docker API, reporting layers and bytes at most once a second.
pub async fn pull(
    docker: &Docker,
    reference: &str,
    progress: Progress<'_>,
) -> Result<(), DockerError> {
    let started = std::time::Instant::now();
    let (from_image, tag) = split_reference(reference);
    let options = CreateImageOptionsBuilder::default()
        .from_image(from_image)
        .tag(tag)
        .build();
    progress(&format!("pulling {reference}"));
    let mut stream = docker.create_image(Some(options), None, None);
    let mut layers = PullProgress::default();
    let mut last_said = started;
    while let Some(step) = stream.next().await {
        let info = step.map_err(|e| pull_error(reference, e.to_string(), status_of(&e)))?;
        if let Some(message) = info.error_detail.and_then(|d| d.message) {
            return Err(pull_error(reference, message, None));
        }
        if let (Some(id), Some(status)) = (info.id, info.status) {
            let detail = info.progress_detail.unwrap_or_default();
            layers.update(&id, &status, detail.current, detail.total);
        }
        if last_said.elapsed() >= std::time::Duration::from_secs(1) {
            progress(&format!("pulling {reference}: {}", layers.summary()));
            last_said = std::time::Instant::now();
        }
    }
    docker.inspect_image(reference).await.map_err(|e| {
        pull_error(
            reference,
            format!("the engine does not have it after the pull: {e}"),
            None,
        )
    })?;
    progress(&format!(
        "pulled {reference} ({}) in {:.1} s",
        layers.summary(),
        started.elapsed().as_secs_f64()
    ));
    Ok(())
}

fn status_of(e: &bollard::errors::Error) -> Option<u16> {
    match e {
        bollard::errors::Error::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

/// An unknown image (the registry says so) or another failure, with what to do.
fn pull_error(reference: &str, reason: String, status: Option<u16>) -> DockerError {
    let unknown = status == Some(404)
        || [
            "manifest unknown",
            "not found",
            "repository does not exist",
            "does not exist or",
        ]
        .iter()
        .any(|m| reason.contains(m));
    if unknown {
        return DockerError::ImageNotFound {
            image: reference.to_string(),
            reason: format!("no such image in its registry ({reason})"),
            hint: "check the name and tag in the compose file (or the variable that sets it)"
                .into(),
        };
    }
    let registry = crate::compose::image_ref::registry_host(reference)
        .unwrap_or("docker.io")
        .to_string();
    DockerError::Pull {
        image: reference.to_string(),
        reason,
        hint: format!(
            "is the registry {registry} reachable from the Docker engine? Or load the image \
             there (docker load -i …) and set pull_policy: never"
        ),
    }
}

/// The layers of a pull as the engine reports them, for the progress line.
#[derive(Debug, Default)]
struct PullProgress {
    /// Layer id → (bytes so far, bytes in all, done).
    layers: indexmap::IndexMap<String, (u64, u64, bool)>,
}

impl PullProgress {
    fn update(&mut self, id: &str, status: &str, current: Option<i64>, total: Option<i64>) {
        // The first status of an image pull names the tag, not a layer.
        if status.starts_with("Pulling from") {
            return;
        }
        let layer = self.layers.entry(id.to_string()).or_default();
        if status == "Downloading" {
            layer.0 = current.unwrap_or(0).max(0) as u64;
            layer.1 = total.unwrap_or(0).max(0) as u64;
        } else if matches!(
            status,
            "Pull complete" | "Already exists" | "Download complete"
        ) {
            layer.0 = layer.1;
            layer.2 = status != "Download complete";
        }
    }

    fn summary(&self) -> String {
        if self.layers.is_empty() {
            return "every layer was present already".into();
        }
        let done = self.layers.values().filter(|l| l.2).count();
        let (got, all) = self
            .layers
            .values()
            .fold((0, 0), |(g, a), l| (g + l.0, a + l.1));
        format!(
            "{done}/{} layers, {:.1} of {:.1} MB",
            self.layers.len(),
            got as f64 / 1e6,
            all as f64 / 1e6
        )
    }
}

/// The images on every engine in use: ours built on the local engine and streamed to each
/// node; another (e.g. confluentinc/cp-kafka) copied from the local engine when it has it,
/// else pulled by the node that lacks it (a registry may be reachable from there).
pub async fn ensure_on_engines(
    engines: &super::engines::Engines,
    wanted: &[WantedImage],
    progress: Progress<'_>,
) -> Result<(), DockerError> {
    if !engines.is_several() {
        return ensure_for(engines.local(), wanted, progress).await;
    }
    let ours: Vec<WantedImage> = wanted.iter().filter(|w| is_ours(&w.tag)).cloned().collect();
    ensure_for(engines.local(), &ours, progress).await?;
    let tags: Vec<String> = wanted.iter().map(|w| w.tag.clone()).collect();
    distribute(engines, &tags, progress).await?;
    for w in wanted.iter().filter(|w| !is_ours(&w.tag)) {
        for (node, docker) in engines.named() {
            let Some(node) = node else { continue };
            apply_pull_policy(docker, w, Some(node), progress).await?;
        }
    }
    Ok(())
}

/// Copies the images to every node's engine that lacks them or has another build (compared
/// by image id), streamed from the local engine (`docker save | docker load`, no registry).
/// An image the local engine lacks is left for the node to have (e.g. pulled there).
pub async fn distribute(
    engines: &super::engines::Engines,
    tags: &[String],
    progress: Progress<'_>,
) -> Result<(), DockerError> {
    let local = engines.local();
    for tag in tags {
        let Ok(wanted) = local.inspect_image(tag).await else {
            continue;
        };
        for (node, docker) in engines.named() {
            let Some(node) = node else { continue };
            let have = docker.inspect_image(tag).await.ok().and_then(|i| i.id);
            if have.is_some() && have == wanted.id {
                continue;
            }
            progress(&format!(
                "copying image {tag} to node {} ({})",
                node.name, node.engine
            ));
            let export = local.export_image(tag);
            let mut load = docker.import_image_stream(
                bollard::query_parameters::ImportImageOptionsBuilder::default()
                    .quiet(true)
                    .build(),
                export,
                None,
            );
            while let Some(step) = load.next().await {
                let step = step.map_err(api(format!("load {tag} into node {}", node.name)))?;
                if let Some(e) = step.error_detail.and_then(|d| d.message) {
                    return Err(DockerError::ImageBuild(format!(
                        "loading {tag} into node {}: {e}",
                        node.name
                    )));
                }
            }
            let have = docker.inspect_image(tag).await.ok().and_then(|i| i.id);
            if have != wanted.id {
                return Err(DockerError::ImageBuild(format!(
                    "node {}: image {tag} is {} after loading, not {}",
                    node.name,
                    have.as_deref().unwrap_or("missing"),
                    wanted.id.as_deref().unwrap_or("?")
                )));
            }
        }
    }
    Ok(())
}

async fn image_hash(docker: &Docker, tag: &str) -> Option<String> {
    let inspect = docker.inspect_image(tag).await.ok()?;
    inspect.config?.labels?.get(IMAGE_HASH_LABEL).cloned()
}

fn hash_of(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    format!("{:x}", h.finalize())[..16].to_string()
}

pub async fn ensure_base(docker: &Docker, progress: Progress<'_>) -> Result<Built, DockerError> {
    let started = std::time::Instant::now();
    let hash = hash_of(&["bookworm", BASE_PACKAGES]);
    if image_hash(docker, BASE_IMAGE).await.as_deref() == Some(hash.as_str()) {
        return Ok(Built {
            tag: BASE_IMAGE.into(),
            cached: true,
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    let mirror = debian_mirror();
    progress(&format!(
        "building {BASE_IMAGE}: mmdebstrap bookworm from {mirror} (~30 s)"
    ));
    let work = tempdir("base")?;
    let rootfs = work.join("rootfs.tar");
    let output = tokio::process::Command::new("mmdebstrap")
        .args(["--variant=apt", &format!("--include={BASE_PACKAGES}"), "bookworm"])
        .arg(&rootfs)
        .arg(&mirror)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| DockerError::ImageBuild(format!(
            "cannot run mmdebstrap: {e}\n  hint: run scripts/install-docker.sh (installs mmdebstrap)"
        )))?;
    if !output.status.success() {
        let _ = std::fs::remove_dir_all(&work);
        let log = keep_log("base-mmdebstrap", &[&output.stdout, &output.stderr]);
        return Err(DockerError::ImageBuild(format!(
            "mmdebstrap failed{log}: {}",
            tail(&String::from_utf8_lossy(&output.stderr), 15)
        )));
    }
    progress(&format!("importing {BASE_IMAGE} through the Docker API"));
    let file = tokio::fs::File::open(&rootfs)
        .await
        .map_err(|e| DockerError::ImageBuild(e.to_string()))?;
    let body = bollard::body_try_stream(tokio_util::io::ReaderStream::new(file));
    let (repo, tag) = BASE_IMAGE.split_once(':').unwrap_or((BASE_IMAGE, "latest"));
    let options = CreateImageOptionsBuilder::default()
        .from_src("-")
        .repo(repo)
        .tag(tag)
        .changes(vec![
            format!("LABEL {IMAGE_HASH_LABEL}={hash}"),
            "LABEL chaos.managed-image=true".to_string(),
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
        ])
        .build();
    let mut stream = docker.create_image(Some(options), Some(body), None);
    while let Some(item) = stream.next().await {
        item.map_err(api("import base image"))?;
    }
    let _ = std::fs::remove_dir_all(&work);
    Ok(Built {
        tag: BASE_IMAGE.into(),
        cached: false,
        seconds: started.elapsed().as_secs_f64(),
    })
}

pub async fn ensure_kafka(
    docker: &Docker,
    image: &KafkaImage,
    progress: Progress<'_>,
) -> Result<Built, DockerError> {
    let started = std::time::Instant::now();
    let base_id = docker
        .inspect_image(BASE_IMAGE)
        .await
        .map_err(api("inspect base image"))?
        .id
        .unwrap_or_default();
    let hash = hash_of(&[&base_id, image.pom, DOCKERFILE, ENTRYPOINT, LOG4J, LOG4J2]);
    if image_hash(docker, image.tag).await.as_deref() == Some(hash.as_str()) {
        return Ok(Built {
            tag: image.tag.into(),
            cached: true,
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    let jars = fetch_jars(image, progress).await?;
    progress(&format!(
        "building {} (Kafka {}, {} mode)",
        image.tag, image.kafka_version, image.mode
    ));
    let context = build_context(&jars, image, &hash)
        .map_err(|e| DockerError::ImageBuild(format!("build context: {e}")))?;
    let options = BuildImageOptionsBuilder::default()
        .dockerfile("Dockerfile")
        .t(image.tag)
        .rm(true)
        .forcerm(true)
        .buildargs(&std::collections::HashMap::from([(
            "BASE".to_string(),
            BASE_IMAGE.to_string(),
        )]))
        .build();
    let mut stream = docker.build_image(options, None, Some(bollard::body_full(context.into())));
    // The build's own output: each step on the progress line, all of it kept in a log file
    // when the build fails.
    let mut output = String::new();
    while let Some(item) = stream.next().await {
        let failed = |e: String, output: &str| {
            let log = keep_log(&format!("{}-build", image.tag), &[output.as_bytes()]);
            DockerError::ImageBuild(format!("{}{log}: {e}\n{}", image.tag, tail(output, 15)))
        };
        let info = item.map_err(|e| failed(e.to_string(), &output))?;
        if let Some(line) = &info.stream {
            output.push_str(line);
            if let Some(step) = line.trim().strip_prefix("Step ") {
                progress(&format!("building {}: step {step}", image.tag));
            }
        }
        if let Some(err) = info.error_detail.and_then(|d| d.message) {
            return Err(failed(err, &output));
        }
    }
    Ok(Built {
        tag: image.tag.into(),
        cached: false,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The cached jar directory of an image, if fetched.
pub fn jar_dir(image: &KafkaImage) -> Option<PathBuf> {
    let dir = cache_dir().join(format!(
        "jars-{}-{}",
        image.kafka_version,
        hash_of(&[image.pom])
    ));
    dir.join(".complete").exists().then_some(dir)
}

/// Jars come from Maven Central through `mvn dependency:copy-dependencies`, cached per pom.
async fn fetch_jars(image: &KafkaImage, progress: Progress<'_>) -> Result<PathBuf, DockerError> {
    let dir = cache_dir().join(format!(
        "jars-{}-{}",
        image.kafka_version,
        hash_of(&[image.pom])
    ));
    if dir.join(".complete").exists() {
        return Ok(dir);
    }
    progress(&format!(
        "fetching Kafka {} jars with Maven",
        image.kafka_version
    ));
    let work = tempdir("pom")?;
    std::fs::write(work.join("pom.xml"), image.pom)
        .map_err(|e| DockerError::ImageBuild(e.to_string()))?;
    let staging = dir.with_extension("partial");
    let _ = std::fs::remove_dir_all(&staging);
    let output = tokio::process::Command::new("mvn")
        .current_dir(&work)
        .args(["-q", "-B", "dependency:copy-dependencies"])
        .arg(format!("-DoutputDirectory={}", staging.display()))
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| {
            DockerError::ImageBuild(format!(
                "cannot run mvn: {e}\n  hint: run scripts/install-docker.sh (installs Maven)"
            ))
        })?;
    let _ = std::fs::remove_dir_all(&work);
    if !output.status.success() {
        let log = keep_log(
            &format!("jars-{}-mvn", image.kafka_version),
            &[&output.stdout, &output.stderr],
        );
        return Err(DockerError::ImageBuild(format!(
            "mvn could not fetch Kafka {} jars{log}: {}",
            image.kafka_version,
            tail(&String::from_utf8_lossy(&output.stdout), 15)
        )));
    }
    std::fs::write(staging.join(".complete"), b"")
        .map_err(|e| DockerError::ImageBuild(e.to_string()))?;
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::rename(&staging, &dir).map_err(|e| DockerError::ImageBuild(e.to_string()))?;
    Ok(dir)
}

fn build_context(jars: &Path, image: &KafkaImage, hash: &str) -> std::io::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    let dockerfile = format!(
        "{DOCKERFILE}LABEL {IMAGE_HASH_LABEL}={hash} {KAFKA_VERSION_LABEL}={} chaos.kafka-mode={} chaos.managed-image=true\n",
        image.kafka_version, image.mode
    );
    append(&mut tar, "Dockerfile", dockerfile.as_bytes(), 0o644)?;
    append(&mut tar, "entrypoint.sh", ENTRYPOINT.as_bytes(), 0o755)?;
    append(&mut tar, "log4j.properties", LOG4J.as_bytes(), 0o644)?;
    append(&mut tar, "log4j2.properties", LOG4J2.as_bytes(), 0o644)?;
    for entry in std::fs::read_dir(jars)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "jar") {
            let name = format!(
                "jars/{}",
                path.file_name().unwrap_or_default().to_string_lossy()
            );
            tar.append_path_with_name(&path, name)?;
        }
    }
    tar.into_inner()
}

fn append(
    tar: &mut tar::Builder<Vec<u8>>,
    name: &str,
    data: &[u8],
    mode: u32,
) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(data.len() as u64);
    header.set_mode(mode);
    header.set_cksum();
    tar.append_data(&mut header, name, data)
}

/// The Debian mirror: $CHAOS_DEBIAN_MIRROR, else the host's apt sources, else deb.debian.org.
pub fn debian_mirror() -> String {
    if let Ok(m) = std::env::var("CHAOS_DEBIAN_MIRROR") {
        return m;
    }
    let sources =
        std::fs::read_to_string("/etc/apt/sources.list.d/debian.sources").unwrap_or_default();
    if let Some(uri) = sources
        .lines()
        .filter_map(|l| l.strip_prefix("URIs:"))
        .map(str::trim)
        .find(|u| !u.contains("security"))
    {
        return uri.split_whitespace().next().unwrap_or(uri).to_string();
    }
    let list = std::fs::read_to_string("/etc/apt/sources.list").unwrap_or_default();
    list.lines()
        .filter(|l| l.starts_with("deb ") && !l.contains("security"))
        .find_map(|l| {
            l.split_whitespace()
                .find(|w| w.starts_with("http"))
                .map(str::to_string)
        })
        .unwrap_or_else(|| "http://deb.debian.org/debian".to_string())
}

fn cache_dir() -> PathBuf {
    crate::cache::cache_dir()
}

fn tempdir(what: &str) -> Result<PathBuf, DockerError> {
    let dir = cache_dir().join(format!("tmp-{what}-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| DockerError::ImageBuild(format!("{}: {e}", dir.display())))?;
    Ok(dir)
}

/// A failed step's whole output kept under the cache's `logs/` (named by what failed and
/// when); returns " (full log: PATH)" to put in the error, or nothing when it cannot be
/// written.
fn keep_log(what: &str, parts: &[&[u8]]) -> String {
    let dir = cache_dir().join("logs");
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let path = dir.join(format!("{}-{stamp}.log", what.replace(['/', ':'], "_")));
    let written =
        std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, parts.concat()));
    match written {
        Ok(()) => format!(" (full log: {})", path.display()),
        Err(_) => String::new(),
    }
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_into_name_and_tag_with_registry_ports_and_digests() {
        assert_eq!(
            split_reference("confluentinc/cp-kafka:7.9.1"),
            ("confluentinc/cp-kafka", "7.9.1")
        );
        assert_eq!(split_reference("apache/kafka"), ("apache/kafka", "latest"));
        assert_eq!(
            split_reference("127.0.0.1:5000/acme/kafka"),
            ("127.0.0.1:5000/acme/kafka", "latest")
        );
        assert_eq!(
            split_reference("127.0.0.1:5000/acme/kafka:4.1.1"),
            ("127.0.0.1:5000/acme/kafka", "4.1.1")
        );
        assert_eq!(split_reference("kafka@sha256:abc"), ("kafka", "sha256:abc"));
    }

    #[test]
    fn an_image_shared_by_services_takes_the_strictest_pull_policy() {
        let wanted = needed(
            [
                ("a:1", PullPolicy::Never),
                ("a:1", PullPolicy::Missing),
                ("b:1", PullPolicy::Always),
                ("b:1", PullPolicy::Missing),
            ],
            true,
        );
        let pulls: Vec<(&str, PullPolicy)> =
            wanted.iter().map(|w| (w.tag.as_str(), w.pull)).collect();
        assert_eq!(
            pulls,
            [
                ("a:1", PullPolicy::Missing),
                ("b:1", PullPolicy::Always),
                (BASE_IMAGE, PullPolicy::Missing)
            ]
        );
    }

    #[test]
    fn pull_progress_counts_layers_and_bytes() {
        let mut p = PullProgress::default();
        assert_eq!(p.summary(), "every layer was present already");
        p.update("4.1.1", "Pulling from acme/kafka", None, None);
        p.update("aaa", "Already exists", None, None);
        p.update("bbb", "Downloading", Some(1_000_000), Some(4_000_000));
        assert_eq!(p.summary(), "1/2 layers, 1.0 of 4.0 MB");
        p.update("bbb", "Download complete", None, None);
        p.update("bbb", "Pull complete", None, None);
        assert_eq!(p.summary(), "2/2 layers, 4.0 of 4.0 MB");
    }

    #[test]
    fn unknown_images_are_the_input_s_mistake_and_the_rest_names_the_registry() {
        assert!(matches!(
            pull_error("127.0.0.1:5000/x:1", "manifest unknown".into(), Some(404)),
            DockerError::ImageNotFound { .. }
        ));
        let e = pull_error(
            "127.0.0.1:5000/x:1",
            "Get \"http://127.0.0.1:5000/v2/\": dial tcp 127.0.0.1:5000: connect: connection refused".into(),
            Some(500),
        );
        assert!(matches!(e, DockerError::Pull { .. }));
        assert!(
            e.to_string()
                .contains("is the registry 127.0.0.1:5000 reachable"),
            "{e}"
        );
        assert!(pull_error("apache/kafka:4.1.1", "timeout".into(), None)
            .to_string()
            .contains("registry docker.io"));
    }

    use crate::experiment::{FaultKind, FaultSpec, Step, Target};

    fn with_fault(kind: FaultKind) -> crate::experiment::Experiment {
        let mut e =
            crate::experiment::parse("name: t\ncluster: {compose: c.yml}\n", Path::new("t.yaml"))
                .expect("a minimal experiment");
        e.steps.push(Step {
            fault: Some(FaultSpec {
                kind,
                target: Target::Service("kafka-1".into()),
                peers: vec![],
                direction: Default::default(),
                rate: None,
                delay: None,
                percent: None,
            }),
            ..Default::default()
        });
        e
    }

    const CONFLUENT: [&str; 2] = [
        "confluentinc/cp-zookeeper:7.9.1",
        "confluentinc/cp-kafka:7.9.1",
    ];

    /// `needed` with the default pull policy, as tags.
    fn tags<'a>(images: impl IntoIterator<Item = &'a str>, sidecar: bool) -> Vec<String> {
        needed(
            images.into_iter().map(|i| (i, PullPolicy::Missing)),
            sidecar,
        )
        .into_iter()
        .map(|w| w.tag)
        .collect()
    }

    #[test]
    fn network_faults_need_the_sidecar_image_on_any_cluster() {
        for kind in [
            FaultKind::Partition,
            FaultKind::Bandwidth,
            FaultKind::Delay,
            FaultKind::Loss,
        ] {
            let exp = with_fault(kind);
            assert!(exp.needs_network_sidecar(), "{kind:?}");
            assert_eq!(
                tags(CONFLUENT, exp.needs_network_sidecar()),
                vec![CONFLUENT[0], CONFLUENT[1], BASE_IMAGE],
                "{kind:?}"
            );
        }
    }

    #[test]
    fn other_faults_need_only_the_service_images() {
        for kind in [
            FaultKind::Kill,
            FaultKind::Stop,
            FaultKind::Pause,
            FaultKind::Disconnect,
            FaultKind::Connect,
            FaultKind::Restart,
        ] {
            let exp = with_fault(kind);
            assert!(!exp.needs_network_sidecar(), "{kind:?}");
            assert_eq!(tags(CONFLUENT, false), CONFLUENT.to_vec());
        }
        // Our own images: listed once, the base only when asked for (ensure_for builds it
        // for any chaos/kafka image anyway).
        assert_eq!(
            tags([ZOOKEEPER_MODE.tag, ZOOKEEPER_MODE.tag, BASE_IMAGE], false),
            vec![ZOOKEEPER_MODE.tag, BASE_IMAGE]
        );
    }
}
