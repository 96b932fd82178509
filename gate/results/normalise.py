"""A Cekura result payload in, a typed ``Result`` out. Raw API keys are read here and, for
the poller and live mode, in ``progress`` and ``merge`` beside it: nowhere outside ``results``.

Real payloads disagree with the API spec (see ``cekura-api.md`` §2.2); everything here is
pure. Anything that is not a Cekura result raises ``ResultError`` with one line.

A run's metrics and transcript are read on first use through ``_RunDetails``, the
``RunDetails`` the model asks for (why: see ``gate.results.model``).
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeGuard

from gate import lazy
from gate.dataclasses import dataclass
from gate.errors import ResultError
from gate.results.infrastructure import infrastructure_reason, run_id_set
from gate.results.model import Finding, MetricKind, MetricValue, Result, Run, Status, SummaryMetric


def as_int(value: object) -> int | None:
    """An int from an int, an integral float or a numeric string; ``None`` otherwise."""
    if type(value) is int:
        return value
    number = as_float(value)
    if number is None or not number.is_integer():
        return None
    return int(number)


MAX_COUNT = 10**9  # no result has a billion runs; anything larger is garbage, not data


def as_count(value: object) -> int | None:
    number = as_int(value)
    return number if number is not None and 0 <= number <= MAX_COUNT else None


def as_float(value: object) -> float | None:
    """A finite float from a number or a numeric string; ``None`` otherwise."""
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None  # type: ignore[arg-type,return-value]
    try:
        if kind is int:
            number = float(value)  # type: ignore[arg-type]
        elif isinstance(value, str):
            number = float(value.strip())
        elif isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        else:
            return None
    except (ValueError, OverflowError):  # not a number, or beyond float range
        return None
    return number if math.isfinite(number) else None


_SURROGATES = lazy.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` stripped, with lone surrogates (valid JSON escapes, invalid text) replaced."""
    text = text.strip()
    if text.isascii():
        return text
    return _SURROGATES.sub("\ufffd", text)


def as_text(value: object) -> str:
    """Display text from a string, a list of strings, or a scalar."""
    if type(value) is str:
        return clean_text(value)
    if value is None:
        return ""
    if isinstance(value, list):  # one level: explanations are lists of strings
        if len(value) == 1 and type(value[0]) is str:
            return clean_text(value[0])  # the common case, in short
        return "\n".join(_scalar_text(item) for item in value if item not in (None, "")).strip()
    return _scalar_text(value)


# Texts that repeat across runs (names, statuses, durations) are worked out once each, and
# the runs share one copy of the result instead of each keeping its own.
_REPEATS = 4096


def repeated_text(value: object) -> str:
    """``as_text`` of a value that repeats across runs (a scenario, personality or metric
    name, a finding's category, a duration)."""
    return _clean_once(value) if type(value) is str else as_text(value)


_clean_once = functools.lru_cache(maxsize=_REPEATS)(clean_text)


def _scalar_text(value: object) -> str:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, int) and abs(value) >= 10**18:
        return "(a very large number)"  # str() of a huge int can raise, and says nothing
    if isinstance(value, int | float | bool):
        return clean_text(str(value))
    return ""


def as_bool(value: object) -> bool | None:
    if value is True or value is False:
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def is_mapping(value: object) -> TypeGuard[Mapping[str, Any]]:
    return type(value) is dict or isinstance(value, Mapping)


def _mapping(value: object) -> Mapping[str, Any]:
    return value if is_mapping(value) else {}


def as_list(value: object) -> Sequence[Any]:
    return value if isinstance(value, list) else ()


# --------------------------------------------------------------------------- metrics


def _kind_of(text: str) -> MetricKind | None:
    text = text.lower()
    if text.startswith("binary"):
        return MetricKind.BINARY
    if text == "numeric":
        return MetricKind.NUMERIC
    if "qualitative" in text or text == "rating":
        return MetricKind.QUALITATIVE
    if text == "enum":
        return MetricKind.ENUM
    return None


_KINDS: dict[tuple[object, object], MetricKind] = {}


