"""Handlers for the instructions the hot loop of pvm.interp does not inline.

One function per opcode, named ``op_<NAME>`` and collected into ``HANDLERS``
(indexed by opcode number), so a cold instruction costs one indexed call
instead of a walk down an if/elif chain. A handler may move ``frame.pc``
(the loop reloads it afterwards).
"""

from __future__ import annotations

import operator
from typing import TYPE_CHECKING, Any, Callable

from pvm.attributes import BoundStrMethod, StrMethodDescriptor, delete_attribute
from pvm.boundary import HostFunction
from pvm.builtins import TYPE
from pvm.classes import make_class, special_method
from pvm.errors import VMInternalError
from pvm.frames import (UNBOUND, Frame, check_unpackable, name_error, unbound_deref, unbound_local, unpack,
                        unpack_ex)
from pvm.heap import WORD_BYTES
from pvm.imports import import_from, import_name, import_star
from pvm.objects import Builtin, Function
from pvm.opcodes import (CALL_HAS_KWARGS, FORMAT_CONVERSION_MASK, FORMAT_HAS_SPEC, MAKE_FUNCTION_CLOSURE,
                         MAKE_FUNCTION_DEFAULTS, MAKE_FUNCTION_KWDEFAULTS, OPCODES, Op)

from pvm.unwind import RERAISED, check_exc_match, do_raise

if TYPE_CHECKING:
    from pvm.interp import Interpreter

Handler = Callable[["Interpreter", Frame, list[Any], Any], None]
_CONVERSIONS: tuple[Callable[[Any], Any] | None, ...] = (None, str, repr, ascii)


