"""What the gating e2e tests share: the example result and its variants, and ``gate()``.

Every ``check``/``run`` goes through ``gate()`` (the gate in this process, tests/e2e/harness.py),
which asks for all four reports and, before any test-specific assertion, checks what every
verdict must satisfy: no traceback, the JUnit XML parses and holds ``<failure>`` elements if and
only if the exit code is 1, the JSON and dotenv verdicts agree with the exit code, and (when an
API key is set) the key appears in no output and no file the gate wrote. API cases use the fake
server (tests/fake_cekura.py) on 127.0.0.1; policies there poll every 0.05 s, which also
shortens retry backoff.

Fixtures are examples/results/result_completed_mixed.json (result 167: run 274 of scenario 1
passes; run 273 of scenario 2 fails with a critical finding, category 3295) and
examples/results/runs_bulk.json; variants are built from copies.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from junitparser import JUnitXml

from tests.conftest import DATA, EXAMPLES, run_cli
from tests.e2e.harness import parse_dotenv
from tests.golden import status_of

KEY = "sk-gating-FAKE-KEY-0d9e41"
RESULTS = EXAMPLES / "results"
RESULT_FILE = RESULTS / "result_completed_mixed.json"
BULK_FILE = RESULTS / "runs_bulk.json"
RELEASE_GATE = DATA / "release-gate"  # a policy with a baseline file and two waivers
RESULT_ID = 167
FAST_WAIT = "wait: {poll_interval: 0.05s, max_poll_interval: 0.2s, timeout: 10s}\n"
ERROR_PREFIX = "cekura-gate: error: "
REPORTS = (
    ("--junit", "junit.xml"),
    ("--summary", "summary.md"),
    ("--json", "verdict.json"),
    ("--dotenv", "gate.env"),
)
VERDICT_FOR_CODE = {0: {"pass", "warn"}, 1: {"fail"}, 2: {"error"}, 3: {"error"}, 4: {"fail"}}
SUMMARY_ERROR = "## :no_entry: Cekura gate: no verdict"


# --------------------------------------------------------------------------- payloads


def example() -> dict[str, Any]:
    """Result 167 as the API returns it, findings and run metrics included."""
    payload: dict[str, Any] = json.loads(RESULT_FILE.read_text(encoding="utf-8"))
    return payload


def bulk() -> list[dict[str, Any]]:
    """The runs-bulk details of result 167 (transcripts included)."""
    runs: list[dict[str, Any]] = json.loads(BULK_FILE.read_text(encoding="utf-8"))
    return runs


def metric(run: dict[str, Any], name: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [
        item for item in run["evaluation"]["metrics"] if item["name"] == name
    ]
    assert len(found) == 1, name
    return found[0]


def write_json(path: Path, document: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return path


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- running the gate


@dataclass
class Outcome:
    """One finished ``check`` or ``run`` and the four reports it wrote to ``out``."""

    code: int
    stdout: str
    stderr: str
    out: Path

    def report(self, name: str) -> str:
        return (self.out / name).read_text(encoding="utf-8")

    def doc(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.report("verdict.json"))
        return document

    def check(self, check_id: str) -> dict[str, Any]:
        found: list[dict[str, Any]] = [
            item for item in self.doc()["checks"] if item["key"] == check_id
        ]
        assert len(found) == 1, (check_id, [item["key"] for item in self.doc()["checks"]])
        return found[0]

    def markdown(self) -> str:
        """The Markdown summary with its escapes removed."""
        return re.sub(r"\\(.)", r"\1", self.report("summary.md"))

    def md_row(self, title: str) -> list[str]:
        """The cells of the summary's rules-table row for the check titled ``title``."""
        rows = [line for line in self.markdown().splitlines() if line.startswith(f"| {title} |")]
        assert len(rows) == 1, (title, rows)
        return [cell.strip() for cell in rows[0].strip("|").split(" | ")]

    def dotenv(self) -> dict[str, str]:
        return parse_dotenv(self.report("gate.env"))

    def junit(self) -> dict[str, tuple[str, str, str]]:
        """``{testcase name: (kind, message, text)}``; kind is passed/failure/skipped/error."""
        cases = {}
        for suite in JUnitXml.fromfile(str(self.out / "junit.xml")):
            for case in suite:
                kind, message = status_of(case)
                results = list(case.result)
                text = (results[0].text if results else case.system_out) or ""
                cases[case.name] = (kind, message, text)
        return cases

    def junit_properties(self) -> dict[str, str]:
        root = ET.fromstring(self.report("junit.xml").encode("utf-8"))
        return {prop.get("name", ""): prop.get("value", "") for prop in root.iter("property")}

    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith(ERROR_PREFIX)]


def gate(out: Path, *args: str, cwd: Path | None = None, key: str | None = None) -> Outcome:
    """Run ``cekura-gate *args`` with every report flag, then the checks every verdict gets."""
    flags = [item for flag, name in REPORTS for item in (flag, str(out / name))]
    run = run_cli(*args, *flags, cwd=cwd, env={"CEKURA_API_KEY": key} if key else None)
    outcome = Outcome(run.code, run.stdout, run.stderr, out)
    assert "Traceback" not in run.stdout + run.stderr, run.stderr
    if key is not None:
        assert_no_key(outcome, out.parent)
    assert_reports_agree(outcome)
    return outcome


def assert_no_key(outcome: Outcome, *folders: Path) -> None:
    assert KEY not in outcome.stdout, "API key on stdout"
    assert KEY not in outcome.stderr, "API key on stderr"
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                assert KEY.encode() not in path.read_bytes(), f"API key in {path}"


def assert_reports_agree(outcome: Outcome) -> None:
    """The four reports exist, parse, and tell the story the exit code tells."""
    root = ET.fromstring(outcome.report("junit.xml").encode("utf-8"))  # well-formed XML
    failures = list(root.iter("failure"))
    # failures iff the gate failed: 1, or 4 when only infrastructure failed it
    assert bool(failures) == (outcome.code in (1, 4)), (outcome.code, outcome.stderr)
    kinds = [kind for kind, _, _ in outcome.junit().values()]
    assert ("failure" in kinds) == (outcome.code in (1, 4))
    verdict = outcome.doc()["verdict"]
    assert verdict in VERDICT_FOR_CODE[outcome.code], (outcome.code, verdict, outcome.stderr)
    assert outcome.dotenv()["GATE_VERDICT"] == verdict
    if outcome.code in (2, 3):
        assert kinds == ["error"]
        assert outcome.report("summary.md").startswith(SUMMARY_ERROR)


def assert_no_verdict(outcome: Outcome, fragment: str, code: int = 3) -> None:
    """Exit ``code``, one error line naming ``fragment``, and every report says why."""
    assert outcome.code == code, outcome.stderr
    [line] = outcome.error_lines()
    assert fragment in line, line
    document = outcome.doc()
    assert document["verdict"] == "error" and fragment in document["error"]
    assert document["checks"] == []
    [(kind, message, _)] = outcome.junit().values()
    assert kind == "error" and fragment in message
    assert fragment in outcome.markdown()
    assert outcome.dotenv()["GATE_VERDICT"] == "error"


def policy_file(folder: Path, rules: str, *, head: str = "") -> Path:
    return write_text(folder / "gate.yaml", f"version: 1\n{head}rules:\n{rules}")
