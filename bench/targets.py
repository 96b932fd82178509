"""What a bench section reports: its Markdown lines and its targets, each with the measured
value, the limit it must meet, and whether it does.

A target is "at most ``limit``" (``strict``: below it; ``at_least``: at least it).
``quick_limit`` is the looser bound
the quick bench in the test suite asserts (small sizes on a noisy machine); ``None`` when
the quick run cannot say anything about that target.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Target:
    name: str
    measured: float
    limit: float
    unit: str = "x"
    strict: bool = False
    at_least: bool = False
    quick_limit: float | None = None

    @property
    def met(self) -> bool:
        return self.within(self.limit)

    def within(self, limit: float) -> bool:
        if self.at_least:
            return self.measured >= limit
        return self.measured < limit if self.strict else self.measured <= limit

    def shown(self, value: float) -> str:
        text = f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
        return f"{text}{self.unit}" if self.unit in ("x", "%") else f"{text} {self.unit}"

    def row(self) -> str:
        bound = ">=" if self.at_least else "<" if self.strict else "<="
        state = "met" if self.met else "**not met**"
        limit = f"{bound} {self.shown(self.limit)}"
        return f"| {self.name} | {self.shown(self.measured)} | {limit} | {state} |"


@dataclass
class Section:
    lines: list[str]
    targets: list[Target] = field(default_factory=list)


def summary(targets: list[Target]) -> list[str]:
    met = sum(1 for target in targets if target.met)
    return [
        "## Targets",
        "",
        f"{met} of {len(targets)} met.",
        "",
        "| target | measured | limit | |",
        "| --- | --- | --- | --- |",
        *(target.row() for target in targets),
    ]


def to_json(targets: list[Target]) -> str:
    return json.dumps([{**asdict(target), "met": target.met} for target in targets], indent=2)
