"""The .pvmc format, ``pvm compile`` and the import cache: round trips of the
whole program corpus, bit-exact constants, reproducible output, header
checks that say what to do, and a cache that is used, invalidated and
repaired."""

from __future__ import annotations

import math
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest

import pvm
from lang import compile_source
from pvm import loader, pvmc
from pvm.code import Code
from pvm.errors import ScriptError
from pvm.interp import Interpreter, script_search_path
from pvm.opcodes import Op
from pvm.pvmc import InvalidBytecode
from pvm.report import format_script_error
from pvm.verify import verify

ROOT = Path(__file__).resolve().parents[2]
PROGRAMS_DIR = ROOT / "tests" / "programs"
PROGRAMS = sorted(p for p in PROGRAMS_DIR.glob("*/*.src")
                  if p.parent.name != "compile_errors" and not p.name.startswith("helper_"))

Loader = Callable[[str], Code]


def pvm_cmd(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pvm", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})


def roundtrip(code: Code) -> Code:
    """Through the format and the verifier, as a loaded file would go."""
    data = pvmc.dumps(code)
    loaded, _ = pvmc.loads(data)
    verify(loaded)
    assert pvmc.dumps(loaded) == data
    return loaded


def source_loader(transform: Callable[[Code], Code]) -> Loader:
    """An import loader that compiles NAME.src and passes the code through ``transform``."""
    def load(path: str) -> Code:
        return transform(loader.compile_file(path))
    return load


def run_in_process(code: Code, path: str, load: Loader) -> tuple[str, str]:
    """(stdout, rendered script error or '') of running module ``code``."""
    out: list[str] = []
    vm = Interpreter(write=out.append, loader=load, search_path=script_search_path(path))
    try:
        vm.run_module(code, origin=path)
    except ScriptError as error:
        return "".join(out), format_script_error(error)
    return "".join(out), ""


def fields(value: Any) -> Any:
    """A comparable form of a constant or code object (floats by bit pattern)."""
    if isinstance(value, Code):
        return ("code", value.name, value.qualname, value.filename, value.firstlineno, value.argcount,
                value.varnames, value.cellvars, value.freevars, value.cell_params, value.names,
                tuple(fields(c) for c in value.consts), tuple(map(int, value.ops)), value.args,
                value.linetable, value.max_stack, value.flags, value.kwonlyargcount)
    if isinstance(value, tuple):
        return ("tuple", tuple(fields(item) for item in value))
    if isinstance(value, float):
        return ("float", struct.pack("<d", value))
    return (type(value).__name__, value)


# --- Round trips ---

def test_corpus_is_found():
    assert len(PROGRAMS) >= 100


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda p: p.relative_to(PROGRAMS_DIR).with_suffix("").as_posix())
def test_program_round_trip_runs_the_same(path: Path, monkeypatch):
    monkeypatch.chdir(path.parent)    # tracebacks read source lines by the file name as given
    code = loader.compile_file(path.name)
    loaded = roundtrip(code)
    assert fields(loaded) == fields(code)
    direct = run_in_process(code, path.name, source_loader(lambda c: c))
    through_file = run_in_process(loaded, path.name, source_loader(roundtrip))
    assert through_file == direct


def test_constants_round_trip_bit_exact():
    nan_payload = struct.unpack("<d", struct.pack("<Q", 0x7FF8_0000_DEAD_BEEF))[0]
    consts = (None, True, False, Ellipsis, 0, 1, -1, 127, 128, -128, -129, 2**63, -2**63 - 1, 10**400,
              -(10**400), 0.0, -0.0, math.inf, -math.inf, math.nan, nan_payload, 5e-324, 1.7976931348623157e308,
              "", "ascii", "é€𝄞", "\x00\n", "\ud800 lone \udfff", (), (1, ("a", (None, 2.5)), ()),
              compile_source("def f(a=1):\n    return a\n", "c.src"))
    code = Code(name="<module>", qualname="<module>", filename="c.src", firstlineno=1, argcount=0,
                varnames=(), cellvars=(), freevars=(), cell_params=(), names=(), consts=consts,
                ops=(Op.LOAD_CONST, Op.RETURN_VALUE), args=(0, 0), linetable=((0, 1),), max_stack=1)
    loaded, _ = pvmc.loads(pvmc.dumps(code))
    assert fields(loaded) == fields(code)      # floats compared by bit pattern: -0.0 and NaN payloads too
    assert [type(c) for c in loaded.consts] == [type(c) for c in consts]


