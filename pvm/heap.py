"""The VM heap: every mutable or identity-bearing object a script creates is
allocated (or adopted, when a builtin made it) here.

Today the heap accounts: it counts objects and charges each an estimated size
by pvm's size model (a fixed header plus a word per slot), so that the
collector can later take ownership without touching any caller.
"""

from __future__ import annotations

from typing import Any, Iterable

from pvm.objects import Cell, Function, Module

HEADER_BYTES = 16
WORD_BYTES = 8


def size_of(obj: Any) -> int:
    """pvm's size model for a heap object, in bytes."""
    if isinstance(obj, (list, set)):
        return HEADER_BYTES + WORD_BYTES * len(obj)
    if isinstance(obj, dict):
        return HEADER_BYTES + 2 * WORD_BYTES * len(obj)
    if isinstance(obj, Function):
        return HEADER_BYTES + WORD_BYTES * (4 + len(obj.defaults) + len(obj.closure))
    return HEADER_BYTES + WORD_BYTES


class Heap:
    """Allocation and accounting for one VM."""

    def __init__(self) -> None:
        self.objects_allocated = 0
        self.bytes_allocated = 0

    def _charge(self, obj: Any) -> Any:
        self.objects_allocated += 1
        self.bytes_allocated += size_of(obj)
        return obj

    def new_list(self, items: Iterable[Any] = ()) -> list[Any]:
        return self._charge(list(items))

    def new_dict(self, pairs: Iterable[tuple[Any, Any]] = ()) -> dict[Any, Any]:
        return self._charge(dict(pairs))

    def new_set(self, items: Iterable[Any] = ()) -> set[Any]:
        return self._charge(set(items))

    def new_cell(self, value: Any = Cell.EMPTY) -> Cell:
        return self._charge(Cell(value))

    def new_function(self, *args: Any) -> Function:
        return self._charge(Function(*args))

    def new_module(self, name: str, origin: str | None, namespace: dict[str, Any]) -> Module:
        return self._charge(Module(name, origin, namespace))

    def adopt(self, obj: Any) -> Any:
        """Take ownership of a container a builtin created; other values pass through."""
        if type(obj) in (list, dict, set):
            self._charge(obj)
        return obj
