"""Reruns, pure: which run slots need a rerun, the round's plan within the call budget
(trimming, frequency, ordering), and the union of the attempts the evaluator judges
(k-of-n over every attempt, success rate over the latest attempt of each slot)."""

from __future__ import annotations

from typing import Any

import pytest

from gate.policy.model import RerunSettings
from gate.results.attempts import (
    FAILED,
    INFRASTRUCTURE,
    Ledger,
    Round,
    first_ledger,
    union_result,
    with_round,
)
from gate.results.model import Result, Status
from gate.results.normalise import normalise
from gate.rules.rerun import needed_reruns, plan_round
from tests.conftest import make_result, make_run
from tests.unit.rules.builders import judge, the_check

Spec = tuple[int, int, str]  # run id, scenario id, outcome: pass | fail | infra


def a_result(result_id: int, specs: list[Spec], personality: str = "Calm", **extra: Any) -> Result:
    runs = [
        make_run(
            run_id,
            scenario=scenario,
            scenario_name=f"Scenario {scenario}",
            personality_name=personality,
            success=outcome == "pass",
            **({"error_message": "call not connected"} if outcome == "infra" else {}),
        )
        for run_id, scenario, outcome in specs
    ]
    infra = [str(run_id) for run_id, _, outcome in specs if outcome == "infra"]  # numeric strings
    return normalise(
        make_result(runs, id=result_id, failed_infrastructure_runs=infra or None, **extra)
    )


def rerun(ledger: Ledger, specs: list[Spec], result_id: int, settings: RerunSettings) -> Ledger:
    """Plan a round for ``ledger`` (no cap), then give it the result ``specs``."""
    plan = plan_round(
        needed_reruns(ledger, settings), round_=len(ledger.rounds), per_frequency=1, remaining=None
    )
    result = a_result(result_id, specs)
    round_ = Round(
        plan.round, result_id, result.status, result.status_text, result.run_total,
        plan.scenario_ids, plan.frequency, plan.reasons,
    )  # fmt: skip
    return with_round(ledger, round_, result, plan.reran)


BOTH = RerunSettings(infrastructure=1, failed=1, max_calls=100)


# --------------------------------------------------------------------------- what needs a rerun


def test_infrastructure_failed_and_failed_slots_are_picked_by_the_settings():
    ledger = first_ledger(a_result(1, [(11, 101, "infra"), (12, 202, "fail"), (13, 303, "pass")]))
    assert [(n.slot.key, n.reason) for n in needed_reruns(ledger, BOTH)] == [
        (11, INFRASTRUCTURE),
        (12, FAILED),
    ]
    only_infra = RerunSettings(infrastructure=1, max_calls=10)
    assert [n.slot.key for n in needed_reruns(ledger, only_infra)] == [11]
    assert needed_reruns(ledger, RerunSettings(max_calls=10)) == ()


def test_a_slot_is_rerun_at_most_the_times_its_reason_allows():
    settings = RerunSettings(infrastructure=2, max_calls=100)
    ledger = first_ledger(a_result(1, [(11, 101, "infra")]))
    ledger = rerun(ledger, [(21, 101, "infra")], 2, settings)
    assert [n.slot.key for n in needed_reruns(ledger, settings)] == [11]
    ledger = rerun(ledger, [(31, 101, "infra")], 3, settings)
    assert needed_reruns(ledger, settings) == ()  # two infrastructure reruns spent


# --------------------------------------------------------------------------- planning


def needs_of(specs: list[Spec], personality: str = "Calm") -> Any:
    return needed_reruns(first_ledger(a_result(1, specs, personality)), BOTH)


