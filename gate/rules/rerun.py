"""Planning a rerun round within the call budget. Pure: no I/O.

After each result, ``needed_reruns`` picks the run slots (``gate.results.attempts``) whose
latest attempt is infrastructure-failed (while the slot has had fewer than ``rerun.
infrastructure`` reruns for that) or failed for another reason (fewer than ``rerun.failed``).
``plan_round`` turns them into one trigger: the scenarios to rerun, one frequency for all
(the most slots any of them needs to replace for one personality, since the trigger gives
every scenario the same), and the calls that costs (scenarios × frequency × calls per
frequency unit, that is personalities × test profiles, as the API bills).

When that is more than the calls left under ``max_calls``, the round is trimmed,
deterministically: scenarios are taken in order (those with an infrastructure-failed slot
first, then by scenario id) and dropped from the end until the rest fits; if not even the
first fits, it alone is rerun at the frequency that fits; if not even one call fits, the
round is skipped. The plan's ``note`` says what was left out.
"""

from __future__ import annotations

from collections.abc import Sequence

from gate.dataclasses import dataclass
from gate.policy.model import RerunSettings
from gate.results.attempts import (
    FAILED,
    INFRASTRUCTURE,
    Ledger,
    RerunSlot,
    Slot,
    personality_key,
    rerun_slot,
)
from gate.rules.checks import plural


@dataclass(frozen=True, slots=True)
class RerunNeed:
    """A slot whose latest attempt needs a rerun, and why."""

    slot: Slot
    reason: str  # INFRASTRUCTURE or FAILED


@dataclass(frozen=True, slots=True)
class RoundPlan:
    """One rerun round's trigger: which scenarios, how often, and what it costs."""

    round: int
    scenario_ids: tuple[int, ...]
    frequency: int
    calls: int
    reran: tuple[RerunSlot, ...]  # the slots it reruns
    note: str = ""  # what was trimmed or why the round is skipped

    @property
    def skipped(self) -> bool:
        return not self.scenario_ids

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(r for r in (INFRASTRUCTURE, FAILED) if any(s.reason == r for s in self.reran))


def needed_reruns(ledger: Ledger, settings: RerunSettings) -> tuple[RerunNeed, ...]:
    """The slots to rerun now, in slot order."""
    needs = []
    for slot in ledger.slots():
        run = slot.latest.run
        if run.infrastructure:
            if slot.reruns(INFRASTRUCTURE) < settings.infrastructure:
                needs.append(RerunNeed(slot, INFRASTRUCTURE))
        elif run.success is not True and slot.reruns(FAILED) < settings.failed:
            needs.append(RerunNeed(slot, FAILED))
    return tuple(needs)


def _by_scenario(needs: Sequence[RerunNeed]) -> dict[int, list[RerunNeed]]:
    """The needs of each scenario, in the order their scenarios are rerun."""
    groups: dict[int, list[RerunNeed]] = {}
    for need in needs:
        assert need.slot.scenario_id is not None
        groups.setdefault(need.slot.scenario_id, []).append(need)
    infra_first = sorted(
        groups, key=lambda sid: (all(n.reason != INFRASTRUCTURE for n in groups[sid]), sid)
    )
    return {sid: groups[sid] for sid in infra_first}


def _frequency(needs: Sequence[RerunNeed]) -> int:
    """The most slots of one personality among ``needs``: each needs an attempt of its own."""
    counts: dict[str, int] = {}
    for need in needs:
        key = personality_key(need.slot.personality)
        counts[key] = counts.get(key, 0) + 1
    return max(counts.values(), default=0)


def plan_round(
    needs: Sequence[RerunNeed], *, round_: int, per_frequency: int, remaining: int | None
) -> RoundPlan:
    """The trigger of rerun round ``round_`` for ``needs`` within ``remaining`` calls
    (``None``: no cap); ``per_frequency``: the calls one scenario costs at frequency 1."""
    without_id = [need for need in needs if need.slot.scenario_id is None]
    groups = _by_scenario([need for need in needs if need.slot.scenario_id is not None])
    order = list(groups)
    frequencies = {sid: _frequency(groups[sid]) for sid in order}

    def cost(kept: list[int]) -> int:
        return len(kept) * max(frequencies[sid] for sid in kept) * per_frequency

    kept = list(order)
    while kept and remaining is not None and cost(kept) > remaining:
        kept.pop()
    frequency = max((frequencies[sid] for sid in kept), default=0)
    if not kept and order and remaining is not None and remaining >= per_frequency:
        kept, frequency = order[:1], remaining // per_frequency  # fewer attempts than needed
    reran = tuple(
        rerun_slot(need.slot, need.reason)
        for sid in kept
        for need in _first_per_personality(groups[sid], frequency)
    )
    calls = len(kept) * frequency * per_frequency
    note = _note(round_, order, kept, frequencies, frequency, calls, remaining, without_id)
    return RoundPlan(round_, tuple(kept), frequency, calls, reran, note)


def _first_per_personality(needs: Sequence[RerunNeed], frequency: int) -> list[RerunNeed]:
    """The needs a frequency covers: the first ``frequency`` slots of each personality."""
    taken: dict[str, int] = {}
    covered = []
    for need in needs:
        key = personality_key(need.slot.personality)
        if taken.get(key, 0) < frequency:
            taken[key] = taken.get(key, 0) + 1
            covered.append(need)
    return covered


def _note(
    round_: int,
    order: list[int],
    kept: list[int],
    frequencies: dict[int, int],
    frequency: int,
    calls: int,
    remaining: int | None,
    without_id: list[RerunNeed],
) -> str:
    parts = []
    if without_id:
        runs = ", ".join(str(need.slot.key) for need in without_id[:10])
        parts.append(f"runs {runs} have no scenario id, so they cannot be rerun")
    left = f"{plural(remaining or 0, 'call')} left under max_calls"
    if not kept and order:
        names = _ids(order)
        parts.append(f"rerun round {round_} skipped: {left}, too few for {names}")
    elif kept:
        wanted = max(frequencies[sid] for sid in kept)
        fewer = f", {plural(frequency, 'time')} instead of {wanted}" if frequency < wanted else ""
        out = f", leaves out {_ids(order[len(kept) :])}" if len(kept) < len(order) else ""
        if fewer or out:
            parts.append(
                f"rerun round {round_} trimmed to fit the {left}: reruns {_ids(kept)}"
                f"{fewer} ({plural(calls, 'call')}){out}"
            )
    return "; ".join(parts)


def _ids(scenario_ids: Sequence[int]) -> str:
    shown = ", ".join(str(sid) for sid in scenario_ids)
    return f"scenario {shown}" if len(scenario_ids) == 1 else f"scenarios {shown}"
