"""The import system: dotted names, packages, relative imports, circular imports.

It follows CPython's rules as a script sees them. ``IMPORT_NAME`` names a
module with its relative level as leading dots (``..pkg.mod``) and pushes that
module itself (the compiler turns ``import a.b`` into importing ``a.b`` and
then binding ``a``). A module is registered before its body runs, so a
circular import sees the partial module, and is dropped again if its body
raises. Top-level names are looked up among the VM's native modules, then in
the search path (the script's folder, then stdlib/); a submodule only in its
package's folder. Finding files is pvm.loader's job; compiling them is the
injected ``vm.loader``'s, so the runtime never imports the parser.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pvm.loader import find_module
from pvm.natives import CAPABILITY_MODULES, NATIVE_MODULES
from pvm.objects import Module

if TYPE_CHECKING:
    from pvm.interp import Interpreter


def import_name(vm: "Interpreter", spec: str, globals: dict[str, Any]) -> Module:
    """The module ``spec`` names from a module whose globals are ``globals``."""
    name = spec.lstrip(".")
    level = len(spec) - len(name)
    if level:
        name = _resolve(name, level, globals.get("__package__"))
    return import_module(vm, name)


def _resolve(name: str, level: int, package: Any) -> str:
    if not package or type(package) is not str:
        raise ImportError("attempted relative import with no known parent package")
    bits = package.rsplit(".", level - 1)
    if len(bits) < level:
        raise ImportError("attempted relative import beyond top-level package")
    return f"{bits[0]}.{name}" if name else bits[0]


def import_module(vm: "Interpreter", name: str) -> Module:
    """Module ``name`` (absolute, dotted), importing its packages first."""
    module = vm.modules.get(name)
    if module is not None:
        return module
    parent_name, _, last = name.rpartition(".")
    if parent_name:
        parent = import_module(vm, parent_name)
        module = vm.modules.get(name)    # the package's own body may have imported it
        if module is not None:
            return module
        if parent.path is None:
            raise _not_found(name, f"No module named '{name}'; '{parent_name}' is not a package")
        folders = [parent.path]
    else:
        native = NATIVE_MODULES.get(name)
        if native is None and name in vm.granted:
            native = CAPABILITY_MODULES.get(name)
        if native is not None:
            module = vm.heap.new_module(name, None, vm.heap.new_dict(native(vm).items()))
            vm.modules[name] = module
            return module
        folders = vm.search_path
    found = find_module(last, folders) if vm.loader else None
    if found is None:
        raise _not_found(name, f"No module named '{name}'")
    origin, path = found
    code = vm.loader(origin)
    package = name if path is not None else parent_name
    namespace = vm.heap.new_dict([("__name__", name), ("__doc__", None), ("__package__", package)])
    module = vm.heap.new_module(name, origin, namespace, path)
    vm.modules[name] = module
    vm.initializing.add(name)
    try:
        vm.execute_module_code(code, module)
    except BaseException:
        del vm.modules[name]
        raise
    finally:
        vm.initializing.discard(name)
    if parent_name:
        vm.modules[parent_name].dict[last] = module
    return module


def _not_found(name: str, message: str) -> ModuleNotFoundError:
    error = ModuleNotFoundError(message)
    error.name = name
    return error


def import_from(vm: "Interpreter", module: Module, name: str) -> Any:
    """``from module import name``: an attribute, else a submodule of a package."""
    try:
        return module.dict[name]
    except KeyError:
        pass
    qualified = f"{module.name}.{name}"
    if qualified in vm.modules:    # a circular import: registered, not yet bound in its package
        return vm.modules[qualified]
    if module.path is not None:
        try:
            return import_module(vm, qualified)
        except ModuleNotFoundError as error:
            if error.name != qualified:
                raise
    where = module.origin or "unknown location"
    if module.name in vm.initializing:
        raise ImportError(f"cannot import name '{name}' from partially initialized module "
                          f"'{module.name}' (most likely due to a circular import) ({where})")
    raise ImportError(f"cannot import name '{name}' from '{module.name}' ({where})")


def import_star(vm: "Interpreter", module: Module, namespace: dict[str, Any]) -> None:
    """``from module import *``: the names in ``__all__`` (a package's
    submodules among them), else every public name."""
    names = module.dict.get("__all__")
    if names is None:
        namespace.update((key, value) for key, value in module.dict.items() if not key.startswith("_"))
        return
    for key in names:
        if type(key) is not str:
            raise TypeError(f"Item in {module.name}.__all__ must be str, not {type(key).__name__}")
        try:
            namespace[key] = import_from(vm, module, key)
        except ImportError:
            raise AttributeError(f"module '{module.name}' has no attribute '{key}'") from None
