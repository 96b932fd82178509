"""Test identities: what a check is called in every report, its family and its policy line.

A check is named by its rule's ``test_id`` (followed by what the check's title says after
the rule's subject) or else by its title; never by where the rule sits in the policy."""

from __future__ import annotations

import pytest

from gate.rules.checks import Check, Outcome, identify
from tests.conftest import make_run
from tests.unit.rules.builders import judge, result

RUNS = result(
    [
        make_run(1, scenario=1, scenario_name="Greeting and triage"),
        make_run(2, scenario=1, scenario_name="Greeting and triage", success=False),
        make_run(3, scenario=2, scenario_name="Greeting after hours"),
    ]
)


def identities(rules: str) -> list[tuple[str, str]]:
    """(test id, family) of every check but the result status, in report order."""
    verdict = judge(rules, RUNS, baseline=RUNS)
    return [(check.identity, check.family) for check in verdict.checks[1:]]


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        pytest.param(
            "success_rate: {min: 50, max_drop: 5}",
            [("Success rate", "success_rate"), ("Success rate vs baseline", "success_rate")],
            id="title",
        ),
        pytest.param(
            "success_rate: {min: 50, max_drop: 5, test_id: pass-rate}",
            [("pass-rate", "success_rate"), ("pass-rate vs baseline", "success_rate")],
            id="success-rate-test-id",
        ),
        pytest.param(
            "expected_outcomes: {min_met_percent: 0, max_unmet: 9, test_id: outcomes}",
            [("outcomes met", "expected_outcomes"), ("outcomes unmet", "expected_outcomes")],
            id="expected-outcomes-test-id",
        ),
        pytest.param(
            "runs: {min_total: 1, max_failed: 9, test_id: volume}",
            [("volume in total", "runs"), ("volume failed", "runs")],
            id="runs-test-id",
        ),
        pytest.param(
            "critical_categories: {max: {critical: 0}, no_new_categories: critical, test_id: cc}",
            [("cc: critical", "critical_categories"), ("cc: new critical", "critical_categories")],
            id="categories-test-id",
        ),
        pytest.param(
            """
            metrics:
              - {name: Latency, p50: {max: 9000, max_increase_percent: 10}, missing: ignore}
              - {name: Latency, test_id: latency, mean: {min: 0}, missing: ignore}
            """,
            [
                ("Latency p50", "metrics"),
                ("Latency p50 vs baseline", "metrics"),
                ("latency mean", "metrics"),
            ],
            id="metric-test-id-replaces-the-name",
        ),
        pytest.param(
            """
            scenarios:
              no_new_failures: true
              test_id: no-regressions
              each:
                - {match: "greeting*", min_passes: 1, test_id: greetings}
                - {match: 1, required: true, min_pass_percent: 0, test_id: triage}
            """,
            [
                ("greetings 'Greeting and triage' passes", "scenarios"),
                ("greetings 'Greeting after hours' passes", "scenarios"),
                ("triage present", "scenarios"),
                ("triage pass rate", "scenarios"),
                ("no-regressions", "scenarios"),
            ],
            id="scenario-test-ids",
        ),
        pytest.param(
            """
            scenarios:
              - {match: "greeting*", min_passes: 1}
              - {match: "missing*", min_passes: 1, missing: warn, test_id: gone}
            """,
            [
                ("Scenario 'Greeting and triage' passes", "scenarios"),
                ("Scenario 'Greeting after hours' passes", "scenarios"),
                ("gone present", "scenarios"),
            ],
            id="scenario-titles-and-a-missing-one",
        ),
    ],
)
def test_a_check_is_named_by_its_test_id_or_its_title(rules, expected):
    assert identities(rules) == expected


def test_rules_that_would_share_a_name_get_a_numbered_suffix_in_policy_order():
    rules = """
        metrics:
          - {name: Latency, p50: {max: 3000}, missing: ignore}
          - {name: Latency, p50: {max: 2000}, level: warn, missing: ignore}
          - {name: latency, p50: {max: 1000}, level: warn, missing: ignore}
    """
    assert [name for name, _ in identities(rules)] == [
        "Latency p50",
        "Latency p50 (2)",
        "latency p50",  # names are case-sensitive, as JUnit consumers compare them
    ]
    titles = [check.title for check in judge(rules, RUNS).checks[1:]]
    assert titles == ["Latency p50", "Latency p50 (2)", "latency p50"]  # rows told apart


def test_a_suffix_never_collides_with_a_name_already_taken():
    checks = [
        Check(key, title, "x", "y", Outcome.PASS, "")
        for key, title in (("a", "Rate"), ("b", "Rate (2)"), ("c", "Rate"))
    ]
    assert [check.identity for check in identify(checks)] == ["Rate", "Rate (2)", "Rate (3)"]


def test_names_stay_the_same_when_the_rules_move():
    first = """
        success_rate: {min: 50}
        metrics:
          - {name: Latency, p50: {max: 3000}, missing: ignore}
          - {name: Talk Ratio, mean: {max: 1}, missing: ignore}
        scenarios:
          - {match: "greeting*", min_passes: 1}
    """
    moved = """
        scenarios:
          - {match: "greeting*", min_passes: 1}
        metrics:
          - {name: Talk Ratio, mean: {max: 1}, missing: ignore}
          - {name: Latency, p50: {max: 3000}, missing: ignore}
        success_rate: {min: 50}
    """
    assert sorted(identities(first)) == sorted(identities(moved))


def test_a_check_carries_the_line_of_its_rule():
    rules = """
        success_rate: {min: 50}
        metrics:
          - name: Latency
            missing: ignore
            p50: {max: 3000}
    """
    verdict = judge(rules, RUNS)
    # rules_policy writes "version: 1", "rules:", then the rules from line 3 on.
    assert [(check.key, check.line) for check in verdict.checks] == [
        ("result.status", None),
        ("success_rate.min", 3),
        ("metrics[0].p50", 5),
    ]
