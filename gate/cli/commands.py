"""The commands behind the command line: check, run, validate, schema.

Each ``cmd_*`` function takes the parsed arguments and returns the exit code. This
module (with ``gate.cli``) is the only code that reads the environment and prints;
whatever happens, every report the user asked for is written, including on exits 2, 3,
130 and 143.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from gate.api.trigger import labelled, trigger_request, with_overrides
from gate.ci import github, gitlab
from gate.ci.github import GitHub
from gate.ci.gitlab import GitLab
from gate.cli.files import prepare_output, read_json, read_text, write_atomic
from gate.cli.parser import DEFAULT_DASHBOARD_URL, PROG
from gate.errors import (
    ApiError,
    ApiUnavailable,
    BaselineError,
    ExitCode,
    GateError,
    Interrupted,
    ResultError,
    UsageError,
    WaitTimeout,
    redact_forms,
)
from gate.policy.load import parse_policy
from gate.policy.model import MAX_POLICY_BYTES, Policy, WaitSettings, selector_problem
from gate.reporters import REPORTERS, dotenv, terminal
from gate.reporters.text import one_line
from gate.results.merge import merge_run_details
from gate.results.model import Result, Status
from gate.results.normalise import RUNS_FILE_HINT, normalise
from gate.rules.evaluate import Verdict, VerdictStatus, evaluate, no_verdict, plural

if TYPE_CHECKING:
    from gate.api.client import CekuraClient

__all__ = [
    "COMMANDS",
    "ReportPaths",
    "error_line",
    "load_policy",
    "load_result",
    "no_verdict",
    "schema_text",
    "write_reports",
]


@dataclass(frozen=True)
class ReportPaths:
    junit: str | None = None
    summary: str | None = None
    json: str | None = None
    dotenv: str | None = None

    def items(self) -> list[tuple[str, str]]:
        pairs = [(field.name, getattr(self, field.name)) for field in dataclasses.fields(self)]
        return [(name, path) for name, path in pairs if path]

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ReportPaths:
        return cls(args.junit, args.summary, args.json, args.dotenv)


# --------------------------------------------------------------------------- loading


def load_policy(path: str) -> Policy:
    text = read_text(path, what="policy", limit=MAX_POLICY_BYTES)
    return parse_policy(text, source=path)


def load_result(
    result_path: str,
    runs_path: str | None,
    *,
    what: str = "result",
    runs_bulk_hint: str = RUNS_FILE_HINT,
) -> Result:
    return load_payload(result_path, runs_path, what=what, runs_bulk_hint=runs_bulk_hint)[1]


def load_payload(
    result_path: str,
    runs_path: str | None,
    *,
    what: str = "result",
    runs_bulk_hint: str = RUNS_FILE_HINT,
) -> tuple[Any, Result]:
    """A result file's JSON (with a runs-bulk file merged in) and the result it holds."""
    payload = read_json(result_path, what=what)
    try:
        if runs_path is not None and isinstance(payload, dict):
            bulk = read_json(runs_path, what="runs file")
            try:
                payload = merge_run_details(payload, bulk)
            except ResultError as exc:
                raise ResultError(f"{runs_path}: {exc}") from None
        return payload, normalise(payload, runs_bulk_hint=runs_bulk_hint)
    except ResultError as exc:
        if str(exc).startswith((f"{result_path}:", f"{runs_path}:")):
            raise
        raise ResultError(f"{result_path}: {exc}") from None


def require_finished(result: Result) -> None:
    if not result.status.is_terminal:
        raise ResultError(
            f"result {result.id} is not finished (status '{result.status_text}'); wait for it "
            f"with: cekura-gate check --result-id {result.id}"
        )


def result_url(result_id: int | None, project_id: int | None, base: str) -> str | None:
    if result_id is None:
        return None
    base = base.rstrip("/")
    return (
        f"{base}/{project_id}/results/{result_id}" if project_id else f"{base}/results/{result_id}"
    )


# --------------------------------------------------------------------------- output


