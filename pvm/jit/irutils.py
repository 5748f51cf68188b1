"""LLVM IR for Python's numeric semantics on unboxed values.

Every function here computes exactly what CPython computes, or fails: it
calls ``em.fail_if(condition, reason)`` for every case native code leaves to
tier 0 (int64 overflow, division by zero, a float result CPython turns into an
exception, an int too large to compare exactly with a float). A failure makes
native code exit before the instruction, and tier 0 then runs it with its
own exact semantics, so a conservative check costs speed, never correctness.

No fast-math flags anywhere: IEEE results must be the ones CPython gets. libm
functions are called under private aliases (pvm.jit.engine.LIBM_ALIASES) that
LLVM does not know, so it cannot fold or rewrite them.
"""

from __future__ import annotations

import math
import sys
from typing import Any, Protocol

from llvmlite import ir

from pvm.jit.engine import LIBM_PREFIX
from pvm.jit.kinds import ELEMENT, Kind, SliceOf, TupleOf

I1 = ir.IntType(1)
I8 = ir.IntType(8)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
F64 = ir.DoubleType()
PTR = ir.PointerType()


class _LLTypes(dict):
    """``LLTYPE[kind]``: a number's LLVM type; every other kind with a value is an object pointer."""

    def __missing__(self, kind: Any) -> ir.Type:
        return PTR


LLTYPE = _LLTypes({Kind.INT: I64, Kind.FLOAT: F64, Kind.BOOL: I1})

EXACT_FLOAT_INT = 1 << 53       # ints up to this magnitude convert to float exactly
DIGITS_INLINE = sys.version_info[:2] == (3, 11)   # PyLongObject layout read inline (else via the C-API)

# The state block native code shares with Python (an i64 array)
STATE_COUNTDOWN = 0    # steps left before the checkpoint (in and out)
STATE_DEPTH = 1        # loops: the interpreter's call depth
STATE_MAX_DEPTH = 2    # loops: its limit
STATE_SITE = 3         # why native code stopped: an exit-site id, or a negative pvm.jit.entry status
STATE_ENTRIES = 4      # tier-1 functions: calls, from tier 0 and native, counted for tier-up
STATE_NURSERY = 5      # loops: the address of the host list that holds the lists native code makes
STATE_CREATED = 6      # loops: bytes of the lists made since entry (pvm.heap's size model)
STATE_LIST_BUDGET = 7  # loops: how many such bytes may be made before handing back
STATE_SIZE = 8

# Native calls nest on the C stack: at most this many below one entry from
# Python (a deeper recursion exits to tier 0, whose frames are data).
NATIVE_DEPTH = 2000
TWO63 = float(1 << 63)


class Val:
    """A typed value during lowering: ``v`` is an ir.Value, a tuple of them
    (RANGE: start, stop, step; RITER: start, step, length, index) or None
    (NONE and compile-time constants). A number just read out of a list keeps
    the host object it was read from in ``obj``, so storing it into a list
    again stores that object (as tier 0 does) instead of boxing a new one."""

    __slots__ = ("kind", "v", "obj")

    def __init__(self, kind: Any, v: Any) -> None:
        self.kind = kind
        self.v = v
        self.obj: ir.Value | None = None


class Emitter(Protocol):
    b: ir.IRBuilder
    module: ir.Module

    def fail_if(self, cond: ir.Value, reason: str) -> None: ...

    def entry_alloca(self, typ: ir.Type) -> ir.Value: ...


def i64(n: int) -> ir.Constant:
    return ir.Constant(I64, n)


def f64(x: float) -> ir.Constant:
    return ir.Constant(F64, x)


def const_val(kind: Kind, value: Any) -> Val:
    if kind is Kind.INT:
        return Val(kind, i64(value))
    if kind is Kind.FLOAT:
        return Val(kind, f64(value))
    if kind is Kind.BOOL:
        return Val(kind, ir.Constant(I1, int(value)))
    return Val(kind, None)


def declare(module: ir.Module, name: str, ret: ir.Type, args: list[ir.Type]) -> ir.Function:
    existing = module.globals.get(name)
    if existing is not None:
        return existing
    return ir.Function(module, ir.FunctionType(ret, args), name)


def intrinsic(em: Emitter, name: str, *args: ir.Value) -> ir.Value:
    fn = declare(em.module, f"llvm.{name}.f64", F64, [F64] * len(args))
    return em.b.call(fn, list(args))


