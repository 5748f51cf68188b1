"""No false refusals: every program of the CPython-checked corpus
(tests/programs) behaves the same in a ``pvm.VM()`` with its default limits
as under ``pvm run``: same stdout bytes, same final error line. The one
deliberate difference: runaway recursion, which CPython reports as a
RecursionError, is a depth LimitExceeded in the sandbox, and a script cannot
catch it (so a program that catches RecursionError stops there)."""

from __future__ import annotations

from pathlib import Path

import pytest

import pvm
from pvm.api import format_error

CORPUS = Path(__file__).resolve().parents[1] / "programs"
PROGRAMS = sorted(path for path in CORPUS.glob("*/*.src") if path.with_suffix(".out").exists())


def read(path: Path) -> str:
    return path.read_bytes().decode("utf-8") if path.exists() else ""


def test_the_corpus_is_there() -> None:
    assert len(PROGRAMS) >= 100


@pytest.mark.parametrize("path", PROGRAMS, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_program_runs_the_same_under_default_limits(path: Path) -> None:
    out: list[str] = []
    vm = pvm.VM(stdout=out.append, module_path=[path.parent], grant=["time"])   # as `pvm run` grants it
    expected_error = read(path.with_suffix(".err")).rstrip("\n").rsplit("\n", 1)[-1]
    try:
        vm.run_file(path)
        error = ""
    except pvm.LimitExceeded as limit:
        assert limit.kind == "depth", limit
        if "except RecursionError" in path.read_text():
            return
        assert expected_error.startswith("RecursionError"), limit
        error = expected_error
    except pvm.ScriptError as script_error:
        exit_ok = script_error.type_name == "SystemExit" and script_error.exception.code in (0, None)
        error = "" if exit_ok else format_error(script_error).rstrip("\n").rsplit("\n", 1)[-1]
    assert "".join(out) == read(path.with_suffix(".out"))
    assert error == expected_error
