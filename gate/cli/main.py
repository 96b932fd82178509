"""The entry point: ``main(argv) -> int``, and the one error boundary.

``main`` parses the command line into frozen settings, reads the environment once, runs
the command and maps whatever stops it to the exit-code table drawn in ``gate.errors``:
a ``GateError`` exits with its class's code, Ctrl-C with 130, a bug in ``check`` or
``run`` with 3 (every requested report is still written, as a no-verdict report).

The command modules are imported only once the arguments parse, so that ``--version``
and ``--help`` load almost nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from gate.cli.parser import DEFAULT_POLICY, PROG, build_parser, parse
from gate.cli.settings import (
    BaselineSettings,
    CheckSettings,
    Environment,
    GateSettings,
    ReportPaths,
    RunCommandSettings,
    SchemaSettings,
    Settings,
    ValidateSettings,
)
from gate.errors import ExitCode, GateError, Interrupted, UsageError, redact_forms

if TYPE_CHECKING:
    from gate.rules.evaluate import NoVerdict, Verdict

# --------------------------------------------------------------------------- the table


def _stopped_by(exc: BaseException) -> tuple[str, str, int] | None:
    """(log line, report message, exit code) for an exception the gate reports on purpose;
    ``None`` for anything else (a bug)."""
    if isinstance(exc, GateError):
        return exc.message, exc.message, int(exc.exit_code)
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", "the gate was interrupted", ExitCode.INTERRUPTED
    return None


def _internal_error(exc: Exception) -> tuple[str, str, int]:
    message = f"internal error ({type(exc).__name__}): {exc}; please report it"
    return message, message, ExitCode.NO_VERDICT


# --------------------------------------------------------------------------- usage errors


def _option_from_argv(argv: Sequence[str], option: str) -> str | None:
    """An option's value even when the rest of the command line is unusable."""
    for index, arg in enumerate(argv):
        if arg == option and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith(f"{option}="):
            return arg.split("=", 1)[1]
    return None


def _usage_failure(exc: UsageError, argv: Sequence[str]) -> int:
    """A bad command line: the error, and for a gate its no-verdict reports where it can."""
    from gate.cli.output import error_line, write_reports
    from gate.rules.evaluate import no_verdict

    error_line(exc.message)
    if "check" in argv or "run" in argv:
        paths = ReportPaths(
            *(_option_from_argv(argv, f"--{f.name}") for f in dataclasses.fields(ReportPaths))
        )
        policy = _option_from_argv(argv, "--policy") or DEFAULT_POLICY
        write_reports(paths, no_verdict(exc.message, policy_source=policy))
    return int(exc.exit_code)


# --------------------------------------------------------------------------- commands


def _command(settings: Settings, env: Environment) -> int:
    """``validate``, ``baseline`` and ``schema``: errors end them with a line and a code."""
    from gate.cli.output import error_line

    try:
        if isinstance(settings, ValidateSettings):
            from gate.cli.validate import validate

            return validate(settings, env)
        if isinstance(settings, BaselineSettings):
            from gate.cli.baseline import save_baseline

            return save_baseline(settings, env)
        from gate.cli.schema import print_schema

        assert isinstance(settings, SchemaSettings)
        return print_schema(settings, env)
    except (GateError, KeyboardInterrupt) as exc:
        stopped = _stopped_by(exc)
        assert stopped is not None
        error_line(stopped[0])
        return stopped[2]


@contextlib.contextmanager
def _signals_as_exceptions() -> Iterator[None]:
    """SIGTERM (a cancelled CI job) stops the gate the way Ctrl-C does, with exit 143."""

    def terminate(signum: int, frame: object) -> None:
        raise Interrupted("the gate was terminated (SIGTERM)", ExitCode.TERMINATED)

    try:
        previous = signal.signal(signal.SIGTERM, terminate)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _gate(settings: GateSettings, env: Environment) -> int:
    """``check`` and ``run``: whatever happens, a line, every report and an exit code."""
    from gate.cli import check, run
    from gate.cli.gating import exit_code_for, explain_exit
    from gate.cli.output import ReportPathError, error_line, prepare_reports, write_reports
    from gate.cli.session import Known, Session, Stopped, knowing
    from gate.rules.evaluate import VerdictStatus

    options = settings.gate
    live = isinstance(settings, RunCommandSettings) or settings.result_id is not None
    session = Session.open(options, env, live=live)
    paths = options.reports
    record: Verdict | NoVerdict
    try:
        if options.ci.fail_on != "error" and options.warn_exit_code != 0:
            raise UsageError(
                f"--warn-exit-code only applies with --fail-on error, not {options.ci.fail_on}"
            )
        with _signals_as_exceptions():
            paths = prepare_reports(paths)
            if isinstance(settings, CheckSettings):
                record = check.judge(settings, session)
            else:
                record = run.judge(settings, session)
        with knowing(Known(record.result_id, record.result_url)):
            code = exit_code_for(record, options.warn_exit_code, options.ci.fail_on)
            explain_exit(record, code, options.ci.fail_on)
            session.show(record)
    except (Exception, KeyboardInterrupt, Stopped) as raised:
        exc, known = (
            (raised.cause, raised.known) if isinstance(raised, Stopped) else (raised, Known())
        )
        if isinstance(exc, ReportPathError):
            paths = exc.usable
        stopped = _stopped_by(exc)
        if stopped is None:
            if env.debug or not isinstance(exc, Exception):
                raise exc from exc.__cause__  # CEKURA_GATE_DEBUG: the traceback, not a line
            stopped = _internal_error(exc)
        line, message, code = stopped
        error_line(redact_forms(line, session.secret))
        record = session.failure(message, known)
    passed = record.status in (VerdictStatus.PASS, VerdictStatus.WARN)
    if not write_reports(paths, record, session.secret) and passed:
        code = ExitCode.NO_VERDICT  # a pass whose reports are missing is not a usable pass
    session.publish(record, paths)
    return int(code)


# --------------------------------------------------------------------------- entry point


def _tolerate_unencodable_output() -> None:
    """A verdict must print on a legacy code page (Windows runners): replace what cannot."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    _tolerate_unencodable_output()
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        settings = parse(args)
    except UsageError as exc:
        return _usage_failure(exc, args)
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0
    if settings is None:
        build_parser().print_usage(sys.stderr)
        print(
            f"{PROG}: error: a command is required: check, run, validate, baseline or schema "
            f"(see '{PROG} --help')",
            file=sys.stderr,
        )
        return ExitCode.USAGE
    env = Environment.snapshot(os.environ)  # the one read of the environment
    if isinstance(settings, (CheckSettings, RunCommandSettings)):
        return _gate(settings, env)
    return _command(settings, env)
