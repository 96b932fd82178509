"""The rules added for issue 8, judged by the pure evaluator and the pure lint.

Baseline comparison (success rate drop, metric p50/mean change, new scenario failures, new
critical categories), per-scenario k-of-n rules, per-metric rules computed from runs (binary
pass percent, mean score, enum share), expiring waivers, and ``lint`` against a result.
Every result is a payload from ``make_result`` put through ``normalise``.
"""

from __future__ import annotations

import datetime
import textwrap
from typing import Any

import pytest

from gate.policy.model import Level, Policy
from gate.results.model import Result
from gate.results.normalise import normalise
from gate.rules.checks import Check, Outcome
from gate.rules.evaluate import Verdict, VerdictStatus, evaluate
from gate.rules.lint import lint
from tests.conftest import make_result, make_run, policy_from

Payload = dict[str, Any]
ScenarioSpec = tuple[int, int | None, str, bool]  # run id, scenario id, scenario name, success


def rules_policy(rules: str) -> Policy:
    body = textwrap.indent(textwrap.dedent(rules).strip(), "  ")
    return policy_from(f"version: 1\nrules:\n{body}\n")


def result(runs: list[Payload], **overrides: Any) -> Result:
    return normalise(make_result(runs, **overrides))


def judge(
    rules: str,
    current: Result,
    baseline: Result | None = None,
    today: datetime.date | None = None,
) -> Verdict:
    return evaluate(rules_policy(rules), current, baseline=baseline, today=today)


def the_check(verdict: Verdict, check_id: str) -> Check:
    found = [check for check in verdict.checks if check.id == check_id]
    assert len(found) == 1, [check.id for check in verdict.checks]
    return found[0]


def rule_checks(verdict: Verdict) -> list[Check]:
    """Every check but the always-on result status."""
    return [check for check in verdict.checks if check.id != "result.status"]


def passing(successful: int, total: int) -> Result:
    """``total`` runs of which the first ``successful`` passed."""
    return result([make_run(i, success=i <= successful) for i in range(1, total + 1)])


def rated(success_rate: float) -> Result:
    """One passing run, with the result's own success rate as given."""
    return result([make_run(1)], success_rate=success_rate)


def scenarios(*runs: ScenarioSpec) -> Result:
    return result(
        [
            make_run(run_id, scenario=scenario_id, scenario_name=name, success=ok)
            for run_id, scenario_id, name, ok in runs
        ]
    )


def with_metrics(*per_run: list[Payload], **overrides: Any) -> Result:
    """One run per list of metric payloads, ids 1, 2, ..."""
    return result(
        [make_run(i, evaluation={"metrics": metrics}) for i, metrics in enumerate(per_run, 1)],
        **overrides,
    )


def numeric(score: float | None, name: str = "Latency", kind: str = "numeric") -> Payload:
    return {"id": 10, "name": name, "type": kind, "score": score}


def latency(*scores: float) -> Result:
    """One run per Latency score; no score gives one run without the metric."""
    return with_metrics(*[[numeric(score)] for score in scores]) if scores else with_metrics([])


def finding(
    category: str,
    priority: str = "critical",
    category_id: int | None = None,
    wrongly_marked: bool = False,
) -> Payload:
    item: Payload = {"category": category, "priority": priority, "wrongly_marked": wrongly_marked}
    if category_id is not None:
        item["category_id"] = category_id
    return item


def findings(*per_run: list[Payload]) -> Result:
    """One run per list of findings; no list gives one run with no findings."""
    lists = per_run or ([],)
    return result([make_run(i, critical_categories=items) for i, items in enumerate(lists, 1)])


def blind() -> Result:
    """A result whose only run carries no critical_categories at all."""
    return result([make_run(1, critical_categories=None)])


# =========================================================================== baseline


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
            "metric 'Latency' has no p50 in this result",
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


NO_NEW_FAILURES = "scenarios: {no_new_failures: true}"
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


# =========================================================================== per-scenario rules

