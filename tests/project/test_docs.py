"""The docs are tested: every fenced block in README.md and docs/*.md, and --help against them.

Blocks are found by parsing the Markdown, and each becomes a test case named after its page and
line. Policies must pass `cekura-gate validate`; GitHub and GitLab files are checked against
the official schemas, `action.yml` and the component's spec; every `cekura-gate` command is
parsed by the real parser, and the ones that need nothing but files are run in-process in a
temporary directory, their exit code and output compared with what the page says. The
info-string conventions (`exit=N`, `file=NAME`, `not-ours="why"`) are described in
docs/development.md. The Markdown summary excerpt in docs/reports.md is compared
with what the regression example writes.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from gate.cli.main import main
from gate.cli.parser import build_parser
from tests.conftest import ROOT

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
CHECK_JSONSCHEMA = Path(sys.executable).parent / "check-jsonschema"
SHA_PIN = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$")
OUR_ACTION = "cekura-gate/cekura-gate@"
LANGUAGES = {"yaml", "sh", "text", "markdown"}
ATTRIBUTES = {"exit", "file", "not-ours"}
# Exit codes a documented command may end with when its block names none: 2 (a usage error)
# only when the block says so with exit=2.
UNDECLARED_EXITS = {0, 1, 3}

# Commands in ```sh blocks that are not run, and why. Keep this list short: a command that can
# run offline should run.
NOT_RUN = {
    "pip": "installs from PyPI",
    "export": "sets the API key",
    "docker": "needs a Docker engine and the Cekura API (its cekura-gate arguments are parsed)",
    "cp": "installs a git hook (the hook's source must exist)",
    "git": "tags and pushes a release",
    "python": "starts the fake server, or rewrites golden files (the files it names must exist)",
    "glab": "lints through a GitLab instance",
}
NEEDS_THE_API = "needs the Cekura API (parsed, not run)"


@dataclass(frozen=True)
class Block:
    """One fenced block of a page: its language, info-string attributes and text."""

    path: Path
    line: int
    language: str
    attributes: dict[str, str]
    text: str
    following: Block | None = field(default=None, compare=False)

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


FENCE = re.compile(
    r"^(?P<indent> *)```(?P<info>[^`\n]*)\n(?P<body>.*?)^(?P=indent)```$", re.M | re.S
)


def page_blocks(path: Path) -> list[Block]:
    """The fenced blocks of one page, each linked to the block after it."""
    text = path.read_text(encoding="utf-8")
    found: list[Block] = []
    for match in FENCE.finditer(text):
        language, *pairs = shlex.split(match["info"]) or [""]
        attributes = dict(pair.partition("=")[::2] for pair in pairs)
        indent = len(match["indent"])
        body = "".join(line[indent:] for line in match["body"].splitlines(keepends=True))
        line = text.count("\n", 0, match.start()) + 1
        found.append(Block(path, line, language, attributes, body))
    return [
        replace(block, following=found[number + 1] if number + 1 < len(found) else None)
        for number, block in enumerate(found)
    ]


BLOCKS = [block for path in DOCS for block in page_blocks(path)]


def blocks(language: str) -> list[Block]:
    return [block for block in BLOCKS if block.language == language]


def test_the_docs_have_blocks_of_every_kind():
    assert len(DOCS) >= 10
    assert {block.language for block in BLOCKS} >= {"yaml", "sh", "text"}


@pytest.mark.parametrize("block", BLOCKS, ids=lambda block: block.name)
def test_every_block_says_what_it_is(block):
    assert block.language in LANGUAGES, "give the fence a language: yaml, sh, text or markdown"
    assert set(block.attributes) <= ATTRIBUTES, block.attributes
    if "exit" in block.attributes:
        assert block.language == "sh" and block.attributes["exit"].isdigit()


# --------------------------------------------------------------------------- YAML blocks


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


ACTION_INPUTS = set(load_yaml(ROOT / "action.yml")["inputs"])


def component_inputs() -> set[str]:
    header, _jobs = yaml.safe_load_all((ROOT / "templates" / "gate.yml").read_text("utf-8"))
    return set(header["spec"]["inputs"])


def yaml_kind(document: Any) -> str:
    """policy, github (a workflow) or gitlab (a pipeline); anything else is not a whole file."""
    if not isinstance(document, dict):
        return "unknown"
    if "version" in document and "rules" in document:
        return "policy"
    jobs = document.get("jobs")
    if isinstance(jobs, dict) and all("steps" in job for job in jobs.values()):
        return "github"
    if "include" in document or any(
        isinstance(job, dict) and "script" in job for job in document.values()
    ):
        return "gitlab"
    return "unknown"


def yaml_id(block: Block) -> str:
    reason = block.attributes.get("not-ours")
    return f"{block.name} [not ours: {reason}]" if reason else block.name


YAML_BLOCKS = blocks("yaml")


@pytest.mark.parametrize("block", YAML_BLOCKS, ids=yaml_id)
def test_yaml_blocks_parse_and_pin_every_action(block):
    document = yaml.safe_load(block.text)
    assert document is not None
    assert yaml_kind(document) != "unknown", "a YAML block is a whole policy, workflow or pipeline"
    if "not-ours" in block.attributes:
        return
    for uses in re.findall(r"uses:\s*(\S+(?: # \S+)?)", block.text):
        assert uses.startswith("cekura-gate/") or SHA_PIN.match(uses), uses


@pytest.mark.parametrize(
    "block",
    [block for block in YAML_BLOCKS if yaml_kind(yaml.safe_load(block.text)) == "policy"],
    ids=yaml_id,
)
def test_policy_blocks_are_valid_policies(block, workdir, capsys):
    """`cekura-gate validate` accepts it (a baseline file it names is read too)."""
    (workdir / "policy.yaml").write_text(block.text, encoding="utf-8")
    code = main(["validate", "--policy", "policy.yaml"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out.startswith("policy.yaml: valid policy"), out


def github_steps(document: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for job in document["jobs"].values():
        yield from job["steps"]


SHELL_VARIABLE = re.compile(r"\$\{?[A-Za-z_][A-Za-z0-9_]*\}?")


def shell_words(line: str) -> list[str]:
    """A command line as the shell splits it, with every $VARIABLE standing for a number."""
    return shlex.split(SHELL_VARIABLE.sub("1", line), comments=True)


def cekura_gate_lines(script: str) -> list[list[str]]:
    """The cekura-gate commands of a shell script, as argument lists without the program."""
    commands = []
    for line in logical_lines(script):
        words = shell_words(line)
        if words and words[0] == "cekura-gate":
            commands.append(words[1:])
    return commands


def script_lines(document: dict[str, Any]) -> list[str]:
    return [
        line
        for job in document.values()
        if isinstance(job, dict)
        for key in ("before_script", "script", "after_script")
        for line in job.get(key, [])
    ]


CI_BLOCKS = [
    block
    for block in YAML_BLOCKS
    if yaml_kind(yaml.safe_load(block.text)) in {"github", "gitlab"}
    and "not-ours" not in block.attributes
]


@pytest.mark.parametrize("block", CI_BLOCKS, ids=yaml_id)
def test_ci_blocks_pass_only_inputs_that_exist(block):
    document = yaml.safe_load(block.text)
    if yaml_kind(document) == "github":
        ours = [
            step for step in github_steps(document) if step.get("uses", "").startswith(OUR_ACTION)
        ]
        assert ours, "a GitHub block shows the Action"
        for step in ours:
            assert set(step.get("with", {})) <= ACTION_INPUTS, step["with"]
        scripts = [step["run"] for step in github_steps(document) if "run" in step]
    else:
        for include in document.get("include", []):
            assert set(include.get("inputs", {})) <= component_inputs(), include
        scripts = script_lines(document)
    for argv in [argv for script in scripts for argv in cekura_gate_lines(script)]:
        build_parser().parse_args(argv)  # a usage error raises


@pytest.mark.slow  # starts check-jsonschema
def test_ci_blocks_match_the_official_schemas(tmp_path):
    """One check-jsonschema run per schema, over every workflow and pipeline block."""
    by_schema: dict[str, list[Path]] = {"vendor.github-workflows": [], "vendor.gitlab-ci": []}
    for number, block in enumerate(YAML_BLOCKS):
        kind = yaml_kind(yaml.safe_load(block.text))
        if kind in {"github", "gitlab"}:
            path = tmp_path / f"{number}-{block.path.stem}-{block.line}.yml"
            path.write_text(block.text, encoding="utf-8")
            by_schema[f"vendor.{kind}-{'workflows' if kind == 'github' else 'ci'}"].append(path)
    for schema, paths in by_schema.items():
        assert paths, schema
        proc = subprocess.run(
            [str(CHECK_JSONSCHEMA), "--builtin-schema", schema, *map(str, paths)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr


# --------------------------------------------------------------------------- shell blocks


def logical_lines(script: str) -> list[str]:
    """Lines of a script with backslash continuations joined; blank and comment lines dropped."""
    joined = re.sub(r"\\\n\s*", " ", script)
    return [
        line for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]


def without_assignments(words: list[str]) -> list[str]:
    """A command without the VAR=value assignments in front of it."""
    while words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", words[0]):
        words = words[1:]
    return words


@dataclass(frozen=True)
class Command:
    """One command of a ```sh block."""

    block: Block
    words: list[str]

    @property
    def program(self) -> str:
        return Path(self.words[0]).name  # .venv/bin/python is python

    @property
    def runnable(self) -> bool:
        """A cekura-gate command that needs nothing but files, or shows a usage error."""
        args = self.words[1:]
        if self.program != "cekura-gate":
            return False
        if self.block.attributes.get("exit") == "2":
            return True  # refused before anything is read
        if args[:1] == ["run"] and "--dry-run" in args:
            return True  # prints what it would start, and calls nothing
        return (
            bool(args)
            and args[0] in {"check", "validate", "baseline", "init", "schema"}
            and not {"--result-id", "--baseline-result-id"} & set(args)
        )

    @property
    def not_run_reason(self) -> str | None:
        if self.program == "cekura-gate":
            return None if self.runnable else NEEDS_THE_API
        if self.program == "make":
            return None
        return NOT_RUN.get(self.program, "not in NOT_RUN: say why it is not run")

    @property
    def name(self) -> str:
        label = " ".join(self.words[:3])
        reason = self.not_run_reason
        return f"{self.block.name} {label}" + (f" [not run: {reason}]" if reason else "")


COMMANDS = [
    Command(block, without_assignments(shell_words(line)))
    for block in blocks("sh")
    for line in logical_lines(block.text)
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: command.name)
def test_shell_commands_are_known(command):
    assert command.program in {"cekura-gate", "make"} | set(NOT_RUN), command.words
    assert "exit" not in command.block.attributes or any(
        other.runnable for other in COMMANDS if other.block is command.block
    ), "exit=N is for blocks whose cekura-gate command runs"


def image_arguments(words: list[str]) -> list[str]:
    """The cekura-gate arguments of a `docker run … IMAGE ARGS` command."""
    [image] = [i for i, word in enumerate(words) if word.startswith("ghcr.io/cekura-gate/")]
    return words[image + 1 :]


@pytest.mark.parametrize(
    "command",
    [
        command
        for command in COMMANDS
        if command.program in {"cekura-gate", "docker"}
        # a block that shows a usage error is run below instead
        and command.block.attributes.get("exit") != "2"
    ],
    ids=lambda command: command.name,
)
def test_cekura_gate_commands_parse(command):
    argv = command.words[1:] if command.program == "cekura-gate" else image_arguments(command.words)
    build_parser().parse_args(argv)  # a usage error raises


@pytest.mark.parametrize(
    "command",
    [command for command in COMMANDS if command.program in {"cp", "python"}],
    ids=lambda command: command.name,
)
def test_files_a_command_names_exist(command):
    words = command.words
    if command.program == "python" and words[1] == "-m" and words[2].startswith("tests."):
        assert (ROOT / (words[2].replace(".", "/") + ".py")).is_file(), words
    paths = [word for word in words[1:] if "/" in word and not word.startswith((".git/", "-"))]
    for path in paths:
        assert (ROOT / path).exists(), path


# What changes how the verdict looks on stdout: the docs show it in an 80-column CI-less log.
TERMINAL_VARIABLES = {"CI", "NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "COLUMNS", "TERM"}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository-like directory: the examples, a policy, a result, its runs and a baseline."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    shutil.copy(ROOT / "examples" / "gate.yaml", tmp_path / "gate.yaml")
    shutil.copy(
        ROOT / "examples" / "results" / "result_completed_mixed.json", tmp_path / "result.json"
    )
    shutil.copy(ROOT / "examples" / "results" / "runs_bulk.json", tmp_path / "runs.json")
    shutil.copy(ROOT / "examples" / "baseline.json", tmp_path / "baseline.json")
    for name in list(os.environ):
        if name.startswith(("CEKURA_", "GITHUB_", "GITLAB_")) or name in TERMINAL_VARIABLES:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_page_files(block: Block, directory: Path) -> None:
    """The ```yaml file=NAME blocks of a command's page, written where its commands look."""
    for other in BLOCKS:
        if other.path == block.path and "file" in other.attributes:
            (directory / other.attributes["file"]).write_text(other.text, encoding="utf-8")


