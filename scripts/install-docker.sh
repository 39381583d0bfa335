#!/usr/bin/env bash
# Installs and starts a Docker engine on a Debian host (as root), idempotently.
# Also installs the host tools the image build needs: mmdebstrap (rootfs), Maven + a JDK (jars),
# and the build's C dependencies (make, g++, OpenSSL headers).
# Usage: scripts/install-docker.sh        (safe to run again; does nothing when all is there)
set -euo pipefail

SOCKET="${DOCKER_HOST:-unix:///var/run/docker.sock}"
SOCKET_PATH="${SOCKET#unix://}"

log() { printf '[install-docker] %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  log "must run as root (installs packages and starts dockerd)"; exit 1
fi

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v iptables >/dev/null 2>&1 || need+=(iptables)
# The attach test starts a compose project the way a user does, without chaos.
command -v docker-compose >/dev/null 2>&1 || need+=(docker-compose)
command -v mmdebstrap >/dev/null 2>&1 || need+=(mmdebstrap)
# `chaos bench` compares its re-read with kcat's (librdkafka's consumer in C).
command -v kcat >/dev/null 2>&1 || need+=(kcat)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v mvn >/dev/null 2>&1 || need+=(maven)
command -v javac >/dev/null 2>&1 || need+=(openjdk-17-jdk-headless)
# scripts/python-client.sh makes a virtualenv per librdkafka version.
python3 -c "import ensurepip, venv" >/dev/null 2>&1 || need+=(python3-venv)
# rdkafka builds librdkafka from source with its own ./configure and make (not CMake: that
# build's atomics are broken, docs/measurements.md); it needs these.
command -v make >/dev/null 2>&1 || need+=(make)
command -v g++ >/dev/null 2>&1 || need+=(g++)
# TLS and SASL/SCRAM: librdkafka (rdkafka's `ssl` feature) and the wire client link OpenSSL.
[ -f /usr/include/openssl/ssl.h ] || need+=(libssl-dev)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
# The secured-cluster test makes its CA and certificates with the openssl CLI.
command -v openssl >/dev/null 2>&1 || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  log "installing: ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

daemon_answers() { curl -fsS --max-time 2 --unix-socket "$SOCKET_PATH" http://localhost/_ping >/dev/null 2>&1; }

if daemon_answers; then
  log "docker daemon already answers at $SOCKET"
  exit 0
fi

# A machine restored from a snapshot keeps the old daemon's pid files; when that pid now
# belongs to another process, dockerd waits on it for its containerd and gives up.
if ! pgrep -x dockerd >/dev/null 2>&1; then
  rm -f /var/run/docker.pid /var/run/docker/containerd/containerd.pid
fi

log "starting dockerd in the background (log: /var/log/dockerd.log)"
# setsid: the daemon must outlive this script and the shell that ran it.
setsid nohup dockerd --host "unix://$SOCKET_PATH" >/var/log/dockerd.log 2>&1 < /dev/null &

for _ in $(seq 1 60); do
  if daemon_answers; then log "docker daemon is ready"; exit 0; fi
  sleep 0.5
done
log "dockerd did not answer within 30 s; last log lines:"
tail -n 20 /var/log/dockerd.log >&2 || true
exit 1
