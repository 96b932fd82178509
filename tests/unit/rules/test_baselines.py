"""Rules against a baseline: success-rate drop, metric p50/mean change, new scenario failures and
new critical categories.
"""

from __future__ import annotations

import pytest

from gate.rules.checks import Outcome
from gate.rules.evaluate import VerdictStatus
from tests.conftest import make_run
from tests.unit.rules.builders import (
    NO_NEW_FAILURES,
    blind,
    finding,
    findings,
    judge,
    latency,
    numeric,
    passing,
    rated,
    result,
    scenarios,
    the_check,
)


@pytest.mark.parametrize(
    ("current", "baseline", "outcome", "base_shown", "delta", "reason"),
    [
        pytest.param(
            passing(8, 10), passing(9, 10), Outcome.PASS, "90%", "-10 pp", "meets drop <= 10 pp",
            id="drop-exactly-at-the-limit-passes",
        ),
        pytest.param(
            passing(7, 10), passing(9, 10), Outcome.FAIL, "90%", "-20 pp",
            "success rate 70% is 20 pp below the baseline's 90%, more than 10 pp",
            id="drop-over-the-limit-fails",
        ),
        pytest.param(
            passing(10, 10), passing(9, 10), Outcome.PASS, "90%", "+10 pp", "meets",
            id="rise-passes",
        ),
        pytest.param(
            rated(60.1), rated(70.1), Outcome.PASS, "70.1%", "-10 pp", "meets",
            id="fractional-drop-at-the-limit-passes",
        ),
        pytest.param(
            passing(10, 10), result([], success_rate=None), Outcome.FAIL, "", "",
            "the baseline has no success rate to compare with",
            id="baseline-without-success-rate-fails",
        ),
        pytest.param(
            result([], success_rate=None), passing(9, 10), Outcome.FAIL,
            "90%", "", "the result has no runs, so it has no success rate",
            id="current-without-success-rate-fails",
        ),
        pytest.param(
            passing(10, 10), None, Outcome.FAIL, "", "", "baseline",
            id="no-baseline-fails",
        ),
    ],
)  # fmt: skip
def test_success_rate_max_drop(current, baseline, outcome, base_shown, delta, reason):
    verdict = judge("success_rate: {max_drop: 10}", current, baseline)
    check = the_check(verdict, "success_rate.max_drop")
    assert check.outcome is outcome
    assert reason in check.reason
    assert (check.baseline, check.delta) == (base_shown, delta)


def test_success_rate_drop_blames_the_failed_runs():
    check = the_check(
        judge("success_rate: {max_drop: 5}", passing(7, 10), passing(9, 10)),
        "success_rate.max_drop",
    )
    assert check.outcome is Outcome.FAIL
    assert check.run_ids == (8, 9, 10)


@pytest.mark.parametrize(
    ("baseline", "base_shown", "delta"),
    [
        pytest.param(passing(9, 10), "90%", "-10 pp", id="with-baseline"),
        pytest.param(None, "", "", id="without-baseline"),
    ],
)
def test_absolute_success_rate_check_shows_the_baseline_when_there_is_one(
    baseline, base_shown, delta
):
    check = the_check(
        judge("success_rate: {min: 50}", passing(8, 10), baseline), "success_rate.min"
    )
    assert check.outcome is Outcome.PASS
    assert (check.baseline, check.delta) == (base_shown, delta)


PERFECT = result(
    [
        make_run(
            1,
            evaluation={
                "metrics": [
                    numeric(1000),
                    {"name": "Greeting", "eval_type": "binary", "passed": True},
                ]
            },
        )
    ]
)


@pytest.mark.parametrize(
    ("rules", "check_id"),
    [
        pytest.param("success_rate: {max_drop: 10}", "success_rate.max_drop", id="success-rate"),
        pytest.param(
            "metrics: [{name: Latency, p50: {max_increase_percent: 10}}]",
            "metrics[0].p50.max_increase_percent",
            id="p50-increase",
        ),
        pytest.param(
            "metrics: [{name: Latency, mean: {max_decrease_percent: 10}}]",
            "metrics[0].mean.max_decrease_percent",
            id="mean-decrease",
        ),
        pytest.param(
            "metrics: [{name: Greeting, pass_percent: {max_drop: 5}}]",
            "metrics[0].pass_percent.max_drop",
            id="pass-percent-drop",
        ),
        pytest.param(
            "scenarios: {no_new_failures: true}", "scenarios.no_new_failures", id="new-failures"
        ),
        pytest.param(
            "critical_categories: {no_new_categories: critical}",
            "critical_categories.no_new_categories.critical",
            id="new-categories",
        ),
    ],
)
def test_relative_rule_without_baseline_fails_even_on_a_perfect_result(rules, check_id):
    assert the_check(judge(rules, PERFECT, PERFECT), check_id).outcome is Outcome.PASS
    without = judge(rules, PERFECT, None)
    assert the_check(without, check_id).outcome is Outcome.FAIL
    assert without.status is VerdictStatus.FAIL


