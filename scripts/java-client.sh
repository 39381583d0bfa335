#!/usr/bin/env bash
# Installs Apache Kafka's Java client for chaos's `workload.client: java` (and `java@<version>`):
# kafka-clients <version> and its dependencies from Maven Central, and the drivers
# (java/ChaosProducer.java, java/ChaosConsumer.java) compiled against it, into
#   ${CHAOS_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/chaos}/java-client/<version>/
#     lib/*.jar  classes/*.class  config-names.txt  consumer-config-names.txt
#     (the setting names `chaos validate` checks producer-config and consumer-config against)
# Usage: scripts/java-client.sh [version ...]   (default: 3.9.1 4.1.1, our images' Kafka)
# Idempotent: a version already installed is left as it is. Needs java, javac and mvn.
set -euo pipefail
cd "$(dirname "$0")/.."
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(3.9.1 4.1.1)
cache=${CHAOS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/chaos}/java-client
for tool in java javac mvn; do
  command -v "$tool" >/dev/null || { echo "[java-client] $tool not found: apt-get install openjdk-17-jdk-headless maven" >&2; exit 1; }
done
for v in "${versions[@]}"; do
  dir=$cache/$v
  if [ -s "$dir/config-names.txt" ] && [ -s "$dir/consumer-config-names.txt" ] \
     && cmp -s java/ChaosProducer.java "$dir/ChaosProducer.java" \
     && cmp -s java/ChaosConsumer.java "$dir/ChaosConsumer.java"; then
    continue
  fi
  echo "[java-client] installing kafka-clients $v into $dir" >&2
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  cat > "$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>chaos</groupId><artifactId>java-client</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka-clients</artifactId><version>$v</version></dependency>
    <!-- kafka-clients logs through SLF4J: the simple binding writes to stderr, which chaos reads. -->
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId><version>2.0.16</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-simple</artifactId><version>2.0.16</version></dependency>
  </dependencies>
</project>
POM
  rm -rf "$dir.tmp" && mkdir -p "$dir.tmp/lib" "$dir.tmp/classes"
  # -q prints errors only; Debian's Maven 3.8 still writes colour resets, stripped here.
  mvn -q -B -f "$work/pom.xml" dependency:copy-dependencies -DincludeScope=runtime \
    -DoutputDirectory="$dir.tmp/lib" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2
  javac -nowarn -d "$dir.tmp/classes" -cp "$dir.tmp/lib/*" java/ChaosProducer.java java/ChaosConsumer.java
  java -cp "$dir.tmp/classes:$dir.tmp/lib/*" ChaosProducer --config-names > "$dir.tmp/config-names.txt"
  java -cp "$dir.tmp/classes:$dir.tmp/lib/*" ChaosConsumer --config-names > "$dir.tmp/consumer-config-names.txt"
  cp java/ChaosProducer.java java/ChaosConsumer.java "$dir.tmp/"
  rm -rf "$dir" && mv "$dir.tmp" "$dir"
  rm -rf "$work"; trap - EXIT
done
echo "[java-client] installed: ${versions[*]} (in $cache)" >&2
