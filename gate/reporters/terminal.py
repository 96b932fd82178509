"""Compact verdict for the terminal / CI log: one line per check, then the
failing runs. Colour and width are the caller's decision (``gate.cli`` reads the
terminal and ``NO_COLOR``, ``FORCE_COLOR``, ``COLUMNS``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gate import lazy
from gate.reporters.failure import (
    baseline_text,
    failure_text,
    infrastructure_text,
    rate_text,
    runs_text,
)
from gate.reporters.text import one_line
from gate.rules.checks import Outcome
from gate.rules.evaluate import NoVerdict, Verdict, VerdictStatus

if TYPE_CHECKING:
    import textwrap
else:  # imported when first used: only a label too long for its column needs it
    textwrap = lazy.module("textwrap")

MAX_RUN_LINES = 20

_RESET = "\x1b[0m"
_COLOURS = {
    "green": "\x1b[32m",
    "red": "\x1b[31m",
    "yellow": "\x1b[33m",
    "dim": "\x1b[2m",
    "bold": "\x1b[1m",
}
_MARK = {
    Outcome.PASS: ("PASS", "green"),
    Outcome.FAIL: ("FAIL", "red"),
    Outcome.WARN: ("WARN", "yellow"),
    Outcome.SKIP: ("OFF ", "dim"),
}
_VERDICT = {
    VerdictStatus.PASS: ("PASSED", "green"),
    VerdictStatus.WARN: ("PASSED WITH WARNINGS", "yellow"),
    VerdictStatus.FAIL: ("FAILED", "red"),
    VerdictStatus.ERROR: ("NO VERDICT", "red"),
}


class _Painter:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, colour: str) -> str:
        return f"{_COLOURS[colour]}{text}{_RESET}" if self.color else text


def _header(verdict: Verdict | NoVerdict, paint: _Painter) -> str:
    word, colour = _VERDICT[verdict.status]
    parts = [f"cekura-gate: {paint(word, colour)}"]
    if isinstance(verdict, NoVerdict):
        if verdict.result_id is not None:
            parts.append(f"result {verdict.result_id}")
    elif verdict.result is not None and verdict.counts is not None:
        result, counts = verdict.result, verdict.counts
        parts.append(
            f"result {result.id} ({one_line(result.status_text, 40)}, "
            f"{runs_text(counts)}, {rate_text(counts)})"
        )
    elif verdict.result_id is not None:
        parts.append(f"result {verdict.result_id}")
    return " ".join(parts)


# The label column never takes more than what leaves this much of the line for the values.
VALUES_MIN_WIDTH = 30
LABEL_MIN_WIDTH = 20
_INDENT = " " * 8  # under the label column: two spaces, the four-letter mark, two spaces


def _label_column(titles: list[str], width: int | None) -> int:
    longest = max((len(title) for title in titles), default=0)
    if width is None:
        return longest
    return min(longest, max(LABEL_MIN_WIDTH, width - len(_INDENT) - 2 - VALUES_MIN_WIDTH))


def _check_lines(verdict: Verdict, paint: _Painter, width: int | None) -> list[str]:
    column = _label_column([check.title for check in verdict.checks], width)
    lines = []
    for check in verdict.checks:
        mark, colour = _MARK[check.outcome]
        values = f"{one_line(check.actual, 60)}  (expected {check.expected}"
        if check.baseline:
            values += f"; baseline {one_line(check.baseline, 40)}"
            values += f", {one_line(check.delta, 40)}" if check.delta else ""
        values += ")"
        # A label wider than its column wraps between words, never inside one.
        label = [check.title]
        if width is not None and len(check.title) > column:
            label = textwrap.wrap(
                check.title, column, break_long_words=False, break_on_hyphens=False
            )
        # Values longer than what is left of the line run on: the terminal wraps them, and
        # the label column stays straight.
        lines.append(f"  {paint(mark, colour)}  {label[0].ljust(column)}  {values}")
        lines += [f"{_INDENT}{piece}" for piece in label[1:]]
        if check.outcome in (Outcome.FAIL, Outcome.WARN):
            cause = "infrastructure: " if check.infrastructure else ""
            lines.append(f"{_INDENT}{cause}{one_line(check.reason, 200)}")
    return lines


def _failure_lines(verdict: Verdict, paint: _Painter) -> list[str]:
    """The kind of failure, and the runs infrastructure failed, each on its own line."""
    lines = []
    failure = failure_text(verdict)
    if failure:
        lines.append(f"  failure: {paint(failure, 'bold')}")
    infrastructure = infrastructure_text(verdict)
    if infrastructure:
        lines.append(f"  infrastructure: {infrastructure}")
    return lines


def _run_lines(verdict: Verdict, paint: _Painter) -> list[str]:
    failing = [report for report in verdict.runs if report.failed]
    if not failing:
        return []
    tolerated = verdict.status is not VerdictStatus.FAIL
    lines = [f"Failed runs{' (tolerated)' if tolerated else ''}: {len(failing)}"]
    for report in failing[:MAX_RUN_LINES]:
        why = one_line("; ".join(report.reasons[:2]), 160)
        lines.append(
            f"  {paint('x', 'red')} run {report.run.id} "
            f"[{one_line(report.run.scenario_name, 60)}]: {why}"
        )
    if len(failing) > MAX_RUN_LINES:
        lines.append(f"  ...and {len(failing) - MAX_RUN_LINES} more (see the reports)")
    return lines


def _baseline_line(verdict: Verdict) -> list[str]:
    info = verdict.baseline
    if info is None:
        return []
    which = "" if info.source == f"result {info.result_id}" else f"result {info.result_id}, "
    return [
        f"  compared with the baseline {one_line(info.source, 200)} ({which}{baseline_text(info)})"
    ]


def _waiver_lines(verdict: Verdict, paint: _Painter) -> list[str]:
    if not verdict.waivers:
        return []
    as_of = f" (as of {verdict.as_of.isoformat()})" if verdict.as_of else ""
    lines = [f"Waivers{as_of}:"]
    for waiver in verdict.waivers:
        colour = "red" if waiver.expired else "yellow"
        mark = "EXPIRED" if waiver.expired else waiver.level.value
        lines.append(f"  {paint(mark, colour)}  {waiver.path}: {one_line(waiver.text, 200)}")
    return lines


def render(verdict: Verdict | NoVerdict, *, color: bool = False, width: int | None = None) -> str:
    """The terminal verdict (or why there is none), ending in a newline; with ``width``, the
    checks are laid out to that many columns (labels wrap between words)."""
    paint = _Painter(color)
    lines = [_header(verdict, paint)]
    if isinstance(verdict, NoVerdict):
        lines.append(f"  {one_line(verdict.error, 500)}")
    else:
        lines += _failure_lines(verdict, paint)
        lines += _baseline_line(verdict)
        lines += _check_lines(verdict, paint, width)
        lines += _waiver_lines(verdict, paint)
        if verdict.reruns is not None:
            from gate.reporters import reruns  # only `run` with reruns: not at start-up

            lines += reruns.terminal_lines(verdict.reruns)
        lines += _run_lines(verdict, paint)
        lines += [f"note: {one_line(note, 300)}" for note in verdict.notes]
    if verdict.result_url:
        lines.append(f"Result: {verdict.result_url}")
    return "\n".join(lines) + "\n"
