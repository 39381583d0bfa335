#!/usr/bin/env bash
# Installs the witness producer's library: Python's confluent-kafka 2.12.1, whose wheel carries
# librdkafka 2.12.1 — the version rdkafka-sys bundles — so an ordinary application of the same
# library runs beside chaos's tracked producer (tests/witness/producer.py). Idempotent.
set -euo pipefail
want=2.12.1
have=$(python3 -c 'import confluent_kafka; print(confluent_kafka.libversion()[0])' 2>/dev/null || true)
if [ "$have" != "$want" ]; then
  echo "[install-witness] installing confluent-kafka==$want (pip)" >&2
  python3 -m pip install --quiet --disable-pip-version-check "confluent-kafka==$want"
fi
