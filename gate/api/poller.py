"""Waiting for a result to finish: the only module that decides when to poll.

``wait_for_result(fetch, ...)`` calls ``fetch`` until the result reaches a
terminal status (completed, failed, timeout, cancelled) or the deadline
passes, and never sleeps past the deadline. Clock and sleep are injected.

The pause before the next poll is chosen from the result's own progress
(``completed_runs_count`` of ``total_runs_count``):

* no progress information: pauses grow from ``poll_interval`` by half each
  time, up to ``max_poll_interval``;
* runs completing: the completion rate predicts when the last run ends, and
  the next poll is aimed at that moment (never later than ``max_poll_interval``).
  Two rates are kept, the whole result's and the one since the last progress, and
  the sooner prediction wins: after a slow start or a stall, a burst is not overshot;
* every run done but the result not yet terminal (``evaluating``): the end is
  near, so poll every 2-5 s for three minutes, then ease off towards
  ``max_poll_interval`` (``FINISH_*``).

This gives a verdict within seconds of the end while sending far fewer
requests than fixed 30-second polling over a long result.

The loop itself is tenacity's: a ``Retrying`` that polls again while the result is not
terminal, with the schedule above as its ``wait`` strategy, a ``stop`` at the deadline on
the injected clock and the injected ``sleep``. What a payload says (status, run counts) is
read by ``gate.results.progress``; this module only decides when to look again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

from tenacity import RetryCallState, Retrying, retry_if_exception, retry_if_result

from gate.errors import ApiUnavailable, WaitTimeout
from gate.policy.model import WaitSettings
from gate.results.model import Status
from gate.results.progress import ResultProgress, read_progress

# Evaluating: 2 s, growing by a quarter second to 5 s, for three minutes. Pauses of at
# most 5 s give a verdict at most 5 s after the end; the small step keeps a short
# result's tail (seconds of evaluating) at 2-3 s pauses.
FINISH_FIRST_PAUSE_S = 2.0
FINISH_STEP_S = 0.25
FINISH_MAX_PAUSE_S = 5.0
FINISH_WINDOW_S = 180.0
GROWTH = 1.5
HEARTBEAT_EVERY_S = 60.0


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What one poll saw, and when (on the injected clock)."""

    at: float
    progress: ResultProgress


def snapshot(payload: object, at: float) -> Snapshot:
    """The status and progress of a result payload seen at ``at``; raises ``ResultError``."""
    return Snapshot(at, read_progress(payload))


@dataclass(frozen=True, slots=True)
class _Look:
    """One poll: the payload (returned when it is the last) and what it said."""

    payload: Any
    seen: Snapshot


@dataclass
class _Schedule:
    """Chooses the next pause from what the polls have seen so far: tenacity's ``wait``.

    The pause never runs past ``deadline``: the last one ends exactly there, for one final
    look.
    """

    settings: WaitSettings
    deadline: float
    now: Callable[[RetryCallState], float]
    pause: float = 0.0
    first_progress: Snapshot | None = None
    last_progress: Snapshot | None = None
    finish_started: float | None = None

    def __call__(self, state: RetryCallState) -> float:
        # tenacity asks for the pause and whether to stop after every look, in an order
        # that is its own; a pause asked for at the deadline is never slept.
        outcome = state.outcome
        if outcome is None or outcome.failed:
            return 0.0  # an outage at the deadline: the stop ends the wait, no pause follows
        look: _Look = outcome.result()
        remaining = self.deadline - self.now(state)
        return max(0.0, min(self.next_pause(look.seen), remaining))

    def next_pause(self, seen: Snapshot) -> float:
        progress = seen.progress
        if progress.all_runs_done:
            return self._finishing(seen)
        self.finish_started = None
        if self.first_progress is None and progress.completed_runs:
            self.first_progress = seen
        predicted = self._until_last_run(seen)
        self._remember(seen)
        regular = self._regular()
        if predicted is None:
            return regular
        floor = min(FINISH_FIRST_PAUSE_S, self.settings.poll_interval_s)
        return max(floor, min(predicted, self.settings.max_poll_interval_s))

    def _regular(self) -> float:
        grown = self.pause * GROWTH if self.pause else self.settings.poll_interval_s
        self.pause = min(grown, self.settings.max_poll_interval_s)
        return self.pause

    def _remember(self, seen: Snapshot) -> None:
        last = self.last_progress
        if last is None or (seen.progress.completed_runs or 0) > (
            last.progress.completed_runs or 0
        ):
            self.last_progress = seen

    def _until_last_run(self, seen: Snapshot) -> float | None:
        # The whole result's pace and the pace since the last progress: the sooner of the
        # two predictions wins, so a burst after a slow start or a stall is not overshot
        # (aiming early costs a request; aiming late costs the whole pause in lag).
        predictions = [
            until
            for start in (self.first_progress, self.last_progress)
            if (until := _until_last_run(start, seen)) is not None
        ]
        return min(predictions, default=None)

    def _finishing(self, seen: Snapshot) -> float:
        # A policy may poll faster than the finishing pace (tests do); never slower.
        first = min(FINISH_FIRST_PAUSE_S, self.settings.poll_interval_s)
        scale = first / FINISH_FIRST_PAUSE_S
        if self.finish_started is None:
            self.finish_started = seen.at
            self.pause = first
            return self.pause
        if seen.at - self.finish_started >= FINISH_WINDOW_S:
            self.pause = min(self.pause * GROWTH, self.settings.max_poll_interval_s)
            return self.pause
        cap = max(first, min(FINISH_MAX_PAUSE_S * scale, self.settings.max_poll_interval_s))
        self.pause = min(self.pause + FINISH_STEP_S * scale, cap)
        return self.pause


