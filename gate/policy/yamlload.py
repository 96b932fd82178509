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
MAX_MERGED_ENTRIES = 10_000
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
                seen.add(key)
            except TypeError:  # unhashable key: let the base class report it
                continue
            if duplicate:
                raise DuplicateKeyError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r}",
                    key_node.start_mark,
                )
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # Explicit tags (!!int abc, !!set [1], !!bool maybe) make PyYAML's constructors
        # fail with plain Python errors; report them at the node like any YAML error.
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError) as exc:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"cannot read this {node.tag} value ({type(exc).__name__})",
                node.start_mark,
            ) from None

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        # Merge keys (<<) expand aliases eagerly: nine levels of nine merges is 9**9 entries.
        budget = getattr(self, "_merge_budget", MAX_MERGED_ENTRIES) - len(node.value)
        if budget < 0:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"merge keys (<<) expand to more than {MAX_MERGED_ENTRIES} entries",
                node.start_mark,
            )
        self._merge_budget = budget
        super().flatten_mapping(node)


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


def _check_nesting(text: str) -> None:
    """Refuse nesting no policy needs before composing: libyaml's composer recurses in C
    and overflows the stack (a crash, not an error) somewhere past 20,000 levels."""
    if _flow_depth(text) > MAX_FLOW_DEPTH:
        raise TooDeepError(f"brackets nest more than {MAX_FLOW_DEPTH} levels deep")
    depth = 0
    for event in yaml.parse(text, Loader=_BaseLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_FLOW_DEPTH:
                raise TooDeepError(f"collections nest more than {MAX_FLOW_DEPTH} levels deep")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def load_yaml(text: str) -> Any:
    """Parse one YAML document safely; raises ``yaml.YAMLError`` on bad input."""
    _check_nesting(text)
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError) as exc:
        # Some constructors (!!set, !!omap) fail after construct_object has returned.
        raise yaml.YAMLError(f"a value could not be read ({type(exc).__name__})") from None


def describe_yaml_error(exc: yaml.YAMLError) -> str:
    """Turn a PyYAML error into one line: ``line 3, column 5: found duplicate key 'x'``."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if mark is not None:
            return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
        return problem
    return str(exc).splitlines()[0] if str(exc) else "invalid YAML"
