"""The requirement files derived from uv.lock, written or checked.

``requirements/runtime.txt`` is what the GitHub Action and the Docker image install: the
runtime dependencies exactly as locked, with the hash of every file. ``requirements/uv.txt``
pins uv itself, the tool that installs everything else, at the version and hashes in the lock.
``requirements/uv-wheels.txt`` names the same uv by the URL of each runner platform's wheel,
so that the Action's pip skips reading uv's index page (hundreds of releases; about 1 s of a
cold install). All three are made from uv.lock alone, offline, so the test suite can check
that they still agree:

    python scripts/locks.py --write    # what `make lock` runs
    python scripts/locks.py --check    # exit 1 and name the stale file when they disagree
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNTIME = ROOT / "requirements" / "runtime.txt"
UV_PIN = ROOT / "requirements" / "uv.txt"
UV_WHEELS = ROOT / "requirements" / "uv-wheels.txt"
LOCK = ROOT / "uv.lock"

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
UV_WHEELS_HEADER = """\
# uv at uv.lock's version, by the URL and hash of the wheel for each platform GitHub's runners
# have: pip installs it without reading uv's index page. The Action falls back to uv.txt on a
# platform not listed here. Made from uv.lock by `make lock`; do not edit by hand.
"""
# The runner platforms, as PEP 508 markers, and the wheel tag each one takes (the first match
# in the lock's order, which puts the oldest glibc and macOS first).
PLATFORMS = (
    ("sys_platform == 'linux' and platform_machine == 'x86_64'", r"-manylinux_\d+_\d+_x86_64\."),
    ("sys_platform == 'linux' and platform_machine == 'aarch64'", r"-manylinux_\d+_\d+_aarch64\."),
    ("sys_platform == 'darwin' and platform_machine == 'x86_64'", r"-macosx_\d+_\d+_x86_64\."),
    ("sys_platform == 'darwin' and platform_machine == 'arm64'", r"-macosx_\d+_\d+_arm64\."),
    ("sys_platform == 'win32' and platform_machine == 'AMD64'", r"-win_amd64\."),
    ("sys_platform == 'win32' and platform_machine == 'ARM64'", r"-win_arm64\."),
)
FILE = re.compile(r'\{ url = "(?P<url>[^"]+)", hash = "(?P<hash>sha256:[0-9a-f]{64})"')
UV_PACKAGE = re.compile(
    r'^\[\[package\]\]\nname = "uv"\nversion = "(?P<version>[^"]+)"\n(?P<body>.*?)(?=^\[\[|\Z)',
    re.M | re.S,
)


def runtime_export() -> str:
    """The runtime dependencies as uv (the one installed from the lock, beside this
    interpreter) exports them from uv.lock, with hashes."""
    scripts = Path(sysconfig.get_path("scripts"))
    uv = next((scripts / name for name in ("uv", "uv.exe") if (scripts / name).is_file()), None)
    if uv is None:
        raise SystemExit("locks: no uv beside this Python; run `make install` first")
    command = [str(uv), "export", "--frozen", "--no-emit-project", "--no-header"]
    command += ["--no-annotate", "--no-default-groups", "--format", "requirements.txt"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"locks: {' '.join(command[1:])} failed:\n{done.stderr.strip()}")
    return done.stdout


def locked_uv(lock: str) -> tuple[str, list[re.Match[str]]]:
    """uv's version in the lock and its files (wheels and sdist), each with URL and hash."""
    package = UV_PACKAGE.search(lock)
    if package is None:
        raise SystemExit("locks: uv.lock does not pin uv (it belongs in the test group)")
    return package["version"], list(FILE.finditer(package["body"]))


def uv_pin(lock: str) -> str:
    """``uv==VERSION`` with the hash of every file the lock knows, as pip's hash mode wants."""
    version, files = locked_uv(lock)
    hashes = sorted({file["hash"] for file in files})
    return f"uv=={version} \\\n" + " \\\n".join(f"    --hash={digest}" for digest in hashes) + "\n"


def uv_wheels(lock: str) -> str:
    """One direct requirement per runner platform, from the uv package's wheels in the lock."""
    _, files = locked_uv(lock)
    wheels = [file for file in files if file["url"].endswith(".whl")]
    lines = []
    for marker, tag in PLATFORMS:
        wheel = next((wheel for wheel in wheels if re.search(tag, wheel["url"])), None)
        if wheel is None:
            raise SystemExit(f"locks: uv.lock has no uv wheel for {marker}")
        lines.append(f"uv @ {wheel['url']} ; {marker} \\\n    --hash={wheel['hash']}\n")
    return "".join(lines)


def expected() -> dict[Path, str]:
    lock = LOCK.read_text(encoding="utf-8")
    return {
        RUNTIME: RUNTIME_HEADER + runtime_export(),
        UV_PIN: UV_HEADER + uv_pin(lock),
        UV_WHEELS: UV_WHEELS_HEADER + uv_wheels(lock),
    }


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else path.name


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
            print(f"locks: wrote {_shown(path)}")
        else:
            stale.append(_shown(path))
    if stale:
        print(f"locks: {', '.join(stale)} disagree with uv.lock; run `make lock`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
