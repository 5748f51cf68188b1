"""Tests for lang.parser: the AST it builds, checked against CPython's own
parser (shapes and positions), its literals against CPython's decoding, and
its errors against CPython's messages and positions."""

from __future__ import annotations

import ast as pyast
import dataclasses
import tempfile
import threading
import warnings

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import lang.parser as parser_module
from lang import ast
from lang.astbuilder import MAX_EXPR_DEPTH
from lang.parser import parse
from pvm.errors import PvmCompileError, PvmSyntaxError

# --- Comparing with CPython's ast ---

_OPS = {pyast.Add: "+", pyast.Sub: "-", pyast.Mult: "*", pyast.Div: "/", pyast.FloorDiv: "//",
        pyast.Mod: "%", pyast.Pow: "**", pyast.LShift: "<<", pyast.RShift: ">>", pyast.BitAnd: "&",
        pyast.BitOr: "|", pyast.BitXor: "^", pyast.USub: "-", pyast.UAdd: "+", pyast.Invert: "~",
        pyast.Not: "not", pyast.And: "and", pyast.Or: "or", pyast.Lt: "<", pyast.LtE: "<=",
        pyast.Gt: ">", pyast.GtE: ">=", pyast.Eq: "==", pyast.NotEq: "!=", pyast.Is: "is",
        pyast.IsNot: "is not", pyast.In: "in", pyast.NotIn: "not in"}
_RENAMED = {"Expr": "ExprStmt", "keyword": "Keyword", "comprehension": "Comprehension",
            "alias": "Alias", "arg": "Param", "withitem": "WithItem"}
_RENAMED_FIELDS = {"slice": "index", "context_expr": "context", "optional_vars": "target"}
_IGNORED_FIELDS = {"ctx", "type_comment", "kind", "returns", "is_async", "type_ignores", "simple"}
# Comprehensions and with items have no span in CPython.
_NO_POSITION = {"Module", "Comprehension", "WithItem"}


def ours(node):
    """Our AST as (type name, fields, span) tuples."""
    if isinstance(node, list):
        return [ours(x) for x in node]
    if not isinstance(node, ast.Node):
        return node
    name = type(node).__name__
    fields = {f.name: ours(getattr(node, f.name)) for f in dataclasses.fields(node)
              if f.name not in ("line", "col", "end_line", "end_col")}
    return name, fields, () if name in _NO_POSITION else (node.line, node.col, node.end_line, node.end_col)


def cpython(node):
    """CPython's AST in the same shape (columns made 1-based, end exclusive)."""
    if isinstance(node, list):
        return [cpython(x) for x in node]
    if not isinstance(node, pyast.AST):
        return node
    kind = type(node).__name__
    hidden = kind in ("Module", "comprehension", "withitem")
    span = () if hidden else (node.lineno, node.col_offset + 1, node.end_lineno, node.end_col_offset + 1)
    conv = cpython
    if kind in ("FunctionDef", "Lambda"):
        args = node.args
        defaults = [None] * (len(args.args) - len(args.defaults)) + args.defaults
        params = [(a, d, "positional") for a, d in zip(args.args, defaults)]
        params += [(args.vararg, None, "vararg")] if args.vararg else []
        params += [(a, d, "kwonly") for a, d in zip(args.kwonlyargs, args.kw_defaults)]
        params += [(args.kwarg, None, "kwarg")] if args.kwarg else []
        fields = {"params": [("Param", {"name": a.arg, "default": conv(d), "kind": k},
                              (a.lineno, a.col_offset + 1, a.end_lineno, a.end_col_offset + 1))
                             for a, d, k in params],
                  "body": conv(node.body)}
        if kind == "FunctionDef":
            fields["name"] = node.name
            fields["decorators"] = conv(node.decorator_list)
        return kind, fields, span
    fields = {}
    for name in node._fields:
        if name in _IGNORED_FIELDS:
            continue
        value = getattr(node, name)
        if name in ("op", "ops"):
            value = [_OPS[type(o)] for o in value] if name == "ops" else _OPS[type(value)]
        elif name == "conversion":
            value = None if value == -1 else chr(value)
        else:
            value = conv(value)
        fields[_RENAMED_FIELDS.get(name, name)] = value
    return _RENAMED.get(kind, kind), fields, span


