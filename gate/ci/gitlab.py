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
    label: str | None = None

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
    return GitLab(label=_label(env)) if active else None


def _label(env: Mapping[str, str]) -> str | None:
    """``MR !12, abc1234`` for the run's name, from the job's predefined variables."""
    parts = []
    if env.get("CI_MERGE_REQUEST_IID"):
        parts.append(f"MR !{env['CI_MERGE_REQUEST_IID']}")
    if env.get("CI_COMMIT_SHORT_SHA"):
        parts.append(env["CI_COMMIT_SHORT_SHA"])
    return ", ".join(parts) or None


def from_environment(*, force: bool | None) -> GitLab | None:
    return detect(os.environ, force=force)
