"""The policy's JSON Schema (Draft 2020-12), rendered from ``gate.policy.contract``.

The shipped ``policy.schema.json`` is ``schema_text()``, written by
``python scripts/policy_schema.py --write`` (``make schema``); a test and
``--check`` fail when the file and the contract drift apart. Pure: no I/O.
"""

from __future__ import annotations

import json
from typing import Any

from gate.policy import contract
from gate.policy.kinds import (
    NOT_IN_ONE_LINE,
    Caps,
    Choice,
    Const,
    Count,
    Date,
    Duration,
    Flag,
    Forms,
    IdList,
    IdOrText,
    Key,
    Kind,
    ListOf,
    Named,
    Number,
    OneOrList,
    Percent,
    Section,
    Text,
    TextList,
    TextMap,
    Waived,
)
from gate.policy.model import ID, MAX_WHOLE_NUMBER
from gate.policy.units import MAX_SECONDS

DRAFT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "https://github.com/cekura-gate/cekura-gate/policy.schema.json"

JSON = dict[str, Any]
TEXT: JSON = {"type": "string", "minLength": 1, "pattern": r"\S"}
# One line with something in it (kinds.NOT_IN_ONE_LINE, as the loader checks it).
ONE_LINE_TEXT = rf"^[^{NOT_IN_ONE_LINE}]*[^{NOT_IN_ONE_LINE}\s][^{NOT_IN_ONE_LINE}]*$"
# The forms parse_duration takes, less those that come to zero (a schema cannot do sums).
DURATION_TEXT = r"^\s*(\d+(\.\d+)?|(\d+[hH])?(\d+[mM])?(\d+(\.\d+)?[sS])?)\s*$"
ZERO_DURATION = r"^[\s0hHmMsS.]*$"
# A percent written with its sign (as the loader takes it): up to 100, or any size.
PERCENT_TEXT = r"^\s*(100(\.0+)?|[0-9]{1,2}(\.[0-9]+)?|\.[0-9]+)\s*%\s*$"
ANY_PERCENT_TEXT = r"^\s*([0-9]+(\.[0-9]+)?|\.[0-9]+)\s*%\s*$"
DATE_TEXT = r"^\s*[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])\s*$"


def policy_schema() -> JSON:
    """The whole schema as a JSON-ready dict."""
    return {
        "$schema": DRAFT,
        "$id": SCHEMA_ID,
        "title": contract.TITLE,
        "description": contract.DESCRIPTION,
        **render(contract.POLICY),
        "$defs": {
            named.name: _described(named.kind, named.description) for named in contract.DEFINED
        },
    }


def schema_text() -> str:
    """The schema as the shipped file holds it."""
    return json.dumps(policy_schema(), indent=2) + "\n"


def render(kind: Kind) -> JSON:
    """One kind as JSON Schema; a named kind is a ``$ref`` to its definition."""
    if isinstance(kind, Named):
        return {"$ref": f"#/$defs/{kind.name}"}
    if isinstance(kind, Section):
        return _section(kind)
    if isinstance(kind, Forms):
        return _forms(kind)
    return _scalar(kind) or _collection(kind)


def _scalar(kind: Kind) -> JSON:
    if isinstance(kind, Number):
        bounds = {"minimum": kind.low, "maximum": kind.high}
        return {
            "type": "number",
            **{word: value for word, value in bounds.items() if value is not None},
        }
    if isinstance(kind, Percent):
        return _percent(kind)
    if isinstance(kind, Count):
        return {"type": "integer", "minimum": kind.minimum, "maximum": MAX_WHOLE_NUMBER}
    if isinstance(kind, Text):
        if kind.max_length is None:
            return dict(TEXT)
        return {"type": "string", "pattern": ONE_LINE_TEXT, "maxLength": kind.max_length}
    if isinstance(kind, Choice):
        return {"enum": list(kind.values)}
    if isinstance(kind, Flag):
        return {"type": "boolean"}
    if isinstance(kind, Const):
        return {"const": kind.value}
    if isinstance(kind, Duration):
        return {
            "oneOf": [
                {"type": "number", "exclusiveMinimum": 0, "maximum": int(MAX_SECONDS)},
                {"type": "string", "pattern": DURATION_TEXT, "not": {"pattern": ZERO_DURATION}},
            ]
        }
    if isinstance(kind, Date):
        return {"type": "string", "format": "date", "pattern": DATE_TEXT}
    if isinstance(kind, IdOrText):
        return {"oneOf": [render(ID), dict(TEXT)]}
    if isinstance(kind, Waived):
        return {"required": ["level"], "properties": {"level": {"enum": list(kind.levels)}}}
    return {}


def _percent(kind: Percent) -> JSON:
    """A number (not in (0, 1]: ambiguous), or a string with the percent sign."""
    assert kind.high in (100, None), kind  # no pattern is written for another upper end
    number: JSON = {"type": "number", "minimum": 0}
    if kind.high is not None:
        number["maximum"] = kind.high
    number["not"] = {"exclusiveMinimum": 0, "maximum": 1}
    pattern = PERCENT_TEXT if kind.high == 100 else ANY_PERCENT_TEXT
    return {"oneOf": [number, {"type": "string", "pattern": pattern}]}


def _collection(kind: Kind) -> JSON:
    if isinstance(kind, IdList):
        return _list(ID, non_empty=True)
    if isinstance(kind, TextList):
        return _list(Text(), non_empty=kind.non_empty)
    if isinstance(kind, ListOf):
        return _list(kind.item, non_empty=True)
    if isinstance(kind, OneOrList):
        return {"oneOf": [render(kind.item), _list(kind.item, non_empty=True)]}
    if isinstance(kind, TextMap):
        return {"type": "object", "additionalProperties": dict(TEXT)}
    if isinstance(kind, Caps):
        caps = [
            Section(tuple(Key(word, contract.COUNT) for word in words), sizes=(1, None))
            for words in kind.vocabularies
        ]
        return {"oneOf": [render(section) for section in caps]}
    raise TypeError(f"no JSON Schema for {kind!r}")


def _list(item: Kind, *, non_empty: bool) -> JSON:
    return {"type": "array", **({"minItems": 1} if non_empty else {}), "items": render(item)}


def _section(section: Section) -> JSON:
    body: JSON = {"type": "object", "additionalProperties": False}
    if section.required:
        body["required"] = list(section.required)
    fewest, most = section.sizes
    body.update(
        {
            word: size
            for word, size in (("minProperties", fewest), ("maxProperties", most))
            if size is not None
        }
    )
    needs = [{"anyOf": [_present(section, name) for name in group]} for group in section.needs]
    if len(needs) == 1:
        body.update(needs[0])
    elif needs:
        body["allOf"] = needs
    body["properties"] = {key.name: _described(key.kind, key.description) for key in section.keys}
    if section.waiver:
        body["dependentSchemas"] = {"until": render(contract.WAIVED)}
    return {**body, **section.also}


def _present(section: Section, name: str) -> JSON:
    """The key is there (and, for a flag, true)."""
    if isinstance(section.kind(name), Flag):
        return {"required": [name], "properties": {name: {"const": True}}}
    return {"required": [name]}


def _forms(forms: Forms) -> JSON:
    rule = render(forms.rule)
    return {
        "type": ["array", "object"],
        "if": {"type": "array"},
        "then": {"minItems": 1, "items": rule},
        "else": {"if": {"required": [forms.marker]}, "then": rule, "else": render(forms.group)},
    }


def _described(kind: Kind, description: str | None) -> JSON:
    body = render(kind)
    return {**body, "description": description} if description else body
