//! A service's `volumes:` and `tmpfs:` as compose reads them: short (`source:target[:mode]`,
//! `target`) and long forms; host paths resolved against the compose file's directory (and
//! `~` against HOME), as compose resolves them. Pure.

use super::model::{LongMount, Mount, RawMount};
use std::path::{Component, Path, PathBuf};

/// Why a mount entry is not one this tool creates.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MountError {
    #[error("`{text}` has more than source:target:mode")]
    Shape { text: String },
    #[error("target `{target}` is not an absolute path")]
    RelativeTarget { target: String },
    #[error("`{mode}` is not a mount mode (ro, rw, z, Z, nocopy, or Docker Desktop's cached/delegated/consistent)")]
    Mode { mode: String },
    #[error("type `{kind}` is not a mount type this tool creates (volume, bind, tmpfs)")]
    Kind { kind: String },
    #[error("a {kind} mount needs a source")]
    NoSource { kind: &'static str },
    #[error("`{option}` is not a tmpfs option this tool passes (size, mode)")]
    TmpfsOption { option: String },
    #[error("`{value}` is not a size (bytes, or with k, m, g)")]
    Size { value: String },
    #[error("`{value}` is not an octal file mode (e.g. 1777)")]
    FileMode { value: String },
    #[error("bind.selinux is z or Z, not `{value}`")]
    Selinux { value: String },
    #[error("a bind mount's source {path} is not an absolute path once resolved; set HOME or write the path out")]
    Home { path: String },
}

impl MountError {
    pub fn hint(&self) -> &'static str {
        match self {
            MountError::Kind { .. } | MountError::NoSource { .. } => {
                "e.g. {type: volume, source: kafka-1-data, target: /var/lib/kafka/data}"
            }
            MountError::TmpfsOption { .. } | MountError::Size { .. } | MountError::FileMode { .. } => {
                "e.g. tmpfs: /tmp:size=64m,mode=1777"
            }
            _ => "e.g. kafka-1-data:/var/lib/kafka/data, ./config:/etc/kafka/extra:ro or /tmp/scratch",
        }
    }
}

/// Resolves host paths: `~` with `home`, relative ones against `dir` (the compose file's).
pub struct Resolver<'a> {
    pub dir: &'a Path,
    pub home: Option<String>,
}

impl Resolver<'_> {
    fn host_path(&self, source: &str) -> Result<PathBuf, MountError> {
        let joined = if let Some(rest) = source.strip_prefix('~') {
            // Without HOME, `~/x` must not quietly become `/x`.
            let home = self.home.as_deref().ok_or_else(|| MountError::Home {
                path: source.to_string(),
            })?;
            PathBuf::from(format!("{home}{rest}"))
        } else {
            self.dir.join(source)
        };
        let absolute = if joined.is_absolute() {
            joined
        } else {
            std::env::current_dir().unwrap_or_default().join(joined)
        };
        if !absolute.is_absolute() {
            return Err(MountError::Home {
                path: source.to_string(),
            });
        }
        Ok(normalize(&absolute))
    }

    /// One entry of a service's `volumes:`.
    pub fn mount(&self, raw: RawMount) -> Result<Mount, MountError> {
        match raw {
            RawMount::Short(text) => self.short(&text),
            RawMount::Long(long) => self.long(long),
        }
    }

    fn short(&self, text: &str) -> Result<Mount, MountError> {
        let parts: Vec<&str> = text.split(':').collect();
        let (source, target, mode) = match parts.as_slice() {
            [target] => (None, *target, ""),
            [source, target] => (Some(*source), *target, ""),
            [source, target, mode] => (Some(*source), *target, *mode),
            _ => {
                return Err(MountError::Shape {
                    text: text.to_string(),
                })
            }
        };
        let target = absolute_target(target)?;
        let (mut read_only, mut nocopy, mut options) = (false, false, Vec::new());
        for m in mode.split(',').filter(|m| !m.is_empty()) {
            match m {
                "ro" => read_only = true,
                "rw" => read_only = false,
                "nocopy" => nocopy = true,
                "z" | "Z" => options.push(m.to_string()),
                // Docker Desktop's file-sharing hints: no effect on a Linux engine.
                "cached" | "delegated" | "consistent" => {}
                other => {
                    return Err(MountError::Mode {
                        mode: other.to_string(),
                    })
                }
            }
        }
        Ok(match source {
            Some(s) if is_host_path(s) => Mount::Bind {
                source: self.host_path(s)?,
                target,
                read_only,
                options,
            },
            source => Mount::Volume {
                source: source.map(str::to_string),
                target,
                read_only,
                nocopy,
            },
        })
    }

    fn long(&self, m: LongMount) -> Result<Mount, MountError> {
        let target = absolute_target(&m.target)?;
        let read_only = m.read_only.unwrap_or(false);
        match m.kind.as_str() {
            "volume" => Ok(Mount::Volume {
                source: m.source.filter(|s| !s.is_empty()),
                target,
                read_only,
                nocopy: m.volume.and_then(|v| v.nocopy).unwrap_or(false),
            }),
            "bind" => {
                let source = m.source.ok_or(MountError::NoSource { kind: "bind" })?;
                let mut options = Vec::new();
                if let Some(selinux) = m.bind.and_then(|b| b.selinux) {
                    if selinux != "z" && selinux != "Z" {
                        return Err(MountError::Selinux { value: selinux });
                    }
                    options.push(selinux);
                }
                Ok(Mount::Bind {
                    source: self.host_path(&source)?,
                    target,
                    read_only,
                    options,
                })
            }
            "tmpfs" => {
                let t = m.tmpfs;
                let mut options = Vec::new();
                if let Some(size) = t.as_ref().and_then(|t| t.size.as_ref()) {
                    options.push(format!("size={}", bytes(&size.0)?));
                }
                if let Some(mode) = t.as_ref().and_then(|t| t.mode.as_ref()) {
                    options.push(format!("mode={}", file_mode(&mode.0)?));
                }
                Ok(Mount::Tmpfs {
                    target,
                    options: options.join(","),
                })
            }
            other => Err(MountError::Kind {
                kind: other.to_string(),
            }),
        }
    }

    /// One entry of a service's `tmpfs:` (`/path[:size=…,mode=…]`).
    pub fn tmpfs(&self, text: &str) -> Result<Mount, MountError> {
        let (target, opts) = text.split_once(':').unwrap_or((text, ""));
        let target = absolute_target(target)?;
        let mut options = Vec::new();
        for o in opts.split(',').filter(|o| !o.is_empty()) {
            match o.split_once('=') {
                Some(("size", v)) => options.push(format!("size={}", bytes(v)?)),
                Some(("mode", v)) => options.push(format!("mode={}", file_mode(v)?)),
                _ => {
                    return Err(MountError::TmpfsOption {
                        option: o.to_string(),
                    })
                }
            }
        }
        Ok(Mount::Tmpfs {
            target,
            options: options.join(","),
        })
    }
}

