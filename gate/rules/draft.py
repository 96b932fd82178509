"""A policy drafted from a finished result, for ``cekura-gate init --from-result-file`` and
``--result-id``: the text of a commented ``gate.yaml`` whose bounds are what the result
measured, so that the same result passes and a clearly worse one fails. Pure: no I/O.

Every value is read the way ``check`` reads it (``count_runs``, ``metric_p50``, the
critical-category vocabularies, ``group_by_scenario``), so the draft never disagrees with
the judge. How each bound is set:

* rates (success rate, expected outcomes met) and metric p50s get the margin, a percent of
  the observed value, in the worse direction, rounded outward (never tighter than observed);
* counts are exact: failed runs, unmet expected outcomes and findings per priority may not
  grow, a scenario's passing runs may not shrink, the number of runs may not fall;
* a metric's direction comes from its name (latency, duration, silence... lower is better;
  score, rating, accuracy... higher is better), then its kind (a rating: higher is
  better); when neither says, both ends are bounded and the comment says so.

What the result cannot support (findings not reported, runs not all listed, a metric with
no p50) is left out with a comment saying why, never guessed.
"""

from __future__ import annotations

import collections
import enum
import math
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from gate.dataclasses import dataclass
from gate.policy.model import MetricRule
from gate.policy.starter import WAIT_COMMENTED, comment_text, policy_option
from gate.policy.units import DEFAULT_MARGIN_PERCENT
from gate.results.model import MetricKind, Result, Status
from gate.rules.categories import KNOWN_PRIORITIES, counts_against, is_finding
from gate.rules.checks import percent, plural
from gate.rules.evaluate import count_runs
from gate.rules.infrastructure import judged_result
from gate.rules.metrics import metric_p50
from gate.rules.scenarios import ScenarioRuns, group_by_scenario, is_glob

if TYPE_CHECKING:
    from decimal import Decimal

SIGNIFICANT_DIGITS = 4  # a bound keeps four significant digits (whole numbers from 1,000)


class Direction(enum.Enum):
    """Which way a metric gets worse, and so which end of its p50 is bounded."""

    LOWER_IS_BETTER = "max"
    HIGHER_IS_BETTER = "min"
    UNKNOWN = "both"


# Words in a metric's name that say which way is better; matched as whole words, lower-cased.
LOWER_IS_BETTER_WORDS = frozenset(
    {
        "latency",
        "delay",
        "duration",
        "time",
        "ringing",
        "silence",
        "pause",
        "pauses",
        "interruption",
        "interruptions",
        "interrupt",
        "wait",
        "lag",
        "ttfb",
        "jitter",
        "hold",
    }
)
HIGHER_IS_BETTER_WORDS = frozenset(
    {
        "score",
        "rating",
        "accuracy",
        "quality",
        "satisfaction",
        "csat",
        "nps",
        "adherence",
        "completion",
        "success",
        "clarity",
        "empathy",
        "pronunciation",
        "politeness",
        "helpfulness",
    }
)
# Units the gate knows from Cekura's documentation and examples, by a word of the name.
UNIT_WORDS = (("latency", "milliseconds", "ms"), ("ringing", "seconds", "s"))


@dataclass(frozen=True, slots=True)
class Draft:
    """The policy text, the rule families it sets, and what the command should say."""

    text: str
    rules: tuple[str, ...]
    notes: tuple[str, ...]


def draft_policy(
    result: Result, margin: float = DEFAULT_MARGIN_PERCENT, policy_path: str | None = None
) -> Draft:
    """The commented policy for ``result`` (finished), with ``margin`` percent of slack on
    rates and p50s; ``policy_path`` is named in the header's ``validate`` hint (``None``:
    the default path)."""
    every = count_runs(result)
    # The rules judge the runs that connected (infrastructure: exclude, the default), so
    # their bounds come from those; min_total and the infrastructure rule count every run.
    counts = count_runs(judged_result(result))
    notes = _status_notes(result, every.total_runs)
    sections = [
        _success_rate(counts.success_rate, counts.successful_runs, counts.total_runs, margin),
        _expected_outcomes(counts.met_expected_outcomes, counts.total_expected_outcomes, margin),
        _runs(every.total_runs, counts.failed_runs),
        _infrastructure(result, every.infrastructure_runs, every.total_runs),
        _critical_categories(result),
        _metrics(result, margin),
        _scenarios(result),
    ]
    written = tuple(section.name for section in sections if section.written)
    lines = [
        *_header(result, counts.total_runs, margin, policy_path, notes),
        *_wait_and_run(result),
        "rules:",
    ]
    for section in sections:
        lines += [*section.lines, ""]
    return Draft("\n".join(lines).rstrip("\n") + "\n", written, tuple(notes))


