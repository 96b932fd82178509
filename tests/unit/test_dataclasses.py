"""``gate.dataclasses`` is the standard library's ``dataclasses`` for the part the gate uses:
every class made both ways behaves the same (construction, before and after ``__init__`` is
compiled, errors included; equality, hash, repr, ``replace``, ``fields``, frozenness,
pickling), and the standard library's own functions work on the gate's classes."""

from __future__ import annotations

import copy
import dataclasses as stdlib
import pickle
import sys
from types import ModuleType
from typing import Any, ClassVar

import pytest

from gate import dataclasses as gate_dataclasses
from tests.conftest import OFFLINE_CHECK, modules_loaded


def define(module: ModuleType, *, register: bool = False) -> dict[str, Any]:
    """The same classes, made with ``module`` (the standard library's or the gate's);
    ``register``: as module-level classes, which pickle."""

    @module.dataclass(frozen=True, slots=True)
    class Rule:
        """A frozen slotted class, as the model's."""

        name: str
        limit: float | None = None
        tags: tuple[str, ...] = module.field(default_factory=tuple)
        line: int | None = module.field(default=None, compare=False)
        notes: str = module.field(default="", repr=False, metadata={"key": "notes"})

        @property
        def loose(self) -> bool:
            return self.limit is None

    @module.dataclass(frozen=True)
    class Report:
        rule: Rule
        values: list[int] = module.field(default_factory=list, hash=False)

        def __repr__(self) -> str:  # its own: kept
            return "a report"

    @module.dataclass
    class Session:
        key: str
        read: bool = False

    @module.dataclass(frozen=True, slots=True)
    class Empty:
        pass

    @module.dataclass(frozen=True)
    class Counted:
        made: int = 0
        extra: int = module.field(default=7, init=False)
        seen: list[str] = module.field(default_factory=list, init=False)

    found = {"Rule": Rule, "Report": Report, "Session": Session, "Empty": Empty}
    found["Counted"] = Counted
    for cls in found.values() if register else ():
        cls.__qualname__ = f"{module.__name__.replace('.', '_')}_{cls.__name__}"
        setattr(sys.modules[__name__], cls.__qualname__, cls)
    return found


STD = define(stdlib, register=True)
GATE = define(gate_dataclasses, register=True)

CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("Rule", ("a",), {}),
    ("Rule", ("a", 1.5), {"line": 3}),
    ("Rule", (), {"name": "b", "tags": ("x",), "notes": "n"}),
    ("Rule", ("a", None, ("y",), 4, "n"), {}),
    ("Session", ("k",), {}),
    ("Session", (), {"key": "k", "read": True}),
    ("Empty", (), {}),
    ("Counted", (), {}),
    ("Counted", (3,), {}),
]
BAD_CALLS: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
    ("Rule", (), {}),
    ("Rule", ("a",), {"name": "b"}),
    ("Rule", ("a",), {"bogus": 1}),
    ("Rule", ("a", 1, (), 2, "n", "extra"), {}),
    ("Counted", (), {"extra": 1}),
    ("Empty", (1,), {}),
]


def shape(obj: Any) -> tuple[Any, ...]:
    return tuple(getattr(obj, f.name) for f in stdlib.fields(obj))


