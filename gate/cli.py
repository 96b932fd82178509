"""The command line: the only module that reads the environment, prints and exits.

``main(argv) -> int`` parses arguments, runs one command and maps every
``GateError`` to its exit code (see ``gate.errors``). Whatever happens, every
report the user asked for is written, including on exits 2, 3 and 130.
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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any, NoReturn

from gate import __version__, github, gitlab
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
from gate.policy import (
    MAX_POLICY_BYTES,
    TRANSPORT_MODES,
    Policy,
    WaitSettings,
    parse_duration,
    parse_policy,
    selector_problem,
)
from gate.reporters import REPORTERS, dotenv, terminal
from gate.reporters.text import one_line
from gate.results import Result, merge_run_details, normalise
from gate.trigger import labelled, trigger_request, with_overrides

if TYPE_CHECKING:
    from gate.client import CekuraClient

PROG = "cekura-gate"
DEFAULT_POLICY = "gate.yaml"
DEFAULT_DASHBOARD_URL = "https://dashboard.cekura.ai"
DEFAULT_API_URL = "https://api.cekura.ai"
DEFAULT_KEY_ENV = "CEKURA_API_KEY"
RESERVED_EXIT_CODES = frozenset({2, 3, 130, 143})


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


@dataclass(frozen=True)
class ReportPaths:
    junit: str | None = None
    summary: str | None = None
    json: str | None = None
    dotenv: str | None = None

    def paths(self) -> list[str]:
        return [path for _, path in self.items()]

    def items(self) -> list[tuple[str, str]]:
        pairs = [(field.name, getattr(self, field.name)) for field in dataclasses.fields(self)]
        return [(name, path) for name, path in pairs if path]

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> ReportPaths:
        return cls(args.junit, args.summary, args.json, args.dotenv)


# --------------------------------------------------------------------------- parser


def _warn_exit_code(text: str) -> int:
    try:
        code = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= code <= 255 or code in RESERVED_EXIT_CODES:
        raise argparse.ArgumentTypeError(
            f"{code} is not allowed; use 0, 1 or 4-255 (2, 3, 130 and 143 have fixed meanings)"
        )
    return code


def _add_report_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("reports (written for every outcome)")
    group.add_argument("--junit", metavar="PATH", help="write a JUnit XML report")
    group.add_argument("--summary", metavar="PATH", help="write a Markdown summary")
    group.add_argument("--json", metavar="PATH", help="write a JSON report")
    group.add_argument(
        "--dotenv",
        metavar="PATH",
        help="write a GitLab dotenv report (GATE_VERDICT, CEKURA_RESULT_ID, ...)",
    )


def _add_ci_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("CI integration")
    group.add_argument(
        "--fail-on",
        choices=("error", "warning", "never"),
        default="error",
        help="which verdict fails the command: error (default: a failed gate "
        "exits 1), warning (warnings exit 1 too) or never (the verdict never "
        "fails it; errors still exit 2 or 3)",
    )
    group.add_argument(
        "--github",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="GitHub Actions output: annotations, step summary, outputs, log "
        "groups (default: when GITHUB_ACTIONS=true)",
    )
    group.add_argument(
        "--annotations",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="GitHub annotations for failing rules and runs (default: on)",
    )
    group.add_argument(
        "--step-summary",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="append the Markdown verdict to $GITHUB_STEP_SUMMARY (default: on)",
    )
    group.add_argument(
        "--gitlab",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="GitLab log sections (default: when GITLAB_CI=true)",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    return value


def _duration(text: str) -> float:
    seconds = parse_duration(text)
    if seconds is None:
        raise argparse.ArgumentTypeError(
            f"expected a duration such as 90s, 15m, 1h30m or a number of seconds, got {text!r}"
        )
    return seconds


def _add_api_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("live mode (with --result-id)")
    group.add_argument(
        "--api-url",
        metavar="URL",
        help=f"API base URL (default: $CEKURA_API_URL or {DEFAULT_API_URL})",
    )
    group.add_argument(
        "--api-key-env",
        default=DEFAULT_KEY_ENV,
        metavar="NAME",
        help=f"environment variable holding the API key (default: {DEFAULT_KEY_ENV})",
    )
    group.add_argument(
        "--api-version",
        type=int,
        choices=(1, 2),
        metavar="{1,2}",
        help="result endpoints to read (default: 2; 1 for vocera.ai hosts)",
    )
    group.add_argument(
        "--auth-header",
        metavar="NAME",
        help="header carrying the key (default: X-CEKURA-API-KEY; "
        "X-VOCERA-API-KEY for vocera.ai hosts)",
    )
    group.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="allow a plain http:// API URL that is not on this machine",
    )
    group.add_argument(
        "--timeout",
        type=_duration,
        metavar="DURATION",
        help="how long to wait for the result (default: the policy's wait.timeout)",
    )
    group.add_argument(
        "--verbose",
        action="store_true",
        help="log every API request (method, path, status, time) on stderr",
    )


def _add_policy_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--policy",
        default=DEFAULT_POLICY,
        metavar="PATH",
        help=f"policy file (default: {DEFAULT_POLICY})",
    )


def _add_gate_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``check`` and ``run``."""
    _add_policy_option(parser)
    parser.add_argument(
        "--warn-exit-code",
        type=_warn_exit_code,
        default=0,
        metavar="N",
        help="exit code for a pass with warnings (default: 0)",
    )
    parser.add_argument(
        "--dashboard-url",
        metavar="URL",
        help="Cekura dashboard base URL (default: $CEKURA_DASHBOARD_URL or "
        f"{DEFAULT_DASHBOARD_URL})",
    )
    parser.add_argument(
        "--project-id",
        type=_positive_int,
        metavar="ID",
        help="project id: for the dashboard link and, with run, for --folder-path",
    )


