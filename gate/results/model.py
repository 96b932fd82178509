"""What Cekura returned, typed and frozen: ``Status``, ``Run``, ``Result``, metrics, findings.

Built by ``gate.results.normalise`` from a payload; read by the rules and the reporters.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, NamedTuple


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
    explanation_raw: object = None

    @property
    def explanation(self) -> str:
        """Read only for the few metrics a report explains, so it is made on demand."""
        from gate.results.normalise import as_text  # FIXME(redesign): cycle

        return as_text(self.explanation_raw)


class Finding(NamedTuple):
    """A critical-category finding on a run; ``priority`` is lower-cased as sent."""

    category: str
    priority: str
    wrongly_marked: bool
    category_id: int | None = None  # the critical category's id; the text varies per run


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
    evaluation_raw: object
    findings: tuple[Finding, ...]
    findings_known: bool
    error_message: str
    duration: str
    transcript_raw: object = None
    _memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def metrics(self) -> tuple[MetricValue, ...]:
        """The run's metrics, read from the payload on first use and remembered.

        Most gates never look at a passing run's metrics; reading them lazily keeps a
        10,000-run result fast (see bench/).
        """
        if "metrics" not in self._memo:
            from gate.results.normalise import _metrics  # FIXME(redesign): cycle

            self._memo["metrics"] = _metrics(self.evaluation_raw)
        metrics: tuple[MetricValue, ...] = self._memo["metrics"]
        return metrics

    @property
    def transcript(self) -> str:
        """Only failed runs' transcripts are shown, so the text is made on demand."""
        from gate.results.normalise import as_text  # FIXME(redesign): cycle

        return as_text(self.transcript_raw)


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
