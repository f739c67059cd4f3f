"""The distributed mode on a real broker: `hivewall ingest --once` → `hivewall processor` →
`hivewall api`, compared with `hivewall replay` of the same logs (ARCHITECTURE.md,
"Distributed mode (Kafka)").

One broker for the module (kafka.sh, a temp dir, free ports, fresh data: the services use the
default topics and consumer groups), one processor and one api for the module; each test uses
attacker addresses no other test uses, so what it adds is told apart from what is already
served. Decisions are compared as (value, scenario, type), with the duration asked for where
the record carries it:

- the decisions topic holds one record per decision replay takes (a restart may write one
  again: same uuid, same decision);
- the topic is compacted on `scope:value`, and the api serves, for each address, the record
  that ends last (replay's longest decision on it, the last of equals), once, as `run` does.

The broker restart test is last: it stops the broker the others use.
"""

from __future__ import annotations

import re
import signal
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime

import pytest

from conftest import ssh_failures
from kafka_util import (
    DECISIONS_TOPIC,
    Broker,
    Record,
    Replay,
    Services,
    Triple,
    diff_text,
    genlog,
    go_seconds,
    longest_per_value,
    quad,
    rewrite_ips,
    triple,
)

BROKER_RESTART_ATTACKER = "192.0.2.77"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Services]:
    """A fresh broker with the six topics, `hivewall processor` and `hivewall api` on it, and
    a bouncer key; both services must exit with 0 on SIGTERM at the end."""
    tmp = tmp_path_factory.mktemp("kafka")
    broker = Broker(tmp / "broker")
    svc = Services(broker, tmp)
    broker.start(fresh=True)
    try:
        broker.create_topics()
        svc.start_processor()
        svc.start_api()
        svc.add_bouncer("kafka-e2e")
        yield svc
    finally:
        unclean = svc.stop()
        broker.stop(check=False)
    if unclean:
        pytest.fail("the services did not exit cleanly:\n" + "\n".join(unclean), pytrace=False)


@pytest.fixture(autouse=True)
def _report(request, cluster: Services):
    """A failed test's report shows the broker's log and every service's output."""
    request.node._e2e_procs = cluster.procs


def served(cluster: Services, timeout: float = 30) -> list[dict]:
    """A startup pull of the stream, retried while the replica answers 503."""
    deadline = time.monotonic() + timeout
    while (new := cluster.stream()) is None:
        if time.monotonic() > deadline:
            pytest.fail(f"the stream answered 503 for {timeout}s", pytrace=False)
        time.sleep(0.2)
    return new


def by_value(new: list[dict]) -> dict[str, Triple]:
    return {d["value"]: triple(d) for d in new}


def wait_served(cluster: Services, want: dict[str, Triple], timeout: float,
                settle: float | None = None) -> list[dict]:
    """Polls the stream until it serves exactly `want` (value → (value, scenario, type)), or,
    with `settle`, until it serves `want`'s addresses and has not changed for `settle` seconds
    (the caller then compares); fails with the difference after `timeout` seconds, or as soon
    as a service exits."""
    deadline = time.monotonic() + timeout
    got: dict[str, Triple] = {}
    seen, since = None, time.monotonic()
    while True:
        new = cluster.stream()
        if new is not None:
            got = by_value(new)
            if got == want:
                return new
            snapshot = sorted((d["value"], d["uuid"]) for d in new)
            if snapshot != seen:
                seen, since = snapshot, time.monotonic()
            elif settle is not None and set(got) == set(want) \
                    and time.monotonic() - since >= settle:
                return new
        if dead := cluster.alive():
            pytest.fail("\n".join(dead), pytrace=False)
        if time.monotonic() > deadline:
            pytest.fail(diff_text(f"the api after {timeout}s (value → decision)", want, got),
                        pytrace=False)
        time.sleep(0.5)