def test_dumps_is_deterministic_and_records_the_source():
    source = b"x = {1, 2}\nprint(x)\n"
    code = compile_source(source.decode(), "p.src")
    data = pvmc.dumps(code, source)
    assert data == pvmc.dumps(compile_source(source.decode(), "p.src"), source)
    header, _ = pvmc.read_header(data)
    assert header.source_sha256 == pvmc.source_digest(source)
    assert header.pvm_version == pvm.__version__ and header.format_version == pvmc.FORMAT_VERSION
    assert data.startswith(pvmc.MAGIC)


def test_compile_is_reproducible_across_processes_and_hash_seeds(tmp_path):
    """Set and dict orders of the host must not leak into the bytes."""
    sources = [p for p in PROGRAMS if p.parent.name in ("closures", "scope", "comprehensions", "sets")][:12]
    script = ("import sys\nfrom pvm import loader\n"
              "for src, out in zip(sys.argv[1::2], sys.argv[2::2]):\n    loader.compile_to(src, out)\n")
    outputs = {}
    for seed in ("1", "2"):
        args = []
        for src in sources:
            args += [str(src), str(tmp_path / f"{src.parent.name}-{src.stem}.{seed}.pvmc")]
        result = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True,
                                env={**os.environ, "PYTHONHASHSEED": seed}, timeout=120)
        assert result.returncode == 0, result.stderr
        outputs[seed] = [Path(path).read_bytes() for path in args[1::2]]
    assert len(sources) >= 4
    assert outputs["1"] == outputs["2"]


# --- Header checks ---

def _valid_file() -> bytes:
    return pvmc.dumps(compile_source("print('hi')\n", "h.src"), b"print('hi')\n")


@pytest.mark.parametrize("damage, fragment", [
    (lambda d: b"#!/bin/sh" + d[9:], "bad magic number"),
    (lambda d: d[:8] + struct.pack("<H", pvmc.FORMAT_VERSION + 1) + d[10:], "format version"),
    (lambda d: d[:-1] + bytes([d[-1] ^ 1]), "checksum mismatch"),
    (lambda d: d[:30], "truncated header"),
    (lambda d: d[:5], "truncated header"),
    (lambda d: b"", "bad magic number"),
    (lambda d: pvmc.reseal(d[:16] + b"\0\0\0\0" + d[20:]), "different opcode table"),
    (lambda d: pvmc.reseal(d[:53] + b"9" + d[54:]), "compiled by pvm 9"),
    (lambda d: pvmc.reseal(d[:-3]), "bytes left"),
    (lambda d: pvmc.reseal(d + b"\0"), "unexpected bytes"),
    (lambda d: pvmc.reseal(d[:10] + b"\1\0" + d[12:]), "unknown header flags"),
])
def test_bad_files_are_refused_with_a_reason(damage, fragment):
    with pytest.raises(InvalidBytecode) as info:
        pvmc.loads(damage(_valid_file()))
    assert fragment in info.value.reason


def test_cli_refusals_say_to_recompile(tmp_path):
    good = _valid_file()
    cases = {"magic.pvmc": b"not pvm at all", "version.pvmc": good[:8] + b"\x63\x00" + good[10:],
             "crc.pvmc": good[:-1] + b"\xff", "pvmver.pvmc": pvmc.reseal(good[:53] + b"7" + good[54:])}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        result = pvm_cmd("run", name, cwd=tmp_path)
        assert result.returncode == 2
        assert result.stdout == ""
        assert result.stderr.startswith(f"pvm: invalid bytecode in {name}: ")
        assert "recompile" in result.stderr and "Traceback" not in result.stderr


