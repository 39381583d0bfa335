#!/usr/bin/env bash
# The main job on a fresh Debian machine: Docker engine and build tools, the chaos binary,
# images built locally on first use, then the seed experiment end to end (kill the leader of
# a partition on the seed's ZooKeeper + 3-broker cluster; failover, ISR and loss report).
# Extra arguments go to `chaos run` (e.g. --keep to leave the cluster up).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then scripts/install-docker.sh; else sudo scripts/install-docker.sh; fi
cargo build --release --locked --bins
exec target/release/chaos run experiments/leader-kill.yaml "$@"