VALID = [
    "x = 1", "x = y = z = 3", "x, y = 1, 2", "a, *b = c", "[a, b] = c", "x = 1,", "x = (1, 2)",
    "x = ()", "x = -2 ** 2 + 3 * 4 - 5 / 6 // 7 % 8", "x = 2 ** -1 ** 2", "x = a << 1 >> 2 & 3 | 4 ^ 5",
    "x = not a == b and c or d", "x = a < b <= c > d >= e == f != g is h is not i in j not in k",
    "x = a if b else c if d else e", "x = lambda: 0", "x = lambda a, b=1: a + b",
    "f(a, b=1, c=2)", "f()", "f(a,)", "a.b.c(d)[e]", "a[1]", "a[1:2]", "a[::3]", "a[:]",
    "a[1:2, ::3]", "a[1,]", "a[b, c]", "a[*b]", "a[1:2:3]", "a[:, 1]", "[1, 2, 3]", "[]", "{}",
    "{1: 2, 3: 4}", "{1, 2}", "{**a, 'b': 1}", "[*a, *b]", "{*a}", "[x for x in y]",
    "[x for x in y if x if z for w in x]", "{x for x in y}", "{k: v for k, v in d.items()}",
    "[[x for x in y] for y in z]", "if a:\n    pass\nelif b:\n    pass\nelse:\n    x = 1\n",
    "while x:\n    break\nelse:\n    continue\n", "for x in y:\n    pass\nelse:\n    pass\n",
    "for x, y in z: pass", "for x in *a, *b: pass", "def f(a, b=1):\n    return a\n",
    "def f():\n    return\n", "def f():\n    global x, y\n    nonlocal z\n",
    "def f(a,\n      b):\n    pass", "del a, b[1], c.d", "del (a, b)", "assert x", "assert x, 'msg'",
    "import a", "import a as b, c", "from m import a, b as c", "from m import (a, b,)",
    "x += 1", "x[1] -= 2", "x.y **= 3", "x //= 2; y >>= 1; z |= 3", "'abc'",
    "'a' \"b\" '''c''' \"\"\"d\"\"\"", "f'{x}'", "f'a{x!r}b{y:>10}c'", "f'{x:{w}.{p}f}'",
    "'a' f'{b}' 'c'", "f'{x=}'", "f'{x = !s:>4}'", "f''", "f'{{}}{x}'", "x = f'''{\na\n}'''",
    "x = f'{a!r:>{w}}' f\"{b}\"", "x = 1.5e3 + .5 + 1. + 0x1F + 0o17 + 0b101 + 1_000",
    "x = True, False, None, ...", "x = (\n  1 +\n  2\n)", "x = 1 + \\\n  2", "print(a, end='')",
    "a = b = c, d = e", "f(a)(b)(c)", "x = -a", "x = +a", "x = ~a", "x = not a", "x = a or b or c",
    "(a) = 1", "((a, b)) = 1, 2", "x = [\n  1,\n  2,\n]", "x = lambda: (lambda y: y)",
    "if x:\n    if y:\n        pass\n    else:\n        pass\n", "x = {1:\n2}", "print >>x",
    "if x:\n\ty = 1\n", "x = 1  # trailing comment", "# only a comment", "", "\n\n",
    "x = 1; y = 2;", "def f(): return 1", "def f(x=1, y=f(2)):\n    def g(): return x\n    return g\n",
    "match = 1\ncase = match\n_ = case", "del x,", "if x:pass\nelse:pass", "x = ('a'\n     'b')",
    "x = 1 if y else lambda: 2", "x = a.b[c].d(e)", "if a:\n    pass\n\n\n\nelse:\n    pass",
    "\x0cx = 1", "import m; from m import a", "x = not -1", "x = [i for i in range(3)][0]",
    # Level 2: *args, **kwargs, keyword-only parameters, unpacking in calls, decorators
    "def f(a, b=1, *args, c, d=2, **kw):\n    pass\n", "def f(*, a=1, b):\n    pass\n", "def f(*a,): pass",
    "def f(**k,): pass", "x = lambda *a, b, **k: 0", "x = lambda *, n=1: n", "x = lambda **k: k",
    "f(*a)", "f(**k)", "f(1, *a, x=2, *b, **k, y=3)", "f(* a, ** b)", "f(x=1, *a)", "a.b(*c)(**d)",
    "@d\ndef f():\n    pass\n", "@a.b(1)(2)\n@c\ndef f(*a): pass", "@x if y else z\n@lambda f: f\ndef g(): pass",
    "@d\n\n# comment\ndef f(): pass",
    # Level 3: dotted, relative and star imports, with, annotations
    "import a.b.c", "import a.b as c, d.e", "from .. import x", "from .a.b import c as d", "from ... import y",
    "from m import *", "with a:\n    pass\n", "with a as b, c() as (d, e):\n    pass\n",
    "x: int = 1", "x: 'list[int]'", "a.b: int = 2", "a[0]: int", "def f(a: int, *b: str, c: float = 1, **d: dict) -> None: pass",
]


