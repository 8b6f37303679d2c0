"""Thread stacks deep enough to free very deep autograd graphs.

Once Python has looked at a graph's nodes (``next_functions``, as every capture does),
PyTorch frees a chain of them recursively in C++ when its last reference goes: a
chain of 50,000 nodes overflowed the main thread's 8 MiB stack and the process died
(200,000 nodes fit in 64 MiB, a million in 256 MiB). The app therefore creates its
threads with :data:`STACK_BYTES` of stack (address space only; pages are touched
as the stack grows) and does the work that drops graphs on them, never on the
main thread: :func:`use_big_stacks` at startup, :func:`on_big_stack` for one call.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

STACK_BYTES = 256 * 2**20


def use_big_stacks(size: int = STACK_BYTES) -> bool:
    """Give every thread created from now on ``size`` bytes of stack; False if refused."""
    try:
        threading.stack_size(size)
    except (ValueError, RuntimeError):  # a platform that does not allow it
        return False
    return True


def on_big_stack(fn: Callable[..., Any], *args: Any, size: int = STACK_BYTES, **kwargs: Any) -> Any:
    """Call ``fn`` on a new thread with a ``size``-byte stack, wait, and return its result
    (or raise its exception). The calling thread keeps its own stack size setting."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = fn(*args, **kwargs)
        except BaseException as exc:  # re-raised in the caller
            box["error"] = exc

    old = threading.stack_size()
    try:
        threading.stack_size(size)
        t = threading.Thread(target=run, name="graphviz-app-main", daemon=True)
        t.start()
    finally:
        threading.stack_size(old)
    t.join()
    if "error" in box:
        raise box.pop("error")
    return box.get("result")
