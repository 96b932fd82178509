"""The quick benchmark runs in CI, so a change that breaks the bench is caught."""

from __future__ import annotations

import json
import subprocess
import sys

from gate import __version__
from tests.conftest import OFFLINE_CHECK, ROOT, modules_loaded


def test_quick_bench_prints_every_section_and_meets_its_quick_limits(tmp_path):
    """The quick bench runs small sizes on a noisy machine: each target with a
    ``quick_limit`` must meet that looser bound (the full bench holds the real one)."""
    targets = tmp_path / "targets.json"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--json", str(targets)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    headings = ("## Evaluation at scale", "## Waiting", "## Runs fetch", "## Start-up")
    for heading in (*headings, "## GitHub Action install", "## Targets"):
        assert heading in proc.stdout
    assert "Offline paths import no HTTP stack (httpx, tenacity): yes." in proc.stdout
    assert "fewer requests than fixed 30 s in every shape: yes." in proc.stdout
    for target in json.loads(targets.read_text(encoding="utf-8")):
        assert f"| {target['name']} |" in proc.stdout
        limit = target["quick_limit"]
        if limit is None:
            continue
        if target["at_least"]:
            assert target["measured"] >= limit, target
        else:
            assert target["measured"] <= limit, target


def test_offline_check_does_not_import_the_http_stack(tmp_path):
    argv = (*OFFLINE_CHECK, "--junit", str(tmp_path / "j.xml"))
    assert modules_loaded(argv, ("httpx", "tenacity", "httpcore"))[1] == []


def test_version_loads_neither_yaml_nor_the_reporters():
    heavy = ("yaml", "xml.etree.ElementTree", "gate.cli.output")
    assert modules_loaded(("--version",), heavy) == (0, [])


def test_version_alone_imports_nothing_more():
    """``cekura-gate --version`` is answered by the entry point before anything else is
    imported: no signals, no parser, no gate module past ``gate.cli.entry``."""
    code = (
        "import sys\nsys.argv = ['cekura-gate', '--version']\n"
        "from gate.cli.entry import main\n"
        "before = set(sys.modules)\ncode = main()\n"
        "print(code, sorted(set(sys.modules) - before))"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.stdout.splitlines() == ["cekura-gate " + __version__, "0 []"], proc.stderr


# What an offline check without reports does not need: each costs milliseconds to import.
NOT_OFFLINE = (
    "dataclasses",  # and inspect: gate.dataclasses stands in for it
    "inspect",
    "importlib.resources",  # only `schema` reads a packaged file
    "secrets",  # only GitHub Actions needs a random delimiter
    "statistics",  # only a median over the runs
    "difflib",  # only a did-you-mean
    "tempfile",  # only to write a report
    "xml.etree.ElementTree",  # only for --junit
    "junit_xml",
)


def test_an_offline_check_without_reports_imports_only_what_it_uses():
    assert modules_loaded(OFFLINE_CHECK, NOT_OFFLINE)[1] == []
