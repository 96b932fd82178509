"""The shipped policy JSON Schema, written or checked against the contract it comes from.

``gate/policy/policy.schema.json`` is generated from ``gate.policy.contract`` (through
``gate.policy.schema``); never edit it by hand:

    python scripts/policy_schema.py --write    # what `make schema` runs
    python scripts/policy_schema.py --check    # exit 1 when the file is stale
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gate.policy.schema import schema_text

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "gate" / "policy" / "policy.schema.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="rewrite the shipped schema")
    action.add_argument("--check", action="store_true", help="exit 1 if it is stale")
    args = parser.parse_args(argv)
    text = schema_text()
    if args.write:
        SHIPPED.write_text(text, encoding="utf-8")
        return 0
    if SHIPPED.read_text(encoding="utf-8") != text:
        print(f"{SHIPPED.relative_to(ROOT)} is stale; run: make schema", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
