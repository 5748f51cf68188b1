"""Values crossing between host and script: what crosses, how (copied, shape
kept, cycles kept, iteratively), and what is refused."""

from __future__ import annotations

import enum

import pytest

import pvm
from pvm.boundary import copy_to_host, to_host, to_script
from pvm.heap import Heap

PLAIN = [None, True, False, 0, -5, 2 ** 100, 1.5, float("inf"), "", "héllo", (), (1, "a"), [], [1, [2, [3]]],
         {"a": 1, 2: [3], (1, 2): None}, {1, 2}, frozenset({"x"}), ((1,), [(), {}])]


class Color(enum.IntEnum):
    RED = 1


@pytest.mark.parametrize("value", PLAIN, ids=repr)
def test_plain_values_round_trip(value: object) -> None:
    vm = pvm.VM()
    vm.run("def same(x):\n    return x\n")
    assert vm.call("same", value) == value
    assert type(vm.call("same", value)) is type(value)


def test_values_are_copied_both_ways() -> None:
    vm = pvm.VM()
    vm.run("kept = []\ndef keep(xs):\n    xs.append('script')\n    kept.append(xs)\n    return kept\n")
    mine = [1]
    result = vm.call("keep", mine)
    assert mine == [1]
    assert result == [[1, "script"]]
    result[0].append("host")
    assert vm.eval("kept") == [[1, "script"]]


def test_shared_and_cyclic_parts_keep_their_shape_into_the_script() -> None:
    inner = [1]
    value = [inner, inner, {"k": inner}]
    value.append(value)
    pair = (value, inner)
    vm = pvm.VM()
    vm.run("def shape(p):\n    v, i = p\n    return [v[0] is i, v[1] is i, v[2]['k'] is i, v[3] is v, len(v)]\n")
    assert vm.call("shape", pair) == [True, True, True, True, 4]


def test_shared_and_cyclic_parts_keep_their_shape_out_of_the_script() -> None:
    vm = pvm.VM()
    vm.run("a = [1]\nd = {'a': a, 'b': a}\nd['me'] = d\nt = (a, d)\n")
    t = vm.globals["t"]
    assert t[0] is t[1]["a"] is t[1]["b"]
    assert t[1]["me"] is t[1]


def test_a_tuple_in_a_cycle_through_a_list_is_one_object() -> None:
    holder: list[object] = []
    t = (holder,)
    holder.append(t)
    copy = to_host(t, "here")
    assert copy[0][0] is copy


def test_immutable_values_of_immutables_are_not_copied() -> None:
    t = (1, "a", (2.5, None))
    assert to_host(t, "here") is t
    assert to_script(t, Heap(), "here")[0] is t


def test_deep_nesting_crosses_without_recursion() -> None:
    value: list[object] = []
    for _ in range(200_000):
        value = [value]
    copy, nodes = copy_to_host(value, "here")
    assert nodes == 200_001
    depth = 0
    while copy:
        copy = copy[0]
        depth += 1
    assert depth == 200_000
    vm = pvm.VM()
    vm.run("def depth(x):\n    n = 0\n    while x:\n        x = x[0]\n        n += 1\n    return n\n")
    assert vm.call("depth", value) == 200_000


@pytest.mark.parametrize("value, name", [(object(), "object"), (b"bytes", "bytes"), (Color.RED, "Color"),
                                         (len, "builtin_function_or_method"), ([1, {2: [3, print]}], "builtin_function_or_method"),
                                         (range(3), "range"), (1j, "complex")])
def test_other_values_are_refused_into_the_script(value: object, name: str) -> None:
    vm = pvm.VM()
    vm.run("def f(x):\n    return x\n")
    with pytest.raises(TypeError) as info:
        vm.call("f", value)
    assert f"cannot pass a value of type '{name}' to vm.call('f')" in str(info.value)
    assert "only None, bool, int, float, str" in str(info.value)


@pytest.mark.parametrize("source, what", [("lambda: 0", "script function '<lambda>'"),
                                          ("range(3)", "a value of type 'range'"),
                                          ("iter([])", "a value of type 'list_iterator'"),
                                          ("[len]", "a value of type 'builtin_function_or_method'")])
def test_other_values_are_refused_out_of_the_script(source: str, what: str) -> None:
    vm = pvm.VM()
    with pytest.raises(TypeError, match=f"cannot pass {what} from vm.eval"):
        vm.eval(source)


def test_globals_refuse_functions_with_a_clear_message() -> None:
    vm = pvm.VM()
    vm.run("def f():\n    pass\n")
    with pytest.raises(TypeError, match=r"cannot pass script function 'f' from vm.globals\['f'\]"):
        vm.globals["f"]


def test_values_copied_in_are_charged_to_the_heap() -> None:
    vm = pvm.VM(pvm.Limits(max_memory=1 << 20))
    vm.run("def size(x):\n    return len(x)\n")
    assert vm.call("size", ["x" * 100] * 1000) == 1000
    with pytest.raises(pvm.LimitExceeded) as info:
        vm.call("size", list(range(1_000_000)))
    assert info.value.kind == "memory"
    with pytest.raises(pvm.LimitExceeded):
        vm.call("size", "x" * 2_000_000)


def test_the_copy_survives_a_collection_in_the_middle() -> None:
    heap = Heap(stress=True)
    value = {"a": [[1, 2], [3]], "b": ({"c": [4]},)}
    copy, _ = to_script(value, heap, "here")
    assert copy == value
    assert all(id(obj) in heap.objects for obj in (copy, copy["a"], copy["a"][0], copy["b"][0]["c"]))
