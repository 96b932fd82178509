"""The fault matrix: one table of API misbehaviours, each run through ``cekura-gate check
--result-id 167`` or ``cekura-gate run`` against the fake Cekura server (tests/fake_cekura.py)
over a real socket on 127.0.0.1. The gate runs in this process (tests/e2e/harness.py
``run_gate``), except where a signal is sent: a real ``python -m gate`` process.

Each row of ``MATRIX`` says how to script the fake (the result's timeline, whose steps may be
``Fault``s, faults queued with ``fail_next``, the runs runs-bulk knows), which command to run,
the exit code expected and the words expected in the verdict or no-verdict reports and in the
progress log. Every row, whatever it scripts, gets the same checks (``assert_every_row``):

* no traceback on stdout or stderr;
* the gate ended before its deadline (``--timeout``, or a tighter bound for the rows that
  must fail fast) plus ``MARGIN_S``: a hang is a failure, never a slow pass;
* all four reports exist; the JUnit XML re-parses and validates against junit-10.xsd (bar the
  testcase ``file``/``line`` attributes pytest also writes and real consumers read); it holds
  ``<failure>`` elements iff the exit code is 1 or 4 and exactly one ``<error>`` testcase iff the
  gate gave no verdict; the JSON ``verdict`` and the dotenv ``GATE_VERDICT`` match the exit code;
* the API key (``sk-fault-SECRET-0b0b``) is in no output and no file the gate wrote.

Two more tests: every exit path (0, 1, 2, 3, 4, 130, 143) writes every requested report, and a
report path whose directory cannot be created is a one-line usage error before any request.

``test_zz_print_fault_matrix`` (last in the file) prints row id -> exit code, wall time and
outcome; ``pytest tests/e2e/test_fault_matrix.py -q -rP`` shows it. Policies poll every 0.05 s
(at most 0.2 s), which also shortens retry backoff.

Rows marked ``xfail`` (strict) are bugs in gate/ this matrix found; each reason says what goes
wrong and where a fix belongs. When one is fixed the row XPASSes, fails, and loses its mark.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from junitparser import JUnitXml
from lxml import etree

from gate.api import client as gate_client
from gate.api.client import BACKSTOP_S
from tests.conftest import DATA, PAYLOADS, in_progress, load_payload, without_findings
from tests.e2e import harness
from tests.e2e.harness import gate_env, run_gate
from tests.fake_cekura import FakeCekura, Fault, compressed

KEY = "sk-fault-SECRET-0b0b"
KEY_FRAGMENT = "SECRET-0b0b"  # a key cut in two must not show in part either
RESULT_ID = 167
RESULT = f"/test_framework/v2/results/{RESULT_ID}/"
BULK = "/test_framework/v2/runs/bulk/"
TRIGGER = "/test_framework/v1/scenarios/run_scenarios/"
END_CALLS = f"/test_framework/v1/results/{RESULT_ID}/end_calls/"
BASELINE = "/test_framework/v2/results/168/"
XSD = DATA / "junit-10.xsd"
REPORT_FLAGS = (
    ("--junit", "junit.xml"),
    ("--summary", "summary.md"),
    ("--json", "verdict.json"),
    ("--dotenv", "gate.env"),
)
ERROR_PREFIX = "cekura-gate: error: "
SUMMARY_TITLES = {
    "pass": "## :white_check_mark: Cekura gate passed",
    "fail": "## :x: Cekura gate failed",
    "error": "## :no_entry: Cekura gate: no verdict",
}
NO_VERDICT_CODES = frozenset({2, 3, 130, 143})

MARGIN_S = 3.0  # start-up (of a real process), report writing and a loaded CI machine
FAST_S = 4.0  # rows that must fail at once: the whole run, start-up included
TIMEOUT_S = 10.0  # every row passes --timeout; most finish in about a second

FAST_WAIT = "wait: {poll_interval: 0.05s, max_poll_interval: 0.2s, timeout: 20s}\n"
PASS_RULES = "rules:\n  success_rate: {min: 50}\n  runs: {min_total: 2}\n"
FINDINGS_RULES = "rules:\n  critical_categories: {max: {critical: 0}}\n"
RUN_SECTION = "run:\n  agent_id: 12\n  scenario_ids: [101, 202]\n  name: fault matrix\n"
BAD_POLICY = "version: 1\nrules:\n  critical_categories:\n    max:\n      high: -1\n"

HTML_502 = (
    "<html><head><title>502 Bad Gateway</title></head>"
    "<body><h1>502 Bad Gateway</h1><hr>nginx</body></html>"
)


# --------------------------------------------------------------------------- payloads


def completed(status: str = "completed") -> dict[str, Any]:
    """Result 167 (2 runs, 1 failed: success rate 50%, which PASS_RULES accept)."""
    payload = load_payload("result_completed_mixed.json")
    payload["status"] = status
    return payload


def bulk_runs(*ids: int, **changes: Any) -> tuple[dict[str, Any], ...]:
    """The runs-bulk entries for ``ids``; a change of None removes the field."""
    runs: list[dict[str, Any]] = json.loads((PAYLOADS / "runs_bulk.json").read_text("utf-8"))
    picked = []
    for run in runs:
        if run["id"] in ids:
            run.update(changes)
            picked.append({key: value for key, value in run.items() if value is not None})
    return tuple(picked)


def with_changes(payload: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """The payload with top-level fields replaced; a change of None removes the field."""
    changed = {**payload, **changes}
    return {key: value for key, value in changed.items() if value is not None}


def stall(payload: dict[str, Any]) -> Fault:
    """A poll the server answers with ``payload`` only after 60 s (or when it stops)."""
    return Fault(status=200, body=json.dumps(payload), delay_s=60)


def trickle(payload: Any, *, headers_too: bool = False) -> Fault:
    """``payload`` sent a byte every half second (its headers too, if asked): an answer
    that would take minutes to arrive, though no single read waits long."""
    return Fault(
        status=200,
        body=json.dumps(payload),
        trickle_s=0.5,
        trickle_headers_s=0.5 if headers_too else 0.0,
    )


def encoded(payload: Any, encoding: str, status: int = 200, **changes: Any) -> Fault:
    """``payload`` compressed as ``encoding`` says (``deflate-raw``: deflate without its
    zlib header, as some servers send it)."""
    data = json.dumps(payload).encode()
    wbits = {"gzip": 31, "deflate": 15, "deflate-raw": -15}[encoding]
    packer = zlib.compressobj(6, zlib.DEFLATED, wbits)
    body = packer.compress(data) + packer.flush()
    name = encoding.removesuffix("-raw")
    return Fault(status=status, body=body, headers={"Content-Encoding": name}, **changes)


def bomb(padding_mib: int, encoding: str = "gzip", status: int = 200) -> Fault:
    """A result padded to ``padding_mib`` MiB, compressed to about a KiB per MiB."""
    body = compressed(padding_mib, encoding)
    return Fault(status=status, body=body, headers={"Content-Encoding": encoding})


def mislabelled(payload: Any, encoding: str = "gzip", status: int = 200) -> Fault:
    """Plain JSON sent as ``Content-Encoding: gzip``: a corrupt encoding."""
    return Fault(status=status, body=json.dumps(payload), headers={"Content-Encoding": encoding})


def too_large(size: str, method: str = "GET", path: str = RESULT) -> str:
    return f"the response to {method} {path} is larger than {size} (--max-response-size)"


END_CALLS_TOO_LARGE = too_large("1 MiB", "POST", END_CALLS)


# --------------------------------------------------------------------------- the process


@dataclass
class Outcome:
    """One finished ``cekura-gate`` process and what it left in ``work``."""

    code: int
    stdout: str
    stderr: str
    elapsed: float
    work: Path

    @property
    def out(self) -> Path:
        return self.work / "out"

    def report(self, name: str) -> str:
        return (self.out / name).read_text(encoding="utf-8")

    def verdict(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.report("verdict.json"))
        return document

    def dotenv(self) -> dict[str, str]:
        return dict(line.split("=", 1) for line in self.report("gate.env").splitlines())

    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith(ERROR_PREFIX)]

    def junit_messages(self, kind: str) -> list[str]:
        root = etree.parse(str(self.out / "junit.xml")).getroot()
        return [element.get("message") or "" for element in root.iter(kind)]


@dataclass
class Started:
    process: harness.Started
    work: Path

    @property
    def proc(self) -> subprocess.Popen[str]:
        return self.process.proc


def report_args(out: Path) -> list[str]:
    return [item for flag, name in REPORT_FLAGS for item in (flag, str(out / name))]


def gate_args(
    work: Path,
    api_url: str,
    *,
    command: str = "check",
    policy: str = f"version: 1\n{FAST_WAIT}{PASS_RULES}",
    timeout_s: float = TIMEOUT_S,
    reports: list[str] | None = None,
    args: tuple[str, ...] = (),
) -> list[str]:
    """The gate with --verbose, an explicit --timeout and (by default) all four reports."""
    policy_path = work / "gate.yaml"
    policy_path.write_text(policy, encoding="utf-8")
    argv = [command, "--policy", str(policy_path), "--api-url", api_url, "--verbose"]
    if command == "check":
        argv += ["--result-id", str(RESULT_ID)]
    argv += ["--timeout", f"{timeout_s:g}s", *args]
    argv += report_args(work / "out") if reports is None else reports
    return argv


def gate(
    work: Path, api_url: str, *, limit: float, env: dict[str, str] | None = None, **options: Any
) -> Outcome:
    """The gate in this process (``gate_args`` takes ``options``); fails the test past ``limit``."""
    environment = gate_env(KEY, **(env or {}))
    done = run_gate(gate_args(work, api_url, **options), env=environment, limit=limit)
    return Outcome(done.code, done.stdout, done.stderr, done.elapsed, work)


def spawn_gate(work: Path, api_url: str, **options: Any) -> Started:
    """The gate as a real process, to signal it (``gate_args`` takes ``options``)."""
    return Started(harness.spawn(gate_args(work, api_url, **options), env=gate_env(KEY)), work)


def finish(started: Started, *, limit: float) -> Outcome:
    """Wait for the process, killing it (and failing) if it outlives ``limit`` seconds."""
    done = harness.finish(started.process, limit=limit)
    return Outcome(done.code, done.stdout, done.stderr, done.elapsed, started.work)


# --------------------------------------------------------------------------- checks for all


@cache
def junit10() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


def verdict_word(code: int) -> str:
    return {0: "pass", 1: "fail", 4: "fail"}.get(code, "error")


def assert_junit(path: Path, code: int) -> None:
    """Re-parses (lxml and junitparser), validates against junit-10.xsd, tells the exit code."""
    root = etree.parse(str(path)).getroot()
    # The one deviation from junit-10.xsd: testcase `file`/`line` (pytest writes them too;
    # GitLab, junitparser and mikepenz read them), so drop those only here.
    for case in root.iter("testcase"):
        for attribute in ("file", "line"):
            case.attrib.pop(attribute, None)
    junit10().assertValid(root)
    cases = list(root.iter("testcase"))
    assert cases, "a JUnit report with no testcase"
    failures = [case for case in cases if case.find("failure") is not None]
    errors = [case for case in cases if case.find("error") is not None]
    failed = code in (1, 4)  # 4: failed because of infrastructure only
    assert bool(failures) == failed, f"exit {code} with {len(failures)} failed testcases"
    assert len(errors) == (1 if code in NO_VERDICT_CODES else 0), f"exit {code}: {len(errors)}"
    if errors:
        assert cases == errors, "a no-verdict report holds only its error testcase"
    [suite] = root.iter("testsuite")
    assert (int(suite.get("failures", "")), int(suite.get("errors", ""))) == (
        len(failures),
        len(errors),
    )
    parsed = JUnitXml.fromfile(str(path))  # what GitHub/GitLab test reporters read
    assert sum(1 for parsed_suite in parsed for _ in parsed_suite) == len(cases)


def assert_no_secret(outcome: Outcome) -> None:
    for name, text in (("stdout", outcome.stdout), ("stderr", outcome.stderr)):
        assert KEY_FRAGMENT not in text, f"API key on {name}"
    for path in outcome.work.rglob("*"):
        if path.is_file() and path.name != "gate.yaml":
            assert KEY_FRAGMENT not in path.read_text("utf-8", "replace"), f"API key in {path}"


def assert_every_row(outcome: Outcome, code: int, limit: float) -> None:
    """What every run of the gate must get right, whatever the fault."""
    both = outcome.stdout + outcome.stderr
    assert "Traceback" not in both, outcome.stderr
    assert "internal error" not in both, outcome.stderr
    assert outcome.code == code, f"exit {outcome.code}, expected {code}\nstderr:\n{outcome.stderr}"
    assert outcome.elapsed < limit, f"took {outcome.elapsed:.2f}s (limit {limit:.1f}s)"
    for _, name in REPORT_FLAGS:
        assert (outcome.out / name).is_file(), f"{name} missing after exit {code}"
    assert_junit(outcome.out / "junit.xml", code)
    word = verdict_word(code)
    assert outcome.verdict()["verdict"] == word
    assert outcome.dotenv()["GATE_VERDICT"] == word
    assert outcome.report("summary.md").startswith(SUMMARY_TITLES[word])
    assert_no_secret(outcome)
    if code in NO_VERDICT_CODES:
        assert len(outcome.error_lines()) == 1, outcome.stderr  # one clear line, not a stack
    else:
        assert not outcome.error_lines(), outcome.stderr
        passed = "PASSED" if code == 0 else "FAILED"
        assert outcome.stdout.startswith(f"cekura-gate: {passed} result {RESULT_ID}")


def assert_words(outcome: Outcome, words: tuple[str, ...]) -> None:
    """The row's words are in the reports that explain the verdict (or the lack of one)."""
    document = outcome.verdict()
    summary = re.sub(r"\\(.)", r"\1", outcome.report("summary.md"))  # Markdown escapes
    if outcome.code in NO_VERDICT_CODES:
        [line] = outcome.error_lines()
        [junit_error] = outcome.junit_messages("error")
        places = {"error line": line, "JSON error": document["error"], "JUnit error": junit_error}
    else:
        reasons = " | ".join(
            check["reason"] for check in document["checks"] if check["outcome"] == "fail"
        )
        places = {
            "JSON reasons": reasons,
            "JUnit failures": " | ".join(outcome.junit_messages("failure")),
        }
    places["summary"] = summary
    for word in words:
        for place, text in places.items():
            assert word in text, f"{word!r} not in the {place}: {text[:500]!r}"


