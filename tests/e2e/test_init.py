"""End-to-end tests of ``cekura-gate init``: the policy it writes round-trips through ``check``
and ``validate --against`` on every finished fixture (from a file and from the fake API), and a
worse result fails it; it never replaces a policy without ``--force``, never writes over a file
it reads, never leaves half a file, and says what is wrong in one line with the right exit code.
A missing policy's error names ``init``. How the gate is run: tests/e2e/gating.py.
"""

from __future__ import annotations

import os
import re

import pytest

from gate.policy.starter import starter_policy
from tests.conftest import ROOT, run_cli
from tests.e2e.gating import ERROR_PREFIX, KEY, example, gate, write_json
from tests.e2e.harness import gate_env, run_process
from tests.variants import FINISHED, RESULTS, finished, one_more_failed_run, read, worse_metric


@pytest.fixture
def api_key() -> str:
    return KEY


def one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(ERROR_PREFIX), stderr
    assert "Traceback" not in stderr
    return lines[0].removeprefix(ERROR_PREFIX)


# --------------------------------------------------------------------------- round trip


@pytest.mark.parametrize("fixture", FINISHED, ids=str)
def test_init_then_check_and_validate_pass_on_the_result_it_came_from(tmp_path, fixture):
    result_path, runs_path = FINISHED[fixture]
    runs = ["--runs-file", str(runs_path)] if runs_path else []
    made = run_cli("init", "--from-result-file", str(result_path), *runs, cwd=tmp_path)
    assert made.code == 0, made.stderr
    assert made.stdout.startswith("gate.yaml: policy drafted from result ")
    validated = run_cli("validate", "--against", str(result_path), *runs, cwd=tmp_path)
    assert validated.code == 0, validated.stdout
    checked = gate(
        tmp_path / "out", "check", "--result-file", str(result_path), *runs, cwd=tmp_path
    )
    if read(result_path)["status"] == "completed":
        assert checked.code == 0, checked.stdout
    else:  # a result that ended failed or timeout fails check whatever the policy says; no
        # run of these connected: an infrastructure failure (exit 4), never the agent's
        assert checked.code == 4
        failed = [item for item in checked.doc()["checks"] if item["outcome"] == "fail"]
        assert "result.status" in [item["key"] for item in failed]
        assert all(item["infrastructure"] for item in failed)
        assert "note: result" in made.stdout


WORSE = {
    "one-more-failed-run": (one_more_failed_run, "Runs failed"),
    "latency-20-percent-slower": (
        lambda payload: worse_metric(payload, "Latency", 33, 1.2),
        "Latency p50",
    ),
    "pronunciation-20-percent-lower": (
        lambda payload: worse_metric(payload, "Pronunciation Analysis", 2950, 0.8),
        "Pronunciation Analysis p50",
    ),
}


@pytest.mark.parametrize("worse", WORSE, ids=str)
def test_the_drafted_policy_fails_a_worse_result(tmp_path, worse):
    change, title = WORSE[worse]
    result = write_json(tmp_path / "result.json", finished("completed-mixed+runs"))
    assert run_cli("init", "--from-result-file", str(result), cwd=tmp_path).code == 0
    worse_result = write_json(tmp_path / "worse.json", change(finished("completed-mixed+runs")))
    checked = gate(tmp_path / "out", "check", "--result-file", str(worse_result), cwd=tmp_path)
    assert checked.code == 1
    failed = [item["title"] for item in checked.doc()["checks"] if item["outcome"] == "fail"]
    assert title in failed
    if worse != "one-more-failed-run":  # which also lowers the success rate
        assert failed == [title]


def test_init_from_the_api_writes_a_policy_the_result_passes_without_leaking_the_key(
    tmp_path, fake
):
    fake.add_result(167, [example()])
    made = run_cli(
        *("init", "--result-id", "167", "--api-url", fake.url),
        cwd=tmp_path,
        env={"CEKURA_API_KEY": KEY},
    )
    assert made.code == 0, made.stderr
    assert "policy drafted from result 167" in made.stdout
    assert "validate --result-id 167" in made.stdout
    text = (tmp_path / "gate.yaml").read_text("utf-8")
    assert KEY not in made.stdout + made.stderr + text
    assert not fake.unauthorised_requests()
    checked = gate(
        tmp_path / "out",
        "check",
        "--result-file",
        str(RESULTS / "result_completed_mixed.json"),
        cwd=tmp_path,
    )
    assert checked.code == 0, checked.stdout


