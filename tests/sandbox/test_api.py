"""The embedding API: entries, errors, capabilities, isolation between VMs."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import pvm
from pvm.api import format_error
from pvm.sandbox import (DEFAULT_MAX_DEPTH, DEFAULT_MAX_MEMORY, DEFAULT_MAX_OUTPUT, DEFAULT_MAX_STEPS,
                         DEFAULT_TIMEOUT, Limits)


def test_package_exports_the_api_lazily() -> None:
    code = "import sys, pvm; assert 'pvm.api' not in sys.modules; pvm.VM; assert 'pvm.api' in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
    assert {"VM", "Limits", "ScriptError", "LimitExceeded", "__version__"} <= set(pvm.__all__)
    with pytest.raises(AttributeError):
        pvm.nothing_here  # noqa: B018


def test_a_vm_without_arguments_is_bounded() -> None:
    vm = pvm.VM()
    assert vm.limits == Limits()
    assert (Limits().max_steps, Limits().max_memory, Limits().max_depth, Limits().timeout, Limits().max_output) == (
        DEFAULT_MAX_STEPS, DEFAULT_MAX_MEMORY, DEFAULT_MAX_DEPTH, DEFAULT_TIMEOUT, DEFAULT_MAX_OUTPUT)
    assert all(value is not None for value in (DEFAULT_MAX_STEPS, DEFAULT_MAX_MEMORY, DEFAULT_MAX_DEPTH,
                                               DEFAULT_TIMEOUT, DEFAULT_MAX_OUTPUT))
    assert not Limits.unlimited().any and Limits.unlimited(timeout=1).timeout == 1


@pytest.mark.parametrize("bad", [{"max_steps": 0}, {"max_memory": -1}, {"timeout": "1"}, {"max_depth": 1.5},
                                 {"max_output": True}])
def test_limits_are_validated(bad: dict) -> None:
    with pytest.raises(ValueError, match="must be a positive"):
        Limits(**bad)


def test_limits_from_cli_options_are_unlimited_unless_given() -> None:
    class Options:
        max_steps = 5
        timeout = 1.5

    assert Limits.from_cli(Options()) == Limits.unlimited(max_steps=5, timeout=1.5)


@pytest.mark.parametrize("jit", [True, "on", "eager"])
def test_a_vm_can_run_with_the_jit(jit: object) -> None:
    vm = pvm.VM(jit=jit)
    vm.run("def spin(n):\n    t = 0\n    i = 0\n    while i < n:\n        t += i % 7\n        i += 1\n    return t\n")
    assert [vm.call("spin", 3000) for _ in range(3)] == [8994] * 3
    assert vm._interp.jit is not None
    with pytest.raises(ValueError):
        pvm.VM(jit="fast")


def test_run_keeps_globals_and_call_and_eval_use_them(vm: pvm.VM, out: list[str]) -> None:
    vm.run("items = []\ndef add(x, times=1):\n    items.extend([x] * times)\n    return len(items)\n")
    assert vm.call("add", "a") == 1
    assert vm.call("add", "b", times=2) == 3
    vm.run("print(items)")
    assert out == ["['a', 'b', 'b']\n"]
    assert vm.eval("[x.upper() for x in items if x != 'a']") == ["B", "B"]
    assert vm.globals["items"] == ["a", "b", "b"]
    assert "add" in vm.globals and len(vm.globals) == 4      # __name__, __doc__, items, add


def test_run_file_names_the_file_in_tracebacks(vm: pvm.VM, tmp_path: Path) -> None:
    path = tmp_path / "rules.src"
    path.write_text("x = 1\ny = x / 0\n")
    with pytest.raises(pvm.ScriptError) as info:
        vm.run_file(path)
    assert info.value.traceback[-1].filename == str(path)
    assert info.value.traceback[-1].line == 2
    text = format_error(info.value)
    assert f'File "{path}", line 2, in <module>' in text and "    y = x / 0" in text


def test_script_errors_carry_type_message_and_frames(vm: pvm.VM) -> None:
    vm.run("def inner(d):\n    return d['missing']\ndef outer():\n    return inner({})\n", "lib.src")
    with pytest.raises(pvm.ScriptError) as info:
        vm.call("outer")
    error = info.value
    assert (error.type_name, error.message) == ("KeyError", "'missing'")
    assert [(e.filename, e.line, e.name) for e in error.traceback] == [("lib.src", 4, "outer"),
                                                                       ("lib.src", 2, "inner")]


def test_syntax_errors_reach_the_embedder(vm: pvm.VM) -> None:
    with pytest.raises(pvm.PvmSyntaxError) as info:
        vm.run("x = (1,\n", "bad.src")
    assert info.value.filename == "bad.src"
    with pytest.raises(pvm.PvmSyntaxError, match="single expression"):
        vm.eval("x = 1")
    with pytest.raises(pvm.PvmSyntaxError):
        vm.eval("import os")


def test_eval_sees_globals_and_builtins_only(vm: pvm.VM) -> None:
    vm.run("base = 10")
    assert vm.eval("base * 2 + len('abc')") == 23
    assert vm.eval("(lambda n: [base + i for i in range(n)])(3)") == [10, 11, 12]
    with pytest.raises(pvm.ScriptError) as info:
        vm.eval("undefined_name")
    assert info.value.type_name == "NameError"
    assert info.value.traceback[-1].filename == "<eval>"


def test_call_refuses_what_is_not_a_script_function(vm: pvm.VM) -> None:
    vm.run("x = 1")
    with pytest.raises(NameError):
        vm.call("nope")
    with pytest.raises(TypeError, match="not a script function"):
        vm.call("x")
    vm.run("def f(a):\n    return a\n")
    with pytest.raises(TypeError, match="takes 1 positional argument"):
        vm.call("f", 1, 2)


def test_expose_and_expose_module(vm: pvm.VM, out: list[str]) -> None:
    calls = []
    vm.expose("log", lambda *parts: calls.append(parts))
    vm.expose("LIMIT", 3)
    vm.expose_module("geo", {"area": lambda w, h: w * h, "UNITS": ["m", "km"]})
    vm.run("import geo\nfrom geo import area\nlog('a', area(2, 3), geo.UNITS)\nprint(LIMIT, log)\n")
    assert calls == [("a", 6, ["m", "km"])]
    assert out == ["3 <built-in function log>\n"]
    with pytest.raises(ValueError):
        vm.expose("not a name", len)


def test_several_vms_share_nothing_a_script_can_change() -> None:
    first, second = pvm.VM(), pvm.VM()
    first.expose("secret", lambda: "first")
    first.run(textwrap.dedent("""
        import math
        math.sqrt = lambda x: -1
        math.pi = 3
        del math.floor
        print = None
        shared = [1]
    """))
    second.run("import math\nresult = (math.sqrt(16), math.pi, math.floor(2.5))\n")
    assert second.globals["result"] == (4.0, 3.141592653589793, 2)
    with pytest.raises(pvm.ScriptError, match="secret"):
        second.run("secret()")
    with pytest.raises(pvm.ScriptError, match="shared"):
        second.run("shared")
    assert first._interp.heap is not second._interp.heap
    assert first._interp.builtins is not second._interp.builtins
    assert first._interp.modules["math"] is not second._interp.modules["math"]


def test_exposed_modules_are_per_vm_copies() -> None:
    members = {"limits": [1, 2]}
    first, second = pvm.VM(), pvm.VM()
    first.expose_module("conf", members)
    second.expose_module("conf", members)
    first.run("import conf\nconf.limits.append(3)\nconf.extra = 1\n")
    second.run("import conf\nseen = conf.limits\n")
    assert second.globals["seen"] == [1, 2]
    with pytest.raises(pvm.ScriptError, match="has no attribute 'extra'"):
        second.run("conf.extra")
    assert members == {"limits": [1, 2]}


def test_imports_come_from_the_stdlib_and_the_module_path_only(tmp_path: Path) -> None:
    (tmp_path / "helpers.src").write_text("def double(x):\n    return 2 * x\n")
    vm = pvm.VM(module_path=[tmp_path])
    vm.run("import helpers\nimport math\nvalue = helpers.double(math.floor(2.5))\n")
    assert vm.globals["value"] == 4
    with pytest.raises(pvm.ScriptError, match="No module named 'helpers'"):
        pvm.VM().run("import helpers")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["helpers.src"]   # no cache written


def test_print_goes_to_host_stdout_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    pvm.VM().run("print('to the host', 42)")
    assert capsys.readouterr().out == "to the host 42\n"


def test_vm_reports_steps_and_memory(vm: pvm.VM) -> None:
    vm.run("i = 0\nwhile i < 100:\n    i += 1\n")
    assert vm.steps == 100
    vm.run("big = list(range(1000))")
    vm._interp.heap.collect()      # live bytes are measured by a collection
    assert vm.memory >= 16 + 8 * 1000


def test_limits_are_immutable_values_and_replace_makes_new_ones():
    limits = pvm.Limits(max_steps=100)
    assert limits == pvm.Limits(max_steps=100) and hash(limits) == hash(pvm.Limits(max_steps=100))
    assert limits != pvm.Limits()
    changed = limits.replace(timeout=1.5, max_output=None)
    assert (changed.max_steps, changed.timeout, changed.max_output) == (100, 1.5, None)
    assert limits.timeout == pvm.Limits().timeout         # the original is unchanged
    with pytest.raises(AttributeError, match="immutable"):
        limits.max_steps = 5
    with pytest.raises(ValueError, match="positive"):
        limits.replace(max_depth=0)
    assert repr(pvm.Limits.unlimited(timeout=2)) == ("Limits(max_steps=None, max_memory=None, max_depth=None, "
                                                     "timeout=2, max_output=None)")
