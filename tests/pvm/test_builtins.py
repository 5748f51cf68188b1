"""The builtin namespace and native modules, tested directly against CPython's own behaviour."""

from __future__ import annotations

import ast
import builtins
import io
import math
import os
import sys
from types import SimpleNamespace
from typing import Any, Callable

import pytest

from pvm.builtins import CALLABLE_TYPES, TYPE, make_builtins
from pvm.heap import Heap
from pvm.natives import MATH_NAMES, NATIVE_MODULES
from pvm.objects import Builtin, Cell, Function

STDLIB = os.path.join(os.path.dirname(__file__), "..", "..", "stdlib")

LEVEL1 = ("print len range abs min max sum sorted reversed enumerate zip map filter any all int float "
          "str bool list tuple dict set repr ord chr isinstance round divmod pow hex bin oct hash iter "
          "next type frozenset slice ascii callable format id issubclass").split()

NEVER = ("eval exec compile open __import__ globals locals vars dir input "
         "breakpoint help memoryview").split()
# Level 2 names that are pvm's own objects, never the host's
OWN = {"super": "super", "classmethod": "classmethod", "staticmethod": "staticmethod", "property": "property"}


class FakeVM:
    """Just what builtins need from the interpreter."""

    def __init__(self) -> None:
        self.heap = Heap()
        self.out: list[str] = []
        self.calls = 0

    def write(self, text: str) -> None:
        self.out.append(text)

    def call_from_host(self, fn: Function, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        self.calls += 1
        return fn.code.impl(*args, **kwargs)


def script_function(vm: FakeVM, impl: Callable[..., Any], name: str = "f") -> Function:
    """A Function whose body is ``impl`` (the fake VM runs it instead of bytecode)."""
    code = SimpleNamespace(name=name, qualname=name, impl=impl)
    return Function(code, {}, (), (), vm)  # type: ignore[arg-type]


def outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", fn()
    except Exception as exc:
        return type(exc).__name__, str(exc)


@pytest.fixture
def vm() -> FakeVM:
    return FakeVM()


@pytest.fixture
def ns(vm: FakeVM) -> dict[str, object]:
    return make_builtins(vm)


# --- The namespace ---

def test_every_level1_builtin_is_present(ns: dict[str, object]) -> None:
    assert sorted(set(LEVEL1) - set(ns)) == []


def test_no_dangerous_builtin(ns: dict[str, object]) -> None:
    assert sorted(set(NEVER) & set(ns)) == []
    assert not [name for name in ns if name.startswith("_")]
    assert not [value for value in ns.values() if type(value).__name__ == "module"]
    for name, shown in OWN.items():
        assert ns[name] is not getattr(builtins, name) and ns[name].__name__ == shown


def test_fresh_namespace_per_vm() -> None:
    first, second = FakeVM(), FakeVM()
    a, b = make_builtins(first), make_builtins(second)
    assert a is not b and a["print"] is not b["print"]
    a["len"] = None
    assert b["len"] is builtins.len
    b["print"]("to second")   # type: ignore[operator]
    assert first.out == [] and second.out == ["to second\n"]


def test_host_builtins_are_exposed_unwrapped(ns: dict[str, object]) -> None:
    for name in ("len", "sorted", "int", "list", "dict", "zip", "hash", "format"):
        assert ns[name] is getattr(builtins, name)


def test_reprs_match_cpython(ns: dict[str, object]) -> None:
    assert [repr(ns[n]) for n in ("len", "list", "print", "type", "isinstance")] == [
        "<built-in function len>", "<class 'list'>", "<built-in function print>",
        "<class 'type'>", "<built-in function isinstance>"]


def test_callable_types(ns: dict[str, object]) -> None:
    assert CALLABLE_TYPES <= set(ns.values())
    assert type not in CALLABLE_TYPES
    assert all(isinstance(t, type) for t in CALLABLE_TYPES)
    # the type stand-in is not a host type, so the interpreter calls it like a function
    assert not isinstance(TYPE, type)


# --- print ---

PRINT_CASES: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    ((), {}),
    ((1, "a", None, [1, "b"], 2.5), {}),
    ((1, 2), {"sep": "--", "end": "!"}),
    ((1, 2), {"sep": None, "end": None}),
    ((1, 2), {"sep": "", "end": "", "flush": True}),
    ((1,), {"sep": 3}),
    ((1,), {"end": b"x"}),
    ((1,), {"foo": 1}),
    (("a", 10 ** 5000, "c"), {"sep": "|"}),     # str() of the 2nd argument fails
    ((10 ** 5000,), {}),
]


@pytest.mark.parametrize("args,kwargs", PRINT_CASES)
def test_print_matches_cpython(vm: FakeVM, ns: dict[str, object], args: tuple[Any, ...],
                               kwargs: dict[str, Any]) -> None:
    expected_out = io.StringIO()
    expected = outcome(lambda: print(*args, file=expected_out, **kwargs))
    got = outcome(lambda: ns["print"](*args, **kwargs))   # type: ignore[operator]
    assert got == expected
    assert "".join(vm.out) == expected_out.getvalue()


def test_print_refuses_file_but_accepts_none(vm: FakeVM, ns: dict[str, object]) -> None:
    ns["print"]("x", file=None)   # type: ignore[operator]
    assert vm.out == ["x\n"]
    with pytest.raises(TypeError, match="file"):
        ns["print"]("x", file=sys.stdout)   # type: ignore[operator]


