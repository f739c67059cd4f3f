"""@crowdsec/nodejs-bouncer (CrowdSec's Node.js bouncer) against `hivewall run`."""

import json
import os
import shutil
import subprocess
from pathlib import Path

from conftest import CLIENTS, need_file, wait_for

ATTACKER = "192.0.2.20"
BYSTANDER = "192.0.2.21"
SCRIPT = Path(__file__).parent / "clients" / "node_bouncer.mjs"


def test_nodejs_bouncer_ban_and_bypass(hivewall):
    modules = CLIENTS / "node" / "node_modules"
    need_file(modules / "@crowdsec" / "nodejs-bouncer" / "package.json", "@crowdsec/nodejs-bouncer")
    node = shutil.which("node")
    assert node, "node not found in PATH (run scripts/clients/install.sh)"

    key = hivewall.add_bouncer("nodejs")
    bouncer_key = {"X-Api-Key": key}
    hivewall.attack(ATTACKER)
    wait_for(f"a decision for {ATTACKER}",
             lambda: hivewall.get(f"v1/decisions?ip={ATTACKER}", bouncer_key)[1], timeout=10)

    p = subprocess.run(
        [node, str(SCRIPT), str(modules), hivewall.url, key, ATTACKER, BYSTANDER],
        capture_output=True, text=True, timeout=60, env=dict(os.environ, LOG_LEVEL="silent"),
    )
    lines = p.stdout.strip().splitlines()
    assert lines, f"node printed nothing (exit {p.returncode}):\n{p.stderr}"
    out = json.loads(lines[-1])
    assert p.returncode == 0 and "error" not in out, f"node bouncer failed: {out}\n{p.stderr}"

    assert out["health"] == {"status": "OK", "error": None}, out  # HEAD /v1/decisions
    assert out["live"]["attacker"] == "ban", out
    assert out["live"]["attacker_origin"] == "crowdsec", out
    assert out["live"]["bystander"] == "bypass", out
    assert out["responses"] == {"attacker": 403, "bystander": 200}, out
    assert out["metrics_pushed"] is True, out  # POST /v1/usage-metrics accepted
    assert out["stream"]["attacker"] == "ban", out
    assert out["stream"]["bystander"] == "bypass", out
    assert [d["value"] for d in out["stream"]["new"]] == ["ban"], out
