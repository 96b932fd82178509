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
aside). It is written as text, one testcase at a time, exactly as ElementTree would write it
indented with tabs (the golden files hold those bytes): building the tree of a 100,000-run
result and indenting it cost more than parsing the result.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

from gate.reporters.text import cap, duration_seconds, one_line, xml_safe
from gate.rules.checks import Check, Outcome
from gate.rules.evaluate import NoVerdict, RunReport, Verdict, VerdictStatus

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


def _attribute(text: str) -> str:
    """An attribute value escaped as ElementTree escapes it: character data's escapes, then
    the quote and the whitespace an attribute would otherwise lose."""
    text = _text(text)
    if '"' in text:
        text = text.replace('"', "&quot;")
    if "\r" in text:
        text = text.replace("\r", "&#13;")
    if "\n" in text:
        text = text.replace("\n", "&#10;")
    if "\t" in text:
        text = text.replace("\t", "&#09;")
    return text


def _text(text: str) -> str:
    """Character data escaped as ElementTree escapes it."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


Attributes = Iterable[tuple[str, str]]


def _tag(name: str, attributes: Attributes) -> str:
    """``<name a="1" b="2"``, still open."""
    return f"<{name}" + "".join([f' {key}="{_attribute(value)}"' for key, value in attributes])


def _element(name: str, attributes: Attributes, text: str | None = None) -> str:
    """An element with no children: its text, or none (``<name ... />``)."""
    tag = _tag(name, attributes)
    return f"{tag}>{_text(text)}</{name}>" if text else f"{tag} />"


def _parent(name: str, attributes: Attributes, children: list[str], depth: int) -> str:
    """An element and its children, one line each, indented as ``ET.indent`` with tabs."""
    tag = _tag(name, attributes)
    if not children:
        return f"{tag} />"
    inner = "\n" + "\t" * (depth + 1)
    return f"{tag}>{inner}{inner.join(children)}\n" + "\t" * depth + f"</{name}>"


class _Counts:
    """What the suite's attributes add up."""

    def __init__(self) -> None:
        self.tests = self.failures = self.errors = self.skipped = 0
        self.time = 0.0


# Testcases sit at depth 2: <testsuites>, <testsuite>, then the cases.
CASE_DEPTH = 2


def _case(
    counts: _Counts,
    attributes: list[tuple[str, str]],
    seconds: float | None = None,
    child: str | None = None,
) -> str:
    """A testcase with these attributes (its time last), and its one child if any."""
    counts.tests += 1
    if seconds is not None:
        counts.time += seconds
        attributes.append(("time", _seconds(seconds)))
    return _parent("testcase", attributes, [child] if child else [], CASE_DEPTH)


def _outcome(counts: _Counts, tag: str, kind: str, message: str, text: str | None) -> str:
    """A failure, error or skipped element: the one-line ``message``, the details as text."""
    if tag == "failure":
        counts.failures += 1
    elif tag == "error":
        counts.errors += 1
    else:
        counts.skipped += 1
    return _element(tag, (("type", kind), ("message", _message(message))), text)


def _output(text: str) -> str:
    return _element("system-out", (), text)


def _check_case(check: Check, policy_file: str | None, counts: _Counts) -> str:
    attributes = [("name", xml_safe(check.identity)), ("classname", xml_safe(classname(check)))]
    if policy_file:  # every rule check is about the policy; most about one of its lines
        attributes.append(("file", xml_safe(policy_file)))
        if check.line is not None:
            attributes.append(("line", str(check.line)))
    text = f"{check.title}: expected {check.expected}, actual {check.actual}"
    if check.baseline:
        text += f", baseline {check.baseline}" + (f", delta {check.delta}" if check.delta else "")
    if check.waiver:
        text += f"\n{check.waiver}"
    if len(one_line(check.reason, MESSAGE_LIMIT)) < len(" ".join(check.reason.split())):
        text += f"\n{check.reason}"  # the message is cut short: the details keep it whole
    detail = xml_safe(cap(text, OUTPUT_LIMIT))
    if check.outcome is Outcome.FAIL:
        kind = "infrastructure" if check.infrastructure else "gate"
        child = _outcome(counts, "failure", kind, check.reason, detail)
    elif check.outcome is Outcome.WARN:
        child = _outcome(counts, "skipped", "warning", f"warning: {check.reason}", detail)
    elif check.outcome is Outcome.SKIP:
        child = _outcome(counts, "skipped", "off", f"off: {check.reason}", detail)
    else:
        child = _output(detail)
    return _case(counts, attributes, child=child)


@functools.lru_cache(maxsize=1024)
def _label(text: str, limit: int) -> str:
    """Scenario and personality names repeat across thousands of runs: clean each once."""
    return xml_safe(one_line(text, limit))


