"""Unit tests of the poller (gate/api/poller.py) and of live mode's detail fetching
(gate/api/live.py), on a fake clock whose ``sleep`` only moves time forward: terminal and
non-terminal statuses, the deadline, the progress-aware schedule on simulated
30-minute results (compared with fixed 30-second polling), and progress lines."""

from __future__ import annotations

import bisect
import copy
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from gate.api.live import fetch_finished_result
from gate.api.poller import snapshot, wait_for_result
from gate.errors import ApiError, ApiUnavailable, ResultError, WaitTimeout
from gate.policy.model import WaitSettings
from tests.conftest import make_result, make_run, policy_from
from tests.e2e.harness import FakeClock

MINUTE = 60.0


@dataclass
class Poll:
    """A fake result endpoint: ``payload_at(t)`` answers a poll at fake time ``t``."""

    payload_at: Callable[[float], dict[str, Any]]
    clock: FakeClock = field(default_factory=lambda: FakeClock(now=0.0))
    latency: float = 0.0
    times: list[float] = field(default_factory=list)
    deadlines: list[float] = field(default_factory=list)
    lines: list[tuple[float, str]] = field(default_factory=list)

    def fetch(self, deadline: float) -> dict[str, Any]:
        self.times.append(self.clock.now)
        self.deadlines.append(deadline)
        payload = self.payload_at(self.clock.now)
        self.clock.now += self.latency
        return payload

    def emit(self, line: str) -> None:
        self.lines.append((self.clock.now, line))

    def wait(self, settings: WaitSettings) -> Any:
        return wait_for_result(
            self.fetch, settings=settings, clock=self.clock, sleep=self.clock.sleep, emit=self.emit
        )


def sequence(*statuses: str, **fields: Any) -> Callable[[float], dict[str, Any]]:
    """Answers the given statuses one poll after another; the last one repeats."""
    answers = [
        {"id": 500, "status": status, "poll": n, **fields} for n, status in enumerate(statuses)
    ]
    served: list[int] = []

    def payload_at(_: float) -> dict[str, Any]:
        served.append(1)
        return answers[min(len(served), len(answers)) - 1]

    return payload_at


FAST = WaitSettings(timeout_s=600.0, poll_interval_s=5.0, max_poll_interval_s=5.0)


# --------------------------------------------------------------------------- statuses


@pytest.mark.parametrize("terminal", ["completed", "failed", "timeout", "cancelled", "Canceled"])
def test_returns_the_first_terminal_payload(terminal: str) -> None:
    poll = Poll(sequence("running", terminal, "completed"))
    payload = poll.wait(FAST)
    assert payload["status"] == terminal
    assert payload["poll"] == 1
    assert len(poll.times) == 2


@pytest.mark.parametrize(
    "waiting", ["pending", "running", "in_progress", "evaluating", "in_queue", "scaling_up"]
)
def test_keeps_polling_while_not_finished(waiting: str) -> None:
    poll = Poll(sequence(waiting, waiting, waiting, "completed"))
    assert poll.wait(FAST)["poll"] == 3
    assert len(poll.times) == 4
    assert len(poll.clock.sleeps) == 3


def test_unknown_status_is_waited_on_and_reported_once() -> None:
    poll = Poll(sequence(*["paused"] * 6, "archiving", "archiving", "completed"))
    assert poll.wait(FAST)["status"] == "completed"
    warnings = [line for _, line in poll.lines if "unknown status" in line]
    assert len(warnings) == 2
    assert "'paused'" in warnings[0]
    assert "'archiving'" in warnings[1]


@pytest.mark.parametrize("payload", [None, [], "completed", {"id": 1}])
def test_snapshot_rejects_what_is_not_a_result(payload: object) -> None:
    with pytest.raises(ResultError, match="not a Cekura result"):
        snapshot(payload, 0.0)


# --------------------------------------------------------------------------- deadline


@pytest.mark.parametrize(
    ("timeout", "status", "latency"),
    [
        (120.0, "running", 0.0),
        (125.5, "evaluating", 0.0),
        (601.0, "scaling_up", 0.7),
        (3.0, "?", 0.0),
    ],
)
def test_timeout_reports_the_last_status(timeout: float, status: str, latency: float) -> None:
    poll = Poll(sequence(status), latency=latency)
    settings = WaitSettings(timeout_s=timeout, poll_interval_s=10.0, max_poll_interval_s=60.0)
    with pytest.raises(WaitTimeout) as caught:
        poll.wait(settings)
    assert caught.value.last_status == status
    assert f"'{status}'" in str(caught.value)
    assert sum(poll.clock.sleeps) <= timeout
    assert poll.times[-1] == pytest.approx(timeout)  # one last look at the deadline
    assert set(poll.deadlines) == {timeout}


