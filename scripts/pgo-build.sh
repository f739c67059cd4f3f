#!/usr/bin/env bash
# Builds `hivewall` with profile-guided optimisation (BENCHMARKS.md, "Profile-guided
# optimisation"): an instrumented build replays generated logs through `scenarios/` (nothing
# from outside the repository), and the profile it records guides a release build. The
# engine's hot paths are interpreters (grok atoms, predicates, expressions) and regex engines
# whose branches and code layout the profile settles: parse and replay run 15-40% faster.
#
#   scripts/pgo-build.sh            # prints the path of the built hivewall
#   PGO_EXTRA="-p benches --bin parse_bench" scripts/pgo-build.sh   # more binaries, same profile
#   PGO_CONFIGS="/etc/crowdsec:/var/lib/crowdsec/data" scripts/pgo-build.sh
#
# PGO_CONFIGS adds configurations (`CONFIG_DIR[:DATA_DIR]`, space-separated) that the training
# replays the same logs through, e.g. a CrowdSec installation's hub parsers and scenarios: code
# the training never ran stays cold (BENCHMARKS.md measures both ways).
#
# Needs the toolchain's llvm-profdata (`rustup component add llvm-tools`, done here when rustup
# is present) and what a release build needs (libclang for RocksDB's bindings). Work files and
# both builds live under $CARGO_TARGET_DIR (default target/) in pgo-gen/, pgo-use/ and pgo-data/.
set -euo pipefail
cd "$(dirname "$0")/.."
T="$(realpath -m "${CARGO_TARGET_DIR:-target}")"
DATA="$T/pgo-data"
EXTRA=(${PGO_EXTRA:-})

if command -v rustup >/dev/null; then
  rustup component list --installed 2>/dev/null | grep -q '^llvm-tools' || rustup component add llvm-tools >&2
fi
PROFDATA="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | awk '/^host:/ { print $2 }')/bin/llvm-profdata"
[ -x "$PROFDATA" ] || { echo "llvm-profdata not found at $PROFDATA (rustup component add llvm-tools)" >&2; exit 1; }

# RocksDB's C++ is compiled once (release) and linked by both builds: each set of RUSTFLAGS
# would otherwise compile it again.
if [ -z "${ROCKSDB_LIB_DIR:-}" ]; then
  rocks_ver="$(awk '/^name = "librocksdb-sys"/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)"
  lib="$T/pgo-rocksdb-$rocks_ver"
  if [ ! -f "$lib/librocksdb.a" ]; then
    echo "== RocksDB $rocks_ver (once)" >&2
    CARGO_TARGET_DIR="$T" cargo build --release -q --locked -p librocksdb-sys >&2
    mkdir -p "$lib"
    cp "$(ls -t "$T"/release/build/librocksdb-sys-*/out/librocksdb.a | head -1)" "$lib/"
  fi
  export ROCKSDB_LIB_DIR="$lib" ROCKSDB_STATIC=1
fi

echo "== instrumented build" >&2
rm -rf "$DATA" && mkdir -p "$DATA"
RUSTFLAGS="-Cprofile-generate=$DATA" CARGO_TARGET_DIR="$T/pgo-gen" \
  cargo build --release -q --locked -p cli -p benches --bin hivewall --bin genlog "${EXTRA[@]}" >&2
# Build scripts ran instrumented too: only the training's profiles are kept.
rm -f "$DATA"/*.profraw

echo "== training: generated logs through scenarios/" >&2
GEN="$T/pgo-gen/release"
LOGS="$T/pgo-logs" && mkdir -p "$LOGS"
"$GEN/genlog" auth-bf 300000 11 >"$LOGS/auth-bf.log"
"$GEN/genlog" auth 200000 11 >"$LOGS/auth.log"
"$GEN/genlog" nginx 150000 11 >"$LOGS/nginx.log"
for cfg in scenarios ${PGO_CONFIGS:-}; do
  dirs=(--config-dir "${cfg%%:*}")
  [ "${cfg#*:}" != "$cfg" ] && dirs+=(--data-dir "${cfg#*:}")
  for run in "syslog auth-bf 1" "syslog auth 1" "nginx nginx 1" "syslog auth-bf 2" "nginx nginx 2"; do
    set -- $run
    "$GEN/hivewall" --log-level warn replay "${dirs[@]}" --type "$1" "$LOGS/$2.log" \
      --json --threads "$3" >/dev/null 2>&1
  done
done
"$PROFDATA" merge -o "$DATA/merged.profdata" "$DATA"/*.profraw
# Named by its content: cargo rebuilds when RUSTFLAGS change, not when a file they name does.
PROFILE="$DATA/$(sha256sum "$DATA/merged.profdata" | cut -c1-16).profdata"
mv "$DATA/merged.profdata" "$PROFILE"

# The release profile of the instrumented build: with fat LTO on top, the profile guided less
# (replay no faster than without it, BENCHMARKS.md).
echo "== optimised build (release, profile-guided)" >&2
RUSTFLAGS="-Cprofile-use=$PROFILE" CARGO_TARGET_DIR="$T/pgo-use" \
  cargo build --release -q --locked -p cli --bin hivewall "${EXTRA[@]}" >&2
echo "$T/pgo-use/release/hivewall"
