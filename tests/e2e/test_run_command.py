"""End-to-end tests of ``cekura-gate run``: the gate starts a run on the fake Cekura server
(tests/fake_cekura.py) over a real socket on 127.0.0.1, waits for the result and gates it.

Every run goes through ``gate`` (the gate in this process, tests/e2e/harness.py ``run_gate``)
or, where a signal is sent, ``spawn_run`` + ``finish`` (a real ``python -m gate`` process); both
always pass ``--verbose`` and all four report flags and, before any test-specific assertion,
check that nothing printed a traceback and that the API key (``sk-run-SECRET-55aa``) appears
in none of stdout (bar GitHub's own ``::add-mask::`` line, which must come first), stderr, the
JUnit, Markdown, JSON and dotenv reports, ``$GITHUB_OUTPUT`` and the step summary. So the
secret check covers every case in this file.

What is checked: the trigger request (endpoint and exact body) for each selector, mode and
option, flags over the policy, the CI label in the name; no second POST after a failure that
may have reached the server (exit 3 with a hint to look for the run's label), retries only for
a connection refused; re-attaching with ``--result-id``; ``end_calls`` once on a timeout,
SIGTERM or SIGINT (none with ``--no-end-calls``); share links; the result id recorded in the
GitHub outputs and the dotenv report before the wait ends; invalid ``run:`` sections.

The trigger's read timeout (``TRIGGER_READ_TIMEOUT_S``, 120 s) cannot be shortened from the
command line or the policy, so it is tested with the constant patched (the gate runs in this
process), and a connection dropped after the request was read stands in for it elsewhere.

Policies poll every 0.05 s (at most 0.2 s), which also shortens retry backoff.
"""

from __future__ import annotations

import datetime
import json
import re
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from gate.api import client as gate_client
from tests.conftest import DATA, load_payload, run_cli
from tests.e2e import harness
from tests.e2e.harness import Completed, gate_env, parse_dotenv, run_gate
from tests.fake_cekura import FakeCekura, Fault, Recorded

KEY = "sk-run-SECRET-55aa"
RESULT_ID = 167
VOICE = "/test_framework/v1/scenarios/run_scenarios/"
TEXT = "/test_framework/v1/scenarios/run_scenarios_text/"
RESULT = f"/test_framework/v2/results/{RESULT_ID}/"
END_CALLS = f"/test_framework/v1/results/{RESULT_ID}/end_calls/"
SHARE = f"/test_framework/v1/results/{RESULT_ID}/create_shareable_link_token/"
LINK = f"https://dashboard.example/share/result/{RESULT_ID}/t0ken"  # the fake's link
DASHBOARD = f"https://dashboard.cekura.ai/results/{RESULT_ID}"
ERROR_PREFIX = "cekura-gate: error: "
SUMMARY_PASS = "## :white_check_mark: Cekura gate passed"
SUMMARY_ERROR = "## :no_entry: Cekura gate: no verdict"
INVALID = DATA / "run" / "invalid"

FAST_WAIT = "wait: {poll_interval: 0.05s, max_poll_interval: 0.2s, timeout: 20s}\n"
PASS_RULES = "rules:\n  success_rate: {min: 50}\n  runs: {min_total: 2}\n"
FAIL_RULES = "rules:\n  success_rate: {min: 90}\n"
RELEASE_RUN = "run:\n  agent_id: 12\n  scenario_ids: [101, 202]\n  name: release check\n"
RELEASE_BODY = {"agent_id": 12, "scenarios": [101, 202], "name": "release check"}
REPORT_FLAGS = (
    ("--junit", "junit.xml"),
    ("--summary", "summary.md"),
    ("--json", "verdict.json"),
    ("--dotenv", "gate.env"),
)


def may_have_started(name: str = "release check") -> str:
    return (
        f"The run may have started (and be billed): look for a result named '{name}' in the "
        "Cekura dashboard before running this again, and gate it with --result-id"
    )


def policy(run: str | None = RELEASE_RUN, rules: str = PASS_RULES) -> str:
    return f"version: 1\n{FAST_WAIT}{rules}{run or ''}"


def completed() -> dict[str, Any]:
    """Result 167, completed: 2 runs, 1 failed (success rate 50%)."""
    return load_payload("result_completed_mixed.json")


def running() -> dict[str, Any]:
    return load_payload("result_running.json")


def stalled() -> Fault:
    """A poll the server answers only after 60 s (or when it stops)."""
    return Fault(status=200, body=json.dumps(running()), delay_s=60)


# --------------------------------------------------------------------------- running the gate


def parse_outputs(text: str) -> list[tuple[str, str]]:
    """``$GITHUB_OUTPUT`` (heredoc form only, as the gate writes it), in order."""
    pairs = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        name, delimiter = lines[index].split("<<", 1)
        end = lines.index(delimiter, index + 1)
        pairs.append((name, "\n".join(lines[index + 1 : end])))
        index = end + 1
    return pairs


