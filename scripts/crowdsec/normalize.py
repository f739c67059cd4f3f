#!/usr/bin/env python3
"""Normalize the overflows of a CrowdSec 1.4.6 replay (called by replay.sh).

Reads the `alerts` table of the local API's SQLite database (one row per overflow pushed by
the agent), cross-checks it against the "<Scope> <value> performed '<scenario>' (<N> events
over ...)" lines of crowdsec's log, and writes:

  --overflows  one JSON object per line, sorted by (scenario, value, start_at, stop_at,
               events_count):
               {"scenario", "source": {"scope", "value"}, "events_count", "start_at", "stop_at"}
               times are RFC 3339 UTC ("2024-03-01T00:00:13Z", fraction kept when non-zero)
  --alerts     the raw alert rows (debugging aid)
  --stats      {"lines", "seconds", "max_rss_kb", "lines_per_second", "overflows"}
"""

import argparse
import collections
import json
import re
import sqlite3
import sys

TIME_RE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})?$"
)
PERFORMED_RE = re.compile(
    r"msg=\"(\S+) (\S+) performed '([^']+)' \((\d+) events over [^)]*\) at "
)


def fail(msg):
    print(f"normalize.py: error: {msg}", file=sys.stderr)
    sys.exit(1)


def rfc3339(value):
    """'2024-03-01 00:00:13+00:00' (Go time as stored by ent/sqlite) -> '2024-03-01T00:00:13Z'."""
    m = TIME_RE.match(value or "")
    if not m:
        fail(f"unexpected timestamp {value!r}")
    day, clock, frac, zone = m.groups()
    if zone not in (None, "Z", "+00:00", "+0000", "-00:00"):
        fail(f"non-UTC timestamp {value!r}")
    frac = (frac or "").rstrip("0")
    return f"{day}T{clock}{'.' + frac if frac else ''}Z"


def max_rss_kb(time_file):
    with open(time_file, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if not m:
        fail(f"no max RSS in {time_file}: {text[-500:]}")
    return int(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--crowdsec-log", required=True)
    ap.add_argument("--time", required=True)
    ap.add_argument("--lines", type=int, required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--alerts", required=True)
    ap.add_argument("--overflows", required=True)
    ap.add_argument("--stats", required=True)
    a = ap.parse_args()

    con = sqlite3.connect(f"file:{a.db}?mode=ro", uri=True)
    con.row_factory = sqlite3.Row
    rows = [
        dict(r)
        for r in con.execute(
            "SELECT id, scenario, source_scope, source_value, events_count, started_at, "
            "stopped_at, capacity, leak_speed, simulated, message FROM alerts "
            "WHERE machine_alerts IS NOT NULL ORDER BY id"
        )
    ]
    n_all = con.execute("SELECT count(*) FROM alerts").fetchone()[0]
    con.close()
    if n_all != len(rows):
        fail(f"{n_all - len(rows)} alerts without a machine (CAPI?) in {a.db}")

    overflows = []
    for r in rows:
        if not r["scenario"] or not r["source_scope"] or r["source_value"] is None:
            fail(f"incomplete alert row {r}")
        overflows.append(
            {
                "scenario": r["scenario"],
                "source": {"scope": r["source_scope"], "value": r["source_value"]},
                "events_count": int(r["events_count"]),
                "start_at": rfc3339(r["started_at"]),
                "stop_at": rfc3339(r["stopped_at"]),
            }
        )
    overflows.sort(
        key=lambda o: (
            o["scenario"],
            o["source"]["value"],
            o["start_at"],
            o["stop_at"],
            o["events_count"],
        )
    )

    # Cross-check with the log: same multiset of (scope, value, scenario, events_count).
    logged = collections.Counter()
    with open(a.crowdsec_log, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = PERFORMED_RE.search(line)
            if m:
                scope, value, scenario, count = m.groups()
                logged[(scope, value, scenario, int(count))] += 1
    stored = collections.Counter(
        (o["source"]["scope"], o["source"]["value"], o["scenario"], o["events_count"])
        for o in overflows
    )
    if logged != stored:
        only_log = list((logged - stored).elements())[:5]
        only_db = list((stored - logged).elements())[:5]
        fail(
            f"crowdsec logged {sum(logged.values())} overflows but the database has "
            f"{sum(stored.values())}; only in log: {only_log}; only in db: {only_db}"
        )

    with open(a.alerts, "w", encoding="utf-8") as f:
        json.dump(rows, f, indent=1)
        f.write("\n")
    with open(a.overflows, "w", encoding="utf-8") as f:
        for o in overflows:
            f.write(json.dumps(o, separators=(",", ":")) + "\n")
    stats = {
        "lines": a.lines,
        "seconds": round(a.seconds, 3),
        "max_rss_kb": max_rss_kb(a.time),
        "lines_per_second": round(a.lines / a.seconds, 1) if a.seconds > 0 else None,
        "overflows": len(overflows),
    }
    with open(a.stats, "w", encoding="utf-8") as f:
        json.dump(stats, f)
        f.write("\n")


if __name__ == "__main__":
    main()
