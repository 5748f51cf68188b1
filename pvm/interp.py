"""Tier 0: the bytecode interpreter.

Frames are data: a call from script code pushes a ``Frame`` and the one
dispatch loop in ``Interpreter._execute`` carries on with it, so script
recursion never recurses in Python and the depth limit is pvm's own. Only a
call that comes from host code (a builtin such as ``sorted`` calling a key
function) starts a nested loop.

Each code object is pre-decoded once into a list of ``(opcode, operand)``
tuples whose operands are already resolved (the constant itself, the name
string, the operator function), see ``decode``. The loop keeps the frame's
hot state in Python locals and dispatches on plain ints, hottest first.

A script-visible exception is a host exception instance of a builtin type.
When one escapes an instruction, the loop unwinds the frames it owns, records
a traceback entry for each, and re-raises it as ``ScriptError``; an enclosing
loop (below a host call) adds its own frames as the error passes through.
"""

from __future__ import annotations

import operator
import os
from typing import Any, Callable

from pvm import builtins as builtins_mod
from pvm.attributes import delete_attribute, get_attribute, set_attribute
from pvm.code import Code
from pvm.errors import PvmError, ScriptError, TracebackEntry, VMInternalError
from pvm.heap import Heap
from pvm.natives import NATIVE_MODULES
from pvm.objects import Cell, Function, Module
from pvm.opcodes import (BINARY_OPERATORS, COMPARE_OPERATORS, FORMAT_CONVERSION_MASK, FORMAT_HAS_SPEC,
                         MAKE_FUNCTION_CLOSURE, MAKE_FUNCTION_DEFAULTS, OPCODES, Op, Operand)

DEFAULT_MAX_DEPTH = 1000          # frames, as CPython's default recursion limit counts them
UNBOUND: Any = Cell.EMPTY          # marks an unassigned fast local
_EXHAUSTED: Any = object()         # FOR_ITER's sentinel for a finished iterator

# Host exception types a script may meet; anything else escaping an
# instruction is a bug in pvm.
SCRIPT_EXCEPTIONS = (ArithmeticError, LookupError, ValueError, TypeError, NameError, AttributeError,
                     AssertionError, RecursionError, ImportError, StopIteration, MemoryError,
                     NotImplementedError, RuntimeError)

_BINARY_FUNCS = tuple(getattr(operator, name) for _, name in BINARY_OPERATORS)
_COMPARE_FUNCS = tuple(getattr(operator, name) for _, name in COMPARE_OPERATORS)
_CONVERSIONS: tuple[Callable[[Any], Any] | None, ...] = (None, str, repr, ascii)


class Frame:
    """One activation of a code object."""

    __slots__ = ("code", "instrs", "globals", "locals", "cells", "stack", "pc", "back")

    def __init__(self, code: Code, globals_: dict[str, Any], locals_: list[Any],
                 cells: list[Cell], back: "Frame | None") -> None:
        self.code = code
        self.instrs = code.decoded if code.decoded is not None else decode(code)
        self.globals = globals_
        self.locals = locals_
        self.cells = cells
        self.stack: list[Any] = []
        self.pc = 0
        self.back = back


# --- Pre-decoding ---

def decode(code: Code) -> list[tuple[int, Any]]:
    """Resolve every operand once, by its kind in the opcode table."""
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
    """Fast locals for a call of ``func``, with CPython's TypeError wording."""
    code = func.code
    argcount = code.argcount
    nargs = len(args)
    if nargs > argcount:
        ndefaults = len(func.defaults)
        if ndefaults:
            takes = f"from {argcount - ndefaults} to {argcount} positional arguments"
        else:
            takes = _plural(argcount, "positional argument")
        given = f"{nargs} {'was' if nargs == 1 else 'were'} given"
        raise TypeError(f"{func.qualname}() takes {takes} but {given}")
    locals_ = list(args)
    locals_.extend([UNBOUND] * (len(code.varnames) - nargs))
    if kwargs:
        params = code.varnames[:argcount]
        for key, value in kwargs.items():
            try:
                index = params.index(key)
            except ValueError:
                raise TypeError(f"{func.qualname}() got an unexpected keyword argument '{key}'") from None
            if locals_[index] is not UNBOUND:
                raise TypeError(f"{func.qualname}() got multiple values for argument '{key}'")
            locals_[index] = value
    if nargs < argcount:
        first_default = argcount - len(func.defaults)
        missing = []
        for index in range(nargs, argcount):
            if locals_[index] is UNBOUND:
                if index >= first_default:
                    locals_[index] = func.defaults[index - first_default]
                else:
                    missing.append(code.varnames[index])
        if missing:
            raise TypeError(f"{func.qualname}() missing {_plural(len(missing), 'required positional argument')}: "
                            f"{_name_list(missing)}")
    return locals_


