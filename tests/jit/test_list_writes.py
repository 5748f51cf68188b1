"""Loop regions that store into lists and append to them: the writes are
real, so every exit must leave exactly the state tier 0 would have reached,
and the heap must be charged for the growth."""

import sys
import textwrap

import pytest

from pvm.jit.kinds import Kind, kind_of
from pvm.sandbox import LimitExceeded, Limits, install
from tests.jit.helpers import both, native_steps, run_source


def test_lists_of_bools_have_a_kind():
    assert kind_of([True, False]) is Kind.LIST_BOOL
    assert kind_of([1, True]) is Kind.LIST_INT and kind_of(["a"]) is None


def test_stores_of_every_element_kind_run_natively():
    out = both("""
        def fill(n):
            ints = [0] * n
            floats = [0.0] * n
            flags = [False] * n
            i = 0
            while i < n:
                ints[i] = i * i
                floats[-1 - i] = i / 2
                flags[i] = i % 3 == 0
                i += 1
            print(sum(ints), sum(floats), flags.count(True), flags[:4], ints[-3:], floats[:3])
        fill(3000)
    """)
    assert native_steps(out) > 2000


def test_a_sieve_of_bools_runs_natively():
    out = both("""
        def sieve(limit):
            flags = [True] * (limit + 1)
            flags[0] = flags[1] = False
            i = 2
            while i * i <= limit:
                if flags[i]:
                    j = i * i
                    while j <= limit:
                        flags[j] = False
                        j += i
                i += 1
            return flags.count(True)
        print(sieve(20000))
    """)
    assert native_steps(out) > 10000


def test_an_index_out_of_range_exits_before_the_store_with_tier_0_traceback():
    out = both("""
        def run(xs):
            i = 0
            while True:
                xs[i] = i + 0.5
                i += 1
        data = [0.0] * 500
        try:
            run(data)
        except IndexError as e:
            print("caught", e, data[-1], len(data))
        run(data)
    """)
    assert "IndexError: list assignment index out of range" in out.error


def test_a_store_of_another_kind_and_an_element_of_another_type_leave_to_tier_0():
    both("""
        def run(xs, n):
            for i in range(n):
                if i == 700:
                    xs[i] = "text"          # not compiled: tier 0 stores it, native code goes on
                elif i == 900:
                    xs[i] = 2.5             # a float into a list speculated to hold ints
                else:
                    xs[i] = xs[i - 1] + 1   # reads the text at 701 and fails there
            return xs
        try:
            run([0] * 1000, 1000)
        except TypeError as e:
            print("TypeError", e)
        xs = run([0] * 1000, 650)
        print(xs[640:660])
    """)


def test_overflow_while_computing_a_stored_value_resumes_exactly():
    out = both("""
        def run(xs):
            for i in range(len(xs)):
                xs[i] = xs[i - 1] * 3 if i else 1
            return xs
        xs = run([0] * 60)
        print(xs[38:42], xs[-1])
    """)
    assert any(reason == "int64 overflow" or "overflow" in reason
               for v in out.jit.versions for reason in v.stats.deopts)


def test_appends_run_natively_and_resume_after_an_exit():
    out = both("""
        def build(n):
            out = []
            for i in range(n):
                s = 0.0
                for j in range(n):
                    s += (i + j) / (j + 1)
                out.append(s)
            big = []
            k = 0
            while k < 200:
                big.append(k * k * k * k * k * k * k * k * k * k)   # past int64 from k = 79
                k += 1
            flags = []
            for k in range(50):
                flags.append(k % 2 == 0)
            return out, big, flags
        out, big, flags = build(120)
        print(len(out), out[:3], out[-1], big[78:81], flags[:5])
    """)
    assert native_steps(out) > 10000


def test_append_of_a_value_native_code_does_not_take_is_left_to_tier_0():
    both("""
        def run(n):
            out = []
            for i in range(n):
                out.append(i if i % 7 else str(i))
            return out
        print(run(50)[:10])
    """)


