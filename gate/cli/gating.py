"""The steps ``check`` and ``run`` share: the baseline, the wait, the verdict, and the
exit code a verdict gives.

Each step returns what it learned; what the reports need when a step fails travels with
the failure (``knowing``), so there is no shared state to update.
"""

from __future__ import annotations

import contextlib
import datetime
import gc
import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from gate import dataclasses
from gate.cli.connect import FETCH_TIMEOUT_S, fetch_result_once
from gate.cli.inputs import (
    Baseline,
    baseline_from_file,
    load_policy,
    policy_baseline_file,
    require_completed_baseline,
    require_finished,
)
from gate.cli.output import refuse_overwriting, report_outputs
from gate.cli.parser import PROG
from gate.cli.session import Known, Session, knowing
from gate.cli.settings import ApiOptions, BaselineOptions, GateOptions
from gate.errors import ApiError, BaselineError, ExitCode, ResultError
from gate.policy.model import Policy, WaitSettings
from gate.results.model import Result
from gate.results.normalise import normalise
from gate.rules.checks import plural
from gate.rules.evaluate import Verdict, VerdictStatus, evaluate

if TYPE_CHECKING:
    from gate.api.client import CekuraClient

# --------------------------------------------------------------------------- the verdict


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Load and judge a result with Python's cyclic garbage collector paused, then freeze
    (``gc.freeze``) what was built.

    A result file becomes millions of objects (the payload, the ``Result``, the verdict)
    that live until the gate exits and hold no reference cycles, so the collector has
    nothing to free in them; yet it runs every few hundred new objects and, as the heap
    grows, walks all of it again and again, which made judging grow faster than the result
    (2x slower at 100,000 runs). Paused, it costs nothing; frozen, what was built is left
    out of every later collection (while the reports are written, and at exit), and is
    still freed as usual once nothing refers to it. Judging creates no cycles (tested), so
    the pause keeps no memory that the collector would have freed.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
        gc.freeze()
    finally:
        gc.enable()


def gate_policy(options: GateOptions, session: Session, preloaded: Policy | None) -> Policy:
    """The policy to judge with: the one read ahead for the overwrite check, else (a pipe,
    or a policy that could not be read ahead) loaded now, and its baseline file checked
    against the report paths, still before anything is written."""
    session.env.check_dashboard_url(options.dashboard_url)
    if preloaded is not None:
        return preloaded
    policy = load_policy(options.policy)
    named = policy_baseline_file(policy)
    if named is not None:
        outputs = report_outputs(options.reports)
        refuse_overwriting(outputs, [("the policy's baseline file", named)])
    return policy


def today(options: BaselineOptions) -> datetime.date:
    """The day waivers are judged on: ``--as-of``, else today in UTC."""
    return options.as_of or datetime.datetime.now(datetime.timezone.utc).date()


def verdict_of(
    session: Session, policy: Policy, result: Result, baseline: Baseline | None
) -> Verdict:
    """Judge a finished result (with its dashboard link and the baseline's label)."""
    url = session.dashboard_url(result.id, result.project_id)
    with knowing(Known(result.id, url)):
        require_finished(result)
        verdict = evaluate(
            policy,
            result,
            baseline=baseline.result if baseline else None,
            today=today(session.options.baseline),
        )
        if baseline is not None and verdict.baseline is not None:
            verdict = dataclasses.replace(
                verdict, baseline=dataclasses.replace(verdict.baseline, source=baseline.label)
            )
            if baseline.result.id == result.id:
                note = (
                    f"the baseline is result {result.id} itself, so the relative rules compare "
                    "it with itself"
                )
                verdict = dataclasses.replace(verdict, notes=(*verdict.notes, note))
        return dataclasses.replace(verdict, result_url=url, policy_file=session.policy_file)


def exit_code_for(verdict: Verdict, warn_exit_code: int, fail_on: str = "error") -> int:
    """0 pass, ``warn_exit_code`` for warnings, 1 a failure (4 when only infrastructure
    failed, whatever ``fail_on`` says other than never; with ``--fail-on warning``, also
    when every warning is about infrastructure: exit 1 would blame the agent)."""
    if verdict.status is VerdictStatus.PASS or fail_on == "never":
        return ExitCode.PASSED
    if verdict.status is VerdictStatus.WARN:
        if fail_on != "warning":
            return warn_exit_code
        if all(check.infrastructure for check in verdict.warned_checks):
            return ExitCode.INFRASTRUCTURE_FAILED
        return ExitCode.GATE_FAILED
    if verdict.infrastructure_only:
        return ExitCode.INFRASTRUCTURE_FAILED
    return ExitCode.GATE_FAILED


