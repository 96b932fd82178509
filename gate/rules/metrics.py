"""Metric rules: a metric's p50 (from the result's summary, else the median over runs), its
mean score over the runs, the pass percent of a binary metric (all three encodings), the
share of an enum value, and their moves against the baseline; what infrastructure-failed runs
scored is left out. A metric that the result does not have at all (a misspelt name, most
often) fails the gate whatever the rule's level, with a did-you-mean, unless the rule says
``missing: warn`` or ``missing: ignore``; one that is there but gives no usable value fails
at the rule's level. Pure: no I/O."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from gate import dataclasses, lazy
from gate.dataclasses import dataclass
from gate.policy.model import Bounds, MetricRule
from gate.results.model import MetricKind, MetricValue, Result, SummaryMetric
from gate.rules.checks import (
    NO_BASELINE,
    Check,
    compared,
    did_you_mean,
    drop_check,
    fmt,
    listing,
    make_check,
    missing,
    percent,
    plural,
    short,
    signed,
    unknown_all,
)

if TYPE_CHECKING:
    import statistics
else:  # imported when first used: it costs 4 ms, and only a median over the runs needs it
    statistics = lazy.module("statistics")


def _matches(rule: MetricRule, metric_id: int | None, name: str) -> bool:
    """By id, or by name (case-insensitive); a rule with both never takes a metric whose
    id is another one, so two metrics are never pooled into one value."""
    if rule.id is not None and metric_id is not None:
        return metric_id == rule.id
    return rule.name is not None and name.strip().lower() == rule.name.lower()


@dataclass(frozen=True, slots=True)
class Taken:
    """What one metric rule takes from a result's runs."""

    firsts: tuple[tuple[int, MetricValue], ...]  # (run id, the run's first metric it takes)
    scores: tuple[float, ...]  # every score a p50 or mean reads (not binary, not enum)
    kinds: frozenset[MetricKind]


_UNSCORED = (MetricKind.BINARY, MetricKind.ENUM)


def _take(rules: Sequence[MetricRule], result: Result) -> list[Taken]:
    """What each rule takes, in one pass over the runs' metrics: each metric is matched
    with a lookup by id and by name, not compared with every rule (``_matches`` says the
    same thing of one rule and one metric)."""
    by_id: dict[int, list[int]] = {}
    by_name: dict[str, list[int]] = {}  # every rule with a name
    by_name_only: dict[str, list[int]] = {}  # those without an id: a metric with one
    for position, rule in enumerate(rules):
        if rule.id is not None:
            by_id.setdefault(rule.id, []).append(position)
        if rule.name is not None:
            by_name.setdefault(rule.name.lower(), []).append(position)
            if rule.id is None:
                by_name_only.setdefault(rule.name.lower(), []).append(position)
    keys: dict[str, str] = {}  # a metric's name -> the key it is looked up by
    firsts: list[list[tuple[int, MetricValue]]] = [[] for _ in rules]
    scores: list[list[float]] = [[] for _ in rules]
    kinds: list[list[MetricKind]] = [[] for _ in rules]  # a handful each: a list is quicker
    last_run = [-1] * len(rules)  # the last run each rule took a metric of
    for index, run in enumerate(result.runs):
        if run.infrastructure:
            # What a call that never connected "scored" (a latency of 0, a failed pickup) is
            # not the agent's: it would move the rule, a 0 hiding a slower p50.
            continue
        for metric in run.metrics:
            key = keys.get(metric.name)
            if key is None:
                key = keys[metric.name] = metric.name.strip().lower()
            if metric.id is None:
                takers = by_name.get(key, ())
            else:  # a rule with an id takes a metric with an id by its id alone
                takers = by_id.get(metric.id, ())
                named = by_name_only.get(key)
                if named:
                    takers = [*takers, *named]
            for position in takers:
                if last_run[position] != index:
                    last_run[position] = index
                    firsts[position].append((run.id, metric))
                if metric.kind not in kinds[position]:
                    kinds[position].append(metric.kind)
                if metric.score is not None and metric.kind not in _UNSCORED:
                    scores[position].append(metric.score)
    return [
        Taken(tuple(first), tuple(score), frozenset(kind))
        for first, score, kind in zip(firsts, scores, kinds, strict=True)
    ]


