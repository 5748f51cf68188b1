"""Limits for scripts pvm does not trust: steps (fuel), heap bytes, call
depth, wall time and output bytes, and the error that ends a run when one is
exceeded.

Everything is wired into a ``pvm.interp.Interpreter`` through the hooks it
offers (``install``), so any tier that honours those hooks honours the limits:

- steps: the interpreter counts one step per loop back-edge and per call and
  calls the checkpoint hook every ``interval`` steps; the hook always asks to
  run again no later than the step after the budget, so a step limit is
  breached at exactly the same step on every run. Host calls add the work they
  are about to do to the same count (pvm.costs), so a quadratic builtin uses
  fuel too. A tier that compiles code (the JIT) must count the same steps and
  call ``Interpreter.checkpoint`` at the same points.
- time: checked at checkpoints, which the clock paces (``checkpoint``); once
  an entry has run for a time slice, the process's ``Watchdog`` thread forces
  a checkpoint at the next step after the deadline, so a breach is noticed
  within about ``TIME_SLICE`` seconds plus one step (or one stretch of native
  code, which reads the countdown when it is entered). Host code (a builtin,
  an exposed function) is never interrupted: the check happens when it
  returns.
- depth: ``Interpreter.max_depth`` and ``depth_exceeded``; re-entries through
  host code (``sorted(key=f)`` calling ``sorted`` again...) are also capped so
  that the host's own Python stack can never overflow.
- memory: the heap's limit (``pvm.heap.Heap(limit=...)``); host calls reserve
  the bytes their result will take before they run (pvm.costs).
- output: ``Interpreter.write`` is wrapped; a write that would cross the
  limit writes nothing.

Steps, time and output are budgets of one *entry* (``begin``): ``VM.run``,
``VM.call`` and ``VM.eval`` each start a fresh one; memory and depth are
states of the VM. A breach raises a ``LimitExceeded``, which is a PvmError:
the interpreter loop passes it through untouched, so no script code runs after
it, and it is *sticky*: until the entry ends every checkpoint, host call and
write raises it again, even if host code swallowed it.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TYPE_CHECKING, Any, Callable

from pvm.costs import WORK_PER_STEP, charge_call
from pvm.errors import PvmError, TracebackEntry
from pvm.heap import WORD_BYTES
from pvm.interp import NO_CHECKPOINT

if TYPE_CHECKING:
    from pvm.interp import Interpreter

NO_LIMIT_INTERVAL = NO_CHECKPOINT    # steps between checkpoints when nothing needs one
TIME_INTERVAL = 1 << 20        # most steps between two clock readings (timeout or heap limit set)
TIME_SLICE = 0.005             # seconds of work the clock readings aim to be apart
MAX_HOST_WORK = 1 << 40        # work elements one host call may be charged, whatever the limits
RESERVE_FROM = 4096            # results smaller than this are charged when made, not reserved first
C_CALLS_PER_REENTRY = 4        # recursion-limit units a re-entry costs beyond its Python frames (measured: 1-3)
REENTRY_CHECKS_FROM = 16       # nested interpreter loops before the host's stack is measured
PY_FRAMES_MARGIN = 60          # host frames kept free for pvm's own work at the deepest re-entry

DEFAULT_MAX_STEPS = 10_000_000
DEFAULT_MAX_MEMORY = 64 * 1024 * 1024
DEFAULT_MAX_DEPTH = 1000
DEFAULT_TIMEOUT = 5.0
DEFAULT_MAX_OUTPUT = 1024 * 1024


# --- Errors ---

class LimitExceeded(PvmError):
    """A limit ended the run. ``kind`` names the limit ('steps', 'memory',
    'depth', 'time', 'output'), ``limit`` is its configured value, ``used`` the
    amount the run had used or asked for when it was refused, and
    ``traceback`` the script's frames at the breach, outermost first."""

    kind = ""
    label = ""
    unit = ""

    def __init__(self, limit: float | None, used: float | None, traceback: list[TracebackEntry] | None = None,
                 detail: str = "") -> None:
        self.limit = limit
        self.used = used
        self.traceback: list[TracebackEntry] | None = list(traceback or [])
        self.detail = detail
        super().__init__(self.describe())

    def describe(self) -> str:
        if self.limit is None:        # refused whatever the limits: what the host itself cannot survive
            text = self.detail or f"{self.label} limit exceeded"
            return text if self.used is None else f"{text} ({_amount(self.used, self.unit)})"
        text = f"{self.label} limit of {_amount(self.limit, self.unit)} exceeded"
        if self.used is not None:
            text += f" ({_amount(self.used, self.unit)} {'needed' if self.kind == 'memory' else 'used'})"
        return f"{text}: {self.detail}" if self.detail else text


