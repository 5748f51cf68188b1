"""LOAD_ATTR / STORE_ATTR / DELETE_ATTR: the only way a script reads attributes.

Access is by allowlist. A module's attributes are its namespace. A value of a
builtin type (and the type object itself: ``str.join``, ``dict.fromkeys``)
exposes exactly the public, host-free API that CPython 3.11 lists in
``dir()``; everything else, every dunder included, fails with the
AttributeError CPython raises for a missing attribute. No other object (script
functions, cells, builtins, iterators) has attributes at all. So a script
never walks from a value to its class, globals, code or the host.

``str.format`` and ``str.format_map`` are the one back door in the builtin
API (``"{0.__class__}".format(x)`` walks attributes), so they are replaced by
a re-implementation of CPython's formatter whose field walks go through
``get_attribute``; its output and errors match CPython's for everything
else.

Errors from ``get_attribute`` carry ``name`` and ``obj`` as CPython's do, and
``attribute_suggestion`` computes the "Did you mean" hint CPython 3.11 adds
when it prints such an error.
"""

from __future__ import annotations

import sys
import types
from _string import formatter_field_name_split, formatter_parser
from typing import Any, Callable, Iterable

from pvm.builtins import EXCEPTION_TYPES, TYPE, TypeBuiltin
from pvm.classes import (NS, RAW_ATTRIBUTE_METHODS, SPECIAL_METHODS, Instance, Method, Property, Super,
                         delete_class_attribute, delete_instance_attribute, get_class_attribute, get_instance_attribute, is_user_class,
                         set_class_attribute, set_instance_attribute)
from pvm.enums import EnumType
from pvm.code import CO_DOCSTRING
from pvm.errors import VMInternalError
from pvm.native_sys import ScriptStdout
from pvm.objects import Builtin, Cell, Function, Module

# --- Allowlists (checked against python3.11 dir(); tests/pvm/test_attributes.py) ---

_STR = frozenset(
    "capitalize casefold center count endswith expandtabs find index isalnum isalpha isascii "
    "isdecimal isdigit isidentifier islower isnumeric isprintable isspace istitle isupper join "
    "ljust lower lstrip maketrans partition removeprefix removesuffix replace rfind rindex rjust "
    "rpartition rsplit rstrip split splitlines startswith strip swapcase title translate upper "
    "zfill".split())
_INT = frozenset("as_integer_ratio bit_count bit_length conjugate denominator imag numerator real".split())
_FROZENSET = frozenset(
    "copy difference intersection isdisjoint issubset issuperset symmetric_difference union".split())

# Exact type -> names readable on its instances and on the type object.
ALLOWED_ATTRIBUTES: dict[type, frozenset[str]] = {
    str: _STR,
    list: frozenset("append clear copy count extend index insert pop remove reverse sort".split()),
    tuple: frozenset({"count", "index"}),
    dict: frozenset("clear copy fromkeys get items keys pop popitem setdefault update values".split()),
    set: _FROZENSET | frozenset(
        "add clear difference_update discard intersection_update pop remove "
        "symmetric_difference_update update".split()),
    frozenset: _FROZENSET,
    int: _INT,
    bool: _INT,
    float: frozenset("as_integer_ratio conjugate fromhex hex imag is_integer real".split()),
    range: frozenset({"count", "index", "start", "step", "stop"}),
    slice: frozenset({"indices", "start", "step", "stop"}),
    type({}.keys()): frozenset({"isdisjoint"}),
    type({}.items()): frozenset({"isdisjoint"}),
}

