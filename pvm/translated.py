"""What translated code (pvm.translate) calls at run time, and how the rest of
the VM sees its activations.

A translated activation has no ``Frame``: its values are the locals of a host
function, so the collector's roots and the frames a limit report lists come
from walking the host's stack (``translated_roots``, ``stack_traceback``).
Calls between script functions go through ``call``, which does what the
interpreter's CALL does (binding, depth, steps, the JIT's hook) and runs the
callee translated when it has been translated, else in a nested interpreter loop.
"""

from __future__ import annotations

import operator
import sys
from typing import TYPE_CHECKING, Any, Iterator

from pvm.attributes import ALLOWED_ATTRIBUTES, get_attribute, set_attribute
from pvm.classes import (FILLED_CACHES, NS, PLAIN_STORE_CLASSES, PROPERTY_NAMES, Instance, Method, Property,
                         init_result, lookup)
from pvm.code import CO_GENERATOR, CO_VARARGS, CO_VARKEYWORDS, Code
from pvm.errors import PvmError, TracebackEntry, VMInternalError
from pvm.frames import NO_NATIVE, UNBOUND, Frame, bind_arguments, check_unpackable, name_error, unbound_deref, \
    unbound_local, unpack
from pvm.generators import Generator
from pvm.handlers import HANDLERS, call_ex_arguments
from pvm.heap import UNOWNED, WORD_BYTES
from pvm.measure import CONTAINERS
from pvm.objects import Builtin, Function, Module
from pvm.opcodes import BINARY_OPERATORS, COMPARE_OPERATORS, Op
from pvm.translate import Translation, Untranslatable, translate
from pvm.unwind import RERAISED, check_exc_match, do_raise, is_script_exception, note_raised

if TYPE_CHECKING:
    from pvm.interp import Interpreter

# translation modes: (calls before a function is translated, back-edges before a loop is entered translated)
MODES: dict[str, tuple[int, int] | None] = {"off": None, "on": (2, 100), "eager": (1, 1)}
GROWABLE = (list, dict, set)     # containers whose builtin methods' growth a host call charges
NATIVE: Any = object()      # a called method's slot when its CALL runs a builtin method itself (pvm.translate)
OSR_ACTIVE = -1             # the pc of a frame whose loop runs translated
REFUSED = False             # code.translated for code that stays with the interpreter

EXHAUSTED: Any = object()
POLYMORPHIC = 8            # the functions a call site remembers entering directly (pvm.translated.call_at)
GENERATOR_REVISIT = 8       # the generator call at which its translation is made again with what its calls recorded
_SLOW_CALL = CO_VARARGS | CO_VARKEYWORDS | CO_GENERATOR      # calls that bind in pvm.frames

made = 0      # translations made in this process: none, no translated activation to walk the stack for
ERRORS: list[str] = []      # translator bugs met (the code ran interpreted); tests check it stays empty


# iterators the host's ``for`` statement takes as they are: their iter() is themselves, running no script code
HOST_ITERATORS = frozenset(type(iter(items)) for items in (
    range(0), range(2 ** 64), [], (), "", "\u00e9", b"", bytearray(), {}, {}.values(), {}.items(), set(),
    reversed([]), reversed({}), reversed({}.values()), reversed({}.items()))) \
    | {enumerate, zip, map, filter, reversed}


def iterated(vm: "Interpreter", it: Any, depth: int) -> Iterator[Any]:
    """What a loop's ``for`` statement (pvm.translate) iterates when ``it`` is not in HOST_ITERATORS:
    ``next(it)`` without a second iter() (a script's __iter__ would run again); a generator's
    translated body resumed in place one level deeper than ``depth``, as Generator.__next__ does
    but without its call and its temporary root (the loop's slot holds the value)."""
    generator = type(it) is Generator
    while True:
        body = it.translated if generator else None
        if body is not None and not it.running and depth < vm.max_depth:
            it.running = True
            vm.depth = depth + 1
            try:
                value = next(body, EXHAUSTED)
            except BaseException as e:
                it.body_raised(e)
            finally:
                it.running = False
                vm.depth = depth
            if value is EXHAUSTED:
                it.frame = it.translated = None
                return
        else:
            value = next(it, EXHAUSTED)
            if value is EXHAUSTED:
                return
        yield value


def builtin_named(name: str, code: Code, globals_: dict[str, Any], builtins: dict[str, Any]) -> Any:
    """A global read's miss: the builtin of that name, or the NameError."""
    value = builtins.get(name, UNBOUND)
    if value is UNBOUND:
        raise name_error(name, code, globals_, builtins)
    return value


