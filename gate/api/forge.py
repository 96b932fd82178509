"""HTTP to GitHub and GitLab for the pull-request / merge-request comment: the only module
that talks to a forge (the Cekura API has ``gate.api.client``).

``upsert`` asks the forge whose the token is (``GET /user``), lists the thread's comments
(100 a page, following ``Link: rel="next"`` on the same host, at most ``MAX_PAGES`` pages),
edits the first one that the token's identity wrote and whose first line is the marker
(``find_marker``), or else creates one. A comment someone else wrote is never taken for the
gate's, whatever it says: anyone who can comment could otherwise plant the marker and have
the gate's verdict written into a comment that they can edit afterwards. GitHub refuses
``GET /user`` to an installation token (the job's ``GITHUB_TOKEN``, a GitHub App's): then
only comments of ``github-actions[bot]`` (``GITHUB_ACTIONS_BOT``) are the gate's. Not any
bot: every app installed on the repository posts as a bot, some of them text that anyone
can choose; a GitHub App's own token therefore does not find its earlier comment (use the
job's ``GITHUB_TOKEN`` or a personal access token, whose ``GET /user`` answers).

Every failure is a ``CommentNotPosted`` whose message never holds the token: no pull
request, no token, a refusal (401, 403 from a fork's read-only token, 404, 422), a server
error, a network error, or no answer within ``BUDGET_S`` seconds for the whole exchange. The
caller turns it into one notice line; the comment never changes the verdict or the exit
code.

Bounded on every side: the whole exchange runs in a worker thread that the caller stops
waiting for after the budget (so that not even headers trickling in a byte at a time can
hold the gate); a request is retried once, after a 5xx or 429, and only if it is a read or
an edit (a create that failed may have been made: sending it again could post it twice);
an answer larger than ``MAX_RESPONSE_BYTES`` or in a content coding is refused; once the
caller has stopped waiting (the budget spent, or the job cancelled), the worker sends
nothing more. The token is sent only over https, or over plain http when the connection
stays on this machine (the tests' fake forges), as ``gate.api.wire`` decides for the API key.
"""

from __future__ import annotations

import json
import math
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from gate.api.proxy import Proxy, proxy_for, split_url
from gate.api.wire import USER_AGENT, Reply, plain_http_refusal, tls_context
from gate.errors import CommentNotPosted, UsageError, api_key_problem, redact_forms

BUDGET_S = 10.0  # the whole exchange: every page, the edit or the create, one retry
REQUEST_TIMEOUT_S = 5.0  # one request's connect, write, and each read
BACKSTOP_S = 1.0  # how much longer than the budget the caller waits for the worker
RETRY_PAUSE_S = 1.0
PER_PAGE = 100
MAX_PAGES = 20
MAX_RESPONSE_BYTES = 32 * 1024 * 1024  # a page of 100 comments of 65,536 characters each
GITHUB_API_VERSION = "2022-11-28"
# Whose comments a GitHub installation token (which cannot ask ``GET /user``) takes for its
# own: the job's GITHUB_TOKEN posts as this bot.
GITHUB_ACTIONS_BOT = "github-actions[bot]"


@dataclass(frozen=True)
class CommentThread:
    """The comments of one pull request or merge request, and how to reach them."""

    forge: str  # GitHub or GitLab, for messages
    what: str  # "pull request #12" or "merge request !12", for messages
    api_url: str
    comments_path: str  # listed (GET) and created (POST)
    edit_path: str  # with ``{id}``
    edit_method: str  # PATCH (GitHub) or PUT (GitLab)
    author_field: str  # where a comment names its author: "user" (GitHub), "author" (GitLab)
    headers: Mapping[str, str] = field(repr=False)  # the token's header among them
    token: str = field(repr=False)
    list_params: tuple[tuple[str, str], ...] = ()
    proxy: Proxy | None = None
    ca_file: str | None = None
    ca_dir: str | None = None
    # Whose comments are the gate's when ``GET /user`` is refused (403); ``None``: a refusal
    # like any other.
    installation_bot: str | None = None


