#!/usr/bin/env bash
# Installs a librdkafka for chaos's `workload.client: librdkafka@<version>`: Python's
# confluent-kafka <version> (its wheel carries a librdkafka, usually of the same version) in a
# virtualenv, and the driver (python/chaos_producer.py), into
#   ${CHAOS_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/chaos}/python-client/<librdkafka version>/
# named by the librdkafka the wheel carries (confluent-kafka 2.16.1 carries 2.16.0).
# Usage: scripts/python-client.sh [confluent-kafka version ...]   (default: 2.16.0)
# Idempotent. Needs python3 with venv (Debian: python3-venv).
set -euo pipefail
cd "$(dirname "$0")/.."
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(2.16.0)
cache=${CHAOS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/chaos}/python-client
installed=()
for v in "${versions[@]}"; do
  # Already there: a directory whose virtualenv has confluent-kafka $v and the current driver.
  done_dir=""
  for d in "$cache"/*/; do
    [ -x "$d/venv/bin/python" ] || continue
    if [ "$(cat "$d/confluent-kafka-version" 2>/dev/null)" = "$v" ]; then
      cp python/chaos_producer.py "$d/chaos_producer.py"   # the current driver
      done_dir=${d%/}
    fi
  done
  if [ -n "$done_dir" ]; then installed+=("$(basename "$done_dir")"); continue; fi
  echo "[python-client] installing confluent-kafka $v into a virtualenv" >&2
  work=$cache/tmp-$$
  rm -rf "$work" && mkdir -p "$work"
  python3 -m venv "$work/venv"
  "$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check "confluent-kafka==$v"
  lib=$("$work/venv/bin/python" -c 'import confluent_kafka; print(confluent_kafka.libversion()[0])')
  echo "$v" > "$work/confluent-kafka-version"
  cp python/chaos_producer.py "$work/chaos_producer.py"
  # A virtualenv is not relocatable: made again at its final place (pip's cache makes it quick).
  dir=$cache/$lib
  rm -rf "$work" "$dir" && mkdir -p "$dir"
  python3 -m venv "$dir/venv"
  "$dir/venv/bin/python" -m pip install --quiet --disable-pip-version-check "confluent-kafka==$v"
  echo "$v" > "$dir/confluent-kafka-version"
  cp python/chaos_producer.py "$dir/chaos_producer.py"
  echo "[python-client] confluent-kafka $v carries librdkafka $lib: client librdkafka@$lib" >&2
  installed+=("$lib")
done
echo "[python-client] installed: librdkafka ${installed[*]} (in $cache)" >&2
