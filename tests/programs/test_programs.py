"""Run the program corpus under pvm and compare with CPython's goldens.

Each program runs as ``python -m pvm run [$PVM_TEST_ARGS] NAME.src`` from its
own folder (so tracebacks name the file as given). pvm must match CPython's
exit status and stdout bytes; for a failing program, the last stderr line
(``Type: message``) and the traceback skeleton (frames as basename, line and
function, plus ``[Previous line repeated N more times]``) must match too, and
no frame may point into pvm's own Python code.

``PVM_TEST_ARGS`` (split like a shell would) is inserted after ``run``, so the
same corpus can run under other modes, e.g. ``PVM_TEST_ARGS=--jit=eager``.
Goldens are rebuilt with make_goldens.py; test_goldens_match_cpython checks
they still agree with the local python3 when that is 3.11.
"""

from __future__ import annotations

import functools
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from programs_corpus import (
    ORACLE,
    REPO,
    clean_env,
    compile_error_programs,
    golden_paths,
    last_line,
    program_id,
    programs,
    run_cpython,
    traceback_shape,
)

PVM_TIMEOUT = 60
PROGRAMS = programs()
COMPILE_ERRORS = compile_error_programs()


def run_pvm(path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[bytes]:
    """Run one program under pvm from the program's folder (``args`` after ``run``)."""
    extra = [*args, *shlex.split(os.environ.get("PVM_TEST_ARGS", ""))]
    pythonpath = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)
    return subprocess.run(
        [sys.executable, "-m", "pvm", "run", *extra, path.name],
        cwd=path.parent,
        env=clean_env(PYTHONPATH=pythonpath, **env),
        capture_output=True,
        timeout=PVM_TIMEOUT,
    )


def assert_no_host_frames(stderr: str) -> None:
    """A script error must show script frames only, never pvm's own code (a
    script's own modules may be .py files: they are never inside pvm's folders)."""
    for folder in ("pvm", "lang"):
        assert str(REPO / folder) not in stderr, f"pvm's own Python frames leaked into stderr:\n{stderr}"
    for entry in traceback_shape(stderr):
        if entry.startswith(("Traceback", "[Previous")):
            continue
        assert entry.split(":")[0].endswith((".src", ".py")), f"frame outside the script: {entry}\n{stderr}"


@pytest.mark.parametrize("path", PROGRAMS, ids=program_id)
def test_program(path: Path) -> None:
    check_program(path)


# Every program again with the collector running at every allocation and safe point (every
# tenth one alone missed a translated callee's closure and two operands the interpreter held
# only in host locals: about a minute more for the whole corpus).
@pytest.mark.parametrize("path", PROGRAMS, ids=program_id)
def test_program_under_gc_stress(path: Path) -> None:
    check_program(path, PVM_GC_STRESS="1")


# Tier 0 alone, three ways: every program with everything translated at its first call
# or back-edge, every other one translated when hot (after the interpreter saw its calls,
# so small callees are inlined), and every fifth program with nothing translated.
@pytest.mark.parametrize("path", PROGRAMS, ids=program_id)
def test_program_translated_eagerly(path: Path) -> None:
    check_program(path, "--jit=off", "--translate=eager")


@pytest.mark.parametrize("path", PROGRAMS[1::2], ids=program_id)
def test_program_translated_when_hot(path: Path) -> None:
    check_program(path, "--jit=off")


@pytest.mark.parametrize("path", PROGRAMS[::5], ids=program_id)
def test_program_interpreted(path: Path) -> None:
    check_program(path, "--jit=off", "--translate=off")


def check_program(path: Path, *args: str, **env: str) -> None:
    """pvm's stdout, exit status and traceback shape equal CPython's stored ones."""
    out_path, err_path = golden_paths(path)
    expected_out = out_path.read_bytes()
    expected_err = err_path.read_text(encoding="utf-8") if err_path.exists() else ""
    expected_code = 1 if err_path.exists() else 0

    proc = run_pvm(path, *args, **env)
    stderr = proc.stderr.decode("utf-8", errors="replace")

    assert proc.stdout == expected_out, (
        f"stdout differs from CPython\n--- pvm stderr ---\n{stderr[-3000:]}"
    )
    assert proc.returncode == expected_code, f"exit {proc.returncode}, CPython exits {expected_code}\n{stderr[-3000:]}"
    assert_no_host_frames(stderr)
    if expected_code == 0:
        assert stderr == "", f"pvm wrote to stderr on a clean run:\n{stderr[-3000:]}"
        return
    assert last_line(stderr) == last_line(expected_err)
    assert traceback_shape(stderr) == traceback_shape(expected_err), stderr[-3000:]


@functools.cache
def oracle_is_311() -> str:
    """'' when the oracle is CPython 3.11, else why the golden check is skipped."""
    try:
        proc = subprocess.run(
            [ORACLE, "-c", "import sys; print(sys.implementation.name, '%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{ORACLE} cannot run: {exc}"
    found = proc.stdout.strip()
    return "" if found == "cpython 3.11" else f"{ORACLE} is {found or 'unknown'}, goldens come from cpython 3.11"


@pytest.mark.parametrize("path", PROGRAMS, ids=program_id)
def test_goldens_match_cpython(path: Path) -> None:
    reason = oracle_is_311()
    if reason:
        pytest.skip(reason)
    out_path, err_path = golden_paths(path)
    outcome = run_cpython(path)
    assert outcome.stdout == out_path.read_bytes(), "stale .out: rerun make_goldens.py"
    if outcome.returncode == 0:
        assert not err_path.exists(), "stale .err for a program that now succeeds"
        assert outcome.stderr == "", f"CPython wrote to stderr:\n{outcome.stderr}"
    else:
        assert outcome.returncode == 1
        assert outcome.stderr == err_path.read_text(encoding="utf-8"), "stale .err: rerun make_goldens.py"


def read_expectations(path: Path) -> list[tuple[str, str]]:
    """Parse ``<name>.expect``: one ``check: value`` per line."""
    checks = []
    for line in path.with_suffix(".expect").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        key, _, value = line.partition(": ")
        assert key in ("exit", "stderr-contains"), f"unknown check {key!r} in {path.name}"
        checks.append((key, value))
    return checks


@pytest.mark.parametrize("path", COMPILE_ERRORS, ids=program_id)
def test_compile_error(path: Path) -> None:
    proc = run_pvm(path)
    stderr = proc.stderr.decode("utf-8", errors="replace")
    assert proc.stdout == b"", "nothing may run when the file does not compile"
    assert "Traceback" not in stderr, stderr
    assert '.py"' not in stderr, stderr
    for key, value in read_expectations(path):
        if key == "exit":
            assert proc.returncode == int(value), stderr
        else:
            assert value in stderr, f"missing {value!r} in:\n{stderr}"


def test_corpus_is_complete() -> None:
    """Every program has its golden, and the corpus keeps its size."""
    assert len(PROGRAMS) >= 100
    assert len(COMPILE_ERRORS) >= 15
    for path in PROGRAMS:
        assert golden_paths(path)[0].exists(), f"no golden for {program_id(path)}: run make_goldens.py"
    for path in COMPILE_ERRORS:
        assert path.with_suffix(".expect").exists(), f"no .expect for {program_id(path)}"
