"""Compiled code computes what tier 0 and CPython compute."""

import subprocess
import sys
import textwrap

import pytest

from tests.jit.helpers import run_source


def cpython(source: str) -> tuple[str, str]:
    """CPython's stdout and the last line of its traceback ('' on success)."""
    proc = subprocess.run([sys.executable, "-c", source], capture_output=True, text=True)
    return proc.stdout, proc.stderr.strip().splitlines()[-1] if proc.returncode else ""


def same_everywhere(source: str, **settings: int):
    """Run under tier 0, the eager JIT and CPython; all three print the same."""
    source = textwrap.dedent(source)
    tier0 = run_source(source, "off")
    jit = run_source(source, "eager", **settings)
    assert jit.stdout == tier0.stdout
    assert jit.error == tier0.error
    assert (jit.stdout, jit.error.strip().splitlines()[-1] if jit.error else "") == cpython(source)
    return jit


def compiled(outcome, label: str) -> int:
    """Tier of the version labelled ``label`` (0: none)."""
    return max((v.tier for v in outcome.jit.versions if v.plan.label == label), default=0)


def test_fib_is_compiled_and_correct():
    out = same_everywhere("""
        def fib(n):
            if n < 2:
                return n
            return fib(n - 1) + fib(n - 2)
        print(fib(20), fib(1), fib(0))
    """)
    assert compiled(out, "fib(int)") == 2     # its native recursion (21 891 calls) counts towards tier 2
    assert out.stdout == "6765 1 0\n"


def test_scalar_int_operators_compiled():
    out = same_everywhere("""
        def f(a, b):
            s = a + b - a * b + a // b + a % b + (a << 2) + (a >> 1) + (a & b) + (a | b) + (a ^ b) + ~a + -b
            s += a ** 3 + abs(a - 100) + min(a, b) + max(a, b, 7)
            return s + (a / b)
        for a, b in [(7, 2), (-7, 2), (7, -2), (-7, -2), (0, 5), (123456789, -97), (-2**40, 3)]:
            print(f(a, b))
    """)
    assert compiled(out, "f(int, int)") == 1


def test_float_operators_and_math():
    out = same_everywhere("""
        import math
        def g(x, y):
            r = x + y - x * y + x / y + x // y + x % y + x ** 2 + abs(x) + min(x, y) + max(x, y)
            r += math.sqrt(abs(x)) + math.sin(x) + math.cos(y) + math.exp(y / 10) + math.log(abs(x) + 1)
            r += math.atan2(y, x) + math.pow(abs(y), 0.5) + math.floor(x) + math.ceil(y) + math.fabs(y)
            return r
        for x, y in [(1.5, 2.25), (-7.5, 2.0), (7.5, -2.0), (-0.0, 3.0), (1e30, 1e-30), (3.0, 7.0)]:
            print(g(x, y))
        print(g(2, 3.5), g(3.5, 2))
    """)
    assert compiled(out, "g(float, float)") == 1


def test_float_powers_with_constant_exponents_keep_their_signs():
    # a constant exponent's oddness is worked out when compiling: (-x) ** odd is negative, -0.0 ** odd
    # is -0.0, a fractional power of a negative number is complex (tier 0 makes it), x ** 0.5 is pow's
    out = same_everywhere("""
        def half(x):
            return x ** 0.5
        def cube(x):
            return x ** 3.0
        def square(x):
            return x ** 2.0
        def inverse_cube(x):
            return x ** -3.0
        def zeroth(x):
            return x ** 0.0
        for x in [2.0, -2.0, 0.0, -0.0, 1.0, -1.0, 1e-5, -1e5, 12345.678]:
            print(half(abs(x)), cube(x), square(x), inverse_cube(x) if x != 0 else 0, zeroth(x))
        def q(x):
            return x ** 1.5
        print(q(4.0), q(0.25))
        print(q(-4.0))
    """)
    assert all(compiled(out, f"{name}(float)") for name in ("half", "cube", "square", "inverse_cube", "q"))


def test_float_floor_division_and_modulo_signs():
    same_everywhere("""
        def fm(a, b):
            return (a // b, a % b)
        for a in (7.5, -7.5, 0.0, -0.0, 1e-320, 3.0):
            for b in (2.0, -2.0, 0.5, -1e-300, 3.0):
                print(fm(a, b))
    """)


def test_comparisons_between_ints_and_floats_are_exact():
    same_everywhere("""
        def c(i, f):
            return (i < f, i == f, i != f, f > i, i >= f)
        print(c(2**53 + 1, float(2**53)), c(3, 3.0), c(-1, float('nan')), c(2**62, 2.0**62))
    """)


def test_loops_while_for_break_continue_else():
    out = same_everywhere("""
        def loops(n):
            total = 0
            i = 0
            while i < n:
                i += 1
                if i % 3 == 0:
                    continue
                total += i
                if total > 10_000:
                    break
            else:
                total = -total
            for j in range(n, 0, -2):
                total += j
            for k in range(5):
                if k == n:
                    break
            else:
                total += 1000
            return total
        for n in (0, 1, 5, 10, 200, 1000):
            print(loops(n))
    """)
    assert compiled(out, "loops(int)") == 1


