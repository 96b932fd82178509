"""Tests of the CI integrations: the GitHub Action, workflow commands, the GitLab component,
the dotenv report, the Dockerfile, the examples and ``make gate``.

The Action's ``gate`` step is run the way the runner runs it: its ``run`` script and its
``env:`` mapping come from action.yml, ``${{ inputs.X }}`` is replaced by the input (default,
or the test's value) and ``${{ steps.install.outputs.python }}`` by this virtualenv's Python,
and the script runs under ``bash --noprofile --norc -eo pipefail`` with
GITHUB_ACTIONS, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and GITHUB_WORKSPACE set, against the fake
Cekura server (tests/fake_cekura.py) on 127.0.0.1. Every such run gets the same checks
(``assert_runner_contract``): the key is masked first and appears nowhere else, the wait's
progress is inside one log group, the verdict is inside a stop-commands block and nothing
outside it is an unexpected workflow command, at most 10 error and 10 warning annotations
(then one notice), the outputs parse and name every output the Action declares, the step
summary starts with the verdict's heading and stays under 1 MiB.

The GitLab and dotenv cases run ``cekura-gate check`` in this process (tests/e2e/harness.py
``run_gate``); the Action's step, the GitLab component's script, ``make gate`` and the pre-push
hook run as real processes, the installed ``cekura-gate`` entry point included. Policies poll
every 0.1 s.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate.ci import workflow
from gate.reporters import dotenv
from gate.reporters.text import one_line
from gate.rules.checks import Check, Outcome
from gate.rules.evaluate import NoVerdict, Verdict, VerdictStatus
from tests.conftest import ROOT, make_result, make_run
from tests.e2e.harness import Completed, clean_env, run_gate
from tests.fake_cekura import FakeCekura, Fault
from tests.fake_forges import GITHUB_TOKEN, FakeGitHub

VENV_BIN = Path(sys.executable).parent  # not resolved: the venv's bin, not the base Python's
GATE_EXE = VENV_BIN / "cekura-gate"
CHECK_JSONSCHEMA = VENV_BIN / "check-jsonschema"
HADOLINT = VENV_BIN / "hadolint"

KEY = "sk-ci-GATE-KEY-4b7e21d9"
RESULT_ID = 4242
RESULT_PATH = f"/test_framework/v2/results/{RESULT_ID}/"
SUBPROCESS_LIMIT_S = 60

FAST_WAIT = "wait: {poll_interval: 0.1s, max_poll_interval: 0.2s, timeout: 20s}\n"
PASS_POLICY = f"version: 1\n{FAST_WAIT}rules:\n  success_rate: {{min: 50}}\n"
# One failed run of three: the success rate passes; the failed-runs cap only warns.
WARN_POLICY = (
    f"version: 1\n{FAST_WAIT}rules:\n  success_rate: {{min: 10}}\n"
    "  runs: {max_failed: 0, level: warn}\n"
)
FAIL_POLICY = f"version: 1\n{FAST_WAIT}rules:\n  runs: {{max_failed: 0}}\n"
POLICIES = {"pass": PASS_POLICY, "warn": WARN_POLICY, "fail": FAIL_POLICY}

HEADINGS = {
    "pass": "## :white_check_mark: Cekura gate passed",
    "warn": "## :warning: Cekura gate passed with warnings",
    "fail": "## :x: Cekura gate failed",
    "error": "## :no_entry: Cekura gate: no verdict",
}
TERMINAL_WORDS = {"pass": "PASSED", "warn": "PASSED WITH WARNINGS", "fail": "FAILED"}
MIB = 1024 * 1024

# Text that would be a workflow command if it reached the start of a log line.
INJECTIONS = ("::set-output name=x::y", "::error::pwned", "::warning file=a::pwned")
ESCAPE_NAME = "50% off: a,b\r\nsecond line %0A end"

ANNOTATION_NAMES = frozenset({"error", "warning", "notice"})
EXPECTED_COMMANDS = ANNOTATION_NAMES | {"add-mask", "group", "endgroup", "stop-commands"}
COMMAND_LINE = re.compile(r"::(?P<name>[A-Za-z-]+)(?: (?P<props>[^:]*))?::(?P<data>.*)")
STATUS_LINE = re.compile(r"cekura-gate: \[\d+m\d\ds\] ")
DOTENV_KEY = re.compile(r"[A-Za-z0-9_]+")
RUNNER_NEWLINE = re.compile(r"\r\n|\r|\n")


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


ACTION: dict[str, Any] = load_yaml(ROOT / "action.yml")


def run(
    command: list[str],
    *,
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
    stdin: str = "",
) -> subprocess.CompletedProcess[str]:
    """Run ``command``; stdout and stderr are decoded as UTF-8 with every CR kept."""
    proc = subprocess.run(
        command,
        cwd=cwd,
        env=clean_env() if env is None else env,
        input=stdin.encode("utf-8"),
        capture_output=True,
        timeout=SUBPROCESS_LIMIT_S,
        check=False,
    )
    return subprocess.CompletedProcess(
        proc.args, proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")
    )


def validate(schema: str, path: Path) -> subprocess.CompletedProcess[str]:
    return run([str(CHECK_JSONSCHEMA), "--builtin-schema", schema, str(path)])


# --------------------------------------------------------------------------- parsing helpers


def unescape_data(text: str) -> str:
    """What the runner makes of escaped command data (actions/runner ``ActionCommand``)."""
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def unescape_property(text: str) -> str:
    return (
        text.replace("%0D", "\r")
        .replace("%0A", "\n")
        .replace("%3A", ":")
        .replace("%2C", ",")
        .replace("%25", "%")
    )


@dataclass(frozen=True)
class Command:
    name: str
    properties: dict[str, str]
    data: str


def parse_command(line: str) -> Command | None:
    """A ``::name k=v,...::data`` line as the runner reads it; ``None`` if it is not one."""
    match = COMMAND_LINE.fullmatch(line.lstrip())  # the runner ignores leading whitespace
    if match is None:
        return None
    properties = {}
    for item in (match["props"] or "").split(","):
        if item:
            key, _, value = item.partition("=")
            properties[key] = unescape_property(value)
    return Command(match["name"].lower(), properties, unescape_data(match["data"]))


def parse_output_file(text: str) -> dict[str, str]:
    """``$GITHUB_OUTPUT`` as the runner parses it: ``name=value`` or ``name<<DELIM`` heredocs.

    A name written again replaces the earlier value, as on the runner. Fails on an
    unterminated heredoc or a line that is neither form.
    """
    values: dict[str, str] = {}
    lines = text.split("\n")
    assert lines[-1] == "", "the file must end with a newline"
    index = 0
    while index < len(lines) - 1:
        line = lines[index].removesuffix("\r")
        index += 1
        if not line:
            continue
        equals, heredoc = line.find("="), line.find("<<")
        if equals >= 0 and (heredoc < 0 or equals < heredoc):
            name, value = line[:equals], line[equals + 1 :]
        else:
            assert heredoc > 0, f"not an output line: {line!r}"
            name, delimiter = line[:heredoc], line[heredoc + 2 :]
            assert delimiter, f"empty delimiter: {line!r}"
            body = []
            while True:
                assert index < len(lines) - 1, f"no closing {delimiter!r} for {name!r}"
                candidate = lines[index]
                index += 1
                if candidate.removesuffix("\r") == delimiter:
                    break
                body.append(candidate)
            value = "\n".join(body)
        values[name] = value
    return values


OUR_TITLES = ("Cekura gate", "Run ")


def injected_commands(lines: list[str]) -> list[str]:
    """The lines the runner would run as a workflow command the gate did not mean.

    The runner (actions/runner ``ActionCommand``) takes a line as a command when, after
    leading blanks, it starts with ``::name`` followed by another ``::``, or when it holds
    the old ``##[name ...]`` form anywhere in it.
    """
    bad = []
    for line in lines:
        command = parse_command(line)
        stripped = line.lstrip()
        if command is None:
            if (stripped.startswith("::") and "::" in stripped[2:]) or "##[" in line:
                bad.append(line)
        elif command.name not in EXPECTED_COMMANDS:
            bad.append(line)
        elif command.name in ANNOTATION_NAMES:
            if not command.properties.get("title", "").startswith(OUR_TITLES):
                bad.append(line)
        elif command.name == "add-mask":
            if command.data not in (KEY, GITHUB_TOKEN):  # the API key; with pr-comment, the token
                bad.append(line)
        elif command.name == "group":
            if command.data != f"Waiting for Cekura result {RESULT_ID}" or command.properties:
                bad.append(line)
        elif command.name == "endgroup" and stripped != "::endgroup::":
            bad.append(line)
        elif command.name == "stop-commands":
            bad.append(line)  # split_stop_commands has taken the gate's own ones out
    return bad


def split_stop_commands(lines: list[str]) -> tuple[list[str], list[list[str]], list[str]]:
    """(lines outside stop-commands blocks, each block's lines, each block's token)."""
    outside: list[str] = []
    blocks: list[list[str]] = []
    tokens: list[str] = []
    token: str | None = None
    for line in lines:
        if token is None:
            start = re.fullmatch(r"::stop-commands::(.*)", line)
            if start:
                token = start[1]
                tokens.append(token)
                blocks.append([])
            else:
                outside.append(line)
        elif line == f"::{token}::":
            token = None
        else:
            blocks[-1].append(line)
    assert token is None, "a stop-commands block was never closed"
    return outside, blocks, tokens


def parse_dotenv(text: str) -> dict[str, str]:
    """GitLab's dotenv rules: KEY=VALUE lines, no blank lines, one line per value, < 5 KB."""
    data = text.encode("utf-8")
    assert len(data) < 5 * 1024, f"dotenv report is {len(data)} bytes"
    assert text.endswith("\n") and "\r" not in text and "\x00" not in text
    values: dict[str, str] = {}
    for line in text[:-1].split("\n"):
        assert line, "blank line in the dotenv report"
        assert not line.startswith("#"), line
        key, sep, value = line.partition("=")
        assert sep, f"not KEY=VALUE: {line!r}"
        assert DOTENV_KEY.fullmatch(key), f"bad dotenv key {key!r}"
        assert key not in values, f"duplicate key {key}"
        assert value == value.strip(), f"{key}: leading or trailing blanks"
        values[key] = value
    return values


