#!/usr/bin/env bash
# Builds the Kubernetes binaries this project's test cluster runs, offline, from the Go module
# proxy (no release download can be reached here). Idempotent: a binary already built for the
# pinned versions is kept. Output: $CHAOS_K8S_CACHE/bin (default ~/.cache/chaos/k8s/bin).
#
# Why a wrapper module: `go install k8s.io/kubernetes/cmd/kubelet@v1.34.4` is refused because
# kubernetes' go.mod replaces its staging modules with ./staging paths. A module that requires
# k8s.io/kubernetes and replaces every staging module by its published v0.<minor>.<patch> builds.
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-v1.34.4}
STAGING_VERSION=v0.${K8S_VERSION#v1.}
ETCD_VERSION=${ETCD_VERSION:-v3.6.17}
COREDNS_VERSION=${COREDNS_VERSION:-v1.14.7}
CACHE=${CHAOS_K8S_CACHE:-$HOME/.cache/chaos/k8s}
BIN=$CACHE/bin
STAMP=$BIN/.versions
WANT="kubernetes=$K8S_VERSION etcd=$ETCD_VERSION coredns=$COREDNS_VERSION"
KUBE_CMDS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

if [[ -f $STAMP && "$(cat "$STAMP")" == "$WANT" ]]; then
  echo "k8s build: cached in $BIN ($WANT)"
  exit 0
fi
mkdir -p "$BIN"
started=$(date +%s)
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false

# --- Kubernetes -----------------------------------------------------------------------------
work=$CACHE/src/kubernetes
mkdir -p "$work"
cd "$work"
cat > go.mod <<MOD
module chaos.local/k8sbuild

go 1.24.0

require k8s.io/kubernetes $K8S_VERSION
MOD
go mod download k8s.io/kubernetes@"$K8S_VERSION"
upstream_mod=$(go mod download -json k8s.io/kubernetes@"$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')
{
  echo
  echo "replace ("
  grep -E '=> \./staging/src/' "$upstream_mod" | awk -v v="$STAGING_VERSION" '{print "\t" $1 " => " $1 " " v}'
  echo ")"
} >> go.mod
{
  echo "//go:build tools"
  echo
  echo "package tools"
  echo
  echo "import ("
  for c in "${KUBE_CMDS[@]}"; do echo "	_ \"k8s.io/kubernetes/cmd/$c\""; done
  echo ")"
} > tools.go
go mod tidy >/dev/null
for c in "${KUBE_CMDS[@]}"; do
  t0=$(date +%s)
  go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "${K8S_VERSION#v1.}" | cut -d. -f1)" \
    -o "$BIN/$c" "k8s.io/kubernetes/cmd/$c"
  echo "k8s build: $c in $(( $(date +%s) - t0 )) s"
done

# --- etcd -----------------------------------------------------------------------------------
work=$CACHE/src/etcd
mkdir -p "$work"
cd "$work"
cat > go.mod <<MOD
module chaos.local/etcdbuild

go 1.24.0
MOD
cat > main.go <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
go get go.etcd.io/etcd/server/v3@"$ETCD_VERSION" >/dev/null
go mod tidy >/dev/null
go build -trimpath -ldflags "-s -w" -o "$BIN/etcd" .
echo "k8s build: etcd $ETCD_VERSION"

# --- CoreDNS (cluster DNS, so StatefulSet pods resolve each other by name) -------------------
work=$CACHE/src/coredns
mkdir -p "$work"
cd "$work"
GOBIN=$BIN go install "github.com/coredns/coredns@$COREDNS_VERSION"
echo "k8s build: coredns $COREDNS_VERSION"

echo "$WANT" > "$STAMP"
echo "k8s build: done in $(( $(date +%s) - started )) s"
