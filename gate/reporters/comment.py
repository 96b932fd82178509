"""The pull-request / merge-request comment (``--pr-comment``): the verdict as one short
Markdown comment that the gate posts once and then edits in place on every later run.

The comment's first line is a hidden marker naming the policy (``marker``): that is how a
later run finds it again (``gate.api.forge``), and why two gates with different policies
in one pull request keep one comment each. Then, in this order: the verdict and the
result, what failed or warned (rule, expected, actual, reason), the baseline deltas, the
waivers that end within ``WAIVER_SOON_DAYS`` days or have ended, and the dashboard link;
for a gate with no verdict, the error. The head is the Markdown summary's
(``gate.reporters.markdown.head``).

Never the share link: anyone holding it can read the transcripts, and a comment is mailed
to everyone watching the pull request and keeps its old versions in its edit history, so a
link posted once cannot be taken back. It stays in the reports and the step summary.

No text from the result or the policy can reach anyone from the comment: each cell is
escaped as in the Markdown summary, then ``quiet`` breaks every mention and reference in
it with a zero-width space. On the step summary these are inert; in a comment, GitHub and
GitLab would notify a ``@user``, ``@org/team`` or ``@all`` and add a "mentioned this" event
to every ``#12``, ``owner/repo#12``, ``GH-12``, ``!12`` (merge request), ``&12`` (epic) or
issue URL. No line of the body can start with ``/`` either (GitLab runs a note's quick
actions, ``/close`` say, even when an API posts it): every line starts with text of ours.

It always fits GitHub's limit of ``MAX_COMMENT_CHARS`` characters: table rows that do not
fit are left out from the end, the same ones on every run, and counted in a "… and N more"
line. Pure.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
import urllib.parse
from collections.abc import Sequence

from gate import __version__, lazy
from gate.dataclasses import dataclass
from gate.reporters.markdown import OUTCOME, cell, head, waiver_state
from gate.rules.checks import Outcome, WaiverState, plural
from gate.rules.evaluate import NoVerdict, Verdict

MAX_COMMENT_CHARS = 65_536  # GitHub's limit for a comment body (GitLab's is far higher)
WAIVER_SOON_DAYS = 14
MARKER_PREFIX = "<!-- cekura-gate:comment policy="
MAX_MARKER_PATH = 200
# Room kept for each table's "… and N more" line, so that it always fits after the rows.
MORE_LINE_ROOM = 200
ZERO_WIDTH_SPACE = "\u200b"
# What GitHub or GitLab would turn into a notification or a cross-reference event: "@" (a
# user, a team, GitLab's @all), "#" (an issue or pull request, "owner/repo#1" included), "!"
# (a GitLab merge request) and "&" (a GitLab epic) before a name or a number, which ``cell``
# may have escaped ("@\_x"); "GH-" before a number; and a URL's "://" or "www." (a link
# to an issue is a reference too).
_REFERENCE = lazy.compile(r"[@#!&](?=\\?\w)|\bGH(?=-\d)|:(?=//)|\bwww(?=\.)", re.IGNORECASE)


def quiet(text: str) -> str:
    """``text`` with a zero-width space after each mention or reference's first part: it
    reads the same, and neither forge links or notifies anyone."""
    return _REFERENCE.sub(lambda match: match[0] + ZERO_WIDTH_SPACE, text)


def _cell(text: str, limit: int = 300) -> str:
    """A table cell of the comment: ``markdown.cell``, quietened."""
    return quiet(cell(text, limit))


def marker(policy_path: str) -> str:
    """The hidden first line of the comment for this policy.

    The path is normalised (``./gate.yaml`` is ``gate.yaml``) and percent-encoded, so that
    no path can end the HTML comment early; a very long one is replaced by its SHA-256.
    """
    path = posixpath.normpath(policy_path.replace("\\", "/"))
    quoted = urllib.parse.quote(path, safe="/")
    if len(quoted) > MAX_MARKER_PATH:
        quoted = "sha256-" + hashlib.sha256(path.encode("utf-8")).hexdigest()
    return f"{MARKER_PREFIX}{quoted} -->"


def size(text: str) -> int:
    """The length GitHub may count: UTF-16 code units, never fewer than the characters, so
    that a body within the limit by this count is within it by any count."""
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True)
class _Table:
    """A section that may be cut: its title and header lines, then its rows."""

    title: str
    header: tuple[str, ...]
    rows: tuple[str, ...]
    noun: str  # what a row is, for "… and 3 more <noun>s"

    def top(self) -> list[str]:
        return [self.title, "", *self.header]


def _cost(lines: Sequence[str]) -> int:
    return sum(size(line) + 1 for line in lines)  # each line and its newline


# --------------------------------------------------------------------------- sections


def _head(verdict: Verdict | NoVerdict, mark: str, commit: str | None) -> list[str]:
    return [mark, *head(verdict, escape=_cell, commit=commit)]


def _flagged(verdict: Verdict) -> _Table:
    """Failures first, then warnings, each in the policy's order."""
    checks = [*verdict.failed_checks, *verdict.warned_checks]
    rows = tuple(
        f"| {OUTCOME[check.outcome]} | {_cell(check.title, 200)} | {_cell(check.expected, 200)} | "
        f"{_cell(check.actual, 200)} | {_cell(check.reason, 500)} |"
        for check in checks
    )
    return _Table(
        f"### What failed or warned: {len(checks)}",
        ("| Status | Rule | Expected | Actual | Why |", "| --- | --- | --- | --- | --- |"),
        rows,
        "rule",
    )