def lost(pc: int) -> VMInternalError:
    return VMInternalError(f"translated code lost its place (pc {pc})")


def unwound(vm: "Interpreter", exc: BaseException, info: Translation, offset: int, entry: Frame | None) -> BaseException:
    """What a translated activation raises when ``exc`` leaves it (the host
    instruction at ``offset`` failed): the exception with this activation in its
    traceback, as the interpreter's pvm.unwind.catch records a frame. An
    activation that continues an interpreted frame (``entry``) leaves the
    recording to the interpreter, at the failing instruction."""
    lineno, pc, _, inlined = info.site_at(offset)
    code = info.code
    if isinstance(exc, PvmError):
        if entry is not None:
            entry.pc = pc + 1
        elif getattr(exc, "traceback", ()) is None:
            exc.traceback = stack_traceback(vm, lineno)
        return exc
    if not is_script_exception(exc):
        if not isinstance(exc, Exception):
            return exc                    # KeyboardInterrupt: the host's, not the script's
        error = VMInternalError(f"internal error at {code.filename}:{code.line_at(pc)}: {type(exc).__name__}: {exc}")
        error.__cause__ = exc
        return error
    for inner_code, inner_pc in inlined:      # functions inlined at calls: their activations first, as if called
        note_raised(vm, exc, inner_code, inner_pc)
    if entry is not None:
        entry.pc = pc + 1
        return exc
    note_raised(vm, exc, code, pc)
    exc.__traceback__ = None
    return exc


def caught(vm: "Interpreter", exc: BaseException, info: Translation, offset: int, entry: Frame | None) -> int:
    """The handler (instruction index) in this activation that takes ``exc``
    (the host instruction at ``offset`` failed), recorded as
    pvm.unwind.catch records it; raises what leaves otherwise."""
    _, pc, handler, inlined = info.site_at(offset)
    if handler is not None and not isinstance(exc, PvmError) and is_script_exception(exc):
        for inner_code, inner_pc in inlined:
            note_raised(vm, exc, inner_code, inner_pc)
        note_raised(vm, exc, info.code, pc)
        exc.__traceback__ = None
        return handler
    raise unwound(vm, exc, info, offset, entry)


def translation_of(frame: Any) -> Translation | None:
    """The translation a host frame runs, if it runs one (its globals are the
    generated source's own namespace, which holds it)."""
    info = frame.f_globals.get("INFO")
    return info if type(info) is Translation and info.function_code is frame.f_code else None


def _activations(vm: "Interpreter") -> Iterator[Any]:
    """The script activations on the host's stack, innermost first: a Frame of
    an interpreter loop, or ``(translation, host frame)``."""
    from pvm.interp import EXECUTE_CODE
    frame = sys._getframe(2)
    while frame is not None:
        code = frame.f_code
        if code is EXECUTE_CODE:
            names = frame.f_locals
            if names.get("self") is vm:
                pvm_frame = names.get("frame")
                while pvm_frame is not None:
                    if pvm_frame.pc != OSR_ACTIVE:
                        yield pvm_frame
                    pvm_frame = pvm_frame.back
        else:
            info = translation_of(frame)
            if info is not None and frame.f_locals.get("vm") is vm:
                yield info, frame
        frame = frame.f_back


def stack_traceback(vm: "Interpreter", innermost_lineno: int | None = None) -> list[TracebackEntry]:
    """Every script activation now, outermost first, each at its current
    instruction (a function inlined there is an activation of its own);
    ``innermost_lineno``, the Python line that failed, for a translated
    activation whose host line is past it."""
    entries = []
    for activation in _activations(vm):
        if type(activation) is Frame:
            code = activation.code
            entries.append(TracebackEntry(code.filename, code.line_at(max(activation.pc - 1, 0)), code.name))
            continue
        info, frame = activation
        lineno = innermost_lineno if innermost_lineno is not None else info.line_at_offset(frame.f_lasti)
        innermost_lineno = None
        for code, pc in reversed(info.inner_at(lineno)):
            entries.append(TracebackEntry(code.filename, code.line_at(pc), code.name))
        code = info.code
        entries.append(TracebackEntry(code.filename, info.line_of(lineno), code.name))
    entries.reverse()
    return entries


