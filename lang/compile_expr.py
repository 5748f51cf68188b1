"""Expression compilation: the half of the compiler that pushes values.

``ExprCompiler`` is a mixin of ``lang.compiler.Compiler``; it compiles every
expression node to instructions that leave exactly one value on the stack,
and conditions (``jump_if``) straight to conditional jumps. Functions,
lambdas and comprehensions are here too, since a ``def`` is an expression
that happens to be stored. Layouts follow CPython 3.11 wherever pvm's opcode
table allows (see each handler's comment for the shape emitted).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from lang import ast
from lang.assembler import Label
from lang.scope import Kind, Scope
from pvm.code import CO_COMPREHENSION, CO_LAMBDA, Code
from pvm.errors import PvmCompileError
from pvm.opcodes import (
    BINARY_OPERATOR_INDEX, CALL_HAS_KWARGS, COMPARE_OPERATOR_INDEX, FORMAT_CONVERSIONS, FORMAT_HAS_SPEC,
    MAKE_FUNCTION_CLOSURE, MAKE_FUNCTION_DEFAULTS, MAKE_FUNCTION_KWDEFAULTS, Op,
)

if TYPE_CHECKING:
    from lang.compiler import Unit

NOT_CONSTANT: Any = object()      # const_value's answer for a non-constant expression

_UNARY = {"-": Op.UNARY_NEGATIVE, "+": Op.UNARY_POSITIVE, "~": Op.UNARY_INVERT, "not": Op.UNARY_NOT}
_FOLDABLE_UNARY: dict[str, Callable[[Any], Any]] = {"-": lambda v: -v, "+": lambda v: +v, "~": lambda v: ~v}


def const_value(node: ast.Expr) -> Any:
    """The value of a constant expression (a literal, a tuple of them, a signed
    number), or NOT_CONSTANT."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Tuple):
        items = [const_value(elt) for elt in node.elts]
        return NOT_CONSTANT if any(item is NOT_CONSTANT for item in items) else tuple(items)
    if isinstance(node, ast.UnaryOp) and node.op in _FOLDABLE_UNARY:
        operand = const_value(node.operand)
        if type(operand) in (int, float, bool):
            try:
                return _FOLDABLE_UNARY[node.op](operand)
            except TypeError:
                return NOT_CONSTANT
    return NOT_CONSTANT


_BUILD = {ast.ListComp: Op.BUILD_LIST, ast.SetComp: Op.BUILD_SET, ast.DictComp: Op.BUILD_MAP}
_NAMESPACE_OPS = {Op.LOAD_FAST: Op.LOAD_NAME, Op.STORE_FAST: Op.STORE_NAME, Op.DELETE_FAST: Op.DELETE_NAME}


