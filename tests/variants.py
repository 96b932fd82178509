"""Result payloads for the ``cekura-gate init`` tests: the finished fixtures, the shapes real
payloads take beyond them (no summary, metrics only on the runs or only in the summary,
numeric strings, null lists, legacy priorities, no findings, no runs listed, names that need
quoting), and the two ways a
result gets worse that a drafted policy must catch: one more failed run, and one metric's
p50 20 % worse."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

from gate.results.merge import merge_run_details
from tests.conftest import DATA, EXAMPLES, make_result, make_run

Payload = dict[str, Any]
Variant = Callable[[Payload], Payload]

RESULTS = EXAMPLES / "results"
# Every finished result among the project's fixtures (the Cekura reference examples are
# copied into examples/results and tests/data/payloads unchanged), with its runs-bulk file.
FINISHED: dict[str, tuple[Path, Path | None]] = {
    "completed-mixed": (RESULTS / "result_completed_mixed.json", None),
    "completed-mixed+runs": (RESULTS / "result_completed_mixed.json", RESULTS / "runs_bulk.json"),
    "failed-infra": (RESULTS / "result_failed_infra.json", None),
    "timeout-outbound": (RESULTS / "result_timeout_outbound.json", None),
    "example-baseline": (EXAMPLES / "baseline.json", None),
    "release-gate-baseline": (DATA / "release-gate" / "baselines" / "nightly.json", None),
}


def read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def finished(name: str) -> Payload:
    """A finished fixture as one payload (its runs-bulk details merged in)."""
    result_path, runs_path = FINISHED[name]
    payload: Payload = read(result_path)
    return merge_run_details(payload, read(runs_path)) if runs_path else payload


def runs_of(payload: Payload) -> list[Payload]:
    runs = payload.get("runs") or {}
    return list(runs.values()) if isinstance(runs, dict) else list(runs)


def _metrics_of(run: Payload) -> list[Payload]:
    evaluation = run.get("evaluation") or {}
    return list(evaluation.get("metrics") or [])


def _is_number(value: object) -> TypeGuard[int | float]:
    """A JSON number: an int or a float, not a bool."""
    return isinstance(value, int | float) and not isinstance(value, bool)


# --------------------------------------------------------------------------- shapes


def as_is(payload: Payload) -> Payload:
    return copy.deepcopy(payload)


def without_summary(payload: Payload) -> Payload:
    """No ``overall_evaluation``: every p50 is the median of the runs' scores."""
    changed = copy.deepcopy(payload)
    changed["overall_evaluation"] = None
    return changed


def metrics_only_in_summary(payload: Payload) -> Payload:
    """The runs carry no metrics: p50s come from the summary alone."""
    changed = copy.deepcopy(payload)
    for run in runs_of(changed):
        run["evaluation"] = {"metrics": []}
    return changed


def numeric_strings(payload: Payload) -> Payload:
    """Counts, rates and scores as strings of digits, as the API's schema types them."""
    changed = copy.deepcopy(payload)
    for key in (
        "success_rate",
        "total_runs_count",
        "completed_runs_count",
        "success_runs_count",
        "failed_runs_count",
        "met_expected_outcome_count",
        "total_expected_outcome_count",
    ):
        if _is_number(changed.get(key)):
            changed[key] = str(changed[key])
    for run in runs_of(changed):
        for metric in _metrics_of(run):
            if _is_number(metric.get("score")):
                metric["score"] = str(metric["score"])
    return changed


def null_lists(payload: Payload) -> Payload:
    """The list fields null (null = not configured), and the result-level definitions too."""
    changed = copy.deepcopy(payload)
    for key in (
        "connected_runs",
        "not_connected_runs",
        "failed_infrastructure_runs",
        "failed_workflow_runs",
        "successful_calls",
        "scenarios",
        "critical_categories",
        "metrics",
    ):
        changed[key] = None
    return changed


