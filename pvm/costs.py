"""What a host call is about to cost, charged before it runs.

One builtin call can do a lot of work, or build a huge value, in C where no
step is counted and no allocation is seen until it returns: ``'x'.center(10**10)``,
``sorted(range(10**9))``, ``pow(3, 10**9)``, ``' '.join(huge)``. Before every host
call the sandbox asks ``charge_call`` to estimate the call from its arguments
alone (lengths, bit lengths, format widths) and charges it up front:

- work, in elements (characters, items, 64-bit limbs), becomes steps at
  ``WORK_PER_STEP`` elements per step, so quadratic patterns use fuel;
- new data, in bytes of pvm's size model, is reserved on the heap, so a
  result that cannot fit is refused before any memory is taken;
- text a ``print`` is about to write is checked against the output limit.

Estimates are deterministic functions of the arguments, so a given step
limit is breached at the same point on every run. They never need to be
exact: they are close upper bounds for the amplifiers, and cheap (O(1) or
one pass over the arguments in C) for everything else.

The same module refuses the few host-level shapes that CPython itself cannot
survive: lazy iterators nested so deep that ``next`` overflows the C stack
(``map(abs, map(abs, ...))`` a million times), tuples nested so deep that
hashing them does, ``iter(builtin, sentinel)`` (an endless loop in C), and a
list extended with an iterator over itself.
"""

from __future__ import annotations

import builtins
import math
import operator
import sys
from typing import TYPE_CHECKING, Any, Callable

from pvm.attributes import BoundStrMethod, StrMethodDescriptor, estimate_format
from pvm.boundary import HostFunction
from pvm.heap import HEADER_BYTES, WORD_BYTES
from pvm.measure import (CONTAINERS, HUGE, LOG10_2, MAX_HASH_NESTING, MAX_PIPELINE_DEPTH, format_size, int_digits,
                         int_limbs, int_op_cost, length_of, mul_work, percent_size, pipeline_shape, pow_cost,
                         range_length, reaches, text_size, tree_size, tuple_nesting)
from pvm.objects import Builtin, Function

if TYPE_CHECKING:
    from pvm.sandbox import Sandbox

WORK_PER_STEP = 32            # host work elements that cost one step

SMALL = 256                   # below this many elements, a linear method's charge is not worth computing
Estimator = Callable[["Sandbox", Any, "list[Any] | tuple[Any, ...]", "dict[str, Any] | None"], None]

_BUILTIN_METHOD = type(len)
_KEY_VIEWS = (type({}.keys()), type({}.items()))
_METHOD_DESCRIPTOR = type(str.join)


# --- Entry point ---

def charge_call(sandbox: "Sandbox", func: Any, args: list[Any], kwargs: dict[str, Any] | None) -> None:
    """Charge (or refuse) the host call ``func(*args, **kwargs)``."""
    estimator = _FUNCTIONS.get(id(func))
    if estimator is not None:
        if estimator is not _free:
            estimator(sandbox, None, args, kwargs)
        return
    kind = type(func)
    if kind is _BUILTIN_METHOD:
        owner = func.__self__
        estimator = _METHODS.get((type(owner), func.__name__))
        if estimator is not None:
            estimator(sandbox, owner, args, kwargs)
    elif kind is _METHOD_DESCRIPTOR:
        estimator = _METHODS.get((func.__objclass__, func.__name__))
        if estimator is not None and args and type(args[0]) is func.__objclass__:
            estimator(sandbox, args[0], args[1:], kwargs)
    elif kind is BoundStrMethod:
        _str_format(sandbox, func.template, func.name, args, kwargs)
    elif kind is StrMethodDescriptor:
        if args and type(args[0]) is str:
            _str_format(sandbox, args[0], func.name, args[1:], kwargs)
    elif kind is Builtin and func.name == "print":
        _print(sandbox, args, kwargs)


def binary_op_charge(sandbox: "Sandbox", func: Callable[[Any, Any], Any], left: Any, right: Any) -> None:
    """``left <func> right`` for an operator of the interpreter (BINARY_OP):
    ``str % values``, big-int arithmetic, ``list += iterator over the same list``.
    ``charge_call(sandbox, operator.mod, [left, right], None)`` is the same."""
    if func is operator.mod and type(left) is str:
        sandbox.charge(len(left), _str_bytes(percent_size(left, right, _room(sandbox)), left))
    elif type(left) is int and type(right) is int:
        work, nbytes = int_op_cost(func, left, right)
        sandbox.charge(work, nbytes)
    elif func is operator.iadd and type(left) is list and type(right) is not list:
        _extend(sandbox, left, (right,), None)


