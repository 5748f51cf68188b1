"""Name resolution: where every name of every scope lives at run time.

The compiler needs to know, before it emits a single instruction, whether a
name is a fast local, a cell (a local that an inner function captures), a free
variable (captured from an enclosing function) or a global. This module
decides that with CPython's two passes (Python/symtable.c):

1. ``_Collector`` walks the tree once, in source order, and records for each
   scope how each name is used (bound, used, parameter, declared ``global`` or
   ``nonlocal``). Ordering errors ("used prior to global declaration",
   duplicate parameters) are raised here, the first in source order.
2. ``_analyze`` resolves the scopes top-down with the set of names bound by
   enclosing functions, then turns locals that children capture into cells and
   threads free names through the scopes in between, bottom-up.

Scopes are the module, each ``class`` body, each ``def``, each ``lambda`` and
each comprehension (its own function since CPython 3.11, whose only parameter
``.0`` is the iterator of the outermost ``for``). Module-level code keeps every
name global; a class body keeps the names it binds in the class namespace
(Kind.NAME) and hides them from the functions inside it, which reach the class
only through the implicit ``__class__`` cell (zero-argument ``super()``).
"""

from __future__ import annotations

import enum
from typing import Optional

from lang import ast
from lang.syntax_errors import PARAM_ORDER
from pvm.code import CO_VARARGS, CO_VARKEYWORDS
from pvm.errors import PvmCompileError


class Kind(enum.Enum):
    """Where a resolved name lives."""

    FAST = "fast"        # a fast local: varnames
    CELL = "cell"        # a local captured by an inner function: cellvars
    FREE = "free"        # captured from an enclosing function: freevars
    GLOBAL = "global"    # module globals (then builtins)
    NAME = "name"        # a class body's namespace (then globals, then builtins)


# Usage flags recorded by the collector (as CPython's DEF_* flags).
DEF_PARAM = 1
DEF_LOCAL = 2          # assigned, deleted, loop target, def name
DEF_IMPORT = 4
USE = 8
DEF_GLOBAL = 16
DEF_NONLOCAL = 32
DEF_BOUND = DEF_PARAM | DEF_LOCAL | DEF_IMPORT

_COMPREHENSION_NAMES = {ast.ListComp: "<listcomp>", ast.SetComp: "<setcomp>", ast.DictComp: "<dictcomp>",
                        ast.GeneratorExp: "<genexpr>"}
_COMPREHENSION_KINDS = {ast.ListComp: "list comprehension", ast.SetComp: "set comprehension",
                        ast.DictComp: "dict comprehension", ast.GeneratorExp: "generator expression"}


class Scope:
    """One code object's names: usage while collecting, resolution afterwards."""

    def __init__(self, kind: str, name: str, node: ast.Node, parent: Optional[Scope]) -> None:
        self.kind = kind                     # 'module' | 'class' | 'function' | 'lambda' | 'comprehension'
        self.name = name
        self.node = node
        self.parent = parent
        self.children: list[Scope] = []
        self.child_scopes: dict[ast.Node, Scope] = {}
        self.params: list[str] = []          # parameter names in varnames order
        self.argcount = 0                    # positional parameters
        self.kwonlyargcount = 0
        self.param_flags = 0                 # CO_VARARGS | CO_VARKEYWORDS
        self.flags: dict[str, int] = {}      # insertion order = first appearance
        self.directives: dict[str, ast.Node] = {}   # first global/nonlocal statement per name
        self.qualname = name
        self.kinds: dict[str, Kind] = {}
        self.explicit_globals: set[str] = set()
        self.varnames: tuple[str, ...] = ()
        self.cellvars: tuple[str, ...] = ()
        self.freevars: tuple[str, ...] = ()
        self.cell_params: tuple[int, ...] = ()
        self.slots: dict[str, tuple[Kind, int]] = {}    # resolve()'s answers, set by _finish
        self.generator = isinstance(node, ast.GeneratorExp)   # contains yield: calls make generators
        if parent is not None:
            parent.children.append(self)
            parent.child_scopes[node] = self

    @property
    def is_function(self) -> bool:
        return self.kind not in ("module", "class")

    def child(self, node: ast.Node) -> Scope:
        """The scope that ``node`` (a def, lambda or comprehension) opens."""
        return self.child_scopes[node]

    def resolve(self, name: str) -> tuple[Kind, int]:
        """``(kind, operand index)`` for ``name``; the index is -1 for globals
        (the compiler adds the name to ``code.names`` itself)."""
        if self.kind == "module":
            return Kind.GLOBAL, -1
        return self.slots[name]

    def __repr__(self) -> str:
        return f"<Scope {self.kind} {self.qualname}>"


