#!/usr/bin/env bash
# A release artifact, so a user need not build from source:
#   dist/chaos-<version>-<target triple>.tar.gz
# holding the binary, shell completions (bash, zsh, fish), the man page, LICENSE, README.md,
# CHANGELOG.md and docs/ (the pages README.md links to), plus a .sha256 beside it.
# The version comes from Cargo.toml, the target triple from `rustc -vV` (the host's: the build
# is native). Needs the build prerequisites listed in docs/install.md (make, g++, libssl-dev,
# pkg-config); no Docker, no cluster.
# Usage: scripts/release.sh
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[release] %s\n' "$*" >&2; }

# The [package] table's version (dependencies' `version = …` are inline tables, never at the
# start of a line, but only [package] is read to be sure).
version=$(awk -F'"' '/^\[/ { in_package = ($0 == "[package]") } in_package && /^version *=/ { print $2; exit }' Cargo.toml)
triple=$(rustc -vV | sed -n 's/^host: //p')
if [ -z "$version" ] || [ -z "$triple" ]; then
  log "could not read the version from Cargo.toml ('$version') or the host triple from rustc -vV ('$triple')"
  exit 1
fi
name="chaos-${version}-${triple}"

log "building $name (cargo build --release --locked --bins)"
cargo build --release --locked --bins
bin="${CARGO_TARGET_DIR:-target}/release/chaos"
[ -x "$bin" ] || { log "no binary at $bin after the build"; exit 1; }

stage="dist/$name"
rm -rf "$stage" "dist/$name.tar.gz" "dist/$name.tar.gz.sha256"
mkdir -p "$stage/completions" "$stage/man/man1"

cp "$bin" "$stage/chaos"
# The file names each shell looks for when the file is installed in its completion directory.
"$bin" completions bash > "$stage/completions/chaos.bash"
"$bin" completions zsh > "$stage/completions/_chaos"
"$bin" completions fish > "$stage/completions/chaos.fish"
"$bin" man --dir "$stage/man/man1" >/dev/null   # chaos.1 and a page per subcommand
cp LICENSE README.md CHANGELOG.md "$stage/"
cp -R docs "$stage/docs"

# Sorted names, no owner, the commit's time on every file, no gzip timestamp: the same
# inputs pack to the same bytes.
mtime=$(git log -1 --format=%cI 2>/dev/null || date -u +%Y-%m-%dT%H:%M:%SZ)
tar -C dist --sort=name --owner=0 --group=0 --numeric-owner --mtime="$mtime" -cf - "$name" \
  | gzip -n -9 > "dist/$name.tar.gz"
(cd dist && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256")
rm -rf "$stage"

log "dist/$name.tar.gz"
cat "dist/$name.tar.gz.sha256"
