"""Mutation fuzzing of .pvmc files: whatever the damage, pvm either refuses
the file cleanly (InvalidBytecode) or runs it correctly.

Valid files compiled from the seed programs below get bit flips, byte
rewrites, truncations, splices with another seed, and structure-aware
rewrites of operands, opcodes, constants and code fields; the checksum is
then recomputed so that the reader and the verifier are what is tested, not
the CRC. "Runs correctly" means the run ends normally, with a script error,
or is stopped by the harness (time or output limit) because the mutant loops
or prints forever; it never ends in VMInternalError or a host exception.

The interpreter would turn a stack underflow into a plausible-looking script
IndexError, so the harness runs mutants on guarded frames: stacks, locals and
cells that raise a non-script exception (reported as VMInternalError) on any
access the verifier should have made impossible, including growing a stack
past the code's max_stack.

CI runs a bounded number of examples; for a long run set PVM_FUZZ_EXAMPLES:

    PVM_FUZZ_EXAMPLES=20000 /work/venv/bin/pytest -q -s tests/pvm/test_pvmc_fuzz.py

(-s prints the outcome counts at the end).
"""

from __future__ import annotations

import collections
import gc
import os
import resource
import signal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lang import compile_source
from pvm import interp, loader, pvmc
from pvm.code import Code
from pvm.dis import disassemble
from pvm.errors import ScriptError, VMInternalError
from pvm.interp import Interpreter, stdlib_dir
from pvm.opcodes import BINARY_OPERATORS, COMPARE_OPERATORS, OPCODES, Flag, Operand
from pvm.pvmc import InvalidBytecode
from pvm.verify import verify

EXAMPLES = int(os.environ.get("PVM_FUZZ_EXAMPLES", "1000"))
RUN_SECONDS = 0.25          # a mutant that loops is stopped after this long
OUTPUT_LIMIT = 100_000      # characters a mutant may print
MEMORY_HEADROOM = 1 << 30   # address space a mutant may add to the test process

SEED_CORE = """
import math
from math import sqrt as root, pi
counter = 0
def make_adder(n, step=1):
    base = n * step
    def add(x):
        nonlocal base
        base += x
        return base
    return add
def count():
    global counter
    counter += 1
    return counter
add = make_adder(3, step=2)
print(add(1), add(2), count(), root(16.0), math.floor(2.5))
xs = [i * i for i in range(6) if i % 2 == 0]
ds = {k: v for k, v in zip("abc", xs)}
ss = {x % 3 for x in xs}
a, *mid, b = [1, 2, 3, 4]
t = (*mid, *xs)
p, r = divmod(7, 2)
print(xs, sorted(ds.items()), sorted(ss), a, mid, b, t, xs[1:3], xs[::2], xs[-1], p, r)
u = [*xs, 0]
v = {*ss, 9}
w = {**ds, "z": 0}
print(len(u), len(v), len(w), -a, +a, ~a, not a, a is None, a is not None, a in xs, a not in xs)
print(f"{a:>4}|{b!r}|{pi:.2f}|{'s'!s}{'a'!a}")
m = a < b <= 5
q = a and b or None
r = (lambda z, k=1: z + k)(1, k=2)
del xs[0]
lst = [0, 1]
lst[0] = 5
del a
while b > 0:
    b -= 1
    if b == 2:
        continue
    if b == 1:
        break
else:
    pass
for i in range(3):
    pass
else:
    r += 1
assert r == 4, "r"
x = y = 1
x, y = y, x
print(m, q, r, lst, x, y)
def cell_del():
    c = 1
    def g():
        return c
    del c
    return g
def unused(o):
    o.attr = 1
    del o.attr
    del o
print(count())
"""

SEED_CALLS = """
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
words = "the quick brown fox".split()
print(fib(10), sorted(words, key=len), max(words, key=lambda w: w[-1]), "-".join(map(str, range(5))))
print({w: len(w) for w in words}, [c.upper() for c in "abc"], "%d-%s" % (3, "x"), 7 // 2, 7 % 3, 2 ** 8)
def logged(func):
    def wrapper(*args, **kwargs):
        return func(*args, **kwargs)
    return wrapper
@logged
def pack(a, b=2, *rest, k, m=4, **extra):
    return a, b, rest, k, m, extra
print(pack(1, k=3), pack(*words, k=0, **{"z": 1}), pack(0, *[1], k=2, **{"m": 5}, n=6))
"""

