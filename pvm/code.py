"""Code objects: the compiler's output and the interpreter's input.

A ``Code`` is immutable compile output (instructions, constants, names, line
table) plus two run-time side fields that belong to the code rather than to
any one call: the pre-decoded instruction list the interpreter builds on first
use, and the profiling counters the JIT reads.
"""

from __future__ import annotations

import bisect
from typing import Any

# Code flags
CO_NESTED = 1          # defined inside another function (has an enclosing scope)
CO_MODULE = 2          # a module's top-level code
CO_LAMBDA = 4          # a lambda expression
CO_COMPREHENSION = 8   # the hidden function of a comprehension
CO_VARARGS = 16        # has a *args parameter (the local after the keyword-only ones)
CO_VARKEYWORDS = 32    # has a **kwargs parameter (the local after *args, if any)
CO_CLASS_BODY = 64     # a class body: names live in the namespace being built
CO_GENERATOR = 128     # calling it makes a generator (the body contains yield)
CO_DOCSTRING = 256     # a function whose body starts with a string: consts[0] is its __doc__


class Profile:
    """Counters tier 0 keeps for the JIT: how hot a code object is."""

    __slots__ = ("calls", "backedges")

    def __init__(self) -> None:
        self.calls = 0
        self.backedges = 0


class Code:
    """One function's, class body's or module's compiled form (plain slots
    rather than a dataclass: ``dataclasses`` imports ``inspect``, 10 ms of
    every start-up)."""

    # the compiler's output, in the constructor's order
    FIELDS = ("name", "qualname", "filename", "firstlineno", "argcount", "varnames", "cellvars", "freevars",
              "cell_params", "names", "consts", "ops", "args", "linetable", "max_stack", "flags",
              "exception_table", "kwonlyargcount")
    __slots__ = FIELDS + ("decoded", "quickened", "profile", "translated", "fast_args", "callees", "line_starts",
                          "flow")

    def __init__(self, name: str, qualname: str, filename: str, firstlineno: int, argcount: int,
                 varnames: tuple[str, ...], cellvars: tuple[str, ...], freevars: tuple[str, ...],
                 cell_params: tuple[int, ...], names: tuple[str, ...], consts: tuple[Any, ...],
                 ops: tuple[int, ...], args: tuple[int, ...], linetable: tuple[tuple[int, int], ...],
                 max_stack: int, flags: int = 0, exception_table: tuple[tuple[int, int, int, int], ...] = (),
                 kwonlyargcount: int = 0) -> None:
        self.name = name                    # function name, '<module>', '<lambda>', '<listcomp>', ...
        self.qualname = qualname            # dotted path as CPython's __qualname__ ('f.<locals>.g')
        self.filename = filename
        self.firstlineno = firstlineno
        self.argcount = argcount            # positional parameters (the first argcount varnames)
        self.varnames = varnames            # fast locals: parameters first
        self.cellvars = cellvars            # locals captured by inner functions (cells made at entry)
        self.freevars = freevars            # variables captured from enclosing functions
        self.cell_params = cell_params      # for each cellvar: index of the parameter it holds, or -1
        self.names = names                  # global, attribute and module names
        self.consts = consts                # constants; nested Code objects are constants too
        self.ops = ops                      # opcode per instruction
        self.args = args                    # operand per instruction
        self.linetable = linetable          # (first instruction index, line) runs, ascending
        self.max_stack = max_stack
        self.flags = flags
        # (start, end, handler, depth): an exception raised by instructions
        # start..end-1 truncates the stack to depth, pushes the exception and jumps
        # to handler. Runs are disjoint and ascending (lang.assembler builds them).
        self.exception_table = exception_table
        self.kwonlyargcount = kwonlyargcount   # keyword-only parameters (the varnames after the positional ones)
        self.decoded: list[Any] | None = None     # operands resolved (pvm.frames.decode)
        self.flow: Any = None     # its shape for translation (pvm.flow.Flow), once a translation needed it
        self.quickened: list[Any] | None = None   # tier 0's, superinstructions fused in
        self.profile = Profile()
        # tier 0's translation to a host function (pvm.translated): None until hot, False if refused
        self.translated: Any = None
        # argcount when a positional call of the translation needs no binding (no keyword-only or
        # collecting parameters, not a generator), else -1
        self.fast_args = -1
        # while interpreted with translation on, by instruction: the function or user class each CALL
        # called last, the class of the object each LOAD_ATTR of a property name read last, the class of a
        # binary operator's left operand whose special method made its result; translation may inline the
        # function (the class's __init__, the property's getter, the special method) there (pvm.translate)
        self.callees: dict[int, Any] = {}
        self.line_starts: list[int] = []    # the linetable's starts, made at first use

    def line_at(self, index: int) -> int:
        """The source line of instruction ``index``."""
        starts = self.line_starts
        if len(starts) != len(self.linetable):
            starts[:] = [start for start, _ in self.linetable]
        pos = bisect.bisect_right(starts, index) - 1
        return self.linetable[pos][1] if pos >= 0 else self.firstlineno

    def handler_at(self, index: int) -> tuple[int, int] | None:
        """``(handler, depth)`` for an exception raised by instruction ``index``."""
        table = self.exception_table
        pos = bisect.bisect_right(table, (index, 1 << 62)) - 1
        if pos >= 0:
            start, end, handler, depth = table[pos]
            if start <= index < end:
                return handler, depth
        return None

    def __repr__(self) -> str:
        return f"<code object {self.name} at {id(self):#x}, file {self.filename!r}, line {self.firstlineno}>"
