"""Name resolution: fast locals, cells, free variables and globals decided as
CPython 3.11 decides them (checked against CPython's own code objects), and
the declaration errors with CPython's wording and positions."""

from __future__ import annotations

import inspect
import types

import pytest

from lang import ast
from lang.scope import Kind, Scope, analyze
from pvm.code import CO_VARARGS, CO_VARKEYWORDS, Code
from pvm.errors import PvmCompileError, PvmSyntaxError


def scopes(source: str) -> Scope:
    parser = pytest.importorskip("lang.parser")
    return analyze(parser.parse(source, "t.src"), "t.src")


def find(scope: Scope, qualname: str) -> Scope:
    if scope.qualname == qualname:
        return scope
    for child in scope.children:
        try:
            return find(child, qualname)
        except LookupError:
            pass
    raise LookupError(qualname)


def kinds(source: str, qualname: str) -> dict[str, Kind]:
    return find(scopes(source), qualname).kinds


def error(source: str) -> tuple[str, int, int]:
    """Message and position of the error; the parser may find some first."""
    with pytest.raises(PvmSyntaxError) as info:
        scopes(source)
    return info.value.message, info.value.line, info.value.col


# --- Hand-built trees (independent of the parser) ---

def at(node, line, col=1):
    node.line, node.col = line, col
    return node


def test_hand_built_closure():
    g = at(ast.FunctionDef("g", [], [at(ast.Return(at(ast.Name("x"), 3)), 3)]), 2)
    f = at(ast.FunctionDef("f", [at(ast.Param("x", None), 1)], [g]), 1)
    top = analyze(ast.Module([f]), "t.src")
    fs = top.child(f)
    gs = fs.child(g)
    assert top.kinds == {"f": Kind.GLOBAL}
    assert fs.kinds == {"x": Kind.CELL, "g": Kind.FAST}
    assert (fs.varnames, fs.cellvars, fs.cell_params) == (("x", "g"), ("x",), (0,))
    assert gs.kinds == {"x": Kind.FREE} and gs.freevars == ("x",)
    assert gs.qualname == "f.<locals>.g"
    assert fs.resolve("g") == (Kind.FAST, 1) and fs.resolve("x") == (Kind.CELL, 0)
    assert gs.resolve("x") == (Kind.FREE, 0)
    assert top.resolve("f") == (Kind.GLOBAL, -1)


def test_hand_built_duplicate_parameter():
    f = at(ast.FunctionDef("f", [at(ast.Param("a", None), 1, 7), at(ast.Param("a", None), 1, 10)], []), 1)
    with pytest.raises(PvmCompileError) as info:
        analyze(ast.Module([f]), "t.src")
    assert (info.value.message, info.value.line, info.value.col) == \
        ("duplicate argument 'a' in function definition", 1, 10)


# --- Decisions ---

def test_module_names_are_global():
    top = scopes("x = 1\nfor i in y:\n    del x\nimport m\n")
    assert set(top.kinds.values()) == {Kind.GLOBAL}
    assert top.varnames == ()


def test_locals_globals_and_declarations():
    source = "g = 1\ndef f(p):\n    global h\n    h = p\n    q = g + len(p)\n    return q\n"
    assert kinds(source, "f") == {"p": Kind.FAST, "h": Kind.GLOBAL, "g": Kind.GLOBAL, "len": Kind.GLOBAL,
                                  "q": Kind.FAST}
    assert find(scopes(source), "f").varnames == ("p", "q")


def test_free_names_pass_through_intermediate_scopes():
    source = "def a():\n    v = 1\n    def b():\n        def c():\n            return v\n        return c\n    return b\n"
    top = scopes(source)
    assert find(top, "a").cellvars == ("v",)
    assert find(top, "a.<locals>.b").freevars == ("v",)
    assert find(top, "a.<locals>.b").kinds == {"c": Kind.FAST, "v": Kind.FREE}
    assert find(top, "a.<locals>.b.<locals>.c").kinds == {"v": Kind.FREE}


def test_nonlocal_binds_nearest_enclosing_function():
    source = ("def f():\n    x = 1\n    def g():\n        x = 2\n        def h():\n            nonlocal x\n"
              "            x = 3\n        return h\n    return g\n")
    top = scopes(source)
    assert find(top, "f").kinds["x"] is Kind.FAST
    assert find(top, "f.<locals>.g").kinds["x"] is Kind.CELL
    assert find(top, "f.<locals>.g.<locals>.h").kinds["x"] is Kind.FREE


