"""Code objects: the compiler's output and the interpreter's input.

A ``Code`` is immutable compile output (instructions, constants, names, line
table) plus two run-time side fields that belong to the code rather than to
any one call: the pre-decoded instruction list the interpreter builds on first
use, and the profiling counters the JIT reads.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
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


@dataclass(slots=True)
class Profile:
    """Counters tier 0 keeps for the JIT: how hot a code object is."""

    calls: int = 0
    backedges: int = 0


@dataclass(slots=True, eq=False)
class Code:
    name: str                           # function name, '<module>', '<lambda>', '<listcomp>', ...
    qualname: str                       # dotted path as CPython's __qualname__ ('f.<locals>.g')
    filename: str
    firstlineno: int
    argcount: int                       # positional parameters (the first argcount varnames)
    varnames: tuple[str, ...]           # fast locals: parameters first
    cellvars: tuple[str, ...]           # locals captured by inner functions (cells made at entry)
    freevars: tuple[str, ...]           # variables captured from enclosing functions
    cell_params: tuple[int, ...]        # for each cellvar: index of the parameter it holds, or -1
    names: tuple[str, ...]              # global, attribute and module names
    consts: tuple[Any, ...]             # constants; nested Code objects are constants too
    ops: tuple[int, ...]                # opcode per instruction
    args: tuple[int, ...]               # operand per instruction
    linetable: tuple[tuple[int, int], ...]  # (first instruction index, line) runs, ascending
    max_stack: int
    flags: int = 0
    # (start, end, handler, depth): an exception raised by instructions
    # start..end-1 truncates the stack to depth, pushes the exception and jumps
    # to handler. Runs are disjoint and ascending (lang.assembler builds them).
    exception_table: tuple[tuple[int, int, int, int], ...] = ()
    kwonlyargcount: int = 0             # keyword-only parameters (the varnames after the positional ones)
    decoded: list[Any] | None = field(default=None, repr=False)   # operands resolved (pvm.frames.decode)
    quickened: list[Any] | None = field(default=None, repr=False)  # tier 0's, superinstructions fused in
    profile: Profile = field(default_factory=Profile, repr=False)
    # tier 0's translation to a host function (pvm.translated): None until hot, False if refused
    translated: Any = field(default=None, repr=False)
    # argcount when a positional call of the translation needs no binding (no keyword-only or
    # collecting parameters, not a generator), else -1
    fast_args: int = field(default=-1, repr=False)
    # while interpreted with translation on, by instruction: the function or user class each CALL
    # called last, the class of the object each LOAD_ATTR of a property name read last, the class of a
    # binary operator's left operand whose special method made its result; translation may inline the
    # function (the class's __init__, the property's getter, the special method) there (pvm.translate)
    callees: dict[int, Any] = field(default_factory=dict, repr=False)
    line_starts: list[int] = field(default_factory=list, repr=False)   # the linetable's starts, made at first use

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
