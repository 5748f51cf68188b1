"""Regenerate the golden files of the program corpus with CPython 3.11.

Usage (from the repository root, with the system python3 being 3.11)::

    python tests/programs/make_goldens.py              # every program
    python tests/programs/make_goldens.py errors/key_error lists/methods

For each program ``<feature>/<name>.src`` this runs ``python3 <name>.src``
(see programs_corpus.run_cpython for the scratch directory and environment)
and writes:

- ``<name>.out``: CPython's exact stdout bytes;
- ``<name>.err``: only when the exit status is non-zero, CPython's stderr
  normalised by programs_corpus.normalise_stderr (basenames, no source
  excerpts); a stale ``.err`` is deleted when the program now succeeds.

It refuses to write goldens for a program that exits 0 but prints to stderr
(a SyntaxWarning, say), since pvm is expected to print nothing there, and it
reports programs that take CPython longer than 0.1 s: pvm's interpreter is
much slower, so the corpus must stay small. Compile-error programs are not
touched: their ``.expect`` files are written by hand.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from programs_corpus import ORACLE, Outcome, golden_paths, program_id, programs, run_cpython

SLOW_SECONDS = 0.1


def oracle_version() -> str:
    """The oracle's ``major.minor`` version string."""
    proc = subprocess.run([ORACLE, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                          capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def startup_seconds() -> float:
    """How long the oracle takes to run an empty script (subtracted from timings)."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run([ORACLE, "-s", "-c", "pass"], check=True)
        best = min(best, time.perf_counter() - start)
    return best


def timed_run(path: Path, baseline: float) -> tuple[Outcome, float]:
    """Run ``path`` under the oracle; a run that looks slow is repeated once
    and the faster time kept, since process start-up times are noisy."""
    best = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        outcome = run_cpython(path)
        best = min(best, time.perf_counter() - start - baseline)
        if best <= SLOW_SECONDS:
            break
    return outcome, best


def select(args: list[str]) -> list[Path]:
    """The programs named on the command line (``feature/name``), or all."""
    every = programs()
    if not args:
        return every
    by_id = {program_id(p): p for p in every}
    missing = [a for a in args if a.removesuffix(".src") not in by_id]
    if missing:
        sys.exit(f"unknown programs: {', '.join(missing)}")
    return [by_id[a.removesuffix(".src")] for a in args]


def main(argv: list[str]) -> int:
    version = oracle_version()
    if version != "3.11":
        print(f"{ORACLE} is Python {version}; the goldens must come from 3.11", file=sys.stderr)
        return 1
    baseline = startup_seconds()
    problems = 0
    for path in select(argv):
        outcome, elapsed = timed_run(path, baseline)
        out_path, err_path = golden_paths(path)
        if outcome.returncode == 0 and outcome.stderr:
            print(f"{program_id(path)}: exit 0 but stderr is not empty:\n{outcome.stderr}", file=sys.stderr)
            problems += 1
            continue
        out_path.write_bytes(outcome.stdout)
        if outcome.returncode == 0:
            err_path.unlink(missing_ok=True)
        else:
            err_path.write_text(outcome.stderr, encoding="utf-8", newline="")
        if elapsed > SLOW_SECONDS:
            print(f"{program_id(path)}: slow under CPython ({elapsed:.3f} s)", file=sys.stderr)
        print(f"{program_id(path)}: exit {outcome.returncode}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