class StepLimitExceeded(LimitExceeded):
    kind, label, unit = "steps", "step", "steps"


class MemoryLimitExceeded(LimitExceeded):
    kind, label, unit = "memory", "memory", "bytes"


class DepthLimitExceeded(LimitExceeded):
    kind, label, unit = "depth", "depth", "frames"


class TimeLimitExceeded(LimitExceeded):
    kind, label, unit = "time", "time", "s"


class OutputLimitExceeded(LimitExceeded):
    kind, label, unit = "output", "output", "bytes"


LIMIT_ERRORS: dict[str, type[LimitExceeded]] = {
    cls.kind: cls for cls in (StepLimitExceeded, MemoryLimitExceeded, DepthLimitExceeded,
                              TimeLimitExceeded, OutputLimitExceeded)}


def _amount(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value:.3g} s"
    return f"{value} {unit}"


def format_limit_exceeded(error: LimitExceeded) -> str:
    """What the CLI prints for a breach: the script's frames, then the limit."""
    from pvm.report import format_traceback

    out = format_traceback(error.traceback) if error.traceback else []
    out.append(f"pvm: {error}")
    return "\n".join(out) + "\n"


# --- Limits ---

class Limits:
    """Per-VM limits; ``None`` switches one off. Immutable, compared by value.

    ``Limits()`` are the safe defaults a ``pvm.VM`` gets without arguments;
    ``Limits.unlimited()`` switches everything off (explicitly).

    Attributes:
        max_steps: loop back-edges plus calls (plus host work, 1 step per
            ``pvm.costs.WORK_PER_STEP`` elements) per entry.
        max_memory: live heap bytes, by pvm's size model (docs/heap.md).
        max_depth: frames on the VM's call stack (the module frame counts).
        timeout: wall-clock seconds per entry.
        max_output: bytes (UTF-8) that ``print`` may write per entry.
    """

    FIELDS = ("max_steps", "max_memory", "max_depth", "timeout", "max_output")
    __slots__ = FIELDS

    def __init__(self, max_steps: int | None = DEFAULT_MAX_STEPS, max_memory: int | None = DEFAULT_MAX_MEMORY,
                 max_depth: int | None = DEFAULT_MAX_DEPTH, timeout: float | None = DEFAULT_TIMEOUT,
                 max_output: int | None = DEFAULT_MAX_OUTPUT) -> None:
        for name, value in zip(Limits.FIELDS, (max_steps, max_memory, max_depth, timeout, max_output)):
            if value is not None:
                numeric = (int, float) if name == "timeout" else (int,)
                if type(value) not in numeric or value <= 0:
                    raise ValueError(f"Limits.{name} must be a positive "
                                     f"{'number' if name == 'timeout' else 'int'} or None, not {value!r}")
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Limits are immutable: cannot set {name}; make new ones")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in Limits.FIELDS)

    def __eq__(self, other: object) -> bool:
        return type(other) is Limits and self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return f"Limits({', '.join(f'{name}={getattr(self, name)!r}' for name in Limits.FIELDS)})"

    def replace(self, **changes: Any) -> "Limits":
        """These limits with some changed: ``limits.replace(timeout=10)``."""
        return Limits(**{**{name: getattr(self, name) for name in Limits.FIELDS}, **changes})

    @classmethod
    def unlimited(cls, **overrides: Any) -> "Limits":
        """No limit at all, except those given: ``Limits.unlimited(timeout=2)``."""
        return cls(**{**dict.fromkeys(Limits.FIELDS), **overrides})

    @classmethod
    def from_cli(cls, options: Any) -> "Limits":
        """The limits of ``pvm run``: the flags given (attributes ``max_steps``,
        ``max_memory``, ``max_depth``, ``timeout``, ``max_output`` of an argparse
        namespace; missing or None means unlimited), nothing else."""
        return cls.unlimited(**{name: getattr(options, name, None) for name in Limits.FIELDS})

    @property
    def any(self) -> bool:
        return any(value is not None for value in self._values())


# --- Wiring ---

