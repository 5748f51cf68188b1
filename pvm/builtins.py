"""The builtin namespace a script starts with (Level 1).

Most builtins are the host's own objects: pvm runs on CPython 3.11, so
``len``, ``sorted``, ``int``, ``list``... already behave, fail and print
(``<built-in function len>``, ``<class 'int'>``) exactly as the oracle does.
Only three kinds of builtin are written here:

- ``print`` writes through ``vm.write`` instead of the host's stdout;
- ``type`` is the one-argument form only (see ``TypeBuiltin``), because the
  host ``type`` called with three arguments creates classes;
- ``isinstance``/``issubclass`` accept that stand-in wherever a type goes.

Adoption: a host callable that returns a new list, dict or set (``sorted``,
``list(...)``, ``dict.copy``, ``str.split``...) hands it to the script
unaccounted. The interpreter passes the result of EVERY host call through
``vm.heap.adopt``, so builtins are exposed unwrapped and ``print(list)`` still
shows ``<class 'list'>``.

Calling a host type: the interpreter calls only the types in
``CALLABLE_TYPES`` and refuses any other ``type`` object ("cannot create 'X'
instances"), so a class reached through ``type(x)`` (``list_iterator``,
``function``...) cannot be instantiated.

Level 2 adds the exception classes (the host's), ``object`` and pvm's own
``super``, ``property``, ``staticmethod`` and ``classmethod`` (pvm.classes).

Level 3 adds ``getattr``/``setattr``/``delattr``/``hasattr``: they go through
the very functions ``obj.name`` goes through (pvm.attributes), so a name built
at run time reaches nothing a written attribute could not.

Never present: anything that reaches the host or reflects on namespaces (eval,
exec, compile, open, __import__, globals, locals, vars, dir, input, breakpoint,
help, memoryview). ``DANGEROUS_NAMES`` lists them for the tests.
Resource-heavy builtins (``range`` materialisation, ``pow``, ``sorted``...)
are charged before they run by the sandbox's host-call check (pvm.costs).
"""

from __future__ import annotations

import builtins as _host
from typing import Any, Callable

from pvm.classes import ClassMethod, Property, StaticMethod, Super
from pvm.objects import Builtin

# Host builtins exposed as they are: CPython's behaviour, messages and reprs.
_HOST_NAMES = (
    "abs", "all", "any", "ascii", "bin", "bool", "callable", "chr", "dict", "divmod",
    "enumerate", "filter", "float", "format", "frozenset", "hash", "hex", "id", "int",
    "iter", "len", "list", "map", "max", "min", "next", "oct", "ord", "pow", "range",
    "repr", "reversed", "round", "set", "slice", "sorted", "str", "sum", "tuple", "zip",
)

# The exception classes a script meets (pvm.unwind, pvm.classes): the host's own.
EXCEPTION_TYPES: tuple[type, ...] = (
    BaseException, Exception, ArithmeticError, ZeroDivisionError, OverflowError, LookupError, IndexError,
    KeyError, ValueError, TypeError, NameError, UnboundLocalError, AttributeError, RuntimeError,
    RecursionError, StopIteration, NotImplementedError, AssertionError, ImportError, ModuleNotFoundError,
    MemoryError, SystemExit,
)

CALLABLE_TYPES: frozenset[type] = frozenset({
    bool, int, float, str, list, tuple, dict, set, frozenset, range, slice,
    enumerate, zip, map, filter, reversed, object, Super, Property, StaticMethod, ClassMethod,
    *EXCEPTION_TYPES,
})

DANGEROUS_NAMES: frozenset[str] = frozenset({
    "eval", "exec", "compile", "open", "__import__", "globals", "locals", "vars", "dir",
    "input", "breakpoint", "help", "memoryview",
    "__builtins__", "exit", "quit",
})