# Beyond the builtin types' public API (Level 2): pvm's own objects, and the
# arguments and chain of exceptions (never __traceback__).
_EXCEPTION_ATTRIBUTES = frozenset({"args", "__cause__", "__context__", "__suppress_context__"})
EXTRA_ATTRIBUTES: dict[type, frozenset[str]] = {
    Property: frozenset({"setter", "getter", "deleter"}),
    **{kind: _EXCEPTION_ATTRIBUTES for kind in EXCEPTION_TYPES},
    StopIteration: _EXCEPTION_ATTRIBUTES | {"value"},
    ImportError: _EXCEPTION_ATTRIBUTES | {"name", "msg"},   # not `path`: a host path
    ModuleNotFoundError: _EXCEPTION_ATTRIBUTES | {"name", "msg"},
    SystemExit: _EXCEPTION_ATTRIBUTES | {"code"},
    ScriptStdout: frozenset({"write", "flush"}),
    type(sys.version_info): frozenset({"major", "minor", "micro", "releaselevel", "serial"}),
}

# The operator methods of the builtin value types (`(1).__add__(2)`): method
# wrappers that do what the operator does, and have no attributes of their own.
OPERATOR_DUNDERS = frozenset(name for name in SPECIAL_METHODS if name not in ("__init__", "__call__"))

# Host value types whose own setattr/delattr always fail with CPython's message.
_IMMUTABLE_INSTANCES = frozenset(ALLOWED_ATTRIBUTES) | {type(None), type({}.values())}

_FORMAT_METHODS = ("format", "format_map")


# --- Load / store / delete ---

def get_attribute(obj: Any, name: str) -> Any:
    """``obj.name`` as a script may see it."""
    if isinstance(obj, Instance):
        return get_instance_attribute(obj, name)
    cls = type(obj)
    if (cls is type or cls is EnumType) and NS in obj.__dict__:
        return get_class_attribute(obj, name)
    if cls is Super:
        return obj.attribute(name)
    allowed = ALLOWED_ATTRIBUTES.get(cls)
    if allowed is not None and (name in allowed or name in OPERATOR_DUNDERS and hasattr(cls, name)):
        return getattr(obj, name)
    if cls is Function:
        return _get_function_attribute(obj, name)
    if cls is Method and name in _METHOD_NAMES and type(obj.__func__) is Function:
        return _get_function_attribute(obj.__func__, name)
    extra = EXTRA_ATTRIBUTES.get(cls)
    if extra is not None and name in extra:
        return getattr(obj, name)
    if cls is Module:
        try:
            return obj.dict[name]
        except KeyError:
            raise _missing(obj, name, f"module '{_module_name(obj)}' has no attribute '{name}'") from None
    if cls is str and name in _FORMAT_METHODS:
        return BoundStrMethod(obj, name)
    if isinstance(obj, type) or obj is TYPE:
        return _get_type_attribute(obj, name)
    raise _missing(obj, name, f"'{cls.__name__}' object has no attribute '{name}'")


def _get_type_attribute(obj: Any, name: str) -> Any:
    allowed = ALLOWED_ATTRIBUTES.get(obj) if obj is not TYPE else None
    if allowed is not None and (name in allowed or name in OPERATOR_DUNDERS and hasattr(obj, name)):
        return getattr(obj, name)   # `int.__repr__`: the unbound operator methods of value types
    if obj is object and name in RAW_ATTRIBUTE_METHODS:
        return RAW_ATTRIBUTE_METHODS[name]
    if name in _BASE_DUNDERS and (obj is object or obj in EXCEPTION_TYPES):
        return getattr(obj, name)   # `ValueError.__init__(self, msg)` in a subclass's __init__
    if name == "__name__" or name == "__qualname__":
        return _type_name(obj)
    if obj is str and name in _FORMAT_METHODS:
        return StrMethodDescriptor(name)
    raise _missing(obj, name, f"type object '{_type_name(obj)}' has no attribute '{name}'")


