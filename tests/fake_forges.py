"""A fake GitHub REST API and a fake GitLab API on 127.0.0.1, for the pull-request /
merge-request comment (``--pr-comment``) over a real socket.

Each serves the comments of one pull request (GitHub: issue comments of
``/repos/{owner}/{repo}/issues/{n}``) or merge request (GitLab: notes of
``/api/v4/projects/{id}/merge_requests/{iid}``): it lists them a page at a time with a
``Link: rel="next"`` header, creates (POST) and edits (PATCH on GitHub, PUT on GitLab) them,
and checks the token (``Authorization: Bearer`` on GitHub, ``PRIVATE-TOKEN`` on GitLab).
Every comment names its author (``user`` on GitHub, ``author`` on GitLab): the token's own
identity (``me``, answered at ``GET /user``) for the ones the gate creates, someone else
(``STRANGER``) for ``add_comment`` unless told. ``FakeGitHub(installation_token=True)`` is
the job's ``GITHUB_TOKEN``: ``GET /user`` answers 403 and its comments are
``github-actions[bot]``'s. It can misbehave on demand: ``read_only`` answers every write
with 403, as GitHub does to a fork's pull request; ``fail_next(status, body)`` answers the
next requests with that status;
``echo_token`` puts the request's headers, token included, into every error body;
``next_link`` replaces the ``Link`` URL (to point it at another host); ``hold`` makes every
request wait until it is set (a forge that hangs).

    with FakeGitHub(token=TOKEN) as github:
        ... run the gate with GITHUB_API_URL=github.url, GITHUB_REPOSITORY=github.repository,
            and an event file naming pull request github.number ...
        assert [comment["body"] for comment in github.comments]

Or start one by hand (127.0.0.1 only; Ctrl-C stops it)::

    python -m tests.fake_forges --port 8081

It prints its URL and the variables that point a gate at it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import signal
import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

F = TypeVar("F", bound="FakeForge")

GITHUB_TOKEN = "ghs_fakeGitHubToken0123456789abcdef01"
GITLAB_TOKEN = "glpat-fakeGitLabToken012345"
STRANGER = {"id": 666, "login": "mallory", "username": "mallory", "type": "User"}
ACTIONS_BOT = {"id": 41898282, "login": "github-actions[bot]", "type": "Bot"}


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class FakeForge:
    """What both fakes share: the server, the comments, the faults and the record."""

    forge = ""
    edit_method = ""
    author_field = ""  # where a comment names its author

    def __init__(self, token: str, me: dict[str, Any], port: int = 0) -> None:
        self.token = token
        self.me = me  # whose the token is
        self.user_forbidden = False  # GET /user answers 403
        self.hold: threading.Event | None = None
        self.received = threading.Event()  # set at the first request
        self.comments: list[dict[str, Any]] = []
        self.requests: list[Request] = []
        self.read_only = False
        self.echo_token = False
        self.next_link: str | None = None
        self._faults: deque[tuple[int, str]] = deque()
        self._next_id = 1000
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def __enter__(self: F) -> F:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # ---- scripting

    def add_comment(self, body: str, by: dict[str, Any] | None = None, **extra: Any) -> int:
        """A comment already in the thread: someone else's unless ``by`` says whose (``me``:
        an earlier gate's)."""
        with self._lock:
            self._next_id += 1
            author = {self.author_field: dict(by or STRANGER)}
            self.comments.append({"id": self._next_id, "body": body, **author, **extra})
            return self._next_id

    def fail_next(self, status: int, body: str = '{"message": "injected"}', times: int = 1) -> None:
        with self._lock:
            self._faults.extend([(status, body)] * times)

    def writes(self) -> list[Request]:
        with self._lock:
            return [request for request in self.requests if request.method != "GET"]

    # ---- serving (a subclass says what its paths and its token header are)

    def authorised(self, headers: dict[str, str]) -> bool:
        raise NotImplementedError

    def user_path(self) -> str:
        raise NotImplementedError

    def route(self, method: str, path: str) -> tuple[str, int | None] | None:
        """("list" | "create" | "edit", comment id) for a path of the thread; else None."""
        raise NotImplementedError

    def refusal(self) -> dict[str, Any]:
        raise NotImplementedError

    def shown(self, comment: dict[str, Any]) -> dict[str, Any]:
        return dict(comment)

    def answer(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        if not self.authorised(request.headers):
            return 401, {"message": "Bad credentials"}, {}
        if request.method == "GET" and request.path == self.user_path():
            if self.user_forbidden:
                return 403, self.refusal(), {}
            return 200, dict(self.me), {}
        found = self.route(request.method, request.path)
        if found is None:
            return 404, {"message": "Not Found"}, {}
        action, comment_id = found
        if action == "list":
            return self._page(request)
        if self.read_only:
            return 403, self.refusal(), {}
        text = (request.json() or {}).get("body")
        if not isinstance(text, str):
            return 422, {"message": "body is missing"}, {}
        with self._lock:
            if action == "create":
                self._next_id += 1
                author = {self.author_field: dict(self.me)}
                self.comments.append({"id": self._next_id, "body": text, **author})
                return 201, self.shown(self.comments[-1]), {}
            for comment in self.comments:
                if comment["id"] == comment_id:
                    comment["body"] = text
                    return 200, self.shown(comment), {}
        return 404, {"message": "Not Found"}, {}

    def _page(self, request: Request) -> tuple[int, Any, dict[str, str]]:
        per_page = int((request.query.get("per_page") or ["30"])[0])
        page = int((request.query.get("page") or ["1"])[0])
        with self._lock:
            items = [self.shown(c) for c in self.comments[(page - 1) * per_page :][:per_page]]
            more = len(self.comments) > page * per_page
        headers: dict[str, str] = {}
        if more:
            link = self.next_link or f"{self.url}{request.path}?per_page={per_page}&page={page + 1}"
            headers["Link"] = f'<{link}>; rel="next", <{self.url}{request.path}>; rel="first"'
        return 200, items, headers

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def do_PATCH(self) -> None:
                self._handle("PATCH")

            def do_PUT(self) -> None:
                self._handle("PUT")

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                request = Request(
                    method,
                    parts.path,
                    parse_qs(parts.query),
                    {key.lower(): value for key, value in self.headers.items()},
                    self.rfile.read(length) if length else b"",
                )
                with fake._lock:
                    fake.requests.append(request)
                    fault = fake._faults.popleft() if fake._faults else None
                fake.received.set()
                if fake.hold is not None:
                    fake.hold.wait(30)
                headers: dict[str, str] = {}
                if fault is not None:
                    status, body = fault[0], json.loads(fault[1])
                else:
                    status, body, headers = fake.answer(request)
                if status >= 400 and fake.echo_token:
                    said = f"denied: {json.dumps(request.headers)}"  # shown by the gate
                    body = {"message": said, "request_headers": request.headers}
                data = json.dumps(body).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

        return Handler


class FakeGitHub(FakeForge):
    """Issue comments of pull request ``number`` in ``repository``; the API at ``url``."""

    forge = "GitHub"
    edit_method = "PATCH"
    author_field = "user"

    def __init__(
        self,
        token: str = GITHUB_TOKEN,
        repository: str = "acme/voice-bot",
        number: int = 12,
        port: int = 0,
        *,
        installation_token: bool = False,
    ) -> None:
        me = ACTIONS_BOT if installation_token else {"id": 501, "login": "gate-bot", "type": "User"}
        super().__init__(token, me, port)
        self.user_forbidden = installation_token
        self.repository = repository
        self.number = number

    def authorised(self, headers: dict[str, str]) -> bool:
        return headers.get("authorization") == f"Bearer {self.token}"

    def user_path(self) -> str:
        return "/user"

    def route(self, method: str, path: str) -> tuple[str, int | None] | None:
        base = f"/repos/{self.repository}/issues"
        if path == f"{base}/{self.number}/comments" and method in ("GET", "POST"):
            return ("list" if method == "GET" else "create"), None
        edit = re.fullmatch(rf"{re.escape(base)}/comments/(\d+)", path)
        if edit and method == "PATCH":
            return "edit", int(edit[1])
        return None

    def refusal(self) -> dict[str, Any]:
        return {
            "message": "Resource not accessible by integration",
            "documentation_url": "https://docs.github.com/rest/issues/comments",
        }

    def shown(self, comment: dict[str, Any]) -> dict[str, Any]:
        url = f"https://github.example/{self.repository}/pull/{self.number}"
        return {**comment, "html_url": f"{url}#issuecomment-{comment['id']}"}


class FakeGitLab(FakeForge):
    """Notes of merge request ``iid`` in project ``project_id``; the API at ``api_url``."""

    forge = "GitLab"
    edit_method = "PUT"
    author_field = "author"

    def __init__(self, token: str = GITLAB_TOKEN, project_id: int = 77, iid: int = 5) -> None:
        super().__init__(token, {"id": 601, "username": "project_77_bot", "name": "gate"})
        self.project_id = project_id
        self.iid = iid

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/v4"

    def authorised(self, headers: dict[str, str]) -> bool:
        return headers.get("private-token") == self.token

    def user_path(self) -> str:
        return "/api/v4/user"

    def route(self, method: str, path: str) -> tuple[str, int | None] | None:
        notes = f"/api/v4/projects/{self.project_id}/merge_requests/{self.iid}/notes"
        if path == notes and method in ("GET", "POST"):
            return ("list" if method == "GET" else "create"), None
        edit = re.fullmatch(rf"{re.escape(notes)}/(\d+)", path)
        if edit and method == "PUT":
            return "edit", int(edit[1])
        return None

    def refusal(self) -> dict[str, Any]:
        return {"message": "403 Forbidden"}

    def shown(self, comment: dict[str, Any]) -> dict[str, Any]:
        return {"system": False, **comment}


# --------------------------------------------------------------------------- by hand


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a fake GitHub until Ctrl-C (or SIGTERM)."""
    parser = argparse.ArgumentParser(
        prog="python -m tests.fake_forges",
        description="Serve a fake GitHub API (one pull request) on 127.0.0.1 until Ctrl-C.",
    )
    parser.add_argument("--port", type=int, default=8081, help="0: any free port (default 8081)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with FakeGitHub(port=args.port) as github:
        print(github.url, flush=True)  # the first line: what a script reads
        print(
            f"GITHUB_ACTIONS=true GITHUB_API_URL={github.url} "
            f"GITHUB_REPOSITORY={github.repository} GITHUB_TOKEN={github.token} "
            f'GITHUB_EVENT_PATH=<a file holding {{"pull_request": {{"number": '
            f"{github.number}}}}}>",
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
