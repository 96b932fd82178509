"""The policy loader: typed values, exact error messages, and `cekura-gate validate`.

Case files live in ``tests/data/policies``:

- ``valid/``: every file parses (and, see ``test_schema.py``, matches the schema);
- ``invalid/``: the loader and the schema both reject the file;
- ``invalid-loader-only/``: only the loader can reject it (cross-field rules, duplicate
  keys, YAML syntax, NaN and infinity, which JSON cannot hold).

An invalid case starts with ``# error: <the exact message>`` (parsed as ``gate.yaml``) and may
add ``# loader-xfail: <reason>`` or ``# schema-xfail: <reason>`` for a known defect. Where the
message ends in PyYAML's own words (a syntax error), the header stops at our part and ends in
`` …``: the message must start with that part and stay on one line, whatever PyYAML says.
"""

import datetime
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gate.errors import PolicyError
from gate.policy import contract
from gate.policy.kinds import Forms, Kind, ListOf, Percent, Section, kind_of
from gate.policy.model import Bounds, Level, MetricRule, Policy, WaitSettings
from tests.conftest import DATA, EXAMPLES, policy_from, run_cli

POLICIES = DATA / "policies"
VALID = POLICIES / "valid"
INVALID = POLICIES / "invalid"
LOADER_ONLY = POLICIES / "invalid-loader-only"
HEADER = re.compile(r"# (?P<key>[a-z-]+): (?P<value>.*)")
MIB = 1_048_576
KNOWN_FAILURES = (AssertionError, pytest.fail.Exception)  # a failed assert or "DID NOT RAISE"
RULES = "version: 1\nrules:\n"
ONE_RULE = RULES + "  success_rate: {min: 90}\n"


def headers(path: Path) -> dict[str, str]:
    """The ``# key: value`` lines at the top of a case file."""
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        match = HEADER.fullmatch(line)
        if match is None:
            break
        found[match["key"]] = match["value"]
    return found


def matches_case(message: str, expected: str) -> bool:
    """``expected`` is the exact message, or (ending in `` …``) the part that is ours."""
    if expected.endswith(" …"):
        ours = expected.removesuffix("…")
        return message.startswith(ours) and len(message) > len(ours) and "\n" not in message
    return message == expected


def cases(folder: Path, xfail_keys: tuple[str, ...] = ()) -> list[Any]:
    """One ``pytest.param`` per case file; a known defect becomes a strict xfail."""
    params = []
    for path in sorted(folder.glob("*.yaml")):
        reasons = [headers(path)[key] for key in xfail_keys if key in headers(path)]
        xfail = pytest.mark.xfail(strict=True, reason="; ".join(reasons), raises=KNOWN_FAILURES)
        marks = [xfail] if reasons else []
        params.append(pytest.param(path, id=f"{folder.name}/{path.stem}", marks=marks))
    return params


def parse_file(path: Path) -> Policy:
    return policy_from(path.read_text(encoding="utf-8"))


def with_wait(wait: str) -> str:
    return f"version: 1\n{wait}rules:\n  success_rate: {{min: 90}}\n"


# --------------------------------------------------------------------------- case files


@pytest.mark.parametrize("folder", [VALID, INVALID, LOADER_ONLY], ids=lambda path: path.name)
def test_case_folder_is_discovered(folder):
    assert len(list(folder.glob("*.yaml"))) >= 5


@pytest.mark.parametrize("path", cases(INVALID) + cases(LOADER_ONLY))
def test_invalid_case_states_its_message(path):
    assert headers(path)["error"].startswith("gate.yaml: ")


@pytest.mark.parametrize("path", cases(VALID))
def test_valid_policy_parses(path):
    assert parse_file(path).version == 1


@pytest.mark.parametrize(
    "path", cases(INVALID, ("loader-xfail",)) + cases(LOADER_ONLY, ("loader-xfail",))
)
def test_invalid_policy_message(path):
    with pytest.raises(PolicyError) as caught:
        parse_file(path)
    assert matches_case(str(caught.value), headers(path)["error"]), str(caught.value)


# --------------------------------------------------------------------------- typed values


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        ("90s", 90.0),
        ("15m", 900.0),
        ("1h30m", 5400.0),
        ("1h", 3600.0),
        ("1h2m3s", 3723.0),
        ("1.5s", 1.5),
        ("2M", 120.0),
        ('" 45m "', 2700.0),
        ("600", 600.0),
        ('"600"', 600.0),
        ("2.5", 2.5),
    ],
)
def test_duration_forms(written, seconds):
    timeout = policy_from(with_wait(f"wait:\n  timeout: {written}\n")).wait.timeout_s
    assert (timeout, type(timeout)) == (seconds, float)


