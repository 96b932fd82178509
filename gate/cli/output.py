"""What the command line writes: its log lines, its standard streams, and its files.

* Log lines go to ``sys.stdout`` / ``sys.stderr``, which ``gate.cli.streams`` makes
  unbreakable for the whole command.
* Files (reports, baselines) are written by ``write_atomic``: a regular file (or a new
  one) is replaced in one step (temp file in the same directory, then rename), so it is
  never half-written; a device, a FIFO or ``/dev/stdout`` is written in place, never
  replaced.
* A file the gate reads (policy, result, runs, baseline) is never a report path:
  ``refuse_overwriting`` stops the command before anything is written.

Whatever else happens, every report the user asked for is written, including on exits 2,
3, 130 and 143; a report that cannot be rendered (a bug) becomes a no-verdict report.
"""

from __future__ import annotations

import errno
import os
import stat
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from gate import dataclasses, lazy
from gate.cli.parser import PROG
from gate.cli.settings import ReportPaths
from gate.errors import UsageError, redacted_render
from gate.reporters import REPORTERS
from gate.reporters.text import one_line
from gate.rules.evaluate import NoVerdict, Verdict, no_verdict

# --------------------------------------------------------------------------- log lines


def log_text(message: str) -> str:
    """One log line that no CI runner can read as a command: untrusted text (API status
    strings, error bodies) may hold newlines followed by ``::error::`` or the old
    ``##[command]`` form, which GitHub's runner honours anywhere in a line."""
    return one_line(message, 2000).replace("##[", "## [")


def error_line(message: str) -> None:
    print(f"{PROG}: error: {log_text(message)}", file=sys.stderr)


def say(message: str) -> None:
    """A progress line on stderr (outside a gate's CI log groups)."""
    print(f"{PROG}: {log_text(message)}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- files


def _existing(path: str) -> os.stat_result | None:
    """What ``path`` names, through symlinks; ``None`` if nothing is there (yet)."""
    try:
        return os.stat(path)
    except OSError:
        return None


def _in_place(path: str, found: os.stat_result | None) -> bool:
    """Written into, never replaced: a device, FIFO or socket (``/dev/null``, a named
    pipe), and a path to one of the process's descriptors (``/dev/stdout``, ``/dev/fd/3``)
    whatever it is open on, even a regular file (``> log.txt``)."""
    if found is None or stat.S_ISDIR(found.st_mode):
        return False
    return not stat.S_ISREG(found.st_mode) or _names_a_descriptor(path)


_DESCRIPTOR_DIRS = lazy.compile(r"/(dev|proc/self|proc/\d+)/fd")


def _names_a_descriptor(path: str) -> bool:
    """Whether ``path`` leads through ``/dev/fd`` or ``/proc/*/fd`` (``/dev/stdout`` does)."""
    current = os.path.abspath(path)
    for _ in range(40):  # the kernel's own limit on a chain of symlinks
        if _DESCRIPTOR_DIRS.fullmatch(os.path.realpath(os.path.dirname(current))):
            return True
        if _DESCRIPTOR_DIRS.fullmatch(os.path.dirname(current)):
            return True
        if not os.path.islink(current):
            return False
        current = os.path.join(os.path.dirname(current), os.readlink(current))
    return False


def prepare_output(path: str, what: str = "report") -> None:
    """Create the output's directory now, so a bad path fails before any work is done."""
    found = _existing(path)
    if found is not None and stat.S_ISDIR(found.st_mode):
        raise UsageError(f"{path}: is a directory; give a file path for the {what}")
    if _in_place(path, found):
        if not os.access(path, os.W_OK):
            raise UsageError(f"{path}: is not writable")
        return
    target = Path(os.path.realpath(path))
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"{path}: cannot create the {what} directory: {exc.strerror or exc}"
        ) from None
    if not os.access(target.parent, os.W_OK):
        raise UsageError(f"{path}: the {what} directory is not writable")


