"""The compiler's output: instruction sequences for each construct, stack
depth along every path, constants, line tables and compile-time errors."""

from __future__ import annotations

import glob
import os
import sys

import pytest

from lang import ast
from lang.assembler import CodeBuilder, max_stack
from lang.compiler import compile_module
from pvm.code import CO_COMPREHENSION, CO_LAMBDA, CO_MODULE, CO_NESTED, CO_VARARGS, CO_VARKEYWORDS, Code
from pvm.errors import PvmCompileError, PvmSyntaxError
from pvm.opcodes import OPCODES, Flag, Op, Operand

PROGRAMS = os.path.join(os.path.dirname(__file__), "..", "programs")


def compile_src(source: str) -> Code:
    parser = pytest.importorskip("lang.parser")
    return compile_module(parser.parse(source, "t.src"), "t.src")


def listing(code: Code) -> list[str]:
    """Instructions as 'OPNAME operand' with operands spelled out."""
    out = []
    for op, arg in zip(code.ops, code.args):
        info = OPCODES[op]
        if info.operand is Operand.NONE:
            out.append(info.name)
            continue
        if info.operand is Operand.CONST:
            value = code.consts[arg]
            text = f"<code {value.qualname}>" if isinstance(value, Code) else repr(value)
        elif info.operand is Operand.LOCAL:
            text = code.varnames[arg]
        elif info.operand is Operand.CELL:
            text = (code.cellvars + code.freevars)[arg]
        elif info.operand is Operand.NAME:
            text = code.names[arg]
        else:
            text = str(arg)
        out.append(f"{info.name} {text}")
    return out


def all_codes(code: Code) -> list[Code]:
    found = [code]
    for const in code.consts:
        if isinstance(const, Code):
            found.extend(all_codes(const))
    return found


def nested(code: Code, qualname: str) -> Code:
    return next(c for c in all_codes(code) if c.qualname == qualname)


def body(source: str, qualname: str = "<module>") -> list[str]:
    """The listing of one code object without its implicit `return None`."""
    lines = listing(nested(compile_src(source), qualname))
    if lines[-2:] == ["LOAD_CONST None", "RETURN_VALUE"]:
        lines = lines[:-2]
    return lines


def compile_error(source: str) -> tuple[str, int, int]:
    """Message and position of the error; the parser may find some first."""
    with pytest.raises(PvmSyntaxError) as info:
        compile_src(source)
    return info.value.message, info.value.line, info.value.col


def simulate(code: Code) -> int:
    """Explore every (instruction, depth) state from the entry, independently
    of the compiler's own walk; returns the deepest depth seen."""
    seen: dict[int, int] = {}
    work = [(0, 0)]
    deepest = 0
    while work:
        pc, depth = work.pop()
        assert 0 <= pc < len(code.ops), f"{code.qualname}: control leaves the code at {pc}"
        if pc in seen:
            assert seen[pc] == depth, f"{code.qualname}: two depths at {pc}"
            continue
        seen[pc] = depth
        info, arg = OPCODES[code.ops[pc]], code.args[pc]
        successors = []
        handler = code.handler_at(pc)
        if handler is not None:
            assert handler[1] <= depth, f"{code.qualname}: handler at {pc} keeps more than the stack has"
            successors.append((handler[0], handler[1] + 1))
        if info.flags & Flag.JUMP:
            successors.append((arg, depth + info.jump_effect(arg)))
        after = depth + info.effect(arg)
        assert after >= 0, f"{code.qualname}: {info.name} at {pc} underflows"
        if not info.flags & Flag.TERMINATOR:
            successors.append((pc + 1, after))
        for target, new_depth in successors:
            assert 0 <= new_depth <= code.max_stack, f"{code.qualname}: depth {new_depth} at {target}"
            deepest = max(deepest, new_depth)
            work.append((target, new_depth))
    return deepest


def check_well_formed(code: Code) -> None:
    for c in all_codes(code):
        assert simulate(c) == c.max_stack
        assert c.ops[-1] == Op.RETURN_VALUE
        assert all(type(arg) is int for arg in c.args)
        for index, (op, arg) in enumerate(zip(c.ops, c.args)):
            if op == Op.JUMP_BACKWARD:
                assert arg <= index
            elif OPCODES[op].flags & Flag.JUMP:
                # only back edges jump back: the JIT and the step limit count them
                assert index < arg < len(c.ops), f"{OPCODES[op].name} at {index} jumps back to {arg}"
            if op == Op.JUMP_FORWARD:
                assert arg > index


# --- Hand-built trees (independent of the parser) ---

def at(node, line, col=1):
    node.line, node.col = line, col
    return node