@dataclass
class Outcome:
    """One finished ``cekura-gate run`` and the files it left in ``work``."""

    code: int
    stdout: str
    stderr: str
    elapsed: float
    work: Path
    github: bool

    def file(self, name: str) -> str:
        path = self.work / name
        return path.read_text(encoding="utf-8") if path.exists() else ""

    def verdict(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.file("out/verdict.json"))
        return document

    def dotenv(self) -> dict[str, str]:
        return parse_dotenv(self.file("out/gate.env"))

    def outputs(self) -> list[tuple[str, str]]:
        return parse_outputs(self.file("github_output"))

    def output(self, name: str) -> str:
        """The step output as the runner sees it: the last value written wins."""
        return dict(self.outputs())[name]

    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith(ERROR_PREFIX)]

    def log(self) -> str:
        """Progress lines: on stdout in CI (inside the log group), else on stderr."""
        return self.stdout + self.stderr


@dataclass
class Started:
    process: harness.Started
    work: Path
    github: bool

    @property
    def proc(self) -> subprocess.Popen[str]:
        return self.process.proc


@pytest.fixture
def api_key() -> str:
    return KEY


def env_for(work: Path, *, github: bool = False, **extra: str) -> dict[str, str]:
    """The harness's clean environment with the key, and a GitHub runner's variables if asked."""
    env = gate_env(KEY)
    if github:
        env.update(
            {
                "GITHUB_ACTIONS": "true",
                "GITHUB_OUTPUT": str(work / "github_output"),
                "GITHUB_STEP_SUMMARY": str(work / "step_summary.md"),
                "GITHUB_WORKSPACE": str(work),
            }
        )
    env.update(extra)
    return env


def run_args(work: Path, api_url: str, *args: str, policy_text: str | None) -> list[str]:
    """``run`` with --verbose and every report flag; writes the policy."""
    policy_path = work / "gate.yaml"
    policy_path.write_text(policy() if policy_text is None else policy_text, encoding="utf-8")
    reports = [item for flag, name in REPORT_FLAGS for item in (flag, str(work / "out" / name))]
    return ["run", "--policy", str(policy_path), "--api-url", api_url, "--verbose", *reports, *args]


def spawn_run(
    work: Path,
    api_url: str,
    *args: str,
    policy_text: str | None = None,
    github: bool = False,
    env: dict[str, str] | None = None,
) -> Started:
    """Start ``cekura-gate run`` as a real process (to signal it)."""
    argv = run_args(work, api_url, *args, policy_text=policy_text)
    started = harness.spawn(argv, env=env_for(work, github=github, **(env or {})))
    return Started(started, work, github)


def outcome_of(done: Completed, work: Path, github: bool) -> Outcome:
    """The checks every run gets, then the outcome."""
    outcome = Outcome(done.code, done.stdout, done.stderr, done.elapsed, work, github)
    assert_clean(outcome)
    return outcome


def finish(started: Started, *, limit: float = 30.0) -> Outcome:
    """Wait (at most ``limit`` seconds) for the process; then the checks every run gets."""
    done = harness.finish(started.process, limit=limit)
    return outcome_of(done, started.work, started.github)


def gate(
    work: Path,
    api_url: str,
    *args: str,
    policy_text: str | None = None,
    github: bool = False,
    env: dict[str, str] | None = None,
) -> Outcome:
    """``cekura-gate run`` in this process; then the checks every run gets."""
    argv = run_args(work, api_url, *args, policy_text=policy_text)
    done = run_gate(argv, env=env_for(work, github=github, **(env or {})), limit=30.0)
    return outcome_of(done, work, github)


def signal_when(
    started: Started, fake: FakeCekura, signum: int, *, requests: int, path: str
) -> Outcome:
    """Send ``signum`` once ``requests`` requests to ``path`` have arrived."""
    assert fake.wait_for_requests(requests, path=path, timeout=10.0), "the gate never got there"
    time.sleep(0.05)
    started.proc.send_signal(signum)
    return finish(started, limit=10.0)


def assert_clean(outcome: Outcome) -> None:
    """No traceback, and the key in no output, report, step output or summary."""
    assert "Traceback" not in outcome.stdout + outcome.stderr, outcome.stderr
    lines = outcome.stdout.splitlines()
    if outcome.github:  # the one deliberate appearance: GitHub masks the key from then on
        assert lines and lines[0] == f"::add-mask::{KEY}", outcome.stdout[:200]
        lines = lines[1:]
    assert KEY not in "\n".join(lines), "API key on stdout"
    assert KEY not in outcome.stderr, "API key on stderr"
    written = [path for path in outcome.work.rglob("*") if path.is_file()]
    for path in written:
        if path.name != "gate.yaml":
            assert KEY not in path.read_text(encoding="utf-8"), f"API key in {path.name}"


