"""Level 2 runtime rules: pvm's attribute lookup on classes and instances,
what the host types of user classes carry, exception chaining state, and
isolation of classes between VMs."""

from __future__ import annotations

import textwrap

import pytest

from lang import compile_source
from pvm.classes import NS, SPECIAL_METHODS, Instance
from pvm.errors import ScriptError
from pvm.interp import Interpreter


def run(source: str, vm: Interpreter | None = None) -> tuple[str, Interpreter]:
    out: list[str] = []
    vm = vm or Interpreter()
    vm.write = out.append
    vm.run_module(compile_source(textwrap.dedent(source), "t.src"))
    return "".join(out), vm


def test_host_type_of_a_user_class_carries_only_trampolines_and_the_namespace():
    _, vm = run("""
        class P:
            limit = 3
            def __init__(self, x):
                self.x = x
            def __add__(self, other):
                return P(self.x + other.x)
            def __getattribute__(self, name):
                return 'hijacked'
            def __del__(self):
                print('never')
            def area(self):
                return 0
    """)
    cls = vm.modules["__main__"].dict["P"]
    host_keys = set(vars(cls)) - {"__dict__", "__weakref__", "__doc__", "__hash__"}
    assert host_keys == {NS, "__pvm_vm__", "__pvm_cache__", "__module__", "__init__", "__add__"}
    assert set(vars(cls)[NS]) >= {"limit", "area", "__getattribute__", "__del__"}
    assert issubclass(cls, Instance) and "__getattribute__" not in SPECIAL_METHODS


def test_property_beats_instance_attribute_and_methods_bind():
    out, _ = run("""
        class C:
            def get(self):
                return 'prop'
            v = property(get)
            def m(self):
                return self
        c = C()
        print(c.v, c.m() is c, C.m(c) is c, c.m == c.m)
    """)
    assert out == "prop True True True\n"


def test_exception_state_is_restored_after_handlers():
    _, vm = run("""
        try:
            try:
                1 / 0
            except ZeroDivisionError:
                [][0]
        except IndexError as e:
            assert type(e.__context__) is ZeroDivisionError
    """)
    assert vm.handling is None


def test_classes_of_two_vms_share_nothing():
    source = "class A:\n    n = 0\nA.n += 1\nprint(A.n)\n"
    first, vm1 = run(source)
    second, vm2 = run(source)
    assert first == second == "1\n"
    assert vm1.modules["__main__"].dict["A"] is not vm2.modules["__main__"].dict["A"]


def test_builtin_exception_classes_cannot_be_patched():
    with pytest.raises(ScriptError) as info:
        run("ValueError.x = 1\n")
    assert info.value.message == "cannot set 'x' attribute of immutable type 'ValueError'"
