#!/usr/bin/env bash
# Local API benchmark (BENCHMARKS.md, "Local API"): hivewall's LAPI, embedded in `hivewall run`
# (release build), next to CrowdSec 1.4.6's LAPI (`crowdsec -no-cs`, SQLite with WAL) in the
# same run, both holding the same decisions, one server at a time on 127.0.0.1:
#
#   1. `GET /v1/decisions?ip=` with wrk (2 threads, 50 connections, DURATION s, lookup.lua:
#      random held addresses and MISS of absent ones): req/s and p99, at 100k and 1M.
#   2. `GET /v1/decisions/stream?startup=true` (one bouncer, curl): time, body size, number of
#      decisions, and the server's memory (/proc/PID/status: VmRSS idle, VmHWM during the pull,
#      the peak reset just before) at 100k and 1M.
#   3. PULLS bouncers (distinct keys) pulling `startup=true` at once on 300k decisions
#      (hivewall), and CS_PULLS at once on 100k for both: wall time, VmRSS before, VmHWM.
#   4. `hivewall run` tailing a file: TAIL_LINES generated auth lines (`genlog auth`) appended
#      at once, time until `hivewall_lines_parsed_total` (/metrics) counts them all, next to
#      `hivewall replay` of the same file (same scenarios/ dir).
#   and the import time of 1M decisions: the same ten 100k-line CSV files (`value,duration,
#   reason`), one `decisions import -i` each (`hivewall decisions import` through the running
#   API in 10k batches; `cscli decisions import`, one alert per file). CrowdSec imports the
#   files past the first one only while CS_BUDGET seconds have not passed; its "1M" rows are
#   then at the count it reached (printed).
#
# Servers are restarted after each import step, so idle RSS is the held set's, not the import's.
# Progress goes to stderr, the markdown table to stdout and OUTDIR/results.md.
#
#   benches/lapi/run.sh [OUTDIR]        (from anywhere; default OUTDIR ~/.cache/hivewall/lapi-bench)
#
# ONLY_TAIL=1 runs part 4 alone (a few minutes) and prints its row.
# Env: DURATION=20 MISS=0.2 PULLS=100 CS_PULLS=10 CS_BUDGET=420 TAIL_LINES=2000000; for trying
# the script out: CHUNK=100000 (decisions per file; the labels assume 100k) and BIN_DIR (where
# `hivewall` and `genlog` are; skips the release build).
# Needs wrk, curl, python3, and CrowdSec 1.4.6 (scripts/crowdsec/install.sh, run if missing).
# Idempotent: generated inputs in OUTDIR are reused; server state dirs are wiped at each run;
# every process started here is stopped on exit. Takes 7-12 minutes on 2 cores, most of it
# CrowdSec importing and answering at 1M.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE/../.."
OUT="${1:-${HIVEWALL_CACHE:-$HOME/.cache/hivewall}/lapi-bench}"
DURATION="${DURATION:-20}"
MISS="${MISS:-0.2}"
PULLS="${PULLS:-100}"
CS_PULLS="${CS_PULLS:-10}"
CS_BUDGET="${CS_BUDGET:-420}"
TAIL_LINES="${TAIL_LINES:-2000000}"
CHUNK="${CHUNK:-100000}"
CHUNKS=10
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/hivewall/target}"

log() { echo "lapi: $*" >&2; }
die() { echo "lapi: error: $*" >&2; exit 1; }

for t in wrk curl python3; do command -v "$t" >/dev/null || die "$t missing"; done
# shellcheck source=benches/lapi/crowdsec.sh
source "$HERE/crowdsec.sh"
[ -x "$CROWDSEC" ] || scripts/crowdsec/install.sh >/dev/null
if [ -n "${BIN_DIR:-}" ]; then
    BIN="$BIN_DIR"
else
    log "building (release)"
    ROCKSDB_COMPILE=1 cargo build --release -q -p cli -p benches
    BIN="$CARGO_TARGET_DIR/release"
fi
HW="$BIN/hivewall"
mkdir -p "$OUT"
OUT="$(realpath "$OUT")"