@pytest.mark.parametrize("source", VALID)
def test_ast_matches_cpython(source):
    assert ours(parse(source, "t.py")) == cpython(pyast.parse(source))


def test_module_without_trailing_newline_and_crlf():
    assert ours(parse("x = 1\r\nif x:\r\n    y = 2", "t")) == cpython(pyast.parse("x = 1\nif x:\n    y = 2"))


def test_ellipsis_and_elif_shape():
    module = parse("if a:\n    ...\nelif b:\n    x = 1\n", "t")
    outer = module.body[0]
    assert isinstance(outer.body[0].value, ast.Constant) and outer.body[0].value.value is Ellipsis
    assert isinstance(outer.orelse[0], ast.If) and outer.orelse[0].orelse == []
    assert (outer.orelse[0].line, outer.orelse[0].col) == (3, 1)


def test_chained_assignment_and_comparison_are_single_nodes():
    stmt = parse("a = b = 1 < 2 < 3\n", "t").body[0]
    assert [t.id for t in stmt.targets] == ["a", "b"]
    assert isinstance(stmt.value, ast.Compare) and stmt.value.ops == ["<", "<"]


def test_unicode_identifiers_are_nfkc_normalised_and_columns_count_characters():
    stmt = parse("é = ﬁ + 1\n", "t").body[0]
    assert stmt.targets[0].id == "é" and stmt.value.left.id == "fi"
    assert (stmt.value.line, stmt.value.col) == (1, 5)


def test_fstring_field_positions_point_into_the_literal():
    value = parse("x = 1\ns = f'ab{ yy }c{z!r:>{w}}'\n", "t").body[1].value
    fields = [v for v in value.values if isinstance(v, ast.FormattedValue)]
    assert (fields[0].value.line, fields[0].value.col, fields[0].value.end_col) == (2, 11, 13)
    assert (fields[1].value.col, fields[1].conversion) == (17, "r")
    spec_field = fields[1].format_spec.values[1]
    assert isinstance(spec_field.value, ast.Name) and spec_field.value.col == 23


def test_multiline_fstring_field_position():
    value = parse('s = f"""a\nb{\n  foo}"""\n', "t").body[0].value
    name = value.values[1].value
    assert (name.id, name.line, name.col) == ("foo", 3, 3)


# --- Precedence, checked by evaluating literal arithmetic ---

