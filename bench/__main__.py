"""``python -m bench [--quick]``: measure cekura-gate and print one Markdown report.

Everything runs on this machine, side by side in one run, so compare the ratios rather
than the absolute times. ``--quick`` uses small sizes (CI runs it to keep the bench working)
and skips the cold install of the Action, the one section that downloads (from PyPI).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import action_install, fetch, generate, waiting

ROOT = Path(__file__).resolve().parent.parent
POLICY = ROOT / "examples" / "gate.yaml"
EXAMPLE = ROOT / "examples" / "results" / "result_completed_mixed.json"


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


def evaluation(sizes: list[int], folder: Path) -> list[str]:
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
    for size in sizes:
        path = folder / f"result-{size}.json"
        path.write_text(json.dumps(generate.result(size)), encoding="utf-8")
        repeats = 3 if size <= 10_000 else 1
        floor, gate = _worker("floor", path, repeats), _worker("gate", path, repeats)
        lines.append(
            f"| {size:,} | {path.stat().st_size / 1e6:.1f} MB | {floor['seconds']:.3f} s | "
            f"{gate['seconds']:.3f} s | {gate['seconds'] / floor['seconds']:.2f}x | "
            f"{gate['seconds'] / size * 1000:.3f} s | "
            f"{floor['peak_mib']:.0f} / {gate['peak_mib']:.0f} MiB |"
        )
    return lines


def _fmt_outcome(outcome: waiting.Outcome) -> str:
    return f"{outcome.requests:.0f} req, {outcome.lag_s:.1f} s"


def waiting_section() -> list[str]:
    rows = waiting.rows()
    lines = [
        "## Waiting",
        "",
        "A 30-minute result (60 runs) in virtual time through the real poller (default "
        "`wait` settings), against fixed polling averaged over 30 start phases. Cells: "
        "requests sent, lag between the result finishing and the verdict. Target: fewer "
        "requests than fixed 30 s, median lag under 5 s.",
        "",
        "| progress shape | cekura-gate | fixed 30 s (Cekura's Action) | "
        "fixed 5 s (Cekura's CLI) |",
        "| --- | --- | --- | --- |",
    ]
    for row in rows:
        lines.append(
            f"| {row['shape']} | {_fmt_outcome(row['gate'])} | "
            f"{_fmt_outcome(row['fixed30'])} | {_fmt_outcome(row['fixed5'])} |"
        )
    lags = [row["gate"].lag_s for row in rows]
    fewer = all(row["gate"].requests < row["fixed30"].requests for row in rows)
    lines += [
        "",
        f"Median lag {statistics.median(lags):.1f} s; fewer requests than fixed 30 s "
        f"in every shape: {'yes' if fewer else 'no'}.",
    ]
    return lines


def fetch_section(runs: int) -> list[str]:
    sequential, count = fetch.timed_fetch(runs, 0.02, concurrency=1)
    concurrent, _ = fetch.timed_fetch(runs, 0.02, concurrency=8)
    return [
        "## Runs fetch",
        "",
        f"{count:,} runs from the fake Cekura server on 127.0.0.1, 50 ids per request, "
        "20 ms added per request. Target: at least 5x faster concurrent.",
        "",
        "| one chunk at a time | 8 chunks at a time | speed-up |",
        "| --- | --- | --- |",
        f"| {sequential:.2f} s | {concurrent:.2f} s | {sequential / concurrent:.1f}x |",
    ]


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


def startup_section(repeats: int, folder: Path) -> list[str]:
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
    return [
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


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for CI")
    args = parser.parse_args()
    sizes = [200, 1_000] if args.quick else [1_000, 10_000, 100_000]
    fetch_runs = 500 if args.quick else 5_000
    repeats = 3 if args.quick else 10
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as temp:
        folder = Path(temp)
        sections = [
            evaluation(sizes, folder),
            waiting_section(),
            fetch_section(fetch_runs),
            startup_section(repeats, folder),
            action_install.section(folder, quick=args.quick),
        ]
    print(f"# cekura-gate benchmarks{' (quick)' if args.quick else ''}\n")
    for section in sections:
        print("\n".join(section) + "\n")
    print(f"_Bench took {time.perf_counter() - started:.0f} s on this machine._")


if __name__ == "__main__":
    main()
