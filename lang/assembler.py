"""The code builder: where the compiler's instructions, constants, names and
lines accumulate until they become one immutable ``pvm.code.Code``.

Every instruction goes through ``emit``, which records the current source
line; constants and names are interned by ``add_const``/``add_name``, which
also enforce the operand limits. Jumps target ``Label``s that are patched when
placed. ``finish`` walks the control-flow graph with the opcode table's stack
effects: unreachable instructions (code after a return or break) are dropped,
with the constants only they used, and ``max_stack`` is the deepest point of
the walk.

Exception handlers are marked as CPython's compiler marks them: a pseudo
instruction SETUP (``setup(handler)``) pushes a handler for the code that
follows it, POP_BLOCK pops it, and the walk follows them along every path, so
each instruction gets the innermost handler in force where control reaches it
(``return`` or ``break`` out of a ``try`` pops handlers on its own path only).
The stack depth at SETUP is the depth the handler unwinds to before the
exception is pushed. Pseudo instructions never reach the Code: ``finish``
turns them into ``Code.exception_table``. A path whose depth goes negative or disagrees at a join is a
compiler bug, raised as AssertionError, never a script error.
"""

from __future__ import annotations

from typing import Any, Optional

from lang import ast
from pvm.code import Code
from pvm.errors import PvmCompileError
from pvm.opcodes import OPCODES, Flag, Op, Operand

MAX_OPERAND = 2**31 - 1          # operands must fit a signed 32-bit int (the JIT relies on it)

# How deep the stack must already be for ops that reach below what they pop.
_REACH = {
    Op.COPY: lambda n: n, Op.SWAP: lambda n: n,
    Op.LIST_APPEND: lambda n: n + 1, Op.SET_ADD: lambda n: n + 1, Op.LIST_EXTEND: lambda n: n + 1,
    Op.SET_UPDATE: lambda n: n + 1, Op.DICT_UPDATE: lambda n: n + 1, Op.MAP_ADD: lambda n: n + 2,
    Op.CALL: lambda n: n + 1, Op.CALL_KW: lambda n: n + 2,
    Op.DICT_MERGE: lambda n: 4, Op.CALL_FUNCTION_EX: lambda n: 2 + (n & 1),
}


# Pseudo instructions (negative: never in the opcode table, never in a Code).
SETUP = -1                       # arg: handler label target
POP_BLOCK = -2

# Plain-int copies of the table's flags: IntFlag arithmetic is slow in a hot loop.
_JUMP, _TERMINATOR = int(Flag.JUMP), int(Flag.TERMINATOR)
_FLAGS = [int(info.flags) for info in OPCODES]


class Label:
    """A jump target: placed once, referenced by any number of jumps."""

    __slots__ = ("target", "refs")

    def __init__(self) -> None:
        self.target = -1
        self.refs: list[int] = []

    @property
    def placed(self) -> bool:
        return self.target >= 0


def const_key(value: Any) -> Any:
    """A dedup key keeping 1, 1.0 and True (and 0.0, -0.0) apart."""
    if isinstance(value, tuple):
        return (tuple, tuple(const_key(item) for item in value))
    if isinstance(value, float):
        return (float, value.hex())
    if isinstance(value, Code):
        return (Code, id(value))
    return (type(value), value)


