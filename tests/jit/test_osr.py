"""On-stack replacement: loops entered natively at their header with the
frame's live values, and every way of leaving them handing the values back."""


from tests.jit.helpers import both, native_steps


def loops_compiled(outcome) -> list[str]:
    return [v.plan.label for v in outcome.jit.versions if v.plan.mode == "loop"]


def test_every_kind_of_live_value_crosses_the_entry_and_the_exit():
    out = both("""
        def run(xs, label):
            i = 0
            total = 0
            acc = 0.5
            flag = False
            nothing = None
            while i < 2000:
                total += xs[i % 3]
                acc = acc * 1.0001
                flag = not flag
                nothing = None
                i += 1
            last = i
            print(label, i, total, acc, flag, nothing, last, xs)
        run([1, 2, 3], "text stays opaque")
    """, loop_threshold=100, call_threshold=100)
    assert loops_compiled(out) == ["run@8"]
    assert native_steps(out) > 1000


def test_locals_unbound_at_entry_and_deleted_in_the_loop():
    both("""
        def run(n):
            i = 0
            while i < n:
                if i > 5:
                    late = i * 2
                if i == 50:
                    del late
                i += 1
            return late
        print(run(40), run(100))
    """, loop_threshold=10, call_threshold=1000)


def test_break_else_return_and_exhaustion_exits():
    both("""
        def search(limit, stop):
            for i in range(limit):
                if i == stop:
                    return i * 10
                if i * i > 5000:
                    break
            else:
                return -1
            return i
        print(search(10, 100), search(1000, 100), search(1000, 20), search(0, 1))
        def spin(n):
            k = 0
            while k < n:
                k += 3
            else:
                k = -k
            return k
        print(spin(10), spin(1000))
    """, loop_threshold=1, call_threshold=1000)


def test_inner_loop_entry_runs_the_whole_nest():
    out = both("""
        def nest(n):
            total = 0
            for a in range(n):
                for b in range(a):
                    for c in range(b, a):
                        total += a * b - c
                total -= a
            return total
        print(nest(40))
    """, loop_threshold=50, call_threshold=1000)
    versions = [v for v in out.jit.versions if v.plan.mode == "loop"]
    assert len(versions) == 1
    plan = versions[0].plan
    assert plan.entry != plan.start and len(plan.initial) >= 2   # entered at an inner loop: the iterators around it


def test_side_exit_to_an_instruction_native_code_does_not_run():
    out = both("""
        def rows(n):
            out = []
            for i in range(n):
                s = 0
                for j in range(100):
                    s += i ^ j
                out.insert(len(out), s)
            return out
        print(sum(rows(60)))
    """, loop_threshold=100, call_threshold=1000)
    loops = [v for v in out.jit.versions if v.plan.mode == "loop"]
    assert loops and sum(v.stats.side_exits for v in loops) > 10


def test_module_level_loops_keep_globals_in_registers():
    out = both("""
        import math
        total = 0
        acc = 0.0
        for i in range(3000):
            for j in range(20):
                total += (i * j) % 7
            acc += math.sqrt(i)
        k = 0
        while k < 5000:
            k += 1
        print(total, acc, k, i, j)
    """, loop_threshold=100)
    assert any(label.startswith("<module>") for label in loops_compiled(out))


def test_global_first_assigned_in_the_loop_and_read_after():
    both("""
        n = 0
        while n < 1000:
            n += 1
            if n == 500:
                fresh = n * 2
        print(n, fresh)
    """, loop_threshold=10)


def test_functions_reading_a_global_the_loop_assigns_stay_correct():
    out = both("""
        count = 0
        def peek():
            return count * 2
        seen = 0
        for i in range(300):
            count += 1
            seen += peek()
        print(count, seen)
    """, loop_threshold=10)
    assert out.stdout == f"300 {sum(2 * c for c in range(1, 301))}\n"


def test_overflow_mid_loop_resumes_with_big_ints():
    out = both("""
        x = 3
        steps = 0
        while steps < 200:
            x = x * x % 1000000007 + x * 2
            steps += 1
        print(x % 1000, steps)
        y = 1
        for i in range(100):
            y = y * 7
        print(y)
    """, loop_threshold=5)
    assert out.stdout.splitlines()[1] == str(7 ** 100)


