"""The disassembler behind ``pvm dis``: one line per instruction, derived
from the opcode table, nested code objects after their parent. ``pvm dis
--quickened`` shows tier 0's own lists after a run instead: superinstructions
where the pre-decoder fused a pair."""

from __future__ import annotations

from pvm.code import CO_VARARGS, CO_VARKEYWORDS, Code
from pvm.opcodes import BINARY_OPERATORS, COMPARE_OPERATORS, OPCODES, Operand


def _describe(code: Code, operand: Operand, arg: int) -> str:
    """The human reading of an operand, by its kind in the table."""
    if operand is Operand.CONST:
        value = code.consts[arg]
        return f"<code {value.name}>" if isinstance(value, Code) else repr(value)
    if operand is Operand.LOCAL:
        return code.varnames[arg]
    if operand is Operand.CELL:
        return (code.cellvars + code.freevars)[arg]
    if operand is Operand.NAME:
        return code.names[arg]
    if operand is Operand.JUMP:
        return f"to {arg}"
    if operand is Operand.BINOP:
        return BINARY_OPERATORS[arg][0]
    if operand is Operand.CMPOP:
        return COMPARE_OPERATORS[arg][0]
    return ""


def disassemble(code: Code) -> str:
    """The listing of ``code`` and, after it, of every code object nested in it."""
    params = f"args={code.argcount}"
    if code.kwonlyargcount:
        params += f" kwonly={code.kwonlyargcount}"
    if code.flags & CO_VARARGS:
        params += " *args"
    if code.flags & CO_VARKEYWORDS:
        params += " **kwargs"
    out = [f"Disassembly of {code.qualname} ({code.filename}:{code.firstlineno}), "
           f"{params} locals={len(code.varnames)} max_stack={code.max_stack}"]
    targets = {arg for op, arg in zip(code.ops, code.args) if OPCODES[op].operand is Operand.JUMP}
    targets.update(handler for _, _, handler, _ in code.exception_table)
    last_line = None
    for index, (op, arg) in enumerate(zip(code.ops, code.args)):
        info = OPCODES[op]
        line = code.line_at(index)
        line_text = "|" if line == last_line else str(line)
        last_line = line
        marker = ">>" if index in targets else ""
        operand = "" if info.operand is Operand.NONE else str(arg)
        description = _describe(code, info.operand, arg)
        text = f"{line_text:>5} {marker:>2} {index:>5} {info.name:<22} {operand:>5}"
        out.append(f"{text} ({description})" if description else text.rstrip())
    if code.exception_table:
        out.append("ExceptionTable:")
        out.extend(f"  {start} to {end - 1} -> {handler} [{depth}]" for start, end, handler, depth in code.exception_table)
    listing = "\n".join(out) + "\n"
    for const in code.consts:
        if isinstance(const, Code):
            listing += "\n" + disassemble(const)
    return listing


def disassemble_quickened(code: Code) -> str:
    """Tier 0's instruction list of ``code`` and of every nested code object that
    ran (the others were never quickened); a superinstruction's operand shows
    both halves, the second half's own line follows it for jumps that land there."""
    listing = ""
    if code.quickened is not None:
        out = [f"Quickened {code.qualname} ({code.filename}:{code.firstlineno})"]
        for index, (op, _) in enumerate(code.quickened):
            info = OPCODES[op]
            if info.operand is Operand.PAIR:
                halves = [_describe(code, OPCODES[code.ops[i]].operand, code.args[i]) for i in (index, index + 1)]
                description = "; ".join(halves)
            else:
                description = _describe(code, info.operand, code.args[index])
            text = f"{code.line_at(index):>5} {index:>5} {info.name:<30}"
            out.append(f"{text} ({description})" if description else text.rstrip())
        listing = "\n".join(out) + "\n"
    for const in code.consts:
        if isinstance(const, Code):
            nested = disassemble_quickened(const)
            listing += ("\n" if listing and nested else "") + nested
    return listing