def set_attribute(obj: Any, name: str, value: Any) -> None:
    """``obj.name = value``: on instances and classes of user classes (by
    pvm's rules) and modules; refused elsewhere as CPython refuses."""
    if isinstance(obj, Instance):
        set_instance_attribute(obj, name, value)
        return
    cls = type(obj)
    if (cls is type or cls is EnumType) and NS in obj.__dict__:
        set_class_attribute(obj, name, value)
    elif cls is Module:
        obj.dict[name] = value
    elif cls is Function:
        _set_function_attribute(obj, name, value)
    elif cls in _IMMUTABLE_INSTANCES:
        setattr(obj, name, value)   # always raises: these types have no writable attribute
        raise VMInternalError(f"{cls.__name__}.{name} is writable")
    else:
        raise _refused_store(obj, name)


def delete_attribute(obj: Any, name: str) -> None:
    """``del obj.name``: on instances of user classes and modules only."""
    if isinstance(obj, Instance):
        delete_instance_attribute(obj, name)
        return
    cls = type(obj)
    if is_user_class(obj):
        delete_class_attribute(obj, name)
    elif cls is Module:
        try:
            del obj.dict[name]
        except KeyError:
            raise AttributeError(f"'module' object has no attribute '{name}'") from None
    elif cls is Function and obj.attrs is not None and name in obj.attrs:
        del obj.attrs[name]
    elif cls in _IMMUTABLE_INSTANCES:
        delattr(obj, name)   # always raises, with CPython's message
        raise VMInternalError(f"{cls.__name__}.{name} is deletable")
    else:
        raise _refused_store(obj, name)


# What a script may call on the host bases of its classes, as CPython code does.
_BASE_DUNDERS = frozenset({"__init__", "__str__", "__repr__", "__eq__", "__ne__", "__hash__"})


# --- The reflection builtins: the same paths with a name computed at run time ---

def _reflection_call(function: str, args: tuple[Any, ...], least: int, most: int) -> str:
    """Check a reflection builtin's arity and name argument with CPython's messages."""
    if not least <= len(args) <= most:
        expected = (f"{least}" if least == most else
                    f"at least {least}" if len(args) < least else f"at most {most}")
        raise TypeError(f"{function} expected {expected} arguments, got {len(args)}")
    if type(args[1]) is not str:
        raise TypeError(f"attribute name must be string, not '{type(args[1]).__name__}'")
    return args[1]


def _getattr(*args: Any) -> Any:
    name = _reflection_call("getattr", args, 2, 3)
    try:
        return get_attribute(args[0], name)
    except AttributeError:
        if len(args) == 2:
            raise
        return args[2]


def _hasattr(*args: Any) -> bool:
    try:
        get_attribute(args[0], _reflection_call("hasattr", args, 2, 2))
    except AttributeError:
        return False
    return True


def _setattr(*args: Any) -> None:
    set_attribute(args[0], _reflection_call("setattr", args, 3, 3), args[2])


def _delattr(*args: Any) -> None:
    delete_attribute(args[0], _reflection_call("delattr", args, 2, 2))


REFLECTION: dict[str, Callable[..., Any]] = {
    "getattr": _getattr, "hasattr": _hasattr, "setattr": _setattr, "delattr": _delattr}


# What a bound method tells of its function (not __func__ or __self__: pvm.sandbox's choice).
_METHOD_NAMES = frozenset({"__name__", "__qualname__", "__doc__", "__module__"})

# Dunders a script may set on its functions (functools.wraps, abc.abstractmethod); any other
# attribute it sets is its own, kept in ``Function.attrs``.
_FUNCTION_DUNDERS = frozenset({"__doc__", "__module__", "__wrapped__", "__isabstractmethod__"})


def _get_function_attribute(func: Function, name: str) -> Any:
    if name == "__name__":
        return func.name
    if name == "__qualname__":
        return func.qualname
    if func.attrs is not None and name in func.attrs:
        return func.attrs[name]
    if name == "__doc__":
        return func.code.consts[0] if func.code.flags & CO_DOCSTRING else None
    if name == "__module__":
        return func.globals.get("__name__")
    raise _missing(func, name, f"'function' object has no attribute '{name}'")


