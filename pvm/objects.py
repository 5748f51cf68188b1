"""VM object kinds that have no host equivalent: functions, cells, modules
and builtin functions written in Python.

Immutable values (None, bool, int, float, str, tuple, range) and the builtin
containers (list, dict, set) are the host's own objects, so their operations
and error messages are CPython's byte for byte; only identity-bearing kinds
that the language defines differently live here. Each class is renamed to the
type name CPython shows (``function``, ``cell``, ``module``), so host error
messages such as "'function' object is not subscriptable" read right.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from pvm.code import Code
    from pvm.interp import Interpreter


class Cell:
    """A variable shared between a function and the closures it creates."""

    __slots__ = ("value",)
    EMPTY: Any = object()   # sentinel: the variable is unbound

    def __init__(self, value: Any = EMPTY) -> None:
        self.value = value

    def __repr__(self) -> str:
        if self.value is Cell.EMPTY:
            return f"<cell at {id(self):#x}: empty>"
        return f"<cell at {id(self):#x}: {type(self.value).__name__} object at {id(self.value):#x}>"


class Function:
    """A script function: code plus the environment it closes over.

    Calling one from Python (a builtin such as ``sorted(key=f)``) re-enters
    the interpreter; a call from script code pushes a VM frame instead.
    """

    __slots__ = ("code", "globals", "defaults", "kwdefaults", "closure", "name", "qualname", "vm", "attrs",
                 "__weakref__")

    def __init__(self, code: "Code", globals: dict[str, Any], defaults: tuple[Any, ...],
                 closure: tuple[Cell, ...], vm: "Interpreter", kwdefaults: dict[str, Any] | None = None) -> None:
        self.code = code
        self.globals = globals
        self.defaults = defaults
        self.kwdefaults = kwdefaults          # keyword-only defaults by name, as CPython's __kwdefaults__
        self.closure = closure
        self.name = code.name
        self.qualname = code.qualname
        self.vm = vm
        self.attrs: dict[str, Any] | None = None   # attributes a script set (``f.calls = 0``), made on first use

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.vm.call_from_host(self, args, kwargs)

    def __repr__(self) -> str:
        return f"<function {self.qualname} at {id(self):#x}>"


class Module:
    """A loaded module: its name, where it came from, and its globals. A
    package also has ``path``, the folder its submodules are found in (kept
    host-side: a script never sees host paths but through ``repr``)."""

    __slots__ = ("name", "origin", "dict", "path", "__weakref__")

    def __init__(self, name: str, origin: str | None, namespace: dict[str, Any],
                 path: str | None = None) -> None:
        self.name = name
        self.origin = origin
        self.dict = namespace
        self.path = path

    def __repr__(self) -> str:
        if self.origin is None:
            return f"<module {self.name!r} (built-in)>"
        return f"<module {self.name!r} from {self.origin!r}>"


class Builtin:
    """A builtin function implemented in Python, shown as CPython shows its own."""

    __slots__ = ("name", "fn", "__weakref__")

    def __init__(self, name: str, fn: Callable[..., Any]) -> None:
        self.name = name
        self.fn = fn

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<built-in function {self.name}>"


for _cls, _name in ((Cell, "cell"), (Function, "function"), (Module, "module"),
                    (Builtin, "builtin_function_or_method")):
    _cls.__name__ = _cls.__qualname__ = _name
    _cls.__module__ = "builtins"
