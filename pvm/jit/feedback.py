"""What the JIT remembers per code object and per loop: type feedback
(the signatures seen at entry), the compiled versions for them, and how
often each deoptimised, so that code that keeps failing is left to tier 0.

Tier 0 already counts calls and back-edges (pvm.code.Profile); the JIT adds
its records only once code is warm, so cold code costs one dictionary lookup
per call and one comparison per back-edge.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from pvm.code import Code
from pvm.frames import UNBOUND
from pvm.objects import Cell
from pvm.jit.kinds import LISTS, Composite, Kind, ListIter, kind_of

MISSING: Any = object()      # absent from a namespace (a guard expects the name unbound)
UNBOUND_KIND = "unbound"     # a local not assigned (at a loop header, or at a point of a region)
OPAQUE = "opaque"            # a local bound to a value native code does not take
_RANGE_ITERATOR = type(iter(range(0)))
_LIST_ITERATOR = type(iter([]))


class TupleKey(Composite):
    """A key's kind of a tuple: the types of its items (cheap to take at every
    call; its kinds are looked at when compiling)."""

    __slots__ = ()

    @property
    def types(self) -> tuple[type, ...]:
        return self.part

    def __repr__(self) -> str:
        return f"TupleKey({self.part!r})"


def source_value(frame: Any, source: tuple[str, Any]) -> Any:
    """The value at a pvm.jit.infer.Plan.source: a fast local, a global or a cell's content."""
    where, key = source
    if where == "local":
        return frame.locals[key]
    return frame.globals.get(key, MISSING) if where == "global" else frame.cells[key].value


def entry_stack(frame: Any, iterators: int) -> tuple[Any, ...] | None:
    """The kinds of the operand stack a loop region sees at its header: the
    iterators of its for-loops (the top ``iterators`` entries: over int64
    ranges, not longrange_iterator, or over lists) and the lists just below
    them (a comprehension's result), or None if native code cannot take it.
    Lists are all LIST_INT here, as in a loop's key. The iterators may be
    held elsewhere too: native code hands back where it left each of them."""
    stack = frame.stack
    first = len(stack) - iterators
    kinds: list[Any] = []
    for iterator in stack[first:]:
        if type(iterator) is _RANGE_ITERATOR:
            kinds.append(Kind.RITER)
        elif type(iterator) is _LIST_ITERATOR and len(iterator.__reduce__()) == 3:    # not exhausted
            kinds.append(ListIter(Kind.LIST_INT))
        else:
            return None
    while first > 0 and type(stack[first - 1]) is list:
        first -= 1
    return (Kind.LIST_INT,) * (len(stack) - iterators - first) + tuple(kinds)


def entry_stack_key(initial: tuple[Any, ...]) -> tuple[Any, ...]:
    """What ``entry_stack`` gives for a frame a version compiled for stack
    ``initial`` may be entered from (a list's elements are speculated on, and
    guarded, as a local's are)."""
    return tuple(ListIter(Kind.LIST_INT) if type(kind) is ListIter else Kind.LIST_INT if kind in LISTS else kind
                 for kind in initial)


def argument_kinds(args: list[Any]) -> tuple[Any, ...]:
    """The signature of a call: one key kind per argument (None: not
    compilable). Cheap, as it is taken at every call of a warm function that
    has no version for it: lists and tuples are keyed as such, not by their
    contents (compilation looks at those; see speculate)."""
    return tuple(map(_shallow_kind, args))


def header_kinds(frame: Any, record: "LoopRecord") -> tuple[Kind | str, ...]:
    """The signature of a loop entry: the states of the locals the loop
    touches, of the globals it assigns and of the cells it reads (a kind,
    UNBOUND_KIND or OPAQUE)."""
    values = frame.locals
    states = [UNBOUND_KIND if values[i] is UNBOUND else _key_kind(values[i]) for i in record.touched]
    for name in record.promoted:
        value = frame.globals.get(name, MISSING)
        states.append(UNBOUND_KIND if value is MISSING else _key_kind(value))
    for index in record.cells:
        value = frame.cells[index].value
        states.append(UNBOUND_KIND if value is Cell.EMPTY else _key_kind(value))
    return tuple(states)


