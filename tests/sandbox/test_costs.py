"""The measurements (pvm.measure) and the charges made from them (pvm.costs):
lower bounds that hold, lengths that are right, walks that stay bounded."""

from __future__ import annotations

import math
import operator
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pvm.attributes import BoundStrMethod
from pvm.costs import WORK_PER_STEP, binary_op_charge, charge_call
from pvm.measure import (HUGE, MAX_PIPELINE_NODES, format_size, length_of, percent_size, pipeline_shape, reaches,
                         text_size, tree_size, tuple_nesting)


class Recorder:
    """Stands in for a Sandbox: records what a call is charged."""

    def __init__(self) -> None:
        self.work = 0
        self.bytes = 0
        self.interp = type("Interp", (), {"heap": type("Heap", (), {"limit": None})()})()

    def charge(self, work: int, nbytes: int = 0) -> None:
        self.work += work
        self.bytes += nbytes

    def output_room(self) -> None:
        return None

    def reserve_output(self, size: int) -> None:
        self.output = size

    def refuse_depth(self, limit: int, used: int, detail: str) -> None:
        raise RecursionError(detail)

    def refuse_memory(self, detail: str) -> None:
        raise MemoryError(detail)


def charged(func: Any, *args: Any, **kwargs: Any) -> Recorder:
    recorder = Recorder()
    charge_call(recorder, func, list(args), kwargs or None)  # type: ignore[arg-type]
    return recorder


plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (st.lists(inner, max_size=5) | st.tuples(inner, inner)
                   | st.dictionaries(st.text(max_size=5) | st.integers(), inner, max_size=4)),
    max_leaves=30)


@settings(max_examples=200, deadline=None)
@given(plain)
def test_text_size_is_a_lower_bound_of_repr(value: Any) -> None:
    assert text_size(value, HUGE) <= len(repr(value))
    assert text_size(value, HUGE, quoted=False) <= len(str(value))


def test_text_size_follows_shared_parts_and_stops_at_the_budget() -> None:
    row = [1] * 1000
    table = [row] * 1000
    assert text_size(table, HUGE) >= 3 * 10 ** 6 - 10
    start = time.perf_counter()
    assert text_size([[table] * 1000] * 1000, 10 ** 6) > 10 ** 6
    assert time.perf_counter() - start < 0.5
    cyclic: list[Any] = [1]
    cyclic.append(cyclic)
    assert text_size(cyclic, HUGE) <= len(repr(cyclic))


@settings(max_examples=200, deadline=None)
@given(st.integers(-50, 50), st.integers(-50, 50), st.integers(-7, 7).filter(bool), st.integers(0, 10))
def test_length_of_ranges_and_their_iterators(start: int, stop: int, step: int, taken: int) -> None:
    r = range(start, stop, step)
    assert length_of(r) == len(r)
    it = iter(r)
    for _ in range(min(taken, len(r))):
        next(it)
    assert length_of(it) == len(r) - min(taken, len(r))
    assert length_of(map(abs, r, [1] * 5)) == min(len(r), 5)
    assert length_of(zip(r, r, "abc")) == min(len(r), 3)
    assert length_of(enumerate(reversed(r))) == len(r)
    assert length_of(filter(None, r)) == len(r)       # an upper bound


def test_length_of_huge_and_unknown_iterables() -> None:
    assert length_of(range(10 ** 30)) == 10 ** 30
    it = iter(range(10 ** 30))
    next(it)
    assert length_of(it) == 10 ** 30 - 1
    assert length_of(map(str, range(-10 ** 20, 0, 3))) == (10 ** 20 + 2) // 3
    assert length_of(iter(lambda: 1, 2)) is None
    assert length_of(zip(iter(lambda: 1, 2), [1, 2])) == 2
    assert length_of({}.items()) == 0 and length_of(iter({1: 2})) == 1 and length_of("héllo") == 5


def test_pipeline_shape_walks_a_dag_once() -> None:
    it: Any = iter([1])
    for _ in range(60):
        it = zip(it, it)            # 2**60 paths, 60 iterators
    assert pipeline_shape(it) == (60, 60)
    assert pipeline_shape([1, 2]) == (0, 0)
    wide: Any = iter([1])
    for _ in range(MAX_PIPELINE_NODES + 1):
        wide = map(abs, wide, iter([1]))
    assert pipeline_shape(wide) == (HUGE, HUGE)


def test_reaches_finds_forward_iterators_over_the_target() -> None:
    xs = [1, 2]
    assert reaches(iter(xs), xs)
    assert reaches(map(abs, filter(None, enumerate(iter(xs)))), xs)
    assert reaches(xs, xs)
    assert not reaches(reversed(xs), xs)        # finite: extend(reversed(xs)) is fine
    assert not reaches(iter(list(xs)), xs)


def test_tree_size_counts_paths_over_a_dag_with_a_memo() -> None:
    node: Any = [1, 2]
    for _ in range(80):
        node = [node, node]
    start = time.perf_counter()
    assert tree_size(node) == HUGE      # 2**81 paths, capped
    assert time.perf_counter() - start < 0.1
    cyclic: list[Any] = [1]
    cyclic.append(cyclic)
    assert tree_size(cyclic) == 3
    assert tree_size({"a": [1, 2], "b": (3,)}) == 1 + 1 + 3 + 1 + 2
    assert tree_size(5) == 1
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    assert tree_size(deep, cap=1000) == HUGE


def test_tuple_nesting() -> None:
    t: Any = ()
    for _ in range(5000):
        t = (t, 1)
    assert tuple_nesting(t, limit=100) == 101
    assert tuple_nesting((1, (2, (3,)), ((),))) == 3
    assert tuple_nesting([1]) == 0


