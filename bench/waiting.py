"""Waiting benchmark: simulated 30-minute results through the real poller, in virtual time.

Each shape gives the moments the runs end; the result then evaluates for a while and
completes. The gate's poller is compared with fixed 30-second polling (Cekura's GitHub
Action) and fixed 5-second polling (Cekura's CLI), each started at 30 different phases.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.targets import Section, Target
from gate.api.poller import wait_for_result
from gate.policy.model import WaitSettings

MINUTE = 60.0
FINISH = 30 * MINUTE
RUNS = 60


def spread(count: int, start: float, end: float) -> list[float]:
    step = (end - start) / count
    return [start + step * (index + 1) for index in range(count)]


SHAPES: dict[str, list[float]] = {
    "steady": spread(RUNS, 0, 29.5 * MINUTE),
    "slow start, then a burst": spread(5, 0, 20 * MINUTE) + spread(55, 20 * MINUTE, 29.5 * MINUTE),
    "3-minute evaluating tail": spread(RUNS, 0, 27 * MINUTE),
    "stalled 10 minutes midway": spread(40, 0, 15 * MINUTE)
    + spread(20, 25 * MINUTE, 29.5 * MINUTE),
    "last run stalls 10 minutes": [*spread(59, 0, 19.5 * MINUTE), 29.5 * MINUTE],
}


def timeline(run_ends: list[float]) -> Callable[[float], dict[str, Any]]:
    last_run = max(run_ends)

    def payload_at(t: float) -> dict[str, Any]:
        done = sum(1 for end in run_ends if end <= t)
        if t >= FINISH:
            status = "completed"
        elif t >= last_run:
            status = "evaluating"
        else:
            status = "running" if done else "pending"
        return {"status": status, "completed_runs_count": done, "total_runs_count": RUNS}

    return payload_at


@dataclass
class Outcome:
    requests: float
    lag_s: float


def adaptive(payload_at: Callable[[float], dict[str, Any]]) -> Outcome:
    now = [0.0]
    requests = [0]

    def fetch(deadline: float) -> dict[str, Any]:
        requests[0] += 1
        return payload_at(now[0])

    def sleep(seconds: float) -> None:
        now[0] += seconds

    wait_for_result(
        fetch, settings=WaitSettings(), clock=lambda: now[0], sleep=sleep, emit=lambda line: None
    )
    return Outcome(requests[0], now[0] - FINISH)


def fixed(payload_at: Callable[[float], dict[str, Any]], every: float) -> Outcome:
    """Fixed polling averaged over 30 start phases (a fixed poller's lag depends on luck)."""
    outcomes = []
    for phase in range(30):
        t, requests = every * phase / 30, 1
        while payload_at(t)["status"] != "completed":
            t += every
            requests += 1
        outcomes.append(Outcome(requests, t - FINISH))
    return Outcome(
        statistics.mean(o.requests for o in outcomes), statistics.mean(o.lag_s for o in outcomes)
    )


def rows() -> list[dict[str, Any]]:
    table = []
    for name, run_ends in SHAPES.items():
        payload_at = timeline(run_ends)
        gate, every30, every5 = adaptive(payload_at), fixed(payload_at, 30), fixed(payload_at, 5)
        table.append({"shape": name, "gate": gate, "fixed30": every30, "fixed5": every5})
    return table


def _fmt_outcome(outcome: Outcome) -> str:
    return f"{outcome.requests:.0f} req, {outcome.lag_s:.1f} s"


def section(folder: Path, quick: bool) -> Section:
    table = rows()
    lines = [
        "## Waiting",
        "",
        "A 30-minute result (60 runs) in virtual time through the real poller (default "
        "`wait` settings), against fixed polling averaged over 30 start phases. Cells: "
        "requests sent, lag between the result finishing and the verdict. Target: fewer "
        "requests than fixed 30 s, median lag under 5 s.",
        "",
        "| progress shape | cekura-gate | fixed 30 s (Cekura's Action) | "
        "fixed 5 s (Cekura's CLI) |",
        "| --- | --- | --- | --- |",
    ]
    for row in table:
        lines.append(
            f"| {row['shape']} | {_fmt_outcome(row['gate'])} | "
            f"{_fmt_outcome(row['fixed30'])} | {_fmt_outcome(row['fixed5'])} |"
        )
    lags = [row["gate"].lag_s for row in table]
    fewer = all(row["gate"].requests < row["fixed30"].requests for row in table)
    lines += [
        "",
        f"Median lag {statistics.median(lags):.1f} s; fewer requests than fixed 30 s "
        f"in every shape: {'yes' if fewer else 'no'}.",
    ]
    targets = [Target("waiting, 30-minute shapes, median lag", statistics.median(lags), 5.0, "s")]
    return Section(lines, targets)