def libm(em: Emitter, name: str, *args: ir.Value) -> ir.Value:
    fn = declare(em.module, LIBM_PREFIX + name, F64, [F64] * len(args))
    return em.b.call(fn, list(args))


# --- Conversions ---

def as_int(em: Emitter, val: Val) -> ir.Value:
    """An INT or BOOL value as i64."""
    return em.b.zext(val.v, I64) if val.kind is Kind.BOOL else val.v


def as_float(em: Emitter, val: Val) -> ir.Value:
    """A numeric value as double, rounded as CPython's int-to-float conversion rounds."""
    if val.kind is Kind.FLOAT:
        return val.v
    if val.kind is Kind.BOOL:
        return em.b.uitofp(val.v, F64)
    return em.b.sitofp(val.v, F64)


def truth(em: Emitter, val: Val) -> ir.Value:
    """Python truthiness as i1 (NaN is true; a list is true when not empty)."""
    b = em.b
    if val.kind is Kind.BOOL:
        return val.v
    if val.kind is Kind.INT:
        return b.icmp_signed("!=", val.v, i64(0))
    if val.kind is Kind.FLOAT:
        return b.fcmp_unordered("!=", val.v, f64(0.0))
    if val.kind is Kind.NONE:
        return ir.Constant(I1, 0)
    return b.icmp_signed("!=", list_size(em, val.v), i64(0))


def is_nan(em: Emitter, x: ir.Value) -> ir.Value:
    return em.b.fcmp_unordered("uno", x, x)


def is_finite(em: Emitter, x: ir.Value) -> ir.Value:
    return em.b.fcmp_ordered("<", intrinsic(em, "fabs", x), f64(float("inf")))


def _overflowing(em: Emitter, op: str, a: ir.Value, c: ir.Value) -> ir.Value:
    pair = getattr(em.b, f"{op}_with_overflow")(a, c)
    em.fail_if(em.b.extract_value(pair, 1), "int64 overflow")
    return em.b.extract_value(pair, 0)


def _exact_magnitude(em: Emitter, x: ir.Value) -> None:
    """Fail unless the i64 ``x`` converts to float exactly."""
    b = em.b
    biased = b.add(x, i64(EXACT_FLOAT_INT))
    em.fail_if(b.icmp_unsigned(">", biased, i64(2 * EXACT_FLOAT_INT)), "int too large for an exact float")


# --- Binary operators ---

def binop(em: Emitter, sym: str, kind: Kind, left: Val, right: Val) -> Val:
    """``left <sym> right`` with result kind ``kind`` (from pvm.jit.kinds.binop_kind)."""
    if kind is Kind.BOOL:
        op = {"&": em.b.and_, "|": em.b.or_, "^": em.b.xor}[sym]
        return Val(kind, op(left.v, right.v))
    if kind is Kind.FLOAT:
        if sym == "/" and left.kind is not Kind.FLOAT and right.kind is not Kind.FLOAT:
            a, c = as_int(em, left), as_int(em, right)
            em.fail_if(em.b.icmp_signed("==", c, i64(0)), "division by zero")
            _exact_magnitude(em, a)
            _exact_magnitude(em, c)
            return Val(kind, em.b.fdiv(em.b.sitofp(a, F64), em.b.sitofp(c, F64)))
        return Val(kind, float_binop(em, sym, as_float(em, left), as_float(em, right)))
    return Val(kind, int_binop(em, sym, as_int(em, left), as_int(em, right), right))


