"""The standard library's ``dataclasses`` for the part the gate uses, at a fraction of the
start-up cost: import it as ``from gate import dataclasses`` or
``from gate.dataclasses import dataclass, field``.

``import dataclasses`` costs about 10 ms (it imports ``inspect``, and so ``ast``, ``dis``
and ``tokenize``), and each class it makes costs about half a millisecond more (six
methods, each compiled from source, and a signature for the docstring); a command makes
dozens. Here a class costs about 40 microseconds: its methods are functions shared by every
class, which read the class's fields. Once a class has made or compared ``COMPILE_AFTER``
instances, its ``__init__``, ``__eq__`` and ``__hash__`` are compiled from source as the
standard library writes them (in one compile), so that a hot class (a run, a check) is as
fast as the standard library's, and the few instances most classes make pay no compile.

What a class gets is what the standard library gives it: ``__init__``, ``__repr__``,
``__eq__``, ``__hash__`` (frozen: of the compared fields; otherwise ``None``),
``__match_args__``, and with ``frozen=True`` a ``__setattr__`` and ``__delattr__`` that
raise ``dataclasses.FrozenInstanceError``; with ``slots=True`` the class is remade with
``__slots__`` (and, frozen, pickles). Methods the class writes itself are kept.
``fields``, ``replace`` and ``is_dataclass`` work on these classes and on the standard
library's, and so do the standard library's own functions on these classes: the first
time one of them reads ``__dataclass_fields__``, the standard library is imported and the
class gets real ``dataclasses.Field`` objects.

Only these options exist: ``dataclass(init=, repr=, eq=, frozen=, slots=)`` and
``field(default=, default_factory=, init=, repr=, hash=, compare=, metadata=)``; any other
(``order``, ``kw_only``, ...) raises ``TypeError`` when the class is made, as do ``InitVar``,
a mutable default and a dataclass that inherits from another one.
"""

from __future__ import annotations

import operator
import sys
from _thread import get_ident
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

__all__ = ["FrozenInstanceError", "dataclass", "field", "fields", "is_dataclass", "replace"]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
_NO_METADATA: Mapping[Any, Any] = MappingProxyType({})
_SPEC = "__gate_dataclass__"  # where a class keeps its _Spec
_STDLIB_FIELDS = "__dataclass_fields__"


class Field:
    """One field, with the attributes of ``dataclasses.Field`` (``name``, ``type``,
    ``default``, ``default_factory``, ``init``, ``repr``, ``hash``, ``compare``,
    ``metadata``, ``kw_only``)."""

    __slots__ = (
        "compare",
        "default",
        "default_factory",
        "hash",
        "init",
        "kw_only",
        "metadata",
        "name",
        "repr",
        "type",
    )

    def __init__(
        self,
        default: Any,
        default_factory: Any,
        init: bool,
        repr: bool,
        hash: bool | None,
        compare: bool,
        metadata: Mapping[Any, Any] | None,
    ) -> None:
        self.name: str = ""
        self.type: Any = None
        self.default = default
        self.default_factory = default_factory
        self.init = init
        self.repr = repr
        self.hash = hash
        self.compare = compare
        self.metadata = _NO_METADATA if not metadata else MappingProxyType(metadata)
        self.kw_only = False

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"Field({shown})"


def _field(
    *,
    default: Any = MISSING,
    default_factory: Any = MISSING,
    init: bool = True,
    repr: bool = True,
    hash: bool | None = None,
    compare: bool = True,
    metadata: Mapping[Any, Any] | None = None,
) -> Any:
    if default is not MISSING and default_factory is not MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return Field(default, default_factory, init, repr, hash, compare, metadata)


COMPILE_AFTER = 20  # instances made or compared: past this, a class is hot and compiled


