#!/usr/bin/env bash
# Kafka benchmark (BENCHMARKS.md, "Distributed mode"): the processor's throughput next to the
# raw rdkafka consume rate of the same topic, in the same run, on a dedicated single-node
# broker (docker/kafka/kafka.sh, KRaft, 127.0.0.1).
#
#   1. `genlog auth LINES` → `hivewall ingest --once` into hivewall.lines (4 partitions):
#      produce time.
#   2. `kafka_consume`: every record of hivewall.lines from the start, nothing decoded.
#   3. `hivewall processor` (parse + detect stages in one process) from a fresh state and fresh
#      consumer groups until idle: lines/s = LINES / (last event applied − first line read),
#      from the stages' exit lines (the group join before the first record is not counted).
#   4. The same with two processors (separate state dirs) sharing the partitions; then two
#      that joined their groups before the lines were ingested (no rebalance mid-stream).
#   5. Latency: a processor and `kafka_latency` (attackers among background lines at RATE
#      lines/s for 30 s): produce of the overflowing line → decision record, p50/p99.
#   6. Restore: `restore_bench` writes BUCKETS real buckets to a changelog partition, then
#      restores them into an empty state dir and loads them (BUCKETS=1000000).
#   ONLY=cg instead: instructions a line in the parse stage's parsing (`ParserSet::parse`,
#      callgrind) of a processor over the first CG_LINES (20000) lines, through a fresh broker.
#   ONLY=idle instead: the CPU an idle `ingest` (tailing a file nobody writes), an idle
#      `processor` (no lines), one idle after 2,000 lines and an idle `api` replica use over
#      30 s, after 10 s to settle, per thread.
#
#   benches/kafka/run.sh [OUTDIR]      (default ~/.cache/hivewall/kafka-bench; LINES=500000,
#                                       HOSTS=1: split the log into HOSTS files; ONLY=one:
#                                       steps 1-3 only, to compare two builds' processor,
#                                       with the broker's CPU time during step 3;
#                                       ONLY=latency: step 5 only; ONLY=idle: see
#                                       above; PROC_ARGS: more
#                                       processor arguments, e.g. "-X fetch.min.bytes=65536")
#
# Needs Java 17 and Maven (kafka.sh), python3. Builds the release binaries unless BIN_DIR is
# set. Every process started here is stopped on exit. Not part of CI.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE/../.."
OUT="${1:-${HIVEWALL_CACHE:-$HOME/.cache/hivewall}/kafka-bench}"
LINES="${LINES:-500000}"
RATE="${RATE:-5000}"
BUCKETS="${BUCKETS:-1000000}"
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

# latency_step: step 5; sets lat_attackers, lat_decided, lat_p50, lat_p99, lat_max.
latency_step() {
    log "latency: a processor, attackers among $RATE background lines/s for 30 s"
    fresh_broker
    rm -rf "$OUT/proc-lat"
    "$HW" --log-level warn --state-dir "$OUT/proc-lat" processor --brokers "$B" ${PROC_ARGS:-} \
        2>"$OUT/processor-lat.log" &
    PIDS=($!)
    sleep 8 # the group join
    read -r lat_attackers lat_decided lat_p50 lat_p99 lat_max < <("$BIN/kafka_latency" "$B" hivewall.lines hivewall.decisions "$RATE" 30)
    kill "${PIDS[0]}"; wait "${PIDS[0]}" || true; PIDS=()
}
latency_line() {
    echo "latency (produce of the overflowing line → decision record), $RATE background lines/s:" \
        "$lat_decided of $lat_attackers attackers decided, p50 $lat_p50 ms, p99 $lat_p99 ms, max $lat_max ms"
}

AUTH="$OUT/auth-$LINES.log"
[ -s "$AUTH" ] || "$BIN/genlog" auth "$LINES" 42 >"$AUTH"
# HOSTS > 1: the log dealt line by line into HOSTS files (as from HOSTS hosts), so that the
# lines land on several partitions of hivewall.lines (ingest keys a line by its file) and
# several parse stages can share them. HOSTS=1 (the default): one file, one lines partition.
HOSTS="${HOSTS:-1}"
INPUTS=("$AUTH")
if [ "$HOSTS" -gt 1 ]; then
    INPUTS=()
    for i in $(seq 0 $((HOSTS - 1))); do INPUTS+=("$OUT/host-$i.log"); done
    awk -v n="$HOSTS" -v dir="$OUT" '{ print > (dir "/host-" (NR % n) ".log") }' "$AUTH"
fi

