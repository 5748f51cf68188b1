"""The limits: exact and deterministic where they should be, per entry or per
VM as documented, and wired the same way into a bare interpreter (the CLI)."""

from __future__ import annotations

import time

import pytest

import pvm
from lang import compile_source
from pvm.errors import ScriptError
from pvm.heap import Heap
from pvm.interp import Interpreter
from pvm.sandbox import (TIME_INTERVAL, DepthLimitExceeded, LimitExceeded, Limits, MemoryLimitExceeded,
                         StepLimitExceeded, format_limit_exceeded, install)

COUNTER = """
def tick(n):
    return n + 1
n = 0
while True:
    n = tick(n)
    if n % 1000 == 0:
        print(n)
"""


def breach(limits: Limits, source: str, out: list[str] | None = None) -> LimitExceeded:
    vm = pvm.VM(limits, stdout=(out if out is not None else []).append)
    with pytest.raises(LimitExceeded) as info:
        vm.run(source, "t.src")
    return info.value


@pytest.mark.parametrize("variant", [{}, {"timeout": None}, {"max_memory": None}, {"max_output": None},
                                     {"timeout": 60.0, "max_memory": 1 << 30}])
def test_a_step_limit_breaks_at_the_same_point_whatever_else_is_limited(variant: dict) -> None:
    out: list[str] = []
    error = breach(Limits(max_steps=25_001, **variant), COUNTER, out)
    assert isinstance(error, StepLimitExceeded)
    assert (error.limit, error.used) == (25_001, 25_002)
    assert out[-1] == "12000\n" and len(out) == 12     # two steps per iteration: a call and a back-edge
    assert [(e.line, e.name) for e in error.traceback] == [(5, "<module>")]   # the back-edge of iteration 12501


def test_exactly_max_steps_steps_fit() -> None:
    vm = pvm.VM(Limits(max_steps=100, timeout=None))
    vm.run("i = 0\nwhile i < 100:\n    i += 1\n")
    assert vm.steps == 100
    with pytest.raises(StepLimitExceeded):
        vm.run("i = 0\nwhile i < 101:\n    i += 1\n")


def test_steps_output_and_time_are_budgets_of_each_entry() -> None:
    out: list[str] = []
    vm = pvm.VM(Limits(max_steps=150, max_output=10, timeout=None), stdout=out.append)
    vm.run("def spin():\n    i = 0\n    while i < 100:\n        i += 1\n    print('1234')\n")
    for _ in range(5):
        vm.call("spin")            # 101 steps and 5 bytes each: fits every time
    assert vm.steps == 101 and out == ["1234\n"] * 5


def test_the_print_that_would_cross_the_output_limit_writes_nothing() -> None:
    out: list[str] = []
    error = breach(Limits(max_output=12), "print('abcde')\nprint('é' * 3)\nprint('f')\n", out)
    assert error.kind == "output" and (error.limit, error.used) == (12, 13)
    assert out == ["abcde\n"]
    assert error.traceback[-1].line == 2


def test_a_big_print_is_refused_before_its_text_is_built() -> None:
    out: list[str] = []
    error = breach(Limits(max_output=1000), "xs = [[1, 2, 3]] * 10 ** 6\nprint('start')\nprint(xs)\n", out)
    assert error.kind == "output" and error.used > 10 ** 6
    assert out == ["start\n"]


@pytest.mark.parametrize("depth", [2, 50, 1000])
def test_the_depth_limit_counts_frames_like_cpython(depth: int) -> None:
    source = "def down(n):\n    return 0 if n == 0 else down(n - 1)\n"
    vm = pvm.VM(Limits(max_depth=depth))
    vm.run(source + f"down({depth - 2})\n")        # the module frame plus depth - 1 calls
    with pytest.raises(DepthLimitExceeded) as info:
        vm.run(f"down({depth - 1})\n")
    assert (info.value.limit, info.value.used) == (depth, depth + 1)
    assert len(info.value.traceback) == depth


def test_heap_memory_errors_become_memory_limits_with_the_scripts_frames() -> None:
    error = breach(Limits(max_memory=1 << 20), "def grow():\n    return [0] * 10 ** 9\nx = 1\ngrow()\n")
    assert isinstance(error, MemoryLimitExceeded)
    assert error.limit == 1 << 20 and error.used >= 8 * 10 ** 9
    assert [(e.line, e.name) for e in error.traceback] == [(4, "<module>"), (2, "grow")]


