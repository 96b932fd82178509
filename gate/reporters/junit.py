"""JUnit XML report: one testcase per rule check, one per run.

The report tells the same story as the exit code: it holds ``<failure>`` elements if and
only if the gate failed. Warnings, rules that are off and runs the policy tolerated are
``<skipped>`` with a message, so they stay visible in GitLab's Tests tab and GitHub test
reporters without turning them red. When no verdict could be reached the report holds one
``<error>`` testcase saying why.

A rule's testcase is named by its test id (its ``test_id:``, else its title), which stays
the same wherever the rule sits in the policy, and grouped by the kind of rule
(``cekura-gate.metrics``); it carries the policy's ``file`` and the rule's ``line``, as
pytest writes them, so reporters can place their annotations on the policy line.

The document follows the Jenkins junit-10 schema (``file`` and ``line`` on a testcase
aside): it is written with ElementTree directly, in one pass over the verdict.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from gate import lazy
from gate.reporters.text import cap, duration_seconds, one_line, xml_safe
from gate.rules.checks import Check, Outcome
from gate.rules.evaluate import NoVerdict, RunReport, Verdict, VerdictStatus

if TYPE_CHECKING:
    import xml.etree.ElementTree as ET
else:  # imported when first used: only a JUnit report needs it (3 ms)
    ET = lazy.module("xml.etree.ElementTree")

SUITE_NAME = "cekura-gate"
MESSAGE_LIMIT = 1_000
OUTPUT_LIMIT = 8_000
TRANSCRIPT_LIMIT = 4_000
XML_DECLARATION = '<?xml version="1.0" encoding="utf-8"?>\n'


def classname(check: Check) -> str:
    """``cekura-gate.metrics``: a rule's testcases are grouped by the kind of rule."""
    return f"{SUITE_NAME}.{check.family}" if check.family else SUITE_NAME


def _message(text: str) -> str:
    # A failure, error or skip element always says something: an empty one reads as a
    # pass in some consumers.
    return xml_safe(one_line(text, MESSAGE_LIMIT)) or "no details given"


def _seconds(value: float) -> str:
    """Seconds as the schema's time pattern allows: at most three decimals, no exponent."""
    return f"{value:.3f}"


class _Counts:
    """What the suite's attributes add up."""

    def __init__(self) -> None:
        self.tests = self.failures = self.errors = self.skipped = 0
        self.time = 0.0


def _case(counts: _Counts, name: str, group: str, seconds: float | None = None) -> ET.Element:
    counts.tests += 1
    case = ET.Element("testcase", name=xml_safe(name), classname=xml_safe(group))
    if seconds is not None:
        counts.time += seconds
        case.set("time", _seconds(seconds))
    return case


def _outcome(
    counts: _Counts, case: ET.Element, tag: str, kind: str, message: str, text: str | None
) -> None:
    """A failure, error or skipped element: the one-line ``message``, the details as text."""
    if tag == "failure":
        counts.failures += 1
    elif tag == "error":
        counts.errors += 1
    else:
        counts.skipped += 1
    element = ET.SubElement(case, tag, type=kind, message=_message(message))
    element.text = text


def _output(case: ET.Element, text: str) -> None:
    ET.SubElement(case, "system-out").text = text


def _check_case(counts: _Counts, check: Check, policy_file: str | None) -> ET.Element:
    case = _case(counts, check.identity, classname(check))
    if policy_file:  # every rule check is about the policy; most about one of its lines
        case.set("file", xml_safe(policy_file))
        if check.line is not None:
            case.set("line", str(check.line))
    text = f"{check.title}: expected {check.expected}, actual {check.actual}"
    if check.baseline:
        text += f", baseline {check.baseline}" + (f", delta {check.delta}" if check.delta else "")
    if check.waiver:
        text += f"\n{check.waiver}"
    if len(one_line(check.reason, MESSAGE_LIMIT)) < len(" ".join(check.reason.split())):
        text += f"\n{check.reason}"  # the message is cut short: the details keep it whole
    detail = xml_safe(cap(text, OUTPUT_LIMIT))
    if check.outcome is Outcome.FAIL:
        _outcome(counts, case, "failure", "gate", check.reason, detail)
    elif check.outcome is Outcome.WARN:
        _outcome(counts, case, "skipped", "warning", f"warning: {check.reason}", detail)
    elif check.outcome is Outcome.SKIP:
        _outcome(counts, case, "skipped", "off", f"off: {check.reason}", detail)
    else:
        _output(case, detail)
    return case


