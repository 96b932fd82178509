"""A fake Cekura API on 127.0.0.1 for end-to-end tests over a real socket.

It serves results and runs from fixture payloads, follows a scripted status
timeline (each GET of a result returns the next step; the last step repeats),
and injects faults on demand: any status code with a body and headers (5xx
bursts, 429 with ``Retry-After``, an HTML error page, 401, 404), slow responses,
truncated JSON, a JSON body that is not an object, dropped connections, connections
reset with a TCP RST, a ``Retry-After`` HTTP date computed when the fault is served, bodies
or headers that trickle in a byte at a time, chunked bodies (no ``Content-Length``), a
``Content-Length`` that lies, and compression bombs (``compressed``: a result padded to any
size, gzip or deflate, a few hundred KiB on the wire).
Runs-bulk can be throttled: ``runs_throttle_rate`` answers that fraction of its requests 429
(every n-th, so the count is exact), ``runs_max_in_flight`` answers 429 to a request that
arrives while that many are being served; both at once, before ``latency_s``, as a rate
limiter in front of the API would. ``in_flight`` / ``peak_in_flight`` count the requests
being handled (all paths, throttled ones included) and ``throttled`` the 429s sent.
Trigger POSTs can be scripted per round (``script_triggers``): each POST creates a
completed result whose runs pass, fail or fail for infrastructure per scenario, built from
what the POST asked for (scenarios × frequency × personalities), or is answered by a
``Fault`` (a dropped connection, a timeout). That is what the rerun tests use.
A timeline step may itself be a ``Fault`` (a stall or an error at a chosen poll),
and a fault with ``echo_headers`` answers with the request's own headers, API
key included, the way a misconfigured proxy might. Delays end early when the
server stops, so a stalled response never outlives its test.

Use it as a context manager::

    with FakeCekura(api_key="k") as fake:
        fake.add_result(167, [running_payload, completed_payload])
        fake.fail_next("/test_framework/v2/results/167/", Fault(status=503), times=3)
        ... run the CLI with --api-url fake.url ...
        assert fake.requests_to("/test_framework/v2/results/167/")
        assert not fake.unauthorised_requests()  # every request carried the key

Or start it by hand for a local trial (127.0.0.1 only; Ctrl-C stops it)::

    python -m tests.fake_cekura --port 8080 \
        --result examples/results/result_completed_mixed.json \
        --runs examples/results/runs_bulk.json
    CEKURA_API_KEY=test-key-0123456789 cekura-gate check --result-id 167 --api-url http://127.0.0.1:8080

It serves the result (completed, under its own ``id``) and the runs-bulk entries, prints its URL
and the command above, and expects the key ``test-key-0123456789`` unless ``--api-key`` says
otherwise.
``--port 0`` takes any free port.
"""

from __future__ import annotations

import argparse
import contextlib
import email.utils
import functools
import json
import math
import re
import signal
import socket
import struct
import sys
import threading
import time
import zlib
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

RESULT_PATH = re.compile(r"^/test_framework/v[12]/results(?:-external)?/(\d+)/$")
RUNS_BULK_PATH = re.compile(r"^/test_framework/v[12]/runs(?:-external)?/bulk/$")
TRIGGER_PATH = re.compile(
    r"^/test_framework/v[12]/scenarios(?:-external)?/(run_scenarios|run_scenarios_text)/$"
)
ACTION_PATH = re.compile(
    r"^/test_framework/v[12]/results(?:-external)?/(\d+)/"
    r"(end_calls|create_shareable_link_token)/$"
)


@dataclass
class Fault:
    """One injected misbehaviour for one request."""

    status: int = 500
    body: str | bytes = '{"detail": "injected fault"}'
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    truncate: bool = False
    drop_connection: bool = False
    content_type: str = "application/json"
    echo_headers: bool = False  # the body is the request's headers as JSON (key included)
    reset_connection: bool = False  # abort the connection with a TCP RST (ECONNRESET)
    # Send ``Retry-After`` as an HTTP date this many seconds after the moment the fault is
    # served, rounded up to a whole second (HTTP dates have none): the client must wait at
    # least this long. Computed when serving, so process start-up time does not eat into it.
    retry_after_date_in_s: float | None = None
    trickle_s: float = 0.0  # send the body one byte every this many seconds
    trickle_headers_s: float = 0.0  # the status line and headers too, a byte at a time
    chunked: bool = False  # Transfer-Encoding: chunked (64 KiB chunks), no Content-Length
    content_length: int | None = None  # declared instead of the body's true length


