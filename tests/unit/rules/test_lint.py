"""``validate --against`` (gate.rules.lint): the policy's names checked against a real result."""

from __future__ import annotations

import pytest

from gate.rules.lint import lint
from tests.conftest import make_run
from tests.unit.rules.builders import (
    BRACKETS,
    finding,
    numeric,
    result,
    rules_policy,
    sentiment,
    with_metrics,
)

LINT_RESULT = result(
    [
        make_run(
            1,
            scenario=1,
            scenario_name="Book an appointment",
            evaluation={
                "metrics": [
                    {"id": 10, "name": "Latency", "type": "numeric", "score": 900},
                    {"id": 11, "name": "Greeting", "eval_type": "binary", "passed": True},
                    {"id": 12, "name": "Sentiment", "eval_type": "enum", "value": "calm"},
                    {"id": 13, "name": "Empathy", "type": "continuous_qualitative", "score": 80},
                ]
            },
            critical_categories=[finding("Rude to caller")],
        ),
        make_run(
            2,
            scenario=2,
            scenario_name="Cancel a booking",
            evaluation={"metrics": [sentiment("Frustrated", "enum")]},
        ),
    ],
    critical_categories=[{"id": 5, "name": "Hold music", "eval_type": "binary"}],
)


NO_CATEGORIES = result([make_run(1)])


Issue = tuple[str, str, bool]  # path, part of the message, blocking


@pytest.mark.parametrize(
    ("rules", "against", "expected"),
    [
        pytest.param(
            """
            metrics:
              - {name: LATENCY, p50: {max: 1}}
              - {id: 11, pass_percent: {min: 50}}
              - {name: empathy, mean: {min: 1}}
              - {name: sentiment, enum: {value: FRUSTRATED, max_percent: 50}}
            scenarios:
              - {match: 'book AN*', required: true}
              - {match: 2, min_passes: 1}
            critical_categories:
              max: {critical: 0}
              ignore: [low, not_a_bug, rude TO caller, hold music]
            """,
            LINT_RESULT, [],
            id="every-name-found",
        ),
        pytest.param(
            "metrics: [{name: latncy, p50: {max: 1}}]", LINT_RESULT,
            [("rules.metrics[0].name", "no metric named 'latncy' in result 500; "
              "did you mean 'Latency'?", True)],
            id="metric-name-typo",
        ),
        pytest.param(
            "metrics: [{id: 99, mean: {max: 1}}]", LINT_RESULT,
            [("rules.metrics[0].id", "no metric with id 99 in result 500 "
              "(metrics: 'Empathy', 'Greeting', 'Latency', 'Sentiment')", True)],
            id="metric-id-unknown-lists-the-metrics",
        ),
        pytest.param(
            "metrics: [{name: Latency, pass_percent: {min: 50}}]", LINT_RESULT,
            [("rules.metrics[0].pass_percent", "metric 'Latency' is numeric in result 500; "
              "pass_percent needs binary pass/fail values on the runs", True)],
            id="pass-percent-on-numeric",
        ),
        pytest.param(
            "metrics: [{name: empathy, pass_percent: {min: 50}}]", LINT_RESULT,
            [("rules.metrics[0].pass_percent", "is continuous_qualitative", True)],
            id="pass-percent-on-rating",
        ),
        pytest.param(
            "metrics: [{id: 11, p50: {max: 1}, mean: {max: 1}}]", LINT_RESULT,
            [
                ("rules.metrics[0].p50", "p50 needs a numeric or rating score", True),
                ("rules.metrics[0].mean", "mean needs numeric or rating scores on the runs", True),
            ],
            id="p50-and-mean-on-binary",
        ),
        pytest.param(
            "metrics: [{name: Greeting, enum: {value: yes, max_percent: 50}}]", LINT_RESULT,
            [("rules.metrics[0].enum", "is binary in result 500; enum needs enum values",
              True)],
            id="enum-on-binary",
        ),
        pytest.param(
            "metrics: [{name: sentiment, enum: {value: frustratd, max_percent: 50}}]",
            LINT_RESULT,
            [("rules.metrics[0].enum.value", "no run of result 500 has sentiment = 'frustratd' "
              "(values seen: 'calm', 'Frustrated'); did you mean 'Frustrated'?", True)],
            id="enum-value-typo-blocks",
        ),
        pytest.param(
            "metrics: [{name: sentiment, enum: {value: angry, max_percent: 50}}]", LINT_RESULT,
            [("rules.metrics[0].enum.value", "(values seen: 'calm', 'Frustrated'); "
              "it may just not have occurred", False)],
            id="enum-value-never-seen-is-a-note",
        ),
        pytest.param(
            "scenarios: [{match: 'Book an apointment', required: true}]", LINT_RESULT,
            [("rules.scenarios[0].match", "no scenario named 'Book an apointment' in result "
              "500; did you mean 'Book an appointment'?", True)],
            id="scenario-name-typo",
        ),
        pytest.param(
            "scenarios: [{match: '*apointment*', min_passes: 1}]", LINT_RESULT,
            [("rules.scenarios[0].match", "no scenario matching '*apointment*' in result 500; "
              "did you mean 'Book an appointment'?", True)],
            id="scenario-glob-typo",
        ),
        pytest.param(
            "scenarios: [{match: 7, min_passes: 1}]", LINT_RESULT,
            [("rules.scenarios[0].match", "no scenario with id 7 in result 500 (ids: 1, 2)",
              True)],
            id="scenario-id-unknown-lists-the-ids",
        ),
        pytest.param(
            "scenarios: {each: [{match: 'Cancel a bookin', min_passes: 1}]}", LINT_RESULT,
            [("rules.scenarios.each[0].match", "did you mean 'Cancel a booking'?", True)],
            id="scenario-under-each",
        ),
        pytest.param(
            "scenarios: {match: 'Cancel a bookin', min_passes: 1}", LINT_RESULT,
            [("rules.scenarios.match", "did you mean 'Cancel a booking'?", True)],
            id="single-scenario-rule",
        ),
        pytest.param(
            "critical_categories: {max: {critical: 0}, ignore: [rude to caler, Hold musc]}",
            LINT_RESULT,
            [
                ("rules.critical_categories.ignore[0]", "no critical category 'rude to caler' "
                 "in result 500; did you mean 'Rude to caller'?", True),
                ("rules.critical_categories.ignore[1]", "did you mean 'Hold music'?", True),
            ],
            id="ignore-category-typos",
        ),
        pytest.param(
            "critical_categories: {max: {critical: 0}, ignore: [Something else]}", LINT_RESULT,
            [("rules.critical_categories.ignore[0]", "no critical category 'Something else' in "
              "result 500 (categories: 'Hold music')", True)],
            id="ignore-unknown-where-the-result-defines-categories",
        ),
        pytest.param(
            "critical_categories: {max: {critical: 0}, ignore: [Something else]}",
            NO_CATEGORIES,
            [("rules.critical_categories.ignore[0]", "no critical category 'Something else' in "
              "result 500; it may just not have occurred", False)],
            id="ignore-unknown-where-nothing-is-known-is-a-note",
        ),
    ],
)  # fmt: skip
def test_lint(rules, against, expected: list[Issue]):
    issues = lint(rules_policy(rules), against)
    assert [(issue.path, issue.blocking) for issue in issues] == [
        (path, blocking) for path, _, blocking in expected
    ]
    for issue, (_, fragment, _) in zip(issues, expected, strict=True):
        assert fragment in issue.message