def assert_no_verdict(outcome: Outcome, fragment: str, code: int = 3) -> None:
    """One error line naming ``fragment``; every report says there is no verdict."""
    assert outcome.code == code, outcome.stderr
    [line] = outcome.error_lines()
    assert fragment in line, line
    document = outcome.verdict()
    assert document["verdict"] == "error" and fragment in document["error"]
    assert outcome.dotenv()["GATE_VERDICT"] == "error"
    assert outcome.file("out/summary.md").startswith(SUMMARY_ERROR)
    assert 'errors="1"' in outcome.file("out/junit.xml")


def posts_to(fake: FakeCekura, path: str) -> list[Recorded]:
    return [request for request in fake.posts() if request.path == path]


def the_trigger(fake: FakeCekura) -> Recorded:
    """The one trigger POST (and no other trigger POST)."""
    triggers = [request for request in fake.posts() if "/scenarios/" in request.path]
    assert len(triggers) == 1, [request.path for request in triggers]
    return triggers[0]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# --------------------------------------------------------------------------- 1: trigger, gate


def test_trigger_then_pass(tmp_path, fake):
    fake.add_result(RESULT_ID, [running(), completed()])
    outcome = gate(tmp_path, fake.url)
    assert outcome.code == 0, outcome.stderr
    assert outcome.stdout.startswith(f"cekura-gate: PASSED result {RESULT_ID}")
    assert not outcome.error_lines()
    trigger = the_trigger(fake)
    assert (trigger.path, trigger.json()) == (VOICE, RELEASE_BODY)
    assert trigger.headers["content-type"] == "application/json"
    assert fake.requests[0] is trigger  # started first, then polled
    assert [request.path for request in fake.requests[1:]] == [RESULT, RESULT]
    assert not fake.unauthorised_requests()
    log = outcome.stderr
    assert log.index("starting a voice run named 'release check'") < log.index(
        f"waiting for result {RESULT_ID}: {DASHBOARD}"
    )
    assert f"POST {VOICE} -> HTTP 201" in log  # --verbose logs the POST too
    assert outcome.verdict()["verdict"] == "pass"
    assert outcome.verdict()["result"]["id"] == RESULT_ID
    assert outcome.dotenv()["CEKURA_RESULT_ID"] == str(RESULT_ID)
    assert outcome.file("out/summary.md").startswith(SUMMARY_PASS)


def test_trigger_then_fail(tmp_path, fake):
    fake.add_result(RESULT_ID, [completed()])
    outcome = gate(tmp_path, fake.url, policy_text=policy(rules=FAIL_RULES))
    assert outcome.code == 1, outcome.stderr
    assert outcome.stdout.startswith(f"cekura-gate: FAILED result {RESULT_ID}")
    assert not outcome.error_lines()
    assert the_trigger(fake).json() == RELEASE_BODY
    assert outcome.verdict()["verdict"] == "fail"
    assert outcome.dotenv()["GATE_VERDICT"] == "fail"
    assert posts_to(fake, END_CALLS) == []  # the result finished: nothing to stop


EVERY_KEY_RUN = """run:
  agent_id: 12
  scenario_ids: [101, 202]
  mode: text
  frequency: 2
  name: nightly
  personality_ids: [3, 7]
  test_profile_ids: [5]
  concurrency_limit: 4
  personality_id: 3
  test_profile_id: 5
  number_mode: different_numbers
  outbound_phone_number: '+15550100'
  agent_number: '+15550199'
  mock_tool_names: [lookup_order, send_sms]
  websocket_url: wss://agent.example/ws
  websocket_headers: {Authorization: Bearer abc}
"""


@pytest.mark.parametrize(
    ("run", "path", "body"),
    [
        pytest.param(
            "run:\n  scenario_ids: [101, 202]\n",
            VOICE,
            {"scenarios": [101, 202], "name": "cekura-gate"},
            id="scenario-ids-voice",
        ),
        pytest.param(
            "run:\n  tags: [smoke, release]\n  mode: text\n",
            TEXT,
            {"tags": ["smoke", "release"], "name": "cekura-gate"},
            id="tags-text",
        ),
        pytest.param(
            "run:\n  agent_id: 12\n  folder_path: Sales.Inbound\n  project_id: 9\n",
            VOICE,
            {
                "agent_id": 12,
                "folder_path": "Sales.Inbound",
                "project_id": 9,
                "name": "cekura-gate",
            },
            id="folder-path",
        ),
        pytest.param(
            "run:\n  agent_id: 12\n  scenario_ids: [101]\n  frequency: 3\n  name: nightly\n"
            "  personality_ids: [3, 7]\n  test_profile_ids: [5]\n  concurrency_limit: 2\n"
            "  number_mode: same_number\n  mock_tool_names: []\n",
            VOICE,
            {
                "agent_id": 12,
                "scenarios": [101],
                "frequency": 3,
                "name": "nightly",
                "personality_ids": [3, 7],
                "test_profile_ids": [5],
                "concurrency_limit": 2,
                "mode": "same_number",
                "mock_tool_names": [],  # [] mocks no tool; it must not be dropped
            },
            id="options-mock-none",
        ),
        pytest.param(
            EVERY_KEY_RUN,
            TEXT,
            {
                "agent_id": 12,
                "scenarios": [101, 202],
                "frequency": 2,
                "name": "nightly",
                "personality_ids": [3, 7],
                "test_profile_ids": [5],
                "concurrency_limit": 4,
                "personality_id": 3,
                "test_profile_id": 5,
                "mode": "different_numbers",
                "outbound_phone_number": "+15550100",
                "agent_number": "+15550199",
                "mock_tool_names": ["lookup_order", "send_sms"],
                "websocket_url": "wss://agent.example/ws",
                "websocket_headers": {"Authorization": "Bearer abc"},
            },
            id="every-key-text",
        ),
    ],
)
def test_request_body_matches_the_api(tmp_path, fake, run, path, body):
    """Exact equality: what is not set (mock_tool_names included) is not sent."""
    fake.add_result(RESULT_ID, [completed()])
    outcome = gate(tmp_path, fake.url, policy_text=policy(run))
    assert outcome.code == 0, outcome.stderr
    trigger = the_trigger(fake)
    assert (trigger.path, trigger.json()) == (path, body)
    mode = "text" if path == TEXT else "voice"
    assert f"starting a {mode} run named '{body['name']}'" in outcome.stderr


