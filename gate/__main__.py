"""Entry point for ``python -m gate``."""

from gate.cli.signals import hold_early

hold_early()  # before the gate is imported: a signal from now on still ends with reports

from gate.cli.main import main  # noqa: E402

raise SystemExit(main())