def test_lint_finds_a_scenario_name_with_brackets_as_written():
    issues = lint(rules_policy("scenarios: [{match: 'Booking [EN]', required: true}]"), BRACKETS)
    assert [issue for issue in issues if issue.blocking] == []


@pytest.mark.parametrize(
    ("metric", "rule", "blocking"),
    [
        pytest.param(
            {"name": "Mood", "value": "calm"},
            "enum: {value: calm, max_percent: 50}",
            [],
            id="untyped-enum",
        ),
        pytest.param(
            {"name": "Mood", "score": 5}, "pass_percent: {min: 90}", [], id="untyped-binary"
        ),
        pytest.param(
            {"name": "Mood", "type": "numeric", "score": 3},
            "pass_percent: {min: 90}",
            ["rules.metrics[0].pass_percent"],
            id="numeric-is-not-binary",
        ),
    ],
)
def test_lint_agrees_with_check_on_untyped_metrics(metric, rule, blocking):
    current = with_metrics([metric])
    issues = lint(rules_policy(f"metrics: [{{name: Mood, {rule}}}]"), current)
    assert [issue.path for issue in issues if issue.blocking] == blocking


def test_lint_refuses_a_mean_of_a_metric_only_the_summary_has():
    summary = {
        "extra_metrics": [
            {"name": "Expected Outcome", "type": "numeric", "percentiles": {"p50": 80}}
        ]
    }
    current = with_metrics([numeric(900)], overall_evaluation=summary)
    policy = rules_policy("metrics: [{name: Expected Outcome, mean: {min: 50}, p50: {min: 50}}]")
    assert [issue.path for issue in lint(policy, current)] == ["rules.metrics[0].mean"]
