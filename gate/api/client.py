"""HTTP access to the Cekura API (the forges, for ``--pr-comment``, are ``gate.api.forge``'s;
what both share is ``gate.api.wire``).

``ApiSettings`` resolves where to talk and how to authenticate, and checks all of it
before the first request: the key (``gate.errors.api_key_problem``), the auth header's
name, the URL, the proxy (``gate.api.proxy``) and that the key never leaves this machine
over plain HTTP, directly or through a proxy. ``CekuraClient`` makes
idempotent GETs with one retry policy, declared once in ``_retrying``:
network errors, timeouts, 408, 429, 5xx, corrupt encodings and non-JSON bodies
are retried with exponential backoff and jitter, honouring ``Retry-After``;
401/403/404 and other 4xx fail at once. A POST is retried only when it provably
never left this machine. The API key never leaks: every JSON body is redacted value
by value once parsed (``loads_redacted``), and every message that could carry server
text is redacted as text (``redact_forms``).

Every request, GET or POST, is made and read by one function, ``_exchange``: the
response is streamed and read whole before anything looks at it, under a deadline
for the whole response (headers and body, however slowly they trickle in) and a
cap on its size once decoded (``max_response_bytes``; a ``Content-Length`` over
the cap is refused before any byte of the body is read). Content codings are
undone here, a bounded piece at a time, so a small compressed body that inflates
to gigabytes is stopped at the cap; only gzip and deflate are asked for.
"""

from __future__ import annotations

import email.utils
import heapq
import math
import queue
import random
import re
import threading
import time
import zlib
from collections import Counter, deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult

import httpx
import tenacity

from gate.api.proxy import Proxy, proxy_for, split_url
from gate.api.wire import USER_AGENT, Reply, plain_http_refusal, tls_context
from gate.errors import (
    ApiError,
    ApiRejected,
    ApiUnavailable,
    OutcomeUnknown,
    UsageError,
    api_key_problem,
    api_key_rule,
    loads_redacted,
    redact_forms,
)

DEFAULT_API_URL = "https://api.cekura.ai"
DEFAULT_AUTH_HEADER = "X-CEKURA-API-KEY"
LEGACY_AUTH_HEADER = "X-VOCERA-API-KEY"

MAX_ATTEMPTS = 7
BACKOFF_INITIAL_S = 1.0
BACKOFF_MAX_S = 30.0
BACKOFF_JITTER_S = 1.0
MAX_RETRY_AFTER_S = 300.0
# A request started just before the deadline still gets this long (the deadline's grace).
MIN_REQUEST_TIMEOUT_S = 1.0
# How long one whole response (headers and body) may take, deadline or not. Creating many
# runs can take a while; a trigger that times out is a run of unknown fate.
GET_BUDGET_S = 60.0
TRIGGER_READ_TIMEOUT_S = 120.0
END_CALLS_READ_TIMEOUT_S = 15.0
POST_BUDGET_S = 30.0
# The worker reading a response enforces its deadline itself (socket timeouts, and the clock
# after every chunk); the caller stops waiting for it this much later, so that only headers
# that trickle in (which httpx reads on its own, byte after byte) meet the backstop.
BACKSTOP_S = 0.5
DEFAULT_MAX_RESPONSE_BYTES = 256 * 1024 * 1024
# Content codings the gate undoes itself, in bounded pieces; nothing else is asked for.
ACCEPT_ENCODING = "gzip, deflate"
INFLATE_PIECE = 1024 * 1024
RUNS_CHUNK = 50
RUNS_CONCURRENCY = 8
RUNS_MAX_IN_FLIGHT = RUNS_CONCURRENCY * 2  # the connection pool's size: never more in flight
# A chunk answered 429 without Retry-After is asked again after this share of the first
# backoff pause, then THROTTLE_BACKOFF_GROWTH times longer each time (jittered upwards);
# it is given up once out of attempts and paused as long as the 5xx schedule would have.
THROTTLE_BACKOFF_SHARE = 0.1
THROTTLE_BACKOFF_GROWTH = 2.0
THROTTLE_JITTER = 0.5


@dataclass(frozen=True)
class ApiSettings:
    """Where and how to reach the API. ``api_key`` is excluded from ``repr``."""

    base_url: str
    api_key: str = field(repr=False)
    auth_header: str = DEFAULT_AUTH_HEADER
    api_version: int = 2
    legacy_paths: bool = False
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 30.0
    proxy: Proxy | None = None
    ca_file: str | None = None  # SSL_CERT_FILE / SSL_CERT_DIR, read by gate.cli
    ca_dir: str | None = None

    def result_path(self, result_id: int) -> str:
        if self.legacy_paths:
            return f"/test_framework/v1/results-external/{result_id}/"
        return f"/test_framework/v{self.api_version}/results/{result_id}/"

    def result_action_path(self, result_id: int, action: str) -> str:
        """Write actions (end_calls, share links) stay on v1, as Cekura's own tools use."""
        base = "results-external" if self.legacy_paths else "results"
        return f"/test_framework/v1/{base}/{result_id}/{action}/"

    def trigger_path(self, path: str) -> str:
        return path.replace("/scenarios/", "/scenarios-external/") if self.legacy_paths else path

    def runs_bulk_path(self) -> str:
        if self.legacy_paths:
            return "/test_framework/v1/runs-external/bulk/"
        return f"/test_framework/v{self.api_version}/runs/bulk/"


