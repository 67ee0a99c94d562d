#!/usr/bin/env bash
# Start a single-node Apache Kafka (KRaft, broker+controller) on 127.0.0.1 from the
# Maven Central jars in infra/kafka/target/libs. Idempotent; keeps data across restarts.
#
#   bash infra/kafka/start.sh            # -> stdout: KAFKA_BROKERS=127.0.0.1:9092
#   export "$(bash infra/kafka/start.sh)"
#
# env: KAFKA_PORT (9092) KAFKA_CONTROLLER_PORT (9093) KAFKA_DATA_DIR (<repo>/.run/kafka)
#      KAFKA_HEAP_OPTS (-Xms512m -Xmx512m) KAFKA_FRESH=1 (wipe data first)
#      KAFKA_READY_TIMEOUT (60 s) KAFKA_JVM_PERFORMANCE_OPTS KAFKA_OPTS JAVA_HOME
# Progress goes to stderr; stdout carries only the KAFKA_BROKERS=... line.
set -euo pipefail
# shellcheck source=infra/kafka/_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

READY_TIMEOUT="${KAFKA_READY_TIMEOUT:-60}"
BROKERS="127.0.0.1:$KAFKA_PORT"
t0="$(date +%s.%N)"
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b-a}'; }

[[ "$KAFKA_PORT" =~ ^[0-9]+$ && "$KAFKA_CONTROLLER_PORT" =~ ^[0-9]+$ ]] || die "ports must be numbers"
[[ "$KAFKA_PORT" != "$KAFKA_CONTROLLER_PORT" ]] || die "KAFKA_PORT and KAFKA_CONTROLLER_PORT must differ"

mkdir -p "$KAFKA_DATA_DIR"
# one start.sh per data dir at a time (fd 9 is closed for the broker below)
exec 9>"$KAFKA_DATA_DIR/.start.lock"
flock -w 120 9 || die "another start.sh holds $KAFKA_DATA_DIR/.start.lock"

# Readiness: a real kafkajs admin round trip (describeCluster) when the repo's node_modules
# has kafkajs; otherwise a TCP probe of the data port (the broker opens it only once it is
# ready to serve, see docs/kafka-local.md §3).
wait_ready() {
  local pid="$1" expect_id="${2:-}" rc=0
  if command -v node >/dev/null 2>&1; then
    node "$KAFKA_INFRA_DIR/wait-ready.cjs" --brokers "$BROKERS" --timeout "$READY_TIMEOUT" \
      --pid "$pid" ${expect_id:+--cluster-id "$expect_id"} || rc=$?
    [[ $rc -ne 4 ]] && return "$rc"
  fi
  log "kafkajs not available (node_modules missing?): falling back to a TCP probe of :$KAFKA_PORT"
  local deadline=$(( $(date +%s) + READY_TIMEOUT ))
  while (( $(date +%s) < deadline )); do
    pid_alive "$pid" || { log "broker process $pid exited"; return 2; }
    port_open "$KAFKA_PORT" && return 0
    sleep 0.25
  done
  log "not ready after ${READY_TIMEOUT}s"
  return 1
}

fail_with_log() {
  log "$1; last lines of $KAFKA_OUT:"
  tail -n 40 "$KAFKA_OUT" >&2 2>/dev/null || true
  exit 1
}

# ---- already running? -------------------------------------------------------------------
if [[ "${KAFKA_FRESH:-0}" == 1 ]]; then
  stop_broker 20
  log "KAFKA_FRESH=1: wiping $KAFKA_DATA_DIR"
  wipe_data keep-lock
elif pid="$(recorded_broker_pid)"; then
  running_port="$(sed -n 's|^listeners=PLAINTEXT://[^:]*:\([0-9]*\),.*|\1|p' "$KAFKA_PROPS" 2>/dev/null || true)"
  if [[ -n "$running_port" && "$running_port" != "$KAFKA_PORT" ]]; then
    die "the broker of $KAFKA_DATA_DIR (pid $pid) runs on port $running_port, not $KAFKA_PORT; stop it first (infra/kafka/stop.sh)"
  fi
  if port_open "$KAFKA_PORT"; then
    log "kafka already running (pid $pid, $BROKERS, data $KAFKA_DATA_DIR)"
    echo "KAFKA_BROKERS=$BROKERS"
    exit 0
  fi
  # started by an earlier call that has not become ready yet (or is shutting down)
  log "kafka pid $pid is up but :$KAFKA_PORT does not answer yet; waiting"
  wait_ready "$pid" "$(cat "$KAFKA_CLUSTER_ID_FILE" 2>/dev/null || true)" \
    || fail_with_log "kafka pid $pid did not become ready (stop it with infra/kafka/stop.sh)"
  log "kafka already running (pid $pid, $BROKERS)"
  echo "KAFKA_BROKERS=$BROKERS"
  exit 0
