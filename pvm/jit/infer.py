"""Type inference: which part of a code object native code runs, and with
which kinds (pvm.jit.kinds) on the stack and in the locals at every step.

A *region* is either a whole function (entered with typed arguments, left by
RETURN_VALUE) or a loop nest of a frame (entered at a loop header by
on-stack replacement with the frame's live values, left by jumping out).

Inference explores the region's bytecode as a graph of *nodes*: one per
(instruction, stack kinds, local kinds) that can occur, so a local may hold
an int on one path and a float on another, or be bound on one path only -
each combination gets its own copy of the code that follows (block
versioning, capped per instruction). Every kind is therefore known
statically at every node: native code needs no type tags and no "bound"
flags.

An instruction native code cannot run (an unsupported opcode or operand
kind, a global that is not a function, number or supported builtin, a
local that is unbound or held by an object native code does not take)
becomes an *exit* node: native code stops before it. In a loop region tier 0
resumes at that very instruction with the state materialised; in a function
region the whole call is handed back to tier 0, which is exact because
native code has no side effects.

Calls of script functions are inferred as callee regions of the same
*unit*, keyed by (code, globals, argument kinds); recursion is resolved by
iterating the unit until every callee's return kind is stable.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, NamedTuple

from pvm.code import CO_VARARGS, CO_VARKEYWORDS, Code
from pvm.frames import decode
from pvm.jit.feedback import MISSING, OPAQUE, UNBOUND_KIND
from pvm.jit.kinds import (BINARY_SYMBOLS, BUILTIN_NAMES, ELEMENT, LISTS, MATH_FUNCTIONS, NUMERIC, STORABLE, Const,
                           Entry, Kind, ListIter, SliceKind, SliceOf, TupleOf, binop_kind, builtin_kind, compare_kind,
                           const_kind, math_kind, slice_kind, unary_kind)
from pvm.objects import Function, Module
from pvm.opcodes import Op

MAX_ROUNDS = 20
MAX_VERSIONS_PER_PC = 6     # kind combinations per instruction before further ones exit
Slot = Kind | str           # a local's state at a node: its kind, UNBOUND_KIND or OPAQUE


class Refused(Exception):
    """The region cannot be compiled at all; the message says why."""


class CallPlan(NamedTuple):
    """What a CALL does natively: a call of a compiled callee, a builtin or a math function."""

    what: str                          # 'native', 'builtin', 'math' or 'append'
    name: str = ""
    callee: "Plan | None" = None
    defaults: tuple[Any, ...] = ()     # constant arguments filled in from the callee's defaults


class Node:
    """One instruction at one combination of kinds. (The JIT's records are
    plain classes and named tuples: ``dataclasses``, with the ``inspect`` it
    imports, added about 8 ms to every run that compiles.)"""

    __slots__ = ("id", "pc", "stack", "env", "exit", "static", "succ", "call", "value")

    def __init__(self, id: int, pc: int, stack: tuple[Entry, ...], env: tuple[Slot, ...]) -> None:
        self.id = id
        self.pc = pc
        self.stack = stack
        self.env = env                 # per region local (Plan.slots)
        self.exit: str | None = None   # why native code stops here ('' leaving a loop region normally)
        self.static = False            # an exit before an instruction native code does not run
        self.succ: tuple[int, ...] = ()     # successor node ids, in the order lowering expects per opcode
        self.call: CallPlan | None = None
        self.value: tuple[Entry, Any] | None = None   # LOAD_GLOBAL / LOAD_ATTR: the guarded object


class Plan:
    """The inferred facts about one region, all that lowering needs."""

    def __init__(self, code: Code, globals_: dict[str, Any], mode: str, start: int, end: int, entry: int,
                 slots: tuple[int, ...], entry_env: tuple[Slot, ...], params: tuple[Kind, ...] = ()) -> None:
        self.code = code
        self.globals = globals_
        self.mode = mode                   # 'function' or 'loop'
        self.start = start                 # first instruction (0 or the outermost loop's header)
        self.end = end                     # last instruction of the region
        self.entry = entry                 # where native code starts (loops: the hot header, maybe an inner one)
        self.slots = slots                 # the locals native code tracks (promoted globals, cells: past varnames)
        self.entry_env = entry_env         # their state at entry
        self.params = params               # function regions: argument kinds in order
        self.initial: tuple[Entry, ...] = ()    # the stack at entry (loops: the iterators of enclosing for-loops)
        self.promoted: dict[str, int] = {}      # loops: globals assigned, held as locals
        self.cells: dict[int, int] = {}         # loops: cells read (never assigned), held as locals
        self.nodes: list[Node] = []
        self.written: set[int] = set()          # slots (positions) the region assigns
        self.guards: dict[tuple[int, str], tuple[dict[str, Any], str, Any]] = {}
        self.ret: Kind | None = None       # function regions: kind of the returned value
        self.returns = False               # some path reaches RETURN_VALUE (function) / a back-edge (loop)
        self.iterates: set[int] = set()    # loops: the headers whose back-edge some path reaches
        self.appends = False               # loops: some path appends to a list (the heap is charged afterwards)
        self.creates = False               # loops: some path makes a list (pvm.jit.native registers what survives)
        self.pending = False               # some call's return kind was still unknown in the last round

    def takes_a_step(self, node: Node) -> bool:
        """Whether native code counts a step at ``node``: a native call or a back-edge."""
        return node.call is not None and node.call.what == "native" \
            or self.code.decoded[node.pc][0] == Op.JUMP_BACKWARD

    def source(self, index: int) -> tuple[str, Any]:
        """Where the value of slot ``index`` lives in the frame: ('local',
        fast local index), ('global', name) or ('cell', cell index)."""
        if index < len(self.code.varnames):
            return "local", index
        for name, i in self.promoted.items():
            if i == index:
                return "global", name
        return "cell", next(cell for cell, i in self.cells.items() if i == index)

    def var_name(self, index: int) -> str:
        """A local's name, a promoted global's or a cell's."""
        where, key = self.source(index)
        if where == "local":
            return self.code.varnames[key]
        return key if where == "global" else (self.code.cellvars + self.code.freevars)[key]

    @property
    def label(self) -> str:
        if self.mode == "loop":
            return f"{self.code.qualname}@{self.code.line_at(self.entry)}"
        return f"{self.code.qualname}({', '.join(map(repr, self.params))})"


