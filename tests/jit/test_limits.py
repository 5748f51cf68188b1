"""Steps, the checkpoint hook and the depth limit hold in native code exactly
as in tier 0: same step counts, same place where a limit stops the run."""

import textwrap

import pytest

from pvm.errors import PvmError
from tests.jit.helpers import run_source


class Stop(PvmError):
    """What a limit raises: a PvmError passes through the interpreter untouched."""


def steps_seen(source: str, mode: str, interval: int, limit: int | None = None) -> tuple[list[int], int, str]:
    seen: list[int] = []

    def hook(steps: int) -> int:
        seen.append(steps)
        if limit is not None and steps >= limit:
            raise Stop(steps)
        return interval

    def setup(vm):
        vm.set_checkpoint_hook(hook)

    try:
        outcome = run_source(textwrap.dedent(source), mode, setup=setup)
    except Stop:
        return seen, -1, ""
    outcome.vm.checkpoint()
    return seen, outcome.vm.steps, outcome.stdout


PROGRAM = """
    def fib(n):
        if n < 2:
            return n
        return fib(n - 1) + fib(n - 2)
    def leaf(x):
        return x % 7 + 1
    def spin(n):
        t = 0
        i = 0
        while i < n:
            t += leaf(i)
            i += 1
        return t
    print(fib(15), spin(3000))
    total = 0
    for k in range(50):
        total += spin(k) + fib(k % 10) + leaf(k)
    print(total)
"""


@pytest.mark.parametrize("interval", [1, 7, 1000, 1 << 40])
def test_step_counts_and_checkpoints_are_tier0s(interval: int):
    assert steps_seen(PROGRAM, "eager", interval) == steps_seen(PROGRAM, "off", interval)


@pytest.mark.parametrize("limit", [5, 500, 4321])
def test_a_step_limit_stops_at_the_same_step(limit: int):
    seen_jit = steps_seen(PROGRAM, "eager", 100, limit)
    seen_tier0 = steps_seen(PROGRAM, "off", 100, limit)
    assert seen_jit == seen_tier0
    assert seen_jit[1] == -1


def test_while_true_in_native_code_stops_at_the_limit():
    source = """
        def forever(x):
            while True:
                x = (x * 3 + 1) % 1000
        def caller():
            return forever(7)
        caller()
    """
    seen, steps, _ = steps_seen(source, "eager", 10_000, limit=200_000)
    assert steps == -1 and seen[-1] == 200_000
    assert seen == steps_seen(source, "off", 10_000, limit=200_000)[0]


def test_module_level_while_true_stops_too():
    source = """
        def step(x):
            return (x * 5 + 3) % 1001
        x = 1
        while True:
            x = step(x)
    """
    seen, steps, _ = steps_seen(source, "eager", 5000, limit=50_000)
    assert steps == -1 and seen[-1] == 50_000


def test_native_code_counts_steps_like_tier0():
    source = """
        def spin(n):
            t = 0
            for i in range(n):
                t += i
            return t
        print(spin(100000))
    """
    jit = steps_seen(source, "eager", 1 << 40)
    assert jit == steps_seen(source, "off", 1 << 40)
    assert jit[1] == 100_001     # the call and the back-edges


def test_depth_limit_is_the_interpreters():
    source = """
        def down(n):
            if n == 0:
                return 0
            return 1 + down(n - 1)
        print(down(60))
        print(down(200))
    """
    outcomes = []
    for mode in ("off", "eager"):
        outcome = run_source(textwrap.dedent(source), mode, setup=lambda vm: setattr(vm, "max_depth", 100))
        outcomes.append((outcome.stdout, outcome.error))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == "60\n" and "RecursionError" in outcomes[0][1]


@pytest.mark.parametrize("max_steps", [300, 5000, 40_000])
def test_sandbox_limits_breach_identically(max_steps: int):
    from pvm.sandbox import Limits, LimitExceeded, install

    source = textwrap.dedent("""
        import math
        def norm(n):
            s = 0.0
            for i in range(n):
                s += math.sqrt(i) * abs(i - 3)
            return s
        def down(n):
            if n == 0:
                return 0
            return down(n - 1) + 1
        total = 0.0
        for k in range(200):
            total += norm(k) + down(k % 30)
        print(total)
    """)
    results = []
    for mode in ("off", "eager"):
        def setup(vm):
            vm.sandbox = install(vm, Limits(max_steps=max_steps, timeout=None, max_depth=40))

        try:
            outcome = run_source(source, mode, setup=setup)
            vm = outcome.vm   # steps since the last checkpoint are not yet in vm.steps
            results.append((outcome.stdout, outcome.error, vm.steps + vm.interval - vm.countdown))
        except LimitExceeded as error:
            results.append((type(error).__name__, str(error)))
    assert results[0] == results[1]


def test_deep_native_recursion_does_not_exhaust_the_c_stack():
    source = textwrap.dedent("""
        def down(n):
            if n == 0:
                return 0
            return down(n - 1) + 1
        print(down(60000))
    """)
    outcome = run_source(source, "eager", setup=lambda vm: setattr(vm, "max_depth", 10 ** 9))
    assert outcome.stdout == "60000\n"
    assert any("call depth" in line for line in outcome.log)