def legacy_priorities(payload: Payload) -> Payload:
    """Findings in the 2025 vocabulary: critical is high, non-critical is medium."""
    changed = copy.deepcopy(payload)
    for run in runs_of(changed):
        for finding in run.get("critical_categories") or []:
            finding["priority"] = {"critical": "high", "non-critical": "medium"}.get(
                finding.get("priority"), finding.get("priority")
            )
    return changed


def without_findings(payload: Payload) -> Payload:
    """The runs carry no critical_categories (the result endpoint may leave them out)."""
    changed = copy.deepcopy(payload)
    for run in runs_of(changed):
        run.pop("critical_categories", None)
    return changed


def runs_not_listed(payload: Payload) -> Payload:
    """``runs`` null: only the counters and the summary say anything."""
    changed = copy.deepcopy(payload)
    changed["runs"] = None
    return changed


SHAPES: dict[str, Variant] = {
    "as-is": as_is,
    "no-summary": without_summary,
    "metrics-only-in-summary": metrics_only_in_summary,
    "numeric-strings": numeric_strings,
    "null-lists": null_lists,
    "legacy-priorities": legacy_priorities,
    "no-findings": without_findings,
    "runs-not-listed": runs_not_listed,
}


# --------------------------------------------------------------------------- factory results


def latency(score: float, metric_id: int = 33) -> Payload:
    return {"id": metric_id, "name": "Latency", "type": "numeric", "score": score}


def many_runs() -> Payload:
    """Twelve runs of three scenarios, three of them failed, with latency, a rating, a
    metric of unknown direction and findings of both priorities."""
    runs = []
    for run_id in range(1, 13):
        scenario = run_id % 3
        metrics = [
            latency(1000.0 + 37.5 * run_id),
            {"id": 50, "name": "Empathy", "type": "continuous_qualitative", "score": 60 + run_id},
            {"id": 51, "name": "Talk Ratio", "type": "numeric", "score": 0.4 + run_id / 100},
        ]
        findings = (
            [{"category_id": 9, "category": "Rude", "priority": "critical"}]
            if run_id == 5
            else [{"category_id": 8, "category": "Slow", "priority": "non-critical"}]
            if run_id % 4 == 0
            else []
        )
        runs.append(
            make_run(
                run_id,
                scenario=scenario + 1,
                scenario_name=["Book", "Cancel", "Reschedule"][scenario],
                success=run_id not in (2, 5, 11),
                evaluation={"metrics": metrics},
                critical_categories=findings,
            )
        )
    return make_result(runs)


def awkward_names() -> Payload:
    """Names that a policy must quote, escape or select by id to mean exactly them."""
    names = [
        (1, 'Refund: "full" # fast'),
        (2, "Refund *"),
        (3, "12"),
        (4, "Book"),
        (5, "book"),
        (6, "Ünïcode – naïve"),
        (7, "line\u2028separator"),
        (8, "true"),
    ]
    runs = [
        make_run(
            index,
            scenario=scenario_id,
            scenario_name=name,
            success=index % 2 == 1,
            evaluation={
                "metrics": [
                    {"id": 70 + index, "name": f"{name} latency", "type": "numeric", "score": 10.0}
                ]
            },
        )
        for index, (scenario_id, name) in enumerate(names, 1)
    ]
    return make_result(runs)


def everything_failed() -> Payload:
    """A completed result none of whose runs passed: the bounds work out to 0."""
    return make_result([make_run(1, success=False), make_run(2, success=False)])


def some_infrastructure() -> Payload:
    """Six runs of two scenarios: two the agent failed, two that never connected (listed
    by Cekura), so counts that left the calls in would be off by two."""
    runs = [
        make_run(
            run_id,
            scenario=1 + run_id % 2,
            scenario_name=["Book", "Cancel"][run_id % 2],
            success=run_id in (1, 2),
            evaluation={"metrics": [latency(900.0 + 50 * run_id)] if run_id <= 4 else []},
        )
        for run_id in range(1, 7)
    ]
    return make_result(runs, failed_infrastructure_runs=[5, "6"])


