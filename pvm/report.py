"""Rendering errors for people: CPython-style tracebacks of script frames and
positioned syntax errors. Never a traceback of pvm itself."""

from __future__ import annotations

import linecache

from pvm.attributes import attribute_suggestion, closest_name
from pvm.errors import ScriptError, TracebackEntry, exception_type_name
from pvm.unwind import traceback_of

REPEAT_THRESHOLD = 3   # CPython prints a repeated frame three times, then a count


def source_line(filename: str, line: int) -> str:
    return linecache.getline(filename, line).strip()


def _entry_lines(entry: TracebackEntry) -> list[str]:
    lines = [f'  File "{entry.filename}", line {entry.line}, in {entry.name}']
    text = source_line(entry.filename, entry.line)
    if text:
        lines.append(f"    {text}")
    return lines


def suggestion(exc: BaseException) -> str | None:
    """The name CPython 3.11 offers after a NameError or AttributeError ("Did you mean")."""
    if isinstance(exc, AttributeError):
        return attribute_suggestion(exc)
    scopes = getattr(exc, "pvm_scopes", None)
    if isinstance(exc, NameError) and scopes:
        for names in scopes:   # the frame's locals, then globals, then builtins, as CPython
            found = closest_name(exc.name, names)
            if found is not None:
                return found
    return None


def format_exception_only(exc: BaseException) -> str:
    message = str(exc)
    name = exception_type_name(exc)
    hint = suggestion(exc)
    if hint is not None:
        message += f". Did you mean: '{hint}'?"
    return f"{name}: {message}" if message else name


def format_traceback(entries: list[TracebackEntry]) -> list[str]:
    """"Traceback (most recent call last):" and the frames, repeats collapsed as CPython does."""
    out = ["Traceback (most recent call last):"]
    previous: TracebackEntry | None = None
    repeats = 0
    for entry in entries:
        if entry == previous:
            repeats += 1
            if repeats >= REPEAT_THRESHOLD:
                continue
        else:
            _flush_repeats(out, repeats)
            repeats = 0
        previous = entry
        out.extend(_entry_lines(entry))
    _flush_repeats(out, repeats)
    return out


def format_script_error(error: ScriptError) -> str:
    """The text CPython prints for an uncaught exception, limited to script
    frames, with the exceptions it was chained to before it."""
    out: list[str] = []
    _format_chain(error.exception, error.traceback, out, set())
    return "\n".join(out) + "\n"


_CAUSE = "\nThe above exception was the direct cause of the following exception:\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n"


def _format_chain(exc: BaseException, entries: list[TracebackEntry], out: list[str], seen: set[int]) -> None:
    seen.add(id(exc))
    cause, context = exc.__cause__, exc.__context__
    if cause is not None and id(cause) not in seen:
        _format_chain(cause, traceback_of(cause), out, seen)
        out.append(_CAUSE)
    elif context is not None and not exc.__suppress_context__ and id(context) not in seen:
        _format_chain(context, traceback_of(context), out, seen)
        out.append(_CONTEXT)
    if entries:
        out.extend(format_traceback(entries))
    out.append(format_exception_only(exc))


def _flush_repeats(out: list[str], repeats: int) -> None:
    hidden = repeats - (REPEAT_THRESHOLD - 1)
    if hidden > 0:
        out.append(f"  [Previous line repeated {hidden} more time{'s' if hidden > 1 else ''}]")