# --------------------------------------------------------------------------- row-specific checks


def result_gets(fake: FakeCekura) -> list[float]:
    return [request.at for request in fake.requests_to(RESULT)]


def requests_to_result(count: int) -> Callable[[FakeCekura, Outcome], None]:
    def check(fake: FakeCekura, outcome: Outcome) -> None:
        assert len(fake.requests_to(RESULT)) == count, [r.path for r in fake.requests]

    return check


def exactly_one_request(fake: FakeCekura, outcome: Outcome) -> None:
    assert len(fake.requests) == 1, [request.path for request in fake.requests]


def waited_after_429(seconds: float) -> Callable[[FakeCekura, Outcome], None]:
    def check(fake: FakeCekura, outcome: Outcome) -> None:
        first, second = result_gets(fake)
        assert second - first >= seconds, f"asked again after {second - first:.2f}s"

    return check


def not_before(seconds: float) -> Callable[[FakeCekura, Outcome], None]:
    """The gate waited out its timeout rather than give up early."""

    def check(fake: FakeCekura, outcome: Outcome) -> None:
        assert outcome.elapsed >= seconds, f"gave up after {outcome.elapsed:.2f}s"

    return check


def unknown_status_said_once(fake: FakeCekura, outcome: Outcome) -> None:
    assert len(fake.requests_to(RESULT)) >= 3  # polled on, and said it only once
    assert outcome.stderr.count("unknown status 'paused'; treating it as not finished") == 1


