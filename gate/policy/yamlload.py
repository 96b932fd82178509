"""Safe YAML loading for policy files: C loader when available, no key set twice.

A policy is configuration that decides whether a release ships, so a key that is written
twice (where YAML would silently keep one of them) is an error, and so is a key that a
merge key (``<<``) sets as well as the mapping itself, or two merged mappings both set.
Scalars follow YAML 1.2 where YAML 1.1 surprises people: only true/false are booleans
(``level: off`` is the string "off"), dates stay strings, and only plain decimal numbers
are numbers: ``1:30`` (base 60 in YAML 1.1), ``010`` (octal), ``0x1F``, ``0b101`` and
``1_000`` stay strings, so a number key refuses them instead of reading 90, 8, 31, 5 or
1000. ``1e3`` is the number 1000, as in YAML 1.2 and JSON.

Aliases (``*name``) and merge keys repeat what an anchor holds without copying text, so a
small file can stand for billions of values. Before composing, one pass over the parser's
events measures what they expand to: the values reached through aliases, counted as if
copied. Ordinary entries cost nothing, so any alias-free policy up to the size limit loads.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import yaml

from gate import lazy

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


MAX_FLOW_DEPTH = 100
# Values reached through aliases (and so merge keys), counted as if copied. A policy that
# shares a block of bounds between a thousand rules reaches tens of thousands.
MAX_ALIASED_VALUES = 100_000
_BOOL_TAG = "tag:yaml.org,2002:bool"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"
_VALUE_TAG = "tag:yaml.org,2002:value"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_YAML_1_1_ONLY = (_BOOL_TAG, _INT_TAG, _FLOAT_TAG, _TIMESTAMP_TAG)


class DuplicateKeyError(yaml.MarkedYAMLError):
    """A mapping sets a key twice (itself, or through a merge key)."""


class TooDeepError(yaml.YAMLError):
    """Collections nest deeper than any policy needs (libyaml would overflow its stack)."""


class ExpansionError(yaml.MarkedYAMLError):
    """Aliases expand to more values than any policy needs, or refer to themselves."""


class _StrictLoader(_BaseLoader):  # type: ignore[misc]
    yaml_implicit_resolvers: ClassVar[dict[Any, Any]] = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag not in _YAML_1_1_ONLY]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        """PyYAML's merge, refusing a key set twice: by the mapping and a merged mapping, or
        by two merged mappings (YAML would silently keep one of them)."""
        own: list[tuple[yaml.Node, yaml.Node]] = []
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        merge_keys: list[yaml.Node | None] = []  # the << each merged entry came through
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                for source in self._merge_sources(node, value_node):
                    self.flatten_mapping(source)
                    merged += source.value
                    merge_keys += [key_node] * len(source.value)
                continue
            if key_node.tag == _VALUE_TAG:
                key_node.tag = _STR_TAG
            own.append((key_node, value_node))
        seen: dict[Any, bool] = {}
        owners = [None] * len(own) + merge_keys
        for (key_node, _), merge_key in zip(own + merged, owners, strict=True):
            self._check_unique(node, key_node, merge_key, seen)
        node.value = merged + own

    def _merge_sources(self, node: yaml.Node, value: yaml.Node) -> list[yaml.MappingNode]:
        sources = value.value if isinstance(value, yaml.SequenceNode) else [value]
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    "a merge key (<<) takes a mapping or a list of mappings, not a "
                    + type(source).__name__.removesuffix("Node").lower(),
                    source.start_mark,
                )
        return list(sources)

    def _check_unique(
        self,
        node: yaml.Node,
        key_node: yaml.Node,
        merge_key: yaml.Node | None,
        seen: dict[Any, bool],
    ) -> None:
        key = self.construct_object(key_node)
        try:
            before = seen.get(key)
            seen[key] = merge_key is not None
        except TypeError:  # an unhashable key: construct_mapping reports it
            return
        if before is None:
            return
        if merge_key is None:
            found = f"found duplicate key {key!r}"
        elif before:
            found = f"found duplicate key {key!r}: two merged mappings (<<) set it"
        else:
            found = f"found duplicate key {key!r}: the mapping and its merge key (<<) both set it"
        mark = (merge_key or key_node).start_mark
        raise DuplicateKeyError("while constructing a mapping", node.start_mark, found, mark)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        # Explicit tags (!!int abc, !!set [1], !!bool maybe) make PyYAML's constructors
        # fail with plain Python errors; report them at the node like any YAML error.
        _check_explicit_scalar(node)
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


# YAML 1.2's core schema, less what a policy never means: only true/false are booleans;
# integers are decimal without leading zeros; floats need a dot or an exponent.
_BOOL = lazy.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = lazy.compile(r"^[-+]?(?:0|[1-9][0-9]*)$")
_FLOAT = lazy.compile(
    r"^(?:[-+]?(?:0|[1-9][0-9]*)(?:\.[0-9]*(?:[eE][-+]?[0-9]+)?|[eE][-+]?[0-9]+)"
    r"|[-+]?\.[0-9]+(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)
_StrictLoader.add_implicit_resolver(_BOOL_TAG, _BOOL, list("tTfF"))
_StrictLoader.add_implicit_resolver(_INT_TAG, _INT, list("-+0123456789"))
_StrictLoader.add_implicit_resolver(_FLOAT_TAG, _FLOAT, list("-+0123456789."))

# An explicit tag (``!!int "010"``, ``!!float "1:00"``, ``!!bool yes``) must not bring back
# the YAML 1.1 readings (octal, base 60, yes/no) that the implicit resolvers leave out.
_EXPLICIT_FORMS = {
    _BOOL_TAG: ("a boolean (true or false)", (_BOOL,)),
    _INT_TAG: ("a decimal whole number", (_INT,)),
    _FLOAT_TAG: ("a decimal number", (_INT, _FLOAT)),
}


def _check_explicit_scalar(node: yaml.Node) -> None:
    form = _EXPLICIT_FORMS.get(node.tag) if isinstance(node, yaml.ScalarNode) else None
    if form is None:
        return
    kind, patterns = form
    if not any(pattern.match(node.value) for pattern in patterns):
        raise yaml.constructor.ConstructorError(
            None, None, f"{node.value[:40]!r} is not {kind}", node.start_mark
        )


def _check_events(text: str) -> None:
    """Refuse, before composing, nesting no policy needs and aliases that expand too far.

    libyaml's composer recurses in C and overflows the stack (a crash, not an error)
    somewhere past 20,000 levels, and PyYAML copies merged entries eagerly: nine levels of
    nine aliases is 9**9 values. Each collection's size is counted as if every alias in it
    were copied; an alias adds its anchor's size to the values reached through aliases.
    """
    sizes: dict[str, int] = {}  # anchor -> values its node stands for, aliases expanded
    open_: list[tuple[str | None, int]] = []  # the collections being read: anchor, size
    aliased = 0
    for event in _events(text):
        if isinstance(event, yaml.CollectionStartEvent):
            open_.append((event.anchor, 1))
            if len(open_) > MAX_FLOW_DEPTH:
                raise TooDeepError(f"collections nest more than {MAX_FLOW_DEPTH} levels deep")
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            anchor, size = open_.pop()
        elif isinstance(event, yaml.AliasEvent):
            anchor, size = None, _alias_size(event, sizes, open_)
            aliased += size
            if aliased > MAX_ALIASED_VALUES:
                raise ExpansionError(
                    problem=f"aliases and merge keys (<<) expand to more than "
                    f"{MAX_ALIASED_VALUES} values; write the rules out or share smaller blocks",
                    problem_mark=_mark(event),
                )
        elif isinstance(event, yaml.ScalarEvent):
            anchor, size = event.anchor, 1
        else:
            continue
        if anchor is not None:
            sizes[anchor] = size
        if open_:
            open_[-1] = (open_[-1][0], open_[-1][1] + size)


def _alias_size(
    alias: yaml.AliasEvent, sizes: dict[str, int], open_: list[tuple[str | None, int]]
) -> int:
    """The values an alias stands for; 0 for an unknown anchor (the composer reports it)."""
    if any(name == alias.anchor for name, _ in open_):
        raise ExpansionError(
            problem=f"the alias *{alias.anchor} is inside the collection it names",
            problem_mark=_mark(alias),
        )
    return sizes.get(alias.anchor or "", 0)


def _mark(event: yaml.Event) -> Any:
    """Where an event starts (libyaml's marks are its own type, with the same fields)."""
    return event.start_mark


def _events(text: str) -> Iterator[yaml.Event]:
    return iter(yaml.parse(text, Loader=_BaseLoader))


def load_yaml(text: str) -> Any:
    """Parse one YAML document safely; raises ``yaml.YAMLError`` on bad input."""
    return load_yaml_with_lines(text)[0]


def load_yaml_with_lines(text: str) -> tuple[Any, dict[str, int]]:
    """Parse one YAML document safely, and say on which line (1-based) each rule starts:
    ``{"rules.success_rate": 12, "rules.metrics[0]": 20, "rules.scenarios.each[1]": 41}``.
    One parse gives both (the node tree is composed once, then constructed). Raises
    ``yaml.YAMLError`` on bad input."""
    _check_events(text)
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
        return data, rule_lines(node)
    except yaml.YAMLError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError) as exc:
        # Some constructors (!!set, !!omap) fail after construct_object has returned.
        raise yaml.YAMLError(f"a value could not be read ({type(exc).__name__})") from None
    finally:
        loader.dispose()