BRACKETS = scenarios((1, 1, "Booking [EN]", True))
BOOKINGS = scenarios(
    (1, 1, "Book an appointment", True),
    (2, 1, "Book an appointment", False),
    (3, 2, "Booking a refund", True),
    (4, 3, "Cancel", True),
)


@pytest.mark.parametrize(
    ("rules", "runs", "expected"),
    [
        pytest.param(
            "scenarios: [{match: 'BOOK*', min_passes: 1}]", BOOKINGS,
            [
                ("scenarios[0].min_passes[Book an appointment]", Outcome.PASS, "1 of 2"),
                ("scenarios[0].min_passes[Booking a refund]", Outcome.PASS, "1 of 1"),
            ],
            id="list-glob-is-case-insensitive-one-check-per-scenario",
        ),
        pytest.param(
            "scenarios: {each: [{match: 'book*', min_passes: 2}]}", BOOKINGS,
            [
                ("scenarios[0].min_passes[Book an appointment]", Outcome.FAIL, "1 of 2"),
                ("scenarios[0].min_passes[Booking a refund]", Outcome.FAIL, "1 of 1"),
            ],
            id="mapping-each-form",
        ),
        pytest.param(
            "scenarios: {match: 'book an appointment', min_pass_percent: 50}", BOOKINGS,
            [("scenarios[0].min_pass_percent[Book an appointment]", Outcome.PASS, "50% (1 of 2)")],
            id="single-rule-mapping-form",
        ),
        pytest.param(
            "scenarios: [{match: 'Book', min_passes: 1}]", BOOKINGS,
            [("scenarios[0]", Outcome.PASS, "not in this result")],
            id="name-without-wildcard-matches-the-whole-name-only",
        ),
        pytest.param(
            "scenarios: [{match: 2, min_passes: 1}]", BOOKINGS,
            [("scenarios[0].min_passes[Booking a refund]", Outcome.PASS, "1 of 1")],
            id="integer-matches-the-scenario-id",
        ),
        pytest.param(
            "scenarios: [{match: 1, min_passes: 2, frequency: 3}]",
            scenarios((1, 1, "A", True), (2, 1, "A", True)),
            [("scenarios[0].min_passes[A]", Outcome.PASS, "2 of 3")],
            id="frequency-min-passes-met-with-a-run-missing",
        ),
        pytest.param(
            "scenarios: [{match: 1, min_passes: 3, frequency: 3}]",
            scenarios((1, 1, "A", True), (2, 1, "A", True)),
            [("scenarios[0].min_passes[A]", Outcome.FAIL, "2 of 3")],
            id="frequency-missing-run-counts-as-not-passed",
        ),
        pytest.param(
            "scenarios: [{match: 1, min_pass_percent: 50, frequency: 4}]",
            scenarios((1, 1, "A", True), (2, 1, "A", True)),
            [("scenarios[0].min_pass_percent[A]", Outcome.PASS, "50% (2 of 4)")],
            id="frequency-percent-exactly-at-the-limit",
        ),
        pytest.param(
            "scenarios: [{match: 1, min_pass_percent: 60, frequency: 4}]",
            scenarios((1, 1, "A", True), (2, 1, "A", True)),
            [("scenarios[0].min_pass_percent[A]", Outcome.FAIL, "50% (2 of 4)")],
            id="frequency-percent-below",
        ),
        pytest.param(
            "scenarios: [{match: 1, min_pass_percent: 75, frequency: 2}]",
            scenarios((1, 1, "A", True), (2, 1, "A", True), (3, 1, "A", True), (4, 1, "A", False)),
            [("scenarios[0].min_pass_percent[A]", Outcome.PASS, "75% (3 of 4)")],
            id="more-runs-than-frequency-count-all-runs",
        ),
        pytest.param(
            "scenarios: [{match: cancel, required: true, min_passes: 1}]", BOOKINGS,
            [
                ("scenarios[0].required", Outcome.PASS, "1 scenario, 1 run"),
                ("scenarios[0].min_passes[Cancel]", Outcome.PASS, "1 of 1"),
            ],
            id="required-present",
        ),
        pytest.param(
            "scenarios: [{match: 'book*', required: true}]", BOOKINGS,
            [("scenarios[0].required", Outcome.PASS, "2 scenarios, 3 runs")],
            id="required-only-counts-every-match",
        ),
        pytest.param(
            "scenarios: [{match: 'Refund*', required: true, min_passes: 1}]", BOOKINGS,
            [("scenarios[0].required", Outcome.FAIL, "not in this result")],
            id="required-absent-fails",
        ),
        pytest.param(
            "scenarios: [{match: 9, required: true}]", BOOKINGS,
            [("scenarios[0].required", Outcome.FAIL, "not in this result")],
            id="required-id-absent-fails",
        ),
        pytest.param(
            "scenarios: [{match: 'Refund*', min_passes: 1}]", BOOKINGS,
            [("scenarios[0]", Outcome.PASS, "not in this result")],
            id="not-required-absent-passes",
        ),
        pytest.param(
            "scenarios: [{match: refund, min_passes: 2}]",
            scenarios((1, None, "Refund", True), (2, None, "REFUND", False)),
            [("scenarios[0].min_passes[Refund]", Outcome.FAIL, "1 of 2")],
            id="scenario-without-id-is-keyed-by-name",
        ),
        pytest.param(
            "scenarios: [{match: 'booking [en]', required: true}]", BRACKETS,
            [("scenarios[0].required", Outcome.PASS, "1 scenario, 1 run")],
            id="a-name-with-brackets-matches-as-written",
        ),
        pytest.param(
            "scenarios: [{match: 'Book* [EN]', required: true}]", BRACKETS,
            [("scenarios[0].required", Outcome.PASS, "1 scenario, 1 run")],
            id="in-a-glob-brackets-are-literal",
        ),
        pytest.param(
            "scenarios: [{match: 'Book* [E]', required: true}]", BRACKETS,
            [("scenarios[0].required", Outcome.FAIL, "not in this result")],
            id="in-a-glob-brackets-are-no-character-class",
        ),
        pytest.param(
            "scenarios: [{match: '1', required: true}]", BRACKETS,
            [("scenarios[0].required", Outcome.PASS, "1 scenario, 1 run")],
            id="a-quoted-id-is-the-id",
        ),
    ],
)  # fmt: skip
def test_per_scenario_rules(rules, runs, expected):
    checks = rule_checks(judge(rules, runs))
    assert [(check.id, check.outcome, check.actual) for check in checks] == expected