def _run_name(report: RunReport) -> str:
    """``run 12 (Elderly caller)``: XML-safe as it is (a number and a cleaned label)."""
    run = report.run
    suffix = f" ({_label(run.personality, 100)})" if run.personality else ""
    return f"run {run.id}{suffix}"


def _run_output(report: RunReport, told: bool = False) -> str:
    """The run's status and reasons (less the first when the element's message ``told``
    it), and the transcript of a run that failed."""
    run = report.run
    reasons = report.reasons[1:] if told else report.reasons
    text = xml_safe(cap("\n".join([f"status: {run.status_text}", *reasons]), OUTPUT_LIMIT))
    if report.failed and run.transcript:
        text += "\n\ntranscript:\n" + xml_safe(cap(run.transcript, TRANSCRIPT_LIMIT))
    return text


def _run_case(report: RunReport, gate_failed: bool, counts: _Counts) -> str:
    run = report.run
    attributes = [
        ("name", _run_name(report)),
        ("classname", _label(run.scenario_name, 200) or "scenario"),
    ]
    first = report.reasons[0] if report.reasons else "run did not pass"
    child = None
    if gate_failed and report.blamed:
        kind = "infrastructure" if run.infrastructure else "run"
        child = _outcome(counts, "failure", kind, first, _run_output(report, told=True))
    elif report.failed:
        message = f"tolerated by policy: {first}"
        child = _outcome(counts, "skipped", "tolerated", message, _run_output(report, told=True))
    elif report.reasons:
        child = _output(_run_output(report))
    return _case(counts, attributes, duration_seconds(run.duration), child)


def _error_case(record: NoVerdict, counts: _Counts) -> str:
    message = record.error or "no verdict could be reached"
    whole = xml_safe(message) if _message(message) != xml_safe(message) else None  # cut short
    child = _outcome(counts, "error", "error", message, whole)
    return _case(counts, [("name", "verdict"), ("classname", SUITE_NAME)], child=child)


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
    if verdict.failure != "none":
        props["failure"] = verdict.failure
    if verdict.counts is not None and verdict.counts.infrastructure_runs:
        props["infrastructure_runs"] = str(verdict.counts.infrastructure_runs)
    if verdict.result_url:
        props["result_url"] = verdict.result_url
    if verdict.baseline is not None:
        props["baseline_result_id"] = str(verdict.baseline.result_id)
        props["baseline_source"] = verdict.baseline.source
    if verdict.waivers and verdict.as_of is not None:
        props["waivers_as_of"] = verdict.as_of.isoformat()
    for waiver in verdict.waivers:
        props[f"waiver {waiver.path}"] = waiver.text
    if verdict.reruns is not None:  # only from `run` with reruns asked for
        props["result_ids"] = ",".join(map(str, verdict.reruns.result_ids))
        props["calls"] = str(verdict.reruns.calls)
    return _cleaned(props)


def _cleaned(props: dict[str, str]) -> dict[str, str]:
    return {key: xml_safe(one_line(value, 500)) for key, value in props.items()}


def render(verdict: Verdict | NoVerdict) -> str:
    """The JUnit XML document for a verdict (always at least one testcase)."""
    counts = _Counts()
    if isinstance(verdict, NoVerdict):
        cases = [_error_case(verdict, counts)]
    else:
        gate_failed = verdict.status is VerdictStatus.FAIL
        cases = [_check_case(check, verdict.policy_file, counts) for check in verdict.checks]
        cases += [_run_case(report, gate_failed, counts) for report in verdict.runs]
    properties = [
        _element("property", (("name", name), ("value", value)))
        for name, value in _properties(verdict).items()
    ]
    # The frame as ET.indent lays it out: the suites, then the properties and the cases.
    body = "\n\t\t".join([_parent("properties", (), properties, CASE_DEPTH), *cases])
    root = _tag("testsuites", _totals(counts))
    suite = _tag("testsuite", _totals(counts, name=SUITE_NAME, skipped=True))
    return f"{XML_DECLARATION}{root}>\n\t{suite}>\n\t\t{body}\n\t</testsuite>\n</testsuites>\n"


def _totals(counts: _Counts, name: str = "", skipped: bool = False) -> Attributes:
    """The counting attributes, in the order the schema lists them (``skipped`` is not an
    attribute of ``testsuites`` there)."""
    totals = {"name": name} if name else {}
    totals.update(tests=str(counts.tests), failures=str(counts.failures), errors=str(counts.errors))
    totals["time"] = _seconds(counts.time)
    if skipped:
        totals["skipped"] = str(counts.skipped)
    return totals.items()
