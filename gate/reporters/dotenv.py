"""GitLab ``artifacts:reports:dotenv`` text: ``KEY=VALUE`` lines for later jobs.

GitLab reads these values literally: no quotes, no expansion, no multi-line
values, at most 5 KB in all. Values are therefore flattened to one line and
stripped of characters that would end the line or confuse the parser.
"""

from __future__ import annotations

import json

from gate.reporters.text import one_line
from gate.rules.checks import Outcome, fmt
from gate.rules.evaluate import NoVerdict, Verdict

MAX_VALUE_CHARS = 500


def _value(text: str) -> str:
    return one_line(text, MAX_VALUE_CHARS).replace("\x00", "")


def render(verdict: Verdict | NoVerdict) -> str:
    """The dotenv report of a verdict, or of why there is none."""
    if isinstance(verdict, NoVerdict):
        return _lines(_common(verdict, "", "", "", 0, 0))
    counts = verdict.counts
    shown = None if counts is None else counts.headline  # of the runs judged, as the checks
    values = _common(
        verdict,
        total_runs="" if counts is None else str(counts.total_runs),
        failed_runs="" if shown is None else str(shown.failed_runs),
        success_rate="" if shown is None or shown.success_rate is None else fmt(shown.success_rate),
        failed_checks=len(verdict.failed_checks),
        warned_checks=len(verdict.warned_checks),
    )
    values["GATE_FAILURE"] = verdict.failure
    values["GATE_INFRASTRUCTURE_RUNS"] = "" if counts is None else str(counts.infrastructure_runs)
    if counts is not None and counts.judged is not None:  # only with infrastructure-failed runs
        values["GATE_JUDGED_RUNS"] = str(counts.judged.total_runs)
    if verdict.baseline is not None:
        values["CEKURA_BASELINE_RESULT_ID"] = str(verdict.baseline.result_id)
    if verdict.waivers:
        expired = sum(1 for waiver in verdict.waivers if waiver.expired)
        values["GATE_ACTIVE_WAIVERS"] = str(len(verdict.waivers) - expired)
        values["GATE_EXPIRED_WAIVERS"] = str(expired)
    if verdict.share_url:
        values["CEKURA_SHARE_URL"] = verdict.share_url
    if verdict.reruns is not None:  # only from `run` with reruns asked for
        values["GATE_RESULT_IDS"] = ",".join(map(str, verdict.reruns.result_ids))
        values["GATE_CALLS"] = str(verdict.reruns.calls)
    return _lines(values)


def _common(
    verdict: Verdict | NoVerdict,
    total_runs: str,
    failed_runs: str,
    success_rate: str,
    failed_checks: int,
    warned_checks: int,
) -> dict[str, str]:
    """The variables every report has, in their order."""
    return {
        "GATE_VERDICT": verdict.status.value,
        "CEKURA_RESULT_ID": "" if verdict.result_id is None else str(verdict.result_id),
        "CEKURA_RESULT_URL": verdict.result_url or "",
        "GATE_TOTAL_RUNS": total_runs,
        "GATE_FAILED_RUNS": failed_runs,
        "GATE_SUCCESS_RATE": success_rate,
        "GATE_FAILED_CHECKS": str(failed_checks),
        "GATE_WARNED_CHECKS": str(warned_checks),
        # Which rules, by test id (the names the JUnit report uses), for a later job's message.
        "GATE_FAILED_TESTS": _test_ids(verdict, Outcome.FAIL),
        "GATE_WARNED_TESTS": _test_ids(verdict, Outcome.WARN),
    }


def _test_ids(verdict: Verdict | NoVerdict, outcome: Outcome) -> str:
    """A JSON list of the test ids (a test id may hold any separator), whole: names that
    do not fit in the value are left out from the end and counted in a last entry."""
    names = (
        []
        if isinstance(verdict, NoVerdict)
        else [check.identity for check in verdict.checks if check.outcome is outcome]
    )
    shown = list(names)
    text = _json_list(shown)
    while len(text) > MAX_VALUE_CHARS:
        shown.pop()
        text = _json_list([*shown, f"... and {len(names) - len(shown)} more"])
    return text


def _json_list(names: list[str]) -> str:
    return json.dumps(names, ensure_ascii=False, separators=(",", ":"))


def _lines(values: dict[str, str]) -> str:
    return "".join(f"{key}={_value(value)}\n" for key, value in values.items())


def render_started(result_id: int, result_url: str) -> str:
    """The dotenv report written as soon as a run starts, before any verdict."""
    values = {
        "GATE_VERDICT": "pending",
        "CEKURA_RESULT_ID": str(result_id),
        "CEKURA_RESULT_URL": result_url,
    }
    return _lines(values)
