"""User classes: how a ``class`` statement becomes an object, and pvm's rules
for the attributes and special methods of classes and instances.

A user class is a host type created for it (``make_class``) whose host
dictionary holds only what pvm puts there: ``__module__``, ``__qualname__``,
the namespace the class body built (under ``__pvm_ns__``) and, for each special
method the body defines, a *trampoline* that calls the script function through
the VM. So host machinery that acts on instances (``a + b``, ``sorted``,
``hash``, ``str``, ``in``) reaches script code only through those trampolines,
and everything else a script does with a class goes through pvm's own lookup
(``get_instance_attribute``, ``get_class_attribute``): the script's namespace
along the class's MRO, never Python's attribute machinery on pvm's objects.

Using host types buys CPython's semantics and messages for free: the MRO,
``isinstance``/``issubclass``, ``__eq__`` without ``__hash__`` making
instances unhashable, "unsupported operand type(s) for +: 'A' and 'B'",
"'A' object is not iterable", reflected operands and ``NotImplemented``.
A user exception class derives from its host exception base as well, so its
instances are raised and caught like the builtin ones and carry ``args``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from pvm.objects import Builtin, Function

if TYPE_CHECKING:
    from pvm.interp import Interpreter

NS = "__pvm_ns__"
VM = "__pvm_vm__"
CACHE = "__pvm_cache__"      # name -> what ``lookup`` found, valid while no class namespace changes
ABSTRACT = "__pvm_abstract__"  # on abc.ABC and its subclasses: the names still abstract (``__abstractmethods__``)


class Instance:
    """Base of every user class's instances (its host layout: a ``__dict__``)."""


# Special methods a class body may define; each gets a trampoline.
SPECIAL_METHODS = frozenset(
    "__init__ __str__ __repr__ __eq__ __ne__ __lt__ __le__ __gt__ __ge__ __hash__ __len__ __bool__ "
    "__contains__ __getitem__ __setitem__ __delitem__ __iter__ __next__ __call__ __neg__ __pos__ "
    "__abs__ __invert__ __int__ __float__ __index__ __round__ __format__".split()
    + [f"__{prefix}{op}__" for op in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "lshift",
                                      "rshift", "and", "or", "xor", "matmul") for prefix in ("", "r", "i")]
)

# What host code finds on a user class's instances: its special methods, and the
# protocol methods host builtins probe (dict(x) and f(**x) look for `keys`).
TRAMPOLINED = SPECIAL_METHODS | {"__reversed__", "keys"}

# Attributes of exception instances a script may read (besides its own).
EXCEPTION_ATTRIBUTES = frozenset({"args", "__cause__", "__context__", "__suppress_context__"})


def is_user_class(obj: Any) -> bool:
    return isinstance(obj, type) and NS in obj.__dict__     # type, or enum's EnumType (pvm.enums)


def namespace(cls: type) -> dict[str, Any]:
    return cls.__dict__[NS]


# --- What tier 0's attribute fast paths may assume ---
# Every name any user class has ever bound to a property: reading another name of
# an instance finds the instance's own attribute first, if it has one.
PROPERTY_NAMES: set[str] = set()
# The user classes whose instances store attributes plainly: no __setattr__ in
# their MRO (a class that gets one later leaves, with its subclasses).
PLAIN_STORE_CLASSES: set[type] = set()


def _note_attribute(cls: type, name: str, value: Any) -> None:
    if type(value) is Property:
        PROPERTY_NAMES.add(name)
    elif name == "__setattr__":
        pending = [cls]
        while pending:
            klass = pending.pop()
            PLAIN_STORE_CLASSES.discard(klass)
            pending.extend(type.__subclasses__(klass))


# --- Creation ---

