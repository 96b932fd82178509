"""Small vocabularies and parsers that both the command line and the policy use.

Kept apart from ``gate.policy`` so that parsing the command line loads no YAML.
"""

from __future__ import annotations

import datetime
import math
import re

from gate import lazy

TRANSPORT_MODES = ("voice", "text")

# ``cekura-gate init``: the slack a drafted policy leaves on rates and metric p50s, in
# percent of the observed value (see gate.rules.draft), and the most it may be.
DEFAULT_MARGIN_PERCENT = 10.0
MAX_MARGIN_PERCENT = 100.0

# At most 9 digits a part: longer numbers are typos, and int() refuses 4,300+ digits.
_DURATION = lazy.compile(
    r"^(?:(?P<h>\d{1,9})h)?(?:(?P<m>\d{1,9})m)?(?:(?P<s>\d{1,9}(?:\.\d{1,9})?)s)?$"
)
MAX_SECONDS = 366 * 24 * 3600.0


def parse_duration(value: object) -> float | None:
    """Seconds for ``90s``, ``15m``, ``1h30m`` or a plain number; ``None`` if not a duration."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return _sane(float(value))
        except OverflowError:
            return None
    if not isinstance(value, str):
        return None
    text = value.strip().lower()
    if re.fullmatch(r"\d{1,9}(?:\.\d{1,9})?", text):
        return _sane(float(text))
    match = _DURATION.fullmatch(text)
    if not text or match is None:
        return None
    return _sane(int(match["h"] or 0) * 3600 + int(match["m"] or 0) * 60 + float(match["s"] or 0))


def _sane(seconds: float) -> float | None:
    """Positive and at most a year: a longer wait is a typo, not a plan."""
    return seconds if math.isfinite(seconds) and 0 < seconds <= MAX_SECONDS else None


_ISO_DAY = lazy.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(text: object) -> datetime.date | None:
    """A ``YYYY-MM-DD`` date (only that form, on every Python); ``None`` otherwise."""
    if not isinstance(text, str) or not _ISO_DAY.fullmatch(text.strip()):
        return None
    try:
        return datetime.date.fromisoformat(text.strip())
    except ValueError:  # 2026-02-30
        return None
