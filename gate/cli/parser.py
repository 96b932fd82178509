"""The command line's grammar: argparse, its option types, the documented defaults, and
the one place where argparse's output becomes frozen settings (``parse``).

Imports almost nothing, so that ``--version`` and ``--help`` start fast.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import os
import re
import sys
from typing import Any, NoReturn

from gate import __version__
from gate.cli.settings import (
    DEFAULT_GITHUB_TOKEN_ENV,
    DEFAULT_GITLAB_TOKEN_ENV,
    MAX_RESPONSE_SIZE_ENV,
    ApiOptions,
    BaselineOptions,
    BaselineSettings,
    CheckSettings,
    CiOptions,
    CommentOptions,
    GateOptions,
    InitSettings,
    ReportPaths,
    RunCommandSettings,
    SchemaSettings,
    Settings,
    ValidateSettings,
    dashboard_url_problem,
)
from gate.errors import UsageError
from gate.policy.units import (
    DEFAULT_MARGIN_PERCENT,
    MAX_MARGIN_PERCENT,
    TRANSPORT_MODES,
    parse_date,
    parse_duration,
)

PROG = "cekura-gate"
DEFAULT_POLICY = "gate.yaml"
DEFAULT_DASHBOARD_URL = "https://dashboard.cekura.ai"
DEFAULT_API_URL = "https://api.cekura.ai"
DEFAULT_KEY_ENV = "CEKURA_API_KEY"
DEFAULT_MAX_RESPONSE_SIZE = "256MiB"
# Codes with a meaning of their own (ExitCode) that a warning cannot borrow.
RESERVED_EXIT_CODES = frozenset({2, 3, 4, 130, 143})


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's own, but it reads the terminal's width without importing ``shutil`` (and
    so ``bz2``, ``lzma`` and ``zlib``: 3 ms), as every parser and option makes one."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
        **kwargs: Any,
    ) -> None:
        if width is None:
            width = _terminal_columns() - 2
        super().__init__(prog, indent_increment, max_help_position, width, **kwargs)


def _terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``: ``COLUMNS``, else the width of the terminal
    on stdout, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns > 0:
        return columns
    try:
        measured = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        measured = 0
    return measured or 80


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


# --------------------------------------------------------------------------- parser


def _warn_exit_code(text: str) -> int:
    try:
        code = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= code <= 255 or code in RESERVED_EXIT_CODES:
        raise argparse.ArgumentTypeError(
            f"{code} is not allowed; use 0-255 except 2, 3, 4, 130 and 143, which have fixed "
            "meanings"
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
    group.add_argument(
        "--pr-comment",
        action="store_true",
        help="post the verdict as a comment on the pull request (GitHub) or merge request "
        "(GitLab), edited in place on later runs; if it cannot be posted, a notice says why "
        "and the exit code stays the verdict's",
    )
    group.add_argument(
        "--github-token-env",
        default=DEFAULT_GITHUB_TOKEN_ENV,
        metavar="NAME",
        help="environment variable holding the GitHub token for --pr-comment "
        f"(default: {DEFAULT_GITHUB_TOKEN_ENV})",
    )
    group.add_argument(
        "--gitlab-token-env",
        default=DEFAULT_GITLAB_TOKEN_ENV,
        metavar="NAME",
        help="environment variable holding the GitLab token for --pr-comment "
        f"(default: {DEFAULT_GITLAB_TOKEN_ENV})",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number of at least 1, got {value}")
    return value


def _rounds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number of at least 0, got {value}")
    return value


MAX_SHARE_LINK_DAYS = 3650


def _share_link_days(text: str) -> int:
    """1 to 3650 days: checked here, because the link is made after the run was paid for."""
    days = _positive_int(text)
    if days > MAX_SHARE_LINK_DAYS:
        raise argparse.ArgumentTypeError(
            f"expected at most {MAX_SHARE_LINK_DAYS} days (ten years), got {days}"
        )
    return days


def _duration(text: str) -> float:
    seconds = parse_duration(text)
    if seconds is None:
        raise argparse.ArgumentTypeError(
            f"expected a duration such as 90s, 15m, 1h30m or a number of seconds, got {text!r}"
        )
    return seconds


SIZE_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9}
SIZE_UNITS.update({"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30})


def parse_size(text: str) -> int | None:
    """Bytes in ``256MiB``, ``1.5GiB``, ``500KB`` or ``1048576``; ``None`` if not a size
    of at least one byte."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", text.lower())
    if match is None or match[2] not in SIZE_UNITS:
        return None
    size = int(float(match[1]) * SIZE_UNITS[match[2]])
    return size if size >= 1 else None


