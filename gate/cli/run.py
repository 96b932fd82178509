"""``cekura-gate run``: start the policy's scenarios (or re-attach to a result), wait for
the result and judge it.

The trigger is sent at most once: once it may have reached the API it is never retried,
and the error says how to find the run it may have started. Giving up on the wait asks
Cekura to end the calls still in flight (they are billed), unless ``--no-end-calls``.

With reruns (``run.rerun`` or the flags), once the result is finished the gate starts one
new result per round with only the scenarios whose runs need it (``gate.rules.rerun``
plans each round within ``max_calls``), each trigger sent once under the same rules; a
round that cannot be started or judged ends the reruns, and the gate judges the union of
what it has (``gate.results.attempts``), saying so. ``--dry-run`` prints what would be
started and calls nothing.
"""

from __future__ import annotations

import datetime
import json
from typing import TYPE_CHECKING, Any

from gate import dataclasses
from gate.api.trigger import (
    calls_per_scenario,
    estimated_calls,
    labelled,
    rerun_of,
    trigger_request,
    with_overrides,
)
from gate.cli.gating import (
    gate_policy,
    load_baseline,
    verdict_of,
    wait_for,
    wait_settings,
)
from gate.cli.inputs import load_policy
from gate.cli.parser import PROG
from gate.cli.session import Known, Session, knowing
from gate.cli.settings import Environment, RunCommandSettings
from gate.errors import (
    ApiError,
    ExitCode,
    GateError,
    Interrupted,
    NoVerdictError,
    OutcomeUnknown,
    UsageError,
)
from gate.policy.model import Policy, RerunSettings, RunSettings, selector_problem
from gate.results.attempts import (
    Ledger,
    RerunLog,
    Round,
    first_ledger,
    union_result,
    with_round,
    without_result,
)
from gate.results.model import Result, Status
from gate.rules.checks import plural
from gate.rules.evaluate import Verdict
from gate.rules.rerun import RoundPlan, needed_reruns, plan_round

if TYPE_CHECKING:
    from gate.api.client import CekuraClient


@dataclasses.dataclass(frozen=True)
class _Trigger:
    """The POST that starts the run, built and checked before anything is sent."""

    path: str
    body: dict[str, Any]
    mode: str
    name: str
    run: RunSettings  # what it was built from, for the rerun rounds' triggers

    @classmethod
    def of(cls, run: RunSettings) -> _Trigger:
        path, body = trigger_request(run)
        return cls(path, body, run.mode, run.name or "", run)


def judge(
    settings: RunCommandSettings, session: Session, preloaded: Policy | None = None
) -> Verdict:
    policy = gate_policy(settings.gate, session, preloaded)
    wait = wait_settings(policy, settings.gate.api)
    # Everything that can be refused is refused before the first request: the trigger is
    # built here, the connection settings when the client is made, the flags when parsed.
    trigger = _trigger(settings, session, policy) if settings.result_id is None else None
    reruns = rerun_settings(settings, policy)
    if trigger is not None:
        _require_first_fits(trigger, reruns)
    with knowing(Known(settings.result_id)), session.client(wait) as client:
        baseline = load_baseline(session, policy, client)  # before a run is started and billed
        if trigger is None:
            assert settings.result_id is not None
            result_id = settings.result_id
            session.emit(f"re-attaching to result {result_id}; nothing new is started")
            if reruns.active:
                session.emit("re-attaching starts no rerun either")
        else:
            result_id = _start_run(session, client, trigger)
        with knowing(session.announce(result_id)):
            result = _wait_or_end_calls(settings, session, client, result_id, policy)
            log = None
            if trigger is not None and (reruns.active or reruns.max_calls is not None):
                result, log = _rerun(settings, session, client, policy, trigger, result, reruns)
            verdict = verdict_of(session, policy, result, baseline)
            if log is not None:
                verdict = dataclasses.replace(verdict, reruns=log)
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
    return _Trigger.of(dataclasses.replace(run, name=labelled(run.name, session.ci_label())))


def rerun_settings(settings: RunCommandSettings, policy: Policy) -> RerunSettings:
    """The policy's ``run.rerun`` with the flags on top, key by key."""
    base = (policy.run.rerun if policy.run else None) or RerunSettings()

    def pick(flag: int | None, value: int) -> int:
        return value if flag is None else flag

    merged = RerunSettings(
        infrastructure=pick(settings.rerun_infrastructure, base.infrastructure),
        failed=pick(settings.rerun_failed, base.failed),
        max_calls=settings.max_calls if settings.max_calls is not None else base.max_calls,
    )
    if merged.active and merged.max_calls is None:
        raise UsageError(
            "reruns need --max-calls (or run.rerun.max_calls in the policy): every rerun is a "
            "billed call, so say the most calls the gate may start in all, the first "
            "result's included"
        )
    return merged


