#!/usr/bin/env python3
"""Differential check of hivewall's GeoIP enrichers against MaxMind's reference reader.

For a deterministic list of addresses (random public IPv4, IPv6 from the database's own
networks, private, IPv4-mapped and malformed ones), compares what hivewall's `GeoIpCity`,
`GeoIpASN` and `IpToRange` write (JSON Lines from `engine/examples/geoip_dump.rs`) with what
CrowdSec's enrichers would write computed here from PyPI `maxminddb` reading the same files.

    scripts/geoip/install.sh                       # the databases and maxminddb
    scripts/geoip/check.py --city ~/.cache/hivewall/geoip/GeoLite2-City.mmdb \
        --range ~/.cache/hivewall/geoip/GeoLite2-City.mmdb
    scripts/geoip/check.py --emit-ips --city FILE > ips      # only the address list
    scripts/geoip/check.py --city FILE --compare out.jsonl   # compare an existing dump

Without --compare it runs `cargo run -q -p engine --example geoip_dump` (or --dump BIN).
Exit status 0 when every field agrees; prints one summary line `geoip check: N addresses, F
fields compared, F agree` and each disagreement.
"""

import argparse
import ipaddress
import json
import os
import random
import subprocess
import sys

try:
    import maxminddb
except ImportError:
    sys.exit("check.py: PyPI maxminddb missing: run scripts/geoip/install.sh")

# Member states of the European Union: the flat layout (ip-location-db) has no EU flag, and
# hivewall derives it from the country code as MaxMind's `is_in_european_union` records it.
EU = set("AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK".split())


