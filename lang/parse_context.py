"""The state of one parse, shared by the postlexer (lang.parser), the AST
callbacks (lang.astbuilder) and the error wording (lang.syntax_errors).

The context is per thread and installed by ``lang.parser.parse``, so the one
Lark parser of the process can serve several threads, and can re-enter itself
to parse an f-string's replacement fields in the middle of a parse.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Callable, Optional

from lark import Token

from lang import ast
from pvm.errors import PvmCompileError, PvmSyntaxError

_context = threading.local()


class ParseContext:
    """Per-parse state shared by the postlexer, the callbacks and error translation."""

    def __init__(self, filename: str, text: str, parse_expr: Callable[[str, int, int], ast.Expr]) -> None:
        self.filename = filename
        self.text = text
        self.lines = text.split("\n")
        self.parse_expr = parse_expr
        self.refusals: list[PvmCompileError] = []
        self.depth: dict[ast.Node, int] = {}
        # Outer span of parenthesised expressions: a parent's span includes the brackets.
        self.parenthesized: dict[ast.Node, tuple[Token, Token]] = {}
        # While an f-string field is parsed: its text is lexed on its own, so
        # token lines are shifted by line_offset to point into the file.
        self.expr_mode = False
        self.line_offset = 0
        # Kept up to date by the postlexer, read when a syntax error is explained.
        self.last: Optional[Token] = None
        self.prev: Optional[Token] = None
        self.line_first: Optional[Token] = None
        self.prev_line_first: Optional[Token] = None
        self.parens: list[Token] = []
        self.tokenizer_failure: Optional[PvmSyntaxError] = None

    def source_line(self, line: int) -> str:
        return self.lines[line - 1] if 0 < line <= len(self.lines) else ""

    def error(self, message: str, line: int, col: int) -> PvmSyntaxError:
        return PvmSyntaxError(message, self.filename, line, col, self.source_line(line))

    def tokenizer_error(self, message: str, line: int, col: int) -> PvmSyntaxError:
        """An error of the token stream itself, which no later error overrides."""
        self.tokenizer_failure = self.error(message, line, col)
        return self.tokenizer_failure

    def error_at(self, message: str, where: Any) -> PvmSyntaxError:
        line, col = start_of(where)
        return self.error(message, line, col)

    def unsupported(self, feature: str, where: Any) -> PvmCompileError:
        """The error for a feature outside pvm's subset; it reads '<x> is/are not supported'."""
        line, col = start_of(where)
        return PvmCompileError(feature, self.filename, line, col, self.source_line(line))

    def refuse(self, feature: str, where: Any) -> None:
        """Record an unsupported feature, to be raised if the whole file parses."""
        self.refusals.append(self.unsupported(feature, where))

    def lexstate(self) -> tuple:
        """The postlexer's state, saved around the parse of an f-string field."""
        return (self.expr_mode, self.line_offset, self.last, self.prev, self.line_first,
                self.prev_line_first, self.parens)

    def restore_lexstate(self, state: tuple) -> None:
        (self.expr_mode, self.line_offset, self.last, self.prev, self.line_first,
         self.prev_line_first, self.parens) = state


def current() -> ParseContext:
    return _context.ctx


def set_current(ctx: Optional[ParseContext]) -> Optional[ParseContext]:
    """Install ``ctx`` for this thread; return the one it replaces."""
    previous = getattr(_context, "ctx", None)
    _context.ctx = ctx
    return previous


def start_of(x: Any) -> tuple[int, int]:
    """Where a token or node starts, brackets around the node included."""
    if isinstance(x, Token):
        return x.line, x.column
    brackets = _context.ctx.parenthesized.get(x)
    if brackets is not None:
        return brackets[0].line, brackets[0].column
    return x.line, x.col


def end_of(x: Any) -> tuple[int, int]:
    if isinstance(x, Token):
        return x.end_line, x.end_column
    brackets = _context.ctx.parenthesized.get(x)
    if brackets is not None:
        return brackets[1].end_line, brackets[1].end_column
    return x.end_line, x.end_col


@dataclass(eq=False)
class Refused(ast.Expr):
    """Stands in for a refused expression (yield, await, ...) until the refusal is raised."""

    kind: str
