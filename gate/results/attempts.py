"""Reruns as plain data: the run slots of a result, every attempt of each slot across the
results the gate started for it, and the union the rules judge. Pure: no I/O.

A **run slot** is one run the first result made: its scenario, its personality (as the run
names it) and its occurrence among that scenario's runs with that personality, in run-id
order. A slot is named by the id of its first run. A rerun round reruns some slots; the runs
of the round's result take their places: per scenario and personality, in run-id order, the
slots the round reran in occurrence order (a run whose personality matches no slot of its
scenario takes the next slot of that scenario still waiting). A run left over (one trigger
gives every scenario of the round the same frequency and personalities, so a scenario can
get more runs than it needed) is an **extra attempt**: it counts for the scenario's k-of-n
rules but replaces no slot.

The union (``union_result``) is a ``Result`` the evaluator judges as it judges any: its
``runs`` are the latest attempt of each slot (success rate, run counts, expected outcomes,
findings and metrics read these), its ``attempts`` every attempt (per-scenario k-of-n rules
read these). A result without reruns is its own union, unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from gate.dataclasses import dataclass, replace
from gate.results.model import Result, Run, Status

INFRASTRUCTURE = "infrastructure"
FAILED = "failed"


class Attempt(NamedTuple):
    """One run of one result of the union."""

    run: Run
    result_id: int
    round: int  # 0: the first result
    slot: int | None  # the id of its slot's first run; None: an extra attempt
    reason: str  # why its round reran it: INFRASTRUCTURE or FAILED; "" in the first result


@dataclass(frozen=True, slots=True)
class Slot:
    """One run slot and its attempts, the first result's run first."""

    key: int
    scenario_id: int | None
    scenario_name: str
    personality: str
    occurrence: int  # 1-based, among its scenario's runs with its personality
    attempts: tuple[Attempt, ...]

    @property
    def latest(self) -> Attempt:
        return self.attempts[-1]

    def reruns(self, reason: str) -> int:
        """How often the slot was rerun for ``reason``."""
        return sum(1 for attempt in self.attempts if attempt.reason == reason)


@dataclass(frozen=True, slots=True)
class Round:
    """One result of the union: the first (round 0) or a rerun round's."""

    round: int
    result_id: int | None  # None: the trigger's outcome is unknown (no result to judge)
    status: Status
    status_text: str
    calls: int  # runs it made (what its trigger asked for, when there is no result)
    scenario_ids: tuple[int, ...] = ()  # what a rerun round asked for
    frequency: int | None = None
    reasons: tuple[str, ...] = ()  # INFRASTRUCTURE and/or FAILED


@dataclass(frozen=True, slots=True)
class RerunLog:
    """What the reports say about reruns: every result involved, every rerun attempt and
    why, the calls spent against the cap, and what was trimmed or went wrong."""

    rounds: tuple[Round, ...]
    reruns: tuple[Attempt, ...]  # the attempts made by rerun rounds, extras included
    max_calls: int | None
    notes: tuple[str, ...]

    @property
    def result_ids(self) -> tuple[int, ...]:
        return tuple(r.result_id for r in self.rounds if r.result_id is not None)

    @property
    def calls(self) -> int:
        return sum(r.calls for r in self.rounds)


@dataclass(frozen=True, slots=True)
class Ledger:
    """The first result, every attempt so far, and the rounds that made them."""

    first: Result
    attempts: tuple[Attempt, ...]
    rounds: tuple[Round, ...]
    max_calls: int | None = None
    notes: tuple[str, ...] = ()

    @property
    def calls(self) -> int:
        return sum(r.calls for r in self.rounds)

    @property
    def remaining(self) -> int | None:
        """Calls left under the cap (never below 0); ``None`` without a cap."""
        return None if self.max_calls is None else max(0, self.max_calls - self.calls)

    def noted(self, note: str) -> Ledger:
        return replace(self, notes=(*self.notes, note))

    def slots(self) -> tuple[Slot, ...]:
        """Every slot, in the first result's run order, with its attempts."""
        by_slot: dict[int, list[Attempt]] = {}
        for attempt in self.attempts:
            if attempt.slot is not None:
                by_slot.setdefault(attempt.slot, []).append(attempt)
        slots = []
        seen: dict[tuple[object, str], int] = {}
        for run in self.first.runs:
            group = (_scenario(run), personality_key(run.personality))
            seen[group] = seen.get(group, 0) + 1
            slots.append(
                Slot(
                    run.id,
                    run.scenario_id,
                    run.scenario_name,
                    run.personality,
                    seen[group],
                    tuple(by_slot[run.id]),
                )
            )
        return tuple(slots)

    def log(self) -> RerunLog:
        return RerunLog(
            self.rounds,
            tuple(attempt for attempt in self.attempts if attempt.round > 0),
            self.max_calls,
            self.notes,
        )


def _scenario(run: Run) -> object:
    return run.scenario_id if run.scenario_id is not None else run.scenario_name.strip().lower()


def personality_key(personality: str) -> str:
    """A personality as slots are matched by it: the runs' own name, trimmed, lower-cased."""
    return personality.strip().lower()


