"""Deoptimisation: whatever native code cannot finish, tier 0 finishes
exactly as if the JIT had never run (same output, same traceback)."""

import math
import textwrap

import pytest

import pvm.jit as jit_module
from pvm.errors import VMInternalError
from tests.jit.helpers import both, run_source


def deopts(outcome, reason: str) -> int:
    return sum(n for v in outcome.jit.versions for where, n in v.stats.deopts.items() if reason in where)


def test_int64_overflow_gives_exact_big_ints():
    out = both("""
        def power_sum(n):
            s = 0
            i = 0
            while i < n:
                s += i * i * i * i
                i += 1
            return s
        def fact(n):
            r = 1
            for k in range(2, n + 1):
                r *= k
            return r
        print(power_sum(10), power_sum(100000), fact(20), fact(21), fact(30))
        print(2**62 + power_sum(3) + 2**62)
    """)
    assert out.stdout == (f"{sum(i ** 4 for i in range(10))} {sum(i ** 4 for i in range(100000))} "
                          f"{math.factorial(20)} {math.factorial(21)} {math.factorial(30)}\n{2 ** 63 + 17}\n")
    assert deopts(out, "int64 overflow") >= 2


def test_overflow_in_a_loop_resumes_at_the_failing_instruction():
    out = both("""
        def grow(n):
            x = 1
            steps = 0
            while steps < n:
                x = x * 3 + 1
                steps += 1
            return x, steps
        print(grow(100))
    """)
    assert out.stdout == f"({_grow(100)}, 100)\n"
    loop = [v for v in out.jit.versions if v.plan.mode == "loop"]
    assert loop and deopts(out, "int64 overflow") >= 1


def _grow(n: int) -> int:
    x = 1
    for _ in range(n):
        x = x * 3 + 1
    return x


def test_zero_division_traceback_is_tier0s():
    out = both("""
        def inner(a, b):
            return a // b
        def outer(n):
            t = 0
            for i in range(n, -1, -1):
                t += inner(100, i - 2)
            return t
        print(outer(1))
        print(outer(5))
    """)
    assert out.stdout == "-150\n"
    assert out.error.endswith("ZeroDivisionError: integer division or modulo by zero\n")
    assert 'line 7, in outer' in out.error and 'line 3, in inner' in out.error
    assert deopts(out, "division by zero") >= 1


def test_index_error_and_float_division_by_zero():
    out = both("""
        def at(xs, i):
            return xs[i] / (i - 2)
        print(at([1.0, 2.0, 3.0], 0))
        print(at([1.0, 2.0, 3.0], 5))
    """)
    assert "IndexError: list index out of range" in out.error
    out = both("""
        def at(xs, i):
            return xs[i] / (i - 2)
        print(at([1.0, 2.0, 3.0], 2))
    """)
    assert "ZeroDivisionError: float division by zero" in out.error


def test_type_change_between_calls_gets_a_new_version():
    out = both("""
        def add(a, b):
            return a + b
        print(add(1, 2), add(1.5, 2), add(True, True), add(2**70, 1), add("a", "b"), add(3, 4))
    """)
    labels = {v.plan.label for v in out.jit.versions}
    assert {"add(int, int)", "add(float, int)", "add(bool, bool)"} <= labels
    assert out.stdout == "3 3.5 2 1180591620717411303425 ab 7\n"


def test_type_change_mid_loop():
    out = both("""
        def drift(n):
            x = 0
            acc = 0.0
            for i in range(n):
                if i == n // 2:
                    x = 0.5
                acc += x + i
            return acc, x
        print(drift(10), drift(1000))
    """)
    assert out.stdout == f"({_drift(10)}, 0.5) ({_drift(1000)}, 0.5)\n"


def _drift(n: int) -> float:
    x: float = 0
    acc = 0.0
    for i in range(n):
        if i == n // 2:
            x = 0.5
        acc += x + i
    return acc


def test_list_element_type_change_deopts():
    out = both("""
        def total(xs):
            t = 0
            for i in range(len(xs)):
                t += xs[i]
            return t
        print(total([1, 2, 3]), total([1, 2, 3.5]), total([1, 2**64]), total([]))
    """)
    assert out.stdout == f"6 6.5 {1 + 2 ** 64} 0\n"
    assert deopts(out, "list element") >= 1


def test_unbound_local_raises_as_in_tier0():
    out = both("""
        def f(n):
            if n > 0:
                y = n
            return y
        print(f(3))
        print(f(0))
    """)
    assert "UnboundLocalError: cannot access local variable 'y'" in out.error


def test_repeated_deopts_leave_a_function_to_tier0():
    out = both("""
        def f(a):
            return a * a * a
        t = 0
        for i in range(30):
            t += f(2**30 + i)
        print(t)
    """, max_failures=3)
    assert any("left f(int) to tier 0" in line for line in out.log)