class RunMetrics:
    """The metrics every metric rule of a policy takes from one result's runs: gathered
    on first use (a rule that the result's summary answers reads no run) in one pass shared
    by all of them, instead of one scan of every run's metrics per rule and statistic."""

    def __init__(self, rules: Sequence[MetricRule], result: Result) -> None:
        self.result = result
        self._rules = rules
        self._taken: list[Taken] | None = None

    def taken(self, position: int) -> Taken:
        """What ``rules[position]`` takes."""
        if self._taken is None:
            self._taken = _take(self._rules, self.result)
        return self._taken[position]


@dataclass(frozen=True, slots=True)
class _RuleMetric:
    """One metric rule's metric in one result: in the result's summary, and what the rule
    takes from the runs (gathered for every rule when one first asks)."""

    rule: MetricRule
    position: int
    metrics: RunMetrics

    @property
    def result(self) -> Result:
        return self.metrics.result

    @property
    def taken(self) -> Taken:
        return self.metrics.taken(self.position)

    def summaries(self) -> list[SummaryMetric]:
        return [s for s in self.result.summary_metrics if _matches(self.rule, s.id, s.name)]


def find_p50(metric: _RuleMetric) -> tuple[float | None, str]:
    """The metric's p50 and where it came from; ``(None, '')`` when nowhere."""
    for summary in metric.summaries():
        if summary.p50 is not None:
            return summary.p50, summary.source
    scores = metric.taken.scores
    if scores:
        return statistics.median(scores), f"median of {plural(len(scores), 'run')}"
    return None, ""


def metric_p50(rule: MetricRule, result: Result) -> tuple[float | None, str]:
    """The p50 that ``rule`` reads from ``result`` and where it comes from, exactly as a
    check judges it (for ``cekura-gate init``, which sets a bound from it)."""
    return find_p50(_RuleMetric(rule, 0, RunMetrics((rule,), result)))


def find_mean(metric: _RuleMetric) -> tuple[float | None, str]:
    """The mean of the metric's scores over the runs (numeric and rating metrics)."""
    scores = metric.taken.scores
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


def _present(metric: _RuleMetric) -> bool:
    """Whether the result has the rule's metric anywhere: the summary, then the runs."""
    return bool(metric.summaries()) or bool(metric.taken.firsts)


_SCORED_KINDS = frozenset({MetricKind.NUMERIC, MetricKind.QUALITATIVE, MetricKind.OTHER})


def _not_found(
    metric: _RuleMetric, what: str, wanted: frozenset[MetricKind] = _SCORED_KINDS
) -> str:
    rule = metric.rule
    kinds = metric.taken.kinds | {summary.kind for summary in metric.summaries()}
    if kinds & wanted:
        return f"metric '{rule.label}' is in this result, but no run gives it a usable {what}"
    kinds -= {MetricKind.OTHER}
    if kinds:
        shown = ", ".join(sorted(kind.value for kind in kinds))
        return f"metric '{rule.label}' is {shown} in this result, so it has no {what}"
    names = ", ".join(known_metric_names(metric.result)) or "none"
    return f"metric '{rule.label}' has no {what} in this result; metrics present: {names}"


_BINARY = frozenset({MetricKind.BINARY})
_ENUM = frozenset({MetricKind.ENUM})
_STATS = {"p50": find_p50, "mean": find_mean}


@dataclass(frozen=True, slots=True)
class _Stat:
    """One statistic (p50 or mean) of one metric rule, now and on the baseline."""

    metric: _RuleMetric
    name: str
    value: float | None
    source: str
    base: float | None
    has_baseline: bool

    @property
    def rule(self) -> MetricRule:
        return self.metric.rule

    @property
    def title(self) -> str:
        return f"{self.rule.label} {self.name}"

    def not_found(self) -> str:
        return _not_found(self.metric, self.name)


def _stat_checks(
    index: int, name: str, now: _RuleMetric, before: _RuleMetric | None
) -> list[Check]:
    rule, result = now.rule, now.result
    bounds: Bounds = getattr(rule, name)
    value, source = _STATS[name](now)
    base, base_source = _STATS[name](before) if before is not None else (None, "")
    stat = _Stat(now, name, value, source, base, before is not None)
    gap = result.runs_gap if _from_runs(source) else None
    base_gap = before.result.runs_gap if before is not None and _from_runs(base_source) else None
    checks = []
    if bounds.absolute:
        check = _absolute_check(f"metrics[{index}].{name}", stat, bounds)
        checks += unknown_all([compared(check, value, base, "")], rule.level, gap)
    for key, limit in (
        ("max_increase_percent", bounds.max_increase_percent),
        ("max_decrease_percent", bounds.max_decrease_percent),
    ):
        if limit is not None:
            check = _relative_check(f"metrics[{index}].{name}.{key}", stat, key, limit)
            checks += unknown_all([check], rule.level, gap or base_gap)
    return checks