/// Compose's rule: a source starting with `.`, `/` or `~` is a host path, else a volume name.
fn is_host_path(source: &str) -> bool {
    source.starts_with('.') || source.starts_with('/') || source.starts_with('~')
}

fn absolute_target(target: &str) -> Result<String, MountError> {
    if target.starts_with('/') {
        Ok(target.to_string())
    } else {
        Err(MountError::RelativeTarget {
            target: target.to_string(),
        })
    }
}

/// `.` and `..` taken out of an absolute path, without touching the file system (the path
/// may be on another engine's host).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// A size as compose writes it (`64m`, `1g`, `1024`, `512kb`) in bytes.
fn bytes(value: &str) -> Result<u64, MountError> {
    let err = || MountError::Size {
        value: value.to_string(),
    };
    let v = value.trim().to_ascii_lowercase();
    let v = v.strip_suffix('b').unwrap_or(&v);
    let (digits, unit) = match v.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => v.split_at(i),
        None => (v, ""),
    };
    let n: u64 = digits.parse().map_err(|_| err())?;
    let factor: u64 = match unit {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        _ => return Err(err()),
    };
    n.checked_mul(factor).ok_or_else(err)
}

fn file_mode(value: &str) -> Result<String, MountError> {
    let v = value.trim();
    if !v.is_empty() && v.len() <= 4 && v.chars().all(|c| ('0'..='7').contains(&c)) {
        Ok(v.to_string())
    } else {
        Err(MountError::FileMode {
            value: value.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolver() -> Resolver<'static> {
        Resolver {
            dir: Path::new("/work/cluster"),
            home: Some("/home/me".into()),
        }
    }

    fn short(text: &str) -> Result<Mount, MountError> {
        resolver().mount(RawMount::Short(text.into()))
    }

    #[test]
    fn short_forms_as_compose_reads_them() {
        assert_eq!(
            short("kafka-1-data:/var/lib/kafka/data").unwrap(),
            Mount::Volume {
                source: Some("kafka-1-data".into()),
                target: "/var/lib/kafka/data".into(),
                read_only: false,
                nocopy: false
            }
        );
        assert_eq!(
            short("/var/lib/kafka/data").unwrap(),
            Mount::Volume {
                source: None,
                target: "/var/lib/kafka/data".into(),
                read_only: false,
                nocopy: false
            }
        );
        assert_eq!(
            short("./config/../secrets:/etc/kafka/secrets:ro,z").unwrap(),
            Mount::Bind {
                source: "/work/cluster/secrets".into(),
                target: "/etc/kafka/secrets".into(),
                read_only: true,
                options: vec!["z".into()]
            }
        );
        assert!(matches!(
            short("~/kafka:/data").unwrap(),
            Mount::Bind { source, .. } if source == Path::new("/home/me/kafka")
        ));
        assert!(matches!(
            short("/abs:/data:cached").unwrap(),
            Mount::Bind { source, read_only: false, .. } if source == Path::new("/abs")
        ));
    }

    #[test]
    fn bad_short_forms_say_what_is_wrong() {
        assert_eq!(
            short("data:relative").unwrap_err(),
            MountError::RelativeTarget {
                target: "relative".into()
            }
        );
        assert_eq!(
            short("data:/d:rx").unwrap_err(),
            MountError::Mode { mode: "rx".into() }
        );
        assert!(matches!(short("a:/b:ro:x"), Err(MountError::Shape { .. })));
        let homeless = Resolver {
            dir: Path::new("/work"),
            home: None,
        };
        assert!(matches!(
            homeless.mount(RawMount::Short("~/kafka:/data".into())),
            Err(MountError::Home { .. })
        ));
    }

    #[test]
    fn tmpfs_sizes_and_modes() {
        assert_eq!(
            resolver().tmpfs("/tmp:size=64m,mode=1777").unwrap(),
            Mount::Tmpfs {
                target: "/tmp".into(),
                options: "size=67108864,mode=1777".into()
            }
        );
        assert!(matches!(
            resolver().tmpfs("/tmp:uid=1000"),
            Err(MountError::TmpfsOption { .. })
        ));
        assert!(matches!(
            resolver().tmpfs("/tmp:size=lots"),
            Err(MountError::Size { .. })
        ));
        assert_eq!(bytes("512kb").unwrap(), 512 * 1024);
        assert_eq!(bytes("1G").unwrap(), 1 << 30);
    }
}
