"""The shape of a code object that tier 0's translation (pvm.translate)
works from: the operand stack's depth at every instruction (static, so stack
slots can be named), the blocks, the loops as nested ranges of instructions,
the locals certainly bound at each instruction, and which attribute loads are
only ever called. All of it is read from the opcode table's stack effects and
flags, and from the code's exception table."""

from __future__ import annotations

from typing import Any, Callable

from pvm.code import CO_VARARGS, CO_VARKEYWORDS, Code
from pvm.opcodes import BINARY_OPERATORS, OPCODES, Flag, Op


class Untranslatable(Exception):
    """Why a code object stays with the interpreter."""


# instructions that read below their own operands: a fused method load's slot must not pass them
_READS_DEEP = frozenset({Op.COPY, Op.SWAP, Op.LIST_APPEND, Op.SET_ADD, Op.MAP_ADD, Op.LIST_EXTEND, Op.SET_UPDATE,
                         Op.DICT_UPDATE, Op.DICT_MERGE, Op.CALL_FUNCTION_EX})


# instructions that pop only their own operands and push one result, or push nothing: a stack
# slot below what they pop keeps its value (pvm.flow.Flow.local_operands)
_ONE_RESULT = frozenset({Op.LOAD_CONST, Op.LOAD_GLOBAL, Op.LOAD_DEREF, Op.LOAD_CLOSURE, Op.LOAD_ATTR, Op.BINARY_OP,
                         Op.BINARY_SUBSCR, Op.COMPARE_OP, Op.IS_OP, Op.CONTAINS_OP, Op.UNARY_NEGATIVE, Op.UNARY_NOT,
                         Op.UNARY_POSITIVE, Op.UNARY_INVERT, Op.CALL, Op.CALL_KW, Op.BUILD_TUPLE, Op.BUILD_LIST,
                         Op.BUILD_STRING, Op.BUILD_SLICE, Op.LIST_TO_TUPLE, Op.GET_ITER})
_NO_RESULT = frozenset({Op.POP_TOP, Op.STORE_ATTR, Op.STORE_SUBSCR, Op.STORE_GLOBAL, Op.STORE_DEREF})

# operators whose result is an int when both operands are (BINARY_OP's argument)
_INT_CLOSED = frozenset(index for index, (symbol, _) in enumerate(BINARY_OPERATORS)
                        if symbol.rstrip("=") in ("+", "-", "*", "//", "%", "<<", ">>", "&", "|", "^"))
_INT_UNARY = frozenset({Op.UNARY_NEGATIVE, Op.UNARY_POSITIVE, Op.UNARY_INVERT})

# the table's flags as sets of opcodes (enum flag arithmetic is slow in a loop over every instruction)
JUMPS = frozenset(info.number for info in OPCODES if info.flags & Flag.JUMP)
TERMINATORS = frozenset(info.number for info in OPCODES if info.flags & Flag.TERMINATOR)


class Loop:
    __slots__ = ("start", "end", "children")

    def __init__(self, start: int, end: int, children: list["Loop"]) -> None:
        self.start = start
        self.end = end                 # the last back-edge's index
        self.children = children


