"""Parse-tree callbacks that build lang.ast nodes while Lark's LALR parser reduces.

Lark runs these callbacks during the parse (the transformer is passed to the
Lark constructor), so no tree is built and nothing recurses: deeply nested
input costs parser-stack entries, never Python frames. Every expression node
records its nesting depth, and a node deeper than ``MAX_EXPR_DEPTH`` is a
syntax error, so later passes that do recurse over the AST stay bounded.

Features outside pvm's subset are not raised on the spot: ``refuse`` records
them and the parser raises the earliest one after a clean parse, so a real
syntax error anywhere in the file still wins, as in CPython where the parser
runs before the compiler. A refused construct leaves a ``Refused`` placeholder
(or a ``Pass``) that never escapes ``lang.parser.parse``.

Positions: ``line``/``col`` are 1-based; ``end_col`` is 1-based and exclusive
(CPython's ``end_col_offset`` + 1), all counted in characters.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any, Optional

from lark import Token, Transformer

from lang import ast
from lang.parse_context import ParseContext, Refused, current, end_of, start_of
from lang.strings import StringLiterals
from lang.syntax_errors import (ParamSpec, check_assign_targets, check_del_target, check_params, check_target,
                                number_value, starred_misuse)

# Deepest expression nesting accepted; lang.compiler may recurse this deep.
MAX_EXPR_DEPTH = 300


# Helpers that carry grammar pieces up to the rule that builds the node.
@dataclass
class _Elts:
    kind: str                       # 'one', 'many' or 'comp'
    elts: list
    generators: Optional[list] = None


@dataclass
class _Dict:
    keys: list
    values: list
    generators: Optional[list] = None


@dataclass
class _CompFor:
    first: Token                    # 'async' or 'for'
    target: ast.Expr
    iter: ast.Expr




def _ident(ctx: ParseContext, tok: Token) -> str:
    """An identifier, NFKC-normalised as CPython does."""
    name = str(tok)
    if name.isascii():
        return name
    name = unicodedata.normalize("NFKC", name)
    if not name.isidentifier():
        bad = next((ch for ch in name if not ("a" + ch).isidentifier()), name[0])
        raise ctx.error_at(f"invalid character '{bad}' (U+{ord(bad):04X})", tok)
    return name


def _flatten(stmts: list) -> list[ast.Stmt]:
    out: list[ast.Stmt] = []
    for item in stmts:
        if isinstance(item, list):
            out.extend(item)
        else:
            out.append(item)
    return out


class AstBuilder(StringLiterals, Transformer):
    """One method per grammar rule or alias; see lang/grammar.lark.

    The callbacks for string literals come from lang.strings.StringLiterals.
    """

    # --- Node construction ---

    @staticmethod
    def _span(node: Any, first: Any, last: Any) -> Any:
        node.line, node.col = start_of(first)
        node.end_line, node.end_col = end_of(last)
        return node

    def _expr(self, node: Any, first: Any, last: Any, *children: Any) -> Any:
        """Position an expression node and check its nesting depth."""
        self._span(node, first, last)
        depth_of = current().depth
        deepest = 0
        for child in children:
            for item in (child if isinstance(child, list) else (child,)):
                if item is not None:
                    deepest = max(deepest, depth_of.get(item, 1))
        if deepest >= MAX_EXPR_DEPTH:
            raise current().error_at("expression is too deeply nested", node)
        depth_of[node] = deepest + 1
        return node

    def _refused(self, kind: str, message: str, first: Any, last: Any) -> Refused:
        current().refuse(message, first)
        return self._span(Refused(kind), first, last)

    # --- Module and statements ---

    def file_input(self, c: list) -> ast.Module:
        body = _flatten(c)
        module = ast.Module(body)
        if body:
            return self._span(module, body[0], body[-1])
        module.line = module.col = module.end_line = module.end_col = 1
        return module

    def fstring_expr(self, c: list) -> ast.Expr:
        if isinstance(c[0], ast.Starred):
            raise current().error_at("cannot use starred expression here", c[0])
        return c[0]

    def simple_stmt(self, c: list) -> list:
        return c

    def suite(self, c: list) -> list:
        return _flatten(c)

    def expr_stmt(self, c: list) -> ast.ExprStmt:
        value = c[0]
        starred_misuse(current(), value)
        return self._span(ast.ExprStmt(value), value, value)

    def assign_stmt(self, c: list) -> ast.Assign:
        targets, value = c[:-1], c[-1]
        check_assign_targets(current(), targets, value)
        starred_misuse(current(), value)
        return self._span(ast.Assign(targets, value), targets[0], value)

    def augassign_op(self, c: list) -> Token:
        return c[0]

    def augassign_stmt(self, c: list) -> ast.AugAssign:
        target, op, value = c
        ctx = current()
        if op == "@=":
            ctx.refuse("the '@' operator is not supported", op)
        check_target(ctx, target, "augassign")
        starred_misuse(ctx, value)
        return self._span(ast.AugAssign(target, str(op)[:-1], value), target, value)

    def annassign_stmt(self, c: list) -> ast.AnnAssign:
        target, annotation, value = c
        ctx = current()
        if not isinstance(target, (ast.Name, ast.Attribute, ast.Subscript)):
            kind = "tuple" if isinstance(target, ast.Tuple) else "list" if isinstance(target, ast.List) else None
            if kind is None:
                raise ctx.error_at("illegal target for annotation", target)
            raise ctx.error_at(f"only single target (not {kind}) can be annotated", target)
        check_target(ctx, target, "augassign")   # the same rules: one plain target
        return self._span(ast.AnnAssign(target, annotation, value), target, value or annotation)

    def del_stmt(self, c: list) -> ast.Delete:
        targets = [x for x in c[1:] if not isinstance(x, Token)]
        for target in targets:
            check_del_target(current(), target)
        return self._span(ast.Delete(targets), c[0], c[-1])

    def pass_stmt(self, c: list) -> ast.Pass:
        return self._span(ast.Pass(), c[0], c[0])

    def break_stmt(self, c: list) -> ast.Break:
        return self._span(ast.Break(), c[0], c[0])

    def continue_stmt(self, c: list) -> ast.Continue:
        return self._span(ast.Continue(), c[0], c[0])

    def return_stmt(self, c: list) -> ast.Return:
        keyword, value = c
        if value is not None:
            starred_misuse(current(), value)
        return self._span(ast.Return(value), keyword, value or keyword)

    def raise_stmt(self, c: list) -> ast.Raise:
        keyword, exc, cause = c
        return self._span(ast.Raise(exc, cause), keyword, cause or exc or keyword)

    def global_stmt(self, c: list) -> ast.Global:
        ctx = current()
        return self._span(ast.Global([_ident(ctx, t) for t in c[1:]]), c[0], c[-1])

    def nonlocal_stmt(self, c: list) -> ast.Nonlocal:
        ctx = current()
        return self._span(ast.Nonlocal([_ident(ctx, t) for t in c[1:]]), c[0], c[-1])

    def assert_stmt(self, c: list) -> ast.Assert:
        keyword, test, msg = c
        return self._span(ast.Assert(test, msg), keyword, msg or test)

    # --- Imports ---

    def dotted_name(self, c: list) -> list:
        return c

    def dotted_as_name(self, c: list) -> ast.Alias:
        names, asname = c
        ctx = current()
        alias = ast.Alias(".".join(_ident(ctx, t) for t in names), asname and _ident(ctx, asname))
        return self._span(alias, names[0], asname or names[-1])

    def import_name(self, c: list) -> ast.Import:
        return self._span(ast.Import(c[1:]), c[0], c[-1])

    def dots(self, c: list) -> list:
        return c

    def import_star(self, c: list) -> list:
        return [self._span(ast.Alias("*", None), c[0], c[0])]

    def import_as_name(self, c: list) -> ast.Alias:
        name, asname = c
        ctx = current()
        alias = ast.Alias(_ident(ctx, name), asname and _ident(ctx, asname))
        return self._span(alias, name, asname or name)

    def import_as_names(self, c: list) -> list:
        return c

    paren_import_names = import_as_names

    def import_from(self, c: list) -> ast.ImportFrom:
        ctx = current()
        keyword = c[0]
        names = next(x for x in reversed(c) if isinstance(x, list))
        module_parts: list = []
        level = 0
        for part in c[1:-1]:
            if part is names or not isinstance(part, list):
                continue
            if isinstance(part[0], Token) and part[0].type in ("DOT", "ELLIPSIS"):
                level = sum(len(dot) for dot in part)
            else:
                module_parts = part
        module = ".".join(_ident(ctx, t) for t in module_parts) or None
        node = ast.ImportFrom(module, names, level)
        last = c[-1] if isinstance(c[-1], Token) else (names[-1] if names else keyword)
        return self._span(node, keyword, last)

    # --- Compound statements ---

    def if_stmt(self, c: list) -> ast.If:
        orelse = c[-1] or []
        for keyword, test, body in reversed([(c[0], c[1], c[2])] + c[3:-1]):
            node = ast.If(test, body, orelse)
            orelse = [self._span(node, keyword, (orelse or body)[-1])]
        return orelse[0]

    def elif_clause(self, c: list) -> tuple:
        return tuple(c)

    def while_stmt(self, c: list) -> ast.While:
        keyword, test, body, orelse = c
        return self._span(ast.While(test, body, orelse or []), keyword, (orelse or body)[-1])

    def for_stmt(self, c: list) -> ast.For:
        keyword, target, iterable, body, orelse = c
        ctx = current()
        check_target(ctx, target, "for")
        starred_misuse(ctx, iterable)
        return self._span(ast.For(target, iterable, body, orelse or []), keyword, (orelse or body)[-1])

    def funcdef(self, c: list) -> ast.FunctionDef:
        keyword, name, params, arrow, _returns, body = c
        ctx = current()
        node = ast.FunctionDef(_ident(ctx, name), self._params(params or []), body)
        return self._span(node, keyword, body[-1])

    def classdef(self, c: list) -> ast.ClassDef:
        keyword, name, arguments, body = c
        ctx = current()
        bases: list[ast.Expr] = []
        for item in arguments or []:
            if isinstance(item, ast.Keyword):
                what = "argument unpacking in a class's bases is" if item.arg is None else \
                    "class keyword arguments (metaclass=...) are"
                ctx.refuse(f"{what} not supported", item)
            elif isinstance(item, ast.Starred):
                ctx.refuse("argument unpacking in a class's bases is not supported", item)
            else:
                bases.append(item)
        if len(bases) > 1:
            ctx.refuse("multiple inheritance is not supported", bases[1])
        return self._span(ast.ClassDef(_ident(ctx, name), bases, body), keyword, body[-1])

    def try_stmt(self, c: list) -> ast.Try:
        keyword, body, *rest = c
        handlers: list[ast.ExceptHandler] = rest[:-3]
        orelse, _finally, finalbody = rest[-3:]
        ctx = current()
        if not handlers and (finalbody is None or orelse is not None):
            raise ctx.error_at("expected 'except' or 'finally' block", keyword)
        for handler in handlers[:-1]:
            if handler.type is None:
                raise ctx.error_at("default 'except:' must be last", handler)
        last = (finalbody or orelse or handlers[-1].body)[-1]
        return self._span(ast.Try(body, handlers, orelse or [], finalbody or []), keyword, last)

    def with_stmt(self, c: list) -> ast.With:
        keyword, *items, body = c
        return self._span(ast.With(items, body), keyword, body[-1])

    def except_clause(self, c: list) -> ast.ExceptHandler:
        keyword, star, test, name, body = c
        ctx = current()
        if star is not None:
            ctx.refuse("except* is not supported", star)
        handler = ast.ExceptHandler(test, _ident(ctx, name) if name is not None else None, body)
        return self._span(handler, keyword, body[-1])

    def with_item(self, c: list) -> ast.WithItem:
        context, target = c
        if target is not None:
            check_target(current(), target, "with")
        return self._span(ast.WithItem(context, target), context, target or context)

    def async_stmt(self, c: list) -> ast.Stmt:
        keyword, inner = c
        if isinstance(inner, ast.FunctionDef):
            feature = "async functions are not supported"
        elif isinstance(inner, ast.For):
            feature = "async for loops are not supported"
        else:
            feature = "async with statements are not supported"
        current().refuse(feature, keyword)
        return inner

    async_funcdef = async_stmt

    def decorator(self, c: list) -> tuple[Token, ast.Expr]:
        return c[0], c[1]

    def decorated(self, c: list) -> ast.Stmt:
        *decorators, definition = c
        if isinstance(definition, (ast.FunctionDef, ast.ClassDef)):
            definition.decorators = [expr for _at, expr in decorators]
        return definition

    # --- Parameters ---

    def param(self, c: list) -> ParamSpec:
        return ParamSpec("plain", c[0], c[0], c[1], c[2])

    def lparam(self, c: list) -> ParamSpec:
        return ParamSpec("plain", c[0], c[0], None, c[1])

    def star_param(self, c: list) -> ParamSpec:
        star, name, annotation, default = c
        if default is not None:
            raise current().error_at("var-positional argument cannot have default value", default)
        return ParamSpec("star", star, name, annotation, None)

    def lstar_param(self, c: list) -> ParamSpec:
        return self.star_param([c[0], c[1], None, c[2]])

    def kwstar_param(self, c: list) -> ParamSpec:
        stars, name, annotation, default = c
        if default is not None:
            raise current().error_at("var-keyword argument cannot have default value", default)
        return ParamSpec("kwstar", stars, name, annotation, None)

    def lkwstar_param(self, c: list) -> ParamSpec:
        return self.kwstar_param([c[0], c[1], None, c[2]])

    def bad_default(self, c: list) -> Token:
        return c[0]

    def slash_param(self, c: list) -> ParamSpec:
        return ParamSpec("slash", c[0], None, None, None)

    def parameters(self, c: list) -> list:
        return c

    lambda_params = parameters

    def _params(self, specs: list[ParamSpec]) -> list[ast.Param]:
        params = []
        for spec, kind in check_params(current(), specs):
            param = ast.Param(_ident(current(), spec.name), spec.default, kind)
            params.append(self._expr(param, spec.name, spec.annotation or spec.name, spec.default))
        return params

    # --- Expressions ---

    def walrus(self, c: list) -> Refused:
        return self._refused("named expression", "assignment expressions are not supported", c[0], c[1])

    def ifexp(self, c: list) -> ast.IfExp:
        body, test, orelse = c
        return self._expr(ast.IfExp(test, body, orelse), body, orelse, body, test, orelse)

    def lambdef(self, c: list) -> ast.Lambda:
        keyword, params, body = c
        node = ast.Lambda(self._params(params or []), body)
        return self._expr(node, keyword, body, node.params, body)

    def or_test(self, c: list) -> ast.BoolOp:
        return self._expr(ast.BoolOp("or", c), c[0], c[-1], c)

    def and_test(self, c: list) -> ast.BoolOp:
        return self._expr(ast.BoolOp("and", c), c[0], c[-1], c)

    def not_op(self, c: list) -> ast.UnaryOp:
        return self._expr(ast.UnaryOp("not", c[1]), c[0], c[1], c[1])

    def comp_op(self, c: list) -> str:
        return " ".join(c)

    def comparison(self, c: list) -> ast.Compare:
        left, ops, comparators = c[0], c[1::2], c[2::2]
        return self._expr(ast.Compare(left, ops, comparators), left, c[-1], left, comparators)

    def _chain(self, operands: list, ops: list) -> ast.BinOp:
        left = operands[0]
        for op, right in zip(ops, operands[1:]):
            if op == "@":
                current().refuse("the '@' operator is not supported", op)
            left = self._expr(ast.BinOp(left, str(op), right), operands[0], right, left, right)
        return left

    def expr(self, c: list) -> ast.BinOp:
        return self._chain(c, ["|"] * (len(c) - 1))

    def xor_expr(self, c: list) -> ast.BinOp:
        return self._chain(c, ["^"] * (len(c) - 1))

    def and_expr(self, c: list) -> ast.BinOp:
        return self._chain(c, ["&"] * (len(c) - 1))

    def shift_expr(self, c: list) -> ast.BinOp:
        return self._chain(c[0::2], c[1::2])

    arith_expr = term = shift_expr

    def factor(self, c: list) -> ast.UnaryOp:
        return self._expr(ast.UnaryOp(str(c[0]), c[1]), c[0], c[1], c[1])

    def power(self, c: list) -> ast.BinOp:
        base, _op, exponent = c
        return self._expr(ast.BinOp(base, "**", exponent), base, exponent, base, exponent)

    def await_expr(self, c: list) -> Refused:
        return self._refused("await expression", "await expressions are not supported", c[0], c[1])

    def yield_expr(self, c: list) -> ast.Yield:
        keyword, value = c
        return self._expr(ast.Yield(value), keyword, value or keyword, value)

    def yield_from(self, c: list) -> ast.YieldFrom:
        keyword, value = c
        return self._expr(ast.YieldFrom(value), keyword, value, value)

    def star_expr(self, c: list) -> ast.Starred:
        return self._expr(ast.Starred(c[1]), c[0], c[1], c[1])

    def tuple(self, c: list) -> ast.Tuple:
        elts = [x for x in c if not isinstance(x, Token)]
        return self._expr(ast.Tuple(elts), c[0], c[-1], elts)

    # --- Trailers ---

    def call(self, c: list) -> ast.Call:
        func, _lpar, arguments, rpar = c
        ctx = current()
        args: list[ast.Expr] = []
        keywords: list[ast.Keyword] = []
        names: set[str] = set()
        unpacked = False                # a `**mapping` came before
        for item in arguments or []:
            if isinstance(item, ast.Keyword):
                if item.arg is None:
                    unpacked = True
                else:
                    if item.arg in names:
                        raise ctx.error_at(f"keyword argument repeated: {item.arg}", item)
                    names.add(item.arg)
                keywords.append(item)
            elif isinstance(item, ast.Starred):
                if unpacked:
                    raise ctx.error_at("iterable argument unpacking follows keyword argument unpacking", item)
                args.append(item)
            else:
                if keywords:
                    follows = "keyword argument unpacking" if unpacked else "keyword argument"
                    raise ctx.error_at(f"positional argument follows {follows}", item)
                args.append(item)
        return self._expr(ast.Call(func, args, keywords), func, rpar, func, args, keywords)

    def arguments(self, c: list) -> list:
        return c

    def genexp_argument(self, c: list) -> list:
        elt, generators = c[0], c[1]
        return [self._expr(ast.GeneratorExp(elt, generators), elt, generators[-1], elt, generators)]

    def kwarg(self, c: list) -> ast.Keyword:
        name, value = c
        ctx = current()
        if name.type != "NAME" or name == "__debug__":
            raise ctx.error_at(f"cannot assign to {name}", name)
        return self._expr(ast.Keyword(_ident(ctx, name), value), name, value, value)

    def star_arg(self, c: list) -> ast.Starred:
        return self._expr(ast.Starred(c[1]), c[0], c[1], c[1])

    def kwstar_arg(self, c: list) -> ast.Keyword:
        return self._expr(ast.Keyword(None, c[1]), c[0], c[1], c[1])

    def subscript(self, c: list) -> ast.Subscript:
        value, _lsqb, index, rsqb = c
        if isinstance(index, ast.Starred):
            index = self._expr(ast.Tuple([index]), index, index, index)
        return self._expr(ast.Subscript(value, index), value, rsqb, value, index)

    def slice(self, c: list) -> ast.Slice:
        lower, colon, upper, colon2, step = c
        first = lower or colon
        last = step or colon2 or upper or colon
        return self._expr(ast.Slice(lower, upper, step), first, last, lower, upper, step)

    def attribute(self, c: list) -> ast.Attribute:
        value, name = c
        return self._expr(ast.Attribute(value, _ident(current(), name)), value, name, value)

    # --- Atoms and displays ---

    def name(self, c: list) -> ast.Name:
        return self._span(ast.Name(_ident(current(), c[0])), c[0], c[0])

    def const(self, c: list) -> ast.Constant:
        value = {"True": True, "False": False, "None": None}[c[0]]
        return self._span(ast.Constant(value), c[0], c[0])

    def ellipsis(self, c: list) -> ast.Constant:
        return self._span(ast.Constant(...), c[0], c[0])

    def number(self, c: list) -> ast.Constant:
        return self._span(ast.Constant(number_value(current(), c[0])), c[0], c[0])

    def paren(self, c: list) -> ast.Expr:
        lpar, inner, rpar = c
        if inner is None:
            return self._expr(ast.Tuple([]), lpar, rpar)
        if not isinstance(inner, _Elts):
            current().parenthesized[inner] = (lpar, rpar)
            return inner
        if inner.kind == "one":
            if isinstance(inner.elts[0], ast.Starred):
                raise current().error_at("cannot use starred expression here", inner.elts[0])
            current().parenthesized[inner.elts[0]] = (lpar, rpar)
            return inner.elts[0]
        if inner.kind == "comp":
            node = ast.GeneratorExp(inner.elts[0], inner.generators)
            return self._expr(node, lpar, rpar, node.elt, node.generators)
        return self._expr(ast.Tuple(inner.elts), lpar, rpar, inner.elts)

    def list_display(self, c: list) -> ast.Expr:
        lsqb, inner, rsqb = c
        if inner is None:
            return self._expr(ast.List([]), lsqb, rsqb)
        if inner.kind == "comp":
            node = ast.ListComp(inner.elts[0], inner.generators)
            return self._expr(node, lsqb, rsqb, node.elt, node.generators)
        return self._expr(ast.List(inner.elts), lsqb, rsqb, inner.elts)

    def brace_display(self, c: list) -> ast.Expr:
        lbrace, inner, rbrace = c
        if inner is None:
            return self._expr(ast.Dict([], []), lbrace, rbrace)
        if isinstance(inner, _Dict):
            if inner.generators is not None:
                node = ast.DictComp(inner.keys[0], inner.values[0], inner.generators)
                return self._expr(node, lbrace, rbrace, node.key, node.value, node.generators)
            return self._expr(ast.Dict(inner.keys, inner.values), lbrace, rbrace, inner.keys, inner.values)
        if inner.kind == "comp":
            node = ast.SetComp(inner.elts[0], inner.generators)
            return self._expr(node, lbrace, rbrace, node.elt, node.generators)
        return self._expr(ast.Set(inner.elts), lbrace, rbrace, inner.elts)

    def comp_elts(self, c: list) -> _Elts:
        return _Elts("comp", [c[0]], c[1])

    def one_elt(self, c: list) -> _Elts:
        return _Elts("one", c)

    def elts(self, c: list) -> _Elts:
        return _Elts("many", c)

    def set_items(self, c: list) -> _Elts:
        return _Elts("many", c)

    def set_comp_items(self, c: list) -> _Elts:
        return _Elts("comp", [c[0]], c[1])

    def dict_entry(self, c: list) -> tuple:
        if isinstance(c[0], Token):
            return None, c[1]
        return c[0], c[1]

    def dict_items(self, c: list) -> _Dict:
        return _Dict([k for k, _ in c], [v for _, v in c])

    def dict_comp_items(self, c: list) -> _Dict:
        return _Dict([c[0]], [c[1]], c[2])

    def comp_clauses(self, c: list) -> list[ast.Comprehension]:
        """``for`` clauses, each with the ``if`` clauses that follow it."""
        groups: list[tuple[_CompFor, list]] = []
        for clause in c:
            if isinstance(clause, _CompFor):
                groups.append((clause, []))
            else:
                groups[-1][1].append(clause)
        generators = []
        for clause, ifs in groups:
            node = ast.Comprehension(clause.target, clause.iter, ifs)
            last = ifs[-1] if ifs else clause.iter
            generators.append(self._expr(node, clause.first, last, clause.target, clause.iter, ifs))
        return generators

    def comp_for(self, c: list) -> _CompFor:
        is_async, keyword, target, iterable = c
        ctx = current()
        if is_async is not None:
            ctx.refuse("asynchronous comprehensions are not supported", is_async)
        check_target(ctx, target, "for")
        return _CompFor(is_async or keyword, target, iterable)

    def comp_if(self, c: list) -> ast.Expr:
        return c[0]