export HIVEWALL_CONFIG_DIR="$PWD/scenarios"
# fresh_broker: a new broker with empty topics and no consumer groups; sets B.
fresh_broker() {
    docker/kafka/kafka.sh stop --dir "$KDIR" >/dev/null 2>&1 || true
    log "broker on 127.0.0.1:$PORT (fresh)"
    B="$(flock -o "$KDIR.lock" docker/kafka/kafka.sh start --dir "$KDIR" --port "$PORT" --fresh 2>/dev/null)"
    for t in hivewall.lines hivewall.events; do docker/kafka/kafka.sh topics create "$t" 4 --dir "$KDIR" 2>/dev/null; done
    docker/kafka/kafka.sh topics create hivewall.alerts 1 --dir "$KDIR" 2>/dev/null
    docker/kafka/kafka.sh topics create hivewall.decisions 4 compact --dir "$KDIR" 2>/dev/null
    docker/kafka/kafka.sh topics create hivewall.bouncers 4 compact --dir "$KDIR" 2>/dev/null
    docker/kafka/kafka.sh topics create hivewall.state 4 compact --dir "$KDIR" 2>/dev/null
    docker/kafka/kafka.sh topics create bench.restore 1 compact --dir "$KDIR" 2>/dev/null
}
# fresh: a fresh broker holding the log; sets B, produce_s.
fresh() {
    fresh_broker
    log "ingest --once of $LINES lines"
    local t0
    t0=$(now)
    "$HW" --log-level warn ingest --brokers "$B" --once --type syslog "${INPUTS[@]}" 2>>"$OUT/ingest.log"
    produce_s=$(since "$t0")
}
# idle_step KIND: KIND (ingest|processor|api) started on the idle broker; its CPU over 30 s.
idle_step() {
    local kind="$1" p a b
    rm -rf "$OUT/idle-state"
    : >"$OUT/idle.log"
    if [ "$kind" = ingest ]; then
        "$HW" --log-level warn --state-dir "$OUT/idle-state" ingest --brokers "$B" --type syslog "$OUT/idle.log" 2>/dev/null &
    elif [ "$kind" = api ]; then
        # A replica of the (empty) decision topics: its consumer and its producer, idle.
        "$HW" --log-level warn --state-dir "$OUT/idle-state" api --brokers "$B" --listen 127.0.0.1:0 2>/dev/null &
    else
        "$HW" --log-level warn --state-dir "$OUT/idle-state" processor --brokers "$B" 2>/dev/null &
    fi
    p=$!
    PIDS=("$p")
    sleep 10
    if [ "$kind" = processor-after-lines ]; then
        # 2,000 lines: the processor then owns every changelog partition (a producer each).
        head -n 2000 "$AUTH" >"$OUT/idle-lines.log"
        "$HW" --log-level warn ingest --brokers "$B" --once --type syslog "$OUT/idle-lines.log" 2>/dev/null
        sleep 10
    fi
    a=$(awk '{ print $14 + $15 }' "/proc/$p/stat")
    sleep 30
    b=$(awk '{ print $14 + $15 }' "/proc/$p/stat")
    echo "idle $kind: $(python3 -c "import sys; print(f'{(int(sys.argv[2]) - int(sys.argv[1])) / $(getconf CLK_TCK) / 30 * 100:.2f}')" "$a" "$b")% of a core over 30 s;" \
        "busy threads (CPU ticks since start): $(for t in /proc/"$p"/task/*; do echo "$(cat "$t/comm")=$(awk '{ print $14 + $15 }' "$t/stat")"; done | grep -v '=0$' | tr '\n' ' ')"
    kill "$p"; wait "$p" 2>/dev/null || true; PIDS=()
}
if [ "${ONLY:-}" = cg ]; then
    CG_LINES="${CG_LINES:-20000}"
    fresh_broker
    head -n "$CG_LINES" "$AUTH" >"$OUT/cg-lines.log"
    "$HW" --log-level warn ingest --brokers "$B" --once --type syslog "$OUT/cg-lines.log" 2>/dev/null
    rm -rf "$OUT/cg-state"
    ins=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null --toggle-collect='engine::parser::ParserSet::parse' \
        "$HW" --log-level warn --state-dir "$OUT/cg-state" processor --brokers "$B" --idle-exit 10 2>&1 |
        awk '/Collected :/ { print $4 }')
    echo "parse stage, ParserSet::parse: $ins instructions for $CG_LINES lines, $((ins / CG_LINES)) a line" |
        tee "$OUT/results-cg.md"
    exit 0
fi
if [ "${ONLY:-}" = idle ]; then
    fresh_broker
    idle_step ingest | tee "$OUT/results-idle.md"
    idle_step processor | tee -a "$OUT/results-idle.md"
    idle_step processor-after-lines | tee -a "$OUT/results-idle.md"
    idle_step api | tee -a "$OUT/results-idle.md"
    exit 0
fi
if [ "${ONLY:-}" = latency ]; then
    latency_step
    latency_line | tee "$OUT/results-latency.md"
    exit 0
fi
fresh

