"""CrowdSec's Go bouncer library (go-cs-bouncer v0.0.14, the one CrowdSec's own bouncers are
built on) against `hivewall run`: StreamBouncer sees a decision appear, then its deletion;
LiveBouncer finds it."""

import json
import subprocess

from conftest import CLIENTS, need_file, wait_for

ATTACKER = "192.0.2.30"
BYSTANDER = "192.0.2.31"


def pulls(proc):
    """The JSON lines the stream bouncer printed so far (one per pull)."""
    out = []
    for line in proc.output().splitlines():
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


def values(pull, key):
    return [(d["value"], d["type"], d["scope"]) for d in (pull.get(key) or [])]


def test_go_cs_bouncer_stream_and_live(hivewall, spawn, tmp_path):
    go_bouncer = need_file(CLIENTS / "bin" / "go-bouncer", "go-bouncer (go-cs-bouncer v0.0.14)")
    key = hivewall.add_bouncer("go-cs-bouncer")
    stream = spawn([str(go_bouncer), "stream", "-url", hivewall.url, "-key", key, "-every", "1s"],
                   tmp_path / "go-stream.log")
    wait_for("the startup pull of the stream bouncer", lambda: pulls(stream), timeout=10)
    assert values(pulls(stream)[0], "new") == [], pulls(stream)[0]

    hivewall.attack(ATTACKER)
    wait_for(f"{ATTACKER} in the stream's new decisions",
             lambda: any((ATTACKER, "ban", "Ip") in values(p, "new") for p in pulls(stream)),
             timeout=10)
    d = next(d for p in pulls(stream) for d in (p["new"] or []) if d["value"] == ATTACKER)
    assert d["scenario"] == "hivewall/ssh-bf" and d["origin"] == "crowdsec", d
    assert d["duration"].startswith("3h59m"), d

    live = subprocess.run([str(go_bouncer), "live", "-url", hivewall.url, "-key", key, ATTACKER],
                          capture_output=True, text=True, timeout=30)
    assert live.returncode == 0, live.stderr
    found = json.loads(live.stdout)
    assert [(x["value"], x["type"]) for x in found] == [(ATTACKER, "ban")], found
    none = subprocess.run([str(go_bouncer), "live", "-url", hivewall.url, "-key", key, BYSTANDER],
                          capture_output=True, text=True, timeout=30)
    assert none.returncode == 0, none.stderr
    assert json.loads(none.stdout) in (None, []), none.stdout

    hivewall.delete_decisions(ATTACKER)
    wait_for(f"{ATTACKER} in the stream's deleted decisions",
             lambda: any(ATTACKER in [v for v, _, _ in values(p, "deleted")] for p in pulls(stream)),
             timeout=10)
    assert stream.proc.poll() is None, "the stream bouncer exited"
