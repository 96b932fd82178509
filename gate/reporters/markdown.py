"""Markdown summary for a GitHub step summary or a GitLab merge request.

Verdict first, then the table of rules (expected / actual / status), then the
failing runs with their reasons, then a link to the result in the dashboard.
"""

from __future__ import annotations

from collections.abc import Callable

from gate.reporters.failure import (
    baseline_text,
    failure_text,
    infrastructure_text,
    rate_text,
    runs_text,
)
from gate.reporters.text import one_line
from gate.rules.checks import Check, Outcome, WaiverState, plural
from gate.rules.evaluate import NoVerdict, RunReport, Verdict, VerdictStatus

MAX_RUN_ROWS = 50

HEADLINE = {
    VerdictStatus.PASS: ":white_check_mark: Cekura gate passed",
    VerdictStatus.WARN: ":warning: Cekura gate passed with warnings",
    VerdictStatus.FAIL: ":x: Cekura gate failed",
    VerdictStatus.ERROR: ":no_entry: Cekura gate: no verdict",
}
OUTCOME = {
    Outcome.PASS: ":white_check_mark: pass",
    Outcome.FAIL: ":x: fail",
    Outcome.WARN: ":warning: warn",
    Outcome.SKIP: ":heavy_minus_sign: off",
}


def cell(text: str, limit: int = 300) -> str:
    """Text that stays inside one table cell and renders literally."""
    flat = one_line(text, limit)
    for char in ("\\", "|", "<", ">", "*", "_", "`", "[", "]"):
        flat = flat.replace(char, "\\" + char)
    return flat


Escape = Callable[[str, int], str]  # text and its limit to one literal cell (``cell``)


def result_line(verdict: Verdict | NoVerdict, escape: Escape = cell) -> str:
    if isinstance(verdict, NoVerdict):
        return f"Result {verdict.result_id}" if verdict.result_id is not None else ""
    result, counts = verdict.result, verdict.counts
    if result is None:
        return f"Result {verdict.result_id}" if verdict.result_id is not None else ""
    parts = [f"**Result {result.id}**"]
    if result.name:
        parts.append(escape(result.name, 300))
    parts.append(f"status `{escape(result.status_text, 40)}`")
    if counts is not None:
        parts += [runs_text(counts), rate_text(counts)]
    return " · ".join(parts)


