"""Debug and tuning switches read from the environment, in one place.

PVM_GC_STRESS=1   collect at every allocation and safe point (tests the
                  collector's roots; very slow)
PVM_GC_PAUSE=F    pacing: collect after allocating F times the live bytes (default 1.0)
PVM_TRANSLATE=M   tier 0's translation of hot code to host functions: on (default),
                  off (interpret everything) or eager (translate at first call and back-edge)
"""

from __future__ import annotations

import os

from pvm.heap import DEFAULT_PAUSE


def _flag(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


def _float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


GC_STRESS = _flag("PVM_GC_STRESS")
GC_PAUSE = _float("PVM_GC_PAUSE", DEFAULT_PAUSE)
TRANSLATE = {"0": "off", "off": "off", "eager": "eager"}.get(os.environ.get("PVM_TRANSLATE", ""), "on")
