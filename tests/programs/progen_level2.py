"""Level 2 of the program generator: classes, exceptions and generators.

`Level2Builder` extends progen's Level 1 `ProgramBuilder`. A program now has,
after the typed globals: user exception classes (some with an `__init__` that
stores a `code`, some with `__str__`), generator functions (a bounded loop with
conditional yields, `yield from` an earlier generator whose return value is
used, always ending in `return <int>`), the Level 1 functions, one class
hierarchy (a root class with int/str/list attributes set in `__init__`, a
`made` counter and a `kind` class attribute, methods with generated bodies, a
few dunders; subclasses adding an attribute through `super().__init__`,
overriding a method through `super()`, sometimes `__repr__`), global instances
and lists of instances, then the statements, the final prints and sometimes an
exception that escapes.

Statements gain try/except/else/finally (handlers print the type name and the
message, args or repr; some re-raise bare, `raise X from e`, `from None`),
risky statements inside try bodies (ZeroDivisionError, IndexError, KeyError,
ValueError, TypeError, AttributeError, StopIteration, user exceptions),
reading an except clause's name after the try (NameError/UnboundLocalError),
nested try with re-raise, try/finally in loops with break/continue and in
functions with return, method calls, attribute writes, instances built in
loops, sorting instances by key or with `__lt__`, and generator consumption
(for, next with a default, resuming after a break). Expressions of the Level 1
types gain alternatives reading attributes, calling dunders (len, repr, ==, <,
+, radd, call, in, [], iter), isinstance, and consuming generators and
generator expressions (sum, any, all, min/max, sorted, list, join, zip, map,
filter, next with a default). Generator bodies may yield inside try/except.

Invariants on top of progen's:
- no default reprs: instances are printed (directly or in a list) only when
  their class defines `__repr__`; exception arguments are ints and strings;
  generator objects and bound methods are never printed;
- nothing depends on when objects are collected: a try in a generator body
  has no finally and no bare except (closing a suspended generator would run
  them, and CPython closes it as soon as the last reference goes);
- no unbounded recursion: functions come before classes and never see
  instances, a method calls only earlier methods and functions, an
  overriding method calls only its super() (never another self method),
  generators only `yield from` earlier generators;
- instance attributes appear in the scope as dotted names (`o3.n`,
  `self.s`), so the Level 1 statements assign, augment and read them; they
  are never used where a plain name is required (lambda and comprehension
  parameters, global, nonlocal, del).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from progen import (ATOM, BOOL, BOR, CMP, DICT, FLOAT, GLOBALS, INT, LIST, OR, STR, TERM, WORDS, E,
                    FuncSig, ProgramBuilder, Scope, atom, indent, par)

OBJ, OBJS = "obj:", "objs:"  # type tags: an instance of / a list of instances of a class
INT_ATTRS = ("n", "v")  # a root class has n (and maybe v), s and maybe xs
SUB_ATTRS = {INT: "w", STR: "tag"}  # the attribute a subclass may add
BUILTIN_RAISE = ("ValueError", "KeyError", "IndexError", "RuntimeError", "TypeError",
                 "ZeroDivisionError", "NotImplementedError", "AssertionError", "LookupError")
BUILTIN_CATCH = ("ZeroDivisionError", "ArithmeticError", "IndexError", "KeyError", "LookupError",
                 "ValueError", "TypeError", "AttributeError", "StopIteration", "AssertionError",
                 "RuntimeError", "Exception")
EXC_BASES = ("Exception", "Exception", "ValueError", "LookupError", "RuntimeError")
COMPOUND = ("try", "nested_try", "tryloop", "tryreturn", "genloop", "objloop")
LOOPING = ("tryloop", "genloop", "objloop")


@dataclass
class ExcSig:
    """A user exception class: its constructor's parameter types (None: Exception's own,
    any arguments) and whether instances carry an int `code`."""

    name: str
    base: str
    params: list[str] | None
    has_code: bool


@dataclass
class ClassSig:
    """A user class as the generator knows it (inherited members included)."""

    name: str
    base: ClassSig | None
    init: list[tuple[str, str]]  # constructor parameters after self
    n_defaults: int
    attrs: dict[str, str]  # instance attribute -> type
    methods: list[FuncSig]  # plain method names (no `self.` prefix)
    dunders: dict[str, str]  # dunder -> result type ("" when not a value)

    def is_a(self, other: ClassSig) -> bool:
        c: ClassSig | None = self
        while c is not None:
            if c is other:
                return True
            c = c.base
        return False

    def root(self) -> ClassSig:
        return self if self.base is None else self.base.root()


class Level2Builder(ProgramBuilder):
    """ProgramBuilder plus classes, exceptions and generators."""

    def __init__(self, draw: Callable[[Any], Any]) -> None:
        super().__init__(draw)
        self.budget = 40  # statements left, as in Level 1 (class and generator bodies count)
        self.excs: list[ExcSig] = []
        self.gens: list[FuncSig] = []
        self.classes: list[ClassSig] = []
        self.try_depth = 0  # enclosing try bodies in the current function
        self.handlers: list[str] = []  # names bound by the enclosing except clauses
        self.in_gen = False  # generating a generator's body: yield allowed, finally not

    # --- Scope helpers ---
    def binder(self, prefix: str, t: str, assignable: bool = False) -> str:
        existing = [v for v in self.vars_of(t, assignable) if "." not in v]
        return self.pick(existing) if existing and self.chance(15) else self.fresh(prefix)

    def cls(self, name: str) -> ClassSig:
        return next(c for c in self.classes if c.name == name)

    def objs(self) -> list[tuple[str, ClassSig]]:
        return [(v, self.cls(t[len(OBJ):])) for v, t in sorted(self.scope.readable.items())
                if t.startswith(OBJ)]

    def obj_lists(self) -> list[tuple[str, ClassSig]]:
        return [(v, self.cls(t[len(OBJS):])) for v, t in sorted(self.scope.readable.items())
                if t.startswith(OBJS)]

    def in_def(self, build: Callable[[], list[str]], scope: Scope, in_gen: bool = False) -> list[str]:
        """build() in a fresh function scope: no enclosing try or handler."""
        saved = (self.scope, self.try_depth, self.handlers, self.in_gen)
        self.scope, self.try_depth, self.handlers, self.in_gen = scope, 0, [], in_gen
        try:
            return build()
        finally:
            self.scope, self.try_depth, self.handlers, self.in_gen = saved

    def function(self, name: str, nested: bool = False) -> list[str]:
        saved = (self.try_depth, self.handlers, self.in_gen)
        self.try_depth, self.handlers, self.in_gen = 0, [], False
        try:
            return super().function(name, nested)
        finally:
            self.try_depth, self.handlers, self.in_gen = saved

    def header(self, params: list[tuple[str, str]], n_defaults: int, first: str = "") -> str:
        names = [first] if first else []
        names += [p if i < len(params) - n_defaults else f"{p}={self.literal(t).text}"
                  for i, (p, t) in enumerate(params)]
        return ", ".join(names)

    def arg_value(self, t: str, depth: int = 1) -> str:
        return self.bounded(t, self.expr(t, depth))

    # --- Expressions ---
    def expr(self, t: str, depth: int = 2) -> E:
        if depth > 0 and self.chance(10):
            alts = self.level2_exprs(t, depth - 1)
            if alts:
                return self.one_of(*alts)
        return super().expr(t, depth)

    def gen_call(self, d: int) -> E:
        return self.call(INT, d + 1, self.pick(self.gens))

    def genexp(self, item_t: str, d: int) -> str:
        """The inside of a generator expression yielding item_t: `item for c in src [if cond]`."""
        def over(src: str, names: dict[str, str]) -> str:
            c = next(iter(names)).split(".")[0]

            def build() -> str:
                text = f"{self.expr(item_t, d).text} for {c} in {src}"
                if self.chance(40):
                    text += f" if {par(self.expr(BOOL, d), OR)}"
                return text
            return self.with_names(names, build)

        alts = [lambda: self.comprehension(LIST, INT, item_t, d).text[1:-1],
                lambda: self.comprehension(WORDS, STR, item_t, d).text[1:-1]]
        if self.gens:
            alts.append(lambda: over(self.gen_call(d).text, {self.fresh("v"): INT}))
        if self.obj_lists():
            def over_objects() -> str:
                q, c = self.pick(self.obj_lists()), self.fresh("c")
                root = q[1].root()
                attrs = {f"{c}.{a}": t for a, t in root.attrs.items()}
                return over(q[0], {c: OBJ + root.name, **attrs})
            alts.append(over_objects)
        return self.one_of(*alts)

    def level2_exprs(self, t: str, d: int) -> list[Callable[[], E]]:
        """Alternatives for an expression of type t built from Level 2 features (arguments at
        depth d): those that the generators, instances and classes in scope allow."""
        alts = {INT: self.int_alts, STR: self.str_alts, BOOL: self.bool_alts, LIST: self.list_alts,
                WORDS: self.words_alts, DICT: self.dict_alts}.get(t)
        return alts(d) if alts else []

    def having(self, dunder: str | None = None, result: str | None = None) -> list[str]:
        """Instance variables whose class defines `dunder` (with that result type)."""
        return [v for v, c in self.objs() if dunder is None or (
            dunder in c.dunders and result in (None, c.dunders[dunder]))]

    def loop_var(self, text: Callable[[str], str], **kw: Any) -> E:
        """atom(text(v)) for a fresh name v (a comprehension or generator expression target)."""
        return atom(text(self.fresh("v")), **kw)

    def int_alts(self, d: int) -> list[Callable[[], E]]:
        small = lambda: self.small_int().text  # noqa: E731
        lists = [q for q, _ in self.obj_lists()]
        alts = [lambda: atom(f"sum({self.genexp(INT, d)})", grows=True),
                lambda: atom(f"max(({self.genexp(INT, d)}), default={small()})", grows=True)]
        if self.gens:
            alts += [lambda: self.fn("sum", self.gen_call(d), grows=True),
                     lambda: atom(f"next({self.gen_call(d).text}, {small()})", grows=True),
                     lambda: atom(f"{self.pick(('min', 'max'))}({self.gen_call(d).text}, "
                                  f"default={small()})", grows=True),
                     lambda: self.fn("len", self.fn("list", self.gen_call(d)))]
        if self.having("__len__"):
            alts.append(lambda: self.fn("len", self.pick(self.having("__len__"))))
        if self.having("__iter__"):
            alts.append(lambda: self.fn("sum", self.pick(self.having("__iter__")), grows=True))
        if self.having("__getitem__", INT):
            alts.append(lambda: atom(f"{self.pick(self.having('__getitem__', INT))}"
                                     f"[{par(self.expr(INT, d), OR)}]", grows=True))
        if self.having("__add__"):
            adder = lambda: self.pick(self.having("__add__"))  # noqa: E731
            alts.append(lambda: atom(f"({self.obj_sum(adder(), d)}).n", grows=True))
            if lists:
                alts.append(lambda: atom(f"sum({self.pick(lists)}, {adder()}).n", grows=True))
        if self.having("__radd__"):
            alts.append(lambda: atom(f"({small()} + {self.pick(self.having('__radd__'))}).n",
                                     grows=True))
        if self.having("__call__"):
            alts.append(lambda: atom(f"{self.pick(self.having('__call__'))}({self.expr(INT, d).text})",
                                     grows=True))
        if lists:
            alts += [lambda: self.fn("len", self.pick(lists)),
                     lambda: self.loop_var(lambda v: f"len([{v} for {v} in {self.pick(lists)} "
                                                     f"if isinstance({v}, {self.class_spec()})])")]
        return alts

    def str_alts(self, d: int) -> list[Callable[[], E]]:
        alts = [lambda: self.method(atom(self.pick(("''", "'-'", "', '"))), "join",
                                    self.genexp(STR, d), grows=True)]
        if self.gens:
            alts.append(lambda: self.loop_var(
                lambda v: f"'/'.join(str({v}) for {v} in {self.gen_call(d).text})", grows=True))
        if self.objs():
            alts += [lambda: atom(f"type({self.pick(self.having())}).__name__"),
                     lambda: atom(f"{self.pick(self.having())}.kind"),
                     lambda: atom(f"{self.pick(self.classes).name}.kind")]
        if self.having("__repr__"):
            alts.append(lambda: self.fn(self.pick(("repr", "str")), self.pick(self.having("__repr__")),
                                        grows=True))
        if self.having("__getitem__", STR):
            alts.append(lambda: atom(f"{self.pick(self.having('__getitem__', STR))}"
                                     f"[{par(self.expr(INT, d), OR)}]"))
        return alts

    def bool_alts(self, d: int) -> list[Callable[[], E]]:
        alts = [lambda: self.fn(self.pick(("any", "all")), self.genexp(BOOL, d))]
        obj = lambda dunder=None: self.pick(self.having(dunder))  # noqa: E731
        if self.objs():
            lists = [q for q, _ in self.obj_lists()] or ["[]"]
            alts += [lambda: self.fn("isinstance", obj(), self.class_spec()),
                     lambda: E(f"{obj()} {self.pick(('==', '!=', 'is', 'is not'))} {obj()}", CMP),
                     lambda: E(f"{obj()} {self.pick(('in', 'not in'))} {self.pick(lists)}", CMP),
                     lambda: self.fn("bool", obj()),
                     lambda: E(f"type({obj()}) is {self.pick(self.classes).name}", CMP)]
        if self.having("__lt__"):
            alts.append(lambda: E(f"{obj('__lt__')} {self.pick(('<', '>'))} {obj('__lt__')}", CMP))
        if self.having("__contains__"):
            alts.append(lambda: E(f"{par(self.expr(STR, d), BOR)} in {obj('__contains__')}", CMP))
        return alts

    def list_alts(self, d: int) -> list[Callable[[], E]]:
        alts = [lambda: self.fn("sorted", atom(f"({self.genexp(INT, d)})"),
                                f"reverse={self.pick(('True', 'False'))}")]
        if self.gens:
            alts += [lambda: self.fn(self.pick(("list", "sorted")), self.gen_call(d)),
                     lambda: self.loop_var(lambda v: f"[{v} * {self.small_int().text} for {v} in "
                                                     f"{self.gen_call(d).text}]"),
                     lambda: self.loop_var(lambda v: f"[{v}[0] - {v}[1] for {v} in zip("
                                                     f"{self.gen_call(d).text}, {self.gen_call(d).text})]"),
                     lambda: self.fn("list", self.fn(self.pick(("map", "filter")), self.lam(INT, INT),
                                                     self.gen_call(d)))]
        if self.having("__iter__"):
            alts.append(lambda: self.fn(self.pick(("list", "sorted")),
                                        self.pick(self.having("__iter__"))))
        if self.obj_lists():
            alts.append(lambda: self.sorted_objects(d))
        return alts

    def words_alts(self, d: int) -> list[Callable[[], E]]:
        alts = [lambda: self.fn("sorted", atom(f"({self.genexp(STR, d)})"))]
        lists = self.obj_lists()
        if lists:
            alts += [lambda: self.loop_var(lambda v: f"[{v}.s for {v} in {self.pick(lists)[0]}]"),
                     lambda: self.loop_var(lambda v: f"[type({v}).__name__ for {v} in "
                                                     f"{self.pick(lists)[0]}]")]
        reprs = [q for q, c in lists if "__repr__" in c.dunders]
        if reprs:
            alts.append(lambda: self.loop_var(lambda v: f"[repr({v}) for {v} in {self.pick(reprs)}]",
                                              grows=True))
        return alts

    def dict_alts(self, d: int) -> list[Callable[[], E]]:
        alts = []
        if self.obj_lists():
            alts.append(lambda: self.loop_var(lambda v: f"{{{v}.s: {v}.n for {v} in "
                                                        f"{self.pick(self.obj_lists())[0]}}}"))
        if self.gens:
            alts.append(lambda: self.fn("dict", self.fn("zip", self.expr(WORDS, d), self.gen_call(d))))
        return alts

    def class_spec(self) -> str:
        names = [c.name for c in self.classes]
        if self.chance(30):
            return f"({self.pick(names)}, {self.pick(names + ['int', 'str'])})"
        return self.pick(names)

    def obj_sum(self, left: str, d: int) -> str:
        """left + (an instance, or an int): left's class defines __add__."""
        right = self.pick(self.having()) if self.chance(60) else self.expr(INT, d).text
        return f"{left} + {par(atom(right) if right.isidentifier() else E(right, 0), TERM + 1)}"

    def sorted_objects(self, d: int) -> E:
        """The int attribute of a list of instances, sorted by a key or by __lt__."""
        q, c = self.pick(self.obj_lists()), self.fresh("c")
        attr = self.pick([a for a, t in q[1].root().attrs.items() if t == INT])
        if "__lt__" in q[1].dunders and self.chance(50):
            how = f"sorted({q[0]}{', reverse=True' if self.chance(30) else ''})"
        else:
            x = self.fresh("x")
            key = self.pick((f"{x}.s", f"({x}.s, {x}.{attr})", f"-{x}.{attr}", f"len({x}.s)"))
            how = f"sorted({q[0]}, key=lambda {x}: {key})"
        return atom(f"[{c}.{attr} for {c} in {how}]")

    # --- Statements ---
    def stmt(self) -> list[str]:
        kinds = self.level2_kinds()
        if not kinds or not self.chance(40):
            return super().stmt()
        kind = self.pick(kinds)
        self.budget -= 1
        if kind in COMPOUND and not (self.block_depth < 3 and self.budget > 2):
            kind = "risky" if self.try_depth else "obj" if self.objs() else "print"
        return getattr(self, f"stmt_{kind}")()

    def level2_kinds(self) -> list[str]:
        loops_ok = self.scope.loop_depth < self.scope.max_loops
        if self.in_gen:  # try without finally: abandoning a generator stays unobservable
            kinds = ["yield", "yield", "yield", "try"] + (["raise_if"] if self.chance(20) else [])
            return kinds + (["risky", "raise_if"] if self.try_depth else [])
        kinds = ["try", "try", "nested_try"]
        kinds += ["tryloop"] if loops_ok else []
        kinds += ["tryreturn", "tryreturn"] if self.scope.ret is not None else []
        if self.try_depth or (self.scope.ret is not None and self.chance(30)):
            kinds.append("raise_if")
        kinds += ["risky", "risky", "raise_if"] if self.try_depth else []
        if self.handlers:
            kinds.append("reraise")
        if self.gens:
            kinds += ["genuse"] + (["genloop"] if loops_ok else [])
        if self.objs():
            kinds += ["obj", "obj", "obj", "objsort"] + (["objloop"] if loops_ok else [])
        return kinds

    # --- Exceptions ---
    def exc_instance(self, d: int = 1) -> str:
        """An exception to raise: a user or builtin class, called or not."""
        s = lambda: self.arg_value(STR, d)  # noqa: E731
        if self.excs and self.chance(60):
            sig = self.pick(self.excs)
            if sig.params is None:
                return self.one_of(lambda: f"{sig.name}({s()})", lambda: sig.name,
                                   lambda: f"{sig.name}({s()}, {self.arg_value(INT, d)})",
                                   lambda: f"{sig.name}()")
            args = [self.arg_value(t, d) for t in sig.params[:self.n(1, len(sig.params))]]
            return f"{sig.name}({', '.join(args)})"
        name = self.pick(BUILTIN_RAISE)
        return self.one_of(lambda: f"{name}({s()})", lambda: name, lambda: f"{name}()")

    def exc_names(self) -> list[str]:
        return [e.name for e in self.excs] + ["LookupError", "ArithmeticError", "Exception"]

    def except_clause(self) -> str:
        users = [e.name for e in self.excs]
        one = lambda: self.pick(users + list(BUILTIN_CATCH)) if users and self.chance(50) \
            else self.pick(BUILTIN_CATCH)  # noqa: E731
        if self.chance(25):
            return f"({one()}, {one()})"
        return one()

    def report(self, e: str, clause: str) -> str:
        """A handler's first line: what was caught."""
        alts = [lambda: f"print('caught', type({e}).__name__, {e})",
                lambda: f"print(type({e}).__name__, {e}.args)",
                lambda: f"print(repr({e}), type({e}))",
                lambda: f"print(type({e}).__name__ + ':', str({e}), type({e}.__context__).__name__, "
                        f"type({e}.__cause__).__name__)",
                lambda: f"print(isinstance({e}, {self.pick(self.exc_names())}), {e})"]
        sig = next((x for x in self.excs if x.name == clause), None)
        if sig is not None and sig.has_code:
            alts.append(lambda: f"print({e}.code, {e}.args, {e})")
        if clause == "StopIteration":
            alts.append(lambda: f"print('stop', {e}.value)")
        return self.one_of(*alts)

    def handler(self, clause: str | None) -> list[str]:
        """`except clause as e:` printing the exception, maybe more, maybe re-raising."""
        e = self.fresh("e") if clause else ""  # a bare except binds no name
        head = f"except {clause} as {e}:" if clause else "except:"
        self.handlers.append(e)
        body = [self.report(e, clause) if clause else "print('caught something')"]
        if self.chance(30):
            body += self.block(1, 2)
        if self.chance(25 if self.try_depth else 4):
            body += self.stmt_reraise()
        self.handlers.pop()
        return [head] + indent(body)

    def stmt_reraise(self) -> list[str]:
        if not self.handlers:
            return self.stmt_raise_if()
        e = self.handlers[-1] or "None"
        return self.pick((["raise"], ["raise"], [f"raise {self.exc_instance()} from {e}"],
                          [f"raise {self.exc_instance()} from None"], [f"raise {self.exc_instance()}"]))

    def stmt_raise_if(self) -> list[str]:
        raise_ = f"raise {self.exc_instance()}"
        if self.chance(15):
            raise_ += f" from {self.exc_instance()}" if self.chance(70) else " from None"
        return [f"if {self.expr(BOOL, 1).text}:", f"    {raise_}"]

    def divisor_maybe_zero(self) -> str:
        ints = self.vars_of(INT)
        return self.one_of(
            lambda: f"{self.pick(ints)} % {self.n(2, 4)}" if ints else "0",
            lambda: f"len({self.expr(STR, 0).text})",
            lambda: f"{self.small_int().text} - {self.small_int().text}",
            lambda: self.expr(INT, 1).text)

    def stmt_risky(self) -> list[str]:
        """A statement that raises a good part of the time."""
        objs, ints = self.objs(), self.vars_of(INT, assignable=True)
        store = lambda value: (f"{self.pick(ints)} = {value}" if ints and self.chance(40)  # noqa: E731
                               else f"print({value})")
        alts = [
            lambda: [store(f"{par(self.expr(INT, 1), TERM)} {self.pick(('//', '%'))} "
                           f"({self.divisor_maybe_zero()})")],
            lambda: [f"print({par(self.expr(FLOAT, 1), TERM)} / ({self.divisor_maybe_zero()}))"],
            lambda: [f"print({par(self.expr(self.pick((LIST, WORDS, STR)), 1), ATOM)}"
                     f"[{self.small_int().text}])"],
            lambda: [store(f"d0[{self.dict_key(1).text}]")],
            lambda: [store(f"int({self.pick(('s0', 's1', 's2', repr('x'), repr('12')))})")],
            lambda: [f"print(float({self.expr(STR, 1).text}))"],
            lambda: [f"print({par(self.expr(LIST, 1), ATOM)}.index({self.expr(INT, 1).text}))"],
            lambda: [f"print({self.pick(('l0', 'l1', 'w0'))}.pop({self.small_int().text}))"],
            lambda: [f"{self.pick(('l1', 'w0'))}.remove({self.expr(self.pick((INT, STR)), 0).text})"],
            lambda: [f"raise {self.exc_instance()}"],
            lambda: self.stmt_raise_if(),
            lambda: [f"assert {self.expr(BOOL, 1).text}, {self.expr(STR, 0).text}"],
            lambda: [f"print({self.expr(self.pick((INT, STR, LIST)), 1).text} {self.pick(('+', '-', '*', '<'))} "
                     f"{self.expr(self.pick((INT, STR, DICT)), 1).text})"],
            lambda: [f"print(next(iter({self.expr(LIST, 1).text})))"],
        ]
        if self.gens:
            alts.append(lambda: [f"print(next({self.gen_call(1).text}))"])
        if objs:
            attrs = ("zz", "n", "w", "tag", "kind")  # some missing: AttributeError
            alts += [lambda: [f"print({self.pick(objs)[0]}.{self.pick(attrs)})"],
                     lambda: [f"print({self.pick(objs)[0]} < {self.pick(objs)[0]})"],
                     lambda: [f"print(len({self.pick(objs)[0]}))"]]
        if self.scope.funcs:
            alts.append(self.stmt_call)
        return self.one_of(*alts)

    def stmt_try(self) -> list[str]:
        self.try_depth += 1
        body = self.block(1, 3)
        if self.chance(70):
            risky = self.stmt_risky()
            body = risky + body if self.chance(50) else body + risky
        self.try_depth -= 1
        lines = ["try:"] + indent(body)
        has_finally = not self.in_gen and self.chance(35)
        n_handlers = self.n(0 if has_finally else 1, 3)
        for i in range(n_handlers):
            clause = self.except_clause()
            if i == n_handlers - 1 and self.chance(50):  # a catch-all last: the program goes on
                clause = "Exception" if self.in_gen or self.chance(90) else None
            lines += self.handler(clause)
        if n_handlers and self.chance(25):
            lines += ["else:"] + indent(self.block(1, 2))
        if has_finally:
            lines += ["finally:"] + indent(self.finally_body())
        return lines + self.unbound_handler_name(lines)

    def unbound_handler_name(self, try_lines: list[str]) -> list[str]:
        """Sometimes read an except clause's name after the try: it is unbound (NameError, or
        UnboundLocalError in a function) whether or not the handler ran."""
        names = [line.split(" as ")[1][:-1] for line in try_lines
                 if line.startswith("except ") and " as " in line]
        if not names or not self.chance(10):
            return []
        e = self.fresh("e")
        return ["try:", f"    print({self.pick(names)})", f"except NameError as {e}:",
                f"    print(type({e}).__name__, {e})"]

    def finally_body(self) -> list[str]:
        lines = [f"print('finally', {self.expr(self.pick((INT, STR)), 0).text})"]
        return lines + (self.block(1, 2) if self.chance(25) else [])

    def stmt_nested_try(self) -> list[str]:
        """An inner try whose handler re-raises (bare, or from), caught by an outer one."""
        self.try_depth += 2
        inner_body = self.stmt_risky() + (self.block(1, 1) if self.chance(30) else [])
        self.try_depth -= 1
        e = self.fresh("e")
        self.handlers.append(e)
        inner = (["try:"] + indent(inner_body) + [f"except {self.except_clause()} as {e}:"]
                 + indent([self.report(e, ""), *self.stmt_reraise()]))
        self.handlers.pop()
        if self.chance(40):
            inner += ["finally:"] + indent(self.finally_body())
        outer_body = inner + (self.block(1, 1) if self.chance(30) else [])
        self.try_depth -= 1
        lines = ["try:"] + indent(outer_body)
        for _ in range(self.n(0, 1)):
            lines += self.handler(self.except_clause())
        lines += self.handler("Exception")
        if self.chance(30):
            lines += ["finally:"] + indent(self.finally_body())
        return lines

    def stmt_tryloop(self) -> list[str]:
        """A loop whose body is a try with break/continue and a finally."""
        k, n = self.fresh("k"), self.n(0, 5)
        self.scope.loop_depth += 1
        self.try_depth += 1

        def body() -> list[str]:
            lines = [f"if {self.expr(BOOL, 1).text}:", f"    {self.pick(('continue', 'break'))}"]
            lines += self.block(1, 2)
            if self.chance(50):
                lines += self.stmt_risky()
            return lines + [f"if {self.expr(BOOL, 1).text}:", f"    {self.pick(('continue', 'break'))}"]

        lines = ["try:"] + indent(self.with_names({k: INT}, body))
        self.try_depth -= 1
        if self.chance(50):
            lines += self.with_names({k: INT}, lambda: self.handler(self.except_clause()))
        fin = [f"print('fin', {k})"]
        if self.chance(10):
            fin += [f"if {k} == {self.n(0, 3)}:", f"    {self.pick(('continue', 'break'))}"]
        lines += ["finally:"] + indent(fin)
        self.scope.loop_depth -= 1
        head = f"for {k} in range({n}):"
        return [head] + indent(lines) + (["else:", f"    print('loop done', {k if n else 0})"]
                                         if self.chance(20) else [])

    def stmt_tryreturn(self) -> list[str]:
        """try/except/finally in a function, with returns in the try, handler and finally."""
        ret = self.scope.ret
        value = lambda: self.bounded(ret, self.expr(ret, 1))  # noqa: E731
        self.try_depth += 1
        body = [f"if {self.expr(BOOL, 1).text}:", f"    return {value()}"] + self.stmt_risky()
        if self.chance(50):
            body.append(f"return {value()}")
        self.try_depth -= 1
        lines = ["try:"] + indent(body)
        if self.chance(70):
            h = self.handler(self.except_clause())
            lines += h + ([f"    return {value()}"] if self.chance(50) else [])
        fin = [f"print('cleanup', {self.expr(INT, 0).text})"]
        if self.chance(10):
            fin += [f"return {value()}"]
        return lines + ["finally:"] + indent(fin)

    # --- Generators ---
    def gen_def(self) -> list[str]:
        """A generator function: a bounded loop with conditional yields, maybe `yield from` an
        earlier generator (its return value added in), and a final `return <int>`."""
        name = self.fresh("gen")
        params = [(self.fresh("p"), self.pick((INT, STR, LIST))) for _ in range(self.n(0, 2))]
        n_defaults = self.n(0, len(params))
        acc, k = self.fresh("a"), self.fresh("k")
        scope = Scope({**self.scope.readable, **dict(params), acc: INT}, set(dict(params)) | {acc},
                      [], max_loops=1, ret=INT)

        def build() -> list[str]:
            lines = [f"{acc} = {self.small_int().text}"]
            heads = [(f"for {k} in range({self.n(0, 5)}):", INT),
                     (f"for {k} in range({par(self.expr(INT, 0), TERM)} % 5):", INT)]
            heads += [(f"for {k} in {p}[:5]:", LIST if t == LIST else STR)
                      for p, t in params if t in (LIST, STR)]
            head, kt = self.pick(heads)
            kt = INT if kt == LIST else kt
            self.scope.loop_depth += 1
            body = self.with_names({k: kt}, lambda: self.stmt_yield(conditional=self.chance(60))
                                   + (self.block(1, 2) if self.chance(40) else []))
            self.scope.loop_depth -= 1
            lines += [head] + indent(body)
            if self.gens and self.chance(40):
                r = self.fresh("r")
                lines += [f"{r} = yield from {self.gen_call(1).text}", f"{acc} += {r}"]
            if self.chance(30):
                lines += self.block(1, 2)
            return lines + [f"return {self.bounded(INT, self.expr(INT))}"]

        body = self.in_def(build, scope, in_gen=True)
        self.gens.append(FuncSig(name, params, n_defaults, INT))
        return [f"def {name}({self.header(params, n_defaults)}):"] + indent(body)

    def stmt_yield(self, conditional: bool = False) -> list[str]:
        value = self.bounded(INT, self.expr(INT, 1))
        line = self.one_of(
            lambda: f"yield {value}",
            lambda: f"yield from {par(self.expr(LIST, 1), ATOM)}[:3]",
            lambda: f"yield from range({self.n(0, 3)})",
            lambda: (f"{self.pick(self.vars_of(INT, True))} = yield from {self.gen_call(1).text}"
                     if self.gens else f"yield {value}"),
        )
        return [f"if {self.expr(BOOL, 1).text}:", f"    {line}"] if conditional else [line]

    def stmt_genloop(self) -> list[str]:
        v, i = self.fresh("v"), self.fresh("i")
        return self.one_of(
            lambda: self.loop(f"for {v} in {self.gen_call(1).text}:", {v: INT}),
            lambda: self.loop(f"for {i}, {v} in enumerate({self.gen_call(1).text}):", {v: INT, i: INT}),
            lambda: self.loop(f"for {v} in ({self.genexp(INT, 1)}):", {v: INT}),
        )

    def stmt_genuse(self) -> list[str]:
        """A generator object consumed in steps: next with a default, a for with break,
        then the rest."""
        it, v = self.fresh("it"), self.fresh("v")
        lines = [f"{it} = {self.gen_call(1).text}",
                 f"print(next({it}, {self.small_int().text}), next({it}, None))"]
        if self.chance(50):
            lines += [f"for {v} in {it}:",
                      f"    if {v} {self.pick(('>', '<', '=='))} {self.small_int().text}:",
                      "        break"]
        if self.chance(30):
            lines.append(f"print(list(zip({it}, range({self.n(0, 2)}))))")
        return lines + [f"print({self.pick(('list', 'sum', 'sorted'))}({it}), list({it}))"]

    # --- Classes ---
    def exc_class(self) -> list[str]:
        name = self.fresh("Err")
        bases = [e.name for e in self.excs] + list(EXC_BASES)
        base = self.pick(bases)
        parent = next((e for e in self.excs if e.name == base), None)
        kind = self.n(0, 2)
        if kind == 0 or (parent is not None and parent.params is not None and kind == 1):
            sig = ExcSig(name, base, parent.params if parent else None,
                         parent.has_code if parent else False)
            self.excs.append(sig)
            return [f"class {name}({base}):", "    pass"]
        both = self.chance(40)
        lines = [f"class {name}({base}):",
                 f"    def __init__(self, code, msg={self.str_lit().text}):",
                 f"        super().__init__({'msg, code' if both else 'msg'})",
                 "        self.code = code"]
        if not both and self.chance(50):
            part = lambda: self.pick(("self.args[0]", "str(self.code)"))  # noqa: E731
            lines += ["    def __str__(self):",
                      f"        return {part()} + {self.pick((repr(' [code] '), repr('#')))} + {part()}"]
        self.excs.append(ExcSig(name, base, [INT, STR], True))
        return lines

    def method_scope(self, cls: ClassSig, params: list[tuple[str, str]], ret: str | None,
                     callable_methods: list[FuncSig]) -> Scope:
        root = cls.root().name
        readable = {**self.scope.readable, **{f"self.{a}": t for a, t in cls.attrs.items()},
                    "self.kind": STR, f"{root}.made": INT, **dict(params)}
        assignable = {f"self.{a}" for a in cls.attrs} | set(dict(params))
        funcs = list(self.scope.funcs) + [FuncSig(f"self.{m.name}", m.params, m.n_defaults, m.ret)
                                          for m in callable_methods]
        return Scope(readable, assignable, funcs, max_loops=1, ret=ret)

    def method_def(self, cls: ClassSig, override: FuncSig | None) -> list[str]:
        if override is not None:
            name, params, ret = override.name, override.params, override.ret
            n_defaults, callable_methods = override.n_defaults, []
        else:
            name = self.fresh("m")
            params = [(self.fresh("p"), self.pick((INT, STR, LIST))) for _ in range(self.n(0, 2))]
            n_defaults, ret = self.n(0, len(params)), self.pick((INT, INT, STR, LIST))
            callable_methods = list(cls.methods)
        scope = self.method_scope(cls, params, ret, callable_methods)

        def build() -> list[str]:
            lines = []
            if override is not None:
                r = self.fresh("r")
                lines.append(f"{r} = super().{name}({', '.join(p for p, _ in params)})")
                self.scope.readable[r] = ret
                self.scope.assignable.add(r)
            if self.chance(70):
                lines += self.block(1, 3)
            return lines + [f"return {self.bounded(ret, self.expr(ret))}"]

        body = self.in_def(build, scope)
        if override is None:
            cls.methods.append(FuncSig(name, params, n_defaults, ret))
        return [f"def {name}({self.header(params, n_defaults, 'self')}):"] + indent(body)

    def class_def(self, base: ClassSig | None) -> list[str]:
        name = self.fresh("D" if base else "C")
        self.budget -= 2
        if base is None:
            attrs = {a: INT for a in INT_ATTRS[:self.n(1, 2)]}
            attrs["s"] = STR
            if self.chance(30):
                attrs["xs"] = LIST
            init = list(attrs.items())
            cls = ClassSig(name, None, init, self.n(0, len(init)), dict(attrs), [], {})
            init_body = [f"self.{a} = {a}" for a in attrs] + [f"{name}.made += 1"]
            body = ["made = 0", f"kind = {self.str_lit().text}"]
        else:
            cls = ClassSig(name, base, base.init, base.n_defaults, dict(base.attrs),
                           list(base.methods), dict(base.dunders))
            body = [f"kind = {self.str_lit().text}"] if self.chance(40) else []
            init_body = []
            new_t = self.pick((INT, STR))
            new = SUB_ATTRS[new_t]
            if new not in cls.attrs and self.chance(60):
                required = base.init[:len(base.init) - base.n_defaults]
                cls.init = required + [(new, new_t)]
                cls.n_defaults = 1
                cls.attrs[new] = new_t
                init_body = [f"super().__init__({', '.join(p for p, _ in required)})",
                             f"self.{new} = {new}"]
        if init_body:
            def init_extra() -> list[str]:
                return self.block(1, 1) if self.chance(25) else []
            extra = self.in_def(init_extra, self.method_scope(cls, cls.init, None, []))
            body += [f"def __init__({self.header(cls.init, cls.n_defaults, 'self')}):"]
            body += indent(init_body + extra)
        if base is not None and base.methods and self.chance(80):
            body += self.method_def(cls, self.pick(base.methods))
        for _ in range(self.n(0 if base else 1, 2)):
            if self.budget > 0:
                body += self.method_def(cls, None)
        body += self.dunders(cls, base) or ([] if body else ["pass"])
        self.classes.append(cls)
        self.scope.readable[f"{name}.made"] = INT
        self.scope.readable[f"{name}.kind"] = STR
        return [f"class {name}{f'({base.name})' if base else ''}:"] + indent(body)

    def dunders(self, cls: ClassSig, base: ClassSig | None) -> list[str]:
        """Some dunder methods from templates (a subclass may override __repr__ via super())."""
        ints = [a for a, t in cls.attrs.items() if t == INT]
        n = ints[0]
        lines: list[str] = []

        def add(dunder: str, result: str, *body: str, params: str = "self") -> None:
            nonlocal lines
            cls.dunders[dunder] = result
            lines += [f"def {dunder}({params}):"] + indent(list(body))

        if base is not None:
            if "__repr__" in cls.dunders and self.chance(40):
                add("__repr__", STR, f"return {cls.name!r} + super().__repr__()")
            elif self.chance(20):
                extra = SUB_ATTRS[INT] if SUB_ATTRS[INT] in cls.attrs else "s"
                add("__repr__", STR, f"return f'{cls.name}<{{self.{n}}}, {{self.{extra}!r}}>'")
            if "__len__" in cls.dunders and self.chance(30):
                add("__len__", INT, f"return super().__len__() + {self.n(0, 3)}")
            return lines
        if self.chance(50):
            add("__repr__", STR, self.pick((
                f"return f'{{type(self).__name__}}({{self.{n}!r}}, {{self.s!r}})'",
                f"return {cls.name!r} + '(' + repr(self.{n}) + ', ' + repr(self.s) + ')'",
                f"return '<%s %d %r>' % ({cls.name!r}, self.{n}, self.s)")))
        elif self.chance(30):
            add("__str__", STR, f"return 'a ' + {cls.name!r} + ' of ' + str(self.{n})")
        if self.chance(35):
            add("__eq__", BOOL, f"if not isinstance(other, {cls.name}):", "    return NotImplemented",
                f"return self.{n} == other.{n} and self.s == other.s", params="self, other")
            if self.chance(50):
                add("__hash__", INT, f"return hash(self.{n})")
        if self.chance(40):
            add("__lt__", BOOL, self.pick((f"return (self.{n}, self.s) < (other.{n}, other.s)",
                                           f"return self.{n} < other.{n}",
                                           "return len(self.s) < len(other.s)")), params="self, other")
        if self.chance(25):
            def arg(p: str, t: str, int_branch: bool) -> str:
                if t == INT:
                    return (f"self.{p} + other" if int_branch and p == n
                            else f"self.{p}" if int_branch else f"(self.{p} + other.{p}) % 1000")
                return f"self.{p}" if int_branch else f"(self.{p} + other.{p})[:8]"
            ctor = lambda ib: f"{cls.name}({', '.join(arg(p, t, ib) for p, t in cls.init)})"  # noqa: E731
            add("__add__", OBJ + cls.name, "if isinstance(other, int):", f"    return {ctor(True)}",
                f"return {ctor(False)}", params="self, other")
            if self.chance(50):
                add("__radd__", OBJ + cls.name, "return self + other", params="self, other")
        if self.chance(25):
            add("__len__", INT, self.pick(("return len(self.s)", f"return abs(self.{n}) % 7")))
        if self.chance(20):
            add("__iter__", "", f"yield self.{n}", "for ch in self.s[:3]:", "    yield ord(ch) % 7",
                f"yield from range(abs(self.{n}) % 3)")
        if self.chance(15):
            if self.chance(50):
                add("__getitem__", STR, "return (self.s + '?')[i % (len(self.s) + 1)]",
                    params="self, i")
            else:
                add("__getitem__", INT, f"return self.{n} * i", params="self, i")
        if self.chance(15):
            add("__contains__", BOOL, "return x in self.s", params="self, x")
        if self.chance(10):
            add("__bool__", BOOL, f"return self.{n} > 0")
        if self.chance(15):
            add("__call__", INT, f"return self.{n} * k + len(self.s)", params="self, k")
        if self.chance(10):
            add("__setitem__", "", f"self.{n} = (v + i) % 1000", params="self, i, v")
        return lines

    def ctor(self, cls: ClassSig, d: int = 1) -> str:
        n_args = self.n(len(cls.init) - cls.n_defaults, len(cls.init))
        args = [self.arg_value(t, d) for _, t in cls.init[:n_args]]
        if args and self.chance(20):
            args[-1] = f"{cls.init[n_args - 1][0]}={args[-1]}"
        return f"{cls.name}({', '.join(args)})"

    def declare_obj(self, var: str, cls: ClassSig, as_list: bool = False) -> None:
        """Make var (an instance of cls, or a list of them) and its attributes and methods
        visible to the module's statements."""
        self.scope.readable[var] = (OBJS if as_list else OBJ) + cls.name
        if as_list:
            return
        for a, t in cls.attrs.items():
            self.scope.readable[f"{var}.{a}"] = t
            self.scope.assignable.add(f"{var}.{a}")
        self.scope.funcs += [FuncSig(f"{var}.{m.name}", m.params, m.n_defaults, m.ret)
                             for m in cls.methods]

    def objects(self) -> list[str]:
        lines = []
        for _ in range(self.n(1, 3)):
            declared = self.pick(self.classes)
            actual = self.pick([c for c in self.classes if c.is_a(declared)])
            var = self.fresh("o")
            lines.append(f"{var} = {self.ctor(actual)}")
            self.declare_obj(var, declared)
        for _ in range(self.n(0, 1)):
            root = self.classes[0]
            q, c = self.fresh("q"), self.fresh("c")
            made = self.with_names({c: INT}, lambda: self.ctor(self.pick(self.classes)))
            lines.append(f"{q} = [{made} for {c} in range({self.n(0, 5)})]")
            self.declare_obj(q, root, as_list=True)
        return lines

    def stmt_obj(self) -> list[str]:
        objs = self.objs()
        var, cls = self.pick(objs)
        other = self.pick(objs)[0]
        methods = [f for f in self.scope.funcs if f.name.startswith(var + ".")]
        alts = [
            lambda: ([f"print({self.call('', 2, self.pick(methods)).text})"] if methods
                     else [f"print({var}.s)"]),
            lambda: [f"{var} = {self.ctor(self.pick([c for c in self.classes if c.is_a(cls)]))}"],
            lambda: [f"print(isinstance({var}, {self.class_spec()}), type({var}), "
                     f"type({var}) is {cls.name}, "
                     f"issubclass({cls.name}, {self.pick(self.classes).name}))"],
            lambda: [f"{var}.kind = {self.str_lit().text}",
                     f"print({var}.kind, {cls.name}.kind, {cls.root().name}.made, {var}.made)"],
            lambda: [f"print({var} == {other}, {var} != {other}, {var} is {other})"],
            lambda: [f"{var}.{a} = {self.arg_value(t)}" for a, t in cls.attrs.items()][:self.n(1, 3)],
        ]
        if "__repr__" in cls.dunders or "__str__" in cls.dunders:
            alts.append(lambda: [f"print({var}, [{var}] if {self.expr(BOOL, 0).text} else '')"
                                 if "__repr__" in cls.dunders else f"print({var}, str({var}))"])
        if "__add__" in cls.dunders and cls is cls.root():
            alts.append(lambda: [f"{var} = {self.obj_sum(var, 1)}",
                                 f"{var} += {self.small_int().text}"])
        if "__setitem__" in cls.dunders:
            alts.append(lambda: [f"{var}[{self.small_int().text}] = {self.expr(INT, 1).text}"])
        if self.obj_lists():
            q = self.pick(self.obj_lists())[0]
            alts.append(lambda: [f"print({q}.count({var}), {q}.index({var}) if {var} in {q} else -1)",
                                 f"if {var} in {q}:", f"    {q}.remove({var})"])
        if "__eq__" not in cls.dunders or "__hash__" in cls.dunders:
            hashable = [v for v, c in objs if "__eq__" not in c.dunders or "__hash__" in c.dunders]
            alts.append(lambda: [f"print(len({{{', '.join(self.pick(hashable) for _ in range(3))}}}))"])
        return self.one_of(*alts)

    def stmt_objsort(self) -> list[str]:
        if not self.obj_lists():
            return self.stmt_obj()
        q, cls = self.pick(self.obj_lists())
        x = self.fresh("x")
        attr = self.pick([a for a, t in cls.attrs.items() if t == INT])
        sort = self.one_of(
            lambda: f"{q}.sort(key=lambda {x}: "
                    f"{self.pick((f'{x}.s', f'({x}.s, {x}.{attr})', f'-{x}.{attr}'))})",
            lambda: (f"{q}.sort({'reverse=True' if self.chance(30) else ''})"
                     if "__lt__" in cls.dunders or self.chance(10) else f"{q}.reverse()"),
            lambda: f"{q} = sorted({q}, key=lambda {x}: {x}.{attr} % 3, "
                    f"reverse={self.pick(('True', 'False'))})",
        )
        c = self.fresh("c")
        shown = self.one_of(
            lambda: f"[({c}.{attr}, {c}.s) for {c} in {q}]",
            lambda: (q if "__repr__" in cls.dunders else f"[type({c}).__name__ for {c} in {q}]"),
            lambda: f"max({q}, key=lambda {c}: {c}.{attr}).{attr} if {q} else None",
            lambda: (f"min({q}).s if {q} else ''" if "__lt__" in cls.dunders else f"len({q})"),
        )
        return [sort, f"print({shown})"]

    def stmt_objloop(self) -> list[str]:
        if not self.obj_lists():
            return self.stmt_obj()
        q, cls = self.pick(self.obj_lists())
        k = self.fresh("k")
        made = self.with_names({k: INT}, lambda: self.ctor(self.pick(self.classes)))
        lines = [f"{q} = []"] if self.chance(50) else []
        self.scope.loop_depth += 1
        body = [f"{q}.append({made})"]
        if self.chance(40):
            attr = self.pick([a for a, t in cls.root().attrs.items() if t == INT])
            body += [f"if {self.with_names({k: INT}, lambda: self.expr(BOOL, 1)).text}:",
                     f"    {q}[-1].{attr} += {k}"]
        self.scope.loop_depth -= 1
        return lines + [f"for {k} in range({self.n(0, 4)}):"] + indent(body) + [f"{q} = {q}[-6:]"]

    # --- The program ---
    def final_raise(self) -> list[str]:
        """An exception that escapes: the run ends with a traceback on stderr and status 1."""
        f = self.fresh("fail")
        return self.one_of(
            lambda: [f"raise {self.exc_instance()}"],
            lambda: [f"raise {self.exc_instance()} from {self.exc_instance()}"],
            lambda: ["try:", "    print(d0['missing'])", "except KeyError as e:",
                     f"    raise {self.exc_instance()}{' from e' if self.chance(50) else ''}"],
            lambda: [f"def {f}(n):", "    if n > 0:", f"        return {f}(n - 1)",
                     f"    raise {self.exc_instance()}", f"{f}({self.n(0, 3)})"],
        )

    def program(self) -> str:
        lines = [f"{v} = {self.literal(t).text}" for v, t in GLOBALS.items()]
        for _ in range(self.n(0, 2)):
            self.budget -= 1
            lines += [""] + self.exc_class()
        for _ in range(self.n(0, 2)):
            self.budget -= 2
            lines += [""] + self.gen_def()
        for i in range(self.n(0, 2)):
            self.budget -= 3
            lines += [""] + self.function(f"fn{i}")
        if self.chance(75):
            lines += [""] + self.class_def(None)
            for _ in range(self.n(0, 2)):
                if self.budget > 4:
                    lines += [""] + self.class_def(self.pick(self.classes))
            lines += [""] + self.objects()
        lines.append("")
        while self.budget > 0:
            lines += self.stmt()
        lines.append("print(" + ", ".join(GLOBALS) + ")")
        for var, cls in self.objs():
            lines.append(f"print({', '.join(f'{var}.{a}' for a in cls.attrs)})")
        for q, cls in self.obj_lists():
            c = self.fresh("c")
            lines.append(f"print([({c}.s, {c}.n) for {c} in {q}])")
        if self.chance(10):
            lines += self.final_raise()
        if self.uses_math:
            lines.insert(0, "import math")
        return "\n".join(lines) + "\n"