def make_class(vm: "Interpreter", name: str, bases: tuple[Any, ...], ns: dict[str, Any]) -> type:
    """The class a ``class`` statement defines, from the namespace its body built."""
    if len(bases) > 1:
        raise TypeError("multiple inheritance is not supported")
    base = bases[0] if bases else object
    if not isinstance(base, type):
        raise TypeError(f"bases must be types, not {type(base).__name__}" if not callable(base) else
                        "metaclass conflict: the metaclass of a derived class must be a (non-strict) "
                        "subclass of the metaclasses of all its bases")
    if base is object:
        host_bases: tuple[type, ...] = (Instance,)
    elif NS in base.__dict__:
        host_bases = (base,)
    elif issubclass(base, BaseException) and base.__module__ == "builtins":
        host_bases = (base, Instance)
    else:
        raise TypeError(f"pvm cannot subclass the builtin type '{base.__name__}'")
    host_dict: dict[str, Any] = {NS: ns, VM: vm, CACHE: {None: _version}, "__module__": ns.get("__module__", "__main__"),
                                 "__qualname__": ns.get("__qualname__", name)}
    for key, value in ns.items():
        if key in TRAMPOLINED:
            host_dict[key] = _trampoline(vm, key) if value is not None else None
    if "__eq__" in ns and "__hash__" not in ns:
        ns["__hash__"] = None          # as CPython: defining __eq__ alone makes instances unhashable
    if hasattr(base, ABSTRACT):
        _abstract_methods(base, ns, host_dict)
    cls = type(name, host_bases, host_dict)
    vm.heap.adopt(ns)
    for key, value in ns.items():
        _note_attribute(cls, key, value)
    if lookup(cls, "__setattr__") is _MISSING:
        PLAIN_STORE_CLASSES.add(cls)
    return cls


def _abstract_methods(base: type, ns: dict[str, Any], host_dict: dict[str, Any]) -> None:
    """For a subclass of abc.ABC: what stays abstract, and a ``__new__`` that refuses
    to instantiate the class while anything does (as ABCMeta and object.__new__)."""
    inherited = (key for key in getattr(base, ABSTRACT) if key not in ns and is_abstract(lookup(base, key)))
    abstract = frozenset([*(key for key, value in ns.items() if is_abstract(value)), *inherited])
    host_dict[ABSTRACT] = abstract
    if not abstract:
        host_dict["__new__"] = _new_instance
        return
    names = sorted(abstract)
    plural = "s" if len(names) > 1 else ""

    def refuse(cls: type, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"Can't instantiate abstract class {cls.__name__} with abstract "
                        f"method{plural} {', '.join(names)}")
    host_dict["__new__"] = refuse


def _new_instance(cls: type, *args: Any, **kwargs: Any) -> Any:
    return object.__new__(cls)


def make_abc_root(cls: Any) -> None:
    """``abc.ABC``'s marking: its subclasses get abstract-method checks."""
    if not is_user_class(cls):
        raise TypeError("expected a class")
    type.__setattr__(cls, ABSTRACT, frozenset())


def is_abstract(value: Any) -> bool:
    """Whether a class attribute is marked by abc.abstractmethod (directly or under a decorator)."""
    kind = type(value)
    if kind is Property:
        value = value.fget
    elif kind is StaticMethod or kind is ClassMethod:
        value = value.__func__
    return type(value) is Function and value.attrs is not None and bool(value.attrs.get("__isabstractmethod__"))


def _trampoline(vm: "Interpreter", name: str) -> Callable[..., Any]:
    """The host special method ``name``: calls what pvm's lookup finds."""
    def special(self: Any, /, *args: Any, **kwargs: Any) -> Any:     # `self=` may be a script keyword
        method = lookup(type(self), name)
        if type(method) is Function:
            return vm.call_from_host(method, (self, *args), kwargs)
        return bind(method, self, type(self))(*args, **kwargs)

    if name == "__init__":
        def init(self: Any, /, *args: Any, **kwargs: Any) -> None:
            result = special(self, *args, **kwargs)
            if result is not None:
                raise init_result(result)
        return init
    special.__name__ = name
    return special


def init_result(result: Any) -> TypeError:
    """What an __init__ that returned something raises."""
    return TypeError(f"__init__() should return None, not '{type(result).__name__}'")


# --- Lookup ---

_MISSING: Any = object()


