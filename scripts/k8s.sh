#!/usr/bin/env bash
# A real Kubernetes (v1.34) as test infrastructure, built and started offline (issue 23):
# a control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, CoreDNS) in
# one container and N nodes, each a container running containerd + kubelet + kube-proxy, on a
# Docker network of their own. Nothing is pulled: the binaries are built from the Go module
# proxy (scripts/k8s/build.sh, cached), the pause image is a static Go program built here, and
# our Kafka images are imported into every node's containerd (pods use imagePullPolicy: Never).
#
#   scripts/k8s.sh up [N]     build what is missing, start the control plane and N nodes
#                             (default 3), import the images, wait until every node is Ready
#   scripts/k8s.sh down       remove the containers, their volumes and the network
#   scripts/k8s.sh status     nodes and pods
#   scripts/k8s.sh deploy [seed|kraft]    apply k8s/<name>.yaml and k8s/rbac.yaml in namespace
#                             chaos, wait until its pods are Ready (undeploy removes it)
#   scripts/k8s.sh kubectl …  kubectl with this cluster's kubeconfig
#
# Layout (test infrastructure only; never started on a user's host: nodes need most
# capabilities, as scripts/nodes.sh's engines do):
#   network chaos-k8s 10.251.0.0/24; control plane 10.251.0.10 (API on 127.0.0.1:6443 too);
#   node N at 10.251.0.1N with pod subnet 10.244.N.0/24 (CNI bridge + host-local IPAM), static
#   routes between the nodes' pod subnets (what a flat pod network gives), services
#   10.96.0.0/16 (kube-proxy, iptables mode), cluster DNS at 10.251.0.10 (CoreDNS, the
#   kubernetes plugin: StatefulSet pods resolve each other by name as in users' clusters).
# The kubeconfig for the harness: $CHAOS_K8S_CACHE/kubeconfig (default ~/.cache/chaos/k8s).
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=${CHAOS_K8S_CACHE:-$HOME/.cache/chaos/k8s}
BIN=$CACHE/bin
PKI=$CACHE/pki
IMAGE=chaos/k8s-node:bookworm
PAUSE_IMAGE=chaos/pause:3.10
NETWORK=chaos-k8s
LABEL=chaos.test-infra=k8s
CONTROL=chaos-k8s-control
CONTROL_IP=10.251.0.10
# Our Kafka images, and the base image the harness's network helper (ephemeral container) runs.
KAFKA_IMAGES=${CHAOS_K8S_IMAGES:-chaos/kafka:3.9.1 chaos/kafka:4.1.1 chaos/base:bookworm-jre17}
export KUBECONFIG=$CACHE/kubeconfig
log() { printf '[k8s] %s\n' "$*" >&2; }

node_ip() { echo "10.251.0.1$1"; }
node_name() { echo "chaos-k8s-node-$1"; }

