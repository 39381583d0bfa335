#!/usr/bin/env bash
# bitnami/kafka's convention onto chaos/kafka's (cp-kafka's): KAFKA_CFG_X -> KAFKA_X,
# KAFKA_KRAFT_CLUSTER_ID -> CLUSTER_ID. Any KAFKA_X that is not KAFKA_CFG_ is ignored, as
# bitnami's image ignores it (apart from the variables both read, e.g. KAFKA_HEAP_OPTS).
set -euo pipefail
for name in $(compgen -e); do
  case "$name" in
    KAFKA_CFG_*) export "KAFKA_${name#KAFKA_CFG_}=${!name}"; unset "$name" ;;
    KAFKA_KRAFT_CLUSTER_ID) export CLUSTER_ID="${!name}"; unset "$name" ;;
    KAFKA_HEAP_OPTS|KAFKA_OPTS|KAFKA_HOME|KAFKA_JVM_PERFORMANCE_OPTS) ;;
    KAFKA_*) echo "bitnami convention: ignoring $name (not KAFKA_CFG_)" >&2; unset "$name" ;;
  esac
done
exec /opt/chaos/entrypoint.sh "$@"
