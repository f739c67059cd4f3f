#!/usr/bin/env bash
# Runs the cargo-fuzz targets of fuzz/ (libFuzzer, nightly Rust) for a fixed time each, at the
# lowest CPU priority, and prints what they found. Not part of CI: see docs/fuzzing.md.
#
#   scripts/fuzz.sh [TARGET|all] [SECONDS]     (default: all, 600 s per target)
#
# Targets: expr grok time syslog yaml wire. Seeds come from the hub (HIVEWALL_SHARED or
# ../shared) and our scenarios/ (fuzz/seed.py); the corpus grows in fuzz/corpus/<target>,
# crashes land in fuzz/artifacts/<target>/ and each run's log in fuzz/logs/.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
TARGET="${1:-all}"
SECS="${2:-600}"
SHARED="${HIVEWALL_SHARED:-$(cd .. && pwd)/shared}"
export HIVEWALL_SHARED="$SHARED"
# A target dir of its own: sanitizer builds would otherwise invalidate the main cache.
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$HOME/.cache/hivewall/fuzz-target}"
ALL=(expr grok time syslog yaml wire)

# libFuzzer's per-input timeout. expr gets more: a range at expr-lang's memory budget (1e6
# items, what CrowdSec allows) is built, printed and serialized four times per input by the
# target, which takes ~10 s under the sanitizer.
timeout_for() {
  case "$1" in
    expr) echo 40 ;;
    *) echo 10 ;;
  esac
}

max_len() {
  case "$1" in
    expr) echo 512 ;;
    grok) echo 1024 ;;
    time) echo 128 ;;
    syslog) echo 2048 ;;
    yaml) echo 8192 ;;
    wire) echo 4096 ;;
    *) echo "unknown target $1 (one of: ${ALL[*]})" >&2; exit 2 ;;
  esac
}

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
[ -d "$SHARED/crowdsec/hub" ] || { echo "hub not found at $SHARED (set HIVEWALL_SHARED)" >&2; exit 1; }
python3 fuzz/seed.py "$SHARED"

if [ "$TARGET" = all ]; then targets=("${ALL[@]}"); else targets=("$TARGET"); fi
mkdir -p fuzz/logs
cd fuzz
status=0
for t in "${targets[@]}"; do
  len=$(max_len "$t")
  log="logs/$t-$(date -u +%Y%m%dT%H%M%SZ).log"
  echo "== $t: ${SECS}s, max_len $len, log fuzz/$log"
  # -a: overflow checks and debug assertions on, so arithmetic overflow is a crash.
  nice -n 19 cargo +nightly fuzz build -a "$t" >/dev/null
  set +e
  nice -n 19 cargo +nightly fuzz run -a "$t" "corpus/$t" -- \
    -max_total_time="$SECS" -max_len="$len" -timeout="$(timeout_for "$t")" -rss_limit_mb=2048 \
    -print_final_stats=1 >"$log" 2>&1
  rc=$?
  set -e
  # libFuzzer's last status line (`#N DONE cov: .. ft: ..`) and final stats.
  grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -1 || true
  grep -E 'stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" || true
  if [ $rc -ne 0 ]; then
    status=1
    echo "!! $t failed (exit $rc):"
    grep -E '^(==[0-9]+==|thread .* panicked|SUMMARY|artifact_prefix|Test unit written)' "$log" | head -20
  fi
  crashes=$(ls "artifacts/$t" 2>/dev/null | wc -l)
  echo "   artifacts in fuzz/artifacts/$t: $crashes"
done
exit $status
