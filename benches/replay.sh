#!/usr/bin/env bash
# Replay benchmark (BENCHMARKS.md): hivewall on 1M-line generated auth and nginx logs, next to
# the real CrowdSec 1.4.6 on 100k-line files of each, in the same run, with the same parser and
# scenario files (the package's hub snapshot). Also hivewall on the 100k files, to compare
# memory on the same log.
#
#   benches/replay.sh [OUTDIR] [BIG_LINES] [SMALL_LINES]
#   BIN_DIR=DIR benches/replay.sh ...     # hivewall and genlog from DIR, not built here (e.g.
#                                         # the profile-guided build of scripts/pgo-build.sh)
#   THREADS=1 benches/replay.sh ...       # hivewall replay --threads 1 (default: every core)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${1:-${HIVEWALL_CACHE:-$HOME/.cache/hivewall}/bench}"
BIG="${2:-1000000}"
SMALL="${3:-100000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/hivewall/target}"
if [ -n "${BIN_DIR:-}" ]; then
  BIN="$BIN_DIR"
else
  cargo build --release -q -p cli -p benches
  BIN="$CARGO_TARGET_DIR/release"
fi
THREAD_ARGS=()
[ -n "${THREADS:-}" ] && THREAD_ARGS=(--threads "$THREADS")
mkdir -p "$OUT"
command -v /usr/bin/time >/dev/null && command -v bc >/dev/null || { apt-get update -qq && apt-get install -y -qq time bc; }

gen() { [ -s "$OUT/$1-$2.log" ] || "$BIN/genlog" "$1" "$2" 7 > "$OUT/$1-$2.log"; }
for kind in auth-bf nginx; do gen "$kind" "$BIG"; gen "$kind" "$SMALL"; done

# field NAME FILE: a value from GNU time -v output.
field() { grep -F "$1" "$2" | awk -F': ' '{print $2}'; }
secs() { awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }' <<<"$1"; }

row() { # label lines time-file
  local t rss
  t=$(secs "$(field 'Elapsed (wall clock)' "$3")")
  rss=$(field 'Maximum resident set size' "$3")
  printf '| %s | %s | %.2f | %.0f | %.1f |\n' "$1" "$2" "$t" "$(echo "$2 / $t" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
}

echo "| run | lines | seconds | lines/s | max RSS MiB |"
echo "|---|---|---|---|---|"
for pair in "auth-bf syslog" "nginx nginx"; do
  set -- $pair
  kind=$1 type=$2
  cs="$OUT/crowdsec-$kind"
  scripts/crowdsec/replay.sh "$OUT/$kind-$SMALL.log" "$type" "$cs" --keep-work >"$OUT/crowdsec-$kind.out" 2>&1
  cs_s=$(python3 -c "import json;d=json.load(open('$cs/stats.json'));print(d['seconds'], d['max_rss_kb'], d['overflows'])")
  read -r s rss n <<<"$cs_s"
  printf '| CrowdSec 1.4.6, %s | %s | %.2f | %.0f | %.1f |\n' "$kind" "$SMALL" "$s" "$(echo "$SMALL / $s" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
  for lines in "$SMALL" "$BIG"; do
    /usr/bin/time -v "$BIN/hivewall" replay --config-dir "$cs/work/config" --data-dir "$cs/work/data" \
      --type "$type" "$OUT/$kind-$lines.log" --json "${THREAD_ARGS[@]}" >"$OUT/hivewall-$kind-$lines.jsonl" 2>"$OUT/hivewall-$kind-$lines.time"
    row "hivewall, $kind" "$lines" "$OUT/hivewall-$kind-$lines.time"
  done
  grep -h "live buckets" "$OUT/hivewall-$kind-$BIG.time" | sed "s/^/  $kind $BIG: /" >&2
  echo "  $kind $SMALL: CrowdSec $n overflows, hivewall $(wc -l <"$OUT/hivewall-$kind-$SMALL.jsonl")" >&2
done
