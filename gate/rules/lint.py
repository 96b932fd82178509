"""Policy lint against a real result (``cekura-gate validate --against``).

A rule whose metric, scenario or category name has a typo never matches anything; some
rules then fail for a confusing reason, others (an ``ignore`` entry, a scenario rule that is
not ``required``) pass forever. ``lint(policy, result)`` lists every name the policy uses
that the result does not have, with a did-you-mean. Pure: no I/O.
"""

from __future__ import annotations

from gate.dataclasses import dataclass
from gate.policy.model import MetricRule, Policy, ScenarioRule
from gate.results.model import MetricKind, MetricValue, Result
from gate.rules.categories import KNOWN_PRIORITIES
from gate.rules.checks import did_you_mean, glob_hint, listing, plural
from gate.rules.scenarios import is_glob, scenario_matches


@dataclass(frozen=True, slots=True)
class LintIssue:
    """One name the result lacks; a note (``blocking=False``) when it may just not have occurred."""

    path: str
    message: str
    blocking: bool = True


# --------------------------------------------------------------------------- metrics


@dataclass(frozen=True, slots=True)
class _MetricsSeen:
    """What the result can give each metric rule, by lower-cased name and by ``#<id>``."""

    names: dict[str, str]  # lower-cased name -> name as written
    kinds: dict[str, set[MetricKind]]
    usable: dict[str, set[str]]  # which of p50, mean, pass_percent, enum the checks can compute
    enum_values: dict[str, set[str]]


def _uses(metric: MetricValue) -> set[str]:
    """The statistics the metric rules can compute from one run's metric (as check does)."""
    uses = set()
    if metric.kind not in (MetricKind.BINARY, MetricKind.ENUM) and metric.score is not None:
        uses |= {"p50", "mean"}
    legacy_binary = metric.kind is MetricKind.OTHER and metric.score in (0.0, 5.0, 100.0)
    if metric.kind is MetricKind.BINARY or legacy_binary:
        uses.add("pass_percent")
    if metric.enum_value is not None:
        uses.add("enum")
    return uses


def _seen_metrics(result: Result) -> _MetricsSeen:
    seen = _MetricsSeen({}, {}, {}, {})

    def record(metric_id: int | None, name: str, kind: MetricKind, uses: set[str]) -> None:
        keys = [name.strip().lower()] + ([f"#{metric_id}"] if metric_id is not None else [])
        if name.strip():
            seen.names.setdefault(name.strip().lower(), name.strip())
        for key in keys:
            seen.kinds.setdefault(key, set()).add(kind)
            seen.usable.setdefault(key, set()).update(uses)

    for summary in result.summary_metrics:
        record(
            summary.id, summary.name, summary.kind, {"p50"} if summary.p50 is not None else set()
        )
    for run in result.runs:
        for metric in run.metrics:
            record(metric.id, metric.name, metric.kind, _uses(metric))
            if metric.enum_value is not None:
                for key in (metric.name.strip().lower(), f"#{metric.id}"):
                    seen.enum_values.setdefault(key, set()).add(metric.enum_value.strip())
    return seen


def _metric_key(rule: MetricRule, seen: _MetricsSeen) -> str | None:
    if rule.id is not None and f"#{rule.id}" in seen.kinds:
        return f"#{rule.id}"
    if rule.name is not None and rule.name.lower() in seen.kinds:
        return rule.name.lower()
    return None


_NEEDS = {
    "p50": "a numeric or rating score (or a p50 in the summary)",
    "mean": "numeric or rating scores on the runs",
    "pass_percent": "binary pass/fail values on the runs",
    "enum": "enum values on the runs",
}


def _lint_metric(index: int, rule: MetricRule, seen: _MetricsSeen, where: str) -> list[LintIssue]:
    path = f"rules.metrics[{index}]"
    key = _metric_key(rule, seen)
    if key is None:
        if rule.name is not None:
            hint = did_you_mean(rule.name, seen.names.values())
            return [LintIssue(f"{path}.name", f"no metric named '{rule.name}' in {where}{hint}")]
        return [
            LintIssue(
                f"{path}.id",
                f"no metric with id {rule.id} in {where} (metrics: {listing(seen.names.values())})",
            )
        ]
    issues = []
    shown = ", ".join(sorted(kind.value for kind in seen.kinds[key]))
    for stat, needs in _NEEDS.items():
        if getattr(rule, stat) is not None and stat not in seen.usable[key]:
            message = f"metric '{rule.label}' is {shown} in {where}; {stat} needs {needs}"
            issues.append(LintIssue(f"{path}.{stat}", message))
    if rule.enum is not None and "enum" in seen.usable[key]:
        issues += _lint_enum_value(path, rule, seen.enum_values.get(key, set()), where)
    return issues