mirror() {
  if [ -n "${CHAOS_DEBIAN_MIRROR:-}" ]; then echo "$CHAOS_DEBIAN_MIRROR"; return; fi
  local uri
  uri=$(awk '/^URIs:/ && !/security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '/^deb / && !/security/ {for (i=1;i<=NF;i++) if ($i ~ /^http/) {print $i; exit}}' /etc/apt/sources.list 2>/dev/null || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

build_node_image() {
  if docker image inspect "$IMAGE" >/dev/null 2>&1; then return; fi
  local work; work=$(mktemp -d)
  log "building $IMAGE: mmdebstrap bookworm + containerd, runc, CNI plugins from $(mirror) (~1 min)"
  mmdebstrap --variant=apt \
    --include=containerd,runc,containernetworking-plugins,iptables,iproute2,conntrack,ethtool,socat,util-linux,mount,procps,kmod,ca-certificates,curl \
    bookworm "$work/rootfs.tar" "$(mirror)" >/dev/null 2>"$work/log" || { tail -20 "$work/log"; exit 1; }
  docker import --change "LABEL $LABEL" \
    --change 'ENV PATH=/opt/k8s/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$work/rootfs.tar" "$IMAGE" >/dev/null
  rm -rf "$work"
}

# The sandbox ("pause") image every pod starts with: a static program that reaps children and
# waits for a signal, built here (no registry to pull registry.k8s.io/pause from).
build_pause_image() {
  if [ -s "$CACHE/pause.tar" ]; then return; fi
  local work; work=$(mktemp -d)
  cat > "$work/main.go" <<'GO'
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for s := range sigs {
		if s == syscall.SIGCHLD {
			for {
				var ws syscall.WaitStatus
				if pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil); pid <= 0 || err != nil {
					break
				}
			}
			continue
		}
		os.Exit(0)
	}
}
GO
  printf 'module pause\n\ngo 1.24\n' > "$work/go.mod"
  (cd "$work" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o pause .)
  printf 'FROM scratch\nCOPY pause /pause\nENTRYPOINT ["/pause"]\n' > "$work/Dockerfile"
  docker build -q -t "$PAUSE_IMAGE" "$work" >/dev/null
  docker save "$PAUSE_IMAGE" -o "$CACHE/pause.tar"
  rm -rf "$work"
}

# --- certificates -------------------------------------------------------------------------
cert() { # name CN O [SANs]
  local name=$1 cn=$2 o=$3 sans=${4:-}
  [ -s "$PKI/$name.crt" ] && return
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$cn${o:+/O=$o}" -keyout "$PKI/$name.key" -out "$PKI/$name.csr" 2>/dev/null
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=digitalSignature,keyEncipherment"
    if [ -n "$sans" ]; then echo "extendedKeyUsage=serverAuth,clientAuth"; echo "subjectAltName=$sans"
    else echo "extendedKeyUsage=clientAuth"; fi
  } > "$PKI/$name.ext"
  openssl x509 -req -in "$PKI/$name.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial \
    -days 365 -extfile "$PKI/$name.ext" -out "$PKI/$name.crt" 2>/dev/null
  rm -f "$PKI/$name.csr" "$PKI/$name.ext"
}

kubeconfig() { # file user server
  local file=$1 user=$2 server=$3
  cat > "$file" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: chaos-k8s
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 < "$PKI/ca.crt")
users:
- name: $user
  user:
    client-certificate-data: $(base64 -w0 < "$PKI/$user.crt")
    client-key-data: $(base64 -w0 < "$PKI/$user.key")
contexts:
- name: chaos-k8s
  context: {cluster: chaos-k8s, user: $user, namespace: chaos}
current-context: chaos-k8s
EOF
}

make_pki() {
  local n=$1
  mkdir -p "$PKI"
  if [ ! -s "$PKI/ca.crt" ]; then
    log "making a CA and the cluster's certificates in $PKI"
    openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj /CN=chaos-k8s-ca \
      -keyout "$PKI/ca.key" -out "$PKI/ca.crt" 2>/dev/null
    openssl genrsa -out "$PKI/sa.key" 2048 2>/dev/null
    openssl rsa -in "$PKI/sa.key" -pubout -out "$PKI/sa.pub" 2>/dev/null
  fi
  cert apiserver kube-apiserver "" \
    "IP:127.0.0.1,IP:$CONTROL_IP,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  cert admin chaos-admin system:masters
  cert controller-manager system:kube-controller-manager ""
  cert scheduler system:kube-scheduler ""
  cert kube-proxy system:kube-proxy ""
  local i
  for i in $(seq 1 "$n"); do cert "node-$i" "system:node:$(node_name "$i")" system:nodes; done
  kubeconfig "$CACHE/kubeconfig" admin "https://127.0.0.1:6443"
  # Users with no rights but the Role of k8s/rbac.yaml (bound to user `chaos`), and one with a
  # verb missing (the tests' "forbidden" case): what a user grants, not cluster-admin.
  cert chaos chaos ""
  cert chaos-limited chaos-limited ""
  kubeconfig "$CACHE/chaos.kubeconfig" chaos "https://127.0.0.1:6443"
  kubeconfig "$CACHE/chaos-limited.kubeconfig" chaos-limited "https://127.0.0.1:6443"
  local inside=$CACHE/inside; mkdir -p "$inside"
  kubeconfig "$inside/admin.kubeconfig" admin "https://$CONTROL_IP:6443"
  kubeconfig "$inside/controller-manager.kubeconfig" controller-manager "https://$CONTROL_IP:6443"
  kubeconfig "$inside/scheduler.kubeconfig" scheduler "https://$CONTROL_IP:6443"
  kubeconfig "$inside/kube-proxy.kubeconfig" kube-proxy "https://$CONTROL_IP:6443"
  for i in $(seq 1 "$n"); do kubeconfig "$inside/node-$i.kubeconfig" "node-$i" "https://$CONTROL_IP:6443"; done
  chmod -R go-rwx "$PKI" "$inside"
}