def test_hand_built_module():
    tree = ast.Module([
        at(ast.Assign([at(ast.Name("x"), 1)], at(ast.BinOp(at(ast.Constant(1), 1), "+", at(ast.Constant(2), 1)), 1)), 1),
        at(ast.ExprStmt(at(ast.Call(at(ast.Name("print"), 2), [at(ast.Name("x"), 2)], []), 2)), 2),
    ])
    code = compile_module(tree, "t.src")
    assert listing(code) == [
        "LOAD_CONST 1", "LOAD_CONST 2", "BINARY_OP 0", "STORE_GLOBAL x",
        "LOAD_GLOBAL print", "LOAD_GLOBAL x", "CALL 1", "POP_TOP", "LOAD_CONST None", "RETURN_VALUE",
    ]
    assert (code.name, code.qualname, code.flags, code.filename) == ("<module>", "<module>", CO_MODULE, "t.src")
    assert code.linetable == ((0, 1), (4, 2))
    assert code.max_stack == 2


def test_hand_built_function_with_closure():
    inner = at(ast.FunctionDef("g", [], [at(ast.Return(at(ast.Name("a"), 3)), 3)]), 2)
    outer = at(ast.FunctionDef("f", [at(ast.Param("a", at(ast.Constant(5), 1)), 1)],
                               [inner, at(ast.Return(at(ast.Name("g"), 4)), 4)]), 1)
    code = compile_module(ast.Module([outer]), "t.src")
    f = nested(code, "f")
    g = nested(code, "f.<locals>.g")
    assert listing(code)[:4] == ["LOAD_CONST (5,)", "LOAD_CONST <code f>", "MAKE_FUNCTION 1", "STORE_GLOBAL f"]
    assert listing(f) == ["LOAD_CLOSURE a", "BUILD_TUPLE 1", "LOAD_CONST <code f.<locals>.g>", "MAKE_FUNCTION 2",
                          "STORE_FAST g", "LOAD_FAST g", "RETURN_VALUE"]
    assert (f.varnames, f.cellvars, f.cell_params, f.argcount) == (("a", "g"), ("a",), (0,), 1)
    assert (g.freevars, g.flags, g.firstlineno) == (("a",), CO_NESTED, 2)
    assert listing(g) == ["LOAD_DEREF a", "RETURN_VALUE"]


def test_hand_built_errors_are_positioned():
    tree = ast.Module([at(ast.Return(None), 3, 5)])
    with pytest.raises(PvmCompileError) as info:
        compile_module(tree, "t.src")
    assert (info.value.message, info.value.filename, info.value.line, info.value.col) == \
        ("'return' outside function", "t.src", 3, 5)
    call = at(ast.Call(at(ast.Name("f"), 1, 1), [at(ast.Constant(2), 1, 9)],
                       [at(ast.Keyword("a", at(ast.Constant(1), 1, 5)), 1, 3)]), 1, 1)
    with pytest.raises(PvmCompileError) as info:
        compile_module(ast.Module([at(ast.ExprStmt(call), 1)]), "t.src")
    assert (info.value.message, info.value.line, info.value.col) == \
        ("positional argument follows keyword argument", 1, 9)


# --- Emission helpers ---

def test_constants_are_deduplicated_by_type_and_value():
    b = CodeBuilder("t.src", 1)
    indexes = [b.add_const(v) for v in (1, 1.0, True, 0.0, -0.0, "1", (1,), (1.0,), (True,), 1, -0.0, (1,))]
    assert indexes == [0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 4, 6]
    assert b.add_name("x") == b.add_name("x") == 0 and b.add_name("y") == 1


def test_max_stack_rejects_broken_code():
    with pytest.raises(AssertionError):
        max_stack([Op.POP_TOP, Op.RETURN_VALUE], [0, 0])                        # underflow
    with pytest.raises(AssertionError):                                          # depth 1 and 2 meet at 4
        max_stack([Op.LOAD_CONST, Op.POP_JUMP_IF_TRUE, Op.LOAD_CONST, Op.LOAD_CONST, Op.RETURN_VALUE],
                  [0, 4, 0, 0, 0])
    with pytest.raises(AssertionError):
        max_stack([Op.LOAD_CONST, Op.COPY], [0, 2])                              # reaches below the stack
    with pytest.raises(AssertionError):
        max_stack([Op.LOAD_CONST], [0])                                          # runs off the end
    assert max_stack([Op.LOAD_CONST, Op.LOAD_CONST, Op.BUILD_TUPLE, Op.RETURN_VALUE], [0, 0, 2, 0]) == 2


# --- Statements ---

def test_assignments():
    assert body("x = y = f(1, b=2)\n") == [
        "LOAD_GLOBAL f", "LOAD_CONST 1", "LOAD_CONST 2", "LOAD_CONST ('b',)", "CALL_KW 2",
        "COPY 1", "STORE_GLOBAL x", "STORE_GLOBAL y"]
    assert body("a, b = b, a\n") == ["LOAD_GLOBAL b", "LOAD_GLOBAL a", "SWAP 2", "STORE_GLOBAL a", "STORE_GLOBAL b"]
    assert body("a, *b, [c, d] = e\n") == [
        "LOAD_GLOBAL e", "UNPACK_EX 257", "STORE_GLOBAL a", "STORE_GLOBAL b",
        "UNPACK_SEQUENCE 2", "STORE_GLOBAL c", "STORE_GLOBAL d"]
    assert body("*a, b, c = e\n")[1] == f"UNPACK_EX {0 | 2 << 8}"
    assert body("o.x, o[i] = v\n") == [
        "LOAD_GLOBAL v", "UNPACK_SEQUENCE 2", "LOAD_GLOBAL o", "STORE_ATTR x",
        "LOAD_GLOBAL o", "LOAD_GLOBAL i", "STORE_SUBSCR"]


