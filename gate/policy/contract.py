"""The policy contract, written once: every key a policy may have, its kind and its help.

``gate.policy.load`` reads these tables for the keys it allows, the kind of each value and
the keys a rule needs; ``gate.policy.schema`` renders them as the shipped JSON Schema. The
``run:`` keys are the fields of ``RunSettings`` (their metadata says the kind). What a table
cannot say (a bound that only makes sense against another, a waiver's inheritance) the
loader checks in code, and ``Section.also`` states it for the schema where a schema can.
"""

from __future__ import annotations

from gate.dataclasses import fields
from gate.policy.kinds import (
    Caps,
    Choice,
    Const,
    Count,
    Date,
    Duration,
    Flag,
    Forms,
    IdOrText,
    Key,
    ListOf,
    Named,
    Number,
    OneOrList,
    Percent,
    Section,
    Text,
    TextList,
    Waived,
)
from gate.policy.model import (
    ID,
    RUN_SELECTORS,
    SUPPORTED_VERSIONS,
    InfrastructureRuns,
    Level,
    Missing,
    RunSettings,
)

MODERN_PRIORITIES = ("critical", "non-critical")
LEGACY_PRIORITIES = ("high", "medium", "low")
PRIORITIES = (*MODERN_PRIORITIES, *LEGACY_PRIORITIES)

# Kinds the schema defines once under $defs (in this order) and refers to.
LEVEL = Named(
    "level",
    Choice(tuple(level.value for level in Level)),
    "error fails the gate, warn only warns, off skips the rule.",
)
PERCENT_HELP = (
    'written 95 or "95%"; a number in (0, 1] is refused as ambiguous (0.95 reads as 0.95 %): '
    'write a fraction of a percent with its sign, "0.95%".'
)
PERCENT = Named("percent", Percent(high=100), "A percent from 0 to 100, " + PERCENT_HELP)
PERCENT_CHANGE = Named(
    "percent_change", Percent(high=None), "A percent of at least 0, " + PERCENT_HELP
)
COUNT = Named("count", Count(minimum=0))
DURATION = Named("duration", Duration(), "90s, 15m, 1h30m, or a number of seconds.")
PRIORITY = Named(
    "priority", Choice(PRIORITIES), "A finding priority: critical/non-critical or high/medium/low."
)
UNTIL = Named(
    "until",
    Date(),
    "Waiver end, YYYY-MM-DD (inclusive, UTC): the rule must warn or be off, and becomes an "
    "error again after this day.",
)
REASON = Named("reason", Text(), "Why the rule is waived (shown in reports).")
WAIVED = Named(
    "waived",
    Waived(tuple(level.value for level in Level if level is not Level.ERROR)),
    "A rule with until must say level: warn or level: off.",
)


MISSING = Named(
    "missing",
    Choice(tuple(missing.value for missing in Missing)),
    "When the result does not have what the rule names: error (the default) fails the gate "
    "whatever the rule's level, warn only warns, ignore skips the rule.",
)


INFRASTRUCTURE_RUNS = Named(
    "infrastructure_runs",
    Choice(tuple(mode.value for mode in InfrastructureRuns)),
    "What the rule does with infrastructure-failed runs (calls that never connected, provider "
    "errors): exclude (the default) leaves them out of both its count and its total, count "
    "judges them as runs that did not pass.",
)
INFRASTRUCTURE_RUNS_KEY = Key("infrastructure", INFRASTRUCTURE_RUNS)


TEST_ID = Named(
    "test_id",
    Text(max_length=100),
    "The rule's name in every report (JUnit testcase, JSON id, annotations) instead of its "
    "label, so that renaming the metric or moving the rule keeps its test history; one line of "
    "printable text, at most 100 characters, unique in the policy.",
)
TEST_ID_KEY = Key("test_id", TEST_ID)


def waiver_keys(level_help: str | None = None) -> tuple[Key, ...]:
    """``level``, ``until`` and ``reason``: how a rule's failure counts, and its waiver."""
    return (Key("level", LEVEL, level_help), Key("until", UNTIL), Key("reason", REASON))


WAIVER_KEYS = tuple(key.name for key in waiver_keys())

BOUNDS = Named(
    "bounds",
    Section(
        (
            Key("min", Number(), "Lowest value that passes."),
            Key("max", Number(), "Highest value that passes."),
            Key(
                "max_increase_percent",
                PERCENT_CHANGE,
                "Most the value may rise above the baseline's, in percent of it (needs baseline).",
            ),
            Key(
                "max_decrease_percent",
                PERCENT_CHANGE,
                "Most the value may fall below the baseline's, in percent of it (needs baseline).",
            ),
        ),
        sizes=(1, None),
    ),
    "An inclusive range and/or how far the value may move from the baseline's, in percent of "
    "the baseline value.",
)
RELATIVE_BOUNDS = ("max_increase_percent", "max_decrease_percent")

