#!/usr/bin/env bash
# The test command (README): installs what a fresh machine lacks, then builds, lints and tests.
# Build output goes outside the clone so CI and later runs reuse it.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/hivewall/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
SHARED="${HIVEWALL_SHARED:-$(cd .. && pwd)/shared}"

need_apt=()
command -v cc >/dev/null || need_apt+=(build-essential)
command -v pkg-config >/dev/null || need_apt+=(pkg-config)
# bindgen (librocksdb-sys) needs libclang.
ls /usr/lib/llvm-*/lib/libclang.so* >/dev/null 2>&1 || need_apt+=(libclang-dev)
# The Kafka tests run a real broker (docker/kafka/kafka.sh: jars from Maven Central, Java 17).
command -v java >/dev/null || need_apt+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || need_apt+=(maven)
command -v flock >/dev/null || need_apt+=(util-linux)
if ((${#need_apt[@]})); then
  echo "== installing ${need_apt[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}"
fi
if ! command -v cargo >/dev/null; then
  echo "cargo is missing: install Rust (rustup) first" >&2
  exit 1
fi
rustup component list --installed 2>/dev/null | grep -q '^rustfmt' || rustup component add rustfmt
rustup component list --installed 2>/dev/null | grep -q '^clippy' || rustup component add clippy

if [ ! -d "$SHARED/crowdsec/hub" ]; then
  echo "conformance data not found at $SHARED/crowdsec (set HIVEWALL_SHARED)" >&2
  exit 1
fi
export HIVEWALL_SHARED="$SHARED"

# RocksDB's C++ is compiled once into the cache and linked from there: cargo resolves different
# features for clippy, doc and test, and each would compile RocksDB again (~13 min each).
rocks_ver="$(awk '/^name = "librocksdb-sys"/ { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)"
ROCKSDB_LIB="$HOME/.cache/hivewall/rocksdb-$rocks_ver"
if [ ! -f "$ROCKSDB_LIB/librocksdb.a" ]; then
  echo "== building RocksDB $rocks_ver once (about 13 minutes on a fresh machine)"
  env -u ROCKSDB_LIB_DIR -u ROCKSDB_STATIC cargo build -q --locked -p librocksdb-sys
  built="$(ls -t "$CARGO_TARGET_DIR"/debug/build/librocksdb-sys-*/out/librocksdb.a | head -1)"
  mkdir -p "$ROCKSDB_LIB.tmp"
  cp "$built" "$ROCKSDB_LIB.tmp/librocksdb.a"
  strip --strip-debug "$ROCKSDB_LIB.tmp/librocksdb.a"
  mv "$ROCKSDB_LIB.tmp" "$ROCKSDB_LIB"
fi
export ROCKSDB_LIB_DIR="$ROCKSDB_LIB" ROCKSDB_STATIC=1

echo "== fmt";    cargo fmt --all -- --check
echo "== clippy"; cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== doc";    RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked -q
echo "== clients and test data (real bouncers, CrowdSec 1.4.6, the GeoLite2 City database)"
scripts/clients/install.sh
geoip_dir="$(scripts/geoip/install.sh)"
export HIVEWALL_GEOIP_DIR="$geoip_dir"
echo "== Kafka broker for the Kafka tests (docker/kafka/kafka.sh, KRaft, 127.0.0.1:19092)"
KAFKA_DIR="$HOME/.cache/hivewall/kafka-test"
trap 'docker/kafka/kafka.sh stop --dir "$KAFKA_DIR" >/dev/null 2>&1 || true' EXIT
# The same directory and port as the tests' own fallback, under the same lock; fresh data.
docker/kafka/kafka.sh stop --dir "$KAFKA_DIR" >/dev/null 2>&1 || true
brokers="$(flock -o "$KAFKA_DIR.lock" docker/kafka/kafka.sh start --dir "$KAFKA_DIR" --port 19092 --fresh)"
export HIVEWALL_KAFKA_BROKERS="$brokers"
echo "== test (includes the hub conformance check and the differential check vs CrowdSec 1.4.6)"
log="$(mktemp)"
cargo test --workspace --locked 2>&1 | tee "$log"
echo "== end to end: hivewall run with real bouncers and the CrowdSec 1.4.6 agent (tests/e2e)"
cargo build -q --locked -p cli
# Our content must load in CrowdSec as it is (exit 1 on anything CrowdSec would refuse).
echo "== lint scenarios/ against current CrowdSec's loading rules" | tee -a "$log"
"$CARGO_TARGET_DIR/debug/hivewall" lint scenarios 2>&1 | tee -a "$log"
HIVEWALL_BIN="$CARGO_TARGET_DIR/debug/hivewall" python3 -m pytest -q tests/e2e 2>&1 | tee -a "$log"
# One closing line for the whole run (the last cargo summary is the doc tests', often 0 tests).
# pytest closes with "N passed" / "N failed, M passed in Xs".
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed;/) p += $i; if ($(i+1) ~ /^failed;/) f += $i } }
     / passed| failed/ && !/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } }
     END { printf "tests: %d passed, %d failed\n", p, f }' "$log"
rm -f "$log"
