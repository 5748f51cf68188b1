"""The embedding API: ``pvm.VM``, one isolated script runtime per instance.

A VM owns its interpreter, heap, builtins namespace, loaded modules and
``__main__`` module; nothing a script can change is shared between VMs (code
objects compiled from the same source are shared: they are immutable). Every
VM runs under ``pvm.Limits`` (bounded by default) through pvm.sandbox, and
the only doors to the host are the functions and modules the embedder
exposes (pvm.boundary converts every value that crosses).

Entries (``run``, ``run_file``, ``call``, ``eval``) each get a fresh step,
time and output budget; a host function may re-enter the same VM, and the
nested entry shares the budget of the outer one. A VM is not thread-safe: use
it from one thread at a time.
"""

from __future__ import annotations

import os
import sys
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Callable, Iterator, Sequence

from pvm import config
from pvm.boundary import HostFunction, to_host, to_script
from pvm.code import Code
from pvm.errors import PvmError, PvmSyntaxError, ScriptError
from pvm.heap import Heap
from pvm.interp import Interpreter, stdlib_dir
from pvm.natives import CAPABILITY_MODULES
from pvm.objects import Function
from pvm.pvmc import sha256
from pvm.sandbox import LimitExceeded, Limits, install

_CACHE_SIZE = 256


class _CodeCache:
    """Compiled code by key, least recently used dropped first (process-wide: code is immutable)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.entries: OrderedDict[Any, Code] = OrderedDict()

    def get(self, key: Any, build: Callable[[], Code]) -> Code:
        code = self.entries.get(key)
        if code is None:
            code = build()
            self.entries[key] = code
            if len(self.entries) > self.size:
                self.entries.popitem(last=False)
        else:
            self.entries.move_to_end(key)
        return code


_CODE = _CodeCache(_CACHE_SIZE)


def _compile(source: str, filename: str) -> Code:
    from lang import compile_source
    from pvm.verify import verify

    def build() -> Code:
        code = compile_source(source, filename)
        verify(code, filename)
        return code

    return _CODE.get(("module", source, filename), build)


def _compile_eval(expression: str) -> Code:
    """The code of a function ``<module>`` that returns ``expression``; its
    names are the globals of whatever namespace it is bound to."""
    from lang import ast
    from lang.compiler import compile_module
    from lang.parser import parse

    def build() -> Code:
        module = parse(expression, "<eval>")
        body = module.body
        if len(body) != 1 or type(body[0]) is not ast.ExprStmt:
            node = body[0] if body else module
            line = expression.splitlines()[node.line - 1] if node.line and expression.strip() else ""
            raise PvmSyntaxError("invalid syntax: vm.eval() takes a single expression",
                                 "<eval>", node.line or 1, node.col or 1, line)
        value = body[0].value
        wrapper = ast.Module(body=[ast.FunctionDef("<module>", [], [ast.Return(value, line=value.line,
                                                                             col=value.col)],
                                                   line=value.line, col=value.col)], line=1, col=1)
        outer = compile_module(wrapper, "<eval>")
        return next(const for const in outer.consts if type(const) is Code)

    return _CODE.get(("eval", expression), build)


def _load_module(path: str) -> Code:
    """Compile an imported module file; compiled code is shared by source
    digest and nothing is ever written to disk."""
    from pvm.loader import compile_bytes

    with open(path, "rb") as handle:
        data = handle.read()
    digest = sha256(data).digest()
    return _CODE.get(("import", path, digest), lambda: compile_bytes(data, path))


class Globals(Mapping[str, Any]):
    """Read access to a VM's ``__main__`` namespace; values are copied to the host."""

    def __init__(self, namespace: dict[str, Any]) -> None:
        self._namespace = namespace

    def __getitem__(self, name: str) -> Any:
        return to_host(self._namespace[name], f"from vm.globals[{name!r}]")

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._namespace))

    def __len__(self) -> int:
        return len(self._namespace)

    def __contains__(self, name: object) -> bool:
        return name in self._namespace