# --- the control plane ----------------------------------------------------------------------
control_script() {
  cat <<'EOF'
#!/bin/bash
# PID 1 of the control-plane container: every component in the background, the container
# ends (and says which) when any of them does.
set -u
P=/etc/k8s/pki; K=/etc/k8s/inside; L=/var/log/k8s; mkdir -p $L /var/lib/etcd
etcd --data-dir /var/lib/etcd --listen-client-urls http://127.0.0.1:2379 \
  --advertise-client-urls http://127.0.0.1:2379 --listen-peer-urls http://127.0.0.1:2380 \
  --quota-backend-bytes 1073741824 >$L/etcd.log 2>&1 &
kube-apiserver --etcd-servers http://127.0.0.1:2379 --advertise-address 10.251.0.10 \
  --bind-address 0.0.0.0 --secure-port 6443 --service-cluster-ip-range 10.96.0.0/16 \
  --tls-cert-file $P/apiserver.crt --tls-private-key-file $P/apiserver.key --client-ca-file $P/ca.crt \
  --kubelet-client-certificate $P/admin.crt --kubelet-client-key $P/admin.key \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file $P/sa.pub --service-account-signing-key-file $P/sa.key \
  --authorization-mode Node,RBAC --enable-admission-plugins NodeRestriction \
  --allow-privileged=true --v 1 >$L/apiserver.log 2>&1 &
apiserver=$!
until curl -sk --cacert $P/ca.crt https://127.0.0.1:6443/readyz >/dev/null 2>&1 \
      && [ "$(curl -sk https://127.0.0.1:6443/readyz --cert $P/admin.crt --key $P/admin.key)" = ok ]; do
  kill -0 $apiserver 2>/dev/null || { echo "kube-apiserver exited:" >&2; tail -5 $L/apiserver.log >&2; exit 1; }
  sleep 0.5
done
kube-controller-manager --kubeconfig $K/controller-manager.kubeconfig \
  --authentication-kubeconfig $K/controller-manager.kubeconfig --authorization-kubeconfig $K/controller-manager.kubeconfig \
  --service-account-private-key-file $P/sa.key --root-ca-file $P/ca.crt --use-service-account-credentials \
  --cluster-signing-cert-file $P/ca.crt --cluster-signing-key-file $P/ca.key \
  --allocate-node-cidrs=false --leader-elect=false --v 1 >$L/controller-manager.log 2>&1 &
kube-scheduler --kubeconfig $K/scheduler.kubeconfig --authentication-kubeconfig $K/scheduler.kubeconfig \
  --authorization-kubeconfig $K/scheduler.kubeconfig --leader-elect=false --v 1 >$L/scheduler.log 2>&1 &
cat > /etc/k8s/Corefile <<'CORE'
.:53 {
    errors
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig /etc/k8s/inside/admin.kubeconfig chaos-k8s
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 5
}
CORE
coredns -conf /etc/k8s/Corefile >$L/coredns.log 2>&1 &
wait -n
echo "a control-plane component exited; logs in $L" >&2
exit 1
EOF
}

