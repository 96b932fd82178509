"""What the command line writes: its log lines, and reports written atomically (temp
file in the same directory, then rename), so that a report is never half-written.

Whatever happens, every report the user asked for is written, including on exits 2, 3,
130 and 143; a report that cannot be rendered (a bug) becomes a no-verdict report.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
from pathlib import Path

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


def prepare_reports(paths: ReportPaths) -> ReportPaths:
    """Create report directories up front; a bad path is a usage error, the others stay usable."""
    seen: dict[str, str] = {}
    for name, path in paths.items():
        key = os.path.realpath(path)
        if key in seen:
            raise UsageError(f"--{seen[key]} and --{name} name the same file: {path}")
        seen[key] = name
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
                REPORTERS[name](no_verdict(message, policy_source=verdict.policy_source)),
                False,
            )
        try:
            write_atomic(path, text)
        except OSError as exc:
            error_line(f"{path}: cannot write the {name} report: {exc.strerror or exc}")
            ok = False
    return ok