def evaluate(node):
    """A tiny evaluator for constant expressions, enough to expose precedence."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp):
        v = evaluate(node.operand)
        return {"-": lambda: -v, "+": lambda: +v, "~": lambda: ~v, "not": lambda: not v}[node.op]()
    if isinstance(node, ast.BinOp):
        return eval(f"a {node.op} b", {"a": evaluate(node.left), "b": evaluate(node.right)})
    if isinstance(node, ast.BoolOp):
        result = evaluate(node.values[0])
        for v in node.values[1:]:
            if (node.op == "and") == bool(result):
                result = evaluate(v)
        return result
    if isinstance(node, ast.Compare):
        left = evaluate(node.left)
        for op, right in zip(node.ops, node.comparators):
            right = evaluate(right)
            if not eval(f"a {op} b", {"a": left, "b": right}):
                return False
            left = right
        return True
    if isinstance(node, ast.IfExp):
        return evaluate(node.body) if evaluate(node.test) else evaluate(node.orelse)
    raise AssertionError(node)


@pytest.mark.parametrize("expr", [
    "-2**2", "2**-1", "2**3**2", "(-2)**2", "1+2*3", "(1+2)*3", "10-3-2", "2*3%4//5", "1<<2+3",
    "7&3|4^2", "not 1 == 2", "1 if 0 else 2 if 1 else 3", "~1+2", "-(2)**2", "-2**-2", "not 0 or 1 and 0",
    "1 < 2 == 2 > 1", "2 ** 2 * 3", "8 >> 1 << 2", "1 - -1", "+-+1", "0 or 0 and 1 or 5", "3 > 2 > 1",
    "1 if 1 < 2 else 0", "not not 0", "-1 ** 0.5 * 2", "5 % 3 * 2", "1 | 2 & 3", "6 ^ 3 & 5 | 1",
])
def test_precedence_matches_python(expr):
    assert evaluate(parse(expr, "t").body[0].value) == eval(expr)


_BINARY = ["+", "-", "*", "//", "%", "**", "<<", ">>", "&", "|", "^", "<", "==", "is not", "and", "or"]


@st.composite
def arithmetic(draw, depth=0):
    """Unparenthesised operator soup over small ints: precedence decides everything."""
    if depth > 3 or draw(st.integers(0, 3)) == 0:
        return str(draw(st.integers(0, 9)))
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return draw(st.sampled_from(["-", "+", "~", "not "])) + draw(arithmetic(depth + 1))
    if kind == 1:
        return "(" + draw(arithmetic(depth + 1)) + ")"
    if kind == 2:
        parts = [draw(arithmetic(depth + 1)) for _ in range(3)]
        return f"{parts[0]} if {parts[1]} else {parts[2]}"
    return f"{draw(arithmetic(depth + 1))} {draw(st.sampled_from(_BINARY))} {draw(arithmetic(depth + 1))}"


def _explodes(node: pyast.AST) -> bool:
    """A power or shift whose right operand is large (``9 ** 9 ** 9`` has 370
    million digits: CPython takes minutes to compute it). Children first, so
    every operand evaluated here is itself bounded."""
    if any(_explodes(child) for child in pyast.iter_child_nodes(node)):
        return True
    if isinstance(node, pyast.BinOp) and isinstance(node.op, (pyast.Pow, pyast.LShift)):
        try:
            amount = eval(compile(pyast.Expression(node.right), "<operand>", "eval"))
        except Exception:
            return False
        return isinstance(amount, int) and amount > (64 if isinstance(node.op, pyast.Pow) else 4096)
    return False


@settings(max_examples=200, deadline=None)
@given(arithmetic())
def test_random_expressions_evaluate_like_python(expr):
    try:
        assume(not _explodes(pyast.parse(expr, mode="eval")))
    except SyntaxError:
        pass
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            expected = eval(expr)
        except SyntaxError:
            with pytest.raises(PvmSyntaxError):
                parse(expr, "t")
            return
        except (ArithmeticError, ValueError, TypeError, MemoryError):
            return
        assert evaluate(parse(expr, "t").body[0].value) == expected


# --- Literals ---

@pytest.mark.parametrize("literal", [
    "0", "00", "7", "1_000_000", "0x1F", "0XdeadBEEF", "0o17", "0O7_7", "0b101", "0B1_0", "0x_1f",
    "1.5", "1.", ".5", "1e5", "1E-5", "1.5e+3", "1_0.5_0e1_0", "1e999", "0.0", "00.5", "0e0",
    "123456789012345678901234567890",
])
def test_number_literals(literal):
    value = parse(literal, "t").body[0].value.value
    assert value == eval(literal) and type(value) is type(eval(literal))


@pytest.mark.parametrize("literal", [
    r"'a\nb\tc\\d\'e\"f'", r'"\x41\101\u00e9\U0001F600\N{BULLET}"', r"'\q\w'", r"'\0\7\77\777'",
    r"'\a\b\f\v\r'", r"r'\n\x41'", r"R'a\'b'", r"u'\u00e9'", "'''multi\nline'''", '"""a"b""c"""',
    "'a\\\nb'", "'é\\é'", "'''\\'''\\''''", r"'\N{LATIN SMALL LETTER E WITH ACUTE}'", "''", "'' ''",
    "'a' 'b' \"c\"", "'\\\\'", r"'\\\N{BULLET}'", "'\\" + "\u20ac'",
])
def test_string_literals_decode_like_python(literal):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = pyast.literal_eval(literal)
    assert parse(literal, "t").body[0].value.value == expected


