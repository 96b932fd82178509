"""The entry point: ``main(argv) -> int``, and the one error boundary.

``main`` parses the command line into frozen settings, reads the environment once, runs
the command and maps whatever stops it to the exit-code table drawn in ``gate.errors``:
a ``GateError`` exits with its class's code, Ctrl-C with 130, a bug in ``check`` or
``run`` with 3 (every requested report is still written, as a no-verdict report).

From its first instruction to its return ``main`` owns SIGINT and SIGTERM
(``gate.cli.signals``: they stop the work, but never the writing of the reports) and the
standard streams (``gate.cli.streams``: a broken stdout never changes the outcome). No
report is ever written over a file the command reads (``refuse_overwriting``).

The command modules are imported only once the arguments parse, so that ``--version``
and ``--help`` load almost nothing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from gate import dataclasses
from gate.cli.parser import DEFAULT_POLICY, PROG, build_parser, parse
from gate.cli.settings import (
    BaselineSettings,
    CheckSettings,
    Environment,
    GateSettings,
    InitSettings,
    ReportPaths,
    RunCommandSettings,
    SchemaSettings,
    Settings,
    ValidateSettings,
)
from gate.cli.signals import Signals, take_over
from gate.cli.streams import guard_streams, unguard_streams
from gate.errors import ExitCode, GateError, UsageError, redact_forms

if TYPE_CHECKING:
    from gate.policy.model import Policy
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


def _option_values(argv: Sequence[str], option: str) -> list[tuple[int, str]]:
    """Every (position, value) of an option, even when the rest of the command line is
    unusable; argparse keeps the last."""
    found = []
    for index, arg in enumerate(argv):
        if arg == option and index + 1 < len(argv):
            found.append((index + 1, argv[index + 1]))
        elif arg.startswith(f"{option}="):
            found.append((index, arg.split("=", 1)[1]))
    return found


def _last_value(argv: Sequence[str], option: str) -> str | None:
    values = _option_values(argv, option)
    return values[-1][1] if values else None


def _argv_inputs(argv: Sequence[str], report_positions: set[int]) -> list[tuple[str, str]]:
    """What a broken gate command line may read: the policy (and the baseline file it
    names), and every other existing file it names (whatever the flag, even abbreviated)."""
    from gate.cli.inputs import gate_inputs

    policy = _last_value(argv, "--policy") or DEFAULT_POLICY
    found = gate_inputs(policy)
    for index, arg in enumerate(argv):
        flag, _, value = arg.partition("=") if arg.startswith("--") else ("", "", arg)
        if index in report_positions or not os.path.isfile(value):
            continue
        if not flag and index > 0 and argv[index - 1].startswith("-"):
            flag = argv[index - 1]
        if len(flag) > 2 and "--policy".startswith(flag):  # argparse takes --pol for --policy
            if value != policy:  # read above already
                found.extend(gate_inputs(value))  # and so the baseline file it names
        else:
            found.append((flag or "the command line", value))
    return found


def _usage_failure(exc: UsageError, argv: Sequence[str]) -> int:
    """A bad command line: the error, and for a gate its no-verdict reports where it can
    (never over a file the command line names)."""
    from gate.cli.output import (
        OverwriteRefused,
        error_line,
        refuse_overwriting,
        report_outputs,
        write_reports,
    )
    from gate.rules.evaluate import no_verdict

    if "check" not in argv and "run" not in argv:
        error_line(exc.message)
        return int(exc.exit_code)
    options = [f"--{field.name}" for field in dataclasses.fields(ReportPaths)]
    paths = ReportPaths(*(_last_value(argv, option) for option in options))
    positions = {index for option in options for index, _ in _option_values(argv, option)}
    try:
        refuse_overwriting(report_outputs(paths), _argv_inputs(argv, positions))
    except OverwriteRefused as refused:
        error_line(f"{exc.message}; and {refused.message}")
        return int(exc.exit_code)
    error_line(exc.message)
    policy = _last_value(argv, "--policy") or DEFAULT_POLICY
    write_reports(paths, no_verdict(exc.message, policy_source=policy))
    return int(exc.exit_code)


# --------------------------------------------------------------------------- commands


def _command(settings: Settings, env: Environment, signals: Signals) -> int:
    """``validate``, ``baseline``, ``init`` and ``schema``: errors end them with a line and a
    code."""
    from gate.cli.output import error_line

    try:
        with signals.raising():
            if isinstance(settings, ValidateSettings):
                from gate.cli.validate import validate

                return validate(settings, env)
            if isinstance(settings, RunCommandSettings):  # --dry-run: no API, no reports
                from gate.cli.run import dry_run

                return dry_run(settings, env)
            if isinstance(settings, BaselineSettings):
                from gate.cli.baseline import save_baseline

                return save_baseline(settings, env)
            if isinstance(settings, InitSettings):
                from gate.cli.init import init

                return init(settings, env)
            from gate.cli.schema import print_schema

            assert isinstance(settings, SchemaSettings)
            return print_schema(settings, env)
    except (GateError, KeyboardInterrupt) as exc:
        stopped = _stopped_by(exc)
        assert stopped is not None
        error_line(stopped[0])
        return stopped[2]


def _inputs(settings: GateSettings, policy: Policy | None) -> list[tuple[str, str]]:
    from gate.cli.inputs import gate_inputs

    options = settings.gate
    if isinstance(settings, CheckSettings):
        result_file, runs_file = settings.result_file, settings.runs_file
    else:
        result_file = runs_file = None
    return gate_inputs(options.policy, result_file, runs_file, options.baseline.file, loaded=policy)


def _gate(settings: GateSettings, env: Environment, signals: Signals) -> int:
    """``check`` and ``run``: whatever happens, a line, every report and an exit code.

    Signals stop the gate only while it works (``signals.raising()``); once the outcome is
    known it is printed, written and published whatever comes, and ``main`` makes the
    exit code the signal's.
    """
    from gate.cli.gating import exit_code_for, explain_exit
    from gate.cli.inputs import preload_policy
    from gate.cli.output import (
        OverwriteRefused,
        ReportPathError,
        error_line,
        prepare_reports,
        refuse_overwriting,
        report_outputs,
        write_reports,
    )
    from gate.cli.session import Known, Session, Stopped, knowing
    from gate.rules.evaluate import VerdictStatus

    options = settings.gate
    live = isinstance(settings, RunCommandSettings) or settings.result_id is not None
    session = Session.open(options, env, live=live)
    paths = ReportPaths()  # nothing is written until the paths are known to be safe
    record: Verdict | NoVerdict
    try:
        preloaded = preload_policy(options.policy)
        inputs, appended = _inputs(settings, preloaded), session.appended_files()
        refuse_overwriting(report_outputs(options.reports), [*inputs, *appended])
        for github_file in appended:  # appended to, one at a time: never to an input
            refuse_overwriting([github_file], inputs)
        paths = options.reports
        with signals.raising():
            if options.ci.fail_on != "error" and options.warn_exit_code != 0:
                raise UsageError(
                    f"--warn-exit-code only applies with --fail-on error, not {options.ci.fail_on}"
                )
            paths = prepare_reports(paths)
            if isinstance(settings, CheckSettings):
                from gate.cli import check

                record = check.judge(settings, session, preloaded)
            else:
                from gate.cli import run

                record = run.judge(settings, session, preloaded)
        with knowing(Known(record.result_id, record.result_url)):
            code = exit_code_for(record, options.warn_exit_code, options.ci.fail_on)
            explain_exit(record, code, options.ci.fail_on)
            session.show(record)
    except OverwriteRefused as refused:
        error_line(refused.message)
        return int(refused.exit_code)
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
    if options.ci.comment.on:  # last: it may take seconds, and never changes the code
        from gate.cli.comment import post_comment

        post_comment(
            session,
            record,
            stopping=int(code) in (ExitCode.INTERRUPTED, ExitCode.TERMINATED),
            cancelled=lambda: signals.pending() is not None,
        )
    return int(code)


def _settle(code: int, signals: Signals) -> int:
    """The exit code, once everything is written: a signal that came while the outcome
    was printed, written or published makes it the signal's (130 or 143)."""
    pending = signals.pending()
    if pending is None or code in (ExitCode.INTERRUPTED, ExitCode.TERMINATED):
        return code
    from gate.cli.output import error_line

    signal_code, what = pending
    error_line(f"{what} while the outcome was reported; every report was finished first")
    return signal_code


# --------------------------------------------------------------------------- entry point


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    signals = take_over()  # first: no signal may end the command without its reports
    guard_streams()
    try:
        return _settle(_main(argv, signals), signals)
    finally:
        unguard_streams()
        signals.restore()


def _main(argv: Sequence[str] | None, signals: Signals) -> int:
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
            f"{PROG}: error: a command is required: check, run, validate, baseline, init or "
            "schema "
            f"(see '{PROG} --help')",
            file=sys.stderr,
        )
        return ExitCode.USAGE
    env = Environment.snapshot(os.environ)  # the one read of the environment
    if isinstance(settings, CheckSettings) or (
        isinstance(settings, RunCommandSettings) and not settings.dry_run
    ):
        return _gate(settings, env, signals)
    return _command(settings, env, signals)