SEED_CLASSES = """
class Shape:
    sides = 0
    def __init__(self, name):
        self.name = name
    def __repr__(self):
        return self.name + "/" + str(self.sides)
class Square(Shape):
    sides = 4
    label = sides * 2
    del label
    def __init__(self):
        super().__init__("square")
class Oops(ValueError):
    pass
def risky(n):
    try:
        if n:
            raise Oops("bad", n)
        return 1 // n
    except ZeroDivisionError as e:
        return str(e)
    except (KeyError, Oops):
        raise
    finally:
        print("done", n)
def squares(n):
    total = yield from (i * i for i in range(n))
    yield total
try:
    print(risky(0), Square(), risky(2))
except Oops as e:
    print(e.args, list(squares(3)))
"""

SEED_LEVEL3 = """
\"\"\"Level 3: star imports, with, annotations, docstrings.\"\"\"
from math import *
class Managed:
    \"\"\"A context manager.\"\"\"
    size: int = 2
    def __enter__(self):
        return self
    def __exit__(self, kind, value, tb):
        print("exit", kind)
        return kind is KeyError
def use(n: int) -> float:
    \"\"\"Docstring.\"\"\"
    with Managed() as m, Managed():
        if n:
            raise KeyError(n)
        return sqrt(m.size)
print(use(0), use(1), floor(pi), use.__doc__, Managed.__annotations__)
"""

SEEDS = [compile_source(SEED_CORE, "core.src"), compile_source(SEED_CALLS, "calls.src"),
         compile_source(SEED_CLASSES, "classes.src"), compile_source(SEED_LEVEL3, "level3.src")]
SEED_FILES = [pvmc.dumps(code) for code in SEEDS]
_MATH_PATH = os.path.join(stdlib_dir(), "math.src")
MODULES = {_MATH_PATH: loader.compile_file(_MATH_PATH)}   # mutants import nothing else
OUTCOMES: collections.Counter[str] = collections.Counter()


# --- The guarded harness ---

class StackFault(Exception):
    """An access the verifier should have ruled out (not a script exception)."""


class GuardedList(list):
    """A frame's locals or cells: indexes must be in range."""

    def __getitem__(self, index: Any) -> Any:
        if type(index) is int and not 0 <= index < len(self):
            raise StackFault(f"index {index} of {len(self)}")
        return super().__getitem__(index)

    def __setitem__(self, index: Any, value: Any) -> None:
        if type(index) is int and not 0 <= index < len(self):
            raise StackFault(f"index {index} of {len(self)}")
        super().__setitem__(index, value)


class GuardedStack(list):
    """A value stack: no underflow, no reach below the bottom, no growth past max_stack."""

    limit = 0

    def _check(self, index: Any) -> None:
        if type(index) is int:
            if not -len(self) <= index < len(self):
                raise StackFault(f"stack index {index} at depth {len(self)}")
        elif type(index) is slice and index.start is not None and index.start < -len(self):
            raise StackFault(f"stack slice from {index.start} at depth {len(self)}")

    def __getitem__(self, index: Any) -> Any:
        self._check(index)
        return super().__getitem__(index)

    def __setitem__(self, index: Any, value: Any) -> None:
        self._check(index)
        super().__setitem__(index, value)

    def __delitem__(self, index: Any) -> None:
        self._check(index)
        super().__delitem__(index)

    def pop(self, *index: Any) -> Any:
        if not self:
            raise StackFault("stack underflow")
        return super().pop(*index)

    def append(self, value: Any) -> None:
        if len(self) >= self.limit:
            raise StackFault(f"stack above max_stack {self.limit}")
        super().append(value)

    def extend(self, values: Any) -> None:
        super().extend(values)
        if len(self) > self.limit:
            raise StackFault(f"stack above max_stack {self.limit}")


class Stop(BaseException):
    """The harness stopped a mutant that ran too long or printed too much."""