def test_init_from_the_api_refuses_a_result_that_is_not_finished(tmp_path, fake):
    running = read(RESULTS / "result_running.json")
    fake.add_result(167, [running])
    made = run_cli(
        *("init", "--result-id", "167", "--api-url", fake.url, "--timeout", "5s"),
        cwd=tmp_path,
        env={"CEKURA_API_KEY": KEY},
    )
    assert made.code == 3
    assert "not finished (status 'running')" in one_error_line(made.stderr)
    assert not (tmp_path / "gate.yaml").exists()


# --------------------------------------------------------------------------- what it writes


def test_init_writes_the_starter_that_validate_accepts(tmp_path):
    made = run_cli("init", cwd=tmp_path)
    assert made.code == 0, made.stderr
    assert made.stdout == (
        "gate.yaml: starter policy written (rules: success_rate, expected_outcomes, runs, "
        "infrastructure, critical_categories, metrics, scenarios); set each value to what you "
        "release on, "
        "then: cekura-gate validate\n"
    )
    assert (tmp_path / "gate.yaml").read_text("utf-8") == starter_policy()
    assert run_cli("validate", cwd=tmp_path).code == 0


def test_init_to_stdout_prints_the_policy_and_writes_nothing(tmp_path):
    made = run_cli(
        "init",
        "--policy",
        "-",
        "--from-result-file",
        str(RESULTS / "result_failed_infra.json"),
        cwd=tmp_path,
    )
    assert made.code == 0, made.stderr
    assert made.stdout.startswith(
        "# cekura-gate policy drafted by `cekura-gate init` from result 77"
    )
    assert made.stderr.startswith("cekura-gate: note: result 77 ended 'failed'")
    assert list(tmp_path.iterdir()) == []


def test_init_writes_where_policy_says_and_names_it_in_the_hints(tmp_path):
    (tmp_path / "ci").mkdir()
    made = run_cli("init", "--policy", "ci/my gate.yaml", cwd=tmp_path)
    assert made.code == 0, made.stderr
    assert made.stdout.endswith("then: cekura-gate validate --policy 'ci/my gate.yaml'\n")
    assert run_cli("validate", "--policy", "ci/my gate.yaml", cwd=tmp_path).code == 0


@pytest.mark.parametrize(("margin", "shown"), [("12.5", "12.5"), ("0.5%", "0.5"), ("0", "0")])
def test_the_margin_is_a_percent_written_as_the_policy_writes_percents(tmp_path, margin, shown):
    made = run_cli(
        *(
            "init",
            "--margin",
            margin,
            "--from-result-file",
            str(RESULTS / "result_completed_mixed.json"),
        ),
        cwd=tmp_path,
    )
    assert made.code == 0, made.stderr
    assert f"with a {shown} % margin" in made.stdout
    assert f"loosened by a {shown} %\n" in (tmp_path / "gate.yaml").read_text("utf-8")


def test_the_documented_draft_is_what_init_writes(tmp_path):
    """docs/init.md shows the whole policy drafted from the example result and its runs."""
    doc = (ROOT / "docs" / "init.md").read_text("utf-8")
    shown = re.search(r"it writes:\n\n```yaml\n(.*?)```", doc, re.S)
    assert shown is not None
    made = run_cli(
        *("init", "--from-result-file", str(RESULTS / "result_completed_mixed.json")),
        *("--runs-file", str(RESULTS / "runs_bulk.json")),
        cwd=tmp_path,
    )
    assert made.code == 0, made.stderr
    assert (tmp_path / "gate.yaml").read_text("utf-8") == shown[1]


def test_the_documented_starter_is_what_init_writes():
    doc = (ROOT / "docs" / "init.md").read_text("utf-8")
    assert f"```yaml\n{starter_policy()}```" in doc


# --------------------------------------------------------------------------- refusals


def test_init_refuses_to_replace_a_policy_without_force(tmp_path):
    policy = tmp_path / "gate.yaml"
    policy.write_text("mine\n", encoding="utf-8")
    refused = run_cli("init", cwd=tmp_path)
    assert refused.code == 2
    assert one_error_line(refused.stderr) == (
        "gate.yaml: a policy file is there already; pass --force to replace it"
    )
    assert policy.read_text("utf-8") == "mine\n"
    forced = run_cli("init", "--force", cwd=tmp_path)
    assert forced.code == 0, forced.stderr
    assert policy.read_text("utf-8") == starter_policy()


def test_init_never_writes_over_the_result_it_reads_even_with_force(tmp_path):
    result = write_json(tmp_path / "result.json", finished("completed-mixed"))
    before = result.read_bytes()
    refused = run_cli(
        "init",
        "--force",
        "--policy",
        "result.json",
        "--from-result-file",
        "result.json",
        cwd=tmp_path,
    )
    assert refused.code == 2
    assert "is the same file as --from-result-file" in one_error_line(refused.stderr)
    assert result.read_bytes() == before


