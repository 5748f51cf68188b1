"""The hostile-script suite: every script in hostile/ must end with exactly the
outcome its first line names, and leave the host unharmed.

First line of each script::

    # expect: LimitExceeded KIND            a limit ended the run (KIND: steps, memory, ...)
    # expect: ScriptError Type: message     the script raised (message may end with "...": a prefix)
    # expect: PvmSyntaxError message        refused at compile time
    # expect: ok OUTPUT                     ran to completion and printed OUTPUT

optionally followed by ``# limits: max_steps=N timeout=S ...`` (changes to the
suite's limits) and ``# tiers: off eager`` (run in tier 0 and with the JIT
compiling everything at first use).

Unharmed means: nothing written to the working directory, no module imported
into the host, resident memory grew by a bounded amount, the run took a
bounded time, and both this VM and a new one still work afterwards.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from pathlib import Path

import pytest

import pvm
from pvm.costs import MAX_PIPELINE_DEPTH
from pvm.sandbox import LIMIT_ERRORS, LimitExceeded, Limits

HOSTILE = Path(__file__).parent / "hostile"
SCRIPTS = sorted(HOSTILE.glob("*.src"))
SUITE_LIMITS = Limits(max_steps=2_000_000, max_memory=16 << 20, max_depth=200, timeout=5.0,
                      max_output=64 << 10)
MAX_SECONDS = 10.0
MAX_RSS_GROWTH = 400 << 20     # bytes; the heap limit is 16 MiB of pvm's size model


def header(path: Path) -> dict[str, str]:
    """The ``# key: value`` lines that open a script."""
    fields = {}
    for line in path.read_text().splitlines():
        if not line.startswith("# ") or ": " not in line:
            break
        key, _, value = line[2:].partition(": ")
        fields[key] = value
    assert "expect" in fields, f"{path.name}: no expectation line"
    return fields


def expectation(path: Path) -> tuple[str, str, Limits]:
    """(outcome kind, its detail, the limits to run under) from the script's header."""
    fields = header(path)
    kind, _, detail = fields["expect"].partition(" ")
    limits = SUITE_LIMITS
    if "limits" in fields:
        changes = dict(item.split("=") for item in fields["limits"].split())
        limits = limits.replace(**{key: None if value == "None" else float(value) if key == "timeout"
                                   else int(value) for key, value in changes.items()})
    return kind, detail, limits


# Each script runs in tier 0; those with a "# tiers: off eager" line also with every function and loop compiled.
CASES = [(path, tier) for path in SCRIPTS for tier in header(path).get("tiers", "off").split()]


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@pytest.fixture(scope="module", autouse=True)
def warm_up() -> None:
    """Load what a first run loads (parser tables, stdlib) before modules are compared."""
    vm = pvm.VM(SUITE_LIMITS, stdout=lambda text: None)
    vm.run("import math\nprint(math.sqrt(4), '{0}'.format(1), f'{1:3}', sorted([2, 1]))\n")
    jit = pvm.VM(SUITE_LIMITS, jit="eager")
    jit.run("def f(n):\n    i = 0\n    while i < n:\n        i += 1\n    return i\nf(10)\n")


def test_the_suite_is_big_enough() -> None:
    assert len(SCRIPTS) >= 60


@pytest.mark.parametrize("path, tier", CASES, ids=[f"{path.stem}-{tier}" if tier != "off" else path.stem
                                                   for path, tier in CASES])
def test_hostile_script(path: Path, tier: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kind, detail, limits = expectation(path)
    monkeypatch.chdir(tmp_path)
    out: list[str] = []
    vm = pvm.VM(limits, stdout=out.append, jit=tier)
    vm.expose("twice", lambda value: value * 2)
    modules = set(sys.modules)
    rss = _peak_rss()
    start = time.monotonic()
    error: BaseException | None = None
    try:
        vm.run_file(path)
    except pvm.PvmError as caught:
        error = caught
    elapsed = time.monotonic() - start

    if kind == "LimitExceeded":
        assert isinstance(error, LimitExceeded), f"expected a {detail} limit, got {error!r}"
        assert error.kind == detail and type(error) is LIMIT_ERRORS[detail]
        configured = {"steps": limits.max_steps, "memory": limits.max_memory, "depth": limits.max_depth,
                      "time": limits.timeout, "output": limits.max_output}[detail]
        if error.detail:      # refused for what the host cannot survive, not for the configured value
            assert error.limit in (configured, MAX_PIPELINE_DEPTH) or detail == "depth"
        else:
            assert error.limit == configured
            assert error.used is None or error.used > configured
        assert error.traceback and error.traceback[0].filename == str(path)
        if detail == "time":
            assert elapsed < limits.timeout + 1.0
    elif kind == "ScriptError":
        assert isinstance(error, pvm.ScriptError), f"expected {detail}, got {error!r}"
        got = f"{error.type_name}: {error.message}"
        if detail.endswith("..."):
            assert got.startswith(detail[:-3]), got
        else:
            assert got == detail
        assert error.traceback[-1].filename == str(path)
    elif kind == "PvmSyntaxError":
        assert isinstance(error, pvm.PvmSyntaxError), f"expected a syntax error, got {error!r}"
        assert error.message == detail
    else:
        assert kind == "ok"
        assert error is None, f"unexpected {error!r}"
        assert "".join(out).rstrip("\n") == detail

    assert elapsed < MAX_SECONDS
    assert list(tmp_path.iterdir()) == []
    assert set(sys.modules) - modules == set()
    assert _peak_rss() - rss < MAX_RSS_GROWTH
    if not (isinstance(error, LimitExceeded) and error.kind == "memory"):   # else its globals fill the heap
        assert vm.eval("1 + 1") == 2
    assert pvm.VM(SUITE_LIMITS).eval("sum(range(10))") == 45
    assert os.getcwd() == str(tmp_path)
