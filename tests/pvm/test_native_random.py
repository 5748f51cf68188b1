"""The native core of stdlib/random.src (pvm.native_random): CPython's exact
generator behind functions that take and return plain values, and a generator
object that scripts can hold but not open, copy or create."""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any

import pytest

from pvm.api import VM, Limits
from pvm.heap import Heap
from pvm.native_random import _random


@pytest.fixture
def core() -> dict[str, Any]:
    return _random(SimpleNamespace(heap=Heap()))


def draws(core: dict[str, Any], seed: Any) -> list[Any]:
    gen = core["new"]()
    core["seed"](gen, seed)
    return [core["random"](gen), core["getrandbits"](gen, 5), core["getrandbits"](gen, 100)]


@pytest.mark.parametrize("seed", [0, 1, -1, 2 ** 32 - 1, 2 ** 32, -(10 ** 50), True, 0.5, -1e300])
def test_number_seeds_give_cpythons_sequence(core: dict[str, Any], seed: Any) -> None:
    expected = random.Random(seed)
    assert draws(core, seed) == [expected.random(), expected.getrandbits(5), expected.getrandbits(100)]


@pytest.mark.parametrize("text", ["", "hello", "h\u00e9llo \u20ac \U0001f600"])
def test_text_seed_is_cpythons_version_2_seed(core: dict[str, Any], text: str) -> None:
    expected = random.Random(text)
    assert draws(core, core["text_seed"](text)) == [expected.random(), expected.getrandbits(5),
                                                    expected.getrandbits(100)]


def test_state_round_trips_and_is_cpythons(core: dict[str, Any]) -> None:
    gen = core["new"]()
    core["seed"](gen, 99)
    state = core["getstate"](gen)
    assert state == random.Random(99).getstate()[1]
    first = core["random"](gen)
    core["setstate"](gen, state)
    assert core["random"](gen) == first


def test_namespaces_and_generators_are_independent(core: dict[str, Any]) -> None:
    assert _random(SimpleNamespace(heap=Heap())) is not core
    a, b = core["new"](), core["new"]()
    core["seed"](a, 1)
    core["seed"](b, 1)
    core["random"](a)
    assert core["random"](a) != core["random"](b)


def test_bad_arguments_raise_cpythons_errors(core: dict[str, Any]) -> None:
    gen = core["new"]()
    with pytest.raises(ValueError, match="number of bits must be non-negative"):
        core["getrandbits"](gen, -1)
    with pytest.raises(TypeError, match="'float' object cannot be interpreted as an integer"):
        core["getrandbits"](gen, 1.0)
    with pytest.raises(TypeError, match="state vector must be a tuple"):
        core["setstate"](gen, [0] * 625)
    with pytest.raises(TypeError, match="expected a random generator, not list"):
        core["random"]([])
    with pytest.raises(TypeError, match="cannot seed from list"):
        core["seed"](gen, [1])
    with pytest.raises(TypeError, match="cannot seed from int"):
        core["text_seed"](5)


def test_scripts_cannot_open_or_create_a_generator() -> None:
    out: list[str] = []
    VM(stdout=out.append).run(
        "import _random\n"
        "g = _random.new()\n"
        "print(g)\n"
        "for attempt in (lambda: g._core, lambda: type(g)()):\n"
        "    try:\n"
        "        attempt()\n"
        "    except (AttributeError, TypeError) as e:\n"
        "        print(type(e).__name__, e)\n"
    )
    assert "".join(out).splitlines() == [
        "<random generator>",
        "AttributeError 'Generator' object has no attribute '_core'",
        "TypeError cannot create 'Generator' instances",
    ]


def test_huge_getrandbits_is_refused_under_a_memory_limit() -> None:
    vm = VM(Limits(max_memory=16 * 2 ** 20))
    with pytest.raises(Exception, match="memory limit"):
        vm.run("import random\nrandom.getrandbits(8 * 2 ** 30)\n")


def test_generators_are_charged_to_the_heap():
    """Each Random() holds 2.5 KB on the host: a memory limit must count it, or a
    script could hold many times its limit in generator states."""
    from pvm.sandbox import LimitExceeded

    vm = VM(Limits(max_memory=1_000_000, max_steps=10_000_000), stdout=lambda text: None)
    with pytest.raises(LimitExceeded) as info:
        vm.run("import random\nkeep = []\nwhile True:\n    keep.append(random.Random(1))\n")
    assert info.value.kind == "memory"
    assert vm.eval("len(keep)") < 4_000      # uncharged, some 40 000 fit under the same limit