class Flow:
    def __init__(self, code: Code, instrs: list[tuple[int, Any]]) -> None:
        self.code = code
        self.instrs = instrs
        self.raw = code.args
        self.depths = self._depths()
        self.leaders = self._leaders()
        self.loops = self._loops()
        self.assigned = self._assigned()
        self._int_results: set[int] | None = None


    def successors(self, index: int) -> list[tuple[int, int]]:
        op, arg = self.instrs[index]
        info = OPCODES[op]
        raw = self.raw[index]
        depth = self.depths[index]
        found = []
        if op not in TERMINATORS:
            found.append((index + 1, depth + info.effect(raw)))
        if op in JUMPS:
            found.append((arg, depth + (info.jump_effect or info.effect)(raw)))
        return found

    def _handlers(self, index: int) -> list[tuple[int, int]]:
        """Where an exception raised by ``index`` goes: (handler, depth there)."""
        found = self.code.handler_at(index)
        return [] if found is None else [(found[0], found[1] + 1)]

    def _depths(self) -> list[int | None]:
        depths: list[int | None] = [None] * len(self.instrs)
        self.depths = depths
        depths[0] = 0
        work = [0]
        while work:
            index = work.pop()
            for target, depth in self.successors(index) + self._handlers(index):
                if target >= len(depths):
                    raise Untranslatable("control runs off the end")
                if depths[target] is None:
                    depths[target] = depth
                    work.append(target)
                elif depths[target] != depth:
                    raise Untranslatable("stack depths disagree")
        return depths

    def _reachable(self) -> list[int]:
        return [index for index, depth in enumerate(self.depths) if depth is not None]

    def _leaders(self) -> set[int]:
        leaders = {0} | {handler for _, _, handler, _ in self.code.exception_table}
        for index in self._reachable():
            op, arg = self.instrs[index]
            if op in JUMPS:
                leaders.add(arg)
            if op in JUMPS or op in TERMINATORS:
                leaders.add(index + 1)
        return leaders

    def _loops(self) -> list[Loop]:
        ends: dict[int, int] = {}
        for index in self._reachable():
            op, arg = self.instrs[index]
            if op in JUMPS and arg <= index:
                ends[arg] = max(ends.get(arg, index), index)
        roots: list[Loop] = []
        stack: list[Loop] = []
        for start in sorted(ends):
            loop = Loop(start, ends[start], [])
            while stack and stack[-1].end < start:
                stack.pop()
            if stack and stack[-1].end < loop.end:
                raise Untranslatable("loops overlap without nesting")
            (stack[-1].children if stack else roots).append(loop)
            stack.append(loop)
        self.loops = roots
        handlers = {handler for _, _, handler, _ in self.code.exception_table}
        for index in self._reachable():
            op, arg = self.instrs[index]
            if op in JUMPS and arg not in handlers:
                for loop in self.enclosing(arg):
                    if arg != loop.start and not loop.start <= index <= loop.end:
                        raise Untranslatable("a jump enters a loop other than at its header")
        return roots

    def enclosing(self, index: int, loops: list[Loop] | None = None) -> list[Loop]:
        """The loops containing ``index``, outermost first."""
        for loop in self.loops if loops is None else loops:
            if loop.start <= index <= loop.end:
                return [loop, *self.enclosing(index, loop.children)]
        return []

    def _assigned(self) -> list[int]:
        """For each instruction, the fast locals certainly bound when it runs
        (a bit set: reading them needs no unbound check). Parameters are
        bound at entry; STORE_FAST binds, DELETE_FAST unbinds; paths meet by
        intersection."""
        code = self.code
        params = code.argcount + code.kwonlyargcount + bool(code.flags & CO_VARARGS) + bool(code.flags & CO_VARKEYWORDS)
        every = (1 << len(code.varnames)) - 1
        assigned = [every] * len(self.instrs)
        assigned[0] = (1 << params) - 1
        reached = {0}
        work = [0]
        while work:
            index = work.pop()
            op, arg = self.instrs[index]
            after = assigned[index]
            if op == Op.STORE_FAST:
                after |= 1 << arg
            elif op == Op.DELETE_FAST:
                after &= ~(1 << arg)
            # an exception leaves before the instruction's effect
            edges = [(target, after) for target, _ in self.successors(index)]
            edges += [(handler, assigned[index]) for handler, _ in self._handlers(index)]
            for target, state in edges:
                meet = state if target not in reached else assigned[target] & state
                if target not in reached or meet != assigned[target]:
                    reached.add(target)
                    assigned[target] = meet
                    work.append(target)
        return assigned

    def local_operands(self) -> dict[int, int]:
        """Attribute loads and stores whose object is what a LOAD_FAST pushed
        earlier in the same block (``self.x``, and ``self.x += 1`` through COPY
        and SWAP), mapped to that local; the local is not stored in between."""
        found = {}
        known: dict[int, int] = {}          # stack slot -> the local whose value it holds
        for index, (op, arg) in enumerate(self.instrs):
            depth = self.depths[index]
            if index in self.leaders or depth is None:
                known = {}
                if depth is None:
                    continue
            if op in (Op.LOAD_ATTR, Op.STORE_ATTR) and depth - 1 in known:
                found[index] = known[depth - 1]
            after = depth + OPCODES[op].effect(self.raw[index])
            if op == Op.LOAD_FAST:
                known[depth] = arg
            elif op == Op.COPY and depth - arg in known:
                known[depth] = known[depth - arg]
            elif op == Op.SWAP:
                top, other = known.pop(depth - 1, None), known.pop(depth - arg, None)
                moved = ((depth - arg, top), (depth - 1, other))
                known.update({slot: local for slot, local in moved if local is not None})
            elif op in (Op.STORE_FAST, Op.DELETE_FAST):
                known = {slot: local for slot, local in known.items() if slot < after and local != arg}
            elif op in _ONE_RESULT:
                known = {slot: local for slot, local in known.items() if slot < after - 1}
            elif op in _NO_RESULT:
                known = {slot: local for slot, local in known.items() if slot < after}
            else:
                known = {}
        return found

    def method_calls(self, eligible: Callable[[str], bool]) -> dict[int, int]:
        """LOAD_ATTR instructions (of an ``eligible`` name) whose result is only
        ever called, in the same block (``obj.name(...)``), mapped to their
        CALL: the method can be called without making a bound method."""
        fused = {}
        for index, (op, name) in enumerate(self.instrs):
            if op != Op.LOAD_ATTR or not eligible(name) or self.depths[index] is None:
                continue
            slot = self.depths[index] - 1
            for later in range(index + 1, len(self.instrs)):
                later_op, arg = self.instrs[later]
                if later in self.leaders or later_op in _READS_DEEP:
                    break
                if later_op in (Op.CALL, Op.CALL_KW):
                    if self.depths[later] - arg - 1 - (later_op == Op.CALL_KW) == slot:
                        fused[index] = later
                        break
                if self.depths[later] + OPCODES[later_op].effect(self.raw[later]) <= slot + 1:
                    break
        return fused

    def int_results(self) -> set[int]:
        """BINARY_OP instructions whose result is certainly an int: both
        operands are int constants, int results or fast locals that only
        ever hold ints (every store to them is one of these; not parameters,
        whose values come from the caller). Operand kinds are followed
        within a block only. Made once per code (it is shared by every site
        the code is inlined at)."""
        if self._int_results is None:
            results: set[int] = set()
            # without an operator an int result could come from there is no fixed point to find
            if any(op == Op.BINARY_OP and self.raw[index] in _INT_CLOSED for index, (op, _) in enumerate(self.instrs)):
                code = self.code
                params = code.argcount + code.kwonlyargcount + bool(code.flags & CO_VARARGS) \
                    + bool(code.flags & CO_VARKEYWORDS)
                locals_ = {arg for op, arg in self.instrs if op == Op.STORE_FAST and arg >= params}
                while True:
                    results, stored = self._int_kinds(locals_)
                    if stored == locals_:
                        break
                    locals_ = stored
            self._int_results = results
        return self._int_results

    def _int_kinds(self, locals_: set[int]) -> tuple[set[int], set[int]]:
        """With ``locals_`` taken to hold ints: the BINARY_OPs with int results, and
        the locals of ``locals_`` that every store keeps ints."""
        results: set[int] = set()
        stored = set(locals_)
        ints: set[int] = set()          # stack slots holding an int
        for index, (op, arg) in enumerate(self.instrs):
            depth = self.depths[index]
            if index in self.leaders or depth is None:
                ints = set()
                if depth is None:
                    continue
            if op == Op.SWAP:
                top, other = depth - 1 in ints, depth - arg in ints
                ints -= {depth - 1, depth - arg}
                ints |= {slot for slot, kind in ((depth - 1, other), (depth - arg, top)) if kind}
                continue
            after = depth + OPCODES[op].effect(self.raw[index])
            if op in (Op.LOAD_FAST, Op.COPY) or op in _ONE_RESULT:
                kept = after - 1            # what it pops and the slot of its result
            elif op in (Op.STORE_FAST, Op.DELETE_FAST) or op in _NO_RESULT:
                kept = after
            else:
                ints = set()
                continue
            pushed = False
            if op == Op.LOAD_CONST:
                pushed = type(arg) is int
            elif op == Op.LOAD_FAST:
                pushed = arg in locals_
            elif op == Op.COPY:
                pushed = depth - arg in ints
            elif op in _INT_UNARY:
                pushed = depth - 1 in ints
            elif op == Op.BINARY_OP and self.raw[index] in _INT_CLOSED and {depth - 2, depth - 1} <= ints:
                pushed = True
                results.add(index)
            elif op == Op.STORE_FAST and depth - 1 not in ints:
                stored.discard(arg)
            ints = {slot for slot in ints if slot < kept}
            if pushed:
                ints.add(after - 1)
        return results, stored
