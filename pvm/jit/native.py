"""Compiled versions as the interpreter calls them: their entries, guards,
and the translation of native results and exits back into tier-0 values and
frame state.

A function version is entered through a native builtin (pvm.jit.entry); a
loop version, entered once per loop execution, through ``ctypes.PYFUNCTYPE``.
Both keep the GIL held, so no other thread can touch the lists native code
reads. Native code never keeps a pointer beyond the call: list arguments are
alive in the caller's locals or the frame for the whole call. It creates a
function's boxed result, and in loops the numbers it stores and the lists it
makes (pvm.jit.slices), which a loop version's nursery holds until it hands
back.
"""

from __future__ import annotations

import ctypes
from typing import TYPE_CHECKING, Any

from pvm.frames import NO_NATIVE, UNBOUND
from pvm.heap import size_of
from pvm.jit.engine import ENGINE, Compiled
from pvm.jit.entry import make_builtin
from pvm.jit.feedback import MISSING, OPAQUE, Stats, entry_stack_key
from pvm.jit.infer import Plan, Unit
from pvm.jit.irutils import (STATE_COUNTDOWN, STATE_CREATED, STATE_DEPTH, STATE_ENTRIES, STATE_LIST_BUDGET,
                             STATE_MAX_DEPTH, STATE_NURSERY, STATE_SIZE)
from pvm.jit.kinds import LISTS, Const, Kind, ListIter, SliceKind, SliceOf, TupleOf
from pvm.jit.lower import (  # noqa: F401 - symbol_for: pvm.jit uses it
    DROPPED, ITER_FIELDS, Site, has_value, lower_unit, slots_of, symbol_for)

if TYPE_CHECKING:
    from pvm.frames import Frame

LIST_BUDGET = 1 << 20      # bytes of lists (pvm.heap's sizes) a loop makes before it hands back
LIST_ITERATOR = type(iter([]))
NUMBERS = frozenset({Kind.INT, Kind.BOOL})


def _object(objects: dict[int, Any], address: int) -> Any:
    """The host object at ``address``: one native code was given, or one it
    read out of those (a list's element, a tuple's item), alive in its
    container since no Python code has run meanwhile."""
    found = objects.get(address)
    return found if found is not None else ctypes.cast(address, ctypes.py_object).value


class Version:
    """One compiled region (and its callees) at one tier."""

    def __init__(self, unit: Unit, plan: Plan, symbol: str, tier: int, tier_up_after: int) -> None:
        self.unit = unit
        self.plan = plan
        self.symbol = symbol
        self.stats = Stats()
        self.guards = tuple({key: guard for p in unit.live() for key, guard in p.guards.items()}.values())
        self.state = (ctypes.c_int64 * STATE_SIZE)()
        self.state_address = ctypes.addressof(self.state)
        self.tier_up_after = tier_up_after
        self.tier = 0
        self.sites: list[Site] = []
        self.compiled: Compiled | None = None
        self.text = ""          # the IR last compiled
        self.compile(tier)

    def compile(self, tier: int) -> None:
        entry = None
        if self.plan.mode == "function":
            entry = dict(guards=self.guards, state=self.state_address, sentinel=NO_NATIVE, missing=MISSING,
                         tier_up_after=self.tier_up_after if tier == 1 else None)
        symbol = f"{self.symbol}_t{tier}"
        addresses: dict[str, int] = {}
        if entry is None and self.text:
            # a loop's IR is the same at both tiers but for its names: lower it once
            text = self.text.replace(f"{self.symbol}_t{self.tier}", symbol)
        else:
            lowering = lower_unit(self.unit, self.plan, symbol, entry, twins=tier == 2)
            text, addresses = lowering.text, lowering.addresses
            self.sites = lowering.sites
            self.layout = lowering.layout
            if tier == 1 and entry is None:
                # a loop whose tier-2 code an earlier run left in the cache starts at tier 2
                promoted = text.replace(symbol, f"{self.symbol}_t2")
                if ENGINE.has_cached(promoted, 2):
                    tier, symbol, text = 2, f"{self.symbol}_t2", promoted
        self.compiled = ENGINE.compile(text, [symbol], tier, self.plan.label, addresses)
        self.text = text
        self.tier = tier
        self._bind(symbol, self.compiled.addresses[symbol])

    def _bind(self, symbol: str, address: int) -> None:
        raise NotImplementedError

    @property
    def entries(self) -> int:
        return self.stats.entries

    def guards_hold(self) -> bool:
        for namespace, name, expected in self.guards:
            if namespace.get(name, MISSING) is not expected:
                self.stats.guard_failures += 1
                return False
        return True

    def describe(self, site: Site) -> str:
        return f"line {site.plan.code.line_at(site.pc)}" + (
            f" in {site.plan.label}" if site.plan is not self.plan else "") + f": {site.reason}"


