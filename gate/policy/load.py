"""YAML text in, a frozen ``Policy`` out: the location-aware validator.

``parse_policy(text, source=...)`` raises ``PolicyError`` with a message that names the
file and the key, e.g. ``gate.yaml: rules.metrics[1].p50.max: expected a number, got 'fast'``.
Which keys a mapping allows, what kind each value is and which keys a rule needs come from
``gate.policy.contract`` (the source of the JSON Schema too); this module adds the order of
the checks, the wording of the messages and the rules that span keys.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping
from typing import Any

import yaml

from gate import dataclasses, lazy
from gate.errors import PolicyError
from gate.policy.contract import (
    BASELINE,
    BOUNDS,
    CRITICAL_CATEGORIES,
    ENUM_SHARE,
    EXPECTED_OUTCOMES,
    INFRASTRUCTURE,
    LEVEL,
    METRIC,
    METRIC_PASS_PERCENT,
    POLICY,
    RULE_NAMES,
    RULES,
    RUN,
    RUNS,
    SCENARIO_GROUP,
    SCENARIO_RULE,
    SCENARIOS,
    SUCCESS_RATE,
    WAIT,
    WAIVER_KEYS,
)
from gate.policy.kinds import (
    NOT_IN_ONE_LINE,
    Caps,
    Choice,
    Count,
    Date,
    Duration,
    IdList,
    Kind,
    Number,
    OneOrList,
    Percent,
    Section,
    Text,
    TextList,
    TextMap,
    kind_of,
)
from gate.policy.model import (
    DEFAULT_MAX_POLL_INTERVAL_S,
    DEFAULT_POLL_INTERVAL_S,
    DEFAULT_TIMEOUT_S,
    MAX_POLICY_BYTES,
    MAX_WHOLE_NUMBER,
    RERUN,
    RERUN_NEEDS_CAP,
    SUPPORTED_VERSIONS,
    BaselineSource,
    Bounds,
    CriticalCategoriesRule,
    EnumShare,
    ExpectedOutcomesRule,
    InfrastructureRule,
    InfrastructureRuns,
    Level,
    MetricRule,
    Missing,
    PassPercent,
    Policy,
    RerunSettings,
    Rules,
    RunSettings,
    RunsRule,
    ScenarioRule,
    ScenariosRule,
    SuccessRateRule,
    WaitSettings,
    Waiver,
    selector_problem,
)
from gate.policy.units import parse_date, parse_duration
from gate.policy.yamlload import describe_yaml_error, load_yaml_with_lines


def parse_policy(text: str, *, source: str) -> Policy:
    """Parse and validate a policy document; raises ``PolicyError``."""
    if len(text.encode("utf-8", errors="replace")) > MAX_POLICY_BYTES:
        raise PolicyError(f"{source}: the file is larger than {MAX_POLICY_BYTES} bytes")
    try:
        data, lines = load_yaml_with_lines(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{source}: invalid YAML: {describe_yaml_error(exc)}") from None
    except RecursionError:
        raise PolicyError(f"{source}: invalid YAML: nested too deeply") from None
    except ValueError as exc:  # a scalar PyYAML cannot build, such as '!!int abc'
        raise PolicyError(f"{source}: invalid YAML: {exc}") from None
    return _Validator(source, lines).policy(data)


def _show(value: object) -> str:
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return repr(text)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    if isinstance(value, int) and abs(value) >= 10**18:
        return "a very large number"  # repr() of a huge int can itself raise
    return repr(value)


class _Validator:
    """Walks the raw YAML data; every error names ``source: path``."""

    def __init__(self, source: str, lines: Mapping[str, int] | None = None) -> None:
        self.source = source
        self.lines = lines or {}

    def fail(self, path: str, message: str) -> PolicyError:
        where = f"{self.source}: {path}: " if path else f"{self.source}: "
        return PolicyError(where + message)

    # ---- generic helpers

    def mapping(self, value: object, path: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            return self._not_mapping(value, path)
        for key in value:
            if not isinstance(key, str):
                raise self.fail(path, f"keys must be strings, got {_show(key)}")
        return value

    def _not_mapping(self, value: object, path: str) -> Mapping[str, Any]:
        raise self.fail(path, f"expected a mapping, got {_show(value)}")

    def keyed(self, value: object, path: str, section: Section) -> Mapping[str, Any]:
        """A mapping whose keys are all among the ``section``'s."""
        data = self.mapping(value, path)
        self.known_keys(data, path, section.names)
        return data

    def known_keys(self, data: Mapping[str, Any], path: str, allowed: tuple[str, ...]) -> None:
        for key in data:
            if key not in allowed:
                shown = _key_text(key)
                where = f"{path}.{shown}" if path else shown
                raise self.fail(where, "unknown key" + _suggest(key, allowed))

    def number(
        self, value: object, path: str, *, low: float | None = None, high: float | None = None
    ) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(path, f"expected a number, got {_show(value)}")
        try:
            number = float(value)
        except OverflowError:
            number = math.inf if value > 0 else -math.inf
        if not math.isfinite(number):
            raise self.fail(path, f"expected a finite number, got {_show(number)}")
        if (low is not None and number < low) or (high is not None and number > high):
            if high is None:
                wanted = f"a number of at least {_num(low)}"
            elif low is None:
                wanted = f"a number of at most {_num(high)}"
            else:
                wanted = f"a number from {_num(low)} to {_num(high)}"
            raise self.fail(path, f"expected {wanted}, got {_num(number)}")
        return number

    def percent(self, value: object, path: str, *, high: float | None) -> float:
        """95 or "95%"; a bare number in (0, 1] is ambiguous (a fraction, or a fraction of a
        percent?), so it must carry its sign to mean a fraction of a percent."""
        if isinstance(value, str) and (written := _PERCENT_TEXT.fullmatch(value)):
            return self.number(float(written["number"]), path, low=0, high=high)
        number = self.number(value, path, low=0, high=high)
        if 0 < number <= 1:
            shown = _num(number)
            raise self.fail(
                path,
                f"{shown} reads as {shown} %; did you mean {_num(round(number * 100, 9))}? "
                f'(write "{shown}%" if you mean {shown} %)',
            )
        return number

    def count(self, value: object, path: str, *, minimum: int = 0) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(path, f"expected a whole number, got {_show(value)}")
        if value > MAX_WHOLE_NUMBER:
            raise self.fail(path, f"expected a whole number up to {MAX_WHOLE_NUMBER}")
        if value < minimum:
            raise self.fail(
                path, f"expected a whole number of at least {minimum}, got {_show(value)}"
            )
        return value

    def waiver(self, data: Mapping[str, Any], path: str, level: Level) -> Waiver | None:
        """A rule's ``until``/``reason``; ``until`` only on a rule that warns or is off."""
        if "until" not in data and "reason" not in data:
            return None
        until = self.date(data["until"], f"{path}.until") if "until" in data else None
        reason = self.text(data["reason"], f"{path}.reason") if "reason" in data else None
        if until is not None and level is Level.ERROR:
            raise self.fail(
                f"{path}.until",
                "a waiver needs 'level: warn' (or off): until is the day the rule "
                "becomes an error again",
            )
        return Waiver(path, until, reason)

    def date(self, value: object, path: str) -> datetime.date:
        if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
            return value
        day = parse_date(value)
        if day is None:
            raise self.fail(path, f"expected a date such as 2026-12-31, got {_show(value)}")
        return day

    def level(self, data: Mapping[str, Any], path: str) -> Level:
        raw = data.get("level", "error")
        try:
            return Level(raw)
        except (ValueError, TypeError):
            levels = _choices(LEVEL)
            hint = _suggest(raw, levels) if isinstance(raw, str) else ""
            hint = hint if "did you mean" in hint else ""
            raise self.fail(
                f"{path}.level", f"expected one of {', '.join(levels)}, got {_show(raw)}{hint}"
            ) from None

    def duration(self, value: object, path: str) -> float:
        seconds = parse_duration(value)
        if seconds is None:
            # 1:30 is base 60 in YAML 1.1 (90): minutes and seconds, or hours and minutes?
            hint = (
                "; write minutes and seconds as 1m30s, hours and minutes as 1h30m"
                if isinstance(value, str) and ":" in value
                else ""
            )
            raise self.fail(
                path,
                f"expected a duration such as 90s, 15m, 1h30m or a number of seconds, "
                f"got {_show(value)}{hint}",
            )
        return seconds

    # ---- document

    def policy(self, data: object) -> Policy:
        if data is None:
            raise self.fail("", "the policy is empty; it needs 'version: 1' and 'rules'")
        if not isinstance(data, Mapping):
            raise self.fail("", f"expected a mapping at the top level, got {_show(data)}")
        data = self.keyed(data, "", POLICY)
        version = self.version(data)
        wait = self.wait(data)
        if "rules" not in data:
            raise self.fail("rules", "missing; a gate that checks nothing cannot pass")
        rules = self.rules(data["rules"])
        run = self.run_section(data["run"]) if "run" in data else None
        baseline = self.baseline(data["baseline"]) if "baseline" in data else None
        return Policy(self.source, version, wait, rules, run, baseline)

    def baseline(self, raw: object) -> BaselineSource:
        data = self.keyed(raw, "baseline", BASELINE)
        if len(data) != 1:
            raise self.fail("baseline", f"set exactly one of {_either(BASELINE.names)}")
        return BaselineSource(**self.fields(BASELINE, data, "baseline"))

    def version(self, data: Mapping[str, Any]) -> int:
        if "version" not in data:
            raise self.fail("version", "missing; add 'version: 1'")
        raw = data["version"]
        if isinstance(raw, str) and raw.strip() in {str(v) for v in SUPPORTED_VERSIONS}:
            raise self.fail(
                "version", f"expected the number {raw.strip()}, got the string {_show(raw)}"
            )
        if isinstance(raw, bool) or raw not in SUPPORTED_VERSIONS:
            raise self.fail("version", f"unsupported version {_show(raw)}; expected 1")
        return int(raw)

    def wait(self, data_root: Mapping[str, Any]) -> WaitSettings:
        if "wait" not in data_root:
            return WaitSettings()
        data = self.keyed(data_root["wait"], "wait", WAIT)
        timeout, interval, max_interval = (
            self.field(WAIT, data, key, "wait") for key in WAIT.names
        )
        settings = WaitSettings(
            timeout_s=timeout or DEFAULT_TIMEOUT_S,
            poll_interval_s=interval or DEFAULT_POLL_INTERVAL_S,
            max_poll_interval_s=max_interval or max(interval or 0, DEFAULT_MAX_POLL_INTERVAL_S),
        )
        if settings.max_poll_interval_s < settings.poll_interval_s:
            raise self.fail("wait.max_poll_interval", "must not be shorter than poll_interval")
        return settings

    # ---- run

    def run_section(self, raw: object) -> RunSettings:
        data = self.keyed(raw, "run", RUN)
        plain = {key: value for key, value in data.items() if key != "rerun"}
        values = self.fields(RUN, plain, "run")
        if "rerun" in data:
            values["rerun"] = self.rerun(data["rerun"], "run.rerun")
        run = RunSettings(**values)
        problem = selector_problem(run)
        if problem is not None:
            raise self.fail("run", problem)
        return run

    def rerun(self, raw: object, path: str) -> RerunSettings:
        data = self.keyed(raw, path, RERUN)
        if not data:
            raise self.fail(path, "empty; set " + _either(RERUN.names))
        rerun = RerunSettings(**self.fields(RERUN, data, path))
        if rerun.active and rerun.max_calls is None:
            raise self.fail(f"{path}.max_calls", RERUN_NEEDS_CAP)
        return rerun

    # ---- values, by the kind the contract gives their key

    def fields(self, section: Section, data: Mapping[str, Any], path: str) -> dict[str, Any]:
        """Every key of ``data`` (all known to ``section``), checked in the order the policy
        writes them."""
        return {key: self.value(section.kind(key), data[key], f"{path}.{key}") for key in data}

    def field(self, section: Section, data: Mapping[str, Any], key: str, path: str) -> Any:
        """The value of ``key`` if ``data`` has it, else ``None``."""
        return self.value(section.kind(key), data[key], f"{path}.{key}") if key in data else None

    def value(self, kind: Kind, value: object, path: str) -> Any:
        kind = kind_of(kind)
        if isinstance(kind, Number):
            return self.number(value, path, low=kind.low, high=kind.high)
        if isinstance(kind, Percent):
            return self.percent(value, path, high=kind.high)
        if isinstance(kind, Count):
            return self.count(value, path, minimum=kind.minimum)
        if isinstance(kind, Text):
            return self.text(value, path, max_length=kind.max_length)
        if isinstance(kind, Choice):
            return self.choice(value, path, kind.values)
        if isinstance(kind, Duration):
            return self.duration(value, path)
        if isinstance(kind, Date):
            return self.date(value, path)
        if isinstance(kind, IdList):
            return self.id_list(value, path)
        if isinstance(kind, TextList):
            return self.string_list(value, path, allow_empty=not kind.non_empty)
        if isinstance(kind, TextMap):
            return self.string_map(value, path)
        raise TypeError(f"{path}: no plain check for {kind!r}")

    def id_list(self, value: object, path: str) -> tuple[int, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(path, f"expected a non-empty list of ids, got {_show(value)}")
        return tuple(self.count(item, f"{path}[{i}]", minimum=1) for i, item in enumerate(value))

    def string_list(self, value: object, path: str, *, allow_empty: bool) -> tuple[str, ...]:
        if not isinstance(value, list) or (not value and not allow_empty):
            kind = "a list of strings" if allow_empty else "a non-empty list of strings"
            raise self.fail(path, f"expected {kind}, got {_show(value)}")
        return tuple(self.text(item, f"{path}[{i}]") for i, item in enumerate(value))

    def text(self, value: object, path: str, *, max_length: int | None = None) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, f"expected a non-empty string, got {_show(value)}")
        text = value.strip()
        if max_length is None:
            return text
        if _NOT_ONE_LINE.search(text):
            raise self.fail(path, f"expected one line of printable text, got {_show(text)}")
        if len(text) > max_length:
            raise self.fail(path, f"expected at most {max_length} characters, got {len(text)}")
        return text

    def choice(self, value: object, path: str, allowed: tuple[str, ...]) -> str:
        if value not in allowed:
            raise self.fail(path, f"expected one of {', '.join(allowed)}, got {_show(value)}")
        return str(value)

    def string_map(self, value: object, path: str) -> tuple[tuple[str, str], ...]:
        data = self.mapping(value, path)
        return tuple((key, self.text(item, f"{path}.{key}")) for key, item in data.items())

    # ---- rules

    def rules(self, raw: object) -> Rules:
        if raw is None or (isinstance(raw, Mapping) and not raw):
            raise self.fail("rules", "no rules given; a gate that checks nothing cannot pass")
        data = self.keyed(raw, "rules", RULES)
        # Each rule's reader is the method of its name, called in the contract's order.
        rules = Rules(
            **{
                name: getattr(self, name)(data[name], f"rules.{name}")
                for name in RULE_NAMES
                if name in data
            }
        )
        if all(level is Level.OFF for level in rules.levels()):
            raise self.fail("rules", "every rule is off; a gate that checks nothing cannot pass")
        self.unique_test_ids(rules)
        return rules

    def unique_test_ids(self, rules: Rules) -> None:
        """A ``test_id`` names one rule's tests in every report: two rules cannot share one."""
        owners: dict[str, str] = {}
        for path, rule in rules.listed():
            if rule.test_id is None:
                continue
            if rule.test_id in owners:
                raise self.fail(
                    f"{path}.test_id",
                    f"{_show(rule.test_id)} is already the test_id of {owners[rule.test_id]}",
                )
            owners[rule.test_id] = path

    def rule_body(
        self, raw: object, path: str, section: Section
    ) -> tuple[Mapping[str, Any], Level, Waiver | None]:
        """A rule's mapping with the keys ``section`` allows and one it needs; its level and
        waiver."""
        data = self.keyed(raw, path, section)
        bounds = section.needs[0]
        if not any(key in data for key in bounds):
            raise self.fail(path, "no bound given; set " + _either(bounds))
        level = self.level(data, path)
        return data, level, self.waiver(data, path, level)

    def rule_values(self, raw: object, path: str, section: Section) -> dict[str, Any]:
        """A rule whose model fields are its keys: level and waiver first, then each bound."""
        data, level, waiver = self.rule_body(raw, path, section)
        bounds = (key for key in section.names if key not in WAIVER_KEYS)
        values = {key: self.field(section, data, key, path) for key in bounds}
        if "infrastructure" in values:
            values["infrastructure"] = _infrastructure_runs(values["infrastructure"])
        return {**values, "level": level, "waiver": waiver, "line": self.lines.get(path)}

    def success_rate(self, raw: object, path: str) -> SuccessRateRule:
        return SuccessRateRule(**self.rule_values(raw, path, SUCCESS_RATE))

    def expected_outcomes(self, raw: object, path: str) -> ExpectedOutcomesRule:
        return ExpectedOutcomesRule(**self.rule_values(raw, path, EXPECTED_OUTCOMES))

    def runs(self, raw: object, path: str) -> RunsRule:
        return RunsRule(**self.rule_values(raw, path, RUNS))

    def infrastructure(self, raw: object, path: str) -> InfrastructureRule:
        return InfrastructureRule(**self.rule_values(raw, path, INFRASTRUCTURE))

    def critical_categories(self, raw: object, path: str) -> CriticalCategoriesRule:
        data, level, waiver = self.rule_body(raw, path, CRITICAL_CATEGORIES)
        caps = self.priority_caps(data["max"], f"{path}.max") if "max" in data else ()
        ignore = self.field(CRITICAL_CATEGORIES, data, "ignore", path) or ()
        new = (
            self.priority_list(data["no_new_categories"], f"{path}.no_new_categories")
            if "no_new_categories" in data
            else ()
        )
        return CriticalCategoriesRule(
            caps,
            ignore,
            level,
            new,
            waiver,
            test_id=self.field(CRITICAL_CATEGORIES, data, "test_id", path),
            line=self.lines.get(path),
        )

    def priority_list(self, raw: object, path: str) -> tuple[str, ...]:
        kind = CRITICAL_CATEGORIES.kind("no_new_categories")
        assert isinstance(kind, OneOrList)
        allowed = _choices(kind.item)
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list) or not raw:
            raise self.fail(path, f"expected a non-empty list of priorities, got {_show(raw)}")
        for index, item in enumerate(raw):
            if item not in allowed:
                hint = _suggest(item, allowed) if isinstance(item, str) else ""
                hint = hint if "did you mean" in hint else ""
                raise self.fail(
                    f"{path}[{index}]",
                    f"expected one of {', '.join(allowed)}, got {_show(item)}{hint}",
                )
        return tuple(dict.fromkeys(raw))

    def priority_caps(self, raw: object, path: str) -> tuple[tuple[str, int], ...]:
        data = self.mapping(raw, path)
        if not data:
            raise self.fail(path, "no bound given; set a cap such as 'critical: 0'")
        kind = CRITICAL_CATEGORIES.kind("max")
        assert isinstance(kind, Caps)
        self.known_keys(data, path, tuple(word for words in kind.vocabularies for word in words))
        used = [[key for key in data if key in words] for words in kind.vocabularies]
        mixed = [", ".join(keys) for keys in used if keys]
        if len(mixed) > 1:
            vocabularies = " or ".join("/".join(words) for words in kind.vocabularies)
            raise self.fail(
                path,
                f"mixes priority vocabularies ({' with '.join(mixed)}); use {vocabularies}",
            )
        return tuple((key, self.count(data[key], f"{path}.{key}")) for key in data)

    def metrics(self, raw: object, path: str) -> tuple[MetricRule, ...]:
        if not isinstance(raw, list):
            raise self.fail(path, f"expected a list of metric rules, got {_show(raw)}")
        if not raw:
            raise self.fail(path, "empty list; remove it or add a metric rule")
        return tuple(self.metric(item, f"{path}[{index}]") for index, item in enumerate(raw))

    def metric(self, raw: object, path: str) -> MetricRule:
        data = self.keyed(raw, path, METRIC)
        names, kinds = METRIC.needs
        if not any(key in data for key in names):
            raise self.fail(path, "needs a metric 'name' or 'id'")
        name = self.field(METRIC, data, "name", path)
        metric_id = self.field(METRIC, data, "id", path)
        if not any(key in data for key in kinds):
            raise self.fail(path, "no bound given; set " + _either(kinds))
        level = self.level(data, path)
        return MetricRule(
            name=name,
            id=metric_id,
            p50=self.bounds(data["p50"], f"{path}.p50") if "p50" in data else None,
            level=level,
            mean=self.bounds(data["mean"], f"{path}.mean") if "mean" in data else None,
            pass_percent=self.pass_percent(data["pass_percent"], f"{path}.pass_percent")
            if "pass_percent" in data
            else None,
            enum=self.enum_share(data["enum"], f"{path}.enum") if "enum" in data else None,
            waiver=self.waiver(data, path, level),
            missing=self.missing(METRIC, data, path),
            test_id=self.field(METRIC, data, "test_id", path),
            line=self.lines.get(path),
        )

    def missing(self, section: Section, data: Mapping[str, Any], path: str) -> Missing:
        written = self.field(section, data, "missing", path)
        return Missing.ERROR if written is None else Missing(written)

    def bounds(self, raw: object, path: str) -> Bounds:
        section = _section(BOUNDS)
        data = self.keyed(raw, path, section)
        if not data:
            raise self.fail(path, "no bound given; set " + _either(section.names))
        absolute, relative = section.names[:2], section.names[2:]
        low, high = (self.field(section, data, key, path) for key in absolute)
        if low is not None and high is not None and low > high:
            raise self.fail(path, f"min ({_num(low)}) is greater than max ({_num(high)})")
        increase, decrease = (self.field(section, data, key, path) for key in relative)
        return Bounds(low, high, increase, decrease)

    def pass_percent(self, raw: object, path: str) -> PassPercent:
        section = METRIC_PASS_PERCENT
        data = self.keyed(raw, path, section)
        if not data:
            raise self.fail(path, "no bound given; set " + _either(section.names))
        return PassPercent(*(self.field(section, data, key, path) for key in section.names))

    def enum_share(self, raw: object, path: str) -> EnumShare:
        data = self.keyed(raw, path, ENUM_SHARE)
        if "value" not in data:
            raise self.fail(path, "needs the enum 'value' to count, e.g. 'value: frustrated'")
        value = self.field(ENUM_SHARE, data, "value", path)
        bounds = ENUM_SHARE.needs[0]
        if not any(key in data for key in bounds):
            raise self.fail(path, "no bound given; set " + _either(bounds))
        high = self.field(ENUM_SHARE, data, "max_percent", path)
        low = self.field(ENUM_SHARE, data, "min_percent", path)
        if low is not None and high is not None and low > high:
            raise self.fail(
                path, f"min_percent ({_num(low)}) is greater than max_percent ({_num(high)})"
            )
        return EnumShare(value, high, low)

    # ---- scenarios

    def scenarios(self, raw: object, path: str) -> ScenariosRule:
        if isinstance(raw, list):
            return ScenariosRule(each=self.scenario_list(raw, path))
        if not isinstance(raw, Mapping):
            raise self.fail(
                path, f"expected a list of scenario rules or a mapping, got {_show(raw)}"
            )
        data = self.mapping(raw, path)
        if SCENARIOS.marker in data:  # one per-scenario rule written as a mapping
            if "each" in data or "no_new_failures" in data:
                extra = "each" if "each" in data else "no_new_failures"
                raise self.fail(
                    f"{path}.{extra}",
                    "cannot be mixed with a rule's 'match'; put that rule under each",
                )
            return ScenariosRule(each=(self.scenario(data, path),))
        self.known_keys(data, path, _section(SCENARIO_GROUP).names)
        no_new = data.get("no_new_failures", False)
        if not isinstance(no_new, bool):
            raise self.fail(
                f"{path}.no_new_failures", f"expected true or false, got {_show(no_new)}"
            )
        level = self.level(data, path)
        waiver = self.waiver(data, path, level)
        # The mapping's level, until and reason are the defaults of the rules under each.
        defaults = {key: data[key] for key in WAIVER_KEYS if key in data}
        each = self.scenario_list(data["each"], f"{path}.each", defaults) if "each" in data else ()
        if not no_new and not each:
            raise self.fail(
                path, "no bound given; set no_new_failures: true or list rules under each"
            )
        test_id = self.field(_section(SCENARIO_GROUP), data, "test_id", path)
        return ScenariosRule(each, no_new, level, waiver, test_id, self.lines.get(path))

    def scenario_list(
        self, raw: object, path: str, defaults: Mapping[str, Any] | None = None
    ) -> tuple[ScenarioRule, ...]:
        if not isinstance(raw, list):
            raise self.fail(path, f"expected a list of scenario rules, got {_show(raw)}")
        if not raw:
            raise self.fail(path, "empty list; remove it or add a scenario rule")
        return tuple(
            self.scenario(item, f"{path}[{index}]", defaults) for index, item in enumerate(raw)
        )

    def scenario(
        self, raw: object, path: str, defaults: Mapping[str, Any] | None = None
    ) -> ScenarioRule:
        section = _section(SCENARIO_RULE)
        data = self.keyed(raw, path, section)
        if "match" not in data:
            raise self.fail(path, "needs 'match': a scenario name (glob) or id")
        match = data["match"]
        if isinstance(match, int | float) and not isinstance(match, bool):
            match = self.count(match, f"{path}.match", minimum=1)
        elif isinstance(match, str) and match.strip():
            match = match.strip()
        else:
            raise self.fail(
                f"{path}.match", f"expected a scenario name (or glob) or id, got {_show(match)}"
            )
        required = data.get("required", False)
        if not isinstance(required, bool):
            raise self.fail(f"{path}.required", f"expected true or false, got {_show(required)}")
        passes = self.field(section, data, "min_passes", path)
        frequency = self.field(section, data, "frequency", path)
        if passes is not None and frequency is not None and passes > frequency:
            runs = "1 run" if frequency == 1 else f"{frequency} runs"
            raise self.fail(
                f"{path}.min_passes", f"{passes} passes cannot happen in {runs} (frequency)"
            )
        rule = ScenarioRule(
            match=match,
            min_passes=passes,
            min_pass_percent=self.scenario_pass_percent(data, path),
            frequency=frequency,
            required=required,
            path=path,
            missing=self.missing(section, data, path),
            test_id=self.field(section, data, "test_id", path),
            line=self.lines.get(path),
            infrastructure=_infrastructure_runs(self.field(section, data, "infrastructure", path)),
        )
        if required and rule.missing is not Missing.ERROR:
            raise self.fail(
                f"{path}.missing",
                "required: true says a missing scenario fails; remove required or missing",
            )
        if not rule.has_bound and not required:
            raise self.fail(
                path, "no bound given; set min_passes, min_pass_percent or required: true"
            )
        return self.with_level(rule, data, path, defaults or {})

    def scenario_pass_percent(self, data: Mapping[str, Any], path: str) -> float | None:
        """``min_pass_percent: 66``, or ``pass_percent: {min: 66}`` as metric rules write it."""
        section = _section(SCENARIO_RULE)
        percent: float | None
        if "pass_percent" not in data:
            percent = self.field(section, data, "min_pass_percent", path)
            return percent
        if "min_pass_percent" in data:
            raise self.fail(
                f"{path}.pass_percent", "set min_pass_percent or pass_percent, not both"
            )
        shape = _section(section.kind("pass_percent"))
        inner = self.keyed(data["pass_percent"], f"{path}.pass_percent", shape)
        if "min" not in inner:
            raise self.fail(f"{path}.pass_percent", "no bound given; set min")
        percent = self.field(shape, inner, "min", f"{path}.pass_percent")
        return percent

    def with_level(
        self, rule: ScenarioRule, data: Mapping[str, Any], path: str, defaults: Mapping[str, Any]
    ) -> ScenarioRule:
        """The rule's level and waiver: its own, else those of the ``scenarios`` mapping.

        ``until`` needs the rule's own ``level`` (as the schema says); a rule that sets
        ``level: error`` does not inherit the mapping's ``until``."""
        own = {key: data[key] for key in WAIVER_KEYS if key in data}
        parent = path.rsplit(".each", 1)[0]
        if not own and defaults:  # shares the mapping's waiver, listed once
            level = self.level(defaults, parent)
            return dataclasses.replace(
                rule, level=level, waiver=self.waiver(defaults, parent, level)
            )
        if "until" in own and "level" not in own:
            self.waiver(own, path, Level.ERROR)  # raises: until needs the rule's own level
        level = self.level(own, path) if "level" in own else self.level(defaults, parent)
        inherited = {
            key: defaults[key]
            for key in WAIVER_KEYS
            if key != "level" and key in defaults and key not in own and level is not Level.ERROR
        }
        return dataclasses.replace(
            rule, level=level, waiver=self.waiver({**inherited, **own}, path, level)
        )


