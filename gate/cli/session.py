"""One gate's link to the outside world (``check`` and ``run``): the CI it runs in, the
API key, its log lines, and what the reports of a failed gate can still say.

A ``Session`` is built once from the settings and the environment and prints and writes
on the gate's behalf. It holds the API key only from the moment the key is read for the
API (a live gate at once, an offline check only if it fetches a baseline by id): an
offline check never reads the key, so never masks or redacts it. What a gate learns on
the way (the result id, its link) flows as ``Known`` values; ``knowing(known)`` attaches
them to whatever stops the gate, so that ``gate.cli.main`` can write no-verdict reports
that still name the result.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from gate.ci import github, gitlab
from gate.ci.github import GitHub
from gate.ci.gitlab import GitLab
from gate.cli.connect import api_client
from gate.cli.output import append_text, error_line, log_text, write_atomic
from gate.cli.parser import DEFAULT_DASHBOARD_URL, PROG
from gate.cli.settings import Environment, GateOptions, ReportPaths
from gate.dataclasses import dataclass
from gate.errors import redact_forms, redacted_render
from gate.policy.model import WaitSettings
from gate.reporters import dotenv, terminal
from gate.rules.evaluate import NoVerdict, Verdict, no_verdict

if TYPE_CHECKING:
    from gate.api.client import CekuraClient

WAIT_SECTION = "cekura_gate_wait"


@dataclass(frozen=True)
class Known:
    """What a gate has learned about its result so far, for the reports of any outcome."""

    result_id: int | None = None
    result_url: str | None = None


class Stopped(BaseException):
    """Something stopped a gate after ``known`` was learned; ``gate.cli.main`` unwraps it.

    A ``BaseException``, so that no ``except Exception`` on the way can swallow it.
    """

    def __init__(self, cause: BaseException, known: Known) -> None:
        super().__init__(cause)
        self.cause = cause
        self.known = known


@contextlib.contextmanager
def knowing(known: Known) -> Iterator[None]:
    """Whatever stops the gate inside carries ``known`` (an inner ``knowing`` wins)."""
    try:
        yield
    except Stopped:
        raise
    except (Exception, KeyboardInterrupt) as exc:
        raise Stopped(exc, known) from exc


def result_url(result_id: int | None, project_id: int | None, base: str) -> str | None:
    if result_id is None:
        return None
    base = base.rstrip("/")
    return (
        f"{base}/{project_id}/results/{result_id}" if project_id else f"{base}/results/{result_id}"
    )


def _terminal_columns() -> int | None:
    """The width of the terminal stdout is, or ``None`` when stdout is no terminal."""
    try:
        if not sys.stdout.isatty():
            return None
        return os.get_terminal_size(sys.stdout.fileno()).columns
    except (AttributeError, ValueError, OSError):  # closed, replaced or not a real file
        return None


def repository_path(policy: str, env: Environment, cwd: str) -> str | None:
    """The policy's path relative to its repository's root, as annotations and the JUnit
    ``file`` attribute need (the path a pull request's diff shows).

    The root is the nearest directory above the policy holding ``.git``, as long as it lies
    in the CI's checkout (``GITHUB_WORKSPACE``, ``CI_PROJECT_DIR``): a repository checked
    out into a folder of the workspace (``actions/checkout`` with ``path:``) is its own
    root. Without one, the CI's checkout, else the working directory. ``None`` when the
    policy lies outside the root."""
    path = Path(cwd, policy).resolve()
    variable = env.get("GITHUB_WORKSPACE") or env.get("CI_PROJECT_DIR")
    workspace = Path(cwd, variable).resolve() if variable else None
    git = next((parent for parent in path.parents if (parent / ".git").exists()), None)
    if git is not None and (workspace is None or _within(git, workspace)):
        base = git
    else:
        base = workspace or Path(cwd).resolve()
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return None


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _print(line: str) -> None:
    print(line, flush=True)


@contextlib.contextmanager
def _between(first: str, last: Callable[[], str]) -> Iterator[None]:
    """``first`` printed before the block, ``last()`` after it, however it ends."""
    _print(first)
    try:
        yield
    finally:
        _print(last())


@dataclass
class Session:
    """The CI integrations, the API key (once read) and the log of one ``check`` or ``run``."""

    options: GateOptions
    env: Environment
    github: GitHub | None
    gitlab: GitLab | None
    secret: str = ""
    key_read: bool = False
    comment_token: str = ""  # the forge's token, read only with --pr-comment

    @functools.cached_property
    def policy_file(self) -> str | None:
        """The policy's path in the repository (for annotations and JUnit ``file``)."""
        try:
            return repository_path(self.options.policy, self.env, os.getcwd())
        except (OSError, RuntimeError, ValueError):  # a vanished cwd, a symlink loop
            return None

    @classmethod
    def open(cls, options: GateOptions, env: Environment, *, live: bool) -> Session:
        """Detect the CI and, for a live gate in GitHub Actions, mask the key at once."""
        ci = options.ci
        session = cls(
            options,
            env,
            github=github.detect(
                env.variables,
                force=ci.github,
                annotations_on=ci.annotations,
                summary_on=ci.step_summary,
            ),
            gitlab=gitlab.detect(env.variables, force=ci.gitlab),
        )
        if live:
            session._read_key()
        if ci.comment.on:
            session._read_comment_token()
        return session

    def _read_key(self) -> None:
        """Read the key for the API and, in GitHub Actions, mask it before anything prints."""
        if self.key_read:
            return
        self.secret = self.env.api_key(self.options.api.api_key_env)
        self.key_read = True
        line = self.github.mask_line(self.secret) if self.github is not None else None
        if line is not None:
            _print(line)

    def comment_token_variable(self) -> str | None:
        """The variable holding the token for ``--pr-comment``: GitHub's in GitHub Actions,
        GitLab's in GitLab CI, none elsewhere."""
        names = self.options.ci.comment
        if self.github is not None:
            return names.github_token_env
        return names.gitlab_token_env if self.gitlab is not None else None

    def _read_comment_token(self) -> None:
        """Read the forge's token and, in GitHub Actions, mask it before anything prints (a
        token from a secret is masked by the runner already; one from elsewhere is not)."""
        variable = self.comment_token_variable()
        if variable is None:
            return
        self.comment_token = self.env.get(variable).strip()
        line = self.github.mask_line(self.comment_token) if self.github is not None else None
        if line is not None:
            _print(line)

    @contextlib.contextmanager
    def client(self, wait: WaitSettings) -> Iterator[CekuraClient]:
        """The API client, retries paced by ``wait``; the key is masked before first use."""
        self._read_key()  # at once for a live gate; here for an offline baseline by id
        with api_client(self.options.api, self.env, self.secret, wait, self.emit) as client:
            yield client

    def emit(self, message: str) -> None:
        # In CI, progress goes to stdout so that it lands inside its log group.
        stream = sys.stdout if self.github or self.gitlab else sys.stderr
        print(f"{PROG}: {log_text(redact_forms(message, self.secret))}", file=stream, flush=True)

    def folded(self, title: str) -> contextlib.AbstractContextManager[None]:
        """A collapsible block of the CI log for the wait's progress lines."""
        if self.github is not None:
            start, end = self.github.group_lines(title)
            return _between(start, lambda: end)
        if self.gitlab is not None:
            lab = self.gitlab
            start = lab.section_start(WAIT_SECTION, title, time.time())
            return _between(start, lambda: lab.section_end(WAIT_SECTION, time.time()))
        return contextlib.nullcontext()

    def untrusted(self) -> contextlib.AbstractContextManager[None]:
        if self.github is None:
            return contextlib.nullcontext()
        start, end = self.github.untrusted_lines()
        return _between(start, lambda: end)

    def ci_label(self) -> str | None:
        """The commit or merge request this CI job is for, to label a new result."""
        if self.github is not None:
            return self.github.label
        return self.gitlab.label if self.gitlab is not None else None

    def dashboard_url(self, result_id: int, project_id: int | None) -> str:
        base = self.options.dashboard_url or self.env.dashboard_url or DEFAULT_DASHBOARD_URL
        url = result_url(result_id, self.options.project_id or project_id, base)
        assert url is not None
        return url

    def announce(self, result_id: int) -> Known:
        """Make the result findable at once, even if this job is killed while it waits."""
        known = Known(result_id, self.dashboard_url(result_id, None))
        assert known.result_url is not None
        try:
            if self.github is not None:
                outputs = self.github.announcement(result_id, known.result_url)
                if outputs is not None:
                    append_text(outputs.path, outputs.text)
            if self.options.reports.dotenv:
                started = dotenv.render_started(result_id, known.result_url)
                write_atomic(self.options.reports.dotenv, started)
        except OSError as exc:
            error_line(f"cannot record the result id yet: {exc.strerror or exc}")
        return known

    def show(self, verdict: Verdict) -> None:
        """The verdict on stdout; in GitHub Actions, never read as workflow commands."""
        with self.untrusted():
            terminal_size = _terminal_columns()
            colour = self.env.colour(terminal=terminal_size is not None)
            width = self.env.columns(terminal_size)
            text = redacted_render(
                lambda record: terminal.render(record, color=colour, width=width),
                verdict,
                self.secret,
            )
            print(text, end="", flush=True)

    def failure(self, message: str, known: Known) -> NoVerdict:
        return no_verdict(
            redact_forms(message, self.secret),
            policy_source=self.options.policy,
            result_id=known.result_id,
            result_url=known.result_url,
            policy_file=self.policy_file,
        )

    def appended_files(self) -> list[tuple[str, str]]:
        """The GitHub files the gate appends to when it ends: a report written over one would
        replace what other commands of the step appended there, and be appended to again."""
        gh = self.github
        if gh is None:
            return []
        files = [("GITHUB_STEP_SUMMARY", gh.summary_path if gh.summary else None)]
        files.append(("GITHUB_OUTPUT", gh.output_path))
        return [(name, path) for name, path in files if path]

    def publish(self, verdict: Verdict | NoVerdict, paths: ReportPaths) -> None:
        """GitHub annotations, step summary and outputs for the finished gate."""
        if self.github is None:
            return
        publication = self.github.publication(
            verdict,
            junit_path=paths.junit,
            policy_file=self.policy_file,
            secret=self.secret,
        )
        for line in publication.lines:
            _print(line)
        try:
            for append in publication.appends:
                append_text(append.path, append.text)
        except OSError as exc:
            error_line(f"cannot write the GitHub step outputs: {exc.strerror or exc}")