def metric_kind(raw: Mapping[str, Any]) -> MetricKind:
    """The metric's kind from ``eval_type`` (v2) or the legacy ``type``."""
    key = (raw.get("eval_type"), raw.get("type"))
    try:
        return _KINDS[key]
    except (KeyError, TypeError):
        pass
    kind = MetricKind.OTHER
    for text in key:
        found = _kind_of(text) if isinstance(text, str) else None
        if found is not None:
            kind = found
            break
    if all(isinstance(item, str | None) for item in key) and len(_KINDS) < 256:
        _KINDS[key] = kind
    return kind


def binary_passed(raw: Mapping[str, Any]) -> bool | None:
    """Pass/fail of a binary metric in any of its three encodings (§3.3)."""
    passed = as_bool(raw.get("passed"))
    if passed is not None:
        return passed
    if "score_normalized" in raw and raw["score_normalized"] is not None:
        normalized = raw["score_normalized"]
        if isinstance(normalized, bool):
            return normalized
        number = as_float(normalized)
        if number is not None:
            return number > 0
    score = raw.get("score")
    if isinstance(score, bool):
        return score
    number = as_float(score)
    if number in (5.0, 100.0):
        return True
    if number == 0.0:
        return False
    return None


def _metric(raw: object) -> MetricValue | None:
    if not is_mapping(raw):
        return None
    kind = metric_kind(raw)
    get = raw.get
    if kind is MetricKind.OTHER and as_bool(get("passed")) is not None:
        kind = MetricKind.BINARY  # an untyped metric that says passed: true/false
    enum_value = get("value")
    if not isinstance(enum_value, str) or not enum_value.strip():
        enum_value = get("enum")
    return MetricValue(
        as_int(get("id")),
        repeated_text(get("name")) or f"metric {get('id')}",
        kind,
        as_float(get("score")),
        binary_passed(raw) if kind is MetricKind.BINARY else None,
        enum_value if isinstance(enum_value, str) and enum_value.strip() else None,
        as_text(get("explanation")),
    )


def _metrics(evaluation: object) -> tuple[MetricValue, ...]:
    items = (_metric(raw) for raw in as_list(_mapping(evaluation).get("metrics")))
    return tuple(item for item in items if item is not None)


class _RunDetails:
    """A run's metrics and transcript, each read from its piece of the payload on first use
    and then kept (the piece is let go). Equal when the values are equal."""

    __slots__ = ("_evaluation", "_metrics", "_text", "_transcript")

    def __init__(self, evaluation: object, transcript: object) -> None:
        self._evaluation = evaluation
        self._transcript = transcript
        self._metrics: tuple[MetricValue, ...] | None = None
        self._text: str | None = None

    def metrics(self) -> tuple[MetricValue, ...]:
        if self._metrics is None:
            self._metrics = _metrics(self._evaluation)
            self._evaluation = None
        return self._metrics

    def transcript(self) -> str:
        if self._text is None:
            self._text = as_text(self._transcript)
            self._transcript = None
        return self._text

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _RunDetails):
            return NotImplemented
        return (self.metrics(), self.transcript()) == (other.metrics(), other.transcript())

    __hash__ = None  # type: ignore[assignment]  # a cache inside: not hashable


def _findings(raw: object) -> tuple[Finding, ...]:
    findings = []
    for item in as_list(raw):
        if not is_mapping(item):
            continue
        priority = item.get("priority")
        findings.append(
            Finding(
                category=repeated_text(item.get("category")) or "unnamed category",
                priority=_priority(priority) if isinstance(priority, str) else "",
                wrongly_marked=as_bool(item.get("wrongly_marked")) is True,
                category_id=as_int(item.get("category_id")),
            )
        )
    return tuple(findings)


@functools.lru_cache(maxsize=_REPEATS)
def _priority(raw: str) -> str:
    """A finding's priority, lower-cased."""
    return clean_text(raw).lower()


# --------------------------------------------------------------------------- runs


def _scenario(raw: Mapping[str, Any]) -> tuple[int | None, str]:
    scenario = raw.get("scenario")
    scenario_id = as_int(scenario)
    name = repeated_text(raw.get("scenario_name"))
    if is_mapping(scenario):
        scenario_id = as_int(scenario.get("id"))
        name = name or repeated_text(scenario.get("name"))
    if not name:
        name = f"scenario {scenario_id}" if scenario_id is not None else "unknown scenario"
    return scenario_id, name


