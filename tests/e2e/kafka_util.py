"""Helpers of test_kafka.py: a broker of its own (docker/kafka/kafka.sh), the distributed
services (`hivewall processor`, `hivewall api`) as processes, `hivewall ingest --once`, the
decisions `hivewall replay` takes for the same logs, and the decisions topic as records.

The broker is not $HIVEWALL_KAFKA_BROKERS (scripts/test.sh's shared one): the services use the
default topic names and consumer groups, which a shared broker keeps from run to run, and one
test stops and starts the broker. A broker that cannot be started is a failure, not a skip.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import HIVEWALL_BIN, REPO, TARGET, Proc, api_answers, free_port, need_file

KAFKA_SH = REPO / "docker" / "kafka" / "kafka.sh"
PARTITIONS = 4
# (topic, compacted): what processor, api and ingest read and write (wire::bus, processor::bus,
# decision_api::bus), created as docker/compose.yaml's kafka-topics service does.
TOPICS = [
    ("hivewall.lines", False),
    ("hivewall.events", False),
    ("hivewall.alerts", False),
    ("hivewall.decisions", True),
    ("hivewall.bouncers", True),
    ("hivewall.state", True),
]
DECISIONS_TOPIC = "hivewall.decisions"
ENV = {"HIVEWALL_CONFIG_DIR": str(REPO / "scenarios")}

# (value, scenario, type): what a decision is for the comparisons; with the duration asked for.
Triple = tuple[str, str, str]
Quad = tuple[str, str, str, str]


def triple(d: dict) -> Triple:
    return (d["value"], d["scenario"], d["type"])


def quad(d: dict) -> Quad:
    return (d["value"], d["scenario"], d["type"], d["duration"])


def go_seconds(text: str) -> float:
    """Seconds of a Go duration as the API prints time left (`3h59m31.0177s`, `12h0m0s`)."""
    m = re.fullmatch(r"(-)?(?:(\d+)h)?(?:(\d+)m)?(?:([\d.]+)s)?", text)
    if not m or not any(m.groups()[1:]):
        raise ValueError(f"not a Go duration: {text!r}")
    secs = int(m[2] or 0) * 3600 + int(m[3] or 0) * 60 + float(m[4] or 0)
    return -secs if m[1] else secs


def port_pair() -> int:
    """A free port P whose P+1 is free too (kafka.sh's controller listens on P+1)."""
    for _ in range(50):
        p = free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p + 1))
            except OSError:
                continue
        return p
    pytest.fail("no pair of free ports on 127.0.0.1 for the broker", pytrace=False)


class LogView:
    """A file shown in a failed test's report like the output of a conftest `Proc`."""

    def __init__(self, what: str, path: Path):
        self.proc = SimpleNamespace(args=[what])
        self.path = path

    def output(self) -> str:
        try:
            return self.path.read_text(errors="replace")
        except OSError:
            return ""


@dataclass
class Record:
    partition: int
    offset: int
    key: str
    value: dict | None  # None: a tombstone


