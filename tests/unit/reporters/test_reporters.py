"""Reporter tests: golden files, JUnit re-parsed as its consumers read it, Markdown tables
and terminal colour.

Golden files
------------
``tests/golden/<scenario>.<md|json|xml>`` hold the exact Markdown, JSON and JUnit reports
for four verdicts: ``fail`` (the bundled example: result_completed_mixed.json merged with
runs_bulk.json, judged by examples/gate.yaml), ``pass``, ``warn`` and ``error`` (no verdict).
They are deterministic: relative policy paths, fixed result URLs, no clock.

After an intended change to a reporter, regenerate them and review the diff::

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/unit/reporters tests/e2e/test_cli.py
    git diff tests/golden

With ``UPDATE_GOLDEN=1`` the golden tests (here and the ``make demo`` test in
test_cli.py) rewrite the files instead of comparing; without it they fail on any difference.
"""

from __future__ import annotations

import dataclasses
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest
from junitparser import JUnitXml
from lxml import etree

from gate.reporters import REPORTERS, comment, junit, markdown, terminal
from gate.reporters.failure import baseline_text, rate_text, runs_text
from gate.results.merge import merge_run_details
from gate.results.model import Run
from gate.results.normalise import normalise
from gate.rules.checks import Check, Outcome
from gate.rules.evaluate import (
    BaselineInfo,
    Counts,
    NoVerdict,
    RunReport,
    Verdict,
    VerdictStatus,
    evaluate,
    no_verdict,
)
from tests.conftest import DATA, EXAMPLES, ROOT, load_payload, make_result, make_run, policy_from
from tests.golden import assert_golden, status_of

XSD = DATA / "junit-10.xsd"
DASHBOARD = "https://dashboard.cekura.ai"
ANSI_DEBRIS = ("\x1b", "[31m", "[0m", "[2K", "196m", "]0;")


# --------------------------------------------------------------------------- verdicts

PASS_POLICY = """\
version: 1
rules:
  success_rate: {min: 90}
  runs: {min_total: 2, max_failed: 0}
"""

WARN_POLICY = """\
version: 1
rules:
  success_rate: {min: 90, level: warn}
  runs: {min_total: 1}
  expected_outcomes: {max_unmet: 0, level: "off"}
"""


def failing_verdict() -> Verdict:
    policy = policy_from((EXAMPLES / "gate.yaml").read_text(), source="examples/gate.yaml")
    payload = merge_run_details(
        load_payload("result_completed_mixed.json"), load_payload("runs_bulk.json")
    )
    verdict = evaluate(policy, normalise(payload))
    # As the CLI judges it from the repository root (`make demo`, which shares the golden).
    return dataclasses.replace(
        verdict, result_url=f"{DASHBOARD}/results/167", policy_file="examples/gate.yaml"
    )


def passing_verdict() -> Verdict:
    runs = [make_run(1), make_run(2, scenario=2, scenario_name="Cancel a booking")]
    verdict = evaluate(policy_from(PASS_POLICY), normalise(make_result(runs)))
    return dataclasses.replace(verdict, result_url=f"{DASHBOARD}/results/500")


def warning_verdict() -> Verdict:
    failed = make_run(
        2,
        scenario=2,
        scenario_name="Reschedule | move to Friday",
        success=False,
        expected_outcome={"score": 0, "explanation": ["❌ offered Thursday instead"]},
        transcript="[00:01] Testing Agent: Can we move it to Friday?",
    )
    verdict = evaluate(policy_from(WARN_POLICY), normalise(make_result([make_run(1), failed])))
    return dataclasses.replace(
        verdict, result_url=f"{DASHBOARD}/results/500", policy_file="ci/gate.yaml"
    )


INFRA_POLICY = """\
version: 1
rules:
  success_rate: {min: 90}
  runs: {max_failed: 0}
  infrastructure: {max: 0, test_id: infrastructure}
"""