@functools.lru_cache(maxsize=1024)
def _label(text: str, limit: int) -> str:
    """Scenario and personality names repeat across thousands of runs: clean each once."""
    return xml_safe(one_line(text, limit))


def _run_name(report: RunReport) -> str:
    run = report.run
    suffix = f" ({_label(run.personality, 100)})" if run.personality else ""
    return f"run {run.id}{suffix}"


def _run_output(report: RunReport, message: str | None = None) -> str:
    """The run's status and reasons (less the one its element's ``message`` already says),
    and the transcript of a run that failed."""
    run = report.run
    reasons = list(report.reasons)
    if message is not None and reasons and _message(reasons[0]) == message:
        reasons.pop(0)
    text = xml_safe(cap("\n".join([f"status: {run.status_text}", *reasons]), OUTPUT_LIMIT))
    if report.failed and run.transcript:
        text += "\n\ntranscript:\n" + xml_safe(cap(run.transcript, TRANSCRIPT_LIMIT))
    return text


def _run_case(counts: _Counts, report: RunReport, gate_failed: bool) -> ET.Element:
    run = report.run
    seconds = duration_seconds(run.duration)
    case = _case(counts, _run_name(report), _label(run.scenario_name, 200) or "scenario", seconds)
    first = report.reasons[0] if report.reasons else "run did not pass"
    if gate_failed and report.blamed:
        output = _run_output(report, _message(first))
        _outcome(counts, case, "failure", "run", first, output)
    elif report.failed:
        output = _run_output(report, _message(first))
        _outcome(counts, case, "skipped", "tolerated", f"tolerated by policy: {first}", output)
    elif report.reasons:
        _output(case, _run_output(report))
    return case


def _error_case(counts: _Counts, record: NoVerdict) -> ET.Element:
    case = _case(counts, "verdict", SUITE_NAME)
    message = record.error or "no verdict could be reached"
    whole = xml_safe(message) if _message(message) != xml_safe(message) else None  # cut short
    _outcome(counts, case, "error", "error", message, whole)
    return case


def _properties(verdict: Verdict | NoVerdict) -> dict[str, str]:
    props = {"verdict": verdict.status.value, "policy": verdict.policy_source}
    if verdict.result_id is not None:
        props["result_id"] = str(verdict.result_id)
    if isinstance(verdict, NoVerdict):
        if verdict.result_url:
            props["result_url"] = verdict.result_url
        return _cleaned(props)
    if verdict.result is not None:
        props["result_status"] = verdict.result.status_text
    if verdict.result_url:
        props["result_url"] = verdict.result_url
    if verdict.baseline is not None:
        props["baseline_result_id"] = str(verdict.baseline.result_id)
        props["baseline_source"] = verdict.baseline.source
    if verdict.waivers and verdict.as_of is not None:
        props["waivers_as_of"] = verdict.as_of.isoformat()
    for waiver in verdict.waivers:
        props[f"waiver {waiver.path}"] = waiver.text
    return _cleaned(props)


def _cleaned(props: dict[str, str]) -> dict[str, str]:
    return {key: xml_safe(one_line(value, 500)) for key, value in props.items()}


def render(verdict: Verdict | NoVerdict) -> str:
    """The JUnit XML document for a verdict (always at least one testcase)."""
    counts = _Counts()
    if isinstance(verdict, NoVerdict):
        cases = [_error_case(counts, verdict)]
    else:
        gate_failed = verdict.status is VerdictStatus.FAIL
        cases = [_check_case(counts, check, verdict.policy_file) for check in verdict.checks]
        cases += [_run_case(counts, report, gate_failed) for report in verdict.runs]
    suite = ET.Element("testsuite", _totals(counts, name=SUITE_NAME, skipped=True))
    properties = ET.SubElement(suite, "properties")
    for name, value in _properties(verdict).items():
        ET.SubElement(properties, "property", name=name, value=value)
    suite.extend(cases)
    root = ET.Element("testsuites", _totals(counts))
    root.append(suite)
    ET.indent(root, space="\t")
    return XML_DECLARATION + ET.tostring(root, encoding="unicode") + "\n"


def _totals(counts: _Counts, name: str = "", skipped: bool = False) -> dict[str, str]:
    """The counting attributes, in the order the schema lists them (``skipped`` is not an
    attribute of ``testsuites`` there)."""
    totals = {"name": name} if name else {}
    totals.update(tests=str(counts.tests), failures=str(counts.failures), errors=str(counts.errors))
    totals["time"] = _seconds(counts.time)
    if skipped:
        totals["skipped"] = str(counts.skipped)
    return totals
