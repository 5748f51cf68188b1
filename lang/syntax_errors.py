"""CPython-style syntax errors: bad assignment targets, parameter lists and
literals, and explanations for the token where Lark's LALR parser gave up.

The messages are CPython 3.11's wherever a cheap check can tell which one
applies; anything else is "invalid syntax" at the offending token. As in
CPython, an error found by the parser gives way to a tokenizer error later
in the file (an unterminated string, a bad dedent, a bracket left open on an
earlier line); lang.parser runs that check.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional

from lark import Token
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from lang import ast
from lang.strings import LiteralError, decode_escapes, split_fstring, split_literal
from pvm.errors import PvmSyntaxError

if TYPE_CHECKING:
    from lang.parse_context import ParseContext

# --- Assignment targets ---

_EXPR_NAMES = {
    ast.Attribute: "attribute", ast.Subscript: "subscript", ast.Starred: "starred",
    ast.Name: "name", ast.List: "list", ast.Tuple: "tuple", ast.Lambda: "lambda",
    ast.Call: "function call", ast.BoolOp: "expression", ast.BinOp: "expression",
    ast.UnaryOp: "expression", ast.ListComp: "list comprehension",
    ast.SetComp: "set comprehension", ast.DictComp: "dict comprehension",
    ast.Dict: "dict literal", ast.Set: "set display", ast.JoinedStr: "f-string expression",
    ast.FormattedValue: "f-string expression", ast.Compare: "comparison",
    ast.IfExp: "conditional expression", ast.Slice: "slice", ast.GeneratorExp: "generator expression",
    ast.Yield: "yield expression", ast.YieldFrom: "yield expression",
}


def expr_name(node: ast.Expr) -> str:
    """What CPython calls an expression in 'cannot assign to ...' messages."""
    if isinstance(node, ast.Constant):
        value = node.value
        for singleton in (True, False, None):
            if value is singleton:
                return str(singleton)
        return "ellipsis" if value is ... else "literal"
    kind = getattr(node, "kind", None)      # lang.parse_context.Refused
    return kind or _EXPR_NAMES.get(type(node), "expression")


def _first_invalid(target: ast.Expr, deleting: bool) -> Optional[ast.Expr]:
    """The first sub-expression, in source order, that cannot be a target."""
    stack = [target]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Tuple, ast.List)):
            stack.extend(reversed(node.elts))
        elif isinstance(node, ast.Starred) and not deleting:
            stack.append(node.value)
        elif isinstance(node, ast.Name):
            if node.id == "__debug__":
                return node
        elif not isinstance(node, (ast.Attribute, ast.Subscript)):
            return node
    return None


def _cannot(verb: str, node: ast.Expr) -> str:
    """'cannot assign to X' / 'cannot delete X' for an invalid target."""
    if isinstance(node, ast.Name):
        return f"cannot {verb} __debug__"
    if isinstance(node, (ast.Yield, ast.YieldFrom)) and verb == "assign to":
        return "assignment to yield expression not possible"
    return f"cannot {verb} {expr_name(node)}"


def _check_starred(ctx: "ParseContext", target: ast.Expr) -> None:
    """At most one starred target per tuple or list, and never a bare one."""
    if isinstance(target, ast.Starred):
        raise ctx.error_at("starred assignment target must be in a list or tuple", target)
    stack = [target]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Starred):
            node = node.value
        if isinstance(node, (ast.Tuple, ast.List)):
            if sum(isinstance(e, ast.Starred) for e in node.elts) > 1:
                raise ctx.error_at("multiple starred expressions in assignment", node)
            stack.extend(node.elts)


def check_target(ctx: "ParseContext", target: ast.Expr, kind: str) -> None:
    """Check a ``for``/comprehension target (kind 'for') or an augmented one ('augassign')."""
    if kind == "augassign":
        if isinstance(target, ast.Name) and target.id == "__debug__":
            raise ctx.error_at("cannot assign to __debug__", target)
        if not isinstance(target, (ast.Name, ast.Attribute, ast.Subscript)):
            raise ctx.error_at(f"'{expr_name(target)}' is an illegal expression for augmented assignment", target)
        return
    _check_starred(ctx, target)
    bad = _first_invalid(target, False)
    if bad is not None:
        raise ctx.error_at(_cannot("assign to", bad), bad)


def _is_bitwise_or(node: ast.Expr) -> bool:
    """Whether CPython's grammar would read ``node`` as a ``bitwise_or``."""
    if isinstance(node, ast.UnaryOp):
        return node.op != "not"
    return not isinstance(node, (ast.Compare, ast.BoolOp, ast.IfExp, ast.Lambda, ast.Starred,
                                 ast.List, ast.Tuple)) and getattr(node, "kind", None) is None