def test_augmented_assignment_evaluates_the_target_once():
    assert body("a[i] += v\n") == [
        "LOAD_GLOBAL a", "LOAD_GLOBAL i", "COPY 2", "COPY 2", "BINARY_SUBSCR", "LOAD_GLOBAL v",
        "BINARY_OP 12", "SWAP 3", "SWAP 2", "STORE_SUBSCR"]
    assert body("o.x -= 2\n") == [
        "LOAD_GLOBAL o", "COPY 1", "LOAD_ATTR x", "LOAD_CONST 2", "BINARY_OP 13", "SWAP 2", "STORE_ATTR x"]
    assert body("def f(n):\n    n **= 2\n", "f") == ["LOAD_FAST n", "LOAD_CONST 2", "BINARY_OP 18", "STORE_FAST n"]


def test_if_elif_else():
    assert body("if a:\n    x\nelif b:\n    y\nelse:\n    z\n") == [
        "LOAD_GLOBAL a", "POP_JUMP_IF_FALSE 5", "LOAD_GLOBAL x", "POP_TOP", "JUMP_FORWARD 12",
        "LOAD_GLOBAL b", "POP_JUMP_IF_FALSE 10", "LOAD_GLOBAL y", "POP_TOP", "JUMP_FORWARD 12",
        "LOAD_GLOBAL z", "POP_TOP"]


def test_conditions_compile_to_jumps():
    assert body("if a and not b or c:\n    x\n") == [
        "LOAD_GLOBAL a", "POP_JUMP_IF_FALSE 4", "LOAD_GLOBAL b", "POP_JUMP_IF_FALSE 6",
        "LOAD_GLOBAL c", "POP_JUMP_IF_FALSE 8", "LOAD_GLOBAL x", "POP_TOP"]
    assert body("while True:\n    x\n") == ["LOAD_GLOBAL x", "POP_TOP", "JUMP_BACKWARD 0"]


def test_while_else_with_break_and_continue():
    assert body("while a:\n    if b:\n        break\n    continue\nelse:\n    c\n") == [
        "LOAD_GLOBAL a", "POP_JUMP_IF_FALSE 6", "LOAD_GLOBAL b", "POP_JUMP_IF_FALSE 5",
        "JUMP_FORWARD 8", "JUMP_BACKWARD 0", "LOAD_GLOBAL c", "POP_TOP"]


def test_for_else_break_pops_the_iterator():
    assert body("for x in y:\n    if x:\n        break\nelse:\n    z\n") == [
        "LOAD_GLOBAL y", "GET_ITER", "FOR_ITER 9", "STORE_GLOBAL x", "LOAD_GLOBAL x",
        "POP_JUMP_IF_FALSE 8", "POP_TOP", "JUMP_FORWARD 11", "JUMP_BACKWARD 2", "LOAD_GLOBAL z", "POP_TOP"]
    inner = body("for a in b:\n    for c in d:\n        continue\n")
    assert inner == ["LOAD_GLOBAL b", "GET_ITER", "FOR_ITER 10", "STORE_GLOBAL a", "LOAD_GLOBAL d", "GET_ITER",
                     "FOR_ITER 9", "STORE_GLOBAL c", "JUMP_BACKWARD 6", "JUMP_BACKWARD 2"]


def test_return_assert_del_import():
    assert body("def f():\n    return\n", "f") == []
    assert listing(nested(compile_src("def f(x):\n    return x\n"), "f")) == ["LOAD_FAST x", "RETURN_VALUE"]
    assert body("assert x\n") == ["LOAD_GLOBAL x", "POP_JUMP_IF_TRUE 4", "LOAD_ASSERTION_ERROR", "RAISE_VARARGS 1"]
    assert body("assert x, 'm'\n") == [
        "LOAD_GLOBAL x", "POP_JUMP_IF_TRUE 6", "LOAD_ASSERTION_ERROR", "LOAD_CONST 'm'", "CALL 1",
        "RAISE_VARARGS 1"]
    assert body("del x, a[1], a.b, (c, [d])\n") == [
        "DELETE_GLOBAL x", "LOAD_GLOBAL a", "LOAD_CONST 1", "DELETE_SUBSCR", "LOAD_GLOBAL a", "DELETE_ATTR b",
        "DELETE_GLOBAL c", "DELETE_GLOBAL d"]
    assert body("def f():\n    x = 1\n    del x\n", "f") == ["LOAD_CONST 1", "STORE_FAST x", "DELETE_FAST x"]
    assert body("import m\nimport m as n\nfrom m import a, b as c\n") == [
        "IMPORT_NAME m", "STORE_GLOBAL m", "IMPORT_NAME m", "STORE_GLOBAL n", "IMPORT_NAME m",
        "IMPORT_FROM a", "STORE_GLOBAL a", "IMPORT_FROM b", "STORE_GLOBAL c", "POP_TOP"]
    assert body("def f():\n    import m\n", "f") == ["IMPORT_NAME m", "STORE_FAST m"]


