"""The bytecode verifier: the invariants the interpreter takes for granted.

Every code object is verified once before it first runs, whatever its origin
(the compiler, a .pvmc file, the import cache), as the JVM verifies classes:
a damaged or hostile file must be refused up front, never crash the host,
leak a host object to the script or turn into a bogus script error. The
checks, all derived from the opcode table's rows (operand kind, stack effects,
flags) plus the per-opcode rules below, are listed with their reasons in
docs/bytecode.md. In short:

- the fields have the right types and bounded sizes; the parameters
  (positional, keyword-only, ``*args``, ``**kwargs``) and ``cell_params``
  fit the locals; a module has no locals or free variables;
- every opcode is known and every operand is in range for its kind
  (constants, locals, cells, names, operators, flag bits, counts), jumps land
  inside the code, forward except on back-edges;
- following every path from instruction 0 with an abstract stack, the depth
  agrees at each merge point, never goes below what an instruction pops or
  reaches, never exceeds ``max_stack``, and no path falls off the end;
- the abstract stack also tracks the values that are not script values: a
  cell (LOAD_CLOSURE) may only go into a closure tuple, a closure tuple and a
  code constant only into MAKE_FUNCTION (with as many cells as the function
  has free variables), CALL_KW's names must be a constant tuple of distinct
  strs, IMPORT_FROM must apply to a module, keyword-only defaults and
  CALL_FUNCTION_EX's keywords must be dicts that BUILD_MAP made;
- the exception table's runs are ascending, disjoint and inside the code;
  each handler is a path of its own, entered with the stack cut to the run's
  depth plus the exception, from every instruction the run covers;
- nested code objects are verified in turn, as functions.
"""

from __future__ import annotations

from typing import Any, Callable

from pvm.code import (CO_CLASS_BODY, CO_COMPREHENSION, CO_DOCSTRING, CO_GENERATOR, CO_LAMBDA, CO_MODULE, CO_NESTED, CO_VARARGS,
                      CO_VARKEYWORDS, Code)
from pvm.opcodes import BINARY_OPERATORS, COMPARE_OPERATORS, OPCODES, Flag, Op, Operand
from pvm.pvmc import MAX_NESTING, InvalidBytecode

MAX_INSTRUCTIONS = 1 << 22        # per code object
MAX_TABLE = 1 << 22               # constants, names, locals, cells
MAX_STACK = 1 << 22
MAX_OPERAND = 2**31 - 1           # operands fit a signed 32-bit int (the JIT relies on it)
KNOWN_FLAGS = (CO_NESTED | CO_MODULE | CO_LAMBDA | CO_COMPREHENSION | CO_VARARGS | CO_VARKEYWORDS | CO_CLASS_BODY
               | CO_GENERATOR | CO_DOCSTRING)

# Abstract stack values. Script values are ANY or a refinement that some
# consumer needs: MODULE, MAP (a dict built by BUILD_MAP), ("tuple", n) built by
# BUILD_TUPLE, ("const", i) for a tuple constant. CELL, ("closure", n) and
# ("code", i) are VM internals that must never reach script code.
ANY, MODULE, MAP, CELL = "value", "module", "map", "cell"


def _opaque(kind: Any) -> bool:
    return kind is CELL or (type(kind) is tuple and kind[0] in ("closure", "code"))