start_control() {
  if docker container inspect "$CONTROL" >/dev/null 2>&1; then return; fi
  control_script > "$CACHE/control.sh"; chmod +x "$CACHE/control.sh"
  log "starting the control plane ($CONTROL, API on 127.0.0.1:6443)"
  docker run -d --name "$CONTROL" --hostname control --label "$LABEL" \
    --network "$NETWORK" --ip "$CONTROL_IP" -p 127.0.0.1:6443:6443 \
    -v "$BIN:/opt/k8s/bin:ro" -v "$PKI:/etc/k8s/pki:ro" -v "$CACHE/inside:/etc/k8s/inside:ro" \
    -v "$CACHE/control.sh:/control.sh:ro" -v chaos-k8s-etcd:/var/lib/etcd \
    --cap-add NET_ADMIN "$IMAGE" /control.sh >/dev/null
}

# --- the nodes ------------------------------------------------------------------------------
node_script() {
  cat <<'EOF'
#!/bin/bash
# PID 1 of a node container: containerd, kubelet and kube-proxy, as on a host.
set -u
N=$NODE_INDEX; NAME=$NODE_NAME; IP=$NODE_IP; L=/var/log/k8s; mkdir -p $L /etc/cni/net.d /var/lib/kubelet
# What the kubelet expects of a host (kind does the same in its node image).
[ -e /dev/kmsg ] || ln -s /dev/null /dev/kmsg
mount --make-rshared /
sysctl -qw net.ipv4.ip_forward=1 2>/dev/null || true
mkdir -p /etc/containerd
cat > /etc/containerd/config.toml <<TOML
version = 2
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/chaos/pause:3.10"
  # The node lacks CAP_SYS_RESOURCE (--privileged fails here), and lowering a process's
  # oom_score_adj needs it: runc's init dies ("can't get final child's PID from pipe")
  # unless containerd keeps the adjustment at or above its own, as in rootless setups.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "/etc/cni/net.d"
TOML
cat > /etc/cni/net.d/10-chaos.conflist <<JSON
{"cniVersion": "0.4.0", "name": "chaos-pods", "plugins": [
  {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.$N.0/24"}]],
            "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}
]}
JSON
# Pod subnets of the other nodes, through their node (a flat pod network without an overlay).
for peer in $PEERS; do ip route replace 10.244.$peer.0/24 via 10.251.0.1$peer; done
containerd >$L/containerd.log 2>&1 &
until ctr version >/dev/null 2>&1; do sleep 0.2; done
ctr -n k8s.io images import /images/pause.tar >/dev/null
printf 'nameserver 10.251.0.10\n' > /etc/k8s-resolv.conf
cat > /var/lib/kubelet/config.yaml <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: /etc/k8s/pki/ca.crt}
authorization: {mode: AlwaysAllow}
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
failCgroupV1: false
clusterDNS: [10.251.0.10]
clusterDomain: cluster.local
containerRuntimeEndpoint: unix:///run/containerd/containerd.sock
resolvConf: /etc/k8s-resolv.conf
podCIDR: 10.244.$N.0/24
localStorageCapacityIsolation: false
evictionHard: {memory.available: "0%", nodefs.available: "0%", imagefs.available: "0%"}
imageGCHighThresholdPercent: 100
serializeImagePulls: false
nodeStatusReportFrequency: 10s
YAML
kubelet --config /var/lib/kubelet/config.yaml --kubeconfig /etc/k8s/inside/node-$N.kubeconfig \
  --hostname-override $NAME --node-ip $IP --v 1 >$L/kubelet.log 2>&1 &
cat > /var/lib/kube-proxy.yaml <<YAML
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: /etc/k8s/inside/kube-proxy.kubeconfig}
mode: iptables
clusterCIDR: 10.244.0.0/16
hostnameOverride: $NAME
conntrack: {maxPerCore: 0}
YAML
kube-proxy --config /var/lib/kube-proxy.yaml --v 1 >$L/kube-proxy.log 2>&1 &
wait -n
echo "a node component exited; logs in $L" >&2
exit 1
EOF
}

