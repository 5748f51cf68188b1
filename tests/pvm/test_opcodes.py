"""The opcode table is the single source of truth: every row must be handled
by the interpreter, described by the disassembler, usable by the compiler's
stack-depth computation, and emitted for some program of the corpus."""

import inspect
from pathlib import Path

import pytest

from pvm import frames, handlers, interp
from pvm.code import Code
from pvm.dis import disassemble
from lang import compile_source
from pvm.frames import quicken
from pvm.opcodes import OPCODES, SUPERINSTRUCTIONS, Flag, Op, Operand

PROGRAMS = Path(__file__).resolve().parents[1] / "programs"


def test_numbers_are_dense_and_match_enum():
    assert [info.number for info in OPCODES] == list(range(len(OPCODES)))
    assert [info.name for info in OPCODES] == [op.name for op in Op]


@pytest.mark.parametrize("info", OPCODES, ids=lambda info: info.name)
def test_interpreter_handles_every_opcode(info):
    hot = Op(info.number) in interp.HOT_OPCODES
    rare = handlers.HANDLERS[info.number] is not handlers._missing
    assert hot != rare, f"{info.name} must be handled exactly once (hot={hot}, rare={rare})"
    if hot:
        assert f"Op.{info.name}.value" in inspect.getsource(interp.Interpreter._execute)
    else:
        assert handlers.HANDLERS[info.number].__name__ == f"op_{info.name}"


@pytest.mark.parametrize("info", OPCODES, ids=lambda info: info.name)
def test_stack_effects_are_defined(info):
    for arg in (0, 1, 2, 3, 0x0102):
        assert isinstance(info.effect(arg), int)
        if info.flags & Flag.JUMP:
            assert info.jump_effect is not None and isinstance(info.jump_effect(arg), int)
        else:
            assert info.jump_effect is None


def _every_opcode_code() -> Code:
    count = len(OPCODES)
    return Code(name="all", qualname="all", filename="t.src", firstlineno=1, argcount=0,
                varnames=("v",), cellvars=("c",), freevars=(), cell_params=(-1,), names=("n",),
                consts=(None,), ops=tuple(range(count)), args=tuple(0 for _ in range(count)),
                linetable=((0, 1),), max_stack=4)


def test_disassembler_names_every_opcode():
    known = {info.name for info in OPCODES}
    lines = disassemble(_every_opcode_code()).splitlines()[1:]
    names = [next(word for word in line.split() if word in known) for line in lines]
    assert names == [info.name for info in OPCODES]


def test_decoder_resolves_every_operand_kind():
    decoded = frames.decode(_every_opcode_code())
    for (op, arg), info in zip(decoded, OPCODES):
        if info.operand is Operand.NAME:
            assert arg == "n"
        elif info.operand is Operand.CONST:
            assert arg is None
        elif info.operand in (Operand.BINOP, Operand.CMPOP):
            assert callable(arg)


def test_compiler_emits_every_opcode_over_the_corpus():

    seen: set[int] = set()

    def walk(code: Code) -> None:
        seen.update(code.ops)
        for const in code.consts:
            if isinstance(const, Code):
                walk(const)

    sources = sorted(PROGRAMS.rglob("*.src"))
    assert sources, "the program corpus is missing"
    for path in sources:
        if "compile_errors" in path.parts:
            continue
        walk(compile_source(path.read_text(), str(path)))
    missing = [info.name for info in OPCODES if info.number not in seen and not info.flags & Flag.SUPER]
    assert not missing, f"opcodes never emitted for the corpus: {missing}"
    fused = {op for op in seen if OPCODES[op].flags & Flag.SUPER}
    assert not fused, "the compiler emitted superinstructions, which only the pre-decoder makes"


def test_superinstructions_are_fused_and_keep_every_jump_target():
    source = "def f(n):\n    s = 0\n    i = 0\n    while i < n:\n        s = s + i * i\n        i = i + 1\n    return s\n"
    code = next(c for c in compile_source(source, "t.src").consts if isinstance(c, Code))
    decoded = quicken(code)
    names = [OPCODES[op].name for op, _ in decoded]
    assert {"LOAD_FAST__LOAD_FAST", "COMPARE_OP__POP_JUMP_IF_FALSE", "BINARY_OP__STORE_FAST"} <= set(names)
    for index, (op, arg) in enumerate(decoded):
        base = OPCODES[code.ops[index]].name
        if OPCODES[op].flags & Flag.SUPER:
            assert SUPERINSTRUCTIONS[OPCODES[op].name][0] == base   # the first half, where it was
            assert SUPERINSTRUCTIONS[OPCODES[op].name][1] == OPCODES[code.ops[index + 1]].name
        else:
            assert OPCODES[op].name == base      # every other instruction, jump targets included, unchanged


def test_superinstructions_are_the_last_rows():
    """The loop tests `op >= FIRST_SUPER` once to reach them: they must end the table."""
    first = min(Op[name] for name in SUPERINSTRUCTIONS)
    assert all(bool(info.flags & Flag.SUPER) == (info.number >= first) for info in OPCODES)


def test_stack_shuffles_are_the_first_rows():
    """The loop reaches POP_TOP, COPY and SWAP with one test, `op <= SWAP`."""
    assert [info.name for info in OPCODES if info.number <= Op.SWAP] == ["POP_TOP", "COPY", "SWAP"]