def int_binop(em: Emitter, sym: str, a: ir.Value, c: ir.Value, right: Val) -> ir.Value:
    b = em.b
    if sym == "+":
        return _overflowing(em, "sadd", a, c)
    if sym == "-":
        return _overflowing(em, "ssub", a, c)
    if sym == "*":
        return _overflowing(em, "smul", a, c)
    if sym in ("//", "%"):
        em.fail_if(b.icmp_signed("==", c, i64(0)), "division by zero")
        minus_one = b.icmp_signed("==", c, i64(-1))
        if sym == "//":
            em.fail_if(b.and_(minus_one, b.icmp_signed("==", a, i64(-(1 << 63)))), "int64 overflow")
        safe = b.select(minus_one, i64(1), c)          # x % -1 == 0; avoids srem's overflow case
        rem = b.srem(a, safe)
        adjust = b.and_(b.icmp_signed("!=", rem, i64(0)),
                        b.icmp_signed("<", b.xor(rem, c), i64(0)))   # remainder and divisor differ in sign
        if sym == "%":
            return b.select(minus_one, i64(0), b.select(adjust, b.add(rem, c), rem))
        quot = b.select(minus_one, b.neg(a), b.sdiv(a, safe))
        return b.select(adjust, b.sub(quot, i64(1)), quot)
    if sym == "**":
        return int_pow(em, a, c, right)
    if sym == "<<":
        em.fail_if(b.icmp_signed("<", c, i64(0)), "negative shift count")
        big = b.icmp_signed(">=", c, i64(63))
        em.fail_if(b.and_(big, b.icmp_signed("!=", a, i64(0))), "int64 overflow")
        count = b.select(big, i64(0), c)
        shifted = b.shl(a, count)
        em.fail_if(b.icmp_signed("!=", b.ashr(shifted, count), a), "int64 overflow")
        return shifted
    if sym == ">>":
        em.fail_if(b.icmp_signed("<", c, i64(0)), "negative shift count")
        count = b.select(b.icmp_signed(">", c, i64(63)), i64(63), c)
        return b.ashr(a, count)
    return {"&": b.and_, "|": b.or_, "^": b.xor}[sym](a, c)


def int_pow(em: Emitter, base: ir.Value, exponent: ir.Value, right: Val) -> ir.Value:
    """Exponentiation by squaring with overflow checks; a negative exponent
    (a float result in Python) fails."""
    b = em.b
    if isinstance(exponent, ir.Constant) and 0 <= exponent.constant <= 4:
        result: ir.Value | None = None
        for _ in range(exponent.constant):
            result = base if result is None else _overflowing(em, "smul", result, base)
        return i64(1) if result is None else result
    em.fail_if(b.icmp_signed("<", exponent, i64(0)), "negative int exponent")
    fn = b.function
    head, body, square, done = (fn.append_basic_block(n) for n in ("pow.head", "pow.body", "pow.sq", "pow.done"))
    entry = b.block
    b.branch(head)
    b.position_at_end(head)
    acc = b.phi(I64)
    factor = b.phi(I64)
    rest = b.phi(I64)
    acc.add_incoming(i64(1), entry)
    factor.add_incoming(base, entry)
    rest.add_incoming(exponent, entry)
    b.cbranch(b.icmp_signed("==", rest, i64(0)), done, body)
    b.position_at_end(body)
    odd = b.icmp_signed("!=", b.and_(rest, i64(1)), i64(0))
    product = b.smul_with_overflow(acc, factor)
    em.fail_if(b.and_(odd, b.extract_value(product, 1)), "int64 overflow")
    acc_next = b.select(odd, b.extract_value(product, 0), acc)
    rest_next = b.ashr(rest, i64(1))
    b.cbranch(b.icmp_signed("==", rest_next, i64(0)), done, square)
    body_end = b.block
    b.position_at_end(square)
    squared = _overflowing(em, "smul", factor, factor)
    acc.add_incoming(acc_next, b.block)
    factor.add_incoming(squared, b.block)
    rest.add_incoming(rest_next, b.block)
    b.branch(head)
    b.position_at_end(done)
    result = b.phi(I64)
    result.add_incoming(acc, head)
    result.add_incoming(acc_next, body_end)
    return result


def float_binop(em: Emitter, sym: str, x: ir.Value, y: ir.Value) -> ir.Value:
    b = em.b
    if sym == "+":
        return b.fadd(x, y)
    if sym == "-":
        return b.fsub(x, y)
    if sym == "*":
        return b.fmul(x, y)
    if sym == "**":
        return float_pow(em, x, y)
    em.fail_if(b.fcmp_ordered("==", y, f64(0.0)), "division by zero")
    if sym == "/":
        return b.fdiv(x, y)
    # CPython's float_divmod (Objects/floatobject.c)
    mod = b.frem(x, y)
    nonzero = b.fcmp_unordered("!=", mod, f64(0.0))
    differ = b.icmp_unsigned("!=", b.fcmp_ordered("<", y, f64(0.0)), b.fcmp_ordered("<", mod, f64(0.0)))
    fix = b.and_(nonzero, differ)
    signed_zero = intrinsic(em, "copysign", f64(0.0), y)
    mod_fixed = b.select(nonzero, b.select(fix, b.fadd(mod, y), mod), signed_zero)
    if sym == "%":
        return mod_fixed
    div = b.fdiv(b.fsub(x, mod), y)
    div = b.select(fix, b.fsub(div, f64(1.0)), div)
    floor = intrinsic(em, "floor", div)
    floor = b.select(b.fcmp_ordered(">", b.fsub(div, floor), f64(0.5)), b.fadd(floor, f64(1.0)), floor)
    zero_div = intrinsic(em, "copysign", f64(0.0), b.fdiv(x, y))
    return b.select(b.fcmp_unordered("!=", div, f64(0.0)), floor, zero_div)