def _use_colour() -> bool:
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def log_text(message: str) -> str:
    """One log line that no CI runner can read as a command: untrusted text (API status
    strings, error bodies) may hold newlines followed by ``::error::`` or the old
    ``##[command]`` form, which GitHub's runner honours anywhere in a line."""
    return one_line(message, 2000).replace("##[", "## [")


def error_line(message: str) -> None:
    print(f"{PROG}: error: {log_text(message)}", file=sys.stderr)


def write_reports(paths: ReportPaths, verdict: Verdict, secret: str = "") -> bool:
    """Write every requested report; returns False if one could not be written as asked.

    A report that cannot be rendered (a bug) is still written, as a no-verdict report
    saying why, so that no requested file is ever missing.
    """
    ok = True
    for name, path in paths.items():
        try:
            text = REPORTERS[name](verdict)
        except Exception as exc:
            message = f"internal error while writing the {name} report ({type(exc).__name__})"
            error_line(message)
            text, ok = (
                REPORTERS[name](no_verdict(message, policy_source=verdict.policy_source)),
                False,
            )
        try:
            write_atomic(path, redact_forms(text, secret))
        except OSError as exc:
            error_line(f"{path}: cannot write the {name} report: {exc.strerror or exc}")
            ok = False
    return ok


def _explain_exit(verdict: Verdict, code: int, fail_on: str) -> None:
    """Say why the exit code differs from what the verdict alone would give."""
    if fail_on == "warning" and verdict.status is VerdictStatus.WARN:
        print(
            f"{PROG}: exiting {code}: warnings fail the gate (--fail-on warning)", file=sys.stderr
        )
    elif fail_on == "never" and verdict.status is VerdictStatus.FAIL:
        print(
            f"{PROG}: exiting {code} despite the failed verdict (--fail-on never)", file=sys.stderr
        )


def exit_code_for(verdict: Verdict, warn_exit_code: int, fail_on: str = "error") -> int:
    if verdict.status is VerdictStatus.PASS or fail_on == "never":
        return ExitCode.PASSED
    if verdict.status is VerdictStatus.WARN:
        return ExitCode.GATE_FAILED if fail_on == "warning" else warn_exit_code
    return ExitCode.GATE_FAILED


# --------------------------------------------------------------------------- commands


@dataclass
class CheckContext:
    """What one ``check`` run knows so far, for the reports of any outcome."""

    args: argparse.Namespace
    secret: str = ""
    result_id: int | None = None
    result_url: str | None = None
    github: GitHub | None = None
    gitlab: GitLab | None = None
    paths: ReportPaths = dataclasses.field(default_factory=lambda: ReportPaths())

    @classmethod
    def start(cls, args: argparse.Namespace) -> CheckContext:
        """Detect the CI and, in GitHub Actions, mask the key before anything is printed."""
        context = cls(
            args,
            github=github.from_environment(
                force=args.github, annotations_on=args.annotations, summary_on=args.step_summary
            ),
            gitlab=gitlab.from_environment(force=args.gitlab),
        )
        if args.command == "run" or args.result_id is not None:
            context.read_secret()  # a baseline fetched by id reads it in _api_client
        return context

    def read_secret(self) -> None:
        """Read the API key (only when the API is used) and mask it before anything prints."""
        if self.secret:
            return
        self.secret = os.environ.get(self.args.api_key_env, "").strip()
        if self.github is not None:
            self.github.mask(self.secret)

    def folded(self, title: str) -> contextlib.AbstractContextManager[None]:
        """A collapsible block of the CI log for the wait's progress lines."""
        if self.github is not None:
            return self.github.group(title)
        if self.gitlab is not None:
            return self.gitlab.section("cekura_gate_wait", title)
        return contextlib.nullcontext()

    def ci_label(self) -> str | None:
        """The commit or merge request this CI job is for, to label a new result."""
        if self.github is not None:
            return self.github.label
        return self.gitlab.label if self.gitlab is not None else None

    def announce(self, result_id: int) -> None:
        """Make the result findable at once, even if this job is killed while it waits."""
        self.result_id = result_id
        self.result_url = self.dashboard_url(result_id, None)
        try:
            if self.github is not None:
                self.github.announce(result_id, self.result_url)
            if self.paths.dotenv:
                write_atomic(self.paths.dotenv, dotenv.render_started(result_id, self.result_url))
        except OSError as exc:
            error_line(f"cannot record the result id yet: {exc.strerror or exc}")

    def untrusted(self) -> contextlib.AbstractContextManager[None]:
        return self.github.untrusted() if self.github is not None else contextlib.nullcontext()

    def publish(self, verdict: Verdict, paths: ReportPaths) -> None:
        if self.github is None:
            return
        try:
            self.github.publish(
                verdict, junit_path=paths.junit, policy_path=self.args.policy, secret=self.secret
            )
        except OSError as exc:
            error_line(f"cannot write the GitHub step outputs: {exc.strerror or exc}")

    def dashboard_url(self, result_id: int, project_id: int | None) -> str:
        base = (
            self.args.dashboard_url
            or os.environ.get("CEKURA_DASHBOARD_URL")
            or DEFAULT_DASHBOARD_URL
        )
        url = result_url(result_id, self.args.project_id or project_id, base)
        assert url is not None
        return url

    def emit(self, message: str) -> None:
        # In CI, progress goes to stdout so that it lands inside its log group.
        stream = sys.stdout if self.github or self.gitlab else sys.stderr
        print(f"{PROG}: {log_text(redact_forms(message, self.secret))}", file=stream, flush=True)

    def failure(self, message: str) -> Verdict:
        return no_verdict(
            redact_forms(message, self.secret),
            policy_source=self.args.policy,
            result_id=self.result_id,
            result_url=self.result_url,
        )


