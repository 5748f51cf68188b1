"""Generated numeric functions and loops: tier 0, the eager JIT and CPython
print the same thing (values, and the error if one is raised)."""

import contextlib
import io

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pvm.sandbox import LimitExceeded, Limits, install
from tests.jit.helpers import run_source

NAMES = ("a", "b", "c", "x", "y")
BINARY = ("+", "-", "*", "/", "//", "%", "&", "|", "^", "<", "<=", "==", "!=", ">", ">=")


@st.composite
def expressions(draw, depth: int = 3) -> str:
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return draw(st.one_of(st.sampled_from(NAMES),
                              st.integers(-20, 2 ** 62).map(str),
                              st.sampled_from(["0.5", "-2.25", "3.0", "1e300", "0.0", "7"])))
    shape = draw(st.integers(0, 7))
    left = draw(expressions(depth - 1))
    right = draw(expressions(depth - 1))
    if shape == 0:
        return f"(-{left})"
    if shape == 1:
        return f"abs({left})"
    if shape == 2:
        return f"{draw(st.sampled_from(['min', 'max']))}({left}, {right})"
    if shape == 3:
        return f"({left} ** {draw(st.integers(0, 3))})"
    if shape == 4:
        return f"({left} {draw(st.sampled_from(['<<', '>>']))} {draw(st.integers(0, 5))})"
    if shape == 5:
        return f"({left} if {right} else {draw(expressions(depth - 1))})"
    return f"({left} {draw(st.sampled_from(BINARY))} {right})"


@st.composite
def programs(draw) -> str:
    lines = ["def f(a, b, c):", "    x = a", "    y = b"]
    for _ in range(draw(st.integers(1, 4))):
        target = draw(st.sampled_from(["x", "y"]))
        kind = draw(st.integers(0, 2))
        if kind == 0:
            lines.append(f"    {target} = {draw(expressions())}")
        elif kind == 1:
            lines += [f"    for i in range({draw(st.integers(0, 25))}):",
                      f"        {target} = {draw(expressions(2))}"]
        else:
            lines += ["    n = 0",
                      f"    while n < {draw(st.integers(0, 25))}:",
                      "        n += 1",
                      f"        if {draw(expressions(1))}:",
                      f"            {target} = {draw(expressions(2))}"]
    lines.append(f"    return {draw(expressions())}")
    args = draw(st.lists(st.tuples(*[st.one_of(st.integers(-9, 2 ** 63), st.floats(-1e6, 1e6))] * 3),
                         min_size=1, max_size=3))
    lines.append(f"for a, b, c in {args!r}:")
    lines.append("    print(f(a, b, c))")
    return "\n".join(lines) + "\n"


def cpython(source: str) -> tuple[str, str]:
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(source, "t.src", "exec"), {"__name__": "__main__"})
    except Exception as error:  # the script's error, to compare with pvm's
        return out.getvalue(), f"{type(error).__name__}: {error}"
    return out.getvalue(), ""


def bounded(source: str) -> bool:
    """Whether the program stays small: a generated loop may cube a number 25
    times over (3 ** 25 times its digits), which no runtime finishes. Tier 0
    under a memory limit and a timeout tells; the runs compared are unlimited."""
    def limit(vm):
        install(vm, Limits.unlimited(max_memory=1 << 20, timeout=10.0))

    try:
        run_source(source, "off", setup=limit)
    except LimitExceeded:
        return False
    return True


def last_line(traceback: str) -> str:
    return traceback.strip().splitlines()[-1] if traceback else ""


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs())
def test_generated_numeric_code_agrees(source: str):
    assume(bounded(source))
    tier0 = run_source(source, "off")
    jit = run_source(source, "eager")
    assert (jit.stdout, jit.error) == (tier0.stdout, tier0.error)
    assert (jit.stdout, last_line(jit.error)) == cpython(source)
