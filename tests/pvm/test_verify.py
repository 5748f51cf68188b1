"""The verifier: one hand-made malformed code object per rejection class, the
compiler's own output accepted, and the rule table covering every opcode."""

from __future__ import annotations

import pytest

from lang import compile_source
from pvm import verify as verify_mod
from pvm.code import CO_VARARGS, CO_VARKEYWORDS, Code
from pvm.opcodes import OPCODES, Flag, Op, Operand
from pvm.pvmc import InvalidBytecode
from pvm.verify import verify

RET = [(Op.LOAD_CONST, 0), Op.RETURN_VALUE]


def make(instrs, *, consts=(None,), names=(), varnames=(), cellvars=(), freevars=(), cell_params=None,
         argcount=0, max_stack=8, qualname="f", linetable=((0, 1),), **extra) -> Code:
    """A code object from ``[(op, arg) or op, ...]``."""
    pairs = [item if isinstance(item, tuple) else (item, 0) for item in instrs]
    return Code(name=qualname, qualname=qualname, filename="t.src", firstlineno=1, argcount=argcount,
                varnames=varnames, cellvars=cellvars, freevars=freevars,
                cell_params=tuple(cell_params if cell_params is not None else [-1] * len(cellvars)),
                names=names, consts=consts, ops=tuple(op for op, _ in pairs), args=tuple(a for _, a in pairs),
                linetable=linetable, max_stack=max_stack, **extra)


def rejected(code: object, *, module: bool = False) -> str:
    with pytest.raises(InvalidBytecode) as info:
        verify(code, "t.pvmc", module=module)
    assert info.value.filename == "t.pvmc"
    return info.value.reason


def module_with(inner: Code, instrs, consts_extra=()) -> Code:
    return make(instrs + RET[:0] + [(Op.LOAD_CONST, 0), Op.RETURN_VALUE], consts=(None, inner, *consts_extra),
                qualname="<module>")


# --- Accepted ---

FEATURES = """
import math
from math import pi as PI, sqrt
g = 0
def outer(a, b=2, c=(1, 2)):
    total = 0
    def inner(x):
        nonlocal total
        total += x * a
        return total
    for i in range(b):
        inner(i)
    return [y for y in range(a) if y % 2], {k: v for k, v in zip("ab", c)}, {z for z in c}, total
def kw(p, q=1):
    global g
    g += 1
    return p - q
x, *rest = outer(3, c=(4, 5))
print(x, rest, kw(q=2, p=1), f"{PI:.2f} {g!r:>4}", sqrt(4) if x else None)
a, b = 1, 2
a, b = b, a
assert a < b or a > b < 3, "msg"
del a
t = (lambda v: v + 1)(1)
def deco(fn):
    return fn
@deco
def variadic(a, *args, k=1, **kw):
    return a, args, k, kw
variadic(*[1, 2], x=3, **{"y": 4})
s = [1, 2, 3][1:2], [*rest, 1], {**{1: 2}}, not t, -t, ~t, t is None, t in [1], t not in (1,)
while t < 5:
    t += 1
    if t == 3:
        continue
    if t == 4:
        break
else:
    pass
"""


def test_compiler_output_is_accepted():
    code = compile_source(FEATURES, "f.src")
    verify(code)
    used = set()

    def collect(c: Code) -> None:
        used.update(int(op) for op in c.ops)
        for const in c.consts:
            if isinstance(const, Code):
                collect(const)

    collect(code)
    assert len(used) >= 45      # the program exercises most of the table


def test_minimal_hand_made_code_is_accepted():
    verify(make(RET), module=True)
    verify(make([(Op.LOAD_FAST, 0), (Op.POP_JUMP_IF_FALSE, 4), *RET, *RET], varnames=("a",), argcount=1),
           module=False)


# --- Fields, types and sizes ---

def test_not_a_code_object():
    assert "expected a code object" in rejected("print(1)")


def test_field_types():
    assert "varnames is not a tuple of str" in rejected(make(RET, varnames=(1,)))
    assert "name is not a str" in rejected(make(RET, qualname=None))
    assert "argcount is not a non-negative int" in rejected(make(RET, argcount=-1))
    assert "unknown code flags" in rejected(make(RET, flags=512))
    assert "CO_DOCSTRING is set but consts[0] is not a str" in rejected(make(RET, flags=256))
    assert "ops and args must be ints" in rejected(make([(Op.LOAD_CONST, "0"), Op.RETURN_VALUE]))


