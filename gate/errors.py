"""The one exception tree and the one exit-code table of cekura-gate.

Every error the gate can report on purpose is a ``GateMessage``: one line for the CI log.
A ``GateError`` ends the command, and its class says which exit code the command line
ends with; a ``CommentNotPosted`` never ends it, so it has no exit code at all::

    GateMessage                  (base; never raised directly): one line
    ├── GateError                (base; never raised directly): ends the command
    │   ├── UsageError           exit 2  bad flags, unreadable or missing files
    │   ├── PolicyError          exit 2  the policy file is not valid
    │   ├── NoVerdictError       exit 3  no verdict could be reached
    │   │   ├── ResultError      exit 3  the result is unreadable, not a Cekura
    │   │   │                            result, or not finished
    │   │   ├── BaselineError    exit 3  relative rules have no usable baseline
    │   │   ├── ApiError         exit 3  the Cekura API could not be used
    │   │   │   ├── ApiRejected      exit 3  401/403/404/other 4xx: not retried
    │   │   │   ├── ApiUnavailable   exit 3  retries exhausted (network, 408, 429,
    │   │   │   │                            5xx, non-JSON bodies)
    │   │   │   └── OutcomeUnknown   exit 3  a POST (start a run, end calls) failed
    │   │   │                                after it may have reached the server:
    │   │   │                                never sent again
    │   │   └── WaitTimeout      exit 3  the result did not finish in time
    │   └── Interrupted          exit 130 (SIGINT) or 143 (SIGTERM)
    └── CommentNotPosted         no exit code: the pull-request comment
                                 (``--pr-comment``) could not be posted;
                                 ``gate.cli`` says so in one notice line and
                                 the gate goes on with its own exit code

    not a GateMessage:
    KeyboardInterrupt            exit 130 Ctrl-C outside the places that raise
                                          ``Interrupted``
    any other exception          exit 3   a bug, reported as "internal error" by
                                          ``check`` and ``run`` (with reports)

    not an exception, a verdict:
    passed (warnings allowed)    exit 0   (or ``--warn-exit-code N`` with warnings)
    failed                       exit 1   an error-level rule failed the agent (or
                                          the agent and the infrastructure)
    failed by infrastructure     exit 4   only infrastructure failed: calls that never
                                          connected, provider errors, nothing judged

The class attribute ``exit_code`` holds each code; ``gate.cli.main`` is the one
place that turns an exception into an exit status. Messages are single lines
written for the person reading the CI log, and never contain the API key.

The API key's side of that promise lives here too: what a key can be
(``api_key_problem``), and how it is kept out of everything the gate says:
parsed payloads and verdicts are redacted value by value (``redact_json``,
``redact_record``, ``redacted_render``), messages as text (``redact_forms``).
"""

from __future__ import annotations

import enum
import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar, cast

from gate import dataclasses, lazy

R = TypeVar("R")
T = TypeVar("T")


class ExitCode(enum.IntEnum):
    """What the process exit status means."""

    PASSED = 0
    GATE_FAILED = 1
    USAGE = 2
    NO_VERDICT = 3
    INFRASTRUCTURE_FAILED = 4  # the gate failed, and only because of infrastructure
    INTERRUPTED = 130
    TERMINATED = 143


