"""The one exception tree and the one exit-code table of cekura-gate.

Every error the gate can report on purpose is a ``GateError``; its class says
which exit code the command line ends with::

    GateError                    (base; never raised directly)
    ├── UsageError               exit 2  bad flags, unreadable or missing files
    ├── PolicyError              exit 2  the policy file is not valid
    ├── NoVerdictError           exit 3  no verdict could be reached
    │   ├── ResultError          exit 3  the result is unreadable, not a Cekura
    │   │                                result, or not finished
    │   ├── BaselineError        exit 3  relative rules have no usable baseline
    │   ├── ApiError             exit 3  the Cekura API could not be used
    │   │   ├── ApiRejected      exit 3  401/403/404/other 4xx: not retried
    │   │   ├── ApiUnavailable   exit 3  retries exhausted (network, 408, 429,
    │   │   │                            5xx, non-JSON bodies)
    │   │   └── OutcomeUnknown   exit 3  a POST (start a run, end calls) failed
    │   │                                after it may have reached the server:
    │   │                                never sent again
    │   └── WaitTimeout          exit 3  the result did not finish in time
    └── Interrupted              exit 130 (SIGINT) or 143 (SIGTERM)

    not a GateError:
    KeyboardInterrupt            exit 130 Ctrl-C outside the places that raise
                                          ``Interrupted``
    any other exception          exit 3   a bug, reported as "internal error" by
                                          ``check`` and ``run`` (with reports)

The class attribute ``exit_code`` holds each code; ``gate.cli.main`` is the one
place that turns an exception into an exit status. Messages are single lines
written for the person reading the CI log, and never contain the API key.
"""

from __future__ import annotations

import enum
import json
import re


class ExitCode(enum.IntEnum):
    """What the process exit status means."""

    PASSED = 0
    GATE_FAILED = 1
    USAGE = 2
    NO_VERDICT = 3
    INTERRUPTED = 130
    TERMINATED = 143


class GateError(Exception):
    """Base of every error the gate reports as a clean one-line message."""

    exit_code: ExitCode = ExitCode.NO_VERDICT

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


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


REDACTED = "[redacted]"


def secret_forms(secret: str) -> tuple[str, ...]:
    """The secret as written raw and as JSON, XML and Markdown would escape it."""
    if not secret.strip():
        return ()
    json_form = json.dumps(secret)[1:-1]
    xml_form = secret.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    quoted = xml_form.replace('"', "&quot;").replace("'", "&apos;")
    markdown_form = re.sub(r"([\\|<>*_`\[\]])", r"\\\1", secret)
    forms = {secret, json_form, xml_form, quoted, markdown_form}
    return tuple(sorted(forms, key=len, reverse=True))


def redact_forms(text: str, secret: str) -> str:
    """``text`` without the secret in any of its escaped forms."""
    for form in secret_forms(secret):
        text = text.replace(form, REDACTED)
    return text