def test_unsupported_constants():
    assert "unsupported constant type list" in rejected(make(RET, consts=([],)))
    assert "unsupported constant type bytes" in rejected(make(RET, consts=(None, (1, b"x"))))
    inner = make(RET, qualname="g")
    assert "code object inside a tuple constant" in rejected(make(RET, consts=(None, (inner,))))


def test_argcount_and_cell_params_fit_the_locals():
    assert "2 parameters exceed the 1 locals" in rejected(make(RET, varnames=("a",), argcount=2))
    assert "2 parameters exceed the 1 locals" in rejected(make(RET, varnames=("a",), flags=CO_VARARGS,
                                                              kwonlyargcount=1))
    assert "3 parameters exceed the 2 locals" in rejected(make(RET, varnames=("a", "b"), argcount=1,
                                                              flags=CO_VARARGS | CO_VARKEYWORDS))
    assert "kwonlyargcount is not a non-negative int" in rejected(make(RET, kwonlyargcount=-1))
    verify(make(RET, varnames=("a", "b", "c", "d"), argcount=1, kwonlyargcount=1, cellvars=("c",),
                cell_params=[3], flags=CO_VARARGS | CO_VARKEYWORDS), module=False)
    assert "cell_params does not match" in rejected(make(RET, cellvars=("c",), cell_params=[]))
    assert "cell_params entry 1" in rejected(make(RET, varnames=("a", "b"), argcount=1, cellvars=("c",),
                                                  cell_params=[1]))


def test_module_code_has_no_locals_or_free_variables():
    verify(make(RET, varnames=("a",)), module=False)
    assert "module code has fast locals" in rejected(make(RET, varnames=("a",)), module=True)
    assert "free variables" in rejected(make(RET, freevars=("a",)), module=True)


def test_bad_linetable():
    assert "bad linetable entry" in rejected(make(RET, linetable=((1, 1), (0, 2))))
    assert "bad linetable entry" in rejected(make(RET, linetable=((0, 1), (5, 2))))
    assert "bad linetable entry" in rejected(make(RET, linetable=((0, -1),)))


def test_sizes_are_bounded(monkeypatch):
    assert "0 instructions" in rejected(make([]))
    assert "max_stack" in rejected(make(RET, max_stack=verify_mod.MAX_STACK + 1))
    monkeypatch.setattr(verify_mod, "MAX_INSTRUCTIONS", 3)
    assert "4 instructions (1 to 3 allowed)" in rejected(make([Op.LOAD_ASSERTION_ERROR, Op.POP_TOP, *RET]))
    monkeypatch.setattr(verify_mod, "MAX_TABLE", 2)
    assert "more than 2 names" in rejected(make(RET, names=("a", "b", "c")))


# --- Opcodes and operands ---

def test_unknown_opcode():
    assert "unknown opcode 250" in rejected(make([(250, 0), *RET]))
    assert "unknown opcode -1" in rejected(make([(-1, 0), *RET]))


@pytest.mark.parametrize("instr, fragment, tables", [
    ((Op.LOAD_CONST, 1), "constant index out of range (1 available)", {}),
    ((Op.LOAD_FAST, 0), "local index out of range (0 available)", {}),
    ((Op.LOAD_DEREF, 2), "cell index out of range (2 available)", {"cellvars": ("c",), "freevars": ("d",)}),
    ((Op.LOAD_GLOBAL, 0), "name index out of range (0 available)", {}),
    ((Op.LOAD_CONST, -1), "operand outside", {}),
    ((Op.LOAD_CONST, 2**31), "operand outside", {}),
])
def test_operand_out_of_range(instr, fragment, tables):
    assert fragment in rejected(make([instr, *RET], **tables))


def test_operator_indexes_in_range():
    two = [(Op.LOAD_CONST, 0), (Op.LOAD_CONST, 0)]
    assert "operator index out of range (24" in rejected(make([*two, (Op.BINARY_OP, 24), *RET]))
    assert "comparison index out of range (6" in rejected(make([*two, (Op.COMPARE_OP, 6), *RET]))