class FunctionVersion(Version):
    """A function region, called as ``entry(countdown, headroom, *args)``: the
    result, or NO_NATIVE with ``state[STATE_SITE]`` saying why (pvm.jit.entry)."""

    def _bind(self, symbol: str, address: int) -> None:
        self.entry = make_builtin(symbol.encode(), address)
        self.countdown = memoryview(self.state).cast("B").cast("q")
        self.counts_steps = any(p.takes_a_step(node) for p in self.unit.live() for node in p.nodes)

    @property
    def entries(self) -> int:
        return self.state[STATE_ENTRIES]


class LoopVersion(Version):
    """A loop region: entered at the header with the frame's locals, left at a site."""

    def _bind(self, symbol: str, address: int) -> None:
        layout = self.layout
        assert layout is not None
        plan = self.plan
        self.cfunc = ctypes.PYFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p)(address)
        self.buf = (ctypes.c_int64 * layout.size)()
        self.buf_float = (ctypes.c_double * layout.size).from_buffer(self.buf)
        self.buf_address = ctypes.addressof(self.buf)
        where = [plan.source(index) for index in plan.slots]
        self.inputs = [(position, *where[position], state) for position, state in enumerate(plan.entry_env)
                       if has_value(state)]
        # per exit site: the assigned slots (locals and globals, never cells) and their state there
        self.outputs = [[(p, *where[p], site.env[p]) for p in sorted(plan.written) if site.env[p] != OPAQUE]
                        if site.plan is plan else [] for site in self.sites]
        self.iterators = len(plan.initial)
        self.entry_stack = entry_stack_key(plan.initial)     # as pvm.jit.feedback.entry_stack gives it
        self.entry_iterators = sum(1 for kind in plan.initial if kind is Kind.RITER or type(kind) is ListIter)
        self.nursery: list[list[Any]] = []
        self.state[STATE_NURSERY] = id(self.nursery)

    def run(self, vm: Any, frame: "Frame", countdown: int) -> tuple[int, Site]:
        """Run from the header with at most ``countdown`` steps; returns the
        steps used and the site left by (frame updated to resume there)."""
        buf, buf_float = self.buf, self.buf_float
        values = frame.locals
        namespace = frame.globals
        objects: dict[int, Any] = {}     # the host objects native code was given, by address
        for position, where, key, kind in self.inputs:
            value = values[key] if where == "local" else namespace[key] if where == "global" else frame.cells[key].value
            if kind is Kind.FLOAT:
                buf_float[position] = value
            elif kind in NUMBERS:
                buf[position] = value
            else:
                objects[id(value)] = value
                buf[position] = id(value)
        base = self.layout.iterator
        iterators: list[Any] = []       # per entry stack position: (iterator, its fields), or None
        for item in frame.stack[len(frame.stack) - self.iterators:]:
            if type(item) is list:
                objects[id(item)] = item
                buf[base] = id(item)
                iterators.append(None)
            elif type(item) is LIST_ITERATOR:
                _, (lst,), index = item.__reduce__()
                objects[id(lst)] = lst
                buf[base], buf[base + 1], buf[base + 2] = id(lst), index, 0
                iterators.append((item, (id(lst),)))
            else:
                _, (rng,), index = item.__reduce__()
                buf[base], buf[base + 1], buf[base + 2], buf[base + 3] = rng.start, rng.step, len(rng), index
                iterators.append((item, (rng.start, rng.step, len(rng))))
            base += ITER_FIELDS
        state = self.state
        state[STATE_COUNTDOWN] = countdown
        state[STATE_DEPTH] = vm.depth
        state[STATE_MAX_DEPTH] = vm.max_depth
        sizes = [(obj, len(obj)) for obj in objects.values() if type(obj) is list] if self.plan.appends else ()
        heap = vm.heap
        if self.plan.creates:
            room = heap.headroom()
            state[STATE_CREATED] = 0
            state[STATE_LIST_BUDGET] = LIST_BUDGET if room is None else min(LIST_BUDGET, room)
        number = self.cfunc(self.buf_address, self.state_address)
        site = self.sites[number]
        for position, where, key, kind in self.outputs[number]:
            if kind is Kind.FLOAT:
                value = buf_float[position]
            elif kind is Kind.INT:
                value = buf[position]
            elif kind is Kind.BOOL:
                value = buf[position] != 0
            elif kind is Kind.NONE:
                value = None
            elif kind in LISTS or type(kind) is TupleOf:
                value = self._kept(objects, buf[position], heap)
            else:
                value = UNBOUND
            if where == "local":
                values[key] = value
            elif value is not UNBOUND:
                namespace[key] = value
            else:
                namespace.pop(key, None)
        for position, entry in enumerate(iterators):
            first = self.layout.iterator + ITER_FIELDS * position
            if entry is not None and buf[first + 2] == DROPPED:
                entry[0].__setstate__(buf[first + 3])      # where native code left it
                iterators[position] = None
        made = self._restore_stack(frame, site, objects, iterators, heap)
        frame.pc = site.pc
        if self.nursery:
            self.nursery.clear()           # what no variable or stack entry holds is freed
        # charging may end the run at the memory limit: the frame is whole again
        for lst, before in sizes:
            heap.grew(lst, before)
        if self.plan.creates:
            made += state[STATE_CREATED]
        if made:
            heap.charge(made)
        return countdown - state[STATE_COUNTDOWN], site

    def _restore_stack(self, frame: "Frame", site: Site, objects: dict[int, Any], iterators: list[Any],
                       heap: Any) -> int:
        """The operand stack at the exit. An iterator the loop was entered
        with and still walks is that same object, moved on; a slice not made
        yet is made (nothing changed the list since), a list made natively
        is registered with the heap. Returns the bytes made here."""
        buf = self.buf
        position = self.layout.stack
        items = []
        made = 0
        for entry in site.stack:
            count = slots_of(entry)
            raw = [buf[position + i] for i in range(count)]
            position += count
            if isinstance(entry, Const):
                items.append(entry.obj)
            elif entry is Kind.NONE:
                items.append(None)
            elif entry is Kind.FLOAT:
                items.append(self.buf_float[position - 1])
            elif entry is Kind.INT:
                items.append(raw[0])
            elif entry is Kind.BOOL:
                items.append(raw[0] != 0)
            elif entry is Kind.APPEND:
                items.append(objects[raw[0]].append)
            elif entry is Kind.RANGE:
                items.append(range(*raw))
            elif type(entry) is SliceKind:
                items.append(slice(*(None if kind is Kind.NONE else value != 0 if kind is Kind.BOOL else value
                                     for kind, value in zip(entry.parts, raw))))
            elif type(entry) is SliceOf:
                address, start, step, count = raw
                lst = _object(objects, address)
                items.append(heap.keep([lst[start + i * step] for i in range(count)]))
                made += size_of(items[-1])
            elif entry is Kind.RITER or type(entry) is ListIter:
                *fields, index = raw
                depth = len(items)
                if depth < len(iterators) and iterators[depth] and iterators[depth][1] == tuple(fields):
                    item = iterators[depth][0]
                elif entry is Kind.RITER:
                    start, step, length = fields
                    item = iter(range(start, start + length * step, step))
                else:
                    item = iter(self._kept(objects, fields[0], heap))
                item.__setstate__(index)
                items.append(item)
            else:
                items.append(self._kept(objects, raw[0], heap))
        base = len(frame.stack) - self.iterators
        frame.stack[base:] = items
        return made

    def _kept(self, objects: dict[int, Any], address: int, heap: Any) -> Any:
        """An object native code holds as it hands back, registered if it made it."""
        value = _object(objects, address)
        if self.nursery and type(value) is list and id(value) not in heap.objects:
            heap.keep(value)
        return value

