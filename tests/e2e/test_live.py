"""End-to-end tests of live mode: ``cekura-gate check --result-id N --api-url ...`` against
the fake Cekura server (tests/fake_cekura.py) over a real socket on 127.0.0.1.

Every run goes through ``check`` (the gate in this process, tests/e2e/harness.py ``run_gate``)
or, for the signal tests, ``spawn_check`` + ``collect`` (a real ``python -m gate`` process, the
only way to send it SIGTERM or SIGINT). Both always pass ``--verbose`` and all three report
flags and, before any test-specific assertion, check that nothing printed a traceback and that
the API key (``sk-live-SECRET-7f3a9c``) appears in none of stdout, stderr, the JUnit, Markdown
and JSON reports. So the secret check covers every case in this file; the tests under
"secrets" add servers that echo the key back.

Policies poll every 0.1 s (at most 0.5 s), which also shortens retry backoff.
"""

from __future__ import annotations

import copy
import importlib.util
import itertools
import json
import re
import signal
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import respx
from junitparser import JUnitXml

from gate.api.client import CekuraClient, build_http, resolve_settings
from tests.conftest import (
    PAYLOADS,
    in_progress,
    load_payload,
    make_result,
    make_run,
    without_findings,
)
from tests.e2e.harness import Completed, Started, finish, gate_env, run_gate, spawn
from tests.fake_cekura import FakeCekura, Fault
from tests.golden import status_of

KEY = "sk-live-SECRET-7f3a9c"
RESULT_ID = 167
RESULT = f"/test_framework/v2/results/{RESULT_ID}/"
BULK = "/test_framework/v2/runs/bulk/"
REPORTS = ("junit.xml", "summary.md", "verdict.json")
ERROR_PREFIX = "cekura-gate: error: "
WAITING_LINE = f"cekura-gate: waiting for result {RESULT_ID}: https://dashboard.cekura.ai/results/"

FAST_WAIT = "wait: {poll_interval: 0.1s, max_poll_interval: 0.5s, timeout: 20s}\n"
PASS_POLICY = (
    f"version: 1\n{FAST_WAIT}rules:\n  success_rate: {{min: 50}}\n  runs: {{min_total: 2}}\n"
)
FINDINGS_POLICY = (
    f"version: 1\n{FAST_WAIT}rules:\n  critical_categories: {{max: {{critical: 0}}}}\n"
)

SUMMARY_PASS = "## :white_check_mark: Cekura gate passed"
SUMMARY_FAIL = "## :x: Cekura gate failed"
SUMMARY_ERROR = "## :no_entry: Cekura gate: no verdict"


# --------------------------------------------------------------------------- payloads


def completed() -> dict[str, Any]:
    """Result 167, completed: 2 runs, 1 failed (success rate 50%), findings on run 273."""
    return load_payload("result_completed_mixed.json")


def runs_bulk(*ids: int) -> list[dict[str, Any]]:
    """The runs-bulk reference entries for ``ids`` (all of them if none are named)."""
    runs: list[dict[str, Any]] = json.loads((PAYLOADS / "runs_bulk.json").read_text("utf-8"))
    return [run for run in runs if not ids or run["id"] in ids]


# --------------------------------------------------------------------------- running the gate


@dataclass
class Outcome:
    """One finished ``cekura-gate`` process and the reports it left in ``out``."""

    code: int
    stdout: str
    stderr: str
    elapsed: float
    out: Path

    def report(self, name: str) -> str:
        return (self.out / name).read_text(encoding="utf-8")

    def verdict(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.report("verdict.json"))
        return document

    def cases(self) -> list[tuple[str, str, str]]:
        """``(name, kind, message)`` per JUnit testcase; kind is passed/failure/error."""
        suites = JUnitXml.fromfile(str(self.out / "junit.xml"))
        return [(case.name, *status_of(case)) for suite in suites for case in suite]

    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith(ERROR_PREFIX)]

    def status_lines(self) -> list[str]:
        return re.findall(r"^cekura-gate: \[\d+m\d\ds\] status (\S+?),?(?: |$)", self.stderr, re.M)


@pytest.fixture
def api_key() -> str:
    return KEY