def translated_roots(vm: "Interpreter") -> Iterator[Any]:
    """The values translated activations hold: the collector's roots for them."""
    for activation in _activations(vm):
        if type(activation) is not Frame:
            info, frame = activation
            names = frame.f_locals
            for name in info.roots:
                if name in names:
                    yield names[name]
            for name in ("C", "ST"):       # pvm's lists of cells and scratch values: their items, as a Frame's
                yield from names.get(name, ())


def translation_for(vm: "Interpreter", code: Code, globals_: dict[str, Any]) -> Any:
    """``code``'s translated function, translating it now, or REFUSED
    (``globals_``: the module namespace it runs in, as it is now)."""
    try:
        function, info = translate(code, NAMESPACE, globals_)
    except Untranslatable as why:
        return _refuse(vm, code, str(why))
    except Exception as error:      # a bug in the translator: the interpreter runs the code, exactly
        ERRORS.append(f"{code.qualname}: {type(error).__name__}: {error}")
        return _refuse(vm, code, f"internal error ({type(error).__name__}: {error})")
    global made
    made += 1
    code.translated = function
    if not (code.kwonlyargcount or code.flags & _SLOW_CALL):
        code.fast_args = code.argcount
    if vm.translate_log is not None:
        vm.translate_log(f"translated {code.qualname}")
    return function


def _refuse(vm: "Interpreter", code: Code, why: str) -> Any:
    code.translated = REFUSED
    if vm.translate_log is not None:
        vm.translate_log(f"left {code.qualname} to the interpreter: {why}")
    return REFUSED


def wanted(vm: "Interpreter", code: Code) -> bool:
    """Whether ``code`` should run translated from now on: not while the JIT
    may still compile it or its loops (translated code never enters native
    code at a loop header)."""
    jit = vm.jit
    if jit is None or code.flags & CO_GENERATOR:      # the JIT never compiles generators
        return True
    # code without loops: the JIT still gets every call first, and compiles it when it can
    return (code in jit.blocked_functions or not any(op == Op.JUMP_BACKWARD for op in code.ops)) \
        and code not in jit.native_loop_codes


def property_getter(obj: Any, name: str) -> Function | None:
    """The script function ``obj.name`` calls, when the name is a property of
    ``obj``'s class with one (pvm.classes.get_instance_attribute then calls it
    and nothing else)."""
    if not isinstance(obj, Instance):
        return None
    found = lookup(type(obj), name)
    getter = found.fget if type(found) is Property else None
    return getter if type(getter) is Function else None


def loop_wanted(vm: "Interpreter", header_code: Code, header: int) -> bool:
    """Whether the loop at ``header`` should go on translated: once the JIT
    (if on) has given up on it, and runs no other loop of the code natively
    (the rest of the activation runs translated)."""
    jit = vm.jit
    if jit is None:
        return True
    record = jit.loops.get((header_code, header))
    return record is not None and bool(record.blocked) and header_code not in jit.native_loop_codes


def start_generator(vm: "Interpreter", func: Function, frame: Frame) -> Any:
    """The host generator running a new generator's body translated, or None
    (cold code, refused code, or no room for translated activations)."""
    code = func.code
    code.profile.calls += 1
    translated = code.translated
    if translated is None:      # at the first call: a generator, once started, cannot change tiers
        translated = translation_for(vm, code, func.globals)
    elif translated and code.profile.calls == GENERATOR_REVISIT \
            and len(code.callees) > translated.__globals__["INFO"].callees_known:
        # translated before anything recorded its calls: again, now that its call sites have
        # (generators already started keep the body they run)
        translated = translation_for(vm, code, func.globals)
    if not translated or vm.depth >= vm.translate_depth:
        return None
    body = translated(vm, func.globals, frame.cells, None, *frame.locals)
    frame.locals = [UNBOUND] * len(frame.locals)     # the body holds them from its first resumption
    return body


def generator_roots(body: Any) -> Iterator[Any]:
    """What a suspended translated generator holds (the collector marks it through its Generator)."""
    frame = body.gi_frame
    if frame is not None:
        info = translation_of(frame)
        names = frame.f_locals
        for name in ("L", *info.roots):
            if name in names:
                if name == "L":
                    yield from names[name]
                else:
                    yield names[name]


def cells_for(vm: "Interpreter", func: Function, locals_: list[Any]) -> Any:
    """A translated activation's cells: its own (new), then its closure's (the
    closure itself when it has none of its own). What binding made (a
    ``**kwargs`` dict) and each new cell stay temporary roots while the next
    cell is allocated, as an interpreted frame holds them."""
    if not func.code.cell_params:
        return func.closure
    return own_cells(vm, func.code, func.closure, locals_)