def test_range_with_extreme_bounds():
    same_everywhere("""
        def count(a, b, c):
            n = 0
            last = 0
            for i in range(a, b, c):
                n += 1
                last = i
            return n * 1000 + last
        for a, b, c in [(0, 10, 3), (10, 0, -3), (5, 5, 1), (-2**63, -2**63 + 5, 2), (2**63 - 4, 2**63 - 1, 1),
                        (0, 2**62, 2**61), (3, -3, -1)]:
            print(count(a, b, c))
    """)


def test_nbody_like_float_code_on_lists():
    out = same_everywhere("""
        import math
        def energy(xs, vs, ms):
            e = 0.0
            n = len(xs)
            for i in range(n):
                e += 0.5 * ms[i] * vs[i] * vs[i]
                for j in range(i + 1, n):
                    d = xs[i] - xs[j]
                    e -= ms[i] * ms[j] / math.sqrt(d * d + 0.01)
            return e
        xs = [0.0, 4.84, 8.34, 12.89, 15.37]
        vs = [0.0, 0.606, 1.8, -0.2, 0.98]
        ms = [39.47, 0.037, 0.011, 0.0017, 0.002]
        print(energy(xs, vs, ms))
        print(energy(xs[:2], vs[:2], ms[:2]))
    """)
    assert compiled(out, "energy(list[float], list[float], list[float])") == 1


def test_list_reads_negative_indexes_and_big_elements():
    same_everywhere("""
        def pick(xs, i):
            return xs[i] + xs[-1]
        print(pick([1, 2, 3], 0), pick([1, 2**40, -2**62], -2), pick([5], 0))
        print(pick([2**63, 1], 1), pick([1, True], 0), pick([1.5, 2.5], 1))
    """)


def test_none_and_bool_values():
    same_everywhere("""
        def f(a, flag, nothing):
            if nothing is None and flag:
                return a + flag
            return a
        print(f(1, True, None), f(2, False, None), f(3, True, None))
        def g(x):
            y = x > 3
            z = y and x < 10
            return z
        print(g(5), g(11), g(1))
    """)


def test_defaults_and_calls_between_compiled_functions():
    out = same_everywhere("""
        def scale(x, k=3, offset=0.5):
            return x * k + offset
        def use(n):
            t = 0.0
            for i in range(n):
                t += scale(i) + scale(i, 2)
            return t
        print(use(10), use(0))
    """)
    assert compiled(out, "use(int)") == 1


def test_math_domain_error_matches_tier0():
    out = same_everywhere("""
        import math
        def root(x):
            return math.sqrt(x)
        print(root(4.0))
        print(root(-1.0))
    """)
    assert "ValueError: math domain error" in out.error


@pytest.mark.parametrize("value", ["10.0 ** 400", "(-8.0) ** 0.5", "math.exp(1000.0)", "int(float('inf'))"])
def test_float_errors_and_complex_results_match_tier0(value: str):
    expression = value.replace("10.0", "x * 10.0").replace("(-8.0)", "(x * -8.0)").replace(
        "1000.0", "x * 1000.0").replace("float('inf')", "x * float('inf')")
    same_everywhere(f"""
        import math
        def f(x):
            return {expression}
        print(f(1.0))
    """)


def test_math_functions_agree_with_cpython_bit_for_bit():
    names = ["sin", "cos", "tan", "asin", "acos", "atan", "exp", "expm1", "log2", "log10", "sinh", "cosh",
             "tanh", "asinh", "atanh", "erf", "erfc", "sqrt", "fabs", "log"]
    source = "import math\n" + "".join(f"def f_{n}(x):\n    return math.{n}(x)\n" for n in names)
    source += "for x in (0.1, 0.5, 0.9, 0.3333, -0.7):\n"
    source += "".join(f"    print(repr(f_{n}(abs(x) if '{n}' in ('sqrt', 'log', 'log2', 'log10') else x)))\n"
                      for n in names)
    out = same_everywhere(source)
    assert compiled(out, "f_sin(float)") == 1


def test_hot_code_is_recompiled_at_tier2():
    out = same_everywhere("""
        def fib(n):
            if n < 2:
                return n
            return fib(n - 1) + fib(n - 2)
        def spin(n):
            t = 0
            for i in range(n):
                t = (t + i * 7) % 1000003
            return t
        total = 0
        for k in range(30):
            total += fib(k % 12)
        i = 0
        while i < 3:
            total += spin(2000)
            i += 1
        print(total)
    """, tier2_calls=10, tier2_steps=500)
    tiers = {v.plan.label: v.tier for v in out.jit.versions}
    assert tiers["fib(int)"] == 2
    assert 2 in {v.tier for v in out.jit.versions if v.plan.mode == "loop"}


