"""Property-based tests: hostile and odd input ends in a verdict or a clean error.

Whatever a result file or a policy file holds, the gate must end in one of two
ways: a verdict whose every report renders, re-parses and stays bounded, or the
error its module promises (``ResultError``, ``PolicyError``) with a one-line
message. It must never pass a result that did not complete or has no runs.

Every bug these properties found has a plain regression test holding the minimal
input hypothesis found and the behaviour the fix gives: numbers beyond float range
and counts above 10**9 read as missing, lone surrogates replaced, an API error's
``detail`` flattened to one line, odd durations not read as seconds, non-string
statuses unknown, text lists read one level deep, line breaks in policy keys
escaped, explicit YAML tags, merge-key bombs and deep nesting refused as invalid
YAML, durations longer than a year refused, JUnit properties capped. The strategies
generate all of those inputs again.

A bug found later should be pinned by a strict-xfail regression test with its
minimal input, and its trigger left out of the strategies at a place marked
``KNOWN BUG`` until it is fixed; then the xfail turns into an XPASS (a failure):
make it a plain regression test and remove the exclusion.

``GATE_PROPERTY_SCALE=10`` runs every property with ten times as many examples.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from lxml import etree

from gate.ci import workflow
from gate.cli.inputs import load_policy
from gate.errors import GateError, PolicyError, ResultError
from gate.policy.load import parse_policy
from gate.policy.model import Level, Policy
from gate.reporters import dotenv, json_report, junit, markdown, terminal
from gate.reporters.text import duration_seconds
from gate.results.merge import merge_run_details
from gate.results.model import Result
from gate.results.normalise import normalise
from gate.rules.evaluate import NoVerdict, Verdict, VerdictStatus, evaluate, no_verdict
from tests.conftest import EXAMPLES, ROOT, load_payload, make_result, make_run, run_cli

SOURCE = "policy.yaml"
EXAMPLE_POLICY_TEXT = (EXAMPLES / "gate.yaml").read_text(encoding="utf-8")
EXAMPLE_POLICY = parse_policy(EXAMPLE_POLICY_TEXT, source="examples/gate.yaml")
# A policy that a clean result can pass, so that "never passes" has teeth.
PASSABLE_POLICY = parse_policy(
    "version: 1\n"
    "rules:\n"
    "  success_rate: {min: 100}\n"
    "  runs: {min_total: 1, max_failed: 0}\n"
    "  expected_outcomes: {max_unmet: 0}\n",
    source="passable.yaml",
)
POLICIES = (EXAMPLE_POLICY, PASSABLE_POLICY)

MIXED = load_payload("result_completed_mixed.json")
BULK: Any = load_payload("runs_bulk.json")  # a JSON array, despite the helper's type
PASSING = make_result([make_run(1), make_run(2, scenario=2, scenario_name="Cancel")])

PASSED = (VerdictStatus.PASS, VerdictStatus.WARN)  # WARN exits 0 by default: it passes too
JUNIT_LIMIT = 200_000
MARKDOWN_LIMIT = 200_000
MEGABYTE = 1_000_000
DOTENV_LINE = re.compile(r"[A-Z][A-Z0-9_]*=[^\r\n]*")
BOMB_SECONDS = 2.0

SCALE = max(1, int(os.environ.get("GATE_PROPERTY_SCALE", "1")))


def examples(count: int) -> settings:
    """Settings for a property tried on ``count`` examples (times ``GATE_PROPERTY_SCALE``)."""
    return settings(
        max_examples=count * SCALE, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )


FAST = examples(150)
SLOW = examples(40)
FEW = examples(8)


# --------------------------------------------------------------------------- strategies

# Every key the normaliser reads, so that random objects often look like result parts.
FIELD_NAMES = (
    "id",
    "status",
    "name",
    "agent_name",
    "project_id",
    "project",
    "success_rate",
    "met_expected_outcome_count",
    "total_expected_outcome_count",
    "total_runs_count",
    "success_runs_count",
    "completed_runs_count",
    "runs",
    "overall_evaluation",
    "failed_reasons",
    "detail",
    "results",
    "scenario",
    "scenario_name",
    "personality_name",
    "success",
    "expected_outcome",
    "score",
    "explanation",
    "evaluation",
    "metrics",
    "critical_categories",
    "category",
    "priority",
    "wrongly_marked",
    "error_message",
    "duration",
    "transcript",
    "eval_type",
    "type",
    "passed",
    "score_normalized",
    "value",
    "enum",
    "numeric_metrics",
    "extra_metrics",
    "metric_summary",
    "p50",
    "percentiles",
    "issues",
    "title",
    "description",
    "result_id",
)
# Values the gate gives meaning to, and look-alikes.
WORDS = (
    "completed",
    " Completed ",
    "COMPLETED",
    "completed\n",
    "failed",
    "timeout",
    "canceled",
    "running",
    "critical",
    "non-critical",
    "High",
    "medium",
    "low",
    "not_a_bug",
    "binary",
    "binary_workflow_adherence",
    "numeric",
    "enum",
    "rating",
    "continuous_qualitative",
    "true",
    "FALSE",
    "nan",
    "NaN",
    "inf",
    "-Infinity",
    "1e400",
    "-0",
    "0",
    "5",
    "100",
    "10.0",
    " 7 ",
    "3.5",
    "01:00",
    "1:02:03",
    "Latency",
    "latency",
    "Average Ringing Duration",
)
# Text that has broken reporters elsewhere: escapes, bidi controls, line breaks that are
# not "\n", XML-illegal characters, lone surrogates (valid JSON escapes), markup.
NASTY = (
    "\x1b[31m",
    "\x1b[0m",
    "\x1b]8;;https://evil.example\x07",
    "\x1b",
    "\u202e",
    "\u200f",
    "\u2066",
    "\u2028",
    "\u2029",
    "\x85",
    "\x00",
    "\x0b",
    "\x0c",
    "\x1c",
    "\x7f",
    "\r\n",
    "\r",
    "\n",
    "\t",
    "💥",
    "👩\u200d👩\u200d👧",
    "\ufeff",
    "\ufffe",
    "\uffff",
    "\ud800",
    "\udfff",
    "]]>",
    "<!--",
    "&amp;",
    "</testsuite>",
    "<x>",
    "|",
    "`",
    "*",
    "_",
    "[",
    "]",
    "%0A",
    "::error::",
    "##[error]",
    "${{ x }}",
    "KEY=VALUE",
    "\\",
    '"',
    "'",
)
ANY_CHAR = st.one_of(st.characters(), st.characters(categories=["Cs"]))
TEXT = st.one_of(
    st.sampled_from(WORDS),
    st.lists(
        st.one_of(st.sampled_from(NASTY + WORDS), st.text(ANY_CHAR, max_size=6)), max_size=5
    ).map("".join),
)
# Integers beyond float range (about 1.8e308) are valid JSON and YAML; 10**4299 is the
# largest that json.loads and the YAML loader read (int() refuses 4,300+ digits).
HUGE = 10**400
INTS = st.one_of(
    st.integers(-3, 300),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.sampled_from(
        [
            10**9,
            10**9 + 1,
            10**30,
            -(10**30),
            2**53 + 1,
            2**63,
            2**64,
            10**300,
            2 * 10**306,
            10**309,
            HUGE,
            -HUGE,
            10**4299,
        ]
    ),
)
FLOATS = st.one_of(
    st.floats(),
    st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 1e308, -1e308, 5e-324, 0.5, 99.5, 100.0]),
)
SCALARS = st.one_of(st.none(), st.booleans(), INTS, FLOATS, TEXT)
KEYS = st.one_of(st.sampled_from(FIELD_NAMES), TEXT)
JSON = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(KEYS, children, max_size=5)
    ),
    max_leaves=25,
)
# Result-shaped objects: an id and a status, then any of the result's fields.
SHAPED = st.builds(
    lambda head, rest: {**rest, **head},
    st.fixed_dictionaries(
        {"id": st.one_of(INTS, TEXT, JSON), "status": st.one_of(st.sampled_from(WORDS), JSON)}
    ),
    st.dictionaries(st.sampled_from(FIELD_NAMES), JSON, max_size=6),
)

DELETE = object()  # a mutation that removes the field instead of replacing it
Step = str | int
PathT = tuple[Step, ...]


def all_paths(value: Any, prefix: PathT = ()) -> list[PathT]:
    """Every path to a value inside ``value`` (the root itself excluded)."""
    children: list[tuple[Step, Any]] = []
    if isinstance(value, dict):
        children = list(value.items())
    elif isinstance(value, list):
        children = list(enumerate(value))
    found = []
    for step, child in children:
        found.append((*prefix, step))
        found += all_paths(child, (*prefix, step))
    return found


def object_paths(value: Any) -> list[PathT]:
    """The paths of every object (dict) inside ``value``, the root included."""
    return [()] + [path for path in all_paths(value) if isinstance(get_path(value, path), dict)]


def get_path(value: Any, path: PathT) -> Any:
    for step in path:
        value = value[step]
    return value


def _has_step(parent: Any, step: Step) -> bool:
    if isinstance(parent, dict):
        return step in parent
    return isinstance(parent, list) and type(step) is int and step < len(parent)


def set_path(document: Any, path: PathT, value: object) -> None:
    """Replace (or, with ``DELETE``, remove) the value at ``path`` if it still exists."""
    parent = document
    for step in path[:-1]:
        if not _has_step(parent, step):
            return  # an earlier mutation replaced this branch
        parent = parent[step]
    last = path[-1]
    if isinstance(parent, dict):
        if value is DELETE:
            parent.pop(last, None)
        else:
            parent[last] = value
    elif isinstance(parent, list) and type(last) is int and last < len(parent):
        if value is DELETE:
            del parent[last]
        else:
            parent[last] = value


Mutation = tuple[PathT, object]
FOCUS = frozenset(
    {
        "status",
        "total_runs_count",
        "success_runs_count",
        "completed_runs_count",
        "met_expected_outcome_count",
        "total_expected_outcome_count",
        "success_rate",
        "runs",
        "metrics",
        "score",
        "passed",
        "critical_categories",
        "priority",
        "overall_evaluation",
        "success",
        "expected_outcome",
    }
)


def mutations(
    base: Any, values: st.SearchStrategy[Any] = JSON
) -> st.SearchStrategy[list[Mutation]]:
    """Lists of (path, new value) edits of ``base``: replace a field, add one, or drop one."""
    paths = all_paths(base)
    focus = [path for path in paths if path and path[-1] in FOCUS] or paths
    added = st.builds(
        lambda parent, key: (*parent, key),
        st.sampled_from(object_paths(base)),
        st.sampled_from(FIELD_NAMES),
    )
    path = st.one_of(st.sampled_from(focus), st.sampled_from(paths), added)
    return st.lists(st.tuples(path, st.one_of(values, st.just(DELETE))), min_size=1, max_size=4)


def mutated(base: Any, edits: list[Mutation]) -> Any:
    document = copy.deepcopy(base)
    for path, value in edits:
        set_path(document, path, value)
    return document


# --------------------------------------------------------------------------- oracles


COUNT_LIMIT = 10**9  # no result has a billion runs: a larger count is garbage, not data


def whole_count(value: object) -> int | None:
    """What a count field can honestly mean: a whole number from 0 to 10**9, as a number or
    a string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= COUNT_LIMIT else None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value) if 0 <= value <= COUNT_LIMIT else None
    return None