def own_cells(vm: "Interpreter", code: Code, closure: tuple[Any, ...], locals_: list[Any]) -> list[Any]:
    """cells_for from a translated function's prologue: a call site's fast
    path passes the closure (a tuple); every other entry passes the cells
    made already (a list). The arguments, the closure's cells and each new
    cell are temporary roots while the next cell is made, as an interpreted
    frame holds its cells: the function may be held by nothing but its
    caller's host locals (the interpreter has popped it off its stack). The
    list itself is no root: the collector would own and later empty it.
    Without a limit and stress, making a cell never collects: nothing to root."""
    params = code.cell_params
    heap = vm.heap
    if heap.limit is None and not heap.stress:
        return [heap.new_cell(locals_[param] if param >= 0 else UNBOUND) for param in params] + list(closure)
    roots = heap.temp_roots
    mark = len(roots)
    roots.extend(locals_)
    roots.extend(closure)
    cells = [UNBOUND] * len(params) + list(closure)
    for index, param in enumerate(params):
        cells[index] = cell = heap.new_cell(locals_[param] if param >= 0 else UNBOUND)
        roots.append(cell)
    del roots[mark:]
    return cells


def run_from_host(vm: "Interpreter", translated: Any, func: Function, locals_: list[Any]) -> Any:
    """A translated function called from host code (Interpreter.call_from_host):
    a host re-entry without a loop of its own, which the sandbox counts. Only
    below ``translate_depth`` (so below the depth limit too)."""
    vm.depth += 1
    vm.translated_reentries += 1
    try:
        return translated(vm, func.globals, cells_for(vm, func, locals_), None, *locals_)
    finally:
        vm.depth -= 1
        vm.translated_reentries -= 1


def call(vm: "Interpreter", func: Any, args: list[Any], kwargs: dict[str, Any] | None) -> Any:
    """CALL from translated code (``args`` a fresh list the callee may keep:
    a translated callee takes just its positional arguments, unpadded)."""
    if type(func) is Method:
        args.insert(0, func.__self__)
        func = func.__func__
    if type(func) is not Function:
        if type(func) is type:
            if NS not in func.__dict__:
                if func not in vm.callable_types:
                    raise TypeError(f"cannot create '{func.__name__}' instances")
            elif (init := constructor(vm, func)) is not None:
                return construct(vm, func, init, args, kwargs)
        return vm._call_host(func, args, kwargs)
    code = func.code
    if kwargs is None and len(args) == code.fast_args and vm.depth < vm.translate_depth:
        # a translated callee that needs no binding (translate_depth <= max_depth)
        vm.depth += 1
        try:
            vm.countdown -= 1
            if vm.countdown <= 0:
                vm.checkpoint()
            jit = vm.jit
            if jit is not None and code not in jit.blocked_functions:
                code.profile.calls += 1      # the JIT's counter: the fast path needs none of its own
                value = jit.enter(func, args)
                if value is not NO_NATIVE:
                    return value
            return code.translated(vm, func.globals, cells_for(vm, func, args) if code.cell_params else func.closure,
                                   None, *args)
        finally:
            vm.depth -= 1
    if kwargs is not None or len(args) != code.argcount or code.kwonlyargcount or code.flags & _SLOW_CALL:
        args = bind_arguments(func, args, kwargs)
        if code.flags & CO_GENERATOR:
            return vm.heap.adopt(Generator(vm, func, args))
    if vm.depth >= vm.max_depth:
        raise vm.depth_exceeded()
    vm.depth += 1
    try:
        code.profile.calls += 1
        vm.countdown -= 1
        if vm.countdown <= 0:
            vm.checkpoint()
        jit = vm.jit
        if jit is not None and code not in jit.blocked_functions:
            value = jit.enter(func, args)
            if value is not NO_NATIVE:
                return value
        translated = code.translated
        if translated is None and code.profile.calls >= vm.translate_calls and wanted(vm, code):
            translated = translation_for(vm, code, func.globals)
        if translated and vm.depth < vm.translate_depth:
            return translated(vm, func.globals, cells_for(vm, func, args), None, *args)
    finally:
        vm.depth -= 1
    if len(args) < len(code.varnames):
        args.extend([UNBOUND] * (len(code.varnames) - len(args)))
    return vm.run_interpreted(func, args)


