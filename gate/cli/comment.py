"""``--pr-comment``: the verdict as a comment on the pull request (GitHub Actions) or the
merge request (GitLab CI), posted once and edited in place on every later run.

Called once the outcome is printed, written and published. Works out the thread from the
environment and the GitHub event file (``gate.ci.review``), renders the body without the
API key (``gate.reporters.comment``), and posts it (``gate.api.forge``). Whatever happens,
one line says so on stderr: where the comment is, or a single ``notice`` saying why it was
not posted. It never changes the verdict or the exit code, and the forge's token appears
in nothing the gate writes. A bug in it is a notice too; with ``CEKURA_GATE_DEBUG`` its
traceback comes first (redacted), and still the exit code is the verdict's: the debug switch
shows more, it never turns a verdict into a crash.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable

from gate.api import forge
from gate.api.forge import CommentThread
from gate.ci import review
from gate.cli.output import log_text, say
from gate.cli.parser import PROG
from gate.cli.session import Session
from gate.errors import CommentNotPosted, redact_forms, redacted_render
from gate.reporters import comment
from gate.rules.evaluate import NoVerdict, Verdict

MAX_EVENT_BYTES = 64 * 1024 * 1024  # GitHub's own limit on a webhook payload is 25 MB


def _redacted(text: str, session: Session) -> str:
    return redact_forms(redact_forms(text, session.comment_token), session.secret)


def notice(message: str, session: Session) -> None:
    """The one line that says the comment was not posted, without either secret."""
    text = _redacted(message, session)
    print(f"{PROG}: notice: {log_text(f'no pull request comment: {text}')}", file=sys.stderr)


def _traceback(exc: Exception, session: Session) -> None:
    """``CEKURA_GATE_DEBUG``: the bug's traceback on stderr, without either secret."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    print(_redacted(text, session), end="", file=sys.stderr)


def _event_text(path: str) -> str | None:
    """The GitHub event payload's text; ``None`` when ``GITHUB_EVENT_PATH`` is not set."""
    if not path:
        return None
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_EVENT_BYTES + 1)
    except OSError as exc:
        raise CommentNotPosted(f"cannot read GITHUB_EVENT_PATH: {exc.strerror or exc}") from None
    if len(data) > MAX_EVENT_BYTES:
        raise CommentNotPosted("GITHUB_EVENT_PATH is too large to be an event payload")
    return data.decode("utf-8", errors="replace")


def _thread(session: Session) -> tuple[CommentThread, str | None]:
    variables, variable = session.env.variables, session.comment_token_variable()
    if variable is None:
        raise CommentNotPosted("not in GitHub Actions or GitLab CI (see --github and --gitlab)")
    if session.github is not None:
        event = _event_text(session.env.get("GITHUB_EVENT_PATH"))
        return review.github_thread(variables, event, variable)
    return review.gitlab_thread(variables, variable)


def post_comment(
    session: Session,
    record: Verdict | NoVerdict,
    *,
    stopping: bool = False,
    cancelled: Callable[[], bool] = lambda: False,
) -> None:
    """Post or edit the comment. ``stopping``: the gate was interrupted, so nothing is sent;
    ``cancelled()`` turning true (a signal while it posts) stops the wait for the forge, as
    a cancelled runner waits a few seconds at most."""
    try:
        if stopping or cancelled():
            raise CommentNotPosted("the gate was interrupted")
        thread, commit = _thread(session)
        mark = comment.marker(session.policy_file or session.options.policy)
        body = redacted_render(
            lambda verdict: comment.render(verdict, mark=mark, commit=commit),
            record,
            session.secret,
        )
        posted = forge.upsert(thread, mark, body, cancelled=cancelled)
    except CommentNotPosted as exc:
        notice(exc.message, session)
        return
    except Exception as exc:  # a bug: said, but the comment never costs the verdict
        if session.env.debug:
            _traceback(exc, session)
        notice(f"internal error ({type(exc).__name__}); please report it", session)
        return
    where = f": {posted.url}" if posted.url else ""
    say(f"{thread.what}: comment {posted.comment_id} {posted.action}{where}")
