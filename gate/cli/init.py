"""``cekura-gate init``: write a commented, valid policy file. Without a result, the starter
policy (``gate.policy.starter``); with ``--from-result-file`` or ``--result-id``, one drafted
from that finished result (``gate.rules.draft``).

This module only reads, checks the path, writes and says what it did. An existing policy is
never replaced without ``--force``, a file the command reads never at all, and the file is
written in one step (``write_atomic``: a temp file beside it, then a rename), so a failure
leaves the old file as it was and never half a new one. ``--policy -`` writes to stdout.
"""

from __future__ import annotations

import os
import stat
import sys

from gate.cli.connect import fetch_payload
from gate.cli.inputs import load_payload
from gate.cli.output import refuse_overwriting, say, write_atomic
from gate.cli.parser import DEFAULT_POLICY
from gate.cli.settings import Environment, InitSettings
from gate.errors import ExitCode, GateError, PolicyError, ResultError, UsageError
from gate.policy.load import parse_policy
from gate.policy.starter import starter_policy
from gate.policy.units import DEFAULT_MARGIN_PERCENT
from gate.results.model import Result
from gate.results.normalise import normalise
from gate.rules.draft import draft_policy

STDOUT = "-"


def init(settings: InitSettings, env: Environment) -> int:
    _check_flags(settings)
    if settings.policy != STDOUT:
        _check_target(settings)
    named = None if settings.policy in (DEFAULT_POLICY, STDOUT) else settings.policy
    notes: tuple[str, ...] = ()
    if settings.result_file is None and settings.result_id is None:
        text = starter_policy(named)
        done = "starter policy written"
        rules = (
            "success_rate, expected_outcomes, runs, infrastructure, critical_categories, "
            "metrics, scenarios"
        )
        then = f"set each value to what you release on, then: cekura-gate validate{_option(named)}"
    else:
        result = _finished_result(settings, env)
        margin = DEFAULT_MARGIN_PERCENT if settings.margin is None else settings.margin
        draft = draft_policy(result, margin, named)
        text, notes = draft.text, draft.notes
        done = f"policy drafted from result {result.id} with a {margin:g} % margin"
        rules = ", ".join(draft.rules)
        then = f"read its comments, then: cekura-gate validate{_option(named)} {_against(settings)}"
    _self_check(text, settings.policy)
    if settings.policy == STDOUT:
        sys.stdout.write(text)
        for note in notes:
            say(f"note: {note}")
        return ExitCode.PASSED
    _write(settings.policy, text)
    print(f"{settings.policy}: {done} (rules: {rules}); {then}")
    for note in notes:
        print(f"{settings.policy}: note: {note}")
    return ExitCode.PASSED


def _option(named: str | None) -> str:
    import shlex  # only to print a path

    return "" if named is None else f" --policy {shlex.quote(named)}"


def _against(settings: InitSettings) -> str:
    import shlex

    if settings.result_id is not None:
        return f"--result-id {settings.result_id}"
    assert settings.result_file is not None
    runs = f" --runs-file {shlex.quote(settings.runs_file)}" if settings.runs_file else ""
    return f"--against {shlex.quote(settings.result_file)}{runs}"


def _check_flags(settings: InitSettings) -> None:
    if settings.runs_file is not None and settings.result_file is None:
        raise UsageError(
            "--runs-file goes with --from-result-file, not --result-id"
            if settings.result_id is not None
            else "--runs-file needs --from-result-file"
        )
    if settings.margin is not None and settings.result_file is None and settings.result_id is None:
        raise UsageError(
            "--margin goes with --from-result-file or --result-id: the starter policy is not "
            "set from a result"
        )


def _check_target(settings: InitSettings) -> None:
    """Refuse, before anything is read or fetched, a path that cannot or must not be written."""
    path = settings.policy
    try:
        found: os.stat_result | None = os.stat(path)
    except OSError:
        found = None
    if found is not None and stat.S_ISDIR(found.st_mode):
        raise UsageError(f"{path}: is a directory; give a file path for the policy")
    exists = os.path.lexists(path)
    # A device or FIFO (/dev/stdout) is written into, never replaced: nothing is destroyed.
    if exists and (found is None or stat.S_ISREG(found.st_mode)) and not settings.force:
        raise UsageError(f"{path}: a policy file is there already; pass --force to replace it")
    inputs = [("--from-result-file", settings.result_file), ("--runs-file", settings.runs_file)]
    refuse_overwriting([("--policy", path)], [(flag, file) for flag, file in inputs if file])
    if found is not None and not stat.S_ISREG(found.st_mode):
        return
    directory = os.path.dirname(os.path.realpath(path))
    if not os.path.isdir(directory):
        raise UsageError(f"{path}: no such directory: {directory}; create it first")
    if not os.access(directory, os.W_OK):
        raise UsageError(f"{path}: the directory {directory} is not writable")


def _finished_result(settings: InitSettings, env: Environment) -> Result:
    if settings.result_id is not None:
        payload = fetch_payload(settings.api, env, settings.result_id, findings=True, emit=say)
        return normalise(payload)  # fetch_payload refuses a result that is not finished
    assert settings.result_file is not None
    _, result = load_payload(settings.result_file, settings.runs_file)
    if not result.status.is_terminal:
        raise ResultError(
            f"{settings.result_file}: result {result.id} is not finished (status "
            f"'{result.status_text}'); init drafts a policy from a finished result only: save "
            f"it again once it has finished, or use --result-id {result.id}"
        )
    return result


def _self_check(text: str, path: str) -> None:
    """The text must load as a policy before it is written: a draft that does not is a bug,
    and nothing is written."""
    try:
        parse_policy(text, source=path)
    except PolicyError as exc:
        raise GateError(
            f"internal error: the policy init made is not valid ({exc.message}); nothing was "
            "written; please report it"
        ) from None


def _write(path: str, text: str) -> None:
    try:
        write_atomic(path, text)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write the policy: {exc.strerror or exc}") from None
