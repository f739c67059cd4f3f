"""Fixtures of hivewall's end-to-end tests: a real `hivewall run` on a temp state dir, a free
port and a temp auth.log; helpers to attack it (append sshd lines) and to run the operator CLI.

Env: HIVEWALL_BIN (default $CARGO_TARGET_DIR or ~/.cache/hivewall/target, then debug/hivewall),
HIVEWALL_CACHE (default ~/.cache/hivewall: the clients of scripts/clients/install.sh).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("HIVEWALL_CACHE", Path.home() / ".cache" / "hivewall"))
TARGET = Path(os.environ.get("CARGO_TARGET_DIR", Path.home() / ".cache" / "hivewall" / "target"))
HIVEWALL_BIN = Path(os.environ.get("HIVEWALL_BIN", TARGET / "debug" / "hivewall"))
CROWDSEC_ROOT = CACHE / "crowdsec-1.4.6"
CLIENTS = CACHE / "clients"
RESULTS = CACHE / "e2e-results.json"
INSTALL_HINT = "run scripts/clients/install.sh"


def need_file(path: Path, what: str, hint: str = INSTALL_HINT) -> Path:
    """`path`, or a test failure naming what is missing and how to get it."""
    if not path.exists():
        pytest.fail(f"{what} not found at {path} ({hint})", pytrace=False)
    return path


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def syslog_now() -> str:
    """The current local time as a syslog timestamp (`Jun  1 10:00:01`)."""
    return time.strftime("%b %e %H:%M:%S")


def ssh_failures(ip: str, n: int = 8, user: str = "admin", host: str = "web1") -> str:
    """`n` sshd failed-password lines from `ip`, stamped now (hivewall/ssh-bf fires on 7)."""
    ts = syslog_now()
    return "".join(
        f"{ts} {host} sshd[{4001 + i}]: Failed password for invalid user {user} "
        f"from {ip} port {50001 + i} ssh2\n"
        for i in range(n)
    )


def record_result(key: str, value) -> None:
    """Merge `key: value` into $HIVEWALL_CACHE/e2e-results.json."""
    data = {}
    if RESULTS.exists():
        try:
            data = json.loads(RESULTS.read_text())
        except ValueError:
            data = {}
    data[key] = value
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def api_answers(url: str) -> bool:
    """True once an API at `url` answers HTTP (any status) on /v1/decisions."""
    try:
        urllib.request.urlopen(url + "v1/decisions", timeout=1)
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


def wait_for(what: str, fn, timeout: float = 10.0, every: float = 0.05):
    """Calls `fn` until it returns a truthy value; fails with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = fn()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - reported below
            last_exc = e
        if time.monotonic() > deadline:
            extra = f" (last error: {last_exc!r})" if last_exc else ""
            pytest.fail(f"timed out after {timeout}s waiting for {what}{extra}", pytrace=False)
        time.sleep(every)


