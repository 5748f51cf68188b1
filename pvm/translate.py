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
handler is where ``pc`` goes. A generator's body is a host generator. Class
bodies, imports, ``class`` statements inside a function and loops that are
not nested ranges stay with the interpreter. docs/tier0.md has the whole design.

Roots. Every value in flight lives in a named local of the generated
function, so the collector finds them by walking the host's stack
(pvm.translated.translated_roots); no instruction needs to spill. Which
Python line failed says which instruction did (``Translation.pcs``), for
tracebacks and limit reports.
"""

from __future__ import annotations

import keyword
import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from pvm.classes import FILLED_CACHES, TRAMPOLINED, Property, lookup
from pvm.code import CO_CLASS_BODY, CO_GENERATOR, CO_VARARGS, CO_VARKEYWORDS, Code
from pvm.flow import JUMPS, TERMINATORS, Flow, Loop, Untranslatable
from pvm.frames import decode
from pvm.heap import SMALL_INT
from pvm.objects import Function
from pvm.opcodes import BINARY_OPERATORS, COMPARE_OPERATORS, OPCODES, Op, Operand

# Instructions whose handler (pvm.handlers) reads only the stack: run on a scratch copy of it
_GENERIC = frozenset({
    Op.DELETE_ATTR, Op.DELETE_SUBSCR, Op.BUILD_SET, Op.BUILD_MAP, Op.SET_ADD, Op.MAP_ADD,
    Op.LIST_EXTEND, Op.SET_UPDATE, Op.DICT_UPDATE, Op.UNPACK_EX, Op.FORMAT_VALUE,
    Op.DICT_MERGE, Op.PUSH_EXC_INFO, Op.POP_EXCEPT, Op.CHECK_EXC_MATCH, Op.RERAISE, Op.BEFORE_WITH,
    Op.WITH_EXCEPT_START,
})
_INLINE = frozenset({
    Op.POP_TOP, Op.COPY, Op.SWAP, Op.LOAD_CONST, Op.LOAD_FAST, Op.STORE_FAST, Op.DELETE_FAST, Op.LOAD_DEREF,
    Op.STORE_DEREF, Op.DELETE_DEREF, Op.LOAD_CLOSURE, Op.LOAD_GLOBAL, Op.STORE_GLOBAL, Op.DELETE_GLOBAL,
    Op.LOAD_ATTR, Op.STORE_ATTR, Op.BINARY_SUBSCR, Op.STORE_SUBSCR, Op.BINARY_OP, Op.UNARY_NEGATIVE,
    Op.UNARY_NOT, Op.COMPARE_OP, Op.IS_OP, Op.JUMP_FORWARD, Op.JUMP_BACKWARD, Op.POP_JUMP_IF_FALSE,
    Op.POP_JUMP_IF_TRUE, Op.JUMP_IF_FALSE_OR_POP, Op.JUMP_IF_TRUE_OR_POP, Op.FOR_ITER, Op.RETURN_VALUE,
    Op.RAISE_VARARGS, Op.LOAD_ASSERTION_ERROR, Op.CALL, Op.CALL_KW, Op.CALL_FUNCTION_EX, Op.MAKE_FUNCTION,
    Op.BUILD_TUPLE, Op.LIST_APPEND, Op.UNPACK_SEQUENCE, Op.YIELD_VALUE, Op.SEND, Op.UNARY_POSITIVE,
    Op.UNARY_INVERT, Op.CONTAINS_OP, Op.GET_ITER, Op.BUILD_LIST, Op.BUILD_SLICE, Op.BUILD_STRING,
    Op.LIST_TO_TUPLE,
})
TRANSLATABLE = _INLINE | _GENERIC
_SIMPLE_CONSTS = (int, float, str, bool, type(None))
# the generated function's set-up, each line only if its name is used
_SETUP = (("TR", "TR = heap.temp_roots"), ("mark", "mark = len(TR)"), ("B", "B = vm.builtins"),
          ("chk", "chk = vm.host_call_check"), ("lim", "lim = heap.limit is not None or vm.host_call_check is not None"))
_SETUP_NAMES = re.compile(r"\b(" + "|".join(name for name, _ in _SETUP) + r")\b")
# Builtin methods a called method's site calls itself when the receiver is of that
# exact type and no sandbox checks host calls: what Interpreter._call_host does
# for them (the growth charged, the result adopted), without the generic call path.
# (name, arguments) -> (host type, statements; ``o`` the receiver, ``a`` the arguments).
_NATIVE_METHODS = {
    ("append", 1): ("list", "{o}.append({a}); heap.charge(WORD_BYTES)"),
    ("pop", 0): ("list", "{out} = {o}.pop()"),
    ("add", 1): ("set", "n = len({o}); {o}.add({a})\nif len({o}) > n: heap.charge(WORD_BYTES)"),
    ("remove", 1): ("set", "{o}.remove({a})"),
    ("discard", 1): ("set", "{o}.discard({a})"),
    ("get", 1): ("dict", "{out} = {o}.get({a})"),
    ("get", 2): ("dict", "{out} = {o}.get({a})"),
}
MAX_INLINED = 40           # the longest function inlined at a call (pvm.translate._Writer._inlined_calls)
# what an inlined function may not do: loop, make closures or generators, unpack a call's arguments
_NOT_INLINED = frozenset({Op.CALL_FUNCTION_EX, Op.JUMP_BACKWARD, Op.MAKE_FUNCTION, Op.YIELD_VALUE, Op.SEND,
                          Op.LOAD_DEREF, Op.STORE_DEREF, Op.DELETE_DEREF, Op.LOAD_CLOSURE})
MAX_NESTING = 60          # blocks nest in branches no deeper (the host's parser takes 100 indents)
# what ends a block with _Writer._branch (a test, then the target or the next instruction)
_BRANCHES = frozenset({Op.POP_JUMP_IF_FALSE, Op.POP_JUMP_IF_TRUE, Op.JUMP_IF_FALSE_OR_POP, Op.JUMP_IF_TRUE_OR_POP,
                       Op.FOR_ITER})
MAX_INSTRUCTIONS = 4000    # bigger code stays interpreted: the host's compile() cannot be interrupted by a limit


def _plain_attribute(name: str) -> bool:
    """Whether translated code may name the attribute in its source (``obj.name``):
    an identifier (a .pvmc file could hold any string), no keyword, none of
    pvm's or the host's own (underscored) and none the host class has a
    trampoline for."""
    return name.isidentifier() and not keyword.iskeyword(name) and name[0] != "_" and name not in TRAMPOLINED


@dataclass(frozen=True)
class Translation:
    """What the runtime needs to know about one generated function."""

    code: Code
    pcs: tuple[int, ...]          # instruction index of each line of the generated source (1-based lines)
    roots: tuple[str, ...]        # the generated function's locals that may hold VM values (C and ST: lists of them)
    source: str
    function_code: Any            # the host code object it was compiled to
    inner: tuple[tuple[Code, int] | None, ...]   # per line: the inlined function's code and instruction, if any

    def pc_at(self, lineno: int) -> int:
        """The instruction that generated Python line ``lineno`` (the CALL, in an inlined function)."""
        return self.pcs[lineno] if 0 < lineno < len(self.pcs) else 0

    def inner_at(self, lineno: int) -> tuple[Code, int] | None:
        """The inlined function and its instruction that generated Python line ``lineno``, if one did."""
        return self.inner[lineno] if 0 < lineno < len(self.inner) else None

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
        compiled = compile(source, f"<pvm {code.qualname}>", "exec")
    except (SyntaxError, RecursionError, MemoryError) as error:   # nesting past the host's limits
        raise Untranslatable(f"the host cannot compile it ({type(error).__name__})") from None
    exec(compiled, consts)
    function = consts["translated"]
    translation = consts["INFO"] = Translation(code, tuple(writer.pcs), tuple(writer.roots()), source,
                                               function.__code__, tuple(writer.inner))
    return function, translation


class _Writer:
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
        flow = self.flow = Flow(code, self.instrs)
        self.leaders, self.loops, self.assigned = flow.leaders, flow.loops, flow.assigned
        self.depths = [None if depth is None else depth + offset for depth in flow.depths]
        # slot names: an instruction at the deepest point may push one more
        self.max_depth = max((d for d in self.depths if d is not None), default=0) + 2
        self.methods = flow.method_calls(_plain_attribute)
        self.receivers = set(self.methods.values())     # CALLs whose callee slot has a receiver slot
        # the CALLs of a method _NATIVE_METHODS has (by its LOAD_ATTR's name and the CALL's count)
        self.native = {call: _NATIVE_METHODS[self.instrs[load][1], self.instrs[call][1]]
                       for load, call in self.methods.items()
                       if self.instrs[call][0] == Op.CALL and (self.instrs[load][1], self.instrs[call][1]) in _NATIVE_METHODS}
        self.owners = self._owned_attributes()
        self.nested = self._nested_blocks()
        self.emitted: set[int] = set()     # nested blocks already written where their branch is
        self.pc = 0
        self.parent, self.site, self.offset = parent, site, offset
        self.constructs = False        # inlined: a class's __init__, for the instance it makes
        if parent is None:
            self.prefix = ""
            self.lines: list[str] = []
            self.pcs: list[int] = [0]          # line numbers are 1-based
            # the inlined function and instruction of each line, where it comes from one (else None)
            self.inner: list[tuple[Code, int] | None] = [None]
            # the inline caches: (name, what makes it) of module globals of the source (mutated, never rebound)
            self.caches: list[tuple[str, Any]] = []
            # what the source names besides the helpers: {prefix}CODE, {prefix}K, {prefix}F of inlined functions
            self.names: dict[str, Any] = {}
            self.inlined = self._inlined_calls()
        else:
            self.prefix = f"i{site}_"
            self.lines, self.pcs, self.inner = parent.lines, parent.pcs, parent.inner
            self.caches, self.names, self.inlined = parent.caches, parent.names, {}

    def _nested_blocks(self) -> set[int]:
        """Blocks whose one way in is a conditional branch's fall-through: the
        source has them in that branch's ``else:``, with no ``pc`` to set and
        test (not handlers or loop headers, which other ways reach)."""
        preds: Counter[int] = Counter()
        for index, depth in enumerate(self.flow.depths):
            if depth is not None:
                preds.update(target for target, _ in self.flow.successors(index))
        others = {handler for _, _, handler, _ in self.code.exception_table} \
            | {loop.start for loop in self._all_loops(self.loops)}
        return {index + 1 for index, (op, _) in enumerate(self.instrs)
                if op in _BRANCHES and self.depths[index] is not None and preds[index + 1] == 1
                and index + 1 not in others}

    def _owned_attributes(self) -> dict[int, int]:
        """The attribute loads and stores (by instruction) on a parameter the
        code never rebinds (``self.x``), for parameters that have two or more:
        each activation reads such a parameter's class (``t<n>``) and instance
        dict (``d<n>``) once, and those sites read and write the dict itself."""
        code = self.code
        rebound = {arg for op, arg in self.instrs if op in (Op.STORE_FAST, Op.DELETE_FAST)}
        sites = {index: local for index, local in self.flow.local_operands().items()
                 if local < code.argcount + code.kwonlyargcount and local not in rebound
                 and _plain_attribute(self.instrs[index][1])}
        counts = Counter(sites.values())
        return {index: local for index, local in sites.items() if counts[local] >= 2}

    def _inlined_calls(self) -> dict[int, "_Writer"]:
        """The CALLs whose last callee (``code.callees``) is inlined: a small
        function with no loops, handlers or cells, called with exactly
        its positional parameters, that the JIT is not waiting for; or a user
        class whose instances object.__new__ makes and whose __init__ is such
        a function. Its body runs in this function, behind a test that the
        callee is still that function (for a class: that no class namespace
        changed since, which empties ``{prefix}KS``)."""
        found = {}
        for index, callee in self.code.callees.items():
            op, arg = self.instrs[index]
            if self.depths[index] is None or index in self.methods:
                continue
            if op == Op.LOAD_ATTR:          # callee: the class whose property it read
                getter = lookup(callee, arg)
                if type(getter) is not Property or not _plain_attribute(arg):
                    continue
                callee = func = getter.fget
                count, base = 1, self.depths[index] - 1
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
            if (code.flags & (CO_GENERATOR | CO_VARARGS | CO_VARKEYWORDS) or code.kwonlyargcount
                    or code.argcount != count or code.cellvars or code.freevars or code.exception_table
                    or len(code.ops) > MAX_INLINED or func.closure
                    or func.vm.jit is not None and code not in func.vm.jit.blocked_functions
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
        else:
            self.pcs.append(self.site)
            self.inner.append((self.code, self.pc))

    def roots(self) -> list[str]:
        own = [f"x{i}" for i in range(len(self.code.varnames))] + [f"s{i}" for i in range(self.max_depth)] \
            + [f"o{i}" for i in range(self.max_depth)]
        return own + [f"{inner.prefix}x{i}" for inner in self.inlined.values() for i in range(len(inner.code.varnames))]

    def source(self) -> str:
        code = self.code
        nlocals = len(code.varnames)
        # the locals are parameters: a call passes its positional arguments (the rest start unbound), or all of them
        nargs = code.argcount
        params = [f"x{i}" for i in range(nargs)] + [f"x{i}=U" for i in range(nargs, nlocals)]
        self.emit(0, "def translated(" + ", ".join(["vm", "G", "C", "entry", *params]) + "):")
        self.emit(1, "heap = vm.heap")
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
        self._chain(None, self.loops, 0, len(self.instrs) - 1, indent + 1)
        self.emit(indent + 1, "raise lost(pc)")
        if code.flags & CO_GENERATOR:
            self.emit(indent + 1, "yield")      # a host generator even when no yield is reachable
            self.emit(indent, "except GeneratorExit: raise")     # closed unfinished (the host dropped it)
        self.emit(indent, "except BaseException as e:")
        if table:
            self.emit(indent + 1, "pc = caught(vm, e, INFO, e.__traceback__.tb_lineno, entry)")
            for handler in sorted({handler for _, _, handler, _ in table}):
                if self.depths[handler] is not None:
                    self.emit(indent + 1, f"if pc == {handler}: s{self.depths[handler] - 1} = e")
        else:
            self.emit(indent + 1, "raise unwound(vm, e, INFO, e.__traceback__.tb_lineno, entry)")
        body = "\n".join(self.lines[prologue:])
        used = set(re.findall(_SETUP_NAMES, body))
        setup = [text for name, text in _SETUP if name in used]
        if setup:                          # only what the body uses: every call pays for it
            self.lines.insert(prologue, "    " + "; ".join(setup))
            self.pcs.insert(prologue + 1, 0)
            self.inner.insert(prologue + 1, None)
        return "\n".join(self.lines) + "\n"

    def _read_owners(self, indent: int) -> None:
        """The class and instance dict of each parameter whose attributes the code reads through them."""
        for local in sorted(set(self.owners.values())):
            name = f"{self.prefix}x{local}"
            self.emit(indent, f"{self.prefix}t{local} = type({name})")
            self.emit(indent, f"try: {self.prefix}d{local} = {name}.__dict__")
            self.emit(indent, f"except AttributeError: {self.prefix}d{local} = None")

    def _inline(self, values: list[str], indent: int) -> None:
        """The inlined function's body at this writer's CALL: what a translated
        call does (a step, one more frame of depth) around the callee's
        instructions, its locals bound to the arguments and its result in the
        callee's slot; a return leaves the ``while True:`` around it."""
        inner = self.inlined[self.pc]
        code = inner.code
        nargs = code.argcount
        base = inner.offset
        self.emit(indent, "vm.depth += 1")
        self.emit(indent, "try:")
        self.emit(indent + 1, "vm.countdown -= 1")
        self.emit(indent + 1, "if vm.countdown <= 0: vm.checkpoint()")
        for i in range(len(code.varnames)):
            self.emit(indent + 1, f"{inner.prefix}x{i} = {values[i] if i < nargs else 'U'}")
        inner._read_owners(indent + 1)
        self.emit(indent + 1, f"{inner.prefix}pc = 0")
        self.emit(indent + 1, "while True:")
        inner._chain(None, [], 0, len(inner.instrs) - 1, indent + 2)
        inner.emit(indent + 2, f"raise lost({inner.prefix}pc)")
        if inner.constructs:            # what construct does after __init__
            self.emit(indent + 1, f"if s{base} is not None: raise init_result(s{base})")
            self.emit(indent + 1, f"s{base} = heap.own({inner.prefix}x0)")
        self.emit(indent, "finally: vm.depth -= 1")

    def _all_loops(self, loops: list[Loop]) -> list[Loop]:
        return [item for loop in loops for item in (loop, *self._all_loops(loop.children))]

    def _chain(self, loop: Loop | None, children: list[Loop], start: int, end: int, indent: int) -> None:
        """The blocks of ``start..end`` (the body of ``loop``) in layout order."""
        index = start
        inner = iter(children)
        child = next(inner, None)
        while index <= end:
            if child is not None and index == child.start:
                self.pc = index
                self.emit(indent, f"if {index} <= pc <= {child.end}:")
                self.emit(indent + 1, "while True:")
                self._chain(child, child.children, child.start, child.end, indent + 2)
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
                self.emit(indent, f"if {self.prefix}pc == {index}:")
                for at in range(index, block_end + 1):
                    self._instruction(at, loop, indent + 1)
            index = block_end + 1

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
        self.emit(indent, f"{self.prefix}pc = {target}")
        if loop is None:
            return
        if target == loop.start:
            self.emit(indent, "continue")
        elif not loop.start < target <= loop.end:
            self.emit(indent, "break")

    def _branch(self, loop: Loop | None, test: str, taken: int, fallthrough: int, indent: int) -> None:
        self.emit(indent, f"if {test}:")
        self._goto(loop, taken, indent + 1)
        self.emit(indent, "else:")
        if fallthrough in self.nested and indent < MAX_NESTING:
            self.emitted.add(fallthrough)
            end = fallthrough
            while end + 1 not in self.leaders:
                end += 1
            for at in range(fallthrough, end + 1):
                self._instruction(at, loop, indent + 1)
        else:
            self._goto(loop, fallthrough, indent + 1)

    # --- Instructions ---

    def _instruction(self, index: int, loop: Loop | None, indent: int) -> None:
        self.pc = index
        op, arg = self.instrs[index]
        depth = self.depths[index]
        assert depth is not None
        top = f"s{depth - 1}"
        below = f"s{depth - 2}"
        new = f"s{depth}"
        out = lambda text: self.emit(indent, text)          # noqa: E731 - local shorthand
        name = OPCODES[op].name
        code = self.code
        if op == Op.POP_TOP:
            pass
        elif op == Op.COPY:
            out(f"{new} = s{depth - arg}")
        elif op == Op.SWAP:
            out(f"{top}, s{depth - arg} = s{depth - arg}, {top}")
        elif op == Op.LOAD_CONST:
            out(f"{new} = {self._const(arg, self.raw[index])}")
        elif op == Op.LOAD_FAST:
            out(f"{new} = {self.prefix}x{arg}")
            if not self.assigned[index] >> arg & 1:
                out(f"if {new} is U: raise unbound_local({code.varnames[arg]!r})")
        elif op == Op.STORE_FAST:
            out(f"{self.prefix}x{arg} = {top}")
        elif op == Op.DELETE_FAST:
            out(f"if {self.prefix}x{arg} is U: raise unbound_local({code.varnames[arg]!r})")
            out(f"{self.prefix}x{arg} = U")
        elif op == Op.LOAD_DEREF:
            out(f"{new} = C[{arg}].value")
            out(f"if {new} is U: raise unbound_deref(CODE, {arg})")
        elif op == Op.STORE_DEREF:
            out(f"C[{arg}].value = {top}")
        elif op == Op.DELETE_DEREF:
            out(f"if C[{arg}].value is U: raise unbound_deref(CODE, {arg})")
            out(f"C[{arg}].value = U")
        elif op == Op.LOAD_CLOSURE:
            out(f"{new} = C[{arg}]")
        elif op == Op.LOAD_GLOBAL:
            if arg in self.globals:     # bound now: a subscript (a builtin's name: get, no exception)
                out(f"try: {new} = {self.prefix}G[{arg!r}]")
                out(f"except KeyError: {new} = U")
            else:
                out(f"{new} = {self.prefix}G.get({arg!r}, U)")
            out(f"if {new} is U:")
            out(f"    {new} = B.get({arg!r}, U)")
            out(f"    if {new} is U: raise name_error({arg!r}, {self.prefix}CODE, {self.prefix}G, B)")
        elif op == Op.STORE_GLOBAL:
            out(f"{self.prefix}G[{arg!r}] = {top}")
        elif op == Op.DELETE_GLOBAL:
            out(f"if {arg!r} not in {self.prefix}G: raise name_error({arg!r}, {self.prefix}CODE, {self.prefix}G, B)")
            out(f"del {self.prefix}G[{arg!r}]")
        elif op == Op.LOAD_ATTR:
            native = self.native.get(self.methods.get(index))
            if native is not None:      # the receiver in its slot and NATIVE in the callee's: the CALL does it
                out(f"if type({top}) is {native[0]} and chk is None: o{top[1:]} = {top}; {top} = NATIVE")
                out("else:")
                self._load_attr(top, arg, lambda text: out("    " + text), True, self.owners.get(index))
            elif index in self.inlined:     # a property's getter inlined here, else the load below
                getters = self._cache("P", dict)     # by class, the getter each one's property calls
                out(f"if {getters}.get(type({top})) is {self.inlined[index].prefix}F and not lim "
                    "and vm.depth < vm.translate_depth:")
                self._inline([top], indent + 1)
                out("else:")
                self._load_attr(top, arg, lambda text: out("    " + text), False, self.owners.get(index), getters)
            else:
                self._load_attr(top, arg, out, index in self.methods, self.owners.get(index))
        elif op == Op.STORE_ATTR:
            if not _plain_attribute(arg):
                out(f"set_attribute({top}, {arg!r}, {below})")
            else:
                # inline cache: classes whose instances store plainly, while no class namespace changes
                kinds = self._cache("S", set)
                owner = self.owners.get(index)
                if owner is not None:
                    out(f"if {self.prefix}t{owner} in {kinds}: {self.prefix}d{owner}[{arg!r}] = {below}")
                else:
                    out(f"if type({top}) in {kinds}: {top}.{arg} = {below}")
                out(f"else: store_attribute({top}, {arg!r}, {below}, {kinds})")
        elif op == Op.BINARY_SUBSCR:
            out(f"if chk is not None and type({top}) is tuple: chk(hash, [{top}], None)")
            out(f"{below} = {below}[{top}]")
            self._adopt(below, out)
        elif op == Op.STORE_SUBSCR:
            value, container, key = f"s{depth - 3}", below, top
            out(f"if chk is not None and type({key}) is tuple: chk(hash, [{key}], None)")
            out(f"if type({container}) is dict:")
            out(f"    n = len({container}); {container}[{key}] = {value}; heap.grew({container}, n)")
            out(f"else: {container}[{key}] = {value}")
        elif op == Op.BINARY_OP:
            symbol = BINARY_OPERATORS[self.raw[index]][0]
            out(f"if lim: {below} = vm._binary(BINOPS[{self.raw[index]}], {below}, {top})")
            out("else:")
            if symbol.endswith("="):
                out(f"    {below} {symbol} {top}")
            else:
                out(f"    {below} = {below} {symbol} {top}")
            self._adopt(below, lambda text: out("    " + text))
        elif op == Op.UNARY_NEGATIVE:
            out(f"{top} = -{top}")
        elif op == Op.UNARY_NOT:
            out(f"{top} = not {top}")
        elif op == Op.UNARY_POSITIVE:
            out(f"{top} = +{top}")
        elif op == Op.UNARY_INVERT:
            out(f"{top} = ~{top}")
        elif op == Op.CONTAINS_OP:           # as pvm.handlers.op_CONTAINS_OP, the sandbox's charge first
            out(f"if chk is not None: chk(CONTAINS, [{top}, {below}], None)")
            out(f"{below} = {below} {'not in' if arg else 'in'} {top}")
        elif op == Op.GET_ITER:
            out(f"{top} = iter({top})")
        elif op in (Op.BUILD_LIST, Op.BUILD_SLICE, Op.BUILD_STRING):
            first = depth - arg
            items = "".join(f"s{i}, " for i in range(first, depth))
            made = {Op.BUILD_LIST: f"heap.new_list(({items}))", Op.BUILD_SLICE: f"slice({items})",
                    Op.BUILD_STRING: f'heap.adopt("".join(({items})))'}[op]
            out(f"s{first} = {made}")
        elif op == Op.LIST_TO_TUPLE:
            out(f"{top} = heap.adopt(tuple({top}))")
        elif op == Op.COMPARE_OP:
            symbol = COMPARE_OPERATORS[self.raw[index]][0]
            if not (self.instrs[index - 1][0] == Op.LOAD_CONST and index not in self.leaders
                    and type(self.instrs[index - 1][1]) in _SIMPLE_CONSTS):     # a constant is no container
                out(f"if chk is not None and type({top}) in CONTAINERS: "
                    f"chk(CMPOPS[{self.raw[index]}], [{below}, {top}], None)")
            out(f"{below} = {below} {symbol} {top}")
        elif op == Op.IS_OP:
            out(f"{below} = {below} {'is not' if arg else 'is'} {top}")
        elif op == Op.JUMP_FORWARD:
            self._goto(loop, arg, indent)
        elif op == Op.JUMP_BACKWARD:
            out("vm.countdown -= 1")
            out("if vm.countdown <= 0: vm.checkpoint()")
            out("if TR and len(TR) > mark: del TR[mark:]")
            out("if heap.collect_due: heap.collect()")
            self._goto(loop, arg, indent)
        elif op == Op.POP_JUMP_IF_FALSE:
            self._branch(loop, f"not {top}", arg, index + 1, indent)
        elif op == Op.POP_JUMP_IF_TRUE:
            self._branch(loop, top, arg, index + 1, indent)
        elif op == Op.JUMP_IF_FALSE_OR_POP:
            self._branch(loop, f"not {top}", arg, index + 1, indent)
        elif op == Op.JUMP_IF_TRUE_OR_POP:
            self._branch(loop, top, arg, index + 1, indent)
        elif op == Op.FOR_ITER:
            # what a lazy builtin's callbacks return (map, filter) stays a temporary root until the back-edge
            out(f"{new} = next({top}, EXHAUSTED)")
            self._branch(loop, f"{new} is EXHAUSTED", arg, index + 1, indent)
        elif op == Op.RETURN_VALUE:
            if self.parent is not None:     # inlined: the result in the callee's slot, out of its body
                if top != f"s{self.offset}":
                    out(f"s{self.offset} = {top}")
                out("break")
            else:
                # what this activation's host calls handed back is done with (the interpreter drops it at safe points)
                out("if TR and len(TR) > mark: del TR[mark:]")
                out(f"return {top}")
        elif op == Op.RAISE_VARARGS:
            items = ", ".join(f"s{i}" for i in range(depth - arg, depth))
            out(f"raise do_raise(vm, [{items}], {arg})")
        elif op == Op.YIELD_VALUE:
            # resumed by next() only: the yield's value is None; the resumer's temporary roots start here
            out(f"{top} = yield {top}")
            out("mark = len(TR)")
        elif op == Op.SEND:
            out(f"try: {new} = next({top})")
            out("except StopIteration as x:")
            out(f"    {top} = x.value")
            self._goto(loop, arg, indent + 1)
            out("else:")
            self._goto(loop, index + 1, indent + 1)
        elif op == Op.LOAD_ASSERTION_ERROR:
            out(f"{new} = AssertionError")
        elif op in (Op.CALL, Op.CALL_KW):
            base = depth - arg - 1 - (op == Op.CALL_KW)
            items = ", ".join(f"s{i}" for i in range(base + 1, base + 1 + arg))
            receiver = index in self.receivers     # the callee came from a fused LOAD_ATTR: maybe a receiver too
            args = f"[o{base}, {items}] if o{base} is not None else [{items}]" if receiver else f"[{items}]"
            if index in self.inlined:      # the function inlined here, else the call below
                test = f"o{base} is not None and " if receiver else ""
                prefix = self.inlined[index].prefix
                values = [f"o{base}"] if receiver else []
                if self.inlined[index].constructs:
                    test = f"{prefix}F in {prefix}KS and "
                    values = [f"object.__new__({prefix}F)"]
                out(f"if {test}s{base} is {prefix}F and not lim and vm.depth < vm.translate_depth:")
                self._inline(values + [f"s{base + 1 + i}" for i in range(arg)], indent + 1)
                out("else:")
                out = lambda text: self.emit(indent + 1, text)      # noqa: E731
            if op == Op.CALL_KW:
                out(f"s{base} = call_kw(vm, s{base}, {args}, {top})")
            elif index in self.native:
                out(f"if s{base} is NATIVE:")
                statements = self.native[index][1].format(o=f"o{base}", a=items, out=f"s{base}")
                for line in statements.split("\n"):
                    out("    " + line)
                if f"s{base} =" in statements:
                    self._adopt(f"s{base}", lambda text: out("    " + text))
                else:
                    out(f"    s{base} = None")
                out("else:")
                self._call(base, arg, items, receiver, args, lambda text: out("    " + text))
            else:
                self._call(base, arg, items, receiver, args, out)
        elif op == Op.CALL_FUNCTION_EX:
            base = depth - 2 - (arg & 1)
            items = ", ".join(f"s{i}" for i in range(base, depth))
            out(f"ST = [{items}]; n, ST, kw = call_ex_arguments(vm, ST, {arg})")
            out(f"s{base} = call(vm, s{base}, ST, kw)")
        elif op == Op.MAKE_FUNCTION:
            position = depth - 2
            closure = kwdefaults = None
            defaults = "()"
            if arg & 2:
                closure, position = f"s{position}", position - 1
            if arg & 4:
                kwdefaults, position = f"s{position}", position - 1
            if arg & 1:
                defaults, position = f"s{position}", position - 1
            out(f"s{position + 1} = heap.new_function({top}, G, {defaults}, {closure or '()'}, vm, {kwdefaults})")
        elif op == Op.BUILD_TUPLE:
            first = depth - arg
            items = "".join(f"s{i}, " for i in range(first, depth))
            out(f"s{first} = heap.adopt(({items}))")
        elif op == Op.LIST_APPEND:
            out(f"s{depth - 1 - arg}.append({top}); heap.charge(WORD_BYTES)")
        elif op == Op.UNPACK_SEQUENCE:
            out(f"check_unpackable({top})")
            targets = "".join(f"s{depth - 1 + arg - 1 - i}, " for i in range(arg))
            out(f"{targets or '()'} = unpack({top}, {arg})" if arg else f"unpack({top}, 0)")
        elif op in _GENERIC:
            after = depth + OPCODES[op].effect(self.raw[index])
            items = "".join(f"s{i}, " for i in range(depth))
            out(f"ST = [{items}]; HANDLERS[{int(op)}](vm, None, ST, {self._operand(op, arg)})")
            if after:
                out("".join(f"s{i}, " for i in range(after)) + "= ST")
        else:
            raise Untranslatable(f"{name} runs in the interpreter")
        if op not in JUMPS and op not in TERMINATORS and index + 1 in self.leaders:
            self._goto(loop, index + 1, indent)

    def _operand(self, op: int, arg: Any) -> str:
        kind = OPCODES[op].operand
        if kind in (Operand.COUNT, Operand.FLAG, Operand.NONE, Operand.NAME):
            return repr(arg)
        raise Untranslatable(f"operand kind {kind.name}")

    def _const(self, value: Any, index: int) -> str:
        if type(value) is int and not -2 ** 62 < value < 2 ** 62:
            return f"{self.prefix}K[{index}]"             # (the host's int-to-str limit)
        if type(value) in _SIMPLE_CONSTS and not (type(value) is float and not math.isfinite(value)):
            if type(value) is float and value == 0 and math.copysign(1, value) < 0:
                return f"{self.prefix}K[{index}]"
            return repr(value)
        return f"{self.prefix}K[{index}]"

    def _adopt(self, slot: str, out: Any) -> None:
        # ints first, the common case; the bounds are literals (a global would be negated every time)
        out(f"if type({slot}) is int:")
        out(f"    if not {-SMALL_INT} < {slot} < {SMALL_INT}: {slot} = heap.adopt({slot})")
        out(f"elif type({slot}) is not float: {slot} = heap.adopt({slot})")

    def _call(self, base: int, count: int, items: str, receiver: bool, args: str, out: Any) -> None:
        """CALL with an inline cache: the function called last, when it is
        translated, needs no binding and the JIT is off or has given up on it, is entered directly
        (what pvm.translated.call does on that path, without the call to it)."""
        site = self._cache("CS", lambda: [None, None, None, None])    # function, its translation, globals, closure
        arguments = f"o{base}, {items}" if receiver else items
        test = f"o{base} is not None and " if receiver else ""
        out(f"if {test}s{base} is {site}[0] and vm.depth < vm.translate_depth:")
        out("    vm.depth += 1")
        out("    try:")
        out("        vm.countdown -= 1")
        out("        if vm.countdown <= 0: vm.checkpoint()")
        out(f"        s{base} = {site}[1](vm, {site}[2], {site}[3], None, {arguments})")
        out("    finally: vm.depth -= 1")
        # a host function or builtin type, outside a sandbox: what Interpreter._call_host does (no
        # container of the function's grows; values callbacks return stay rooted to a safe point)
        out(f"elif chk is None and (type(s{base}) is HOST_FUNCTION and type(s{base}.__self__) not in GROWABLE "
            f"or type(s{base}) is type and s{base} in vm.callable_types):")
        out(f"    s{base} = s{base}({items})")
        self._adopt(f"s{base}", lambda text: out("    " + text))
        fits = f"{count + 1} if o{base} is not None else -1" if receiver else f"{count}"
        out(f"else: s{base} = call_at(vm, s{base}, {args}, {site}, {fits})")

    def _cache(self, prefix: str, make: Any) -> str:
        name = f"{prefix}{len(self.caches)}"
        self.caches.append((name, make))
        return name

    def _load_attr(self, slot: str, name: str, out: Any, method: bool, owner: int | None,
                   by_class: str | None = None) -> None:
        """LOAD_ATTR through inline caches (their misses and fills are
        pvm.translated.load_attribute and load_method): the classes whose
        instances had the attribute (the host's own attribute read then finds
        it, or fails and the class leaves the cache), the builtin types that
        allow it, and by class the function a called method's lookup found
        or the getter a property calls. Every cache but the builtin types'
        holds while no class namespace changes: a change empties them
        (pvm.classes.FILLED_CACHES), so the guards need no version check.
        A called method (``method``) goes in the slot and the instance in the
        receiver slot ``o<n>`` (None otherwise): no bound method is made."""
        receiver = "o" + slot[1:]
        if not _plain_attribute(name):
            out(f"{slot} = get_attribute({slot}, {name!r})" + (f"; {receiver} = None" if method else ""))
            return
        kinds, hosts = self._cache("A", set), self._cache("H", set)
        by_class = by_class or self._cache("M" if method else "P", dict)
        none = f"; {receiver} = None" if method else ""
        if owner is not None:
            # the parameter's class and dict, read at entry (a class in a cache has a dict)
            kind, attrs, obj = f"{self.prefix}t{owner}", f"{self.prefix}d{owner}", f"{self.prefix}x{owner}"
            if method:
                out(f"if {kind} in {by_class} and {name!r} not in {attrs}: {receiver} = {obj}; {slot} = {by_class}[{kind}]")
                out(f"elif {kind} in {hosts}: {slot} = {obj}.{name}" + none)
                out(f"else: {receiver}, {slot} = load_method({obj}, {name!r}, {kinds}, {hosts}, {by_class})")
                return
            out(f"if {kind} in {kinds}:")
            out(f"    try: {slot} = {attrs}[{name!r}]")
            out(f"    except KeyError: {slot} = U; {kinds}.discard({kind})")
            out(f"elif {kind} in {by_class}: f = {by_class}[{kind}]; {slot} = f.vm.call_from_host(f, ({obj},), {{}})")
            out(f"else: {slot} = U")
            out(f"if {slot} is U: {slot} = load_attribute({obj}, {name!r}, {kinds}, {hosts}, {by_class})")
            return
        if method:
            out(f"if type({slot}) in {by_class} and {name!r} not in {slot}.__dict__:")
            out(f"    {receiver} = {slot}; {slot} = {by_class}[type({slot})]")
            out(f"elif type({slot}) in {kinds}:")
        else:
            out(f"if type({slot}) in {kinds}:")
        out(f"    try: v = {slot}.{name}")
        out(f"    except AttributeError: v = U; {kinds}.discard(type({slot}))")
        out(f"    {slot} = get_attribute({slot}, {name!r}) if v is U else v" + none)
        out(f"elif type({slot}) in {hosts}: {slot} = {slot}.{name}" + none)
        if method:
            out(f"else: {receiver}, {slot} = load_method({slot}, {name!r}, {kinds}, {hosts}, {by_class})")
        else:
            out(f"elif type({slot}) in {by_class}:")
            out(f"    f = {by_class}[type({slot})]; {slot} = f.vm.call_from_host(f, ({slot},), {{}})")
            out(f"else: {slot} = load_attribute({slot}, {name!r}, {kinds}, {hosts}, {by_class})")