def test_global_in_outer_function_hides_it_from_inner():
    source = "def f():\n    global x\n    x = 1\n    def g():\n        return x\n"
    assert kinds(source, "f.<locals>.g") == {"x": Kind.GLOBAL}


def test_comprehension_is_a_function_scope():
    top = scopes("def f(n):\n    return [i * n for i in range(n) if i]\n")
    comp = find(top, "f.<locals>.<listcomp>")
    assert comp.kind == "comprehension" and comp.params == [".0"]
    assert comp.varnames == (".0", "i")
    assert comp.kinds == {".0": Kind.FAST, "i": Kind.FAST, "n": Kind.FREE}
    assert find(top, "f").kinds == {"n": Kind.CELL, "range": Kind.GLOBAL}


def test_outermost_iterable_belongs_to_the_enclosing_scope():
    top = scopes("def f():\n    return [[y for y in x] for x in xs]\n")
    assert "xs" in find(top, "f").kinds and "xs" not in find(top, "f.<locals>.<listcomp>").kinds
    inner = find(top, "f.<locals>.<listcomp>.<listcomp>")
    assert inner.kinds == {".0": Kind.FAST, "y": Kind.FAST}
    assert find(top, "f.<locals>.<listcomp>").kinds["x"] is Kind.FAST


def test_captured_loop_variable_in_comprehension_is_a_cell():
    comp = find(scopes("fs = [lambda: i for i in range(3)]\n"), "<listcomp>")
    assert comp.kinds["i"] is Kind.CELL and comp.cellvars == ("i",) and comp.cell_params == (-1,)
    assert find(scopes("fs = [lambda: i for i in range(3)]\n"), "<listcomp>.<lambda>").freevars == ("i",)


def test_defaults_are_evaluated_in_the_enclosing_scope():
    top = scopes("def f():\n    x = 1\n    def g(a=x):\n        return a\n    return g\n")
    assert find(top, "f").kinds["x"] is Kind.FAST
    assert find(top, "f.<locals>.g").freevars == ()


def test_captured_parameters_come_first_among_cells():
    f = find(scopes("def f(z, a):\n    y = b = 0\n    return lambda: a + b + y + z\n"), "f")
    assert f.cellvars == ("z", "a", "b", "y")
    assert f.cell_params == (0, 1, -1, -1)


# --- Agreement with CPython's code objects ---

CASES = [
    "def f():\n    x = 1\n    def g():\n        def h():\n            return x\n        return h\n    return g\n",
    "def f():\n    x = 1\n    def g():\n        global x\n        def h():\n            return x\n        return h\n",
    "def f():\n    x = 1\n    return [lambda: x + y for y in range(3)]\n",
    "def f(a):\n    return [[a * b for b in c] for c in a]\n",
    "def f():\n    return {k: lambda: k for k in range(3)}\n",
    "def f():\n    x = 1\n    def g():\n        nonlocal x\n        x = 2\n        def h():\n            nonlocal x\n"
    "            x = 3\n        h()\n    g()\n    return x\n",
    "def f(x):\n    def g():\n        return x\n    del x\n",
    "def f():\n    lambda: (lambda: q)\n    q = 1\n",
    "def f():\n    [[q for _ in r] for r in s]\n    q = 1\n",
    "def f():\n    import os\n    def g():\n        return os\n",
    "def f():\n    from m import a as b\n    def g():\n        return b\n",
    "def f(a, b=lambda: a):\n    pass\n",
    "def f(x):\n    return lambda x: lambda: x\n",
    "def f():\n    x = [y for y in range(3) if y]\n    y = 2\n    return lambda: y\n",
    "def a():\n    def b():\n        def c():\n            def d():\n                return v\n            return d\n"
    "        return c\n    v = 1\n    return b\n",
    "def f():\n    for i in range(3):\n        def g():\n            return i\n",
    "def f():\n    w = 3\n    return [[w for _ in q] for q in (lambda: w)()]\n",
    "def f(p, q):\n    def g():\n        nonlocal p\n        p = q\n    return g\n",
    "def f(a, *args, b, c=1, **kw):\n    return lambda: (args, kw, c)\n",
    "def f(*args):\n    def g(**kw):\n        return args, kw\n    return g\n",
    "def f(n):\n    return lambda *, m=n, **r: (m, r, n)\n",
    "def outer(d):\n    @d\n    def g(*a):\n        return a\n    return g\n",
    "def outer():\n    x = 1\n    def deco(f):\n        return f\n    @deco\n    def g(*, k=x):\n"
    "        return k\n    return g\n",
    "def f():\n    @d\n    def g():\n        pass\n    d = 1\n",
    "def f():\n    @(lambda fn: fn)\n    def g(*, q, **p):\n        return lambda: (q, p)\n",
]