def run_entries(payload: Any) -> list[Any]:
    runs = payload.get("runs") if isinstance(payload, dict) else None
    if isinstance(runs, dict):
        return list(runs.values())
    return list(runs) if isinstance(runs, list) else []


def says_true(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def assert_no_false_pass(payload: Any, policy: Policy, verdict: Verdict) -> None:
    """A passing verdict needs a completed result with runs (and, for PASSABLE, clean runs)."""
    if verdict.status not in PASSED:
        return
    status = payload.get("status")
    assert isinstance(status, str), f"passed with a non-string status {status!r}"
    assert status.strip().lower() == "completed", f"passed with status {status!r}"
    runs = run_entries(payload)
    total = max(whole_count(payload.get("total_runs_count")) or 0, len(runs))
    assert total >= 1, "passed with no runs"
    assert verdict.counts is not None and verdict.counts.total_runs >= 1
    if policy is PASSABLE_POLICY:
        assert all(says_true(run.get("success")) for run in runs), "passed a failed run"
        if not runs:
            successes = whole_count(payload.get("success_runs_count")) or 0
            assert successes >= total, "passed with fewer successful runs than runs"


# --------------------------------------------------------------------------- report checks


def _no_constants(name: str) -> object:
    raise AssertionError(f"the JSON report holds the non-JSON token {name}")


def one_line(message: str) -> bool:
    return len(message.splitlines()) == 1


def assert_junit_parses(text: str) -> ET.Element:
    data = text.encode("utf-8")
    root = ET.fromstring(data)
    etree.fromstring(data)  # lxml is stricter about characters than ElementTree
    assert root.tag == "testsuites"
    assert list(root.iter("testcase")), "a JUnit report needs at least one testcase"
    return root


def render_all(verdict: Verdict | NoVerdict) -> dict[str, str]:
    """Every report of every reporter, each checked to be encodable as UTF-8."""
    texts = {
        "junit": junit.render(verdict),
        "summary": markdown.render(verdict),
        "json": json_report.render(verdict),
        "dotenv": dotenv.render(verdict),
        "terminal": terminal.render(verdict),
        "terminal-colour": terminal.render(verdict, color=True),
        "step-summary": workflow.step_summary(verdict),
        "annotations": "\n".join(workflow.annotation_lines(verdict, file=SOURCE)),
        "outputs": workflow.output_file_text(
            workflow.outputs(verdict, junit_path="out/junit.xml"), "ghadelimiter_1"
        ),
    }
    for name, text in texts.items():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise AssertionError(f"the {name} report cannot be written as UTF-8: {exc}") from None
    return texts


def assert_reports_sound(verdict: Verdict | NoVerdict) -> dict[str, str]:
    texts = render_all(verdict)
    root = assert_junit_parses(texts["junit"])
    has_failure = any(True for _ in root.iter("failure"))
    assert has_failure == (verdict.status is VerdictStatus.FAIL)
    assert any(True for _ in root.iter("error")) == (verdict.status is VerdictStatus.ERROR)

    document = json.loads(texts["json"], parse_constant=_no_constants)
    assert document["verdict"] == verdict.status.value

    report = texts["dotenv"]
    assert report.endswith("\n")
    lines = report[:-1].split("\n")
    assert report.splitlines() == lines, "a dotenv value holds a line break"
    for line in lines:
        assert DOTENV_LINE.fullmatch(line), f"not a KEY=VALUE line: {line!r}"
    assert lines[0] == f"GATE_VERDICT={verdict.status.value}"

    assert "\x1b" not in texts["terminal"]
    annotations = workflow.annotation_lines(verdict, file=SOURCE)
    for line in annotations:
        assert line.startswith("::") and "\n" not in line and "\r" not in line
    assert sum(line.startswith("::error") for line in annotations) <= workflow.MAX_PER_LEVEL
    return texts


def judge(payload: Any, policies: tuple[Policy, ...] = POLICIES) -> Result | None:
    """Normalise, evaluate under each policy and render; the properties of sections 1-3."""
    try:
        result = normalise(payload)
    except ResultError as exc:
        message = str(exc)
        assert one_line(message), f"multi-line ResultError: {message!r}"
        assert_reports_sound(no_verdict(message, policy_source=SOURCE))
        return None
    assert isinstance(result, Result)
    for policy in policies:
        verdict = evaluate(policy, result)
        assert isinstance(verdict, Verdict)
        assert_reports_sound(verdict)
        assert_no_false_pass(payload, policy, verdict)
    return result


# --------------------------------------------------------------------------- 1. results


def test_the_bases_are_what_the_properties_assume():
    """The mixed payload fails the example policy; the passing one passes PASSABLE."""
    assert evaluate(EXAMPLE_POLICY, normalise(MIXED)).status is VerdictStatus.FAIL
    assert evaluate(PASSABLE_POLICY, normalise(PASSING)).status is VerdictStatus.PASS


def nested_list(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


# Inputs that broke the gate once (see the regression tests below), tried on every run.
ODD_RUN = make_run(
    1,
    duration="01:\u00b2",
    critical_categories=[{"category": "x", "priority": "\ud800"}],
    transcript=nested_list(400),
    evaluation={"metrics": [{"name": "x", "score": HUGE}]},
)


@FAST
@given(payload=st.one_of(JSON, SHAPED))
@example(payload={"id": 1, "status": "completed"})
@example(payload={"id": "7", "status": " COMPLETED ", "runs": []})
@example(payload={"id": 1, "status": "completed", "total_runs_count": "abc"})
@example(payload={"id": 1.0, "status": "completed", "runs": [None]})
@example(payload={"id": -0.0, "status": "completed", "success_rate": math.nan})
@example(payload={"detail": "Not found.", "status": None})
@example(payload={"results": [], "count": 0})
@example(payload=[{"id": 1, "status": "completed"}])
@example(payload={"detail": "a\nb\ud800"})
@example(payload={"id": 1, "status": "completed", "success_rate": HUGE})
@example(payload={"id": 1, "status": "completed", "total_runs_count": 2e306})
@example(payload={"id": 1, "status": "completed", "success_runs_count": 2 * 10**306})
@example(payload={"id": 1, "status": ["completed"], "total_runs_count": 1})
@example(payload=make_result([ODD_RUN]))
def test_arbitrary_json_is_a_result_or_a_result_error(payload):
    judge(payload)


@FAST
@given(edits=mutations(MIXED))
def test_almost_valid_mixed_payloads_judge_and_report_cleanly(edits):
    judge(mutated(MIXED, edits))


@FAST
@given(edits=mutations(PASSING))
@example(edits=[(("status",), "running")])
@example(edits=[(("runs",), {}), (("total_runs_count",), 0)])
@example(edits=[(("runs",), DELETE), (("total_runs_count",), "abc")])
@example(edits=[(("status",), None)])
@example(edits=[(("status",), ["completed"])])
@example(edits=[(("runs", "1"), ODD_RUN)])
@example(edits=[(("total_runs_count",), HUGE), (("success_runs_count",), HUGE)])
def test_a_passing_payload_stops_passing_when_status_or_runs_break(edits):
    judge(mutated(PASSING, edits))


@SLOW
@given(payload_edits=mutations(MIXED), bulk_edits=mutations(BULK), random_bulk=JSON)
def test_runs_bulk_merge_is_a_payload_or_a_result_error(payload_edits, bulk_edits, random_bulk):
    payload = mutated(MIXED, payload_edits)
    for bulk in (mutated(BULK, bulk_edits), random_bulk):
        try:
            merged = merge_run_details(payload, bulk)
        except ResultError as exc:
            assert one_line(str(exc))
            continue
        assert isinstance(merged, dict)
        judge(merged)


# Regression tests (results): bugs the properties found, each with the minimal input
# hypothesis found, now fixed.


@pytest.mark.parametrize(
    ("fields", "read"),
    [
        pytest.param({"total_runs_count": HUGE}, lambda r: r.total_runs, id="total_runs_count"),
        pytest.param({"success_rate": HUGE}, lambda r: r.success_rate, id="success_rate"),
        pytest.param(
            {"total_expected_outcome_count": HUGE},
            lambda r: r.total_expected_outcomes,
            id="total_expected_outcomes",
        ),
        pytest.param(
            {"runs": {"1": {"id": 1, "evaluation": {"metrics": [{"name": "x", "score": HUGE}]}}}},
            lambda r: r.runs[0].metrics[0].score,
            id="metric_score",
        ),
    ],
)
def test_huge_json_integers_are_treated_as_missing(fields, read):
    # json.loads('1' + '0' * 400) is a valid JSON number, beyond float range.
    result = judge({"id": 1, "status": "completed", **fields})
    assert result is not None and read(result) is None


@pytest.mark.parametrize(
    ("count", "read_as"),
    [
        pytest.param(1.8e306, None, id="float-near-max"),
        pytest.param(2 * 10**306, None, id="int-near-max"),
        pytest.param("1e307", None, id="string-near-max"),
        pytest.param(10**9 + 1, None, id="above-a-billion"),
        pytest.param(10**9, 10**9, id="a-billion"),
    ],
)
def test_counts_above_a_billion_are_treated_as_missing(count, read_as):
    # 100.0 * 1.8e306 was infinite: the JSON report refused it (and the rate read as a pass).
    payload = {"id": 1, "status": "completed", "total_runs_count": count}
    result = judge({**payload, "success_runs_count": count})
    assert result is not None
    assert (result.total_runs, result.success_runs) == (read_as, read_as)
    assert result.success_rate is None
    for policy in POLICIES:
        assert evaluate(policy, result).status is VerdictStatus.FAIL


def test_a_lone_surrogate_priority_is_replaced_and_the_reports_encode():
    finding = {"category": "x", "priority": "\ud800"}
    result = judge(make_result([make_run(1, critical_categories=[finding])]))
    assert result is not None
    assert [item.priority for item in result.runs[0].findings] == ["\ufffd"]


@pytest.mark.parametrize(
    ("detail", "shown"),
    [("a\nb", "a b"), ("boom\ud800", "boom\ufffd"), (" x\u2028\r\n y ", "x y")],
    ids=["newline", "surrogate", "line-breaks"],
)
def test_an_api_error_detail_becomes_one_clean_line(detail, shown):
    with pytest.raises(ResultError) as caught:
        normalise({"detail": detail})
    assert str(caught.value) == f"not a Cekura result: the payload is an API error: {shown}"
    assert judge({"detail": detail}) is None


def test_a_long_api_error_detail_is_cut_to_300_characters():
    with pytest.raises(ResultError) as caught:
        normalise({"detail": "x" * 5000})
    prefix = "not a Cekura result: the payload is an API error: "
    assert str(caught.value) == prefix + "x" * 299 + "\u2026"


@pytest.mark.parametrize(
    "duration",
    ["01:\u00b2", "1" * 400 + ":00", "1" * 5000 + ":00", "\u0661:00", "1234567:00"],
    ids=["superscript", "400-digits", "5000-digits", "arabic-indic", "7-digits"],
)
def test_odd_durations_are_not_read_as_seconds(duration):
    assert duration_seconds(duration) is None
    result = judge(make_result([make_run(1, duration=duration)]))
    assert result is not None
    case = assert_junit_parses(junit.render(evaluate(EXAMPLE_POLICY, result))).find(
        ".//testcase[@name]"
    )
    assert case is not None


def test_cekura_durations_are_still_read_as_seconds():
    assert duration_seconds("01:30") == 90
    assert duration_seconds("1:02:03") == 3723
    assert duration_seconds("123456:00") == 123456 * 60


@pytest.mark.parametrize(
    "status",
    [["completed"], {"completed": True}, 1, True, None],
    ids=["list", "mapping", "number", "bool", "null"],
)
def test_a_non_string_status_is_unknown_and_never_passes(status):
    result = judge(make_result(status=status), (PASSABLE_POLICY,))
    assert result is not None and result.status_text == "unknown"
    assert evaluate(PASSABLE_POLICY, result).status is VerdictStatus.FAIL


def test_deeply_nested_text_lists_are_read_one_level_deep():
    # 400 levels: json.loads reads it (its limit is about 990); as_text used to recurse.
    result = judge(make_result([make_run(1, success=False, transcript=nested_list(400))]))
    assert result is not None and result.runs[0].transcript == ""
    shallow = judge(make_result([make_run(1, transcript=["a", 3, None, "c"])]))
    assert shallow is not None and shallow.runs[0].transcript == "a\n3\nc"


# --------------------------------------------------------------------------- 2. policies

YAML_TOKENS = (
    "version: 1\n",
    "rules:\n",
    "  runs: {min_total: 1}\n",
    "  success_rate:\n    min: 90\n",
    "  metrics:\n",
    "  - name: Latency\n",
    "    p50: {max: 1800}\n",
    "level: off",
    "level: warn",
    "wait:\n",
    "  timeout: 45m\n",
    "run:\n",
    "  scenario_ids: [1, 2]\n",
    "critical_categories:",
    "max: {critical: 0}",
    "ignore: [a]",
    "\n",
    "  ",
    "    ",
    "- ",
    "? ",
    ": ",
    ", ",
    "{",
    "}",
    "[",
    "]",
    "&a ",
    "*a",
    "<<: ",
    "!!bool ",
    "!!int ",
    "!!float ",
    "!!timestamp ",
    "!!map ",
    "!!set ",
    "!!str ",
    "!!seq ",
    "!!binary ",
    "!!omap ",
    "!!pairs ",
    "!!null ",
    "!!python/object:os.system ",
    "!local ",
    "!<tag:x> ",
    "|\n",
    ">-\n",
    "'",
    '"',
    "# c\n",
    "%YAML 1.2\n",
    "%TAG ! tag:x,2000:\n",
    "---\n",
    "...\n",
    ".nan",
    ".inf",
    "-.inf",
    "1e400",
    "1.0e+400",
    "1" + "0" * 400,
    "9" * 5000,
    "0x1" + "0" * 3572,  # beyond int()'s 4,300-digit limit, but YAML reads hex anyway
    "0x1F",
    "0o17",
    "1_000",
    "~",
    "null",
    "yes",
    "on",
    "2020-01-01",
    "\t",
    "\\",
    "\\n",
    "@",
    "`",
    "\ufeff",
    "\x00",
    "\x85",
    "\u2028",
    "💥",
    "\ud800",
)
YAML_TEXT = st.one_of(
    st.text(ANY_CHAR, max_size=40),
    st.lists(st.one_of(st.sampled_from(YAML_TOKENS), st.text(max_size=4)), max_size=30).map(
        "".join
    ),
)
POLICY_WORDS = (
    "version",
    "wait",
    "rules",
    "run",
    "timeout",
    "poll_interval",
    "max_poll_interval",
    "success_rate",
    "expected_outcomes",
    "runs",
    "critical_categories",
    "metrics",
    "min",
    "max",
    "min_met_percent",
    "max_unmet",
    "min_total",
    "max_failed",
    "level",
    "ignore",
    "name",
    "id",
    "p50",
    "critical",
    "non-critical",
    "high",
    "medium",
    "low",
    "agent_id",
    "scenario_ids",
    "tags",
    "folder_path",
    "project_id",
    "mode",
    "websocket_headers",
)
LINE_BREAKS = "".join(chr(c) for c in range(0x3000) if len(f"a{chr(c)}b".splitlines()) > 1)
# Keys with line breaks: an unknown key is named in a one-line error message.
YAML_KEY_TEXT = st.text(st.one_of(st.characters(), st.sampled_from(LINE_BREAKS)), max_size=12)
YAML_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    INTS,
    FLOATS,
    st.text(st.characters(exclude_categories=["Cs"]), max_size=12),
    st.sampled_from(["error", "warn", "off", "45m", "1h30m", "90s", "0s", "-1", "voice", "text"]),
)
YAML_KEYS = st.one_of(st.sampled_from(POLICY_WORDS), YAML_KEY_TEXT)
YAML_VALUES = st.recursive(
    YAML_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(YAML_KEYS, children, max_size=4)
    ),
    max_leaves=20,
)
POLICY_SHAPED = st.fixed_dictionaries(
    {"version": st.one_of(st.just(1), YAML_VALUES), "rules": YAML_VALUES},
    optional={"wait": YAML_VALUES, "run": YAML_VALUES},
)
EXAMPLE_DOCUMENT = yaml.safe_load(EXAMPLE_POLICY_TEXT)
EXAMPLE_DOCUMENT["run"] = {
    "agent_id": 12,
    "scenario_ids": [1, 2],
    "mode": "voice",
    "frequency": 2,
    "websocket_headers": {"X-Env": "staging"},
}
RESULTS_FOR_POLICIES = (normalise(MIXED), normalise(PASSING))