class RerunSlot(NamedTuple):
    """A slot a rerun round reruns, and why."""

    slot: int
    scenario: object  # the scenario id (or lower-cased name) the slot's runs have
    personality: str  # lower-cased, as the runs name it
    reason: str


def first_ledger(result: Result, max_calls: int | None = None) -> Ledger:
    """The ledger of a result before any rerun: its runs are round 0, its calls its runs."""
    attempts = tuple(Attempt(run, result.id, 0, run.id, "") for run in result.runs)
    first = Round(0, result.id, result.status, result.status_text, result.run_total)
    return Ledger(result, attempts, (first,), max_calls)


def with_round(ledger: Ledger, round_: Round, result: Result, reran: Sequence[RerunSlot]) -> Ledger:
    """The ledger with a rerun round's result: its runs take the places of ``reran``."""
    waiting: dict[tuple[object, str], list[RerunSlot]] = {}
    for slot in reran:
        waiting.setdefault((slot.scenario, slot.personality), []).append(slot)
    new: list[Attempt] = []
    leftover: list[Run] = []
    for run in sorted(result.runs, key=lambda run: run.id):
        queue = waiting.get((_scenario(run), personality_key(run.personality)))
        if queue:
            slot = queue.pop(0)
            new.append(Attempt(run, result.id, round_.round, slot.slot, slot.reason))
        else:
            leftover.append(run)
    for run in leftover:  # a personality that matches none of its scenario's slots
        queue = next((q for (s, _), q in waiting.items() if s == _scenario(run) and q), None)
        if queue:
            slot = queue.pop(0)
            new.append(Attempt(run, result.id, round_.round, slot.slot, slot.reason))
        else:
            new.append(Attempt(run, result.id, round_.round, None, _extra_reason(reran, run)))
    missed = [slot.slot for queue in waiting.values() for slot in queue]
    if missed:
        ledger = ledger.noted(
            f"rerun result {result.id} has no run for {_runs(missed)}; "
            "their latest attempts stay as they were"
        )
    return replace(
        ledger,
        attempts=(*ledger.attempts, *sorted(new, key=lambda a: a.run.id)),
        rounds=(*ledger.rounds, round_),
    )


def without_result(ledger: Ledger, round_: Round, note: str) -> Ledger:
    """The ledger with a rerun round that gave no result to judge (its trigger's outcome is
    unknown, or its result could not be read): its calls count, and ``note`` says why."""
    return replace(ledger.noted(note), rounds=(*ledger.rounds, round_))


def _extra_reason(reran: Sequence[RerunSlot], run: Run) -> str:
    """Why an extra attempt was made: its scenario's first reason in the round."""
    return next((slot.reason for slot in reran if slot.scenario == _scenario(run)), FAILED)


def _runs(ids: Iterable[int]) -> str:
    listed = sorted(ids)
    shown = ", ".join(str(run_id) for run_id in listed[:10])
    more = f" and {len(listed) - 10} more" if len(listed) > 10 else ""
    return f"run {shown}" if len(listed) == 1 else f"runs {shown}{more}"


def rerun_slot(slot: Slot, reason: str) -> RerunSlot:
    first = slot.attempts[0].run
    return RerunSlot(slot.key, _scenario(first), personality_key(first.personality), reason)


def union_result(ledger: Ledger) -> Result:
    """The result the rules judge: the first result itself when nothing was rerun, else
    the latest attempt of each slot as its runs and every attempt as its attempts."""
    first = ledger.first
    if len(ledger.rounds) == 1:
        return replace(first, notes=(*first.notes, *ledger.notes)) if ledger.notes else first
    slots = ledger.slots()
    latest = tuple(slot.latest.run for slot in slots)
    status, status_text = _union_status(ledger, [slot.latest for slot in slots])
    return replace(
        first,
        status=status,
        status_text=status_text,
        # Counted from the runs: the results' own figures each cover one result.
        success_rate=None,
        met_expected_outcomes=None,
        total_expected_outcomes=None,
        success_runs=None,
        completed_runs=None,
        total_runs=first.run_total,
        runs=latest,
        summary_metrics=(),  # a p50 is the median of the latest attempts' scores
        notes=(*first.notes, *ledger.notes),
        attempts=tuple(attempt.run for attempt in ledger.attempts),
    )


def _union_status(ledger: Ledger, latest: Sequence[Attempt]) -> tuple[Status, str]:
    """Completed when every result whose runs are among the latest attempts completed, or
    ended ``failed`` (Cekura's infrastructure failure) with only completed runs among them;
    else the status of the first that did not. A rerun can replace the runs an
    infrastructure failure spoilt, never hide a result that timed out or was cancelled."""
    for round_ in ledger.rounds:
        own = [attempt.run for attempt in latest if attempt.round == round_.round]
        if not own or round_.status is Status.COMPLETED:
            continue
        if round_.status is Status.FAILED and all(run.status is Status.COMPLETED for run in own):
            continue
        return round_.status, round_.status_text
    return Status.COMPLETED, "completed"