# How many values each instruction pops or inspects at the top of the stack
# (its stack effect then says how many it leaves); every opcode has a row.
_READS: dict[int, Callable[[int], int]] = {
    Op.POP_TOP: lambda n: 1, Op.COPY: lambda n: 0, Op.SWAP: lambda n: 0,
    Op.LOAD_CONST: lambda n: 0, Op.LOAD_FAST: lambda n: 0, Op.STORE_FAST: lambda n: 1,
    Op.DELETE_FAST: lambda n: 0, Op.LOAD_DEREF: lambda n: 0, Op.STORE_DEREF: lambda n: 1,
    Op.DELETE_DEREF: lambda n: 0, Op.LOAD_CLOSURE: lambda n: 0, Op.LOAD_GLOBAL: lambda n: 0,
    Op.STORE_GLOBAL: lambda n: 1, Op.DELETE_GLOBAL: lambda n: 0, Op.LOAD_ATTR: lambda n: 1,
    Op.STORE_ATTR: lambda n: 2, Op.DELETE_ATTR: lambda n: 1, Op.BINARY_SUBSCR: lambda n: 2,
    Op.STORE_SUBSCR: lambda n: 3, Op.DELETE_SUBSCR: lambda n: 2, Op.BINARY_OP: lambda n: 2,
    Op.UNARY_NEGATIVE: lambda n: 1, Op.UNARY_POSITIVE: lambda n: 1, Op.UNARY_INVERT: lambda n: 1,
    Op.UNARY_NOT: lambda n: 1, Op.COMPARE_OP: lambda n: 2, Op.IS_OP: lambda n: 2,
    Op.CONTAINS_OP: lambda n: 2, Op.JUMP_FORWARD: lambda n: 0, Op.JUMP_BACKWARD: lambda n: 0,
    Op.POP_JUMP_IF_FALSE: lambda n: 1, Op.POP_JUMP_IF_TRUE: lambda n: 1,
    Op.JUMP_IF_FALSE_OR_POP: lambda n: 1, Op.JUMP_IF_TRUE_OR_POP: lambda n: 1,
    Op.GET_ITER: lambda n: 1, Op.FOR_ITER: lambda n: 1, Op.RETURN_VALUE: lambda n: 1,
    Op.RAISE_VARARGS: lambda n: n, Op.LOAD_ASSERTION_ERROR: lambda n: 0,
    Op.CALL: lambda n: n + 1, Op.CALL_KW: lambda n: n + 2,
    Op.MAKE_FUNCTION: lambda n: 1 + bin(n).count("1"),
    Op.BUILD_TUPLE: lambda n: n, Op.BUILD_LIST: lambda n: n, Op.BUILD_SET: lambda n: n,
    Op.BUILD_MAP: lambda n: 2 * n, Op.BUILD_SLICE: lambda n: n, Op.BUILD_STRING: lambda n: n,
    Op.LIST_APPEND: lambda n: 1, Op.SET_ADD: lambda n: 1, Op.MAP_ADD: lambda n: 2,
    Op.LIST_EXTEND: lambda n: 1, Op.SET_UPDATE: lambda n: 1, Op.DICT_UPDATE: lambda n: 1,
    Op.LIST_TO_TUPLE: lambda n: 1, Op.UNPACK_SEQUENCE: lambda n: 1, Op.UNPACK_EX: lambda n: 1,
    Op.FORMAT_VALUE: lambda n: 2 if n & 4 else 1, Op.IMPORT_NAME: lambda n: 0,
    Op.IMPORT_FROM: lambda n: 1, Op.LOAD_NAME: lambda n: 0, Op.STORE_NAME: lambda n: 1,
    Op.DELETE_NAME: lambda n: 0, Op.BUILD_CLASS: lambda n: n + 2, Op.PUSH_EXC_INFO: lambda n: 1,
    Op.POP_EXCEPT: lambda n: 1, Op.CHECK_EXC_MATCH: lambda n: 2, Op.RERAISE: lambda n: 1,
    Op.YIELD_VALUE: lambda n: 1, Op.SEND: lambda n: 1,
    Op.DICT_MERGE: lambda n: 1, Op.CALL_FUNCTION_EX: lambda n: 2 + (n & 1),
    Op.IMPORT_STAR: lambda n: 1, Op.BEFORE_WITH: lambda n: 1, Op.WITH_EXCEPT_START: lambda n: 0,
}

# Instructions that reach below what they pop: the depth they need.
_REACH: dict[int, Callable[[int], int]] = {
    Op.COPY: lambda n: n, Op.SWAP: lambda n: n,
    Op.LIST_APPEND: lambda n: n + 1, Op.SET_ADD: lambda n: n + 1, Op.LIST_EXTEND: lambda n: n + 1,
    Op.SET_UPDATE: lambda n: n + 1, Op.DICT_UPDATE: lambda n: n + 1, Op.MAP_ADD: lambda n: n + 2,
    Op.DICT_MERGE: lambda n: 4, Op.WITH_EXCEPT_START: lambda n: 3,
}

