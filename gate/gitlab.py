"""GitLab CI integration: the only module that reads ``GITLAB_*`` variables.

In a GitLab job (``GITLAB_CI=true``, or forced with ``--gitlab``) the wait's
progress is folded into a collapsible log section. The dotenv report for
later jobs is an ordinary report (``--dotenv``, see ``reporters.dotenv``).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class GitLab:
    def print(self, line: str) -> None:
        print(line, flush=True)

    @contextmanager
    def section(self, name: str, header: str) -> Iterator[None]:
        """A collapsed log section; GitLab hides its lines until it is opened."""
        slug = re.sub(r"[^a-z0-9_]+", "_", name.lower())
        self.print(
            f"\x1b[0Ksection_start:{int(time.time())}:{slug}[collapsed=true]\r\x1b[0K{header}"
        )
        try:
            yield
        finally:
            self.print(f"\x1b[0Ksection_end:{int(time.time())}:{slug}\r\x1b[0K")


def detect(env: Mapping[str, str], *, force: bool | None) -> GitLab | None:
    active = env.get("GITLAB_CI") == "true" if force is None else force
    return GitLab() if active else None


def from_environment(*, force: bool | None) -> GitLab | None:
    return detect(os.environ, force=force)