SCENARIO_RULE = Named(
    "scenario_rule",
    Section(
        (
            Key(
                "match",
                IdOrText(),
                'A scenario id, or a name glob such as "Refund *" (case-insensitive).',
            ),
            Key("min_passes", ID, "Fewest passing runs per scenario (at most frequency)."),
            Key("min_pass_percent", PERCENT, "Lowest percent of passing runs per scenario."),
            Key(
                "pass_percent",
                Section((Key("min", PERCENT),), required=("min",)),
                "The same as min_pass_percent, written as metric rules write it: {min: 66}.",
            ),
            Key(
                "frequency",
                ID,
                "Runs each scenario should have had; missing runs count as not passed.",
            ),
            Key(
                "required",
                Flag(),
                "true: a rule with no bound that only asks for a matching scenario to be in "
                "the result.",
            ),
            Key("missing", MISSING),
            INFRASTRUCTURE_RUNS_KEY,
            *waiver_keys(),
            TEST_ID_KEY,
        ),
        needs=(("min_passes", "min_pass_percent", "pass_percent", "required"),),
        required=("match",),
        waiver=True,
        also={
            "allOf": [
                {"not": {"required": ["min_pass_percent", "pass_percent"]}},
                {
                    "not": {
                        "required": ["required", "missing"],
                        "properties": {
                            "required": {"const": True},
                            "missing": {"not": {"const": Missing.ERROR.value}},
                        },
                    }
                },
            ]
        },
    ),
    "k-of-n for the scenarios match selects, each judged on its own runs; needs min_passes, "
    "min_pass_percent (or pass_percent.min) or required: true.",
)
SCENARIO_GROUP = Named(
    "scenario_group",
    Section(
        (
            Key(
                "no_new_failures",
                Flag(),
                "true: a scenario that passed on the baseline must not fail now (needs baseline).",
            ),
            Key("each", ListOf(SCENARIO_RULE), "Per-scenario rules."),
            *waiver_keys(
                "The level of no_new_failures, and the default level of the rules under each."
            ),
            TEST_ID_KEY,
        ),
        needs=(("no_new_failures", "each"),),
        waiver=True,
    ),
    "Scenario rules under each, and/or no_new_failures; needs no_new_failures: true or a "
    "non-empty each. Its level, until and reason apply to no_new_failures and are the "
    "defaults, key by key, of the rules under each (a rule with its own until sets its own "
    "level; a rule with level error does not inherit until).",
)
DEFINED: tuple[Named, ...] = (
    LEVEL,
    MISSING,
    INFRASTRUCTURE_RUNS,
    TEST_ID,
    PERCENT,
    PERCENT_CHANGE,
    COUNT,
    DURATION,
    PRIORITY,
    UNTIL,
    REASON,
    WAIVED,
    BOUNDS,
    SCENARIO_RULE,
    SCENARIO_GROUP,
)

SUCCESS_RATE = Section(
    (
        Key("min", PERCENT, "Lowest success rate that passes."),
        Key(
            "max_drop",
            PERCENT,
            "Most percentage points the success rate may fall below the baseline's "
            "(needs baseline).",
        ),
        INFRASTRUCTURE_RUNS_KEY,
        *waiver_keys(),
        TEST_ID_KEY,
    ),
    needs=(("min", "max_drop"),),
    waiver=True,
)
EXPECTED_OUTCOMES = Section(
    (
        Key("min_met_percent", PERCENT),
        Key("max_unmet", COUNT),
        INFRASTRUCTURE_RUNS_KEY,
        *waiver_keys(),
        TEST_ID_KEY,
    ),
    needs=(("min_met_percent", "max_unmet"),),
    waiver=True,
)
RUNS = Section(
    (
        Key("min_total", ID, "Fewest runs in the result, infrastructure-failed ones included."),
        Key("max_failed", COUNT),
        INFRASTRUCTURE_RUNS_KEY,
        *waiver_keys(),
        TEST_ID_KEY,
    ),
    needs=(("min_total", "max_failed"),),
    waiver=True,
)
INFRASTRUCTURE = Section(
    (
        Key("max", COUNT, "Most infrastructure-failed runs."),
        Key("max_percent", PERCENT, "Most infrastructure-failed runs, in percent of all runs."),
        *waiver_keys(),
        TEST_ID_KEY,
    ),
    needs=(("max", "max_percent"),),
    waiver=True,
)
CRITICAL_CATEGORIES = Section(
    (
        Key(
            "max",
            Caps((MODERN_PRIORITIES, LEGACY_PRIORITIES)),
            "Caps per priority, in one vocabulary: critical/non-critical or high/medium/low.",
        ),
        Key(
            "no_new_categories",
            OneOrList(PRIORITY),
            "Priorities (one or a list) under which a category that the baseline did not have "
            "fails the rule (needs baseline).",
        ),
        Key(
            "ignore",
            TextList(non_empty=False),
            "Priorities or category names that never count.",
        ),
        *waiver_keys(),
        TEST_ID_KEY,
    ),
    needs=(("max", "no_new_categories"),),
    waiver=True,
)
METRIC_PASS_PERCENT = Section(
    (
        Key("min", PERCENT, "Lowest pass percent."),
        Key(
            "max_drop",
            PERCENT,
            "Most percentage points the pass percent may fall below the baseline's "
            "(needs baseline).",
        ),
    ),
    sizes=(1, None),
)
ENUM_SHARE = Section(
    (
        Key("value", Text(), "The enum value to count, e.g. frustrated."),
        Key("max_percent", PERCENT, "Highest share."),
        Key("min_percent", PERCENT, "Lowest share."),
    ),
    needs=(("max_percent", "min_percent"),),
    required=("value",),
)
METRIC = Section(
    (
        Key("name", Text(), "The metric's name (case-insensitive)."),
        Key("id", ID, "The metric's id."),
        Key("p50", BOUNDS, "Bounds on the median score over runs."),
        Key("mean", BOUNDS, "Bounds on the mean score over runs."),
        Key(
            "pass_percent",
            METRIC_PASS_PERCENT,
            "A binary metric: the percent of runs that passed it.",
        ),
        Key(
            "enum",
            ENUM_SHARE,
            "An enum metric: the percent of runs whose value is `value` (case-insensitive).",
        ),
        Key("missing", MISSING),
        *waiver_keys(),
        TEST_ID_KEY,
    ),
    needs=(("name", "id"), ("p50", "mean", "pass_percent", "enum")),
    waiver=True,
)
SCENARIOS = Forms(SCENARIO_RULE, SCENARIO_GROUP, marker="match")

