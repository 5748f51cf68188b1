"""Generators: a suspended VM frame and the host iterator protocol around it.

Calling a function whose code has CO_GENERATOR binds its arguments into a new
frame and returns a ``Generator`` instead of running it. ``next`` (from a
builtin, a ``for`` loop or ``yield from``) resumes the frame in a loop of its
own below the caller (Interpreter.resume), so the frame is always that loop's
entry frame and YIELD_VALUE simply returns from the loop, leaving pc and stack
in the frame for the next resumption. While suspended the frame is reachable
only through its generator, which is how the collector finds it.

As CPython: a StopIteration escaping the body becomes "RuntimeError: generator
raised StopIteration", ``return value`` ends it with StopIteration(value), and
a generator resumed while it runs raises "generator already executing".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pvm.frames import Frame
from pvm.objects import Function
from pvm.unwind import TB

if TYPE_CHECKING:
    from pvm.interp import Interpreter


class Generator:
    __slots__ = ("frame", "vm", "running", "qualname", "__weakref__")

    def __init__(self, vm: "Interpreter", func: Function, locals_: list[Any]) -> None:
        frame = Frame(func.code, func.globals, locals_, None)
        if func.closure or func.code.cell_params:
            roots = vm.heap.temp_roots
            roots.append(frame)       # no loop holds this frame yet: a collection in make_cells must see it
            frame.make_cells(func.closure, vm.heap)
            roots.pop()
        self.frame: Frame | None = frame
        self.vm = vm
        self.running = False
        self.qualname = func.qualname

    def __iter__(self) -> "Generator":
        return self

    def __next__(self) -> Any:
        frame = self.frame
        if frame is None:
            raise StopIteration
        if self.running:
            raise ValueError("generator already executing")
        if frame.pc:
            frame.stack.append(None)            # the value of the yield it is paused at
        self.running = True
        try:
            value, yielded = self.vm.resume(frame)
        except StopIteration as exc:
            self.frame = None
            error = RuntimeError("generator raised StopIteration")
            error.__cause__ = exc
            error.__context__ = exc
            error.__dict__[TB] = []             # chained on purpose: the loop must not reset it
            raise error from exc
        except BaseException:
            self.frame = None
            raise
        finally:
            self.running = False
        if yielded:
            self.vm.heap.temp_roots.append(value)    # rooted until the host call consuming it returns
            return value
        self.frame = None
        if value is None:
            raise StopIteration
        raise StopIteration(value)

    def __repr__(self) -> str:
        return f"<generator object {self.qualname} at {id(self):#x}>"


Generator.__name__ = Generator.__qualname__ = "generator"
Generator.__module__ = "builtins"