def float_pow(em: Emitter, x: ir.Value, y: ir.Value) -> ir.Value:
    """``x ** y`` in the order CPython's float_pow decides it; non-finite
    operands (unless ``y`` is 0), a complex result and any result CPython
    reports as an error (overflow, and conservatively underflow) fail."""
    b = em.b
    y_zero = b.fcmp_ordered("==", y, f64(0.0))
    x_zero = b.fcmp_ordered("==", x, f64(0.0))
    finite = b.and_(is_finite(em, x), is_finite(em, y))
    em.fail_if(b.and_(b.not_(y_zero), b.not_(finite)), "float power special case")
    em.fail_if(b.and_(x_zero, b.fcmp_ordered("<", y, f64(0.0))), "zero to a negative power")
    negative = b.fcmp_ordered("<", x, f64(0.0))
    em.fail_if(b.and_(negative, b.fcmp_unordered("!=", intrinsic(em, "floor", y), y)), "complex power")
    if isinstance(y, ir.Constant):      # an odd constant exponent is known here (libm calls never fold)
        odd = ir.Constant(I1, math.isfinite(y.constant) and math.fmod(abs(y.constant), 2.0) == 1.0)
    else:
        odd = b.fcmp_ordered("==", libm(em, "fmod", intrinsic(em, "fabs", y), f64(2.0)), f64(1.0))
    magnitude = intrinsic(em, "fabs", x)
    raw = b.select(b.fcmp_ordered("==", magnitude, f64(1.0)), f64(1.0), libm(em, "pow", magnitude, y))
    tiny = b.fcmp_ordered("<", intrinsic(em, "fabs", raw), f64(2.2250738585072014e-308))
    general = b.and_(b.not_(y_zero), b.not_(x_zero))
    em.fail_if(b.and_(general, b.or_(b.not_(is_finite(em, raw)), tiny)), "float power out of range")
    signed = b.select(b.and_(negative, odd), b.fneg(raw), raw)
    return b.select(y_zero, f64(1.0), b.select(x_zero, b.select(odd, x, f64(0.0)), signed))


# --- Comparisons and unary operators ---

_ICMP = {"<": "<", "<=": "<=", "==": "==", "!=": "!=", ">": ">", ">=": ">="}


def compare(em: Emitter, sym: str, left: Val, right: Val) -> Val:
    b = em.b
    if left.kind is not Kind.FLOAT and right.kind is not Kind.FLOAT:
        return Val(Kind.BOOL, b.icmp_signed(_ICMP[sym], as_int(em, left), as_int(em, right)))
    if left.kind is Kind.FLOAT and right.kind is Kind.FLOAT:
        if sym == "!=":
            return Val(Kind.BOOL, b.fcmp_unordered("!=", left.v, right.v))
        return Val(Kind.BOOL, b.fcmp_ordered(sym, left.v, right.v))
    if left.kind is Kind.FLOAT:        # f sym i  is  i mirror(sym) f
        sym = _MIRROR[sym]
        left, right = right, left
    return Val(Kind.BOOL, _int_float_compare(em, sym, as_int(em, left), right.v))


_MIRROR = {"<": ">", "<=": ">=", "==": "==", "!=": "!=", ">": "<", ">=": "<="}


