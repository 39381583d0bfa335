//! Images built locally, with no container registry: a Debian rootfs (mmdebstrap) imported
//! through the Docker API, then Kafka images from Maven Central jars on top of it.
//! Each image carries a hash of what it was built from; a matching image is reused.

use super::{api, DockerError};
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

/// The images a cluster needs before it starts: every service's image, and the sidecar image
/// ([`BASE_IMAGE`]) when network faults will run — whoever built the service images (a
/// cluster on Confluent's images still gets its iptables / tc from our sidecar). In order,
/// without repeats; [`ensure_for`] builds those that are ours.
pub fn needed<'a>(
    service_images: impl IntoIterator<Item = &'a str>,
    network_sidecar: bool,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let sidecar = network_sidecar.then_some(BASE_IMAGE);
    for tag in service_images.into_iter().chain(sidecar) {
        if !out.iter().any(|t| t == tag) {
            out.push(tag.to_string());
        }
    }
    out
}

/// Builds the images the given tags need, when they are ours (`chaos/…`); other images
/// (e.g. confluentinc/cp-kafka) must be present already.
pub async fn ensure_for(
    docker: &Docker,
    tags: &[String],
    progress: Progress<'_>,
) -> Result<(), DockerError> {
    let mut need_base = false;
    for tag in tags {
        if let Some(image) = ALL.iter().find(|i| i.tag == tag) {
            ensure_base(docker, progress).await?;
            ensure_kafka(docker, image, progress).await?;
        } else if tag == BASE_IMAGE {
            need_base = true;
        } else if docker.inspect_image(tag).await.is_err() {
            return Err(DockerError::ImageBuild(format!(
                "image {tag} is not present and is not one this tool builds; pull or load it first \
                 (no registry is used by chaos)"
            )));
        }
    }
    if need_base {
        ensure_base(docker, progress).await?;
    }
    Ok(())
}

/// The images on every engine in use: ours built on the local engine and streamed to each
/// node; another (e.g. confluentinc/cp-kafka) copied from the local engine when it has it,
/// else pulled by the node that lacks it (a registry may be reachable from there).
pub async fn ensure_on_engines(
    engines: &super::engines::Engines,
    tags: &[String],
    progress: Progress<'_>,
) -> Result<(), DockerError> {
    if !engines.is_several() {
        return ensure_for(engines.local(), tags, progress).await;
    }
    let ours: Vec<String> = tags
        .iter()
        .filter(|t| *t == BASE_IMAGE || ALL.iter().any(|i| i.tag == t.as_str()))
        .cloned()
        .collect();
    ensure_for(engines.local(), &ours, progress).await?;
    distribute(engines, tags, progress).await?;
    for tag in tags.iter().filter(|t| !ours.contains(t)) {
        for (node, docker) in engines.named() {
            let Some(node) = node else { continue };
            if docker.inspect_image(tag).await.is_ok() {
                continue;
            }
            progress(&format!("pulling {tag} on node {}", node.name));
            let (repo, version) = tag.rsplit_once(':').unwrap_or((tag, "latest"));
            let options = CreateImageOptionsBuilder::default()
                .from_image(repo)
                .tag(version)
                .build();
            let mut pull = docker.create_image(Some(options), None, None);
            while let Some(step) = pull.next().await {
                step.map_err(|e| {
                    DockerError::ImageBuild(format!(
                        "node {} lacks image {tag}, this engine too, and the node could not pull it: {e}\n  \
                         hint: load it there (docker save {tag} | docker -H {} load)",
                        node.name, node.engine
                    ))
                })?;
            }
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
        return Err(DockerError::ImageBuild(format!(
            "mmdebstrap failed: {}",
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
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| DockerError::ImageBuild(format!("{}: {e}", image.tag)))?;
        if let Some(err) = info.error_detail.and_then(|d| d.message) {
            return Err(DockerError::ImageBuild(format!("{}: {err}", image.tag)));
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
        return Err(DockerError::ImageBuild(format!(
            "mvn could not fetch Kafka {} jars: {}",
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

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
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
                needed(CONFLUENT, exp.needs_network_sidecar()),
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
            assert_eq!(needed(CONFLUENT, false), CONFLUENT.to_vec());
        }
        // Our own images: listed once, the base only when asked for (ensure_for builds it
        // for any chaos/kafka image anyway).
        assert_eq!(
            needed([ZOOKEEPER_MODE.tag, ZOOKEEPER_MODE.tag, BASE_IMAGE], false),
            vec![ZOOKEEPER_MODE.tag, BASE_IMAGE]
        );
    }
}
