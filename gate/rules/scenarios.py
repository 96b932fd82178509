"""Scenario rules: k-of-n per scenario (``min_passes``, ``min_pass_percent`` over its
repeats, ``frequency`` for runs that never happened), ``required`` scenarios, and no
scenario failing now that passed on the baseline. A rule whose ``match`` selects no scenario
of the result fails the gate whatever its level, with a did-you-mean, unless it says
``missing: warn`` or ``missing: ignore``. Pure: no I/O."""

from __future__ import annotations

import collections
import datetime
import fnmatch
from collections.abc import Iterable, Sequence

from gate import dataclasses
from gate.dataclasses import dataclass
from gate.policy.model import InfrastructureRuns, ScenarioRule, ScenariosRule
from gate.results.model import Result, Run
from gate.rules.checks import (
    NO_BASELINE,
    Check,
    annotated,
    did_you_mean,
    effective_rule,
    fmt,
    glob_hint,
    make_check,
    missing,
    of_rule,
    percent,
    plural,
    short,
    signed,
    unknown_all,
)

ScenarioKey = tuple[str, object]
SCENARIOS = "scenarios"  # the family of every check here


@dataclass(frozen=True, slots=True)
class ScenarioRuns:
    """The runs of one scenario in a result."""

    key: ScenarioKey
    scenario_id: int | None
    name: str
    runs: tuple[Run, ...]
    infrastructure: int = 0  # infrastructure-failed runs left out of ``runs``

    @property
    def passes(self) -> int:
        return sum(1 for run in self.runs if run.passed)

    @property
    def failed_run_ids(self) -> tuple[int, ...]:
        return tuple(run.id for run in self.runs if not run.passed)


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


def judged_groups(groups: Iterable[ScenarioRuns]) -> list[ScenarioRuns]:
    """The groups without their infrastructure-failed runs (``infrastructure: exclude``, the
    default): those runs happened, so ``frequency`` does not count them as missing."""
    judged = []
    for group in groups:
        left_out = sum(1 for run in group.runs if run.infrastructure)
        if left_out:
            runs = tuple(run for run in group.runs if not run.infrastructure)
            group = dataclasses.replace(group, runs=runs, infrastructure=left_out)
        judged.append(group)
    return judged


def scenario_matches(rule: ScenarioRule, scenario_id: int | None, name: str) -> bool:
    """By id, by name (case-insensitive), or by a glob with ``*`` or ``?``. A name is first
    compared as written, so brackets in 'Booking [EN]' are not read as a character class."""
    if isinstance(rule.match, int):
        return scenario_id == rule.match
    written, pattern = name.strip().lower(), rule.match.lower()
    # isascii: isdigit() also takes '²', which int() refuses
    if written == pattern or (
        pattern.isascii() and pattern.isdigit() and scenario_id == int(pattern)
    ):
        return True  # a quoted id ('12') is still the id
    # Only * and ? are wildcards: brackets in names such as 'Booking [EN]' are literal.
    return is_glob(pattern) and fnmatch.fnmatchcase(written, pattern.replace("[", "[[]"))


def is_glob(pattern: str) -> bool:
    return "*" in pattern or "?" in pattern


def _needed(rule: ScenarioRule, group: ScenarioRuns) -> int:
    """The runs the scenario should have had: its runs, or ``frequency`` if more (less the
    infrastructure-failed runs left out: they happened, but are not judged)."""
    return max(len(group.runs), (rule.frequency or 0) - group.infrastructure)


def scenario_passed(rule: ScenarioRule | None, group: ScenarioRuns) -> bool:
    """Whether a scenario passed: by its k-of-n rule if it has one, else every run passed."""
    if rule is None or not rule.has_bound:
        return bool(group.runs) and group.passes == len(group.runs)
    needed = _needed(rule, group)
    ok = True
    if rule.min_passes is not None:
        ok = group.passes >= rule.min_passes
    if rule.min_pass_percent is not None:
        ok = ok and needed > 0 and percent(group.passes, needed) >= rule.min_pass_percent
    return ok