def _set_function_attribute(func: Function, name: str, value: Any) -> None:
    if name in ("__name__", "__qualname__"):
        if type(value) is not str:
            raise TypeError(f"{name} must be set to a string object")
        if name == "__name__":
            func.name = value
        else:
            func.qualname = value
        return
    if name.startswith("__") and name.endswith("__") and name not in _FUNCTION_DUNDERS:
        raise AttributeError(f"pvm does not allow setting '{name}' on functions")
    heap = func.vm.heap
    if func.attrs is None:
        func.attrs = heap.new_dict()
    before = len(func.attrs)
    func.attrs[name] = value
    heap.grew(func.attrs, before)


def _refused_store(obj: Any, name: str) -> Exception:
    if isinstance(obj, type) or obj is TYPE:
        # CPython 3.11 words deletion the same way.
        return TypeError(f"cannot set '{name}' attribute of immutable type '{_type_name(obj)}'")
    return AttributeError(f"'{type(obj).__name__}' object has no attribute '{name}'")


def _type_name(obj: Any) -> str:
    return "type" if obj is TYPE else obj.__name__


def _module_name(module: Module) -> str:
    name = module.dict.get("__name__", module.name)
    return name if type(name) is str else module.name


def _missing(obj: Any, name: str, message: str) -> AttributeError:
    return AttributeError(message, name=name, obj=obj)


# --- "Did you mean" (CPython 3.11 Python/suggestions.c, reimplemented) ---

_MAX_CANDIDATES = 750
_MAX_NAME_BYTES = 40
_MOVE_COST = 2
_CASE_COST = 1


def _sample_function() -> None:
    """Stands in for a script function when listing a function's attributes."""


# pvm's classes list the attributes of the CPython types they play.
_HOST_TWINS: dict[type, type] = {
    Function: types.FunctionType, Builtin: types.BuiltinFunctionType, Cell: types.CellType,
    Module: types.ModuleType, TypeBuiltin: type,
}


def _candidate_names(obj: Any) -> list[str]:
    """What CPython's ``dir(obj)`` lists for the object the script holds."""
    cls = type(obj)
    if cls is Module:
        return sorted(key for key in obj.dict if type(key) is str)
    if cls is Function:
        return dir(_sample_function)
    if cls is Builtin or cls is BoundStrMethod:
        return dir(len)
    if cls is Cell:
        return dir(types.CellType)
    if obj is TYPE:
        return dir(type)
    if isinstance(obj, Instance) or is_user_class(obj):
        return _user_names(obj)
    return dir(_HOST_TWINS.get(obj, obj)) if isinstance(obj, type) else dir(obj)


def _user_names(obj: Any) -> list[str]:
    """``dir()`` of a user class or instance as CPython lists it: the
    instance's attributes, every namespace along the MRO and the host base's names."""
    cls = obj if isinstance(obj, type) else type(obj)
    names = {"__dict__", "__module__", "__weakref__"}
    if cls is not obj:
        names.update(key for key in obj.__dict__ if type(key) is str and not key.startswith("__pvm"))
    for klass in cls.__mro__:
        ns = klass.__dict__.get(NS)
        if ns is not None:
            names.update(key for key in ns if type(key) is str)
        elif klass is not Instance:
            names.update(dir(klass))
    return sorted(names)


def _substitution_cost(a: int, b: int) -> int:
    if a & 31 != b & 31:
        return _MOVE_COST
    if a == b:
        return 0
    if 65 <= a <= 90:
        a += 32
    if 65 <= b <= 90:
        b += 32
    return _CASE_COST if a == b else _MOVE_COST


