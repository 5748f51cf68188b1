"""The JIT's static types ("kinds") and the typing rules of the operations it
compiles.

Native code holds unboxed int64 (INT), double (FLOAT) and i1 (BOOL) values,
NONE (no runtime value at all), lists speculated to hold only ints, only
floats or only bools (a pointer to the host list; loop regions also store
into them and append to them, APPEND being a list's bound ``append``),
lists of lists or tuples and tuples of these (ListOf, TupleOf: read-only),
iterators over lists (ListIter), and the parts of
``for x in range(...)`` (RANGE, RITER: a few int64 fields). Objects known at
compile time (a called function, the math module, ``len``) are ``Const``
entries with no runtime value; guards check at entry that they are still what
the code was compiled against.

The rules below say which result kind an operation has, or None when native
code does not do it (the instruction then becomes an exit: tier 0 runs it).
They are shared by type inference (pvm.jit.infer) and lowering, so the two
cannot disagree.
"""

from __future__ import annotations

import enum
import math
import operator
from typing import Any

from pvm.opcodes import BINARY_OPERATORS

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1


class Kind(enum.Enum):
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    NONE = "None"
    LIST_INT = "list[int]"
    LIST_FLOAT = "list[float]"
    LIST_BOOL = "list[bool]"
    APPEND = "list.append"
    RANGE = "range"
    RITER = "range_iterator"

    __hash__ = object.__hash__      # identity: Enum's own hash is a Python call, and kinds key hot dicts

    def __repr__(self) -> str:
        return self.value


class Composite:
    """A kind made of one part (an element kind, item kinds, the types of a
    tuple's items): equal to, and hashed as, one of its class with an equal
    part, since kinds key dicts; never changed once made."""

    __slots__ = ("part",)

    def __init__(self, part: Any) -> None:
        self.part = part

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.part == self.part

    def __hash__(self) -> int:
        return hash((type(self), self.part))


class ListOf(Composite):
    """A list whose elements are lists or tuples of one kind (speculated from
    the first element; every read checks the element's type)."""

    __slots__ = ()

    @property
    def element(self) -> Any:
        return self.part

    def __repr__(self) -> str:
        return f"list[{self.part!r}]"


class TupleOf(Composite):
    """A tuple of numbers, lists and tuples of these kinds (unpacking checks
    its length and the type of every item)."""

    __slots__ = ()

    @property
    def items(self) -> tuple[Any, ...]:
        return self.part

    def __repr__(self) -> str:
        return f"tuple[{', '.join(map(repr, self.part))}]"


class ListIter(Composite):
    """``iter(xs)`` of a list of some kind: the list and an index."""

    __slots__ = ()

    @property
    def of(self) -> Any:
        return self.part

    def __repr__(self) -> str:
        return f"list_iterator[{self.part!r}]"


class SliceKind(Composite):
    """``slice(start, stop[, step])`` of ints: which parts are None is static,
    the others are int64 fields."""

    __slots__ = ()

    @property
    def parts(self) -> tuple[Any, ...]:
        return self.part

    def __repr__(self) -> str:
        return f"slice[{', '.join(map(repr, self.part))}]"


class SliceOf(Composite):
    """``xs[a:b:c]`` not made yet: the list, the first index, the step and the
    length. A slice assignment copies from it without making a list; storing
    it to a variable makes the list (loop regions only). No list changes while
    one is on the stack, so what it reads is what the slice would have held."""

    __slots__ = ()

    @property
    def of(self) -> Any:
        return self.part

    def __repr__(self) -> str:
        return f"slice_of[{self.part!r}]"


class _Lists:
    """``kind in LISTS``: the list kinds, flat and nested."""

    FLAT = frozenset({Kind.LIST_INT, Kind.LIST_FLOAT, Kind.LIST_BOOL})

    def __contains__(self, kind: object) -> bool:
        return kind in self.FLAT or type(kind) is ListOf


class _Storable:
    """``kind in STORABLE``: what a fast local may hold natively."""

    def __contains__(self, kind: object) -> bool:
        return kind in NUMERIC or kind is Kind.NONE or kind in LISTS or type(kind) is TupleOf


class _Elements:
    """``ELEMENT[list kind]``: the kind of its elements."""

    FLAT = {Kind.LIST_INT: Kind.INT, Kind.LIST_FLOAT: Kind.FLOAT, Kind.LIST_BOOL: Kind.BOOL}

    def __getitem__(self, kind: Any) -> Any:
        return self.FLAT.get(kind) or kind.element


NUMERIC = frozenset({Kind.INT, Kind.FLOAT, Kind.BOOL})
LISTS = _Lists()
STORABLE = _Storable()
ELEMENT = _Elements()
OBJECTS = (ListOf, TupleOf)      # composite kinds held as a pointer to the host object
MAX_NESTING = 3                  # kinds of lists of tuples of lists... stop here
MAX_TUPLE = 8


