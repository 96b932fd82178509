"""GitHub Actions workflow commands as text: annotations, outputs, the step summary.

Pure functions only; ``gate.github`` prints and writes them. Escaping follows
actions/toolkit ``command.ts``: data escapes ``%``, CR and LF; properties also
escape ``:`` and ``,``. A step shows at most 10 error and 10 warning
annotations, so the rest are counted in one notice.
"""

from __future__ import annotations

from collections.abc import Mapping

from gate.reporters import markdown
from gate.reporters.text import one_line
from gate.rules.checks import Check, Outcome, fmt
from gate.rules.evaluate import NoVerdict, RunReport, Verdict

MAX_PER_LEVEL = 10
SUMMARY_LIMIT_BYTES = 1024 * 1024 - 4096  # GitHub refuses step summaries over 1 MiB
ANNOTATION_TITLE = "Cekura gate"


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: str) -> str:
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties.items())
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def _run_title(report: RunReport) -> str:
    return f"Run {report.run.id}: {one_line(report.run.scenario_name, 100)}"


def _run_message(report: RunReport) -> str:
    return one_line("; ".join(report.reasons) or "run did not pass", 1000)


Finding = tuple[str, str, int | None]  # title, message, the policy line it is about


def _check_message(check: Check) -> str:
    return f"infrastructure: {check.reason}" if check.infrastructure else check.reason


def _findings(verdict: Verdict) -> tuple[list[Finding], list[Finding]]:
    """(title, message, line) for error and warning annotations, most important first."""
    errors: list[Finding] = [
        (f"{ANNOTATION_TITLE}: {check.identity}", _check_message(check), check.line)
        for check in verdict.checks
        if check.outcome is Outcome.FAIL
    ]
    warnings: list[Finding] = [
        (f"{ANNOTATION_TITLE}: {check.identity}", _check_message(check), check.line)
        for check in verdict.checks
        if check.outcome is Outcome.WARN
    ]
    for waiver in verdict.waivers:
        if not waiver.expired and waiver.days_left is not None and waiver.days_left <= 7:
            title = f"{ANNOTATION_TITLE}: waiver ending"
            warnings.append((title, f"{waiver.path}: {waiver.text}", None))
    for report in verdict.runs:
        if report.blamed:
            errors.append((_run_title(report), _run_message(report), None))
        elif report.failed:
            message = f"tolerated by the policy: {_run_message(report)}"
            warnings.append((_run_title(report), message, None))
    return errors, warnings


def _located(file: str | None, line: int | None) -> dict[str, str]:
    """Where an annotation shows: on the policy's line in the diff when the rule has one,
    else on the policy file; without a file, on the run's summary only."""
    if not file:
        return {}
    return {"file": file, "line": str(line)} if line is not None else {"file": file}


def annotation_lines(verdict: Verdict | NoVerdict, *, file: str | None = None) -> list[str]:
    """At most 10 ``::error`` and 10 ``::warning`` lines, then a notice counting the rest."""
    if isinstance(verdict, NoVerdict):
        return [
            command(
                "error",
                one_line(verdict.error or "no verdict", 1000),
                title=f"{ANNOTATION_TITLE}: no verdict",
            )
        ]
    errors, warnings = _findings(verdict)
    lines = [
        command("error", one_line(message, 1000), title=title, **_located(file, line))
        for title, message, line in errors[:MAX_PER_LEVEL]
    ]
    lines += [
        command("warning", one_line(message, 1000), title=title, **_located(file, line))
        for title, message, line in warnings[:MAX_PER_LEVEL]
    ]
    hidden_errors = max(len(errors) - MAX_PER_LEVEL, 0)
    hidden_warnings = max(len(warnings) - MAX_PER_LEVEL, 0)
    if hidden_errors or hidden_warnings:
        lines.append(
            command(
                "notice",
                f"{hidden_errors} more errors and {hidden_warnings} more warnings are not shown "
                "as annotations; see the step summary or the JUnit report",
                title=ANNOTATION_TITLE,
            )
        )
    return lines


def outputs(verdict: Verdict | NoVerdict, *, junit_path: str | None) -> dict[str, str]:
    """The step outputs the Action declares."""
    counts = verdict.counts if isinstance(verdict, Verdict) else None
    shown = None if counts is None else counts.headline  # of the runs judged, as the checks
    reruns = verdict.reruns if isinstance(verdict, Verdict) else None
    values = {
        "verdict": verdict.status.value,
        "result-id": "" if verdict.result_id is None else str(verdict.result_id),
        "result-url": verdict.result_url or "",
        "success-rate": ""
        if shown is None or shown.success_rate is None
        else fmt(shown.success_rate),
        "failed-runs": "" if shown is None else str(shown.failed_runs),
        "junit-path": junit_path or "",
        "share-link": (verdict.share_url if isinstance(verdict, Verdict) else None) or "",
        # none, agent, infrastructure or both: tells an infrastructure-only failure apart
        "failure": verdict.failure if isinstance(verdict, Verdict) else "",
        "infrastructure-runs": "" if counts is None else str(counts.infrastructure_runs),
        # the runs success-rate and failed-runs are of: all but the infrastructure-failed ones
        "judged-runs": "" if shown is None else str(shown.total_runs),
    }
    # With reruns, every result the verdict judged, and the calls they made.
    values["result-ids"] = (
        ",".join(map(str, reruns.result_ids)) if reruns is not None else values["result-id"]
    )
    values["calls"] = str(reruns.calls) if reruns is not None else ""
    return values


def output_file_text(values: Mapping[str, str], delimiter: str) -> str:
    """``$GITHUB_OUTPUT`` lines; every value uses the heredoc form, safe for any text.

    A value that contains the delimiter gets a longer delimiter, never a changed value.
    """
    lines = []
    for name, value in values.items():
        fence = delimiter
        while fence in value:
            fence += "_" + str(len(fence))
        lines += [f"{name}<<{fence}", value, fence]
    return "\n".join(lines) + "\n"


def step_summary(verdict: Verdict | NoVerdict) -> str:
    """The Markdown summary, cut to fit GitHub's 1 MiB step-summary limit."""
    text = markdown.render(verdict)
    data = text.encode("utf-8")
    if len(data) <= SUMMARY_LIMIT_BYTES:
        return text
    cut = data[:SUMMARY_LIMIT_BYTES].decode("utf-8", errors="ignore")
    cut = cut[: cut.rfind("\n") + 1]
    return cut + "\n> The summary was cut to fit GitHub's 1 MiB limit; see the JUnit report.\n"