@contextlib.contextmanager
def _api_client(context: CheckContext, wait: WaitSettings) -> Iterator[CekuraClient]:
    """The API client for this command: settings from flags and env, retries paced by ``wait``."""
    context.read_secret()  # a policy's baseline.result_id needs the API even for a file
    with api_client(context.args, context.secret, wait, context.emit) as client:
        yield client


@contextlib.contextmanager
def api_client(
    args: argparse.Namespace, secret: str, wait: WaitSettings, emit: Callable[[str], None]
) -> Iterator[CekuraClient]:
    from gate.api.client import (  # httpx is imported for live mode only
        BACKOFF_INITIAL_S,
        BACKOFF_MAX_S,
        CekuraClient,
        build_http,
        resolve_settings,
    )

    settings = resolve_settings(
        api_url=args.api_url or os.environ.get("CEKURA_API_URL"),
        api_key=secret,
        key_source=f"the {args.api_key_env} environment variable",
        auth_header=args.auth_header,
        api_version=args.api_version,
        allow_insecure_http=args.allow_insecure_http,
    )
    with build_http(settings) as http:
        yield CekuraClient(
            http,
            settings,
            # A policy that polls quickly also retries quickly (tests rely on it).
            backoff_initial_s=min(BACKOFF_INITIAL_S, wait.poll_interval_s),
            backoff_max_s=min(BACKOFF_MAX_S, wait.max_poll_interval_s),
            on_retry=emit,
            log=emit if args.verbose else None,
        )


def _wait_settings(policy: Policy, args: argparse.Namespace) -> WaitSettings:
    if args.timeout is None:
        return policy.wait
    return dataclasses.replace(policy.wait, timeout_s=args.timeout)


def _wait_for(
    context: CheckContext, client: CekuraClient, result_id: int, policy: Policy
) -> Result:
    from gate.api.live import fetch_finished_result

    context.result_id = result_id
    context.result_url = context.dashboard_url(result_id, None)
    context.emit(f"waiting for result {result_id}: {context.result_url}")
    with context.folded(f"Waiting for Cekura result {result_id}"):
        payload = fetch_finished_result(
            client,
            result_id,
            policy,
            wait=_wait_settings(policy, context.args),
            clock=time.monotonic,
            sleep=time.sleep,
            emit=context.emit,
        )
    return normalise(payload)


