"""Finding and compiling source modules: the one place the runtime reaches
the front end (the interpreter gets ``load_module`` injected)."""

from __future__ import annotations

import os

from pvm.code import Code
from pvm.errors import PvmSyntaxError


def read_source(path: str) -> str:
    """A source file's text; undecodable bytes are a syntax error, as in CPython."""
    with open(path, "rb") as handle:
        data = handle.read()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise PvmSyntaxError(f"(unicode error) 'utf-8' codec can't decode byte {data[exc.start]:#x} "
                             f"in position {exc.start}: {exc.reason}", path, line, 1) from None


def compile_file(path: str) -> Code:
    from lang import compile_source  # the front end is loaded only when there is source to compile

    return compile_source(read_source(path), path)


def load_module(name: str, search_path: list[str]) -> tuple[Code, str] | None:
    """Compile ``NAME.src`` from the first folder of ``search_path`` that has it."""
    for folder in search_path:
        candidate = os.path.join(folder, name + ".src")
        if os.path.isfile(candidate):
            return compile_file(candidate), candidate
    return None
