"""Frames and calls: the data a tier-0 activation is made of, how its
instructions are pre-decoded, and how arguments are bound to parameters with
CPython's error wording.

Each code object is pre-decoded once into a list of ``(opcode, operand)``
tuples whose operands are already resolved (the constant itself, the name
string, the operator function), so the dispatch loop never decodes.
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Any, Callable

from pvm.code import CO_VARARGS, CO_VARKEYWORDS, Code
from pvm.objects import Cell, Function
from pvm.opcodes import BINARY_OPERATORS, COMPARE_OPERATORS, OPCODES, SUPERINSTRUCTIONS, Op, Operand

if TYPE_CHECKING:
    from pvm.heap import Heap

UNBOUND: Any = Cell.EMPTY          # marks an unassigned fast local
_COLLECTING = CO_VARARGS | CO_VARKEYWORDS
NO_NATIVE: Any = object()          # the JIT declined a call: tier 0 runs it

_BINARY_FUNCS = tuple(getattr(operator, name) for _, name in BINARY_OPERATORS)
_COMPARE_FUNCS = tuple(getattr(operator, name) for _, name in COMPARE_OPERATORS)


class Frame:
    """One activation of a code object. ``back`` is the calling frame of the
    same interpreter loop (None for the frame a loop was started with)."""

    __slots__ = ("code", "instrs", "globals", "locals", "cells", "stack", "pc", "back", "namespace")

    def __init__(self, code: Code, globals_: dict[str, Any], locals_: list[Any], back: "Frame | None") -> None:
        self.code = code
        self.instrs = code.quickened if code.quickened is not None else quicken(code)
        self.globals = globals_
        self.locals = locals_
        self.cells: list[Cell] = []
        self.stack: list[Any] = []
        self.pc = 0
        self.back = back
        self.namespace: dict[str, Any] | None = None    # a class body's namespace (LOAD_NAME, STORE_NAME)

    def make_cells(self, closure: tuple[Cell, ...], heap: Heap) -> None:
        """The frame's own cells, then the closure's. The closure's cells and
        each new cell are in the frame before the next allocation, so a
        collection that allocation starts sees them."""
        params = self.code.cell_params
        cells = self.cells = [UNBOUND] * len(params) + list(closure)
        for index, param in enumerate(params):
            cells[index] = heap.new_cell(self.locals[param] if param >= 0 else UNBOUND)


# --- Pre-decoding ---

def decode(code: Code) -> list[tuple[int, Any]]:
    """Resolve every operand once, by its kind in the opcode table (what the JIT reads)."""
    resolvers: dict[Operand, Callable[[int], Any]] = {
        Operand.CONST: code.consts.__getitem__,
        Operand.NAME: code.names.__getitem__,
        Operand.BINOP: _BINARY_FUNCS.__getitem__,
        Operand.CMPOP: _COMPARE_FUNCS.__getitem__,
    }
    decoded = []
    for op, arg in zip(code.ops, code.args):
        resolve = resolvers.get(OPCODES[op].operand)
        decoded.append((int(op), resolve(arg) if resolve else arg))
    code.decoded = decoded
    return decoded


def quicken(code: Code) -> list[tuple[int, Any]]:
    """Tier 0's instruction list: the decoded one with superinstructions fused in."""
    code.quickened = fuse(code, code.decoded if code.decoded is not None else decode(code))
    return code.quickened


_FUSED: dict[tuple[int, int], int] = {(Op[first], Op[second]): Op[name]
                                      for name, (first, second) in SUPERINSTRUCTIONS.items()}


def fuse(code: Code, decoded: list[tuple[int, Any]]) -> list[tuple[int, Any]]:
    """Each instruction that starts a superinstruction's pair becomes the fused
    form (its operand the pair of both operands); the second instruction stays,
    for jumps to it. The pair may span lines and handler regions: the loop moves
    pc past the first half before the second runs, so an error is reported
    exactly where it happened."""
    fused = list(decoded)
    for index in range(len(decoded) - 1):
        (first, a), (second, b) = decoded[index], decoded[index + 1]
        op = _FUSED.get((first, second))
        if op is not None:
            fused[index] = (op, (a, b))
    return fused


# --- Argument binding ---

def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _name_list(names: list[str]) -> str:
    quoted = [f"'{n}'" for n in names]
    if len(quoted) == 1:
        return quoted[0]
    if len(quoted) == 2:
        return f"{quoted[0]} and {quoted[1]}"
    return ", ".join(quoted[:-1]) + f", and {quoted[-1]}"


def bind_arguments(func: Function, args: list[Any] | tuple[Any, ...],
                   kwargs: dict[str, Any] | None) -> list[Any]:
    """Fast locals for a call of ``func``, with CPython's TypeError wording.

    The common call (every positional parameter given positionally, nothing
    else) binds here; the rest follows CPython's initialize_locals step by step,
    since the order of its checks decides which error a bad call gets. Binding
    may allocate ``*args`` and ``**kwargs``: callers keep the arguments where
    the collector sees them (the calling frame's stack)."""
    code = func.code
    nargs = len(args)
    if nargs == code.argcount and not kwargs and not code.kwonlyargcount and not code.flags & _COLLECTING:
        locals_ = list(args)
        locals_.extend([UNBOUND] * (len(code.varnames) - nargs))
        return locals_
    return _bind(func, code, args, kwargs)


