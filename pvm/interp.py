"""Tier 0: the bytecode interpreter.

Frames are data: a call from script code pushes a ``Frame`` and the one
dispatch loop in ``Interpreter._execute`` carries on with it, so script
recursion never recurses in Python and the depth limit is pvm's own. Only a
call that comes from host code (a builtin such as ``sorted`` calling a key
function) starts a nested loop.

The loop runs over pre-decoded instructions with superinstructions fused in
(pvm.frames.quicken), keeps the frame's hot state in Python locals and
dispatches on plain ints, hottest first.

The collector's view. ``top_frame`` is the innermost frame of the running
loop, updated at every frame switch; a loop started below a host call pushes
its caller's ``top_frame`` on ``suspended``, so the frame chains of every
active loop are roots. Pacing collections run at safe points (back-edges and
calls). Host calls keep their callee and arguments on the operand stack until
they return, and values a script callback hands back to the host stay on
``heap.temp_roots`` until the host call that started the callback returns.

A script-visible exception is a host exception instance (of a builtin type or
a user class: pvm.classes). When one escapes an instruction, pvm.unwind.catch
finds the handler in the frames this loop owns, recording each frame it passes
in the exception's traceback; one that leaves the loop's entry frame goes on
through the host code below, and the outermost entry turns it into a
``ScriptError``.
"""

from __future__ import annotations

import gc
import operator
import os
import sys
from typing import Any, Callable, Iterator

from pvm import builtins as builtins_mod
from pvm import config
from pvm.attributes import get_attribute, set_attribute
from pvm.code import Code
from pvm.errors import PvmError, ScriptError, TracebackEntry, VMInternalError
from pvm.frames import NO_NATIVE, UNBOUND, Frame, bind_arguments, name_error, unbound_deref, unbound_local
from pvm.handlers import HANDLERS, call_ex_arguments
from pvm.classes import NS, PLAIN_STORE_CLASSES, PROPERTY_NAMES, Method, lookup
from pvm.code import CO_GENERATOR
from pvm.generators import Generator
from pvm.heap import SMALL_INT, WORD_BYTES, Heap
from pvm.measure import CONTAINERS
from pvm.objects import Function, Module
from pvm.opcodes import SUPERINSTRUCTIONS, Op
from pvm.translated import GROWABLE, MODES, REFUSED, loop_wanted, translated_roots, translation_for, wanted
from pvm import translated as translated_mod
from pvm.unwind import FRESH, catch, is_script_exception, traceback_of

DEFAULT_MAX_DEPTH = 1000          # frames, as CPython's default recursion limit counts them
HOST_RECURSION_CAP = 10_000      # the host recursion limit pvm sets while it runs, at most
# steps between checkpoints when nothing is limited: under 2**30, so the countdown every call and back-edge
# decrements stays a one-digit int of the host (its fast path: a call 15-20 ns cheaper than at 2**62)
NO_CHECKPOINT = (1 << 30) - 1
_EXHAUSTED: Any = object()         # FOR_ITER's sentinel for a finished iterator

_BUILTIN_METHOD = type([].append)