def served_once(new: list[dict]) -> list[str]:
    """One decision per address, so never two for one address from one scenario."""
    problems = []
    pairs = Counter((d["value"], d["scenario"]) for d in new)
    if twice := [p for p, n in pairs.items() if n > 1]:
        problems.append(f"(value, scenario) pairs served more than once: {twice[:20]}")
    values = Counter(d["value"] for d in new)
    if twice := [v for v, n in values.items() if n > 1]:
        problems.append(f"addresses served more than once: {twice[:20]}")
    return problems


def served_as_replay(new: list[dict], want: dict[str, Triple]) -> list[str]:
    got = {v: t for v, t in by_value(new).items() if v in want}
    if got == want:
        return []
    return [diff_text("the api vs replay's longest decision per address (value → decision)",
                      want, got)]


def records_of(cluster: Services, values: set[str], at_least: int) -> list[Record]:
    """The decisions topic's records on `values`; every key is `scope:value` of its record,
    and none of `values` has a tombstone."""
    records = cluster.broker.records(DECISIONS_TOPIC, at_least=at_least)
    bad = [r for r in records if r.value is not None
           and r.key != f"{r.value['decision']['scope'].lower()}:{r.value['decision']['value']}"]
    assert not bad, f"records whose key is not scope:value: {bad[:5]}"
    mine = [r for r in records if r.key.split(":", 1)[1] in values]
    assert all(r.value is not None for r in mine), "a tombstone on this test's addresses"
    return mine


def ends_at(r: Record) -> datetime:
    return datetime.fromisoformat(r.value["until"].replace("Z", "+00:00"))


def longest_is_served(records: list[Record], new: list[dict]) -> list[str]:
    """For each key, the api serves the decision of the key's record that ends last, the newest
    of equals (one key lives on one partition: the highest offset is the newest)."""
    longest: dict[str, Record] = {}
    partitions = defaultdict(set)
    for r in records:
        partitions[r.key].add(r.partition)
        best = longest.get(r.key)
        if best is None or (ends_at(r), r.offset) >= (ends_at(best), best.offset):
            longest[r.key] = r
    if spread := [k for k, p in partitions.items() if len(p) > 1]:
        return [f"keys on several partitions: {spread[:20]}"]
    want = {r.value["decision"]["value"]: r.value["uuid"] for r in longest.values()}
    got = {d["value"]: d["uuid"] for d in new if d["value"] in want}
    if got == want:
        return []
    return [diff_text("the uuid the api serves vs its key's longest record", want, got)]


def test_ingest_processor_api_match_replay(cluster: Services, tmp_path):
    """20,000 generated auth lines and 20,000 nginx lines through ingest, processor and api:
    the decisions topic holds exactly replay's decisions (with their durations, each once),
    and the stream serves each address's longest one, with the time left of its duration."""
    t0 = time.monotonic()
    auth = genlog("auth-bf", 20000, 7, tmp_path / "auth.log")
    nginx = genlog("nginx", 20000, 7, tmp_path / "nginx.log")
    before = by_value(served(cluster))
    replays = [Replay(auth, "syslog"), Replay(nginx, "nginx")]
    cluster.ingest(auth, "syslog")
    cluster.ingest(nginx, "nginx")
    auth_decisions, nginx_decisions = (r.decisions() for r in replays)
    assert len(auth_decisions) > 100 and len(nginx_decisions) > 50, (
        "the generated logs should cause many decisions",
        len(auth_decisions), len(nginx_decisions))
    overlap = {d["value"] for d in auth_decisions} & {d["value"] for d in nginx_decisions}
    assert not overlap, f"the two logs share attackers, their order would be undefined: {overlap}"
    want = auth_decisions + nginx_decisions
    last = longest_per_value(want)
    assert not set(last) & set(before), "this test's attackers are already served"
    want_served = {v: triple(d) for v, d in last.items()}

    new = wait_served(cluster, before | want_served, timeout=90)
    problems = served_once(new)
    # The time left is the duration replay's profiles chose, minus the time since.
    elapsed = time.monotonic() - t0
    off = [(d["value"], d["scenario"], d["duration"], last[d["value"]]["duration"])
           for d in new if d["value"] in last
           and not (0 < go_seconds(last[d["value"]]["duration"]) - go_seconds(d["duration"])
                    < elapsed + 60)]
    if off:
        problems.append(f"(value, scenario, time left, replay's duration) off: {off[:20]}")

    records = records_of(cluster, set(last), at_least=len(want))
    got = Counter(quad(r.value["decision"]) for r in records)
    if got != Counter(quad(d) for d in want):
        problems.append(diff_text(
            "decisions topic vs replay, (value, scenario, type, duration) with multiplicity",
            Counter(quad(d) for d in want), got))
    uuids = Counter(r.value["uuid"] for r in records)
    if len(uuids) != len(records):
        problems.append(f"uuids written more than once: {uuids.most_common(5)}")
    problems += longest_is_served(records, new)
    assert not problems, "\n\n".join(problems)


