"""The in-process runner leaves nothing behind: environment, working directory, standard
streams and signal handlers are this process's own again after ``run_gate``, and what the gate
printed is captured the way a process's pipes would hold it."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.e2e.harness import gate_env, run_gate, run_process


def test_run_gate_restores_what_it_replaced(tmp_path: Path) -> None:
    before = (dict(os.environ), os.getcwd(), sys.stdin, sys.stdout, sys.stderr)
    handlers = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    done = run_gate(["--version"], env={"ONLY_THIS": "1"}, cwd=tmp_path)
    assert done.code == 0 and done.stdout.startswith("cekura-gate ")
    assert (dict(os.environ), os.getcwd(), sys.stdin, sys.stdout, sys.stderr) == before
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers


@pytest.mark.slow
def test_run_gate_captures_what_the_process_prints(tmp_path: Path) -> None:
    args = ["check", "--policy", str(EXAMPLES / "gate.yaml"), "--result-file"]
    args += [str(EXAMPLES / "results" / "result_completed_mixed.json")]
    in_process = run_gate(args, env=gate_env(), cwd=tmp_path)
    process = run_process(args, env=gate_env(), cwd=tmp_path)
    assert (in_process.code, in_process.stdout, in_process.stderr) == (
        process.code,
        process.stdout,
        process.stderr,
    )
    assert in_process.code == 1 and "FAILED" in in_process.stdout
