"""Native modules: namespaces implemented by the host that scripts import by name.

The import machinery looks a name up here before searching for ``NAME.src``.
Each entry builds a FRESH namespace per VM, so assigning to a module attribute
in one VM never shows in another. Public stdlib modules are written in the
language and import what they need from these (``stdlib/math.src`` re-exports
``_math``).
"""

from __future__ import annotations

import math
from typing import Any, Callable

from pvm.classes import make_abc_root
from pvm.enums import make_enum_root
from pvm.native_random import _random
from pvm.native_sys import sys_module, time_module
from pvm.objects import Builtin


# Every public name of CPython 3.11's math module (tests compare with dir(math)).
MATH_NAMES = (
    "acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "cbrt", "ceil", "comb",
    "copysign", "cos", "cosh", "degrees", "dist", "e", "erf", "erfc", "exp", "exp2", "expm1",
    "fabs", "factorial", "floor", "fmod", "frexp", "fsum", "gamma", "gcd", "hypot", "inf",
    "isclose", "isfinite", "isinf", "isnan", "isqrt", "lcm", "ldexp", "lgamma", "log", "log10",
    "log1p", "log2", "modf", "nan", "nextafter", "perm", "pi", "pow", "prod", "radians",
    "remainder", "sin", "sinh", "sqrt", "tan", "tanh", "tau", "trunc", "ulp",
)


def _math(vm: Any) -> dict[str, object]:
    """The host math functions and constants themselves: their results and messages are CPython's."""
    return {name: getattr(math, name) for name in MATH_NAMES}


def _abc(vm: Any) -> dict[str, object]:
    """What abc.src cannot say in the language: which class is ABC."""
    return {"make_abc_root": Builtin("make_abc_root", make_abc_root)}


def _enum(vm: Any) -> dict[str, object]:
    """What enum.src cannot say in the language: its Enum class's metaclass."""
    return {"make_enum_root": Builtin("make_enum_root", make_enum_root)}


NATIVE_MODULES: dict[str, Callable[[Any], dict[str, object]]] = {
    "_abc": _abc,
    "_enum": _enum,
    "_math": _math,
    "_random": _random,
    "sys": sys_module,
}

# Native modules that reach the host (its clocks): importable only where the
# VM was granted them (``Interpreter.granted``); elsewhere they do not exist.
CAPABILITY_MODULES: dict[str, Callable[[Any], dict[str, object]]] = {
    "time": time_module,
}