def _until_last_run(start: Snapshot | None, seen: Snapshot) -> float | None:
    """Seconds until the last run ends at the completion rate seen since ``start``."""
    now = seen.progress
    if start is None or not now.total_runs or seen.at <= start.at:
        return None
    done = (now.completed_runs or 0) - (start.progress.completed_runs or 0)
    if done <= 0:
        return None
    rate = done / (seen.at - start.at)
    return (now.total_runs - (now.completed_runs or 0)) / rate


@dataclass
class ProgressLines:
    """Human progress lines (status changes, heartbeats) through ``emit``."""

    emit: Callable[[str], None]
    started: float
    last_status: str | None = None
    last_line_at: float = 0.0
    unknown_reported: set[str] = field(default_factory=set)

    def saw(self, seen: Snapshot) -> None:
        progress = seen.progress
        text = progress.status_text
        if progress.status is Status.UNKNOWN and text not in self.unknown_reported:
            self.unknown_reported.add(text)
            self.emit(f"unknown status '{text}'; treating it as not finished")
        if text != self.last_status:
            self.last_status = text
            self._line(seen, "status")
        elif seen.at - self.last_line_at >= HEARTBEAT_EVERY_S:
            self._line(seen, "still")

    def _line(self, seen: Snapshot, word: str) -> None:
        self.last_line_at = seen.at
        progress = seen.progress
        runs = ""
        if progress.total_runs:
            runs = f", {progress.completed_runs or 0}/{progress.total_runs} runs done"
        self.emit(f"[{elapsed(seen.at - self.started)}] {word} {progress.status_text}{runs}")


def elapsed(seconds: float) -> str:
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


@dataclass
class _Watch:
    """One wait: the poll that tenacity repeats, and the questions its strategies ask."""

    fetch: Callable[[float], Any]
    clock: Callable[[], float]
    deadline: float
    lines: ProgressLines
    timeout_s: float
    last: Snapshot | None = None
    reading: tuple[int, float] | None = None

    def look(self) -> _Look:
        payload = self.fetch(self.deadline)
        self.last = snapshot(payload, self.clock())
        self.lines.saw(self.last)
        return _Look(payload, self.last)

    def now(self, state: RetryCallState) -> float:
        """The clock, read once per look: the pause and the stop decide on the same reading.

        Read twice, a look that ends just before the deadline could be given a pause of a
        few microseconds and then be stopped without the last look that pause was for.
        """
        if self.reading is None or self.reading[0] != state.attempt_number:
            self.reading = (state.attempt_number, self.clock())
        return self.reading[1]

    def past_deadline(self, state: RetryCallState) -> bool:
        """tenacity's ``stop``, on the injected clock."""
        return self.now(state) >= self.deadline

    def _past(self) -> bool:
        return self.clock() >= self.deadline

    def outage_at_deadline(self, error: BaseException) -> bool:
        """The last look ran into the deadline: that is a timeout, not an outage."""
        return isinstance(error, ApiUnavailable) and self.last is not None and self._past()

    def timed_out(self, state: RetryCallState) -> NoReturn:
        """tenacity's ``retry_error_callback``: the deadline passed before the end."""
        status = self.last.progress.status_text if self.last else "unknown"
        raise WaitTimeout(
            f"the result was not finished after {elapsed(self.timeout_s)} (last status '{status}')",
            status,
        )


def _unfinished(look: _Look) -> bool:
    return not look.seen.progress.status.is_terminal


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
    deadline). Raises ``WaitTimeout`` with the last status seen; any other error of
    ``fetch`` (and ``ResultError`` for a payload that is no result) propagates as raised.
    """
    started = clock()
    deadline = started + settings.timeout_s
    watch = _Watch(fetch, clock, deadline, ProgressLines(emit, started), settings.timeout_s)
    retrying = Retrying(
        retry=retry_if_result(_unfinished) | retry_if_exception(watch.outage_at_deadline),
        wait=_Schedule(settings, deadline, watch.now),
        stop=watch.past_deadline,
        sleep=lambda seconds: sleep(float(seconds)),  # tenacity passes a float subclass
        retry_error_callback=watch.timed_out,
    )
    look: _Look = retrying(watch.look)
    return look.payload
