"""Attribute access by allowlist, the safe str.format, and CPython's "Did you mean" hint."""

from __future__ import annotations

import contextlib
import io
import sys
from types import SimpleNamespace
from typing import Any, Callable

import pytest

from pvm.attributes import (ALLOWED_ATTRIBUTES, attribute_suggestion, closest_name,
                            delete_attribute, get_attribute, set_attribute)
from pvm.builtins import TYPE
from pvm.heap import Heap
from pvm.objects import Builtin, Cell, Function, Module

PY311 = sys.version_info[:2] == (3, 11)

# Public CPython names deliberately missing from the allowlist (bytes are outside
# the subset; format/format_map are replaced; views' ``mapping`` is a host proxy).
EXCLUDED = {
    str: {"encode", "format", "format_map"},
    int: {"from_bytes", "to_bytes"},
    bool: {"from_bytes", "to_bytes"},
    type({}.keys()): {"mapping"},
    type({}.items()): {"mapping"},
}

SAMPLES: list[Any] = ["abc", [1, 2], (1, 2), {"a": 1}, {1, 2}, frozenset({1}), 7, True, 2.5,
                      range(1, 9, 2), slice(1, 5), {}.keys(), {}.items()]

ESCAPES = ["__class__", "__dict__", "__subclasses__", "__globals__", "__code__", "__init__",
           "__reduce__", "__reduce_ex__", "__getattribute__", "__self__", "__closure__", "mro",
           "__bases__", "__builtins__", "gi_frame", "encode", "from_bytes", "to_bytes", "mapping"]


def outcome(fn: Callable[[], Any]) -> tuple[str, Any]:
    try:
        return "ok", fn()
    except Exception as exc:
        return type(exc).__name__, str(exc)


def script_function(name: str = "f") -> Function:
    vm = SimpleNamespace(heap=Heap(), write=lambda text: None, call_from_host=lambda fn, a, k: None)
    return Function(SimpleNamespace(name=name, qualname=name), {}, (), (), vm)  # type: ignore[arg-type]


def cpython_suggestion(obj: Any, name: str) -> str | None:
    """What CPython prints after an uncaught ``obj.name`` failure (3.11 computes it in C)."""
    try:
        getattr(obj, name)
    except AttributeError as exc:
        buffer = io.StringIO()
        with contextlib.redirect_stderr(buffer):
            sys.__excepthook__(type(exc), exc, None)
        last = buffer.getvalue().strip().splitlines()[-1]
        return last.split(". Did you mean: '")[1][:-2] if ". Did you mean: '" in last else None
    raise AssertionError(f"{name} exists")


# --- The allowlist ---

@pytest.mark.skipif(not PY311, reason="the allowlist mirrors CPython 3.11")
@pytest.mark.parametrize("cls", list(ALLOWED_ATTRIBUTES), ids=lambda c: c.__name__)
def test_allowlist_is_cpython_public_api(cls: type) -> None:
    public = {name for name in dir(cls) if not name.startswith("_")}
    assert ALLOWED_ATTRIBUTES[cls] == public - EXCLUDED.get(cls, set())


@pytest.mark.parametrize("obj", SAMPLES, ids=lambda o: type(o).__name__)
def test_every_allowed_name_reads_as_in_cpython(obj: Any) -> None:
    for name in ALLOWED_ATTRIBUTES[type(obj)]:
        assert get_attribute(obj, name) == getattr(obj, name)
        assert get_attribute(type(obj), name) == getattr(type(obj), name)


def test_methods_work_through_the_allowlist() -> None:
    assert get_attribute("a,b", "split")(",") == ["a", "b"]
    assert get_attribute(str, "join")("-", ["x", "y"]) == "x-y"
    assert get_attribute(dict, "fromkeys")("ab", 0) == {"a": 0, "b": 0}
    assert get_attribute(float, "fromhex")("0x1p3") == 8.0
    assert get_attribute(str, "maketrans")("a", "b") == {97: 98}
    assert get_attribute(10, "bit_length")() == 4 and get_attribute(True, "real") == 1
    assert get_attribute(range(2, 9, 3), "step") == 3
    assert get_attribute({1: 2}.keys(), "isdisjoint")([3])
    xs = [3, 1]
    get_attribute(xs, "sort")()
    assert xs == [1, 3]


@pytest.mark.parametrize("obj", SAMPLES + [None, Ellipsis], ids=lambda o: type(o).__name__)
def test_escape_names_refused_on_values(obj: Any) -> None:
    for name in ESCAPES + ["foo"]:
        with pytest.raises(AttributeError) as info:
            get_attribute(obj, name)
        assert str(info.value) == f"'{type(obj).__name__}' object has no attribute '{name}'"


