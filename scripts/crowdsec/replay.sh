#!/usr/bin/env bash
# Replay a log file through Debian's CrowdSec 1.4.6 (time-machine mode) and write its
# overflows in a normalized form.
#
#   scripts/crowdsec/replay.sh LOGFILE TYPE OUTDIR [--scenarios a,b,...] [--keep-work]
#
#   TYPE      syslog (sshd auth log) or nginx (nginx access/error log)
#   OUTDIR    created if missing; gets overflows.jsonl, stats.json, crowdsec.log, alerts.json
#             and a private work dir OUTDIR/work (config, sqlite db; wiped at each run,
#             deleted at the end unless --keep-work)
#   --scenarios  comma-separated scenario item names (e.g. crowdsecurity/ssh-bf) restricting
#                the default set of TYPE; names must be items of the package's hub snapshot
#
# Env: HIVEWALL_CACHE (see install.sh; install.sh is run when the cache is missing).
# See scripts/crowdsec/README.md.
set -euo pipefail

die() { echo "replay.sh: error: $*" >&2; exit 1; }
log() { echo "replay.sh: $*" >&2; }

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${HIVEWALL_CACHE:-$HOME/.cache/hivewall}"
ROOT="$CACHE/crowdsec-1.4.6"
HUB="$ROOT/usr/share/crowdsec/hub"

usage() { sed -n '2,17p' "$0" >&2; exit 2; }

# ---- arguments --------------------------------------------------------------------------------
POS=()
SCENARIOS_ARG=""
KEEP_WORK=0
while [ $# -gt 0 ]; do
    case "$1" in
        --scenarios) [ $# -ge 2 ] || die "--scenarios needs a value"; SCENARIOS_ARG="$2"; shift 2 ;;
        --scenarios=*) SCENARIOS_ARG="${1#--scenarios=}"; shift ;;
        --keep-work) KEEP_WORK=1; shift ;;
        -h|--help) usage ;;
        -*) die "unknown option: $1" ;;
        *) POS+=("$1"); shift ;;
    esac
done
[ "${#POS[@]}" -eq 3 ] || usage
LOGFILE="${POS[0]}"
TYPE="${POS[1]}"
OUTDIR="${POS[2]}"

[ -f "$LOGFILE" ] || die "log file not found: $LOGFILE"
[ -r "$LOGFILE" ] || die "log file not readable: $LOGFILE"
LOGFILE="$(realpath "$LOGFILE")"
case "$LOGFILE" in *[[:space:]]*) die "log file path must not contain spaces: $LOGFILE" ;; esac

# ---- item sets per type -----------------------------------------------------------------------
# Parsers: stage/author/name (as in the hub snapshot).
case "$TYPE" in
    syslog)
        PARSERS=(s00-raw/crowdsecurity/syslog-logs s01-parse/crowdsecurity/sshd-logs
                 s02-enrich/crowdsecurity/dateparse-enrich)
        # crowdsecurity/sshd collection of the snapshot.
        DEFAULT_SCENARIOS=(crowdsecurity/ssh-bf crowdsecurity/ssh-slow-bf)
        ;;
    nginx)
        # syslog-logs.yaml also holds crowdsecurity/non-syslog, which sets Parsed.program to
        # the type label for non-syslog sources (nginx-logs filters on it).
        PARSERS=(s00-raw/crowdsecurity/syslog-logs s01-parse/crowdsecurity/nginx-logs s02-enrich/crowdsecurity/http-logs
                 s02-enrich/crowdsecurity/dateparse-enrich)
        # crowdsecurity/base-http-scenarios collection of the snapshot (without its nested
        # http-cve collection), the nginx collection's own scenario, and the wordpress ones.
        DEFAULT_SCENARIOS=(
            crowdsecurity/http-crawl-non_statics crowdsecurity/http-probing
            crowdsecurity/http-bad-user-agent crowdsecurity/http-path-traversal-probing
            crowdsecurity/http-sensitive-files crowdsecurity/http-sqli-probing
            crowdsecurity/http-xss-probing crowdsecurity/http-backdoors-attempts
            ltsich/http-w00tw00t crowdsecurity/http-generic-bf crowdsecurity/http-open-proxy
            crowdsecurity/nginx-req-limit-exceeded
            crowdsecurity/http-bf-wordpress_bf crowdsecurity/http-bf-wordpress_bf_xmlrpc
            crowdsecurity/http-wordpress_wpconfig crowdsecurity/http-wordpress_user-enum
        )
        ;;
    *) die "unsupported TYPE '$TYPE' (syslog or nginx)" ;;
esac
if [ -n "$SCENARIOS_ARG" ]; then
    IFS=',' read -r -a SCENARIOS <<<"$SCENARIOS_ARG"
    [ "${#SCENARIOS[@]}" -gt 0 ] || die "--scenarios is empty"
else
    SCENARIOS=("${DEFAULT_SCENARIOS[@]}")
