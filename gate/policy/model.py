"""The policy's typed model: frozen dataclasses for every rule, waiver and setting.

Built by ``gate.policy.load``; read by the rules and the command line. No I/O, no parsing.
The fields of ``RunSettings`` are the policy's ``run:`` keys: their metadata
(``gate.policy.kinds.policy_key``) gives the kind the loader and the schema check and the
name the API's trigger body uses, so those keys are written here and nowhere else.
"""

from __future__ import annotations

import datetime
import enum
from typing import Any

from gate.dataclasses import dataclass, field, fields
from gate.policy.kinds import (
    Choice,
    Count,
    IdList,
    Key,
    Section,
    Text,
    TextList,
    TextMap,
    policy_key,
)
from gate.policy.units import TRANSPORT_MODES

MAX_POLICY_BYTES = 1_048_576
MAX_WHOLE_NUMBER = 10**9
SUPPORTED_VERSIONS = (1,)
ID = Count(minimum=1)  # an id, or a count that cannot be 0

DEFAULT_TIMEOUT_S = 45 * 60.0
DEFAULT_POLL_INTERVAL_S = 10.0
DEFAULT_MAX_POLL_INTERVAL_S = 120.0


class Level(enum.Enum):
    """How a rule's failure counts: fail the gate, warn, or not checked at all."""

    ERROR = "error"
    WARN = "warn"
    OFF = "off"


class Missing(enum.Enum):
    """What a rule does when the result lacks the metric or scenario it names: fail the
    gate whatever the rule's level (a misspelt name must not pass silently), warn, or skip."""

    ERROR = "error"
    WARN = "warn"
    IGNORE = "ignore"


class InfrastructureRuns(enum.Enum):
    """What a rule does with infrastructure-failed runs (calls that never connected, provider
    errors): leave them out of both its count and its total, or count them as failed runs."""

    EXCLUDE = "exclude"
    COUNT = "count"


@dataclass(frozen=True, slots=True)
class Bounds:
    """An inclusive range (either end may be open), and how far the value may move from
    the baseline's, in percent of the baseline value."""

    min: float | None = None
    max: float | None = None
    max_increase_percent: float | None = None
    max_decrease_percent: float | None = None

    @property
    def absolute(self) -> bool:
        return self.min is not None or self.max is not None

    @property
    def relative(self) -> bool:
        return self.max_increase_percent is not None or self.max_decrease_percent is not None


@dataclass(frozen=True, slots=True)
class Waiver:
    """Why a rule only warns, and until when (inclusive, UTC); ``path`` names the rule."""

    path: str
    until: datetime.date | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class WaitSettings:
    """How live mode waits for a result (seconds)."""

    timeout_s: float = DEFAULT_TIMEOUT_S
    poll_interval_s: float = DEFAULT_POLL_INTERVAL_S
    max_poll_interval_s: float = DEFAULT_MAX_POLL_INTERVAL_S


@dataclass(frozen=True, slots=True)
class SuccessRateRule:
    min: float | None = None
    level: Level = Level.ERROR
    max_drop: float | None = None  # percentage points below the baseline
    waiver: Waiver | None = None
    test_id: str | None = None  # the rule's name in every report, when set
    line: int | None = field(default=None, compare=False)  # where it is written (1-based)
    infrastructure: InfrastructureRuns = InfrastructureRuns.EXCLUDE


@dataclass(frozen=True, slots=True)
class ExpectedOutcomesRule:
    min_met_percent: float | None = None
    max_unmet: int | None = None
    level: Level = Level.ERROR
    waiver: Waiver | None = None
    test_id: str | None = None  # the rule's name in every report, when set
    line: int | None = field(default=None, compare=False)  # where it is written (1-based)
    infrastructure: InfrastructureRuns = InfrastructureRuns.EXCLUDE


@dataclass(frozen=True, slots=True)
class RunsRule:
    min_total: int | None = None
    max_failed: int | None = None
    level: Level = Level.ERROR
    waiver: Waiver | None = None
    test_id: str | None = None  # the rule's name in every report, when set
    line: int | None = field(default=None, compare=False)  # where it is written (1-based)
    infrastructure: InfrastructureRuns = InfrastructureRuns.EXCLUDE


@dataclass(frozen=True, slots=True)
class InfrastructureRule:
    """Caps on infrastructure-failed runs: a number, and/or a percent of all runs."""

    max: int | None = None
    max_percent: float | None = None
    level: Level = Level.ERROR
    waiver: Waiver | None = None
    test_id: str | None = None  # the rule's name in every report, when set
    line: int | None = field(default=None, compare=False)  # where it is written (1-based)