def constructor(vm: "Interpreter", cls: type) -> Function | None:
    """The script ``__init__`` that ``construct`` calls to make an instance of
    user class ``cls``, or None when the host's type call must make it (a
    ``__new__`` of its own or inherited, an ``__init__`` that is not a script
    function, a sandbox counting host re-entries)."""
    if vm.host_call_check is not None or cls.__new__ is not object.__new__:
        return None
    init = lookup(cls, "__init__")
    return init if type(init) is Function else None


def construct(vm: "Interpreter", cls: type, init: Function, args: list[Any], kwargs: dict[str, Any] | None) -> Any:
    """``cls(*args)`` for a user class whose instances the host's object.__new__
    makes and whose __init__ is a script function: what the host's type call
    and the class's __init__ trampoline do (pvm.classes), without them. Only
    without a sandbox (which counts host re-entries), so a translated __init__
    that needs no binding is entered as call_from_host would enter it."""
    obj = object.__new__(cls)
    code = init.code
    if kwargs is None and len(args) + 1 == code.fast_args and vm.depth < vm.translate_depth:
        code.profile.calls += 1
        vm.countdown -= 1
        if vm.countdown <= 0:
            vm.checkpoint()
        vm.depth += 1
        try:
            cells = cells_for(vm, init, [obj, *args]) if code.cell_params else init.closure
            result = code.translated(vm, init.globals, cells, None, obj, *args)
        finally:
            vm.depth -= 1
    else:
        result = vm.call_from_host(init, (obj, *args), kwargs or {})     # counts and binds as the trampoline's call
    if result is not None:
        raise init_result(result)
    return vm.heap.own(obj)


def binop_error(symbol: str, left: type, right: type) -> TypeError:
    """An operator whose left operand's special method returned NotImplemented
    (the right one has no reflected method that takes it: an int, a float or the same class)."""
    return TypeError(f"unsupported operand type(s) for {symbol}: '{left.__name__}' and '{right.__name__}'")


def call_at(vm: "Interpreter", func: Any, args: list[Any], site: list[Any], count: int) -> Any:
    """``call`` from a call site whose inline cache missed: the callee is
    remembered there when ``count`` arguments (the site's own) enter it with
    no binding, it is translated and the JIT is off or has given up on it;
    such a callee (the site's other one, at a site that calls several) is
    entered as the site's fast path enters it, and kept in the site's set of
    those (a few; once a function fits it always does), which the site tests
    too, so that it is entered again without this call. The set also keeps
    the classes the site makes as ``construct`` makes them and the functions
    of bound methods that fit with their receiver (``super().__init__(...)``),
    which this call then enters without ``call``'s tests. A miss records its
    callee as the interpreter records a call (Code.callees)."""
    kind = type(func)
    if kind is type and func in site[3] and (init := constructor(vm, func)) is not None:
        return construct(vm, func, init, args, None)
    if kind is Method and func.__func__ in site[3] and func.__func__.code.fast_args == count + 1:
        args.insert(0, func.__self__)
        func = func.__func__
    else:
        if not (kind is Function and count >= 0 and func in site[3]):
            callee = func.__func__ if kind is Method else func
            if type(callee) is Function or type(callee) is type and NS in callee.__dict__:
                site[1][site[2]] = callee
            if not _fits(vm, func, count):
                result = call(vm, func, args, None)
                if _fits(vm, func, count):          # translated by this call
                    site[0] = func
                elif len(site[3]) < POLYMORPHIC and (
                        kind is Method and _fits(vm, callee, count + 1)
                        or kind is type and NS in func.__dict__ and constructor(vm, func) is not None):
                    site[3].add(callee)
                return result
            if len(site[3]) < POLYMORPHIC:
                site[3].add(func)
        site[0] = func
    if vm.depth >= vm.translate_depth:
        return call(vm, func, args, None)
    vm.depth += 1
    try:
        vm.countdown -= 1
        if vm.countdown <= 0:
            vm.checkpoint()
        return func.code.translated(vm, func.globals, func.closure, None, *args)
    finally:
        vm.depth -= 1


def _fits(vm: "Interpreter", func: Any, count: int) -> bool:
    if type(func) is not Function:
        return False
    code = func.code
    return bool(0 <= count == code.fast_args and code.translated
                and (vm.jit is None or code in vm.jit.blocked_functions))


def load_attribute(obj: Any, name: str, kinds: set[type], hosts: set[type], getters: dict[Any, Any],
                   classes: dict[type, Any] | None = None) -> Any:
    """LOAD_ATTR past its inline caches (pvm.translate): as load_method, a
    method bound, and a property's getter remembered by class."""
    getter = property_getter(obj, name) if name in PROPERTY_NAMES else None
    if getter is not None:
        _remember(getters, type(obj), getter)
    receiver, value = load_method(obj, name, kinds, hosts, None, classes)
    return value if receiver is None else Method(value, receiver)


