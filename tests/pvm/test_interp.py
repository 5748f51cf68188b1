"""Tier 0: frames as data, depth limit, tracebacks, profiling counters,
heap accounting, host re-entry and imports."""

import sys

import pytest

from lang import compile_source
from pvm.errors import PvmError, ScriptError
from pvm.interp import Interpreter, script_search_path
from pvm.loader import load_source_module


def run(source: str, **options):
    out: list[str] = []
    vm = Interpreter(write=out.append, **options)
    code = compile_source(source, "t.src")
    vm.run_module(code)
    return "".join(out), vm, code


def run_error(source: str) -> ScriptError:
    with pytest.raises(ScriptError) as info:
        run(source)
    return info.value


RECURSE = """
def down(n):
    if n == 0:
        return 0
    return down(n - 1) + 1
"""


def test_vm_calls_do_not_recurse_in_python():
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(150)   # far below the VM depth used: only frames-as-data survive this
    try:
        out, _, _ = run(RECURSE + "print(down(900))\n")
    finally:
        sys.setrecursionlimit(limit)
    assert out == "900\n"


def test_recursion_10000_deep_is_a_recursion_error_like_cpython():
    error = run_error(RECURSE + "down(10000)\n")
    assert error.type_name == "RecursionError"
    assert error.message == "maximum recursion depth exceeded"
    assert len(error.traceback) == 1000
    assert error.traceback[0].name == "<module>"
    assert {entry.name for entry in error.traceback[1:]} == {"down"}


def test_depth_limit_matches_cpython_boundary():
    # CPython 3.11: the module frame plus 999 calls fit, one more does not
    assert run(RECURSE + "print(down(998))\n")[0] == "998\n"
    assert run_error(RECURSE + "down(999)\n").type_name == "RecursionError"


def test_depth_is_restored_after_an_error():
    out, vm, _ = run("x = 1\n")
    with pytest.raises(ScriptError):
        vm.run_module(compile_source(RECURSE + "down(5000)\n", "t.src"))
    assert vm.depth == 0


def test_traceback_lists_script_frames_outermost_first():
    error = run_error("def f(x):\n    return g(x)\ndef g(y):\n    return 1 / y\nf(0)\n")
    assert [(e.line, e.name) for e in error.traceback] == [(5, "<module>"), (2, "f"), (4, "g")]
    assert error.type_name == "ZeroDivisionError"


def test_error_inside_a_host_callback_keeps_every_frame():
    error = run_error("def key(x):\n    return 1 // x\nprint(sorted([2, 1, 0], key=key))\n")
    assert [(e.line, e.name) for e in error.traceback] == [(3, "<module>"), (2, "key")]
    assert error.message == "integer division or modulo by zero"


def test_host_callbacks_return_values():
    out, _, _ = run("print(sorted(['bb', 'a', 'ccc'], key=lambda s: -len(s)))\n"
                    "print(list(map(lambda x: x * 2, range(3))))\n")
    assert out == "['ccc', 'bb', 'a']\n[0, 2, 4]\n"


def test_profiling_counters_count_calls_and_back_edges():
    # the interpreter's counters (translated code keeps none: it runs where the JIT does not)
    vm = Interpreter(write=lambda text: None)
    vm.set_translation("off")
    code = compile_source("def f(n):\n    i = 0\n    while i < n:\n        i += 1\n    return i\n"
                          "for k in range(4):\n    f(10)\n", "t.src")
    vm.run_module(code)
    f_code = next(c for c in code.consts if getattr(c, "name", None) == "f")
    assert f_code.profile.calls == 4
    assert f_code.profile.backedges == 40
    assert code.profile.backedges == 4


def test_instructions_are_decoded_once_per_code_object():
    _, _, code = run("def f():\n    return 1\nf()\nf()\n")
    f_code = next(c for c in code.consts if getattr(c, "name", None) == "f")
    assert f_code.quickened is not None
    first = f_code.quickened
    from pvm.frames import Frame
    assert Frame(f_code, {}, [], None).instrs is first


def test_containers_and_functions_are_owned_by_the_heap():
    _, vm, _ = run("a = [1, 2]\nb = {1: 2}\nc = {3}\ndef f():\n    pass\nd = sorted(a)\ne = [x for x in a]\n")
    names = vm.modules["__main__"].dict
    for name in "abcdfe":
        assert id(names[name]) in vm.heap.objects, name
    assert vm.heap.stats.objects_allocated >= 7
    assert vm.heap.stats.bytes_allocated > 0


