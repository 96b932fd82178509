"""Safe YAML loading for policy files: C loader when available, no duplicate keys.

A policy is configuration that decides whether a release ships, so a key that
is written twice (where YAML would silently keep the last one) is an error.
Scalars follow YAML 1.2 where YAML 1.1 surprises people: only true/false are
booleans (``level: off`` is the string "off"), and dates stay strings.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import yaml

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


MAX_FLOW_DEPTH = 100
_BOOL_TAG = "tag:yaml.org,2002:bool"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class DuplicateKeyError(yaml.MarkedYAMLError):
    """A mapping repeats a key."""


class TooDeepError(yaml.YAMLError):
    """Brackets nest deeper than any policy needs (libyaml would overflow its stack)."""


class _StrictLoader(_BaseLoader):  # type: ignore[misc]
    yaml_implicit_resolvers: ClassVar[dict[Any, Any]] = {
        first: [
            (tag, regexp) for tag, regexp in resolvers if tag not in (_BOOL_TAG, _TIMESTAMP_TAG)
        ]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:  # unhashable key: let the base class report it
                continue
            if duplicate:
                raise DuplicateKeyError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen.add(key)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping


_StrictLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def _flow_depth(text: str) -> int:
    """Deepest bracket nesting, counted naively (quotes are not special: it only over-counts)."""
    depth = deepest = 0
    for char in re.sub(r"[^\[\]{}]+", "", text):
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(depth - 1, 0)
    return deepest


def load_yaml(text: str) -> Any:
    """Parse one YAML document safely; raises ``yaml.YAMLError`` on bad input."""
    if _flow_depth(text) > MAX_FLOW_DEPTH:
        raise TooDeepError(f"brackets nest more than {MAX_FLOW_DEPTH} levels deep")
    return yaml.load(text, Loader=_StrictLoader)


def describe_yaml_error(exc: yaml.YAMLError) -> str:
    """Turn a PyYAML error into one line: ``line 3, column 5: found duplicate key 'x'``."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if mark is not None:
            return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
        return problem
    return str(exc).splitlines()[0] if str(exc) else "invalid YAML"
