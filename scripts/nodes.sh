#!/usr/bin/env bash
# Test infrastructure for experiments across several Docker engines (issue 14): N "nodes",
# each a Docker engine running in a container on this host's engine, built from the project's
# own image build (Debian + docker.io via mmdebstrap; no registry). The product never starts a
# container like these on a user's host: they need most capabilities (see below).
#
#   scripts/nodes.sh up [N]     build chaos/node if needed, start N nodes (default 3), load our
#                               images into each, print each node's engine address
#   scripts/nodes.sh down       remove the nodes, their volumes and network
#   scripts/nodes.sh status     the nodes and what runs on each
#
# Measured here: `--privileged` fails (the capability bounding set lacks CAP_SYS_RESOURCE);
# every capability but that one, no seccomp/apparmor confinement, unmasked /proc and /sys, the
# host's cgroup tree (v1) and a volume on /var/lib/docker run dockerd 20.10 with overlay2.
# Each inner engine gets its own bridge and address pool (10.21N.0.0/16, bridge 10.22N.0.1/24)
# so nothing overlaps this host's 172.17/16. The nodes sit on one network of their own
# (10.250.0.0/24, node N at 10.250.0.1N); nodes 1 and 2 listen on tcp://10.250.0.1N:2375
# without TLS, node 3 on tcp://10.250.0.13:2376 with TLS (dockerd --tlsverify; a CA, its
# certificate and a client certificate made here with openssl in nodes/tls/), so both ways
# of reaching an engine are exercised — reachable from this host and the other nodes only,
# test infrastructure only. Images are loaded through each node's own socket (docker exec).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=chaos/node:bookworm
NETWORK=chaos-nodes
LABEL=chaos.test-infra=nodes
log() { printf '[nodes] %s\n' "$*" >&2; }

