"""Per-scenario rules (gate.rules.scenarios): required scenarios, k-of-n passes and pass percents,
globs.
"""

from __future__ import annotations

import pytest

from gate.rules.checks import Outcome
from tests.unit.rules.builders import BRACKETS, judge, rule_checks, scenarios, the_check

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
            [("scenarios[0]", Outcome.FAIL, "not in this result")],
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
            [("scenarios[0]", Outcome.FAIL, "not in this result")],
            id="not-required-absent-fails",
        ),
        pytest.param(
            "scenarios: [{match: 'Refund*', min_passes: 1, level: warn}]", BOOKINGS,
            [("scenarios[0]", Outcome.FAIL, "not in this result")],
            id="absent-fails-at-level-warn",
        ),
        pytest.param(
            "scenarios: [{match: 'Refund*', required: true, level: warn}]", BOOKINGS,
            [("scenarios[0].required", Outcome.FAIL, "not in this result")],
            id="required-absent-fails-at-level-warn",
        ),
        pytest.param(
            "scenarios: {each: [{match: 'Refund*', min_passes: 1}], level: warn, reason: x}",
            BOOKINGS,
            [("scenarios[0]", Outcome.FAIL, "not in this result")],
            id="absent-fails-under-a-waived-mapping",
        ),
        pytest.param(
            "scenarios: [{match: 'Refund*', min_passes: 1, missing: warn}]", BOOKINGS,
            [("scenarios[0]", Outcome.WARN, "not in this result")],
            id="missing-warn-warns",
        ),
        pytest.param(
            "scenarios: [{match: 'Refund*', min_passes: 1, missing: ignore}]", BOOKINGS,
            [("scenarios[0]", Outcome.SKIP, "not in this result")],
            id="missing-ignore-skips",
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
    assert [(check.key, check.outcome, check.actual) for check in checks] == expected


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
            "no run of a scenario matching 'Refund*' is in this result "
            "(scenarios present: Book an appointment, Booking a refund, Cancel)",
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


@pytest.mark.parametrize(
    ("match", "hint"),
    [
        ("'Bok an appointment'", "; did you mean 'Book an appointment'?"),
        ("'Boking a *'", "; did you mean 'Booking a *' (it matches 'Booking a refund')?"),
        ("'Refund *'", ""),
        ("7", ""),
        ("'\u00b2'", ""),  # digits int() refuses: a name, not an id
    ],
    ids=["name", "glob", "nothing-close", "id", "superscript-digit"],
)
def test_a_match_that_selects_nothing_says_what_the_result_has(match, hint):
    check = the_check(
        judge(f"scenarios: [{{match: {match}, min_passes: 1}}]", BOOKINGS), "scenarios[0]"
    )
    label = match.strip("'") if not match.isdigit() else f"id {match}"
    assert check.reason == (
        f"no run of a scenario matching '{label}' is in this result (scenarios present: "
        f"Book an appointment, Booking a refund, Cancel){hint}"
    )