def infrastructure_verdict() -> Verdict:
    """Every failed run is infrastructure-failed: one never connected (the result says so),
    one ended with a SIP error before it began."""
    runs = [
        make_run(1),
        make_run(2, success=False, expected_outcome={}, metadata={"ended_reason": "x"}),
        make_run(
            3,
            scenario=2,
            scenario_name="Cancel a booking",
            status="failed",
            success=None,
            duration="00:00",
            expected_outcome={},
            error_message="SIP 503 Service Unavailable",
        ),
    ]
    payload = make_result(runs, not_connected_runs=[2])
    verdict = evaluate(policy_from(INFRA_POLICY), normalise(payload))
    return dataclasses.replace(verdict, result_url=f"{DASHBOARD}/results/500")


def error_verdict() -> NoVerdict:
    return no_verdict(
        "results/167.json: the result is not valid JSON: line 1, column 21: "
        "Unterminated string starting at",
        policy_source="gate.yaml",
    )


SCENARIOS: dict[str, Callable[[], Verdict | NoVerdict]] = {
    "fail": failing_verdict,
    "pass": passing_verdict,
    "warn": warning_verdict,
    "error": error_verdict,
    "infra": infrastructure_verdict,
}
JUDGED = ("fail", "pass", "warn")


def judged(scenario: str) -> Verdict:
    verdict = SCENARIOS[scenario]()
    assert isinstance(verdict, Verdict)
    return verdict


FORMATS = (("summary", "md"), ("json", "json"), ("junit", "xml"))


@pytest.mark.parametrize(
    ("scenario", "status"),
    [
        ("fail", VerdictStatus.FAIL),
        ("pass", VerdictStatus.PASS),
        ("warn", VerdictStatus.WARN),
        ("error", VerdictStatus.ERROR),
        ("infra", VerdictStatus.FAIL),
    ],
)
def test_scenario_has_its_intended_verdict(scenario, status):
    assert SCENARIOS[scenario]().status is status


def test_scenarios_exercise_every_junit_status():
    fail, warn = failing_verdict(), warning_verdict()
    assert fail.failed_checks and any(report.blamed for report in fail.runs)
    warn_outcomes = {check.outcome for check in warn.checks}
    assert {Outcome.WARN, Outcome.SKIP} <= warn_outcomes
    assert any(report.failed and not report.blamed for report in warn.runs)


@pytest.mark.parametrize("scenario", SCENARIOS)
@pytest.mark.parametrize(("report", "ext"), FORMATS)
def test_report_matches_golden_file(scenario, report, ext):
    text = REPORTERS[report](SCENARIOS[scenario]())
    assert str(ROOT) not in text
    assert not re.search(r"\d{4}-\d\d-\d\dT\d\d:", text), "no timestamps in reports"
    assert_golden(f"{scenario}.{ext}", text)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_json_report_parses_and_states_the_verdict(scenario):
    verdict = SCENARIOS[scenario]()
    document = json.loads(REPORTERS["json"](verdict))
    assert document["verdict"] == verdict.status.value
    assert document["error"] == (verdict.error if isinstance(verdict, NoVerdict) else None)


@pytest.mark.parametrize(
    ("scenario", "figures"),
    [
        ("infra", "3 runs: 1 judged, 2 infrastructure-failed; 0 failed"),
        ("fail", "2 runs, 1 failed"),
    ],
)
def test_every_headline_states_the_same_run_figures(scenario, figures):
    # The terminal, the summary and the pull-request comment say it in the same words.
    verdict = SCENARIOS[scenario]()
    rate = "success rate 100% of those judged" if scenario == "infra" else "success rate 50%"
    assert f", {figures}, {rate})" in terminal.render(verdict).splitlines()[0]
    for text in (markdown.render(verdict), comment.render(verdict, mark="<!-- m -->")):
        assert f" · {figures} · {rate}" in text


# --------------------------------------------------------------------------- JUnit helpers


def parse_cases(xml: str) -> list[Any]:
    """The testcases of the report's single suite, read the way EnricoMi's reporter reads them."""
    suites = list(JUnitXml.fromstring(xml.encode("utf-8")))
    assert len(suites) == 1
    return list(suites[0])


def parse_suite(xml: str) -> Any:
    return next(iter(JUnitXml.fromstring(xml.encode("utf-8"))))