def code_objects(code: Code | types.CodeType) -> dict[str, object]:
    """Nested code objects (ours or CPython's) by qualname."""
    found = {}
    for const in code.co_consts if isinstance(code, types.CodeType) else code.consts:
        if isinstance(const, (types.CodeType, Code)):
            name = const.co_qualname if isinstance(const, types.CodeType) else const.qualname
            found[name] = const
            found.update(code_objects(const))
    return found


@pytest.mark.parametrize("source", CASES)
def test_layout_matches_cpython(source):
    from lang.compiler import compile_module
    parser = pytest.importorskip("lang.parser")
    ours = code_objects(compile_module(parser.parse(source, "t.src"), "t.src"))
    theirs = code_objects(compile(source, "t.src", "exec"))
    assert ours.keys() == theirs.keys()
    for qualname, cp in theirs.items():
        code = ours[qualname]
        params = cp.co_argcount + cp.co_kwonlyargcount + bool(cp.co_flags & inspect.CO_VARARGS) \
            + bool(cp.co_flags & inspect.CO_VARKEYWORDS)
        assert code.varnames[:params] == cp.co_varnames[:params], qualname
        assert (code.argcount, code.kwonlyargcount) == (cp.co_argcount, cp.co_kwonlyargcount), qualname
        assert bool(code.flags & CO_VARARGS) == bool(cp.co_flags & inspect.CO_VARARGS), qualname
        assert bool(code.flags & CO_VARKEYWORDS) == bool(cp.co_flags & inspect.CO_VARKEYWORDS), qualname
        assert set(code.varnames) == set(cp.co_varnames), qualname
        assert (code.cellvars, code.freevars) == (cp.co_cellvars, cp.co_freevars), qualname


# --- Errors ---

@pytest.mark.parametrize("source", [
    "def f():\n    x += 1\n    global x\n",
    "def f():\n    del x\n    global x\n",
    "def f():\n    for x in y:\n        pass\n    global x\n",
    "def f():\n    def x():\n        pass\n    global x\n",
    "def f():\n    print(x)\n    global x\n",
    "def g():\n    x = 1\n    def f():\n        print(x)\n        nonlocal x\n",
    "def g():\n    x = 1\n    def f():\n        x = 2\n        nonlocal x\n",
    "def f(a, b, a):\n    pass\n",
    "lambda a, a: 1\n",
    "[1 for x in y if (lambda b, b: 0)]\n",
    "nonlocal x\n",
    "def f():\n    nonlocal x\n",
    "x = 1\nglobal x\n",
    "print(x)\nglobal x\n",
    "def f(x):\n    global x\n",
    "def f(x):\n    nonlocal x\n",
    "def f():\n    global x\n    nonlocal x\n",
    "def f():\n    x = 1\n    def g():\n        global x\n        nonlocal x\n",
    "def f():\n    x = 1\n    def g():\n        return 1\n    nonlocal y\n",
    "def f():\n    global x\n    x = 1\n    def g():\n        nonlocal x\n",
    "def f():\n    def g():\n        nonlocal q\n    q = 1\n    def h():\n        nonlocal r\n",
    "x = 1\ndef f():\n    nonlocal x\n",
    "def f(*args):\n    global args\n",
    "def f(**kw):\n    nonlocal kw\n",
    "def f(*, k):\n    global k\n",
    "def f():\n    @g\n    def h():\n        pass\n    global g\n",
])
def test_errors_match_cpython(source):
    with pytest.raises(SyntaxError) as expected:
        compile(source, "t.src", "exec")
    assert error(source) == (expected.value.msg, expected.value.lineno, expected.value.offset)


def test_import_then_global_is_allowed_as_in_cpython():
    compile("def f():\n    import os\n    global os\n", "t.src", "exec")
    assert kinds("def f():\n    import os\n    global os\n", "f") == {"os": Kind.GLOBAL}