# The rule a policy without one gets: any infrastructure-failed run warns. (Whatever the
# rule, a result whose every run is infrastructure-failed fails: nothing was judged.)
DEFAULT_INFRASTRUCTURE = InfrastructureRule(max=0, level=Level.WARN)


@dataclass(frozen=True, slots=True)
class CriticalCategoriesRule:
    """Caps on findings per priority (``max`` keeps the order written in the policy), and
    priorities under which no category may appear that the baseline did not have."""

    max: tuple[tuple[str, int], ...] = ()
    ignore: tuple[str, ...] = ()
    level: Level = Level.ERROR
    no_new_categories: tuple[str, ...] = ()
    waiver: Waiver | None = None
    test_id: str | None = None  # the rule's name in every report, when set
    line: int | None = field(default=None, compare=False)  # where it is written (1-based)


@dataclass(frozen=True, slots=True)
class EnumShare:
    """Bounds on the share of runs whose enum metric took ``value`` (case-insensitive)."""

    value: str
    max_percent: float | None = None
    min_percent: float | None = None


@dataclass(frozen=True, slots=True)
class PassPercent:
    """Bounds on the share of runs that passed a binary metric."""

    min: float | None = None
    max_drop: float | None = None  # percentage points below the baseline


@dataclass(frozen=True, slots=True)
class MetricRule:
    """Bounds on one metric, matched by name (case-insensitive) or id: its p50, its mean
    score over runs, its pass percent (binary) or the share of an enum value."""

    name: str | None
    id: int | None
    p50: Bounds | None = None
    level: Level = Level.ERROR
    mean: Bounds | None = None
    pass_percent: PassPercent | None = None
    enum: EnumShare | None = None
    waiver: Waiver | None = None
    missing: Missing = Missing.ERROR
    test_id: str | None = None  # the rule's name in every report, when set
    line: int | None = field(default=None, compare=False)  # where it is written (1-based)

    @property
    def label(self) -> str:
        return self.name if self.name is not None else f"id {self.id}"


@dataclass(frozen=True, slots=True)
class ScenarioRule:
    """k-of-n for the scenarios ``match`` selects: a name glob (case-insensitive) or an id.

    Each matching scenario is judged on its own runs; ``frequency`` is how many runs each
    should have had (missing runs count as not passed)."""

    match: str | int
    min_passes: int | None = None
    min_pass_percent: float | None = None
    frequency: int | None = None
    required: bool = False
    level: Level = Level.ERROR
    waiver: Waiver | None = None
    path: str = ""  # where the policy writes it, for messages
    missing: Missing = Missing.ERROR
    test_id: str | None = None  # the rule's name in every report, when set
    line: int | None = field(default=None, compare=False)  # where it is written (1-based)
    infrastructure: InfrastructureRuns = InfrastructureRuns.EXCLUDE

    @property
    def label(self) -> str:
        return f"id {self.match}" if isinstance(self.match, int) else self.match

    @property
    def has_bound(self) -> bool:
        return self.min_passes is not None or self.min_pass_percent is not None


@dataclass(frozen=True, slots=True)
class ScenariosRule:
    """Per-scenario rules, and whether a scenario that passed on the baseline may fail now."""

    each: tuple[ScenarioRule, ...] = ()
    no_new_failures: bool = False
    level: Level = Level.ERROR
    waiver: Waiver | None = None
    test_id: str | None = None  # the rule's name in every report, when set
    line: int | None = field(default=None, compare=False)  # where it is written (1-based)