@cache
def _schema() -> Any:
    return etree.XMLSchema(etree.parse(str(XSD)))


def assert_valid_junit10(xml: str) -> None:
    root = etree.fromstring(xml.encode("utf-8"))
    # The one deviation from junit-10.xsd: testcase `file`/`line` (pytest writes them too;
    # GitLab, EnricoMi and mikepenz read them). Everything else validates as written.
    for case in root.iter("testcase"):
        for attribute in ("file", "line"):
            case.attrib.pop(attribute, None)
    _schema().assertValid(root)


# --------------------------------------------------------------------------- JUnit structure


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_junit_validates_against_junit10_xsd(scenario):
    assert_valid_junit10(junit.render(SCENARIOS[scenario]()))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_junit_counts_match_elements_and_failures_iff_gate_failed(scenario):
    verdict = SCENARIOS[scenario]()
    xml = junit.render(verdict)
    suite, kinds = parse_suite(xml), [status_of(case)[0] for case in parse_cases(xml)]
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (
        len(kinds),
        kinds.count("failure"),
        kinds.count("error"),
        kinds.count("skipped"),
    )
    assert (kinds.count("failure") > 0) is (verdict.status is VerdictStatus.FAIL)
    assert (kinds.count("error") > 0) is (verdict.status is VerdictStatus.ERROR)


@pytest.mark.parametrize("scenario", JUDGED)
def test_junit_has_one_case_per_check_then_one_per_run(scenario):
    verdict = judged(scenario)
    cases = parse_cases(junit.render(verdict))
    checks, runs = cases[: len(verdict.checks)], cases[len(verdict.checks) :]
    assert [(case.classname, case.name) for case in checks] == [
        (junit.classname(check), check.identity) for check in verdict.checks
    ]
    assert [(case.classname, case.name.split()[1]) for case in runs] == [
        (report.run.scenario_name, str(report.run.id)) for report in verdict.runs
    ]
    assert len({(case.classname, case.name) for case in cases}) == len(cases)  # GitLab dedupes


@pytest.mark.parametrize("scenario", JUDGED)
def test_junit_rule_cases_carry_the_policy_file_and_the_rule_line(scenario):
    verdict = judged(scenario)
    root = etree.fromstring(junit.render(verdict).encode("utf-8"))
    cases = list(root.iter("testcase"))
    located = [(case.get("file"), case.get("line")) for case in cases[: len(verdict.checks)]]
    assert located == [
        (verdict.policy_file, None if check.line is None else str(check.line))
        if verdict.policy_file
        else (None, None)
        for check in verdict.checks
    ]
    assert any(line for _, line in located) is bool(verdict.policy_file)
    assert all(case.get("file") is None for case in cases[len(verdict.checks) :])  # runs


def test_junit_without_a_repository_path_writes_no_file_or_line():
    verdict = dataclasses.replace(judged("fail"), policy_file=None)
    root = etree.fromstring(junit.render(verdict).encode("utf-8"))
    assert not [case for case in root.iter("testcase") if "file" in case.attrib]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_junit_details_never_repeat_the_message(scenario):
    """Reporters show the message and the details together (EnricoMi, mikepenz)."""
    root = etree.fromstring(junit.render(SCENARIOS[scenario]()).encode("utf-8"))
    for element in root.iter("failure", "skipped"):
        message = element.get("message", "")
        for prefix in ("warning: ", "off: ", "tolerated by policy: "):
            message = message.removeprefix(prefix)
        assert message and message not in (element.text or ""), etree.tostring(element)


def test_junit_times_keep_to_the_schema_pattern_with_any_duration():
    """A suite's time is SUREFIRE_TIME in junit-10.xsd: no exponent, at most 3 decimals."""
    runs = [make_run(n, duration=duration) for n, duration in enumerate(["00:01", "999999:59"], 1)]
    verdict = evaluate(policy_from(PASS_POLICY), normalise(make_result(runs)))
    xml = junit.render(verdict)
    assert_valid_junit10(xml)
    assert '<testsuites tests="6" failures="0" errors="0" time="60000000.000">' in xml