def gate_args(tmp_path: Path, api_url: str, *extra: str, policy: str, result_id: int) -> list[str]:
    """``check --result-id`` with --verbose and every report flag; writes the policy."""
    policy_path = tmp_path / "gate.yaml"
    policy_path.write_text(policy, encoding="utf-8")
    out = tmp_path / "out"
    return [
        "check",
        "--policy",
        str(policy_path),
        "--result-id",
        str(result_id),
        "--api-url",
        api_url,
        "--verbose",
        *(
            item
            for flag, name in zip(("--junit", "--summary", "--json"), REPORTS, strict=True)
            for item in (flag, str(out / name))
        ),
        *extra,
    ]


def spawn_check(
    tmp_path: Path,
    api_url: str,
    *extra: str,
    policy: str = PASS_POLICY,
    result_id: int = RESULT_ID,
    env: dict[str, str] | None = None,
) -> Started:
    """The gate as a real process (for the signal tests)."""
    args = gate_args(tmp_path, api_url, *extra, policy=policy, result_id=result_id)
    return spawn(args, env=gate_env(KEY) if env is None else env)


def outcome_of(done: Completed, out: Path) -> Outcome:
    """The checks every run gets, then the outcome."""
    outcome = Outcome(done.code, done.stdout, done.stderr, done.elapsed, out)
    assert_clean(outcome)
    return outcome


def collect(started: Started, out: Path, *, limit: float = 60.0) -> Outcome:
    """Wait (at most ``limit`` seconds) for the process; then the checks every run gets."""
    return outcome_of(finish(started, limit=limit), out)


def check(
    tmp_path: Path,
    api_url: str,
    *extra: str,
    policy: str = PASS_POLICY,
    result_id: int = RESULT_ID,
    env: dict[str, str] | None = None,
    limit: float = 60.0,
) -> Outcome:
    """The gate run in this process; then the checks every run gets."""
    args = gate_args(tmp_path, api_url, *extra, policy=policy, result_id=result_id)
    done = run_gate(args, env=gate_env(KEY) if env is None else env, limit=limit)
    return outcome_of(done, tmp_path / "out")


def assert_clean(outcome: Outcome, secret: str = KEY) -> None:
    """No traceback, and the key in none of stdout, stderr and the reports written."""
    assert "Traceback" not in outcome.stdout + outcome.stderr, outcome.stderr
    assert secret not in outcome.stdout, "API key on stdout"
    assert secret not in outcome.stderr, "API key on stderr"
    for name in REPORTS:
        path = outcome.out / name
        if path.exists():
            assert secret not in path.read_text(encoding="utf-8"), f"API key in {name}"


def assert_passed(outcome: Outcome) -> None:
    assert outcome.code == 0, outcome.stderr
    assert outcome.stdout.startswith(f"cekura-gate: PASSED result {RESULT_ID}")
    assert not outcome.error_lines()
    assert outcome.verdict()["verdict"] == "pass"
    assert {kind for _, kind, _ in outcome.cases()} <= {"passed", "skipped"}  # tolerated run
    assert outcome.report("summary.md").startswith(SUMMARY_PASS)


def assert_no_verdict(outcome: Outcome, fragment: str, code: int = 3) -> None:
    """One error line naming ``fragment``, and every report says there is no verdict."""
    assert outcome.code == code, outcome.stderr
    [line] = outcome.error_lines()
    assert fragment in line, line
    [(name, kind, message)] = outcome.cases()
    assert (name, kind) == ("verdict", "error") and fragment in message, message
    document = outcome.verdict()
    assert document["verdict"] == "error" and fragment in document["error"]
    summary = re.sub(r"\\(.)", r"\1", outcome.report("summary.md"))  # Markdown escapes
    assert summary.startswith(SUMMARY_ERROR) and fragment in summary


def bulk_queries(fake: FakeCekura) -> list[str]:
    return [unquote(request.raw_query) for request in fake.requests_to(BULK)]


def times_between(requests: list[Any]) -> list[float]:
    return [later.at - earlier.at for earlier, later in itertools.pairwise(requests)]


# --------------------------------------------------------------------------- 1-3: waiting