@dataclass(frozen=True, slots=True)
class _Section:
    """One rule family's lines (comments only when it is left out)."""

    name: str
    lines: tuple[str, ...]
    written: bool


# --------------------------------------------------------------------------- header


def _status_notes(result: Result, total_runs: int) -> list[str]:
    """Why ``check`` fails this result whatever the rules say (it ended badly, or is empty)."""
    if result.status is not Status.COMPLETED:
        return [
            f"result {result.id} ended '{comment_text(result.status_text, 40)}': check fails "
            "a result that ends failed, timeout or cancelled whatever the policy says"
        ]
    if total_runs == 0:
        return [f"result {result.id} has no runs: check never passes a result without runs"]
    return []


def _header(
    result: Result, total_runs: int, margin: float, policy_path: str | None, notes: Sequence[str]
) -> list[str]:
    about = [f'"{comment_text(result.name, 60)}"'] if result.name.strip() else []
    if result.agent_name.strip():
        about.append(f'agent "{comment_text(result.agent_name, 60)}"')
    described = f" {', '.join(about)}:" if about else ""
    lines = [
        f"# cekura-gate policy drafted by `cekura-gate init` from result {result.id}",
        f"#{described} status {comment_text(result.status_text, 40)}, {plural(total_runs, 'run')}.",
        "# Each bound is what that result measured: rates and metric p50s loosened by a "
        f"{_shown(margin)} %",
        "# margin in the worse direction, counts exact (one more failed run fails). Read each",
        "# comment and set every value to what you release on (how each was chosen: docs/init.md).",
        "# Check it against a result: cekura-gate validate"
        f"{policy_option(policy_path)} --against RESULT.json",
    ]
    for note in notes:
        lines += _wrapped(f"Note: {comment_text(note, 300)}.", "# ")
    return [*lines, "version: 1", ""]


def _wait_and_run(result: Result) -> list[str]:
    """The waiting settings and ``run:``, commented out: only the user knows the agent."""
    ids = _scenario_ids(result)
    lines = [*WAIT_COMMENTED.splitlines(), ""]
    if ids:
        lines += [
            "# To start these scenarios with `cekura-gate run` (docs/run.md), uncomment and set",
            "# your agent's id; every run is a billed call.",
            "# run:",
            "#   agent_id: 123",
            f"#   scenario_ids: [{', '.join(str(i) for i in ids)}]"
            f"  # the scenarios result {result.id} ran",
            "",
        ]
    return lines


def _scenario_ids(result: Result) -> list[int]:
    ids = [scenario_id for scenario_id, _ in result.scenarios if scenario_id is not None]
    ids += [run.scenario_id for run in result.runs if run.scenario_id is not None]
    return sorted(set(ids))


# --------------------------------------------------------------------------- rates and counts


def _success_rate(rate: float | None, passed: int, total: int, margin: float) -> _Section:
    if rate is None or not math.isfinite(rate):
        return _left_out("success_rate", "the result has no success rate and no runs")
    bound = _loosened(rate, margin, Direction.HIGHER_IS_BETTER)
    lines = [
        f"  # Observed {_shown(rate)} % ({passed} of {plural(total, 'run')} passed); "
        f"min = observed - {_shown(margin)} % of it.",
        *_vacuous(bound, Direction.HIGHER_IS_BETTER),
        "  success_rate:",
        f"    min: {_percent(bound)}",
    ]
    return _Section("success_rate", tuple(lines), True)


