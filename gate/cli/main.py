"""The entry point: ``main(argv) -> int`` and the one error boundary.

The command modules are imported only once the arguments parse, so that ``--version``
and ``--help`` load almost nothing.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Sequence

from gate.cli.parser import DEFAULT_POLICY, PROG, build_parser
from gate.errors import ExitCode, GateError, UsageError

# --------------------------------------------------------------------------- entry point


def _option_from_argv(argv: Sequence[str], option: str) -> str | None:
    """An option's value even when the rest of the command line is unusable."""
    for index, arg in enumerate(argv):
        if arg == option and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith(f"{option}="):
            return arg.split("=", 1)[1]
    return None


def _usage_failure(exc: GateError, argv: Sequence[str]) -> int:
    from gate.cli.commands import ReportPaths, error_line, no_verdict, write_reports

    error_line(exc.message)
    if "check" in argv or "run" in argv:
        paths = ReportPaths(
            *(_option_from_argv(argv, f"--{f.name}") for f in dataclasses.fields(ReportPaths))
        )
        policy = _option_from_argv(argv, "--policy") or DEFAULT_POLICY
        write_reports(paths, no_verdict(exc.message, policy_source=policy))
    return int(exc.exit_code)


def _tolerate_unencodable_output() -> None:
    """A verdict must print on a legacy code page (Windows runners): replace what cannot."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    _tolerate_unencodable_output()
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
    except UsageError as exc:
        return _usage_failure(exc, args_list)
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0
    if args.command is None:
        parser.print_usage(sys.stderr)
        print(
            f"{PROG}: error: a command is required: check, run, validate, baseline or schema "
            f"(see '{PROG} --help')",
            file=sys.stderr,
        )
        return ExitCode.USAGE
    from gate.cli.commands import COMMANDS, error_line  # the heavy modules load only now

    try:
        return COMMANDS[args.command](args)
    except GateError as exc:
        error_line(exc.message)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        error_line("interrupted")
        return ExitCode.INTERRUPTED