log "raw consume of hivewall.lines"
read -r _ consume_s consume_rate _ < <("$BIN/kafka_consume" "$B" hivewall.lines "$LINES")

# run_processors N: N processors from fresh state and groups; prints the seconds from the
# first line read to the last event applied (over all of them).
# With JOINED=1 the processors start on an empty topic and the log is ingested once they have
# joined their groups (no rebalance mid-stream), their idle exit then waits 20 s.
run_processors() {
    local n="$1" i idle="$IDLE" tag="$1"
    [ "${JOINED:-0}" = 1 ] && idle=20 && tag="$1-joined"
    rm -rf "$OUT"/proc-*
    PIDS=()
    for i in $(seq 1 "$n"); do
        # Each processor's CPU time and max RSS end its log (`processor-cpu:`).
        /usr/bin/time -f "processor-cpu: user %U s, system %S s, max RSS %M KiB" \
            "$HW" --log-level warn --state-dir "$OUT/proc-$i" \
            processor --brokers "$B" --idle-exit "$idle" ${PROC_ARGS:-} \
            2>"$OUT/processor-$tag-$i.log" &
        PIDS+=($!)
    done
    if [ "${JOINED:-0}" = 1 ]; then
        sleep 8 # the group joins (the broker delays a new group's first rebalance by 3 s)
        "$HW" --log-level warn ingest --brokers "$B" --once --type syslog "${INPUTS[@]}" 2>>"$OUT/ingest.log"
    fi
    for p in "${PIDS[@]}"; do wait "$p"; done
    PIDS=()
    # Exactly this run's logs (`processor-2-*` would also match `processor-2-joined-*`).
    python3 - $(for i in $(seq 1 "$n"); do echo "$OUT/processor-$tag-$i.log"; done) <<'PY'
import re, sys
first, last = [], []
for f in sys.argv[1:]:
    for l in open(f):
        m = re.search(r"(parse|detect) stage stopped: .*first record at ([\d.]+), last at ([\d.]+)", l)
        if m:
            (first if m[1] == "parse" else last).append(float(m[2 if m[1] == "parse" else 3]))
print(f"{max(last) - min(first):.2f}")
PY
}
# broker_cpu: the broker's CPU time so far, in seconds (utime + stime of its JVM).
broker_cpu() {
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f\n", ($14 + $15) / hz }' "/proc/$(cat "$KDIR/kafka.pid")/stat"
}
log "one processor"
broker0=$(broker_cpu)
one_s=$(run_processors 1)
broker1=$(broker_cpu)
if [ "${ONLY:-}" = one ]; then
    echo "raw consume: $consume_rate lines/s; processor ×1: $one_s s," \
        "$(python3 -c "import sys; print(f'{int(sys.argv[1]) / float(sys.argv[2]):,.0f}')" "$LINES" "$one_s") lines/s;" \
        "$(grep -h '^processor-cpu:' "$OUT/processor-1-1.log");" \
        "broker CPU during it: $(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$broker0" "$broker1") s" |
        tee "$OUT/results-one.md"
    exit 0
fi
fresh
log "two processors"
two_s=$(run_processors 2)
log "two processors, joined before the lines come"
fresh_broker
joined_s=$(JOINED=1 run_processors 2)

latency_step

log "restore of $BUCKETS buckets"
read -r r_buckets r_records r_mib r_write r_restore r_load < <("$BIN/restore_bench" "$B" bench.restore "$BUCKETS" "$PWD/scenarios")

python3 - "$LINES" "$produce_s" "$consume_s" "$consume_rate" "$one_s" "$two_s" "$joined_s" <<'PY' | tee "$OUT/results.md"
import sys
n, produce, consume, crate, one, two, joined = int(sys.argv[1]), *map(float, sys.argv[2:])
print("| measure | seconds | lines/s | vs raw consume |")
print("|---|---|---|---|")
print(f"| ingest --once (produce, acks=all) | {produce:.2f} | {n / produce:,.0f} | |")
print(f"| raw rdkafka consume of hivewall.lines | {consume:.2f} | {crate:,.0f} | 1.00 |")
print(f"| hivewall processor ×1 (parse + detect) | {one:.2f} | {n / one:,.0f} | {n / one / crate:.2f} |")
print(f"| hivewall processor ×2 (4 partitions) | {two:.2f} | {n / two:,.0f} | {n / two / crate:.2f} |")
print(f"| hivewall processor ×2, joined before the lines | {joined:.2f} | {n / joined:,.0f} | {n / joined / crate:.2f} |")
PY
latency_line | tee -a "$OUT/results.md"
echo "restore: $r_buckets buckets, $r_records changelog records ($r_mib MiB): written in $r_write s," \
    "restored into an empty state dir in $r_restore s, loaded into memory in $r_load s" | tee -a "$OUT/results.md"