@pytest.mark.parametrize(
    ("rules", "check_id", "reason", "run_ids"),
    [
        pytest.param(
            "scenarios: [{match: 1, min_passes: 3, frequency: 3}]",
            "scenarios[0].min_passes[Book an appointment]",
            "scenario 'Book an appointment' passed 1 of 3 runs, fewer than 3 "
            "(2 of the 3 runs expected are in the result)",
            (2,),
            id="min-passes-short-of-frequency",
        ),
        pytest.param(
            "scenarios: [{match: 1, min_pass_percent: 60}]",
            "scenarios[0].min_pass_percent[Book an appointment]",
            "scenario 'Book an appointment' passed 50% of its runs (1 of 2), below 60%",
            (2,),
            id="min-pass-percent",
        ),
        pytest.param(
            "scenarios: [{match: 'Refund*', required: true}]",
            "scenarios[0].required",
            "no run of a scenario matching 'Refund*' is in this result; "
            "scenarios present: Book an appointment, Booking a refund, Cancel",
            (),
            id="required-absent",
        ),
    ],
)
def test_per_scenario_failure_reasons(rules, check_id, reason, run_ids):
    check = the_check(judge(rules, BOOKINGS), check_id)
    assert check.outcome is Outcome.FAIL
    assert check.reason == reason
    assert check.run_ids == run_ids


# =========================================================================== metrics from runs


def greeting(**fields: Any) -> Payload:
    return {"id": 3, "name": "Greeting", **fields}


