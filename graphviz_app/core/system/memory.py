"""Cyclic-GC policy for a process that holds large object graphs on screen.

A full collection over torch's, Qt's and a loaded model's objects holds the GIL for
100-300 ms, long enough to freeze the window. So the app moves what it keeps out of
the collector's reach with ``gc.freeze()``: everything alive after startup, and what
each load allocates (model, autograd graph, layout, scene items).

A frozen object is never collected, though. What a replaced scenario leaves behind
in reference cycles (a user module's functions and globals, tracebacks) would then
stay for the life of the process: a scenario file that keeps its model in a global
leaked the model's weights on every reload. Two measures keep memory bounded:

- :func:`forget_code` empties the namespaces of the modules a replaced scenario was
  built from, which breaks the function-globals cycles, so reference counting frees
  the model, its tensors and its graph at once;
- :func:`maybe_reclaim` runs one real collection (unfreeze, collect, freeze again)
  when the frozen set has grown by a quarter since the last one; callers run it at the
  start of a load, when the user is waiting for the new file anyway.
"""

from __future__ import annotations

import gc
import threading
from typing import Any

GROWTH = 0.25  # reclaim when the frozen set grew by this fraction since the last reclaim

_after_reclaim = 0  # frozen objects right after the last full collection


def reclaim() -> int:
    """Collect everything, frozen objects included, then freeze what is left.

    Returns the number of unreachable objects found."""
    global _after_reclaim
    gc.unfreeze()
    found = gc.collect()
    gc.freeze()
    _after_reclaim = gc.get_freeze_count()
    return found


def keep() -> None:
    """Freeze what is alive now (a load's model, graph and layout)."""
    gc.freeze()


def maybe_reclaim(growth: float = GROWTH) -> bool:
    """:func:`reclaim` when the frozen set grew by ``growth`` since the last reclaim."""
    if gc.get_freeze_count() > (1.0 + growth) * max(_after_reclaim, 1):
        reclaim()
        return True
    return False


def remember_code(scenario: Any, module: Any) -> None:
    """Note that ``scenario`` was built by the code of ``module`` (see :func:`forget_code`)."""
    modules = getattr(scenario, "_code", None)
    if modules is None:
        return
    if module is not None and all(m is not module for m in modules):
        modules.append(module)


def forget_code(scenario: Any) -> None:
    """Empty the namespaces of the modules ``scenario`` was built from.

    Only for a scenario that is done with: its functions can no longer find their
    globals. Breaks the cycle function → ``__globals__`` → function, so a model held
    in a module global is freed by reference counting, frozen or not."""
    modules = getattr(scenario, "_code", None) or []
    for module in modules:
        try:
            module.__dict__.clear()
        except Exception:  # pragma: no cover - an exotic module type
            pass
    modules.clear()


_holds: set[int] = set()
_hold_lock = threading.Lock()
_hold_tokens = iter(range(1, 2**62))
_thresholds_before_hold: tuple[int, int, int] | None = None
HOLD_THRESHOLD = 200_000  # allocations between youngest-generation collections while held


def hold_collections() -> int:
    """Make automatic collections rare for work spread over many event-loop turns (a big
    scene built in chunks: at 100k boxes one full collection in the middle of it held the
    GIL for 800 ms). The youngest generation's threshold is raised, so a full pass needs
    millions of allocations; collections are not switched off, which other code does for
    its own spans of work, and a hold that is never released leaves them merely rarer.
    Returns a token for :func:`release_collections`. Thread-safe: summaries hold
    collections on whichever thread makes them, and two first holds at once must not
    save the raised threshold as the one to restore."""
    global _thresholds_before_hold
    with _hold_lock:
        if not _holds:
            _thresholds_before_hold = gc.get_threshold()
            t0, t1, t2 = _thresholds_before_hold
            gc.set_threshold(max(t0, HOLD_THRESHOLD), t1, t2)
        token = next(_hold_tokens)
        _holds.add(token)
        return token


def release_collections(token: int) -> None:
    """End a :func:`hold_collections` (the last one restores the thresholds). Idempotent."""
    global _thresholds_before_hold
    with _hold_lock:
        if token not in _holds:
            return
        _holds.discard(token)
        if not _holds and _thresholds_before_hold is not None:
            gc.set_threshold(*_thresholds_before_hold)
            _thresholds_before_hold = None