elif [[ -f "$KAFKA_PID_FILE" ]]; then
  log "removing stale pid file (previous broker is gone)"
  rm -f "$KAFKA_PID_FILE"
fi

for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
  # a broker that is just exiting may hold the port for a moment
  for _ in 1 2 3 4 5 6 7 8 9 10; do port_open "$p" || break; sleep 0.5; done
  if port_open "$p"; then
    die "127.0.0.1:$p is already in use by a process this script did not start for $KAFKA_DATA_DIR (set KAFKA_PORT / KAFKA_CONTROLLER_PORT)"
  fi
done

# ---- jars ---------------------------------------------------------------------------------
ensure_libs
CP="$KAFKA_LIBS/*"
LOG_OPT="-Dlog4j2.configurationFile=$KAFKA_LOG_CONFIG"

# ---- server.properties ------------------------------------------------------------------
mkdir -p "$KAFKA_DATA_DIR/logs"
esc() { printf '%s' "$1" | sed -e 's/[\\|&]/\\&/g'; }
sed -e "s|@DATA_DIR@|$(esc "$KAFKA_DATA_DIR")|g" \
    -e "s|@KAFKA_PORT@|$KAFKA_PORT|g" \
    -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
    "$KAFKA_INFRA_DIR/server.properties.template" > "$KAFKA_PROPS.tmp"
mv "$KAFKA_PROPS.tmp" "$KAFKA_PROPS"

# ---- cluster id + format (only once per data dir) ------------------------------------------
META="$KAFKA_DATA_DIR/logs/meta.properties"
if [[ ! -s "$KAFKA_CLUSTER_ID_FILE" && -f "$META" ]]; then
  # formatted earlier but the id file was lost: reuse the formatted id
  sed -n 's/^cluster\.id=//p' "$META" > "$KAFKA_CLUSTER_ID_FILE"
fi
if [[ ! -s "$KAFKA_CLUSTER_ID_FILE" ]]; then
  # Kafka Uuid format: 16 random bytes, unpadded base64url (22 chars), must not start with '-'
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [[ "${id:0:1}" != "-" && ${#id} -eq 22 ]] && break
  done
  echo "$id" > "$KAFKA_CLUSTER_ID_FILE"
fi
CLUSTER_ID="$(tr -d '[:space:]' < "$KAFKA_CLUSTER_ID_FILE")"

if [[ ! -f "$META" ]]; then
  log "formatting $KAFKA_DATA_DIR/logs (cluster id $CLUSTER_ID)"
  # static voter quorum -> format WITHOUT --standalone
  "$JAVA" -Xmx256m "$LOG_OPT" -cp "$CP" kafka.tools.StorageTool format --ignore-formatted \
    -t "$CLUSTER_ID" -c "$KAFKA_PROPS" >&2 \
    || die "kafka-storage format failed"
fi

# ---- launch -------------------------------------------------------------------------------
read -r -a heap_opts <<< "$KAFKA_HEAP_OPTS"
read -r -a perf_opts <<< "$KAFKA_JVM_PERFORMANCE_OPTS"
read -r -a extra_opts <<< "$KAFKA_OPTS"
echo "===== $(date -u +%FT%TZ) start.sh: kafka $(kafka_version) on $BROKERS =====" >> "$KAFKA_OUT"
cd "$KAFKA_DATA_DIR"   # hs_err_pid*.log would land here
# nohup + setsid: own session, immune to SIGHUP/SIGINT of the calling shell or test runner.
# In a non-interactive shell the child is no process-group leader, so setsid execs in place
# and $! is the JVM's pid.
# KAFKA_OPTS comes last so it can override anything, e.g. -Dlog4j2.configurationFile=...
nohup setsid "$JAVA" "${heap_opts[@]}" "${perf_opts[@]}" "$LOG_OPT" ${extra_opts[@]+"${extra_opts[@]}"} \
  -cp "$CP" kafka.Kafka "$KAFKA_PROPS" \
  >> "$KAFKA_OUT" 2>&1 < /dev/null 9>&- &
pid=$!
echo "$pid" > "$KAFKA_PID_FILE"
log "started kafka $(kafka_version) pid $pid (data $KAFKA_DATA_DIR, log $KAFKA_OUT)"

if ! wait_ready "$pid" "$CLUSTER_ID"; then
  fail_with_log "kafka did not become ready within ${READY_TIMEOUT}s (pid $pid)"
fi
is_our_broker "$pid" || fail_with_log "pid $pid is not the kafka.Kafka JVM"
log "ready in $(elapsed)s (pid $pid, RSS $(rss_mb "$pid") MB)"
echo "KAFKA_BROKERS=$BROKERS"
