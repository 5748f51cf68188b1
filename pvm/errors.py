"""pvm's error hierarchy: what a script author, an embedder and a pvm
developer each get to see.

``PvmSyntaxError`` and ``PvmCompileError`` are compile-time (exit status 2),
``ScriptError`` is an uncaught exception of the script (exit status 1) and
carries the script's traceback; ``VMInternalError`` is a bug in pvm and is
never shown to a script as one of its own exceptions.
"""

from __future__ import annotations

from typing import NamedTuple


class PvmError(Exception):
    """Base of every error pvm reports."""


class PvmSyntaxError(PvmError):
    """Source that does not parse, or a feature outside the subset.

    ``col`` is 1-based. ``source_line`` is the offending line's text (without
    its newline) so the caret can be drawn under ``col``.
    """

    def __init__(self, message: str, filename: str, line: int, col: int, source_line: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.filename = filename
        self.line = line
        self.col = col
        self.source_line = source_line

    def render(self) -> str:
        """``file:line:col: message``, then the source line and a caret."""
        text = f"{self.filename}:{self.line}:{self.col}: {self.message}"
        if self.source_line.strip():
            stripped = self.source_line.lstrip()
            indent = len(self.source_line) - len(stripped)
            caret = max(self.col - 1 - indent, 0)
            text += f"\n    {stripped.rstrip()}\n    {' ' * caret}^"
        return text


class PvmCompileError(PvmSyntaxError):
    """Parsed source the compiler refuses: an unsupported feature or a broken rule
    (``'return' outside function``, a limit exceeded, ...)."""


class TracebackEntry(NamedTuple):
    filename: str
    line: int
    name: str


def exception_type_name(exc: BaseException) -> str:
    """How a traceback's last line names the type: ``mod.Error`` unless it is a
    builtin or defined in the script itself, as CPython prints it."""
    kind = type(exc)
    module = kind.__module__
    return kind.__qualname__ if module in ("builtins", "__main__") else f"{module}.{kind.__qualname__}"


class ScriptError(PvmError):
    """An exception the script raised and did not catch.

    ``exception`` is the script-level exception value (a Python exception
    instance of a builtin type); ``traceback`` lists frames outermost first,
    as CPython prints them.
    """

    def __init__(self, exception: BaseException, traceback: list[TracebackEntry]) -> None:
        super().__init__(f"{exception_type_name(exception)}: {exception}")
        self.exception = exception
        self.traceback = traceback

    @property
    def type_name(self) -> str:
        return exception_type_name(self.exception)

    @property
    def message(self) -> str:
        return str(self.exception)


class VMInternalError(PvmError):
    """A bug in pvm itself, never a script's fault."""
