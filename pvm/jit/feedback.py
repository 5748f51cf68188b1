"""What the JIT remembers per code object and per loop: type feedback
(the signatures seen at entry), the compiled versions for them, and how
often each deoptimised, so that code that keeps failing is left to tier 0.

Tier 0 already counts calls and back-edges (pvm.code.Profile); the JIT adds
its records only once code is warm, so cold code costs one dictionary lookup
per call and one comparison per back-edge.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
import sys
from typing import Any

from pvm.code import Code
from pvm.frames import UNBOUND
from pvm.jit.kinds import LISTS, Kind, kind_of

MISSING: Any = object()      # absent from a namespace (a guard expects the name unbound)
UNBOUND_KIND = "unbound"     # a local not assigned (at a loop header, or at a point of a region)
OPAQUE = "opaque"            # a local bound to a value native code does not take
_RANGE_ITERATOR = type(iter(range(0)))


def private_range_iterators(frame: Any, count: int) -> bool:
    """The ``count`` iterators on top of the frame's stack are range iterators
    (of int64: not longrange_iterator) that nothing but that stack holds. A
    native loop moves only the iterators it hands back on its exit stack; one
    it exhausts or drops is left where it was, so one a local or anything else
    also holds (``it = iter(r)``; ``for x in it: ... break``; ``next(it)``)
    must run in tier 0."""
    stack = frame.stack
    for position in range(len(stack) - count, len(stack)):
        iterator = stack[position]
        if type(iterator) is not _RANGE_ITERATOR:
            return False
        held = sum(value is iterator for value in stack)
        if sys.getrefcount(iterator) - 2 > held:     # 2: this function's variable and getrefcount's argument
            return False
    return True


def argument_kinds(args: list[Any]) -> tuple[Kind | None, ...]:
    """The signature of a call: one kind per argument (None: not compilable)."""
    return tuple(map(kind_of, args))


def header_kinds(values: list[Any], touched: tuple[int, ...], namespace: dict[str, Any],
                 promoted: tuple[str, ...]) -> tuple[Kind | str, ...]:
    """The signature of a loop entry: the states of the locals the loop
    touches and of the globals it assigns (a kind, UNBOUND_KIND or OPAQUE)."""
    states = [UNBOUND_KIND if values[i] is UNBOUND else _key_kind(values[i]) for i in touched]
    for name in promoted:
        value = namespace.get(name, MISSING)
        states.append(UNBOUND_KIND if value is MISSING else _key_kind(value))
    return tuple(states)


def _key_kind(value: Any) -> Kind | str:
    """A loop key tells lists apart from other values but not by their
    elements (which change as the list fills): compilation looks at those,
    and a wrong guess deoptimises until the version is recompiled."""
    kind = kind_of(value) or OPAQUE
    return Kind.LIST_INT if kind in LISTS else kind


@dataclass
class Stats:
    """Counters of one compiled version (native entries, exits by reason)."""

    entries: int = 0
    steps: int = 0                        # loops: steps (back-edges and calls) run natively
    deopts: Counter[str] = field(default_factory=Counter)
    guard_failures: int = 0
    side_exits: int = 0                   # loops: exits to run an instruction native code does not

    @property
    def failures(self) -> int:
        """Deopts that count against the version (running out of steps does not)."""
        return sum(n for reason, n in self.deopts.items() if "step budget" not in reason) + self.guard_failures


@dataclass
class FunctionRecord:
    """A warm function: its compiled versions by (globals, argument kinds)."""

    code: Code
    versions: dict[tuple[int, tuple[Kind | None, ...]], Any] = field(default_factory=dict)
    blocked: str = ""                     # why it stays in tier 0 for good
    dropped: int = 0                      # versions thrown away because a guarded global changed
    # The version that ran last, tried first on the next call, and what the
    # fast path needs of it without attribute chains:
    last: Any = None
    entry: Any = None                     # its native builtin
    globals: Any = None                   # the globals it was compiled against
    argcount: int = 0
    counts_steps: bool = False            # it can use steps (loops, calls): read the countdown back
    countdown: Any = None                 # a memoryview of its countdown slot

    def remember(self, version: Any) -> None:
        self.last = version
        self.entry = version.entry if version is not None else None
        if version is not None:
            self.globals = version.plan.globals
            self.argcount = self.code.argcount
            self.counts_steps = version.counts_steps
            self.countdown = version.countdown


@dataclass
class LoopRecord:
    """A warm loop of a code object, identified by its header. Native code
    is entered at this header but may run a whole enclosing loop nest: the
    candidate regions are tried outermost first."""

    code: Code
    header: int
    regions: list[tuple[int, int]]        # (first, last instruction) of each loop around the header
    touched: tuple[int, ...]              # fast locals of the outermost region
    promoted: tuple[str, ...]             # globals the outermost region assigns
    versions: dict[tuple[Any, ...], Any] = field(default_factory=dict)
    blocked: str = ""
    dropped: int = 0
    covered_by: "LoopRecord | None" = None   # the record of another header that compiled the same nest