def _rules_table(checks: tuple[Check, ...]) -> list[str]:
    if not any(check.baseline for check in checks):
        lines = ["| Rule | Expected | Actual | Status |", "| --- | --- | --- | --- |"]
        for check in checks:
            lines.append(
                f"| {cell(check.title)} | {cell(check.expected)} | {cell(check.actual)} | "
                f"{OUTCOME[check.outcome]} |"
            )
        return lines
    lines = [
        "| Rule | Expected | Baseline | Actual | Delta | Status |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for check in checks:
        lines.append(
            f"| {cell(check.title)} | {cell(check.expected)} | {cell(check.baseline) or '–'} | "
            f"{cell(check.actual)} | {cell(check.delta) or '–'} | {OUTCOME[check.outcome]} |"
        )
    return lines


def _baseline_line(verdict: Verdict) -> list[str]:
    info = verdict.baseline
    if info is None:
        return []
    parts = [] if info.source == f"result {info.result_id}" else [f"result {info.result_id}"]
    parts += [cell(info.name, 120)] if info.name else []
    parts.append(baseline_text(info))
    return [f"Baseline: `{cell(info.source, 200)}` ({', '.join(parts)})", ""]


def _waivers_section(verdict: Verdict) -> list[str]:
    if not verdict.waivers:
        return []
    as_of = f" (as of {verdict.as_of.isoformat()})" if verdict.as_of else ""
    lines = [
        f"### Waivers{as_of}: {len(verdict.waivers)}",
        "",
        "| Rule | Level | Until | State | Reason |",
        "| --- | --- | --- | --- | --- |",
    ]
    for waiver in verdict.waivers:
        until = waiver.until.isoformat() if waiver.until else "–"
        lines.append(
            f"| {cell(waiver.path)} | {waiver.level.value} | {until} | {waiver_state(waiver)} | "
            f"{cell(waiver.reason or '–', 300)} |"
        )
    return lines


def waiver_state(waiver: WaiverState) -> str:
    """A waiver's state as a table cell: no end date, active (days left), last day, expired."""
    if waiver.until is None:
        return "no end date"
    if waiver.expired:
        return ":x: expired: enforced as an error"
    if waiver.days_left == 0:
        return ":warning: last day"
    return f"active, {plural(waiver.days_left or 0, 'day')} left"


def _reasons(checks: tuple[Check, ...]) -> list[str]:
    flagged = [check for check in checks if check.outcome in (Outcome.FAIL, Outcome.WARN)]
    return [
        f"- **{cell(check.title)}**{' (infrastructure)' if check.infrastructure else ''}: "
        f"{cell(check.reason, 500)}"
        for check in flagged
    ]


def failure_lines(verdict: Verdict) -> list[str]:
    """The kind of failure, and the runs infrastructure failed, each on its own line."""
    lines = []
    failure = failure_text(verdict)
    if failure:
        lines += [f"**Failure:** {failure}", ""]
    infrastructure = infrastructure_text(verdict)
    if infrastructure:
        lines += [f"**Infrastructure:** {infrastructure}", ""]
    return lines


def _runs_section(verdict: Verdict) -> list[str]:
    failing = [report for report in verdict.runs if report.failed]
    if not failing:
        return []
    tolerated = verdict.status is not VerdictStatus.FAIL
    title = "Failed runs (tolerated by the policy)" if tolerated else "Failing runs"
    lines = [
        f"### {title}: {len(failing)} of {len(verdict.runs)}",
        "",
        "| Run | Scenario | Why |",
        "| --- | --- | --- |",
    ]
    lines += [_run_row(report) for report in failing[:MAX_RUN_ROWS]]
    if len(failing) > MAX_RUN_ROWS:
        more = plural(len(failing) - MAX_RUN_ROWS, "more failed run")
        lines += ["", f"…and {more} (see the JUnit or JSON report)."]
    return lines


def _run_row(report: RunReport) -> str:
    why = "<br>".join(cell(reason, 200) for reason in report.reasons[:4])
    return f"| {report.run.id} | {cell(report.run.scenario_name, 120)} | {why} |"


def head(
    verdict: Verdict | NoVerdict, *, escape: Escape = cell, commit: str | None = None
) -> list[str]:
    """The head of the summary and of the pull-request comment: the headline, the result,
    the policy (and the commit, when given), and for no verdict, the error. ``escape`` turns
    the text that came from the result or the policy into cells."""
    lines = [f"## {HEADLINE[verdict.status]}", ""]
    result = result_line(verdict, escape)
    if result:
        lines += [result, ""]
    for_commit = f" · commit `{escape(commit, 40)}`" if commit else ""
    lines += [f"Policy: `{escape(verdict.policy_source, 200)}`{for_commit}", ""]
    if isinstance(verdict, NoVerdict):
        lines += [f"**No verdict could be reached:** {escape(verdict.error, 1000)}", ""]
    else:
        lines += failure_lines(verdict)
    return lines


def render(verdict: Verdict | NoVerdict) -> str:
    """The Markdown summary of a verdict, or of why there is none."""
    lines = head(verdict)
    if isinstance(verdict, NoVerdict):
        if verdict.result_url:
            lines += [f"[View the result in the Cekura dashboard]({verdict.result_url})", ""]
        return "\n".join(lines)
    lines += _baseline_line(verdict)
    lines += [*_rules_table(verdict.checks), ""]
    reasons = _reasons(verdict.checks)
    if reasons:
        lines += [*reasons, ""]
    waivers = _waivers_section(verdict)
    if waivers:
        lines += [*waivers, ""]
    if verdict.reruns is not None:
        from gate.reporters import reruns  # only `run` with reruns: not at start-up

        lines += [*reruns.markdown_lines(verdict.reruns, cell), ""]
    runs = _runs_section(verdict)
    if runs:
        lines += [*runs, ""]
    for note in verdict.notes:
        lines += [f"> Note: {cell(note, 500)}", ""]
    if verdict.result_url:
        lines += [f"[View the result in the Cekura dashboard]({verdict.result_url})", ""]
    if verdict.share_url:
        lines += [
            f"[Shareable link]({verdict.share_url}) (anyone with it can read the transcripts)",
            "",
        ]
    return "\n".join(lines)
