"""sys and time as scripts see them: pvm's own values, the host reached only where granted."""

from __future__ import annotations

import pytest

from pvm.api import VM
from pvm.errors import ScriptError
from pvm.sandbox import DepthLimitExceeded, Limits
from tests.pvm.test_cli import pvm_cmd, write


def run(source: str, **options) -> str:
    out: list[str] = []
    VM(stdout=out.append, **options).run(source)
    return "".join(out)


def test_argv_comes_from_the_command_line(tmp_path):
    write(tmp_path, "import sys\nprint(sys.argv)\n")
    result = pvm_cmd("run", "prog.src", "one", "--two", cwd=tmp_path)
    assert result.stdout == "['prog.src', 'one', '--two']\n", result.stderr


def test_argv_of_an_embedded_vm():
    assert run("import sys\nprint(sys.argv)") == "['']\n"
    assert run("import sys\nprint(sys.argv)", argv=["app", "x"]) == "['app', 'x']\n"


def test_time_is_granted_by_the_cli_unless_withheld(tmp_path):
    write(tmp_path, "import time\nprint(time.time() > 1e9)\n")
    assert pvm_cmd("run", "prog.src", cwd=tmp_path).stdout == "True\n"
    withheld = pvm_cmd("run", "--no-time", "prog.src", cwd=tmp_path)
    assert withheld.returncode == 1
    assert withheld.stderr.endswith("ModuleNotFoundError: No module named 'time'\n")


def test_time_only_where_the_embedder_grants_it():
    with pytest.raises(ScriptError, match="No module named 'time'"):
        run("import time")
    assert run("import time\nprint(time.perf_counter_ns() > 0)", grant=["time"]) == "True\n"
    with pytest.raises(ValueError, match="no such capability: 'os'"):
        VM(grant=["os"])


def test_each_vm_has_its_own_sys():
    vm = VM(stdout=lambda text: None)
    vm.run("import sys\nsys.argv.append('mine')\nsys.setrecursionlimit(40)")
    assert run("import sys\nprint(sys.argv, sys.getrecursionlimit())") == "[''] 1000\n"


def test_the_recursion_limit_never_rises_above_the_sandbox_depth_limit():
    source = ("import sys\nsys.setrecursionlimit(10 ** 6)\nprint(sys.getrecursionlimit())\n"
              "def down(n):\n    return down(n + 1)\ndown(0)\n")
    out: list[str] = []
    with pytest.raises(DepthLimitExceeded):
        VM(Limits(max_depth=200), stdout=out.append).run(source)
    assert "".join(out) == "200\n"


def test_a_lowered_recursion_limit_raises_a_catchable_recursion_error():
    source = ("import sys\nsys.setrecursionlimit(30)\n"
              "def down(n):\n    return down(n + 1)\n"
              "try:\n    down(0)\nexcept RecursionError as e:\n    print('caught', e)\n")
    assert run(source, limits=Limits(max_depth=200)) == "caught maximum recursion depth exceeded\n"


def test_stdout_write_counts_against_the_output_limit():
    with pytest.raises(Exception, match="output"):
        run("import sys\nwhile True:\n    sys.stdout.write('x' * 1000)", limits=Limits(max_output=10_000))


@pytest.mark.parametrize("exit_call, status, stderr", [
    ("sys.exit()", 0, ""), ("sys.exit(0)", 0, ""), ("sys.exit(4)", 4, ""), ("sys.exit(256 + 7)", 7, ""),
    ("sys.exit('bye')", 1, "bye\n"), ("raise SystemExit(2)", 2, ""),
])
def test_exit_status_as_cpython_sets_it(tmp_path, exit_call, status, stderr):
    write(tmp_path, f"import sys\nprint('before')\n{exit_call}\nprint('after')\n")
    result = pvm_cmd("run", "prog.src", cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (status, "before\n", stderr)


def test_sleep_is_ended_by_the_timeout():
    with pytest.raises(Exception, match="time"):
        run("import time\ntime.sleep(30)", grant=["time"], limits=Limits(timeout=0.3))