def test_code_that_fails_verification_is_refused_by_the_cli(tmp_path):
    code = compile_source("print(1)\n", "v.src")
    bad = Code(**{**{f: getattr(code, f) for f in Code.FIELDS}, "max_stack": 1})
    (tmp_path / "v.pvmc").write_bytes(pvmc.dumps(bad))
    result = pvm_cmd("run", "v.pvmc", cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == ("pvm: invalid bytecode in v.pvmc: <module>: instruction 1 (LOAD_CONST 0): "
                             "stack depth 2 exceeds max_stack 1\n")


# --- pvm compile / run / dis / check ---

PROGRAM = """import helper_lib
def area(w, h=2):
    return helper_lib.scale * w * h
print(area(3), area(h=4, w=1))
print(f"{area(1):>6.2f}|")
print(area(1, 2, 3))
"""


def test_compile_run_dis_check_match_the_source(tmp_path):
    (tmp_path / "prog.src").write_text(PROGRAM)
    (tmp_path / "helper_lib.src").write_text("scale = 1.5\n")
    result = pvm_cmd("compile", "prog.src", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout == result.stderr == ""
    assert (tmp_path / "prog.pvmc").read_bytes().startswith(pvmc.MAGIC)
    from_source = pvm_cmd("run", "prog.src", cwd=tmp_path)
    from_file = pvm_cmd("run", "prog.pvmc", cwd=tmp_path)
    assert from_source.returncode == from_file.returncode == 1
    assert from_file.stdout == from_source.stdout == "9.0 6.0\n  3.00|\n"
    assert from_file.stderr == from_source.stderr
    assert "TypeError: area() takes from 1 to 2 positional arguments but 3 were given" in from_file.stderr
    assert pvm_cmd("dis", "prog.pvmc", cwd=tmp_path).stdout == pvm_cmd("dis", "prog.src", cwd=tmp_path).stdout
    assert pvm_cmd("check", "prog.pvmc", cwd=tmp_path).returncode == 0


def test_compile_output_option_and_magic_detection(tmp_path):
    (tmp_path / "p.src").write_text("print('ok')\n")
    assert pvm_cmd("compile", "p.src", "-o", "out/bin", cwd=tmp_path).returncode == 2   # no such folder
    (tmp_path / "out").mkdir()
    assert pvm_cmd("compile", "p.src", "-o", "out/bin", cwd=tmp_path).returncode == 0
    first = (tmp_path / "out" / "bin").read_bytes()
    result = pvm_cmd("run", "out/bin", cwd=tmp_path)     # no .pvmc suffix: found by its magic number
    assert result.returncode == 0 and result.stdout == "ok\n"
    assert pvm_cmd("compile", "p.src", "-o", "out/bin", cwd=tmp_path).returncode == 0
    assert (tmp_path / "out" / "bin").read_bytes() == first
    assert sorted(os.listdir(tmp_path / "out")) == ["bin"]     # no temporary file left behind


def test_compile_reports_syntax_errors(tmp_path):
    (tmp_path / "bad.src").write_text("x = (\n")
    result = pvm_cmd("compile", "bad.src", cwd=tmp_path)
    assert result.returncode == 2 and result.stderr.startswith("bad.src:")
    assert not (tmp_path / "bad.pvmc").exists()


# --- The import cache ---

def _write_module(folder: Path, text: str) -> Path:
    path = folder / "mod.src"
    path.write_text(text)
    return path


def test_cache_is_written_then_used(tmp_path, monkeypatch):
    monkeypatch.delenv("PVM_NO_CACHE", raising=False)
    path = _write_module(tmp_path, "value = 41 + 1\n")
    code = loader.load_source_module(str(path))
    cached = Path(loader.cache_path(str(path)))
    assert code.filename == str(path) and cached.parent.name == "__pycache__" and cached.exists()
    header, _ = pvmc.read_header(cached.read_bytes())
    assert header.source_sha256 == pvmc.source_digest(path.read_bytes())

    def no_compiler(source: str, filename: str) -> Code:
        raise AssertionError("the cache was not used")

    import lang
    monkeypatch.setattr(lang, "compile_source", no_compiler)
    again = loader.load_source_module(str(path))
    assert fields(again) == fields(code)


def test_cache_is_invalidated_by_a_source_change(tmp_path, monkeypatch):
    monkeypatch.delenv("PVM_NO_CACHE", raising=False)
    path = _write_module(tmp_path, "value = 1\n")
    loader.load_source_module(str(path))
    stat = path.stat()
    path.write_text("value = 2\n")       # same size; the mtime may not even change
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    code = loader.load_source_module(str(path))
    assert 2 in code.consts and 1 not in code.consts


def test_damaged_or_foreign_cache_is_recompiled_and_repaired(tmp_path, monkeypatch):
    monkeypatch.delenv("PVM_NO_CACHE", raising=False)
    path = _write_module(tmp_path, "value = 'fresh'\n")
    cached = Path(loader.cache_path(str(path)))
    cached.parent.mkdir()
    for junk in (b"garbage", _valid_file()[:-4] + b"\0\0\0\0"):
        cached.write_bytes(junk)
        code = loader.load_source_module(str(path))
        assert "fresh" in code.consts
        assert pvmc.loads(cached.read_bytes())[0].consts == code.consts


def test_cache_fixes_file_names_when_the_tree_moves(tmp_path, monkeypatch):
    monkeypatch.delenv("PVM_NO_CACHE", raising=False)
    old = tmp_path / "old"
    old.mkdir()
    _write_module(old, "def f():\n    return 1\n")
    loader.load_source_module(str(old / "mod.src"))
    new = tmp_path / "new"
    old.rename(new)
    origin = str(new / "mod.src")
    code = loader.load_source_module(origin)
    assert code.filename == origin == str(new / "mod.src")
    assert all(c.filename == origin for c in code.consts if isinstance(c, Code))


def test_no_cache_env_var(tmp_path, monkeypatch):
    monkeypatch.setenv("PVM_NO_CACHE", "1")
    path = _write_module(tmp_path, "value = 1\n")
    assert 1 in loader.load_source_module(str(path)).consts
    assert not (tmp_path / "__pycache__").exists()


def test_programs_and_imports_through_the_cli_use_the_cache(tmp_path):
    (tmp_path / "prog.src").write_text("import math\nimport helper_lib\nprint(helper_lib.f(2), math.pi)\n")
    (tmp_path / "helper_lib.src").write_text("def f(x):\n    return x * 10\n")
    for _ in range(2):
        result = pvm_cmd("run", "prog.src", cwd=tmp_path)
        assert result.returncode == 0 and result.stdout == f"20 {math.pi}\n", result.stderr
    assert (tmp_path / "__pycache__" / f"helper_lib.pvm{pvmc.FORMAT_VERSION}.pvmc").exists()
    assert (tmp_path / "__pycache__" / f"prog.pvm{pvmc.FORMAT_VERSION}.pvmc").exists()


def test_a_cached_program_runs_without_the_front_end(tmp_path):
    (tmp_path / "prog.src").write_text("print(sum(range(10)))\n")
    probe = ("import sys\nfrom pvm.cli import main\nstatus = main(['run', 'prog.src'])\n"
             "print('front end loaded' if 'lang' in sys.modules else 'front end not loaded')\n")
    runs = [subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True)
            for _ in range(2)]
    assert [run.stdout for run in runs] == ["45\nfront end loaded\n", "45\nfront end not loaded\n"]
