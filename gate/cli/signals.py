"""SIGINT (Ctrl-C) and SIGTERM (a cancelled CI job) for the whole life of a command.

From the first instruction of ``main`` to its return, both signals go to one handler with
two modes:

* while the command works (``raising()``: reading, waiting, judging), a signal stops it at
  once: SIGINT raises ``KeyboardInterrupt``, SIGTERM ``Interrupted`` (exit 143), and the
  gate's error boundary turns either into no-verdict reports and the signal's exit code;
* everywhere else, above all while the outcome is printed, written to the reports and
  published, a signal is only recorded: the reports are finished first (a report cut off
  half-way would be worse than one second more), then ``settle`` makes the exit code the
  signal's. A second signal (a double Ctrl-C) is recorded too; it cannot cut the writing
  short, which takes about a second even for 30,000 runs.

The module imports only the standard library (``gate.errors`` when a signal arrives), so
that ``gate.cli.entry`` can hand the signals to it before the gate itself is imported.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator
from types import FrameType

CODES: dict[int, int] = {signal.SIGINT: 130, signal.SIGTERM: 143}
_NAMES: dict[int, str] = {
    signal.SIGINT: "interrupted (SIGINT)",
    signal.SIGTERM: "terminated (SIGTERM)",
}

Handler = Callable[[int, FrameType | None], object] | int | None


class Signals:
    """The one SIGINT/SIGTERM handler of a command: raise while working, record otherwise."""

    def __init__(self) -> None:
        self.working = False
        self.held_to_exit = False
        self.received: list[int] = []
        self._previous: dict[int, Handler] = {}

    def install(self) -> Signals:
        """Take SIGINT and SIGTERM over; outside the main thread, leave them alone."""
        try:
            for signum in CODES:
                self._previous[signum] = signal.signal(signum, self._handle)
        except ValueError:  # not the main thread: signals are not ours to handle
            self._previous.clear()
        return self

    def restore(self) -> None:
        """Give the signals back; not for ``python -m gate``, whose handler stays in charge
        (recording only) until the process has exited."""
        if self.held_to_exit:
            return
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.working:
            raise self._error(signum)
        self.received.append(signum)

    @staticmethod
    def _error(signum: int) -> BaseException:
        if signum == signal.SIGINT:
            return KeyboardInterrupt()
        from gate.errors import ExitCode, Interrupted  # not imported before the handler is in

        return Interrupted("the gate was terminated (SIGTERM)", ExitCode.TERMINATED)

    @contextlib.contextmanager
    def raising(self) -> Iterator[None]:
        """A signal stops the block at once, also one that came just before it."""
        if self.received:
            raise self._error(self.received[0])
        self.working = True
        try:
            yield
        finally:
            self.working = False

    def pending(self) -> tuple[int, str] | None:
        """(exit code, what happened) of the first signal recorded outside ``raising()``."""
        if not self.received:
            return None
        first = self.received[0]
        return CODES[first], _NAMES[first]


# ``python -m gate`` hands the signals to this object before importing the rest of the gate;
# ``main`` takes it over (a console script, whose wrapper imports ``main`` first, starts there).
_early: Signals | None = None


def hold_early() -> None:
    """Record SIGINT and SIGTERM from now on, until ``main`` takes them over."""
    global _early
    _early = Signals().install()
    _early.held_to_exit = True


def take_over() -> Signals:
    """The command's handler: the early one (with what it recorded), or a new one."""
    global _early
    signals, _early = _early, None
    return signals if signals is not None else Signals().install()