@pytest.mark.slow
def test_result_that_finishes_passes_with_one_line_per_status_change(tmp_path, fake):
    fake.add_result(
        RESULT_ID,
        [
            in_progress("pending"),
            in_progress("pending"),
            in_progress("running"),
            in_progress("running", done=1),
            in_progress("evaluating", done=2),
            in_progress("evaluating", done=2),
            completed(),
        ],
    )
    outcome = check(tmp_path, fake.url)
    assert_passed(outcome)
    lines = outcome.stderr.splitlines()
    assert lines[0] == f"{WAITING_LINE}{RESULT_ID}"  # the dashboard link comes first
    assert outcome.status_lines() == ["pending", "running", "evaluating", "completed"]
    assert "still " not in outcome.stderr
    assert len(fake.requests_to(RESULT)) == 7  # one GET per poll, then no more
    assert not fake.unauthorised_requests()
    assert outcome.verdict()["result"]["status"] == "completed"


def test_result_that_ends_failed_fails_the_gate(tmp_path, fake):
    # Cekura's reference infrastructure failure: its one call never connected
    failed = load_payload("result_failed_infra.json")
    running = copy.deepcopy(failed) | {"status": "running"}
    fake.add_result(77, [running, failed])
    outcome = check(tmp_path, fake.url, result_id=77)
    assert outcome.code == 4, outcome.stderr  # failed, and only because of infrastructure
    assert outcome.stdout.startswith("cekura-gate: FAILED result 77")
    assert outcome.status_lines() == ["running", "failed"]
    assert not outcome.error_lines()
    failures = {name: message for name, kind, message in outcome.cases() if kind == "failure"}
    assert failures["Result status"] == "the result ended with status 'failed'"
    assert outcome.verdict()["verdict"] == "fail"
    assert outcome.report("summary.md").startswith(SUMMARY_FAIL)


@pytest.mark.slow
def test_result_that_never_finishes_times_out_with_the_last_status(tmp_path, fake):
    fake.add_result(RESULT_ID, [in_progress("pending"), in_progress("running")])
    outcome = check(tmp_path, fake.url, "--timeout", "2s")
    assert_no_verdict(outcome, "last status 'running'")
    assert "not finished after 0m02s" in outcome.error_lines()[0]
    assert 2.0 <= outcome.elapsed < 2.0 + 5.0
    assert fake.requests_to(RESULT)[-1].at - fake.requests[0].at <= 2.5  # no poll past it


@pytest.mark.slow
def test_stalled_response_does_not_keep_the_gate_past_its_timeout(tmp_path, fake):
    stall = Fault(status=200, body=json.dumps(in_progress("running")), delay_s=120)
    fake.add_result(RESULT_ID, [in_progress("running"), stall])
    outcome = check(tmp_path, fake.url, "--timeout", "1s", limit=1.0 + 5.0)
    assert outcome.code == 3
    assert outcome.elapsed < 1.0 + 5.0
    assert outcome.verdict()["verdict"] == "error"


# --------------------------------------------------------------------------- 4-6: retries


@pytest.mark.slow
def test_503_three_times_then_success_passes(tmp_path, fake):
    fake.add_result(RESULT_ID, [completed()])
    fake.fail_next(RESULT, Fault(status=503, body='{"detail": "Service Unavailable"}'), times=3)
    outcome = check(tmp_path, fake.url)
    assert_passed(outcome)
    assert len(fake.requests_to(RESULT)) == 4
    assert outcome.stderr.count("HTTP 503; retrying in") == 3
    assert "(attempt 4 of 7)" in outcome.stderr


@pytest.mark.slow
def test_429_retry_after_is_honoured(tmp_path, fake):
    fake.add_result(RESULT_ID, [completed()])
    fake.fail_next(RESULT, Fault(status=429, headers={"Retry-After": "1"}))
    outcome = check(tmp_path, fake.url)
    assert_passed(outcome)
    requests = fake.requests_to(RESULT)
    assert len(requests) == 2
    assert times_between(requests)[0] >= 1.0  # not one request before Retry-After elapsed
    assert "HTTP 429; retrying in 1.0s" in outcome.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("fault", "logged"),
    [
        pytest.param(
            Fault(status=200, body=json.dumps(completed()), truncate=True),
            "HTTP 200 with a body that is not JSON",
            id="truncated-json",
        ),
        pytest.param(
            Fault(
                status=502,
                body="<html><head><title>502 Bad Gateway</title></head>"
                "<body><h1>502 Bad Gateway</h1><hr>nginx</body></html>",
                content_type="text/html",
            ),
            "HTTP 502",
            id="html-502",
        ),
        pytest.param(Fault(drop_connection=True), "network error", id="dropped-connection"),
    ],
)
def test_unreadable_answers_are_retried_then_pass(tmp_path, fake, fault, logged):
    fake.add_result(RESULT_ID, [completed()])
    fake.fail_next(RESULT, fault, times=2)
    outcome = check(tmp_path, fake.url)
    assert_passed(outcome)
    assert len(fake.requests_to(RESULT)) == 3
    assert outcome.stderr.count(logged) >= 2
    assert "<html" not in outcome.stderr + outcome.stdout  # the page itself is never shown


