"""Argument binding and calls with ``*``/``**``: every outcome (the bound
values or the TypeError) is CPython's own, checked by running the same
source under the host CPython 3.11; plus what the interpreter promises
around binding: fresh ``*args`` tuples and ``**kwargs`` dicts, keyword-only
defaults kept on the function, host calls checked like CALL's, and values
rooted while binding allocates."""

from __future__ import annotations

import contextlib
import io
import textwrap

import pytest

import pvm
from lang import compile_source
from pvm.code import CO_VARARGS, CO_VARKEYWORDS
from pvm.errors import ScriptError
from pvm.heap import Heap
from pvm.interp import Interpreter
from pvm.objects import Builtin, Function

DEFS = """
def f(a, b=1, *, c, d=2):
    return (a, b, c, d)
def g(a, b):
    return (a, b)
def h(*args, **kwargs):
    return (args, kwargs)
def k(x):
    return x
def every(a, b=2, *args, c, d=4, **kw):
    return (a, b, args, c, d, kw)
def only(*, x, y, z=3):
    return (x, y, z)
def none():
    return 0
def outer():
    def inner(**kw):
        return kw
    return inner
lam = lambda *a, n=0, **k: (a, n, k)
"""

CALLS = [
    # keyword-only parameters
    "f(1, c=3)", "f(c=3, a=1, d=0)", "f(1)", "f(c=1)", "f()", "f(1, 2, 3)", "f(1, 2, 3, c=4)",
    "f(1, 2, 3, 4, c=1, d=2)", "f(1, 2, 3, d=2)", "f(1, c=2, e=3)", "f(1, a=1, c=2)", "only()",
    "only(y=1)", "only(x=1, y=2)", "only(1, x=1, y=2)", "only(1, 2, x=1)",
    # positional and keyword binding (the order of CPython's checks decides the error)
    "g(1)", "g(1, 2, 3)", "g(1, a=2)", "g(1, 2, 3, z=1)", "g(1, 2, 3, a=0)", "k(1, 2, x=3)", "k()", "k(1, 2)",
    "k(y=1)", "none(1)", "none(x=1)", "none(*[1, 2])",
    # *args and **kwargs parameters
    "h()", "h(1, 2, x=3)", "h(*'ab', **{'args': 1, 'kwargs': 2})", "every(1, c=2)",
    "every(1, 2, 3, 4, c=5, e=6)", "every(c=0, a=9, zz=1, d=7)", "every(1, 2, 3, d=4)", "lam(1, 2, n=3, m=4)",
    "lam(**{'n': 5})",
    # unpacking at the call site
    "g(*[1, 2])", "g(*[1], **{'b': 2})", "g(b=1, *[3])", "g(*[1, 2, 3])", "g(**{'a': 1, 'b': 2, 'c': 3})",
    "g(*'xy')", "g(*range(2))", "g(*{3: 0, 4: 0})", "g(*map(abs, [-1, -2]))", "g(*[1], *[2])",
    "h(**{1: 2})", "h(**{'a': 1}, **{'a': 2})", "h(a=1, **{'a': 2})", "h(**{'a': 2}, a=1)", "k(1, **{'x': 2})",
    "k(**{'x': 1, 'y': 2, 'z': 3})", "h(**[1, 2])", "h(**None)", "h(*5)", "h(*None, **{})", "h(1, *5)",
    "h(*[1], *5)", "outer()(**5)", "outer()(*5)", "lam(**{'n': 1}, **{'n': 2})", "h(**{'a': 1}, **{1: 2})",
    # host callables
    "sorted(*[[3, 1, 2]], **{'reverse': True})", "sorted(*5)", "sorted(**[1])", "dict(**{1: 2})",
    "len(**{'a': 1})", "max(*[])", "'{}{x}'.format(*[1], **{'x': 2})", "'{}'.format(*5)", "[].append(*5)",
    "str.join(*[',', 'ab'])", "isinstance(*5)", "type(*5)", "int(*['7'], **{'base': 8})", "divmod(**{})",
    "print(*5)", "print(**{1: 2})", "print(**{'sep': 1}, sep=2)", "print(*[1, 2], **{'sep': '-'})",
]


def run_pvm(source: str) -> str:
    """What the script prints, then its error (if any) as ``Type: message``."""
    out: list[str] = []
    vm = Interpreter(write=out.append)
    try:
        vm.run_module(compile_source(source, "t.src"))
    except ScriptError as error:
        return "".join(out) + f"{error.type_name}: {error.message}"
    return "".join(out)