class TickingClock(FakeClock):
    """A clock that, like a real one, has moved on a little every time it is read."""

    def __init__(self, tick: float) -> None:
        super().__init__(now=0.0)
        self.tick = tick

    def __call__(self) -> float:
        reading = self.now
        self.now += self.tick
        return reading


@pytest.mark.parametrize("ticks_left", [0.1, 0.5, 0.9, 2.0, 4.0])
def test_a_look_that_ends_just_before_the_deadline_gets_one_last_look(ticks_left: float) -> None:
    """The pause and the stop are decided on one reading of the clock: a look that ends a
    moment before the deadline is followed by the last look that its pause was for."""
    tick, timeout = 0.001, 10.0
    # The clock is read twice before the pause is chosen (the start, the look's time), so
    # the pause is chosen ``ticks_left`` ticks before the deadline.
    latency = timeout - (2 + ticks_left) * tick
    clock = TickingClock(tick)
    poll = Poll(sequence("running"), clock=clock, latency=latency)
    with pytest.raises(WaitTimeout):
        poll.wait(WaitSettings(timeout_s=timeout, poll_interval_s=60.0, max_poll_interval_s=60.0))
    assert len(poll.times) == 2
    assert poll.times[-1] >= timeout


def outage_from(start: float, clock: FakeClock, *, runs_into: float | None = None) -> Any:
    """Answers 'running' until ``start``, then the API is down (the client's retries use up
    the time until ``runs_into`` when given)."""

    def payload_at(t: float) -> dict[str, Any]:
        if t < start:
            return {"status": "running"}
        if runs_into is not None:
            clock.now = max(clock.now, runs_into)
        raise ApiUnavailable("GET /results/500/ failed after 3 attempts: HTTP 503", 3)

    return payload_at


@pytest.mark.parametrize("start", [0.0, 30.0])
def test_an_outage_before_the_deadline_is_an_outage(start: float) -> None:
    clock = FakeClock(now=0.0)
    poll = Poll(outage_from(start, clock), clock=clock)
    with pytest.raises(ApiUnavailable, match="HTTP 503"):
        poll.wait(FAST)
    assert clock.now < FAST.timeout_s


def test_an_outage_that_runs_into_the_deadline_is_a_timeout() -> None:
    clock = FakeClock(now=0.0)
    poll = Poll(outage_from(500.0, clock, runs_into=FAST.timeout_s), clock=clock)
    with pytest.raises(WaitTimeout) as caught:
        poll.wait(FAST)
    assert caught.value.last_status == "running"
    assert "not finished after 10m00s (last status 'running')" in str(caught.value)


def test_an_outage_on_the_first_look_is_an_outage_even_at_the_deadline() -> None:
    clock = FakeClock(now=0.0)
    poll = Poll(outage_from(0.0, clock, runs_into=FAST.timeout_s), clock=clock)
    with pytest.raises(ApiUnavailable):
        poll.wait(FAST)


def test_a_payload_that_is_not_a_result_mid_wait_stops_the_wait() -> None:
    answers = iter([{"status": "running"}, {"detail": "Not found."}])
    poll = Poll(lambda t: next(answers))
    with pytest.raises(ResultError, match="not a Cekura result"):
        poll.wait(FAST)
    assert len(poll.times) == 2


# --------------------------------------------------------------------------- schedule


@pytest.mark.parametrize(
    ("interval", "cap"), [(10.0, 60.0), (5.0, 120.0), (30.0, 30.0), (1.0, 7.0)]
)
def test_pauses_without_progress_grow_to_the_cap(interval: float, cap: float) -> None:
    poll = Poll(sequence("running"))
    settings = WaitSettings(timeout_s=3600.0, poll_interval_s=interval, max_poll_interval_s=cap)
    with pytest.raises(WaitTimeout):
        poll.wait(settings)
    pauses = poll.clock.sleeps[:-1]  # the last pause is cut short by the deadline
    assert pauses[0] == interval
    assert all(later >= earlier for earlier, later in itertools.pairwise(pauses))
    assert max(pauses) == cap
    assert pauses[-1] == cap


def evaluating_until(end: float) -> Callable[[float], dict[str, Any]]:
    """60 runs ending steadily until 600 s, then the result evaluating until ``end``."""

    def payload_at(t: float) -> dict[str, Any]:
        done = min(60, int(t / 10))
        status = "completed" if t >= end else ("evaluating" if done == 60 else "running")
        return {"status": status, "completed_runs_count": done, "total_runs_count": 60}

    return payload_at


