"""The bridge between the window and the core: all torch work runs on workers.

The controller owns the :class:`~graphviz_app.core.run.session.Session`, starts loads,
forward passes, layouts, training and the backward debugger on daemon threads, and
re-emits what they report as Qt signals. Qt queues a signal emitted on another
thread, so every slot in the window runs on the GUI thread, which never waits on
torch.
"""

from __future__ import annotations

import gc
import threading
import time
import traceback
from pathlib import Path
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal

from ..core.files.loader import LoadError, load_path
from ..core.graph.model import Graph
from ..core.run.debugger import (
    BP_NONFINITE,
    BackwardDebugger,
    BackwardResult,
    Breakpoint,
)
from ..core.run.diagnose import BackwardSetupError
from ..core.run.session import Session
from ..core.system import memory
from .graph_scene import box_size

CANCELLABLE = ("loading", "building", "layout", "forward")  # jobs the user can cancel


class Cancelled(Exception):
    """The user cancelled a load or layout: nothing changes."""


MAX_TABLE = 64  # tensors up to this many values are shown as a table
MAX_IMAGE = 256  # heatmaps are reduced to at most this many rows and columns


def compute_layout(graph: Graph, direction: str, collapsed=(), engine: str = "embedded",
                   cancel: threading.Event | None = None, timeout: float = 120.0, split_leaves: bool | None = None):
    """Layout of ``graph`` with the modules in ``collapsed`` drawn as one box each, by
    the embedded engine or (``engine="dot"``) Graphviz dot in a child process.

    The layout carries what it drew: ``layout.drawn`` (the grouped graph, or ``graph``)
    and ``layout.box_of`` (node id -> box id; empty when nothing is collapsed)."""
    from ..core.draw.layout import layout_graph
    from ..core.graph.grouping import group_graph

    drawn, box_of = (group_graph(graph, collapsed) if collapsed else (graph, {}))
    sizes = [box_size(n) for n in drawn.nodes]
    if engine == "dot":
        from ..core.draw.dot_layout import DotCancelled, dot_layout

        try:
            layout = dot_layout(drawn, direction, sizes, timeout=timeout, cancel=cancel)
        except DotCancelled:
            raise Cancelled() from None
    else:
        layout = layout_graph(drawn, direction=direction, sizes=sizes, split_shared_leaves=split_leaves)
    layout.engine = engine
    layout.drawn = drawn
    layout.box_of = box_of if collapsed else {}
    return layout