RULES = Section(
    (
        Key(
            "success_rate",
            SUCCESS_RATE,
            "result.success_rate, percent 0-100: an absolute floor and/or the most it may drop "
            "below the baseline's.",
        ),
        Key(
            "expected_outcomes",
            EXPECTED_OUTCOMES,
            "met_expected_outcome_count against total_expected_outcome_count.",
        ),
        Key("runs", RUNS, "Run counts; failed = total - successful."),
        Key(
            "infrastructure",
            INFRASTRUCTURE,
            "Caps on infrastructure-failed runs (calls that never connected, provider errors), "
            "which the other rules leave out by default. Without this rule, any such run warns; "
            "whatever the rule, a result with no run left to judge fails.",
        ),
        Key(
            "critical_categories",
            CRITICAL_CATEGORIES,
            "Findings on runs, counted by priority across all runs: caps per priority and/or "
            "priorities under which no category may appear that the baseline did not have.",
        ),
        Key(
            "metrics",
            ListOf(METRIC),
            "Metrics, matched by name (case-insensitive) or id, each with at least one of p50, "
            "mean, pass_percent or enum.",
        ),
        Key(
            "scenarios",
            SCENARIOS,
            "Per-scenario pass counts: a list of scenario rules, one scenario rule (a mapping "
            "with match), or a mapping with each and/or no_new_failures.",
        ),
    ),
    sizes=(1, None),
)
RULE_NAMES = RULES.names

WAIT = Section(
    (
        Key("timeout", DURATION, "Whole wait (default 45m)."),
        Key("poll_interval", DURATION, "First pause between polls (default 10s)."),
        Key("max_poll_interval", DURATION, "Longest pause between polls (default 120s)."),
    )
)

BASELINE = Section(
    (
        Key("result_id", ID, "A Cekura result id to fetch as the baseline."),
        Key("file", Text(), "A saved result JSON file, relative to the policy file."),
    ),
    sizes=(1, 1),
)


def _run_section() -> Section:
    """The ``run:`` keys are the fields of ``RunSettings``; the schema also states the
    cross-key rules of ``selector_problem``."""
    keys = tuple(
        Key(spec.name, spec.metadata["kind"], spec.metadata["description"])
        for spec in fields(RunSettings)
    )
    others = [name for name in RUN_SELECTORS if name != "folder_path"]
    also = {
        "anyOf": [{"required": [name]} for name in RUN_SELECTORS],
        "not": {"anyOf": [{"required": ["folder_path", name]} for name in others]},
        "dependentRequired": {"folder_path": ["project_id"]},
    }
    return Section(keys, also=also)


RUN = _run_section()

POLICY = Section(
    (
        Key("version", Const(SUPPORTED_VERSIONS[0]), "Policy format version."),
        Key("wait", WAIT, "How live mode waits for a result to finish."),
        Key("rules", RULES, "The checks. At least one rule must be present and not off."),
        Key(
            "run",
            RUN,
            "How `cekura-gate run` starts the scenarios. Exactly one selector: scenario_ids "
            "and/or tags, or folder_path with project_id.",
        ),
        Key(
            "baseline",
            BASELINE,
            "The result that relative rules (max_drop, max_increase_percent, "
            "max_decrease_percent, no_new_failures, no_new_categories) compare with: exactly "
            "one of result_id or file.",
        ),
    ),
    required=("version", "rules"),
)
TITLE = "cekura-gate policy"
DESCRIPTION = "Thresholds that a Cekura test result must meet for the gate to pass."
