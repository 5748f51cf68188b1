"""Which instruction pairs tier 0 executes most: the evidence for superinstructions.

Usage::

    python bench/pair_frequencies.py [--top N] [PROGRAM.src ...]

Runs each program (default: every bench/*.src and tests/programs/*/*.src that
exits cleanly) in tier 0 with every code object's pre-decoded instruction list
replaced by a counting list, and prints the most frequent opcodes and the most
frequent pairs (an instruction and the one executed right after it in the same
frame, which is what a superinstruction would fuse), as shares of all
dispatches. Without superinstructions by default (the evidence for choosing
them); ``--fused`` counts tier 0's real dispatches (the evidence for ordering
the loop's tests). The counting list sees exactly the fetches the loop makes, so the
figures are dynamic counts, not static ones.
"""

from __future__ import annotations

import argparse
import collections
import io
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pvm import frames  # noqa: E402
from pvm.errors import PvmError  # noqa: E402
from pvm.heap import Heap  # noqa: E402
from pvm.interp import Interpreter, script_search_path  # noqa: E402
from pvm.loader import compile_file, load_source_module  # noqa: E402
from pvm.opcodes import OPCODES  # noqa: E402

SINGLES: collections.Counter[int] = collections.Counter()
PAIRS: collections.Counter[tuple[int, int]] = collections.Counter()


class CountingInstructions(list):
    """A decoded instruction list that counts each fetch and the fetch before it."""

    def __init__(self, items: list) -> None:
        super().__init__(items)
        self.previous = -1

    def __getitem__(self, pc):
        item = list.__getitem__(self, pc)
        op = item[0]
        SINGLES[op] += 1
        if self.previous >= 0:
            PAIRS[self.previous, op] += 1
        self.previous = op
        return item


def counting_instructions(code):
    """Tier 0's list without superinstructions, counting: the base pairs it runs."""
    code.quickened = CountingInstructions(frames.decode(code))
    return code.quickened


def counting_fused_instructions(code):
    """Tier 0's own list, counting: how often each (super)instruction is dispatched."""
    code.quickened = CountingInstructions(frames.fuse(code, frames.decode(code)))
    return code.quickened


def run(path: Path) -> bool:
    code = compile_file(str(path))
    out = io.StringIO()
    vm = Interpreter(write=out.write, loader=load_source_module, search_path=script_search_path(str(path)),
                     heap=Heap())
    cwd = os.getcwd()
    os.chdir(path.parent)
    try:
        vm.run_module(code, origin=str(path))
        return True
    except PvmError:
        return False
    finally:
        os.chdir(cwd)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--fused", action="store_true",
                        help="count tier 0's dispatches with superinstructions (for ordering the loop)")
    parser.add_argument("programs", nargs="*", type=Path)
    args = parser.parse_args()
    programs = args.programs or [*sorted((REPO / "bench").glob("*.src")),
                                 *sorted((REPO / "tests" / "programs").glob("*/*.src"))]
    frames.quicken = counting_fused_instructions if args.fused else counting_instructions
    ran = sum(run(path) for path in programs if not path.name.startswith("helper_")
              and path.parent.name != "compile_errors")
    total_ops = sum(SINGLES.values())
    total_pairs = sum(PAIRS.values())
    name = lambda op: OPCODES[op].name  # noqa: E731
    print(f"{ran} programs ran cleanly, {total_ops:,} instructions dispatched\n")
    print("opcode                          share")
    for op, count in SINGLES.most_common(args.top):
        print(f"{name(op):<30} {100 * count / total_ops:6.2f}%")
    print("\npair                                              share")
    for (a, b), count in PAIRS.most_common(args.top):
        print(f"{name(a) + ' + ' + name(b):<48} {100 * count / total_pairs:6.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