def test_docstrings_and_pass_emit_nothing():
    assert body("def f():\n    'doc'\n    pass\n", "f") == []


def test_code_after_return_is_dropped():
    assert listing(nested(compile_src("def f(x):\n    if x:\n        return 1\n    else:\n        return 2\n    y\n"),
                          "f")) == ["LOAD_FAST x", "POP_JUMP_IF_FALSE 4", "LOAD_CONST 1", "RETURN_VALUE",
                                    "LOAD_CONST 2", "RETURN_VALUE"]
    forever = nested(compile_src("def f():\n    while 1:\n        pass\n"), "f")
    assert listing(forever) == ["JUMP_BACKWARD 0", "LOAD_CONST None", "RETURN_VALUE"]


# --- Expressions ---

def test_operators_and_constant_folding():
    assert body("x = -1, +2.5, ~3, -a, not b\n") == [
        "LOAD_CONST -1", "LOAD_CONST 2.5", "LOAD_CONST -4", "LOAD_GLOBAL a", "UNARY_NEGATIVE",
        "LOAD_GLOBAL b", "UNARY_NOT", "BUILD_TUPLE 5", "STORE_GLOBAL x"]
    assert body("x = (1, (2.0, -3), 'a', None)\n") == ["LOAD_CONST (1, (2.0, -3), 'a', None)", "STORE_GLOBAL x"]
    assert body("x = a - b * c ** d\n") == [
        "LOAD_GLOBAL a", "LOAD_GLOBAL b", "LOAD_GLOBAL c", "LOAD_GLOBAL d", "BINARY_OP 6", "BINARY_OP 2",
        "BINARY_OP 1", "STORE_GLOBAL x"]
    assert body("x = a is not b, a in b, a not in b, a >= b\n")[:12] == [
        "LOAD_GLOBAL a", "LOAD_GLOBAL b", "IS_OP 1", "LOAD_GLOBAL a", "LOAD_GLOBAL b", "CONTAINS_OP 0",
        "LOAD_GLOBAL a", "LOAD_GLOBAL b", "CONTAINS_OP 1", "LOAD_GLOBAL a", "LOAD_GLOBAL b", "COMPARE_OP 5"]


def test_long_operator_chains_do_not_recurse():
    expr: ast.Expr = at(ast.Name("a"), 1)
    for _ in range(5000):
        expr = at(ast.BinOp(expr, "+", at(ast.Name("a"), 1)), 1)
    code = compile_module(ast.Module([at(ast.Assign([at(ast.Name("x"), 1)], expr), 1)]), "t.src")
    assert listing(code).count("BINARY_OP 0") == 5000
    assert code.max_stack == 2


def test_too_deep_nesting_is_a_compile_error():
    expr: ast.Expr = at(ast.Name("a"), 2)
    for _ in range(2000):
        expr = at(ast.UnaryOp("not", expr), 2)
    tree = ast.Module([at(ast.Pass(), 1), at(ast.ExprStmt(expr), 2, 3)])
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(500)
    try:
        with pytest.raises(PvmCompileError) as info:
            compile_module(tree, "t.src")
    finally:
        sys.setrecursionlimit(limit)
    assert info.value.message == "maximum recursion depth exceeded during compilation"


def test_boolean_values_and_conditional_expression():
    assert body("x = a and b or c\n") == [
        "LOAD_GLOBAL a", "JUMP_IF_FALSE_OR_POP 3", "LOAD_GLOBAL b", "JUMP_IF_TRUE_OR_POP 5", "LOAD_GLOBAL c",
        "STORE_GLOBAL x"]
    assert body("x = a if b else c\n") == [
        "LOAD_GLOBAL b", "POP_JUMP_IF_FALSE 4", "LOAD_GLOBAL a", "JUMP_FORWARD 5", "LOAD_GLOBAL c",
        "STORE_GLOBAL x"]


def test_chained_comparison_evaluates_middle_once():
    assert body("x = a < b <= c\n") == [
        "LOAD_GLOBAL a", "LOAD_GLOBAL b", "SWAP 2", "COPY 2", "COMPARE_OP 0", "JUMP_IF_FALSE_OR_POP 9",
        "LOAD_GLOBAL c", "COMPARE_OP 1", "JUMP_FORWARD 11", "SWAP 2", "POP_TOP", "STORE_GLOBAL x"]
    assert body("if a < b < c:\n    x\n") == [
        "LOAD_GLOBAL a", "LOAD_GLOBAL b", "SWAP 2", "COPY 2", "COMPARE_OP 0", "POP_JUMP_IF_FALSE 10",
        "LOAD_GLOBAL c", "COMPARE_OP 0", "POP_JUMP_IF_FALSE 14", "JUMP_FORWARD 12", "POP_TOP",
        "JUMP_FORWARD 14", "LOAD_GLOBAL x", "POP_TOP"]