@pytest.mark.parametrize(
    ("wait", "expected"),
    [
        ("", WaitSettings(2700.0, 10.0, 120.0)),
        ("wait: {}\n", WaitSettings(2700.0, 10.0, 120.0)),
        ("wait:\n  timeout: 5m\n", WaitSettings(300.0, 10.0, 120.0)),
        ("wait:\n  poll_interval: 30s\n", WaitSettings(2700.0, 30.0, 120.0)),
        ("wait:\n  poll_interval: 150s\n", WaitSettings(2700.0, 150.0, 150.0)),
        ("wait:\n  max_poll_interval: 10s\n", WaitSettings(2700.0, 10.0, 10.0)),
        ("wait:\n  max_poll_interval: 5m\n", WaitSettings(2700.0, 10.0, 300.0)),
    ],
    ids=["absent", "empty", "timeout", "poll", "poll-above-default-max", "max-equal", "max"],
)
def test_wait_defaults(wait, expected):
    assert policy_from(with_wait(wait)).wait == expected


@pytest.mark.parametrize(
    ("written", "level"),
    [
        ("", Level.ERROR),
        ("level: error", Level.ERROR),
        ("level: warn", Level.WARN),
        ('level: "off"', Level.OFF),
        ("level: 'off'", Level.OFF),
    ],
)
def test_rule_level(written, level):
    text = RULES + f"  success_rate:\n    min: 90\n    {written}\n  runs: {{min_total: 1}}\n"
    policy = policy_from(text)
    assert policy.rules.success_rate is not None
    assert policy.rules.success_rate.level is level


@pytest.mark.parametrize(
    "rule",
    [
        "success_rate: {min: 90, level: warn}",
        "expected_outcomes: {max_unmet: 0, level: warn}",
        "runs: {min_total: 1, level: warn}",
        "critical_categories: {max: {critical: 0}, level: warn}",
        "metrics: [{name: Latency, p50: {max: 1}, level: warn}]",
    ],
)
def test_every_rule_takes_a_level(rule):
    assert policy_from(RULES + f"  {rule}\n").rules.levels() == [Level.WARN]


def test_bare_off_level_turns_the_rule_off():
    policy = policy_from(RULES + "  success_rate: {min: 90, level: off}\n  runs: {min_total: 1}\n")
    assert policy.rules.success_rate is not None
    assert policy.rules.success_rate.level is Level.OFF


def test_single_value_rules():
    rules = parse_file(VALID / "all-rules.yaml").rules
    assert rules.success_rate is not None
    assert rules.expected_outcomes is not None
    assert rules.runs is not None
    assert (rules.success_rate.min, rules.expected_outcomes.min_met_percent) == (100.0, 0.0)
    assert (rules.runs.min_total, rules.runs.max_failed) == (1, 0)
    assert (rules.expected_outcomes.max_unmet, type(rules.expected_outcomes.max_unmet)) == (2, int)


def test_a_rule_that_is_not_written_is_absent():
    rules = parse_file(VALID / "minimal.yaml").rules
    assert (rules.expected_outcomes, rules.runs, rules.critical_categories) == (None, None, None)
    assert rules.metrics == ()


@pytest.mark.parametrize(
    ("caps", "expected"),
    [
        ("{critical: 0, non-critical: 3}", (("critical", 0), ("non-critical", 3))),
        ("{non-critical: 3, critical: 0}", (("non-critical", 3), ("critical", 0))),
        ("{high: 0, medium: 2, low: 10}", (("high", 0), ("medium", 2), ("low", 10))),
        ("{low: 1}", (("low", 1),)),
        ("{critical: 2.0}", (("critical", 2),)),
    ],
)
def test_priority_caps_in_either_vocabulary(caps, expected):
    rule = policy_from(
        RULES + f"  critical_categories:\n    max: {caps}\n"
    ).rules.critical_categories
    assert rule is not None
    assert rule.max == expected


