"""Infrastructure-failed runs judged apart: which rules leave them out, the infrastructure
rule and its default, nothing judged never passing, and what the verdict blames."""

from __future__ import annotations

from typing import Any

import pytest

from gate.rules.checks import Outcome
from gate.rules.evaluate import FailureKind, VerdictStatus
from tests.conftest import make_run
from tests.unit.rules.builders import judge, result, the_check

AGENT_FAIL: dict[str, Any] = {"success": False, "expected_outcome": {"score": 0}}
NEVER_CONNECTED: dict[str, Any] = {
    "success": False,
    "status": "failed",
    "duration": "00:00",
    "expected_outcome": {},
    "error_message": "SIP 503",
}


def runs(passed: int = 0, agent: int = 0, infra: int = 0, **overrides: Any) -> Any:
    """A result with that many passing, agent-failed and never-connected runs, in order."""
    kinds: list[dict[str, Any]] = [{}] * passed + [AGENT_FAIL] * agent + [NEVER_CONNECTED] * infra
    return result(
        [make_run(index, **kind) for index, kind in enumerate(kinds, start=1)], **overrides
    )


# --------------------------------------------------------------------------- what rules count

CASES = [
    # (case, rules, runs (passed, agent, infra), check key, outcome, actual starts with)
    (
        "success rate leaves them out",
        "success_rate: {min: 100}",
        (3, 0, 2),
        "success_rate.min",
        Outcome.PASS,
        "100%",
    ),
    (
        "success rate can count them",
        "success_rate: {min: 100, infrastructure: count}",
        (3, 0, 2),
        "success_rate.min",
        Outcome.FAIL,
        "60%",
    ),
    (
        "an agent failure still counts",
        "success_rate: {min: 80}",
        (3, 1, 2),
        "success_rate.min",
        Outcome.FAIL,
        "75%",
    ),
    (
        "failed runs leave them out",
        "runs: {max_failed: 0}",
        (3, 0, 2),
        "runs.max_failed",
        Outcome.PASS,
        "0 of 3",
    ),
    (
        "failed runs can count them",
        "runs: {max_failed: 0, infrastructure: count}",
        (3, 0, 2),
        "runs.max_failed",
        Outcome.FAIL,
        "2 of 5",
    ),
    (
        "min_total counts every run",
        "runs: {min_total: 5}",
        (3, 0, 2),
        "runs.min_total",
        Outcome.PASS,
        "5",
    ),
    (
        "expected outcomes leave them out",
        "expected_outcomes: {max_unmet: 0}",
        (3, 0, 2),
        "expected_outcomes.max_unmet",
        Outcome.PASS,
        "0",
    ),
    (
        "expected outcomes from the judged runs",
        "expected_outcomes: {min_met_percent: 100}",
        (3, 1, 2),
        "expected_outcomes.min_met_percent",
        Outcome.FAIL,
        "75%",
    ),
]


