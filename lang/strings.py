"""String literals, from token to AST, decoded exactly as CPython 3.11 does it.

``decode_escapes`` is CPython's ``decode_unicode_with_escapes``: non-ASCII
characters are turned into ``\\U`` escapes, a backslash that precedes one (or
ends the text) becomes a literal backslash, and the result goes through the
``unicode_escape`` codec, which implements every escape Python knows.

``split_fstring`` follows CPython 3.11's ``fstring_find_literal`` and
``fstring_find_expr`` (Parser/string_parser.c) step by step: doubled braces,
``\\N{...}`` in literal parts, the one level of nesting allowed in format
specs, and the same error messages. Expressions are returned as source text
with their offset in the token; ``StringLiterals`` (the parse callbacks for
literals, mixed into lang.astbuilder.AstBuilder) has the parser parse them
with the grammar and builds the Constant or JoinedStr.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Optional, Union

from lark import Token

from lang import ast
from lang.parse_context import current

# CPython's MAXLEVEL for brackets inside an f-string expression.
_MAX_FSTRING_BRACKETS = 200

_ESCAPE_FIXUPS = re.compile(r"\\(.?)|[^\x00-\x7f]", re.S)
_PREFIX = re.compile(r"[A-Za-z]*")


class LiteralError(Exception):
    """A literal that CPython refuses; ``message`` is CPython's wording."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class FExpr:
    """One ``{...}`` replacement field of an f-string.

    ``offset`` is where ``text`` starts in the token; ``spec`` is the format
    spec's parts (literal strings and nested fields) or None without ``:``;
    ``debug_text`` is the ``expr=`` text that CPython prepends to the value.
    """

    text: str
    offset: int
    conversion: Optional[str] = None
    spec: Optional[list[Union[str, "FExpr"]]] = None
    debug_text: Optional[str] = None


def _fixup(match: re.Match) -> str:
    text = match.group(0)
    if text[0] != "\\":
        return "\\U%08x" % ord(text)
    follower = match.group(1)
    if follower and follower.isascii():
        return text
    # A backslash before a non-ASCII character (or at the end) is literal.
    return "\\u005c" + ("\\U%08x" % ord(follower) if follower else "")


def decode_escapes(body: str) -> str:
    """Decode the backslash escapes of a non-raw string body like CPython."""
    if "\\" not in body:
        return body
    plain = body.isascii() and not body.endswith("\\")
    ascii_text = body if plain else _ESCAPE_FIXUPS.sub(_fixup, body)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ascii_text.encode("ascii").decode("unicode_escape")
    except UnicodeDecodeError as exc:
        raise LiteralError(f"(unicode error) {exc}") from None


def split_literal(token: str) -> tuple[str, int, int]:
    """Return (lower-case prefix, body start, body end) of a string token."""
    prefix = _PREFIX.match(token).group(0)
    start = len(prefix)
    quote = 3 if token.startswith(token[start] * 3, start) and len(token) - start >= 6 else 1
    return prefix.lower(), start + quote, len(token) - quote


# --- f-strings ---

def split_fstring(token: str, body_start: int, body_end: int, raw: bool) -> list[Union[str, FExpr]]:
    """Split an f-string token's body into decoded literal text and fields."""
    parts: list[Union[str, FExpr]] = []
    pos = _parse_parts(token, body_start, body_end, raw, 0, parts)
    if pos < body_end:
        raise LiteralError("f-string: unexpected end of string")
    return parts


def _parse_parts(s: str, pos: int, end: int, raw: bool, level: int, parts: list) -> int:
    """Literal/field pairs up to the end (or, in a format spec, the closing brace)."""
    while True:
        literal, pos, doubled = _find_literal(s, pos, end, raw, level)
        if literal:
            parts.append(literal)
        if doubled:
            continue
        if pos >= end or s[pos] == "}":
            break
        expr, pos = _find_expr(s, pos, end, raw, level)
        if expr.debug_text:
            parts.append(expr.debug_text)
        parts.append(expr)
    if level and (pos >= end or s[pos] != "}"):
        raise LiteralError("f-string: expecting '}'")
    return pos


def _find_literal(s: str, pos: int, end: int, raw: bool, level: int) -> tuple[str, int, bool]:
    """Scan literal text; stop before a brace that starts or ends a field."""
    start = pos
    doubled = False
    while pos < end:
        ch = s[pos]
        pos += 1
        if not raw and ch == "\\" and pos < end:
            ch = s[pos]
            pos += 1
            if ch == "N":
                if pos < end and s[pos] == "{":
                    close = s.find("}", pos + 1, end)
                    pos = end if close < 0 else close + 1
                elif pos < end:
                    pos += 1
                continue
        if ch in "{}":
            if level == 0:
                if pos < end and s[pos] == ch:
                    text = s[start:pos]
                    return (text if raw else decode_escapes(text)), pos + 1, True
                if ch == "}":
                    raise LiteralError("f-string: single '}' is not allowed")
            pos -= 1
            break
    text = s[start:pos]
    return (text if raw else decode_escapes(text)), pos, doubled


