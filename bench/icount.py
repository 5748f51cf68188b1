"""Instructions a tier-0 run executes, counted by valgrind's cachegrind: a
measure of a change to pvm's generated code that this noisy machine cannot
blur (two runs of the same tree agree to 0.01%; wall times move by 10-20%).

    python bench/icount.py bench/richards.src                 # this tree
    python bench/icount.py --base ../other-tree bench/fib.src 24

Each program runs once in-process (``Interpreter.run_module``, translation on,
JIT off) after a first run that fills the translation cache, under
``valgrind --tool=cachegrind --cache-sim=no`` with PYTHONHASHSEED=0. The
count includes the host's start-up and pvm's imports (about 164 M
instructions on the development machine: compare differences, or sizes
where the run dominates). Instructions are not time: cache misses and the
cost of each instruction are not in them, so a change is confirmed with
``bench/run.py`` or ``bench/ab.py`` before it is claimed to pay."""

from __future__ import annotations

import argparse
import io
import os
import re
import subprocess
import sys
from pathlib import Path


def run_once(program: str, args: list[str]) -> None:
    """The measured run (in the child process valgrind starts)."""
    from pvm import codecache
    from pvm.interp import Interpreter, script_search_path
    from pvm.loader import load_source_module

    codecache.enable()
    vm = Interpreter(write=io.StringIO().write, loader=load_source_module, search_path=script_search_path(program))
    vm.argv = [program, *args]
    vm.granted.add("time")
    vm.run_module(load_source_module(program))


def count(tree: Path, program: str, args: list[str]) -> int:
    """Millions of instructions of one run of ``program`` with pvm from ``tree``."""
    env = dict(os.environ, PYTHONPATH=str(tree), PYTHONHASHSEED="0")
    env.pop("PYTHONDONTWRITEBYTECODE", None)       # pvm's own modules compiled once, not in every run
    me = [sys.executable, __file__, "--child", program, *args]
    subprocess.run(me, env=env, check=True)        # the translation cache filled, the .pyc files written
    done = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
                           *me], env=env, check=True, capture_output=True, text=True)
    found = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if found is None:
        raise SystemExit(f"no instruction count in valgrind's output:\n{done.stderr}")
    return int(found.group(1).replace(",", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("program")
    parser.add_argument("args", nargs="*", help="the program's arguments")
    parser.add_argument("--base", type=Path, help="another pvm tree, counted first, to compare with")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        run_once(options.program, options.args)
        return
    here = Path(__file__).resolve().parent.parent
    base = count(options.base.resolve(), options.program, options.args) if options.base else None
    this = count(here, options.program, options.args)
    if base is not None:
        print(f"base {base / 1e6:.1f} M instructions")
    print(f"this {this / 1e6:.1f} M instructions" + (f" ({this / base:.3f} of base)" if base else ""))


if __name__ == "__main__":
    main()