def test_polls_every_few_seconds_once_all_runs_are_done() -> None:
    payload_at = evaluating_until(750)  # evaluating for 150 s
    poll = Poll(payload_at)
    poll.wait(WaitSettings())
    tail = [t for t in poll.times if payload_at(t)["status"] == "evaluating"]
    assert len(tail) >= 10
    gaps = [later - earlier for earlier, later in itertools.pairwise([*tail, poll.times[-1]])]
    first_minute = [gap for start, gap in zip(tail, gaps, strict=False) if start < tail[0] + 60]
    assert max(first_minute) <= 5.0  # every 2-5 s while evaluating
    assert gaps[0] == 2.0


def test_polls_at_most_5_s_apart_for_three_minutes_of_evaluating_then_eases_off() -> None:
    payload_at = evaluating_until(900)  # evaluating for five minutes
    poll = Poll(payload_at)
    poll.wait(WaitSettings())
    tail = [t for t in poll.times if payload_at(t)["status"] == "evaluating"]
    gaps = list(itertools.pairwise(tail))
    assert all(later - earlier <= 5.0 for earlier, later in gaps if later <= tail[0] + 180)
    assert max(later - earlier for earlier, later in gaps) > 5.0  # eased off after 3 minutes


@pytest.mark.parametrize(
    ("run_ends", "expected"),
    [
        # A slow start (a run every 4 min), then a run every 10 s from 20 min: the poll
        # after the burst is seen is aimed at the burst's end, not the whole result's pace.
        ([*range(240, 1201, 240), *range(1210, 1751, 10)], 1750.0),
        # The same after a 10-minute stall midway.
        ([*range(20, 601, 20), *range(1200, 1501, 10)], 1500.0),
    ],
)
def test_the_last_run_is_aimed_at_from_the_recent_pace(
    run_ends: list[int], expected: float
) -> None:
    ends = sorted(float(end) for end in run_ends)

    def payload_at(t: float) -> dict[str, Any]:
        done = bisect.bisect_right(ends, t)
        status = "completed" if done == len(ends) else "running"
        return {"status": status, "completed_runs_count": done, "total_runs_count": len(ends)}

    poll = Poll(payload_at)
    poll.wait(WaitSettings())
    assert expected <= poll.clock.now < expected + 10.0


# --------------------------------------------------------------------------- simulated waits

FINISH = 30 * MINUTE
TOTAL_RUNS = 60


def spread(count: int, start: float, end: float) -> list[float]:
    """``count`` run end times spread evenly over (start, end]."""
    return [start + (end - start) * (i + 1) / count for i in range(count)]


def timeline(run_ends: list[float]) -> Callable[[float], dict[str, Any]]:
    """A result whose runs end at ``run_ends``; evaluating after the last, done at 30 min."""
    ends = sorted(run_ends)
    assert len(ends) == TOTAL_RUNS

    def payload_at(t: float) -> dict[str, Any]:
        done = bisect.bisect_right(ends, t)
        if t >= FINISH:
            status = "completed"
        elif done == TOTAL_RUNS:
            status = "evaluating"
        else:
            status = "running" if t >= 5 else "pending"
        return {"status": status, "completed_runs_count": done, "total_runs_count": TOTAL_RUNS}

    return payload_at


def fixed_polling(
    payload_at: Callable[[float], dict[str, Any]], every: float, phase: float = 0.0
) -> tuple[int, float]:
    """(requests, lag) of polling every ``every`` seconds from ``phase``."""
    t, requests = phase, 0
    while True:
        requests += 1
        if payload_at(t)["status"] == "completed":
            return requests, t - FINISH
        t += every


SHAPES = [
    pytest.param(spread(60, 0, 29.5 * MINUTE), id="steady"),
    pytest.param(
        spread(5, 0, 20 * MINUTE) + spread(55, 20 * MINUTE, 29.5 * MINUTE), id="slow-start-burst"
    ),
    pytest.param(spread(60, 0, 27 * MINUTE), id="evaluating-tail-3min"),
    pytest.param(
        spread(40, 0, 15 * MINUTE) + spread(20, 25 * MINUTE, 29.5 * MINUTE), id="stall-10min-midway"
    ),
    pytest.param([*spread(59, 0, 19.5 * MINUTE), 29.5 * MINUTE], id="last-run-stalls-10min"),
]