def _new_cells(code: Code, locals_: list[Any], closure: tuple[Cell, ...], heap: Heap) -> list[Cell]:
    cells = [heap.new_cell(locals_[p] if p >= 0 else UNBOUND) for p in code.cell_params]
    cells.extend(closure)
    return cells


def _unbound_deref(code: Code, index: int) -> Exception:
    if index < len(code.cellvars):
        return UnboundLocalError(f"cannot access local variable '{code.cellvars[index]}' "
                                 "where it is not associated with a value")
    name = code.freevars[index - len(code.cellvars)]
    return NameError(f"cannot access free variable '{name}' where it is not associated with a value"
                     " in enclosing scope")


def name_error(name: str, code: Code, globals_: dict[str, Any], builtins: dict[str, Any]) -> NameError:
    """A NameError that remembers where the name was looked up, for the
    "Did you mean" hint CPython computes when it prints the error."""
    error = NameError(f"name '{name}' is not defined", name=name)
    error.pvm_scopes = (code.varnames, globals_, builtins)  # type: ignore[attr-defined]
    return error


def _unpack(seq: Any, count: int) -> list[Any]:
    items = list(seq)
    if len(items) != count:
        if len(items) > count:
            raise ValueError(f"too many values to unpack (expected {count})")
        raise ValueError(f"not enough values to unpack (expected {count}, got {len(items)})")
    return items


def _unpack_ex(seq: Any, before: int, after: int, heap: Heap) -> list[Any]:
    items = list(seq)
    if len(items) < before + after:
        raise ValueError(f"not enough values to unpack (expected at least {before + after}, got {len(items)})")
    middle = heap.new_list(items[before:len(items) - after])
    return items[:before] + [middle] + items[len(items) - after:]


