"""Infrastructure failures judged apart, end to end: Cekura's reference infrastructure
result, a result whose every failed run is infrastructure-failed, a mixed result and one
where nothing connected, through the command line and every report, and the exit code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import PAYLOADS, make_result, make_run, run_cli
from tests.e2e.harness import gate_env, run_process
from tests.e2e.test_cli import junit_cases, report_flags, write
from tests.golden import status_of

POLICY = "version: 1\nrules:\n  success_rate: {min: 90}\n  runs: {max_failed: 0}\n"
STRICT = POLICY + "  infrastructure: {max: 0}\n"
AGENT_FAIL: dict[str, Any] = {"success": False, "expected_outcome": {"score": 0}}
NEVER_CONNECTED: dict[str, Any] = {
    "success": False,
    "status": "failed",
    "duration": "00:00",
    "error_message": "SIP 503 Service Unavailable",
}
INFRA_EXIT = 4


def result_with(*kinds: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return make_result(
        [make_run(index, **kind) for index, kind in enumerate(kinds, start=1)], **overrides
    )


def gate(tmp_path: Path, policy: str, payload: dict[str, Any] | Path, *flags: str) -> Any:
    """``check`` with every report, GitHub outputs and a dotenv; returns the run and the
    reports as (JSON, Markdown, dotenv, GitHub outputs) text."""
    out = tmp_path / "out"
    result = (
        payload
        if isinstance(payload, Path)
        else write(tmp_path / "result.json", json.dumps(payload))
    )
    write(tmp_path / "gate.yaml", policy)
    outputs = write(tmp_path / "github_output", "")
    run = run_cli(
        "check",
        "--policy",
        str(tmp_path / "gate.yaml"),
        "--result-file",
        str(result),
        "--github",
        "--dotenv",
        str(out / "gate.env"),
        *report_flags(out),
        *flags,
        env={"GITHUB_OUTPUT": str(outputs)},
    )
    assert "Traceback" not in run.stdout + run.stderr
    return run, out, outputs.read_text(encoding="utf-8")


def verdict_json(out: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((out / "verdict.json").read_text(encoding="utf-8"))
    return document


def dotenv(out: Path) -> dict[str, str]:
    lines = (out / "gate.env").read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines)


def error_annotations(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if line.startswith("::error ")]


def github_output(text: str, name: str) -> str:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{name}<<"))
    return lines[start + 1]


@pytest.mark.parametrize(
    ("case", "payload"),
    [
        ("cekura-reference", PAYLOADS / "result_failed_infra.json"),
        ("every-failed-run", result_with({}, {}, NEVER_CONNECTED, NEVER_CONNECTED)),
        ("nothing-connected", result_with(NEVER_CONNECTED, NEVER_CONNECTED)),
        ("listed-by-cekura", result_with({}, AGENT_FAIL, failed_infrastructure_runs=["2"])),
    ],
)
def test_an_infrastructure_only_failure_exits_4_and_every_report_says_so(tmp_path, case, payload):
    run, out, outputs = gate(tmp_path, STRICT, payload)
    assert run.code == INFRA_EXIT, run.stdout + run.stderr
    assert "cekura-gate: FAILED result" in run.stdout
    assert "failure: infrastructure only" in run.stdout
    assert "the agent (" not in run.stdout  # never "agent failed"
    document = verdict_json(out)
    assert (document["verdict"], document["failure"]) == ("fail", "infrastructure")
    assert all(run["infrastructure"] for run in document["failed_runs"])
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "**Failure:** infrastructure only" in summary
    assert "infrastructure failure: " in summary
    assert dotenv(out)["GATE_FAILURE"] == "infrastructure"
    assert github_output(outputs, "failure") == "infrastructure"
    errors = error_annotations(run.stdout)
    assert errors and all("::infrastructure" in line for line in errors), errors
    failures = [case for case in junit_cases(out / "junit.xml") if status_of(case)[0] == "failure"]
    assert failures and all(case.result[0].type == "infrastructure" for case in failures)


def test_nothing_connected_is_never_green_whatever_the_policy_allows(tmp_path):
    lenient = (
        "version: 1\nrules:\n  success_rate: {min: 0}\n  infrastructure: {max: 9, level: warn}\n"
    )
    run, out, _ = gate(tmp_path, lenient, result_with(NEVER_CONNECTED, NEVER_CONNECTED))
    assert run.code == INFRA_EXIT
    failed = {check["id"] for check in verdict_json(out)["checks"] if check["outcome"] == "fail"}
    assert "Runs judged" in failed


def test_a_mixed_result_is_an_agent_failure_and_reports_both(tmp_path):
    run, out, outputs = gate(tmp_path, STRICT, result_with({}, AGENT_FAIL, NEVER_CONNECTED))
    assert run.code == 1
    assert "failure: the agent and infrastructure" in run.stdout
    assert verdict_json(out)["failure"] == "both"
    assert dotenv(out)["GATE_FAILURE"] == "both"
    assert github_output(outputs, "failure") == "both"
    assert github_output(outputs, "infrastructure-runs") == "1"


def test_an_agent_failure_beside_a_tolerated_infrastructure_failure_blames_the_agent(tmp_path):
    run, out, _ = gate(tmp_path, POLICY, result_with({}, AGENT_FAIL, NEVER_CONNECTED))
    assert run.code == 1
    assert verdict_json(out)["failure"] == "agent"
    assert verdict_json(out)["counts"]["infrastructure_runs"] == 1


def test_a_call_that_never_connected_no_longer_fails_the_agent(tmp_path):
    # Before: the success rate (2 of 3) and the failed-run cap failed, and the gate was red.
    run, out, _ = gate(tmp_path, POLICY, result_with({}, {}, NEVER_CONNECTED))
    assert run.code == 0, run.stdout
    assert verdict_json(out)["verdict"] == "warn"  # the default infrastructure rule warns
    assert "infrastructure: 1 of 3 runs infrastructure-failed" in run.stdout


@pytest.mark.parametrize(
    ("flags", "code"),
    [
        ([], INFRA_EXIT),
        (["--fail-on", "warning"], INFRA_EXIT),
        (["--fail-on", "never"], 0),
        (["--warn-exit-code", "10"], INFRA_EXIT),
    ],
)
def test_fail_on_and_warn_exit_code_leave_the_infrastructure_exit_code_alone(tmp_path, flags, code):
    run, _, _ = gate(tmp_path, STRICT, result_with({}, NEVER_CONNECTED), *flags)
    assert run.code == code


@pytest.mark.parametrize(
    ("kinds", "code"),
    [
        (({}, {}, NEVER_CONNECTED), INFRA_EXIT),  # only the default infrastructure rule warns
        (({}, AGENT_FAIL, NEVER_CONNECTED), 1),  # the agent's failure warns too
    ],
)
def test_fail_on_warning_does_not_blame_the_agent_for_infrastructure_warnings(
    tmp_path, kinds, code
):
    policy = "version: 1\nrules:\n  runs: {max_failed: 0, level: warn}\n"
    run, _, _ = gate(tmp_path, policy, result_with(*kinds), "--fail-on", "warning")
    assert run.code == code, run.stdout + run.stderr
    # the exit is explained, and only an infrastructure one says infrastructure
    assert ("every warning is about infrastructure" in run.stderr) is (code == INFRA_EXIT)


def test_the_infrastructure_exit_code_cannot_be_the_warn_exit_code(tmp_path):
    run, _, _ = gate(tmp_path, POLICY, result_with({}), "--warn-exit-code", str(INFRA_EXIT))
    assert run.code == 2
    assert f"{INFRA_EXIT} is not allowed" in run.stderr


def test_the_real_process_exits_4_on_cekuras_reference_infrastructure_result(tmp_path):
    write(tmp_path / "gate.yaml", POLICY)
    done = run_process(
        [
            "check",
            "--policy",
            str(tmp_path / "gate.yaml"),
            "--result-file",
            str(PAYLOADS / "result_failed_infra.json"),
        ],
        env=gate_env(),
    )
    assert done.returncode == INFRA_EXIT, done.stdout + done.stderr
    assert "never connected" in done.stdout


def headline(stdout: str) -> str:
    return next(line for line in stdout.splitlines() if line.startswith("cekura-gate: "))


def check_line(stdout: str, title: str) -> str:
    return next(line for line in stdout.splitlines() if line.startswith(f"  PASS  {title} "))


def test_the_headline_and_every_report_agree_with_the_checks(tmp_path):
    # 3 runs, 2 passed, 1 never connected: the checks judge 2 runs and pass them all. The
    # headline said "3 runs, 1 failed, success rate 66.67%" over a passing success rate.
    policy = POLICY + "  infrastructure: {max: 1}\n"
    run, out, outputs = gate(tmp_path, policy, result_with({}, {}, NEVER_CONNECTED))
    assert run.code == 0, run.stdout + run.stderr
    assert headline(run.stdout) == (
        "cekura-gate: PASSED result 500 (completed, 3 runs: 2 judged, 1 infrastructure-failed; "
        "0 failed, success rate 100% of those judged)"
    )
    assert "  100% (1 infrastructure-failed run left out)" in check_line(run.stdout, "Success rate")
    assert "  0 of 2 (1 infrastructure-failed run left out)" in check_line(
        run.stdout, "Runs failed"
    )
    counts = verdict_json(out)["counts"]
    assert counts == {
        "total_runs": 3,
        "successful_runs": 2,
        "failed_runs": 0,
        "success_rate": 100.0,
        "met_expected_outcomes": counts["met_expected_outcomes"],
        "total_expected_outcomes": counts["total_expected_outcomes"],
        "infrastructure_runs": 1,
        "judged_runs": 2,
    }
    env = dotenv(out)
    assert (env["GATE_TOTAL_RUNS"], env["GATE_JUDGED_RUNS"], env["GATE_INFRASTRUCTURE_RUNS"]) == (
        "3",
        "2",
        "1",
    )
    assert (env["GATE_FAILED_RUNS"], env["GATE_SUCCESS_RATE"]) == ("0", "100")
    assert [github_output(outputs, name) for name in ("judged-runs", "failed-runs")] == ["2", "0"]
    assert github_output(outputs, "success-rate") == "100"
    head = "3 runs: 2 judged, 1 infrastructure-failed; 0 failed · success rate 100% of those judged"
    assert head in (out / "summary.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("kinds", "figures_text", "figures"),
    [
        (
            ({}, AGENT_FAIL, NEVER_CONNECTED),
            "3 runs: 2 judged, 1 infrastructure-failed; 1 failed, success rate 50% of those judged",
            ("1", "50", "2"),
        ),
        (
            (NEVER_CONNECTED, NEVER_CONNECTED),
            "2 runs: 0 judged, 2 infrastructure-failed, success rate n/a (no run judged)",
            ("0", "", "0"),
        ),
    ],
)
def test_the_headline_counts_the_runs_judged_in_a_mixed_result_and_in_one_judging_none(
    tmp_path, kinds, figures_text, figures
):
    run, out, outputs = gate(tmp_path, STRICT, result_with(*kinds))
    assert f", {figures_text})" in headline(run.stdout)
    env = dotenv(out)
    assert (env["GATE_FAILED_RUNS"], env["GATE_SUCCESS_RATE"], env["GATE_JUDGED_RUNS"]) == figures
    names = ("failed-runs", "success-rate", "judged-runs")
    assert tuple(github_output(outputs, name) for name in names) == figures
    counts = verdict_json(out)["counts"]
    assert counts["judged_runs"] == int(figures[2])
    assert counts["success_rate"] == (float(figures[1]) if figures[1] else None)


def test_a_rule_counting_infrastructure_failures_leaves_the_headline_on_the_runs_judged(tmp_path):
    policy = "version: 1\nrules:\n  success_rate: {min: 50, infrastructure: count}\n"
    run, out, _ = gate(tmp_path, policy, result_with({}, {}, NEVER_CONNECTED))
    assert "; 0 failed, success rate 100% of those judged)" in headline(run.stdout)
    assert check_line(run.stdout, "Success rate").split()[3:] == [
        "66.67%",
        "(expected",
        ">=",
        "50%)",
    ]
    assert verdict_json(out)["counts"]["success_rate"] == 100.0


def test_without_infrastructure_failures_the_figures_read_as_before(tmp_path):
    run, out, outputs = gate(tmp_path, POLICY, result_with({}, {}, AGENT_FAIL))
    assert "(completed, 3 runs, 1 failed, success rate 66.67%)" in headline(run.stdout)
    assert "judged_runs" not in verdict_json(out)["counts"]
    assert "GATE_JUDGED_RUNS" not in dotenv(out)
    assert (dotenv(out)["GATE_FAILED_RUNS"], dotenv(out)["GATE_SUCCESS_RATE"]) == ("1", "66.67")
    assert github_output(outputs, "judged-runs") == "3"
    assert "· 3 runs, 1 failed · success rate 66.67%" in (out / "summary.md").read_text("utf-8")


def test_the_baseline_line_states_the_rate_the_relative_rule_compares(tmp_path):
    # The baseline's call that never connected: the rule compares 100% with 100%, and the
    # baseline line said "3 runs, success rate 66.67%".
    baseline = write(tmp_path / "baseline.json", json.dumps(result_with({}, {}, NEVER_CONNECTED)))
    policy = "version: 1\nrules:\n  success_rate: {max_drop: 5}\n  infrastructure: {max: 1}\n"
    run, out, _ = gate(tmp_path, policy, result_with({}, {}), "--baseline-file", str(baseline))
    figures = "3 runs: 2 judged, 1 infrastructure-failed, success rate 100% of those judged"
    assert f"  compared with the baseline {baseline} (result 500, {figures})" in run.stdout
    assert f"(result 500, release check, {figures})" in (out / "summary.md").read_text("utf-8")
    document = verdict_json(out)
    assert document["baseline"]["success_rate"] == 100.0
    assert (document["baseline"]["judged_runs"], document["baseline"]["infrastructure_runs"]) == (
        2,
        1,
    )
    check = next(check for check in document["checks"] if check["id"] == "Success rate vs baseline")
    assert (check["baseline"], check["outcome"]) == ("100%", "pass")
