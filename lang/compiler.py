"""The bytecode compiler: lang.ast (resolved by lang.scope) to pvm.code.Code.

One ``Unit`` per code object being built (the module, each def, lambda and
comprehension) holds its scope, its ``CodeBuilder`` and its loop stack; nested
code objects are compiled depth-first into fresh units and become constants
of the enclosing one. Statements are compiled here, expressions in
``lang.compile_expr``. Compile-time errors are PvmCompileError with CPython's
wording and position ("'return' outside function", ...).

Conventions the interpreter relies on: every code object ends with a
RETURN_VALUE; loop back edges (and only they) are JUMP_BACKWARD; a ``for``
keeps its iterator on the stack for the whole loop, so ``break`` pops it.

Blocks (loops, ``try``, ``with``) and what leaving them early takes live in
``lang.compile_blocks``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator

from lang import ast
from lang.assembler import CodeBuilder, Label
from lang.compile_blocks import Block, BlockCompiler, Loop
from lang.scope import Scope, analyze, docstring
from pvm.code import CO_CLASS_BODY, CO_DOCSTRING, CO_GENERATOR, CO_MODULE, CO_NESTED, Code
from pvm.errors import PvmCompileError
from pvm.opcodes import BINARY_OPERATOR_INDEX, Op



def _statements(body: list[ast.Stmt]) -> Iterator[ast.Stmt]:
    """The statements of a body and of the blocks nested in it, not of nested defs and classes."""
    pending = list(body)
    while pending:
        node = pending.pop()
        yield node
        for field_name in ("body", "orelse", "finalbody", "handlers"):
            if not isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                pending.extend(getattr(node, field_name, ()))


def compile_module(module: ast.Module, filename: str) -> Code:
    """Compile a parsed module to its code object ('<module>', CO_MODULE).

    Raises PvmCompileError (with line and column; source_line left empty for
    the caller to fill) for programs CPython refuses at compile time.
    """
    compiler = Compiler(filename)
    try:
        return compiler.module(module, analyze(module, filename))
    except RecursionError:
        node = compiler.statement or module
        raise PvmCompileError("maximum recursion depth exceeded during compilation",
                              filename, node.line or 1, node.col or 1, "") from None


@dataclass
class Unit:
    """The code object under construction."""

    scope: Scope
    b: CodeBuilder                                    # short: it is on almost every line
    blocks: list[Block] = field(default_factory=list)  # innermost last


class Compiler(BlockCompiler):
    """Compiles statements; see ExprCompiler for expressions."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.statement: ast.Stmt | None = None     # the statement being compiled

    def module(self, module: ast.Module, scope: Scope) -> Code:
        self.unit = Unit(scope, CodeBuilder(self.filename, 1))
        self.store_docstring(module.body)
        self.setup_annotations(module.body)
        self.stmts(module.body)
        self.implicit_return()
        return self.unit.b.finish(
            name="<module>", qualname="<module>", firstlineno=1, argcount=0, varnames=(),
            cellvars=(), freevars=(), cell_params=(), flags=CO_MODULE,
        )

    def nested(self, scope: Scope, firstlineno: int, flags: int, body: Callable[[], None]) -> Code:
        """Compile a def, lambda or comprehension body into its own code object."""
        outer = self.unit
        self.unit = Unit(scope, CodeBuilder(self.filename, firstlineno))
        body()
        assert scope.parent is not None
        if scope.parent.is_function:
            flags |= CO_NESTED
        if scope.generator:
            flags |= CO_GENERATOR
        code = self.unit.b.finish(
            name=scope.name, qualname=scope.qualname, firstlineno=firstlineno,
            argcount=scope.argcount, varnames=scope.varnames, cellvars=scope.cellvars,
            freevars=scope.freevars, cell_params=scope.cell_params, flags=flags | scope.param_flags,
            kwonlyargcount=scope.kwonlyargcount,
        )
        self.unit = outer
        return code

    def implicit_return(self) -> None:
        """``return None`` where control can fall off the end of the body."""
        if self.unit.b.reachable():
            self.load_const(None)
            self.emit(Op.RETURN_VALUE)

    # --- Statements ---

    def stmts(self, body: list[ast.Stmt]) -> None:
        for stmt in body:
            self.stmt(stmt)

    def stmt(self, node: ast.Stmt) -> None:
        b = self.unit.b
        if node.line:
            b.line = node.line
        b.node = node
        self.statement = node
        handler = getattr(self, "stmt_" + type(node).__name__, None)
        if handler is None:
            raise self.error(f"{type(node).__name__} is not supported", node)
        handler(node)

    def stmt_ExprStmt(self, node: ast.ExprStmt) -> None:
        if isinstance(node.value, ast.Constant):
            return                                   # a docstring or a bare literal does nothing
        self.expr(node.value)
        self.emit(Op.POP_TOP)

    def stmt_Pass(self, node: ast.Pass) -> None:
        pass

    def stmt_Global(self, node: ast.Global) -> None:
        pass                                         # resolved by lang.scope

    def stmt_Nonlocal(self, node: ast.Nonlocal) -> None:
        pass

    # --- Assignment ---

    def stmt_Assign(self, node: ast.Assign) -> None:
        # value; (COPY 1; store)* store
        if len(node.targets) == 1 and self.swap_assign(node.targets[0], node.value):
            return
        self.expr(node.value)
        for target in node.targets[:-1]:
            self.emit(Op.COPY, 1)
            self.store(target)
        self.store(node.targets[-1])

    def store_docstring(self, body: list[ast.Stmt]) -> None:
        """``__doc__ = "..."`` in a module or class body that starts with a string."""
        doc = docstring(body)
        if doc is not None:
            self.load_const(doc)
            self.store_name("__doc__")

    def setup_annotations(self, body: list[ast.Stmt]) -> None:
        """``__annotations__ = {}`` in a module or class body that annotates names."""
        if any(isinstance(node, ast.AnnAssign) for node in _statements(body)):
            self.emit(Op.BUILD_MAP, 0)
            self.store_name("__annotations__")

    def stmt_AnnAssign(self, node: ast.AnnAssign) -> None:
        # [value; store]; in a module or class, for a name: annotation; __annotations__[name] = it
        if node.value is not None:
            self.expr(node.value)
            self.store(node.target)
        if isinstance(node.target, ast.Name) and not self.unit.scope.is_function:
            self.expr(node.annotation)
            self.load_name("__annotations__")
            self.load_const(node.target.id)
            self.emit(Op.STORE_SUBSCR)

    def swap_assign(self, target: ast.Expr, value: ast.Expr) -> bool:
        """``a, b = b, a``: push the items and reorder with one SWAP instead of
        building and unpacking a tuple (CPython's peephole for up to 3 items)."""
        if not (isinstance(target, (ast.Tuple, ast.List)) and isinstance(value, (ast.Tuple, ast.List))):
            return False
        count = len(target.elts)
        if not 1 <= count <= 3 or len(value.elts) != count:
            return False
        if any(isinstance(elt, ast.Starred) for elt in target.elts + value.elts):
            return False
        for elt in value.elts:
            self.expr(elt)
        if count > 1:
            self.emit(Op.SWAP, count)
        for elt in target.elts:
            self.store(elt)
        return True

    def stmt_AugAssign(self, node: ast.AugAssign) -> None:
        target = node.target
        op = BINARY_OPERATOR_INDEX[node.op + "="]
        b = self.unit.b
        if isinstance(target, ast.Name):
            # x; value; BINARY_OP op=; store x
            self.load_name(target.id)
            self.expr(node.value)
            b.emit(Op.BINARY_OP, op)
            self.store_name(target.id)
        elif isinstance(target, ast.Attribute):
            # obj; COPY 1; LOAD_ATTR; value; BINARY_OP; SWAP 2; STORE_ATTR
            self.expr(target.value)
            name = b.add_name(target.attr)
            b.emit(Op.COPY, 1)
            b.emit(Op.LOAD_ATTR, name)
            self.expr(node.value)
            b.emit(Op.BINARY_OP, op)
            b.emit(Op.SWAP, 2)
            b.emit(Op.STORE_ATTR, name)
        elif isinstance(target, ast.Subscript):
            # obj; key; COPY 2; COPY 2; BINARY_SUBSCR; value; BINARY_OP; SWAP 3; SWAP 2; STORE_SUBSCR
            self.expr(target.value)
            self.index(target.index)
            b.emit(Op.COPY, 2)
            b.emit(Op.COPY, 2)
            b.emit(Op.BINARY_SUBSCR)
            self.expr(node.value)
            b.emit(Op.BINARY_OP, op)
            b.emit(Op.SWAP, 3)
            b.emit(Op.SWAP, 2)
            b.emit(Op.STORE_SUBSCR)
        else:
            raise self.error("illegal expression for augmented assignment", target)

    def stmt_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self.delete(target)

    def delete(self, target: ast.Expr) -> None:
        b = self.unit.b
        if target.line:
            b.line = target.line
        if isinstance(target, ast.Name):
            self.delete_name(target.id)
        elif isinstance(target, ast.Attribute):
            self.expr(target.value)
            b.emit(Op.DELETE_ATTR, b.add_name(target.attr))
        elif isinstance(target, ast.Subscript):
            self.expr(target.value)
            self.index(target.index)
            b.emit(Op.DELETE_SUBSCR)
        elif isinstance(target, (ast.Tuple, ast.List)):
            for elt in target.elts:
                self.delete(elt)
        elif isinstance(target, ast.Starred):
            raise self.error("cannot delete starred", target)
        else:
            raise self.error("cannot delete expression", target)

    # --- Control flow ---

    def stmt_If(self, node: ast.If) -> None:
        # test; POP_JUMP_IF_FALSE else; body; JUMP_FORWARD end; else: orelse; end:
        b = self.unit.b
        end = Label()
        while True:
            if node.orelse:
                orelse = Label()
                self.jump_if(node.test, False, orelse)
                self.stmts(node.body)
                b.jump_to(end)
                b.place(orelse)
                if len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If):
                    node = node.orelse[0]                    # elif: a loop, not recursion
                    if node.line:
                        b.line = node.line
                    b.node = self.statement = node
                    continue
                self.stmts(node.orelse)
            else:
                self.jump_if(node.test, False, end)
                self.stmts(node.body)
            break
        b.place(end)

    def loop_rest(self, node: ast.While | ast.For, head: Label, orelse: Label, exit_: Label) -> None:
        """body; JUMP_BACKWARD head; else: orelse; exit: -- shared by while and for."""
        b = self.unit.b
        self.stmts(node.body)
        b.line = node.line
        b.jump_to(head)
        self.unit.blocks.pop()
        b.place(orelse)
        self.stmts(node.orelse)
        b.place(exit_)

    def stmt_While(self, node: ast.While) -> None:
        # head: test; POP_JUMP_IF_FALSE else; body; JUMP_BACKWARD head; else: orelse; exit:
        b = self.unit.b
        head, orelse, exit_ = b.here(), Label(), Label()
        self.jump_if(node.test, False, orelse)
        self.push_loop(node, Loop(False, head, exit_))
        self.loop_rest(node, head, orelse, exit_)

    def stmt_For(self, node: ast.For) -> None:
        # iter; GET_ITER; head: FOR_ITER else; store; body; JUMP_BACKWARD head; else: orelse; exit:
        b = self.unit.b
        self.expr(node.iter)
        b.emit(Op.GET_ITER)
        head, orelse, exit_ = b.here(), Label(), Label()
        b.jump(Op.FOR_ITER, orelse)
        self.push_loop(node, Loop(True, head, exit_))
        self.store(node.target)
        self.loop_rest(node, head, orelse, exit_)

    def stmt_Break(self, node: ast.Break) -> None:
        if self.innermost_loop() is None:
            raise self.error("'break' outside loop", node)
        b = self.unit.b
        if b.reachable():
            loop = self.unwind(True, False)
            assert loop is not None
            if loop.is_for:
                b.emit(Op.POP_TOP)                   # the loop's iterator
            b.jump_to(loop.exit)

    def stmt_Continue(self, node: ast.Continue) -> None:
        if self.innermost_loop() is None:
            raise self.error("'continue' not properly in loop", node)
        if self.unit.b.reachable():
            loop = self.unwind(True, False)
            assert loop is not None
            self.unit.b.jump_to(loop.head)

    def stmt_Return(self, node: ast.Return) -> None:
        if not self.unit.scope.is_function:
            raise self.error("'return' outside function", node)
        if node.value is None:
            self.load_const(None)
        else:
            self.expr(node.value)
        if self.unit.blocks:
            self.unwind(False, True)
            self.unit.b.line = node.line
        self.emit(Op.RETURN_VALUE)

    def stmt_Assert(self, node: ast.Assert) -> None:
        # test; POP_JUMP_IF_TRUE end; LOAD_ASSERTION_ERROR; [msg; CALL 1]; RAISE_VARARGS 1; end:
        b = self.unit.b
        end = Label()
        self.jump_if(node.test, True, end)
        b.emit(Op.LOAD_ASSERTION_ERROR)
        if node.msg is not None:
            self.expr(node.msg)
            b.emit(Op.CALL, 1)
        b.emit(Op.RAISE_VARARGS, 1)
        b.place(end)

    # --- Definitions and imports ---

    def stmt_FunctionDef(self, node: ast.FunctionDef) -> None:
        # decorators top to bottom; the function; CALL 1 per decorator, bottom up, at its line
        doc = docstring(node.body)

        def body() -> None:
            if doc is not None:
                self.unit.b.add_docstring(doc)      # consts[0], as CO_DOCSTRING says
            self.stmts(node.body)
            self.implicit_return()
        for decorator in node.decorators:
            self.expr(decorator)
        self.make_function(node, body, 0 if doc is None else CO_DOCSTRING)
        b = self.unit.b
        for decorator in reversed(node.decorators):
            b.emit(Op.CALL, 1, decorator.line or node.line)
        self.store_name(node.name)

    def stmt_ClassDef(self, node: ast.ClassDef) -> None:
        # decorators top to bottom; body function; name; bases...; BUILD_CLASS n; CALL 1 per decorator; store
        scope = self.unit.scope.child(node)
        for decorator in node.decorators:
            self.expr(decorator)

        def body() -> None:
            self.store_docstring(node.body)
            self.setup_annotations(node.body)
            self.stmts(node.body)
            self.load_const(None)
            self.emit(Op.RETURN_VALUE)
        code = self.nested(scope, node.line, CO_CLASS_BODY, body)
        b = self.unit.b
        b.line = node.line
        self.closure_and_make(code, 0)
        self.load_const(node.name)
        for base in node.bases:
            self.expr(base)
        b.line = node.line
        b.emit(Op.BUILD_CLASS, len(node.bases))
        for decorator in reversed(node.decorators):
            b.emit(Op.CALL, 1, decorator.line or node.line)
        self.store_name(node.name)

    def stmt_Import(self, node: ast.Import) -> None:
        # IMPORT_NAME a.b; store c -- `import a.b as c`
        # IMPORT_NAME a.b; POP_TOP; IMPORT_NAME a; store a -- `import a.b` binds the top package
        b = self.unit.b
        for alias in node.names:
            b.emit(Op.IMPORT_NAME, b.add_name(alias.name))
            top = alias.name.split(".")[0]
            if alias.asname is None and top != alias.name:
                b.emit(Op.POP_TOP)
                b.emit(Op.IMPORT_NAME, b.add_name(top))
            self.store_name(alias.asname or top)

    def stmt_ImportFrom(self, node: ast.ImportFrom) -> None:
        # IMPORT_NAME ..m; (IMPORT_FROM a; store a)*; POP_TOP -- or IMPORT_STAR for `*`
        b = self.unit.b
        b.emit(Op.IMPORT_NAME, b.add_name("." * node.level + (node.module or "")))
        if node.names[0].name == "*":
            b.emit(Op.IMPORT_STAR)
            return
        for alias in node.names:
            b.emit(Op.IMPORT_FROM, b.add_name(alias.name))
            self.store_name(alias.asname or alias.name)
        b.emit(Op.POP_TOP)