@pytest.mark.parametrize(
    ("run", "flags", "path", "body"),
    [
        pytest.param(
            "run:\n  agent_id: 12\n  scenario_ids: [101]\n  tags: [smoke]\n  frequency: 1\n"
            "  name: policy label\n",
            [
                *("--folder-path", "Support.Billing", "--project-id", "4", "--mode", "text"),
                *("--frequency", "3", "--name", "cli label", "--agent-id", "99"),
            ],
            TEXT,
            {
                "agent_id": 99,
                "folder_path": "Support.Billing",
                "project_id": 4,
                "frequency": 3,
                "name": "cli label",
            },
            id="every-flag",
        ),
        pytest.param(
            "run:\n  tags: [smoke]\n  mode: text\n  name: policy label\n",
            ["--scenario-ids", "7,8"],
            TEXT,
            {"scenarios": [7, 8], "name": "policy label"},
            id="ids-replace-tags",
        ),
        pytest.param(
            None,
            ["--tags", "nightly,regression", "--agent-id", "7"],
            VOICE,
            {"agent_id": 7, "tags": ["nightly", "regression"], "name": "cekura-gate"},
            id="no-run-section",
        ),
    ],
)
def test_flags_override_the_policy(tmp_path, fake, run, flags, path, body):
    fake.add_result(RESULT_ID, [completed()])
    outcome = gate(tmp_path, fake.url, *flags, policy_text=policy(run))
    assert outcome.code == 0, outcome.stderr
    trigger = the_trigger(fake)
    assert (trigger.path, trigger.json()) == (path, body)
    if "--project-id" in flags:  # the project also places the dashboard link
        assert outcome.verdict()["result"]["url"].endswith(f"/4/results/{RESULT_ID}")


def test_tags_flag_replaces_the_policy_folder(tmp_path, fake):
    fake.add_result(RESULT_ID, [completed()])
    run = "run:\n  folder_path: Sales.Inbound\n  project_id: 9\n"
    outcome = gate(tmp_path, fake.url, "--tags", "nightly", policy_text=policy(run))
    assert outcome.code == 0, outcome.stderr
    body = the_trigger(fake).json()
    assert body["tags"] == ["nightly"]
    assert "folder_path" not in body and "scenarios" not in body


@pytest.mark.parametrize(
    ("env", "run", "flags", "name"),
    [
        pytest.param(
            {"GITHUB_SHA": "0123abcdef4567", "GITHUB_REF": "refs/pull/42/merge"},
            RELEASE_RUN,
            [],
            "release check (PR #42, 0123abc)",
            id="github-pr",
        ),
        pytest.param(
            {"GITHUB_SHA": "0123abcdef4567", "GITHUB_REF": "refs/heads/main"},
            "run:\n  scenario_ids: [101]\n",
            [],
            "cekura-gate (0123abc)",
            id="github-push-no-name",
        ),
        pytest.param(
            {"GITLAB_CI": "true", "CI_COMMIT_SHORT_SHA": "1a2b3c4d", "CI_MERGE_REQUEST_IID": "9"},
            RELEASE_RUN,
            [],
            "release check (MR !9, 1a2b3c4d)",
            id="gitlab-mr",
        ),
        pytest.param(
            {"GITLAB_CI": "true", "CI_COMMIT_SHORT_SHA": "1a2b3c4d", "CI_MERGE_REQUEST_IID": "9"},
            RELEASE_RUN,
            ["--name", "cli label"],
            "cli label (MR !9, 1a2b3c4d)",
            id="gitlab-mr-name-flag",
        ),
    ],
)
def test_ci_adds_the_pr_or_mr_and_commit_to_the_name(tmp_path, fake, env, run, flags, name):
    fake.add_result(RESULT_ID, [completed()])
    github = "GITHUB_SHA" in env
    outcome = gate(tmp_path, fake.url, *flags, policy_text=policy(run), github=github, env=env)
    assert outcome.code == 0, outcome.stderr
    assert the_trigger(fake).json()["name"] == name
    assert f"starting a voice run named '{name}'" in outcome.log()
    if github:
        assert outcome.output("verdict") == "pass"
        assert outcome.output("result-id") == str(RESULT_ID)