@pytest.mark.parametrize("run_ends", SHAPES)
def test_simulated_30_minute_result(request: pytest.FixtureRequest, run_ends: list[float]) -> None:
    payload_at = timeline(run_ends)
    poll = Poll(payload_at)
    settings = WaitSettings()  # the policy defaults: 10 s growing to 120 s, 45 min timeout
    assert poll.wait(settings)["status"] == "completed"
    requests, lag = len(poll.times), poll.clock.now - FINISH
    fixed_requests, fixed_lag = fixed_polling(payload_at, 30.0)
    phase_lags = [fixed_polling(payload_at, 30.0, phase)[1] for phase in range(30)]
    print(
        f"\n{request.node.callspec.id}: adaptive {requests} requests, lag {lag:.1f} s; "
        f"fixed 30 s {fixed_requests} requests, lag {fixed_lag:.1f} s "
        f"(mean {sum(phase_lags) / len(phase_lags):.1f} s over start phases)"
    )
    assert max(poll.clock.sleeps) <= settings.max_poll_interval_s
    assert 0 <= lag <= 5.0
    assert requests < 60 <= fixed_requests


def test_steady_result_is_decided_within_seconds() -> None:
    payload_at = timeline(spread(60, 0, 29.5 * MINUTE))
    poll = Poll(payload_at)
    poll.wait(WaitSettings())
    assert poll.clock.now - FINISH < 5.0
    assert len(poll.times) < fixed_polling(payload_at, 30.0)[0]


# --------------------------------------------------------------------------- progress lines


def test_one_line_per_status_change_and_a_heartbeat_each_minute() -> None:
    def payload_at(t: float) -> dict[str, Any]:
        if t < 30:
            return {"status": "pending"}
        if t < 330:
            return {"status": "running", "completed_runs_count": int(t / 60), "total_runs_count": 9}
        return {"status": "evaluating" if t < 350 else "completed"}

    poll = Poll(payload_at)
    poll.wait(FAST)
    changes = [line.split("] status ")[1] for _, line in poll.lines if "] status " in line]
    assert [change.split(",")[0] for change in changes] == [
        "pending",
        "running",
        "evaluating",
        "completed",
    ]
    beats = [t for t, line in poll.lines if "] still running" in line]
    gaps = [later - earlier for earlier, later in itertools.pairwise([30.0, *beats])]
    assert len(beats) == 4
    assert all(60.0 <= gap <= 65.0 for gap in gaps)
    assert len(poll.lines) == len(changes) + len(beats)


def test_slow_polls_give_a_line_per_status_and_at_most_one_heartbeat_a_minute() -> None:
    poll = Poll(sequence(*["running"] * 40, "completed"))
    poll.wait(WaitSettings(timeout_s=3600.0, poll_interval_s=10.0, max_poll_interval_s=90.0))
    times = [t for t, _ in poll.lines]
    assert len(poll.lines) <= 2 + math.ceil(poll.clock.now / 60.0)
    assert all(later - earlier >= 60.0 for earlier, later in itertools.pairwise(times[1:-1]))


# --------------------------------------------------------------------------- live mode

METRICS_ONLY = "version: 1\nrules:\n  success_rate: {min: 90}\n"
FINDINGS = METRICS_ONLY + "  critical_categories:\n    max: {critical: 0}\n"
FINDINGS_OFF = FINDINGS + "    level: off\n"


@dataclass
class FakeSource:
    """A result source: the result is finished; runs-bulk knows ``details``."""

    payload: dict[str, Any]
    details: dict[int, dict[str, Any]]
    withheld_once: set[int] = field(default_factory=set)
    bulk_calls: list[list[int]] = field(default_factory=list)
    bulk_deadlines: list[float | None] = field(default_factory=list)
    finished_at: float = 0.0  # the fake time at which the result is seen finished
    clock: FakeClock | None = None

    def get_result(self, result_id: int, *, deadline: float | None = None) -> Any:
        if self.clock is not None:
            self.clock.now = max(self.clock.now, self.finished_at)
        return copy.deepcopy(self.payload)

    def get_runs(self, run_ids: list[int], *, deadline: float | None = None) -> list[Any]:
        first = not self.bulk_calls
        self.bulk_calls.append(list(run_ids))
        self.bulk_deadlines.append(deadline)
        hidden = self.withheld_once if first else set()
        return [
            copy.deepcopy(self.details[i]) for i in run_ids if i in self.details and i not in hidden
        ]


def bare_run(run_id: int, *missing: str, **overrides: Any) -> dict[str, Any]:
    run = make_run(run_id, **overrides)
    for name in missing:
        del run[name]
    return run


