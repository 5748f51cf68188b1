"""Hostile and careless host functions: ones that raise, re-enter the VM,
swallow a limit, return host objects, or run long."""

from __future__ import annotations

import time

import pytest

import pvm
from pvm.sandbox import Limits


def run_error(vm: pvm.VM, source: str) -> pvm.ScriptError:
    with pytest.raises(pvm.ScriptError) as info:
        vm.run(source, "script.src")
    return info.value


class Declined(Exception):
    pass


def raiser(exc: BaseException):
    def fn(*args):
        raise exc
    return fn


@pytest.mark.parametrize("exc, type_name, message", [
    (ValueError("bad value"), "ValueError", "bad value"),
    (KeyError("k"), "KeyError", "'k'"),
    (ZeroDivisionError("division by zero"), "ZeroDivisionError", "division by zero"),
    (NameError("name 'x' is not defined"), "NameError", "name 'x' is not defined"),
    (AttributeError("no such thing"), "AttributeError", "no such thing"),
    (RecursionError("too deep"), "RecursionError", "too deep"),
    (Declined("over the limit"), "RuntimeError", "Declined: over the limit"),
    (FileNotFoundError(2, "No such file"), "RuntimeError", "FileNotFoundError: [Errno 2] No such file"),
    (StopIteration(), "RuntimeError", "StopIteration"),
    (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), "RuntimeError",   # args not plain
     "UnicodeDecodeError: 'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"),
])
def test_a_raising_host_function_ends_the_script_at_its_line(exc: BaseException, type_name: str,
                                                              message: str) -> None:
    vm = pvm.VM()
    vm.expose("host", raiser(exc))
    error = run_error(vm, "def f():\n    return host(1)\nx = 1\nf()\n")
    assert (error.type_name, error.message) == (type_name, message)
    assert [(e.filename, e.line, e.name) for e in error.traceback] == [("script.src", 4, "<module>"),
                                                                       ("script.src", 2, "f")]
    assert error.exception is not exc       # a fresh exception: no host frames or attributes leak


def test_a_host_exception_inside_a_builtin_callback_keeps_the_script_frames() -> None:
    vm = pvm.VM()
    vm.expose("check", raiser(ValueError("no")))
    error = run_error(vm, "def key(x):\n    return check(x)\nsorted([2, 1], key=key)\n")
    assert error.type_name == "ValueError"
    assert [(e.line, e.name) for e in error.traceback] == [(3, "<module>"), (2, "key")]


def test_keyboard_interrupt_is_not_the_scripts_business() -> None:
    vm = pvm.VM()
    vm.expose("stop", raiser(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        vm.run("stop()")
    assert vm.eval("1") == 1


def test_host_functions_may_re_enter_the_vm() -> None:
    vm = pvm.VM()
    vm.expose("twice_via_script", lambda x: vm.call("double", x) * 2)
    vm.run("def double(x):\n    return x * 2\nresult = twice_via_script(5)\n")
    assert vm.globals["result"] == 20


def test_endless_re_entry_is_a_depth_limit() -> None:
    vm = pvm.VM()
    vm.expose("again", lambda: vm.call("loop"))
    vm.run("def loop():\n    return again()\n")
    with pytest.raises(pvm.LimitExceeded) as info:
        vm.call("loop")
    assert info.value.kind == "depth"
    assert vm.eval("2 + 2") == 4


def test_re_entry_shares_the_outer_step_budget() -> None:
    vm = pvm.VM(Limits(max_steps=10_000, timeout=None))
    vm.expose("spin", lambda: vm.call("work"))
    vm.run("def work():\n    i = 0\n    while i < 4000:\n        i += 1\n")
    vm.call("work")                          # 4000 steps: fits alone
    with pytest.raises(pvm.LimitExceeded) as info:
        vm.run("spin()\nspin()\nspin()\n")   # 12000 steps in one entry
    assert info.value.kind == "steps" and info.value.limit == 10_000


def test_a_limit_swallowed_by_host_code_still_ends_the_run() -> None:
    out: list[str] = []
    vm = pvm.VM(Limits(max_steps=1000, timeout=None), stdout=out.append)

    def careless() -> str:
        try:
            vm.call("forever")
        except pvm.LimitExceeded:
            return "swallowed"
        return "finished"

    vm.expose("careless", careless)
    vm.run("def forever():\n    while True:\n        pass\n")
    with pytest.raises(pvm.LimitExceeded) as info:
        vm.run("r = careless()\nprint('after', r)\nwhile True:\n    pass\n")
    assert info.value.kind == "steps"
    assert out == []
    vm.run("print('next entry runs')")
    assert out == ["next entry runs\n"]


def test_host_objects_cannot_be_returned_into_the_script() -> None:
    vm = pvm.VM()
    vm.expose("leak", lambda: open)
    vm.expose("leak_nested", lambda: {"ok": [1, object()]})
    error = run_error(vm, "f = leak()\n")
    assert error.type_name == "TypeError"
    assert "cannot pass a value of type 'builtin_function_or_method' from host function 'leak'" in error.message
    assert error.traceback[-1].line == 1
    assert run_error(vm, "x = leak_nested()").type_name == "TypeError"


def test_script_functions_cannot_be_passed_to_the_host() -> None:
    vm = pvm.VM()
    received = []
    vm.expose("take", received.append)
    error = run_error(vm, "take(lambda: 0)")
    assert error.message.startswith("cannot pass script function '<lambda>' to host function 'take'")
    assert received == []


def test_cyclic_results_come_in_whole() -> None:
    def cyclic():
        xs = [1]
        xs.append(xs)
        return {"xs": xs, "again": xs}

    vm = pvm.VM()
    vm.expose("cyclic", cyclic)
    vm.run("d = cyclic()\nok = d['xs'] is d['again'] and d['xs'][1] is d['xs']\n")
    assert vm.globals["ok"] is True


def test_a_huge_result_is_a_memory_limit() -> None:
    vm = pvm.VM(Limits(max_memory=4 << 20))
    vm.expose("flood", lambda: ["x" * 100] * 1_000_000)
    with pytest.raises(pvm.LimitExceeded) as info:
        vm.run("data = flood()")
    assert info.value.kind == "memory"


def test_a_slow_host_function_is_timed_out_when_it_returns() -> None:
    vm = pvm.VM(Limits(timeout=0.2))
    vm.expose("slow", lambda: time.sleep(0.3))
    start = time.monotonic()
    with pytest.raises(pvm.LimitExceeded) as info:
        vm.run("slow()\nwhile True:\n    pass\n")
    assert info.value.kind == "time"
    assert time.monotonic() - start < 1.0


def test_host_calls_cost_a_step_each() -> None:
    vm = pvm.VM(Limits(timeout=None))
    vm.expose("nothing", lambda: None)
    vm.run("nothing()\nnothing()\nnothing()\n")
    assert vm.steps == 3
