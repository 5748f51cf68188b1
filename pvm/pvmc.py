"""The .pvmc file format: compiled modules on disk, independent of pickle.

A ``.pvmc`` file holds one module's code object (nested functions are
constants inside it) behind a header that says which pvm wrote it, for which
opcode table, from which source, with a CRC-32 over everything after the
checksum field. The layout is documented in docs/bytecode.md; this module is
its one reader and writer.

Writing is deterministic: the same code object always gives the same bytes,
so compiling the same source twice is reproducible. Reading trusts nothing:
every length is bounded by the bytes that remain, nesting is bounded, and any
damage is an ``InvalidBytecode`` naming what is wrong, never a host exception.
A file that decodes is still unverified: the loader runs ``pvm.verify`` on it.
"""

from __future__ import annotations

import struct
import zlib

try:    # CPython's own SHA-256: hashlib would load OpenSSL first, 4 ms of every start-up
    from _sha256 import sha256
except ImportError:
    from hashlib import sha256
from typing import Any, NamedTuple

import pvm
from pvm.code import Code
from pvm.errors import PvmError
from pvm.opcodes import OPCODES

MAGIC = b"\x89PVM\r\n\x1a\n"        # high bit, CRLF and ^Z catch text-mode transfers, as PNG's does
FORMAT_VERSION = 3                  # 2: kwonlyargcount and an exception table; 3: Level 3 opcodes, CO_DOCSTRING
HEADER_SIZE = 53                    # bytes before the pvm version string
MAX_FILE_BYTES = 1 << 28
MAX_NESTING = 256                   # code objects and constant tuples inside each other
RECOMPILE = "recompile it from its source with 'pvm compile'"

# Constant tags (one byte each).
_NONE, _FALSE, _TRUE, _ELLIPSIS = b"N", b"F", b"T", b"."
_INT, _FLOAT, _STR, _TUPLE, _CODE = b"i", b"f", b"s", b"t", b"c"
_FLOAT_STRUCT = struct.Struct("<d")


