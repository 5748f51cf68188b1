"""Finding, compiling, caching and loading modules: the one place the runtime
reaches the front end (the interpreter gets ``load_source_module`` injected), and the
one place code enters the VM, so every code object is verified here, once,
before it can run.

Imports, and the program ``pvm run`` starts with, go through a cache of
compiled modules, as CPython's __pycache__ (which CPython keeps for imports only):
``DIR/__pycache__/NAME.pvmN.pvmc`` (N: the .pvmc format version) next to
``DIR/NAME.src``. A cached file is used only if the SHA-256 of the source it
was compiled from matches the source now; a stale, damaged or foreign cache
file is silently recompiled and replaced. Set ``PVM_NO_CACHE=1`` to neither
read nor write it. Writing is best effort (a read-only folder just goes
uncached) and atomic (a temporary file renamed into place).
"""

from __future__ import annotations

import os

from pvm import pvmc
from pvm.code import Code
from pvm.errors import PvmSyntaxError
from pvm.pvmc import InvalidBytecode
from pvm.verify import verify

CACHE_DIR = "__pycache__"
COMPILED_SUFFIX = ".pvmc"


def decode_source(data: bytes, path: str) -> str:
    """A source file's text; undecodable bytes are a syntax error, as in CPython."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise PvmSyntaxError(f"(unicode error) 'utf-8' codec can't decode byte {data[exc.start]:#x} "
                             f"in position {exc.start}: {exc.reason}", path, line, 1) from None


def read_source(path: str) -> str:
    with open(path, "rb") as handle:
        return decode_source(handle.read(), path)


def compile_bytes(data: bytes, path: str) -> Code:
    """Compile and verify source bytes read from ``path``."""
    from lang import compile_source  # the front end is loaded only when there is source to compile

    code = compile_source(decode_source(data, path), path)
    verify(code, path)
    return code


def compile_file(path: str) -> Code:
    with open(path, "rb") as handle:
        return compile_bytes(handle.read(), path)


def read_bounded(path: str) -> bytes:
    """A compiled file's bytes, refusing absurd sizes before reading them."""
    with open(path, "rb") as handle:
        data = handle.read(pvmc.MAX_FILE_BYTES + 1)
    if len(data) > pvmc.MAX_FILE_BYTES:
        raise InvalidBytecode(f"file larger than {pvmc.MAX_FILE_BYTES} bytes", path)
    return data


def load_compiled(path: str) -> Code:
    """Read and verify a .pvmc file; InvalidBytecode if pvm must not run it."""
    data = read_bounded(path)
    try:
        code, _ = pvmc.loads(data)
        verify(code)
    except InvalidBytecode as error:
        error.filename = path
        raise
    return code


def is_compiled(path: str) -> bool:
    """Whether ``path`` is a compiled file: by its suffix or its magic number."""
    if path.endswith(COMPILED_SUFFIX):
        return True
    with open(path, "rb") as handle:
        return handle.read(len(pvmc.MAGIC)) == pvmc.MAGIC


def load_program(path: str) -> Code:
    """The verified module code of a program given as source (through the
    cache, as an imported module: a cached run never loads the front end) or
    as a .pvmc file."""
    return load_compiled(path) if is_compiled(path) else load_source_module(path)


def compile_to(source_path: str, output_path: str) -> None:
    """``pvm compile``: write the .pvmc of ``source_path`` (atomically)."""
    with open(source_path, "rb") as handle:
        data = handle.read()
    write_atomic(output_path, pvmc.dumps(compile_bytes(data, source_path), data))


def write_atomic(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file renamed into place."""
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def cache_enabled() -> bool:
    return not os.environ.get("PVM_NO_CACHE")


def cache_path(source_path: str) -> str:
    """Where the compiled form of ``DIR/NAME.src`` (or ``NAME.py``) is cached."""
    folder, base = os.path.split(source_path)
    name = os.path.splitext(base)[0]
    return os.path.join(folder, CACHE_DIR, f"{name}.pvm{pvmc.FORMAT_VERSION}{COMPILED_SUFFIX}")


def _load_cached(source_path: str, data: bytes) -> Code | None:
    """The cached code for these source bytes, or None (missing, stale, damaged)."""
    try:
        blob = read_bounded(cache_path(source_path))
        header, _ = pvmc.read_header(blob)
        if header.source_sha256 != pvmc.source_digest(data):
            return None
        code, _ = pvmc.loads(blob, code_filename=source_path)
        verify(code, source_path)
    except (OSError, InvalidBytecode):
        return None
    return code


def load_source_module(path: str) -> Code:
    """The verified code of module source ``path``, through the cache."""
    with open(path, "rb") as handle:
        data = handle.read()
    if not cache_enabled():
        return compile_bytes(data, path)
    code = _load_cached(path, data)
    if code is None:
        code = compile_bytes(data, path)
        try:
            os.makedirs(os.path.join(os.path.dirname(path), CACHE_DIR), exist_ok=True)
            write_atomic(cache_path(path), pvmc.dumps(code, data))
        except OSError:
            pass
    return code


MODULE_SUFFIXES = (".src", ".py")
PACKAGE_INITS = tuple("__init__" + suffix for suffix in MODULE_SUFFIXES)


def find_module(name: str, folders: list[str]) -> tuple[str, str | None] | None:
    """Where module ``name`` (one component) lives: (file, package folder or None).

    As CPython's path finder: the first folder that has it wins; within a
    folder a package (NAME/ holding __init__.src or __init__.py) comes before
    NAME.src, which comes before NAME.py.
    """
    for folder in folders:
        package = os.path.join(folder, name)
        for init in PACKAGE_INITS:
            if os.path.isfile(os.path.join(package, init)):
                return os.path.join(package, init), package
        for suffix in MODULE_SUFFIXES:
            candidate = package + suffix
            if os.path.isfile(candidate):
                return candidate, None
    return None