class CodeBuilder:
    """Accumulates one code object."""

    def __init__(self, filename: str, firstlineno: int) -> None:
        self.filename = filename
        self.line = firstlineno          # line given to the next emitted instruction
        self.node: Optional[ast.Node] = None   # innermost node being compiled, for limit errors
        self.ops: list[int] = []
        self.args: list[int] = []
        self.lines: list[int] = []
        self.consts: list[Any] = []
        self.docstring = False                # consts[0] is the docstring: kept though no instruction uses it
        self.const_index: dict[Any, int] = {}
        self.names: list[str] = []
        self.name_index: dict[str, int] = {}
        self.targets: set[int] = set()   # instruction indexes some jump lands on

    def limit_error(self, what: str) -> PvmCompileError:
        node = self.node
        line, col = (node.line, node.col) if node is not None else (self.line, 1)
        return PvmCompileError(f"too many {what} in one code object", self.filename, line, col, "")

    # --- Instructions ---

    def emit(self, op: Op, arg: int = 0, line: int = 0) -> int:
        """Append one instruction at ``line`` (default: the current line);
        returns its index."""
        self.ops.append(op)
        self.args.append(arg)
        self.lines.append(line or self.line)
        return len(self.ops) - 1

    def reachable(self) -> bool:
        """Whether control can reach the next instruction emitted."""
        if not self.ops or len(self.ops) in self.targets:
            return True
        last = self.ops[-1]
        return last < 0 or not _FLAGS[last] & _TERMINATOR

    def place(self, label: Label) -> None:
        """Bind ``label`` to the next instruction and patch earlier jumps to it."""
        label.target = len(self.ops)
        for ref in label.refs:
            self.args[ref] = label.target
        label.refs.clear()
        self.targets.add(label.target)

    def here(self) -> Label:
        """A label placed at the next instruction (a loop head)."""
        label = Label()
        self.place(label)
        return label

    def setup(self, handler: Label) -> None:
        """Protect the code that follows (until ``pop_block``) with ``handler``."""
        self.jump(SETUP, handler)

    def pop_block(self) -> None:
        self.emit(POP_BLOCK)

    def jump(self, op: Op | int, label: Label) -> None:
        """A (conditional) jump to ``label``, patched later if not yet placed."""
        index = self.emit(op, label.target)
        if not label.placed:
            label.refs.append(index)

    def jump_to(self, label: Label) -> None:
        """An unconditional jump: JUMP_BACKWARD to a placed label (a back edge),
        JUMP_FORWARD otherwise; omitted where control cannot arrive."""
        if self.reachable():
            self.jump(Op.JUMP_BACKWARD if label.placed else Op.JUMP_FORWARD, label)

    def add_docstring(self, doc: str) -> None:
        assert not self.consts, "the docstring must be the first constant"
        self.add_const(doc)
        self.docstring = True

    def add_const(self, value: Any) -> int:
        key = const_key(value)
        index = self.const_index.get(key)
        if index is None:
            index = len(self.consts)
            if index > MAX_OPERAND:
                raise self.limit_error("constants")
            self.consts.append(value)
            self.const_index[key] = index
        return index

    def add_name(self, name: str) -> int:
        index = self.name_index.get(name)
        if index is None:
            index = len(self.names)
            if index > MAX_OPERAND:
                raise self.limit_error("names")
            self.names.append(name)
            self.name_index[name] = index
        return index

    # --- Output ---

    def linetable(self) -> tuple[tuple[int, int], ...]:
        runs: list[tuple[int, int]] = []
        for index, line in enumerate(self.lines):
            if not runs or runs[-1][1] != line:
                runs.append((index, line))
        return tuple(runs)

    def finish(self, *, name: str, qualname: str, firstlineno: int, argcount: int,
               varnames: tuple[str, ...], cellvars: tuple[str, ...], freevars: tuple[str, ...],
               cell_params: tuple[int, ...], flags: int, kwonlyargcount: int = 0) -> Code:
        if len(varnames) + len(cellvars) + len(freevars) > MAX_OPERAND:
            raise self.limit_error("local variables")
        self.prune()
        table = self.exception_table()
        deepest = max_stack(self.ops, self.args)
        self.drop_pseudo()
        return Code(
            name=name, qualname=qualname, filename=self.filename, firstlineno=firstlineno,
            argcount=argcount, varnames=varnames, cellvars=cellvars, freevars=freevars,
            cell_params=cell_params, names=tuple(self.names), consts=tuple(self.consts),
            ops=tuple(self.ops), args=tuple(self.args), linetable=self.linetable(),
            max_stack=deepest, flags=flags, exception_table=table, kwonlyargcount=kwonlyargcount,
        )

    def exception_table(self) -> tuple[tuple[int, int, int, int], ...]:
        """``(start, end, handler, depth)`` runs of real instructions, numbered
        as they will be once the pseudo instructions are gone."""
        handlers = _walk(self.ops, self.args)[2]
        real = _renumbering(self.ops)
        runs: list[list[int]] = []
        for index, op in enumerate(self.ops):
            handler = handlers[index]
            if op < 0 or handler is None:
                continue
            target, depth = real[handler[0]], handler[1]
            at = real[index]
            if runs and runs[-1][1] == at and runs[-1][2:] == [target, depth]:
                runs[-1][1] = at + 1
            else:
                runs.append([at, at + 1, target, depth])
        return tuple((start, end, target, depth) for start, end, target, depth in runs)

    def drop_pseudo(self) -> None:
        real = _renumbering(self.ops)
        keep = [index for index, op in enumerate(self.ops) if op >= 0]
        self.args = [real[self.args[i]] if _FLAGS[self.ops[i]] & _JUMP else self.args[i] for i in keep]
        self.ops = [self.ops[i] for i in keep]
        self.lines = [self.lines[i] for i in keep]

    def prune(self) -> None:
        """Drop unreachable instructions and JUMP_FORWARDs to the next
        remaining instruction, retargeting jumps; the code still ends with a
        RETURN_VALUE (an unreachable ``return None`` if need be)."""
        ops, args = self.ops, self.args
        count = len(ops)
        keep = [depth is not None for depth in stack_depths(ops, args)]
        next_kept = count
        for index in range(count - 1, -1, -1):
            if keep[index] and ops[index] == Op.JUMP_FORWARD and args[index] <= next_kept \
                and not any(ops[i] < 0 for i in range(index + 1, args[index])):
                keep[index] = False
            if keep[index]:
                next_kept = index
        new_index = [0] * (count + 1)
        position = 0
        for index in range(count):
            new_index[index] = position
            position += keep[index]
        new_index[count] = position
        kept = [index for index in range(count) if keep[index]]
        self.ops = [ops[i] for i in kept]
        self.args = [new_index[args[i]] if ops[i] == SETUP or ops[i] >= 0 and _FLAGS[ops[i]] & _JUMP else args[i]
                     for i in kept]
        self.lines = [self.lines[i] for i in kept]
        if not self.ops or self.ops[-1] != Op.RETURN_VALUE:
            self.emit(Op.LOAD_CONST, self.add_const(None))
            self.emit(Op.RETURN_VALUE)
        self.consts = self.compact(Operand.CONST, self.consts, self.docstring)
        self.names = self.compact(Operand.NAME, self.names)

    def compact(self, kind: Operand, table: list[Any], keep_first: bool = False) -> list[Any]:
        """Keep only the entries of ``table`` that instructions of operand
        ``kind`` still use (dead code may have been their only user)."""
        renumber: dict[int, int] = {0: 0} if keep_first else {}
        for index, op in enumerate(self.ops):
            if op >= 0 and OPCODES[op].operand is kind:
                self.args[index] = renumber.setdefault(self.args[index], len(renumber))
        kept = [0] * len(renumber)
        for old, new in renumber.items():
            kept[new] = table[old]
        return kept