def v2(passed: bool) -> Payload:
    return greeting(eval_type="binary", passed=passed)


def legacy(score: float) -> Payload:
    return greeting(type="binary_workflow_adherence", score=score)


def hundred(score: float) -> Payload:
    return greeting(type="binary_qualitative", score=score)


@pytest.mark.parametrize(
    ("rule", "runs", "outcome", "actual", "run_ids"),
    [
        pytest.param(
            "{name: greeting, pass_percent: {min: 50}}", with_metrics([v2(True)], [v2(False)]),
            Outcome.PASS, "50% (1 of 2 runs)", (2,),
            id="v2-passed-flag",
        ),
        pytest.param(
            "{name: greeting, pass_percent: {min: 50}}",
            with_metrics([legacy(5)], [legacy(0)], [legacy(0)]),
            Outcome.FAIL, "33.33% (1 of 3 runs)", (2, 3),
            id="legacy-score-5-or-0",
        ),
        pytest.param(
            "{name: greeting, pass_percent: {min: 50}}", with_metrics([hundred(100)], [hundred(0)]),
            Outcome.PASS, "50% (1 of 2 runs)", (2,),
            id="score-100-or-0",
        ),
        pytest.param(
            "{name: greeting, pass_percent: {min: 50}}",
            with_metrics(
                [greeting(eval_type="binary", score_normalized=0, score=5)],
                [greeting(eval_type="binary", score_normalized=1, score=0)],
                [greeting(eval_type="binary", score_normalized=0.0, score=100)],
            ),
            Outcome.FAIL, "33.33% (1 of 3 runs)", (1, 3),
            id="score-normalized-decides-over-score",
        ),
        pytest.param(
            "{name: greeting, pass_percent: {min: 50}}",
            with_metrics([greeting(passed=True)], [greeting(passed="false")]),
            Outcome.PASS, "50% (1 of 2 runs)", (2,),
            id="untyped-metric-with-passed-is-binary",
        ),
        pytest.param(
            "{name: greeting, pass_percent: {min: 100}}",
            with_metrics([v2(True)], [], [numeric(5)], [legacy(5)]),
            Outcome.PASS, "100% (2 of 2 runs)", (),
            id="runs-without-the-metric-are-ignored",
        ),
        pytest.param(
            "{name: greeting, pass_percent: {min: 75}}",
            with_metrics([v2(True)], [legacy(5)], [hundred(100)], [v2(False)]),
            Outcome.PASS, "75% (3 of 4 runs)", (4,),
            id="mixed-encodings-exactly-at-the-limit",
        ),
        pytest.param(
            "{id: 3, pass_percent: {min: 51}}", with_metrics([v2(True)], [legacy(0)]),
            Outcome.FAIL, "50% (1 of 2 runs)", (2,),
            id="matched-by-id",
        ),
        pytest.param(
            "{name: latency, pass_percent: {min: 0}}", with_metrics([numeric(900)]),
            Outcome.FAIL, "not found", (),
            id="numeric-metric-has-no-pass-percent",
        ),
        pytest.param(
            "{name: greeting, pass_percent: {min: 0}}", with_metrics([]),
            Outcome.FAIL, "not found", (),
            id="metric-absent-fails-closed",
        ),
    ],
)  # fmt: skip
def test_pass_percent(rule, runs, outcome, actual, run_ids):
    check = the_check(judge(f"metrics: [{rule}]", runs), "metrics[0].pass_percent")
    assert (check.outcome, check.actual, check.run_ids) == (outcome, actual, run_ids)