@pytest.mark.parametrize("instrs, fragment", [
    ([(Op.POP_TOP, 1)], "takes no operand"),
    ([(Op.LOAD_CONST, 0), (Op.LOAD_CONST, 0), (Op.IS_OP, 2)], "must be 0 or 1"),
    ([(Op.LOAD_CONST, 0), (Op.LOAD_CONST, 0), (Op.CONTAINS_OP, 3)], "must be 0 or 1"),
    ([(Op.LOAD_CONST, 0), (Op.FORMAT_VALUE, 8)], "flags within 0..7"),
    ([(Op.MAKE_FUNCTION, 8)], "flags within 0..7"),
    ([(Op.LOAD_CONST, 0), (Op.LOAD_CONST, 0), (Op.CALL_FUNCTION_EX, 2)], "must be 0 or 1"),
    ([(Op.LOAD_CONST, 0), (Op.COPY, 0)], "n >= 1"),
    ([(Op.LOAD_CONST, 0), (Op.SWAP, 1)], "n >= 2"),
    ([(Op.LOAD_CONST, 0), (Op.BUILD_SLICE, 1)], "2 or 3"),
    ([(Op.LOAD_CONST, 0), (Op.RAISE_VARARGS, 3)], "must be 0, 1 or 2"),
    ([(Op.BUILD_LIST, 0), (Op.LOAD_CONST, 0), (Op.LIST_APPEND, 0)], "n >= 1"),
])
def test_flag_and_count_operand_domains(instrs, fragment):
    assert fragment in rejected(make([*instrs, *RET]))


def test_import_name_must_be_an_identifier():
    assert "is not a dotted name" in rejected(make([(Op.IMPORT_NAME, 0), *RET], names=("../../etc/x",)))
    assert "is not a dotted name" in rejected(make([(Op.IMPORT_NAME, 0), *RET], names=("a..b",)))


# --- Jumps ---

def test_jump_targets_in_range_and_direction():
    assert "jump target outside the 3 instructions" in rejected(make([(Op.JUMP_FORWARD, 3), *RET]))
    assert "back-edge must jump backwards" in rejected(make([(Op.JUMP_BACKWARD, 1), *RET]))
    assert "only back-edges may jump backwards" in rejected(make([(Op.LOAD_CONST, 0), (Op.JUMP_FORWARD, 0), *RET]))
    looping = [(Op.LOAD_CONST, 0), (Op.POP_JUMP_IF_TRUE, 0), *RET]
    assert "only back-edges may jump backwards" in rejected(make(looping))
    verify(make([(Op.JUMP_FORWARD, 2), (Op.JUMP_BACKWARD, 0), *RET]))   # an infinite loop is valid code


# --- The stack ---

def test_stack_underflow():
    assert "needs 1 values on the stack, has 0" in rejected(make([Op.POP_TOP, *RET]))
    assert "needs 3 values on the stack, has 1" in rejected(make([(Op.LOAD_CONST, 0), (Op.CALL, 2), *RET]))


def test_reaching_below_the_stack():
    assert "needs 3 values" in rejected(make([(Op.LOAD_CONST, 0), (Op.COPY, 3), *RET]))
    assert "needs 2 values" in rejected(make([(Op.LOAD_CONST, 0), (Op.LIST_APPEND, 1), *RET]))


def test_depth_disagrees_at_a_merge_point():
    instrs = [(Op.LOAD_CONST, 0), (Op.POP_JUMP_IF_FALSE, 3), (Op.LOAD_CONST, 0), (Op.LOAD_CONST, 0),
              Op.RETURN_VALUE]
    assert "instruction 3 (LOAD_CONST 0): stack depth 1 on one path, 0 on another" in rejected(make(instrs))


def test_depth_above_max_stack():
    assert "stack depth 2 exceeds max_stack 1" in rejected(
        make([(Op.LOAD_CONST, 0), (Op.LOAD_CONST, 0), Op.POP_TOP, Op.RETURN_VALUE], max_stack=1))
    jumped = [Op.BUILD_LIST, (Op.GET_ITER, 0), (Op.FOR_ITER, 4), (Op.JUMP_BACKWARD, 2), *RET]
    assert "exceeds max_stack 1" in rejected(make(jumped, max_stack=1))


def test_every_path_ends_in_return_or_raise():
    assert "control falls off the end" in rejected(make([(Op.LOAD_CONST, 0)]))
    branch = [(Op.LOAD_CONST, 0), (Op.POP_JUMP_IF_FALSE, 4), *RET, (Op.LOAD_CONST, 0), Op.POP_TOP]
    assert "instruction 5 (POP_TOP 0): control falls off" in rejected(make(branch))
    verify(make([Op.LOAD_ASSERTION_ERROR, (Op.RAISE_VARARGS, 1)]))