# --------------------------------------------------------------------------- 7: fail fast


def test_rejected_key_fails_fast_with_one_request(tmp_path):
    with FakeCekura(api_key="sk-live-the-key-the-server-expects") as server:
        server.add_result(RESULT_ID, [completed()])
        outcome = check(tmp_path, server.url)
        assert len(server.requests) == 1
        assert server.requests[0].headers["x-cekura-api-key"] == KEY  # it was sent, not shown
    assert_no_verdict(outcome, "the API key was rejected (HTTP 401)")


def test_forbidden_fails_fast_with_one_request(tmp_path, fake):
    fake.add_result(RESULT_ID, [completed()])
    fake.fail_next(RESULT, Fault(status=403, body='{"detail": "forbidden"}'))
    outcome = check(tmp_path, fake.url)
    assert_no_verdict(outcome, "the API key was rejected (HTTP 403)")
    assert len(fake.requests) == 1


def test_unknown_result_fails_fast_with_one_request(tmp_path, fake):
    outcome = check(tmp_path, fake.url, result_id=999)
    assert outcome.code == 3
    [line] = outcome.error_lines()
    assert "result 999 not found" in line
    [(_, kind, message)] = outcome.cases()
    assert kind == "error" and "result 999 not found" in message
    assert outcome.verdict()["error"].startswith("result 999 not found")
    assert len(fake.requests) == 1
    assert not fake.unauthorised_requests()


@pytest.mark.parametrize(
    ("flags", "env", "variable"),
    [
        pytest.param([], {}, "CEKURA_API_KEY", id="default-variable-unset"),
        pytest.param(
            ["--api-key-env", "CI_VOICE_KEY"],
            {"CEKURA_API_KEY": KEY},  # set, but not the variable the gate was told to read
            "CI_VOICE_KEY",
            id="named-variable-unset",
        ),
    ],
)
def test_missing_key_is_a_usage_error_before_any_request(tmp_path, fake, flags, env, variable):
    fake.add_result(RESULT_ID, [completed()])
    outcome = check(tmp_path, fake.url, *flags, env=gate_env(None, **env))
    assert_no_verdict(outcome, f"no API key: set the {variable} environment variable", code=2)
    assert fake.requests == []


# --------------------------------------------------------------------------- 8: signals


@pytest.mark.slow
@pytest.mark.parametrize("stalled", [False, True], ids=["between-polls", "in-a-request"])
def test_sigterm_mid_wait_exits_143_with_a_terminated_junit(tmp_path, fake, stalled):
    steps: list[Any] = [in_progress("running")]
    if stalled:
        steps.append(Fault(status=200, body=json.dumps(in_progress("running")), delay_s=60))
    fake.add_result(RESULT_ID, steps)
    started = spawn_check(tmp_path, fake.url)
    assert fake.wait_for_requests(len(steps), timeout=10.0), "the gate sent no request"
    time.sleep(0.05)
    started.proc.send_signal(signal.SIGTERM)
    outcome = collect(started, tmp_path / "out", limit=10.0)
    assert_no_verdict(outcome, "the gate was terminated (SIGTERM)", code=143)


