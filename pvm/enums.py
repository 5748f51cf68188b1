"""``enum``'s metaclass: the one place a pvm class has a metaclass of its own.

A script class is a host ``type`` (pvm.classes). An enumeration needs what
only a metaclass gives: iterating, indexing, calling and measuring the class
itself, and its members made when the class is. stdlib/enum.src writes
everything a member does in the language; ``make_enum_root`` rebuilds its
``Enum`` class with ``EnumType`` as metaclass, so every subclass the script
defines gets ``EnumType`` too (Python picks a subclass's metaclass from its
base) and ``EnumType.__init__`` turns the class body's plain values into
members. Scripts cannot define metaclasses themselves.
"""

from __future__ import annotations

from typing import Any

from pvm.classes import NS, VM, ClassMethod, Instance, Property, StaticMethod, bind, lookup, namespace
from pvm.objects import Function

_AUTO = "__pvm_enum_auto__"       # on the root: the class whose instances auto() makes
_NOT_MEMBERS = (Function, StaticMethod, ClassMethod, Property)


class EnumType(type):
    """The metaclass of enum.Enum and its subclasses."""

    def __init__(cls, name: str, bases: tuple[type, ...], host_dict: dict[str, Any]) -> None:
        super().__init__(name, bases, host_dict)
        ns = host_dict[NS]
        names = [key for key, value in ns.items() if _is_member(key, value)]
        if not names:
            return
        for base in cls.__mro__[1:]:
            if type(base) is EnumType and namespace(base).get("_member_names_"):
                raise TypeError(f"<enum {name!r}> cannot extend <enum {base.__name__!r}>")
        _make_members(cls, ns, names)

    def __iter__(cls) -> Any:
        members = namespace(cls).get("_member_map_", {})
        return iter([members[key] for key in namespace(cls).get("_member_names_", ())])

    def __reversed__(cls) -> Any:
        return reversed(list(cls.__iter__()))

    def __len__(cls) -> int:
        return len(namespace(cls).get("_member_names_", ()))

    def __bool__(cls) -> bool:
        return True

    def __contains__(cls, value: Any) -> bool:
        if not isinstance(value, Instance) or type(type(value)) is not EnumType:
            raise TypeError(f"unsupported operand type(s) for 'in': '{type(value).__name__}' and 'EnumType'")
        return isinstance(value, cls) and value._name_ in namespace(cls).get("_member_map_", {})

    def __getitem__(cls, name: Any) -> Any:
        return namespace(cls).get("_member_map_", {})[name]

    def __call__(cls, value: Any = None, *args: Any, **kwargs: Any) -> Any:
        if args or kwargs or not namespace(cls).get("_member_names_"):
            raise TypeError("pvm's enum does not support the functional API "
                            f"(calling {cls.__name__} with names)" if args or kwargs else
                            f"{cls.__name__} has no members")
        by_value = namespace(cls)["_value2member_map_"]
        try:
            return by_value[value]
        except (KeyError, TypeError):
            for member in by_value.values():
                if member._value_ == value:
                    return member
        raise ValueError(f"{value!r} is not a valid {cls.__qualname__}")

    def __repr__(cls) -> str:
        return f"<enum {cls.__name__!r}>"


EnumType.__module__ = "enum"


def _is_member(key: str, value: Any) -> bool:
    if key.startswith("__") and key.endswith("__"):
        return False
    if len(key) > 2 and key[0] == key[-1] == "_" and key[1] != "_" and key[-2] != "_":
        return False            # _sunder_ names are enum's own
    return not isinstance(value, _NOT_MEMBERS) and not (type(value) is type and NS in value.__dict__)


def _make_members(cls: type, ns: dict[str, Any], names: list[str]) -> None:
    """Replace each member value in ``ns`` by the member; equal values alias the first."""
    vm = cls.__dict__[VM]
    heap = vm.heap
    auto = getattr(cls, _AUTO, None)
    next_value = lookup(cls, "_generate_next_value_")
    init = lookup(cls, "__init__")
    user_init = type(init) is Function and init.globals.get("__name__") != "enum"
    member_map, by_value, member_names, values = heap.new_dict(), heap.new_dict(), heap.new_list(), []
    for key in names:
        value = ns[key]
        if auto is not None and type(value) is auto:
            value = bind(next_value, None, cls)(key, 1, len(member_names), list(values))
        values.append(value)
        alias = next((m for m in member_map.values() if m._value_ == value), None)
        if alias is not None:
            ns[key] = member_map[key] = alias
            continue
        member = heap.adopt(object.__new__(cls))
        member.__dict__["_name_"] = key
        member.__dict__["_value_"] = value
        if user_init:
            bind(init, member, cls)(*(value if type(value) is tuple else (value,)))
        ns[key] = member_map[key] = member
        member_names.append(key)
        try:
            by_value[value] = member
        except TypeError:
            pass              # unhashable values are found by the linear search in __call__
    ns["_member_map_"], ns["_member_names_"], ns["_value2member_map_"] = member_map, member_names, by_value


def make_enum_root(cls: type, auto: type) -> type:
    """enum.src's ``Enum`` again, with EnumType as its metaclass; ``auto`` is
    the class whose instances stand for generated values."""
    host_dict = {key: value for key, value in cls.__dict__.items() if key not in ("__dict__", "__weakref__")}
    host_dict[_AUTO] = auto
    return EnumType(cls.__name__, cls.__bases__, host_dict)
