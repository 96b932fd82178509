"""``cekura-gate run``: start the policy's scenarios (or re-attach to a result), wait for
the result and judge it.

The trigger is sent at most once: once it may have reached the API it is never retried,
and the error says how to find the run it may have started. Giving up on the wait asks
Cekura to end the calls still in flight (they are billed), unless ``--no-end-calls``.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, Any

from gate import dataclasses
from gate.api.trigger import labelled, trigger_request, with_overrides
from gate.cli.gating import (
    gate_policy,
    load_baseline,
    verdict_of,
    wait_for,
    wait_settings,
)
from gate.cli.session import Known, Session, knowing
from gate.cli.settings import RunCommandSettings
from gate.errors import (
    ExitCode,
    GateError,
    Interrupted,
    NoVerdictError,
    OutcomeUnknown,
    UsageError,
)
from gate.policy.model import Policy, selector_problem
from gate.results.model import Result
from gate.rules.evaluate import Verdict

if TYPE_CHECKING:
    from gate.api.client import CekuraClient


@dataclasses.dataclass(frozen=True)
class _Trigger:
    """The POST that starts the run, built and checked before anything is sent."""

    path: str
    body: dict[str, Any]
    mode: str
    name: str


def judge(
    settings: RunCommandSettings, session: Session, preloaded: Policy | None = None
) -> Verdict:
    policy = gate_policy(settings.gate, session, preloaded)
    wait = wait_settings(policy, settings.gate.api)
    # Everything that can be refused is refused before the first request: the trigger is
    # built here, the connection settings when the client is made, the flags when parsed.
    trigger = _trigger(settings, session, policy) if settings.result_id is None else None
    with knowing(Known(settings.result_id)), session.client(wait) as client:
        baseline = load_baseline(session, policy, client)  # before a run is started and billed
        if trigger is None:
            assert settings.result_id is not None
            result_id = settings.result_id
            session.emit(f"re-attaching to result {result_id}; nothing new is started")
        else:
            result_id = _start_run(session, client, trigger)
        with knowing(session.announce(result_id)):
            result = _wait_or_end_calls(settings, session, client, result_id, policy)
            verdict = verdict_of(session, policy, result, baseline)
        if not settings.share_link_days:
            return verdict
        with knowing(Known(result_id, verdict.result_url)):
            link = _share_link(session, client, result_id, settings.share_link_days)
            return dataclasses.replace(verdict, share_url=link)


def _trigger(settings: RunCommandSettings, session: Session, policy: Policy) -> _Trigger:
    """The policy's run: with the flags on top, as the request that starts it."""
    run = with_overrides(
        policy.run,
        agent_id=settings.agent_id,
        scenario_ids=settings.scenario_ids,
        tags=settings.tags,
        folder_path=settings.folder_path,
        project_id=settings.gate.project_id,
        mode=settings.mode,
        frequency=settings.frequency,
        name=settings.name,
    )
    problem = selector_problem(run)
    if problem is not None:
        raise UsageError(
            f"run: {problem} (in the policy's run: section, or with --scenario-ids, "
            "--tags or --folder-path)"
        )
    run = dataclasses.replace(run, name=labelled(run.name, session.ci_label()))
    path, body = trigger_request(run)
    return _Trigger(path, body, run.mode, run.name or "")


def _start_run(session: Session, client: CekuraClient, trigger: _Trigger) -> int:
    """POST the trigger once; the new result's id. Never retried once it may have been sent."""
    session.emit(f"starting a {trigger.mode} run named '{trigger.name}'")
    advice = (
        f"The run may have started (and be billed): look for a result named '{trigger.name}' "
        "in the Cekura dashboard before running this again, and gate it with --result-id"
    )
    try:
        return client.start_run(trigger.path, trigger.body)
    except OutcomeUnknown as exc:
        raise OutcomeUnknown(f"{exc.message}. {advice}") from None
    except Interrupted as exc:
        raise Interrupted(
            f"{exc.message} while starting the run. {advice}", exc.exit_code
        ) from None
    except KeyboardInterrupt:
        raise Interrupted(
            f"the gate was interrupted while starting the run. {advice}", ExitCode.INTERRUPTED
        ) from None


def _wait_or_end_calls(
    settings: RunCommandSettings,
    session: Session,
    client: CekuraClient,
    result_id: int,
    policy: Policy,
) -> Result:
    try:
        return wait_for(session, client, result_id, policy)
    except (NoVerdictError, Interrupted, KeyboardInterrupt):
        # Giving up on the result, for whatever reason (the timeout, an outage, an answer too
        # large or refused, a signal): stop the calls it still runs, which are billed.
        if settings.end_calls:
            _end_calls(session, client, result_id)
        raise


def _end_calls(session: Session, client: CekuraClient, result_id: int) -> None:
    try:
        client.end_calls(result_id)
        session.emit(f"asked Cekura to end the calls of result {result_id} still in flight")
    except GateError as exc:
        session.emit(f"warning: could not end the calls of result {result_id}: {exc.message}")


def _share_link(session: Session, client: CekuraClient, result_id: int, days: int) -> str | None:
    expire_at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days)
    try:
        return client.create_share_link(result_id, expire_at.isoformat(timespec="seconds"))
    except GateError as exc:
        session.emit(f"warning: could not create a share link: {exc.message}")
        return None