# --- Sizes ---

def _str_bytes(length: int, *sources: str) -> int:
    return HEADER_BYTES + length * (1 if all(map(str.isascii, sources)) else 4)


def _seq_bytes(length: int) -> int:
    return HEADER_BYTES + WORD_BYTES * length


def _check_key(sandbox: "Sandbox", key: Any) -> None:
    """A hash of ``key`` must not recurse past the C stack nor visit a huge DAG."""
    if type(key) is tuple:
        if tuple_nesting(key) > MAX_HASH_NESTING:
            raise RecursionError("maximum recursion depth exceeded while hashing a tuple")
        sandbox.charge(tree_size(key))


def _check_keys(sandbox: "Sandbox", items: Any) -> None:
    if type(items) in (list, tuple, set, frozenset) and tuple in set(map(type, items)):
        for item in items:
            _check_key(sandbox, item)


def _elements_cost(items: Any) -> int:
    """Work of comparing the items of ``items`` (sizes of container items included)."""
    n = length_of(items) or 0
    if type(items) in (list, tuple) and not CONTAINERS.isdisjoint(map(type, items)):
        return sum(tree_size(item) for item in items)
    return n


def _room(sandbox: "Sandbox") -> int:
    heap = sandbox.interp.heap
    if heap.limit is None:
        return HUGE
    return max(0, heap.limit - heap.stats.live_bytes)


def _str_format(sandbox: "Sandbox", template: str, name: str, args: Any, kwargs: dict[str, Any] | None) -> None:
    budget = _room(sandbox)
    mapping = (kwargs or {}) if name == "format" else (args[0] if len(args) == 1 else None)

    def measure(value: Any, spec: str, conversion: str | None) -> int:
        return format_size(value if conversion is None else "", spec, budget) + (
            text_size(value, budget) if conversion is not None else 0)

    try:
        size = estimate_format(template, tuple(args) if name == "format" else None, mapping, measure)
    except Exception:     # the call itself will raise the script's error
        return
    sandbox.charge(len(template), _str_bytes(size, template))


def _print(sandbox: "Sandbox", args: Any, kwargs: dict[str, Any] | None) -> None:
    room = sandbox.output_room()
    budget = min(_room(sandbox), HUGE if room is None else room)
    sep, end = (kwargs or {}).get("sep"), (kwargs or {}).get("end")
    size = (len(sep) if type(sep) is str else 1) * max(0, len(args) - 1) + (len(end) if type(end) is str else 1)
    for value in args:
        size += len(value) if type(value) is str else text_size(value, budget)
        if size > budget:
            break
    sandbox.reserve_output(size)
    sandbox.charge(size, size)


# --- Estimators, registered by function identity and by (type, method name) ---

_FUNCTIONS: dict[int, Estimator] = {}
_METHODS: dict[tuple[type, str], Estimator] = {}


_PINNED: list[Any] = []      # registered objects stay alive, so their ids are never reused


def _functions(*objects: Any) -> Callable[[Estimator], Estimator]:
    def register(estimator: Estimator) -> Estimator:
        for obj in objects:
            _FUNCTIONS[id(obj)] = estimator
            _PINNED.append(obj)
        return estimator
    return register


def _free(sb: "Sandbox", _: Any, args: Any, kwargs: Any) -> None:
    """Builtins that cost O(1) (or are charged per script call): nothing to charge."""


def _methods(owners: tuple[type, ...], *names: str) -> Callable[[Estimator], Estimator]:
    def register(estimator: Estimator) -> Estimator:
        for owner in owners:
            for name in names:
                _METHODS[(owner, name)] = estimator
        return estimator
    return register


def _arg(args: Any, kwargs: dict[str, Any] | None, index: int, name: str, default: Any = None) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default) if kwargs else default


def _int_arg(args: Any, kwargs: dict[str, Any] | None, index: int, name: str, default: int = 0) -> int:
    value = _arg(args, kwargs, index, name, default)
    return value if type(value) is int else default