def _personality(raw: Mapping[str, Any]) -> str:
    name = repeated_text(raw.get("personality_name"))
    scenario = raw.get("scenario")
    if not name and is_mapping(scenario):
        name = repeated_text(scenario.get("personality_name"))
    return name


@dataclass(frozen=True, slots=True)
class InfrastructureLists:
    """What the result says about its runs' infrastructure (``gate.results.infrastructure``):
    ``failed_infrastructure_runs`` (``None``: null or absent), ``not_connected_runs``, and
    whether it ran as text."""

    failed: frozenset[int] | None = None
    not_connected: frozenset[int] = frozenset()
    text_result: bool = False

    @classmethod
    def of(cls, payload: Mapping[str, Any]) -> InfrastructureLists:
        return cls(
            run_id_set(payload.get("failed_infrastructure_runs")),
            run_id_set(payload.get("not_connected_runs")) or frozenset(),
            as_bool(payload.get("run_as_text")) is True or _text_run_type(payload.get("run_type")),
        )


def _text_run_type(raw: object) -> bool:
    """Whether a result's ``run_type`` ("Text", "WebSocket", ...) says it ran as text."""
    return isinstance(raw, str) and raw.strip().lower() == "text"


NO_LISTS = InfrastructureLists()


def normalise_run(raw: object, key: object, infrastructure: InfrastructureLists = NO_LISTS) -> Run:
    """One run entry; ``key`` is its id in the ``runs`` dict (used when ``id`` is absent);
    ``infrastructure`` is what the result says about its runs' infrastructure."""
    if not isinstance(raw, Mapping):
        raise ResultError(f"runs[{key!r}]: expected an object, got {json_type(raw)}")
    run_id = as_int(raw.get("id"))
    if run_id is None:
        run_id = as_int(key)
    if run_id is None:
        raise ResultError(f"runs[{key!r}]: has no numeric id")
    scenario_id, scenario_name = _scenario(raw)
    expected = _mapping(raw.get("expected_outcome"))
    status, status_text = _run_status(raw.get("status"))
    findings = raw.get("critical_categories")
    return Run(
        id=run_id,
        scenario_id=scenario_id,
        scenario_name=scenario_name,
        personality=_personality(raw),
        status=status,
        status_text=status_text,
        success=as_bool(raw.get("success")),
        expected_outcome_score=as_float(expected.get("score")),
        expected_outcome_explanation=as_text(expected.get("explanation")),
        findings=_findings(findings),
        findings_known=isinstance(findings, list),
        error_message=as_text(raw.get("error_message")),
        duration=repeated_text(raw.get("duration")),
        details=_RunDetails(raw.get("evaluation"), raw.get("transcript")),
        infrastructure=infrastructure_reason(
            raw,
            run_id,
            failed_infrastructure=infrastructure.failed,
            not_connected=infrastructure.not_connected,
            text_result=infrastructure.text_result,
        ),
    )


def _run_status(raw: object) -> tuple[Status, str]:
    """A run's status and its text."""
    return _status_once(raw) if type(raw) is str else _status(raw)


def _status(raw: object) -> tuple[Status, str]:
    text = _status_text(raw)
    return Status.parse(text), text


_status_once = functools.lru_cache(maxsize=_REPEATS)(_status)


def run_items(raw: object) -> Iterable[tuple[object, object]]:
    if raw is None:
        return ()
    if isinstance(raw, Mapping):
        return raw.items()
    if isinstance(raw, list):
        return ((index, item) for index, item in enumerate(raw))
    raise ResultError(f"'runs' must be an object keyed by run id, got {json_type(raw)}")


def _runs(raw: object, notes: list[str], infrastructure: InfrastructureLists) -> tuple[Run, ...]:
    """The runs by id; a run listed twice under one id is one run (the first entry, or the
    one that did not pass when they disagree)."""
    runs: dict[int, Run] = {}
    listed = 0
    for key, item in run_items(raw):
        listed += 1
        run = normalise_run(item, key, infrastructure)
        kept = runs.get(run.id)
        if kept is None or (kept.success is True and run.success is not True):
            runs[run.id] = run  # entries that disagree: the one that did not pass
    if listed > len(runs):
        notes.append(
            f"{listed - len(runs)} run entries repeat the id of another run; each run is "
            "counted once"
        )
    return tuple(sorted(runs.values(), key=lambda run: run.id))