def explain_exit(verdict: Verdict, code: int, fail_on: str) -> None:
    """Say why the exit code differs from what the verdict alone would give."""
    if fail_on == "warning" and verdict.status is VerdictStatus.WARN:
        about = (
            " and every warning is about infrastructure-failed runs"
            if code == ExitCode.INFRASTRUCTURE_FAILED
            else ""
        )
        print(
            f"{PROG}: exiting {code}: warnings fail the gate (--fail-on warning){about}",
            file=sys.stderr,
        )
    elif fail_on == "never" and verdict.status is VerdictStatus.FAIL:
        print(
            f"{PROG}: exiting {code} despite the failed verdict (--fail-on never)", file=sys.stderr
        )


# --------------------------------------------------------------------------- waiting


def wait_settings(policy: Policy, api: ApiOptions) -> WaitSettings:
    if api.timeout_s is None:
        return policy.wait
    return dataclasses.replace(policy.wait, timeout_s=api.timeout_s)


def wait_for(session: Session, client: CekuraClient, result_id: int, policy: Policy) -> Result:
    """Wait until the result is finished (with the runs the rules need); the caller says
    ``knowing(Known(result_id, session.dashboard_url(result_id, None)))``."""
    from gate.api.live import fetch_finished_result

    session.emit(f"waiting for result {result_id}: {session.dashboard_url(result_id, None)}")
    with session.folded(f"Waiting for Cekura result {result_id}"):
        payload = fetch_finished_result(
            client,
            result_id,
            policy,
            wait=wait_settings(policy, session.options.api),
            clock=time.monotonic,
            sleep=time.sleep,
            emit=session.emit,
        )
    return normalise(payload)


# --------------------------------------------------------------------------- baseline


def _baseline_source(options: BaselineOptions, policy: Policy) -> tuple[int | None, str | None]:
    """(result id, file) of the baseline: the flags win over the policy's ``baseline:``."""
    if options.result_id is not None or options.file is not None:
        return options.result_id, options.file
    if policy.baseline is None:
        return None, None
    return policy.baseline.result_id, policy_baseline_file(policy)


def load_baseline(session: Session, policy: Policy, client: CekuraClient | None) -> Baseline | None:
    """The baseline result the policy's relative rules compare with; errors are exit 3."""
    options = session.options.baseline
    result_id, file = _baseline_source(options, policy)
    if result_id is None and file is None:
        needed = policy.rules.baseline_rules(today(options))
        if needed:
            raise BaselineError(
                f"no baseline given, and {', '.join(needed)} compare with one: set "
                "'baseline:' in the policy, or pass --baseline-file or --baseline-result-id"
            )
        return None
    if file is not None:
        baseline = baseline_from_file(file)
    else:
        assert result_id is not None
        if client is None:
            with session.client(policy.wait) as own_client:
                baseline = _fetch_baseline(session, policy, own_client, result_id)
        else:
            baseline = _fetch_baseline(session, policy, client, result_id)
    require_completed_baseline(baseline)
    runs = plural(len(baseline.result.runs), "run")
    session.emit(f"comparing with the baseline {baseline.label} ({runs})")
    return baseline


def _fetch_baseline(
    session: Session, policy: Policy, client: CekuraClient, result_id: int
) -> Baseline:
    from gate.api.live import needs_findings

    label = f"result {result_id}"
    # Bounded by --timeout (or the policy's wait.timeout), and by two minutes: a baseline is
    # a finished result, fetched at once or not at all.
    timeout_s = min(FETCH_TIMEOUT_S, wait_settings(policy, session.options.api).timeout_s)
    try:
        payload = fetch_result_once(
            client,
            result_id,
            findings=needs_findings(policy),
            emit=session.emit,
            timeout_s=timeout_s,
        )
        return Baseline(normalise(payload), label)
    except (ApiError, ResultError) as exc:
        raise BaselineError(f"baseline {label}: {exc.message}") from None
