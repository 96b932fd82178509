"""Waiting for a result to finish: the only module that decides when to poll.

``wait_for_result(fetch, ...)`` calls ``fetch`` until the result reaches a
terminal status (completed, failed, timeout, cancelled) or the deadline
passes, and never sleeps past the deadline. Clock and sleep are injected.

The pause before the next poll is chosen from the result's own progress
(``completed_runs_count`` of ``total_runs_count``):

* no progress information: pauses grow from ``poll_interval`` by half each
  time, up to ``max_poll_interval``;
* runs completing: the completion rate predicts when the last run ends, and
  the next poll is aimed at that moment (never later than ``max_poll_interval``);
* every run done but the result not yet terminal (``evaluating``): the end is
  near, so poll every 2-5 s for a minute, then every 5-10 s up to three
  minutes, then ease off towards ``max_poll_interval`` (``FINISH_*``).

This gives a verdict within seconds of the end while sending far fewer
requests than fixed 30-second polling over a long result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gate.errors import ApiUnavailable, ResultError, WaitTimeout
from gate.policy.model import WaitSettings
from gate.results.model import Status
from gate.results.normalise import as_count, as_text

FINISH_FIRST_PAUSE_S = 2.0
FINISH_STEP_S = 0.5
FINISH_MAX_PAUSE_S = 5.0
FINISH_FAST_WINDOW_S = 60.0
FINISH_SLOW_STEP_S = 1.0
FINISH_SLOW_MAX_PAUSE_S = 10.0
FINISH_SLOW_WINDOW_S = 180.0
GROWTH = 1.5
HEARTBEAT_EVERY_S = 60.0


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one poll saw."""

    at: float
    status: Status
    status_text: str
    completed_runs: int | None
    total_runs: int | None

    @property
    def all_runs_done(self) -> bool:
        return bool(self.total_runs) and (self.completed_runs or 0) >= (self.total_runs or 0)


def snapshot(payload: object, at: float) -> Snapshot:
    """Read the status and progress out of a result payload."""
    if not isinstance(payload, Mapping) or "status" not in payload:
        raise ResultError("the API returned something that is not a Cekura result")
    text = as_text(payload.get("status")) or "unknown"
    return Snapshot(
        at=at,
        status=Status.parse(text),
        status_text=text,
        completed_runs=as_count(payload.get("completed_runs_count")),
        total_runs=as_count(payload.get("total_runs_count")),
    )


@dataclass
class _Schedule:
    """Chooses the next pause from what the polls have seen so far."""

    settings: WaitSettings
    pause: float = 0.0
    first_progress: Snapshot | None = None
    finish_started: float | None = None

    def next_pause(self, seen: Snapshot) -> float:
        if seen.all_runs_done:
            return self._finishing(seen)
        self.finish_started = None
        if self.first_progress is None and seen.completed_runs:
            self.first_progress = seen
        predicted = self._until_last_run(seen)
        regular = self._regular()
        if predicted is None:
            return regular
        floor = min(FINISH_FIRST_PAUSE_S, self.settings.poll_interval_s)
        return max(floor, min(predicted, self.settings.max_poll_interval_s))

    def _regular(self) -> float:
        grown = self.pause * GROWTH if self.pause else self.settings.poll_interval_s
        self.pause = min(grown, self.settings.max_poll_interval_s)
        return self.pause

    def _until_last_run(self, seen: Snapshot) -> float | None:
        start = self.first_progress
        if start is None or not seen.total_runs or seen.at <= start.at:
            return None
        done = (seen.completed_runs or 0) - (start.completed_runs or 0)
        if done <= 0:
            return None
        rate = done / (seen.at - start.at)
        return (seen.total_runs - (seen.completed_runs or 0)) / rate

    def _finishing(self, seen: Snapshot) -> float:
        # A policy may poll faster than the finishing pace (tests do); never slower.
        first = min(FINISH_FIRST_PAUSE_S, self.settings.poll_interval_s)
        scale = first / FINISH_FIRST_PAUSE_S
        if self.finish_started is None:
            self.finish_started = seen.at
            self.pause = first
            return self.pause
        evaluating_for = seen.at - self.finish_started
        if evaluating_for < FINISH_FAST_WINDOW_S:
            step, cap = FINISH_STEP_S, FINISH_MAX_PAUSE_S
        elif evaluating_for < FINISH_SLOW_WINDOW_S:
            step, cap = FINISH_SLOW_STEP_S, FINISH_SLOW_MAX_PAUSE_S
        else:
            self.pause = min(self.pause * GROWTH, self.settings.max_poll_interval_s)
            return self.pause
        cap = max(first, min(cap * scale, self.settings.max_poll_interval_s))
        self.pause = min(self.pause + step * scale, cap)
        return self.pause


@dataclass
class Progress:
    """Human progress lines (status changes, heartbeats) through ``emit``."""

    emit: Callable[[str], None]
    started: float
    last_status: str | None = None
    last_line_at: float = 0.0
    unknown_reported: set[str] = field(default_factory=set)

    def saw(self, seen: Snapshot) -> None:
        if seen.status is Status.UNKNOWN and seen.status_text not in self.unknown_reported:
            self.unknown_reported.add(seen.status_text)
            self.emit(f"unknown status '{seen.status_text}'; treating it as not finished")
        if seen.status_text != self.last_status:
            self.last_status = seen.status_text
            self._line(seen, "status")
        elif seen.at - self.last_line_at >= HEARTBEAT_EVERY_S:
            self._line(seen, "still")

    def _line(self, seen: Snapshot, word: str) -> None:
        self.last_line_at = seen.at
        runs = ""
        if seen.total_runs:
            runs = f", {seen.completed_runs or 0}/{seen.total_runs} runs done"
        self.emit(f"[{elapsed(seen.at - self.started)}] {word} {seen.status_text}{runs}")


def elapsed(seconds: float) -> str:
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def wait_for_result(
    fetch: Callable[[float], Any],
    *,
    settings: WaitSettings,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    emit: Callable[[str], None],
) -> Any:
    """Poll until the result is terminal; returns its last payload.

    ``fetch(deadline)`` returns a result payload (and may retry until the
    deadline). Raises ``WaitTimeout`` with the last status seen.
    """
    started = clock()
    deadline = started + settings.timeout_s
    schedule = _Schedule(settings)
    progress = Progress(emit, started)
    last: Snapshot | None = None
    while True:
        try:
            payload = fetch(deadline)
        except ApiUnavailable:
            if clock() < deadline or last is None:
                raise
            break  # the last look ran into the deadline: that is a timeout, not an outage
        last = snapshot(payload, clock())
        progress.saw(last)
        if last.status.is_terminal:
            return payload
        remaining = deadline - clock()
        if remaining <= 0:
            break
        # The last pause ends exactly at the deadline, for one final look.
        sleep(min(schedule.next_pause(last), remaining))
    raise WaitTimeout(
        f"the result was not finished after {elapsed(settings.timeout_s)} "
        f"(last status '{last.status_text}')",
        last.status_text,
    )