@settings(max_examples=300, deadline=None)
@given(st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
       st.sampled_from(["", "10", ">30", "*^25", "+08", ",", ".3", "12.4", "<5.2", "_"]))
def test_format_size_is_a_lower_bound(value: Any, spec: str) -> None:
    try:
        real = len(format(value, spec))
    except ValueError:
        return
    assert format_size(value, spec) <= real


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["%s", "%d items", "%5d|%-8s", "%.3f", "%*d", "%(a)s and %(b)r", "%%s %s", "%10.4f"]),
       st.integers(-1000, 1000), st.text(max_size=8))
def test_percent_size_is_a_lower_bound(template: str, number: int, text: str) -> None:
    values: Any = {"a": text, "b": number} if "(" in template else (
        (number, number) if template == "%*d" else (number, text)[:template.count("%") - 2 * template.count("%%")])
    try:
        real = len(template % values)
    except (TypeError, ValueError):
        return
    assert percent_size(template, values) <= real


def test_amplifiers_are_charged_their_result() -> None:
    assert charged("ab".center, 10 ** 9).bytes >= 10 ** 9
    assert charged(str.zfill, "1", 10 ** 8).bytes >= 10 ** 8
    assert charged("\t\t".expandtabs, 10 ** 6).bytes >= 2 * 10 ** 6
    assert charged(("x" * 1000).replace, "x", "y" * 1000).bytes >= 10 ** 6
    assert charged(" ".join, ["abc"] * 1000).bytes >= 4000 - 1
    assert charged(sorted, range(10 ** 6)).bytes >= 8 * 10 ** 6
    assert charged(list, map(str, range(10 ** 6))).bytes >= 8 * 10 ** 6
    assert charged(pow, 10, 10 ** 6).bytes >= 10 ** 6 * 3 // 8
    assert charged(math.factorial, 10 ** 6).bytes >= 10 ** 6
    assert charged(format, 1, "1000000").bytes >= 10 ** 6
    assert charged(BoundStrMethod("{0:{1}}", "format"), "x", 10 ** 6).bytes >= 10 ** 6
    assert charged(round, 5, -10 ** 6).bytes >= 10 ** 5
    assert charged(dict.fromkeys, range(1000)).bytes >= 16 * 1000


def test_ordinary_calls_cost_next_to_nothing() -> None:
    xs = list(range(100))
    for func, args in [(len, (xs,)), (xs.append, (1,)), (abs, (-3,)), ("abc".upper, ()), (str, (12,)),
                       (min, (xs,)), (print, ("x",)), (range, (10 ** 18,)), (iter, (xs,))]:
        assert charged(func, *args).work < 4 * WORK_PER_STEP, func


def test_quadratic_patterns_are_charged_as_such() -> None:
    assert charged(sum, [[0] * 100] * 1000, []).work >= 1000 * 100_000 // 2
    assert charged(range(10 ** 12).count, 0.5).work == 10 ** 12
    assert charged(range(10 ** 12).count, 5).work == 0
    assert charged(list(range(10 ** 5)).insert, 0, 1).work == 10 ** 5
    assert charged(map, str.isspace, range(10 ** 9)).work == 10 ** 9


def test_refusals_that_protect_the_host() -> None:
    xs = [1]
    with pytest.raises(MemoryError, match="grows without end"):
        charged(xs.extend, map(abs, iter(xs)))
    charged(xs.extend, xs)
    with pytest.raises(TypeError, match="needs a script function"):
        charged(iter, int, 1)
    deep: Any = range(3)
    for _ in range(100):
        deep = map(abs, deep)
    with pytest.raises(RecursionError, match="nested too deeply"):
        charged(map, abs, deep)
    t: Any = ()
    for _ in range(2000):
        t = (t,)
    with pytest.raises(RecursionError, match="hashing a tuple"):
        charged(hash, t)
    with pytest.raises(RecursionError):
        charged({}.get, t)


def test_binary_op_charges_for_the_interpreters_hook() -> None:
    recorder = Recorder()
    binary_op_charge(recorder, operator.mod, "%10000000d", 1)  # type: ignore[arg-type]
    assert recorder.bytes >= 10 ** 7
    recorder = Recorder()
    binary_op_charge(recorder, operator.pow, 10, 10 ** 7)  # type: ignore[arg-type]
    assert recorder.bytes >= 10 ** 7 * 3 // 8 and recorder.work > 10 ** 7
    xs = [1]
    with pytest.raises(MemoryError):
        binary_op_charge(Recorder(), operator.iadd, xs, iter(xs))  # type: ignore[arg-type]


def test_operators_are_charged_for_the_interpreters_instructions() -> None:
    assert charged(operator.mod, "%10000000d", 1).bytes >= 10 ** 7
    assert charged(operator.contains, range(10 ** 15), 0.5).work == 10 ** 15
    assert charged(operator.contains, range(10 ** 15), 5).work == 0
    assert charged(operator.contains, map(abs, range(10 ** 9)), -1).work == 10 ** 9
    assert charged(operator.contains, {1: 2}, 1).work == 0
    a: Any = [1]
    b: Any = [2]
    for _ in range(80):
        a, b = [a, a], [b, b]
    assert charged(operator.eq, a, b).work == HUGE
    assert charged(operator.lt, [1, 2], [1, 3]).work < WORK_PER_STEP
    t: Any = ()
    for _ in range(2000):
        t = (t,)
    with pytest.raises(RecursionError):
        charged(operator.contains, {1}, t)
    with pytest.raises(MemoryError):
        charged(operator.iadd, a, iter(a))
