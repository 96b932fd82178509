"""Waivers that expire (gate.rules.checks): a waived rule's level, its expiry and how reports show
it.
"""

from __future__ import annotations

import datetime

import pytest

from gate.policy.model import Level
from gate.rules.checks import Outcome
from gate.rules.evaluate import VerdictStatus
from tests.conftest import make_run
from tests.unit.rules.builders import finding, judge, numeric, result, the_check, v2

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