def check_policy(text: str) -> Policy | None:
    """parse_policy gives a usable Policy or a one-line PolicyError naming the source."""
    try:
        policy = parse_policy(text, source=SOURCE)
    except PolicyError as exc:
        message = str(exc)
        assert message.startswith(f"{SOURCE}: "), message
        assert one_line(message), f"multi-line PolicyError: {message!r}"
        return None
    assert isinstance(policy, Policy)
    assert policy.version == 1
    assert not all(level is Level.OFF for level in policy.rules.levels())
    assert policy.wait.timeout_s > 0 and policy.wait.poll_interval_s > 0
    assert policy.wait.max_poll_interval_s >= policy.wait.poll_interval_s
    rules = policy.rules
    if rules.success_rate is not None and rules.success_rate.min is not None:
        assert 0 <= rules.success_rate.min <= 100
    for metric in rules.metrics:
        assert metric.p50 is not None  # the generated policies bound p50 only
        low, high = metric.p50.min, metric.p50.max
        assert low is not None or high is not None
        assert all(math.isfinite(bound) for bound in (low, high) if bound is not None)
        assert low is None or high is None or low <= high
    for result in RESULTS_FOR_POLICIES:
        verdict = evaluate(policy, result)
        assert_reports_sound(verdict)
    return policy


