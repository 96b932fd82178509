"""The environment as the command line reads it (gate/cli/settings.py ``Environment``):
when the verdict on stdout is coloured, and how wide it may be."""

from __future__ import annotations

import pytest

from gate.cli.settings import Environment


@pytest.mark.parametrize(
    ("variables", "terminal", "coloured"),
    [
        ({}, True, True),
        ({}, False, False),  # a pipe or a file
        ({"TERM": "dumb"}, True, False),
        ({"NO_COLOR": "1"}, True, False),  # no-color.org
        ({"NO_COLOR": ""}, True, True),  # present but empty: not set
        ({"FORCE_COLOR": "1"}, False, True),  # force-color.org: any non-empty value
        ({"FORCE_COLOR": "0"}, False, True),
        ({"FORCE_COLOR": ""}, False, False),
        ({"CLICOLOR_FORCE": "1"}, False, True),
        ({"CLICOLOR_FORCE": "0"}, False, False),
        ({"GITHUB_ACTIONS": "true"}, False, True),  # the log renders ANSI colours
        ({"GITLAB_CI": "true"}, False, True),
        ({"GITHUB_ACTIONS": "true", "NO_COLOR": "1"}, False, False),  # NO_COLOR wins
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, True, False),
        ({"FORCE_COLOR": "1", "TERM": "dumb"}, False, True),  # forced is forced
    ],
)
def test_colour_follows_the_conventions(variables, terminal, coloured):
    assert Environment.snapshot(variables).colour(terminal=terminal) is coloured


@pytest.mark.parametrize(
    ("columns", "measured", "width"),
    [
        ("", None, 80),  # a CI log or a pipe
        ("", 132, 132),
        ("100", None, 100),
        ("100", 132, 100),  # COLUMNS says so
        ("wide", 132, 132),
        ("5", None, 80),  # too narrow to mean it
        ("-1", None, 80),
        ("\u00b2\u00b2", None, 80),  # digits int() refuses
    ],
)
def test_width_is_columns_else_the_terminal_else_80(columns, measured, width):
    assert Environment.snapshot({"COLUMNS": columns}).columns(measured) == width
