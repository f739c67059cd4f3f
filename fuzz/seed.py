#!/usr/bin/env python3
"""Writes small seed corpora for the fuzz targets into fuzz/corpus/<target>/ (only files that
are missing): hub expressions, patterns, log lines and YAML files, our scenarios/, and a few
hand-written syslog messages, time layouts and wire records. Usage: seed.py SHARED_DIR"""

import hashlib
import pathlib
import re
import sys

FUZZ = pathlib.Path(__file__).resolve().parent
ROOT = FUZZ.parent
SHARED = pathlib.Path(sys.argv[1])
HUB = SHARED / "crowdsec" / "hub"
LIMIT = 200  # seeds per source, to keep corpora small


def put(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = FUZZ / "corpus" / target
    d.mkdir(parents=True, exist_ok=True)
    p = d / hashlib.sha1(data).hexdigest()
    if not p.exists():
        p.write_bytes(data)


def yamls(*dirs):
    out = []
    for d in dirs:
        out += sorted(p for p in d.rglob("*.y*ml") if p.is_file())
    return out


# expr: expressions of hub parsers and scenarios, and the hub test asserts.
EXPR_KEY = re.compile(r"^\s*-?\s*(filter|expression|groupby|distinct|cancel_on|condition):\s*(.+)$")
exprs = set()
for f in yamls(HUB / "parsers", HUB / "scenarios", ROOT / "scenarios"):
    for line in f.read_text(errors="replace").splitlines():
        m = EXPR_KEY.match(line)
        if m:
            e = m.group(2).strip()
            if len(e) > 1 and e[0] == e[-1] and e[0] in "'\"":
                e = e[1:-1]
            exprs.add(e)
for a in sorted((HUB / ".tests").glob("*/parser.assert"))[:20]:
    exprs.update(l for l in a.read_text(errors="replace").splitlines()[:10] if l.strip())
for e in sorted(exprs)[: LIMIT * 2]:
    put("expr", e)

# grok: pattern definitions (mode 0) and hub test log lines (mode 1, pattern picked by byte).
pats = []
for f in sorted((SHARED / "crowdsec" / "patterns").iterdir()):
    for line in f.read_text(errors="replace").splitlines():
        if line and not line.startswith("#") and " " in line:
            pats.append(line.split(" ", 1)[1])
for p in pats[:LIMIT]:
    put("grok", b"\x00" + p.encode())
logs = []
for lg in sorted((HUB / ".tests").glob("*/*.log"))[:60]:
    logs += lg.read_text(errors="replace").splitlines()[:3]
for i, l in enumerate(logs[:LIMIT]):
    put("grok", bytes([1, (i * 37) % 256]) + l.encode())

# time: layout \0 value.
for layout, value in [
    ("Jan _2 15:04:05", "Jan  2 15:04:05"),
    ("2006-01-02T15:04:05Z07:00", "2024-01-02T15:04:05+01:00"),
    ("2006-01-02T15:04:05.999999999Z07:00", "2024-01-02T15:04:05.123456789Z"),
    ("02/Jan/2006:15:04:05 -0700", "02/Jan/2024:15:04:05 +0100"),
    ("Mon Jan _2 15:04:05 2006", "Tue Jan  2 15:04:05 2024"),
    ("2006-01-02 15:04:05.000 MST", "2024-01-02 15:04:05.123 UTC"),
    ("060102 15:04:05", "240102 15:04:05"),
    ("", "1704207845"),
    ("", "1704207845.123"),
    ("Mon, 02 Jan 2006 15:04:05 -0700", "Tue, 02 Jan 2024 15:04:05 -0700"),
    ("2006-002 3:4:5 PM", "2024-002 3:4:5 PM"),
]:
    put("time", f"{layout}\0{value}")

# syslog: RFC 3164 and RFC 5424 messages.
for m in [
    "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
    "<13>Jan  2 15:04:05 host sshd[42]: Failed password for root from 192.0.2.7 port 22 ssh2",
    "<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
    '[exampleSDID@32473 iut="3" eventSource="Application"] An application event',
    "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time",
    "<0>1 - - - - - -",
    "<191>Dec 31 23:59:60 - kernel: x",
]:
    put("syslog", m)

# yaml: parser files (mode 0), scenarios (mode 1), profiles (mode 2).
for f in yamls(HUB / "parsers", ROOT / "scenarios" / "parsers")[:LIMIT]:
    if f.stat().st_size < 8192:
        put("yaml", b"\x00" + f.read_bytes())
for f in yamls(HUB / "scenarios", ROOT / "scenarios" / "scenarios")[:LIMIT]:
    if f.stat().st_size < 8192:
        put("yaml", b"\x01" + f.read_bytes())
prof = ROOT / "scenarios" / "profiles.yaml"
if prof.exists():
    put("yaml", b"\x02" + prof.read_bytes())

# wire: one record of each type.
for r in [
    '{"raw":"Jan  2 15:04:05 host sshd[42]: x","src":"/var/log/auth.log","module":"file",'
    '"labels":{"type":"syslog"},"time":"2024-01-02T15:04:05Z"}',
    '{"scenario":"crowdsecurity/ssh-bf","scenario_hash":"abc","scenario_version":"0.1",'
    '"message":"m","events_count":6,"start_at":"2024-01-02T15:04:05Z",'
    '"stop_at":"2024-01-02T15:04:06Z","capacity":5,"leakspeed":"10s","simulated":false,'
    '"events":[{"timestamp":"2024-01-02T15:04:05Z","meta":[{"key":"k","value":"v"}]}],'
    '"remediation":true,"source":{"scope":"Ip","value":"192.0.2.7","ip":"192.0.2.7",'
    '"cn":"FR","latitude":48.85,"longitude":2.35},"meta":[{"key":"k","value":"v"}],'
    '"decisions":[]}',
    '{"origin":"crowdsec","type":"ban","scope":"Ip","value":"192.0.2.7","duration":"4h",'
    '"scenario":"crowdsecurity/ssh-bf"}',
]:
    put("wire", r)
