"""Shared fixtures: a strict respx router (no test reaches the network), the fake Cekura server
(``fake``, reachable through that router), payload factories, and ``run_cli`` for the
``cekura-gate`` command line. How the gate is run lives in tests/e2e/harness.py."""

from __future__ import annotations

import ast
import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import respx

from gate.policy.load import parse_policy
from gate.policy.model import Policy
from tests.e2e.harness import ROOT as ROOT  # re-exported: tests import it from here
from tests.e2e.harness import Completed, gate_env, run_gate, small_ca_file
from tests.fake_cekura import FakeCekura

DATA = Path(__file__).resolve().parent / "data"
PAYLOADS = DATA / "payloads"
EXAMPLES = ROOT / "examples"


# Files that build, install, run the benchmark or try thousands of generated inputs: every test
# in them is slow (``make test-fast`` skips them). By file name, so that a move keeps the tier.
SLOW_FILES = frozenset({"test_release.py", "test_bench.py", "test_properties.py"})
# Scale tests in files whose tests carry no marks yet (mark them in place when they move).
SLOW_TESTS = frozenset({"test_normalise_and_evaluate_10k_runs"})


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """``-m "not slow"`` (``make test-fast``) need not even import the slow files."""
    if collection_path.name in SLOW_FILES and config.getoption("markexpr") == "not slow":
        return True
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark slow what is slow by nature: the files and tests above, and every Hypothesis property
    (each tries up to hundreds of examples). The rest (real processes, waits) is marked where it
    is, with ``@pytest.mark.slow``."""
    for item in items:
        is_property = getattr(getattr(item, "obj", None), "is_hypothesis_test", False)
        name = getattr(item, "originalname", item.name)
        if item.path.name in SLOW_FILES or name in SLOW_TESTS or is_property:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def small_ca_bundle(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside the slow tier no test starts a process or speaks TLS, yet every httpx client
    loads the whole CA bundle (about 40 ms of CPU): point it at one certificate instead."""
    if request.node.get_closest_marker("slow") is None:
        monkeypatch.setenv("SSL_CERT_FILE", small_ca_file())


@pytest.fixture(scope="session")
def strict_router() -> Iterator[respx.MockRouter]:
    """One strict router for the session: patching httpx's transports for every test cost
    about 3 ms a test, a tenth of the fast tier."""
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as router:
        yield router


@pytest.fixture(autouse=True)
def no_network(strict_router: respx.MockRouter) -> Iterator[respx.MockRouter]:
    """Every httpx request in a test must match a declared route, or the test fails; the
    routes a test declares (and the calls it makes) are gone when it ends."""
    strict_router.snapshot()
    try:
        yield strict_router
    finally:
        strict_router.rollback()


@pytest.fixture
def api_key() -> str:
    """The key the ``fake`` server expects; a test module overrides it with its own."""
    return "test-key-0123456789"


@pytest.fixture
def fake(api_key: str, no_network: respx.MockRouter) -> Iterator[FakeCekura]:
    """A fake Cekura API on 127.0.0.1 for this test; the gate, in process or not, reaches it."""
    with FakeCekura(api_key=api_key) as server:
        host, port = server.address
        no_network.route(host=host, port=port).pass_through()
        yield server


def load_payload(name: str) -> dict[str, Any]:
    """A fresh copy of a reference payload from ``tests/data/payloads``."""
    data: dict[str, Any] = json.loads((PAYLOADS / name).read_text(encoding="utf-8"))
    return copy.deepcopy(data)


def in_progress(status: str = "running", done: int = 0) -> dict[str, Any]:
    """Result 167 before it finishes, with ``done`` of its 2 runs completed."""
    payload = load_payload("result_running.json")
    payload["status"] = status
    payload["completed_runs_count"] = done
    return payload


def without_findings(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload with ``critical_categories`` removed from every run (as the API may)."""
    stripped = copy.deepcopy(payload)
    for run in stripped["runs"].values():
        run.pop("critical_categories", None)
    return stripped


def make_run(run_id: int, **overrides: Any) -> dict[str, Any]:
    """A completed, successful run entry as it appears in ``result['runs']``."""
    run: dict[str, Any] = {
        "id": run_id,
        "scenario": 1,
        "scenario_name": "Book an appointment",
        "personality_name": "Direct Communicator",
        "status": "completed",
        "success": True,
        "expected_outcome": {"score": 100, "explanation": ["✅ booked"]},
        "evaluation": {"metrics": []},
        "critical_categories": [],
        "error_message": "",
        "duration": "01:00",
    }
    run.update(overrides)
    return run


def make_result(runs: list[dict[str, Any]] | None = None, **overrides: Any) -> dict[str, Any]:
    """A completed result payload whose counters agree with its runs."""
    runs = [make_run(1)] if runs is None else runs
    successful = sum(1 for run in runs if run.get("success") is True)
    scored = [run for run in runs if (run.get("expected_outcome") or {}).get("score") is not None]
    payload: dict[str, Any] = {
        "id": 500,
        "name": "release check",
        "agent_name": "Support Agent",
        "status": "completed",
        "success_rate": 100.0 * successful / len(runs) if runs else 0.0,
        "met_expected_outcome_count": sum(
            1 for run in scored if run["expected_outcome"]["score"] >= 100
        ),
        "total_expected_outcome_count": len(scored),
        "total_runs_count": len(runs),
        "completed_runs_count": len(runs),
        "success_runs_count": successful,
        "failed_runs_count": len(runs) - successful,
        "runs": {str(run["id"]): run for run in runs},
        "overall_evaluation": None,
    }
    payload.update(overrides)
    return payload


def policy_from(text: str, source: str = "gate.yaml") -> Policy:
    return parse_policy(text, source=source)


CliRun = Completed


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> CliRun:
    """``cekura-gate *args`` run in this process (tests/e2e/harness.py ``run_gate``), with the
    environment cleaned and ``env`` added; what a process would print, and its exit code."""
    return run_gate(args, env=gate_env(**(env or {})), cwd=cwd or ROOT)


OFFLINE_CHECK = (
    "check",
    *("--policy", "examples/gate.yaml"),
    *("--result-file", "examples/results/result_completed_mixed.json"),
)


def modules_loaded(argv: tuple[str, ...], names: tuple[str, ...]) -> tuple[int, list[str]]:
    """Run ``main(argv)`` in a fresh interpreter: its return value and which of ``names``
    it imported (start-up work is measured, so tests hold commands to what they use)."""
    code = (
        "import sys\nfrom gate.cli.main import main\n"
        f"code = main({list(argv)!r})\n"
        f"print(code, sorted(m for m in {names!r} if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    last = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    code_text, _, loaded = last.partition(" ")
    assert loaded.startswith("["), done.stderr
    return int(code_text), ast.literal_eval(loaded)
