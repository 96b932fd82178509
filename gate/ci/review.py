"""Where the pull-request / merge-request comment goes (``--pr-comment``): the pull request
of a GitHub workflow run, or the merge request of a GitLab pipeline, and the commit it is
for, worked out from the CI's variables and, on GitHub, the text of the event payload.

Pure: ``gate.cli`` reads the environment and the event file and gives them here. A thread
that cannot be worked out (a push event, a branch pipeline, no token, a payload that is
not JSON) is a ``CommentNotPosted`` that says why; the HTTP is ``gate.api.forge``'s.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from gate.api import forge
from gate.api.forge import CommentThread
from gate.dataclasses import dataclass
from gate.errors import CommentNotPosted

DEFAULT_GITHUB_API_URL = "https://api.github.com"


@dataclass(frozen=True)
class PullRequest:
    """The pull request a workflow run is for, and its head commit when the event says."""

    number: int
    head_sha: str | None = None


def _number(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def pull_request(event_text: str | None, event_name: str = "") -> PullRequest:
    """The pull request in a GitHub event payload: ``pull_request`` (``pull_request`` and
    ``pull_request_target`` events), or an ``issue`` that is a pull request
    (``issue_comment`` on one). Raises ``CommentNotPosted`` for any other event."""
    if event_text is None:
        raise CommentNotPosted("no pull request: GITHUB_EVENT_PATH is not set")
    try:
        event = json.loads(event_text)
    except ValueError:
        raise CommentNotPosted("no pull request: GITHUB_EVENT_PATH does not hold JSON") from None
    if isinstance(event, dict):
        found = event.get("pull_request")
        if isinstance(found, dict) and _number(found.get("number")):
            head = found.get("head")
            sha = head.get("sha") if isinstance(head, dict) else None
            return PullRequest(found["number"], sha if isinstance(sha, str) else None)
        issue = event.get("issue")
        if isinstance(issue, dict) and isinstance(issue.get("pull_request"), dict):
            number = _number(issue.get("number"))
            if number:
                return PullRequest(number)
    kind = f"a {event_name} event" if event_name else "an event without one"
    raise CommentNotPosted(f"no pull request: the workflow ran for {kind}")


def github_thread(
    variables: Mapping[str, str], event_text: str | None, token_variable: str
) -> tuple[CommentThread, str | None]:
    """The pull request's conversation and the commit the gate judged (short)."""
    found = pull_request(event_text, variables.get("GITHUB_EVENT_NAME", ""))
    repository = variables.get("GITHUB_REPOSITORY", "")
    if not repository:
        raise CommentNotPosted("GITHUB_REPOSITORY is not set")
    thread = forge.github_thread(
        api_url=variables.get("GITHUB_API_URL") or DEFAULT_GITHUB_API_URL,
        repository=repository,
        number=found.number,
        token=variables.get(token_variable, ""),
        token_variable=token_variable,
        variables=variables,
    )
    # A pull_request event's GITHUB_SHA is a merge commit no one pushed: the head is the one.
    sha = found.head_sha or variables.get("GITHUB_SHA") or None
    return thread, sha[:7] if sha else None


def gitlab_thread(
    variables: Mapping[str, str], token_variable: str
) -> tuple[CommentThread, str | None]:
    """The merge request's notes and the commit the gate judged (short)."""
    iid = variables.get("CI_MERGE_REQUEST_IID", "").strip()
    if not iid:
        raise CommentNotPosted(
            "no merge request: CI_MERGE_REQUEST_IID is not set (not a merge request pipeline)"
        )
    if not iid.isdecimal():
        raise CommentNotPosted(f"CI_MERGE_REQUEST_IID {iid[:20]!r} is not a number")
    # The merge request belongs to its target project, which a fork's pipeline is not.
    project = variables.get("CI_MERGE_REQUEST_PROJECT_ID") or variables.get("CI_PROJECT_ID", "")
    api_url = variables.get("CI_API_V4_URL", "")
    if not project or not api_url:
        raise CommentNotPosted("CI_PROJECT_ID or CI_API_V4_URL is not set")
    thread = forge.gitlab_thread(
        api_url=api_url,
        project_id=project,
        iid=int(iid),
        token=variables.get(token_variable, ""),
        token_variable=token_variable,
        variables=variables,
    )
    return thread, variables.get("CI_COMMIT_SHORT_SHA") or None