@pytest.mark.slow
def test_sigterm_during_a_concurrent_run_details_fetch_exits_promptly(tmp_path, fake):
    runs = [make_run(run_id) for run_id in range(1, 121)]  # 3 chunks: fetched concurrently
    for run in runs:
        del run["critical_categories"]
    fake.add_result(RESULT_ID, [make_result(runs, id=RESULT_ID)])
    fake.fail_next(BULK, Fault(status=200, body="[]", delay_s=60), times=3)  # all stall
    started = spawn_check(tmp_path, fake.url, policy=FINDINGS_POLICY)
    assert fake.wait_for_requests(3, path=BULK, timeout=10.0), "no concurrent bulk requests"
    time.sleep(0.05)
    started.proc.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    outcome = collect(started, tmp_path / "out", limit=signalled - started.started + 3.0)
    assert_no_verdict(outcome, "the gate was terminated (SIGTERM)", code=143)
    assert outcome.stderr.splitlines()[-1].startswith(ERROR_PREFIX)  # nothing logged after it


@pytest.mark.slow
def test_sigint_mid_wait_exits_130(tmp_path, fake):
    fake.add_result(RESULT_ID, [in_progress("running")])
    started = spawn_check(tmp_path, fake.url)
    assert fake.wait_for_requests(1, timeout=10.0), "the gate sent no request"
    time.sleep(0.05)
    started.proc.send_signal(signal.SIGINT)
    outcome = collect(started, tmp_path / "out", limit=10.0)
    assert outcome.error_lines() == [f"{ERROR_PREFIX}interrupted"]
    assert_no_verdict(outcome, "interrupted", code=130)
    assert "the gate was interrupted" in outcome.verdict()["error"]


# --------------------------------------------------------------------------- 9: run details


def test_missing_findings_are_fetched_from_runs_bulk_and_fail_the_gate(tmp_path, fake):
    fake.add_result(RESULT_ID, [in_progress("running"), without_findings(completed())])
    fake.add_runs(runs_bulk())
    outcome = check(tmp_path, fake.url, policy=FINDINGS_POLICY)
    assert outcome.code == 1, outcome.stderr
    assert "fetching details of 2 runs" in outcome.stderr
    [bulk] = fake.requests_to(BULK)
    # One parameter holding a comma-separated list (httpx sends the commas as %2C, which
    # any server decodes), not run_ids=273&run_ids=274 nor run_ids[]=...
    assert unquote(bulk.raw_query) == "run_ids=273,274"
    assert bulk.query == {"run_ids": ["273,274"]}
    [found] = [
        c for c in outcome.verdict()["checks"] if c["key"] == "critical_categories.max.critical"
    ]
    assert (found["outcome"], found["actual"], found["run_ids"]) == ("fail", "1", [273])
    failures = {name for name, kind, _ in outcome.cases() if kind == "failure"}
    assert "Critical categories: critical" in failures
    assert outcome.report("summary.md").startswith(SUMMARY_FAIL)
    assert not fake.unauthorised_requests()


def test_run_details_missing_from_the_first_bulk_answer_are_asked_for_again(tmp_path, fake):
    fake.add_result(RESULT_ID, [without_findings(completed())])
    fake.add_runs(runs_bulk())
    # A bulk read racing the last evaluation: run 273 is not there yet the first time.
    fake.fail_next(BULK, Fault(status=200, body=json.dumps(runs_bulk(274))))
    outcome = check(tmp_path, fake.url, policy=FINDINGS_POLICY)
    assert outcome.code == 1, outcome.stderr
    assert bulk_queries(fake) == ["run_ids=273,274", "run_ids=273"]
    [found] = [
        c for c in outcome.verdict()["checks"] if c["key"] == "critical_categories.max.critical"
    ]
    assert found["actual"] == "1"


def test_run_details_the_bulk_endpoint_never_returns_give_no_verdict(tmp_path, fake):
    fake.add_result(RESULT_ID, [without_findings(completed())])
    fake.add_runs(runs_bulk(274))  # run 273, the one with a critical finding, is never served
    outcome = check(tmp_path, fake.url, policy=FINDINGS_POLICY)
    assert_no_verdict(outcome, "runs-bulk did not return runs 273")
    assert "274" not in outcome.error_lines()[0]
    assert bulk_queries(fake) == ["run_ids=273,274", "run_ids=273"]


# --------------------------------------------------------------------------- 10: plain http