def op_DELETE_FAST(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    if frame.locals[arg] is UNBOUND:
        raise unbound_local(frame.code.varnames[arg])
    frame.locals[arg] = UNBOUND


def op_DELETE_DEREF(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    if frame.cells[arg].value is UNBOUND:
        raise unbound_deref(frame.code, arg)
    frame.cells[arg].value = UNBOUND


def op_LOAD_CLOSURE(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    stack.append(frame.cells[arg])


def op_DELETE_GLOBAL(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    if arg not in frame.globals:
        raise name_error(arg, frame.code, frame.globals, vm.builtins)
    del frame.globals[arg]


def op_DELETE_ATTR(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    delete_attribute(stack.pop(), arg)


def op_DELETE_SUBSCR(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    del stack[-2][stack[-1]]          # both stay on the stack (rooted) while __hash__ or __eq__ runs
    del stack[-2:]


def op_UNARY_NEGATIVE(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    stack[-1] = -stack[-1]


def op_UNARY_POSITIVE(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    stack[-1] = +stack[-1]


def op_UNARY_INVERT(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    stack[-1] = ~stack[-1]


def op_UNARY_NOT(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    stack[-1] = not stack[-1]


def op_IS_OP(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    right = stack.pop()
    stack[-1] = (stack[-1] is right) != bool(arg)


def op_CONTAINS_OP(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    _charge(vm, operator.contains, stack[-1], stack[-2])
    stack[-2] = (stack[-2] in stack[-1]) != bool(arg)     # the container rooted while __eq__ runs
    stack.pop()


def op_JUMP_IF_FALSE_OR_POP(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    if stack[-1]:
        stack.pop()
    else:
        frame.pc = arg


def op_JUMP_IF_TRUE_OR_POP(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    if stack[-1]:
        frame.pc = arg
    else:
        stack.pop()


def op_GET_ITER(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    stack[-1] = iter(stack[-1])


def op_RAISE_VARARGS(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    raise do_raise(vm, stack, arg)


def op_RERAISE(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    vm.raising = RERAISED
    raise stack.pop()


def op_PUSH_EXC_INFO(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    exc = stack[-1]
    stack[-1] = vm.handling
    stack.append(exc)
    vm.handling = exc


def op_POP_EXCEPT(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    vm.handling = stack.pop()


def op_CHECK_EXC_MATCH(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    kind = stack.pop()
    stack.append(check_exc_match(stack[-1], kind))


def op_SEND(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    heap = vm.heap
    mark = len(heap.temp_roots)
    try:
        value = next(stack[-1])
    except StopIteration as exc:
        stack[-1] = exc.value
        frame.pc = arg
        return
    finally:
        del heap.temp_roots[mark:]
    stack.append(value)


def op_LOAD_NAME(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    value = frame.namespace.get(arg, UNBOUND)
    if value is UNBOUND:
        value = frame.globals.get(arg, UNBOUND)
        if value is UNBOUND:
            value = vm.builtins.get(arg, UNBOUND)
            if value is UNBOUND:
                raise name_error(arg, frame.code, frame.globals, vm.builtins)
    stack.append(value)


def op_STORE_NAME(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    namespace = frame.namespace
    before = len(namespace)
    namespace[arg] = stack.pop()
    vm.heap.grew(namespace, before)


def op_DELETE_NAME(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    try:
        del frame.namespace[arg]
    except KeyError:
        raise name_error(arg, frame.code, frame.globals, vm.builtins) from None


def op_BUILD_CLASS(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    bases = tuple(stack[len(stack) - arg:])
    body, name = stack[-arg - 2], stack[-arg - 1]
    namespace = vm.heap.new_dict([("__module__", frame.globals.get("__name__", "__main__")),
                                  ("__qualname__", body.qualname)])
    stack.append(namespace)                           # rooted while the body runs
    class_cell = vm.run_class_body(body, namespace)
    cls = make_class(vm, name, bases, namespace)
    if class_cell is not None:
        class_cell.value = cls
    _replace_top(stack, arg + 3, cls)


def op_LOAD_ASSERTION_ERROR(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    stack.append(AssertionError)


def op_MAKE_FUNCTION(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    fcode = stack.pop()
    closure = stack.pop() if arg & MAKE_FUNCTION_CLOSURE else ()
    kwdefaults = stack.pop() if arg & MAKE_FUNCTION_KWDEFAULTS else None
    defaults = stack.pop() if arg & MAKE_FUNCTION_DEFAULTS else ()
    stack.append(vm.heap.new_function(fcode, frame.globals, defaults, closure, vm, kwdefaults))


def op_BUILD_TUPLE(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    _replace_top(stack, arg, vm.heap.adopt(tuple(stack[len(stack) - arg:])))


def op_BUILD_LIST(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    _replace_top(stack, arg, vm.heap.new_list(stack[len(stack) - arg:]))


def op_BUILD_SET(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    _charge(vm, set, stack[len(stack) - arg:])
    _replace_top(stack, arg, vm.heap.new_set(stack[len(stack) - arg:]))


def op_BUILD_MAP(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    items = stack[len(stack) - 2 * arg:]
    _charge(vm, set, items[::2])
    _replace_top(stack, 2 * arg, vm.heap.new_dict(zip(items[::2], items[1::2])))


def op_BUILD_SLICE(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    _replace_top(stack, arg, slice(*stack[len(stack) - arg:]))


def op_BUILD_STRING(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    _replace_top(stack, arg, vm.heap.adopt("".join(stack[len(stack) - arg:])))


def op_LIST_APPEND(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    value = stack.pop()
    stack[-arg].append(value)
    vm.heap.charge(WORD_BYTES)


def op_SET_ADD(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    container = stack[-arg - 1]
    before = len(container)
    _charge(vm, container.add, stack[-1])
    container.add(stack.pop())
    vm.heap.grew(container, before)


def op_MAP_ADD(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    container = stack[-arg - 2]
    before = len(container)
    _charge(vm, container.setdefault, stack[-2])
    container[stack[-2]] = stack[-1]
    del stack[-2:]
    vm.heap.grew(container, before)


def op_LIST_EXTEND(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    _extend_below(vm, stack, arg, Op.LIST_EXTEND)


def op_SET_UPDATE(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    _extend_below(vm, stack, arg, Op.SET_UPDATE)


def op_DICT_UPDATE(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    _extend_below(vm, stack, arg, Op.DICT_UPDATE)


def op_LIST_TO_TUPLE(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    stack[-1] = vm.heap.adopt(tuple(stack[-1]))


def op_UNPACK_SEQUENCE(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    check_unpackable(stack[-1])
    items = unpack(stack.pop(), arg)
    items.reverse()
    stack.extend(items)


def op_UNPACK_EX(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    check_unpackable(stack[-1])
    _charge(vm, list, stack[-1])
    items = unpack_ex(stack[-1], arg & 0xFF, arg >> 8, vm.heap)
    items.reverse()
    stack.pop()
    stack.extend(items)


def op_FORMAT_VALUE(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    spec = stack.pop() if arg & FORMAT_HAS_SPEC else ""
    convert = _CONVERSIONS[arg & FORMAT_CONVERSION_MASK]
    value = stack[-1]
    if convert is not None:
        _charge(vm, convert, value)
        value = convert(value)
    _charge(vm, format, value, spec)
    stack[-1] = vm.heap.adopt(format(value, spec))


def op_IMPORT_NAME(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    stack.append(import_name(vm, arg, frame.globals))


def op_IMPORT_FROM(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    stack.append(import_from(vm, stack[-1], arg))


def op_IMPORT_STAR(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    import_star(vm, stack.pop(), frame.globals)


def op_BEFORE_WITH(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    manager = stack.pop()
    exit_ = special_method(manager, "__exit__")
    enter = special_method(manager, "__enter__")
    if exit_ is None or enter is None:
        raise TypeError(f"'{type(manager).__name__}' object does not support the context manager protocol")
    stack.append(exit_)
    stack.append(enter())


def op_WITH_EXCEPT_START(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    exc = stack[-1]
    # a script never sees traceback objects (pvm.unwind keeps its own), so __exit__ gets None for one
    stack.append(stack[-3](type(exc), exc, None))


def op_DICT_MERGE(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    mapping = stack[-1]
    container = stack[-2]
    if type(mapping) is not dict:
        keys = special_method(mapping, "keys")
        if keys is None:
            raise TypeError(f"{function_str(stack[-4])} argument after ** must be a mapping, "
                            f"not {type(mapping).__name__}")
        mapping = stack[-1] = vm.heap.adopt({key: mapping[key] for key in keys()})   # a mapping object
    for key in mapping:
        if key in container:
            raise TypeError(f"{function_str(stack[-4])} got multiple values for keyword argument '{key}'")
    before = len(container)
    container.update(mapping)
    stack.pop()
    vm.heap.grew(container, before)


def call_ex_arguments(vm: "Interpreter", stack: list[Any], arg: int) -> tuple[int, list[Any], dict[str, Any] | None]:
    """CALL_FUNCTION_EX's callee position, positional arguments and keyword
    dict, checked as CPython checks them before the call. The positionals
    become a tuple on the stack (so they stay rooted) and a fresh list here,
    which a ``*args`` parameter copies: ``f(*t)`` never hands ``t`` itself over."""
    kwargs = stack[-1] if arg & CALL_HAS_KWARGS else None
    base = len(stack) - 2 - (arg & CALL_HAS_KWARGS)
    func = stack[base]
    args = stack[base + 1]
    if type(args) is not tuple:
        kind = type(args)
        if not (hasattr(kind, "__iter__") or hasattr(kind, "__getitem__")):
            raise TypeError(f"{function_str(func)} argument after * must be an iterable, not {kind.__name__}")
        _charge(vm, tuple, args)
        args = stack[base + 1] = vm.heap.adopt(tuple(args))
    if kwargs and type(func) is Function and not all(type(key) is str for key in kwargs):
        raise TypeError("keywords must be strings")
    return base, list(args), kwargs


def function_str(func: Any) -> str:
    """How CPython names a callee in call errors (_PyObject_FunctionStr):
    ``module.qualname()`` outside builtins, else ``qualname()``."""
    kind = type(func)
    if kind is Function:
        module = func.globals.get("__name__")
        return f"{module}.{func.qualname}()" if type(module) is str and module != "builtins" else f"{func.qualname}()"
    if kind is Builtin or kind is HostFunction:
        return f"{func.name}()"
    if kind is BoundStrMethod or kind is StrMethodDescriptor:
        return f"str.{func.name}()"
    if func is TYPE:
        return "type()"
    qualname = getattr(func, "__qualname__", None)
    if type(qualname) is not str:
        return str(func)
    module = getattr(func, "__module__", None)
    return f"{module}.{qualname}()" if type(module) is str and module != "builtins" else f"{qualname}()"


def _extend_below(vm: "Interpreter", stack: list[Any], arg: Any, op: int) -> None:
    """Extend the container ``arg`` slots below TOS with TOS, charging the growth."""
    container = stack[-arg - 1]
    before = len(container)
    if type(stack[-1]) is not dict:
        _charge(vm, container.extend if op == Op.LIST_EXTEND else container.update, stack[-1])
    _extend(op, container, stack[-1])
    stack.pop()
    vm.heap.grew(container, before)


def _extend(op: int, container: Any, value: Any) -> None:
    """LIST_EXTEND, SET_UPDATE and DICT_UPDATE, with CPython's messages."""
    if op == Op.DICT_UPDATE:
        if not isinstance(value, dict):
            raise TypeError(f"'{type(value).__name__}' object is not a mapping")
        container.update(value)
        return
    try:
        (container.extend if op == Op.LIST_EXTEND else container.update)(value)
    except TypeError:
        if not hasattr(value, "__iter__"):
            raise TypeError(f"Value after * must be an iterable, not {type(value).__name__}") from None
        raise


def _charge(vm: "Interpreter", host_equivalent: Callable[..., Any], *operands: Any) -> None:
    """Charge an instruction's host work as the sandbox charges the host call
    that does the same (pvm.costs): hashing keys, scanning, materialising, formatting."""
    if vm.host_call_check is not None:
        vm.host_call_check(host_equivalent, list(operands), None)


def _replace_top(stack: list[Any], count: int, value: Any) -> None:
    del stack[len(stack) - count:]
    stack.append(value)


def _missing(vm: "Interpreter", frame: Frame, stack: list[Any], arg: Any) -> None:
    raise VMInternalError(f"opcode {OPCODES[frame.instrs[frame.pc - 1][0]].name} has no handler")


HANDLERS: list[Handler] = [globals().get(f"op_{info.name}", _missing) for info in OPCODES]
