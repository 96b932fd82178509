"""The kinds of value a policy key takes, as plain data.

One vocabulary for both readers of the policy contract: ``gate.policy.load`` checks a
value against its kind (and words the error), ``gate.policy.schema`` renders the kind as
JSON Schema. A kind says what a value may be; where it sits and what it means is told by a
``Key`` in ``gate.policy.contract`` (or by the field metadata of ``RunSettings``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias


@dataclass(frozen=True, slots=True)
class Number:
    """A finite number, within ``low``..``high`` where given."""

    low: float | None = None
    high: float | None = None


@dataclass(frozen=True, slots=True)
class Count:
    """A whole number from ``minimum`` up to ``MAX_WHOLE_NUMBER`` (7.0 counts as 7)."""

    minimum: int = 0


@dataclass(frozen=True, slots=True)
class Text:
    """A string with something other than blanks in it (kept stripped)."""


@dataclass(frozen=True, slots=True)
class Choice:
    """One of ``values``, spelled exactly."""

    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Flag:
    """true or false."""


@dataclass(frozen=True, slots=True)
class Const:
    """Exactly ``value`` (the policy version)."""

    value: int


@dataclass(frozen=True, slots=True)
class Duration:
    """90s, 15m, 1h30m or a number of seconds (``gate.policy.units.parse_duration``)."""


@dataclass(frozen=True, slots=True)
class Date:
    """A day written YYYY-MM-DD."""


@dataclass(frozen=True, slots=True)
class IdList:
    """A non-empty list of ids (whole numbers of at least 1)."""


@dataclass(frozen=True, slots=True)
class TextList:
    """A list of non-empty strings; ``non_empty``: the list itself may not be empty."""

    non_empty: bool


@dataclass(frozen=True, slots=True)
class TextMap:
    """A mapping of string keys to non-empty strings."""


@dataclass(frozen=True, slots=True)
class IdOrText:
    """An id, or a non-empty string (a scenario's ``match``)."""


@dataclass(frozen=True, slots=True)
class OneOrList:
    """One ``item``, or a non-empty list of them."""

    item: Kind


@dataclass(frozen=True, slots=True)
class ListOf:
    """A non-empty list of ``item``."""

    item: Kind


@dataclass(frozen=True, slots=True)
class Caps:
    """Whole-number caps keyed by the words of one of ``vocabularies`` (never mixed)."""

    vocabularies: tuple[tuple[str, ...], ...]


@dataclass(frozen=True, slots=True)
class Waived:
    """What a rule with ``until`` must also say: a ``level`` among ``levels``."""

    levels: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Key:
    """One key of a mapping: its name, its kind and what editors show for it."""

    name: str
    kind: Kind
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Section:
    """A mapping with a closed set of ``keys`` (in the order messages list them).

    ``needs``: groups of keys of which at least one each must be present (a flag in a
    group must be true). ``required``: keys that must be present. ``sizes``: the fewest and
    most keys (``None`` for no limit). ``waiver``: the waiver keys are among ``keys``, and
    ``until`` needs a level that is not error. ``also``: JSON Schema for cross-key rules that
    the loader checks in code (``selector_problem``, mutually exclusive keys).
    """

    keys: tuple[Key, ...]
    needs: tuple[tuple[str, ...], ...] = ()
    required: tuple[str, ...] = ()
    sizes: tuple[int | None, int | None] = (None, None)
    waiver: bool = False
    also: Mapping[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(key.name for key in self.keys)

    def kind(self, name: str) -> Kind:
        return next(key.kind for key in self.keys if key.name == name)


@dataclass(frozen=True, slots=True)
class Forms:
    """The shapes ``rules.scenarios`` may take: a list of ``rule``, one ``rule`` (a mapping
    with ``match``) or a ``group``."""

    rule: Kind
    group: Kind
    marker: str


@dataclass(frozen=True, slots=True)
class Named:
    """A kind that the schema defines once under ``$defs/name`` and refers to."""

    name: str
    kind: Kind
    description: str | None = None


Kind: TypeAlias = (
    "Number | Count | Text | Choice | Flag | Const | Duration | Date | IdList | TextList"
    " | TextMap | IdOrText | OneOrList | ListOf | Caps | Waived | Section | Forms | Named"
)


def policy_key(
    kind: Kind,
    description: str | None = None,
    *,
    api: str | None = None,
    keep_empty: bool = False,
    selector: bool = False,
) -> dict[str, Any]:
    """Field metadata for a model field that is written as a policy key of the same name.

    ``api``: the field's name in the API's request body (``None``: not sent as a field).
    ``keep_empty``: an empty list is sent (it means something). ``selector``: one of the
    keys that select scenarios.
    """
    return {
        "kind": kind,
        "description": description,
        "api": api,
        "keep_empty": keep_empty,
        "selector": selector,
    }
