"""Lowering: the regions of one unit (pvm.jit.infer) to one LLVM IR module.

Calling conventions (all native, no Python object is created or changed):

- a function region is an internal fastcc function
  ``{i64, i64} f(<args>, i64 countdown, i64 headroom, ptr state)``. INT args
  are i64, FLOAT double, BOOL i64 (0/1), lists ptr (the host list); NONE args
  are omitted. It returns the step countdown left (>= 1; 1 from a callee
  that takes no step, whose caller's countdown stands) and the result's
  bits (a double bitcast), or countdown 0 after storing the id of the exit
  site it failed at in ``state[STATE_SITE]``. ``headroom`` is how many more
  frames fit under the depth limit. Countdown, headroom and result stay in
  registers across native calls.
- the root of a function unit also gets the entry called from Python, a
  METH_FASTCALL builtin (pvm.jit.entry).
- a loop region: ``i32 loop(ptr buf, ptr state)`` reads the live locals (and
  the range iterators of the enclosing for-loops) from ``buf`` and returns the
  id of the exit site it left by, having written the locals it assigned, and
  the operand stack of that site, back to ``buf``.

``state`` is an i64 array: the step countdown, the call depth and its limit
(pvm.interp semantics: one step per back-edge and per call; native code exits
before the step that would bring the countdown to 0 and before a call past
the depth limit, so tier 0 then runs the checkpoint hook or raises).

Each inference node is lowered once; a node with one predecessor that does
not branch continues its predecessor's basic block. Locals live in allocas
keyed by (local, kind) and the operand stack crosses blocks through allocas
keyed by (depth, kind); SROA turns them into SSA values. Exits are cold
blocks, one per (node, reason).
"""

from __future__ import annotations

import itertools
import re
from typing import Any, NamedTuple

from llvmlite import ir

from pvm.jit import irutils as u
from pvm.jit import slices
from pvm.jit.engine import ENGINE
from pvm.jit.entry import build_entry
from pvm.jit.feedback import STEP_BUDGET
from pvm.jit.infer import Node, Plan, Slot, Unit, as_local
from pvm.jit.irutils import (DIGITS_INLINE, F64, I1, I32, I64, PTR, STATE_COUNTDOWN, STATE_DEPTH, STATE_ENTRIES,
                              STATE_MAX_DEPTH, STATE_SITE, Val, i64)
from pvm.jit.kinds import (BINARY_SYMBOLS, COMPARE_SYMBOLS, LISTS, STORABLE, Const, Entry, Kind, ListIter, SliceKind,
                           SliceOf, binop_kind, builtin_kind, const_kind)
from pvm.jit.kinds import math_kind, unary_kind
from pvm.opcodes import Op

MAX_TWINS = 3          # recursive functions: at most this many twins (levels inlined per native call)
TWIN_NODES = 160       # and no more inference nodes than this in a function and its inlined twins
RESULT = ir.LiteralStructType([I64, I64])     # (countdown left, result bits) of a native function
ITER_FIELDS = 4        # RITER: start, step, length, index
RANGE_FIELDS = 3       # RANGE: start, stop, step
LIST_ITER_FIELDS = 2   # ListIter: the list's address, index
SLICE_FIELDS = 3       # SliceKind: start, stop, step
SLICE_OF_FIELDS = 4    # SliceOf: the list's address, first index, step, length
DROPPED = -1           # an entry iterator's third field once native code has dropped it (the fourth: where)


class Site(NamedTuple):
    """Where native code can stop: the region, the instruction tier 0
    resumes at, the operand stack and the locals' states there, and why."""

    plan: Plan
    pc: int
    stack: tuple[Entry, ...]
    env: tuple[Slot, ...]
    reason: str           # '' for a normal way out of a loop region
    static: bool = False  # an instruction native code never runs (a side exit), not a failed check


class Layout(NamedTuple):
    """Where a loop region's state sits in its i64 buffer: slot i holds the
    value of local ``plan.slots[i]``, then the iterators, then an exit's stack."""

    iterator: int                      # first of the ITER_FIELDS slots per range iterator at entry
    stack: int                         # first slot of the operand stack at an exit
    size: int


