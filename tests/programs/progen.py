"""Hypothesis strategy generating small Level 1 programs for differential testing.

This module is Level 1; progen_level2.py extends `ProgramBuilder` with classes,
exceptions and generators, and `programs()` uses it unless asked for `level=1`.

`programs()` draws a whole program: typed global variables (ints incl. big and
negative ones, floats, strings, lists of ints, lists of strings, a str->int dict),
up to three functions (parameters, defaults, keyword calls, closures with
`nonlocal`, `global`), then statements (assignments, unpacking, augmented
assignments, container mutation, if/elif/else, bounded while/for loops with
break/continue/else, asserts, prints) and a final print of every variable.

Every variable keeps one static type, so most operations are well typed and
programs run deep; risky operations (indexing, division, pop/remove, int())
are left unguarded a minority of the time, so programs also end with the
exceptions CPython raises. Programs are deterministic (no string sets, no ids,
no reprs of functions) and bounded: loops run at most 5 times and nest at most
two deep (one inside a function), functions only call earlier functions, ints
that might grow are reduced with `%`, strings and lists that might grow are
sliced, and `**` only takes small literal exponents.

Expressions are built bottom-up as (text, precedence) pairs and parenthesised
only where Python's precedence requires it, so the parser's precedence and
associativity are exercised too. Each `*_expr` method lists its alternatives as
zero-argument lambdas and draws one; earlier alternatives are what hypothesis
shrinks towards.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple, Sequence

from hypothesis import strategies as st

INT, FLOAT, STR, LIST, WORDS, DICT, BOOL = "int", "float", "str", "list", "words", "dict", "bool"
VALUE_TYPES = (INT, FLOAT, STR, LIST, WORDS, DICT)
ANY_TYPES = VALUE_TYPES + (BOOL,)
TYPE_NAMES = {INT: "int", FLOAT: "float", STR: "str", LIST: "list", WORDS: "list", DICT: "dict"}
GLOBALS = {"i0": INT, "i1": INT, "i2": INT, "f0": FLOAT, "f1": FLOAT, "s0": STR,
           "s1": STR, "s2": STR, "l0": LIST, "l1": LIST, "w0": WORDS, "d0": DICT}

# Precedence levels, lowest binding first (Python's grammar order).
LAMBDA, IFEXP, OR, AND, NOT, CMP, BOR, BXOR, BAND, SHIFT, ARITH, TERM, UNARY, POW, ATOM = range(15)
BINOP_PREC = {"|": BOR, "^": BXOR, "&": BAND, "<<": SHIFT, ">>": SHIFT, "+": ARITH, "-": ARITH,
              "*": TERM, "/": TERM, "//": TERM, "%": TERM}

INT_LITERALS = ("0", "1", "2", "3", "7", "-1", "-5", "10", "255", "0xFF", "0o17", "0b1011",
                "1_000_000", "2**64", "-(2**63)", "123456789012345678901234567890",
                "-98765432109876543210")
FLOAT_LITERALS = ("0.5", "1.0", "-2.5", "3.14159", "0.1", "1e3", "2.5e-3", "-0.0", "1e300",
                  "7.", ".25", "1e16", "float('inf')")
STR_LITERALS = ("", "a", "abc", "Hello World", " pad me ", "a,b,,c", "x-y-z", "123", "  42 ",
                "MiXeD cAsE", "straße", "Σίσυφος", "tab\there", "two\nlines", "it's", "naïve café")
# 3.11 f-strings allow neither a backslash nor the enclosing quote inside their braces.
FSTRING_SAFE = tuple(s for s in STR_LITERALS if '"' not in repr(s) and "\\" not in repr(s))
KEYS = ("a", "b", "key", "x", "Hello World")
MODULI = ("97", "1000003", "-7919", "(2**64 + 13)", "10**30")
FORMAT_SPECS = {INT: ("", ":>6", ":,", ":08b", ":x", ":+d", ":^7", ":_", ":#o"),
                FLOAT: ("", ":.3f", ":10.2e", ":g", ":+.1%", ":<9.4", ":,.2f"),
                STR: ("", ":>8", ":*^9", ":.2", "!r", "!a:<6"), LIST: ("", "!r"),
                BOOL: ("", ":d", "!s")}


class E(NamedTuple):
    """A generated expression: source text, precedence, whether it may grow without bound."""

    text: str
    prec: int
    grows: bool = False


def par(e: E, need: int) -> str:
    """e's text, parenthesised when it binds less tightly than `need`."""
    return e.text if e.prec >= need else f"({e.text})"


def atom(text: str, grows: bool = False) -> E:
    """An expression that needs no parentheses anywhere."""
    return E(text, ATOM, grows)


def literal_prec(text: str) -> int:
    return UNARY if text.startswith("-") else POW if "**" in text else ATOM


def indent(lines: list[str]) -> list[str]:
    """Lines one block deeper."""
    return ["    " + line if line else line for line in lines]


@dataclass
class FuncSig:
    """A function the program defined: typed parameters, how many have defaults, result type."""

    name: str
    params: list[tuple[str, str]]
    n_defaults: int
    ret: str


@dataclass
class Scope:
    """Names visible in one function (or the module) and which of them may be assigned."""

    readable: dict[str, str]
    assignable: set[str]
    funcs: list[FuncSig] = field(default_factory=list)
    loop_depth: int = 0
    max_loops: int = 2
    ret: str | None = None


