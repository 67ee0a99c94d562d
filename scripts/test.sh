#!/usr/bin/env bash
# The whole test suite on real infrastructure: lint, type-check/build, unit, integration and
# end-to-end tests. Starts its own Kafka broker (fresh, port 19092) so it never touches a
# running dev platform; uses the machine's PostgreSQL and Redis (started if they stopped).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

ensure_node_modules
ensure_postgres_redis
ensure_chromium

export KAFKA_DATA_DIR="$ROOT/.run/kafka-test" KAFKA_PORT="${TEST_KAFKA_PORT:-19092}" KAFKA_CONTROLLER_PORT="${TEST_KAFKA_CONTROLLER_PORT:-19093}"
export KAFKA_BROKERS="127.0.0.1:${KAFKA_PORT}" REDIS_URL="redis://127.0.0.1:6379"
stop_kafka() { bash infra/kafka/stop.sh >/dev/null 2>&1 || true; }
trap stop_kafka EXIT
log "starting a fresh test Kafka broker on $KAFKA_BROKERS"
KAFKA_FRESH=1 bash infra/kafka/start.sh >/dev/null

log "lint"
npm run -s lint
build
log "unit tests"
npx jest --selectProjects unit --ci
log "integration tests"
npx jest --selectProjects integration --ci --runInBand --forceExit
log "end-to-end tests"
npx jest --selectProjects e2e --ci --runInBand --forceExit
log "all tests passed"