@_functions(list, tuple)
def _materialise(sb: "Sandbox", _: Any, args: Any, kwargs: Any) -> None:
    if args:
        n = length_of(args[0])
        if n is not None:
            sb.charge(n, _seq_bytes(n))


@_functions(set, frozenset)
def _materialise_keys(sb: "Sandbox", _: Any, args: Any, kwargs: Any) -> None:
    if args:
        n = length_of(args[0])
        if n is not None:
            _check_keys(sb, args[0])
            sb.charge(n, _seq_bytes(n))


@_functions(dict)
def _dict(sb: "Sandbox", _: Any, args: Any, kwargs: Any) -> None:
    if args:
        n = length_of(args[0])
        if n is not None:
            sb.charge(n, HEADER_BYTES + 2 * WORD_BYTES * n)


@_functions(sorted)
def _sorted(sb: "Sandbox", _: Any, args: Any, kwargs: Any) -> None:
    if args:
        n = length_of(args[0])
        if n is not None:
            sb.charge(_elements_cost(args[0]) * max(1, n.bit_length()), _seq_bytes(n))


@_functions(min, max, any, all)
def _scan(sb: "Sandbox", _: Any, args: Any, kwargs: Any) -> None:
    if len(args) == 1:
        sb.charge(_elements_cost(args[0]))


