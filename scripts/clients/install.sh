#!/usr/bin/env bash
# Install the real CrowdSec clients hivewall's end-to-end tests (tests/e2e) run against
# `hivewall run`, on Debian 12 (amd64). Idempotent and quiet: prints one summary line per
# client; fails loudly (exit 1, message on stderr) when something cannot be installed.
#
#   scripts/clients/install.sh
#
# Env: HIVEWALL_CACHE (default $HOME/.cache/hivewall). Installs:
#   python:  pycrowdsec 0.0.5 and pytest (pip, into the current python3)
#   node:    @crowdsec/nodejs-bouncer 0.2.0 into $HIVEWALL_CACHE/clients/node
#   go:      scripts/clients/go-bouncer (go-cs-bouncer v0.0.14) -> $HIVEWALL_CACHE/clients/bin/go-bouncer
#   debian:  crowdsec 1.4.6 (agent + cscli), crowdsec-custom-bouncer, crowdsec-firewall-bouncer,
#            extracted by scripts/crowdsec/install.sh --bouncers into $HIVEWALL_CACHE/crowdsec-1.4.6
#   apt:     nftables, iproute2 (and nodejs, npm) when missing
set -euo pipefail

die() { echo "clients/install.sh: error: $*" >&2; exit 1; }
say() { echo "clients/install.sh: $*" >&2; }

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${HIVEWALL_CACHE:-$HOME/.cache/hivewall}"
CLIENTS="$CACHE/clients"
PYCROWDSEC_VERSION=0.0.5
NODE_BOUNCER_VERSION=0.2.0
mkdir -p "$CLIENTS/bin" "$CLIENTS/node"

apt_install() { # pkg...
    command -v apt-get >/dev/null || die "apt-get not found (Debian required) to install $*"
    [ "$(id -u)" = 0 ] || die "root needed to apt-get install $*"
    say "apt-get install $*"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 \
        || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends "$@" >/dev/null; } \
        || die "apt-get install $* failed"
}

# ---- apt packages ------------------------------------------------------------------------------
need=()
command -v nft >/dev/null || [ -x /usr/sbin/nft ] || need+=(nftables)
command -v ip >/dev/null || [ -x /usr/sbin/ip ] || need+=(iproute2)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
command -v python3 >/dev/null || need+=(python3 python3-pip)
if [ "${#need[@]}" -gt 0 ]; then apt_install "${need[@]}"; fi

# ---- python: pycrowdsec + pytest + schemathesis ---------------------------------------------------------------
py_has() {
    python3 - "$PYCROWDSEC_VERSION" <<'PY' 2>/dev/null
import sys
from importlib import metadata
import pytest  # noqa: F401
ok = metadata.version("pycrowdsec") == sys.argv[1]
ok = ok and metadata.version("schemathesis").split(".")[0] == "4"
sys.exit(0 if ok else 1)
PY
}
if ! py_has; then
    python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip
    pip_args=(install -q --disable-pip-version-check "pycrowdsec==$PYCROWDSEC_VERSION" pytest 'schemathesis>=4,<5')
    if ! err="$(python3 -m pip "${pip_args[@]}" 2>&1)"; then
        # Debian's system python is "externally managed" (PEP 668): pycrowdsec is not packaged
        # by Debian, so install it next to the system's packages on this test machine.
        if grep -q externally-managed <<<"$err"; then
            python3 -m pip "${pip_args[@]}" --break-system-packages >/dev/null \
                || die "pip install pycrowdsec pytest failed"
        else
            die "pip install pycrowdsec pytest failed: $err"
        fi
    fi
    py_has || die "pycrowdsec $PYCROWDSEC_VERSION / pytest still not importable by $(command -v python3)"
fi
say "python: pycrowdsec $PYCROWDSEC_VERSION, $(python3 -m pytest --version 2>&1 | head -1)"

# ---- node: @crowdsec/nodejs-bouncer ------------------------------------------------------------
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 18 ] || die "node >= 18 needed (global fetch), found $(node --version)"
NODE_PKG="$CLIENTS/node/node_modules/@crowdsec/nodejs-bouncer/package.json"
node_has() {
    [ -f "$NODE_PKG" ] && [ "$(node -p "require('$NODE_PKG').version")" = "$NODE_BOUNCER_VERSION" ]
}
if ! node_has; then
    [ -f "$CLIENTS/node/package.json" ] || echo '{"name":"hivewall-e2e-clients","private":true}' >"$CLIENTS/node/package.json"
    npm install --prefix "$CLIENTS/node" --no-audit --no-fund --silent \
        "@crowdsec/nodejs-bouncer@$NODE_BOUNCER_VERSION" >/dev/null \
        || die "npm install @crowdsec/nodejs-bouncer@$NODE_BOUNCER_VERSION failed"
    node_has || die "@crowdsec/nodejs-bouncer $NODE_BOUNCER_VERSION missing after npm install"
fi
say "node: @crowdsec/nodejs-bouncer $NODE_BOUNCER_VERSION in $CLIENTS/node ($(node --version))"

# ---- go: go-bouncer on go-cs-bouncer v0.0.14 ---------------------------------------------------
command -v go >/dev/null || die "go not found: install Go >= 1.22 (https://go.dev/dl/) to build scripts/clients/go-bouncer"
go_minor="$(go env GOVERSION | sed -n 's/^go1\.\([0-9]*\).*/\1/p')"
[ -n "$go_minor" ] && [ "$go_minor" -ge 22 ] || die "Go >= 1.22 needed, found $(go env GOVERSION)"
GO_BIN="$CLIENTS/bin/go-bouncer"
src="$HERE/go-bouncer"
if [ ! -x "$GO_BIN" ] || [ -n "$(find "$src" -newer "$GO_BIN" -type f | head -1)" ]; then
    (cd "$src" && go build -mod=readonly -o "$GO_BIN.tmp" . 2>"$CLIENTS/go-build.log") \
        || die "go build of $src failed: $(tail -5 "$CLIENTS/go-build.log")"
    mv "$GO_BIN.tmp" "$GO_BIN"
fi
say "go: $GO_BIN (go-cs-bouncer $(sed -n 's/.*go-cs-bouncer \(v[^ ]*\).*/\1/p' "$src/go.mod" | head -1))"

# ---- debian: crowdsec 1.4.6 agent + bouncers ---------------------------------------------------
HIVEWALL_CACHE="$CACHE" "$HERE/../crowdsec/install.sh" --bouncers >/dev/null 2>"$CLIENTS/crowdsec-install.log" \
    || die "scripts/crowdsec/install.sh --bouncers failed: $(tail -5 "$CLIENTS/crowdsec-install.log")"
CS="$CACHE/crowdsec-1.4.6"
for b in crowdsec cscli crowdsec-custom-bouncer crowdsec-firewall-bouncer; do
    [ -x "$CS/usr/bin/$b" ] || die "$CS/usr/bin/$b missing after scripts/crowdsec/install.sh --bouncers"
done
say "debian: $(tr '\n' ';' <"$CS/.packages" | sed 's/;$//; s/;/, /g') in $CS"