@pytest.mark.parametrize(
    ("bounds", "current", "baseline", "check_id", "outcome", "base_shown", "delta", "reason"),
    [
        pytest.param(
            "p50: {max_increase_percent: 10}", latency(1100), latency(1000),
            "p50.max_increase_percent", Outcome.PASS, "1000", "+100 (+10%)", "meets",
            id="p50-increase-exactly-at-the-limit-passes",
        ),
        pytest.param(
            "p50: {max_increase_percent: 10}", latency(1101), latency(1000),
            "p50.max_increase_percent", Outcome.FAIL, "1000", "+101 (+10.1%)",
            "Latency p50 is 1101, +10.1% against the baseline's 1000; "
            "the policy allows at most 10% increase",
            id="p50-increase-over-the-limit-fails",
        ),
        pytest.param(
            "p50: {max_increase_percent: 10}", latency(500), latency(1000),
            "p50.max_increase_percent", Outcome.PASS, "1000", "-500 (-50%)", "meets",
            id="p50-decrease-under-an-increase-bound-passes",
        ),
        pytest.param(
            "p50: {max_decrease_percent: 10}", latency(900), latency(1000),
            "p50.max_decrease_percent", Outcome.PASS, "1000", "-100 (-10%)", "meets",
            id="p50-decrease-exactly-at-the-limit-passes",
        ),
        pytest.param(
            "p50: {max_decrease_percent: 10}", latency(899), latency(1000),
            "p50.max_decrease_percent", Outcome.FAIL, "1000", "-101 (-10.1%)",
            "at most 10% decrease",
            id="p50-decrease-over-the-limit-fails",
        ),
        pytest.param(
            "p50: {max_increase_percent: 10, max_decrease_percent: 10}", latency(0.33),
            latency(0.3), "p50.max_increase_percent", Outcome.PASS, "0.3", "+0.03 (+10%)",
            "meets",
            id="fractional-increase-at-the-limit-passes",
        ),
        pytest.param(
            "p50: {max_increase_percent: 10}", latency(1100),
            result(
                [make_run(1)],
                overall_evaluation={
                    "numeric_metrics": [
                        {"name": "Latency", "type": "numeric", "percentiles": {"p50": 1000}}
                    ]
                },
            ),
            "p50.max_increase_percent", Outcome.PASS, "1000", "+100 (+10%)", "meets",
            id="baseline-p50-from-its-overall-evaluation",
        ),
        pytest.param(
            "mean: {max_increase_percent: 10}", latency(1000, 1200), latency(900, 1100),
            "mean.max_increase_percent", Outcome.PASS, "1000", "+100 (+10%)", "meets",
            id="mean-increase-exactly-at-the-limit-passes",
        ),
        pytest.param(
            "mean: {max_increase_percent: 10}", latency(1000, 1300), latency(900, 1100),
            "mean.max_increase_percent", Outcome.FAIL, "1000", "+150 (+15%)",
            "Latency mean is 1150, +15% against the baseline's 1000",
            id="mean-increase-over-the-limit-fails",
        ),
        pytest.param(
            "mean: {max_decrease_percent: 20}", latency(70, 90), latency(100),
            "mean.max_decrease_percent", Outcome.PASS, "100", "-20 (-20%)", "meets",
            id="mean-decrease-exactly-at-the-limit-passes",
        ),
        pytest.param(
            "p50: {max_increase_percent: 10}", latency(0), latency(0),
            "p50.max_increase_percent", Outcome.PASS, "0", "\u00b10", "meets",
            id="zero-baseline-unchanged-passes",
        ),
        pytest.param(
            "p50: {max_increase_percent: 1000}", latency(5), latency(0),
            "p50.max_increase_percent", Outcome.FAIL, "0", "+5", "+5 from 0",
            id="zero-baseline-any-increase-fails",
        ),
        pytest.param(
            "p50: {max_decrease_percent: 10}", latency(5), latency(0),
            "p50.max_decrease_percent", Outcome.PASS, "0", "+5", "meets",
            id="zero-baseline-increase-under-a-decrease-bound-passes",
        ),
        pytest.param(
            "p50: {max_decrease_percent: 1000}", latency(-5), latency(0),
            "p50.max_decrease_percent", Outcome.FAIL, "0", "-5", "-5 from 0",
            id="zero-baseline-any-decrease-fails",
        ),
        pytest.param(
            "p50: {max_increase_percent: 10}", latency(), latency(1000),
            "p50.max_increase_percent", Outcome.FAIL, "1000", "",
            "metric 'Latency' is not in this result",
            id="current-missing-the-metric-fails",
        ),
        pytest.param(
            "mean: {max_decrease_percent: 10}", latency(1000), latency(),
            "mean.max_decrease_percent", Outcome.FAIL, "", "",
            "metric 'Latency' has no mean in the baseline to compare with",
            id="baseline-missing-the-metric-fails",
        ),
    ],
)  # fmt: skip
def test_metric_change_against_the_baseline(
    bounds, current, baseline, check_id, outcome, base_shown, delta, reason
):
    verdict = judge(f"metrics: [{{name: Latency, {bounds}}}]", current, baseline)
    check = the_check(verdict, f"metrics[0].{check_id}")
    assert check.outcome is outcome
    assert reason in check.reason
    assert (check.baseline, check.delta) == (base_shown, delta)