def _key_kind(value: Any) -> Any:
    """A loop key's kind of a value: as a call's, OPAQUE for what native code does not take."""
    return _shallow_kind(value) or OPAQUE


def _shallow_kind(value: Any) -> Any:
    kind = type(value)
    if kind is list:
        return Kind.LIST_INT
    return TupleKey(tuple(map(type, value))) if kind is tuple else kind_of(value)


def speculate(kind: Any, value: Any) -> Any:
    """The kind to compile a value keyed as ``kind`` as: a list, a tuple or a
    list iterator by its elements now (a wrong guess deoptimises until the
    version is recompiled); None for a tuple native code cannot take, and
    for an iterator over a list of what it cannot take (every entry would
    deoptimise at the first element)."""
    if type(kind) is ListIter:
        element = kind_of(value.__reduce__()[1][0])
        return None if element is None else ListIter(element)
    if kind is Kind.LIST_INT:
        return kind_of(value) or Kind.LIST_INT     # a list of anything can still be appended to
    return kind_of(value) if type(kind) is TupleKey else kind


STEP_BUDGET = "step budget"
LIST_BUDGET = "list budget"


def hands_back(reason: str) -> bool:
    """Whether an exit is a planned hand-back (steps or list bytes ran out), not a failure."""
    return reason.endswith((STEP_BUDGET, LIST_BUDGET))


class Stats:
    """Counters of one compiled version (native entries, exits by reason)."""

    def __init__(self) -> None:
        self.entries = 0
        self.steps = 0                        # loops: steps (back-edges and calls) run natively
        self.deopts: Counter[str] = Counter()
        self.guard_failures = 0
        self.side_exits = 0                   # loops: exits to run an instruction native code does not

    @property
    def failures(self) -> int:
        """Deopts that count against the version (running out of steps does not)."""
        return sum(n for reason, n in self.deopts.items() if not hands_back(reason)) + self.guard_failures


class FunctionRecord:
    """A warm function: its compiled versions by (globals, argument kinds)."""

    def __init__(self, code: Code) -> None:
        self.code = code
        self.versions: dict[tuple[int, tuple[Kind | None, ...]], Any] = {}
        self.blocked = ""                     # why it stays in tier 0 for good
        self.dropped = 0                      # versions thrown away because a guarded global changed
        self.declined = 0                     # calls with no version to run (see Jit.DECLINED)
        # The version that ran last, tried first on the next call, and what the
        # fast path needs of it without attribute chains:
        self.last: Any = None
        self.entry: Any = None                # its native builtin
        self.globals: Any = None              # the globals it was compiled against
        self.argcount = 0
        self.counts_steps = False             # it can use steps (loops, calls): read the countdown back
        self.countdown: Any = None            # a memoryview of its countdown slot

    def remember(self, version: Any) -> None:
        self.last = version
        self.entry = version.entry if version is not None else None
        if version is not None:
            self.globals = version.plan.globals
            self.argcount = self.code.argcount
            self.counts_steps = version.counts_steps
            self.countdown = version.countdown


class LoopRecord:
    """A warm loop of a code object, identified by its header. Native code
    is entered at this header but may run a whole enclosing loop nest: the
    candidate regions are tried outermost first."""

    def __init__(self, code: Code, header: int, regions: list[tuple[int, int]], touched: tuple[int, ...],
                 promoted: tuple[str, ...], cells: tuple[int, ...]) -> None:
        self.code = code
        self.header = header
        self.regions = regions                # (first, last instruction) of each loop around the header
        self.touched = touched                # fast locals of the outermost region
        self.promoted = promoted              # globals the outermost region assigns
        self.cells = cells                    # cells the outermost region reads and never assigns
        self.versions: dict[tuple[Any, ...], Any] = {}
        self.declined = 0                     # entries with no version to run (see Jit.DECLINED)
        self.blocked = ""
        self.dropped = 0
        self.covered_by: LoopRecord | None = None   # the record of another header that compiled the same nest