@pytest.mark.parametrize("source", [
    r"f'\n{x}\t'", r"rf'\n{x}'", r"Fr'{x}\d'", r"f'{x}\N{BULLET}{{'", "f'{x:{y}}}}'", r"f'\{x}'",
    "f'{x!a}' 'b' f'c'", "f'''{\nx\n!s}'''", r"f'{x:\n}'", "f'{\"a\" if x else \"b\"}'", "f'{x:=^10}'",
    "f'{ {1: 2}[1] }'", "f'{x!r=}' if 0 else f'{x=!r}'", "f'{x >= y}{x != y}{x == y}{x < y}'",
    "(f'a{b}'\n f'{c:>{d}}' 'e')", "x = f'''\n{a}\n''' f'{b}'",
])
def test_fstrings_match_cpython(source):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            expected = cpython(pyast.parse(source))
        except SyntaxError as exc:
            with pytest.raises(PvmSyntaxError) as info:
                parse(source, "t")
            assert info.value.message == exc.msg
            return
    assert ours(parse(source, "t")) == expected


# --- Refused features ---

@pytest.mark.parametrize("source, message, line, col", [
    ("class A(metaclass=M):\n    pass\n", "class keyword arguments (metaclass=...) are not supported", 1, 9),
    ("class A(B, C):\n    pass\n", "multiple inheritance is not supported", 1, 12),
    ("try:\n    pass\nexcept* E:\n    pass\n", "except* is not supported", 3, 7),
    ("with (a as b, c):\n    pass\n", "parenthesized context managers are not supported", 1, 1),
    ("async def f():\n    pass\n", "async functions are not supported", 1, 1),
    ("def f():\n    await g()\n", "await expressions are not supported", 2, 5),
    ("def f():\n    async for x in y:\n        pass\n", "async for loops are not supported", 2, 5),
    ("def f():\n    async with a:\n        pass\n", "async with statements are not supported", 2, 5),
    ("x = [a async for a in b]\n", "asynchronous comprehensions are not supported", 1, 8),
    ("def f(a, /, b):\n    pass\n", "positional-only parameters are not supported", 1, 10),
    ("f = lambda a, /: a\n", "positional-only parameters are not supported", 1, 15),
    ("def f(*a, b, /):\n    pass\n", None, 0, 0),
    ("if (n := 10) > 5:\n    pass\n", "assignment expressions are not supported", 1, 5),
    ("match x:\n    case 1:\n        pass\n", "match statements are not supported", 1, 1),
    ("x = b'abc'\n", "bytes literals are not supported", 1, 5),
    ("x = 'a' rb'b'\n", "bytes literals are not supported", 1, 9),
    ("x = 1j\n", "complex numbers are not supported", 1, 5),
    ("x = 2.5J + 1\n", "complex numbers are not supported", 1, 5),
    ("x = a @ b\n", "the '@' operator is not supported", 1, 7),
    ("y = 1\nclass A(B, C): pass\nraise E\n", "multiple inheritance is not supported", 2, 12),
])
def test_unsupported_features_are_refused_by_name(source, message, line, col):
    if message is None:     # a syntax error in CPython: not a refusal
        with pytest.raises(PvmSyntaxError):
            parse(source, "prog.src")
        return
    with pytest.raises(PvmCompileError) as info:
        parse(source, "prog.src")
    err = info.value
    assert (err.message, err.line, err.col, err.filename) == (message, line, col, "prog.src")
    assert err.source_line == source.split("\n")[line - 1]