@pytest.mark.parametrize(
    ("runs", "reason"),
    [
        pytest.param(
            with_metrics([numeric(900, name="Greeting")]),
            "metric 'greeting' is numeric in this result, so it has no binary pass/fail",
            id="numeric",
        ),
        pytest.param(
            with_metrics([greeting(eval_type="enum", value="yes")]),
            "metric 'greeting' is enum in this result, so it has no binary pass/fail",
            id="enum",
        ),
        pytest.param(
            with_metrics([numeric(1)]),
            "metric 'greeting' has no binary pass/fail in this result; metrics present: Latency",
            id="absent",
        ),
    ],
)
def test_pass_percent_on_a_metric_that_is_not_binary_names_its_kind(runs, reason):
    check = the_check(
        judge("metrics: [{name: greeting, pass_percent: {min: 0}}]", runs),
        "metrics[0].pass_percent",
    )
    assert check.outcome is Outcome.FAIL
    assert check.reason == reason


@pytest.mark.parametrize(
    ("current", "baseline", "outcome", "base_shown", "delta"),
    [
        pytest.param(
            with_metrics([v2(True)], [v2(True)], [v2(True)], [v2(False)]),
            with_metrics([v2(True)], [legacy(5)]),
            Outcome.PASS, "100%", "-25 pp",
            id="drop-exactly-at-the-limit",
        ),
        pytest.param(
            with_metrics([v2(True)], [v2(False)]),
            with_metrics([v2(True)], [legacy(5)]),
            Outcome.FAIL, "100%", "-50 pp",
            id="drop-over-the-limit",
        ),
        pytest.param(
            with_metrics([v2(True)]),
            with_metrics([numeric(3, name="Greeting")]),
            Outcome.FAIL, "", "",
            id="baseline-without-binary-results",
        ),
    ],
)  # fmt: skip
def test_pass_percent_max_drop(current, baseline, outcome, base_shown, delta):
    check = the_check(
        judge("metrics: [{name: Greeting, pass_percent: {max_drop: 25}}]", current, baseline),
        "metrics[0].pass_percent.max_drop",
    )
    assert check.outcome is outcome
    assert (check.baseline, check.delta) == (base_shown, delta)


def empathy(score: float | None, kind: str | None = "continuous_qualitative") -> Payload:
    metric: Payload = {"name": "Empathy", "score": score}
    if kind is not None:
        metric["type"] = kind
    return metric


@pytest.mark.parametrize(
    ("runs", "outcome", "actual"),
    [
        pytest.param(
            with_metrics([empathy(80)], [empathy(90)]), Outcome.PASS, "85", id="qualitative",
        ),
        pytest.param(
            with_metrics([empathy(80, "numeric")], [empathy(95, "numeric")]), Outcome.PASS, "87.5",
            id="numeric-at-the-upper-bound",
        ),
        pytest.param(
            with_metrics([empathy(85, "rating")], [empathy(86, None)]), Outcome.PASS, "85.5",
            id="rating-and-untyped-scores",
        ),
        pytest.param(
            with_metrics([empathy(80)], [], [empathy(None)], [empathy(90)]), Outcome.PASS, "85",
            id="runs-without-a-score-are-ignored",
        ),
        pytest.param(
            with_metrics([empathy(70)], [empathy(89)]), Outcome.FAIL, "79.5", id="below-min",
        ),
        pytest.param(
            with_metrics([empathy(100)], [empathy(92)]), Outcome.FAIL, "96", id="above-max",
        ),
        pytest.param(
            with_metrics(
                [{"name": "Empathy", "eval_type": "binary", "passed": True, "score": 100}],
                [{"name": "Empathy", "eval_type": "enum", "value": "warm", "score": 90}],
            ),
            Outcome.FAIL, "not found",
            id="binary-and-enum-scores-are-not-averaged",
        ),
    ],
)  # fmt: skip
def test_mean_score(runs, outcome, actual):
    check = the_check(
        judge("metrics: [{name: empathy, mean: {min: 80, max: 87.5}}]", runs), "metrics[0].mean"
    )
    assert (check.outcome, check.actual) == (outcome, actual)


def sentiment(value: Any, key: str = "value") -> Payload:
    return {"name": "Sentiment", "eval_type": "enum", key: value}


MOODS = with_metrics(
    [sentiment("frustrated")],
    [sentiment("Calm", "enum")],
    [sentiment("calm")],
    [sentiment(" FRUSTRATED ", "enum")],
    [],
)