def _require_first_fits(trigger: _Trigger, reruns: RerunSettings) -> None:
    """A first result that would be over ``max_calls`` on its own is refused before it starts."""
    calls = estimated_calls(trigger.run)
    if reruns.max_calls is not None and calls is not None and calls > reruns.max_calls:
        raise UsageError(
            f"the run would start {plural(calls, 'call')}, more than --max-calls / "
            f"run.rerun.max_calls ({reruns.max_calls}) on its own"
        )


def _start_run(
    session: Session, client: CekuraClient, trigger: _Trigger, rerun: int | None = None
) -> int:
    """POST the trigger once; the new result's id. Never retried once it may have been sent."""
    what = f"rerun round {rerun}: starting" if rerun else "starting"
    session.emit(f"{what} a {trigger.mode} run named '{trigger.name}'")
    advice = (
        f"The run may have started (and be billed): look for a result named '{trigger.name}' "
        "in the Cekura dashboard before running this again, and gate it with --result-id"
    )
    if rerun:
        advice = (
            f"The rerun may have started (and be billed): look for a result named "
            f"'{trigger.name}' in the Cekura dashboard; it is not sent again"
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


def _rerun(
    settings: RunCommandSettings,
    session: Session,
    client: CekuraClient,
    policy: Policy,
    trigger: _Trigger,
    first: Result,
    reruns: RerunSettings,
) -> tuple[Result, RerunLog]:
    """Rerun rounds until nothing needs one, the budget is spent or a round fails; the
    union of the attempts, and the log the reports show."""
    ledger = first_ledger(first, reruns.max_calls)
    if reruns.max_calls is not None and ledger.calls > reruns.max_calls:
        ledger = _noted(
            session,
            ledger,
            f"result {first.id} made {plural(ledger.calls, 'call')}, more than max_calls "
            f"({reruns.max_calls}): no rerun",
        )
    elif reruns.active and first.status in (Status.TIMEOUT, Status.CANCELLED):
        ledger = _noted(session, ledger, f"result {first.id} ended {first.status_text}: no rerun")
    elif reruns.active:
        per_scenario = calls_per_scenario(trigger.run)
        # Each round spends at least one rerun a slot was allowed; the cap on rounds only
        # guards against a result that never lists the runs it was asked for.
        while len(ledger.rounds) <= reruns.infrastructure + reruns.failed:
            needs = needed_reruns(ledger, reruns)
            if not needs:
                break
            plan = plan_round(
                needs,
                round_=len(ledger.rounds),
                per_frequency=per_scenario,
                remaining=ledger.remaining,
            )
            if plan.note:
                ledger = _noted(session, ledger, plan.note)
            if plan.skipped:
                break
            ledger, go_on = _rerun_round(settings, session, client, policy, trigger, ledger, plan)
            if not go_on:
                break
    return union_result(ledger), ledger.log()


def _noted(session: Session, ledger: Ledger, note: str) -> Ledger:
    session.emit(note)
    return ledger.noted(note)


def _rerun_round(
    settings: RunCommandSettings,
    session: Session,
    client: CekuraClient,
    policy: Policy,
    trigger: _Trigger,
    ledger: Ledger,
    plan: RoundPlan,
) -> tuple[Ledger, bool]:
    """Start and wait for one rerun round; the ledger with it, and whether to go on."""
    run = rerun_of(trigger.run, plan.scenario_ids, plan.frequency)
    rerun = _Trigger.of(dataclasses.replace(run, name=f"{trigger.name} (rerun {plan.round})"))
    session.emit(
        f"rerun round {plan.round} ({' and '.join(plan.reasons)}): scenarios "
        f"{', '.join(map(str, plan.scenario_ids))}, frequency {plan.frequency}, "
        f"{plural(plan.calls, 'call')} ({ledger.calls} spent"
        + (f" of max_calls {ledger.max_calls})" if ledger.max_calls is not None else ")")
    )
    unknown = Round(
        plan.round, None, Status.UNKNOWN, "unknown", plan.calls, plan.scenario_ids,
        plan.frequency, plan.reasons,
    )  # fmt: skip
    try:
        result_id = _start_run(session, client, rerun, plan.round)
    except OutcomeUnknown as exc:
        # Counted as spent: it may have started. Never sent again.
        note = f"rerun round {plan.round}: {exc.message}; the gate judges the results it has"
        return without_result(ledger, unknown, note), False
    except ApiError as exc:  # refused, or never sent: nothing was started
        note = f"rerun round {plan.round} was not started: {exc.message}"
        return without_result(ledger, dataclasses.replace(unknown, calls=0), note), False
    try:
        result = _wait_or_end_calls(settings, session, client, result_id, policy)
    except NoVerdictError as exc:
        note = (
            f"rerun result {result_id} (round {plan.round}) could not be judged: {exc.message}; "
            "the gate judges the results it has"
        )
        lost = dataclasses.replace(unknown, result_id=result_id)
        return without_result(ledger, lost, note), False
    done = dataclasses.replace(
        unknown,
        result_id=result_id,
        status=result.status,
        status_text=result.status_text,
        calls=result.run_total,
    )
    return with_round(ledger, done, result, plan.reran), True


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


# --------------------------------------------------------------------------- --dry-run

HIDDEN = "[hidden]"


def dry_run(settings: RunCommandSettings, env: Environment) -> int:
    """Print what ``run`` would start, and exit 0 without a request (and without a key)."""
    if settings.result_id is not None:
        raise UsageError("--dry-run shows what a run would start; --result-id starts nothing")
    policy = load_policy(settings.gate.policy)
    session = Session.open(settings.gate, env, live=False)
    trigger = _trigger(settings, session, policy)
    reruns = rerun_settings(settings, policy)
    _require_first_fits(trigger, reruns)
    for line in dry_run_lines(trigger, reruns):
        print(line, flush=True)
    return ExitCode.PASSED


def dry_run_lines(trigger: _Trigger, reruns: RerunSettings) -> list[str]:
    run = trigger.run
    calls = estimated_calls(run)
    per_scenario = calls_per_scenario(run)
    lines = [
        f"{PROG}: dry run: nothing is sent to the Cekura API",
        f"would start a {trigger.mode} run named '{trigger.name}'",
        f"  POST {trigger.path}",
        f"  scenarios: {_selected(run)}",
        f"  frequency: {run.frequency or 1}",
        f"  calls per scenario and frequency: {per_scenario} (personalities x test profiles)",
    ]
    if calls is None:
        lines.append("  estimated calls: unknown until Cekura picks the scenarios")
    else:
        lines.append(
            f"  estimated calls: {calls} ({plural(len(run.scenario_ids), 'scenario')} x "
            f"frequency {run.frequency or 1} x {per_scenario})"
        )
    lines.append("  body: " + json.dumps(_shown_body(trigger.body), sort_keys=True))
    lines += _rerun_lines(reruns, calls)
    return lines


def _selected(run: RunSettings) -> str:
    parts = []
    if run.scenario_ids:
        parts.append(", ".join(map(str, run.scenario_ids)))
    if run.tags:
        parts.append("tagged " + ", ".join(run.tags))
    if run.folder_path:
        parts.append(f"in folder {run.folder_path} of project {run.project_id}")
    return "; ".join(parts)


def _shown_body(body: dict[str, Any]) -> dict[str, Any]:
    """The body as it would be sent, the websocket headers' values hidden (they may be
    credentials for the agent)."""
    headers = body.get("websocket_headers")
    if isinstance(headers, dict):
        return {**body, "websocket_headers": dict.fromkeys(headers, HIDDEN)}
    return body


def _rerun_lines(reruns: RerunSettings, calls: int | None) -> list[str]:
    if not reruns.active:
        cap = f"; at most {plural(reruns.max_calls, 'call')}" if reruns.max_calls else ""
        return [f"reruns: none{cap}"]
    asked = []
    if reruns.infrastructure:
        asked.append(f"infrastructure-failed runs up to {plural(reruns.infrastructure, 'time')}")
    if reruns.failed:
        asked.append(f"failed runs up to {plural(reruns.failed, 'time')}")
    assert reruns.max_calls is not None
    left = (
        f"{plural(reruns.max_calls - calls, 'call')} left for reruns"
        if calls is not None
        else "what the first result leaves for reruns"
    )
    return [
        "reruns: " + ", ".join(asked),
        f"  max_calls: {reruns.max_calls} in all, the first result's included: {left}",
    ]