CHECK_STATUS = {
    Outcome.PASS: ("passed", ""),
    Outcome.FAIL: ("failure", ""),
    Outcome.WARN: ("skipped", "warning: "),
    Outcome.SKIP: ("skipped", "off: "),
}


@pytest.mark.parametrize("scenario", JUDGED)
def test_junit_check_status_follows_its_outcome(scenario):
    verdict = judged(scenario)
    cases = parse_cases(junit.render(verdict))[: len(verdict.checks)]
    for check, case in zip(verdict.checks, cases, strict=True):
        kind, message = status_of(case)
        expected_kind, prefix = CHECK_STATUS[check.outcome]
        assert kind == expected_kind, check.key
        assert message.startswith(prefix)
        assert kind == "passed" or message.strip(), f"{check.key}: element without a message"


def _expected_run_kind(verdict: Verdict, report: RunReport) -> str:
    if verdict.status is VerdictStatus.FAIL and report.blamed:
        return "failure"
    return "skipped" if report.failed else "passed"


@pytest.mark.parametrize("scenario", JUDGED)
def test_junit_run_status_blamed_fails_tolerated_skips(scenario):
    verdict = judged(scenario)
    cases = parse_cases(junit.render(verdict))[len(verdict.checks) :]
    for report, case in zip(verdict.runs, cases, strict=True):
        kind, message = status_of(case)
        assert kind == _expected_run_kind(verdict, report), report.run.id
        if kind == "skipped":
            assert message.startswith("tolerated by policy: ")
        if kind == "failure":
            assert message == report.reasons[0]


def test_junit_properties_carry_result_and_policy():
    suite = parse_suite(junit.render(failing_verdict()))
    assert {prop.name: prop.value for prop in suite.properties()} == {
        "verdict": "fail",
        "policy": "examples/gate.yaml",
        "result_id": "167",
        "result_status": "completed",
        "failure": "agent",
        "result_url": f"{DASHBOARD}/results/167",
    }


def test_junit_error_verdict_is_one_error_case_with_the_reason():
    verdict = error_verdict()
    cases = parse_cases(junit.render(verdict))
    assert len(cases) == 1
    assert status_of(cases[0]) == ("error", verdict.error)
    assert not cases[0].result[0].text  # the message says it all; reporters show both


def test_junit_error_keeps_a_long_reason_whole_in_its_text():
    reason = "the result is not valid JSON: " + "x" * 2_000
    [case] = parse_cases(junit.render(no_verdict(reason, policy_source="gate.yaml")))
    assert len(status_of(case)[1]) <= junit.MESSAGE_LIMIT
    assert case.result[0].text == reason


def _failed_run() -> Run:
    return normalise(make_result([make_run(1, success=False)])).runs[0]


@pytest.mark.parametrize("reason", ["", "   ", "\n\n", "\x1b[31m\x1b[0m", "\x00\x1b", "\ufffe"])
def test_junit_never_drops_a_failure_element(reason):
    check = Check("c", "C", "x", "y", Outcome.FAIL, reason)
    report = RunReport(_failed_run(), failed=True, reasons=(reason,), blamed=True)
    verdict = Verdict(VerdictStatus.FAIL, "gate.yaml", checks=(check,), runs=(report,))
    for case in parse_cases(junit.render(verdict)):
        kind, message = status_of(case)
        assert kind == "failure"
        assert message.strip()


@pytest.mark.parametrize("error", ["", "\x1b[2K", "\x00"])
def test_junit_never_drops_the_error_element(error):
    cases = parse_cases(junit.render(no_verdict(error, policy_source="gate.yaml")))
    kind, message = status_of(cases[0])
    assert kind == "error" and message.strip()


# --------------------------------------------------------------------------- hostile text

