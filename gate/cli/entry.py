"""The process entry point, for ``cekura-gate`` and ``python -m gate`` alike: the signals
are taken first, then the gate is imported and run.

Importing the gate takes tens of milliseconds; a SIGTERM or Ctrl-C in that window must
still end with the documented exit code and reports, so nothing but ``gate.cli.signals``
(which imports only the standard library) is imported before the handler is in place.
"""

from __future__ import annotations

from gate.cli.signals import hold_early


def main() -> int:
    """Hold SIGINT and SIGTERM from the first instruction, then run the command line."""
    hold_early()
    from gate.cli.main import main as run_command_line

    return run_command_line()
