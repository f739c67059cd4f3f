"""scripts/schemathesis.sh: schemathesis fuzzes `hivewall run`'s API (bouncer and watcher
routes, decision-api/openapi.yaml) and must find no 5xx and no panic (about 2 minutes)."""

import os
import shutil
import subprocess

import pytest

from conftest import HIVEWALL_BIN, REPO, need_file


def test_schemathesis_finds_no_server_error(tmp_path):
    need_file(HIVEWALL_BIN, "the hivewall binary", "cargo build -p cli, or set HIVEWALL_BIN")
    if shutil.which("schemathesis") is None:
        pytest.fail("schemathesis not found (pip install 'schemathesis>=4,<5')", pytrace=False)
    p = subprocess.run(
        [str(REPO / "scripts" / "schemathesis.sh"), "--report-dir", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env={**os.environ, "HIVEWALL_BIN": str(HIVEWALL_BIN)},
    )
    if p.returncode != 0:
        pytest.fail(f"scripts/schemathesis.sh exited with {p.returncode}:\n"
                    f"{p.stdout[-15000:]}\n{p.stderr[-5000:]}", pytrace=False)
    assert "OK: no server error" in p.stderr