# --------------------------------------------------------------------------- overall evaluation


def _p50(raw: Mapping[str, Any], where: str, notes: list[str]) -> float | None:
    """A summary metric's p50; a value that is no number (NaN, text) is ignored with a note,
    and the p50 then comes from elsewhere (in the end, the runs' median)."""
    percentiles = _mapping(raw.get("percentiles"))
    for field, value in (("p50", raw.get("p50")), ("percentiles.p50", percentiles.get("p50"))):
        if value is None:
            continue
        number = as_float(value)
        if number is not None:
            return number
        name = as_text(raw.get("name")) or "?"
        notes.append(f"{where} {name!r} {field} is {_shown(value)}, not a number; ignored")
    return None


def _summary_metrics(overall: object, notes: list[str]) -> tuple[SummaryMetric, ...]:
    data = _mapping(overall)
    found: list[SummaryMetric] = []
    for section in ("numeric_metrics", "extra_metrics"):
        where = f"overall_evaluation.{section}"
        for item in as_list(data.get(section)):
            if isinstance(item, Mapping) and as_text(item.get("name")):
                found.append(
                    SummaryMetric(
                        as_int(item.get("id")),
                        as_text(item.get("name")),
                        metric_kind(item),
                        _p50(item, where, notes),
                        where,
                    )
                )
    where = "overall_evaluation.metric_summary"
    for key, item in _mapping(data.get("metric_summary")).items():
        if isinstance(item, Mapping):
            metric_id = as_int(item.get("id"))
            found.append(
                SummaryMetric(
                    metric_id if metric_id is not None else as_int(key),
                    as_text(item.get("name")),
                    metric_kind(item),
                    _p50(item, where, notes),
                    where,
                )
            )
    return tuple(found)


def _failed_reasons(raw: object) -> tuple[str, ...]:
    issues = as_list(_mapping(raw).get("issues"))
    texts = (
        as_text(_mapping(issue).get("title")) or as_text(_mapping(issue).get("description"))
        for issue in issues
    )
    return tuple(text for text in texts if text)


# --------------------------------------------------------------------------- result


def _status_text(raw: object) -> str:
    """A status is a string; anything else (a list, a number) is an unknown status."""
    text = clean_text(raw) if isinstance(raw, str) else ""
    return " ".join(text.split())[:80] or "unknown"


def _looks_like_error(payload: Mapping[str, Any]) -> str | None:
    detail = payload.get("detail")
    if isinstance(detail, str) and "status" not in payload:
        flat = " ".join(clean_text(detail).split())
        return flat if len(flat) <= 300 else flat[:299] + "…"
    return None


RUNS_FILE_HINT = "pass it with --runs-file"


def normalise(payload: object, *, runs_bulk_hint: str = RUNS_FILE_HINT) -> Result:
    """Turn a ``GET …/results/{id}/`` payload into a ``Result``; raises ``ResultError``.

    ``runs_bulk_hint`` says what to do with a runs-bulk response given as a result."""
    if not isinstance(payload, Mapping):
        looks_like_runs = (
            isinstance(payload, list)
            and bool(payload)
            and is_mapping(payload[0])
            and "result_id" in payload[0]
        )
        hint = (
            f"; this looks like a runs-bulk response: {runs_bulk_hint}" if looks_like_runs else ""
        )
        raise ResultError(
            f"not a Cekura result: expected a JSON object, got {json_type(payload)}{hint}"
        )
    detail = _looks_like_error(payload)
    if detail is not None:
        raise ResultError(f"not a Cekura result: the payload is an API error: {detail}")
    if "results" in payload and "status" not in payload:
        raise ResultError("not a Cekura result: this looks like a list of results; pass one result")
    result_id = as_int(payload.get("id"))
    if result_id is None or "status" not in payload:
        missing = "'id'" if result_id is None else "'status'"
        raise ResultError(f"not a Cekura result: missing or invalid {missing}")
    status_text = _status_text(payload.get("status"))
    notes: list[str] = []
    if as_list(payload.get("runs")) and isinstance(payload.get("runs"), list):
        notes.append("'runs' was a list, not an object keyed by run id; read it by position")
    return Result(
        id=result_id,
        name=as_text(payload.get("name")),
        agent_name=as_text(payload.get("agent_name")),
        project_id=as_int(payload.get("project_id", payload.get("project"))),
        status=Status.parse(status_text),
        status_text=status_text,
        success_rate=summary_field(payload, "success_rate", notes),
        met_expected_outcomes=summary_count(payload, "met_expected_outcome_count", notes),
        total_expected_outcomes=summary_count(payload, "total_expected_outcome_count", notes),
        total_runs=summary_count(payload, "total_runs_count", notes),
        success_runs=summary_count(payload, "success_runs_count", notes),
        completed_runs=summary_count(payload, "completed_runs_count", notes),
        runs=_runs(payload.get("runs"), notes, _infrastructure_lists(payload, notes)),
        summary_metrics=_summary_metrics(payload.get("overall_evaluation"), notes),
        failed_reasons=_failed_reasons(payload.get("failed_reasons")),
        notes=tuple(notes),
        scenarios=_named_items(payload.get("scenarios")),
        categories=_named_items(payload.get("critical_categories")),
    )