def test_syntax_error_anywhere_wins_over_a_refusal():
    with pytest.raises(PvmSyntaxError) as info:
        parse("class A:\n    pass\nx = = 1\n", "t")
    assert type(info.value) is PvmSyntaxError and (info.value.line, info.value.col) == (3, 5)


def test_lambda_defaults_are_supported():
    lam = parse("f = lambda a, b=2: a * b\n", "t").body[0].value
    assert [p.name for p in lam.params] == ["a", "b"] and lam.params[1].default.value == 2


# --- Syntax errors, with CPython as the oracle ---

CPYTHON_ERRORS = [
    "x = 'abc\n", 'x = f"abc\n', "x = '''abc\n\n", "x = (1,\n2\n", "x = 1)\n", "x = (1]\n", "if x\n  pass\n",
    "if x:\npass\n", "def f():\nreturn 1\n", "for x in y:\nz\n", "while 1:\nz\n", "if 1:\n  a\nelse:\nb\n",
    "  x = 1\n", "x = 1\n  y = 2\n", "if 1:\n    a\n  b\n", "1 = x\n", "f() = 1\n", "a + b = 1\n", "del 1\n",
    "del f()\n", "(a, b) += 1\n", "[a] += 1\n", "1 += 1\n", "f() += 1\n", "True = 1\n", "None = 1\n",
    "x, True = 1, 2\n", "for 1 in x: pass\n", "f(True=1)\n", "f(a=1, a=2)\n", "def f(a=1, b): pass\n",
    "def f(a, a): pass\n", "*a = 1\n", "a, *b, *c = x\n", "x = *a\n", "*a\n", "del *a\n", "x = 1 $ 2\n",
    "x = 1 \u20ac 2\n", "x = 1 \xa0 2\n", "x = 1abc\n", "x = 0x\n", "x = 07\n", "x = 1_\n", "x = 1__0\n",
    "x = \\ 1\n", "f'{a!x}'\n", "f'{}'\n", "f'{a'\n", "f'}'\n", "f'{a\\n}'\n", "f'{a#}'\n", "f'{a:{b:{c}}}'\n",
    "x = [1, 2\n", "foo(a b)\n", "x = (\n", "x = 1 +\n", "a := 1\n", "x = '\\N{bogus}'\n", "x = '\\x4'\n",
    "def f(:\n", "x ==== 1\n", "a.b = 1\nf(x) = 2\n", "[a, 1] = x\n", "(a, 1) = x\n", "for a, f() in x: pass\n",
    "x = lambda: 1 = 2\n", "x = 'a' 'b' = 1\n", "a < b = 1\n", "not a = 1\n", "a and b = 1\n", "-a = 1\n",
    "[x for x in y] = 1\n", "{a: b} = 1\n", "{a} = 1\n", "f'{x}' = 1\n", "... = 1\n", "__debug__ = 1\n",
    "del (a, 1)\n", "del a + b\n", "x = 1\n\tif 1:\n", "if 1:\n\tx\n        y\n", "if 1:\n        x\n\ty\n",
    "x = \n", "\n\n)\n", "x = [\n1,\n2\n)", "x = 0b2\n", "x = 0o8\n", "x = 1e\n", "x = 1.2.3\n", "x = 5 if\n",
    "if x = 1:\n pass\n", "global x, \n", "import\n", "from x import\n", "from x import (a, b\n",
    "from x import a,\n", "def f():\n  x = 1\n return x\n", "'abc' 'def\n", "f'{x!}'\n", "f'{x:'\n", "f'{x:{'\n",
    "f'{'\n", "f'{x!r=}'\n", "f'{lambda x:1}'\n", "x = 1 if 1 else\n", "x = not\n", "x = = 1\ny = 'abc\n",
    "x = = 1\ny = (\n", "x = (1,\n y = 2\n", "if x:\n", "def f()\n pass\n", "else\n", "x = 1 = y\n",
    "1 = 2 = x\n", "x = 1 \\", "f(a.b=1)\n", "x = 0_7\n", "x = 1 + (\n2 +\n", "def f(**k, a): pass\n",
    "def f(*): pass\n", "lambda x=1, y: 0\n", "(*a) = b\n", "for *a in b: pass\n", "x = (*a)\n",
    "print 'hello'\n", "x = 1 2\n", "x = [1 2]\n", "def f():\n    x = 1\n        y = 2\n", "x = `a`\n",
    "for x in range(3):\npass\n", "\ufeffx = 1\n", "x = 'a\\\nb\n", "x = a if b else c = 1\n",
    "f'{*a}'\n", "f'{a b}'\n", "x = 1\n\ny = f'''{\na +\n $}'''\n", "x = f'{(}'\n",
    "x = 1" + "0" * 5000 + "\n", "if True:\n    pass\n  else:\n    pass\n",
    "f'{f'{x}'}'\n", "x = 'a' {\n", "f('a' {)\n", "x = 'a' 'b\\N{nope}' 1\n",
    "if 1:\n" + "".join(" " * i + "if 1:\n" for i in range(1, 99)) + " " * 99 + "pass\n",
    "if 1:\n" + "".join(" " * i + "if 1:\n" for i in range(1, 100)) + " " * 100 + "pass\n",
    # Parameters and arguments of Level 2
    "def f(*, **k): pass\n", "def f(**k, *a): pass\n", "def f(**k, **j): pass\n", "def f(*a, *b): pass\n",
    "def f(*, a, *b): pass\n", "def f(**k=1): pass\n", "def f(*a=1): pass\n", "def f(a, *, b, a): pass\n",
    "lambda *: 0\n", "lambda *, **k: 0\n", "lambda **k, a: 0\n", "def f(*a, /): pass\n", "def f(a, *, b=1, /): pass\n",
    "def f(a, *a): pass\n", "def f(a, **a): pass\n", "def f(*a, **a): pass\n", "def f(*a, a): pass\n",
    "def f(*, a, **a): pass\n", "lambda *a, *b: 0\n", "lambda **k=1: 0\n", "lambda *a=1: 0\n", "def f(*,): pass\n",
    "def f(* = 1): pass\n", "def f(a, *, b, **k=1): pass\n", "def f(*a, b=1, c): pass\n", "def f(*, a=1, b, **c): pass\n",
    "f(**k, *a)\n", "f(**k, a)\n", "f(*a, b=1, c)\n", "f(a=1, **k, b)\n", "f(x=1, **k, x=2)\n", "f(**k, x=1, x=2)\n",
    "f(*)\n", "f(**)\n", "f(a=*b)\n", "f(*a=1)\n", "f(**a=1)\n", "f(a, *b = 1)\n", "f(1,\n  2, **{},\n  *k\n  )\n",
    "@x\nx = 1\n", "@*x\ndef f(): pass\n", "@x,y\ndef f(): pass\n", "@x\nasync for a in b: pass\n",
    "@x\nasync with a: pass\n", "@x()()\ndef f(): pass\n",
]
# Known, accepted differences: CPython's column is a quirk of its PEG error recovery.
_COLUMN_DIFFERS = {"f(a=1, 2)\n", "x = 1 if 2\n", "f(a.b=1)\n", "f'{lambda x:1}'\n", "x = 1 \\", "f'{*a}'\n",
                   "x = 'a' 'b\\N{nope}' 1\n", "f'{a b}'\n", "x = 1\n\ny = f'''{\na +\n $}'''\n", "x = f'{(}'\n",
                   "lambda *: 0\n", "lambda *, **k: 0\n", "f(**k, a)\n", "f(*a, b=1, c)\n", "f(a=1, **k, b)\n"}