class Broker:
    """A single-node KRaft broker of kafka.sh, data in `dir`, on a port of its own."""

    def __init__(self, data_dir: Path):
        self.dir = data_dir
        self.port = port_pair()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.log = LogView(f"broker {self.bootstrap}: {data_dir}/kafka.log",
                           data_dir / "kafka.log")

    def _sh(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([str(KAFKA_SH), *args], cwd=REPO, capture_output=True, text=True,
                              timeout=timeout)

    def start(self, fresh: bool = False) -> None:
        """Starts it (formats the storage when new; `fresh` wipes the data first) and waits
        until it answers; a failure fails the test with kafka.sh's message."""
        args = ["start", "--dir", str(self.dir), "--port", str(self.port)]
        p = self._sh(*args, *(["--fresh"] if fresh else []))
        if p.returncode != 0 or p.stdout.strip() != self.bootstrap:
            pytest.fail(f"no Kafka broker: `kafka.sh {' '.join(args)}` exited with "
                        f"{p.returncode} (stdout {p.stdout!r}):\n{p.stderr}", pytrace=False)

    def stop(self, check: bool = True) -> None:
        p = self._sh("stop", "--dir", str(self.dir))
        if check and p.returncode != 0:
            pytest.fail(f"`kafka.sh stop --dir {self.dir}` exited with {p.returncode}:\n"
                        f"{p.stderr}", pytrace=False)

    def create_topics(self) -> None:
        """The six topics, 4 partitions each, the decisions, bouncers and state topics compacted
        (in parallel: each `kafka.sh topics create` is a JVM start of a few seconds)."""
        procs = [
            (name, subprocess.Popen(
                [str(KAFKA_SH), "topics", "create", name, str(PARTITIONS),
                 *(["compact"] if compact else []), "--dir", str(self.dir)],
                cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
            for name, compact in TOPICS
        ]
        failed = []
        for name, p in procs:
            out, _ = p.communicate(timeout=120)
            if p.returncode != 0:
                failed.append(f"{name}: exit {p.returncode}\n{out}")
        if failed:
            pytest.fail("creating the topics failed:\n" + "\n".join(failed), pytrace=False)
        # The broker's metadata may lag the controller that acknowledged the creation: a
        # service started in that window finds a topic missing. Describe them through the
        # broker until all are there as asked.
        deadline = time.monotonic() + 60
        while True:
            p = self._sh("topics", "describe", "--dir", str(self.dir))
            have = {m[1]: (int(m[2]), "cleanup.policy=compact" in m[0])
                    for m in re.finditer(r"^Topic: (\S+)\s.*?PartitionCount: (\d+).*$",
                                         p.stdout, re.M)}
            want = {name: (PARTITIONS, compact) for name, compact in TOPICS}
            if all(have.get(n) == w for n, w in want.items()):
                return
            if time.monotonic() > deadline:
                pytest.fail(f"the topics are not all described as created: want {want}, "
                            f"have {have}\n{p.stdout}{p.stderr}", pytrace=False)
            time.sleep(0.5)

    def records(self, topic: str, at_least: int = 0) -> list[Record]:
        """Every record of `topic` from offset 0 (Kafka's ConsoleConsumer, stopping after 5 s
        without a record; once more, waiting longer, if fewer than `at_least` came: the first
        poll also joins a group)."""
        out: list[Record] = []
        for idle_ms in (5000, 20000):
            p = subprocess.run(
                [str(KAFKA_SH), "run", "org.apache.kafka.tools.consumer.ConsoleConsumer",
                 "--bootstrap-server", self.bootstrap, "--topic", topic, "--from-beginning",
                 "--timeout-ms", str(idle_ms), "--property", "print.key=true",
                 "--property", "print.partition=true", "--property", "print.offset=true",
                 "--property", "key.separator=\t"],
                cwd=REPO, capture_output=True, text=True, timeout=120)
            m = re.search(r"Processed a total of (\d+) messages", p.stderr)
            if not m:
                pytest.fail(f"ConsoleConsumer on {topic} failed (exit {p.returncode}):\n"
                            f"{p.stderr[-3000:]}", pytrace=False)
            out = [parse_record(line) for line in p.stdout.splitlines() if line]
            assert len(out) == int(m[1]), (len(out), p.stderr[-2000:])
            if len(out) >= at_least:
                break
        return out


    def end_offsets(self, topic: str) -> dict[int, int]:
        """The end offset of each partition of `topic` (Kafka's GetOffsetShell)."""
        p = subprocess.run(
            [str(KAFKA_SH), "run", "org.apache.kafka.tools.GetOffsetShell",
             "--bootstrap-server", self.bootstrap, "--topic", topic, "--time", "-1"],
            cwd=REPO, capture_output=True, text=True, timeout=120)
        ends = {}
        for line in p.stdout.splitlines():
            name, part, off = line.rsplit(":", 2)
            if name == topic:
                ends[int(part)] = int(off)
        if p.returncode != 0 or not ends:
            pytest.fail(f"GetOffsetShell on {topic} failed (exit {p.returncode}):\n"
                        f"{p.stdout[-1000:]}{p.stderr[-2000:]}", pytrace=False)
        return ends


def parse_record(line: str) -> Record:
    """A ConsoleConsumer line: `Partition:P<TAB>Offset:O<TAB>KEY<TAB>VALUE`."""
    part, off, key, value = line.split("\t", 3)
    return Record(int(part.removeprefix("Partition:")), int(off.removeprefix("Offset:")), key,
                  None if value == "null" else json.loads(value))


def genlog(kind: str, lines: int, seed: int, out: Path) -> Path:
    """`genlog KIND LINES SEED > out` (benches/src/bin/genlog.rs): the one beside
    $HIVEWALL_BIN, else the target dir's, built when missing."""
    genlog_bin = HIVEWALL_BIN.parent / "genlog"
    if not genlog_bin.exists():
        genlog_bin = TARGET / "debug" / "genlog"
    if not genlog_bin.exists():
        b = subprocess.run(["cargo", "build", "-q", "-p", "benches", "--bin", "genlog"],
                           cwd=REPO, env=dict(os.environ, CARGO_TARGET_DIR=str(TARGET)),
                           capture_output=True, text=True, timeout=1800)
        if b.returncode != 0:
            pytest.fail(f"cargo build -p benches --bin genlog failed:\n{b.stderr[-3000:]}",
                        pytrace=False)
        need_file(genlog_bin, "genlog", "cargo build -p benches --bin genlog")
    with open(out, "wb") as f:
        subprocess.run([str(genlog_bin), kind, str(lines), str(seed)], stdout=f, check=True,
                       timeout=60)
    return out


def rewrite_ips(path: Path, first_octets: str) -> None:
    """Gives every IPv4 address of `path` an address of its own under `first_octets`
    (`198.18`: the benchmark range, neither whitelisted nor used by genlog), in order of first
    appearance, so the log's attackers are none of another log's."""
    seen: dict[str, str] = {}

    def sub(m: re.Match) -> str:
        ip = m[0]
        if ip not in seen:
            i = len(seen) + 1
            assert i < 65536, "too many addresses to rewrite"
            seen[ip] = f"{first_octets}.{i >> 8}.{i & 255}"
        return seen[ip]

    text = re.sub(r"\b\d{1,3}(?:\.\d{1,3}){3}\b", sub, path.read_text())
    path.write_text(text)


class Replay:
    """`hivewall replay --type T FILE --json` in the background: the decisions one in-process
    pipeline takes for the file, in the order it takes them."""

    def __init__(self, log: Path, log_type: str):
        self.log = log
        self.out = log.with_suffix(".replay.jsonl")
        self.err = log.with_suffix(".replay.stderr")
        with open(self.out, "wb") as out, open(self.err, "wb") as err:
            self.proc = subprocess.Popen(
                [str(HIVEWALL_BIN), "replay", "--type", log_type, "--config-dir",
                 str(REPO / "scenarios"), str(log), "--json"],
                cwd=REPO, stdin=subprocess.DEVNULL, stdout=out, stderr=err)

    def decisions(self) -> list[dict]:
        rc = self.proc.wait(timeout=300)
        if rc != 0:
            pytest.fail(f"hivewall replay {self.log} exited with {rc}:\n"
                        f"{self.err.read_text(errors='replace')[-3000:]}", pytrace=False)
        out = []
        for line in self.out.read_text().splitlines():
            alert = json.loads(line)
            if alert.get("whitelisted"):
                continue
            out.extend(alert.get("decisions") or [])
        return out


def longest_per_value(decisions: list[dict]) -> dict[str, dict]:
    """value → the decision the API serves for it: the longest (the last of equals), as `run`
    serves the longest decision of a value (ARCHITECTURE.md, "The decision API"). The api's
    ends count from when the processor wrote each record, a few seconds apart here, while the
    durations differ by hours, so the longest duration is the latest end."""
    out: dict[str, dict] = {}
    for d in decisions:
        if d["value"] not in out or go_seconds(d["duration"]) >= go_seconds(out[d["value"]]["duration"]):
            out[d["value"]] = d
    return out


def diff_text(what: str, want: Counter | set | dict, got: Counter | set | dict) -> str:
    """The difference of two multisets, sets or dicts, a few lines each way."""
    if isinstance(want, dict) and not isinstance(want, Counter):
        keys = sorted(set(want) | set(got))
        lines = [f"  {k}: want {want.get(k)}, got {got.get(k)}" for k in keys
                 if want.get(k) != got.get(k)]
        return f"{what}: {len(lines)} value(s) differ\n" + "\n".join(lines[:40])
    if isinstance(want, set):
        want, got = Counter(want), Counter(got)
    missing, extra = want - got, got - want
    return (f"{what}: {sum(missing.values())} missing, {sum(extra.values())} extra\n"
            f"  missing: {sorted(missing.items())[:30]}\n"
            f"  extra:   {sorted(extra.items())[:30]}")


class Services:
    """`hivewall processor` and `hivewall api` on one broker, each with its own state dir, and
    `hivewall ingest --once`; `procs` (conftest `Proc`s and the broker's log) go into a
    failed test's report."""

    def __init__(self, broker: Broker, tmp: Path):
        self.broker = broker
        self.tmp = tmp
        self.processor_dir = tmp / "processor"
        self.api_dir = tmp / "api"
        self.api_port = free_port()
        self.url = f"http://127.0.0.1:{self.api_port}/"
        self.procs: list = [broker.log]
        self.processor: Proc | None = None
        # A second processor (its own state dir), started by tests that need two.
        self.processor2: Proc | None = None
        self.api: Proc | None = None
        self.key = ""
        self.runs = 0

    def _start(self, what: str, *args: str) -> Proc:
        self.runs += 1
        need_file(HIVEWALL_BIN, "the hivewall binary", "cargo build -p cli, or set HIVEWALL_BIN")
        p = Proc([str(HIVEWALL_BIN), "--log-level", "info", *args],
                 self.tmp / f"{what}.{self.runs}.log", cwd=REPO, env=dict(os.environ, **ENV))
        self.procs.append(p)
        return p

    def start_processor(self) -> None:
        self.processor = self._start("processor", "processor", "--brokers",
                                     self.broker.bootstrap, "--state-dir",
                                     str(self.processor_dir))

    def start_processor2(self) -> None:
        self.processor2 = self._start("processor2", "processor", "--brokers",
                                      self.broker.bootstrap, "--state-dir",
                                      str(self.tmp / "processor2"))

    def _services(self) -> list[tuple[str, Proc | None]]:
        both = [("processor", self.processor), ("api", self.api)]
        return both + ([("processor 2", self.processor2)] if self.processor2 else [])

    def start_api(self, timeout: float = 60) -> None:
        self.api = self._start("api", "api", "--brokers", self.broker.bootstrap, "--state-dir",
                               str(self.api_dir), "--listen", f"127.0.0.1:{self.api_port}")
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self.api.proc.poll() is not None:
                pytest.fail(f"hivewall api exited with {self.api.proc.returncode}:\n"
                            f"{self.api.output()[-5000:]}", pytrace=False)
            if time.monotonic() > deadline:
                pytest.fail(f"hivewall api did not answer on {self.url} in {timeout}s",
                            pytrace=False)
            time.sleep(0.1)

    def _answers(self) -> bool:
        return api_answers(self.url)

    def add_bouncer(self, name: str) -> None:
        """`hivewall --state-dir API_DIR bouncers add NAME -o raw` (through the api's admin
        route: the registration goes to the bouncers topic)."""
        p = subprocess.run([str(HIVEWALL_BIN), "--state-dir", str(self.api_dir), "bouncers",
                            "add", name, "-o", "raw"], cwd=REPO, capture_output=True,
                           text=True, timeout=60)
        key = p.stdout.strip()
        if p.returncode != 0 or not key or any(c.isspace() for c in key):
            pytest.fail(f"`hivewall bouncers add {name} -o raw` exited with {p.returncode}: "
                        f"{p.stdout!r}\n{p.stderr}", pytrace=False)
        self.key = key

    def ingest(self, log: Path, log_type: str) -> None:
        """`hivewall ingest --once --type T LOG`: exits once every line is acknowledged."""
        cmd = [str(HIVEWALL_BIN), "--state-dir", str(self.tmp / "ingest"), "ingest",
               "--brokers", self.broker.bootstrap, "--once", "--type", log_type, str(log)]
        p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
        lines = sum(1 for _ in open(log, "rb"))
        m = re.search(r"(\d+) line\(s\) written to hivewall.lines and acknowledged", p.stderr)
        if p.returncode != 0 or not m or int(m[1]) != lines:
            pytest.fail(f"`{' '.join(cmd[1:])}` (a {lines}-line file) exited with "
                        f"{p.returncode}:\n{p.stderr[-3000:]}", pytrace=False)

    def stream(self) -> list[dict] | None:
        """`new` of a startup pull of /v1/decisions/stream; None when the replica answers 503
        (still catching up)."""
        req = urllib.request.Request(self.url + "v1/decisions/stream?startup=true",
                                     headers={"X-Api-Key": self.key})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                body = json.loads(r.read())
        except urllib.error.HTTPError as e:
            if e.code == 503:
                return None
            raise
        return body.get("new") or []

    def alive(self) -> list[str]:
        """What has exited, as messages (empty: every service runs)."""
        dead = []
        for name, p in self._services():
            if p is None or p.proc.poll() is not None:
                code = None if p is None else p.proc.returncode
                out = "" if p is None else p.output()[-3000:]
                dead.append(f"hivewall {name} exited with {code}:\n{out}")
        return dead

    def stop(self) -> list[str]:
        """SIGTERM to every service; what did not exit with 0."""
        unclean = []
        for name, p in self._services():
            if p is None:
                continue
            running = p.proc.poll() is None
            p.stop()
            if running and p.proc.returncode != 0:
                unclean.append(f"hivewall {name}: exit {p.proc.returncode} on SIGTERM\n"
                               f"{p.output()[-3000:]}")
        return unclean