def rule_lines(root: yaml.Node | None) -> dict[str, int]:
    """The line of each rule under ``rules`` (a key's line, or a list item's), by the path
    the loader's messages use. Only the few levels rules live at are walked."""
    lines: dict[str, int] = {}
    rules = _value_of(root, "rules")
    for key, value in _entries(rules):
        path = f"rules.{key.value}"
        lines[path] = key.start_mark.line + 1
        lines.update(_item_lines(value, path))
        lines.update(_item_lines(_value_of(value, "each"), f"{path}.each"))
    return lines


def _entries(node: yaml.Node | None) -> list[tuple[yaml.ScalarNode, yaml.Node]]:
    """A mapping node's entries whose keys are plain strings (not merge keys)."""
    if not isinstance(node, yaml.MappingNode):
        return []
    return [
        (key, value)
        for key, value in node.value
        if isinstance(key, yaml.ScalarNode) and key.tag == _STR_TAG
    ]


def _value_of(node: yaml.Node | None, name: str) -> yaml.Node | None:
    return next((value for key, value in _entries(node) if key.value == name), None)


def _item_lines(node: yaml.Node | None, path: str) -> dict[str, int]:
    if not isinstance(node, yaml.SequenceNode):
        return {}
    return {f"{path}[{index}]": item.start_mark.line + 1 for index, item in enumerate(node.value)}


def describe_yaml_error(exc: yaml.YAMLError) -> str:
    """Turn a PyYAML error into one line: ``line 3, column 5: found duplicate key 'x'``."""
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if mark is not None:
            return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
        return problem
    return str(exc).splitlines()[0] if str(exc) else "invalid YAML"
