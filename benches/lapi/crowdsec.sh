#!/usr/bin/env bash
# CrowdSec 1.4.6's Local API alone (`crowdsec -no-cs`), with a private config dir and SQLite
# database under DIR, on 127.0.0.1:PORT. Sourced by run.sh; can also be run by hand:
#
#   benches/lapi/crowdsec.sh DIR PORT     # writes DIR/config.yaml and machine credentials
#
# Then: crowdsec -c DIR/config.yaml -no-cs   (cscli -c DIR/config.yaml ... for the rest)
set -euo pipefail
CS_ROOT="${HIVEWALL_CACHE:-$HOME/.cache/hivewall}/crowdsec-1.4.6"
CROWDSEC="$CS_ROOT/usr/bin/crowdsec"
CSCLI="$CS_ROOT/usr/bin/cscli"

# cs_config DIR PORT: a fresh config and database (DIR is wiped).
cs_config() {
    local dir="$1" port="$2"
    rm -rf "$dir"
    mkdir -p "$dir/data" "$dir/log" "$dir/notifications"
    cp "$CS_ROOT/etc/crowdsec/profiles.yaml" "$CS_ROOT/etc/crowdsec/simulation.yaml" "$dir/"
    : >"$dir/acquis.yaml"
    cat >"$dir/config.yaml" <<YAML
common:
  daemonize: false
  log_media: file
  log_level: warning
  log_dir: $dir/log/
  working_dir: .
config_paths:
  config_dir: $dir/
  data_dir: $dir/data/
  simulation_path: $dir/simulation.yaml
  hub_dir: $CS_ROOT/usr/share/crowdsec/hub/
  index_path: $CS_ROOT/usr/share/crowdsec/hub/.index.json
  notification_dir: $dir/notifications/
  plugin_dir: $CS_ROOT/usr/lib/crowdsec/plugins/
crowdsec_service:
  acquisition_path: $dir/acquis.yaml
cscli:
  output: human
  color: "no"
db_config:
  log_level: warning
  type: sqlite
  db_path: $dir/data/crowdsec.db
  use_wal: true
  flush:
    max_items: 50000000
    max_age: 3650d
plugin_config:
  user: nobody
  group: nogroup
api:
  client:
    insecure_skip_verify: false
    credentials_path: $dir/local_api_credentials.yaml
  server:
    log_level: warning
    listen_uri: 127.0.0.1:$port
    profiles_path: $dir/profiles.yaml
    console_path: $dir/console.yaml
    trusted_ips:
      - 127.0.0.1
prometheus:
  enabled: false
  level: full
  listen_addr: 127.0.0.1
  listen_port: 0
YAML
    "$CSCLI" -c "$dir/config.yaml" --error machines add -a >/dev/null
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    [ $# -eq 2 ] || { sed -n 2,7p "$0" >&2; exit 2; }
    cs_config "$1" "$2"
fi
