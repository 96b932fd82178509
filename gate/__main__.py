"""Entry point for ``python -m gate``."""

from gate.cli.entry import main

raise SystemExit(main())
