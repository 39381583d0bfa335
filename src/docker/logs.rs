//! Container logs through the Docker API: the tail for error messages, and the lines Kafka
//! writes about leadership, to cross-check what the observer measured.

use super::{api, DockerError};
use bollard::query_parameters::LogsOptionsBuilder;
use bollard::Docker;
use futures_util::StreamExt;

pub async fn tail(docker: &Docker, container: &str, lines: usize) -> Result<String, DockerError> {
    let options = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .tail(&lines.to_string())
        .build();
    collect(docker, container, options).await
}

/// Everything the container logged since `since_unix_s`.
pub async fn since(
    docker: &Docker,
    container: &str,
    since_unix_s: i64,
) -> Result<String, DockerError> {
    let options = LogsOptionsBuilder::default()
        .stdout(true)
        .stderr(true)
        .since(since_unix_s as i32)
        .build();
    collect(docker, container, options).await
}

async fn collect(
    docker: &Docker,
    container: &str,
    options: bollard::query_parameters::LogsOptions,
) -> Result<String, DockerError> {
    let mut stream = docker.logs(container, Some(options));
    let mut text = String::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(api(format!("logs of {container}")))?;
        text.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
    }
    Ok(text)
}

pub use crate::analysis::kafka_log::{kafka_version, leadership_lines, LoggedLeadership};

#[cfg(test)]
mod tests {
    #[test]
    fn finds_the_logged_kafka_version() {
        let log = "[2026-11-24 21:40:28,1] INFO Kafka version: 3.9.1 (org.apache.kafka.common.utils.AppInfoParser)\n";
        assert_eq!(super::kafka_version(log).as_deref(), Some("3.9.1"));
        assert_eq!(super::kafka_version("nothing"), None);
    }
}