def _expected_outcomes(met: int | None, total: int | None, margin: float) -> _Section:
    if not total:
        return _left_out(
            "expected_outcomes", "the result has no evaluated expected outcomes to set it from"
        )
    met = min(met or 0, total)
    share = percent(met, total)
    bound = _loosened(share, margin, Direction.HIGHER_IS_BETTER)
    lines = [
        f"  # Observed {met} of {plural(total, 'expected outcome')} met ({_shown(share)} %).",
        *_vacuous(bound, Direction.HIGHER_IS_BETTER),
        "  expected_outcomes:",
        f"    min_met_percent: {_percent(bound)}  # observed - {_shown(margin)} % of it",
        f"    max_unmet: {total - met}  # exactly as observed: one more unmet outcome fails",
    ]
    return _Section("expected_outcomes", tuple(lines), True)


def _runs(total: int, failed: int) -> _Section:
    lines = [
        "  # Failed = total - successful (errored and timed-out runs count as failed).",
        "  runs:",
        f"    min_total: {max(total, 1)}  # the runs this result had: fewer means some went "
        "missing",
        f"    max_failed: {failed}  # exactly as observed: one more failed run fails",
    ]
    return _Section("runs", tuple(lines), True)


def _infrastructure(result: Result, infrastructure_runs: int, total: int) -> _Section:
    """Calls that never connected or hit a provider error: the rules above leave them out,
    and this caps them, exactly as observed like every count (exit 4 when only it fails)."""
    if result.runs_gap is not None:  # the runs it does not list may be such calls too
        return _left_out(
            "infrastructure", f"{result.runs_gap}; run init with --runs-file or --result-id"
        )
    observed = (
        f"{infrastructure_runs} of {plural(total, 'run')} infrastructure-failed (never "
        "connected, or a provider error); the rules above leave them out"
        if infrastructure_runs
        else "no run infrastructure-failed (never connected, or a provider error)"
    )
    lines = [
        *_wrapped(f"Observed {observed}.", "  # "),
        "  # More fails with exit 4, an infrastructure failure, not the agent's: for flaky",
        "  # telephony use max_percent, or add level: warn.",
        "  infrastructure:",
        f"    max: {infrastructure_runs}  # exactly as observed",
    ]
    return _Section("infrastructure", tuple(lines), True)


def _left_out(name: str, why: str) -> _Section:
    return _Section(name, _wrapped(f"{name}: left out: {comment_text(why, 300)}.", "  # "), False)


def _wrapped(text: str, prefix: str) -> tuple[str, ...]:
    """A comment of several lines, none longer than about 96 characters."""
    import textwrap  # only for the few long comments

    return tuple(textwrap.wrap(text, 96, initial_indent=prefix, subsequent_indent=prefix))


# --------------------------------------------------------------------------- findings

MODERN = ("critical", "non-critical")
LEGACY = ("high", "medium", "low")


def _critical_categories(result: Result) -> _Section:
    name = "critical_categories"
    if not result.runs:
        return _left_out(name, "the result lists no runs, so its findings are unknown")
    if any(not run.findings_known for run in result.runs) or result.runs_gap is not None:
        return _left_out(
            name,
            "the result's runs do not all carry their critical_categories findings; run init "
            "with --runs-file (the runs-bulk response) or --result-id to set caps from them",
        )
    priorities = [
        finding.priority for run in result.runs for finding in run.findings if is_finding(finding)
    ]
    legacy = any(p in LEGACY for p in priorities) and not any(p in MODERN for p in priorities)
    vocabulary = LEGACY if legacy else MODERN
    unknown = sorted({p or "(none)" for p in priorities if p not in KNOWN_PRIORITIES})
    lines = [
        "  # Findings on runs by priority, in the words this result uses "
        f"({' / '.join(vocabulary)}):",
        "  # max = what the result has, so one more finding of a priority fails.",
    ]
    if unknown:
        lines.append(
            f"  # Includes findings with a priority the gate does not know "
            f"({comment_text(', '.join(unknown), 80)}): they count against every cap."
        )
    lines += ["  critical_categories:", "    max:"]
    for cap in vocabulary:
        found = sum(1 for priority in priorities if counts_against(cap, priority))
        lines.append(f"      {cap}: {found}  # observed {found}")
    return _Section(name, tuple(lines), True)


