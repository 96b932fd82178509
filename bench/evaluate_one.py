"""``python -S -m bench.evaluate_one LOG COMMAND...``: run COMMAND once and print its wall
time in seconds, its peak resident memory in KiB and its exit code.

COMMAND's standard output is discarded and its standard error goes to LOG. It is started
from this small process (standard library only, no ``site``), not from the bench: a new
process's peak memory counts the memory of the process it was started from (the kernel
keeps the larger of the two at ``exec``), and the bench holds hundreds of MiB.
"""

from __future__ import annotations

import os
import sys
import time


def main() -> None:
    log, command = sys.argv[1], sys.argv[2:]
    streams = [
        (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
        (os.POSIX_SPAWN_OPEN, 2, log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
    ]
    started = time.perf_counter()
    pid = os.posix_spawn(command[0], command, os.environ, file_actions=streams)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - started
    # ru_maxrss is in KiB on Linux, in bytes on macOS.
    peak_kib = usage.ru_maxrss // 1024 if sys.platform == "darwin" else usage.ru_maxrss
    print(seconds, peak_kib, os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()