def test_a_memory_error_the_script_merely_mentions_is_not_a_limit() -> None:
    def fail() -> None:
        raise MemoryError(f"heap limit of {Limits().max_memory} bytes exceeded (9 bytes needed)")

    vm = pvm.VM()
    vm.expose("fail", fail)
    with pytest.raises(ScriptError) as info:
        vm.run("fail()")
    assert info.value.type_name == "MemoryError"


def test_garbage_does_not_count_against_the_memory_limit() -> None:
    vm = pvm.VM(Limits(max_memory=1 << 20, timeout=None))
    vm.run("i = 0\nwhile i < 200:\n    junk = [i] * 10000\n    i += 1\n")     # 16 MB allocated, 80 KB live
    assert vm.globals["i"] == 200


def test_timeout() -> None:
    start = time.monotonic()
    error = breach(Limits(max_steps=None, timeout=0.2), "while True:\n    pass\n")
    assert error.kind == "time" and error.limit == 0.2 and 0.2 <= error.used < 0.5
    assert time.monotonic() - start < 0.6


def test_slow_steps_after_fast_ones_do_not_outrun_the_timeout() -> None:
    # Thousands of cheap steps stretch the checkpoint interval to its maximum,
    # then every step gets slow: the watchdog forces the next check.
    source = "i = 0\nwhile i < 100000:\n    i += 1\nxs = list(range(300000))\nwhile True:\n    -1 in xs\n"
    start = time.monotonic()
    error = breach(Limits(max_steps=None, timeout=1.0), source)
    assert error.kind == "time"
    assert time.monotonic() - start < 1.5
    assert TIME_INTERVAL >= 1000      # the interval the slow phase inherits is long


def test_install_wires_limits_into_a_bare_interpreter() -> None:
    out: list[str] = []
    interp = Interpreter(write=out.append, heap=Heap())
    sandbox = install(interp, Limits.from_cli(type("Options", (), {"max_steps": 1000, "max_output": 6})()))
    assert interp.heap.limit is None and interp.max_depth > 10 ** 9
    with pytest.raises(StepLimitExceeded) as info:
        interp.run_module(compile_source("print('hi')\nwhile True:\n    pass\n", "cli.src"))
    assert out == ["hi\n"]
    assert format_limit_exceeded(info.value).endswith(
        'File "cli.src", line 2, in <module>\npvm: step limit of 1000 steps exceeded (1001 steps used)\n')
    assert sandbox.breached is info.value


def test_the_heap_raises_the_memory_limit_itself_at_the_exact_line() -> None:
    interp = Interpreter(heap=Heap())
    install(interp, Limits.unlimited(max_memory=1 << 20))
    assert interp.heap.limit == 1 << 20
    with pytest.raises(MemoryLimitExceeded) as info:
        interp.run_module(compile_source("def f():\n    y = 1\n    return 'ab' * 10 ** 8\nx = 2\nf()\n", "m.src"))
    assert [(e.line, e.name) for e in info.value.traceback] == [(5, "<module>"), (3, "f")]
    assert info.value.used >= 2 * 10 ** 8


def test_hours_of_builtin_work_are_refused_even_without_a_step_limit() -> None:
    vm = pvm.VM(Limits.unlimited(timeout=5.0))
    with pytest.raises(StepLimitExceeded) as info:
        vm.run("t = (1, 2)\nfor i in range(80):\n    t = (t, t)\nprint(hash(t))\n")
    assert info.value.limit is None and info.value.detail == "one builtin call would run for hours"
    assert str(info.value).startswith("one builtin call would run for hours (")


NUMERIC = """
def step(x):
    return (x * 31 + 7) % 1000003
def run(n):
    x = 1
    i = 0
    while i < n:
        x = step(x)
        i += 1
    return x
k = 0
while True:
    print(k, run(200))
    k += 1
"""


@pytest.mark.parametrize("max_steps", [1, 5_000, 123_457])
def test_a_step_limit_breaks_at_the_same_point_with_the_jit(max_steps: int) -> None:
    outcomes = []
    for jit in ("off", "eager", "on"):
        out: list[str] = []
        vm = pvm.VM(Limits(max_steps=max_steps, timeout=None), stdout=out.append, jit=jit)
        with pytest.raises(StepLimitExceeded) as info:
            vm.run(NUMERIC, "n.src")
        outcomes.append((out, info.value.used, info.value.traceback))
    assert outcomes[0] == outcomes[1] == outcomes[2]
    assert outcomes[0][1] == max_steps + 1
