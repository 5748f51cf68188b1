"""Fuzz lang.parser: whatever the text, parse() returns a Module or raises
PvmSyntaxError (PvmCompileError included), and it always finishes quickly."""

from __future__ import annotations

import ast as pyast
import contextlib
import signal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lang import ast
from lang.parser import parse
from pvm.errors import PvmSyntaxError

TIME_LIMIT = 10  # seconds per parse; generous because CI machines are shared

SAMPLE = '''\
"""A sample program touching most of the grammar."""
import math
from helpers import (clamp, lerp as mix,)

LIMIT = 0x_FF + 0o7 + 0b1 + 1_000 + 2.5e-3 + .5


def fib(n, memo={}):
    if n < 2:
        return n
    elif n in memo:
        return memo[n]
    memo[n] = result = fib(n - 1) + fib(n - 2)
    return result


def outer(a, b=2):
    total = 0
    def inner(x):
        nonlocal total
        total += x ** 2 if x > 0 else -x
        return total
    for i, (j, *rest) in enumerate([(1, 2, 3), (4, 5)]):
        while i < 3:
            i += 1
            if not i % 2 and i != 2 or i is None:
                continue
            break
        else:
            pass
    return [inner(v) for v in range(a) if v % 2 for w in (v,)], {k: v for k, v in zip("ab", (1, 2))}


data = {"key": [1, 2, {3, 4}], **{}}
xs = [*range(3), *[4]]
del xs[0], data["key"]
assert len(xs) == 3, f"got {len(xs)!r:>{4}} items; {LIMIT=}"
s = 'single' "double" r'raw\\n' """triple
quoted""" f'{s!s}' + '\\N{BULLET} \\x41 \\u00e9'
t = xs[1:2], xs[::-1], xs[:], (lambda q, r=1: q << r | q >> r & ~q ^ r)(1)
print(s, t, sep=", ", end="\\n")
global LIMIT; LIMIT -= 1
'''


@contextlib.contextmanager
def time_limit(seconds: int):
    """Fail (rather than hang) if the block runs longer than ``seconds``."""
    def on_alarm(signum, frame):
        raise TimeoutError(f"parse took more than {seconds} s")
    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def check(source: str) -> None:
    """Parse must succeed or raise a PvmSyntaxError that points into the file."""
    with time_limit(TIME_LIMIT):
        try:
            module = parse(source, "fuzz.src")
        except PvmSyntaxError as err:
            assert isinstance(err.message, str) and err.message
            assert "internal parser error" not in err.message
            assert err.line >= 1 and err.col >= 0
            assert err.filename == "fuzz.src"
            assert isinstance(err.source_line, str) and "\n" not in err.source_line
            err.render()
            return
    assert isinstance(module, ast.Module)


FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_sample_program_parses():
    module = parse(SAMPLE, "sample.src")
    assert [type(s).__name__ for s in module.body] == [
        {"Expr": "ExprStmt"}.get(type(s).__name__, type(s).__name__) for s in pyast.parse(SAMPLE).body]


@FUZZ
@given(st.text())
def test_random_text(source):
    check(source)


_FRAGMENTS = list("()[]{}:;,.=+-*/%<>!'\"\\#@ \t\n\rabcfrx019_") + [
    "if ", "def ", "\n    ", "lambda ", "not ", "f'{", "'''", "for ", " in "]


@FUZZ
@given(st.lists(st.sampled_from(_FRAGMENTS)).map("".join))
def test_random_python_like_text(source):
    check(source)


@FUZZ
@given(st.binary(max_size=300), st.sampled_from(["latin-1", "surrogateescape"]))
def test_random_bytes_decoded(data, how):
    source = data.decode("latin-1") if how == "latin-1" else data.decode("utf-8", "surrogateescape")
    check(source)


@FUZZ
@given(st.integers(min_value=0, max_value=len(SAMPLE)))
def test_truncations_of_a_valid_program(cut):
    check(SAMPLE[:cut])


@FUZZ
@given(st.lists(st.tuples(st.integers(0, len(SAMPLE) - 1), st.integers(0, 2), st.characters()),
                min_size=1, max_size=4))
def test_mutations_of_a_valid_program(edits):
    source = SAMPLE
    for position, action, char in edits:
        position %= len(source) or 1
        if action == 0:
            source = source[:position] + source[position + 1:]
        elif action == 1:
            source = source[:position] + char + source[position:]
        else:
            source = source[:position] + char + source[position + 1:]
    check(source)


@FUZZ
@given(st.lists(st.integers(0, len(SAMPLE.encode()) - 1), min_size=1, max_size=4), st.binary(min_size=4, max_size=4))
def test_byte_mutations_of_a_valid_program(positions, noise):
    data = bytearray(SAMPLE.encode())
    for position, byte in zip(positions, noise):
        data[position] = byte
    check(data.decode("utf-8", "surrogateescape"))


PATHOLOGICAL = {
    "open_parens": "(" * 100000,
    "open_brackets": "[" * 100000,
    "open_braces": "{" * 100000,
    "nots": "not " * 100000,
    "minuses": "-" * 100000 + "1",
    "tildes_and_pluses": "~+" * 50000 + "1",
    "closers": ")" * 100000,
    "balanced_too_deep": "(" * 1000 + ")" * 1000,
    "left_chain": "+".join(["1"] * 10000),
    "attribute_chain": "a" + ".b" * 10000,
    "call_chain": "f" + "()" * 10000,
    "subscript_chain": "a" + "[0]" * 10000,
    "power_chain": "**".join(["2"] * 5000),
    "lambdas": "lambda: " * 5000 + "1",
    "conditionals": "1 if 1 else " * 5000 + "1",
    "comparisons": " < ".join(["a"] * 10000),
    "indentation": "".join(" " * i + "if 1:\n" for i in range(500)) + " " * 500 + "pass\n",
    "tab_indentation": "".join("\t" * i + "while 1:\n" for i in range(200)),
    "fstring_nesting": "f'{" * 100 + "x" + "}'" * 100,
    "fstring_brackets": "f'{" + "(" * 1000 + "}'",
    "huge_int": "x = 1" + "0" * 100000,
    "huge_float": "x = 1." + "5" * 100000 + "e999999",
    "huge_string": "x = '" + "a" * 200000 + "'",
    "unterminated_triple": "x = '''" + "a\n" * 50000,
    "many_strings": "x = " + "'a' " * 20000,
    "many_statements": "x = 1\n" * 5000,
    "nul_bytes": "\0" * 1000,
    "surrogates": "\ud800\udfff" * 1000,
    "only_newlines": "\n" * 100000,
    "only_spaces": " " * 100000,
    "backslashes": "\\\n" * 10000,
    "dedent_storm": "if 1:\n" + "".join("    " * i + "if 1:\n" for i in range(1, 90)) + "pass\n",
}


@pytest.mark.parametrize("name", sorted(PATHOLOGICAL))
def test_pathological_input_finishes_with_a_clean_result(name):
    check(PATHOLOGICAL[name])


def test_nesting_limit_errors_are_syntax_errors():
    for source in ("(" * 100000, "[" * 100000, "not " * 100000, "-" * 100000 + "1"):
        with time_limit(TIME_LIMIT), pytest.raises(PvmSyntaxError) as info:
            parse(source, "t")
        assert info.value.message in ("too many nested parentheses", "expression is too deeply nested")
