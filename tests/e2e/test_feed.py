"""`hivewall run` subscribed to a community feed (`hivewall consensus`), the way CrowdSec
subscribes to its community blocklist: CrowdSec's `api.server.online_client.credentials_path`
names the feed's URL and this watcher's login; the feed's entries become decisions with origin
`CAPI` that a bouncer gets on `/v1/decisions/stream` and `?ip=`; with `hivewall.share_signals`
the local alerts go to the feed as signals; after a restart the feed is pulled whole again and
what it no longer lists is deleted (the bouncer gets it in `deleted` unless a local decision
still bans the address), without duplicates.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.request

from conftest import (HIVEWALL_BIN, REPO, api_answers, free_port, need_file, ssh_failures,
                      wait_for)
from test_consensus import Consensus

SEEDS = ["feedseed1", "feedseed2", "feedseed3"]
LOGIN, PASSWORD = "hwrun", "pw-hwrun"
LISTED = "45.146.30.7"  # in the feed before hivewall starts
ATTACKER = "45.146.40.9"  # two seeds reported it; hivewall's signal is the third report
LATER = "45.146.50.11"  # the only entry of the second feed
FEED_SCENARIO = "hivewall/consensus:crowdsecurity/ssh-bf"


def write_config(tmp, feed_url: str, port: int):
    """A CrowdSec-style config.yaml over hivewall's own scenarios, with an online_client."""
    auth = tmp / "auth.log"
    auth.touch()
    (tmp / "acquis.yaml").write_text(f"filenames:\n  - {auth}\nlabels:\n  type: syslog\n")
    creds = tmp / "online_api_credentials.yaml"
    creds.write_text(f"url: {feed_url}\nlogin: {LOGIN}\npassword: {PASSWORD}\n")
    conf = tmp / "config.yaml"
    conf.write_text(f"""\
common:
  log_media: stdout
  log_level: info
config_paths:
  config_dir: {REPO}/scenarios/
  data_dir: {REPO}/scenarios/data/
crowdsec_service:
  acquisition_path: {tmp}/acquis.yaml
api:
  server:
    listen_uri: 127.0.0.1:{port}
    profiles_path: {REPO}/scenarios/profiles.yaml
    online_client:
      credentials_path: {creds}
hivewall:
  state_dir: {tmp}/state
  feed_pull_interval: 1s
  share_signals: true
""")
    return conf, auth, creds


class Run:
    """`hivewall run -c config.yaml`."""

    def __init__(self, tmp, conf, port):
        self.tmp, self.conf, self.url = tmp, conf, f"http://127.0.0.1:{port}/"
        self.log = tmp / "hivewall.out"
        self.proc = None

    def start(self):
        need_file(HIVEWALL_BIN, "the hivewall binary", "cargo build -p cli, or set HIVEWALL_BIN")
        self.proc = subprocess.Popen([str(HIVEWALL_BIN), "run", "-c", str(self.conf)], cwd=self.tmp,
                                     stdout=open(self.log, "ab"), stderr=subprocess.STDOUT,  # noqa: SIM115
                                     stdin=subprocess.DEVNULL)

        def answers():
            assert self.proc.poll() is None, self.output()[-5000:]
            return api_answers(self.url)

        wait_for("hivewall's API", answers, timeout=30)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            assert self.proc.wait(timeout=20) == 0, self.output()[-5000:]

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def startup_pulls(self) -> int:
        return self.output().count("community feed pulled startup=true")

    def get(self, path: str, key: str):
        req = urllib.request.Request(self.url + path, headers={"X-Api-Key": key})
        with urllib.request.urlopen(req, timeout=5) as r:
            return json.loads(r.read() or b"null")


class Bouncer:
    """A stream bouncer's view: decisions by id, deletions as received."""

    def __init__(self, run: Run, key: str):
        self.run, self.key = run, key
        self.active: dict[int, dict] = {}
        self.deleted: list[dict] = []
        self.started = False

    def pull(self):
        path = "v1/decisions/stream" + ("" if self.started else "?startup=true")
        body = self.run.get(path, self.key)
        self.started = True
        for d in body.get("deleted") or []:
            self.active.pop(d["id"], None)
            self.deleted.append(d)
        for d in body.get("new") or []:
            self.active[d["id"]] = d
        return self

    def capi(self, value: str) -> list[dict]:
        return [d for d in self.pull().active.values() if d["value"] == value and d["origin"] == "CAPI"]