start_node() {
  local i=$1 n=$2 name; name=$(node_name "$i")
  if docker container inspect "$name" >/dev/null 2>&1; then return; fi
  local peers="" j
  for j in $(seq 1 "$n"); do [ "$j" = "$i" ] || peers="$peers $j"; done
  log "starting node $name ($(node_ip "$i"), pods 10.244.$i.0/24)"
  # As scripts/nodes.sh: every capability but SYS_RESOURCE (--privileged fails here), no
  # seccomp/apparmor, unmasked /proc and /sys, the host's cgroup tree, a volume for
  # containerd's overlay snapshots (overlay on overlay does not mount).
  docker run -d --name "$name" --hostname "$name" --label "$LABEL" \
    --network "$NETWORK" --ip "$(node_ip "$i")" \
    --cap-add ALL --cap-drop SYS_RESOURCE --security-opt seccomp=unconfined \
    --security-opt apparmor=unconfined --security-opt systempaths=unconfined --cgroupns host \
    -v /sys/fs/cgroup:/sys/fs/cgroup:rw --tmpfs /run --tmpfs /tmp -v /lib/modules:/lib/modules:ro \
    -v "chaos-k8s-node-$i:/var/lib/containerd" \
    -v "$BIN:/opt/k8s/bin:ro" -v "$PKI:/etc/k8s/pki:ro" -v "$CACHE/inside:/etc/k8s/inside:ro" \
    -v "$CACHE/node.sh:/node.sh:ro" -v "$CACHE/pause.tar:/images/pause.tar:ro" \
    -e NODE_INDEX="$i" -e NODE_NAME="$name" -e NODE_IP="$(node_ip "$i")" -e PEERS="$peers" \
    "$IMAGE" /node.sh >/dev/null
}

