"""Raising and catching: what happens between an instruction that raises and
the handler that catches it, in the order CPython 3.11 does it.

Script exceptions are host exception objects (builtin types, and user classes
deriving from them: pvm.classes), so host code raises them as it always does.
When one reaches the interpreter loop, ``catch``:

1. records the frame in the exception's traceback (``TB``: a list of
   ``(code, instruction)``, innermost first, made into TracebackEntry lines
   only when read) unless it is being re-raised (``raise``
   alone, RERAISE), which keeps the traceback it had;
2. chains it: an exception raised while another is being handled gets that one
   as ``__context__`` (cycles broken as CPython breaks them);
3. looks up the frame's exception table; a handler truncates the operand stack
   to its depth, pushes the exception and resumes there; without one the frame
   is popped and the search goes on in its caller, which records itself too.

An exception that leaves the loop's entry frame propagates to the host code
that started the loop (a builtin calling back, an import, the VM's entry
point), which is where ``ScriptError`` is made for the outermost one.
LimitExceeded and every other PvmError never reach ``catch``: no script
handler, ``except:`` included, sees them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pvm.classes import Instance
from pvm.code import Code
from pvm.errors import TracebackEntry
from pvm.frames import Frame

if TYPE_CHECKING:
    from pvm.interp import Interpreter

TB = "__pvm_tb__"

# Host exception types a script may meet; anything else escaping an
# instruction is a bug in pvm.
# Instance first: a script's own exception classes are what exception-heavy scripts raise.
SCRIPT_EXCEPTIONS = (Instance, ArithmeticError, LookupError, ValueError, TypeError, NameError, AttributeError,
                     AssertionError, RecursionError, ImportError, StopIteration, MemoryError,
                     NotImplementedError, RuntimeError, SystemExit)


def is_script_exception(exc: BaseException) -> bool:
    """Whether ``exc`` is the script's to see: an exception of the kinds scripts
    meet or raise (a NameError Python raised by itself is a bug in pvm)."""
    if type(exc) in (NameError, UnboundLocalError):
        return getattr(exc, "pvm_raised", False)
    return isinstance(exc, SCRIPT_EXCEPTIONS) or type(exc) is Exception or type(exc) is BaseException


def traceback_of(exc: BaseException) -> list[TracebackEntry]:
    """The frames ``exc`` passed through, outermost first."""
    return [TracebackEntry(code.filename, code.line_at(index), code.name)
            for code, index in reversed(exc.__dict__.get(TB, ()))]


def _append(exc: BaseException, code: Code, index: int) -> None:
    tb = exc.__dict__.get(TB)
    if tb is None:
        exc.__dict__[TB] = [(code, index)]
    else:
        tb.append((code, index))


def chain(exc: BaseException, handling: BaseException | None) -> None:
    """Set ``exc.__context__`` to the exception being handled, as raising does."""
    if handling is None or handling is exc:
        return
    seen = handling
    while True:                     # break a cycle: exc must not be in handling's chain
        context = seen.__context__
        if context is None:
            break
        if context is exc:
            seen.__context__ = None
            break
        seen = context
    exc.__context__ = handling


def note_raised(vm: "Interpreter", exc: BaseException, code: Code, index: int) -> None:
    """What the first activation ``exc`` meets does before looking for a
    handler: chain and record it (at instruction ``index`` of ``code``), by how it was raised."""
    how = vm.raising
    vm.raising = FRESH
    if how == RERAISED:
        return
    if how == EXPLICIT:
        chain(exc, vm.handling)
    elif TB not in exc.__dict__:    # raised by an instruction or the host code it called (else: came through one)
        exc.__cause__ = None
        exc.__suppress_context__ = False
        exc.__context__ = None
        chain(exc, vm.handling)
    _append(exc, code, index)


def catch(vm: "Interpreter", exc: BaseException, frame: Frame) -> Frame:
    """The frame whose handler takes ``exc`` (its pc and stack set up), or
    re-raise ``exc`` out of the loop whose entry frame is the last one searched."""
    note_raised(vm, exc, frame.code, max(frame.pc - 1, 0))
    while True:
        found = frame.code.handler_at(frame.pc - 1)
        if found is not None:
            handler, depth = found
            del frame.stack[depth:]
            frame.stack.append(exc)
            frame.pc = handler
            return frame
        back = frame.back
        if back is None:
            raise exc
        vm.depth -= 1
        frame = vm.top_frame = back
        _append(exc, frame.code, max(frame.pc - 1, 0))


# How the exception arriving at ``catch`` was raised (Interpreter.raising).
FRESH = 0       # by an instruction, or by host code it called
EXPLICIT = 1    # by a `raise X` statement
RERAISED = 2    # by a bare `raise` or RERAISE: traceback and context unchanged


def do_raise(vm: "Interpreter", stack: list[Any], count: int) -> BaseException:
    """RAISE_VARARGS: the exception to raise (``vm.raising`` set accordingly)."""
    if count == 0:
        exc = vm.handling
        if exc is None:
            raise RuntimeError("No active exception to reraise")
        vm.raising = RERAISED
        return exc
    cause = stack.pop() if count == 2 else _NO_CAUSE
    exc = _instantiate(stack.pop(), "exceptions must derive from BaseException")
    if cause is not _NO_CAUSE:
        if cause is not None:
            cause = _instantiate(cause, "exception causes must derive from BaseException")
        exc.__cause__ = cause
    if isinstance(exc, NameError):
        exc.pvm_raised = True       # the script's own, not one Python raised inside pvm
    vm.raising = EXPLICIT
    return exc


_NO_CAUSE: Any = object()


def _instantiate(value: Any, message: str) -> BaseException:
    if type(value) is type and issubclass(value, BaseException):
        value = value()
        if not isinstance(value, BaseException):
            raise TypeError(f"calling {value!r} should have returned an instance of BaseException, "
                            f"not {type(value).__name__}")
        return value
    if isinstance(value, BaseException):
        return value
    raise TypeError(message)


def check_exc_match(exc: BaseException, kind: Any) -> bool:
    """``except kind:`` with CPython's refusal of non-exception classes."""
    for item in kind if type(kind) is tuple else (kind,):
        if not (type(item) is type and issubclass(item, BaseException)):
            raise TypeError("catching classes that do not inherit from BaseException is not allowed")
    return isinstance(exc, kind)