def _starts_with_bitwise_or(node: ast.Expr) -> bool:
    """Whether the text of ``node`` begins with a complete ``bitwise_or``."""
    while True:
        unparenthesized_tuple = isinstance(node, ast.Tuple) and node.elts and \
            (node.line, node.col) == (node.elts[0].line, node.elts[0].col)
        if unparenthesized_tuple:
            node = node.elts[0]
        elif isinstance(node, ast.BoolOp):
            node = node.values[0]
        elif isinstance(node, ast.IfExp):
            node = node.body
        elif isinstance(node, ast.Compare):
            return True
        else:
            return _is_bitwise_or(node)


def check_assign_targets(ctx: "ParseContext", targets: list[ast.Expr], value: ast.Expr) -> None:
    """Check the targets of ``t1 = t2 = value`` with CPython's messages."""
    for i, target in enumerate(targets):
        _check_starred(ctx, target)
        bad = _first_invalid(target, False)
        if bad is None:
            continue
        if i and isinstance(targets[0], ast.Name) and not _is_bitwise_or(targets[1]) \
                and _starts_with_bitwise_or(targets[1]):
            # CPython reads ``x = a if b else c = 1`` as a mistyped comparison.
            raise ctx.error_at("invalid syntax. Maybe you meant '==' or ':=' instead of '='?", targets[0])
        message = _cannot("assign to", bad)
        if (bad is target and len(targets) == 1 and _is_bitwise_or(target) and not isinstance(target, ast.Name)
                and not (isinstance(target, ast.Constant) and expr_name(target) in ("True", "False", "None"))
                and _starts_with_bitwise_or(value)):
            message = f"cannot assign to {expr_name(target)} here. Maybe you meant '==' instead of '='?"
        raise ctx.error_at(message, bad)


def check_del_target(ctx: "ParseContext", target: ast.Expr) -> None:
    """Check one target of a ``del`` statement."""
    stack = [target]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Tuple, ast.List)):
            stack.extend(reversed(node.elts))
        elif isinstance(node, ast.Starred):
            raise ctx.error_at("cannot delete starred", node)
    bad = _first_invalid(target, True)
    if bad is not None:
        raise ctx.error_at(_cannot("delete", bad), bad)


def starred_misuse(ctx: "ParseContext", value: ast.Expr) -> None:
    """A bare ``*x`` where only a value can go (CPython's compiler message)."""
    if isinstance(value, ast.Starred):
        raise ctx.error_at("can't use starred expression here", value)


# --- Parameters ---

# Where each kind of parameter goes in a code object's varnames.
PARAM_ORDER = {"positional": 0, "kwonly": 1, "vararg": 2, "kwarg": 3}


@dataclass
class ParamSpec:
    """One parameter as written, before it is checked."""

    kind: str                       # 'plain', 'star', 'kwstar', 'slash'
    token: Token                    # the name, or the '*', '**', '/' token
    name: Optional[Token]
    annotation: Optional[ast.Expr]
    default: Optional[ast.Expr]


