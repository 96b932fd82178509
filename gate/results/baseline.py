"""Baseline files: a finished result cut down to what relative rules compare.

``cekura-gate baseline save`` writes one for committing to the repository; the gate
reads it back like any result file (it is a Cekura result payload, just smaller).
Transcripts, recordings, explanations and provider blobs are dropped: they are large,
may hold personal data, and no rule reads them. Pure: no files, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gate.results.normalise import as_bool, is_mapping

FORMAT_VERSION = 1

_RESULT_KEYS = (
    "id",
    "name",
    "agent",
    "agent_name",
    "project",
    "project_id",
    "status",
    "success_rate",
    "met_expected_outcome_count",
    "total_expected_outcome_count",
    "total_runs_count",
    "completed_runs_count",
    "success_runs_count",
    "failed_runs_count",
    "overall_evaluation",
    "scenarios",
    "critical_categories",
    "created_at",
    # What tells the baseline's infrastructure-failed runs apart (gate.results.infrastructure)
    "failed_infrastructure_runs",
    "not_connected_runs",
    "run_as_text",
    "run_type",
)
_RUN_KEYS = (
    "id",
    "scenario",
    "scenario_name",
    "personality_name",
    "status",
    "success",
    "critical_categories",
    "error_message",  # with duration and metadata.ended_reason: infrastructure signals
    "duration",
    "run_as_text",
)
_METRIC_KEYS = (
    "id",
    "name",
    "type",
    "eval_type",
    "score",
    "score_normalized",
    "passed",
    "value",
    "enum",
)
_FINDING_KEYS = ("category_id", "category", "priority", "wrongly_marked", "deviation")


def _pick(data: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {key: data[key] for key in keys if key in data}


def _scenario(value: object) -> object:
    return _pick(value, ("id", "name", "personality_name")) if is_mapping(value) else value


def _metric(value: object) -> object:
    return _pick(value, _METRIC_KEYS) if is_mapping(value) else value


def _run(run: Mapping[str, Any]) -> dict[str, Any]:
    kept = _pick(run, _RUN_KEYS)
    if "scenario" in kept:
        kept["scenario"] = _scenario(kept["scenario"])
    if isinstance(kept.get("critical_categories"), list):
        kept["critical_categories"] = [
            _pick(item, _FINDING_KEYS) if is_mapping(item) else item
            for item in kept["critical_categories"]
        ]
    metadata = run.get("metadata")
    if is_mapping(metadata) and "ended_reason" in metadata:
        kept["metadata"] = {"ended_reason": metadata["ended_reason"]}
    expected = run.get("expected_outcome")
    if is_mapping(expected) and "score" in expected:
        kept["expected_outcome"] = {"score": expected["score"]}
    evaluation = run.get("evaluation")
    if is_mapping(evaluation) and isinstance(evaluation.get("metrics"), list):
        kept["evaluation"] = {"metrics": [_metric(item) for item in evaluation["metrics"]]}
    return kept


def _runs(raw: object) -> dict[str, Any]:
    items = raw.items() if is_mapping(raw) else enumerate(raw) if isinstance(raw, list) else ()
    runs: dict[str, Any] = {}
    for key, run in items:
        if not is_mapping(run):
            continue
        run_id = str(run.get("id", key))
        kept = runs.get(run_id)
        # A run listed twice: the first entry, or the one that did not pass (as the gate reads it).
        if kept is None or (
            as_bool(kept.get("success")) is True and as_bool(run.get("success")) is not True
        ):
            runs[run_id] = _run(run)
    return runs


_SUMMARY_KEYS = ("id", "name", "type", "eval_type", "value", "score", "p50", "percentiles")


def _summary(value: object) -> object:
    """The summary metrics the p50 rules read, without explanations and LLM texts."""
    if not is_mapping(value):
        return value
    kept: dict[str, Any] = {}
    for section in ("numeric_metrics", "extra_metrics"):
        if isinstance(value.get(section), list):
            kept[section] = [
                _pick(item, _SUMMARY_KEYS) if is_mapping(item) else item for item in value[section]
            ]
    if is_mapping(value.get("metric_summary")):
        kept["metric_summary"] = {
            key: _pick(item, _SUMMARY_KEYS) if is_mapping(item) else item
            for key, item in value["metric_summary"].items()
        }
    if "success_rate" in value:
        kept["success_rate"] = value["success_rate"]
    return kept


def baseline_payload(payload: Mapping[str, Any], *, saved_at: str) -> dict[str, Any]:
    """The baseline file's content for a finished result's payload (details merged in)."""
    document = _pick(payload, _RESULT_KEYS)
    if "overall_evaluation" in document:
        document["overall_evaluation"] = _summary(document["overall_evaluation"])
    document["runs"] = _runs(payload.get("runs"))
    document["cekura_gate_baseline"] = {
        "format": FORMAT_VERSION,
        "result_id": payload.get("id"),
        "saved_at": saved_at,
    }
    return document
