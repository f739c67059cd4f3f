#!/usr/bin/env bash
# Install Debian's CrowdSec 1.4.6 (bookworm) into a private cache dir, without running its
# postinst (which registers to the central API, starts systemd units and writes to /etc).
#
#   scripts/crowdsec/install.sh [--bouncers]
#
# Env: HIVEWALL_CACHE (default $HOME/.cache/hivewall). Result: $HIVEWALL_CACHE/crowdsec-1.4.6
# holding the extracted package tree (usr/bin/crowdsec, usr/bin/cscli, etc/crowdsec,
# usr/share/crowdsec/hub, usr/share/crowdsec/data, usr/lib/crowdsec/plugins).
# Idempotent: does nothing when the tree is already complete. Prints where things are.
set -euo pipefail

die() { echo "install.sh: error: $*" >&2; exit 1; }

VERSION_PREFIX="1.4.6"
CACHE="${HIVEWALL_CACHE:-$HOME/.cache/hivewall}"
DEST="$CACHE/crowdsec-$VERSION_PREFIX"
BOUNCERS=0
for arg in "$@"; do
    case "$arg" in
        --bouncers) BOUNCERS=1 ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) die "unknown argument: $arg" ;;
    esac
done

[ "$(uname -m)" = x86_64 ] || die "only amd64 is supported (Debian crowdsec_*_amd64.deb)"
command -v apt-get >/dev/null || die "apt-get not found (Debian required)"
command -v dpkg-deb >/dev/null || die "dpkg-deb not found"

# Runtime needs: libsqlite3 (crowdsec/cscli are dynamically linked against it), GNU time for
# replay.sh's max RSS, python3 for normalizing JSON.
need_pkgs=()
[ -e /usr/lib/x86_64-linux-gnu/libsqlite3.so.0 ] || need_pkgs+=(libsqlite3-0)
[ -x /usr/bin/time ] || need_pkgs+=(time)
command -v python3 >/dev/null || need_pkgs+=(python3)
if [ "${#need_pkgs[@]}" -gt 0 ]; then
    echo "install.sh: installing ${need_pkgs[*]} with apt-get" >&2
    apt-get install -y --no-install-recommends "${need_pkgs[@]}" >/dev/null \
        || { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${need_pkgs[@]}" >/dev/null; } \
        || die "apt-get install ${need_pkgs[*]} failed"
fi

# Fetch + extract one package unless its marker file is there.
fetch_extract() { # pkg marker
    local pkg="$1" marker="$2"
    if [ -e "$DEST/$marker" ]; then
        echo "install.sh: $pkg already extracted in $DEST" >&2
        return 0
    fi
    local tmp
    tmp="$(mktemp -d "$CACHE/.dl.XXXXXX")"
    # shellcheck disable=SC2064
    trap "rm -rf '$tmp'" RETURN
    (cd "$tmp" && apt-get download "$pkg" >/dev/null 2>"$tmp/apt.err") || {
        # Stale or missing package lists: update once and retry.
        apt-get update >/dev/null 2>&1 || true
        (cd "$tmp" && apt-get download "$pkg" >/dev/null 2>"$tmp/apt.err") \
            || die "apt-get download $pkg failed: $(cat "$tmp/apt.err")"
    }
    local deb
    deb="$(ls "$tmp"/*.deb)" || die "no .deb downloaded for $pkg"
    local ver
    ver="$(dpkg-deb -f "$deb" Version)"
    if [ "$pkg" = crowdsec ]; then
        case "$ver" in
            "$VERSION_PREFIX"-*) ;;
            *) die "apt offers crowdsec $ver, expected $VERSION_PREFIX-* (Debian 12 bookworm)" ;;
        esac
    fi
    mkdir -p "$DEST"
    dpkg-deb -x "$deb" "$DEST" || die "dpkg-deb -x $deb failed"
    echo "$pkg $ver" >>"$DEST/.packages"
    [ -e "$DEST/$marker" ] || die "$pkg: $marker missing after extraction"
    echo "install.sh: extracted $pkg $ver into $DEST" >&2
}

mkdir -p "$CACHE"
fetch_extract crowdsec usr/bin/crowdsec
if [ "$BOUNCERS" = 1 ]; then
    fetch_extract crowdsec-firewall-bouncer usr/bin/crowdsec-firewall-bouncer
    fetch_extract crowdsec-custom-bouncer usr/bin/crowdsec-custom-bouncer
fi

for b in crowdsec cscli; do
    [ -x "$DEST/usr/bin/$b" ] || die "$DEST/usr/bin/$b is not executable"
done
cs_version="$("$DEST/usr/bin/crowdsec" -version 2>&1 | sed -n 's/.*version: //p')"
case "$cs_version" in
    v"$VERSION_PREFIX"-*) ;;
    *) die "$DEST/usr/bin/crowdsec -version reports '$cs_version', expected v$VERSION_PREFIX" ;;
esac

cat <<EOF
crowdsec root:   $DEST
crowdsec:        $DEST/usr/bin/crowdsec ($cs_version)
cscli:           $DEST/usr/bin/cscli
default config:  $DEST/etc/crowdsec (config.yaml, profiles.yaml, acquis.yaml, patterns/)
hub snapshot:    $DEST/usr/share/crowdsec/hub (.index.json, parsers/, scenarios/, collections/, postoverflows/)
data files:      $DEST/usr/share/crowdsec/data
plugins:         $DEST/usr/lib/crowdsec/plugins
packages:        $(tr '\n' ';' <"$DEST/.packages" | sed 's/;$//; s/;/, /g')
EOF
