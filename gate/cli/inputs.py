"""What the command line reads: policy, result, runs-bulk and baseline files, and the list
of them that no report may be written over.

Reads are bounded, and a pipe or FIFO is read in short waits so that a signal is never
lost; every problem names the file it is about.
"""

from __future__ import annotations

import json
import os
from typing import Any, BinaryIO

from gate.dataclasses import dataclass
from gate.errors import BaselineError, GateError, ResultError, UsageError
from gate.policy.load import parse_policy
from gate.policy.model import MAX_POLICY_BYTES, Policy
from gate.results.merge import merge_run_details
from gate.results.model import Result, Status
from gate.results.normalise import RUNS_FILE_HINT, normalise

MAX_RESULT_BYTES = 2 * 1024**3


def read_text(path: str, *, what: str, limit: int) -> str:
    """The text of a UTF-8 file; raises ``UsageError`` naming the file."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > limit:
                raise UsageError(f"{path}: the {what} is larger than {limit} bytes")
            # Regular files are read whole; pipes and the like in bounded chunks.
            data = handle.read() if size else _read_bounded(handle, limit)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise UsageError(f"{path}: the {what} is larger than {limit} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: the {what} is not UTF-8 text (byte {exc.start})") from None


# How long one wait for a pipe's next bytes may last before Python gets to run signal handlers.
_PIPE_WAIT_MS = 250


def _read_bounded(handle: BinaryIO, limit: int) -> bytes:
    """A pipe's or FIFO's bytes, in chunks, stopping once more than ``limit`` have come.

    A signal (Ctrl-C, a cancelled job) that lands just before a blocking read() is noticed
    only when that read returns, which from an idle pipe is never. So on POSIX no wait lasts
    longer than ``_PIPE_WAIT_MS``: Python runs the pending handler between two waits, and
    the gate stops with its reports written. (Windows has no poll() for pipes.)
    """
    import select  # only for a pipe or FIFO

    descriptor = handle.fileno()
    waiter = select.poll() if hasattr(select, "poll") else None
    if waiter is not None:
        waiter.register(descriptor, select.POLLIN | select.POLLPRI)
    chunks: list[bytes] = []
    total = 0
    while total <= limit:
        if waiter is not None and not waiter.poll(_PIPE_WAIT_MS):
            continue  # nothing yet: loop, so that a pending signal handler runs
        chunk = os.read(descriptor, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def read_json(path: str, *, what: str) -> Any:
    """Parsed JSON from a file; any problem is a ``ResultError`` naming the file."""
    try:
        text = read_text(path, what=what, limit=MAX_RESULT_BYTES)
    except UsageError as exc:
        raise ResultError(str(exc)) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultError(
            f"{path}: the {what} is not valid JSON: line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg}"
        ) from None
    except (ValueError, RecursionError) as exc:
        raise ResultError(f"{path}: the {what} is not usable JSON: {exc}") from None


# --------------------------------------------------------------------------- policy and result


def load_policy(path: str) -> Policy:
    if not os.path.lexists(path):
        raise UsageError(missing_policy(path))
    text = read_text(path, what="policy", limit=MAX_POLICY_BYTES)
    return parse_policy(text, source=path)


def missing_policy(path: str) -> str:
    """The error for a policy file that is not there: it names the command that writes one."""
    from gate.cli.parser import DEFAULT_POLICY

    if path == DEFAULT_POLICY:
        return f"{path}: no such file; write one with `cekura-gate init`"
    import shlex  # only for this message

    return f"{path}: no such file; write one with `cekura-gate init --policy {shlex.quote(path)}`"


def load_result(
    result_path: str,
    runs_path: str | None,
    *,
    what: str = "result",
    runs_bulk_hint: str = RUNS_FILE_HINT,
) -> Result:
    return load_payload(result_path, runs_path, what=what, runs_bulk_hint=runs_bulk_hint)[1]


def load_payload(
    result_path: str,
    runs_path: str | None,
    *,
    what: str = "result",
    runs_bulk_hint: str = RUNS_FILE_HINT,
) -> tuple[Any, Result]:
    """A result file's JSON (with a runs-bulk file merged in) and the result it holds."""
    payload = read_json(result_path, what=what)
    try:
        if runs_path is not None and isinstance(payload, dict):
            bulk = read_json(runs_path, what="runs file")
            try:
                payload = merge_run_details(payload, bulk)
            except ResultError as exc:
                raise ResultError(f"{runs_path}: {exc}") from None
        return payload, normalise(payload, runs_bulk_hint=runs_bulk_hint)
    except ResultError as exc:
        if str(exc).startswith((f"{result_path}:", f"{runs_path}:")):
            raise
        raise ResultError(f"{result_path}: {exc}") from None


