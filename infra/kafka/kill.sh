#!/usr/bin/env bash
# Fault injection: SIGKILL the broker started by start.sh (its recorded pid only) and
# leave its data in place. `bash infra/kafka/start.sh` afterwards restarts it on the
# same data dir (same cluster id, log recovery of the unclean shutdown).
# env: KAFKA_DATA_DIR (<repo>/.run/kafka)
set -euo pipefail
# shellcheck source=infra/kafka/_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

if ! pid="$(recorded_broker_pid)"; then
  rm -f "$KAFKA_PID_FILE"
  log "kafka not running ($KAFKA_DATA_DIR)"
  exit 0
fi
kill -KILL "$pid"
wait_gone "$pid" 10 || die "pid $pid still alive after SIGKILL"
rm -f "$KAFKA_PID_FILE"
echo "===== $(date -u +%FT%TZ) kill.sh: SIGKILL pid $pid =====" >> "$KAFKA_OUT"
log "killed kafka pid $pid (SIGKILL); data kept in $KAFKA_DATA_DIR"
