#!/usr/bin/env bash
# Builds Docker's registry (distribution/v3 v3.1.2, tools/registry: a main around
# registry.RootCmd, modules from the Go module proxy) into
#   ${CHAOS_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/chaos}/registry/registry
# for the tests of pulling images (tests/images_pull.rs starts it on a port of its own).
# Usage: scripts/registry.sh        Idempotent (~45 s the first time, then nothing). Needs go.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${CHAOS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/chaos}/registry
stamp=$(cat tools/registry/go.mod tools/registry/go.sum tools/registry/main.go | sha256sum | cut -c1-16)
if [ -x "$out/registry" ] && [ "$(cat "$out/stamp" 2>/dev/null)" = "$stamp" ]; then
  exit 0
fi
command -v go >/dev/null || { echo "[registry] needs go (https://go.dev/dl, or Debian's golang)" >&2; exit 1; }
echo "[registry] building distribution/v3 (Docker's registry) from the Go module proxy" >&2
mkdir -p "$out"
(cd tools/registry && go build -trimpath -o "$out/registry" .)
echo "$stamp" > "$out/stamp"
echo "[registry] $out/registry" >&2
