"""Hypothesis strategy generating small Level 1 programs for differential testing.

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
associativity are exercised too.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, NamedTuple

from hypothesis import strategies as st

INT, FLOAT, STR, LIST, WORDS, DICT, BOOL = "int", "float", "str", "list", "words", "dict", "bool"
VALUE_TYPES = (INT, FLOAT, STR, LIST, WORDS, DICT)
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
FSTRING_SAFE = tuple(s for s in STR_LITERALS if '"' not in repr(s) and "\\" not in repr(s))
KEYS = ("a", "b", "key", "x", "Hello World")
MODULI = ("97", "1000003", "-7919", "(2**64 + 13)", "10**30")
BOUND_INT_LIMIT = 6  # keeps loop counts and slice lengths small


class E(NamedTuple):
    """A generated expression: source text, precedence, and whether it may grow without bound."""

    text: str
    prec: int
    grows: bool = False


def par(e: E, need: int) -> str:
    """e's text, parenthesised when it binds less tightly than `need`."""
    return e.text if e.prec >= need else f"({e.text})"


def atom(text: str, grows: bool = False) -> E:
    """An expression that needs no parentheses anywhere."""
    return E(text, ATOM, grows)


@dataclass
class FuncSig:
    """A callable the program defined: parameter names/types, how many have defaults, result."""

    name: str
    params: list[tuple[str, str]]
    n_defaults: int
    ret: str


@dataclass
class Scope:
    """Names visible in one function (or the module) and which of them may be assigned."""

    kind: str  # "module" | "function"
    readable: dict[str, str]
    assignable: set[str]
    funcs: list[FuncSig] = field(default_factory=list)
    loop_depth: int = 0
    max_loops: int = 2
    ret: str | None = None


