"""The bridge between the window and the core: all torch work runs on workers.

The :class:`Controller` is a facade: it holds the signals the window listens to and
the state every feature shares (the :class:`~graphviz_app.core.run.session.Session`,
the shown graph and layout, the debugger, the forward stepper, the trainer, the
breakpoints), and hands each request to the object of its feature in
:mod:`.control` (loading, layouts, the forward pass, the backward debugger, training,
values, explanations). Those start their work on daemon threads and report through
the controller's signals; Qt queues a signal emitted on another thread, so every slot
in the window runs on the GUI thread, which never waits on torch.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, Signal

from ..core.graph.model import Graph
from ..core.run.debugger import BackwardDebugger, Breakpoint
from ..core.run.session import Session
from ..core.run.step_store import DEFAULT_MEMORY_BUDGET
from .control.backward import BackwardDriver
from .control.current import CurrentGraph
from .control.explaining import Explainer
from .control.forward import ForwardControl
from .control.jobs import CANCELLABLE, Cancelled, JobRunner
from .control.layouts import Layouts, compute_layout
from .control.loading import Loader
from .control.training import TrainingControl
from .control.values import MAX_IMAGE, MAX_TABLE, ValuesReader, tensor_payload

__all__ = ["CANCELLABLE", "MAX_IMAGE", "MAX_TABLE", "Cancelled", "Controller", "compute_layout",
           "tensor_payload"]


def _delegate(feature: str, name: str):
    """A facade method that calls ``self.<feature>.<name>`` (and has its docstring)."""

    def method(self, *args, **kwargs):
        return getattr(getattr(self, feature), name)(*args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = f"See :meth:`{feature}.{name}`."
    return method


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
    needs_trust = Signal(str, str)  # path, why: the file would run code when read (UntrustedCodeError)
    breakpoints_changed = Signal()
    nan_found = Signal(str)  # node id of the first non-finite gradient, "" when none
    nan_cause = Signal(str)  # the NaN hunt's cause found before the backward (state, forward op)
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
        # Time travel: every observed training step is kept; the newest within this
        # many bytes stay in memory, older ones go to disk (core.run.step_store).
        self.memory_budget = DEFAULT_MEMORY_BUDGET
        self.collapsed: set[str] = set()  # module paths drawn as one box each
        self.auto_collapse = True  # a large model opens collapsed to at most ~300 boxes
        self.layout_engine = "embedded"  # or "dot" (Graphviz, when installed; core.dot_layout)
        self.split_leaves: bool | None = None  # a shared leaf drawn once per use (None: for big graphs)
        self.dot_timeout = 120.0
        # Python files and programs are first run in a child process with this time limit
        # (core.user_code), so a file that exits, hangs or crashes cannot take the app down.
        self.safe_load = True
        self.load_timeout = 60.0
        self.last_layout_s = 0.0
        self.last_run_s = 0.0
        self.last_forward_s = 0.0
        self.jobs = JobRunner(self)
        self.layouts = Layouts(self)
        self.current = CurrentGraph(self)
        self.loading = Loader(self)
        self.forward = ForwardControl(self)
        self.backward = BackwardDriver(self)
        self.training_control = TrainingControl(self)
        self.explainer = Explainer(self)
        self.values = ValuesReader(lambda *payload: self.values_ready.emit(*payload))
        self.busy_changed.connect(self.jobs.track_busy)  # first slot: runs before the window's

    # ---------------------------------------------------------------- state
    @property
    def busy(self) -> bool:
        """True from a job's start until the GUI has received its end (so every signal the
        job sent before it ended has been delivered too), and while training runs."""
        return self.jobs.gui_busy or self.training

    @property
    def training(self) -> bool:
        return self.training_control.running

    @property
    def debugging_training(self) -> bool:
        """A training step's backward is running under the debugger (see debug_training_step)."""
        return self.training_control.debugging

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

    @property
    def cancellable(self) -> bool:
        """A load, build, forward or layout is running and can be cancelled."""
        return self.jobs.cancellable

    # ------------------------------------------------------------ requests
    cancel = _delegate("jobs", "cancel")
    wait_idle = _delegate("jobs", "wait_idle")

    open = _delegate("loading", "open")
    open_model = _delegate("loading", "open_model")
    open_program = _delegate("loading", "open_program")
    open_scenario = _delegate("loading", "open_scenario")
    set_device = _delegate("loading", "set_device")

    set_split_leaves = _delegate("layouts", "set_split_leaves")
    set_layout_engine = _delegate("layouts", "set_layout_engine")
    set_direction = _delegate("layouts", "set_direction")
    set_collapsed = _delegate("layouts", "set_collapsed")
    collapse_module = _delegate("layouts", "collapse_module")
    expand_module = _delegate("layouts", "expand_module")

    rerun = _delegate("forward", "rerun")
    forward_step = _delegate("forward", "forward_step")

    add_breakpoint = _delegate("backward", "add_breakpoint")
    remove_breakpoint = _delegate("backward", "remove_breakpoint")
    set_breakpoint_enabled = _delegate("backward", "set_breakpoint_enabled")
    clear_breakpoints = _delegate("backward", "clear_breakpoints")
    step = _delegate("backward", "step")
    continue_ = _delegate("backward", "continue_")
    run_to_end = _delegate("backward", "run_to_end")
    run_to = _delegate("backward", "run_to")
    step_into = _delegate("backward", "step_into")
    step_out = _delegate("backward", "step_out")
    nan_hunt = _delegate("backward", "nan_hunt")
    abort = _delegate("backward", "abort")
    restart = _delegate("backward", "restart")

    train = _delegate("training_control", "train")
    debug_training_step = _delegate("training_control", "debug_training_step")
    set_memory_budget = _delegate("training_control", "set_memory_budget")
    pause_training = _delegate("training_control", "pause_training")
    resume_training = _delegate("training_control", "resume_training")
    stop_training = _delegate("training_control", "stop_training")
    show_snapshot = _delegate("training_control", "show_snapshot")

    explain_missing = _delegate("explainer", "explain_missing")
    module_params = _delegate("explainer", "module_params")

    def request_values(self, node_id: str, which: str, slot: int = 0) -> None:
        """The tensor behind a gradient slot, for the values view (``values_ready``). One
        daemon worker serves the requests; when the user steps faster than it reads,
        only the latest request is served."""
        self.values.request(node_id, which, slot, self.debugger, self.graph)

    def shutdown(self) -> None:
        """Stop every worker quickly (window closing)."""
        self.values.stop()
        if self.debugger is not None:
            self.debugger.abort()
        if self.stepper is not None:
            self.stepper.abort()
        if self.trainer is not None and self.trainer.running:
            self.trainer.stop()
        self.drop_trainer()

    def drop_trainer(self) -> None:
        """Forget the trainer and the training steps it spilled to disk (its files go now,
        not whenever the collector gets to it, and not never when the process ends)."""
        tr, self.trainer = self.trainer, None
        if tr is not None:
            tr.store.close()
