"""Debian's crowdsec-firewall-bouncer (0.0.25, nftables mode) against `hivewall run`, in
network namespaces the test creates:

    attacker ns  198.51.100.2 --veth-- 198.51.100.1  protected ns  10.200.1.1 --veth-- 10.200.1.254  root ns
                                       (TCP listener, firewall bouncer)                 (hivewall API)

The log lines name the attacker's address; once hivewall bans it, the bouncer's nftables rules
in the protected namespace drop the attacker's TCP connections; after `hivewall decisions
delete` they connect again. Needs root. Namespaces (and with them the veths and the nftables
tables) are removed at the end whatever happens."""

import os
import shutil
import subprocess

import pytest

from conftest import CROWDSEC_ROOT, need_file, wait_for

ATTACKER = "198.51.100.2"  # TEST-NET-2: not whitelisted by hivewall/private-ranges
PROTECTED = "198.51.100.1"
API_HOST = "10.200.1.254"  # root side of the protected namespace's uplink
PORT = 8022

LISTENER = f"""
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("{PROTECTED}", {PORT}))
s.listen(16)
while True:
    c, _ = s.accept()
    c.sendall(b"hello\\n")
    c.close()
"""

CONNECT = f"""
import socket, sys
try:
    c = socket.create_connection(("{PROTECTED}", {PORT}), timeout=0.7)
    sys.exit(0 if c.recv(16) == b"hello\\n" else 3)
except OSError as e:
    print(e)
    sys.exit(1)
"""


def sh(*cmd, check=True):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    if check and p.returncode != 0:
        pytest.fail(f"`{' '.join(cmd)}` exited with {p.returncode}: {p.stderr.strip()}", pytrace=False)
    return p


@pytest.fixture
def netns():
    """(attacker ns, protected ns) names, with the topology above."""
    if os.geteuid() != 0:
        pytest.fail("the firewall bouncer test needs root (network namespaces, nftables)",
                    pytrace=False)
    for tool in ("ip", "nft"):
        if not shutil.which(tool):
            pytest.fail(f"`{tool}` not found (apt-get install iproute2 nftables, or run "
                        "scripts/clients/install.sh)", pytrace=False)
    tag = f"{os.getpid() % 100000}"
    att, prot = f"hwatt{tag}", f"hwprot{tag}"
    try:
        sh("ip", "netns", "add", att)
        sh("ip", "netns", "add", prot)
        # attacker <-> protected
        sh("ip", "link", "add", f"hwa{tag}", "type", "veth", "peer", "name", f"hwp{tag}")
        sh("ip", "link", "set", f"hwa{tag}", "netns", att)
        sh("ip", "link", "set", f"hwp{tag}", "netns", prot)
        # protected <-> root (the API)
        sh("ip", "link", "add", f"hwu{tag}", "type", "veth", "peer", "name", f"hwr{tag}")
        sh("ip", "link", "set", f"hwu{tag}", "netns", prot)
        sh("ip", "addr", "add", f"{API_HOST}/24", "dev", f"hwr{tag}")
        sh("ip", "link", "set", f"hwr{tag}", "up")
        for ns, dev, addr in ((att, f"hwa{tag}", f"{ATTACKER}/24"),
                              (prot, f"hwp{tag}", f"{PROTECTED}/24"),
                              (prot, f"hwu{tag}", "10.200.1.1/24")):
            sh("ip", "-n", ns, "addr", "add", addr, "dev", dev)
            sh("ip", "-n", ns, "link", "set", dev, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        yield att, prot
    finally:
        for ns in (att, prot):
            sh("ip", "netns", "del", ns, check=False)
        sh("ip", "link", "del", f"hwr{tag}", check=False)


def connects(att) -> bool:
    p = subprocess.run(["ip", "netns", "exec", att, "python3", "-c", CONNECT],
                       capture_output=True, text=True, timeout=10)
    return p.returncode == 0


def test_firewall_bouncer_nftables_drops_attacker(netns, start_hivewall, spawn, tmp_path):
    att, prot = netns
    binary = need_file(CROWDSEC_ROOT / "usr/bin/crowdsec-firewall-bouncer",
                       "crowdsec-firewall-bouncer")
    hw = start_hivewall(host=API_HOST)
    key = hw.add_bouncer("firewall")
    spawn(["ip", "netns", "exec", prot, "python3", "-c", LISTENER], tmp_path / "listener.log")
    wait_for("the attacker to reach the listener before any ban", lambda: connects(att), timeout=10)

    config = tmp_path / "crowdsec-firewall-bouncer.yaml"
    config.write_text(f"""\
mode: nftables
pid_dir: {tmp_path}/
update_frequency: 1s
daemonize: false
log_mode: stdout
log_level: info
api_url: {hw.url}
api_key: {key}
insecure_skip_verify: false
disable_ipv6: true
deny_action: DROP
deny_log: false
supported_decisions_types:
  - ban
nftables:
  ipv4:
    enabled: true
    set-only: false
    table: crowdsec
    chain: crowdsec-chain
  ipv6:
    enabled: false
    set-only: false
    table: crowdsec6
    chain: crowdsec6-chain
prometheus:
  enabled: false
  listen_addr: 127.0.0.1
  listen_port: 0
""")
    bouncer = spawn(["ip", "netns", "exec", prot, str(binary), "-c", str(config)],
                    tmp_path / "firewall-bouncer.log")
    wait_for("the bouncer's nftables table in the protected namespace",
             lambda: sh("ip", "netns", "exec", prot, "nft", "list", "table", "ip", "crowdsec",
                        check=False).returncode == 0, timeout=15)
    assert connects(att), "the bouncer's empty ruleset already blocks the attacker"

    hw.attack(ATTACKER)
    wait_for("the attacker's connection to be dropped", lambda: not connects(att), timeout=20,
             every=0.2)
    rules = sh("ip", "netns", "exec", prot, "nft", "list", "table", "ip", "crowdsec").stdout
    assert ATTACKER in rules, rules
    assert bouncer.proc.poll() is None, "the firewall bouncer exited"

    hw.delete_decisions(ATTACKER)
    wait_for("the attacker to connect again after `decisions delete`", lambda: connects(att),
             timeout=20, every=0.2)
    rules = sh("ip", "netns", "exec", prot, "nft", "list", "table", "ip", "crowdsec").stdout
    assert ATTACKER not in rules, rules
