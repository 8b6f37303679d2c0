"""Run backward on a worker thread and pause it at autograd nodes.

How it works: every node of a captured (live) graph gets a post-hook, and a pre-hook
too unless the run goes to the end unobserved (see ``_install``). Backward runs on a
daemon worker inside ``set_multithreading_enabled(False)``, so all hooks fire on that
thread, CPU or CUDA. A post-hook records the node's execution
index and keeps references to its gradients (no arithmetic); when the node should
pause, the hook waits on a ``threading.Condition`` (which releases the GIL, so the
GUI thread stays free). Abort makes the waiting hook raise; ``backward()`` then ends
on the worker and every hook handle is removed in ``finally``.

Hooks only act on their own run's thread: a second backward through shared nodes
(e.g. ``AccumulateGrad``) on another thread passes through untouched.
"""

from __future__ import annotations

import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch

from ..graph.capture import gc_paused as _gc_paused
from ..graph.model import LEAF, Graph
from ..graph.summary import summarize_batch
from ..system.memory import hold_collections, release_collections
from .backward_results import (  # noqa: F401  (public here too)
    first_nonfinite,
    is_finite_number,
    leaf_grad_values,
    next_to_run,
)
from .breakpoints import (  # noqa: F401  (public here too)
    BP_MODULE,
    BP_NODE,
    BP_NONFINITE,
    BP_NORM_ABOVE,
    BP_TYPE,
    Breakpoint,
    breakpoint_matches,
)
from .events import Signal
from .leaf_slots import NOT_YET, leaf_bound_slots, with_leaf_grads, without_slots  # noqa: F401
from .workers import POOL, call_on_backward_worker, shutdown_idle_workers  # noqa: F401  (public here too)

_get_ident = threading.get_ident


class BackwardAborted(RuntimeError):
    """Raised inside a hook to stop a paused backward."""


@dataclass
class BackwardResult:
    """How a run ended and what it left behind."""

    status: str  # "finished" | "aborted" | "failed"
    order: list[str] = field(default_factory=list)
    grads_written: list[str] = field(default_factory=list)  # leaf node ids
    error: str | None = None
    traceback: str | None = None
    failed_node: str | None = None
    first_nonfinite: str | None = None  # node id, see first_nonfinite()

    @property
    def ok(self) -> bool:
        return self.status == "finished"



