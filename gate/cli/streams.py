"""The standard streams of a command, made unbreakable.

A closed stdout (``>&-``), a reader that went away (EPIPE: ``cekura-gate check ... | head``),
a full disk (ENOSPC) or a closed stderr is an output channel failing: it never changes the
verdict, the exit code or the reports. ``guard_streams`` wraps ``sys.stdout`` and
``sys.stderr`` once, when ``main`` starts, so that every print of the gate (and of argparse)
goes through the one place that absorbs such failures; no caller needs a try/except.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable
from typing import TextIO, cast


class _Guarded(io.TextIOBase):
    """A standard stream that cannot fail: once writing to it fails, it writes nowhere.

    The descriptor under a failed stream is pointed at the null device, so that the
    interpreter's last flush of the original stream (whose buffer still holds the lost
    text) succeeds too, instead of printing a traceback and exiting 120.
    """

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__()
        self.stream = stream

    def write(self, text: str) -> int:
        self._try(lambda stream: stream.write(text))
        return len(text)

    def flush(self) -> None:
        self._try(lambda stream: stream.flush())

    def isatty(self) -> bool:
        return bool(self._try(lambda stream: stream.isatty()))

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.stream, "encoding", None) or "utf-8"

    def fileno(self) -> int:
        if self.stream is None:
            raise io.UnsupportedOperation("the stream is closed")
        return self.stream.fileno()

    def _try(self, action: Callable[[TextIO], object]) -> object:
        if self.stream is None:
            return None
        try:
            return action(self.stream)
        except (OSError, ValueError):  # EPIPE, ENOSPC, EBADF, or the stream was closed
            _silence(self.stream)
            self.stream = None
            return None


def _silence(stream: TextIO) -> None:
    """Point a failed stream's descriptor at the null device (when it has one)."""
    try:
        descriptor = stream.fileno()
        null = os.open(os.devnull, os.O_WRONLY)
    except (OSError, ValueError):
        return
    try:
        os.dup2(null, descriptor)
    except OSError:
        pass
    finally:
        os.close(null)


def guard_streams() -> None:
    """Make ``sys.stdout`` and ``sys.stderr`` unbreakable for the rest of the command.

    A stream the process started without (``>&-``: Python sets it to ``None``) writes
    nowhere, and its descriptor is held by the null device, so that no file the gate opens
    gets descriptor 1 or 2 by accident.
    """
    for name, descriptor in (("stdout", 1), ("stderr", 2)):
        stream = getattr(sys, name)
        if isinstance(stream, _Guarded):
            continue
        if stream is None:
            _hold_closed_descriptor(descriptor)
        else:
            reconfigure = getattr(stream, "reconfigure", None)
            if reconfigure is not None:
                # A verdict must print on a legacy code page (Windows runners).
                reconfigure(errors="replace")
        setattr(sys, name, cast(TextIO, _Guarded(stream)))


def _hold_closed_descriptor(descriptor: int) -> None:
    try:
        os.fstat(descriptor)
        return  # open after all (Python gave up on it for another reason): leave it
    except OSError:
        pass
    null = os.open(os.devnull, os.O_WRONLY)
    if null != descriptor:
        os.dup2(null, descriptor)
        os.close(null)


def unguard_streams() -> None:
    """Flush the guarded streams and put back those that never failed (for in-process
    callers); a failed one stays guarded, so that the interpreter's exit cannot fail on it."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if isinstance(stream, _Guarded):
            stream.flush()
            if stream.stream is not None:
                setattr(sys, name, stream.stream)
