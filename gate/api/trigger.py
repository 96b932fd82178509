"""Starting a Cekura run: the trigger request, built from ``RunSettings``. Pure.

``trigger_request(run)`` gives the endpoint for the transport (voice calls or
text) and the JSON body as the API takes it (``cekura-api.md`` §4). The POST
itself lives in ``gate.client`` and is never retried once it may have reached
the server, because every run is billed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from gate.policy.model import RunSettings

TRIGGER_PATHS = {
    "voice": "/test_framework/v1/scenarios/run_scenarios/",
    "text": "/test_framework/v1/scenarios/run_scenarios_text/",
}
SELECTOR_FIELDS = ("scenario_ids", "tags", "folder_path")


def trigger_request(run: RunSettings) -> tuple[str, dict[str, Any]]:
    """``(path, body)`` of the POST that starts the run."""
    body: dict[str, Any] = {}
    optional = {
        "agent_id": run.agent_id,
        "scenarios": list(run.scenario_ids) or None,
        "tags": list(run.tags) or None,
        "folder_path": run.folder_path,
        "project_id": run.project_id,
        "frequency": run.frequency,
        "name": run.name,
        "personality_ids": list(run.personality_ids) or None,
        "test_profile_ids": list(run.test_profile_ids) or None,
        "concurrency_limit": run.concurrency_limit,
        "personality_id": run.personality_id,
        "test_profile_id": run.test_profile_id,
        "mode": run.number_mode,
        "outbound_phone_number": run.outbound_phone_number,
        "agent_number": run.agent_number,
        "websocket_url": run.websocket_url,
        "websocket_headers": dict(run.websocket_headers) if run.websocket_headers else None,
    }
    body.update({key: value for key, value in optional.items() if value is not None})
    if run.mock_tool_names is not None:  # [] means "mock none", absent means "mock all"
        body["mock_tool_names"] = list(run.mock_tool_names)
    return TRIGGER_PATHS[run.mode], body


def with_overrides(run: RunSettings | None, **overrides: Any) -> RunSettings:
    """The policy's run settings with command-line values on top.

    A selector given on the command line replaces every selector in the policy,
    so ``--tags smoke`` never combines with the policy's ``folder_path``.
    """
    given = {key: value for key, value in overrides.items() if value is not None}
    base = run or RunSettings()
    if any(key in given for key in SELECTOR_FIELDS):
        base = replace(base, scenario_ids=(), tags=(), folder_path=None)
    return replace(base, **given)


def labelled(name: str | None, suffix: str | None) -> str:
    """The result's name: the policy's label plus the commit or PR, so an orphan is findable."""
    label = name or "cekura-gate"
    return f"{label} ({suffix})" if suffix and suffix not in label else label