class BackwardDebugger:
    """Step, continue or run a backward pass over a captured, live :class:`Graph`.

    ``run`` replaces the default ``torch.autograd.backward(outputs, ...)`` call, for
    scenarios that use ``torch.autograd.grad`` or several passes.
    """

    def __init__(
        self,
        graph: Graph,
        outputs: torch.Tensor | Sequence[torch.Tensor] | None = None,
        *,
        grad_tensors: Any = None,
        retain_graph: bool | None = None,
        create_graph: bool = False,
        run: Callable[[], Any] | None = None,
        num_threads: int | None = None,
        summarize_after: bool = True,
    ) -> None:
        if not graph.live:
            if not graph.nodes:
                from .diagnose import BackwardSetupError, check_backward_ready

                check_backward_ready(outputs, graph)
                raise BackwardSetupError("the output does not require grad: the captured graph is empty")
            raise ValueError("the graph has no live autograd nodes (was it loaded from a file?)")
        self.graph = graph
        self.outputs = outputs
        self.grad_tensors = grad_tensors
        self.retain_graph = retain_graph
        self.create_graph = create_graph
        self._run = run
        self.num_threads = num_threads or torch.get_num_threads()
        self.summarize_after = summarize_after
        self.breakpoints: list[Breakpoint] = []

        self.node_reached = Signal("node_reached")  # (node_id)
        self.node_done = Signal("node_done")  # (node_id, exec_index)
        self.paused = Signal("paused")  # (node_id)
        self.finished = Signal("finished")  # (BackwardResult), also on abort/failure
        self.failed = Signal("failed")  # (BackwardResult) with the user's traceback, before finished

        self._cond = threading.Condition()
        self._mode = "step"
        self._target: str | None = None
        self._go = False
        self._abort = False
        self._thread: threading.Thread | None = None  # the worker thread running this backward
        self._done = threading.Event()
        self._ident: int | None = None
        self._handles: list[Any] = []
        self._pre_hooks = True  # see _install
        self._gc_hold = 0  # memory.hold_collections token while backward runs
        self.paused_s = 0.0  # time spent paused, left out of the backward's timings
        self._summarised = 0  # self.order[:_summarised] has summaries (see _summarize_ran)
        self._current: str | None = None
        self.paused_at: str | None = None
        self.order: list[str] = []
        self.grads_in: dict[str, tuple] = {}  # node id -> grad_inputs (sent on)
        self.grads_out: dict[str, tuple] = {}  # node id -> grad_outputs (received)
        self._lean: dict[str, dict[int, str]] = {}
        self._deferred: list[tuple[str, int]] = []  # (sender id, its exec index), see leaf_bound_slots
        self.result: BackwardResult | None = None
        self.timings: dict[str, float] = {}  # install_s, backward_s (pauses included), summaries_s
        self.returned: Any = None  # what ``run`` returned (e.g. torch.autograd.grad's tuple)

    # ----------------------------------------------------------------- control
    @property
    def running(self) -> bool:
        return self._thread is not None and not self._done.is_set()

    @property
    def is_paused(self) -> bool:
        return self.paused_at is not None

    def start(self, mode: str = "step", target: str | None = None) -> None:
        """Start backward on the worker: ``mode`` is step, continue, run or run_to."""
        if self._thread is not None:
            raise RuntimeError("this debugger has already run; make a new one")
        self._set_mode(mode, target)
        self._thread = POOL.submit(self._work)

    def run_here(self, mode: str = "run", target: str | None = None) -> BackwardResult:
        """Run the backward on the calling thread, to its end, and return the result.

        For callers that would only wait for the worker (a script's snapshot, a headless
        export, a training step that keeps its graph). Each thread that runs parallel
        torch ops on CPU keeps its own OpenMP team, and while two teams exist on a
        machine with few cores their idle threads stop spinning: every parallel op then
        waits for a sleeping thread (a 65k-element ``amin`` went from 5 to 70 µs on two
        cores, for the caller's own training steps too, as long as the worker lived).
        A ``mode`` that pauses blocks this thread until another one resumes it.
        """
        if self._thread is not None:
            raise RuntimeError("this debugger has already run; make a new one")
        self._set_mode(mode, target)
        self._thread = threading.current_thread()
        self._work()
        assert self.result is not None
        return self.result

    def _set_mode(self, mode: str, target: str | None = None) -> None:
        if mode not in ("step", "continue", "run", "run_to"):
            raise ValueError(f"unknown mode {mode!r}")
        if mode == "run_to" and target not in self.graph:
            raise KeyError(f"no node {target!r} in the graph")
        with self._cond:
            self._mode = mode
            self._target = target
            self._go = True
            self.paused_at = None
            self._cond.notify_all()

    def step(self) -> None:
        """Run the next node, then pause again."""
        self._resume("step")

    def continue_(self) -> None:
        """Run until an enabled breakpoint matches (or the end)."""
        self._resume("continue")

    def run_to(self, node_id: str) -> None:
        """Run until ``node_id`` has run (or a breakpoint matches first)."""
        self._resume("run_to", node_id)

    def run_to_end(self) -> None:
        self._resume("run")

    def _resume(self, mode: str, target: str | None = None) -> None:
        if self._thread is None:
            self.start(mode, target)
        else:
            self._set_mode(mode, target)

    def abort(self) -> None:
        """Stop the run: a paused hook raises, a running one raises at the next node."""
        with self._cond:
            self._abort = True
            self._cond.notify_all()

    def wait(self, timeout: float | None = None) -> BackwardResult | None:
        """Block until the worker has ended (for tests and headless use)."""
        if self._thread is not None:
            self._done.wait(timeout)
        return self.result

    def wait_paused(self, timeout: float | None = 10.0) -> str | None:
        """Block until the run pauses or ends; the paused node id, or None if ended."""
        with self._cond:
            self._cond.wait_for(lambda: self.paused_at is not None or self.result is not None, timeout)
            return self.paused_at

    # ------------------------------------------------------------------ hooks
    def _install(self) -> None:
        """Register a post-hook, and where needed a pre-hook, on every node (on the worker).

        A plain run to the end with nobody listening to ``node_reached`` gets post-hooks
        only: they see both the gradients received and sent, and the execution order.
        Each Python hook costs a few µs per node, which on a small transformer is a
        tenth of the backward. Without pre-hooks the node that raised is found from
        the order (:func:`next_to_run`), as it is when a tensor hook raises before the
        node's pre-hook runs; a step, continue or custom run keeps both.
        """
        ident = self._ident
        get_ident = _get_ident  # read at install time (tests count hook calls through it)
        order = self.order
        gin = self.grads_in
        gout = self.grads_out
        reached = self.node_reached
        done = self.node_done
        handles = self._handles
        me = self

        lean = self._lean = self._lean_slots()
        deferred = self._deferred

        def make(nid: str, node: Any):
            drop = lean.get(nid)
            slots = tuple(drop) if drop else ()

            def pre(grad_outputs):
                if get_ident() != ident:
                    return None
                if me._abort:
                    raise BackwardAborted("backward aborted")
                me._current = nid
                if reached._slots:
                    reached.emit(nid)
                return None

            def post(grad_inputs, grad_outputs):
                if get_ident() != ident:
                    return None
                idx = len(order)
                order.append(nid)
                node.exec_order = idx
                pause = me._mode != "run" and me._should_pause(nid, node, grad_inputs, grad_outputs)
                if drop is not None and not pause:
                    # Not held while the leaf accumulates (leaf_bound_slots); filled in later.
                    gin[nid] = without_slots(grad_inputs, slots)
                    deferred.append((nid, idx))
                else:
                    gin[nid] = grad_inputs
                gout[nid] = grad_outputs
                me._current = None
                if done._slots:
                    done.emit(nid, idx)
                if me._abort:
                    raise BackwardAborted("backward aborted")
                if pause:
                    me._pause(nid)
                return None

            return pre, post

        self._pre_hooks = with_pre = self._mode != "run" or self._run is not None or bool(reached._slots)
        with _gc_paused():
            for node, fn in zip(self.graph.nodes, self.graph.fns):
                pre, post = make(node.id, node)
                if with_pre:
                    handles.append(fn.register_prehook(pre))
                handles.append(fn.register_hook(post))

    def _lean_slots(self) -> dict[str, dict[int, str]]:
        """:func:`leaf_bound_slots` for a plain ``backward`` without ``create_graph``
        (a custom ``run`` may reach the leaves through nodes that were not captured)."""
        if self._run is not None or self.create_graph:
            return {}
        return leaf_bound_slots(self.graph)

    def _fill_deferred(self) -> None:
        """Put the gradients sent into leaves back into the senders' ``grads_in``.

        An entry is filled once its leaf has run after the sender (the engine runs
        ``AccumulateGrad`` right after the node that feeds it); until then it waits.
        """
        if not self._deferred:
            return
        graph, gout = self.graph, self.grads_out
        waiting = []
        for nid, idx in self._deferred:
            gi = self.grads_in.get(nid)
            if gi is None:
                continue

            def received(leaf: str, after: int = idx):
                ran = graph.node(leaf).exec_order
                return gout.get(leaf) if ran is not None and ran >= after else NOT_YET

            self.grads_in[nid], ready = with_leaf_grads(gi, self._lean.get(nid, {}), received)
            if not ready:
                waiting.append((nid, idx))
        self._deferred[:] = waiting

    def _should_pause(self, nid: str, node: Any, gin: Sequence[Any], gout: Sequence[Any]) -> bool:
        mode = self._mode
        if mode == "step":
            return True
        if mode == "run":
            return False
        if mode == "run_to" and nid == self._target:
            return True
        for bp in list(self.breakpoints):
            if bp.enabled and self._matches(bp, node, gin, gout):
                return True
        return False

    @staticmethod
    def _matches(bp: Breakpoint, node, gin, gout) -> bool:
        return breakpoint_matches(bp, node, gin, gout)

    # -------------------------------------------------------------- summaries
    def summarize(self, node_ids: Sequence[str] | None = None) -> None:
        """Fill ``grad_inputs``/``grad_outputs`` (and leaves' ``grad``) in one batch.

        ``node_ids`` defaults to every node that ran; the GUI can ask for what is on
        screen only (with ``summarize_after=False``). Must run before :meth:`release`.
        When every node that ran is summarised, ``graph.meta["first_nonfinite"]``
        is set to the first node (in execution order) that received or sent a
        gradient with NaN/Inf, or ``None``. Automatic collections are held meanwhile
        (thousands of new small objects beside a live graph: see ``summarize_batch``).
        """
        token = hold_collections()
        try:
            self._summarize(node_ids)
        finally:
            release_collections(token)

    def _summarize(self, node_ids: Sequence[str] | None) -> None:
        self._fill_deferred()
        ran = list(dict.fromkeys(self.order))
        ids = ran if node_ids is None else list(dict.fromkeys(node_ids))
        graph = self.graph
        tensors: list[Any] = []
        spans: list[tuple[Any, int, int, int, int, Any]] = []
        for nid in ids:
            node = graph.node(nid)
            gi = self.grads_in.get(nid)
            go = self.grads_out.get(nid)
            a = len(tensors)
            if gi is not None:
                tensors.extend(gi)
            b = len(tensors)
            if go is not None:
                tensors.extend(go)
            c = len(tensors)
            var = None
            if node.kind == LEAF and graph.live:
                var = getattr(graph.fn(nid), "variable", None)
                tensors.append(var.grad if var is not None else None)
            spans.append((node, a, b, c, len(tensors), (gi, go, var)))
        sums = summarize_batch(tensors)
        for node, a, b, c, d, (gi, go, var) in spans:
            if gi is not None:
                node.grad_inputs = sums[a:b]
            if go is not None:
                node.grad_outputs = sums[b:c]
            if d > c:
                node.grad = sums[c] if var is not None else None
        if node_ids is None or set(ran) <= set(ids):
            graph.meta["first_nonfinite"] = first_nonfinite(graph, ran)

    def _summarize_ran(self, nid: str) -> None:
        """Summaries for every node that ran since the last pause (and for those whose
        leaf-bound slots were still open then), so that while paused every node that ran
        shows what it received and sent, and every leaf written so far its ``.grad``:
        after a continue to a breakpoint, not only the node paused on."""
        pending = [n for n, _ in self._deferred]
        start, self._summarised = self._summarised, len(self.order)
        self.summarize(list(dict.fromkeys([*pending, *self.order[start:], nid])))

    def _pause(self, nid: str) -> None:
        # Summaries for what ran since the last pause: we are stopping anyway.
        try:
            self._summarize_ran(nid)
        except Exception:  # a summary must never break the user's backward
            pass
        with self._cond:
            self._go = False
            self.paused_at = nid
            self._cond.notify_all()
        self.paused.emit(nid)
        release_collections(self._gc_hold)  # the GUI collects as usual while we wait
        waited = time.perf_counter()
        try:
            with self._cond:
                while not self._go and not self._abort:
                    self._cond.wait()
                self.paused_at = None
                if self._abort:
                    raise BackwardAborted("backward aborted")
        finally:
            self.paused_s += time.perf_counter() - waited  # not backward time
            self._gc_hold = hold_collections()

    # ----------------------------------------------------------------- worker
    def _backward(self) -> None:
        if self._run is not None:
            self.returned = self._run()
            return
        outs = self.outputs
        if isinstance(outs, torch.Tensor):
            outs = [outs]
        torch.autograd.backward(
            list(outs),
            grad_tensors=self.grad_tensors,
            retain_graph=self.retain_graph,
            create_graph=self.create_graph,
        )

    def _work(self) -> None:
        self._ident = threading.get_ident()
        if torch.get_num_threads() != self.num_threads:
            # Only when it differs: setting it clears oneDNN's cache of compiled kernels,
            # which made every convolution's backward 10-20% slower on a reused worker.
            torch.set_num_threads(self.num_threads)
        result = BackwardResult(status="finished")
        clock = time.perf_counter
        t0 = t1 = t2 = clock()
        try:
            self._install()
            t1 = clock()
            # Every node's gradients become Python objects that are kept: automatic
            # collections then ran over all of them again and again (a fifth of an
            # observed LSTM backward). Rare while running; normal while paused.
            self._gc_hold = hold_collections()
            with torch.autograd.set_multithreading_enabled(False):
                self._backward()
        except BackwardAborted:
            result.status = "aborted"
        except BaseException as exc:  # the user's error: keep their traceback
            result.status = "failed"
            result.failed_node = self._current
            if result.failed_node is None and self._run is None:
                # No pre-hooks, or the failure came before them (a tensor hook).
                result.failed_node = next_to_run(self.graph, self.order)
            try:
                from .diagnose import explain_backward_error, user_traceback

                result.error = explain_backward_error(
                    exc, self.outputs, self.graph, result.failed_node, self.order, getattr(self, "scenario", None)
                )
                result.traceback = user_traceback(exc)
            except Exception:  # an explanation must never hide the error itself
                result.error = f"{type(exc).__name__}: {exc}"
                result.traceback = "".join(traceback.format_exception(exc))
        finally:
            t2 = clock()
            release_collections(self._gc_hold)
            for h in self._handles:
                h.remove()
            self._handles.clear()
            self._current = None
            self._fill_deferred()
        result.order = list(self.order)
        leaves = {n.id for n in self.graph.nodes if n.kind == LEAF}
        result.grads_written = list(dict.fromkeys(nid for nid in self.order if nid in leaves))
        if self.summarize_after:
            try:
                self.summarize()
                result.first_nonfinite = self.graph.meta.get("first_nonfinite")
            except Exception:  # a summary must never hide the run's own outcome
                pass
        self.timings = {"install_s": t1 - t0, "backward_s": t2 - t1 - self.paused_s,
                        "summaries_s": clock() - t2, "paused_s": self.paused_s}
        with self._cond:
            self.result = result
            self.paused_at = None
            self._cond.notify_all()
        try:
            if result.status == "failed":
                self.failed.emit(result)
            self.finished.emit(result)
        finally:
            self._done.set()

    def release(self, timeout: float = 5.0) -> None:
        """Stop the run if needed and drop the references to gradients, outputs and hooks."""
        self.abort()
        t = self._thread
        if t is not None and t is not threading.current_thread():
            self._done.wait(timeout)
        self.grads_in.clear()
        self.grads_out.clear()
        self.outputs = None
        self.grad_tensors = None
        self._run = None
        self.returned = None
