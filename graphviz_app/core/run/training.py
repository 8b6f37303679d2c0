"""The training loop: N steps of forward → loss → backward → update → zero grad.

:class:`Trainer` runs the steps on a daemon worker thread with pause / resume / stop,
and keeps

* ``loss_history`` and ``grad_norm_history`` (per trainable tensor), reported through
  the ``progress`` signal in batches at most every ``emit_interval`` seconds, so a
  fast loop is not slowed down by whoever listens (the GUI's live plots);
* the kept steps' graphs for time travel (detached :class:`Graph` objects: no torch,
  no autograd memory), each with the full per-node record of its step: a kept step's
  backward runs under an observing :class:`BackwardDebugger`, so execution order,
  gradients received and sent and leaf ``.grad`` summaries are all there. A
  :class:`~graphviz_app.core.run.step_store.StepStore` keeps the newest within a memory
  budget and spills older ones to disk instead of dropping them;
* "debug the next step": :meth:`Trainer.debug_next_step` runs the next step's
  backward under a :class:`BackwardDebugger`, handed out through ``debug_ready``;
  the loop waits until that backward ends, then (by default) pauses.

Each step calls the scenario's own pieces (``prepare_step``, ``output``,
``record_loss``, ``run_backward``, ``apply_update``), so a step here is exactly
``Scenario.train_step``. :func:`train_and_snapshot` is the headless
``export --steps N`` path; :func:`load_headless` loads files for it (and for
``export`` without steps) with no questions asked.
"""

from __future__ import annotations

import contextlib
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import torch

from ..graph.capture import capture
from ..graph.model import LEAF, Graph
from ..graph.modules import track_modules
from ..graph.recompute import recording
from ..graph.summary import summarize_batch
from .debugger import BackwardDebugger, BackwardResult
from .events import Signal
from .scenario import Scenario
from .step_store import DEFAULT_MEMORY_BUDGET, StepStore

# Trainer states.
IDLE = "idle"
RUNNING = "running"
PAUSED = "paused"
DEBUGGING = "debugging"
FINISHED = "finished"
STOPPED = "stopped"
FAILED = "failed"
ENDED = (FINISHED, STOPPED, FAILED)


@dataclass
class StepRecord:
    """One completed step, as the ``progress`` signal reports it."""

    step: int  # steps completed so far (1 for the first)
    loss: float | None
    grad_norms: dict[str, float]
    duration_s: float
    snapshot: bool = False  # a snapshot of this step was kept
    debugged: bool = False


@dataclass
class TrainResult:
    status: str  # "finished" | "stopped" | "failed"
    steps: int  # steps completed in this run
    error: str | None = None
    traceback: str | None = None
    losses: list[float] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status in (FINISHED, STOPPED)


def _leaf_tensors(graph: Graph) -> list[tuple[int, Any]]:
    out = []
    for i, (n, fn) in enumerate(zip(graph.nodes, graph.fns)):
        if n.kind == LEAF:
            out.append((i, getattr(fn, "variable", None)))
    return out


