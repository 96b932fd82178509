"""``cekura-gate baseline save``: write a finished, completed result (from a file or the
API) as a compact baseline file to commit to the repository."""

from __future__ import annotations

import datetime
import json

from gate.cli.connect import fetch_payload
from gate.cli.inputs import load_payload
from gate.cli.output import prepare_output, refuse_overwriting, say, write_atomic
from gate.cli.settings import BaselineSettings, Environment
from gate.errors import ExitCode, ResultError, UsageError
from gate.results.baseline import baseline_payload
from gate.results.model import Status
from gate.results.normalise import normalise
from gate.rules.checks import plural


def save_baseline(settings: BaselineSettings, env: Environment) -> int:
    inputs = [("--result-file", settings.result_file), ("--runs-file", settings.runs_file)]
    refuse_overwriting(
        [("--output", settings.output)], [(flag, path) for flag, path in inputs if path]
    )
    prepare_output(settings.output, "baseline")  # a bad path fails before anything is fetched
    if settings.result_id is not None:
        if settings.runs_file is not None:
            raise UsageError("--runs-file goes with --result-file, not --result-id")
        payload = fetch_payload(settings.api, env, settings.result_id, findings=True, emit=say)
        result = normalise(payload)
    else:
        assert settings.result_file is not None  # the parser requires one of the two
        payload, result = load_payload(settings.result_file, settings.runs_file)
    if result.status is not Status.COMPLETED:
        raise ResultError(
            f"result {result.id} has status '{result.status_text}'; only a completed result "
            "can be a baseline"
        )
    if result.runs_gap is not None:  # a baseline without every run would compare vacuously
        raise ResultError(
            f"{result.runs_gap}; save the baseline from --result-id, or give the runs-bulk "
            "details with --runs-file"
        )
    saved_at = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    document = baseline_payload(payload, saved_at=saved_at)
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    try:
        write_atomic(settings.output, text)
    except OSError as exc:
        raise UsageError(
            f"{settings.output}: cannot write the baseline: {exc.strerror or exc}"
        ) from None
    runs = plural(len(result.runs), "run")
    print(
        f"{settings.output}: baseline of result {result.id} ({runs}, "
        f"{len(text.encode('utf-8')) // 1024 + 1} KiB); commit it and point the policy's "
        f"'baseline: {{file: ...}}' or --baseline-file at it"
    )
    return ExitCode.PASSED