def tensor_payload(t) -> dict[str, Any]:
    """What the inspector's values view draws for one tensor (runs on a worker).

    ``table`` (values, up to 64), ``heatmap`` (a 2-D array, reduced to at most
    256×256 by striding) and, for big tensors, ``hist`` (counts and bin edges).
    """
    import numpy as np
    import torch

    if t is None or not isinstance(t, torch.Tensor):
        return {"kind": "none"}
    t = t.detach()
    if t.layout != torch.strided:
        t = t.to_dense()
    if t.is_complex():
        t = t.abs()
    shape = list(t.shape)
    out: dict[str, Any] = {"shape": shape, "numel": t.numel()}
    if t.numel() == 0:
        out["kind"] = "none"
        return out
    if t.numel() <= MAX_TABLE:
        a = t.double().cpu().numpy()
        out["kind"] = "table"
        out["array"] = a.reshape(1, -1) if a.ndim <= 1 else a.reshape(-1, a.shape[-1])
        return out
    if t.dim() >= 2:
        m = t.reshape(-1, shape[-1])
        sr = max(1, (m.shape[0] + MAX_IMAGE - 1) // MAX_IMAGE)
        sc = max(1, (m.shape[1] + MAX_IMAGE - 1) // MAX_IMAGE)
        out["kind"] = "heatmap"
        out["array"] = m[::sr, ::sc].float().cpu().numpy()
        out["stride"] = (sr, sc)
    else:
        out["kind"] = "hist"
    flat = t.reshape(-1)
    if flat.numel() > 1_000_000:
        idx = torch.randint(0, flat.numel(), (1_000_000,), device=flat.device)
        flat = flat[idx]
    v = flat.float().cpu().numpy()
    v = v[np.isfinite(v)]
    if v.size:
        counts, edges = np.histogram(v, bins=60)
        out["hist"] = (counts, edges)
    return out


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
    needs_model_choice = Signal(str, object)  # path, [ModuleClass]: ask which class to build
    needs_input_shape = Signal(str)  # path of a program without stored example inputs
    breakpoints_changed = Signal()
    nan_found = Signal(str)  # node id of the first non-finite gradient, "" when none
    explanations = Signal(object)  # list[explain.Reason]
    values_ready = Signal(str, str, int, object)  # node id, which ("in"|"out"|"grad"), slot, payload
    forward_paused = Signal(object, object, object)  # ForwardStop, Graph, Layout
    forward_finished = Signal(object)  # ForwardResult
    training_progress = Signal(object)  # list[StepRecord]
    training_state = Signal(str)  # Trainer state
    training_finished = Signal(object)  # TrainResult
    snapshot_shown = Signal(int)  # training step whose kept graph is on screen
    relayout_ready = Signal(object, object)  # same Graph, new Layout (modules collapsed/expanded)
    device_changed = Signal(str)

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
        self.stepper = None  # forward_stepper.ForwardStepper while forward stepping
        self.trainer = None  # training.Trainer
        self.breakpoints: list[Breakpoint] = []
        self.record_sources = False  # forward under anomaly mode (source lines), slower
        self.keep_snapshots = 20
        self.collapsed: set[str] = set()  # module paths drawn as one box each
        self.auto_collapse = True  # a large model opens collapsed to at most ~300 boxes
        self.layout_engine = "embedded"  # or "dot" (Graphviz, when installed; core.dot_layout)
        self.split_leaves: bool | None = None  # a shared leaf drawn once per use (None: for big graphs)
        self.dot_timeout = 120.0
        # Python files and programs are first run in a child process with this time limit
        # (core.user_code), so a file that exits, hangs or crashes cannot take the app down.
        self.safe_load = True
        self.load_timeout = 60.0
        self._skip_module: str | None = None  # "step into module": run past nodes of this module
        self._hunting = False
        self._job: threading.Thread | None = None
        self._job_name = ""
        self._lock = threading.Lock()
        self._cancel = threading.Event()
        self._values_cond = threading.Condition()
        self._values_request = None  # (node id, which, slot, debugger, graph): the latest only
        self._values_thread: threading.Thread | None = None
        self._values_stop = False
        self.last_layout_s = 0.0
        self.last_run_s = 0.0
        self.last_forward_s = 0.0
        self._gui_busy = False
        self.busy_changed.connect(self._track_busy)  # first slot: runs before the window's

    # ---------------------------------------------------------------- helpers
    @property
    def busy(self) -> bool:
        """True from a job's start until the GUI has received its end (so every signal the
        job sent before it ended has been delivered too), and while training runs."""
        return self._gui_busy or self.training

    def _track_busy(self, busy: bool, message: str = "") -> None:
        self._gui_busy = busy

    @property
    def training(self) -> bool:
        return self.trainer is not None and self.trainer.running

    @property
    def has_model(self) -> bool:
        return self.session is not None

    @property
    def paused_at(self) -> str | None:
        return self.debugger.paused_at if self.debugger is not None else None

    @property
    def backward_running(self) -> bool:
        return self.debugger is not None and self.debugger.running

    @property
    def forward_stepping(self) -> bool:
        return self.stepper is not None and self.stepper.running

    def _spawn(self, name: str, fn: Callable[[], Any], message: str) -> bool:
        """Run ``fn`` on a daemon worker; errors become ``failed`` signals."""
        with self._lock:
            if self.busy:
                self.info.emit(f"Still busy with {self._job_name}; try again when it is done.")
                return False
            self._job_name = name
            self._cancel.clear()

            def work() -> None:
                self.busy_changed.emit(True, message)
                gc_was = gc.isenabled()
                gc.disable()  # no full collection while the job allocates (see _publish)
                try:
                    fn()
                except Cancelled:
                    self.info.emit(f"{name.capitalize()} cancelled; the previous graph is kept.")
                except LoadError as exc:
                    if self._cancel.is_set():  # the child that probed the file was stopped
                        self.info.emit(f"{name.capitalize()} cancelled; the previous graph is kept.")
                        return
                    self.failed.emit(str(exc), exc.details)
                except BackwardSetupError as exc:  # a plain reason why backward cannot start
                    self.failed.emit(str(exc), traceback.format_exc())
                except Exception as exc:  # report, never crash the window
                    from ..core.system.devices import explain as explain_device

                    hint = None
                    try:
                        hint = explain_device(exc, self.session.scenario if self.session else None)
                    except Exception:
                        pass
                    msg = hint or f"{name.capitalize()} failed: {type(exc).__name__}: {exc}"
                    self.failed.emit(msg, traceback.format_exc())
                finally:
                    memory.keep()
                    if gc_was:
                        gc.enable()
                    threading.current_thread().ending = True  # done: only the thread's exit is left
                    self.busy_changed.emit(False, "")

            self._gui_busy = True
            self._job = threading.Thread(target=work, name=f"graphviz-app-{name}", daemon=True)
            self._job.start()
            return True

    @property
    def cancellable(self) -> bool:
        """A load, build, forward or layout is running and can be cancelled."""
        return self.busy and not self.training and self._job_name in CANCELLABLE

    def cancel(self) -> bool:
        """Cancel the running load or layout: a child probing a file is stopped at once;
        work in this process stops at its next phase (forward, capture, layout) and its
        result is dropped, so the previous graph stays."""
        if not self.cancellable:
            return False
        self._cancel.set()
        return True

    def _check_cancel(self) -> None:
        if self._cancel.is_set():
            raise Cancelled()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Block until the current job ends (tests and shutdown only)."""
        job = self._job
        if job is not None:
            job.join(timeout)
            if not job.is_alive():
                self._gui_busy = False
        return not self.busy

    # ------------------------------------------------------------- loading
    def open(self, path: str | Path) -> bool:
        """Load a scenario or snapshot; the current one stays until this succeeds."""
        path = Path(path)
        device = self.device

        def job() -> None:
            memory.maybe_reclaim()  # the user waits for the new file anyway
            loaded = load_path(path, device=device, safe=self.safe_load, timeout=self.load_timeout,
                               cancel=self._cancel)
            self._check_cancel()
            if loaded.kind == "checkpoint":
                self._apply_checkpoint(path)
                return
            if loaded.kind == "program" and loaded.scenario is not None:
                loaded.kind = "scenario"  # a .pt/.pt2 that stores its example inputs
            if loaded.kind == "models":
                self.needs_model_choice.emit(str(path), list(loaded.classes))
                return
            if loaded.kind == "program":
                self.needs_input_shape.emit(str(path))
                return
            if loaded.kind == "scenario":
                self._show_scenario(loaded.scenario, path)
            elif loaded.kind == "snapshot":
                graph = loaded.graph
                layout = self._layout(graph, new_source=True)
                self._check_cancel()
                self._drop_runs()
                self._replace_session(None)
                self.session, self.kind, self.path = None, "snapshot", path
                self.trainer = None
                self._publish(graph, layout)
                self.source_changed.emit(str(path), "snapshot")
                for i, v in enumerate(graph.meta.get("loss_history", [])):
                    self.loss_added.emit(i, float(v))
            else:
                raise LoadError(
                    f"{path.name} is a {loaded.kind} file: open it with a scenario file "
                    "(a Python file with build(device)) instead.")

        return self._spawn("loading", job, f"Loading {path.name}…")

    def _show_scenario(self, scenario, path: Path) -> None:
        """On a worker: forward, capture and lay out a freshly loaded scenario, then publish it."""
        from ..core.system.devices import check_scenario_device

        check_scenario_device(scenario)  # names tensors left on another device
        session = Session(scenario, source=str(path))
        graph = self._forward(session)
        self._check_cancel()
        layout = self._layout(graph, new_source=True)
        self._check_cancel()
        self._drop_runs()
        self._replace_session(session)
        self.session, self.kind, self.path = session, "scenario", path
        self.trainer = None
        self._publish(graph, layout)
        self.source_changed.emit(str(path), "scenario")
        self._emit_loss(session)

    def _compute(self, graph: Graph, direction: str, collapsed):
        """compute_layout with the chosen engine; dot that fails or runs too long falls
        back to the embedded layout with a message."""
        if self.layout_engine == "dot":
            from ..core.draw.dot_layout import DotError

            try:
                return compute_layout(graph, direction, collapsed, "dot", self._cancel, self.dot_timeout)
            except DotError as exc:
                self.info.emit(f"Graphviz dot: {exc}. The embedded layout is shown instead.")
        if self.split_leaves is None:
            return compute_layout(graph, direction, collapsed)
        return compute_layout(graph, direction, collapsed, split_leaves=self.split_leaves)

    def set_split_leaves(self, split: bool | None) -> None:
        """Draw a shared leaf once per use (True), once (False) or automatically (None)."""
        self.split_leaves = split
        self._relayout_job()

    def _relayout_job(self, message: str = "Laying out…", collapsed: set[str] | None = None) -> bool:
        """Lay the current graph out again on a worker (``relayout_ready``; the debugger's
        state, the execution list and the inspector stay). ``collapsed``: the modules to
        draw as one box each from now on (default: as they are)."""
        graph = self.graph
        if graph is None:
            return False

        def job() -> None:
            if collapsed is None:
                layout = self._layout(graph)
            else:
                t0 = time.perf_counter()
                layout = self._compute(graph, self.direction, collapsed)
                self.last_layout_s = time.perf_counter() - t0
            self._check_cancel()
            if collapsed is not None:
                self.collapsed = collapsed
            self.layout = layout
            self.relayout_ready.emit(graph, layout)

        return self._spawn("layout", job, message)

    def set_layout_engine(self, engine: str) -> None:
        """"embedded" (default) or "dot"; lays the current graph out again."""
        self.layout_engine = "dot" if engine == "dot" else "embedded"
        self._relayout_job("Laying out with Graphviz dot…" if engine == "dot" else "Laying out…")

    # ------------------------------------------------------------- grouping
    def set_collapsed(self, paths) -> bool:
        """Draw the modules in ``paths`` as one box each (relayout on a worker; the
        debugger, execution list and inspector stay as they are)."""
        return self._relayout_job(collapsed=set(paths))

    def collapse_module(self, path: str) -> bool:
        from ..core.graph.grouping import collapse

        return self.set_collapsed(collapse(self.collapsed, path))

    def expand_module(self, path: str) -> bool:
        from ..core.graph.grouping import expand

        return self.set_collapsed(expand(self.graph, self.collapsed, path) if self.graph is not None else set())

    def _replace_session(self, new: Session | None) -> None:
        """Release the current session for ``new``: its hooks, its graph and the code
        it was built from (so a model kept in a module global is freed too)."""
        old = self.session
        if old is None or old is new:
            return
        old.release()
        memory.forget_code(old.scenario)

    def open_model(self, path: str | Path, choice) -> bool:
        """Build the nn.Module class the user picked from a plain .py (``ModelChoice``)."""
        from ..core.files.user_code import build_model_safely

        path = Path(path)
        device = self.device

        def job() -> None:
            scenario = build_model_safely(path, choice, device, timeout=self.load_timeout, cancel=self._cancel)
            self._show_scenario(scenario, path)

        return self._spawn("loading", job, f"Building {choice.class_name} from {path.name}…")

    def open_program(self, path: str | Path, input_shapes: str) -> bool:
        """Load a TorchScript/.pt2 program that stores no example inputs, with given input shapes."""
        from ..core.files.user_code import load_program_safely

        path = Path(path)
        device = self.device

        def job() -> None:
            scenario = load_program_safely(path, device, input_shapes=input_shapes, timeout=self.load_timeout,
                                           cancel=self._cancel)
            self._show_scenario(scenario, path)

        return self._spawn("loading", job, f"Loading {path.name}…")

    def _apply_checkpoint(self, path: Path) -> None:
        """On a worker: copy a state_dict checkpoint (read with weights_only=True) into the
        open scenario, then show a fresh forward. Raises LoadError (refused, no match)."""
        from ..core.files.model_files import apply_checkpoint

        session = self.session
        if session is None:
            raise LoadError(
                f"{path.name} is a checkpoint (weights only): open the scenario or model file it "
                "belongs to first, then open the checkpoint to load its weights into it"
            )
        self._drop_runs()
        report = apply_checkpoint(session.scenario, path)
        graph = self._forward(session)
        self._publish(graph, self._layout(graph))
        self.info.emit(f"{path.name}: {report.message()}")

    def open_scenario(self, scenario, source: str = "builder") -> bool:
        """Show a scenario built in the app. ``scenario`` may be a function of the device
        that makes it (run on the worker, e.g. the model builder's)."""

        def job() -> None:
            sc = scenario(self.device) if callable(scenario) else scenario
            session = Session(sc, source=source)
            graph = self._forward(session)
            self._check_cancel()
            layout = self._layout(graph, new_source=True)
            self._check_cancel()
            self._drop_runs()
            self._replace_session(session)
            self.session, self.kind, self.path = session, "scenario", None
            self.trainer = None
            self._publish(graph, layout)
            self.source_changed.emit(source, "scenario")
            self._emit_loss(session)

        return self._spawn("building", job, "Building the model…")

    def _forward(self, session: Session, sources: bool | None = None) -> Graph:
        """session.forward() (module names, optional source lines) plus small saved values."""
        from ..core.graph.explain import record_saved_values

        sources = self.record_sources if sources is None else sources
        t0 = time.perf_counter()
        graph = session.forward(sources=bool(sources))
        if graph.live:
            record_saved_values(graph)
        graph.meta.setdefault("device", str(session.scenario.device))
        self.last_forward_s = time.perf_counter() - t0
        return graph

    def _layout(self, graph: Graph, new_source: bool = False):
        """Lay out ``graph``; for a newly opened source, first pick the modules to show
        collapsed (a large model opens at a depth of at most about 300 boxes)."""
        from ..core.graph.grouping import initial_collapse, known_keys

        t0 = time.perf_counter()
        if new_source:
            self.collapsed = initial_collapse(graph) if self.auto_collapse else set()
        shown = known_keys(graph, self.collapsed) if self.collapsed else set()
        layout = self._compute(graph, self.direction, shown)
        self.last_layout_s = time.perf_counter() - t0
        return layout

    def _publish(self, graph: Graph, layout) -> None:
        # Keep the cyclic GC off what a load allocates (model, graph, layout): a full
        # collection over it holds the GIL for 50-200 ms and the window would stutter.
        # Acyclic objects are still freed by reference counting when dropped.
        memory.keep()
        self.graph, self.layout = graph, layout
        self.graph_ready.emit(graph, layout)

    def _emit_loss(self, session: Session) -> None:
        hist = session.scenario.loss_history
        if hist:
            self.loss_added.emit(len(hist) - 1, float(hist[-1]))

    def set_direction(self, direction: str) -> None:
        """Lay the current graph out again top-to-bottom ("TB") or bottom-to-top ("BT")."""
        self.direction = direction
        self._relayout_job()

    def set_device(self, device: str) -> bool:
        """Run the scenario on ``device`` from now on (reloads it there)."""
        from ..core.system.devices import DeviceError, check_device

        try:
            check_device(device)
        except DeviceError as exc:
            self.failed.emit(str(exc), "")
            return False
        self.device = device
        self.device_changed.emit(device)
        if self.kind == "scenario" and self.path is not None:
            return self.open(self.path)
        if self.session is not None:
            self.info.emit(f"Device set to {device}; it applies to the next scenario you open.")
        return True

    # ------------------------------------------------------------- running
    def _drop_runs(self) -> None:
        """End any backward, forward stepping or training (before a new forward)."""
        self._abort_debugger()
        st = self.stepper
        if st is not None:
            st.release()
            self.stepper = None
        tr = self.trainer
        if tr is not None and tr.running:
            tr.stop()
            tr.wait(5.0)

    def rerun(self) -> bool:
        """Run the forward pass again (a new point on the loss plot, a fresh graph)."""
        if self.session is None:
            self.info.emit("Open a scenario first: a snapshot has no model to run.")
            return False
        session = self.session

        def job() -> None:
            self._drop_runs()
            t0 = time.perf_counter()
            graph = self._forward(session)
            self.last_run_s = time.perf_counter() - t0
            self._publish(graph, self._layout(graph))
            self._emit_loss(session)

        return self._spawn("forward", job, "Running forward…")

    # ------------------------------------------------------------- training
    def train(self, steps: int) -> bool:
        """Train ``steps`` steps on the trainer's worker with live progress; then show the
        next step's graph. Pause/resume/stop with :meth:`pause_training` and friends."""
        if self.session is None:
            self.info.emit("Open a scenario first: a snapshot has no model to train.")
            return False
        if self.training:
            self.info.emit("Training is already running.")
            return False
        session = self.session

        def job() -> None:
            from ..core.run.training import Trainer

            self._drop_runs()
            session.release()
            tr = self.trainer
            if tr is None or tr.scenario is not session.scenario:
                n = len(self.graph.nodes) if self.graph is not None else 0
                every = 1 if n <= 1500 else (10 if n <= 8000 else 0)
                tr = Trainer(session.scenario, steps, keep=self.keep_snapshots, snapshot_every=every,
                             emit_interval=0.25)
                tr.progress.connect(self.training_progress.emit)
                tr.state_changed.connect(self.training_state.emit)
                tr.finished.connect(self._on_trained)
                tr.debug_ready.connect(self._on_training_debug)
                self.trainer = tr
            tr.start(steps)

        return self._spawn("training", job, f"Training {steps} steps…")

    @property
    def debugging_training(self) -> bool:
        """A training step's backward is running under the debugger (see debug_training_step)."""
        tr = self.trainer
        return tr is not None and tr.running and tr.state == "debugging"

    def debug_training_step(self) -> bool:
        """Run the next training step's backward under the debugger, paused at its first
        node; the loop pauses after that step (Resume goes on training)."""
        tr = self.trainer
        if tr is None or not tr.running:
            self.info.emit("Start training first (Ctrl+T); then Debug Next Training Step runs the next "
                           "step's backward node by node.")
            return False
        if self.debugging_training:
            self.info.emit("A training step is already being debugged: step (F10) or continue (F5) it.")
            return False
        tr.debug_next_step("step")
        return True

    def _on_training_debug(self, dbg: BackwardDebugger) -> None:  # on the trainer's worker
        """The trainer hands out the debugged step's backward: show its graph, follow it."""
        dbg.breakpoints = self.breakpoints
        dbg.paused.connect(self._on_dbg_paused)
        dbg.finished.connect(self._on_training_debug_finished)
        self.debugger = dbg
        self._run_t0 = time.perf_counter()
        graph = dbg.graph
        self._publish(graph, self._layout(graph))
        at = dbg.paused_at
        if at is not None:  # it paused before we listened: say so now (a repeat is harmless)
            self._on_dbg_paused(at)

    def _on_training_debug_finished(self, result: BackwardResult) -> None:  # on the trainer's worker
        self.last_run_s = time.perf_counter() - getattr(self, "_run_t0", time.perf_counter())
        self._skip_module = None
        self.backward_finished.emit(result)  # the trainer makes the update itself

    def set_keep_snapshots(self, k: int) -> None:
        """Keep the last ``k`` training steps' graphs (from the next training run on)."""
        self.keep_snapshots = max(0, int(k))
        if self.trainer is not None and not self.training:
            self.trainer = None  # the next Train builds a trainer with the new history size

    def _on_trained(self, result) -> None:  # on the trainer's worker
        self.training_finished.emit(result)
        if result.status == "failed":
            self.failed.emit(f"Training stopped with an error: {result.error}", result.traceback or "")
        session = self.session
        if session is None:
            return

        def after() -> None:
            if self._job is not None and self._job is not threading.current_thread():
                self._job.join(10)
            self._job = threading.current_thread()
            self._job_name = "forward"
            try:
                graph = self._forward(session)
                self._publish(graph, self._layout(graph))
            except Exception as exc:
                self.failed.emit(f"Forward after training failed: {exc}", traceback.format_exc())
            finally:
                threading.current_thread().ending = True
                self.busy_changed.emit(False, "")

        threading.Thread(target=after, name="graphviz-app-after-train", daemon=True).start()

    def pause_training(self) -> None:
        if self.trainer is not None:
            self.trainer.pause()

    def resume_training(self) -> None:
        if self.trainer is not None:
            self.trainer.resume()

    def stop_training(self) -> None:
        if self.trainer is not None:
            self.trainer.stop()

    def show_snapshot(self, step: int) -> bool:
        """Time travel: show the kept graph of training step ``step``."""
        tr = self.trainer
        snap = tr.snapshot_at(step) if tr is not None else None
        if snap is None:
            kept = [g.meta.get("step") for g in tr.snapshots] if tr is not None else []
            self.info.emit(f"No snapshot kept for step {step}"
                           + (f" (kept: steps {kept[0]}–{kept[-1]})." if kept else "."))
            return False

        def job() -> None:
            self._abort_debugger()
            snap.meta["time_travel"] = step
            self._publish(snap, self._layout(snap))
            self.snapshot_shown.emit(step)

        return self._spawn("layout", job, f"Showing step {step}…")

    # ------------------------------------------------------------ breakpoints
    def add_breakpoint(self, kind: str, value: Any = None) -> Breakpoint:
        for bp in self.breakpoints:
            if bp.kind == kind and bp.value == value:
                bp.enabled = True
                self.breakpoints_changed.emit()
                return bp
        bp = Breakpoint(kind, value)
        self.breakpoints.append(bp)
        self.breakpoints_changed.emit()
        return bp

    def remove_breakpoint(self, bp: Breakpoint) -> None:
        if bp in self.breakpoints:
            self.breakpoints.remove(bp)
            self.breakpoints_changed.emit()

    def set_breakpoint_enabled(self, bp: Breakpoint, on: bool) -> None:
        bp.enabled = bool(on)
        self.breakpoints_changed.emit()

    def clear_breakpoints(self) -> None:
        self.breakpoints.clear()
        self.breakpoints_changed.emit()

    # ------------------------------------------------------------ debugging
    def _ensure_debugger(self) -> BackwardDebugger | None:
        """The live debugger, or None when a new one must start (over a fresh forward)."""
        if self.session is None:
            self.info.emit("Open a scenario first: a snapshot has no model to run backward on.")
            return None
        dbg = self.debugger
        if dbg is not None and dbg.result is None:
            return dbg
        return None

    def _start_debugger(self, mode: str, target: str | None = None, extra: list[Breakpoint] | None = None,
                        sources: bool | None = None) -> None:
        session = self.session
        assert session is not None

        def job() -> None:
            fresh = (self.debugger is not None and self.debugger.result is not None) or extra is not None
            if fresh or self.graph is not session.graph or session.graph is None or not session.graph.live:
                # The last backward ended (or another graph is shown): forward again.
                self._abort_debugger()
                graph = self._forward(session, sources)
                self._publish(graph, self._layout(graph))
                self._emit_loss(session)
            self._attach(session.make_debugger(), mode, target, extra)

        self._spawn("backward", job, "Starting backward…")

    def _attach(self, dbg: BackwardDebugger, mode: str, target: str | None = None,
                extra: list[Breakpoint] | None = None) -> None:
        dbg.breakpoints = self.breakpoints if extra is None else list(self.breakpoints) + extra
        dbg.paused.connect(self._on_dbg_paused)
        dbg.finished.connect(self._on_finished)
        self.debugger = dbg
        self._run_t0 = time.perf_counter()
        if mode == "run_to" and target not in dbg.graph:
            mode = "continue"
        dbg.start(mode, target)

    def _on_dbg_paused(self, node_id: str) -> None:  # on the backward worker
        skip = self._skip_module
        dbg = self.debugger
        if skip is not None and dbg is not None:
            try:
                mod = dbg.graph.node(node_id).module
            except KeyError:
                mod = None
            if mod == skip:
                dbg.step()  # still inside the same module: keep going
                return
            self._skip_module = None
        self.node_paused.emit(node_id)
        if self._hunting:
            self._hunting = False
            self.nan_found.emit(node_id)

    def _on_finished(self, result: BackwardResult) -> None:  # on the backward worker
        self.last_run_s = time.perf_counter() - getattr(self, "_run_t0", time.perf_counter())
        self._skip_module = None
        if self._hunting:
            self._hunting = False
            self.nan_found.emit(result.first_nonfinite or "")
        if result.ok and self.session is not None:
            try:
                self.session.finish_step()
            except Exception as exc:
                self.failed.emit(f"The update step failed: {exc}", traceback.format_exc())
        self.backward_finished.emit(result)

    def _resume(self, mode: str, target: str | None = None) -> None:
        st = self.stepper
        if st is not None and st.result is None:
            if mode == "run_to":
                mode = "run"
            st._resume({"run": "run", "continue": "continue"}.get(mode, "run"))
            self._after_forward_mode = mode if mode in ("step", "continue", "run") else None
            return
        dbg = self._ensure_debugger()
        if dbg is not None:
            if mode == "run_to":
                dbg.run_to(target)
            else:
                {"step": dbg.step, "continue": dbg.continue_, "run": dbg.run_to_end}[mode]()
        elif self.session is not None:
            self._start_debugger(mode, target)

    def step(self) -> None:
        self._resume("step")

    def continue_(self) -> None:
        self._resume("continue")

    def run_to_end(self) -> None:
        self._resume("run")

    def run_to(self, node_id: str) -> None:
        self._resume("run_to", node_id)

    def step_into(self) -> None:
        """Forward stepping: one op (into the module). Backward: run until the
        backward reaches a node of another module than the current one."""
        st = self.stepper
        if st is not None and st.result is None:
            st.step_op()
            return
        dbg = self._ensure_debugger()
        if dbg is not None and dbg.paused_at is not None:
            self._skip_module = dbg.graph.node(dbg.paused_at).module
            dbg.step()
        else:
            self.step()

    def nan_hunt(self) -> bool:
        """Run backward until the first NaN/Inf gradient (forward recorded with source lines)."""
        if self.session is None:
            self.info.emit("Open a scenario first: a snapshot has no model to run backward on.")
            return False
        self._hunting = True
        self._start_debugger("continue", extra=[Breakpoint(BP_NONFINITE)], sources=True)
        return True

    def abort(self) -> None:
        if self.stepper is not None:
            self.stepper.abort()
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

    # ------------------------------------------------------- forward stepping
    def forward_step(self) -> bool:
        """Step the forward pass module by module (the graph grows on screen)."""
        if self.session is None:
            self.info.emit("Open a scenario first: a snapshot has no model to run.")
            return False
        st = self.stepper
        if st is not None and st.result is None:
            st.step()
            return True
        session = self.session

        def job() -> None:
            from ..core.run.forward_stepper import ForwardStepper

            self._drop_runs()
            session.release()
            st = ForwardStepper(session.scenario)
            st.paused.connect(self._on_forward_paused)
            st.finished.connect(self._on_forward_finished)
            self.stepper = st
            self._after_forward_mode = None
            st.start("step")

        return self._spawn("forward", job, "Stepping forward…")

    def _on_forward_paused(self, stop) -> None:  # on the stepper's worker
        graph = stop.graph
        layout = self._layout(graph)
        self.graph, self.layout = graph, layout
        self.forward_paused.emit(stop, graph, layout)

    def _on_forward_finished(self, result) -> None:  # on the stepper's worker
        st = self.stepper
        self.forward_finished.emit(result)
        if st is None or not result.ok or st.graph is None:
            if result.status == "failed":
                self.failed.emit(f"The forward pass failed: {result.error}", result.traceback or "")
            return
        from ..core.graph.explain import record_saved_values

        graph = st.graph
        record_saved_values(graph)
        session = self.session
        if session is not None:
            session.graph, session.output = graph, st.output
        self._publish(graph, self._layout(graph))
        if session is not None:
            self._emit_loss(session)
        dbg = st.make_debugger()
        dbg.breakpoints = self.breakpoints
        dbg.paused.connect(self._on_dbg_paused)
        dbg.finished.connect(self._on_finished)
        self.debugger = dbg
        self._run_t0 = time.perf_counter()
        mode = getattr(self, "_after_forward_mode", None)
        if mode in ("continue", "run"):
            dbg.start(mode)

    # ------------------------------------------------------------- explaining
    def explain_missing(self, names: list[str] | None = None) -> bool:
        """Why named tensors get no .grad (runs the forward once more, traced)."""
        session, graph = self.session, self.graph
        if session is None:
            return False

        def job() -> None:
            from ..core.graph.explain import explain_missing_grads

            self.explanations.emit(explain_missing_grads(session.scenario, graph, names))

        return self._spawn("explaining", job, "Looking for why .grad is None…")

    def request_values(self, node_id: str, which: str, slot: int = 0) -> None:
        """The tensor behind a gradient slot, for the values view. One daemon worker
        serves the requests; when the user steps faster than it reads, only the latest
        request is served."""
        with self._values_cond:
            self._values_request = (node_id, which, slot, self.debugger, self.graph)
            self._values_cond.notify()
            if self._values_thread is None:
                self._values_thread = threading.Thread(target=self._values_loop, name="graphviz-app-values",
                                                       daemon=True)
                self._values_thread.start()

    def _values_loop(self) -> None:
        while True:
            with self._values_cond:
                while self._values_request is None and not self._values_stop:
                    self._values_cond.wait()
                if self._values_stop:
                    self._values_thread = None
                    return
                node_id, which, slot, dbg, graph = self._values_request
                self._values_request = None
            payload = self._read_values(node_id, which, slot, dbg, graph)
            del dbg, graph
            try:
                self.values_ready.emit(node_id, which, slot, payload)
            except RuntimeError:  # the window (and this controller) is gone
                return

    @staticmethod
    def _read_values(node_id: str, which: str, slot: int, dbg, graph) -> dict[str, Any]:
        t = None
        try:
            if dbg is not None and graph is not None and dbg.graph is graph:
                if which == "in":
                    ts = dbg.grads_out.get(node_id)
                    t = ts[slot] if ts is not None and slot < len(ts) else None
                elif which == "out":
                    ts = dbg.grads_in.get(node_id)
                    t = ts[slot] if ts is not None and slot < len(ts) else None
                elif which == "grad" and graph.live:
                    var = getattr(graph.fn(node_id), "variable", None)
                    t = var.grad if var is not None and dbg.result is None else None
                    if t is None:
                        ts = dbg.grads_out.get(node_id)
                        t = ts[0] if ts else None
            return tensor_payload(t)
        except Exception as exc:  # a freed tensor, a device error: say so in the view
            return {"kind": "error", "error": f"{type(exc).__name__}: {exc}"}

    def module_params(self) -> list[tuple[str, list[int], int, float | None]]:
        """(name, shape, numel, grad norm) of the model's parameters (reads no device data
        except the norms of existing grads; call off the GUI thread for big models)."""
        sc = self.session.scenario if self.session is not None else None
        out = []
        if sc is None:
            return out
        for name, p in sc.trainable():
            out.append((name, list(p.shape), p.numel(), None))
        return out

    def shutdown(self) -> None:
        """Stop every worker quickly (window closing)."""
        with self._values_cond:
            self._values_stop = True
            self._values_cond.notify_all()
        if self.debugger is not None:
            self.debugger.abort()
        if self.stepper is not None:
            self.stepper.abort()
        if self.trainer is not None and self.trainer.running:
            self.trainer.stop()