@pytest.mark.parametrize(
    ("share", "runs", "outcome", "actual", "run_ids"),
    [
        pytest.param(
            "{value: Frustrated, max_percent: 50}", MOODS, Outcome.PASS, "50% (2 of 4 runs)",
            (1, 4),
            id="max-percent-exactly-at-the-limit-value-or-enum-key-any-case",
        ),
        pytest.param(
            "{value: frustrated, max_percent: 49}", MOODS, Outcome.FAIL, "50% (2 of 4 runs)",
            (1, 4),
            id="max-percent-over",
        ),
        pytest.param(
            "{value: CALM, min_percent: 50}", MOODS, Outcome.PASS, "50% (2 of 4 runs)", (),
            id="min-percent-exactly-at-the-limit",
        ),
        pytest.param(
            "{value: calm, min_percent: 51}", MOODS, Outcome.FAIL, "50% (2 of 4 runs)", (),
            id="min-percent-under",
        ),
        pytest.param(
            "{value: angry, max_percent: 0}", MOODS, Outcome.PASS, "0% (0 of 4 runs)", (),
            id="value-never-seen-is-zero-percent",
        ),
        pytest.param(
            "{value: calm, min_percent: 100}",
            with_metrics([{**sentiment("calm"), "enum": ["calm", "frustrated"]}]),
            Outcome.PASS, "100% (1 of 1 run)", (),
            id="value-wins-over-an-options-list-under-enum",
        ),
        pytest.param(
            "{value: calm, max_percent: 100}",
            with_metrics([{"name": "Sentiment", "eval_type": "enum"}]),
            Outcome.FAIL, "not found", (),
            id="no-enum-values-fails-closed",
        ),
        pytest.param(
            "{value: calm, max_percent: 100}", with_metrics([numeric(3, name="Sentiment")]),
            Outcome.FAIL, "not found", (),
            id="numeric-metric-fails-closed",
        ),
    ],
)  # fmt: skip
def test_enum_share(share, runs, outcome, actual, run_ids):
    check = the_check(
        judge(f"metrics: [{{name: sentiment, enum: {share}}}]", runs), "metrics[0].enum"
    )
    assert (check.outcome, check.actual, check.run_ids) == (outcome, actual, run_ids)


def test_enum_share_shows_the_baselines_share():
    check = the_check(
        judge(
            "metrics: [{name: sentiment, enum: {value: frustrated, max_percent: 50}}]",
            MOODS,
            with_metrics([sentiment("calm")], [sentiment("Frustrated")]),
        ),
        "metrics[0].enum",
    )
    assert (check.baseline, check.delta) == ("50%", "\u00b10 pp")


# =========================================================================== waivers

BEFORE = datetime.date(2026, 6, 1)
LAST_DAY = datetime.date(2026, 6, 30)
AFTER = datetime.date(2026, 7, 1)
WAIVER = "level: warn, until: 2026-06-30, reason: flaky carrier"
WAIVED_RESULT = result(
    [
        make_run(
            1,
            evaluation={"metrics": [numeric(1000), v2(False)]},
            critical_categories=[finding("Rude")],
        ),
        make_run(2, success=False),
    ]
)