class VM:
    """An isolated script runtime.

    Args:
        limits: the limits every entry runs under; ``None`` means the safe
            defaults ``Limits()``, ``Limits.unlimited()`` switches them off.
        jit: False (tier 0 only), True or ``"on"`` (compile hot code), or
            ``"eager"`` (compile at first use); limits hold the same in every tier.
        translate: tier 0's translation of hot code to Python functions
            (docs/tier0.md): True or ``"on"`` (the default), ``"eager"`` or
            False; the results, steps and limits are the same either way.
        stdout: receives the text scripts ``print`` (default: the host's
            ``sys.stdout`` at the time of the write).
        module_path: folders scripts may import modules and packages from
            (``NAME.src``, ``NAME.py``, ``NAME/__init__.src``), searched
            before pvm's own stdlib.
        grant: host capability modules scripts may import; only ``"time"``
            (the host's clocks and ``sleep``) exists. Without it, ``import
            time`` fails with ModuleNotFoundError.
        argv: what scripts see as ``sys.argv`` (default ``[""]``).
    """

    def __init__(self, limits: Limits | None = None, *, jit: bool | str = False,
                 translate: bool | str = True,
                 stdout: Callable[[str], Any] | None = None, module_path: Sequence[str] = (),
                 grant: Sequence[str] = (), argv: Sequence[str] = ("",)) -> None:
        if jit not in (False, True, "off", "on", "eager"):
            raise ValueError(f"jit must be False, True, 'on' or 'eager', not {jit!r}")
        if translate not in (False, True, "off", "on", "eager"):
            raise ValueError(f"translate must be False, True, 'on' or 'eager', not {translate!r}")
        self.limits = Limits() if limits is None else limits
        self._stdout = stdout
        heap = Heap(pause=config.GC_PAUSE, stress=config.GC_STRESS, limit=self.limits.max_memory)
        self._interp = interp = Interpreter(write=self._emit, loader=_load_module,
                                            search_path=[*map(os.fspath, module_path), stdlib_dir()], heap=heap)
        unknown = set(grant) - set(CAPABILITY_MODULES)
        if unknown:
            raise ValueError(f"no such capability: {', '.join(sorted(map(repr, unknown)))}; "
                             f"pvm grants {', '.join(map(repr, CAPABILITY_MODULES))}")
        interp.set_translation("on" if translate is True else "off" if translate is False else str(translate))
        interp.granted.update(grant)
        interp.argv = [str(arg) for arg in argv]
        self._sandbox = install(interp, self.limits)     # before the JIT: it must see the host-call check
        self._sandbox.end()
        if jit not in (False, "off"):
            from pvm.jit import Jit

            interp.jit = Jit(interp, mode="on" if jit is True else str(jit))
        self._main = heap.new_module("__main__", None, heap.new_dict([("__name__", "__main__"), ("__doc__", None)]))
        interp.modules["__main__"] = self._main

    def _emit(self, text: str) -> None:
        (self._stdout or sys.stdout.write)(text)

    # --- Entries ---

    def run(self, source: str, filename: str = "<string>") -> None:
        """Compile ``source`` and run it in the VM's ``__main__`` module (whose
        globals persist from one run to the next).

        Raises:
            PvmSyntaxError: the source does not compile.
            ScriptError: the script raised an exception it did not catch.
            LimitExceeded: a limit ended the run.
        """
        code = _compile(source, filename)
        self._enter(lambda: self._interp.execute_module_code(code, self._main))

    def run_file(self, path: str | os.PathLike[str]) -> None:
        """``run`` the source file at ``path`` (the filename in tracebacks)."""
        from pvm.loader import decode_source

        path = os.fspath(path)
        with open(path, "rb") as handle:
            source = decode_source(handle.read(), path)
        self.run(source, path)

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call the script function ``name`` (a global of ``__main__``) with
        arguments copied into the VM; returns its result copied out."""
        func = self._main.dict.get(name)
        if func is None:
            raise NameError(f"name '{name}' is not defined in the VM")
        if type(func) is not Function:
            raise TypeError(f"'{name}' is not a script function")
        where = f"to vm.call({name!r})"

        def call() -> Any:
            heap = self._interp.heap
            mark = len(heap.temp_roots)
            held: list[Any] = []
            heap.temp_roots.append(held)
            try:
                for value in args:
                    held.append(to_script(value, heap, where)[0])
                script_kwargs = {}
                for key, value in kwargs.items():
                    script_kwargs[key] = to_script(value, heap, where)[0]
                    held.append(script_kwargs[key])
                result = self._interp.call_from_host(func, tuple(held[:len(args)]), script_kwargs)
                return to_host(result, f"from vm.call({name!r}) (its result)")
            finally:
                del heap.temp_roots[mark:]

        return self._enter(call)

    def eval(self, expression: str) -> Any:
        """The value of ``expression`` (a single expression over the globals of
        ``__main__``), copied out."""
        code = _compile_eval(expression)
        interp = self._interp

        def evaluate() -> Any:
            heap = interp.heap
            mark = len(heap.temp_roots)
            try:
                func = heap.new_function(code, self._main.dict, (), (), interp)
                heap.temp_roots.append(func)
                return to_host(interp.call_from_host(func, (), {}), "from vm.eval() (its result)")
            finally:
                del heap.temp_roots[mark:]

        return self._enter(evaluate)

    def _enter(self, action: Callable[[], Any]) -> Any:
        sandbox = self._sandbox
        sandbox.begin()
        try:
            return action()
        except LimitExceeded as error:
            if error.traceback is None:      # refused outside any script frame (a value the host handed in)
                error.traceback = []
            raise
        finally:
            sandbox.end()

    # --- Capabilities ---

    def expose(self, name: str, value: Any) -> None:
        """Make ``value`` a builtin name of this VM's scripts: a callable
        becomes a host function, anything else is copied in as a constant."""
        _check_name(name)
        self._interp.builtins[name] = self._capability(name, value)

    def expose_module(self, name: str, members: Mapping[str, Any]) -> None:
        """Make ``import name`` give scripts a module of ``members`` (host
        functions and constants, as ``expose``); each VM gets its own copy."""
        _check_name(name)
        heap = self._interp.heap
        namespace = heap.new_dict([("__name__", name)])
        for key, value in members.items():
            _check_name(key)
            namespace[key] = self._capability(f"{name}.{key}", value)
        heap.grew(namespace, 1)
        self._interp.modules[name] = heap.new_module(name, None, namespace)

    def _capability(self, name: str, value: Any) -> Any:
        if callable(value) and not isinstance(value, type):
            return HostFunction(name, value, self._interp, self._sandbox)
        return to_script(value, self._interp.heap, f"to vm.expose({name!r})")[0]

    # --- Inspection ---

    @property
    def globals(self) -> Globals:
        """The ``__main__`` namespace, read-only; values are copied out."""
        return Globals(self._main.dict)

    @property
    def steps(self) -> int:
        """Steps the current (or last) entry has used."""
        interp = self._interp
        return interp.steps + interp.interval - interp.countdown - self._sandbox.step_base

    @property
    def memory(self) -> int:
        """Live heap bytes after the last collection (pvm's size model)."""
        return self._interp.heap.stats.live_bytes


def _check_name(name: str) -> None:
    if type(name) is not str or not name.isidentifier():
        raise ValueError(f"not a valid name: {name!r}")


def format_error(error: PvmError) -> str:
    """The text to show a person for an error a VM raised: a CPython-style
    traceback of the script's frames, or a syntax error with its caret."""
    from pvm.report import format_script_error
    from pvm.sandbox import format_limit_exceeded

    if isinstance(error, ScriptError):
        return format_script_error(error)
    if isinstance(error, LimitExceeded):
        return format_limit_exceeded(error)
    if isinstance(error, PvmSyntaxError):
        return error.render() + "\n"
    return f"{type(error).__name__}: {error}\n"
