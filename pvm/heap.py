"""The VM heap: ownership, accounting and pvm's own mark-sweep collector.

Every mutable or identity-bearing object a script creates (lists, dicts,
sets, functions, cells, modules) is registered here; the registry holds the
strong reference that keeps it alive. A collection marks everything
reachable from the roots (see ``Heap.roots``) and sweeps the rest: a dead
container is cleared, which breaks any cycle it is part of, and dropped from
the registry, after which CPython's reference counting frees it. CPython's
own cycle collector is therefore not needed and is disabled while a VM runs.

Strings, tuples and big ints are immutable host values: they are charged
when the program creates them and counted as live when a collection reaches
them, but never registered (they cannot be part of a cycle on their own, so
reference counting frees them exactly). Floats, small ints
(|n| < 2**63), bools and None are immediates of the size model (as they are
in native code) and cost nothing. The size model is documented in
docs/heap.md.

Tri-colour invariant of the mark phase: an object is black once its id is in
``marked`` and it has been taken off the gray stack; gray while on the stack;
white otherwise. Sweeping frees exactly the registered objects left white.

When collections happen. Pacing collections run only at safe points chosen by
the interpreter (loop back-edges and calls), where every live value sits in a
frame. A collection can also start inside an allocation, when the heap limit
would be crossed (or in stress mode); the interpreter guarantees that at
every allocation the values an instruction still needs are in a frame, on a
root list, or the object being allocated itself.
"""

from __future__ import annotations

import gc
import time
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from pvm.classes import NS, Instance, Method, Property, Super
from pvm.frames import Frame
from pvm.generators import Generator
from pvm.objects import Cell, Function, Module

if TYPE_CHECKING:
    from pvm.interp import Interpreter

HEADER_BYTES = 16
WORD_BYTES = 8
SMALL_INT = 2 ** 63
# an instance of a user class: a header and its dict's pointer, then two words an attribute
INSTANCE_BYTES = HEADER_BYTES + WORD_BYTES
ATTRIBUTE_BYTES = 2 * WORD_BYTES
_CELL_BYTES = HEADER_BYTES + WORD_BYTES       # size_of a Cell
DEFAULT_PAUSE = 1.0              # collect after allocating this fraction of the live bytes...
DEFAULT_FLOOR = 4 * 1024 * 1024  # ...but never before this many bytes


