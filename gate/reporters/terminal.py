"""Compact verdict for the terminal / CI log: one line per check, then the
failing runs. Colour is the caller's decision (TTY and ``NO_COLOR``)."""

from __future__ import annotations

from gate.reporters.text import one_line
from gate.rules.checks import Outcome, fmt, plural
from gate.rules.evaluate import NoVerdict, Verdict, VerdictStatus

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
            f"{plural(counts.total_runs, 'run')}, {counts.failed_runs} failed, "
            f"success rate {fmt(counts.success_rate, '%')})"
        )
    elif verdict.result_id is not None:
        parts.append(f"result {verdict.result_id}")
    return " ".join(parts)


def _check_lines(verdict: Verdict, paint: _Painter) -> list[str]:
    width = max((len(check.title) for check in verdict.checks), default=0)
    lines = []
    for check in verdict.checks:
        mark, colour = _MARK[check.outcome]
        line = f"  {paint(mark, colour)}  {check.title.ljust(width)}  {one_line(check.actual, 60)}"
        line += f"  (expected {check.expected}"
        if check.baseline:
            line += f"; baseline {one_line(check.baseline, 40)}"
            line += f", {one_line(check.delta, 40)}" if check.delta else ""
        line += ")"
        if check.outcome in (Outcome.FAIL, Outcome.WARN):
            line += f"\n        {one_line(check.reason, 200)}"
        lines.append(line)
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
        f"  compared with the baseline {one_line(info.source, 200)} ({which}"
        f"{plural(info.total_runs, 'run')}, success rate {fmt(info.success_rate, '%')})"
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


def render(verdict: Verdict | NoVerdict, *, color: bool = False) -> str:
    """The terminal verdict (or why there is none), ending in a newline."""
    paint = _Painter(color)
    lines = [_header(verdict, paint)]
    if isinstance(verdict, NoVerdict):
        lines.append(f"  {one_line(verdict.error, 500)}")
    else:
        lines += _baseline_line(verdict)
        lines += _check_lines(verdict, paint)
        lines += _waiver_lines(verdict, paint)
        lines += _run_lines(verdict, paint)
        lines += [f"note: {one_line(note, 300)}" for note in verdict.notes]
    if verdict.result_url:
        lines.append(f"Result: {verdict.result_url}")
    return "\n".join(lines) + "\n"