@dataclass(frozen=True)
class Author:
    """Whose comments the gate takes for its own: the token's user (``user_id``, from
    ``GET /user``), or else a bot by its login (``bot_login``)."""

    field: str  # "user" (GitHub) or "author" (GitLab)
    user_id: int | None = None
    bot_login: str | None = None

    def wrote(self, comment: Mapping[str, Any]) -> bool:
        who = comment.get(self.field)
        if not isinstance(who, dict):
            return False
        if self.user_id is not None:
            found = who.get("id")
            return type(found) is int and found == self.user_id
        return (
            self.bot_login is not None
            and who.get("type") == "Bot"
            and who.get("login") == self.bot_login
        )


@dataclass(frozen=True)
class Posted:
    """What ``upsert`` did: ``created`` or ``updated`` the comment ``comment_id``."""

    action: str
    comment_id: int
    url: str | None = None


# --------------------------------------------------------------------------- threads


def _checked_token(token: str, variable: str) -> str:
    token = token.strip()
    if not token:
        raise CommentNotPosted(f"no token: {variable} is not set")
    problem = api_key_problem(token)  # the same rule as for the API key: never a word or two
    if problem is not None:
        raise CommentNotPosted(f"{variable} does not hold a usable token: {problem}")
    return token


def _checked_url(url: str, variable: str, variables: Mapping[str, str]) -> tuple[str, Proxy | None]:
    """The API's base URL and its proxy; plain http only when the connection stays on this
    machine (``gate.api.wire.plain_http_refusal``)."""
    base = url.strip().rstrip("/")
    try:
        parts = split_url(base)
    except ValueError:
        raise CommentNotPosted(f"{variable} is not a usable URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise CommentNotPosted(f"{variable} is not an http(s) URL")
    try:
        proxy = proxy_for(parts, variables)
    except UsageError as exc:
        raise CommentNotPosted(exc.message) from None
    refusal = plain_http_refusal(parts, proxy) if parts.scheme == "http" else None
    if refusal is not None and refusal.proxy is None:
        raise CommentNotPosted(f"refusing to send the token over plain http to {refusal.host}")
    if refusal is not None and refusal.proxy is not None:
        raise CommentNotPosted(
            "refusing to send the token over plain http through the proxy "
            f"{refusal.proxy.host} (from {refusal.proxy.variable}); use https, or add "
            f"{refusal.host} to NO_PROXY"
        )
    return base, proxy


def github_thread(
    *,
    api_url: str,
    repository: str,
    number: int,
    token: str,
    token_variable: str,
    variables: Mapping[str, str],
) -> CommentThread:
    """A GitHub pull request's conversation (issue comments), ``repository`` being
    ``owner/name``."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", repository):
        raise CommentNotPosted(f"GITHUB_REPOSITORY {repository[:100]!r} is not owner/name")
    token = _checked_token(token, token_variable)
    base, proxy = _checked_url(api_url, "GITHUB_API_URL", variables)
    return CommentThread(
        forge="GitHub",
        what=f"pull request #{number}",
        api_url=base,
        comments_path=f"/repos/{repository}/issues/{number}/comments",
        edit_path=f"/repos/{repository}/issues/comments/{{id}}",
        edit_method="PATCH",
        author_field="user",
        headers={
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": GITHUB_API_VERSION,
        },
        token=token,
        list_params=(("per_page", str(PER_PAGE)),),
        proxy=proxy,
        ca_file=variables.get("SSL_CERT_FILE") or None,
        ca_dir=variables.get("SSL_CERT_DIR") or None,
        installation_bot=GITHUB_ACTIONS_BOT,
    )


def gitlab_thread(
    *,
    api_url: str,
    project_id: str,
    iid: int,
    token: str,
    token_variable: str,
    variables: Mapping[str, str],
) -> CommentThread:
    """A GitLab merge request's notes; the token goes in ``PRIVATE-TOKEN``."""
    token = _checked_token(token, token_variable)
    base, proxy = _checked_url(api_url, "CI_API_V4_URL", variables)
    project = urllib.parse.quote(project_id, safe="")
    notes = f"/projects/{project}/merge_requests/{iid}/notes"
    return CommentThread(
        forge="GitLab",
        what=f"merge request !{iid}",
        api_url=base,
        comments_path=notes,
        edit_path=f"{notes}/{{id}}",
        edit_method="PUT",
        author_field="author",
        headers={"PRIVATE-TOKEN": token, "Accept": "application/json"},
        token=token,
        list_params=(("per_page", str(PER_PAGE)), ("sort", "asc"), ("order_by", "created_at")),
        proxy=proxy,
        ca_file=variables.get("SSL_CERT_FILE") or None,
        ca_dir=variables.get("SSL_CERT_DIR") or None,
    )


# --------------------------------------------------------------------------- pure parts


def find_marker(comments: Any, mark: str, author: Author) -> int | None:
    """The id of the first comment that ``author`` wrote and whose first line is ``mark``
    (GitLab's system notes left out), or ``None``. A comment that only quotes the marker
    further down is not ours, nor is one that someone else wrote."""
    if not isinstance(comments, list):
        return None
    for comment in comments:
        if not isinstance(comment, dict) or comment.get("system") is True:
            continue
        body, comment_id = comment.get("body"), comment.get("id")
        if not isinstance(body, str) or not isinstance(comment_id, int):
            continue
        if body.split("\n", 1)[0].strip() == mark and author.wrote(comment):
            return comment_id
    return None


_NEXT = re.compile(r'<([^>]*)>\s*;[^,]*?\brel\s*=\s*"?next"?', re.I)


def next_link(header: str) -> str | None:
    """The ``rel="next"`` URL of a ``Link`` header, or ``None``."""
    match = _NEXT.search(header)
    return match[1].strip() if match else None


def _same_origin(url: str, base: str) -> bool:
    """Whether a ``Link`` URL is on the API's own scheme, host and port: the token is never
    sent anywhere a server's header points to."""
    try:
        first, second = split_url(url), split_url(base)
        return (first.scheme, first.hostname, first.port) == (
            second.scheme,
            second.hostname,
            second.port,
        )
    except ValueError:
        return False


def _said(body: bytes) -> str:
    """What an error answer says: its JSON ``message`` or ``error``, else its start, on one
    line of at most 200 characters."""
    text = body[:4096].decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        said = data.get("message") or data.get("error") or ""
        text = said if isinstance(said, str) else json.dumps(said)
    flat = " ".join(text.split())
    return flat if len(flat) <= 200 else flat[:199] + "\u2026"


def _refusal(thread: CommentThread, status: int, body: bytes) -> str:
    said = _said(body)
    answer = f"{thread.forge} answered {status}" + (f" ({said})" if said else "")
    if status == 401:
        return f"{answer}: the token was not accepted"
    if status == 403 and thread.forge == "GitHub":
        return (
            f"{answer}: the token cannot comment on {thread.what}; a pull request from a fork "
            "gets a read-only token, and the job needs 'permissions: pull-requests: write'"
        )
    if status == 403:
        return f"{answer}: the token cannot comment on {thread.what} (it needs the api scope)"
    if status == 404:
        return f"{answer}: {thread.what} was not found, or the token cannot see it"
    return answer


# --------------------------------------------------------------------------- the exchange


def _json(reply: Reply, thread: CommentThread) -> Any:
    try:
        return json.loads(reply.body.decode("utf-8"))
    except ValueError:
        raise CommentNotPosted(f"{thread.forge} answered {reply.status} without JSON") from None


@dataclass
class _Exchange:
    """The requests of one ``upsert``, all within one deadline."""

    http: httpx.Client
    thread: CommentThread
    deadline: float
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    stopped: Callable[[], bool]  # the caller no longer waits: nothing more is sent

    def left(self) -> float:
        return self.deadline - self.clock()

    def request(
        self,
        method: str,
        url: str,
        *,
        body: str | None = None,
        retry: bool = True,
        allowed: tuple[int, ...] = (),
    ) -> Reply:
        """The answer, a 2xx or one of the ``allowed`` statuses; else ``CommentNotPosted``."""
        reply = self._once(method, url, body)
        busy = reply.status >= 500 or reply.status == 429
        if busy and retry and self.left() > RETRY_PAUSE_S + 1.0:
            self.sleep(RETRY_PAUSE_S)
            reply = self._once(method, url, body)
        if not 200 <= reply.status < 300 and reply.status not in allowed:
            raise CommentNotPosted(_refusal(self.thread, reply.status, reply.body))
        return reply

    def _once(self, method: str, url: str, body: str | None) -> Reply:
        if self.stopped():
            raise CommentNotPosted("the job is being stopped, or the forge took too long")
        left = self.left()
        if left <= 0:
            raise CommentNotPosted(f"{self.thread.forge} did not answer within {BUDGET_S:.0f}s")
        timeout = httpx.Timeout(min(REQUEST_TIMEOUT_S, left))
        # The first page's query is ours; a next page's URL carries its own, which httpx
        # would replace with any ``params`` given (even empty ones).
        first_page = method == "GET" and url == self.thread.comments_path
        params = self.thread.list_params if first_page else None
        content = None if body is None else json.dumps({"body": body}).encode("utf-8")
        headers = {"Content-Type": "application/json"} if content is not None else {}
        try:
            with self.http.stream(
                method, url, params=params, content=content, headers=headers, timeout=timeout
            ) as response:
                return Reply(response.status_code, response.headers, self._read(response))
        except httpx.TimeoutException:
            raise CommentNotPosted(f"{self.thread.forge} did not answer in time") from None
        except httpx.HTTPError as exc:
            host = split_url(self.thread.api_url).hostname
            raise CommentNotPosted(
                f"cannot reach {self.thread.forge} at {host} ({type(exc).__name__})"
            ) from None

    def _read(self, response: httpx.Response) -> bytes:
        coding = response.headers.get("Content-Encoding", "identity").strip().lower()
        if coding not in ("", "identity"):
            raise CommentNotPosted(f"{self.thread.forge} answered in an encoding not asked for")
        data = bytearray()
        for chunk in response.iter_raw():
            data += chunk
            if len(data) > MAX_RESPONSE_BYTES:
                raise CommentNotPosted(f"{self.thread.forge} answered with too much data")
            if self.left() <= 0:
                raise CommentNotPosted(f"{self.thread.forge} did not answer in time")
        return bytes(data)

    def author(self) -> Author:
        """Whose comments are the gate's: the token's user, as ``GET /user`` says; on GitHub
        with an installation token (refused with 403), ``thread.installation_bot``."""
        thread = self.thread
        fallback = (403,) if thread.installation_bot is not None else ()
        reply = self.request("GET", "/user", allowed=fallback)
        if reply.status == 403:
            return Author(thread.author_field, bot_login=thread.installation_bot)
        answer = _json(reply, thread)
        user_id = answer.get("id") if isinstance(answer, dict) else None
        if type(user_id) is not int:
            raise CommentNotPosted(f"{thread.forge} did not say whose the token is")
        return Author(thread.author_field, user_id=user_id)

    def pages(self) -> Iterator[Any]:
        """Each page of the comments, as parsed JSON."""
        url: str | None = self.thread.comments_path
        for _ in range(MAX_PAGES):
            assert url is not None
            reply = self.request("GET", url)
            yield _json(reply, self.thread)
            url = next_link(reply.headers.get("Link", ""))
            if url is None:
                return
            if not _same_origin(url, self.thread.api_url):
                raise CommentNotPosted(f"{self.thread.forge} pointed the next page elsewhere")
        # Not found in the first pages: creating another could repeat it on every run.
        raise CommentNotPosted(
            f"{self.thread.what} has more than {MAX_PAGES * PER_PAGE} comments; "
            "not looking further, and not posting a second one"
        )


def _http(thread: CommentThread, transport: httpx.BaseTransport | None) -> httpx.Client:
    """No environment (``trust_env`` off: the proxy and certificates were decided from the
    variables given), no redirects, no compression."""
    if transport is None:
        transport = httpx.HTTPTransport(
            verify=tls_context(thread.ca_file, thread.ca_dir),
            proxy=thread.proxy.url if thread.proxy is not None else None,
            trust_env=False,
        )
    headers = {**thread.headers, "User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    return httpx.Client(
        base_url=thread.api_url + "/",
        headers=headers,
        follow_redirects=False,
        transport=transport,
        trust_env=False,
    )


def _upsert(exchange: _Exchange, mark: str, body: str) -> Posted:
    author = exchange.author()
    found = None
    for page in exchange.pages():
        found = find_marker(page, mark, author)
        if found is not None:
            break
    thread = exchange.thread
    if found is None:
        reply = exchange.request("POST", thread.comments_path, body=body, retry=False)
        action = "created"
    else:
        reply = exchange.request(thread.edit_method, thread.edit_path.format(id=found), body=body)
        action = "updated"
    answer = _json(reply, thread)
    comment_id = answer.get("id") if isinstance(answer, dict) else None
    url = answer.get("html_url") if isinstance(answer, dict) else None
    return Posted(
        action,
        comment_id if isinstance(comment_id, int) else (found or 0),
        url if isinstance(url, str) else None,
    )


JOIN_SLICE_S = 0.05
WORKER_NAME = "cekura-gate-comment"


def _wait_for(worker: threading.Thread, limit_s: float, stop: Callable[[], bool]) -> None:
    """Until the worker ends, about ``limit_s`` seconds pass (in real time, whatever clock
    the exchange is given) or ``stop()`` turns true."""
    for _ in range(math.ceil(limit_s / JOIN_SLICE_S)):
        if not worker.is_alive() or stop():
            return
        worker.join(JOIN_SLICE_S)


def upsert(
    thread: CommentThread,
    mark: str,
    body: str,
    *,
    transport: httpx.BaseTransport | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    budget_s: float = BUDGET_S,
    cancelled: Callable[[], bool] = lambda: False,
) -> Posted:
    """Edit the thread's comment marked ``mark`` to say ``body``, or create it; raises
    ``CommentNotPosted`` (its message without the token) for anything that stops it,
    ``cancelled()`` turning true (a cancelled job) included. Once this stops waiting, the
    worker sends no further request (one already on its way cannot be called back)."""
    outcome: list[Posted | BaseException] = []
    abandoned = threading.Event()

    def stopped() -> bool:
        return abandoned.is_set() or cancelled()

    def work() -> None:
        try:
            with _http(thread, transport) as http:
                exchange = _Exchange(http, thread, clock() + budget_s, clock, sleep, stopped)
                outcome.append(_upsert(exchange, mark, body))
        except BaseException as exc:  # handed to the caller's thread
            outcome.append(exc)

    worker = threading.Thread(target=work, name=WORKER_NAME, daemon=True)
    worker.start()
    _wait_for(worker, budget_s + BACKSTOP_S, cancelled)
    if not outcome:  # a daemon: the abandoned worker dies with the gate
        abandoned.set()
        if cancelled():
            raise CommentNotPosted("the job is being stopped")
        raise CommentNotPosted(f"{thread.forge} did not answer within {budget_s:.0f}s")
    result = outcome[0]
    if isinstance(result, CommentNotPosted):
        raise CommentNotPosted(redact_forms(result.message, thread.token)) from None
    if isinstance(result, BaseException):
        raise result
    return result