# --------------------------------------------------------------------------- metrics


@dataclass(frozen=True, slots=True)
class MetricSubject:
    """One metric of the result: its id (when it has one), its name, its kinds."""

    id: int | None
    name: str
    kinds: frozenset[MetricKind]


def metric_subjects(result: Result) -> list[MetricSubject]:
    """The result's metrics, one per id (or per name when it has none), in the order the
    result first names them: its summary, then its runs. A name-only entry (the summary's
    ``numeric_metrics`` have no id) is left to the metric with an id of that name, if any:
    a rule by name alone would pool the metrics of every id with that name."""
    order: list[tuple[int | None, str]] = []  # (id, "") or (None, lower-cased name)
    names: dict[tuple[int | None, str], str] = {}
    kinds: dict[tuple[int | None, str], set[MetricKind]] = {}
    for metric_id, name, kind in _metric_entries(result):
        key: tuple[int | None, str] = (
            (metric_id, "") if metric_id is not None else (None, name.strip().lower())
        )
        if key not in names:
            order.append(key)
            names[key] = name.strip()
            kinds[key] = set()
        kinds[key].add(kind)
    with_id: dict[str, list[tuple[int | None, str]]] = {}
    for seen in order:
        if seen[0] is not None:
            with_id.setdefault(names[seen].lower(), []).append(seen)
    subjects = []
    for seen in order:
        owners = with_id.get(seen[1], []) if seen[0] is None else []
        if len(owners) == 1:
            kinds[owners[0]] |= kinds[seen]
        if not owners:
            subjects.append(MetricSubject(seen[0], names[seen], frozenset(kinds[seen])))
    return subjects


def _metric_entries(result: Result) -> Iterable[tuple[int | None, str, MetricKind]]:
    for summary in result.summary_metrics:
        if summary.name.strip():
            yield summary.id, summary.name, summary.kind
    for run in result.runs:
        for metric in run.metrics:
            if metric.name.strip():
                yield metric.id, metric.name, metric.kind


_UNSCORED = frozenset({MetricKind.BINARY, MetricKind.ENUM})


def _metrics(result: Result, margin: float) -> _Section:
    entries: list[str] = []
    skipped: list[str] = []
    for subject in sorted(metric_subjects(result), key=lambda subject: subject.name.lower()):
        label = comment_text(subject.name, 60) + (
            f" (id {subject.id})" if subject.id is not None else ""
        )
        if subject.kinds <= _UNSCORED:
            kinds = " and ".join(sorted(kind.value for kind in subject.kinds))
            rule = "a pass_percent" if MetricKind.BINARY in subject.kinds else "an enum"
            skipped.append(f"{label}: {kinds}, no p50 ({rule} rule can gate it)")
            continue
        p50, source = metric_p50(MetricRule(name=subject.name, id=subject.id), result)
        if p50 is None or not math.isfinite(p50):
            skipped.append(f"{label}: the result gives it no p50 the gate can read")
        elif source.startswith("median of") and result.runs_gap is not None:
            skipped.append(f"{label}: its p50 would come from runs the result does not all list")
        else:
            entries += _metric_entry(subject, p50, source, margin)
    if not entries:
        lines = ["  # metrics: left out: the result has no numeric metric with a p50."]
    else:
        lines = [
            "  # Numeric metrics by name as this result spells it, and by id where it has one.",
            "  metrics:",
            *entries,
        ]
    if skipped:
        lines.append("  # In this result but not bounded here:")
        lines += [f"  #   {comment_text(item, 150)}" for item in skipped]
    return _Section("metrics", tuple(lines), bool(entries))


