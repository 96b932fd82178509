"""What every report says about ``run``'s reruns (``Verdict.reruns``): every result involved,
the runs that were reruns and why, and the calls spent against ``max_calls``.

Imported by the reporters only when a verdict has reruns, so that ``check`` never loads it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gate.reporters.text import one_line
from gate.results.attempts import Attempt, RerunLog, Round
from gate.rules.checks import plural

MAX_RERUN_ROWS = 50


def headline(log: RerunLog) -> str:
    """``2 results, 5 calls of at most 6``."""
    cap = f" of at most {log.max_calls}" if log.max_calls is not None else ""
    return f"{plural(len(log.rounds), 'result')}, {plural(log.calls, 'call')}{cap}"


def _why(round_: Round) -> str:
    return " and ".join(round_.reasons) if round_.round else "first result"


def _scenarios(round_: Round) -> str:
    if not round_.scenario_ids:
        return ""
    times = f" x{round_.frequency}" if round_.frequency else ""
    return ", ".join(map(str, round_.scenario_ids)) + times


def _result(round_: Round) -> str:
    return str(round_.result_id) if round_.result_id is not None else "none"


def _outcome(attempt: Attempt) -> str:
    run = attempt.run
    if run.infrastructure:
        return "infrastructure-failed"
    return "passed" if run.success is True else "failed"


def _replaces(attempt: Attempt) -> str:
    return f"run {attempt.slot}" if attempt.slot is not None else "none (an extra attempt)"


# --------------------------------------------------------------------------- terminal


def terminal_lines(log: RerunLog) -> list[str]:
    ids = ", ".join(map(str, log.result_ids))
    lines = [f"Reruns: {headline(log)} (results {ids})"]
    for round_ in log.rounds[1:]:
        scenarios = f", scenarios {_scenarios(round_)}" if round_.scenario_ids else ""
        lines.append(
            f"  round {round_.round}: result {_result(round_)} ({_why(round_)}{scenarios}, "
            f"{plural(round_.calls, 'call')}, {one_line(round_.status_text, 40)})"
        )
    for attempt in log.reruns[:MAX_RERUN_ROWS]:
        what = f"reran run {attempt.slot}" if attempt.slot is not None else "is an extra attempt"
        lines.append(
            f"  run {attempt.run.id} {what} [{one_line(attempt.run.scenario_name, 60)}] "
            f"({attempt.reason}): {_outcome(attempt)}"
        )
    if len(log.reruns) > MAX_RERUN_ROWS:
        lines.append(f"  ...and {len(log.reruns) - MAX_RERUN_ROWS} more (see the JSON report)")
    return lines


# --------------------------------------------------------------------------- Markdown


def markdown_lines(log: RerunLog, cell: Callable[[str, int], str]) -> list[str]:
    lines = [
        f"### Reruns: {headline(log)}",
        "",
        "| Round | Result | Why | Scenarios | Calls | Status |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for round_ in log.rounds:
        lines.append(
            f"| {round_.round} | {_result(round_)} | {_why(round_)} | "
            f"{_scenarios(round_) or '–'} | {round_.calls} | {cell(round_.status_text, 40)} |"
        )
    if log.reruns:
        lines += ["", "| Rerun | In place of | Scenario | Why | Outcome |"]
        lines.append("| --- | --- | --- | --- | --- |")
        for attempt in log.reruns[:MAX_RERUN_ROWS]:
            lines.append(
                f"| {attempt.run.id} | {_replaces(attempt)} | "
                f"{cell(attempt.run.scenario_name, 120)} | {attempt.reason} | "
                f"{_outcome(attempt)} |"
            )
        if len(log.reruns) > MAX_RERUN_ROWS:
            more = plural(len(log.reruns) - MAX_RERUN_ROWS, "more rerun")
            lines += ["", f"…and {more} (see the JSON report)."]
    return lines


# --------------------------------------------------------------------------- JSON


def json_document(log: RerunLog) -> dict[str, Any]:
    return {
        "result_ids": list(log.result_ids),
        "calls": log.calls,
        "max_calls": log.max_calls,
        "rounds": [
            {
                "round": round_.round,
                "result_id": round_.result_id,
                "status": round_.status_text,
                "calls": round_.calls,
                "scenario_ids": list(round_.scenario_ids),
                "frequency": round_.frequency,
                "reasons": list(round_.reasons),
            }
            for round_ in log.rounds
        ],
        "runs": [
            {
                "run_id": attempt.run.id,
                "result_id": attempt.result_id,
                "round": attempt.round,
                "slot": attempt.slot,
                "scenario_id": attempt.run.scenario_id,
                "reason": attempt.reason,
                "outcome": _outcome(attempt),
            }
            for attempt in log.reruns
        ],
        "notes": list(log.notes),
    }