def size_of(obj: Any) -> int:
    """pvm's size model for a heap value, in bytes (docs/heap.md)."""
    kind = type(obj)
    if kind is list or kind is tuple or kind is set or kind is frozenset:
        return HEADER_BYTES + WORD_BYTES * len(obj)
    if kind is dict:
        return HEADER_BYTES + 2 * WORD_BYTES * len(obj)
    if kind is str:
        return HEADER_BYTES + (len(obj) if obj.isascii() else 4 * len(obj))
    if kind is int:
        return 0 if -SMALL_INT < obj < SMALL_INT else HEADER_BYTES + WORD_BYTES * ((obj.bit_length() + 63) // 64)
    if kind is Function:
        return HEADER_BYTES + WORD_BYTES * (4 + len(obj.defaults) + len(obj.closure))
    if kind is Cell or kind is Module:
        return HEADER_BYTES + WORD_BYTES
    if isinstance(obj, Instance):
        return INSTANCE_BYTES + ATTRIBUTE_BYTES * len(obj.__dict__)
    if kind is Generator:
        frame = obj.frame
        if frame is None:
            return HEADER_BYTES
        return HEADER_BYTES * 2 + WORD_BYTES * (8 + len(frame.locals) + frame.code.max_stack + len(frame.cells))
    return getattr(kind, "pvm_bytes", 0)     # a native module's object says what it holds (Heap.own)


# Host objects that may hold VM values and are traversed through CPython's
# own tp_traverse (gc.get_referents): iterators, views and lazy builtins.
_TRAVERSED_HOST_TYPES = frozenset(type(sample) for sample in (
    iter([]), iter(()), iter(set()), iter({}), iter({}.values()), iter({}.items()), iter(range(1)),
    iter(""), iter("\u0100"), reversed([]), reversed({}), reversed({}.values()), reversed({}.items()),
    {}.keys(), {}.values(), {}.items(), map(abs, ()), filter(None, ()), zip(), enumerate(()),
    reversed(range(1)), iter(abs, None), slice(0), iter(type("Sequence", (), {"__getitem__": len})()),
))
_BUILTIN_METHOD = type([].append)
_REGISTERED = (list, dict, set, Function, Cell, Module)


class HeapStats:
    __slots__ = ("collections", "total_pause", "max_pause", "bytes_allocated", "objects_allocated",
                 "objects_freed", "live_bytes", "peak_live_bytes")

    def __init__(self) -> None:
        self.collections = 0
        self.total_pause = 0.0            # seconds
        self.max_pause = 0.0              # seconds
        self.bytes_allocated = 0          # charged since the VM started
        self.objects_allocated = 0
        self.objects_freed = 0
        self.live_bytes = 0               # after the last collection
        self.peak_live_bytes = 0

    def report(self) -> str:
        return (f"collections: {self.collections}\n"
                f"total pause: {self.total_pause * 1000:.3f} ms\n"
                f"max pause: {self.max_pause * 1000:.3f} ms\n"
                f"bytes allocated: {self.bytes_allocated}\n"
                f"peak live bytes: {self.peak_live_bytes}\n"
                f"objects freed: {self.objects_freed}\n")


def _memory_error(limit: int, needed: int) -> MemoryError:
    return MemoryError(f"heap limit of {limit} bytes exceeded ({needed} bytes needed)")


class Heap:
    """Allocation, accounting and collection for one VM.

    Args:
        pause: a pacing collection starts once the bytes allocated since the
            last one exceed ``pause`` times the live bytes it left...
        floor: ...and at least ``floor`` bytes.
        limit: live bytes beyond which an allocation raises MemoryError (after
            a full collection has been tried); None for no limit.
        stress: collect at every allocation and every safe point.
    """

    def __init__(self, *, pause: float = DEFAULT_PAUSE, floor: int = DEFAULT_FLOOR,
                 limit: int | None = None, stress: bool = False) -> None:
        self.objects: dict[int, Any] = {}
        self._stats = HeapStats()
        # what the stats count, kept where registering pays least: bytes charged before the
        # current debt, objects registered before the last sweep, the registry's size after it
        self._charged = 0
        self._registered = 0
        self._kept = 0
        self.pause = pause
        self.floor = floor
        self.limit = limit
        self.stress = stress
        self.debt = 0                      # bytes charged since the last collection
        self.threshold = floor             # debt at which a pacing collection is due
        self.collect_due = stress
        self.vm: "Interpreter | None" = None  # the VM whose frames and namespaces are roots
        self.temp_roots: list[Any] = []    # values a builtin holds mid-operation
        self.handles: dict[int, Any] = {}  # objects an embedder holds, by id
        self.graveyard: list[Any] | None = None   # tests: keep swept objects to check invariants
        # the error a breach raises: a script-level MemoryError unless a sandbox
        # makes it a limit that no script handler can catch
        self.limit_error: Callable[[int, int], BaseException] = _memory_error
        self._collecting = False

    @property
    def stats(self) -> HeapStats:
        """The collector's statistics, brought up to date by this read (the
        registration path counts nothing itself)."""
        stats = self._stats
        stats.bytes_allocated = self._charged + self.debt
        stats.objects_allocated = self._registered + len(self.objects) - self._kept
        return stats

    # --- Allocation and charging ---

    def charge(self, nbytes: int, new: Any = None) -> None:
        """Account ``nbytes`` just allocated (``new`` is the object, if any)."""
        self.debt += nbytes
        if self.debt >= self.threshold:
            self._indebted(new)

    def _indebted(self, new: Any) -> None:
        """The debt reached the threshold: a collection is due, and runs now
        under stress or when the limit would be passed (``new`` kept alive)."""
        self.collect_due = True
        if self.stress or (self.limit is not None and self._stats.live_bytes + self.debt > self.limit):
            self.collect(extra_roots=(new,))
            if self.limit is not None and self._stats.live_bytes > self.limit:
                self._refuse(0)

    def reserve(self, nbytes: int) -> None:
        """Refuse up front an allocation of ``nbytes`` that cannot fit under the
        limit even after a full collection. Callers keep every operand in a frame."""
        if self.limit is None or self._stats.live_bytes + self.debt + nbytes <= self.limit:
            return
        self.collect()
        if self._stats.live_bytes + nbytes > self.limit:
            self._refuse(nbytes)

    def headroom(self) -> int | None:
        """Bytes that may still be charged before the limit calls for a
        collection (None without a limit)."""
        return None if self.limit is None else max(0, self.limit - self._stats.live_bytes - self.debt)

    def _refuse(self, nbytes: int) -> None:
        raise self.limit_error(self.limit, self.stats.live_bytes + nbytes)

    def _register(self, obj: Any) -> Any:
        self.objects[id(obj)] = obj
        self.debt += size_of(obj)
        if self.debt >= self.threshold:
            self._indebted(obj)
        return obj

    def new_list(self, items: Iterable[Any] = ()) -> list[Any]:
        return self._register(list(items))

    def new_dict(self, pairs: Iterable[tuple[Any, Any]] = ()) -> dict[Any, Any]:
        return self._register(dict(pairs))

    def new_set(self, items: Iterable[Any] = ()) -> set[Any]:
        return self._register(set(items))

    def new_cell(self, value: Any = Cell.EMPTY) -> Cell:
        cell = Cell(value)             # _register without size_of: a cell is made at every call that needs one
        self.objects[id(cell)] = cell
        self.debt += _CELL_BYTES
        if self.debt >= self.threshold:
            self._indebted(cell)
        return cell

    def new_function(self, *args: Any) -> Function:
        return self._register(Function(*args))

    def new_module(self, name: str, origin: str | None, namespace: dict[str, Any],
                   path: str | None = None) -> Module:
        return self._register(Module(name, origin, namespace, path))

    def own(self, obj: Any) -> Any:
        """Register a new object made for a script that no one registered yet: an
        instance pvm.translated.construct made, or a native module's (its class's
        ``pvm_bytes`` is what it holds on the host, charged until it dies)."""
        self.objects[id(obj)] = obj
        self.debt += (INSTANCE_BYTES + ATTRIBUTE_BYTES * len(obj.__dict__) if isinstance(obj, Instance)
                      else getattr(type(obj), "pvm_bytes", 0))
        if self.debt >= self.threshold:
            self._indebted(obj)
        return obj

    def keep(self, obj: Any) -> Any:
        """Register a list the JIT made while it writes a frame back: neither
        charged nor collecting here, since the frame is not whole yet (the JIT
        charges the bytes once it is)."""
        self.objects[id(obj)] = obj
        return obj

    def adopt(self, obj: Any) -> Any:
        """Own or charge a value that host code (an operator, a builtin) created."""
        kind = type(obj)
        if kind is int:
            if -SMALL_INT < obj < SMALL_INT:
                return obj
            self.charge(size_of(obj))
        elif kind is str:
            self.charge(HEADER_BYTES + (len(obj) if obj.isascii() else 4 * len(obj)))
        elif kind is tuple:
            self.charge(HEADER_BYTES + WORD_BYTES * len(obj), obj)     # its items stay rooted if this collects
        elif (kind is list or kind is dict or kind is set) and id(obj) not in self.objects:
            self._register(obj)
        elif kind is not float and (isinstance(obj, Instance) or kind is Generator) and id(obj) not in self.objects:
            self._register(obj)            # a new instance of a user class, a new generator
        return obj

    def grew(self, container: Any, before: int) -> None:
        """Charge the growth of a container that a host method extended in place."""
        added = len(container) - before
        if added > 0:
            self.charge(added * (2 * WORD_BYTES if type(container) is dict else WORD_BYTES))

    # --- Roots ---

    def roots(self) -> Iterator[Any]:
        """Everything a collection starts from, one block per kind."""
        vm = self.vm
        if vm is not None:
            # Frames of every tier: locals, operand stacks and cells of each
            # frame of each active interpreter loop, the loops suspended below
            # host calls included. (Native code holds no VM object beyond one
            # call, so the JIT adds nothing here.)
            yield from vm.live_frames()
            # Translated activations (pvm.translate): values in their host locals.
            yield from vm.translated_roots()
            # Module globals and the stdlib's module objects: every loaded module.
            yield from vm.modules.values()
            # Builtins: the VM's own builtins namespace.
            yield vm.builtins
            # The exception an except or finally block is handling.
            yield vm.handling
        # Temporary roots: values a script callback returned to a builtin that is
        # still running. (A host call's arguments stay on its caller's operand stack.)
        yield from self.temp_roots
        # Handles an embedder holds.
        yield from self.handles.values()
        # Compiler state needs no block: the compiler creates no heap objects
        # (its constants are immutable host values).

    # --- Collection ---

    def collect(self, extra_roots: Iterable[Any] = ()) -> None:
        """A full collection: mark from the roots (plus ``extra_roots``), sweep."""
        if self._collecting:
            return
        self._collecting = True
        start = time.perf_counter()
        self._registered += len(self.objects) - self._kept
        try:
            marked, live = self._mark(list(self.roots()) + list(extra_roots))
            freed = self._sweep(marked)
        finally:
            self._collecting = False
            self._kept = len(self.objects)
        pause = time.perf_counter() - start
        stats = self._stats
        self._charged += self.debt
        stats.collections += 1
        stats.total_pause += pause
        stats.max_pause = max(stats.max_pause, pause)
        stats.objects_freed += freed
        stats.live_bytes = live
        stats.peak_live_bytes = max(stats.peak_live_bytes, live)
        self.debt = 0
        self.threshold = 0 if self.stress else max(self.floor, int(live * self.pause))
        self.collect_due = self.stress

    def _mark(self, gray: list[Any]) -> tuple[set[int], int]:
        """Blacken everything reachable from ``gray``; returns (marked ids, live bytes)."""

        marked: set[int] = set()
        registry = self.objects
        live = 0
        push = gray.append
        extend = gray.extend
        while gray:
            obj = gray.pop()
            kind = type(obj)
            if kind is int or kind is float or kind is bool or obj is None:
                if kind is int and not -SMALL_INT < obj < SMALL_INT and id(obj) not in marked:
                    marked.add(id(obj))
                    live += size_of(obj)
                continue
            oid = id(obj)
            if oid in marked:
                continue
            marked.add(oid)
            if kind is str:
                live += size_of(obj)
            elif kind is tuple or kind is frozenset:
                live += size_of(obj)
                extend(obj)
            elif kind is list or kind is set:
                if len(obj) < _SCANNED or not _only_immediates(obj):
                    extend(obj)
            elif kind is dict:
                extend(obj.keys())
                extend(obj.values())
            elif kind is Frame:
                extend(obj.locals)
                extend(obj.stack)
                extend(obj.cells)
                push(obj.globals)
                push(obj.namespace)
            elif kind is Function:
                extend(obj.defaults)
                extend(obj.closure)
                push(obj.globals)
                push(obj.kwdefaults)
                push(obj.attrs)
            elif kind is Cell:
                push(obj.value)
            elif kind is Generator:
                push(obj.frame)
                if obj.translated is not None:
                    from pvm.translated import generator_roots
                    extend(generator_roots(obj.translated))
                live += size_of(obj)
            elif kind is Module:
                push(obj.dict)
            elif kind is _BUILTIN_METHOD:
                owner = getattr(obj, "__self__", None)
                if type(owner) in (list, dict, set, str):
                    push(owner)
            elif kind in _TRAVERSED_HOST_TYPES:
                extend(referent for referent in gc.get_referents(obj) if not isinstance(referent, type))
            else:
                _mark_object(obj, kind, push)
                if oid in registry:         # an instance of a user class
                    live += size_of(obj)
            if kind in _REGISTERED:
                live += size_of(obj)
                if oid not in registry:
                    registry[oid] = obj     # a container a builtin made and nobody adopted
        return marked, live

    def _sweep(self, marked: set[int]) -> int:
        dead = [obj for oid, obj in self.objects.items() if oid not in marked]
        for obj in dead:
            del self.objects[id(obj)]
            _clear(obj)
        if self.graveyard is not None:
            self.graveyard.extend(dead)
        return len(dead)

    def check_invariants(self) -> None:
        """Tests only: nothing reachable from the roots was swept. The
        graveyard keeps swept objects alive, so their ids stay unique."""
        assert self.graveyard is not None, "set heap.graveyard = [] before running to check invariants"
        marked, _ = self._mark(list(self.roots()))
        revived = [obj for obj in self.graveyard if id(obj) in marked]
        assert not revived, f"reachable objects were swept: {revived[:5]!r}"


_SCANNED = 64                                 # containers this long are checked for references at C speed
UNOWNED = frozenset({float, bool, type(None)})     # immediates: nothing to own, nothing to visit
_INTS = frozenset({int, bool})


# Set by the JIT once it has loaded LLVM (pvm.jit.heapscan): a list's items judged natively, True (only
# immediates), False (something to visit) or None (ints to look at here).
list_scan: Callable[[list[Any]], bool | None] | None = None
# Set by the JIT when it starts: loads LLVM and sets list_scan. A list this long costs the Python test
# (20 ns an item) more than loading LLVM does (60 ms), which a run with the JIT on is likely to do anyway.
load_list_scan: Callable[[], Any] | None = None
_LOAD_SCAN_AT = 3_000_000


def _only_immediates(items: list[Any] | set[Any]) -> bool:
    """Whether a container holds nothing the collector must visit: floats,
    bools and None, or ints that are all small (min and max, without NaNs
    to confuse them). A numeric array then costs C time, not a Python
    step per element."""
    if type(items) is list and list_scan is None and load_list_scan is not None and len(items) >= _LOAD_SCAN_AT:
        load_list_scan()
    if list_scan is not None and type(items) is list:
        verdict = list_scan(items)
        if verdict is not None:
            return verdict
    types = set(map(type, items))
    if types <= UNOWNED:
        return True
    return types <= _INTS and -SMALL_INT < min(items) and max(items) < SMALL_INT


def _mark_object(obj: Any, kind: type, push: Callable[[Any], None]) -> None:
    """The references of the Level 2 kinds: instances, classes, exceptions, methods."""
    if isinstance(obj, BaseException):
        push(obj.args)
        push(obj.__context__)
        push(obj.__cause__)
    if isinstance(obj, Instance) or isinstance(obj, BaseException):
        push(obj.__dict__)
        push(kind)
    elif isinstance(obj, type) and NS in obj.__dict__:
        push(obj.__dict__[NS])
        push(obj.__base__)
    elif kind is Method:
        push(obj.__func__)
        push(obj.__self__)
    elif kind is Property:
        push(obj.fget)
        push(obj.fset)
        push(obj.fdel)
    elif kind is Super:
        push(obj.obj)
    elif hasattr(obj, "__func__"):          # staticmethod, classmethod
        push(obj.__func__)


def _clear(obj: Any) -> None:
    """Empty a dead object so that cycles through it fall apart."""
    kind = type(obj)
    if kind is list or kind is dict or kind is set:
        obj.clear()
    elif kind is Function:
        obj.defaults = ()
        obj.kwdefaults = None
        obj.closure = ()
        obj.globals = {}
        obj.attrs = None
    elif kind is Cell:
        obj.value = Cell.EMPTY
    elif isinstance(obj, Instance):
        obj.__dict__.clear()
    elif kind is Module:
        obj.dict = {}