def test_unreachable_code_still_needs_valid_operands():
    verify(make([*RET, (Op.POP_TOP, 0)]))   # dead code is allowed (it never runs)...
    assert "constant index" in rejected(make([*RET, (Op.LOAD_CONST, 9)]))   # ...but is pre-decoded


def test_too_complex_to_verify(monkeypatch):
    monkeypatch.setattr(verify_mod._Flow, "spend", lambda self, steps: (_ for _ in ()).throw(
        InvalidBytecode("f: too complex to verify")))
    assert "too complex" in rejected(make(RET))


# --- Values that are not script values ---

def test_cell_must_not_escape():
    assert "uses an internal value (cell)" in rejected(
        make([(Op.LOAD_CLOSURE, 0), Op.RETURN_VALUE], cellvars=("c",)))
    assert "uses an internal value (cell)" in rejected(
        make([(Op.LOAD_CLOSURE, 0), (Op.STORE_FAST, 0), *RET], cellvars=("c",), varnames=("v",)))
    assert "mixing cells or code with values" in rejected(
        make([(Op.LOAD_CLOSURE, 0), (Op.LOAD_CONST, 0), (Op.BUILD_TUPLE, 2), Op.RETURN_VALUE], cellvars=("c",)))


def test_code_constant_must_only_go_to_make_function():
    inner = make(RET, qualname="g")
    assert "uses an internal value (code)" in rejected(make([(Op.LOAD_CONST, 1), Op.RETURN_VALUE],
                                                            consts=(None, inner)))
    assert "needs a code constant" in rejected(make([(Op.LOAD_CONST, 0), (Op.MAKE_FUNCTION, 0), *RET]))


def test_closure_must_match_the_free_variables():
    inner = make([(Op.LOAD_DEREF, 0), Op.RETURN_VALUE], freevars=("x",), qualname="g")
    make_closure = [(Op.LOAD_CLOSURE, 0), (Op.BUILD_TUPLE, 1), (Op.LOAD_CONST, 1), (Op.MAKE_FUNCTION, 2),
                    Op.RETURN_VALUE]
    verify(make(make_closure, consts=(None, inner), cellvars=("x",)))
    assert "0 closure cells for a function with 1 free variables" in rejected(
        make([(Op.LOAD_CONST, 1), (Op.MAKE_FUNCTION, 0), Op.RETURN_VALUE], consts=(None, inner)))
    two = make([(Op.LOAD_DEREF, 1), Op.RETURN_VALUE], freevars=("x", "y"), qualname="g")
    assert "1 closure cells for a function with 2 free variables" in rejected(
        make(make_closure, consts=(None, two), cellvars=("x",)))
    assert "needs a tuple of cells" in rejected(
        make([(Op.LOAD_CONST, 0), (Op.LOAD_CONST, 1), (Op.MAKE_FUNCTION, 2), Op.RETURN_VALUE],
             consts=(None, inner)))


def test_defaults_must_be_a_tuple():
    inner = make(RET, varnames=("a",), argcount=1, qualname="g")
    good = [(Op.LOAD_CONST, 2), (Op.LOAD_CONST, 1), (Op.MAKE_FUNCTION, 1), Op.RETURN_VALUE]
    verify(make(good, consts=(None, inner, (1,))))
    assert "needs a tuple of defaults" in rejected(make(good, consts=(None, inner, 1)))
    assert "2 defaults for 1 parameters" in rejected(make(good, consts=(None, inner, (1, 2))))
    built = [(Op.LOAD_CONST, 0), (Op.LOAD_CONST, 0), (Op.BUILD_TUPLE, 2), *good[1:]]
    assert "2 defaults for 1 parameters" in rejected(make(built, consts=(None, inner)))


def test_keyword_only_defaults_must_be_a_dict_built_for_them():
    inner = make(RET, varnames=("a",), kwonlyargcount=1, qualname="g")
    good = [(Op.LOAD_CONST, 2), (Op.LOAD_CONST, 0), (Op.BUILD_MAP, 1), (Op.LOAD_CONST, 1), (Op.MAKE_FUNCTION, 4),
            Op.RETURN_VALUE]
    verify(make(good, consts=(None, inner, "a")))
    not_a_map = [(Op.LOAD_CONST, 2), (Op.LOAD_CONST, 1), (Op.MAKE_FUNCTION, 4), Op.RETURN_VALUE]
    assert "dict of keyword-only defaults" in rejected(make(not_a_map, consts=(None, inner, "a")))
    both = [(Op.LOAD_CONST, 3), (Op.BUILD_MAP, 0), (Op.LOAD_CONST, 1), (Op.MAKE_FUNCTION, 5), Op.RETURN_VALUE]
    assert "2 defaults for 0 parameters" in rejected(make(both, consts=(None, inner, "a", (1, 2))))