# Operand domains beyond the operand kind's range, with the rule in words.
_ARG_RULES: dict[int, tuple[Callable[[int], bool], str]] = {
    Op.COPY: (lambda n: n >= 1, "n >= 1"),
    Op.SWAP: (lambda n: n >= 2, "n >= 2"),
    Op.IS_OP: (lambda n: n in (0, 1), "0 or 1"),
    Op.CONTAINS_OP: (lambda n: n in (0, 1), "0 or 1"),
    Op.RAISE_VARARGS: (lambda n: n <= 2, "0, 1 or 2"),
    Op.MAKE_FUNCTION: (lambda n: n <= 7, "flags within 0..7"),
    Op.CALL_FUNCTION_EX: (lambda n: n in (0, 1), "0 or 1"),
    Op.FORMAT_VALUE: (lambda n: n <= 7, "flags within 0..7"),
    Op.BUILD_SLICE: (lambda n: n in (2, 3), "2 or 3"),
    Op.LIST_APPEND: (lambda n: n >= 1, "n >= 1"),
    Op.SET_ADD: (lambda n: n >= 1, "n >= 1"),
    Op.MAP_ADD: (lambda n: n >= 1, "n >= 1"),
    Op.LIST_EXTEND: (lambda n: n >= 1, "n >= 1"),
    Op.SET_UPDATE: (lambda n: n >= 1, "n >= 1"),
    Op.DICT_UPDATE: (lambda n: n >= 1, "n >= 1"),
}

_JUMP, _TERMINATOR, _BACKEDGE = int(Flag.JUMP), int(Flag.TERMINATOR), int(Flag.BACKEDGE)
_FLAGS = [int(info.flags) for info in OPCODES]
_EFFECT = [info.effect for info in OPCODES]
_JUMP_EFFECT = [info.jump_effect for info in OPCODES]
_SPECIAL = frozenset({Op.POP_TOP, Op.COPY, Op.SWAP, Op.LOAD_CONST, Op.LOAD_CLOSURE, Op.BUILD_TUPLE,
                      Op.IMPORT_NAME, Op.IMPORT_FROM, Op.MAKE_FUNCTION, Op.CALL_KW, Op.BUILD_MAP,
                      Op.DICT_MERGE, Op.CALL_FUNCTION_EX})


def verify(code: Any, filename: str = "", *, module: bool = True) -> None:
    """Verify ``code`` (a module's, unless ``module`` is false) and every code
    object nested in it. Raises InvalidBytecode naming ``filename``."""
    try:
        _Verifier().check(code, module, 1)
    except InvalidBytecode as error:
        error.filename = filename
        raise
    except RecursionError:
        raise InvalidBytecode("code objects nested too deep", filename) from None


def _show(text: str) -> str:
    """A name from the file, safe to print (bounded, no control characters)."""
    text = text[:60] if isinstance(text, str) else repr(type(text))
    return text if text.isprintable() else ascii(text)


class _Verifier:
    def __init__(self) -> None:
        self.done: set[int] = set()       # ids of code objects verified already
        self.active: set[int] = set()     # ids on the current nesting path (cycles)
        self.keep: list[Code] = []        # keeps verified objects alive so ids stay unique

    def check(self, code: Any, module: bool, depth: int) -> None:
        if type(code) is not Code:
            raise InvalidBytecode(f"expected a code object, got {type(code).__name__}")
        if id(code) in self.active:
            raise InvalidBytecode(f"{_show(code.qualname)}: code object contains itself")
        if depth > MAX_NESTING:
            raise InvalidBytecode(f"code objects nested more than {MAX_NESTING} deep")
        if id(code) in self.done:
            return
        nested = _check_fields(code, module)
        _check_operands(code)
        self.active.add(id(code))
        for inner in nested:       # first: MAKE_FUNCTION's checks read their fields
            self.check(inner, False, depth + 1)
        self.active.discard(id(code))
        _Flow(code).run()
        self.done.add(id(code))
        self.keep.append(code)


def _fail(code: Code, what: str) -> InvalidBytecode:
    return InvalidBytecode(f"{_show(code.qualname)}: {what}")


