"""End-to-end tests of rules judged run by run: per-scenario rules (k passes of n) and
per-metric rules (mean, percentiles, enums), from a result file and live. How the gate is run
and checked: tests/e2e/gating.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import make_result, make_run
from tests.e2e.gating import (
    FAST_WAIT,
    KEY,
    RESULT_FILE,
    RESULT_ID,
    assert_no_verdict,
    example,
    gate,
    policy_file,
    write_json,
)


@pytest.fixture
def api_key() -> str:
    return KEY


def scenario_result(outcomes: dict[str, list[bool]]) -> dict[str, Any]:
    """A completed result with one scenario per key and one run per outcome."""
    runs: list[dict[str, Any]] = []
    for scenario_id, (name, passes) in enumerate(outcomes.items(), start=1):
        for passed in passes:
            runs.append(
                make_run(
                    len(runs) + 1,
                    scenario=scenario_id,
                    scenario_name=name,
                    success=passed,
                    expected_outcome={"score": 100 if passed else 0},
                )
            )
    return make_result(runs)


# --------------------------------------------------------------------------- scenarios (k of n)


KOFN = [
    pytest.param(
        {"Book an appointment": [True, True, False], "Cancel a booking": [True]},
        '    - {match: "book*", min_passes: 2, frequency: 3}\n',
        0,
        "scenarios[0].min_passes[Book an appointment]",
        ("pass", "2 of 3"),
        id="2-of-3-pass",
    ),
    pytest.param(
        {"Book an appointment": [True, False, False], "Cancel a booking": [True]},
        '    - {match: "book*", min_passes: 2, frequency: 3}\n',
        1,
        "scenarios[0].min_passes[Book an appointment]",
        ("fail", "1 of 3"),
        id="1-of-3-fails",
    ),
    pytest.param(
        {"Book an appointment": [True, True]},
        "    - {match: Book an appointment, min_passes: 2, frequency: 3}\n"
        "    - {match: Refund a payment, required: true}\n",
        1,
        "scenarios[1].required",
        ("fail", "not in this result"),
        id="required-absent",
    ),
    pytest.param(
        {"Book an appointment": [True, True]},
        "    - {match: Book an appointment, min_pass_percent: 100, frequency: 3}\n",
        1,
        "scenarios[0].min_pass_percent[Book an appointment]",
        ("fail", "66.67% (2 of 3)"),
        id="missing-runs-count-as-not-passed",
    ),
    pytest.param(
        {"Book an appointment": [True], "Cancel a booking": [True, True, False]},
        "    - {match: 2, min_pass_percent: 60, required: true}\n",
        0,
        "scenarios[0].min_pass_percent[Cancel a booking]",
        ("pass", "66.67% (2 of 3)"),
        id="by-id-required-present",
    ),
    pytest.param(
        {"Book an appointment": [True]},
        "    - {match: Refund*, min_passes: 1, level: warn}\n",
        1,
        "scenarios[0]",
        ("fail", "not in this result"),
        id="absent-fails-at-any-level",
    ),
    pytest.param(
        {"Book an appointment": [True]},
        "    - {match: Refund*, min_passes: 1, missing: ignore}\n",
        0,
        "scenarios[0]",
        ("skip", "not in this result"),
        id="absent-missing-ignore",
    ),
]


@pytest.mark.parametrize(("outcomes", "rules", "code", "check_id", "expected"), KOFN)
def test_scenario_k_of_n(tmp_path, outcomes, rules, code, check_id, expected):
    policy = policy_file(tmp_path, "  scenarios:\n" + rules)
    result = write_json(tmp_path / "result.json", scenario_result(outcomes))
    outcome = gate(tmp_path / "out", "check", "--policy", str(policy), "--result-file", str(result))
    assert outcome.code == code, outcome.stdout
    check = outcome.check(check_id)
    assert (check["outcome"], check["actual"]) == expected
    assert outcome.md_row(check["title"])[2] == check["actual"]
    kind = outcome.junit()[check["id"]][0]
    assert kind == {"pass": "passed", "skip": "skipped"}.get(check["outcome"], "failure")


# --------------------------------------------------------------------------- metrics from runs

METRIC_RULES = [
    pytest.param(
        "{name: Call Pickup, pass_percent: {min: 100}}",
        0,
        "pass_percent",
        "100% (2 of 2 runs)",
        id="pass_percent-met",
    ),
    pytest.param(
        "{name: workflow-adherence-check, pass_percent: {min: 50}}",
        1,
        "pass_percent",
        "0% (0 of 1 run)",
        id="pass_percent-below",
    ),
    pytest.param(
        "{name: Pronunciation Analysis, mean: {min: 70}}", 0, "mean", "76.5", id="mean-met"
    ),
    pytest.param(
        "{name: Pronunciation Analysis, mean: {min: 80}}", 1, "mean", "76.5", id="mean-below"
    ),
    pytest.param("{id: 2950, mean: {max: 80}}", 0, "mean", "76.5", id="mean-by-id"),
    pytest.param(
        "{name: customer sentiment, enum: {value: Unsatisfied, max_percent: 50}}",
        0,
        "enum",
        "50% (1 of 2 runs)",
        id="enum-at-the-cap",
    ),
    pytest.param(
        "{name: Customer Sentiment, enum: {value: unsatisfied, max_percent: 40}}",
        1,
        "enum",
        "50% (1 of 2 runs)",
        id="enum-over-the-cap",
    ),
    pytest.param("{name: Latncy, mean: {max: 2000}}", 1, "mean", "not found", id="unknown-metric"),
]


@pytest.mark.parametrize(("rule", "code", "kind", "actual"), METRIC_RULES)
def test_metric_rules_from_runs(tmp_path, rule, code, kind, actual):
    policy = policy_file(tmp_path, f"  metrics:\n    - {rule}\n")
    outcome = gate(
        tmp_path / "out", "check", "--policy", str(policy), "--result-file", str(RESULT_FILE)
    )
    assert outcome.code == code, outcome.stdout
    check = outcome.check(f"metrics[0].{kind}")
    assert check["actual"] == actual
    assert check["outcome"] == ("pass" if code == 0 else "fail")
    if actual == "not found":
        assert "metrics present: " in check["reason"] and "Latency" in check["reason"]
    if code:
        assert outcome.junit()[check["id"]][1] == check["reason"]


@pytest.mark.parametrize(
    "rules",
    [
        pytest.param("  scenarios: [{match: '*', min_passes: 1}]\n", id="scenario-rule"),
        pytest.param("  metrics: [{name: Latency, mean: {max: 5000}}]\n", id="metric-mean"),
    ],
)
def test_live_rules_over_runs_need_every_run_listed(tmp_path, fake, rules):
    partial = example()
    partial["runs"] = {"274": partial["runs"]["274"]}  # lists 1 of its 2 runs
    fake.add_result(RESULT_ID, [partial])
    policy = policy_file(tmp_path, rules, head=FAST_WAIT)
    outcome = gate(
        tmp_path / "out",
        *("check", "--policy", str(policy), "--result-id", str(RESULT_ID)),
        *("--api-url", fake.url),
        key=KEY,
    )
    assert_no_verdict(outcome, "lists 1 of its 2 runs")
