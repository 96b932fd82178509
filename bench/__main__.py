"""``python -m bench [--quick] [--json PATH]``: measure cekura-gate and print one Markdown
report, then every target with its measured value and met / not met.

Everything runs on this machine, side by side in one run, so compare the ratios rather
than the absolute times. ``--quick`` uses small sizes (the test suite runs it and asserts
each target's ``quick_limit``, looser for a noisy machine) and skips the cold install of
the Action, the one section that downloads (from PyPI). ``--json`` also writes the
targets as JSON.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from bench import action_install, fetch, scale, startup, waiting
from bench.targets import Section, summary, to_json

SECTIONS = (scale, waiting, fetch, startup, action_install)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, for CI")
    parser.add_argument("--json", metavar="PATH", help="also write the targets as JSON")
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as temp:
        sections: list[Section] = [module.section(Path(temp), args.quick) for module in SECTIONS]
    targets = [target for section in sections for target in section.targets]
    print(f"# cekura-gate benchmarks{' (quick)' if args.quick else ''}\n")
    for section in sections:
        print("\n".join(section.lines) + "\n")
    print("\n".join(summary(targets)) + "\n")
    print(f"_Bench took {time.perf_counter() - started:.0f} s on this machine._")
    if args.json:
        Path(args.json).write_text(to_json(targets) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