class Unit:
    """Every region one compilation needs: the root and its native callees."""

    def __init__(self, builtins: dict[str, Any], host_calls: bool = True) -> None:
        self.builtins = builtins
        # False when every host call must go through the interpreter (a sandbox
        # checks and charges them): builtins and math functions become exits.
        self.host_calls = host_calls
        self.plans: dict[tuple[int, int, tuple[Kind, ...]], Plan | None] = {}
        self.refusals: dict[tuple[int, int, tuple[Kind, ...]], str] = {}   # why a callee is not compiled

    def function(self, code: Code, globals_: dict[str, Any], kinds: tuple[Kind, ...]) -> Plan | None:
        """The plan of a function region (None if it cannot be compiled)."""
        key = (id(code), id(globals_), kinds)
        if key in self.plans:
            return self.plans[key]
        slots = tuple(range(len(code.varnames)))
        env = kinds + (UNBOUND_KIND,) * (len(slots) - len(kinds))
        plan = Plan(code, globals_, "function", 0, len(code.ops) - 1, 0, slots, env, kinds)
        self.plans[key] = plan
        try:
            _Inferrer(self, plan).run()
        except Refused as reason:
            self.plans[key] = None
            self.refusals[key] = str(reason)
            return None
        return plan

    def loop(self, code: Code, globals_: dict[str, Any], region: tuple[int, int], header: int,
             entry: dict[tuple[str, Any], Slot], initial: tuple[Kind, ...]) -> Plan:
        """The plan of loop region ``region`` entered at ``header``: ``entry``
        gives the state of each local, assigned global and read cell it
        touches (by pvm.jit.feedback source), ``initial`` the stack there."""
        count = len(code.varnames)
        promoted = sorted(key for where, key in entry if where == "global")
        cells = sorted(key for where, key in entry if where == "cell")
        names = {name: count + i for i, name in enumerate(promoted)}
        cell_slots = {cell: count + len(promoted) + i for i, cell in enumerate(cells)}
        index = {("local", i): i for where, i in entry if where == "local"}
        index.update({("global", name): i for name, i in names.items()})
        index.update({("cell", cell): i for cell, i in cell_slots.items()})
        states = {index[source]: state for source, state in entry.items()}
        slots = tuple(sorted(states))
        plan = Plan(code, globals_, "loop", region[0], region[1], header, slots, tuple(states[i] for i in slots))
        plan.initial = initial
        plan.promoted = names
        plan.cells = cell_slots
        self.plans[(id(code), header, ())] = plan
        _Inferrer(self, plan).run()
        return plan

    def settle(self, root: Plan) -> None:
        """Re-infer every region until callee return kinds stop changing."""
        for _ in range(MAX_ROUNDS):
            before = [p.ret for p in self.live()]
            for plan in self.live():
                _Inferrer(self, plan).run()
            if before == [p.ret for p in self.live()]:
                break
        else:
            raise Refused("types did not settle")
        for plan in self.live():
            if plan.mode == "function" and not plan.returns:
                raise Refused(f"{plan.label}: no path returns natively ({_first_exit(plan)})")
        # a loop nest compiled from a hot header must run that loop's body natively, not only the paths
        # around it (a native exit at every iteration is a compilation for nothing)
        if root.mode == "loop" and root.entry not in root.iterates:
            raise Refused(f"the loop body always exits ({_first_exit(root)})")
        if root.mode == "loop" and not _iterates_past_inner_loops(root):
            raise Refused(f"the loop body always exits (an inner loop never iterates: {_first_exit(root)})")
        for plan in self.live():
            for namespace_id, name in plan.guards:
                if name in root.promoted and namespace_id == id(root.globals) and plan is not root:
                    raise Refused(f"{plan.label} reads global '{name}', which the loop assigns")

    def live(self) -> list[Plan]:
        return [p for p in self.plans.values() if p is not None]


