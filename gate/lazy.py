"""Standard-library modules and regular expressions made on first use, not at import.

Every command imports most of the gate, but only some commands use ``statistics`` (about
4 ms to import), ``difflib`` or a given regular expression (up to 2 ms to compile). A
module-level ``statistics = lazy.module("statistics")`` or
``_NAME = lazy.compile(r"...")`` reads like the eager line it replaces, and costs nothing
until an attribute is first read; from then on each attribute is a plain lookup.
"""

from __future__ import annotations

import re
import sys
from typing import Any, cast


class _Lazy:
    """Stands for an object made on first use; keeps each attribute it hands out."""

    def _make(self) -> Any:
        raise NotImplementedError

    def __getattr__(self, name: str) -> Any:  # only for attributes not yet kept
        value = getattr(self._make(), name)
        self.__dict__[name] = value  # read once: attributes of modules and patterns stay put
        return value


class _Module(_Lazy):
    def __init__(self, name: str) -> None:
        self.__dict__["_name"] = name

    def _make(self) -> Any:
        name = self.__dict__["_name"]
        __import__(name)
        return sys.modules[name]

    def __repr__(self) -> str:
        return f"<lazy module {self.__dict__['_name']!r}>"


class _Pattern(_Lazy):
    def __init__(self, pattern: str, flags: int) -> None:
        self.__dict__["_args"] = (pattern, flags)

    def _make(self) -> re.Pattern[str]:
        return re.compile(*self.__dict__["_args"])  # re caches it: compiled once

    def __repr__(self) -> str:
        return f"<lazy {self._make()!r}>"


def module(name: str) -> Any:
    """The module ``name``, imported when one of its attributes is first read."""
    return _Module(name)


def compile(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """``re.compile(pattern, flags)``, compiled when one of its methods is first used."""
    return cast("re.Pattern[str]", _Pattern(pattern, flags))  # it has every method of one