def run_cpython(source: str) -> str:
    buffer = io.StringIO()
    try:
        with contextlib.redirect_stdout(buffer):
            exec(compile(source, "t.src", "exec"), {"__name__": "__main__"})
    except TypeError as error:
        return buffer.getvalue() + f"TypeError: {error}"
    return buffer.getvalue()


@pytest.mark.parametrize("call", CALLS)
def test_calls_bind_or_fail_as_in_cpython(call):
    source = DEFS + f"result = {call}\nprint(repr(result))\n"
    assert run_pvm(source) == run_cpython(source)


def test_code_layout_of_parameters():
    code = compile_source("def f(a, b=1, *args, c, d=2, **kw):\n    e = 0\n", "t.src")
    inner = next(const for const in code.consts if hasattr(const, "varnames"))
    assert inner.varnames == ("a", "b", "c", "d", "args", "kw", "e")
    assert (inner.argcount, inner.kwonlyargcount) == (2, 2)
    assert inner.flags & CO_VARARGS and inner.flags & CO_VARKEYWORDS
    plain = next(const for const in compile_source("def g(*, x):\n    pass\n", "t.src").consts
                 if hasattr(const, "varnames"))
    assert (plain.argcount, plain.kwonlyargcount, plain.flags & (CO_VARARGS | CO_VARKEYWORDS)) == (0, 1, 0)


def test_keyword_only_defaults_are_kept_by_name_and_evaluated_once():
    out: list[str] = []
    vm = Interpreter(write=out.append)
    module = vm.run_module(compile_source(
        "n = 0\ndef count():\n    global n\n    n += 1\n    return n\n"
        "def f(a=count(), *, b=count(), c, d=[]):\n    d.append(a + b)\n    return d\n"
        "print(f(c=0), f(c=0), n)\n", "t.src"))
    assert out == ["[3, 3] [3, 3] 2\n"]
    func = module.dict["f"]
    assert type(func) is Function and func.defaults == (1,)
    assert func.kwdefaults == {"b": 2, "d": [3, 3]} and id(func.kwdefaults) in vm.heap.objects


def test_star_args_tuple_and_kwargs_dict_are_fresh_and_owned():
    out: list[str] = []
    vm = Interpreter(write=out.append)
    module = vm.run_module(compile_source(
        "def f(*a, **k):\n    return a, k\nt = (1, 2)\nd = {'x': 1}\nra, rk = f(*t, **d)\n"
        "print(ra == t, ra is t, rk == d, rk is d)\n", "t.src"))
    assert out == ["True False True False\n"]
    assert id(module.dict["rk"]) in vm.heap.objects


def test_host_calls_with_unpacking_go_through_the_host_call_check():
    seen: list[tuple] = []
    out: list[str] = []
    vm = Interpreter(write=out.append)
    vm.host_call_check = lambda func, args, kwargs: seen.append((func, list(args), kwargs))
    vm.run_module(compile_source("print(*[1, 2], **{'sep': '-'})\nx = sorted(*[[2, 1]], reverse=True)\n", "t.src"))
    assert out == ["1-2\n"]
    assert (vm.builtins["print"], [1, 2], {"sep": "-"}) in seen
    assert (sorted, [[2, 1]], {"reverse": True}) in seen


def test_the_sandbox_charges_what_unpacking_materialises():
    vm = pvm.VM(pvm.Limits(max_memory=10_000_000, max_steps=1_000_000, timeout=5.0))
    with pytest.raises(pvm.LimitExceeded):
        vm.run("def f(*args):\n    return len(args)\nf(*range(10 ** 9))\n")
    vm = pvm.VM(pvm.Limits(max_memory=10_000_000, max_steps=1_000_000, timeout=5.0))
    with pytest.raises(pvm.LimitExceeded):
        vm.run("print(*range(10 ** 9))\n")


def test_binding_keeps_arguments_rooted_while_it_allocates():
    heap = Heap(stress=True)
    heap.graveyard = []
    out: list[str] = []
    vm = Interpreter(write=out.append, heap=heap)
    vm.builtins["check"] = Builtin("check", heap.check_invariants)
    vm.run_module(compile_source(textwrap.dedent("""
        def deco(fn):
            def wrapper(*args, **kwargs):
                check()
                return fn(*args, **kwargs)
            return wrapper
        @deco
        def f(a, *rest, k=[0], **extra):
            check()
            return [a, rest, k, extra]
        print(f([1], [2], [3], k=[4], x=[5]), f(*[[6]], **{"y": [7]}), f([8]))
        check()
        """), "t.src"))
    assert out == ["[[1], ([2], [3]), [4], {'x': [5]}] [[6], (), [0], {'y': [7]}] [[8], (), [0], {}]\n"]
    assert heap.stats.collections > 10