@FAST
@given(text=YAML_TEXT)
@example(text="")
@example(text="version: 1\nrules:\n  runs: {min_total: 1}\n")
@example(text="\ufeffversion: 1\nrules: {runs: {min_total: 1}}")
@example(text="version: 1\nrules: &r {runs: {min_total: 1}}\nwait: *r\n")
@example(text="a: !!binary '###'")
@example(text="version: 1\nrules: {\ud800: 1}")
def test_arbitrary_yaml_text_is_a_policy_or_a_policy_error(text):
    check_policy(text)


def dump(document: Any) -> str:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


@FAST
@given(document=st.one_of(YAML_VALUES, POLICY_SHAPED))
def test_arbitrary_yaml_documents_are_a_policy_or_a_policy_error(document):
    check_policy(dump(document))


@FAST
@given(edits=mutations(EXAMPLE_DOCUMENT, YAML_VALUES))
def test_almost_valid_policies_are_a_policy_or_a_policy_error(edits):
    check_policy(dump(mutated(EXAMPLE_DOCUMENT, edits)))


def policy_error(text: str) -> str:
    """The message of the PolicyError ``text`` must give, checked by ``check_policy`` too."""
    assert check_policy(text) is None, "expected a PolicyError"
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, source=SOURCE)
    return str(caught.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'version: 1\n"rules\\nx": 1\n',
            "rules\\nx: unknown key; did you mean 'rules'?",
        ),
        (
            'version: 1\nrules:\n  runs: {min_total: 1, "a\\nb": 2}\n',
            "rules.runs.a\\nb: unknown key; expected one of min_total, max_failed, "
            "infrastructure, level, until, reason, test_id",
        ),
        (
            'version: 1\nrules:\n  runs: {min_total: 1, "a\\u2028\\rb\\x1b": 2}\n',
            "rules.runs.a\\u2028\\rb\\x1b: unknown key; expected one of min_total, max_failed, "
            "infrastructure, level, until, reason, test_id",
        ),
    ],
    ids=["top-level", "nested", "other-breaks-and-controls"],
)
def test_a_key_with_a_line_break_is_escaped_in_the_error(text, message):
    assert policy_error(text) == f"{SOURCE}: {message}"


def test_a_long_unknown_key_is_cut_in_the_error():
    message = policy_error("version: 1\nrules:\n  " + "k\\n" * 40 + ": 1\n")
    assert message.startswith(f"{SOURCE}: rules.") and one_line(message)
    shown = message.removeprefix(f"{SOURCE}: rules.").split(": unknown key")[0]
    assert len(shown) == 60 and shown.endswith("...")


BOOLEAN = "a boolean (true or false)"