# --------------------------------------------------------------------------- 1. schemas


@pytest.mark.slow
def test_action_yml_matches_the_github_actions_schema():
    proc = validate("vendor.github-actions", ROOT / "action.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_the_schema_check_is_not_vacuous(tmp_path):
    """A broken action and a broken GitLab job are rejected by the same schemas."""
    broken = dict(ACTION, inputs={"policy": {"required": "maybe"}})
    (tmp_path / "action.yml").write_text(yaml.safe_dump(broken), encoding="utf-8")
    assert validate("vendor.github-actions", tmp_path / "action.yml").returncode == 1
    job = {"gate": {"script": ["true"], "allow_failure": {"exit_codes": "ten"}}}
    (tmp_path / "job.yml").write_text(yaml.safe_dump(job), encoding="utf-8")
    assert validate("vendor.gitlab-ci", tmp_path / "job.yml").returncode == 1


WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
GITHUB_WORKFLOWS = [ROOT / "examples" / "github-workflow.yml", *WORKFLOWS]
GITLAB_FILES = [ROOT / "examples" / "gitlab-ci.yml", ROOT / ".gitlab-ci.yml"]


def test_the_release_workflows_exist():
    assert {path.name for path in WORKFLOWS} >= {"ci.yml", "release.yml"}


@pytest.mark.slow
@pytest.mark.parametrize("path", GITHUB_WORKFLOWS, ids=lambda path: path.name)
def test_github_workflow_matches_the_workflow_schema(path):
    proc = validate("vendor.github-workflows", path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize("path", GITLAB_FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_gitlab_ci_file_matches_the_gitlab_ci_schema(path):
    proc = validate("vendor.gitlab-ci", path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_action_inputs_are_kebab_case_with_description_and_default():
    inputs = ACTION["inputs"]
    assert inputs
    for name, spec in inputs.items():
        assert re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", name), f"{name} is not kebab-case"
        assert str(spec.get("description", "")).strip(), f"{name} has no description"
        assert "default" in spec, f"{name} has no default"
        assert isinstance(spec["default"], str), f"{name}: the default must be a string"
        assert spec.get("required", False) is False, f"{name}: has a default, so not required"


def test_action_run_scripts_take_inputs_only_through_env():
    steps = ACTION["runs"]["steps"]
    scripts = [step["run"] for step in steps if "run" in step]
    assert scripts
    for script in scripts:
        assert "${{" not in script, f"expression in a run script:\n{script}"
    for step in steps:
        if "run" in step:
            assert step.get("shell") == "bash", step.get("id")


def test_every_action_input_reaches_a_step_and_every_output_is_written():
    steps = ACTION["runs"]["steps"]
    used = set(re.findall(r"\$\{\{\s*inputs\.([A-Za-z0-9_-]+)\s*\}\}", json.dumps(steps)))
    assert used == set(ACTION["inputs"]), "inputs declared but unused, or used but undeclared"
    written = set(workflow.outputs(Verdict(VerdictStatus.PASS, "gate.yaml"), junit_path=None))
    for name, spec in ACTION["outputs"].items():
        assert spec["description"].strip()
        assert re.fullmatch(rf"\$\{{\{{ steps\.gate\.outputs\.{name} \}}\}}", spec["value"])
        assert name in written, f"the gate never writes output {name}"


def component_documents() -> tuple[dict[str, Any], dict[str, Any]]:
    """templates/gate.yml as its header (``spec:``) and job documents."""
    header, jobs = yaml.safe_load_all((ROOT / "templates" / "gate.yml").read_text("utf-8"))
    assert isinstance(header, dict) and isinstance(jobs, dict)
    return header, jobs


SGR = re.compile(r"\x1b\[[0-9;]*m")  # the colour codes of the terminal verdict
INTERPOLATION = re.compile(r"\$\[\[\s*inputs\.([A-Za-z0-9_-]+)\s*\]\]")


def as_text(value: Any) -> str:
    """An input's value interpolated into a longer string, as GitLab writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render_component(values: Mapping[str, Any]) -> dict[str, Any]:
    """The job document with ``$[[ inputs.x ]]`` replaced; the inputs' defaults unless given.

    A whole-value interpolation keeps the input's type (a number stays a number); one inside
    a longer string is replaced by its text, as GitLab does (a boolean as ``true``/``false``).
    """
    header, jobs = component_documents()
    inputs = {name: spec.get("default") for name, spec in header["spec"]["inputs"].items()}
    inputs.update(values)
    missing = [name for name, value in inputs.items() if value is None]
    assert not missing, f"give a value for the inputs without default: {missing}"

    def render(node: Any) -> Any:
        if isinstance(node, dict):
            return {render(key): render(value) for key, value in node.items()}
        if isinstance(node, list):
            return [render(item) for item in node]
        if isinstance(node, str):
            whole = INTERPOLATION.fullmatch(node)
            if whole:
                return inputs[whole[1]]
            return INTERPOLATION.sub(lambda match: as_text(inputs[match[1]]), node)
        return node

    rendered: dict[str, Any] = render(jobs)
    assert "$[[" not in json.dumps(rendered)
    return rendered


def test_component_header_declares_every_input_with_a_description():
    header, jobs = component_documents()
    assert set(header) == {"spec"}
    inputs = header["spec"]["inputs"]
    assert inputs
    for name, spec in inputs.items():
        assert str(spec.get("description", "")).strip(), f"{name} has no description"
        kind = spec.get("type", "string")
        assert kind in {"string", "number", "boolean", "array"}, name
        if "default" in spec and kind == "number":
            assert isinstance(spec["default"], int | float) and not isinstance(
                spec["default"], bool
            ), name
        if "default" in spec and kind == "boolean":
            assert isinstance(spec["default"], bool), name
    used = set(INTERPOLATION.findall(json.dumps(jobs)))
    assert used == set(inputs), "inputs declared but unused, or used but undeclared"


def mandatory_inputs() -> dict[str, str]:
    """A value for each component input that has no default."""
    header, _ = component_documents()
    inputs = header["spec"]["inputs"]
    return {name: "4242" for name, spec in inputs.items() if "default" not in spec}


@pytest.mark.slow
def test_rendered_component_job_matches_the_gitlab_ci_schema(tmp_path):
    jobs = render_component(mandatory_inputs())
    [(name, job)] = jobs.items()
    assert name == "cekura-gate"
    exit_codes = job["allow_failure"]["exit_codes"]
    assert exit_codes == 10 and type(exit_codes) is int  # whole-value number stays a number
    assert job["image"]["entrypoint"] == [""]
    assert job["artifacts"]["when"] == "always"
    path = tmp_path / "gate-job.yml"
    path.write_text(yaml.safe_dump(jobs, sort_keys=False), encoding="utf-8")
    proc = validate("vendor.gitlab-ci", path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_rendered_component_with_other_inputs_stays_valid(tmp_path):
    values: dict[str, Any] = {**mandatory_inputs(), "job-prefix": "qa", "warn-exit-code": 42}
    values["result-id"] = "$CEKURA_RESULT_ID"
    jobs = render_component(values)
    assert set(jobs) == {"qa-gate"}
    assert jobs["qa-gate"]["allow_failure"]["exit_codes"] == 42
    path = tmp_path / "gate-job.yml"
    path.write_text(yaml.safe_dump(jobs), encoding="utf-8")
    proc = validate("vendor.gitlab-ci", path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def every_input_set() -> dict[str, Any]:
    """A value, not the default, for every input of the component, of the input's type."""
    header, _ = component_documents()
    values: dict[str, Any] = {}
    for name, spec in header["spec"]["inputs"].items():
        if spec.get("type") == "number":
            values[name] = 42
        elif spec.get("type") == "boolean":
            values[name] = not spec["default"]
        elif name == "image":
            values[name] = "registry.example.com/mirror/cekura-gate:0.2.0"
        elif name in {"job-prefix", "stage", "report-dir"}:
            values[name] = f"qa-{name}"
        else:
            values[name] = f"value of {name}"
    return values


@pytest.mark.slow
def test_rendered_component_with_every_input_set_stays_valid(tmp_path):
    values = every_input_set()
    jobs = render_component(values)
    [(name, job)] = jobs.items()
    assert name == "qa-job-prefix-gate"
    assert job["stage"] == "qa-stage"
    assert job["allow_failure"]["exit_codes"] == 42
    rendered = json.dumps(job)
    for input_name, value in values.items():  # every input reaches the job
        if input_name != "job-prefix":  # the job's name, checked above
            assert as_text(value) in rendered, input_name
    path = tmp_path / "gate-job.yml"
    path.write_text(yaml.safe_dump(jobs), encoding="utf-8")
    proc = validate("vendor.gitlab-ci", path)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# --------------------------------------------------------------------------- 2. Dockerfile


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    instructions: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        keyword, _, args = line.partition(" ")
        instructions.append((keyword.upper(), args.strip()))
    return instructions


@pytest.mark.slow
def test_dockerfile_passes_hadolint():
    proc = run(
        [str(HADOLINT), "--no-color", "--failure-threshold", "warning", "Dockerfile"], cwd=ROOT
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_dockerfile_has_an_exec_form_absolute_entrypoint_and_runs_as_non_root():
    instructions = dockerfile_instructions()
    final_stage = instructions[max(i for i, (kw, _) in enumerate(instructions) if kw == "FROM") :]
    users = [args for keyword, args in final_stage if keyword == "USER"]
    assert len(users) == 1, "the image runs as one unprivileged user"
    uid = users[0].split(":")[0]
    # Numeric, so that Kubernetes' runAsNonRoot can check it.
    assert uid.isdigit() and int(uid) >= 1000, users
    entrypoints = [args for keyword, args in instructions if keyword == "ENTRYPOINT"]
    assert len(entrypoints) == 1
    command = json.loads(entrypoints[0])  # exec form is a JSON array
    assert isinstance(command, list) and all(isinstance(part, str) for part in command)
    assert command[0].startswith("/"), command
    assert Path(command[0]).name == "cekura-gate"


# --------------------------------------------------------------------------- 3. the Action


def action_step(step_id: str) -> dict[str, Any]:
    steps: list[dict[str, Any]] = ACTION["runs"]["steps"]
    [step] = [step for step in steps if step.get("id") == step_id]
    return step


EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def substitute(text: str, inputs: Mapping[str, str], python: str = sys.executable) -> str:
    """The runner's expression evaluation, for the expressions the gate step may use;
    ``python`` is the installed gate's interpreter (this virtualenv's unless told)."""

    def value(match: re.Match[str]) -> str:
        expression = match[1]
        if expression.startswith("inputs."):
            return inputs[expression.removeprefix("inputs.")]
        if expression == "steps.install.outputs.python":
            return python
        raise AssertionError(f"the test runner does not know {expression!r}")

    return EXPRESSION.sub(value, text)


@dataclass
class StepRun:
    """One run of the Action's gate step and what it left behind."""

    code: int
    stdout: str
    stderr: str
    output_text: str
    summary_text: str
    work: Path
    inputs: dict[str, str]
    lines: list[str] = field(init=False)  # stdout as the runner splits it
    error_lines: list[str] = field(init=False)  # stderr, likewise

    def __post_init__(self) -> None:
        # The runner reads the log as .NET's ReadLine does: CR, LF and CRLF all end a line.
        self.lines = RUNNER_NEWLINE.split(self.stdout)
        assert self.lines[-1] == "", "stdout must end with a newline"
        self.lines.pop()
        self.error_lines = RUNNER_NEWLINE.split(self.stderr)

    @property
    def outputs(self) -> dict[str, str]:
        return parse_output_file(self.output_text)

    def annotations(self, name: str) -> list[Command]:
        commands = [parse_command(line) for line in self.lines]
        return [command for command in commands if command and command.name == name]

    def reports(self) -> dict[str, str]:
        return {
            str(path.relative_to(self.work)): path.read_text(encoding="utf-8")
            for path in sorted(self.work.rglob("*"))
            if path.is_file() and path.name != "gate.yaml"
        }


def run_gate_step(
    tmp_path: Path, fake: FakeCekura, policy: str = PASS_POLICY, **inputs: str
) -> StepRun:
    """Run action.yml's ``gate`` step as the runner would (inputs by their YAML names)."""
    return run_gate_step_with(tmp_path, fake, policy, inputs, {})


def run_gate_step_with(
    tmp_path: Path,
    fake: FakeCekura,
    policy: str,
    inputs: Mapping[str, str],
    runner_env: Mapping[str, str],
    *,
    python: str = sys.executable,
) -> StepRun:
    """``run_gate_step`` with more of the runner's variables (a pull request's event, say),
    and the gate run by ``python`` (a stand-in that shows what it was given, say)."""
    step = action_step("gate")
    work = tmp_path / "work"
    runner = tmp_path / "runner"
    work.mkdir()
    runner.mkdir()
    (work / "gate.yaml").write_text(policy, encoding="utf-8")
    output, summary = runner / "github_output", runner / "step_summary"
    output.touch()
    summary.touch()
    values = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    values.update({"result-id": str(RESULT_ID), "api-url": fake.url, "api-key": KEY})
    values.update({name.replace("_", "-"): value for name, value in inputs.items()})
    assert set(values) == set(ACTION["inputs"]), "unknown input"
    env = clean_env(
        GITHUB_ACTIONS="true",
        CI="true",
        GITHUB_OUTPUT=str(output),
        GITHUB_STEP_SUMMARY=str(summary),
        GITHUB_WORKSPACE=str(work),
        **runner_env,
    )
    env.update({name: substitute(str(text), values, python) for name, text in step["env"].items()})
    script = runner / "gate-step.sh"
    script.write_text(substitute(step["run"], values, python), encoding="utf-8")
    proc = run(["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)], cwd=work, env=env)
    result = StepRun(
        proc.returncode,
        proc.stdout,
        proc.stderr,
        output.read_text(encoding="utf-8"),
        summary.read_text(encoding="utf-8"),
        work,
        values,
    )
    assert "Traceback" not in proc.stderr, proc.stderr
    return result


def assert_runner_contract(
    step: StepRun, verdict: str, *, waited: bool = True, progress: bool = True
) -> None:
    """What every run of the gate step must get right, whatever the verdict."""
    # The key is masked before anything else is printed, and never printed again.
    assert step.lines[0] == f"::add-mask::{KEY}", step.stdout[:200]
    assert KEY not in "\n".join(step.lines[1:]), "API key on stdout"
    assert KEY not in step.stderr, "API key on stderr"
    assert KEY not in step.output_text, "API key in GITHUB_OUTPUT"
    assert KEY not in step.summary_text, "API key in the step summary"
    for name, text in step.reports().items():
        assert KEY not in text, f"API key in {name}"

    # Outputs: exactly the declared ones, with the verdict (a repeated name: the last wins).
    outputs = step.outputs
    assert set(outputs) == set(ACTION["outputs"]), outputs
    assert outputs["verdict"] == verdict
    assert outputs["result-id"] == str(RESULT_ID)
    assert re.fullmatch(rf"https://\S+/results/{RESULT_ID}", outputs["result-url"])
    assert outputs["junit-path"] == step.inputs["junit-path"]
    assert (step.work / outputs["junit-path"]).is_file()

    # Step summary: the verdict's heading first, well under GitHub's 1 MiB.
    if step.inputs["summary"] == "on":
        assert step.summary_text.startswith(HEADINGS[verdict] + "\n"), step.summary_text[:200]
        assert len(step.summary_text.encode("utf-8")) < MIB
    else:
        assert step.summary_text == ""

    # The structure of the log: one group holding the wait's progress, then the verdict
    # inside a stop-commands block; no command outside it that the gate did not mean.
    outside, blocks, tokens = split_stop_commands(step.lines)
    groups = [index for index, line in enumerate(outside) if line.startswith("::group::")]
    ends = [index for index, line in enumerate(outside) if line == "::endgroup::"]
    if waited:
        assert len(groups) == 1 and len(ends) == 1 and groups[0] < ends[0], step.stdout
        assert outside[groups[0]] == f"::group::Waiting for Cekura result {RESULT_ID}"
        status_lines = [i for i, line in enumerate(outside) if STATUS_LINE.match(line)]
        assert status_lines or not progress, "no progress lines on stdout"
        assert all(groups[0] < index < ends[0] for index in status_lines), step.stdout
    # stderr is read for commands too; the gate prints nothing there inside the block.
    runner_lines = outside + step.error_lines
    assert not injected_commands(runner_lines), injected_commands(runner_lines)
    for line in runner_lines:
        for injected in INJECTIONS:
            assert not line.lstrip().startswith(injected), f"injected command: {line!r}"
    if verdict == "error":
        assert not blocks  # no verdict printed; the reason is one line on stderr
    else:
        assert len(blocks) == 1, step.stdout
        assert re.fullmatch(r"[0-9a-f]{32}", tokens[0]), tokens[0]
        # GitHub's log shows ANSI colours, so the verdict is coloured there.
        assert "\x1b[" in blocks[0][0], blocks[0][0]
        first = SGR.sub("", blocks[0][0])
        assert first.startswith(f"cekura-gate: {TERMINAL_WORDS[verdict]} result "), blocks
        assert not any(tokens[0] in line for line in blocks[0])

    # Annotations: at most 10 errors and 10 warnings, then one notice counting the rest.
    errors, warnings = step.annotations("error"), step.annotations("warning")
    notices = step.annotations("notice")
    if step.inputs["annotations"] != "on":
        assert not errors and not warnings and not notices
        return
    assert len(errors) <= 10 and len(warnings) <= 10 and len(notices) <= 1
    if notices:
        assert len(errors) == 10 or len(warnings) == 10
    for command in errors + warnings:
        assert command.properties["title"].startswith(("Cekura gate", "Run "))
        if verdict != "error":
            assert command.properties["file"] == "gate.yaml"  # repo-relative


def running(runs: list[dict[str, Any]], **overrides: Any) -> dict[str, Any]:
    fields = {"id": RESULT_ID, "status": "running", "completed_runs_count": 0, **overrides}
    return make_result(runs, **fields)


def failing_run(run_id: int, **overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "success": False,
        "error_message": "the agent hung up",
        "expected_outcome": {"score": 0, "explanation": ["❌ not booked"]},
    }
    fields.update(overrides)
    return make_run(run_id, **fields)


def serve(fake: FakeCekura, runs: list[dict[str, Any]], **overrides: Any) -> None:
    """Result RESULT_ID: running on the first poll, completed with ``runs`` on the second."""
    fake.add_result(
        RESULT_ID, [running(runs, **overrides), make_result(runs, id=RESULT_ID, **overrides)]
    )


def three_runs() -> list[dict[str, Any]]:
    return [make_run(1), make_run(2), failing_run(3)]


@pytest.fixture
def api_key() -> str:
    return KEY


@pytest.fixture(scope="module", autouse=True)
def installed_gate() -> None:
    assert GATE_EXE.is_file(), f"{GATE_EXE} missing: install the project into this venv"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("verdict", "fail_on", "code"),
    [
        ("pass", "error", 0),
        ("warn", "error", 0),
        ("warn", "warning", 1),
        ("warn", "never", 0),
        ("fail", "error", 1),
        ("fail", "warning", 1),
        ("fail", "never", 0),
    ],
)
def test_gate_step_exit_code_follows_verdict_and_fail_on(tmp_path, fake, verdict, fail_on, code):
    runs = [make_run(1), make_run(2)] if verdict == "pass" else three_runs()
    serve(fake, runs)
    step = run_gate_step(tmp_path, fake, POLICIES[verdict], **{"fail-on": fail_on})
    assert step.code == code, step.stdout + step.stderr
    assert_runner_contract(step, verdict)
    outputs = step.outputs
    if verdict == "pass":
        assert (outputs["success-rate"], outputs["failed-runs"]) == ("100", "0")
        assert not step.annotations("error") and not step.annotations("warning")
    else:
        assert (outputs["success-rate"], outputs["failed-runs"]) == ("66.67", "1")
    if verdict == "warn":
        assert not step.annotations("error")
        titles = [command.properties["title"] for command in step.annotations("warning")]
        assert titles == ["Cekura gate: Runs failed", "Run 3: Book an appointment"]
    if verdict == "fail":
        titles = [command.properties["title"] for command in step.annotations("error")]
        assert titles == ["Cekura gate: Runs failed", "Run 3: Book an appointment"]
    assert not fake.unauthorised_requests()
    assert json.loads((step.work / "cekura-gate" / "verdict.json").read_text())["verdict"] == (
        verdict
    )


@pytest.mark.slow
@pytest.mark.parametrize("fail_on", ["error", "never"])
def test_gate_step_result_not_found_is_no_verdict_exit_3(tmp_path, fake, fail_on):
    step = run_gate_step(tmp_path, fake, PASS_POLICY, **{"fail-on": fail_on})
    assert step.code == 3, step.stdout + step.stderr
    assert_runner_contract(step, "error", progress=False)  # the first poll already fails
    outputs = step.outputs
    assert (outputs["success-rate"], outputs["failed-runs"]) == ("", "")
    [error] = step.annotations("error")
    assert error.properties == {"title": "Cekura gate: no verdict"}
    assert "404" in error.data
    assert "404" in step.stderr


@pytest.mark.slow
def test_gate_step_result_that_never_finishes_times_out_with_exit_3(tmp_path, fake):
    runs = [make_run(1)]
    fake.add_result(RESULT_ID, [running(runs)])
    step = run_gate_step(tmp_path, fake, PASS_POLICY, timeout="1s")
    assert step.code == 3, step.stdout + step.stderr
    assert_runner_contract(step, "error")
    [error] = step.annotations("error")
    assert "not finished" in error.data
    assert len(fake.requests_to(RESULT_PATH)) >= 2


@pytest.mark.slow
def test_gate_step_shows_10_errors_then_a_notice_counting_the_rest(tmp_path, fake):
    runs = [make_run(1)] + [
        failing_run(100 + index, scenario_name=f"Scenario {index:02d}") for index in range(25)
    ]
    serve(fake, runs)
    step = run_gate_step(tmp_path, fake, FAIL_POLICY)
    assert step.code == 1
    assert_runner_contract(step, "fail")
    errors = step.annotations("error")
    assert len(errors) == 10
    assert errors[0].properties["title"] == "Cekura gate: Runs failed"  # rules come first
    assert [command.properties["title"] for command in errors[1:]] == [
        f"Run {100 + index}: Scenario {index:02d}" for index in range(9)
    ]
    assert not step.annotations("warning")
    [notice] = step.annotations("notice")
    assert notice.data.startswith("16 more errors and 0 more warnings are not shown")
    assert step.outputs["failed-runs"] == "25"


@pytest.mark.slow
def test_gate_step_shows_10_warnings_then_a_notice_counting_the_rest(tmp_path, fake):
    runs = [make_run(index) for index in range(1, 30)] + [
        failing_run(100 + index) for index in range(12)
    ]
    serve(fake, runs)
    step = run_gate_step(tmp_path, fake, WARN_POLICY)
    assert step.code == 0
    assert_runner_contract(step, "warn")
    assert not step.annotations("error")
    assert len(step.annotations("warning")) == 10
    [notice] = step.annotations("notice")
    assert notice.data.startswith("0 more errors and 3 more warnings are not shown")


@pytest.mark.slow
def test_gate_step_escapes_annotations_and_cannot_be_injected(tmp_path, fake):
    names = [*INJECTIONS, ESCAPE_NAME]
    runs = [make_run(1)] + [
        failing_run(
            10 + index,
            scenario_name=name,
            error_message=f"100% lost\r\n{name}\n::error::pwned-too (key {KEY})",
        )
        for index, name in enumerate(names)
    ]
    serve(fake, runs, name=f"release\n::error::pwned-by-name\r\n{KEY}")
    step = run_gate_step(tmp_path, fake, FAIL_POLICY)
    assert step.code == 1, step.stdout + step.stderr
    assert_runner_contract(step, "fail")

    # The untrusted names are printed, but only inside the stop-commands block.
    _, [block], _ = split_stop_commands(step.lines)
    assert any("::set-output name=x::y" in line for line in block)
    assert any("::error::pwned" in line for line in block)

    # Each run's annotation decodes back to exactly the flattened name and message.
    by_title = {command.properties["title"]: command for command in step.annotations("error")}
    for index, name in enumerate(names):
        title = f"Run {10 + index}: {one_line(name, 100)}"
        assert title in by_title, sorted(by_title)
        assert by_title[title].data.startswith("error: 100% lost ")
        assert "\n" not in by_title[title].data and "\r" not in by_title[title].data
    raw = next(line for line in step.lines if "50%25 off" in line)
    assert raw.startswith("::error ")
    # ``%``, ``:`` and ``,`` of the title are escaped; a literal ``%0A`` stays literal text.
    assert "title=Run 13%3A 50%25 off%3A a%2Cb" in raw
    assert "%250A end" in raw
    decoded = parse_command(raw)
    assert decoded is not None
    assert "%0A end" in decoded.properties["title"] and "\n" not in decoded.properties["title"]
    assert decoded.data.startswith("error: 100% lost")


def test_injection_checker_recognises_what_the_runner_would_run():
    lines = [
        "::error::pwned",
        "   ::set-output name=x::y",
        "cekura-gate: status running ##[error]pwned",
        "::warning file=a::pwned",
        "::group::Waiting for Cekura result 4242",
        "::endgroup::",
        f"::add-mask::{KEY}",
        "::error title=Run 1%3A ::error::x,file=gate.yaml::why ::error::y ##[error]z",
        "cekura-gate: PASSED result 4242 (a::b)",
    ]
    assert injected_commands(lines) == lines[:4]


@pytest.mark.slow
def test_gate_step_status_text_from_the_api_cannot_inject_commands(tmp_path, fake):
    runs = three_runs()
    fake.add_result(
        RESULT_ID,
        [
            running(runs, status="running\n::error::pwned-by-status\r::set-output name=x::y"),
            make_result(runs, id=RESULT_ID),
        ],
    )
    step = run_gate_step(tmp_path, fake, WARN_POLICY)
    assert step.code == 0, step.stdout + step.stderr
    assert_runner_contract(step, "warn")


@pytest.mark.slow
def test_gate_step_api_error_body_cannot_inject_commands(tmp_path, fake):
    body = '{"detail": "teapot ##[error]pwned-by-body ##[set-output name=verdict;]pass"}'
    fake.fail_next(RESULT_PATH, Fault(status=418, body=body))
    step = run_gate_step(tmp_path, fake, PASS_POLICY)
    assert step.code == 3, step.stdout + step.stderr
    assert_runner_contract(step, "error", progress=False)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("inputs", "summary_on", "annotations_on"),
    [({"summary": "off"}, False, True), ({"annotations": "off"}, True, False)],
)
def test_gate_step_summary_and_annotations_can_be_switched_off(
    tmp_path, fake, inputs, summary_on, annotations_on
):
    serve(fake, three_runs())
    step = run_gate_step(tmp_path, fake, FAIL_POLICY, **inputs)
    assert step.code == 1
    assert_runner_contract(step, "fail")
    assert bool(step.summary_text) is summary_on
    assert bool(step.annotations("error")) is annotations_on
    assert step.outputs["verdict"] == "fail"  # outputs are always written


@pytest.mark.slow
def test_gate_step_comments_on_the_pull_request_then_edits_the_comment(tmp_path, fake):
    """``pr-comment: on``: the first run creates the comment, the next edits it; the token
    is masked right after the key and appears nowhere else."""
    serve(fake, three_runs())
    event = tmp_path / "event.json"
    with FakeGitHub() as github:
        event.write_text(json.dumps({"pull_request": {"number": github.number}}), "utf-8")
        runner = {
            "GITHUB_API_URL": github.url,
            "GITHUB_REPOSITORY": github.repository,
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(event),
        }
        for attempt in ("first", "second"):
            inputs = {"pr-comment": "on", "github-token": github.token}
            (tmp_path / attempt).mkdir()
            step = run_gate_step_with(tmp_path / attempt, fake, FAIL_POLICY, inputs, runner)
            assert step.code == 1, step.stdout + step.stderr
            assert_runner_contract(step, "fail")
            assert step.lines[1] == f"::add-mask::{github.token}"
            assert github.token not in "\n".join(step.lines[2:]) + step.stderr
            assert ("created" if attempt == "first" else "updated") in step.stderr, step.stderr
        [posted] = github.comments
        assert posted["body"].startswith("<!-- cekura-gate:comment policy=gate.yaml -->\n")
        assert len([request for request in github.writes() if request.method == "POST"]) == 1


@pytest.mark.parametrize(("pr_comment", "given"), [("on", True), ("off", False), ("", False)])
def test_gate_step_gives_the_github_token_to_the_gate_only_with_pr_comment(
    tmp_path, fake, pr_comment, given
):
    """A stand-in for the gate's Python says which of the token's variables it was given."""
    stand_in = tmp_path / "python"
    stand_in.write_text(
        "#!/bin/sh\n"
        'for name in GITHUB_TOKEN GATE_GITHUB_TOKEN; do eval "[ -n \\"\\${$name+x}\\" ]" '
        '&& echo "given $name"; done\necho "args $*"\n',
        encoding="utf-8",
    )
    stand_in.chmod(0o755)
    inputs = {"pr-comment": pr_comment, "github-token": "ghs_standInToken0123456789abcdefAB"}
    step = run_gate_step_with(tmp_path, fake, PASS_POLICY, inputs, {}, python=str(stand_in))
    assert step.code == 0, step.stderr
    assert ("given GITHUB_TOKEN" in step.lines) is given
    assert "given GATE_GITHUB_TOKEN" not in step.lines
    [args] = [line for line in step.lines if line.startswith("args ")]
    assert ("--pr-comment" in args.split()) is given


@pytest.mark.slow
@pytest.mark.parametrize("name", ["summary", "annotations", "pr-comment", "end-calls"])
def test_gate_step_refuses_an_on_off_input_that_is_neither(tmp_path, fake, name):
    step = run_gate_step(tmp_path, fake, PASS_POLICY, **{name: "On please"})
    assert step.code == 2
    assert step.stderr == f"cekura-gate: error: input {name} must be on or off, got 'On please'\n"
    assert not fake.requests and step.stdout == ""


@pytest.mark.slow
def test_gate_step_offline_result_file(tmp_path, fake):
    """``result-file`` instead of ``result-id``: no wait, no group, same outputs."""
    work_result = tmp_path / "result.json"
    work_result.write_text(json.dumps(make_result(three_runs(), id=RESULT_ID)), "utf-8")
    step = run_gate_step(
        tmp_path, fake, FAIL_POLICY, **{"result-id": "", "result-file": str(work_result)}
    )
    assert step.code == 1, step.stdout + step.stderr
    assert not fake.requests
    assert not step.lines[0].startswith("::add-mask::")  # no key is read offline
    outputs = step.outputs
    assert outputs["verdict"] == "fail" and outputs["result-id"] == str(RESULT_ID)
    assert "::group::" not in step.stdout


def test_offline_check_neither_reads_masks_nor_redacts_the_key(tmp_path):
    """An offline check never uses the key, so a key that happens to equal a word of the
    result (here ``completed``) must not be masked or cut out of the reports."""
    result = tmp_path / "result.json"
    result.write_text(json.dumps(make_result(three_runs(), id=RESULT_ID)), "utf-8")
    (tmp_path / "gate.yaml").write_text(WARN_POLICY, encoding="utf-8")
    argv = ["check", "--result-file", str(result), "--json", "verdict.json"]
    env = clean_env(CEKURA_API_KEY="completed", GITHUB_ACTIONS="true")
    proc = run_gate(argv, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert "::add-mask::" not in proc.stdout
    assert "[redacted]" not in proc.stdout + proc.stderr
    verdict = json.loads((tmp_path / "verdict.json").read_text("utf-8"))
    assert verdict["result"]["status"] == "completed"


BASELINE_ID = 4141
# The baseline passed every run; now one run of three fails: a drop of 33 points.
BASELINE_POLICY = f"version: 1\n{FAST_WAIT}rules:\n  success_rate: {{max_drop: 10}}\n"


def baseline_input(tmp_path: Path, fake: FakeCekura, source: str) -> str:
    """The value of the ``source`` input for a baseline whose runs all passed."""
    baseline = make_result([make_run(1), make_run(2)], id=BASELINE_ID)
    if source == "baseline-result-id":
        fake.add_result(BASELINE_ID, [baseline])
        return str(BASELINE_ID)
    path = tmp_path / "baselines" / "main.json"
    path.parent.mkdir()
    path.write_text(json.dumps(baseline), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("allow", "gate_exit", "job_exit"),
    [(True, 4, 10), (False, 4, 4), (True, 1, 1), (True, 10, 10), (True, 0, 0), (True, 3, 3)],
)
def test_component_allows_an_infrastructure_only_failure_only_when_asked(
    tmp_path, allow, gate_exit, job_exit
):
    """With allow-infrastructure-failure, exit 4 (only the infrastructure failed) ends the job
    with warn-exit-code, which allow_failure lets through; every other exit is the gate's."""
    [job] = render_component({"allow-infrastructure-failure": allow}).values()
    stand_in = tmp_path / "bin" / "cekura-gate"
    stand_in.parent.mkdir()
    stand_in.write_text(f"#!/bin/sh\nexit {gate_exit}\n", encoding="utf-8")
    stand_in.chmod(0o755)
    env = clean_env(PATH=f"{stand_in.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    env.update({name: str(value) for name, value in job["variables"].items()})
    proc = run(["sh", "-e", "-c", "\n".join(job["script"])], cwd=tmp_path, env=env)
    assert proc.returncode == job_exit, proc.stdout + proc.stderr
    allowed = job["allow_failure"]["exit_codes"]
    allowed = allowed if isinstance(allowed, list) else [allowed]
    assert (proc.returncode in allowed) is (job_exit == 10)


def test_component_allow_infrastructure_failure_is_a_boolean_off_by_default():
    header, _ = component_documents()
    spec = header["spec"]["inputs"]["allow-infrastructure-failure"]
    assert spec["type"] == "boolean" and spec["default"] is False


@pytest.mark.slow
@pytest.mark.parametrize("source", ["baseline-file", "baseline-result-id"])
def test_gate_step_passes_a_baseline_input_to_the_gate(tmp_path, fake, source):
    serve(fake, three_runs())
    step = run_gate_step(
        tmp_path, fake, BASELINE_POLICY, **{source: baseline_input(tmp_path, fake, source)}
    )
    assert step.code == 1, step.stdout + step.stderr
    assert_runner_contract(step, "fail")
    report = json.loads((step.work / "cekura-gate" / "verdict.json").read_text())
    assert report["baseline"]["id"] == BASELINE_ID
    [check] = [check for check in report["checks"] if check["key"] == "success_rate.max_drop"]
    assert (check["outcome"], check["baseline"]) == ("fail", "100%")


@pytest.mark.slow
def test_gate_step_without_a_baseline_input_uses_the_policy_and_fails_closed(tmp_path, fake):
    """Empty baseline inputs pass no flag: a relative rule without any baseline is exit 3."""
    serve(fake, three_runs())
    step = run_gate_step(tmp_path, fake, BASELINE_POLICY)
    assert step.code == 3, step.stdout + step.stderr
    assert "no baseline given" in step.stderr
    assert step.outputs["verdict"] == "error"
    assert not fake.requests_to(RESULT_PATH)  # refused before waiting for the result


@pytest.mark.slow
def test_install_step_is_valid_bash(tmp_path):
    script = tmp_path / "install.sh"
    script.write_text(action_step("install")["run"], encoding="utf-8")
    proc = run(["bash", "-n", str(script)])
    assert proc.returncode == 0, proc.stderr


# --------------------------------------------------------------------------- 4. GitLab


def check_live(tmp_path: Path, fake: FakeCekura, policy: str, *args: str, **env: str) -> Completed:
    """``cekura-gate check --result-id`` in ``tmp_path`` with the key in the environment (in
    this process; the Action and component tests above run the installed entry point)."""
    (tmp_path / "gate.yaml").write_text(policy, encoding="utf-8")
    command = ["check", "--result-id", str(RESULT_ID), "--api-url", fake.url]
    proc = run_gate([*command, *args], cwd=tmp_path, env=clean_env(CEKURA_API_KEY=KEY, **env))
    assert "Traceback" not in proc.stderr, proc.stderr
    assert KEY not in proc.stdout + proc.stderr
    return proc


def test_gitlab_wait_progress_is_in_a_collapsed_section(tmp_path, fake):
    serve(fake, three_runs())
    proc = check_live(tmp_path, fake, WARN_POLICY, GITLAB_CI="true")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.split("\n")
    start = re.compile(
        r"\x1b\[0Ksection_start:(\d+):cekura_gate_wait\[collapsed=true\]\r\x1b\[0K"
        rf"Waiting for Cekura result {RESULT_ID}"
    )
    end = re.compile(r"\x1b\[0Ksection_end:(\d+):cekura_gate_wait\r\x1b\[0K")
    starts = [index for index, line in enumerate(lines) if start.fullmatch(line)]
    ends = [index for index, line in enumerate(lines) if end.fullmatch(line)]
    assert len(starts) == 1 and len(ends) == 1 and starts[0] < ends[0], proc.stdout
    progress = [index for index, line in enumerate(lines) if STATUS_LINE.match(line)]
    assert progress and all(starts[0] < index < ends[0] for index in progress), proc.stdout
    started = start.fullmatch(lines[starts[0]])
    ended = end.fullmatch(lines[ends[0]])
    assert started and ended and int(started[1]) <= int(ended[1])
    assert not any(line.startswith("::") for line in lines)  # no GitHub commands here


def test_dotenv_report_is_single_line_key_values(tmp_path, fake):
    serve(fake, three_runs(), name="release\ncheck\r\nGATE_VERDICT=pass\n", project_id=7)
    path = tmp_path / "reports" / "gate.env"
    proc = check_live(tmp_path, fake, FAIL_POLICY, "--gitlab", "--dotenv", str(path))
    assert proc.returncode == 1, proc.stderr
    values = parse_dotenv(path.read_text(encoding="utf-8"))
    assert values["GATE_VERDICT"] == "fail"
    assert values["CEKURA_RESULT_ID"] == str(RESULT_ID)
    assert values["CEKURA_RESULT_URL"] == f"https://dashboard.cekura.ai/7/results/{RESULT_ID}"
    assert values["GATE_TOTAL_RUNS"] == "3"
    assert values["GATE_FAILED_RUNS"] == "1"
    assert values["GATE_SUCCESS_RATE"] == "66.67"
    assert values["GATE_FAILED_CHECKS"] == "1"
    assert values["GATE_WARNED_CHECKS"] == "0"


def test_dotenv_render_flattens_hostile_values():
    verdict = NoVerdict(
        "boom\nGATE_VERDICT=pass",
        "gate.yaml",
        result_id=RESULT_ID,
        result_url="https://x.example/results/1\nGATE_VERDICT=pass\r\n\x00" + "é" * 6000,
    )
    values = parse_dotenv(dotenv.render(verdict))
    assert values["GATE_VERDICT"] == "error"
    assert values["CEKURA_RESULT_URL"].startswith("https://x.example/results/1 GATE_VERDICT")


def test_dotenv_report_is_written_on_exit_3(tmp_path, fake):
    path = tmp_path / "gate.env"
    proc = check_live(tmp_path, fake, PASS_POLICY, "--dotenv", str(path), GITLAB_CI="true")
    assert proc.returncode == 3, proc.stderr
    values = parse_dotenv(path.read_text(encoding="utf-8"))
    assert values["GATE_VERDICT"] == "error"
    assert values["CEKURA_RESULT_ID"] == str(RESULT_ID)
    assert values["GATE_TOTAL_RUNS"] == ""


@pytest.mark.parametrize(
    "bad",
    [("--policy", "missing.yaml"), ("--warn-exit-code", "3")],
    ids=["missing-policy", "bad-flag"],
)
def test_dotenv_report_is_written_on_exit_2(tmp_path, fake, bad):
    path = tmp_path / "gate.env"
    proc = check_live(tmp_path, fake, PASS_POLICY, "--dotenv", str(path), *bad)
    assert proc.returncode == 2, proc.stderr
    assert parse_dotenv(path.read_text(encoding="utf-8"))["GATE_VERDICT"] == "error"
    assert not fake.requests  # a usage error stops before any API call


@pytest.mark.parametrize(
    ("policy", "runs", "code"),
    [
        (WARN_POLICY, "three", 10),
        (PASS_POLICY, "two", 0),
        (FAIL_POLICY, "three", 1),
    ],
)
def test_warn_exit_code_applies_to_a_pass_with_warnings_only(tmp_path, fake, policy, runs, code):
    serve(fake, three_runs() if runs == "three" else [make_run(1), make_run(2)])
    proc = check_live(tmp_path, fake, policy, "--warn-exit-code", "10")
    assert proc.returncode == code, proc.stderr


@pytest.mark.slow
@pytest.mark.parametrize(
    ("policy", "verdict", "allowed"), [(WARN_POLICY, "warn", True), (FAIL_POLICY, "fail", False)]
)
def test_component_job_script_runs_and_its_exit_code_is_allowed_only_for_warnings(
    tmp_path, fake, policy, verdict, allowed
):
    """The rendered component job, run as a GitLab runner would run its script."""
    serve(fake, three_runs())
    [job] = render_component({"result-id": str(RESULT_ID), "api-url": fake.url}).values()
    (tmp_path / "gate.yaml").write_text(policy, encoding="utf-8")
    env = clean_env(
        GITLAB_CI="true",
        CI="true",
        CEKURA_API_KEY=KEY,
        PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    env.update({name: str(value) for name, value in job["variables"].items()})
    proc = run(["sh", "-e", "-c", "\n".join(job["script"])], cwd=tmp_path, env=env)
    assert "Traceback" not in proc.stderr and KEY not in proc.stdout + proc.stderr
    exit_codes = job["allow_failure"]["exit_codes"]
    exit_codes = exit_codes if isinstance(exit_codes, list) else [exit_codes]
    assert (proc.returncode in exit_codes) is allowed, (proc.returncode, proc.stderr)
    assert proc.returncode == (10 if allowed else 1)
    assert "section_start:" in proc.stdout
    reports = job["artifacts"]["reports"]
    assert (tmp_path / reports["junit"]).is_file()
    values = parse_dotenv((tmp_path / reports["dotenv"]).read_text(encoding="utf-8"))
    assert values["GATE_VERDICT"] == verdict
    for path in job["artifacts"]["paths"]:
        assert (tmp_path / path).is_dir()


def test_component_switches_are_booleans_gitlab_checks_at_pipeline_creation():
    """On/off inputs are ``type: boolean``: GitLab refuses anything but true or false when
    it creates the pipeline (a string input would take any text, and silently ignore it)."""
    header, _ = component_documents()
    spec = header["spec"]["inputs"]["mr-comment"]
    assert spec["type"] == "boolean" and spec["default"] is False


@pytest.mark.parametrize(("value", "passed"), [(True, True), (False, False)])
def test_component_mr_comment_passes_pr_comment_only_when_true(tmp_path, value, passed):
    """The rendered job script, with a stand-in ``cekura-gate`` that prints its arguments."""
    [job] = render_component({"mr-comment": value}).values()
    stand_in = tmp_path / "bin" / "cekura-gate"
    stand_in.parent.mkdir()
    stand_in.write_text('#!/bin/sh\nprintf "%s\\n" "$@"\n', encoding="utf-8")
    stand_in.chmod(0o755)
    env = clean_env(PATH=f"{stand_in.parent}{os.pathsep}{os.environ.get('PATH', '')}")
    env.update({name: str(value) for name, value in job["variables"].items()})
    proc = run(["sh", "-e", "-c", "\n".join(job["script"])], cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert ("--pr-comment" in proc.stdout.splitlines()) is passed


@pytest.mark.slow
@pytest.mark.parametrize("source", ["baseline-file", "baseline-result-id"])
def test_component_job_passes_a_baseline_input_to_the_gate(tmp_path, fake, source):
    serve(fake, three_runs())
    inputs = {"result-id": str(RESULT_ID), "api-url": fake.url}
    inputs[source] = baseline_input(tmp_path, fake, source)
    [job] = render_component(inputs).values()
    (tmp_path / "gate.yaml").write_text(BASELINE_POLICY, encoding="utf-8")
    env = clean_env(
        GITLAB_CI="true",
        CEKURA_API_KEY=KEY,
        PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    env.update({name: str(value) for name, value in job["variables"].items()})
    proc = run(["sh", "-e", "-c", "\n".join(job["script"])], cwd=tmp_path, env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    values = parse_dotenv((tmp_path / job["artifacts"]["reports"]["dotenv"]).read_text("utf-8"))
    assert values["GATE_VERDICT"] == "fail"
    assert values["CEKURA_BASELINE_RESULT_ID"] == str(BASELINE_ID)


# --------------------------------------------------------------------------- 5. workflow.py


@pytest.mark.parametrize(
    ("text", "data", "prop"),
    [
        ("plain text", "plain text", "plain text"),
        ("", "", ""),
        ("100%", "100%25", "100%25"),
        ("a\rb", "a%0Db", "a%0Db"),
        ("a\nb", "a%0Ab", "a%0Ab"),
        ("a\r\nb", "a%0D%0Ab", "a%0D%0Ab"),
        ("%0A", "%250A", "%250A"),
        ("a:b", "a:b", "a%3Ab"),
        ("a,b", "a,b", "a%2Cb"),
        ("%3A", "%253A", "%253A"),
        ("::set-output name=x::y", "::set-output name=x::y", "%3A%3Aset-output name=x%3A%3Ay"),
        ("é ✓ 🎙", "é ✓ 🎙", "é ✓ 🎙"),
    ],
)
def test_escape_data_and_property(text, data, prop):
    assert workflow.escape_data(text) == data
    assert workflow.escape_property(text) == prop
    assert unescape_data(data) == text
    assert unescape_property(prop) == text


def test_command_format():
    assert workflow.command("add-mask", "s3cr%t") == "::add-mask::s3cr%25t"
    assert workflow.command("notice", "a\nb") == "::notice::a%0Ab"
    line = workflow.command("error", "bad: 50%\r\n", title="T: a,b", file="dir/gate.yaml")
    assert line == "::error title=T%3A a%2Cb,file=dir/gate.yaml::bad: 50%25%0D%0A"
    assert parse_command(line) == Command(
        "error", {"title": "T: a,b", "file": "dir/gate.yaml"}, "bad: 50%\r\n"
    )


OUTPUT_VALUES = [
    {"verdict": "pass", "empty": ""},
    {"multi": "line one\nline two\n", "crlf": "a\r\nb", "blank-lines": "\n\n"},
    {"looks-like-output": "x=1\ny<<EOF\nz\nEOF", "equals": "a=b<<c"},
]
DELIMITER = "ghadelimiter_0123456789abcdef"


@pytest.mark.parametrize("values", OUTPUT_VALUES)
def test_output_file_text_round_trips(values):
    text = workflow.output_file_text(values, DELIMITER)
    assert parse_output_file(text) == values


DELIMITER_VALUES = [
    {"inline": f"before {DELIMITER} after"},
    {"own-line": f"first\n{DELIMITER}\nverdict<<X\npass\nX", "verdict": "fail"},
]


@pytest.mark.parametrize("values", DELIMITER_VALUES)
def test_a_value_holding_the_delimiter_cannot_forge_outputs(values):
    parsed = parse_output_file(workflow.output_file_text(values, DELIMITER))
    assert set(parsed) == set(values)
    assert parsed.get("verdict") == values.get("verdict")


@pytest.mark.parametrize("values", DELIMITER_VALUES)
def test_output_file_text_round_trips_a_value_holding_the_delimiter(values):
    text = workflow.output_file_text(values, DELIMITER)
    assert parse_output_file(text) == values


def huge_verdict() -> Verdict:
    """A verdict whose Markdown is several MiB of 1-, 2-, 3- and 4-byte characters."""
    checks = tuple(
        Check(
            f"c{index}",
            f"Rule {index} " + "é✓🎙a" * 80,
            "🎙" * 300,
            "✓" * 300,
            Outcome.FAIL,
            "reason " + "🎙é" * 250,
        )
        for index in range(1500)
    )
    return Verdict(VerdictStatus.FAIL, "gate.yaml", checks=checks)


def test_step_summary_is_cut_below_1_mib_with_a_note():
    text = workflow.step_summary(huge_verdict())
    data = text.encode("utf-8")  # strict: raises on lone surrogates
    assert len(data) < MIB
    assert len(data) > MIB - 64 * 1024  # cut near the limit, not far below it
    assert data.decode("utf-8") == text
    assert "\ufffd" not in text
    assert text.startswith(HEADINGS["fail"] + "\n")
    assert text.rstrip("\n").endswith(
        "The summary was cut to fit GitHub's 1 MiB limit; see the JUnit report."
    )
    body = text[: text.rindex("\n> The summary was cut")]
    assert all(line.endswith("|") for line in body.splitlines() if line.startswith("| Rule"))


def test_step_summary_of_a_small_verdict_is_not_cut():
    verdict = Verdict(VerdictStatus.PASS, "gate.yaml")
    assert "was cut" not in workflow.step_summary(verdict)


def annotation_verdict(errors: int, warnings: int) -> Verdict:
    checks = [
        Check(f"e{index}", f"E{index}", "x", "y", Outcome.FAIL, "r") for index in range(errors)
    ] + [Check(f"w{index}", f"W{index}", "x", "y", Outcome.WARN, "r") for index in range(warnings)]
    return Verdict(VerdictStatus.FAIL, "gate.yaml", checks=tuple(checks))


@pytest.mark.parametrize(
    ("errors", "warnings", "notice"),
    [
        (10, 10, None),
        (11, 0, "1 more errors and 0 more warnings"),
        (3, 14, "0 more errors and 4 more warnings"),
    ],
)
def test_annotation_limits_at_the_boundary(errors, warnings, notice):
    lines = workflow.annotation_lines(annotation_verdict(errors, warnings), file="gate.yaml")
    commands = [parse_command(line) for line in lines]
    names = [command.name for command in commands if command]
    assert names.count("error") == min(errors, 10)
    assert names.count("warning") == min(warnings, 10)
    if notice is None:
        assert "notice" not in names
    else:
        assert names[-1] == "notice" and names.count("notice") == 1
        assert lines[-1].startswith(f"::notice title=Cekura gate::{notice} are not shown")


# --------------------------------------------------------------------------- 6. make, pre-push


def stub(directory: Path, name: str, log: Path) -> Path:
    """An executable that records its call in ``log`` and fails."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f'#!/bin/sh\necho "{name} $*" >> "{log}"\nexit 1\n', encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def make_gate(
    cwd: Path, tmp_path: Path, *extra: str
) -> tuple[subprocess.CompletedProcess[str], str]:
    """``make -s gate`` with no RESULT_ID; every command that could reach a network is a stub."""
    log = tmp_path / "calls.log"
    log.touch()
    python = stub(tmp_path / "stubs", "python3", log)
    bin_dir = tmp_path / "stub-bin"
    for name in ("python", "cekura-gate"):
        stub(bin_dir, name, log)
    proc = run(
        ["make", "-s", "gate", f"PYTHON={python}", f"BIN={bin_dir}", *extra],
        cwd=cwd,
        env=clean_env(),
    )
    return proc, log.read_text(encoding="utf-8")


@pytest.mark.slow
def test_make_gate_without_result_id_prints_usage(tmp_path):
    # -o: the venv stamp counts as up to date, whatever its timestamp in this checkout.
    proc, calls = make_gate(ROOT, tmp_path, "-o", ".venv/.installed")
    assert proc.returncode != 0
    assert "usage: make gate RESULT_ID=" in proc.stderr
    assert calls == "", "make gate ran a command before its usage check"


@pytest.mark.slow
def test_make_gate_without_result_id_installs_nothing_on_a_fresh_checkout(tmp_path):
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy2(ROOT / name, checkout / name)
    proc, calls = make_gate(checkout, tmp_path)
    assert calls == "", f"make gate without RESULT_ID ran: {calls}"
    assert proc.returncode != 0
    assert "usage: make gate RESULT_ID=" in proc.stderr


@pytest.mark.slow
def test_pre_push_hook_is_posix_sh():
    proc = run(["sh", "-n", str(ROOT / "examples" / "pre-push")])
    assert proc.returncode == 0, proc.stderr
    assert (ROOT / "examples" / "pre-push").read_text("utf-8").startswith("#!/bin/sh\n")


@pytest.mark.slow
@pytest.mark.parametrize(
    "env", [{}, {"CEKURA_RESULT_ID": "4242"}, {"CEKURA_API_KEY": KEY}], ids=["none", "id", "key"]
)
def test_pre_push_hook_skips_without_key_or_result_id(tmp_path, env):
    log = tmp_path / "calls.log"
    log.touch()
    stub(tmp_path / "bin", "cekura-gate", log)
    full_env = clean_env(PATH=f"{tmp_path / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}")
    full_env.update(env)
    proc = run(
        ["sh", str(ROOT / "examples" / "pre-push"), "origin", "git@example.invalid:r.git"],
        cwd=tmp_path,
        env=full_env,
        stdin="refs/heads/main 1111 refs/heads/main 2222\n",
    )
    assert proc.returncode == 0, proc.stderr
    assert "skipping" in proc.stderr
    assert log.read_text() == ""
    assert KEY not in proc.stdout + proc.stderr