class GateMessage(Exception):
    """Base of everything the gate reports as a clean one-line message."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class GateError(GateMessage):
    """A message that ends the command, with the exit code its class says."""

    exit_code: ExitCode = ExitCode.NO_VERDICT


class UsageError(GateError):
    """The command line or a file it names cannot be used."""

    exit_code = ExitCode.USAGE


class PolicyError(GateError):
    """The policy file is invalid; the message names the file and the key."""

    exit_code = ExitCode.USAGE


class NoVerdictError(GateError):
    """The gate could not judge the result at all."""

    exit_code = ExitCode.NO_VERDICT


class ResultError(NoVerdictError):
    """The result payload cannot be read as a finished Cekura result."""


class BaselineError(NoVerdictError):
    """Relative rules need a baseline, and none was given or it cannot be used."""


class ApiError(NoVerdictError):
    """The Cekura API could not be used to fetch what the gate needs."""


class ApiRejected(ApiError):
    """The API refused the request (401, 403, 404 or another 4xx); retrying cannot help."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class ApiUnavailable(ApiError):
    """Transient failures went on until the retry budget or the deadline ran out."""

    def __init__(self, message: str, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


class OutcomeUnknown(ApiError):
    """A POST failed after it may have reached the server: do not send it again."""


class WaitTimeout(NoVerdictError):
    """The result was still not finished when the wait's deadline came."""

    def __init__(self, message: str, last_status: str) -> None:
        super().__init__(message)
        self.last_status = last_status


class Interrupted(GateError):
    """A signal asked the gate to stop (Ctrl-C, or a cancelled CI job)."""

    def __init__(self, message: str, exit_code: ExitCode) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class CommentNotPosted(GateMessage):
    """The pull-request or merge-request comment could not be posted (no pull request, no
    token, a refusal, a network error). Never ends the command: the verdict and the exit
    code are the gate's, whatever happens to the comment."""


REDACTED = "[redacted]"

# ----------------------------------------------------------------------------- the API key

API_KEY_MIN_LENGTH = 16


def api_key_problem(key: str) -> str | None:
    """Why ``key`` (already stripped of surrounding whitespace) cannot be an API key, or
    ``None`` if it can.

    Cekura documents no key format, so the rule is what any real key satisfies and what a
    mistake rarely does: at least 16 printable ASCII characters, none of them a space or a
    control character. It is also what keeps redaction safe: a key that long cannot be a
    word (``test``, ``pass``) or a number of a report, and it can travel in an HTTP header.
    The answer never quotes the key; it gives the length only of a key too short to be real.
    """
    if len(key) < API_KEY_MIN_LENGTH:
        return f"it is too short ({len(key)} characters)"
    if not key.isascii():
        return "it holds a character that is not ASCII"
    if not all(char.isprintable() and not char.isspace() for char in key):
        return "it holds a space, a tab, a line break or another control character"
    return None


def api_key_rule(variable: str) -> str:
    """The rule as the error message states it, naming where the key came from."""
    return (
        f"{variable} does not hold an API key: an API key is at least {API_KEY_MIN_LENGTH} "
        "printable ASCII characters, without spaces or control characters"
    )


# ----------------------------------------------------------------------------- redaction
#
# Server text reaches the output in two shapes. JSON payloads are redacted value by value
# once parsed (``redact_json``), before anything is built from them, so that a key echoed
# anywhere in them is gone while every report is still rendered by its reporter from clean
# data: redaction never touches a report's structure (an XML tag, a JSON key, a verdict).
# Messages (one-line texts: error bodies, log lines) are redacted as text (``redact_forms``).
# A key that breaks the rule above is never sent, so there is nothing to redact: its forms
# are empty, and a mistaken ``CEKURA_API_KEY=test`` cannot cut "test" out of anything.


@functools.lru_cache(maxsize=4)  # asked for every message, payload and report
def secret_forms(secret: str) -> tuple[str, ...]:
    """The secret as written raw and as JSON, XML and Markdown would escape it; none for a
    value that is not a usable key (blank, or too short to be one: it is never sent)."""
    secret = secret.strip()
    if api_key_problem(secret) is not None:
        return ()
    json_form = json.dumps(secret)[1:-1]
    xml_form = secret.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    quoted = xml_form.replace('"', "&quot;").replace("'", "&apos;")
    markdown_form = re.sub(r"([\\|<>*_`\[\]])", r"\\\1", secret)
    forms = {secret, json_form, json_form.replace("/", "\\/"), xml_form, quoted, markdown_form}
    return tuple(sorted(forms | set(_leaf_forms(secret)), key=len, reverse=True))


@functools.lru_cache(maxsize=4)
def _leaf_forms(secret: str) -> tuple[str, ...]:
    """The secret as a decoded string can still hold it: raw, and percent-encoded (a key
    echoed in a URL's query), with upper- and lower-case hex; the longest first."""
    import urllib.parse  # only once a key is in use: not on the start-up path

    forms = {secret}
    for encoded in (urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret, safe="")):
        forms.add(encoded)
        forms.add(re.sub(r"%[0-9A-F]{2}", lambda hexed: hexed.group(0).lower(), encoded))
    return tuple(sorted(forms, key=len, reverse=True))


def _replace_forms(text: str, secret: str) -> str:
    for form in _leaf_forms(secret):
        if form in text:
            text = text.replace(form, REDACTED)
    return text


def redact_forms(text: str, secret: str) -> str:
    """A message (one line of text) without the secret in any of its escaped forms."""
    for form in secret_forms(secret):
        text = text.replace(form, REDACTED)
    return text