def slots_of(entry: Entry) -> int:
    if entry is Kind.RITER:
        return ITER_FIELDS
    if type(entry) is ListIter:
        return LIST_ITER_FIELDS
    if entry is Kind.RANGE:
        return RANGE_FIELDS
    if type(entry) is SliceKind:
        return SLICE_FIELDS
    if type(entry) is SliceOf:
        return SLICE_OF_FIELDS
    return 0 if isinstance(entry, Const) or entry is Kind.NONE else 1


def has_value(state: Slot) -> bool:
    """A local state with a runtime value (not NONE, unbound or opaque)."""
    return state in STORABLE and state is not Kind.NONE


_serials = itertools.count(1)


def symbol_for(label: str) -> str:
    """A symbol name unique in the process: every VM's code shares the engine."""
    return f"pvm{next(_serials)}_" + re.sub(r"[^A-Za-z0-9_]", "_", label)[:60]


def native_params(plan: Plan) -> list[ir.Type]:
    return [F64 if k is Kind.FLOAT else I64 if k in (Kind.INT, Kind.BOOL) else PTR
            for k in plan.params if k is not Kind.NONE]


def loop_layout(plan: Plan) -> Layout:
    iterator = len(plan.slots)
    stack = iterator + ITER_FIELDS * len(plan.initial)
    return Layout(iterator, stack, stack + ITER_FIELDS * (plan.code.max_stack + 1))


class ModuleLowering:
    """Builds the IR module of a unit: the root region and its native callees."""

    def __init__(self, unit: Unit, root: Plan, symbol: str, entry: dict[str, Any] | None = None,
                 twins: bool = False) -> None:
        self.module = ir.Module(name=symbol)
        self.module.triple, self.module.data_layout = ENGINE.triple_and_layout()
        self.unit = unit
        self.root = root
        self.symbol = symbol
        self.sites: list[Site] = []
        self.functions: dict[int, ir.Function] = {}
        self.layout: Layout | None = None
        self.text = ""
        self.addresses: dict[str, int] = {}    # the entry's external symbols and their addresses
        self.entry = entry or {}      # function roots: keyword arguments of pvm.jit.entry.build_entry
        # twins of recursive functions (see recursive_plans), by id of the plan
        recursive = recursive_plans(unit) if twins else {}
        self.twins: list[dict[int, ir.Function]] = [{} for _ in range(twin_count(unit, recursive))]
        # callees that take no step (no native call, no back-edge): they return 1 for the countdown on
        # success, a constant LLVM folds into the caller's test once inlined (see _RegionLowering._call)
        self.leaves = {id(plan) for plan in unit.live() if plan.mode == "function" and plan is not root
                       and not any(map(plan.takes_a_step, plan.nodes))}
        for index, plan in enumerate(p for p in unit.live() if p.mode == "function"):
            name = f"{symbol}_f{index}" if plan is not root else symbol
            self.functions[id(plan)] = self._declare(plan, name + "_impl")
            if id(plan) in recursive:
                for level, copies in enumerate(self.twins):
                    twin = copies[id(plan)] = self._declare(plan, f"{name}_twin{level}")
                    twin.attributes.add("alwaysinline")

    def _declare(self, plan: Plan, name: str) -> ir.Function:
        fn = ir.Function(self.module, ir.FunctionType(RESULT, native_params(plan) + [I64, I64, PTR]), name)
        fn.linkage = "internal"
        fn.calling_convention = "fastcc"
        return fn

    def build(self) -> str:
        # level k of a recursion calls level k + 1's twins (the last level the functions themselves), so
        # that LLVM, which never inlines a function into itself, inlines every twin (alwaysinline): one
        # native call per 1 + len(twins) levels of the recursion, as gcc -O2 unrolls fib's
        own = [self.functions, *self.twins]
        called = [{**self.functions, **copies} for copies in own]
        for plan in self.unit.live():
            for level, functions in enumerate(own):
                if id(plan) in functions and plan.mode == "function":
                    _RegionLowering(self, plan, functions[id(plan)], called[(level + 1) % len(own)]).lower()
        if self.root.mode == "function":
            self.addresses = build_entry(self.module, self.symbol, self.functions[id(self.root)], self.root.params,
                                         self.root.ret, **self.entry)
        else:
            fn = ir.Function(self.module, ir.FunctionType(I32, [PTR, PTR]), self.symbol)
            self.layout = loop_layout(self.root)
            _RegionLowering(self, self.root, fn, self.functions).lower()
        self.text = str(self.module)
        return self.text

    def site(self, site: Site) -> int:
        self.sites.append(site)
        return len(self.sites) - 1


