"""What the release workflows need to know about a tag, from the repository's own files.

    python scripts/release.py check v0.2.0   # the tag and every file that states the version
                                             # (STATED, CHANGELOG.md) agree (else exit 1)
    python scripts/release.py notes 0.2.0    # that release's CHANGELOG.md section (Markdown)
    python scripts/release.py major v0.2.0   # the moving major tag to update ("v0")

Standard library only, so it runs on any Python the runner has, before anything is installed.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Final releases only: vMAJOR.MINOR.PATCH (the image tags and the Catalog need semver, and
# PyPI would read a pre-release suffix differently from the tag).
TAG = re.compile(r"v(?P<version>(?P<major>0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*))")
# Keep a Changelog: "## [0.2.0] - 2026-12-03"; "## [Unreleased]" is not a release.
RELEASE_HEADING = re.compile(r"^## \[(?P<version>\d[^\]]*)\](?: - \d{4}-\d{2}-\d{2})?\s*$", re.M)


# Where each file states the version (a release bumps every one; `check` refuses a tag that
# disagrees with any of them).
STATED = {
    "pyproject.toml": r'^version = "([^"]+)"',
    "gate/__init__.py": r'^__version__ = "([^"]+)"',
    "Dockerfile": r"^ARG VERSION=(\S+)$",
    "templates/gate.yml": r"default: ghcr\.io/cekura-gate/cekura-gate:(\S+)$",
    "uv.lock": r'^name = "cekura-gate"\nversion = "([^"]+)"',  # `make lock` after a bump
}


class ReleaseError(Exception):
    """A tag or a file that a release cannot be made from."""


def _read(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def _found(pattern: str, text: str, where: str) -> str:
    match = re.search(pattern, text, re.M)
    if match is None:
        raise ReleaseError(f"{where}: no version found")
    return match[1]


def versions() -> dict[str, str]:
    """The version each file states."""
    releases = RELEASE_HEADING.findall(_read("CHANGELOG.md"))
    if not releases:
        raise ReleaseError("CHANGELOG.md: no '## [X.Y.Z] - YYYY-MM-DD' release heading")
    return {name: _found(pattern, _read(name), name) for name, pattern in STATED.items()} | {
        "CHANGELOG.md": releases[0]
    }


def check(tag: str) -> str:
    """The version ``tag`` releases, once every file agrees with it."""
    match = TAG.fullmatch(tag)
    if match is None:
        raise ReleaseError(f"tag {tag!r} is not vMAJOR.MINOR.PATCH")
    wrong = [
        f"{name} says {found}" for name, found in versions().items() if found != match["version"]
    ]
    if wrong:
        raise ReleaseError(f"tag {tag} disagrees with the files: {'; '.join(wrong)}")
    return match["version"]


def notes(version: str) -> str:
    """The body of ``version``'s section in CHANGELOG.md."""
    text = _read("CHANGELOG.md")
    headings = list(RELEASE_HEADING.finditer(text))
    for index, heading in enumerate(headings):
        if heading["version"] == version:
            end = headings[index + 1].start() if index + 1 < len(headings) else len(text)
            body = text[heading.end() : end]
            # Link references ("[0.2.0]: https://...") belong to the whole file.
            body = re.sub(r"^\[[^\]]+\]: \S+\s*$", "", body, flags=re.M).strip()
            if body:
                return body + "\n"
            raise ReleaseError(f"CHANGELOG.md: the section of {version} is empty")
    raise ReleaseError(f"CHANGELOG.md: no section for {version}")


def major(tag: str) -> str:
    """The moving major tag a release updates: ``v0`` for ``v0.2.0``."""
    match = TAG.fullmatch(tag)
    if match is None:
        raise ReleaseError(f"tag {tag!r} is not vMAJOR.MINOR.PATCH")
    return f"v{match['major']}"


COMMANDS = {"check": check, "notes": notes, "major": major}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in COMMANDS:
        print(f"usage: release.py {{{'|'.join(COMMANDS)}}} ARGUMENT", file=sys.stderr)
        return 2
    try:
        answer = COMMANDS[argv[0]](argv[1])
    except ReleaseError as exc:
        print(f"release: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(answer if answer.endswith("\n") or not answer else answer + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