HOSTILE = (
    "\x1b[31mred\x1b[0m \x1b[38;5;196m256\x1b[2K \x00nul \x1b]0;title\x07 \x0bvt\x0c "
    "\x7f\x85\x9b \ufffe 🎙️ \u200fשלום\u200e"
)
MEGABYTE = ("[00:01] Main Agent: " + HOSTILE + "\n") * (1_000_000 // len(HOSTILE) + 1)
SCENARIO_NAME = "Sc\x1b[1mén\x1b[0mario 🎙️ \u200fשלום\u200e\x00"


def hostile_verdict(**overrides: Any) -> Verdict:
    fields: dict[str, Any] = {
        "scenario_name": SCENARIO_NAME,
        "personality_name": "Caller \x1b[33m😀\x1b[0m",
        "success": False,
        "expected_outcome": {"score": 0, "explanation": [HOSTILE]},
        "error_message": HOSTILE,
        "transcript": MEGABYTE,
    }
    fields.update(overrides)
    policy = policy_from("version: 1\nrules:\n  success_rate: {min: 90}\n")
    return evaluate(policy, normalise(make_result([make_run(7, **fields)])))


def test_junit_hostile_text_reparses_without_debris_and_is_capped():
    assert len(MEGABYTE) > 1_000_000
    xml = junit.render(hostile_verdict())
    assert len(xml.encode("utf-8")) < 100_000
    for debris in ANSI_DEBRIS:
        assert debris not in xml
    assert_valid_junit10(xml)
    run_case = parse_cases(xml)[-1]
    assert run_case.classname == "Scénario 🎙️ \u200fשלום\u200e\ufffd"  # emoji, RTL marks kept
    kind, message = status_of(run_case)
    assert kind == "failure" and "nul" in message
    assert "more characters cut" in run_case.result[0].text


MB = "\x1b[31m🎙️x\u200f\x00" * 200_000


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"transcript": MB}, id="transcript"),
        pytest.param({"expected_outcome": {"score": 0, "explanation": [MB]}}, id="explanation"),
        pytest.param({"error_message": MB}, id="error-message"),
        pytest.param(
            {"scenario_name": MB},
            id="scenario-name",
        ),
        pytest.param(
            {"personality_name": MB},
            id="personality",
        ),
        pytest.param(
            {"critical_categories": [{"category": MB, "priority": "critical"}]},
            id="category-in-check-reason",
        ),
    ],
)
def test_junit_stays_small_when_one_field_is_a_megabyte(overrides):
    policy = policy_from(
        "version: 1\nrules:\n  success_rate: {min: 90}\n"
        "  critical_categories: {max: {critical: 0}}\n"
    )
    run = make_run(7, success=False, **overrides)
    xml = junit.render(evaluate(policy, normalise(make_result([run]))))
    assert len(xml.encode("utf-8")) < 100_000
    assert len(parse_cases(xml)) == 4


def element_tree_text(xml: str) -> str:
    """The document as ElementTree writes it, indented with tabs: what the JUnit writer
    writes without building the tree."""
    root = ET.fromstring(xml.encode("utf-8"))
    ET.indent(root, space="\t")
    return junit.XML_DECLARATION + ET.tostring(root, encoding="unicode") + "\n"


MARKUP = "a & b <c> \"d\" 'e'\tf\ng"  # every character either escape touches


def markup_verdict() -> Verdict:
    run = make_run(1, success=False, personality_name=MARKUP, scenario_name=MARKUP)
    verdict = hostile_verdict(transcript=MARKUP, error_message=MARKUP)
    check = Check("c", MARKUP, MARKUP, MARKUP, Outcome.WARN, MARKUP, test_id=MARKUP, line=3)
    report = RunReport(normalise(make_result([run])).runs[0], True, (MARKUP,), blamed=True)
    return dataclasses.replace(
        verdict,
        checks=(*verdict.checks, check),
        runs=(*verdict.runs, report),
        policy_file=MARKUP,
        result_url=f"{DASHBOARD}/results/1?a=1&b=<2>",
    )


@pytest.mark.parametrize(
    "verdict",
    [
        *(pytest.param(make, id=name) for name, make in SCENARIOS.items()),
        pytest.param(hostile_verdict, id="hostile"),
        pytest.param(markup_verdict, id="markup"),
    ],
)
def test_junit_is_exactly_what_element_tree_writes(verdict):
    # Re-parsed and written again by ElementTree (ET.indent with tabs, then tostring), the
    # document is the same text: the writer escapes and indents as ElementTree does.
    xml = junit.render(verdict())
    assert xml == element_tree_text(xml)