FACTORY: dict[str, Callable[[], Payload]] = {
    "many-runs": many_runs,
    "awkward-names": awkward_names,
    "everything-failed": everything_failed,
    "some-infrastructure": some_infrastructure,
}


@dataclass(frozen=True)
class Case:
    """A result to draft from: a base payload in a shape. A worse result is made from the
    base, then put in the same shape (numeric strings stay strings)."""

    name: str
    base: Payload
    shape: Variant

    @property
    def payload(self) -> Payload:
        return self.shape(self.base)

    def worse(self, change: Variant) -> Payload:
        return self.shape(change(copy.deepcopy(self.base)))


def cases() -> Iterator[Case]:
    """Every finished fixture in every shape, and the factory results."""
    for fixture in FINISHED:
        for shape, variant in SHAPES.items():
            yield Case(f"{fixture}/{shape}", finished(fixture), variant)
    for name, build in FACTORY.items():
        yield Case(name, build(), as_is)


# --------------------------------------------------------------------------- worse


def one_more_failed_run(payload: Payload) -> Payload:
    """The result with one more run, which failed (no metrics, findings or expected
    outcome of its own, so that only the run count moves); counters kept in step."""
    changed = copy.deepcopy(payload)
    runs = runs_of(changed)
    template = runs[0] if runs else make_run(1)
    new_id = max((int(run["id"]) for run in runs), default=0) + 1
    extra = copy.deepcopy(template)
    extra.update(
        id=new_id,
        status="completed",
        success=False,
        expected_outcome={},
        evaluation={"metrics": []},
        critical_categories=[],
        error_message="",
    )
    if isinstance(changed.get("runs"), dict):
        changed["runs"][str(new_id)] = extra
    else:
        changed["runs"] = [*runs, extra]
    total = len(runs) + 1
    passed = sum(1 for run in runs if run.get("success") is True)
    for key in ("total_runs_count", "completed_runs_count"):
        if changed.get(key) is not None:
            changed[key] = int(changed[key]) + 1
    if changed.get("failed_runs_count") is not None:
        changed["failed_runs_count"] = int(changed["failed_runs_count"]) + 1
    if changed.get("success_rate") is not None:
        changed["success_rate"] = 100.0 * passed / total
    return changed


def worse_metric(payload: Payload, name: str, metric_id: int | None, factor: float) -> Payload:
    """The result with one metric's every value (summary p50s and values, run scores)
    multiplied by ``factor``: 1.2 is 20 % slower, 0.8 a 20 % lower rating."""
    changed = copy.deepcopy(payload)

    def same(item: Payload) -> bool:
        if metric_id is not None and item.get("id") is not None:
            return bool(item.get("id") == metric_id)
        return str(item.get("name", "")).strip().lower() == name.strip().lower()

    def scale(item: Payload, *keys: str) -> None:
        for key in keys:
            value = item.get(key)
            if _is_number(value):
                item[key] = value * factor
            elif isinstance(value, str):
                item[key] = str(float(value) * factor)

    overall = changed.get("overall_evaluation") or {}
    for section in ("numeric_metrics", "extra_metrics"):
        for item in overall.get(section) or []:
            if isinstance(item, dict) and same(item):
                scale(item, "value", "p50")
                scale(item.get("percentiles") or {}, "p50")
    for key, item in (overall.get("metric_summary") or {}).items():
        if isinstance(item, dict) and same({**item, "id": item.get("id", int(key))}):
            scale(item, "score", "p50")
    for run in runs_of(changed):
        for metric in _metrics_of(run):
            if same(metric):
                scale(metric, "score")
                scale((metric.get("extra") or {}).get("percentiles") or {}, "p50")
    return changed
