"""Slices in loop regions (pvm.jit.slices): pending slices, lists made for
variables and held by the nursery, slice assignments copied in place."""

import sys
import textwrap

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.jit.helpers import both, native_steps, run_source
from tests.jit.test_differential import cpython, last_line

FANNKUCH = """
    def fannkuch(n):
        perm1 = list(range(n))
        count = [0] * n
        max_flips = 0
        checksum = 0
        sign = 1
        r = n
        while True:
            while r != 1:
                count[r - 1] = r
                r -= 1
            perm = perm1[:]
            flips = 0
            k = perm[0]
            while k:
                perm[:k + 1] = perm[k::-1]
                flips += 1
                k = perm[0]
            if flips > max_flips:
                max_flips = flips
            checksum += sign * flips
            sign = -sign
            while True:
                if r == n:
                    return checksum, max_flips
                p0 = perm1[0]
                i = 0
                while i < r:
                    perm1[i] = perm1[i + 1]
                    i += 1
                perm1[r] = p0
                count[r] -= 1
                if count[r] > 0:
                    break
                r += 1
    print(fannkuch(7))
"""


def loop_versions(out):
    return [v for v in out.jit.versions if v.plan.mode == "loop"]


def test_fannkuch_runs_natively():
    out = both(FANNKUCH)
    assert out.stdout == "(228, 16)\n"
    assert native_steps(out) > 10000
    reasons = {reason for v in loop_versions(out) for reason in v.stats.deopts}
    assert reasons <= {"line 35: return from the loop"}, reasons


def test_every_slice_of_a_list_reads_as_in_tier_0():
    out = both("""
        def reads(xs, a, b, c):
            total = 0
            r = 0
            while r < 3:
                part = xs[a:b:c]
                total += len(part) * 100 + (part[-1] if part else -1)
                r += 1
            return total, part
        bounds = [None, -20, -4, -1, 0, 1, 3, 9, 10, 20]
        for a in bounds:
            for b in bounds:
                for c in [None, 1, 2, 4, -1, -3, -9223372036854775807 - 1, 9223372036854775807]:
                    print(a, b, c, reads(list(range(10)), a, b, c))
    """)
    assert native_steps(out) > 500


def test_a_zero_step_raises_from_tier_0():
    out = both("""
        def reads(xs, c):
            i = 0
            while i < 3:
                part = xs[::c]
                i += 1
        reads([1, 2], 1)
        reads([1, 2], 0)
    """)
    assert "ValueError: slice step cannot be zero" in out.error


def test_slice_assignments_of_another_length_are_left_to_tier_0_with_the_slice_made():
    out = both("""
        def assign(xs, a, b, n):
            i = 0
            while i < n:
                xs[a:b] = xs[:3]             # grows the list: tier 0 stores the slice native code had pending
                i += 1
            return xs
        print(assign(list(range(6)), 1, 4, 3), assign(list(range(6)), 1, 2, 3))
        def extended(xs):
            for i in range(3):
                xs[::2] = xs[:2]
        extended(list(range(6)))
    """)
    reasons = {reason for v in loop_versions(out) for reason in v.stats.deopts}
    assert any(reason.endswith("a slice assignment of another length") for reason in reasons), reasons
    assert "ValueError: attempt to assign sequence of size 2 to extended slice of size 3" in out.error


def test_overlapping_assignments_from_the_list_itself_copy_first():
    out = both("""
        def shift(xs, n):
            i = 0
            while i < n:
                xs[1:6] = xs[0:5]            # overlapping, not a reversal: through the buffer
                xs[::2] = xs[1::2]
                xs[-1:-4:-1] = xs[0:3]
                i += 1
            return xs
        print(shift(list(range(12)), 4))
        long = list(range(1000))
        print(shift(long, 2)[:20])           # too long for the buffer: tier 0 does those
    """)
    assert native_steps(out) >= 3
    reasons = {reason for v in loop_versions(out) for reason in v.stats.deopts}
    assert "line 6: a long slice assignment from the list itself" in reasons


def test_a_list_changing_under_a_pending_slice_is_left_to_tier_0():
    out = both("""
        def pending(xs, n):
            for r in range(n):
                xs[:xs.append(r) or 2] = xs[-2:]     # the slice is taken before the append
            return xs
        print(pending([1, 2, 3], 40))
    """)
    assert any("list.append while a slice is pending" in reason for reason in out.jit.refusals.values())


def test_lists_made_natively_are_registered_and_charged_as_in_tier_0():
    source = """
        def copies(src, n):
            keep = src
            for r in range(n):
                c = src[:]
                c[0] = r
                if r % 7 == 0:
                    keep = c
            return keep
        kept = copies(list(range(100)), 500)
        print(kept[:3], len(kept))
    """
    tier0 = run_source(textwrap.dedent(source), "off")
    out = both(source)
    assert native_steps(out) > 400
    kept = out.vm.modules["__main__"].dict["kept"]
    assert id(kept) in out.vm.heap.objects
    assert out.vm.heap.stats.bytes_allocated == tier0.vm.heap.stats.bytes_allocated