A_K_OF_N = """
scenarios:
  no_new_failures: true
  each:
    - {match: A, min_passes: 2}
"""


A_FREQUENCY = """
scenarios:
  no_new_failures: true
  each:
    - {match: A, min_passes: 3, frequency: 3}
"""


@pytest.mark.parametrize(
    ("rules", "baseline", "current", "outcome", "actual", "run_ids", "base_shown", "delta"),
    [
        pytest.param(
            NO_NEW_FAILURES,
            scenarios((1, 1, "A", True), (2, 2, "B", True)),
            scenarios((11, 1, "A", False), (12, 1, "A", True), (13, 2, "B", True)),
            Outcome.FAIL, "1 new (1 failing)", (11,), "0 failing", "+1 failing",
            id="passed-on-the-baseline-fails-now",
        ),
        pytest.param(
            NO_NEW_FAILURES,
            scenarios((1, 1, "A", True)),
            scenarios((11, 1, "A", True), (12, 2, "B", False)),
            Outcome.PASS, "0 new (1 failing)", (), "0 failing", "+1 failing",
            id="scenario-new-in-the-current-result-is-not-a-new-failure",
        ),
        pytest.param(
            NO_NEW_FAILURES,
            scenarios((1, 1, "A", False), (2, 2, "B", True)),
            scenarios((11, 1, "A", False), (12, 2, "B", True)),
            Outcome.PASS, "0 new (1 failing)", (), "1 failing", "\u00b10 failing",
            id="failing-on-both-is-not-new",
        ),
        pytest.param(
            NO_NEW_FAILURES,
            scenarios((1, 1, "A", True), (2, 2, "B", False)),
            scenarios((11, 1, "A", True), (12, 2, "B", True)),
            Outcome.PASS, "0 new (0 failing)", (), "1 failing", "-1 failing",
            id="fixed-scenario-passes",
        ),
        pytest.param(
            NO_NEW_FAILURES,
            scenarios((1, 1, "A", True), (2, 1, "A", True), (3, 1, "A", True)),
            scenarios((11, 1, "A", True), (12, 1, "A", False), (13, 1, "A", True)),
            Outcome.FAIL, "1 new (1 failing)", (12,), "0 failing", "+1 failing",
            id="without-a-rule-every-run-must-pass",
        ),
        pytest.param(
            A_K_OF_N,
            scenarios((1, 1, "A", True), (2, 1, "A", True), (3, 1, "A", True)),
            scenarios((11, 1, "A", True), (12, 1, "A", False), (13, 1, "A", True)),
            Outcome.PASS, "0 new (0 failing)", (), "0 failing", "\u00b10 failing",
            id="two-of-three-is-a-pass-under-min-passes-2",
        ),
        pytest.param(
            A_K_OF_N,
            scenarios((1, 1, "A", True), (2, 1, "A", False), (3, 1, "A", True)),
            scenarios((11, 1, "A", True), (12, 1, "A", False), (13, 1, "A", False)),
            Outcome.FAIL, "1 new (1 failing)", (12, 13), "0 failing", "+1 failing",
            id="baseline-two-of-three-passed-under-the-rule-so-one-of-three-is-new",
        ),
        pytest.param(
            NO_NEW_FAILURES,
            scenarios((1, 1, "A", True), (2, 1, "A", False), (3, 1, "A", True)),
            scenarios((11, 1, "A", True), (12, 1, "A", False), (13, 1, "A", False)),
            Outcome.PASS, "0 new (1 failing)", (), "1 failing", "\u00b10 failing",
            id="same-runs-without-the-rule-failed-on-both",
        ),
        pytest.param(
            A_FREQUENCY,
            scenarios((1, 1, "A", True), (2, 1, "A", True), (3, 1, "A", True)),
            scenarios((11, 1, "A", True), (12, 1, "A", True)),
            Outcome.FAIL, "1 new (1 failing)", (), "0 failing", "+1 failing",
            id="missing-runs-count-as-not-passed",
        ),
        pytest.param(
            NO_NEW_FAILURES,
            scenarios((1, 1, "Refund", True)),
            scenarios((11, 9, "refund", False)),
            Outcome.FAIL, "1 new (1 failing)", (11,), "0 failing", "+1 failing",
            id="scenario-with-a-new-id-is-found-by-name",
        ),
        pytest.param(
            NO_NEW_FAILURES,
            scenarios((1, None, "Refund", True)),
            scenarios((11, None, "REFUND ", False)),
            Outcome.FAIL, "1 new (1 failing)", (11,), "0 failing", "+1 failing",
            id="scenarios-without-id-compare-by-name-case-insensitively",
        ),
    ],
)  # fmt: skip
def test_no_new_scenario_failures(
    rules, baseline, current, outcome, actual, run_ids, base_shown, delta
):
    check = the_check(judge(rules, current, baseline), "scenarios.no_new_failures")
    assert check.outcome is outcome
    assert check.actual == actual
    assert check.run_ids == run_ids
    assert (check.baseline, check.delta) == (base_shown, delta)


