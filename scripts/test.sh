#!/usr/bin/env bash
# The test command: on a fresh Debian machine it installs the Docker engine and the build tools
# (scripts/install-docker.sh), builds the images (no registry needed), then runs every test —
# unit tests, the bad-input corpus, golden files, the real-cluster tests (ZooKeeper and KRaft),
# a cluster over three Docker hosts (scripts/nodes.sh: engines in containers, test infrastructure),
# the web view in a real browser (headless Chromium),
# then a short fuzz run of the parsers.
# Real-cluster tests fail (never skip) when Docker is not reachable.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" -eq 0 ]; then scripts/install-docker.sh; else sudo scripts/install-docker.sh; fi
# The web view's browser tests (tests/serve_browser.rs) drive Debian's headless Chromium.
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
  sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_=sudo
  $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-dejavu-core >/dev/null
fi
cargo build --locked --bins
target/debug/chaos images build
status=0
log=$(mktemp)
cargo test --locked --no-fail-fast "$@" 2>&1 | tee "$log" || status=$?
# One closing line over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
rm -f "$log"
# A short fuzz run of the experiment and compose parsers (cargo-fuzz, nightly; 60 s each).
FUZZ_SECONDS="${FUZZ_SECONDS:-60}" scripts/fuzz.sh || status=1
# Real-cluster tests keep one cluster running for each other (reuse); remove it now.
target/debug/chaos clean --all >/dev/null 2>&1 || true
exit $status