def one_trigger(end_calls: int) -> Callable[[FakeCekura, Outcome], None]:
    """No second (billed) trigger POST, and ``end_calls`` asked ``end_calls`` times."""

    def check(fake: FakeCekura, outcome: Outcome) -> None:
        posts = [request.path for request in fake.posts()]
        assert posts.count(TRIGGER) == 1, posts
        assert posts.count(END_CALLS) == end_calls, posts

    return check


def bulk_asked(*queries: str) -> Callable[[FakeCekura, Outcome], None]:
    def check(fake: FakeCekura, outcome: Outcome) -> None:
        asked = [request.query["run_ids"][0] for request in fake.requests_to(BULK)]
        assert asked == list(queries)

    return check


def all_of(
    *checks: Callable[[FakeCekura, Outcome], None],
) -> Callable[[FakeCekura, Outcome], None]:
    def check(fake: FakeCekura, outcome: Outcome) -> None:
        for each in checks:
            each(fake, outcome)

    return check


# --------------------------------------------------------------------------- the matrix


@dataclass
class Row:
    """One fault: how the fake behaves, what the gate is asked, what must come out."""

    id: str
    timeline: list[Any]  # the steps of result 167 (payloads or Faults); the last repeats
    code: int
    words: tuple[str, ...] = ()  # in the verdict or no-verdict reports (and the error line)
    log: tuple[str, ...] = ()  # in the progress output on stderr
    faults: list[tuple[str, Fault, int]] = field(default_factory=list)  # fail_next(path, f, n)
    runs: tuple[dict[str, Any], ...] = ()  # what runs-bulk serves
    command: str = "check"
    rules: str = PASS_RULES
    timeout_s: float = TIMEOUT_S
    limit_s: float | None = None  # the wall-time bound, if tighter than timeout + MARGIN_S
    check: Callable[[FakeCekura, Outcome], None] | None = None
    xfail: str | None = None
    args: tuple[str, ...] = ()  # more flags
    env: dict[str, str] = field(default_factory=dict)  # more environment variables

    @property
    def limit(self) -> float:
        return self.limit_s if self.limit_s is not None else self.timeout_s + MARGIN_S

    @property
    def policy(self) -> str:
        run = RUN_SECTION if self.command == "run" else ""
        return f"version: 1\n{FAST_WAIT}{self.rules}{run}"


