"""Entry point for ``python -m gate``."""

from gate.cli import main

raise SystemExit(main())