def _size(text: str) -> int:
    size = parse_size(text)
    if size is None:
        raise argparse.ArgumentTypeError(
            f"expected a size such as 256MiB, 1GiB, 500KB or a number of bytes, got {text!r}"
        )
    return size


WAIT_HELP = "how long to wait for the result (default: the policy's wait.timeout)"
FETCH_HELP = "how long fetching the result may take (default: 2m)"


def _add_api_options(parser: argparse.ArgumentParser, timeout_help: str = WAIT_HELP) -> None:
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
        help=timeout_help,
    )
    group.add_argument(
        "--max-response-size",
        type=_size,
        metavar="SIZE",
        help="the largest API response accepted, decompressed (default: "
        f"${MAX_RESPONSE_SIZE_ENV} or {DEFAULT_MAX_RESPONSE_SIZE})",
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
        type=_dashboard_url,
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


def _dashboard_url(text: str) -> str:
    problem = dashboard_url_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    return text.strip()


def _date(text: str) -> datetime.date:
    day = parse_date(text)
    if day is None:
        raise argparse.ArgumentTypeError(f"expected a date such as 2026-12-31, got {text!r}")
    return day


def _add_baseline_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("baseline and waivers")
    source = group.add_mutually_exclusive_group()
    source.add_argument(
        "--baseline-result-id",
        type=_positive_int,
        metavar="N",
        help="compare with this finished result (fetched from the API); overrides the "
        "policy's baseline:",
    )
    source.add_argument(
        "--baseline-file",
        metavar="PATH",
        help="compare with this result or baseline file (see 'baseline save'); overrides "
        "the policy's baseline:",
    )
    group.add_argument(
        "--as-of",
        type=_date,
        metavar="DATE",
        help="judge waivers (until:) as of this date, YYYY-MM-DD (default: today, UTC)",
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
    _add_baseline_options(check)
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
        type=_share_link_days,
        metavar="N",
        help="create a public link to the result, valid N days, 1 to 3650 (it exposes "
        "transcripts to anyone with the link)",
    )
    reruns = run.add_argument_group(
        "reruns (override the policy's run.rerun; every rerun is a billed call)"
    )
    reruns.add_argument(
        "--rerun-infrastructure",
        type=_rounds,
        metavar="N",
        help="rerun a run slot whose latest attempt was infrastructure-failed up to N times",
    )
    reruns.add_argument(
        "--rerun-failed",
        type=_rounds,
        metavar="M",
        help="rerun a run slot whose latest attempt failed up to M times",
    )
    reruns.add_argument(
        "--max-calls",
        type=_positive_int,
        metavar="C",
        help="start at most C calls in all, the first result's included",
    )
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="print what would be started (scenarios, frequency, estimated calls, rerun "
        "budget) and exit 0, without calling the API",
    )
    _add_gate_options(run)
    _add_baseline_options(run)
    _add_report_options(run)
    _add_api_options(run)
    _add_ci_options(run)


