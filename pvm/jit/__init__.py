"""pvm's tiered JIT: hot pure numeric functions and loops compiled by
llvmlite to native code, with results identical to tier 0 by construction.

Install with ``vm.jit = Jit(vm, mode='on' | 'eager', log=callable)``. The
interpreter then calls ``enter(func, locals)`` at every script-to-script
call and ``loop(frame, header)`` at every loop back-edge (pvm.interp).

What is compiled: code whose native execution has no effect outside its own
frame (numbers, read-only lists of ints or floats, calls of other such
functions, math functions; pvm.jit.infer says exactly what). That makes
deoptimisation transactional and exact:

- a function call that fails natively anywhere (a guard, an int64 overflow,
  an error to raise, the step budget or the depth limit) changed nothing, so
  ``enter`` returns NO_NATIVE and tier 0 runs the call from the start;
- a loop exits at the very instruction that failed, with the frame's locals
  and operand stack written back, and tier 0 resumes there.

Steps (one per back-edge and call), the depth limit and the checkpoint hook
behave exactly as in tier 0: native code counts the same steps and stops
before the one that would reach the checkpoint.

Tiers: a function compiles at tier 1 (quick LLVM pipeline) after
``call_threshold`` calls, a loop after ``loop_threshold`` back-edges of its
code object (on-stack replacement at the loop header). A version that has
been entered ``tier2_calls`` times, or a loop that ran ``tier2_steps``
steps natively, is recompiled at tier 2 (O3, callees inlined). A version
that deoptimises ``max_failures`` times is left to tier 0. With
``first_call_refusals`` 1 (mode 'on'), a function is left to tier 0 at its
first call when it has no loop and no call (entered from tier 0 it would
cost more in the native entry than it runs, and tier 0 inlines it into its
callers; it is still compiled into the native code that calls it), or when
that call passes an argument native code never takes (an instance, a str, a
dict, a tuple of those or nested too deep: the function works on objects;
tier 0 translates and inlines it from then on instead of waiting for the JIT
to give up on it); and when compiling, a function with no call and no loop
left on its native paths is refused as well.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any, Callable

from pvm import heap
from pvm.code import Code
from pvm.errors import PvmError, VMInternalError
from pvm.frames import NO_NATIVE, Frame
from pvm.jit.feedback import (MISSING, OPAQUE, FunctionRecord, LoopRecord, TupleKey, argument_kinds,
                               entry_stack, hands_back, header_kinds, source_value, speculate)
from pvm.jit.kinds import Kind, kind_of
from pvm.objects import Function
from pvm.opcodes import Op

if TYPE_CHECKING:
    from pvm.jit.infer import Unit
    from pvm.jit.native import Version

MODES = {
    "on": dict(call_threshold=100, loop_threshold=1000, tier2_calls=2000, tier2_steps=1_000_000, max_failures=10,
               first_call_refusals=1),
    "eager": dict(call_threshold=1, loop_threshold=1, tier2_calls=2000, tier2_steps=1_000_000, max_failures=10,
                  first_call_refusals=0),
}
MAX_VERSIONS = 8          # signatures per function or loop before it is left to tier 0
STATE_SITE = 3            # pvm.jit.irutils.STATE_SITE
STATE_ENTRIES = 4         # pvm.jit.irutils.STATE_ENTRIES
SIDE_EXIT_STEPS = 16      # a loop that side-exits after fewer native steps than this is failing
DECLINED = 8              # entries with refused kinds (and none compiled) before code is left to tier 0
_LOOPS_AND_CALLS = frozenset({Op.JUMP_BACKWARD, Op.CALL, Op.CALL_KW, Op.CALL_FUNCTION_EX})
APPEND_STEPS = 1 << 16    # under a memory limit, a loop that appends hands back this often, so it is limited in time


def _backend() -> Any:
    """pvm.jit.native, imported on the first compilation: it loads llvmlite
    (~60 ms), which a program that never gets hot should not pay for."""
    from pvm.jit import engine, heapscan, native

    if engine.dump_requested() and engine.ENGINE.dump is None:
        engine.ENGINE.dump = lambda label, text: sys.stderr.write(f"; --- {label}\n{text}\n")
    heap.list_scan = heapscan.list_scan      # LLVM is loaded now: the collector may use it too
    heap.load_list_scan = None
    return native


class Jit:
    """The JIT of one interpreter. Settings are attributes (see MODES)."""

    def __init__(self, vm: Any, mode: str = "on", log: Callable[[str], Any] | None = None, **settings: int) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown JIT mode {mode!r}")
        self.vm = vm
        self.mode = mode
        heap.load_list_scan = _backend       # the collector may load LLVM first, for a list too long to scan in Python
        self.log = log
        options = dict(MODES[mode], **settings)
        self.call_threshold: int = options.pop("call_threshold")
        self.loop_threshold: int = options.pop("loop_threshold")
        self.tier2_calls: int = options.pop("tier2_calls")
        self.tier2_steps: int = options.pop("tier2_steps")
        self.max_failures: int = options.pop("max_failures")
        self.first_call_refusals: int = options.pop("first_call_refusals")
        if options:
            raise TypeError(f"unknown JIT settings: {', '.join(options)}")
        self.functions: dict[Code, FunctionRecord] = {}
        self.blocked_functions: set[Code] = set()      # left to tier 0 for good: calls skip `enter`
        self.first_calls_seen: set[Code] = set()       # not refused at their first call (first_call_refusals 1)
        # code with a loop that runs natively: tier 0 does not translate it, since translated code
        # never enters native code at a loop header (a function's first loop, refused, would keep
        # its hot second loop in tier 0 from then on)
        self.native_loop_codes: set[Code] = set()
        self.loops: dict[tuple[Code, int], LoopRecord] = {}
        # a loop nest compiled from one of its headers is not compiled again from the others
        self.region_owners: dict[tuple[Code, tuple[int, int]], LoopRecord] = {}
        self.compiles: list[tuple[str, int, float]] = []     # (label, tier, ms)
        self.refusals: dict[str, str] = {}
        self.errors: list[str] = []                           # internal errors (bugs): tests, the summary
        self.versions: list["Version"] = []

    # --- Hooks called by the interpreter ---

    def enter(self, func: Function, locals_: list[Any]) -> Any:
        """Run a call natively, or return NO_NATIVE for tier 0 to run it."""
        try:
            record = self.functions.get(func.code)
            if record is None:
                return self._enter_cold(func, locals_)
            entry = record.entry
            if entry is not None and func.globals is record.globals:
                # the version that ran last (a monomorphic inline cache): its entry checks kinds and guards
                vm = self.vm
                result = entry(vm.countdown, vm.max_depth - vm.depth, *locals_[:record.argcount])
                if result is not NO_NATIVE:
                    if record.counts_steps:
                        vm.countdown = record.countdown[0]
                    return result
                return self._enter_failed(record, func, locals_, record.last, retry=True)
            if record.blocked:
                return NO_NATIVE
            return self._enter_slow(record, func, locals_)
        except (PvmError, MemoryError):
            raise                  # a limit, or the heap full: as in tier 0
        except Exception as error:  # a bug in the JIT must never reach the script: tier 0 runs the call
            self._hook_failed(self.functions.setdefault(func.code, FunctionRecord(func.code)), func.code.qualname,
                              error)
            return NO_NATIVE

    def _enter_cold(self, func: Function, locals_: list[Any]) -> Any:
        code = func.code
        if self.first_call_refusals and code not in self.first_calls_seen:
            why = ""
            if not any(op in _LOOPS_AND_CALLS for op in code.ops):
                why = "no loop and no call: tier 0 runs it for less than a native entry costs"
            elif None in argument_kinds(args := locals_[:code.argcount]) \
                    or any(type(arg) is tuple and kind_of(arg) is None for arg in args):
                why = "its first call passed an argument of a type native code does not take"
            if why:
                self.refusals[code.qualname] = why
                self._block(self.functions.setdefault(code, FunctionRecord(code)), why)
                return NO_NATIVE
            self.first_calls_seen.add(code)
        if code.profile.calls < self.call_threshold:
            return NO_NATIVE
        record = self.functions[code] = FunctionRecord(code)
        return self._enter_slow(record, func, locals_)

    def _enter_slow(self, record: FunctionRecord, func: Function, locals_: list[Any]) -> Any:
        """Find (or compile) the version for this call's argument kinds and run it."""
        args = locals_[:func.code.argcount]
        key = (id(func.globals), argument_kinds(args))
        version = record.versions.get(key, MISSING)
        if version is MISSING:
            version = record.versions[key] = self._compile_function(record, func, tuple(map(speculate, key[1], args)))
        if version is None:
            self._declined(record)
            return NO_NATIVE
        vm = self.vm
        result = version.entry(vm.countdown, vm.max_depth - vm.depth, *args)
        if result is not NO_NATIVE:
            vm.countdown = version.state[0]
            record.remember(version)
            return result
        return self._enter_failed(record, func, locals_, version, retry=False)

    def _enter_failed(self, record: FunctionRecord, func: Function, locals_: list[Any], version: "Version",
                      retry: bool) -> Any:
        """The entry of ``version`` returned NO_NATIVE: find out why and act on it.
        ``retry``: the version was the cached one, another may fit these arguments."""
        from pvm.jit.entry import GUARD_FAILED, KIND_MISMATCH, TIER_UP

        record.remember(None)
        status = version.state[STATE_SITE]
        key = (id(version.plan.globals), version.plan.params)
        if status == KIND_MISMATCH:
            return self._enter_slow(record, func, locals_) if retry and not record.blocked else NO_NATIVE
        if status == GUARD_FAILED:
            version.stats.guard_failures += 1
            self._failed(record, key, version, "a global changed")
            return NO_NATIVE
        if status == TIER_UP:
            self._tier_up(version)
            return self._enter_slow(record, func, locals_)
        self._deopt(record, key, version, version.describe(version.sites[status]))
        return NO_NATIVE

    def loop(self, frame: Frame, header: int) -> bool:
        """Run a hot loop natively from its header to an exit (True), or decline."""
        code = frame.code
        if code.profile.backedges < self.loop_threshold:
            return False
        record = self.loops.get((code, header))
        if record is not None and record.blocked:
            return False           # the common case of code left to tier 0: no further call
        try:
            version, record, key, budget = self._loop_version(frame, header)
        except (PvmError, MemoryError):
            raise
        except Exception as error:  # a bug in the JIT must never reach the script: tier 0 goes on
            record = self.loops.setdefault((code, header), LoopRecord(code, header, [], (), (), ()))
            self._hook_failed(record, f"{code.qualname}@{code.line_at(header)}", error)
            return False
        if version is None:
            return False
        vm = self.vm
        try:
            used, site = version.run(vm, frame, budget)
        except (PvmError, MemoryError):
            raise
        except Exception as error:  # the frame may be half written back: nothing can go on
            raise VMInternalError(f"JIT: {version.plan.label}: {type(error).__name__}: {error}") from error
        stats = version.stats
        vm.countdown -= used
        stats.steps += used
        if site.static and used >= SIDE_EXIT_STEPS:
            stats.side_exits += 1      # tier 0 runs one instruction native code does not, then re-enters
        elif site.reason:
            self._deopt(record, key, version, version.describe(site), site.static)
        return True

    def _loop_version(self, frame: Frame, header: int) -> tuple[Any, Any, Any, int]:
        """The version to run from this header now (None: decline), with its
        record, key and step budget."""
        code = frame.code
        record = self.loops.get((code, header))
        if record is None:
            record = self.loops[(code, header)] = self._loop_record(code, header)
        if record.blocked:
            return None, record, None, 0
        owner = record.covered_by
        if owner is not None and any(owner.versions.values()):
            return None, record, None, 0    # compiled from another of its headers: tier 0 goes on to that one
        key = header_kinds(frame, record)
        version = record.versions.get(key, MISSING)
        if version is MISSING:
            owner = self.region_owners.get((code, record.regions[0]))
            if owner is not None and owner is not record and any(owner.versions.values()):
                record.covered_by = owner
                return None, record, key, 0
            version = record.versions[key] = self._compile_loop(record, frame, key)
            if version is not None:
                self.region_owners.setdefault((code, record.regions[0]), record)
                self.native_loop_codes.add(code)
        if version is None:
            self._declined(record)
            return None, record, key, 0
        if version.entry_stack and entry_stack(frame, version.entry_iterators) != version.entry_stack:
            self._failed(record, key, version, "an enclosing loop iterates over something else")
            return None, record, key, 0
        if not version.guards_hold():
            self._failed(record, key, version, "a global changed")
            return None, record, key, 0
        stats = version.stats
        budget = self.vm.countdown
        if version.plan.appends and self.vm.heap.limit is not None:
            budget = min(budget, APPEND_STEPS)
        if version.tier == 1:
            if stats.steps >= self.tier2_steps:
                self._tier_up(version)
            else:
                budget = min(budget, self.tier2_steps - stats.steps + 1)
        stats.entries += 1
        return version, record, key, budget

    # --- Compilation ---

    def _symbol(self, label: str) -> str:
        return _backend().symbol_for(label)

    def _compile_function(self, record: FunctionRecord, func: Function, kinds: tuple[Any, ...]) -> "Version | None":
        code = func.code
        label = f"{code.qualname}({', '.join(repr(k) if k else '?' for k in kinds)})"
        if len(record.versions) > MAX_VERSIONS:
            self._block(record, "too many signatures")
            return None
        if None in kinds:
            return self._refuse(label, "an argument of a type native code does not take")
        from pvm.jit.infer import Refused, Unit

        unit = Unit(self.vm.builtins, self.vm.host_call_check is None)
        try:
            plan = unit.function(code, func.globals, kinds)
            if plan is None:
                raise Refused(unit.refusals[(id(code), id(func.globals), kinds)])
            unit.settle(plan)
            if self.first_call_refusals and not any(not node.exit and plan.takes_a_step(node) for node in plan.nodes):
                # what runs natively is a few instructions to a return (the rest exits): less than an entry costs
                raise Refused("its native paths make no call and run no loop")
            return self._build(_backend().FunctionVersion, unit, plan)
        except Refused as reason:
            return self._refuse(label, str(reason))
        except Exception as error:  # a bug in the JIT must never break the program: tier 0 runs it
            return self._internal_error(label, error)

    def _loop_record(self, code: Code, header: int) -> LoopRecord:
        from pvm.jit.infer import enclosing_regions, read_cells, region_locals, stored_globals

        regions = enclosing_regions(code, header)
        touched = tuple(sorted(region_locals(code, *regions[0])))
        return LoopRecord(code, header, regions, touched, tuple(stored_globals(code, regions[0])),
                          tuple(read_cells(code, regions[0])))

    def _compile_loop(self, record: LoopRecord, frame: Frame, key: tuple[Any, ...]) -> "Version | None":
        """Compile the outermost region around the header that native code can run."""
        from pvm.jit.infer import Refused, Unit, for_loops_around, read_cells, region_locals, stored_globals

        code = record.code
        label = f"{code.qualname}@{code.line_at(record.header)}"
        if len(record.versions) > MAX_VERSIONS:
            self._block(record, "too many signatures")
            return None
        # the key's states by source: fast locals by index, then globals and cells by name / index
        states = dict(zip([("local", i) for i in record.touched] + [("global", n) for n in record.promoted]
                          + [("cell", i) for i in record.cells], key))
        reason = ""
        for region in record.regions:
            initial = entry_stack(frame, for_loops_around(code, region, record.header))
            if initial is None:
                reason = "a loop around it iterates over something other than a range"
                continue
            sources = ([("local", i) for i in sorted(region_locals(code, *region))]
                       + [("global", n) for n in stored_globals(code, region)]
                       + [("cell", i) for i in read_cells(code, region)])
            entry = {source: states[source] for source in sources}
            for source, state in entry.items():
                if state is Kind.LIST_INT or type(state) is TupleKey:
                    entry[source] = speculate(state, source_value(frame, source)) or OPAQUE
            base = len(frame.stack) - len(initial)
            initial = tuple(map(speculate, initial, frame.stack[base:]))
            if None in initial:
                reason = "it iterates (or a loop around it does) over a list of values native code does not take"
                continue
            unit = Unit(self.vm.builtins, self.vm.host_call_check is None)
            try:
                plan = unit.loop(code, frame.globals, region, record.header, entry, initial)
                unit.settle(plan)
                return self._build(_backend().LoopVersion, unit, plan)
            except Refused as refusal:
                reason = str(refusal)
            except Exception as error:  # a bug in the JIT must never break the program: tier 0 runs it
                return self._internal_error(label, error)
        if OPAQUE not in key:
            # every local had a kind native code takes: the code itself is the problem
            self._block(record, reason)
        return self._refuse(label, reason)

    def _build(self, cls: "type[Version]", unit: "Unit", plan: Any) -> "Version":
        start = time.perf_counter()
        version = cls(unit, plan, self._symbol(plan.label), 1, self.tier2_calls)
        self._compiled(version, start)
        self.versions.append(version)
        return version

    def _tier_up(self, version: "Version") -> None:
        start = time.perf_counter()
        try:
            version.compile(2)
        except Exception as error:  # keep running the tier-1 code, and do not try again
            self._internal_error(version.plan.label, error)
            version.tier = 2
            version.state[STATE_ENTRIES] = -(1 << 62)     # a tier-1 entry stops asking to tier up
            return
        self._compiled(version, start)

    def _compiled(self, version: "Version", start: float) -> None:
        ms = (time.perf_counter() - start) * 1e3
        self.compiles.append((version.plan.label, version.tier, ms))
        compiled = version.compiled
        assert compiled is not None
        llvm = (f"machine code from the cache {compiled.codegen_ms:.1f}" if compiled.cached
                else f"opt {compiled.opt_ms:.1f}, codegen {compiled.codegen_ms:.1f}")
        self._say(f"tier {version.tier} {version.plan.label}: {ms:.1f} ms (llvm: parse {compiled.ir_ms:.1f}, {llvm})")

    # --- Failures ---

    def _refuse(self, label: str, reason: str) -> None:
        if label not in self.refusals:
            self.refusals[label] = reason
            self._say(f"refused {label}: {reason}")
        return None

    def _hook_failed(self, record: FunctionRecord | LoopRecord, label: str, error: Exception) -> None:
        """A bug in the JIT at a call or a back-edge: recorded, and that code left to tier 0."""
        self._internal_error(label, error)
        if isinstance(record, FunctionRecord):
            record.remember(None)
        self._block(record, "an internal error")

    def _internal_error(self, label: str, error: Exception) -> None:
        message = f"{label}: {type(error).__name__}: {error}"
        self.errors.append(message)
        self._say(f"internal error, left to tier 0: {message}")
        return None

    def _deopt(self, record: FunctionRecord | LoopRecord, key: Any, version: "Version", where: str,
               static: bool = False) -> None:
        version.stats.deopts[where] += 1
        if not hands_back(where):
            self._say(f"deopt {version.plan.label} at {where}")
        if version.stats.failures < self.max_failures:
            return
        if isinstance(record, FunctionRecord):
            # the same argument kinds would give the same code: leave these calls to tier 0
            record.versions[key] = None
            self._say(f"left {version.plan.label} to tier 0 after {version.stats.failures} deopts")
            return
        if static:
            # it leaves before an instruction native code never runs: recompiling gives the same code
            self._block(record, f"it leaves native code after a few steps, at {where}")
            return
        # a loop's key does not fix its lists' element kinds: recompile for the values seen next time
        record.versions.pop(key, None)
        record.dropped += 1
        self._say(f"dropped {version.plan.label} after {version.stats.failures} deopts")
        if record.dropped > MAX_VERSIONS:
            self._block(record, "it keeps deoptimising")

    def _failed(self, record: FunctionRecord | LoopRecord, key: Any, version: "Version", why: str) -> None:
        """A guard failed at entry: drop the version so the next entry recompiles."""
        self._say(f"deopt {version.plan.label}: {why}")
        record.versions.pop(key, None)
        record.dropped += 1
        if record.dropped > MAX_VERSIONS:
            self._block(record, "its globals keep changing")

    def _declined(self, record: FunctionRecord | LoopRecord) -> None:
        """Nothing native to run for these kinds. Working out the kinds costs
        at every call or back-edge, so code that keeps arriving with kinds
        that were refused, and never with any that compiled, is left to tier 0."""
        record.declined += 1
        if record.declined >= DECLINED and not any(record.versions.values()):
            self._block(record, f"nothing compiled for the kinds of {DECLINED} entries")

    def _block(self, record: FunctionRecord | LoopRecord, why: str) -> None:
        record.blocked = why
        code = record.code
        if isinstance(record, FunctionRecord):
            self.blocked_functions.add(code)
        elif code in self.native_loop_codes and not any(
                other.code is code and not other.blocked and any(other.versions.values())
                for other in self.loops.values()):
            self.native_loop_codes.discard(code)
        label = record.code.qualname if isinstance(record, FunctionRecord) else \
            f"{record.code.qualname}@{record.code.line_at(record.header)}"
        self._say(f"left {label} to tier 0: {why}")

    def _say(self, message: str) -> None:
        if self.log is not None:
            self.log(message)

    # --- Reporting ---

    def summary(self) -> str:
        """One line per compiled version, refusal and internal error (for --jit-log at exit)."""
        lines = []
        for version in self.versions:
            stats = version.stats
            ms = sum(t for label, _, t in self.compiles if label == version.plan.label)
            deopts = ", ".join(f"{n}x {where}" for where, n in stats.deopts.most_common(3))
            counted = "entries" if version.plan.mode == "loop" else "calls"
            cached = " (machine code from the cache)" if version.compiled is not None and version.compiled.cached else ""
            lines.append(f"{version.plan.label}: tier {version.tier}, compile {ms:.1f} ms{cached}, "
                         f"{version.entries} {counted}" + (f", deopts: {deopts}" if deopts else ""))
        lines.extend(f"{label}: refused: {reason}" for label, reason in self.refusals.items())
        lines.extend(f"internal error, left to tier 0: {message}" for message in self.errors)
        return "\n".join(lines)


__all__ = ["Jit", "MODES"]