fi

# ---- tools -----------------------------------------------------------------------------------
if [ ! -x "$ROOT/usr/bin/crowdsec" ]; then
    log "crowdsec not in $ROOT, running install.sh"
    "$HERE/install.sh" >/dev/null || die "install.sh failed"
fi
CROWDSEC="$ROOT/usr/bin/crowdsec"
CSCLI="$ROOT/usr/bin/cscli"
[ -x /usr/bin/time ] || die "/usr/bin/time missing (apt-get install time, or run install.sh)"
command -v python3 >/dev/null || die "python3 missing"

# ---- private work dir -------------------------------------------------------------------------
mkdir -p "$OUTDIR"
OUTDIR="$(realpath "$OUTDIR")"
WORK="$OUTDIR/work"
CONF_DIR="$WORK/config"
DATA_DIR="$WORK/data"
LOG_DIR="$WORK/log"
CONF="$CONF_DIR/config.yaml"
rm -rf "$WORK"
rm -f "$OUTDIR/overflows.jsonl" "$OUTDIR/stats.json" "$OUTDIR/alerts.json" "$OUTDIR/crowdsec.log"
mkdir -p "$CONF_DIR" "$DATA_DIR" "$LOG_DIR" "$CONF_DIR/notifications"

CS_PID=""
cleanup() {
    local rc=$?
    if [ -n "$CS_PID" ] && kill -0 "$CS_PID" 2>/dev/null; then
        kill "$CS_PID" 2>/dev/null || true
        sleep 1
        kill -9 "$CS_PID" 2>/dev/null || true
    fi
    # /usr/bin/time forks crowdsec: make sure the child is gone too.
    if [ -n "${CS_CHILD:-}" ] && kill -0 "$CS_CHILD" 2>/dev/null; then
        kill -9 "$CS_CHILD" 2>/dev/null || true
    fi
    if [ "$rc" -eq 0 ] && [ "$KEEP_WORK" = 0 ]; then
        rm -rf "$WORK"
    elif [ "$rc" -ne 0 ]; then
        echo "replay.sh: failed (exit $rc); work dir kept in $WORK" >&2
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Package defaults: patterns, profiles, simulation (the package's /etc/crowdsec).
cp -r "$ROOT/etc/crowdsec/patterns" "$CONF_DIR/patterns"
cp "$ROOT/etc/crowdsec/profiles.yaml" "$ROOT/etc/crowdsec/simulation.yaml" "$CONF_DIR/"
: >"$CONF_DIR/acquis.yaml"

# Data files: the package's, plus each item's `data: dest_file` that the package ships under
# the basename of its source_url (e.g. http_path_traversal.txt <- path_traversal.txt).
cp "$ROOT"/usr/share/crowdsec/data/* "$DATA_DIR/"

# Free loopback port for the local API.
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"

cat >"$CONF" <<EOF
# Generated by hivewall scripts/crowdsec/replay.sh from the package's /etc/crowdsec/config.yaml.
common:
  daemonize: false
  log_media: file
  log_level: info
  log_dir: $LOG_DIR/
  log_max_size: 500
  compress_logs: false
  log_max_files: 10
  working_dir: .
config_paths:
  config_dir: $CONF_DIR/
  data_dir: $DATA_DIR/
  simulation_path: $CONF_DIR/simulation.yaml
  hub_dir: $HUB/
  index_path: $HUB/.index.json
  notification_dir: $CONF_DIR/notifications/
  plugin_dir: $ROOT/usr/lib/crowdsec/plugins/
crowdsec_service:
  acquisition_path: $CONF_DIR/acquis.yaml
  parser_routines: 1
cscli:
  output: human
  color: "no"
db_config:
  log_level: info
  type: sqlite
  db_path: $DATA_DIR/crowdsec.db
  use_wal: true
  flush:
    max_items: 5000000
    max_age: 3650d
plugin_config:
  user: nobody
  group: nogroup
api:
  client:
    insecure_skip_verify: false
    credentials_path: $CONF_DIR/local_api_credentials.yaml
  server:
    log_level: info
    listen_uri: 127.0.0.1:$PORT
    profiles_path: $CONF_DIR/profiles.yaml
    console_path: $CONF_DIR/console.yaml
    trusted_ips:
      - 127.0.0.1
prometheus:
  enabled: false
  level: full
  listen_addr: 127.0.0.1
  listen_port: 0
EOF

# ---- install items (symlinks into the hub snapshot, vendor dir stripped like Debian's
# postinst does: config/parsers/<stage>/<name>.yaml -> hub/parsers/<stage>/<author>/<name>.yaml)
link_item() { # kind relpath-without-.yaml
    local kind="$1" rel="$2" src dst
    src="$HUB/$kind/$rel.yaml"
    [ -f "$src" ] || die "$kind item not in the hub snapshot: $rel ($src)"
    if [ "$kind" = scenarios ]; then
        dst="$CONF_DIR/scenarios/$(basename "$rel").yaml"
    else
        dst="$CONF_DIR/$kind/$(dirname "$(dirname "$rel")")/$(basename "$rel").yaml"
    fi
    mkdir -p "$(dirname "$dst")"
    [ ! -e "$dst" ] || die "two items install to the same file $dst"
    ln -s "$src" "$dst"
    # Data files the item declares.
    python3 - "$src" "$DATA_DIR" <<'PY' || die "data files of $rel"
import os, re, shutil, sys
src, data = sys.argv[1], sys.argv[2]
text = open(src, encoding="utf-8").read()
for m in re.finditer(r"source_url:\s*(\S+)\s*\n\s*dest_file:\s*(\S+)", text):
    url, dest = m.group(1), m.group(2)
    target = os.path.join(data, dest)
    if os.path.exists(target):
        continue
    alt = os.path.join(data, os.path.basename(url))
    if not os.path.exists(alt):
        sys.exit(f"{src}: data file {dest} (from {url}) is not shipped by the package")
    shutil.copyfile(alt, target)
PY
}
for p in "${PARSERS[@]}"; do link_item parsers "$p"; done
for s in "${SCENARIOS[@]}"; do
    case "$s" in */*) ;; *) die "scenario '$s' must be author/name" ;; esac
    link_item scenarios "$s"
