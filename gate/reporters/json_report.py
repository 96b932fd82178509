"""Machine-readable JSON report: the verdict, every check, the counts and the
failed runs. ``schema_version`` changes only when a field changes meaning."""

from __future__ import annotations

import json
from typing import Any

from gate.rules.checks import Check, WaiverState
from gate.rules.evaluate import Counts, NoVerdict, RunReport, Verdict

# 2: a check's id is its test id; its place in the policy is key. 3: "failure" (what a
# failed verdict blames), counts.infrastructure_runs, a check's "infrastructure" and a failed
# run's "infrastructure" (why it is infrastructure-failed, or null); with infrastructure-failed
# runs, counts.judged_runs, and counts' failed runs and success rate are those of the runs judged.
SCHEMA_VERSION = 3


def _check(check: Check) -> dict[str, Any]:
    return {
        "id": check.identity,
        "key": check.key,
        "family": check.family,
        "line": check.line,
        "title": check.title,
        "expected": check.expected,
        "actual": check.actual,
        "outcome": check.outcome.value,
        "reason": check.reason,
        "run_ids": list(check.run_ids),
        "baseline": check.baseline or None,
        "delta": check.delta or None,
        "waiver": check.waiver or None,
        "infrastructure": check.infrastructure,
    }


def _baseline(verdict: Verdict) -> dict[str, Any] | None:
    info = verdict.baseline
    if info is None:
        return None
    document: dict[str, Any] = {
        "id": info.result_id,
        "name": info.name,
        "source": info.source,
        "success_rate": info.success_rate,
        "total_runs": info.total_runs,
    }
    if info.infrastructure_runs:  # success_rate is then of the runs judged, as in counts
        document["infrastructure_runs"] = info.infrastructure_runs
        document["judged_runs"] = info.judged_runs
    return document


def _waiver(waiver: WaiverState) -> dict[str, Any]:
    return {
        "rule": waiver.path,
        "level": waiver.level.value,
        "until": waiver.until.isoformat() if waiver.until else None,
        "reason": waiver.reason,
        "state": "expired" if waiver.expired else "active",
        "days_left": waiver.days_left if not waiver.expired else None,
    }


def _counts(counts: Counts | None) -> dict[str, Any] | None:
    """The result's counts. With infrastructure-failed runs, the runs judged are counted
    apart (``judged_runs``, only then), and the successful and failed runs and the success
    rate are theirs, as the headline and the checks state them."""
    if counts is None:
        return None
    shown = counts.headline
    document: dict[str, Any] = {
        "total_runs": counts.total_runs,
        "successful_runs": shown.successful_runs,
        "failed_runs": shown.failed_runs,
        "success_rate": shown.success_rate,
        "met_expected_outcomes": counts.met_expected_outcomes,
        "total_expected_outcomes": counts.total_expected_outcomes,
        "infrastructure_runs": counts.infrastructure_runs,
    }
    if counts.infrastructure_runs:
        document["judged_runs"] = shown.total_runs
    return document


def _run(report: RunReport) -> dict[str, Any]:
    run = report.run
    return {
        "id": run.id,
        "scenario_id": run.scenario_id,
        "scenario": run.scenario_name,
        "status": run.status_text,
        "blamed": report.blamed,
        "infrastructure": run.infrastructure or None,
        "reasons": list(report.reasons),
    }


def _result(verdict: Verdict) -> dict[str, Any] | None:
    if verdict.result is None and verdict.result_id is None:
        return None
    result = verdict.result
    return {
        "id": verdict.result_id,
        "name": result.name if result else None,
        "status": result.status_text if result else None,
        "url": verdict.result_url,
        "share_url": verdict.share_url,
    }


def _unjudged_result(record: NoVerdict) -> dict[str, Any] | None:
    if record.result_id is None:
        return None
    return {
        "id": record.result_id,
        "name": None,
        "status": None,
        "url": record.result_url,
        "share_url": None,
    }


def _dump(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def render(verdict: Verdict | NoVerdict) -> str:
    """The JSON report of a verdict (or of why there is none), pretty-printed, ending in a
    newline. Both have the same keys, so that a reader never has to check which it got."""
    if isinstance(verdict, NoVerdict):
        return _dump(
            {
                "schema_version": SCHEMA_VERSION,
                "verdict": verdict.status.value,
                "failure": None,
                "error": verdict.error,
                "policy": verdict.policy_source,
                "policy_file": verdict.policy_file,
                "result": _unjudged_result(verdict),
                "baseline": None,
                "counts": _counts(None),
                "checks": [],
                "waivers": [],
                "waivers_as_of": None,
                "failed_runs": [],
                "notes": [],
            }
        )
    document = {
        "schema_version": SCHEMA_VERSION,
        "verdict": verdict.status.value,
        "failure": verdict.failure,
        "error": None,
        "policy": verdict.policy_source,
        "policy_file": verdict.policy_file,
        "result": _result(verdict),
        "baseline": _baseline(verdict),
        "counts": _counts(verdict.counts),
        "checks": [_check(check) for check in verdict.checks],
        "waivers": [_waiver(waiver) for waiver in verdict.waivers],
        "waivers_as_of": verdict.as_of.isoformat() if verdict.as_of and verdict.waivers else None,
        "failed_runs": [_run(report) for report in verdict.runs if report.failed],
        "notes": list(verdict.notes),
    }
    if verdict.reruns is not None:  # only from `run` with reruns asked for
        from gate.reporters import reruns

        document["reruns"] = reruns.json_document(verdict.reruns)
    return _dump(document)
