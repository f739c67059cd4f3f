"""The real CrowdSec 1.4.6 (Debian's package) as a member of hivewall's community consensus:
`cscli capi register` registers with `hivewall consensus`, the agent's local API logs in with
its online_client credentials, pushes the signal of an alert it raised on a log, sends its
metrics, and pulls the consensus feed as its community blocklist (`cscli decisions list -a
--origin CAPI`).

1.4.6's `cscli capi register` has the Central API's URL built in (`https://api.crowdsec.net/`,
no `--url` flag): the test runs it behind a local CONNECT proxy that terminates TLS with a
test CA (`SSL_CERT_FILE`, which Go reads) and relays to the consensus endpoint, then points
the written credentials at the endpoint, as an operator would edit them.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest
from conftest import (CROWDSEC_ROOT, HIVEWALL_BIN, REPO, free_port, need_file, ssh_failures,
                      wait_for)
from test_crowdsec_agent import agent_config, run

SEEDS = ["hwseed1", "hwseed2", "hwseed3"]
LISTED_BEFORE = "45.146.10.7"  # in the feed before the agent starts
ATTACKER = "45.146.20.9"  # the agent sees it attack; two seeds reported it already
FEED_SCENARIO = "hivewall/consensus:crowdsecurity/ssh-bf"


# ---- TLS interception for `cscli capi register` ---------------------------------------------
def make_certs(tmp):
    """A test CA and a certificate for api.crowdsec.net signed by it (openssl CLI)."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl not found (apt-get install openssl)", pytrace=False)
    ca_key, ca, key, csr, crt, ext = (tmp / n for n in
                                      ("ca.key", "ca.pem", "srv.key", "srv.csr", "srv.pem", "ext"))
    ossl = lambda *a: subprocess.run(["openssl", *a], check=True, capture_output=True)  # noqa: E731
    ossl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(ca_key))
    ossl("req", "-x509", "-new", "-key", str(ca_key), "-subj", "/CN=hivewall e2e CA", "-days", "2",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-out", str(ca))
    ossl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", str(key))
    ossl("req", "-new", "-key", str(key), "-subj", "/CN=api.crowdsec.net", "-out", str(csr))
    ext.write_text("subjectAltName=DNS:api.crowdsec.net\nextendedKeyUsage=serverAuth\n")
    ossl("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
         "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", str(crt))
    return ca, crt, key


class Proxy(threading.Thread):
    """An HTTP CONNECT proxy that terminates TLS and relays the plain bytes to `upstream`."""

    def __init__(self, upstream: int, crt, key):
        super().__init__(daemon=True)
        self.upstream = upstream
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(str(crt), str(key))
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.connects: list[str] = []

    def run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(conn,), daemon=True).start()

    def handle(self, conn):
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            self.connects.append(head.split(b"\r\n", 1)[0].decode())
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            with self.ctx.wrap_socket(conn, server_side=True) as tls, \
                    socket.create_connection(("127.0.0.1", self.upstream)) as up:
                pair = {tls: up, up: tls}
                while True:
                    ready, _, _ = select.select(list(pair), [], [], 10)
                    if not ready:
                        return
                    for s in ready:
                        data = s.recv(65536)
                        if not data:
                            return
                        pair[s].sendall(data)

    def close(self):
        self.sock.close()


# ---- the consensus endpoint -----------------------------------------------------------------
class Consensus:
    def __init__(self, tmp):
        self.state = tmp / "consensus-state"
        self.rules = tmp / "rules.yaml"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.log = tmp / "consensus.log"
        self.proc = None

    def start(self, seeds):
        self.rules.write_text("seeds:\n" + "".join(
            f"  - reporter: {s}\n    confirmed: 20\n" for s in seeds))
        need_file(HIVEWALL_BIN, "the hivewall binary", "cargo build -p cli, or set HIVEWALL_BIN")
        self.proc = subprocess.Popen(
            [str(HIVEWALL_BIN), "consensus", "--listen", f"127.0.0.1:{self.port}",
             "--state-dir", str(self.state), "--rules", str(self.rules), "--snapshot-every", "1"],
            cwd=REPO, stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)  # noqa: SIM115
        wait_for("the consensus endpoint", lambda: self.call("GET", "health")[0] == 200)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            assert self.proc.wait(timeout=15) == 0, self.log.read_text()[-3000:]

    def call(self, method, path, body=None, token=None):
        req = urllib.request.Request(self.url + path, method=method,
                                     data=None if body is None else json.dumps(body).encode())
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                text = r.read()
                return r.status, json.loads(text) if text else None
        except urllib.error.HTTPError as e:
            return e.code, None

    def login(self, machine_id, password=None):
        password = password or f"pw-{machine_id}"
        self.call("POST", "v2/watchers", {"machine_id": machine_id, "password": password})
        status, body = self.call("POST", "v2/watchers/login",
                                 {"machine_id": machine_id, "password": password, "scenarios": []})
        assert status == 200, (status, body)
        return body["token"]

    def push(self, token, ip):
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        sig = {"scenario": "crowdsecurity/ssh-bf", "scenario_hash": "", "scenario_version": "",
               "message": "", "source": {"scope": "Ip", "value": ip, "ip": ip},
               "start_at": now, "stop_at": now}
        assert self.call("POST", "v2/signals", [sig], token)[0] == 200

    def feed(self, token):
        status, body = self.call("GET", "v2/decisions/stream?startup=true", token=token)
        assert status == 200
        return {d["value"]: d for d in body["new"]}