def _int_float_compare(em: Emitter, sym: str, i: ir.Value, f: ir.Value) -> ir.Value:
    """``i sym f`` exactly, as CPython compares an int with a float (no rounding of i)."""
    b = em.b
    above = b.fcmp_ordered(">=", f, f64(TWO63))           # f beyond every int64 (false for NaN)
    below = b.fcmp_ordered("<", f, f64(-TWO63))
    inside = b.and_(b.fcmp_ordered(">=", f, f64(-TWO63)), b.fcmp_ordered("<", f, f64(TWO63)))
    whole = intrinsic(em, "trunc", f)
    t = b.fptosi(b.select(inside, whole, f64(0.0)), I64)
    frac = b.fsub(f, whole)
    same = b.icmp_signed("==", i, t)
    lt = b.or_(above, b.and_(inside, b.or_(b.icmp_signed("<", i, t),
                                           b.and_(same, b.fcmp_ordered(">", frac, f64(0.0))))))
    gt = b.or_(below, b.and_(inside, b.or_(b.icmp_signed(">", i, t),
                                           b.and_(same, b.fcmp_ordered("<", frac, f64(0.0))))))
    eq = b.and_(inside, b.and_(same, b.fcmp_ordered("==", frac, f64(0.0))))
    return {"<": lambda: lt, "<=": lambda: b.or_(lt, eq), "==": lambda: eq, "!=": lambda: b.not_(eq),
            ">": lambda: gt, ">=": lambda: b.or_(gt, eq)}[sym]()


def unary(em: Emitter, op_name: str, kind: Kind, val: Val) -> Val:
    b = em.b
    if op_name == "UNARY_NOT":
        return Val(Kind.BOOL, b.not_(truth(em, val)))
    if kind is Kind.FLOAT:
        return Val(kind, b.fneg(val.v) if op_name == "UNARY_NEGATIVE" else val.v)
    x = as_int(em, val)
    if op_name == "UNARY_INVERT":
        return Val(kind, b.xor(x, i64(-1)))
    if op_name == "UNARY_NEGATIVE":
        return Val(kind, _overflowing(em, "ssub", i64(0), x))
    return Val(kind, x)


# --- Builtins and math ---

def builtin(em: Emitter, name: str, kind: Kind, args: list[Val]) -> Val:
    b = em.b
    if name == "len":
        if type(args[0].kind) is SliceOf:        # (list, first index, step, length)
            return Val(kind, args[0].v[3])
        return Val(kind, list_size(em, args[0].v))
    if name == "abs":
        if kind is Kind.FLOAT:
            return Val(kind, intrinsic(em, "fabs", args[0].v))
        x = as_int(em, args[0])
        negated = _overflowing(em, "ssub", i64(0), x)
        return Val(kind, b.select(b.icmp_signed("<", x, i64(0)), negated, x))
    if name in ("min", "max"):
        best = args[0].v
        for arg in args[1:]:
            if kind is Kind.FLOAT:
                better = b.fcmp_ordered("<" if name == "min" else ">", arg.v, best)
            else:
                better = b.icmp_signed("<" if name == "min" else ">", arg.v, best)
            best = b.select(better, arg.v, best)
        return Val(kind, best)
    if name == "float":
        return Val(kind, as_float(em, args[0]))
    if name == "int":
        if args[0].kind is not Kind.FLOAT:
            return Val(kind, as_int(em, args[0]))
        return Val(kind, float_to_int(em, args[0].v))
    if name == "range":
        ints = [as_int(em, a) for a in args]
        start, stop, step = (i64(0), ints[0], i64(1)) if len(ints) == 1 else (ints[0], ints[1], ints[2] if
                                                                              len(ints) == 3 else i64(1))
        em.fail_if(b.icmp_signed("==", step, i64(0)), "range() step is zero")
        return Val(Kind.RANGE, (start, stop, step))
    raise AssertionError(name)


def float_to_int(em: Emitter, x: ir.Value) -> ir.Value:
    """Truncation toward zero, as int(float); fails outside int64 (and for inf, nan)."""
    b = em.b
    inside = b.and_(b.fcmp_ordered(">=", x, f64(-TWO63)), b.fcmp_ordered("<", x, f64(TWO63)))
    em.fail_if(b.not_(inside), "float too large for int64")
    return b.fptosi(x, I64)


