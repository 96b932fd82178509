"""GitHub Actions integration: the only module that reads ``GITHUB_*`` variables.

When the gate runs in a workflow (``GITHUB_ACTIONS=true``, or forced with
``--github``) it masks the API key before printing anything, folds the wait's
progress into a log group, prints annotations, appends the Markdown verdict to
``$GITHUB_STEP_SUMMARY`` and writes the step outputs to ``$GITHUB_OUTPUT``.
Untrusted text (API messages, transcripts) is printed between
``::stop-commands::`` markers so it cannot inject workflow commands.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from gate.ci import workflow
from gate.errors import redact_forms
from gate.rules.evaluate import Verdict


@dataclass(frozen=True)
class GitHub:
    """Where this workflow step wants its files; what the user switched on."""

    output_path: str | None
    summary_path: str | None
    workspace: str | None
    annotations: bool = True
    summary: bool = True
    label: str | None = None

    def print(self, line: str) -> None:
        print(line, flush=True)

    def mask(self, secret: str) -> None:
        if secret.strip():
            self.print(workflow.command("add-mask", secret))

    @contextmanager
    def group(self, title: str) -> Iterator[None]:
        self.print(f"::group::{workflow.escape_data(title)}")
        try:
            yield
        finally:
            self.print("::endgroup::")

    @contextmanager
    def untrusted(self) -> Iterator[None]:
        """Everything printed inside is shown as text, never run as a workflow command."""
        token = secrets.token_hex(16)
        self.print(f"::stop-commands::{token}")
        try:
            yield
        finally:
            self.print(f"::{token}::")

    def announce(self, result_id: int, result_url: str) -> None:
        """Record the result in the step outputs at once, before the wait starts."""
        self._write_outputs({"result-id": str(result_id), "result-url": result_url}, "")

    def publish(
        self, verdict: Verdict, *, junit_path: str | None, policy_path: str, secret: str = ""
    ) -> None:
        """Annotations, the step summary and the outputs for a finished (or failed) gate."""
        if self.annotations:
            for line in workflow.annotation_lines(verdict, file=self._repo_path(policy_path)):
                self.print(redact_forms(line, secret))
        if self.summary and self.summary_path:
            _append(self.summary_path, redact_forms(workflow.step_summary(verdict), secret))
        self._write_outputs(workflow.outputs(verdict, junit_path=junit_path), secret)

    def _write_outputs(self, values: dict[str, str], secret: str) -> None:
        if self.output_path:
            delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
            text = workflow.output_file_text(values, delimiter)
            _append(self.output_path, redact_forms(text, secret))

    def _repo_path(self, path: str) -> str | None:
        """``path`` relative to the repository, as annotations need; ``None`` if outside."""
        base = Path(self.workspace or os.getcwd()).resolve()
        try:
            return Path(path).resolve().relative_to(base).as_posix()
        except ValueError:
            return None


def _append(path: str, text: str) -> None:
    with open(path, "a", encoding="utf-8", newline="\n") as handle:
        handle.write(text)


def detect(
    env: Mapping[str, str], *, force: bool | None, annotations_on: bool, summary_on: bool
) -> GitHub | None:
    """The GitHub integration if this is (or is forced to act like) a workflow step."""
    active = env.get("GITHUB_ACTIONS") == "true" if force is None else force
    if not active:
        return None
    return GitHub(
        output_path=env.get("GITHUB_OUTPUT") or None,
        summary_path=env.get("GITHUB_STEP_SUMMARY") or None,
        workspace=env.get("GITHUB_WORKSPACE") or None,
        annotations=annotations_on,
        summary=summary_on,
        label=_label(env),
    )


def _label(env: Mapping[str, str]) -> str | None:
    """``PR #12, abc1234`` for the run's name, from the workflow's context."""
    parts = []
    ref = env.get("GITHUB_REF", "")
    if ref.startswith("refs/pull/"):
        parts.append(f"PR #{ref.split('/')[2]}")
    sha = env.get("GITHUB_SHA", "")
    if sha:
        parts.append(sha[:7])
    return ", ".join(parts) or None


def from_environment(
    *, force: bool | None, annotations_on: bool, summary_on: bool
) -> GitHub | None:
    return detect(os.environ, force=force, annotations_on=annotations_on, summary_on=summary_on)
