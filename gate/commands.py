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
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

from gate import github, gitlab
from gate.cli import DEFAULT_DASHBOARD_URL, PROG
from gate.errors import (
    ApiUnavailable,
    ExitCode,
    GateError,
    Interrupted,
    ResultError,
    UsageError,
    WaitTimeout,
    redact_forms,
)
from gate.evaluate import Verdict, VerdictStatus, evaluate, no_verdict
from gate.files import prepare_output, read_json, read_text, write_atomic
from gate.github import GitHub
from gate.gitlab import GitLab
from gate.policy import MAX_POLICY_BYTES, Policy, WaitSettings, parse_policy, selector_problem
from gate.reporters import REPORTERS, dotenv, terminal
from gate.reporters.text import one_line
from gate.results import Result, merge_run_details, normalise
from gate.trigger import labelled, trigger_request, with_overrides

if TYPE_CHECKING:
    from gate.client import CekuraClient

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


def load_result(result_path: str, runs_path: str | None) -> Result:
    payload = read_json(result_path, what="result")
    try:
        if runs_path is not None and isinstance(payload, dict):
            bulk = read_json(runs_path, what="runs file")
            try:
                payload = merge_run_details(payload, bulk)
            except ResultError as exc:
                raise ResultError(f"{runs_path}: {exc}") from None
        return normalise(payload)
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
            context.secret = os.environ.get(args.api_key_env, "").strip()
        if context.github is not None:
            context.github.mask(context.secret)
        return context

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
    from gate.client import (  # httpx is imported for live mode only
        BACKOFF_INITIAL_S,
        BACKOFF_MAX_S,
        CekuraClient,
        build_http,
        resolve_settings,
    )

    args = context.args
    settings = resolve_settings(
        api_url=args.api_url or os.environ.get("CEKURA_API_URL"),
        api_key=context.secret,
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
            on_retry=context.emit,
            log=context.emit if args.verbose else None,
        )


def _wait_settings(policy: Policy, args: argparse.Namespace) -> WaitSettings:
    if args.timeout is None:
        return policy.wait
    return dataclasses.replace(policy.wait, timeout_s=args.timeout)


def _wait_for(
    context: CheckContext, client: CekuraClient, result_id: int, policy: Policy
) -> Result:
    from gate.live import fetch_finished_result

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


def _verdict(context: CheckContext, policy: Policy, result: Result) -> Verdict:
    context.result_id = result.id
    context.result_url = context.dashboard_url(result.id, result.project_id)
    require_finished(result)
    return dataclasses.replace(evaluate(policy, result), result_url=context.result_url)


def _judge(context: CheckContext) -> Verdict:
    args = context.args
    policy = load_policy(args.policy)
    if args.result_id is None:
        return _verdict(context, policy, load_result(args.result_file, args.runs_file))
    with _api_client(context, _wait_settings(policy, args)) as client:
        return _verdict(context, policy, _wait_for(context, client, args.result_id, policy))


def _start_run(context: CheckContext, client: CekuraClient, policy: Policy) -> int:
    """POST the trigger once; the new result's id. Never retried once it may have been sent."""
    from gate.client import OutcomeUnknown

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
    with _api_client(context, _wait_settings(policy, args)) as client:
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
        verdict = _verdict(context, policy, result)
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


def cmd_validate(args: argparse.Namespace) -> int:
    policy = load_policy(args.policy)
    rules = policy.rules
    named = [
        name
        for name in ("success_rate", "expected_outcomes", "runs", "critical_categories")
        if getattr(rules, name) is not None
    ]
    if rules.metrics:
        named.append(f"metrics ({len(rules.metrics)})")
    print(f"{args.policy}: valid policy (rules: {', '.join(named)})")
    return ExitCode.PASSED


def schema_text() -> str:
    return resources.files("gate").joinpath("policy.schema.json").read_text(encoding="utf-8")


def cmd_schema(_: argparse.Namespace) -> int:
    print(schema_text(), end="")
    return ExitCode.PASSED


COMMANDS = {"check": cmd_check, "run": cmd_run, "validate": cmd_validate, "schema": cmd_schema}
