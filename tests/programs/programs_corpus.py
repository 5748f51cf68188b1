"""The program corpus: where the programs are and how CPython is run on them.

Shared by make_goldens.py (writes the goldens) and test_programs.py (checks
pvm and re-checks the goldens), so both see the same programs, the same
environment and the same normalisation of tracebacks.

A program is any ``tests/programs/<feature>/<name>.src`` except files named
``helper_*.src`` (modules the import programs load) and everything in
``compile_errors/`` (checked against hand-written ``.expect`` files instead),
plus ``tests/programs/packages/<case>/main.src``: a program with its own
modules and packages around it, written as ``.py`` files both runtimes import.

CPython cannot import ``.src`` files, so the oracle runs each program in a
temporary directory holding the program under its own name and every
``helper_*.src`` of its folder copied as ``helper_*.py`` (a package case's
whole folder is copied as it is).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent
REPO = ROOT.parent.parent
COMPILE_ERRORS = ROOT / "compile_errors"
PACKAGES = ROOT / "packages"
ORACLE = os.environ.get("PVM_ORACLE_PYTHON", "python3")
ORACLE_TIMEOUT = 30

_FRAME = re.compile(r'^  File "([^"]*)", line (\d+), in (.*)$')
_REPEATED = re.compile(r"^  \[Previous line repeated (\d+) more times?\]$")


def programs() -> list[Path]:
    """Every runnable program, sorted by relative path."""
    found = []
    for path in ROOT.glob("*/*.src"):
        if path.parent == COMPILE_ERRORS or path.name.startswith("helper_"):
            continue
        found.append(path)
    found.extend(PACKAGES.glob("*/main.src"))
    return sorted(found, key=lambda p: p.relative_to(ROOT).as_posix())


def compile_error_programs() -> list[Path]:
    """The programs pvm must refuse at compile time."""
    return sorted(COMPILE_ERRORS.glob("*.src"))


def program_id(path: Path) -> str:
    """``feature/name`` without the extension, used as the pytest id."""
    return path.relative_to(ROOT).with_suffix("").as_posix()


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for both runtimes: no PYTHON* settings leak in from the
    caller; output is UTF-8 and str hashing is fixed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(PYTHONIOENCODING="utf-8", PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1")
    env.update(extra)
    return env


@dataclass(frozen=True)
class Outcome:
    """What one run of a program produced."""

    returncode: int
    stdout: bytes
    stderr: str


def run_cpython(path: Path) -> Outcome:
    """Run ``path`` under the CPython oracle as ``python3 NAME.src`` from a
    scratch directory that also holds the folder's helpers as ``.py`` files.
    The returned stderr is already normalised (see ``normalise_stderr``)."""
    with tempfile.TemporaryDirectory(prefix="pvm-oracle-") as tmp:
        if path.parent.parent == PACKAGES:
            shutil.copytree(path.parent, tmp, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.out", "*.err"))
        shutil.copyfile(path, Path(tmp) / path.name)
        for helper in path.parent.glob("helper_*.src"):
            shutil.copyfile(helper, Path(tmp) / (helper.stem + ".py"))
        proc = subprocess.run(
            [ORACLE, "-s", path.name],
            cwd=tmp,
            env=clean_env(),
            capture_output=True,
            timeout=ORACLE_TIMEOUT,
        )
    return Outcome(proc.returncode, proc.stdout, normalise_stderr(proc.stderr.decode("utf-8")))


def normalise_stderr(stderr: str) -> str:
    """Reduce a CPython traceback to what pvm must reproduce.

    File names become basenames with ``.py`` mapped back to ``.src`` (the
    helpers were copied as ``.py``); the source excerpt and caret lines are
    dropped. Everything else (header, frames, ``[Previous line repeated N
    more times]`` and the final ``Type: message`` line) is kept verbatim.
    """
    out = []
    for line in stderr.splitlines():
        frame = _FRAME.match(line)
        if frame:
            name = os.path.basename(frame.group(1))
            if name.endswith(".py"):
                name = name[:-3] + ".src"
            out.append(f'  File "{name}", line {frame.group(2)}, in {frame.group(3)}')
        elif line.startswith("    "):
            continue
        else:
            out.append(line)
    return "".join(line + "\n" for line in out)


def traceback_shape(stderr: str) -> list[str]:
    """The comparable skeleton of a traceback: the header line, one
    ``basename:line:function`` entry per frame and the repeat markers."""
    shape = []
    for line in stderr.splitlines():
        frame = _FRAME.match(line)
        if frame:
            name = os.path.basename(frame.group(1))
            if name.endswith(".py"):         # as normalise_stderr does for the oracle's side
                name = name[:-3] + ".src"
            shape.append(f"{name}:{frame.group(2)}:{frame.group(3)}")
        elif _REPEATED.match(line):
            shape.append(line.strip())
        elif line.startswith("Traceback (most recent call last):"):
            shape.append(line)
    return shape


def last_line(text: str) -> str:
    """The last non-empty line of ``text`` ('' if there is none)."""
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def golden_paths(path: Path) -> tuple[Path, Path]:
    """The ``.out`` and ``.err`` files that belong to a program."""
    return path.with_suffix(".out"), path.with_suffix(".err")
