"""The ``pvm`` command: run, compile, dis, check and repl.

Exit status follows CPython where scripts are compared with ``python3``:
0 on success, 1 on an uncaught script error, 2 on usage and syntax errors
and on bytecode that fails to load or verify (``pvm: invalid bytecode in
FILE: REASON``), 3 when a limit given on the command line ended the run. run, dis and check take a source file or a .pvmc file.
"""

from __future__ import annotations

import argparse
import functools
import gc
import linecache
import os
import sys
from typing import Sequence

import pvm
from pvm.errors import PvmSyntaxError, ScriptError
from pvm.pvmc import InvalidBytecode

EXIT_OK, EXIT_SCRIPT_ERROR, EXIT_USAGE, EXIT_LIMIT = 0, 1, 2, 3


def _help_formatter(prog: str) -> argparse.HelpFormatter:
    """argparse's formatter, given the width it would get from shutil, whose
    import (4 ms, for bz2 and lzma) every start would pay: argparse makes a
    formatter for each argument added."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 80
    return argparse.HelpFormatter(prog, width=(columns if columns > 0 else 80) - 2)


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pvm", formatter_class=_help_formatter,
        description="pvm: a process virtual machine for a strict subset of Python. "
                    "Without a command, starts the interactive prompt.")
    parser.add_argument("--version", action="version", version=f"pvm {pvm.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    command = functools.partial(commands.add_parser, formatter_class=_help_formatter)
    run = command("run", help="compile and run a program",
                  epilog="caches: the compiled program in __pycache__/ beside it; tier 0's compiled translations and "
                         "the JIT's machine code in ~/.cache/pvm/ (or $XDG_CACHE_HOME/pvm/), private to the user. "
                         "PVM_NO_CACHE=1 turns every cache off.")
    limits = run.add_argument_group(
        "limits", "a run that exceeds one stops at once with 'pvm: ... limit exceeded' and exit status 3; "
                  "the script cannot catch it (none is set unless given)")
    limits.add_argument("--max-steps", metavar="N", type=parse_count,
                        help="steps: loop iterations plus calls, plus builtin work (32 elements a step)")
    limits.add_argument("--max-memory", metavar="SIZE", type=parse_size,
                        help="live heap bytes (bytes, or with a K/M/G suffix, e.g. 64M)")
    limits.add_argument("--max-depth", metavar="N", type=parse_count,
                        help="frames on the call stack, the module's included (without it: "
                             "RecursionError past 1000, as CPython)")
    limits.add_argument("--timeout", metavar="SECONDS", type=parse_seconds, help="wall-clock time")
    limits.add_argument("--max-output", metavar="SIZE", type=parse_size, help="bytes that print may write")
    run.add_argument("--stats", action="store_true",
                     help="print the collector's statistics on stderr at exit")
    run.add_argument("--jit", choices=("off", "on", "eager"), default="on",
                     help="native compilation of hot numeric functions and loops: off, on (hot code, "
                          "the default) or eager (compile at first call)")
    run.add_argument("--jit-log", action="store_true",
                     help="print what the JIT compiled (tier, compile ms), deoptimised and refused, at exit")
    run.add_argument("--translate", choices=("off", "on", "eager"), default=None,
                     help="tier 0's translation of hot functions and loops to Python functions: on (the "
                          "default), off (interpret everything) or eager (at first call); default from "
                          "PVM_TRANSLATE")
    run.add_argument("--translate-log", action="store_true",
                     help="print what tier 0 translated and what it left to its interpreter, as it happens")
    run.add_argument("--no-time", action="store_true",
                     help="withhold the time module (the host's clocks) from the program")
    run.add_argument("file", help="program source (.src) or compiled program (.pvmc)")
    run.add_argument("args", nargs=argparse.REMAINDER, help="arguments for the program")
    compile_ = command("compile", help="compile a program to a .pvmc file")
    compile_.add_argument("file", help="program source (.src)")
    compile_.add_argument("-o", "--output", help="the compiled file (default: FILE with suffix .pvmc)")
    dis = command("dis", help="disassemble a program's bytecode")
    dis.add_argument("file", help="program source (.src) or compiled program (.pvmc)")
    dis.add_argument("--quickened", action="store_true",
                     help="run the program first (tier 0, its output discarded) and show the instruction "
                          "lists tier 0 ran, superinstructions included")
    check = command("check", help="compile (or load) and verify a program without running it")
    check.add_argument("file", help="program source (.src) or compiled program (.pvmc)")
    command("repl", help="start the interactive prompt (the default)")
    return parser


def _report_syntax_error(error: PvmSyntaxError) -> int:
    if not error.source_line and os.path.isfile(error.filename):
        error.source_line = linecache.getline(error.filename, error.line).rstrip("\n")
    print(error.render(), file=sys.stderr)
    return EXIT_USAGE


def _compile(path: str):  # -> Code
    from pvm.loader import load_program

    return load_program(path)


def _enable_code_cache() -> None:
    """Generated code (translations, machine code) is cached per user, unless PVM_NO_CACHE."""
    from pvm import codecache
    from pvm.loader import cache_enabled

    if cache_enabled():
        codecache.enable()


_SIZE_SUFFIXES = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def parse_size(text: str) -> int:
    """``64M`` -> 67108864; plain digits are bytes."""
    number, suffix = text.rstrip("bBiI"), ""
    if number and number[-1].upper() in _SIZE_SUFFIXES:
        number, suffix = number[:-1], number[-1].upper()
    try:
        value = int(number) * _SIZE_SUFFIXES[suffix]
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid size {text!r} (use bytes or a K/M/G suffix, e.g. 64M)") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"size must be positive: {text!r}")
    return value


def parse_count(text: str) -> int:
    """A positive whole number; ``10_000_000`` and ``1e7`` are accepted."""
    try:
        value = int(float(text)) if "e" in text.lower() else int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid count {text!r} (use a positive whole number)") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"count must be positive: {text!r}")
    return value


def parse_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number of seconds {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"seconds must be positive and finite: {text!r}")
    return value


def cmd_run(path: str, options: argparse.Namespace) -> int:
    from pvm import config
    from pvm.heap import Heap
    from pvm.interp import Interpreter, script_search_path
    from pvm.loader import load_source_module
    from pvm.report import format_script_error
    from pvm.sandbox import LimitExceeded, Limits, format_limit_exceeded, install

    code = _compile(path)
    _enable_code_cache()
    heap = Heap(pause=config.GC_PAUSE, stress=config.GC_STRESS)
    vm = Interpreter(write=sys.stdout.write, loader=load_source_module, search_path=script_search_path(path), heap=heap)
    vm.argv = [path, *options.args]
    if not options.no_time:
        vm.granted.add("time")
    limits = Limits.from_cli(options)
    if limits.any:
        install(vm, limits)        # before the JIT: compiled code must see the same hooks
    if options.translate is not None:
        vm.set_translation(options.translate)
    if options.translate_log:
        vm.translate_log = lambda message: sys.stderr.write(f"pvm translate: {message}\n")
    if options.jit != "off":
        from pvm.jit import Jit

        vm.jit = Jit(vm, mode=options.jit)
    try:
        vm.run_module(code, origin=path)
    except ScriptError as error:
        sys.stdout.flush()
        if type(error.exception) is SystemExit:
            return _exit_status(error.exception.code)
        sys.stderr.write(format_script_error(error))
        return EXIT_SCRIPT_ERROR
    except LimitExceeded as error:
        sys.stdout.flush()
        sys.stderr.write(format_limit_exceeded(error))
        return EXIT_LIMIT
    finally:
        sys.stdout.flush()
        if options.stats:
            sys.stderr.write(heap.stats.report())
        if options.jit_log and vm.jit is not None:
            summary = vm.jit.summary()
            if summary:
                sys.stderr.write(summary + "\n")
    return EXIT_OK


def _exit_status(code: object) -> int:
    """The process status for an uncaught ``SystemExit(code)``, as CPython sets it."""
    if code is None:
        return EXIT_OK
    if type(code) is int:
        return code & 0xFF
    sys.stderr.write(f"{code}\n")
    return EXIT_SCRIPT_ERROR


def cmd_dis(path: str, quickened: bool) -> int:
    from pvm.dis import disassemble, disassemble_quickened

    code = _compile(path)
    if not quickened:
        sys.stdout.write(disassemble(code))
        return EXIT_OK
    from pvm.interp import Interpreter, script_search_path
    from pvm.loader import load_source_module
    from pvm.report import format_script_error

    _enable_code_cache()
    vm = Interpreter(loader=load_source_module, search_path=script_search_path(path))
    vm.argv = [path]
    status = EXIT_OK
    try:
        vm.run_module(code, origin=path)
    except ScriptError as error:
        sys.stderr.write(format_script_error(error))
        status = EXIT_SCRIPT_ERROR
    sys.stdout.write(disassemble_quickened(code))
    return status


def cmd_check(path: str) -> int:
    _compile(path)
    return EXIT_OK


def cmd_compile(path: str, output: str | None) -> int:
    from pvm.loader import COMPILED_SUFFIX, compile_to

    if output is None:
        output = (path[:-4] if path.endswith(".src") else path) + COMPILED_SUFFIX
    compile_to(path, output)
    return EXIT_OK


def console() -> int:
    """The ``pvm`` command (and ``python -m pvm``): ``main``, after which the
    process ends without CPython's collector walking what the program left.
    pvm collects its VM's heap itself; what is left when a run is over only
    has to be freed, yet CPython's finalisation runs full collections over it
    (about 0.1 s for the 5 000 000-item lists of bench/sieve.src)."""
    status = main()
    gc.freeze()
    return status


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    options = parser.parse_args(argv)
    try:
        if options.command in (None, "repl"):
            from pvm.repl import repl

            return repl()
        if not os.path.isfile(options.file):
            print(f"pvm: can't open file '{options.file}': No such file or directory", file=sys.stderr)
            return EXIT_USAGE
        if options.command == "run":
            return cmd_run(options.file, options)
        if options.command == "compile":
            return cmd_compile(options.file, options.output)
        if options.command == "dis":
            return cmd_dis(options.file, options.quickened)
        return cmd_check(options.file)
    except PvmSyntaxError as error:
        sys.stdout.flush()
        return _report_syntax_error(error)
    except InvalidBytecode as error:
        sys.stdout.flush()
        print(error.render(), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        sys.stdout.flush()
        print("KeyboardInterrupt", file=sys.stderr)
        return 130
    except OSError as error:
        print(f"pvm: {error}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as error:  # the last line of defence: a pvm bug, never a traceback
        sys.stdout.flush()
        print(f"pvm: internal error (a bug in pvm, please report it): {type(error).__name__}: {error}",
              file=sys.stderr)
        if os.environ.get("PVM_TRACEBACK"):    # for whoever fixes the bug
            import traceback

            traceback.print_exc()
        return 70
