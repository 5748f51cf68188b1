"""Native modules ``sys`` and ``time``: what a script may know of its process.

``sys`` never reaches the host's ``sys``: ``argv`` is the script's own
arguments, ``maxsize``/``version_info`` are constants of the CPython pvm
emulates, the recursion limit is pvm's depth limit (a script may lower it, and
raise it back up to the ceiling its VM started with, never above: the
sandbox's limit or, without one, the interpreter's), and ``stdout.write`` goes
where ``print`` goes.

``time`` reads the host's clocks, so it is a capability (pvm.natives): the CLI
grants it unless ``--no-time`` is given, an embedded VM only if its embedder
asks. ``sleep`` is charged against the sandbox's timeout like any other wait.
"""

from __future__ import annotations

import sys as _host_sys
import time as _host_time
from typing import Any

from pvm.objects import Builtin


class ScriptStdout:
    """``sys.stdout`` as a script sees it: ``write`` and ``flush`` only."""

    __slots__ = ("write", "flush")

    def __init__(self, vm: Any) -> None:
        def write(text: Any) -> int:
            if type(text) is not str:
                raise TypeError(f"write() argument must be str, not {type(text).__name__}")
            vm.write(text)
            return len(text)

        self.write = Builtin("write", write)
        self.flush = Builtin("flush", lambda: None)

    def __repr__(self) -> str:
        return "<_io.TextIOWrapper name='<stdout>' mode='w' encoding='utf-8'>"


def _index(value: Any) -> int:
    if type(value) is bool or type(value) is int:
        return int(value)
    raise TypeError(f"'{type(value).__name__}' object cannot be interpreted as an integer")


def sys_module(vm: Any) -> dict[str, object]:
    ceiling, ceiling_error = vm.max_depth, vm.depth_exceeded

    def setrecursionlimit(limit: Any) -> None:
        limit = _index(limit)
        if limit < 1:
            raise ValueError("recursion limit must be greater or equal than 1")
        if limit <= vm.depth:
            raise RecursionError(f"cannot set the recursion limit to {limit} at the recursion depth "
                                 f"{vm.depth}: the limit is too low")
        if limit < ceiling:
            vm.max_depth = limit
            vm.depth_exceeded = lambda: RecursionError("maximum recursion depth exceeded")
        else:
            vm.max_depth, vm.depth_exceeded = ceiling, ceiling_error
        vm.fit_translate_depth()

    def exit(status: Any = None) -> None:
        raise SystemExit(status)

    return {
        "argv": vm.heap.new_list(vm.argv),
        "maxsize": _host_sys.maxsize,
        "version_info": _host_sys.version_info,
        "byteorder": _host_sys.byteorder,
        "setrecursionlimit": Builtin("setrecursionlimit", setrecursionlimit),
        "getrecursionlimit": Builtin("getrecursionlimit", lambda: vm.max_depth),
        "stdout": ScriptStdout(vm),
        "exit": Builtin("exit", exit),
    }


def time_module(vm: Any) -> dict[str, object]:
    def sleep(seconds: Any) -> None:
        if type(seconds) not in (int, float, bool):
            raise TypeError(f"'{type(seconds).__name__}' object cannot be interpreted as an integer")
        if seconds < 0:
            raise ValueError("sleep length must be non-negative")
        deadline = _host_time.monotonic() + seconds
        while True:     # in slices, so the sandbox's timeout can end a long sleep
            left = deadline - _host_time.monotonic()
            if left <= 0:
                return
            _host_time.sleep(min(left, 0.05))
            vm.checkpoint()

    return {name: getattr(_host_time, name) for name in
            ("time", "time_ns", "perf_counter", "perf_counter_ns", "monotonic", "monotonic_ns",
             "process_time", "process_time_ns")} | {"sleep": Builtin("sleep", sleep)}
