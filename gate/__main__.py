"""Entry point for ``python -m gate``."""

from gate.cli.main import main

raise SystemExit(main())