@pytest.fixture
def guarded(monkeypatch):
    """Guarded frames, a time limit per run and an address-space limit."""
    made = collections.Counter()
    original_init = interp.Frame.__init__
    original_cells = interp.Frame.make_cells
    original_bind = interp.bind_arguments

    def frame_init(self, code, globals_, locals_, back):
        original_init(self, code, globals_, locals_, back)
        if type(self.locals) is not GuardedList:
            self.locals = GuardedList(self.locals)
        self.stack = GuardedStack()
        self.stack.limit = code.max_stack
        made["frames"] += 1

    def make_cells(self, closure, heap):
        original_cells(self, closure, heap)
        self.cells = GuardedList(self.cells)

    monkeypatch.setattr(interp.Frame, "__init__", frame_init)
    monkeypatch.setattr(interp.Frame, "make_cells", make_cells)
    monkeypatch.setattr(interp, "bind_arguments", lambda *args: GuardedList(original_bind(*args)))

    def on_alarm(signum, frame):
        raise Stop("time limit")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    with open("/proc/self/statm") as statm:
        size = int(statm.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (size + MEMORY_HEADROOM, hard))
    try:
        yield made
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        signal.signal(signal.SIGALRM, previous)


def run_guarded(code: Code) -> str:
    """Run verified module code under the harness: its outcome's name."""
    out: list[str] = []
    written = 0

    def write(text: str) -> None:
        nonlocal written
        written += len(text)
        if written > OUTPUT_LIMIT:
            raise Stop("output limit")
        out.append(text)

    vm = Interpreter(write=write, loader=load_math_only, search_path=[stdlib_dir()])
    signal.setitimer(signal.ITIMER_REAL, RUN_SECONDS)
    try:
        vm.run_module(code)
        return "ran"
    except ScriptError as error:
        return f"script error {type(error.exception).__name__}"
    except Stop:
        return "stopped"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        gc.enable()


def check_mutant(data: bytes) -> str:
    """Load, verify and (if accepted) disassemble and run; anything but a
    clean outcome escapes as a test failure."""
    try:
        code, _ = pvmc.loads(data)
        verify(code)
    except InvalidBytecode as error:
        assert isinstance(error.reason, str) and error.reason
        OUTCOMES["rejected"] += 1
        return "rejected"
    disassemble(code)
    outcome = run_guarded(code)
    OUTCOMES[outcome] += 1
    return outcome


# --- Mutations ---

def all_codes(code: Code) -> list[Code]:
    found = [code]
    for const in code.consts:
        if isinstance(const, Code):
            found.extend(all_codes(const))
    return found


def _replace(items: tuple, index: int, value: Any) -> tuple:
    return items[:index] + (value,) + items[index + 1:]


def _table_size(code: Code, index: int) -> int:
    """How many operand values are in range for instruction ``index`` (mutants stay plausible)."""
    return {Operand.CONST: len(code.consts), Operand.LOCAL: len(code.varnames),
            Operand.CELL: len(code.cellvars) + len(code.freevars), Operand.NAME: len(code.names),
            Operand.JUMP: len(code.ops), Operand.BINOP: len(BINARY_OPERATORS),
            Operand.CMPOP: len(COMPARE_OPERATORS)}.get(OPCODES[code.ops[index]].operand, 4)


@st.composite
def structural(draw: st.DrawFn, seed: int) -> bytes:
    """A seed with one code object's operand, opcode, constant or field rewritten."""
    module, _ = pvmc.loads(SEED_FILES[seed])          # fresh objects to mutate in place
    codes = all_codes(module)
    code = draw(st.sampled_from(codes))
    index = draw(st.integers(0, len(code.ops) - 1))
    kind = draw(st.sampled_from(["operand", "operand", "opcode", "const", "field"]))
    if kind == "operand":
        old = code.args[index]
        new = draw(st.sampled_from([0, 1, 2, 3, old - 1, old + 1, 255, 256, 257, 2**31 - 1])
                   | st.integers(0, 300) | st.integers(0, max(_table_size(code, index) - 1, 0)))
        code.args = _replace(code.args, index, max(new, 0))
    elif kind == "opcode":
        code.ops = _replace(code.ops, index, draw(st.integers(0, len(OPCODES) + 1)))
    elif kind == "const" and code.consts:
        slot = draw(st.integers(0, len(code.consts) - 1))
        value = draw(st.sampled_from([None, 0, "x", ("a",), ("a", "a"), (1,), (), *code.consts,
                                      *(c for c in codes if c is not code)]))
        code.consts = _replace(code.consts, slot, value)
    else:
        field = draw(st.sampled_from(["argcount", "kwonlyargcount", "flags", "max_stack", "varnames", "freevars",
                                      "cellvars", "names", "cell_params", "linetable"]))
        value = getattr(code, field)
        if isinstance(value, int):
            setattr(code, field, max(0, value + draw(st.sampled_from([-2, -1, 1, 5]))))
        elif value:
            setattr(code, field, value[:-1])
        else:
            setattr(code, field, ("zz",) if field != "cell_params" else (0,))
    try:
        return pvmc.dumps(module)
    except InvalidBytecode:       # an opcode beyond a byte: nothing to write
        return SEED_FILES[seed]