@pytest.mark.parametrize(
    ("rules", "shape", "key", "outcome", "actual"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_rules_leave_infrastructure_failures_out_unless_told_to_count_them(
    rules, shape, key, outcome, actual
):
    got = the_check(judge(rules, runs(*shape)), key)
    assert (got.outcome, got.actual.startswith(actual)) == (outcome, True), got


@pytest.mark.parametrize(
    ("rule", "shape", "outcome"),
    [
        ("{match: 'Book*', min_passes: 2}", (2, 0, 1), Outcome.PASS),
        ("{match: 'Book*', min_pass_percent: 100, frequency: 3}", (2, 0, 1), Outcome.PASS),
        ("{match: 'Book*', min_pass_percent: 100, infrastructure: count}", (2, 0, 1), Outcome.FAIL),
        ("{match: 'Book*', min_passes: 3}", (2, 0, 1), Outcome.FAIL),
    ],
    ids=["k-of-n", "frequency-not-missing", "count", "k-of-n-short"],
)
def test_scenario_rules_leave_infrastructure_failures_out(rule, shape, outcome):
    verdict = judge(f"scenarios: [{rule}]", runs(*shape))
    (check,) = [check for check in verdict.checks if check.family == "scenarios"]
    assert check.outcome is outcome, check


def test_a_scenario_short_of_passes_only_through_infrastructure_is_an_infrastructure_failure():
    verdict = judge("scenarios: [{match: 'Book*', min_passes: 3}]", runs(2, 0, 1))
    assert verdict.failure_kinds == (FailureKind.INFRASTRUCTURE,)


# --------------------------------------------------------------------------- the rule


def test_without_a_rule_an_infrastructure_failure_warns():
    verdict = judge("success_rate: {min: 90}", runs(9, 0, 1))
    got = the_check(verdict, "infrastructure.max")
    assert (verdict.status, got.outcome, got.actual) == (
        VerdictStatus.WARN,
        Outcome.WARN,
        "1 of 10",
    )
    assert got.run_ids == (10,)


def test_without_a_rule_or_any_infrastructure_failure_there_is_no_infrastructure_check():
    verdict = judge("success_rate: {min: 90}", runs(3))
    assert not [check for check in verdict.checks if check.family == "infrastructure"]


@pytest.mark.parametrize(
    ("rule", "outcome"),
    [
        ("{max: 2}", Outcome.PASS),
        ("{max: 1}", Outcome.FAIL),
        ("{max_percent: 20}", Outcome.PASS),
        ("{max_percent: 10}", Outcome.FAIL),
        ("{max: 1, level: warn}", Outcome.WARN),
    ],
)
def test_the_infrastructure_rule_caps_them(rule, outcome):
    verdict = judge(f"success_rate: {{min: 90}}\ninfrastructure: {rule}", runs(8, 0, 2))
    got = [check for check in verdict.checks if check.key.startswith("infrastructure.max")]
    assert [check.outcome for check in got] == [outcome]
    assert verdict.failure_kinds == (
        (FailureKind.INFRASTRUCTURE,) if outcome is Outcome.FAIL else ()
    )


def test_a_written_rule_is_reported_when_every_run_connected():
    got = the_check(judge("infrastructure: {max: 0}", runs(3)), "infrastructure.max")
    assert (got.outcome, got.actual) == (Outcome.PASS, "0 of 3")


# --------------------------------------------------------------------------- nothing judged


@pytest.mark.parametrize(
    "rules",
    [
        "success_rate: {min: 0}",
        "runs: {min_total: 1}",
        "infrastructure: {max: 5, level: warn}",
        "infrastructure: {max_percent: 100}",
        "success_rate: {min: 0, infrastructure: count}",
    ],
)
def test_nothing_judged_is_never_a_pass_and_blames_the_infrastructure(rules):
    verdict = judge(rules, runs(0, 0, 3))
    assert verdict.status is VerdictStatus.FAIL
    assert the_check(verdict, "infrastructure.judged").outcome is Outcome.FAIL
    assert verdict.failure_kinds == (FailureKind.INFRASTRUCTURE,)
    assert (verdict.failure, verdict.infrastructure_only) == ("infrastructure", True)


def test_every_failed_run_infrastructure_failed_is_an_infrastructure_failure():
    verdict = judge("success_rate: {min: 100}\nruns: {max_failed: 0}", runs(2, 0, 2))
    assert verdict.status is VerdictStatus.WARN  # the default rule warns; the agent passed
    verdict = judge(
        "success_rate: {min: 100}\nruns: {max_failed: 0}\ninfrastructure: {max: 0}", runs(2, 0, 2)
    )
    assert (verdict.status, verdict.failure) == (VerdictStatus.FAIL, "infrastructure")


def test_a_mixed_result_is_an_agent_failure_that_reports_both():
    verdict = judge("success_rate: {min: 100}\ninfrastructure: {max: 0}", runs(2, 1, 1))
    assert verdict.failure_kinds == (FailureKind.AGENT, FailureKind.INFRASTRUCTURE)
    assert (verdict.failure, verdict.infrastructure_only) == ("both", False)


def test_a_rule_that_counts_them_blames_the_infrastructure_when_they_are_all_it_names():
    verdict = judge("success_rate: {min: 100, infrastructure: count}", runs(3, 0, 1))
    assert the_check(verdict, "success_rate.min").infrastructure
    assert verdict.failure == "infrastructure"


def test_a_result_that_ended_failed_is_an_infrastructure_failure():
    verdict = judge("success_rate: {min: 0}", runs(3, status="failed"))
    assert the_check(verdict, "result.status").infrastructure
    assert verdict.failure == "infrastructure"


def test_an_agent_failure_is_not_an_infrastructure_failure():
    verdict = judge("success_rate: {min: 100}", runs(3, 1))
    assert (verdict.failure, verdict.failure_kinds) == ("agent", (FailureKind.AGENT,))


def test_a_passing_verdict_blames_nothing():
    assert judge("success_rate: {min: 100}", runs(3)).failure == "none"


def test_run_reports_say_which_runs_are_infrastructure_failed_and_why():
    reports = judge("success_rate: {min: 0}", runs(1, 1, 1)).runs
    assert [report.failed for report in reports] == [False, True, True]
    assert reports[2].reasons[0] == "infrastructure failure: run ended failed: SIP 503"
    assert not any("infrastructure" in reason for reason in reports[1].reasons)


def test_the_counts_say_how_many_runs_are_infrastructure_failed():
    counts = judge("success_rate: {min: 0}", runs(1, 1, 2)).counts
    assert counts is not None
    assert (counts.total_runs, counts.failed_runs, counts.infrastructure_runs) == (4, 3, 2)


def test_a_run_that_passed_with_an_error_is_no_pass_when_a_rule_counts_it():
    current = result([make_run(1), make_run(2, error_message="provider 429")], success_rate=100)
    verdict = judge("success_rate: {min: 100, infrastructure: count}", current)
    got = the_check(verdict, "success_rate.min")
    assert (got.outcome, got.actual, got.run_ids) == (Outcome.FAIL, "50%", (2,))
    assert verdict.failure == "infrastructure"
    assert judge("success_rate: {min: 100}", current).status is VerdictStatus.WARN


def test_a_baseline_leaves_its_infrastructure_failures_out_too():
    baseline = runs(2, 0, 2)  # 100 % of the runs that connected
    verdict = judge("success_rate: {max_drop: 0}", runs(3), baseline=baseline)
    assert the_check(verdict, "success_rate.max_drop").outcome is Outcome.PASS
    counted = judge("success_rate: {max_drop: 0, infrastructure: count}", runs(3), baseline)
    assert the_check(counted, "success_rate.max_drop").baseline == "50%"


@pytest.mark.parametrize(
    "rules",
    [
        "critical_categories: {max: {critical: 0}}",
        "critical_categories: {no_new_categories: [critical]}",
    ],
)
def test_a_call_that_never_connected_has_no_findings_to_be_unknown(rules):
    never_connected = {**NEVER_CONNECTED, "critical_categories": None}
    current = result([make_run(1), make_run(2, **never_connected)])
    verdict = judge(rules, current, baseline=current)
    got = [check for check in verdict.checks if check.family == "critical_categories"]
    assert [check.outcome for check in got] == [Outcome.PASS]
    assert "unknown" not in got[0].actual


def test_an_agent_run_without_findings_is_still_unknown_beside_a_never_connected_one():
    never_connected = {**NEVER_CONNECTED, "critical_categories": None}
    current = result([make_run(1, critical_categories=None), make_run(2, **never_connected)])
    got = the_check(
        judge("critical_categories: {max: {critical: 0}}", current),
        "critical_categories.max.critical",
    )
    assert (got.outcome, got.actual) == (Outcome.FAIL, "0 + unknown")
    assert "run 1 carries" in got.reason


NO_CALL_METRICS = {
    "metrics": [
        {"id": 2, "name": "Call Pickup", "eval_type": "binary", "passed": False},
        {"id": 33, "name": "Latency", "type": "numeric", "score": 0},
    ]
}


@pytest.mark.parametrize(
    ("rules", "key", "actual"),
    [
        ("metrics: [{name: Latency, p50: {min: 1000}}]", "metrics[0].p50", "1500"),
        ("metrics: [{name: Latency, mean: {min: 1000}}]", "metrics[0].mean", "1500"),
        (
            "metrics: [{name: Call Pickup, pass_percent: {min: 100}}]",
            "metrics[0].pass_percent",
            "100% (2 of 2 runs)",
        ),
    ],
)
def test_metric_rules_leave_out_what_a_never_connected_call_scored(rules, key, actual):
    # A call that never connected can still carry a latency of 0 or a failed pickup: that is
    # not the agent's, and a 0 would pull a latency p50 down and hide a regression.
    def answered(latency: float) -> dict[str, Any]:
        pickup = {"id": 2, "name": "Call Pickup", "eval_type": "binary", "passed": True}
        latency_metric = {"id": 33, "name": "Latency", "type": "numeric", "score": latency}
        return {"evaluation": {"metrics": [pickup, latency_metric]}}

    current = result(
        [
            make_run(1, **answered(1400)),
            make_run(2, **answered(1600)),
            make_run(3, **NEVER_CONNECTED, evaluation=NO_CALL_METRICS),
        ]
    )
    verdict = judge(f"{rules}\ninfrastructure: {{max: 1}}", current)
    got = the_check(verdict, key)
    assert (got.outcome, got.actual) == (Outcome.PASS, actual)
    assert verdict.status is VerdictStatus.PASS


def test_a_scenario_none_of_whose_runs_connected_is_not_a_new_scenario_failure():
    """Nothing of it was judged: the infrastructure cap and 'Runs judged' speak for it."""
    both = [make_run(1, scenario=1), make_run(2, scenario=2, scenario_name="Cancel")]
    baseline = result(both)
    current = result([both[0], make_run(2, scenario=2, scenario_name="Cancel", **NEVER_CONNECTED)])
    rules = "scenarios: {no_new_failures: true}\ninfrastructure: {max: 1}"
    verdict = judge(rules, current, baseline=baseline)
    check = the_check(verdict, "scenarios.no_new_failures")
    assert check.outcome is Outcome.PASS
    assert "1 not judged" in check.actual
    assert verdict.status is VerdictStatus.PASS
    # an agent failure of the same scenario is still a new failure, and the agent's
    failed = result([both[0], make_run(2, scenario=2, scenario_name="Cancel", **AGENT_FAIL)])
    verdict = judge(rules, failed, baseline=baseline)
    assert the_check(verdict, "scenarios.no_new_failures").outcome is Outcome.FAIL
    assert verdict.failure == "agent"
