"""Runs-bulk details (evaluation, findings, outcome): which runs of a result payload lack
them, which runs-bulk entries carry them, and merging them into the payload.

Live mode (``gate.api.live``) asks these questions instead of reading the raw keys itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gate.errors import ResultError
from gate.results.normalise import (
    as_count,
    as_int,
    as_list,
    as_text,
    is_mapping,
    json_type,
    run_items,
)

RunEntry = Mapping[str, Any]
"""One run as the API sends it, in a result's ``runs`` or in a runs-bulk response."""

_DETAIL_FIELDS = ("critical_categories", "evaluation", "expected_outcome")


def _is_empty(value: object) -> bool:
    return value is None or value == "" or value == [] or value == {}


def merge_run_details(payload: Mapping[str, Any], bulk: object) -> dict[str, Any]:
    """Merge runs-bulk entries into ``payload['runs']`` by id; returns a new payload.

    Bulk detail fields (findings, metrics, expected outcome) win when present;
    other fields fill gaps only. Raises ``ResultError`` when the bulk data is
    not a list of runs or belongs to another result.
    """
    items = bulk.get("results") if isinstance(bulk, Mapping) else bulk
    if not isinstance(items, list):
        raise ResultError(f"runs file: expected a JSON array of runs, got {json_type(bulk)}")
    result_id = as_int(payload.get("id"))
    runs: dict[str, Any] = {
        str(key): dict(value) if is_mapping(value) else value
        for key, value in run_items(payload.get("runs"))
    }
    by_id = {
        as_text(value.get("id")) or key: key for key, value in runs.items() if is_mapping(value)
    }
    for index, entry in enumerate(items):
        _merge_one(runs, by_id, entry, index, result_id, had_runs=bool(payload.get("runs")))
    return {**payload, "runs": runs}


def _merge_one(
    runs: dict[str, Any],
    by_id: dict[str, str],
    entry: object,
    index: int,
    result_id: int | None,
    *,
    had_runs: bool,
) -> None:
    if not isinstance(entry, Mapping):
        raise ResultError(f"runs file: [{index}]: expected an object, got {json_type(entry)}")
    run_id = as_int(entry.get("id"))
    if run_id is None:
        raise ResultError(f"runs file: [{index}]: has no numeric id")
    owner = as_int(entry.get("result_id"))
    if owner is not None and result_id is not None and owner != result_id:
        raise ResultError(
            f"runs file: run {run_id} belongs to result {owner}, not result {result_id}"
        )
    key = by_id.get(str(run_id))
    if key is None:
        if had_runs:
            return
        runs[str(run_id)] = dict(entry)
        return
    target = runs[key]
    for name, value in entry.items():
        if name == "evaluation" and is_mapping(value) and is_mapping(target.get(name)):
            target[name] = _merged_evaluation(target[name], value)
            continue
        detail = name in _DETAIL_FIELDS and not _is_empty(value)
        if detail or _is_empty(target.get(name)):
            target[name] = value


def _metric_key(metric: object) -> object:
    if not is_mapping(metric):
        return None
    metric_id = as_int(metric.get("id"))
    return ("id", metric_id) if metric_id is not None else ("name", as_text(metric.get("name")))


def _merged_evaluation(mine: Mapping[str, Any], theirs: Mapping[str, Any]) -> dict[str, Any]:
    """Both runs' metrics: the bulk entry's version of a metric wins, and metrics only one
    side has are kept, so a partial bulk entry never drops scores the result carried."""
    merged = {**mine, **theirs}
    ours, bulk = as_list(mine.get("metrics")), as_list(theirs.get("metrics"))
    if ours and bulk:
        newer = {_metric_key(metric): metric for metric in bulk if _metric_key(metric)}
        updated = [newer.pop(_metric_key(metric), metric) for metric in ours]
        merged["metrics"] = [*updated, *(m for m in bulk if _metric_key(m) in newer)]
    return merged


# --------------------------------------------------------------------------- what is missing


def result_payload(payload: object) -> dict[str, Any]:
    """A copy of a result payload to merge details into; raises ``ResultError`` otherwise."""
    if not is_mapping(payload):
        raise ResultError("the API returned something that is not a Cekura result")
    return {**payload}


def has_findings(run: RunEntry) -> bool:
    """Whether a run says what its critical-category findings are (an empty list counts)."""
    return isinstance(run.get("critical_categories"), list)


def runs_missing_details(payload: Mapping[str, Any], *, findings: bool) -> list[int]:
    """Ids of runs whose entry lacks metrics, or findings when the policy counts them."""
    missing = []
    for key, run in _listed_runs(payload):
        if not is_mapping(run):
            continue
        lacks_metrics = not is_mapping(run.get("evaluation"))
        lacks_findings = findings and not has_findings(run)
        run_id = as_int(run.get("id", key))
        if run_id is not None and (lacks_metrics or lacks_findings):
            missing.append(run_id)
    return sorted(missing)


def _listed_runs(payload: Mapping[str, Any]) -> Iterable[tuple[object, object]]:
    runs = payload.get("runs")
    if is_mapping(runs):
        return runs.items()
    if isinstance(runs, list):
        return enumerate(runs)
    return ()


def require_every_run(payload: Mapping[str, Any]) -> None:
    """Raises ``ResultError`` when the result lists fewer runs than it counts: values of
    runs it does not list (findings, scores) cannot be known."""
    runs = payload.get("runs")
    listed = len(runs) if is_mapping(runs) or isinstance(runs, list) else 0
    total = as_count(payload.get("total_runs_count")) or 0
    if listed < total:
        raise ResultError(
            f"the result lists {listed} of its {total} runs, so the values of the others "
            "are unknown"
        )


def bulk_entries(response: Iterable[object]) -> list[RunEntry]:
    """The run entries of a runs-bulk response (anything that is not a run is dropped)."""
    return [entry for entry in response if is_mapping(entry)]


def entry_id(run: RunEntry) -> int | None:
    return as_int(run.get("id"))