@pytest.mark.slow
@pytest.mark.parametrize("allowed", [False, True], ids=["refused", "allowed-by-flag"])
def test_plain_http_to_another_host_is_refused_before_any_connection(tmp_path, fake, allowed):
    """The fake doubles as the HTTP proxy for example.invalid: any connection reaches it.

    With --allow-insecure-http the request does arrive (so the probe works); without it,
    nothing does. A real process: respx, which guards this test process, cannot pass a
    proxied request through.
    """
    fake.add_result(RESULT_ID, [completed()])
    env = gate_env(KEY, HTTP_PROXY=fake.url, http_proxy=fake.url, NO_PROXY="", no_proxy="")
    flags = ["--allow-insecure-http"] if allowed else []
    started = spawn_check(tmp_path, "http://example.invalid", *flags, env=env)
    outcome = collect(started, tmp_path / "out")
    if allowed:
        assert_passed(outcome)
        assert len(fake.requests_to(RESULT)) == 1
        return
    assert_no_verdict(
        outcome, "refusing to send the API key over plain http to example.invalid", code=2
    )
    assert "--allow-insecure-http" in outcome.error_lines()[0]
    assert fake.requests == []
    assert outcome.elapsed < 5.0
    assert "GET " not in outcome.stderr


# --------------------------------------------------------------------------- 11: secrets


@pytest.mark.parametrize(
    "env_key", [KEY, f"{KEY}\n", f"  {KEY} "], ids=["plain", "newline", "spaces"]
)
def test_key_echoed_in_an_error_body_is_redacted_everywhere(tmp_path, fake, env_key):
    fake.add_result(RESULT_ID, [completed()])
    fake.fail_next(RESULT, Fault(status=400, echo_headers=True))
    outcome = check(tmp_path, fake.url, env=gate_env(env_key))  # assert_clean: no KEY
    assert_no_verdict(outcome, "unexpected HTTP 400")
    assert '"x-cekura-api-key": "[redacted]"' in outcome.error_lines()[0]  # shown, minus the key
    assert not fake.unauthorised_requests()  # the key the server saw is the stripped one


@pytest.mark.slow
def test_key_echoed_in_retried_errors_never_shows(tmp_path, fake):
    fake.add_result(RESULT_ID, [completed()])
    fake.fail_next(RESULT, Fault(status=503, echo_headers=True), times=2)
    fake.fail_next(RESULT, Fault(status=429, echo_headers=True, headers={"Retry-After": "0"}))
    outcome = check(tmp_path, fake.url)
    assert_passed(outcome)
    assert len(fake.requests_to(RESULT)) == 4


def test_blank_key_is_a_usage_error_and_the_reports_stay_intact(tmp_path, fake):
    fake.add_result(RESULT_ID, [completed()])
    outcome = check(tmp_path, fake.url, env=gate_env("  "))
    assert "[redacted]" not in outcome.report("verdict.json")
    assert_no_verdict(outcome, "no API key: set the CEKURA_API_KEY environment variable", code=2)
    assert fake.requests == []


@pytest.mark.parametrize(
    "env_key",
    [
        pytest.param(KEY, id="plain"),
        pytest.param(f"{KEY}\n", id="newline"),
        pytest.param(f" {KEY} ", id="spaces"),
    ],
)
def test_key_echoed_into_the_result_is_redacted_from_output_and_reports(tmp_path, fake, env_key):
    """A server (or proxy) that puts the key in the result itself: the gate still hides it."""
    echoing = completed() | {"name": f"Nightly run by {KEY}"}
    fake.add_result(RESULT_ID, [echoing])
    outcome = check(tmp_path, fake.url, env=gate_env(env_key))  # assert_clean: no KEY
    assert_passed(outcome)
    assert outcome.verdict()["result"]["name"] == "Nightly run by [redacted]"