def _is_module_spec(spec: str) -> bool:
    """IMPORT_NAME's operand: leading dots (a relative level), then dotted identifiers."""
    name = spec.lstrip(".")
    if not name:
        return name != spec
    return all(part.isidentifier() for part in name.split("."))


def _fail_at(code: Code, index: int, what: str) -> InvalidBytecode:
    op, arg = code.ops[index], code.args[index]
    return InvalidBytecode(f"{_show(code.qualname)}: instruction {index} ({OPCODES[op].name} {arg}): {what}")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_strs(code: Code, field: str) -> tuple[str, ...]:
    items = getattr(code, field)
    if type(items) is not tuple or not all(type(item) is str for item in items):
        raise _fail(code, f"{field} is not a tuple of str")
    if len(items) > MAX_TABLE:
        raise _fail(code, f"more than {MAX_TABLE} {field}")
    return items


def _check_const(code: Code, value: Any, depth: int) -> None:
    if depth > MAX_NESTING:
        raise _fail(code, f"constants nested more than {MAX_NESTING} deep")
    kind = type(value)
    if kind is tuple:
        for item in value:
            if type(item) is Code:
                raise _fail(code, "a code object inside a tuple constant")
            _check_const(code, item, depth + 1)
    elif not (value is None or value is Ellipsis or kind in (bool, int, float, str)):
        raise _fail(code, f"unsupported constant type {kind.__name__}")


def _check_fields(code: Code, module: bool) -> list[Code]:
    """Types, sizes and table consistency; the nested code objects."""
    for field in ("name", "qualname", "filename"):
        if type(getattr(code, field)) is not str:
            raise InvalidBytecode(f"code {field} is not a str")
    for field in ("firstlineno", "argcount", "kwonlyargcount", "max_stack", "flags"):
        value = getattr(code, field)
        if not _is_int(value) or value < 0:
            raise _fail(code, f"{field} is not a non-negative int")
    if code.flags & ~KNOWN_FLAGS:
        raise _fail(code, f"unknown code flags {code.flags:#x}")
    if code.flags & CO_DOCSTRING and not (code.consts and type(code.consts[0]) is str):
        raise _fail(code, "CO_DOCSTRING is set but consts[0] is not a str")
    if code.max_stack > MAX_STACK:
        raise _fail(code, f"max_stack {code.max_stack} exceeds the limit {MAX_STACK}")
    varnames = _check_strs(code, "varnames")
    cellvars = _check_strs(code, "cellvars")
    freevars = _check_strs(code, "freevars")
    _check_strs(code, "names")
    nparams = (code.argcount + code.kwonlyargcount + bool(code.flags & CO_VARARGS)
               + bool(code.flags & CO_VARKEYWORDS))
    if nparams > len(varnames):
        raise _fail(code, f"{nparams} parameters exceed the {len(varnames)} locals")
    params = code.cell_params
    if type(params) is not tuple or len(params) != len(cellvars):
        raise _fail(code, "cell_params does not match cellvars")
    for param in params:
        if not _is_int(param) or not -1 <= param < nparams:
            raise _fail(code, f"cell_params entry {param!r} is not -1 or a parameter index")
    if module and (varnames or freevars):
        raise _fail(code, "module code has fast locals or free variables")
    consts = code.consts
    if type(consts) is not tuple or len(consts) > MAX_TABLE:
        raise _fail(code, "consts is not a tuple of bounded size")
    nested = []
    for value in consts:
        if type(value) is Code:
            nested.append(value)
        else:
            _check_const(code, value, 1)
    ops, args = code.ops, code.args
    if type(ops) is not tuple or type(args) is not tuple or len(ops) != len(args):
        raise _fail(code, "ops and args are not tuples of the same length")
    if not 1 <= len(ops) <= MAX_INSTRUCTIONS:
        raise _fail(code, f"{len(ops)} instructions (1 to {MAX_INSTRUCTIONS} allowed)")
    if not all(_is_int(op) for op in ops) or not all(_is_int(arg) for arg in args):
        raise _fail(code, "ops and args must be ints")
    table = code.linetable
    if type(table) is not tuple:
        raise _fail(code, "linetable is not a tuple")
    previous = -1
    for entry in table:
        if (type(entry) is not tuple or len(entry) != 2 or not _is_int(entry[0]) or not _is_int(entry[1])
                or not previous < entry[0] < len(ops) or entry[1] < 0):
            raise _fail(code, f"bad linetable entry {entry!r:.40}")
        previous = entry[0]
    _check_exception_table(code)
    if Op.YIELD_VALUE in ops and not code.flags & CO_GENERATOR:
        raise _fail(code, "YIELD_VALUE outside a generator")
    return nested