def write_atomic(path: str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path``; raises ``OSError``.

    A regular file, or one not there yet, is replaced in one step (through a symlink, the
    file it points to), so that no reader ever sees half of it. A device or FIFO
    (``/dev/null``, ``/dev/stdout``, a named pipe) is written in place: renaming a file
    over it would replace the device itself, and as root even ``/dev/null``.
    """
    found = _existing(path)
    if found is not None and stat.S_ISDIR(found.st_mode):
        raise IsADirectoryError(errno.EISDIR, "Is a directory", path)
    if found is not None and _in_place(path, found):
        try:
            _write_in_place(path, text, fifo=stat.S_ISFIFO(found.st_mode))
        except OSError:
            # ``--summary /dev/stdout | head``: the gate's own output channel failing is not
            # a lost report, and must not change the verdict (as for the verdict line).
            if not _is_own_output(found):
                raise
        return
    import tempfile  # only to write a file: it costs 3 ms (shutil, random) to import

    target = Path(os.path.realpath(path))
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


def _is_own_output(found: os.stat_result) -> bool:
    """Whether ``found`` is what this process's stdout or stderr is open on."""
    for descriptor in (1, 2):
        try:
            own = os.fstat(descriptor)
        except OSError:
            continue
        if (own.st_dev, own.st_ino) == (found.st_dev, found.st_ino):
            return True
    return False


# How long a report waits for a process to open a FIFO for reading (``mkfifo p; cekura-gate
# check ... --json p & cat p`` may start its reader a moment late) before it gives up.
FIFO_READER_WAIT_S = 2.0


def _write_in_place(path: str, text: str, *, fifo: bool) -> None:
    """Write into an existing device or FIFO: never created, never truncated; appended, so
    that ``--summary /dev/stdout > log.txt`` adds to the log instead of overwriting it."""
    descriptor = _open_in_place(path, fifo=fifo)
    try:
        os.set_blocking(descriptor, True)  # the reader is there: wait for it to read
        data = memoryview(text.encode("utf-8"))
        while data:
            data = data[os.write(descriptor, data) :]
    finally:
        os.close(descriptor)


def _open_in_place(path: str, *, fifo: bool) -> int:
    """Open without waiting: a FIFO no process reads fails at once (ENXIO) instead of hanging
    the gate, so it is tried again for ``FIFO_READER_WAIT_S``, then reported as a report not
    written, like any other."""
    flags = os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_NONBLOCK", 0)
    deadline = time.monotonic() + FIFO_READER_WAIT_S
    while True:
        try:
            return os.open(path, flags)
        except OSError as exc:
            if not fifo or exc.errno != errno.ENXIO:
                raise
            if time.monotonic() >= deadline:
                raise OSError(exc.errno, "no process is reading the FIFO", path) from None
        time.sleep(0.05)


def append_text(path: str, text: str) -> None:
    """Add ``text`` at the end of a file a CI runner reads (outputs, step summary)."""
    with open(path, "a", encoding="utf-8", newline="\n") as handle:
        handle.write(text)


# --------------------------------------------------------------------------- reports


class ReportPathError(UsageError):
    """A report path is unusable; ``usable`` holds the others, still to be written."""

    def __init__(self, message: str, usable: ReportPaths) -> None:
        super().__init__(message)
        self.usable = usable


class OverwriteRefused(UsageError):
    """An output path names a file the command reads, or another output: nothing is written."""


def _identity(path: str) -> tuple[object, bool]:
    """What a path names, for comparing paths however they are spelled (``./``, ``../``,
    symlinks, hard links, ``/dev/stdin`` or ``/dev/fd/3`` open on a file): an existing
    file's device and inode, or the resolved path of one not there yet; and whether it is
    written in place (a device, FIFO or descriptor path: appended to, never replaced).
    ``None`` for a device or FIFO, which no write can destroy."""
    found = _existing(path)
    if found is None:
        return os.path.realpath(path), False
    in_place = _in_place(path, found)
    if in_place and not stat.S_ISREG(found.st_mode):
        return None, True
    return (found.st_dev, found.st_ino), in_place


def refuse_overwriting(
    outputs: Sequence[tuple[str, str]], inputs: Sequence[tuple[str, str]]
) -> None:
    """Raise ``OverwriteRefused`` if an output (label, path) would replace an input or
    another output. Checked before anything is written, so a refusal writes nothing."""
    read: dict[object, tuple[str, str]] = {}
    for label, path in inputs:
        key, _ = _identity(path)
        if key is not None:
            read.setdefault(key, (label, path))
    written: dict[object, str] = {}
    for label, path in outputs:
        key, in_place = _identity(path)
        if key is None:
            continue
        if key in read:
            source, source_path = read[key]
            raise OverwriteRefused(
                f"{label} {path} is the same file as {source} {source_path}: writing it would "
                "destroy that file; nothing was written"
            )
        if in_place:
            continue  # reports appended to one stream (``/dev/stdout`` twice) destroy nothing
        if key in written:
            raise OverwriteRefused(
                f"{written[key]} and {label} name the same file: {path}; nothing was written"
            )
        written[key] = label


def report_outputs(paths: ReportPaths) -> list[tuple[str, str]]:
    """The report paths as (flag, path), for ``refuse_overwriting``."""
    return [(f"--{name}", path) for name, path in paths.items()]


def prepare_reports(paths: ReportPaths) -> ReportPaths:
    """Create report directories up front; a bad path is a usage error, the others stay usable."""
    usable: dict[str, str | None] = dict.fromkeys(f.name for f in dataclasses.fields(paths))
    problem: UsageError | None = None
    for name, path in paths.items():
        try:
            prepare_output(path)
            usable[name] = path
        except UsageError as exc:
            problem = problem or exc
    if problem is not None:
        raise ReportPathError(problem.message, ReportPaths(**usable))
    return paths


def write_reports(paths: ReportPaths, verdict: Verdict | NoVerdict, secret: str = "") -> bool:
    """Write every requested report; returns False if one could not be written as asked.

    A report that cannot be rendered (a bug) is still written, as a no-verdict report
    saying why, so that no requested file is ever missing.
    """
    ok = True
    for name, path in paths.items():
        try:
            text = redacted_render(REPORTERS[name], verdict, secret)
        except Exception as exc:
            message = f"internal error while writing the {name} report ({type(exc).__name__})"
            error_line(message)
            text, ok = (
                REPORTERS[name](
                    no_verdict(
                        message,
                        policy_source=verdict.policy_source,
                        policy_file=verdict.policy_file,
                    )
                ),
                False,
            )
        try:
            write_atomic(path, text)
        except OSError as exc:
            error_line(f"{path}: cannot write the {name} report: {exc.strerror or exc}")
            ok = False
    return ok