def _first_exit(plan: Plan) -> str:
    exits = [n for n in plan.nodes if n.exit]
    if not exits:
        return "no exit"
    node = min(exits, key=lambda n: n.pc)
    return f"line {plan.code.line_at(node.pc)}: {node.exit}"


def _iterates_past_inner_loops(plan: Plan) -> bool:
    """Whether a path reaches the entry loop's back-edge without leaving an
    inner loop that never iterates natively: leaving one means it ran no
    iteration (or broke out of its first), so the hot path around it exits
    (raytrace's pixel loop around a sample loop that calls methods)."""
    dead = [(start, end) for start, end in loops(plan.code).items()
            if plan.start <= start and end <= plan.end and start not in plan.iterates
            and not start <= plan.entry <= end]
    if not dead:
        return True
    ops, args = plan.code.ops, plan.code.args
    jump_back = Op.JUMP_BACKWARD.value
    seen = {plan.nodes[0].id}
    todo = [plan.nodes[0]]
    while todo:
        node = todo.pop()
        if ops[node.pc] == jump_back and args[node.pc] == plan.entry:
            return True
        for succ in node.succ:
            after = plan.nodes[succ]
            if succ not in seen and not any(start <= node.pc <= end and not start <= after.pc <= end
                                            for start, end in dead):
                seen.add(succ)
                todo.append(after)
    return False


def loops(code: Code) -> dict[int, int]:
    """Every loop of a code object: header -> its last back-edge."""
    found: dict[int, int] = {}
    jump_back = Op.JUMP_BACKWARD.value
    for pc, (op, arg) in enumerate(zip(code.ops, code.args)):
        if op == jump_back:
            found[arg] = max(found.get(arg, pc), pc)
    return found


def enclosing_regions(code: Code, header: int) -> list[tuple[int, int]]:
    """The loops containing ``header`` (its own included), outermost first."""
    return sorted((start, end) for start, end in loops(code).items() if start <= header <= end)


def for_loops_around(code: Code, region: tuple[int, int], header: int) -> int:
    """How many range iterators sit on the stack at ``header`` inside ``region``:
    one per enclosing for-loop (statement-level loops keep nothing else there)."""
    for_iter = Op.FOR_ITER.value
    return sum(1 for start, end in loops(code).items()
               if region[0] <= start <= header <= end and code.ops[start] == for_iter)


