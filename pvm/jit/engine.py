"""The one module that talks to ``llvmlite.binding``: target set-up, IR
parsing and verification, the optimisation pipelines of the two tiers, MCJIT
and symbol addresses.

Keeping every binding call here means the rest of the JIT only builds
``llvmlite.ir`` modules and receives plain integers (function addresses), so
an engine based on LLJIT could replace MCJIT by rewriting this file alone.
LLVM is initialised lazily, on the first compilation, so ``--jit=on`` costs
nothing at start-up for a program that never gets hot.

Tier 1: a short function pipeline (SROA, instcombine, CFG simplification,
GVN) and codegen level 0 (fast instruction selection and register
allocation: a third to a sixth of level 2's codegen time, for code that
runs only until tier 2 replaces it): milliseconds per function. Tier 2: the full O3
module pipeline (which inlines the small callees that lowering put in the
same module) and codegen level 3. Each tier has its own MCJIT engine because
an engine owns one target machine, and so one codegen level.

Machine code is cached across runs (pvm.codecache, when enabled) under the
SHA-256 of the IR, the tier, the target, LLVM's version and this file (whose
pipelines made it; if it cannot be read, nothing is cached): MCJIT asks its
object cache before generating code, and a hit skips verification, the passes
and code generation.
"""

from __future__ import annotations

import ctypes
import os
import time
from typing import Callable, NamedTuple

import llvmlite.binding as llvm

from pvm import codecache

# libm functions that native code calls under private names, so LLVM neither
# constant-folds nor rewrites them (pow(x, 2.0) -> x*x): results stay exactly
# those of the libm CPython itself calls.
LIBM_ALIASES = ("sin", "cos", "tan", "asin", "acos", "atan", "atan2", "exp", "expm1", "log", "log2",
                "log10", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "erf", "erfc", "pow", "fmod")
LIBM_PREFIX = "pvm_libm_"


class Compiled(NamedTuple):
    """What a compilation produced: function addresses by name, and timings."""

    addresses: dict[str, int]
    ir_ms: float         # llvmlite.ir text -> parsed and verified module
    opt_ms: float        # IR optimisation passes
    codegen_ms: float    # machine code generation (MCJIT finalize), or loading it from the cache
    cached: bool         # the machine code came from pvm.codecache


