"""YAML text in, a frozen ``Policy`` out: the location-aware validator.

``parse_policy(text, source=...)`` raises ``PolicyError`` with a message that names the
file and the key, e.g. ``gate.yaml: rules.metrics[1].p50.max: expected a number, got 'fast'``.
"""

from __future__ import annotations

import dataclasses
import datetime
import difflib
import math
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from gate.errors import PolicyError
from gate.policy.model import (
    _T,
    DEFAULT_MAX_POLL_INTERVAL_S,
    DEFAULT_POLL_INTERVAL_S,
    DEFAULT_TIMEOUT_S,
    LEGACY_PRIORITIES,
    MAX_POLICY_BYTES,
    MAX_WHOLE_NUMBER,
    MODERN_PRIORITIES,
    NUMBER_MODES,
    RULE_NAMES,
    RUN_KEYS,
    SUPPORTED_VERSIONS,
    WAIVER_KEYS,
    BaselineSource,
    Bounds,
    CriticalCategoriesRule,
    EnumShare,
    ExpectedOutcomesRule,
    Level,
    MetricRule,
    PassPercent,
    Policy,
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
from gate.policy.units import TRANSPORT_MODES, parse_date, parse_duration
from gate.policy.yamlload import describe_yaml_error, load_yaml


def parse_policy(text: str, *, source: str) -> Policy:
    """Parse and validate a policy document; raises ``PolicyError``."""
    if len(text.encode("utf-8", errors="replace")) > MAX_POLICY_BYTES:
        raise PolicyError(f"{source}: the file is larger than {MAX_POLICY_BYTES} bytes")
    try:
        data = load_yaml(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{source}: invalid YAML: {describe_yaml_error(exc)}") from None
    except RecursionError:
        raise PolicyError(f"{source}: invalid YAML: nested too deeply") from None
    except ValueError as exc:  # a scalar PyYAML cannot build, such as '!!int abc'
        raise PolicyError(f"{source}: invalid YAML: {exc}") from None
    return _Validator(source).policy(data)


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

    def __init__(self, source: str) -> None:
        self.source = source

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
            hint = _suggest(raw, ("error", "warn", "off")) if isinstance(raw, str) else ""
            hint = hint if "did you mean" in hint else ""
            raise self.fail(
                f"{path}.level", f"expected one of error, warn, off, got {_show(raw)}{hint}"
            ) from None

    def duration(self, value: object, path: str) -> float:
        seconds = parse_duration(value)
        if seconds is None:
            raise self.fail(
                path,
                f"expected a duration such as 90s, 15m, 1h30m or a number of seconds, "
                f"got {_show(value)}",
            )
        return seconds

    # ---- document

    def policy(self, data: object) -> Policy:
        if data is None:
            raise self.fail("", "the policy is empty; it needs 'version: 1' and 'rules'")
        if not isinstance(data, Mapping):
            raise self.fail("", f"expected a mapping at the top level, got {_show(data)}")
        data = self.mapping(data, "")
        self.known_keys(data, "", ("version", "wait", "rules", "run", "baseline"))
        version = self.version(data)
        wait = self.wait(data)
        if "rules" not in data:
            raise self.fail("rules", "missing; a gate that checks nothing cannot pass")
        rules = self.rules(data["rules"])
        run = self.run_section(data["run"]) if "run" in data else None
        baseline = self.baseline(data["baseline"]) if "baseline" in data else None
        return Policy(self.source, version, wait, rules, run, baseline)

    def baseline(self, raw: object) -> BaselineSource:
        data = self.mapping(raw, "baseline")
        self.known_keys(data, "baseline", ("result_id", "file"))
        if len(data) != 1:
            raise self.fail("baseline", "set exactly one of result_id or file")
        if "result_id" in data:
            return BaselineSource(
                result_id=self.count(data["result_id"], "baseline.result_id", minimum=1)
            )
        return BaselineSource(file=self.text(data["file"], "baseline.file"))

    def version(self, data: Mapping[str, Any]) -> int:
        if "version" not in data:
            raise self.fail("version", "missing; add 'version: 1'")
        raw = data["version"]
        if isinstance(raw, bool) or raw not in SUPPORTED_VERSIONS:
            raise self.fail("version", f"unsupported version {_show(raw)}; expected 1")
        return int(raw)

    def wait(self, data_root: Mapping[str, Any]) -> WaitSettings:
        if "wait" not in data_root:
            return WaitSettings()
        data = self.mapping(data_root["wait"], "wait")
        keys = ("timeout", "poll_interval", "max_poll_interval")
        self.known_keys(data, "wait", keys)
        timeout, interval, max_interval = (
            self.duration(data[key], f"wait.{key}") if key in data else None for key in keys
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
        data = self.mapping(raw, "run")
        self.known_keys(data, "run", RUN_KEYS)
        values: dict[str, Any] = {}
        for key in data:
            values[key] = self.run_value(key, data[key], f"run.{key}")
        run = RunSettings(**values)
        problem = selector_problem(run)
        if problem is not None:
            raise self.fail("run", problem)
        return run

    def run_value(self, key: str, value: object, path: str) -> Any:
        if key in (
            "agent_id",
            "project_id",
            "personality_id",
            "test_profile_id",
            "frequency",
            "concurrency_limit",
        ):
            return self.count(value, path, minimum=1)
        if key in ("scenario_ids", "personality_ids", "test_profile_ids"):
            return self.id_list(value, path)
        if key in ("tags", "mock_tool_names"):
            return self.string_list(value, path, allow_empty=key == "mock_tool_names")
        if key == "mode":
            return self.choice(value, path, TRANSPORT_MODES)
        if key == "number_mode":
            return self.choice(value, path, NUMBER_MODES)
        if key == "websocket_headers":
            return self.string_map(value, path)
        return self.text(value, path)

    def id_list(self, value: object, path: str) -> tuple[int, ...]:
        if not isinstance(value, list) or not value:
            raise self.fail(path, f"expected a non-empty list of ids, got {_show(value)}")
        return tuple(self.count(item, f"{path}[{i}]", minimum=1) for i, item in enumerate(value))

    def string_list(self, value: object, path: str, *, allow_empty: bool) -> tuple[str, ...]:
        if not isinstance(value, list) or (not value and not allow_empty):
            kind = "a list of strings" if allow_empty else "a non-empty list of strings"
            raise self.fail(path, f"expected {kind}, got {_show(value)}")
        return tuple(self.text(item, f"{path}[{i}]") for i, item in enumerate(value))

    def text(self, value: object, path: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, f"expected a non-empty string, got {_show(value)}")
        return value.strip()

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
        data = self.mapping(raw, "rules")
        self.known_keys(data, "rules", RULE_NAMES)
        rules = Rules(
            success_rate=self.optional(data, "success_rate", self.success_rate),
            expected_outcomes=self.optional(data, "expected_outcomes", self.expected_outcomes),
            runs=self.optional(data, "runs", self.runs),
            critical_categories=self.optional(
                data, "critical_categories", self.critical_categories
            ),
            metrics=self.metrics(data["metrics"], "rules.metrics") if "metrics" in data else (),
            scenarios=self.scenarios(data["scenarios"], "rules.scenarios")
            if "scenarios" in data
            else None,
        )
        if all(level is Level.OFF for level in rules.levels()):
            raise self.fail("rules", "every rule is off; a gate that checks nothing cannot pass")
        return rules

    def optional(
        self, data: Mapping[str, Any], key: str, parse: Callable[[object, str], _T]
    ) -> _T | None:
        return parse(data[key], f"rules.{key}") if key in data else None

    def rule_body(
        self, raw: object, path: str, bounds: tuple[str, ...], extra: tuple[str, ...] = ()
    ) -> tuple[Mapping[str, Any], Level, Waiver | None]:
        data = self.mapping(raw, path)
        self.known_keys(data, path, (*bounds, *extra, *WAIVER_KEYS))
        if not any(key in data for key in bounds):
            raise self.fail(path, "no bound given; set " + " or ".join(bounds))
        level = self.level(data, path)
        return data, level, self.waiver(data, path, level)

    def percent(self, data: Mapping[str, Any], key: str, path: str) -> float | None:
        return self.number(data[key], f"{path}.{key}", low=0, high=100) if key in data else None

    def success_rate(self, raw: object, path: str) -> SuccessRateRule:
        data, level, waiver = self.rule_body(raw, path, ("min", "max_drop"))
        return SuccessRateRule(
            min=self.percent(data, "min", path),
            level=level,
            max_drop=self.percent(data, "max_drop", path),
            waiver=waiver,
        )

    def expected_outcomes(self, raw: object, path: str) -> ExpectedOutcomesRule:
        data, level, waiver = self.rule_body(raw, path, ("min_met_percent", "max_unmet"))
        percent = f"{path}.min_met_percent"
        return ExpectedOutcomesRule(
            min_met_percent=self.number(data["min_met_percent"], percent, low=0, high=100)
            if "min_met_percent" in data
            else None,
            max_unmet=self.count(data["max_unmet"], f"{path}.max_unmet")
            if "max_unmet" in data
            else None,
            level=level,
            waiver=waiver,
        )

    def runs(self, raw: object, path: str) -> RunsRule:
        data, level, waiver = self.rule_body(raw, path, ("min_total", "max_failed"))
        return RunsRule(
            min_total=self.count(data["min_total"], f"{path}.min_total", minimum=1)
            if "min_total" in data
            else None,
            max_failed=self.count(data["max_failed"], f"{path}.max_failed")
            if "max_failed" in data
            else None,
            level=level,
            waiver=waiver,
        )

    def critical_categories(self, raw: object, path: str) -> CriticalCategoriesRule:
        data, level, waiver = self.rule_body(raw, path, ("max", "no_new_categories"), ("ignore",))
        caps = self.priority_caps(data["max"], f"{path}.max") if "max" in data else ()
        ignore = self.ignore_list(data["ignore"], path) if "ignore" in data else ()
        new = (
            self.priority_list(data["no_new_categories"], f"{path}.no_new_categories")
            if "no_new_categories" in data
            else ()
        )
        return CriticalCategoriesRule(caps, ignore, level, new, waiver)

    def priority_list(self, raw: object, path: str) -> tuple[str, ...]:
        allowed = (*MODERN_PRIORITIES, *LEGACY_PRIORITIES)
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
        allowed = (*MODERN_PRIORITIES, *LEGACY_PRIORITIES)
        self.known_keys(data, path, allowed)
        modern = [key for key in data if key in MODERN_PRIORITIES]
        legacy = [key for key in data if key in LEGACY_PRIORITIES]
        if modern and legacy:
            raise self.fail(
                path,
                f"mixes priority vocabularies ({', '.join(modern)} with {', '.join(legacy)}); "
                "use critical/non-critical or high/medium/low",
            )
        return tuple((key, self.count(data[key], f"{path}.{key}")) for key in data)

    def ignore_list(self, raw: object, path: str) -> tuple[str, ...]:
        if not isinstance(raw, list):
            raise self.fail(f"{path}.ignore", f"expected a list of strings, got {_show(raw)}")
        for index, item in enumerate(raw):
            if not isinstance(item, str) or not item.strip():
                raise self.fail(
                    f"{path}.ignore[{index}]", f"expected a non-empty string, got {_show(item)}"
                )
        return tuple(item.strip() for item in raw)

    def metrics(self, raw: object, path: str) -> tuple[MetricRule, ...]:
        if not isinstance(raw, list):
            raise self.fail(path, f"expected a list of metric rules, got {_show(raw)}")
        if not raw:
            raise self.fail(path, "empty list; remove it or add a metric rule")
        return tuple(self.metric(item, f"{path}[{index}]") for index, item in enumerate(raw))

    def metric(self, raw: object, path: str) -> MetricRule:
        data = self.mapping(raw, path)
        kinds = ("p50", "mean", "pass_percent", "enum")
        self.known_keys(data, path, ("name", "id", *kinds, *WAIVER_KEYS))
        if "name" not in data and "id" not in data:
            raise self.fail(path, "needs a metric 'name' or 'id'")
        name = data.get("name")
        if "name" in data and (not isinstance(name, str) or not name.strip()):
            raise self.fail(f"{path}.name", f"expected a non-empty string, got {_show(name)}")
        metric_id = self.count(data["id"], f"{path}.id", minimum=1) if "id" in data else None
        if not any(key in data for key in kinds):
            raise self.fail(path, "no bound given; set p50, mean, pass_percent or enum")
        level = self.level(data, path)
        return MetricRule(
            name=name.strip() if isinstance(name, str) else None,
            id=metric_id,
            p50=self.bounds(data["p50"], f"{path}.p50") if "p50" in data else None,
            level=level,
            mean=self.bounds(data["mean"], f"{path}.mean") if "mean" in data else None,
            pass_percent=self.pass_percent(data["pass_percent"], f"{path}.pass_percent")
            if "pass_percent" in data
            else None,
            enum=self.enum_share(data["enum"], f"{path}.enum") if "enum" in data else None,
            waiver=self.waiver(data, path, level),
        )

    def bounds(self, raw: object, path: str) -> Bounds:
        data = self.mapping(raw, path)
        relative = ("max_increase_percent", "max_decrease_percent")
        self.known_keys(data, path, ("min", "max", *relative))
        if not data:
            raise self.fail(
                path, "no bound given; set min, max, max_increase_percent or max_decrease_percent"
            )
        low = self.number(data["min"], f"{path}.min") if "min" in data else None
        high = self.number(data["max"], f"{path}.max") if "max" in data else None
        if low is not None and high is not None and low > high:
            raise self.fail(path, f"min ({_num(low)}) is greater than max ({_num(high)})")
        increase, decrease = (
            self.number(data[key], f"{path}.{key}", low=0) if key in data else None
            for key in relative
        )
        return Bounds(low, high, increase, decrease)

    def pass_percent(self, raw: object, path: str) -> PassPercent:
        data = self.mapping(raw, path)
        self.known_keys(data, path, ("min", "max_drop"))
        if not data:
            raise self.fail(path, "no bound given; set min or max_drop")
        return PassPercent(self.percent(data, "min", path), self.percent(data, "max_drop", path))

    def enum_share(self, raw: object, path: str) -> EnumShare:
        data = self.mapping(raw, path)
        self.known_keys(data, path, ("value", "max_percent", "min_percent"))
        if "value" not in data:
            raise self.fail(path, "needs the enum 'value' to count, e.g. 'value: frustrated'")
        value = self.text(data["value"], f"{path}.value")
        if "max_percent" not in data and "min_percent" not in data:
            raise self.fail(path, "no bound given; set max_percent or min_percent")
        high = self.percent(data, "max_percent", path)
        low = self.percent(data, "min_percent", path)
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
        if "match" in data:  # one per-scenario rule written as a mapping
            if "each" in data or "no_new_failures" in data:
                extra = "each" if "each" in data else "no_new_failures"
                raise self.fail(
                    f"{path}.{extra}",
                    "cannot be mixed with a rule's 'match'; put that rule under each",
                )
            return ScenariosRule(each=(self.scenario(data, path),))
        self.known_keys(data, path, ("no_new_failures", "each", *WAIVER_KEYS))
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
        return ScenariosRule(each, no_new, level, waiver)

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
        data = self.mapping(raw, path)
        bounds = ("min_passes", "min_pass_percent", "pass_percent", "frequency", "required")
        self.known_keys(data, path, ("match", *bounds, *WAIVER_KEYS))
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
        passes = (
            self.count(data["min_passes"], f"{path}.min_passes", minimum=1)
            if "min_passes" in data
            else None
        )
        frequency = (
            self.count(data["frequency"], f"{path}.frequency", minimum=1)
            if "frequency" in data
            else None
        )
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
        )
        if not rule.has_bound and not required:
            raise self.fail(
                path, "no bound given; set min_passes, min_pass_percent or required: true"
            )
        return self.with_level(rule, data, path, defaults or {})

    def scenario_pass_percent(self, data: Mapping[str, Any], path: str) -> float | None:
        """``min_pass_percent: 66``, or ``pass_percent: {min: 66}`` as metric rules write it."""
        if "pass_percent" not in data:
            return self.percent(data, "min_pass_percent", path)
        if "min_pass_percent" in data:
            raise self.fail(
                f"{path}.pass_percent", "set min_pass_percent or pass_percent, not both"
            )
        inner = self.mapping(data["pass_percent"], f"{path}.pass_percent")
        self.known_keys(inner, f"{path}.pass_percent", ("min",))
        if "min" not in inner:
            raise self.fail(f"{path}.pass_percent", "no bound given; set min")
        return self.percent(inner, "min", f"{path}.pass_percent")

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
            for key in ("until", "reason")
            if key in defaults and key not in own and level is not Level.ERROR
        }
        return dataclasses.replace(
            rule, level=level, waiver=self.waiver({**inherited, **own}, path, level)
        )


def _key_text(key: str) -> str:
    """A key as it can appear in a one-line message (line breaks and controls escaped)."""
    if key.isprintable() and len(key) <= 60:
        return key
    shown = repr(key)[1:-1]
    return shown if len(shown) <= 60 else shown[:57] + "..."


def _suggest(key: str, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"; did you mean '{close[0]}'?"
    return f"; expected one of {', '.join(allowed)}"


def _num(value: float | None) -> str:
    if value is None:
        return "any"
    return str(int(value)) if float(value).is_integer() else str(value)
