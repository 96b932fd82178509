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

import collections
import dataclasses
import datetime
import enum
import fnmatch
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from gate.policy import (
    Bounds,
    CriticalCategoriesRule,
    ExpectedOutcomesRule,
    Level,
    MetricRule,
    Policy,
    RunsRule,
    ScenarioRule,
    ScenariosRule,
    SuccessRateRule,
    Waiver,
    waiver_expired,
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
    baseline: str = ""  # the baseline's value, when the check compares with one
    delta: str = ""  # current minus baseline
    waiver: str = ""  # the rule's waiver, active or expired


@dataclass(frozen=True, slots=True)
class WaiverState:
    """A rule's waiver as of the verdict's date."""

    path: str
    until: datetime.date | None
    reason: str | None
    level: Level
    expired: bool
    days_left: int | None

    @property
    def text(self) -> str:
        why = f": {self.reason}" if self.reason else ""
        if self.until is None:
            return f"{self.level.value} by policy{why}"
        if self.expired:
            return f"waiver expired on {self.until.isoformat()}, so this is an error again{why}"
        left = "last day" if self.days_left == 0 else plural(self.days_left or 0, "day") + " left"
        return f"waived until {self.until.isoformat()} ({left}){why}"


@dataclass(frozen=True, slots=True)
class BaselineInfo:
    """The result the relative rules compared with."""

    result_id: int
    name: str
    source: str
    success_rate: float | None
    total_runs: int


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
    baseline: BaselineInfo | None = None
    waivers: tuple[WaiverState, ...] = ()

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


NO_BASELINE = "no baseline to compare with"


def signed(value: float, unit: str = "") -> str:
    """A delta with its sign: ``+2.5 pp``, ``-4%``, ``±0``."""
    if value == 0:
        return "\u00b10" + unit
    return ("+" if value > 0 else "-") + fmt(abs(value), unit)


def _compared(check: Check, current: float | None, base: float | None, unit: str) -> Check:
    """The check with the baseline's value and the delta filled in, when both are known."""
    if base is None:
        return check
    delta = signed(current - base, unit) if current is not None else ""
    shown_unit = "%" if unit == " pp" else unit
    return dataclasses.replace(check, baseline=fmt(base, shown_unit), delta=delta)


def check_success_rate(
    rule: SuccessRateRule, result: Result, counts: Counts, base: Counts | None = None
) -> list[Check]:
    rate = counts.success_rate
    base_rate = base.success_rate if base is not None else None
    no_rate = "the result has no runs, so it has no success rate"
    checks = []
    if rule.min is not None:
        reason = f"success rate {fmt(rate, '%')} is below {fmt(rule.min, '%')}"
        check = _check(
            "success_rate.min",
            "Success rate",
            rule.level,
            f">= {fmt(rule.min, '%')}",
            fmt(rate, "%"),
            rate is not None and rate >= rule.min,
            reason if rate is not None else no_rate,
            _failed_run_ids(result),
        )
        checks.append(_compared(check, rate, base_rate, " pp"))
    if rule.max_drop is not None:
        drop = base_rate - rate if rate is not None and base_rate is not None else None
        if rate is None:
            reason = no_rate
        elif base is None:
            reason = NO_BASELINE
        elif base_rate is None:
            reason = "the baseline has no success rate to compare with"
        else:
            reason = (
                f"success rate {fmt(rate, '%')} is {fmt(drop, ' pp')} below the baseline's "
                f"{fmt(base_rate, '%')}, more than {fmt(rule.max_drop, ' pp')}"
            )
        check = _check(
            "success_rate.max_drop",
            "Success rate vs baseline",
            rule.level,
            f"drop <= {fmt(rule.max_drop, ' pp')}",
            fmt(rate, "%"),
            drop is not None and drop <= rule.max_drop + 1e-9,
            reason,
            _failed_run_ids(result),
        )
        checks.append(_compared(check, rate, base_rate, " pp"))
    return checks


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


CategoryKey = tuple[str, object]  # ("id", 3295) or ("text", "rude tone")
Counted = tuple[int, str, str, CategoryKey]  # run id, priority, category, category key


def _counted_findings(rule: CriticalCategoriesRule, runs: Iterable[Run]) -> list[Counted]:
    """(run id, priority, category, category key) of every finding the rule counts."""
    ignored = {item.lower() for item in rule.ignore}
    counted: list[Counted] = []
    for run in runs:
        for finding in run.findings:
            if finding.wrongly_marked or finding.priority == NOT_A_FINDING:
                continue
            if finding.priority in ignored or finding.category.lower() in ignored:
                continue
            key = (
                ("id", finding.category_id)
                if finding.category_id is not None
                else ("text", finding.category.strip().lower())
            )
            counted.append((run.id, finding.priority, finding.category, key))
    return counted


def _counts_against(cap: str, priority: str) -> bool:
    return priority in PRIORITY_COUNTED_BY[cap] or priority not in KNOWN_PRIORITIES


RESULT_DETAILS_HINT = "give the runs-bulk details with --runs-file"
BASELINE_DETAILS_HINT = (
    "save the baseline with its run details: cekura-gate baseline save --result-file "
    "RESULT --runs-file RUNS"
)


def _unknown_findings(
    result: Result, counts: Counts, hint: str = RESULT_DETAILS_HINT
) -> str | None:
    """Why some runs' findings cannot be counted, or ``None`` when every run's can."""
    blind = [run.id for run in result.runs if not run.findings_known]
    if blind:
        shown = ", ".join(str(run_id) for run_id in blind[:5])
        more = f" and {len(blind) - 5} more" if len(blind) > 5 else ""
        subject = f"run {shown} carries" if len(blind) == 1 else f"runs {shown}{more} carry"
        return f"{subject} no critical_categories, so the findings are unknown ({hint})"
    if len(result.runs) < counts.total_runs:
        return (
            f"the result lists {len(result.runs)} of its {counts.total_runs} runs, so "
            "the findings of the others are unknown"
        )
    return None


def check_critical_categories(
    rule: CriticalCategoriesRule,
    result: Result,
    counts: Counts,
    baseline: Result | None = None,
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
    for cap in rule.no_new_categories:
        checks.append(_check_new_categories(rule, cap, result, findings, blind, baseline))
    return checks


def _check_new_categories(
    rule: CriticalCategoriesRule,
    cap: str,
    result: Result,
    findings: list[Counted],
    blind: str | None,
    baseline: Result | None,
) -> Check:
    hits = [item for item in findings if _counts_against(cap, item[1])]
    before: list[Counted] = []
    base_problem: str | None = NO_BASELINE
    if baseline is not None:
        base_blind = _unknown_findings(baseline, count_runs(baseline), BASELINE_DETAILS_HINT)
        base_problem = f"the baseline's findings are unknown: {base_blind}" if base_blind else None
        before = [
            item for item in _counted_findings(rule, baseline.runs) if _counts_against(cap, item[1])
        ]
    seen = _CategoriesBefore.of(before)
    new = [item for item in hits if not seen.has(item)]
    first_text = {item[3]: short(item[2]) for item in reversed(new)}
    categories = sorted(first_text.values(), key=str.lower)
    reason = (
        f"{_categories(len(categories), cap)} the baseline did not have: "
        + "; ".join(categories[:5])
        + (f" and {len(categories) - 5} more" if len(categories) > 5 else "")
    )
    problem = blind or base_problem
    if problem is not None:
        reason = f"{problem}; {reason}" if new else problem
    check = _check(
        f"critical_categories.no_new_categories.{cap}",
        f"New {cap} categories",
        rule.level,
        "none new vs baseline",
        str(len(categories)) if problem is None else f"{len(categories)} + unknown",
        not new and problem is None,
        reason,
        sorted({item[0] for item in new}),
    )
    if baseline is None:
        return check
    return dataclasses.replace(
        check,
        baseline=_categories(len({item[3] for item in before})),
        delta=f"+{len(categories)} new",
    )


@dataclass(frozen=True, slots=True)
class _CategoriesBefore:
    """The baseline's categories under one cap, for telling which are new.

    Categories compare by id where both sides have one (the text is written anew per run),
    and by text where either lacks it (legacy findings, older baselines)."""

    ids: frozenset[CategoryKey]
    texts: frozenset[str]
    texts_without_id: frozenset[str]

    @classmethod
    def of(cls, findings: list[Counted]) -> _CategoriesBefore:
        texts = {item[2].strip().lower() for item in findings}
        no_id = {item[2].strip().lower() for item in findings if item[3][0] != "id"}
        ids = {item[3] for item in findings if item[3][0] == "id"}
        return cls(frozenset(ids), frozenset(texts), frozenset(no_id))

    def has(self, finding: Counted) -> bool:
        text = finding[2].strip().lower()
        if finding[3][0] == "id":
            return finding[3] in self.ids or text in self.texts_without_id
        return text in self.texts


def _categories(count: int, priority: str = "") -> str:
    """``1 critical category``, ``2 categories``."""
    word = "category" if count == 1 else "categories"
    return f"{count} {priority + ' ' if priority else ''}{word}"


# --------------------------------------------------------------------------- metrics


def _matches(rule: MetricRule, metric_id: int | None, name: str) -> bool:
    if rule.id is not None and metric_id == rule.id:
        return True
    return rule.name is not None and name.strip().lower() == rule.name.lower()


def _first_match(rule: MetricRule, run: Run) -> MetricValue | None:
    for metric in run.metrics:
        if _matches(rule, metric.id, metric.name):
            return metric
    return None


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


def find_mean(rule: MetricRule, result: Result) -> tuple[float | None, str]:
    """The mean of the metric's scores over the runs (numeric and rating metrics)."""
    scores = _run_scores(rule, result.runs)
    if scores:
        return statistics.fmean(scores), f"mean of {plural(len(scores), 'run')}"
    return None, ""


def known_metric_names(result: Result) -> list[str]:
    names = {summary.name for summary in result.summary_metrics if summary.name}
    names.update(metric.name for run in result.runs for metric in run.metrics)
    return sorted(names, key=str.lower)


def _within(bounds: Bounds, value: float) -> bool:
    return (bounds.min is None or value >= bounds.min) and (
        bounds.max is None or value <= bounds.max
    )


def _describe_bounds(bounds: Bounds, unit: str = "") -> str:
    if bounds.min is not None and bounds.max is not None:
        return f"{fmt(bounds.min, unit)} to {fmt(bounds.max, unit)}"
    if bounds.min is not None:
        return f">= {fmt(bounds.min, unit)}"
    return f"<= {fmt(bounds.max, unit)}"


def _metric_kinds(rule: MetricRule, result: Result) -> set[MetricKind]:
    kinds = {
        metric.kind
        for run in result.runs
        for metric in run.metrics
        if _matches(rule, metric.id, metric.name)
    }
    kinds.update(s.kind for s in result.summary_metrics if _matches(rule, s.id, s.name))
    return kinds


_SCORED = frozenset({MetricKind.NUMERIC, MetricKind.QUALITATIVE, MetricKind.OTHER})


def _not_found(
    rule: MetricRule, result: Result, what: str, wanted: frozenset[MetricKind] = _SCORED
) -> str:
    kinds = _metric_kinds(rule, result)
    if kinds & wanted:
        return f"metric '{rule.label}' is in this result, but no run gives it a usable {what}"
    kinds -= {MetricKind.OTHER}
    if kinds:
        shown = ", ".join(sorted(kind.value for kind in kinds))
        return f"metric '{rule.label}' is {shown} in this result, so it has no {what}"
    names = ", ".join(known_metric_names(result)) or "none"
    return f"metric '{rule.label}' has no {what} in this result; metrics present: {names}"


_STATS = {"p50": find_p50, "mean": find_mean}


def _stat_checks(
    index: int, rule: MetricRule, stat: str, result: Result, baseline: Result | None
) -> list[Check]:
    bounds: Bounds = getattr(rule, stat)
    value, source = _STATS[stat](rule, result)
    base = _STATS[stat](rule, baseline)[0] if baseline is not None else None
    title = f"{rule.label} {stat}"
    checks = []
    if bounds.absolute:
        expected = _describe_bounds(bounds)
        check = _check(
            f"metrics[{index}].{stat}",
            title,
            rule.level,
            expected,
            fmt(value) if value is not None else "not found",
            value is not None and _within(bounds, value),
            f"{title} is {fmt(value)} ({source}), outside {expected}"
            if value is not None
            else _not_found(rule, result, stat),
        )
        checks.append(_compared(check, value, base, ""))
    for key, limit in (
        ("max_increase_percent", bounds.max_increase_percent),
        ("max_decrease_percent", bounds.max_decrease_percent),
    ):
        if limit is not None:
            checks.append(
                _relative_check(
                    f"metrics[{index}].{stat}.{key}",
                    title,
                    rule,
                    key,
                    limit,
                    (value, base),
                    result,
                    stat,
                    baseline is not None,
                )
            )
    return checks


def _change_percent(value: float, base: float) -> float | None:
    return None if base == 0 else 100.0 * (value - base) / abs(base)


def _relative_check(
    check_id: str,
    title: str,
    rule: MetricRule,
    key: str,
    limit: float,
    values: tuple[float | None, float | None],
    result: Result,
    stat: str,
    has_baseline: bool,
) -> Check:
    value, base = values
    rising = key == "max_increase_percent"
    word = "increase" if rising else "decrease"
    expected = f"{word} <= {fmt(limit, '%')} vs baseline"
    if value is None:
        reason, ok = _not_found(rule, result, stat), False
    elif not has_baseline:
        reason, ok = NO_BASELINE, False
    elif base is None:
        reason, ok = f"metric '{rule.label}' has no {stat} in the baseline to compare with", False
    else:
        change = _change_percent(value, base)
        moved = value - base if rising else base - value
        # From a zero baseline any move the wrong way is an unbounded change.
        ok = moved <= 0 if change is None else (change if rising else -change) <= limit + 1e-9
        shown = f"{signed(change, '%')}" if change is not None else f"{signed(value - base)} from 0"
        reason = (
            f"{title} is {fmt(value)}, {shown} against the baseline's {fmt(base)}; "
            f"the policy allows at most {fmt(limit, '%')} {word}"
        )
    actual = fmt(value) if value is not None else "not found"
    check = _check(check_id, f"{title} vs baseline", rule.level, expected, actual, ok, reason)
    if value is not None and base is not None:
        change = _change_percent(value, base)
        delta = signed(value - base) + (f" ({signed(change, '%')})" if change is not None else "")
        return dataclasses.replace(check, baseline=fmt(base), delta=delta)
    return dataclasses.replace(check, baseline=fmt(base) if base is not None else "")


def binary_tally(rule: MetricRule, runs: Iterable[Run]) -> tuple[int, int, tuple[int, ...]]:
    """(passed, evaluated, ids of failed runs) of a binary metric over the runs."""
    passed = evaluated = 0
    failed: list[int] = []
    for run in runs:
        metric = _first_match(rule, run)
        if metric is None or metric.kind is not MetricKind.BINARY or metric.passed is None:
            continue
        evaluated += 1
        if metric.passed:
            passed += 1
        else:
            failed.append(run.id)
    return passed, evaluated, tuple(failed)


def _pass_percent(rule: MetricRule, result: Result | None) -> float | None:
    if result is None:
        return None
    passed, evaluated, _ = binary_tally(rule, result.runs)
    return _percent(passed, evaluated) if evaluated else None


def _pass_percent_checks(
    index: int, rule: MetricRule, result: Result, baseline: Result | None
) -> list[Check]:
    assert rule.pass_percent is not None
    bounds = rule.pass_percent
    passed, evaluated, failed = binary_tally(rule, result.runs)
    value = _percent(passed, evaluated) if evaluated else None
    base = _pass_percent(rule, baseline)
    title = f"{rule.label} pass rate"
    actual = (
        f"{fmt(value, '%')} ({passed} of {plural(evaluated, 'run')})" if evaluated else "not found"
    )
    missing = _not_found(rule, result, "binary pass/fail", frozenset({MetricKind.BINARY}))
    checks = []
    if bounds.min is not None:
        check = _check(
            f"metrics[{index}].pass_percent",
            title,
            rule.level,
            f">= {fmt(bounds.min, '%')}",
            actual,
            value is not None and value >= bounds.min,
            f"{title} is {fmt(value, '%')} ({passed} of {plural(evaluated, 'run')} passed), "
            f"below {fmt(bounds.min, '%')}"
            if value is not None
            else missing,
            failed,
        )
        checks.append(_compared(check, value, base, " pp"))
    if bounds.max_drop is not None:
        drop = base - value if value is not None and base is not None else None
        if value is None:
            reason = missing
        elif baseline is None:
            reason = NO_BASELINE
        elif base is None:
            reason = f"metric '{rule.label}' has no binary results in the baseline to compare with"
        else:
            reason = (
                f"{title} is {fmt(value, '%')}, {fmt(drop, ' pp')} below the baseline's "
                f"{fmt(base, '%')}, more than {fmt(bounds.max_drop, ' pp')}"
            )
        check = _check(
            f"metrics[{index}].pass_percent.max_drop",
            f"{title} vs baseline",
            rule.level,
            f"drop <= {fmt(bounds.max_drop, ' pp')}",
            actual,
            drop is not None and drop <= bounds.max_drop + 1e-9,
            reason,
            failed,
        )
        checks.append(_compared(check, value, base, " pp"))
    return checks


def enum_tally(
    rule: MetricRule, runs: Iterable[Run], value: str
) -> tuple[int, int, tuple[int, ...]]:
    """(runs with ``value``, runs with any enum value, ids of the former)."""
    wanted = value.strip().lower()
    hits: list[int] = []
    evaluated = 0
    for run in runs:
        metric = _first_match(rule, run)
        if metric is None or metric.enum_value is None:
            continue
        evaluated += 1
        if metric.enum_value.strip().lower() == wanted:
            hits.append(run.id)
    return len(hits), evaluated, tuple(hits)


def _enum_check(index: int, rule: MetricRule, result: Result, baseline: Result | None) -> Check:
    assert rule.enum is not None
    share = rule.enum
    hits, evaluated, hit_ids = enum_tally(rule, result.runs, share.value)
    value = _percent(hits, evaluated) if evaluated else None
    base = None
    if baseline is not None:
        base_hits, base_total, _ = enum_tally(rule, baseline.runs, share.value)
        base = _percent(base_hits, base_total) if base_total else None
    title = f"{rule.label} = '{short(share.value, 60)}'"
    expected = _describe_bounds(Bounds(share.min_percent, share.max_percent), "%")
    ok = value is not None and _within(Bounds(share.min_percent, share.max_percent), value)
    reason = (
        f"{fmt(value, '%')} of runs ({hits} of {evaluated}) have {rule.label} = "
        f"'{short(share.value, 60)}', outside {expected}"
        if value is not None
        else _not_found(rule, result, "enum value", frozenset({MetricKind.ENUM}))
    )
    check = _check(
        f"metrics[{index}].enum",
        f"{title} share",
        rule.level,
        expected,
        f"{fmt(value, '%')} ({hits} of {plural(evaluated, 'run')})"
        if value is not None
        else "not found",
        ok,
        reason,
        hit_ids if share.max_percent is not None else (),
    )
    return _compared(check, value, base, " pp")


def check_metric(index: int, rule: MetricRule, result: Result) -> Check:
    """The p50 check of one metric rule (kept for callers that judge one bound)."""
    return metric_checks(index, rule, result, None)[0]


def metric_checks(
    index: int, rule: MetricRule, result: Result, baseline: Result | None
) -> list[Check]:
    checks: list[Check] = []
    for stat in ("p50", "mean"):
        if getattr(rule, stat) is not None:
            checks += _stat_checks(index, rule, stat, result, baseline)
    if rule.pass_percent is not None:
        checks += _pass_percent_checks(index, rule, result, baseline)
    if rule.enum is not None:
        checks.append(_enum_check(index, rule, result, baseline))
    return checks


# --------------------------------------------------------------------------- scenarios

ScenarioKey = tuple[str, object]


@dataclass(frozen=True, slots=True)
class ScenarioRuns:
    """The runs of one scenario in a result."""

    key: ScenarioKey
    scenario_id: int | None
    name: str
    runs: tuple[Run, ...]

    @property
    def passes(self) -> int:
        return sum(1 for run in self.runs if run.success is True)

    @property
    def failed_run_ids(self) -> tuple[int, ...]:
        return tuple(run.id for run in self.runs if run.success is not True)


def scenario_key(scenario_id: int | None, name: str) -> ScenarioKey:
    return ("id", scenario_id) if scenario_id is not None else ("name", name.strip().lower())


def group_by_scenario(runs: Iterable[Run]) -> list[ScenarioRuns]:
    groups: dict[ScenarioKey, list[Run]] = {}
    for run in runs:
        groups.setdefault(scenario_key(run.scenario_id, run.scenario_name), []).append(run)
    return [
        ScenarioRuns(key, members[0].scenario_id, members[0].scenario_name, tuple(members))
        for key, members in groups.items()
    ]


def scenario_matches(rule: ScenarioRule, scenario_id: int | None, name: str) -> bool:
    """By id, by name (case-insensitive), or by a glob with ``*`` or ``?``. A name is first
    compared as written, so brackets in 'Booking [EN]' are not read as a character class."""
    if isinstance(rule.match, int):
        return scenario_id == rule.match
    written, pattern = name.strip().lower(), rule.match.lower()
    if written == pattern:
        return True
    return is_glob(pattern) and fnmatch.fnmatchcase(written, pattern)


def is_glob(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern


def _needed(rule: ScenarioRule, group: ScenarioRuns) -> int:
    """The runs the scenario should have had: its runs, or ``frequency`` if more."""
    return max(len(group.runs), rule.frequency or 0)


def scenario_passed(rule: ScenarioRule | None, group: ScenarioRuns) -> bool:
    """Whether a scenario passed: by its k-of-n rule if it has one, else every run passed."""
    if rule is None or not rule.has_bound:
        return bool(group.runs) and group.passes == len(group.runs)
    needed = _needed(rule, group)
    ok = True
    if rule.min_passes is not None:
        ok = group.passes >= rule.min_passes
    if rule.min_pass_percent is not None:
        ok = ok and needed > 0 and _percent(group.passes, needed) >= rule.min_pass_percent
    return ok


def _scenario_bound_checks(
    index: int, rule: ScenarioRule, group: ScenarioRuns, name: str
) -> list[Check]:
    needed = _needed(rule, group)
    short_of = (
        f" ({len(group.runs)} of the {rule.frequency} runs expected are in the result)"
        if rule.frequency and len(group.runs) < rule.frequency
        else ""
    )
    checks = []
    if rule.min_passes is not None:
        checks.append(
            _check(
                f"scenarios[{index}].min_passes[{name}]",
                f"Scenario '{name}' passes",
                rule.level,
                f">= {rule.min_passes} of {needed}",
                f"{group.passes} of {needed}",
                group.passes >= rule.min_passes,
                f"scenario '{name}' passed {group.passes} of {needed} runs, "
                f"fewer than {rule.min_passes}{short_of}",
                group.failed_run_ids,
            )
        )
    if rule.min_pass_percent is not None:
        percent = _percent(group.passes, needed) if needed else 0.0
        checks.append(
            _check(
                f"scenarios[{index}].min_pass_percent[{name}]",
                f"Scenario '{name}' pass rate",
                rule.level,
                f">= {fmt(rule.min_pass_percent, '%')}",
                f"{fmt(percent, '%')} ({group.passes} of {needed})",
                percent >= rule.min_pass_percent,
                f"scenario '{name}' passed {fmt(percent, '%')} of its runs ({group.passes} of "
                f"{needed}), below {fmt(rule.min_pass_percent, '%')}{short_of}",
                group.failed_run_ids,
            )
        )
    return checks


def _scenario_names(groups: Sequence[ScenarioRuns]) -> str:
    names = sorted({short(group.name, 60) for group in groups}, key=str.lower)
    shown = ", ".join(names[:10])
    return (shown + (f" and {len(names) - 10} more" if len(names) > 10 else "")) or "none"


def scenario_rule_checks(
    index: int, rule: ScenarioRule, groups: Sequence[ScenarioRuns]
) -> list[Check]:
    matched = [group for group in groups if scenario_matches(rule, group.scenario_id, group.name)]
    label = matched[0].name if isinstance(rule.match, int) and matched else rule.label
    title = f"Scenario '{short(label, 120)}'"
    if not matched:
        return [
            _check(
                f"scenarios[{index}].required" if rule.required else f"scenarios[{index}]",
                f"{title} present" if rule.required else title,
                rule.level,
                "present" if rule.required else "judged when present",
                "not in this result",
                not rule.required,
                f"no run of a scenario matching '{short(rule.label, 120)}' is in this result; "
                f"scenarios present: {_scenario_names(groups)}",
            )
        ]
    checks = []
    if rule.required:
        runs = sum(len(group.runs) for group in matched)
        checks.append(
            _check(
                f"scenarios[{index}].required",
                f"{title} present",
                rule.level,
                "present",
                f"{plural(len(matched), 'scenario')}, {plural(runs, 'run')}",
                True,
                "",
            )
        )
    names = collections.Counter(short(group.name, 120) for group in matched)
    for group in matched:
        name = short(group.name, 120)
        if names[name] > 1 and group.scenario_id is not None:
            name = f"{name} (id {group.scenario_id})"  # keeps check ids unique
        checks += _scenario_bound_checks(index, rule, group, name)
    return checks


def _rule_for(rules: Sequence[ScenarioRule], group: ScenarioRuns) -> ScenarioRule | None:
    for rule in rules:
        if rule.has_bound and scenario_matches(rule, group.scenario_id, group.name):
            return rule
    return None


def check_no_new_failures(rule: ScenariosRule, result: Result, baseline: Result | None) -> Check:
    expected = "none (scenarios that passed on the baseline)"
    title = "New scenario failures"
    if baseline is None:
        return _check(
            "scenarios.no_new_failures", title, rule.level, expected, "n/a", False, NO_BASELINE
        )
    current = group_by_scenario(result.runs)
    before = {group.key: group for group in group_by_scenario(baseline.runs)}
    by_name = {("name", group.name.strip().lower()): group for group in before.values()}
    base_failing = sum(
        1 for group in before.values() if not scenario_passed(_rule_for(rule.each, group), group)
    )
    now_failing = [
        group for group in current if not scenario_passed(_rule_for(rule.each, group), group)
    ]
    new = []
    for group in now_failing:
        old = before.get(group.key) or by_name.get(("name", group.name.strip().lower()))
        if old is not None and scenario_passed(_rule_for(rule.each, old), old):
            new.append(group)
    check = _check(
        "scenarios.no_new_failures",
        title,
        rule.level,
        expected,
        f"{len(new)} new ({len(now_failing)} failing)",
        not new,
        f"{plural(len(new), 'scenario')} passed on the baseline and failed now: "
        + _scenario_names(new),
        [run_id for group in new for run_id in group.failed_run_ids],
    )
    return dataclasses.replace(
        check,
        baseline=f"{base_failing} failing",
        delta=f"{signed(len(now_failing) - base_failing)} failing",
    )


def check_scenarios(
    rule: ScenariosRule, result: Result, baseline: Result | None, today: datetime.date | None
) -> list[Check]:
    groups = group_by_scenario(result.runs)
    checks: list[Check] = []
    for index, each in enumerate(rule.each):
        effective, note, expired = _effective(each, today)
        checks += _annotated(scenario_rule_checks(index, effective, groups), note, expired)
    if rule.no_new_failures:
        effective_rule, note, expired = _effective(rule, today)
        checks += _annotated(
            [check_no_new_failures(effective_rule, result, baseline)], note, expired
        )
    return checks


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


_R = TypeVar("_R")


def waiver_state(waiver: Waiver, level: Level, today: datetime.date | None) -> WaiverState:
    """A waiver as of ``today``; without a date every dated waiver counts as expired."""
    if waiver.until is None:
        return WaiverState(waiver.path, None, waiver.reason, level, False, None)
    expired = waiver_expired(waiver, today)
    days_left = (waiver.until - today).days if today is not None else None
    return WaiverState(waiver.path, waiver.until, waiver.reason, level, expired, days_left)


def _effective(rule: _R, today: datetime.date | None) -> tuple[_R, str, bool]:
    """The rule with its level as of ``today``, the waiver's note, and whether it expired."""
    waiver: Waiver | None = getattr(rule, "waiver", None)
    level: Level = rule.level  # type: ignore[attr-defined]
    if waiver is None or level is Level.ERROR:
        return rule, "", False
    state = waiver_state(waiver, level, today)
    if state.expired:
        return dataclasses.replace(rule, level=Level.ERROR), state.text, True  # type: ignore[type-var]
    return rule, state.text, False


def _annotated(checks: list[Check], note: str, expired: bool) -> list[Check]:
    if not note:
        return checks
    annotated = []
    for check in checks:
        reason = check.reason
        if check.outcome is Outcome.WARN or (expired and check.outcome is Outcome.FAIL):
            reason = f"{reason} ({note})"
        annotated.append(dataclasses.replace(check, reason=reason, waiver=note))
    return annotated


def _rule_checks(
    policy: Policy,
    result: Result,
    counts: Counts,
    baseline: Result | None,
    today: datetime.date | None,
) -> list[Check]:
    rules = policy.rules
    base_counts = count_runs(baseline) if baseline is not None else None
    checks = [check_status(result, counts)]

    def add(rule: Any, judge: Any) -> None:
        effective, note, expired = _effective(rule, today)
        checks.extend(_annotated(judge(effective), note, expired))

    if rules.success_rate:
        add(rules.success_rate, lambda r: check_success_rate(r, result, counts, base_counts))
    if rules.expected_outcomes:
        add(rules.expected_outcomes, lambda r: check_expected_outcomes(r, result, counts))
    if rules.runs:
        add(rules.runs, lambda r: check_runs(r, result, counts))
    if rules.critical_categories:
        add(
            rules.critical_categories,
            lambda r: check_critical_categories(r, result, counts, baseline),
        )
    for index, metric in enumerate(rules.metrics):
        add(metric, lambda r, i=index: metric_checks(i, r, result, baseline))
    if rules.scenarios:
        checks.extend(check_scenarios(rules.scenarios, result, baseline, today))
    return checks


def _status(checks: Iterable[Check]) -> VerdictStatus:
    outcomes = {check.outcome for check in checks}
    if Outcome.FAIL in outcomes:
        return VerdictStatus.FAIL
    if Outcome.WARN in outcomes:
        return VerdictStatus.WARN
    return VerdictStatus.PASS


def _baseline_info(baseline: Result | None) -> BaselineInfo | None:
    if baseline is None:
        return None
    counts = count_runs(baseline)
    return BaselineInfo(
        baseline.id, baseline.name, f"result {baseline.id}", counts.success_rate, counts.total_runs
    )


def evaluate(
    policy: Policy,
    result: Result,
    *,
    baseline: Result | None = None,
    today: datetime.date | None = None,
) -> Verdict:
    """Judge a finished result against the policy.

    ``baseline`` is the result relative rules compare with (they fail without one);
    ``today`` decides which waivers have expired (without it, every dated one has).
    """
    counts = count_runs(result)
    checks = tuple(_rule_checks(policy, result, counts, baseline, today))
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
        baseline=_baseline_info(baseline),
        waivers=tuple(
            waiver_state(waiver, level, today) for waiver, level in policy.rules.waivers()
        ),
    )