@_functions(sum, math.fsum, math.prod)
def _sum(sb: "Sandbox", _: Any, args: Any, kwargs: Any) -> None:
    if not args:
        return
    items = args[0]
    n = length_of(items) or 0
    start = _arg(args, kwargs, 1, "start")
    if type(start) in (list, tuple) and type(items) in (list, tuple):
        total = len(start) + sum(len(item) for item in items if type(item) in (list, tuple))
        sb.charge(n * total // 2 + n, _seq_bytes(total))
    elif type(items) in (list, tuple) and set(map(type, items)) == {int}:
        bits = sum(map(int.bit_length, items))
        sb.charge(n + (bits // 64) * n, HEADER_BYTES + bits // 8)
    else:
        sb.charge(n)


def _check_pipeline(sb: "Sandbox", sources: Any, own: int = 1) -> None:
    """A new lazy iterator over ``sources`` (``own``: 0 when it is the source
    itself, as ``iter(it)``) must not nest past what ``next`` can recurse through."""
    depth = own
    for source in sources:
        nested, size = pipeline_shape(source)
        sb.charge(size)
        depth = max(depth, nested + own)
    if depth > MAX_PIPELINE_DEPTH:
        sb.refuse_depth(MAX_PIPELINE_DEPTH, depth, "iterators nested too deeply")


@_functions(zip, enumerate, reversed)
def _lazy(sb: "Sandbox", _: Any, args: Any, kwargs: Any) -> None:
    _check_pipeline(sb, args)


@_functions(map, filter)
def _lazy_with_function(sb: "Sandbox", _: Any, args: Any, kwargs: Any) -> None:
    """map(f, ...) and filter(f, ...): f runs in C for every item when it is not a script function."""
    if not args:
        return
    _check_pipeline(sb, args[1:])
    if not _charged_per_call(args[0]):
        lengths = [n for n in map(length_of, args[1:]) if n is not None]
        if lengths:
            sb.charge(min(lengths))


def _charged_per_call(func: Any) -> bool:
    """Script functions (and exposed host functions) charge a step per call."""
    return type(func) is Function or type(func) is HostFunction


@_functions(iter)
def _iter(sb: "Sandbox", _: Any, args: Any, kwargs: Any) -> None:
    if len(args) == 2 and callable(args[0]) and not _charged_per_call(args[0]):
        raise TypeError("iter(callable, sentinel) needs a script function in a sandboxed VM")
    if len(args) == 1:
        _check_pipeline(sb, args, own=0)


@_functions(hash)
def _hash(sb: "Sandbox", _: Any, args: Any, kwargs: Any) -> None:
    if args:
        _check_key(sb, args[0])


@_functions(str, repr, ascii)
def _text(sb: "Sandbox", _: Any, args: Any, kwargs: Any) -> None:
    if len(args) == 1 and not kwargs:
        value = args[0]
        if type(value) is str:
            return
        if type(value) is int:
            digits = int_digits(value)
            sb.charge(_decimal_work(digits), _str_bytes(digits))
            return
        size = text_size(value, _room(sb))
        sb.charge(size, _str_bytes(size))


@_functions(format)
def _format(sb: "Sandbox", _: Any, args: Any, kwargs: Any) -> None:
    if args:
        spec = _arg(args, kwargs, 1, "format_spec", "")
        size = format_size(args[0], spec if type(spec) is str else "", _room(sb))
        sb.charge(size, _str_bytes(size))


@_functions(int, float)
def _number(sb: "Sandbox", _: Any, args: Any, kwargs: Any) -> None:
    if args and type(args[0]) is str:
        sb.charge(_decimal_work(len(args[0])))


def _decimal_work(digits: int) -> int:
    """Converting between an int and ``digits`` decimal digits is quadratic in
    CPython 3.11, unless its own digit limit refuses the conversion first."""
    limit = sys.get_int_max_str_digits()
    if limit and digits > limit:
        return digits
    return digits * (1 + digits // 4300)


@_functions(bin, oct, hex)
def _int_text(sb: "Sandbox", _: Any, args: Any, kwargs: Any) -> None:
    if args and type(args[0]) is int:
        bits = args[0].bit_length()
        sb.charge(bits // 8, HEADER_BYTES + bits + 3)


@_functions(pow, math.pow)
def _pow(sb: "Sandbox", _: Any, args: Any, kwargs: Any) -> None:
    base, exponent = _arg(args, kwargs, 0, "base"), _arg(args, kwargs, 1, "exp")
    modulus = _arg(args, kwargs, 2, "mod")
    if type(base) is int and type(exponent) is int and (modulus is None or type(modulus) is int):
        sb.charge(*pow_cost(base, exponent, modulus))


@_functions(divmod)
def _divmod(sb: "Sandbox", _: Any, args: Any, kwargs: Any) -> None:
    if len(args) == 2 and type(args[0]) is int and type(args[1]) is int:
        sb.charge(int_limbs(args[0]) * int_limbs(args[1]))


@_functions(round)
def _round(sb: "Sandbox", _: Any, args: Any, kwargs: Any) -> None:
    ndigits = _arg(args, kwargs, 1, "ndigits")
    if args and type(args[0]) is int and type(ndigits) is int and ndigits < 0:
        bits = int(-ndigits / LOG10_2)
        limbs = bits // 64 + 1
        sb.charge(mul_work(limbs, limbs), HEADER_BYTES + bits // 8)


@_functions(math.factorial)
def _factorial(sb: "Sandbox", _: Any, args: Any, kwargs: Any) -> None:
    if args and type(args[0]) is int and args[0] > 1:
        n = args[0]
        bits = n * max(1, n.bit_length())
        sb.charge(int((bits // 64 + 1) ** 1.585), HEADER_BYTES + bits // 8)


@_functions(math.comb, math.perm)
def _comb(sb: "Sandbox", _: Any, args: Any, kwargs: Any) -> None:
    if len(args) >= 1 and type(args[0]) is int and args[0] > 1:
        n = args[0]
        k = args[1] if len(args) > 1 and type(args[1]) is int else n
        k = max(0, min(k, n))
        bits = k * n.bit_length()
        sb.charge(int((bits // 64 + 1) ** 1.585), HEADER_BYTES + bits // 8)


@_functions(math.lcm, math.gcd, math.isqrt)
def _int_many(sb: "Sandbox", _: Any, args: Any, kwargs: Any) -> None:
    bits = sum(arg.bit_length() for arg in args if type(arg) is int)
    sb.charge(int((bits // 64 + 1) ** 1.585) * max(1, len(args)), HEADER_BYTES + bits // 8)


@_functions(math.dist, math.hypot)
def _floats(sb: "Sandbox", _: Any, args: Any, kwargs: Any) -> None:
    sb.charge(sum(length_of(arg) or 1 for arg in args))


# --- Methods of the builtin types ---

@_methods((str,), "center", "ljust", "rjust", "zfill")
def _pad(sb: "Sandbox", self: str, args: Any, kwargs: Any) -> None:
    width = _int_arg(args, kwargs, 0, "width")
    fill = _arg(args, kwargs, 1, "fillchar", " ")
    if width > len(self):
        sb.charge(width, _str_bytes(width, self, fill if type(fill) is str else ""))


@_methods((str,), "expandtabs")
def _expandtabs(sb: "Sandbox", self: str, args: Any, kwargs: Any) -> None:
    size = len(self) + self.count("\t") * max(0, _int_arg(args, kwargs, 0, "tabsize", 8))
    sb.charge(size, _str_bytes(size, self))


@_methods((str,), "replace")
def _replace(sb: "Sandbox", self: str, args: Any, kwargs: Any) -> None:
    if len(args) < 2 or type(args[0]) is not str or type(args[1]) is not str:
        return
    old, new = args[0], args[1]
    if len(self) < SMALL and len(new) < SMALL:
        return
    count = _int_arg(args, kwargs, 2, "count", -1)
    hits = self.count(old) if old else len(self) + 1
    if count >= 0:
        hits = min(hits, count)
    size = len(self) + hits * max(0, len(new) - len(old))
    sb.charge(len(self) + size, _str_bytes(size, self, new))


@_methods((str,), "join")
def _join(sb: "Sandbox", self: str, args: Any, kwargs: Any) -> None:
    if not args:
        return
    items = args[0]
    n = length_of(items)
    if n is None:
        return
    if type(items) in (list, tuple):
        if not set(map(type, items)) <= {str}:
            return            # join raises TypeError before building anything
        size = sum(map(len, items)) + len(self) * max(0, n - 1)
        wide = not all(map(str.isascii, items)) if size > 1 << 16 else False
        sb.charge(n + size, HEADER_BYTES + size * (4 if wide else 1))
    else:
        sb.charge(n, _seq_bytes(n) + len(self) * max(0, n - 1))


@_methods((str,), "split", "rsplit", "splitlines")
def _split(sb: "Sandbox", self: str, args: Any, kwargs: Any) -> None:
    if len(self) < SMALL:
        return
    sep = _arg(args, kwargs, 0, "sep")
    if type(sep) is str and sep:
        parts = self.count(sep) + 1
    else:
        parts = sum(map(self.count, " \t\n\r\x0b\x0c")) + 1
    sb.charge(len(self), _seq_bytes(parts) + parts * HEADER_BYTES + len(self))


@_methods((str,), "translate")
def _translate(sb: "Sandbox", self: str, args: Any, kwargs: Any) -> None:
    table = args[0] if args else None
    longest = 1
    if type(table) is dict:
        longest = max((len(v) for v in table.values() if type(v) is str), default=1)
        sb.charge(len(table))
    size = len(self) * max(1, longest)
    sb.charge(len(self), _str_bytes(size, self))


@_methods((str,), "upper", "lower", "casefold", "swapcase", "title", "capitalize")
def _case(sb: "Sandbox", self: str, args: Any, kwargs: Any) -> None:
    if len(self) < SMALL:
        return
    sb.charge(len(self), _str_bytes(len(self) if self.isascii() else 3 * len(self), self))


@_methods((str,), "count", "find", "rfind", "index", "rindex", "startswith", "endswith", "strip", "lstrip",
          "rstrip", "partition", "rpartition", "removeprefix", "removesuffix", "isalnum", "isalpha",
          "isascii", "isdecimal", "isdigit", "isidentifier", "islower", "isnumeric", "isprintable",
          "isspace", "istitle", "isupper")
@_methods((list, tuple), "index", "count")
@_methods((list,), "remove", "reverse", "clear")
@_methods((dict, set, frozenset), "clear")
def _linear(sb: "Sandbox", self: Any, args: Any, kwargs: Any) -> None:
    n = len(self)
    if args and type(args[0]) in CONTAINERS and type(self) is not str:
        n *= tree_size(args[0])
    elif n < SMALL:
        return
    sb.charge(n)


@_methods((list, dict, set, frozenset), "copy")
def _copy(sb: "Sandbox", self: Any, args: Any, kwargs: Any) -> None:
    sb.charge(len(self), _seq_bytes(len(self) * (2 if type(self) is dict else 1)))


@_methods((list,), "insert", "pop")
def _shift(sb: "Sandbox", self: list[Any], args: Any, kwargs: Any) -> None:
    index = args[0] if args and type(args[0]) is int else len(self)
    sb.charge(len(self) - min(len(self), index if index >= 0 else len(self) + index))


@_methods((list,), "sort")
def _sort(sb: "Sandbox", self: list[Any], args: Any, kwargs: Any) -> None:
    sb.charge(_elements_cost(self) * max(1, len(self).bit_length()))


@_methods((list,), "extend")
def _extend(sb: "Sandbox", self: list[Any], args: Any, kwargs: Any) -> None:
    if not args:
        return
    source = args[0]
    if source is not self and reaches(source, self):
        sb.refuse_memory("a list extended with an iterator over itself grows without end")
    n = length_of(source)
    if n is not None:
        sb.charge(n, WORD_BYTES * n)


@_methods((set, frozenset), "union", "intersection", "difference", "symmetric_difference", "update",
          "intersection_update", "difference_update", "symmetric_difference_update", "issubset",
          "issuperset", "isdisjoint")
@_methods((type({}.keys()), type({}.items())), "isdisjoint")
@_methods((dict,), "update")
def _bulk(sb: "Sandbox", self: Any, args: Any, kwargs: Any) -> None:
    n = sum(length_of(arg) or 0 for arg in args) + (len(kwargs) if kwargs else 0)
    for arg in args:
        _check_keys(sb, arg)
    sb.charge(n + len(self), _seq_bytes(n + len(self)) if type(self) is not dict else 2 * WORD_BYTES * n)


@_methods((type,), "fromkeys")     # dict.fromkeys, bound to the dict type
def _fromkeys(sb: "Sandbox", self: Any, args: Any, kwargs: Any) -> None:
    if args:
        n = length_of(args[0])
        if n is not None:
            _check_keys(sb, args[0])
            sb.charge(n, HEADER_BYTES + 2 * WORD_BYTES * n)


@_methods((set,), "add", "remove", "discard")
@_methods((dict,), "get", "pop", "setdefault")
def _keyed(sb: "Sandbox", self: Any, args: Any, kwargs: Any) -> None:
    if args and type(args[0]) is tuple:
        _check_key(sb, args[0])


@_methods((range,), "count", "index")
def _range_search(sb: "Sandbox", self: range, args: Any, kwargs: Any) -> None:
    if args and type(args[0]) not in (int, bool):
        sb.charge(range_length(self))


@_methods((type,), "fromhex")      # float.fromhex, bound to the float type
def _fromhex(sb: "Sandbox", self: Any, args: Any, kwargs: Any) -> None:
    if args and type(args[0]) is str:
        sb.charge(len(args[0]))


# --- Operators, for the interpreter's instructions that do host work (the same hook) ---

def _operator(func: Callable[[Any, Any], Any]) -> Estimator:
    def estimate(sb: "Sandbox", _: Any, args: Any, kwargs: Any) -> None:
        if len(args) == 2:
            binary_op_charge(sb, func, args[0], args[1])
    return estimate


for _op in (operator.mod, operator.imod, operator.pow, operator.ipow, operator.mul, operator.imul, operator.lshift,
            operator.ilshift, operator.floordiv, operator.ifloordiv, operator.truediv, operator.iadd):
    _functions(_op)(_operator(_op))


@_functions(operator.contains)
def _contains(sb: "Sandbox", _: Any, args: Any, kwargs: Any) -> None:
    """``item in container``: a hash for sets and dicts, O(1) for an int in a
    range, else a scan that compares the item with every element."""
    if len(args) != 2:
        return
    container, item = args
    kind = type(container)
    if kind in (set, frozenset, dict) or kind in _KEY_VIEWS:
        _check_key(sb, item)
    elif kind is range and type(item) in (int, bool):
        return
    elif kind is not str:
        n = length_of(container)
        if n is not None:
            sb.charge(n * tree_size(item))


@_functions(operator.eq, operator.ne, operator.lt, operator.le, operator.gt, operator.ge)
def _compare(sb: "Sandbox", _: Any, args: Any, kwargs: Any) -> None:
    """Comparing containers visits them in step, so at most the smaller tree."""
    if len(args) == 2 and type(args[0]) in CONTAINERS and type(args[1]) in CONTAINERS:
        sb.charge(min(tree_size(args[0]), tree_size(args[1])))


# Every other builtin and math function is free: found by identity, without a method lookup.
for _obj in [*vars(builtins).values(), *vars(math).values()]:
    if callable(_obj) and id(_obj) not in _FUNCTIONS:
        _functions(_obj)(_free)
