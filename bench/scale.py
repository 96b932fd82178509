"""Evaluation at scale: ``cekura-gate check`` writing JUnit, Markdown and JSON, as a real
process, against ``json.load`` of the same file(s) in a process of its own (the floor).

Two policies: the realistic one (``examples/gate.yaml``), and one with every kind of rule
(``bench/every_rule.yaml``: relative rules, k-of-n per scenario, metric rules computed
from the runs, new categories), whose gate reads a baseline too and whose floor loads both
files. Each process is timed from start to exit, floor and gate taking turns; times and
peak memory (read from the kernel by ``bench.evaluate_one``) are medians, and a ratio of
times is the median of the pairs' ratios.

The cost per 1,000 runs is what a size adds to the same command on a one-run result (its
start-up), per 1,000 runs, the two timed moments apart: flat when the evaluation is linear.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import generate
from bench.targets import Section, Target

ROOT = Path(__file__).resolve().parent.parent
FLOOR = "import json, sys\nloaded = [json.load(open(p, encoding='utf-8')) for p in sys.argv[1:]]"


@dataclass(frozen=True)
class Policy:
    name: str
    path: Path
    with_baseline: bool
    limit: float  # the gate's time at most this many times the floor's


POLICIES = (
    Policy("realistic", ROOT / "examples" / "gate.yaml", False, 2.0),
    Policy("every rule", ROOT / "bench" / "every_rule.yaml", True, 2.5),
)
FLAT_PERCENT = 10.0  # the cost per 1,000 runs varies at most this much over the sizes
MEMORY_LIMIT = 1.2  # the gate's peak memory at most this many times the floor's
# What the quick bench in the test suite asserts, at its larger size (5,000 runs; at 500
# start-up is most of the time and of the memory): loose enough for a busy CI machine, and
# still far below what a cost growing with the square of the runs would measure.
QUICK_SLACK = 1.5
# No quick bound on the spread: at 500 runs the cost per 1,000 runs is the difference of two
# times a few milliseconds apart, and a busy CI machine moved it by 278 %; only the full
# bench's sizes (1,000 to 100,000 runs) can tell linear from not.


@dataclass(frozen=True)
class Usage:
    seconds: float
    peak_mib: float


def measure(command: Sequence[str], log: Path) -> Usage:
    """Wall time and peak resident memory of one process (``bench.evaluate_one``); it must
    exit 0 or 1 (a verdict)."""
    launcher = [sys.executable, "-S", "-m", "bench.evaluate_one", str(log), *command]
    out = subprocess.run(launcher, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    seconds, peak_kib, code = out.split()
    if int(code) not in (0, 1):
        raise RuntimeError(f"{' '.join(command)} exited {code}: {log.read_text()}")
    return Usage(float(seconds), int(peak_kib) / 1024)


@dataclass(frozen=True)
class Turns:
    """The floor and the gate on a one-run result and on a sized one, the four taking turns
    again and again (so that each figure below compares runs made moments apart, while the
    machine's speed drifts): median time and peak memory on the sized result, the median
    of the gate's time over the floor's, and the median of what the sized result adds to
    the one-run time, for each."""

    floor: Usage
    gate: Usage
    ratio: float
    floor_extra: float
    gate_extra: float
    one_run: tuple[Usage, Usage]  # (floor, gate)

    @classmethod
    def run(cls, start: Commands, sized: Commands, repeats: int, log: Path) -> Turns:
        rounds = [[measure(command, log) for command in (*start, *sized)] for _ in range(repeats)]
        floor0, gate0, floor, gate = ([row[i] for row in rounds] for i in range(4))
        return cls(
            _median(floor),
            _median(gate),
            statistics.median(g.seconds / f.seconds for f, g in zip(floor, gate, strict=True)),
            statistics.median(f.seconds - f0.seconds for f0, f in zip(floor0, floor, strict=True)),
            statistics.median(g.seconds - g0.seconds for g0, g in zip(gate0, gate, strict=True)),
            (_median(floor0), _median(gate0)),
        )


def _median(usages: list[Usage]) -> Usage:
    return Usage(
        statistics.median(u.seconds for u in usages), statistics.median(u.peak_mib for u in usages)
    )


@dataclass(frozen=True)
class Files:
    runs: int
    result: Path
    baseline: Path

    @classmethod
    def make(cls, folder: Path, runs: int) -> Files:
        result = generate.write(folder / f"result-{runs}.json", generate.result(runs))
        baseline = generate.write(folder / f"baseline-{runs}.json", generate.baseline(runs))
        return cls(runs, result, baseline)

    def mb(self, policy: Policy) -> float:
        paths = (self.result, self.baseline) if policy.with_baseline else (self.result,)
        return sum(path.stat().st_size for path in paths) / 1e6


Commands = tuple[list[str], list[str]]  # (the floor's, the gate's)


def commands(policy: Policy, files: Files, folder: Path) -> Commands:
    """The floor's command and the gate's."""
    loaded = [str(files.result), *([str(files.baseline)] if policy.with_baseline else [])]
    floor = [sys.executable, "-c", FLOOR, *loaded]
    gate = [sys.executable, "-m", "gate", "check", "--result-file", str(files.result)]
    gate += ["--policy", str(policy.path)]
    if policy.with_baseline:
        gate += ["--baseline-file", str(files.baseline)]
    for flag, name in (("--junit", "junit.xml"), ("--summary", "summary.md"), ("--json", "v.json")):
        gate += [flag, str(folder / name)]
    return floor, gate


def _repeats(runs: int, quick: bool) -> int:
    """Small results take a few milliseconds over start-up: they are timed many times, so
    that the median says what they cost despite the machine's noise."""
    if runs <= 1_000:
        return 7 if quick else 15
    return 5 if runs <= 10_000 else 3


def policy_section(policy: Policy, sizes: list[Files], folder: Path, quick: bool) -> Section:
    log = folder / "stderr.txt"
    start = commands(policy, Files.make(folder, 1), folder)
    label = f"{policy.name} policy"
    lines = [
        f"### {label[0].upper()}{label[1:]} (`{policy.path.relative_to(ROOT)}`)",
        "",
        "| runs | JSON | json.load (floor) | cekura-gate | ratio | "
        "per 1,000 runs (floor / gate) | peak memory (floor / gate) | ratio |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    targets = []
    per_thousand = []
    for files in sizes:
        turns = Turns.run(start, commands(policy, files, folder), _repeats(files.runs, quick), log)
        floor, gate, ratio = turns.floor, turns.gate, turns.ratio
        memory = gate.peak_mib / floor.peak_mib
        extra = (files.runs - 1) / 1000
        floor_k, gate_k = turns.floor_extra / extra, turns.gate_extra / extra
        per_thousand.append(gate_k)
        lines.append(
            f"| {files.runs:,} | {files.mb(policy):.1f} MB | {floor.seconds:.3f} s | "
            f"{gate.seconds:.3f} s | {ratio:.2f}x | {floor_k * 1000:.0f} / {gate_k * 1000:.0f} ms"
            f" | {floor.peak_mib:.0f} / {gate.peak_mib:.0f} MiB | {memory:.2f}x |"
        )
        size = f"{files.runs:,} runs"
        slack = QUICK_SLACK if files is sizes[-1] else None
        targets += [
            Target(
                f"time over json.load, {label}, {size}",
                ratio,
                policy.limit,
                quick_limit=policy.limit * slack if slack else None,
            ),
            Target(
                f"peak memory over json.load, {label}, {size}",
                memory,
                MEMORY_LIMIT,
                quick_limit=MEMORY_LIMIT * slack if slack else None,
            ),
        ]
    floor0, gate0 = turns.one_run
    lines += [
        "",
        f"One run: json.load {floor0.seconds:.3f} s, {floor0.peak_mib:.0f} MiB; cekura-gate "
        f"{gate0.seconds:.3f} s, {gate0.peak_mib:.0f} MiB.",
    ]
    spread = 100.0 * (max(per_thousand) / min(per_thousand) - 1)
    span = f"{sizes[0].runs:,} to {sizes[-1].runs:,} runs"
    name = f"cost per 1,000 runs, {label}, spread from {span}"
    targets.append(Target(name, spread, FLAT_PERCENT, "%"))
    return Section(lines, targets)


def section(folder: Path, quick: bool) -> Section:
    counts = [500, 5_000] if quick else [1_000, 10_000, 100_000]
    sizes = [Files.make(folder, runs) for runs in counts]
    lines = [
        "## Evaluation at scale",
        "",
        "`cekura-gate check` writing JUnit, Markdown and JSON, each a whole process, against "
        "`json.load` of the same file in a process of its own (the floor; with the baseline "
        "too for the policy that has every kind of rule), taking turns. Times and memory are "
        "medians, a time ratio the median of the pairs'; the cost per 1,000 runs is the "
        "time above the same command on a one-run "
        "result. Targets: at most 2.0x the floor (2.5x with every kind of rule), the cost per "
        f"1,000 runs flat within {FLAT_PERCENT:.0f} %, peak memory at most "
        f"{MEMORY_LIMIT}x the floor's.",
        "",
    ]
    targets = []
    for policy in POLICIES:
        part = policy_section(policy, sizes, folder, quick)
        lines += [*part.lines, ""]
        targets += part.targets
    return Section(lines[:-1], targets)