@pytest.mark.parametrize(
    ("rules", "check_id"),
    [
        pytest.param(f"success_rate: {{min: 90, {WAIVER}}}", "success_rate.min", id="success-rate"),
        pytest.param(
            f"metrics: [{{name: Latency, p50: {{max: 500}}, {WAIVER}}}]",
            "metrics[0].p50",
            id="metric-p50",
        ),
        pytest.param(
            f"metrics: [{{name: Greeting, pass_percent: {{min: 90}}, {WAIVER}}}]",
            "metrics[0].pass_percent",
            id="metric-pass-percent",
        ),
        pytest.param(
            f"critical_categories: {{max: {{critical: 0}}, {WAIVER}}}",
            "critical_categories.max.critical",
            id="critical-categories",
        ),
        pytest.param(
            f"scenarios: [{{match: 'book*', min_passes: 2, {WAIVER}}}]",
            "scenarios[0].min_passes[Book an appointment]",
            id="scenario-rule",
        ),
        pytest.param(
            f"scenarios: {{no_new_failures: true, {WAIVER}}}",
            "scenarios.no_new_failures",
            id="no-new-failures",
        ),
        pytest.param(
            f"scenarios: {{{WAIVER}, each: [{{match: 'book*', min_passes: 2}}]}}",
            "scenarios[0].min_passes[Book an appointment]",
            id="rule-under-each-takes-the-mappings-waiver",
        ),
    ],
)
@pytest.mark.parametrize(
    ("today", "outcome", "status", "note"),
    [
        pytest.param(
            BEFORE, Outcome.WARN, VerdictStatus.WARN,
            "waived until 2026-06-30 (29 days left): flaky carrier",
            id="before",
        ),
        pytest.param(
            LAST_DAY, Outcome.WARN, VerdictStatus.WARN,
            "waived until 2026-06-30 (last day): flaky carrier",
            id="last-day",
        ),
        pytest.param(
            AFTER, Outcome.FAIL, VerdictStatus.FAIL,
            "waiver expired on 2026-06-30, so this is an error again: flaky carrier",
            id="after",
        ),
        pytest.param(
            None, Outcome.FAIL, VerdictStatus.FAIL,
            "waiver expired on 2026-06-30, so this is an error again: flaky carrier",
            id="no-date",
        ),
    ],
)  # fmt: skip
def test_waived_failing_rule(rules, check_id, today, outcome, status, note):
    verdict = judge(rules, WAIVED_RESULT, today=today)
    check = the_check(verdict, check_id)
    assert check.outcome is outcome
    assert check.reason.endswith(f" ({note})")
    assert check.waiver == note
    assert verdict.status is status


@pytest.mark.parametrize("today", [BEFORE, LAST_DAY, AFTER, None], ids=str)
def test_waived_passing_rule_still_passes_and_its_reason_does_not_mention_the_waiver(today):
    check = the_check(
        judge(f"success_rate: {{min: 50, {WAIVER}}}", WAIVED_RESULT, today=today),
        "success_rate.min",
    )
    assert check.outcome is Outcome.PASS
    assert check.reason == "Success rate: 50% meets >= 50%"
    assert check.waiver != ""


@pytest.mark.parametrize(
    ("today", "outcome", "status"),
    [
        pytest.param(BEFORE, Outcome.SKIP, VerdictStatus.PASS, id="before"),
        pytest.param(LAST_DAY, Outcome.SKIP, VerdictStatus.PASS, id="last-day"),
        pytest.param(AFTER, Outcome.FAIL, VerdictStatus.FAIL, id="after"),
        pytest.param(None, Outcome.FAIL, VerdictStatus.FAIL, id="no-date"),
    ],
)
def test_rule_off_until_a_date_is_skipped_then_enforced(today, outcome, status):
    rules = """
        success_rate: {min: 90, level: off, until: 2026-06-30, reason: flaky carrier}
        runs: {min_total: 1}
    """
    verdict = judge(rules, WAIVED_RESULT, today=today)
    assert the_check(verdict, "success_rate.min").outcome is outcome
    assert verdict.status is status