def assigned(proc, since: int = 0) -> set[int]:
    """The detect partitions a processor holds according to its log (from character `since`),
    replaying its `partitions assigned` / `partitions revoked` lines."""
    held: set[int] = set()
    for m in re.finditer(r"detect stage: partitions (assigned|revoked) partitions=\[([\d, ]*)\]",
                         proc.output()[since:]):
        ps = {int(x) for x in m[2].split(",") if x.strip()}
        held = held | ps if m[1] == "assigned" else held - ps
    return held


def restores(proc, since: int = 0) -> list[tuple[int, int, int]]:
    """(partition, next offset, changelog records applied) of each `partition state restored`
    line."""
    return [(int(m[1]), int(m[2]), int(m[3])) for m in re.finditer(
        r"partition state restored partition=(\d+) next=(\d+) .*?changelog_records=(\d+)",
        proc.output()[since:])]


def test_two_processors_one_killed_and_restarted(cluster: Services, tmp_path):
    """Two processors share the 4 partitions. SIGKILL of one while they work through 60,000
    auth lines (attackers renamed into 198.18.0.0/15): the other takes its partitions over,
    restoring them from the changelog (hivewall.state); then the killed one restarts on its
    state dir and gets partitions back. The end state is replay's: records written again with
    the same uuid are allowed (at least once); a decision lost, one replay does not take, a
    decision served for an address other than its longest, or another duration is not."""
    if cluster.processor2 is None:
        cluster.start_processor2()
    deadline = time.monotonic() + 60
    while not (assigned(cluster.processor2) and assigned(cluster.processor)):
        if time.monotonic() > deadline or cluster.alive():
            pytest.fail("the two processors did not share the partitions in 60s: "
                        f"{assigned(cluster.processor)} / {assigned(cluster.processor2)}\n"
                        + "\n".join(cluster.alive()), pytrace=False)
        time.sleep(0.2)
    survivor_log_at = len(cluster.processor2.output())
    log = genlog("auth-bf", 60000, 11, tmp_path / "auth.log")
    rewrite_ips(log, "198.18")
    before = by_value(served(cluster))
    replay = Replay(log, "syslog")
    cluster.ingest(log, "syslog")

    # SIGKILL once some of this log's decisions are served.
    deadline = time.monotonic() + 60
    while sum(1 for d in cluster.stream() or [] if d["value"] not in before) < 20:
        if time.monotonic() > deadline:
            pytest.fail("no 20 decisions of the log served in 60s", pytrace=False)
        time.sleep(0.1)
    killed = cluster.processor
    owned = assigned(killed)
    # ... and once it has flushed state of its partitions to the changelog (before that, a
    # takeover starts from offset 0: correct, but it proves nothing about the changelog).
    while not all(n > 0 for p, n in cluster.broker.end_offsets("hivewall.state").items()
                  if p in owned):
        if time.monotonic() > deadline:
            pytest.fail(f"no changelog records for partitions {owned} in 60s", pytrace=False)
        time.sleep(0.2)
    killed.proc.send_signal(signal.SIGKILL)
    killed.proc.wait()
    killed.stop()

    want = replay.decisions()
    last = longest_per_value(want)
    assert len(last) > 60, f"the log should ban many addresses, got {len(last)}"
    assert not set(last) & set(before), "this test's attackers are already served"
    want_served = {v: triple(d) for v, d in last.items()}
    time.sleep(1)
    partial = {d["value"] for d in served(cluster)} - set(before)
    assert 20 <= len(partial) < len(last), (
        f"the processor was killed when {len(partial)} of {len(last)} addresses were served: "
        "not mid-stream (a bigger log is needed)")

    # The survivor takes the killed one's partitions over from the changelog.
    deadline = time.monotonic() + 60
    while not owned <= assigned(cluster.processor2):
        if time.monotonic() > deadline:
            pytest.fail(f"the survivor did not take partitions {owned} over in 60s "
                        f"(it holds {assigned(cluster.processor2)})", pytrace=False)
        time.sleep(0.2)
    t_restart = time.monotonic()
    cluster.start_processor()
    new = wait_served(cluster, before | want_served, timeout=90, settle=5)
    resumed_in = time.monotonic() - t_restart
    problems = served_once(new) + served_as_replay(new, want_served)
    # (A partition is restored when its first record comes, so this is read at the end.)
    # (partition, next offset, changelog records): the survivor goes on from the killed one's
    # stored state, read from the changelog.
    taken = [r for r in restores(cluster.processor2, survivor_log_at) if r[0] in owned]
    if not any(nxt > 0 and n > 0 for _, nxt, n in taken):
        problems.append(f"the survivor restored none of {owned} from the changelog: {taken}")

    records = records_of(cluster, set(last), at_least=len(want))
    per_uuid: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        per_uuid[r.value["uuid"]].append(r.value["decision"])
    if reused := {u: ds for u, ds in per_uuid.items() if len({triple(d) for d in ds}) > 1}:
        problems.append(f"one uuid for different decisions: {list(reused.items())[:5]}")
    # One uuid per decision replay takes: none lost, none written again under another uuid.
    got = Counter(triple(ds[-1]) for ds in per_uuid.values())
    if got != Counter(triple(d) for d in want):
        problems.append(diff_text(
            "decisions topic (one per uuid) vs replay", Counter(triple(d) for d in want), got))
    problems += longest_is_served(records, new)
    # The durations the profiles chose (repeat offenders get longer bans, counted from the
    # decisions taken on the address before) are replay's too.
    got_d = Counter(quad(ds[-1]) for ds in per_uuid.values())
    if got_d != Counter(quad(d) for d in want):
        problems.append(diff_text(
            "durations on the decisions topic (the newest record of each uuid) vs replay",
            Counter(quad(d) for d in want), got_d))
    print(f"partitions {owned} taken over with {taken} (partition, next, changelog records); "
          f"back after the restart: {assigned(cluster.processor)}")
    print(f"killed at {len(partial)}/{len(last)} addresses served; all served "
          f"{resumed_in:.1f}s after the restart; {len(records) - len(per_uuid)} record(s) "
          "written again (same uuid)")
    assert not problems, (
        f"after a SIGKILL at {len(partial)} of {len(last)} addresses served and a restart:\n"
        + "\n\n".join(problems))


def test_broker_restart_is_survived(cluster: Services, tmp_path):
    """kafka.sh stop, 3 s, start on the same data: the services keep running, a new ssh brute
    force ingested afterwards is served within 60 s, and nothing served before is lost."""
    assert not cluster.alive(), cluster.alive()
    before = by_value(served(cluster))
    assert BROKER_RESTART_ATTACKER not in before
    cluster.broker.stop()
    time.sleep(3)
    cluster.broker.start()

    log = tmp_path / "auth.log"
    log.write_text(ssh_failures(BROKER_RESTART_ATTACKER, 8))
    replay = Replay(log, "syslog")
    t0 = time.monotonic()
    cluster.ingest(log, "syslog")
    last = longest_per_value(replay.decisions())
    assert set(last) == {BROKER_RESTART_ATTACKER}, last
    new = wait_served(cluster, before | {v: triple(d) for v, d in last.items()}, timeout=60)
    print(f"the ban was served {time.monotonic() - t0:.1f}s after the ingest started")
    assert not served_once(new), served_once(new)
    assert not cluster.alive(), cluster.alive()