# --------------------------------------------------------------------------- 2: no double-billing


@pytest.mark.parametrize(
    ("fault", "problem"),
    [
        pytest.param(Fault(status=503), "starting the run: HTTP 503 from the API", id="503"),
        pytest.param(
            Fault(
                status=502, body="<html><h1>502 Bad Gateway</h1></html>", content_type="text/html"
            ),
            "starting the run: HTTP 502 from the API",
            id="502-html",
        ),
        pytest.param(Fault(status=408), "starting the run: HTTP 408 from the API", id="408"),
        pytest.param(
            Fault(drop_connection=True),  # the fake read the whole request, then hung up
            # Which transport error httpx raises for it is httpx's business: {transport}.
            "starting the run: {transport} after the request was sent",
            id="dropped-after-the-request",
        ),
        pytest.param(
            Fault(status=201, body='{"result_id": 167}'),
            "starting the run: the response did not carry a result id",
            id="201-without-id",
        ),
    ],
)
def test_trigger_that_may_have_been_sent_is_not_retried(tmp_path, fake, fault, problem):
    fake.add_result(RESULT_ID, [completed()])
    fake.fail_next(VOICE, fault, times=3)  # a retry would meet the same fault, not pass
    outcome = gate(tmp_path, fake.url)
    if "{transport}" in problem:
        named = re.search(r"starting the run: (\w+) after", outcome.stderr)
        assert named and issubclass(getattr(httpx, named[1]), httpx.TransportError), outcome.stderr
        problem = problem.format(transport=named[1])
    assert_no_verdict(outcome, problem)
    assert outcome.error_lines() == [f"{ERROR_PREFIX}{problem}. {may_have_started()}"]
    assert len(fake.requests) == 1  # exactly one POST reached the server; nothing else
    assert the_trigger(fake).json() == RELEASE_BODY
    assert "retrying" not in outcome.stderr
    assert outcome.verdict()["result"] is None
    assert outcome.dotenv()["CEKURA_RESULT_ID"] == ""
    assert "<html" not in outcome.stdout + outcome.stderr


def test_trigger_failure_in_ci_names_the_labelled_run(tmp_path, fake):
    env = {"GITHUB_SHA": "0123abcdef4567", "GITHUB_REF": "refs/pull/42/merge"}
    fake.fail_next(VOICE, Fault(status=500))
    outcome = gate(tmp_path, fake.url, github=True, env=env)
    assert_no_verdict(outcome, may_have_started("release check (PR #42, 0123abc)"))
    assert len(fake.posts()) == 1
    assert outcome.output("verdict") == "error"
    assert outcome.output("result-id") == ""


def test_connection_refused_is_retried_and_nothing_was_sent(tmp_path):
    quick = "version: 1\nwait: {poll_interval: 0.01s, max_poll_interval: 0.02s}\n"
    url = f"http://127.0.0.1:{closed_port()}"
    outcome = gate(tmp_path, url, policy_text=quick + PASS_RULES + RELEASE_RUN)
    problem = (
        "starting the run: could not connect after 7 attempts (network error (ConnectError)); "
        "nothing was sent"
    )
    assert_no_verdict(outcome, problem)
    assert outcome.error_lines() == [f"{ERROR_PREFIX}{problem}"]
    assert outcome.stderr.count(f"POST {VOICE} -> ConnectError") == 7
    assert outcome.stderr.count("network error (ConnectError); retrying in") == 6
    assert "may have started" not in outcome.stderr


def test_trigger_refused_by_the_api_is_not_retried_and_redacts_an_echoed_key(tmp_path, fake):
    fake.fail_next(VOICE, Fault(status=400, echo_headers=True))
    outcome = gate(tmp_path, fake.url)  # assert_clean: no key anywhere
    assert_no_verdict(outcome, "starting the run: HTTP 400: ")
    assert '"x-cekura-api-key": "[redacted]"' in outcome.error_lines()[0]
    assert "may have started" not in outcome.stderr  # a 400 created nothing
    assert len(fake.requests) == 1


