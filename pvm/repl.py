"""The interactive prompt: ``pvm`` with no command, or ``pvm repl``.

As Python's: ``>>>`` and ``...`` prompts, line editing and history through
readline when the terminal has it, blocks that end at an empty line, the repr
of an expression statement's value echoed (and kept in ``_``), and errors
reported without leaving the prompt.
"""

from __future__ import annotations

import os
import sys
from typing import Callable

import pvm
from lang import ast
from lang.compiler import compile_module
from lang.parser import parse
from pvm.errors import PvmSyntaxError, ScriptError
from pvm.interp import Interpreter, stdlib_dir
from pvm.loader import load_source_module
from pvm.objects import Module
from pvm.report import format_script_error
from pvm.verify import verify

FILENAME = "<stdin>"
ECHO_NAME = ".echo"          # not a valid identifier, so no script can clash with it
HISTORY_FILE = os.path.join(os.path.expanduser("~"), ".pvm_history")


def _needs_more(source: str) -> bool:
    """True while the input so far is an unfinished statement."""
    lines = source.split("\n")
    first = lines[0].strip()
    if first.endswith(":") or first.endswith("\\") or first.startswith("@"):   # a block, or a decorated one
        return lines[-1].strip() != ""
    try:
        parse(source + "\n", FILENAME)
    except PvmSyntaxError as error:
        return "never closed" in error.message or "unterminated triple-quoted" in error.message
    return False


def _echoing(module: ast.Module) -> ast.Module:
    """Store the value of each top-level expression statement where the prompt can echo it."""
    body: list[ast.Stmt] = []
    for stmt in module.body:
        if isinstance(stmt, ast.ExprStmt):
            target = ast.Name(ECHO_NAME, line=stmt.line, col=stmt.col, end_line=stmt.line, end_col=stmt.col)
            stmt = ast.Assign([target], stmt.value, line=stmt.line, col=stmt.col,
                              end_line=stmt.end_line, end_col=stmt.end_col)
        body.append(stmt)
    return ast.Module(body, line=module.line, col=module.col, end_line=module.end_line, end_col=module.end_col)


def execute(vm: Interpreter, namespace: Module, source: str,
            write_error: Callable[[str], object]) -> None:
    """Run one complete input in the prompt's namespace, echoing values and reporting errors."""
    try:
        code = compile_module(_echoing(parse(source, FILENAME)), FILENAME)
        verify(code)
        vm.execute_module_code(code, namespace)
    except PvmSyntaxError as error:
        write_error(error.render() + "\n")
        return
    except ScriptError as error:
        sys.stdout.flush()
        write_error(format_script_error(error))
        return
    finally:
        value = namespace.dict.pop(ECHO_NAME, None)
    if value is not None:
        vm.builtins["_"] = value
        vm.write(repr(value) + "\n")


def _enable_line_editing() -> None:
    try:
        import readline
    except ImportError:
        return
    try:
        readline.read_history_file(HISTORY_FILE)
    except OSError:
        pass
    import atexit

    atexit.register(_save_history, readline)


def _save_history(readline: object) -> None:
    try:
        readline.write_history_file(HISTORY_FILE)  # type: ignore[attr-defined]
    except OSError:
        pass


def repl() -> int:
    """Read, evaluate and print until end of input; returns the exit status."""
    interactive = sys.stdin.isatty()
    if interactive:
        _enable_line_editing()
        print(f"pvm {pvm.__version__} on Python {sys.version.split()[0]}. Ctrl-D exits.")
    vm = Interpreter(write=sys.stdout.write, loader=load_source_module, search_path=[os.getcwd(), stdlib_dir()])
    namespace = vm.heap.new_module("__main__", None, vm.heap.new_dict([("__name__", "__main__"), ("__doc__", None)]))
    vm.modules["__main__"] = namespace
    while True:
        lines: list[str] = []
        try:
            while True:
                line = input("... " if lines else ">>> ") if interactive else _read_line()
                lines.append(line)
                if not _needs_more("\n".join(lines)):
                    break
        except EOFError:
            if interactive:
                print()
            if lines and any(part.strip() for part in lines):
                execute(vm, namespace, "\n".join(lines) + "\n", sys.stderr.write)
            return 0
        except KeyboardInterrupt:
            print("\nKeyboardInterrupt")
            continue
        source = "\n".join(lines) + "\n"
        if source.strip():
            execute(vm, namespace, source, sys.stderr.write)
        sys.stdout.flush()


def _read_line() -> str:
    line = sys.stdin.readline()
    if not line:
        raise EOFError
    return line.rstrip("\n")