def stored_globals(code: Code, region: tuple[int, int]) -> list[str]:
    """Globals a loop region assigns: native code keeps them as locals and writes them back."""
    store = Op.STORE_GLOBAL.value
    return sorted({code.names[arg] for op, arg in zip(code.ops[region[0]:region[1] + 1],
                                                     code.args[region[0]:region[1] + 1]) if op == store})


def read_cells(code: Code, region: tuple[int, int]) -> list[int]:
    """Cells a loop region reads and never assigns: they keep one value
    while native code runs, which it takes at entry like a local."""
    ops = code.ops[region[0]:region[1] + 1]
    args = code.args[region[0]:region[1] + 1]
    read = {arg for op, arg in zip(ops, args) if op == Op.LOAD_DEREF.value}
    written = {arg for op, arg in zip(ops, args) if op in (Op.STORE_DEREF.value, Op.DELETE_DEREF.value)}
    return sorted(read - written)


def region_locals(code: Code, start: int, end: int) -> set[int]:
    """Fast locals a region reads or writes."""
    touched = (Op.LOAD_FAST.value, Op.STORE_FAST.value, Op.DELETE_FAST.value)
    return {arg for op, arg in zip(code.ops[start:end + 1], code.args[start:end + 1]) if op in touched}


class _Exit(Exception):
    """Raised by a step: this instruction is an exit for the given reason."""