@pytest.mark.slow
def test_trigger_read_timeout_is_not_retried(
    tmp_path: Path, fake: FakeCekura, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TRIGGER_READ_TIMEOUT_S (120 s) has no flag or policy key to shorten it: patched here."""
    monkeypatch.setattr(gate_client, "TRIGGER_READ_TIMEOUT_S", 0.3)
    late = Fault(status=201, body=json.dumps({"id": RESULT_ID}), delay_s=10)
    fake.fail_next(VOICE, late)
    fake.add_result(RESULT_ID, [completed()])
    policy_path = tmp_path / "gate.yaml"
    policy_path.write_text(policy(), encoding="utf-8")
    report = tmp_path / "verdict.json"
    started = time.monotonic()
    argv = ["run", "--policy", str(policy_path), "--api-url", fake.url, "--json", str(report)]
    captured = run_gate([*argv, "--verbose"], env=env_for(tmp_path))
    code = captured.code
    elapsed = time.monotonic() - started
    problem = "starting the run: ReadTimeout after the request was sent"
    assert code == 3
    assert f"{ERROR_PREFIX}{problem}. {may_have_started()}" in captured.stderr.splitlines()
    assert len(fake.requests) == 1 and fake.requests[0].path == VOICE
    assert elapsed < 5.0
    assert json.loads(report.read_text(encoding="utf-8"))["error"].startswith(problem)
    assert KEY not in captured.stdout + captured.stderr + report.read_text(encoding="utf-8")


@pytest.mark.slow
def test_sigterm_while_the_trigger_is_in_flight_sends_nothing_more(tmp_path, fake):
    fake.fail_next(VOICE, Fault(status=201, body=json.dumps({"id": RESULT_ID}), delay_s=60))
    started = spawn_run(tmp_path, fake.url)
    outcome = signal_when(started, fake, signal.SIGTERM, requests=1, path=VOICE)
    assert_no_verdict(outcome, "the gate was terminated (SIGTERM)", code=143)
    assert len(fake.requests) == 1  # no retry, no poll, and no end_calls without an id


@pytest.mark.slow
def test_sigterm_while_the_trigger_is_in_flight_says_where_to_look(tmp_path, fake):
    fake.fail_next(VOICE, Fault(status=201, body=json.dumps({"id": RESULT_ID}), delay_s=60))
    started = spawn_run(tmp_path, fake.url)
    outcome = signal_when(started, fake, signal.SIGTERM, requests=1, path=VOICE)
    assert outcome.code == 143
    assert "look for a result named 'release check'" in outcome.error_lines()[0]


# --------------------------------------------------------------------------- 3: re-attach


@pytest.mark.parametrize("run", [RELEASE_RUN, None], ids=["with-run-section", "without"])
def test_reattach_sends_no_post_and_gates_the_result(tmp_path, fake, run):
    fake.add_result(RESULT_ID, [running(), completed()])
    outcome = gate(tmp_path, fake.url, "--result-id", str(RESULT_ID), policy_text=policy(run))
    assert outcome.code == 0, outcome.stderr
    assert outcome.stdout.startswith(f"cekura-gate: PASSED result {RESULT_ID}")
    assert fake.posts() == []
    assert {request.path for request in fake.requests} == {RESULT}
    assert f"re-attaching to result {RESULT_ID}; nothing new is started" in outcome.stderr
    assert outcome.dotenv()["CEKURA_RESULT_ID"] == str(RESULT_ID)


# --------------------------------------------------------------------------- 4: stopping calls


@pytest.mark.slow
def test_timeout_ends_the_calls_once(tmp_path, fake):
    fake.add_result(RESULT_ID, [running()])
    outcome = gate(tmp_path, fake.url, "--timeout", "0.5s")
    assert_no_verdict(outcome, "the result was not finished after 0m00s (last status 'running')")
    [end] = posts_to(fake, END_CALLS)
    assert end.json() == {}
    assert fake.requests[-1] is end  # after the last poll, and nothing after it
    assert len(fake.posts()) == 2
    assert f"asked Cekura to end the calls of result {RESULT_ID} still in flight" in outcome.stderr
    assert outcome.verdict()["result"]["id"] == RESULT_ID
    assert outcome.dotenv()["CEKURA_RESULT_ID"] == str(RESULT_ID)


@pytest.mark.parametrize(
    ("fault", "extra", "message"),
    [
        (Fault(status=404), (), f"result {RESULT_ID} not found"),
        (Fault(status=200, body=b"x" * 4096), ("--max-response-size", "2KiB"), "larger than"),
    ],
    ids=["refused", "over-the-cap"],
)
def test_any_error_that_gives_up_on_the_result_ends_the_calls_once(
    tmp_path, fake, fault, extra, message
):
    """Not only a timeout or a signal: whatever ends the wait leaves billed calls running."""
    fake.add_result(RESULT_ID, [running()])
    fake.fail_next(RESULT, fault)
    outcome = gate(tmp_path, fake.url, *extra)
    assert_no_verdict(outcome, message)
    [end] = posts_to(fake, END_CALLS)
    assert fake.requests[-1] is end
    assert f"asked Cekura to end the calls of result {RESULT_ID}" in outcome.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "code", "message"),
    [
        (signal.SIGTERM, 143, "the gate was terminated (SIGTERM)"),
        (signal.SIGINT, 130, "interrupted"),
    ],
    ids=["SIGTERM", "SIGINT"],
)
@pytest.mark.parametrize("in_request", [False, True], ids=["between-polls", "in-a-request"])
def test_signal_mid_wait_ends_the_calls_once(tmp_path, fake, signum, code, message, in_request):
    fake.add_result(RESULT_ID, [running(), stalled()] if in_request else [running()])
    started = spawn_run(tmp_path, fake.url)
    outcome = signal_when(started, fake, signum, requests=2, path=RESULT)
    assert_no_verdict(outcome, message, code=code)
    [end] = posts_to(fake, END_CALLS)
    assert end.json() == {}
    assert fake.requests[-1] is end
    assert f"asked Cekura to end the calls of result {RESULT_ID}" in outcome.stderr
    assert outcome.verdict()["result"]["id"] == RESULT_ID


@pytest.mark.slow
@pytest.mark.parametrize("stop", ["timeout", "SIGTERM"])
def test_no_end_calls_leaves_the_calls_running(tmp_path, fake, stop):
    fake.add_result(RESULT_ID, [running()])
    if stop == "timeout":
        outcome = gate(tmp_path, fake.url, "--no-end-calls", "--timeout", "0.5s")
        assert_no_verdict(outcome, "not finished after 0m00s")
    else:
        started = spawn_run(tmp_path, fake.url, "--no-end-calls")
        outcome = signal_when(started, fake, signal.SIGTERM, requests=2, path=RESULT)
        assert_no_verdict(outcome, "the gate was terminated (SIGTERM)", code=143)
    assert posts_to(fake, END_CALLS) == []
    assert len(fake.posts()) == 1  # the trigger only
    assert "end the calls" not in outcome.stderr


@pytest.mark.slow
def test_end_calls_failure_is_a_warning_and_is_not_retried(tmp_path, fake):
    fake.add_result(RESULT_ID, [running()])
    fake.fail_next(END_CALLS, Fault(status=503), times=2)
    started = spawn_run(tmp_path, fake.url)
    outcome = signal_when(started, fake, signal.SIGTERM, requests=2, path=RESULT)
    assert_no_verdict(outcome, "the gate was terminated (SIGTERM)", code=143)
    assert len(posts_to(fake, END_CALLS)) == 1
    assert (
        f"cekura-gate: warning: could not end the calls of result {RESULT_ID}: "
        "ending the calls: HTTP 503 from the API"
    ) in outcome.stderr


@pytest.mark.slow
def test_timeout_during_a_stalled_poll_ends_the_calls_once(tmp_path, fake):
    fake.add_result(RESULT_ID, [running(), stalled()])
    outcome = gate(tmp_path, fake.url, "--timeout", "0.5s")
    assert outcome.code == 3, outcome.stderr
    assert len(posts_to(fake, END_CALLS)) == 1


# --------------------------------------------------------------------------- 5: share links


def test_share_link_reaches_every_report_and_the_step_output(tmp_path, fake):
    fake.add_result(RESULT_ID, [running(), completed()])
    before = datetime.datetime.now(datetime.timezone.utc)
    outcome = gate(tmp_path, fake.url, "--share-link-days", "7", github=True)
    after = datetime.datetime.now(datetime.timezone.utc)
    assert outcome.code == 0, outcome.stderr
    [share] = posts_to(fake, SHARE)
    assert fake.requests[-1] is share  # created once the result is judged
    body = share.json()
    assert list(body) == ["expire_at"]
    expire_at = datetime.datetime.fromisoformat(body["expire_at"])
    assert expire_at.utcoffset() is not None  # an explicit zone, as ISO 8601 wants
    week = datetime.timedelta(days=7)
    slack = datetime.timedelta(seconds=2)
    assert before + week - slack <= expire_at <= after + week + slack
    assert f"[Shareable link]({LINK})" in outcome.file("out/summary.md")
    assert outcome.verdict()["result"]["share_url"] == LINK
    assert outcome.dotenv()["CEKURA_SHARE_URL"] == LINK
    assert outcome.output("share-link") == LINK
    assert LINK in outcome.file("step_summary.md")
    assert len(fake.posts()) == 2  # the trigger and the link


@pytest.mark.parametrize(
    ("fault", "rules", "code", "problem"),
    [
        pytest.param(
            Fault(status=500),
            PASS_RULES,
            0,
            "creating a share link: HTTP 500 from the API",
            id="500",
        ),
        pytest.param(
            Fault(status=200, body='{"token": "t0ken"}'),
            FAIL_RULES,
            1,
            "creating a share link: the response had no shareable_link",
            id="no-link-fail-verdict",
        ),
    ],
)
def test_share_link_failure_is_only_a_warning(tmp_path, fake, fault, rules, code, problem):
    fake.add_result(RESULT_ID, [completed()])
    fake.fail_next(SHARE, fault, times=2)
    flags = ("--share-link-days", "7")
    outcome = gate(tmp_path, fake.url, *flags, policy_text=policy(rules=rules), github=True)
    assert outcome.code == code, outcome.stderr
    assert not outcome.error_lines()
    assert f"cekura-gate: warning: could not create a share link: {problem}" in outcome.log()
    assert len(posts_to(fake, SHARE)) == 1
    assert outcome.verdict()["verdict"] == ("pass" if code == 0 else "fail")
    assert outcome.verdict()["result"]["share_url"] is None
    assert "CEKURA_SHARE_URL" not in outcome.dotenv()
    assert outcome.output("share-link") == ""


# --------------------------------------------------------------------------- 6: recorded early


@pytest.mark.slow
def test_result_id_is_recorded_before_the_wait_ends(tmp_path, fake):
    fake.add_result(RESULT_ID, [running()])
    started = spawn_run(tmp_path, fake.url, github=True)
    assert fake.wait_for_requests(2, path=RESULT, timeout=10.0), "the gate never polled"
    assert started.proc.poll() is None, "the gate should still be waiting"
    early_outputs = parse_outputs((tmp_path / "github_output").read_text(encoding="utf-8"))
    early_dotenv = parse_dotenv((tmp_path / "out" / "gate.env").read_text(encoding="utf-8"))
    assert early_outputs == [("result-id", str(RESULT_ID)), ("result-url", DASHBOARD)]
    assert early_dotenv == {
        "GATE_VERDICT": "pending",
        "CEKURA_RESULT_ID": str(RESULT_ID),
        "CEKURA_RESULT_URL": DASHBOARD,
    }
    started.proc.send_signal(signal.SIGTERM)
    outcome = finish(started, limit=10.0)
    assert_no_verdict(outcome, "the gate was terminated (SIGTERM)", code=143)
    # The final reports replace the early ones and still carry the id.
    assert outcome.dotenv()["GATE_VERDICT"] == "error"
    assert outcome.dotenv()["CEKURA_RESULT_ID"] == str(RESULT_ID)
    assert outcome.dotenv()["CEKURA_RESULT_URL"] == DASHBOARD
    assert outcome.outputs()[:2] == early_outputs
    assert outcome.output("verdict") == "error"
    assert outcome.output("result-id") == str(RESULT_ID)
    assert outcome.output("result-url") == DASHBOARD
    assert outcome.file("step_summary.md").startswith(SUMMARY_ERROR)
    assert len(posts_to(fake, END_CALLS)) == 1


# --------------------------------------------------------------------------- 7: invalid run:


def test_run_without_a_selector_is_a_usage_error_with_a_hint(tmp_path, fake):
    outcome = gate(tmp_path, fake.url, policy_text=policy(None))
    assert_no_verdict(outcome, "run: no scenarios selected", code=2)
    assert outcome.error_lines() == [
        f"{ERROR_PREFIX}run: no scenarios selected; set scenario_ids, tags, or folder_path with "
        "project_id (in the policy's run: section, or with --scenario-ids, --tags or "
        "--folder-path)"
    ]
    assert fake.requests == []


@pytest.mark.parametrize("case", ["folder-path-with-tags", "unknown-key-typo"])
def test_invalid_run_section_exits_2_naming_the_key(tmp_path, fake, case):
    source = INVALID / f"{case}.yaml"
    text = source.read_text(encoding="utf-8")
    expected = text.splitlines()[0].removeprefix("# error: ")
    validated = run_cli("validate", "--policy", str(source))
    assert validated.code == 2
    shown = f"{ERROR_PREFIX}{expected.replace('gate.yaml', str(source), 1)}"
    assert validated.stderr.splitlines() == [" ".join(shown.split())]  # one line
    outcome = gate(tmp_path, fake.url, policy_text=text)
    message = expected.replace("gate.yaml", str(tmp_path / "gate.yaml"), 1)
    assert_no_verdict(outcome, message, code=2)
    assert fake.requests == []


# --------------------------------------------------------------------------- pre-flight


@pytest.mark.parametrize(
    ("args", "env", "policy_text", "fragment"),
    [
        pytest.param(
            ("--share-link-days", "3000000"),
            {},
            None,
            "argument --share-link-days: expected at most 3650 days",
            id="share-link-days-past-the-calendar",
        ),
        pytest.param(
            ("--baseline-result-id", "99"),
            {},
            policy(None),
            "run: no scenarios selected",
            id="nothing-selected-before-the-baseline-fetch",
        ),
        pytest.param(
            (),
            {"CEKURA_DASHBOARD_URL": "dashboard.cekura.ai/results"},
            None,
            "CEKURA_DASHBOARD_URL: expected an http(s) URL",
            id="dashboard-url-from-the-environment",
        ),
        pytest.param(
            ("--dashboard-url", "javascript:alert(1)"),
            {},
            None,
            "argument --dashboard-url: expected an http(s) URL",
            id="dashboard-url-flag",
        ),
        pytest.param(
            ("--auth-header", "X Cekura: Key"),
            {},
            None,
            "--auth-header 'X Cekura: Key': a header name is",
            id="auth-header-not-a-header-name",
        ),
    ],
)
def test_what_would_fail_after_the_run_is_paid_for_is_refused_before_any_request(
    tmp_path, fake, args, env, policy_text, fragment
):
    fake.add_result(RESULT_ID, [completed()])
    outcome = gate(tmp_path, fake.url, *args, policy_text=policy_text, env=env)
    assert_no_verdict(outcome, fragment, code=2)
    assert fake.requests == []