class _Spec:
    """A class's fields and what its methods (shared by every class) read from them."""

    __slots__ = (
        "calls",
        "cls",
        "compared",
        "compiled",
        "fields",
        "frozen",
        "hashed",
        "init_names",
        "known",
        "names",
        "plan",
        "required",
        "shown",
    )

    def __init__(self, fields: tuple[Field, ...], frozen: bool) -> None:
        self.cls: type[Any] = object  # the class, once made
        self.fields = fields
        self.frozen = frozen
        self.names = frozenset(spec.name for spec in fields)
        self.init_names = tuple(spec.name for spec in fields if spec.init)
        self.known = frozenset(self.init_names)
        self.required = frozenset(
            spec.name for spec in fields if spec.init and spec.default is spec.default_factory
        )  # both MISSING: they are never the same value otherwise
        self.plan = tuple((f.name, f.init, f.default, f.default_factory) for f in fields)
        self.shown = tuple(spec.name for spec in fields if spec.repr)
        self.compared = _values([spec.name for spec in fields if spec.compare])
        self.hashed = _values([spec.name for spec in fields if _hashed(spec)])
        self.calls = 0  # of the shared __init__, __eq__ and __hash__
        self.compiled: dict[str, Callable[..., Any]] | None = None


def _dataclass(
    cls: type[Any] | None = None,
    /,
    *,
    init: bool = True,
    repr: bool = True,
    eq: bool = True,
    frozen: bool = False,
    slots: bool = False,
    **others: Any,
) -> Any:
    if others:
        raise TypeError(
            f"gate.dataclasses.dataclass has no {', '.join(sorted(others))}: use the standard "
            "library's dataclasses for that class"
        )

    def wrap(cls: type[Any]) -> type[Any]:
        wanted = {"__init__": init, "__repr__": repr, "__eq__": eq}
        return _process(cls, frozen, slots, {name for name, on in wanted.items() if not on})

    return wrap if cls is None else wrap(cls)


def _process(cls: type[Any], frozen: bool, slots: bool, left_out: set[str]) -> type[Any]:
    own = cls.__dict__
    for base in cls.__mro__[1:-1]:
        if _SPEC in base.__dict__ or _STDLIB_FIELDS in base.__dict__:
            raise TypeError(f"{cls.__name__}: gate.dataclasses does not support inheritance")
    specs: list[Field] = []
    seen_default = False
    for name, annotation in (own.get("__annotations__") or {}).items():
        text = annotation if isinstance(annotation, str) else repr(annotation)
        if text.startswith(("ClassVar", "typing.ClassVar")):
            continue
        if "InitVar" in text:
            raise TypeError(f"{cls.__name__}.{name}: gate.dataclasses has no InitVar")
        value = own.get(name, MISSING)
        if isinstance(value, Field):
            spec = value
        else:
            spec = Field(value, MISSING, True, True, None, True, None)
        spec.name, spec.type = name, annotation
        if spec.default is not MISSING and type(spec.default).__hash__ is None:
            raise ValueError(
                f"mutable default {type(spec.default)} for field {name} is not allowed: "
                "use default_factory"
            )
        if spec.init:
            if spec.default is not MISSING or spec.default_factory is not MISSING:
                seen_default = True
            elif seen_default:
                raise TypeError(f"non-default argument {name!r} follows default argument")
        specs.append(spec)

    spec_of_class = _Spec(tuple(specs), frozen)
    made: dict[str, Any] = {
        _SPEC: spec_of_class,
        _STDLIB_FIELDS: _StdlibFields(spec_of_class),
        "__init__": _init,
        "__repr__": _repr,
        "__eq__": _eq,
        "__match_args__": spec_of_class.init_names,
    }
    if frozen and slots:  # pickling (and copying) sets the fields one by one
        made.update(__getstate__=_getstate, __setstate__=_setstate)
    methods = {  # its own methods win
        name: value for name, value in made.items() if name not in own and name not in left_out
    }
    class_hash = own.get("__hash__", MISSING)
    no_hash_of_its_own = class_hash is MISSING or (class_hash is None and "__eq__" in own)
    if "__eq__" not in left_out and no_hash_of_its_own:
        methods["__hash__"] = _hash if frozen else None
    if frozen:
        if "__setattr__" in own or "__delattr__" in own:
            raise TypeError(f"cannot overwrite __setattr__ or __delattr__ in {cls.__name__}")
        methods.update(__setattr__=_frozen_setattr, __delattr__=_frozen_delattr)
    if slots:
        cls = _with_slots(cls, specs, methods)
    else:
        for spec in specs:  # as the standard library leaves them: defaults as class attributes
            if isinstance(own.get(spec.name), Field):
                if spec.default is MISSING:
                    delattr(cls, spec.name)
                else:
                    setattr(cls, spec.name, spec.default)
        for name, value in methods.items():
            setattr(cls, name, value)
    spec_of_class.cls = cls
    return cls


