"""File input and output for the CLI: bounded reads, and atomic report writes
(temp file in the same directory, then rename), so a report is never half-written."""

from __future__ import annotations

import json
import os
import select
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

from gate.errors import ResultError, UsageError

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


def prepare_output(path: str, what: str = "report") -> None:
    """Create the output's directory now, so a bad path fails before any work is done."""
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{path}: is a directory; give a file path for the {what}")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"{path}: cannot create the {what} directory: {exc.strerror or exc}"
        ) from None
    if not os.access(target.parent, os.W_OK):
        raise UsageError(f"{path}: the {what} directory is not writable")


def write_atomic(path: str, text: str) -> None:
    """Replace ``path`` with ``text`` (UTF-8) in one step; raises ``OSError``."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        os.chmod(temp, 0o644)  # mkstemp makes 0600; reports are meant to be shared
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
