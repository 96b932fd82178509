"""What the command line asked for, as frozen values: one settings type per subcommand,
the pieces they share, and the environment read once when ``main`` starts.

Built only by ``gate.cli.parser`` (from argparse) and ``gate.cli.main`` (the environment);
everything below them sees these values, never an ``argparse.Namespace`` or ``os.environ``.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from types import MappingProxyType
from typing import TypeAlias

from gate import dataclasses
from gate.dataclasses import dataclass
from gate.errors import UsageError


@dataclass(frozen=True)
class ReportPaths:
    """Where each requested report goes (``None``: not asked for)."""

    junit: str | None = None
    summary: str | None = None
    json: str | None = None
    dotenv: str | None = None

    def items(self) -> list[tuple[str, str]]:
        pairs = [(field.name, getattr(self, field.name)) for field in dataclasses.fields(self)]
        return [(name, path) for name, path in pairs if path]


@dataclass(frozen=True)
class ApiOptions:
    """How to reach the Cekura API (live mode, ``run``, fetches by id); the defaults are
    the parser's."""

    api_url: str | None
    api_key_env: str
    api_version: int | None
    auth_header: str | None
    allow_insecure_http: bool
    timeout_s: float | None
    verbose: bool
    max_response_bytes: int | None = None  # None: the environment's, else the default


DEFAULT_GITHUB_TOKEN_ENV = "GITHUB_TOKEN"
DEFAULT_GITLAB_TOKEN_ENV = "CEKURA_GATE_GITLAB_TOKEN"


@dataclass(frozen=True)
class CommentOptions:
    """``--pr-comment``: whether to post the verdict on the pull or merge request, and which
    variables hold the tokens."""

    on: bool = False
    github_token_env: str = DEFAULT_GITHUB_TOKEN_ENV
    gitlab_token_env: str = DEFAULT_GITLAB_TOKEN_ENV


@dataclass(frozen=True)
class CiOptions:
    """Which CI integrations to use and what fails the command."""

    fail_on: str
    github: bool | None
    annotations: bool
    step_summary: bool
    gitlab: bool | None
    comment: CommentOptions = dataclasses.field(default_factory=CommentOptions)


@dataclass(frozen=True)
class BaselineOptions:
    """The baseline flags (they win over the policy's ``baseline:``) and the waivers' day."""

    result_id: int | None = None
    file: str | None = None
    as_of: datetime.date | None = None


@dataclass(frozen=True)
class GateOptions:
    """What ``check`` and ``run`` share: the policy, exit codes, links, reports, API, CI."""

    policy: str
    warn_exit_code: int
    dashboard_url: str | None
    project_id: int | None
    baseline: BaselineOptions
    reports: ReportPaths
    api: ApiOptions
    ci: CiOptions


@dataclass(frozen=True)
class CheckSettings:
    """``check``: judge a result from a file or, with ``result_id``, from the API."""

    gate: GateOptions
    result_id: int | None
    result_file: str | None
    runs_file: str | None


@dataclass(frozen=True)
class RunCommandSettings:
    """``run``: start the policy's scenarios (the flags override its ``run:``), then judge."""

    gate: GateOptions
    result_id: int | None
    agent_id: int | None
    scenario_ids: tuple[int, ...] | None
    tags: tuple[str, ...] | None
    folder_path: str | None
    mode: str | None
    frequency: int | None
    name: str | None
    end_calls: bool
    share_link_days: int | None
    # Reruns (over the policy's run.rerun, key by key) and --dry-run.
    rerun_infrastructure: int | None = None
    rerun_failed: int | None = None
    max_calls: int | None = None
    dry_run: bool = False


@dataclass(frozen=True)
class ValidateSettings:
    """``validate``: the policy, and optionally a result to check its names against."""

    policy: str
    against: str | None
    result_id: int | None
    runs_file: str | None
    api: ApiOptions


@dataclass(frozen=True)
class BaselineSettings:
    """``baseline save``: a finished result (file or id) written as a baseline file."""

    result_file: str | None
    result_id: int | None
    runs_file: str | None
    output: str
    api: ApiOptions