def _find_expr(s: str, pos: int, end: int, raw: bool, level: int) -> tuple[FExpr, int]:
    """Scan one ``{expr[=][!c][:spec]}`` field starting at its ``{``."""
    if level >= 2:
        raise LiteralError("f-string: expressions nested too deeply")
    pos += 1
    expr_start = pos
    quote = ""
    triple = False
    brackets: list[str] = []
    while pos < end:
        ch = s[pos]
        if ch == "\\":
            raise LiteralError("f-string expression part cannot include a backslash")
        if quote:
            if ch == quote and (not triple or s.startswith(quote * 3, pos, end)):
                pos += 3 if triple else 1
                quote = ""
                continue
        elif ch in "'\"":
            triple = s.startswith(ch * 3, pos, end)
            quote = ch
            pos += 3 if triple else 1
            continue
        elif ch in "([{":
            if len(brackets) >= _MAX_FSTRING_BRACKETS:
                raise LiteralError("f-string: too many nested parenthesis")
            brackets.append(ch)
        elif ch == "#":
            raise LiteralError("f-string expression part cannot include '#'")
        elif not brackets and ch in "!:}=<>":
            if ch in "!=<>" and s.startswith("=", pos + 1, end):
                pos += 2
                continue
            if ch in "<>":
                pos += 1
                continue
            break
        elif ch in ")]}":
            if not brackets:
                raise LiteralError(f"f-string: unmatched '{ch}'")
            opening = brackets.pop()
            if opening + ch not in ("()", "[]", "{}"):
                raise LiteralError(
                    f"f-string: closing parenthesis '{ch}' does not match opening parenthesis '{opening}'")
        pos += 1
    if quote:
        raise LiteralError("f-string: unterminated string")
    if brackets:
        raise LiteralError(f"f-string: unmatched '{brackets[-1]}'")
    if pos >= end:
        raise LiteralError("f-string: expecting '}'")
    text = s[expr_start:pos]
    if not text.strip():
        raise LiteralError("f-string: empty expression not allowed")
    fexpr = FExpr(text, expr_start)
    if s[pos] == "=":
        pos += 1
        while pos < end and s[pos] in " \t\n\r\f\v":
            pos += 1
        if pos >= end:
            raise LiteralError("f-string: expecting '}'")
        fexpr.debug_text = s[expr_start:pos]
    if s[pos] == "!":
        pos += 1
        if pos >= end:
            raise LiteralError("f-string: expecting '}'")
        conversion = s[pos]
        pos += 1
        if conversion not in ("s", "r", "a"):
            raise LiteralError("f-string: invalid conversion character: expected 's', 'r', or 'a'")
        fexpr.conversion = conversion
    if pos < end and s[pos] == ":":
        pos += 1
        if pos >= end:
            raise LiteralError("f-string: expecting '}'")
        fexpr.spec = []
        pos = _parse_parts(s, pos, end, raw, level + 1, fexpr.spec)
    if pos >= end or s[pos] != "}":
        raise LiteralError("f-string: expecting '}'")
    if fexpr.debug_text and fexpr.spec is None and fexpr.conversion is None:
        fexpr.conversion = "r"
    return fexpr, pos + 1


# --- From tokens to nodes ---

def _offset_position(tok: Token, offset: int) -> tuple[int, int]:
    """Source position of character ``offset`` of a (possibly multi-line) token."""
    newline = tok.rfind("\n", 0, offset)
    if newline < 0:
        return tok.line, tok.column + offset
    return tok.line + tok.count("\n", 0, offset), offset - newline


class StringLiterals:
    """Parse callbacks for string literals; the host class provides ``_span`` and ``_expr``."""

    def strings(self, c: list) -> ast.Expr:
        ctx = current()
        pieces: list[Union[str, ast.FormattedValue]] = []
        is_fstring = False
        for tok in c:
            prefix, body_start, body_end = split_literal(tok)
            if "b" in prefix:
                ctx.refuse("bytes literals are not supported", tok)
                continue
            raw = "r" in prefix
            try:
                if "f" in prefix:
                    is_fstring = True
                    for part in split_fstring(tok, body_start, body_end, raw):
                        pieces.append(part if isinstance(part, str) else self._field(tok, part, c))
                else:
                    body = tok[body_start:body_end]
                    pieces.append(body if raw else decode_escapes(body))
            except LiteralError as exc:
                raise ctx.error(exc.message, tok.end_line, tok.end_column) from None
        if not is_fstring:
            return self._span(ast.Constant("".join(p for p in pieces if isinstance(p, str))), c[0], c[-1])
        return self._joined(pieces, c, c)

    def _joined(self, pieces: list, span: list[Token], literal: list[Token]) -> ast.JoinedStr:
        """A JoinedStr over tokens ``span``; adjacent literal text is merged into
        Constants that span the whole concatenation ``literal``, as in CPython."""
        values: list[ast.Expr] = []
        text: list[str] = []
        for piece in pieces + [None]:
            if isinstance(piece, str):
                text.append(piece)
                continue
            if text and "".join(text):
                values.append(self._span(ast.Constant("".join(text)), literal[0], literal[-1]))
            text = []
            if piece is not None:
                values.append(piece)
        return self._expr(ast.JoinedStr(values), span[0], span[-1], values)

    def _field(self, tok: Token, fexpr: FExpr, literal: list[Token]) -> ast.FormattedValue:
        """A replacement field of token ``tok`` in the concatenation ``literal``.

        Like CPython, the FormattedValue spans the whole concatenation, so the
        line a formatting error is reported on is the literal's first line.
        """
        line, col = _offset_position(tok, fexpr.offset)
        value = current().parse_expr(fexpr.text, line, col)
        spec = None
        if fexpr.spec is not None:
            parts = [p if isinstance(p, str) else self._field(tok, p, literal) for p in fexpr.spec]
            spec = self._joined(parts, [tok], literal)
        node = ast.FormattedValue(value, fexpr.conversion, spec)
        return self._expr(node, literal[0], literal[-1], value, spec)
