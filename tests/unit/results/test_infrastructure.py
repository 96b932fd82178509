"""Which runs are infrastructure-failed, and why (``gate.results.infrastructure``), as the
normalised ``Run.infrastructure`` shows it: from the result's lists, else the run's signals."""

from __future__ import annotations

from typing import Any

import pytest

from gate.results.baseline import baseline_payload
from gate.results.merge import merge_run_details
from gate.results.normalise import normalise
from tests.conftest import load_payload, make_result, make_run

FAILED_CHECKS = {"success": False, "expected_outcome": {"score": 0, "explanation": ["no"]}}
NEVER_CONNECTED = {"success": False, "status": "failed", "duration": "00:00"}


def reason_of(run: dict[str, Any], **result: Any) -> str:
    """The infrastructure reason of run 1 in a result with ``result``'s fields."""
    return normalise(make_result([run], **result)).runs[0].infrastructure


CASES = [
    # (case, run overrides, result overrides, expected reason; "" is not infrastructure)
    ("a passing run", {}, {}, ""),
    ("a normal failed run is an agent failure", FAILED_CHECKS, {}, ""),
    (
        "a normal failed run with the list null",
        FAILED_CHECKS,
        {"failed_infrastructure_runs": None, "not_connected_runs": []},
        "",
    ),
    ("listed by id", FAILED_CHECKS, {"failed_infrastructure_runs": [1]}, "listed in"),
    ("listed as a numeric string", {}, {"failed_infrastructure_runs": ["1", "x"]}, "listed in"),
    (
        "digits int() refuses are left out, not a crash",
        FAILED_CHECKS,
        {"failed_infrastructure_runs": ["\u00b2", "\u0661"], "not_connected_runs": ["\u00b9"]},
        "",
    ),
    (
        "the list is authoritative: not named",
        NEVER_CONNECTED,
        {"failed_infrastructure_runs": []},
        "",
    ),
    (
        "the list is authoritative over not_connected_runs",
        FAILED_CHECKS,
        {"failed_infrastructure_runs": [2], "not_connected_runs": [1]},
        "",
    ),
    (
        "list null: not_connected_runs",
        FAILED_CHECKS,
        {"not_connected_runs": [1]},
        "never connected",
    ),
    (
        "list garbage: read as absent",
        FAILED_CHECKS,
        {"failed_infrastructure_runs": "n/a", "not_connected_runs": ["1"]},
        "never connected",
    ),
    *(
        (
            f"a list sent as the string {text!r}",
            FAILED_CHECKS,
            {"failed_infrastructure_runs": text},
            "listed in",
        )
        for text in ("1", "[1]", " [2, 1] ", "1,2")
    ),
    (
        "an empty list sent as a string",
        NEVER_CONNECTED,
        {"failed_infrastructure_runs": "[]"},
        "",
    ),
    *(
        (
            f"a string that is not a list of ids: {text!r}",
            FAILED_CHECKS,
            {"failed_infrastructure_runs": text, "not_connected_runs": "1, 3"},
            "never connected",
        )
        for text in ("", "1;2", "[1, x]", "[-1]", "١")
    ),
    *(
        (
            f"ended_reason {code}",
            {**FAILED_CHECKS, "metadata": {"ended_reason": code}},
            {},
            f"call ended {code}",
        )
        for code in (
            "Main agent-did-not-answer",
            "Main agent-call-not-connected",
            "Testing agent-did-not-connect",
            "sip-call-failed",
        )
    ),
    (
        "an agent that ended the call is not infrastructure",
        {**FAILED_CHECKS, "metadata": {"ended_reason": "Main agent-ended-call"}},
        {},
        "",
    ),
    (
        "an error message on a run that ended failed",
        {"success": None, "status": "failed", "error_message": "Failed to create Pipecat session"},
        {},
        "run ended failed: Failed to create Pipecat session",
    ),
    (
        "an error message on a call that went on is the agent's",
        {"success": False, "error_message": "the agent hung up", "duration": "01:00"},
        {},
        "",
    ),
    (
        "an error message on a zero-length call",
        {"success": False, "error_message": "SIP 503", "duration": "0:00"},
        {},
        "no transcript and zero duration: SIP 503",
    ),
    (
        "success=true with an error message is no real pass",
        {"success": True, "error_message": "websocket closed: 1011"},
        {},
        "passed with an error: websocket closed: 1011",
    ),
    (
        "success written as a string, with an error message, is no real pass",
        {"success": " True ", "error_message": "provider 429"},
        {},
        "passed with an error: provider 429",
    ),
    ("run status failed", {"success": False, "status": "failed"}, {}, "run ended failed"),
    (
        "zero duration, no transcript",
        {"success": False, "duration": "00:00"},
        {},
        "no transcript and zero duration",
    ),
    ("zero duration as a number", {"success": None, "duration": 0}, {}, "zero duration"),
    (
        "zero duration with a transcript is an agent failure",
        {"success": False, "duration": "00:00", "transcript": "[00:00] Agent: hi"},
        {},
        "",
    ),
    (
        "zero duration in a text result",
        {"success": False, "duration": "00:00"},
        {"run_as_text": True},
        "",
    ),
    (
        "zero duration in a run that says it ran as text",
        {"success": False, "duration": "00:00", "run_as_text": True},
        {},
        "",
    ),
    (
        "zero duration in a result whose run type is text",
        {"success": False, "duration": "00:00"},
        {"run_type": "Text"},
        "",
    ),
    *(
        (
            f"a call still {status} has no final duration to go by",
            {"success": None, "status": status, "duration": "00:00"},
            {"status": "timeout"},
            "",
        )
        for status in ("running", "in_progress")
    ),
    ("a timed-out run that did connect", {"success": False, "status": "timeout"}, {}, ""),
    ("a passing run with zero duration", {"duration": "00:00"}, {}, ""),
]


