"""Tier 0's fast path: a hot code object translated to a Python function.

A pre-decoded loop written in Python pays 80-100 ns for every instruction it
dispatches (JIT-NOTES section 2); the same work written as Python source and
compiled by the host runs at the host's own speed. So a function called often
enough, or a loop that turns often enough, is translated: every instruction
becomes a few lines of Python with the operand stack held in named locals
(``s0``, ``s1``, ...: the depth at every instruction is static, pvm.flow) and
the fast locals in ``x0``, ``x1``, ... Every semantic step stays pvm's: results are
adopted by the heap, steps are counted at the same back-edges and calls, the
checks the sandbox hooks make run at the same instructions, and the cold
instructions call the interpreter's own handlers on a scratch stack.

Control flow. Blocks are guarded by ``if pc == start:`` in layout order, each
loop of the bytecode (a back-edge's target and everything up to its last
back-edge) becomes ``if header <= pc <= end: while True:``, a jump sets ``pc``
and then falls down the chain (forward), ``continue``s (to its loop's header)
or ``break``s (out of its loop; the enclosing level dispatches on ``pc``
again). Entering at a loop header (on-stack replacement from the
interpreter) is the same chain with ``pc`` preset, and so is an exception
handler: the body runs in ``while True: try:`` and the exception table's
handler is where ``pc`` goes. A block only a branch's fall-through reaches
is written inside the branch. A generator's body is a host generator. Class
bodies, imports, ``class`` statements inside a function and loops that are
not nested ranges stay with the interpreter. docs/tier0.md has the whole design.

Roots. Every value in flight lives in a named local of the generated
function, so the collector finds them by walking the host's stack
(pvm.translated.translated_roots); no instruction needs to spill. Which
Python line failed says which instruction did (``Translation.pcs``), for
tracebacks and limit reports.
"""

from __future__ import annotations

import bisect
from collections import Counter
from typing import Any

from pvm.classes import FILLED_CACHES, NS, Property, is_user_class, lookup
from pvm.codecache import compile_source
from pvm.code import CO_CLASS_BODY, CO_GENERATOR, CO_VARARGS, CO_VARKEYWORDS, Code
from pvm.flow import Flow, Loop, Untranslatable
from pvm.frames import decode
from pvm.heap import ATTRIBUTE_BYTES, INSTANCE_BYTES
from pvm.objects import Function, Module
from pvm.opcodes import BINARY_OPERATORS, OPCODES, Op
from pvm.translate_ops import NATIVE_METHODS, TRANSLATABLE, InstructionWriter, plain_attribute

# the generated function's set-up, each line only if the body holds a use of its name: a plain substring
# test (a regular expression took milliseconds per long body); a string constant that contains the
# name only costs the line
_SETUP = ((("TR",), "TR = heap.temp_roots"), (("mark",), "mark = len(TR)"), (("B.get(", "G, B)"), "B = vm.builtins"),
          (("chk",), "chk = vm.host_call_check"),
          # a sandbox sets a checkpoint hook with its host-call check (pvm.sandbox.install)
          (("lim",), "lim = heap.limit is not None or vm.checkpoint_hook is not None"))
MAX_INLINED = 40           # the longest function inlined at a call (pvm.translate._Writer._inlined_calls)
MAX_INLINE_NESTING = 2     # functions inlined in an inlined function, no deeper
# what an inlined function may not do: loop, make closures, generators or classes, import, unpack a call's arguments
_NOT_INLINED = frozenset({Op.CALL_FUNCTION_EX, Op.JUMP_BACKWARD, Op.MAKE_FUNCTION, Op.YIELD_VALUE, Op.SEND,
                          Op.LOAD_DEREF, Op.STORE_DEREF, Op.DELETE_DEREF, Op.LOAD_CLOSURE, Op.BUILD_CLASS,
                          Op.IMPORT_NAME, Op.IMPORT_FROM, Op.IMPORT_STAR})
MAX_NESTING = 60          # blocks nest in branches no deeper (the host's parser takes 100 indents)
# what ends a block with _Writer._branch (a test, then the target or the next instruction)
_BRANCHES = frozenset({Op.POP_JUMP_IF_FALSE, Op.POP_JUMP_IF_TRUE, Op.JUMP_IF_FALSE_OR_POP, Op.JUMP_IF_TRUE_OR_POP,
                       Op.FOR_ITER})
