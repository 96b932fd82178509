"""Worker: time one mode on one result file in a fresh process, print JSON.

``floor`` is just ``json.load`` of the file; ``gate`` is what ``cekura-gate check
--result-file`` does: read and parse, normalise, evaluate, render JUnit, Markdown and JSON.
Peak memory is the process's maximum resident set size.
"""

from __future__ import annotations

import json
import resource
import sys
import time

from gate.cli.inputs import load_policy, load_result
from gate.reporters import json_report, junit, markdown
from gate.rules.evaluate import evaluate


def floor(path: str) -> None:
    with open(path, "rb") as handle:
        json.load(handle)


def gate(path: str, policy_path: str) -> None:
    verdict = evaluate(load_policy(policy_path), load_result(path, None))
    for render in (junit.render, markdown.render, json_report.render):
        render(verdict)


def main() -> None:
    mode, path, policy_path, repeats = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        if mode == "floor":
            floor(path)
        else:
            gate(path, policy_path)
        times.append(time.perf_counter() - started)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": min(times), "peak_mib": peak_kib / 1024}))


if __name__ == "__main__":
    main()