def test_calls_attributes_subscripts():
    assert body("f(a, k=1)(2)\n") == [
        "LOAD_GLOBAL f", "LOAD_GLOBAL a", "LOAD_CONST 1", "LOAD_CONST ('k',)", "CALL_KW 2", "LOAD_CONST 2",
        "CALL 1", "POP_TOP"]
    assert body("s.join(x).upper()\n") == [
        "LOAD_GLOBAL s", "LOAD_ATTR join", "LOAD_GLOBAL x", "CALL 1", "LOAD_ATTR upper", "CALL 0", "POP_TOP"]
    assert body("x = a[1:2], a[::3], a[i, 1:], a[1, 2]\n")[:18] == [
        "LOAD_GLOBAL a", "LOAD_CONST 1", "LOAD_CONST 2", "BUILD_SLICE 2", "BINARY_SUBSCR",
        "LOAD_GLOBAL a", "LOAD_CONST None", "LOAD_CONST None", "LOAD_CONST 3", "BUILD_SLICE 3", "BINARY_SUBSCR",
        "LOAD_GLOBAL a", "LOAD_GLOBAL i", "LOAD_CONST 1", "LOAD_CONST None", "BUILD_SLICE 2", "BUILD_TUPLE 2",
        "BINARY_SUBSCR"]
    assert body("x = a[1, 2]\n") == ["LOAD_GLOBAL a", "LOAD_CONST (1, 2)", "BINARY_SUBSCR", "STORE_GLOBAL x"]


def test_calls_with_unpacking_build_one_tuple_and_one_dict():
    assert body("f(*a)\n") == ["LOAD_GLOBAL f", "LOAD_GLOBAL a", "CALL_FUNCTION_EX 0", "POP_TOP"]
    assert body("f(**k)\n") == [
        "LOAD_GLOBAL f", "LOAD_CONST ()", "BUILD_MAP 0", "LOAD_GLOBAL k", "DICT_MERGE", "CALL_FUNCTION_EX 1",
        "POP_TOP"]
    assert body("f(1, *a, x=2, *b, **k, y=3)\n") == [
        "LOAD_GLOBAL f", "LOAD_CONST 1", "BUILD_LIST 1", "LOAD_GLOBAL a", "LIST_EXTEND 1", "LOAD_GLOBAL b",
        "LIST_EXTEND 1", "LIST_TO_TUPLE", "LOAD_CONST 'x'", "LOAD_CONST 2", "BUILD_MAP 1", "LOAD_GLOBAL k",
        "DICT_MERGE", "LOAD_CONST 'y'", "LOAD_CONST 3", "BUILD_MAP 1", "DICT_MERGE", "CALL_FUNCTION_EX 1", "POP_TOP"]
    assert body("f(a, b, **k)\n")[:4] == ["LOAD_GLOBAL f", "LOAD_GLOBAL a", "LOAD_GLOBAL b", "BUILD_TUPLE 2"]
    assert body("f(1, 2, x=a, y=b, **k)\n")[:8] == [
        "LOAD_GLOBAL f", "LOAD_CONST (1, 2)", "LOAD_CONST 'x'", "LOAD_GLOBAL a", "LOAD_CONST 'y'", "LOAD_GLOBAL b",
        "BUILD_MAP 2", "LOAD_GLOBAL k"]
    assert body("o.m(*a)\n") == ["LOAD_GLOBAL o", "LOAD_ATTR m", "LOAD_GLOBAL a", "CALL_FUNCTION_EX 0", "POP_TOP"]
    check_well_formed(compile_src("f(*a, *b, **c, **d, e=1)\ng(x=1, *a)\n"))


def test_keyword_only_and_variadic_parameters():
    assert body("def f(a, b=1, *args, c, d=x, **kw):\n    pass\n")[:7] == [
        "LOAD_CONST (1,)", "LOAD_CONST 'd'", "LOAD_GLOBAL x", "BUILD_MAP 1", "LOAD_CONST <code f>",
        "MAKE_FUNCTION 5", "STORE_GLOBAL f"]
    f = nested(compile_src("def f(a, b=1, *args, c, d=2, **kw):\n    e = args\n    return lambda: kw\n"), "f")
    assert (f.varnames, f.argcount, f.kwonlyargcount) == (("a", "b", "c", "d", "args", "kw", "e"), 2, 2)
    assert f.flags == CO_VARARGS | CO_VARKEYWORDS
    assert (f.cellvars, f.cell_params) == (("kw",), (5,))
    lam = nested(compile_src("g = lambda *, n=1, **k: n\n"), "<lambda>")
    assert (lam.varnames, lam.argcount, lam.kwonlyargcount, lam.flags) == (("n", "k"), 0, 1,
                                                                           CO_LAMBDA | CO_VARKEYWORDS)
    assert body("g = lambda *, n=1, **k: n\n")[:5] == [
        "LOAD_CONST 'n'", "LOAD_CONST 1", "BUILD_MAP 1", "LOAD_CONST <code <lambda>>", "MAKE_FUNCTION 4"]


