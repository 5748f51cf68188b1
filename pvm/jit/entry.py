"""The entry from Python into a compiled function: a native builtin.

A ctypes call costs about a microsecond, more than tier 0 needs to run a
small function, so each function version is wrapped as a CPython builtin
(``PyCFunction_NewEx`` with METH_FASTCALL, ~50 ns per call). It is called as
``entry(countdown, headroom, *args)`` with the interpreter's step countdown
and the frames left under the depth limit, and it:

1. checks the guards (each guarded global is still the object the code was
   compiled against: ``PyDict_GetItemWithError``, a borrowed reference);
2. unboxes the arguments, checking their kinds (exact int fitting int64,
   exact float, True/False, list, None);
3. runs the function and boxes its result.

On any mismatch or failure it returns the NO_NATIVE sentinel instead, with
``state[STATE_SITE]`` saying why: GUARD_FAILED, KIND_MISMATCH, TIER_UP (the
version has been entered often enough to be recompiled at tier 2), or the id
of the exit site native code stopped at. The countdown left after a
successful call is in ``state[STATE_COUNTDOWN]``.

Native code runs with the GIL held (a builtin always does), reads the
argument objects only during the call, and creates nothing but the result.
The objects it refers to (the state block, the sentinel, the guarded dicts,
names and values) are kept alive by the Version that owns the code, and are
external symbols of the module, bound to their addresses when it is loaded:
the IR, and so the machine code pvm.codecache keeps for it, is the same in
every run.
"""

from __future__ import annotations

import ctypes
from typing import Any

from llvmlite import ir

from pvm.jit import irutils as u
from pvm.jit.irutils import (F64, I8, I64, NATIVE_DEPTH, PTR, STATE_COUNTDOWN, STATE_ENTRIES, STATE_SITE,
                             STATE_SIZE, i64)
from pvm.jit.kinds import Kind

GUARD_FAILED, KIND_MISMATCH, TIER_UP = -1, -2, -3
METH_FASTCALL = 0x80


class PyMethodDef(ctypes.Structure):
    _fields_ = [("ml_name", ctypes.c_char_p), ("ml_meth", ctypes.c_void_p), ("ml_flags", ctypes.c_int),
                ("ml_doc", ctypes.c_char_p)]


_new_builtin = ctypes.pythonapi.PyCFunction_NewEx
_new_builtin.restype = ctypes.py_object
_new_builtin.argtypes = [ctypes.c_void_p, ctypes.py_object, ctypes.py_object]


# A builtin reads its PyMethodDef until it is deallocated, whenever that is:
# the definitions live as long as the process (a few dozen bytes per version).
_DEFINITIONS: list[PyMethodDef] = []


def make_builtin(name: bytes, address: int) -> Any:
    """A builtin calling the native entry at ``address``."""
    definition = PyMethodDef(name, address, METH_FASTCALL, None)
    _DEFINITIONS.append(definition)
    return _new_builtin(ctypes.addressof(definition), None, None)


class _EntryBuilder:
    """Emits the entry; implements irutils.Emitter so the unboxing helpers can fail."""

    def __init__(self, module: ir.Module, name: str, state: int, sentinel: int) -> None:
        self.module = module
        self.fn = ir.Function(module, ir.FunctionType(PTR, [PTR, PTR, I64]), name)
        self.entry = self.fn.append_basic_block("entry")
        self.b = ir.IRBuilder(self.entry)
        self.addresses: dict[str, int] = {}      # external symbol -> the address it is bound to
        # an untyped pointer, as every other pointer here (instcombine folds the casts away)
        self.state = self.b.inttoptr(self.b.ptrtoint(self._symbol(state, ir.ArrayType(I64, STATE_SIZE)), I64), PTR)
        self.sentinel = self._symbol(sentinel, I8)
        self.failures: dict[int, ir.Block] = {}

    def _symbol(self, address: int, typ: ir.Type) -> ir.Value:
        name = f"{self.fn.name}.{len(self.addresses)}"
        self.addresses[name] = address
        symbol = ir.GlobalVariable(self.module, typ, name)
        symbol.linkage = "external"
        return symbol

    def entry_alloca(self, typ: ir.Type) -> ir.Value:
        saved = self.b.block
        self.b.position_at_start(self.entry)
        slot = self.b.alloca(typ)
        self.b.position_at_end(saved)
        return slot

    def slot(self, index: int) -> ir.Value:
        return self.b.gep(self.state, [i64(index)], source_etype=I64)

    def fail_block(self, status: int) -> ir.Block:
        block = self.failures.get(status)
        if block is None:
            here = self.b.block
            block = self.failures[status] = self.fn.append_basic_block(f"fail{-status}")
            self.b.position_at_end(block)
            if status < 0:
                self.b.store(i64(status), self.slot(STATE_SITE))
            self.return_object(self.sentinel)
            self.b.position_at_end(here)
        return block

    def fail_if(self, cond: ir.Value, reason: str) -> None:
        ok = self.fn.append_basic_block("ok")
        self.b.cbranch(cond, self.fail_block(KIND_MISMATCH), ok).set_weights([1, 1 << 20])
        self.b.position_at_end(ok)

    def fail_status(self, cond: ir.Value, status: int) -> None:
        ok = self.fn.append_basic_block("ok")
        self.b.cbranch(cond, self.fail_block(status), ok).set_weights([1, 1 << 20])
        self.b.position_at_end(ok)

    def return_object(self, obj: ir.Value) -> None:
        self.b.call(u.declare(self.module, "Py_IncRef", ir.VoidType(), [PTR]), [obj])
        self.b.ret(obj)

    def address(self, obj: Any) -> ir.Value:
        for name, address in self.addresses.items():
            if address == id(obj):
                return self.module.globals[name]
        return self._symbol(id(obj), I8)


