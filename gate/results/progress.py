"""How far a result payload has got: its status and run counts, read for the poller.

The poller decides when to look again; what a payload *says* (``status``,
``completed_runs_count``, ``total_runs_count``) is read here, so the raw API keys stay in
the results package. Pure: a payload in, a frozen ``ResultProgress`` out.
"""

from __future__ import annotations

from collections.abc import Mapping

from gate.dataclasses import dataclass
from gate.errors import ResultError
from gate.results.model import Status
from gate.results.normalise import as_count, as_text


@dataclass(frozen=True, slots=True)
class ResultProgress:
    """A result's status and how many of its runs are done, as one poll saw them."""

    status: Status
    status_text: str
    completed_runs: int | None
    total_runs: int | None

    @property
    def all_runs_done(self) -> bool:
        return bool(self.total_runs) and (self.completed_runs or 0) >= (self.total_runs or 0)


def read_progress(payload: object) -> ResultProgress:
    """The status and run counts of a ``GET …/results/{id}/`` payload; raises ``ResultError``
    when it is not a result at all (no status to go on)."""
    if not isinstance(payload, Mapping) or "status" not in payload:
        raise ResultError("the API returned something that is not a Cekura result")
    text = as_text(payload.get("status")) or "unknown"
    return ResultProgress(
        status=Status.parse(text),
        status_text=text,
        completed_runs=as_count(payload.get("completed_runs_count")),
        total_runs=as_count(payload.get("total_runs_count")),
    )