class Watchdog:
    """One daemon thread for the process. While an entry with a timeout runs,
    it wakes every ``TIME_SLICE`` and makes each interpreter past its deadline
    reach a checkpoint at its very next step, so that slow steps (``x in
    big_list`` in a loop) cannot carry a run far past its timeout between two
    checkpoints. It acts only on armed sandboxes, under the lock that
    ``arm``/``disarm`` take, so a cut-short interval only ever affects the
    entry that is over time (whose step count no longer matters)."""

    def __init__(self) -> None:
        self.lock = threading.Condition(threading.Lock())
        self.armed: set[Sandbox] = set()
        self.thread: threading.Thread | None = None

    def arm(self, sandbox: "Sandbox") -> None:
        with self.lock:
            self.armed.add(sandbox)
            if self.thread is None:
                self.thread = threading.Thread(target=self._watch, name="pvm-watchdog", daemon=True)
                self.thread.start()
            self.lock.notify()

    def disarm(self, sandbox: "Sandbox") -> None:
        with self.lock:
            self.armed.discard(sandbox)

    def _watch(self) -> None:
        with self.lock:
            while True:
                while not self.armed:
                    self.lock.wait()
                self.lock.wait(TIME_SLICE)
                now = time.monotonic()
                for sandbox in self.armed:
                    if sandbox.deadline is not None and now > sandbox.deadline:
                        sandbox.interp.countdown = 0


WATCHDOG = Watchdog()


