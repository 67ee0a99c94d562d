#!/usr/bin/env bash
# Stop the broker started by start.sh: SIGTERM its recorded pid (controlled shutdown),
# wait up to KAFKA_STOP_TIMEOUT (20) s, then SIGKILL. Never kills by process name.
# Data is kept for the next start.sh unless KAFKA_WIPE=1.
# env: KAFKA_DATA_DIR (<repo>/.run/kafka) KAFKA_STOP_TIMEOUT (20) KAFKA_WIPE=1
set -euo pipefail
# shellcheck source=infra/kafka/_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

stop_broker "${KAFKA_STOP_TIMEOUT:-20}"
if [[ "${KAFKA_WIPE:-0}" == 1 ]]; then
  log "KAFKA_WIPE=1: removing broker data in $KAFKA_DATA_DIR"
  wipe_data
fi