class Hivewall:
    """One `hivewall run` process."""

    def __init__(self, tmp: Path, host: str = "127.0.0.1", port: int | None = None):
        self.tmp = tmp
        self.state_dir = tmp / "state"
        self.auth_log = tmp / "auth.log"
        self.auth_log.touch()
        self.host = host
        self.port = port or free_port(host)
        self.url = f"http://{host}:{self.port}/"
        self.stderr_path = tmp / "hivewall.stderr"
        self.proc: subprocess.Popen | None = None
        self.cli_log: list[str] = []

    # ---- process ----------------------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> "Hivewall":
        need_file(HIVEWALL_BIN, "the hivewall binary", "cargo build -p cli, or set HIVEWALL_BIN")
        cmd = [
            str(HIVEWALL_BIN), "run",
            "--state-dir", str(self.state_dir),
            "--listen", f"{self.host}:{self.port}",
            "--type", "syslog", str(self.auth_log),
        ]
        env = dict(os.environ, HIVEWALL_CONFIG_DIR=str(REPO / "scenarios"))
        self.stderr_file = open(self.stderr_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL,
            stdout=self.stderr_file, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"hivewall run exited with {self.proc.returncode} before its API answered:\n"
                    + self.stderr()
                )
            if self.api_answers():
                return self
            if time.monotonic() > deadline:
                raise RuntimeError(f"hivewall's API at {self.url} did not answer in {timeout}s")
            time.sleep(0.05)

    def api_answers(self) -> bool:
        """True once the API answers HTTP (any status) on /v1/decisions."""
        return api_answers(self.url)

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.stderr_file.close()
        return self.proc.returncode

    def stderr(self) -> str:
        try:
            text = self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""
        return text[-20000:]

    # ---- attacks ----------------------------------------------------------------------------
    def append(self, text: str) -> float:
        """Appends `text` to the followed auth.log; returns time.monotonic() after the write."""
        with open(self.auth_log, "a") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        return time.monotonic()

    def attack(self, ip: str, n: int = 8) -> float:
        return self.append(ssh_failures(ip, n))

    # ---- operator CLI -----------------------------------------------------------------------
    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """`hivewall ARGS --state-dir DIR`, run from the repository."""
        cmd = [str(HIVEWALL_BIN), *args, "--state-dir", str(self.state_dir)]
        p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=60)
        self.cli_log.append(f"$ {' '.join(cmd)}\n[exit {p.returncode}]\n{p.stdout}{p.stderr}")
        if check and p.returncode != 0:
            pytest.fail(
                f"`hivewall {' '.join(args)}` exited with {p.returncode}:\n{p.stdout}{p.stderr}",
                pytrace=False,
            )
        return p

    def operator(self, args: list[str], method: str, path: str, body: dict | None = None):
        """Runs the operator verb `hivewall ARGS`; while the CLI lacks the verb (clap:
        "unrecognized subcommand"), does the same through the admin HTTP API instead (METHOD
        PATH BODY, key from DIR/admin.key) and warns. Returns the CLI's stdout or the JSON."""
        p = self.cli(*args, check=False)
        if p.returncode == 0:
            return p.stdout
        if "unrecognized subcommand" not in p.stderr:
            pytest.fail(f"`hivewall {' '.join(args)}` exited with {p.returncode}:\n"
                        f"{p.stdout}{p.stderr}", pytrace=False)
        warnings.warn(f"`hivewall {args[0]} {args[1]}` is missing: used {method} {path} of the "
                      "admin API instead", stacklevel=2)
        return self.admin(method, path, body)

    def admin(self, method: str, path: str, body: dict | None = None):
        key = need_file(self.state_dir / "admin.key", "hivewall's admin key").read_text().strip()
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"{self.url}hivewall/admin/v1/{path}", data=data, method=method,
            headers={"X-Hivewall-Admin-Key": key, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                raw = r.read()
        except urllib.error.HTTPError as e:
            pytest.fail(f"admin API {method} {path} answered {e.code}: {e.read()!r}", pytrace=False)
        self.cli_log.append(f"admin API {method} {path} {body or ''} -> {raw[:500]!r}")
        return json.loads(raw) if raw else None

    def add_bouncer(self, name: str) -> str:
        out = self.operator(["bouncers", "add", name, "-o", "raw"], "POST", "bouncers",
                            {"name": name})
        key = out["key"] if isinstance(out, dict) else out.strip()
        assert key and "\n" not in key and " " not in key, (
            f"`hivewall bouncers add {name} -o raw` should print only the key, got {out!r}"
        )
        return key

    def delete_decisions(self, ip: str) -> None:
        out = self.operator(["decisions", "delete", "--ip", ip], "DELETE", f"decisions?ip={ip}")
        if isinstance(out, dict):
            assert out.get("deleted", 0) >= 1, f"no decision deleted for {ip}: {out}"

    def validate_machine(self, machine_id: str) -> None:
        self.operator(["machines", "validate", machine_id], "POST",
                      f"machines/{machine_id}/validate")

    # ---- HTTP -------------------------------------------------------------------------------
    def get(self, path: str, headers: dict[str, str] | None = None):
        """(status, parsed JSON body or None) of GET `path`."""
        req = urllib.request.Request(self.url + path.lstrip("/"), headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                body = r.read()
                return r.status, (json.loads(body) if body else None)
        except urllib.error.HTTPError as e:
            body = e.read()
            try:
                return e.code, json.loads(body)
            except ValueError:
                return e.code, body.decode(errors="replace")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On failure, add the stderr of every hivewall the test started to the report."""
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for hw in getattr(item, "_hivewalls", []):
            if hw.proc is None:
                continue
            rep.sections.append((f"hivewall run stderr ({hw.url})", hw.stderr() or "(empty)"))
            if hw.cli_log:
                rep.sections.append((f"hivewall CLI calls ({hw.url})", "\n".join(hw.cli_log)))
        for p in getattr(item, "_e2e_procs", []):
            rep.sections.append((f"output of {' '.join(map(str, p.proc.args))[:200]}",
                                 p.output()[-10000:] or "(empty)"))


@pytest.fixture
def start_hivewall(request, tmp_path):
    """Factory: start_hivewall(host="127.0.0.1") -> a running Hivewall, stopped at teardown."""
    started: list[Hivewall] = []
    request.node._hivewalls = started

    def start(host: str = "127.0.0.1") -> Hivewall:
        (tmp_path / f"hw{len(started)}").mkdir()
        hw = Hivewall(tmp_path / f"hw{len(started)}", host=host)
        started.append(hw)
        return hw.start()

    yield start
    unclean = []
    for hw in started:
        rc = hw.stop()
        if rc != 0:
            unclean.append(f"{hw.url}: exit {rc}\n{hw.stderr()[-3000:]}")
    if unclean:
        pytest.fail("hivewall run did not exit cleanly on SIGTERM:\n" + "\n".join(unclean),
                    pytrace=False)


@pytest.fixture
def hivewall(start_hivewall) -> Hivewall:
    """A running `hivewall run` on 127.0.0.1."""
    return start_hivewall()


class Proc:
    """A client process started by a test, stopped (SIGTERM, then SIGKILL) at teardown."""

    def __init__(self, cmd: list[str], log: Path, **kw):
        self.log = log
        self.logf = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.logf,
                                     stderr=subprocess.STDOUT, **kw)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()


@pytest.fixture
def spawn(request):
    """Factory: spawn(cmd, log_path, **popen_kwargs) -> Proc; all stopped at teardown, and
    their output added to the report of a failed test."""
    procs: list[Proc] = []
    request.node._e2e_procs = procs

    def start(cmd: list[str], log: Path, **kw) -> Proc:
        p = Proc(cmd, log, **kw)
        procs.append(p)
        return p

    yield start
    for p in procs:
        p.stop()