def retry_after_date(seconds: float) -> Fault:
    return Fault(status=429, body='{"detail": "slow down"}', retry_after_date_in_s=seconds)


NOT_AN_OBJECT = "HTTP 200 with JSON that is not a Cekura result"

MATRIX: list[Row] = [
    # ---- transient errors, retried until the answer is good
    Row(
        "500-once",
        [completed()],
        0,
        log=("HTTP 500; retrying in", "(attempt 2 of 7)"),
        faults=[(RESULT, Fault(status=500), 1)],
        check=requests_to_result(2),
    ),
    Row(
        "502-html-x2",
        [completed()],
        0,
        log=("HTTP 502; retrying in", "(attempt 3 of 7)"),
        faults=[(RESULT, Fault(status=502, body=HTML_502, content_type="text/html"), 2)],
        check=all_of(
            requests_to_result(3),
            lambda fake, outcome: assert_not_in("<html", outcome.stdout + outcome.stderr),
        ),
    ),
    Row(
        "503-x3",
        [completed()],
        0,
        log=("HTTP 503; retrying in", "(attempt 4 of 7)"),
        faults=[(RESULT, Fault(status=503), 3)],
        check=requests_to_result(4),
    ),
    Row(
        "503-always",
        [Fault(status=503, body='{"detail": "Service Unavailable"}')],
        3,
        words=("failed after 7 attempts", "HTTP 503"),
        check=requests_to_result(7),
    ),
    Row(
        "429-retry-after-1s",
        [completed()],
        0,
        log=("HTTP 429; retrying in 1.0s",),
        faults=[(RESULT, Fault(status=429, headers={"Retry-After": "1"}), 1)],
        check=waited_after_429(1.0),
    ),
    Row(
        "429-retry-after-http-date",
        [completed()],
        0,
        log=("HTTP 429; retrying in",),  # 1-2 s: the date is a whole second
        faults=[(RESULT, retry_after_date(1.0), 1)],
        check=waited_after_429(0.98),  # wall clock (the date) against monotonic (the gap)
    ),
    Row(
        "429-retry-after-past-deadline",
        [completed()],
        3,
        words=("failed after 1 attempt", "HTTP 429"),
        faults=[(RESULT, Fault(status=429, headers={"Retry-After": "120"}), 1)],
        limit_s=FAST_S,  # gives up at once instead of sleeping past the deadline
        check=requests_to_result(1),
    ),
    Row(
        "dropped-connection",
        [completed()],
        0,
        # Which httpx exception a dropped connection raises is httpx's business; ours is to
        # call it a network error and retry.
        log=("network error (",),
        faults=[(RESULT, Fault(drop_connection=True), 2)],
        check=requests_to_result(3),
    ),
    Row(
        "connection-reset",
        [completed()],
        0,
        log=("network error (",),
        faults=[(RESULT, Fault(reset_connection=True), 2)],
        check=requests_to_result(3),
    ),
    Row(
        "read-timeout-first-poll",
        [stall(completed())],
        3,
        words=("the request timed out",),
        timeout_s=2.0,
        check=all_of(not_before(2.0), requests_to_result(1)),
    ),
    Row(
        "read-timeout-later-poll",
        [in_progress("running"), stall(completed())],
        3,
        words=("not finished after 0m02s", "last status 'running'"),
        timeout_s=2.0,
        check=all_of(not_before(2.0), requests_to_result(2)),
    ),
    # ---- responses that never end: --timeout bounds each one, not each read of it
    Row(
        "body-trickles-first-poll",
        [trickle(completed())],
        3,
        words=("the request timed out",),
        timeout_s=2.0,
        check=all_of(not_before(2.0), requests_to_result(1)),
    ),
    Row(
        "headers-trickle-first-poll",
        [trickle(completed(), headers_too=True)],
        3,
        words=("the request timed out",),
        timeout_s=2.0,
        check=all_of(not_before(2.0), requests_to_result(1)),
    ),
    Row(
        "body-trickles-later-poll",
        [in_progress("running"), trickle(completed())],
        3,
        words=("not finished after 0m02s", "last status 'running'"),
        timeout_s=2.0,
        check=all_of(not_before(2.0), requests_to_result(2)),
    ),
    Row(
        "bulk-body-trickles",
        [without_findings(completed())],
        3,
        words=(f"GET {BULK} failed after 1 attempt: the request timed out",),
        faults=[(BULK, trickle(list(bulk_runs(273, 274))), 1)],
        runs=bulk_runs(273, 274),
        rules=FINDINGS_RULES,
        timeout_s=2.0,
    ),
    Row(
        "baseline-body-trickles",
        [completed()],
        3,
        words=("baseline result 168", "the request timed out"),
        faults=[(BASELINE, trickle(completed()), 1)],
        args=("--baseline-result-id", "168"),
        timeout_s=2.0,
        check=requests_to_result(0),  # no wait for a result that cannot be judged
    ),
    # ---- responses too large to hold: refused at the cap, not retried
    Row(
        "gzip-bomb-512MiB",
        [bomb(512)],
        3,
        words=(too_large("256 MiB"),),
        check=requests_to_result(1),
    ),
    Row(
        "deflate-bomb-over-flag",
        [bomb(8, "deflate")],
        3,
        words=(too_large("1 MiB"),),
        args=("--max-response-size", "1MiB"),
        limit_s=FAST_S,
        check=requests_to_result(1),
    ),
    Row(
        "content-length-over-cap",
        [Fault(status=200, body="{}", content_length=300 << 20)],
        3,
        words=(too_large("256 MiB"),),
        limit_s=FAST_S,  # refused from the header: nothing of the body is read
        check=requests_to_result(1),
    ),
    Row(
        "chunked-over-cap-env",  # no Content-Length to refuse it by: counted as it comes
        [
            Fault(
                status=200,
                body=json.dumps(with_changes(completed(), pad=" " * (2 << 20))),
                chunked=True,
            )
        ],
        3,
        words=(too_large("1 MiB"),),
        env={"CEKURA_GATE_MAX_RESPONSE_SIZE": "1MiB"},
        limit_s=FAST_S,
        check=requests_to_result(1),
    ),
    Row(
        "bulk-gzip-bomb",
        [without_findings(completed())],
        3,
        words=(too_large("1 MiB", path=BULK),),
        faults=[(BULK, bomb(8), 1)],
        runs=bulk_runs(273, 274),
        rules=FINDINGS_RULES,
        args=("--max-response-size", "1MiB"),
        limit_s=FAST_S,
        check=bulk_asked("273,274"),
    ),
    # ---- encodings: undone here; a corrupt one is a transport fault, retried
    Row("gzip-result", [encoded(completed(), "gzip")], 0),
    Row("deflate-result", [encoded(completed(), "deflate")], 0),
    Row("deflate-raw-result", [encoded(completed(), "deflate-raw")], 0),
    Row("chunked-result", [Fault(status=200, body=json.dumps(completed()), chunked=True)], 0),
    Row(
        "gzip-corrupt-then-ok",
        [completed()],
        0,
        log=("HTTP 200 with a corrupt gzip body; retrying in",),
        faults=[(RESULT, mislabelled(completed()), 1)],
        check=requests_to_result(2),
    ),
    Row(
        "gzip-corrupt-always",
        [mislabelled(completed())],
        3,
        words=("failed after 7 attempts", "HTTP 200 with a corrupt gzip body"),
        check=requests_to_result(7),
    ),
    Row(
        "gzip-cut-short-then-ok",
        [completed()],
        0,
        log=("HTTP 200 with a gzip body that ends early; retrying in",),
        faults=[(RESULT, encoded(completed(), "gzip", truncate=True), 1)],
        check=requests_to_result(2),
    ),
    Row(
        "brotli-not-asked-for-then-ok",
        [completed()],
        0,
        log=("an encoding the gate does not accept (br); retrying in",),
        faults=[(RESULT, mislabelled(completed(), "br"), 1)],
        check=requests_to_result(2),
    ),
    Row(
        "bulk-corrupt-gzip-then-ok",
        [without_findings(completed())],
        1,  # run 273 has a critical finding
        words=("critical",),
        log=("HTTP 200 with a corrupt gzip body; retrying in",),
        faults=[(BULK, mislabelled(list(bulk_runs(273, 274))), 1)],
        runs=bulk_runs(273, 274),
        rules=FINDINGS_RULES,
        check=bulk_asked("273,274", "273,274"),
    ),
    # ---- 200s that are not a result
    Row(
        "truncated-json",
        [completed()],
        0,
        log=("HTTP 200 with a body that is not JSON",),
        faults=[(RESULT, Fault(status=200, body=json.dumps(completed()), truncate=True), 1)],
        check=requests_to_result(2),
    ),
    Row(
        "json-array-then-ok",
        [completed()],
        0,
        log=(NOT_AN_OBJECT,),
        faults=[(RESULT, Fault(status=200, body="[]"), 1)],
        check=requests_to_result(2),
    ),
    Row(
        "json-string-then-ok",
        [completed()],
        0,
        log=(NOT_AN_OBJECT,),
        faults=[(RESULT, Fault(status=200, body='"x"'), 2)],
        check=requests_to_result(3),
    ),
    Row(
        "json-array-always",
        [Fault(status=200, body="[]")],
        3,
        words=("failed after 7 attempts", NOT_AN_OBJECT),
        check=requests_to_result(7),
    ),
    # ---- statuses
    Row(
        "unknown-status-paused",
        [in_progress("paused")],
        3,
        words=("not finished after 0m02s", "last status 'paused'"),
        timeout_s=2.0,
        check=all_of(not_before(2.0), unknown_status_said_once),
    ),
    Row(
        "completed-then-evaluating",
        [in_progress("running"), completed(), in_progress("evaluating")],
        0,
        check=requests_to_result(2),  # stops at the first terminal status
    ),
    Row(
        "other-result-id",
        [with_changes(completed(), id=168)],
        3,  # asked for 167: a verdict on 168 is a verdict on the wrong thing
        words=("168",),
    ),
    # Cekura's status for connection errors: an infrastructure failure, the agent's failed run
    # being one the policy tolerates
    Row("status-failed", [completed("failed")], 4, words=("ended with status 'failed'",)),
    Row("status-timeout", [completed("timeout")], 1, words=("ended with status 'timeout'",)),
    Row(
        "status-cancelled",
        [in_progress("running"), completed("cancelled")],
        1,
        words=("ended with status 'cancelled'",),
    ),
    Row("status-canceled-us", [completed("canceled")], 1, words=("ended with status 'canceled'",)),
    # ---- run details from runs-bulk
    Row(
        "bulk-missing-one-id",
        [without_findings(completed())],
        3,
        words=("runs-bulk did not return runs 273;",),
        runs=bulk_runs(274),
        rules=FINDINGS_RULES,
        check=bulk_asked("273,274", "273"),  # asked once more, then gave up
    ),
    Row(
        "bulk-missing-all-ids",
        [without_findings(completed())],
        3,
        words=("runs-bulk did not return runs 273, 274",),
        rules=FINDINGS_RULES,
        check=bulk_asked("273,274", "273,274"),
    ),
    Row(
        "bulk-runs-lack-findings",
        [without_findings(completed())],
        3,  # run 273 has a critical finding the gate never saw
        words=("273, 274",),
        runs=bulk_runs(273, 274, critical_categories=None),
        rules=FINDINGS_RULES,
    ),
    Row(
        "bulk-findings-null",
        [without_findings(completed())],
        3,
        words=("273, 274",),
        runs=tuple({**run, "critical_categories": None} for run in bulk_runs(273, 274)),
        rules=FINDINGS_RULES,
    ),
    Row(
        "runs-absent-findings-rule",
        [with_changes(completed(), runs=None)],
        3,  # total_runs_count says 2; no run, so no findings, was seen
        rules=FINDINGS_RULES,
    ),
    Row(
        "bulk-200-not-a-list",
        [without_findings(completed())],
        3,
        words=("runs-bulk",),
        faults=[(BULK, Fault(status=200, body='{"detail": "upstream hiccup"}'), 1)],
        runs=bulk_runs(273, 274),
        rules=FINDINGS_RULES,
    ),
    Row(
        "bulk-html-502-then-ok",
        [without_findings(completed())],
        1,  # run 273 has a critical finding
        words=("critical",),
        log=("HTTP 502; retrying in",),
        faults=[(BULK, Fault(status=502, body=HTML_502, content_type="text/html"), 1)],
        runs=bulk_runs(273, 274),
        rules=FINDINGS_RULES,
        check=bulk_asked("273,274", "273,274"),
    ),
    # ---- refusals: fail fast, one request
    Row(
        "401",
        [completed()],
        3,
        words=("the API key was rejected (HTTP 401)",),
        faults=[(RESULT, Fault(status=401, body='{"detail": "Invalid API key."}'), 1)],
        limit_s=FAST_S,
        check=exactly_one_request,
    ),
    Row(
        "403",
        [completed()],
        3,
        words=("the API key was rejected (HTTP 403)",),
        faults=[(RESULT, Fault(status=403, body='{"detail": "forbidden"}'), 1)],
        limit_s=FAST_S,
        check=exactly_one_request,
    ),
    Row(
        "404",
        [completed()],
        3,
        words=(f"result {RESULT_ID} not found for this API key (HTTP 404)",),
        faults=[(RESULT, Fault(status=404, body='{"detail": "Not found."}'), 1)],
        limit_s=FAST_S,
        check=exactly_one_request,
    ),
    Row(
        "302-not-followed",
        [completed()],
        3,
        words=("unexpected HTTP 302",),
        faults=[(RESULT, Fault(status=302, headers={"Location": "http://127.0.0.1:9/"}), 1)],
        limit_s=FAST_S,
        check=exactly_one_request,
    ),
    # ---- the key echoed back: shown nowhere
    Row(
        "echo-headers-400",
        [completed()],
        3,
        words=("unexpected HTTP 400", "[redacted]"),
        faults=[(RESULT, Fault(status=400, echo_headers=True), 1)],
        limit_s=FAST_S,
        check=exactly_one_request,
    ),
    Row(
        "echo-headers-503-then-ok",
        [completed()],
        0,
        faults=[(RESULT, Fault(status=503, echo_headers=True), 2)],
        check=requests_to_result(3),
    ),
    Row(
        "echo-headers-401",
        [completed()],
        3,
        words=("the API key was rejected (HTTP 401)",),
        faults=[(RESULT, Fault(status=401, echo_headers=True), 1)],
        limit_s=FAST_S,
        check=exactly_one_request,
    ),
    # ---- run: the trigger is sent once, whatever happens after
    Row(
        "run-500-once",
        [in_progress("running"), completed()],
        0,
        log=("HTTP 500; retrying in",),
        faults=[(RESULT, Fault(status=500), 1)],
        command="run",
        check=one_trigger(end_calls=0),
    ),
    Row(
        "run-503-always",
        [Fault(status=503)],
        3,
        words=("failed after 7 attempts", "HTTP 503"),
        log=("asked Cekura to end the calls of result 167",),
        command="run",
        check=one_trigger(end_calls=1),
    ),
    Row(
        "run-status-timeout",
        [in_progress("running"), completed("timeout")],
        1,
        words=("ended with status 'timeout'",),
        command="run",
        check=one_trigger(end_calls=0),
    ),
    Row(
        "run-trigger-502",
        [completed()],
        3,
        words=("HTTP 502 from the API", "The run may have started"),
        faults=[(TRIGGER, Fault(status=502, body=HTML_502, content_type="text/html"), 1)],
        command="run",
        limit_s=FAST_S,
        check=all_of(exactly_one_request, one_trigger(end_calls=0)),
    ),
    Row(
        "run-trigger-gzip-bomb",
        [completed()],
        3,
        words=(too_large("1 MiB", "POST", TRIGGER), "The run may have started"),
        faults=[(TRIGGER, bomb(8, status=201), 1)],
        command="run",
        args=("--max-response-size", "1MiB"),
        limit_s=FAST_S,
        check=all_of(exactly_one_request, one_trigger(end_calls=0)),
    ),
    Row(
        "run-trigger-corrupt-gzip",
        [completed()],
        3,
        words=("HTTP 201 with a corrupt gzip body after the request was sent", "may have started"),
        faults=[(TRIGGER, mislabelled({"id": RESULT_ID}, status=201), 1)],
        command="run",
        limit_s=FAST_S,
        check=all_of(exactly_one_request, one_trigger(end_calls=0)),
    ),
    Row(
        "run-end-calls-gzip-bomb",
        [Fault(status=503)],
        3,
        words=("failed after 7 attempts", "HTTP 503"),
        log=(f"could not end the calls of result 167: ending the calls: {END_CALLS_TOO_LARGE}",),
        faults=[(END_CALLS, bomb(8), 1)],
        command="run",
        args=("--max-response-size", "1MiB"),
        check=one_trigger(end_calls=1),
    ),
    Row(
        "run-trigger-dropped",
        [completed()],
        3,
        words=("after the request was sent", "The run may have started"),
        faults=[(TRIGGER, Fault(drop_connection=True), 1)],
        command="run",
        limit_s=FAST_S,
        check=all_of(exactly_one_request, one_trigger(end_calls=0)),
    ),
]


