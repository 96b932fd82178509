"""Rules over runs when a result lists only part of its runs, or counts them oddly: unknown, never
a pass.
"""

from __future__ import annotations

import pytest

from gate.results.model import Result
from gate.results.normalise import normalise
from gate.rules.checks import Outcome
from gate.rules.evaluate import VerdictStatus
from gate.rules.lint import lint
from tests.conftest import make_result, make_run
from tests.unit.rules.builders import (
    NO_NEW_FAILURES,
    greeting,
    judge,
    numeric,
    result,
    rule_checks,
    rules_policy,
    scenarios,
    the_check,
    v2,
    with_metrics,
)

PARTIAL_RULES = [
    pytest.param("metrics: [{name: Greeting, pass_percent: {min: 95}}]", id="pass-percent"),
    pytest.param("metrics: [{name: Latency, mean: {max: 5000}}]", id="mean"),
    pytest.param("metrics: [{name: Latency, p50: {max: 5000}}]", id="p50-from-runs"),
    pytest.param("metrics: [{name: Mood, enum: {value: angry, max_percent: 10}}]", id="enum"),
    pytest.param("scenarios: [{match: '*', min_pass_percent: 100}]", id="k-of-n"),
    pytest.param("scenarios: [{match: 'Nope', min_passes: 1}]", id="absent-not-required"),
]


def _listed_one_of_three() -> Result:
    metrics = [v2(True), numeric(900), {"name": "Mood", "type": "enum", "value": "calm"}]
    return with_metrics(metrics, total_runs_count=3, success_runs_count=1)


@pytest.mark.parametrize("rules", PARTIAL_RULES)
def test_a_rule_over_runs_fails_when_the_result_lists_fewer_runs_than_it_counts(rules):
    checks = rule_checks(judge(rules, _listed_one_of_three()))
    assert checks and all(check.outcome is Outcome.FAIL for check in checks)
    assert all("lists 1 of its 3 runs" in check.reason for check in checks)


def test_a_summary_p50_does_not_need_every_run():
    summary = {"numeric_metrics": [{"name": "Latency", "percentiles": {"p50": 900}}]}
    current = with_metrics([numeric(900)], total_runs_count=3, overall_evaluation=summary)
    check = the_check(
        judge("metrics: [{name: Latency, p50: {max: 1000}}]", current), "metrics[0].p50"
    )
    assert check.outcome is Outcome.PASS


def test_no_new_failures_fails_when_the_baseline_lists_fewer_runs_than_it_counts():
    baseline = result([], total_runs_count=3, success_runs_count=3)
    current = scenarios((1, 1, "Book", False))
    check = the_check(judge(NO_NEW_FAILURES, current, baseline), "scenarios.no_new_failures")
    assert check.outcome is Outcome.FAIL
    assert "lists no runs" in check.reason


def test_a_run_listed_twice_under_one_id_is_counted_once():
    twice = [
        make_run(11, scenario=5),
        make_run(11, scenario=5),
        make_run(12, success=False, scenario=5),
    ]
    payload = make_result([])
    payload["runs"] = twice  # a list, as some payloads send it: ids can repeat
    current = normalise(payload)
    verdict = judge("scenarios: [{match: 5, min_passes: 2, frequency: 2}]", current)
    assert [run.id for run in current.runs] == [11, 12]
    assert any("counted once" in note for note in current.notes)
    assert verdict.status is VerdictStatus.FAIL


@pytest.mark.parametrize(
    ("metric", "actual"),
    [
        pytest.param(
            greeting(eval_type="binary", passed="no"), "50% (1 of 2 runs)", id="passed-no"
        ),
        pytest.param(greeting(eval_type="binary", passed=None), "50% (1 of 2 runs)", id="null"),
        pytest.param(greeting(score=0), "50% (1 of 2 runs)", id="untyped-score-0"),
        pytest.param(greeting(score=5), "100% (2 of 2 runs)", id="untyped-score-5"),
        pytest.param(greeting(score=3), "100% (1 of 1 run)", id="untyped-other-score-ignored"),
    ],
)
def test_pass_percent_counts_unreadable_binary_values_as_failed(metric, actual):
    current = with_metrics([v2(True)], [metric])
    check = the_check(
        judge("metrics: [{name: Greeting, pass_percent: {min: 0}}]", current),
        "metrics[0].pass_percent",
    )
    assert check.actual == actual


def test_pass_percent_reason_counts_unreadable_values():
    current = with_metrics([v2(True)], [greeting(eval_type="binary", passed="maybe")])
    check = the_check(
        judge("metrics: [{name: Greeting, pass_percent: {min: 90}}]", current),
        "metrics[0].pass_percent",
    )
    assert "1 with an unreadable value, counted as failed" in check.reason


def test_an_empty_enum_value_falls_back_to_the_enum_field():
    mood = {"name": "Mood", "type": "enum", "value": " ", "enum": "angry"}
    current = with_metrics([mood], [mood], [{"name": "Mood", "type": "enum", "value": "calm"}])
    check = the_check(
        judge("metrics: [{name: Mood, enum: {value: angry, max_percent: 10}}]", current),
        "metrics[0].enum",
    )
    assert (check.outcome, check.actual) == (Outcome.FAIL, "66.67% (2 of 3 runs)")


@pytest.mark.parametrize(
    ("pattern", "hint"),
    [
        ("Greting *", "did you mean 'Greeting *' (it matches 'Greeting and triage')?"),
        ("greeting and triaje", "did you mean 'Greeting and triage'?"),
        ("Zz*", None),
    ],
)
def test_lint_suggests_a_scenario_pattern(pattern, hint):
    current = scenarios((1, 1, "Greeting and triage", True), (2, 2, "Refund", True))
    [issue] = lint(rules_policy(f"scenarios: [{{match: '{pattern}', required: true}}]"), current)
    assert issue.path == "rules.scenarios[0].match"
    assert (hint in issue.message) if hint else ("did you mean" not in issue.message)


def test_a_scenario_pass_percent_may_be_written_as_metric_rules_write_it():
    current = scenarios((1, 1, "Book", True), (2, 1, "Book", False), (3, 1, "Book", False))
    verdict = judge("scenarios: [{match: Book, pass_percent: {min: 50}}]", current)
    check = the_check(verdict, "scenarios[0].min_pass_percent[Book]")
    assert (check.outcome, check.actual) == (Outcome.FAIL, "33.33% (1 of 3)")


def test_runs_counted_as_completed_count_when_the_total_is_missing():
    current = result([make_run(1)], total_runs_count=None, completed_runs_count=4)
    check = the_check(
        judge("scenarios: [{match: '*', min_pass_percent: 100}]", current),
        "scenarios[0].min_pass_percent[Book an appointment]",
    )
    assert check.outcome is Outcome.FAIL and "lists 1 of its 4 runs" in check.reason


def test_a_run_listed_twice_that_disagrees_counts_as_not_passed():
    payload = make_result([])
    payload["runs"] = [make_run(5), make_run(5, success=False)]
    current = normalise(payload)
    assert [run.success for run in current.runs] == [False]
