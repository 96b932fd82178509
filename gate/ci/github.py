"""GitHub Actions integration: what to print and append for a workflow step.

When the gate runs in a workflow (``GITHUB_ACTIONS=true``, or forced with ``--github``)
the CLI masks the API key before printing anything, folds the wait's progress into a
log group, prints annotations, appends the Markdown verdict to ``$GITHUB_STEP_SUMMARY``
and the step outputs to ``$GITHUB_OUTPUT``. Untrusted text (API messages, transcripts)
is printed between ``::stop-commands::`` markers so it cannot inject workflow commands.

This module reads no environment and prints nothing: ``detect`` is given the variables,
and the rest returns the lines to print and the text to append; ``gate.cli`` does both.
"""

from __future__ import annotations

from collections.abc import Mapping

from gate.ci import workflow
from gate.dataclasses import dataclass
from gate.errors import redacted_render, secret_forms
from gate.rules.evaluate import NoVerdict, Verdict


@dataclass(frozen=True)
class Append:
    """Text to add at the end of a file the runner reads after the step."""

    path: str
    text: str


@dataclass(frozen=True)
class Publication:
    """A finished gate's output for the workflow: log lines first, then file appends."""

    lines: tuple[str, ...]
    appends: tuple[Append, ...]


@dataclass(frozen=True)
class GitHub:
    """Where this workflow step wants its files; what the user switched on."""

    output_path: str | None
    summary_path: str | None
    annotations: bool = True
    summary: bool = True
    label: str | None = None

    def mask_line(self, secret: str) -> str | None:
        """The command that masks the key in the log; none for a value that is not a usable
        key (it is refused before it is ever sent, and masking "test" would hide every
        "test" in the log)."""
        return workflow.command("add-mask", secret) if secret_forms(secret) else None

    def group_lines(self, title: str) -> tuple[str, str]:
        """The lines that open and close a collapsible log group."""
        return f"::group::{workflow.escape_data(title)}", "::endgroup::"

    def untrusted_lines(self) -> tuple[str, str]:
        """Everything printed between these lines is shown as text, never run as a command."""
        import secrets  # here: it costs 5 ms to import, and only GitHub Actions needs it

        token = secrets.token_hex(16)
        return f"::stop-commands::{token}", f"::{token}::"

    def announcement(self, result_id: int, result_url: str) -> Append | None:
        """The step outputs for a result, recorded at once, before the wait starts."""
        return self._outputs({"result-id": str(result_id), "result-url": result_url})

    def publication(
        self,
        verdict: Verdict | NoVerdict,
        *,
        junit_path: str | None,
        policy_file: str | None,
        secret: str = "",
    ) -> Publication:
        """Annotations, the step summary and the outputs for a finished (or failed) gate.

        If the secret shows in them, they are rendered again from a verdict without it, so
        that redaction never breaks their form (a verdict is copied only then: it can hold
        10,000 runs)."""
        return redacted_render(
            lambda record: self._publication(record, junit_path, policy_file),
            verdict,
            secret,
            texts=lambda published: (
                *published.lines,
                *(append.text for append in published.appends),
            ),
        )

    def _publication(
        self, verdict: Verdict | NoVerdict, junit_path: str | None, file: str | None
    ) -> Publication:
        lines: tuple[str, ...] = ()
        if self.annotations:
            lines = tuple(workflow.annotation_lines(verdict, file=file))
        appends = []
        if self.summary and self.summary_path:
            appends.append(Append(self.summary_path, workflow.step_summary(verdict)))
        outputs = self._outputs(workflow.outputs(verdict, junit_path=junit_path))
        if outputs is not None:
            appends.append(outputs)
        return Publication(lines, tuple(appends))

    def _outputs(self, values: dict[str, str]) -> Append | None:
        if not self.output_path:
            return None
        import secrets

        delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
        return Append(self.output_path, workflow.output_file_text(values, delimiter))


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