def check_params(ctx: "ParseContext", specs: list[ParamSpec]) -> list[tuple[ParamSpec, str]]:
    """Check a def/lambda parameter list as CPython does, refuse what pvm lacks
    (positional-only parameters), and return the named parameters with their
    ast.Param kind. Annotations are accepted and never evaluated."""
    params: list[tuple[ParamSpec, str]] = []
    seen: set[str] = set()
    saw_default = saw_star = False
    for i, spec in enumerate(specs):
        if spec.kind == "slash":
            if saw_star:
                raise ctx.error_at("/ must be ahead of *", spec.token)
            ctx.refuse("positional-only parameters are not supported", spec.token)
            continue
        if spec.kind == "kwstar":
            if i != len(specs) - 1:
                raise ctx.error_at("arguments cannot follow var-keyword argument", specs[i + 1].token)
            kind = "kwarg"
        elif spec.kind == "star":
            if saw_star:
                raise ctx.error_at("* argument may appear only once", spec.token)
            saw_star = True
            if spec.name is None and all(s.kind == "kwstar" for s in specs[i + 1:]):
                raise ctx.error_at("named arguments must follow bare *", spec.token)
            kind = "vararg"
        elif saw_star:
            kind = "kwonly"
        else:
            if spec.default is None and saw_default:
                raise ctx.error_at("non-default argument follows default argument", spec.token)
            saw_default = saw_default or spec.default is not None
            kind = "positional"
        if spec.name is not None:
            params.append((spec, kind))
    # Duplicates are found in CPython's varnames order, then __debug__ (a later compiler pass).
    for spec, kind in sorted(params, key=lambda item: PARAM_ORDER[item[1]]):
        name = unicodedata.normalize("NFKC", str(spec.name))
        if name in seen:
            raise ctx.error_at(f"duplicate argument '{name}' in function definition", spec.name)
        seen.add(name)
    for spec, _kind in params:
        if unicodedata.normalize("NFKC", str(spec.name)) == "__debug__":
            raise ctx.error_at("cannot assign to __debug__", spec.name)
    return params


# --- Numbers ---

def number_value(ctx: "ParseContext", tok: Token) -> Any:
    """The value of a NUMBER token, or a refusal for an imaginary literal."""
    text = str(tok)
    if text[-1] in "jJ":
        ctx.refuse("complex numbers are not supported", tok)
        return 0
    lower = text.lower()
    if lower.startswith(("0x", "0o", "0b")):
        return int(text, 0)
    if "." in lower or "e" in lower:
        return float(text)
    if text[0] == "0" and text.strip("0_"):
        raise ctx.error_at("leading zeros in decimal integer literals are not permitted; "
                           "use an 0o prefix for octal integers", tok)
    try:
        return int(text)
    except ValueError as exc:
        raise ctx.error_at(f"{exc} - Consider hexadecimal for huge integer literals "
                           "to avoid decimal conversion limits.", tok) from None


def _number_suffix_error(prev: Token, tok: Token) -> tuple[str, int]:
    """CPython's message for a number glued to a name, such as ``1abc`` or ``0b2``.

    The second item places the error: 0 at the number, 1 at the name,
    2 at the name's second character.
    """
    text = str(prev).lower()
    word = str(tok)
    if text == "0" and word[:1].lower() in ("x", "o", "b"):
        kind = {"x": "hexadecimal", "o": "octal", "b": "binary"}[word[0].lower()]
        digit = word[1:2]
        if kind != "hexadecimal" and digit.isdigit():
            return f"invalid digit '{digit}' in {kind} literal", 2
        return f"invalid {kind} literal", 1
    if text.startswith("0x"):
        return "invalid hexadecimal literal", 1
    if text.startswith(("0o", "0b")) and word[:1].isdigit():
        kind = "octal" if text[1] == "o" else "binary"
        return f"invalid digit '{word[0]}' in {kind} literal", 1
    return "invalid decimal literal", int(word.startswith("_"))


# --- Explaining where the parser stopped ---