def test_the_list_budget_makes_a_loop_hand_back_without_counting_as_a_failure():
    out = both("""
        def copies(src, n):
            total = 0
            for r in range(n):
                c = src[:]
                total += c[r % 1000]
            return total
        print(copies(list(range(1000)), 3000))      # 24 MB of lists, made 1 MB at a time
    """)
    (version,) = loop_versions(out)
    assert version.stats.deopts["line 5: list budget"] >= 20
    assert version.stats.failures == 0 and not version.nursery


def test_under_a_memory_limit_lists_are_made_natively_only_within_it():
    source = """
        def copies(src, n):
            total = 0
            for r in range(n):
                c = src[:]
                total += c[r % 100]
            return total
        print(copies(list(range(100)), 1000))      # 816 KB of lists: no hand-back without a limit
    """

    def setup(vm):
        vm.heap.limit = 64 << 10          # the memory limit alone, without the sandbox's checks of host calls

    free = run_source(textwrap.dedent(source), "eager")
    limited = run_source(textwrap.dedent(source), "eager", setup=setup)
    assert free.stdout == limited.stdout == f"{sum(r % 100 for r in range(1000))}\n"
    hand_backs = [sum(v.stats.deopts["line 5: list budget"] for v in loop_versions(out)) for out in (free, limited)]
    assert hand_backs[0] == 0 and hand_backs[1] >= 1000 * 816 // (64 << 10)


def test_reference_counts_stay_balanced():
    token = 10 ** 6 + 7            # values no other code holds
    source = textwrap.dedent(f"""
        def run(xs, n):
            for i in range(n):
                xs[:5] = xs[4::-1]
                xs[5:8] = xs[10:13]
                copy = xs[::3]
                xs[1:3] = copy[:2]
        xs = [{token} + i for i in range(20)]
        run(xs, 50)
    """)
    counts = []
    for mode in ("off", "eager"):
        out = run_source(source, mode)
        out.vm.heap.collect()              # tier 0's slices stay registered until a collection
        counts.append([sys.getrefcount(value) for value in out.vm.modules["__main__"].dict["xs"]])
    assert native_steps(out) > 40
    assert counts[0] == counts[1]


@st.composite
def slices(draw) -> str:
    bound = st.one_of(st.none(), st.integers(-12, 12)).map(lambda b: "" if b is None else str(b))
    start, stop = draw(bound), draw(bound)
    step = draw(st.one_of(st.none(), st.sampled_from([1, 2, 3, -1, -2, -4, 0])))
    return f"{start}:{stop}" if step is None else f"{start}:{stop}:{step}"


@st.composite
def slice_programs(draw) -> str:
    body = []
    for _ in range(draw(st.integers(1, 4))):
        shape = draw(st.integers(0, 4))
        target, source = draw(slices()), draw(slices())
        if shape == 0:
            body.append(f"xs[{target}] = xs[{source}]")
        elif shape == 1:
            body.append(f"ys = xs[{source}]")
        elif shape == 2:
            body.append(f"xs[{target}] = ys[{source}]")
        elif shape == 3:
            body.append(f"total += len(ys[{source}])")
        else:
            body.append(f"for v in xs[{source}]: xs[v % len(xs)] = v + 1")
    lines = ["def f(xs, ys, n):", "    total = 0", "    for r in range(n):"]
    lines += [f"        {statement}" for statement in body]
    lines += ["        total += len(xs) * 100 + len(ys) + (xs[r % len(xs)] if xs else 0)",
              "    return total, xs, ys",
              f"print(f(list(range({draw(st.integers(0, 12))})), [100, 101, 102], {draw(st.integers(3, 6))}))"]
    return "\n".join(lines) + "\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(slice_programs())
def test_generated_slice_code_agrees(source: str):
    tier0 = run_source(source, "off")
    jit = run_source(source, "eager")
    assert (jit.stdout, jit.error) == (tier0.stdout, tier0.error)
    assert (jit.stdout, last_line(jit.error)) == cpython(source)


def test_slices_of_lists_of_lists_and_of_floats():
    out = both("""
        def rows(grid, weights, n):
            total = 0.0
            for r in range(n):
                tail = grid[1:]
                head = tail[r % len(tail)][::-1]
                total += head[0] + tail[-1][1]
                scale = weights[::2]
                total += scale[r % len(scale)]
            return total, tail, head
        print(rows([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], [0.5, 1.5, 2.5, 3.5, 4.5], 40))
    """)
    assert native_steps(out) > 30


def test_a_pending_slice_has_a_length_and_is_iterated_as_made():
    out = both("""
        def walk(xs, n):
            total = 0
            for r in range(n):
                total += len(xs[r % 7:]) + len(xs[::-3])
                for x in xs[r % 5::2]:
                    xs[0] = x + r            # the loop goes over the slice as it was made
                    total += x
            return total, xs
        print(walk(list(range(10)), 60))
        def count(xs, a, b):
            return len(xs[a:b])              # a function region: nothing is made
        print([count(list(range(9)), a, b) for a in range(-3, 4) for b in (None, 2, -1)])
    """)
    assert native_steps(out) > 50
    assert any(v.plan.mode == "function" and "count" in v.plan.label for v in out.jit.versions)
