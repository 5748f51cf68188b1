"""The opcode table: the single source of truth for pvm's bytecode.

Every instruction is one ``(op, arg)`` pair; ``arg`` is an int whose meaning is
given by the row's operand kind (``NONE`` instructions carry 0). Jump operands
are absolute instruction indexes. The compiler's max-stack computation, the
interpreter's pre-decoder, the disassembler and the tests all read these rows,
so adding an opcode means adding a row here first.

Stack effects are written as ``(fallthrough, jumped)`` expressions of ``n``
(the operand); ``jumped`` is ``None`` for instructions that never jump.
"""

from __future__ import annotations

import enum
from typing import Callable, NamedTuple


class Operand(enum.Enum):
    """What an instruction's integer operand indexes or means."""

    NONE = "none"        # no operand (arg is 0)
    CONST = "const"      # index into code.consts
    LOCAL = "local"      # index into code.varnames (fast locals)
    CELL = "cell"        # index into code.cellvars + code.freevars
    NAME = "name"        # index into code.names (globals, attributes, modules)
    JUMP = "jump"        # absolute instruction index
    COUNT = "count"      # a small count (items, arguments)
    BINOP = "binop"      # index into BINARY_OPERATORS
    CMPOP = "cmpop"      # index into COMPARE_OPERATORS
    FLAG = "flag"        # a small bit set, documented per row
    PAIR = "pair"        # a superinstruction's two resolved operands (quickened lists only)


class Flag(enum.IntFlag):
    NONE = 0
    JUMP = 1             # may transfer control to its JUMP operand
    TERMINATOR = 2       # control never falls through (return, raise, unconditional jump)
    MAY_RAISE = 4        # may raise a script-visible exception
    CALL = 8             # may run script code (a call)
    BACKEDGE = 16        # a loop back-edge: counted for OSR, checked for fuel
    SUPER = 32           # a superinstruction: made by the pre-decoder, never in a code object


class OpInfo(NamedTuple):
    name: str
    number: int
    operand: Operand
    effect: Callable[[int], int]                 # stack effect when falling through
    jump_effect: Callable[[int], int] | None     # stack effect when the jump is taken
    flags: Flag
    doc: str