def _add_validate_command(commands: Any) -> None:
    validate = commands.add_parser(
        "validate",
        help="check a policy file (and, with --against, the names it uses) and exit",
        description="Validate a policy file. With --against or --result-id, also check that "
        "every metric, scenario and category the policy names exists in a real result.",
    )
    _add_policy_option(validate)
    source = validate.add_mutually_exclusive_group()
    source.add_argument(
        "--against", metavar="PATH", help="a result saved as JSON to check the names against"
    )
    source.add_argument(
        "--result-id",
        type=_positive_int,
        metavar="N",
        help="a finished result on the Cekura API to check the names against",
    )
    validate.add_argument(
        "--runs-file", metavar="PATH", help="runs-bulk JSON merged into the --against result"
    )
    _add_api_options(validate, FETCH_HELP)


def _add_baseline_command(commands: Any) -> None:
    baseline = commands.add_parser(
        "baseline",
        help="save a result as a baseline file for relative rules",
        description="Manage baseline files.",
    )
    actions = baseline.add_subparsers(
        dest="baseline_command", metavar="ACTION", parser_class=_Parser, required=True
    )
    save = actions.add_parser(
        "save",
        help="write a compact baseline file from a finished result",
        description="Write a finished result as a baseline file to commit to the repository: "
        "counts, metric scores and findings per run, without transcripts or recordings.",
    )
    source = save.add_mutually_exclusive_group(required=True)
    source.add_argument("--result-file", metavar="PATH", help="a result saved as JSON")
    source.add_argument(
        "--result-id", type=_positive_int, metavar="N", help="a result on the Cekura API"
    )
    save.add_argument(
        "--runs-file", metavar="PATH", help="runs-bulk JSON merged into the --result-file result"
    )
    save.add_argument(
        "-o",
        "--output",
        default="baseline.json",
        metavar="PATH",
        help="where to write the baseline (default: baseline.json)",
    )
    _add_api_options(save, FETCH_HELP)


def _margin(text: str) -> float:
    """A percent from 0 to 100, written 10 or 10%; a bare number in (0, 1] is refused as the
    policy refuses it (0.1 reads as 10 % as often as 0.1 %)."""
    written = text.strip()
    signed = written.endswith("%")
    try:
        value = float(written.removesuffix("%").strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a percent such as 10 or 10%, got {text!r}"
        ) from None
    if not 0 <= value <= MAX_MARGIN_PERCENT:  # NaN fails this too
        raise argparse.ArgumentTypeError(
            f"expected a percent from 0 to {MAX_MARGIN_PERCENT:g}, got {text!r}"
        )
    if 0 < value <= 1 and not signed:
        raise argparse.ArgumentTypeError(
            f"{written} reads as {written} %; did you mean {value * 100:g}? (write {written}% "
            f"if you mean {written} %)"
        )
    return value


def _add_init_command(commands: Any) -> None:
    init = commands.add_parser(
        "init",
        help="write a commented policy file: a starter, or one drafted from a finished result",
        description="Write a commented, valid policy file. Without a result, a starter policy "
        "with one rule of every family; with --from-result-file or --result-id, rules set from "
        "that finished result with a margin, so that it passes and a clearly worse one fails.",
    )
    init.add_argument(
        "--policy",
        default=DEFAULT_POLICY,
        metavar="PATH",
        help=f"where to write the policy (default: {DEFAULT_POLICY}); - writes it to stdout",
    )
    init.add_argument(
        "--force", action="store_true", help="replace the policy file if there is one already"
    )
    init.add_argument(
        "--margin",
        type=_margin,
        metavar="PCT",
        help="slack on rates and metric p50s, in percent of the observed value, the worse way "
        f"(default: {DEFAULT_MARGIN_PERCENT:g}); counts are always exact",
    )
    source = init.add_mutually_exclusive_group()
    source.add_argument(
        "--from-result-file",
        metavar="PATH",
        help="draft the rules from this finished result saved as JSON",
    )
    source.add_argument(
        "--result-id",
        type=_positive_int,
        metavar="N",
        help="draft the rules from this finished result on the Cekura API",
    )
    init.add_argument(
        "--runs-file",
        metavar="PATH",
        help="runs-bulk JSON merged into the --from-result-file result (findings, metrics)",
    )
    _add_api_options(init, FETCH_HELP)


