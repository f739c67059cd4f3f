"""The real CrowdSec 1.4.6 agent (Debian's package) as a watcher of `hivewall run`:
`cscli lapi register` against hivewall, validation by hivewall's operator, the agent replays an
sshd attack with the hub's parsers and ssh-bf scenario and pushes its alert to hivewall, whose
profiles turn it into a ban a bouncer sees; Debian's `cscli decisions list` and `cscli alerts
list` work against hivewall."""

import json
import subprocess

from conftest import CROWDSEC_ROOT, need_file, ssh_failures

ATTACKER = "203.0.113.50"
HUB = CROWDSEC_ROOT / "usr/share/crowdsec/hub"
MACHINE = "e2e-agent"
ITEMS = {  # installed path under the config dir -> hub snapshot path
    "parsers/s00-raw/syslog-logs.yaml": "parsers/s00-raw/crowdsecurity/syslog-logs.yaml",
    "parsers/s01-parse/sshd-logs.yaml": "parsers/s01-parse/crowdsecurity/sshd-logs.yaml",
    "parsers/s02-enrich/dateparse-enrich.yaml": "parsers/s02-enrich/crowdsecurity/dateparse-enrich.yaml",
    "scenarios/ssh-bf.yaml": "scenarios/crowdsecurity/ssh-bf.yaml",
}


def agent_config(tmp, creds, acquis: str = "", db: str = "", server: str = ""):
    """A private config.yaml for the agent and cscli (as scripts/crowdsec/replay.sh writes one),
    with the API client pointing at `creds`; `acquis` is acquis.yaml, `db` and `server` the
    YAML of `db_config` and `api.server` when the agent runs its own local API."""
    conf_dir, data_dir = tmp / "config", tmp / "data"
    conf_dir.mkdir()
    data_dir.mkdir()
    (conf_dir / "patterns").symlink_to(CROWDSEC_ROOT / "etc/crowdsec/patterns")
    for f in ("profiles.yaml", "simulation.yaml"):
        (conf_dir / f).write_bytes((CROWDSEC_ROOT / "etc/crowdsec" / f).read_bytes())
    (conf_dir / "acquis.yaml").write_text(acquis)
    for dst, src in ITEMS.items():
        need_file(HUB / src, f"hub item {src}")
        (conf_dir / dst).parent.mkdir(parents=True, exist_ok=True)
        (conf_dir / dst).symlink_to(HUB / src)
    conf = conf_dir / "config.yaml"
    db_section = f"db_config:\n{db}" if db else ""
    server_section = f"  server:\n{server}" if server else ""
    conf.write_text(f"""\
common:
  daemonize: false
  log_media: stdout
  log_level: info
  log_dir: {tmp}/
  working_dir: .
config_paths:
  config_dir: {conf_dir}/
  data_dir: {data_dir}/
  simulation_path: {conf_dir}/simulation.yaml
  hub_dir: {HUB}/
  index_path: {HUB}/.index.json
  notification_dir: {conf_dir}/notifications/
  plugin_dir: {CROWDSEC_ROOT}/usr/lib/crowdsec/plugins/
crowdsec_service:
  acquisition_path: {conf_dir}/acquis.yaml
  parser_routines: 1
cscli:
  output: human
  color: "no"
{db_section}api:
  client:
    insecure_skip_verify: false
    credentials_path: {creds}
{server_section}prometheus:
  enabled: false
  level: full
  listen_addr: 127.0.0.1
  listen_port: 0
""")
    return conf


def run(cmd, timeout=60):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout)


def test_crowdsec_agent_as_watcher(hivewall, tmp_path):
    crowdsec = need_file(CROWDSEC_ROOT / "usr/bin/crowdsec", "crowdsec 1.4.6 agent")
    cscli = need_file(CROWDSEC_ROOT / "usr/bin/cscli", "cscli 1.4.6")
    creds = tmp_path / "local_api_credentials.yaml"
    conf = agent_config(tmp_path, creds)
    # cscli loads the client credentials before any command: start from a placeholder, as the
    # package's default local_api_credentials.yaml is one.
    creds.write_text(f"url: {hivewall.url}\nlogin: placeholder\npassword: placeholder\n")

    # Registration through the watcher API (POST /v1/watchers), then validation by the operator.
    reg = run([cscli, "-c", conf, "lapi", "register", "-u", hivewall.url.rstrip("/"),
               "--machine", MACHINE, "-f", creds])
    assert reg.returncode == 0, f"cscli lapi register failed:\n{reg.stdout}{reg.stderr}"
    assert f"url: {hivewall.url}" in creds.read_text(), creds.read_text()
    hivewall.validate_machine(MACHINE)
    status = run([cscli, "-c", conf, "lapi", "status"])
    assert status.returncode == 0 and "successfully interact" in status.stdout + status.stderr, (
        f"cscli lapi status:\n{status.stdout}{status.stderr}")

    # The agent replays the attack (no local API of its own) and pushes its alert to hivewall.
    log = tmp_path / "auth.log"
    log.write_text(ssh_failures(ATTACKER, 8))
    agent = run([crowdsec, "-c", conf, "-dsn", f"file://{log}", "-type", "syslog", "-no-api"],
                timeout=90)
    out = agent.stdout + agent.stderr
    assert agent.returncode == 0, f"crowdsec exited with {agent.returncode}:\n{out[-5000:]}"
    assert "level=fatal" not in out, out[-5000:]
    assert f"Ip {ATTACKER} performed 'crowdsecurity/ssh-bf'" in out, out[-5000:]

    # hivewall's profiles turned the alert into a ban that a bouncer sees.
    key = hivewall.add_bouncer("agent-check")
    status_code, decisions = hivewall.get(f"v1/decisions?ip={ATTACKER}", {"X-Api-Key": key})
    assert status_code == 200 and decisions, (status_code, decisions)
    assert {(d["value"], d["type"], d["scenario"]) for d in decisions} == {
        (ATTACKER, "ban", "crowdsecurity/ssh-bf")}, decisions

    # Debian's cscli reads them back from hivewall with the machine's credentials.
    dl = run([cscli, "-c", conf, "decisions", "list", "-o", "json"])
    assert dl.returncode == 0, f"cscli decisions list:\n{dl.stdout}{dl.stderr}"
    alerts = json.loads(dl.stdout)
    values = {d["value"] for a in alerts for d in (a.get("decisions") or [])}
    assert ATTACKER in values, dl.stdout
    al = run([cscli, "-c", conf, "alerts", "list", "-o", "json"])
    assert al.returncode == 0, f"cscli alerts list:\n{al.stdout}{al.stderr}"
    listed = json.loads(al.stdout)
    mine = [a for a in listed if a["scenario"] == "crowdsecurity/ssh-bf"]
    assert len(mine) == 1, al.stdout
    assert mine[0]["source"]["ip"] == ATTACKER and mine[0]["machine_id"] == MACHINE, mine[0]
    assert mine[0]["events_count"] == 6, mine[0]  # 1.4.6's ssh-bf: capacity 5