class ExprCompiler:
    """Compiles expressions into ``self.unit`` (provided by the Compiler)."""

    filename: str
    unit: Unit
    nested: Callable[[Scope, int, int, Callable[[], None]], Code]     # Compiler.nested
    _EXPR: dict[type, Callable[[Any, Any], None]] = {}

    def error(self, message: str, node: ast.Node) -> PvmCompileError:
        return PvmCompileError(message, self.filename, node.line, node.col, "")

    def emit(self, op: Op, arg: int = 0) -> int:
        return self.unit.b.emit(op, arg)

    # --- Names ---

    def name_op(self, name: str, fast: Op, deref: Op, global_: Op) -> None:
        kind, index = self.unit.scope.resolve(name)
        b = self.unit.b
        if kind is Kind.FAST:
            b.emit(fast, index)
        elif kind is Kind.NAME:
            b.emit(_NAMESPACE_OPS[fast], b.add_name(name))
        elif kind is Kind.GLOBAL:
            b.emit(global_, b.add_name(name))
        else:
            b.emit(deref, index)

    def load_name(self, name: str) -> None:
        self.name_op(name, Op.LOAD_FAST, Op.LOAD_DEREF, Op.LOAD_GLOBAL)

    def store_name(self, name: str) -> None:
        self.name_op(name, Op.STORE_FAST, Op.STORE_DEREF, Op.STORE_GLOBAL)

    def delete_name(self, name: str) -> None:
        self.name_op(name, Op.DELETE_FAST, Op.DELETE_DEREF, Op.DELETE_GLOBAL)

    # --- Dispatch ---

    def expr(self, node: ast.Expr) -> None:
        """Compile ``node`` to push its value, its instructions at its line."""
        b = self.unit.b
        saved_line, saved_node = b.line, b.node
        if node.line:
            b.line = node.line
        b.node = node
        handler = self._EXPR.get(type(node))
        if handler is None:
            raise self.error(f"{type(node).__name__} is not supported", node)
        handler(self, node)
        b.line, b.node = saved_line, saved_node

    def expr_Name(self, node: ast.Name) -> None:
        self.load_name(node.id)

    def expr_Constant(self, node: ast.Constant) -> None:
        self.load_const(node.value)

    def load_const(self, value: Any) -> None:
        self.emit(Op.LOAD_CONST, self.unit.b.add_const(value))

    # --- Operators ---

    def expr_BinOp(self, node: ast.BinOp) -> None:
        # a + b + c nests to the left: walk the spine with a loop, not recursion.
        spine = []
        left: ast.Expr = node
        while isinstance(left, ast.BinOp):
            spine.append(left)
            left = left.left
        self.expr(left)
        b = self.unit.b
        for binop in reversed(spine):
            self.expr(binop.right)
            if binop.line:
                b.line = binop.line
            b.emit(Op.BINARY_OP, BINARY_OPERATOR_INDEX[binop.op])

    def expr_UnaryOp(self, node: ast.UnaryOp) -> None:
        value = const_value(node)
        if value is not NOT_CONSTANT:
            self.load_const(value)
            return
        self.expr(node.operand)
        self.emit(_UNARY[node.op])

    def expr_BoolOp(self, node: ast.BoolOp) -> None:
        # a; JUMP_IF_FALSE_OR_POP end; b; ...; last; end:
        op = Op.JUMP_IF_FALSE_OR_POP if node.op == "and" else Op.JUMP_IF_TRUE_OR_POP
        end = Label()
        for value in node.values[:-1]:
            self.expr(value)
            self.unit.b.jump(op, end)
        self.expr(node.values[-1])
        self.unit.b.place(end)

    def compare_op(self, op: str) -> None:
        if op in ("is", "is not"):
            self.emit(Op.IS_OP, 1 if op == "is not" else 0)
        elif op in ("in", "not in"):
            self.emit(Op.CONTAINS_OP, 1 if op == "not in" else 0)
        else:
            self.emit(Op.COMPARE_OP, COMPARE_OPERATOR_INDEX[op])

    def compare_chain_head(self, node: ast.Compare, cleanup: Label, exit_op: Op) -> None:
        """All links but the last of ``a < b < c``: each middle operand is
        evaluated once, kept under the result by SWAP/COPY; a false link jumps
        to ``cleanup`` with that operand still below."""
        self.expr(node.left)
        for op, right in zip(node.ops[:-1], node.comparators[:-1]):
            self.expr(right)
            self.emit(Op.SWAP, 2)
            self.emit(Op.COPY, 2)
            self.compare_op(op)
            self.unit.b.jump(exit_op, cleanup)
        self.expr(node.comparators[-1])
        self.compare_op(node.ops[-1])

    def expr_Compare(self, node: ast.Compare) -> None:
        if len(node.ops) == 1:
            self.expr(node.left)
            self.expr(node.comparators[0])
            self.compare_op(node.ops[0])
            return
        # ...; JUMP_FORWARD end; cleanup: SWAP 2; POP_TOP; end:
        b = self.unit.b
        cleanup, end = Label(), Label()
        self.compare_chain_head(node, cleanup, Op.JUMP_IF_FALSE_OR_POP)
        b.jump(Op.JUMP_FORWARD, end)
        b.place(cleanup)
        b.emit(Op.SWAP, 2)
        b.emit(Op.POP_TOP)
        b.place(end)

    def expr_IfExp(self, node: ast.IfExp) -> None:
        b = self.unit.b
        orelse, end = Label(), Label()
        self.jump_if(node.test, False, orelse)
        self.expr(node.body)
        b.jump_to(end)
        b.place(orelse)
        self.expr(node.orelse)
        b.place(end)

    # --- Conditions ---

    def jump_if(self, node: ast.Expr, when: bool, label: Label) -> None:
        """Jump to ``label`` if ``node`` is truthy (``when``) or falsy (not
        ``when``), consuming the value; and/or/not become jumps directly."""
        b = self.unit.b
        saved_line, saved_node = b.line, b.node
        if node.line:
            b.line = node.line
        b.node = node
        if isinstance(node, ast.UnaryOp) and node.op == "not":
            self.jump_if(node.operand, not when, label)
        elif isinstance(node, ast.BoolOp):
            # Every value but the last decides the outcome only one way.
            decides = node.op == "or"
            if decides == when:
                for value in node.values:
                    self.jump_if(value, when, label)
            else:
                skip = Label()
                for value in node.values[:-1]:
                    self.jump_if(value, decides, skip)
                self.jump_if(node.values[-1], when, label)
                b.place(skip)
        elif isinstance(node, ast.Compare) and len(node.ops) > 1:
            cleanup, end = Label(), Label()
            self.compare_chain_head(node, cleanup, Op.POP_JUMP_IF_FALSE)
            b.jump(Op.POP_JUMP_IF_TRUE if when else Op.POP_JUMP_IF_FALSE, label)
            b.jump(Op.JUMP_FORWARD, end)
            b.place(cleanup)
            b.emit(Op.POP_TOP)
            if not when:
                b.jump_to(label)
            b.place(end)
        elif isinstance(node, ast.IfExp):
            orelse, end = Label(), Label()
            self.jump_if(node.test, False, orelse)
            self.jump_if(node.body, when, label)
            b.jump_to(end)
            b.place(orelse)
            self.jump_if(node.orelse, when, label)
            b.place(end)
        elif isinstance(node, ast.Constant):
            if bool(node.value) == when:
                b.jump_to(label)
        else:
            self.expr(node)
            b.jump(Op.POP_JUMP_IF_TRUE if when else Op.POP_JUMP_IF_FALSE, label)
        b.line, b.node = saved_line, saved_node

    # --- Calls, attributes, subscripts ---

    def expr_Call(self, node: ast.Call) -> None:
        # func; args...; keyword values...; [LOAD_CONST names; CALL_KW n | CALL n]
        if node.keywords:
            first = min(node.keywords, key=lambda kw: (kw.line, kw.col))
            for arg in node.args:
                if not isinstance(arg, ast.Starred) and (arg.line, arg.col) > (first.line, first.col):
                    raise self.error("positional argument follows keyword argument", arg)
        seen: set[str] = set()
        for keyword in node.keywords:
            if keyword.arg in seen:
                raise self.error(f"keyword argument repeated: {keyword.arg}", keyword)
            if keyword.arg is not None:
                seen.add(keyword.arg)
        if self.zero_argument_super(node):
            return
        self.expr(node.func)
        if any(isinstance(arg, ast.Starred) for arg in node.args) or any(kw.arg is None for kw in node.keywords):
            self.call_ex(node)
            return
        for arg in node.args:
            self.expr(arg)
        for keyword in node.keywords:
            self.expr(keyword.value)
        b = self.unit.b
        func = node.func
        if isinstance(func, ast.Attribute) and func.end_line:
            b.line = func.end_line           # a method call reports the method's line, as CPython
        count = len(node.args) + len(node.keywords)
        if node.keywords:
            self.load_const(tuple(keyword.arg for keyword in node.keywords))
            b.emit(Op.CALL_KW, count)
        else:
            b.emit(Op.CALL, count)

    def zero_argument_super(self, node: ast.Call) -> bool:
        """``super()`` in a method is ``super(__class__, <first parameter>)``, as
        CPython resolves it at run time from the frame."""
        func = node.func
        if not (isinstance(func, ast.Name) and func.id == "super" and not node.args and not node.keywords):
            return False
        scope = self.unit.scope
        if not scope.is_function or not scope.params or scope.slots.get("__class__", (None,))[0] not in (
                Kind.CELL, Kind.FREE) or scope.resolve("super")[0] is not Kind.GLOBAL:
            return False
        self.expr(func)
        self.load_name("__class__")
        self.load_name(scope.params[0])
        self.unit.b.emit(Op.CALL, 2)
        return True

    def call_ex(self, node: ast.Call) -> None:
        """A call with ``*`` or ``**`` arguments, laid out as CPython 3.11 does:
        the positionals as one tuple (a lone ``*x`` as it is: CALL_FUNCTION_EX
        checks and converts it); the keywords, if any, merged into one dict
        left to right, each ``**m`` as soon as it is evaluated."""
        # (func pushed); positionals; [BUILD_MAP of named ones, or 0; then per **m: m DICT_MERGE, and
        # per run of named ones after it: k v ... BUILD_MAP n DICT_MERGE]; CALL_FUNCTION_EX has_kwargs
        if len(node.args) == 1 and isinstance(node.args[0], ast.Starred):
            self.expr(node.args[0].value)
        else:
            self.expr_Tuple(ast.Tuple(node.args))
        have_dict = False
        named: list[ast.Keyword] = []       # named keywords not yet in a dict

        def flush() -> None:
            nonlocal have_dict
            for keyword in named:
                self.load_const(keyword.arg)
                self.expr(keyword.value)
            self.emit(Op.BUILD_MAP, len(named))
            if have_dict:
                self.emit(Op.DICT_MERGE)
            have_dict = True
            named.clear()

        for keyword in node.keywords:
            if keyword.arg is not None:
                named.append(keyword)
                continue
            if named:
                flush()
            if not have_dict:
                self.emit(Op.BUILD_MAP, 0)
                have_dict = True
            self.expr(keyword.value)
            self.emit(Op.DICT_MERGE)
        if named:
            flush()
        self.emit(Op.CALL_FUNCTION_EX, CALL_HAS_KWARGS if have_dict else 0)

    def expr_Attribute(self, node: ast.Attribute) -> None:
        self.expr(node.value)
        b = self.unit.b
        if node.end_line:
            b.line = node.end_line           # `obj\n.attr` fails on the attribute's line
        b.emit(Op.LOAD_ATTR, b.add_name(node.attr))

    def expr_Subscript(self, node: ast.Subscript) -> None:
        self.expr(node.value)
        self.index(node.index)
        self.emit(Op.BINARY_SUBSCR)

    def index(self, node: ast.Expr) -> None:
        """A subscript's index: slices become BUILD_SLICE, inside tuples too."""
        if isinstance(node, ast.Slice):
            self.slice(node)
        elif isinstance(node, ast.Tuple) and any(isinstance(elt, ast.Slice) for elt in node.elts):
            for elt in node.elts:
                self.index(elt)
            self.emit(Op.BUILD_TUPLE, len(node.elts))
        else:
            self.expr(node)

    def slice(self, node: ast.Slice) -> None:
        for part in (node.lower, node.upper):
            if part is None:
                self.load_const(None)
            else:
                self.expr(part)
        if node.step is not None:
            self.expr(node.step)
        self.emit(Op.BUILD_SLICE, 3 if node.step is not None else 2)

    def expr_Slice(self, node: ast.Slice) -> None:
        raise self.error("slices are only allowed in subscripts", node)

    def expr_Starred(self, node: ast.Starred) -> None:
        raise self.error("can't use starred expression here", node)

    # --- Displays ---

    def expr_Tuple(self, node: ast.Tuple) -> None:
        if any(isinstance(elt, ast.Starred) for elt in node.elts):
            self.starred_display(node.elts, Op.BUILD_LIST, Op.LIST_APPEND, Op.LIST_EXTEND)
            self.emit(Op.LIST_TO_TUPLE)
            return
        value = const_value(node)
        if value is not NOT_CONSTANT:
            self.load_const(value)
            return
        for elt in node.elts:
            self.expr(elt)
        self.emit(Op.BUILD_TUPLE, len(node.elts))

    def expr_List(self, node: ast.List) -> None:
        if any(isinstance(elt, ast.Starred) for elt in node.elts):
            self.starred_display(node.elts, Op.BUILD_LIST, Op.LIST_APPEND, Op.LIST_EXTEND)
            return
        if len(node.elts) >= 3:
            value = const_value(ast.Tuple(node.elts))
            if value is not NOT_CONSTANT:
                # BUILD_LIST 0; LOAD_CONST (items); LIST_EXTEND 1, as CPython
                self.emit(Op.BUILD_LIST, 0)
                self.load_const(value)
                self.emit(Op.LIST_EXTEND, 1)
                return
        for elt in node.elts:
            self.expr(elt)
        self.emit(Op.BUILD_LIST, len(node.elts))

    def expr_Set(self, node: ast.Set) -> None:
        if any(isinstance(elt, ast.Starred) for elt in node.elts):
            self.starred_display(node.elts, Op.BUILD_SET, Op.SET_ADD, Op.SET_UPDATE)
            return
        for elt in node.elts:
            self.expr(elt)
        self.emit(Op.BUILD_SET, len(node.elts))

    def starred_display(self, elts: list[ast.Expr], build: Op, add: Op, extend: Op) -> None:
        """Items before the first ``*x`` in one build, then add/extend one by one."""
        first = next(i for i, elt in enumerate(elts) if isinstance(elt, ast.Starred))
        for elt in elts[:first]:
            self.expr(elt)
        self.emit(build, first)
        for elt in elts[first:]:
            if isinstance(elt, ast.Starred):
                self.expr(elt.value)
                self.emit(extend, 1)
            else:
                self.expr(elt)
                self.emit(add, 1)

    def expr_Dict(self, node: ast.Dict) -> None:
        # k v k v BUILD_MAP n, then per later entry MAP_ADD 1 or **m DICT_UPDATE 1
        first = next((i for i, key in enumerate(node.keys) if key is None), len(node.keys))
        for key, value in zip(node.keys[:first], node.values[:first]):
            assert key is not None
            self.expr(key)
            self.expr(value)
        self.emit(Op.BUILD_MAP, first)
        for key, value in zip(node.keys[first:], node.values[first:]):
            if key is None:
                self.expr(value)
                self.emit(Op.DICT_UPDATE, 1)
            else:
                self.expr(key)
                self.expr(value)
                self.emit(Op.MAP_ADD, 1)

    # --- Strings ---

    def expr_JoinedStr(self, node: ast.JoinedStr) -> None:
        parts = [part for part in node.values if not (isinstance(part, ast.Constant) and part.value == "")]
        for part in parts:
            self.expr(part)
        if not parts:
            self.load_const("")
        elif len(parts) > 1:
            self.emit(Op.BUILD_STRING, len(parts))

    def expr_FormattedValue(self, node: ast.FormattedValue) -> None:
        # value; [spec]; FORMAT_VALUE conversion | 4 if spec
        self.expr(node.value)
        flags = FORMAT_CONVERSIONS[node.conversion]
        if node.format_spec is not None:
            self.expr(node.format_spec)
            flags |= FORMAT_HAS_SPEC
        self.emit(Op.FORMAT_VALUE, flags)

    # --- Functions ---

    def make_function(self, node: ast.FunctionDef | ast.Lambda, body: Callable[[], None], flags: int) -> None:
        """[defaults tuple]; [keyword-only defaults dict]; [closure tuple]; LOAD_CONST code; MAKE_FUNCTION."""
        make_flags = 0
        defaults: list[ast.Expr] = []
        kwdefaults = [param for param in node.params if param.kind == "kwonly" and param.default is not None]
        for param in node.params:
            if param.kind != "positional":
                continue
            if param.default is not None:
                defaults.append(param.default)
            elif defaults:
                raise self.error("non-default argument follows default argument", param)
        if defaults:
            value = const_value(ast.Tuple(defaults))
            if value is not NOT_CONSTANT:
                self.load_const(value)
            else:
                for default in defaults:
                    self.expr(default)
                self.emit(Op.BUILD_TUPLE, len(defaults))
            make_flags |= MAKE_FUNCTION_DEFAULTS
        if kwdefaults:
            for param in kwdefaults:
                self.load_const(param.name)
                self.expr(param.default)
            self.emit(Op.BUILD_MAP, len(kwdefaults))
            make_flags |= MAKE_FUNCTION_KWDEFAULTS
        scope = self.unit.scope.child(node)
        decorators = node.decorators if isinstance(node, ast.FunctionDef) else []
        code = self.nested(scope, decorators[0].line if decorators else node.line, flags, body)
        self.closure_and_make(code, make_flags)

    def closure_and_make(self, code: Code, make_flags: int) -> None:
        if code.freevars:
            for name in code.freevars:
                kind, index = self.unit.scope.resolve(name)
                if kind not in (Kind.CELL, Kind.FREE):
                    raise AssertionError(f"free variable {name!r} of {code.qualname} is {kind} outside")
                self.emit(Op.LOAD_CLOSURE, index)
            self.emit(Op.BUILD_TUPLE, len(code.freevars))
            make_flags |= MAKE_FUNCTION_CLOSURE
        self.load_const(code)
        self.emit(Op.MAKE_FUNCTION, make_flags)

    def expr_Lambda(self, node: ast.Lambda) -> None:
        def body() -> None:
            self.expr(node.body)
            self.emit(Op.RETURN_VALUE)
        self.make_function(node, body, CO_LAMBDA)

    # --- Comprehensions ---

    def expr_ListComp(self, node: ast.ListComp) -> None:
        self.comprehension(node)

    def expr_SetComp(self, node: ast.SetComp) -> None:
        self.comprehension(node)

    def expr_DictComp(self, node: ast.DictComp) -> None:
        self.comprehension(node)

    def expr_GeneratorExp(self, node: ast.GeneratorExp) -> None:
        self.comprehension(node)

    def expr_Yield(self, node: ast.Yield) -> None:
        if node.value is None:
            self.load_const(None)
        else:
            self.expr(node.value)
        self.emit(Op.YIELD_VALUE)

    def expr_YieldFrom(self, node: ast.YieldFrom) -> None:
        # value; GET_ITER; head: SEND end; YIELD_VALUE; POP_TOP; JUMP_BACKWARD head; end:
        self.expr(node.value)
        b = self.unit.b
        b.emit(Op.GET_ITER)
        head, end = b.here(), Label()
        b.jump(Op.SEND, end)
        b.emit(Op.YIELD_VALUE)
        b.emit(Op.POP_TOP)
        b.jump_to(head)
        b.place(end)

    def comprehension(self, node: ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp) -> None:
        # MAKE_FUNCTION <hidden code>; <outermost iterable>; GET_ITER; CALL 1
        scope = self.unit.scope.child(node)

        def body() -> None:
            if isinstance(node, ast.GeneratorExp):
                self.generator(node, 0)
                self.load_const(None)
            else:
                self.emit(_BUILD[type(node)], 0)
                self.generator(node, 0)
            self.emit(Op.RETURN_VALUE)

        code = self.nested(scope, node.line, CO_COMPREHENSION, body)
        self.closure_and_make(code, 0)
        self.expr(node.generators[0].iter)
        self.emit(Op.GET_ITER)
        self.emit(Op.CALL, 1)

    def generator(self, node: ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp, depth: int) -> None:
        """One ``for`` of a comprehension body and, inside it, the rest."""
        gen = node.generators[depth]
        b = self.unit.b
        if gen.line:
            b.line = gen.line
        if depth == 0:
            b.emit(Op.LOAD_FAST, 0)          # '.0', the evaluated outermost iterator
        else:
            self.expr(gen.iter)
            b.emit(Op.GET_ITER)
        head, exhausted, next_item = b.here(), Label(), Label()
        b.jump(Op.FOR_ITER, exhausted)
        self.store(gen.target)
        for cond in gen.ifs:
            # forward to the back edge, so only JUMP_BACKWARD ever jumps back
            self.jump_if(cond, False, next_item)
        if depth + 1 < len(node.generators):
            self.generator(node, depth + 1)
        else:
            distance = len(node.generators) + 1      # the container sits below one iterator per `for`
            if isinstance(node, ast.DictComp):
                self.expr(node.key)
                self.expr(node.value)
                b.emit(Op.MAP_ADD, distance)
            elif isinstance(node, ast.GeneratorExp):
                self.expr(node.elt)
                b.emit(Op.YIELD_VALUE)
                b.emit(Op.POP_TOP)
            else:
                self.expr(node.elt)
                b.emit(Op.LIST_APPEND if isinstance(node, ast.ListComp) else Op.SET_ADD, distance)
        b.place(next_item)
        b.jump_to(head)
        b.place(exhausted)

    # --- Assignment targets (statements and comprehensions) ---

    def store(self, target: ast.Expr) -> None:
        """Store TOS into ``target``: a name, attribute, subscript or a
        (nested) tuple/list to unpack, with at most one starred name."""
        b = self.unit.b
        saved_line, saved_node = b.line, b.node
        if target.line:
            b.line = target.line
        b.node = target
        if isinstance(target, ast.Name):
            self.store_name(target.id)
        elif isinstance(target, ast.Attribute):
            self.expr(target.value)
            b.emit(Op.STORE_ATTR, b.add_name(target.attr))
        elif isinstance(target, ast.Subscript):
            self.expr(target.value)
            self.index(target.index)
            b.emit(Op.STORE_SUBSCR)
        elif isinstance(target, (ast.Tuple, ast.List)):
            self.unpack(target)
            for elt in target.elts:
                self.store(elt.value if isinstance(elt, ast.Starred) else elt)
        elif isinstance(target, ast.Starred):
            raise self.error("starred assignment target must be in a list or tuple", target)
        else:
            raise self.error("cannot assign to expression", target)
        b.line, b.node = saved_line, saved_node

    def unpack(self, target: ast.Tuple | ast.List) -> None:
        """UNPACK_SEQUENCE n, or UNPACK_EX before | after << 8 around one ``*x``."""
        starred = [i for i, elt in enumerate(target.elts) if isinstance(elt, ast.Starred)]
        if not starred:
            self.emit(Op.UNPACK_SEQUENCE, len(target.elts))
            return
        if len(starred) > 1:
            raise self.error("multiple starred expressions in assignment", target)
        before = starred[0]
        after = len(target.elts) - before - 1
        if before >= 1 << 8:
            raise self.error("too many expressions in star-unpacking assignment", target)
        self.emit(Op.UNPACK_EX, before | after << 8)


ExprCompiler._EXPR = {
    getattr(ast, name[len("expr_"):]): function
    for name, function in vars(ExprCompiler).items() if name.startswith("expr_")
}
