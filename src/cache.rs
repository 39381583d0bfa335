//! Where chaos keeps what it builds or installs once (image build contexts, the Java client):
//! `$CHAOS_CACHE_DIR`, else `$XDG_CACHE_HOME/chaos`, else `~/.cache/chaos` — the same rule as
//! the scripts that fill it.

use std::path::PathBuf;

pub fn cache_dir() -> PathBuf {
    std::env::var_os("CHAOS_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").map(|d| PathBuf::from(d).join("chaos")))
        .or_else(|| std::env::var_os("HOME").map(|d| PathBuf::from(d).join(".cache/chaos")))
        .unwrap_or_else(|| PathBuf::from("/tmp/chaos-cache"))
}