class InvalidBytecode(PvmError):
    """A compiled file or code object pvm refuses to run: not a .pvmc file, the
    wrong version, damaged, or rejected by the verifier. Rendered by the CLI as
    ``pvm: invalid bytecode in FILE: REASON`` (exit status 2)."""

    def __init__(self, reason: str, filename: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.filename = filename

    def render(self) -> str:
        return f"pvm: invalid bytecode in {self.filename or '<code>'}: {self.reason}"


def opcode_digest() -> bytes:
    """4 bytes that change whenever an opcode is added, removed, renumbered or
    changes operand kind: files from another table are refused, not misread."""
    table = ";".join(f"{info.number}:{info.name}:{info.operand.value}" for info in OPCODES)
    return sha256(table.encode()).digest()[:4]


def source_digest(source: bytes) -> bytes:
    """The SHA-256 of a module's source bytes, as stored in the header."""
    return sha256(source).digest()


class Header(NamedTuple):
    format_version: int
    pvm_version: str
    opcode_digest: bytes
    source_sha256: bytes


# --- Writing ---

def _uint(out: bytearray, value: int) -> None:
    """Unsigned LEB128."""
    if value < 0:
        raise InvalidBytecode(f"cannot write negative value {value}")
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return


def _str(out: bytearray, text: str) -> None:
    if type(text) is not str:
        raise InvalidBytecode(f"expected a str, got {type(text).__name__}")
    data = text.encode("utf-8", "surrogatepass")
    _uint(out, len(data))
    out += data


def _strs(out: bytearray, items: tuple[str, ...]) -> None:
    _uint(out, len(items))
    for item in items:
        _str(out, item)


def _const(out: bytearray, value: Any, depth: int) -> None:
    if depth > MAX_NESTING:
        raise InvalidBytecode(f"constants nested more than {MAX_NESTING} deep (or a cycle)")
    kind = type(value)
    if value is None:
        out += _NONE
    elif kind is bool:
        out += _TRUE if value else _FALSE
    elif value is Ellipsis:
        out += _ELLIPSIS
    elif kind is int:
        data = value.to_bytes((value.bit_length() + 8) // 8, "little", signed=True) if value else b""
        out += _INT
        _uint(out, len(data))
        out += data
    elif kind is float:
        out += _FLOAT + _FLOAT_STRUCT.pack(value)
    elif kind is str:
        out += _STR
        _str(out, value)
    elif kind is tuple:
        out += _TUPLE
        _uint(out, len(value))
        for item in value:
            _const(out, item, depth + 1)
    elif kind is Code:
        out += _CODE
        _code(out, value, depth + 1)
    else:
        raise InvalidBytecode(f"cannot write a constant of type {kind.__name__}")


def _code(out: bytearray, code: Code, depth: int) -> None:
    _str(out, code.name)
    _str(out, code.qualname)
    _str(out, code.filename)
    for number in (code.firstlineno, code.argcount, code.kwonlyargcount, code.flags, code.max_stack):
        _uint(out, number)
    _strs(out, code.varnames)
    _strs(out, code.cellvars)
    _strs(out, code.freevars)
    _uint(out, len(code.cell_params))
    for param in code.cell_params:
        _uint(out, param + 1)
    _strs(out, code.names)
    _uint(out, len(code.consts))
    for value in code.consts:
        _const(out, value, depth)
    if len(code.ops) != len(code.args):
        raise InvalidBytecode(f"{code.qualname}: {len(code.ops)} opcodes but {len(code.args)} operands")
    _uint(out, len(code.ops))
    for op, arg in zip(code.ops, code.args):
        if not 0 <= op <= 255:
            raise InvalidBytecode(f"{code.qualname}: opcode {op} does not fit a byte")
        out.append(op)
        _uint(out, arg)
    _uint(out, len(code.linetable))
    for start, line in code.linetable:
        _uint(out, start)
        _uint(out, line)
    _uint(out, len(code.exception_table))
    for entry in code.exception_table:
        for number in entry:
            _uint(out, number)


def seal(body: bytes) -> bytes:
    """Header prefix (magic, format version, flags) + the CRC-32 of ``body`` +
    ``body`` (everything the checksum covers)."""
    prefix = MAGIC + struct.pack("<HH", FORMAT_VERSION, 0)
    return prefix + struct.pack("<I", zlib.crc32(body)) + body


def reseal(data: bytes) -> bytes:
    """``data`` with its checksum recomputed: the fuzz tests make mutated
    files pass the checksum so that the reader and verifier are what they test."""
    return data[:12] + struct.pack("<I", zlib.crc32(data[16:])) + data[16:]


def dumps(code: Code, source: bytes = b"") -> bytes:
    """The .pvmc bytes of module ``code``, compiled from ``source``."""
    version = pvm.__version__.encode("ascii")
    body = bytearray(opcode_digest() + source_digest(source))
    body.append(len(version))
    body += version
    _code(body, code, 1)
    return seal(bytes(body))


# --- Reading ---

class _Reader:
    """A cursor over the payload; every read is bounds-checked."""

    def __init__(self, data: bytes, pos: int, code_filename: str | None) -> None:
        self.data = data
        self.pos = pos
        self.code_filename = code_filename

    def fail(self, what: str) -> InvalidBytecode:
        return InvalidBytecode(f"{what} (at byte {self.pos})")

    def take(self, count: int, what: str) -> bytes:
        end = self.pos + count
        if end > len(self.data):
            raise self.fail(f"truncated file: {what} needs {count} bytes, {len(self.data) - self.pos} left")
        chunk = self.data[self.pos:end]
        self.pos = end
        return chunk

    def uint(self, what: str) -> int:
        value = shift = 0
        data, pos = self.data, self.pos
        while True:
            if pos >= len(data):
                raise self.fail(f"truncated file in {what}")
            byte = data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                self.pos = pos
                return value
            shift += 7
            if shift >= 35:
                raise self.fail(f"{what}: integer encoding longer than 5 bytes")

    def count(self, what: str) -> int:
        """A number of items that follow: each takes at least a byte."""
        value = self.uint(what)
        if value > len(self.data) - self.pos:
            raise self.fail(f"{what}: count {value} exceeds the {len(self.data) - self.pos} bytes left")
        return value

    def str(self, what: str) -> str:
        data = self.take(self.count(what), what)
        try:
            return data.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError as exc:
            raise self.fail(f"{what}: invalid UTF-8 ({exc.reason})") from None

    def strs(self, what: str) -> tuple[str, ...]:
        return tuple(self.str(what) for _ in range(self.count(what)))

    def const(self, depth: int) -> Any:
        if depth > MAX_NESTING:
            raise self.fail(f"constants nested more than {MAX_NESTING} deep")
        tag = self.take(1, "constant tag")
        if tag == _NONE:
            return None
        if tag == _FALSE:
            return False
        if tag == _TRUE:
            return True
        if tag == _ELLIPSIS:
            return Ellipsis
        if tag == _INT:
            return int.from_bytes(self.take(self.count("int constant"), "int constant"), "little", signed=True)
        if tag == _FLOAT:
            return _FLOAT_STRUCT.unpack(self.take(8, "float constant"))[0]
        if tag == _STR:
            return self.str("str constant")
        if tag == _TUPLE:
            return tuple(self.tuple_item(depth) for _ in range(self.count("tuple constant")))
        if tag == _CODE:
            return self.code(depth + 1)
        raise self.fail(f"unknown constant tag {tag!r}")

    def tuple_item(self, depth: int) -> Any:
        if self.data[self.pos:self.pos + 1] == _CODE:
            raise self.fail("a code object inside a tuple constant")
        return self.const(depth + 1)

    def code(self, depth: int) -> Code:
        name = self.str("code name")
        qualname = self.str("code qualname")
        filename = self.str("code filename")
        firstlineno, argcount, kwonlyargcount, flags, max_stack = (
            self.uint(what) for what in ("firstlineno", "argcount", "kwonlyargcount", "flags", "max_stack"))
        varnames = self.strs("varnames")
        cellvars = self.strs("cellvars")
        freevars = self.strs("freevars")
        cell_params = tuple(self.uint("cell_params") - 1 for _ in range(self.count("cell_params")))
        names = self.strs("names")
        consts = tuple(self.const(depth) for _ in range(self.count("consts")))
        ops: list[int] = []
        args: list[int] = []
        for _ in range(self.count("instructions")):
            ops.append(self.take(1, "opcode")[0])
            args.append(self.uint("operand"))
        linetable = tuple((self.uint("linetable"), self.uint("linetable"))
                          for _ in range(self.count("linetable")))
        exception_table = tuple(tuple(self.uint("exception table") for _ in range(4))
                                for _ in range(self.count("exception table")))
        return Code(name=name, qualname=qualname, filename=self.code_filename or filename,
                    firstlineno=firstlineno, argcount=argcount, varnames=varnames, cellvars=cellvars,
                    freevars=freevars, cell_params=cell_params, names=names, consts=consts,
                    ops=tuple(ops), args=tuple(args), linetable=linetable, max_stack=max_stack, flags=flags,
                    exception_table=exception_table, kwonlyargcount=kwonlyargcount)  # type: ignore[arg-type]


def read_header(data: bytes) -> tuple[Header, int]:
    """Check magic, format version and checksum; the header and where the code starts.

    Raises InvalidBytecode with a message that says what to do.
    """
    if len(data) > MAX_FILE_BYTES:
        raise InvalidBytecode(f"file larger than {MAX_FILE_BYTES} bytes")
    if not data.startswith(MAGIC[:len(data)]) or not data:
        raise InvalidBytecode(f"not a pvm compiled file (bad magic number); {RECOMPILE}")
    if len(data) <= HEADER_SIZE:
        raise InvalidBytecode(f"truncated header ({len(data)} bytes); {RECOMPILE}")
    version, flags, checksum = struct.unpack_from("<HHI", data, len(MAGIC))
    if version != FORMAT_VERSION:
        raise InvalidBytecode(f"format version {version}, but this pvm {pvm.__version__} reads version "
                              f"{FORMAT_VERSION}; {RECOMPILE}")
    if zlib.crc32(data[16:]) != checksum:
        raise InvalidBytecode(f"checksum mismatch: the file is damaged; {RECOMPILE}")
    if flags:
        raise InvalidBytecode(f"unknown header flags {flags:#x}; {RECOMPILE}")
    digest, source_sha = data[16:20], data[20:52]
    length = data[52]
    if HEADER_SIZE + length > len(data):
        raise InvalidBytecode(f"truncated header; {RECOMPILE}")
    try:
        writer = data[HEADER_SIZE:HEADER_SIZE + length].decode("ascii")
    except UnicodeDecodeError:
        raise InvalidBytecode(f"unreadable pvm version in the header; {RECOMPILE}") from None
    if writer != pvm.__version__ or digest != opcode_digest():
        what = "a different opcode table" if writer == pvm.__version__ else f"pvm {writer}"
        raise InvalidBytecode(f"compiled by {what}, this is pvm {pvm.__version__}; {RECOMPILE}")
    return Header(version, writer, digest, source_sha), HEADER_SIZE + length


def loads(data: bytes, code_filename: str | None = None) -> tuple[Code, Header]:
    """Decode a .pvmc file: its module code (unverified) and header.

    ``code_filename`` replaces the source path recorded in every code object
    (the import cache uses it when a source tree has moved).
    """
    header, start = read_header(data)
    reader = _Reader(data, start, code_filename)
    try:
        code = reader.code(1)
    except RecursionError:
        raise InvalidBytecode("nesting too deep") from None
    if reader.pos != len(data):
        raise InvalidBytecode(f"{len(data) - reader.pos} unexpected bytes after the module code")
    return code, header