def _deltas(verdict: Verdict) -> _Table:
    checks = [c for c in verdict.checks if c.baseline and c.outcome is not Outcome.SKIP]
    rows = tuple(
        f"| {_cell(check.title, 200)} | {_cell(check.baseline, 100)} | "
        f"{_cell(check.actual, 100)} | {_cell(check.delta, 100) or '–'} | "
        f"{OUTCOME[check.outcome]} |"
        for check in checks
    )
    source = verdict.baseline.source if verdict.baseline is not None else "the baseline"
    return _Table(
        f"### Compared with the baseline (`{_cell(source, 200)}`)",
        ("| Rule | Baseline | Actual | Delta | Status |", "| --- | --- | --- | --- | --- |"),
        rows,
        "comparison",
    )


def _ending(waiver: WaiverState) -> bool:
    if waiver.until is None:
        return False
    return waiver.expired or (waiver.days_left or 0) <= WAIVER_SOON_DAYS


def _waivers(verdict: Verdict) -> _Table:
    waivers = [waiver for waiver in verdict.waivers if _ending(waiver)]
    rows = tuple(
        f"| {_cell(waiver.path, 200)} | {waiver.until.isoformat() if waiver.until else '–'} | "
        f"{waiver_state(waiver)} | {_cell(waiver.reason or '–', 300)} |"
        for waiver in waivers
    )
    as_of = f" (as of {verdict.as_of.isoformat()})" if verdict.as_of else ""
    return _Table(
        f"### Waivers ending within {WAIVER_SOON_DAYS} days or expired{as_of}",
        ("| Rule | Until | State | Reason |", "| --- | --- | --- | --- |"),
        rows,
        "waiver",
    )


def _tail(verdict: Verdict | NoVerdict) -> list[str]:
    lines = []
    if verdict.result_url:
        lines += [f"[View the result in the Cekura dashboard]({verdict.result_url})", ""]
    lines += [f"<sub>cekura-gate {__version__} edits this comment on every run.</sub>"]
    return lines


# --------------------------------------------------------------------------- fitting


def _more(count: int, noun: str) -> str:
    return f"… and {plural(count, 'more ' + noun)} (see the job's reports)"


def _shown_rows(table: _Table, room: int) -> list[str]:
    """The table's title, header and as many rows as fit in ``room``; nothing if not even
    the title and header do."""
    lines = table.top()
    left = room - _cost(lines)
    if left < 0:
        return []
    for row in table.rows:
        left -= size(row) + 1
        if left < 0:
            break
        lines.append(row)
    return lines


def _fit(head: list[str], tables: list[_Table], tail: list[str], limit: int) -> list[str]:
    """``head``, the tables and ``tail`` within ``limit``: every table keeps room for its
    own "… and N more" line and for those of the tables after it."""
    lines = list(head)
    room = limit - _cost(head) - _cost(tail)
    for number, table in enumerate(tables):
        later = MORE_LINE_ROOM * (len(tables) - number)  # this table's line and the later ones'
        part = _shown_rows(table, room - later)
        hidden = len(table.rows) - max(0, len(part) - len(table.top()))
        if hidden:  # without even its title when that does not fit: the line is reserved
            part = [*part, "", _more(hidden, table.noun)] if part else [_more(hidden, table.noun)]
        part.append("")
        lines += part
        room -= _cost(part)
    return lines + tail


def render(
    verdict: Verdict | NoVerdict,
    *,
    mark: str,
    commit: str | None = None,
    limit: int = MAX_COMMENT_CHARS,
) -> str:
    """The comment's body: ``mark`` (see ``marker``) on its first line, at most ``limit``
    characters (``size``) in all."""
    head = _head(verdict, mark, commit)
    tables: list[_Table] = []
    if isinstance(verdict, Verdict):
        tables = [_flagged(verdict), _deltas(verdict), _waivers(verdict)]
    text = "\n".join(_fit(head, [t for t in tables if t.rows], _tail(verdict), limit)) + "\n"
    while size(text) > limit:  # a limit too small for even the head: cut, keeping the marker
        text = text[: len(text) - (size(text) - limit)]
    return text