def outcome(cls: type[Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """What calling ``cls`` gives, without the class's name."""
    try:
        made = cls(*args, **kwargs)
    except TypeError as exc:
        return ("TypeError", str(exc).split("__init__() ", 1)[-1])
    twin, other = cls(*args, **kwargs), (cls("other") if args or kwargs else made)
    compared = (made == twin, made == other, made != twin, made == "text")
    try:
        hashed: Any = hash(made)
    except TypeError as exc:  # a list field, or not frozen
        hashed = str(exc)
    return ("made", shape(made), repr(made).split("(", 1)[-1], compared, hashed)


def test_construction_is_the_standard_librarys_before_and_after_compiling():
    """Until a class has made or compared ``COMPILE_AFTER`` instances its methods are
    shared ones, then compiled: both make, compare and hash as the standard library does."""
    std, gate = define(stdlib), define(gate_dataclasses)
    for round_ in range(gate_dataclasses.COMPILE_AFTER):
        compiled = gate["Rule"].__init__.__qualname__.endswith("Rule.__init__")
        assert compiled == (round_ > 0), round_  # a round makes 12 rules and compares 16
        for name, args, kwargs in CALLS:
            made = [outcome(group[name], args, kwargs) for group in (std, gate)]
            assert made[0] == made[1], (name, args, kwargs)


@pytest.mark.parametrize(("name", "args", "kwargs"), BAD_CALLS)
def test_a_bad_call_raises_the_standard_librarys_type_error(name, args, kwargs):
    std, gate = define(stdlib), define(gate_dataclasses)  # the first call: still a loop
    made = [outcome(group[name], args, kwargs) for group in (std, gate)]
    assert made[0] == made[1] and made[0][0] == "TypeError"


def test_factories_run_for_each_instance():
    first, second = GATE["Counted"](), GATE["Counted"]()
    assert first.seen == [] and first.seen is not second.seen
    assert (first.made, first.extra) == (0, 7)


def test_equality_hash_and_repr():
    for group in (STD, GATE):
        rule = group["Rule"]
        assert rule("a", line=1) == rule("a", line=2)  # line is not compared
        assert rule("a") != rule("b") and rule("a") != "a"
        assert hash(rule("a", line=1)) == hash(rule("a", line=2)) == hash(("a", None, (), ""))
        assert group["Session"].__hash__ is None
        assert hash(group["Empty"]()) == hash(())
    for name, args, kwargs in CALLS:
        std, gate = STD[name](*args, **kwargs), GATE[name](*args, **kwargs)
        assert repr(std).replace("dataclasses_", "") == repr(gate).replace("gate_dataclasses_", "")
        assert shape(std) == shape(gate)
    assert repr(GATE["Report"](GATE["Rule"]("a"))) == "a report"
    for group in (STD, GATE):  # an object inside itself is shown as ...
        session = group["Session"]("k")
        session.key = session
        assert repr(session).split("(", 1)[1] == "key=..., read=False)"


def test_frozen_fields_refuse_changes_with_the_standard_librarys_error():
    rule = GATE["Rule"]("a")
    with pytest.raises(stdlib.FrozenInstanceError, match="cannot assign to field 'name'"):
        rule.name = "b"
    with pytest.raises(stdlib.FrozenInstanceError, match="cannot delete field 'name'"):
        del rule.name
    with pytest.raises(stdlib.FrozenInstanceError):
        GATE["Report"](rule).values = []
    session = GATE["Session"]("k")
    session.read = True
    assert session.read is True


def test_slots_defaults_and_match_args_are_the_standard_librarys():
    for std, gate in zip(STD.values(), GATE.values(), strict=True):
        assert getattr(std, "__slots__", None) == getattr(gate, "__slots__", None)
        assert std.__match_args__ == gate.__match_args__
        if not hasattr(std, "__slots__"):  # the defaults stay as class attributes
            for attribute in ("values", "read", "made", "extra", "seen"):
                assert getattr(std, attribute, "absent") == getattr(gate, attribute, "absent")
    assert not hasattr(GATE["Rule"]("a"), "__dict__")


def test_replace_fields_and_is_dataclass_on_both_kinds_of_class():
    for group in (STD, GATE):
        rule = group["Rule"]("a", 1.0, notes="n")
        changed = gate_dataclasses.replace(rule, limit=2.0)
        assert shape(changed) == ("a", 2.0, (), None, "n")
        assert [f.name for f in gate_dataclasses.fields(rule)] == [
            "name", "limit", "tags", "line", "notes",
        ]  # fmt: skip
        assert gate_dataclasses.fields(group["Rule"])[4].metadata == {"key": "notes"}
        assert gate_dataclasses.is_dataclass(rule) and gate_dataclasses.is_dataclass(type(rule))
        with pytest.raises((ValueError, TypeError), match="init=False") as refused:
            gate_dataclasses.replace(group["Counted"](), extra=1)
        with pytest.raises(refused.type):  # ValueError, TypeError from Python 3.13
            stdlib.replace(STD["Counted"](), extra=1)
    assert not gate_dataclasses.is_dataclass(object())
    with pytest.raises(TypeError):
        gate_dataclasses.replace(object())  # type: ignore[type-var]


def test_the_standard_librarys_functions_work_on_the_gates_classes():
    rule = GATE["Rule"]("a", 1.0, ("t",), 3, "n")
    assert stdlib.is_dataclass(type(rule)) and stdlib.is_dataclass(GATE["Rule"]("b"))
    assert [f.name for f in stdlib.fields(rule)] == [f.name for f in stdlib.fields(STD["Rule"])]
    assert stdlib.fields(rule)[4].metadata == {"key": "notes"}
    assert not stdlib.fields(rule)[3].compare and not stdlib.fields(rule)[4].repr
    assert shape(stdlib.replace(rule, name="b")) == ("b", 1.0, ("t",), 3, "n")
    assert stdlib.asdict(GATE["Report"](rule)) == stdlib.asdict(
        STD["Report"](STD["Rule"](*shape(rule)))
    )


def test_copies_and_pickles_are_equal():
    for name, args, kwargs in CALLS:
        obj = GATE[name](*args, **kwargs)
        for made in (copy.copy(obj), copy.deepcopy(obj), pickle.loads(pickle.dumps(obj))):
            assert type(made) is type(obj) and shape(made) == shape(obj)


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("items: list[int] = []", ValueError),
        ("first: int = 1\n    second: int", TypeError),
        ("value: InitVar[int]", TypeError),
    ],
)
def test_what_the_standard_library_refuses_is_refused(source, error):
    code = f"@dataclass\nclass Bad:\n    {source}\n"
    with pytest.raises(error):
        exec(code, {"dataclass": gate_dataclasses.dataclass})


def test_class_variables_are_no_fields():
    @gate_dataclasses.dataclass(frozen=True)
    class WithClassVar:
        shared: ClassVar[int] = 3
        own: int = 1

    assert [f.name for f in gate_dataclasses.fields(WithClassVar)] == ["own"]
    assert WithClassVar.shared == 3


def test_the_gate_never_imports_the_standard_librarys_dataclasses_offline():
    """What the module is for: an offline ``check`` imports neither ``dataclasses`` nor
    ``inspect`` (about 10 ms)."""
    assert modules_loaded(OFFLINE_CHECK, ("dataclasses", "inspect"))[1] == []


def test_left_out_methods_are_left_out_and_unknown_options_refused():
    @gate_dataclasses.dataclass(eq=False, repr=False)
    class Plain:
        value: int = 0

    first, second = Plain(), Plain()
    assert first != second and hash(first) == object.__hash__(first)
    assert repr(first) == object.__repr__(first)
    with pytest.raises(TypeError, match="order"):
        gate_dataclasses.dataclass(order=True)