class _RegionLowering:
    """Emits the body of one region (implements irutils.Emitter)."""

    def __init__(self, owner: ModuleLowering, plan: Plan, fn: ir.Function, callees: dict[int, ir.Function]) -> None:
        self.owner = owner
        self.callees = callees     # the function each callee plan (by id) is called as
        self.module = owner.module
        self.plan = plan
        self.fn = fn
        self.loop = plan.mode == "loop"
        self.entry = fn.append_basic_block("entry")
        self.b = ir.IRBuilder(self.entry)
        self.state = fn.args[-1]
        self.buf = fn.args[0] if self.loop else None
        self.countdown = self.entry_alloca(I64)
        self.headroom: ir.Value = i64(0)
        self.slots: dict[tuple[Any, ...], ir.Value] = {}
        self.blocks: dict[int, ir.Block] = {}
        self.node: Node = plan.nodes[0]
        self.at_start: list[Val] = []        # the stack when the current instruction began
        # loops: per kinds of the locals an exit writes back, the block that writes them and returns
        self.tails: dict[tuple[tuple[int, Kind], ...], ir.Block] = {}
        self.exit_blocks: dict[tuple[int, str], ir.Block] = {}
        self.exit_id: ir.Value | None = None
        self.returned: tuple[ir.PhiInstr, ir.PhiInstr] | None = None    # function regions: see _return
        self.dropped: dict[int, ir.Value] = {}   # loops: per entry iterator, whether native code dropped it
        self.position = {index: position for position, index in enumerate(plan.slots)}
        preds = [0] * len(plan.nodes)
        for node in plan.nodes:
            for succ in node.succ:
                preds[succ] += 1
        # a node continues its predecessor's block when it is its only, non-branching predecessor
        self.starts = {0} | {n.id for n in plan.nodes if preds[n.id] != 1}
        self.starts |= {succ for n in plan.nodes if len(n.succ) > 1 for succ in n.succ}

    # --- Emitter interface ---

    def entry_alloca(self, typ: ir.Type) -> ir.Value:
        saved = self.b.block
        self.b.position_at_start(self.entry)
        slot = self.b.alloca(typ)
        self.b.position_at_end(saved)
        return slot

    def fail_if(self, cond: ir.Value, reason: str) -> None:
        ok = self.fn.append_basic_block("ok")
        key = (self.node.id, reason)
        bad = self.exit_blocks.get(key)
        if bad is None:
            # one exit block per node and reason: the stack there is the same
            here = self.b.block
            bad = self.exit_blocks[key] = self.fn.append_basic_block("exit")
            self.b.position_at_end(bad)
            self._exit(self.node, self.at_start, reason)
            self.b.position_at_end(here)
        self.b.cbranch(cond, bad, ok).set_weights([1, 1 << 20])
        self.b.position_at_end(ok)

    # --- Storage ---

    def _state(self, index: int) -> ir.Value:
        return self.b.gep(self.state, [i64(index)], source_etype=I64)

    def _buf(self, index: int) -> ir.Value:
        return self.b.gep(self.buf, [i64(index)], source_etype=I64)

    def _slot(self, key: tuple[Any, ...], typ: ir.Type) -> ir.Value:
        slot = self.slots.get(key)
        if slot is None:
            slot = self.slots[key] = self.entry_alloca(typ)
        return slot

    def _local(self, position: int, kind: Kind) -> ir.Value:
        return self._slot(("local", position, kind), u.LLTYPE[kind])

    def _to_bits(self, value: ir.Value) -> ir.Value:
        if value.type == F64:
            return self.b.bitcast(value, I64)
        if value.type == I1:
            return self.b.zext(value, I64)
        if value.type == PTR:
            return self.b.ptrtoint(value, I64)
        return value

    def _from_bits(self, bits: ir.Value, typ: ir.Type) -> ir.Value:
        if typ == F64:
            return self.b.bitcast(bits, F64)
        if typ == I1:
            return self.b.icmp_signed("!=", bits, i64(0))
        if typ == PTR:
            return self.b.inttoptr(bits, PTR)
        return bits

    def _step(self) -> ir.Value:
        """The countdown after one step (a back-edge or a call), exiting first if
        it would reach 0. The test is the one a native call's result gets
        (``left <= 0``), so that once a callee is inlined LLVM sees its success
        path test the same value again and drops that test."""
        left = self.b.sub(self.b.load(self.countdown, typ=I64), i64(1))
        self.fail_if(self.b.icmp_signed("<=", left, i64(0)), STEP_BUDGET)
        return left

    def _fail_result(self) -> None:
        self._return(i64(0), i64(0))

    def _return(self, left: ir.Value, bits: ir.Value) -> None:
        """Return (countdown left, result bits) from a function region through
        its one return block, whose two fields are separate phis: LLVM would
        merge the returns into a phi of structs, through which a caller that
        inlined the function cannot see that the countdown of a successful
        leaf call is the constant 1."""
        if self.returned is None:
            block = self.fn.append_basic_block("return")
            builder = ir.IRBuilder(block)
            self.returned = (builder.phi(I64), builder.phi(I64))
            result = builder.insert_value(ir.Constant(RESULT, ir.Undefined), self.returned[0], 0)
            builder.ret(builder.insert_value(result, self.returned[1], 1))
        for phi, value in zip(self.returned, (left, bits)):
            phi.add_incoming(value, self.b.block)
        self.b.branch(self.returned[0].parent)

    # --- Region entry and the node graph ---

    def lower(self) -> None:
        plan = self.plan
        b = self.b
        stack: list[Val] = []
        if self.loop:
            layout = self.owner.layout
            assert layout is not None
            for position, state in enumerate(plan.entry_env):
                if has_value(state):
                    typ = u.LLTYPE[state]   # type: ignore[index]
                    b.store(self._from_bits(b.load(self._buf(position), typ=I64), typ), self._local(position, state))
            for first, kind in zip(range(layout.iterator, layout.stack, ITER_FIELDS), plan.initial):
                if kind is Kind.RITER or type(kind) is ListIter:
                    self.dropped[len(stack)] = self.entry_alloca(I1)
                    b.store(ir.Constant(I1, 0), self.dropped[len(stack)])
                    stack.append(Val(kind, tuple(b.load(self._buf(first + i), typ=I64)
                                                 for i in range(slots_of(kind)))))
                else:
                    stack.append(Val(kind, self._from_bits(b.load(self._buf(first), typ=I64), PTR)))
            b.store(b.load(self._state(STATE_COUNTDOWN), typ=I64), self.countdown)
            headroom = b.sub(b.load(self._state(STATE_MAX_DEPTH), typ=I64), b.load(self._state(STATE_DEPTH), typ=I64))
            self.headroom = b.select(b.icmp_signed(">", headroom, i64(u.NATIVE_DEPTH)), i64(u.NATIVE_DEPTH), headroom)
        else:
            *_, countdown, self.headroom, _ = self.fn.args
            b.store(countdown, self.countdown)
            if self.owner.entry.get("tier_up_after") is not None:
                # tier 1 counts native calls too: a recursion entered once from tier 0 is hot as well
                calls = self._state(STATE_ENTRIES)
                b.store(b.add(b.load(calls, typ=I64), i64(1)), calls)
            args = iter(self.fn.args)
            for position, kind in enumerate(plan.params):
                if kind is not Kind.NONE:
                    arg = next(args)
                    b.store(b.trunc(arg, I1) if kind is Kind.BOOL else arg, self._local(position, kind))
        self._jump(plan.nodes[0], stack)
        for node in plan.nodes:
            if node.id in self.starts:
                b.position_at_end(self._block(node))
                self._run_from(node, self._reload(node.stack))
        self._finish_tails()

    def _block(self, node: Node) -> ir.Block:
        block = self.blocks.get(node.id)
        if block is None:
            block = self.blocks[node.id] = self.fn.append_basic_block(f"pc{node.pc}.{node.id}")
        return block

    def _run_from(self, node: Node, stack: list[Val]) -> None:
        """Emit ``node`` and the nodes that continue its block."""
        nodes = self.plan.nodes
        while True:
            self.node = node
            self.at_start = list(stack)
            if node.exit is not None:
                self._exit(node, stack, node.exit, node.static)
                return
            following = self._instruction(node, stack)
            if following is None:
                return
            succ = nodes[following]
            if succ.id in self.starts:
                self._jump(succ, stack)
                return
            node = succ

    def _jump(self, node: Node, stack: list[Val]) -> None:
        self._spill(stack)
        self.b.branch(self._block(node))

    def _spill(self, stack: list[Val]) -> None:
        for depth, val in enumerate(stack):
            if val.v is None:
                continue
            values = val.v if isinstance(val.v, tuple) else (val.v,)
            for field, value in enumerate(values):
                self.b.store(value, self._slot(("stack", depth, val.kind, field), value.type))

    def _reload(self, entries: tuple[Entry, ...]) -> list[Val]:
        stack = []
        for depth, entry in enumerate(entries):
            count = slots_of(entry)
            if count == 0:
                stack.append(Val(entry, None))
                continue
            types = [I64] * count if count > 1 else [u.LLTYPE[entry]]   # type: ignore[index]
            values = tuple(self.b.load(self._slot(("stack", depth, entry, f), t), typ=t) for f, t in enumerate(types))
            stack.append(Val(entry, values if count > 1 else values[0]))
        return stack

    # --- Exits ---

    def _exit(self, node: Node, stack: list[Val], reason: str, static: bool = False) -> None:
        """Leave native code so that tier 0 resumes at ``node.pc`` with ``stack``."""
        b = self.b
        entries = tuple(v.kind for v in stack)
        site = self.owner.site(Site(self.plan, node.pc, entries, node.env, reason, static))
        if not self.loop:
            b.store(i64(site), self._state(STATE_SITE))
            self._fail_result()
            return
        layout = self.owner.layout
        assert layout is not None
        position = layout.stack
        for val in stack:
            if val.v is None:
                continue
            for value in val.v if isinstance(val.v, tuple) else (val.v,):
                b.store(self._to_bits(value), self._buf(position))
                position += 1
        if self.exit_id is None:
            self.exit_id = self.entry_alloca(I32)
        written = tuple((position, node.env[position]) for position in self.plan.written
                        if has_value(node.env[position]))
        tail = self.tails.get(written)
        if tail is None:
            tail = self.tails[written] = self.fn.append_basic_block("writeback")
        b.store(ir.Constant(I32, site), self.exit_id)
        b.branch(tail)

    def _finish_tails(self) -> None:
        """The blocks loop exits end in, one per kinds of the assigned locals (most exits share one,
        which keeps the IR of a loop with many guards small): the locals go back to the buffer."""
        b = self.b
        for written, tail in self.tails.items():
            b.position_at_end(tail)
            for position, state in written:
                value = b.load(self._local(position, state), typ=u.LLTYPE[state])   # type: ignore[index]
                b.store(self._to_bits(value), self._buf(position))
            b.store(b.load(self.countdown, typ=I64), self._state(STATE_COUNTDOWN))
            b.ret(b.load(self.exit_id, typ=I32))

    # --- Instructions: emit one; return the node that follows, or None ---

    def _instruction(self, node: Node, stack: list[Val]) -> int | None:  # noqa: C901 - one dispatch by design
        plan = self.plan
        b = self.b
        op, arg = plan.code.decoded[node.pc]
        op, arg = as_local(plan, op, arg)
        if op == Op.LOAD_FAST:
            position = self.position[arg]
            kind = node.env[position]
            assert kind in STORABLE
            value = b.load(self._local(position, kind), typ=u.LLTYPE[kind]) if kind is not Kind.NONE else None
            stack.append(Val(kind, value))
        elif op == Op.STORE_FAST:
            val = stack.pop()
            if type(val.kind) is SliceOf:
                val = slices.make_list(self, self.state, val)
            if val.v is not None:
                b.store(val.v, self._local(self.position[arg], val.kind))
        elif op == Op.DELETE_FAST:
            pass                     # the next node's env says the local is unbound
        elif op == Op.LOAD_CONST:
            stack.append(u.const_val(const_kind(arg), arg))
        elif op == Op.LOAD_ATTR and stack[-1].kind in LISTS:
            stack.append(Val(Kind.APPEND, stack.pop().v))
        elif op in (Op.LOAD_GLOBAL, Op.LOAD_ATTR):
            if op == Op.LOAD_ATTR:
                stack.pop()
            assert node.value is not None
            entry, value = node.value
            stack.append(Val(entry, None) if isinstance(entry, Const) else u.const_val(entry, value))
        elif op == Op.BINARY_OP:
            right, left = stack.pop(), stack.pop()
            sym = BINARY_SYMBOLS[arg]
            stack.append(u.binop(self, sym, binop_kind(sym, left.kind, right.kind), left, right))
        elif op == Op.COMPARE_OP:
            right, left = stack.pop(), stack.pop()
            stack.append(u.compare(self, COMPARE_SYMBOLS[arg], left, right))
        elif op in (Op.UNARY_NEGATIVE, Op.UNARY_POSITIVE, Op.UNARY_INVERT, Op.UNARY_NOT):
            name = Op(op).name
            val = stack.pop()
            stack.append(u.unary(self, name, unary_kind(name, val.kind), val))
        elif op == Op.IS_OP:
            right, left = stack.pop(), stack.pop()
            same = left.kind is Kind.NONE and right.kind is Kind.NONE
            stack.append(Val(Kind.BOOL, ir.Constant(I1, int(same != bool(arg)))))
        elif op in (Op.POP_JUMP_IF_FALSE, Op.POP_JUMP_IF_TRUE, Op.JUMP_IF_FALSE_OR_POP, Op.JUMP_IF_TRUE_OR_POP):
            self._branch(node, op, stack)
            return None
        elif op in (Op.JUMP_FORWARD, Op.JUMP_BACKWARD):
            if op == Op.JUMP_BACKWARD:
                b.store(self._step(), self.countdown)
            return node.succ[0]
        elif op == Op.POP_TOP:
            val = stack.pop()
            if val.kind is Kind.RITER or type(val.kind) is ListIter:
                self._drop(len(stack), val)
        elif op == Op.COPY:
            stack.append(stack[-arg])
        elif op == Op.SWAP:
            stack[-1], stack[-arg] = stack[-arg], stack[-1]
        elif op == Op.GET_ITER:
            val = stack.pop()
            if val.kind is Kind.RANGE:
                stack.append(self._range_iter(val))
            else:
                if type(val.kind) is SliceOf:
                    val = slices.make_list(self, self.state, val)
                stack.append(Val(ListIter(val.kind), (b.ptrtoint(val.v, I64), i64(0))))
        elif op == Op.FOR_ITER:
            if stack[-1].kind is Kind.RITER:
                self._for_iter(node, stack)
            else:
                self._for_list(node, stack)
            return None
        elif op == Op.UNPACK_SEQUENCE:
            stack.extend(u.unpack_tuple(self, stack.pop(), DIGITS_INLINE))
        elif op == Op.BUILD_SLICE:
            parts = stack[len(stack) - arg:]
            del stack[len(stack) - arg:]
            stack.append(slices.build_slice(self, parts))
        elif op == Op.BINARY_SUBSCR:
            index, container = stack.pop(), stack.pop()
            if type(index.kind) is SliceKind:
                stack.append(slices.list_slice(self, container, index))
            else:
                stack.append(u.list_item(self, container, index, DIGITS_INLINE))
        elif op == Op.LIST_APPEND:
            value = stack.pop()
            u.list_append(self, stack[-arg], value)
        elif op == Op.STORE_SUBSCR:
            index, container, value = stack.pop(), stack.pop(), stack.pop()
            if type(index.kind) is SliceKind:
                slices.assign_slice(self, container, index, value)
            else:
                u.list_store(self, container, index, value)
        elif op == Op.CALL:
            if len(node.succ) == 2:
                self._split_min_max(node, stack)
                return None
            self._call(node, arg, stack)
        elif op == Op.RETURN_VALUE:
            val = stack.pop()
            bits = self._to_bits(val.v) if val.v is not None else i64(0)
            self._return(i64(1) if id(self.plan) in self.owner.leaves else b.load(self.countdown, typ=I64), bits)
            return None
        else:
            raise AssertionError(f"{Op(op).name} reached lowering")
        return node.succ[0]

    def _branch(self, node: Node, op: int, stack: list[Val]) -> None:
        """Conditional jumps: successors are (fallthrough, taken) for POP_JUMP_IF_*
        and (taken, fallthrough) for JUMP_IF_*_OR_POP, as inference lists them."""
        nodes = self.plan.nodes
        if op in (Op.POP_JUMP_IF_FALSE, Op.POP_JUMP_IF_TRUE):
            cond = u.truth(self, stack.pop())
            fallthrough, taken = (nodes[i] for i in node.succ)
        else:
            cond = u.truth(self, stack[-1])
            taken, fallthrough = (nodes[i] for i in node.succ)
        self._spill(stack)
        if op in (Op.POP_JUMP_IF_TRUE, Op.JUMP_IF_TRUE_OR_POP):
            self.b.cbranch(cond, self._block(taken), self._block(fallthrough))
        else:
            self.b.cbranch(cond, self._block(fallthrough), self._block(taken))

    def _split_min_max(self, node: Node, stack: list[Val]) -> None:
        """min/max of two values of different kinds: continue in the node of the winner's kind."""
        assert node.call is not None
        first, second = stack[-2], stack[-1]
        del stack[-3:]
        better = u.compare(self, "<" if node.call.name == "min" else ">", second, first).v
        keep, take = (self.fn.append_basic_block(name) for name in ("first", "second"))
        self.b.cbranch(better, take, keep)
        for block, winner, succ in ((keep, first, node.succ[0]), (take, second, node.succ[1])):
            self.b.position_at_end(block)
            self._jump(self.plan.nodes[succ], stack + [winner])

    def _range_iter(self, rng: Val) -> Val:
        b = self.b
        start, stop, step = rng.v
        up = b.icmp_signed(">", step, i64(0))
        diff = b.select(up, b.sub(stop, start), b.sub(start, stop))
        nonempty = b.select(up, b.icmp_signed("<", start, stop), b.icmp_signed(">", start, stop))
        magnitude = b.select(up, step, b.sub(i64(0), step))
        length = b.add(b.udiv(b.sub(diff, i64(1)), magnitude), i64(1))
        length = b.select(nonempty, length, i64(0))
        self.fail_if(b.icmp_signed("<", length, i64(0)), "range longer than int64")
        return Val(Kind.RITER, (start, step, length, i64(0)))

    def _for_iter(self, node: Node, stack: list[Val]) -> None:
        b = self.b
        body, done = (self.plan.nodes[i] for i in node.succ)
        start, step, length, index = stack[-1].v
        more = b.icmp_signed("<", index, length)
        next_block = self.fn.append_basic_block("next")
        done_block = self.fn.append_basic_block("exhausted")
        b.cbranch(more, next_block, done_block)
        b.position_at_end(next_block)
        value = b.add(start, b.mul(index, step))
        advanced = stack[:-1] + [Val(Kind.RITER, (start, step, length, b.add(index, i64(1)))), Val(Kind.INT, value)]
        self._jump(body, advanced)
        b.position_at_end(done_block)
        self._drop(len(stack) - 1, stack[-1])
        self._jump(done, stack[:-1])

    def _for_list(self, node: Node, stack: list[Val]) -> None:
        """FOR_ITER over a list: the element's type is checked as a subscript's
        is (failing exits before FOR_ITER, the iterator unmoved)."""
        b = self.b
        body, done = (self.plan.nodes[i] for i in node.succ)
        it = stack[-1]
        address, index = it.v
        lst = Val(it.kind.of, b.inttoptr(address, PTR))
        more = b.icmp_signed("<", index, u.list_size(self, lst.v))
        next_block = self.fn.append_basic_block("next")
        done_block = self.fn.append_basic_block("exhausted")
        b.cbranch(more, next_block, done_block)
        b.position_at_end(next_block)
        item = u.list_item(self, lst, Val(Kind.INT, index), DIGITS_INLINE)
        self._jump(body, stack[:-1] + [Val(it.kind, (address, b.add(index, i64(1)))), item])
        b.position_at_end(done_block)
        self._drop(len(stack) - 1, it)
        self._jump(done, stack[:-1])

    def _drop(self, depth: int, iterator: Val) -> None:
        """An iterator leaves the stack. The first to leave at the depth of an
        iterator the loop was entered with is that very object (any other
        comes later): its position goes back to the buffer, for pvm.jit.native
        to move the host iterator on, which may be held elsewhere too (and
        which must not stand for another iterator on an exit's stack)."""
        dropped = self.dropped.get(depth)
        if dropped is None:
            return
        b = self.b
        first = self.owner.layout.iterator + ITER_FIELDS * depth
        index = iterator.v[3] if iterator.kind is Kind.RITER else iterator.v[1]
        with b.if_then(b.not_(b.load(dropped, typ=I1))):
            b.store(i64(DROPPED), self._buf(first + 2))
            b.store(index, self._buf(first + 3))
            b.store(ir.Constant(I1, 1), dropped)

    def _call(self, node: Node, nargs: int, stack: list[Val]) -> None:
        b = self.b
        call = node.call
        assert call is not None
        args = stack[len(stack) - nargs:]
        target = stack[-nargs - 1]
        del stack[len(stack) - nargs - 1:]
        if call.what == "append":
            u.list_append(self, target, args[0])
            stack.append(Val(Kind.NONE, None))
            return
        if call.what == "builtin":
            kind = builtin_kind(call.name, [a.kind for a in args])
            stack.append(u.builtin(self, call.name, kind, args))
            return
        if call.what == "math":
            kind = math_kind(call.name, [a.kind for a in args])
            stack.append(u.math_call(self, call.name, kind, args))
            return
        callee = call.callee
        assert callee is not None and callee.ret is not None
        self.fail_if(b.icmp_signed("<=", self.headroom, i64(0)), "call depth")
        countdown = self._step()
        values = args + [u.const_val(const_kind(d), d) for d in call.defaults]
        native_args = [b.zext(val.v, I64) if val.kind is Kind.BOOL else val.v
                       for val in values if val.kind is not Kind.NONE]
        native_args += [countdown, b.sub(self.headroom, i64(1)), self.state]
        result = b.call(self.callees[id(callee)], native_args, cconv="fastcc")
        left = b.extract_value(result, 0)
        ok = self.fn.append_basic_block("call.ok")
        bad = self.fn.append_basic_block("call.exit")
        b.cbranch(b.icmp_signed("<=", left, i64(0)), bad, ok).set_weights([1, 1 << 20])
        b.position_at_end(bad)
        if self.loop:
            self._exit(node, self.at_start, "a native call exited")
        else:
            self._fail_result()
        b.position_at_end(ok)
        # a leaf took no step of its own: this call's is all
        b.store(countdown if id(callee) in self.owner.leaves else left, self.countdown)
        bits = b.extract_value(result, 1)
        kind = callee.ret
        if kind is Kind.NONE:
            stack.append(Val(kind, None))
        else:
            stack.append(Val(kind, b.icmp_signed("!=", bits, i64(0)) if kind is Kind.BOOL
                             else self._from_bits(bits, u.LLTYPE[kind])))