_HEADERS = {"IF": "'if' statement", "ELIF": "'elif' statement", "ELSE": "'else' statement",
            "WHILE": "'while' statement", "FOR": "'for' statement", "DEF": "function definition",
            "CLASS": "class definition", "TRY": "'try' statement", "EXCEPT": "'except' statement",
            "FINALLY": "'finally' statement", "WITH": "'with' statement"}
_OPERAND_END = {"NAME", "NUMBER", "STRING", "RPAR", "RSQB", "RBRACE", "TRUE", "FALSE", "NONE"}
_OPERAND_START = {"NAME", "NUMBER", "STRING", "TRUE", "FALSE", "NONE", "LAMBDA", "LSQB", "LBRACE"}
_STRING_PREFIXES = {"", "r", "u", "f", "b", "br", "rb", "fr", "rf"}
_MATCH_STMT = re.compile(r"\s*match\b.*:\s*(#.*)?$")
_CALL_BEFORE = re.compile(r"[\w)\]]\s*$")
_STARRED_NAME = re.compile(r"[(,]\s*\*\*?\s*$")     # `f(*a=1)`, `def f(**k=1)`: no assignment to explain


def explain(exc: UnexpectedInput, ctx: "ParseContext", text: str) -> PvmSyntaxError:
    """Word a Lark error; ``text`` is what was parsed (an f-string field's own text)."""
    if isinstance(exc, UnexpectedCharacters):
        return lexer_error(ctx, text, exc.pos_in_stream, exc.line + ctx.line_offset, exc.column)
    if isinstance(exc, UnexpectedToken):
        return _parser_error(ctx, exc, text)
    return ctx.error("unexpected EOF while parsing", len(ctx.lines), 1)


def lexer_error(ctx: "ParseContext", text: str, pos: int, line: int, col: int) -> PvmSyntaxError:
    """A character no token can start with."""
    ch = text[pos]
    if ch in "'\"":
        return _unterminated(ctx, text, pos, line, col)
    if ch == "\\":
        return ctx.error("unexpected character after line continuation character", line, col + 1)
    if not ch.isprintable():
        return ctx.error(f"invalid non-printable character U+{ord(ch):04X}", line, col)
    if not ch.isascii():
        return ctx.error(f"invalid character '{ch}' (U+{ord(ch):04X})", line, col)
    return ctx.error("invalid syntax", line, col)


def _unterminated(ctx: "ParseContext", text: str, pos: int, line: int, col: int) -> PvmSyntaxError:
    quote = text[pos]
    while pos >= 2 and text[pos - 2:pos] == quote * 2:
        # An unterminated triple-quoted string lexes as '' and then a lone quote.
        pos -= 2
        col -= 2
    start = pos             # the error points at the prefix, if any
    while start > 0 and text[start - 1].isalpha() and pos - start < 2:
        start -= 1
    glued = start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_")
    if text[start:pos].lower() not in _STRING_PREFIXES or glued:
        start = pos
    if text.startswith(quote * 3, pos):
        last_line = text.count("\n")
        return ctx.error(f"unterminated triple-quoted string literal (detected at line {last_line})",
                         line, col - (pos - start))
    body = re.compile(r"(?:[^%s\\\n]|\\[\s\S])*" % quote).match(text, pos + 1).group(0)
    detected = line + body.count("\n")
    return ctx.error(f"unterminated string literal (detected at line {detected})", line, col - (pos - start))


def _literal_error(ctx: "ParseContext", tok: Token) -> Optional[PvmSyntaxError]:
    """The error in a string token's escapes or f-string fields, if any."""
    prefix, start, end = split_literal(tok)
    try:
        if "f" in prefix:
            split_fstring(tok, start, end, "r" in prefix)
        elif "r" not in prefix:
            decode_escapes(tok[start:end])
    except LiteralError as exc:
        return ctx.error(exc.message, tok.end_line, tok.end_column)
    return None