@pytest.mark.parametrize(
    "render",
    [markdown.render, lambda verdict: terminal.render(verdict, color=False)],
    ids=["markdown", "terminal"],
)
def test_text_reports_of_hostile_text_are_clean_and_small(render):
    text = render(hostile_verdict())
    for debris in ANSI_DEBRIS:
        assert debris not in text
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", text)
    assert len(text.encode("utf-8")) < 20_000


# --------------------------------------------------------------------------- Markdown


def table_cells(row: str) -> list[str]:
    """The cells of a GFM table row: split on pipes that are not backslash-escaped."""
    cells, current, index = [], "", 0
    while index < len(row):
        if row[index] == "\\":
            current += row[index : index + 2]
            index += 2
            continue
        if row[index] == "|":
            cells.append(current)
            current = ""
        else:
            current += row[index]
        index += 1
    assert row.startswith("|") and row.endswith("|"), row
    return [cell.strip() for cell in cells[1:]]


def test_markdown_pipes_and_newlines_stay_inside_their_cell():
    policy = policy_from(
        "version: 1\nrules:\n  success_rate: {min: 90}\n"
        '  metrics: [{name: "p|50\\nlatency", p50: {max: 5}}]\n'
    )
    run = make_run(
        7,
        success=False,
        scenario_name="Book | cancel\nrebook\r\n|| a\\|b",
        expected_outcome={"score": 0, "explanation": ["said | twice\nthen hung up"]},
    )
    summary = markdown.render(evaluate(policy, normalise(make_result([run]))))
    rows = [line for line in summary.splitlines() if line.startswith("|")]
    rules = [row for row in rows if len(table_cells(row)) == 4]
    runs = [row for row in rows if len(table_cells(row)) == 3]
    assert len(rules) + len(runs) == len(rows)
    assert len(rules) == 2 + 3 and len(runs) == 2 + 1  # header + separator + rows
    run_row = table_cells(runs[-1])
    assert run_row[:2] == ["7", r"Book \| cancel rebook \|\| a\\\|b"]
    assert run_row[2].startswith(r"expected outcome not met (score 0): said \| twice")
    assert any(table_cells(row)[0] == r"p\|50 latency p50" for row in rules)


@pytest.mark.parametrize(("failing", "cut"), [(50, 0), (51, 1), (60, 10)])
def test_markdown_cuts_failing_runs_after_fifty_with_a_note(failing, cut):
    runs = [make_run(i, success=False) for i in range(1, failing + 1)] + [make_run(999)]
    policy = policy_from("version: 1\nrules:\n  success_rate: {min: 90}\n")
    summary = markdown.render(evaluate(policy, normalise(make_result(runs))))
    rows = [line for line in summary.splitlines() if re.match(r"\| \d+ \|", line)]
    assert len(rows) == min(failing, markdown.MAX_RUN_ROWS)
    assert f"### Failing runs: {failing} of {failing + 1}" in summary
    notes = re.findall(r"and (\d+) more failed runs?", summary)
    assert notes == ([str(cut)] if cut else [])


# --------------------------------------------------------------------------- terminal


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_terminal_has_no_escape_codes_without_colour(scenario):
    verdict = SCENARIOS[scenario]()
    assert "\x1b" not in terminal.render(verdict, color=False)
    assert "\x1b[" in terminal.render(verdict, color=True)


LONG_TITLES = (
    "Success rate",
    "Scenario 'Customer Support Call (Agent Inbound = True)' pass rate",
    "Metric Supercalifragilisticexpialidocious-and-then-some-more-characters p50",
)


def _titled(*titles: str) -> Verdict:
    checks = tuple(
        Check(f"c{n}", title, "x", "y", Outcome.PASS, "") for n, title in enumerate(titles)
    )
    return Verdict(VerdictStatus.PASS, "gate.yaml", checks=checks)