@dataclass(frozen=True)
class InitSettings:
    """``init``: write a starter policy, or one drafted from a finished result (file or id)."""

    policy: str
    force: bool
    margin: float | None  # percent; None: not given (the default applies to a result)
    result_file: str | None
    result_id: int | None
    runs_file: str | None
    api: ApiOptions


@dataclass(frozen=True)
class SchemaSettings:
    """``schema``: nothing to set."""


Settings: TypeAlias = (
    CheckSettings
    | RunCommandSettings
    | ValidateSettings
    | BaselineSettings
    | InitSettings
    | SchemaSettings
)
GateSettings: TypeAlias = CheckSettings | RunCommandSettings


def dashboard_url_problem(url: str) -> str | None:
    """Why ``url`` cannot be the dashboard's base URL, or ``None`` if it can. Checked before
    anything is sent: the link is made only once a run was started (and billed)."""
    import urllib.parse  # only with a dashboard URL: it costs 2 ms (ipaddress) to import

    text = url.strip()
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in text):
        return "expected an http(s) URL such as https://dashboard.cekura.ai"
    return None


DEFAULT_COLUMNS = 80
MAX_RESPONSE_SIZE_ENV = "CEKURA_GATE_MAX_RESPONSE_SIZE"


@dataclass(frozen=True)
class Environment:
    """The process environment as it was when ``main`` started (a read-only copy)."""

    variables: Mapping[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def snapshot(cls, variables: Mapping[str, str]) -> Environment:
        return cls(MappingProxyType(dict(variables)))

    def get(self, name: str) -> str:
        return self.variables.get(name, "")

    def api_key(self, variable: str) -> str:
        return self.get(variable).strip()

    def colour(self, *, terminal: bool) -> bool:
        """Whether the verdict on stdout is coloured. ``NO_COLOR`` (no-color.org) turns it
        off; ``FORCE_COLOR`` (force-color.org) or ``CLICOLOR_FORCE`` turns it on; so does a CI
        whose log shows ANSI colours (GitHub Actions, GitLab CI); otherwise a terminal does,
        unless it is a dumb one."""
        if self.get("NO_COLOR"):
            return False
        if self.get("FORCE_COLOR") or self.get("CLICOLOR_FORCE") not in ("", "0"):
            return True
        if self.get("GITHUB_ACTIONS") == "true" or self.get("GITLAB_CI") == "true":
            return True
        return terminal and self.get("TERM") != "dumb"

    def columns(self, measured: int | None) -> int:
        """How wide the verdict on stdout may be: ``COLUMNS``, else the terminal's width,
        else 80 (a CI log, a pipe)."""
        text = self.get("COLUMNS").strip()
        if text.isascii() and text.isdigit() and 20 <= int(text) <= 1000:  # not '²'
            return int(text)
        return measured if measured else DEFAULT_COLUMNS

    @property
    def debug(self) -> bool:
        """``CEKURA_GATE_DEBUG``: let an internal error raise, with its traceback."""
        return bool(self.get("CEKURA_GATE_DEBUG"))

    @property
    def api_url(self) -> str | None:
        return self.get("CEKURA_API_URL") or None

    @property
    def max_response_size(self) -> str | None:
        """``CEKURA_GATE_MAX_RESPONSE_SIZE``, as written (``--max-response-size`` wins)."""
        return self.get(MAX_RESPONSE_SIZE_ENV).strip() or None

    @property
    def dashboard_url(self) -> str | None:
        return self.get("CEKURA_DASHBOARD_URL") or None

    def check_dashboard_url(self, flag: str | None) -> None:
        """Refuse an unusable ``CEKURA_DASHBOARD_URL`` up front (unless ``--dashboard-url``,
        checked when parsed, overrides it)."""
        problem = (
            None if flag or not self.dashboard_url else dashboard_url_problem(self.dashboard_url)
        )
        if problem is not None:
            raise UsageError(f"CEKURA_DASHBOARD_URL: {problem}")
