#!/usr/bin/env bash
# The test command: on a fresh Debian machine it installs the Docker engine and the build tools
# (scripts/install-docker.sh), builds the images (no registry needed), then runs every test —
# unit tests, the bad-input corpus, and the real-cluster tests (ZooKeeper and KRaft).
# Real-cluster tests fail (never skip) when Docker is not reachable.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then scripts/install-docker.sh; else sudo scripts/install-docker.sh; fi
cargo build --locked --bins
target/debug/chaos images build
status=0
cargo test --locked --no-fail-fast "$@" || status=$?
# Real-cluster tests keep one cluster running for each other (reuse); remove it now.
target/debug/chaos clean --all >/dev/null 2>&1 || true
exit $status