def _hashed(spec: Field) -> bool:
    return spec.compare if spec.hash is None else spec.hash


def _with_slots(cls: type[Any], specs: list[Field], methods: dict[str, Any]) -> type[Any]:
    """The class made again with ``__slots__`` (and the methods: one type made, not one
    change of it per method)."""
    namespace = dict(cls.__dict__)
    names = tuple(spec.name for spec in specs)
    for name in names:
        namespace.pop(name, None)
    namespace.pop("__dict__", None)
    namespace.pop("__weakref__", None)
    namespace["__slots__"] = names
    namespace.update(methods)
    metaclass: Any = type(cls)
    remade: type[Any] = metaclass(cls.__name__, cls.__bases__, namespace)
    remade.__qualname__ = cls.__qualname__
    return remade


# --------------------------------------------------------------------------- methods
# One function each, for every class: each reads the class's _Spec.


def _init(self: Any, /, *args: Any, **kwargs: Any) -> None:
    """Sets the fields from a loop over them. A call the loop would not take as it is (a
    missing, unknown or repeated argument) goes to the compiled ``__init__``, whose
    ``TypeError`` it raises."""
    spec: _Spec = self.__gate_dataclass__
    spec.calls += 1
    given = dict(zip(spec.init_names, args, strict=False)) if args else {}
    if (
        spec.calls > COMPILE_AFTER
        or len(args) > len(spec.init_names)
        or not spec.known.issuperset(kwargs)
        or not given.keys().isdisjoint(kwargs)
        or not spec.required.issubset(given.keys() | kwargs.keys())
    ):
        _compiled(spec)["__init__"](self, *args, **kwargs)
        return
    given.update(kwargs)
    assign = object.__setattr__ if spec.frozen else setattr
    for name, init, default, factory in spec.plan:
        if init and name in given:
            assign(self, name, given[name])
        elif factory is not MISSING:
            assign(self, name, factory())
        elif default is not MISSING:
            assign(self, name, default)


_IN_REPR: set[tuple[int, int]] = set()  # (object, thread): "..." for an object inside itself


def _repr(self: Any) -> str:
    key = (id(self), get_ident())
    if key in _IN_REPR:
        return "..."
    _IN_REPR.add(key)
    try:
        names = self.__gate_dataclass__.shown
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in names)
    finally:
        _IN_REPR.discard(key)
    return f"{self.__class__.__qualname__}({shown})"


def _eq(self: Any, other: object) -> Any:
    spec: _Spec = self.__gate_dataclass__
    spec.calls += 1
    if spec.calls > COMPILE_AFTER:
        return _compiled(spec)["__eq__"](self, other)
    if other.__class__ is self.__class__:
        return spec.compared(self) == spec.compared(other)
    return NotImplemented


def _hash(self: Any) -> int:
    spec: _Spec = self.__gate_dataclass__
    spec.calls += 1
    if spec.calls > COMPILE_AFTER:
        return int(_compiled(spec)["__hash__"](self))
    return hash(spec.hashed(self))