def _tag_error(tag: str, error: str) -> str:
    return f"cannot read this tag:yaml.org,2002:{tag} value ({error})"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("a: !!bool maybe\n", f"line 1, column 4: 'maybe' is not {BOOLEAN}"),
        pytest.param("a: !!bool\n", f"line 1, column 4: '' is not {BOOLEAN}"),
        pytest.param("a: !!int\n", "line 1, column 4: '' is not a decimal whole number"),
        pytest.param("a: !!float\n", "line 1, column 4: '' is not a decimal number"),
        pytest.param(
            "a: !!timestamp x\n", f"line 1, column 4: {_tag_error('timestamp', 'AttributeError')}"
        ),
        pytest.param("a: !!map [1]\n", "line 1, column 4: …"),
        pytest.param("a: !!set [1]\n", "line 1, column 4: …"),
        pytest.param("? !!set {a, b}\n: 1\n", "line 1, column 3: found unhashable key"),
        pytest.param(
            "version: 1\nrules:\n  runs: {min_total: !!bool maybe}\n",
            f"line 3, column 21: 'maybe' is not {BOOLEAN}",
        ),
    ],
    ids=[
        "bool",
        "empty-bool",
        "empty-int",
        "empty-float",
        "timestamp",
        "map-of-list",
        "set-of-list",
        "set-key",
        "in-a-rule",
    ],
)
def test_explicit_tags_with_the_wrong_content_are_invalid_yaml(text, message):
    """A message ending in `` …`` is ours up to there, then PyYAML's words."""
    error = policy_error(text)
    if message.endswith(" …"):
        assert error.startswith(f"{SOURCE}: invalid YAML: {message[:-1]}") and one_line(error)
    else:
        assert error == f"{SOURCE}: invalid YAML: {message}"


# --------------------------------------------------------------------------- 3. numbers

NUMBER_POLICIES = [
    "rules:\n  metrics: [{name: Latency, p50: {min: .nan}}]",
    "rules:\n  metrics: [{name: Latency, p50: {max: .inf}}]",
    "rules:\n  metrics: [{name: Latency, p50: {min: -.inf, max: .nan}}]",
    "rules:\n  metrics: [{name: Latency, p50: {min: -1.0e+308}}]",
    "rules:\n  metrics: [{name: Latency, p50: {min: -1e308}}]",  # a string under YAML 1.1
    "rules:\n  metrics: [{name: Latency, p50: {max: 1.0e+400}}]",
    "rules:\n  metrics: [{name: Latency, p50: {min: 1.0e+308, max: -1.0e+308}}]",
    "rules:\n  metrics: [{name: Latency, p50: {min: -0.0, max: 0}}]",
    "rules:\n  metrics: [{id: 1.0e+300, p50: {max: 1}}]",
    f"rules:\n  expected_outcomes: {{max_unmet: {10**30}}}",
    "rules:\n  expected_outcomes: {max_unmet: -1}",
    "rules:\n  expected_outcomes: {max_unmet: 1.5}",
    "rules:\n  expected_outcomes: {min_met_percent: .nan}",
    "rules:\n  success_rate: {min: 100.0000001}",
    "rules:\n  success_rate: {min: -0.0}",
    "rules:\n  success_rate: {min: 5e-324}",
    f"rules:\n  runs: {{min_total: {10**30}, max_failed: {10**30}}}",
    "rules:\n  runs: {min_total: .inf}",
    "rules:\n  critical_categories: {max: {critical: .nan}}",
    f"rules:\n  critical_categories: {{max: {{critical: {10**30}}}}}",
    "wait: {timeout: .inf}\nrules:\n  runs: {min_total: 1}",
    "wait: {timeout: -1}\nrules:\n  runs: {min_total: 1}",
    "wait: {timeout: 1.0e+308, poll_interval: 5e-324}\nrules:\n  runs: {min_total: 1}",
]


@pytest.mark.parametrize("body", NUMBER_POLICIES)
def test_odd_numbers_in_policy_bounds_give_a_policy_or_a_policy_error(body):
    check_policy(f"version: 1\n{body}\n")


@FAST
@given(low=st.one_of(st.none(), FLOATS, INTS), high=st.one_of(st.none(), FLOATS, INTS))
def test_any_pair_of_metric_bounds_is_validated_and_judged(low, high):
    bounds = {key: value for key, value in (("min", low), ("max", high)) if value is not None}
    document = {"version": 1, "rules": {"metrics": [{"name": "Latency", "p50": bounds}]}}
    policy = check_policy(dump(document))
    if policy is not None:
        p50 = policy.rules.metrics[0].p50
        assert p50 is not None
        assert (p50.min, p50.max) == (
            None if low is None else float(low),
            None if high is None else float(high),
        )


COUNT_GARBAGE = st.one_of(
    SCALARS,
    st.sampled_from(
        ["abc", "", "  ", " 3 ", "3.0", "3.5", "-1", "1e400", "nan", "inf", "0x10", "1_0", "١٢"]
    ),
    st.sampled_from([True, False, None, 3, 3.0, 3.5, -0.0, -3, 10**30, [3], {"n": 3}]),
    st.sampled_from([10**9, 10**9 + 1, 1e9, "1000000001", 1.8e306, "1e307", 2 * 10**306, HUGE]),
)


@FAST
@given(total=COUNT_GARBAGE, successes=COUNT_GARBAGE, rate=COUNT_GARBAGE)
@example(total="abc", successes="abc", rate=100)
@example(total=0, successes=0, rate=100)
@example(total=[3], successes=[3], rate=100)
@example(total=True, successes=True, rate=100)
@example(total=math.nan, successes=math.nan, rate=100)
def test_garbage_counts_without_runs_never_pass(total, successes, rate):
    payload = make_result(
        [],
        total_runs_count=total,
        completed_runs_count=total,
        success_runs_count=successes,
        success_rate=rate,
        met_expected_outcome_count=successes,
        total_expected_outcome_count=total,
    )
    judge(payload)
    if whole_count(total) in (None, 0):
        verdict = evaluate(PASSABLE_POLICY, normalise(payload))
        assert verdict.status is VerdictStatus.FAIL


@FAST
@given(scores=st.lists(st.one_of(SCALARS, st.sampled_from(["nan", "inf", "1e400"])), max_size=5))
def test_a_metric_with_only_garbage_scores_never_meets_its_bound(scores):
    metrics = [{"id": 33, "name": "Latency", "type": "numeric", "score": s} for s in scores]
    payload = make_result(
        [make_run(i + 1, evaluation={"metrics": [m]}) for i, m in enumerate(metrics)]
    )
    result = judge(payload)
    assert result is not None
    check = next(c for c in evaluate(EXAMPLE_POLICY, result).checks if c.key == "metrics[0].p50")
    honest = [s for s in scores if not isinstance(s, bool) and _finite_number(s)]
    if not honest:
        assert check.outcome.value == "fail", check


def _finite_number(value: object) -> bool:
    try:
        number = float(value.strip() if isinstance(value, str) else value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return False
    return math.isfinite(number)


WAIT = "version: 1\nwait: {{timeout: {}}}\nrules:\n  runs: {{min_total: 1}}\n"
DURATION_ERROR = "wait.timeout: expected a duration such as 90s, 15m, 1h30m or a number of seconds"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "rules:\n  success_rate: {min: 1" + "0" * 400 + "}",
            "rules.success_rate.min: expected a finite number, got inf",
        ),
        (
            "rules:\n  metrics: [{name: a, p50: {max: 1" + "0" * 400 + "}}]",
            "rules.metrics[0].p50.max: expected a finite number, got inf",
        ),
        (
            "rules:\n  metrics: [{name: a, p50: {min: -1" + "0" * 400 + "}}]",
            "rules.metrics[0].p50.min: expected a finite number, got -inf",
        ),
        (
            "wait: {timeout: 1" + "0" * 400 + "h}\nrules:\n  runs: {min_total: 1}",
            f"{DURATION_ERROR}, got '1{'0' * 36}...'",
        ),
        (
            "rules:\n  runs: {min_total: 1" + "0" * 400 + "}",
            "rules.runs.min_total: expected a whole number up to 1000000000",
        ),
        (
            "rules:\n  runs: {min_total: 1000000001}",
            "rules.runs.min_total: expected a whole number up to 1000000000",
        ),
        (
            "rules:\n  expected_outcomes: {max_unmet: 1.0e+300}",
            "rules.expected_outcomes.max_unmet: expected a whole number up to 1000000000",
        ),
        (
            "rules:\n  runs: {min_total: 1}\nrun: {agent_id: " + "9" * 4000 + "}",
            "run.agent_id: expected a whole number up to 1000000000",
        ),
    ],
    ids=[
        "success_rate",
        "p50-max",
        "p50-min",
        "timeout-hours",
        "count",
        "count-above-a-billion",
        "float-count",
        "run-id",
    ],
)
def test_huge_numbers_in_a_policy_are_policy_errors(body, message):
    assert policy_error(f"version: 1\n{body}\n") == f"{SOURCE}: {message}"


