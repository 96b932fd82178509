"""Safe YAML loading for policy files: C loader when available, no duplicate keys.

A policy is configuration that decides whether a release ships, so a key that
is written twice (where YAML would silently keep the last one) is an error.
"""

from __future__ import annotations

from typing import Any

import yaml

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class DuplicateKeyError(yaml.MarkedYAMLError):
    """A mapping repeats a key."""


class _StrictLoader(_BaseLoader):  # type: ignore[misc]
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


def load_yaml(text: str) -> Any:
    """Parse one YAML document safely; raises ``yaml.YAMLError`` on bad input."""
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
