"""``--pr-comment`` end to end: the real ``python -m gate`` process against the fake GitHub
and GitLab of tests/fake_forges.py on 127.0.0.1.

For each forge (and on GitHub, for a token whose user ``GET /user`` names and for the job's
installation token, which GitHub refuses it): the first run creates the comment and the
second edits it (one comment, its body updated); a marker comment someone else wrote is
neither edited nor in the way; a token that cannot write (403) and a pipeline with no pull
or merge request each give one notice line and the exit code the gate has without the flag;
and the token appears in no output and no report, even when the fake echoes it back in its
error body.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.e2e.harness import Completed, finish, gate_env, parse_dotenv, run_process, spawn
from tests.fake_forges import STRANGER, FakeForge, FakeGitHub, FakeGitLab

pytestmark = pytest.mark.slow  # real processes

GATE = [
    "check",
    "--policy",
    str(EXAMPLES / "gate.yaml"),
    "--result-file",
    str(EXAMPLES / "results" / "result_completed_mixed.json"),
    "--runs-file",
    str(EXAMPLES / "results" / "runs_bulk.json"),
]
MARK = "<!-- cekura-gate:comment policy=examples/gate.yaml -->"  # its path in the checkout


@dataclass
class Forge:
    """A fake forge and the environment that points the gate at it."""

    fake: FakeForge
    tmp: Path

    def env(self, *, pull_request: bool = True, commit: str = "a" * 40) -> dict[str, str]:
        if isinstance(self.fake, FakeGitHub):
            event = self.tmp / f"event-{commit[:4]}.json"
            payload = {"pull_request": {"number": self.fake.number, "head": {"sha": commit}}}
            event.write_text(json.dumps(payload if pull_request else {"ref": "refs/heads/main"}))
            return gate_env(
                GITHUB_ACTIONS="true",
                GITHUB_API_URL=self.fake.url,
                GITHUB_REPOSITORY=self.fake.repository,
                GITHUB_EVENT_PATH=str(event),
                GITHUB_EVENT_NAME="pull_request" if pull_request else "push",
                GITHUB_TOKEN=self.fake.token,
                GITHUB_STEP_SUMMARY=str(self.tmp / "step_summary.md"),
                GITHUB_OUTPUT=str(self.tmp / "github_output"),
            )
        assert isinstance(self.fake, FakeGitLab)
        env = gate_env(
            GITLAB_CI="true",
            CI_API_V4_URL=self.fake.api_url,
            CI_PROJECT_ID=str(self.fake.project_id),
            CI_COMMIT_SHORT_SHA=commit[:8],
            CEKURA_GATE_GITLAB_TOKEN=self.fake.token,
        )
        if pull_request:
            env["CI_MERGE_REQUEST_IID"] = str(self.fake.iid)
        return env

    def argv(self, *extra: str) -> list[str]:
        reports = [f"--{name}={self.tmp / name}.out" for name in ("junit", "json", "summary")]
        return [*GATE, *reports, "--dotenv", str(self.tmp / "gate.env"), *extra]

    def gate(self, *extra: str, **env_options: object) -> Completed:
        return run_process(self.argv(*extra), env=self.env(**env_options))  # type: ignore[arg-type]

    def written(self) -> str:
        """Every report and every file the runner reads, as one text."""
        return "\n".join(
            path.read_text(encoding="utf-8")
            for path in sorted(self.tmp.iterdir())
            if path.is_file() and not path.name.startswith("event")
        )


@pytest.fixture(params=["github", "github-installation-token", "gitlab"])
def forge(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Forge]:
    fake: FakeForge
    if request.param == "gitlab":
        fake = FakeGitLab()
    else:
        fake = FakeGitHub(installation_token=request.param == "github-installation-token")
    with fake:
        yield Forge(fake, tmp_path)


def notices(run: Completed) -> list[str]:
    return [line for line in run.stderr.splitlines() if line.startswith("cekura-gate: notice: ")]


def test_the_first_run_creates_the_comment_and_the_second_edits_it(forge: Forge):
    someone = forge.fake.add_comment("Looks good to me")
    first = forge.gate("--pr-comment", commit="1" * 40)
    assert first.code == 1, first.stderr  # the example fails its gate
    assert not notices(first), first.stderr
    [created] = [c for c in forge.fake.comments if c["id"] != someone]
    assert created["body"].splitlines()[0] == MARK
    assert "Cekura gate failed" in created["body"] and "`1111111" in created["body"]
    assert f"comment {created['id']} created" in first.stderr

    second = forge.gate("--pr-comment", commit="2" * 40)
    assert second.code == 1 and not notices(second), second.stderr
    assert [c["id"] for c in forge.fake.comments] == [someone, created["id"]]  # still one of ours
    assert "`2222222" in created["body"] and "`1111111" not in created["body"]
    assert forge.fake.comments[0]["body"] == "Looks good to me"
    methods = [request.method for request in forge.fake.writes()]
    assert methods == ["POST", forge.fake.edit_method]
    assert f"comment {created['id']} updated" in second.stderr


def test_a_marker_comment_someone_else_wrote_is_neither_edited_nor_in_the_way(forge: Forge):
    """Anyone can write the marker; the gate's verdict never goes into their comment."""
    planted_text = f"{MARK}\n## :white_check_mark: Cekura gate passed"
    planted = forge.fake.add_comment(planted_text)
    for commit in ("1" * 40, "2" * 40):
        run = forge.gate("--pr-comment", commit=commit)
        assert run.code == 1 and not notices(run), run.stderr
    [first, ours] = forge.fake.comments
    assert first == {"id": planted, "body": planted_text, forge.fake.author_field: STRANGER}
    assert ours[forge.fake.author_field] == forge.fake.me
    assert ours["body"].startswith(MARK) and "`2222222" in ours["body"]
    assert [request.method for request in forge.fake.writes()] == ["POST", forge.fake.edit_method]