def test_new_scenario_failure_names_the_scenario():
    check = the_check(
        judge(
            NO_NEW_FAILURES,
            scenarios((11, 1, "Cancel a booking", False), (12, 2, "Refund", False)),
            scenarios((1, 1, "Cancel a booking", True), (2, 2, "Refund", True)),
        ),
        "scenarios.no_new_failures",
    )
    assert check.reason == (
        "2 scenarios passed on the baseline and failed now: Cancel a booking, Refund"
    )


CRITICAL = "critical_categories: {no_new_categories: [critical], ignore: [Hold music]}"


@pytest.mark.parametrize(
    ("rules", "current", "baseline", "outcome", "actual", "run_ids", "reason"),
    [
        pytest.param(
            CRITICAL,
            findings([finding("Rude to caller", category_id=7)]),
            findings([finding("Was rude", category_id=7)]),
            Outcome.PASS, "0", (), "meets",
            id="same-category-id-with-other-text-is-not-new",
        ),
        pytest.param(
            CRITICAL,
            findings([finding("Rude", category_id=8)]),
            findings([finding("Rude", category_id=7)]),
            Outcome.FAIL, "1", (1,), "1 critical category the baseline did not have: Rude",
            id="same-text-with-another-category-id-is-new",
        ),
        pytest.param(
            CRITICAL,
            findings([finding("rude to caller ")]),
            findings([finding("Rude to caller")]),
            Outcome.PASS, "0", (), "meets",
            id="without-ids-text-compares-case-insensitively",
        ),
        pytest.param(
            CRITICAL,
            findings([], [finding("Hung up", category_id=3)], [finding("hung up!", category_id=3)]),
            findings(),
            Outcome.FAIL, "1", (2, 3), "the baseline did not have: Hung up",
            id="one-category-on-two-runs-is-one-new-category",
        ),
        pytest.param(
            CRITICAL,
            findings([finding("Rude", "high")]),
            findings(),
            Outcome.FAIL, "1", (1,), "the baseline did not have: Rude",
            id="legacy-high-counts-as-critical",
        ),
        pytest.param(
            CRITICAL,
            findings([finding("Rude", "critical")]),
            findings([finding("Rude", "high")]),
            Outcome.PASS, "0", (), "meets",
            id="legacy-high-on-the-baseline-is-known",
        ),
        pytest.param(
            CRITICAL,
            findings([finding("Rude", "critical")]),
            findings([finding("Rude", "non-critical")]),
            Outcome.FAIL, "1", (1,), "the baseline did not have: Rude",
            id="known-only-at-a-lower-priority-is-new",
        ),
        pytest.param(
            CRITICAL,
            findings([finding("hold MUSIC")]),
            findings(),
            Outcome.PASS, "0", (), "meets",
            id="ignored-category-never-counts",
        ),
        pytest.param(
            CRITICAL,
            findings([finding("Rude", wrongly_marked=True), finding("Slow", "not_a_bug")]),
            findings(),
            Outcome.PASS, "0", (), "meets",
            id="wrongly-marked-and-not-a-bug-are-not-findings",
        ),
        pytest.param(
            CRITICAL,
            findings([finding("Rude")]),
            findings([finding("Rude", wrongly_marked=True)]),
            Outcome.FAIL, "1", (1,), "the baseline did not have: Rude",
            id="wrongly-marked-on-the-baseline-does-not-make-it-known",
        ),
        pytest.param(
            CRITICAL,
            findings([finding("Rude")]),
            findings([finding("Rude", "not_a_bug")]),
            Outcome.FAIL, "1", (1,), "the baseline did not have: Rude",
            id="not-a-bug-on-the-baseline-does-not-make-it-known",
        ),
        pytest.param(
            "critical_categories: {no_new_categories: non-critical}",
            findings([finding("Slow", "medium"), finding("Rude", "critical")]),
            findings(),
            Outcome.FAIL, "1", (1,), "1 non-critical category the baseline did not have: Slow",
            id="non-critical-counts-legacy-medium-and-not-critical",
        ),
        pytest.param(
            CRITICAL,
            findings(),
            blind(),
            Outcome.FAIL, "0 + unknown", (),
            "the baseline's findings are unknown: run 1 carries no critical_categories",
            id="baseline-runs-without-findings-fail-closed",
        ),
        pytest.param(
            CRITICAL,
            blind(),
            findings(),
            Outcome.FAIL, "0 + unknown", (), "run 1 carries no critical_categories",
            id="current-runs-without-findings-fail-closed",
        ),
    ],
)  # fmt: skip
def test_no_new_critical_categories(rules, current, baseline, outcome, actual, run_ids, reason):
    cap = "non-critical" if "non-critical" in rules else "critical"
    check = the_check(
        judge(rules, current, baseline), f"critical_categories.no_new_categories.{cap}"
    )
    assert check.outcome is outcome
    assert check.actual == actual
    assert check.run_ids == run_ids
    assert reason in check.reason