MAX_INSTRUCTIONS = 4000    # bigger code stays interpreted: the host's compile() cannot be interrupted by a limit


class Translation:
    """What the runtime needs to know about one generated function."""

    __slots__ = ("code", "pcs", "roots", "source", "function_code", "inner", "callees_known", "line_ranges",
                 "sites")

    def __init__(self, code: Code, pcs: tuple[int, ...], roots: tuple[str, ...], source: str, function_code: Any,
                 inner: tuple[tuple[tuple[Code, int], ...] | None, ...], callees_known: int) -> None:
        self.code = code
        self.pcs = pcs                # instruction index of each line of the generated source (1-based lines)
        self.roots = roots            # the generated function's locals that may hold VM values (C and ST: lists)
        self.source = source
        self.function_code = function_code    # the host code object it was compiled to
        self.inner = inner            # per line: the inlined activations, outermost first
        self.callees_known = callees_known    # len(code.callees) when it was translated
        # the host code's line table as (starts, ends, lines) of its ranges, made when first asked: a
        # traceback's tb_lineno scans the whole table, which for a long translation is the price of a catch
        self.line_ranges: list[list[int]] = []
        self.sites: dict[int, tuple[int, int, int | None, tuple[tuple[Code, int], ...]]] = {}   # site_at's answers

    def site_at(self, offset: int) -> tuple[int, int, int | None, tuple[tuple[Code, int], ...]]:
        """Where the host instruction at byte ``offset`` failed: its Python line, the instruction, that
        instruction's handler (None: none in this activation) and the inlined activations, innermost first."""
        site = self.sites.get(offset)
        if site is None:
            lineno = self.line_at_offset(offset)
            pc = self.pc_at(lineno)
            found = self.code.handler_at(pc)
            site = self.sites[offset] = (lineno, pc, None if found is None else found[0],
                                         tuple(reversed(self.inner_at(lineno))))
        return site

    def line_at_offset(self, offset: int) -> int:
        """The Python line of the host instruction at byte ``offset`` (a traceback's or frame's lasti)."""
        ranges = self.line_ranges
        if not ranges:
            ranges.extend(map(list, zip(*self.function_code.co_lines())))
        starts, ends, lines = ranges
        pos = bisect.bisect_right(starts, offset) - 1
        return (lines[pos] or 0) if pos >= 0 and offset < ends[pos] else 0

    def pc_at(self, lineno: int) -> int:
        """The instruction that generated Python line ``lineno`` (the CALL, in an inlined function)."""
        return self.pcs[lineno] if 0 < lineno < len(self.pcs) else 0

    def inner_at(self, lineno: int) -> tuple[tuple[Code, int], ...]:
        """The activations of inlined functions (code, instruction; outermost first) Python line ``lineno`` runs in."""
        return (self.inner[lineno] or ()) if 0 < lineno < len(self.inner) else ()

    def line_of(self, lineno: int) -> int:
        """The script line of the instruction that generated Python line ``lineno``."""
        return self.code.line_at(self.pc_at(lineno))


def translate(code: Code, namespace: dict[str, Any], globals_: dict[str, Any]) -> tuple[Any, Translation]:
    """The Python function for ``code`` and its description; raises
    Untranslatable with the reason. ``namespace`` holds the runtime helpers the
    source refers to (pvm.translated); ``globals_`` is the module namespace the
    code runs in (what it binds now only chooses the faster form of a read)."""
    if code.flags & CO_CLASS_BODY:
        raise Untranslatable("class bodies run in the interpreter")
    if len(code.ops) > MAX_INSTRUCTIONS:
        raise Untranslatable(f"longer than {MAX_INSTRUCTIONS} instructions")
    writer = _Writer(code, globals_)
    source = writer.source()
    consts = dict(namespace, K=code.consts, CODE=code, **writer.names)
    consts.update((name, make()) for name, make in writer.caches)
    try:
        compiled = compile_source(source, f"<pvm {code.qualname}>")
    except (SyntaxError, RecursionError, MemoryError) as error:   # nesting past the host's limits
        raise Untranslatable(f"the host cannot compile it ({type(error).__name__})") from None
    exec(compiled, consts)
    function = consts["translated"]
    translation = consts["INFO"] = Translation(code, tuple(writer.pcs), tuple(writer.roots()), source,
                                               function.__code__, tuple(writer.inner), len(code.callees))
    return function, translation


