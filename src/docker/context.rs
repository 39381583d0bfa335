//! Which engine to talk to, as the docker CLI decides it: `DOCKER_HOST`; else the context
//! `DOCKER_CONTEXT` names; else the `currentContext` of `config.json` (in `DOCKER_CONFIG`, by
//! default `~/.docker`); else the default socket. A context's endpoint and TLS files are read
//! from `contexts/meta/<sha256 of its name>/meta.json` and `contexts/tls/<sha256>/docker/`.

use crate::nodes::EngineTls;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// An engine a context names.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextEndpoint {
    pub context: String,
    /// `unix:///…` or `tcp://host:port`.
    pub host: String,
    pub tls: Option<EngineTls>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ContextError {
    #[error("docker context `{name}` ({from}) is not in {dir}\n  hint: `docker context ls` lists them; unset DOCKER_CONTEXT or `docker context use default`")]
    Missing {
        name: String,
        from: String,
        dir: String,
    },
    #[error("docker context `{name}`: {file}: {reason}")]
    Unreadable {
        name: String,
        file: String,
        reason: String,
    },
    #[error("docker context `{name}` points at {host}: ssh:// engines are not supported\n  hint: forward the socket (ssh -NL /tmp/remote-docker.sock:/var/run/docker.sock HOST) and set DOCKER_HOST=unix:///tmp/remote-docker.sock")]
    Ssh { name: String, host: String },
}

/// The context in force, or None for the default engine (or `DOCKER_HOST`, which bollard
/// reads itself). `env` gives the environment; `home` the user's home directory.
pub fn resolve(
    env: &dyn Fn(&str) -> Option<String>,
    home: Option<&Path>,
) -> Result<Option<ContextEndpoint>, ContextError> {
    if env("DOCKER_HOST").is_some_and(|h| !h.is_empty()) {
        return Ok(None);
    }
    let config_dir = match env("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => match home {
            Some(h) => h.join(".docker"),
            None => return Ok(None),
        },
    };
    let (name, from) = match env("DOCKER_CONTEXT").filter(|c| !c.is_empty()) {
        Some(c) => (c, "DOCKER_CONTEXT".to_string()),
        None => {
            let config = config_dir.join("config.json");
            let Ok(text) = std::fs::read_to_string(&config) else {
                return Ok(None);
            };
            let current = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v["currentContext"].as_str().map(str::to_string));
            match current {
                Some(c) if !c.is_empty() => (c, format!("currentContext in {}", config.display())),
                _ => return Ok(None),
            }
        }
    };
    if name == "default" {
        return Ok(None);
    }
    let id = format!("{:x}", Sha256::digest(name.as_bytes()));
    let meta = config_dir.join("contexts/meta").join(&id).join("meta.json");
    let text = std::fs::read_to_string(&meta).map_err(|_| ContextError::Missing {
        name: name.clone(),
        from,
        dir: config_dir.join("contexts").display().to_string(),
    })?;
    let unreadable = |reason: String| ContextError::Unreadable {
        name: name.clone(),
        file: meta.display().to_string(),
        reason,
    };
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| unreadable(e.to_string()))?;
    let host = value["Endpoints"]["docker"]["Host"]
        .as_str()
        .ok_or_else(|| unreadable("no Endpoints.docker.Host".into()))?
        .to_string();
    if host.starts_with("ssh://") {
        return Err(ContextError::Ssh { name, host });
    }
    let tls_dir = config_dir.join("contexts/tls").join(&id).join("docker");
    let tls = tls_dir.join("ca.pem").exists().then(|| EngineTls {
        ca: tls_dir.join("ca.pem"),
        cert: tls_dir.join("cert.pem"),
        key: tls_dir.join("key.pem"),
    });
    Ok(Some(ContextEndpoint {
        context: name,
        host,
        tls,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_context(config: &Path, name: &str, host: &str) {
        let id = format!("{:x}", Sha256::digest(name.as_bytes()));
        let dir = config.join("contexts/meta").join(id);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("meta.json"),
            format!(r#"{{"Name":"{name}","Metadata":{{}},"Endpoints":{{"docker":{{"Host":"{host}","SkipTLSVerify":false}}}}}}"#),
        )
        .unwrap();
    }

    #[test]
    fn the_docker_cli_s_order_host_then_context_then_config_then_default() {
        let home = tempfile::tempdir().unwrap();
        let config = home.path().join(".docker");
        write_context(&config, "colima", "unix:///home/me/.colima/docker.sock");
        write_context(&config, "remote", "ssh://me@host");
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let resolve_with =
            |vars: &'static [(&'static str, &'static str)]| resolve(&env(vars), Some(home.path()));
        // Nothing set, no config.json: the default engine.
        assert_eq!(resolve_with(&[]).unwrap(), None);
        // config.json's currentContext.
        std::fs::write(
            config.join("config.json"),
            r#"{"currentContext": "colima"}"#,
        )
        .unwrap();
        let e = resolve_with(&[]).unwrap().unwrap();
        assert_eq!(
            (e.context.as_str(), e.host.as_str(), e.tls),
            ("colima", "unix:///home/me/.colima/docker.sock", None)
        );
        // DOCKER_CONTEXT over config.json, DOCKER_HOST over both, `default` is the default.
        assert!(matches!(
            resolve_with(&[("DOCKER_CONTEXT", "remote")]),
            Err(ContextError::Ssh { .. })
        ));
        assert_eq!(
            resolve_with(&[
                ("DOCKER_HOST", "tcp://1.2.3.4:2375"),
                ("DOCKER_CONTEXT", "remote")
            ])
            .unwrap(),
            None
        );
        assert_eq!(
            resolve_with(&[("DOCKER_CONTEXT", "default")]).unwrap(),
            None
        );
        let e = resolve_with(&[("DOCKER_CONTEXT", "nope")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("docker context `nope` (DOCKER_CONTEXT) is not in")
                && e.contains("docker context ls"),
            "{e}"
        );
    }
}