def test_decorators_are_evaluated_first_and_applied_bottom_up():
    source = "@a\n@b.c(1)\ndef f(x=d):\n    pass\n"
    assert body(source) == [
        "LOAD_GLOBAL a", "LOAD_GLOBAL b", "LOAD_ATTR c", "LOAD_CONST 1", "CALL 1", "LOAD_GLOBAL d", "BUILD_TUPLE 1",
        "LOAD_CONST <code f>", "MAKE_FUNCTION 1", "CALL 1", "CALL 1", "STORE_GLOBAL f"]
    code = compile_src(source)
    lines = [code.line_at(i) for i in range(len(code.ops))]
    assert lines[:12] == [1, 2, 2, 2, 2, 3, 3, 3, 3, 2, 1, 3]
    assert nested(code, "f").firstlineno == 1       # CPython's co_firstlineno: the first decorator
    inner = compile_src("def outer(d):\n    @d\n    def g():\n        pass\n    return g\n")
    assert listing(nested(inner, "outer"))[:5] == [
        "LOAD_FAST d", "LOAD_CONST <code outer.<locals>.g>", "MAKE_FUNCTION 0", "CALL 1", "STORE_FAST g"]


def test_displays():
    assert body("x = [a, b], {a}, {a: b}, [], {}\n") == [
        "LOAD_GLOBAL a", "LOAD_GLOBAL b", "BUILD_LIST 2", "LOAD_GLOBAL a", "BUILD_SET 1",
        "LOAD_GLOBAL a", "LOAD_GLOBAL b", "BUILD_MAP 1", "BUILD_LIST 0", "BUILD_MAP 0", "BUILD_TUPLE 5",
        "STORE_GLOBAL x"]
    assert body("x = [1, 2, 3]\n") == ["BUILD_LIST 0", "LOAD_CONST (1, 2, 3)", "LIST_EXTEND 1", "STORE_GLOBAL x"]
    assert body("x = [1, *a, 2]\n") == [
        "LOAD_CONST 1", "BUILD_LIST 1", "LOAD_GLOBAL a", "LIST_EXTEND 1", "LOAD_CONST 2", "LIST_APPEND 1",
        "STORE_GLOBAL x"]
    assert body("x = (*a, b)\n") == [
        "BUILD_LIST 0", "LOAD_GLOBAL a", "LIST_EXTEND 1", "LOAD_GLOBAL b", "LIST_APPEND 1", "LIST_TO_TUPLE",
        "STORE_GLOBAL x"]
    assert body("x = {a, *b}\n") == [
        "LOAD_GLOBAL a", "BUILD_SET 1", "LOAD_GLOBAL b", "SET_UPDATE 1", "STORE_GLOBAL x"]
    assert body("x = {1: 2, **m, 3: 4}\n") == [
        "LOAD_CONST 1", "LOAD_CONST 2", "BUILD_MAP 1", "LOAD_GLOBAL m", "DICT_UPDATE 1", "LOAD_CONST 3",
        "LOAD_CONST 4", "MAP_ADD 1", "STORE_GLOBAL x"]


def test_fstrings():
    assert body("x = f'a{b!r:>{w}}c'\n") == [
        "LOAD_CONST 'a'", "LOAD_GLOBAL b", "LOAD_CONST '>'", "LOAD_GLOBAL w", "FORMAT_VALUE 0", "BUILD_STRING 2",
        "FORMAT_VALUE 6", "LOAD_CONST 'c'", "BUILD_STRING 3", "STORE_GLOBAL x"]
    assert body("x = f'{b}'\n") == ["LOAD_GLOBAL b", "FORMAT_VALUE 0", "STORE_GLOBAL x"]
    assert body("x = f'{b!s:3}', f'{b!a}'\n")[:5] == [
        "LOAD_GLOBAL b", "LOAD_CONST '3'", "FORMAT_VALUE 5", "LOAD_GLOBAL b", "FORMAT_VALUE 3"]


def test_functions_lambdas_and_closures():
    code = compile_src("def f(a, b=1, c=x):\n    def g():\n        nonlocal b\n        b = a\n    return g\n")
    assert body("def f(a, b=1, c=x):\n    pass\n")[:5] == [
        "LOAD_CONST 1", "LOAD_GLOBAL x", "BUILD_TUPLE 2", "LOAD_CONST <code f>", "MAKE_FUNCTION 1"]
    f, g = nested(code, "f"), nested(code, "f.<locals>.g")
    assert listing(f)[:4] == ["LOAD_CLOSURE a", "LOAD_CLOSURE b", "BUILD_TUPLE 2", "LOAD_CONST <code f.<locals>.g>"]
    assert (f.cellvars, f.cell_params, g.freevars) == (("a", "b"), (0, 1), ("a", "b"))
    assert listing(g) == ["LOAD_DEREF a", "STORE_DEREF b", "LOAD_CONST None", "RETURN_VALUE"]
    lam = compile_src("f = lambda x, y=2: x + y\n")
    assert listing(lam)[:3] == ["LOAD_CONST (2,)", "LOAD_CONST <code <lambda>>", "MAKE_FUNCTION 1"]
    inner = nested(lam, "<lambda>")
    assert (inner.name, inner.flags, inner.argcount) == ("<lambda>", CO_LAMBDA, 2)
    assert listing(inner) == ["LOAD_FAST x", "LOAD_FAST y", "BINARY_OP 0", "RETURN_VALUE"]