@pytest.mark.parametrize(
    ("ignore", "expected"),
    [
        ("", ()),
        ("ignore: []", ()),
        ("ignore: [not_a_bug, ' Greeting ']", ("not_a_bug", "Greeting")),
    ],
)
def test_ignore_list(ignore, expected):
    text = RULES + f"  critical_categories:\n    max: {{critical: 0}}\n    {ignore}\n"
    rule = policy_from(text).rules.critical_categories
    assert rule is not None
    assert rule.ignore == expected


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("{name: Latency, p50: {max: 1800}}", MetricRule("Latency", None, Bounds(None, 1800.0))),
        ("{id: 42, p50: {min: 3.5}}", MetricRule(None, 42, Bounds(3.5, None))),
        ("{id: 3.0, p50: {min: 0}}", MetricRule(None, 3, Bounds(0.0, None))),
        (
            "{name: ' Talk Ratio ', id: 7, p50: {min: 0.3, max: 0.7}, level: warn}",
            MetricRule("Talk Ratio", 7, Bounds(0.3, 0.7), Level.WARN),
        ),
        ("{name: Pauses, p50: {min: -2, max: -2}}", MetricRule("Pauses", None, Bounds(-2.0, -2.0))),
    ],
)
def test_metric_rule(metric, expected):
    assert policy_from(RULES + f"  metrics:\n    - {metric}\n").rules.metrics == (expected,)


@pytest.mark.parametrize(
    ("metric", "label"),
    [
        ("{name: Latency, p50: {max: 1}}", "Latency"),
        ("{id: 42, p50: {max: 1}}", "id 42"),
        ("{name: Latency, id: 42, p50: {max: 1}}", "Latency"),
    ],
)
def test_metric_label(metric, label):
    assert policy_from(RULES + f"  metrics:\n    - {metric}\n").rules.metrics[0].label == label


def test_anchors_aliases_and_merge_keys():
    metrics = parse_file(VALID / "anchors-and-merge-keys.yaml").rules.metrics
    assert metrics == (
        MetricRule("Latency", None, Bounds(None, 1800.0)),
        MetricRule("Time To First Audio", None, Bounds(None, 1800.0), Level.WARN),
        MetricRule(None, 9, Bounds(None, 1800.0)),
    )


def test_example_policy_parses_to_the_documented_values():
    policy = parse_file(EXAMPLES / "gate.yaml")
    assert policy.wait == WaitSettings(2700.0, 10.0, 120.0)
    assert [metric.label for metric in policy.rules.metrics] == [
        "Latency",
        "Average Ringing Duration",
    ]
    assert policy.rules.levels().count(Level.WARN) == 1


# --------------------------------------------------------------------------- messages not in files


@pytest.mark.parametrize(
    ("text", "source", "message"),
    [
        ("", "gate.yaml", "gate.yaml: the policy is empty; it needs 'version: 1' and 'rules'"),
        (" \n\n", "gate.yaml", "gate.yaml: the policy is empty; it needs 'version: 1' and 'rules'"),
        (
            "version: 2\n",
            "ci/release gate.yaml",
            "ci/release gate.yaml: version: unsupported version 2; expected 1",
        ),
        (
            RULES + "  success_rate: {min: 90, level: " + "x" * 60 + "}\n",
            "gate.yaml",
            "gate.yaml: rules.success_rate.level: expected one of error, warn, off, got "
            "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'",
        ),
    ],
    ids=["empty-string", "blank-lines", "source-named-verbatim", "long-value-shortened"],
)
def test_message(text, source, message):
    with pytest.raises(PolicyError) as caught:
        policy_from(text, source=source)
    assert str(caught.value) == message


def section_of(kind: Kind) -> Section:
    inner = kind_of(kind)
    assert isinstance(inner, Section)
    return inner


METRIC = RULES + "  metrics:\n    - name: Latency\n"
SCENARIO = RULES + "  scenarios:\n    - match: Book *\n"