@st.composite
def mutants(draw: st.DrawFn) -> bytes:
    """A seed file after a structural rewrite, byte-level damage, or both."""
    seed = draw(st.integers(0, len(SEEDS) - 1))
    mode = draw(st.sampled_from(["structural", "structural", "bytes", "both"]))
    data = bytearray(draw(structural(seed)) if mode != "bytes" else SEED_FILES[seed])
    for _ in range(draw(st.integers(1, 3)) if mode != "structural" else 0):
        size = len(data)
        kind = draw(st.sampled_from(["flip", "flip", "byte", "truncate", "splice", "insert", "delete"]))
        pos = draw(st.integers(16 if size > 16 else 0, max(size - 1, 0)))
        if kind == "flip" and size:
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "byte" and size:
            data[pos] = draw(st.sampled_from([0, 1, 2, 0x7F, 0x80, 0xFF]) | st.integers(0, 255))
        elif kind == "truncate":
            del data[pos:]
        elif kind in ("splice", "insert"):
            other = SEED_FILES[draw(st.integers(0, len(SEEDS) - 1))]
            start = draw(st.integers(16, len(other) - 1))
            chunk = other[start:start + draw(st.integers(1, 64))]
            data[pos:pos + (len(chunk) if kind == "splice" else 0)] = chunk
        else:
            del data[pos:pos + draw(st.integers(1, 8))]
    return pvmc.reseal(bytes(data)) if len(data) >= 16 else bytes(data)


def load_math_only(path: str) -> Code:
    if path not in MODULES:
        raise ImportError("a mutant imports only math")
    return MODULES[path]


# --- Tests ---

def test_seeds_cover_every_opcode_and_run(guarded):
    used = {int(op) for seed in SEEDS for code in all_codes(seed) for op in code.ops}
    missing = [info.name for info in OPCODES if info.number not in used and not info.flags & Flag.SUPER]
    assert not missing, f"no seed uses {missing}"
    for data in SEED_FILES:
        assert check_mutant(data) == "ran"
    assert guarded["frames"] > 10          # the harness really ran on guarded frames


def test_the_harness_catches_what_the_verifier_prevents(guarded):
    """Unverified bad code must fail the harness, or the fuzz test proves nothing."""
    code = compile_source("x = 1\nprint(x)\n", "bad.src")
    underflow = Code(**{**{f: getattr(code, f) for f in ("name", "qualname", "filename", "firstlineno",
                                                         "argcount", "varnames", "cellvars", "freevars",
                                                         "cell_params", "names", "consts", "linetable")},
                        "ops": (OPCODES[0].number, *code.ops), "args": (0, *code.args), "max_stack": 4})
    with pytest.raises(InvalidBytecode):
        verify(underflow)
    with pytest.raises(VMInternalError, match="stack underflow"):
        run_guarded(underflow)


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                 HealthCheck.function_scoped_fixture])
@given(data=mutants())
def test_mutated_files_are_rejected_cleanly_or_run(guarded, data):
    check_mutant(data)


def test_report_outcomes():
    """Prints what the fuzz run saw (use -s); fails if it saw nothing."""
    if not OUTCOMES:
        pytest.skip("run together with the fuzz test")
    print(f"\nfuzz outcomes over {sum(OUTCOMES.values())} files: {dict(OUTCOMES.most_common())}")
    assert OUTCOMES["rejected"] > 0