class Engine:
    """Compiles textual LLVM IR modules to native code for one process."""

    def __init__(self) -> None:
        self._ready = False
        self._engines: dict[int, llvm.ExecutionEngine] = {}
        self._machines: dict[int, llvm.TargetMachine] = {}
        self._cache_keys: dict[int, bytes] = {}
        self._cached_object: bytes | None = None      # for the module being finalised, from the cache
        self._store_entry: str | None = None          # where its machine code goes, if generated
        self.dump: Callable[[str, str], None] | None = None   # (label, IR text), e.g. PVM_DUMP_LLVM

    def _init(self) -> None:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        libm = ctypes.CDLL(None)
        for name in LIBM_ALIASES:
            llvm.add_symbol(LIBM_PREFIX + name, ctypes.cast(getattr(libm, name), ctypes.c_void_p).value)
        self._ready = True

    def triple_and_layout(self) -> tuple[str, str]:
        """The target triple and data layout IR must be generated for."""
        machine = self._machine(1)
        return machine.triple, str(machine.target_data)

    def _machine(self, tier: int) -> llvm.TargetMachine:
        if not self._ready:
            self._init()
        machine = self._machines.get(tier)
        if machine is None:
            target = llvm.Target.from_default_triple()
            machine = target.create_target_machine(
                cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(),
                opt=0 if tier == 1 else 3, jit=True)
            self._machines[tier] = machine
        return machine

    def _engine(self, tier: int) -> llvm.ExecutionEngine:
        engine = self._engines.get(tier)
        if engine is None:
            # MCJIT takes ownership of the target machine it is given: give it its own
            target = llvm.Target.from_default_triple()
            owned = target.create_target_machine(
                cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(),
                opt=0 if tier == 1 else 3, jit=True)
            engine = self._engines[tier] = llvm.create_mcjit_compiler(llvm.parse_assembly(""), owned)
            engine.set_object_cache(self._object_generated, lambda module: self._cached_object)
        return engine

    def _object_generated(self, module: llvm.ModuleRef, machine_code: bytes) -> None:
        if self._store_entry is not None:
            codecache.store(self._store_entry, machine_code)

    def _cache_entry(self, ir_text: str, tier: int) -> str | None:
        """Where the machine code of ``ir_text`` at ``tier`` is cached: under the
        IR and what else machine code depends on (tier, target, LLVM, the passes
        this file runs); None when there is no cache or this file cannot be read."""
        if self.dump is not None or not codecache.enabled():
            return None
        key = self._cache_keys.get(tier)
        if key is None:
            machine = self._machine(tier)
            try:
                with open(__file__, "rb") as handle:
                    passes = handle.read()
            except OSError:
                passes = b""
            key = self._cache_keys[tier] = passes and b"\0".join((
                str((tier, machine.triple, llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten(),
                     llvm.llvm_version_info)).encode(), passes))
        return codecache.entry("native", key, ir_text.encode()) if key else None

    @staticmethod
    def _optimise(module: llvm.ModuleRef, machine: llvm.TargetMachine, tier: int) -> None:
        if tier == 1:
            pass_builder = llvm.create_pass_builder(machine, llvm.create_pipeline_tuning_options(speed_level=1))
            manager = llvm.create_new_module_pass_manager()
            manager.add_sroa_pass()
            manager.add_instruction_combine_pass()
            manager.add_simplify_cfg_pass()
            manager.add_new_gvn_pass()
            manager.add_instruction_combine_pass()
            manager.add_simplify_cfg_pass()
            manager.run(module, pass_builder)
        else:
            options = llvm.create_pipeline_tuning_options(speed_level=3)
            options.inlining_threshold = 400
            pass_builder = llvm.create_pass_builder(machine, options)
            pass_builder.getModulePassManager().run(module, pass_builder)

    def has_cached(self, ir_text: str, tier: int) -> bool:
        """Whether the machine code of ``ir_text`` at ``tier`` is in the cache."""
        entry = self._cache_entry(ir_text, tier)
        return entry is not None and os.path.exists(entry)

    def compile(self, ir_text: str, names: list[str], tier: int, label: str = "",
                symbols: dict[str, int] | None = None) -> Compiled:
        """Optimise ``ir_text`` for ``tier`` and return the addresses of ``names``;
        ``symbols`` binds the module's external symbols that name objects."""
        machine = self._machine(tier)
        start = time.perf_counter()
        entry = self._cache_entry(ir_text, tier)
        cached = codecache.read(entry) if entry is not None else None
        module = llvm.parse_assembly(ir_text)
        if cached is None:
            module.verify()
        parsed = time.perf_counter()
        if cached is None:
            self._optimise(module, machine, tier)
        optimised = time.perf_counter()
        if self.dump is not None:
            self.dump(f"{label} (tier {tier}, optimised)", str(module))
        engine = self._engine(tier)
        for name, address in (symbols or {}).items():
            llvm.add_symbol(name, address)
        self._cached_object, self._store_entry = cached, entry
        try:
            engine.add_module(module)
            engine.finalize_object()
        finally:
            self._cached_object = self._store_entry = None
        addresses = {name: engine.get_function_address(name) for name in names}
        done = time.perf_counter()
        return Compiled(addresses, (parsed - start) * 1e3, (optimised - parsed) * 1e3, (done - optimised) * 1e3,
                        cached is not None)


def dump_requested() -> bool:
    """PVM_DUMP_LLVM=1 asks for every module's IR on stderr."""
    return os.environ.get("PVM_DUMP_LLVM", "") not in ("", "0")


ENGINE = Engine()