# ---- inputs ----------------------------------------------------------------------------------
# Decision i is (11 + i % 200).b.c.d with b.c.d = i // 200 in base 256 (lookup.lua's formula).
if [ ! -s "$OUT/d-$((CHUNKS - 1)).csv" ]; then
    log "writing $CHUNKS decision files of $CHUNK"
    python3 - "$OUT" "$CHUNK" "$CHUNKS" <<'PY'
import sys
out, chunk, chunks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for c in range(chunks):
    with open(f"{out}/d-{c}.csv", "w") as f:
        f.write("value,duration,reason\n")
        for i in range(c * chunk, (c + 1) * chunk):
            q = i // 200
            f.write(f"{11 + i % 200}.{(q >> 16) & 255}.{(q >> 8) & 255}.{q & 255},72h,bench/lapi\n")
PY
fi
AUTH="$OUT/auth-$TAIL_LINES.log"
[ -s "$AUTH" ] || "$BIN/genlog" auth "$TAIL_LINES" 42 >"$AUTH"

# ---- process helpers -------------------------------------------------------------------------
SERVER_PID=""
PORT=""
cleanup() {
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill "$SERVER_PID" 2>/dev/null || true
        sleep 1
        kill -9 "$SERVER_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
since() { python3 -c "print(f'{$(now) - $1:.2f}')"; }
mib() { awk -v k="$2" '$1 == k":" { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
reset_hwm() { echo 5 >"/proc/$1/clear_refs" 2>/dev/null || true; }

# wait_up: until the server answers HTTP (any status), at most 120 s.
wait_up() {
    for _ in $(seq 1200); do
        kill -0 "$SERVER_PID" 2>/dev/null || die "server exited (see its log in $OUT)"
        [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/v1/decisions/stream")" != 000 ] && return 0
        sleep 0.1
    done
    die "server not answering on $PORT"
}

stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 600); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

# start_hw STATE [FILE]: `hivewall run` on STATE (following FILE, else an empty file).
start_hw() {
    local follow="${2:-$OUT/empty.log}"
    [ -e "$follow" ] || : >"$follow"
    "$HW" run --state-dir "$1" --listen "127.0.0.1:$PORT" --log-level warn --type syslog "$follow" \
        >>"$1.log" 2>&1 &
    SERVER_PID=$!
    wait_up
}

start_cs() {
    "$CROWDSEC" -c "$1/config.yaml" -no-cs >>"$1.log" 2>&1 &
    SERVER_PID=$!
    wait_up
}

# restart KIND STATE: stop, start; READY = seconds until the API answered. (Not to be called
# in $(...): SERVER_PID must stay in this shell.)
restart() {
    stop_server
    local t0
    t0=$(now)
    "start_$1" "$2"
    READY=$(since "$t0")
}

# ---- measurements ----------------------------------------------------------------------------
# lookups KEY HELD: "req_s p99_ms errors"
lookups() {
    local res
    res=$(HELD="$2" MISS="$MISS" API_KEY="$1" wrk -t2 -c50 -d"${DURATION}s" --timeout 10s \
        -s "$HERE/lookup.lua" "http://127.0.0.1:$PORT" | tee -a "$OUT/wrk.txt" | grep '^RESULT') \
        || die "wrk gave no result"
    python3 - "$res" <<'PY'
import sys
kv = dict(x.split("=") for x in sys.argv[1].split()[1:])
print(kv["req_s"], kv["p99_ms"], kv["errors"])
PY
}

# stream KEY: one startup pull; "seconds MiB decisions HWM_MiB" (peak reset just before).
stream() {
    reset_hwm "$SERVER_PID"
    local t
    t=$(curl -sf -H "X-Api-Key: $1" -o "$OUT/stream.json" -w '%{time_total} %{size_download}' \
        "http://127.0.0.1:$PORT/v1/decisions/stream?startup=true") || die "stream failed"
    local n
    n=$(grep -o '"value":' "$OUT/stream.json" | wc -l)
    rm -f "$OUT/stream.json"
    set -- $t
    awk -v t="$1" -v b="$2" -v n="$n" -v h="$(mib "$SERVER_PID" VmHWM)" 'BEGIN { printf "%.2f %.1f %s %s\n", t, b / 1048576, n, h }'
}

# pulls PREFIX N LABEL: N bouncers with keys PREFIX0..PREFIX(N-1) pull startup=true at once;
# "wall_s rss_before_MiB hwm_MiB failures".
pulls() {
    local prefix="$1" n="$2" dir="$OUT/pulls-$3"
    rm -rf "$dir"; mkdir -p "$dir"
    local before t0 i
    before=$(mib "$SERVER_PID" VmRSS)
    reset_hwm "$SERVER_PID"
    t0=$(now)
    for i in $(seq 0 $((n - 1))); do
        { curl -s -H "X-Api-Key: $prefix$i" -o /dev/null -w '%{http_code} %{size_download} ' \
            "http://127.0.0.1:$PORT/v1/decisions/stream?startup=true"; echo "$?"; } >"$dir/$i" &
    done
    wait # only the curls: this runs in a subshell
    local wall
    wall=$(since "$t0")
    local bad
    # A failure: not 200, or curl failed (a body cut short is curl error 18/56). Sizes are not
    # compared: durations are printed to the nanosecond, so bodies differ by up to ~1%.
    bad=$(cat "$dir"/* | awk '$1 != 200 || $3 != 0' | wc -l)
    echo "$wall $before $(mib "$SERVER_PID" VmHWM) $bad"
}

# timed import CMD...: seconds.
timed() {
    local t0
    t0=$(now)
    "$@" >>"$OUT/import.log" 2>&1 || die "import failed: $* (see $OUT/import.log)"
    since "$t0"
}
sum() { python3 -c "import sys; print(f'{sum(map(float, sys.argv[1:])):.1f}')" "$@"; }

declare -A R # results

if [ -z "${ONLY_TAIL:-}" ]; then
# ---- hivewall --------------------------------------------------------------------------------
H="$OUT/hivewall"
rm -rf "$H" "$H.log" "$OUT/import.log" "$OUT/wrk.txt"
PORT=$(free_port)
log "hivewall on 127.0.0.1:$PORT"
start_hw "$H"
hwc() { "$HW" --state-dir "$H" "$@"; }
hwc bouncers add bench -k hivewall-bench-key -o raw >/dev/null
for i in $(seq 0 $((PULLS - 1))); do hwc bouncers add "p$i" -k "pull-key-$i" -o raw >/dev/null; done
T=()
T+=("$(timed hwc decisions import -i "$OUT/d-0.csv")")
R[hw_imp100k]=${T[0]}
restart hw "$H"; R[hw_ready100k]=$READY
R[hw_rss100k]=$(mib "$SERVER_PID" VmRSS)
log "hivewall 100k: lookups"
R[hw_look100k]=$(lookups hivewall-bench-key $CHUNK)
R[hw_stream100k]=$(stream hivewall-bench-key)
R[hw_pulls100k]=$(pulls pull-key- "$CS_PULLS" hivewall-100k)
for c in 1 2; do T+=("$(timed hwc decisions import -i "$OUT/d-$c.csv")"); done
restart hw "$H"; R[hw_ready300k]=$READY
log "hivewall 300k: $PULLS pulls"
R[hw_pulls300k]=$(pulls pull-key- "$PULLS" hivewall-300k)
for c in $(seq 3 $((CHUNKS - 1))); do T+=("$(timed hwc decisions import -i "$OUT/d-$c.csv")"); done
R[hw_imp1m]=$(sum "${T[@]}")
restart hw "$H"; R[hw_ready1m]=$READY
R[hw_rss1m]=$(mib "$SERVER_PID" VmRSS)
log "hivewall 1M: stream, lookups"
R[hw_stream1m]=$(stream hivewall-bench-key)
R[hw_look1m]=$(lookups hivewall-bench-key $((CHUNK * CHUNKS)))
stop_server

# ---- CrowdSec 1.4.6 --------------------------------------------------------------------------
C="$OUT/crowdsec"
rm -f "$C.log"
PORT=$(free_port)
log "CrowdSec 1.4.6 LAPI on 127.0.0.1:$PORT"
cs_config "$C" "$PORT"
csc() { "$CSCLI" -c "$C/config.yaml" "$@"; }
start_cs "$C"
csc bouncers add bench -k crowdsec-bench-key >/dev/null 2>>"$C.log"
for i in $(seq 0 $((CS_PULLS - 1))); do csc bouncers add "p$i" -k "pull-key-$i" >/dev/null 2>>"$C.log"; done
T=()
T+=("$(timed csc decisions import -i "$OUT/d-0.csv")")
R[cs_imp100k]=${T[0]}
restart cs "$C"; R[cs_ready100k]=$READY
R[cs_rss100k]=$(mib "$SERVER_PID" VmRSS)
log "CrowdSec 100k: lookups"
R[cs_look100k]=$(lookups crowdsec-bench-key $CHUNK)
R[cs_stream100k]=$(stream crowdsec-bench-key)
log "CrowdSec 100k: $CS_PULLS pulls"
R[cs_pulls100k]=$(pulls pull-key- "$CS_PULLS" crowdsec-100k)
t_budget=$(now)
held=$CHUNK
for c in $(seq 1 $((CHUNKS - 1))); do
    if python3 -c "import sys; sys.exit(0 if $(now) - $t_budget < $CS_BUDGET else 1)"; then
        T+=("$(timed csc decisions import -i "$OUT/d-$c.csv")")
        held=$(((c + 1) * CHUNK))
        log "CrowdSec holds $held"
    fi
done
R[cs_held]=$held
R[cs_imp1m]=$(sum "${T[@]}")
restart cs "$C"; R[cs_ready1m]=$READY
R[cs_rss1m]=$(mib "$SERVER_PID" VmRSS)
log "CrowdSec $held: stream, lookups"
R[cs_stream1m]=$(stream crowdsec-bench-key)
R[cs_look1m]=$(lookups crowdsec-bench-key "$held")
stop_server

fi # ONLY_TAIL
# ---- tail vs replay --------------------------------------------------------------------------
TL="$OUT/tail"
rm -rf "$TL" "$TL.log"
: >"$OUT/followed.log"
PORT=$(free_port)
log "hivewall run tailing $TAIL_LINES lines"
start_hw "$TL" "$OUT/followed.log"
parsed() {
    curl -s "http://127.0.0.1:$PORT/metrics" |
        awk '/^hivewall_lines_parsed_total/ { s += $NF } END { printf "%d", s }'
}
t0=$(now)
cat "$AUTH" >>"$OUT/followed.log"
R[append]=$(since "$t0")
deadline=$(($(date +%s) + 600))
while [ "$(parsed)" -lt "$TAIL_LINES" ]; do
    [ "$(date +%s)" -lt "$deadline" ] || die "run parsed only $(parsed) of $TAIL_LINES lines in 600 s"
    sleep 0.1
done
R[tail_s]=$(since "$t0")
stop_server
log "hivewall replay of the same file"
t0=$(now)
"$HW" replay --type syslog --config-dir scenarios "$AUTH" --json >/dev/null 2>"$OUT/replay.log"
R[replay_s]=$(since "$t0")
if [ -n "${ONLY_TAIL:-}" ]; then
    python3 -c "t, r, n = ${R[tail_s]}, ${R[replay_s]}, $TAIL_LINES
print(f'| hivewall run tailing {n:,} auth lines: s (lines/s) | {t:.2f} ({n / t:,.0f}) | replay: {r:.2f} ({n / r:,.0f}) | {r / t:.2f}× replay\'s rate |')"
    exit 0
fi

# ---- table -----------------------------------------------------------------------------------
python3 - "$OUT/results.md" "$PULLS" "$CS_PULLS" "$TAIL_LINES" <<PY
import sys
R = {$(for k in "${!R[@]}"; do printf '"%s": "%s", ' "$k" "${R[$k]}"; done)}
out, pulls, cs_pulls, lines = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
f = lambda k: [float(x) for x in R[k].split()]
held = int(R["cs_held"])
cs_label = "1M" if held == 1_000_000 else f"{held // 1000}k"
rows = []
def row(what, hw, cs, ratio): rows.append(f"| {what} | {hw} | {cs} | {ratio} |")
x = lambda r: f"{r:,.0f}×" if r >= 10 else f"{r:.1f}×"
def imp(n, hk, ck):
    h, c = float(R[hk]), float(R[ck])
    row(f"import {n} decisions (s)", f"{h:.1f}", f"{c:.1f}" + ("" if ck != "cs_imp1m" or held == 1_000_000 else f" ({cs_label} only)"), x(c / max(h, 0.01)) + " faster" if ck != "cs_imp1m" or held == 1_000_000 else x((c / held) / max(h / 1e6, 1e-9)) + " faster per decision")
imp("100k", "hw_imp100k", "cs_imp100k")
imp("1M", "hw_imp1m", "cs_imp1m")
for n, hk, ck, lab in [("100k", "hw_look100k", "cs_look100k", "100k"), ("1M", "hw_look1m", "cs_look1m", cs_label)]:
    h, c = f(hk), f(ck)
    row(f"lookups ?ip= at {n}: req/s (p99 ms)", f"{h[0]:,.0f} ({h[1]:.2f})", f"{c[0]:,.1f} ({c[1]:.0f})" + ("" if lab == n else f" at {lab}"), x(h[0] / max(c[0], 0.01)))
for n, hs, cs, hr, cr, lab in [("100k", "hw_stream100k", "cs_stream100k", "hw_rss100k", "cs_rss100k", "100k"), ("1M", "hw_stream1m", "cs_stream1m", "hw_rss1m", "cs_rss1m", cs_label)]:
    h, c = f(hs), f(cs)
    row(f"startup stream at {n}: s (MiB, decisions)", f"{h[0]:.2f} ({h[1]:.0f}, {h[2]:,.0f})", f"{c[0]:.2f} ({c[1]:.0f}, {c[2]:,.0f})" + ("" if lab == n else f" at {lab}"), x((h[2] / max(h[0], 0.01)) / (c[2] / max(c[0], 0.01))) + " decisions/s")
    row(f"RSS at {n}: idle → peak during the pull (MiB)", f"{R[hr]} → {h[3]:.0f}", f"{R[cr]} → {c[3]:.0f}", "")
h, c = f("hw_pulls100k"), f("cs_pulls100k")
row(f"{cs_pulls} startup pulls at once, 100k: wall s (RSS before → peak MiB, failures)", f"{h[0]:.2f} ({h[1]:.0f} → {h[2]:.0f}, {h[3]:.0f})", f"{c[0]:.2f} ({c[1]:.0f} → {c[2]:.0f}, {c[3]:.0f})", x(c[0] / max(h[0], 0.01)) + " faster")
h = f("hw_pulls300k")
row(f"{pulls} startup pulls at once, 300k: wall s (RSS before → peak MiB, failures)", f"{h[0]:.2f} ({h[1]:.0f} → {h[2]:.0f}, {h[3]:.0f})", "not run", "")
for n, k in [("100k", "ready100k"), ("300k", "ready300k"), ("1M", "ready1m")]:
    row(f"restart until the API answers at {n} (s)", R["hw_" + k], R.get("cs_" + k, "") + ("" if n != "1M" or held == 1_000_000 else f" at {cs_label}"), "")
t, r = float(R["tail_s"]), float(R["replay_s"])
rows.append(f"| hivewall run tailing {lines:,} auth lines: s (lines/s) | {t:.2f} ({lines / max(t, 0.01):,.0f}) | replay: {r:.2f} ({lines / max(r, 0.01):,.0f}) | {r / max(t, 0.01):.2f}× replay's rate |")
text = "| measure | hivewall | CrowdSec 1.4.6 | ratio |\n|---|---|---|---|\n" + "\n".join(rows) + "\n"
open(out, "w").write(text)
print(text, end="")
PY
log "appended $TAIL_LINES lines in ${R[append]} s; raw results in $OUT"