def _add_check_command(commands: Any) -> None:
    check = commands.add_parser(
        "check",
        help="judge a result; the exit code is the verdict",
        description="Judge a Cekura result against a policy.",
    )
    source = check.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--result-id",
        type=_positive_int,
        metavar="N",
        help="wait for this result on the Cekura API, then gate it",
    )
    source.add_argument(
        "--result-file",
        metavar="PATH",
        help="a result saved as JSON (GET /test_framework/v2/results/{id}/)",
    )
    check.add_argument(
        "--runs-file",
        metavar="PATH",
        help="runs-bulk JSON whose run details are merged into the result",
    )
    _add_gate_options(check)
    _add_report_options(check)
    _add_api_options(check)
    _add_ci_options(check)


def _id_list(text: str) -> tuple[int, ...]:
    return tuple(_positive_int(item.strip()) for item in text.split(",") if item.strip())


def _name_list(text: str) -> tuple[str, ...]:
    names = tuple(item.strip() for item in text.split(",") if item.strip())
    if not names:
        raise argparse.ArgumentTypeError("expected a comma-separated list")
    return names


def _add_run_command(commands: Any) -> None:
    run = commands.add_parser(
        "run",
        help="start Cekura scenarios, wait for the result, and gate it",
        description="Start the scenarios of the policy's run: section (or the flags below), "
        "wait for the result and gate it. With --result-id, gate an existing result instead: "
        "nothing new is started (and billed).",
    )
    run.add_argument(
        "--result-id",
        type=_positive_int,
        metavar="N",
        help="re-attach to this result instead of starting a run",
    )
    trigger = run.add_argument_group("what to run (overrides the policy's run: section)")
    trigger.add_argument("--agent-id", type=_positive_int, metavar="ID")
    trigger.add_argument(
        "--scenario-ids", type=_id_list, metavar="IDS", help="comma-separated scenario ids"
    )
    trigger.add_argument(
        "--tags", type=_name_list, metavar="TAGS", help="comma-separated scenario tags"
    )
    trigger.add_argument(
        "--folder-path",
        metavar="PATH",
        help='scenario folder, e.g. "Sales.Inbound" (needs --project-id)',
    )
    trigger.add_argument("--mode", choices=TRANSPORT_MODES, help="voice (default) or text")
    trigger.add_argument(
        "--frequency", type=_positive_int, metavar="N", help="run each scenario N times"
    )
    trigger.add_argument(
        "--name", metavar="LABEL", help="label of the result; the commit or PR is added in CI"
    )
    trigger.add_argument(
        "--no-end-calls",
        dest="end_calls",
        action="store_false",
        help="on timeout or interruption, leave calls in flight running",
    )
    trigger.add_argument(
        "--share-link-days",
        type=_positive_int,
        metavar="N",
        help="create a public link to the result, valid N days (it exposes "
        "transcripts to anyone with the link)",
    )
    _add_gate_options(run)
    _add_report_options(run)
    _add_api_options(run)
    _add_ci_options(run)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Gate a Cekura test result against a policy file.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _add_check_command(commands)
    _add_run_command(commands)
    validate = commands.add_parser(
        "validate", help="check a policy file and exit", description="Validate a policy file."
    )
    _add_policy_option(validate)
    commands.add_parser(
        "schema",
        help="print the policy file's JSON Schema",
        description="Print the policy file's JSON Schema.",
    )
    return parser


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
            f"result {result.id} is not finished (status '{result.status_text}'); gate it "
            "once it has completed"
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
    """Write every requested report; returns False if one could not be written."""
    ok = True
    for name, path in paths.items():
        try:
            write_atomic(path, redact_forms(REPORTERS[name](verdict), secret))
        except OSError as exc:
            error_line(f"{path}: cannot write the {name} report: {exc.strerror or exc}")
            ok = False
    return ok


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
    require_finished(result)
    context.result_url = context.dashboard_url(result.id, result.project_id)
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
        with _signals_as_exceptions():
            paths = prepare_reports(paths)
            context.paths = paths
            verdict = judge(context)
        code = exit_code_for(verdict, args.warn_exit_code, args.fail_on)
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
    if not write_reports(paths, verdict, context.secret) and code == ExitCode.PASSED:
        code = ExitCode.USAGE
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


# --------------------------------------------------------------------------- entry point


def _option_from_argv(argv: Sequence[str], option: str) -> str | None:
    """An option's value even when the rest of the command line is unusable."""
    for index, arg in enumerate(argv):
        if arg == option and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith(f"{option}="):
            return arg.split("=", 1)[1]
    return None


def _usage_failure(exc: GateError, argv: Sequence[str]) -> int:
    error_line(exc.message)
    if "check" in argv or "run" in argv:
        paths = ReportPaths(
            *(_option_from_argv(argv, f"--{f.name}") for f in dataclasses.fields(ReportPaths))
        )
        policy = _option_from_argv(argv, "--policy") or DEFAULT_POLICY
        write_reports(paths, no_verdict(exc.message, policy_source=policy))
    return int(exc.exit_code)


def _tolerate_unencodable_output() -> None:
    """A verdict must print on a legacy code page (Windows runners): replace what cannot."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    _tolerate_unencodable_output()
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
    except UsageError as exc:
        return _usage_failure(exc, args_list)
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0
    if args.command is None:
        parser.print_usage(sys.stderr)
        error_line("a command is required: check, validate or schema (see 'cekura-gate --help')")
        return ExitCode.USAGE
    try:
        return COMMANDS[args.command](args)
    except GateError as exc:
        error_line(exc.message)
        return int(exc.exit_code)
    except KeyboardInterrupt:
        error_line("interrupted")
        return ExitCode.INTERRUPTED