def _verdict(
    context: CheckContext, policy: Policy, result: Result, baseline: Baseline | None = None
) -> Verdict:
    context.result_id = result.id
    context.result_url = context.dashboard_url(result.id, result.project_id)
    require_finished(result)
    verdict = evaluate(
        policy,
        result,
        baseline=baseline.result if baseline else None,
        today=_today(context.args),
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
    return dataclasses.replace(verdict, result_url=context.result_url)


def _today(args: argparse.Namespace) -> datetime.date:
    """The day waivers are judged on: ``--as-of``, else today in UTC."""
    as_of: datetime.date | None = getattr(args, "as_of", None)
    return as_of or datetime.datetime.now(datetime.timezone.utc).date()


# --------------------------------------------------------------------------- baseline


@dataclass(frozen=True)
class Baseline:
    result: Result
    label: str  # where it came from, for the reports: a file path or "result N"


def _baseline_source(args: argparse.Namespace, policy: Policy) -> tuple[int | None, str | None]:
    """(result id, file) of the baseline: the flags win over the policy's ``baseline:``."""
    if args.baseline_result_id is not None or args.baseline_file is not None:
        return args.baseline_result_id, args.baseline_file
    if policy.baseline is None:
        return None, None
    return policy.baseline.result_id, policy_baseline_file(policy)


def policy_baseline_file(policy: Policy) -> str | None:
    """The policy's ``baseline.file``: relative to the policy file, or, when nothing is
    there, to the working directory (where a CI job's paths usually start)."""
    file = policy.baseline.file if policy.baseline is not None else None
    if file is None or os.path.isabs(file):
        return file
    beside_policy = os.path.join(os.path.dirname(policy.source), file)
    if os.path.exists(beside_policy) or not os.path.exists(file):
        return beside_policy
    return file


def _baseline_from_file(file: str) -> Baseline:
    try:
        hint = (
            "make a baseline from it with: cekura-gate baseline save --result-file RESULT "
            "--runs-file RUNS"
        )
        baseline = Baseline(load_result(file, None, what="file", runs_bulk_hint=hint), file)
    except ResultError as exc:
        message = exc.message if exc.message.startswith(file) else f"{file}: {exc.message}"
        raise BaselineError(f"baseline {message}") from None
    _require_completed_baseline(baseline)
    return baseline


def _needs_findings(policy: Policy) -> bool:
    from gate.api.live import needs_findings

    return needs_findings(policy)


def load_baseline(
    context: CheckContext, policy: Policy, client: CekuraClient | None
) -> Baseline | None:
    """The baseline result the policy's relative rules compare with; errors are exit 3."""
    result_id, file = _baseline_source(context.args, policy)
    if result_id is None and file is None:
        needed = policy.rules.baseline_rules(_today(context.args))
        if needed:
            raise BaselineError(
                f"no baseline given, and {', '.join(needed)} compare with one: set "
                "'baseline:' in the policy, or pass --baseline-file or --baseline-result-id"
            )
        return None
    if file is not None:
        baseline = _baseline_from_file(file)
    else:
        assert result_id is not None
        if client is None:
            with _api_client(context, policy.wait) as own_client:
                baseline = _fetch_baseline(context, policy, own_client, result_id)
        else:
            baseline = _fetch_baseline(context, policy, client, result_id)
    _require_completed_baseline(baseline)
    context.emit(
        f"comparing with the baseline {baseline.label} ({plural(len(baseline.result.runs), 'run')})"
    )
    return baseline


def _fetch_baseline(
    context: CheckContext, policy: Policy, client: CekuraClient, result_id: int
) -> Baseline:
    label = f"result {result_id}"
    try:
        payload = fetch_result_once(
            client, result_id, findings=_needs_findings(policy), emit=context.emit
        )
        return Baseline(normalise(payload), label)
    except (ApiError, ResultError) as exc:
        raise BaselineError(f"baseline {label}: {exc.message}") from None


def fetch_result_once(
    client: CekuraClient,
    result_id: int,
    *,
    findings: bool,
    emit: Callable[[str], None],
    timeout_s: float = 120.0,
) -> Any:
    """One finished result from the API with its run details; no waiting."""
    from gate.api.live import with_run_details

    deadline = time.monotonic() + timeout_s
    payload = client.get_result(result_id, deadline=deadline)
    result = normalise(payload)
    if not result.status.is_terminal:
        raise ResultError(f"the result is not finished (status '{result.status_text}')")
    return with_run_details(
        client,
        payload,
        findings=findings,
        every_run=True,  # a baseline or a lint needs all of them
        deadline=max(deadline, time.monotonic() + 60.0),
        emit=emit,
    )


def _require_completed_baseline(baseline: Baseline) -> None:
    result = baseline.result
    if result.status is not Status.COMPLETED:
        state = "is not finished" if not result.status.is_terminal else "ended"
        raise BaselineError(
            f"baseline {baseline.label} {state} (status '{result.status_text}'); "
            "a baseline must be a completed result"
        )


def _judge(context: CheckContext) -> Verdict:
    args = context.args
    policy = load_policy(args.policy)
    if args.result_id is None:
        result = load_result(args.result_file, args.runs_file)
        context.result_id = result.id  # for the reports, should the baseline fail
        baseline = load_baseline(context, policy, None)
        return _verdict(context, policy, result, baseline)
    context.result_id = args.result_id  # for the reports, should the baseline fail first
    with _api_client(context, _wait_settings(policy, args)) as client:
        # The baseline first: no point waiting half an hour for a result that cannot be judged.
        baseline = load_baseline(context, policy, client)
        return _verdict(
            context, policy, _wait_for(context, client, args.result_id, policy), baseline
        )


def _start_run(context: CheckContext, client: CekuraClient, policy: Policy) -> int:
    """POST the trigger once; the new result's id. Never retried once it may have been sent."""
    from gate.errors import OutcomeUnknown

    args = context.args
    run = with_overrides(
        policy.run,
        agent_id=args.agent_id,
        scenario_ids=args.scenario_ids,
        tags=args.tags,
        folder_path=args.folder_path,
        project_id=args.project_id,
        mode=args.mode,
        frequency=args.frequency,
        name=args.name,
    )
    problem = selector_problem(run)
    if problem is not None:
        raise UsageError(
            f"run: {problem} (in the policy's run: section, or with --scenario-ids, "
            "--tags or --folder-path)"
        )
    run = dataclasses.replace(run, name=labelled(run.name, context.ci_label()))
    path, body = trigger_request(run)
    context.emit(f"starting a {run.mode} run named '{run.name}'")
    advice = (
        f"The run may have started (and be billed): look for a result named '{run.name}' in "
        "the Cekura dashboard before running this again, and gate it with --result-id"
    )
    try:
        return client.start_run(path, body)
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


def _end_calls(context: CheckContext, client: CekuraClient, result_id: int) -> None:
    if not context.args.end_calls:
        return
    try:
        client.end_calls(result_id)
        context.emit(f"asked Cekura to end the calls of result {result_id} still in flight")
    except GateError as exc:
        context.emit(f"warning: could not end the calls of result {result_id}: {exc.message}")


def _share_link(context: CheckContext, client: CekuraClient, result_id: int) -> str | None:
    days = context.args.share_link_days
    expire_at = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days)
    try:
        return client.create_share_link(result_id, expire_at.isoformat(timespec="seconds"))
    except GateError as exc:
        context.emit(f"warning: could not create a share link: {exc.message}")
        return None