def assert_not_in(fragment: str, text: str) -> None:
    assert fragment not in text, f"{fragment!r} shown: {text[:300]!r}"


# Row id -> [command, expected code, exit code, wall time, outcome]; the matrix rows and the
# extra tests below record themselves here for test_zz_print_fault_matrix.
RESULTS: dict[str, list[str]] = {}


def record(key: str, command: str, want: int, outcome: Outcome) -> list[str]:
    entry = [command, str(want), str(outcome.code), f"{outcome.elapsed:.2f}s", "checking"]
    RESULTS[key] = entry
    return entry


def params() -> list[Any]:
    return [
        pytest.param(
            row,
            id=row.id,
            marks=[pytest.mark.xfail(strict=True, reason=row.xfail)] if row.xfail else [],
        )
        for row in MATRIX
    ]


@pytest.fixture
def api_key() -> str:
    return KEY


@pytest.mark.slow
@pytest.mark.parametrize("row", params())
def test_fault_matrix(row: Row, fake: FakeCekura, tmp_path: Path) -> None:
    fake.add_result(RESULT_ID, row.timeline)
    fake.add_runs(list(row.runs))
    for path, fault, times in row.faults:
        fake.fail_next(path, fault, times=times)
    outcome = gate(
        tmp_path,
        fake.url,
        command=row.command,
        policy=row.policy,
        timeout_s=row.timeout_s,
        args=row.args,
        env=row.env,
        limit=row.limit + 30.0,  # past the limit: fail, not hang
    )
    entry = record(row.id, row.command, row.code, outcome)
    try:
        assert_every_row(outcome, row.code, row.limit)
        assert_words(outcome, row.words)
        for fragment in row.log:
            assert fragment in outcome.stderr, f"{fragment!r} not logged:\n{outcome.stderr}"
        if row.check is not None:
            row.check(fake, outcome)
        assert not fake.unauthorised_requests()  # every request carried the key
    except AssertionError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "assertion failed"
        entry[-1] = ("XFAIL: " if row.xfail else "FAILED: ") + first[:90]
        raise
    entry[-1] = "ok"