_version = 0                 # bumped whenever a class's namespace changes after its creation
# Translated code's inline caches (pvm.translated) that have entries: each holds
# while no class namespace changes, so a change empties them all (by id: a cache
# that empties and fills again is listed once).
FILLED_CACHES: dict[int, set[Any] | dict[Any, Any]] = {}


def _namespace_changed() -> None:
    global _version
    _version += 1
    for cache in FILLED_CACHES.values():
        cache.clear()
    FILLED_CACHES.clear()


def lookup(cls: type, name: str) -> Any:
    """``name`` in the namespaces along ``cls``'s MRO (host bases included), or
    _MISSING; remembered per class until any class namespace changes."""
    cache = cls.__dict__[CACHE]
    if cache[None] != _version:
        cache.clear()
        cache[None] = _version
    found = cache.get(name, cache)
    if found is cache:
        found = cache[name] = _walk_mro(cls, name)
    return found


def _walk_mro(cls: type, name: str) -> Any:
    for klass in cls.__mro__:
        ns = klass.__dict__.get(NS)
        if ns is not None:
            if name in ns:
                return ns[name]
        elif name in _HOST_METHODS and klass is not Instance and name in klass.__dict__:
            return klass.__dict__[name]
    return _MISSING


def special_method(obj: Any, name: str) -> Any:
    """``obj``'s special method ``name`` bound to it, looked up on its class as
    CPython does (the instance's own attributes do not count), or None."""
    cls = type(obj)
    if not is_user_class(cls):
        return None
    found = lookup(cls, name)
    return None if found is _MISSING or found is None else bind(found, obj, cls)


# What a host base (object, an exception class) lends its subclasses through pvm's lookup.
_HOST_METHODS = frozenset({"__init__", "__eq__", "__ne__", "__hash__", "__str__", "__repr__"})


class Method:
    """A function bound to an instance (or, for a classmethod, to a class)."""

    __slots__ = ("__func__", "__self__")

    def __init__(self, func: Any, owner: Any) -> None:
        self.__func__ = func
        self.__self__ = owner

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.__func__(self.__self__, *args, **kwargs)

    def __eq__(self, other: Any) -> bool:
        return type(other) is Method and self.__func__ is other.__func__ and self.__self__ is other.__self__

    def __hash__(self) -> int:
        return hash((id(self.__func__), id(self.__self__)))

    def __repr__(self) -> str:
        owner = self.__self__
        if isinstance(owner, type):
            return f"<bound method {self.__func__.qualname} of {owner!r}>"
        return f"<bound method {self.__func__.qualname} of {object.__repr__(owner)}>"


class StaticMethod:
    __slots__ = ("__func__",)

    def __init__(self, func: Any) -> None:
        self.__func__ = func


class ClassMethod:
    __slots__ = ("__func__",)

    def __init__(self, func: Any) -> None:
        self.__func__ = func


class Property:
    """``@property``: a getter and optionally a setter and a deleter."""

    __slots__ = ("fget", "fset", "fdel")

    def __init__(self, fget: Any = None, fset: Any = None, fdel: Any = None) -> None:
        self.fget, self.fset, self.fdel = fget, fset, fdel

    def setter(self, fset: Any) -> "Property":
        return Property(self.fget, fset, self.fdel)

    def deleter(self, fdel: Any) -> "Property":
        return Property(self.fget, self.fset, fdel)

    def getter(self, fget: Any) -> "Property":
        return Property(fget, self.fset, self.fdel)


for _cls, _name in ((Method, "method"), (StaticMethod, "staticmethod"), (ClassMethod, "classmethod"),
                    (Property, "property")):
    _cls.__name__ = _cls.__qualname__ = _name
    _cls.__module__ = "builtins"


def bind(value: Any, obj: Any, cls: type) -> Any:
    """What ``obj.name`` gives for a class attribute ``value`` (obj None: ``cls.name``)."""
    kind = type(value)
    if kind is Function:
        return value if obj is None else Method(value, obj)
    if kind is StaticMethod:
        return value.__func__
    if kind is ClassMethod:
        return Method(value.__func__, cls)
    if kind is Property and obj is not None:
        if value.fget is None:
            raise AttributeError("property object has no getter")
        return value.fget(obj)
    if obj is not None and kind in _HOST_DESCRIPTORS:
        return value.__get__(obj, cls)         # a host base's method, e.g. Exception.__init__ via super()
    return value