def test_qualnames():
    code = compile_src("def f():\n    def g():\n        return lambda: [x for x in ()]\n"
                       "    global h\n    def h():\n        pass\n")
    names = {c.qualname: c.name for c in all_codes(code)}
    assert names == {"<module>": "<module>", "f": "f", "f.<locals>.g": "g", "h": "h",
                     "f.<locals>.g.<locals>.<lambda>": "<lambda>",
                     "f.<locals>.g.<locals>.<lambda>.<locals>.<listcomp>": "<listcomp>"}
    comp = compile_src("x = [lambda: y for y in z]\n")
    assert {c.qualname for c in all_codes(comp)} == {"<module>", "<listcomp>", "<listcomp>.<lambda>"}


def test_comprehensions():
    code = compile_src("x = [a * b for a in s if a for b in t if b if a > b]\n")
    assert body("x = [a * b for a in s if a for b in t if b if a > b]\n") == [
        "LOAD_CONST <code <listcomp>>", "MAKE_FUNCTION 0", "LOAD_GLOBAL s", "GET_ITER", "CALL 1", "STORE_GLOBAL x"]
    comp = nested(code, "<listcomp>")
    assert (comp.varnames, comp.argcount, comp.flags) == ((".0", "a", "b"), 1, CO_COMPREHENSION)
    assert listing(comp) == [
        "BUILD_LIST 0", "LOAD_FAST .0", "FOR_ITER 22", "STORE_FAST a", "LOAD_FAST a", "POP_JUMP_IF_FALSE 21",
        "LOAD_GLOBAL t", "GET_ITER", "FOR_ITER 21", "STORE_FAST b", "LOAD_FAST b", "POP_JUMP_IF_FALSE 20",
        "LOAD_FAST a", "LOAD_FAST b", "COMPARE_OP 4", "POP_JUMP_IF_FALSE 20", "LOAD_FAST a", "LOAD_FAST b",
        "BINARY_OP 2", "LIST_APPEND 3", "JUMP_BACKWARD 8", "JUMP_BACKWARD 2", "RETURN_VALUE"]
    dict_comp = nested(compile_src("x = {k: v for k, v in s}\n"), "<dictcomp>")
    assert listing(dict_comp) == [
        "BUILD_MAP 0", "LOAD_FAST .0", "FOR_ITER 10", "UNPACK_SEQUENCE 2", "STORE_FAST k", "STORE_FAST v",
        "LOAD_FAST k", "LOAD_FAST v", "MAP_ADD 2", "JUMP_BACKWARD 2", "RETURN_VALUE"]
    set_comp = nested(compile_src("x = {v for v in s}\n"), "<setcomp>")
    assert listing(set_comp)[:6] == ["BUILD_SET 0", "LOAD_FAST .0", "FOR_ITER 7", "STORE_FAST v", "LOAD_FAST v",
                                     "SET_ADD 2"]


def test_comprehension_closure_in_function():
    code = compile_src("def f(n):\n    return [i + n for i in range(n)]\n")
    f, comp = nested(code, "f"), nested(code, "f.<locals>.<listcomp>")
    assert listing(f) == [
        "LOAD_CLOSURE n", "BUILD_TUPLE 1", "LOAD_CONST <code f.<locals>.<listcomp>>", "MAKE_FUNCTION 2",
        "LOAD_GLOBAL range", "LOAD_DEREF n", "CALL 1", "GET_ITER", "CALL 1", "RETURN_VALUE"]
    assert (comp.freevars, comp.flags) == (("n",), CO_COMPREHENSION | CO_NESTED)


# --- Compile-time errors (CPython's wording and positions) ---

