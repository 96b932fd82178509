"""Live mode: wait for a result on the Cekura API, then fetch the run details it lacks.

``fetch_finished_result`` ties the poller to the client: it waits for a
terminal status, then, where the policy or the reports need per-run details
the result payload does not carry (critical-category findings, metrics), pulls
them from runs-bulk and merges them in by run id. No environment, no printing:
progress goes through ``emit``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from gate.api.poller import wait_for_result
from gate.errors import ApiError
from gate.policy.model import CriticalCategoriesRule, Level, MetricRule, Policy, WaitSettings
from gate.results.merge import (
    RunEntry,
    bulk_entries,
    entry_id,
    has_findings,
    merge_run_details,
    require_every_run,
    result_payload,
    runs_missing_details,
)
from gate.rules.checks import plural

DETAILS_GRACE_SHARE = 0.1
DETAILS_GRACE_MAX_S = 60.0


class ResultSource(Protocol):
    def get_result(self, result_id: int, *, deadline: float | None = None) -> Any: ...

    def get_runs(self, run_ids: list[int], *, deadline: float | None = None) -> list[Any]: ...


def _may_judge(rule: CriticalCategoriesRule | MetricRule) -> bool:
    """Not off, or off only until a date (after which the rule is on again)."""
    return rule.level is not Level.OFF or (
        rule.waiver is not None and rule.waiver.until is not None
    )


def needs_findings(policy: Policy) -> bool:
    rule = policy.rules.critical_categories
    return rule is not None and _may_judge(rule)


def needs_every_run(policy: Policy) -> bool:
    """Whether a rule reads values of every run (findings, scenarios, metrics over runs)."""
    rules = policy.rules
    over_runs = any(
        _may_judge(metric) and (metric.mean or metric.pass_percent or metric.enum)
        for metric in rules.metrics
    )
    return needs_findings(policy) or rules.scenarios is not None or over_runs


def _usable(run: RunEntry, findings: bool) -> bool:
    """A runs-bulk entry that carries what was asked for (findings, when the policy counts them)."""
    return not findings or has_findings(run)


def _fetch_details(
    source: ResultSource,
    run_ids: list[int],
    deadline: float,
    emit: Callable[[str], None],
    *,
    findings: bool,
) -> list[RunEntry]:
    emit(f"fetching details of {plural(len(run_ids), 'run')}")
    runs = bulk_entries(source.get_runs(run_ids, deadline=deadline))
    asked = _short_of(run_ids, runs, findings)
    if asked:  # one more try: a bulk read can race evaluations
        runs = [run for run in runs if entry_id(run) not in asked]
        runs += bulk_entries(source.get_runs(asked, deadline=deadline))
    returned = {entry_id(run) for run in runs}
    absent = [run_id for run_id in run_ids if run_id not in returned]
    if absent:
        raise ApiError(f"runs-bulk did not return runs {_ids(absent)}; their details are unknown")
    lacking = _short_of(run_ids, runs, findings)
    if lacking:
        raise ApiError(
            f"runs-bulk returned runs {_ids(lacking)} without critical_categories; "
            "their findings are unknown"
        )
    return runs


def _short_of(run_ids: list[int], runs: list[RunEntry], findings: bool) -> list[int]:
    """The ids not returned, or returned without findings when the policy counts them."""
    usable = {entry_id(run) for run in runs if _usable(run, findings)}
    return [run_id for run_id in run_ids if run_id not in usable]


def _ids(run_ids: list[int]) -> str:
    shown = ", ".join(str(run_id) for run_id in run_ids[:10])
    return shown + (f" and {len(run_ids) - 10} more" if len(run_ids) > 10 else "")


def fetch_finished_result(
    source: ResultSource,
    result_id: int,
    policy: Policy,
    *,
    wait: WaitSettings,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    emit: Callable[[str], None],
) -> dict[str, Any]:
    """The finished result's payload with run details merged in."""
    deadline = clock() + wait.timeout_s

    def fetch(until: float) -> Any:
        return source.get_result(result_id, deadline=until)

    payload = wait_for_result(fetch, settings=wait, clock=clock, sleep=sleep, emit=emit)
    # The details fetch ends at the deadline too, except for a result that finished just
    # before it: that one still gets a tenth of the timeout (at most a minute) for them.
    grace = min(wait.timeout_s * DETAILS_GRACE_SHARE, DETAILS_GRACE_MAX_S)
    until = max(deadline, clock() + grace)
    return with_run_details(
        source,
        payload,
        findings=needs_findings(policy),
        every_run=needs_every_run(policy),
        deadline=until,
        emit=emit,
    )


def with_run_details(
    source: ResultSource,
    payload: object,
    *,
    findings: bool,
    every_run: bool,
    deadline: float,
    emit: Callable[[str], None],
) -> dict[str, Any]:
    """A finished result's payload with the run details it lacks merged in from runs-bulk."""
    result = result_payload(payload)
    if findings or every_run:
        require_every_run(result)
    missing = runs_missing_details(result, findings=findings)
    if missing:
        details = _fetch_details(source, missing, deadline, emit, findings=findings)
        return merge_run_details(result, details)
    return result