def _judge_run(context: CheckContext) -> Verdict:
    args = context.args
    policy = load_policy(args.policy)
    context.result_id = args.result_id
    with _api_client(context, _wait_settings(policy, args)) as client:
        baseline = load_baseline(context, policy, client)  # before a run is started and billed
        if args.result_id is not None:
            context.emit(f"re-attaching to result {args.result_id}; nothing new is started")
            result_id = args.result_id
        else:
            result_id = _start_run(context, client, policy)
        context.announce(result_id)
        try:
            result = _wait_for(context, client, result_id, policy)
        except (WaitTimeout, ApiUnavailable, Interrupted, KeyboardInterrupt):
            # Giving up on the result: stop the calls it still runs, which are billed.
            _end_calls(context, client, result_id)
            raise
        verdict = _verdict(context, policy, result, baseline)
        if args.share_link_days:
            verdict = dataclasses.replace(
                verdict, share_url=_share_link(context, client, result_id)
            )
        return verdict


def prepare_reports(paths: ReportPaths) -> ReportPaths:
    """Create report directories up front; a bad path is a usage error, the others stay usable."""
    seen: dict[str, str] = {}
    for name, path in paths.items():
        key = os.path.realpath(path)
        if key in seen:
            raise UsageError(f"--{seen[key]} and --{name} name the same file: {path}")
        seen[key] = name
    usable: dict[str, str | None] = dict.fromkeys(f.name for f in dataclasses.fields(paths))
    problem: UsageError | None = None
    for name, path in paths.items():
        try:
            prepare_output(path)
            usable[name] = path
        except UsageError as exc:
            problem = problem or exc
    if problem is not None:
        raise _ReportPathError(problem.message, ReportPaths(**usable))
    return paths