def _compiled(spec: _Spec) -> dict[str, Callable[..., Any]]:
    """The class's ``__init__``, ``__eq__`` and ``__hash__`` as the standard library writes
    them, compiled (once) and put in place of the shared ones the class uses: it has made
    ``COMPILE_AFTER`` instances or comparisons, and a compile (about 0.2 ms) pays."""
    if spec.compiled is None:
        spec.compiled = _compile(spec)
        cls = spec.cls
        for name, method in spec.compiled.items():
            if cls.__dict__.get(name) is _SHARED[name]:
                setattr(cls, name, method)
    return spec.compiled


_HAS_DEFAULT_FACTORY: Any = _Missing()


def _compile(spec: _Spec) -> dict[str, Callable[..., Any]]:
    """One compile for the three methods (each as ``dataclasses`` writes it)."""
    self_name = "__dataclass_self__" if "self" in spec.init_names else "self"
    closure: dict[str, Any] = {
        "__dataclass_setattr__": object.__setattr__,
        "__dataclass_HAS_DEFAULT_FACTORY__": _HAS_DEFAULT_FACTORY,
    }
    params = [self_name]
    body = []
    for field_spec in spec.fields:
        name = field_spec.name
        factory = field_spec.default_factory
        if factory is not MISSING:
            closure[f"__dataclass_dflt_{name}__"] = factory
            if field_spec.init:
                params.append(f"{name}=__dataclass_HAS_DEFAULT_FACTORY__")
                value = (
                    f"__dataclass_dflt_{name}__() "
                    f"if {name} is __dataclass_HAS_DEFAULT_FACTORY__ else {name}"
                )
            else:
                value = f"__dataclass_dflt_{name}__()"
        elif field_spec.init:
            if field_spec.default is MISSING:
                params.append(name)
            else:
                closure[f"__dataclass_dflt_{name}__"] = field_spec.default
                params.append(f"{name}=__dataclass_dflt_{name}__")
            value = name
        elif field_spec.default is not MISSING:
            closure[f"__dataclass_dflt_{name}__"] = field_spec.default
            value = f"__dataclass_dflt_{name}__"
        else:
            continue
        if spec.frozen:
            body.append(f"  __dataclass_setattr__({self_name}, {name!r}, {value})")
        else:
            body.append(f"  {self_name}.{name} = {value}")

    def values(owner: str, names: tuple[str, ...]) -> str:
        return "(" + "".join(f"{owner}.{name}," for name in names) + ")"

    compared = tuple(f.name for f in spec.fields if f.compare)
    hashed = tuple(f.name for f in spec.fields if _hashed(f))
    source = "\n".join(
        [
            f"def __create_fn__({', '.join(closure)}):",
            f" def __init__({', '.join(params)}):",
            *(body or ["  pass"]),
            " def __eq__(self, other):",
            "  if other.__class__ is self.__class__:",
            f"   return {values('self', compared)} == {values('other', compared)}",
            "  return NotImplemented",
            " def __hash__(self):",
            f"  return hash({values('self', hashed)})",
            " return {'__init__': __init__, '__eq__': __eq__, '__hash__': __hash__}",
        ]
    )
    namespace: dict[str, Any] = {}
    exec(source, {}, namespace)
    methods: dict[str, Callable[..., Any]] = namespace["__create_fn__"](**closure)
    for name, method in methods.items():
        method.__qualname__ = f"{spec.cls.__qualname__}.{name}"
    return methods


def _values(names: list[str]) -> Callable[[Any], tuple[Any, ...]]:
    """The tuple of the named attributes (the standard library compares and hashes it)."""
    if len(names) > 1:
        return operator.attrgetter(*names)
    if names:
        getter = operator.attrgetter(names[0])
        return lambda obj: (getter(obj),)
    return lambda obj: ()


_SHARED: dict[str, Callable[..., Any]] = {"__init__": _init, "__eq__": _eq, "__hash__": _hash}


