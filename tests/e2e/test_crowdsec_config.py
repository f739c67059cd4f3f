"""A CrowdSec install switches over as it is: `hivewall run -c config.yaml` on Debian's own
CrowdSec 1.4.6 `config.yaml` (paths moved into a temp root, ports made free), with hub items
installed the way `cscli` installs them (symlinks into the hub), CrowdSec's `acquis.yaml` and
`profiles.yaml`. The attack is detected by CrowdSec's own sshd parsers and ssh-bf scenario,
the ban is served to a bouncer, metrics are on CrowdSec's prometheus address, and operator
commands given the same `-c` find the state beside CrowdSec's database."""

import os
import re
import shutil
import signal
import subprocess

import urllib.request

from conftest import (CROWDSEC_ROOT, HIVEWALL_BIN, free_port, need_file, ssh_failures,
                      wait_for)

ATTACKER = "192.0.2.77"
HUB_ITEMS = [
    "parsers/s00-raw/crowdsecurity/syslog-logs.yaml",
    "parsers/s01-parse/crowdsecurity/sshd-logs.yaml",
    "parsers/s02-enrich/crowdsecurity/dateparse-enrich.yaml",
    "scenarios/crowdsecurity/ssh-bf.yaml",
]


def install_like_crowdsec(root):
    """/etc/crowdsec and /var/lib/crowdsec of a Debian install, under `root`."""
    etc = need_file(CROWDSEC_ROOT / "etc/crowdsec", "Debian's CrowdSec 1.4.6 config")
    hub_src = CROWDSEC_ROOT / "usr/share/crowdsec/hub"
    conf_dir = root / "etc/crowdsec"
    lib = root / "var/lib/crowdsec"
    shutil.copytree(etc, conf_dir, symlinks=True)
    shutil.copytree(hub_src, lib / "hub", symlinks=True)
    shutil.copytree(CROWDSEC_ROOT / "usr/share/crowdsec/data", lib / "data")
    for item in HUB_ITEMS:
        kind, *stage, _author, name = item.split("/")
        dest = conf_dir / kind / "/".join(stage) / name
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(lib / "hub" / item, dest)
    api_port, prom_port = free_port(), free_port()
    text = (etc / "config.yaml").read_text()
    text = (text.replace("/etc/crowdsec/", f"{conf_dir}/")
                .replace("/var/lib/crowdsec/", f"{lib}/")
                .replace("/var/log/", f"{root}/log/")
                .replace("127.0.0.1:8080", f"127.0.0.1:{api_port}")
                .replace("listen_port: 6060", f"listen_port: {prom_port}"))
    (conf_dir / "config.yaml").write_text(text)
    (root / "log").mkdir()
    auth = root / "log/auth.log"
    auth.touch()
    (conf_dir / "acquis.yaml").write_text(
        f"filenames:\n  - {auth}\nlabels:\n  type: syslog\n")
    return conf_dir / "config.yaml", auth, api_port, prom_port, lib


def test_run_on_crowdsecs_own_config(tmp_path):
    need_file(HIVEWALL_BIN, "the hivewall binary", "cargo build -p cli")
    config, auth, api_port, prom_port, lib = install_like_crowdsec(tmp_path)
    out = open(tmp_path / "hivewall.out", "wb")
    proc = subprocess.Popen([str(HIVEWALL_BIN), "run", "-c", str(config)], cwd=tmp_path,
                            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{api_port}/"

        def answers():
            try:
                urllib.request.urlopen(url + "v1/decisions", timeout=1)
            except urllib.error.HTTPError:
                return True
            except OSError:
                assert proc.poll() is None, (tmp_path / "hivewall.out").read_text()
                return False
            return True

        wait_for("hivewall's API on CrowdSec's listen_uri", answers, timeout=30)
        banner = (tmp_path / "hivewall.out").read_text()
        assert f"watching file {auth} (type syslog)" in banner, banner
        # State sits beside CrowdSec's database (db_config.db_path's directory).
        assert (lib / "data/hivewall/api").is_dir(), banner

        key = subprocess.run(
            [str(HIVEWALL_BIN), "-c", str(config), "bouncers", "add", "fw", "-o", "raw"],
            cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True,
        ).stdout.strip()
        with open(auth, "a") as f:
            f.write(ssh_failures(ATTACKER))

        def banned():
            req = urllib.request.Request(url + f"v1/decisions?ip={ATTACKER}",
                                         headers={"X-Api-Key": key})
            body = urllib.request.urlopen(req, timeout=2).read()
            return b"crowdsecurity/ssh-bf" in body and b'"ban"' in body

        wait_for("CrowdSec's ssh-bf to ban the attacker through hivewall", banned, timeout=10)

        metrics = urllib.request.urlopen(
            f"http://127.0.0.1:{prom_port}/metrics", timeout=2).read().decode()
        poured = re.search(r'hivewall_lines_parsed_total\{[^}]*result="poured"[^}]*\} (\d+)',
                           metrics)
        assert poured and int(poured.group(1)) >= 7, metrics

        listed = subprocess.run(
            [str(HIVEWALL_BIN), "-c", str(config), "decisions", "list", "-o", "json"],
            cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True,
        ).stdout
        assert ATTACKER in listed and "crowdsecurity/ssh-bf" in listed, listed
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        out.close()
    assert rc == 0, (tmp_path / "hivewall.out").read_text()

