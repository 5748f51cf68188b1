"""How big a value is, how long an iterator is, how deep things nest:
cheap measurements of script values that pvm.costs turns into charges.

Every function here is a bounded, iterative walk (a hostile value cannot
make it recurse or run long): ``text_size`` stops once it passes its budget,
``tree_size`` once it has seen ``MAX_WALK`` containers, the nesting
measures at their limits. Sizes that a refusal depends on are lower bounds
(``text_size``) or close estimates, never wild over-estimates, so a
legitimate program is not refused.
"""

from __future__ import annotations

import math
import operator
from itertools import chain
from typing import Any, Callable

from pvm.heap import HEADER_BYTES as _HEADER_BYTES

MAX_PIPELINE_DEPTH = 100      # lazy iterators (map, filter, zip, ...) nested in one another
MAX_PIPELINE_NODES = 10_000   # lazy iterators one pipeline may be made of
MAX_HASH_NESTING = 1000       # tuples nested in one another, for a hash
MAX_WALK = 1 << 20            # containers ``tree_size`` visits before it assumes the worst
HUGE = 1 << 62

CONTAINERS = frozenset({list, tuple, dict, set, frozenset})
_SIZED = frozenset({str, list, tuple, dict, set, frozenset, type({}.keys()), type({}.values()),
                    type({}.items())})
_HINTED = frozenset(type(it) for it in (
    iter(""), iter("\u0100"), iter(()), iter(set()), iter({}), iter({}.values()), iter({}.items()),
    reversed({}), reversed({}.values()), reversed({}.items()), iter(range(1))))
LIST_ITERATOR = type(iter([]))
_LIST_ITERATORS = frozenset({LIST_ITERATOR, type(reversed([]))})
_LONG_RANGE_ITERATOR = type(iter(range(1 << 64)))
CALLABLE_ITERATOR = type(iter(int, 1))
LAZY = frozenset({map, filter, zip, enumerate, reversed, CALLABLE_ITERATOR})
LOG10_2 = math.log10(2)


# --- Iterables ---

