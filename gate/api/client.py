"""HTTP access to the Cekura API: the only module that speaks HTTP.

``ApiSettings`` resolves where to talk and how to authenticate, and checks all of it
before the first request: the key (``gate.errors.api_key_problem``), the auth header's
name, the URL, the proxy (``gate.api.proxy``) and that the key never leaves this machine
over plain HTTP, directly or through a proxy. ``CekuraClient`` makes
idempotent GETs with one retry policy, declared once in ``_retrying``:
network errors, timeouts, 408, 429, 5xx and non-JSON bodies are retried with
exponential backoff and jitter, honouring ``Retry-After``; 401/403/404 and other
4xx fail at once. Nothing here retries a POST. The API key never leaks: every JSON body is
redacted value by value once parsed (``loads_redacted``), and every message that could carry
server text is redacted as text (``redact_forms``).
"""

from __future__ import annotations

import email.utils
import functools
import ipaddress
import math
import random
import re
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import SplitResult, urlsplit

import httpx
import tenacity

from gate import __version__
from gate.api.proxy import Proxy, proxy_for
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
USER_AGENT = f"cekura-gate/{__version__} (+https://github.com/cekura-gate/cekura-gate)"

MAX_ATTEMPTS = 7
BACKOFF_INITIAL_S = 1.0
BACKOFF_MAX_S = 30.0
BACKOFF_JITTER_S = 1.0
MAX_RETRY_AFTER_S = 300.0
MIN_REQUEST_TIMEOUT_S = 1.0
# Creating many runs can take a while; a trigger that times out is a run of unknown fate.
TRIGGER_READ_TIMEOUT_S = 120.0
END_CALLS_READ_TIMEOUT_S = 15.0
RUNS_CHUNK = 50
RUNS_CONCURRENCY = 8


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


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


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
        if not base.isprintable() or any(char.isspace() for char in base):
            raise ValueError("spaces or control characters")
        parts = urlsplit(base)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a port
        httpx.URL(base)
    except (ValueError, httpx.InvalidURL):
        raise UsageError(f"API URL {_shown(base)!r} is not a usable URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"API URL {_shown(base)!r} is not an http(s) URL")
    return parts


def _shown(url: str) -> str:
    """``url`` without any ``user:password@``."""
    return re.sub(r"(?<=://)[^/@]*@", "", url)


def _refuse_plain_http(parts: SplitResult, proxy: Proxy | None) -> None:
    """Plain HTTP only when the connection itself stays on this machine: to a loopback API,
    directly or through a loopback proxy."""
    host = parts.hostname or ""
    if not _is_loopback(host):
        raise UsageError(
            f"refusing to send the API key over plain http to {host}; use https "
            "(or --allow-insecure-http if you really mean it)"
        )
    if proxy is not None and not _is_loopback(proxy.host):
        raise UsageError(
            f"refusing to send the API key over plain http through the proxy {proxy.host} "
            f"(from {proxy.variable}); use https, add {host} to NO_PROXY, or "
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
    if auth_header is not None and auth_header_problem(auth_header) is not None:
        raise UsageError(f"--auth-header {auth_header!r}: {auth_header_problem(auth_header)}")
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
    """A failure worth retrying; ``retry_after`` is the server's requested pause."""

    def __init__(self, problem: str, retry_after: float | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.retry_after = retry_after


@functools.cache
def _tls_context(ca_file: str | None, ca_dir: str | None) -> ssl.SSLContext:
    """The certificates to trust: ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` as httpx would read
    them, else certifi's bundle. Built once per process (loading a bundle costs ~40 ms)."""
    if ca_file or ca_dir:
        variable = "SSL_CERT_FILE" if ca_file else "SSL_CERT_DIR"
        try:
            return ssl.create_default_context(cafile=ca_file, capath=None if ca_file else ca_dir)
        except (OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise UsageError(
                f"{variable}: cannot load the certificates it names ({reason})"
            ) from None
    return httpx.create_ssl_context(trust_env=False)


def build_http(settings: ApiSettings, transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """The one ``httpx.Client``: base URL, auth header, explicit timeouts, no redirects.

    ``trust_env`` is off: the proxy and the certificates are the ones ``resolve_settings``
    decided on, so that where the key goes is known before the first request.
    """
    if transport is None:
        transport = httpx.HTTPTransport(
            verify=_tls_context(settings.ca_file, settings.ca_dir),
            proxy=settings.proxy.url if settings.proxy is not None else None,
            limits=httpx.Limits(max_connections=RUNS_CONCURRENCY * 2),
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

    ``sleep`` and ``clock`` are injectable so tests never wait; ``wall_clock``
    turns an HTTP-date ``Retry-After`` into seconds.
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
        """Run details from runs-bulk, in chunks fetched ``concurrency`` at a time."""
        chunks = [run_ids[i : i + chunk_size] for i in range(0, len(run_ids), chunk_size)]
        if not chunks:
            return []

        def fetch(chunk: Sequence[int]) -> list[Any]:
            return self._get_run_chunk(chunk, deadline)

        if concurrency <= 1 or len(chunks) == 1:
            pages = [fetch(chunk) for chunk in chunks]
        else:
            pages = self._map_concurrently(fetch, chunks, min(concurrency, len(chunks)))
        return [run for page in pages for run in page]

    def _map_concurrently(
        self, fetch: Callable[[Sequence[int]], list[Any]], chunks: list[Sequence[int]], workers: int
    ) -> list[list[Any]]:
        """``fetch`` over ``chunks`` on daemon threads, results in order.

        Daemon threads (not a ThreadPoolExecutor, whose workers are joined at exit) so
        that a signal ends the gate at once; ``cancelled`` stops the workers' retries.
        """
        pages: list[list[Any] | None] = [None] * len(chunks)
        pending = deque(enumerate(chunks))
        errors: list[BaseException] = []

        def work() -> None:
            while not self.cancelled.is_set():
                try:
                    index, chunk = pending.popleft()
                except IndexError:
                    return
                try:
                    pages[index] = fetch(chunk)
                except BaseException as exc:  # handed to the calling thread below
                    errors.append(exc)
                    self.cancelled.set()

        threads = [threading.Thread(target=work, daemon=True) for _ in range(workers)]
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            if errors or any(thread.is_alive() for thread in threads):
                self.cancelled.set()
        if errors:
            raise errors[0]
        return [page if page is not None else [] for page in pages]

    def start_run(self, path: str, body: Mapping[str, Any]) -> int:
        """POST the trigger; the new result's id (top-level ``id`` of the response)."""
        answer = self.post_once(
            self.settings.trigger_path(path),
            body,
            what="starting the run",
            read_timeout_s=TRIGGER_READ_TIMEOUT_S,
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
            read_timeout_s=END_CALLS_READ_TIMEOUT_S,
        )

    def create_share_link(self, result_id: int, expire_at: str) -> str:
        """A public link to the result (it exposes transcripts to anyone holding it)."""
        path = self.settings.result_action_path(result_id, "create_shareable_link_token")
        answer = self.post_once(path, {"expire_at": expire_at}, what="creating a share link")
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
        read_timeout_s: float | None = None,
    ) -> Any:
        """POST ``body``; retried only when it provably never left this machine.

        A connection that could not be made (refused, DNS, connect timeout) is retried
        with backoff. Any failure after the request may have reached the server (a read
        timeout, a dropped connection, a 5xx) raises ``OutcomeUnknown`` at once: every
        Cekura run is billed, so a second POST could start a second, paid run.
        """
        retrying = self._retrying(None, retry_on=_NotSent)
        try:
            return retrying(self._post_attempt, path, body, what, read_timeout_s)
        except _NotSent as exc:
            attempts = retrying.statistics.get("attempt_number", 1)
            raise ApiUnavailable(
                f"{what}: could not connect after {_tries(attempts)} ({exc.problem}); "
                "nothing was sent",
                attempts,
            ) from None

    def _post_attempt(
        self, path: str, body: Mapping[str, Any], what: str, read_timeout_s: float | None
    ) -> Any:
        started = self.clock()
        timeout = httpx.Timeout(
            read_timeout_s or self.settings.read_timeout_s, connect=self.settings.connect_timeout_s
        )
        try:
            response = self.http.post(path, json=body, timeout=timeout)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            self._log(path, type(exc).__name__, started, method="POST")
            raise _NotSent(f"network error ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            self._log(path, type(exc).__name__, started, method="POST")
            problem = f"{what}: {type(exc).__name__} after the request was sent"
            raise OutcomeUnknown(problem) from None
        self._log(path, f"HTTP {response.status_code}", started, method="POST")
        return self._read_post(response, what)

    def _read_post(self, response: httpx.Response, what: str) -> Any:
        status = response.status_code
        if status >= 500 or status == 408:
            raise OutcomeUnknown(f"{what}: HTTP {status} from the API")
        if status in (401, 403):
            raise ApiRejected(f"the API key was rejected (HTTP {status})", status)
        if status >= 300:
            raise ApiRejected(f"{what}: HTTP {status}{self._excerpt(response)}", status)
        if not response.content.strip():
            return None
        try:
            return loads_redacted(response.text, self.settings.api_key)
        except ValueError:
            raise OutcomeUnknown(f"{what}: HTTP {status} with a body that is not JSON") from None

    # ---- internals

    def _get_run_chunk(self, chunk: Sequence[int], deadline: float | None) -> list[Any]:
        ids = ",".join(str(run_id) for run_id in chunk)
        body = self._get(
            self.settings.runs_bulk_path(),
            {"run_ids": ids},
            not_found="runs-bulk endpoint not found (check --api-url and --api-version)",
            deadline=deadline,
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
            exponent = min(state.attempt_number - 1, 32)
            pause = min(self.backoff_initial_s * 2**exponent, self.backoff_max_s)
            pause += random.uniform(0, min(BACKOFF_JITTER_S, self.backoff_initial_s))
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, _Transient) and error.retry_after is not None:
                pause = max(pause, error.retry_after)
            return float(pause)

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
        try:
            response = self.http.get(path, params=params, timeout=self._timeout(deadline))
        except httpx.TimeoutException:
            self._log(path, "timed out", started)
            raise _Transient("the request timed out") from None
        except httpx.TransportError as exc:
            self._log(path, type(exc).__name__, started)
            raise _Transient(f"network error ({type(exc).__name__})") from None
        self._log(path, f"HTTP {response.status_code}", started)
        body = self._read(response, not_found)
        problem = shape(body) if shape is not None else None
        if problem is not None:
            raise _Transient(f"HTTP {response.status_code} with {problem}")
        return body

    def _timeout(self, deadline: float | None) -> httpx.Timeout:
        """The client's timeouts, cut to what is left before the deadline (at least 1 s)."""
        read, connect = self.settings.read_timeout_s, self.settings.connect_timeout_s
        if deadline is not None:
            left = max(deadline - self.clock(), MIN_REQUEST_TIMEOUT_S)
            read, connect = min(read, left), min(connect, left)
        return httpx.Timeout(read, connect=connect)

    def _log(self, path: str, outcome: str, started: float, method: str = "GET") -> None:
        if self.log is not None and not self.cancelled.is_set():
            self.log(f"{method} {path} -> {outcome} in {self.clock() - started:.2f}s")

    def _read(self, response: httpx.Response, not_found: str) -> Any:
        status = response.status_code
        if status == 408 or status == 429 or status >= 500:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), self.wall_clock())
            raise _Transient(f"HTTP {status}", retry_after)
        if status in (401, 403):
            raise ApiRejected(f"the API key was rejected (HTTP {status})", status)
        if status == 404:
            raise ApiRejected(f"{not_found} (HTTP 404)", status)
        if status >= 300:
            raise ApiRejected(f"unexpected HTTP {status}{self._excerpt(response)}", status)
        try:
            # Redacting the parsed values keeps a key echoed by the API out of every field
            # without ever touching the structure (redacting the text could, or break it).
            return loads_redacted(response.text, self.settings.api_key)
        except ValueError:
            raise _Transient(f"HTTP {status} with a body that is not JSON") from None

    def _excerpt(self, response: httpx.Response) -> str:
        # Redact before cutting: a key straddling the cut would no longer match.
        text = " ".join(redact_forms(response.text, self.settings.api_key).split())[:200]
        return f": {text}" if text else ""