class _ReportPathError(UsageError):
    def __init__(self, message: str, usable: ReportPaths) -> None:
        super().__init__(message)
        self.usable = usable


def cmd_check(args: argparse.Namespace) -> int:
    return _gate(args, _judge)


def cmd_run(args: argparse.Namespace) -> int:
    return _gate(args, _judge_run)


def _gate(args: argparse.Namespace, judge: Callable[[CheckContext], Verdict]) -> int:
    """Run ``judge`` and turn whatever happens into printed output, reports and an exit code."""
    context = CheckContext.start(args)
    paths = ReportPaths.from_args(args)
    try:
        if args.fail_on != "error" and args.warn_exit_code != 0:
            raise UsageError(
                f"--warn-exit-code only applies with --fail-on error, not {args.fail_on}"
            )
        with _signals_as_exceptions():
            paths = prepare_reports(paths)
            context.paths = paths
            verdict = judge(context)
        code = exit_code_for(verdict, args.warn_exit_code, args.fail_on)
        _explain_exit(verdict, code, args.fail_on)
        with context.untrusted():
            text = terminal.render(verdict, color=_use_colour())
            print(redact_forms(text, context.secret), end="", flush=True)
    except GateError as exc:
        error_line(redact_forms(exc.message, context.secret))
        if isinstance(exc, _ReportPathError):
            paths = exc.usable
        verdict, code = context.failure(exc.message), int(exc.exit_code)
    except KeyboardInterrupt:
        error_line("interrupted")
        verdict, code = context.failure("the gate was interrupted"), ExitCode.INTERRUPTED
    except Exception as exc:  # a bug: still say why in one line and keep the reports
        if os.environ.get("CEKURA_GATE_DEBUG"):
            raise
        message = f"internal error ({type(exc).__name__}): {exc}; please report it"
        error_line(redact_forms(message, context.secret))
        verdict, code = context.failure(message), ExitCode.NO_VERDICT
    passed = verdict.status in (VerdictStatus.PASS, VerdictStatus.WARN)
    if not write_reports(paths, verdict, context.secret) and passed:
        code = ExitCode.NO_VERDICT  # a pass whose reports are missing is not a usable pass
    context.publish(verdict, paths)
    return int(code)


@contextlib.contextmanager
def _signals_as_exceptions() -> Iterator[None]:
    """SIGTERM (a cancelled CI job) stops the gate the way Ctrl-C does, with exit 143."""

    def terminate(signum: int, frame: object) -> None:
        raise Interrupted("the gate was terminated (SIGTERM)", ExitCode.TERMINATED)

    try:
        previous = signal.signal(signal.SIGTERM, terminate)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _say(message: str) -> None:
    print(f"{PROG}: {log_text(message)}", file=sys.stderr, flush=True)


def _fetch_payload(args: argparse.Namespace, result_id: int, *, findings: bool) -> Any:
    secret = os.environ.get(args.api_key_env, "").strip()
    wait = WaitSettings() if args.timeout is None else WaitSettings(timeout_s=args.timeout)

    def emit(message: str) -> None:
        _say(redact_forms(message, secret))

    try:
        with api_client(args, secret, wait, emit) as client:
            return fetch_result_once(
                client,
                result_id,
                findings=findings,
                emit=emit,
                timeout_s=args.timeout if args.timeout is not None else 120.0,
            )
    except GateError as exc:
        raise _redacted(exc, secret) from None