_R = Flag.MAY_RAISE
_ROWS: list[tuple[str, Operand, Callable[[int], int], Callable[[int], int] | None, Flag, str]] = [
    # --- Stack manipulation ---
    ("POP_TOP", Operand.NONE, lambda n: -1, None, Flag.NONE, "pop TOS"),
    ("COPY", Operand.COUNT, lambda n: 1, None, Flag.NONE, "push S[-n] (n >= 1)"),
    ("SWAP", Operand.COUNT, lambda n: 0, None, Flag.NONE, "swap TOS and S[-n] (n >= 2)"),
    # --- Loads and stores ---
    ("LOAD_CONST", Operand.CONST, lambda n: 1, None, Flag.NONE, "push consts[n]"),
    ("LOAD_FAST", Operand.LOCAL, lambda n: 1, None, _R, "push locals[n]; UnboundLocalError if unset"),
    ("STORE_FAST", Operand.LOCAL, lambda n: -1, None, Flag.NONE, "locals[n] := pop"),
    ("DELETE_FAST", Operand.LOCAL, lambda n: 0, None, _R, "unset locals[n]; UnboundLocalError if unset"),
    ("LOAD_DEREF", Operand.CELL, lambda n: 1, None, _R, "push cells[n].value; NameError if empty"),
    ("STORE_DEREF", Operand.CELL, lambda n: -1, None, Flag.NONE, "cells[n].value := pop"),
    ("DELETE_DEREF", Operand.CELL, lambda n: 0, None, _R, "empty cells[n]; NameError if empty"),
    ("LOAD_CLOSURE", Operand.CELL, lambda n: 1, None, Flag.NONE, "push the cell object cells[n]"),
    ("LOAD_GLOBAL", Operand.NAME, lambda n: 1, None, _R, "push globals[names[n]] or builtins[names[n]]; NameError"),
    ("STORE_GLOBAL", Operand.NAME, lambda n: -1, None, Flag.NONE, "globals[names[n]] := pop"),
    ("DELETE_GLOBAL", Operand.NAME, lambda n: 0, None, _R, "del globals[names[n]]; NameError if unset"),
    ("LOAD_ATTR", Operand.NAME, lambda n: 0, None, _R, "TOS := getattr(TOS, names[n]) by pvm's attribute rules"),
    ("STORE_ATTR", Operand.NAME, lambda n: -2, None, _R, "obj := pop; setattr(obj, names[n], pop)"),
    ("DELETE_ATTR", Operand.NAME, lambda n: -1, None, _R, "delattr(pop, names[n])"),
    ("BINARY_SUBSCR", Operand.NONE, lambda n: -1, None, _R, "key := pop; TOS := TOS[key]"),
    ("STORE_SUBSCR", Operand.NONE, lambda n: -3, None, _R, "key, obj, value := pop, pop, pop; obj[key] := value"),
    ("DELETE_SUBSCR", Operand.NONE, lambda n: -2, None, _R, "key, obj := pop, pop; del obj[key]"),
    # --- Operators ---
    ("BINARY_OP", Operand.BINOP, lambda n: -1, None, _R, "b := pop; TOS := TOS <BINARY_OPERATORS[n]> b"),
    ("UNARY_NEGATIVE", Operand.NONE, lambda n: 0, None, _R, "TOS := -TOS"),
    ("UNARY_POSITIVE", Operand.NONE, lambda n: 0, None, _R, "TOS := +TOS"),
    ("UNARY_INVERT", Operand.NONE, lambda n: 0, None, _R, "TOS := ~TOS"),
    ("UNARY_NOT", Operand.NONE, lambda n: 0, None, Flag.NONE, "TOS := not TOS"),
    ("COMPARE_OP", Operand.CMPOP, lambda n: -1, None, _R, "b := pop; TOS := TOS <COMPARE_OPERATORS[n]> b"),
    ("IS_OP", Operand.FLAG, lambda n: -1, None, Flag.NONE, "b := pop; TOS := TOS is b (n=1: is not)"),
    ("CONTAINS_OP", Operand.FLAG, lambda n: -1, None, _R, "b := pop; TOS := TOS in b (n=1: not in)"),
    # --- Control flow ---
    ("JUMP_FORWARD", Operand.JUMP, lambda n: 0, lambda n: 0, Flag.JUMP | Flag.TERMINATOR, "pc := n (n > pc)"),
    ("JUMP_BACKWARD", Operand.JUMP, lambda n: 0, lambda n: 0,
     Flag.JUMP | Flag.TERMINATOR | Flag.BACKEDGE, "pc := n (n <= pc); a loop back-edge"),
    ("POP_JUMP_IF_FALSE", Operand.JUMP, lambda n: -1, lambda n: -1, Flag.JUMP, "if not pop: pc := n"),
    ("POP_JUMP_IF_TRUE", Operand.JUMP, lambda n: -1, lambda n: -1, Flag.JUMP, "if pop: pc := n"),
    ("JUMP_IF_FALSE_OR_POP", Operand.JUMP, lambda n: -1, lambda n: 0, Flag.JUMP,
     "if not TOS: pc := n (keep TOS) else pop"),
    ("JUMP_IF_TRUE_OR_POP", Operand.JUMP, lambda n: -1, lambda n: 0, Flag.JUMP,
     "if TOS: pc := n (keep TOS) else pop"),
    ("GET_ITER", Operand.NONE, lambda n: 0, None, _R, "TOS := iter(TOS)"),
    ("FOR_ITER", Operand.JUMP, lambda n: 1, lambda n: -1, Flag.JUMP | _R | Flag.CALL,
     "push next(TOS); on exhaustion pop the iterator and pc := n"),
    ("RETURN_VALUE", Operand.NONE, lambda n: -1, None, Flag.TERMINATOR, "return pop to the caller"),
    ("RAISE_VARARGS", Operand.COUNT, lambda n: -n, None, Flag.TERMINATOR | _R,
     "n=0: re-raise the exception being handled; n=1: raise pop (a class is instantiated); "
     "n=2: cause := pop, raise pop from cause"),
    ("LOAD_ASSERTION_ERROR", Operand.NONE, lambda n: 1, None, Flag.NONE, "push AssertionError"),
    # --- Calls and functions ---
    ("CALL", Operand.COUNT, lambda n: -n, None, _R | Flag.CALL,
     "args := pop n; f := pop; push f(*args)"),
    ("CALL_KW", Operand.COUNT, lambda n: -n - 1, None, _R | Flag.CALL,
     "names := pop (tuple of str, the last len(names) args are keywords); args := pop n; f := pop; push f(...)"),
    ("MAKE_FUNCTION", Operand.FLAG, lambda n: -bin(n).count("1"), None, Flag.NONE,
     "code := pop; n&2: closure tuple := pop; n&4: kwdefaults dict := pop; n&1: defaults tuple := pop; "
     "push function"),
    # --- Containers ---
    ("BUILD_TUPLE", Operand.COUNT, lambda n: 1 - n, None, Flag.NONE, "push tuple(pop n)"),
    ("BUILD_LIST", Operand.COUNT, lambda n: 1 - n, None, Flag.NONE, "push list(pop n)"),
    ("BUILD_SET", Operand.COUNT, lambda n: 1 - n, None, _R, "push set(pop n)"),
    ("BUILD_MAP", Operand.COUNT, lambda n: 1 - 2 * n, None, _R, "push dict of n (key, value) pairs popped"),
    ("BUILD_SLICE", Operand.COUNT, lambda n: 1 - n, None, Flag.NONE, "push slice(pop n) (n = 2 or 3)"),
    ("BUILD_STRING", Operand.COUNT, lambda n: 1 - n, None, Flag.NONE, "push ''.join(pop n)"),
    ("LIST_APPEND", Operand.COUNT, lambda n: -1, None, Flag.NONE, "v := pop; S[-n].append(v)"),
    ("SET_ADD", Operand.COUNT, lambda n: -1, None, _R, "v := pop; S[-n].add(v)"),
    ("MAP_ADD", Operand.COUNT, lambda n: -2, None, _R, "v := pop; k := pop; S[-n][k] := v"),
    ("LIST_EXTEND", Operand.COUNT, lambda n: -1, None, _R, "v := pop; S[-n].extend(v)"),
    ("SET_UPDATE", Operand.COUNT, lambda n: -1, None, _R, "v := pop; S[-n].update(v)"),
    ("DICT_UPDATE", Operand.COUNT, lambda n: -1, None, _R, "v := pop; S[-n].update(v) (mapping only)"),
    ("LIST_TO_TUPLE", Operand.NONE, lambda n: 0, None, Flag.NONE, "TOS := tuple(TOS)"),
    ("UNPACK_SEQUENCE", Operand.COUNT, lambda n: n - 1, None, _R,
     "seq := pop; push its n items, last first (so item 0 ends on top)"),
    ("UNPACK_EX", Operand.COUNT, lambda n: (n & 0xFF) + (n >> 8), None, _R,
     "seq := pop; n = before | after << 8; push after items, a list of the rest, before items, reversed"),
    # --- Strings ---
    ("FORMAT_VALUE", Operand.FLAG, lambda n: -1 if n & 4 else 0, None, _R,
     "n&3: conversion (0 none, 1 str, 2 repr, 3 ascii); n&4: spec := pop; TOS := format(conv(TOS), spec)"),
    # --- Modules ---
    ("IMPORT_NAME", Operand.NAME, lambda n: 1, None, _R | Flag.CALL,
     "push the module names[n] (leading dots: relative), loading it and its packages once"),
    ("IMPORT_FROM", Operand.NAME, lambda n: 1, None, _R | Flag.CALL,
     "push TOS's attribute names[n], else its submodule names[n]; ImportError if neither"),
    # --- Class bodies ---
    ("LOAD_NAME", Operand.NAME, lambda n: 1, None, _R,
     "push names[n] from the class namespace, else globals, else builtins; NameError"),
    ("STORE_NAME", Operand.NAME, lambda n: -1, None, Flag.NONE, "namespace[names[n]] := pop"),
    ("DELETE_NAME", Operand.NAME, lambda n: 0, None, _R, "del namespace[names[n]]; NameError if unset"),
    ("BUILD_CLASS", Operand.COUNT, lambda n: -n - 1, None, _R | Flag.CALL,
     "bases := pop n; name := pop; body := pop; run body in a new namespace; push the class"),
    # --- Exceptions (handlers come from Code.exception_table) ---
    ("PUSH_EXC_INFO", Operand.NONE, lambda n: 1, None, Flag.NONE,
     "exc := pop; push the exception being handled; push exc; exc is now the one being handled"),
    ("POP_EXCEPT", Operand.NONE, lambda n: -1, None, Flag.NONE, "the exception being handled := pop"),
    ("CHECK_EXC_MATCH", Operand.NONE, lambda n: 0, None, _R,
     "t := pop; push isinstance(TOS, t) (t a class or tuple of classes deriving from BaseException)"),
    ("RERAISE", Operand.NONE, lambda n: -1, None, Flag.TERMINATOR | _R,
     "raise pop again, its traceback unchanged"),
    # --- Generators ---
    ("YIELD_VALUE", Operand.NONE, lambda n: 0, None, Flag.NONE,
     "suspend the generator, handing pop to its consumer; resumed, push None"),
    ("SEND", Operand.JUMP, lambda n: 1, lambda n: 0, Flag.JUMP | _R | Flag.CALL,
     "yield from: push next(TOS); when TOS is exhausted replace it by its return value and pc := n"),
    # --- Calls with * and ** unpacking (the stack is f, positional tuple, keyword dict) ---
    ("DICT_MERGE", Operand.NONE, lambda n: -1, None, _R,
     "m := pop; add mapping m's items to the dict TOS, a repeated key being an error that names S[-3]"),
    ("CALL_FUNCTION_EX", Operand.FLAG, lambda n: -1 - (n & 1), None, _R | Flag.CALL,
     "n&1: kwargs dict := pop; args := pop (an iterable, made a tuple); f := pop; push f(*args, **kwargs)"),
    # --- Level 3 ---
    ("IMPORT_STAR", Operand.NONE, lambda n: -1, None, _R | Flag.CALL,
     "m := pop; bind m's names in __all__ (else its public names) in the module namespace"),
    ("BEFORE_WITH", Operand.NONE, lambda n: 1, None, _R | Flag.CALL,
     "m := pop; push m's bound __exit__; push m.__enter__()"),
    ("WITH_EXCEPT_START", Operand.NONE, lambda n: 1, None, _R | Flag.CALL,
     "push S[-3](type(TOS), TOS, None): [exit, prev exc, exc] -> exit called with exc"),
]