@pytest.mark.parametrize("source, expected", [
    ("x = 1\nreturn x\n", ("'return' outside function", 2, 1)),
    ("if x:\n    break\n", ("'break' outside loop", 2, 5)),
    ("while x:\n    pass\nelse:\n    continue\n", ("'continue' not properly in loop", 4, 5)),
    ("for x in y:\n    def f():\n        break\n", ("'break' outside loop", 3, 9)),
    ("f(a=1, b=2, a=3)\n", ("keyword argument repeated: a", 1, 13)),
    ("a, *b, *c = d\n", ("multiple starred expressions in assignment", 1, 1)),
    ("x = [*a, *b] = d\n", ("multiple starred expressions in assignment", 1, 5)),
    ("x = y = *a, = d\n", None),
    ("x = *a\n", ("can't use starred expression here", 1, 5)),
    ("f(x=1, *a, x=2)\n", ("keyword argument repeated: x", 1, 12)),
    ("f(**k, x=1, **m, x=2)\n", ("keyword argument repeated: x", 1, 18)),
    ("def f(a, *, b, **a):\n    pass\n", ("duplicate argument 'a' in function definition", 1, 18)),
    ("f = lambda *a, a: 0\n", ("duplicate argument 'a' in function definition", 1, 13)),
    ("def f(*, **k):\n    pass\n", ("named arguments must follow bare *", 1, 7)),
    ("def f(**k, a):\n    pass\n", ("arguments cannot follow var-keyword argument", 1, 12)),
    ("a, " * 256 + "*b = c\n", ("too many expressions in star-unpacking assignment", 1, 1)),
    ("".join("    " * i + "for x in y:\n" for i in range(21)) + "    " * 21 + "pass\n",
     ("too many statically nested blocks", 21, 81)),
])
def test_compile_errors(source, expected):
    if expected is None:
        compile_src(source)
    else:
        assert compile_error(source) == expected


@pytest.mark.parametrize("source, expected", [
    ("yield 1\n", ("'yield' outside function", 1, 1)),
    ("class A:\n    x = yield\n", ("'yield' outside function", 2, 9)),
    ("def f():\n    return [(yield x) for x in y]\n", ("'yield' inside list comprehension", 2, 14)),
    ("def f():\n    return ((yield) for x in y)\n", ("'yield' inside generator expression", 2, 14)),
    ("class A:\n    return 1\n", ("'return' outside function", 2, 5)),
    ("try:\n    pass\nfinally:\n    break\n", ("'break' outside loop", 4, 5)),
])
def test_level2_compile_errors_match_cpython(source, expected):
    with pytest.raises(SyntaxError) as info:
        compile(source, "t.src", "exec")
    assert (info.value.msg, info.value.lineno, info.value.offset) == expected
    assert compile_error(source) == expected


def test_twenty_nested_loops_are_fine():
    compile_src("".join("    " * i + "while x:\n" for i in range(20)) + "    " * 20 + "pass\n")


# --- Line numbers ---

def test_linetable_follows_expressions():
    code = compile_src("x = f(\n    a,\n    b)\ny = (o\n     .m())\n")
    lines = [code.line_at(i) for i in range(len(code.ops))]
    assert list(zip(listing(code), lines))[:6] == [
        ("LOAD_GLOBAL f", 1), ("LOAD_GLOBAL a", 2), ("LOAD_GLOBAL b", 3), ("CALL 2", 1), ("STORE_GLOBAL x", 1),
        ("LOAD_GLOBAL o", 4)]
    assert list(zip(listing(code), lines))[6:8] == [("LOAD_ATTR m", 5), ("CALL 0", 5)]
    assert code.linetable[0] == (0, 1)
    assert all(a[0] < b[0] and a[1] != b[1] for a, b in zip(code.linetable, code.linetable[1:]))


def test_function_lines():
    code = compile_src("\n\ndef f():\n    x = 1\n\n    return x\n")
    f = nested(code, "f")
    assert f.firstlineno == 3
    assert f.linetable == ((0, 4), (2, 6))


# --- Every program of the corpus compiles to well-formed code ---

SNIPPETS = [
    "def f(a, b=2):\n    for i in range(a):\n        if i % 2:\n            continue\n        while b:\n"
    "            b -= 1\n            if b == 3:\n                break\n        else:\n            return i\n"
    "    return [x for x in a if x if not x or x > 1 < 2]\n",
    "x = {k: [v for v in w if v] for k, w in d.items() if k and w}\n",
    "def g():\n    return a < b < c if d else (e or f and not g)\n",
    "for a, *b in c:\n    x = f'{a!r:{b}}' if a in b else None\n",
    "@d(*a, **k)\n@e\ndef f(a, *b, c=[x for x in y], **d):\n    return g(*b, c, **d, z=lambda *q, **r: q)\n",
]


@pytest.mark.parametrize("source", SNIPPETS)
def test_snippets_are_well_formed(source):
    check_well_formed(compile_src(source))


def test_program_corpus_is_well_formed():
    parser = pytest.importorskip("lang.parser")
    paths = sorted(glob.glob(os.path.join(PROGRAMS, "*", "*.src")))
    compiled = 0
    for path in paths:
        if os.sep + "compile_errors" + os.sep in path:
            continue
        with open(path, encoding="utf-8") as handle:
            source = handle.read()
        check_well_formed(compile_module(parser.parse(source, path), path))
        compiled += 1
    assert compiled > 0 or not paths


def test_comprehension_filters_jump_forward_to_the_back_edge():
    code = nested(compile_src("r = [x for x in range(9) if x % 2 if x > 2]\n"), "<listcomp>")
    check_well_formed(code)
    assert sum(op == Op.JUMP_BACKWARD for op in code.ops) == 1
