#!/usr/bin/env bash
# Entrypoint of the chaos Kafka images. Honours the environment conventions of the
# confluentinc cp-kafka / cp-zookeeper images so compose files written for them run unchanged:
#   KAFKA_FOO_BAR=1            -> foo.bar=1   ("___" -> "-", "__" -> "_", "_" -> ".")
#   KAFKA_LISTENERS unset      -> listeners = advertised listeners with every host 0.0.0.0
#   ZOOKEEPER_CLIENT_PORT etc. -> zoo.cfg (this image runs ZooKeeper when ZOOKEEPER_CLIENT_PORT is set)
#   KAFKA_PROCESS_ROLES/KAFKA_NODE_ID/KAFKA_CONTROLLER_QUORUM_VOTERS + CLUSTER_ID -> KRaft, storage formatted
# CHAOS_DRY_RUN=1 prints the generated configuration and exits (used by the tests).
set -euo pipefail

KAFKA_HOME=${KAFKA_HOME:-/opt/kafka}
CONF_DIR=${CHAOS_CONF_DIR:-/etc/kafka}

# Variables the cp images read themselves; they are not broker properties.
is_image_variable() {
  case "$1" in
    KAFKA_HEAP_OPTS|KAFKA_JVM_PERFORMANCE_OPTS|KAFKA_GC_LOG_OPTS|KAFKA_OPTS|KAFKA_DEBUG|KAFKA_VERSION) return 0 ;;
    KAFKA_JMX_*|KAFKA_LOG4J_*|KAFKA_TOOLS_LOG4J_*|KAFKA_HOME) return 0 ;;
  esac
  return 1
}

# KAFKA_FOO__BAR___BAZ -> foo_bar-baz (the cp images' env_to_props rule)
env_to_prop() {
  local raw=${1#"$2"}
  raw=${raw,,}
  raw=${raw//___/-}
  raw=${raw//__/$'\x01'}
  raw=${raw//_/.}
  printf '%s' "${raw//$'\x01'/_}"
}

kafka_properties() {
  local name prop listeners
  declare -A props=()
  # cp-kafka defaults
  props[log.dirs]=/var/lib/kafka/data
  while IFS='=' read -r name _; do
    [[ $name == KAFKA_* ]] || continue
    is_image_variable "$name" && continue
    prop=$(env_to_prop "$name" KAFKA_)
    props[$prop]=${!name}
  done < <(env | LC_ALL=C sort)
  if [[ -z ${props[listeners]:-} && -n ${props[advertised.listeners]:-} ]]; then
    listeners=$(printf '%s' "${props[advertised.listeners]}" | sed -E 's#://[^:,]*:#://0.0.0.0:#g')
    props[listeners]=$listeners
  fi
  for prop in $(printf '%s\n' "${!props[@]}" | LC_ALL=C sort); do
    printf '%s=%s\n' "$prop" "${props[$prop]}"
  done
}

zookeeper_config() {
  local name prop
  printf 'dataDir=%s\n' "${ZOOKEEPER_DATA_DIR:-/var/lib/zookeeper/data}"
  printf 'dataLogDir=%s\n' "${ZOOKEEPER_DATA_LOG_DIR:-/var/lib/zookeeper/log}"
  printf 'clientPort=%s\n' "$ZOOKEEPER_CLIENT_PORT"
  printf 'tickTime=%s\n' "${ZOOKEEPER_TICK_TIME:-2000}"
  printf 'initLimit=%s\n' "${ZOOKEEPER_INIT_LIMIT:-10}"
  printf 'syncLimit=%s\n' "${ZOOKEEPER_SYNC_LIMIT:-5}"
  # readiness is checked with the four-letter word "srvr"
  printf '4lw.commands.whitelist=%s\n' "${ZOOKEEPER_4LW_COMMANDS_WHITELIST:-*}"
  printf 'admin.enableServer=false\n'
  if [[ -n ${ZOOKEEPER_SERVERS:-} ]]; then
    # cp-zookeeper: "host1:2888:3888;host2:2888:3888" -> server.1=..., server.2=...
    local i=1 server
    IFS=';' read -ra servers <<<"$ZOOKEEPER_SERVERS"
    for server in "${servers[@]}"; do printf 'server.%d=%s\n' "$i" "$server"; i=$((i + 1)); done
  fi
  while IFS='=' read -r name _; do
    case "$name" in
      ZOOKEEPER_SERVER_ID|ZOOKEEPER_CLIENT_PORT|ZOOKEEPER_TICK_TIME|ZOOKEEPER_INIT_LIMIT|ZOOKEEPER_SYNC_LIMIT) continue ;;
      ZOOKEEPER_SERVERS|ZOOKEEPER_DATA_DIR|ZOOKEEPER_DATA_LOG_DIR|ZOOKEEPER_4LW_COMMANDS_WHITELIST) continue ;;
      ZOOKEEPER_HEAP_OPTS|ZOOKEEPER_*_OPTS) continue ;;
      ZOOKEEPER_*) prop=$(env_to_prop "$name" ZOOKEEPER_); printf '%s=%s\n' "$prop" "${!name}" ;;
    esac
  done < <(env | LC_ALL=C sort)
}

