"""Native module ``_random``: the core generator behind ``stdlib/random.src``.

The core is CPython's own C Mersenne Twister (the host's ``_random.Random``),
so seeding (init_by_array over the absolute value of an int seed, the hash of
a float), ``random()``, ``getrandbits()`` and the state tuple are CPython's bit
for bit, as CPython's random.py gets them. Everything above the core (seed
argument handling, ranges, distributions) is written in the language.

A script holds a generator only as an opaque ``Generator``: pvm gives scripts
no attribute access to host objects of unknown types and refuses to
instantiate host classes, so the generator is reachable only through the
functions below, which accept only plain values.
"""

from __future__ import annotations

import _random as _host_random
from _sha512 import sha512     # not hashlib, which loads OpenSSL at every start-up (as CPython's random)
from typing import Any

_SEED_TYPES = (type(None), int, float, str)   # pvm has no bytes
_RESERVE_BITS = 1 << 16          # getrandbits results above this size are reserved on the heap first


class Generator:
    """One MT19937 state, opaque to scripts."""

    __slots__ = ("_core",)
    pvm_bytes = 2_560       # the 625 32-bit words of MT19937 state, and the object around them

    def __init__(self) -> None:
        self._core = _host_random.Random(0)     # a fixed seed avoids an OS entropy read; random.src seeds it

    def __repr__(self) -> str:
        return "<random generator>"


def _core(gen: Any) -> Any:
    if type(gen) is not Generator:
        raise TypeError(f"expected a random generator, not {type(gen).__name__}")
    return gen._core


def _random(vm: Any) -> dict[str, object]:
    """A fresh namespace of the core functions (they keep no state themselves)."""

    def new() -> Generator:
        """A new generator (seeded with 0 until the script seeds it)."""
        return vm.heap.own(Generator())

    def seed(gen: Any, a: Any) -> None:
        """Seed as CPython's C core does: None from OS entropy, an int by its
        absolute value, a float or str by its hash."""
        if not isinstance(a, _SEED_TYPES):
            raise TypeError(f"cannot seed from {type(a).__name__}")
        _core(gen).seed(a)

    def text_seed(a: Any) -> int:
        """The int CPython's version 2 seeding makes of a str: its UTF-8 bytes
        followed by their sha512 digest, read as a big-endian int."""
        if type(a) is not str:
            raise TypeError(f"cannot seed from {type(a).__name__}")
        data = a.encode()
        return int.from_bytes(data + sha512(data).digest(), "big")

    def random(gen: Any) -> float:
        return _core(gen).random()

    def getrandbits(gen: Any, k: Any) -> int:
        core = _core(gen)
        if type(k) is not int and type(k) is not bool:
            raise TypeError(f"'{type(k).__name__}' object cannot be interpreted as an integer")
        if k > _RESERVE_BITS:
            vm.heap.reserve(k // 8)
        return core.getrandbits(k)

    def getstate(gen: Any) -> tuple[int, ...]:
        return _core(gen).getstate()

    def setstate(gen: Any, state: Any) -> None:
        _core(gen).setstate(state)

    return {
        "new": new, "seed": seed, "text_seed": text_seed, "random": random,
        "getrandbits": getrandbits, "getstate": getstate, "setstate": setstate,
    }