# --------------------------------------------------------------------------- every exit path


Act = Callable[[Started, FakeCekura], None]  # what a test does while the gate runs


def sent(signum: int) -> Act:
    """Send ``signum`` once the gate has polled the result."""

    def send(started: Started, fake: FakeCekura) -> None:
        assert fake.wait_for_requests(1, path=RESULT, timeout=10.0), "the gate sent no request"
        time.sleep(0.05)
        started.proc.send_signal(signum)

    return send


EXIT_PATHS: dict[int, tuple[list[Any], str | None, Act | None]] = {
    # code: (timeline of result 167, a policy replacing the good one, what to do once started)
    0: ([completed()], None, None),
    1: ([completed("timeout")], None, None),
    2: ([completed()], BAD_POLICY, None),
    3: ([Fault(status=404, body='{"detail": "Not found."}')], None, None),
    4: ([completed("failed")], None, None),
    130: ([in_progress("running")], None, sent(signal.SIGINT)),
    143: ([in_progress("running")], None, sent(signal.SIGTERM)),
}


def exit_paths() -> list[Any]:
    """Every code for check; for run, the codes no ``run-`` row of the matrix ends with."""
    return [pytest.param(code, "check", id=f"{code}-check") for code in EXIT_PATHS] + [
        pytest.param(code, "run", id=f"{code}-run") for code in (2, 130, 143)
    ]