# Hex, octal and sexagesimal integers are not subject to Python's 4,300-digit limit on
# int(), so the YAML loader reads "0x1" + "0" * 3572 (4,301 decimal digits); error
# messages name such a value "a very large number" instead of formatting it.
HUGE_HEX = "0x1" + "0" * 3572


@pytest.mark.parametrize(
    "text",
    [
        HUGE_HEX,
        "0" + "7" * 4763,
        "1" + ":00" * 2419,
        f"version: {HUGE_HEX}\nrules:\n  runs: {{min_total: 1}}\n",
        f"version: 1\nrules:\n  runs: {{min_total: -{HUGE_HEX}}}\n",
        f"version: 1\nwait: {{timeout: {HUGE_HEX}}}\nrules:\n  runs: {{min_total: 1}}\n",
    ],
    ids=["top-level-hex", "octal", "sexagesimal", "version", "negative-count", "timeout"],
)
def test_a_huge_hex_integer_is_a_one_line_policy_error(text):
    check_policy(text)


def test_a_huge_integer_timeout_is_a_one_line_policy_error():
    message = policy_error(WAIT.format("1" + "0" * 400))
    assert message == f"{SOURCE}: {DURATION_ERROR}, got a very large number"
    assert one_line(message)


def test_a_billion_is_still_a_count():
    policy = check_policy("version: 1\nrules:\n  runs: {min_total: 1000000000}\n")
    assert policy is not None and policy.rules.runs is not None
    assert policy.rules.runs.min_total == 10**9


@pytest.mark.parametrize(
    ("timeout", "shown"),
    [
        ("9" * 5000 + "h", f"'{'9' * 37}...'"),  # int() refuses 4,300+ digits
        ("8785h", "'8785h'"),  # a year and a day
        ("31622401", "31622401"),
        ("527041m", "'527041m'"),
        ("0000000001s", "'0000000001s'"),  # 10 digits, though it is one second
        ('"0000000001"', "'0000000001'"),
        ("1.0000000001s", "'1.0000000001s'"),
        ("0s", "'0s'"),
    ],
)
def test_durations_longer_than_a_year_or_with_long_numbers_are_policy_errors(timeout, shown):
    assert policy_error(WAIT.format(timeout)) == f"{SOURCE}: {DURATION_ERROR}, got {shown}"


@pytest.mark.parametrize(
    ("timeout", "seconds"),
    [
        ("8784h", 366 * 24 * 3600.0),
        ("31622400", 366 * 24 * 3600.0),
        ("999999999s", None),
        ("123456789m", None),
        ("1.000000001s", 1.000000001),
        ("1h30m", 5400.0),
    ],
)
def test_durations_up_to_a_year_with_up_to_nine_digits_are_read(timeout, seconds):
    text = WAIT.format(timeout)
    if seconds is None:  # nine digits, but longer than a year
        assert policy_error(text).startswith(f"{SOURCE}: {DURATION_ERROR}, got ")
        return
    policy = check_policy(text)
    assert policy is not None and policy.wait.timeout_s == seconds


# --------------------------------------------------------------------------- 4. strings