def build_entry(module: ir.Module, name: str, impl: ir.Function, params: tuple[Kind, ...], ret: Kind,
                guards: tuple[tuple[dict[str, Any], str, Any], ...], state: int, sentinel: Any,
                missing: Any, tier_up_after: int | None) -> dict[str, int]:
    """Add the METH_FASTCALL entry ``name`` calling the region function
    ``impl``; returns the addresses its external symbols must be bound to."""
    e = _EntryBuilder(module, name, state, id(sentinel))
    b = e.b
    _self, argv, nargs = e.fn.args
    e.fail_if(b.icmp_signed("!=", nargs, i64(len(params) + 2)), "argument count")
    entries = b.add(b.load(e.slot(STATE_ENTRIES), typ=I64), i64(1))
    b.store(entries, e.slot(STATE_ENTRIES))
    if tier_up_after is not None:
        e.fail_status(b.icmp_signed(">=", entries, i64(tier_up_after)), TIER_UP)
    get_item = u.declare(module, "PyDict_GetItemWithError", PTR, [PTR, PTR])
    for namespace, key, expected in guards:
        found = b.call(get_item, [e.address(namespace), e.address(key)])
        wanted = ir.Constant(PTR, None) if expected is missing else e.address(expected)
        e.fail_status(b.icmp_unsigned("!=", found, wanted), GUARD_FAILED)

    def arg(index: int) -> ir.Value:
        return b.load(b.gep(argv, [i64(index)], source_etype=PTR), typ=PTR)

    as_long = u.declare(module, "PyLong_AsLongLong", I64, [PTR])
    countdown = b.call(as_long, [arg(0)])
    headroom = b.call(as_long, [arg(1)])
    headroom = b.select(b.icmp_signed(">", headroom, i64(NATIVE_DEPTH)), i64(NATIVE_DEPTH), headroom)
    values = []
    for position, kind in enumerate(params):
        obj = arg(position + 2)
        if kind is Kind.NONE:
            e.fail_if(b.icmp_unsigned("!=", obj, u.type_object(e, "_Py_NoneStruct")), "None")
            continue
        if kind is Kind.BOOL:
            true = b.icmp_unsigned("==", obj, u.type_object(e, "_Py_TrueStruct"))
            false = b.icmp_unsigned("==", obj, u.type_object(e, "_Py_FalseStruct"))
            e.fail_if(b.not_(b.or_(true, false)), "bool")
            values.append(b.zext(true, I64))
            continue
        expected = u.type_object(e, u.host_type(kind)[0])
        e.fail_if(b.icmp_unsigned("!=", u.field(e, obj, u.OB_TYPE, PTR, "type"), expected), "type")
        if kind is Kind.INT:
            values.append(u.long_value(e, obj, u.DIGITS_INLINE))
        elif kind is Kind.FLOAT:
            values.append(u.field(e, obj, u.OB_FVAL, F64, "fval"))
        else:
            values.append(obj)
    result = b.call(impl, values + [countdown, headroom, e.state], cconv="fastcc")
    left = b.extract_value(result, 0)
    with b.if_then(b.icmp_signed("<=", left, i64(0)), likely=False):
        e.return_object(e.sentinel)
    b.store(left, e.slot(STATE_COUNTDOWN))
    bits = b.extract_value(result, 1)
    if ret is Kind.INT:
        b.ret(b.call(u.declare(module, "PyLong_FromLongLong", PTR, [I64]), [bits]))
    elif ret is Kind.FLOAT:
        b.ret(b.call(u.declare(module, "PyFloat_FromDouble", PTR, [F64]), [b.bitcast(bits, F64)]))
    elif ret is Kind.BOOL:
        b.ret(b.call(u.declare(module, "PyBool_FromLong", PTR, [I64]), [bits]))
    else:
        e.return_object(u.type_object(e, "_Py_NoneStruct"))
    return e.addresses