# A percent written with its sign: "95%", "0.5 %" (what a percent key takes as a string).
_NOT_ONE_LINE = lazy.compile(f"[{NOT_IN_ONE_LINE}]")
_PERCENT_TEXT = lazy.compile(r"\s*(?P<number>[0-9]+(?:\.[0-9]+)?|\.[0-9]+)\s*%\s*")


def _infrastructure_runs(written: str | None) -> InfrastructureRuns:
    """A rule's ``infrastructure:`` (already checked against its choices), or the default."""
    return InfrastructureRuns.EXCLUDE if written is None else InfrastructureRuns(written)


def _section(kind: Kind) -> Section:
    """The mapping a (named) kind describes."""
    section = kind_of(kind)
    assert isinstance(section, Section), section
    return section


def _choices(kind: Kind) -> tuple[str, ...]:
    """The words a (named) choice allows."""
    choice = kind_of(kind)
    assert isinstance(choice, Choice), choice
    return choice.values


def _either(keys: tuple[str, ...]) -> str:
    """``a``, ``a or b``, ``a, b or c``: keys as a message lists the ones to choose from."""
    return " or ".join(filter(None, (", ".join(keys[:-1]), keys[-1])))


def _key_text(key: str) -> str:
    """A key as it can appear in a one-line message (line breaks and controls escaped)."""
    if key.isprintable() and len(key) <= 60:
        return key
    shown = repr(key)[1:-1]
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _suggest(key: str, allowed: tuple[str, ...]) -> str:
    import difflib  # only for a misspelt key

    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"; did you mean '{close[0]}'?"
    return f"; expected one of {', '.join(allowed)}"


def _num(value: float | None) -> str:
    if value is None:
        return "any"
    return str(int(value)) if float(value).is_integer() else str(value)
