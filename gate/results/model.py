"""What Cekura returned, typed and frozen: ``Status``, ``Run``, ``Result``, metrics, findings.

Built by ``gate.results.normalise`` from a payload; read by the rules and the reporters.
Nothing here holds raw JSON or parses it, and nothing here imports ``normalise``.

Two values of a run are worked out on first use rather than up front: its metrics and its
transcript. Most gates never look at a passing run's metrics (reading the six metrics of
each of 10,000 runs roughly quadruples the time ``normalise`` takes; see ``bench/``), and
only failed runs' transcripts are shown. So a ``Run`` holds ``RunDetails``: an object that
``normalise`` supplies, which reads each value from its piece of the payload once, keeps
the typed value and lets the JSON go. The model knows only that protocol, so the run stays
frozen, what it exposes stays typed, and the parsing stays in ``normalise``. (One holder
per run rather than one per value: a 10,000-run result builds 10,000 of them.)
"""

from __future__ import annotations

import enum
from typing import NamedTuple, Protocol

from gate.dataclasses import dataclass, field


class Status(enum.Enum):
    """Result and run status, as the API's enum; ``UNKNOWN`` for anything new."""

    PENDING = "pending"
    RUNNING = "running"
    IN_PROGRESS = "in_progress"
    EVALUATING = "evaluating"
    IN_QUEUE = "in_queue"
    SCALING_UP = "scaling_up"
    COMPLETED = "completed"
    FAILED = "failed"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"

    @classmethod
    def parse(cls, raw: object) -> Status:
        text = raw.strip().lower() if isinstance(raw, str) else ""
        if text == "canceled":
            return cls.CANCELLED
        try:
            return cls(text)
        except ValueError:
            return cls.UNKNOWN

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES

    @property
    def is_bad_end(self) -> bool:
        return self in (Status.FAILED, Status.TIMEOUT, Status.CANCELLED)


TERMINAL_STATUSES = frozenset({Status.COMPLETED, Status.FAILED, Status.TIMEOUT, Status.CANCELLED})


class MetricKind(enum.Enum):
    BINARY = "binary"
    NUMERIC = "numeric"
    QUALITATIVE = "continuous_qualitative"
    ENUM = "enum"
    OTHER = "other"


class MetricValue(NamedTuple):
    """One metric as evaluated on one run (a NamedTuple: there are many of these)."""

    id: int | None
    name: str
    kind: MetricKind
    score: float | None
    passed: bool | None
    enum_value: str | None
    explanation: str = ""


class Finding(NamedTuple):
    """A critical-category finding on a run; ``priority`` is lower-cased as sent."""

    category: str
    priority: str
    wrongly_marked: bool
    category_id: int | None = None  # the critical category's id; the text varies per run


class RunDetails(Protocol):
    """A run's values that are worked out on first use; each call returns the same value."""

    def metrics(self) -> tuple[MetricValue, ...]: ...

    def transcript(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Run:
    id: int
    scenario_id: int | None
    scenario_name: str
    personality: str
    status: Status
    status_text: str
    success: bool | None
    expected_outcome_score: float | None
    expected_outcome_explanation: str
    findings: tuple[Finding, ...]
    findings_known: bool
    error_message: str
    duration: str
    details: RunDetails = field(repr=False)
    # Why the run is infrastructure-failed (a call that never connected, a provider error),
    # "" when it is not: decided by gate.results.infrastructure when the payload is read.
    infrastructure: str = ""

    @property
    def passed(self) -> bool:
        """Passed, and for real: a run that says it passed but is infrastructure-failed (an
        error message with ``success: true``, per Cekura's guidance) did not."""
        return self.success is True and not self.infrastructure

    @property
    def metrics(self) -> tuple[MetricValue, ...]:
        """The run's metrics, read on first use (see the module docstring)."""
        return self.details.metrics()

    @property
    def transcript(self) -> str:
        """The run's transcript as text, made on first use (see the module docstring)."""
        return self.details.transcript()


@dataclass(frozen=True, slots=True)
class SummaryMetric:
    """A metric aggregate from ``overall_evaluation``; ``source`` says where it was read."""

    id: int | None
    name: str
    kind: MetricKind
    p50: float | None
    source: str


@dataclass(frozen=True, slots=True)
class Result:
    id: int
    name: str
    agent_name: str
    project_id: int | None
    status: Status
    status_text: str
    success_rate: float | None
    met_expected_outcomes: int | None
    total_expected_outcomes: int | None
    total_runs: int | None
    success_runs: int | None
    completed_runs: int | None
    runs: tuple[Run, ...]
    summary_metrics: tuple[SummaryMetric, ...]
    failed_reasons: tuple[str, ...]
    notes: tuple[str, ...]
    # What the result says it covered, even when no run of it is listed (for validate).
    scenarios: tuple[tuple[int | None, str], ...] = ()
    categories: tuple[tuple[int | None, str], ...] = ()  # critical-category definitions
    # Every attempt of every run, when this result is the union of a result and its reruns
    # (``gate.results.attempts``): scenario rules judge these, the other rules ``runs``.
    attempts: tuple[Run, ...] = ()

    @property
    def scenario_runs(self) -> tuple[Run, ...]:
        """The runs per-scenario (k-of-n) rules judge: every attempt, else the runs."""
        return self.attempts or self.runs

    @property
    def category_names(self) -> tuple[str, ...]:
        return tuple(name for _, name in self.categories)

    @property
    def run_total(self) -> int:
        """Runs in the result: as listed, or as counted when the payload lists fewer."""
        return max(self.total_runs or 0, len(self.runs))

    @property
    def runs_gap(self) -> str | None:
        """Why values computed from the runs would be partial; ``None`` when every run is
        listed. Completed and successful counts count too: the total may be missing."""
        if not self.runs:
            return f"result {self.id} lists no runs, so values computed from its runs are unknown"
        counted = max(self.run_total, self.completed_runs or 0, self.success_runs or 0)
        if len(self.runs) >= counted:
            return None
        return (
            f"result {self.id} lists {len(self.runs)} of its {counted} runs, so values "
            "computed from its runs are unknown"
        )


# --------------------------------------------------------------------------- scalars
