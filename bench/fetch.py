"""Runs-fetch benchmark: 5,000 runs from the fake Cekura server (real socket, 20 ms added
per request), concurrent chunks against one chunk at a time."""

from __future__ import annotations

import time
from pathlib import Path

from bench.targets import Section, Target
from gate.api.client import CekuraClient, build_http, resolve_settings
from tests.fake_cekura import FakeCekura

KEY = "bench-key-0123456789abcdef"


def timed_fetch(runs: int, latency_s: float, concurrency: int) -> tuple[float, int]:
    with FakeCekura(api_key=KEY) as fake:
        fake.add_runs([{"id": run_id, "status": "completed"} for run_id in range(1, runs + 1)])
        fake.latency_s = latency_s
        settings = resolve_settings(api_url=fake.url, api_key=KEY, key_source="bench")
        with build_http(settings) as http:
            client = CekuraClient(http, settings)
            started = time.perf_counter()
            fetched = client.get_runs(list(range(1, runs + 1)), concurrency=concurrency)
            return time.perf_counter() - started, len(fetched)


def section(folder: Path, quick: bool) -> Section:
    runs = 500 if quick else 5_000
    sequential, count = timed_fetch(runs, 0.02, concurrency=1)
    concurrent, _ = timed_fetch(runs, 0.02, concurrency=8)
    lines = [
        "## Runs fetch",
        "",
        f"{count:,} runs from the fake Cekura server on 127.0.0.1, 50 ids per request, "
        "20 ms added per request. Target: at least 5x faster concurrent.",
        "",
        "| one chunk at a time | 8 chunks at a time | speed-up |",
        "| --- | --- | --- |",
        f"| {sequential:.2f} s | {concurrent:.2f} s | {sequential / concurrent:.1f}x |",
    ]
    speed_up = sequential / concurrent
    return Section(
        lines, [Target("runs fetch, 8 chunks at a time, speed-up", speed_up, 5.0, at_least=True)]
    )
