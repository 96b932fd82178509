"""``--pr-comment`` in the command line, in this process (tests/e2e/test_pr_comment.py runs
the real process against fake forges): whatever stops the comment before any request (no
CI, no pull request, an event file missing or not JSON) is one notice line, never a
traceback, and the exit code is the one without the flag; so is a bug in the comment's
rendering or posting, its traceback shown (and the exit code kept) with CEKURA_GATE_DEBUG."""

from __future__ import annotations

import json
from pathlib import Path
from typing import NoReturn

import pytest

from tests.conftest import EXAMPLES, run_cli

TOKEN = "ghs_cliTestToken0123456789abcdefABCD"
GATE = [
    "check",
    "--policy",
    str(EXAMPLES / "gate.yaml"),
    "--result-file",
    str(EXAMPLES / "results" / "result_completed_mixed.json"),
    "--runs-file",
    str(EXAMPLES / "results" / "runs_bulk.json"),
]


def github_env(event: Path | None) -> dict[str, str]:
    env = {
        "GITHUB_ACTIONS": "true",
        "GITHUB_REPOSITORY": "acme/bot",
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_EVENT_NAME": "push",
        # Nothing may reach it: every case below stops before the first request.
        "GITHUB_API_URL": "http://127.0.0.1:9",
    }
    if event is not None:
        env["GITHUB_EVENT_PATH"] = str(event)
    return env


def notices(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("cekura-gate: notice: ")]


@pytest.fixture
def baseline_code() -> int:
    return run_cli(*GATE, env=github_env(None)).code


@pytest.mark.parametrize(
    ("event_text", "said"),
    [
        (None, "cannot read GITHUB_EVENT_PATH"),
        ("{not json", "does not hold JSON"),
        (json.dumps({"ref": "refs/heads/main"}), "the workflow ran for a push event"),
    ],
    ids=["missing file", "bad JSON", "push event"],
)
def test_no_pull_request_is_one_notice_and_the_same_exit_code(
    tmp_path, baseline_code, event_text, said
):
    event = tmp_path / "event.json"
    if event_text is not None:
        event.write_text(event_text, encoding="utf-8")
    run = run_cli(*GATE, "--pr-comment", env=github_env(event))
    assert run.code == baseline_code == 1
    [notice] = notices(run.stderr)
    assert said in notice and "no pull request comment" in notice
    assert "Traceback" not in run.stderr


def test_outside_ci_the_flag_is_one_notice(baseline_code):
    run = run_cli(*GATE, "--pr-comment", env={"GITHUB_TOKEN": TOKEN})
    assert run.code == baseline_code
    [notice] = notices(run.stderr)
    assert "not in GitHub Actions or GitLab CI" in notice
    assert TOKEN not in run.stdout + run.stderr


def test_the_token_is_masked_first_and_only_with_the_flag(tmp_path):
    event = tmp_path / "event.json"
    event.write_text("{}", encoding="utf-8")
    run = run_cli(*GATE, "--pr-comment", env=github_env(event))
    lines = run.stdout.splitlines()
    assert lines[0] == f"::add-mask::{TOKEN}"
    assert TOKEN not in "\n".join(lines[1:]) + run.stderr
    without = run_cli(*GATE, env=github_env(event))
    assert TOKEN not in without.stdout + without.stderr
    assert not notices(without.stderr)


def test_a_gitlab_branch_pipeline_is_one_notice(baseline_code):
    env = {"GITLAB_CI": "true", "CEKURA_GATE_GITLAB_TOKEN": "glpat-cliTestToken01234567"}
    run = run_cli(*GATE, "--pr-comment", env=env)
    assert run.code == baseline_code
    [notice] = notices(run.stderr)
    assert "not a merge request pipeline" in notice


# --------------------------------------------------------------------------- a bug in it


def pull_request_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A pull request the gate would comment on; the API never reached (nothing gets there)."""
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 12}}), encoding="utf-8")
    return {**github_env(event), "GITHUB_EVENT_NAME": "pull_request", **extra}


def boom(*args: object, **kwargs: object) -> NoReturn:
    raise RuntimeError(f"bug holding the token {TOKEN}")


@pytest.mark.parametrize("where", ["gate.reporters.comment.render", "gate.api.forge.upsert"])
def test_a_bug_in_the_comment_is_one_notice_and_the_same_exit_code(
    tmp_path, monkeypatch, baseline_code, where
):
    monkeypatch.setattr(where, boom)
    reports = [f"--json={tmp_path / 'verdict.json'}", f"--junit={tmp_path / 'junit.xml'}"]
    run = run_cli(*GATE, *reports, "--pr-comment", env=pull_request_env(tmp_path))
    assert run.code == baseline_code == 1
    [notice] = notices(run.stderr)
    assert "internal error (RuntimeError)" in notice
    masked = "\n".join(run.stdout.splitlines()[1:])  # after ::add-mask::
    assert "Traceback" not in run.stderr and TOKEN not in masked + run.stderr
    assert json.loads((tmp_path / "verdict.json").read_text("utf-8"))["verdict"] == "fail"


@pytest.mark.parametrize("where", ["gate.reporters.comment.render", "gate.api.forge.upsert"])
def test_with_debug_a_bug_in_the_comment_shows_its_traceback_and_keeps_the_exit_code(
    tmp_path, monkeypatch, baseline_code, where
):
    monkeypatch.setattr(where, boom)
    env = pull_request_env(tmp_path, CEKURA_GATE_DEBUG="1")
    run = run_cli(*GATE, "--pr-comment", env=env)
    assert run.code == baseline_code == 1
    assert "Traceback" in run.stderr and "RuntimeError: bug holding the token" in run.stderr
    assert TOKEN not in run.stderr  # the traceback is redacted as the notice is
    [notice] = notices(run.stderr)
    assert "internal error (RuntimeError)" in notice