def _redacted(exc: GateError, secret: str) -> GateError:
    exc.message = redact_forms(exc.message, secret)
    return exc


def cmd_validate(args: argparse.Namespace) -> int:
    if args.runs_file is not None and args.against is None:
        with_id = args.result_id is not None
        raise UsageError(
            "--runs-file goes with --against, not --result-id"
            if with_id
            else "--runs-file needs --against"
        )
    policy = load_policy(args.policy)
    rules = policy.rules
    named = [
        name
        for name in ("success_rate", "expected_outcomes", "runs", "critical_categories")
        if getattr(rules, name) is not None
    ]
    if rules.metrics:
        named.append(f"metrics ({len(rules.metrics)})")
    if rules.scenarios:
        named.append("scenarios")
    print(f"{args.policy}: valid policy (rules: {', '.join(named)})")
    _validate_baseline(args, policy)
    if args.against is None and args.result_id is None:
        return ExitCode.PASSED
    return _validate_against(args, policy)


def _validate_baseline(args: argparse.Namespace, policy: Policy) -> None:
    """A policy's baseline file must be usable now, not first on the release branch."""
    file = policy_baseline_file(policy)
    if file is not None:
        baseline = _baseline_from_file(file)
        runs = plural(len(baseline.result.runs), "run")
        print(f"{args.policy}: baseline {file}: result {baseline.result.id}, completed, {runs}")
        return
    needed = policy.rules.baseline_rules()
    if needed and policy.baseline is None:
        print(
            f"{args.policy}: note: {', '.join(needed)} compare with a baseline: set "
            "'baseline:' in the policy, or pass --baseline-file or --baseline-result-id "
            "to check and run"
        )


def _validate_against(args: argparse.Namespace, policy: Policy) -> int:
    from gate.rules.lint import lint, summary

    if args.result_id is not None:
        result = normalise(_fetch_payload(args, args.result_id, findings=True))
    else:
        result = load_result(args.against, args.runs_file)
        require_finished(result)  # an unfinished result lacks most names
    issues = lint(policy, result)
    for issue in issues:
        where = f"{issue.path}: " if issue.path else ""
        prefix = "" if issue.blocking else "note: "
        print(f"{args.policy}: {prefix}{where}{log_text(issue.message)}")
    print(f"{args.policy}: {summary(issues, f'result {result.id}')}")
    return ExitCode.GATE_FAILED if any(issue.blocking for issue in issues) else ExitCode.PASSED


def cmd_baseline(args: argparse.Namespace) -> int:
    from gate.results.baseline import baseline_payload

    prepare_output(args.output, "baseline")  # a bad path fails before anything is fetched
    if args.result_id is not None:
        if args.runs_file is not None:
            raise UsageError("--runs-file goes with --result-file, not --result-id")
        payload = _fetch_payload(args, args.result_id, findings=True)
        result = normalise(payload)
    else:
        payload, result = load_payload(args.result_file, args.runs_file)
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
        write_atomic(args.output, text)
    except OSError as exc:
        raise UsageError(
            f"{args.output}: cannot write the baseline: {exc.strerror or exc}"
        ) from None
    runs = plural(len(result.runs), "run")
    print(
        f"{args.output}: baseline of result {result.id} ({runs}, "
        f"{len(text.encode('utf-8')) // 1024 + 1} KiB); commit it and point the policy's "
        f"'baseline: {{file: ...}}' or --baseline-file at it"
    )
    return ExitCode.PASSED


def schema_text() -> str:
    return resources.files("gate.policy").joinpath("policy.schema.json").read_text(encoding="utf-8")


def cmd_schema(_: argparse.Namespace) -> int:
    print(schema_text(), end="")
    return ExitCode.PASSED


COMMANDS = {
    "check": cmd_check,
    "run": cmd_run,
    "validate": cmd_validate,
    "baseline": cmd_baseline,
    "schema": cmd_schema,
}