class TypeBuiltin:
    """The script's ``type``: ``type(x)`` only; three-argument class creation is refused.

    The host ``type`` never reaches a script: wherever ``type(x)`` would return
    it (``type(int)``, ``type(type)``), this object is returned instead, so
    ``type(int) is type`` holds and ``print(type)`` shows ``<class 'type'>`` as
    in CPython. Its own class is also named ``type`` for host error messages.
    """

    __slots__ = ()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 1:
            if kwargs:
                raise TypeError("type() takes no keyword arguments")
            result = _host.type(args[0])
            return TYPE if result is _host.type or result is TypeBuiltin else result
        if len(args) == 3:
            raise TypeError("type() with 3 arguments is not supported")
        raise TypeError("type() takes 1 or 3 arguments")

    def __repr__(self) -> str:
        return "<class 'type'>"


TypeBuiltin.__name__ = TypeBuiltin.__qualname__ = "type"
TypeBuiltin.__module__ = "builtins"
TYPE = TypeBuiltin()


def _host_classinfo(info: Any) -> Any:
    """Replace the ``type`` stand-in (also inside nested tuples) by what it stands for."""
    if info is TYPE:
        return (_host.type, TypeBuiltin)
    if _host.type(info) is tuple:
        return tuple(_host_classinfo(item) for item in info)
    return info


def _isinstance(*args: Any, **kwargs: Any) -> bool:
    if kwargs:
        raise TypeError("isinstance() takes no keyword arguments")
    if len(args) != 2:
        raise TypeError(f"isinstance expected 2 arguments, got {len(args)}")
    info = args[1]
    # a class (a user class's type is the host's type) stands for itself: the common case, without a call
    return _host.isinstance(args[0], info if _host.type(info) is _host.type else _host_classinfo(info))


def _issubclass(*args: Any, **kwargs: Any) -> bool:
    if kwargs:
        raise TypeError("issubclass() takes no keyword arguments")
    if len(args) != 2:
        raise TypeError(f"issubclass expected 2 arguments, got {len(args)}")
    cls = _host.type if args[0] is TYPE else args[0]
    return _host.issubclass(cls, _host_classinfo(args[1]))


def _print_options(kwargs: dict[str, Any]) -> tuple[str, str]:
    """Validate print's keywords as CPython does; return (sep, end)."""
    sep, end = " ", "\n"
    for key, value in kwargs.items():
        if key == "sep" or key == "end":
            if value is None:
                continue
            if _host.type(value) is not str:
                raise TypeError(f"{key} must be None or a string, not {_host.type(value).__name__}")
            if key == "sep":
                sep = value
            else:
                end = value
        elif key == "file":
            if value is not None:
                raise TypeError("print() argument 'file' is not supported")
        elif key != "flush":
            raise TypeError(f"'{key}' is an invalid keyword argument for print()")
    return sep, end


def _make_print(vm: Any) -> Callable[..., None]:
    def print_(*args: Any, **kwargs: Any) -> None:
        sep, end = _print_options(kwargs) if kwargs else (" ", "\n")
        parts: list[str] = []
        try:
            for value in args:
                parts.append(str(value))
        except BaseException:
            # CPython has already written the arguments before the failing one.
            if parts:
                vm.write(sep.join(parts) + sep)
            raise
        vm.write(sep.join(parts) + end)

    return print_


def make_builtins(vm: Any) -> dict[str, object]:
    """A fresh builtin namespace for one VM (``vm.write`` receives print's output)."""
    namespace: dict[str, object] = {name: getattr(_host, name) for name in _HOST_NAMES}
    namespace["print"] = Builtin("print", _make_print(vm))
    namespace["type"] = TYPE
    namespace["isinstance"] = Builtin("isinstance", _isinstance)
    namespace["issubclass"] = Builtin("issubclass", _issubclass)
    from pvm.attributes import REFLECTION  # pvm.attributes builds on this module

    namespace.update((name, Builtin(name, function)) for name, function in REFLECTION.items())
    namespace.update((kind.__name__, kind) for kind in EXCEPTION_TYPES)
    namespace.update(object=object, super=Super, property=Property, staticmethod=StaticMethod,
                     classmethod=ClassMethod, NotImplemented=NotImplemented)
    return namespace
