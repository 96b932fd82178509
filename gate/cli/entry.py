"""The process entry point, for ``cekura-gate`` and ``python -m gate`` alike: the signals
are taken first, then the gate is imported and run.

Importing the gate takes tens of milliseconds; a SIGTERM or Ctrl-C in that window must
still end with the documented exit code and reports, so nothing but ``gate.cli.signals``
(which imports only the standard library) is imported before the handler is in place.

``cekura-gate --version`` alone is answered before that, with nothing imported: it has no
reports to protect, and a CI step that prints the version first should not wait for the
parser. Its output and exit code are those of the parser's ``--version``.
"""

import sys

from gate import __version__


def main() -> int:
    """Answer a bare ``--version``; otherwise hold SIGINT and SIGTERM first, then run the
    command line."""
    if sys.argv[1:] == ["--version"]:
        return _print_version()
    from gate.cli.signals import hold_early

    hold_early()
    from gate.cli.main import main as run_command_line

    return run_command_line()


def _print_version() -> int:
    try:
        sys.stdout.write(f"cekura-gate {__version__}\n")
        sys.stdout.flush()
    except (AttributeError, OSError, ValueError):  # no stdout (>&-), EPIPE, ENOSPC
        from gate.cli.streams import guard_streams

        guard_streams()  # as under main: a broken stdout changes nothing, and stays quiet
        sys.stdout.flush()
    return 0