def math_call(em: Emitter, name: str, kind: Kind, args: list[Val]) -> Val:
    b = em.b
    if name in ("floor", "ceil"):
        if args[0].kind is not Kind.FLOAT:
            return Val(kind, as_int(em, args[0]))
        return Val(kind, float_to_int(em, intrinsic(em, name, args[0].v)))
    xs = [as_float(em, a) for a in args]
    if name == "sqrt":
        em.fail_if(b.fcmp_ordered("<", xs[0], f64(0.0)), "math domain error")
        return Val(kind, intrinsic(em, "sqrt", xs[0]))
    if name == "fabs":
        return Val(kind, intrinsic(em, "fabs", xs[0]))
    if name in ("atan2", "pow"):
        finite = b.and_(is_finite(em, xs[0]), is_finite(em, xs[1]))
        if name == "atan2":
            finite = b.and_(finite, b.fcmp_ordered("!=", xs[0], f64(0.0)))
        em.fail_if(b.not_(finite), f"math.{name} special case")
        result = libm(em, name, *xs)
        em.fail_if(b.not_(is_finite(em, result)), "math range error")
        return Val(kind, result)
    x = xs[0]
    result = libm(em, name, x)
    domain = b.and_(is_nan(em, result), b.not_(is_nan(em, x)))
    overflow = b.and_(b.not_(is_finite(em, result)), b.not_(is_nan(em, result)))
    em.fail_if(b.or_(domain, b.and_(overflow, is_finite(em, x))), "math domain or range error")
    return Val(kind, result)


# --- Lists (CPython object layout: stable PyListObject/PyFloatObject fields) ---

OB_TYPE = 8          # PyObject.ob_type
OB_SIZE = 16         # PyVarObject.ob_size (PyListObject: length; PyLongObject 3.11: signed digit count)
OB_ITEM = 24         # PyListObject.ob_item
OB_FVAL = 16         # PyFloatObject.ob_fval
OB_DIGIT = 24        # PyLongObject.ob_digit (3.11: 30-bit digits in uint32)


def tagged(em: Emitter, instruction: ir.Instruction, what: str) -> ir.Instruction:
    """Give a load or store of a host object's memory its TBAA tag: ``what``
    names a field (refcnt, type, size, fval, digit, list.items) or the slots of
    a list's or a tuple's items. No two tags ever name the same memory, so
    LLVM may keep a list's item array, sizes and element types in registers
    across stores of floats, items and reference counts (native code changes
    no other field; a C call may change anything, as LLVM assumes anyway)."""
    module = em.module
    tags = getattr(module, "pvm_tbaa", None)
    if tags is None:
        tags = module.pvm_tbaa = {"": module.add_metadata([ir.MetaDataString(module, "pvm objects")])}
    tag = tags.get(what)
    if tag is None:
        node = module.add_metadata([ir.MetaDataString(module, what), tags[""], i64(0)])
        tag = tags[what] = module.add_metadata([node, node, i64(0)])
    instruction.set_metadata("tbaa", tag)
    return instruction


def field(em: Emitter, obj: ir.Value, offset: int, typ: ir.Type, what: str) -> ir.Value:
    address = em.b.gep(obj, [i64(offset)], source_etype=I8)
    return tagged(em, em.b.load(address, typ=typ), what)


def list_size(em: Emitter, lst: ir.Value) -> ir.Value:
    return field(em, lst, OB_SIZE, I64, "size")


def load_slot(em: Emitter, address: ir.Value) -> ir.Value:
    """The item in a list's slot at ``address``."""
    return tagged(em, em.b.load(address, typ=PTR), "list.slot")


def store_slot(em: Emitter, item: ir.Value, address: ir.Value) -> None:
    tagged(em, em.b.store(item, address), "list.slot")


def replace_slot(em: Emitter, address: ir.Value, new: ir.Value, old: ir.Value) -> None:
    """Store ``new`` (a reference handed over) in the slot that held ``old``, a
    number whose reference is dropped (freeing it runs no code)."""
    store_slot(em, new, address)
    decref(em, old)


TYPE_OF = {Kind.INT: ("PyLong_Type", "an int"), Kind.FLOAT: ("PyFloat_Type", "a float"),
           Kind.BOOL: ("PyBool_Type", "a bool")}
OB_TUPLE_ITEM = 24   # PyTupleObject.ob_item: the items follow the header


def host_type(kind: Any) -> tuple[str, str]:
    """The host type an object of ``kind`` has, and how a failed check reads."""
    if kind in TYPE_OF:
        return TYPE_OF[kind]
    return ("PyTuple_Type", "a tuple") if type(kind) is TupleOf else ("PyList_Type", "a list")


def check_type(em: Emitter, obj: ir.Value, kind: Any) -> None:
    """Exit unless host object ``obj`` has the type of ``kind`` (which was speculated)."""
    type_name, what = host_type(kind)
    em.fail_if(em.b.icmp_unsigned("!=", field(em, obj, OB_TYPE, PTR, "type"), type_object(em, type_name)),
               f"an element or item is not {what}")