def _metric_entry(subject: MetricSubject, p50: float, source: str, margin: float) -> list[str]:
    direction, why = metric_direction(subject.name, subject.kinds)
    unit = metric_unit(subject.name)
    symbol = f" {unit[1]}" if unit else ""
    lines = [
        f"    # {comment_text(subject.name, 60)}, "
        + (f"in {unit[0]}" if unit else "unit not stated by the result")
        + f": observed p50 {_shown(p50, grouped=True)}{symbol} ({source});",
    ]
    if direction is Direction.UNKNOWN:
        low = _loosened(p50, margin, Direction.HIGHER_IS_BETTER)
        high = _loosened(p50, margin, Direction.LOWER_IS_BETTER)
        lines += [
            f"    # {why}, so both ends are bounded (observed -/+ {_shown(margin)} %):",
            "    # delete the end that would be an improvement.",
        ]
        bounds = f"{{min: {_number(low)}, max: {_number(high)}}}"
    else:
        bound = _loosened(p50, margin, direction)
        sign = "+" if direction is Direction.LOWER_IS_BETTER else "-"
        lines.append(f"    # {why}, so {direction.value} = observed {sign} {_shown(margin)} %.")
        lines += [f"  {line}" for line in _vacuous(bound, direction)]
        bounds = f"{{{direction.value}: {_number(bound)}}}"
    lines.append(f"    - name: {yaml_text(subject.name)}")
    if subject.id is not None:
        lines.append(f"      id: {subject.id}")
    lines.append(f"      p50: {bounds}")
    return lines


def _words(name: str) -> set[str]:
    return set("".join(c if c.isalnum() else " " for c in name.lower()).split())


def metric_direction(name: str, kinds: Iterable[MetricKind]) -> tuple[Direction, str]:
    """Which way the metric gets worse, and why the draft thinks so (for its comment)."""
    words = _words(name)
    lower = sorted(words & LOWER_IS_BETTER_WORDS)
    higher = sorted(words & HIGHER_IS_BETTER_WORDS)
    if lower and not higher:
        return Direction.LOWER_IS_BETTER, f"'{lower[0]}' in its name: lower is better"
    if higher and not lower:
        return Direction.HIGHER_IS_BETTER, f"'{higher[0]}' in its name: higher is better"
    if not lower and MetricKind.QUALITATIVE in set(kinds):
        return Direction.HIGHER_IS_BETTER, "a rating (continuous_qualitative): higher is better"
    if lower and higher:
        return Direction.UNKNOWN, "its name says both lower and higher is better"
    return Direction.UNKNOWN, "which way is better is unknown from its name and kind"


def metric_unit(name: str) -> tuple[str, str] | None:
    """(unit, symbol) of a metric the gate knows the unit of, by a word of its name."""
    words = _words(name)
    for word, unit, symbol in UNIT_WORDS:
        if word in words:
            return unit, symbol
    return None


# --------------------------------------------------------------------------- scenarios


def _scenarios(result: Result) -> _Section:
    name = "scenarios"
    if result.runs_gap is not None:
        return _left_out(name, f"{result.runs_gap}; run init with --runs-file or --result-id")
    groups = sorted(
        group_by_scenario(result.runs),
        key=lambda group: (group.name.strip().lower(), group.scenario_id or 0),
    )
    names = collections.Counter(group.name.strip().lower() for group in groups)
    entries: list[str] = []
    unselectable: list[str] = []
    for group in groups:
        match = _match(group, names[group.name.strip().lower()])
        if match is None:
            unselectable.append(comment_text(group.name, 60) or "(no name)")
        else:
            entries += _scenario_entry(group, match)
    lines = (
        [
            "  # Each scenario this result ran, judged on its own runs: min_passes = the runs that",
            "  # passed, so a scenario that passes less often fails.",
            "  scenarios:",
            *entries,
        ]
        if entries
        else ["  # scenarios: left out: no scenario of the result can be selected by a rule."]
    )
    if unselectable:
        why = "no id, and a name another scenario of the result has, or none"
        lines += _wrapped(f"Not selectable ({why}): {', '.join(unselectable)}.", "  # ")
    return _Section(name, tuple(lines), bool(entries))


def _match(group: ScenarioRuns, namesakes: int) -> str | int | None:
    """How a rule selects the scenario and no other: its name as the result spells it, or
    its id where the name would select others too (``namesakes``: the scenarios with this
    name, case aside; a glob; digits) or is blank; ``None`` when neither can."""
    name = group.name.strip()
    if name and not is_glob(name) and not name.isdigit() and namesakes <= 1:
        return name
    return group.scenario_id


