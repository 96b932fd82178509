"""The requirement files derived from uv.lock, written or checked.

``requirements/runtime.txt`` is what the GitHub Action and the Docker image install: the
runtime dependencies exactly as locked, with the hash of every file. ``requirements/uv.txt``
pins uv itself, the tool that installs everything else, at the version and hashes in the lock.
Both are made from uv.lock alone, offline, so the test suite can check that they still agree:

    python scripts/locks.py --write    # what `make lock` runs
    python scripts/locks.py --check    # exit 1 and name the stale file when they disagree
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNTIME = ROOT / "requirements" / "runtime.txt"
UV_PIN = ROOT / "requirements" / "uv.txt"

RUNTIME_HEADER = """\
# The runtime dependencies of cekura-gate exactly as uv.lock pins them, with the hash of every
# file: what the GitHub Action and the Docker image install. Made from uv.lock by `make lock`;
# do not edit by hand (a test checks that it agrees with the lock).
"""
UV_HEADER = """\
# uv, the one tool that installs everything else, pinned at uv.lock's version with the hash of
# every wheel, so that pip installs exactly this release on any runner (Linux, macOS, Windows;
# x86-64 and arm). The Makefile and the GitHub Action bootstrap it with
#   python -m pip install --require-hashes --no-deps --only-binary :all: -r requirements/uv.txt
# Made from uv.lock by `make lock`; do not edit by hand (a test checks that it agrees).
"""
EXPORT = ("export", "--frozen", "--no-emit-project", "--no-header", "--no-annotate")


def uv_executable() -> str:
    """The uv installed beside this interpreter (from the lock), else the one on PATH."""
    scripts = Path(sysconfig.get_path("scripts"))
    for name in ("uv", "uv.exe"):
        if (scripts / name).is_file():
            return str(scripts / name)
    found = shutil.which("uv")
    if found is None:
        raise SystemExit("locks: uv not found; run `make install` first")
    return found


def export(*options: str) -> str:
    command = [uv_executable(), *EXPORT, *options, "--format", "requirements.txt"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"locks: {' '.join(command[1:])} failed:\n{done.stderr.strip()}")
    return done.stdout


def uv_block(requirements: str) -> str:
    """The ``uv==...`` requirement and its hash lines, cut out of a full export."""
    lines = requirements.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.startswith("uv==")), None)
    if start is None:
        raise SystemExit("locks: uv.lock does not pin uv (it belongs in the test group)")
    end = start + 1
    while end < len(lines) and lines[end].startswith(" "):
        end += 1
    return "".join(lines[start:end])


def expected() -> dict[Path, str]:
    return {
        RUNTIME: RUNTIME_HEADER + export("--no-default-groups"),
        UV_PIN: UV_HEADER + uv_block(export("--all-groups")),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite the files from uv.lock")
    mode.add_argument("--check", action="store_true", help="exit 1 if a file is stale")
    args = parser.parse_args(argv)
    stale = []
    for path, text in expected().items():
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        if args.write:
            path.write_text(text, encoding="utf-8")
            print(f"locks: wrote {path.relative_to(ROOT)}")
        else:
            stale.append(str(path.relative_to(ROOT)))
    if stale:
        print(f"locks: {', '.join(stale)} disagree with uv.lock; run `make lock`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