@pytest.mark.parametrize(
    ("baseline", "current", "base_shown", "delta"),
    [
        pytest.param(
            findings([finding("Rude")]), findings([finding("Rude")]), "1 category", "+0 new",
            id="one-known-none-new",
        ),
        pytest.param(
            findings([finding("Rude")]), findings([finding("Rude"), finding("Slow")]),
            "1 category", "+1 new",
            id="one-known-one-new",
        ),
        pytest.param(
            findings(), findings([finding("Rude")]), "0 categories", "+1 new",
            id="none-known",
        ),
        pytest.param(
            findings([finding("Rude"), finding("Slow")]), findings(), "2 categories", "+0 new",
            id="two-known",
        ),
    ],
)  # fmt: skip
def test_new_categories_check_shows_the_baseline_and_delta(baseline, current, base_shown, delta):
    check = the_check(
        judge("critical_categories: {no_new_categories: critical}", current, baseline),
        "critical_categories.no_new_categories.critical",
    )
    assert (check.baseline, check.delta) == (base_shown, delta)


def test_two_new_categories_reason_is_plural():
    check = the_check(
        judge(
            "critical_categories: {no_new_categories: critical}",
            findings([finding("Rude"), finding("Slow")]),
            findings(),
        ),
        "critical_categories.no_new_categories.critical",
    )
    assert check.reason.startswith("2 critical categories the baseline did not have: ")


def test_new_categories_without_baseline_says_there_is_none_even_with_findings():
    check = the_check(
        judge("critical_categories: {no_new_categories: critical}", findings([finding("Rude")])),
        "critical_categories.no_new_categories.critical",
    )
    assert check.outcome is Outcome.FAIL
    assert "no baseline" in check.reason


def test_no_new_failures_pairs_a_renamed_scenario_with_a_namesake_that_passed():
    baseline = scenarios((1, 1, "Refund", True), (2, 2, "refund", False))
    current = scenarios((3, None, "Refund", False))
    check = the_check(judge(NO_NEW_FAILURES, current, baseline), "scenarios.no_new_failures")
    assert check.outcome is Outcome.FAIL


def test_a_baseline_without_runs_cannot_pass_no_new_failures():
    baseline = result([], success_rate=40)
    current = scenarios((1, 1, "Book", False))
    check = the_check(judge(NO_NEW_FAILURES, current, baseline), "scenarios.no_new_failures")
    assert check.outcome is Outcome.FAIL and "lists no runs" in check.reason