@pytest.mark.parametrize("source", CPYTHON_ERRORS)
def test_syntax_errors_match_cpython(source):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(source, "t", "exec")
        except SyntaxError as exc:
            expected = exc
        else:
            parse(source, "t")      # the limit's boundary: accepted by both
            return
    with pytest.raises(PvmSyntaxError) as info:
        parse(source, "t")
    err = info.value
    assert type(err) is PvmSyntaxError
    assert err.message == expected.msg
    assert err.line == expected.lineno
    if source not in _COLUMN_DIFFERS and expected.offset:
        assert err.col == expected.offset
    assert err.source_line == source.replace("\r", "").split("\n")[err.line - 1]


@pytest.mark.parametrize("source, message, line, col", [
    ("f(a=1, 2)\n", "positional argument follows keyword argument", 1, 8),
    ("x = 1 if 2\n", "expected 'else' after 'if' expression", 1, 11),
    ("with a as 1:\n    pass\n", "cannot assign to literal", 1, 11),
    ("a, b: int = 1, 2\n", "only single target (not tuple) can be annotated", 1, 1),
    ("f(): int\n", "illegal target for annotation", 1, 1),
    ("x = " + "(" * 201 + ")" * 201 + "\n", "too many nested parentheses", 1, 205),
    ("x = " + "-" * MAX_EXPR_DEPTH + "1\n", "expression is too deeply nested", 1, 4 + MAX_EXPR_DEPTH),
    ("x = " + "[" * 150 + "]" * 150 + " + " + "[" * 150 + "]" * 150 + "\n", None, 0, 0),
    # As when CPython runs a file (compile() words it differently).
    ("x = 1\n\0", "source code cannot contain null bytes", 2, 1),
    ("x = 'a\0b'\n", "source code cannot contain null bytes", 1, 7),
])
def test_limits_and_pinned_messages(source, message, line, col):
    if message is None:
        parse(source, "t")
        return
    with pytest.raises(PvmSyntaxError) as info:
        parse(source, "t")
    assert (info.value.message, info.value.line, info.value.col) == (message, line, col)


