#!/usr/bin/env bash
# The multi-host experiments on three test hosts, from nothing: Docker engine and build tools,
# the chaos binary, our images, three Docker engines in containers (scripts/nodes.sh: test
# infrastructure, they need nearly every capability), then experiments/multi-node/ across
# them (a leader kill, a crash of the leader's host, a partition of the controller's host).
# Extra arguments go to `chaos run`. `scripts/nodes.sh down` removes the test hosts.
# For real hosts: write a nodes file naming each host's engine and address (docs/multi-host.md)
# and run `chaos run --nodes that-file experiments/multi-node/`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then scripts/install-docker.sh; else sudo scripts/install-docker.sh; fi
cargo build --release --locked --bins
target/release/chaos images build >/dev/null
scripts/nodes.sh up
exec target/release/chaos run --nodes nodes/test-nodes.yaml experiments/multi-node/ "$@"