@pytest.mark.parametrize("cls", [int, str, dict, type(None), Function, Builtin, type(iter([]))],
                         ids=lambda c: c.__name__)
def test_escape_names_refused_on_type_objects(cls: type) -> None:
    for name in ESCAPES + ["foo"]:
        with pytest.raises(AttributeError) as info:
            get_attribute(cls, name)
        assert str(info.value) == f"type object '{cls.__name__}' has no attribute '{name}'"


def test_vm_objects_have_no_attributes() -> None:
    f = script_function("g")
    for obj, type_name in [(f, "function"), (Builtin("print", print), "builtin_function_or_method"),
                           (Cell(1), "cell"), (iter([]), "list_iterator"), (len, "builtin_function_or_method"),
                           (map(len, []), "map"), (get_attribute("", "format"), "builtin_function_or_method")]:
        for name in ["code", "globals", "vm", "fn", "value", "name", "__name__", "__self__", "__globals__"]:
            if obj is f and name == "__name__":
                continue                 # a function's name is readable (decorators copy it)
            with pytest.raises(AttributeError) as info:
                get_attribute(obj, name)
            assert str(info.value) == f"'{type_name}' object has no attribute '{name}'"
    with pytest.raises(AttributeError, match="type object 'type' has no attribute 'mro'"):
        get_attribute(TYPE, "mro")


def test_functions_expose_only_their_names() -> None:
    f = script_function("g")
    assert get_attribute(f, "__name__") == "g" and get_attribute(f, "__qualname__") == "g"


def test_operator_dunders_of_values_are_the_operators() -> None:
    assert get_attribute(1, "__add__")(2) == 3
    assert get_attribute([1], "__len__")() == 1
    assert get_attribute("ab", "__contains__")("a")
    for name in ("__init__", "__call__", "__class__", "__reduce__", "__getattribute__"):
        with pytest.raises(AttributeError):
            get_attribute(1, name)


def test_exceptions_expose_args_and_chain_but_not_tracebacks() -> None:
    error = KeyError("k")
    assert get_attribute(error, "args") == ("k",) and get_attribute(error, "__context__") is None
    assert get_attribute(StopIteration(5), "value") == 5
    for name in ("__traceback__", "with_traceback", "__dict__", "__class__"):
        with pytest.raises(AttributeError):
            get_attribute(error, name)


def test_error_carries_name_and_object_as_cpython() -> None:
    with pytest.raises(AttributeError) as info:
        get_attribute([], "apend")
    assert info.value.name == "apend" and info.value.obj == []


# --- Modules ---

def test_module_attributes() -> None:
    module = Module("m", None, {"__name__": "m", "x": 1})
    assert get_attribute(module, "x") == 1 and get_attribute(module, "__name__") == "m"
    set_attribute(module, "y", 2)
    assert get_attribute(module, "y") == 2
    delete_attribute(module, "y")
    assert "y" not in module.dict
    assert outcome(lambda: get_attribute(module, "y")) == ("AttributeError", "module 'm' has no attribute 'y'")
    assert outcome(lambda: delete_attribute(module, "y")) == ("AttributeError", "'module' object has no attribute 'y'")
    native = Module("_math", None, {})
    assert outcome(lambda: get_attribute(native, "q")) == ("AttributeError", "module '_math' has no attribute 'q'")


# --- Store and delete ---

@pytest.mark.parametrize("obj,name", [
    (1, "real"), (1, "x"), (1, "__class__"), ([], "append"), ([], "x"), ("s", "upper"), (range(3), "start"),
    (slice(1), "stop"), (None, "x"), ({}, "__dict__"), (2.5, "imag"), (frozenset(), "copy"),
])
def test_store_and_delete_on_values_match_cpython(obj: Any, name: str) -> None:
    assert outcome(lambda: set_attribute(obj, name, 1)) == outcome(lambda: setattr(obj, name, 1))
    assert outcome(lambda: delete_attribute(obj, name)) == outcome(lambda: delattr(obj, name))


@pytest.mark.parametrize("cls", [int, str, list, dict, type(None), Function, Builtin])
def test_store_and_delete_on_type_objects_match_cpython(cls: type) -> None:
    expected = ("TypeError", f"cannot set 'x' attribute of immutable type '{cls.__name__}'")
    assert outcome(lambda: set_attribute(cls, "x", 1)) == expected
    assert outcome(lambda: delete_attribute(cls, "x")) == expected
    if cls.__module__ == "builtins" and cls not in (Function, Builtin):
        assert outcome(lambda: setattr(cls, "x", 1)) == expected
    assert outcome(lambda: set_attribute(TYPE, "x", 1)) == ("TypeError", "cannot set 'x' attribute of immutable type 'type'")