def _scenario_entry(group: ScenarioRuns, match: str | int) -> list[str]:
    shown = f"id {group.scenario_id}" if group.scenario_id is not None else "no id"
    runs = plural(len(group.runs), "run")
    written = str(match) if isinstance(match, int) else yaml_text(match)
    lines = [f"    # {comment_text(group.name, 80)} ({shown}): {group.passes} of {runs} passed"]
    if group.passes:
        lines[0] += "."
        return [*lines, f"    - match: {written}", f"      min_passes: {group.passes}"]
    lines[0] += ";"
    lines.append("    # it need only be present until it passes (then set min_passes).")
    return [*lines, f"    - match: {written}", "      required: true"]


# --------------------------------------------------------------------------- values


def _loosened(observed: float, margin: float, direction: Direction) -> Decimal:
    """``observed`` moved by ``margin`` percent of itself the worse way, rounded outward to
    ``SIGNIFICANT_DIGITS``: a bound the observed value always meets."""
    import decimal  # only init drafts: not on any gate's path

    with decimal.localcontext() as context:
        context.prec = 60
        value = decimal.Decimal(repr(float(observed)))
        step = abs(value) * decimal.Decimal(repr(float(margin))) / 100
        upward = direction is Direction.LOWER_IS_BETTER
        bound = value + step if upward else value - step
        if bound == 0:
            return decimal.Decimal(0)
        exponent = min(0, bound.adjusted() - SIGNIFICANT_DIGITS + 1)
        exponent = max(exponent, bound.adjusted() - 40)  # a huge value keeps few digits
        rounding = decimal.ROUND_CEILING if upward else decimal.ROUND_FLOOR
        return bound.quantize(decimal.Decimal(1).scaleb(exponent), rounding=rounding)


def _vacuous(bound: Decimal, direction: Direction) -> list[str]:
    if direction is Direction.HIGHER_IS_BETTER and bound <= 0:
        return ["  # The bound is 0, so it checks nothing yet: raise it once the result is better."]
    return []


def _number(value: Decimal) -> str:
    """A decimal as a plain YAML number: no exponent, no trailing zeros."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _percent(value: Decimal) -> str:
    """A percent key's value: a bare number, except in (0, 1], which the policy reads as
    ambiguous and wants with its sign."""
    text = _number(value)
    return f'"{text}%"' if 0 < value <= 1 else text


def _shown(value: float, *, grouped: bool = False) -> str:
    """An observed value for a comment: two decimals (four significant digits below 1),
    thousands grouped if asked."""
    small = value != 0 and abs(value) < 1
    decimals = min(8, 3 - math.floor(math.log10(abs(value)))) if small else 2
    text = f"{value:,.{decimals}f}" if grouped else f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


_PLAIN_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.()/")
_YAML_WORDS = frozenset({"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"})


def yaml_text(text: str) -> str:
    """A string as a YAML scalar that reads back as exactly that string: plain when it is
    letters, digits and a few safe marks starting with a letter; JSON-quoted otherwise (a
    JSON string is a YAML 1.2 double-quoted scalar)."""
    plain = (
        text
        and text[0].isascii()
        and text[0].isalpha()
        and text == text.strip()
        and set(text) <= _PLAIN_SAFE
        and text.lower() not in _YAML_WORDS
    )
    return text if plain else _double_quoted(text)


def _double_quoted(text: str) -> str:
    """A YAML double-quoted scalar: every character that is not printable (line and
    paragraph separators, NEL and the like, which a YAML 1.1 reader takes for line breaks)
    written as an escape."""
    escaped = []
    for char in text:
        if char in '"\\':
            escaped.append("\\" + char)
        elif char.isprintable():
            escaped.append(char)
        elif ord(char) <= 0xFFFF:
            escaped.append(f"\\u{ord(char):04x}")
        else:
            escaped.append(f"\\U{ord(char):08x}")
    return '"' + "".join(escaped) + '"'
