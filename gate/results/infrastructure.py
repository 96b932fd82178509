"""Whether a run failed because of infrastructure rather than the agent, and why: the one
place that decides it (``infrastructure_reason``), over one run entry as the API sends it.

A call that never connected, or that the telephony or the provider broke, says nothing
about the agent; the rules judge such runs apart (see ``docs/policy.md``, "Infrastructure
failures"). The decision, in order:

1. The result's ``failed_infrastructure_runs`` list, when it is a list (of ids or numeric
   strings; an empty list counts), is **authoritative**: a run it names is infrastructure-
   failed, and a run it does not name is not, whatever its other signals say. It is Cekura's
   own judgement, and two rules for one question would disagree.
2. Where the list is null (Cekura's "not configured") or absent, the run's own signals, the
   first that applies giving the reason:

   - it is listed in the result's ``not_connected_runs``: it never connected;
   - its ``metadata.ended_reason`` is a call-end code for a call that never connected
     (``Main agent-did-not-answer``, ``Main agent-call-not-connected``, ``Testing
     agent-did-not-connect``, ``sip-call-failed``);
   - it passed (``success: true``) with an ``error_message``: per Cekura's guidance, an
     infrastructure issue, not a real pass;
   - it did not pass and its status is ``failed`` (the API's status for connection and
     websocket errors; a run that fails its checks still ends ``completed``);
   - it did not pass, lasted zero seconds and has no transcript (in a voice result: a text
     result's runs have no duration to go by; text is the result's ``run_as_text`` or
     ``run_type``, or the run's own ``run_as_text``; nor a call still ``running`` or
     ``in_progress``, whose duration is not final).

The run's ``error_message`` is quoted in the reason. On its own it decides nothing: a call
that went on and then failed ("the agent hung up") is the agent's failure; the message
counts as the telephony's or the provider's when the call never got going (status
``failed``, or zero duration) or when the run says it passed.

A run that completed and failed its checks, with none of these signals, is an agent failure.
The reason is short text for the reports; ``""`` means not infrastructure-failed. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gate import lazy

# metadata.ended_reason codes (Cekura's call-end-reasons) for a call that never connected,
# compared lower-cased.
NOT_CONNECTED_ENDINGS = frozenset(
    {
        "main agent-did-not-answer",
        "main agent-call-not-connected",
        "testing agent-did-not-connect",
        "sip-call-failed",
    }
)

# Run statuses of a call still going on (a result that timed out cut it off): its duration is
# not final, so a zero says nothing about whether it connected.
UNDER_WAY = frozenset({"running", "in_progress"})

LISTED = "listed in failed_infrastructure_runs"
NOT_CONNECTED = "never connected (listed in not_connected_runs)"
ZERO_DURATION = "no transcript and zero duration"

_ZERO_DURATION = lazy.compile(r"0+(?:[:.]0+)*s?")  # "00:00", "0:00:00", "0", "0.0", "0s"
_REASON_LIMIT = 160


def run_id_set(raw: object) -> frozenset[int] | None:
    """The run ids of a result-level id list (ints or numeric strings; anything else in it
    is left out); ``None`` when it is not a list (null, absent, garbage).

    Cekura's schema types these lists as strings: a string that is wholly a list of ids
    (``"[1, 2]"``, ``"1,2"``, ``"[]"``) is read as that list; any other string is garbage."""
    if isinstance(raw, str):
        raw = _ids_in_text(raw)
    if not isinstance(raw, list):
        return None
    ids = set()
    for item in raw:
        number = _whole(item)
        if number is not None:
            ids.add(number)
    return frozenset(ids)


def _ids_in_text(text: str) -> list[str] | None:
    """``"[1, 2]"`` or ``"1,2"`` as ``["1", "2"]``; ``None`` unless the text is only that."""
    inner = text.strip()
    if inner.startswith("[") and inner.endswith("]"):
        inner = inner[1:-1].strip()
    elif not inner:  # an empty string says nothing; "[]" is an empty list
        return None
    items = [item.strip() for item in inner.split(",")] if inner else []
    if not all(item.isascii() and item.isdecimal() for item in items):
        return None
    return items


def infrastructure_reason(
    run: Mapping[str, Any],
    run_id: int,
    *,
    failed_infrastructure: frozenset[int] | None,
    not_connected: frozenset[int] = frozenset(),
    text_result: bool = False,
) -> str:
    """Why run ``run_id`` (its entry ``run``) is infrastructure-failed, or ``""`` if it is not.

    ``failed_infrastructure`` is the result's ``failed_infrastructure_runs`` as ``run_id_set``
    reads it (``None``: null or absent); ``not_connected`` its ``not_connected_runs``;
    ``text_result`` whether the result ran as text (no call, so no duration to go by)."""
    error = _one_line(run.get("error_message"))
    if failed_infrastructure is not None:
        listed = run_id in failed_infrastructure
        return _with_error(LISTED, error) if listed else ""
    if run_id in not_connected:
        return _with_error(NOT_CONNECTED, error)
    ending = _ended_reason(run.get("metadata"))
    if ending.lower() in NOT_CONNECTED_ENDINGS:
        return _with_error(f"call ended {ending}", error)
    if _true(run.get("success")):
        return f"passed with an error: {error}" if error else ""
    status = _one_line(run.get("status")).lower()
    if status == "failed":
        return _with_error("run ended failed", error)
    text = text_result or _true(run.get("run_as_text"))  # a text run has no call to time
    timed = not text and status not in UNDER_WAY
    if timed and _zero(run.get("duration")) and not _one_line(run.get("transcript")):
        return _with_error(ZERO_DURATION, error)
    return ""


def _with_error(reason: str, error: str) -> str:
    """The reason, with the run's error message when it has one (what the reader acts on)."""
    return f"{reason}: {error}" if error else reason


def _true(value: object) -> bool:
    """``success`` as ``normalise`` reads it (``True``, or "true" in any case and spacing):
    a run the rules count as passed is the run this says passed."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _ended_reason(metadata: object) -> str:
    return _one_line(metadata.get("ended_reason")) if isinstance(metadata, Mapping) else ""


def _one_line(value: object) -> str:
    """A short one-line text of a string value; ``""`` for anything else."""
    if not isinstance(value, str):
        return ""
    text = " ".join(value[: _REASON_LIMIT * 4].split())
    return text if len(text) <= _REASON_LIMIT else text[: _REASON_LIMIT - 1] + "\u2026"


def _zero(duration: object) -> bool:
    """Whether a duration ("MM:SS", or a number of seconds) is known and zero."""
    if isinstance(duration, bool):
        return False
    if isinstance(duration, int | float):
        return duration == 0
    return isinstance(duration, str) and _ZERO_DURATION.fullmatch(duration.strip()) is not None


def _whole(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = value.strip() if isinstance(value, str) else ""
    # isdigit() takes "²", which int() refuses: only ASCII decimal digits are an id
    if text.isascii() and text.isdecimal():
        return int(text)
    return None