@dataclass
class Round:
    """What one scripted trigger's runs do, per scenario id: ``pass``, ``fail`` or ``infra``
    (never connected: listed in ``failed_infrastructure_runs``), one word per run in the
    order the runs are made (each frequency repeat, then each personality); the last word
    repeats. A scenario not named passes."""

    outcomes: dict[int, list[str]] = field(default_factory=dict)
    running_polls: int = 0  # the result is served as running this many times first

    def run(self, run_id: int, scenario: int, personality: int | None, attempt: int) -> Any:
        words = self.outcomes.get(scenario) or ["pass"]
        word = words[min(attempt, len(words) - 1)]
        infra = word == "infra"
        return {
            "id": run_id,
            "scenario": scenario,
            "scenario_name": f"Scenario {scenario}",
            "personality_name": f"Personality {personality}" if personality else "Default",
            "status": "failed" if infra else "completed",
            "success": word == "pass",
            "expected_outcome": {} if infra else {"score": 100 if word == "pass" else 0},
            "evaluation": {"metrics": []},
            "critical_categories": [],
            "error_message": "Main agent-call-not-connected" if infra else "",
            "duration": "00:00" if infra else "01:10",
        }


def _requested(body: dict[str, Any], tagged: list[int]) -> list[tuple[int, int | None, int]]:
    """(scenario, personality, attempt index in its scenario) of every run a trigger body
    asks for, as the API makes them: scenarios × frequency × personalities. Tags or a folder
    select ``tagged`` (the round's scripted scenarios)."""
    personalities = body.get("personality_ids") or [None]
    made = []
    for scenario in body.get("scenarios") or tagged:
        attempt = 0
        for _ in range(int(body.get("frequency") or 1)):
            for personality in personalities:
                made.append((int(scenario), personality, attempt))
                attempt += 1
    return made


def _scripted_result(result_id: int, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """A completed result over ``runs``, its counters agreeing with them; infrastructure
    failures listed by id as numeric strings (as real payloads may)."""
    passed = sum(1 for run in runs if run["success"])
    return {
        "id": result_id,
        "name": f"scripted result {result_id}",
        "status": "completed",
        "success_rate": 100.0 * passed / len(runs) if runs else 0.0,
        "total_runs_count": len(runs),
        "completed_runs_count": len(runs),
        "success_runs_count": passed,
        "failed_runs_count": len(runs) - passed,
        "failed_infrastructure_runs": [str(run["id"]) for run in runs if run["error_message"]],
        "runs": {str(run["id"]): run for run in runs},
        "overall_evaluation": None,
    }


BOMB_BLOCK = b" " * (1 << 20)


@functools.cache
def compressed(padding_mib: int, encoding: str = "gzip") -> bytes:
    """Result 167 (completed) padded with ``padding_mib`` MiB of spaces, as a gzip or
    deflate (zlib) body: about 1 KiB on the wire per MiB it inflates to, made in a moment.

    Each MiB of padding is compressed after a full flush, from the same state, so it is
    compressed once and repeated; the checksum is computed over what it inflates to.
    """
    head, tail = b'{"id": 167, "status": "completed", "runs": {}, "pad": "', b'"}'
    raw = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    first = raw.compress(head) + raw.flush(zlib.Z_FULL_FLUSH)
    block = raw.compress(BOMB_BLOCK) + raw.flush(zlib.Z_FULL_FLUSH)
    last = raw.compress(tail) + raw.flush()
    body = first + block * padding_mib + last
    check = zlib.crc32 if encoding == "gzip" else zlib.adler32
    total = check(head)
    for _ in range(padding_mib):
        total = check(BOMB_BLOCK, total)
    total = check(tail, total)
    if encoding == "gzip":
        size = (len(head) + len(tail) + padding_mib * len(BOMB_BLOCK)) & 0xFFFFFFFF
        return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + body + struct.pack("<II", total, size)
    return b"\x78\xda" + body + struct.pack(">I", total)


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    at: float
    raw_query: str = ""  # the query string exactly as sent, before any decoding
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class _Server(ThreadingHTTPServer):
    """A client hanging up mid-conversation (a gate killed by a signal, a timed-out read) is
    part of the tests, not an error: say nothing. Anything else still prints its traceback."""

    # The default backlog of 5 drops the SYNs of a burst of new connections (the client
    # retries them a second later), which would time the kernel rather than the client.
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionResetError | BrokenPipeError):
            return
        super().handle_error(request, client_address)