def addresses(city, asn, n_v4=200):
    """The deterministic address list: public IPv4, IPv6 inside the databases, specials."""
    rnd = random.Random(20240601)
    out = []
    while len(out) < n_v4:
        ip = ipaddress.IPv4Address(rnd.getrandbits(32))
        if ip.is_global:
            out.append(str(ip))
    # IPv6: addresses inside networks the databases hold (random IPv6 are nearly all misses):
    # a small database's own networks, else random hosts of the regional registries' blocks
    # that the database holds.
    blocks = ["2001:4860::/32", "2a00::/12", "2400::/12", "2600::/12", "2800::/12", "2c00::/12"]
    for path in [p for p in (city, asn) if p]:
        with maxminddb.open_database(path) as db:
            meta = db.metadata()
            if meta.ip_version != 6:
                continue
            if meta.node_count < 100000:
                nets = [net for net, _ in db if net.version == 6 and net.prefixlen >= 16]
            else:
                nets = [ipaddress.ip_network(b) for b in blocks]
            hits, per_net = {}, max(2, 12 // max(1, len(nets)))
            for _ in range(20000):
                if sum(hits.values()) >= 12 or not nets:
                    break
                net = rnd.choice(nets)
                if hits.get(net, 0) >= per_net:
                    continue
                host = int(net.network_address) + rnd.getrandbits(128 - net.prefixlen)
                ip = str(ipaddress.IPv6Address(host))
                if db.get(ip) is not None:
                    out.append(ip)
                    hits[net] = hits.get(net, 0) + 1
    out += [
        "2001:4860:4860::8888", "2a00:1450:4007:80e::200e", "2606:4700:4700::1111",
        "10.1.2.3", "192.168.0.1", "172.16.5.4", "127.0.0.1", "::1", "fd00::1",
        "::ffff:8.8.8.8", "::ffff:81.2.69.142", "1.0.0.1", "81.2.69.142", "89.160.20.128",
        "not-an-ip", "1.2.3", "01.2.3.4", "",
    ]
    return [a for a in out if a]


def parse_go_ip(s):
    """Go's net.ParseIP: IPv4-mapped IPv6 is IPv4; None when not an address."""
    try:
        ip = ipaddress.ip_address(s)
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def lookup(db, ip):
    """(record, prefix) or None when the lookup fails (bad address, IPv6 in an IPv4 db)."""
    if db is None or ip is None:
        return None
    try:
        return db.get_with_prefix_len(ip)
    except ValueError:
        return None


def expect_city(db, s):
    found = lookup(db, parse_go_ip(s))
    if found is None:
        return {}
    rec = found[0] or {}
    iso, eu = "", False
    for key in ("country", "registered_country", "represented_country"):
        c = rec.get(key) or {}
        if c.get("iso_code"):
            iso, eu = c["iso_code"], bool(c.get("is_in_european_union", False))
            break
    else:
        if rec.get("country_code"):
            iso = rec["country_code"]
            eu = iso in EU
    loc = rec.get("location") or {}
    lat = loc.get("latitude", rec.get("latitude", 0.0))
    lon = loc.get("longitude", rec.get("longitude", 0.0))
    return {"IsoCode": iso, "IsInEU": "true" if eu else "false",
            "Latitude": "%f" % lat, "Longitude": "%f" % lon}


def expect_asn(db, s):
    found = lookup(db, parse_go_ip(s))
    if found is None:
        return {}
    rec = found[0] or {}
    n = str(rec.get("autonomous_system_number", 0))
    return {"ASNNumber": n, "ASNumber": n, "ASNOrg": rec.get("autonomous_system_organization", "")}


def expect_range(db, s):
    ip = parse_go_ip(s)
    found = lookup(db, ip)
    if found is None or found[0] is None:
        return None
    return str(ipaddress.ip_network("%s/%d" % (ip, found[1]), strict=False))


def run_dump(args, ips):
    cmd = [args.dump] if args.dump else ["cargo", "run", "-q", "-p", "engine", "--example", "geoip_dump", "--"]
    for flag in ("city", "asn", "range"):
        if getattr(args, flag):
            cmd += ["--" + flag, getattr(args, flag)]
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    p = subprocess.run(cmd, input="\n".join(ips) + "\n", capture_output=True, text=True, cwd=root)
    if p.returncode != 0:
        sys.exit("check.py: %s failed: %s" % (" ".join(cmd), p.stderr.strip()[-2000:]))
    return p.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--city", help="City database (GeoLite2-City.mmdb or ip-location-db's)")
    ap.add_argument("--asn", help="ASN database (GeoLite2-ASN.mmdb)")
    ap.add_argument("--range", help="database for IpToRange (default: --asn)")
    ap.add_argument("--dump", help="a built geoip_dump binary (default: cargo run --example)")
    ap.add_argument("--compare", help="JSON Lines hivewall already wrote for --emit-ips' list")
    ap.add_argument("--emit-ips", action="store_true", help="print the address list and exit")
    args = ap.parse_args()
    args.range = args.range or args.asn
    ips = addresses(args.city, args.asn)
    if args.emit_ips:
        print("\n".join(ips))
        return 0
    if args.compare:
        with open(args.compare, encoding="utf-8") as f:
            text = f.read()
    else:
        text = run_dump(args, ips)
    got = {}
    for line in text.splitlines():
        if line.strip():
            rec = json.loads(line)
            got[rec["ip"]] = rec
    dbs = {k: maxminddb.open_database(getattr(args, k)) if getattr(args, k) else None
           for k in ("city", "asn", "range")}
    compared = agree = 0
    bad = []
    for ip in ips:
        h = got.get(ip)
        if h is None:
            bad.append("%s: missing from hivewall's output" % ip)
            continue
        want = {"city": expect_city(dbs["city"], ip), "asn": expect_asn(dbs["asn"], ip)}
        for part in ("city", "asn"):
            for key in sorted(set(want[part]) | set(h[part])):
                compared += 1
                a, b = h[part].get(key), want[part].get(key)
                if a == b:
                    agree += 1
                else:
                    bad.append("%s %s.%s: hivewall %r, maxminddb %r" % (ip, part, key, a, b))
        if dbs["range"] is not None:
            compared += 1
            a, b = h["range"], expect_range(dbs["range"], ip)
            if a == b:
                agree += 1
            else:
                bad.append("%s range: hivewall %r, maxminddb %r" % (ip, a, b))
    for line in bad:
        print("DIFF " + line)
    print("geoip check: %d addresses, %d fields compared, %d agree" % (len(ips), compared, agree))
    return 0 if not bad and compared > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
