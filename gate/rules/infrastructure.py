"""Infrastructure-failed runs, judged apart from the agent's own failures. Pure: no I/O.

Which runs are infrastructure-failed is decided once, when the payload is read
(``gate.results.infrastructure``; ``Run.infrastructure`` holds the reason). Here:

- ``judged_result``: the result as the rules that leave those runs out see it (the
  default of success-rate, expected-outcome and run-count rules, ``infrastructure:
  exclude``): without them in the count or in the total;
- ``check_infrastructure``: the policy's ``rules.infrastructure`` caps (a policy without one
  gets ``DEFAULT_INFRASTRUCTURE``, only where a run is infrastructure-failed);
- ``check_judged``: the guard that is always on: when every run is infrastructure-failed,
  nothing was judged, and that is never a pass;
- ``with_causes``: which failed checks are infrastructure failures rather than the agent's.
"""

from __future__ import annotations

from collections.abc import Iterable

from gate import dataclasses
from gate.policy.model import InfrastructureRule, Level
from gate.results.model import Result, Status
from gate.rules.checks import Check, Outcome, fmt, make_check, percent, plural

FAMILY = "infrastructure"
SUBJECT = "Infrastructure failures"


def infrastructure_ids(result: Result) -> frozenset[int]:
    """The ids of the result's infrastructure-failed runs."""
    return frozenset(run.id for run in result.runs if run.infrastructure)


def judged_result(result: Result) -> Result:
    """``result`` without its infrastructure-failed runs, counters included (the same result
    when it has none). Its success rate is then worked out from the runs: Cekura's counts
    them as failures. Expected outcomes are counted from the runs' scores when every run is
    listed, else Cekura's counts less one per infrastructure-failed run."""
    left_out = sum(1 for run in result.runs if run.infrastructure)
    if not left_out:
        return result
    met, expected = result.met_expected_outcomes, result.total_expected_outcomes
    if result.runs_gap is None:
        met = expected = None
    elif expected is not None:
        expected = max(expected - left_out, 0)
        met = min(met or 0, expected)
    return dataclasses.replace(
        result,
        runs=tuple(run for run in result.runs if not run.infrastructure),
        total_runs=result.run_total - left_out,
        success_runs=None,
        completed_runs=None,
        success_rate=None,
        met_expected_outcomes=met,
        total_expected_outcomes=expected,
    )


def check_infrastructure(rule: InfrastructureRule, result: Result) -> list[Check]:
    """The caps of ``rules.infrastructure`` on the result's infrastructure-failed runs."""
    ids = tuple(sorted(infrastructure_ids(result)))
    total = result.run_total
    shown = f"{len(ids)} of {total}"
    what = f"{plural(len(ids), 'run')} of {total} infrastructure-failed"
    checks = []
    if rule.max is not None:
        checks.append(
            make_check(
                "infrastructure.max",
                SUBJECT,
                rule.level,
                f"<= {rule.max}",
                shown,
                len(ids) <= rule.max,
                f"{what} (never connected, or a provider error), more than {rule.max}",
                ids,
            )
        )
    if rule.max_percent is not None:
        share = percent(len(ids), total) if total else 0.0
        checks.append(
            make_check(
                "infrastructure.max_percent",
                f"{SUBJECT} share",
                rule.level,
                f"<= {fmt(rule.max_percent, '%')}",
                f"{fmt(share, '%')} ({shown})",
                share <= rule.max_percent,
                f"{what} ({fmt(share, '%')}), more than {fmt(rule.max_percent, '%')}",
                ids,
            )
        )
    return [dataclasses.replace(check, infrastructure=True) for check in checks]


def check_judged(result: Result) -> Check:
    """Always on where a run is infrastructure-failed: at least one run must be left to judge
    (an error whatever the policy: nothing judged is never a pass)."""
    ids = tuple(sorted(infrastructure_ids(result)))
    judged = result.run_total - len(ids)
    check = make_check(
        "infrastructure.judged",
        "Runs judged",
        Level.ERROR,
        ">= 1 run not infrastructure-failed",
        f"{judged} of {result.run_total}",
        judged > 0,
        f"every run ({len(ids)}) is infrastructure-failed, so nothing was judged; "
        "no data is never a pass",
        ids,
    )
    return dataclasses.replace(check, infrastructure=True)


def with_causes(checks: Iterable[Check], result: Result) -> tuple[Check, ...]:
    """The checks, with those that failed or warned because of infrastructure marked:

    - a result that ended ``failed`` (Cekura's status for connection errors);
    - a check whose runs are all infrastructure-failed (a rule that counts them; a result
      that timed out with every unfinished run never connected);
    - when nothing was judged, every check that names no other run.
    """
    ids = infrastructure_ids(result)
    nothing_judged = bool(ids) and result.run_total <= len(ids)
    marked = []
    for check in checks:
        if check.outcome in (Outcome.FAIL, Outcome.WARN) and not check.infrastructure:
            named = set(check.run_ids)
            if (
                (check.key == "result.status" and result.status is Status.FAILED)
                or (named and named <= ids)
                or (nothing_judged and named <= ids)
            ):
                check = dataclasses.replace(check, infrastructure=True)
        marked.append(check)
    return tuple(marked)
