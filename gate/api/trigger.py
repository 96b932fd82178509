"""Starting a Cekura run: the trigger request, built from ``RunSettings``. Pure.

``trigger_request(run)`` gives the endpoint for the transport (voice calls or
text) and the JSON body as the API takes it (``cekura-api.md`` §4). The POST
itself lives in ``gate.client`` and is never retried once it may have reached
the server, because every run is billed.
"""

from __future__ import annotations

from typing import Any

from gate.dataclasses import fields, replace
from gate.policy.kinds import TextMap
from gate.policy.model import RUN_SELECTORS, RunSettings

TRIGGER_PATHS = {
    "voice": "/test_framework/v1/scenarios/run_scenarios/",
    "text": "/test_framework/v1/scenarios/run_scenarios_text/",
}


def trigger_request(run: RunSettings) -> tuple[str, dict[str, Any]]:
    """``(path, body)`` of the POST that starts the run: each set field under the name the
    API gives it (the field's ``api`` metadata)."""
    body: dict[str, Any] = {}
    for spec in fields(RunSettings):
        value = getattr(run, spec.name)
        if spec.metadata["api"] is None or value is None:
            continue
        if value == () and not spec.metadata["keep_empty"]:
            continue  # [] means "mock none" for mock_tool_names; elsewhere it is just unset
        body[spec.metadata["api"]] = _json_ready(spec.metadata["kind"], value)
    return TRIGGER_PATHS[run.mode], body


def _json_ready(kind: object, value: object) -> object:
    if isinstance(kind, TextMap) and isinstance(value, tuple):
        return dict(value)
    return list(value) if isinstance(value, tuple) else value


def with_overrides(run: RunSettings | None, **overrides: Any) -> RunSettings:
    """The policy's run settings with command-line values on top.

    A selector given on the command line replaces every selector in the policy,
    so ``--tags smoke`` never combines with the policy's ``folder_path``.
    """
    given = {key: value for key, value in overrides.items() if value is not None}
    base = run or RunSettings()
    if any(key in given for key in RUN_SELECTORS):
        base = replace(base, scenario_ids=(), tags=(), folder_path=None)
    return replace(base, **given)


def calls_per_scenario(run: RunSettings) -> int:
    """The calls one scenario costs at frequency 1: one per personality and test profile,
    as the API creates (and bills) runs (``cekura-api.md`` §4)."""
    return max(1, len(run.personality_ids)) * max(1, len(run.test_profile_ids))


def estimated_calls(run: RunSettings) -> int | None:
    """The calls the trigger makes; ``None`` when tags or a folder select the scenarios (only
    Cekura knows how many there are)."""
    if run.tags or run.folder_path:
        return None
    return len(run.scenario_ids) * (run.frequency or 1) * calls_per_scenario(run)


def rerun_of(run: RunSettings, scenario_ids: tuple[int, ...], frequency: int) -> RunSettings:
    """The run settings of a rerun round: the same agent and options, only these scenarios,
    at this frequency, labelled as the round (``name`` is the caller's)."""
    return replace(run, scenario_ids=scenario_ids, tags=(), folder_path=None, frequency=frequency)


def labelled(name: str | None, suffix: str | None) -> str:
    """The result's name: the policy's label plus the commit or PR, so an orphan is findable."""
    label = name or "cekura-gate"
    return f"{label} ({suffix})" if suffix and suffix not in label else label