# An HTTP header name is an RFC 9110 token: anything else cannot be sent (or splits the request).
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def auth_header_problem(name: str) -> str | None:
    """Why ``name`` cannot be the name of an HTTP header, or ``None`` if it can."""
    if _HEADER_NAME.fullmatch(name):
        return None
    return (
        "a header name is letters, digits and !#$%&'*+-.^_`|~ only "
        "(no spaces, colons or other characters)"
    )


def _url_parts(base: str) -> SplitResult:
    """``base`` split, or a ``UsageError`` that never repeats a user or password in it."""
    try:
        parts = split_url(base)
    except ValueError:
        raise UsageError(f"API URL {_shown(base)!r} is not a usable URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"API URL {_shown(base)!r} is not an http(s) URL")
    return parts


def _shown(url: str) -> str:
    """``url`` without any ``user:password@``."""
    return re.sub(r"(?<=://)[^/@]*@", "", url)


def _refuse_plain_http(parts: SplitResult, proxy: Proxy | None) -> None:
    """Plain HTTP only when the connection itself stays on this machine: to a loopback API,
    directly or through a loopback proxy (``gate.api.wire.plain_http_refusal``)."""
    refusal = plain_http_refusal(parts, proxy)
    if refusal is None:
        return
    host = refusal.host
    if refusal.proxy is None:
        raise UsageError(
            f"refusing to send the API key over plain http to {host}; use https "
            "(or --allow-insecure-http if you really mean it)"
        )
    raise UsageError(
        f"refusing to send the API key over plain http through the proxy {refusal.proxy.host} "
        f"(from {refusal.proxy.variable}); use https, add {host} to NO_PROXY, or "
        "--allow-insecure-http if you really mean it"
    )


def resolve_settings(
    *,
    api_url: str | None,
    api_key: str | None,
    key_source: str,
    auth_header: str | None = None,
    api_version: int | None = None,
    allow_insecure_http: bool = False,
    variables: Mapping[str, str] | None = None,
) -> ApiSettings:
    """Validate the connection settings; raises ``UsageError`` (exit 2).

    ``variables`` is the environment as ``gate.cli`` read it: the proxy variables and
    ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` are taken from it, and nothing else.
    """
    environment = variables or {}
    base = (api_url or DEFAULT_API_URL).strip().rstrip("/")
    parts = _url_parts(base)
    proxy = proxy_for(parts, environment)
    if parts.scheme == "http" and not allow_insecure_http:
        _refuse_plain_http(parts, proxy)
    key = (api_key or "").strip()
    if not key:
        raise UsageError(f"no API key: set {key_source}")
    problem = api_key_problem(key)
    if problem is not None:
        raise UsageError(f"{api_key_rule(key_source)}; {problem}")
    if auth_header is not None and (header_problem := auth_header_problem(auth_header)):
        raise UsageError(f"--auth-header {auth_header!r}: {header_problem}")
    host = (parts.hostname or "").lower()
    legacy = host == "vocera.ai" or host.endswith(".vocera.ai")
    header = auth_header or (LEGACY_AUTH_HEADER if legacy else DEFAULT_AUTH_HEADER)
    version = api_version or (1 if legacy else 2)
    return ApiSettings(
        base,
        key,
        header,
        version,
        legacy_paths=legacy,
        proxy=proxy,
        ca_file=environment.get("SSL_CERT_FILE") or None,
        ca_dir=environment.get("SSL_CERT_DIR") or None,
    )


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP date)."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - now
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


def _not_the_result(body: Any, result_id: int) -> str | None:
    """Why ``body`` is not the result asked for (a misrouting proxy or cache can send
    another, or something else entirely); ``None`` when it is."""
    if not isinstance(body, Mapping) or "status" not in body:
        return "JSON that is not a Cekura result"
    sent = body.get("id")
    if sent is not None and str(sent).strip() != str(result_id):
        return f"result {str(sent)[:40]}, not result {result_id}"
    return None


def _tries(attempts: int) -> str:
    return "1 attempt" if attempts == 1 else f"{attempts} attempts"