class Interpreter:
    """One VM: its heap, builtins, loaded modules and the tier-0 loop.

    ``loader(path) -> Code`` compiles (or fetches the cached code of) a module
    file pvm.imports found; it is injected so the runtime never imports the parser.
    """

    def __init__(self, *, write: Callable[[str], Any] | None = None,
                 loader: Callable[[str], Code] | None = None,
                 search_path: list[str] | None = None, max_depth: int = DEFAULT_MAX_DEPTH,
                 heap: Heap | None = None) -> None:
        self.heap = heap if heap is not None else Heap(pause=config.GC_PAUSE, stress=config.GC_STRESS)
        self.write: Callable[[str], Any] = write or (lambda text: None)
        self.loader = loader
        self.search_path = list(search_path or [])
        self.max_depth = max_depth
        self.depth = 0
        self.top_frame: Frame | None = None       # innermost frame of the running loop
        self.suspended: list[Frame | None] = []   # top frames of the loops below host calls
        self.modules: dict[str, Module] = {}
        self.initializing: set[str] = set()     # modules whose body is running (pvm.imports)
        self.granted: set[str] = set()          # capability modules scripts may import (pvm.natives)
        self.argv: list[str] = [""]             # sys.argv
        self.builtins = builtins_mod.make_builtins(self)
        # AssertionError is reachable through LOAD_ASSERTION_ERROR only
        self.callable_types = builtins_mod.CALLABLE_TYPES | {AssertionError}
        self.heap.vm = self
        # Steps: one per loop back-edge and per call. Every `countdown` steps
        # the checkpoint hook (the sandbox's limits) runs; it may raise to end
        # the run and returns how many steps until it wants to run again.
        self.checkpoint_hook: Callable[[int], int] | None = None
        # The JIT (pvm.jit), if on: `enter(func, locals)` runs a call natively or
        # returns NO_NATIVE; `loop(frame, header_pc)` runs a hot loop natively to
        # its exit (True, frame.pc and locals updated) or declines (False).
        self.jit: Any = None
        # Tier 0 translates hot code to host functions (pvm.translate): set_translation
        self.set_translation(config.TRANSLATE)
        self.translate_log: Callable[[str], Any] | None = None
        # Translated activations nest host calls, so they run only below this
        # depth (set from the host's recursion limit when the outermost loop starts)
        self.translate_depth = self.translate_room = 0
        self.translated_reentries = 0    # host calls into translated code now active (no loop of their own)
        # What a call past max_depth raises (the sandbox makes it a limit error)
        self.depth_exceeded: Callable[[], BaseException] = lambda: RecursionError(
            "maximum recursion depth exceeded")
        # Consulted before every host call (the sandbox charges big builtins up front)
        self.host_call_check: Callable[[Any, list[Any], dict[str, Any] | None], None] | None = None
        self.steps = 0
        self.interval = self.countdown = NO_CHECKPOINT
        self.handling: BaseException | None = None   # the exception an except/finally block is handling
        self.raising = FRESH                          # how the exception in flight was raised (pvm.unwind)
        self.yielded = False                          # the last loop to return left by YIELD_VALUE

    def checkpoint(self) -> None:
        """Account the steps since the last checkpoint and consult the hook
        (which may raise: the count stays right for the next checkpoint)."""
        self.steps += self.interval - self.countdown
        self.interval = self.countdown = 0
        self.interval = self.countdown = (self.checkpoint_hook(self.steps) if self.checkpoint_hook
                                          else NO_CHECKPOINT)

    def set_checkpoint_hook(self, hook: Callable[[int], int] | None) -> None:
        self.steps += self.interval - self.countdown
        self.checkpoint_hook = hook
        self.interval = self.countdown = hook(self.steps) if hook else NO_CHECKPOINT

    def set_translation(self, mode: str) -> None:
        """The translation mode: "on" (hot code), "eager" (at first call and back-edge) or "off"."""
        if mode not in MODES:
            raise ValueError(f"unknown translation mode {mode!r}")
        thresholds = MODES[mode]
        self.translate = thresholds is not None
        self.translate_calls, self.translate_backedges = thresholds or (0, 0)

    def translated_roots(self) -> Iterator[Any]:
        """What translated activations hold (found on the host's stack)."""
        return translated_roots(self) if translated_mod.made else iter(())

    def live_frames(self) -> Iterator[Frame]:
        """Every frame of every active loop: the collector's frame roots."""
        for top in [self.top_frame, *self.suspended]:
            frame = top
            while frame is not None:
                yield frame
                frame = frame.back

    # --- Entry points ---

    def run_module(self, code: Code, name: str = "__main__", origin: str | None = None) -> Module:
        """Execute a module's top-level code in a fresh namespace."""
        module = self.heap.new_module(name, origin, self.heap.new_dict([("__name__", name), ("__doc__", None)]))
        self.modules[name] = module
        self.execute_module_code(code, module)
        return module

    def execute_module_code(self, code: Code, module: Module) -> Any:
        return self._run_frame(Frame(code, module.dict, [UNBOUND] * len(code.varnames), None), ())

    def call_from_host(self, func: Function, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Call a script function from Python code (a builtin's callback). The
        result stays a temporary root until the host call that asked for it returns."""
        code = func.code
        code.profile.calls += 1
        self.countdown -= 1
        if self.countdown <= 0:
            self.checkpoint()
        translating = 0 < self.depth < self.translate_depth
        if translating and not kwargs and len(args) == code.fast_args:
            # translated, needs no binding: run_from_host, inlined (operators on instances come this way)
            self.depth += 1
            self.translated_reentries += 1
            try:
                cells = translated_mod.cells_for(self, func, args) if code.cell_params else func.closure
                result = code.translated(self, func.globals, cells, None, *args)
            finally:
                self.depth -= 1
                self.translated_reentries -= 1
        elif code.flags & CO_GENERATOR:
            return self.heap.adopt(Generator(self, func, bind_arguments(func, args, kwargs)))
        else:
            locals_ = bind_arguments(func, args, kwargs)
            translated = code.translated
            if translating and translated is None and code.profile.calls >= self.translate_calls \
                    and wanted(self, code):
                translated = translation_for(self, code, func.globals)
            if translating and translated:
                result = translated_mod.run_from_host(self, translated, func, locals_)
            else:
                result = self._run_frame(Frame(code, func.globals, locals_, None), func.closure)
        self.heap.temp_roots.append(result)
        return result

    def run_interpreted(self, func: Function, locals_: list[Any]) -> Any:
        """A call from translated code of a function that is not translated: a nested loop."""
        return self._run_frame(Frame(func.code, func.globals, locals_, None), func.closure)

    def run_class_body(self, body: Function, namespace: dict[str, Any]) -> Any:
        """Run a class body in ``namespace``; the ``__class__`` cell its
        methods read for zero-argument ``super()`` (or None)."""
        code = body.code
        frame = Frame(code, body.globals, [UNBOUND] * len(code.varnames), None)   # none, unless a file lies
        frame.namespace = namespace
        self._run_frame(frame, body.closure)
        return frame.cells[code.cellvars.index("__class__")] if "__class__" in code.cellvars else None

    def resume(self, frame: Frame) -> tuple[Any, bool]:
        """Run a generator's frame to its next yield ``(value, True)`` or its
        return ``(value, False)``."""
        self.yielded = False
        value = self._run_frame(frame, None)
        yielded, self.yielded = self.yielded, False    # a generator it resumed must not look like a yield of its own
        return value, yielded

    def _run_frame(self, frame: Frame, closure: tuple[Any, ...] | None) -> Any:
        """Run ``frame`` in a new loop, below whatever loop is running now.

        The outermost entry disables CPython's cycle collector (pvm's own
        collector owns VM objects) and restores the host's setting on exit."""
        if self.depth >= self.max_depth:
            raise self.depth_exceeded()
        outermost = self.depth == 0
        host_gc = outermost and gc.isenabled()
        if host_gc:
            gc.disable()
        if outermost:
            host_limit = sys.getrecursionlimit()
            self._raise_host_limit(host_limit)
        base_depth = self.depth
        self.depth += 1
        self.suspended.append(self.top_frame)
        self.top_frame = frame
        try:
            if closure is not None and (closure or frame.code.cell_params):   # None: resuming, cells made
                frame.make_cells(closure, self.heap)
            return self._execute(frame)
        except BaseException as exc:
            if outermost and is_script_exception(exc):
                raise ScriptError(exc, traceback_of(exc)) from None
            raise
        finally:
            self.top_frame = self.suspended.pop()
            self.depth = base_depth
            if outermost:
                sys.setrecursionlimit(host_limit)
            if host_gc:
                gc.enable()

    def _raise_host_limit(self, host_limit: int) -> None:
        """Raise the host's recursion limit for what nests host frames: translated
        activations (at most three host frames a script frame) and interpreted
        generators (a resumption counts about six: the C call of next(),
        Generator.__next__, its interpreted step, resume, _run_frame and a new
        loop); set the depth below which translated code runs (deeper calls run
        in the interpreter, whose frames are data). The raise is capped: a host
        callback's recursion nests C frames too, which the limit must still guard."""
        here = 0
        frame: Any = sys._getframe()
        while frame is not None:
            here += 1
            frame = frame.f_back
        limit = max(host_limit, here + min(6 * self.max_depth, HOST_RECURSION_CAP) + 500)
        sys.setrecursionlimit(limit)
        self.translate_room = (limit - here - 500) // 3
        self.fit_translate_depth()

    def fit_translate_depth(self) -> None:
        """Keep translated calls' one depth test covering max_depth too (after it
        changed); none run when translation is off."""
        self.translate_depth = min(self.translate_room, self.max_depth) if self.translate else 0

    # --- Modules ---

    # --- Errors ---

    def stack_traceback(self) -> list[TracebackEntry]:
        """Every script frame now, outermost first, at each frame's saved pc
        (translated activations at their current instruction)."""
        return translated_mod.stack_traceback(self)

    # --- The loop ---

    def _execute(self, frame: Frame, *,  # noqa: C901 - one dispatch loop by design
                 # opcode numbers as locals, bound once at definition: entering a loop costs no lookups
                 LOAD_FAST: int = Op.LOAD_FAST.value,
                 LOAD_CONST: int = Op.LOAD_CONST.value,
                 STORE_FAST: int = Op.STORE_FAST.value,
                 BINARY_OP: int = Op.BINARY_OP.value,
                 COMPARE_OP: int = Op.COMPARE_OP.value,
                 POP_JUMP_IF_FALSE: int = Op.POP_JUMP_IF_FALSE.value,
                 POP_JUMP_IF_TRUE: int = Op.POP_JUMP_IF_TRUE.value,
                 JUMP_BACKWARD: int = Op.JUMP_BACKWARD.value,
                 JUMP_FORWARD: int = Op.JUMP_FORWARD.value,
                 LOAD_GLOBAL: int = Op.LOAD_GLOBAL.value,
                 STORE_GLOBAL: int = Op.STORE_GLOBAL.value,
                 CALL: int = Op.CALL.value,
                 RETURN_VALUE: int = Op.RETURN_VALUE.value,
                 FOR_ITER: int = Op.FOR_ITER.value,
                 POP_TOP: int = Op.POP_TOP.value,
                 BINARY_SUBSCR: int = Op.BINARY_SUBSCR.value,
                 STORE_SUBSCR: int = Op.STORE_SUBSCR.value,
                 LOAD_DEREF: int = Op.LOAD_DEREF.value,
                 STORE_DEREF: int = Op.STORE_DEREF.value,
                 LOAD_ATTR: int = Op.LOAD_ATTR.value,
                 STORE_ATTR: int = Op.STORE_ATTR.value,
                 CALL_KW: int = Op.CALL_KW.value,
                 YIELD_VALUE: int = Op.YIELD_VALUE.value,
                 CALL_FUNCTION_EX: int = Op.CALL_FUNCTION_EX.value,
                 COPY: int = Op.COPY.value,
                 SWAP: int = Op.SWAP.value,
                 LOAD_FAST__LOAD_FAST: int = Op.LOAD_FAST__LOAD_FAST.value,
                 LOAD_FAST__LOAD_CONST: int = Op.LOAD_FAST__LOAD_CONST.value,
                 LOAD_FAST__LOAD_ATTR: int = Op.LOAD_FAST__LOAD_ATTR.value,
                 LOAD_FAST__BINARY_OP: int = Op.LOAD_FAST__BINARY_OP.value,
                 LOAD_CONST__BINARY_OP: int = Op.LOAD_CONST__BINARY_OP.value,
                 BINARY_OP__STORE_FAST: int = Op.BINARY_OP__STORE_FAST.value,
                 STORE_FAST__LOAD_FAST: int = Op.STORE_FAST__LOAD_FAST.value,
                 COMPARE_OP__POP_JUMP_IF_FALSE: int = Op.COMPARE_OP__POP_JUMP_IF_FALSE.value,
                 FIRST_SUPER: int = min(Op[name] for name in SUPERINSTRUCTIONS)) -> Any:
        heap = self.heap
        # Values script code hands to the host (a trampoline's result for `a + b`, say)
        # are temporary roots; when this loop reaches a safe point, every host call it
        # made has returned, so the roots above this mark are done with.
        temp_roots = heap.temp_roots
        roots_mark = len(temp_roots)
        checked = self.host_call_check
        limited = heap.limit is not None or checked is not None
        builtins = self.builtins
        callable_types = self.callable_types
        adopt = heap.adopt
        binary = self._binary
        small, neg_small = SMALL_INT, -SMALL_INT
        plain_classes = PLAIN_STORE_CLASSES
        property_names = PROPERTY_NAMES
        rare = HANDLERS
        jit = self.jit
        translate_depth = self.translate_depth
        translate_calls = self.translate_calls
        translate_backedges = self.translate_backedges
        code = frame.code
        instrs = frame.instrs
        stack = frame.stack
        locals_ = frame.locals
        cells = frame.cells
        globals_ = frame.globals
        pc = frame.pc
        push = stack.append
        pop = stack.pop


        while True:
            try:
                while True:
                    op, arg = instrs[pc]
                    pc += 1
                    if op >= FIRST_SUPER:
                        # superinstructions (the table's last rows): one test keeps them off the
                        # plain instructions' path. pc (past the first half since the fetch) passes
                        # the second half before it may raise, so an error in either half is
                        # reported (line, handler) where it happened.
                        if op == LOAD_FAST__LOAD_FAST:
                            value = locals_[arg[0]]
                            if value is UNBOUND:
                                raise unbound_local(code.varnames[arg[0]])
                            push(value)
                            pc += 1
                            value = locals_[arg[1]]
                            if value is UNBOUND:
                                raise unbound_local(code.varnames[arg[1]])
                            push(value)
                        elif op == LOAD_FAST__LOAD_ATTR:
                            value = locals_[arg[0]]
                            if value is UNBOUND:
                                raise unbound_local(code.varnames[arg[0]])
                            pc += 1
                            name = arg[1]
                            # as LOAD_ATTR's fast path below (inlined: a call would cost what it saves)
                            if type(value) in plain_classes and name not in property_names and name[0] != "_":
                                attrs = value.__dict__
                                if name in attrs:
                                    push(attrs[name])
                                    continue
                                found = lookup(type(value), name)
                                if type(found) is Function:   # a method, bound as get_attribute would
                                    push(Method(found, value))
                                    continue
                            if translate_calls and name in property_names:
                                code.callees[pc - 1] = type(value)      # a getter translation may inline
                            push(get_attribute(value, name))
                        elif op == LOAD_FAST__LOAD_CONST:
                            value = locals_[arg[0]]
                            if value is UNBOUND:
                                raise unbound_local(code.varnames[arg[0]])
                            push(value)
                            push(arg[1])
                            pc += 1
                        elif op == COMPARE_OP__POP_JUMP_IF_FALSE:
                            if checked is not None and type(stack[-1]) in CONTAINERS:
                                checked(arg[0], stack[-2:], None)
                            right = pop()
                            if arg[0](pop(), right):
                                pc += 1
                            else:
                                pc = arg[1]
                        elif op == STORE_FAST__LOAD_FAST:
                            locals_[arg[0]] = pop()
                            pc += 1
                            value = locals_[arg[1]]
                            if value is UNBOUND:
                                raise unbound_local(code.varnames[arg[1]])
                            push(value)
                        elif op == LOAD_CONST__BINARY_OP or op == LOAD_FAST__BINARY_OP:
                            if op == LOAD_CONST__BINARY_OP:
                                right = arg[0]
                            else:
                                right = locals_[arg[0]]
                                if right is UNBOUND:
                                    raise unbound_local(code.varnames[arg[0]])
                            pc += 1
                            if limited:
                                stack[-1] = binary(arg[1], stack[-1], right)
                            else:
                                left = stack[-1]
                                value = arg[1](left, right)
                                if (type(value) is not int or not neg_small < value < small) and type(value) is not float:
                                    value = adopt(value)
                                    if translate_calls and type(left) in plain_classes:
                                        code.callees[pc - 1] = type(left)     # pc: past the BINARY_OP half
                                stack[-1] = value
                        elif op == BINARY_OP__STORE_FAST:
                            if limited:               # charged while both operands are still rooted
                                value = binary(arg[0], stack[-2], stack[-1])
                                del stack[-2:]
                            else:
                                right = pop()
                                left = pop()
                                value = arg[0](left, right)
                                if (type(value) is not int or not neg_small < value < small) and type(value) is not float:
                                    value = adopt(value)
                                    if translate_calls and type(left) in plain_classes:
                                        code.callees[pc - 1] = type(left)     # a special method translation may inline
                            locals_[arg[1]] = value
                            pc += 1
                    elif op == BINARY_OP:
                        if limited:
                            value = binary(arg, stack[-2], stack[-1])
                            pop()
                            stack[-1] = value
                        else:
                            right = pop()
                            left = stack[-1]
                            value = arg(left, right)
                            if (type(value) is not int or not neg_small < value < small) and type(value) is not float:
                                value = adopt(value)      # only what the heap must see: big ints, strs, containers
                                if translate_calls and type(left) in plain_classes:
                                    code.callees[pc - 1] = type(left)     # a special method translation may inline
                            stack[-1] = value
                    elif op == LOAD_CONST:
                        push(arg)
                    elif op == LOAD_FAST:
                        value = locals_[arg]
                        if value is UNBOUND:
                            raise unbound_local(code.varnames[arg])
                        push(value)
                    elif op == CALL or op == CALL_KW or op == CALL_FUNCTION_EX:
                        base = len(stack) - arg - 1
                        if op == CALL:
                            kwargs = None
                            args = stack[base + 1:]
                        elif op == CALL_KW:
                            names = pop()
                            base -= 1
                            nargs = arg - len(names)
                            kwargs = dict(zip(names, stack[base + 1 + nargs:]))
                            args = stack[base + 1:base + 1 + nargs]
                        else:
                            base, args, kwargs = call_ex_arguments(self, stack, arg)
                        func = stack[base]
                        if type(func) is Method:
                            args.insert(0, func.__self__)
                            func = func.__func__
                        if type(func) is Function:
                            if translate_calls:
                                code.callees[pc - 1] = func
                            # arguments stay on the stack (rooted) while binding allocates *args and **kwargs
                            new_locals = bind_arguments(func, args, kwargs)
                            del stack[base:]
                            if func.code.flags & CO_GENERATOR:
                                push(self.heap.adopt(Generator(self, func, new_locals)))
                                continue
                            if self.depth >= self.max_depth:
                                raise self.depth_exceeded()
                            self.depth += 1
                            callee = func.code
                            callee.profile.calls += 1
                            frame.pc = pc
                            self.countdown -= 1
                            if self.countdown <= 0:
                                self.checkpoint()
                            if jit is not None:
                                value = jit.enter(func, new_locals)
                                if value is not NO_NATIVE:
                                    self.depth -= 1
                                    push(value)
                                    continue
                            if self.depth < translate_depth:
                                translated = callee.translated
                                if translated is None and callee.profile.calls >= translate_calls \
                                        and wanted(self, callee):
                                    translated = translation_for(self, callee, func.globals)
                                if translated:
                                    if len(temp_roots) > roots_mark:
                                        del temp_roots[roots_mark:]
                                    try:
                                        value = translated(self, func.globals,
                                                           translated_mod.cells_for(self, func, new_locals),
                                                           None, *new_locals)
                                    finally:
                                        self.depth -= 1
                                    push(value)
                                    continue
                            frame = self.top_frame = Frame(callee, func.globals, new_locals, frame)
                            if callee.cell_params or func.closure:
                                frame.make_cells(func.closure, heap)
                            if len(temp_roots) > roots_mark:
                                del temp_roots[roots_mark:]
                            code = callee
                            instrs = frame.instrs
                            stack = frame.stack
                            push = stack.append
                            pop = stack.pop
                            locals_ = new_locals
                            cells = frame.cells
                            globals_ = frame.globals
                            pc = 0
                            if heap.collect_due:
                                heap.collect()
                        else:
                            # callee and arguments stay on the stack (rooted) until the host returns
                            if type(func) is type and func not in callable_types:
                                if NS not in func.__dict__:
                                    raise TypeError(f"cannot create '{func.__name__}' instances")
                                if translate_calls:
                                    code.callees[pc - 1] = func
                            frame.pc = pc
                            value = self._call_host(func, args, kwargs)
                            del stack[base:]
                            push(value)
                    elif op == JUMP_BACKWARD:
                        code.profile.backedges += 1
                        self.countdown -= 1
                        if self.countdown <= 0:
                            frame.pc = pc
                            self.checkpoint()
                        if len(temp_roots) > roots_mark:
                            del temp_roots[roots_mark:]
                        if heap.collect_due:
                            heap.collect()
                        pc = arg
                        if jit is not None and jit.loop(frame, pc):
                            pc = frame.pc
                        elif (self.depth < translate_depth and code.profile.backedges >= translate_backedges
                              and code.translated is not REFUSED and frame.namespace is None
                              and not code.flags & CO_GENERATOR and loop_wanted(self, code, pc)):
                            # the rest of this activation runs translated, from this loop's header
                            translated = code.translated
                            if translated is None:
                                translated = translation_for(self, code, globals_)
                            if translated:
                                frame.pc = pc
                                new_locals = frame.locals
                                frame.locals = []
                                try:
                                    value = translated(self, globals_, cells, frame, *new_locals)
                                except BaseException:
                                    pc = frame.pc
                                    raise
                                # the activation is over: return its value through a RETURN_VALUE
                                stack = frame.stack
                                push = stack.append
                                pop = stack.pop
                                push(value)
                                pc = code.ops.index(RETURN_VALUE)
                    elif op == RETURN_VALUE:
                        value = pop()
                        back = frame.back
                        if back is None:
                            return value
                        self.depth -= 1
                        frame = self.top_frame = back
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
                    elif op == LOAD_GLOBAL:
                        value = globals_.get(arg, UNBOUND)
                        if value is UNBOUND:
                            value = builtins.get(arg, UNBOUND)
                            if value is UNBOUND:
                                raise name_error(arg, code, globals_, builtins)
                        push(value)
                    elif op == BINARY_SUBSCR:
                        if checked is not None and type(stack[-1]) is tuple:
                            checked(hash, stack[-1:], None)
                        key = pop()
                        stack[-1] = adopt(stack[-1][key])
                    elif op == STORE_FAST:
                        locals_[arg] = pop()
                    elif op == POP_JUMP_IF_FALSE:
                        if not pop():
                            pc = arg
                    elif op == LOAD_ATTR:
                        value = stack[-1]
                        # an instance's own attribute, or a method bound from the class's lookup
                        # cache, when no class ever made that name a property (pvm.classes)
                        if type(value) in plain_classes and arg not in property_names and arg[0] != "_":
                            attrs = value.__dict__
                            if arg in attrs:
                                stack[-1] = attrs[arg]
                                continue
                            found = lookup(type(value), arg)
                            if type(found) is Function:
                                stack[-1] = Method(found, value)
                                continue
                        if translate_calls and arg in property_names:
                            code.callees[pc - 1] = type(value)
                        stack[-1] = get_attribute(value, arg)
                    elif op == LOAD_DEREF:
                        value = cells[arg].value
                        if value is UNBOUND:
                            raise unbound_deref(code, arg)
                        push(value)
                    elif op == STORE_ATTR:
                        value = pop()
                        if type(value) in plain_classes and arg not in property_names and arg[0] != "_":
                            value.__dict__[arg] = pop()
                        else:
                            set_attribute(value, arg, pop())
                    elif op == STORE_SUBSCR:
                        if checked is not None and type(stack[-1]) is tuple:
                            checked(hash, stack[-1:], None)
                        # value, container and key stay on the stack (rooted) while __hash__ or __eq__ runs
                        container = stack[-2]
                        if type(container) is dict:
                            before = len(container)
                            container[stack[-1]] = stack[-3]
                            heap.grew(container, before)
                        else:
                            container[stack[-1]] = stack[-3]
                        del stack[-3:]
                    elif op == FOR_ITER:
                        # a lazy builtin (map, filter) may call script code: its results
                        # are temporary roots only until next() returns
                        mark = len(heap.temp_roots)
                        value = next(stack[-1], _EXHAUSTED)
                        del heap.temp_roots[mark:]
                        if value is _EXHAUSTED:
                            pop()
                            pc = arg
                        else:
                            push(value)
                    elif op <= SWAP:        # POP_TOP, COPY, SWAP (the table's first rows): one test for the three
                        if op == POP_TOP:
                            pop()
                        elif op == COPY:
                            push(stack[-arg])
                        else:
                            stack[-1], stack[-arg] = stack[-arg], stack[-1]
                    elif op == COMPARE_OP:
                        if checked is not None and type(stack[-1]) in CONTAINERS:
                            checked(arg, stack[-2:], None)
                        right = pop()
                        stack[-1] = arg(stack[-1], right)
                    elif op == POP_JUMP_IF_TRUE:
                        if pop():
                            pc = arg
                    elif op == JUMP_FORWARD:
                        pc = arg
                    elif op == STORE_GLOBAL:
                        globals_[arg] = pop()
                    elif op == STORE_DEREF:
                        cells[arg].value = pop()
                    elif op == YIELD_VALUE:
                        # a generator's frame is always its loop's entry frame (pvm.generators)
                        frame.pc = pc
                        self.yielded = True
                        return pop()
                    else:
                        frame.pc = pc
                        rare[op](self, frame, stack, arg)
                        pc = frame.pc
            except PvmError as error:
                if getattr(error, "traceback", ()) is None:     # a limit breach the heap raised mid-instruction
                    frame.pc = pc
                    error.traceback = self.stack_traceback()
                raise
            except BaseException as exc:
                if not is_script_exception(exc):
                    if not isinstance(exc, Exception):
                        raise                    # KeyboardInterrupt: the host's, not the script's
                    raise VMInternalError(f"internal error at {code.filename}:{code.line_at(pc - 1)}: "
                                          f"{type(exc).__name__}: {exc}") from exc
                frame.pc = pc
                frame = catch(self, exc, frame)
                code = frame.code
                instrs = frame.instrs
                stack = frame.stack
                push = stack.append
                pop = stack.pop
                locals_ = frame.locals
                cells = frame.cells
                globals_ = frame.globals
                pc = frame.pc

    def _binary(self, func: Callable[[Any, Any], Any], left: Any, right: Any) -> Any:
        """A binary operator under limits: its work and result charged before it runs."""
        if (func in _POWER_OR_SHIFT or type(left) not in _NUMBERS or type(right) not in _NUMBERS
                or not (-_WORDS < left < _WORDS and -_WORDS < right < _WORDS)):
            self._charge_operator(func, left, right)
        return self.heap.adopt(func(left, right))

    def _charge_operator(self, func: Callable[[Any, Any], Any], left: Any, right: Any) -> None:
        """BINARY_OP under limits, for operands that may make it expensive: the
        sandbox charges its work (pvm.costs) and the heap reserves its result.
        Small ints and floats skip this: their cost is the instruction's own."""
        if self.host_call_check is not None:
            self.host_call_check(func, [left, right], None)
        self.heap.reserve(_result_size(func, left, right))

    def _call_host(self, func: Any, args: list[Any], kwargs: dict[str, Any] | None) -> Any:
        """Call a host callable: values script callbacks return to it stay rooted
        until it returns, and a container it grows in place is charged."""
        if self.host_call_check is not None:
            self.host_call_check(func, args, kwargs)
        heap = self.heap
        mark = len(heap.temp_roots)
        owner = func.__self__ if type(func) is _BUILTIN_METHOD else None
        grows = type(owner) in GROWABLE
        before = len(owner) if grows else 0
        if type(owner) is list and func.__name__ == "sort":
            heap.temp_roots.append(tuple(owner))    # list.sort empties the list while the key runs
        try:
            result = func(*args, **kwargs) if kwargs else func(*args)
        finally:
            del heap.temp_roots[mark:]
        if grows:
            heap.grew(owner, before)
        return heap.adopt(result)



EXECUTE_CODE = Interpreter._execute.__code__     # how pvm.translated finds interpreter loops on the host's stack

_WORDS = 1 << 256                 # ints this small cost what a float costs
_NUMBERS = frozenset({int, float})


def _result_size(func: Callable[[Any, Any], Any], left: Any, right: Any) -> int:
    """The bytes an operator's result will take, where that is known before
    computing it (sequence repetition and concatenation, big powers and shifts)."""
    if func in _REPEAT:
        if type(right) is int and type(left) in _SEQUENCES:
            return right * len(left) * (WORD_BYTES if type(left) is not str else 1)
        if type(left) is int and type(right) in _SEQUENCES:
            return left * len(right) * (WORD_BYTES if type(right) is not str else 1)
    elif func in _CONCAT:
        if type(left) is type(right) and type(left) in _SEQUENCES:
            return (len(left) + len(right)) * (WORD_BYTES if type(left) is not str else 1)
    elif type(left) is int and type(right) is int and right > 0:
        if func in _POWER:
            return right * left.bit_length() // 8
        if func in _SHIFT:
            return (left.bit_length() + right) // 8
    return 0


_SEQUENCES = (str, list, tuple)
_REPEAT = (operator.mul, operator.imul)
_CONCAT = (operator.add, operator.iadd)
_POWER = (operator.pow, operator.ipow)
_SHIFT = (operator.lshift, operator.ilshift)
_POWER_OR_SHIFT = frozenset(_POWER + _SHIFT)



# Opcodes the hot loop of Interpreter._execute handles itself; every other row
# goes to its handler in pvm.handlers. tests/pvm/test_opcodes.py checks the two cover the table.
HOT_OPCODES = frozenset({
    Op.LOAD_FAST, Op.LOAD_CONST, Op.STORE_FAST, Op.BINARY_OP, Op.COMPARE_OP, Op.POP_JUMP_IF_FALSE,
    Op.POP_JUMP_IF_TRUE, Op.JUMP_BACKWARD, Op.JUMP_FORWARD, Op.LOAD_GLOBAL, Op.STORE_GLOBAL, Op.CALL,
    Op.CALL_KW, Op.RETURN_VALUE, Op.FOR_ITER, Op.POP_TOP, Op.BINARY_SUBSCR, Op.STORE_SUBSCR,
    Op.LOAD_DEREF, Op.STORE_DEREF, Op.LOAD_ATTR, Op.STORE_ATTR, Op.YIELD_VALUE, Op.CALL_FUNCTION_EX,
    Op.COPY, Op.SWAP,
    *(Op[name] for name in SUPERINSTRUCTIONS),
})


def script_search_path(script_path: str) -> list[str]:
    """Where a script's imports are looked up: its own folder, then stdlib/."""
    return [os.path.dirname(os.path.abspath(script_path)), stdlib_dir()]


def stdlib_dir() -> str:
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "stdlib")