def _absolute_check(check_id: str, stat: _Stat, bounds: Bounds) -> Check:
    expected = _describe_bounds(bounds)
    value = stat.value
    return make_check(
        check_id,
        stat.title,
        stat.rule.level,
        expected,
        fmt(value) if value is not None else "not found",
        value is not None and _within(bounds, value),
        f"{stat.title} is {fmt(value)} ({stat.source}), outside {expected}"
        if value is not None
        else stat.not_found(),
    )


def _from_runs(source: str) -> bool:
    """Whether a value was computed from the runs (not read from the result's summary)."""
    return source.startswith(("median of", "mean of"))


def _change_percent(value: float, base: float) -> float | None:
    return None if base == 0 else 100.0 * (value - base) / abs(base)


def _relative_check(check_id: str, stat: _Stat, key: str, limit: float) -> Check:
    value, base = stat.value, stat.base
    rising = key == "max_increase_percent"
    word = "increase" if rising else "decrease"
    expected = f"{word} <= {fmt(limit, '%')} vs baseline"
    if value is None:
        reason, ok = stat.not_found(), False
    elif not stat.has_baseline:
        reason, ok = NO_BASELINE, False
    elif base is None:
        reason = f"metric '{stat.rule.label}' has no {stat.name} in the baseline to compare with"
        ok = False
    else:
        change = _change_percent(value, base)
        moved = value - base if rising else base - value
        # From a zero baseline any move the wrong way is an unbounded change.
        ok = moved <= 0 if change is None else (change if rising else -change) <= limit + 1e-9
        shown = f"{signed(change, '%')}" if change is not None else f"{signed(value - base)} from 0"
        reason = (
            f"{stat.title} is {fmt(value)}, {shown} against the baseline's {fmt(base)}; "
            f"the policy allows at most {fmt(limit, '%')} {word}"
        )
    actual = fmt(value) if value is not None else "not found"
    title = f"{stat.title} vs baseline"
    check = make_check(check_id, title, stat.rule.level, expected, actual, ok, reason)
    if value is not None and base is not None:
        change = _change_percent(value, base)
        delta = signed(value - base) + (f" ({signed(change, '%')})" if change is not None else "")
        return dataclasses.replace(check, baseline=fmt(base), delta=delta)
    return dataclasses.replace(check, baseline=fmt(base) if base is not None else "")


@dataclass(frozen=True, slots=True)
class BinaryTally:
    """A binary metric over the runs that carry it; an unreadable value counts as failed."""

    passed: int
    evaluated: int
    failed_run_ids: tuple[int, ...]
    unreadable: int

    @property
    def percent(self) -> float | None:
        return percent(self.passed, self.evaluated) if self.evaluated else None


def _binary_value(metric: MetricValue) -> bool | None:
    """Pass/fail of a metric a ``pass_percent`` rule names; an untyped metric scored
    0/5/100 is read as binary (the legacy encodings)."""
    if metric.kind is MetricKind.BINARY:
        return metric.passed
    if metric.kind is MetricKind.OTHER and metric.score in (0.0, 5.0, 100.0):
        return metric.score != 0.0
    return None


def binary_tally(taken: Taken) -> BinaryTally:
    passed = evaluated = unreadable = 0
    failed: list[int] = []
    for run_id, metric in taken.firsts:
        if metric.kind not in (MetricKind.BINARY, MetricKind.OTHER):
            continue
        value = _binary_value(metric)
        if value is None and metric.kind is MetricKind.OTHER:
            continue  # an untyped metric with a score that is no binary encoding
        evaluated += 1
        if value:
            passed += 1
        else:
            unreadable += value is None
            failed.append(run_id)
    return BinaryTally(passed, evaluated, tuple(failed), unreadable)