class _NotSent(Exception):
    """The connection failed before any byte of the request was sent."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


class _Transient(Exception):
    """A failure worth retrying; ``retry_after`` is the server's requested pause, ``status``
    the HTTP status that said so (``None``: no status, or a body not what it should be)."""

    def __init__(
        self, problem: str, retry_after: float | None = None, status: int | None = None
    ) -> None:
        super().__init__(problem)
        self.problem = problem
        self.retry_after = retry_after
        self.status = status


# ---- one response, read whole under a deadline and a size cap


class _Fault(Exception):
    """One exchange failed in transport: no connection, a timeout, a dropped, cut or corrupt
    response. ``problem`` is said of a GET, ``name`` of a POST (``... after the request was
    sent``); ``sent``: the request may have reached the server."""

    def __init__(self, problem: str, name: str, *, sent: bool = True) -> None:
        super().__init__(problem)
        self.problem = problem
        self.name = name
        self.sent = sent

    @classmethod
    def of(cls, error: httpx.HTTPError) -> _Fault:
        name = type(error).__name__
        unsent = isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
        if isinstance(error, httpx.TimeoutException):
            return cls("the request timed out", name, sent=not unsent)
        return cls(f"network error ({name})", name, sent=not unsent)


class _TooLarge(Exception):
    """The response is larger than the cap: declared so, or counted while reading it."""


class _Corrupt(Exception):
    """The body is not what its ``Content-Encoding`` says (or is a coding not asked for)."""


@dataclass(frozen=True)
class _Deadline:
    """When one response must be whole (on the client's clock), and whether its caller has
    stopped waiting for it."""

    until: float
    window_s: float
    abandoned: threading.Event = field(default_factory=threading.Event)

    def passed(self, now: float) -> bool:
        return self.abandoned.is_set() or now > self.until

    def expired(self) -> _Fault:
        within = f"no complete response within {_seconds_text(self.window_s)}"
        return _Fault("the request timed out", within)


def _transient_status(status: int) -> bool:
    """5xx, 408 and 429: judged on the status alone (a GET retries, a POST's outcome is
    unknown), so their body is not even read."""
    return status >= 500 or status in (408, 429)


def _declared_length(headers: httpx.Headers) -> int | None:
    value = headers.get("Content-Length", "").strip()
    return int(value) if value.isascii() and value.isdigit() else None  # not '²'


def _decoded(chunks: Iterator[bytes], headers: httpx.Headers) -> Iterator[bytes]:
    """The body with its content codings undone (the header lists them in the order applied)."""
    named = [name.strip().lower() for name in headers.get("Content-Encoding", "").split(",")]
    for encoding in reversed([name for name in named if name and name != "identity"]):
        if encoding not in ("gzip", "x-gzip", "deflate"):
            raise _Corrupt(f"a body in an encoding the gate does not accept ({encoding[:20]})")
        chunks = _inflated(chunks, encoding)
    return chunks


def _inflated(chunks: Iterator[bytes], encoding: str) -> Iterator[bytes]:
    """``chunks`` with one gzip or deflate coding undone, ``INFLATE_PIECE`` bytes at most at a
    time, so that the caller's count stops a bomb long before it is held in memory."""
    inflater: Any = None
    head = b""
    for chunk in chunks:
        if inflater is None:  # deflate may come with a zlib header or without: look first
            head += chunk
            if len(head) < 2:
                continue
            inflater = zlib.decompressobj(_window_bits(encoding, head))
            chunk, head = head, b""
        yield from _inflate(inflater, chunk, encoding)
        if inflater.eof:
            # What follows the end of the stream is ignored, as httpx's own decoders do, and
            # not even read: under a stacked coding, reading it would make the outer layer
            # inflate bytes that no count sees.
            return
    if head or (inflater is not None and not inflater.eof):
        raise _Corrupt(f"a {encoding} body that ends early")


def _inflate(inflater: Any, data: bytes, encoding: str) -> Iterator[bytes]:
    # Whatever follows the end of the stream is ignored, as httpx's own decoders do.
    while not inflater.eof:
        try:
            piece: bytes = inflater.decompress(data, INFLATE_PIECE)
        except zlib.error:
            raise _Corrupt(f"a corrupt {encoding} body") from None
        if piece:
            yield piece
        data = inflater.unconsumed_tail
        if not data and len(piece) < INFLATE_PIECE:
            return  # all input used and no output pending; a full piece may have more


def _window_bits(encoding: str, head: bytes) -> int:
    if encoding != "deflate":
        return 16 + zlib.MAX_WBITS  # a gzip header and trailer
    zlib_header = head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0
    return zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS  # some servers send raw deflate


def _size_text(size: int) -> str:
    """``256 MiB``, ``1.5 KiB`` or ``100 bytes``."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.4g} {unit}"
    return f"{size} bytes"


def _seconds_text(seconds: float) -> str:
    return f"{seconds:.0f}s" if seconds >= 10 else f"{seconds:.1f}s"


def build_http(settings: ApiSettings, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """The one ``httpx.Client``: base URL, auth header, explicit timeouts, no redirects.

    ``trust_env`` is off: the proxy and the certificates are the ones ``resolve_settings``
    decided on, so that where the key goes is known before the first request.
    """
    if transport is None:
        transport = httpx.HTTPTransport(
            verify=tls_context(settings.ca_file, settings.ca_dir),
            proxy=settings.proxy.url if settings.proxy is not None else None,
            limits=httpx.Limits(max_connections=RUNS_MAX_IN_FLIGHT),
            trust_env=False,
        )
    return httpx.Client(
        base_url=settings.base_url,
        headers={
            settings.auth_header: settings.api_key,
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
            "X-Client-Source": "cekura-gate",
        },
        timeout=httpx.Timeout(settings.read_timeout_s, connect=settings.connect_timeout_s),
        follow_redirects=False,
        transport=transport,
        trust_env=False,
    )


@dataclass
class CekuraClient:
    """Typed GETs against the Cekura API with one retry policy.

    ``sleep`` and ``clock`` are injectable so tests never wait (the clock also times every
    response as it is read); ``wall_clock`` turns an HTTP-date ``Retry-After`` into seconds.
    """

    http: httpx.Client
    settings: ApiSettings
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    wall_clock: Callable[[], float] = time.time
    max_attempts: int = MAX_ATTEMPTS
    backoff_initial_s: float = BACKOFF_INITIAL_S
    backoff_max_s: float = BACKOFF_MAX_S
    on_retry: Callable[[str], None] | None = None
    log: Callable[[str], None] | None = None
    cancelled: threading.Event = field(default_factory=threading.Event)
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES

    # ---- public

    def get_result(self, result_id: int, *, deadline: float | None = None) -> Any:
        """The result payload; raises ``ApiRejected`` / ``ApiUnavailable``."""
        return self._get(
            self.settings.result_path(result_id),
            None,
            not_found=f"result {result_id} not found for this API key",
            deadline=deadline,
            shape=lambda body: _not_the_result(body, result_id),
        )

    def get_runs(
        self,
        run_ids: Sequence[int],
        *,
        chunk_size: int = RUNS_CHUNK,
        concurrency: int = RUNS_CONCURRENCY,
        deadline: float | None = None,
    ) -> list[Any]:
        """Run details from runs-bulk, in chunks, up to ``concurrency`` in flight (never more
        than the connection pool holds, ``RUNS_MAX_IN_FLIGHT``); how many is adapted to the
        server's 429s (``InFlightWindow``), and a chunk that fails waits in the queue, not in a
        worker, until its pause is over."""
        chunks = [run_ids[i : i + chunk_size] for i in range(0, len(run_ids), chunk_size)]
        if not chunks:
            return []
        cap = max(1, min(concurrency, RUNS_MAX_IN_FLIGHT, len(chunks)))
        return _ChunkFetch(self, chunks, cap, deadline).run()

    def start_run(self, path: str, body: Mapping[str, Any]) -> int:
        """POST the trigger; the new result's id (top-level ``id`` of the response)."""
        answer = self.post_once(
            self.settings.trigger_path(path),
            body,
            what="starting the run",
            budget_s=TRIGGER_READ_TIMEOUT_S,
        )
        result_id = answer.get("id") if isinstance(answer, Mapping) else None
        if isinstance(result_id, bool) or not isinstance(result_id, int | str):
            raise OutcomeUnknown("starting the run: the response did not carry a result id")
        try:
            return int(result_id)
        except ValueError:
            raise OutcomeUnknown(
                "starting the run: the response did not carry a result id"
            ) from None

    def end_calls(self, result_id: int) -> None:
        """Ask Cekura to stop the result's calls still in flight (sent once)."""
        self.post_once(
            self.settings.result_action_path(result_id, "end_calls"),
            {},
            what="ending the calls",
            budget_s=END_CALLS_READ_TIMEOUT_S,
        )

    def create_share_link(self, result_id: int, expire_at: str) -> str:
        """A public link to the result (it exposes transcripts to anyone holding it)."""
        path = self.settings.result_action_path(result_id, "create_shareable_link_token")
        answer = self.post_once(
            path,
            {"expire_at": expire_at},
            what="creating a share link",
        )
        link = answer.get("shareable_link") if isinstance(answer, Mapping) else None
        if not isinstance(link, str) or not link.strip():
            raise ApiError("creating a share link: the response had no shareable_link")
        return link.strip()

    def post_once(
        self,
        path: str,
        body: Mapping[str, Any],
        *,
        what: str,
        budget_s: float = POST_BUDGET_S,
    ) -> Any:
        """POST ``body``; retried only when it provably never left this machine.

        A connection that could not be made (refused, DNS, connect timeout) is retried
        with backoff. Any failure after the request may have reached the server (no whole
        response within ``budget_s``, a dropped connection, a corrupt or oversized body, a
        5xx) raises ``OutcomeUnknown`` at once: every Cekura run is billed, so a second POST
        could start a second, paid run.
        """
        # The budget covers the retries of a connection that could not be made too: a
        # request whose documented limit is 15 s must not take minutes of backoff.
        until = self.clock() + budget_s
        retrying = self._retrying(until, retry_on=_NotSent)
        try:
            return retrying(self._post_attempt, path, body, what, until)
        except _NotSent as exc:
            attempts = retrying.statistics.get("attempt_number", 1)
            raise ApiUnavailable(
                f"{what}: could not connect after {_tries(attempts)} ({exc.problem}); "
                "nothing was sent",
                attempts,
            ) from None

    def _post_attempt(self, path: str, body: Mapping[str, Any], what: str, until: float) -> Any:
        started = self.clock()
        try:
            reply = self._exchange("POST", path, until=until, payload=body)
        except _Fault as fault:
            self._log(path, fault.name, started, method="POST")
            if not fault.sent:
                raise _NotSent(f"network error ({fault.name})") from None
            raise OutcomeUnknown(f"{what}: {fault.name} after the request was sent") from None
        except _TooLarge:
            self._log(path, "too large", started, method="POST")
            raise OutcomeUnknown(f"{what}: {self._too_large('POST', path)}") from None
        self._log(path, f"HTTP {reply.status}", started, method="POST")
        return self._read_post(reply, what)

    def _read_post(self, reply: Reply, what: str) -> Any:
        status = reply.status
        if status >= 500 or status == 408:
            raise OutcomeUnknown(f"{what}: HTTP {status} from the API")
        if status in (401, 403):
            raise ApiRejected(f"the API key was rejected (HTTP {status})", status)
        if status >= 300:
            raise ApiRejected(f"{what}: HTTP {status}{self._excerpt(reply)}", status)
        if not reply.body.strip():
            return None
        try:
            return self._json(reply)
        except ValueError:
            raise OutcomeUnknown(f"{what}: HTTP {status} with a body that is not JSON") from None

    # ---- internals

    def _get_run_chunk(self, chunk: Sequence[int], deadline: float | None) -> list[Any]:
        """One attempt at one chunk; raises ``_Transient`` when it is worth another."""
        ids = ",".join(str(run_id) for run_id in chunk)
        body = self._attempt(
            self.settings.runs_bulk_path(),
            {"run_ids": ids},
            "runs-bulk endpoint not found (check --api-url and --api-version)",
            deadline,
        )
        if isinstance(body, Mapping) and isinstance(body.get("results"), list):
            body = body["results"]
        if not isinstance(body, list):
            raise ApiError("runs-bulk response is not a JSON array of runs")
        return body

    def _get(
        self,
        path: str,
        params: Mapping[str, str] | None,
        *,
        not_found: str,
        deadline: float | None,
        shape: Callable[[Any], str | None] | None = None,
    ) -> Any:
        retrying = self._retrying(deadline)
        try:
            return retrying(self._attempt, path, params, not_found, deadline, shape)
        except _Transient as exc:
            attempts = retrying.statistics.get("attempt_number", 1)
            raise ApiUnavailable(
                f"GET {path} failed after {_tries(attempts)}: {exc.problem}", attempts
            ) from None

    def _retrying(
        self, deadline: float | None, retry_on: type[Exception] = _Transient
    ) -> tenacity.Retrying:
        def wait(state: tenacity.RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            return self._pause(state.attempt_number, error)

        def stop(state: tenacity.RetryCallState) -> bool:
            if state.attempt_number >= self.max_attempts or self.cancelled.is_set():
                return True
            return deadline is not None and self.clock() + state.upcoming_sleep > deadline

        return tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(retry_on),
            wait=wait,
            stop=stop,
            sleep=self.sleep,
            before_sleep=self._report_retry,
            reraise=True,
        )

    def _pause(self, attempts: int, error: BaseException | None) -> float:
        """The pause after ``attempts`` failed attempts: exponential backoff with jitter, or
        the server's ``Retry-After`` when that is longer."""
        exponent = min(attempts - 1, 32)
        pause = min(self.backoff_initial_s * 2**exponent, self.backoff_max_s)
        pause += random.uniform(0, min(BACKOFF_JITTER_S, self.backoff_initial_s))
        if isinstance(error, _Transient) and error.retry_after is not None:
            pause = max(pause, error.retry_after)
        return float(pause)

    def _throttle_pause(self, attempts: int, error: _Transient) -> float:
        """The pause of a runs-bulk chunk answered 429: ``Retry-After`` when given; else
        short at first (the smaller window, not the pause, is what relieves the server) and
        twice as long each time."""
        if error.retry_after is not None:
            return max(error.retry_after, 0.0)
        first = self.backoff_initial_s * THROTTLE_BACKOFF_SHARE
        pause = min(first * THROTTLE_BACKOFF_GROWTH ** min(attempts - 1, 32), self.backoff_max_s)
        return pause * random.uniform(1.0, 1.0 + THROTTLE_JITTER)

    def _retrying_in(self, error: _Transient, pause: float, attempts: int) -> None:
        if self.on_retry is not None and not self.cancelled.is_set():
            self.on_retry(
                f"{error.problem}; retrying in {pause:.1f}s "
                f"(attempt {attempts + 1} of {self.max_attempts})"
            )

    def _report_retry(self, state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        if (
            self.on_retry is not None
            and isinstance(error, _Transient | _NotSent)
            and not self.cancelled.is_set()
        ):
            self.on_retry(
                f"{error.problem}; retrying in {state.upcoming_sleep:.1f}s "
                f"(attempt {state.attempt_number + 1} of {self.max_attempts})"
            )

    def _attempt(
        self,
        path: str,
        params: Mapping[str, str] | None,
        not_found: str,
        deadline: float | None,
        shape: Callable[[Any], str | None] | None = None,
    ) -> Any:
        if self.cancelled.is_set():
            raise ApiError("the request was cancelled")
        started = self.clock()
        until = started + GET_BUDGET_S
        if deadline is not None:  # never past the deadline, bar a moment's grace
            until = min(until, max(deadline, started + MIN_REQUEST_TIMEOUT_S))
        try:
            reply = self._exchange("GET", path, until=until, params=params)
        except _Fault as fault:
            self._log(path, fault.name, started)
            raise _Transient(fault.problem) from None
        except _TooLarge:
            self._log(path, "too large", started)
            raise ApiError(self._too_large("GET", path)) from None
        self._log(path, f"HTTP {reply.status}", started)
        body = self._read(reply, not_found)
        problem = shape(body) if shape is not None else None
        if problem is not None:
            raise _Transient(f"HTTP {reply.status} with {problem}")
        return body

    def _too_large(self, method: str, path: str) -> str:
        # Not retried: the same request would bring the same answer.
        size = _size_text(self.max_response_bytes)
        return f"the response to {method} {path} is larger than {size} (--max-response-size)"

    # ---- the one way a request is made and its response read

    def _exchange(
        self,
        method: str,
        path: str,
        *,
        until: float,
        params: Mapping[str, str] | None = None,
        payload: Mapping[str, Any] | None = None,
    ) -> Reply:
        """Send one request; its whole response, read before ``until`` on ``clock``.

        Raises ``_Fault`` (the request may have been sent, unless ``sent`` says otherwise)
        or ``_TooLarge``. The reading happens on a daemon thread: httpx times each read of
        the socket, not the response, and reads the headers on its own, so headers that
        trickle in a byte at a time would hold the caller for hours. The caller stops
        waiting at the deadline; the thread left behind stops at its next chunk.
        """
        deadline = _Deadline(until, until - self.clock())
        outcome: list[Reply | BaseException] = []
        finished = threading.Event()

        def work() -> None:
            try:
                outcome.append(self._transfer(method, path, deadline, params, payload))
            except BaseException as exc:  # handed to the caller below
                outcome.append(exc)
            finally:
                finished.set()

        threading.Thread(target=work, name=f"cekura-gate {method}", daemon=True).start()
        try:
            done = finished.wait(max(until - self.clock(), 0.0) + BACKSTOP_S)
        finally:
            deadline.abandoned.set()  # a no-op once finished; else the thread stops soon
        if not done:
            raise deadline.expired()
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        return outcome[0]

    def _transfer(
        self,
        method: str,
        path: str,
        deadline: _Deadline,
        params: Mapping[str, str] | None,
        payload: Mapping[str, Any] | None,
    ) -> Reply:
        request = self.http.build_request(
            method,
            path,
            params=params,
            json=payload,
            headers={"Accept-Encoding": ACCEPT_ENCODING},
            timeout=self._timeout(method, deadline.until),
        )
        try:
            response = self.http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise _Fault.of(exc) from None
        try:
            if _transient_status(response.status_code):
                return Reply(response.status_code, response.headers)
            return Reply(response.status_code, response.headers, self._body(response, deadline))
        except httpx.HTTPError as exc:
            raise _Fault.of(exc) from None
        except _Corrupt as exc:
            problem = f"HTTP {response.status_code} with {exc}"
            raise _Fault(problem, problem) from None
        finally:
            response.close()

    def _timeout(self, method: str, until: float) -> httpx.Timeout:
        """The timeouts of each connect and read, cut to what is left before ``until``.

        A GET that stalls is retried after the client's read timeout; a POST may take its
        whole budget before the first byte of its answer (the API creates the runs first).
        """
        left = max(until - self.clock(), 0.001)
        read = min(self.settings.read_timeout_s, left) if method == "GET" else left
        return httpx.Timeout(read, connect=min(self.settings.connect_timeout_s, left))

    def _body(self, response: httpx.Response, deadline: _Deadline) -> bytes:
        """The decoded body, refused once it is larger than the cap (or says it will be)."""
        declared = _declared_length(response.headers)
        if declared is not None and declared > self.max_response_bytes:
            raise _TooLarge
        pieces: list[bytes] = []
        size = 0
        for piece in _decoded(self._raw(response, deadline), response.headers):
            size += len(piece)
            if size > self.max_response_bytes:
                raise _TooLarge
            pieces.append(piece)
        return b"".join(pieces)

    def _raw(self, response: httpx.Response, deadline: _Deadline) -> Iterator[bytes]:
        """The body as it arrives, timed after every chunk: each read is bounded by the
        socket timeout, the whole body by the deadline."""
        received = 0
        for chunk in response.iter_raw():
            if deadline.passed(self.clock()):
                raise deadline.expired()
            received += len(chunk)
            if received > self.max_response_bytes:
                raise _TooLarge
            if chunk:
                yield chunk

    def _log(self, path: str, outcome: str, started: float, method: str = "GET") -> None:
        if self.log is not None and not self.cancelled.is_set():
            self.log(f"{method} {path} -> {outcome} in {self.clock() - started:.2f}s")

    def _read(self, response: Reply, not_found: str) -> Any:
        status = response.status
        if _transient_status(status):
            retry_after = parse_retry_after(response.headers.get("Retry-After"), self.wall_clock())
            raise _Transient(f"HTTP {status}", retry_after, status)
        if status in (401, 403):
            raise ApiRejected(f"the API key was rejected (HTTP {status})", status)
        if status == 404:
            raise ApiRejected(f"{not_found} (HTTP 404)", status)
        if status >= 300:
            raise ApiRejected(f"unexpected HTTP {status}{self._excerpt(response)}", status)
        try:
            return self._json(response)
        except ValueError:
            raise _Transient(f"HTTP {status} with a body that is not JSON") from None

    def _json(self, reply: Reply) -> Any:
        """The body as JSON; raises ``ValueError``."""
        # Redacting the parsed values keeps a key echoed by the API out of every field
        # without ever touching the structure (redacting the text could, or break it).
        try:
            return loads_redacted(reply.text, self.settings.api_key)
        except RecursionError:  # nested deeper than the parser goes: not a Cekura result
            raise ValueError("JSON nested too deeply") from None

    def _excerpt(self, response: Reply) -> str:
        # Redact before cutting: a key straddling the cut would no longer match.
        text = " ".join(redact_forms(response.text, self.settings.api_key).split())[:200]
        return f": {text}" if text else ""


# ---- runs-bulk: how many chunks in flight, and the queue of chunks waiting

# A request's level is how many were in flight when it was sent, itself included. A server
# limiting the number in flight answers the levels up to its limit and throttles many above
# it; one throttling for other reasons throttles every level alike. So a 429 sets a ceiling
# only when its level's 429s stand out from the levels below: at least LIMIT_SHARE of that
# level's requests, and that many would come less often than SIGNIFICANCE at the share of
# 429s below. One 429 says a lot against levels never throttled and little against levels
# throttled a fifth of the time. Shares, not single answers, because the two ends disagree
# on levels: the client counts a request in flight until it has read the answer, the server
# until it has written it, so a request sent one above the server's limit is let through
# now and then (no success proves a level) and one at the limit is throttled now and then.
SIGNIFICANCE = 0.05
LIMIT_SHARE = 0.25
# With fewer than EVIDENCE answers below, there is nothing to compare with: a 429 at a level
# that has few answers too is taken for a limit (the cheap error: a smaller window for a
# while, against a request more each time), one at a level with many is not.
EVIDENCE = 8
# A ceiling is kept while its 429s would come less often than DOUBT at the share below it:
# looser than SIGNIFICANCE, so that a 429 now and then below a limit leaves it standing,
# while throttling as common below lifts it.
DOUBT = 0.2
# A level's counts are halved once it has been sent MEMORY requests: the shares follow a
# server that changes its mind.
MEMORY = 64
# Below a limit found, the window is probed at the limit again after PROBE_AFTER full-window
# successes, twice as many after each probe that stood out: a probe costs about one request,
# so a server with a fixed limit costs a few per cent of extra requests.
PROBE_AFTER = 32
# Half or more of the last RECENT answers 429 halves the window, whatever their levels (the
# server tightened its limit); throttling unrelated to the number in flight stays below it.
RECENT = 16
THROTTLED_SHARE = 0.5
INITIAL_WINDOW = RUNS_CONCURRENCY // 2  # the first answers come before more are sent


def _at_least(hits: int, tries: int, share: float) -> float:
    """The chance of ``hits`` or more in ``tries`` at ``share`` each (binomial tail)."""
    below = sum(math.comb(tries, k) * share**k * (1.0 - share) ** (tries - k) for k in range(hits))
    return max(0.0, 1.0 - below)


@dataclass
class InFlightWindow:
    """How many runs-bulk requests may be in flight (``limit``, at most ``cap``), from the
    answers of those sent, each at its level: AIMD that tells a limit on the number in
    flight from other throttling.

    It grows by one per full-window success. The first 429, and later any 429 whose level
    stands out from the levels below, sets a ceiling at its level: the window stays one
    below it and probes it rarely; 429s as common below lift it. 429s that do not stand out
    change nothing unless they are half the recent answers, which halves the window. Pure:
    the caller says what happened, at which level.
    """

    cap: int
    limit: int = INITIAL_WINDOW
    ceiling: int | None = None  # the lowest level whose 429s stood out, not since disproved
    probe_after: int = PROBE_AFTER
    slow_start: bool = True
    successes: int = 0  # full-window successes since the window last changed
    sent: Counter[int] = field(default_factory=Counter)  # per level, halved now and then
    hits: Counter[int] = field(default_factory=Counter)  # their 429s
    recent: deque[bool] = field(default_factory=lambda: deque(maxlen=RECENT))

    def __post_init__(self) -> None:
        self.limit = max(1, min(self.limit, self.cap))

    def answered(self, level: int) -> None:
        self._count(level, throttled=False)
        if level < self.limit:  # not a full window: says nothing about a larger one
            return
        self.successes += 1
        if self.successes >= self._successes_to_grow():
            self._grow()

    def throttled(self, level: int) -> None:
        self._count(level, throttled=True)
        if self.slow_start or self._stands_out(level):
            # The first 429 is taken for a limit until 429s below it say otherwise: growing
            # back to it at once would cost a request more against a server that limits.
            self._ceiling_at(level)
        else:
            if self.ceiling is not None and not self._stands_out(self.ceiling, DOUBT):
                self.ceiling, self.probe_after = None, PROBE_AFTER  # as throttled below
            if len(self.recent) == RECENT and sum(self.recent) >= THROTTLED_SHARE * RECENT:
                self._resize(self.limit // 2)
                self.recent.clear()
        self.slow_start = False

    def _ceiling_at(self, level: int) -> None:
        if self.ceiling is not None and self.limit >= self.ceiling:  # a probe stood out
            self.probe_after *= 2
        self.ceiling = level if self.ceiling is None else min(self.ceiling, level)
        self._resize(min(self.limit, level - 1))

    def _count(self, level: int, *, throttled: bool) -> None:
        self.recent.append(throttled)
        self.sent[level] += 1
        self.hits[level] += throttled
        if self.sent[level] >= MEMORY:
            self.sent[level] //= 2
            self.hits[level] //= 2

    def _stands_out(self, level: int, significance: float = SIGNIFICANCE) -> bool:
        """Whether ``level``'s 429s are too many for the share of 429s below it."""
        sent, hits = self.sent[level], self.hits[level]
        if hits < LIMIT_SHARE * sent:  # a 429 now and then is no limit
            return False
        sent_below = sum(count for at, count in self.sent.items() if at < level)
        hits_below = sum(count for at, count in self.hits.items() if at < level)
        if sent_below < EVIDENCE:  # too few answers below to compare with: while this
            return sent < EVIDENCE  # level has few too, taken for a limit (the cheap error)
        # Half a 429 more than seen (Jeffreys' prior): the share below is never taken for
        # nought, so that one 429 more stands out only against 10 or more answers without.
        share = (hits_below + 0.5) / (sent_below + 1)
        return _at_least(hits, sent, share) < significance

    def _successes_to_grow(self) -> int:
        if self.ceiling is None or self.limit + 1 < self.ceiling:
            return 1  # what would overshoot costs a request or two: a ceiling stands out
        if self.limit + 1 == self.ceiling:
            return self.probe_after
        return self.limit  # probing: a window of successes at the ceiling lifts it

    def _grow(self) -> None:
        if self.ceiling is not None and self.limit >= self.ceiling:  # a full window went
            self.ceiling, self.probe_after = None, PROBE_AFTER  # through at the probe
        self._resize(self.limit + 1)

    def _resize(self, limit: int) -> None:
        self.limit = max(1, min(limit, self.cap))
        self.successes = 0


@dataclass(order=True)
class _Chunk:
    """Run ids waiting to be asked for, not before ``not_before`` (on the client's clock)."""

    not_before: float
    index: int
    ids: Sequence[int] = field(compare=False)
    attempts: int = field(default=0, compare=False)
    throttled_s: float = field(default=0.0, compare=False)  # paused after 429s, in all


class _ChunkFetch:
    """The chunks of one ``get_runs``: sent from the calling thread as the window allows,
    each request made on a daemon thread (a signal ends the gate at once), its outcome
    handed back on a queue. A chunk that fails goes back in the queue with a not-before
    time; no thread waits for it, so the others keep the window full meanwhile.
    """

    def __init__(
        self,
        client: CekuraClient,
        chunks: list[Sequence[int]],
        cap: int,
        deadline: float | None,
    ) -> None:
        self.client = client
        self.deadline = deadline
        self.waiting = [_Chunk(-math.inf, index, ids) for index, ids in enumerate(chunks)]
        self.pages: list[list[Any]] = [[] for _ in chunks]
        self.window = InFlightWindow(cap)
        self.in_flight = 0
        self.outcomes: queue.SimpleQueue[tuple[_Chunk, int, list[Any] | BaseException]]
        self.outcomes = queue.SimpleQueue()
        self.error: BaseException | None = None

    def run(self) -> list[Any]:
        try:
            while (self.waiting or self.in_flight) and self.error is None:
                self._send_what_may_go()
                self._wait()
            while self.in_flight:  # after an error: let what is in flight end, unread
                self._settle(*self.outcomes.get())
        except BaseException:
            self.client.cancelled.set()  # a signal: the requests in flight are left behind
            raise
        if self.error is not None:
            raise self.error
        return [run for page in self.pages for run in page]

    def _send_what_may_go(self) -> None:
        now = self.client.clock()
        while (
            self.waiting
            and self.in_flight < self.window.limit
            and self.waiting[0].not_before <= now
            and not self.client.cancelled.is_set()
        ):
            chunk = heapq.heappop(self.waiting)
            self.in_flight += 1
            level = self.in_flight
            threading.Thread(target=self._fetch, args=(chunk, level), daemon=True).start()
        if self.client.cancelled.is_set() and self.error is None:
            self.error = ApiError("the request was cancelled")

    def _fetch(self, chunk: _Chunk, level: int) -> None:
        try:
            page: list[Any] | BaseException = self.client._get_run_chunk(chunk.ids, self.deadline)
        except BaseException as exc:  # handed to the calling thread
            page = exc
        self.outcomes.put((chunk, level, page))

    def _wait(self) -> None:
        """Until an answer comes, or the first chunk waiting may go."""
        if self.error is not None:
            return
        ready_in = self.waiting[0].not_before - self.client.clock() if self.waiting else None
        if not self.in_flight:
            if ready_in is not None and ready_in > 0:
                self.client.sleep(ready_in)  # nothing else to do: the client's own sleep
            return
        timeout = None  # an answer frees a place in the window, or proves nothing
        if ready_in is not None and self.in_flight < self.window.limit:
            timeout = max(ready_in, 0.0)
        try:
            outcome = self.outcomes.get(timeout=timeout)
        except queue.Empty:
            return
        self._settle(*outcome)
        while self.in_flight and not self.outcomes.empty():
            self._settle(*self.outcomes.get())

    def _settle(self, chunk: _Chunk, level: int, page: list[Any] | BaseException) -> None:
        self.in_flight -= 1
        if not isinstance(page, BaseException):
            self.window.answered(level)
            self.pages[chunk.index] = page
        elif self.error is not None:
            return
        elif isinstance(page, _Transient):
            self._again(chunk, level, page)
        else:
            self.error = page

    def _patience(self) -> float:
        """How long the 5xx schedule pauses in all before it gives up (jitter aside)."""
        client = self.client
        return sum(
            min(client.backoff_initial_s * 2.0**attempt, client.backoff_max_s)
            for attempt in range(client.max_attempts - 1)
        )

    def _again(self, chunk: _Chunk, level: int, error: _Transient) -> None:
        """Back in the queue after its pause; or, out of attempts or time, the error."""
        client = self.client
        chunk.attempts += 1
        spent = chunk.attempts >= client.max_attempts
        if error.status == 429:
            self.window.throttled(level)
            pause = client._throttle_pause(chunk.attempts, error)
            # Shorter pauses, more of them: as long in all as the 5xx schedule waits.
            spent = spent and chunk.throttled_s >= self._patience()
            chunk.throttled_s += pause
        else:
            pause = client._pause(chunk.attempts, error)
        now = client.clock()
        late = self.deadline is not None and now + pause > self.deadline
        if spent or late or client.cancelled.is_set():
            path = client.settings.runs_bulk_path()
            self.error = ApiUnavailable(
                f"GET {path} failed after {_tries(chunk.attempts)}: {error.problem}",
                chunk.attempts,
            )
            return
        client._retrying_in(error, pause, chunk.attempts)
        chunk.not_before = now + pause
        heapq.heappush(self.waiting, chunk)
