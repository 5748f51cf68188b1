"""The boundary between a host application and its scripts: which values may
cross it and how, and the host functions an embedder exposes.

Values are *copied* across, both ways, so the two sides never share a
mutable object: a host list handed to a script becomes a list owned by the
VM's heap (registered and charged, so the memory limit sees it), and a
script's list handed to the host becomes a fresh host list that pvm's
collector will never clear under the host's feet.

Only None, bool, int, float, str and lists, tuples, dicts, sets and
frozensets of those cross (exact types; subclasses such as an IntEnum do
not). The copy is deep and keeps the shape: an object reached twice is copied
once and reached twice in the copy, and cycles stay cycles. It is iterative,
so a deeply nested value cannot overflow the host's stack. Anything else is
refused with a TypeError that says what was refused and where.

A ``HostFunction`` is how a script calls the host: it charges a step per
call, copies the arguments out and the result in, and turns an exception of
the host function into one the script can have (see ``script_exception``).
"""

from __future__ import annotations

from itertools import chain
from typing import TYPE_CHECKING, Any, Callable

from pvm.errors import PvmError
from pvm.heap import HEADER_BYTES, Heap, size_of
from pvm.objects import Function

if TYPE_CHECKING:
    from pvm.interp import Interpreter
    from pvm.sandbox import Sandbox

ALLOWED = "None, bool, int, float, str, and lists, tuples, dicts, sets and frozensets of those"
_IMMEDIATE = frozenset({type(None), bool, int, float, str})
_MUTABLE = frozenset({list, dict, set})
_IMMUTABLE = frozenset({tuple, frozenset})


def _refuse(value: Any, where: str) -> TypeError:
    if type(value) is Function:
        what = f"script function '{value.name}'"
    else:
        what = f"a value of type '{type(value).__name__}'"
    return TypeError(f"cannot pass {what} {where}: only {ALLOWED} cross between host and script")


def _items(value: Any) -> list[Any]:
    """The values a container holds, in an order its copy is rebuilt from."""
    if type(value) is dict:
        return list(chain.from_iterable(value.items()))
    return list(value)


def copy_value(value: Any, where: str, make: dict[type, Callable[[], Any]],
               finish: Callable[[Any], Any]) -> tuple[Any, int]:
    """A deep copy of ``value`` made of allowed types only; returns (copy, nodes copied).

    ``make[list|dict|set]()`` creates an empty mutable container of the
    target side (it is filled once its items are copied); ``finish(obj)``
    sees every immutable value and every filled container (the VM side uses
    it to charge the heap)."""
    kind = type(value)
    if kind in _IMMEDIATE:
        return finish(value), 1
    memo: dict[int, Any] = {}
    nodes = 0
    # Each frame: [source, items, copied items]; a frame is finished when all items are copied.
    frames: list[list[Any]] = []
    result: Any = None

    def enter(item: Any) -> tuple[bool, Any]:
        """(True, copy) if ``item`` is copied already (or needs no frame); else push a frame."""
        nonlocal nodes
        nodes += 1
        item_kind = type(item)
        if item_kind in _IMMEDIATE:
            return True, finish(item)
        copied = memo.get(id(item))
        if copied is not None:
            return True, copied
        if item_kind in _MUTABLE:
            memo[id(item)] = make[item_kind]()
        elif item_kind not in _IMMUTABLE:
            raise _refuse(item, where)
        frames.append([item, _items(item), []])
        return False, None

    done, result = enter(value)
    while frames:
        frame = frames[-1]
        source, items, copied = frame
        if len(copied) < len(items):
            done, item_copy = enter(items[len(copied)])
            if done:
                copied.append(item_copy)
            continue
        frames.pop()
        source_kind = type(source)
        if source_kind in _MUTABLE:
            target = memo[id(source)]
            if source_kind is list:
                target.extend(copied)
            elif source_kind is set:
                target.update(copied)
            else:
                target.update(zip(copied[::2], copied[1::2]))
            target = finish(target)
        else:
            target = memo.get(id(source))
            if target is None:
                target = finish(source if all(map(_same, copied, items)) else source_kind(copied))
                memo[id(source)] = target
        if frames:
            frames[-1][2].append(target)
        else:
            result = target
    return result, nodes


def _same(a: Any, b: Any) -> bool:
    return a is b


def to_host(value: Any, where: str) -> Any:
    """A script value as a fresh host value."""
    return copy_to_host(value, where)[0]