def load_method(obj: Any, name: str, kinds: set[type], hosts: set[type],
                methods: dict[Any, Any] | None, classes: dict[type, Any] | None = None) -> tuple[Any, Any]:
    """A called method's LOAD_ATTR past its inline caches: (receiver or None,
    callee) by the interpreter's fast path for plain instances, else pvm's
    attribute rules; fills the caches that apply (instances that have it,
    builtin types that allow it, the function found by class, by user class
    what the class's own attribute gave when nothing was bound)."""
    kind = type(obj)
    if kind in PLAIN_STORE_CLASSES and name not in PROPERTY_NAMES:
        attrs = obj.__dict__
        if name in attrs:
            if not issubclass(kind, BaseException):
                _remember(kinds, kind)
            return None, attrs[name]
        found = lookup(kind, name)
        if type(found) is Function:
            if methods is not None:
                _remember(methods, kind, found)
            return obj, found
        return None, get_attribute(obj, name)
    if name in ALLOWED_ATTRIBUTES.get(kind, ()):
        hosts.add(kind)
    value = get_attribute(obj, name)
    if classes is not None and kind is type and NS in obj.__dict__ and type(value) is not Method:
        _remember(classes, obj, value)
    return None, value


def store_attribute(obj: Any, name: str, value: Any, kinds: set[type]) -> None:
    """STORE_ATTR past its inline cache: the interpreter's fast path for plain
    instances (remembering their class), else pvm's attribute rules."""
    kind = type(obj)
    if kind in PLAIN_STORE_CLASSES and name not in PROPERTY_NAMES:
        obj.__dict__[name] = value
        if not issubclass(kind, BaseException):
            _remember(kinds, kind)
    else:
        set_attribute(obj, name, value)


def _remember(cache: set[type] | dict[type, Any], kind: type, value: Any = None) -> None:
    """An entry of a cache that holds while no class namespace changes (a set
    of classes, or a dict by class): the change empties it (pvm.classes)."""
    if not cache:
        FILLED_CACHES[id(cache)] = cache
    if type(cache) is set:
        cache.add(kind)
    else:
        cache[kind] = value


def call_kw(vm: "Interpreter", func: Any, values: list[Any], names: tuple[str, ...]) -> Any:
    count = len(values) - len(names)
    return call(vm, func, values[:count], dict(zip(names, values[count:])))


class GlobalsOnly:
    """The frame a translated BUILD_CLASS or import hands the interpreter's
    handler: those read only the globals of the frame they run in."""

    __slots__ = ("globals",)

    def __init__(self, globals_: dict[str, Any]) -> None:
        self.globals = globals_


NAMESPACE: dict[str, Any] = {
    "U": UNBOUND, "EXHAUSTED": EXHAUSTED, "NATIVE": NATIVE, "WORD_BYTES": WORD_BYTES,
    "UNOWNED": UNOWNED,
    "HOST_FUNCTION": type(len), "BUILTIN": Builtin, "GROWABLE": GROWABLE, "GENERATOR": Generator,
    "MODULE": Module, "FUNCTION": Function,
    "CONTAINERS": CONTAINERS,
    "CONTAINS": operator.contains, "BINOPS": tuple(getattr(operator, name) for _, name in BINARY_OPERATORS),
    "CMPOPS": tuple(getattr(operator, name) for _, name in COMPARE_OPERATORS),
    "get_attribute": get_attribute,
    "set_attribute": set_attribute, "unbound_local": unbound_local, "unbound_deref": unbound_deref,
    "name_error": name_error, "builtin_named": builtin_named, "check_unpackable": check_unpackable,
    "unpack": unpack, "do_raise": do_raise,
    "check_exc_match": check_exc_match, "RERAISED": RERAISED,
    "HANDLERS": HANDLERS, "call_ex_arguments": call_ex_arguments, "call": call, "call_kw": call_kw,
    "call_at": call_at, "load_attribute": load_attribute, "load_method": load_method,
    "store_attribute": store_attribute, "init_result": init_result, "binop_error": binop_error,
    "unwound": unwound, "caught": caught, "lost": lost, "own_cells": own_cells,
    "iterated": iterated, "HOST_ITERATORS": HOST_ITERATORS, "GlobalsOnly": GlobalsOnly,
}