done

# ---- machine credentials for the local API ----------------------------------------------------
"$CSCLI" -c "$CONF" --error machines add -a >"$WORK/cscli-machines.log" 2>&1 \
    || die "cscli machines add failed: $(cat "$WORK/cscli-machines.log")"
[ -s "$CONF_DIR/local_api_credentials.yaml" ] || die "cscli did not write local_api_credentials.yaml"
grep -q "127.0.0.1:$PORT" "$CONF_DIR/local_api_credentials.yaml" \
    || die "local_api_credentials.yaml does not point to 127.0.0.1:$PORT"

# Config check (loads every installed parser/scenario and data file).
"$CROWDSEC" -c "$CONF" -t -warning -dsn "file://$LOGFILE" -type "$TYPE" -no-capi >"$WORK/config-test.log" 2>&1 \
    || die "crowdsec -t failed: $(tail -5 "$WORK/config-test.log")"

# ---- replay ------------------------------------------------------------------------------------
LINES="$(wc -l <"$LOGFILE")"
log "replaying $LINES lines ($TYPE) with ${#SCENARIOS[@]} scenario files, LAPI on 127.0.0.1:$PORT"
START_NS="$(date +%s%N)"
/usr/bin/time -v -o "$WORK/time.txt" \
    "$CROWDSEC" -c "$CONF" -dsn "file://$LOGFILE" -type "$TYPE" -no-capi \
    >"$WORK/crowdsec.stdout" 2>&1 &
CS_PID=$!
CS_CHILD=""
for _ in 1 2 3 4 5 6 7 8 9 10; do
    CS_CHILD="$(pgrep -P "$CS_PID" -x crowdsec || true)"
    [ -n "$CS_CHILD" ] && break
    sleep 0.1
done
set +e
wait "$CS_PID"
CS_RC=$?
set -e
CS_PID=""
END_NS="$(date +%s%N)"
# Single-file mode forces log_media=stdout: crowdsec's log is its stdout.
cp "$WORK/crowdsec.stdout" "$OUTDIR/crowdsec.log"
[ "$CS_RC" -eq 0 ] || die "crowdsec exited with $CS_RC: $(tail -5 "$OUTDIR/crowdsec.log")"
if grep -q 'level=fatal' "$OUTDIR/crowdsec.log"; then
    die "crowdsec logged a fatal error: $(grep 'level=fatal' "$OUTDIR/crowdsec.log" | head -3)"
fi
grep -q 'msg="crowdsec shutdown"' "$OUTDIR/crowdsec.log" \
    || die "crowdsec did not shut down cleanly (no 'crowdsec shutdown' in its log)"

# ---- results -----------------------------------------------------------------------------------
# Overflows are read from the alerts table of the local API's SQLite database, which crowdsec
# has closed when it exits (see README.md); its log's "performed" lines are cross-checked.
python3 "$HERE/normalize.py" \
    --db "$DATA_DIR/crowdsec.db" --crowdsec-log "$OUTDIR/crowdsec.log" \
    --time "$WORK/time.txt" --lines "$LINES" \
    --seconds "$(python3 -c "print(($END_NS - $START_NS) / 1e9)")" \
    --alerts "$OUTDIR/alerts.json" --overflows "$OUTDIR/overflows.jsonl" --stats "$OUTDIR/stats.json" \
    || die "normalize.py failed"

log "$(wc -l <"$OUTDIR/overflows.jsonl") overflows -> $OUTDIR/overflows.jsonl; stats: $(cat "$OUTDIR/stats.json")"