def test_a_token_that_cannot_write_is_one_notice_and_the_same_exit_code(forge: Forge):
    without = forge.gate()
    forge.fake.read_only = True  # GitHub's answer to a fork's pull request
    run = forge.gate("--pr-comment")
    assert run.code == without.code == 1
    [notice] = notices(run)
    assert f"{forge.fake.forge} answered 403" in notice
    assert forge.fake.comments == []
    assert "Traceback" not in run.stderr


def test_no_pull_request_is_one_notice_and_no_request(forge: Forge):
    without = forge.gate(pull_request=False)
    run = forge.gate("--pr-comment", pull_request=False)
    assert run.code == without.code == 1
    [notice] = notices(run)
    assert "no pull request comment: no " in notice
    assert forge.fake.requests == []


def test_the_token_never_shows_even_when_the_forge_echoes_it(forge: Forge):
    forge.fake.read_only = True
    forge.fake.echo_token = True  # error bodies hold the request's headers, token included
    run = forge.gate("--pr-comment")
    token = forge.fake.token
    assert forge.fake.requests and all(token in str(r.headers) for r in forge.fake.requests)
    lines = run.stdout.splitlines()
    if isinstance(forge.fake, FakeGitHub):  # masked first, as the API key is
        assert lines[0] == f"::add-mask::{token}"
        lines = lines[1:]
    assert token not in "\n".join(lines)
    assert token not in run.stderr
    assert "[redacted]" in notices(run)[0]
    assert token not in forge.written()


def test_sigterm_while_posting_is_exit_143_with_every_report_complete(forge: Forge):
    """A job cancelled while the forge hangs: the gate stops waiting for it at once."""
    forge.fake.hold = threading.Event()
    try:
        started = spawn(forge.argv("--pr-comment"), env=forge.env())
        assert forge.fake.received.wait(20), "the gate never reached the forge"
        started.proc.send_signal(signal.SIGTERM)
        run = finish(started, limit=5.0)  # well within the comment's 10 s budget
    finally:
        forge.fake.hold.set()
    assert run.code == 143, run.stderr
    assert "Traceback" not in run.stderr
    [notice] = notices(run)
    assert "no pull request comment" in notice
    assert forge.fake.writes() == [] and forge.fake.comments == []
    assert json.loads((forge.tmp / "json.out").read_text("utf-8"))["verdict"] == "fail"
    assert parse_dotenv((forge.tmp / "gate.env").read_text("utf-8"))["GATE_VERDICT"] == "fail"
    assert "Cekura gate failed" in (forge.tmp / "summary.out").read_text("utf-8")
    assert "<testsuites" in (forge.tmp / "junit.out").read_text("utf-8")
