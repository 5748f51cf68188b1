"""LLVM IR for slices of lists: ``xs[a:b:c]`` as a pending slice (SliceOf:
the list, first index, step and length), made into a list only when a loop
region stores it to a variable or iterates over it, and slice assignments
of the same length copied element by element without making one
(fannkuch's ``perm[:k + 1] = perm[k::-1]``).

A list native code makes is handed to the *nursery*, a host list that holds
it until the loop hands back (native code then only ever borrows): that is
when pvm.jit.native registers those a variable or the stack still holds with
the heap, charges the heap for all of them, and empties the nursery. The
bytes made per entry are capped by a budget the loop is entered with, so a
loop making lists hands back now and then, and under a memory limit only
makes what fits under it.
"""

from __future__ import annotations

from typing import Callable

from llvmlite import ir

from pvm.heap import HEADER_BYTES, WORD_BYTES
from pvm.jit.feedback import LIST_BUDGET
from pvm.jit.irutils import (I32, I64, OB_ITEM, PTR, STATE_CREATED, STATE_LIST_BUDGET, STATE_NURSERY, Emitter, Val,
                             check_type, declare, decref, fail_clearing, field, i64, incref, list_size, load_slot,
                             replace_slot, store_slot)
from pvm.jit.kinds import ELEMENT, INT64_MAX, Kind, SliceKind, SliceOf

SAME_LIST_BUFFER = 256       # a slice assignment from the list itself goes through a buffer of this many items


def build_slice(em: Emitter, parts: list[Val]) -> Val:
    """BUILD_SLICE: int64 fields, a None part a placeholder its kind marks."""
    b = em.b
    kinds = tuple(p.kind for p in parts) + (Kind.NONE,) * (3 - len(parts))
    values = tuple(i64(0) if p.kind is Kind.NONE else b.zext(p.v, I64) if p.kind is Kind.BOOL else p.v
                   for p in parts) + (i64(0),) * (3 - len(parts))
    return Val(SliceKind(kinds), values)


def _indices(em: Emitter, index: Val, length: ir.Value) -> tuple[ir.Value, ir.Value, ir.Value]:
    """(first index, step, length) of slice ``index`` over a sequence of
    ``length`` items, as CPython's PySlice_Unpack and PySlice_AdjustIndices
    work them out (a zero step exits: tier 0 raises its ValueError)."""
    b = em.b
    start_kind, stop_kind, step_kind = index.kind.parts
    start, stop, step = index.v
    if step_kind is Kind.NONE:
        step = i64(1)
    else:
        em.fail_if(b.icmp_signed("==", step, i64(0)), "slice step is zero")
        step = b.select(b.icmp_signed("<", step, i64(-INT64_MAX)), i64(-INT64_MAX), step)
    down = b.icmp_signed("<", step, i64(0))
    if start_kind is Kind.NONE:
        start = b.select(down, i64(INT64_MAX), i64(0))
    if stop_kind is Kind.NONE:
        stop = b.select(down, i64(-INT64_MAX - 1), i64(INT64_MAX))

    def clamp(x: ir.Value) -> ir.Value:
        wrapped = b.add(x, length)
        low = b.select(b.icmp_signed("<", wrapped, i64(0)), b.select(down, i64(-1), i64(0)), wrapped)
        high = b.select(down, b.sub(length, i64(1)), length)
        return b.select(b.icmp_signed("<", x, i64(0)), low,
                        b.select(b.icmp_signed(">=", x, length), high, x))

    start, stop = clamp(start), clamp(stop)
    span = b.select(down, b.sub(start, stop), b.sub(stop, start))
    magnitude = b.select(down, b.neg(step), step)
    count = b.add(b.udiv(b.sub(span, i64(1)), magnitude), i64(1))
    return start, step, b.select(b.icmp_signed(">", span, i64(0)), count, i64(0))


def list_slice(em: Emitter, lst: Val, index: Val) -> Val:
    """``lst[index]`` of a slice: pending, nothing made yet."""
    start, step, count = _indices(em, index, list_size(em, lst.v))
    return Val(SliceOf(lst.kind), (em.b.ptrtoint(lst.v, I64), start, step, count))


def as_pending(em: Emitter, source: Val) -> Val:
    """A whole list as a pending slice of itself (``xs[:] = ys``)."""
    if type(source.kind) is SliceOf:
        return source
    return Val(SliceOf(source.kind), (em.b.ptrtoint(source.v, I64), i64(0), i64(1), list_size(em, source.v)))


def _for_each(em: Emitter, count: ir.Value, body: Callable[[ir.Value], None]) -> None:
    """Emit ``body(i)`` for i in range(count)."""
    b = em.b
    fn = b.function
    before = b.block
    head, work, done = (fn.append_basic_block(n) for n in ("slice.loop", "slice.body", "slice.done"))
    b.branch(head)
    b.position_at_end(head)
    i = b.phi(I64)
    i.add_incoming(i64(0), before)
    b.cbranch(b.icmp_signed("<", i, count), work, done)
    b.position_at_end(work)
    body(i)
    i.add_incoming(b.add(i, i64(1)), b.block)
    b.branch(head)
    b.position_at_end(done)