def _parser_error(ctx: "ParseContext", exc: UnexpectedToken, text: str) -> PvmSyntaxError:
    tok = exc.token
    kind = tok.type
    expected = exc.expected or set()
    prev = ctx.prev if ctx.last is tok else ctx.last
    # After a newline the postlexer has moved on; the line that failed is the previous one.
    line_first = ctx.line_first or ctx.prev_line_first
    if prev is not None and prev.type == "STRING":
        # CPython decodes a literal as soon as it is read, before the next token.
        bad_literal = _literal_error(ctx, prev)
        if bad_literal is not None:
            return bad_literal
    if kind == "_INDENT":
        return ctx.error("unexpected indent", tok.line, tok.column)
    if "_INDENT" in expected:
        header = ctx.prev_line_first
        what = _HEADERS.get(header.type) if header is not None else None
        message = f"expected an indented block after {what} on line {header.line}" if what else \
            "expected an indented block"
        return ctx.error(message, tok.line, tok.column)
    if kind == "$END":
        if ctx.expr_mode:
            return ctx.error("invalid syntax", tok.end_line, tok.end_column)
        return ctx.error("unexpected EOF while parsing", tok.end_line,
                         len(ctx.source_line(tok.end_line)) + 1)
    if line_first is not None and not ctx.expr_mode:
        # Statements the grammar cannot parse at all, named rather than called invalid.
        if line_first.type == "NAME" and line_first == "match" and _MATCH_STMT.match(ctx.source_line(line_first.line)):
            return ctx.unsupported("match statements are not supported", line_first)
        if line_first.type == "WITH":
            return ctx.unsupported("parenthesized context managers are not supported", line_first)
        if (line_first.type == "NAME" and line_first == "print" and prev is line_first
                and kind in _OPERAND_START):
            return ctx.error("Missing parentheses in call to 'print'. Did you mean print(...)?",
                             line_first.line, line_first.column)
    if kind == "_NEWLINE" and "COLON" in expected and line_first is not None and line_first.type in _HEADERS:
        return ctx.error("expected ':'", tok.line, tok.column)
    if kind == "EQUAL" and prev is not None:
        if prev.type in ("STAR", "POW") or _STARRED_NAME.search(text, 0, prev.start_pos):
            return ctx.error("invalid syntax", tok.line, tok.column)
        opener = ctx.parens[-1] if ctx.parens else None
        if opener is not None and opener.type == "LPAR" and _CALL_BEFORE.search(text, 0, opener.start_pos):
            return ctx.error('expression cannot contain assignment, perhaps you meant "=="?',
                             tok.line, tok.column)
        if prev.type == "NAME":
            return ctx.error("invalid syntax. Maybe you meant '==' or ':=' instead of '='?",
                             prev.line, prev.column)
    if "ELSE" in expected and "COLON" not in expected and kind in ("_NEWLINE", "RPAR", "RSQB", "RBRACE", "COMMA"):
        return ctx.error("expected 'else' after 'if' expression", tok.line, tok.column)
    if kind == "_NEWLINE" and prev is not None and prev.type == "COMMA" and line_first is not None \
            and line_first.type == "FROM":
        return ctx.error("trailing comma not allowed without surrounding parentheses", tok.line, tok.column)
    if prev is not None and prev.type == "NUMBER" and prev.end_pos == tok.start_pos \
            and (str(tok)[:1].isalnum() or tok.startswith("_")):
        message, at_suffix = _number_suffix_error(prev, tok)
        where = tok if at_suffix else prev
        return ctx.error(message, where.line, where.column + (at_suffix == 2))
    # The error token may be an opening bracket the postlexer has already pushed.
    in_brackets = len(ctx.parens) > (ctx.parens[-1] is tok if ctx.parens else 0) or ctx.expr_mode
    if in_brackets and prev is not None and prev.type in _OPERAND_END and kind in _OPERAND_START:
        return ctx.error("invalid syntax. Perhaps you forgot a comma?", prev.line, prev.column)
    return ctx.error("invalid syntax", tok.line, tok.column)