def test_call_function_ex_keywords_are_a_dict_merged_under_the_callee():
    def call(*keywords):
        return make([(Op.LOAD_GLOBAL, 0), (Op.LOAD_CONST, 1), *keywords, Op.RETURN_VALUE],
                    names=("f",), consts=(None, ()))
    verify(call((Op.BUILD_MAP, 0), (Op.LOAD_GLOBAL, 0), Op.DICT_MERGE, (Op.CALL_FUNCTION_EX, 1)))
    verify(call((Op.CALL_FUNCTION_EX, 0)))
    assert "dict of keywords" in rejected(call((Op.LOAD_GLOBAL, 0), (Op.CALL_FUNCTION_EX, 1)))
    assert "dict of keywords" in rejected(call((Op.BUILD_LIST, 0), (Op.CALL_FUNCTION_EX, 1)))
    assert "keyword dict under the mapping" in rejected(call((Op.BUILD_LIST, 0), (Op.LOAD_GLOBAL, 0),
                                                             Op.DICT_MERGE, (Op.CALL_FUNCTION_EX, 1)))
    assert "needs 4 values" in rejected(make([(Op.BUILD_MAP, 0), (Op.BUILD_MAP, 0), Op.DICT_MERGE, *RET]))
    cell_callee = make([(Op.LOAD_CLOSURE, 0), (Op.LOAD_CONST, 1), (Op.BUILD_MAP, 0), (Op.BUILD_MAP, 0),
                        Op.DICT_MERGE, (Op.CALL_FUNCTION_EX, 1), Op.RETURN_VALUE],
                       consts=(None, ()), cellvars=("c",))
    assert "keyword dict under the mapping" in rejected(cell_callee)


def test_call_kw_names_are_a_constant_tuple_of_distinct_strs():
    def call(names_instr, nargs, consts):
        return make([(Op.LOAD_GLOBAL, 0), (Op.LOAD_CONST, 0), names_instr, (Op.CALL_KW, nargs), Op.RETURN_VALUE],
                    names=("f",), consts=consts)
    verify(call((Op.LOAD_CONST, 1), 1, (None, ("a",))))
    assert "constant tuple of str" in rejected(call((Op.LOAD_GLOBAL, 0), 1, (None,)))
    assert "constant tuple of str" in rejected(call((Op.LOAD_CONST, 1), 1, (None, (1,))))
    assert "2 keyword names for 1 arguments" in rejected(
        make([(Op.LOAD_GLOBAL, 0), (Op.LOAD_CONST, 0), (Op.LOAD_CONST, 1), (Op.CALL_KW, 1), Op.RETURN_VALUE],
             names=("f",), consts=(None, ("a", "b"))))
    assert "a name repeated" in rejected(
        make([(Op.LOAD_GLOBAL, 0), (Op.LOAD_CONST, 0), (Op.LOAD_CONST, 0), (Op.LOAD_CONST, 1), (Op.CALL_KW, 2),
              Op.RETURN_VALUE], names=("f",), consts=(None, ("a", "a"))))


def test_import_from_needs_a_module():
    assert "IMPORT_FROM needs a module" in rejected(
        make([(Op.LOAD_CONST, 0), (Op.IMPORT_FROM, 0), Op.POP_TOP, Op.RETURN_VALUE], names=("x",)))


def test_paths_must_agree_on_internal_values():
    instrs = [(Op.LOAD_CONST, 0), (Op.POP_JUMP_IF_FALSE, 4), (Op.LOAD_CLOSURE, 0), (Op.JUMP_FORWARD, 5),
              (Op.LOAD_CONST, 0), Op.POP_TOP, *RET]
    assert "paths disagree on an internal value" in rejected(make(instrs, cellvars=("c",)))


def test_merged_values_lose_their_refinement():
    # a kwnames constant on one path and a global on the other is no kwnames tuple any more
    instrs = [(Op.LOAD_GLOBAL, 0), (Op.LOAD_CONST, 0), (Op.LOAD_CONST, 0), (Op.POP_JUMP_IF_FALSE, 6),
              (Op.LOAD_CONST, 1), (Op.JUMP_FORWARD, 7), (Op.LOAD_GLOBAL, 0), (Op.CALL_KW, 1), Op.RETURN_VALUE]
    assert "constant tuple of str" in rejected(make(instrs, names=("f",), consts=(None, ("a",))))


