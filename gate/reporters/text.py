"""Text hygiene shared by reporters: strip terminal escapes, drop XML-illegal
characters, cap long texts such as transcripts, and read ``MM:SS`` durations."""

from __future__ import annotations

import functools

from gate import lazy

# CSI (colours, cursor moves) and OSC (titles, hyperlinks) sequences, then lone ESCs.
_ANSI = lazy.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-_]?")
# Everything XML 1.0 cannot carry, even as a character reference.
_XML_ILLEGAL = lazy.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]"
)
_CONTROL = lazy.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _clean_already(text: str) -> bool:
    # Printable ASCII has no escapes, controls or XML-illegal characters: the common case,
    # and worth the shortcut on 10,000-run reports.
    return text.isascii() and text.isprintable()


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text) if "\x1b" in text else text


def xml_safe(text: str) -> str:
    """Text that any XML 1.0 parser accepts: escapes removed, illegal characters replaced."""
    if _clean_already(text):
        return text
    return _XML_ILLEGAL.sub("\ufffd", strip_ansi(text))


def plain(text: str) -> str:
    """Single-purpose text for logs and Markdown: escapes removed, controls replaced."""
    if _clean_already(text):
        return text
    return _CONTROL.sub("\ufffd", strip_ansi(text).replace("\r\n", "\n"))


def cap(text: str, limit: int) -> str:
    """At most ``limit`` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    cut = len(text) - limit
    return f"{text[:limit]}\n[... {cut} more characters cut]"


def one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(plain(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "\u2026"


@functools.lru_cache(maxsize=1024)  # a few hundred durations repeat across thousands of runs
def duration_seconds(text: str) -> float | None:
    """Seconds in a Cekura ``MM:SS`` or ``HH:MM:SS`` duration; ``None`` if not one."""
    parts = text.strip().split(":")
    if not 2 <= len(parts) <= 3:
        return None
    if not all(part.isascii() and part.isdecimal() and len(part) <= 6 for part in parts):
        return None
    seconds = 0
    for part in parts:
        seconds = seconds * 60 + int(part)
    return float(seconds)
