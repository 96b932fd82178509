"""The quick benchmark runs in CI, so a change that breaks the bench is caught."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_quick_bench_prints_every_section():
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    headings = ("## Evaluation at scale", "## Waiting", "## Runs fetch", "## Start-up")
    for heading in (*headings, "## GitHub Action install"):
        assert heading in proc.stdout
    assert "Offline paths import no HTTP stack (httpx, tenacity): yes." in proc.stdout
    assert "fewer requests than fixed 30 s in every shape: yes." in proc.stdout


def test_offline_check_does_not_import_the_http_stack(tmp_path):
    junit = str(tmp_path / "j.xml")
    code = (
        "import sys\nfrom gate.cli.main import main\n"
        f"main(['check', '--policy', 'examples/gate.yaml', '--result-file', "
        f"'examples/results/result_completed_mixed.json', '--junit', {junit!r}])\n"
        "print(sorted(m for m in ('httpx', 'tenacity', 'httpcore') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_version_loads_neither_yaml_nor_the_reporters():
    code = (
        "import sys\nfrom gate.cli.main import main\n"
        "code = main(['--version'])\n"
        "heavy = ('yaml', 'xml.etree.ElementTree', 'gate.cli.output')\n"
        "print(code, sorted(m for m in heavy if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert proc.stdout.strip().splitlines()[-1] == "0 []"