class Interpreter:
    """One VM: its heap, builtins, loaded modules and the tier-0 loop.

    ``loader(name, search_path) -> (code, origin) | None`` finds and compiles a
    ``.src`` module; it is injected so the runtime never imports the parser.
    """

    def __init__(self, *, write: Callable[[str], Any] | None = None,
                 loader: Callable[[str, list[str]], tuple[Code, str] | None] | None = None,
                 search_path: list[str] | None = None, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        self.heap = Heap()
        self.write: Callable[[str], Any] = write or (lambda text: None)
        self.loader = loader
        self.search_path = list(search_path or [])
        self.max_depth = max_depth
        self.depth = 0
        self.modules: dict[str, Module] = {}
        self.builtins = builtins_mod.make_builtins(self)
        # AssertionError is reachable through LOAD_ASSERTION_ERROR only
        self.callable_types = builtins_mod.CALLABLE_TYPES | {AssertionError}

    # --- Entry points ---

    def run_module(self, code: Code, name: str = "__main__", origin: str | None = None) -> Module:
        """Execute a module's top-level code in a fresh namespace."""
        module = self.heap.new_module(name, origin, self.heap.new_dict([("__name__", name)]))
        self.modules[name] = module
        self.execute_module_code(code, module)
        return module

    def execute_module_code(self, code: Code, module: Module) -> Any:
        return self._run_frame(Frame(code, module.dict, [], _new_cells(code, [], (), self.heap), None))

    def call_from_host(self, func: Function, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Call a script function from Python code (a builtin's callback)."""
        locals_ = bind_arguments(func, args, kwargs)
        code = func.code
        code.profile.calls += 1
        frame = Frame(code, func.globals, locals_, _new_cells(code, locals_, func.closure, self.heap), None)
        return self._run_frame(frame)

    def _run_frame(self, frame: Frame) -> Any:
        if self.depth >= self.max_depth:
            raise RecursionError("maximum recursion depth exceeded")
        base_depth = self.depth
        self.depth += 1
        try:
            return self._execute(frame)
        finally:
            self.depth = base_depth

    # --- Modules ---

    def import_module(self, name: str) -> Module:
        module = self.modules.get(name)
        if module is not None:
            return module
        native = NATIVE_MODULES.get(name)
        if native is not None:
            module = self.heap.new_module(name, None, self.heap.new_dict(native(self).items()))
            self.modules[name] = module
            return module
        found = self.loader(name, self.search_path) if self.loader else None
        if found is None:
            raise ModuleNotFoundError(f"No module named '{name}'")
        code, origin = found
        module = self.heap.new_module(name, origin, self.heap.new_dict([("__name__", name)]))
        self.modules[name] = module
        try:
            self.execute_module_code(code, module)
        except BaseException:
            del self.modules[name]
            raise
        return module

    # --- Errors ---

    def _traceback(self, frame: Frame, pc: int, stop: Frame | None) -> list[TracebackEntry]:
        """Entries from ``frame`` (faulting at ``pc``) out to the loop's entry frame, outermost first."""
        entries = []
        while frame is not stop:
            code = frame.code
            entries.append(TracebackEntry(code.filename, code.line_at(max(pc - 1, 0)), code.name))
            frame = frame.back
            if frame is not None:
                pc = frame.pc
        entries.reverse()
        return entries

    # --- The loop ---

    def _execute(self, frame: Frame) -> Any:  # noqa: C901 - one dispatch loop by design
        heap = self.heap
        builtins = self.builtins
        callable_types = self.callable_types
        new_list = heap.new_list
        adopt = heap.adopt
        code = frame.code
        instrs = frame.instrs
        stack = frame.stack
        locals_ = frame.locals
        cells = frame.cells
        globals_ = frame.globals
        pc = frame.pc
        push = stack.append
        pop = stack.pop

        LOAD_FAST = Op.LOAD_FAST.value
        LOAD_CONST = Op.LOAD_CONST.value
        STORE_FAST = Op.STORE_FAST.value
        BINARY_OP = Op.BINARY_OP.value
        COMPARE_OP = Op.COMPARE_OP.value
        POP_JUMP_IF_FALSE = Op.POP_JUMP_IF_FALSE.value
        POP_JUMP_IF_TRUE = Op.POP_JUMP_IF_TRUE.value
        JUMP_BACKWARD = Op.JUMP_BACKWARD.value
        JUMP_FORWARD = Op.JUMP_FORWARD.value
        LOAD_GLOBAL = Op.LOAD_GLOBAL.value
        STORE_GLOBAL = Op.STORE_GLOBAL.value
        CALL = Op.CALL.value
        RETURN_VALUE = Op.RETURN_VALUE.value
        FOR_ITER = Op.FOR_ITER.value
        POP_TOP = Op.POP_TOP.value
        BINARY_SUBSCR = Op.BINARY_SUBSCR.value
        STORE_SUBSCR = Op.STORE_SUBSCR.value
        LOAD_DEREF = Op.LOAD_DEREF.value
        STORE_DEREF = Op.STORE_DEREF.value
        LOAD_ATTR = Op.LOAD_ATTR.value
        CALL_KW = Op.CALL_KW.value

        try:
            while True:
                op, arg = instrs[pc]
                pc += 1
                if op == LOAD_FAST:
                    value = locals_[arg]
                    if value is UNBOUND:
                        raise UnboundLocalError(f"cannot access local variable '{code.varnames[arg]}' "
                                                "where it is not associated with a value")
                    push(value)
                elif op == LOAD_CONST:
                    push(arg)
                elif op == STORE_FAST:
                    locals_[arg] = pop()
                elif op == BINARY_OP:
                    right = pop()
                    stack[-1] = adopt(arg(stack[-1], right))
                elif op == COMPARE_OP:
                    right = pop()
                    stack[-1] = arg(stack[-1], right)
                elif op == POP_JUMP_IF_FALSE:
                    if not pop():
                        pc = arg
                elif op == POP_JUMP_IF_TRUE:
                    if pop():
                        pc = arg
                elif op == JUMP_BACKWARD:
                    code.profile.backedges += 1
                    pc = arg
                elif op == JUMP_FORWARD:
                    pc = arg
                elif op == LOAD_GLOBAL:
                    value = globals_.get(arg, UNBOUND)
                    if value is UNBOUND:
                        value = builtins.get(arg, UNBOUND)
                        if value is UNBOUND:
                            raise name_error(arg, code, globals_, builtins)
                    push(value)
                elif op == STORE_GLOBAL:
                    globals_[arg] = pop()
                elif op == FOR_ITER:
                    value = next(stack[-1], _EXHAUSTED)
                    if value is _EXHAUSTED:
                        pop()
                        pc = arg
                    else:
                        push(value)
                elif op == CALL or op == CALL_KW:
                    if op == CALL:
                        kwargs = None
                        nargs = arg
                    else:
                        names = pop()
                        nargs = arg - len(names)
                        kwargs = dict(zip(names, stack[len(stack) - len(names):]))
                        del stack[len(stack) - len(names):]
                    args = stack[len(stack) - nargs:]
                    del stack[len(stack) - nargs:]
                    func = pop()
                    if type(func) is Function:
                        new_locals = bind_arguments(func, args, kwargs)
                        if self.depth >= self.max_depth:
                            raise RecursionError("maximum recursion depth exceeded")
                        self.depth += 1
                        callee = func.code
                        callee.profile.calls += 1
                        frame.pc = pc
                        frame = Frame(callee, func.globals, new_locals,
                                      _new_cells(callee, new_locals, func.closure, heap) if callee.cell_params
                                      or func.closure else [], frame)
                        code = callee
                        instrs = frame.instrs
                        stack = frame.stack
                        push = stack.append
                        pop = stack.pop
                        locals_ = new_locals
                        cells = frame.cells
                        globals_ = frame.globals
                        pc = 0
                    else:
                        if type(func) is type and func not in callable_types:
                            raise TypeError(f"cannot create '{func.__name__}' instances")
                        push(adopt(func(*args, **kwargs) if kwargs else func(*args)))
                elif op == RETURN_VALUE:
                    value = pop()
                    back = frame.back
                    if back is None:
                        return value
                    self.depth -= 1
                    frame = back
                    code = frame.code
                    instrs = frame.instrs
                    stack = frame.stack
                    push = stack.append
                    pop = stack.pop
                    locals_ = frame.locals
                    cells = frame.cells
                    globals_ = frame.globals
                    pc = frame.pc
                    push(value)
                elif op == POP_TOP:
                    pop()
                elif op == BINARY_SUBSCR:
                    key = pop()
                    stack[-1] = adopt(stack[-1][key])
                elif op == STORE_SUBSCR:
                    key = pop()
                    container = pop()
                    container[key] = pop()
                elif op == LOAD_DEREF:
                    value = cells[arg].value
                    if value is UNBOUND:
                        raise _unbound_deref(code, arg)
                    push(value)
                elif op == STORE_DEREF:
                    cells[arg].value = pop()
                elif op == LOAD_ATTR:
                    stack[-1] = get_attribute(stack[-1], arg)
                else:
                    frame.pc = pc
                    self._execute_rare(op, arg, frame, stack, code)
                    pc = frame.pc
        except ScriptError as error:
            # raised by a nested loop below a host call made from this frame
            error.traceback[:0] = self._traceback(frame, pc, None)
            raise
        except SCRIPT_EXCEPTIONS as exc:
            raise ScriptError(exc, self._traceback(frame, pc, None)) from None
        except PvmError:
            raise
        except Exception as exc:
            raise VMInternalError(f"internal error at {code.filename}:{code.line_at(pc - 1)}: "
                                  f"{type(exc).__name__}: {exc}") from exc

    def _execute_rare(self, op: int, arg: Any, frame: Frame, stack: list[Any], code: Code) -> None:
        """The instructions not worth a branch in the hot loop; they may move ``frame.pc``."""
        heap = self.heap
        if op == Op.COPY:
            stack.append(stack[-arg])
        elif op == Op.SWAP:
            stack[-1], stack[-arg] = stack[-arg], stack[-1]
        elif op == Op.DELETE_FAST:
            if frame.locals[arg] is UNBOUND:
                raise UnboundLocalError(f"cannot access local variable '{code.varnames[arg]}' "
                                        "where it is not associated with a value")
            frame.locals[arg] = UNBOUND
        elif op == Op.DELETE_DEREF:
            if frame.cells[arg].value is UNBOUND:
                raise _unbound_deref(code, arg)
            frame.cells[arg].value = UNBOUND
        elif op == Op.LOAD_CLOSURE:
            stack.append(frame.cells[arg])
        elif op == Op.DELETE_GLOBAL:
            if arg not in frame.globals:
                raise name_error(arg, code, frame.globals, self.builtins)
            del frame.globals[arg]
        elif op == Op.STORE_ATTR:
            obj = stack.pop()
            set_attribute(obj, arg, stack.pop())
        elif op == Op.DELETE_ATTR:
            delete_attribute(stack.pop(), arg)
        elif op == Op.DELETE_SUBSCR:
            key = stack.pop()
            del stack.pop()[key]
        elif op == Op.UNARY_NEGATIVE:
            stack[-1] = -stack[-1]
        elif op == Op.UNARY_POSITIVE:
            stack[-1] = +stack[-1]
        elif op == Op.UNARY_INVERT:
            stack[-1] = ~stack[-1]
        elif op == Op.UNARY_NOT:
            stack[-1] = not stack[-1]
        elif op == Op.IS_OP:
            right = stack.pop()
            stack[-1] = (stack[-1] is right) != bool(arg)
        elif op == Op.CONTAINS_OP:
            right = stack.pop()
            stack[-1] = (stack[-1] in right) != bool(arg)
        elif op == Op.JUMP_IF_FALSE_OR_POP:
            if stack[-1]:
                stack.pop()
            else:
                frame.pc = arg
        elif op == Op.JUMP_IF_TRUE_OR_POP:
            if stack[-1]:
                frame.pc = arg
            else:
                stack.pop()
        elif op == Op.GET_ITER:
            stack[-1] = iter(stack[-1])
        elif op == Op.RAISE_VARARGS:
            if arg != 1:
                raise VMInternalError("RAISE_VARARGS supports one operand until Level 2")
            exc = stack.pop()
            raise exc() if isinstance(exc, type) else exc
        elif op == Op.LOAD_ASSERTION_ERROR:
            stack.append(AssertionError)
        elif op == Op.MAKE_FUNCTION:
            fcode = stack.pop()
            closure = stack.pop() if arg & MAKE_FUNCTION_CLOSURE else ()
            defaults = stack.pop() if arg & MAKE_FUNCTION_DEFAULTS else ()
            stack.append(heap.new_function(fcode, frame.globals, defaults, closure, self))
        elif op == Op.BUILD_TUPLE:
            _replace_top(stack, arg, tuple(stack[len(stack) - arg:]))
        elif op == Op.BUILD_LIST:
            _replace_top(stack, arg, heap.new_list(stack[len(stack) - arg:]))
        elif op == Op.BUILD_SET:
            _replace_top(stack, arg, heap.new_set(stack[len(stack) - arg:]))
        elif op == Op.BUILD_MAP:
            items = stack[len(stack) - 2 * arg:]
            _replace_top(stack, 2 * arg, heap.new_dict(zip(items[::2], items[1::2])))
        elif op == Op.BUILD_SLICE:
            _replace_top(stack, arg, slice(*stack[len(stack) - arg:]))
        elif op == Op.BUILD_STRING:
            _replace_top(stack, arg, "".join(stack[len(stack) - arg:]))
        elif op == Op.LIST_APPEND:
            value = stack.pop()
            stack[-arg].append(value)
        elif op == Op.SET_ADD:
            value = stack.pop()
            stack[-arg].add(value)
        elif op == Op.MAP_ADD:
            value = stack.pop()
            key = stack.pop()
            stack[-arg][key] = value
        elif op == Op.LIST_EXTEND:
            value = stack.pop()
            try:
                stack[-arg].extend(value)
            except TypeError:
                if not hasattr(value, "__iter__"):
                    raise TypeError(f"Value after * must be an iterable, not {type(value).__name__}") from None
                raise
        elif op == Op.SET_UPDATE:
            value = stack.pop()
            stack[-arg].update(value)
        elif op == Op.DICT_UPDATE:
            value = stack.pop()
            if not isinstance(value, dict):
                raise TypeError(f"'{type(value).__name__}' object is not a mapping")
            stack[-arg].update(value)
        elif op == Op.LIST_TO_TUPLE:
            stack[-1] = tuple(stack[-1])
        elif op == Op.UNPACK_SEQUENCE:
            _check_unpackable(stack[-1])
            items = _unpack(stack.pop(), arg)
            items.reverse()
            stack.extend(items)
        elif op == Op.UNPACK_EX:
            _check_unpackable(stack[-1])
            items = _unpack_ex(stack.pop(), arg & 0xFF, arg >> 8, heap)
            items.reverse()
            stack.extend(items)
        elif op == Op.FORMAT_VALUE:
            spec = stack.pop() if arg & FORMAT_HAS_SPEC else ""
            convert = _CONVERSIONS[arg & FORMAT_CONVERSION_MASK]
            value = stack[-1]
            stack[-1] = format(convert(value) if convert else value, spec)
        elif op == Op.IMPORT_NAME:
            stack.append(self.import_module(arg))
        elif op == Op.IMPORT_FROM:
            module = stack[-1]
            try:
                stack.append(module.dict[arg])
            except KeyError:
                where = module.origin or "unknown location"
                raise ImportError(f"cannot import name '{arg}' from '{module.name}' ({where})") from None
        else:
            raise VMInternalError(f"opcode {OPCODES[op].name} has no handler")


def _replace_top(stack: list[Any], count: int, value: Any) -> None:
    del stack[len(stack) - count:]
    stack.append(value)


def _check_unpackable(value: Any) -> None:
    if not hasattr(value, "__iter__") and not hasattr(value, "__getitem__"):
        raise TypeError(f"cannot unpack non-iterable {type(value).__name__} object")


# Opcodes the hot loop of Interpreter._execute handles itself; every other row
# goes to _execute_rare. tests/pvm/test_opcodes.py checks the two cover the table.
HOT_OPCODES = frozenset({
    Op.LOAD_FAST, Op.LOAD_CONST, Op.STORE_FAST, Op.BINARY_OP, Op.COMPARE_OP, Op.POP_JUMP_IF_FALSE,
    Op.POP_JUMP_IF_TRUE, Op.JUMP_BACKWARD, Op.JUMP_FORWARD, Op.LOAD_GLOBAL, Op.STORE_GLOBAL, Op.CALL,
    Op.CALL_KW, Op.RETURN_VALUE, Op.FOR_ITER, Op.POP_TOP, Op.BINARY_SUBSCR, Op.STORE_SUBSCR,
    Op.LOAD_DEREF, Op.STORE_DEREF, Op.LOAD_ATTR,
})


def script_search_path(script_path: str) -> list[str]:
    """Where a script's imports are looked up: its own folder, then stdlib/."""
    return [os.path.dirname(os.path.abspath(script_path)), stdlib_dir()]


def stdlib_dir() -> str:
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "stdlib")
