"""The fake Cekura server started by hand (``python -m tests.fake_cekura``), as a contributor
would for a local trial: a real process on a free port of 127.0.0.1, then the gate fetching the
bundled example from it."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.e2e.harness import gate_env, run_gate, spawn

RESULT = EXAMPLES / "results" / "result_completed_mixed.json"
RUNS = EXAMPLES / "results" / "runs_bulk.json"


@pytest.mark.slow
def test_fake_server_started_by_hand_serves_a_result_to_the_gate(tmp_path: Path) -> None:
    argv = [
        "--port",
        "0",
        "--result",
        str(RESULT),
        "--runs",
        str(RUNS),
        "--api-key",
        "hand-key-0123456789",
    ]
    server = spawn(argv, env=gate_env(), command=[sys.executable, "-m", "tests.fake_cekura"]).proc
    try:
        assert server.stdout is not None
        url, serving, command = (server.stdout.readline().strip() for _ in range(3))
        assert url.startswith("http://127.0.0.1:"), url
        assert serving == "serving result 167; try:"
        key = "CEKURA_API_KEY=hand-key-0123456789"
        assert command == f"{key} cekura-gate check --result-id 167 --api-url {url}"
        report = tmp_path / "verdict.json"
        args = ["check", "--policy", str(EXAMPLES / "gate.yaml"), "--result-id", "167"]
        done = run_gate(
            [*args, "--api-url", url, "--json", str(report)],
            env=gate_env("hand-key-0123456789"),
            cwd=tmp_path,
        )
        assert done.code == 1, done.stderr  # the bundled result fails the bundled policy
        document = json.loads(report.read_text(encoding="utf-8"))
        assert document["verdict"] == "fail" and document["result"]["id"] == 167
    finally:
        server.send_signal(signal.SIGINT)  # Ctrl-C
        _, stderr = server.communicate(timeout=10)
    assert server.returncode == 0, stderr