def test_vm_objects_cannot_be_modified() -> None:
    f = script_function()
    code, cell, builtin = f.code, Cell(1), Builtin("len", len)
    for obj, name in [(f, "__call__"), (f, "__code__"), (f, "__globals__"), (cell, "value"), (builtin, "fn"),
                      (Function, "__call__")]:
        with pytest.raises((AttributeError, TypeError)):
            set_attribute(obj, name, None)
        with pytest.raises((AttributeError, TypeError)):
            delete_attribute(obj, name)
    assert f.code is code and cell.value == 1 and builtin.fn is len and "__call__" in vars(Function)


def test_function_attributes_are_the_scripts_own() -> None:
    f = script_function()
    code = f.code
    set_attribute(f, "code", 1)                 # the script's attribute, not pvm's slot of that name
    assert f.code is code and get_attribute(f, "code") == 1
    delete_attribute(f, "code")
    assert outcome(lambda: get_attribute(f, "code")) == ("AttributeError", "'function' object has no attribute 'code'")
    set_attribute(f, "__name__", "renamed")
    assert get_attribute(f, "__name__") == "renamed" and f.qualname == code.qualname
    assert outcome(lambda: set_attribute(f, "__name__", 3)) == ("TypeError", "__name__ must be set to a string object")


# --- str.format / str.format_map ---

FORMAT_CASES = [
    "", "plain", "{{}} {0}", "{}", "{}{}", "{0}{1}{0}", "{0}{}", "{}{0}", "{5}", "{}{}{}{}{}{}", "{x}",
    "{a}", "{a!r:>10}", "{a!a}", "{0.real}", "{0.imag:+}", "{1[0]}", "{1[1]:*^{2}}", "{:{}}{}", "{a:{b}}",
    "{2[x]}", "{2[y]}", "{0:d}", "{0:s}", "{0:,}", "{0:_x}", "{0!s:>8}", "{0!r}", "{3.start}", "{3[1]}",
    "{0[0]}", "{1[5]}", "{0:{}}", "{:{0}}", "{!}", "{0!}", "{0!x}", "{0!\x01}", "{0!rr}", "{0!r", "{", "}",
    "{0[}", "{0.}", "{0[]}", "{0..a}", "{:{:{}}}", "{0:{1:{2}}}", "{99999999999999999999}", "{a.b[c]}",
    "{0[0]x}", "{0.a b}", "{3.count}", "{1.pop}", "{4}", "{4[0]}", "{4.x}", "{b:{b}.{b}}", "{a[0]}",
    "{0:%}", "{0:e}", "{0:{1}}",
]
FORMAT_ARGS = (12345, [1, "b", 3.5], {"x": "X"}, range(2, 9), 2.5)
FORMAT_KWARGS = {"a": "é", "b": 5}


@pytest.mark.parametrize("template", FORMAT_CASES)
def test_format_matches_cpython(template: str) -> None:
    expected = outcome(lambda: template.format(*FORMAT_ARGS, **FORMAT_KWARGS))
    assert outcome(lambda: get_attribute(template, "format")(*FORMAT_ARGS, **FORMAT_KWARGS)) == expected
    assert outcome(lambda: get_attribute(str, "format")(template, *FORMAT_ARGS, **FORMAT_KWARGS)) == expected
    expected_map = outcome(lambda: template.format_map(FORMAT_KWARGS))
    assert outcome(lambda: get_attribute(template, "format_map")(FORMAT_KWARGS)) == expected_map


@pytest.mark.parametrize("call", [
    lambda m: m("{}", "format_map")(), lambda m: m("{}", "format_map")({}, a=1),
    lambda m: m("{}", "format_map")({}, {}), lambda m: m("{a}", "format_map")([1]),
    lambda m: m("{}", "format")(), lambda m: m("{a}", "format")(1),
    lambda m: m(str, "format")(), lambda m: m(str, "format")(1), lambda m: m(str, "format_map")(),
    lambda m: m(str, "format_map")(1, {}), lambda m: m(str, "format_map")("x"),
    lambda m: m(str, "format_map")("{a}", {"a": 1}),
])
def test_format_argument_errors_match_cpython(call: Callable[[Any], Any]) -> None:
    assert outcome(lambda: call(get_attribute)) == outcome(lambda: call(getattr))