def _add_schema_command(commands: Any) -> None:
    commands.add_parser(
        "schema",
        help="print the policy file's JSON Schema",
        description="Print the policy file's JSON Schema.",
    )


COMMANDS = {
    "check": _add_check_command,
    "run": _add_run_command,
    "validate": _add_validate_command,
    "baseline": _add_baseline_command,
    "init": _add_init_command,
    "schema": _add_schema_command,
}


@functools.cache  # built once per process: parsing does not change it, and building costs ~5 ms
def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser; with ``only``, one that knows that command alone.

    A command line whose first word is a command is read by that command's parser and no
    other (the top level has no option to take after it), so ``parse`` builds just that
    one: the same reading, errors and help, for a third of the cost.
    """
    parser = _Parser(prog=PROG, description="Gate a Cekura test result against a policy file.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, add_command in COMMANDS.items():
        if only is None or name == only:
            add_command(commands)
    return parser


# --------------------------------------------------------------------------- settings


def _api(args: argparse.Namespace) -> ApiOptions:
    return ApiOptions(
        api_url=args.api_url,
        api_key_env=args.api_key_env,
        api_version=args.api_version,
        auth_header=args.auth_header,
        allow_insecure_http=args.allow_insecure_http,
        timeout_s=args.timeout,
        verbose=args.verbose,
        max_response_bytes=args.max_response_size,
    )


def _gate(args: argparse.Namespace) -> GateOptions:
    return GateOptions(
        policy=args.policy,
        warn_exit_code=args.warn_exit_code,
        dashboard_url=args.dashboard_url,
        project_id=args.project_id,
        baseline=BaselineOptions(args.baseline_result_id, args.baseline_file, args.as_of),
        reports=ReportPaths(args.junit, args.summary, args.json, args.dotenv),
        api=_api(args),
        ci=CiOptions(
            args.fail_on,
            args.github,
            args.annotations,
            args.step_summary,
            args.gitlab,
            CommentOptions(args.pr_comment, args.github_token_env, args.gitlab_token_env),
        ),
    )


def _settings(args: argparse.Namespace) -> Settings:
    if args.command == "check":
        return CheckSettings(_gate(args), args.result_id, args.result_file, args.runs_file)
    if args.command == "run":
        return RunCommandSettings(
            _gate(args),
            result_id=args.result_id,
            agent_id=args.agent_id,
            scenario_ids=args.scenario_ids,
            tags=args.tags,
            folder_path=args.folder_path,
            mode=args.mode,
            frequency=args.frequency,
            name=args.name,
            end_calls=args.end_calls,
            share_link_days=args.share_link_days,
            rerun_infrastructure=args.rerun_infrastructure,
            rerun_failed=args.rerun_failed,
            max_calls=args.max_calls,
            dry_run=args.dry_run,
        )
    if args.command == "validate":
        return ValidateSettings(
            args.policy, args.against, args.result_id, args.runs_file, _api(args)
        )
    if args.command == "baseline":
        return BaselineSettings(
            args.result_file, args.result_id, args.runs_file, args.output, _api(args)
        )
    if args.command == "init":
        return InitSettings(
            args.policy,
            args.force,
            args.margin,
            args.from_result_file,
            args.result_id,
            args.runs_file,
            _api(args),
        )
    return SchemaSettings()


def parse(argv: list[str]) -> Settings | None:
    """The settings of a command line; ``None`` when it names no command.

    Raises ``UsageError`` for a bad command line and ``SystemExit`` for --help and --version.
    """
    command = argv[0] if argv and argv[0] in COMMANDS else None
    args = build_parser(command).parse_args(argv)
    return None if args.command is None else _settings(args)