def _infrastructure_lists(payload: Mapping[str, Any], notes: list[str]) -> InfrastructureLists:
    """The result's infrastructure lists; a ``failed_infrastructure_runs`` that is neither a
    list nor null is noted, and the runs are then judged by their own signals."""
    raw = payload.get("failed_infrastructure_runs")
    if raw is not None and not isinstance(raw, list):
        notes.append(
            f"failed_infrastructure_runs is {_shown(raw)}, not a list of run ids; ignored, "
            "each run judged by its own signals"
        )
    return InfrastructureLists.of(payload)


def _named_items(raw: object) -> tuple[tuple[int | None, str], ...]:
    """``[{id, name}]`` lists (the result's scenarios and critical-category definitions)."""
    items = []
    for item in as_list(raw)[:10_000]:
        if is_mapping(item) and as_text(item.get("name")):
            items.append((as_int(item.get("id")), as_text(item.get("name"))))
    return tuple(items)


# The result's summary fields and what each must hold. A value that is garbage (NaN, a
# negative or fractional count, a rate beyond 100, text, a count above MAX_COUNT) is never
# used, and never dropped silently: a note names the field and the value, and the gate judges
# from the runs instead.
_RATE = "a percent from 0 to 100"
_COUNT = f"a whole number from 0 to {MAX_COUNT}"
SUMMARY_FIELDS = {
    "success_rate": _RATE,
    "met_expected_outcome_count": _COUNT,
    "total_expected_outcome_count": _COUNT,
    "total_runs_count": _COUNT,
    "success_runs_count": _COUNT,
    "completed_runs_count": _COUNT,
}


def summary_field(payload: Mapping[str, Any], name: str, notes: list[str]) -> float | None:
    """The summary field ``name`` as a number, or ``None`` when absent (null) or garbage;
    garbage adds a note naming the field and its value."""
    raw = payload.get(name)
    if raw is None:
        return None
    wanted = SUMMARY_FIELDS[name]
    number = as_float(raw)
    if wanted is _COUNT:
        number = float(count) if (count := as_count(raw)) is not None else None
    elif number is not None and not 0 <= number <= 100:
        number = None
    if number is None:
        notes.append(f"{name} is {_shown(raw)}, not {wanted}; ignored, judged from the runs")
    return number


def summary_count(payload: Mapping[str, Any], name: str, notes: list[str]) -> int | None:
    number = summary_field(payload, name, notes)
    return int(number) if number is not None else None


def _shown(raw: object) -> str:
    """A payload value as a note shows it: JSON's spelling, kept short."""
    if isinstance(raw, int) and not isinstance(raw, bool) and abs(raw) >= 10**18:
        return "a very large number"  # str() of a huge int can raise
    if isinstance(raw, list | Mapping):
        return json_type(raw)
    try:
        text = json.dumps(raw, ensure_ascii=False)
    except (TypeError, ValueError):
        return json_type(raw)
    text = " ".join(clean_text(text).split())
    return text if len(text) <= 40 else text[:39] + "…"


def json_type(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


# --------------------------------------------------------------------------- runs-bulk merge