# --- Nested code ---

def test_nested_code_is_verified_as_a_function():
    bad = make([Op.POP_TOP, *RET], qualname="outer.<locals>.g")
    assert rejected(module_with(bad, []), module=True).startswith("outer.<locals>.g: instruction 0")
    with_locals = make([(Op.LOAD_FAST, 0), Op.RETURN_VALUE], varnames=("a",), argcount=1, qualname="g")
    verify(module_with(with_locals, []), module=True)


def test_nesting_is_bounded_and_acyclic():
    code = make(RET, qualname="leaf")
    for _ in range(verify_mod.MAX_NESTING + 1):
        code = make(RET, consts=(None, code))
    assert "nested more than" in rejected(code)
    loop = make(RET, consts=[None])      # a list, to tie the knot below; a tuple afterwards
    loop.consts = (None, loop)
    assert "contains itself" in rejected(loop)


def test_errors_show_names_safely():
    reason = rejected(make([Op.POP_TOP, *RET], qualname="\x1b[31mred" + "x" * 100))
    assert "\x1b" not in reason and len(reason) < 200


# --- The rule table ---

def test_every_opcode_has_a_verifier_rule():
    samples = (0, 1, 2, 3, 7, 258)
    for info in OPCODES:
        if info.flags & Flag.SUPER:
            assert "made by the interpreter" in rejected(make([info.number, *RET])), info.name
            continue
        assert info.number in verify_mod._READS, f"{info.name} has no verifier rule"
        for n in samples:
            reads = verify_mod._READS[info.number](n)
            assert reads + info.effect(n) >= 0, info.name
            if info.jump_effect is not None:
                assert reads + info.jump_effect(n) >= 0, info.name
        if info.operand is Operand.FLAG:
            assert info.number in verify_mod._ARG_RULES, f"{info.name}: flag operand without a domain"


# --- Exception tables and generators ---

def test_exception_table_entries_are_checked():
    body = [(Op.LOAD_CONST, 0), Op.POP_TOP, (Op.LOAD_CONST, 0), Op.RETURN_VALUE, Op.POP_TOP,
            (Op.LOAD_CONST, 0), Op.RETURN_VALUE]
    assert verify(make(body, exception_table=((0, 2, 4, 0),))) is None
    assert "bad exception table entry" in rejected(make(body, exception_table=((0, 9, 4, 0),)))
    assert "bad exception table entry" in rejected(make(body, exception_table=((2, 1, 4, 0),)))
    assert "bad exception table entry" in rejected(make(body, exception_table=((0, 2, 4, 0), (1, 3, 4, 0))))
    assert "bad exception table entry" in rejected(make(body, exception_table=((0, 2, 99, 0),)))


def test_a_handler_is_a_path_with_the_stack_cut_to_its_depth():
    # the handler at 4 is entered with depth 2 + the exception: its RETURN_VALUE leaves junk, which is fine,
    # but a handler that keeps more values than the stack has at a covered instruction is refused
    body = [(Op.LOAD_CONST, 0), Op.POP_TOP, (Op.LOAD_CONST, 0), Op.RETURN_VALUE, Op.POP_TOP,
            (Op.LOAD_CONST, 0), Op.RETURN_VALUE]
    assert "handler keeps 2 stack values, the stack has 0" in rejected(make(body, exception_table=((0, 1, 4, 2),)))
    # the handler's own stack effects are checked like any path: here it pops below its entry depth
    underflow = [(Op.LOAD_CONST, 0), Op.POP_TOP, (Op.LOAD_CONST, 0), Op.RETURN_VALUE, Op.POP_TOP, Op.POP_TOP,
                 (Op.LOAD_CONST, 0), Op.RETURN_VALUE]
    assert "needs 1 values on the stack, has 0" in rejected(make(underflow, exception_table=((0, 1, 4, 0),)))


def test_yield_only_in_generators():
    body = [(Op.LOAD_CONST, 0), Op.YIELD_VALUE, Op.RETURN_VALUE]
    assert "YIELD_VALUE outside a generator" in rejected(make(body))
    assert verify(make(body, flags=verify_mod.CO_GENERATOR)) is None
