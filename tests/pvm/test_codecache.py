"""The cache of translated code (pvm.codecache): used from the second
translation of the same source on, never trusted when damaged or when the
folder is not private, off unless enabled, and transparent to a program."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pvm import codecache

SOURCE = "def translated(x):\n    return x * 2 + 1\n"
NAME = "<pvm f>"
HOT_PROGRAM = """\
def step(x):
    return x * 3 % 1000 + 1

total = 0
for i in range(3000):
    total += step(i)
print(total)
"""


@pytest.fixture
def cache(tmp_path):
    codecache.enable(str(tmp_path / "cache"))
    yield tmp_path / "cache" / "translated"
    codecache.disable()


def _doubled(code) -> int:
    namespace: dict = {}
    exec(code, namespace)
    return namespace["translated"](20)


def _no_compile(*args):
    raise AssertionError("compiled again")


def test_second_compilation_of_the_same_source_is_read_from_the_cache(cache, monkeypatch):
    first = codecache.compile_source(SOURCE, NAME)
    files = list(cache.iterdir())
    assert len(files) == 1 and _doubled(first) == 41
    monkeypatch.setattr(codecache, "compile", _no_compile, raising=False)
    again = codecache.compile_source(SOURCE, NAME)
    assert again.co_filename == NAME and again.co_consts == first.co_consts and _doubled(again) == 41


def test_the_file_name_and_the_source_are_both_in_the_key(cache):
    codecache.compile_source(SOURCE, NAME)
    codecache.compile_source(SOURCE, "<pvm g>")
    codecache.compile_source(SOURCE.replace("2", "4"), NAME)
    assert len(list(cache.iterdir())) == 3


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty"])
def test_a_damaged_file_is_compiled_again_and_replaced(cache, damage):
    codecache.compile_source(SOURCE, NAME)
    (path,) = cache.iterdir()
    data = path.read_bytes()
    path.write_bytes({"flip": data[:-1] + bytes([data[-1] ^ 1]), "truncate": data[:-5], "empty": b""}[damage])
    assert _doubled(codecache.compile_source(SOURCE, NAME)) == 41
    assert path.read_bytes() == data


def test_a_folder_others_may_write_to_is_not_used(tmp_path, monkeypatch):
    root = tmp_path / "shared"
    (root / "translated").mkdir(parents=True)
    root.chmod(0o777)
    codecache.enable(str(root))
    try:
        assert _doubled(codecache.compile_source(SOURCE, NAME)) == 41
        assert not list((root / "translated").iterdir())
    finally:
        codecache.disable()


def test_off_unless_enabled(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    codecache.disable()
    assert _doubled(codecache.compile_source(SOURCE, NAME)) == 41
    assert not list(tmp_path.iterdir())


def _run(folder: Path, cache_home: Path, *, no_cache: bool = False) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items() if name != "PVM_NO_CACHE"}
    env["XDG_CACHE_HOME"] = str(cache_home)
    if no_cache:
        env["PVM_NO_CACHE"] = "1"
    return subprocess.run([sys.executable, "-m", "pvm", "run", "--jit=off", "prog.src"], cwd=folder,
                          capture_output=True, text=True, env=env, timeout=120)


def test_pvm_run_caches_translations_and_pvm_no_cache_turns_it_off(tmp_path):
    (tmp_path / "prog.src").write_text(HOT_PROGRAM)
    expected = f"{sum(i * 3 % 1000 + 1 for i in range(3000))}\n"
    folder = tmp_path / "home" / "pvm" / "translated"
    first = _run(tmp_path, tmp_path / "home")
    files = sorted(folder.iterdir())
    assert first.stdout == expected and files and folder.stat().st_mode & 0o777 == 0o700
    second = _run(tmp_path, tmp_path / "home")
    assert second.stdout == expected and sorted(folder.iterdir()) == files
    off = _run(tmp_path, tmp_path / "off", no_cache=True)
    assert off.stdout == expected and not (tmp_path / "off").exists()


def test_a_full_folder_loses_the_half_written_longest_ago(cache, monkeypatch):
    monkeypatch.setattr(codecache, "MAX_ENTRIES", 10)
    monkeypatch.setattr(codecache, "PRUNE_EVERY", 1)
    codecache.compile_source(SOURCE, NAME)
    (first,) = cache.iterdir()
    for age in range(12):
        old = cache / f"old{age:02}"
        old.write_bytes(b"x")
        os.utime(old, (1000 + age, 1000 + age))
    codecache.compile_source(SOURCE, "<pvm another>")
    left = sorted(path.name for path in cache.iterdir())
    assert len(left) == 8 and first.name in left and "old11" in left and "old00" not in left
