"""GitLab CI integration: the lines of a collapsible log section, and the job's label.

In a GitLab job (``GITLAB_CI=true``, or forced with ``--gitlab``) the wait's progress is
folded into a collapsed log section. The dotenv report for later jobs is an ordinary
report (``--dotenv``, see ``reporters.dotenv``). This module reads no environment, no
clock and prints nothing: ``detect`` is given the variables, the section lines the time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from gate.dataclasses import dataclass


@dataclass(frozen=True)
class GitLab:
    label: str | None = None

    def section_start(self, name: str, header: str, now: float) -> str:
        """The line that opens a collapsed log section; GitLab hides the lines until opened."""
        return f"\x1b[0Ksection_start:{int(now)}:{_slug(name)}[collapsed=true]\r\x1b[0K{header}"

    def section_end(self, name: str, now: float) -> str:
        return f"\x1b[0Ksection_end:{int(now)}:{_slug(name)}\r\x1b[0K"


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "_", name.lower())


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
