"""The JIT's machine code in pvm.codecache: a second run of the same program
loads every version instead of compiling it (a loop whose tier-2 code is
there starts at tier 2), runs the same, and a damaged cache file is compiled
again."""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path

from pvm import codecache
from pvm.jit import engine

PROGRAM = """\
def fib(n):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)

total = 0.0
for i in range(1200000):
    total += i * 0.5
print(fib(22), total)
"""
_total = 0.0
for _i in range(1200000):
    _total += _i * 0.5
EXPECTED = f"17711 {_total}\n"


def _run(folder: Path) -> tuple[str, list[str]]:
    env = {name: value for name, value in os.environ.items() if name != "PVM_NO_CACHE"}
    env["XDG_CACHE_HOME"] = str(folder / "home")
    proc = subprocess.run([sys.executable, "-m", "pvm", "run", "--jit-log", "prog.src"], cwd=folder,
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout, [line for line in proc.stderr.splitlines() if "tier" in line]


def test_second_run_loads_machine_code_and_a_damaged_file_is_compiled_again(tmp_path):
    (tmp_path / "prog.src").write_text(PROGRAM)
    first_out, first_log = _run(tmp_path)
    native = tmp_path / "home" / "pvm" / "native"
    files = sorted(native.iterdir())
    assert first_out == EXPECTED and len(first_log) == 2 and files
    assert not any("from the cache" in line for line in first_log)

    second_out, second_log = _run(tmp_path)
    assert second_out == EXPECTED and len(second_log) == 2
    assert all("machine code from the cache" in line for line in second_log), second_log
    (loop,) = [line for line in second_log if "@" in line]
    assert "tier 2" in loop and "1 entries" in loop      # at tier 2 from its first entry
    assert sorted(native.iterdir()) == files

    for path in files:
        data = path.read_bytes()
        path.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    third_out, third_log = _run(tmp_path)
    assert third_out == EXPECTED and not any("from the cache" in line for line in third_log), third_log


def _answer(name: str) -> tuple[bool, int]:
    """A fresh engine compiles a function returning 42: whether from the cache, and what it returns."""
    fresh = engine.Engine()
    triple, layout = fresh.triple_and_layout()
    text = f'target triple = "{triple}"\ntarget datalayout = "{layout}"\ndefine i64 @{name}() {{\n  ret i64 42\n}}\n'
    compiled = fresh.compile(text, [name], 2)
    return compiled.cached, ctypes.CFUNCTYPE(ctypes.c_int64)(compiled.addresses[name])()


def test_an_engine_loads_what_another_compiled_and_without_its_own_source_caches_nothing(tmp_path, monkeypatch):
    codecache.enable(str(tmp_path / "cache"))
    try:
        assert _answer("pvm_test_a") == (False, 42)
        assert _answer("pvm_test_a") == (True, 42)
        monkeypatch.setattr(engine, "__file__", str(tmp_path / "missing.py"))     # the passes cannot be keyed
        assert _answer("pvm_test_b") == (False, 42)
        assert len(list((tmp_path / "cache" / "native").iterdir())) == 1
    finally:
        codecache.disable()