def _scenario_bound_checks(
    index: int, rule: ScenarioRule, group: ScenarioRuns, name: str
) -> list[Check]:
    needed = _needed(rule, group)
    happened = len(group.runs) + group.infrastructure
    short_of = (
        f" ({happened} of the {rule.frequency} runs expected are in the result)"
        if rule.frequency and happened < rule.frequency
        else ""
    )
    if group.infrastructure:
        short_of += f" ({plural(group.infrastructure, 'infrastructure-failed run')} left out)"
    checks = []
    if rule.min_passes is not None:
        checks.append(
            make_check(
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
        # Only infrastructure-failed runs stand between the scenario and its passes.
        if group.passes + group.infrastructure >= rule.min_passes and group.infrastructure:
            checks[-1] = dataclasses.replace(checks[-1], infrastructure=True)
    if rule.min_pass_percent is not None:
        share = percent(group.passes, needed) if needed else 0.0
        checks.append(
            make_check(
                f"scenarios[{index}].min_pass_percent[{name}]",
                f"Scenario '{name}' pass rate",
                rule.level,
                f">= {fmt(rule.min_pass_percent, '%')}",
                f"{fmt(share, '%')} ({group.passes} of {needed})",
                share >= rule.min_pass_percent,
                f"scenario '{name}' passed {fmt(share, '%')} of its runs ({group.passes} of "
                f"{needed}), below {fmt(rule.min_pass_percent, '%')}{short_of}",
                group.failed_run_ids,
            )
        )
        if not group.runs and group.infrastructure:  # nothing of the scenario was judged
            checks[-1] = dataclasses.replace(checks[-1], infrastructure=True)
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
    # A rule's test_id stands for what it matches: the one scenario of an id, or a glob's
    # text; a glob's checks per scenario keep the scenario's name after it.
    per_scenario = title if isinstance(rule.match, int) else "Scenario"
    if not matched:
        reason = (
            f"no run of a scenario matching '{short(rule.label, 120)}' is in this result "
            f"(scenarios present: {_scenario_names(groups)}){_name_hint(rule, groups)}"
        )
        check = make_check(
            f"scenarios[{index}].required" if rule.required else f"scenarios[{index}]",
            f"{title} present",
            rule.level,
            "present",
            "not in this result",
            False,
            reason,
        )
        return of_rule([missing(check, rule.missing, reason)], SCENARIOS, rule, title)
    checks = []
    if rule.required:
        runs = sum(len(group.runs) for group in matched)
        present = make_check(
            f"scenarios[{index}].required",
            f"{title} present",
            rule.level,
            "present",
            f"{plural(len(matched), 'scenario')}, {plural(runs, 'run')}",
            True,
            "",
        )
        checks += of_rule([present], SCENARIOS, rule, title)
    names = collections.Counter(short(group.name, 120) for group in matched)
    for group in matched:
        name = short(group.name, 120)
        if names[name] > 1 and group.scenario_id is not None:
            name = f"{name} (id {group.scenario_id})"  # keeps check ids unique
        bound_checks = _scenario_bound_checks(index, rule, group, name)
        checks += of_rule(bound_checks, SCENARIOS, rule, per_scenario)
    return checks


def _name_hint(rule: ScenarioRule, groups: Sequence[ScenarioRuns]) -> str:
    """A did-you-mean for a ``match`` that selects nothing, against the result's names."""
    if isinstance(rule.match, int):
        return ""
    names = [group.name for group in groups]
    return glob_hint(rule.match, names) if is_glob(rule.match) else did_you_mean(rule.match, names)


def _rule_for(rules: Sequence[ScenarioRule], group: ScenarioRuns) -> ScenarioRule | None:
    for rule in rules:
        if rule.has_bound and scenario_matches(rule, group.scenario_id, group.name):
            return rule
    return None


def check_no_new_failures(
    rule: ScenariosRule, current: Sequence[ScenarioRuns], baseline: Result | None
) -> Check:
    """No scenario of ``current`` (the result's, grouped) fails that passed on the baseline."""
    expected = "none (scenarios that passed on the baseline)"
    title = "New scenario failures"
    if baseline is None:
        return make_check(
            "scenarios.no_new_failures", title, rule.level, expected, "n/a", False, NO_BASELINE
        )
    before = judged_groups(group_by_scenario(baseline.runs))
    passed_before = {
        group.key: scenario_passed(_rule_for(rule.each, group), group) for group in before
    }
    # By name too, for a scenario whose id changed: passed if any namesake passed.
    passed_by_name: dict[str, bool] = {}
    for group in before:
        name = group.name.strip().lower()
        passed_by_name[name] = passed_by_name.get(name, False) or passed_before[group.key]
    base_failing = sum(1 for passed in passed_before.values() if not passed)
    # A scenario none of whose runs connected was not judged, so it neither passed nor
    # failed: the infrastructure cap and "Runs judged" speak for it, not this rule.
    unjudged = sum(1 for group in current if not group.runs and group.infrastructure)
    now_failing = [
        group
        for group in current
        if group.runs or not group.infrastructure
        if not scenario_passed(_rule_for(rule.each, group), group)
    ]
    new = [
        group
        for group in now_failing
        if passed_before.get(group.key, passed_by_name.get(group.name.strip().lower(), False))
    ]
    check = make_check(
        "scenarios.no_new_failures",
        title,
        rule.level,
        expected,
        f"{len(new)} new ({len(now_failing)} failing"
        + (f", {unjudged} not judged)" if unjudged else ")"),
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
    groups = group_by_scenario(result.scenario_runs)  # every attempt, with reruns
    without_infrastructure = judged_groups(groups)
    checks: list[Check] = []
    for index, each in enumerate(rule.each):
        effective, note, expired = effective_rule(each, today)
        seen = groups if each.infrastructure is InfrastructureRuns.COUNT else without_infrastructure
        judged = unknown_all(
            scenario_rule_checks(index, effective, seen), effective.level, result.runs_gap
        )
        checks += annotated(judged, note, expired)
    if rule.no_new_failures:
        enforced, note, expired = effective_rule(rule, today)
        gap = result.runs_gap or (baseline.runs_gap if baseline is not None else None)
        judged = unknown_all(
            [check_no_new_failures(enforced, without_infrastructure, baseline)],
            enforced.level,
            gap,
        )
        checks += of_rule(
            annotated(judged, note, expired), SCENARIOS, rule, "New scenario failures"
        )
    return checks