@pytest.mark.parametrize(
    ("remaining", "per_frequency", "scenarios", "frequency", "calls", "note"),
    [
        (None, 1, (303, 101, 202), 2, 6, ""),  # no cap: all, infra first, then by id
        (6, 1, (303, 101, 202), 2, 6, ""),  # exactly fits
        (5, 1, (303, 101), 2, 4, "rerun round 1 trimmed to fit the 5 calls left under "
         "max_calls: reruns scenarios 303, 101 (4 calls), leaves out scenario 202"),
        (2, 1, (303,), 2, 2, "leaves out scenarios 101, 202"),
        (1, 1, (303,), 1, 1, "reruns scenario 303, 1 time instead of 2 (1 call), leaves out"),
        (3, 2, (303,), 1, 2, "reruns scenario 303, 1 time instead of 2 (2 calls)"),
        (1, 2, (), 0, 0, "rerun round 1 skipped: 1 call left under max_calls, too few for "
         "scenarios 303, 101, 202"),
        (0, 1, (), 0, 0, "skipped"),
    ],
)  # fmt: skip
def test_a_round_is_trimmed_to_the_budget_deterministically(
    remaining, per_frequency, scenarios, frequency, calls, note
):
    # 303 has two infrastructure-failed slots (so frequency 2); 101 and 202 failed once.
    needs = needs_of(
        [(1, 101, "fail"), (2, 202, "fail"), (3, 303, "infra"), (4, 303, "infra"), (5, 404, "pass")]
    )
    plan = plan_round(needs, round_=1, per_frequency=per_frequency, remaining=remaining)
    assert (plan.scenario_ids, plan.frequency, plan.calls) == (scenarios, frequency, calls)
    assert note in plan.note
    assert plan.calls <= (remaining if remaining is not None else plan.calls)
    assert plan.skipped is (scenarios == ())


def test_frequency_is_the_most_slots_of_one_personality_and_calls_count_personalities():
    needs = needs_of([(1, 101, "fail"), (2, 101, "fail"), (3, 202, "fail")])
    plan = plan_round(needs, round_=1, per_frequency=3, remaining=None)  # 3 personalities
    assert (plan.scenario_ids, plan.frequency, plan.calls) == ((101, 202), 2, 12)
    assert plan.reasons == (FAILED,)


def test_a_run_without_a_scenario_id_cannot_be_rerun_and_the_plan_says_so():
    ledger = first_ledger(a_result(1, [(11, 101, "fail")]))
    orphan = normalise(make_result([make_run(12, scenario=None, success=False)], id=1))
    ledger = first_ledger(orphan)
    plan = plan_round(needed_reruns(ledger, BOTH), round_=1, per_frequency=1, remaining=None)
    assert plan.skipped and "runs 12 have no scenario id" in plan.note


# --------------------------------------------------------------------------- the union


def test_without_reruns_the_union_is_the_result_itself():
    result = a_result(1, [(11, 101, "fail")])
    assert union_result(first_ledger(result)) is result


def test_failed_then_passed_meets_one_of_two_and_the_success_rate_counts_the_latest():
    ledger = first_ledger(a_result(1, [(11, 101, "fail"), (12, 202, "pass")]))
    ledger = rerun(ledger, [(21, 101, "pass")], 2, BOTH)
    union = union_result(ledger)
    assert [run.id for run in union.runs] == [21, 12]  # latest attempt per slot
    assert [run.id for run in union.attempts] == [11, 12, 21]
    verdict = judge(
        """
        success_rate: {min: 100}
        scenarios:
          - {match: "Scenario 101", min_passes: 1, frequency: 2}
        """,
        union,
    )
    assert the_check(verdict, "success_rate.min").actual == "100%"
    assert the_check(verdict, "scenarios[0].min_passes[Scenario 101]").actual == "1 of 2"
    assert verdict.status.value == "pass"