def detail(run_id: int) -> dict[str, Any]:
    return {
        "id": run_id,
        "evaluation": {"metrics": [{"name": "Latency", "value": 1000 + run_id}]},
        "critical_categories": [{"category": "greeting", "priority": "non-critical"}],
    }


def fetch_live(
    source: FakeSource, policy_text: str = METRICS_ONLY, wait: WaitSettings = FAST
) -> dict[str, Any]:
    clock = source.clock or FakeClock(now=0.0)
    return fetch_finished_result(
        source,
        500,
        policy_from(policy_text),
        wait=wait,
        clock=clock,
        sleep=clock.sleep,
        emit=lambda line: None,
    )


@pytest.mark.parametrize(
    ("runs", "policy", "fetched"),
    [
        ([make_run(1), make_run(2)], FINDINGS, []),
        ([make_run(1), bare_run(2, "evaluation"), bare_run(3, "evaluation")], METRICS_ONLY, [2, 3]),
        ([make_run(1), bare_run(2, "critical_categories")], METRICS_ONLY, []),
        ([make_run(1), bare_run(2, "critical_categories")], FINDINGS, [2]),
        ([make_run(1), bare_run(2, "critical_categories")], FINDINGS_OFF, []),
        ([make_run(1), make_run(3, critical_categories=None)], FINDINGS, [3]),
        ([bare_run(4, "evaluation"), bare_run(2, "critical_categories")], FINDINGS, [2, 4]),
    ],
)
def test_live_fetches_details_only_for_runs_lacking_them(
    runs: list[dict[str, Any]], policy: str, fetched: list[int]
) -> None:
    source = FakeSource(make_result(runs), {i: detail(i) for i in range(1, 5)})
    payload = fetch_live(source, policy)
    assert source.bulk_calls == ([fetched] if fetched else [])
    for run_id in fetched:
        assert payload["runs"][str(run_id)]["evaluation"] == detail(run_id)["evaluation"]


def test_live_merges_details_into_the_runs() -> None:
    runs = [make_run(1), bare_run(2, "evaluation", "critical_categories")]
    payload = fetch_live(FakeSource(make_result(runs), {2: detail(2)}), FINDINGS)
    assert payload["runs"]["2"]["critical_categories"] == detail(2)["critical_categories"]
    assert payload["runs"]["2"]["scenario_name"] == "Book an appointment"
    assert payload["runs"]["1"] == make_run(1)


def test_live_asks_once_more_for_runs_the_first_read_missed() -> None:
    runs = [bare_run(2, "evaluation"), bare_run(3, "evaluation")]
    source = FakeSource(make_result(runs), {2: detail(2), 3: detail(3)}, withheld_once={3})
    payload = fetch_live(source)
    assert source.bulk_calls == [[2, 3], [3]]
    assert payload["runs"]["3"]["evaluation"] == detail(3)["evaluation"]


@pytest.mark.parametrize(
    ("missing", "named"),
    [([3], "runs 3;"), ([2, 3], "runs 2, 3;"), (list(range(10, 25)), "and 5 more")],
)
def test_live_names_runs_still_missing_after_the_retry(missing: list[int], named: str) -> None:
    runs = [bare_run(i, "evaluation") for i in [2, 3, *range(10, 25)]]
    known = {i: detail(i) for i in [2, 3, *range(10, 25)] if i not in missing}
    source = FakeSource(make_result(runs), known)
    with pytest.raises(ApiError, match=named):
        fetch_live(source)
    assert source.bulk_calls[1] == missing
    assert len(source.bulk_calls) == 2


@pytest.mark.parametrize(
    ("timeout_s", "finished_at", "details_deadline"),
    [
        (600.0, 0.0, 600.0),  # the wait's deadline, not a minute past it
        (10.0, 0.0, 10.0),
        (10.0, 9.9, 10.9),  # finished just before it: a tenth of the timeout more
        (3600.0, 3599.0, 3659.0),  # at most a minute more
    ],
)
def test_run_details_are_fetched_within_the_timeout_and_a_small_grace(
    timeout_s: float, finished_at: float, details_deadline: float
) -> None:
    clock = FakeClock(now=0.0)
    source = FakeSource(
        make_result([bare_run(2, "evaluation")]),
        {2: detail(2)},
        finished_at=finished_at,
        clock=clock,
    )
    fetch_live(source, wait=WaitSettings(timeout_s=timeout_s, poll_interval_s=5.0))
    assert source.bulk_deadlines == [pytest.approx(details_deadline)]
