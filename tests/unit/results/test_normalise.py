"""Normalisation of Cekura result payloads and the runs-bulk merge (cekura-api.md §2, §3)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from gate.errors import ResultError
from gate.results import model
from gate.results.merge import (
    bulk_entries,
    entry_id,
    has_findings,
    merge_run_details,
    require_every_run,
    runs_missing_details,
)
from gate.results.model import MetricKind, Result, Run, Status
from gate.results.normalise import normalise
from gate.results.progress import read_progress
from tests.conftest import load_payload, make_result, make_run


def only_run(payload: dict[str, Any]) -> Run:
    result = normalise(payload)
    assert len(result.runs) == 1
    return result.runs[0]


def with_metric(metric: dict[str, Any]) -> Run:
    return only_run(make_result([make_run(1, evaluation={"metrics": [metric]})]))


# --------------------------------------------------------------------------- counts


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (10, 10),
        ("10", 10),
        (" 10 ", 10),
        (10.0, 10),
        ("10.0", 10),
        (0, 0),
        ("abc", None),
        (-1, None),
        ("-1", None),
        (float("nan"), None),
        ("NaN", None),
        (float("inf"), None),
        (10.5, None),
        (True, None),
        (None, None),
        ([10], None),
    ],
)
def test_counts_accept_ints_and_numeric_strings_and_drop_garbage(raw, expected):
    payload = make_result(
        total_runs_count=raw,
        success_runs_count=raw,
        completed_runs_count=raw,
        met_expected_outcome_count=raw,
        total_expected_outcome_count=raw,
    )
    result = normalise(payload)
    counts = (
        result.total_runs,
        result.success_runs,
        result.completed_runs,
        result.met_expected_outcomes,
        result.total_expected_outcomes,
    )
    assert counts == (expected,) * 5


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(50.0, 50.0), ("87.5", 87.5), (0, 0.0), ("abc", None), (float("nan"), None), (None, None)],
)
def test_success_rate_is_read_as_a_finite_number(raw, expected):
    assert normalise(make_result(success_rate=raw)).success_rate == expected


SUMMARY_COUNTS = (
    "total_runs_count",
    "success_runs_count",
    "completed_runs_count",
    "met_expected_outcome_count",
    "total_expected_outcome_count",
)
RATE = "a percent from 0 to 100"
COUNT = "a whole number from 0 to 1000000000"
# Garbage in any summary field: the value as the note shows it.
GARBAGE = [
    (float("nan"), "NaN"),
    (float("inf"), "Infinity"),
    (float("-inf"), "-Infinity"),
    ("NaN", '"NaN"'),
    ("lots", '"lots"'),
    (True, "true"),
    ([10], "a list"),
    ({"n": 10}, "an object"),
    (-1, "-1"),
    (-0.5, "-0.5"),
    (10**30, "a very large number"),
    ("x" * 100, '"' + "x" * 38 + "…"),
]
# Values only one kind of field refuses.
COUNT_GARBAGE = [(2.5, "2.5"), (10**9 + 1, "1000000001"), ("7.5", '"7.5"')]
RATE_GARBAGE = [(100.5, "100.5"), (150, "150"), ("250", '"250"')]


@pytest.mark.parametrize(
    ("field", "raw", "shown", "wanted"),
    [
        pytest.param(field, raw, shown, wanted, id=f"{field}-{shown[:12]}")
        for field, wanted, garbage in [
            ("success_rate", RATE, GARBAGE + RATE_GARBAGE),
            *[(name, COUNT, GARBAGE + COUNT_GARBAGE) for name in SUMMARY_COUNTS],
        ]
        for raw, shown in garbage
    ],
)
def test_a_garbage_summary_field_is_ignored_with_a_note_naming_it(field, raw, shown, wanted):
    result = normalise(make_result(**{field: raw}))
    values = {
        "success_rate": result.success_rate,
        "total_runs_count": result.total_runs,
        "success_runs_count": result.success_runs,
        "completed_runs_count": result.completed_runs,
        "met_expected_outcome_count": result.met_expected_outcomes,
        "total_expected_outcome_count": result.total_expected_outcomes,
    }
    assert values[field] is None
    assert result.notes == (f"{field} is {shown}, not {wanted}; ignored, judged from the runs",)


@pytest.mark.parametrize("section", ["numeric_metrics", "extra_metrics", "metric_summary"])
@pytest.mark.parametrize("where", ["p50", "percentiles.p50"])
@pytest.mark.parametrize(
    ("raw", "shown"), [(float("nan"), "NaN"), (float("inf"), "Infinity"), ("fast", '"fast"')]
)
def test_a_garbage_summary_p50_is_ignored_with_a_note_naming_it(section, where, raw, shown):
    item: dict[str, Any] = {"name": "Latency", "type": "numeric"}
    item |= {"p50": raw} if where == "p50" else {"percentiles": {"p50": raw}}
    overall = {section: {"7": item} if section == "metric_summary" else [item]}
    result = normalise(make_result(overall_evaluation=overall))
    assert [metric.p50 for metric in result.summary_metrics] == [None]
    assert result.notes == (
        f"overall_evaluation.{section} 'Latency' {where} is {shown}, not a number; ignored",
    )


@pytest.mark.parametrize("field", ["success_rate", *SUMMARY_COUNTS])
@pytest.mark.parametrize("raw", [None, 0, 1, "1", 100, 1.0])
def test_a_usable_or_absent_summary_field_adds_no_note(field, raw):
    assert normalise(make_result(**{field: raw})).notes == ()


def test_a_garbage_summary_field_reaches_the_verdicts_notes():
    from gate.policy.load import parse_policy
    from gate.rules.evaluate import evaluate

    policy = parse_policy("version: 1\nrules: {runs: {min_total: 1}}\n", source="gate.yaml")
    payload = make_result([make_run(1)], success_rate=float("nan"), total_runs_count=-4)
    verdict = evaluate(policy, normalise(payload))
    assert verdict.notes == (
        "success_rate is NaN, not a percent from 0 to 100; ignored, judged from the runs",
        "total_runs_count is -4, not a whole number from 0 to 1000000000; ignored, judged from "
        "the runs",
    )


# --------------------------------------------------------------------------- runs


def test_runs_dict_keyed_by_id_strings_is_read_in_id_order():
    payload = make_result([make_run(274), make_run(12), make_run(273)])
    result = normalise(payload)
    assert [run.id for run in result.runs] == [12, 273, 274]
    assert result.notes == ()


def test_runs_as_a_list_is_read_by_position_and_noted():
    payload = make_result(runs=[]) | {"runs": [make_run(9), make_run(3)]}
    result = normalise(payload)
    assert [run.id for run in result.runs] == [3, 9]
    assert any("'runs' was a list" in note for note in result.notes)


def test_run_without_id_takes_its_key_as_id():
    run = make_run(1)
    del run["id"]
    payload = make_result(runs=[]) | {"runs": {"4711": run}}
    assert only_run(payload).id == 4711


@pytest.mark.parametrize("runs", [None, {}, []])
def test_missing_or_empty_runs_give_no_runs(runs):
    assert normalise(make_result(runs=[]) | {"runs": runs}).runs == ()


@pytest.mark.parametrize(
    ("overrides", "scenario_id", "scenario_name", "personality"),
    [
        (
            {"scenario": 7, "scenario_name": "Refund", "personality_name": "Calm"},
            7,
            "Refund",
            "Calm",
        ),
        (
            {
                "scenario": {"id": 8, "name": "Greets", "personality_name": "Rushed"},
                "scenario_name": "",
                "personality_name": "",
            },
            8,
            "Greets",
            "Rushed",
        ),
        ({"scenario": "9", "scenario_name": None}, 9, "scenario 9", "Direct Communicator"),
        (
            {"scenario": None, "scenario_name": None},
            None,
            "unknown scenario",
            "Direct Communicator",
        ),
    ],
    ids=["int", "object", "numeric-string", "missing"],
)
def test_run_scenario_as_int_or_object(overrides, scenario_id, scenario_name, personality):
    run = only_run(make_result([make_run(1, **overrides)]))
    assert (run.scenario_id, run.scenario_name, run.personality) == (
        scenario_id,
        scenario_name,
        personality,
    )


@pytest.mark.parametrize(
    ("raw", "expected"), [(True, True), (False, False), (None, None), ("true", True), ("x", None)]
)
def test_run_success_is_a_tristate(raw, expected):
    assert only_run(make_result([make_run(1, success=raw)])).success is expected


def test_expected_outcome_score_and_explanation():
    payload = make_result()
    payload["runs"]["1"]["expected_outcome"] = {"score": "40", "explanation": ["❌ no", "✅ ok"]}
    run = only_run(payload)
    assert run.expected_outcome_score == 40.0
    assert run.expected_outcome_explanation == "❌ no\n✅ ok"


@pytest.mark.parametrize("outcome", [{}, None, {"score": None}, {"score": "n/a"}])
def test_missing_expected_outcome_has_no_score(outcome):
    payload = make_result()
    payload["runs"]["1"]["expected_outcome"] = outcome
    assert only_run(payload).expected_outcome_score is None


# --------------------------------------------------------------------------- status


@pytest.mark.parametrize(
    ("raw", "status", "terminal"),
    [
        ("completed", Status.COMPLETED, True),
        (" COMPLETED ", Status.COMPLETED, True),
        ("failed", Status.FAILED, True),
        ("timeout", Status.TIMEOUT, True),
        ("cancelled", Status.CANCELLED, True),
        ("canceled", Status.CANCELLED, True),
        ("evaluating", Status.EVALUATING, False),
        ("scaling_up", Status.SCALING_UP, False),
        ("paused", Status.UNKNOWN, False),
        ("", Status.UNKNOWN, False),
        (None, Status.UNKNOWN, False),
        (3, Status.UNKNOWN, False),
    ],
)
def test_result_and_run_status(raw, status, terminal):
    result = normalise(make_result([make_run(1, status=raw)], status=raw))
    assert (result.status, result.status.is_terminal) == (status, terminal)
    assert result.runs[0].status is status


def test_unknown_status_keeps_its_text_for_messages():
    result = normalise(make_result(status="Paused_By_Ops"))
    assert result.status is Status.UNKNOWN
    assert result.status_text == "Paused_By_Ops"


# --------------------------------------------------------------------------- metrics


@pytest.mark.parametrize(
    ("metric", "passed"),
    [
        ({"eval_type": "binary", "passed": True}, True),
        ({"eval_type": "binary", "passed": False}, False),
        ({"eval_type": "binary", "passed": "false"}, False),
        (
            {
                "eval_type": "binary",
                "passed": False,
                "type": "binary_workflow_adherence",
                "score": 5,
            },
            False,
        ),
        ({"type": "binary_workflow_adherence", "score": 5}, True),
        ({"type": "binary_workflow_adherence", "score": 0}, False),
        ({"type": "binary_qualitative", "score": 100}, True),
        ({"type": "binary_qualitative", "score": 0.0}, False),
        ({"type": "binary_qualitative", "score": "100"}, True),
        ({"eval_type": "binary", "score_normalized": 0, "score": 5}, False),
        ({"eval_type": "binary", "score_normalized": 1.0, "score": 0}, True),
        ({"eval_type": "binary", "score_normalized": None, "score": 5}, True),
        ({"eval_type": "binary", "score": True}, True),
        ({"eval_type": "binary", "score": 50}, None),
        ({"eval_type": "binary"}, None),
    ],
    ids=[
        "v2-passed",
        "v2-failed",
        "v2-passed-string",
        "passed-wins-over-legacy-score",
        "legacy-5",
        "legacy-0",
        "score-100",
        "score-0.0",
        "score-string-100",
        "score_normalized-0",
        "score_normalized-1",
        "score_normalized-null-falls-back",
        "score-bool",
        "score-50-unknown",
        "no-value",
    ],
)
def test_binary_metric_encodings(metric, passed):
    value = with_metric({"id": 7, "name": "Greeting", **metric}).metrics[0]
    assert value.kind is MetricKind.BINARY
    assert value.passed is passed


@pytest.mark.parametrize(
    ("metric", "kind", "score", "enum_value"),
    [
        ({"type": "numeric", "score": 3024.03}, MetricKind.NUMERIC, 3024.03, None),
        ({"type": "numeric", "score": "1692"}, MetricKind.NUMERIC, 1692.0, None),
        ({"type": "continuous_qualitative", "score": 92}, MetricKind.QUALITATIVE, 92.0, None),
        ({"eval_type": "rating", "score": 3}, MetricKind.QUALITATIVE, 3.0, None),
        ({"type": "enum", "score": None, "enum": "satisfied"}, MetricKind.ENUM, None, "satisfied"),
        ({"type": "enum", "value": "angry", "enum": "x"}, MetricKind.ENUM, None, "angry"),
        ({"score": 4}, MetricKind.OTHER, 4.0, None),
    ],
)
def test_numeric_qualitative_and_enum_metrics(metric, kind, score, enum_value):
    value = with_metric({"id": 33, "name": "M", **metric}).metrics[0]
    assert (value.kind, value.score, value.enum_value, value.passed) == (
        kind,
        score,
        enum_value,
        None,
    )


def test_metric_name_falls_back_to_its_id_and_junk_entries_are_skipped():
    run = only_run(
        make_result([make_run(1, evaluation={"metrics": ["junk", None, {"id": 12, "score": 1}]})])
    )
    assert [metric.name for metric in run.metrics] == ["metric 12"]


@pytest.mark.parametrize("evaluation", [None, {}, {"metrics": None}, {"metrics": {"a": 1}}])
def test_missing_evaluation_gives_no_metrics(evaluation):
    assert only_run(make_result([make_run(1, evaluation=evaluation)])).metrics == ()


# --------------------------------------------------------------------------- findings


@pytest.mark.parametrize(
    ("entry", "category", "priority", "wrongly_marked"),
    [
        (
            {
                "category_id": 3295,
                "category": "Skipped identity check",
                "deviation": 1.0,
                "wrongly_marked": False,
                "priority": "critical",
            },
            "Skipped identity check",
            "critical",
            False,
        ),
        (
            {"category": "Wrong price", "wrongly_marked": False, "priority": "non-critical"},
            "Wrong price",
            "non-critical",
            False,
        ),
        (
            {"category": "Mispronounced", "wrongly_marked": True, "priority": "not_a_bug"},
            "Mispronounced",
            "not_a_bug",
            True,
        ),
        (
            {"category": "Rude", "scenario_id": 67, "scenario": "why", "priority": "HIGH"},
            "Rude",
            "high",
            False,
        ),
        ({"category": "Slow", "priority": " Medium "}, "Slow", "medium", False),
        ({"category": "Odd", "wrongly_marked": "true"}, "Odd", "", True),
        ({"priority": 3}, "unnamed category", "", False),
    ],
    ids=[
        "modern",
        "modern-non-critical",
        "wrongly-marked",
        "legacy",
        "legacy-spaced",
        "no-priority",
        "junk",
    ],
)
def test_critical_findings_in_both_vocabularies(entry, category, priority, wrongly_marked):
    run = only_run(make_result([make_run(1, critical_categories=[entry, "junk"])]))
    assert len(run.findings) == 1
    finding = run.findings[0]
    assert (finding.category, finding.priority, finding.wrongly_marked) == (
        category,
        priority,
        wrongly_marked,
    )


# --------------------------------------------------------------------------- overall evaluation


@pytest.mark.parametrize("overall", [None, {}, "pending", {"numeric_metrics": None}])
def test_absent_overall_evaluation_gives_no_summary(overall):
    assert normalise(make_result(overall_evaluation=overall)).summary_metrics == ()


def test_summary_metrics_from_every_section_of_the_reference_payload():
    result = normalise(load_payload("result_completed_mixed.json"))
    found = {
        (metric.source.rsplit(".", 1)[1], metric.name, metric.p50)
        for metric in result.summary_metrics
    }
    assert ("numeric_metrics", "Latency", 2358.02) in found
    assert ("extra_metrics", "Average Ringing Duration", 2.1) in found
    assert ("extra_metrics", "Expected Outcome", None) in found
    assert ("metric_summary", "Latency", 2358.02) in found
    assert ("metric_summary", "Call Pickup", None) in found


def test_metric_summary_id_falls_back_to_its_key():
    overall = {"metric_summary": {"33": {"name": "Latency", "p50": "900"}}}
    summary = normalise(make_result(overall_evaluation=overall)).summary_metrics
    assert [(item.id, item.name, item.p50) for item in summary] == [(33, "Latency", 900.0)]


# --------------------------------------------------------------------------- reference payloads


def test_reference_mixed_payload_normalises():
    result = normalise(load_payload("result_completed_mixed.json"))
    assert (result.id, result.status, result.success_rate) == (167, Status.COMPLETED, 50.0)
    assert (result.total_runs, result.success_runs) == (2, 1)
    failing = result.runs[0]
    assert (failing.id, failing.success, failing.expected_outcome_score) == (273, False, 0.0)
    assert {m.name: m.passed for m in failing.metrics if m.kind is MetricKind.BINARY} == {
        "Call Pickup": True,
        "workflow-adherence-check": False,
    }
    assert [f.priority for f in failing.findings] == ["critical", "non-critical"]


def test_reference_infra_failure_normalises():
    result = normalise(load_payload("result_failed_infra.json"))
    run = result.runs[0]
    assert (result.status, run.status, run.success) == (Status.FAILED, Status.FAILED, None)
    assert (run.scenario_id, run.scenario_name) == (1, "Greets")
    assert run.error_message == "Failed to create Pipecat session"
    assert result.failed_reasons == ("Failed to create Pipecat session",)


# --------------------------------------------------------------------------- not a result


def _paginated() -> dict[str, Any]:
    return {"count": 1, "next": None, "previous": None, "results": [make_result()]}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ([make_result()], "expected a JSON object, got a list"),
        ("completed", "expected a JSON object, got a string"),
        (None, "expected a JSON object, got null"),
        (42, "expected a JSON object, got a number"),
        ({"detail": "Not found."}, "the payload is an API error: Not found."),
        ({}, "missing or invalid 'id'"),
        ({"id": "abc", "status": "completed"}, "missing or invalid 'id'"),
        ({"id": 5}, "missing or invalid 'status'"),
        (_paginated(), "looks like a list of results; pass one result"),
        ({"run_ids": ["run_ids must be comma-separated integers"]}, "missing or invalid 'id'"),
        (make_result() | {"runs": {"7": "oops"}}, "runs['7']: expected an object"),
        (make_result() | {"runs": [make_run(1), 5]}, "runs[1]: expected an object"),
        (make_result() | {"runs": {"x": {"status": "completed"}}}, "runs['x']: has no numeric id"),
        (make_result() | {"runs": "274,273"}, "'runs' must be an object keyed by run id"),
    ],
    ids=[
        "list",
        "string",
        "null",
        "number",
        "api-404",
        "empty-object",
        "bad-id",
        "no-status",
        "paginated-list",
        "api-400",
        "run-not-object",
        "list-run-not-object",
        "run-without-id",
        "runs-a-string",
    ],
)
def test_not_a_result_raises_a_one_line_result_error(payload, message):
    with pytest.raises(ResultError) as caught:
        normalise(payload)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("call", "shown"),
    [
        (lambda: normalise(make_result() | {"runs": {"7": None}}), "got null"),
        (lambda: normalise(make_result() | {"runs": {"7": "oops"}}), "got a string"),
        (lambda: merge_run_details(make_result(), {"detail": "x"}), "got an object"),
    ],
    ids=["run-null", "run-string", "bulk-object"],
)
def test_errors_name_the_json_type(call, shown):
    with pytest.raises(ResultError, match=shown):
        call()


# --------------------------------------------------------------------------- runs-bulk merge


def merged(result_name: str, bulk_name: str) -> Result:
    payload = load_payload(result_name)
    return normalise(merge_run_details(payload, load_payload_list(bulk_name)))


def load_payload_list(name: str) -> list[Any]:
    data: Any = load_payload(name)
    assert isinstance(data, list)
    return data


def test_bulk_findings_and_metrics_are_merged_by_id():
    result = merged("result_completed_mixed.json", "runs_bulk.json")
    runs = {run.id: run for run in result.runs}
    assert [(f.priority, f.wrongly_marked) for f in runs[273].findings] == [
        ("critical", False),
        ("non-critical", False),
        ("not_a_bug", True),
    ]
    # A bulk entry with fewer metrics updates those it has and drops none of the others.
    assert [m.name for m in runs[274].metrics] == [
        "Call Pickup",
        "Latency",
        "Pronunciation Analysis",
        "Customer Sentiment",
    ]
    assert runs[273].transcript.startswith("[00:01] Testing Agent: Hello.")


def test_bulk_metric_versions_win_and_new_metrics_are_added():
    metrics = [{"id": 1, "name": "Latency", "type": "numeric", "score": 900}]
    payload = make_result([make_run(1, evaluation={"metrics": metrics})])
    bulk_metrics = [
        {"id": 1, "name": "Latency", "type": "numeric", "score": 2500},
        {"name": "Tone", "type": "continuous_qualitative", "score": 80},
    ]
    bulk = [{"id": 1, "evaluation": {"metrics": bulk_metrics}}]
    run = only_run(merge_run_details(payload, bulk))
    assert [(m.name, m.score) for m in run.metrics] == [("Latency", 2500.0), ("Tone", 80.0)]


def test_bulk_fills_gaps_but_does_not_overwrite_other_fields():
    payload = make_result([make_run(1, status="completed", error_message="")])
    bulk = [{"id": 1, "result_id": 500, "status": "failed", "error_message": "dropped"}]
    run = only_run(merge_run_details(payload, bulk))
    assert (run.status, run.error_message) == (Status.COMPLETED, "dropped")


def test_bulk_with_empty_details_keeps_the_result_details():
    finding = {"category": "Rude", "priority": "critical"}
    payload = make_result([make_run(1, critical_categories=[finding])])
    run = only_run(merge_run_details(payload, [{"id": 1, "critical_categories": []}]))
    assert [f.category for f in run.findings] == ["Rude"]


def test_legacy_bulk_adds_findings_to_a_run_in_a_list_shaped_result():
    payload = make_result(runs=[], id=90) | {"runs": [make_run(181, critical_categories=None)]}
    run = only_run(merge_run_details(payload, load_payload_list("runs_bulk_legacy_2025.json")))
    assert [(f.priority, f.category) for f in run.findings] == [
        ("high", "Agent failed to verify customer identity before discussing account details"),
        ("medium", "Agent provided incorrect information about service pricing"),
    ]
    assert {m.name: m.passed for m in run.metrics}["Call Pickup"] is True


def test_bulk_into_a_result_without_runs_adds_them():
    payload = make_result(runs=[], id=167) | {"runs": None}
    result = normalise(merge_run_details(payload, load_payload_list("runs_bulk.json")))
    assert [run.id for run in result.runs] == [273, 274]


def test_bulk_runs_unknown_to_a_result_with_runs_are_not_added():
    payload = load_payload("result_completed_mixed.json")
    bulk = [*load_payload_list("runs_bulk.json"), {"id": 999, "result_id": 167}]
    result = normalise(merge_run_details(payload, bulk))
    assert [run.id for run in result.runs] == [273, 274]


def test_bulk_in_a_paginated_wrapper_is_accepted():
    payload = load_payload("result_completed_mixed.json")
    bulk = {"count": 2, "results": load_payload_list("runs_bulk.json")}
    assert len(normalise(merge_run_details(payload, bulk)).runs) == 2


def test_merge_leaves_the_input_payload_untouched():
    payload = load_payload("result_completed_mixed.json")
    before = copy.deepcopy(payload)
    merge_run_details(payload, load_payload_list("runs_bulk.json"))
    assert payload == before


@pytest.mark.parametrize(
    ("bulk", "message"),
    [
        ({"detail": "Not found."}, "expected a JSON array of runs"),
        ("273,274", "expected a JSON array of runs, got a string"),
        (None, "expected a JSON array of runs, got null"),
        ([5], "[0]: expected an object, got a number"),
        ([{"id": 273, "result_id": 167}, {"result_id": 167}], "[1]: has no numeric id"),
    ],
)
def test_bulk_that_is_not_a_list_of_runs_raises(bulk, message):
    with pytest.raises(ResultError) as caught:
        merge_run_details(load_payload("result_completed_mixed.json"), bulk)
    assert message in str(caught.value)


def test_bulk_of_another_result_raises():
    payload = load_payload("result_timeout_outbound.json")
    with pytest.raises(ResultError, match="run 273 belongs to result 167, not result 168"):
        merge_run_details(payload, load_payload_list("runs_bulk.json"))


def test_merge_does_not_hide_a_run_that_is_not_an_object():
    payload = make_result() | {"runs": {"5": "oops"}}
    with pytest.raises(ResultError, match=r"runs\['5'\]: expected an object"):
        normalise(merge_run_details(payload, []))


# --------------------------------------------------------------------------- typed runs

LATENCY = {"id": 33, "name": "Latency", "type": "numeric", "score": 1200, "explanation": ["ok"]}


def test_a_run_reads_its_metrics_once_and_keeps_them():
    run = with_metric(LATENCY)
    first = run.metrics
    assert run.metrics is first
    assert [(m.name, m.score, m.explanation) for m in first] == [("Latency", 1200.0, "ok")]


@pytest.mark.parametrize("evaluation", [None, "garbage", 5, {"metrics": "x"}, {"metrics": [7]}])
def test_a_run_with_unreadable_metrics_has_none(evaluation):
    assert only_run(make_result([make_run(1, evaluation=evaluation)])).metrics == ()


def test_runs_are_equal_when_their_values_are():
    same = make_result([make_run(1, evaluation={"metrics": [LATENCY]}, transcript="hi")])
    other = make_result([make_run(1, evaluation={"metrics": [LATENCY | {"score": 9}]})])
    assert normalise(same).runs == normalise(copy.deepcopy(same)).runs
    assert normalise(same).runs != normalise(other).runs


@pytest.mark.parametrize(
    ("explanation", "text"),
    [(["  one "], "one"), (["a", None, "", 3], "a\n3"), ("plain ", "plain"), (None, ""), ({}, "")],
)
def test_metric_explanations_are_text(explanation, text):
    assert with_metric(LATENCY | {"explanation": explanation}).metrics[0].explanation == text


def test_the_model_neither_imports_nor_holds_raw_json():
    source = (Path(model.__file__)).read_text(encoding="utf-8")
    imports = [line for line in source.splitlines() if "import" in line.split("#")[0]]
    assert not [line for line in imports if "gate." in line and "gate.dataclasses" not in line]
    assert not [name for name in Run.__dataclass_fields__ if name.endswith("_raw")]


# --------------------------------------------------------------------------- progress


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"status": "running"}, (Status.RUNNING, "running", None, None, False)),
        (
            {"status": " Evaluating ", "completed_runs_count": "9", "total_runs_count": 9},
            (Status.EVALUATING, "Evaluating", 9, 9, True),
        ),
        (
            {"status": "paused", "completed_runs_count": 3, "total_runs_count": 9},
            (Status.UNKNOWN, "paused", 3, 9, False),
        ),
        ({"status": None, "total_runs_count": -1}, (Status.UNKNOWN, "unknown", None, None, False)),
        ({"status": "running", "total_runs_count": 0}, (Status.RUNNING, "running", None, 0, False)),
    ],
)
def test_progress_of_a_payload(payload, expected):
    seen = read_progress(payload)
    assert (
        seen.status,
        seen.status_text,
        seen.completed_runs,
        seen.total_runs,
        seen.all_runs_done,
    ) == expected


@pytest.mark.parametrize("payload", [None, [], "completed", {"id": 1}])
def test_progress_of_something_that_is_not_a_result_raises(payload):
    with pytest.raises(ResultError, match="not a Cekura result"):
        read_progress(payload)


# --------------------------------------------------------------------------- missing details


@pytest.mark.parametrize(
    ("runs", "findings", "missing"),
    [
        ({"1": make_run(1)}, True, []),
        ({"1": make_run(1, evaluation=None), "2": make_run(2)}, False, [1]),
        ({"1": make_run(1, critical_categories=None)}, False, []),
        ({"1": make_run(1, critical_categories=None)}, True, [1]),
        ({"7": {"status": "completed"}}, False, [7]),  # the id from the key
        ([make_run(4, evaluation="x"), "oops", make_run(2, evaluation=None)], False, [2, 4]),
        (None, True, []),
    ],
)
def test_runs_missing_details(runs, findings, missing):
    assert runs_missing_details(make_result() | {"runs": runs}, findings=findings) == missing


@pytest.mark.parametrize(
    ("runs", "total", "message"),
    [
        ([make_run(1)], 1, None),
        ([make_run(1)], 3, "the result lists 1 of its 3 runs"),
        ([], 2, "the result lists 0 of its 2 runs"),
        ([make_run(1)], "many", None),
    ],
)
def test_every_run_must_be_listed(runs, total, message):
    payload = make_result(runs, total_runs_count=total)
    if message is None:
        require_every_run(payload)
    else:
        with pytest.raises(ResultError, match=message):
            require_every_run(payload)


def test_bulk_entries_are_the_runs_of_a_response():
    entries = bulk_entries([make_run(3), "x", None, {"id": "4", "critical_categories": None}])
    assert [entry_id(entry) for entry in entries] == [3, 4]
    assert [has_findings(entry) for entry in entries] == [True, False]
