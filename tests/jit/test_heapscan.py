"""The collector's native list scan (pvm.jit.heapscan), installed once the
JIT has loaded LLVM: the same verdicts as the Python test, and collections
that mark and free exactly as without it."""

import sys

import pytest

from pvm import heap
from pvm.classes import Instance
from pvm.jit import heapscan
from tests.jit.helpers import run_source
from tests.pvm.test_gc import test_long_lists_of_numbers_are_marked_as_short_ones as marked_as_short_ones

INTS_INLINE = sys.version_info[:2] == (3, 11)     # other versions leave every int to the Python test


@pytest.mark.parametrize("items, verdict", [
    ([], True),
    ([0.5] * 100, True),
    ([True, False, None] * 40, True),
    (list(range(-100, 100)), True if INTS_INLINE else None),
    ([-(2 ** 59)] * 70, True if INTS_INLINE else None),
    ([2 ** 62] * 70, None),                 # fits int64 but not two digits: the Python test decides
    ([2 ** 100] * 70, None),
    ([1.0] * 70 + [2 ** 62], None),
    ([0.5] * 70 + ["a string"], False),
    ([0.5] * 70 + [[]], False),
    ([0.5] * 70 + [(1, 2)], False),
    ([3] * 70 + [Instance()], False),
    ([2 ** 62] * 70 + [{}], False),         # something to visit, after an int it is unsure of
])
def test_verdicts(monkeypatch, items, verdict):
    assert heapscan.list_scan(items) is verdict
    monkeypatch.setattr(heap, "list_scan", None)
    if verdict is not None:
        assert heap._only_immediates(items) is verdict


@pytest.mark.parametrize("tail, extra", [
    ("[]", 0), ("[2 ** 100]", None), ("[0.5, True, None]", 0), ("[[7] * 10]", 16 + 10 * 8), ("[2 ** 62]", 0),
])
def test_collections_with_the_native_scan_mark_as_without(monkeypatch, tail, extra):
    monkeypatch.setattr(heap, "list_scan", heapscan.list_scan)
    marked_as_short_ones(tail, extra)


def test_installed_when_the_jit_loads_llvm(monkeypatch):
    monkeypatch.setattr(heap, "list_scan", None)
    out = run_source("def f(n):\n    return n + 1\nprint(f(2))\n", "eager")
    assert out.stdout == "3\n"
    assert heap.list_scan is heapscan.list_scan


def test_a_scan_that_fails_to_compile_leaves_the_collector_its_python_test(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("LLVM failed")

    monkeypatch.setattr(heapscan, "_scan", None)
    monkeypatch.setattr(heapscan.ENGINE, "compile", broken)
    monkeypatch.setattr(heap, "list_scan", heapscan.list_scan)
    marked_as_short_ones("[[7] * 10]", 16 + 10 * 8)      # the collection is still exact
    assert heap.list_scan is None


def test_a_list_too_long_for_the_python_test_loads_the_native_scan(monkeypatch):
    loads = []

    def load():
        loads.append(True)
        heap.list_scan, heap.load_list_scan = heapscan.list_scan, None

    monkeypatch.setattr(heap, "list_scan", None)
    monkeypatch.setattr(heap, "load_list_scan", load)
    assert heap._only_immediates([0.5] * 1000) is True and not loads     # short: the Python test
    assert heap._only_immediates([True] * heap._LOAD_SCAN_AT) is True and loads == [True]
    assert heap.list_scan is heapscan.list_scan


def test_the_jit_leaves_the_collector_its_loader(monkeypatch):
    monkeypatch.setattr(heap, "list_scan", None)
    monkeypatch.setattr(heap, "load_list_scan", None)
    out = run_source("print(1 + 1)\n", "on")
    assert out.stdout == "2\n" and heap.load_list_scan is not None and heap.list_scan is None
    heap.load_list_scan()
    assert heap.list_scan is heapscan.list_scan and heap.load_list_scan is None
