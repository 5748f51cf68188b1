"""The source each instruction becomes in a translated function (pvm.translate).

An instruction is a few lines of Python over the named stack slots (``s<n>``),
locals (``x<n>``) and inline caches; everything semantic is pvm's (adoption by
the heap, steps, the sandbox's checks, the interpreter's handlers for cold
instructions). ``InstructionWriter`` is the half of the writer that knows the
instructions; pvm.translate._Writer is the other half (the function's shape,
control flow, inlining) and provides ``emit``, ``_goto``, ``_branch``,
``_inline`` and the analysis these methods read.
"""

from __future__ import annotations

import keyword
import math
from typing import Any

from pvm.classes import TRAMPOLINED
from pvm.flow import JUMPS, TERMINATORS, Loop, Untranslatable
from pvm.heap import HEADER_BYTES, SMALL_INT, WORD_BYTES
from pvm.objects import Module
from pvm.opcodes import BINARY_OPERATORS, COMPARE_OPERATORS, OPCODES, Op, Operand

# Instructions whose handler (pvm.handlers) reads only the stack: run on a scratch copy of it
_GENERIC = frozenset({
    Op.DELETE_ATTR, Op.DELETE_SUBSCR, Op.BUILD_SET, Op.BUILD_MAP, Op.SET_ADD, Op.MAP_ADD,
    Op.LIST_EXTEND, Op.SET_UPDATE, Op.DICT_UPDATE, Op.UNPACK_EX, Op.FORMAT_VALUE,
    Op.DICT_MERGE, Op.BEFORE_WITH, Op.WITH_EXCEPT_START,
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
    Op.LIST_TO_TUPLE, Op.PUSH_EXC_INFO, Op.POP_EXCEPT, Op.CHECK_EXC_MATCH, Op.RERAISE,
})
# the interpreter's handlers that read nothing of the frame but its globals: given a stand-in with only those
_WITH_GLOBALS = frozenset({Op.BUILD_CLASS, Op.IMPORT_NAME, Op.IMPORT_FROM, Op.IMPORT_STAR})
TRANSLATABLE = _INLINE | _GENERIC | _WITH_GLOBALS
# the instructions that read their operands where a local or constant pushed just before still is
# each reads two operands (STORE_SUBSCR: its container and key; the value stays in its slot)
_OPERATORS = frozenset({Op.BINARY_OP, Op.COMPARE_OP, Op.IS_OP, Op.CONTAINS_OP, Op.STORE_ATTR, Op.BINARY_SUBSCR,
                        Op.STORE_SUBSCR})
_READS_PENDING = _OPERATORS | {Op.STORE_FAST, Op.LOAD_ATTR, Op.RETURN_VALUE, Op.YIELD_VALUE}
# pushes that read no slot and run no script code (a cell's content, a module's or builtin's name):
# a local or constant pushed before one stays pending for the operator after it
_PURE_PUSHES = frozenset({Op.LOAD_DEREF, Op.LOAD_GLOBAL})
_SIMPLE_CONSTS = (int, float, str, bool, type(None))

# Builtin methods a called method's site calls itself when the receiver is of that
# exact type and no sandbox checks host calls: what Interpreter._call_host does
# for them (the growth charged, the result adopted), without the generic call path.
# (name, arguments) -> (host types, statements; ``o`` the receiver, ``a`` the arguments).
NATIVE_METHODS = {
    ("append", 1): (("list",), "{o}.append({a}); heap.charge(WORD_BYTES)"),
    ("pop", 0): (("list",), "{out} = {o}.pop()"),
    ("pop", 1): (("list", "dict"), "{out} = {o}.pop({a})"),
    ("pop", 2): (("dict",), "{out} = {o}.pop({a})"),
    ("add", 1): (("set",), "n = len({o}); {o}.add({a})\nif len({o}) > n: heap.charge(WORD_BYTES)"),
    ("remove", 1): (("set", "list"), "{o}.remove({a})"),
    ("discard", 1): (("set",), "{o}.discard({a})"),
    ("get", 1): (("dict",), "{out} = {o}.get({a})"),
    ("get", 2): (("dict",), "{out} = {o}.get({a})"),
}