def _bind(func: Function, code: Code, args: list[Any] | tuple[Any, ...], kwargs: dict[str, Any] | None) -> list[Any]:
    argcount = code.argcount
    nargs = len(args)
    flags = code.flags
    varnames = code.varnames
    total = argcount + code.kwonlyargcount
    locals_ = list(args) if nargs <= argcount else list(args[:argcount])
    locals_.extend([UNBOUND] * (len(varnames) - len(locals_)))
    extra: dict[str, Any] | None = {} if flags & CO_VARKEYWORDS else None
    if kwargs:
        for key, value in kwargs.items():
            try:
                index = varnames.index(key, 0, total)
            except ValueError:
                if extra is None:
                    raise TypeError(f"{func.qualname}() got an unexpected keyword argument '{key}'") from None
                extra[key] = value
                continue
            if locals_[index] is not UNBOUND:
                raise TypeError(f"{func.qualname}() got multiple values for argument '{key}'")
            locals_[index] = value
    if nargs > argcount and not flags & CO_VARARGS:
        raise _too_many_positional(func, nargs, locals_)
    if nargs < argcount:
        defaults = func.defaults
        first_default = argcount - len(defaults)
        missing = [varnames[index] for index in range(nargs, first_default) if locals_[index] is UNBOUND]
        if missing:
            raise _missing(func, missing, "positional")
        for index in range(max(nargs, first_default), argcount):
            if locals_[index] is UNBOUND:
                locals_[index] = defaults[index - first_default]
    if total > argcount:
        kwdefaults = func.kwdefaults or {}
        missing = []
        for index in range(argcount, total):
            if locals_[index] is UNBOUND:
                if varnames[index] in kwdefaults:
                    locals_[index] = kwdefaults[varnames[index]]
                else:
                    missing.append(varnames[index])
        if missing:
            raise _missing(func, missing, "keyword-only")
    if flags & _COLLECTING:
        # Allocation last: a collection it starts finds every argument still on the
        # caller's stack, and the **kwargs dict is registered only once it is full.
        heap = func.vm.heap
        if flags & CO_VARARGS:
            locals_[total] = heap.adopt(tuple(args[argcount:]))
            total += 1
        if extra is not None:
            locals_[total] = heap.adopt(extra)
    return locals_


def _too_many_positional(func: Function, given: int, locals_: list[Any]) -> TypeError:
    code = func.code
    argcount = code.argcount
    kwonly_given = sum(value is not UNBOUND for value in locals_[argcount:argcount + code.kwonlyargcount])
    ndefaults = len(func.defaults)
    if ndefaults:
        takes = f"from {argcount - ndefaults} to {argcount} positional arguments"
    else:
        takes = _plural(argcount, "positional argument")
    if kwonly_given:
        given_text = f"{_plural(given, 'positional argument')} (and {_plural(kwonly_given, 'keyword-only argument')})"
    else:
        given_text = str(given)
    verb = "was" if given == 1 and not kwonly_given else "were"
    return TypeError(f"{func.qualname}() takes {takes} but {given_text} {verb} given")


def _missing(func: Function, names: list[str], kind: str) -> TypeError:
    return TypeError(f"{func.qualname}() missing {_plural(len(names), f'required {kind} argument')}: "
                     f"{_name_list(names)}")


def _raised_by_pvm(error: NameError) -> NameError:
    """Mark a NameError as the script's: one raised by Python itself would be a bug in pvm."""
    error.pvm_raised = True  # type: ignore[attr-defined]
    return error


def unbound_local(name: str) -> NameError:
    return _raised_by_pvm(UnboundLocalError(f"cannot access local variable '{name}' "
                                            "where it is not associated with a value"))


def unbound_deref(code: Code, index: int) -> NameError:
    if index < len(code.cellvars):
        return unbound_local(code.cellvars[index])
    name = code.freevars[index - len(code.cellvars)]
    return _raised_by_pvm(NameError(f"cannot access free variable '{name}' where it is not associated with a value"
                                    " in enclosing scope"))


def name_error(name: str, code: Code, globals_: dict[str, Any], builtins: dict[str, Any]) -> NameError:
    """A NameError that remembers where the name was looked up, for the
    "Did you mean" hint CPython computes when it prints the error."""
    error = NameError(f"name '{name}' is not defined", name=name)
    error.pvm_scopes = (code.varnames, globals_, builtins)  # type: ignore[attr-defined]
    return _raised_by_pvm(error)


def unpack(seq: Any, count: int) -> list[Any]:
    items = list(seq)
    if len(items) != count:
        if len(items) > count:
            raise ValueError(f"too many values to unpack (expected {count})")
        raise ValueError(f"not enough values to unpack (expected {count}, got {len(items)})")
    return items


def unpack_ex(seq: Any, before: int, after: int, heap: Heap) -> list[Any]:
    """The items of ``seq`` with the starred middle made a list. ``seq`` must
    still be on the operand stack: the items are only in a host list here."""
    items = list(seq)
    if len(items) < before + after:
        raise ValueError(f"not enough values to unpack (expected at least {before + after}, got {len(items)})")
    middle = heap.new_list(items[before:len(items) - after])
    return items[:before] + [middle] + items[len(items) - after:]


def check_unpackable(value: Any) -> None:
    if not hasattr(value, "__iter__") and not hasattr(value, "__getitem__"):
        raise TypeError(f"cannot unpack non-iterable {type(value).__name__} object")