def _item_address(em: Emitter, lst: ir.Value, start: ir.Value, step: ir.Value, i: ir.Value) -> ir.Value:
    b = em.b
    return b.gep(field(em, lst, OB_ITEM, PTR, "list.items"), [b.add(start, b.mul(i, step))], source_etype=PTR)


def make_list(em: Emitter, state: ir.Value, pending: Val) -> Val:
    """The list a pending slice stands for, held by the nursery (exits, before
    making anything, once the lists made since entry would pass the budget)."""
    b = em.b
    address, start, step, count = pending.v
    source = b.inttoptr(address, PTR)
    created_at = b.gep(state, [i64(STATE_CREATED)], source_etype=I64)
    created = b.add(b.load(created_at, typ=I64), b.add(i64(HEADER_BYTES), b.mul(count, i64(WORD_BYTES))))
    budget = b.load(b.gep(state, [i64(STATE_LIST_BUDGET)], source_etype=I64), typ=I64)
    em.fail_if(b.icmp_signed(">", created, budget), LIST_BUDGET)
    new = b.call(declare(em.module, "PyList_New", PTR, [I64]), [count])
    fail_clearing(em, b.icmp_unsigned("==", new, ir.Constant(PTR, None)), "out of host memory")
    items = field(em, new, OB_ITEM, PTR, "list.items")

    def copy(i: ir.Value) -> None:
        item = load_slot(em, _item_address(em, source, start, step, i))
        incref(em, item)
        store_slot(em, item, b.gep(items, [i], source_etype=PTR))

    _for_each(em, count, copy)
    nursery = b.inttoptr(b.load(b.gep(state, [i64(STATE_NURSERY)], source_etype=I64), typ=I64), PTR)
    status = b.call(declare(em.module, "PyList_Append", I32, [PTR, PTR]), [nursery, new])
    decref(em, new)        # the nursery's reference is the one left (or, if it failed, the list is freed)
    fail_clearing(em, b.icmp_signed("!=", status, ir.Constant(I32, 0)), "list creation failed")
    b.store(created, created_at)
    return Val(pending.kind.of, new)


def assign_slice(em: Emitter, lst: Val, index: Val, value: Val) -> None:
    """``lst[index] = value`` of a slice, a pending slice or a list of the same
    kind and length (another length resizes the list or raises: tier 0 does
    it). The elements replaced must be numbers, so freeing them runs no code;
    that is checked before anything changes."""
    b = em.b
    start, step, count = _indices(em, index, list_size(em, lst.v))
    source = as_pending(em, value)
    address, from_start, from_step, from_count = source.v
    em.fail_if(b.icmp_signed("!=", count, from_count), "a slice assignment of another length")
    from_list = b.inttoptr(address, PTR)
    same = b.icmp_unsigned("==", from_list, lst.v)
    last = b.add(start, b.mul(b.sub(count, i64(1)), step))
    mirrored = b.and_(same, b.and_(b.icmp_signed("==", from_step, b.neg(step)),
                                   b.icmp_signed("==", from_start, last)))
    with b.if_else(mirrored) as (reversal, general):
        with reversal:
            # the same items in reverse order (fannkuch's flips): swapped in place, no count changes
            def swap(i: ir.Value) -> None:
                low = _item_address(em, lst.v, start, step, i)
                high = _item_address(em, lst.v, last, b.neg(step), i)
                item = load_slot(em, low)
                store_slot(em, load_slot(em, high), low)
                store_slot(em, item, high)

            _for_each(em, b.sdiv(count, i64(2)), swap)
        with general:
            _copy_items(em, lst, start, step, count, from_list, from_start, from_step, same)


def _copy_items(em: Emitter, lst: Val, start: ir.Value, step: ir.Value, count: ir.Value, from_list: ir.Value,
                from_start: ir.Value, from_step: ir.Value, same: ir.Value) -> None:
    b = em.b
    element = ELEMENT[lst.kind]
    _for_each(em, count, lambda i: check_type(em, load_slot(em, _item_address(em, lst.v, start, step, i)), element))
    em.fail_if(b.and_(same, b.icmp_signed(">", count, i64(SAME_LIST_BUFFER))),
               "a long slice assignment from the list itself")
    buffer = em.entry_alloca(ir.ArrayType(PTR, SAME_LIST_BUFFER))

    def take(i: ir.Value) -> ir.Value:
        item = load_slot(em, _item_address(em, from_list, from_start, from_step, i))
        incref(em, item)
        return item

    def put(i: ir.Value, item: ir.Value) -> None:
        target = _item_address(em, lst.v, start, step, i)
        replace_slot(em, target, item, load_slot(em, target))

    def buffered(i: ir.Value) -> ir.Value:
        return b.gep(buffer, [i64(0), i])

    with b.if_else(same) as (overlapping, apart):
        with overlapping:
            _for_each(em, count, lambda i: b.store(take(i), buffered(i)))
            _for_each(em, count, lambda i: put(i, b.load(buffered(i), typ=PTR)))
        with apart:
            _for_each(em, count, lambda i: put(i, take(i)))