@dataclass(frozen=True, slots=True)
class Rules:
    success_rate: SuccessRateRule | None = None
    expected_outcomes: ExpectedOutcomesRule | None = None
    runs: RunsRule | None = None
    infrastructure: InfrastructureRule | None = None
    critical_categories: CriticalCategoriesRule | None = None
    metrics: tuple[MetricRule, ...] = ()
    scenarios: ScenariosRule | None = None

    def levels(self) -> list[Level]:
        single = [
            self.success_rate,
            self.expected_outcomes,
            self.runs,
            self.critical_categories,
            self.infrastructure,
        ]
        levels = [rule.level for rule in single if rule is not None]
        levels += [metric.level for metric in self.metrics]
        if self.scenarios is not None:
            levels += [rule.level for rule in self.scenarios.each]
            if self.scenarios.no_new_failures:
                levels.append(self.scenarios.level)
        return levels

    def listed(self) -> list[tuple[str, Any]]:
        """Every rule with the path the policy writes it at, in policy order (the
        ``scenarios`` mapping itself only where it holds a rule, no_new_failures)."""
        found: list[tuple[str, Any]] = [
            (f"rules.{name}", getattr(self, name))
            for name in ("success_rate", "expected_outcomes", "runs", "critical_categories")
            if getattr(self, name) is not None
        ]
        if self.infrastructure is not None:
            found.append(("rules.infrastructure", self.infrastructure))
        found += [(f"rules.metrics[{index}]", rule) for index, rule in enumerate(self.metrics)]
        if self.scenarios is not None:
            if self.scenarios.no_new_failures:
                found.append(("rules.scenarios", self.scenarios))
            found += [(rule.path, rule) for rule in self.scenarios.each]
        return found

    def waivers(self) -> list[tuple[Waiver, Level]]:
        """Every rule's waiver with the level the policy gives it, in policy order."""
        rules: list[Any] = [
            self.success_rate,
            self.expected_outcomes,
            self.runs,
            self.critical_categories,
            self.infrastructure,
            *self.metrics,
        ]
        if self.scenarios is not None:
            # The mapping's own waiver covers no_new_failures; rules under each that
            # inherit it share its path, so it is listed once either way.
            rules += [self.scenarios] if self.scenarios.no_new_failures else []
            rules += self.scenarios.each
        found: dict[str, tuple[Waiver, Level]] = {}
        for rule in rules:
            if rule and rule.waiver:  # rules under scenarios.each may share the mapping's
                found.setdefault(rule.waiver.path, (rule.waiver, rule.level))
        return list(found.values())

    def baseline_rules(self, today: datetime.date | None = None) -> list[str]:
        """Paths of the rules that compare with a baseline and are not off on ``today``
        (a rule that is off until a date that has passed is on)."""

        def off(rule: Any) -> bool:
            return rule is not None and effective_level(rule.level, rule.waiver, today) is Level.OFF

        found: list[str] = []
        if self.success_rate and self.success_rate.max_drop is not None:
            found.append("rules.success_rate.max_drop")
        for index, metric in enumerate(self.metrics):
            if off(metric):
                continue
            for key in ("p50", "mean"):
                bounds = getattr(metric, key)
                if bounds is not None and bounds.relative:
                    found.append(f"rules.metrics[{index}].{key}")
            if metric.pass_percent and metric.pass_percent.max_drop is not None:
                found.append(f"rules.metrics[{index}].pass_percent.max_drop")
        if self.scenarios and self.scenarios.no_new_failures:
            found.append("rules.scenarios.no_new_failures")
        if self.critical_categories and self.critical_categories.no_new_categories:
            found.append("rules.critical_categories.no_new_categories")
        owners = {
            "rules.success_rate": self.success_rate,
            "rules.scenarios": self.scenarios,
            "rules.critical_categories": self.critical_categories,
        }
        return [
            path
            for path in found
            if not any(path.startswith(prefix) and off(rule) for prefix, rule in owners.items())
        ]


def waiver_expired(waiver: Waiver, today: datetime.date | None) -> bool:
    """Past its ``until`` (inclusive, UTC); without a date, a dated waiver counts as expired."""
    return waiver.until is not None and (today is None or today > waiver.until)


def effective_level(level: Level, waiver: Waiver | None, today: datetime.date | None) -> Level:
    """A rule's level on ``today``: a warn or off rule whose waiver expired is an error."""
    if waiver is not None and level is not Level.ERROR and waiver_expired(waiver, today):
        return Level.ERROR
    return level


@dataclass(frozen=True, slots=True)
class BaselineSource:
    """The policy's ``baseline:``: a result id to fetch, or a file (relative to the policy)."""

    result_id: int | None = None
    file: str | None = None


@dataclass(frozen=True, slots=True)
class RerunSettings:
    """The policy's ``run.rerun``: how often ``cekura-gate run`` reruns a run slot whose
    latest attempt was infrastructure-failed or failed, and the most calls it may start in
    all, the first result's included (``None``: no cap; needed once a rerun is asked for)."""

    infrastructure: int = 0
    failed: int = 0
    max_calls: int | None = None

    @property
    def active(self) -> bool:
        return bool(self.infrastructure or self.failed)


RERUN_KEYS = ("infrastructure", "failed")
RERUN_NEEDS_CAP = (
    "missing: every rerun is a billed call, so a rerun needs the most calls the gate may "
    "start in all (the first result's included)"
)
RERUN = Section(
    (
        Key(
            "infrastructure",
            Count(minimum=0),
            "Rerun a run slot whose latest attempt was infrastructure-failed up to this many "
            "times (default 0).",
        ),
        Key(
            "failed",
            Count(minimum=0),
            "Rerun a run slot whose latest attempt failed (not for infrastructure) up to this "
            "many times (default 0).",
        ),
        Key(
            "max_calls",
            ID,
            "The most calls the gate may start in all, the first result's included; needed "
            "with infrastructure or failed.",
        ),
    ),
    needs=(("infrastructure", "failed", "max_calls"),),
    also={"dependentRequired": {name: ["max_calls"] for name in RERUN_KEYS}},
)


