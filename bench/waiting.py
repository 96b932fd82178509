"""Waiting benchmark: simulated results through the real poller, in virtual time.

Each shape gives the moments the runs end; the result then evaluates for a while and
completes. The gate's poller (default ``wait`` settings) is compared with fixed 30-second
polling (Cekura's GitHub Action) and fixed 5-second polling (Cekura's CLI, ``run watch``).

* A short result (38.5 s: six runs ending over 30 s, then 8.5 s evaluating), with the gate
  and the CLI each started at 30 phases over the CLI's 5 s: a fixed poller's lag depends on
  luck, and so does an adaptive one's on a result this short.
* Five 30-minute results (60 runs), the gate started with the result; fixed polling
  averaged over 30 start phases. ``TODAY`` holds the gate's requests per shape before
  issue 16's change to the schedule (measured on main): the schedule may not spend more.
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
PHASES = 30

Payloads = Callable[[float], dict[str, Any]]


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

# The gate's requests per 30-minute shape on main before the change (default settings,
# mean over the 30 start phases; started with the result: 38, 34, 58, 38 and 54).
TODAY: dict[str, float] = {
    "steady": 38.7,
    "slow start, then a burst": 37.8,
    "3-minute evaluating tail": 57.3,
    "stalled 10 minutes midway": 35.4,
    "last run stalls 10 minutes": 51.6,
}

# The short result of issue 16: calls end one every 5 s over the first 30 s, then the
# result evaluates them for 8.5 s.
SHORT_FINISH = 38.5
SHORT_RUNS = spread(6, 0, 30.0)
CLI_EVERY = 5.0


def timeline(run_ends: list[float], finish: float = FINISH) -> Payloads:
    last_run, total = max(run_ends), len(run_ends)

    def payload_at(t: float) -> dict[str, Any]:
        done = sum(1 for end in run_ends if end <= t)
        if t >= finish:
            status = "completed"
        elif t >= last_run:
            status = "evaluating"
        else:
            status = "running" if done else "pending"
        return {"status": status, "completed_runs_count": done, "total_runs_count": total}

    return payload_at


@dataclass
class Outcome:
    requests: float
    lag_s: float


def mean(outcomes: list[Outcome]) -> Outcome:
    return Outcome(
        statistics.mean(o.requests for o in outcomes), statistics.mean(o.lag_s for o in outcomes)
    )


def adaptive(payload_at: Payloads, finish: float = FINISH, start: float = 0.0) -> Outcome:
    """The real poller, started ``start`` seconds after the result, on a virtual clock."""
    now = [start]
    requests = [0]

    def fetch(deadline: float) -> dict[str, Any]:
        requests[0] += 1
        return payload_at(now[0])

    def sleep(seconds: float) -> None:
        now[0] += seconds

    wait_for_result(
        fetch, settings=WaitSettings(), clock=lambda: now[0], sleep=sleep, emit=lambda line: None
    )
    return Outcome(requests[0], now[0] - finish)


def fixed_from(payload_at: Payloads, every: float, start: float, finish: float) -> Outcome:
    t, requests = start, 1
    while payload_at(t)["status"] != "completed":
        t += every
        requests += 1
    return Outcome(requests, t - finish)


def fixed(payload_at: Payloads, every: float, finish: float = FINISH) -> Outcome:
    """Fixed polling averaged over start phases (a fixed poller's lag depends on luck)."""
    starts = [every * phase / PHASES for phase in range(PHASES)]
    return mean([fixed_from(payload_at, every, start, finish) for start in starts])


def short_result() -> tuple[Outcome, Outcome]:
    """(gate, CLI) on the 38.5 s result, each averaged over the same start phases."""
    payload_at = timeline(SHORT_RUNS, SHORT_FINISH)
    starts = [CLI_EVERY * phase / PHASES for phase in range(PHASES)]
    gate = mean([adaptive(payload_at, SHORT_FINISH, start) for start in starts])
    return gate, fixed(payload_at, CLI_EVERY, SHORT_FINISH)


def rows() -> list[dict[str, Any]]:
    table = []
    for name, run_ends in SHAPES.items():
        payload_at = timeline(run_ends)
        starts = [30.0 * phase / PHASES for phase in range(PHASES)]
        gate = mean([adaptive(payload_at, FINISH, start) for start in starts])
        every30, every5 = fixed(payload_at, 30), fixed(payload_at, 5)
        table.append({"shape": name, "gate": gate, "fixed30": every30, "fixed5": every5})
    return table


def _fmt(outcome: Outcome) -> str:
    requests = (
        f"{outcome.requests:.0f}"
        if outcome.requests == int(outcome.requests)
        else (f"{outcome.requests:.1f}")
    )
    return f"{requests} req, {outcome.lag_s:.1f} s"


def section(folder: Path, quick: bool) -> Section:
    """Virtual time is deterministic and fast: the quick run measures exactly the full one."""
    table = rows()
    gate, cli = short_result()
    lines = [
        "## Waiting",
        "",
        "Simulated results in virtual time through the real poller (default `wait` "
        "settings), against fixed polling averaged over 30 start phases. Cells: requests "
        "sent, lag between the result finishing and the verdict.",
        "",
        f"A {SHORT_FINISH} s result (6 runs ending over 30 s, then evaluating), gate and "
        f"CLI both averaged over {PHASES} start phases: cekura-gate {_fmt(gate)}; "
        f"fixed 5 s (Cekura's CLI) {_fmt(cli)}.",
        "",
        "| 30-minute shape (60 runs) | cekura-gate | before (requests) | "
        "fixed 30 s (Cekura's Action) | fixed 5 s (Cekura's CLI) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in table:
        lines.append(
            f"| {row['shape']} | {_fmt(row['gate'])} | {TODAY[row['shape']]} | "
            f"{_fmt(row['fixed30'])} | {_fmt(row['fixed5'])} |"
        )
    lags = [row["gate"].lag_s for row in table]
    fewer = all(row["gate"].requests < row["fixed30"].requests for row in table)
    extra = max(row["gate"].requests - TODAY[row["shape"]] for row in table)
    lines += [
        "",
        f"Median lag {statistics.median(lags):.1f} s, worst {max(lags):.1f} s; "
        f"fewer requests than fixed 30 s in every shape: {'yes' if fewer else 'no'}.",
    ]
    targets = [
        _target(
            "waiting, 38.5 s result, requests (fewer than the CLI's)",
            gate.requests,
            cli.requests,
            "req",
            strict=True,
        ),
        _target("waiting, 38.5 s result, lag", gate.lag_s, 1.5, "s"),
        _target("waiting, 30-minute shapes, requests over before (worst shape)", extra, 0.0, "req"),
        _target("waiting, 30-minute shapes, worst lag", max(lags), 5.0, "s"),
        _target("waiting, 30-minute shapes, median lag", statistics.median(lags), 2.5, "s"),
    ]
    return Section(lines, targets)


def _target(name: str, measured: float, limit: float, unit: str, strict: bool = False) -> Target:
    return Target(name, measured, limit, unit, strict=strict, quick_limit=limit)
