#!/usr/bin/env bash
# Kafka benchmark (BENCHMARKS.md, "Distributed mode"): the processor's throughput next to the
# raw rdkafka consume rate of the same topic, in the same run, on a dedicated single-node
# broker (docker/kafka/kafka.sh, KRaft, 127.0.0.1).
#
#   1. `genlog auth LINES` → `hivewall ingest --once` into hivewall.lines (4 partitions):
#      produce time.
#   2. `kafka_consume`: every record of hivewall.lines from the start, nothing decoded.
#   3. `hivewall processor` (parse + detect stages in one process) from a fresh state and fresh
#      consumer groups until idle: lines/s = LINES / (wall − idle wait).
#   4. The same with two processors (separate state dirs) sharing the partitions.
#
#   benches/kafka/run.sh [OUTDIR]      (default ~/.cache/hivewall/kafka-bench; LINES=500000)
#
# Needs Java 17 and Maven (kafka.sh), python3. Builds the release binaries unless BIN_DIR is
# set. Every process started here is stopped on exit. Not part of CI.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE/../.."
OUT="${1:-${HIVEWALL_CACHE:-$HOME/.cache/hivewall}/kafka-bench}"
LINES="${LINES:-500000}"
PORT="${PORT:-19292}"
IDLE=5
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/hivewall/target}"
log() { echo "kafka-bench: $*" >&2; }
mkdir -p "$OUT"
OUT="$(realpath "$OUT")"
if [ -n "${BIN_DIR:-}" ]; then
    BIN="$BIN_DIR"
else
    log "building (release)"
    ROCKSDB_COMPILE=1 cargo build --release -q -p cli -p benches
    BIN="$CARGO_TARGET_DIR/release"
fi
HW="$BIN/hivewall"
KDIR="$OUT/kafka"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    docker/kafka/kafka.sh stop --dir "$KDIR" >/dev/null 2>&1 || true
}
trap cleanup EXIT
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$(now)"; }

AUTH="$OUT/auth-$LINES.log"
[ -s "$AUTH" ] || "$BIN/genlog" auth "$LINES" 42 >"$AUTH"

export HIVEWALL_CONFIG_DIR="$PWD/scenarios"
# fresh: a new broker (empty topics, no consumer groups) holding the log; sets B, produce_s.
fresh() {
    docker/kafka/kafka.sh stop --dir "$KDIR" >/dev/null 2>&1 || true
    log "broker on 127.0.0.1:$PORT (fresh), ingest --once of $LINES lines"
    B="$(flock -o "$KDIR.lock" docker/kafka/kafka.sh start --dir "$KDIR" --port "$PORT" --fresh 2>/dev/null)"
    for t in hivewall.lines hivewall.events; do docker/kafka/kafka.sh topics create "$t" 4 --dir "$KDIR" 2>/dev/null; done
    docker/kafka/kafka.sh topics create hivewall.alerts 1 --dir "$KDIR" 2>/dev/null
    docker/kafka/kafka.sh topics create hivewall.decisions 4 compact --dir "$KDIR" 2>/dev/null
    docker/kafka/kafka.sh topics create hivewall.state 4 compact --dir "$KDIR" 2>/dev/null
    local t0
    t0=$(now)
    "$HW" --log-level warn ingest --brokers "$B" --once --type syslog "$AUTH" 2>>"$OUT/ingest.log"
    produce_s=$(since "$t0")
}
fresh

log "raw consume of hivewall.lines"
read -r _ consume_s consume_rate _ < <("$BIN/kafka_consume" "$B" hivewall.lines "$LINES")

# run_processors N: N processors from fresh state and groups; prints the busy seconds.
run_processors() {
    local n="$1" i t0
    rm -rf "$OUT"/proc-*
    PIDS=()
    t0=$(now)
    for i in $(seq 1 "$n"); do
        "$HW" --log-level warn --state-dir "$OUT/proc-$i" \
            processor --brokers "$B" --idle-exit "$IDLE" 2>>"$OUT/processor.log" &
        PIDS+=($!)
    done
    for p in "${PIDS[@]}"; do wait "$p"; done
    PIDS=()
    python3 -c "import sys; print(f'{float(sys.argv[1]) - $IDLE:.2f}')" "$(since "$t0")"
}
log "one processor"
one_s=$(run_processors 1)
fresh
log "two processors"
two_s=$(run_processors 2)

python3 - "$LINES" "$produce_s" "$consume_s" "$consume_rate" "$one_s" "$two_s" <<'PY' | tee "$OUT/results.md"
import sys
n, produce, consume, crate, one, two = int(sys.argv[1]), *map(float, sys.argv[2:])
print("| measure | seconds | lines/s | vs raw consume |")
print("|---|---|---|---|")
print(f"| ingest --once (produce, acks=all) | {produce:.2f} | {n / produce:,.0f} | |")
print(f"| raw rdkafka consume of hivewall.lines | {consume:.2f} | {crate:,.0f} | 1.00 |")
print(f"| hivewall processor ×1 (parse + detect) | {one:.2f} | {n / one:,.0f} | {n / one / crate:.2f} |")
print(f"| hivewall processor ×2 (4 partitions) | {two:.2f} | {n / two:,.0f} | {n / two / crate:.2f} |")
PY