def test_a_rerun_that_fails_again_keeps_the_slot_failed():
    ledger = first_ledger(a_result(1, [(11, 101, "infra"), (12, 202, "pass")]))
    ledger = rerun(ledger, [(21, 101, "infra")], 2, BOTH)
    union = union_result(ledger)
    assert [run.id for run in union.runs] == [21, 12]
    # left out of the success rate (the default infrastructure rule warns) ...
    assert judge("success_rate: {min: 100}", union).status.value == "warn"
    # ... and an infrastructure failure where a rule caps them
    verdict = judge("success_rate: {min: 100}\ninfrastructure: {max: 0}", union)
    assert (verdict.status.value, verdict.failure) == ("fail", "infrastructure")


def test_extra_attempts_count_for_k_of_n_but_replace_no_slot():
    # Scenario 101 ran twice; one failed. The rerun trigger asks for frequency 1 per
    # scenario, but Cekura made two runs: the second is an extra attempt.
    ledger = first_ledger(a_result(1, [(11, 101, "pass"), (12, 101, "fail")]))
    ledger = rerun(ledger, [(21, 101, "pass"), (22, 101, "fail")], 2, BOTH)
    union = union_result(ledger)
    assert [run.id for run in union.runs] == [11, 21]
    assert [run.id for run in union.attempts] == [11, 12, 21, 22]
    log = ledger.log()
    assert [(a.run.id, a.slot, a.reason) for a in log.reruns] == [
        (21, 12, FAILED),
        (22, None, FAILED),
    ]
    assert log.result_ids == (1, 2) and log.calls == 4


def test_slots_match_by_personality_and_occurrence():
    first = normalise(
        make_result(
            [
                make_run(11, scenario=101, personality_name="Calm", success=True),
                make_run(12, scenario=101, personality_name="Angry", success=False),
            ],
            id=1,
        )
    )
    ledger = first_ledger(first)
    plan = plan_round(needed_reruns(ledger, BOTH), round_=1, per_frequency=2, remaining=None)
    assert plan.calls == 2  # the trigger reruns both personalities
    second = normalise(
        make_result(
            [
                make_run(21, scenario=101, personality_name="Calm", success=False),
                make_run(22, scenario=101, personality_name="Angry", success=True),
            ],
            id=2,
        )
    )
    round_ = Round(1, 2, Status.COMPLETED, "completed", 2, plan.scenario_ids, 1, plan.reasons)
    union = union_result(with_round(ledger, round_, second, plan.reran))
    # The Angry slot takes the Angry rerun; the Calm rerun is an extra attempt.
    assert [run.id for run in union.runs] == [11, 22]
    assert judge("success_rate: {min: 100}", union).status.value == "pass"


def test_a_result_that_ended_failed_is_forgiven_once_its_spoilt_runs_are_replaced():
    first = normalise(
        make_result(
            [
                make_run(11, scenario=101, success=True),
                make_run(12, scenario=202, success=False, status="failed"),
            ],
            id=1,
            status="failed",
            failed_infrastructure_runs=[12],
        )
    )
    ledger = rerun(first_ledger(first), [(21, 202, "pass")], 2, BOTH)
    assert union_result(ledger).status is Status.COMPLETED
    timed_out = normalise(make_result([make_run(11, success=False)], id=1, status="timeout"))
    ledger = rerun(first_ledger(timed_out), [(21, 1, "pass")], 2, BOTH)
    assert union_result(ledger).status is Status.COMPLETED  # its one run was replaced
    kept = first_ledger(
        normalise(
            make_result(
                [make_run(11, success=True), make_run(12, scenario=2, success=False)],
                id=1,
                status="timeout",
            )
        )
    )
    assert union_result(rerun(kept, [(21, 2, "pass")], 2, BOTH)).status is Status.TIMEOUT


def test_a_rerun_result_without_a_run_for_a_slot_keeps_the_slot_and_says_so():
    ledger = first_ledger(a_result(1, [(11, 101, "fail"), (12, 202, "fail")]))
    ledger = rerun(ledger, [(21, 101, "pass")], 2, BOTH)
    union = union_result(ledger)
    assert [run.id for run in union.runs] == [21, 12]
    assert any("rerun result 2 has no run for run 12" in note for note in union.notes)
