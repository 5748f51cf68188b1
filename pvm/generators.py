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

from typing import TYPE_CHECKING, Any, NoReturn

from pvm.frames import Frame
from pvm.objects import Function
from pvm.unwind import TB

if TYPE_CHECKING:
    from pvm.interp import Interpreter


_start_translated: Any = None     # pvm.translated.start_generator, once a generator has needed it


def _import_start_translated() -> Any:
    """pvm.translated imports this module, so its function is imported at the
    first generator, once (an import statement costs a microsecond a call)."""
    global _start_translated
    from pvm.translated import start_generator
    _start_translated = start_generator
    return start_generator


class Generator:
    __slots__ = ("frame", "vm", "running", "qualname", "translated", "__weakref__")

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
        # the body as a host generator (pvm.translate), when the code is hot; the frame then only
        # gives the generator its size and its cells
        self.translated: Any = None
        if vm.translate:
            self.translated = (_start_translated or _import_start_translated())(vm, func, frame)

    def __iter__(self) -> "Generator":
        return self

    def __next__(self) -> Any:
        """A translated body (pvm.translate) runs as a host generator to its
        next yield (a value) or return (StopIteration, whose value is the
        result); an interpreted one resumes its frame."""
        body = self.translated
        if body is None:
            return self._next_interpreted()
        if self.running:
            raise ValueError("generator already executing")
        vm = self.vm
        if vm.depth >= vm.max_depth:
            raise vm.depth_exceeded()
        vm.depth += 1
        self.running = True
        try:
            value = next(body)
        except BaseException as exc:
            self.body_raised(exc)
        finally:
            self.running = False
            vm.depth -= 1
        vm.heap.temp_roots.append(value)    # rooted until the host call consuming it returns
        return value

    def body_raised(self, exc: BaseException) -> NoReturn:
        """Raise what leaves ``next()`` once the translated body raised ``exc`` (called while
        handling it; translated code that resumes the body itself calls it too): the body is done."""
        self.frame = self.translated = None
        if isinstance(exc, StopIteration):
            if exc.value is None:
                raise StopIteration from None
            raise StopIteration(exc.value) from None
        if isinstance(exc, RuntimeError) and type(exc.__cause__) is StopIteration and TB not in exc.__dict__:
            raise _raised_stop_iteration(exc.__cause__) from exc.__cause__     # the host's PEP 479 conversion
        raise exc

    def _next_interpreted(self) -> Any:
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
            raise _raised_stop_iteration(exc) from exc
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


def _raised_stop_iteration(exc: StopIteration) -> RuntimeError:
    """What a StopIteration escaping a generator's body becomes, as in CPython."""
    error = RuntimeError("generator raised StopIteration")
    error.__cause__ = exc
    error.__context__ = exc
    error.__dict__[TB] = []             # chained on purpose: the loop must not reset it
    return error


Generator.__name__ = Generator.__qualname__ = "generator"
Generator.__module__ = "builtins"