def test_appends_are_charged_to_the_heap_and_the_memory_limit_holds():
    source = textwrap.dedent("""
        def grow():
            out = []
            i = 0
            while True:
                out.append(i)
                i += 1
        grow()
    """)

    def setup(vm):
        install(vm, Limits.unlimited(max_memory=8 << 20))

    with pytest.raises(LimitExceeded) as tier0:
        run_source(source, "off", setup=setup)
    with pytest.raises(LimitExceeded) as jit:
        run_source(source, "eager", setup=setup)
    assert tier0.value.kind == jit.value.kind == "memory"
    assert [entry.line for entry in jit.value.traceback] == [entry.line for entry in tier0.value.traceback]


def test_an_appending_loop_hands_back_in_time_only_under_a_memory_limit():
    source = textwrap.dedent("""
        def build(n):
            out = []
            for i in range(n):
                out.append(i * 3)
            return out
        print(len(build(300000)))
    """)

    def setup(vm):
        vm.heap.limit = 1 << 30         # the memory limit alone, without the sandbox's checks of host calls

    free = run_source(source, "eager")
    limited = run_source(source, "eager", setup=setup)
    assert free.stdout == limited.stdout == "300000\n"
    entries = [sum(v.entries for v in out.jit.versions if v.plan.mode == "loop") for out in (free, limited)]
    assert entries[0] == 1 and entries[1] >= 300000 // (1 << 16)


def test_functions_do_not_write_natively():
    out = both("""
        def store(xs, n):
            for i in range(n):
                xs[i] = i
            return n
        xs = [0] * 10
        for _ in range(300):
            store(xs, 10)
        print(xs)
    """, call_threshold=10)
    reasons = [reason for v in out.jit.versions if v.plan.mode == "function" for reason in v.stats.deopts]
    assert reasons and all("a store into a list in a function region" in reason for reason in reasons)


def test_stores_and_appends_keep_reference_counts_balanced():
    token = 10 ** 6 + 7            # values no other code holds
    source = textwrap.dedent(f"""
        def run(xs, n):
            for i in range(n):
                xs[i] = {token} + i
                xs.append({token} - i)
        xs = [0] * 400
        run(xs, 400)
        run(xs, 400)
    """)
    counts = []
    for mode in ("off", "eager"):
        out = run_source(source, mode)
        counts.append([sys.getrefcount(value) for value in out.vm.modules["__main__"].dict["xs"]])
    assert native_steps(out) > 300
    assert counts[0] == counts[1]          # a leaked or lost reference would show in every element


def test_comprehensions_and_the_cells_their_loops_read_run_natively():
    out = both("""
        def picked(n, scale):
            table = [i * scale for i in range(n)]
            return [k for k in range(n) if table[k] % 3 == 0]      # table: a cell of picked
        print(picked(5000, 7)[-5:], len(picked(5000, 7)))

        def counts(n):
            hits = [0] * 10
            def bump(k):
                hits[k] += 1
            i = 0
            while i < n:
                hits[i % 10] = hits[i % 10] + 1
                i += 1
            bump(3)
            return hits
        print(counts(3000))

        def rebinds(n):
            total = 0
            def read():
                return total
            for i in range(n):
                total = total + i          # a cell the loop assigns: left to tier 0 at each access
            return read()
        print(rebinds(3000))
    """)
    assert native_steps(out) > 10000
    assert {"picked.<locals>.<listcomp>@4", "counts@12"} <= {v.plan.label for v in out.jit.versions}


def test_a_float_held_elsewhere_is_replaced_and_one_held_only_by_the_list_overwritten():
    # a shared float's count is dropped without a deallocation check (it cannot reach 0 there)
    source = textwrap.dedent("""
        def scale(xs, n):
            for i in range(n):
                xs[i] = xs[i] * 0.5 + 1.0
        a = [float(i) + 0.25 for i in range(300)]
        b = a[:]                     # every float held twice: the first run replaces them
        scale(a, 300)
        scale(a, 300)                # now only a holds them: overwritten in place
        print(sum(a), sum(b), a[:2], b[:2])
    """)
    outs, counts = [], []
    for mode in ("off", "eager"):
        out = run_source(source, mode)
        outs.append(out.stdout)
        namespace = out.vm.modules["__main__"].dict
        counts.append([sys.getrefcount(value) for name in ("a", "b") for value in namespace[name]])
    assert native_steps(out) > 500
    assert outs[0] == outs[1] == "11681.25 44925.0 [1.5625, 1.8125] [0.25, 1.25]\n"
    assert counts[0] == counts[1]
