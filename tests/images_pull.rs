//! Pulling images through the Docker API, end to end against a real registry: Docker's own
//! (distribution/v3, built by scripts/registry.sh) on a port of its own on 127.0.0.1. An image
//! built here (our base plus a layer of random bytes, so the engine cannot have it) is pushed,
//! removed, then pulled by `chaos images pull` and by `chaos up` (pull_policy missing / never),
//! with progress; an unknown image and a registry that is down are clear errors.

mod common;

use common::*;
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Docker's registry, running until dropped.
struct Registry {
    child: Child,
    port: u16,
    _data: tempfile::TempDir,
}

impl Registry {
    fn binary() -> PathBuf {
        let cache = std::env::var("CHAOS_CACHE_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| {
                std::env::var("XDG_CACHE_HOME")
                    .map(PathBuf::from)
                    .unwrap_or_else(|_| {
                        PathBuf::from(std::env::var("HOME").unwrap()).join(".cache")
                    })
                    .join("chaos")
            });
        cache.join("registry/registry")
    }

    fn start() -> Registry {
        let binary = Self::binary();
        assert!(
            binary.exists(),
            "{} is missing: run scripts/registry.sh (scripts/test.sh does)",
            binary.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let data = tempfile::tempdir().unwrap();
        let config = data.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "version: 0.1\nlog: {{level: warn}}\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
                data.path().join("store").display()
            ),
        )
        .unwrap();
        let child = Command::new(&binary)
            .args(["serve", config.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the registry");
        let registry = Registry {
            child,
            port,
            _data: data,
        };
        // Waiting (not measuring): the registry answers `/v2/` once it listens.
        let deadline = Instant::now() + Duration::from_secs(20);
        while !registry.answers() {
            assert!(
                Instant::now() < deadline,
                "the registry did not answer /v2/ within 20 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        registry
    }

    fn answers(&self) -> bool {
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.write_all(b"GET /v2/ HTTP/1.0\r\n\r\n");
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200")
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

fn docker(args: &[&str]) -> std::process::Output {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("docker CLI");
    eprintln!(
        "$ docker {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// An image the engine cannot have: our base plus 4 MB of random bytes, pushed to the
/// registry under `reference`, then removed locally.
fn push_probe_image(reference: &str) {
    let context = tempfile::tempdir().unwrap();
    let mut blob = vec![0u8; 4 << 20];
    rand_fill(&mut blob);
    std::fs::write(context.path().join("blob"), &blob).unwrap();
    std::fs::write(
        context.path().join("Dockerfile"),
        "FROM chaos/base:bookworm-jre17\nCOPY blob /blob\nCMD [\"sleep\", \"3600\"]\n",
    )
    .unwrap();
    assert!(docker(&[
        "build",
        "-q",
        "-t",
        reference,
        context.path().to_str().unwrap()
    ])
    .status
    .success());
    assert!(docker(&["push", "-q", reference]).status.success());
    assert!(docker(&["rmi", reference]).status.success());
}

fn rand_fill(buf: &mut [u8]) {
    let mut x: u64 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        | 1;
    for b in buf {
        // xorshift: enough to make the layer unlike any other.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn images_are_pulled_with_progress_and_unknown_images_or_a_registry_down_are_clear_errors() {
    let _one = cluster_test();
    let mut registry = Registry::start();
    let tag = format!("t{}", std::process::id());
    let probe = format!("{}/chaos-test/probe:{tag}", registry.host());
    push_probe_image(&probe);

    // `chaos images pull`: the layer is downloaded, the base's layers are there already.
    let out = chaos(&["images", "pull", &probe]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains(&format!("pulling {probe}")), "{said}");
    assert!(
        said.contains(&format!("pulled {probe} (")) && said.contains(" layers, "),
        "{said}"
    );
    assert!(docker(&["image", "inspect", &probe]).status.success());

    // `chaos up` pulls what a compose file needs (pull_policy: missing, the default) ...
    assert!(docker(&["rmi", &probe]).status.success());
    let dir = tempfile::tempdir().unwrap();
    let compose = dir.path().join("pull.yml");
    let write = |policy: &str| {
        std::fs::write(
            &compose,
            format!("name: pull-probe\nservices:\n  probe:\n    image: {probe}\n    pull_policy: {policy}\n"),
        )
        .unwrap();
    };
    write("missing");
    let out = chaos(&["up", "-f", compose.to_str().unwrap()]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(0), "{said}");
    assert!(said.contains(&format!("pulled {probe}")), "{said}");
    assert!(chaos(&["down", "-p", "pull-probe"]).status.success());
    // ... and refuses to when it says never: exit 2 before anything starts.
    assert!(docker(&["rmi", &probe]).status.success());
    write("never");
    let out = chaos(&["up", "-f", compose.to_str().unwrap()]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains(&probe) && said.contains("pull_policy is never"),
        "{said}"
    );
    assert!(
        docker(&["ps", "-aq", "--filter", "label=chaos.cluster=pull-probe"])
            .stdout
            .is_empty()
    );

    // An image the registry does not have: exit 2, naming it.
    let unknown = format!("{}/chaos-test/no-such-image:{tag}", registry.host());
    let out = chaos(&["images", "pull", &unknown]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(2), "{said}");
    assert!(
        said.contains(&format!("image {unknown}: no such image")),
        "{said}"
    );

    // The registry down: exit 4, naming the registry.
    registry.stop();
    let out = chaos(&["images", "pull", &probe]);
    let said = text(&out);
    assert_eq!(out.status.code(), Some(4), "{said}");
    assert!(
        said.contains(&format!("pulling image {probe} failed")),
        "{said}"
    );
    assert!(
        said.contains(&format!("is the registry {} reachable", registry.host())),
        "{said}"
    );
}