@dataclass(frozen=True, slots=True)
class RunSettings:
    """How ``cekura-gate run`` starts scenarios (the policy's ``run:`` section).

    Exactly one selector: ``scenario_ids`` and/or ``tags``, or ``folder_path`` with
    ``project_id``. ``number_mode`` is the API's own ``mode`` field.
    """

    agent_id: int | None = field(
        default=None, metadata=policy_key(ID, "The agent under test.", api="agent_id")
    )
    scenario_ids: tuple[int, ...] = field(
        default=(),
        metadata=policy_key(IdList(), "Scenarios to run.", api="scenarios", selector=True),
    )
    tags: tuple[str, ...] = field(
        default=(),
        metadata=policy_key(
            TextList(non_empty=True),
            "Run the scenarios with these tags.",
            api="tags",
            selector=True,
        ),
    )
    folder_path: str | None = field(
        default=None,
        metadata=policy_key(
            Text(),
            'Run the scenarios in this folder, e.g. "Sales.Inbound" (needs project_id).',
            api="folder_path",
            selector=True,
        ),
    )
    project_id: int | None = field(default=None, metadata=policy_key(ID, api="project_id"))
    mode: str = field(
        default="voice",
        metadata=policy_key(
            Choice(TRANSPORT_MODES), "voice calls (run_scenarios) or text (run_scenarios_text)."
        ),
    )
    frequency: int | None = field(
        default=None,
        metadata=policy_key(ID, "Each scenario runs this many times.", api="frequency"),
    )
    name: str | None = field(
        default=None,
        metadata=policy_key(Text(), "A label for the result; the CLI adds the commit.", api="name"),
    )
    personality_ids: tuple[int, ...] = field(
        default=(), metadata=policy_key(IdList(), api="personality_ids")
    )
    test_profile_ids: tuple[int, ...] = field(
        default=(), metadata=policy_key(IdList(), api="test_profile_ids")
    )
    concurrency_limit: int | None = field(
        default=None, metadata=policy_key(ID, api="concurrency_limit")
    )
    personality_id: int | None = field(default=None, metadata=policy_key(ID, api="personality_id"))
    test_profile_id: int | None = field(
        default=None, metadata=policy_key(ID, api="test_profile_id")
    )
    number_mode: str | None = field(
        default=None,
        metadata=policy_key(
            Choice(("same_number", "different_numbers")), "The API's own `mode` field.", api="mode"
        ),
    )
    outbound_phone_number: str | None = field(
        default=None, metadata=policy_key(Text(), api="outbound_phone_number")
    )
    agent_number: str | None = field(default=None, metadata=policy_key(Text(), api="agent_number"))
    mock_tool_names: tuple[str, ...] | None = field(
        default=None,
        metadata=policy_key(
            TextList(non_empty=False),
            "Tools to mock; [] mocks none, absent mocks all.",
            api="mock_tool_names",
            keep_empty=True,
        ),
    )
    websocket_url: str | None = field(
        default=None, metadata=policy_key(Text(), api="websocket_url")
    )
    websocket_headers: tuple[tuple[str, str], ...] | None = field(
        default=None, metadata=policy_key(TextMap(), api="websocket_headers")
    )
    rerun: RerunSettings | None = field(
        default=None,
        metadata=policy_key(
            RERUN,
            "After the result finishes, rerun only the scenarios whose runs were "
            "infrastructure-failed or failed, within max_calls calls in all.",
        ),
    )

    @property
    def has_selector(self) -> bool:
        return bool(self.scenario_ids or self.tags or self.folder_path)


RUN_KEYS = tuple(spec.name for spec in fields(RunSettings))
RUN_SELECTORS = tuple(spec.name for spec in fields(RunSettings) if spec.metadata["selector"])


def selector_problem(run: RunSettings) -> str | None:
    """Why the run settings cannot start a run (cross-field rules); ``None`` if they can."""
    if run.folder_path and (run.scenario_ids or run.tags):
        return "folder_path cannot be combined with scenario_ids or tags; use one selector"
    if run.folder_path and run.project_id is None:
        return "folder_path needs project_id"
    if not run.has_selector:
        return "no scenarios selected; set scenario_ids, tags, or folder_path with project_id"
    return None


@dataclass(frozen=True, slots=True)
class Policy:
    source: str
    version: int
    wait: WaitSettings
    rules: Rules
    run: RunSettings | None = None
    baseline: BaselineSource | None = None