def test_format_methods_look_like_cpython() -> None:
    text = "x{}"
    bound = get_attribute(text, "format")
    assert repr(bound) == repr(text.format) and type(bound).__name__ == "builtin_function_or_method"
    assert repr(get_attribute(str, "format")) == "<method 'format' of 'str' objects>"
    assert repr(get_attribute(str, "format_map")) == "<method 'format_map' of 'str' objects>"
    assert type(get_attribute(str, "format")).__name__ == "method_descriptor"


@pytest.mark.parametrize("template,arg", [
    ("{0.__class__}", 1), ("{0.__class__.__bases__[0].__subclasses__}", ()), ("{0.__globals__}", None),
    ("{0.__code__}", None), ("{0.code}", None), ("{0.vm}", None), ("{0.__dict__}", None),
    ("{0.__self__}", len), ("{0.__doc__}", "s"), ("{0.__init__.__globals__}", 1), ("{0[0].__class__}", [1]),
    ("{0.mro}", int), ("{0.__subclasses__}", int), ("{0.fn}", Builtin("len", len)), ("{0.value}", Cell(1)),
])
def test_format_never_walks_to_internals(template: str, arg: Any) -> None:
    value = script_function() if arg is None else arg
    for method in (lambda: get_attribute(template, "format")(value),
                   lambda: get_attribute(template, "format_map")({"0": value}),
                   lambda: get_attribute(template.replace("0", "v", 1), "format")(v=value)):
        with pytest.raises((AttributeError, ValueError)) as info:
            method()
        assert "has no attribute" in str(info.value) or "positional" in str(info.value)


def test_format_index_walks_only_into_subset_containers() -> None:
    module = Module("m", None, {"x": 1})
    assert outcome(lambda: get_attribute("{0[x]}", "format")(module)) == (
        "TypeError", "'module' object is not subscriptable")
    assert get_attribute("{0[x]} {1[0]} {2[1]}", "format")({"x": 1}, "ab", range(5)) == "1 a 1"


# --- Did you mean ---

SUGGESTION_CASES: list[tuple[Any, str]] = [
    ("s", "uper"), ("s", "spilt"), ("s", "Upper"), ("s", "startwith"), ("s", "x"), ("s", "formatt"),
    ("s", "encod"), ([], "apend"), ([], "push"), ([], "extends"), ([], "__len"), ({}, "iteritems"),
    ({}, "has_key"), ({}, "item"), (set(), "add_"), (1, "bitlength"), (1.5, "is_int"), (range(1), "stp"),
    (None, "__bol__"), (None, "spilt"), (str, "joinn"), (int, "from_byte"), ("s", "upperé"), ("s", "a" * 50),
]


@pytest.mark.parametrize("obj,name", SUGGESTION_CASES)
def test_suggestion_matches_cpython(obj: Any, name: str) -> None:
    with pytest.raises(AttributeError) as info:
        get_attribute(obj, name)
    assert attribute_suggestion(info.value) == cpython_suggestion(obj, name)


def test_suggestion_for_modules_uses_the_namespace() -> None:
    import math

    module = Module("math", None, {name: getattr(math, name) for name in dir(math)})
    for name in ["sqr", "Pi", "floorr", "tauu", "zzz"]:
        with pytest.raises(AttributeError) as info:
            get_attribute(module, name)
        assert attribute_suggestion(info.value) == cpython_suggestion(math, name)


def test_no_suggestion_towards_refused_names_or_for_stores() -> None:
    with pytest.raises(AttributeError) as info:
        get_attribute(1, "__class__")
    assert attribute_suggestion(info.value) is None
    with pytest.raises(AttributeError) as info:
        set_attribute(1, "reel", 2)
    assert attribute_suggestion(info.value) is None
    assert attribute_suggestion(ValueError("x")) is None


class Listed:
    """An object whose dir() is given, to probe CPython's candidate limits."""

    def __init__(self, names: list[str]) -> None:
        self.names = names

    def __dir__(self) -> list[str]:
        return self.names


@pytest.mark.parametrize("names", [["apple", "ample"], ["ample", "apple"],
                                   [f"n{i}" for i in range(748)] + ["apple"],
                                   [f"n{i}" for i in range(749)] + ["apple"]])
def test_closest_name_ties_and_candidate_limit(names: list[str]) -> None:
    expected = cpython_suggestion(Listed(names), "aple")
    assert closest_name("aple", sorted(names)) == expected
    assert (expected is None) == (len(names) >= 750)
