"""End-to-end tests of ``validate --against``: a policy checked against a real result (a file or
the API) lists every name that matches nothing, with a suggestion, and never leaks the key.
How the gate is run: tests/e2e/gating.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import DATA, run_cli
from tests.e2e.gating import (
    BULK_FILE,
    ERROR_PREFIX,
    KEY,
    RELEASE_GATE,
    RESULT_FILE,
    RESULT_ID,
    example,
    policy_file,
    write_text,
)

TYPOS_POLICY = DATA / "validate" / "typos.yaml"


@pytest.fixture
def api_key() -> str:
    return KEY


# --------------------------------------------------------------------------- validate --against


TYPOS = [
    ("rules.critical_categories.ignore[0]", "Agent provided incorrect information about service"),
    ("rules.metrics[0].name", "did you mean 'Latency'?"),
    ("rules.metrics[1].enum.value", "did you mean 'unsatisfied'?"),
    ("rules.metrics[2].pass_percent", "pass_percent needs binary pass/fail values on the runs"),
    ("rules.scenarios[0].match", "did you mean 'Greeting and triage'?"),
]


def assert_typos_listed(stdout: str, policy: str) -> None:
    lines = stdout.splitlines()
    named = [line for line in lines if line.startswith(f"{policy}: rules.")]
    assert len(named) == len(TYPOS), stdout
    for line, (path, hint) in zip(named, TYPOS, strict=True):
        assert line.startswith(f"{policy}: {path}: ") and hint in line, line
    assert lines[-1].startswith(f"{policy}: 5 ") and "result 167" in lines[-1], lines[-1]


def test_validate_against_lists_every_typo_with_a_suggestion(tmp_path):
    policy = str(TYPOS_POLICY)
    run = run_cli(
        *("validate", "--policy", policy),
        *("--against", str(RESULT_FILE), "--runs-file", str(BULK_FILE)),
    )
    assert run.code == 1, run.stderr
    assert run.stderr == ""
    assert_typos_listed(run.stdout, policy)


def test_validate_against_the_api_lists_typos_without_leaking_the_key(tmp_path, fake):
    fake.add_result(RESULT_ID, [example()])
    policy = str(TYPOS_POLICY)
    run = run_cli(
        *("validate", "--policy", policy, "--result-id", str(RESULT_ID), "--api-url", fake.url),
        env={"CEKURA_API_KEY": KEY},
    )
    assert run.code == 1, run.stderr
    assert_typos_listed(run.stdout, policy)
    assert KEY not in run.stdout + run.stderr
    assert not fake.unauthorised_requests()


def test_validate_against_a_clean_policy_exits_0(tmp_path):
    shutil.copytree(RELEASE_GATE, tmp_path / "release")
    run = run_cli(
        "validate", "--policy", "release/gate.yaml", "--against", str(RESULT_FILE), cwd=tmp_path
    )
    assert run.code == 0, run.stdout + run.stderr
    assert run.stderr == ""
    assert run.stdout.splitlines()[-1] == (
        "release/gate.yaml: every metric, scenario and category the policy names is in result 167"
    )
    assert "did you mean" not in run.stdout


def test_validate_only_notes_an_enum_value_that_may_just_not_have_occurred(tmp_path):
    rules = (
        "  metrics:\n    - {name: Customer Sentiment, enum: {value: frustrated, max_percent: 9}}\n"
    )
    policy = policy_file(tmp_path, rules)
    run = run_cli("validate", "--policy", str(policy), "--against", str(RESULT_FILE))
    assert run.code == 0, run.stdout
    [note] = [line for line in run.stdout.splitlines() if ": note: " in line]
    assert note.startswith(f"{policy}: note: rules.metrics[0].enum.value: ")
    assert "'frustrated'" in note and "'satisfied', 'unsatisfied'" in note


@pytest.mark.parametrize(
    ("policy_text", "against", "code", "fragment"),
    [
        pytest.param(
            "version: 1\nrules:\n  succes_rate: {min: 1}\n",
            RESULT_FILE,
            2,
            "did you mean 'success_rate'?",
            id="invalid-policy",
        ),
        pytest.param(
            "version: 1\nrules:\n  runs: {min_total: 1}\n",
            Path("no-such-result.json"),
            3,
            "cannot read the result",
            id="missing-result",
        ),
        pytest.param(
            "version: 1\nrules:\n  runs: {min_total: 1}\n",
            BULK_FILE,
            3,
            "not a Cekura result",
            id="runs-bulk-as-result",
        ),
    ],
)
def test_validate_against_bad_inputs(tmp_path, policy_text, against, code, fragment):
    policy = write_text(tmp_path / "gate.yaml", policy_text)
    run = run_cli("validate", "--policy", str(policy), "--against", str(against), cwd=tmp_path)
    assert run.code == code
    assert "Traceback" not in run.stderr
    [line] = run.stderr.splitlines()
    assert line.startswith(ERROR_PREFIX) and fragment in line, line