import_images() {
  local i=$1 name image; name=$(node_name "$i")
  for image in $KAFKA_IMAGES; do
    docker image inspect "$image" >/dev/null 2>&1 || { log "image $image missing (chaos images build); not imported"; continue; }
    local id; id=$(docker image inspect -f '{{.Id}}' "$image")
    if docker exec "$name" sh -c "ctr -n k8s.io images ls -q | grep -qx 'docker.io/$image'" 2>/dev/null \
       && [ "$(docker exec "$name" cat "/var/lib/containerd/.imported-${image//[:\/]/_}" 2>/dev/null)" = "$id" ]; then
      continue
    fi
    log "importing $image into $name's containerd"
    docker save "$image" | docker exec -i "$name" ctr -n k8s.io images import --no-unpack - >/dev/null
    docker exec "$name" sh -c "echo $id > '/var/lib/containerd/.imported-${image//[:\/]/_}'"
  done
}

kubectl_() { "$BIN/kubectl" "$@"; }

up() {
  local n=${1:-3} t0; t0=$(date +%s)
  bash scripts/k8s/build.sh
  build_node_image
  build_pause_image
  make_pki "$n"
  node_script > "$CACHE/node.sh"; chmod +x "$CACHE/node.sh"
  docker network inspect "$NETWORK" >/dev/null 2>&1 || \
    docker network create --label "$LABEL" --subnet 10.251.0.0/24 "$NETWORK" >/dev/null
  start_control
  local i
  for i in $(seq 1 "$n"); do start_node "$i" "$n"; done
  # The control plane answers pods (DNS) and kubelets: it needs the way back to each subnet.
  for i in $(seq 1 "$n"); do docker exec "$CONTROL" ip route replace "10.244.$i.0/24" via "$(node_ip "$i")"; done
  log "waiting for the API server"
  local deadline=$(( $(date +%s) + 180 ))
  until kubectl_ get --raw /readyz >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || { log "the API server is not ready after 180 s"; docker exec "$CONTROL" tail -5 /var/log/k8s/apiserver.log; exit 1; }
    docker container inspect -f '{{.State.Running}}' "$CONTROL" | grep -q true || { docker logs "$CONTROL" | tail; exit 1; }
    sleep 1
  done
  for i in $(seq 1 "$n"); do import_images "$i"; done
  log "waiting for $n nodes to be Ready"
  kubectl_ wait --for=condition=Ready "node/$(node_name 1)" --timeout=180s >/dev/null 2>&1 || true
  for i in $(seq 1 "$n"); do
    kubectl_ wait --for=condition=Ready "node/$(node_name "$i")" --timeout=180s >/dev/null || {
      docker exec "$(node_name "$i")" tail -20 /var/log/k8s/kubelet.log; exit 1; }
  done
  kubectl_ get namespace chaos >/dev/null 2>&1 || kubectl_ create namespace chaos >/dev/null
  log "ready in $(( $(date +%s) - t0 )) s; KUBECONFIG=$KUBECONFIG"
}

# Applies a shipped cluster (k8s/<name>.yaml) and the harness's Role into namespace chaos and
# waits until every pod of it is Ready.
deploy() {
  local name=${1:-seed}
  [ -f "k8s/$name.yaml" ] || { log "no k8s/$name.yaml"; exit 2; }
  kubectl_ apply -n chaos -f k8s/rbac.yaml -f "k8s/$name.yaml" >/dev/null
  log "waiting for the pods of $name to be Ready"
  local deadline=$(( $(date +%s) + 300 ))
  until kubectl_ wait -n chaos --for=condition=Ready pod -l "strimzi.io/cluster=$name" --timeout=10s >/dev/null 2>&1 \
        && [ "$(kubectl_ get pods -n chaos -l "strimzi.io/cluster=$name" --no-headers 2>/dev/null | wc -l)" -gt 0 ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { kubectl_ get pods -n chaos -o wide; kubectl_ get events -n chaos | tail; exit 1; }
  done
  log "$name ready: $(kubectl_ get pods -n chaos -l "strimzi.io/cluster=$name" --no-headers | awk '{print $1}' | tr '\n' ' ')"
}

# Removes a shipped cluster (its StatefulSets, services and PDB; the pods' hostPath data stays on
# the nodes until `down`).
undeploy() {
  local name=${1:-seed}
  kubectl_ delete -n chaos -f "k8s/$name.yaml" --ignore-not-found --wait=true >/dev/null
}

down() {
  local ids
  ids=$(docker ps -aq --filter "label=$LABEL")
  [ -z "$ids" ] || docker rm -f $ids >/dev/null
  local vols
  vols=$(docker volume ls -q | grep -E '^chaos-k8s-' || true)
  [ -z "$vols" ] || docker volume rm $vols >/dev/null
  docker network rm "$NETWORK" >/dev/null 2>&1 || true
  log "removed"
}

status() {
  docker ps --filter "label=$LABEL" --format '{{.Names}}\t{{.Status}}'
  kubectl_ get nodes -o wide 2>/dev/null || true
  kubectl_ get pods -A -o wide 2>/dev/null || true
}

case "${1:-}" in
  up) shift; up "$@" ;;
  down) down ;;
  status) status ;;
  images) mkdir -p "$CACHE"; build_node_image; build_pause_image ;;
  kubectl) shift; kubectl_ "$@" ;;
  deploy) shift; deploy "$@" ;;
  undeploy) shift; undeploy "$@" ;;
  *) echo "usage: scripts/k8s.sh up [N] | down | status | deploy [seed|kraft] | undeploy [seed|kraft] | kubectl …" >&2; exit 2 ;;
esac
