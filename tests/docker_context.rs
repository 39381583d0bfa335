//! The engine is found as the docker CLI finds it: a docker context (DOCKER_CONTEXT, or the
//! currentContext of config.json in DOCKER_CONFIG) is followed when DOCKER_HOST is unset.
//! Contexts made by the docker CLI itself, in a config directory of the test's own.

mod common;

use common::*;
use std::process::Command;

fn chaos_with(
    config: &std::path::Path,
    context: Option<&str>,
    args: &[&str],
) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chaos"));
    command
        .env("DOCKER_CONFIG", config)
        .env_remove("DOCKER_HOST");
    match context {
        Some(c) => command.env("DOCKER_CONTEXT", c),
        None => command.env_remove("DOCKER_CONTEXT"),
    };
    logged(command, args)
}

fn docker_cli(config: &std::path::Path, args: &[&str]) {
    let status = Command::new("docker")
        .arg("--config")
        .arg(config)
        .args(args)
        .status()
        .expect("docker CLI");
    assert!(status.success(), "docker {args:?}");
}

#[test]
fn a_docker_context_is_followed_and_a_broken_one_is_named() {
    let _one = cluster_test();
    let config = tempfile::tempdir().unwrap();
    let socket = std::env::var("DOCKER_HOST").unwrap_or("unix:///var/run/docker.sock".into());
    docker_cli(
        config.path(),
        &[
            "context",
            "create",
            "here",
            "--docker",
            &format!("host={socket}"),
        ],
    );
    docker_cli(
        config.path(),
        &[
            "context",
            "create",
            "elsewhere",
            "--docker",
            "host=unix:///nonexistent/docker.sock",
        ],
    );
    // DOCKER_CONTEXT names the engine: the real one answers.
    let out = chaos_with(
        config.path(),
        Some("here"),
        &["down", "-p", "no-such-cluster"],
    );
    assert_eq!(out.status.code(), Some(0));
    // One that points nowhere: exit 4, naming the socket and the context.
    let out = chaos_with(
        config.path(),
        Some("elsewhere"),
        &["down", "-p", "no-such-cluster"],
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{said}");
    assert!(
        said.contains("unix:///nonexistent/docker.sock (docker context elsewhere;"),
        "{said}"
    );
    // config.json's currentContext when DOCKER_CONTEXT is unset (`docker context use`).
    docker_cli(config.path(), &["context", "use", "elsewhere"]);
    let out = chaos_with(config.path(), None, &["down", "-p", "no-such-cluster"]);
    assert_eq!(out.status.code(), Some(4));
    docker_cli(config.path(), &["context", "use", "here"]);
    let out = chaos_with(config.path(), None, &["down", "-p", "no-such-cluster"]);
    assert_eq!(out.status.code(), Some(0));
    // An unknown context: named, with where it was looked for.
    let out = chaos_with(
        config.path(),
        Some("typo"),
        &["down", "-p", "no-such-cluster"],
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{said}");
    assert!(
        said.contains("docker context `typo` (DOCKER_CONTEXT) is not in"),
        "{said}"
    );
}
