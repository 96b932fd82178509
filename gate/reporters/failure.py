"""What a failure blames, and which runs infrastructure failed, as every report says it.

A failed verdict blames the agent (a rule failed on runs that were judged), the
infrastructure alone (calls that never connected, provider errors: exit 4), or both (exit 1).

The headline's run figures (``runs_text``, ``rate_text``) are those of the runs judged, with
the infrastructure-failed runs counted apart, so that they agree with the checks.
"""

from __future__ import annotations

from gate.rules.checks import fmt, plural
from gate.rules.evaluate import BaselineInfo, Counts, Verdict

FAILURE_TEXT = {
    "agent": "the agent (a rule failed on runs that were judged)",
    "infrastructure": (
        "infrastructure only (calls that never connected or provider errors; the agent was "
        "not judged on them)"
    ),
    "both": (
        "the agent and infrastructure (a rule failed on runs that were judged, and calls "
        "never connected or hit provider errors)"
    ),
}


def failure_text(verdict: Verdict) -> str:
    """``infrastructure only (…)``; ``""`` when the verdict did not fail."""
    return FAILURE_TEXT.get(verdict.failure, "")


def infrastructure_text(verdict: Verdict) -> str:
    """``2 of 10 runs infrastructure-failed …``; ``""`` when none was."""
    counts = verdict.counts
    if counts is None or not counts.infrastructure_runs:
        return ""
    return (
        f"{counts.infrastructure_runs} of {plural(counts.total_runs, 'run')} "
        "infrastructure-failed (never connected, or a provider error); the rules leave them "
        "out unless they say infrastructure: count"
    )


def runs_text(counts: Counts) -> str:
    """``3 runs, 1 failed``; when some run was infrastructure-failed, the runs judged and
    those apart, and the failures of the runs judged:
    ``3 runs: 2 judged, 1 infrastructure-failed; 0 failed``."""
    shown = counts.headline
    if not counts.infrastructure_runs:
        return f"{plural(counts.total_runs, 'run')}, {shown.failed_runs} failed"
    text = _runs(counts.total_runs, shown.total_runs, counts.infrastructure_runs)
    return f"{text}; {shown.failed_runs} failed" if shown.total_runs else text


def rate_text(counts: Counts) -> str:
    """``success rate 66.67%``; when some run was infrastructure-failed, the success rate of
    the runs judged: ``success rate 100% of those judged`` (``success rate n/a (no run
    judged)`` when none was)."""
    shown = counts.headline
    return _rate(shown.success_rate, shown.total_runs, counts.infrastructure_runs)


def baseline_text(info: BaselineInfo) -> str:
    """The baseline's runs and success rate as the headline says the result's: ``20 runs,
    success rate 95%``; ``3 runs: 2 judged, 1 infrastructure-failed, success rate 100% of
    those judged`` when some of its runs were infrastructure-failed."""
    judged, left_out = info.judged_runs, info.infrastructure_runs
    runs = _runs(info.total_runs, judged, left_out)
    return f"{runs}, {_rate(info.success_rate, judged, left_out)}"


def _runs(total: int, judged: int, left_out: int) -> str:
    """``3 runs: 2 judged, 1 infrastructure-failed``; ``3 runs`` when none was left out."""
    text = plural(total, "run")
    return f"{text}: {judged} judged, {left_out} infrastructure-failed" if left_out else text


def _rate(rate: float | None, judged: int, left_out: int) -> str:
    """``success rate 100%``, saying it is of the runs judged when some were left out."""
    text = f"success rate {fmt(rate, '%')}"
    if not left_out:
        return text
    return f"{text} of those judged" if judged else f"{text} (no run judged)"