def _check_exception_table(code: Code) -> None:
    table = code.exception_table
    if type(table) is not tuple or len(table) > MAX_INSTRUCTIONS:
        raise _fail(code, "exception_table is not a tuple of bounded size")
    end_of_previous = 0
    for entry in table:
        if (type(entry) is not tuple or len(entry) != 4 or not all(_is_int(item) for item in entry)
                or not end_of_previous <= entry[0] < entry[1] <= len(code.ops)
                or not 0 <= entry[2] < len(code.ops) or not 0 <= entry[3] < code.max_stack):
            raise _fail(code, f"bad exception table entry {entry!r:.60}")
        end_of_previous = entry[1]


def _check_operands(code: Code) -> None:
    """Every instruction, reachable or not (the pre-decoder resolves them all)."""
    count = len(code.ops)
    limits = {Operand.CONST: ("constant", len(code.consts)), Operand.LOCAL: ("local", len(code.varnames)),
              Operand.CELL: ("cell", len(code.cellvars) + len(code.freevars)),
              Operand.NAME: ("name", len(code.names)), Operand.BINOP: ("operator", len(BINARY_OPERATORS)),
              Operand.CMPOP: ("comparison", len(COMPARE_OPERATORS))}
    for index, (op, arg) in enumerate(zip(code.ops, code.args)):
        if not 0 <= op < len(OPCODES):
            raise _fail(code, f"instruction {index}: unknown opcode {op}")
        if OPCODES[op].flags & Flag.SUPER:
            raise _fail(code, f"instruction {index}: {OPCODES[op].name} is made by the interpreter, "
                              "never stored in code")
        if not 0 <= arg <= MAX_OPERAND:
            raise _fail_at(code, index, f"operand outside 0..{MAX_OPERAND}")
        info = OPCODES[op]
        kind = info.operand
        if kind is Operand.NONE:
            if arg:
                raise _fail_at(code, index, "this opcode takes no operand")
        elif kind is Operand.JUMP:
            if arg >= count:
                raise _fail_at(code, index, f"jump target outside the {count} instructions")
            if _FLAGS[op] & _BACKEDGE:
                if arg > index:
                    raise _fail_at(code, index, "a back-edge must jump backwards")
            elif arg <= index:
                raise _fail_at(code, index, "only back-edges may jump backwards")
        elif kind in limits:
            what, size = limits[kind]
            if arg >= size:
                raise _fail_at(code, index, f"{what} index out of range ({size} available)")
        rule = _ARG_RULES.get(op)
        if rule is not None and not rule[0](arg):
            raise _fail_at(code, index, f"operand must be {rule[1]}")
        if op == Op.IMPORT_NAME and not _is_module_spec(code.names[arg]):
            raise _fail_at(code, index, f"module name {_show(code.names[arg])} is not a dotted name")


