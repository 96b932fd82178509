"""Reporters: pure functions from a ``Verdict`` (or a ``NoVerdict``) to the text of one
report format.

Each module exposes ``render(verdict) -> str``; ``REPORTERS`` maps the CLI
option that asks for a report to its renderer. Writing the text to disk is the
CLI's job (atomically, see ``gate.cli.output``).
"""

from __future__ import annotations

from collections.abc import Callable

from gate.reporters import dotenv, json_report, junit, markdown
from gate.rules.evaluate import NoVerdict, Verdict

Renderer = Callable[[Verdict | NoVerdict], str]

REPORTERS: dict[str, Renderer] = {
    "junit": junit.render,
    "summary": markdown.render,
    "json": json_report.render,
    "dotenv": dotenv.render,
}