def test_loop_over_a_list_runs_natively_and_over_a_string_is_left_to_tier0():
    out = both("""
        total = 0
        for x in [1, 2, 3] * 100:
            total += x
        print(total)
    """, loop_threshold=1)
    assert loops_compiled(out) == ["<module>@3"]
    out = both("""
        total = 0
        for x in "abc" * 100:
            total += len(x)
        print(total)
    """, loop_threshold=1)
    assert not loops_compiled(out)


def test_an_iterator_a_local_also_holds_is_moved_on_where_the_loop_dropped_it():
    out = both("""
        def run(n):
            it = iter(range(n))
            total = 0
            for x in it:
                total += x
                if x == 500:
                    break
            return total, next(it)
        print(run(1000))
        def nested(n):
            outer = iter(range(n))
            inner = iter(range(n))
            total = 0
            for i in outer:
                for j in inner:
                    total += j
                    if j == i + 40:
                        break
                if i == 30:
                    break
            return total, next(outer), next(inner)
        print(nested(2000))
        it = iter(range(100))
        firsts = [x for x in it if x < 50]
        print(firsts[-1], list(it))
    """, loop_threshold=10)
    assert len([v for v in out.jit.versions if v.plan.mode == "loop"]) >= 2


def test_a_loop_over_a_list_of_objects_is_refused_not_compiled_to_deoptimise():
    out = both("""
        class Item:
            def __init__(self, n):
                self.n = n
        def run(items, k):
            total = 0
            for item in items:                 # native code would guess ints and exit at the first item
                total += item.n * k
            return total
        items = [Item(i) for i in range(400)]
        print(run(items, 2), run([], 3), run(items, 1))
    """, loop_threshold=100, call_threshold=100)
    assert loops_compiled(out) == []
    assert any("over a list of values native code does not take" in reason
               for reason in out.jit.refusals.values())


def test_a_hot_loop_whose_every_iteration_exits_is_refused_even_inside_a_loop_that_iterates():
    out = both("""
        def f(xs, n):
            total = 0
            while n > 0:
                k = len(xs)
                while k:                        # hot: every iteration meets a method native code leaves
                    xs.reverse()
                    total += xs[0]
                    k -= 1
                n -= 1
            return total
        print(f(list(range(20)), 300))
    """, loop_threshold=100, call_threshold=100)
    assert loops_compiled(out) == []
    assert any(reason.startswith("the loop body always exits") for reason in out.jit.refusals.values())


def test_a_loop_left_to_tier0_does_not_take_the_native_loop_after_it_with_it():
    # translated code never enters native code at a loop header: the activation must not go on
    # translated from the first loop's header (nbody's advance, called again, ran its hot loop in tier 0)
    out = both("""
        def run(items, n):
            pairs = []
            for item in items:                 # refused: native code builds no tuples
                pairs.append((item, item))
            total = 0
            i = 0
            while i < n:
                total += i % 7
                i += 1
            return total, len(pairs)
        for _ in range(3):
            print(run([1, 2, 3], 3000))
    """, loop_threshold=100, call_threshold=100)
    assert loops_compiled(out) == ["run@8"]
    assert native_steps(out) > 2 * 3000


def test_a_loop_around_an_inner_loop_that_never_iterates_natively_is_refused():
    out = both("""
        class Camera:
            def ray(self, x):
                return x * 2
        def render(camera, n):
            total = 0
            for x in range(n):
                for s in range(2):          # every iteration calls a method: it never iterates natively
                    total += camera.ray(x + s)
            return total
        def count(camera, n):
            total = 0
            for x in range(n):
                if x < 0:
                    for s in range(2):      # never entered: the loop around it runs natively
                        total += camera.ray(s)
                total += x
            return total
        camera = Camera()
        print(render(camera, 300), count(camera, 3000))
    """, loop_threshold=100, call_threshold=100)
    assert loops_compiled(out) == ["count@13"]
    assert any("an inner loop never iterates" in reason for reason in out.jit.refusals.values())