def test_deep_left_nesting_is_refused_without_recursion():
    with pytest.raises(PvmSyntaxError, match="too deeply nested"):
        parse("x = " + "+".join(["1"] * (MAX_EXPR_DEPTH + 5)) + "\n", "t")
    nested = parse("x = " + "+".join(["1"] * (MAX_EXPR_DEPTH - 5)) + "\n", "t").body[0].value
    depth = 0
    while isinstance(nested, ast.BinOp):
        nested, depth = nested.left, depth + 1
    assert depth == MAX_EXPR_DEPTH - 6


def test_paren_limit_is_exactly_cpythons():
    parse("x = " + "(" * 200 + "1" + ")" * 200 + "\n", "t")
    with pytest.raises(PvmSyntaxError, match="too many nested parentheses"):
        parse("x = " + "(" * 201 + "1" + ")" * 201 + "\n", "t")


def test_render_points_at_the_error():
    with pytest.raises(PvmSyntaxError) as info:
        parse("x = 1\nif x\n    pass\n", "prog.src")
    assert info.value.render() == "prog.src:2:5: expected ':'\n    if x\n        ^"


# --- The Lark object: built once, cached, robust to an unwritable cache ---

def test_parser_is_built_once():
    assert parser_module._parser() is parser_module._parser()


def test_unwritable_cache_location_does_not_break_parsing(monkeypatch, tmp_path):
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where a directory should be")
    monkeypatch.setattr(parser_module, "_lark", None)
    monkeypatch.setattr(parser_module, "_cache_file", lambda: str(blocked / "grammar.cache"))
    assert parse("x = 1\n", "t").body[0].value.value == 1
    assert parser_module._lark is not None and not (blocked / "grammar.cache").exists()


def test_cache_file_falls_back_to_none_when_nothing_is_writable(monkeypatch, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    monkeypatch.setenv("HOME", str(blocked))
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(blocked))
    assert parser_module._cache_file() is None


def test_no_cache_env_var_leaves_the_parser_uncached(monkeypatch):
    monkeypatch.setenv("PVM_NO_CACHE", "1")
    assert parser_module._cache_file() is None


def test_parses_concurrently_from_threads():
    sources = [f"x{i} = f'{{a}}' + {i}\nif x{i}:\n    y = [z for z in x{i}]\n" for i in range(8)]
    results: dict[int, object] = {}

    def work(i):
        for _ in range(20):
            results[i] = ours(parse(sources[i], "t"))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(results[i] == cpython(pyast.parse(sources[i])) for i in range(8))
