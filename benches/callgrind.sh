#!/usr/bin/env bash
# Instructions per line (BENCHMARKS.md, "Instructions per line"): callgrind counts, stable on a
# noisy machine where wall-clock runs are not.
#
#   benches/callgrind.sh [OUTDIR]
#
# - replay, CrowdSec's hub config (the Debian package's hub snapshot, set up by
#   scripts/crowdsec/replay.sh as benches/replay.sh does) and `scenarios/`: the first 20,000
#   lines of `genlog auth-bf 1000000 7` and the first 10,000 of `genlog nginx 1000000 7`, less
#   a run on their first line alone (loading), one thread;
# - parse alone: `ParserSet::parse` toggled in `parse_bench --lines 100000`, per line.
#
# Needs valgrind. OUTDIR (default ~/.cache/hivewall/bench) is shared with benches/replay.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-${HIVEWALL_CACHE:-$HOME/.cache/hivewall}/bench}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/hivewall/target}"
export HIVEWALL_SHARED="${HIVEWALL_SHARED:-$(cd .. && pwd)/shared}"
command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)" >&2; exit 1; }
cargo build --release -q -p cli -p benches
BIN="$CARGO_TARGET_DIR/release"
mkdir -p "$OUT"

# The logs, their heads and their first lines.
for kind in auth-bf nginx; do
  [ -s "$OUT/$kind-1000000.log" ] || "$BIN/genlog" "$kind" 1000000 7 >"$OUT/$kind-1000000.log"
done
head -n 20000 "$OUT/auth-bf-1000000.log" >"$OUT/cg-auth-bf.log"
head -n 10000 "$OUT/nginx-1000000.log" >"$OUT/cg-nginx.log"
head -n 1 "$OUT/auth-bf-1000000.log" >"$OUT/cg-auth-bf-1.log"
head -n 1 "$OUT/nginx-1000000.log" >"$OUT/cg-nginx-1.log"

# CrowdSec's hub config for each log, as benches/replay.sh leaves it (made here on one line).
for pair in "auth-bf syslog" "nginx nginx"; do
  set -- $pair
  cs="$OUT/crowdsec-$1"
  [ -d "$cs/work/config" ] ||
    scripts/crowdsec/replay.sh "$OUT/cg-$1-1.log" "$2" "$cs" --keep-work >"$cs.setup.out" 2>&1
done

# count ARGS...: instructions callgrind collected running ARGS.
count() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
    awk '/Collected :/ { print $4 }'
}

# per_line LINES CONFIG-ARGS... : instructions a line of a replay, loading left out.
per_line() {
  local kind=$1 type=$2 lines=$3
  shift 3
  local all one
  all=$(count "$BIN/hivewall" replay "$@" --type "$type" "$OUT/cg-$kind.log" --json --threads 1)
  one=$(count "$BIN/hivewall" replay "$@" --type "$type" "$OUT/cg-$kind-1.log" --json --threads 1)
  echo $(((all - one) / (lines - 1)))
}

hub() { echo --config-dir "$OUT/crowdsec-$1/work/config" --data-dir "$OUT/crowdsec-$1/work/data"; }

echo "| run | instructions a line |"
echo "|---|---|"
# shellcheck disable=SC2046
echo "| auth-bf replay, CrowdSec's hub config | $(per_line auth-bf syslog 20000 $(hub auth-bf)) |"
# shellcheck disable=SC2046
echo "| nginx replay, CrowdSec's hub config | $(per_line nginx nginx 10000 $(hub nginx)) |"
echo "| auth-bf replay, scenarios/ | $(per_line auth-bf syslog 20000 --config-dir scenarios) |"
echo "| nginx replay, scenarios/ | $(per_line nginx nginx 10000 --config-dir scenarios) |"
parse=$(count --toggle-collect='engine::parser::ParserSet::parse' "$BIN/parse_bench" --lines 100000 --f2b-lines 10)
echo "| parse alone (ParserSet::parse, 100,000 lines) | $((parse / 100000)) |"