@pytest.mark.parametrize("width", [40, 80, 120])
def test_terminal_labels_fit_their_column_and_wrap_between_words(width):
    """At 80 columns the label column is 40 wide: long labels wrap onto lines under the
    column, between words (a word longer than the column stays whole), values stay on the
    first line."""
    lines = terminal.render(_titled(*LONG_TITLES), width=width).splitlines()[1:]
    # Two spaces, the mark, two spaces, the column, two spaces, and 30 left for the values.
    column = min(max(len(title) for title in LONG_TITLES), max(20, width - 40))
    labels: list[str] = []
    for line in lines:
        if line.startswith("  PASS  "):
            labels.append(line[8 : 8 + column].rstrip())
            assert line[8 + column : 8 + column + 2] == "  " and line.endswith("y  (expected x)")
        else:
            assert line.startswith(" " * 8) and "expected" not in line
            labels[-1] += " " + line.strip()
    assert labels == list(LONG_TITLES)  # every word kept, in order, none cut in two


def test_terminal_without_a_width_pads_to_the_longest_label():
    lines = terminal.render(_titled(*LONG_TITLES)).splitlines()[1:]
    longest = max(len(title) for title in LONG_TITLES)
    assert len(lines) == len(LONG_TITLES)
    assert all(line[8 : 8 + longest].rstrip() in LONG_TITLES for line in lines)


def test_terminal_strips_escapes_from_result_text_even_in_colour():
    verdict = hostile_verdict()
    painted = terminal.render(verdict, color=True)
    # the painter emits only single-parameter SGR codes; anything else came from the result
    assert re.sub(r"\x1b\[\d+m", "", painted) == terminal.render(verdict, color=False)


def test_dotenv_test_ids_are_a_json_list_that_stays_whole_when_cut():
    names = [f'rule; number {index}, "quoted"' for index in range(60)]
    checks = tuple(
        Check(f"k{index}", name, "x", "y", Outcome.FAIL, "r") for index, name in enumerate(names)
    )
    verdict = Verdict(VerdictStatus.FAIL, "gate.yaml", checks=checks)
    values = dict(line.split("=", 1) for line in REPORTERS["dotenv"](verdict).splitlines())
    shown = json.loads(values["GATE_FAILED_TESTS"])
    assert len(values["GATE_FAILED_TESTS"]) <= 500
    assert shown[:-1] == names[: len(shown) - 1]
    assert shown[-1] == f"... and {len(names) - len(shown) + 1} more"
    assert json.loads(values["GATE_WARNED_TESTS"]) == []


# --------------------------------------------------------------------------- failure texts


@pytest.mark.parametrize(
    ("total", "left_out", "rate", "expected"),
    [
        (20, 0, 95.0, "20 runs, success rate 95%"),
        (1, 0, None, "1 run, success rate n/a"),
        (
            3,
            1,
            100.0,
            "3 runs: 2 judged, 1 infrastructure-failed, success rate 100% of those judged",
        ),
        (2, 2, None, "2 runs: 0 judged, 2 infrastructure-failed, success rate n/a (no run judged)"),
    ],
)
def test_baseline_text_states_the_runs_judged_and_their_rate(
    total: int, left_out: int, rate: float | None, expected: str
) -> None:
    assert baseline_text(BaselineInfo(7, "", "result 7", rate, total, left_out)) == expected


@pytest.mark.parametrize(
    ("left_out", "judged", "runs", "rate"),
    [
        (0, None, "3 runs, 1 failed", "success rate 66.67%"),
        (
            1,
            (2, 0, 100.0),
            "3 runs: 2 judged, 1 infrastructure-failed; 0 failed",
            "success rate 100% of those judged",
        ),
        (
            3,
            (0, 0, None),
            "3 runs: 0 judged, 3 infrastructure-failed",
            "success rate n/a (no run judged)",
        ),
    ],
)
def test_runs_and_rate_text_state_the_runs_judged(
    left_out: int, judged: tuple[int, int, float | None] | None, runs: str, rate: str
) -> None:
    shown = None
    if judged is not None:
        total, failed, judged_rate = judged
        shown = Counts(total, total - failed, failed, judged_rate, None, None)
    counts = Counts(3, 2, 1, 200 / 3, None, None, left_out, judged=shown)
    assert (runs_text(counts), rate_text(counts)) == (runs, rate)
