#!/usr/bin/env bash
# Kafka's own perf tools, from the broker's classpath (infra/kafka/target/libs), with the
# same Log4j 2 config, so benchmarks can measure the broker's ceiling on this machine.
#
#   bash infra/kafka/perf.sh producer --topic perf --num-records 200000 --record-size 100 \
#        --throughput -1 --producer-props bootstrap.servers=127.0.0.1:9092 acks=all
#   bash infra/kafka/perf.sh consumer --bootstrap-server 127.0.0.1:9092 --topic perf --messages 200000
#   bash infra/kafka/perf.sh e2e 127.0.0.1:9092 perf-e2e 10000 all 100
#   bash infra/kafka/perf.sh topics --bootstrap-server 127.0.0.1:9092 --create --topic perf --partitions 3
#
# first argument: producer | consumer | e2e | topics | a fully qualified main class;
# everything after it is passed through unchanged. The broker has
# auto.create.topics.enable=false: create the topic first (the "topics" command above).
# env: PERF_HEAP_OPTS (-Xmx512m, like the stock kafka-*-perf-test.sh), PERF_JAVA_OPTS, JAVA_HOME
set -euo pipefail
# shellcheck source=infra/kafka/_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

if [[ $# -lt 1 || "$1" == -h || "$1" == --help ]]; then
  sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
tool="$1"; shift
case "$tool" in
  producer) main=org.apache.kafka.tools.ProducerPerformance ;;
  consumer) main=org.apache.kafka.tools.ConsumerPerformance ;;
  e2e)      main=org.apache.kafka.tools.EndToEndLatency ;;
  topics)   main=org.apache.kafka.tools.TopicCommand ;;
  *.*)      main="$tool" ;;
  *)        die "unknown tool '$tool' (producer | consumer | e2e | topics | <main class>)" ;;
esac

ensure_libs
read -r -a heap_opts <<< "${PERF_HEAP_OPTS:--Xmx512m}"
read -r -a java_opts <<< "${PERF_JAVA_OPTS:-}"
exec "$JAVA" "${heap_opts[@]}" -Djava.awt.headless=true \
  "-Dlog4j2.configurationFile=$KAFKA_LOG_CONFIG" ${java_opts[@]+"${java_opts[@]}"} \
  -cp "$KAFKA_LIBS/*" "$main" "$@"