def _frozen_error(message: str) -> AttributeError:
    from dataclasses import FrozenInstanceError as Error  # only when code breaks the rule

    return Error(message)


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    spec: _Spec = type(self).__gate_dataclass__
    if type(self) is spec.cls or name in spec.names:
        raise _frozen_error(f"cannot assign to field {name!r}")
    super(spec.cls, self).__setattr__(name, value)


def _frozen_delattr(self: Any, name: str) -> None:
    spec: _Spec = type(self).__gate_dataclass__
    if type(self) is spec.cls or name in spec.names:
        raise _frozen_error(f"cannot delete field {name!r}")
    super(spec.cls, self).__delattr__(name)


def _getstate(self: Any) -> list[Any]:
    return [getattr(self, spec.name) for spec in _fields(self)]


def _setstate(self: Any, state: list[Any]) -> None:
    for spec, value in zip(_fields(self), state, strict=False):
        object.__setattr__(self, spec.name, value)


class _StdlibFields:
    """``__dataclass_fields__``, made when first read: the standard library's own
    functions (``dataclasses.fields``, ``replace``, ``asdict``) read it."""

    def __init__(self, spec: _Spec) -> None:
        self.spec = spec

    def __get__(self, obj: object, owner: type[Any] | None = None) -> dict[str, Any]:
        import dataclasses as stdlib

        made = {}
        for spec in self.spec.fields:
            real: Any = stdlib.field(
                default=spec.default if spec.default is not MISSING else stdlib.MISSING,
                default_factory=(
                    spec.default_factory if spec.default_factory is not MISSING else stdlib.MISSING
                ),
                init=spec.init,
                repr=spec.repr,
                hash=spec.hash,
                compare=spec.compare,
                metadata=spec.metadata or None,
            )
            real.name, real.type, real.kw_only = spec.name, spec.type, False
            real._field_type = stdlib._FIELD  # type: ignore[attr-defined]  # as dataclass() sets it
            made[spec.name] = real
        setattr(self.spec.cls, _STDLIB_FIELDS, made)
        return made


# --------------------------------------------------------------------------- functions


def _spec(obj: object) -> _Spec | None:
    cls = obj if isinstance(obj, type) else type(obj)
    spec = getattr(cls, _SPEC, None)
    return spec if isinstance(spec, _Spec) else None


def _stdlib() -> Any:
    """The standard library's module if something imported it (else no class is its)."""
    return sys.modules.get("dataclasses")


def _is_dataclass(obj: object) -> bool:
    if _spec(obj) is not None:
        return True
    stdlib = _stdlib()
    return stdlib is not None and bool(stdlib.is_dataclass(obj))


def _fields(class_or_instance: object) -> tuple[Any, ...]:
    spec = _spec(class_or_instance)
    if spec is not None:
        return spec.fields
    stdlib = _stdlib()
    if stdlib is None:
        raise TypeError("must be called with a dataclass type or instance")
    return tuple(stdlib.fields(class_or_instance))


def _replace(obj: Any, /, **changes: Any) -> Any:
    spec = None if isinstance(obj, type) else _spec(obj)
    if spec is None:
        stdlib = _stdlib()
        if stdlib is None:
            raise TypeError("replace() should be called on dataclass instances")
        return stdlib.replace(obj, **changes)
    for field_spec in spec.fields:
        if not field_spec.init and field_spec.name in changes:
            error = TypeError if sys.version_info >= (3, 13) else ValueError  # as the stdlib's
            raise error(
                f"field {field_spec.name} is declared with init=False, it cannot be "
                "specified with replace()"
            )
    for name in spec.init_names:
        if name not in changes:
            changes[name] = getattr(obj, name)
    return obj.__class__(**changes)


if TYPE_CHECKING:
    from dataclasses import FrozenInstanceError, dataclass, field, fields, is_dataclass, replace
else:
    dataclass = _dataclass
    field = _field
    fields = _fields
    is_dataclass = _is_dataclass
    replace = _replace

    def __getattr__(name: str) -> Any:
        if name == "FrozenInstanceError":
            from dataclasses import FrozenInstanceError

            return FrozenInstanceError
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