def docstring(body: list[ast.Stmt]) -> str | None:
    """The string a body begins with, as CPython's __doc__ takes it (f-strings do not count)."""
    first = body[0] if body else None
    if isinstance(first, ast.ExprStmt) and isinstance(first.value, ast.Constant) and type(first.value.value) is str:
        return first.value.value
    return None


def analyze(module: ast.Module, filename: str) -> Scope:
    """Resolve every name of ``module``; returns the module scope.

    Raises PvmCompileError with CPython's wording for misplaced or conflicting
    ``global``/``nonlocal`` declarations and duplicate parameters.
    """
    top = Scope("module", "<module>", module, None)
    _Collector(filename).collect(top, module.body)
    _analyze(top, None, set(), filename)
    _finish(top)
    return top


# --- Pass 1: collect usage ---

class _Collector:
    """Walks the tree recording name usage per scope."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.scope: Scope

    def error(self, message: str, node: ast.Node) -> PvmCompileError:
        return PvmCompileError(message, self.filename, node.line, node.col, "")

    def collect(self, scope: Scope, body: list[ast.Stmt]) -> None:
        self.scope = scope
        if not scope.is_function and docstring(body) is not None:
            self.add("__doc__", DEF_LOCAL, body[0])     # the compiler stores the docstring there
        for stmt in body:
            self.visit(stmt)

    def add(self, name: str, flag: int, node: ast.Node) -> None:
        flags = self.scope.flags.get(name, 0)
        if flag & DEF_PARAM and flags & DEF_PARAM:
            raise self.error(f"duplicate argument '{name}' in function definition", node)
        self.scope.flags[name] = flags | flag

    def visit(self, node: ast.Node) -> None:
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is not None:
            method(node)
        else:
            self.generic(node)

    def generic(self, node: ast.Node) -> None:
        for value in vars(node).values():
            if isinstance(value, ast.Node):
                self.visit(value)
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.Node):
                        self.visit(item)

    # --- Names and binding targets ---

    def visit_BinOp(self, node: ast.BinOp) -> None:
        rights = []
        left: ast.Expr = node
        while isinstance(left, ast.BinOp):        # a + b + c ...: a loop, not recursion
            rights.append(left.right)
            left = left.left
        self.visit(left)
        for right in reversed(rights):
            self.visit(right)

    def visit_Name(self, node: ast.Name) -> None:
        self.add(node.id, USE, node)
        if node.id == "super" and self.scope.is_function:
            self.add("__class__", USE, node)      # zero-argument super() reads the class cell

    def target(self, node: ast.Expr) -> None:
        """A store or delete target: names are bound, everything else is read."""
        if isinstance(node, ast.Name):
            self.add(node.id, DEF_LOCAL, node)
        elif isinstance(node, (ast.Tuple, ast.List)):
            for elt in node.elts:
                self.target(elt)
        elif isinstance(node, ast.Starred):
            self.target(node.value)
        else:
            self.visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self.target(target)
        self.visit(node.value)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.target(node.target)
        if not self.scope.is_function:       # a function never evaluates its annotations
            self.visit(node.annotation)
            if isinstance(node.target, ast.Name):   # recorded in the body's __annotations__
                self.add("__annotations__", DEF_LOCAL, node)
                self.add("__annotations__", USE, node)
        if node.value is not None:
            self.visit(node.value)

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            self.visit(item.context)
            if item.target is not None:
                self.target(item.target)
        for stmt in node.body:
            self.visit(stmt)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self.target(node.target)
        self.visit(node.value)

    def visit_If(self, node: ast.If) -> None:
        while True:                                # an elif chain: a loop, not recursion
            self.visit(node.test)
            for stmt in node.body:
                self.visit(stmt)
            if len(node.orelse) == 1 and isinstance(node.orelse[0], ast.If):
                node = node.orelse[0]
                continue
            for stmt in node.orelse:
                self.visit(stmt)
            return

    def visit_For(self, node: ast.For) -> None:
        self.target(node.target)
        self.visit(node.iter)
        for stmt in node.body + node.orelse:
            self.visit(stmt)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            self.target(target)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.add(alias.asname or alias.name.split(".")[0], DEF_IMPORT, alias)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.names[0].name == "*":
            if self.scope.kind != "module":
                raise self.error("import * only allowed at module level", node)
            return
        for alias in node.names:
            self.add(alias.asname or alias.name, DEF_IMPORT, alias)

    # --- Declarations ---

    def visit_Global(self, node: ast.Global) -> None:
        self.declare(node, node.names, DEF_GLOBAL, "global")

    def visit_Nonlocal(self, node: ast.Nonlocal) -> None:
        self.declare(node, node.names, DEF_NONLOCAL, "nonlocal")

    def declare(self, node: ast.Stmt, names: list[str], flag: int, word: str) -> None:
        for name in names:
            flags = self.scope.flags.get(name, 0)
            if flags & DEF_PARAM:
                raise self.error(f"name '{name}' is parameter and {word}", node)
            if flags & USE:
                raise self.error(f"name '{name}' is used prior to {word} declaration", node)
            if flags & DEF_LOCAL:
                raise self.error(f"name '{name}' is assigned to before {word} declaration", node)
            self.add(name, flag, node)
            self.scope.directives.setdefault(name, node)

    # --- Scopes ---

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is not None:
            self.visit(node.type)
        if node.name is not None:
            self.add(node.name, DEF_LOCAL, node)
        for stmt in node.body:
            self.visit(stmt)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for decorator in node.decorators:
            self.visit(decorator)
        for base in node.bases:
            self.visit(base)
        self.add(node.name, DEF_LOCAL, node)
        outer = self.scope
        self.collect(Scope("class", node.name, node, outer), node.body)
        self.scope = outer

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.add(node.name, DEF_LOCAL, node)
        self.function(Scope("function", node.name, node, self.scope), node.params, node.body, node.decorators)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.function(Scope("lambda", "<lambda>", node, self.scope), node.params, [node.body], [])

    def function(self, scope: Scope, params: list[ast.Param], body: list[ast.Node],
                 decorators: list[ast.Expr]) -> None:
        """Defaults and decorators belong to the enclosing scope (visited in
        CPython's order); parameters are laid out as CPython's varnames are:
        positional, keyword-only, then *args, then **kwargs."""
        for param in params:
            if param.default is not None:
                self.visit(param.default)
        for decorator in decorators:
            self.visit(decorator)
        outer = self.scope
        self.scope = scope
        for param in sorted(params, key=lambda p: PARAM_ORDER[p.kind]):
            self.add(param.name, DEF_PARAM, param)
            scope.params.append(param.name)
        kinds = [param.kind for param in params]
        scope.argcount = kinds.count("positional")
        scope.kwonlyargcount = kinds.count("kwonly")
        scope.param_flags = (CO_VARARGS if "vararg" in kinds else 0) | (CO_VARKEYWORDS if "kwarg" in kinds else 0)
        for item in body:
            self.visit(item)
        self.scope = outer

    def visit_Yield(self, node: ast.Yield | ast.YieldFrom) -> None:
        scope = self.scope
        if scope.kind in ("module", "class"):
            raise self.error(f"'{'yield from' if isinstance(node, ast.YieldFrom) else 'yield'}' outside function", node)
        if scope.kind == "comprehension":
            raise self.error(f"'yield' inside {_COMPREHENSION_KINDS[type(scope.node)]}", node)
        scope.generator = True
        if node.value is not None:
            self.visit(node.value)

    visit_YieldFrom = visit_Yield

    def visit_GeneratorExp(self, node: ast.GeneratorExp) -> None:
        self.comprehension(node, [node.elt])

    def visit_ListComp(self, node: ast.ListComp) -> None:
        self.comprehension(node, [node.elt])

    def visit_SetComp(self, node: ast.SetComp) -> None:
        self.comprehension(node, [node.elt])

    def visit_DictComp(self, node: ast.DictComp) -> None:
        self.comprehension(node, [node.value, node.key])

    def comprehension(self, node: ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp,
                      results: list[ast.Expr]) -> None:
        first, *rest = node.generators
        self.visit(first.iter)
        outer = self.scope
        self.scope = Scope("comprehension", _COMPREHENSION_NAMES[type(node)], node, outer)
        self.add(".0", DEF_PARAM, node)
        self.scope.params.append(".0")
        self.scope.argcount = 1
        self.target(first.target)
        for cond in first.ifs:
            self.visit(cond)
        for gen in rest:
            self.target(gen.target)
            self.visit(gen.iter)
            for cond in gen.ifs:
                self.visit(cond)
        for result in results:
            self.visit(result)
        self.scope = outer


# --- Pass 2: resolve ---

def _analyze(scope: Scope, bound: Optional[set[str]], globals_: set[str], filename: str) -> set[str]:
    """Resolve ``scope`` given the names enclosing functions bind (``bound``,
    None at module level) and the names they declare global; returns the
    names free in ``scope`` or below that an enclosing function must supply."""
    bound = set(bound) if bound is not None else None
    globals_ = set(globals_)
    local: set[str] = set()
    free: set[str] = set()
    for name, flags in scope.flags.items():
        scope.kinds[name] = _analyze_name(scope, name, flags, bound, local, free, globals_, filename)
    child_bound = set(local) if scope.is_function else set()
    if bound is not None:
        child_bound |= bound
    if scope.kind == "class":
        child_bound.add("__class__")
    child_free: set[str] = set()
    for child in scope.children:
        child_free |= _analyze(child, child_bound, globals_, filename)
    if scope.kind == "class" and "__class__" in child_free:
        scope.kinds["__class__"] = Kind.CELL
        child_free.discard("__class__")
    for name in sorted(child_free):
        if scope.kinds.get(name) is Kind.FAST and scope.is_function:
            scope.kinds[name] = Kind.CELL
            child_free.discard(name)
        elif name not in scope.kinds and bound is not None and name in bound:
            scope.kinds[name] = Kind.FREE
    return free | child_free


def _analyze_name(scope: Scope, name: str, flags: int, bound: Optional[set[str]],
                  local: set[str], free: set[str], globals_: set[str], filename: str) -> Kind:
    if flags & DEF_GLOBAL:
        if flags & DEF_NONLOCAL:
            raise _directive_error(scope, name, f"name '{name}' is nonlocal and global", filename)
        scope.explicit_globals.add(name)
        globals_.add(name)
        if bound is not None:
            bound.discard(name)
        return Kind.GLOBAL
    if flags & DEF_NONLOCAL:
        if bound is None:
            raise _directive_error(scope, name, "nonlocal declaration not allowed at module level", filename)
        if name not in bound:
            raise _directive_error(scope, name, f"no binding for nonlocal '{name}' found", filename)
        free.add(name)
        return Kind.FREE
    if flags & DEF_BOUND:
        local.add(name)
        globals_.discard(name)
        return Kind.FAST if scope.is_function else Kind.NAME if scope.kind == "class" else Kind.GLOBAL
    if bound is not None and name in bound:
        free.add(name)
        return Kind.FREE
    return Kind.GLOBAL


def _directive_error(scope: Scope, name: str, message: str, filename: str) -> PvmCompileError:
    node = scope.directives[name]
    return PvmCompileError(message, filename, node.line, node.col, "")


def _finish(scope: Scope) -> None:
    """Lay out varnames/cellvars/freevars in CPython's order (parameters, then
    locals by first appearance; captured parameters, then the other cells
    sorted; free variables sorted) and set qualnames."""
    if scope.parent is not None:
        scope.qualname = _qualname(scope)
    if scope.kind != "module":
        others = [n for n, k in scope.kinds.items() if k is Kind.FAST and n not in scope.params]
        scope.varnames = tuple(scope.params) + tuple(others)
        cells = {n for n, k in scope.kinds.items() if k is Kind.CELL}
        scope.cellvars = tuple(n for n in scope.params if n in cells) + tuple(sorted(cells - set(scope.params)))
        scope.freevars = tuple(sorted(n for n, k in scope.kinds.items() if k is Kind.FREE))
        scope.cell_params = tuple(scope.params.index(n) if n in scope.params else -1 for n in scope.cellvars)
        fast = {name: index for index, name in enumerate(scope.varnames)}
        deref = {name: index for index, name in enumerate(scope.cellvars + scope.freevars)}
        for name, kind in scope.kinds.items():
            index = fast[name] if kind is Kind.FAST else -1 if kind in (Kind.GLOBAL, Kind.NAME) else deref[name]
            scope.slots[name] = (kind, index)
    for child in scope.children:
        _finish(child)


def _qualname(scope: Scope) -> str:
    parent = scope.parent
    assert parent is not None
    if scope.kind == "function" and scope.name in parent.explicit_globals:
        return scope.name
    if parent.kind in ("function", "lambda"):
        return f"{parent.qualname}.<locals>.{scope.name}"
    if parent.kind in ("comprehension", "class"):
        return f"{parent.qualname}.{scope.name}"
    return scope.name