def _redacted_leaf(value: object, secret: str, numeric: bool = False) -> object:
    """``numeric``: the key could be written as a JSON number (``_NUMERIC``)."""
    if isinstance(value, str):
        return _replace_forms(value, secret)
    # A key made of digits could come back as a JSON number: hide it, even if that makes
    # the payload unreadable (no verdict beats a leaked key).
    if numeric and isinstance(value, int | float) and not isinstance(value, bool):
        return REDACTED if secret in repr(value) else value
    return value


def redact_json(payload: Any, secret: str) -> Any:
    """A parsed JSON payload with the secret replaced inside every string, mapping key and
    number; the structure is untouched. Works in place (the payload is the caller's own,
    fresh from ``json.loads``) and without recursion, so any depth ``json`` accepts is fine.
    """
    secret = secret.strip()
    if not secret_forms(secret):
        return payload
    numeric = _NUMERIC.fullmatch(secret) is not None  # decided once, not per number
    box = [payload]
    pending: list[list[Any] | dict[Any, Any]] = [box]
    while pending:
        node = pending.pop()
        if isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, list | dict):
                    pending.append(item)
                else:
                    node[index] = _redacted_leaf(item, secret, numeric)
            continue
        if any(_replace_forms(key, secret) is not key for key in node):  # JSON keys: strings
            items = list(node.items())
            node.clear()
            node.update((_redacted_leaf(key, secret), value) for key, value in items)
        for key, item in node.items():
            if isinstance(item, list | dict):
                pending.append(item)
            else:
                node[key] = _redacted_leaf(item, secret)
    return box[0]


def loads_redacted(text: str, secret: str) -> Any:
    """``json.loads(text)`` with the secret redacted from its values (``redact_json``).

    The walk is skipped when the text provably cannot hold the secret: it is not there as
    written or JSON-escaped, and no ``\\u`` or ``\\/`` escape could spell it some other way
    (a number that could read as the key is always walked). Raises ``ValueError`` as
    ``json.loads`` does.
    """
    payload = json.loads(text)
    forms = secret_forms(secret)
    if not forms:
        return payload
    hidden = "\\u" in text or "\\/" in text or _NUMERIC.fullmatch(secret.strip()) is not None
    if not hidden and not any(form in text for form in forms):
        return payload
    return redact_json(payload, secret)


_NUMERIC = lazy.compile(r"[0-9eE+.-]+")


def redact_record(record: R, secret: str) -> R:
    """A copy of ``record`` (a verdict: frozen dataclasses, tuples, named tuples, mappings)
    with the secret replaced inside every string; what does not change is not copied."""
    secret = secret.strip()
    if not secret_forms(secret):
        return record
    return cast(R, _redact_value(record, secret))


def _redact_value(value: Any, secret: str) -> Any:
    if isinstance(value, enum.Enum | bool | int | float) or value is None:
        return value  # an enum can be a str too: its value is the gate's own
    if isinstance(value, str):
        return _redacted_leaf(value, secret)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {}
        for spec in dataclasses.fields(value):
            old = getattr(value, spec.name)
            new = _redact_value(old, secret)
            if new is not old:
                changes[spec.name] = new
        return dataclasses.replace(value, **changes) if changes else value
    if isinstance(value, tuple | list):
        items = [_redact_value(item, secret) for item in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        if hasattr(value, "_make"):  # a named tuple
            return value._make(items)
        return type(value)(items)
    if isinstance(value, Mapping):
        pairs = [(_redact_value(k, secret), _redact_value(v, secret)) for k, v in value.items()]
        if all(
            k is old_k and v is old_v
            for (k, v), (old_k, old_v) in zip(pairs, value.items(), strict=True)
        ):
            return value
        return dict(pairs)
    return value  # anything else (dates, lazily read run details) holds no server text


def redacted_render(
    render: Callable[[R], T],
    record: R,
    secret: str,
    texts: Callable[[T], Iterable[str]] | None = None,
) -> T:
    """``render(record)``, rendered from a redacted copy if the secret shows in it (in the
    rendering itself, or in each of ``texts(rendering)`` when it is not one text).

    The copy is made only when needed (a verdict can hold 10,000 runs). If the secret still
    shows after that, it is the report's own structure (a tag, a field name), not something
    the report says: the structure wins, so that every report stays readable.
    """
    rendered = render(record)
    shown = texts(rendered) if texts is not None else (cast(str, rendered),)
    forms = secret_forms(secret)
    if not any(form in text for text in shown for form in forms):
        return rendered
    return render(redact_record(record, secret))