java_cmd() {
  local heap=$1; shift
  # Small heaps and the serial collector: four JVMs share two cores.
  exec java $heap ${KAFKA_JVM_PERFORMANCE_OPTS:--XX:+UseSerialGC -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true} \
    ${KAFKA_OPTS:-} -Dlog4j.configuration="file:$CONF_DIR/log4j.properties" \
    -Dlog4j2.configurationFile="$CONF_DIR/log4j2.properties" -Dkafka.logs.dir=/var/log/kafka \
    -cp "$KAFKA_HOME/libs/*" "$@"
}

main() {
  if [[ $# -gt 0 ]]; then exec "$@"; fi
  mkdir -p "$CONF_DIR"
  if [[ -n ${ZOOKEEPER_CLIENT_PORT:-} ]]; then
    if [[ ${CHAOS_DRY_RUN:-0} == 1 ]]; then zookeeper_config; exit 0; fi
    zookeeper_config >"$CONF_DIR/zoo.cfg"
    mkdir -p "${ZOOKEEPER_DATA_DIR:-/var/lib/zookeeper/data}" "${ZOOKEEPER_DATA_LOG_DIR:-/var/lib/zookeeper/log}"
    if [[ -n ${ZOOKEEPER_SERVER_ID:-} ]]; then echo "$ZOOKEEPER_SERVER_ID" >"${ZOOKEEPER_DATA_DIR:-/var/lib/zookeeper/data}/myid"; fi
    java_cmd "${ZOOKEEPER_HEAP_OPTS:--Xmx128m -Xms128m}" org.apache.zookeeper.server.quorum.QuorumPeerMain "$CONF_DIR/zoo.cfg"
  fi
  if [[ ${CHAOS_DRY_RUN:-0} == 1 ]]; then kafka_properties; exit 0; fi
  kafka_properties >"$CONF_DIR/server.properties"
  mkdir -p /var/lib/kafka/data /var/log/kafka
  if [[ -n ${KAFKA_PROCESS_ROLES:-} ]]; then
    # KRaft: the storage must be formatted with the cluster id before the first start.
    : "${CLUSTER_ID:?CLUSTER_ID is required in KRaft mode (KAFKA_PROCESS_ROLES is set)}"
    if [[ ! -f /var/lib/kafka/data/meta.properties ]]; then
      java -Xmx256m -cp "$KAFKA_HOME/libs/*" -Dlog4j2.configurationFile="$CONF_DIR/log4j2.properties" \
        kafka.tools.StorageTool format --ignore-formatted -t "$CLUSTER_ID" -c "$CONF_DIR/server.properties"
    fi
  fi
  java_cmd "${KAFKA_HEAP_OPTS:--Xmx384m -Xms384m}" kafka.Kafka "$CONF_DIR/server.properties"
}

main "$@"