def test_star_args_kwargs_and_keyword_only_parameters_stay_in_tier0():
    out = same_everywhere("""
        def total(*xs):
            t = 0
            for x in xs:
                t += x
            return t
        def scale(x, *, k=2):
            return x * k
        def opts(**kw):
            n = 0
            for i in range(10):
                n += i
            return n + len(kw)
        def use(n):
            s = 0
            for i in range(n):
                s += scale(i) + total(*[i, 1])
            return s
        print(total(1, 2, 3), scale(4), scale(4, k=5), opts(a=1), use(10))
    """)
    reason = "*args, **kwargs and keyword-only parameters are not compiled"
    assert {label: out.jit.refusals[label] for label in ("total()", "scale(int)", "opts()", "opts@11")} == {
        label: reason for label in ("total()", "scale(int)", "opts()", "opts@11")}


LEAF_AND_LOOP = textwrap.dedent("""
    def scaled(x):
        return x * 3 + 1
    def total(n):
        t = 0
        for i in range(n):
            t += scaled(i)
        return t
    acc = 0
    for i in range(300):
        acc += scaled(i)
    print(acc, total(3000))
""")


def test_a_leaf_called_from_tier_0_is_left_there_and_compiled_into_native_callers():
    on = run_source(LEAF_AND_LOOP, "on", call_threshold=10, loop_threshold=100)
    assert on.stdout == f"{sum(i * 3 + 1 for i in range(300))} {sum(i * 3 + 1 for i in range(3000))}\n"
    assert on.jit.refusals["scaled"].startswith("no loop and no call")
    labels = [v.plan.label for v in on.jit.versions]
    assert "total@6" in labels and not any(label.startswith("scaled") for label in labels)   # it runs inside
    assert sum(v.stats.steps for v in on.jit.versions) >= 2900
    eager = run_source(LEAF_AND_LOOP, "eager")
    assert "scaled(int)" in [v.plan.label for v in eager.jit.versions]


FIRST_CALLS = textwrap.dedent("""
    class P:
        def __init__(self, x):
            self.x = x
    def weigh(p, n):
        total = 0
        for i in range(n):
            total += p.x * i
        return total
    def scale(v, n):
        total = 0
        for i in range(n):
            total += v * i
        return total
    print(sum(weigh(P(k), 10) for k in range(200)), scale(3, 10), scale(P(1), 0))
    def count(node):                 # a tree of nested tuples, deeper than native code takes
        left, right = node
        return 1 if left is None else 1 + count(left) + count(right)
    def pair_sum(pair, n):           # a tuple of numbers native code takes
        total = 0
        for i in range(n):
            total += pair[0] * i + pair[1]
        return total
    tree = (None, None)
    for _ in range(6):
        tree = (tree, tree)
    print(count(tree), pair_sum((2, 3), 10))
""")


def test_a_function_first_called_with_an_object_is_left_to_tier_0_at_that_call():
    expected = f"{sum(k * 45 for k in range(200))} 135 0\n127 120\n"
    on = run_source(FIRST_CALLS, "on", call_threshold=10, loop_threshold=100)
    assert on.stdout == expected
    assert on.jit.refusals["weigh"].startswith("its first call passed an argument")
    assert on.jit.refusals["count"].startswith("its first call passed an argument")
    blocked = {code.qualname: code for code in on.jit.blocked_functions}
    assert "scale" not in blocked            # first called with an int: the JIT may still compile it
    assert "pair_sum" not in blocked         # nor one first called with a tuple of numbers
    assert blocked["weigh"].translated       # and tier 0 translated it without waiting for the JIT
    eager = run_source(FIRST_CALLS, "eager")
    assert eager.stdout == expected
    assert "weigh" not in eager.jit.refusals


def test_a_function_whose_native_paths_only_return_early_is_refused_in_on_mode():
    # build's one native path returns None at once; the other makes an instance (an exit): in native
    # code it would only deoptimise, so mode 'on' leaves it to tier 0 (eager still compiles it)
    source = textwrap.dedent("""
        class Node:
            def __init__(self, key, left, right):
                self.key, self.left, self.right = key, left, right
        def build(lo, hi):
            if lo > hi:
                return None
            mid = (lo + hi) // 2
            return Node(mid, build(lo, mid - 1), build(mid + 1, hi))
        def size(node):
            return 0 if node is None else 1 + size(node.left) + size(node.right)
        print(sum(size(build(0, k)) for k in range(60)))
    """)
    on = run_source(source, "on", call_threshold=10)
    assert on.stdout == f"{sum(k + 1 for k in range(60))}\n"
    assert "refused build(int, int): its native paths make no call and run no loop" in on.log
    assert not any(v.plan.label == "build(int, int)" for v in on.jit.versions)
    eager = run_source(source, "eager")
    assert eager.stdout == on.stdout and any(v.plan.label == "build(int, int)" for v in eager.jit.versions)
