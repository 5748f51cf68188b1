"""Lists of lists and of tuples, iteration over lists and tuple unpacking
in native code: every element is checked as it is read, so any shape the
speculation did not foresee leaves to tier 0 at that very instruction."""


from pvm.jit.kinds import Kind, ListOf, TupleOf, kind_of
from tests.jit.helpers import both, native_steps


def test_kinds_of_nested_lists_and_tuples():
    assert kind_of([[1.0]]) == ListOf(Kind.LIST_FLOAT)
    assert kind_of([([1], 2.5)]) == ListOf(TupleOf((Kind.LIST_INT, Kind.FLOAT)))
    assert kind_of((1, True)) == TupleOf((Kind.INT, Kind.BOOL))
    assert kind_of([("text", 1)]) is None and kind_of([[[[1]]]]) is None and kind_of(()) is None


def test_an_nbody_step_runs_natively():
    out = both("""
        def advance(bodies, pairs, dt, steps):
            for _ in range(steps):
                for b, c in pairs:
                    dx = b[0] - c[0]
                    b[1] -= dx * dt
                    c[1] += dx * dt
                for b in bodies:
                    b[0] += dt * b[1]
        bodies = [[1.0, 0.5], [2.0, 0.25], [0.5, 0.0]]
        pairs = [(bodies[0], bodies[1]), (bodies[0], bodies[2]), (bodies[1], bodies[2])]
        advance(bodies, pairs, 0.01, 3000)
        print(bodies)
    """)
    assert native_steps(out) > 3000


def test_iteration_over_lists_of_numbers_and_functions_reading_nested_lists():
    out = both("""
        def total(rows):
            s = 0.0
            for row in rows:
                for x in row:
                    s += x
            return s
        def pick(points, k):
            x, y = points[k]
            return x * y
        rows = [[i * 0.5 for i in range(20)] for _ in range(30)]
        print(total(rows), sum(pick([(i, i + 1) for i in range(10)], k) for k in range(10)))
        for _ in range(100):
            total(rows)
    """, call_threshold=5)
    assert [v for v in out.jit.versions if v.plan.mode == "function"]


def test_a_shape_the_speculation_missed_leaves_at_that_element():
    both("""
        def run(rows):
            s = 0
            for row in rows:
                for x in row:
                    s += x
            return s
        rows = [[1, 2, 3] for _ in range(200)]
        rows[150] = [1, 2.5, 3]          # a float in a list of ints
        rows[170] = (4, 5)               # a tuple in a list of lists
        rows.append([2 ** 70])           # an int past int64
        print(run(rows))
        pairs = [(1, 2)] * 100 + [(1, 2, 3)]
        try:
            for a, b in pairs:
                pass
        except ValueError as e:
            print("ValueError", e)
    """)


def test_a_list_iterator_shared_with_a_local_is_moved_on():
    both("""
        def run(xs):
            it = iter(xs)
            first = 0.0
            for x in it:
                first += x
                if x > 50:
                    break
            return first, next(it), len(list(it))
        print(run([i * 1.5 for i in range(100)]))
    """, loop_threshold=5)


def test_a_list_that_grows_while_iterated_is_followed():
    both("""
        def run(n):
            xs = [1, 2, 3]
            for x in xs:
                if len(xs) < n:
                    xs.append(x + 1)
            return len(xs), sum(xs)
        print(run(5000))
    """)


def test_stores_of_lists_and_tuples_are_left_to_tier_0():
    both("""
        def shuffle(pairs, rows):
            for i in range(1, len(pairs)):
                pairs[i] = pairs[i - 1]        # a tuple into a list of tuples
                rows[i] = rows[0]              # a list into a list of lists
            return pairs[-1], rows[-1] is rows[0]
        print(shuffle([(i, 2.0) for i in range(300)], [[i] for i in range(300)]))
    """)


def test_a_tuple_native_code_cannot_take_is_refused_as_an_argument():
    out = both("""
        def first(pair):
            a, b = pair
            return b
        for _ in range(3):
            print(first(("text", 1)), first((1.5, 2)))
    """)
    assert any("first(?)" in label for label in out.jit.refusals)
    assert [v.plan.label for v in out.jit.versions] == ["first(tuple[float, int])"]
