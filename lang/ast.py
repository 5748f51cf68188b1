"""The AST: dataclasses with source spans, built by lang.parser, read by
lang.scope and lang.compiler.

Node names and fields follow Python's own ``ast`` module where the subset
overlaps, so a reader who knows one knows the other. Every node carries
``line``/``col`` (1-based line, 1-based column) and ``end_line``/``end_col``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional


@dataclass(eq=False)
class Node:
    line: int = field(default=0, kw_only=True)
    col: int = field(default=0, kw_only=True)
    end_line: int = field(default=0, kw_only=True)
    end_col: int = field(default=0, kw_only=True)


# --- Expressions ---

@dataclass(eq=False)
class Expr(Node):
    pass


@dataclass(eq=False)
class Name(Expr):
    id: str


@dataclass(eq=False)
class Constant(Expr):
    value: Any                      # None, bool, int, float, str (an adjacent-literal concatenation is one Constant)


@dataclass(eq=False)
class BinOp(Expr):
    left: Expr
    op: str                         # '+', '-', '*', '/', '//', '%', '**', '<<', '>>', '&', '|', '^'
    right: Expr


@dataclass(eq=False)
class UnaryOp(Expr):
    op: str                         # '-', '+', '~', 'not'
    operand: Expr


@dataclass(eq=False)
class BoolOp(Expr):
    op: str                         # 'and' | 'or'
    values: list[Expr]              # two or more


@dataclass(eq=False)
class Compare(Expr):
    left: Expr
    ops: list[str]                  # '<', '<=', '==', '!=', '>', '>=', 'is', 'is not', 'in', 'not in'
    comparators: list[Expr]


@dataclass(eq=False)
class IfExp(Expr):
    test: Expr
    body: Expr
    orelse: Expr


@dataclass(eq=False)
class Keyword(Node):
    arg: Optional[str]              # None for a `**mapping` argument
    value: Expr


@dataclass(eq=False)
class Call(Expr):
    func: Expr
    args: list[Expr]                # may contain Starred (`*iterable`), evaluated before every keyword
    keywords: list[Keyword]


@dataclass(eq=False)
class Attribute(Expr):
    value: Expr
    attr: str


@dataclass(eq=False)
class Subscript(Expr):
    value: Expr
    index: Expr                     # an Expr, a Slice, or a Tuple that may contain Slices


@dataclass(eq=False)
class Slice(Expr):
    lower: Optional[Expr]
    upper: Optional[Expr]
    step: Optional[Expr]


@dataclass(eq=False)
class Starred(Expr):
    value: Expr                     # only in displays, call arguments and assignment targets


@dataclass(eq=False)
class Tuple(Expr):
    elts: list[Expr]


@dataclass(eq=False)
class List(Expr):
    elts: list[Expr]


@dataclass(eq=False)
class Set(Expr):
    elts: list[Expr]


@dataclass(eq=False)
class Dict(Expr):
    keys: list[Optional[Expr]]      # None marks a `**mapping` entry, whose mapping is in values
    values: list[Expr]


@dataclass(eq=False)
class Comprehension(Node):
    target: Expr
    iter: Expr
    ifs: list[Expr]


@dataclass(eq=False)
class ListComp(Expr):
    elt: Expr
    generators: list[Comprehension]


@dataclass(eq=False)
class GeneratorExp(Expr):
    elt: Expr
    generators: list[Comprehension]


@dataclass(eq=False)
class Yield(Expr):
    value: Optional[Expr]


@dataclass(eq=False)
class YieldFrom(Expr):
    value: Expr


@dataclass(eq=False)
class SetComp(Expr):
    elt: Expr
    generators: list[Comprehension]


@dataclass(eq=False)
class DictComp(Expr):
    key: Expr
    value: Expr
    generators: list[Comprehension]


@dataclass(eq=False)
class Param(Node):
    """One parameter; a def's or lambda's are in source order: positional,
    at most one vararg, keyword-only, at most one kwarg."""

    name: str
    default: Optional[Expr]         # never for a vararg or kwarg
    kind: str = "positional"        # 'positional', 'vararg' (*args), 'kwonly' or 'kwarg' (**kwargs)


@dataclass(eq=False)
class Lambda(Expr):
    params: list[Param]
    body: Expr


@dataclass(eq=False)
class FormattedValue(Expr):
    value: Expr
    conversion: Optional[str]       # None, 's', 'r', 'a'
    format_spec: Optional["JoinedStr"]


@dataclass(eq=False)
class JoinedStr(Expr):
    values: list[Expr]              # Constant(str) and FormattedValue parts, in order


# --- Statements ---

@dataclass(eq=False)
class Stmt(Node):
    pass


@dataclass(eq=False)
class ExprStmt(Stmt):
    value: Expr


@dataclass(eq=False)
class Assign(Stmt):
    targets: list[Expr]             # `a = b = value` has two targets, left to right
    value: Expr


@dataclass(eq=False)
class AnnAssign(Stmt):
    target: Expr                    # Name, Attribute or Subscript
    annotation: Expr                # evaluated and recorded only for a plain name in a module or class body
    value: Optional[Expr]


@dataclass(eq=False)
class AugAssign(Stmt):
    target: Expr                    # Name, Attribute or Subscript
    op: str                         # '+', '-', ... (the operator without '=')
    value: Expr


@dataclass(eq=False)
class If(Stmt):
    test: Expr
    body: list[Stmt]
    orelse: list[Stmt]              # an `elif` is a nested If as the only statement here


@dataclass(eq=False)
class While(Stmt):
    test: Expr
    body: list[Stmt]
    orelse: list[Stmt]


@dataclass(eq=False)
class For(Stmt):
    target: Expr
    iter: Expr
    body: list[Stmt]
    orelse: list[Stmt]


@dataclass(eq=False)
class Break(Stmt):
    pass


@dataclass(eq=False)
class Continue(Stmt):
    pass


@dataclass(eq=False)
class Pass(Stmt):
    pass


@dataclass(eq=False)
class FunctionDef(Stmt):
    name: str
    params: list[Param]
    body: list[Stmt]
    decorators: list[Expr] = field(default_factory=list)   # top to bottom, as written


@dataclass(eq=False)
class ClassDef(Stmt):
    name: str
    bases: list[Expr]
    body: list[Stmt]
    decorators: list[Expr] = field(default_factory=list)   # top to bottom, as written


@dataclass(eq=False)
class Raise(Stmt):
    exc: Optional[Expr]
    cause: Optional[Expr]


@dataclass(eq=False)
class ExceptHandler(Node):
    type: Optional[Expr]            # None: a bare `except:`
    name: Optional[str]
    body: list[Stmt]


@dataclass(eq=False)
class Try(Stmt):
    body: list[Stmt]
    handlers: list[ExceptHandler]
    orelse: list[Stmt]
    finalbody: list[Stmt]


@dataclass(eq=False)
class Return(Stmt):
    value: Optional[Expr]


@dataclass(eq=False)
class Global(Stmt):
    names: list[str]


@dataclass(eq=False)
class Nonlocal(Stmt):
    names: list[str]


@dataclass(eq=False)
class Delete(Stmt):
    targets: list[Expr]


@dataclass(eq=False)
class Assert(Stmt):
    test: Expr
    msg: Optional[Expr]


@dataclass(eq=False)
class Alias(Node):
    name: str                       # dotted module name for Import, attribute name for ImportFrom
    asname: Optional[str]


@dataclass(eq=False)
class Import(Stmt):
    names: list[Alias]


@dataclass(eq=False)
class ImportFrom(Stmt):
    module: Optional[str]           # dotted; None for `from . import x`
    names: list[Alias]              # one Alias '*' for a star import
    level: int = 0                  # leading dots: 0 absolute, 1 this package, 2 its parent...


@dataclass(eq=False)
class WithItem(Node):
    context: Expr
    target: Optional[Expr]


@dataclass(eq=False)
class With(Stmt):
    items: list[WithItem]
    body: list[Stmt]


@dataclass(eq=False)
class Module(Node):
    body: list[Stmt]