class Trainer:
    """Train a scenario on a worker thread; see the module docstring.

    ``steps``: how many steps :meth:`start` runs (default ``scenario.steps``).
    ``keep``: at most how many recent step graphs stay in memory (``None``: as many as
    ``memory_budget`` bytes hold; 0: keep none at all); older kept steps go to disk
    (``spill_dir``, a private temporary folder by default). ``snapshot_every``:
    keep a graph every that many steps (0: only debugged steps). ``emit_interval``:
    the least time between two ``progress`` emissions. ``saved``: also describe
    saved tensors in kept graphs (slower).

    Signals (emitted on the worker thread):
      ``progress(list[StepRecord])`` batched steps; ``state_changed(str)``;
      ``debug_ready(BackwardDebugger)`` when a debugged step's backward is ready
      (started in the mode given to :meth:`debug_next_step`); ``finished(TrainResult)``.
    """

    def __init__(
        self,
        scenario: Scenario,
        steps: int | None = None,
        *,
        keep: int | None = None,
        snapshot_every: int = 1,
        emit_interval: float = 0.05,
        saved: bool = False,
        memory_budget: int = DEFAULT_MEMORY_BUDGET,
        spill_dir: str | None = None,
    ) -> None:
        self.scenario = scenario
        self.steps = scenario.steps if steps is None else int(steps)
        self.snapshot_every = int(snapshot_every)
        self.emit_interval = float(emit_interval)
        self.saved = saved
        self.progress = Signal("progress")
        self.state_changed = Signal("state_changed")
        self.debug_ready = Signal("debug_ready")
        self.finished = Signal("finished")

        self.loss_history: list[float] = []
        self.grad_norm_history: dict[str, list[float]] = {}
        self.step_times: list[float] = []
        self._keep = None if keep is None else max(0, int(keep))
        self.store = StepStore(memory_budget, max_in_memory=self._keep, spill_dir=spill_dir)
        self.debugger: BackwardDebugger | None = None
        self.last_debug_result: BackwardResult | None = None
        self.result: TrainResult | None = None

        self._cond = threading.Condition()
        self._state = IDLE
        self._pause = False
        self._stop = False
        self._debug_mode: str | None = None
        self._pause_after_debug = True
        self._observe_last = False
        self._thread: threading.Thread | None = None
        self._pending: list[StepRecord] = []
        self._last_emit = 0.0

    # ------------------------------------------------------------- controls
    @property
    def state(self) -> str:
        return self._state

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def keep(self) -> int | None:
        return self._keep

    @keep.setter
    def keep(self, k: int | None) -> None:
        self._keep = None if k is None else max(0, int(k))
        self.store.set_budget(self.store.memory_budget, self._keep)

    @property
    def memory_budget(self) -> int:
        return self.store.memory_budget

    @memory_budget.setter
    def memory_budget(self, nbytes: int) -> None:
        self.store.set_budget(int(nbytes), self._keep)

    def close(self) -> None:
        """Stop, and forget every kept step (the spilled ones' files included)."""
        self.stop()
        if self._thread is not None:
            self._thread.join(10)
        self.store.close()

    def start(self, steps: int | None = None) -> None:
        """Run ``steps`` more steps (default: ``self.steps``) on a daemon worker."""
        if self.running:
            raise RuntimeError("the trainer is already running")
        n = self.steps if steps is None else int(steps)
        self._reset_run()
        self._thread = threading.Thread(target=self._work, args=(n,), name="graphviz-app-train", daemon=True)
        self._thread.start()

    def run_sync(self, steps: int | None = None, observe_last: bool = False) -> TrainResult:
        """Run the steps on the calling thread (headless). ``observe_last`` runs the
        last step's backward under a debugger (to the end) and keeps its graph."""
        if self.running:
            raise RuntimeError("the trainer is already running")
        n = self.steps if steps is None else int(steps)
        self._reset_run()
        self._observe_last = observe_last
        self._work(n)
        assert self.result is not None
        return self.result

    def _reset_run(self) -> None:
        with self._cond:
            self._stop = False
            self.result = None
            if self._state in ENDED:
                self._state = IDLE

    def pause(self) -> None:
        """Pause before the next step (a running step finishes first)."""
        with self._cond:
            self._pause = True
            self._cond.notify_all()

    def resume(self) -> None:
        with self._cond:
            self._pause = False
            self._cond.notify_all()

    def stop(self) -> None:
        """Stop after the current step; a debugged backward in progress is aborted."""
        with self._cond:
            self._stop = True
            self._pause = False
            self._cond.notify_all()
            dbg = self.debugger
        if dbg is not None:
            dbg.abort()

    def debug_next_step(self, mode: str = "step", pause_after: bool = True) -> None:
        """Run the next step's backward under a :class:`BackwardDebugger` started in
        ``mode`` (step, continue, run); ``debug_ready`` hands it out. Works while
        running, paused (runs exactly that step) or idle (starts the trainer)."""
        with self._cond:
            self._debug_mode = mode
            self._pause_after_debug = pause_after
            self._pause = False
            self._cond.notify_all()
        if not self.running and self._state not in (RUNNING, DEBUGGING):
            self.start()

    def wait(self, timeout: float | None = None) -> TrainResult | None:
        """Block until the run ends (or ``timeout``); the result, or None."""
        with self._cond:
            self._cond.wait_for(lambda: self.result is not None, timeout)
            return self.result

    def wait_state(self, *states: str, timeout: float | None = 10.0) -> str:
        """Block until the state is one of ``states`` (or the run ends); the state."""
        with self._cond:
            self._cond.wait_for(lambda: self._state in states or self.result is not None, timeout)
            return self._state

    def wait_paused(self, timeout: float | None = 10.0) -> bool:
        return self.wait_state(PAUSED, timeout=timeout) == PAUSED

    def wait_steps(self, n: int, timeout: float | None = 10.0) -> bool:
        """Block until at least ``n`` steps have completed in total (or the run ends)."""
        with self._cond:
            self._cond.wait_for(lambda: len(self.step_times) >= n or self.result is not None, timeout)
            return len(self.step_times) >= n

    # ------------------------------------------------------------- history
    def _with_history(self, g: Graph) -> Graph:
        g.meta["loss_history"] = self.loss_history[: int(g.meta.get("train_index", 0))]
        return g

    @property
    def snapshots(self) -> list[Graph]:
        """The kept step graphs still in memory, oldest first, each with ``meta.loss_history``
        up to its step (:meth:`snapshot_at` also reads the ones spilled to disk)."""
        return [self._with_history(g) for g in self.store.in_memory()]

    @property
    def kept_steps(self) -> list[int]:
        """Every step number that :meth:`snapshot_at` can give, oldest first."""
        return self.store.steps()

    def snapshot_at(self, step: int) -> Graph | None:
        """The kept graph of step ``step`` (1-based, as in ``StepRecord.step``), if kept,
        read back from disk when it was spilled."""
        g = self.store.get(int(step))
        return self._with_history(g) if g is not None else None

    # -------------------------------------------------------------- worker
    def _set_state(self, state: str) -> None:
        with self._cond:
            if self._state == state:
                return
            self._state = state
            self._cond.notify_all()
        self.state_changed.emit(state)

    def _flush(self, force: bool = False) -> None:
        if not self._pending:
            return
        now = time.perf_counter()
        if force or now - self._last_emit >= self.emit_interval:
            batch, self._pending = self._pending, []
            self._last_emit = now
            self.progress.emit(batch)

    def _wait_if_paused(self) -> bool:
        """Block while paused; False when asked to stop."""
        with self._cond:
            if not self._pause or self._stop:
                return not self._stop
        self._flush(force=True)
        self._set_state(PAUSED)
        with self._cond:
            self._cond.wait_for(lambda: not self._pause or self._stop)
            stop = self._stop
        if not stop:
            self._set_state(RUNNING)
        return not stop

    def _work(self, n: int) -> None:
        done = 0
        status, error, tb = FINISHED, None, None
        self._set_state(RUNNING)
        try:
            for i in range(n):
                if not self._wait_if_paused():
                    status = STOPPED
                    break
                with self._cond:
                    debug_mode = self._debug_mode
                    self._debug_mode = None
                if debug_mode is None and self._observe_last and i == n - 1:
                    debug_mode = "run"
                ok = self._step(debug_mode)
                if ok:
                    done += 1
                if debug_mode is not None and not self._observe_last:
                    with self._cond:
                        if self._pause_after_debug or not ok:
                            self._pause = True
                if self._stop:
                    status = STOPPED
                    break
        except BaseException as exc:  # the user's error: keep their traceback
            status = FAILED
            error = f"{type(exc).__name__}: {exc}"
            tb = "".join(traceback.format_exception(exc))
        finally:
            self._observe_last = False
            self._flush(force=True)
        result = TrainResult(status, done, error, tb, losses=list(self.loss_history))
        with self._cond:
            self.result = result
            self._state = status
            self._cond.notify_all()
        self.state_changed.emit(status)
        self.finished.emit(result)

    def _step(self, debug_mode: str | None) -> bool:
        """One step; False when a debugged backward was aborted (no update made)."""
        sc = self.scenario
        t0 = time.perf_counter()
        step_no = sc.step_count + 1
        keep_graph = self._keep != 0 and (
            debug_mode is not None or (self.snapshot_every > 0 and step_no % self.snapshot_every == 0)
        )
        sc.prepare_step()
        recorded = keep_graph or debug_mode is not None
        # A kept step's nodes name their modules as the live graph's do (collapse, watches).
        tracker = track_modules(sc.model) if recorded and sc.model is not None else contextlib.nullcontext(None)
        with tracker as mods:
            out = sc.output()
        loss = sc.record_loss(out)
        graph = None
        paused = 0.0
        if recorded:
            graph = capture(out, names=sc.names(), model=sc.model, modules=mods,
                            saved=self.saved or debug_mode is not None)
            if hasattr(mods, "clear"):
                mods.clear()  # the tracker holds graph nodes: let them go with the graph
            graph.meta.update(scenario=sc.name, step=step_no, loss=loss, device=str(sc.device))
        if debug_mode is not None and graph is not None and graph.live:
            self._set_state(DEBUGGING)
            # Reentrant checkpoints' recomputed subgraphs join the graph (as in Session).
            dbg = BackwardDebugger(graph, run=lambda: recording(graph, lambda: sc.run_backward(out),
                                                                sc.model, sc.names()))
            with self._cond:
                self.debugger = dbg
            try:
                if self._stop:
                    dbg.abort()
                dbg.start(debug_mode)
                self.debug_ready.emit(dbg)
                result = dbg.wait()
            finally:
                with self._cond:
                    self.debugger = None
            self.last_debug_result = result
            paused = dbg.paused_s
            self._set_state(RUNNING)
            if result is None or result.status == "aborted":
                if loss is not None and sc.loss_history:
                    sc.loss_history.pop()
                sc.zero_grads()
                graph.detach()
                return False
            if result.status == "failed":
                raise RuntimeError(f"backward failed: {result.error}\n{result.traceback or ''}")
        elif keep_graph and graph is not None and graph.live:
            self._observe(graph, out)
        else:
            sc.run_backward(out)
        names, grads = self._grads()
        norms = self._norms(grads)
        if loss is not None:
            self.loss_history.append(loss)
        if graph is not None and keep_graph:
            graph.meta["train_index"] = len(self.loss_history)
            self._fill_leaf_grads(graph)
            graph.meta["grad_norms"] = dict(zip(names, norms))
            graph.detach()
            self.store.add(step_no, graph)
        elif graph is not None:
            graph.detach()
        sc.apply_update()
        sc.step_count += 1
        dt = time.perf_counter() - t0 - paused  # a debugged step's pauses are the user's time
        for name, v in zip(names, norms):
            self.grad_norm_history.setdefault(name, []).append(v)
        rec = StepRecord(sc.step_count, loss, dict(zip(names, norms)), dt, snapshot=keep_graph,
                         debugged=debug_mode is not None)
        with self._cond:
            self.step_times.append(dt)
            self._cond.notify_all()
        self._pending.append(rec)
        self._flush()
        return True

    def _observe(self, graph: Graph, out: Any) -> None:
        """A kept step's backward, run to the end under an observer so its graph holds
        what every node received and sent (the same record a debugged step has)."""
        sc = self.scenario
        dbg = BackwardDebugger(graph, run=lambda: sc.run_backward(out))
        result = dbg.run_here()  # on the training thread: one OpenMP team (see run_here)
        if result.status == "failed":
            raise RuntimeError(f"backward failed: {result.error}\n{result.traceback or ''}")

    def _grads(self) -> tuple[list[str], list[torch.Tensor | None]]:
        names, grads = [], []
        for name, p in self.scenario.trainable():
            names.append(name)
            grads.append(p.grad.detach() if p.grad is not None else None)
        return names, grads

    @staticmethod
    def _norms(grads: list[torch.Tensor | None]) -> list[float]:
        present = [g for g in grads if g is not None and g.layout == torch.strided and g.numel() > 0]
        values: list[float] = []
        if present:
            try:
                ns = torch._foreach_norm([g.float() if not g.is_floating_point() else g for g in present])
            except (RuntimeError, AttributeError, TypeError):
                ns = [torch.linalg.vector_norm(g.float()) for g in present]
            # One transfer per device.
            by_dev: dict[Any, list[int]] = {}
            for i, t in enumerate(ns):
                by_dev.setdefault(t.device, []).append(i)
            flat: dict[int, float] = {}
            for idx in by_dev.values():
                vals = torch.stack([ns[i] for i in idx]).double().cpu().tolist()
                flat.update(zip(idx, vals))
            values = [flat[i] for i in range(len(ns))]
        it = iter(values)
        return [next(it) if (g is not None and g.layout == torch.strided and g.numel() > 0) else 0.0 for g in grads]

    @staticmethod
    def _fill_leaf_grads(graph: Graph) -> None:
        leaves = _leaf_tensors(graph)
        tensors = [getattr(v, "grad", None) if v is not None else None for _, v in leaves]
        for (i, _), s in zip(leaves, summarize_batch(tensors)):
            if graph.nodes[i].grad is None:
                graph.nodes[i].grad = s
