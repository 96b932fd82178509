"""Runs-fetch benchmark, against the fake Cekura server over a real socket (50 ids per
request, ``LATENCY_S`` added to every request the server lets through):

* concurrent chunks against one chunk at a time (5,000 runs);
* throttling: 5,000 and 50,000 runs, unthrottled and with 20 % of requests answered 429
  (no ``Retry-After``), side by side;
* a server that allows 4 requests in flight (429 to the 5th): the extra requests sent, with 8
  and with 16 chunks asked at a time;
* 32 chunks asked at a time: the most the server ever saw in flight, against the pool size.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from bench.targets import Section, Target
from gate.api.client import RUNS_MAX_IN_FLIGHT, CekuraClient, build_http, resolve_settings
from tests.fake_cekura import FakeCekura

KEY = "bench-key-0123456789abcdef"
LATENCY_S = 0.02
CHUNK = 50


@dataclass(frozen=True)
class Fetch:
    seconds: float
    runs: int
    requests: int
    peak_in_flight: int

    def extra(self) -> float:
        """Requests beyond one per chunk, in % of the chunks."""
        chunks = -(-self.runs // CHUNK)
        return 100.0 * (self.requests - chunks) / chunks


def timed_fetch(
    runs: int,
    concurrency: int,
    *,
    throttle_rate: float = 0.0,
    max_in_flight: int | None = None,
) -> Fetch:
    with FakeCekura(api_key=KEY) as fake:
        fake.add_runs([{"id": run_id, "status": "completed"} for run_id in range(1, runs + 1)])
        fake.latency_s = LATENCY_S
        fake.runs_throttle_rate = throttle_rate
        fake.runs_max_in_flight = max_in_flight
        settings = resolve_settings(api_url=fake.url, api_key=KEY, key_source="bench")
        with build_http(settings) as http:
            client = CekuraClient(http, settings)
            started = time.perf_counter()
            fetched = client.get_runs(list(range(1, runs + 1)), concurrency=concurrency)
            seconds = time.perf_counter() - started
        assert len(fetched) == runs, f"fetched {len(fetched)} of {runs} runs"
        return Fetch(seconds, runs, len(fake.requests), fake.peak_in_flight)


def _concurrent_rows(runs: int) -> tuple[list[str], list[Target]]:
    sequential = timed_fetch(runs, concurrency=1)
    concurrent = timed_fetch(runs, concurrency=8)
    speed_up = sequential.seconds / concurrent.seconds
    lines = [
        "| one chunk at a time | 8 chunks at a time | speed-up |",
        "| --- | --- | --- |",
        f"| {sequential.seconds:.2f} s | {concurrent.seconds:.2f} s | {speed_up:.1f}x |",
    ]
    return lines, [Target("runs fetch, 8 chunks at a time, speed-up", speed_up, 5.0, at_least=True)]


def _throttled_rows(sizes: tuple[int, ...]) -> tuple[list[str], list[Target]]:
    lines = [
        "| runs | unthrottled | 20 % answered 429 | cost | requests sent (throttled) |",
        "| --- | --- | --- | --- | --- |",
    ]
    targets = []
    for runs in sizes:
        plain = timed_fetch(runs, concurrency=8)
        throttled = timed_fetch(runs, concurrency=8, throttle_rate=0.2)
        cost = throttled.seconds / plain.seconds
        lines.append(
            f"| {runs:,} | {plain.seconds:.2f} s | {throttled.seconds:.2f} s | {cost:.1f}x "
            f"| {throttled.requests:,} |"
        )
        targets.append(Target(f"runs fetch of {runs:,}, 20 % answered 429, cost", cost, 3.0))
    return lines, targets


def _limited_rows(runs: int, quick: bool) -> tuple[list[str], list[Target]]:
    lines = [
        "| chunks at a time | requests sent | extra requests | most in flight at the server |",
        "| --- | --- | --- | --- |",
    ]
    targets = []
    for workers in (8, 16):
        limited = timed_fetch(runs, concurrency=workers, max_in_flight=4)
        lines.append(
            f"| {workers} | {limited.requests:,} | {limited.extra():.1f} % "
            f"| {limited.peak_in_flight} |"
        )
        name = f"runs fetch, server allowing 4 in flight, {workers} asked, extra requests"
        targets.append(Target(name, limited.extra(), 5.0, unit="%", quick_limit=None))
    return lines, targets


def _pool_rows(runs: int) -> tuple[list[str], list[Target]]:
    asked = timed_fetch(runs, concurrency=32)
    lines = [
        f"32 chunks asked at a time: at most {asked.peak_in_flight} in flight at the server "
        f"(the pool holds {RUNS_MAX_IN_FLIGHT} connections).",
    ]
    name = "runs fetch, 32 asked, most in flight (pool size)"
    limit = float(RUNS_MAX_IN_FLIGHT)
    return lines, [Target(name, asked.peak_in_flight, limit, unit="", quick_limit=limit)]


def section(folder: Path, quick: bool) -> Section:
    small = 500 if quick else 5_000
    sizes = (small,) if quick else (5_000, 50_000)
    lines = [
        "## Runs fetch",
        "",
        f"From the fake Cekura server on 127.0.0.1, {CHUNK} ids per request, "
        f"{LATENCY_S * 1000:.0f} ms added per request let through; throttled requests are "
        "answered at once, without `Retry-After`.",
        "",
    ]
    targets: list[Target] = []
    for rows, more in (
        _concurrent_rows(small),
        _throttled_rows(sizes),
        _limited_rows(small, quick),
        _pool_rows(small),
    ):
        lines += [*rows, ""]
        targets += more
    return Section(lines[:-1], targets)
