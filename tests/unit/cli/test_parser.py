"""The command line's grammar (gate.cli.parser): a command line in, frozen settings out, with
the documented defaults; a bad one is a ``UsageError`` that names the problem."""

from __future__ import annotations

import argparse
import dataclasses
import datetime
from typing import Any

import pytest

from gate.cli.parser import COMMANDS, PROG, build_parser, parse
from gate.cli.settings import (
    BaselineSettings,
    CheckSettings,
    ReportPaths,
    RunCommandSettings,
    SchemaSettings,
    ValidateSettings,
)
from gate.errors import UsageError


def test_no_command_is_none():
    assert parse([]) is None


def test_check_from_files_with_the_documented_defaults():
    settings = parse(["check", "--result-file", "r.json"])
    assert isinstance(settings, CheckSettings)
    assert (settings.result_file, settings.result_id, settings.runs_file) == ("r.json", None, None)
    gate = settings.gate
    assert (gate.policy, gate.warn_exit_code, gate.reports) == ("gate.yaml", 0, ReportPaths())
    assert (gate.ci.fail_on, gate.ci.github, gate.ci.gitlab) == ("error", None, None)
    assert (gate.ci.annotations, gate.ci.step_summary) == (True, True)
    assert gate.api.api_key_env == "CEKURA_API_KEY"
    assert gate.api.timeout_s is None  # the policy's wait.timeout decides


def test_check_reports_baseline_and_waiver_day():
    settings = parse(
        [
            "check", "--result-id", "42", "--policy", "p.yaml", "--junit", "j.xml",
            "--summary", "s.md", "--json", "v.json", "--dotenv", "g.env",
            "--baseline-result-id", "7", "--as-of", "2026-06-30", "--timeout", "90s",
        ]
    )  # fmt: skip
    assert isinstance(settings, CheckSettings)
    assert settings.result_id == 42
    assert settings.gate.reports == ReportPaths("j.xml", "s.md", "v.json", "g.env")
    assert settings.gate.baseline.result_id == 7
    assert settings.gate.baseline.as_of == datetime.date(2026, 6, 30)
    assert settings.gate.api.timeout_s == 90.0


def test_run_lists_are_tuples():
    settings = parse(["run", "--scenario-ids", "1,2,3", "--tags", "smoke,billing"])
    assert isinstance(settings, RunCommandSettings)
    assert (settings.scenario_ids, settings.tags) == ((1, 2, 3), ("smoke", "billing"))


@pytest.mark.parametrize(
    ("argv", "kind"),
    [
        (["validate"], ValidateSettings),
        (["validate", "--against", "r.json"], ValidateSettings),
        (["baseline", "save", "--result-file", "r.json"], BaselineSettings),
        (["schema"], SchemaSettings),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else "",
)
def test_every_command_has_its_settings_type(argv, kind):
    assert type(parse(argv)) is kind


def test_settings_are_frozen():
    settings = parse(["check", "--result-file", "r.json"])
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.result_file = "other.json"  # type: ignore[misc, union-attr]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["check", "--result-file", "r.json", "--bogus"], "--bogus"),
        (["check", "--result-file", "r.json", "--result-id", "1"], "not allowed with"),
        (["check", "--result-id", "0"], "--result-id"),
        (["check", "--result-file", "r.json", "--timeout", "fast"], "--timeout"),
        (["check", "--result-file", "r.json", "--as-of", "June"], "--as-of"),
        (["check", "--result-file", "r.json", "--warn-exit-code", "3"], "--warn-exit-code"),
    ],
)
def test_a_bad_command_line_is_a_usage_error_that_names_it(argv, words):
    with pytest.raises(UsageError) as caught:
        parse(argv)
    assert words in caught.value.message
    assert caught.value.message.endswith("--help')")


@pytest.mark.parametrize(
    ("size", "size_bytes"),
    [
        ("256MiB", 256 << 20),
        ("1GiB", 1 << 30),
        ("1.5 MiB", 3 << 19),
        ("500KB", 500_000),
        ("2mb", 2_000_000),
        ("1048576", 1 << 20),
        ("64kib", 64 << 10),
    ],
)
def test_max_response_size_takes_units(size, size_bytes):
    settings = parse(["check", "--result-id", "1", "--max-response-size", size])
    assert isinstance(settings, CheckSettings)
    assert settings.gate.api.max_response_bytes == size_bytes


def test_max_response_size_defaults_to_the_environment_or_256_mib():
    settings = parse(["baseline", "save", "--result-id", "1"])
    assert isinstance(settings, BaselineSettings)
    assert settings.api.max_response_bytes is None


@pytest.mark.parametrize("size", ["lots", "0", "-1MiB", "5XB", "MiB", "1e9"])
def test_a_bad_max_response_size_is_a_usage_error(size):
    with pytest.raises(UsageError) as caught:
        parse(["validate", "--result-id", "1", f"--max-response-size={size}"])
    assert "--max-response-size" in caught.value.message
    assert "256MiB" in caught.value.message


# --------------------------------------------------------------------------- start-up


def _printed(capsys: pytest.CaptureFixture[str], read: Any) -> tuple[str, str, str]:
    """What reading a command line printed, and the usage error it raised."""
    try:
        read()
    except SystemExit:
        pass
    except UsageError as exc:
        return (*capsys.readouterr(), exc.message)
    return (*capsys.readouterr(), "")


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("rest", [["--help"], ["--bogus"], [], ["save", "--help"], ["x", "y"]])
def test_a_commands_own_parser_reads_it_as_the_whole_one_does(capsys, command, rest):
    """``parse`` builds only the parser of the command a command line starts with: its
    help, its errors and its settings are the whole parser's."""
    argv = [command, *rest]
    whole = _printed(capsys, lambda: build_parser().parse_args(argv))
    alone = _printed(capsys, lambda: build_parser(command).parse_args(argv))
    assert alone == whole


@pytest.mark.parametrize("columns", [None, "", "0", "abc", "45", "200"])
def test_help_is_as_wide_as_argparse_makes_it(monkeypatch, columns):
    """The parser's formatter reads the width without ``shutil``, to the same result."""
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    formatter = build_parser().formatter_class(prog=PROG)
    assert isinstance(formatter, argparse.HelpFormatter)
    assert formatter._width == argparse.HelpFormatter(prog=PROG)._width