@pytest.mark.parametrize(
    "command",
    [command for command in COMMANDS if command.runnable],
    ids=lambda command: command.name,
)
def test_offline_commands_run_as_documented(command, workdir, capsys):
    write_page_files(command.block, workdir)
    if command.words[1:2] == ["init"] and command.block.attributes.get("exit") != "2":
        (workdir / "gate.yaml").unlink()  # init writes the first policy of a repository
    code = main(command.words[1:])
    out, err = capsys.readouterr()
    declared = command.block.attributes.get("exit")
    if declared is None:
        assert code in UNDECLARED_EXITS, (code, err)
    else:
        assert code == int(declared), (code, err)
    shown = command.block.following
    if shown is not None and shown.language == "text":
        printed = {line.rstrip() for line in (out + err).splitlines()}
        assert [line for line in shown.text.splitlines() if line.rstrip() not in printed] == []


def make_targets() -> list[str]:
    return sorted(
        {
            command.words[1]
            for command in COMMANDS
            if command.program == "make" and not command.words[1].startswith("-")
        }
    )


def test_make_commands_are_make_targets():
    commands = set(make_targets())
    assert {"demo", "test", "test-pythons", "test-latest", "test-lowest", "lock"} <= commands


@pytest.mark.slow  # starts make
@pytest.mark.parametrize("target", make_targets())
def test_make_target_exists(target):
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("MAKE") and name not in {"MFLAGS", "RESULT_ID", "POLICY"}
    }
    proc = subprocess.run(
        ["make", "-n", target, "RESULT_ID=1", "PYTHONS="],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, (target, proc.stderr)


# --------------------------------------------------------------------------- --help and the docs


def parser_flags(
    parser: argparse.ArgumentParser, command: str = "cekura-gate"
) -> dict[str, set[str]]:
    """Every option string of every (sub)command, with the commands that take it."""
    flags: dict[str, set[str]] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                for flag, commands in parser_flags(sub, f"{command} {name}").items():
                    flags.setdefault(flag, set()).update(commands)
        for flag in action.option_strings:
            flags.setdefault(flag, set()).add(command)
    return flags


HELP_FLAGS = parser_flags(build_parser())
DOC_TEXT = "\n".join(path.read_text(encoding="utf-8") for path in DOCS)
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
FLAG = re.compile(r"(?<![\w-])--?[a-z][a-z0-9-]*")


def documented_gate_flags() -> dict[str, str]:
    """Flags the docs give cekura-gate: in its commands, and in code spans that start with one."""
    found: dict[str, str] = {}
    for command in COMMANDS:
        words = command.words
        if command.program == "docker":
            words = ["cekura-gate", *image_arguments(words)]
        if words[0] == "cekura-gate":
            for word in words:
                found.update((flag, command.name) for flag in FLAG.findall(word.partition("=")[0]))
    for match in CODE_SPAN.finditer(DOC_TEXT):
        span = match[2].strip()
        if span.startswith(("--", "cekura-gate ")):
            found.update((flag, span) for flag in FLAG.findall(span) if flag.startswith("--"))
    return found


def test_the_parser_walk_finds_every_subcommand():
    commands = set().union(*HELP_FLAGS.values())
    assert commands == {
        "cekura-gate",
        "cekura-gate check",
        "cekura-gate run",
        "cekura-gate validate",
        "cekura-gate baseline",
        "cekura-gate baseline save",
        "cekura-gate init",
        "cekura-gate schema",
    }
    assert {"--result-file", "--against", "--output", "--no-gitlab"} <= set(HELP_FLAGS)


def test_every_flag_in_help_is_in_a_doc():
    missing = {
        flag: sorted(commands)
        for flag, commands in HELP_FLAGS.items()
        if not re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", DOC_TEXT)
    }
    assert missing == {}


def test_every_flag_the_docs_give_cekura_gate_is_in_help():
    documented = documented_gate_flags()
    assert len(documented) > 30
    unknown = {flag: where for flag, where in documented.items() if flag not in HELP_FLAGS}
    assert unknown == {}


# --------------------------------------------------------------------------- sections


def doc_section(path: Path, title: str) -> str:
    text = path.read_text(encoding="utf-8")
    match = re.search(rf"^#+ {re.escape(title)}\n(.*?)(?=^#{{1,3}} |\Z)", text, re.M | re.S)
    assert match, f"{path.name} has no {title} section"
    return match[1]


def test_gitlab_doc_documents_the_entrypoint_override():
    assert 'entrypoint: [""]' in doc_section(
        ROOT / "docs" / "gitlab-ci.md", "Without the component"
    )


def test_docs_document_every_action_and_component_input():
    github = (ROOT / "docs" / "github-actions.md").read_text(encoding="utf-8")
    gitlab = (ROOT / "docs" / "gitlab-ci.md").read_text(encoding="utf-8")
    assert [name for name in ACTION_INPUTS if f"`{name}`" not in github] == []
    assert [name for name in component_inputs() if f"`{name}`" not in gitlab] == []


# --------------------------------------------------------------------------- report excerpts


def test_the_markdown_excerpt_is_what_the_regression_example_writes(workdir, capsys):
    """docs/reports.md shows lines of the summary that the regression example writes."""
    [excerpt] = [block for block in blocks("markdown") if block.path.name == "reports.md"]
    code = main(
        [
            "check",
            "--policy",
            "examples/regression.yaml",
            "--result-file",
            "examples/results/result_completed_mixed.json",
            "--runs-file",
            "examples/results/runs_bulk.json",
            "--as-of",
            "2027-01-25",
            "--summary",
            "summary.md",
        ]
    )
    capsys.readouterr()
    assert code == 0
    written = set((workdir / "summary.md").read_text(encoding="utf-8").splitlines())
    assert [line for line in excerpt.text.splitlines() if line and line not in written] == []


# --------------------------------------------------------------------------- links


LINK = re.compile(r"\]\((?!https?://)([^)\s]+)\)")


def heading_anchors(path: Path) -> set[str]:
    """GitHub's anchors for a page's headings: lower case, punctuation dropped, - for spaces."""
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    headings = re.findall(r"^#+ (.+)$", text, re.M)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


LINKS = [(path, target) for path in DOCS for target in LINK.findall(path.read_text("utf-8"))]


@pytest.mark.parametrize(
    ("path", "target"), LINKS, ids=[f"{p.relative_to(ROOT)}->{t}" for p, t in LINKS]
)
def test_relative_links_point_at_files_and_headings_that_exist(path, target):
    file_part, _, anchor = target.partition("#")
    linked = (path.parent / file_part).resolve() if file_part else path
    assert linked.exists(), target
    if anchor:
        assert anchor in heading_anchors(linked), target
