"""The verdict: a pure function from a policy, a normalised result, and optionally a
baseline result and the day waivers are judged on.

``evaluate(policy, result, baseline=..., today=...)`` yields one ``Check`` per bound in the
policy (expected, actual, outcome, one-line reason; baseline and delta for relative rules)
plus a ``RunReport`` per run, and folds them into a ``Verdict``. This module owns the
verdict (and ``NoVerdict``, the record of why none could be reached), the run counts and
the result-level rules; metric, scenario and critical-category rules live in
``gate.rules.metrics``, ``gate.rules.scenarios`` and ``gate.rules.categories``, formatting
helpers (``fmt``, ``plural``, ``short``) in ``gate.rules.checks``.
No I/O, no clock, no environment.

Fail-closed choices made here: a result that ended ``failed``/``timeout``/
``cancelled`` fails; no runs never passes a run count; a relative rule without a baseline
fails; a waiver whose date has passed (or that is judged without a date) has expired.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from gate import dataclasses
from gate.dataclasses import dataclass, field
from gate.policy.model import (
    DEFAULT_INFRASTRUCTURE,
    ExpectedOutcomesRule,
    InfrastructureRuns,
    Level,
    Policy,
    RunsRule,
    SuccessRateRule,
)
from gate.results.model import MetricKind, MetricValue, Result, Run, Status
from gate.rules.categories import check_critical_categories, is_finding
from gate.rules.checks import (
    Check,
    Outcome,
    WaiverState,
    annotated,
    compared,
    drop_check,
    effective_rule,
    fmt,
    identify,
    make_check,
    of_rule,
    percent,
    plural,
    short,
    waiver_state,
)
from gate.rules.infrastructure import (
    check_infrastructure,
    check_judged,
    infrastructure_ids,
    judged_result,
    with_causes,
)
from gate.rules.metrics import RunMetrics, metric_checks
from gate.rules.scenarios import check_scenarios

if TYPE_CHECKING:  # only `run` with reruns makes one: not on the offline start-up path
    from gate.results.attempts import RerunLog

# Check, Outcome and WaiverState are part of a verdict, so they are offered with it.
__all__ = [
    "BaselineInfo",
    "Check",
    "Counts",
    "FailureKind",
    "NoVerdict",
    "Outcome",
    "RunReport",
    "Verdict",
    "VerdictStatus",
    "WaiverState",
    "count_runs",
    "evaluate",
    "no_verdict",
    "run_reasons",
]


class VerdictStatus(enum.Enum):
    """A ``Verdict`` passes, warns or fails; ``ERROR`` is the status of a ``NoVerdict``."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"


class FailureKind(enum.Enum):
    """What a failed verdict's failing checks blame: the agent, or the infrastructure (calls
    that never connected, provider errors). A verdict can have both."""

    AGENT = "agent"
    INFRASTRUCTURE = "infrastructure"


@dataclass(frozen=True, slots=True)
class BaselineInfo:
    """The result the relative rules compared with."""

    result_id: int
    name: str
    source: str
    success_rate: float | None  # of the runs judged, as the relative rules compare it
    total_runs: int
    infrastructure_runs: int = 0  # the baseline's runs that the judged ones leave out

    @property
    def judged_runs(self) -> int:
        return self.total_runs - self.infrastructure_runs


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
    infrastructure_runs: int = 0  # of the result's runs; the rules leave them out by default
    left_out: int = 0  # infrastructure-failed runs these counts leave out (a rule's view)
    # A result's counts without its infrastructure-failed runs, when it has any (``evaluate``).
    judged: Counts | None = None

    @property
    def headline(self) -> Counts:
        """The counts every report's headline states: those of the runs judged (``judged``,
        whose ``total_runs`` is the runs judged) when some run was infrastructure-failed, so
        that the headline agrees with the checks; else these."""
        return self.judged or self


