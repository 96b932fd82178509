"""The verdict: a pure function from a policy and a normalised result.

``evaluate(policy, result)`` yields one ``Check`` per bound in the policy
(expected, actual, outcome, one-line reason) plus a ``RunReport`` per run, and
folds them into a ``Verdict``. No I/O, no clock, no environment.

Fail-closed choices made here: a result that ended ``failed``/``timeout``/
``cancelled`` fails; no runs never passes a run count; a metric that cannot be
found fails its rule; a finding whose priority is missing or unknown counts
against every cap.
"""

from __future__ import annotations

import enum
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field

from gate.policy import (
    Bounds,
    CriticalCategoriesRule,
    ExpectedOutcomesRule,
    Level,
    MetricRule,
    Policy,
    RunsRule,
    SuccessRateRule,
)
from gate.results import MetricKind, MetricValue, Result, Run, Status


class Outcome(enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    SKIP = "skip"


class VerdictStatus(enum.Enum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Check:
    """The judgement of one bound of one rule."""

    id: str
    title: str
    expected: str
    actual: str
    outcome: Outcome
    reason: str
    run_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class RunReport:
    """One run and why it failed; ``blamed`` when a failing error-level rule counts it."""

    run: Run
    failed: bool
    reasons: tuple[str, ...]
    blamed: bool = False


@dataclass(frozen=True, slots=True)
class Counts:
    total_runs: int
    successful_runs: int
    failed_runs: int
    success_rate: float | None
    met_expected_outcomes: int | None
    total_expected_outcomes: int | None


@dataclass(frozen=True, slots=True)
class Verdict:
    """Everything a reporter needs. ``status`` ERROR means no verdict: see ``error``."""

    status: VerdictStatus
    policy_source: str
    checks: tuple[Check, ...] = ()
    runs: tuple[RunReport, ...] = ()
    result: Result | None = None
    counts: Counts | None = None
    result_id: int | None = None
    result_url: str | None = None
    share_url: str | None = None
    error: str | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def failed_checks(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if check.outcome is Outcome.FAIL)

    @property
    def warned_checks(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if check.outcome is Outcome.WARN)


def no_verdict(
    message: str,
    *,
    policy_source: str,
    result: Result | None = None,
    result_id: int | None = None,
    result_url: str | None = None,
) -> Verdict:
    """A verdict that records why none could be reached (exit 2 or 3)."""
    return Verdict(
        status=VerdictStatus.ERROR,
        policy_source=policy_source,
        result=result,
        result_id=result_id if result_id is not None else (result.id if result else None),
        result_url=result_url,
        error=message,
    )


# --------------------------------------------------------------------------- formatting


def fmt(value: float | None, unit: str = "") -> str:
    if value is None:
        return "n/a"
    text = str(int(value)) if float(value).is_integer() else f"{value:.2f}".rstrip("0").rstrip(".")
    return text + unit


def short(text: str, limit: int = 200) -> str:
    """One line of at most ``limit`` characters: payload text can be huge."""
    flat = " ".join(text[: limit * 4].split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "\u2026"


def plural(count: int, word: str) -> str:
    """``1 run``, ``2 runs``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _percent(part: int, whole: int) -> float:
    return 100.0 * (part / whole)  # divide first: 100 * a huge count would overflow


def _judge(ok: bool, level: Level) -> Outcome:
    if ok:
        return Outcome.PASS
    return Outcome.FAIL if level is Level.ERROR else Outcome.WARN


def _check(
    check_id: str,
    title: str,
    level: Level,
    expected: str,
    actual: str,
    ok: bool,
    reason: str,
    run_ids: Iterable[int] = (),
) -> Check:
    if level is Level.OFF:
        return Check(
            check_id, title, expected, actual, Outcome.SKIP, "rule is off in the policy", ()
        )
    outcome = _judge(ok, level)
    text = reason if not ok else f"{title}: {actual} meets {expected}"
    return Check(check_id, title, expected, actual, outcome, text, tuple(run_ids))


# --------------------------------------------------------------------------- counts


def count_runs(result: Result) -> Counts:
    """Totals from the runs when present, else from the result's counters.

    ``failed_runs_count`` leaves errored runs out, so failures are total − successful;
    runs the counters announce but the payload lacks are counted as not successful.
    """
    total = max(result.total_runs or 0, len(result.runs))
    if result.runs:
        successful = sum(1 for run in result.runs if run.success is True)
    else:
        successful = min(result.success_runs or 0, total)
    met, expected_total = _expected_outcome_counts(result)
    return Counts(
        total_runs=total,
        successful_runs=successful,
        failed_runs=total - successful,
        success_rate=_success_rate(result, successful, total),
        met_expected_outcomes=met,
        total_expected_outcomes=expected_total,
    )


def _success_rate(result: Result, successful: int, total: int) -> float | None:
    rate = result.success_rate
    if rate is None:
        return _percent(successful, total) if total else None
    if 0 < rate <= 1 and total:
        from_runs = _percent(successful, total)
        if abs(rate * 100 - from_runs) < abs(rate - from_runs):
            return rate * 100
    return rate


def _expected_outcome_counts(result: Result) -> tuple[int | None, int | None]:
    if result.total_expected_outcomes is not None:
        met = result.met_expected_outcomes or 0
        return min(met, result.total_expected_outcomes), result.total_expected_outcomes
    scored = [
        run.expected_outcome_score for run in result.runs if run.expected_outcome_score is not None
    ]
    if not scored:
        return None, None
    return sum(1 for score in scored if score >= 100), len(scored)


# --------------------------------------------------------------------------- rules


def _failed_run_ids(result: Result) -> tuple[int, ...]:
    return tuple(run.id for run in result.runs if run.success is not True)


def check_status(result: Result, counts: Counts) -> Check:
    """Always on: a result must have completed, and with at least one run."""
    completed = result.status is Status.COMPLETED
    ok = completed and counts.total_runs > 0
    if not completed:
        reason = f"the result ended with status '{result.status_text}'"
    else:
        reason = "the result completed with no runs; no data is never a pass"
    actual = f"{result.status_text}, {plural(counts.total_runs, 'run')}"
    return _check(
        "result.status",
        "Result status",
        Level.ERROR,
        "completed, >= 1 run",
        actual,
        ok,
        reason,
        _failed_run_ids(result) if not ok else (),
    )


def check_success_rate(rule: SuccessRateRule, result: Result, counts: Counts) -> Check:
    rate = counts.success_rate
    ok = rate is not None and rate >= rule.min
    expected = f">= {fmt(rule.min, '%')}"
    reason = (
        f"success rate {fmt(rate, '%')} is below {fmt(rule.min, '%')}"
        if rate is not None
        else "the result has no runs, so it has no success rate"
    )
    return _check(
        "success_rate.min",
        "Success rate",
        rule.level,
        expected,
        fmt(rate, "%"),
        ok,
        reason,
        _failed_run_ids(result),
    )


def check_expected_outcomes(
    rule: ExpectedOutcomesRule, result: Result, counts: Counts
) -> list[Check]:
    met, total = counts.met_expected_outcomes, counts.total_expected_outcomes
    unmet_runs = tuple(
        run.id
        for run in result.runs
        if run.expected_outcome_score is not None and run.expected_outcome_score < 100
    )
    none_reason = "the result has no evaluated expected outcomes (total is 0)"
    checks = []
    if rule.min_met_percent is not None:
        percent = _percent(met or 0, total) if total else None
        reason = (
            (
                f"{fmt(percent, '%')} of expected outcomes met ({met} of {total}), "
                f"below {fmt(rule.min_met_percent, '%')}"
            )
            if total
            else none_reason
        )
        checks.append(
            _check(
                "expected_outcomes.min_met_percent",
                "Expected outcomes met",
                rule.level,
                f">= {fmt(rule.min_met_percent, '%')}",
                f"{fmt(percent, '%')} ({met} of {total})" if total else "n/a (0 of 0)",
                percent is not None and percent >= rule.min_met_percent,
                reason,
                unmet_runs,
            )
        )
    if rule.max_unmet is not None:
        unmet = (total - (met or 0)) if total else None
        reason = (
            f"{plural(unmet, 'expected outcome')} not met, more than {rule.max_unmet}"
            if unmet is not None
            else none_reason
        )
        checks.append(
            _check(
                "expected_outcomes.max_unmet",
                "Unmet expected outcomes",
                rule.level,
                f"<= {rule.max_unmet}",
                str(unmet) if unmet is not None else "n/a (0 of 0)",
                unmet is not None and unmet <= rule.max_unmet,
                reason,
                unmet_runs,
            )
        )
    return checks


def check_runs(rule: RunsRule, result: Result, counts: Counts) -> list[Check]:
    checks = []
    if rule.min_total is not None:
        checks.append(
            _check(
                "runs.min_total",
                "Total runs",
                rule.level,
                f">= {rule.min_total}",
                str(counts.total_runs),
                counts.total_runs >= rule.min_total,
                f"the result has {plural(counts.total_runs, 'run')}, fewer than {rule.min_total}",
            )
        )
    if rule.max_failed is not None:
        ok = counts.failed_runs <= rule.max_failed and counts.total_runs > 0
        reason = (
            (
                f"{counts.failed_runs} of {counts.total_runs} runs failed, "
                f"more than {rule.max_failed}"
            )
            if counts.total_runs
            else "the result has no runs; no data is never a pass"
        )
        checks.append(
            _check(
                "runs.max_failed",
                "Failed runs",
                rule.level,
                f"<= {rule.max_failed}",
                f"{counts.failed_runs} of {counts.total_runs}",
                ok,
                reason,
                _failed_run_ids(result),
            )
        )
    return checks


# --------------------------------------------------------------------------- critical categories

# Which reported priorities each policy key counts. The two vocabularies map onto
# each other (critical = high; non-critical = medium or low), so a policy in either
# vocabulary counts findings reported in the other.
PRIORITY_COUNTED_BY = {
    "critical": frozenset({"critical", "high"}),
    "high": frozenset({"high", "critical"}),
    "non-critical": frozenset({"non-critical", "medium", "low"}),
    "medium": frozenset({"medium", "non-critical"}),
    "low": frozenset({"low"}),
}
KNOWN_PRIORITIES = frozenset({"critical", "non-critical", "high", "medium", "low", "not_a_bug"})
NOT_A_FINDING = "not_a_bug"


def _counted_findings(
    rule: CriticalCategoriesRule, runs: Iterable[Run]
) -> list[tuple[int, str, str]]:
    ignored = {item.lower() for item in rule.ignore}
    counted = []
    for run in runs:
        for finding in run.findings:
            if finding.wrongly_marked or finding.priority == NOT_A_FINDING:
                continue
            if finding.priority in ignored or finding.category.lower() in ignored:
                continue
            counted.append((run.id, finding.priority, finding.category))
    return counted


def _counts_against(cap: str, priority: str) -> bool:
    return priority in PRIORITY_COUNTED_BY[cap] or priority not in KNOWN_PRIORITIES


def _unknown_findings(result: Result, counts: Counts) -> str | None:
    """Why some runs' findings cannot be counted, or ``None`` when every run's can."""
    blind = [run.id for run in result.runs if not run.findings_known]
    if blind:
        shown = ", ".join(str(run_id) for run_id in blind[:5])
        more = f" and {len(blind) - 5} more" if len(blind) > 5 else ""
        subject = f"run {shown} carries" if len(blind) == 1 else f"runs {shown}{more} carry"
        return (
            f"{subject} no critical_categories, so the findings are unknown (give the "
            "runs-bulk details with --runs-file)"
        )
    if len(result.runs) < counts.total_runs:
        return (
            f"the result lists {len(result.runs)} of its {counts.total_runs} runs, so "
            "the findings of the others are unknown"
        )
    return None


def check_critical_categories(
    rule: CriticalCategoriesRule, result: Result, counts: Counts
) -> list[Check]:
    findings = _counted_findings(rule, result.runs)
    blind = _unknown_findings(result, counts)
    checks = []
    for cap, limit in rule.max:
        hits = [item for item in findings if _counts_against(cap, item[1])]
        unknown = sorted({item[1] or "(none)" for item in hits if item[1] not in KNOWN_PRIORITIES})
        note = f" (includes findings with unknown priority {', '.join(unknown)})" if unknown else ""
        worst = sorted({short(item[2]) for item in hits})[:3]
        reason = f"{plural(len(hits), cap + ' finding')}, more than {limit}{note}: " + "; ".join(
            worst
        )
        checks.append(
            _check(
                f"critical_categories.max.{cap}",
                f"Critical categories: {cap}",
                rule.level,
                f"<= {limit}",
                str(len(hits)) if blind is None else f"{len(hits)} + unknown",
                len(hits) <= limit and blind is None,
                reason if len(hits) > limit or blind is None else blind,
                sorted({item[0] for item in hits}),
            )
        )
    return checks


# --------------------------------------------------------------------------- metrics


def _matches(rule: MetricRule, metric_id: int | None, name: str) -> bool:
    if rule.id is not None and metric_id == rule.id:
        return True
    return rule.name is not None and name.strip().lower() == rule.name.lower()


def _run_scores(rule: MetricRule, runs: Iterable[Run]) -> list[float]:
    scores = []
    for run in runs:
        for metric in run.metrics:
            if (
                _matches(rule, metric.id, metric.name)
                and metric.score is not None
                and metric.kind not in (MetricKind.BINARY, MetricKind.ENUM)
            ):
                scores.append(metric.score)
    return scores


def find_p50(rule: MetricRule, result: Result) -> tuple[float | None, str]:
    """The metric's p50 and where it came from; ``(None, '')`` when nowhere."""
    for summary in result.summary_metrics:
        if summary.p50 is not None and _matches(rule, summary.id, summary.name):
            return summary.p50, summary.source
    scores = _run_scores(rule, result.runs)
    if scores:
        return statistics.median(scores), f"median of {plural(len(scores), 'run')}"
    return None, ""


def known_metric_names(result: Result) -> list[str]:
    names = {summary.name for summary in result.summary_metrics if summary.name}
    names.update(metric.name for run in result.runs for metric in run.metrics)
    return sorted(names, key=str.lower)


def _within(bounds: Bounds, value: float) -> bool:
    return (bounds.min is None or value >= bounds.min) and (
        bounds.max is None or value <= bounds.max
    )


def _describe_bounds(bounds: Bounds) -> str:
    if bounds.min is not None and bounds.max is not None:
        return f"{fmt(bounds.min)} to {fmt(bounds.max)}"
    if bounds.min is not None:
        return f">= {fmt(bounds.min)}"
    return f"<= {fmt(bounds.max)}"


def check_metric(index: int, rule: MetricRule, result: Result) -> Check:
    value, source = find_p50(rule, result)
    expected = _describe_bounds(rule.p50)
    title = f"{rule.label} p50"
    if value is None:
        names = ", ".join(known_metric_names(result)) or "none"
        reason = f"metric '{rule.label}' has no p50 in this result; metrics present: {names}"
        return _check(
            f"metrics[{index}].p50", title, rule.level, expected, "not found", False, reason
        )
    reason = f"{title} is {fmt(value)} ({source}), outside {expected}"
    return _check(
        f"metrics[{index}].p50",
        title,
        rule.level,
        expected,
        fmt(value),
        _within(rule.p50, value),
        reason,
    )


# --------------------------------------------------------------------------- runs


def _first_line(text: str) -> str:
    return text.split("\n", 1)[0]


def _binary_failures(metrics: Iterable[MetricValue]) -> list[str]:
    failures = []
    for metric in metrics:
        if metric.kind is MetricKind.BINARY and metric.passed is False:
            detail = (
                f": {short(_first_line(metric.explanation), 300)}" if metric.explanation else ""
            )
            failures.append(f"metric '{short(metric.name, 100)}' failed{detail}")
    return failures


def run_reasons(run: Run) -> tuple[str, ...]:
    """Why a run failed, in the order a reader wants it."""
    reasons: list[str] = []
    error = short(run.error_message, 500)
    if run.status is not Status.COMPLETED:
        reasons.append(error or f"run ended {short(run.status_text, 40)}")
    elif error:
        reasons.append(f"error: {error}")
    if run.expected_outcome_score is not None and run.expected_outcome_score < 100:
        first = short(_first_line(run.expected_outcome_explanation), 300)
        reasons.append(
            f"expected outcome not met (score {fmt(run.expected_outcome_score)})"
            + (f": {first}" if first else "")
        )
    if run.success is not True:  # a passing run's metrics are not read at all
        reasons.extend(_binary_failures(run.metrics))
    for finding in run.findings:
        if not finding.wrongly_marked and finding.priority != NOT_A_FINDING:
            reasons.append(
                f"critical category [{short(finding.priority or 'no priority', 40)}]: "
                f"{short(finding.category)}"
            )
    if run.success is not True and not reasons:
        reasons.append(
            "run did not pass its checks" if run.success is False else "run has no success verdict"
        )
    return tuple(reasons)


def _run_reports(result: Result, blamed: frozenset[int]) -> tuple[RunReport, ...]:
    return tuple(
        RunReport(run, run.success is not True, run_reasons(run), run.id in blamed)
        for run in result.runs
    )


# --------------------------------------------------------------------------- verdict


def _rule_checks(policy: Policy, result: Result, counts: Counts) -> list[Check]:
    rules = policy.rules
    checks = [check_status(result, counts)]
    if rules.success_rate:
        checks.append(check_success_rate(rules.success_rate, result, counts))
    if rules.expected_outcomes:
        checks.extend(check_expected_outcomes(rules.expected_outcomes, result, counts))
    if rules.runs:
        checks.extend(check_runs(rules.runs, result, counts))
    if rules.critical_categories:
        checks.extend(check_critical_categories(rules.critical_categories, result, counts))
    checks.extend(check_metric(index, rule, result) for index, rule in enumerate(rules.metrics))
    return checks


def _status(checks: Iterable[Check]) -> VerdictStatus:
    outcomes = {check.outcome for check in checks}
    if Outcome.FAIL in outcomes:
        return VerdictStatus.FAIL
    if Outcome.WARN in outcomes:
        return VerdictStatus.WARN
    return VerdictStatus.PASS


def evaluate(policy: Policy, result: Result) -> Verdict:
    """Judge a finished result against the policy."""
    counts = count_runs(result)
    checks = tuple(_rule_checks(policy, result, counts))
    blamed = frozenset(
        run_id for check in checks if check.outcome is Outcome.FAIL for run_id in check.run_ids
    )
    return Verdict(
        status=_status(checks),
        policy_source=policy.source,
        checks=checks,
        runs=_run_reports(result, blamed),
        result=result,
        counts=counts,
        result_id=result.id,
        notes=result.notes,
    )