def require_finished(result: Result) -> None:
    if not result.status.is_terminal:
        raise ResultError(
            f"result {result.id} is not finished (status '{result.status_text}'); wait for it "
            f"with: cekura-gate check --result-id {result.id}"
        )


# --------------------------------------------------------------------------- baseline


@dataclass(frozen=True)
class Baseline:
    result: Result
    label: str  # where it came from, for the reports: a file path or "result N"


def policy_baseline_file(policy: Policy) -> str | None:
    """The policy's ``baseline.file``: relative to the policy file, or, when nothing is
    there, to the working directory (where a CI job's paths usually start)."""
    file = policy.baseline.file if policy.baseline is not None else None
    if file is None or os.path.isabs(file):
        return file
    beside_policy = os.path.join(os.path.dirname(policy.source), file)
    if os.path.exists(beside_policy) or not os.path.exists(file):
        return beside_policy
    return file


def baseline_from_file(file: str) -> Baseline:
    try:
        hint = (
            "make a baseline from it with: cekura-gate baseline save --result-file RESULT "
            "--runs-file RUNS"
        )
        baseline = Baseline(load_result(file, None, what="file", runs_bulk_hint=hint), file)
    except ResultError as exc:
        message = exc.message if exc.message.startswith(file) else f"{file}: {exc.message}"
        raise BaselineError(f"baseline {message}") from None
    require_completed_baseline(baseline)
    return baseline


def require_completed_baseline(baseline: Baseline) -> None:
    result = baseline.result
    if result.status is not Status.COMPLETED:
        state = "is not finished" if not result.status.is_terminal else "ended"
        raise BaselineError(
            f"baseline {baseline.label} {state} (status '{result.status_text}'); "
            "a baseline must be a completed result"
        )


# --------------------------------------------------------------------------- what a command reads


def gate_inputs(
    policy: str,
    result_file: str | None = None,
    runs_file: str | None = None,
    baseline_file: str | None = None,
    *,
    loaded: Policy | None = None,
) -> list[tuple[str, str]]:
    """The files a ``check`` or ``run`` reads, as (where it was named, path): no report may
    be written over one of them. The baseline file the policy names (``loaded``, else read
    now with ``preload_policy``) counts even when ``--baseline-file`` overrides it: it is a
    file of the repository either way."""
    loaded = loaded if loaded is not None else preload_policy(policy)
    files = [
        ("--policy", policy),
        ("--result-file", result_file),
        ("--runs-file", runs_file),
        ("--baseline-file", baseline_file),
        ("the policy's baseline file", policy_baseline_file(loaded) if loaded else None),
    ]
    return [(label, path) for label, path in files if path]


def preload_policy(policy_path: str) -> Policy | None:
    """The policy, if it can be read and parsed before any work: for the overwrite check,
    and then judged with, so that it is read once.

    Best effort: only a regular file is read (a pipe can be read once only, by the gate
    itself); an unreadable or invalid policy is reported by the gate when it loads it.
    """
    if not os.path.isfile(policy_path):
        return None
    try:
        return load_policy(policy_path)
    except GateError:
        return None
