"""pvm: a process virtual machine for a strict subset of Python.

The embedding API (``VM``, ``Limits``, the errors) is loaded on first use, so
``import pvm`` stays cheap for the command line.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["VM", "Limits", "ScriptError", "LimitExceeded", "PvmError", "PvmSyntaxError", "__version__"]

_EXPORTS = {
    "VM": "pvm.api",
    "Limits": "pvm.sandbox",
    "LimitExceeded": "pvm.sandbox",
    "ScriptError": "pvm.errors",
    "PvmError": "pvm.errors",
    "PvmSyntaxError": "pvm.errors",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pvm' has no attribute '{name}'")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
