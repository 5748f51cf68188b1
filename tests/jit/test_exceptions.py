"""Exceptions through compiled code: a native frame that raises, or that an
exception passes through, ends exactly as tier 0 would (Level 2 handlers,
tracebacks and chaining included), and compiled code still runs natively
around handlers."""

import textwrap

from tests.jit.helpers import run_source


def both(source: str):
    source = textwrap.dedent(source)
    tier0 = run_source(source, "off")
    jit = run_source(source, "eager")
    assert jit.stdout == tier0.stdout
    assert jit.error == tier0.error
    return jit, tier0


def compiled(outcome, name: str) -> bool:
    return any(line.startswith(f"tier 1 {name}(") for line in outcome.log)


def test_a_compiled_callee_raising_is_caught_by_its_callers_handler():
    jit, _ = both("""
        def ratio(a, b):
            return a // b
        def safe(n):
            total = 0
            for i in range(n):
                try:
                    total += ratio(100, i - 3)
                except ZeroDivisionError as e:
                    print("skip", i, e)
            return total
        print(safe(8))
    """)
    assert "skip 3 integer division or modulo by zero" in jit.stdout
    assert compiled(jit, "ratio")


def test_a_native_loop_inside_try_resumes_in_the_handler():
    jit, _ = both("""
        def scan(xs, n):
            s = 0
            i = 0
            try:
                while i < n:
                    s += xs[i]
                    i += 1
            except IndexError:
                print("stopped at", i, "sum", s)
            finally:
                print("finally", i)
            return s
        print(scan([1, 2, 3, 4], 10))
    """)
    assert jit.stdout == "stopped at 4 sum 10\nfinally 4\n10\n"


def test_compiled_code_raising_while_a_handler_runs_is_chained_as_in_tier_0():
    jit, tier0 = both("""
        def mean(total, count):
            return total / count
        def report(values):
            try:
                return values["missing"]
            except KeyError:
                return mean(sum(values.values()), len(values) - 2)
        print(report({"a": 1, "b": 2}))
    """)
    assert "During handling of the above exception, another exception occurred:" in jit.error
    assert jit.error.splitlines()[-1] == "ZeroDivisionError: division by zero"


def test_uncaught_exception_through_compiled_recursion_has_tier_0s_traceback():
    jit, _ = both("""
        def down(n):
            if n == 0:
                return 1 % n
            return down(n - 1) + 1
        try:
            down(5)
        except ZeroDivisionError as e:
            raise ValueError("wrapped") from e
    """)
    assert "The above exception was the direct cause of the following exception:" in jit.error
    assert 'line 4, in down' in jit.error and "[Previous line repeated 2 more times]" in jit.error


def test_generators_feed_compiled_numeric_code():
    jit, _ = both("""
        def squares(n):
            for i in range(n):
                yield i * i
        def weigh(x):
            return x * 3 + 1
        total = 0
        for v in squares(200):
            total += weigh(v)
        print(total, sum(weigh(x) for x in range(100)))
    """)
    assert compiled(jit, "weigh")