@pytest.mark.parametrize("quote", [urllib.parse.quote, urllib.parse.quote_plus, str.lower])
def test_key_echoed_percent_encoded_is_redacted_everywhere(tmp_path, quote):
    """A key with URL-reserved characters echoed in a URL's query (``?key=AbCd%2FEf...``)."""
    key = "AbCd/EfGh+IjKl=MnOp 12".replace(" ", "")
    encoded = urllib.parse.quote(key, safe="")
    if quote is str.lower:  # lower-case hex digits
        echoed = re.sub(r"%[0-9A-F]{2}", lambda hexed: hexed.group(0).lower(), encoded)
    else:
        echoed = quote(key, safe="")
    run = make_run(1, success=False) | {"error_message": f"GET /hook?key={echoed} failed"}
    with FakeCekura(api_key=key) as server:
        server.add_result(RESULT_ID, [completed() | {"runs": [run], "name": echoed}])
        outcome = check(tmp_path, server.url, env=gate_env(key))
    shown = outcome.stdout + outcome.stderr + "".join(outcome.report(name) for name in REPORTS)
    assert echoed not in shown
    assert outcome.verdict()["result"]["name"] == "[redacted]"


def test_key_cut_by_the_error_excerpt_is_not_shown_in_part(tmp_path, fake):
    """The error-body excerpt is cut at 200 characters: a key straddling the cut must not
    show in part (redact first, then cut)."""
    body = "x" * 190 + KEY + " trailing text"  # the excerpt ends 10 characters into the key
    fake.add_result(RESULT_ID, [completed()])
    fake.fail_next(RESULT, Fault(status=418, body=body, content_type="text/plain"))
    outcome = check(tmp_path, fake.url)
    assert outcome.code == 3
    shown = outcome.stdout + outcome.stderr + "".join(outcome.report(name) for name in REPORTS)
    assert KEY[:10] not in shown


def test_key_with_markdown_characters_echoed_into_the_result_is_redacted(tmp_path):
    key = "sk_live_SECRET_7f3a9c"
    with FakeCekura(api_key=key) as server:
        server.add_result(RESULT_ID, [completed() | {"name": f"Nightly run by {key}"}])
        outcome = check(tmp_path, server.url, env=gate_env(key))
    assert_passed(outcome)
    assert_clean(outcome, key)
    assert "SECRET" not in outcome.report("summary.md")  # nor its Markdown-escaped form


@pytest.mark.parametrize(
    ("env_key", "shown"),
    [
        pytest.param("test", (), id="a-word"),
        pytest.param("pass", (), id="a-verdict"),
        pytest.param("1", (), id="a-digit"),
        pytest.param(f"{KEY[:8]}\r\n{KEY[8:]}", (KEY[:8], KEY[8:]), id="cr-lf"),
        pytest.param(f"{KEY[:8]}ü{KEY[8:]}", ("ü", KEY[:8], KEY[8:]), id="non-ascii"),
    ],
)
def test_a_key_that_cannot_be_a_key_is_refused_before_any_request(tmp_path, fake, env_key, shown):
    """Exit 2 at once, naming the variable; every report still parses and says why; no
    part of the key shows (nor where in it the problem is)."""
    fake.add_result(RESULT_ID, [completed()])
    outcome = check(tmp_path, fake.url, env=gate_env(env_key))
    assert_no_verdict(outcome, "CEKURA_API_KEY environment variable does not hold an API key", 2)
    assert fake.requests == []
    printed = outcome.stdout + outcome.stderr + "".join(map(outcome.report, REPORTS))
    assert not [part for part in shown if part in printed]
    assert "position" not in printed and "[redacted]" not in printed


# Keys (valid ones) that are also pieces of the reports' own structure, echoed by the server.
STRUCTURAL_KEYS = [
    '"schema_version":',
    'classname="cekura-gate.metrics">',
    'name="result_status"',
    'value="completed"',
    ":white_check_mark:",
]


@pytest.mark.parametrize("key", STRUCTURAL_KEYS)
def test_a_key_that_collides_with_report_structure_never_breaks_a_report(tmp_path, key):
    """Whatever the key, every report parses and the verdict reads as it should, while the
    key echoed into the result is still redacted from what the result says."""
    with FakeCekura(api_key=key) as server:
        server.add_result(RESULT_ID, [completed() | {"name": f"Nightly run by {key}"}])
        outcome = check(tmp_path, server.url, env=gate_env(key))
        assert not server.unauthorised_requests()
    assert_passed(outcome)  # JUnit and JSON parse; the summary's first line is intact
    assert outcome.verdict()["result"]["name"] == "Nightly run by [redacted]"
    assert outcome.verdict()["schema_version"] == 3
    assert f"run by {key}" not in outcome.stdout + outcome.stderr