class _Inferrer:
    """Explores the node graph of one plan (a round; the unit repeats rounds)."""

    def __init__(self, unit: Unit, plan: Plan) -> None:
        self.unit = unit
        self.plan = plan
        code = plan.code
        self.instrs = code.decoded if code.decoded is not None else decode(code)
        self.position = {index: position for position, index in enumerate(plan.slots)}
        self.index: dict[tuple[int, tuple[Entry, ...], tuple[Slot, ...]], Node] = {}
        self.per_pc: Counter[int] = Counter()
        self.work: list[Node] = []

    def run(self) -> None:
        plan = self.plan
        if plan.mode == "function" and (plan.code.cellvars or plan.code.freevars):
            raise Refused("closures are not compiled")
        if plan.code.kwonlyargcount or plan.code.flags & (CO_VARARGS | CO_VARKEYWORDS):
            raise Refused("*args, **kwargs and keyword-only parameters are not compiled")
        plan.nodes, plan.written = [], set()
        plan.returns = plan.pending = plan.appends = plan.creates = False
        plan.iterates = set()
        rets: set[Kind] = set()
        self._node(plan.entry, plan.initial, plan.entry_env)
        while self.work:
            node = self.work.pop()
            stack, env = list(node.stack), list(node.env)
            try:
                successors = self._step(node, stack, env, rets)
            except _Exit as reason:
                node.exit, node.static = str(reason), True
                continue
            node.succ = tuple(self._node(pc, s, e).id for pc, s, e in successors)
        if plan.mode == "function" and len(rets) == 1:
            plan.ret = rets.pop()

    def _node(self, pc: int, stack: tuple[Entry, ...], env: tuple[Slot, ...]) -> Node:
        key = (pc, stack, env)
        node = self.index.get(key)
        if node is not None:
            return node
        plan = self.plan
        node = self.index[key] = Node(len(plan.nodes), pc, stack, env)
        plan.nodes.append(node)
        if plan.mode == "loop" and not plan.start <= pc <= plan.end:
            node.exit = ""
        elif self.per_pc[pc] >= MAX_VERSIONS_PER_PC:
            node.exit, node.static = "too many kind combinations", True
        else:
            self.per_pc[pc] += 1
            self.work.append(node)
        return node

    # --- One instruction: its successors (pc, stack, env), or _Exit ---

    def _step(self, node: Node, stack: list[Entry], env: list[Slot],  # noqa: C901 - one dispatch by design
              rets: set[Kind]) -> list[tuple[int, tuple[Entry, ...], tuple[Slot, ...]]]:
        plan = self.plan
        pc = node.pc
        op, arg = self.instrs[pc]
        nxt = pc + 1
        op, arg = as_local(plan, op, arg)
        if op == Op.LOAD_FAST:
            state = env[self.position[arg]]
            if state not in STORABLE:
                raise _Exit("an opaque value" if state == OPAQUE else "an unbound local")
            stack.append(state)
        elif op == Op.STORE_FAST:
            kind = stack.pop()
            if type(kind) is SliceOf:
                self._side_effect("a new list")
                kind = kind.of
                plan.creates = True
            if kind not in STORABLE:
                raise _Exit(f"a {kind!r} stored to a variable")
            env[self.position[arg]] = kind
            plan.written.add(self.position[arg])
        elif op == Op.DELETE_FAST:
            if env[self.position[arg]] == UNBOUND_KIND:
                raise _Exit("an unbound local")
            env[self.position[arg]] = UNBOUND_KIND
            plan.written.add(self.position[arg])
        elif op == Op.LOAD_CONST:
            kind = const_kind(arg)
            if kind is None:
                raise _Exit(f"a constant of type {type(arg).__name__}")
            stack.append(kind)
        elif op == Op.LOAD_GLOBAL:
            stack.append(self._global(node, arg))
        elif op == Op.LOAD_ATTR:
            stack.append(self._attribute(node, stack.pop(), arg))
        elif op == Op.BINARY_OP:
            right, left = stack.pop(), stack.pop()
            stack.append(_need(binop_kind(BINARY_SYMBOLS[arg], left, right), "operands", left, right))
        elif op == Op.COMPARE_OP:
            right, left = stack.pop(), stack.pop()
            stack.append(_need(compare_kind(left, right), "comparison of", left, right))
        elif op in (Op.UNARY_NEGATIVE, Op.UNARY_POSITIVE, Op.UNARY_INVERT, Op.UNARY_NOT):
            operand = stack.pop()
            stack.append(_need(unary_kind(Op(op).name, operand), "operand", operand))
        elif op == Op.IS_OP:
            right, left = stack.pop(), stack.pop()
            if not (left in STORABLE and right in STORABLE and Kind.NONE in (left, right)):
                raise _Exit("'is' between non-None values")
            stack.append(Kind.BOOL)
        elif op in (Op.POP_JUMP_IF_FALSE, Op.POP_JUMP_IF_TRUE):
            _truth(stack.pop())
            return [(nxt, tuple(stack), tuple(env)), (arg, tuple(stack), tuple(env))]
        elif op in (Op.JUMP_IF_FALSE_OR_POP, Op.JUMP_IF_TRUE_OR_POP):
            _truth(stack[-1])
            return [(arg, tuple(stack), tuple(env)), (nxt, tuple(stack[:-1]), tuple(env))]
        elif op in (Op.JUMP_FORWARD, Op.JUMP_BACKWARD):
            if op == Op.JUMP_BACKWARD and plan.mode == "loop":
                plan.returns = True
                plan.iterates.add(arg)
            return [(arg, tuple(stack), tuple(env))]
        elif op == Op.POP_TOP:
            stack.pop()
        elif op == Op.COPY:
            stack.append(stack[-arg])
        elif op == Op.SWAP:
            stack[-1], stack[-arg] = stack[-arg], stack[-1]
        elif op == Op.GET_ITER:
            if stack[-1] is Kind.RANGE:
                stack[-1] = Kind.RITER
            elif stack[-1] in LISTS:
                stack[-1] = ListIter(stack[-1])
            elif type(stack[-1]) is SliceOf:
                self._side_effect("a new list")      # iterated over as made: later changes of the list do not show
                stack[-1] = ListIter(stack[-1].of)
                plan.creates = True
            else:
                raise _Exit(f"iteration over {stack[-1]!r}")
        elif op == Op.FOR_ITER:
            if stack[-1] is Kind.RITER:
                item = Kind.INT
            elif type(stack[-1]) is ListIter:
                item = ELEMENT[stack[-1].of]
            else:
                raise _Exit(f"iteration over {stack[-1]!r}")
            return [(nxt, tuple(stack) + (item,), tuple(env)), (arg, tuple(stack[:-1]), tuple(env))]
        elif op == Op.UNPACK_SEQUENCE:
            sequence = stack.pop()
            if type(sequence) is not TupleOf or len(sequence.items) != arg:
                raise _Exit(f"unpacking of {sequence!r}")
            stack.extend(reversed(sequence.items))
        elif op == Op.BUILD_SLICE:
            parts = stack[len(stack) - arg:]
            del stack[len(stack) - arg:]
            stack.append(_need(slice_kind(parts), "slice of", *parts))
        elif op == Op.BINARY_SUBSCR:
            index, container = stack.pop(), stack.pop()
            if container in LISTS and type(index) is SliceKind:
                stack.append(SliceOf(container))
            elif container not in LISTS or index not in (Kind.INT, Kind.BOOL):
                raise _Exit(f"subscript {container!r}[{index!r}]")
            else:
                stack.append(ELEMENT[container])
        elif op == Op.LIST_APPEND:
            value = stack.pop()
            self._writes(stack, "a comprehension's append")
            if stack[-arg] not in LISTS or value not in NUMERIC:
                raise _Exit(f"append of a {value!r} to {stack[-arg]!r}")
            plan.appends = True
        elif op == Op.STORE_SUBSCR:
            index, container, value = stack.pop(), stack.pop(), stack.pop()
            self._writes(stack, "a store into a list")
            if type(index) is SliceKind:
                source = value.of if type(value) is SliceOf else value
                if container not in LISTS.FLAT or source is not container:
                    raise _Exit(f"slice assignment of a {value!r} to {container!r}")
            elif (container not in LISTS or index not in (Kind.INT, Kind.BOOL) or value not in NUMERIC
                    or value is not ELEMENT[container]):
                raise _Exit(f"store of a {value!r} into {container!r}[{index!r}]")
        elif op == Op.CALL:
            if arg == 2 and self.unit.host_calls and _mixed_min_max(stack):
                # min/max of an int and a float: the result's kind depends on which wins, so split
                node.call = CallPlan("builtin", BUILTIN_NAMES[id(stack[-3].obj)])   # type: ignore[union-attr]
                first, second = stack[-2], stack[-1]
                del stack[-3:]
                return [(nxt, tuple(stack) + (first,), tuple(env)), (nxt, tuple(stack) + (second,), tuple(env))]
            stack.append(self._call(node, stack, arg))
        elif op == Op.RETURN_VALUE:
            if plan.mode == "loop":
                raise _Exit("return from the loop")
            kind = stack.pop()
            returnable = kind in NUMERIC or kind is Kind.NONE
            if not returnable or (plan.ret is not None and kind is not plan.ret) or (rets and kind not in rets):
                raise _Exit(f"returns a {kind!r}")
            rets.add(kind)           # type: ignore[arg-type]
            plan.returns = True
            return []
        else:
            raise _Exit(f"{Op(op).name} is not compiled")
        return [(nxt, tuple(stack), tuple(env))]

    def _guard(self, namespace: dict[str, Any], name: str, expected: Any) -> None:
        self.plan.guards[(id(namespace), name)] = (namespace, name, expected)

    def _global(self, node: Node, name: str) -> Entry:
        value = self.plan.globals.get(name, MISSING)
        self._guard(self.plan.globals, name, value)
        if value is MISSING:
            value = self.unit.builtins.get(name, MISSING)
            self._guard(self.unit.builtins, name, value)
        return self._known(node, value, f"global '{name}'")

    def _side_effect(self, what: str, host_call: bool = False) -> None:
        """Only loop regions change objects: they exit at the very instruction
        that fails, whereas a function region that fails is run again from the start."""
        if self.plan.mode != "loop":
            raise _Exit(f"{what} in a function region")
        if host_call and not self.unit.host_calls:
            raise _Exit(f"{what}, a host call, which the interpreter checks")

    def _writes(self, stack: list[Entry], what: str) -> None:
        """An instruction that changes a list: never while a slice not made
        yet is on the stack (it would read the list as changed)."""
        self._side_effect(what)
        if any(type(entry) is SliceOf for entry in stack):
            raise _Exit(f"{what} while a slice is pending")

    def _attribute(self, node: Node, owner: Entry, name: str) -> Entry:
        if owner in LISTS and name == "append":
            self._side_effect("list.append", host_call=True)
            return Kind.APPEND
        if not (isinstance(owner, Const) and type(owner.obj) is Module):
            raise _Exit(f"attribute '{name}' of {owner!r}")
        value = owner.obj.dict.get(name, MISSING)
        self._guard(owner.obj.dict, name, value)
        return self._known(node, value, f"attribute '{name}'")

    def _known(self, node: Node, value: Any, what: str) -> Entry:
        """The entry for an object known at compile time (guarded to stay the same)."""
        kind = const_kind(value) if value is not MISSING else None
        if kind is not None:
            node.value = (kind, value)
            return kind
        if type(value) in (Function, Module) or id(value) in BUILTIN_NAMES or id(value) in MATH_FUNCTIONS:
            node.value = (Const(value), value)
            return node.value[0]
        raise _Exit(f"{what} is a {type(value).__name__}" if value is not MISSING else f"{what} is not defined")

    def _call(self, node: Node, stack: list[Entry], nargs: int) -> Entry:
        args = stack[len(stack) - nargs:]
        target = stack[-nargs - 1]
        if target is Kind.APPEND:
            self._writes(stack[:-2], "list.append")
            if nargs != 1 or args[0] not in NUMERIC:
                raise _Exit(f"list.append of {', '.join(repr(a) for a in args)}")
            node.call = CallPlan("append")
            self.plan.appends = True
            del stack[len(stack) - 2:]
            return Kind.NONE
        if not isinstance(target, Const):
            raise _Exit(f"call of a {target!r}")
        obj = target.obj
        if type(obj) is Function:
            plan, defaults = self._callee(obj, args)
            if plan.ret is None:
                self.plan.pending = True
                raise _Exit(f"{plan.label} has no known return kind")
            node.call = CallPlan("native", callee=plan, defaults=defaults)
            result: Entry = plan.ret
        elif not self.unit.host_calls:
            raise _Exit("a host call, which the interpreter checks")
        elif id(obj) in BUILTIN_NAMES:
            name = BUILTIN_NAMES[id(obj)]
            result = _need(builtin_kind(name, args), f"{name}() of", *args)
            node.call = CallPlan("builtin", name)
        else:
            name = MATH_FUNCTIONS[id(obj)]
            result = _need(math_kind(name, args), f"math.{name}() of", *args)
            node.call = CallPlan("math", name)
        del stack[len(stack) - nargs - 1:]
        return result

    def _callee(self, func: Function, args: list[Entry]) -> tuple[Plan, tuple[Any, ...]]:
        code = func.code
        if func.closure or code.freevars or code.cellvars:
            raise _Exit(f"call of closure {func.qualname}")
        argcount = code.argcount
        if len(args) > argcount:
            raise _Exit(f"too many arguments for {func.qualname}")
        first_default = argcount - len(func.defaults)
        if len(args) < first_default:
            raise _Exit(f"missing arguments for {func.qualname}")
        defaults = tuple(func.defaults[len(args) - first_default:])
        kinds = [const_kind(d) for d in defaults]
        if any(k is None for k in kinds) or any(a not in STORABLE for a in args):
            raise _Exit(f"arguments of {func.qualname}")
        signature = tuple(args) + tuple(kinds)
        plan = self.unit.function(code, func.globals, signature)  # type: ignore[arg-type]
        if plan is None:
            reason = self.unit.refusals[(id(code), id(func.globals), signature)]
            raise _Exit(f"{func.qualname} is not compiled: {reason}")
        return plan, defaults


def as_local(plan: Plan, op: int, arg: Any) -> tuple[int, Any]:
    """A loop region holds the globals it assigns and the cells it reads as locals."""
    if op in (Op.LOAD_GLOBAL, Op.STORE_GLOBAL) and arg in plan.promoted:
        return (Op.LOAD_FAST if op == Op.LOAD_GLOBAL else Op.STORE_FAST), plan.promoted[arg]
    if op == Op.LOAD_DEREF and arg in plan.cells:
        return Op.LOAD_FAST, plan.cells[arg]
    return op, arg


def _need(kind: Kind | None, what: str, *operands: Entry) -> Kind:
    if kind is None:
        raise _Exit(f"{what} {', '.join(repr(o) for o in operands)}")
    return kind


def _mixed_min_max(stack: list[Entry]) -> bool:
    target, first, second = stack[-3:]
    return (isinstance(target, Const) and BUILTIN_NAMES.get(id(target.obj)) in ("min", "max")
            and first in NUMERIC and second in NUMERIC and first is not second)


def _truth(entry: Entry) -> None:
    if entry not in STORABLE:
        raise _Exit(f"truth of {entry!r}")
