# shellcheck shell=bash
# Shared by start.sh / stop.sh / kill.sh / perf.sh. Source it, do not run it.

KAFKA_INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$KAFKA_INFRA_DIR/../.." && pwd)"

KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_DATA_DIR="${KAFKA_DATA_DIR:-$REPO_ROOT/.run/kafka}"
# make it absolute (it ends up in server.properties and in the broker's command line)
case "$KAFKA_DATA_DIR" in /*) ;; *) KAFKA_DATA_DIR="$PWD/$KAFKA_DATA_DIR" ;; esac
KAFKA_DATA_DIR="${KAFKA_DATA_DIR%/}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms512m -Xmx512m}"
# kafka-run-class.sh defaults, minus JMX
KAFKA_JVM_PERFORMANCE_OPTS="${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true}"
KAFKA_OPTS="${KAFKA_OPTS:-}"

KAFKA_LIBS="$KAFKA_INFRA_DIR/target/libs"
KAFKA_POM="$KAFKA_INFRA_DIR/pom.xml"
KAFKA_LOG_CONFIG="$KAFKA_INFRA_DIR/log4j2.properties"
KAFKA_PID_FILE="$KAFKA_DATA_DIR/kafka.pid"
KAFKA_PROPS="$KAFKA_DATA_DIR/server.properties"
KAFKA_OUT="$KAFKA_DATA_DIR/kafka.out"
KAFKA_CLUSTER_ID_FILE="$KAFKA_DATA_DIR/cluster.id"

if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then JAVA="$JAVA_HOME/bin/java"; else JAVA="java"; fi

log() { echo "[kafka] $*" >&2; }
die() { echo "[kafka] ERROR: $*" >&2; exit 1; }

# Kafka version pinned in pom.xml (<kafka.version>x.y.z</kafka.version>)
kafka_version() {
  sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$KAFKA_POM" | head -n1
}

# Fetch the broker jars from Maven Central unless the pinned version is already there.
ensure_libs() {
  local v
  v="$(kafka_version)"
  [[ -n "$v" ]] || die "cannot read <kafka.version> from $KAFKA_POM"
  if [[ -f "$KAFKA_LIBS/kafka_2.13-$v.jar" && -f "$KAFKA_LIBS/kafka-tools-$v.jar" ]]; then
    return 0
  fi
  command -v mvn >/dev/null 2>&1 || die "mvn not found; needed once to fetch Kafka $v jars into $KAFKA_LIBS"
  log "fetching Apache Kafka $v jars from Maven Central -> $KAFKA_LIBS"
  rm -rf "$KAFKA_LIBS"   # never mix two Kafka versions on one classpath
  # -q: quiet, but Maven still prints errors (to stderr here; stray ANSI resets stripped)
  local rc
  mvn -B -q -Dstyle.color=never -f "$KAFKA_POM" dependency:copy-dependencies 2>&1 \
    | sed -e 's/\x1b\[[0-9;]*m//g' -e '/^$/d' >&2 && rc=0 || rc="${PIPESTATUS[0]}"
  [[ "$rc" == 0 ]] || die "mvn dependency:copy-dependencies failed with exit code $rc (see errors above)"
  [[ -f "$KAFKA_LIBS/kafka_2.13-$v.jar" ]] || die "kafka_2.13-$v.jar missing after mvn run"
}

# Alive = at least one of its threads is not a zombie. Checking only the main thread is not
# enough: after SIGKILL a JVM's main thread turns Z while other threads are still exiting
# and the listening sockets are still open. (The broker is re-parented, so it may also sit
# as a zombie until its new parent reaps it.)
pid_alive() {
  local pid="$1" st line state
  [[ "$pid" =~ ^[0-9]+$ && -d "/proc/$pid" ]] || return 1
  for st in "/proc/$pid/stat" /proc/"$pid"/task/*/stat; do
    line=""
    { read -r line < "$st"; } 2>/dev/null || continue
    state="${line##*) }"; state="${state%% *}"   # field 3, after "pid (comm) "
    [[ -n "$state" && "$state" != Z && "$state" != X ]] && return 0
  done
  return 1
}

# the pid is a live kafka.Kafka JVM started for THIS data dir (guards against pid reuse)
is_our_broker() {
  local pid="$1" cmd
  pid_alive "$pid" || return 1
  cmd="$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ "$cmd" == *" kafka.Kafka $KAFKA_PROPS"* ]]
}

# prints the recorded pid if it belongs to a live broker of this data dir
recorded_broker_pid() {
  local pid
  [[ -f "$KAFKA_PID_FILE" ]] || return 1
  pid="$(tr -dc '0-9' < "$KAFKA_PID_FILE")"
  is_our_broker "$pid" || return 1
  echo "$pid"
}

# TCP connect to 127.0.0.1:$1 answers
port_open() {
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

rss_mb() {
  local kb
  kb="$(awk '/^VmRSS:/{print $2}' "/proc/$1/status" 2>/dev/null || true)"
  [[ -n "$kb" ]] && echo "$((kb / 1024))" || echo "?"
}

# wait until the pid is gone; returns 1 on timeout
wait_gone() {
  local pid="$1" secs="$2" i
  for ((i = 0; i < secs * 10; i++)); do
    pid_alive "$pid" || return 0
    sleep 0.1
  done
  ! pid_alive "$pid"
}

# SIGTERM (controlled shutdown) -> wait -> SIGKILL. Only ever the recorded pid.
stop_broker() {
  local timeout="${1:-20}" pid
  if ! pid="$(recorded_broker_pid)"; then
    if [[ -f "$KAFKA_PID_FILE" ]]; then
      log "stale pid file (process gone), removing it"
      rm -f "$KAFKA_PID_FILE"
    fi
    log "kafka not running ($KAFKA_DATA_DIR)"
    return 0
  fi
  log "stopping kafka pid $pid (SIGTERM, up to ${timeout}s)"
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_gone "$pid" "$timeout"; then
    log "still alive after ${timeout}s, SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 || die "pid $pid did not exit after SIGKILL"
  fi
  rm -f "$KAFKA_PID_FILE"
  log "stopped"
}

# Remove what start.sh put into the data dir (never rm -rf an arbitrary directory).
# wipe_data keep-lock: used by start.sh while it holds the lock.
wipe_data() {
  [[ -d "$KAFKA_DATA_DIR" ]] || return 0
  rm -rf "$KAFKA_DATA_DIR/logs"
  rm -f "$KAFKA_DATA_DIR/server.properties" "$KAFKA_DATA_DIR/cluster.id" \
        "$KAFKA_DATA_DIR/kafka.out" "$KAFKA_DATA_DIR/kafka.pid" \
        "$KAFKA_DATA_DIR"/hs_err_pid*.log
  if [[ "${1:-}" != keep-lock ]]; then
    rm -f "$KAFKA_DATA_DIR/.start.lock"
    rmdir "$KAFKA_DATA_DIR" 2>/dev/null || true
  fi
}
