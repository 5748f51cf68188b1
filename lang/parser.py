"""pvm's parser: source text to lang.ast, with CPython's syntax errors.

``parse`` runs Lark's LALR parser over lang/grammar.lark. ``PythonIndenter``
(the postlexer) turns newlines into INDENT/DEDENT, enforces CPython's
tokenizer limits (200 nested brackets, 100 indentation levels, tab/space
consistency) and remembers the last tokens so a failure can be explained.
lang.astbuilder builds the AST during the parse; lang.syntax_errors words
the errors. f-string replacement fields are parsed by the same grammar
(start rule ``fstring_expr``); the postlexer moves their tokens to the
fields' positions in the file.

The Lark object is built on first use and cached on disk (a pickle of the
LALR tables in a directory only this user can write), which keeps start-up
fast. ``propagate_positions`` is off: it only annotates Lark Tree nodes,
which are never built here (positions come from the tokens), and it would
cost about a fifth of the parse time.

Whatever the input, ``parse`` raises only PvmSyntaxError (and its subclass
PvmCompileError for features outside pvm's subset).
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import Iterator, Optional

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput
from lark.indenter import Indenter

from lang import ast
from lang.astbuilder import MAX_EXPR_DEPTH, AstBuilder
from lang.parse_context import ParseContext, current, set_current
from lang.syntax_errors import explain, lexer_error
from pvm.codecache import private_directory
from pvm.errors import PvmCompileError, PvmSyntaxError
from pvm.loader import cache_enabled

GRAMMAR = Path(__file__).with_name("grammar.lark")
MAX_PAREN_DEPTH = 200       # CPython's MAXLEVEL
MAX_INDENT_DEPTH = 100      # CPython's MAXINDENT
TAB_SIZE = 8

_CLOSERS = {"RPAR": "LPAR", "RSQB": "LSQB", "RBRACE": "LBRACE"}
# Each prefix operator nests one level deeper: a long run of them is refused
# before the parser has to shift them all.
_PREFIX_OPERATORS = {"NOT", "MINUS", "PLUS", "TILDE"}

_lark: Optional[Lark] = None
_lark_lock = threading.Lock()


# --- Indentation and bracket tracking ---

def _indent_columns(indent: str) -> tuple[int, int]:
    """Columns of an indentation with tabs of 8 and of 1, as CPython's tokenizer counts."""
    col = alt = 0
    for ch in indent:
        if ch == " ":
            col += 1
            alt += 1
        elif ch == "\t":
            col = (col // TAB_SIZE + 1) * TAB_SIZE
            alt += 1
        else:                       # form feed resets the count
            col = alt = 0
    return col, alt


class PythonIndenter(Indenter):
    """Python's layout rules as a Lark postlexer (state lives in the ParseContext)."""

    NL_type = "_NEWLINE"
    OPEN_PAREN_types = ["LPAR", "LSQB", "LBRACE"]
    CLOSE_PAREN_types = ["RPAR", "RSQB", "RBRACE"]
    INDENT_type = "_INDENT"
    DEDENT_type = "_DEDENT"
    tab_len = TAB_SIZE

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        ctx = current()
        ctx.parens = []
        ctx.last = ctx.prev = ctx.line_first = ctx.prev_line_first = None
        return self._tokens(stream, ctx)

    def _tokens(self, stream: Iterator[Token], ctx: ParseContext) -> Iterator[Token]:
        parens = ctx.parens
        # An f-string field is parsed as if inside brackets: newlines are ignored.
        base = 1 if ctx.expr_mode else 0
        line_offset = ctx.line_offset
        levels = [(0, 0)]
        prefix_run = 0
        for tok in stream:
            kind = tok.type
            if line_offset:
                tok.line += line_offset
                tok.end_line += line_offset
            if kind in _PREFIX_OPERATORS:
                prefix_run += 1
                if prefix_run >= MAX_EXPR_DEPTH:
                    raise ctx.tokenizer_error("expression is too deeply nested", tok.line, tok.column)
            else:
                prefix_run = 0
            if kind == "_NEWLINE":
                if parens or base:
                    continue
                ctx.prev, ctx.last = ctx.last, tok
                ctx.prev_line_first, ctx.line_first = ctx.line_first, None
                yield tok
                yield from self._layout(tok, levels, ctx)
                continue
            if ctx.line_first is None:
                if ctx.last is None and not base and _indent_columns(ctx.source_line(tok.line)[:tok.column - 1])[0]:
                    raise ctx.tokenizer_error("unexpected indent", tok.line, tok.column - 1)
                ctx.line_first = tok
            if kind in _CLOSERS:
                if not parens:
                    raise ctx.tokenizer_error(f"unmatched '{tok}'", tok.line, tok.column)
                opener = parens.pop()
                if opener.type != _CLOSERS[kind]:
                    where = f" on line {opener.line}" if opener.line != tok.line else ""
                    raise ctx.tokenizer_error(f"closing parenthesis '{tok}' does not match opening "
                                              f"parenthesis '{opener}'{where}", tok.line, tok.column)
            elif kind in ("LPAR", "LSQB", "LBRACE"):
                if len(parens) + base >= MAX_PAREN_DEPTH:
                    raise ctx.tokenizer_error("too many nested parentheses", tok.line, tok.column)
                parens.append(tok)
            ctx.prev, ctx.last = ctx.last, tok
            yield tok
        if parens:
            opener = parens[-1]
            raise ctx.tokenizer_error(f"'{opener}' was never closed", opener.line, opener.column)
        while len(levels) > 1:
            levels.pop()
            yield self._dedent(ctx)

    def _layout(self, nl: Token, levels: list, ctx: ParseContext) -> Iterator[Token]:
        """INDENT/DEDENT tokens for the indentation that ends newline token ``nl``."""
        indent = nl[nl.rfind("\n") + 1:]
        line = nl.end_line
        col, alt = _indent_columns(indent)
        top, top_alt = levels[-1]
        if col > top:
            if alt <= top_alt:
                raise ctx.tokenizer_error("inconsistent use of tabs and spaces in indentation", line, 1)
            if len(levels) >= MAX_INDENT_DEPTH:
                raise ctx.tokenizer_error("too many levels of indentation", line, 1)
            levels.append((col, alt))
            yield Token(self.INDENT_type, indent, nl.end_pos, line, max(len(indent), 1), line,
                        len(indent) + 1, nl.end_pos)
            return
        while col < levels[-1][0]:
            levels.pop()
            yield Token(self.DEDENT_type, indent, nl.end_pos, line, len(indent) + 1, line,
                        len(indent) + 1, nl.end_pos)
        if col != levels[-1][0]:
            raise ctx.tokenizer_error("unindent does not match any outer indentation level", line,
                                      len(ctx.source_line(line)) + 1)
        if alt != levels[-1][1]:
            raise ctx.tokenizer_error("inconsistent use of tabs and spaces in indentation", line, 1)

    def _dedent(self, ctx: ParseContext) -> Token:
        line = len(ctx.lines)
        return Token(self.DEDENT_type, "", len(ctx.text), line, 1, line, 1, len(ctx.text))


# --- Building the parser ---

def _cache_file() -> Optional[str]:
    """Where the parser's tables are cached, in pvm's private cache folder, or None."""
    directory = private_directory() if cache_enabled() else None
    if directory is None:
        return None
    return os.path.join(directory, f"grammar-{hashlib.sha256(GRAMMAR.read_bytes()).hexdigest()[:16]}.lark-cache")


def _parser() -> Lark:
    """The process's Lark parser, built (or loaded from the cache) on first use."""
    global _lark
    if _lark is None:
        with _lark_lock:
            if _lark is None:
                _lark = Lark.open(str(GRAMMAR), rel_to=__file__, parser="lalr", lexer="basic",
                                  start=["file_input", "fstring_expr"], postlex=PythonIndenter(),
                                  transformer=AstBuilder(), propagate_positions=False,
                                  maybe_placeholders=True, cache=_cache_file() or False)
    return _lark


# --- Entry points ---

def parse(source: str, filename: str) -> ast.Module:
    """Parse a module.

    Args:
        source: the program text.
        filename: used in error messages only.

    Returns:
        The lang.ast.Module.

    Raises:
        PvmSyntaxError: the text is not valid Python 3.11.
        PvmCompileError: it is valid, but uses a feature pvm does not support.
    """
    text = source.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    ctx = ParseContext(filename, text, _parse_field)
    previous = set_current(ctx)
    try:
        module = _parse_module(ctx)
    except PvmSyntaxError:
        raise
    except (RecursionError, MemoryError):
        where = ctx.last
        raise ctx.error("too complex", where.line if where else 1, where.column if where else 1) from None
    except Exception as exc:
        raise ctx.error(f"invalid syntax (internal parser error: {type(exc).__name__}: {exc})", 1, 1) from None
    finally:
        set_current(previous)
    return module


def _parse_module(ctx: ParseContext) -> ast.Module:
    nul = ctx.text.find("\0")
    if nul >= 0:
        line = ctx.text.count("\n", 0, nul) + 1
        raise ctx.error("source code cannot contain null bytes", line, nul - ctx.text.rfind("\n", 0, nul))
    try:
        module = _parser().parse(ctx.text, start="file_input")
    except UnexpectedCharacters as exc:
        raise lexer_error(ctx, ctx.text, exc.pos_in_stream, exc.line, exc.column) from None
    except UnexpectedInput as exc:
        raise _later_tokenizer_error(ctx, explain(exc, ctx, ctx.text)) from None
    except PvmCompileError:
        raise
    except PvmSyntaxError as error:
        if error is ctx.tokenizer_failure:
            raise
        raise _later_tokenizer_error(ctx, error) from None
    if ctx.refusals:
        raise min(ctx.refusals, key=lambda e: (e.line, e.col))
    return module


def _later_tokenizer_error(ctx: ParseContext, error: PvmSyntaxError) -> PvmSyntaxError:
    """The error to report for a parser error: like CPython, a tokenizer error
    anywhere in the file wins, and so does a bracket left open on an earlier line."""
    if isinstance(error, PvmCompileError):
        return error
    try:
        for _ in _parser().lex(ctx.text):
            pass
    except UnexpectedCharacters as exc:
        return lexer_error(ctx, ctx.text, exc.pos_in_stream, exc.line, exc.column)
    except PvmSyntaxError as later:
        never_closed = later.message.endswith("was never closed")
        if never_closed and later.line >= error.line and (later.line, later.col) != (error.line, error.col):
            return error
        return later
    return error


def _parse_field(text: str, line: int, col: int) -> ast.Expr:
    """Parse an f-string replacement field found at (line, col) of the file."""
    ctx = current()
    saved = ctx.lexstate()
    ctx.expr_mode = True
    ctx.line_offset = line - 1
    padded = " " * (col - 1) + text
    try:
        return _parser().parse(padded, start="fstring_expr")
    except UnexpectedInput as exc:
        error = explain(exc, ctx, padded)
    except PvmCompileError:
        raise
    except PvmSyntaxError as exc:
        error = exc
    finally:
        ctx.restore_lexstate(saved)
    if isinstance(error, PvmCompileError) or error.message.startswith("f-string"):
        raise error
    raise ctx.error("f-string: " + error.message, error.line, error.col)