def crowdsec_config(tmp, lapi_port, online_creds, log):
    """A private config for the agent with its local API (SQLite) and an online_client."""
    conf_dir, data_dir = tmp / "config", tmp / "data"
    return agent_config(
        tmp,
        conf_dir / "local_api_credentials.yaml",
        acquis=f"filenames:\n  - {log}\nlabels:\n  type: syslog\n",
        db=f"""\
  log_level: info
  type: sqlite
  db_path: {data_dir}/crowdsec.db
  use_wal: true
""",
        server=f"""\
    log_level: info
    listen_uri: 127.0.0.1:{lapi_port}
    profiles_path: {conf_dir}/profiles.yaml
    console_path: {conf_dir}/console.yaml
    online_client:
      credentials_path: {online_creds}
    trusted_ips:
      - 127.0.0.1
""")


def test_crowdsec_146_is_a_member_of_the_consensus(tmp_path):
    crowdsec = need_file(CROWDSEC_ROOT / "usr/bin/crowdsec", "crowdsec 1.4.6 agent")
    cscli = need_file(CROWDSEC_ROOT / "usr/bin/cscli", "cscli 1.4.6")
    cs = Consensus(tmp_path)
    agent = None
    proxy = None
    try:
        cs.start(SEEDS)
        log = tmp_path / "auth.log"
        log.touch()
        online = tmp_path / "online_api_credentials.yaml"
        online.write_text("")  # as the package ships it: cscli capi register fills it
        conf = crowdsec_config(tmp_path, free_port(), online, log)

        # `cscli capi register`: its request reaches the endpoint through the proxy.
        ca, crt, key = make_certs(tmp_path)
        proxy = Proxy(cs.port, crt, key)
        proxy.start()
        env = dict(os.environ, HTTPS_PROXY=f"http://127.0.0.1:{proxy.port}", SSL_CERT_FILE=str(ca))
        reg = subprocess.run([str(cscli), "-c", str(conf), "capi", "register", "-f", str(online)],
                             capture_output=True, text=True, timeout=60, env=env)
        assert reg.returncode == 0, f"cscli capi register:\n{reg.stdout}{reg.stderr}"
        assert proxy.connects == ["CONNECT api.crowdsec.net:443 HTTP/1.1"], proxy.connects
        creds = dict(line.split(": ", 1) for line in online.read_text().splitlines() if ": " in line)
        login, password = creds["login"], creds["password"]
        assert cs.login(login, password), "the watcher cscli registered logs in"
        # The operator points the credentials at the endpoint.
        online.write_text(f"url: {cs.url}\nlogin: {login}\npassword: {password}\n")
        status = run([cscli, "-c", conf, "capi", "status"])
        assert "successfully interact with Central API" in status.stdout + status.stderr, (
            f"{status.stdout}{status.stderr}")

        # The operator vouches for the agent (restart with it seeded; registrations and state
        # survive the restart). Three seeds list one address; two report the attacker.
        cs.stop()
        cs.start([*SEEDS, login])
        tokens = [cs.login(s) for s in SEEDS]
        for t in tokens:
            cs.push(t, LISTED_BEFORE)
        for t in tokens[:2]:
            cs.push(t, ATTACKER)
        puller = cs.login("e2epuller")
        assert set(cs.feed(puller)) == {LISTED_BEFORE}

        # The agent with its local API and the online_client: it pulls the feed at start.
        mach = run([cscli, "-c", conf, "machines", "add", "-a"])
        assert mach.returncode == 0, f"{mach.stdout}{mach.stderr}"
        agent_log = tmp_path / "crowdsec.out"
        agent = subprocess.Popen([str(crowdsec), "-c", str(conf)], stdout=open(agent_log, "wb"),  # noqa: SIM115
                                 stderr=subprocess.STDOUT)

        def capi_decisions():
            p = run([cscli, "-c", conf, "decisions", "list", "-a", "--origin", "CAPI", "-o", "json"])
            if p.returncode != 0 or not p.stdout.strip() or p.stdout.strip() == "null":
                return None
            return [d for a in json.loads(p.stdout) for d in (a.get("decisions") or [])]

        decisions = wait_for("the community blocklist in the agent's local API", capi_decisions,
                             timeout=60, every=1)
        assert {(d["value"], d["origin"], d["type"], d["scenario"], d["scope"]) for d in decisions} == {
            (LISTED_BEFORE, "CAPI", "ban", FEED_SCENARIO, "Ip")}, decisions

        # The agent sees the attacker; its alert goes out as a signal (1.4.6 pushes 15 to 45 s
        # after start, then every 30 s) and is the third established report: listed.
        wait_for("the agent to read the log",
                 lambda: "Starting processing data" in agent_log.read_text(errors="replace"),
                 timeout=30, every=0.2)
        time.sleep(1)
        with open(log, "a") as f:
            f.write(ssh_failures(ATTACKER, 8))
        wait_for("the agent's alert",
                 lambda: f"Ip {ATTACKER} performed 'crowdsecurity/ssh-bf'" in agent_log.read_text(errors="replace"),
                 timeout=30, every=0.2)
        wait_for("the agent's signal to list the attacker", lambda: ATTACKER in cs.feed(puller),
                 timeout=90, every=1)
        out = agent_log.read_text(errors="replace")
        assert "capi metrics: metrics sent successfully" in out, out[-5000:]
        assert "Signal push: 1 signals to push" in out, out[-5000:]
        capi_errors = [line for line in out.splitlines() if "level=error" in line or "level=fatal" in line
                       if any(w in line.lower() for w in ("capi", "central api", "signal", "push"))]
        assert not capi_errors, "\n".join(capi_errors)
    finally:
        if agent is not None and agent.poll() is None:
            agent.send_signal(signal.SIGTERM)
            try:
                agent.wait(timeout=20)
            except subprocess.TimeoutExpired:
                agent.kill()
        if proxy is not None:
            proxy.close()
        cs.stop()
