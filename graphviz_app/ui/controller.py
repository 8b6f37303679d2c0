"""The bridge between the window and the core: all torch work runs on workers.

The controller owns the :class:`~graphviz_app.core.session.Session`, starts loads,
forward passes, layouts, training and the backward debugger on daemon threads, and
re-emits what they report as Qt signals. Qt queues a signal emitted on another
thread, so every slot in the window runs on the GUI thread, which never waits on
torch.
"""

from __future__ import annotations

import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from ..core.debugger import BackwardDebugger, BackwardResult
from ..core.graph import Graph
from ..core.loader import LoadError, load_path
from ..core.session import Session
from .graph_scene import box_size


def compute_layout(graph: Graph, direction: str):
    from ..core.layout import layout_graph

    sizes = [box_size(n) for n in graph.nodes]
    return layout_graph(graph, direction=direction, sizes=sizes)


class Controller(QObject):
    """Runs the core on workers; reports through Qt signals (queued to the GUI)."""

    graph_ready = Signal(object, object)  # Graph, Layout
    source_changed = Signal(str, str)  # path, kind ("scenario" | "snapshot")
    node_paused = Signal(str)  # node id that just ran
    backward_finished = Signal(object)  # BackwardResult
    loss_added = Signal(int, float)  # step, loss
    busy_changed = Signal(bool, str)  # busy, message
    failed = Signal(str, str)  # plain message, details (traceback)
    info = Signal(str)

    def __init__(self, direction: str = "TB", device: str = "cpu", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.direction = direction
        self.device = device
        self.session: Session | None = None
        self.path: Path | None = None
        self.kind: str | None = None
        self.graph: Graph | None = None
        self.layout = None
        self.debugger: BackwardDebugger | None = None
        self._job: threading.Thread | None = None
        self._job_name = ""
        self._lock = threading.Lock()
        self.last_layout_s = 0.0
        self.last_run_s = 0.0

    # ---------------------------------------------------------------- helpers
    @property
    def busy(self) -> bool:
        return self._job is not None and self._job.is_alive()

    @property
    def has_model(self) -> bool:
        return self.session is not None

    @property
    def paused_at(self) -> str | None:
        return self.debugger.paused_at if self.debugger is not None else None

    @property
    def backward_running(self) -> bool:
        return self.debugger is not None and self.debugger.running

    def _spawn(self, name: str, fn: Callable[[], Any], message: str) -> bool:
        """Run ``fn`` on a daemon worker; errors become ``failed`` signals."""
        with self._lock:
            if self.busy:
                self.info.emit(f"Still busy with {self._job_name}; try again when it is done.")
                return False
            self._job_name = name

            def work() -> None:
                self.busy_changed.emit(True, message)
                try:
                    fn()
                except LoadError as exc:
                    self.failed.emit(str(exc), exc.details)
                except Exception as exc:  # report, never crash the window
                    self.failed.emit(f"{name} failed: {type(exc).__name__}: {exc}", traceback.format_exc())
                finally:
                    self.busy_changed.emit(False, "")

            self._job = threading.Thread(target=work, name=f"graphviz-app-{name}", daemon=True)
            self._job.start()
            return True

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until the current job ends (tests and shutdown only)."""
        job = self._job
        if job is not None:
            job.join(timeout)
        return not self.busy

    # ------------------------------------------------------------- loading
    def open(self, path: str | Path) -> bool:
        """Load a scenario or snapshot; the current one stays until this succeeds."""
        path = Path(path)

        def job() -> None:
            loaded = load_path(path, device=self.device)
            if loaded.kind == "scenario":
                session = Session(loaded.scenario, source=str(path))
                graph = session.forward()
                layout = self._layout(graph)
                self._abort_debugger()
                if self.session is not None:
                    self.session.release()
                self.session, self.kind, self.path = session, "scenario", path
                self._publish(graph, layout)
                self.source_changed.emit(str(path), "scenario")
                self._emit_loss(session)
            else:
                graph = loaded.graph
                layout = self._layout(graph)
                self._abort_debugger()
                if self.session is not None:
                    self.session.release()
                self.session, self.kind, self.path = None, "snapshot", path
                self._publish(graph, layout)
                self.source_changed.emit(str(path), "snapshot")
                for i, v in enumerate(graph.meta.get("loss_history", [])):
                    self.loss_added.emit(i, float(v))

        return self._spawn("loading", job, f"Loading {path.name}…")

    def _layout(self, graph: Graph):
        t0 = time.perf_counter()
        layout = compute_layout(graph, self.direction)
        self.last_layout_s = time.perf_counter() - t0
        return layout

    def _publish(self, graph: Graph, layout) -> None:
        self.graph, self.layout = graph, layout
        self.graph_ready.emit(graph, layout)

    def _emit_loss(self, session: Session) -> None:
        hist = session.scenario.loss_history
        if hist:
            self.loss_added.emit(len(hist) - 1, float(hist[-1]))

    def set_direction(self, direction: str) -> None:
        """Lay the current graph out again top-to-bottom ("TB") or bottom-to-top ("BT")."""
        self.direction = direction
        graph = self.graph
        if graph is None:
            return
        self._spawn("layout", lambda: self._publish(graph, self._layout(graph)), "Laying out…")

    # ------------------------------------------------------------- running
    def rerun(self) -> bool:
        """Run the forward pass again (a new point on the loss plot, a fresh graph)."""
        if self.session is None:
            self.info.emit("Open a scenario first: a snapshot has no model to run.")
            return False
        session = self.session

        def job() -> None:
            self._abort_debugger()
            t0 = time.perf_counter()
            graph = session.forward()
            self.last_run_s = time.perf_counter() - t0
            self._publish(graph, self._layout(graph))
            self._emit_loss(session)

        return self._spawn("forward", job, "Running forward…")

    def train(self, steps: int) -> bool:
        """Train ``steps`` plain steps on a worker, then show the next step's graph."""
        if self.session is None:
            self.info.emit("Open a scenario first: a snapshot has no model to train.")
            return False
        session = self.session

        def job() -> None:
            self._abort_debugger()
            session.release()
            start = len(session.scenario.loss_history)
            for i in range(steps):
                loss = session.scenario.train_step()
                if loss is not None:
                    self.loss_added.emit(start + i, float(loss))
            graph = session.forward()
            self._publish(graph, self._layout(graph))
            self._emit_loss(session)

        return self._spawn("training", job, f"Training {steps} steps…")

    # ------------------------------------------------------------ debugging
    def _ensure_debugger(self) -> BackwardDebugger | None:
        """The live debugger, or a new one over a fresh forward when the last one ended."""
        if self.session is None:
            self.info.emit("Open a scenario first: a snapshot has no model to run backward on.")
            return None
        dbg = self.debugger
        if dbg is not None and dbg.result is None:
            return dbg
        return None

    def _start_debugger(self, mode: str, target: str | None = None) -> None:
        session = self.session
        assert session is not None

        def job() -> None:
            if self.debugger is not None and self.debugger.result is not None:
                # The last backward ended: run forward again for a fresh graph.
                graph = session.forward()
                self._publish(graph, self._layout(graph))
                self._emit_loss(session)
            dbg = session.make_debugger()
            dbg.paused.connect(self.node_paused.emit)
            dbg.finished.connect(self._on_finished)
            self.debugger = dbg
            self._run_t0 = time.perf_counter()
            dbg.start(mode, target)

        self._spawn("backward", job, "Starting backward…")

    def _on_finished(self, result: BackwardResult) -> None:  # on the backward worker
        self.last_run_s = time.perf_counter() - getattr(self, "_run_t0", time.perf_counter())
        if result.ok and self.session is not None:
            try:
                self.session.finish_step()
            except Exception as exc:
                self.failed.emit(f"The update step failed: {exc}", traceback.format_exc())
        self.backward_finished.emit(result)

    def step(self) -> None:
        dbg = self._ensure_debugger()
        if dbg is not None:
            dbg.step()
        elif self.session is not None:
            self._start_debugger("step")

    def continue_(self) -> None:
        dbg = self._ensure_debugger()
        if dbg is not None:
            dbg.continue_()
        elif self.session is not None:
            self._start_debugger("continue")

    def run_to_end(self) -> None:
        dbg = self._ensure_debugger()
        if dbg is not None:
            dbg.run_to_end()
        elif self.session is not None:
            self._start_debugger("run")

    def run_to(self, node_id: str) -> None:
        dbg = self._ensure_debugger()
        if dbg is not None:
            dbg.run_to(node_id)
        elif self.session is not None:
            self._start_debugger("run_to", node_id)

    def abort(self) -> None:
        if self.debugger is not None:
            self.debugger.abort()

    def restart(self) -> None:
        """Abort any backward and start again from a fresh forward."""
        self.abort()
        self.rerun()

    def _abort_debugger(self) -> None:
        dbg = self.debugger
        if dbg is not None:
            dbg.abort()
            dbg.wait(5.0)
            dbg.release()
        self.debugger = None

    def shutdown(self) -> None:
        """Stop every worker quickly (window closing)."""
        if self.debugger is not None:
            self.debugger.abort()