def plain_attribute(name: str) -> bool:
    """Whether translated code may name the attribute in its source (``obj.name``):
    an identifier (a .pvmc file could hold any string), no keyword, none of
    pvm's or the host's own (underscored) and none the host class has a
    trampoline for."""
    return name.isidentifier() and not keyword.iskeyword(name) and name[0] != "_" and name not in TRAMPOLINED


class InstructionWriter:
    """What each instruction becomes (see the module docstring)."""

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
        if index in self.forwarded:     # the instruction before stored the value itself
            if index + 1 in self.leaders:
                self._goto(loop, index + 1, indent)
            return
        value = self._operand_value(index)
        if value is not None and self._consumed_at_once(index):
            self.pending[new] = value       # no slot: the instruction that takes it reads it directly
            return
        # what the instruction reads: a pending local or constant, else the slot itself (a pure push
        # reads nothing: what is pending below it stays so for the operator after it)
        right = self.pending.pop(top, top) if op not in _PURE_PUSHES else top
        left = self.pending.pop(below, below) if op in _OPERATORS else below
        assert not self.pending or op in _PURE_PUSHES, "an operand pushed in place that no instruction read"
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
            out(f"{self.prefix}x{arg} = {right}")
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
                out(f"except KeyError: {new} = builtin_named({arg!r}, {self.prefix}CODE, {self.prefix}G, B)")
            else:                       # a builtin's name, unless the module binds it since
                out(f"if {arg!r} in {self.prefix}G: {new} = {self.prefix}G[{arg!r}]")
                out("else:")
                out(f"    try: {new} = B[{arg!r}]")
                out(f"    except KeyError: raise name_error({arg!r}, {self.prefix}CODE, {self.prefix}G, B)")
        elif op == Op.STORE_GLOBAL:
            out(f"{self.prefix}G[{arg!r}] = {top}")
        elif op == Op.DELETE_GLOBAL:
            out(f"if {arg!r} not in {self.prefix}G: raise name_error({arg!r}, {self.prefix}CODE, {self.prefix}G, B)")
            out(f"del {self.prefix}G[{arg!r}]")
        elif op == Op.LOAD_ATTR:
            native = self.native.get(self.methods.get(index))
            if native is not None:      # the receiver in its slot and NATIVE in the callee's: the CALL does it
                kinds = native[0]
                test = f"is {kinds[0]}" if len(kinds) == 1 else f"in ({', '.join(kinds)})"
                out(f"if type({top}) {test} and chk is None: o{top[1:]} = {top}; {top} = NATIVE")
                out("else:")
                self._load_attr(top, arg, lambda text: out("    " + text), True, self.owners.get(index))
            elif index in self.inlined:     # a property's getter inlined here, else the load below
                getters = self._cache("P", dict)     # by class, the getter each one's property calls
                out(f"if {getters}.get(type({top})) is {self.inlined[index].prefix}F and not lim "
                    f"and {self.depth_at()} < vm.translate_depth:")
                self._inline([top], indent + 1)
                out("else:")
                self._load_attr(top, arg, lambda text: out("    " + text), False, self.owners.get(index), getters)
            elif type(self.global_read(index)) is Module and plain_attribute(arg):
                # a global module's attribute (math.sqrt): its namespace's entry, while it is a module
                out(f"if type({top}) is MODULE:")
                out(f"    try: {top} = {top}.dict[{arg!r}]")
                out(f"    except KeyError: {top} = get_attribute({top}, {arg!r})")
                out("else:")
                self._load_attr(top, arg, lambda text: out("    " + text), False, None)
            elif self.global_class(index) and plain_attribute(arg):
                # a global class's attribute: its own (a static method, a constant) is read once per class
                classes = self._cache("Q", dict)
                none = f"; o{top[1:]} = None" if index in self.methods else ""
                out(f"if type({top}) is type and {top} in {classes}: {top} = {classes}[{top}]{none}")
                out("else:")
                self._load_attr(top, arg, lambda text: out("    " + text), index in self.methods, None,
                                classes=classes)
            else:
                obj = right if right == top or right.startswith(f"{self.prefix}x") else f"({right})"   # (2).real
                self._load_attr(top, arg, out, index in self.methods, self.owners.get(index), obj=obj)
        elif op == Op.STORE_ATTR:
            if not plain_attribute(arg):
                out(f"set_attribute({right}, {arg!r}, {left})")
            else:
                # inline cache: classes whose instances store plainly, while no class namespace changes
                kinds = self._cache("S", set)
                owner = self.owners.get(index)
                if owner is not None:
                    out(f"if {self.prefix}t{owner} in {kinds}: {self.prefix}d{owner}[{arg!r}] = {left}")
                else:
                    out(f"if type({right}) in {kinds}: {right}.{arg} = {left}")
                out(f"else: store_attribute({right}, {arg!r}, {left}, {kinds})")
        elif op == Op.BINARY_SUBSCR:
            # an item of a list or a dict is the container's already: nothing new to own
            literal = self._int_key(index, right)
            out(f"if type({left}) is list{'' if literal else f' and type({right}) is int'}: {below} = {left}[{right}]")
            out(f"elif type({left}) is dict{'' if literal else f' and type({right}) is not tuple'}: "
                f"{below} = {left}[{right}]")
            out("else:")
            if not literal:
                out(f"    if chk is not None and type({right}) is tuple: chk(hash, [{right}], None)")
            out(f"    {below} = {left}[{right}]")
            self._adopt(below, lambda text: out("    " + text))
        elif op == Op.STORE_SUBSCR:
            value, container, key = f"s{depth - 3}", left, right
            if not self._int_key(index, key):
                out(f"if chk is not None and type({key}) is tuple: chk(hash, [{key}], None)")
            out(f"if type({container}) is dict:")
            out(f"    n = len({container}); {container}[{key}] = {value}; heap.grew({container}, n)")
            out(f"else: {container}[{key}] = {value}")
        elif op == Op.BINARY_OP:
            symbol = BINARY_OPERATORS[self.raw[index]][0]
            result = below
            if index not in self.inlined and self._stored_next(index):
                # stored at once (x += 1, y = a * b): the local takes the result, no slot between
                result = f"{self.prefix}x{self.instrs[index + 1][1]}"
                self.forwarded.add(index + 1)
            out(f"if lim: {result} = vm._binary(BINOPS[{self.raw[index]}], {left}, {right})")
            if index in self.inlined:       # the left operand's special method, inlined (same type or a number right)
                prefix = self.inlined[index].prefix
                out(f"elif ({prefix}k := type({below})) in {prefix}KS and ({prefix}r := type({top})) in {prefix}R "
                    f"and {self.depth_at()} < vm.translate_depth:")
                # the left operand is an instance of the class (a dict), the right one too or a number
                self._inline([below, top], indent + 1,
                             {0: (f"{prefix}k", f"{below}.__dict__"),
                              1: (f"{prefix}r", f"({top}.__dict__ if {prefix}r is {prefix}k else None)")})
                out(f"    if {below} is NotImplemented: raise binop_error({symbol!r}, {prefix}F, {prefix}r)")
            out("else:")
            if symbol.endswith("="):
                if left != result:
                    out(f"    {result} = {left}")
                out(f"    {result} {symbol} {right}")
            else:
                out(f"    {result} = {left} {symbol} {right}")
            if index in self.int_results:   # an int (pvm.flow.Flow.int_results): only a big one is owned
                out(f"    if not {-SMALL_INT} < {result} < {SMALL_INT}: {result} = heap.adopt({result})")
            else:
                self._adopt(result, lambda text: out("    " + text))
        elif op == Op.UNARY_NEGATIVE:
            out(f"{top} = -{top}")
        elif op == Op.UNARY_NOT:
            out(f"{top} = not {top}")
        elif op == Op.UNARY_POSITIVE:
            out(f"{top} = +{top}")
        elif op == Op.UNARY_INVERT:
            out(f"{top} = ~{top}")
        elif op == Op.CONTAINS_OP:           # as pvm.handlers.op_CONTAINS_OP, the sandbox's charge first
            out(f"if chk is not None: chk(CONTAINS, [{right}, {left}], None)")
            out(f"{below} = {left} {'not in' if arg else 'in'} {right}")
        elif op == Op.GET_ITER:
            out(f"{top} = iter({top})")
        elif op in (Op.BUILD_LIST, Op.BUILD_TUPLE):
            first = depth - arg
            items = "".join(f"s{i}, " for i in range(first, depth))
            if op == Op.BUILD_LIST:
                self._made(f"s{first}", f"[{items}]", arg, out, registered=True)
            else:
                self._made(f"s{first}", f"({items})", arg, out, registered=False)
        elif op in (Op.BUILD_SLICE, Op.BUILD_STRING):
            first = depth - arg
            items = "".join(f"s{i}, " for i in range(first, depth))
            made = f"slice({items})" if op == Op.BUILD_SLICE else f'heap.adopt("".join(({items})))'
            out(f"s{first} = {made}")
        elif op == Op.LIST_TO_TUPLE:
            out(f"{top} = heap.adopt(tuple({top}))")
        elif op == Op.COMPARE_OP:
            symbol = COMPARE_OPERATORS[self.raw[index]][0]
            if not (self.instrs[index - 1][0] == Op.LOAD_CONST and index not in self.leaders
                    and type(self.instrs[index - 1][1]) in _SIMPLE_CONSTS):     # a constant is no container
                out(f"if chk is not None and type({right}) in CONTAINERS: "
                    f"chk(CMPOPS[{self.raw[index]}], [{left}, {right}], None)")
            out(f"{below} = {left} {symbol} {right}")
        elif op == Op.IS_OP:
            out(f"{below} = {left} {'is not' if arg else 'is'} {right}")
        elif op == Op.JUMP_FORWARD:
            self._goto(loop, arg, indent)
        elif op == Op.JUMP_BACKWARD:
            self.count_step(out)
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
            self._resume(top, f"{new} = next({top}.translated, EXHAUSTED)", out)
            out(f"    if {new} is EXHAUSTED: {top}.frame = {top}.translated = None")
            out(f"else: {new} = next({top}, EXHAUSTED)")
            self._branch(loop, f"{new} is EXHAUSTED", arg, index + 1, indent)
        elif op == Op.RETURN_VALUE:
            if self.parent is not None:     # inlined: the result in the callee's slot, out of its body
                if right != f"s{self.offset}":
                    out(f"s{self.offset} = {right}")
                out("break")
            else:
                # what this activation's host calls handed back is done with (the interpreter drops it at safe points)
                out("if TR and len(TR) > mark: del TR[mark:]")
                if self.counts_locally:
                    out("if N: vm.countdown -= N")
                out(f"return {right}")
        elif op == Op.RAISE_VARARGS:
            items = ", ".join(f"s{i}" for i in range(depth - arg, depth))
            out(f"raise do_raise(vm, [{items}], {arg})")
        elif op == Op.YIELD_VALUE:
            # resumed by next() only: the yield's value is None; the resumer's temporary roots start here
            out(f"{top} = yield {right}")
            out("mark = len(TR)")
        elif op == Op.SEND:
            out("try:")
            self._resume(top, f"{new} = next({top}.translated)", lambda text: out("    " + text))
            out(f"    else: {new} = next({top})")
            out("except StopIteration as x:")
            out(f"    {top} = x.value")
            self._goto(loop, arg, indent + 1)
            out("else:")
            self._goto(loop, index + 1, indent + 1)
        elif op == Op.PUSH_EXC_INFO:
            out(f"{new} = {top}; {top} = vm.handling; vm.handling = {new}")
        elif op == Op.POP_EXCEPT:
            out(f"vm.handling = {top}")
        elif op == Op.CHECK_EXC_MATCH:
            out(f"{top} = check_exc_match({below}, {top})")
        elif op == Op.RERAISE:
            out(f"vm.raising = RERAISED; raise {top}")
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
                out(f"if {test}s{base} is {prefix}F and not lim and {self.depth_at()} < vm.translate_depth:")
                # a method of a parameter read through its dict: the callee's self has that class and dict
                owner = self.owners.get(self.method_loads.get(index)) if receiver else None
                known = {0: (f"{self.prefix}t{owner}", f"{self.prefix}d{owner}")} if owner is not None else None
                self._inline(values + [f"s{base + 1 + i}" for i in range(arg)], indent + 1, known)
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
        elif op == Op.LIST_APPEND:
            out(f"s{depth - 1 - arg}.append({top}); heap.charge(WORD_BYTES)")
        elif op == Op.UNPACK_SEQUENCE:
            targets = "".join(f"s{depth - 1 + arg - 1 - i}, " for i in range(arg))
            if arg:     # a tuple or list of the right length by the host's own unpacking (no script code runs)
                out(f"if (type({top}) is tuple or type({top}) is list) and len({top}) == {arg}: {targets}= {top}")
                out(f"else: check_unpackable({top}); {targets}= unpack({top}, {arg})")
            else:
                out(f"check_unpackable({top}); unpack({top}, 0)")
        elif op in _GENERIC or op in _WITH_GLOBALS:
            after = depth + OPCODES[op].effect(self.raw[index])
            items = "".join(f"s{i}, " for i in range(depth))
            frame = f"GlobalsOnly({self.prefix}G)" if op in _WITH_GLOBALS else "None"
            out(f"ST = [{items}]; HANDLERS[{int(op)}](vm, {frame}, ST, {self._operand(op, arg)})")
            if after:
                out("".join(f"s{i}, " for i in range(after)) + "= ST")
        else:
            raise Untranslatable(f"{name} runs in the interpreter")
        if op not in JUMPS and op not in TERMINATORS and index + 1 in self.leaders:
            self._goto(loop, index + 1, indent)

    def _operand_value(self, index: int) -> str | None:
        """What a LOAD_FAST of a bound local or a LOAD_CONST pushes, as an
        expression that reading it again later in the statement gives too."""
        op, arg = self.instrs[index]
        if op == Op.LOAD_CONST:
            const = self._const(arg, self.raw[index])
            return f"({const})" if const.startswith("-") else const     # (-2) ** n, not -(2 ** n)
        if op == Op.LOAD_FAST and self.assigned[index] >> arg & 1:
            return f"{self.prefix}x{arg}"
        return None

    def _follows(self, index: int, at: int) -> bool:
        """Whether instruction ``at`` runs after ``index`` in the same block, under the same handler, and
        is not inlined: nothing can jump between them or need a value in its slot."""
        return at < len(self.instrs) and at not in self.leaders and at not in self.inlined \
            and self.code.handler_at(at) == self.code.handler_at(index)

    def _stored_next(self, index: int) -> bool:
        """Whether the instruction after ``index`` stores its result to a local right away (nothing can
        see the local between: the result may go there directly)."""
        return self._follows(index, index + 1) and self.instrs[index + 1][0] == Op.STORE_FAST

    def _int_key(self, index: int, key: str) -> bool:
        """Whether the subscript at ``index`` reads ``key`` in place from an int constant (no type test)."""
        op, value = self.instrs[index - 1]
        return key != f"s{self.depths[index] - 1}" and op == Op.LOAD_CONST and type(value) is int

    def _consumed_at_once(self, index: int) -> bool:
        """Whether the value pushed at ``index`` is read by the next instruction
        (a store, an operator), or by the one after when that pushes the other
        operand the same way: nothing between can change what it reads, jump
        there or need it in its slot (a handler, an inlined body)."""
        if not self._follows(index, index + 1):
            return False
        op, arg = self.instrs[index + 1]
        if op == Op.LOAD_ATTR:      # read from the local (or through a parameter's dict), unless the slot is needed
            return plain_attribute(arg) and self.methods.get(index + 1) not in self.native
        if op in _READS_PENDING:
            return True
        return (op in _PURE_PUSHES or self._operand_value(index + 1) is not None) \
            and self._follows(index, index + 2) and self.instrs[index + 2][0] in _OPERATORS

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

    def _resume(self, gen: str, step: str, out: Any) -> None:
        """What Generator.__next__ does for a generator whose body is translated, in place: ``step`` (the
        body's next()) one frame deeper while the generator runs; its exception is body_raised's. The
        ``else:`` that follows is the caller's (any other iterator, or a generator __next__ refuses)."""
        out(f"if type({gen}) is GENERATOR and {gen}.translated is not None and not {gen}.running "
            f"and {self.depth_at()} < vm.max_depth:")
        out(f"    {gen}.running = True; {self.enter_depth()}")
        out(f"    try: {step}")
        out(f"    except BaseException as e: {gen}.body_raised(e)")
        out(f"    finally: {gen}.running = False; {self.leave_depth()}")

    def _made(self, slot: str, display: str, count: int, out: Any, registered: bool) -> None:
        """A list or tuple ``display`` of ``count`` items into ``slot``, charged (a list also
        ``registered``) as Heap.new_list and Heap.adopt do, without their calls and type tests."""
        out(f"{slot} = {display}; heap.debt += {HEADER_BYTES + WORD_BYTES * count}")
        if registered:
            out(f"heap.objects[id({slot})] = {slot}")
        out(f"if heap.debt >= heap.threshold: heap._indebted({slot})")

    def _adopt(self, slot: str, out: Any) -> None:
        # small ints first, the common case; the bounds are literals (a global would be negated every
        # time); then floats, without a second type() or a set lookup; floats, bools and None are nobody's
        # to own. One line: the host compiles it once per site
        out(f"if not ((t := type({slot})) is int and {-SMALL_INT} < {slot} < {SMALL_INT} or t is float "
            f"or t in UNOWNED): {slot} = heap.adopt({slot})")

    def _call(self, base: int, count: int, items: str, receiver: bool, args: str, out: Any) -> None:
        """CALL with an inline cache: the function called last, when it is
        translated, needs no binding and the JIT is off or has given up on it, is entered directly
        (what pvm.translated.call does on that path, without the call to it)."""
        # the function entered last; where a miss records its callee (Code.callees, the instruction) for
        # a later translation to inline, as the interpreter records its calls; the functions that fit
        # the site (pvm.translated.call_at), entered here too: a site that calls several (a method of
        # subclasses) enters each without a call of call_at
        callees, pc = self.code.callees, self.pc
        site = self._cache("CS", lambda: [None, callees, pc, set()])
        arguments = f"o{base}, {items}" if receiver else items
        test = f"o{base} is not None and " if receiver else ""
        func = f"s{base}"
        out(f"if {test}({func} is {site}[0] or type({func}) is FUNCTION and {func} in {site}[3]) "
            f"and {self.depth_at()} < vm.translate_depth:")
        out(f"    {self.enter_depth()}")
        out("    try:")
        self.count_step(lambda text: out("        " + text))
        out(f"        {func} = {func}.code.translated(vm, {func}.globals, {func}.closure, None, {arguments})")
        out(f"    finally: {self.leave_depth()}")
        # a host function or builtin type, outside a sandbox: what Interpreter._call_host does (no
        # container of the function's grows; values callbacks return stay rooted to a safe point)
        out(f"elif chk is None and (type(s{base}) is HOST_FUNCTION and type(s{base}.__self__) not in GROWABLE "
            f"or type(s{base}) is type and s{base} in vm.callable_types):")
        out(f"    s{base} = s{base}({items})")
        self._adopt(f"s{base}", lambda text: out("    " + text))
        # one of pvm's own builtins (isinstance, print, getattr, ...): its function, as _call_host calls it
        out(f"elif chk is None and type(s{base}) is BUILTIN{f' and o{base} is None' if receiver else ''}:")
        out(f"    s{base} = s{base}.fn({items})")
        self._adopt(f"s{base}", lambda text: out("    " + text))
        fits = f"{count + 1} if o{base} is not None else -1" if receiver else f"{count}"
        out(f"else: s{base} = call_at(vm, s{base}, {args}, {site}, {fits})")

    def _cache(self, prefix: str, make: Any) -> str:
        name = f"{prefix}{len(self.caches)}"
        self.caches.append((name, make))
        return name

    def _load_attr(self, slot: str, name: str, out: Any, method: bool, owner: int | None,
                   by_class: str | None = None, classes: str | None = None, obj: str | None = None) -> None:
        """LOAD_ATTR through inline caches (their misses and fills are
        pvm.translated.load_attribute and load_method): the classes whose
        instances had the attribute (the host's own attribute read then finds
        it, or fails and the class leaves the cache), the builtin types that
        allow it, and by class the function a called method's lookup found
        or the getter a property calls. Every cache but the builtin types'
        holds while no class namespace changes: a change empties them
        (pvm.classes.FILLED_CACHES), so the guards need no version check.
        A called method (``method``) goes in the slot and the instance in the
        receiver slot ``o<n>`` (None otherwise): no bound method is made.
        ``obj`` is where the object is, when not in the slot (a local read in place).
        The misses fill ``classes`` too, when given: by user class, what
        reading the attribute on the class itself gave, if nothing was bound."""
        receiver = "o" + slot[1:]
        extra = f", {classes}" if classes else ""
        if not plain_attribute(name):
            out(f"{slot} = get_attribute({slot}, {name!r})" + (f"; {receiver} = None" if method else ""))
            return
        kinds, hosts = self._cache("A", set), self._cache("H", set)
        by_class = by_class or self._cache("M" if method else "P", dict)
        none = f"; {receiver} = None" if method else ""
        if owner is not None:
            # the parameter's class and dict, read at entry (a class in a cache has a dict)
            kind, attrs, obj = f"{self.prefix}t{owner}", f"{self.prefix}d{owner}", f"{self.prefix}x{owner}"
            if method:
                out(f"if {kind} in {by_class} and {name!r} not in {attrs}: "
                    f"{receiver} = {obj}; {slot} = {by_class}[{kind}]")
                out(f"elif {kind} in {hosts}: {slot} = {obj}.{name}" + none)
                out(f"else: {receiver}, {slot} = load_method({obj}, {name!r}, {kinds}, {hosts}, {by_class})")
                return
            load = f"load_attribute({obj}, {name!r}, {kinds}, {hosts}, {by_class})"
            out(f"if {kind} in {kinds}:")
            out(f"    try: {slot} = {attrs}[{name!r}]")
            out(f"    except KeyError: {kinds}.discard({kind}); {slot} = {load}")
            out(f"elif {kind} in {by_class}: f = {by_class}[{kind}]; {slot} = f.vm.call_from_host(f, ({obj},), {{}})")
            out(f"else: {slot} = {load}")
            return
        obj = obj or slot
        if method:
            out(f"if type({obj}) in {by_class} and {name!r} not in {obj}.__dict__:")
            out(f"    {receiver} = {obj}; {slot} = {by_class}[type({obj})]")
            out(f"elif type({obj}) in {kinds}:")
        else:
            out(f"if type({obj}) in {kinds}:")
        out(f"    try: {slot} = {obj}.{name}" + none)
        out(f"    except AttributeError: {kinds}.discard(type({obj})); {slot} = get_attribute({obj}, {name!r})"
            + none)
        out(f"elif type({obj}) in {hosts}: {slot} = {obj}.{name}" + none)
        if method:
            out(f"else: {receiver}, {slot} = load_method({obj}, {name!r}, {kinds}, {hosts}, {by_class}{extra})")
        else:
            out(f"elif type({obj}) in {by_class}:")
            out(f"    f = {by_class}[type({obj})]; {slot} = f.vm.call_from_host(f, ({obj},), {{}})")
            out(f"else: {slot} = load_attribute({obj}, {name!r}, {kinds}, {hosts}, {by_class}{extra})")
