"""Golden files and JUnit reading, shared by the reporter tests and the end-to-end tests.

A golden file holds a report's exact bytes; ``UPDATE_GOLDEN=1`` rewrites it, and the diff is
then reviewed like any other change.
"""

from __future__ import annotations

import os
from typing import Any

from tests.conftest import ROOT

GOLDEN = ROOT / "tests" / "golden"


def assert_golden(name: str, text: str) -> None:
    """Compare ``text`` with ``tests/golden/<name>``, or rewrite it when UPDATE_GOLDEN=1."""
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.mkdir(exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
        return
    assert path.exists(), f"{path} is missing; create it with UPDATE_GOLDEN=1"
    expected = path.read_bytes().decode("utf-8")
    assert text == expected, f"{name} differs from its golden file (UPDATE_GOLDEN=1 to accept)"


def status_of(case: Any) -> tuple[str, str]:
    """``(kind, message)``: kind is passed, failure, error or skipped."""
    results = list(case.result)
    if not results:
        return "passed", ""
    assert len(results) == 1, f"{case.name}: more than one result element"
    return type(results[0]).__name__.lower(), results[0].message or ""
