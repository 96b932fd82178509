"""Live mode: wait for a result on the Cekura API, then fetch the run details it lacks.

``fetch_finished_result`` ties the poller to the client: it waits for a
terminal status, then, where the policy or the reports need per-run details
the result payload does not carry (critical-category findings, metrics), pulls
them from runs-bulk and merges them in by run id. No environment, no printing:
progress goes through ``emit``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from gate.api.poller import wait_for_result
from gate.errors import ApiError, ResultError
from gate.policy.model import Level, Policy, WaitSettings
from gate.results.merge import merge_run_details
from gate.results.normalise import as_count, as_int, is_mapping
from gate.rules.checks import plural


class ResultSource(Protocol):
    def get_result(self, result_id: int, *, deadline: float | None = None) -> Any: ...

    def get_runs(self, run_ids: list[int], *, deadline: float | None = None) -> list[Any]: ...


def _may_judge(rule: Any) -> bool:
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


def runs_missing_details(payload: Mapping[str, Any], *, findings: bool) -> list[int]:
    """Ids of runs whose entry lacks metrics, or findings when the policy counts them."""
    runs = payload.get("runs")
    if is_mapping(runs):
        entries: Any = runs.items()
    elif isinstance(runs, list):
        entries = enumerate(runs)
    else:
        return []
    missing = []
    for key, run in entries:
        if not is_mapping(run):
            continue
        lacks_metrics = not is_mapping(run.get("evaluation"))
        lacks_findings = findings and not _has_findings(run)
        run_id = as_int(run.get("id", key))
        if run_id is not None and (lacks_metrics or lacks_findings):
            missing.append(run_id)
    return sorted(missing)


def _has_findings(run: Mapping[str, Any]) -> bool:
    return isinstance(run.get("critical_categories"), list)


def _usable(run: object, findings: bool) -> bool:
    """A runs-bulk entry that carries what was asked for (findings, when the policy counts them)."""
    return is_mapping(run) and (not findings or _has_findings(run))


def _fetch_details(
    source: ResultSource,
    run_ids: list[int],
    deadline: float,
    emit: Callable[[str], None],
    *,
    findings: bool,
) -> list[Any]:
    emit(f"fetching details of {plural(len(run_ids), 'run')}")
    runs = [run for run in source.get_runs(run_ids, deadline=deadline) if is_mapping(run)]
    if _short_of(run_ids, runs, findings):  # one more try: a bulk read can race evaluations
        asked = _short_of(run_ids, runs, findings)
        runs = [run for run in runs if as_int(run.get("id")) not in asked]
        runs += [run for run in source.get_runs(asked, deadline=deadline) if is_mapping(run)]
    returned = {as_int(run.get("id")) for run in runs}
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


def _short_of(run_ids: list[int], runs: list[Any], findings: bool) -> list[int]:
    """The ids not returned, or returned without findings when the policy counts them."""
    usable = {as_int(run.get("id")) for run in runs if _usable(run, findings)}
    return [run_id for run_id in run_ids if run_id not in usable]


def _ids(run_ids: list[int]) -> str:
    shown = ", ".join(str(run_id) for run_id in run_ids[:10])
    return shown + (f" and {len(run_ids) - 10} more" if len(run_ids) > 10 else "")


def _require_every_run(payload: Mapping[str, Any]) -> None:
    """Findings of runs the result does not list cannot be counted: no verdict then."""
    runs = payload.get("runs")
    listed = len(runs) if is_mapping(runs) or isinstance(runs, list) else 0
    total = as_count(payload.get("total_runs_count")) or 0
    if listed < total:
        raise ResultError(
            f"the result lists {listed} of its {total} runs, so the values of the others "
            "are unknown"
        )


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
    # The details fetch gets at least a minute, even when the wait used its budget.
    until = max(deadline, clock() + 60.0)
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
    if not is_mapping(payload):
        raise ResultError("the API returned something that is not a Cekura result")
    payload = {**payload}
    if findings or every_run:
        _require_every_run(payload)
    missing = runs_missing_details(payload, findings=findings)
    if missing:
        details = _fetch_details(source, missing, deadline, emit, findings=findings)
        return merge_run_details(payload, details)
    return payload