_HOST_DESCRIPTORS = (type(object.__init__), type(str.join))   # wrapper_descriptor, method_descriptor


def get_instance_attribute(obj: Any, name: str) -> Any:
    """``obj.name`` for an instance of a user class, by pvm's rules: a
    property of the class first, then the instance's own, then the class's."""
    cls = type(obj)
    found = lookup(cls, name)
    if found is _MISSING or type(found) is not Property:
        attrs = obj.__dict__
        if name in attrs and not name.startswith("__pvm_"):      # pvm's own keys (an exception's traceback)
            return attrs[name]
    if found is not _MISSING:
        return bind(found, obj, cls)
    if name in EXCEPTION_ATTRIBUTES and isinstance(obj, BaseException):
        return getattr(obj, name)
    if name == "__class__":
        return cls
    if name == "__doc__":
        return None
    if name == "__dict__" and not isinstance(obj, BaseException):
        return obj.__dict__       # the instance's own attributes, as copy and dataclasses read them
    raise AttributeError(f"'{cls.__name__}' object has no attribute '{name}'", name=name, obj=obj)


def get_class_attribute(cls: type, name: str) -> Any:
    if name == "__annotations__":           # a class's own, never a base's (CPython 3.10+)
        ns = namespace(cls)
        if name not in ns:
            set_class_attribute(cls, name, cls.__dict__[VM].heap.new_dict())
        return ns[name]
    found = lookup(cls, name)
    if found is not _MISSING:
        return bind(found, None, cls)
    if name in ("__name__", "__qualname__", "__module__"):
        return getattr(cls, name)
    if name == "__bases__":
        return tuple(base for base in cls.__bases__ if base is not Instance) or (object,)
    if name == "__doc__":
        return None               # a class body that starts with a string stores its own
    if name == "__abstractmethods__" and ABSTRACT in cls.__dict__:
        return cls.__dict__[ABSTRACT]
    if name == "__members__" and "_member_map_" in namespace(cls):
        return cls.__dict__[VM].heap.new_dict(namespace(cls)["_member_map_"].items())
    raise AttributeError(f"type object '{cls.__name__}' has no attribute '{name}'", name=name, obj=cls)


def set_instance_attribute(obj: Any, name: str, value: Any) -> None:
    """``obj.name = value``: through the class's ``__setattr__`` if it has one."""
    hook = lookup(type(obj), "__setattr__")
    if hook is not _MISSING:
        bind(hook, obj, type(obj))(name, value)
    else:
        store_instance_attribute(obj, name, value)


def store_instance_attribute(obj: Any, name: str, value: Any) -> None:
    """The store itself, as ``object.__setattr__`` does it."""
    if not isinstance(obj, Instance):
        raise TypeError(f"pvm's object.__setattr__ takes an instance of a class, not {type(obj).__name__!r}")
    found = lookup(type(obj), name)
    if type(found) is Property:
        if found.fset is None:
            raise AttributeError(f"property '{_property_name(found, name)}' of '{type(obj).__name__}' "
                                 "object has no setter")
        found.fset(obj, value)
        return
    if name.startswith("__") and name.endswith("__") and name not in ("__cause__", "__context__"):
        raise AttributeError(f"pvm does not allow setting '{name}' on instances")
    if name in ("__cause__", "__context__") and isinstance(obj, BaseException):
        setattr(obj, name, value)
        return
    obj.__dict__[name] = value


def _property_name(prop: Property, default: str) -> str:
    getter = prop.fget
    return getattr(getter, "name", default) if type(getter) is Function else default


def set_class_attribute(cls: type, name: str, value: Any) -> None:
    _namespace_changed()
    namespace(cls)[name] = value
    _note_attribute(cls, name, value)
    if name in TRAMPOLINED:
        type.__setattr__(cls, name, _trampoline(cls.__dict__[VM], name) if value is not None else None)