def test_rule_with_its_own_level_under_a_waived_mapping_keeps_it():
    rules = """
        scenarios:
          level: warn
          until: 2026-06-30
          reason: flaky carrier
          each:
            - {match: 'book*', min_passes: 2, level: error}
    """
    check = the_check(
        judge(rules, WAIVED_RESULT, today=BEFORE), "scenarios[0].min_passes[Book an appointment]"
    )
    assert check.outcome is Outcome.FAIL
    assert check.waiver == ""


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        pytest.param(
            datetime.date(2026, 6, 29),
            [
                ("rules.success_rate", Level.WARN, False, 1),
                ("rules.metrics[0]", Level.OFF, False, 2),
                ("rules.scenarios", Level.WARN, False, None),
                ("rules.scenarios.each[1]", Level.WARN, True, -9),
            ],
            id="some-active",
        ),
        pytest.param(
            None,
            [
                ("rules.success_rate", Level.WARN, True, None),
                ("rules.metrics[0]", Level.OFF, True, None),
                ("rules.scenarios", Level.WARN, False, None),
                ("rules.scenarios.each[1]", Level.WARN, True, None),
            ],
            id="no-date-expires-every-dated-waiver",
        ),
    ],
)
def test_verdict_lists_every_waiver_once(today, expected):
    rules = """
        success_rate: {min: 90, level: warn, until: 2026-06-30, reason: flaky carrier}
        metrics:
          - {name: Latency, p50: {max: 500}, level: off, until: 2026-07-01}
        scenarios:
          level: warn
          reason: known gap
          each:
            - {match: 'book*', min_passes: 2}
            - {match: 'cancel*', required: true, level: warn, until: 2026-06-20}
            - {match: 'refund*', min_passes: 1}
    """
    verdict = judge(rules, WAIVED_RESULT, today=today)
    shown = [(w.path, w.level, w.expired, w.days_left) for w in verdict.waivers]
    assert shown == expected


# =========================================================================== lint

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
              - {id: 11, pass_percent: {min: 1}}
              - {name: empathy, mean: {min: 1}}
              - {name: sentiment, enum: {value: FRUSTRATED, max_percent: 1}}
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
            "metrics: [{name: Latency, pass_percent: {min: 1}}]", LINT_RESULT,
            [("rules.metrics[0].pass_percent", "metric 'Latency' is numeric in result 500; "
              "pass_percent needs binary pass/fail values on the runs", True)],
            id="pass-percent-on-numeric",
        ),
        pytest.param(
            "metrics: [{name: empathy, pass_percent: {min: 1}}]", LINT_RESULT,
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
            "metrics: [{name: Greeting, enum: {value: yes, max_percent: 1}}]", LINT_RESULT,
            [("rules.metrics[0].enum", "is binary in result 500; enum needs enum values",
              True)],
            id="enum-on-binary",
        ),
        pytest.param(
            "metrics: [{name: sentiment, enum: {value: frustratd, max_percent: 1}}]",
            LINT_RESULT,
            [("rules.metrics[0].enum.value", "no run of result 500 has sentiment = 'frustratd' "
              "(values seen: 'calm', 'Frustrated'); did you mean 'Frustrated'?", True)],
            id="enum-value-typo-blocks",
        ),
        pytest.param(
            "metrics: [{name: sentiment, enum: {value: angry, max_percent: 1}}]", LINT_RESULT,
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


# --------------------------------------------------------------------------- partial data

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


# --------------------------------------------------------------------------- second review


def test_a_rule_with_name_and_id_never_pools_two_metrics():
    current = with_metrics(
        [{"id": 1, "name": "Empathy", "type": "continuous_qualitative", "score": 70}],
        [{"id": 33, "name": "Latency", "type": "numeric", "score": 2000}],
    )
    check = the_check(
        judge("metrics: [{name: Empathy, id: 33, mean: {min: 80}}]", current), "metrics[0].mean"
    )
    assert check.actual == "2000"  # id 33 only, not the mean of both metrics


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


def test_ignore_names_a_critical_category_the_result_defines():
    payload = make_result(
        [make_run(1, critical_categories=[finding("Agent quoted the wrong price", category_id=7)])],
        critical_categories=[{"id": 7, "name": "Pricing"}],
    )
    verdict = judge(
        "critical_categories: {max: {critical: 0}, ignore: [pricing]}", normalise(payload)
    )
    assert the_check(verdict, "critical_categories.max.critical").outcome is Outcome.PASS


@pytest.mark.parametrize(
    ("metric", "rule", "blocking"),
    [
        pytest.param(
            {"name": "Mood", "value": "calm"},
            "enum: {value: calm, max_percent: 1}",
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