def _lint_enum_value(path: str, rule: MetricRule, values: set[str], where: str) -> list[LintIssue]:
    assert rule.enum is not None
    wanted = rule.enum.value
    if wanted.lower() in {value.lower() for value in values}:
        return []
    hint = did_you_mean(wanted, values)
    message = f"no run of {where} has {rule.label} = '{wanted}' (values seen: {listing(values)})"
    if hint:
        return [LintIssue(f"{path}.enum.value", message + hint)]
    return [LintIssue(f"{path}.enum.value", message + "; it may just not have occurred", False)]


# --------------------------------------------------------------------------- scenarios


def _scenarios_seen(result: Result) -> list[tuple[int | None, str]]:
    seen = {(run.scenario_id, run.scenario_name) for run in result.runs}
    seen.update(result.scenarios)
    return sorted(seen, key=lambda item: (item[1].lower(), item[0] or 0))


def _lint_scenario(
    rule: ScenarioRule, seen: list[tuple[int | None, str]], where: str
) -> list[LintIssue]:
    if any(scenario_matches(rule, scenario_id, name) for scenario_id, name in seen):
        return []
    path = f"{rule.path}.match"
    names = [name for _, name in seen]
    if isinstance(rule.match, int):
        ids = sorted({str(scenario_id) for scenario_id, _ in seen if scenario_id is not None})
        shown = ", ".join(ids[:10]) or "none"
        return [LintIssue(path, f"no scenario with id {rule.match} in {where} (ids: {shown})")]
    glob = is_glob(rule.match)
    hint = glob_hint(rule.match, names) if glob else did_you_mean(rule.match, names)
    if glob and not hint:  # '*apointment*': the literal text against whole names
        literal = rule.match.replace("*", "").replace("?", "").strip()
        hint = did_you_mean(literal, names) if len(literal) >= 3 else ""
    kind = "matching" if glob else "named"
    if not names:
        hint = "; the result lists no scenarios"
    return [LintIssue(path, f"no scenario {kind} '{rule.match}' in {where}{hint}")]


# --------------------------------------------------------------------------- categories


def _lint_categories(policy: Policy, result: Result, where: str) -> list[LintIssue]:
    rule = policy.rules.critical_categories
    if rule is None:
        return []
    defined = {name.strip().lower(): name for name in result.category_names}
    found = {
        finding.category.strip().lower(): finding.category
        for run in result.runs
        for finding in run.findings
    }
    known = {**found, **defined}
    issues = []
    for index, item in enumerate(rule.ignore):
        if item.lower() in KNOWN_PRIORITIES or item.lower() in known:
            continue
        path = f"rules.critical_categories.ignore[{index}]"
        hint = did_you_mean(item, known.values())
        message = f"no critical category '{item}' in {where}"
        if hint or defined:
            issues.append(
                LintIssue(
                    path, f"{message}{hint or ' (categories: ' + listing(defined.values()) + ')'}"
                )
            )
        else:
            issues.append(LintIssue(path, f"{message}; it may just not have occurred", False))
    return issues


# --------------------------------------------------------------------------- policy


def lint(policy: Policy, result: Result) -> list[LintIssue]:
    """Every name ``policy`` uses that ``result`` lacks, in policy order."""
    where = f"result {result.id}"
    seen = _seen_metrics(result)
    issues: list[LintIssue] = []
    issues += _lint_categories(policy, result, where)
    for index, metric in enumerate(policy.rules.metrics):
        issues += _lint_metric(index, metric, seen, where)
    scenarios = policy.rules.scenarios
    if scenarios is not None:
        seen_scenarios = _scenarios_seen(result)
        for rule in scenarios.each:
            issues += _lint_scenario(rule, seen_scenarios, where)
    if not result.runs:
        issues.append(LintIssue("", f"{where} lists no runs; only its summary was checked", False))
    return issues


def summary(issues: list[LintIssue], where: str) -> str:
    blocking = [issue for issue in issues if issue.blocking]
    if not blocking:
        return f"every metric, scenario and category the policy names is in {where}"
    return (
        f"{plural(len(blocking), 'problem')}: names {where} does not have, or metrics of "
        "another kind than the rule needs"
    )
