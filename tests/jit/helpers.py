"""Run a source string in-process under tier 0 or the JIT, capturing what a
user would see: stdout, and the rendered traceback of an uncaught error."""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass, field
from typing import Any, Callable

from lang import compile_source
from pvm.errors import ScriptError
from pvm.interp import Interpreter, script_search_path
from pvm.jit import Jit
from pvm.loader import load_source_module
from pvm.report import format_script_error


@dataclass
class Outcome:
    """What one run produced."""

    stdout: str
    error: str            # the rendered traceback, '' on success
    vm: Interpreter
    log: list[str] = field(default_factory=list)

    @property
    def jit(self) -> Jit:
        return self.vm.jit


def run_source(source: str, mode: str = "eager", filename: str = "t.src",
               setup: Callable[[Interpreter], Any] | None = None, jit_bugs: bool = False,
               **settings: int) -> Outcome:
    """Run ``source`` with ``vm.jit = Jit(vm, mode)`` (mode 'off': tier 0 only)."""
    out: list[str] = []
    log: list[str] = []
    vm = Interpreter(write=out.append, loader=load_source_module, search_path=script_search_path(filename))
    if mode != "off":
        vm.jit = Jit(vm, mode=mode, log=log.append, **settings)
    if setup is not None:
        setup(vm)
    error = ""
    try:
        vm.run_module(compile_source(source, filename), origin=filename)
    except ScriptError as exc:
        error = format_script_error(exc)
    outcome = Outcome("".join(out), error, vm, log)
    if mode != "off" and not jit_bugs:
        assert not vm.jit.errors, vm.jit.errors
    return outcome


def run_file(path: str, mode: str = "eager", **settings: int) -> Outcome:
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    cwd = os.getcwd()
    os.chdir(os.path.dirname(path))
    try:
        return run_source(source, mode, os.path.basename(path), **settings)
    finally:
        os.chdir(cwd)


def both(source: str, jit_bugs: bool = False, **settings: int) -> Outcome:
    """Run ``source`` in tier 0 and with the eager JIT; they must print the same and fail the same.
    ``jit_bugs``: the test injects internal errors into the JIT (they are recorded, not raised)."""
    source = textwrap.dedent(source)
    tier0 = run_source(source, "off")
    jit = run_source(source, "eager", jit_bugs=jit_bugs, **settings)
    assert (jit.stdout, jit.error) == (tier0.stdout, tier0.error)
    return jit


def native_steps(outcome: Outcome) -> int:
    """Steps (back-edges and calls) that loop regions ran natively."""
    return sum(v.stats.steps for v in outcome.jit.versions if v.plan.mode == "loop")
