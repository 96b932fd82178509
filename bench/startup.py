"""Start-up: ``--version`` against bare Python, and an offline ``check`` on the example
against Python importing what the gate cannot do without (json, argparse, yaml and
ElementTree). Whole processes, the installed ``cekura-gate`` entry point and
``python -m gate``.

The commands run in rounds, each command once a round, so that a floor and the command
measured against it always share the machine's load; each ratio is of the medians. The
processes run as an installed gate does, with bytecode: ``PYTHONDONTWRITEBYTECODE`` is
dropped and the bytecode goes to a folder of the bench's own (``PYTHONPYCACHEPREFIX``),
written by one warm-up run of each command. The CI's variables are dropped too, so that
``check`` runs as on a developer's machine (and never appends to a real step summary).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.targets import Section, Target

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "examples" / "gate.yaml"
EXAMPLE = ROOT / "examples" / "results" / "result_completed_mixed.json"
ENTRY_POINT = Path(sys.executable).with_name(
    "cekura-gate.exe" if os.name == "nt" else "cekura-gate"
)
# Without an installed entry point next to this Python (a bench run outside the project's
# environment), what the console script runs.
CEKURA_GATE = (
    [str(ENTRY_POINT)]
    if ENTRY_POINT.exists()
    else [sys.executable, "-c", "import sys; from gate.cli.entry import main; sys.exit(main())"]
)

PASS = "`python -c pass`"
FLOOR = "`python -c 'import json, argparse, yaml, xml.etree.ElementTree'`"
VERSION = "`cekura-gate --version`"
MODULE_VERSION = "`python -m gate --version`"
CHECK = "offline `check` on the example"
COMMANDS: dict[str, list[str]] = {
    PASS: [sys.executable, "-c", "pass"],
    VERSION: [*CEKURA_GATE, "--version"],
    MODULE_VERSION: [sys.executable, "-m", "gate", "--version"],
    FLOOR: [sys.executable, "-c", "import json, argparse, yaml, xml.etree.ElementTree"],
    CHECK: [
        *CEKURA_GATE,
        "check",
        "--policy",
        str(POLICY),
        "--result-file",
        str(EXAMPLE),
    ],
}
# (target, what, measured against, at most, quick run at most)
RATIOS = (
    ("start-up, `cekura-gate --version` over `python -c pass`", VERSION, PASS, 1.5, 2.0),
    ("start-up, `python -m gate --version` over `python -c pass`", MODULE_VERSION, PASS, 1.5, 2.0),
    (
        "start-up, offline `check` over importing json, argparse, yaml, ElementTree",
        CHECK,
        FLOOR,
        2.0,
        2.6,
    ),
)
CI_PREFIXES = ("GITHUB_", "GITLAB_", "CI_", "CEKURA_", "RUNNER_")


def _environment(folder: Path) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if name != "CI" and not name.startswith(CI_PREFIXES)
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")
    return env


def _seconds(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=False)
    return time.perf_counter() - started


def _medians(rounds: int, env: dict[str, str]) -> dict[str, float]:
    for command in COMMANDS.values():  # writes the bytecode
        _seconds(command, env)
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(rounds):
        for name, command in COMMANDS.items():
            times[name].append(_seconds(command, env))
    return {name: statistics.median(values) for name, values in times.items()}


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
    rounds = 7 if quick else 30
    medians = _medians(rounds, _environment(folder))
    floors = {subject: floor for _, subject, floor, _, _ in RATIOS}
    rows = []
    for name, median in medians.items():
        floor = floors.get(name)
        over = f"{median / medians[floor]:.2f}x {floor}" if floor else ""
        rows.append(f"| {name} | {median * 1000:.0f} ms | {over} |")
    lazy = not _imports_http_stack(folder)
    return Section(
        [
            "## Start-up",
            "",
            f"Median of {rounds} rounds, each running every command once (with bytecode)"
            + ("." if ENTRY_POINT.exists() else f"; no {ENTRY_POINT.name} here: `python -c`."),
            "",
            "| command | time | ratio |",
            "| --- | --- | --- |",
            *rows,
            "",
            f"Offline paths import no HTTP stack (httpx, tenacity): {'yes' if lazy else 'NO'}.",
        ],
        [
            Target(name, medians[subject] / medians[floor], limit, quick_limit=quick_limit)
            for name, subject, floor, limit, quick_limit in RATIOS
        ],
    )