class _Writer(InstructionWriter):
    """The source of one translated function; with ``parent``, the body of a
    function inlined at the parent's CALL ``site`` (its names start with
    ``prefix``, its stack slots from the callee's, ``offset``)."""

    def __init__(self, code: Code, globals_: dict[str, Any], parent: "_Writer | None" = None, site: int = 0,
                 offset: int = 0) -> None:
        self.code = code
        self.globals = globals_
        self.instrs = code.decoded if code.decoded is not None else decode(code)
        self.raw = code.args
        for op, _ in self.instrs:
            if op not in TRANSLATABLE:
                raise Untranslatable(f"{OPCODES[op].name} runs in the interpreter")
        flow = self.flow = code.flow or Flow(code, self.instrs)     # the same at every site it is inlined at
        code.flow = flow
        self.leaders, self.loops, self.assigned = flow.leaders, flow.loops, flow.assigned
        self.depths = [None if depth is None else depth + offset for depth in flow.depths]
        # slot names: an instruction at the deepest point may push one more
        self.max_depth = max((d for d in self.depths if d is not None), default=0) + 2
        # a global class's or module's attribute called is a plain call: nothing to bind, and the call
        # site's fast path and inlining then apply to a static method or a module's function
        self.methods = {load: call for load, call in flow.method_calls(plain_attribute).items()
                        if not (type(self.global_read(load)) is Module or self.global_class(load))}
        self.receivers = set(self.methods.values())     # CALLs whose callee slot has a receiver slot
        self.method_loads = {call: load for load, call in self.methods.items()}
        # the CALLs of a method NATIVE_METHODS has (by its LOAD_ATTR's name and the CALL's count)
        named = {call: (self.instrs[load][1], self.instrs[call][1]) for load, call in self.methods.items()
                 if self.instrs[call][0] == Op.CALL}
        self.native = {call: NATIVE_METHODS[key] for call, key in named.items() if key in NATIVE_METHODS}
        self.owners = self._owned_attributes()
        self.nested = self._nested_blocks()
        self.int_results = flow.int_results()
        self.emitted: set[int] = set()     # nested blocks already written where their branch is
        self.pending: dict[str, str] = {}  # slots whose value is a local or constant no one assigned them yet
        self.forwarded: set[int] = set()   # STORE_FASTs whose value the instruction before stored itself
        self.for_statements: set[int] = set()   # the headers of loops written as the host's ``for``
        self.pc = 0
        self.parent, self.site, self.offset = parent, site, offset
        self.constructs = False        # inlined: a class's __init__, for the instance it makes
        if parent is None:
            self.prefix = ""
            self.nesting = 0
            self.lines: list[str] = []
            self.pcs: list[int] = [0]          # line numbers are 1-based
            # per line, the activations of inlined functions it runs in, outermost first: (code, instruction)
            self.inner: list[tuple[tuple[Code, int], ...] | None] = [None]
            # the inline caches: (name, what makes it) of module globals of the source (mutated, never rebound)
            self.caches: list[tuple[str, Any]] = []
            # what the source names besides the helpers: {prefix}CODE, {prefix}K, {prefix}F of inlined functions
            self.names: dict[str, Any] = {}
            self.generator = bool(code.flags & CO_GENERATOR)
            self.depth_levels: set[int] = set()    # the activations (by nesting) whose depth the source reads
        else:
            self.prefix = f"{parent.prefix}i{site}_"
            self.nesting = parent.nesting + 1
            # the inlined activations its lines run in, outermost first, and the instruction of the outermost
            if parent.parent is None:
                self.callers, self.root_site = (), site
            else:
                self.callers, self.root_site = parent.callers + ((parent.code, site),), parent.root_site
            self.lines, self.pcs, self.inner = parent.lines, parent.pcs, parent.inner
            self.caches, self.names = parent.caches, parent.names
            self.generator, self.depth_levels = parent.generator, parent.depth_levels
        self.root = parent.root if parent else self
        self.inlined = self._inlined_calls() if self.nesting < MAX_INLINE_NESTING else {}
        # Without limits or a checkpoint hook (``lim``), nothing reads the step count while the activation runs:
        # its back-edges, calls and inlined bodies (which run only then) count their steps in a local, N, added
        # to the countdown when it ends (a return, or an exception on its way out or to a handler), so the count
        # is exact once it has. Not in a generator, whose activation may never end.
        if parent is None:
            self.local_steps = not self.generator and (bool(self.inlined) or any(
                op in (Op.CALL, Op.JUMP_BACKWARD) for op, _ in self.instrs))

    def _nested_blocks(self) -> set[int]:
        """Blocks whose one way in is a conditional branch: its fall-through,
        or its jump forward within the same loop. The source has them in that
        branch's ``if``/``else:``, with no ``pc`` to set and test (not handlers
        or loop headers, which other ways reach)."""
        preds: Counter[int] = Counter()
        for index, depth in enumerate(self.flow.depths):
            if depth is not None:
                preds.update(target for target, _ in self.flow.successors(index))
        others = {handler for _, _, handler, _ in self.code.exception_table} \
            | {loop.start for loop in self._all_loops(self.loops)}
        innermost: dict[int, Loop] = {}
        for loop in self._all_loops(self.loops):       # outer loops first: inner ones overwrite them
            innermost.update(dict.fromkeys(range(loop.start, loop.end + 1), loop))
        nested = set()
        for index, (op, target) in enumerate(self.instrs):
            if op not in _BRANCHES or self.depths[index] is None:
                continue
            if preds[index + 1] == 1 and index + 1 not in others:
                nested.add(index + 1)
            if target > index + 1 and preds[target] == 1 and target not in others \
                    and innermost.get(target) is innermost.get(index):
                nested.add(target)
        return nested

    def global_read(self, index: int) -> Any:
        """What the global whose attribute LOAD_ATTR ``index`` reads is bound to now (None: not a global's)."""
        op, name = self.instrs[index - 1]
        return self.globals.get(name) if op == Op.LOAD_GLOBAL and index not in self.leaders else None

    def global_class(self, index: int) -> bool:
        """Whether LOAD_ATTR ``index`` reads an attribute of a global bound now to a user class."""
        value = self.global_read(index)
        return type(value) is type and NS in value.__dict__

    def _owned_attributes(self) -> dict[int, int]:
        """The attribute loads and stores (by instruction) on a parameter the
        code never rebinds (``self.x``), for parameters that have two or more:
        each activation reads such a parameter's class (``t<n>``) and instance
        dict (``d<n>``) once, and those sites read and write the dict itself."""
        code = self.code
        rebound = {arg for op, arg in self.instrs if op in (Op.STORE_FAST, Op.DELETE_FAST)}
        sites = {index: local for index, local in self.flow.local_operands().items()
                 if local < code.argcount + code.kwonlyargcount and local not in rebound
                 and plain_attribute(self.instrs[index][1])}
        counts = Counter(sites.values())
        return {index: local for index, local in sites.items() if counts[local] >= 2}

    def _inlined_calls(self) -> dict[int, "_Writer"]:
        """The instructions whose last callee (``code.callees``) is inlined: at
        a CALL, a small function with no loops, handlers or cells, called
        with exactly its positional parameters (a plain function only if the
        JIT is off or gave up on it), or a user class whose instances
        object.__new__ makes and whose __init__ is such a function; at a
        LOAD_ATTR, such a getter of a property; at a binary operator, such a
        special method of the left operand's class. Its body runs in this
        function, behind a test that the callee is still that function (for a
        class: that no class namespace changed since, which empties
        ``{prefix}KS``)."""
        found = {}
        for index, callee in self.code.callees.items():
            op, arg = self.instrs[index]
            if self.depths[index] is None or index in self.methods:
                continue
            if op == Op.LOAD_ATTR:          # callee: the class whose property it read
                if not is_user_class(callee):     # a class's own attribute read: the callee is its metaclass
                    continue
                getter = lookup(callee, arg)
                if type(getter) is not Property or not plain_attribute(arg):
                    continue
                callee = func = getter.fget
                count, base = 1, self.depths[index] - 1
            elif op == Op.BINARY_OP and not BINARY_OPERATORS[self.raw[index]][0].endswith("="):
                # callee: the class of a left operand whose special method made the result
                func = lookup(callee, "__" + BINARY_OPERATORS[self.raw[index]][1].rstrip("_") + "__")
                count, base = 2, self.depths[index] - 2
            elif op == Op.CALL:
                count = arg + (index in self.receivers)
                func, base = callee, self.depths[index] - arg - 1
                if type(callee) is type:
                    func = lookup(callee, "__init__")
                    if callee.__new__ is not object.__new__:
                        continue
                    count += 1
            else:
                continue
            if type(func) is not Function:
                continue
            code = func.code
            # a plain function is the JIT's to compile while it has not given up on it; one that takes an
            # instance first (a method, __init__, a getter, an operator) the JIT never compiles
            jit_first = op == Op.CALL and index not in self.receivers and type(callee) is not type \
                and func.vm.jit is not None and code not in func.vm.jit.blocked_functions
            if (code.flags & (CO_GENERATOR | CO_VARARGS | CO_VARKEYWORDS) or code.kwonlyargcount
                    or code.argcount != count or code.cellvars or code.freevars or code.exception_table
                    or len(code.ops) > MAX_INLINED or func.closure or jit_first
                    or any(op in _NOT_INLINED for op in code.ops)):
                continue
            try:
                inner = _Writer(code, func.globals, self, index, base)
            except Untranslatable:
                continue
            found[index] = inner
            inner.constructs = op == Op.CALL and type(callee) is type
            self.names.update({f"{inner.prefix}F": callee, f"{inner.prefix}G": func.globals,
                               f"{inner.prefix}K": code.consts, f"{inner.prefix}CODE": code})
            if op == Op.BINARY_OP:          # the right operands it takes
                self.names[f"{inner.prefix}R"] = frozenset({callee, int, float})
            if type(callee) is type:        # the class, while its namespace (and its bases') stays
                self.names[f"{inner.prefix}KS"] = classes = {callee}
                FILLED_CACHES[id(classes)] = classes
            self.max_depth = max(self.max_depth, inner.max_depth)
        return found

    # --- Output ---

    def emit(self, indent: int, text: str) -> None:
        self.lines.append("    " * indent + text)
        if self.parent is None:
            self.pcs.append(self.pc)
            self.inner.append(None)
        else:                                     # an inlined function's line: where each caller is
            self.pcs.append(self.root_site)
            self.inner.append(self.callers + ((self.code, self.pc),))

    def roots(self) -> list[str]:
        """The locals that may hold VM values: the slots, and the locals of this code and of what is inlined in it."""
        return [f"s{i}" for i in range(self.max_depth)] + [f"o{i}" for i in range(self.max_depth)] + self._locals()

    def _locals(self) -> list[str]:
        return [f"{self.prefix}x{i}" for i in range(len(self.code.varnames))] \
            + [name for inner in self.inlined.values() for name in inner._locals()]

    def source(self) -> str:
        code = self.code
        nlocals = len(code.varnames)
        # the locals are parameters: a call passes its positional arguments (the rest start unbound), or all of them
        nargs = code.argcount
        params = [f"x{i}" for i in range(nargs)] + [f"x{i}=U" for i in range(nargs, nlocals)]
        self.emit(0, "def translated(" + ", ".join(["vm", "G", "C", "entry", *params]) + "):")
        self.emit(1, "heap = vm.heap")
        if code.cell_params:
            # entered by a call site's fast path with the closure: the cells its parameters need are made here
            held = ", ".join(f"x{i}" for i in range(max(code.cell_params) + 1))
            self.emit(1, f"if type(C) is tuple: C = own_cells(vm, CODE, C, [{held}])")
        prologue = len(self.lines)
        self._read_owners(1)
        self.emit(1, "pc = 0")
        if self.loops:          # on-stack replacement enters at a loop's header
            self.emit(1, "if entry is not None:")
            self.emit(2, "pc = entry.pc; ST = entry.stack; entry.stack = []; entry.pc = -1")
            for loop in self._all_loops(self.loops):
                depth = self.depths[loop.start]
                if depth:
                    self.emit(2, f"if pc == {loop.start}: " + "".join(f"s{i}, " for i in range(depth)) + "= ST")
        self.emit(1, "if heap.collect_due: heap.collect()")
        table = self.code.exception_table
        indent = 1
        if table:
            # a handled exception re-enters the chain at its handler, the exception on the stack
            self.emit(1, "while True:")
            indent = 2
        self.emit(indent, "try:")
        self._chain(None, self.loops, 0, len(self.instrs) - 1, indent + 1, not self.loops and not table)
        self.emit(indent + 1, "raise lost(pc)")
        if code.flags & CO_GENERATOR:
            self.emit(indent + 1, "yield")      # a host generator even when no yield is reachable
            self.emit(indent, "except GeneratorExit: raise")     # closed unfinished (the host dropped it)
        self.emit(indent, "except BaseException as e:")
        if self.counts_locally:
            self.emit(indent + 1, "if N: vm.countdown -= N; N = 0")
        if table:
            self.emit(indent + 1, "pc = caught(vm, e, INFO, e.__traceback__.tb_lasti, entry)")
            for handler in sorted({handler for _, _, handler, _ in table}):
                if self.depths[handler] is not None:
                    self.emit(indent + 1, f"if pc == {handler}: s{self.depths[handler] - 1} = e")
        else:
            self.emit(indent + 1, "raise unwound(vm, e, INFO, e.__traceback__.tb_lasti, entry)")
        body = "\n".join(self.lines[prologue:])
        setup = [text for uses, text in _SETUP if any(use in body for use in uses)]
        if self.counts_locally:
            setup.append("N = 0")
        if self.depth_levels:
            setup.append("D0 = vm.depth")
            setup.extend(f"D{level} = D0 + {level}" for level in range(1, max(self.depth_levels) + 1))
        if setup:                          # only what the body uses: every call pays for it
            self.lines.insert(prologue, "    " + "; ".join(setup))
            self.pcs.insert(prologue + 1, 0)
            self.inner.insert(prologue + 1, None)
        return "\n".join(self.lines) + "\n"

    def _read_owners(self, indent: int, known: dict[int, tuple[str, str | None]] | None = None) -> None:
        """The class and instance dict of each parameter whose attributes the code reads through them
        (``known``: by parameter, the class and maybe the dict the caller has at hand already)."""
        for local in sorted(set(self.owners.values())):
            name = f"{self.prefix}x{local}"
            kind, attrs = (known or {}).get(local, (f"type({name})", None))
            if attrs is not None:
                self.emit(indent, f"{self.prefix}t{local} = {kind}; {self.prefix}d{local} = {attrs}")
                continue
            self.emit(indent, f"{self.prefix}t{local} = {kind}")
            self.emit(indent, f"if {name} is None: {self.prefix}d{local} = None")     # (None often is: no exception)
            self.emit(indent, "else:")
            self.emit(indent + 1, f"try: {self.prefix}d{local} = {name}.__dict__")
            self.emit(indent + 1, f"except AttributeError: {self.prefix}d{local} = None")

    def _inline(self, values: list[str], indent: int,
                known: dict[int, tuple[str, str | None]] | None = None) -> None:
        """The inlined function's body at this writer's CALL: what a translated
        call does (a step, one more frame of depth) around the callee's
        instructions, its locals bound to the arguments and its result in the
        callee's slot; a return leaves the ``while True:`` around it. ``known``:
        what the call site knows of the arguments' classes and dicts (_read_owners)."""
        inner = self.inlined[self.pc]
        code = inner.code
        nargs = code.argcount
        base = inner.offset
        self.emit(indent, self.enter_depth())
        self.emit(indent, "try:")
        self.count_step(lambda text: self.emit(indent + 1, text), limited=False)
        for i in range(len(code.varnames)):
            self.emit(indent + 1, f"{inner.prefix}x{i} = {values[i] if i < nargs else 'U'}")
        inner._read_owners(indent + 1, known)
        self.emit(indent + 1, f"{inner.prefix}pc = 0")
        start = len(self.lines)
        self.emit(indent + 1, "while True:")
        inner._chain(None, [], 0, len(inner.instrs) - 1, indent + 2, True)
        if not any(f"{inner.prefix}pc" in line for line in self.lines[start:]):
            del self.lines[start - 1], self.pcs[start], self.inner[start]   # one block: nothing tests its pc
            inner.emit(indent + 2, "raise lost(0)")
        else:
            inner.emit(indent + 2, f"raise lost({inner.prefix}pc)")
        if inner.constructs:            # what construct does after __init__
            self.emit(indent + 1, f"if s{base} is not None: raise init_result(s{base})")
            # Heap.own of an instance, in place (a call less per instance made)
            attrs = f"{inner.prefix}d0" if 0 in inner.owners.values() else f"{inner.prefix}x0.__dict__"
            self.emit(indent + 1, f"s{base} = {inner.prefix}x0; heap.objects[id(s{base})] = s{base}")
            self.emit(indent + 1, f"heap.debt += {INSTANCE_BYTES} + {ATTRIBUTE_BYTES} * len({attrs})")
            self.emit(indent + 1, f"if heap.debt >= heap.threshold: heap._indebted(s{base})")
        self.emit(indent, f"finally: {self.leave_depth()}")

    @property
    def counts_locally(self) -> bool:
        return self.root.local_steps

    def count_step(self, out: Any, limited: bool = True) -> None:
        """A step (a call, a back-edge): in N where the activation counts locally, unless ``lim`` says that a
        checkpoint hook wants it now (``limited``: code that may run with lim set)."""
        exact = ["vm.countdown -= 1", "if vm.countdown <= 0: vm.checkpoint()"]
        if not self.counts_locally:
            lines = exact
        elif limited:
            lines = ["if lim:", *("    " + line for line in exact), "else: N += 1"]
        else:
            lines = ["N += 1"]
        for line in lines:
            out(line)

    def depth_at(self, nesting: int | None = None) -> str:
        """``vm.depth`` in this writer's activation (or at ``nesting``): outside a generator, a local the
        prologue sets once from the activation's own depth, so that a call or an inlined body sets the
        depth (a store) instead of adding to it and subtracting again (two reads, two sums)."""
        nesting = self.nesting if nesting is None else nesting
        if self.generator:          # resumed at any depth: its activation's depth is not known at entry
            return "vm.depth"
        self.depth_levels.add(nesting)
        return f"D{nesting}"

    def enter_depth(self) -> str:
        """The statement that makes ``vm.depth`` one more than this activation's, for a call or inlined body."""
        return "vm.depth += 1" if self.generator else f"vm.depth = {self.depth_at(self.nesting + 1)}"

    def leave_depth(self) -> str:
        """The statement that gives ``vm.depth`` back to this activation, after a call or inlined body."""
        return "vm.depth -= 1" if self.generator else f"vm.depth = {self.depth_at()}"

    def _all_loops(self, loops: list[Loop]) -> list[Loop]:
        return [item for loop in loops for item in (loop, *self._all_loops(loop.children))]

    def _chain(self, loop: Loop | None, children: list[Loop], start: int, end: int, indent: int,
               entered_at_start: bool = False) -> None:
        """The blocks of ``start..end`` (the body of ``loop``) in layout order. When the chain is
        ``entered_at_start`` only (no loop inside, no handler in it, no entry at a loop's header), its
        first block needs no test of ``pc``."""
        index = start
        inner = iter(children)
        child = next(inner, None)
        while index <= end:
            if child is not None and index == child.start:
                self.pc = index
                self.emit(indent, f"if {index} <= pc <= {child.end}:")
                handled = any(child.start <= handler <= child.end for _, _, handler, _ in self.code.exception_table)
                op, exhausted = self.instrs[index]
                if op == Op.FOR_ITER and not child.children and not handled:
                    self._for_statement(loop, child, exhausted, indent + 1)
                else:
                    self.emit(indent + 1, "while True:")
                    self._chain(child, child.children, child.start, child.end, indent + 2,
                                not child.children and not handled)
                    self.emit(indent + 2, "raise lost(pc)")
                self._after_loop(loop, child, indent + 1)
                index = child.end + 1
                child = next(inner, None)
                continue
            block_end = index
            while block_end + 1 <= end and block_end + 1 not in self.leaders:
                block_end += 1
            if self.depths[index] is not None and index not in self.emitted:
                self.pc = index
                guarded = not (entered_at_start and index == start)
                if guarded:
                    self.emit(indent, f"if {self.prefix}pc == {index}:")
                for at in range(index, block_end + 1):
                    self._instruction(at, loop, indent + guarded)
            index = block_end + 1

    def _for_statement(self, loop: Loop | None, child: Loop, exhausted: int, indent: int) -> None:
        """An innermost loop headed by FOR_ITER, with no handler in it, as the host's ``for``
        statement: the host's FOR_ITER instead of ``next(it, EXHAUSTED)`` and its test (an iterator
        that is not a host builtin's through pvm.translated.iterated). The header is
        its only entry (on-stack replacement enters there too); its back-edges ``continue`` the
        ``for``, its exits ``break`` it; exhaustion takes the ``else:``, outside the ``for``, so its
        jump is the enclosing loop's."""
        depth = self.depths[child.start]
        assert depth is not None and not self.pending
        it = f"s{depth - 1}"
        target = f"s{depth}"
        op, local = self.instrs[child.start + 1]
        # the loop variable itself, no slot between, when only the FOR_ITER leads to its store
        if op == Op.STORE_FAST and self._follows(child.start + 1, child.start + 2) and not any(
                to == child.start + 1 for index in range(len(self.instrs)) if index != child.start
                and self.depths[index] is not None for to, _ in self.flow.successors(index)):
            target = f"{self.prefix}x{local}"
            self.forwarded.add(child.start + 1)
        self.for_statements.add(child.start)
        self.emit(indent, f"for {target} in ({it} if type({it}) in HOST_ITERATORS "
                          f"else iterated(vm, {it}, {self.depth_at()})):")
        self._block_or_goto(child, child.start + 1, indent + 1)
        self._chain(child, [], child.start + 1, child.end, indent + 1)
        self.emit(indent + 1, "raise lost(pc)")
        self.pc = child.start
        self.emit(indent, "else:")
        self._block_or_goto(loop, exhausted, indent + 1)

    def _after_loop(self, loop: Loop | None, child: Loop, indent: int) -> None:
        exits = set()
        for index in range(child.start, child.end + 1):
            if self.depths[index] is None:
                continue
            for target, _ in self.flow.successors(index):
                if not child.start <= target <= child.end:
                    exits.add(target)
        for target in sorted(exits):
            if loop is not None and target == loop.start:
                self.emit(indent, f"if pc == {target}: continue")
            elif loop is not None and not loop.start <= target <= loop.end:
                self.emit(indent, f"if pc == {target}: break")

    def _goto(self, loop: Loop | None, target: int, indent: int) -> None:
        # a block that only jumps forward (no cycle) to a block in the same loops (dispatched at the same level)
        while self.instrs[target][0] == Op.JUMP_FORWARD and target in self.leaders \
                and self.instrs[target][1] > target \
                and self.flow.enclosing(self.instrs[target][1]) == self.flow.enclosing(target):
            target = self.instrs[target][1]
        again = self._return_block(target)
        if again is None and loop is not None and target in self.leaders \
                and (target == loop.end or target + 1 in self.leaders) \
                and self.instrs[target] == (Op.JUMP_BACKWARD, loop.start):
            again = range(target, target + 1)       # a back-edge of the loop, alone in its block
        if again is not None:   # written here again: no pc to set and test
            pc = self.pc
            for at in again:
                self._instruction(at, loop, indent)
            self.pc = pc
            return
        if loop is not None and target == loop.start and target in self.for_statements:
            self.emit(indent, "continue")           # the host's for fetches the next item: no pc to set
            return
        self.emit(indent, f"{self.prefix}pc = {target}")
        if loop is None:
            return
        if target == loop.start:
            self.emit(indent, "continue")
        elif not loop.start < target <= loop.end:
            self.emit(indent, "break")

    def _return_block(self, target: int) -> range | None:
        """The instructions of the block at ``target`` if all it does is return a local or a constant."""
        end = target
        while end + 1 < len(self.instrs) and end + 1 not in self.leaders:
            end += 1
        ops = [op for op, _ in self.instrs[target:end + 1]]
        if self.depths[target] is None or ops[-1] != Op.RETURN_VALUE or len(ops) > 2 \
                or not all(op in (Op.LOAD_FAST, Op.LOAD_CONST) for op in ops[:-1]):
            return None
        return range(target, end + 1)

    def _branch(self, loop: Loop | None, test: str, taken: int, fallthrough: int, indent: int) -> None:
        self.emit(indent, f"if {test}:")
        self._block_or_goto(loop, taken, indent + 1)
        self.emit(indent, "else:")
        self._block_or_goto(loop, fallthrough, indent + 1)

    def _block_or_goto(self, loop: Loop | None, target: int, indent: int) -> None:
        """A branch's way to ``target``: the block itself when only this branch reaches it."""
        if target in self.nested and target not in self.emitted and indent <= MAX_NESTING:
            self.emitted.add(target)
            end = target
            while end + 1 not in self.leaders:
                end += 1
            for at in range(target, end + 1):
                self._instruction(at, loop, indent)
        else:
            self._goto(loop, target, indent)

    # --- Instructions ---
