#!/usr/bin/env bash
# Fuzz hivewall's Local API with schemathesis against decision-api/openapi.yaml.
#
#   scripts/schemathesis.sh [--max-examples N] [--seed N] [--report-dir DIR]
#
# Starts `hivewall run` on a temp state dir and a free port (tailing an empty temp auth.log),
# adds a bouncer (`bouncers add`) and a watcher (`machines add`, then POST /v1/watchers/login
# for a JWT), and runs `schemathesis run` three times: the bouncer routes with the bouncer's
# `X-Api-Key`, the watcher routes with the JWT, and last `DELETE /v1/watchers` (which deletes
# the watcher). Positive and negative data; only the `not_a_server_error` check. Exits non-zero
# when schemathesis finds a 5xx, when hivewall dies or does not answer afterwards, or when its
# log shows a panic.
#
# Env: HIVEWALL_BIN (default $CARGO_TARGET_DIR/debug/hivewall, CARGO_TARGET_DIR defaulting to
# ~/.cache/hivewall/target), SCHEMATHESIS (default `schemathesis`; 4.x, `pip install
# schemathesis`). Takes about a minute with the default 100 examples per operation.
set -euo pipefail

die() { echo "schemathesis.sh: error: $*" >&2; exit 2; }
log() { echo "schemathesis.sh: $*" >&2; }

cd "$(dirname "$0")/.."
REPO="$(pwd)"
TARGET="${CARGO_TARGET_DIR:-$HOME/.cache/hivewall/target}"
BIN="${HIVEWALL_BIN:-$TARGET/debug/hivewall}"
ST="${SCHEMATHESIS:-schemathesis}"
MAX_EXAMPLES=100
SEED=1
REPORT_DIR=""
while (($#)); do
  case "$1" in
    --max-examples) MAX_EXAMPLES="$2"; shift 2 ;;
    --seed) SEED="$2"; shift 2 ;;
    --report-dir) REPORT_DIR="$2"; shift 2 ;;
    *) die "unknown argument $1" ;;
  esac
done

[ -x "$BIN" ] || die "hivewall binary not found at $BIN (cargo build -p cli, or set HIVEWALL_BIN)"
command -v "$ST" >/dev/null || die "$ST not found (pip install 'schemathesis>=4,<5')"
command -v curl >/dev/null || die "curl not found"
"$ST" --version | grep -q 'version 4\.' || die "schemathesis 4.x needed, found: $("$ST" --version)"

WORK="$(mktemp -d)"
PID=""
cleanup() {
  if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
    kill -TERM "$PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$PID" 2>/dev/null || true
  fi
  if [ -n "$REPORT_DIR" ]; then
    mkdir -p "$REPORT_DIR" && cp "$WORK/hivewall.log" "$REPORT_DIR/" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
URL="http://127.0.0.1:$PORT"
STATE="$WORK/state"
touch "$WORK/auth.log"
HIVEWALL_CONFIG_DIR="$REPO/scenarios" "$BIN" run --state-dir "$STATE" --listen "127.0.0.1:$PORT" \
  --type syslog "$WORK/auth.log" >"$WORK/hivewall.log" 2>&1 &
PID=$!
for _ in $(seq 300); do
  curl -s -o /dev/null "$URL/v1/decisions" && break
  kill -0 "$PID" 2>/dev/null || { cat "$WORK/hivewall.log" >&2; die "hivewall run exited"; }
  sleep 0.1
done
curl -s -o /dev/null "$URL/v1/decisions" || die "hivewall's API at $URL did not answer in 30s"
log "hivewall run on $URL (pid $PID, state $STATE)"

hw() { "$BIN" "$@" --state-dir "$STATE"; }
KEY="$(hw bouncers add schemathesis -o raw)"
[ -n "$KEY" ] || die "bouncers add printed no key"
PASS="schemathesis-$RANDOM-$RANDOM-password"
hw machines add schemathesis-watcher -p "$PASS" >/dev/null
jwt() {
  curl -sf -X POST "$URL/v1/watchers/login" -H 'Content-Type: application/json' \
    -d "{\"machine_id\":\"schemathesis-watcher\",\"password\":\"$PASS\"}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])'
}
# Something to find: an attack makes an alert and a decision.
ts="$(date '+%b %e %H:%M:%S')"
for i in 1 2 3 4 5 6 7 8; do
  echo "$ts web1 sshd[400$i]: Failed password for invalid user admin from 192.0.2.77 port 5000$i ssh2"
done >>"$WORK/auth.log"

failed=0
run_st() {  # run_st LABEL HEADER [filters...]
  local label="$1" header="$2"; shift 2
  local reports=()
  [ -n "$REPORT_DIR" ] && reports=(--report junit --report-dir "$REPORT_DIR/$label")
  log "== $label"
  if ! "$ST" --no-color run "$REPO/decision-api/openapi.yaml" --url "$URL" -H "$header" \
      --checks not_a_server_error --mode all --phases examples,coverage,fuzzing \
      --max-examples "$MAX_EXAMPLES" --seed "$SEED" --workers 2 --request-timeout 10 \
      --suppress-health-check all --generation-database none "${reports[@]}" "$@"; then
    log "$label: schemathesis found failures"
    failed=1
  fi
  kill -0 "$PID" 2>/dev/null || { log "hivewall run died during $label"; failed=1; }
}

run_st bouncer "X-Api-Key: $KEY" \
  --include-name 'GET /v1/decisions' --include-name 'HEAD /v1/decisions' \
  --include-name 'GET /v1/decisions/stream' --include-name 'HEAD /v1/decisions/stream' \
  --include-name 'GET /v1/decisions/export' --include-name 'POST /v1/usage-metrics'
run_st watcher "Authorization: Bearer $(jwt)" \
  --exclude-name 'GET /v1/decisions' --exclude-name 'HEAD /v1/decisions' \
  --exclude-name 'GET /v1/decisions/stream' --exclude-name 'HEAD /v1/decisions/stream' \
  --exclude-name 'GET /v1/decisions/export' --exclude-name 'DELETE /v1/watchers'
run_st watcher-delete "Authorization: Bearer $(jwt)" --include-name 'DELETE /v1/watchers'

# Still healthy: the bouncer is served, and nothing panicked.
code="$(curl -s -o /dev/null -w '%{http_code}' -H "X-Api-Key: $KEY" "$URL/v1/decisions?ip=192.0.2.1")"
[ "$code" = 200 ] || { log "after fuzzing, GET /v1/decisions answers $code"; failed=1; }
if grep -n 'panicked' "$WORK/hivewall.log" >&2; then
  log "hivewall's log shows a panic"; failed=1
fi
if ((failed)); then
  tail -50 "$WORK/hivewall.log" >&2
  log "FAILED"
  exit 1
fi
log "OK: no server error"
