"""The daemon threads that backward runs on, kept warm between runs.

The debugger hands each backward to one of these; :func:`call_on_backward_worker` lets a
forward run on the same thread (and core) its backward will get.
"""

from __future__ import annotations

import threading
from typing import Any, Callable


class _Worker:
    """A daemon thread that runs backward jobs and stays a while for the next one.

    A fresh thread per backward made small backwards up to 1.5x slower (thread-local
    allocator and runtime state start cold); an idle worker is reused instead and
    leaves after ``_Pool.idle_s`` without work.
    """

    def __init__(self, pool: "_Pool") -> None:
        self.pool = pool
        self.cond = threading.Condition()
        self.job: Callable[[], None] | None = None
        self.stop = False
        self.thread = threading.Thread(target=self._loop, name="graphviz-app-backward", daemon=True)

    def _loop(self) -> None:
        while True:
            with self.cond:
                if self.job is None and not self.stop:
                    self.cond.wait(self.pool.idle_s)
                job, self.job = self.job, None
                if job is None:
                    if self.stop or self.pool._retire(self):
                        return
                    continue
            try:
                job()
            except BaseException:  # noqa: BLE001 - the job reports its own errors
                pass
            back = getattr(job, "back", None)  # set once this worker is idle again
            job = None  # drop the debugger before idling
            self.pool._idle(self)
            if back is not None:
                back.set()


class _Pool:
    """Idle backward workers; a busy (e.g. paused) one is never handed a second job."""

    idle_s = 30.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._free: list[_Worker] = []

    def submit(self, job: Callable[[], None]) -> threading.Thread:
        with self._lock:
            w = self._free.pop() if self._free else None
        fresh = w is None
        if w is None:
            w = _Worker(self)
        with w.cond:
            w.job = job
            w.cond.notify_all()
        if fresh:
            w.thread.start()
        return w.thread

    def _idle(self, w: _Worker) -> None:
        with self._lock:
            self._free.append(w)

    def _retire(self, w: _Worker) -> bool:
        with self._lock:
            if w in self._free:
                self._free.remove(w)
                return True
            return False  # just handed a job: stay

    def shutdown_idle(self, timeout: float | None = 5.0) -> int:
        """Stop the idle workers and wait for them; returns how many stopped."""
        with self._lock:
            ws, self._free = self._free, []
        for w in ws:
            with w.cond:
                w.stop = True
                w.cond.notify_all()
        for w in ws:
            w.thread.join(timeout)
        return len(ws)


POOL = _Pool()


def call_on_backward_worker(fn: Callable[[], Any], timeout: float | None = None) -> Any:
    """Run ``fn`` on the worker the next backward will get and return its result.

    For a forward whose backward follows at once (benchmarks, headless loops): on a
    two-core machine a backward run on another core than its forward was up to 1.35x
    slower, its saved tensors being in the other core's cache. Idle workers are
    handed out last-in first-out, so the next :meth:`BackwardDebugger.start` gets
    this one unless another job starts in between.
    """
    box: dict[str, Any] = {}

    def job() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - re-raised on the caller's thread
            box["error"] = exc

    job.back = threading.Event()  # type: ignore[attr-defined]
    POOL.submit(job)
    if not job.back.wait(timeout):  # type: ignore[attr-defined]
        raise TimeoutError("the backward worker did not finish in time")
    if "error" in box:
        raise box["error"]
    return box.get("value")


def shutdown_idle_workers(timeout: float | None = 5.0) -> int:
    """End the idle backward worker threads now (they also leave by themselves when idle)."""
    return POOL.shutdown_idle(timeout)