Sequence = list[int] | tuple[int, ...]


def _renumbering(ops: Sequence) -> list[int]:
    """Index of each instruction (and of the end) once pseudo instructions are dropped."""
    real = [0] * (len(ops) + 1)
    position = 0
    for index, op in enumerate(ops):
        real[index] = position
        position += op >= 0
    real[len(ops)] = position
    return real


def max_stack(ops: Sequence, args: Sequence) -> int:
    """The deepest the value stack gets on any path from instruction 0.

    Raises AssertionError (a compiler bug) if a path underflows, reaches below
    the stack, runs off the end or arrives at an instruction with a different
    depth than another path.
    """
    return _walk(ops, args)[1]


def stack_depths(ops: Sequence, args: Sequence) -> list[Optional[int]]:
    """The stack depth before each instruction; None where unreachable."""
    return _walk(ops, args)[0]


Handler = Optional[tuple[int, int]]      # (handler index, depth to unwind to)
_Blocks = tuple[tuple[int, int], ...]


def _walk(ops: Sequence, args: Sequence) -> tuple[list[Optional[int]], int, list[Handler]]:
    """Follow every path from instruction 0: depths before each instruction,
    the deepest point reached, and the handler in force at each instruction."""
    count = len(ops)
    depth_at: list[Optional[int]] = [None] * count
    handler_at: list[Handler] = [None] * count
    deepest = 0
    work: list[tuple[int, int, _Blocks]] = [(0, 0, ())]
    while work:
        index, depth, blocks = work.pop()
        while True:
            if index >= count or index < 0:
                raise AssertionError(f"control runs off the code at {index}")
            seen = depth_at[index]
            handler = blocks[-1] if blocks else None
            if seen is not None:
                if seen != depth:
                    raise AssertionError(f"stack depth {depth} != {seen} at instruction {index}")
                if handler_at[index] != handler:
                    raise AssertionError(f"handler {handler} != {handler_at[index]} at instruction {index}")
                break
            depth_at[index] = depth
            handler_at[index] = handler
            op, arg = ops[index], args[index]
            if op < 0:
                if op == SETUP:
                    blocks = blocks + ((arg, depth),)
                else:
                    if not blocks:
                        raise AssertionError(f"POP_BLOCK without a handler at {index}")
                    blocks = blocks[:-1]
                index += 1
                continue
            if handler is not None:          # this instruction may raise into its handler
                if handler[1] > depth:
                    raise AssertionError(f"handler depth {handler[1]} > stack depth {depth} at {index}")
                work.append((handler[0], handler[1] + 1, blocks[:-1]))
                deepest = max(deepest, handler[1] + 1)
            info = OPCODES[op]
            reach = _REACH.get(op)
            if reach is not None and depth < reach(arg):
                raise AssertionError(f"{info.name} {arg} reaches below the stack (depth {depth}) at {index}")
            flags = _FLAGS[op]
            if flags & _JUMP:
                assert info.jump_effect is not None
                jumped = depth + info.jump_effect(arg)
                if jumped < 0:
                    raise AssertionError(f"stack underflow on the jump of {info.name} at {index}")
                if jumped > deepest:
                    deepest = jumped
                work.append((arg, jumped, blocks))
            after = depth + info.effect(arg)
            if after < 0:
                raise AssertionError(f"stack underflow at {info.name} (instruction {index})")
            if flags & _TERMINATOR:
                break
            if after > deepest:
                deepest = after
            depth = after
            index += 1
    return depth_at, deepest, handler_at