def delete_class_attribute(cls: type, name: str) -> None:
    ns = namespace(cls)
    if name not in ns:
        raise AttributeError(f"type object '{cls.__name__}' has no attribute '{name}'", name=name, obj=cls)
    _namespace_changed()
    del ns[name]
    if name in TRAMPOLINED:
        type.__delattr__(cls, name)


def delete_instance_attribute(obj: Any, name: str) -> None:
    """``del obj.name``: through the class's ``__delattr__`` if it has one."""
    hook = lookup(type(obj), "__delattr__")
    if hook is not _MISSING:
        bind(hook, obj, type(obj))(name)
    else:
        remove_instance_attribute(obj, name)


def remove_instance_attribute(obj: Any, name: str) -> None:
    """The deletion itself, as ``object.__delattr__`` does it."""
    if not isinstance(obj, Instance):
        raise TypeError(f"pvm's object.__delattr__ takes an instance of a class, not {type(obj).__name__!r}")
    attrs = obj.__dict__
    if name not in attrs:
        raise AttributeError(f"'{type(obj).__name__}' object has no attribute '{name}'", name=name, obj=obj)
    del attrs[name]


def new_instance(cls: Any, *args: Any, **kwargs: Any) -> Any:
    """``object.__new__(cls)``: an instance whose ``__init__`` has not run."""
    if not is_user_class(cls):
        raise TypeError(f"object.__new__(X): X is not a type object ({type(cls).__name__})"
                        if not isinstance(cls, type) else
                        f"object.__new__({cls.__name__}) is not safe, use {cls.__name__}.__new__()")
    return cls.__new__(cls)


# ``object.__setattr__``, ``object.__delattr__`` and ``object.__new__`` as scripts reach
# them (through ``object`` or ``super()``): pvm's own, never the host's.
RAW_ATTRIBUTE_METHODS: dict[str, Any] = {
    "__setattr__": Builtin("__setattr__", store_instance_attribute),
    "__delattr__": Builtin("__delattr__", remove_instance_attribute),
    "__new__": Builtin("__new__", new_instance),
}


# --- super() ---

class Super:
    """``super(cls, obj)``: attribute lookup that starts after ``cls`` in obj's MRO."""

    __slots__ = ("cls", "obj")

    def __init__(self, cls: Any = None, obj: Any = None) -> None:
        if cls is None:
            raise RuntimeError("super(): __class__ cell not found")
        if not isinstance(cls, type):
            raise TypeError(f"super() argument 1 must be a type, not {type(cls).__name__}")
        if not (isinstance(obj, cls) or (isinstance(obj, type) and issubclass(obj, cls))):
            raise TypeError("super(type, obj): obj must be an instance or subtype of type")
        self.cls = cls
        self.obj = obj

    def attribute(self, name: str) -> Any:
        obj = self.obj
        start = obj if isinstance(obj, type) and issubclass(obj, self.cls) and not isinstance(obj, self.cls) \
            else type(obj)
        mro = start.__mro__
        for klass in mro[mro.index(self.cls) + 1:]:
            ns = klass.__dict__.get(NS)
            if ns is not None:
                if name in ns:
                    return bind(ns[name], None if start is obj else obj, start)
            elif name in RAW_ATTRIBUTE_METHODS and klass is object:
                raw = RAW_ATTRIBUTE_METHODS[name]
                return raw if start is obj or name == "__new__" else Method(raw, obj)
            elif name in _HOST_METHODS and klass is not Instance and name in klass.__dict__:
                value = klass.__dict__[name]
                return value.__get__(obj, start) if hasattr(value, "__get__") and start is not obj else value
        raise AttributeError(f"'super' object has no attribute '{name}'")

    def __repr__(self) -> str:
        return f"<super: <class '{self.cls.__name__}'>, <{type(self.obj).__name__} object>>"


Super.__name__ = Super.__qualname__ = "super"
Super.__module__ = "builtins"
