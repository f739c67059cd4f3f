#!/usr/bin/env python3
"""Compare two overflows.jsonl files (e.g. two CrowdSec runs, or CrowdSec vs hivewall).

  scripts/crowdsec/compare.py A/overflows.jsonl B/overflows.jsonl

Prints per-scenario counts side by side and the overflows present in only one file
(an overflow is the whole normalized object). Exit 0 when identical, 1 when different.
"""

import collections
import json
import sys


def load(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def key(o):
    return json.dumps(o, sort_keys=True, separators=(",", ":"))


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        sys.exit(2)
    a, b = load(sys.argv[1]), load(sys.argv[2])
    ca = collections.Counter(o["scenario"] for o in a)
    cb = collections.Counter(o["scenario"] for o in b)
    width = max([len(s) for s in ca | cb] + [8])
    print(f"{'scenario':<{width}} {'A':>6} {'B':>6}")
    for s in sorted(ca | cb):
        mark = "" if ca[s] == cb[s] else "  <>"
        print(f"{s:<{width}} {ca[s]:>6} {cb[s]:>6}{mark}")
    print(f"{'total':<{width}} {len(a):>6} {len(b):>6}")
    ka = collections.Counter(key(o) for o in a)
    kb = collections.Counter(key(o) for o in b)
    only_a, only_b = ka - kb, kb - ka
    for label, only in (("only in A", only_a), ("only in B", only_b)):
        for k in sorted(only.elements()):
            print(f"{label}: {k}")
    same = not only_a and not only_b
    print("identical" if same else f"different: {sum(only_a.values())} only in A, "
          f"{sum(only_b.values())} only in B")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
