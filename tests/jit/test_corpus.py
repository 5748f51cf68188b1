"""The whole program corpus under the eager JIT (every threshold 1) behaves
exactly as under tier 0: same stdout, same traceback. Tier 0 itself is held
to CPython's goldens by tests/programs; this compares in-process, so it also
checks that no JIT refusal or exit path raises inside pvm."""

from pathlib import Path

import pytest

from tests.jit.helpers import run_file

PROGRAMS = Path(__file__).resolve().parent.parent / "programs"
CORPUS = sorted(p for p in PROGRAMS.glob("*/*.src")
                if p.parent.name != "compile_errors" and not p.name.startswith("helper_"))


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_program_under_eager_jit(path: Path):
    tier0 = run_file(str(path), "off")
    jit = run_file(str(path), "eager")
    assert jit.stdout == tier0.stdout
    assert jit.error == tier0.error


def test_the_corpus_exercises_the_jit():
    compiled = sum(len(run_file(str(p), "eager").jit.versions) for p in CORPUS[::4])
    assert compiled >= 20