def _distance(a: bytes, b: bytes, max_cost: int) -> int:
    """Levenshtein distance with case-aware substitution, capped at ``max_cost + 1``."""
    start = 0
    while start < len(a) and start < len(b) and a[start] == b[start]:
        start += 1
    a, b = a[start:], b[start:]
    while a and b and a[-1] == b[-1]:
        a, b = a[:-1], b[:-1]
    if not a or not b:
        return (len(a) + len(b)) * _MOVE_COST
    if len(a) > _MAX_NAME_BYTES or len(b) > _MAX_NAME_BYTES:
        return max_cost + 1
    if len(b) < len(a):
        a, b = b, a
    if (len(b) - len(a)) * _MOVE_COST > max_cost:
        return max_cost + 1
    row = [(i + 1) * _MOVE_COST for i in range(len(a))]
    result = 0
    for b_index, code in enumerate(b):
        distance = result = b_index * _MOVE_COST
        minimum = max_cost + 1
        for index, char in enumerate(a):
            substitute = distance + _substitution_cost(code, char)
            distance = row[index]
            result = min(min(result, distance) + _MOVE_COST, substitute)
            row[index] = result
            minimum = min(minimum, result)
        if minimum > max_cost:
            return max_cost + 1
    return result


def closest_name(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate CPython 3.11 would suggest for a mistyped ``name``, if any."""
    names = list(candidates)
    if len(names) >= _MAX_CANDIDATES:
        return None
    wrong = name.encode("utf-8", "surrogatepass")
    best: str | None = None
    best_distance = sys.maxsize
    for item in names:
        if item == name:
            continue
        encoded = item.encode("utf-8", "surrogatepass")
        max_distance = min((len(wrong) + len(encoded) + 3) * _MOVE_COST // 6, best_distance - 1)
        current = _distance(wrong, encoded, max_distance)
        if current <= max_distance:
            best, best_distance = item, current
    return best


def attribute_suggestion(exc: BaseException) -> str | None:
    """The name CPython would print as ``. Did you mean: 'x'?`` after ``exc``'s message.

    Only AttributeErrors raised by ``get_attribute`` (which set ``name`` and
    ``obj``) get a suggestion, as only failed attribute loads do in CPython.
    The candidates are CPython's ``dir()`` of the object; a name that CPython
    has but pvm refuses (``__class__``, ``encode``) gets no hint at all.
    """
    if not isinstance(exc, AttributeError) or type(exc.name) is not str:
        return None
    names = _candidate_names(exc.obj)
    if exc.name in names:
        return None   # exists in CPython but is refused here: no hint towards it
    return closest_name(exc.name, names)


# --- str.format / str.format_map without attribute walks ---

_SUBSCRIPTABLE = frozenset({str, list, tuple, dict, range})
_INIT, _AUTO, _MANUAL = 0, 1, 2
_SMALL_SPEC = 256   # a nested format spec longer than this is never built just to measure it


class _Numbering:
    """Automatic vs manual field numbering, shared by nested format specs."""

    __slots__ = ("state", "next")

    def __init__(self) -> None:
        self.state = _INIT
        self.next = 0


def safe_format(template: str, args: tuple[Any, ...] | None, mapping: Any) -> str:
    """``template.format(*args, **mapping)`` (``args`` None: ``format_map(mapping)``)."""
    return _build(template, args, mapping, 2, _Numbering())


def _build(template: str, args: tuple[Any, ...] | None, mapping: Any, depth: int,
           numbering: _Numbering) -> str:
    if depth <= 0:
        raise ValueError("Max string recursion exceeded")
    out = []
    for literal, field, spec, conversion in formatter_parser(template):
        if literal:
            out.append(literal)
        if field is None:
            continue
        value = _field_value(field, args, mapping, numbering)
        if conversion is not None:
            value = _convert(value, conversion)
        if "{" in spec:
            spec = _build(spec, args, mapping, depth - 1, numbering)
        out.append(format(value, spec))
    return "".join(out)


def estimate_format(template: str, args: tuple[Any, ...] | None, mapping: Any,
                    measure: Callable[[Any, str, str | None], int], depth: int = 2,
                    numbering: _Numbering | None = None) -> int:
    """About ``len(safe_format(template, args, mapping))``, without building
    the big parts: ``measure(value, spec, conversion)`` estimates one field.
    A nested spec is built only once its own estimate shows it is small. Raises
    what the formatting itself would raise for a bad template."""
    if numbering is None:
        numbering = _Numbering()
    if depth <= 0:
        raise ValueError("Max string recursion exceeded")
    total = 0
    for literal, field, spec, conversion in formatter_parser(template):
        total += len(literal)
        if field is None:
            continue
        value = _field_value(field, args, mapping, numbering)
        if "{" in spec:
            state, position = numbering.state, numbering.next
            nested = estimate_format(spec, args, mapping, measure, depth - 1, numbering)
            if nested > _SMALL_SPEC:
                total += nested
                continue
            numbering.state, numbering.next = state, position
            spec = _build(spec, args, mapping, depth - 1, numbering)
        total += measure(value, spec, conversion)
    return total


def _field_value(field: str, args: tuple[Any, ...] | None, mapping: Any, numbering: _Numbering) -> Any:
    first, rest = formatter_field_name_split(field)
    auto = first == ""
    if auto or type(first) is int:
        if numbering.state == _INIT:
            numbering.state = _AUTO if auto else _MANUAL
        if numbering.state == _MANUAL and auto:
            raise ValueError("cannot switch from manual field specification to automatic field numbering")
        if numbering.state == _AUTO and not auto:
            raise ValueError("cannot switch from automatic field numbering to manual field specification")
        if auto:
            first = numbering.next
            numbering.next += 1
        if args is None:
            raise ValueError("Format string contains positional fields")
        if first >= len(args):
            raise IndexError(f"Replacement index {first} out of range for positional args tuple")
        value = args[first]
    else:
        value = mapping[first]
    for is_attribute, key in rest:
        if is_attribute:
            value = get_attribute(value, key)
        elif type(value) in _SUBSCRIPTABLE:
            value = value[key]
        else:
            raise TypeError(f"'{type(value).__name__}' object is not subscriptable")
    return value


def _convert(value: Any, conversion: str) -> Any:
    if conversion == "r":
        return repr(value)
    if conversion == "s":
        return str(value)
    if conversion == "a":
        return ascii(value)
    code = ord(conversion)
    if 32 < code < 127:
        raise ValueError(f"Unknown conversion specifier {conversion}")
    raise ValueError(f"Unknown conversion specifier \\x{code:x}")


class BoundStrMethod:
    """``"...".format`` / ``"...".format_map`` as a script sees it."""

    __slots__ = ("template", "name")

    def __init__(self, template: str, name: str) -> None:
        self.template = template
        self.name = name

    def __call__(self, *args: Any, **kwargs: Any) -> str:
        if self.name == "format":
            return safe_format(self.template, args, kwargs)
        if kwargs:
            raise TypeError("str.format_map() takes no keyword arguments")
        if len(args) != 1:
            raise TypeError(f"str.format_map() takes exactly one argument ({len(args)} given)")
        return safe_format(self.template, None, args[0])

    def __repr__(self) -> str:
        return f"<built-in method {self.name} of str object at {id(self.template):#x}>"


class StrMethodDescriptor:
    """``str.format`` / ``str.format_map`` read from the type."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, *args: Any, **kwargs: Any) -> str:
        if not args:
            raise TypeError(f"unbound method str.{self.name}() needs an argument")
        if not isinstance(args[0], str):
            raise TypeError(f"descriptor '{self.name}' for 'str' objects doesn't apply to a "
                            f"'{type(args[0]).__name__}' object")
        return BoundStrMethod(args[0], self.name)(*args[1:], **kwargs)

    def __repr__(self) -> str:
        return f"<method '{self.name}' of 'str' objects>"


for _cls, _name in ((BoundStrMethod, "builtin_function_or_method"), (StrMethodDescriptor, "method_descriptor")):
    _cls.__name__ = _cls.__qualname__ = _name
    _cls.__module__ = "builtins"
