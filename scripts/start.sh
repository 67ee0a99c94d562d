#!/usr/bin/env bash
# Starts the whole platform in the foreground: Kafka, the wallet sandbox, the four services,
# demo data; prints where to look; Ctrl-C / SIGTERM stops everything it started.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

export PAYMENT_PORT="${PAYMENT_PORT:-3001}" TICKETING_PORT="${TICKETING_PORT:-3002}" \
  PROMOTIONS_PORT="${PROMOTIONS_PORT:-3003}" REPORTING_PORT="${REPORTING_PORT:-3004}" \
  SANDBOX_PORT="${SANDBOX_PORT:-3010}" KAFKA_PORT="${KAFKA_PORT:-9092}"
export KAFKA_BROKERS="127.0.0.1:${KAFKA_PORT}"
RUN="$ROOT/.run"; mkdir -p "$RUN/logs"

ensure_node_modules
ensure_postgres_redis
build

# Secrets for this machine's dev platform, kept across restarts (tickets stay valid).
SECRETS="$RUN/dev-secrets.env"
if [[ ! -f "$SECRETS" ]]; then
  node -e '
    const c = require("node:crypto");
    const k = c.generateKeyPairSync("ed25519").privateKey.export({ format: "der", type: "pkcs8" }).toString("base64");
    console.log("GENERATED_ACQUIRER_KEY=admit_acq_" + c.randomBytes(24).toString("base64url"));
    console.log("TICKET_SIGNING_KEY=" + k);
    console.log("WALLET_MD5_KEY=" + c.randomBytes(16).toString("hex"));
  ' > "$SECRETS"
  chmod 600 "$SECRETS"
fi
# shellcheck disable=SC1090
source "$SECRETS"
export ADMIT_ACQUIRER_KEY="${ADMIT_ACQUIRER_KEY:-$GENERATED_ACQUIRER_KEY}"
export TICKET_SIGNING_KEY WALLET_MD5_KEY SANDBOX_MD5_KEY="$WALLET_MD5_KEY"
export WALLET_GATEWAY_URL="http://127.0.0.1:${SANDBOX_PORT}/gateway.do"
export WALLET_NOTIFY_URL="http://127.0.0.1:${PAYMENT_PORT}/v1/wallets/alipay/notify"
export PUBLIC_BASE_URL="http://127.0.0.1:${TICKETING_PORT}"

PIDS=()
STARTED_KAFKA=0
cleanup() {
  trap - INT TERM EXIT
  log "stopping"
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ "$STARTED_KAFKA" == 1 ]]; then bash infra/kafka/stop.sh >/dev/null 2>&1 || true; fi
  log "stopped"
}
trap "cleanup; exit 0" INT TERM
trap cleanup EXIT

KAFKA_OUT="$(bash infra/kafka/start.sh 2>&1)" || { echo "$KAFKA_OUT" >&2; exit 1; }
grep -q 'already running' <<<"$KAFKA_OUT" || STARTED_KAFKA=1
log "kafka ready on $KAFKA_BROKERS"

launch() { # name entry readiness-path port
  local name="$1" entry="$2" path="$3" port="$4"
  # the V8 heap limit of the deployment (k8s/base NODE_OPTIONS), as in tests and benchmarks
  NODE_OPTIONS="${NODE_OPTIONS:-} --max-old-space-size=160" node "$entry" >>"$RUN/logs/$name.log" 2>&1 &
  PIDS+=("$!")
  for _ in $(seq 1 120); do
    if curl -fs "http://127.0.0.1:${port}${path}" >/dev/null 2>&1; then log "$name ready on http://127.0.0.1:${port}"; return 0; fi
    if ! kill -0 "${PIDS[-1]}" 2>/dev/null; then log "$name exited; see $RUN/logs/$name.log"; tail -20 "$RUN/logs/$name.log" >&2; exit 1; fi
    sleep 0.5
  done
  log "$name did not become ready; see $RUN/logs/$name.log"; exit 1
}
launch wallet-sandbox dist/tools/wallet-sandbox/src/main.js /health "$SANDBOX_PORT"
launch payment dist/services/payment/src/main.js /health/ready "$PAYMENT_PORT"
launch ticketing dist/services/ticketing/src/main.js /health/ready "$TICKETING_PORT"
launch promotions dist/services/promotions/src/main.js /health/ready "$PROMOTIONS_PORT"
launch reporting dist/services/reporting/src/main.js /health/ready "$REPORTING_PORT"

node scripts/seed-demo.js > "$RUN/demo.json"
node -e '
  const d = require(process.argv[1]); const e = process.env;
  const line = (k, v) => console.log(`  ${k.padEnd(22)} ${v}`);
  console.log("\nAdmit is running. Logs: .run/logs/*.log   Stop: Ctrl-C\n");
  line("payment", `http://127.0.0.1:${e.PAYMENT_PORT}/docs`);
  line("ticketing", `http://127.0.0.1:${e.TICKETING_PORT}/docs`);
  line("promotions", `http://127.0.0.1:${e.PROMOTIONS_PORT}/docs`);
  line("reporting", `http://127.0.0.1:${e.REPORTING_PORT}/docs`);
  line("wallet sandbox", `http://127.0.0.1:${e.SANDBOX_PORT}/gateway.do`);
  line("kafka", e.KAFKA_BROKERS);
  console.log("");
  line("acquirer key", e.ADMIT_ACQUIRER_KEY);
  line("demo merchant", `${d.merchant.id} (${d.merchant.name})`);
  line("demo merchant key", d.merchantKey ?? "(issued on first start; see .run/demo.json)");
  line("demo gate key", d.gateKey ?? "(issued on first start; see .run/demo.json)");
  line("demo attraction", d.attraction.id);
  line("demo product", `${d.product.id} ${d.product.name}`);
  console.log("\nTry a sale: see README.md \"A counter sale with curl\".\n");
' "$RUN/demo.json"
wait -n "${PIDS[@]}" || true
log "a service exited; stopping the rest (see .run/logs)"