@dataclass(frozen=True, slots=True)
class Verdict:
    """A judged result: everything a reporter needs. ``status`` is PASS, WARN or FAIL."""

    status: VerdictStatus
    policy_source: str
    checks: tuple[Check, ...] = ()
    runs: tuple[RunReport, ...] = ()
    result: Result | None = None
    counts: Counts | None = None
    result_id: int | None = None
    result_url: str | None = None
    share_url: str | None = None
    notes: tuple[str, ...] = field(default=())
    baseline: BaselineInfo | None = None
    waivers: tuple[WaiverState, ...] = ()
    as_of: datetime.date | None = None  # the day the waivers were judged on
    policy_file: str | None = None  # the policy's path in the repository, for file/line
    reruns: RerunLog | None = None  # the results and attempts of `run`'s reruns, if any

    @property
    def failed_checks(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if check.outcome is Outcome.FAIL)

    @property
    def warned_checks(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if check.outcome is Outcome.WARN)

    @property
    def failure_kinds(self) -> tuple[FailureKind, ...]:
        """What the failing checks blame, agent first; empty unless the verdict failed."""
        blamed = {check.infrastructure for check in self.failed_checks}
        kinds = ((False, FailureKind.AGENT), (True, FailureKind.INFRASTRUCTURE))
        return tuple(kind for infrastructure, kind in kinds if infrastructure in blamed)

    @property
    def failure(self) -> str:
        """The kind of failure as one word: ``agent``, ``infrastructure``, ``both``, or
        ``none`` for a verdict that did not fail."""
        kinds = self.failure_kinds
        if not kinds:
            return "none"
        return kinds[0].value if len(kinds) == 1 else "both"

    @property
    def infrastructure_only(self) -> bool:
        """A failure of the infrastructure alone (its own exit code)."""
        return self.failure_kinds == (FailureKind.INFRASTRUCTURE,)


@dataclass(frozen=True, slots=True)
class NoVerdict:
    """Why no verdict could be reached (exit 2, 3, 130 or 143), and the result if known."""

    error: str
    policy_source: str
    result_id: int | None = None
    result_url: str | None = None
    policy_file: str | None = None  # the policy's path in the repository, when known

    @property
    def status(self) -> VerdictStatus:
        return VerdictStatus.ERROR


def no_verdict(
    message: str,
    *,
    policy_source: str,
    result_id: int | None = None,
    result_url: str | None = None,
    policy_file: str | None = None,
) -> NoVerdict:
    """The record of why no verdict could be reached."""
    return NoVerdict(message, policy_source, result_id, result_url, policy_file)


# --------------------------------------------------------------------------- counts


def count_runs(result: Result) -> Counts:
    """Totals from the runs when present, else from the result's counters.

    ``failed_runs_count`` leaves errored runs out, so failures are total − successful;
    runs the counters announce but the payload lacks are counted as not successful.
    """
    total = result.run_total
    if result.runs:
        successful = sum(1 for run in result.runs if run.passed)
    else:
        successful = min(result.success_runs or 0, total)
    met, expected_total = _expected_outcome_counts(result)
    # Cekura's rate counts a run that passed with an error message as a pass; it is not one.
    false_passes = any(run.success is True and not run.passed for run in result.runs)
    return Counts(
        total_runs=total,
        successful_runs=successful,
        failed_runs=total - successful,
        success_rate=_success_rate(result, successful, total, ignore_cekuras=false_passes),
        met_expected_outcomes=met,
        total_expected_outcomes=expected_total,
        infrastructure_runs=len(infrastructure_ids(result)),
    )


def _success_rate(
    result: Result, successful: int, total: int, *, ignore_cekuras: bool = False
) -> float | None:
    rate = None if ignore_cekuras else result.success_rate
    if rate is None:
        return percent(successful, total) if total else None
    if 0 < rate <= 1 and total:
        from_runs = percent(successful, total)
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
    return tuple(run.id for run in result.runs if not run.passed)


def _left_out(counts: Counts) -> str:
    """What a check's actual value adds when its counts leave runs out."""
    if not counts.left_out:
        return ""
    return f" ({plural(counts.left_out, 'infrastructure-failed run')} left out)"


def check_status(result: Result, counts: Counts) -> Check:
    """Always on: a result must have completed, and with at least one run."""
    completed = result.status is Status.COMPLETED
    ok = completed and counts.total_runs > 0
    if not completed:
        reason = f"the result ended with status '{result.status_text}'"
    else:
        reason = "the result completed with no runs; no data is never a pass"
    actual = f"{result.status_text}, {plural(counts.total_runs, 'run')}"
    return make_check(
        "result.status",
        "Result status",
        Level.ERROR,
        "completed, >= 1 run",
        actual,
        ok,
        reason,
        _failed_run_ids(result) if not ok else (),
    )