def test_print_uses_str_of_vm_objects(vm: FakeVM, ns: dict[str, object]) -> None:
    f = script_function(vm, lambda: None, "g")
    ns["print"](f, ns["print"], ns["type"], ns["list"])   # type: ignore[operator]
    assert vm.out == [f"<function g at {id(f):#x}> <built-in function print> <class 'type'> <class 'list'>\n"]


# --- type, isinstance, issubclass ---

def test_type_one_argument(vm: FakeVM, ns: dict[str, object]) -> None:
    t = ns["type"]
    assert t(1) is int and t("") is str and t(None) is type(None)   # type: ignore[operator]
    assert t(int) is TYPE and t(TYPE) is TYPE and t(t(int)) is TYPE   # type: ignore[operator]
    assert t(script_function(vm, lambda: 0)) is Function   # type: ignore[operator]
    assert t(1) == t(2) and t(1) != t(1.0)   # type: ignore[operator]


@pytest.mark.parametrize("args,kwargs,message", [
    ((), {}, "type() takes 1 or 3 arguments"),
    ((1, 2), {}, "type() takes 1 or 3 arguments"),
    ((), {"x": 1}, "type() takes 1 or 3 arguments"),
    ((1,), {"x": 1}, "type() takes no keyword arguments"),
    (("X", (), {}), {}, "type() with 3 arguments is not supported"),
])
def test_type_errors(ns: dict[str, object], args: tuple[Any, ...], kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(TypeError) as info:
        ns["type"](*args, **kwargs)   # type: ignore[operator]
    assert str(info.value) == message
    if len(args) != 3:   # the forms CPython also rejects: same words
        assert outcome(lambda: type(*args, **kwargs)) == ("TypeError", message)


@pytest.mark.parametrize("obj,info", [
    (1, int), (True, int), (1, (str, float)), (1, (str, (bool, int))), ("a", str), (int, type),
    (type, type), (1, type), ([], (list, tuple)), (None, type(None)), (1, 2), (1, (int, 2)),
])
def test_isinstance_matches_cpython(ns: dict[str, object], obj: Any, info: Any) -> None:
    def as_script(value: Any) -> Any:
        if value is type:
            return TYPE
        return tuple(as_script(v) for v in value) if type(value) is tuple else value
    expected = outcome(lambda: isinstance(obj, info))
    assert outcome(lambda: ns["isinstance"](as_script(obj), as_script(info))) == expected   # type: ignore[operator]


@pytest.mark.parametrize("name,args,kwargs", [
    ("isinstance", (1,), {}), ("isinstance", (1, int, 2), {}), ("isinstance", (1,), {"cls": int}),
    ("issubclass", (int,), {}), ("issubclass", (1, int), {}), ("issubclass", (bool, int), {}),
    ("issubclass", (bool, (str, int)), {}), ("issubclass", (int, 3), {}),
])
def test_isinstance_issubclass_errors_match_cpython(ns: dict[str, object], name: str,
                                                    args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    expected = outcome(lambda: getattr(builtins, name)(*args, **kwargs))
    assert outcome(lambda: ns[name](*args, **kwargs)) == expected   # type: ignore[operator]


def test_issubclass_with_type_stand_in(ns: dict[str, object]) -> None:
    assert ns["issubclass"](TYPE, TYPE) is True   # type: ignore[operator]
    assert ns["issubclass"](bool, TYPE) is False   # type: ignore[operator]


# --- Builtins calling back into script functions ---

def test_builtins_call_script_functions(vm: FakeVM, ns: dict[str, object]) -> None:
    neg = script_function(vm, lambda x: -x)
    odd = script_function(vm, lambda x: x % 2)
    assert ns["sorted"]([3, 1, 2], key=neg) == [3, 2, 1]   # type: ignore[operator]
    assert ns["sorted"]([3, 1, 2], key=neg, reverse=True) == [1, 2, 3]   # type: ignore[operator]
    assert list(ns["map"](neg, [1, 2])) == [-1, -2]   # type: ignore[operator]
    assert list(ns["filter"](odd, range(5))) == [1, 3]   # type: ignore[operator]
    assert ns["max"]([1, 5, 3], key=neg) == 1 and ns["min"]([], default="d") == "d"   # type: ignore[operator]
    assert vm.calls == 3 + 3 + 2 + 5 + 3


def test_calling_builtins_do_not_reach_script_function_internals(vm: FakeVM, ns: dict[str, object]) -> None:
    f = script_function(vm, lambda: 0)
    assert ns["callable"](f) and not ns["callable"](Cell(1))   # type: ignore[operator]
    with pytest.raises(TypeError, match="'function' object is not iterable"):
        ns["list"](f)   # type: ignore[operator]
    assert isinstance(ns["print"], Builtin)


# --- Native modules and stdlib/math.src ---

def test_math_native_has_every_public_name_of_cpython_math(vm: FakeVM) -> None:
    namespace = NATIVE_MODULES["_math"](vm)
    if sys.version_info[:2] == (3, 11):
        assert sorted(namespace) == sorted(n for n in dir(math) if not n.startswith("_"))
    assert all(namespace[name] is getattr(math, name) for name in MATH_NAMES)
    assert NATIVE_MODULES["_math"](vm) is not namespace


def test_math_src_imports_every_name_explicitly() -> None:
    with open(os.path.join(STDLIB, "math.src"), encoding="utf-8") as handle:
        source = handle.read()
    tree = ast.parse(source)
    imports = [node for node in tree.body if isinstance(node, ast.ImportFrom)]
    assert len(imports) == 1 and imports[0].module == "_math"
    assert [alias.name for alias in imports[0].names] == list(MATH_NAMES)
    assert all(alias.asname is None for alias in imports[0].names)
