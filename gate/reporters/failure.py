"""What a failure blames, and which runs infrastructure failed, as every report says it.

A failed verdict blames the agent (a rule failed on runs that were judged), the
infrastructure alone (calls that never connected, provider errors: exit 4), or both (exit 1).
"""

from __future__ import annotations

from gate.rules.checks import plural
from gate.rules.evaluate import Verdict

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