# Where each mapping of the contract sits, in a policy that is valid but for one key "zzz"
# (no key is close enough to it for a did-you-mean).
@pytest.mark.parametrize(
    ("path", "section", "text"),
    [
        ("", contract.POLICY, ONE_RULE + "zzz: 1\n"),
        ("wait", contract.WAIT, ONE_RULE + "wait: {zzz: 1}\n"),
        ("run", contract.RUN, ONE_RULE + "run: {zzz: 1}\n"),
        ("baseline", contract.BASELINE, ONE_RULE + "baseline: {zzz: 1}\n"),
        ("rules", contract.RULES, RULES + "  zzz: 1\n"),
        ("rules.success_rate", contract.SUCCESS_RATE, RULES + "  success_rate: {zzz: 1}\n"),
        (
            "rules.expected_outcomes",
            contract.EXPECTED_OUTCOMES,
            RULES + "  expected_outcomes: {zzz: 1}\n",
        ),
        ("rules.runs", contract.RUNS, RULES + "  runs: {zzz: 1}\n"),
        (
            "rules.critical_categories",
            contract.CRITICAL_CATEGORIES,
            RULES + "  critical_categories: {zzz: 1}\n",
        ),
        ("rules.metrics[0]", contract.METRIC, METRIC + "      zzz: 1\n"),
        ("rules.metrics[0].p50", section_of(contract.BOUNDS), METRIC + "      p50: {zzz: 1}\n"),
        (
            "rules.metrics[0].pass_percent",
            contract.METRIC_PASS_PERCENT,
            METRIC + "      pass_percent: {zzz: 1}\n",
        ),
        ("rules.metrics[0].enum", contract.ENUM_SHARE, METRIC + "      enum: {zzz: 1}\n"),
        ("rules.scenarios", section_of(contract.SCENARIO_GROUP), RULES + "  scenarios: {zzz: 1}\n"),
        ("rules.scenarios[0]", section_of(contract.SCENARIO_RULE), SCENARIO + "      zzz: 1\n"),
        (
            "rules.scenarios[0].pass_percent",
            section_of(section_of(contract.SCENARIO_RULE).kind("pass_percent")),
            SCENARIO + "      pass_percent: {zzz: 1}\n",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) and "\n" not in value else None,
)
def test_unknown_key_message_lists_the_contracts_keys(path, section, text):
    """The loader allows exactly the keys the contract (and so the schema) names, in order."""
    where = f"{path}.zzz" if path else "zzz"
    expected = f"gate.yaml: {where}: unknown key; expected one of {', '.join(section.names)}"
    with pytest.raises(PolicyError) as raised:
        policy_from(text)
    assert str(raised.value) == expected


def padded(size: int, filler: str = "#") -> str:
    """ONE_RULE followed by a comment, ``size`` bytes in UTF-8 in all."""
    room = size - len(ONE_RULE) - 2
    body = filler * (room // len(filler.encode()))
    return ONE_RULE + "#" + body + "#" * (room - len(body.encode())) + "\n"


def test_policy_of_exactly_one_mib_parses():
    text = padded(MIB)
    assert len(text.encode()) == MIB
    assert policy_from(text).rules.success_rate is not None


@pytest.mark.parametrize("filler", ["#", "é"], ids=["ascii", "multibyte"])
def test_policy_over_one_mib_is_rejected(filler):
    text = padded(MIB + 1, filler)
    assert len(text.encode()) == MIB + 1
    with pytest.raises(PolicyError) as caught:
        policy_from(text)
    assert str(caught.value) == "gate.yaml: the file is larger than 1048576 bytes"


def test_unconstructible_scalar_is_a_policy_error():
    with pytest.raises(PolicyError, match=r"^gate\.yaml: invalid YAML: "):
        policy_from(RULES + "  metrics:\n    - name: !!int abc\n      p50: {max: 1}\n")


@pytest.mark.parametrize("value", ["2024-02-30", "2024-13-01", "2026-12-31"])
def test_date_like_scalars_stay_strings(value):
    policy = policy_from(RULES + f"  metrics:\n    - name: {value}\n      p50: {{max: 1}}\n")
    assert policy.rules.metrics[0].name == value


# --------------------------------------------------------------------------- robustness

LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 2000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", " ", "90s", "0s", "1h30m", "fast", "warn", "off", "error"]),
    st.sampled_from(["critical", "high", "not_a_bug", "Latency", "min", "max"]),
)


def documents(leaf: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Policy-shaped data: the right keys, arbitrary values."""

    def body(*keys: str) -> st.SearchStrategy[dict[str, Any]]:
        return st.dictionaries(st.sampled_from([*keys, "level"]), leaf, max_size=3)

    priorities = st.sampled_from(["critical", "non-critical", "high", "medium", "low", "x"])
    critical = st.fixed_dictionaries(
        {"max": st.dictionaries(priorities, leaf, max_size=3)},
        optional={"ignore": st.lists(leaf, max_size=2) | leaf, "level": leaf},
    )
    metric = st.fixed_dictionaries(
        {"p50": body("min", "max") | leaf}, optional={"name": leaf, "id": leaf, "level": leaf}
    )
    rules = st.fixed_dictionaries(
        {},
        optional={
            "success_rate": body("min") | leaf,
            "expected_outcomes": body("min_met_percent", "max_unmet"),
            "runs": body("min_total", "max_failed"),
            "critical_categories": critical | leaf,
            "metrics": st.lists(metric, max_size=2) | leaf,
        },
    )
    wait = st.dictionaries(st.sampled_from(["timeout", "poll_interval", "max_poll_interval"]), leaf)
    return st.fixed_dictionaries(
        {"version": st.sampled_from([1, 1, 1, 2, "1"]), "rules": rules | leaf},
        optional={"wait": wait | leaf},
    )


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(documents(LEAF))
def test_loader_raises_nothing_but_policy_error(document):
    try:
        policy_from(yaml.safe_dump(document))
    except PolicyError as exc:
        assert str(exc).startswith("gate.yaml: ")


# --------------------------------------------------------------------------- cekura-gate validate


VALIDATED = [
    (
        EXAMPLES / "gate.yaml",
        "success_rate, expected_outcomes, runs, critical_categories, metrics (2)",
    ),
    (VALID / "minimal.yaml", "success_rate"),
    (VALID / "legacy-priorities.yaml", "runs, critical_categories"),
    (VALID / "levels.yaml", "success_rate, expected_outcomes, runs"),
    (VALID / "metrics-by-name-and-id.yaml", "metrics (4)"),
]


@pytest.mark.parametrize(
    ("path", "rules"), [pytest.param(path, rules, id=path.stem) for path, rules in VALIDATED]
)
def test_validate_accepts_a_valid_policy(path, rules):
    result = run_cli("validate", "--policy", str(path))
    assert (result.code, result.stderr) == (0, "")
    assert result.stdout == f"{path}: valid policy (rules: {rules})\n"


def test_validate_reads_gate_yaml_by_default(tmp_path):
    (tmp_path / "gate.yaml").write_text(ONE_RULE, encoding="utf-8")
    result = run_cli("validate", cwd=tmp_path)
    assert (result.code, result.stdout, result.stderr) == (
        0,
        "gate.yaml: valid policy (rules: success_rate)\n",
        "",
    )


@pytest.mark.parametrize(
    "path",
    [
        INVALID / "empty-comments-only.yaml",
        INVALID / "unknown-rule-typo.yaml",
        INVALID / "metric-p50-not-a-number.yaml",
        LOADER_ONLY / "every-rule-off.yaml",
        LOADER_ONLY / "duplicate-key.yaml",
        LOADER_ONLY / "yaml-unclosed-flow-mapping.yaml",
    ],
    ids=lambda path: path.stem,
)
def test_validate_rejects_an_invalid_policy(path):
    expected = str(path) + headers(path)["error"].removeprefix("gate.yaml")
    result = run_cli("validate", "--policy", str(path))
    assert (result.code, result.stdout) == (2, "")
    assert result.stderr.endswith("\n"), result.stderr
    assert matches_case(result.stderr.removesuffix("\n"), f"cekura-gate: error: {expected}")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "no such file; write one with `cekura-gate init --policy {path}`"),
        (padded(MIB + 1), "the policy is larger than 1048576 bytes"),
        (b"version: 1\n\xff\n", "the policy is not UTF-8 text (byte 11)"),
    ],
    ids=["missing", "over-one-mib", "not-utf8"],
)
def test_validate_rejects_an_unusable_file(tmp_path, content, problem):
    path = tmp_path / "gate.yaml"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    elif isinstance(content, bytes):
        path.write_bytes(content)
    result = run_cli("validate", "--policy", str(path))
    assert (result.code, result.stdout) == (2, "")
    assert result.stderr == f"cekura-gate: error: {path}: {problem.format(path=path)}\n"


def test_validate_reports_an_unconstructible_scalar_in_one_line(tmp_path):
    path = tmp_path / "gate.yaml"
    path.write_text(RULES + "  metrics:\n    - name: !!int abc\n      p50: {max: 1}\n")
    result = run_cli("validate", "--policy", str(path))
    assert result.code == 2
    assert result.stderr.startswith(f"cekura-gate: error: {path}: invalid YAML: ")
    assert len(result.stderr.splitlines()) == 1


def test_validate_survives_deeply_nested_yaml(tmp_path):
    path = tmp_path / "gate.yaml"
    path.write_text("[" * 500_000 + "]" * 500_000, encoding="utf-8")
    result = run_cli("validate", "--policy", str(path), cwd=tmp_path)
    assert (result.code, result.stdout) == (2, "")
    assert result.stderr.startswith(f"cekura-gate: error: {path}: invalid YAML: ")
    assert "nest" in result.stderr and len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    "text",
    [
        "version: 1  # " + "[" * 101 + "\nrules: {runs: {min_total: 1}}\n",
        "version: 1\nrules:\n  metrics:\n    - name: '" + "{" * 150 + "'\n      p50: {max: 1}\n",
    ],
    ids=["in-a-comment", "in-a-quoted-name"],
)
def test_brackets_that_nest_nothing_are_not_counted(text):
    assert policy_from(text) is not None


def test_a_misspelt_level_gets_a_did_you_mean():
    with pytest.raises(PolicyError) as caught:
        policy_from("version: 1\nrules:\n  success_rate: {min: 90, level: warning}\n")
    assert str(caught.value) == (
        "gate.yaml: rules.success_rate.level: expected one of error, warn, off, "
        "got 'warning'; did you mean 'warn'?"
    )


def test_scenario_rules_inherit_the_mappings_level_and_waiver_key_by_key():
    policy = parse_file(VALID / "scenarios-reason-keeps-inherited-level.yaml")
    assert policy.rules.scenarios is not None
    (rule,) = policy.rules.scenarios.each
    assert rule.level is Level.WARN
    assert rule.waiver is not None
    assert (rule.waiver.until, rule.waiver.reason) == (
        datetime.date(2026, 12, 31),
        "flaky on the new telephony provider",
    )


# --------------------------------------------------------------------------- big policies, bombs

# One rule of each kind, written out (no anchors): ``{i}`` makes each one different.
RULE_OF_KIND = {
    "metrics": (
        "  metrics:\n",
        "    - name: Metric {i}\n      p50: {{min: 1, max: 1800}}\n      level: warn\n",
    ),
    "scenarios": (
        "  scenarios:\n",
        "    - {{match: 'Scenario {i} *', min_passes: 1, frequency: 2, level: warn}}\n",
    ),
    "critical_categories": (
        "  critical_categories:\n    max: {critical: 0}\n    ignore:\n",
        "      - Category {i}\n",
    ),
}


def big_policy(kinds: tuple[str, ...], size: int) -> str:
    """An alias-free policy of about ``size`` bytes: as many rules of each kind as fit."""
    parts = [RULES]
    for kind in kinds:
        head, rule = RULE_OF_KIND[kind]
        parts.append(head)
        budget, index = size // len(kinds) - len(head), 0
        while budget > 0:
            written = rule.format(i=index)
            parts.append(written)
            budget, index = budget - len(written), index + 1
    return "".join(parts)


@pytest.mark.parametrize("kind", list(RULE_OF_KIND))
def test_a_big_alias_free_policy_loads(kind):
    # 250 KiB: over ten thousand entries, which the old merge-key guard counted as a bomb.
    text = big_policy((kind,), 250 * 1024)
    assert len(text.encode()) > 150 * 1024
    rules = policy_from(text).rules
    each = rules.scenarios.each if rules.scenarios else ()
    ignored = rules.critical_categories.ignore if rules.critical_categories else ()
    assert max(len(rules.metrics), len(each), len(ignored)) > 1_500


@pytest.mark.slow
def test_an_alias_free_policy_just_under_one_mib_loads():
    text = big_policy(tuple(RULE_OF_KIND), MIB - 1024)
    assert MIB - 64 * 1024 < len(text.encode()) <= MIB
    rules = policy_from(text).rules
    assert rules.scenarios is not None and rules.critical_categories is not None
    assert min(len(rules.metrics), len(rules.scenarios.each)) > 3_000


def test_a_block_shared_by_many_rules_loads():
    shared = "    - name: First\n      <<: &bounds\n        p50: {min: 1, max: 1800}\n"
    text = RULES + "  metrics:\n" + shared
    text += "".join(f"    - {{name: Metric {i}, <<: *bounds}}\n" for i in range(3000))
    metrics = policy_from(text).rules.metrics
    assert len(metrics) == 3001 and metrics[-1].p50 == Bounds(1.0, 1800.0)


LEVELS = (("a", "b"), ("b", "c"), ("c", "d"), ("d", "e"))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(f"{c}: &{c} [{', '.join([f'*{p}'] * 10)}]\n" for p, c in LEVELS)
            + "version: 1\nrules: {runs: {min_total: 1}}\n",
            "line 5, column 36: aliases and merge keys (<<) expand to more than 100000 values; "
            "write the rules "
            "out or share smaller blocks",
        ),
        (
            "version: 1\nrules:\n  critical_categories:\n    max: {critical: 0}\n"
            "    ignore: &loop [*loop]\n",
            "line 5, column 20: the alias *loop is inside the collection it names",
        ),
    ],
    ids=["aliases-past-the-limit", "alias-inside-itself"],
)
def test_alias_expansion_is_refused(text, problem):
    with pytest.raises(PolicyError) as caught:
        policy_from(text)
    assert str(caught.value) == f"gate.yaml: invalid YAML: {problem}"


# --------------------------------------------------------------------------- YAML 1.1 leftovers


@pytest.mark.parametrize("written", ["1:30", "1:30:00", "010", "0x1F", "0b101", "1_000", "0o17"])
def test_yaml_1_1_numbers_are_not_numbers(written):
    # YAML 1.1 reads these as 90, 5400, 8, 31, 5 and 1000: a user slip, refused.
    with pytest.raises(PolicyError) as caught:
        policy_from(RULES + f"  runs: {{max_failed: {written}}}\n")
    assert str(caught.value) == (
        f"gate.yaml: rules.runs.max_failed: expected a whole number, got '{written}'"
    )


@pytest.mark.parametrize(
    ("written", "kind"),
    [
        ('!!int "010"', "a decimal whole number"),
        ('!!int "1:30"', "a decimal whole number"),
        ("!!int 0x1F", "a decimal whole number"),
        ('!!float "1:00"', "a decimal number"),
        ("!!bool yes", "a boolean (true or false)"),
        ("!!bool off", "a boolean (true or false)"),
    ],
)
def test_an_explicit_tag_does_not_bring_back_yaml_1_1_readings(written, kind):
    # PyYAML's constructors would read these as 8, 90, 31, 60.0, True and False.
    with pytest.raises(PolicyError) as caught:
        policy_from(RULES + f"  runs: {{max_failed: {written}}}\n")
    value = written.split(" ", 1)[1].strip('"')
    assert str(caught.value).startswith("gate.yaml: invalid YAML: line ")
    assert str(caught.value).endswith(f"'{value}' is not {kind}")


@pytest.mark.parametrize(("written", "value"), [('!!int "12"', 12), ('!!float "3"', 3.0)])
def test_an_explicit_tag_on_a_plain_decimal_is_read(written, value):
    policy = policy_from(RULES + f"  runs: {{max_failed: {written}}}\n")
    assert policy.rules.runs is not None and policy.rules.runs.max_failed == value


@pytest.mark.parametrize("written", ["1:30", "0:90"])
def test_a_base_60_duration_is_refused_with_a_hint(written):
    with pytest.raises(PolicyError) as caught:
        policy_from(with_wait(f"wait: {{timeout: {written}}}\n"))
    assert str(caught.value) == (
        "gate.yaml: wait.timeout: expected a duration such as 90s, 15m, 1h30m or a number of "
        f"seconds, got '{written}'; write minutes and seconds as 1m30s, hours and minutes as 1h30m"
    )


@pytest.mark.parametrize(
    ("written", "value"),
    [("1e3", 1000.0), ("+5", 5.0), ("-0.5", -0.5), (".5", 0.5), ("5.", 5.0), ("0", 0.0)],
)
def test_plain_decimal_numbers_are_numbers(written, value):
    policy = policy_from(RULES + f"  metrics: [{{name: x, p50: {{min: {written}}}}}]\n")
    assert [metric.p50 for metric in policy.rules.metrics] == [Bounds(value, None)]


@pytest.mark.parametrize("name", ["No", "yes", "off", "On", "1:30", "010", "2026-01-01", "0x1F"])
def test_yaml_1_1_words_and_numbers_stay_names(name):
    scenarios = policy_from(RULES + f"  scenarios: [{{match: {name}, required: true}}]\n")
    assert scenarios.rules.scenarios is not None
    assert [rule.match for rule in scenarios.rules.scenarios.each] == [name]


# --------------------------------------------------------------------------- percents


def percent_paths(kind: Kind, path: str = "") -> list[str]:
    """Every key of the contract whose kind is a percent, as ``rules.metrics[].p50.min``."""
    inner = kind_of(kind)
    if isinstance(inner, Percent):
        return [path]
    if isinstance(inner, Section):
        return [
            found
            for key in inner.keys
            for found in percent_paths(key.kind, f"{path}.{key.name}".lstrip("."))
        ]
    if isinstance(inner, ListOf):
        return percent_paths(inner.item, path + "[]")
    if isinstance(inner, Forms):
        return percent_paths(inner.rule, path + "[]") + percent_paths(inner.group, path)
    return []


# A policy with one percent key set to {v}, for every percent key of the contract.
PERCENT_KEYS = {
    "rules.success_rate.min": "  success_rate: {{min: {v}}}\n",
    "rules.success_rate.max_drop": "  success_rate: {{max_drop: {v}}}\n",
    "rules.expected_outcomes.min_met_percent": "  expected_outcomes: {{min_met_percent: {v}}}\n",
    "rules.infrastructure.max_percent": "  infrastructure: {{max_percent: {v}}}\n",
    "rules.metrics[].p50.max_increase_percent": "  metrics: [{{name: x, p50: "
    "{{max_increase_percent: {v}}}}}]\n",
    "rules.metrics[].p50.max_decrease_percent": "  metrics: [{{name: x, p50: "
    "{{max_decrease_percent: {v}}}}}]\n",
    "rules.metrics[].mean.max_increase_percent": "  metrics: [{{name: x, mean: "
    "{{max_increase_percent: {v}}}}}]\n",
    "rules.metrics[].mean.max_decrease_percent": "  metrics: [{{name: x, mean: "
    "{{max_decrease_percent: {v}}}}}]\n",
    "rules.metrics[].pass_percent.min": "  metrics: [{{name: x, pass_percent: {{min: {v}}}}}]\n",
    "rules.metrics[].pass_percent.max_drop": "  metrics: [{{name: x, pass_percent: "
    "{{max_drop: {v}}}}}]\n",
    "rules.metrics[].enum.max_percent": "  metrics: [{{name: x, enum: {{value: y, "
    "max_percent: {v}}}}}]\n",
    "rules.metrics[].enum.min_percent": "  metrics: [{{name: x, enum: {{value: y, "
    "min_percent: {v}}}}}]\n",
    "rules.scenarios[].min_pass_percent": "  scenarios: [{{match: x, min_pass_percent: {v}}}]\n",
    "rules.scenarios[].pass_percent.min": "  scenarios: [{{match: x, pass_percent: "
    "{{min: {v}}}}}]\n",
    "rules.scenarios.each[].min_pass_percent": "  scenarios: {{each: [{{match: x, "
    "min_pass_percent: {v}}}]}}\n",
    "rules.scenarios.each[].pass_percent.min": "  scenarios: {{each: [{{match: x, "
    "pass_percent: {{min: {v}}}}}]}}\n",
}


def test_the_percent_table_names_every_percent_key_of_the_contract():
    assert sorted(PERCENT_KEYS) == sorted(percent_paths(contract.POLICY))


def written_path(key: str) -> str:
    return key.replace("[]", "[0]")


def percent_policy(key: str, value: str) -> str:
    return RULES + PERCENT_KEYS[key].format(v=value)


@pytest.mark.parametrize("key", list(PERCENT_KEYS))
@pytest.mark.parametrize(
    ("written", "shown", "meant"),
    [("0.95", "0.95", "95"), ("1", "1", "100"), ("0.005", "0.005", "0.5"), ("1.0", "1", "100")],
)
def test_a_bare_fraction_on_a_percent_key_is_refused(key, written, shown, meant):
    with pytest.raises(PolicyError) as caught:
        policy_from(percent_policy(key, written))
    assert str(caught.value) == (
        f"gate.yaml: {written_path(key)}: {shown} reads as {shown} %; did you mean {meant}? "
        f'(write "{shown}%" if you mean {shown} %)'
    )


def percent_value(policy: Policy, key: str) -> Any:
    """The value the policy holds at ``key`` (a path of PERCENT_KEYS)."""
    value: Any = policy
    for part in key.split("."):
        name = part.removesuffix("[]")
        value = getattr(value, name)
        if part.endswith("[]"):
            value = value[0]
    return value


@pytest.mark.parametrize("key", list(PERCENT_KEYS))
@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("0", 0.0),
        ("95", 95.0),
        ("1.5", 1.5),
        ('"0.95%"', 0.95),
        ("0.5%", 0.5),
        ("'1 %'", 1.0),
        ("100%", 100.0),
        ("0%", 0.0),
    ],
)
def test_a_percent_key_takes_a_number_or_a_percent_sign(key, written, value):
    policy = policy_from(percent_policy(key, written))
    if ".scenarios" in key:  # every form is a rule under each, with min_pass_percent
        key = "rules.scenarios.each[]." + key.split("].", 1)[1]
        key = key.replace("pass_percent.min", "min_pass_percent")
    assert percent_value(policy, key) == value