class Const:
    """A stack entry whose value is an object known at compile time."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Const) and other.obj is self.obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __repr__(self) -> str:
        return f"Const({self.obj!r})"


Entry = Kind | Const

# Operator function (as pre-decoded by pvm.frames) -> symbol without '='
BINARY_SYMBOLS: dict[Any, str] = {getattr(operator, name): sym.rstrip("=") for sym, name in BINARY_OPERATORS}
COMPARE_SYMBOLS: dict[Any, str] = {operator.lt: "<", operator.le: "<=", operator.eq: "==", operator.ne: "!=",
                                   operator.gt: ">", operator.ge: ">="}

# Builtins native code implements, by identity (the host's own functions)
BUILTINS = {"len": len, "abs": abs, "min": min, "max": max, "range": range, "float": float, "int": int}
BUILTIN_NAMES = {id(fn): name for name, fn in BUILTINS.items()}

# math functions of one float argument that return a float, computed by libm
# exactly as CPython's math module computes them; sqrt, fabs, floor and ceil
# are exact IEEE operations and lowered to LLVM intrinsics.
MATH_UNARY = ("sin", "cos", "tan", "asin", "acos", "atan", "exp", "expm1", "log2", "log10", "sinh", "cosh",
              "tanh", "asinh", "acosh", "atanh", "erf", "erfc", "sqrt", "fabs")
MATH_FUNCTIONS: dict[int, str] = {id(getattr(math, name)): name
                                  for name in MATH_UNARY + ("log", "floor", "ceil", "atan2", "pow")}


LIST_OF = {int: Kind.LIST_INT, float: Kind.LIST_FLOAT, bool: Kind.LIST_BOOL}


def kind_of(value: Any, depth: int = 0) -> Any:
    """The kind a host value is passed to native code as, or None if it cannot be."""
    kind = type(value)
    if kind is int:
        return Kind.INT if INT64_MIN <= value <= INT64_MAX else None
    if kind is float:
        return Kind.FLOAT
    if kind is bool:
        return Kind.BOOL
    if value is None:
        return Kind.NONE
    if depth >= MAX_NESTING:
        return None
    if kind is list:
        if not value:
            return Kind.LIST_INT
        flat = LIST_OF.get(type(value[0]))
        if flat is not None:
            return flat
        element = kind_of(value[0], depth + 1) if type(value[0]) in (list, tuple) else None
        return ListOf(element) if element is not None else None
    if kind is tuple and 0 < len(value) <= MAX_TUPLE:
        items = tuple(kind_of(item, depth + 1) for item in value)
        return TupleOf(items) if all(item in STORABLE and item is not Kind.NONE for item in items) else None
    return None


def const_kind(value: Any) -> Kind | None:
    """The kind of a constant operand that native code can materialise."""
    kind = kind_of(value)
    return kind if kind in NUMERIC or kind is Kind.NONE else None


def binop_kind(sym: str, left: Entry, right: Entry) -> Kind | None:
    if left not in NUMERIC or right not in NUMERIC:
        return None
    if sym in ("&", "|", "^") and left is Kind.BOOL and right is Kind.BOOL:
        return Kind.BOOL
    if sym == "/":
        return Kind.FLOAT
    if Kind.FLOAT in (left, right):
        return None if sym in ("<<", ">>", "&", "|", "^") else Kind.FLOAT
    return Kind.INT


def compare_kind(left: Entry, right: Entry) -> Kind | None:
    return Kind.BOOL if left in NUMERIC and right in NUMERIC else None


def unary_kind(op_name: str, operand: Entry) -> Kind | None:
    if op_name == "UNARY_NOT":
        return Kind.BOOL if operand in STORABLE else None
    if op_name == "UNARY_INVERT":
        return Kind.INT if operand in (Kind.INT, Kind.BOOL) else None
    if operand is Kind.FLOAT:
        return Kind.FLOAT
    return Kind.INT if operand in (Kind.INT, Kind.BOOL) else None


def slice_kind(parts: list[Entry]) -> SliceKind | None:
    """BUILD_SLICE of ``parts`` (a missing step is None)."""
    if not all(p in (Kind.INT, Kind.BOOL, Kind.NONE) for p in parts):
        return None
    return SliceKind(tuple(parts) + (Kind.NONE,) * (3 - len(parts)))


def builtin_kind(name: str, args: list[Entry]) -> Kind | None:
    """Result kind of a supported builtin called with ``args``."""
    if name == "len":
        return Kind.INT if len(args) == 1 and (args[0] in LISTS or type(args[0]) is SliceOf) else None
    if name == "abs":
        return unary_kind("UNARY_NEGATIVE", args[0]) if len(args) == 1 else None
    if name in ("min", "max"):
        if len(args) >= 2 and all(a is args[0] for a in args) and args[0] in (Kind.INT, Kind.FLOAT):
            return args[0]
        return None
    if name == "range":
        return Kind.RANGE if 1 <= len(args) <= 3 and all(a in (Kind.INT, Kind.BOOL) for a in args) else None
    if name == "float":
        return Kind.FLOAT if len(args) == 1 and args[0] in NUMERIC else None
    if name == "int":
        return Kind.INT if len(args) == 1 and args[0] in NUMERIC else None
    return None


def math_kind(name: str, args: list[Entry]) -> Kind | None:
    """Result kind of a supported math function called with ``args``."""
    if not all(a in NUMERIC for a in args):
        return None
    if name in ("floor", "ceil"):
        return Kind.INT if len(args) == 1 else None
    if name in ("atan2", "pow"):
        return Kind.FLOAT if len(args) == 2 else None
    return Kind.FLOAT if len(args) == 1 else None
