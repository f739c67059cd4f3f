"""Debian's crowdsec-custom-bouncer (0.0.15, go-cs-bouncer's StreamBouncer) against
`hivewall run`: the script it drives is called with `add <ip> ...`, then `del <ip> ...`."""

import stat

from conftest import CROWDSEC_ROOT, need_file, wait_for

ATTACKER = "192.0.2.40"


def calls(path):
    return path.read_text().splitlines() if path.exists() else []


def test_custom_bouncer_add_then_del(hivewall, spawn, tmp_path):
    binary = need_file(CROWDSEC_ROOT / "usr/bin/crowdsec-custom-bouncer", "crowdsec-custom-bouncer")
    key = hivewall.add_bouncer("custom")
    seen = tmp_path / "calls.txt"
    script = tmp_path / "on-decision.sh"
    script.write_text(f'#!/bin/sh\necho "$@" >> {seen}\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    config = tmp_path / "crowdsec-custom-bouncer.yaml"
    config.write_text(f"""\
bin_path: {script}
feed_via_stdin: false
total_retries: 0
scenarios_containing: []
scenarios_not_containing: []
origins: []
piddir: {tmp_path}/
update_frequency: 1s
cache_retention_duration: 10s
daemonize: false
log_mode: stdout
log_level: info
api_url: {hivewall.url}
api_key: {key}
prometheus:
  enabled: false
  listen_addr: 127.0.0.1
  listen_port: 0
""")
    bouncer = spawn([str(binary), "-c", str(config)], tmp_path / "custom-bouncer.log")

    hivewall.attack(ATTACKER)
    wait_for(f"`add {ATTACKER} ...` from the custom bouncer",
             lambda: any(c.startswith(f"add {ATTACKER} ") for c in calls(seen)), timeout=15)
    add = next(c for c in calls(seen) if c.startswith(f"add {ATTACKER} "))
    # add <value> <duration in seconds> <scenario> <decision as JSON>
    parts = add.split(" ", 4)
    assert 14000 < int(parts[2]) <= 14400, add
    assert parts[3] == "hivewall/ssh-bf", add
    assert '"type":"ban"' in parts[4] and '"scope":"Ip"' in parts[4], add

    hivewall.delete_decisions(ATTACKER)
    wait_for(f"`del {ATTACKER} ...` from the custom bouncer",
             lambda: any(c.startswith(f"del {ATTACKER} ") for c in calls(seen)), timeout=15)
    assert bouncer.proc.poll() is None, "the custom bouncer exited"
    verbs = [c.split(" ")[0] for c in calls(seen)]
    assert verbs[0] == "add" and "add" not in verbs[verbs.index("del"):], calls(seen)