def unbox(em: Emitter, obj: ir.Value, kind: Any, digits_inline: bool) -> Val:
    """The value native code holds for host object ``obj`` of ``kind``."""
    b = em.b
    check_type(em, obj, kind)
    if kind is Kind.FLOAT:
        return Val(kind, field(em, obj, OB_FVAL, F64, "fval"))
    if kind is Kind.BOOL:
        return Val(kind, b.icmp_unsigned("==", obj, type_object(em, "_Py_TrueStruct")))
    if kind is Kind.INT:
        return Val(kind, long_value(em, obj, digits_inline))
    return Val(kind, obj)


def unpack_tuple(em: Emitter, tup: Val, digits_inline: bool) -> list[Val]:
    """The items of a tuple, last first (as UNPACK_SEQUENCE pushes them)."""
    b = em.b
    kinds = tup.kind.items
    em.fail_if(b.icmp_signed("!=", field(em, tup.v, OB_SIZE, I64, "size"), i64(len(kinds))), "tuple of another length")
    return [unbox(em, field(em, tup.v, OB_TUPLE_ITEM + 8 * i, PTR, "tuple.slot"), kinds[i], digits_inline)
            for i in reversed(range(len(kinds)))]


def _element(em: Emitter, lst: Val, index: Val) -> tuple[ir.Value, ir.Value]:
    """The address of ``lst[index]`` and the item there, bounds checked."""
    b = em.b
    size = list_size(em, lst.v)
    i = as_int(em, index)
    i = b.select(b.icmp_signed("<", i, i64(0)), b.add(i, size), i)
    em.fail_if(b.icmp_unsigned(">=", i, size), "list index out of range")
    address = b.gep(field(em, lst.v, OB_ITEM, PTR, "list.items"), [i], source_etype=PTR)
    return address, load_slot(em, address)


def list_item(em: Emitter, lst: Val, index: Val, digits_inline: bool) -> Val:
    """``lst[index]``; an int element must fit int64."""
    _, item = _element(em, lst, index)
    val = unbox(em, item, ELEMENT[lst.kind], digits_inline)
    val.obj = item
    return val


def list_store(em: Emitter, lst: Val, index: Val, value: Val) -> None:
    """``lst[index] = value`` (loop regions only): the new element is boxed
    before anything changes, so every failure leaves the list as it was."""
    b = em.b
    address, old = _element(em, lst, index)
    check_type(em, old, value.kind)      # the element replaced is a number too: freeing it runs no code
    if value.obj is not None:
        # read from a list in this very statement, where nothing can have freed it since
        incref(em, value.obj)
        replace_slot(em, address, value.obj, old)
        return
    if value.kind is not Kind.FLOAT:
        replace_slot(em, address, box(em, value), old)
        return
    # a float only the list holds cannot be seen to change: overwrite it rather than allocate
    count = tagged(em, b.load(old, typ=I64), "refcnt")
    with b.if_else(b.icmp_signed("!=", count, i64(1))) as (replace, overwrite):
        with replace:
            # held elsewhere too, so its count stays above 0: no _Py_Dealloc call, which LLVM would
            # take to change any memory (reloading every list's size and items after the store)
            store_slot(em, box(em, value), address)
            tagged(em, b.store(b.sub(count, i64(1)), old), "refcnt")
        with overwrite:
            tagged(em, b.store(value.v, b.gep(old, [i64(OB_FVAL)], source_etype=I8)), "fval")


def list_append(em: Emitter, lst: Val, value: Val) -> None:
    """``lst.append(value)`` (loop regions only; the heap is charged for the
    growth when the loop hands back, pvm.jit.native)."""
    b = em.b
    obj = box(em, value)
    status = b.call(declare(em.module, "PyList_Append", I32, [PTR, PTR]), [lst.v, obj])
    decref(em, obj)
    fail_clearing(em, b.icmp_signed("!=", status, ir.Constant(I32, 0)), "list.append failed")