def recursive_plans(unit: Unit) -> dict[int, Plan]:
    """The function regions of ``unit`` (by id) that can reach themselves by native calls."""
    plans = {id(plan): plan for plan in unit.live() if plan.mode == "function"}
    calls = {key: [id(node.call.callee) for node in plan.nodes if node.call is not None and node.call.callee]
             for key, plan in plans.items()}
    found = {}
    for start in calls:
        seen, todo = set(), list(calls[start])
        while todo:
            at = todo.pop()
            if at not in seen:
                seen.add(at)
                todo.extend(calls.get(at, ()))
        if start in seen:
            found[start] = plans[start]
    return found


def twin_count(unit: Unit, recursive: dict[int, Plan]) -> int:
    """How many twins the recursive functions get: each level inlines every
    recursive call of the one before, so a function making c of them grows
    by c**k bodies at the k-th; levels are added while the whole stays
    within TWIN_NODES (fib, 18 nodes and 2 calls: 2 twins, 7 bodies)."""
    if not recursive:
        return 0
    nodes = sum(len(plan.nodes) for plan in recursive.values())
    calls = max(sum(1 for node in plan.nodes if node.call is not None and id(node.call.callee) in recursive)
                for plan in recursive.values())
    count, bodies, width = 0, 1, 1
    while count < MAX_TWINS:
        width *= calls
        if (bodies + width) * nodes > TWIN_NODES:
            break
        bodies += width
        count += 1
    return count


def lower_unit(unit: Unit, root: Plan, symbol: str, entry: dict[str, Any] | None = None,
               twins: bool = False) -> ModuleLowering:
    """Lower every live region of ``unit``; ``root`` gets the exported ``symbol``
    (a function root: the Python entry built by pvm.jit.entry with ``entry``);
    ``twins``: recursive functions get twins (tier 2)."""
    lowering = ModuleLowering(unit, root, symbol, entry, twins)
    lowering.build()
    return lowering