def check_success_rate(
    rule: SuccessRateRule, result: Result, counts: Counts, base: Counts | None = None
) -> list[Check]:
    rate = counts.success_rate
    base_rate = base.success_rate if base is not None else None
    no_rate = "the result has no runs, so it has no success rate"
    if counts.left_out and not counts.total_runs:
        no_rate = "every run is infrastructure-failed, so there is no success rate to judge"
    checks = []
    if rule.min is not None:
        reason = f"success rate {fmt(rate, '%')} is below {fmt(rule.min, '%')}"
        check = make_check(
            "success_rate.min",
            "Success rate",
            rule.level,
            f">= {fmt(rule.min, '%')}",
            fmt(rate, "%") + _left_out(counts),
            rate is not None and rate >= rule.min,
            reason if rate is not None else no_rate,
            _failed_run_ids(result),
        )
        checks.append(compared(check, rate, base_rate, " pp"))
    if rule.max_drop is not None:
        check = drop_check(
            "success_rate.max_drop",
            "Success rate vs baseline",
            rule.level,
            limit=rule.max_drop,
            values=(rate, base_rate),
            has_baseline=base is not None,
            actual=fmt(rate, "%"),
            subject=f"success rate {fmt(rate, '%')}",
            unknown_now=no_rate,
            unknown_before="the baseline has no success rate to compare with",
            run_ids=_failed_run_ids(result),
        )
        checks.append(check)
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
    if counts.left_out:
        none_reason = (
            f"no run left to judge has an evaluated expected outcome ({counts.left_out} "
            "infrastructure-failed left out)"
        )
    checks = []
    if rule.min_met_percent is not None:
        share = percent(met or 0, total) if total else None
        reason = (
            (
                f"{fmt(share, '%')} of expected outcomes met ({met} of {total}), "
                f"below {fmt(rule.min_met_percent, '%')}"
            )
            if total
            else none_reason
        )
        checks.append(
            make_check(
                "expected_outcomes.min_met_percent",
                "Expected outcomes met",
                rule.level,
                f">= {fmt(rule.min_met_percent, '%')}",
                f"{fmt(share, '%')} ({met} of {total})" if total else "n/a (0 of 0)",
                share is not None and share >= rule.min_met_percent,
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
            make_check(
                "expected_outcomes.max_unmet",
                "Expected outcomes unmet",
                rule.level,
                f"<= {rule.max_unmet}",
                str(unmet) if unmet is not None else "n/a (0 of 0)",
                unmet is not None and unmet <= rule.max_unmet,
                reason,
                unmet_runs,
            )
        )
    return checks


def check_runs(
    rule: RunsRule, result: Result, counts: Counts, all_runs: int | None = None
) -> list[Check]:
    """``min_total`` counts ``all_runs`` (infrastructure-failed runs are still runs of the
    result; default: ``counts``' total); ``max_failed`` counts ``counts``."""
    total = counts.total_runs if all_runs is None else all_runs
    checks = []
    if rule.min_total is not None:
        checks.append(
            make_check(
                "runs.min_total",
                "Runs in total",
                rule.level,
                f">= {rule.min_total}",
                str(total),
                total >= rule.min_total,
                f"the result has {plural(total, 'run')}, fewer than {rule.min_total}",
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
        if counts.left_out and not counts.total_runs:
            reason = "every run is infrastructure-failed, so no run was judged"
        checks.append(
            make_check(
                "runs.max_failed",
                "Runs failed",
                rule.level,
                f"<= {rule.max_failed}",
                f"{counts.failed_runs} of {counts.total_runs}" + _left_out(counts),
                ok,
                reason,
                _failed_run_ids(result),
            )
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
    """Why a run failed, in the order a reader wants it: infrastructure first."""
    reasons: list[str] = []
    error = short(run.error_message, 500)
    if run.infrastructure:  # its reason quotes the error or the status where it is that
        reasons.append(f"infrastructure failure: {run.infrastructure}")
    elif run.status is not Status.COMPLETED:
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
        if is_finding(finding):
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
        RunReport(
            run,
            not run.passed,
            run_reasons(run),
            run.id in blamed,
        )
        for run in result.runs
    )


# --------------------------------------------------------------------------- verdict


def _rule_checks(
    policy: Policy,
    result: Result,
    counts: Counts,
    baseline: Result | None,
    base_counts: Counts | None,
    today: datetime.date | None,
) -> list[Check]:
    rules = policy.rules
    now = _Views(result, counts)
    before = None if baseline is None or base_counts is None else _Views(baseline, base_counts)
    checks = of_rule([check_status(result, counts)], "result", None)

    def add(rule: Any, family: str, subject: str, judge: Any) -> None:
        effective, note, expired = effective_rule(rule, today)
        checks.extend(of_rule(annotated(judge(effective), note, expired), family, rule, subject))

    if rules.success_rate:
        add(
            rules.success_rate,
            "success_rate",
            "Success rate",
            lambda r: check_success_rate(
                r, *now.seen_by(r), before.seen_by(r)[1] if before else None
            ),
        )
    if rules.expected_outcomes:
        add(
            rules.expected_outcomes,
            "expected_outcomes",
            "Expected outcomes",
            lambda r: check_expected_outcomes(r, *now.seen_by(r)),
        )
    if rules.runs:
        add(
            rules.runs,
            "runs",
            "Runs",
            lambda r: check_runs(r, *now.seen_by(r), all_runs=counts.total_runs),
        )
    infrastructure = rules.infrastructure
    if infrastructure is not None or counts.infrastructure_runs:
        add(
            infrastructure or DEFAULT_INFRASTRUCTURE,
            "infrastructure",
            "Infrastructure failures",
            lambda r: check_infrastructure(r, result),
        )
    if counts.infrastructure_runs:
        checks.extend(of_rule([check_judged(result)], "infrastructure", None))
    if rules.critical_categories:
        add(
            rules.critical_categories,
            "critical_categories",
            "Critical categories",
            lambda r: check_critical_categories(r, result, baseline),
        )
    # The metric rules' metrics, gathered once for all of them when one first needs the runs.
    metrics_now = RunMetrics(rules.metrics, result)
    metrics_before = RunMetrics(rules.metrics, baseline) if baseline is not None else None
    for index, metric in enumerate(rules.metrics):
        add(
            metric,
            "metrics",
            metric.label,
            lambda r, i=index: metric_checks(i, r, metrics_now, metrics_before),
        )
    if rules.scenarios:
        checks.extend(check_scenarios(rules.scenarios, result, baseline, today))
    return checks


class _Views:
    """A result with its counts (``_counted``), as a rule sees it: every run (``infrastructure:
    count``), or without the infrastructure-failed ones (``exclude``, the default: the counts'
    ``judged``, and the result without those runs, worked out once)."""

    def __init__(self, result: Result, counts: Counts) -> None:
        self.every_run = (result, counts)
        self._judged: tuple[Result, Counts] | None = None

    def seen_by(self, rule: Any) -> tuple[Result, Counts]:
        if rule.infrastructure is InfrastructureRuns.COUNT:
            return self.every_run
        if self._judged is None:
            result, counts = self.every_run
            self._judged = (
                (
                    judged_result(result),
                    dataclasses.replace(counts.judged, left_out=counts.infrastructure_runs),
                )
                if counts.judged is not None
                else self.every_run
            )
        return self._judged


def _status(checks: Iterable[Check]) -> VerdictStatus:
    outcomes = {check.outcome for check in checks}
    if Outcome.FAIL in outcomes:
        return VerdictStatus.FAIL
    if Outcome.WARN in outcomes:
        return VerdictStatus.WARN
    return VerdictStatus.PASS


def _counted(result: Result) -> Counts:
    """``count_runs``, with the counts of the runs judged (``judged``) when some run is
    infrastructure-failed."""
    counts = count_runs(result)
    if not counts.infrastructure_runs:
        return counts
    return dataclasses.replace(counts, judged=count_runs(judged_result(result)))


def _baseline_info(baseline: Result | None, counts: Counts | None) -> BaselineInfo | None:
    if baseline is None or counts is None:
        return None
    return BaselineInfo(
        baseline.id,
        baseline.name,
        f"result {baseline.id}",
        counts.headline.success_rate,
        counts.total_runs,
        counts.infrastructure_runs,
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
    counts = _counted(result)
    base_counts = _counted(baseline) if baseline is not None else None
    checks = identify(
        with_causes(_rule_checks(policy, result, counts, baseline, base_counts, today), result)
    )
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
        baseline=_baseline_info(baseline, base_counts),
        waivers=tuple(
            waiver_state(waiver, level, today) for waiver, level in policy.rules.waivers()
        ),
        as_of=today,
    )
