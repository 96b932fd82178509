"""The kinds of value a policy key takes, as plain data.

One vocabulary for both readers of the policy contract: ``gate.policy.load`` checks a
value against its kind (and words the error), ``gate.policy.schema`` renders the kind as
JSON Schema. A kind says what a value may be; where it sits and what it means is told by a
``Key`` in ``gate.policy.contract`` (or by the field metadata of ``RunSettings``).

Plain slotted classes, not dataclasses: every ``import gate.policy.load`` builds them, and
a dataclass costs about a millisecond to create where these cost microseconds. Treat them
as frozen.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeAlias


class _Data:
    """Shows its fields in ``repr`` (for messages about a kind the code does not handle)."""

    __slots__ = ()

    def __repr__(self) -> str:
        names = [name for cls in type(self).__mro__ for name in getattr(cls, "__slots__", ())]
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
        return f"{type(self).__name__}({shown})"


class Number(_Data):
    """A finite number, within ``low``..``high`` where given."""

    __slots__ = ("high", "low")

    def __init__(self, low: float | None = None, high: float | None = None) -> None:
        self.low = low
        self.high = high


class Percent(_Data):
    """A percent from 0 up to ``high`` (``None``: no upper end), written 95 or "95%".

    A bare number in (0, 1] is refused: a user who writes 0.95 means 95 % as often as
    0.95 %, so a fraction of a percent is written with its sign, "0.95%".
    """

    __slots__ = ("high",)

    def __init__(self, high: float | None = 100) -> None:
        self.high = high


class Count(_Data):
    """A whole number from ``minimum`` up to ``MAX_WHOLE_NUMBER`` (7.0 counts as 7)."""

    __slots__ = ("minimum",)

    def __init__(self, minimum: int = 0) -> None:
        self.minimum = minimum


# Characters a one-line text may not hold, as a regular-expression class that Python and
# JSON Schema (ECMA-262) read alike: control characters (C0, DEL, C1, so line breaks too),
# the Unicode line and paragraph separators, and the bidirectional overrides and isolates
# (which can make a name read as another in a report).
NOT_IN_ONE_LINE = r"\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069"


class Text(_Data):
    """A string with something other than blanks in it (kept stripped); with ``max_length``,
    also one line (none of ``NOT_IN_ONE_LINE``) of at most that many characters."""

    __slots__ = ("max_length",)

    def __init__(self, max_length: int | None = None) -> None:
        self.max_length = max_length


class Choice(_Data):
    """One of ``values``, spelled exactly."""

    __slots__ = ("values",)

    def __init__(self, values: tuple[str, ...]) -> None:
        self.values = values


class Flag(_Data):
    """true or false."""

    __slots__ = ()


class Const(_Data):
    """Exactly ``value`` (the policy version)."""

    __slots__ = ("value",)

    def __init__(self, value: int) -> None:
        self.value = value


class Duration(_Data):
    """90s, 15m, 1h30m or a number of seconds (``gate.policy.units.parse_duration``)."""

    __slots__ = ()


class Date(_Data):
    """A day written YYYY-MM-DD."""

    __slots__ = ()


class IdList(_Data):
    """A non-empty list of ids (whole numbers of at least 1)."""

    __slots__ = ()


class TextList(_Data):
    """A list of non-empty strings; ``non_empty``: the list itself may not be empty."""

    __slots__ = ("non_empty",)

    def __init__(self, non_empty: bool) -> None:
        self.non_empty = non_empty


class TextMap(_Data):
    """A mapping of string keys to non-empty strings."""

    __slots__ = ()


class IdOrText(_Data):
    """An id, or a non-empty string (a scenario's ``match``)."""

    __slots__ = ()


class OneOrList(_Data):
    """One ``item``, or a non-empty list of them."""

    __slots__ = ("item",)

    def __init__(self, item: Kind) -> None:
        self.item = item


class ListOf(_Data):
    """A non-empty list of ``item``."""

    __slots__ = ("item",)

    def __init__(self, item: Kind) -> None:
        self.item = item


class Caps(_Data):
    """Whole-number caps keyed by the words of one of ``vocabularies`` (never mixed)."""

    __slots__ = ("vocabularies",)

    def __init__(self, vocabularies: tuple[tuple[str, ...], ...]) -> None:
        self.vocabularies = vocabularies


class Waived(_Data):
    """What a rule with ``until`` must also say: a ``level`` among ``levels``."""

    __slots__ = ("levels",)

    def __init__(self, levels: tuple[str, ...]) -> None:
        self.levels = levels


class Key(_Data):
    """One key of a mapping: its name, its kind and what editors show for it."""

    __slots__ = ("description", "kind", "name")

    def __init__(self, name: str, kind: Kind, description: str | None = None) -> None:
        self.name = name
        self.kind = kind
        self.description = description


class Section(_Data):
    """A mapping with a closed set of ``keys`` (in the order messages list them).

    ``needs``: groups of keys of which at least one each must be present (a flag in a
    group must be true). ``required``: keys that must be present. ``sizes``: the fewest and
    most keys (``None`` for no limit). ``waiver``: the waiver keys are among ``keys``, and
    ``until`` needs a level that is not error. ``also``: JSON Schema for cross-key rules that
    the loader checks in code (``selector_problem``, mutually exclusive keys).
    """

    __slots__ = ("also", "keys", "names", "needs", "required", "sizes", "waiver")

    def __init__(
        self,
        keys: tuple[Key, ...],
        *,
        needs: tuple[tuple[str, ...], ...] = (),
        required: tuple[str, ...] = (),
        sizes: tuple[int | None, int | None] = (None, None),
        waiver: bool = False,
        also: Mapping[str, Any] | None = None,
    ) -> None:
        self.keys = keys
        self.names = tuple(key.name for key in keys)
        self.needs = needs
        self.required = required
        self.sizes = sizes
        self.waiver = waiver
        self.also: Mapping[str, Any] = also or {}

    def kind(self, name: str) -> Kind:
        return next(key.kind for key in self.keys if key.name == name)


class Forms(_Data):
    """The shapes ``rules.scenarios`` may take: a list of ``rule``, one ``rule`` (a mapping
    with ``match``) or a ``group``."""

    __slots__ = ("group", "marker", "rule")

    def __init__(self, rule: Kind, group: Kind, marker: str) -> None:
        self.rule = rule
        self.group = group
        self.marker = marker


class Named(_Data):
    """A kind that the schema defines once under ``$defs/name`` and refers to."""

    __slots__ = ("description", "kind", "name")

    def __init__(self, name: str, kind: Kind, description: str | None = None) -> None:
        self.name = name
        self.kind = kind
        self.description = description


Kind: TypeAlias = (
    "Number | Percent | Count | Text | Choice | Flag | Const | Duration | Date | IdList | TextList"
    " | TextMap | IdOrText | OneOrList | ListOf | Caps | Waived | Section | Forms | Named"
)


def kind_of(kind: Kind) -> Kind:
    """The kind itself, seen through a ``$defs`` name."""
    return kind.kind if isinstance(kind, Named) else kind


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