def test_recursion_through_native_code():
    out = both("""
        def even(n):
            if n == 0:
                return True
            return odd(n - 1)
        def odd(n):
            if n == 0:
                return False
            return even(n - 1)
        def ack(m, n):
            if m == 0:
                return n + 1
            if n == 0:
                return ack(m - 1, 1)
            return ack(m - 1, ack(m, n - 1))
        print(even(10), odd(7), even(501), ack(2, 3))
    """)
    assert out.stdout == "True True False 9\n"
    assert {"even(int)", "ack(int, int)"} <= {v.plan.label for v in out.jit.versions}


def test_recursion_limit_is_tier0s():
    out = both("""
        def down(n):
            if n == 0:
                return 0
            return down(n - 1) + 1
        print(down(990))
        print(down(5000))
    """)
    assert out.stdout == "990\n"
    assert "RecursionError: maximum recursion depth exceeded" in out.error
    assert deopts(out, "call depth") >= 1


def test_recursion_at_tier_2_runs_through_twins_and_deopts_at_every_level():
    # tier 2 inlines twins of a recursive function, a few levels of the recursion per native call: an
    # overflow, the depth limit and a type change must each end the same whichever level they fall in
    out = both("""
        def grow(n, x):
            if n == 0:
                return x
            return grow(n - 1, x * 3) + 1
        def even(n):
            return True if n == 0 else odd(n - 1)
        def odd(n):
            return False if n == 0 else even(n - 1)
        def fib(n):
            if n < 2:
                return n
            return fib(n - 1) + fib(n - 2)
        for start in (1, 3, 9, 27):          # 3 ** 40 passes 2 ** 63: the overflow moves up a level each time
            print(grow(50, start))
        print(even(300), odd(301), fib(18), fib(2.5))
        def down(n):
            return 0 if n == 0 else down(n - 1) + 1
        for n in range(995, 1000):
            print(down(n))                   # some calls deeper than the limit, at different levels
    """, tier2_calls=1)
    tier2 = [v for v in out.jit.versions if v.tier == 2]
    assert {"grow(int, int)", "even(int)", "fib(int)", "down(int)"} <= {v.plan.label for v in tier2}
    assert all("_twin0" in v.text for v in tier2)
    assert deopts(out, "int64 overflow") >= 4 and deopts(out, "call depth") >= 1
    assert "RecursionError" in out.error


def test_mutual_calls_between_compiled_and_interpreted_functions():
    out = both("""
        calls = []
        def noisy(x):
            calls.append(x)
            return x * 2
        def pure(x):
            return x + 1
        def mixed(n):
            t = 0
            for i in range(n):
                t += pure(i)
                if i == 3:
                    t += noisy(i)
            return t
        def interpreted(n):
            calls.append(n)
            return pure(n) * 10
        print(mixed(5), mixed(2), interpreted(4), calls)
    """)
    assert out.stdout == "21 3 50 [3, 4]\n"
    assert "pure(int)" in {v.plan.label for v in out.jit.versions}


def test_global_rebinding_invalidates_compiled_code():
    out = both("""
        K = 2
        def scaled(x):
            return x * K
        a = scaled(5)
        K = 3.5
        b = scaled(5)
        def helper(x):
            return x + 1
        def calls_helper(x):
            return helper(x)
        c = calls_helper(1)
        def helper(x):
            return x - 1
        print(a, b, c, calls_helper(1))
    """)
    assert out.stdout == "10 17.5 2 0\n"


def _broken(*args, **kwargs):
    raise TypeError("a bug in the JIT")


def test_a_bug_in_the_call_hook_leaves_the_function_to_tier_0(monkeypatch):
    monkeypatch.setattr(jit_module, "argument_kinds", _broken)
    out = both("""
        def f(x):
            return x + 1
        try:
            print(sum(f(i) for i in range(50)))
        except TypeError as e:
            print("the script saw", e)
    """, jit_bugs=True)
    assert out.stdout == "1275\n"
    assert any("a bug in the JIT" in error for error in out.jit.errors)


def test_a_bug_in_the_loop_hook_leaves_the_loop_to_tier_0(monkeypatch):
    monkeypatch.setattr(jit_module, "header_kinds", _broken)
    out = both("""
        total = 0
        for i in range(100):
            try:
                total += i
            except TypeError:
                total = -1
        print(total)
    """, jit_bugs=True)
    assert out.stdout == "4950\n" and len(out.jit.errors) == 1
    assert "internal error, left to tier 0: <module>@" in out.jit.summary()      # what --jit-log shows


def test_a_bug_after_native_code_ran_is_an_internal_error_not_a_script_exception(monkeypatch):
    from pvm.jit.native import LoopVersion

    monkeypatch.setattr(LoopVersion, "_restore_stack", _broken)
    with pytest.raises(VMInternalError, match="a bug in the JIT"):
        run_source(textwrap.dedent("""
            total = 0
            try:
                for i in range(100):
                    total += i
            except TypeError:
                print("the script saw it")
        """), "eager", jit_bugs=True)