@pytest.mark.slow
@pytest.mark.parametrize(("code", "command"), exit_paths())
def test_every_exit_path_writes_every_report(
    code: int, command: str, fake: FakeCekura, tmp_path: Path
) -> None:
    timeline, bad_policy, act = EXIT_PATHS[code]
    fake.add_result(RESULT_ID, timeline)
    run = RUN_SECTION if command == "run" else ""
    policy = bad_policy or f"version: 1\n{FAST_WAIT}{PASS_RULES}{run}"
    if act is None:
        outcome = gate(tmp_path, fake.url, command=command, policy=policy, limit=TIMEOUT_S + 30.0)
    else:  # a signal: a real process
        started = spawn_gate(tmp_path, fake.url, command=command, policy=policy)
        act(started, fake)
        outcome = finish(started, limit=TIMEOUT_S + 30.0)
    entry = record(f"exit-path-{code}-{command}", command, code, outcome)
    assert_every_row(outcome, code, TIMEOUT_S + MARGIN_S)
    if code == 2:
        assert "rules.critical_categories.max.high" in outcome.error_lines()[0]
        assert fake.requests == []  # a bad policy is found before any request
    if code in (130, 143):
        reason = "interrupted" if code == 130 else "terminated (SIGTERM)"
        assert reason in outcome.verdict()["error"]
    if command == "run":
        assert [r.path for r in fake.posts()].count(TRIGGER) == (0 if code == 2 else 1)
    entry[-1] = "ok"


# --------------------------------------------------------------------------- POSTs, fetches by id


@dataclass
class Post:
    """A POST whose answer never ends, its budget shortened (no flag sets it) to ``budget_s``."""

    budget: str  # the gate.api.client constant
    path: str
    timeline: list[Any]
    fault: Fault
    words: tuple[str, ...]
    log: tuple[str, ...] = ()
    end_calls: int = 0