@pytest.mark.parametrize("call, message", [
    ("f(1, 2, 3)", "f() takes from 1 to 2 positional arguments but 3 were given"),
    ("f()", "f() missing 1 required positional argument: 'a'"),
    ("f(1, c=2)", "f() got an unexpected keyword argument 'c'"),
    ("f(1, a=2)", "f() got multiple values for argument 'a'"),
    ("g(1)", "g() takes 0 positional arguments but 1 was given"),
    ("h()", "h() missing 3 required positional arguments: 'x', 'y', and 'z'"),
])
def test_argument_errors_use_cpython_wording(call, message):
    error = run_error(f"def f(a, b=1):\n    pass\ndef g():\n    pass\ndef h(x, y, z):\n    pass\n{call}\n")
    assert (error.type_name, error.message) == ("TypeError", message)


def test_unbound_local_and_free_variables():
    error = run_error("def f():\n    print(x)\n    x = 1\nf()\n")
    assert error.type_name == "UnboundLocalError"
    assert error.message == "cannot access local variable 'x' where it is not associated with a value"


def test_calling_a_host_type_outside_the_allowlist_is_refused():
    error = run_error("t = type(len)\nt()\n")
    assert error.type_name == "TypeError"


def test_modules_are_executed_once_and_cached(tmp_path):
    (tmp_path / "helper.src").write_text("print('loading')\nvalue = 42\n")
    main = tmp_path / "main.src"
    main.write_text("import helper\nimport helper as h\nfrom helper import value\nprint(h.value + value)\n")
    out: list[str] = []
    vm = Interpreter(write=out.append, loader=load_source_module, search_path=script_search_path(str(main)))
    vm.run_module(compile_source(main.read_text(), str(main)))
    assert "".join(out) == "loading\n84\n"


def test_missing_module_is_module_not_found_error():
    error = run_error("import no_such_module_here\n")
    assert (error.type_name, error.message) == ("ModuleNotFoundError", "No module named 'no_such_module_here'")


def test_math_is_importable_from_stdlib():
    out: list[str] = []
    vm = Interpreter(write=out.append, loader=load_source_module, search_path=script_search_path("x.src"))
    vm.run_module(compile_source("import math\nprint(math.sqrt(16), math.gcd(12, 18))\n", "x.src"))
    assert "".join(out) == "4.0 6\n"


def test_steps_count_back_edges_and_calls_and_reach_the_checkpoint_hook():
    out: list[str] = []
    vm = Interpreter(write=out.append)
    seen: list[int] = []

    def hook(steps: int) -> int:
        seen.append(steps)
        return 7

    vm.set_checkpoint_hook(hook)
    vm.run_module(compile_source("def f():\n    pass\ni = 0\nwhile i < 20:\n    f()\n    i += 1\n", "t.src"))
    vm.checkpoint()
    assert vm.steps == 40           # 20 back-edges + 20 calls
    assert seen == [0, 7, 14, 21, 28, 35, 40]


class Stop(PvmError):
    """What a limit raises: PvmErrors pass through the loop untouched."""


def stop_at_100(steps: int) -> int:
    if steps >= 100:
        raise Stop
    return 100


def test_a_checkpoint_hook_can_end_a_run():
    vm = Interpreter()
    vm.set_checkpoint_hook(stop_at_100)
    with pytest.raises(Stop):
        vm.run_module(compile_source("while True:\n    pass\n", "t.src"))
    assert vm.steps == 100


def test_steps_stay_exact_after_a_checkpoint_hook_raises():
    vm = Interpreter()
    vm.set_checkpoint_hook(stop_at_100)
    with pytest.raises(Stop):
        vm.run_module(compile_source("while True:\n    pass\n", "t.src"))
    vm.set_checkpoint_hook(lambda steps: 1000)
    vm.run_module(compile_source("i = 0\nwhile i < 10:\n    i += 1\n", "t.src"))
    vm.checkpoint()
    assert vm.steps == 110


def test_fast_locals_in_class_bodies_are_unbound_not_missing():
    """Found by the .pvmc fuzzer: a (verified) class body that uses a fast local got
    an empty locals list; reading it must be a script error, not a crash of pvm."""
    from pvm.code import Code
    from pvm.opcodes import Op
    from pvm.verify import verify

    def replace(code: Code, **changes) -> Code:
        return Code(**{name: changes.get(name, getattr(code, name)) for name in Code.FIELDS})

    module = compile_source("class C:\n    x = 1\n", "t.src")
    body = next(c for c in module.consts if isinstance(c, Code))
    body = replace(body, varnames=("x",), ops=(Op.LOAD_FAST, Op.POP_TOP, *body.ops),
                   args=(0, 0, *body.args), linetable=((0, body.firstlineno),) + tuple(
                       (start + 2, line) for start, line in body.linetable if start))
    code = replace(module, consts=tuple(body if isinstance(c, Code) else c for c in module.consts))
    verify(code)
    with pytest.raises(ScriptError, match="UnboundLocalError"):
        Interpreter(write=lambda text: None).run_module(code)