class Sandbox:
    """The limits of one interpreter; created by ``install``."""

    def __init__(self, interp: "Interpreter", limits: Limits) -> None:
        self.interp = interp
        self.limits = limits
        self.breached: LimitExceeded | None = None
        self.entries = 0               # nesting of begin/end (host code may re-enter the VM)
        self.step_base = 0
        self.deadline: float | None = None
        self.started = 0.0
        self.last_clock = 0.0
        self.time_interval = TIME_INTERVAL
        self.output_used = 0
        self.watched = False           # armed on the watchdog (entries that run longer than a time slice)
        self.target_write: Callable[[str], Any] = interp.write

    # --- Entries ---

    def begin(self) -> None:
        """Start the budgets of an outermost entry (nested entries share it)."""
        self.entries += 1
        if self.entries > 1:
            return
        interp = self.interp
        self.breached = None
        interp.set_checkpoint_hook(None)     # settles the step count of an interrupted run
        self.step_base = interp.steps
        self.output_used = 0
        self.started = self.last_clock = time.monotonic()
        self.deadline = None if self.limits.timeout is None else self.started + self.limits.timeout
        self.time_interval = 1
        interp.set_checkpoint_hook(self.checkpoint)

    def end(self) -> None:
        self.entries -= 1
        if self.entries == 0 and self.watched:
            self.watched = False
            WATCHDOG.disarm(self)

    # --- Hooks ---

    def checkpoint(self, steps: int) -> int:
        """The interpreter's checkpoint hook: breach or say when to come back.

        With a timeout, checkpoints are paced by the clock: the interval
        starts at one step, doubles while checkpoints come quicker than a
        quarter of ``TIME_SLICE`` and shrinks when they come slower, up to
        ``TIME_INTERVAL`` steps (so native code runs long stretches between
        two). With only a heap limit it doubles at every checkpoint, so the
        checkpoints fall at the same steps on every run. Where they fall never
        changes where a step limit is breached."""
        if self.breached is not None:
            raise self.breached
        limits = self.limits
        heap = self.interp.heap
        interval = NO_LIMIT_INTERVAL
        if self.deadline is not None:        # first: the watchdog may have cut the interval short
            now = time.monotonic()
            if now > self.deadline:
                self.breach(TimeLimitExceeded(limits.timeout, now - self.started))
            if not self.watched and now - self.started > TIME_SLICE:
                self.watched = True
                WATCHDOG.arm(self)
            elapsed = now - self.last_clock
            self.last_clock = now
            if elapsed > TIME_SLICE:
                self.time_interval = max(1, int(self.time_interval * TIME_SLICE / elapsed))
            elif elapsed < TIME_SLICE / 4:
                self.time_interval = min(TIME_INTERVAL, self.time_interval * 2)
            interval = self.time_interval
        elif heap.limit is not None:          # no clock: a fixed schedule, the same on every run
            self.time_interval = min(TIME_INTERVAL, self.time_interval * 2)
            interval = self.time_interval
        if heap.limit is not None:
            self._check_held(heap)
        used = steps - self.step_base
        if limits.max_steps is not None:
            if used > limits.max_steps:
                self.breach(StepLimitExceeded(limits.max_steps, used))
            interval = min(interval, limits.max_steps - used + 1)
        return interval

    def _check_held(self, heap: Any) -> None:
        """Values a builtin holds for its script callbacks (``list(iter(f, None))``)
        are on the heap's temporary roots, whose slots the heap does not charge."""
        held = len(heap.temp_roots) * WORD_BYTES
        if held and heap.stats.live_bytes + heap.debt + held > heap.limit:
            heap.collect()
            if heap.stats.live_bytes + held > heap.limit:
                self.breach(MemoryLimitExceeded(heap.limit, heap.stats.live_bytes + held,
                                                detail="values held by a builtin"))

    def depth_exceeded(self) -> BaseException:
        error = DepthLimitExceeded(self.interp.max_depth, self.interp.depth + 1, self.traceback())
        self.breached = error
        return error

    def host_call_check(self, func: Any, args: list[Any], kwargs: dict[str, Any] | None) -> None:
        """Before every host call: the run is still on, host re-entry stays
        shallow, and the call's work and memory are charged (pvm.costs)."""
        if self.breached is not None:
            raise self.breached
        nested = len(self.interp.suspended) + self.interp.translated_reentries
        if nested > REENTRY_CHECKS_FROM and (_python_depth() + nested * C_CALLS_PER_REENTRY + PY_FRAMES_MARGIN
                                             > sys.getrecursionlimit()):
            self.breach(DepthLimitExceeded(nested, nested + 1, detail="too many nested calls through builtins"))
        charge_call(self, func, args, kwargs)

    def write(self, text: str) -> None:
        """The interpreter's write, counting output bytes."""
        if self.breached is not None:
            raise self.breached
        limit = self.limits.max_output
        if limit is not None:
            size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
            if self.output_used + size > limit:
                self.breach(OutputLimitExceeded(limit, self.output_used + size))
            self.output_used += size
        self.target_write(text)

    # --- Charging (used by pvm.costs and pvm.boundary) ---

    def charge(self, work: int, nbytes: int = 0) -> None:
        """Account ``work`` elements of host work as steps and refuse ``nbytes``
        of new data that cannot fit under the heap limit."""
        interp = self.interp
        if nbytes > RESERVE_FROM:
            heap = interp.heap
            if heap.limit is not None and heap.stats.live_bytes + heap.debt + nbytes > heap.limit:
                try:
                    heap.reserve(nbytes)
                except MemoryError:
                    self.breach(MemoryLimitExceeded(heap.limit, heap.stats.live_bytes + nbytes))
        if work >= WORK_PER_STEP:
            if work > MAX_HOST_WORK:     # hours of C: no limit the embedder chose can interrupt it
                self.breach(StepLimitExceeded(self.limits.max_steps, work // WORK_PER_STEP,
                                              detail="one builtin call would run for hours"))
            interp.countdown -= work // WORK_PER_STEP
            if interp.countdown <= 0:
                interp.checkpoint()

    def reserve_output(self, size: int) -> None:
        """Refuse up front a write of about ``size`` bytes that cannot fit."""
        limit = self.limits.max_output
        if limit is not None and self.output_used + size > limit:
            self.breach(OutputLimitExceeded(limit, self.output_used + size))

    def output_room(self) -> int | None:
        limit = self.limits.max_output
        return None if limit is None else limit - self.output_used

    def refuse_depth(self, limit: int, used: int, detail: str) -> None:
        self.breach(DepthLimitExceeded(limit, used, detail=detail))

    def refuse_memory(self, detail: str) -> None:
        self.breach(MemoryLimitExceeded(self.interp.heap.limit, None, detail=detail))

    def breach(self, error: LimitExceeded) -> None:
        if not error.traceback:
            error.traceback = self.traceback()
        self.breached = error
        raise error

    def traceback(self) -> list[TracebackEntry]:
        return self.interp.stack_traceback()

    def memory_exceeded(self, limit: int, needed: int) -> MemoryLimitExceeded:
        """The heap's limit error: a breach whose frames the interpreter loop
        fills in (it knows the exact instruction; the frames' saved pcs may lag)."""
        error = MemoryLimitExceeded(limit, needed)
        error.traceback = None
        self.breached = error
        return error


def install(interp: "Interpreter", limits: Limits) -> Sandbox:
    """Wire ``limits`` into ``interp`` and start the first entry's budgets.

    Sets the heap limit (unless the heap already has one) and its error, the
    depth limit, the checkpoint, depth and host-call hooks and wraps ``interp.write``. Call
    it before the first run. The CLI calls this once and runs one module; the
    embedding API calls ``begin``/``end`` around each entry."""
    sandbox = Sandbox(interp, limits)
    if limits.max_memory is not None and interp.heap.limit is None:
        interp.heap.limit = limits.max_memory
    interp.max_depth = limits.max_depth if limits.max_depth is not None else sys.maxsize
    interp.heap.limit_error = sandbox.memory_exceeded
    interp.depth_exceeded = sandbox.depth_exceeded
    interp.host_call_check = sandbox.host_call_check
    interp.write = sandbox.write
    sandbox.begin()
    return sandbox


def _python_depth() -> int:
    frame = sys._getframe()
    depth = 0
    while frame is not None:
        depth += 1
        frame = frame.f_back
    return depth
