//! TEMPORARY stand-in until the real loader lands (same public API).
use indexmap::IndexMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ComposeError(pub String);

#[derive(Debug, Clone, PartialEq)]
pub struct ComposeProject {
    pub file: PathBuf,
    pub name: Option<String>,
    pub services: Vec<Service>,
}
impl ComposeProject {
    pub fn service(&self, name: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.name == name)
    }
}
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Service {
    pub name: String,
    pub image: String,
    pub environment: IndexMap<String, String>,
    pub ports: Vec<PortMapping>,
    pub depends_on: Vec<String>,
    pub hostname: Option<String>,
    pub container_name: Option<String>,
    pub command: Option<Vec<String>>,
    pub entrypoint: Option<Vec<String>>,
    pub healthcheck: Option<Healthcheck>,
    pub labels: IndexMap<String, String>,
    pub networks: Vec<String>,
    pub profiles: Vec<String>,
    pub restart: Option<String>,
}
#[derive(Debug, Clone, PartialEq)]
pub struct Healthcheck {
    pub test: Vec<String>,
    pub interval: Option<Duration>,
    pub timeout: Option<Duration>,
    pub retries: Option<u32>,
    pub start_period: Option<Duration>,
}
#[derive(Debug, Clone, PartialEq)]
pub struct PortMapping {
    pub host_ip: Option<String>,
    pub host_port: u16,
    pub container_port: u16,
    pub protocol: String,
}
pub fn load(path: &Path) -> Result<ComposeProject, ComposeError> {
    let text = std::fs::read_to_string(path).map_err(|e| ComposeError(e.to_string()))?;
    parse(&text, path, &|k| std::env::var(k).ok())
}
pub fn parse(text: &str, file: &Path, vars: &dyn Fn(&str) -> Option<String>) -> Result<ComposeProject, ComposeError> {
    let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(text).map_err(|e| ComposeError(e.to_string()))?;
    let interp = |s: &str| -> String {
        let mut out = s.to_string();
        while let Some(start) = out.find("${") {
            let end = out[start..].find('}').map(|e| start + e).unwrap();
            let inner = &out[start + 2..end];
            let (name, def) = inner.split_once(":-").unwrap_or((inner, ""));
            let val = vars(name).unwrap_or(def.to_string());
            out = format!("{}{}{}", &out[..start], val, &out[end + 1..]);
        }
        out
    };
    let str_of = |v: &serde_yaml_ng::Value| -> String {
        match v {
            serde_yaml_ng::Value::String(s) => interp(s),
            serde_yaml_ng::Value::Number(n) => n.to_string(),
            serde_yaml_ng::Value::Bool(b) => b.to_string(),
            _ => String::new(),
        }
    };
    let mut services = vec![];
    for (name, s) in v["services"].as_mapping().unwrap() {
        let mut svc = Service { name: name.as_str().unwrap().to_string(), image: str_of(&s["image"]), ..Default::default() };
        if let Some(env) = s["environment"].as_mapping() {
            for (k, val) in env {
                svc.environment.insert(k.as_str().unwrap().to_string(), str_of(val));
            }
        }
        if let Some(p) = s["ports"].as_sequence() {
            for p in p {
                let t = str_of(p);
                let parts: Vec<&str> = t.split(':').collect();
                let (ip, hp, cp) = match parts.len() { 3 => (Some(parts[0].to_string()), parts[1], parts[2]), _ => (None, parts[0], parts[1]) };
                svc.ports.push(PortMapping { host_ip: ip, host_port: hp.parse().unwrap(), container_port: cp.parse().unwrap(), protocol: "tcp".into() });
            }
        }
        if let Some(d) = s["depends_on"].as_sequence() {
            svc.depends_on = d.iter().map(str_of).collect();
        }
        services.push(svc);
    }
    Ok(ComposeProject { file: file.to_path_buf(), name: None, services })
}