@pytest.mark.parametrize(
    ("run", "result", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_a_run_is_infrastructure_failed_by_the_list_or_its_signals(run, result, expected):
    reason = reason_of(make_run(1, **run), **result)
    if expected:
        assert expected in reason
    else:
        assert reason == ""


def test_the_reference_infrastructure_result_is_read_as_such():
    runs = normalise(load_payload("result_failed_infra.json")).runs
    assert [run.infrastructure for run in runs] == [
        "never connected (listed in not_connected_runs): Failed to create Pipecat session"
    ]


def test_the_reference_mixed_result_has_agent_failures_only():
    runs = normalise(load_payload("result_completed_mixed.json")).runs
    assert [run.infrastructure for run in runs] == ["", ""]


def test_a_long_error_message_is_kept_short_and_on_one_line():
    reason = reason_of(make_run(1, success=False, error_message="provider\nerror " * 200))
    assert "\n" not in reason and len(reason) < 200


def test_a_garbage_list_is_noted():
    result = normalise(make_result([make_run(1)], failed_infrastructure_runs={"1": True}))
    assert any("failed_infrastructure_runs" in note for note in result.notes)


@pytest.mark.parametrize(
    ("bulk", "expected"),
    [
        ({"metadata": {"ended_reason": "sip-call-failed"}}, "call ended sip-call-failed"),
        ({"error_message": "SIP 503"}, "zero duration: SIP 503"),
        ({"transcript": "[00:01] Agent: hello"}, ""),
    ],
    ids=["ended_reason", "error_message", "transcript"],
)
def test_runs_file_details_are_judged_once_merged(bulk, expected):
    # The result's entry lacks the details; the runs-bulk entry carries them.
    payload = make_result(
        [make_run(1, success=False, duration="00:00", error_message="", metadata={})]
    )
    merged = merge_run_details(payload, [{"id": 1, "result_id": 500, **bulk}])
    runs = normalise(merged).runs
    assert expected in runs[0].infrastructure if expected else runs[0].infrastructure == ""


def test_the_list_survives_a_runs_file_merge():
    payload = make_result([make_run(1, **FAILED_CHECKS)], failed_infrastructure_runs=["1"])
    merged = merge_run_details(payload, [{"id": 1, "result_id": 500, "transcript": "[00:01] x"}])
    assert normalise(merged).runs[0].infrastructure == "listed in failed_infrastructure_runs"


def test_a_saved_baseline_keeps_what_tells_its_infrastructure_failures_apart():
    payload = make_result(
        [
            make_run(1, **FAILED_CHECKS, metadata={"ended_reason": "sip-call-failed", "x": 1}),
            make_run(2, success=True, error_message="provider hiccup"),
            make_run(3, **FAILED_CHECKS),
        ],
        not_connected_runs=[3],
    )
    saved = normalise(baseline_payload(payload, saved_at="2026-12-04T00:00:00Z")).runs
    assert [run.infrastructure for run in saved] == [
        run.infrastructure for run in normalise(payload).runs
    ]
    assert all(run.infrastructure for run in saved)


@pytest.mark.parametrize(
    ("run", "result"),
    [
        ({"run_as_text": True}, {}),
        ({}, {"run_type": "Text"}),
    ],
)
def test_a_saved_baseline_keeps_what_says_a_failed_run_ran_as_text(run, result):
    payload = make_result([make_run(1, **FAILED_CHECKS, duration="00:00", **run)], **result)
    saved = normalise(baseline_payload(payload, saved_at="2026-12-04T00:00:00Z")).runs
    assert saved[0].infrastructure == normalise(payload).runs[0].infrastructure == ""