def range_length(r: range) -> int:
    start, stop, step = r.start, r.stop, r.step
    if step > 0:
        return max(0, (stop - start + step - 1) // step)
    return max(0, (start - stop - step - 1) // -step)


def length_of(obj: Any) -> int | None:
    """How many items iterating ``obj`` gives, if host code can know (an upper
    bound for a filter); None when only script calls produce them (each one
    charged a step). Lazy pipelines are followed through their iterables."""
    kind = type(obj)
    if kind not in LAZY:
        return _plain_length(obj)
    walk = _lazy_graph(obj)
    if walk is None:
        return HUGE
    order, sources = walk
    lengths: dict[int, int | None] = {}
    for node in order:
        known = [lengths[id(source)] if id(source) in lengths else _plain_length(source)
                 for source in sources[id(node)]]
        node_kind = type(node)
        if node_kind is map or node_kind is zip:
            bounded = [n for n in known if n is not None]
            lengths[id(node)] = min(bounded) if bounded else None
        elif node_kind is CALLABLE_ITERATOR:
            lengths[id(node)] = None
        else:
            lengths[id(node)] = known[0] if known else 0
    return lengths[id(obj)]


def _plain_length(obj: Any) -> int | None:
    kind = type(obj)
    if kind in _SIZED:
        return len(obj)
    if kind is range:
        return range_length(obj)
    if kind in _HINTED or kind in _LIST_ITERATORS:
        return operator.length_hint(obj)
    if kind is _LONG_RANGE_ITERATOR:
        _, (whole,), index = obj.__reduce__()
        return max(0, range_length(whole) - index)
    return None


def sources_of(obj: Any) -> list[Any]:
    """The iterables a lazy iterator draws from (its ``__reduce__``, which is O(1) for these types)."""
    kind = type(obj)
    state = obj.__reduce__()
    if kind is map:
        return list(state[1][1:])
    if kind is zip:
        return list(state[1])
    if kind is filter:
        return [state[1][1]]
    if kind is enumerate or kind is reversed or kind in _LIST_ITERATORS:
        return [state[1][0]] if len(state) > 1 and state[1] else []
    return []


def _lazy_graph(obj: Any) -> tuple[list[Any], dict[int, list[Any]]] | None:
    """The lazy iterators ``obj`` draws from, each after its own sources, and
    the sources of each; None past ``MAX_PIPELINE_NODES`` of them. A DAG
    walk with a memo, so an iterator shared by many others is seen once."""
    sources = {id(obj): sources_of(obj)}
    order: list[Any] = []
    done: set[int] = set()
    stack = [(obj, iter(sources[id(obj)]))]
    on_stack = {id(obj)}
    while stack:
        node, pending = stack[-1]
        for source in pending:
            if type(source) in LAZY and id(source) not in done and id(source) not in on_stack:
                if len(sources) >= MAX_PIPELINE_NODES:
                    return None
                sources[id(source)] = sources_of(source)
                on_stack.add(id(source))
                stack.append((source, iter(sources[id(source)])))
                break
        else:
            stack.pop()
            on_stack.discard(id(node))
            done.add(id(node))
            order.append(node)
    return order, sources


def pipeline_shape(obj: Any) -> tuple[int, int]:
    """(depth, size): how deeply lazy iterators nest in ``obj`` and how many
    there are (both HUGE for a graph too big to walk)."""
    if type(obj) not in LAZY:
        return 0, 0
    walk = _lazy_graph(obj)
    if walk is None:
        return HUGE, HUGE
    order, sources = walk
    depth: dict[int, int] = {}
    for node in order:
        depth[id(node)] = 1 + max((depth.get(id(source), 0) for source in sources[id(node)]), default=0)
    return depth[id(obj)], len(order)


def reaches(obj: Any, target: list[Any]) -> bool:
    """Whether iterating ``obj`` reads ``target`` through a forward list
    iterator (so extending ``target`` with it never ends)."""
    candidates = [obj]
    if type(obj) in LAZY:
        walk = _lazy_graph(obj)
        if walk is None:
            return True
        candidates.extend(source for sources in walk[1].values() for source in sources)
    for item in candidates:
        if item is target:
            return True
        if type(item) is LIST_ITERATOR:
            underlying = sources_of(item)
            if underlying and underlying[0] is target:
                return True
    return False


# --- Big ints ---

def int_limbs(value: int) -> int:
    return value.bit_length() // 64 + 1


def mul_work(a: int, b: int) -> int:
    """Limb operations of a multiplication of ``a`` by ``b`` limbs (Karatsuba past 70)."""
    small, large = min(a, b), max(a, b)
    return small * large if small < 70 else int(large ** 1.585)


def pow_cost(base: int, exponent: int, modulus: int | None) -> tuple[int, int]:
    if modulus is not None:
        limbs = int_limbs(modulus)
        return 2 * exponent.bit_length() * mul_work(limbs, limbs), 0
    if exponent <= 0 or abs(base) <= 1:
        return 1, 0
    bits = exponent * base.bit_length()
    limbs = bits // 64 + 1
    return mul_work(limbs, limbs), _HEADER_BYTES + bits // 8


def int_op_cost(func: Callable[[Any, Any], Any], left: int, right: int) -> tuple[int, int]:
    if func is operator.pow or func is operator.ipow:
        return pow_cost(left, right, None)
    if func is operator.mul or func is operator.imul:
        return mul_work(int_limbs(left), int_limbs(right)), 0
    if func in (operator.floordiv, operator.ifloordiv, operator.mod, operator.imod, operator.truediv):
        return int_limbs(left) * int_limbs(right), 0
    if (func is operator.lshift or func is operator.ilshift) and right > 0:
        return int_limbs(left) + right // 64, _HEADER_BYTES + (left.bit_length() + right) // 8
    return int_limbs(left) + int_limbs(right), 0


# --- Sizes ---

def text_size(value: Any, budget: int, quoted: bool = True) -> int:
    """About ``len(repr(value))`` (``len(str(value))`` for a top-level str when
    ``quoted`` is false), a lower bound; stops once it passes ``budget``.
    Follows containers as repr does: a shared item counts each time it is
    printed, a container already being printed counts as ``[...]``."""
    total = 0
    on_path: set[int] = set()
    stack: list[tuple[int, Any]] = []
    item = value
    while True:
        kind = type(item)
        if kind is str:
            total += len(item) + (2 if quoted else 0)
        elif kind is int:
            total += int_digits(item)
        elif kind in CONTAINERS:
            if id(item) in on_path:
                total += 5
            elif _holds_no_container(item):
                total += _leaves_size(item)
            else:
                total += 2 * len(item) + (2 * len(item) if kind is dict else 0)   # brackets, ", " and ": "
                on_path.add(id(item))
                stack.append((id(item), iter(chain.from_iterable(item.items()) if kind is dict else item)))
        else:
            total += 3
        quoted = True
        if total > budget:
            return total
        while stack:
            following = next(stack[-1][1], stack)
            if following is not stack:
                item = following
                break
            on_path.discard(stack.pop()[0])
        else:
            return total


def _holds_no_container(node: Any) -> bool:
    if type(node) is dict:
        return CONTAINERS.isdisjoint(map(type, node.values())) and CONTAINERS.isdisjoint(map(type, node))
    return CONTAINERS.isdisjoint(map(type, node))


def _leaves_size(node: Any) -> int:
    """A lower bound of the repr of a container of plain values, at C speed:
    an item and its ", " take three characters (a dict entry and its ": " six),
    plus the text of strings."""
    parts = (node.keys(), node.values()) if type(node) is dict else (node,)
    total = 2 + (3 * len(node) - 2 if node else 0) + (3 * len(node) if type(node) is dict else 0)
    for part in parts:
        if set(map(type, part)) == {str}:
            total += sum(map(len, part)) + len(part)
    return total


def int_digits(value: int) -> int:
    return max(1, int(value.bit_length() * LOG10_2)) + (value < 0)


def tree_size(value: Any, cap: int = MAX_WALK) -> int:
    """How many nodes comparing or hashing ``value`` may visit: a shared
    sub-container counts once per path to it (as CPython's recursion visits
    it), summed over the DAG with a memo; past ``cap`` containers, HUGE."""
    if type(value) not in CONTAINERS:
        return 1
    memo: dict[int, int] = {}
    on_path = {id(value)}
    stack = [(value, iter(children(value)))]
    visited = 0
    while stack:
        node, pending = stack[-1]
        for child in pending:
            if type(child) in CONTAINERS and id(child) not in memo and id(child) not in on_path:
                visited += 1
                if visited > cap:
                    return HUGE
                on_path.add(id(child))
                stack.append((child, iter(children(child))))
                break
        else:
            stack.pop()
            on_path.discard(id(node))
            items = children(node)
            if CONTAINERS.isdisjoint(map(type, items)):
                size = 1 + len(items)
            else:
                size = 1 + sum(memo.get(id(item), 1) if type(item) in CONTAINERS else 1 for item in items)
            memo[id(node)] = min(size, HUGE)
    return memo[id(value)]


def children(node: Any) -> Any:
    return list(chain.from_iterable(node.items())) if type(node) is dict else node


def tuple_nesting(value: Any, limit: int = MAX_HASH_NESTING) -> int:
    """How deeply tuples nest in ``value`` (what hashing it recurses through), up to ``limit + 1``."""
    depth = 0
    level = [value] if type(value) is tuple else []
    seen: set[int] = set()
    while level and depth <= limit:
        depth += 1
        nested = []
        for item in level:
            for child in item:
                if type(child) is tuple and id(child) not in seen:
                    seen.add(id(child))
                    nested.append(child)
        level = nested
    return depth



# --- Formatting ---

def format_size(value: Any, spec: str, budget: int = HUGE) -> int:
    """About ``len(format(value, spec))``: the value's own text, widened to the
    spec's width and, for floats, grown by its precision."""
    size = text_size(value, budget, quoted=False)
    if not spec:
        return size
    width, precision = _spec_numbers(spec)
    if spec[-1] in "fFeE%" and type(value) in (float, int):
        size = max(size, precision + 1)
    elif spec[-1] == "s" or type(value) is str:
        size = min(size, precision) if "." in spec else size
    return max(size, width)


def _spec_numbers(spec: str) -> tuple[int, int]:
    """(width, precision) of a standard format spec (0 when absent)."""
    index = 0
    if len(spec) > 1 and spec[1] in "<>=^":
        index = 2
    elif spec[:1] in ("<", ">", "=", "^"):
        index = 1
    while index < len(spec) and spec[index] in "+- z#0":
        index += 1
    start = index
    while index < len(spec) and spec[index].isdigit():
        index += 1
    width = int(spec[start:index]) if index > start else 0
    while index < len(spec) and spec[index] in ",_":
        index += 1
    precision = 0
    if index < len(spec) and spec[index] == ".":
        index += 1
        start = index
        while index < len(spec) and spec[index].isdigit():
            index += 1
        precision = int(spec[start:index]) if index > start else 0
    return width, precision


def percent_size(template: str, values: Any, budget: int = HUGE) -> int:
    """A lower bound of ``len(template % values)``: literal text, then for each
    conversion its value's text, cut by a precision (``%.3s``), grown to the
    width, or the digits a precision asks for (``%.9f``); ``*`` read from the values."""
    items = values if type(values) is tuple else (values,)
    position = 0
    total = 0
    index = 0
    end = len(template)
    while True:
        found = template.find("%", index)
        if found < 0:
            return total + end - index
        total += found - index
        index = found + 1
        value: Any = None
        keyed = index < end and template[index] == "("
        if keyed:
            close = template.find(")", index)
            index = close + 1 if close > 0 else end
            value = values.get(template[found + 2:close], "") if type(values) is dict else ""
        while index < end and template[index] in "-+ #0":
            index += 1
        numbers: list[int | None] = []
        for part in range(2):
            if index < end and template[index] == "*":
                number = items[position] if position < len(items) and type(items[position]) is int else 0
                numbers.append(abs(number))
                position += 1
                index += 1
            else:
                start = index
                while index < end and template[index].isdigit():
                    index += 1
                numbers.append(int(template[start:index]) if index > start else None)
            if part == 0 and index < end and template[index] == ".":
                index += 1
            else:
                break
        width, precision = numbers[0] or 0, numbers[1] if len(numbers) > 1 else None
        conversion = template[index] if index < end else ""
        index += 1
        if conversion == "%":
            total += 1
            continue
        if not keyed:
            value = items[position] if position < len(items) else ""
            position += 1
        if conversion in ("f", "F", "e", "E"):
            text = (6 if precision is None else precision) + 1
        else:
            text = text_size(value, budget, quoted=conversion in ("r", "a"))
            if conversion in ("s", "r", "a") and precision is not None:
                text = min(text, precision)
        total += max(width, text)
        if total > budget:
            return total