def box(em: Emitter, val: Val) -> ir.Value:
    """A new reference to the host object of a number (exits, the error
    cleared, if the host is out of memory)."""
    b = em.b
    if val.kind is Kind.BOOL:
        obj = b.select(val.v, type_object(em, "_Py_TrueStruct"), type_object(em, "_Py_FalseStruct"))
        obj = b.inttoptr(b.ptrtoint(obj, I64), PTR)      # an opaque pointer, as every object is here
        incref(em, obj)
        return obj
    if val.kind is Kind.FLOAT:
        make = em.module.globals.get("PyFloat_FromDouble")
        if make is None:
            # a new object every time (3.11 caches no floats), from the float free list or the
            # allocator, neither of which native code reads: LLVM may keep what it loaded across it
            make = declare(em.module, "PyFloat_FromDouble", PTR, [F64])
            make.attributes.add("inaccessiblememonly")
            make.return_value.add_attribute("noalias")
        obj = b.call(make, [val.v])
    else:
        obj = b.call(declare(em.module, "PyLong_FromLongLong", PTR, [I64]), [val.v])
    fail_clearing(em, b.icmp_unsigned("==", obj, ir.Constant(PTR, None)), "out of host memory")
    return obj


def fail_clearing(em: Emitter, failed: ir.Value, reason: str) -> None:
    """Exit if a C-API call failed, clearing the error it set: tier 0 redoes
    the instruction and raises its own."""
    with em.b.if_then(failed, likely=False):
        em.b.call(declare(em.module, "PyErr_Clear", ir.VoidType(), []), [])
    em.fail_if(failed, reason)


def incref(em: Emitter, obj: ir.Value) -> None:
    b = em.b
    count = tagged(em, b.load(obj, typ=I64), "refcnt")
    tagged(em, b.store(b.add(count, i64(1)), obj), "refcnt")


def decref(em: Emitter, obj: ir.Value) -> None:
    """Py_DECREF of an int, float or bool (its deallocation runs no code)."""
    b = em.b
    count = b.sub(tagged(em, b.load(obj, typ=I64), "refcnt"), i64(1))
    tagged(em, b.store(count, obj), "refcnt")
    with b.if_then(b.icmp_signed("==", count, i64(0)), likely=False):
        b.call(declare(em.module, "_Py_Dealloc", ir.VoidType(), [PTR]), [obj])


def type_object(em: Emitter, name: str) -> ir.Value:
    existing = em.module.globals.get(name)
    if existing is None:
        existing = ir.GlobalVariable(em.module, I8, name)
        existing.linkage = "external"
    return existing


def long_value(em: Emitter, item: ir.Value, digits_inline: bool) -> ir.Value:
    """The int64 value of an exact int object (fails when it does not fit)."""
    b = em.b
    fn = b.function
    if digits_inline:
        size = field(em, item, OB_SIZE, I64, "size")
        magnitude = b.select(b.icmp_signed("<", size, i64(0)), b.neg(size), size)
        small, large, done = (fn.append_basic_block(n) for n in ("int.small", "int.large", "int.done"))
        b.cbranch(b.icmp_signed("<=", magnitude, i64(2)), small, large)
        b.position_at_end(small)
        two, one, zero, combine = (fn.append_basic_block(n) for n in ("int.two", "int.one", "int.zero", "int.sign"))
        switch = b.switch(magnitude, zero)
        switch.add_case(i64(1), one)
        switch.add_case(i64(2), two)
        b.position_at_end(two)
        high = b.shl(b.zext(field(em, item, OB_DIGIT + 4, I32, "digit"), I64), i64(30))
        b.branch(one)
        b.position_at_end(one)
        upper = b.phi(I64)
        upper.add_incoming(high, two)
        upper.add_incoming(i64(0), small)
        low = b.or_(upper, b.zext(field(em, item, OB_DIGIT, I32, "digit"), I64))
        b.branch(combine)
        b.position_at_end(zero)
        b.branch(combine)
        b.position_at_end(combine)
        unsigned = b.phi(I64)
        unsigned.add_incoming(low, one)
        unsigned.add_incoming(i64(0), zero)
        small_value = b.select(b.icmp_signed("<", size, i64(0)), b.neg(unsigned), unsigned)
        b.branch(done)
        b.position_at_end(large)
    else:
        done = fn.append_basic_block("int.done")
    overflow = em.entry_alloca(I32)
    b.store(ir.Constant(I32, 0), overflow)
    convert = declare(em.module, "PyLong_AsLongLongAndOverflow", I64, [PTR, PTR])
    value = b.call(convert, [item, overflow])
    em.fail_if(b.icmp_signed("!=", b.load(overflow, typ=I32), ir.Constant(I32, 0)), "list element beyond int64")
    large_end = b.block
    b.branch(done)
    b.position_at_end(done)
    if not digits_inline:
        return value
    result = b.phi(I64)
    result.add_incoming(small_value, combine)
    result.add_incoming(value, large_end)
    return result
