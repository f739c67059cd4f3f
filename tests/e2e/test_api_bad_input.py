"""Bad input on `hivewall run`'s API over a real socket: wrong keys, malformed and huge bodies
(the server stays healthy, nothing is lost), and a slow client trickling its headers (cut off
after the header read timeout, 10 s by default, while other clients are served)."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request

from conftest import wait_for

ATTACKER = "192.0.2.41"
HEADER_READ_TIMEOUT_S = 10  # decision-api's ApiConfig default


def request(hw, method: str, path: str, body: bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(hw.url + path.lstrip("/"), data=body, method=method,
                                 headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_keys_bodies_and_a_slow_client(hivewall):
    key = hivewall.add_bouncer("bad-input")
    hivewall.attack(ATTACKER)
    wait_for("the ban", lambda: hivewall.get(f"/v1/decisions?ip={ATTACKER}",
                                             {"X-Api-Key": key})[1])

    # The slow client starts first and trickles its head for longer than the timeout.
    result: dict = {}

    def slow():
        s = socket.create_connection((hivewall.host, hivewall.port))
        head = (f"GET /v1/decisions?ip={ATTACKER} HTTP/1.1\r\nHost: x\r\nX-Api-Key: {key}\r\n"
                + "X-Pad: " + "a" * 200 + "\r\n\r\n").encode()
        t0 = time.monotonic()
        try:
            for b in head:
                s.sendall(bytes([b]))
                time.sleep(0.1)  # ~25 s for the whole head
        except OSError:
            pass
        s.settimeout(5)
        got = b""
        try:
            while chunk := s.recv(4096):
                got += chunk
        except OSError:
            pass
        result["closed_after"] = time.monotonic() - t0
        result["got"] = got
        s.close()

    slow_thread = threading.Thread(target=slow, daemon=True)
    slow_thread.start()

    # Wrong or missing credentials, as CrowdSec answers them.
    for headers in ({}, {"X-Api-Key": "wrong"}, {"X-Api-Key": key + "x"}):
        status, body = request(hivewall, "GET", f"/v1/decisions?ip={ATTACKER}", headers=headers)
        assert status == 403 and json.loads(body) == {"message": "access forbidden"}, body
    for headers in ({}, {"Authorization": "Bearer nope"}, {"X-Api-Key": key}):
        status, body = request(hivewall, "GET", "/v1/alerts", headers=headers)
        assert status == 401 and json.loads(body)["code"] == 401, body
    # Bad parameters.
    status, _ = request(hivewall, "GET", "/v1/decisions?ip=300.1.1.1", headers={"X-Api-Key": key})
    assert status == 400
    # Malformed and huge bodies (the limit is 8 MiB).
    for body in (b"{", b"\xff\xfe", b"[" * 100_000):
        status, _ = request(hivewall, "POST", "/v1/watchers", body,
                            {"Content-Type": "application/json"})
        assert status == 400, (status, body[:20])
    # Announced beyond the limit: 413 at once, without waiting for the body.
    with socket.create_connection((hivewall.host, hivewall.port), timeout=10) as s:
        s.sendall(b"POST /v1/watchers HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                  b"\r\nContent-Length: 9437184\r\n\r\n" + b" " * 65536)
        assert s.recv(4096).startswith(b"HTTP/1.1 413"), "no 413 for a 9 MiB body"
    # Chunked (length unknown): cut off at the limit.
    def chunks():
        for _ in range(9 * 16):
            yield b" " * 65536
    try:
        status, _ = request(hivewall, "POST", "/v1/watchers", chunks(),
                            {"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
        assert status == 413, status
    except urllib.error.URLError as e:  # the server may close before all is sent
        assert isinstance(e.reason, (BrokenPipeError, ConnectionResetError)), e

    # Other clients are served quickly all along the slow one.
    served = 0
    while slow_thread.is_alive() and served < 1000:
        t = time.monotonic()
        status, body = hivewall.get(f"/v1/decisions?ip={ATTACKER}", {"X-Api-Key": key})
        assert status == 200 and body[0]["value"] == ATTACKER, body
        assert time.monotonic() - t < 1.0
        served += 1
        time.sleep(0.2)
    slow_thread.join(timeout=30)
    assert "closed_after" in result, "the slow client's thread did not finish"
    closed_after = result["closed_after"]
    assert HEADER_READ_TIMEOUT_S - 1 < closed_after < HEADER_READ_TIMEOUT_S + 3, closed_after
    assert b" 200 " not in result["got"], result["got"][:200]
    assert served >= 30, served

    # Nothing lost: the ban is still there, one alert.
    status, body = hivewall.get(f"/v1/decisions?ip={ATTACKER}", {"X-Api-Key": key})
    assert status == 200 and len(body) == 1, body
    alerts = json.loads(hivewall.cli("alerts", "list", "-o", "json", "-l", "0").stdout)
    assert len(alerts) == 1, alerts
