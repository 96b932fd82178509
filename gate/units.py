"""Small vocabularies and parsers that both the command line and the policy use.

Kept apart from ``gate.policy`` so that parsing the command line loads no YAML.
"""

from __future__ import annotations

import math
import re

TRANSPORT_MODES = ("voice", "text")

_DURATION = re.compile(r"^(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+(?:\.\d+)?)s)?$")


def parse_duration(value: object) -> float | None:
    """Seconds for ``90s``, ``15m``, ``1h30m`` or a plain number; ``None`` if not a duration."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) and value > 0 else None
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        seconds = float(text)
        return seconds if seconds > 0 else None
    match = _DURATION.fullmatch(text)
    if not text or match is None:
        return None
    seconds = int(match["h"] or 0) * 3600 + int(match["m"] or 0) * 60 + float(match["s"] or 0)
    return seconds if seconds > 0 else None