def copy_to_host(value: Any, where: str) -> tuple[Any, int]:
    """``to_host``, also returning how many nodes were copied."""
    try:
        return copy_value(value, where, _HOST_MAKERS, _identity)
    except TypeError as error:
        if "unhashable" in str(error):
            raise TypeError(f"cannot pass a value {where}: {error}") from None
        raise


def to_script(value: Any, heap: Heap, where: str) -> tuple[Any, int]:
    """A host value as the VM's own (heap-owned, charged); returns (value, nodes).

    Containers made along the way stay on ``heap.temp_roots`` until the copy
    is complete, so a collection the copy starts cannot sweep them."""
    if type(value) in _IMMEDIATE:
        if size_of(value) > HEADER_BYTES:
            heap.reserve(size_of(value))
        return heap.adopt(value), 1
    made: list[Any] = []
    heap.temp_roots.append(made)

    def finish(obj: Any) -> Any:
        size = size_of(obj)
        if size > HEADER_BYTES:
            heap.reserve(size)          # refused before it is charged, whatever the collector's pacing
        if type(obj) in _MUTABLE:
            heap.grew(obj, 0)
            return obj
        made.append(obj)
        return heap.adopt(obj)

    makers = {list: lambda: _keep(made, heap.new_list()), dict: lambda: _keep(made, heap.new_dict()),
              set: lambda: _keep(made, heap.new_set())}
    try:
        return copy_value(value, where, makers, finish)
    except TypeError as error:
        if "unhashable" in str(error):
            raise TypeError(f"cannot pass a value {where}: {error}") from None
        raise
    finally:
        heap.temp_roots.remove(made)


def _keep(made: list[Any], obj: Any) -> Any:
    made.append(obj)
    return obj


def _identity(obj: Any) -> Any:
    return obj


_HOST_MAKERS: dict[type, Callable[[], Any]] = {list: list, dict: dict, set: set}


# --- Host functions ---

def script_exception(exc: Exception) -> Exception:
    """What a script sees when a host function raises ``exc``: a fresh
    exception of the same type if it is one of the builtin exception types a
    script can meet (its args kept when they are plain values), otherwise a
    RuntimeError ``"TypeName: message"``. StopIteration becomes a RuntimeError
    too (it would silently end a ``map`` over the host function)."""
    from pvm.unwind import SCRIPT_EXCEPTIONS

    kind = type(exc)
    if kind.__module__ == "builtins" and issubclass(kind, SCRIPT_EXCEPTIONS) and not issubclass(kind, StopIteration):
        args = exc.args if all(type(arg) in _IMMEDIATE for arg in exc.args) else (str(exc),)
        try:
            fresh = kind(*args)
        except Exception:
            fresh = None
        if fresh is not None:
            if isinstance(fresh, NameError):
                fresh.pvm_raised = True   # type: ignore[attr-defined]  # the script's, not a bug in pvm
            fresh.pvm_from_host = True    # type: ignore[attr-defined]  # never mistaken for the heap's own
            return fresh
    message = str(exc)
    return RuntimeError(f"{kind.__name__}: {message}" if message else kind.__name__)


class HostFunction:
    """A host callable exposed to scripts by ``VM.expose``."""

    __slots__ = ("name", "fn", "interp", "sandbox", "__weakref__")

    def __init__(self, name: str, fn: Callable[..., Any], interp: "Interpreter", sandbox: "Sandbox") -> None:
        self.name = name
        self.fn = fn
        self.interp = interp
        self.sandbox = sandbox

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        interp = self.interp
        interp.countdown -= 1
        if interp.countdown <= 0:
            interp.checkpoint()
        where = f"to host function '{self.name}'"
        host_args, nodes = copy_to_host(args, where)
        host_kwargs = {}
        for key, item in kwargs.items():
            host_kwargs[key], count = copy_to_host(item, where)
            nodes += count
        try:
            result = self.fn(*host_args, **host_kwargs)
        except PvmError:
            raise
        except Exception as exc:
            raise script_exception(exc) from None
        if self.sandbox.breached is not None:
            raise self.sandbox.breached
        value, count = to_script(result, interp.heap, f"from host function '{self.name}' (it returned it)")
        self.sandbox.charge(nodes + count)
        return value

    def __repr__(self) -> str:
        return f"<built-in function {self.name}>"


HostFunction.__name__ = HostFunction.__qualname__ = "builtin_function_or_method"
HostFunction.__module__ = "builtins"