class FakeCekura:
    """The fake server; thread-safe, started and stopped by ``with``."""

    def __init__(
        self,
        api_key: str = "test-key-0123456789",
        auth_header: str = "X-CEKURA-API-KEY",
        port: int = 0,
    ) -> None:
        self.api_key = api_key
        self.auth_header = auth_header
        self.latency_s = 0.0
        self.runs_throttle_rate = 0.0  # this fraction of runs-bulk requests get a 429
        self.runs_max_in_flight: int | None = None  # 429 to a request beyond this many
        self.in_flight = 0
        self.peak_in_flight = 0
        self.throttled = 0
        self._bulk_seen = 0
        self._bulk_serving = 0
        self._lock = threading.Lock()
        self._timelines: dict[int, list[Any]] = {}
        self._served: dict[int, int] = defaultdict(int)
        self._runs: dict[int, dict[str, Any]] = {}
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._stopping = threading.Event()
        self.requests: list[Recorded] = []
        self.next_result_id = 167  # the result a trigger POST "creates"
        self.trigger_status = 201
        self._script: list[Round | Fault] | None = None
        self._triggers_served = 0
        self._next_run_id = 1001
        self._server = _Server(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            # A short poll keeps ``shutdown`` (each test's teardown) fast.
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            daemon=True,
        )

    # ---- lifecycle

    def __enter__(self) -> FakeCekura:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()  # ends pending delays: no handler outlives the test
        self._server.shutdown()
        self._server.server_close()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{host}:{port}"

    # ---- scripting

    def add_result(self, result_id: int, timeline: list[Any]) -> None:
        """Serve ``timeline[i]`` on the i-th GET of the result (the last one repeats)."""
        with self._lock:
            self._timelines[result_id] = list(timeline)
            self._served[result_id] = 0

    def script_triggers(self, rounds: Sequence[Round | Fault]) -> None:
        """The i-th trigger POST creates a result from ``rounds[i]`` (ids from
        ``next_result_id`` up, one per POST), or is answered by it if it is a ``Fault``; a
        POST beyond the script gets a 400."""
        with self._lock:
            self._script = list(rounds)
            self._triggers_served = 0

    def add_runs(self, runs: list[dict[str, Any]]) -> None:
        with self._lock:
            for run in runs:
                self._runs[int(run["id"])] = run

    def fail_next(self, path: str, fault: Fault, times: int = 1) -> None:
        """The next ``times`` requests to ``path`` get ``fault`` instead of an answer."""
        with self._lock:
            self._faults[path].extend([fault] * times)

    def requests_to(self, path: str) -> list[Recorded]:
        with self._lock:
            return [request for request in self.requests if request.path == path]

    def unauthorised_requests(self) -> list[Recorded]:
        """Requests that did not carry ``api_key`` in ``auth_header``."""
        with self._lock:
            return [
                request
                for request in self.requests
                if request.headers.get(self.auth_header.lower()) != self.api_key
            ]

    def wait_for_requests(
        self, count: int = 1, *, path: str | None = None, timeout: float = 5.0
    ) -> bool:
        """Wait until ``count`` requests (to ``path``, if given) have arrived; False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                seen = sum(1 for r in self.requests if path is None or r.path == path)
            if seen >= count:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

    def _admit(self, path: str) -> bool:
        """Count a request in; ``False`` when runs-bulk throttling answers it 429."""
        with self._lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            if not RUNS_BULK_PATH.match(path):
                return True
            self._bulk_seen += 1
            seen, rate = self._bulk_seen, self.runs_throttle_rate
            # Every n-th request: exactly ``rate`` of them, however the threads interleave.
            every_nth = math.floor(seen * rate) > math.floor((seen - 1) * rate)
            limit = self.runs_max_in_flight
            if every_nth or (limit is not None and self._bulk_serving >= limit):
                self.throttled += 1
                return False
            self._bulk_serving += 1
            return True

    def _leave(self, path: str, admitted: bool) -> None:
        with self._lock:
            self.in_flight -= 1
            if admitted and RUNS_BULK_PATH.match(path):
                self._bulk_serving -= 1

    def _pause(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    # ---- serving

    def _next_fault(self, path: str) -> Fault | None:
        with self._lock:
            queue = self._faults.get(path)
            return queue.popleft() if queue else None

    def _result_step(self, result_id: int) -> Any:
        with self._lock:
            timeline = self._timelines.get(result_id)
            if timeline is None:
                return None
            index = min(self._served[result_id], len(timeline) - 1)
            self._served[result_id] += 1
            return timeline[index]

    def _bulk(self, query: dict[str, list[str]]) -> tuple[int, Any]:
        raw = (query.get("run_ids") or [""])[0]
        if not re.fullmatch(r"\d+(,\d+)*", raw):
            return 400, {"run_ids": ["run_ids must be comma-separated integers"]}
        with self._lock:
            found = [self._runs[int(item)] for item in raw.split(",") if int(item) in self._runs]
        return 200, found

    def _scripted_trigger(self, body: bytes) -> tuple[int, Any]:
        with self._lock:
            assert self._script is not None
            index = self._triggers_served
            self._triggers_served += 1
            if index >= len(self._script):
                return 400, {"detail": "unscripted trigger"}
            step = self._script[index]
            if isinstance(step, Fault):
                return 200, step
            result_id = self.next_result_id + index
            runs = []
            asked = json.loads(body or b"{}")
            for scenario, personality, attempt in _requested(asked, sorted(step.outcomes)):
                runs.append(step.run(self._next_run_id, scenario, personality, attempt))
                self._next_run_id += 1
            payload = _scripted_result(result_id, runs)
            running = {**payload, "status": "running", "completed_runs_count": 0}
            self._timelines[result_id] = [running] * step.running_polls + [payload]
            self._served[result_id] = 0
        summary = [
            {"id": run["id"], "status": "pending", "scenario": run["scenario"]} for run in runs
        ]
        return 201, {"id": result_id, "status": "pending", "runs": summary}

    def answer(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes = b"",
    ) -> tuple[int, Any]:
        if headers.get(self.auth_header.lower()) != self.api_key:
            return 401, {"detail": "Invalid API key."}
        match = RESULT_PATH.match(path)
        if method == "GET" and match:
            # A step may be a ``Fault``; ``_handle`` serves it as one.
            step = self._result_step(int(match.group(1)))
            return (200, step) if step is not None else (404, {"detail": "Not found."})
        if method == "GET" and RUNS_BULK_PATH.match(path):
            return self._bulk(query)
        if method == "POST" and TRIGGER_PATH.match(path) and self._script is not None:
            return self._scripted_trigger(body)
        if method == "POST" and TRIGGER_PATH.match(path):
            return self.trigger_status, {"id": self.next_result_id, "status": "pending", "runs": []}
        action = ACTION_PATH.match(path)
        if method == "POST" and action and action.group(2) == "end_calls":
            return 200, {}
        if method == "POST" and action:
            link = f"https://dashboard.example/share/result/{action.group(1)}/t0ken"
            return 200, {"token": "t0ken", "shareable_link": link}
        return 404, {"detail": "Not found."}

    def posts(self) -> list[Recorded]:
        with self._lock:
            return [request for request in self.requests if request.method == "POST"]

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; with Nagle on, the body waits for the
            # client's delayed ACK (~40 ms on Linux), which would dwarf ``latency_s``.
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self._handle("POST", self.rfile.read(length) if length else b"")

            def _handle(self, method: str, body: bytes = b"") -> None:
                parts = urlsplit(self.path)
                headers = {key.lower(): value for key, value in self.headers.items()}
                query = parse_qs(parts.query)
                with fake._lock:
                    fake.requests.append(
                        Recorded(
                            method,
                            parts.path,
                            query,
                            headers,
                            time.monotonic(),
                            raw_query=parts.query,
                            body=body,
                        )
                    )
                admitted = fake._admit(parts.path)
                try:
                    self._answer(method, parts.path, query, headers, body, admitted)
                finally:
                    fake._leave(parts.path, admitted)

            def _answer(
                self,
                method: str,
                path: str,
                query: dict[str, list[str]],
                headers: dict[str, str],
                body: bytes,
                admitted: bool,
            ) -> None:
                if not admitted:
                    self._send(429, b'{"detail": "throttled"}', {}, "application/json")
                    return
                if fake.latency_s:
                    time.sleep(fake.latency_s)
                fault = fake._next_fault(path)
                if fault is not None:
                    self._send_fault(fault, headers)
                    return
                status, answer = fake.answer(method, path, query, headers, body)
                if isinstance(answer, Fault):
                    self._send_fault(answer, headers)
                    return
                self._send(status, json.dumps(answer).encode(), {}, "application/json")

            def _send_fault(self, fault: Fault, headers: dict[str, str]) -> None:
                if fault.delay_s:
                    fake._pause(fault.delay_s)
                if fault.drop_connection:
                    self.close_connection = True
                    self.connection.close()
                    return
                if fault.reset_connection:  # linger 0: close() sends RST, not FIN
                    self.close_connection = True
                    linger = struct.pack("ii", 1, 0)
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                    self.connection.close()
                    return
                body = fault.body.encode() if isinstance(fault.body, str) else fault.body
                if fault.echo_headers:
                    body = json.dumps({"detail": "bad request", "headers": headers}).encode()
                if fault.truncate:  # a complete HTTP body holding cut-off JSON
                    body = body[: max(1, len(body) // 2)]
                reply_headers = dict(fault.headers)
                if fault.retry_after_date_in_s is not None:
                    when = math.ceil(time.time() + fault.retry_after_date_in_s)
                    reply_headers["Retry-After"] = email.utils.formatdate(when, usegmt=True)
                self._send(fault.status, body, reply_headers, fault.content_type, fault)

            def _send(
                self,
                status: int,
                body: bytes,
                headers: dict[str, str],
                content_type: str,
                fault: Fault | None = None,
            ) -> None:
                fault = fault or Fault()
                length = len(body) if fault.content_length is None else fault.content_length
                framing = {"Transfer-Encoding": "chunked"} if fault.chunked else {}
                framing = framing or {"Content-Length": str(length)}
                lines = [f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}"]
                lines += [f"Content-Type: {content_type}"]
                lines += [f"{key}: {value}" for key, value in {**framing, **headers}.items()]
                head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
                if fault.chunked:
                    parts = [body[i : i + 65536] for i in range(0, len(body), 65536)]
                    body = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts)
                    body += b"0\r\n\r\n"
                try:
                    self._write(head, fault.trickle_headers_s)
                    self._write(body, fault.trickle_s)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True
                if fault.content_length is not None or fault.trickle_s or fault.trickle_headers_s:
                    self.close_connection = True  # the framing lied, or the test is ending

            def _write(self, data: bytes, every_s: float) -> None:
                """``data`` at once, or a byte every ``every_s`` until done or the server stops."""
                if not every_s:
                    self.wfile.write(data)
                    return
                for index in range(len(data)):
                    self.wfile.write(data[index : index + 1])
                    if fake._stopping.wait(every_s):
                        return

        return Handler


# --------------------------------------------------------------------------- by hand


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.fake_cekura",
        description="Serve a Cekura result (and its runs) on 127.0.0.1 until Ctrl-C.",
    )
    parser.add_argument("--port", type=int, default=8080, help="0: any free port (default 8080)")
    parser.add_argument("--result", type=Path, required=True, help="a result JSON file to serve")
    parser.add_argument("--runs", type=Path, help="a runs-bulk JSON file (a list of runs)")
    parser.add_argument(
        "--api-key",
        default="test-key-0123456789",
        help="the key expected (test-key-0123456789)",
    )
    return parser.parse_args(argv)


def _serve(args: argparse.Namespace) -> int:
    result = json.loads(args.result.read_text(encoding="utf-8"))
    result_id = int(result["id"])
    with FakeCekura(api_key=args.api_key, port=args.port) as fake:
        fake.add_result(result_id, [result])
        if args.runs is not None:
            fake.add_runs(json.loads(args.runs.read_text(encoding="utf-8")))
        print(fake.url, flush=True)  # the first line: what a script reads
        print(
            f"serving result {result_id}; try:\n  CEKURA_API_KEY={args.api_key} cekura-gate check "
            f"--result-id {result_id} --api-url {fake.url}\nCtrl-C stops it.",
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()  # until Ctrl-C or SIGTERM
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until Ctrl-C (or SIGTERM); returns the exit code."""
    # SIGTERM (a test or a process manager stopping it) ends it like Ctrl-C: cleanly.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    return _serve(_parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