class ProgramBuilder:
    """Draws one program through hypothesis's `draw`, choice by choice."""

    def __init__(self, draw: Callable) -> None:
        self.draw = draw
        self.budget = 40  # statements left in the whole program
        self.uses_math = False
        self.in_fstring = False
        self.block_depth = 0
        self.names = 0
        self.scope = Scope("module", dict(GLOBALS), set(GLOBALS))

    # --- Choices ---
    def n(self, lo: int, hi: int) -> int:
        return self.draw(st.integers(lo, hi))

    def pick(self, options):
        return self.draw(st.sampled_from(options))

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
        return E(text, ATOM if text[0].isdigit() else (UNARY if text[0] == "-" else POW))

    def small_int(self) -> E:
        n = self.n(-2, BOUND_INT_LIMIT)
        return E(str(n), ATOM if n >= 0 else UNARY)

    def str_lit(self) -> E:
        if self.in_fstring:  # 3.11: no backslash or enclosing quote inside an f-string's braces
            return atom(repr(self.pick(FSTRING_SAFE)))
        s = self.pick(STR_LITERALS)
        if self.chance(10) and len(s) > 1:  # implicit concatenation
            return atom(f"{s[:1]!r} {s[1:]!r}")
        return atom(repr(s))

    # --- Expressions by type ---
    def expr(self, t: str, depth: int = 2) -> E:
        """An expression of static type t, at most `depth` levels deep."""
        vs = self.vars_of(t) if t != BOOL else []
        if depth <= 0 or self.chance(25):
            if vs and (t not in (INT, FLOAT, STR) or self.chance(60)):
                return atom(self.pick(vs))
            return self.literal(t)
        gen = {INT: self.int_expr, FLOAT: self.float_expr, STR: self.str_expr, LIST: self.list_expr,
               WORDS: self.words_expr, DICT: self.dict_expr, BOOL: self.bool_expr}[t]
        if self.chance(8):
            return self.ifexp(t, depth)
        if self.chance(10) and (call := self.call(t, depth)) is not None:
            return call
        return gen(depth - 1)

    def literal(self, t: str) -> E:
        if t == INT:
            return self.int_lit()
        if t == FLOAT:
            text = self.pick(FLOAT_LITERALS)
            return E(text, UNARY if text[0] == "-" else ATOM)
        if t == STR:
            return self.str_lit()
        if t == LIST:
            return atom("[" + ", ".join(self.int_lit().text for _ in range(self.n(0, 4))) + "]")
        if t == WORDS:
            return atom("[" + ", ".join(self.str_lit().text for _ in range(self.n(0, 3))) + "]")
        if t == DICT:
            items = [f"{self.pick(KEYS)!r}: {self.int_lit().text}" for _ in range(self.n(0, 3))]
            return atom("{" + ", ".join(items) + "}")
        return atom(self.pick(("True", "False")))

    def binop(self, left: E, op: str, right: E, grows: bool = False) -> E:
        if op == "**":
            return E(f"{par(left, ATOM)} ** {par(right, UNARY)}", POW, grows or left.grows)
        p = BINOP_PREC[op]
        return E(f"{par(left, p)} {op} {par(right, p + 1)}", p, grows or left.grows or right.grows)

    def ifexp(self, t: str, depth: int) -> E:
        body, cond, other = self.expr(t, depth - 1), self.expr(BOOL, depth - 1), self.expr(t, depth - 1)
        return E(f"{par(body, OR)} if {par(cond, OR)} else {par(other, IFEXP)}", IFEXP,
                 body.grows or other.grows)

    def call(self, t: str, depth: int, f: FuncSig | None = None) -> E | None:
        """A call of a defined function returning t (its result may be large: grows=True)."""
        if f is None:
            funcs = [f for f in self.scope.funcs if f.ret == t]
            if not funcs:
                return None
            f = self.pick(funcs)
        n_args = self.n(len(f.params) - f.n_defaults, len(f.params))
        args = [self.expr(pt, depth - 1).text for _, pt in f.params[:n_args]]
        if args and self.chance(30):  # pass the last one by keyword
            args[-1] = f"{f.params[n_args - 1][0]}={args[-1]}"
        return atom(f"{f.name}({', '.join(args)})", grows=True)

    def divisor(self, t: str, depth: int) -> E:
        d = self.expr(t, depth)
        return E(f"{par(d, OR)} or 1", OR) if self.chance(75) else d

    def index(self, seq: E, depth: int, empty: str) -> E:
        """seq[i]: guarded against IndexError most of the time."""
        if self.chance(70):
            i = self.expr(INT, depth)
            return E(f"{par(seq, ATOM)}[{par(i, TERM)} % len({seq.text})] if {par(seq, OR)} else {empty}",
                     IFEXP)
        return atom(f"{par(seq, ATOM)}[{self.small_int().text}]")

    def slice_of(self, seq: E) -> E:
        parts = [self.pick(("", "1", "-2", "2", "-1", "0", "10")) for _ in range(2)]
        text = f"{par(seq, ATOM)}[{parts[0]}:{parts[1]}"
        if self.chance(30):
            text += ":" + (self.pick(("-1", "2", "-2", "3")) if self.chance(95) else "0")
        return atom(text + "]")

    def lam(self, arg_t: str, body_t: str) -> str:
        name = self.fresh("x")
        with_scope = dict(self.scope.readable)
        saved = self.scope.readable
        self.scope.readable = {**with_scope, name: arg_t}
        body = self.expr(body_t, 1)
        self.scope.readable = saved
        return f"lambda {name}: {par(body, IFEXP)}"

    def comprehension(self, src_t: str, elem_t: str, item_t: str, depth: int) -> tuple[str, str]:
        """(element text, 'for ... in ... [if ...]' clause) over a list-like source."""
        name = self.fresh("c")
        src = self.expr(src_t, depth)
        saved = self.scope.readable
        self.scope.readable = {**saved, name: elem_t}
        elem = self.expr(item_t, depth)
        clause = f"for {name} in {par(src, OR)}"
        if self.chance(40):
            clause += f" if {par(self.expr(BOOL, depth), OR)}"
        self.scope.readable = saved
        return elem.text, clause

    def int_expr(self, d: int) -> E:
        k = self.n(0, 15)
        if k <= 2:
            op = self.pick(("+", "-", "*"))
            left, right = self.expr(INT, d), self.expr(INT, d)
            return self.binop(left, op, right, grows=op == "*")
        if k == 3:
            return self.binop(self.expr(INT, d), self.pick(("//", "%")), self.divisor(INT, d))
        if k == 4:
            return self.binop(self.expr(INT, d), self.pick(("&", "|", "^")), self.expr(INT, d))
        if k == 5:
            shift = self.small_int() if self.chance(10) else atom(str(self.n(0, 6)))
            return self.binop(self.expr(INT, d), self.pick(("<<", ">>")), shift, grows=True)
        if k == 6:
            return self.binop(self.expr(INT, d), "**", atom(str(self.n(0, 3))), grows=True)
        if k == 7:
            e = self.expr(INT, d)
            return E(f"{self.pick(('-', '+', '~'))}{par(e, UNARY)}", UNARY, e.grows)
        if k == 8:
            return atom(f"len({self.expr(self.pick((STR, LIST, WORDS, DICT)), d).text})")
        if k == 9:
            f = self.pick(("abs", "min", "max", "sum", "int", "round", "divmod", "pow", "ord"))
            if f == "abs":
                return atom(f"abs({self.expr(INT, d).text})")
            if f in ("min", "max"):
                if self.chance(50):
                    return atom(f"{f}({self.expr(INT, d).text}, {self.expr(INT, d).text})")
                return atom(f"{f}({self.expr(LIST, d).text}, default={self.small_int().text})")
            if f == "sum":
                return atom(f"sum({self.expr(LIST, d).text})")
            if f == "int":
                arg = self.expr(FLOAT, d) if self.chance(70) else self.expr(STR, d)
                return atom(f"int({arg.text})")
            if f == "round":
                return atom(f"round({self.expr(FLOAT, d).text})")
            if f == "divmod":
                return atom(f"divmod({self.expr(INT, d).text}, {self.divisor(INT, d).text})"
                            f"[{self.n(0, 1)}]")
            if f == "pow":
                return atom(f"pow({self.expr(INT, d).text}, {self.n(0, 5)}, "
                            f"{self.divisor(INT, d).text})")
            return atom(f"ord(({par(self.expr(STR, d), OR)} or 'a')[0])")
        if k == 10:
            return self.index(self.expr(LIST, d), d, "-1")
        if k == 11:
            key = self.dict_key(d)
            if self.chance(75):
                return atom(f"d0.get({key.text}, {self.small_int().text})")
            return atom(f"d0[{key.text}]")
        if k == 12:
            m = self.pick(("find", "count", "rfind"))
            return atom(f"{par(self.expr(STR, d), ATOM)}.{m}({self.expr(STR, d).text})")
        if k == 13:
            seq, x = self.expr(LIST, d), self.expr(INT, d)
            if self.chance(50):
                return atom(f"{par(seq, ATOM)}.count({x.text})")
            found = E(f"{par(seq, ATOM)}.index({x.text})", ATOM)
            if self.chance(70):
                return E(f"{found.text} if {par(x, BOR)} in {par(seq, BOR)} else -1", IFEXP)
            return found
        if k == 14:
            return atom(f"({self.expr(INT, d).text}).bit_length()")
        return self.binop(self.expr(BOOL, d), "+", self.expr(INT, d))

    def float_expr(self, d: int) -> E:
        k = self.n(0, 9)
        if k <= 2:
            return self.binop(self.expr(FLOAT, d), self.pick(("+", "-", "*")), self.expr(FLOAT, d))
        if k == 3:
            return self.binop(self.expr(FLOAT, d), self.pick(("/", "//", "%")), self.divisor(FLOAT, d))
        if k == 4:
            return self.binop(self.expr(INT, d), "/", self.divisor(INT, d))
        if k == 5:
            return self.binop(self.expr(FLOAT, d), "**", E(str(self.n(-2, 3)), UNARY))
        if k == 6:
            return atom(f"float({self.expr(INT, d).text})")
        if k == 7:
            e = self.expr(FLOAT, d)
            return E(f"-{par(e, UNARY)}", UNARY)
        if k == 8:
            if self.chance(50):
                return atom(f"abs({self.expr(FLOAT, d).text})")
            return atom(f"round({self.expr(FLOAT, d).text}, {self.n(-1, 3)})")
        self.uses_math = True
        f = self.pick(("sqrt", "fabs", "floor", "ceil", "pi", "hypot"))
        if f == "pi":
            return atom("math.pi")
        if f == "hypot":
            return atom(f"math.hypot({self.expr(FLOAT, d).text}, {self.expr(INT, d).text})")
        arg = self.expr(FLOAT, d)
        return atom(f"math.{f}(abs({arg.text}))" if f == "sqrt" else f"float(math.{f}({arg.text}))")

    def str_expr(self, d: int) -> E:
        k = self.n(0, 14)
        if k <= 1:
            return self.binop(self.expr(STR, d), "+", self.expr(STR, d), grows=True)
        if k == 2:
            s = self.expr(STR, d)
            return self.binop(s, "*", atom(str(self.n(0, 3))), grows=s.prec != ATOM or not s.text[0] in "'\"")
        if k == 3:
            return self.slice_of(self.expr(STR, d))
        if k == 4:
            return self.index(self.expr(STR, d), d, "''")
        if k == 5:
            m = self.pick(("upper", "lower", "strip", "lstrip", "rstrip", "title", "capitalize",
                           "swapcase", "casefold"))
            s = self.expr(STR, d)
            return atom(f"{par(s, ATOM)}.{m}()", s.grows)
        if k == 6:
            s = self.expr(STR, d)
            m = self.pick(("replace", "center", "ljust", "rjust", "zfill", "strip", "removeprefix"))
            if m == "replace":
                return atom(f"{par(s, ATOM)}.replace({self.expr(STR, 0).text}, {self.expr(STR, 0).text})",
                            grows=True)
            if m in ("center", "ljust", "rjust"):
                return atom(f"{par(s, ATOM)}.{m}({self.n(0, 12)})", s.grows)
            if m == "zfill":
                return atom(f"{par(s, ATOM)}.zfill({self.n(0, 12)})", s.grows)
            return atom(f"{par(s, ATOM)}.{m}({self.expr(STR, 0).text})", s.grows)
        if k == 7:
            t = self.pick(VALUE_TYPES + (BOOL,))
            return atom(f"{self.pick(('str', 'repr'))}({self.expr(t, d).text})", grows=True)
        if k == 8:
            return self.fstring(d)
        if k == 9:
            return self.percent_format(d)
        if k == 10:
            return self.format_call(d)
        if k == 11:
            sep = self.expr(STR, 0)
            if self.chance(50):
                return atom(f"{par(sep, ATOM)}.join({self.expr(WORDS, d).text})", grows=True)
            elem, clause = self.comprehension(LIST, INT, STR, d)
            return atom(f"{par(sep, ATOM)}.join([{elem} {clause}])", grows=True)
        if k == 12:
            return atom(f"chr({self.pick(('65', '97', '0x3b1'))} + {par(self.expr(INT, d), TERM)} % 26)")
        if k == 13:
            return atom(f"{self.pick(('hex', 'bin', 'oct'))}({self.expr(INT, d).text})")
        return self.index(self.expr(WORDS, d), d, "''")

    def fstring(self, d: int) -> E:
        if self.in_fstring:
            return atom("s1")
        self.in_fstring = True
        parts = []
        for _ in range(self.n(1, 3)):
            t = self.pick((INT, FLOAT, STR, LIST, BOOL))
            e = self.expr(t, max(d - 1, 0))
            spec = {INT: ("", ":>6", ":,", ":08b", ":x", ":+d", ":^7", ":_"),
                    FLOAT: ("", ":.3f", ":10.2e", ":g", ":+.1%", ":<9.4"),
                    STR: ("", ":>8", ":*^9", ":.2", "!r", "!a:<6"),
                    LIST: ("", "!r"), BOOL: ("", ":d", "!s")}[t]
            s = self.pick(spec)
            if t == STR and self.chance(20):
                s = f":>{{{par(self.expr(INT, 0), TERM)} % 12}}"
            text = par(e, OR)
            parts.append("{" + (f" {text} " if text.startswith("{") else text) + s + "}")
            parts.append(self.pick(("", " ", "|", "-", "{{x}}", "é")))
        self.in_fstring = False
        return atom('f"' + "".join(parts) + '"', grows=True)

    def percent_format(self, d: int) -> E:
        specs = [(INT, "%d"), (INT, "%5d"), (INT, "%-4d|"), (INT, "%x"), (FLOAT, "%.2f"),
                 (FLOAT, "%8.3e"), (STR, "%s"), (STR, "%r"), (LIST, "%s"), (FLOAT, "%g")]
        chosen = [self.pick(specs) for _ in range(self.n(1, 3))]
        fmt = repr("<" + " ".join(s for _, s in chosen) + ">")
        args = [self.expr(t, d).text for t, _ in chosen]
        rhs = f"({', '.join(args)},)" if len(args) == 1 else f"({', '.join(args)})"
        return E(f"{fmt} % {rhs}", TERM, True)

    def format_call(self, d: int) -> E:
        pieces = self.pick((("{}", 1), ("{} and {!r}", 2), ("{0}{1}{0}", 2), ("[{:>5}]", 1),
                            ("{:^9}|{}", 2)))
        args = [self.expr(self.pick((INT, STR)), d).text for _ in range(pieces[1])]
        return atom(f"{pieces[0]!r}.format({', '.join(args)})", grows=True)

    def list_expr(self, d: int) -> E:
        k = self.n(0, 11)
        if k <= 1:
            return self.binop(self.expr(LIST, d), "+", self.expr(LIST, d), grows=True)
        if k == 2:
            return self.slice_of(self.expr(LIST, d))
        if k == 3:
            args = self.expr(LIST, d).text
            if self.chance(40):
                args += f", key={self.lam(INT, INT)}"
            if self.chance(40):
                args += f", reverse={self.pick(('True', 'False'))}"
            return atom(f"sorted({args})")
        if k <= 5:
            elem, clause = self.comprehension(LIST, INT, INT, d)
            if self.chance(25):
                name = self.fresh("c")
                clause += f" for {name} in range({self.n(0, 3)})"
                return atom(f"[{elem} {clause}]", grows=True)
            return atom(f"[{elem} {clause}]")
        if k == 6:
            bounds = sorted((self.n(-3, 6), self.n(-3, 6)))
            step = self.pick(("", ", 2", ", -1", ", 3"))
            return atom(f"list(range({bounds[0]}, {bounds[1]}{step}))")
        if k == 7:
            fn = self.pick(("map", "filter"))
            lam = self.lam(INT, INT if fn == "map" else BOOL)
            return atom(f"list({fn}({lam}, {self.expr(LIST, d).text}))")
        if k == 8:
            return atom(f"[*{par(self.expr(LIST, d), BOR)}, {self.expr(INT, d).text}]", grows=True)
        if k == 9:
            return atom(f"list(reversed({self.expr(LIST, d).text}))")
        if k == 10:
            c = self.fresh("c")
            return atom(f"[len({c}) for {c} in {par(self.expr(WORDS, d), OR)}]")
        return atom(f"list({self.expr(DICT, d).text}.values())" if self.chance(50)
                    else f"[{self.small_int().text}] * {self.n(0, 4)}")

    def words_expr(self, d: int) -> E:
        k = self.n(0, 7)
        s = self.expr(STR, d)
        if k <= 1:
            return atom(f"{par(s, ATOM)}.split()")
        if k == 2:
            sep = self.pick(("','", "' '", "'-'", "'a'")) if self.chance(80) else self.expr(STR, 0).text
            return atom(f"{par(s, ATOM)}.{self.pick(('split', 'rsplit'))}({sep}, {self.n(-1, 2)})")
        if k == 3:
            return atom(f"sorted({self.expr(WORDS, d).text})")
        if k == 4:
            return atom(f"list({s.text})" if self.chance(50) else f"list({self.expr(DICT, d).text})")
        if k == 5:
            elem, clause = self.comprehension(WORDS, STR, STR, d)
            return atom(f"[{elem} {clause}]")
        if k == 6:
            return self.binop(self.expr(WORDS, d), "+", self.expr(WORDS, d), grows=True)
        return atom(f"list({par(s, ATOM)}.partition({self.expr(STR, 0).text}))")

    def dict_key(self, d: int) -> E:
        if self.chance(60):
            return atom(repr(self.pick(KEYS)))
        return self.expr(STR, d)

    def dict_expr(self, d: int) -> E:
        k = self.n(0, 5)
        if k <= 1:
            elem, clause = self.comprehension(WORDS, STR, INT, d)
            key = clause.split()[1]  # the comprehension variable
            return atom(f"{{{key}: {elem} {clause}}}")
        if k == 2:
            return atom(f"dict(zip({self.expr(WORDS, d).text}, {self.expr(LIST, d).text}))")
        if k == 3:
            return atom(f"{{**{par(self.expr(DICT, d), BOR)}, {self.dict_key(d).text}: "
                        f"{self.expr(INT, d).text}}}")
        if k == 4:
            return atom(f"dict.fromkeys({self.expr(WORDS, d).text}, {self.small_int().text})")
        return atom(f"dict({self.expr(DICT, d).text})")

    def bool_expr(self, d: int) -> E:
        k = self.n(0, 9)
        if k <= 2:
            t = self.pick((INT, INT, FLOAT, STR, LIST))
            ops = ("<", "<=", ">", ">=", "==", "!=")
            text = par(self.expr(t, d), BOR)
            for _ in range(self.n(1, 2)):
                text += f" {self.pick(ops)} {par(self.expr(t, d), BOR)}"
            return E(text, CMP)
        if k == 3:
            t, container = self.pick(((INT, LIST), (STR, STR), (STR, DICT), (STR, WORDS)))
            op = self.pick(("in", "not in"))
            return E(f"{par(self.expr(t, d), BOR)} {op} {par(self.expr(container, d), BOR)}", CMP)
        if k == 4:
            return E(f"not {par(self.expr(BOOL, d), NOT)}", NOT)
        if k == 5:
            op = self.pick(("and", "or"))
            p = AND if op == "and" else OR
            return E(f"{par(self.expr(BOOL, d), p)} {op} {par(self.expr(BOOL, d), p + 1)}", p)
        if k == 6:
            t = self.pick(VALUE_TYPES)
            cls = self.pick(("int", "float", "str", "list", "dict", "(int, float)", "bool"))
            return atom(f"isinstance({self.expr(t, d).text}, {cls})")
        if k == 7:
            m = self.pick(("isdigit", "isalpha", "isupper", "islower", "isspace", "isalnum",
                           "istitle"))
            return atom(f"{par(self.expr(STR, d), ATOM)}.{m}()")
        if k == 8:
            m = self.pick(("startswith", "endswith"))
            return atom(f"{par(self.expr(STR, d), ATOM)}.{m}({self.expr(STR, 0).text})")
        elem, clause = self.comprehension(LIST, INT, BOOL, d)
        return atom(f"{self.pick(('any', 'all'))}([{elem} {clause}])")

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
        if t == WORDS:
            return f"[{self.expr(STR, 0).text}]"
        return self.expr(t, 1).text

    def block(self, lo: int = 1, hi: int = 4) -> list[str]:
        self.block_depth += 1
        lines = []
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
        if self.scope.funcs:
            kinds += ["call", "call"]
        if self.scope.loop_depth:
            kinds += ["break", "continue"]
        if self.scope.ret is not None:
            kinds.append("return")
        kind = self.pick(kinds)
        nested_ok = self.block_depth < 3 and self.budget > 2
        loop_ok = nested_ok and self.scope.loop_depth < self.scope.max_loops
        if kind in ("if", "for", "while") and not (loop_ok if kind != "if" else nested_ok):
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
        return [f"{target} = {self.bounded(t, self.expr(t))}"]

    def stmt_augassign(self) -> list[str]:
        t = self.pick((INT, INT, FLOAT, STR, LIST))
        targets = self.vars_of(t, assignable=True)
        if not targets:
            return ["pass"]
        target = self.pick(targets)
        if t == INT:
            op = self.pick(("+=", "-=", "*=", "//=", "%=", "&=", "|=", "^=", "<<=", ">>="))
            rhs = self.small_int().text if op in ("*=", "<<=", ">>=") else (
                self.divisor(INT, 1).text if op in ("//=", "%=") else self.expr(INT, 1).text)
            return [f"{target} {op} {rhs}"]
        if t == FLOAT:
            return [f"{target} {self.pick(('+=', '-=', '*=', '/='))} {self.expr(FLOAT, 1).text}"]
        return [f"{target} += {self.small_value(t)}"]

    def stmt_print(self) -> list[str]:
        args = []
        for _ in range(self.n(0, 3)):
            r = self.n(0, 9)
            if r == 0:
                args.append(f"type({self.expr(self.pick(VALUE_TYPES + (BOOL,)), 1).text})")
            elif r == 1:
                op = self.pick(("and", "or"))
                a, b = self.expr(self.pick(VALUE_TYPES), 1), self.expr(self.pick(VALUE_TYPES), 1)
                p = AND if op == "and" else OR
                args.append(f"{par(a, p)} {op} {par(b, p + 1)}")
            elif r == 2:
                args.append("{" + ", ".join(self.expr(INT, 1).text for _ in range(self.n(1, 3))) + "}")
            elif r == 3:
                args.append(f"({self.expr(INT, 1).text}, {self.expr(STR, 1).text})")
            else:
                args.append(self.expr(self.pick(VALUE_TYPES + (BOOL,))).text)
        if args and self.chance(20):
            args.append(f"sep={self.str_lit().text}")
        if self.chance(15):
            args.append(f"end={self.pick(('' , '|', ' ;'))!r}")
        return [f"print({', '.join(args)})"]

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
                              f"{v}.clear()"))
            if self.chance(70) and (stmt.startswith("del") or "popitem" in stmt):
                return [f"if {key} in {v}:" if stmt.startswith("del") else f"if {v}:", f"    {stmt}"]
            return [stmt]
        elem = self.expr(INT if t == LIST else STR, 1).text
        i = self.small_int().text
        stmt = self.pick((f"{v}.append({elem})", f"{v}.insert({i}, {elem})", f"{v}.pop()",
                          f"{v}.remove({elem})", f"{v}.sort()", f"{v}.reverse()",
                          f"{v}.extend({self.small_value(t)})", f"del {v}[{i}]",
                          f"{v}[{i}] = {elem}", f"{v}[1:{i}] = {self.small_value(t)}",
                          f"{v}.sort(reverse=True)", f"del {v}[::2]"))
        if self.chance(70) and (".pop()" in stmt or "remove" in stmt or f"{v}[{i}]" in stmt):
            guard = f"{elem} in {v}" if "remove" in stmt else f"len({v}) > {i} >= -len({v})"
            return [f"if {guard}:", f"    {stmt}"]
        return [stmt]

    def stmt_if(self) -> list[str]:
        lines = [f"if {self.expr(BOOL).text}:"] + indent(self.block())
        for _ in range(self.n(0, 2)):
            lines += [f"elif {self.expr(BOOL).text}:"] + indent(self.block(1, 2))
        if self.chance(40):
            lines += ["else:"] + indent(self.block(1, 2))
        return lines

    def loop_body(self, var: str | None = None, var_t: str | None = None) -> list[str]:
        self.scope.loop_depth += 1
        if var:
            self.scope.readable[var] = var_t
        body = self.block()
        if var:
            del self.scope.readable[var]
        self.scope.loop_depth -= 1
        return body

    def loop_else(self) -> list[str]:
        return ["else:"] + indent(self.block(1, 2)) if self.chance(20) else []

    def stmt_while(self) -> list[str]:
        counter = self.fresh("n")
        cond = f"{counter} < {self.n(0, 5)}"
        if self.chance(30):
            cond += f" and {par(self.expr(BOOL, 1), AND + 1)}"
        body = [f"{counter} += 1"] + self.loop_body()
        return [f"{counter} = 0", f"while {cond}:"] + indent(body) + self.loop_else()

    def stmt_for(self) -> list[str]:
        var = self.fresh("k")
        k = self.n(0, 5)
        if k <= 1:
            args = ", ".join(str(self.n(-2, 5)) for _ in range(self.n(1, 2)))
            head, var_t = f"for {var} in range({args}):", INT
        elif k == 2:
            head, var_t = f"for {var} in {par(self.expr(LIST, 1), ATOM)}[:{self.n(0, 5)}]:", INT
        elif k == 3:
            head, var_t = f"for {var} in {par(self.expr(STR, 1), ATOM)}[:{self.n(0, 5)}]:", STR
        elif k == 4:
            head, var_t = f"for {var} in {par(self.expr(WORDS, 1), ATOM)}[:{self.n(0, 5)}]:", STR
        else:
            var2 = self.fresh("k")
            src = self.pick((f"enumerate(l0[:{self.n(0, 5)}])", f"zip(l1[:5], w0)",
                             f"enumerate(s0[:{self.n(0, 5)}])"))
            self.scope.readable[var2] = STR if ("w0" in src or "s0" in src) else INT
            body = self.loop_body(var, INT)
            del self.scope.readable[var2]
            return [f"for {var}, {var2} in {src}:"] + indent(body) + self.loop_else()
        return [head] + indent(self.loop_body(var, var_t)) + self.loop_else()

    def stmt_unpack(self) -> list[str]:
        k = self.n(0, 4)
        ints, strs = self.vars_of(INT, True), self.vars_of(STR, True)
        lists = self.vars_of(LIST, True)
        if k == 0 and len(ints) >= 2:
            a, b = self.pick(ints), self.pick(ints)
            return [f"{a}, {b} = {b}, {a}"] if a != b else [f"{a}, = {self.expr(INT).text},"]
        if k == 1 and ints and strs:
            return [f"{self.pick(ints)}, {self.pick(strs)} = {self.bounded(INT, self.expr(INT))}, "
                    f"{self.bounded(STR, self.expr(STR))}"]
        if k == 2 and ints and lists:
            return [f"{self.pick(ints)}, *{self.pick(lists)} = {self.expr(LIST).text}"]
        if k == 3 and len(strs) >= 3:
            return [f"{', '.join(strs[:3])} = {par(self.expr(STR), ATOM)}.partition({self.expr(STR, 0).text})"]
        if len(ints) >= 2:
            return [f"[{ints[0]}, {ints[1]}] = divmod({self.expr(INT).text}, {self.divisor(INT, 1).text})"]
        return self.stmt_assign()

    def stmt_call(self) -> list[str]:
        f = self.pick(self.scope.funcs)
        result = self.call(f.ret, 2, f)
        targets = self.vars_of(f.ret, assignable=True)
        if targets and self.chance(50):
            return [f"{self.pick(targets)} = {self.bounded(f.ret, result)}"]
        return [f"print({result.text})"]

    def stmt_assert(self) -> list[str]:
        if self.chance(75):  # an invariant that holds: the program goes on
            t = self.pick(VALUE_TYPES)
            cond = E(f"isinstance({self.expr(t, 1).text}, {t if t != WORDS else 'list'})", ATOM)
        else:
            cond = self.expr(BOOL, 1)
        if self.chance(50):
            return [f"assert {cond.text}"]
        return [f"assert {cond.text}, {self.str_lit().text}"]

    def stmt_pass(self) -> list[str]:
        return ["pass"]

    def stmt_break(self) -> list[str]:
        return [f"if {self.expr(BOOL, 1).text}:", f"    {self.pick(('break', 'continue'))}"]

    stmt_continue = stmt_break

    def stmt_return(self) -> list[str]:
        value = self.bounded(self.scope.ret, self.expr(self.scope.ret))
        return [f"if {self.expr(BOOL, 1).text}:", f"    return {value}"]

    # --- Functions and the program ---
    def function(self, name: str, nested: bool = False) -> list[str]:
        """A def with typed parameters; the signature joins the enclosing scope's callables."""
        outer = self.scope
        params = [(self.fresh("p"), self.pick(VALUE_TYPES)) for _ in range(self.n(0, 3))]
        n_defaults = self.n(0, len(params))
        ret = self.pick(VALUE_TYPES)
        header = []
        for i, (pname, pt) in enumerate(params):
            default = self.literal(pt).text if i >= len(params) - n_defaults else None
            header.append(pname if default is None else f"{pname}={default}")
        local_names = {self.fresh("a"): self.pick(VALUE_TYPES) for _ in range(self.n(0, 2))}
        readable = {**outer.readable, **dict(params), **local_names}
        self.scope = Scope("function", readable, set(dict(params)) | set(local_names),
                           list(outer.funcs), max_loops=1, ret=ret)
        lines = [f"{a} = {self.literal(t).text}" for a, t in local_names.items()]
        if not nested and self.chance(30):
            g = self.pick(sorted(GLOBALS))
            lines.append(f"global {g}")
            self.scope.assignable.add(g)
            self.scope.readable[g] = GLOBALS[g]
        if nested and self.chance(60):
            shared = [v for v in outer.assignable if v not in GLOBALS]
            if shared:
                v = self.pick(sorted(shared))
                lines.append(f"nonlocal {v}")
                self.scope.assignable.add(v)
        if not nested and self.chance(30):
            inner = self.fresh("g")
            lines += self.function(inner, nested=True)
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


def indent(lines: list[str]) -> list[str]:
    """Lines one block deeper."""
    return ["    " + line if line else line for line in lines]


@st.composite
def programs(draw: Callable) -> str:
    """A hypothesis strategy for whole Level 1 programs (source text)."""
    return ProgramBuilder(draw).program()