POSTS = {
    "trigger-body-trickles": Post(
        "TRIGGER_READ_TIMEOUT_S",
        TRIGGER,
        [completed()],
        trickle({"id": RESULT_ID, "status": "pending"}),
        ("no complete response within 1.0s after the request was sent", "may have started"),
    ),
    "trigger-headers-trickle": Post(
        "TRIGGER_READ_TIMEOUT_S",
        TRIGGER,
        [completed()],
        trickle({"id": RESULT_ID}, headers_too=True),
        ("no complete response within", "after the request was sent", "may have started"),
    ),
    "end-calls-body-trickles": Post(
        "END_CALLS_READ_TIMEOUT_S",
        END_CALLS,
        [Fault(status=503)],
        trickle({"detail": "ending"}),
        ("failed after 7 attempts", "HTTP 503"),
        log=("could not end the calls of result 167: ending the calls: no complete response",),
        end_calls=1,
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", POSTS)
def test_a_post_answer_that_never_ends_is_given_up_at_its_budget(
    name: str, fake: FakeCekura, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    post = POSTS[name]
    monkeypatch.setattr(gate_client, post.budget, 1.0)
    fake.add_result(RESULT_ID, post.timeline)
    fake.fail_next(post.path, post.fault, times=2)  # a retry would meet it again
    policy = f"version: 1\n{FAST_WAIT}{PASS_RULES}{RUN_SECTION}"
    outcome = gate(tmp_path, fake.url, command="run", policy=policy, limit=TIMEOUT_S + 30.0)
    entry = record(f"post-{name}", "run", 3, outcome)
    assert_every_row(outcome, 3, 1.0 + BACKSTOP_S + 1.5 + MARGIN_S)  # the wait's 7 tries: ~1 s
    assert_words(outcome, post.words)
    for fragment in post.log:
        assert fragment in outcome.stderr, outcome.stderr
    one_trigger(end_calls=post.end_calls)(fake, outcome)
    entry[-1] = "ok"


FETCHES = {  # a command that fetches a result once, without reports
    "validate": ["validate", "--result-id", str(RESULT_ID)],
    "save": ["baseline", "save", "--result-id", str(RESULT_ID)],
}
FETCH_FAULTS = {  # fault (for every request), flags, words of the one error line
    "trickle": (trickle(completed()), ("--timeout", "2s"), "the request timed out"),
    "headers-trickle": (
        trickle(completed(), headers_too=True),
        ("--timeout", "2s"),
        "the request timed out",
    ),
    "gzip-bomb": (bomb(8), ("--max-response-size", "1MiB"), too_large("1 MiB")),
    "corrupt-gzip": (mislabelled(completed()), ("--timeout", "1s"), "corrupt gzip body"),
}


@pytest.mark.slow
@pytest.mark.parametrize("fault_name", FETCH_FAULTS)
@pytest.mark.parametrize("command", FETCHES)
def test_a_fetch_by_id_is_bounded_by_its_own_timeout_and_the_cap(
    command: str, fault_name: str, fake: FakeCekura, tmp_path: Path
) -> None:
    fault, flags, words = FETCH_FAULTS[fault_name]
    fake.add_result(RESULT_ID, [fault])
    argv = [*FETCHES[command], "--api-url", fake.url, *flags]
    if command == "validate":
        policy = tmp_path / "gate.yaml"
        policy.write_text(f"version: 1\n{PASS_RULES}", encoding="utf-8")
        argv += ["--policy", str(policy)]
    else:
        argv += ["--output", str(tmp_path / "baseline.json")]
    done = run_gate(argv, env=gate_env(KEY), limit=40.0)
    outcome = Outcome(done.code, done.stdout, done.stderr, done.elapsed, tmp_path)
    entry = record(f"{command}-{fault_name}", command[:5], 3, outcome)
    assert done.code == 3, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    [line] = outcome.error_lines()  # one line, and nothing else that looks like an error
    assert words in line
    assert done.elapsed < 2.0 + BACKSTOP_S + MARGIN_S
    assert KEY_FRAGMENT not in done.stdout + done.stderr
    assert not (tmp_path / "baseline.json").exists()
    entry[-1] = "ok"


def test_a_bad_max_response_size_in_the_environment_is_a_usage_error(
    fake: FakeCekura, tmp_path: Path
) -> None:
    fake.add_result(RESULT_ID, [completed()])
    outcome = gate(
        tmp_path,
        fake.url,
        env={"CEKURA_GATE_MAX_RESPONSE_SIZE": "huge"},
        limit=FAST_S + 30.0,
    )
    record("max-response-size-env-bad", "check", 2, outcome)[-1] = "ok"
    assert_every_row(outcome, 2, FAST_S)
    [line] = outcome.error_lines()
    assert "CEKURA_GATE_MAX_RESPONSE_SIZE='huge' is not a size such as 256MiB" in line
    assert fake.requests == []


# --------------------------------------------------------------------------- unusable report path


@pytest.mark.parametrize("command", ["check", "run"])
def test_report_path_under_a_regular_file_is_a_usage_error_before_any_request(
    command: str, fake: FakeCekura, tmp_path: Path
) -> None:
    fake.add_result(RESULT_ID, [completed()])
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a regular file\n", encoding="utf-8")
    bad = blocker / "reports" / "junit.xml"
    out = tmp_path / "out"
    reports = ["--junit", str(bad), "--summary", str(out / "summary.md")]
    reports += ["--json", str(out / "verdict.json"), "--dotenv", str(out / "gate.env")]
    run = RUN_SECTION if command == "run" else ""
    outcome = gate(
        tmp_path,
        fake.url,
        command=command,
        policy=f"version: 1\n{FAST_WAIT}{PASS_RULES}{run}",
        reports=reports,
        limit=FAST_S + 30.0,
    )
    entry = record(f"report-dir-under-a-file-{command}", command, 2, outcome)
    assert outcome.code == 2, outcome.stderr
    assert outcome.elapsed < FAST_S
    assert "Traceback" not in outcome.stdout + outcome.stderr
    assert outcome.stdout == ""
    [line] = outcome.stderr.splitlines()  # one clear line and nothing else
    expected = f"{ERROR_PREFIX}{bad}: cannot create the report directory: Not a directory"
    assert line == expected, line
    assert fake.requests == []  # nothing reached the server, so nothing was started or billed
    assert not bad.parent.exists() and blocker.read_text("utf-8") == "a regular file\n"
    # The reports that can be written still say why there is no verdict.
    assert outcome.verdict()["verdict"] == "error" and str(bad) in outcome.verdict()["error"]
    assert outcome.dotenv()["GATE_VERDICT"] == "error"
    assert outcome.report("summary.md").startswith(SUMMARY_TITLES["error"])
    assert_no_secret(outcome)
    entry[-1] = "ok"


# --------------------------------------------------------------------------- the printed matrix


def test_zz_print_fault_matrix() -> None:
    """Last in the file: the rows run above (matrix first), for ``pytest -rP`` to show."""
    rows = {row.id: [row.command, str(row.code), "-", "-", "not run"] for row in MATRIX}
    rows.update(RESULTS)  # in run order: the matrix rows, then the extra tests
    width = max(len(key) for key in rows)
    lines = [
        f"{'row':<{width}}  cmd    want  exit  wall     outcome",
        f"{'-' * width}  -----  ----  ----  -------  -------",
    ]
    for key, (command, want, code, wall, result) in rows.items():
        lines.append(f"{key:<{width}}  {command:<5}  {want:>4}  {code:>4}  {wall:>7}  {result}")
    print("\nfault matrix (row -> exit code, wall time):\n" + "\n".join(lines))