def _pass_percent_checks(index: int, now: _RuleMetric, before: _RuleMetric | None) -> list[Check]:
    rule, result = now.rule, now.result
    assert rule.pass_percent is not None
    bounds = rule.pass_percent
    tally = binary_tally(now.taken)
    value = tally.percent
    base = binary_tally(before.taken).percent if before is not None else None
    title = f"{rule.label} pass rate"
    counted = f"{tally.passed} of {plural(tally.evaluated, 'run')}"
    actual = f"{fmt(value, '%')} ({counted})" if value is not None else "not found"
    unreadable = (
        f"; {tally.unreadable} with an unreadable value, counted as failed"
        if tally.unreadable
        else ""
    )
    missing = "" if value is not None else _not_found(now, "binary pass/fail", _BINARY)
    checks = []
    if bounds.min is not None:
        check = make_check(
            f"metrics[{index}].pass_percent",
            title,
            rule.level,
            f">= {fmt(bounds.min, '%')}",
            actual,
            value is not None and value >= bounds.min,
            f"{title} is {fmt(value, '%')} ({counted} passed{unreadable}), "
            f"below {fmt(bounds.min, '%')}"
            if value is not None
            else missing,
            tally.failed_run_ids,
        )
        checks += unknown_all([compared(check, value, base, " pp")], rule.level, result.runs_gap)
    if bounds.max_drop is not None:
        check = drop_check(
            f"metrics[{index}].pass_percent.max_drop",
            f"{title} vs baseline",
            rule.level,
            limit=bounds.max_drop,
            values=(value, base),
            has_baseline=before is not None,
            actual=actual,
            subject=f"{title} ({fmt(value, '%')}, {counted} passed{unreadable})",
            unknown_now=missing,
            unknown_before=f"metric '{rule.label}' has no binary results in the baseline "
            "to compare with",
            run_ids=tally.failed_run_ids,
        )
        gap = result.runs_gap or (before.result.runs_gap if before is not None else None)
        checks += unknown_all([check], rule.level, gap)
    return checks


def enum_tally(taken: Taken, value: str) -> tuple[int, int, tuple[int, ...]]:
    """(runs with ``value``, runs with any enum value, ids of the former)."""
    wanted = value.strip().lower()
    hits: list[int] = []
    evaluated = 0
    for run_id, metric in taken.firsts:
        if metric.enum_value is None:
            continue
        evaluated += 1
        if metric.enum_value.strip().lower() == wanted:
            hits.append(run_id)
    return len(hits), evaluated, tuple(hits)


def _enum_check(index: int, now: _RuleMetric, before: _RuleMetric | None) -> Check:
    rule, result = now.rule, now.result
    assert rule.enum is not None
    share = rule.enum
    hits, evaluated, hit_ids = enum_tally(now.taken, share.value)
    value = percent(hits, evaluated) if evaluated else None
    base = None
    if before is not None:
        base_hits, base_total, _ = enum_tally(before.taken, share.value)
        base = percent(base_hits, base_total) if base_total else None
    title = f"{rule.label} = '{short(share.value, 60)}'"
    expected = _describe_bounds(Bounds(share.min_percent, share.max_percent), "%")
    ok = value is not None and _within(Bounds(share.min_percent, share.max_percent), value)
    reason = (
        f"{fmt(value, '%')} of runs ({hits} of {evaluated}) have {rule.label} = "
        f"'{short(share.value, 60)}', outside {expected}"
        if value is not None
        else _not_found(now, "enum value", _ENUM)
    )
    check = make_check(
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
    return unknown_all([compared(check, value, base, " pp")], rule.level, result.runs_gap)[0]


def metric_checks(
    index: int, rule: MetricRule, result: RunMetrics, baseline: RunMetrics | None
) -> list[Check]:
    """The checks of ``rule``, the policy's metric rule number ``index`` (as it stands today:
    a waiver may have changed its level), on the metrics of the result and the baseline."""
    now = _RuleMetric(rule, index, result)
    before = _RuleMetric(rule, index, baseline) if baseline is not None else None
    checks: list[Check] = []
    for stat in ("p50", "mean"):
        if getattr(rule, stat) is not None:
            checks += _stat_checks(index, stat, now, before)
    if rule.pass_percent is not None:
        checks += _pass_percent_checks(index, now, before)
    if rule.enum is not None:
        checks.append(_enum_check(index, now, before))
    absent = _absent(now)
    if absent is None:
        return checks
    return [missing(check, rule.missing, absent) for check in checks]


def _absent(metric: _RuleMetric) -> str | None:
    """Why the rule's metric is not in the result at all; ``None`` when it is, or when the
    result lists only part of its runs (the metric may be on the others)."""
    rule, result = metric.rule, metric.result
    if result.runs_gap is not None or _present(metric):
        return None
    names = known_metric_names(result)
    hint = did_you_mean(rule.name, names) if rule.name is not None else ""
    return f"metric '{rule.label}' is not in this result (metrics present: {listing(names)}){hint}"