class ProgramBuilder:
    """Draws one program through hypothesis's `draw`, choice by choice."""

    def __init__(self, draw: Callable[[st.SearchStrategy], Any]) -> None:
        self.draw = draw
        self.budget = 40  # statements left in the whole program
        self.uses_math = False
        self.in_fstring = False
        self.block_depth = 0
        self.names = 0
        self.scope = Scope(dict(GLOBALS), set(GLOBALS))
        self.module_scope = self.scope

    # --- Choices ---
    def n(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi))

    def pick(self, options: Sequence[Any]) -> Any:
        return self.draw(st.sampled_from(options))

    def one_of(self, *alternatives: Callable[[], Any]) -> Any:
        """Call one of the alternatives (they are lambdas so only the chosen one draws)."""
        return alternatives[self.n(0, len(alternatives) - 1)]()

    def chance(self, percent: int) -> bool:
        """True with about `percent`% probability; shrinks towards False."""
        return self.n(0, 99) >= 100 - percent

    def fresh(self, prefix: str) -> str:
        self.names += 1
        return f"{prefix}{self.names}"

    def vars_of(self, t: str, assignable: bool = False) -> list[str]:
        pool = self.scope.assignable if assignable else self.scope.readable
        return sorted(v for v in pool if self.scope.readable[v] == t)

    # --- Literals ---
    def int_lit(self) -> E:
        text = self.pick(INT_LITERALS) if self.chance(30) else str(self.n(-3, 12))
        return E(text, literal_prec(text))

    def small_int(self) -> E:
        return E(str(v := self.n(-2, 6)), ATOM if v >= 0 else UNARY)

    def str_lit(self) -> E:
        if self.in_fstring:
            return atom(repr(self.pick(FSTRING_SAFE)))
        s = self.pick(STR_LITERALS)
        if self.chance(10) and len(s) > 1:  # implicit concatenation
            return atom(f"{s[:1]!r} {s[1:]!r}")
        return atom(repr(s))

    def literal(self, t: str) -> E:
        if t == INT:
            return self.int_lit()
        if t == FLOAT:
            return E(text := self.pick(FLOAT_LITERALS), literal_prec(text))
        if t == STR:
            return self.str_lit()
        if t in (LIST, WORDS):
            item = self.int_lit if t == LIST else self.str_lit
            return atom("[" + ", ".join(item().text for _ in range(self.n(0, 4))) + "]")
        if t == DICT:
            items = [f"{self.pick(KEYS)!r}: {self.int_lit().text}" for _ in range(self.n(0, 3))]
            return atom("{" + ", ".join(items) + "}")
        return atom(self.pick(("True", "False")))

    # --- Expression helpers ---
    def expr(self, t: str, depth: int = 2) -> E:
        """An expression of static type t, at most `depth` levels deep."""
        if depth <= 0 or self.chance(25):
            if t == BOOL and self.chance(60):
                return self.compare(INT, 0)
            vs = self.vars_of(t) if t != BOOL else []
            if vs and (t not in (INT, FLOAT, STR) or self.chance(60)):
                return atom(self.pick(vs))
            return self.literal(t)
        if self.chance(8):
            return self.ifexp(t, depth)
        if self.chance(10) and (call := self.call(t, depth)) is not None:
            return call
        gen = {INT: self.int_expr, FLOAT: self.float_expr, STR: self.str_expr, LIST: self.list_expr,
               WORDS: self.words_expr, DICT: self.dict_expr, BOOL: self.bool_expr}[t]
        return gen(depth - 1)

    def binop(self, left: E, op: str, right: E, grows: bool = False) -> E:
        if op == "**":
            return E(f"{par(left, ATOM)} ** {par(right, UNARY)}", POW, grows or left.grows)
        p = BINOP_PREC[op]
        return E(f"{par(left, p)} {op} {par(right, p + 1)}", p, grows or left.grows or right.grows)

    def method(self, obj: E, name: str, *args: E | str, grows: bool = False) -> E:
        return atom(f"{par(obj, ATOM)}.{self.fn(name, *args).text}", grows or obj.grows)

    def fn(self, name: str, *args: E | str, grows: bool = False) -> E:
        return atom(f"{name}({', '.join(a if isinstance(a, str) else a.text for a in args)})", grows)

    def ifexp(self, t: str, depth: int) -> E:
        body, cond, other = self.expr(t, depth - 1), self.expr(BOOL, depth - 1), self.expr(t, depth - 1)
        return E(f"{par(body, OR)} if {par(cond, OR)} else {par(other, IFEXP)}", IFEXP,
                 body.grows or other.grows)

    def compare(self, t: str, d: int) -> E:
        ops = ("<", "<=", ">", ">=", "==", "!=") if t != DICT else ("==", "!=")
        text = par(self.expr(t, d), BOR)
        for _ in range(self.n(1, 2)):
            text += f" {self.pick(ops)} {par(self.expr(t, d), BOR)}"
        return E(text, CMP)

    def call(self, t: str, depth: int, f: FuncSig | None = None) -> E | None:
        """A call of a defined function returning t (its result may be large: grows=True)."""
        if f is None:
            funcs = [g for g in self.scope.funcs if g.ret == t]
            if not funcs:
                return None
            f = self.pick(funcs)
        n_args = self.n(len(f.params) - f.n_defaults, len(f.params))
        args = [self.expr(pt, depth - 1).text for _, pt in f.params[:n_args]]
        if args and self.chance(30):  # pass the last one by keyword
            args[-1] = f"{f.params[n_args - 1][0]}={args[-1]}"
        return self.fn(f.name, *args, grows=True)

    def divisor(self, t: str, depth: int) -> E:
        d = self.expr(t, depth)
        return E(f"{par(d, OR)} or 1", OR) if self.chance(85) else d

    def index(self, seq: E, depth: int, empty: str) -> E:
        """seq[i]: guarded against IndexError most of the time."""
        if self.chance(85):
            i = self.expr(INT, depth)
            return E(f"{par(seq, ATOM)}[{par(i, TERM)} % len({seq.text})] if {par(seq, OR)} "
                     f"else {empty}", IFEXP)
        return atom(f"{par(seq, ATOM)}[{self.small_int().text}]")

    def slice_of(self, seq: E) -> E:
        lo, hi = (self.pick(("", "1", "-2", "2", "-1", "0", "10")) for _ in range(2))
        step = ""
        if self.chance(30):
            step = ":" + (self.pick(("-1", "2", "-2", "3")) if self.chance(95) else "0")
        return atom(f"{par(seq, ATOM)}[{lo}:{hi}{step}]", seq.grows)

    def with_names(self, names: dict[str, str], build: Callable[[], Any]) -> Any:
        """Run build() with extra readable names (lambda parameters, comprehension targets)."""
        saved = self.scope.readable
        self.scope.readable = {**saved, **names}
        try:
            return build()
        finally:
            self.scope.readable = saved

    def binder(self, prefix: str, t: str, assignable: bool = False) -> str:
        """A name to bind: usually fresh, sometimes an existing variable of type t (shadowing
        it in a lambda or comprehension, rebinding it in a for loop)."""
        existing = self.vars_of(t, assignable)
        return self.pick(existing) if existing and self.chance(15) else self.fresh(prefix)

    def lam(self, arg_t: str, body_t: str) -> str:
        name = self.binder("x", arg_t)
        body = self.with_names({name: arg_t}, lambda: self.expr(body_t, 1))
        return f"lambda {name}: {par(body, IFEXP)}"

    def comprehension(self, src_t: str, elem_t: str, item_t: str, depth: int,
                      key_t: str | None = None) -> E:
        """A list comprehension (a dict one when key_t is given) over a list-like source."""
        name = self.binder("c", elem_t)
        src = self.expr(src_t, depth)

        def build() -> str:
            elem = self.expr(item_t, depth).text
            if key_t is not None:
                elem = f"{self.expr(key_t, depth).text}: {elem}"
            clause = f"for {name} in {par(src, OR)}"
            if self.chance(40):
                clause += f" if {par(self.expr(BOOL, depth), OR)}"
            if self.chance(15):
                clause += f" for {self.fresh('c')} in range({self.n(0, 3)})"
            return elem + " " + clause

        body = self.with_names({name: elem_t}, build)
        text = f"{{{body}}}" if key_t is not None else f"[{body}]"
        return atom(text, grows=" for " in body.split(" in ", 1)[1] or src.grows)

    # --- Expressions by type ---
    def int_expr(self, d: int) -> E:
        x = lambda t=INT: self.expr(t, d)  # noqa: E731
        return self.one_of(
            lambda: self.binop(x(), self.pick(("+", "-")), x()),
            lambda: self.binop(x(), "*", x(), grows=True),
            lambda: self.binop(x(), self.pick(("//", "%")), self.divisor(INT, d)),
            lambda: self.binop(x(), self.pick(("&", "|", "^")), x()),
            lambda: self.binop(x(), self.pick(("<<", ">>")),
                               self.small_int() if self.chance(10) else atom(str(self.n(0, 6))),
                               grows=True),
            lambda: self.binop(x(), "**", atom(str(self.n(0, 3))), grows=True),
            lambda: E(f"{self.pick(('-', '+', '~'))}{par(e := x(), UNARY)}", UNARY, e.grows),
            lambda: self.fn("len", x(self.pick((STR, LIST, WORDS, DICT)))),
            lambda: self.fn("abs", x()),
            lambda: self.fn(self.pick(("min", "max")), x(), x()),
            lambda: self.fn(self.pick(("min", "max")), x(LIST), f"default={self.small_int().text}",
                            *([f"key={self.lam(INT, INT)}"] if self.chance(30) else [])),
            lambda: self.fn("sum", x(LIST)),
            lambda: self.fn("int", x(FLOAT) if self.chance(85) else x(STR)),
            lambda: self.fn("round", x(FLOAT)),
            lambda: self.fn("int", self.fn(self.pick(("hex", "oct", "bin")), x()), self.pick(("0", "16"))),
            lambda: atom(f"divmod({x().text}, {self.divisor(INT, d).text})[{self.n(0, 1)}]"),
            lambda: self.fn("pow", x(), str(self.n(0, 5)), self.divisor(INT, d)),
            lambda: self.fn("ord", f"({par(x(STR), OR)} or 'a')[0]"),
            lambda: self.fn("hash", x()),
            lambda: self.index(x(LIST), d, "-1"),
            lambda: (self.method(atom("d0"), "get", self.dict_key(d).text, self.small_int().text)
                     if self.chance(75) else atom(f"d0[{self.dict_key(d).text}]")),
            lambda: self.method(x(STR), self.pick(("find", "count", "rfind")), x(STR).text),
            lambda: self.method(x(LIST), "count", x().text),
            lambda: self.list_index(x(LIST), x()),
            lambda: self.method(atom(f"({x().text})"), "bit_length"),
            lambda: self.binop(x(BOOL), "+", x()),
        )

    def list_index(self, seq: E, item: E) -> E:
        found = self.method(seq, "index", item.text)
        if self.chance(70):
            return E(f"{found.text} if {par(item, BOR)} in {par(seq, BOR)} else -1", IFEXP)
        return found

    def float_expr(self, d: int) -> E:
        x = lambda t=FLOAT: self.expr(t, d)  # noqa: E731
        return self.one_of(
            lambda: self.binop(x(), self.pick(("+", "-", "*")), x()),
            lambda: self.binop(x(), self.pick(("/", "//", "%")), self.divisor(FLOAT, d)),
            lambda: self.binop(x(INT), "/", self.divisor(INT, d)),
            lambda: self.binop(x(), "**", E(str(self.n(-2, 3)), UNARY)),
            lambda: self.fn("float", x(INT)),
            lambda: E(f"-{par(x(), UNARY)}", UNARY),
            lambda: self.fn("abs", x()),
            lambda: self.fn("round", x(), str(self.n(-1, 3))),
            lambda: self.math_expr(d),
        )

    def math_expr(self, d: int) -> E:
        self.uses_math = True
        return self.one_of(
            lambda: atom("math.pi"),
            lambda: self.fn("math.sqrt", self.fn("abs", self.expr(FLOAT, d))),
            lambda: self.fn("math.fabs", self.expr(FLOAT, d)),
            lambda: self.fn("float", self.fn(self.pick(("math.floor", "math.ceil")),
                                             self.expr(FLOAT, d))),
            lambda: self.fn("math.hypot", self.expr(FLOAT, d), self.expr(INT, d)),
        )

    def str_expr(self, d: int) -> E:
        x = lambda t=STR: self.expr(t, d)  # noqa: E731
        return self.one_of(
            lambda: self.binop(x(), "+", x(), grows=True),
            lambda: self.binop(s := x(), "*", atom(str(self.n(0, 3))),
                               grows=not s.text.startswith(("'", '"'))),
            lambda: self.slice_of(x()),
            lambda: self.index(x(), d, "''"),
            lambda: self.method(x(), self.pick(("upper", "lower", "strip", "lstrip", "rstrip",
                                                "title", "capitalize", "swapcase", "casefold",
                                                "expandtabs"))),
            lambda: self.method(x(), "replace", self.expr(STR, 0).text, self.expr(STR, 0).text,
                                grows=True),
            lambda: self.method(x(), self.pick(("center", "ljust", "rjust", "zfill")),
                                str(self.n(0, 12))),
            lambda: self.method(x(), self.pick(("strip", "removeprefix", "removesuffix")),
                                self.expr(STR, 0).text),
            lambda: self.fn(self.pick(("str", "repr")), x(self.pick(ANY_TYPES)), grows=True),
            lambda: self.fstring(d),
            lambda: self.percent_format(d),
            lambda: self.format_call(d),
            lambda: self.method(self.expr(STR, 0), "join", x(WORDS), grows=True),
            lambda: self.method(self.expr(STR, 0), "join",
                                self.comprehension(LIST, INT, STR, d).text, grows=True),
            lambda: self.fn("chr", f"{self.pick(('65', '97', '0x3b1'))} + "
                                   f"{par(x(INT), TERM)} % 26"),
            lambda: self.fn(self.pick(("hex", "bin", "oct")), x(INT)),
            lambda: self.index(x(WORDS), d, "''"),
        )

    def fstring(self, d: int) -> E:
        if self.in_fstring:
            return atom("s1")
        self.in_fstring = True
        parts = []
        for _ in range(self.n(1, 3)):
            t = self.pick((INT, FLOAT, STR, LIST, BOOL))
            text = par(self.expr(t, max(d - 1, 0)), OR)
            spec = self.pick(FORMAT_SPECS[t])
            if t == STR and self.chance(20):  # a nested replacement field in the spec
                spec = f":>{{{par(self.expr(INT, 0), TERM)} % 12}}"
            parts.append("{" + (f" {text} " if text.startswith("{") else text) + spec + "}")
            parts.append(self.pick(("", " ", "|", "-", "{{x}}", "é")))
        self.in_fstring = False
        return atom('f"' + "".join(parts) + '"', grows=True)

    def percent_format(self, d: int) -> E:
        specs = [(INT, "%d"), (INT, "%5d"), (INT, "%-4d|"), (INT, "%x"), (FLOAT, "%.2f"),
                 (FLOAT, "%8.3e"), (STR, "%s"), (STR, "%r"), (LIST, "%s"), (FLOAT, "%g"),
                 (INT, "%+03i"), (STR, "%-6s.")]
        chosen = [self.pick(specs) for _ in range(self.n(1, 3))]
        fmt = repr("<" + " ".join(s for _, s in chosen) + ">")
        args = ", ".join(self.expr(t, d).text for t, _ in chosen)
        return E(f"{fmt} % ({args}{',' if len(chosen) == 1 else ''})", TERM, True)

    def format_call(self, d: int) -> E:
        fmt, n_args = self.pick((("{}", 1), ("{} and {!r}", 2), ("{0}{1}{0}", 2), ("[{:>5}]", 1),
                                 ("{:^9}|{}", 2)))
        args = [self.expr(self.pick((INT, STR)), d) for _ in range(n_args)]
        return self.method(atom(repr(fmt)), "format", *(a.text for a in args), grows=True)

    def list_expr(self, d: int) -> E:
        x = lambda t=LIST: self.expr(t, d)  # noqa: E731
        return self.one_of(
            lambda: self.binop(x(), "+", x(), grows=True),
            lambda: self.slice_of(x()),
            lambda: self.fn("sorted", x(), *([f"key={self.lam(INT, INT)}"] if self.chance(40) else []),
                            *([f"reverse={self.pick(('True', 'False'))}"] if self.chance(40) else [])),
            lambda: self.comprehension(LIST, INT, INT, d),
            lambda: self.comprehension(WORDS, STR, INT, d),
            lambda: self.fn("list", "range({}, {}{})".format(*sorted((self.n(-3, 6), self.n(-3, 6))),
                                                               self.pick(("", ", 2", ", -1", ", 3")))),
            lambda: self.fn("list", self.fn("map", self.lam(INT, INT), x())),
            lambda: self.fn("list", self.fn("filter", self.lam(INT, BOOL), x())),
            lambda: atom(f"[*{par(x(), BOR)}, {self.expr(INT, d).text}]", grows=True),
            lambda: self.fn("list", self.fn("reversed", x())),
            lambda: self.fn("list", self.method(x(DICT), "values")),
            lambda: self.binop(atom(f"[{self.small_int().text}]"), "*", atom(str(self.n(0, 4)))),
            lambda: self.fn("sorted", self.binop(self.fn("set", x()), self.pick(("|", "&", "-", "^")),
                                                 self.fn("set", x()))),
        )

    def words_expr(self, d: int) -> E:
        x = lambda t=STR: self.expr(t, d)  # noqa: E731
        return self.one_of(
            lambda: self.method(x(), "split"),
            lambda: self.method(x(), self.pick(("split", "rsplit")),
                                self.pick(("','", "' '", "'-'", "'a'")) if self.chance(90)
                                else self.expr(STR, 0).text, str(self.n(-1, 2))),
            lambda: self.fn("sorted", x(WORDS)),
            lambda: self.fn("list", x()),
            lambda: self.fn("list", x(DICT)),
            lambda: self.comprehension(WORDS, STR, STR, d),
            lambda: self.binop(x(WORDS), "+", x(WORDS), grows=True),
            lambda: self.fn("list", self.method(x(), self.pick(("partition", "rpartition")),
                                                self.expr(STR, 0).text)),
            lambda: self.method(x(), "splitlines"),
        )

    def dict_key(self, d: int) -> E:
        return atom(repr(self.pick(KEYS))) if self.chance(60) else self.expr(STR, d)

    def dict_expr(self, d: int) -> E:
        x = lambda t=DICT: self.expr(t, d)  # noqa: E731
        return self.one_of(
            lambda: self.comprehension(WORDS, STR, INT, d, key_t=STR),
            lambda: self.fn("dict", self.fn("zip", self.expr(WORDS, d), self.expr(LIST, d))),
            lambda: atom(f"{{**{par(x(), BOR)}, {self.dict_key(d).text}: {self.expr(INT, d).text}}}"),
            lambda: self.fn("dict.fromkeys", self.expr(WORDS, d), self.small_int()),
            lambda: self.fn("dict", x()),
        )

    def bool_expr(self, d: int) -> E:
        x = lambda t=BOOL: self.expr(t, d)  # noqa: E731
        member = lambda t, c: E(f"{par(x(t), BOR)} {self.pick(('in', 'not in'))} {par(x(c), BOR)}",  # noqa: E731
                                CMP)
        return self.one_of(
            lambda: self.compare(self.pick((INT, INT, FLOAT, STR, LIST, DICT)), d),
            lambda: member(*self.pick(((INT, LIST), (STR, STR), (STR, DICT), (STR, WORDS)))),
            lambda: E(f"{par(x(INT), BOR)} in range({self.n(-2, 3)}, {self.n(0, 9)})", CMP),
            lambda: E(f"not {par(x(), NOT)}", NOT),
            lambda: E(f"{par(x(), AND)} and {par(x(), AND + 1)}", AND),
            lambda: E(f"{par(x(), OR)} or {par(x(), OR + 1)}", OR),
            lambda: self.fn("isinstance", x(self.pick(VALUE_TYPES)),
                            self.pick(("int", "float", "str", "list", "dict", "(int, float)", "bool"))),
            lambda: self.method(x(STR), self.pick(("isdigit", "isalpha", "isupper", "islower",
                                                   "isspace", "isalnum", "istitle"))),
            lambda: self.method(x(STR), self.pick(("startswith", "endswith")), self.expr(STR, 0).text),
            lambda: self.fn(self.pick(("any", "all")), self.comprehension(LIST, INT, BOOL, d)),
            lambda: E(f"{self.method(atom('d0'), 'get', self.dict_key(d).text).text} "
                      f"is{self.pick(('', ' not'))} None", CMP),
            lambda: self.method(x(FLOAT), "is_integer"),
        )

    # --- Statements ---
    def bounded(self, target_t: str, e: E) -> str:
        """e's text, made size-bounded when it may grow (ints reduced, sequences sliced)."""
        if not e.grows:
            return e.text
        if target_t == INT:
            return f"{par(e, TERM + 1)} % {self.pick(MODULI)}"
        if target_t in (STR, LIST, WORDS):
            return f"({e.text})[:{self.n(3, 40)}]"
        return e.text

    def small_value(self, t: str) -> str:
        """A value that is small however big the variables are (for += and extend)."""
        if t == STR:
            return self.pick((self.str_lit().text, f"str({self.small_int().text})", "'.'"))
        if t == LIST:
            return f"[{self.expr(INT, 1).text}]" if self.chance(60) else self.literal(LIST).text
        return f"[{self.expr(STR, 0).text}]"

    def block(self, lo: int = 1, hi: int = 4) -> list[str]:
        self.block_depth += 1
        lines: list[str] = []
        for _ in range(self.n(lo, hi)):
            if self.budget <= 0:
                break
            lines += self.stmt()
        self.block_depth -= 1
        return lines or ["pass"]

    def stmt(self) -> list[str]:
        self.budget -= 1
        kinds = ["assign", "assign", "print", "augassign", "mutate", "if", "for", "while",
                 "unpack", "print", "mutate", "assert", "pass"]
        kinds += ["call", "call"] if self.scope.funcs else []
        kinds += ["break"] if self.scope.loop_depth else []
        kinds += ["return"] if self.scope.ret is not None else []
        kind = self.pick(kinds)
        nested_ok = self.block_depth < 3 and self.budget > 2
        if kind in ("for", "while") and self.scope.loop_depth >= self.scope.max_loops:
            nested_ok = False
        if kind in ("if", "for", "while") and not nested_ok:
            kind = "assign"
        return getattr(self, f"stmt_{kind}")()

    def stmt_assign(self) -> list[str]:
        t = self.pick(VALUE_TYPES)
        targets = self.vars_of(t, assignable=True)
        if not targets:
            return self.stmt_print()
        target = self.pick(targets)
        if self.chance(10) and len(targets) > 1:
            target += " = " + self.pick(targets)
        value = self.bounded(t, self.expr(t))
        if self.chance(5) and target in GLOBALS:
            return [f"{target} = {value}", f"del {target}", f"{target} = {self.literal(t).text}"]
        return [f"{target} = {value}"]

    def stmt_augassign(self) -> list[str]:
        t = self.pick((INT, INT, FLOAT, STR, LIST, "item"))
        if t == "item":  # l[i] op= x, d[k] op= x: the target is read, then written
            op = self.pick(("+=", "-=", "*=", "|=", "//="))
            rhs = (self.divisor(INT, 1) if op == "//=" else self.expr(INT, 1)).text
            if self.chance(50):
                key, guard = self.dict_key(1).text, "{key} in d0"
                lines = [f"d0[{key}] {op} {rhs}"]
            else:
                v, key = self.pick(("l0", "l1")), self.small_int().text
                lines = [f"{v}[{key}] {op} {rhs}"]
                guard = f"len({v}) > {key} >= -len({v})"
            return [f"if {guard.format(key=key)}:", "    " + lines[0]] if self.chance(85) else lines
        targets = self.vars_of(t, assignable=True)
        if not targets:
            return ["pass"]
        target = self.pick(targets)
        if t == FLOAT:
            return [f"{target} {self.pick(('+=', '-=', '*=', '/='))} {self.expr(FLOAT, 1).text}"]
        if t != INT:
            return self.capped(target, t, [f"{target} += {self.small_value(t)}"])
        op = self.pick(("+=", "-=", "*=", "//=", "%=", "&=", "|=", "^=", "<<=", ">>="))
        if op in ("*=", "<<=", ">>="):
            rhs = str(self.n(0, 5))
        else:
            rhs = (self.divisor(INT, 1) if op in ("//=", "%=") else self.expr(INT, 1)).text
        return [f"{target} {op} {rhs}"]

    def stmt_print(self) -> list[str]:
        def logic() -> str:
            a, b = self.expr(self.pick(VALUE_TYPES), 1), self.expr(self.pick(VALUE_TYPES), 1)
            op = self.pick(("and", "or"))
            p = AND if op == "and" else OR
            return f"{par(a, p)} {op} {par(b, p + 1)}"

        args = [self.one_of(
            lambda: self.expr(self.pick(ANY_TYPES)).text,
            lambda: self.expr(self.pick(ANY_TYPES)).text,
            lambda: f"type({self.expr(self.pick(ANY_TYPES), 1).text})",
            logic,
            lambda: "{" + ", ".join(self.expr(INT, 1).text for _ in range(self.n(1, 3))) + "}",
            lambda: f"{{*{par(self.expr(LIST, 1), BOR)}, {self.expr(INT, 1).text}}}",
            lambda: (self.binop(self.expr(self.pick(ANY_TYPES), 1),  # often a TypeError
                                self.pick(("+", "-", "/", "%", "&", "|")),
                                self.expr(self.pick(ANY_TYPES), 1)).text
                     if self.chance(30) else "undefined_name" if self.chance(3) else self.expr(INT).text),
            self.closures_in_comprehension,
            lambda: "{" + self.comprehension(LIST, INT, INT, 1).text[1:-1] + "}",
            lambda: f"({self.expr(INT, 1).text}, {self.expr(STR, 1).text})",
            lambda: f"[{self.expr(LIST, 1).text}, [{self.expr(WORDS, 1).text}, {self.expr(DICT, 1).text}]]",
            lambda: f"{self.pick(('sorted', 'list'))}(d0.items())",
            lambda: f"({self.expr(FLOAT, 1).text}).as_integer_ratio()",
        ) for _ in range(self.n(0, 3))]
        if args and self.chance(20):
            args.append(f"sep={self.str_lit().text}")
        if self.chance(15):
            args.append(f"end={self.pick(('', '|', ' ;'))!r}")
        return [f"print({', '.join(args)})"]

    def closures_in_comprehension(self) -> str:
        """Lambdas made in a comprehension: late binding, or early with a default."""
        c, f = self.fresh("c"), self.fresh("f")
        body = self.with_names({c: INT}, lambda: self.expr(INT, 1))
        params = f"{c}={c}" if self.chance(50) else ""
        return (f"[{f}() for {f} in [lambda{' ' if params else ''}{params}: {par(body, IFEXP)} "
                f"for {c} in {par(self.expr(LIST, 1), OR)}]]")

    def stmt_mutate(self) -> list[str]:
        t = self.pick((LIST, LIST, DICT, WORDS))
        targets = self.vars_of(t, assignable=True) or self.vars_of(t)
        if not targets:
            return ["pass"]
        v = self.pick(targets)
        if t == DICT:
            key = self.dict_key(1).text
            stmt = self.pick((f"{v}[{key}] = {self.expr(INT, 1).text}", f"del {v}[{key}]",
                              f"{v}.pop({key}, None)", f"{v}.setdefault({key}, {self.small_int().text})",
                              f"{v}.update({{{key}: {self.small_int().text}}})", f"{v}.popitem()",
                              f"{v}.clear()", f"{v}.update(zz={self.small_int().text})"))
            if self.chance(85) and (stmt.startswith("del") or "popitem" in stmt):
                return [f"if {key} in {v}:" if stmt.startswith("del") else f"if {v}:", f"    {stmt}"]
            return [stmt]
        elem = self.expr(INT if t == LIST else STR, 1).text
        i = self.small_int().text
        stmt = self.pick((f"{v}.append({elem})", f"{v}.insert({i}, {elem})", f"{v}.pop()",
                          f"{v}.remove({elem})", f"{v}.sort()", f"{v}.reverse()",
                          f"{v}.extend({self.small_value(t)})", f"del {v}[{i}]",
                          f"{v}[{i}] = {elem}", f"{v}[1:{i}] = {self.small_value(t)}",
                          f"{v}.sort(reverse=True)", f"del {v}[::2]"))
        if self.chance(85) and (".pop()" in stmt or "remove" in stmt or f"{v}[{i}]" in stmt):
            guard = f"{elem} in {v}" if "remove" in stmt else f"len({v}) > {i} >= -len({v})"
            return [f"if {guard}:", f"    {stmt}"]
        if any(grow in stmt for grow in (".append(", ".insert(", ".extend(", f"{v}[1:")):
            return self.capped(v, t, [stmt])
        return [stmt]

    def capped(self, target: str, t: str, lines: list[str]) -> list[str]:
        """lines growing the list `target`, capped in a function or a loop: the call may come
        from a comprehension or map() iterating that very list, and a loop may iterate it
        through a generator expression, which must not grow it forever."""
        if t not in (LIST, WORDS) or self.scope is self.module_scope and not self.scope.loop_depth:
            return lines
        return [f"if len({target}) < 40:"] + indent(lines)

    def stmt_if(self) -> list[str]:
        lines = [f"if {self.expr(BOOL).text}:"] + indent(self.block())
        for _ in range(self.n(0, 2)):
            lines += [f"elif {self.expr(BOOL).text}:"] + indent(self.block(1, 2))
        if self.chance(40):
            lines += ["else:"] + indent(self.block(1, 2))
        return lines

    def loop(self, head: str, names: dict[str, str]) -> list[str]:
        """head, a body that may read `names`, and sometimes an else clause."""
        self.scope.loop_depth += 1
        body = self.with_names(names, self.block)
        self.scope.loop_depth -= 1
        if head.startswith("while"):
            body.insert(0, f"{head.split()[1]} += 1")  # the counter: `continue` cannot skip it
        lines = [head] + indent(body)
        return lines + (["else:"] + indent(self.block(1, 2)) if self.chance(20) else [])

    def stmt_while(self) -> list[str]:
        counter = self.fresh("n")
        cond = f"{counter} < {self.n(0, 5)}"
        if self.chance(30):
            cond += f" and {par(self.expr(BOOL, 1), AND + 1)}"
        return [f"{counter} = 0"] + self.loop(f"while {cond}:", {})

    def stmt_for(self) -> list[str]:
        var, var2, n = self.fresh("k"), self.fresh("k"), self.n(0, 5)
        bind = lambda t: self.binder("k", t, assignable=True)  # noqa: E731
        return self.one_of(
            lambda: self.loop(f"for {(v := bind(INT))} in range("
                              f"{', '.join(str(self.n(-2, 5)) for _ in range(self.n(1, 2)))}):", {v: INT}),
            lambda: self.loop(f"for {(v := bind(INT))} in {par(self.expr(LIST, 1), ATOM)}[:{n}]:", {v: INT}),
            lambda: self.loop(f"for {(v := bind(STR))} in {par(self.expr(STR, 1), ATOM)}[:{n}]:", {v: STR}),
            lambda: self.loop(f"for {(v := bind(STR))} in {par(self.expr(WORDS, 1), ATOM)}[:{n}]:", {v: STR}),
            lambda: self.loop(f"for {var}, {var2} in enumerate(l0[:{n}]):", {var: INT, var2: INT}),
            lambda: self.loop(f"for {var}, {var2} in zip(s0[:{n}], w0):", {var: STR, var2: STR}),
            lambda: self.loop(f"for {var}, {var2} in sorted(d0.items())[:{n}]:", {var: STR, var2: INT}),
            lambda: self.loop(f"for {var} in d0:", {var: STR}),  # mutating d0 inside raises
        )

    def stmt_unpack(self) -> list[str]:
        ints, strs, lists = (self.vars_of(t, True) for t in (INT, STR, LIST))
        k = self.n(0, 4)
        if k == 0 and len(ints) >= 2:
            a, b = self.pick(ints), self.pick(ints)
            return [f"{a}, {b} = {b}, {a}"] if a != b else [f"{a}, = {self.expr(INT).text},"]
        if k == 1 and ints and strs:
            return [f"{self.pick(ints)}, {self.pick(strs)} = {self.bounded(INT, self.expr(INT))}, "
                    f"{self.bounded(STR, self.expr(STR))}"]
        if k == 2 and ints and lists:
            return [f"{self.pick(ints)}, *{self.pick(lists)} = {self.expr(LIST).text}"]
        if k == 3 and len(strs) >= 3:
            return [f"{', '.join(strs[:3])} = {par(self.expr(STR), ATOM)}.partition("
                    f"{self.expr(STR, 0).text})"]
        if len(ints) >= 2:
            return [f"[{ints[0]}, {ints[1]}] = divmod({self.expr(INT).text}, "
                    f"{self.divisor(INT, 1).text})"]
        return self.stmt_assign()

    def stmt_call(self) -> list[str]:
        f = self.pick(self.scope.funcs)
        if self.chance(3):  # a call that does not fit the signature: TypeError
            args = [self.expr(t, 1).text for _, t in f.params]
            required = len(f.params) - f.n_defaults
            args = self.pick((args + ["0"], args + ["zz=0"], args[:max(required - 1, 0)],
                              args + [f"{f.params[0][0]}=0" if f.params else "0"]))
            return [f"print({f.name}({', '.join(args)}))"]
        result = self.call(f.ret, 2, f)
        targets = self.vars_of(f.ret, assignable=True)
        if targets and self.chance(50):
            return [f"{self.pick(targets)} = {self.bounded(f.ret, result)}"]
        return [f"print({result.text})"]

    def stmt_assert(self) -> list[str]:
        if self.chance(75):  # an invariant that holds: the program goes on
            t = self.pick(VALUE_TYPES)
            cond = f"isinstance({self.expr(t, 1).text}, {TYPE_NAMES[t]})"
        else:
            cond = self.expr(BOOL, 1).text
        return [f"assert {cond}" + (f", {self.str_lit().text}" if self.chance(50) else "")]

    def stmt_pass(self) -> list[str]:
        return ["pass"]

    def stmt_break(self) -> list[str]:
        return [f"if {self.expr(BOOL, 1).text}:", f"    {self.pick(('break', 'continue'))}"]

    def stmt_return(self) -> list[str]:
        value = self.bounded(self.scope.ret, self.expr(self.scope.ret))
        return [f"if {self.expr(BOOL, 1).text}:", f"    return {value}"]

    # --- Functions and the program ---
    def function(self, name: str, nested: bool = False) -> list[str]:
        """A def with typed parameters; its signature joins the enclosing scope's callables."""
        outer = self.scope
        params = [(self.fresh("p"), self.pick(VALUE_TYPES)) for _ in range(self.n(0, 3))]
        n_defaults = self.n(0, len(params))
        ret = self.pick(VALUE_TYPES)
        header = [p if i < len(params) - n_defaults else f"{p}={self.literal(t).text}"
                  for i, (p, t) in enumerate(params)]
        local_names = {self.fresh("a"): self.pick(VALUE_TYPES) for _ in range(self.n(0, 2))}
        self.scope = Scope({**outer.readable, **dict(params), **local_names},
                           set(dict(params)) | set(local_names), list(outer.funcs), max_loops=1,
                           ret=ret)
        lines = [f"{a} = {self.literal(t).text}" for a, t in local_names.items()]
        if not nested and self.chance(30):
            g = self.pick(sorted(GLOBALS))
            lines.append(f"global {g}")
            self.scope.assignable.add(g)
            self.scope.readable[g] = GLOBALS[g]
        if not nested and self.chance(4):  # read, then assign: the name is local throughout
            g = self.pick(sorted(set(GLOBALS) - self.scope.assignable))
            lines += [f"print({g})", f"{g} = {self.literal(GLOBALS[g]).text}"]
        shared = sorted(v for v in outer.assignable if v not in GLOBALS)
        if nested and shared and self.chance(60):
            v = self.pick(shared)
            lines.append(f"nonlocal {v}")
            self.scope.assignable.add(v)
        if not nested and self.chance(30):
            lines += self.function(self.fresh("g"), nested=True)
        lines += self.block(1, 4)
        lines.append(f"return {self.bounded(ret, self.expr(ret))}")
        self.scope = outer
        outer.funcs.append(FuncSig(name, params, n_defaults, ret))
        return [f"def {name}({', '.join(header)}):"] + indent(lines)

    def program(self) -> str:
        lines = [f"{v} = {self.literal(t).text}" for v, t in GLOBALS.items()]
        for i in range(self.n(0, 3)):
            self.budget -= 3
            lines += [""] + self.function(f"fn{i}") + [""]
        while self.budget > 0:
            lines += self.stmt()
        lines.append("print(" + ", ".join(GLOBALS) + ")")
        if self.uses_math:
            lines.insert(0, "import math")
        return "\n".join(lines) + "\n"


@st.composite
def programs(draw: Callable[[st.SearchStrategy], Any], level: int = 2) -> str:
    """A hypothesis strategy for whole programs (source text): Level 1 only, or Level 1 plus
    the classes, exceptions and generators of Level 2 (progen_level2, the default)."""
    if level < 2:
        return ProgramBuilder(draw).program()
    from progen_level2 import Level2Builder  # imported late: it builds on this module
    return Level2Builder(draw).program()