# --- Superinstructions (tier 0 only) ---
# Two adjacent instructions the pre-decoder (pvm.frames.quicken) fuses into one
# dispatch, chosen from the dynamic pair frequencies bench/pair_frequencies.py
# measures over bench/ and tests/programs. The fused form replaces the first
# instruction of the pair in the quickened list only; the second stays in place,
# so a jump to it still works. Code objects, .pvmc files and the verifier never
# see them; the JIT reads code.decoded, which never holds them.
SUPERINSTRUCTIONS: dict[str, tuple[str, str]] = {
    "LOAD_FAST__LOAD_FAST": ("LOAD_FAST", "LOAD_FAST"),
    "LOAD_FAST__LOAD_CONST": ("LOAD_FAST", "LOAD_CONST"),
    "LOAD_FAST__LOAD_ATTR": ("LOAD_FAST", "LOAD_ATTR"),
    "LOAD_FAST__BINARY_OP": ("LOAD_FAST", "BINARY_OP"),
    "LOAD_CONST__BINARY_OP": ("LOAD_CONST", "BINARY_OP"),
    "BINARY_OP__STORE_FAST": ("BINARY_OP", "STORE_FAST"),
    "STORE_FAST__LOAD_FAST": ("STORE_FAST", "LOAD_FAST"),
    "COMPARE_OP__POP_JUMP_IF_FALSE": ("COMPARE_OP", "POP_JUMP_IF_FALSE"),
}