mirror() {
  if [ -n "${CHAOS_DEBIAN_MIRROR:-}" ]; then echo "$CHAOS_DEBIAN_MIRROR"; return; fi
  local uri
  uri=$(awk '/^URIs:/ && !/security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '/^deb / && !/security/ {for (i=1;i<=NF;i++) if ($i ~ /^http/) {print $i; exit}}' /etc/apt/sources.list 2>/dev/null || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

build_image() {
  if docker image inspect "$IMAGE" >/dev/null 2>&1; then return; fi
  local work; work=$(mktemp -d)
  log "building $IMAGE: mmdebstrap bookworm + docker.io from $(mirror) (~1 min)"
  mmdebstrap --variant=apt --include=docker.io,iptables,ca-certificates,procps,iproute2,curl \
    bookworm "$work/rootfs.tar" "$(mirror)" >/dev/null 2>"$work/log" || { tail -20 "$work/log"; exit 1; }
  docker import --change "LABEL $LABEL" \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$work/rootfs.tar" "$IMAGE" >/dev/null
  rm -rf "$work"
}

address() { echo "10.250.0.1$1"; }
# Node 3 speaks TLS only.
tls_node() { [ "$1" = 3 ]; }
engine() { if tls_node "$1"; then echo "tcp://$(address "$1"):2376"; else echo "tcp://$(address "$1"):2375"; fi; }

TLS_DIR=nodes/tls
make_certs() {
  [ -s "$TLS_DIR/cert.pem" ] && [ -s "$TLS_DIR/server-cert.pem" ] && return
  mkdir -p "$TLS_DIR"
  log "making a CA, node 3's certificate and a client certificate in $TLS_DIR"
  (
    cd "$TLS_DIR"
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=chaos-test-ca \
      -keyout ca-key.pem -out ca.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj /CN=chaos-node-3 -keyout server-key.pem -out server.csr 2>/dev/null
    printf 'subjectAltName=IP:%s,DNS:node3\nextendedKeyUsage=serverAuth\n' "$(address 3)" >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 30 \
      -extfile server.ext -out server-cert.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj /CN=chaos-harness -keyout key.pem -out client.csr 2>/dev/null
    printf 'extendedKeyUsage=clientAuth\n' >client.ext
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 30 \
      -extfile client.ext -out cert.pem 2>/dev/null
    rm -f ./*.csr ./*.ext ca.srl
    chmod 644 ./*.pem
  )
}

up() {
  local n=${1:-3}
  build_image
  make_certs
  docker network inspect "$NETWORK" >/dev/null 2>&1 ||
    docker network create --label "$LABEL" --subnet 10.250.0.0/24 "$NETWORK" >/dev/null
  for i in $(seq 1 "$n"); do
    local name=chaos-node-$i
    local listen=(--host=tcp://0.0.0.0:2375) tls_label=plain
    if tls_node "$i"; then
      listen=(--host=tcp://0.0.0.0:2376 --tlsverify --tlscacert=/tls/ca.pem
        --tlscert=/tls/server-cert.pem --tlskey=/tls/server-key.pem)
      tls_label=tls
    fi
    if [ "$(docker inspect -f '{{.State.Running}} {{index .Config.Labels "chaos.node-engine"}}' "$name" 2>/dev/null)" = "true $tls_label" ]; then continue; fi
    docker rm -f "$name" >/dev/null 2>&1 || true
    log "starting $name at $(engine "$i")"
    docker run -d --name "$name" --hostname "node$i" --label "$LABEL" --label "chaos.node-engine=$tls_label" \
      --network "$NETWORK" --ip "$(address "$i")" \
      --cap-add ALL --cap-drop SYS_RESOURCE \
      --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
      --security-opt systempaths=unconfined \
      -v /sys/fs/cgroup:/sys/fs/cgroup:rw --cgroupns host \
      -v "chaos-node-$i-docker:/var/lib/docker" -v "$PWD/$TLS_DIR:/tls:ro" \
      "$IMAGE" dockerd "${listen[@]}" --host=unix:///var/run/docker.sock \
      --bip "10.22$i.0.1/24" --default-address-pool "base=10.21$i.0.0/16,size=24" \
      --storage-driver overlay2 >/dev/null
  done
  for i in $(seq 1 "$n"); do
    local waited=0
    until docker exec "chaos-node-$i" docker version >/dev/null 2>&1; do
      waited=$((waited + 1))
      if [ "$waited" -gt 60 ]; then
        log "chaos-node-$i: the engine did not answer within 60 s"; docker logs --tail 30 "chaos-node-$i" >&2; exit 1
      fi
      sleep 1
    done
    # Our images, streamed into each engine (no registry): only those it lacks or has older.
    for image in chaos/base:bookworm-jre17 chaos/kafka:3.9.1; do
      docker image inspect "$image" >/dev/null 2>&1 || continue
      local want have
      want=$(docker image inspect -f '{{.Id}}' "$image")
      have=$(docker exec "chaos-node-$i" docker image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
      if [ "$want" != "$have" ]; then
        log "loading $image into chaos-node-$i"
        docker save "$image" | docker exec -i "chaos-node-$i" docker load >/dev/null
      fi
    done
    echo "node$i $(engine "$i")"
  done
}

down() {
  docker ps -aq --filter "label=$LABEL" | xargs -r docker rm -f >/dev/null
  docker volume ls -q --filter "name=chaos-node-" | xargs -r docker volume rm >/dev/null
  docker network rm "$NETWORK" >/dev/null 2>&1 || true
  log "nodes removed"
}

status() {
  for name in $(docker ps --filter "label=$LABEL" --format '{{.Names}}' | sort); do
    local i=${name##*-}
    echo "== $name $(engine "$i")"
    docker exec "$name" docker ps --format '  {{.Names}} {{.Status}}' || true
  done
}

case "${1:-}" in
  up) shift; up "$@" ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up [N] | down | status" >&2; exit 2 ;;
esac
