"""Start-up: ``--version`` and an offline ``check`` on the example, against bare Python."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.targets import Section

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "examples" / "gate.yaml"
EXAMPLE = ROOT / "examples" / "results" / "result_completed_mixed.json"


def _median_seconds(command: list[str], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, cwd=ROOT, capture_output=True, check=False)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _imports_http_stack(folder: Path) -> bool:
    code = (
        "import sys\nfrom gate.cli.main import main\n"
        f"main(['check', '--policy', {str(POLICY)!r}, '--result-file', {str(EXAMPLE)!r}, "
        f"'--junit', {str(folder / 'junit.xml')!r}])\n"
        "print('httpx' in sys.modules or 'tenacity' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip().endswith("True")


def section(folder: Path, quick: bool) -> Section:
    repeats = 3 if quick else 10
    baseline = _median_seconds([sys.executable, "-c", "pass"], repeats)
    version = _median_seconds([sys.executable, "-m", "gate", "--version"], repeats)
    offline = _median_seconds(
        [
            sys.executable,
            "-m",
            "gate",
            "check",
            "--policy",
            str(POLICY),
            "--result-file",
            str(EXAMPLE),
        ],
        repeats,
    )
    lazy = not _imports_http_stack(folder)
    return Section(
        [
            "## Start-up",
            "",
            f"Median of {repeats} runs of each command.",
            "",
            "| command | time | over `python -c pass` |",
            "| --- | --- | --- |",
            f"| `python -c pass` | {baseline * 1000:.0f} ms | |",
            f"| `cekura-gate --version` | {version * 1000:.0f} ms | "
            f"+{(version - baseline) * 1000:.0f} ms |",
            f"| offline `check` on the example | {offline * 1000:.0f} ms | "
            f"+{(offline - baseline) * 1000:.0f} ms |",
            "",
            f"Offline paths import no HTTP stack (httpx, tenacity): {'yes' if lazy else 'NO'}.",
        ]
    )