def _fused_row(name: str, parts: tuple[str, str]) -> tuple[str, Operand, Callable[[int], int],
                                                            Callable[[int], int] | None, Flag, str]:
    first, second = (next(row for row in _ROWS if row[0] == part) for part in parts)
    effect = first[2](0) + second[2](0)          # every fused part has a constant effect
    jump = None if second[3] is None else first[2](0) + second[3](0)
    return (name, Operand.PAIR, lambda n: effect, None if jump is None else (lambda n: jump),
            first[4] | second[4] | Flag.SUPER, f"{parts[0]}; {parts[1]} in one dispatch (tier 0)")


_ROWS += [_fused_row(name, parts) for name, parts in SUPERINSTRUCTIONS.items()]

Op = enum.IntEnum("Op", [(row[0], number) for number, row in enumerate(_ROWS)])  # type: ignore[misc]

OPCODES: tuple[OpInfo, ...] = tuple(
    OpInfo(name, number, operand, effect, jump_effect, flags, doc)
    for number, (name, operand, effect, jump_effect, flags, doc) in enumerate(_ROWS)
)

# Binary operators: (symbol, name of the operator-module function). In-place
# forms keep their own rows because `a += b` mutates lists where `a = a + b`
# does not.
BINARY_OPERATORS: tuple[tuple[str, str], ...] = (
    ("+", "add"), ("-", "sub"), ("*", "mul"), ("/", "truediv"), ("//", "floordiv"),
    ("%", "mod"), ("**", "pow"), ("<<", "lshift"), (">>", "rshift"), ("&", "and_"),
    ("|", "or_"), ("^", "xor"),
    ("+=", "iadd"), ("-=", "isub"), ("*=", "imul"), ("/=", "itruediv"), ("//=", "ifloordiv"),
    ("%=", "imod"), ("**=", "ipow"), ("<<=", "ilshift"), (">>=", "irshift"), ("&=", "iand"),
    ("|=", "ior"), ("^=", "ixor"),
)
BINARY_OPERATOR_INDEX: dict[str, int] = {sym: i for i, (sym, _) in enumerate(BINARY_OPERATORS)}

COMPARE_OPERATORS: tuple[tuple[str, str], ...] = (
    ("<", "lt"), ("<=", "le"), ("==", "eq"), ("!=", "ne"), (">", "gt"), (">=", "ge"),
)
COMPARE_OPERATOR_INDEX: dict[str, int] = {sym: i for i, (sym, _) in enumerate(COMPARE_OPERATORS)}

# MAKE_FUNCTION flag bits
MAKE_FUNCTION_DEFAULTS = 1
MAKE_FUNCTION_CLOSURE = 2
MAKE_FUNCTION_KWDEFAULTS = 4

# CALL_FUNCTION_EX flag bit
CALL_HAS_KWARGS = 1

# FORMAT_VALUE flag bits
FORMAT_CONVERSION_MASK = 3
FORMAT_HAS_SPEC = 4
FORMAT_CONVERSIONS = {None: 0, "s": 1, "r": 2, "a": 3}


def info(op: int) -> OpInfo:
    return OPCODES[op]