class _Flow:
    """Abstract interpretation of one code object over (depth, abstract stack).

    The abstract stack is a persistent linked list ``(kind, below)`` so that
    states are shared between instructions; a work budget bounds the time a
    hostile file can take.
    """

    def __init__(self, code: Code) -> None:
        self.code = code
        self.ops = [int(op) for op in code.ops]
        self.args = list(code.args)
        self.depth_at: list[int | None] = [None] * len(self.ops)
        self.stack_at: list[Any] = [None] * len(self.ops)
        self.budget = 64 * len(self.ops) + (1 << 20)

    def spend(self, steps: int) -> None:
        self.budget -= steps
        if self.budget < 0:
            raise _fail(self.code, "too complex to verify")

    def run(self) -> None:
        self.depth_at[0] = 0
        work = [0]
        while work:
            index = work.pop()
            while True:
                handler = self.code.handler_at(index)
                if handler is not None and self.merge(handler[0], *self.unwound(index, handler[1])):
                    work.append(handler[0])
                fall, jump = self.step(index)
                if jump is not None and self.merge(self.args[index], *jump):
                    work.append(self.args[index])
                if fall is None:
                    break
                if index + 1 == len(self.ops):
                    raise _fail_at(self.code, index, "control falls off the end of the code")
                if not self.merge(index + 1, *fall):
                    break
                index += 1

    def unwound(self, index: int, depth: int) -> tuple[int, Any]:
        """The state a handler starts in when instruction ``index`` raises."""
        have = self.depth_at[index]
        assert have is not None
        if have < depth:
            raise _fail_at(self.code, index, f"its handler keeps {depth} stack values, the stack has {have}")
        stack = self.stack_at[index]
        self.spend(have - depth + 1)
        for _ in range(have - depth):
            stack = stack[1]
        return depth + 1, (ANY, stack)

    def merge(self, index: int, depth: int, stack: Any) -> bool:
        """Record a path arriving at ``index``; whether its state changed."""
        seen = self.depth_at[index]
        if seen is None:
            self.depth_at[index] = depth
            self.stack_at[index] = stack
            return True
        if seen != depth:
            raise _fail_at(self.code, index, f"stack depth {depth} on one path, {seen} on another")
        old = self.stack_at[index]
        kinds, changed = [], False
        walk_old, walk_new = old, stack
        while walk_old is not walk_new:
            self.spend(1)
            (kind_old, walk_old), (kind_new, walk_new) = walk_old, walk_new
            if kind_old != kind_new:
                if _opaque(kind_old) or _opaque(kind_new):
                    raise _fail_at(self.code, index, "paths disagree on an internal value (cell, closure or code)")
                changed = changed or kind_old != ANY
                kind_old = ANY
            kinds.append(kind_old)
        if changed:
            merged = walk_old
            for kind in reversed(kinds):
                merged = (kind, merged)
            self.stack_at[index] = merged
        return changed

    def step(self, index: int) -> tuple[tuple[int, Any] | None, tuple[int, Any] | None]:
        """The states after instruction ``index`` when it falls through and when it jumps."""
        code, op, arg = self.code, self.ops[index], self.args[index]
        depth, stack = self.depth_at[index], self.stack_at[index]
        assert depth is not None
        reads = _READS[op](arg)
        reach = _REACH[op](arg) if op in _REACH else reads
        if depth < max(reads, reach):
            raise _fail_at(code, index, f"needs {max(reads, reach)} values on the stack, has {depth}")
        self.spend(reads + 1)
        flags = _FLAGS[op]
        fall_depth = depth + _EFFECT[op](arg)
        jump_depth = depth + _JUMP_EFFECT[op](arg) if flags & _JUMP else None  # type: ignore[misc]
        for after in (fall_depth, jump_depth):
            if after is not None and after > code.max_stack:
                raise _fail_at(code, index, f"stack depth {after} exceeds max_stack {code.max_stack}")
        if op in _SPECIAL:
            fall = self.special(index, op, arg, stack)
        else:
            below = stack
            for _ in range(reads):
                kind, below = below
                if _opaque(kind):
                    raise _fail_at(code, index, f"uses an internal value ({kind if kind is CELL else kind[0]})")
            fall = below
            for _ in range(fall_depth - depth + reads):
                fall = (ANY, fall)
            if flags & _JUMP:
                jumped = below
                for _ in range(jump_depth - depth + reads):  # type: ignore[operator]
                    jumped = (ANY, jumped)
                return (None if flags & _TERMINATOR else (fall_depth, fall)), (jump_depth, jumped)  # type: ignore[return-value]
        return (None if flags & _TERMINATOR else (fall_depth, fall)), None

    def special(self, index: int, op: int, arg: int, stack: Any) -> Any:
        """The abstract stack after an instruction that makes or consumes an
        internal value (none of them jumps)."""
        code = self.code
        if op == Op.POP_TOP:
            return stack[1]
        if op == Op.LOAD_CONST:
            value = code.consts[arg]
            kind = ("code", arg) if type(value) is Code else ("const", arg) if type(value) is tuple else ANY
            return (kind, stack)
        if op == Op.LOAD_CLOSURE:
            return (CELL, stack)
        if op == Op.IMPORT_NAME:
            return (MODULE, stack)
        if op == Op.COPY or op == Op.SWAP:
            self.spend(arg)
            top: list[Any] = []
            below = stack
            for _ in range(arg):
                kind, below = below
                top.append(kind)
            if op == Op.COPY:
                return (top[-1], stack)
            top[0], top[-1] = top[-1], top[0]
            for kind in reversed(top):
                below = (kind, below)
            return below
        if op == Op.IMPORT_FROM:
            if stack[0] != MODULE:
                raise _fail_at(code, index, "IMPORT_FROM needs a module on top of the stack")
            return (ANY, stack)
        items: list[Any] = []
        below = stack
        for _ in range(_READS[op](arg)):
            kind, below = below
            items.append(kind)
        if op == Op.BUILD_TUPLE:
            if items and all(kind is CELL for kind in items):
                return (("closure", arg), below)
            if any(_opaque(kind) for kind in items):
                raise _fail_at(code, index, "a tuple mixing cells or code with values")
            return (("tuple", arg), below)
        if op == Op.MAKE_FUNCTION:
            self.check_make_function(index, arg, items)
            return (ANY, below)
        if op == Op.CALL_KW:
            self.check_kwnames(index, arg, items[0])
        if any(_opaque(kind) for kind in items):
            raise _fail_at(code, index, "passes an internal value as a script value")
        if op == Op.BUILD_MAP:
            return (MAP, below)
        if op == Op.DICT_MERGE:
            kind, (args_kind, (func_kind, _)) = below
            if kind != MAP or _opaque(args_kind) or _opaque(func_kind):
                raise _fail_at(code, index, "DICT_MERGE needs a call's keyword dict under the mapping")
            return below
        if op == Op.CALL_FUNCTION_EX and arg & 1 and items[0] != MAP:
            raise _fail_at(code, index, "CALL_FUNCTION_EX needs a dict of keywords on top of the stack")
        return (ANY, below)

    def check_kwnames(self, index: int, arg: int, kind: Any) -> None:
        code = self.code
        names = code.consts[kind[1]] if type(kind) is tuple and kind[0] == "const" else None
        if names is None or not all(type(name) is str for name in names):
            raise _fail_at(code, index, "CALL_KW needs a constant tuple of str on top of the stack")
        if len(names) > arg or len(set(names)) != len(names):
            raise _fail_at(code, index, f"{len(names)} keyword names for {arg} arguments, or a name repeated")

    def check_make_function(self, index: int, arg: int, items: list[Any]) -> None:
        code = self.code
        kind = items[0]
        if not (type(kind) is tuple and kind[0] == "code"):
            raise _fail_at(code, index, "MAKE_FUNCTION needs a code constant on top of the stack")
        inner: Code = code.consts[kind[1]]
        position = 1
        cells = 0
        if arg & 2:
            closure = items[position]
            position += 1
            if not (type(closure) is tuple and closure[0] == "closure"):
                raise _fail_at(code, index, "MAKE_FUNCTION needs a tuple of cells for the closure")
            cells = closure[1]
        if cells != len(inner.freevars):
            raise _fail_at(code, index, f"{cells} closure cells for a function with "
                                        f"{len(inner.freevars)} free variables")
        if arg & 4:
            if items[position] != MAP:
                raise _fail_at(code, index, "MAKE_FUNCTION needs a dict of keyword-only defaults")
            position += 1
        if arg & 1:
            defaults = items[position]
            if type(defaults) is tuple and defaults[0] == "tuple":
                count = defaults[1]
            elif type(defaults) is tuple and defaults[0] == "const":
                count = len(code.consts[defaults[1]])
            else:
                raise _fail_at(code, index, "MAKE_FUNCTION needs a tuple of defaults")
            if count > inner.argcount:
                raise _fail_at(code, index, f"{count} defaults for {inner.argcount} parameters")