HOSTILE = "\x1b[31m<&]]>|`*_💥\u202e\u2028\n\r\x00\ud800 a b \x85"
MB_TEXT = (HOSTILE * (MEGABYTE // len(HOSTILE) + 1))[:MEGABYTE]


def big_field_payloads(text: str) -> dict[str, dict[str, Any]]:
    """One failing single-run payload per field that can carry a megabyte of text."""
    kib = [text[i * 1000 : (i + 1) * 1000] for i in range(1000)]
    runs: dict[str, dict[str, Any]] = {
        "scenario_name": make_run(1, success=False, scenario_name=text),
        "personality_name": make_run(1, success=False, personality_name=text),
        "transcript": make_run(1, success=False, transcript=text),
        "error_message": make_run(1, success=False, error_message=text),
        "run status": make_run(1, success=False, status=text),
        "duration": make_run(1, success=False, duration=text),
        "expected outcome": make_run(
            1, success=False, expected_outcome={"score": 0, "explanation": text}
        ),
        "binary metric": make_run(
            1,
            success=False,
            evaluation={
                "metrics": [{"name": text, "type": "binary", "passed": False, "explanation": text}]
            },
        ),
        "numeric metric": make_run(
            1,
            success=False,
            evaluation={"metrics": [{"name": text, "type": "numeric", "score": 3}]},
        ),
        "category": make_run(
            1, success=False, critical_categories=[{"category": text, "priority": "critical"}]
        ),
        "1000 categories": make_run(
            1,
            success=False,
            critical_categories=[{"category": part, "priority": "critical"} for part in kib],
        ),
        "1000 metrics": make_run(
            1,
            success=False,
            evaluation={
                "metrics": [
                    {"name": part, "type": "binary", "passed": False, "explanation": part}
                    for part in kib
                ]
            },
        ),
    }
    payloads = {name: make_result([run]) for name, run in runs.items()}
    payloads["result name"] = make_result([make_run(1, success=False)], name=text)
    payloads["agent name"] = make_result([make_run(1, success=False)], agent_name=text)
    payloads["summary metrics"] = make_result(
        [make_run(1, success=False)],
        overall_evaluation={"numeric_metrics": [{"name": part, "p50": 1} for part in kib]},
    )
    return payloads


def assert_bounded_reports(payload: dict[str, Any]) -> None:
    result = normalise(payload)
    for policy in POLICIES:
        verdict = evaluate(policy, result)
        texts = render_all(verdict)
        assert len(texts["junit"].encode("utf-8")) < JUNIT_LIMIT
        assert len(texts["summary"].encode("utf-8")) < MARKDOWN_LIMIT
        assert_junit_parses(texts["junit"])
        json.loads(texts["json"], parse_constant=_no_constants)


@pytest.mark.parametrize(("field", "payload"), list(big_field_payloads(MB_TEXT).items()))
def test_a_megabyte_of_text_in_one_field_keeps_reports_small(field, payload):
    assert_bounded_reports(payload)


@examples(6)
@given(chunk=TEXT.filter(bool), field=st.sampled_from(sorted(big_field_payloads("x"))))
def test_any_megabyte_text_keeps_reports_small(chunk, field):
    text = (chunk * (MEGABYTE // len(chunk) + 1))[:MEGABYTE]
    assert_bounded_reports(big_field_payloads(text)[field])


JUNIT_PROPERTY_LIMIT = 500


@pytest.mark.parametrize(
    "fields",
    [{"status": "x" * MEGABYTE}, {"status": MB_TEXT}, {"status": "completed", "id": 10**4299}],
    ids=["status", "hostile-status", "4300-digit-id"],
)
def test_junit_properties_are_capped_at_500_characters(fields):
    payload = make_result(**fields)
    assert_bounded_reports(payload)
    verdict = evaluate(EXAMPLE_POLICY, normalise(payload))
    properties = {
        item.get("name"): item.get("value", "")
        for item in assert_junit_parses(junit.render(verdict)).iter("property")
    }
    assert properties["result_status"] and properties["result_id"]
    assert all(len(value) <= JUNIT_PROPERTY_LIMIT for value in properties.values()), {
        name: len(value) for name, value in properties.items()
    }
    assert all(one_line(value) for value in properties.values())


# --------------------------------------------------------------------------- percents

PERCENT_PLACES = [
    "success_rate: {{min: {v}}}",
    "expected_outcomes: {{min_met_percent: {v}}}",
    "metrics: [{{name: x, pass_percent: {{max_drop: {v}}}}}]",
    "metrics: [{{name: x, mean: {{max_decrease_percent: {v}}}}}]",
    "scenarios: [{{match: x, min_pass_percent: {v}}}]",
]


@settings(max_examples=100 * SCALE, deadline=None, database=None)
@given(st.integers(1, 10**6), st.sampled_from(PERCENT_PLACES))
def test_any_bare_fraction_on_a_percent_key_is_refused_and_its_sign_accepted(millionths, place):
    written = f"{millionths / 10**6:.6f}".rstrip("0").rstrip(".")  # 0.000001 .. 1
    with pytest.raises(PolicyError) as caught:
        parse_policy(f"version: 1\nrules:\n  {place.format(v=written)}\n", source=SOURCE)
    assert "did you mean" in str(caught.value) and one_line(str(caught.value))
    signed = f"version: 1\nrules:\n  {place.format(v=repr(written + '%'))}\n"
    assert isinstance(parse_policy(signed, source=SOURCE), Policy)


# --------------------------------------------------------------------------- 5. YAML bombs


def laughs(depth: int = 9, width: int = 9) -> list[str]:
    """Billion-laughs anchors: each level is ``width`` aliases of the one below."""
    lines = ["l0: &l0 [" + ", ".join(['"lol"'] * width) + "]"]
    lines += [
        f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * width) + "]"
        for level in range(1, depth + 1)
    ]
    return lines


def merge_laughs(depth: int = 9, width: int = 9) -> str:
    """The same bomb built from merge keys, which PyYAML flattens by copying."""
    lines = ["l0: &l0 {a: 1, b: 2, c: 3}"]
    lines += [
        f"l{level}: &l{level} {{<<: [" + ", ".join([f"*l{level - 1}"] * width) + "]}"
        for level in range(1, depth + 1)
    ]
    return "\n".join(lines) + "\n"


def _indented(lines: list[str], spaces: int) -> str:
    return "".join(" " * spaces + line + "\n" for line in lines)


BOMBS = {
    "top-level": "\n".join(laughs()) + "\n",
    "under-unknown-key": "version: 1\nx:\n" + _indented(laughs(), 2) + "rules: {runs: *l9}\n",
    "as-ignore-list": (
        "version: 1\nrules:\n  critical_categories:\n    max: {critical: 0}\n"
        "    ignore: &top\n" + _indented(["- " + line for line in laughs()], 6)
    ),
    "as-tags": "version: 1\nrules: {runs: {min_total: 1}}\nrun:\n  defs: &d\n"
    + _indented(laughs(), 4)
    + "  tags: *d\n",
    "as-metrics": "version: 1\nd:\n" + _indented(laughs(), 2) + "rules: {metrics: *l9}\n",
    "as-version": "d:\n" + _indented(laughs(), 2) + "version: *l9\nrules: {runs: {min_total: 1}}\n",
}


@pytest.mark.parametrize("text", list(BOMBS.values()), ids=list(BOMBS))
def test_billion_laughs_ends_quickly_in_a_policy_error(text):
    started = time.perf_counter()
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, source=SOURCE)
    assert time.perf_counter() - started < BOMB_SECONDS
    assert str(caught.value).startswith(f"{SOURCE}: ") and one_line(str(caught.value))


def _policy_in_subprocess(expression: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """Parse a policy in a child process: a segfault or a hang must not take pytest down."""
    code = textwrap.dedent(
        f"""
        import time
        from gate.errors import PolicyError
        from gate.policy.load import parse_policy
        text = {expression}
        started = time.perf_counter()
        try:
            parse_policy(text, source="p.yaml")
            print("policy")
        except PolicyError as exc:
            print("PolicyError", exc)
        print("seconds", time.perf_counter() - started)
        """
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_a_merge_key_bomb_ends_quickly_in_a_policy_error():
    # 9 levels of 9 merge aliases: a PyYAML that copies every merged entry would build 3 * 9**9
    # of them; one that drops duplicate merged keys (6.0.4) builds three. Either way the gate
    # refuses the policy quickly with a one-line PolicyError (which of its own checks says so
    # depends on the PyYAML version, so the wording is not asserted).
    proc = _policy_in_subprocess(repr(merge_laughs()), timeout=BOMB_SECONDS + 5)
    assert proc.returncode == 0, proc.stderr
    first, seconds = proc.stdout.splitlines()
    assert first.startswith("PolicyError p.yaml: "), proc.stdout
    assert float(seconds.removeprefix("seconds ")) < BOMB_SECONDS


def test_small_merge_keys_still_merge():
    policy = check_policy(
        "version: 1\nrules:\n  runs: {<<: [{min_total: 2}, {max_failed: 0}], level: warn}\n"
    )
    assert policy is not None and policy.rules.runs is not None
    assert (policy.rules.runs.min_total, policy.rules.runs.max_failed) == (2, 0)


def test_deep_block_nesting_is_a_policy_error_not_a_crash():
    # 50,000 nested block sequences, 100 KB: libyaml's composer overflowed the C stack.
    proc = _policy_in_subprocess("'- ' * 50000 + 'x'", timeout=30)
    assert proc.returncode == 0, f"the parser process died with {proc.returncode}"
    assert proc.stdout.startswith(
        "PolicyError p.yaml: invalid YAML: collections nest more than 100 levels deep\n"
    ), proc.stdout
    assert float(proc.stdout.split("seconds ")[-1]) < BOMB_SECONDS


def _nested_mappings(depth: int, sequences: int = 0) -> str:
    """``sequences`` block sequences on the first line, then ``depth`` block mappings."""
    column = 2 * sequences
    lines = ["- " * sequences + "a:"]
    lines += [" " * (column + level) + "a:" for level in range(1, depth - 1)]
    return "\n".join([*lines, " " * (column + depth - 1) + "a: 1"]) + "\n"


TOO_DEEP = "invalid YAML: collections nest more than 100 levels deep"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- " * 100 + "x\n", "expected a mapping at the top level, got a list"),
        ("- " * 101 + "x\n", TOO_DEEP),
        (
            _nested_mappings(100),
            "a: unknown key; expected one of version, wait, rules, run, baseline",
        ),
        (_nested_mappings(101), TOO_DEEP),
        (_nested_mappings(40, sequences=60), "expected a mapping at the top level, got a list"),
        (_nested_mappings(41, sequences=60), TOO_DEEP),
    ],
    ids=[
        "100-sequences",
        "101-sequences",
        "100-mappings",
        "101-mappings",
        "100-mixed",
        "101-mixed",
    ],
)
def test_block_nesting_is_refused_beyond_100_levels(text, message):
    assert policy_error(text) == f"{SOURCE}: {message}"


def test_a_two_megabyte_policy_is_refused_quickly(tmp_path):
    text = "version: 1\nrules:\n  runs: {min_total: 1}\n" + "# padding\n" * 210_000
    assert len(text.encode("utf-8")) > 2_000_000
    started = time.perf_counter()
    with pytest.raises(PolicyError, match="larger than"):
        parse_policy(text, source=SOURCE)
    path = tmp_path / "gate.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(GateError, match="larger than"):
        load_policy(str(path))
    assert time.perf_counter() - started < BOMB_SECONDS


def test_a_policy_just_under_the_limit_parses_quickly():
    items = ", ".join(["not_a_bug"] * 50_000)
    text = (
        "version: 1\nrules:\n  critical_categories:\n    max: {critical: 0}\n"
        f"    ignore: [{items}]\n" + "# padding\n" * 40_000
    )
    assert 900_000 < len(text.encode("utf-8")) < 1_048_576
    started = time.perf_counter()
    policy = check_policy(text)
    assert policy is not None
    assert time.perf_counter() - started < BOMB_SECONDS


DUP_KEY = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True)


@FAST
@given(
    nesting=st.lists(st.sampled_from(["map", "seq"]), max_size=8),
    key=DUP_KEY,
    before=st.integers(0, 3),
    between=st.integers(0, 3),
    flow=st.booleans(),
)
@example(nesting=[], key="min_total", before=0, between=0, flow=False)
@example(nesting=["map", "seq", "map"], key="name", before=1, between=2, flow=True)
def test_duplicate_keys_at_any_depth_name_line_and_column(nesting, key, before, between, flow):
    fill = [f"{key}_f{index}: 0" for index in range(before + between)]
    if flow:
        line = "rules: "
        for index, kind in enumerate(nesting):
            line += f"{{n{index}: " if kind == "map" else "["
        inner = [*fill[:before], f"{key}: 1", *fill[before:]]
        line += "{" + ", ".join(inner) + ", "
        column = len(line) + 1
        line += f"{key}: 2}}"
        line += "".join("}" if kind == "map" else "]" for kind in reversed(nesting))
        lines = ["version: 1", line]
    else:
        lines = ["version: 1", "rules:"]
        indent = 2
        for index, kind in enumerate(nesting):
            lines.append(" " * indent + (f"n{index}:" if kind == "map" else "-"))
            indent += 2
        pad = " " * indent
        lines += [pad + item for item in fill[:before]]
        lines.append(f"{pad}{key}: 1")
        lines += [pad + item for item in fill[before:]]
        lines.append(f"{pad}{key}: 2")
        column = indent + 1
    line_number = len(lines)
    with pytest.raises(PolicyError) as caught:
        parse_policy("\n".join(lines) + "\n", source=SOURCE)
    message = str(caught.value)
    assert message.startswith(f"{SOURCE}: invalid YAML: line {line_number}, column {column}: ")
    assert "found duplicate key" in message and one_line(message)


# --------------------------------------------------------------------------- 6. the real CLI


def cli_check(tmp: Path, data: bytes, runs: bytes | None = None) -> tuple[int, str, dict[str, str]]:
    """``cekura-gate check`` on a result file holding ``data``; every report asked for."""
    result = tmp / "result.json"
    result.write_bytes(data)
    extra: list[str] = []
    if runs is not None:
        (tmp / "runs.json").write_bytes(runs)
        extra = ["--runs-file", str(tmp / "runs.json")]
    out = tmp / "out"
    reports = {
        "junit": out / "junit.xml",
        "summary": out / "summary.md",
        "json": out / "report.json",
        "dotenv": out / "gate.env",
    }
    flags = [item for name, path in reports.items() for item in (f"--{name}", str(path))]
    proc = run_cli(
        "check",
        "--result-file",
        str(result),
        "--policy",
        str(EXAMPLES / "gate.yaml"),
        *flags,
        *extra,
        env={"GITHUB_ACTIONS": "", "GITLAB_CI": ""},
    )
    texts = {}
    for name, path in reports.items():
        assert path.is_file(), f"the {name} report was not written; stderr: {proc.stderr}"
        texts[name] = path.read_text(encoding="utf-8")
    return proc.code, proc.stderr, texts


def assert_cli_sound(code: int, stderr: str, texts: dict[str, str]) -> None:
    assert "Traceback" not in stderr, stderr
    assert "internal error" not in stderr, stderr
    assert code in (0, 1, 3), (code, stderr)
    assert_junit_parses(texts["junit"])
    document = json.loads(texts["json"], parse_constant=_no_constants)
    assert document["verdict"] in ("pass", "warn", "fail", "error")
    assert code == {"pass": 0, "warn": 0, "fail": 1, "error": 3}[document["verdict"]]
    lines = texts["dotenv"].splitlines()
    assert lines and all(DOTENV_LINE.fullmatch(line) for line in lines), texts["dotenv"]
    assert texts["summary"].startswith("## ")


def _json(value: Any) -> bytes:
    return json.dumps(value).encode("utf-8")


def _passing_with_text(text: str) -> bytes:
    run = make_run(1, scenario_name=text, personality_name=text, transcript=text)
    return _json(make_result([run], name=text, agent_name=text))


CLI_CASES = [
    pytest.param(b"", id="empty-file"),
    pytest.param(b"null", id="null"),
    pytest.param(b"[]", id="list"),
    pytest.param(b'"completed"', id="string"),
    pytest.param(b"{", id="truncated"),
    pytest.param(b"\xff\xfe{}", id="not-utf8"),
    pytest.param(b"\xef\xbb\xbf" + _json(MIXED), id="bom"),
    pytest.param(b'{"id": 1, "status": "completed", "success_rate": NaN}', id="nan-token"),
    pytest.param(b'{"id": 1e400, "status": "completed"}', id="infinite-id"),
    pytest.param(b'{"id": 1, "status": "completed", "total_runs_count": -Infinity}', id="inf"),
    pytest.param(_json(make_result(total_runs_count=10**30)), id="1e30-runs"),
    pytest.param(_json({"detail": "Not found."}), id="api-error"),
    pytest.param(_json({"id": 1, "status": "running"}), id="running"),
    pytest.param(_json({**MIXED, "runs": list(MIXED["runs"].values())}), id="runs-as-list"),
    pytest.param(_passing_with_text(HOSTILE * 3), id="hostile-text"),
    pytest.param(_json(PASSING), id="passing"),
    pytest.param(_json({"detail": "boom\ud800"}), id="detail-surrogate"),
    pytest.param(
        _json(make_result([make_run(1, critical_categories=[{"priority": "\ud800"}])])),
        id="priority-surrogate",
    ),
    pytest.param(_json(make_result([make_run(1, duration="01:\u00b2")])), id="duration"),
    pytest.param(_json({"id": 1, "status": "completed", "total_runs_count": HUGE}), id="huge-int"),
    pytest.param(
        _json(
            {"id": 1, "status": "completed", "total_runs_count": 2e306, "success_runs_count": 2e306}
        ),
        id="counts-near-float-max",
    ),
    pytest.param(
        _json(make_result([make_run(1, success=False, transcript=nested_list(400))])),
        id="deep-text",
    ),
    pytest.param(_json(make_result(status=["completed"])), id="list-status"),
    pytest.param(
        b'{"id": 1, "status": "completed", "total_runs_count": 1' + b"0" * 5000 + b"}",
        id="5000-digit-int",
    ),
]


@pytest.mark.parametrize("data", CLI_CASES)
def test_cli_ends_cleanly_on_nasty_result_files(tmp_path, data):
    assert_cli_sound(*cli_check(tmp_path, data))


@pytest.mark.parametrize(
    "runs",
    [
        b"",
        b"{",
        b"null",
        b"[1]",
        b'[{"id": "x"}]',
        b'[{"id": 274, "result_id": 999}]',
        b'{"results": [{"id": 274, "critical_categories": [{"priority": "critical"}]}]}',
        _json([{**run, "transcript": HOSTILE} for run in BULK]),
    ],
    ids=["empty", "truncated", "null", "number", "bad-id", "other-result", "wrapped", "hostile"],
)
def test_cli_ends_cleanly_on_nasty_runs_files(tmp_path, runs):
    assert_cli_sound(*cli_check(tmp_path, _json(MIXED), runs))


@examples(5)
@given(payload=st.one_of(SHAPED, JSON), edits=mutations(MIXED))
def test_cli_ends_cleanly_on_arbitrary_json(tmp_path_factory, payload, edits):
    for document in (payload, mutated(MIXED, edits)):
        tmp = tmp_path_factory.mktemp("cli")
        assert_cli_sound(*cli_check(tmp, _json(document)))


def test_validate_reports_a_bad_tag_as_a_policy_error(tmp_path):
    policy = tmp_path / "gate.yaml"
    policy.write_text("version: 1\nrules:\n  runs: {min_total: !!bool maybe}\n", encoding="utf-8")
    proc = run_cli("validate", "--policy", str(policy))
    assert "Traceback" not in proc.stderr and proc.code == 2, (proc.code, proc.stderr)
    assert f"'maybe' is not {BOOLEAN}" in proc.stderr
    assert one_line(proc.stderr.strip()), proc.stderr


def test_validate_reports_a_huge_hex_integer_in_one_line(tmp_path):
    policy = tmp_path / "gate.yaml"
    policy.write_text(f"version: {HUGE_HEX}\nrules:\n  runs: {{min_total: 1}}\n", encoding="utf-8")
    proc = run_cli("validate", "--policy", str(policy))
    assert "Traceback" not in proc.stderr and proc.code == 2, (proc.code, proc.stderr[-300:])
