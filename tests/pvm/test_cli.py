"""The ``pvm`` command as a user meets it: exit statuses, messages, dis,
check, the prompt, and never a traceback of pvm itself."""

import subprocess
import sys
from pathlib import Path

import pytest

import pvm

ROOT = Path(__file__).resolve().parents[2]


def pvm_cmd(*args: str, cwd: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pvm", *args], cwd=cwd, input=stdin, capture_output=True,
                          text=True, timeout=120)


def write(tmp_path: Path, text: str, name: str = "prog.src") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_version_and_help():
    result = pvm_cmd("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"pvm {pvm.__version__}"
    result = pvm_cmd("--help")
    assert result.returncode == 0
    for command in ("run", "compile", "dis", "check", "repl"):
        assert command in result.stdout


def test_run_example_from_another_directory(tmp_path):
    result = pvm_cmd("run", str(ROOT / "examples" / "hello.src"), cwd=tmp_path)
    expected = subprocess.run([sys.executable, str(ROOT / "examples" / "hello.src")], capture_output=True,
                              text=True).stdout
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected


def test_uncaught_error_prints_script_traceback_and_exits_1(tmp_path):
    write(tmp_path, "def ratio(a, b):\n    return a / b\nprint('before')\nprint(ratio(3, 0))\n")
    result = pvm_cmd("run", "prog.src", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout == "before\n"
    assert result.stderr == ('Traceback (most recent call last):\n'
                             '  File "prog.src", line 4, in <module>\n'
                             '    print(ratio(3, 0))\n'
                             '  File "prog.src", line 2, in ratio\n'
                             '    return a / b\n'
                             'ZeroDivisionError: division by zero\n')


def test_recursion_traceback_collapses_repeated_frames(tmp_path):
    write(tmp_path, "def f(n):\n    return f(n + 1)\nf(0)\n")
    result = pvm_cmd("run", "prog.src", cwd=tmp_path)
    assert result.returncode == 1
    assert "  [Previous line repeated 996 more times]\n" in result.stderr
    assert result.stderr.endswith("RecursionError: maximum recursion depth exceeded\n")


def test_syntax_error_has_position_line_and_caret(tmp_path):
    write(tmp_path, "x = 1\ny = (2 +\n")
    result = pvm_cmd("run", "prog.src", cwd=tmp_path)
    assert result.returncode == 2
    first = result.stderr.splitlines()[0]
    assert first.startswith("prog.src:2:")
    assert "^" in result.stderr
    assert "Traceback" not in result.stderr


def test_unsupported_feature_is_refused_before_running(tmp_path):
    write(tmp_path, "print('never printed')\nmatch x:\n    case 1:\n        pass\n")
    result = pvm_cmd("run", "prog.src", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("prog.src:2:1: ")
    assert "not supported" in result.stderr.splitlines()[0]


def test_check_and_dis(tmp_path):
    write(tmp_path, "def f(a):\n    return a + 1\nprint(f(1))\n")
    assert pvm_cmd("check", "prog.src", cwd=tmp_path).returncode == 0
    result = pvm_cmd("dis", "prog.src", cwd=tmp_path)
    assert result.returncode == 0
    assert "MAKE_FUNCTION" in result.stdout and "BINARY_OP" in result.stdout and "RETURN_VALUE" in result.stdout
    assert "Disassembly of f" in result.stdout


def test_dis_shows_the_exception_table(tmp_path):
    write(tmp_path, "try:\n    x = 1 // 0\nexcept ZeroDivisionError:\n    x = 0\n")
    result = pvm_cmd("dis", "prog.src", cwd=tmp_path)
    lines = result.stdout.splitlines()
    table = lines[lines.index("ExceptionTable:") + 1:]
    assert table[0].startswith("  0 to ") and "PUSH_EXC_INFO" in result.stdout
    handler = int(table[0].split("-> ")[1].split()[0])
    assert any(line.split()[2:4] == [str(handler), "PUSH_EXC_INFO"] for line in lines if ">>" in line)


def test_missing_file_is_a_usage_error(tmp_path):
    result = pvm_cmd("run", "nope.src", cwd=tmp_path)
    assert result.returncode == 2
    assert "nope.src" in result.stderr and "Traceback" not in result.stderr


def test_bad_usage_exits_2():
    assert pvm_cmd("frobnicate").returncode == 2


def test_non_utf8_source_is_a_syntax_error(tmp_path):
    (tmp_path / "prog.src").write_bytes(b"x = '\xff\xfe'\n")
    result = pvm_cmd("run", "prog.src", cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_repl_echoes_values_and_survives_errors():
    session = "1 + 2\nx = 5\nx * 2\n'a' + 1\nfor i in range(2):\n    print(i)\n\nx\nNone\n"
    result = pvm_cmd("repl", stdin=session)
    assert result.returncode == 0
    assert result.stdout == "3\n10\n0\n1\n5\n"
    assert 'TypeError: can only concatenate str (not "int") to str' in result.stderr
    assert "pvm/" not in result.stderr


def test_repl_reads_a_decorated_definition_to_its_blank_line():
    session = "@(lambda f: lambda *a, **k: f(*a, **k) + 1)\ndef g(x, *, y=1):\n    return x * y\n\ng(2, y=5)\n"
    result = pvm_cmd("repl", stdin=session)
    assert (result.returncode, result.stdout, result.stderr.count("Error")) == (0, "11\n", 0)


def test_repl_reports_syntax_errors_and_continues():
    result = pvm_cmd(stdin="1 +\n2 * 3\n")
    assert result.returncode == 0
    assert result.stdout == "6\n"
    assert "<stdin>:1:" in result.stderr


def test_max_memory_ends_an_allocation_bomb_with_a_limit_error(tmp_path):
    write(tmp_path, "print('start')\nx = [0] * 10 ** 9\n")
    result = pvm_cmd("run", "--max-memory", "64M", "prog.src", cwd=tmp_path)
    assert result.returncode == 3
    assert result.stdout == "start\n"
    assert result.stderr.splitlines()[:3] == [
        "Traceback (most recent call last):", '  File "prog.src", line 2, in <module>', "    x = [0] * 10 ** 9"]
    assert result.stderr.splitlines()[3].startswith("pvm: memory limit of 67108864 bytes exceeded (80000")


@pytest.mark.parametrize("flags, source, last_line", [
    (["--max-steps", "1e5"], "while True:\n    pass\n", "pvm: step limit of 100000 steps exceeded (100001 steps used)"),
    (["--max-depth", "40"], "def f(n):\n    return f(n + 1)\nf(0)\n",
     "pvm: depth limit of 40 frames exceeded (41 frames used)"),
    (["--timeout", "0.3"], "while True:\n    pass\n", "pvm: time limit of 0.3 s exceeded"),
    (["--max-output", "1K"], "while True:\n    print('x' * 99)\n", "pvm: output limit of 1024 bytes exceeded"),
])
@pytest.mark.parametrize("jit", ["off", "eager"])
def test_limit_flags_stop_the_run_with_exit_status_3(tmp_path, flags, source, last_line, jit):
    write(tmp_path, source)
    result = pvm_cmd("run", f"--jit={jit}", *flags, "prog.src", cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert result.stderr.splitlines()[0] == "Traceback (most recent call last):"
    assert result.stderr.splitlines()[-1].startswith(last_line)
    if "--max-output" in flags:
        assert len(result.stdout) == 1000


def test_limit_flags_refuse_nonsense(tmp_path):
    write(tmp_path, "pass\n")
    for flags in (["--max-steps", "0"], ["--max-depth", "many"], ["--timeout", "-1"], ["--timeout", "inf"]):
        result = pvm_cmd("run", *flags, "prog.src", cwd=tmp_path)
        assert result.returncode == 2 and "error: argument" in result.stderr, flags


def test_garbage_heavy_program_fits_a_small_heap(tmp_path):
    write(tmp_path, "i = 0\nwhile i < 2000:\n    junk = [i] * 1000\n    i += 1\nprint(i)\n")
    result = pvm_cmd("run", "--max-memory", "1M", "--stats", "prog.src", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "2000\n"
    stats = dict(line.split(": ", 1) for line in result.stderr.splitlines())
    assert set(stats) == {"collections", "total pause", "max pause", "bytes allocated", "peak live bytes",
                          "objects freed"}
    assert int(stats["collections"]) > 0 and int(stats["objects freed"]) > 0
    assert int(stats["bytes allocated"]) > 15 * 1024 * 1024 > 1024 * 1024 >= int(stats["peak live bytes"])


def test_bad_size_is_a_usage_error(tmp_path):
    write(tmp_path, "pass\n")
    result = pvm_cmd("run", "--max-memory", "lots", "prog.src", cwd=tmp_path)
    assert result.returncode == 2 and "invalid size" in result.stderr


def test_jit_modes_give_identical_output_and_a_log(tmp_path):
    write(tmp_path, "def f(n):\n    s = 0\n    for i in range(n):\n        s += i * i\n    return s\n"
                    "print([f(k) for k in range(5)], f(10 ** 5))\n")
    outputs = {mode: pvm_cmd("run", f"--jit={mode}", "prog.src", cwd=tmp_path) for mode in ("off", "on", "eager")}
    assert {result.returncode for result in outputs.values()} == {0}
    assert len({result.stdout for result in outputs.values()}) == 1
    logged = pvm_cmd("run", "--jit=eager", "--jit-log", "prog.src", cwd=tmp_path)
    assert "f(int): tier 1" in logged.stderr and logged.stderr.endswith("\n")     # the log's last line is whole
    assert pvm_cmd("run", "--jit=fast", "prog.src", cwd=tmp_path).returncode == 2


def test_the_command_leaves_what_the_run_made_to_be_freed_without_cpythons_collector(tmp_path, monkeypatch, capsys):
    import gc

    from pvm import cli
    program = tmp_path / "big.src"
    program.write_text("flags = [[i] for i in range(1000)]\nprint(len(flags))\n")
    monkeypatch.setattr(sys, "argv", ["pvm", "run", str(program)])
    gc.unfreeze()
    try:
        assert cli.console() == 0
        assert capsys.readouterr().out == "1000\n"
        assert gc.get_freeze_count() > 0     # every object tracked now is out of the collections at exit
    finally:
        gc.unfreeze()
