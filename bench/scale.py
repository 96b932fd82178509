"""Evaluation at scale: verdict + JUnit + Markdown + JSON from a result file, against
``json.load`` of the same file (the floor), each timed in a fresh process
(``bench.evaluate_one``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench import generate
from bench.targets import Section, Target

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "examples" / "gate.yaml"


def _worker(mode: str, path: Path, repeats: int) -> dict[str, float]:
    command = [
        sys.executable,
        "-m",
        "bench.evaluate_one",
        mode,
        str(path),
        str(POLICY),
        str(repeats),
    ]
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    result: dict[str, float] = json.loads(out)
    return result


def section(folder: Path, quick: bool) -> Section:
    sizes = [200, 1_000] if quick else [1_000, 10_000, 100_000]
    lines = [
        "## Evaluation at scale",
        "",
        "Verdict + JUnit + Markdown + JSON from a result file, against `json.load` of the "
        "same file (the floor). Target: at most 3x the floor at 10,000 runs, linear growth.",
        "",
        "| runs | file | json.load (floor) | cekura-gate | ratio | per 1,000 runs | "
        "peak memory (floor / gate) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    targets = []
    for size in sizes:
        path = folder / f"result-{size}.json"
        path.write_text(json.dumps(generate.result(size)), encoding="utf-8")
        repeats = 3 if size <= 10_000 else 1
        floor, gate = _worker("floor", path, repeats), _worker("gate", path, repeats)
        ratio = gate["seconds"] / floor["seconds"]
        lines.append(
            f"| {size:,} | {path.stat().st_size / 1e6:.1f} MB | {floor['seconds']:.3f} s | "
            f"{gate['seconds']:.3f} s | {ratio:.2f}x | "
            f"{gate['seconds'] / size * 1000:.3f} s | "
            f"{floor['peak_mib']:.0f} / {gate['peak_mib']:.0f} MiB |"
        )
        targets.append(Target(f"evaluation, {size:,} runs, over json.load", ratio, 3.0))
    return Section(lines, targets)