@pytest.mark.parametrize(
    ("variables", "fragments"),
    [
        pytest.param(
            {"HTTP_PROXY": "http://proxy.invalid:3128"},
            ("HTTP_PROXY", "proxy.invalid", "--allow-insecure-http"),
            id="plain-http-through-a-proxy-elsewhere",
        ),
        pytest.param(
            {"http_proxy": "ftp://user:hunter2@proxy.invalid:21"},
            ("http_proxy", "'ftp' is not supported"),
            id="unsupported-scheme",
        ),
        pytest.param(
            {"ALL_PROXY": "socks5://user:hunter2@127.0.0.1:1080"},
            ("ALL_PROXY", "socksio"),
            id="socks-without-socksio",
            marks=pytest.mark.skipif(
                importlib.util.find_spec("socksio") is not None, reason="socksio is installed"
            ),
        ),
    ],
)
def test_a_proxy_that_cannot_be_used_is_refused_before_any_connection(
    tmp_path, fake, variables, fragments
):
    """Refused before any connection (the proxy's name is not even looked up), naming the
    variable and never its password."""
    fake.add_result(RESULT_ID, [completed()])
    outcome = check(tmp_path, fake.url, env=gate_env(KEY, NO_PROXY="", no_proxy="", **variables))
    assert_no_verdict(outcome, fragments[0], code=2)
    assert all(fragment in outcome.error_lines()[0] for fragment in fragments)
    assert "hunter2" not in outcome.stdout + outcome.stderr
    assert fake.requests == []
    assert "GET " not in outcome.stderr


# --------------------------------------------------------------------------- 12: API flavours


def test_api_version_1_and_a_custom_auth_header(tmp_path):
    with FakeCekura(api_key=KEY, auth_header="X-VOCERA-API-KEY") as server:
        server.add_result(RESULT_ID, [in_progress("running"), completed()])
        outcome = check(
            tmp_path, server.url, "--api-version", "1", "--auth-header", "X-VOCERA-API-KEY"
        )
        assert_passed(outcome)
        assert {request.path for request in server.requests} == {
            f"/test_framework/v1/results/{RESULT_ID}/"
        }
        assert not server.unauthorised_requests()
        assert all("x-cekura-api-key" not in request.headers for request in server.requests)


def test_default_auth_header_is_rejected_by_a_server_expecting_another(tmp_path):
    with FakeCekura(api_key=KEY, auth_header="X-VOCERA-API-KEY") as server:
        server.add_result(RESULT_ID, [completed()])
        outcome = check(tmp_path, server.url, "--api-version", "1")
        assert len(server.requests) == 1
    assert_no_verdict(outcome, "the API key was rejected (HTTP 401)")


# --------------------------------------------------------------------------- 13: measurement


@pytest.mark.slow
def test_measure_run_details_of_5000_runs_concurrent_vs_sequential(no_network: respx.MockRouter):
    """5,000 runs in chunks of 50 with 20 ms of server latency per request: 8 at a time must be
    at least 3x faster than one at a time. Prints both times (pytest -s shows them)."""
    no_network.route(host="127.0.0.1").pass_through()
    ids = list(range(100_001, 105_001))
    with FakeCekura(api_key=KEY) as server:
        server.add_runs(
            [{"id": run_id, "result_id": RESULT_ID, "critical_categories": []} for run_id in ids]
        )
        server.latency_s = 0.02
        settings = resolve_settings(api_url=server.url, api_key=KEY, key_source="the test")
        timings: dict[int, float] = {}
        with build_http(settings) as http:
            client = CekuraClient(http, settings)
            for concurrency in (1, 8):
                started = time.perf_counter()
                runs = client.get_runs(ids, concurrency=concurrency)
                timings[concurrency] = time.perf_counter() - started
                assert sorted(run["id"] for run in runs) == ids
        assert len(server.requests_to(BULK)) == 2 * 100
        assert not server.unauthorised_requests()
    print(
        f"\nrun details of 5,000 runs (100 requests, 20 ms latency): "
        f"concurrency 1: {timings[1]:.2f}s, concurrency 8: {timings[8]:.2f}s "
        f"({timings[1] / timings[8]:.1f}x)"
    )
    assert timings[1] >= 3 * timings[8]
