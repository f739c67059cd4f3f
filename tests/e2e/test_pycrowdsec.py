"""pycrowdsec (CrowdSec's Python bouncer library) against `hivewall run`: live queries
(`GET /v1/decisions?ip=`), the decision stream, and deletion; with the attack-to-ban latency."""

import time

from pycrowdsec.client import QueryClient, StreamClient

from conftest import record_result, wait_for

ATTACKER = "192.0.2.10"
BYSTANDER = "192.0.2.99"
# Generous: a debug build, 2 cores, others building. Measured values go to e2e-results.json.
LATENCY_BOUND_S = 3.0


def test_pycrowdsec_live_and_stream(hivewall):
    key = hivewall.add_bouncer("pycrowdsec")
    live = QueryClient(api_key=key, lapi_url=hivewall.url)
    # CrowdSec answers `null` (not `[]`) when nothing matches.
    assert live.get_decisions_for(ATTACKER) is None

    stream = StreamClient(api_key=key, lapi_url=hivewall.url, interval=1)
    stream.run()  # first pull (startup=true) happens here; errors raise
    assert stream.get_current_decisions() == {}

    t0 = hivewall.attack(ATTACKER)
    # Poll every 10 ms: the time from the write to the first positive answer.
    deadline = t0 + 20
    first = None
    polls = 0
    while time.monotonic() < deadline:
        polls += 1
        first = live.get_decisions_for(ATTACKER)
        if first:
            break
        time.sleep(0.01)
    latency = time.monotonic() - t0
    assert first, f"no decision for {ATTACKER} 20 s after the attack"
    print(f"attack-to-ban latency (append -> first positive ?ip=): {latency * 1000:.0f} ms "
          f"({polls} polls)")
    record_result("pycrowdsec_attack_to_ban_ms", round(latency * 1000, 1))

    assert len(first) == 1, first
    d = first[0]
    assert (d["value"], d["scope"], d["type"]) == (ATTACKER, "Ip", "ban"), d
    assert d["scenario"] == "hivewall/ssh-bf", d
    assert d["origin"] == "crowdsec", d
    assert d["duration"].startswith("3h59m"), d
    assert isinstance(d["id"], int) and d["id"] > 0, d
    assert live.get_action_for(ATTACKER) == "ban"
    assert live.get_decisions_for(BYSTANDER) is None

    # The stream client's cache gets it on its next pull (every second).
    wait_for("the stream client to ban the attacker",
             lambda: stream.get_action_for(ATTACKER) == "ban", timeout=5)
    assert stream.get_action_for(BYSTANDER) is None
    assert stream.get_current_decisions() == {f"{ATTACKER}/32": "ban"}
    assert stream.death_reason is None

    hivewall.delete_decisions(ATTACKER)
    assert live.get_decisions_for(ATTACKER) is None
    wait_for("the stream client to see the deletion",
             lambda: stream.get_action_for(ATTACKER) is None, timeout=5)
    assert stream.get_current_decisions() == {}
    assert stream.is_running()

    assert latency < LATENCY_BOUND_S, f"attack-to-ban latency {latency:.2f}s >= {LATENCY_BOUND_S}s"