def origins(run: Run, key: str, ip: str) -> list[str]:
    return sorted(d["origin"] for d in run.get(f"v1/decisions?ip={ip}", key) or [])


def test_run_merges_the_community_feed_and_shares_signals(tmp_path):
    cs = Consensus(tmp_path)
    port = free_port()
    conf, auth, creds = write_config(tmp_path, cs.url, port)
    hw = Run(tmp_path, conf, port)
    second = None
    try:
        # The operator vouches for the hivewall instance (a seed), registers it with the feed
        # and gives it the credentials; three seeds list one address, two report the attacker.
        cs.start([*SEEDS, LOGIN])
        tokens = [cs.login(s) for s in SEEDS]
        assert cs.login(LOGIN, PASSWORD)
        for t in tokens:
            cs.push(t, LISTED)
        for t in tokens[:2]:
            cs.push(t, ATTACKER)
        puller = cs.login("e2epuller")
        assert set(cs.feed(puller)) == {LISTED}

        hw.start()
        key = subprocess.run([str(HIVEWALL_BIN), "-c", str(conf), "bouncers", "add", "fw", "-o", "raw"],
                             cwd=tmp_path, capture_output=True, text=True, timeout=60,
                             check=True).stdout.strip()
        fw = Bouncer(hw, key)
        listed = wait_for("the feed's entry on the bouncer's stream", lambda: fw.capi(LISTED),
                          timeout=20, every=0.3)
        assert [(d["type"], d["scope"], d["scenario"]) for d in listed] == [
            ("ban", "Ip", FEED_SCENARIO)], listed
        assert origins(hw, key, LISTED) == ["CAPI"]
        listed_id = listed[0]["id"]

        # A local alert goes out as a signal: the third established report lists the attacker,
        # and the next pull brings it back as a CAPI decision beside the local one.
        time.sleep(1)
        with open(auth, "a") as f:
            f.write(ssh_failures(ATTACKER, 8))
        wait_for("the local ban", lambda: "crowdsec" in origins(hw, key, ATTACKER), timeout=15)
        wait_for("hivewall's signal to list the attacker in the feed",
                 lambda: ATTACKER in cs.feed(puller), timeout=30, every=0.5)
        wait_for("the attacker's CAPI decision", lambda: fw.capi(ATTACKER), timeout=15, every=0.3)
        assert origins(hw, key, ATTACKER) == ["CAPI", "crowdsec"]
        stats = cs.call("GET", "hivewall/v1/stats")[1]
        assert stats["stats"]["reports"] >= 6, stats  # 5 from the seeds, then hivewall's

        # A restart pulls the whole feed again: nothing is duplicated, ids stay.
        pulls = hw.startup_pulls()
        hw.stop()
        hw.start()
        wait_for("the startup pull after the restart", lambda: hw.startup_pulls() > pulls,
                 timeout=15, every=0.2)
        again = [d for d in hw.get(f"v1/decisions?ip={LISTED}", key) or []]
        assert [(d["origin"], d["id"]) for d in again] == [("CAPI", listed_id)], again
        assert fw.capi(LISTED)[0]["id"] == listed_id

        # Another feed that lists only LATER: after a restart on it, what it no longer lists
        # is deleted (the bouncer gets the deletions); the local ban stays.
        hw.stop()
        cs.stop()
        (tmp_path / "second").mkdir()
        second = Consensus(tmp_path / "second")
        second.start([*SEEDS, LOGIN])
        assert second.login(LOGIN, PASSWORD)
        for s in SEEDS:
            second.push(second.login(s), LATER)
        creds.write_text(f"url: {second.url}\nlogin: {LOGIN}\npassword: {PASSWORD}\n")
        hw.start()
        wait_for("LATER on the stream", lambda: fw.capi(LATER), timeout=20, every=0.3)
        # LISTED is deleted on the bouncer; ATTACKER's CAPI decision is gone too, but the
        # local ban still covers it, so no deletion is sent that would unban it.
        gone = {d["value"] for d in fw.deleted if d["origin"] == "CAPI"}
        assert gone == {LISTED}, fw.deleted
        assert listed_id in {d["id"] for d in fw.deleted}
        assert not fw.capi(LISTED)
        # The bouncer still bans ATTACKER (under the CAPI entry it was sent, the longer one);
        # the API answers with the local ban alone.
        assert fw.capi(ATTACKER)
        assert origins(hw, key, LISTED) == []
        assert origins(hw, key, ATTACKER) == ["crowdsec"], "the local ban stays"
    finally:
        hw.stop()
        cs.stop()
        if second is not None:
            second.stop()