FROM = "--from-result-file"
REFUSALS = [
    # (id, arguments after `init`, exit code, fragment of the one error line)
    ("no-directory", ["--policy", "nowhere/gate.yaml"], 2, "no such directory"),
    ("a-directory", ["--policy", "."], 2, "is a directory"),
    ("margin-alone", ["--margin", "10"], 2, "--margin goes with --from-result-file"),
    ("runs-alone", ["--runs-file", "runs.json"], 2, "--runs-file needs --from-result-file"),
    ("margin-fraction", ["--margin", "0.1", FROM, "r.json"], 2, "did you mean 10?"),
    ("margin-too-big", ["--margin", "150", FROM, "r.json"], 2, "from 0 to 100"),
    ("margin-word", ["--margin", "fast", FROM, "r.json"], 2, "expected a percent"),
    ("missing-result", [FROM, "missing.json"], 3, "missing.json: cannot read the result"),
    ("runs-bulk-as-result", [FROM, "runs.json"], 3, "not a Cekura result"),
    ("running", [FROM, "running.json"], 3, "result 167 is not finished (status 'running')"),
    ("both-sources", [FROM, "r.json", "--result-id", "1"], 2, "--from-result-file"),
    ("no-key", ["--result-id", "167"], 2, "CEKURA_API_KEY"),
]


@pytest.mark.parametrize(
    ("arguments", "code", "fragment"),
    [pytest.param(*case[1:], id=case[0]) for case in REFUSALS],
)
def test_init_refusals_are_one_line_with_the_right_code_and_write_nothing(
    tmp_path, arguments, code, fragment
):
    write_json(tmp_path / "runs.json", read(RESULTS / "runs_bulk.json"))
    write_json(tmp_path / "running.json", read(RESULTS / "result_running.json"))
    made = run_cli("init", *arguments, cwd=tmp_path)
    assert made.code == code
    assert fragment in one_error_line(made.stderr)
    assert not (tmp_path / "gate.yaml").exists()


def test_init_refuses_a_directory_it_cannot_write(tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access

    def access(path: object, mode: int, **kwargs: object) -> bool:
        # root may write anywhere, so the refusal is shown by a directory access() denies
        if os.path.realpath(str(path)) == os.path.realpath(locked) and mode & os.W_OK:
            return False
        return real_access(path, mode)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "access", access)
    made = run_cli("init", "--policy", "locked/gate.yaml", cwd=tmp_path)
    assert made.code == 2
    assert "is not writable" in one_error_line(made.stderr)
    assert list(locked.iterdir()) == []


def test_a_failed_write_leaves_the_old_policy_whole_and_no_temp_file(tmp_path, monkeypatch):
    policy = tmp_path / "gate.yaml"
    policy.write_text("mine\n", encoding="utf-8")

    def no_space(*args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", no_space)
    made = run_cli("init", "--force", cwd=tmp_path)
    assert made.code == 2
    assert (
        one_error_line(made.stderr) == "gate.yaml: cannot write the policy: No space left on device"
    )
    assert policy.read_text("utf-8") == "mine\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["gate.yaml"]


def test_a_device_is_written_into_not_refused_as_an_existing_policy(tmp_path):
    made = run_cli("init", "--policy", os.devnull, cwd=tmp_path)
    assert made.code == 0, made.stderr


# --------------------------------------------------------------------------- a missing policy


@pytest.mark.parametrize(
    "command",
    [
        ["check", "--result-file", "r.json"],
        ["validate"],
        ["run", "--agent-id", "1", "--scenario-ids", "1"],  # nothing is started without one
    ],
    ids=lambda command: command[0],
)
def test_a_missing_policy_names_init(tmp_path, command):
    write_json(tmp_path / "r.json", finished("completed-mixed"))
    run = run_cli(*command, cwd=tmp_path)
    assert run.code == 2
    assert (
        one_error_line(run.stderr) == "gate.yaml: no such file; write one with `cekura-gate init`"
    )


# --------------------------------------------------------------------------- a real process


@pytest.mark.slow  # starts two processes
def test_the_real_command_writes_a_policy_that_check_passes(tmp_path):
    result = str(RESULTS / "result_completed_mixed.json")
    made = run_process(["init", "--from-result-file", result], env=gate_env(), cwd=tmp_path)
    assert made.code == 0, made.stderr
    checked = run_process(["check", "--result-file", result], env=gate_env(), cwd=tmp_path)
    assert checked.code == 0, checked.stdout + checked.stderr
