"""Step the forward pass module by module (or op by op) and watch the graph grow.

How it works: the scenario's forward runs on a daemon worker thread. Every
submodule of ``scenario.model`` gets a forward pre-hook (keeps the stack of module
paths being called) and a forward hook; a ``TorchFunctionMode``, entered on the
worker only (torch function modes are thread-local), sees every torch op. After a
module call (and, at op granularity, after each op whose result is part of the
autograd graph) the worker may pause: it captures the partial graph from the
outputs seen so far (:func:`capture`, with each ``grad_fn`` tagged with the innermost
module that made it), emits ``paused`` and waits on a ``threading.Condition``
(which releases the GIL; the GUI stays free). Controls mirror
:class:`~graphviz_app.core.run.debugger.BackwardDebugger`: ``step``, ``step_op``,
``continue_`` (to a breakpoint: a module path or an op name), ``run_to_end``,
``abort``; ``wait_paused`` and ``wait`` for tests and headless use. Hooks act only on
the worker thread and are removed in ``finally``.

When the forward ends, ``graph`` holds the whole live graph (module-tagged) and
:meth:`ForwardStepper.make_debugger` continues with the backward debugger on it.
A scenario without a model is stepped op by op.
"""

from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass, field
from typing import Any, Iterable

import torch
from torch.overrides import TorchFunctionMode

from ..graph.capture import capture
from ..graph.model import OP, OUTPUT, Graph
from .debugger import BackwardDebugger
from .events import Signal
from .scenario import Scenario

MODULE = "module"
OPS = "op"


class ForwardAborted(RuntimeError):
    """Raised inside a hook to stop a paused forward."""


@dataclass
class ForwardStop:
    """Where the forward paused."""

    index: int  # position in ``ForwardStepper.order``
    kind: str  # "module" | "op"
    name: str  # module path ("" for the model itself) or op name
    module: str | None  # module path the op ran in (for a module stop: its own path)
    graph: Graph  # the partial autograd graph so far (live)
    output: list[dict[str, Any]] = field(default_factory=list)  # shape/dtype of what it returned

    @property
    def label(self) -> str:
        if self.kind == MODULE:
            return self.name or "(model)"
        return f"{self.name} in {self.module}" if self.module else self.name


@dataclass
class ForwardResult:
    status: str  # "finished" | "aborted" | "failed"
    order: list[tuple[str, str]] = field(default_factory=list)  # (kind, name) of every stop point passed
    error: str | None = None
    traceback: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "finished"

    def modules(self) -> list[str]:
        """Module paths in the order their calls finished."""
        return [n for k, n in self.order if k == MODULE]

    def ops(self) -> list[str]:
        return [n for k, n in self.order if k == OPS]


def _tensors(obj: Any, depth: int = 0) -> list[torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        return [obj]
    if depth > 3:
        return []
    if isinstance(obj, dict):
        obj = list(obj.values())
    if isinstance(obj, (list, tuple)):
        out: list[torch.Tensor] = []
        for o in obj:
            out += _tensors(o, depth + 1)
        return out
    return []


def _op_name(func: Any) -> str:
    name = getattr(func, "__name__", None) or str(func)
    if name == "__get__":  # a property such as Tensor.T
        owner = getattr(func, "__self__", None)
        name = getattr(owner, "__name__", name)
    name = name.strip("_") if name.startswith("__") else name
    return name


class _OpMode(TorchFunctionMode):
    def __init__(self, stepper: "ForwardStepper") -> None:
        super().__init__()
        self.stepper = stepper

    def __torch_function__(self, func, types, args=(), kwargs=None):
        result = func(*args, **(kwargs or {}))
        st = self.stepper
        if st._busy:
            return result
        ts = [t for t in _tensors(result) if t.grad_fn is not None]
        if ts:
            st._on_op(_op_name(func), ts)
        return result


class ForwardStepper:
    """Run a scenario's forward pass on a worker, pausing after modules or ops.

    ``granularity``: ``"module"`` pauses after each module call, ``"op"`` after each op
    and each module call; change it while paused with :meth:`set_granularity`, or take
    a single op step with :meth:`step_op`. ``include_root``: also stop when the model
    itself returns. ``saved``: describe saved tensors in partial graphs.
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        granularity: str = MODULE,
        include_root: bool = True,
        saved: bool = True,
    ) -> None:
        if granularity not in (MODULE, OPS):
            raise ValueError(f"granularity must be {MODULE!r} or {OPS!r}")
        self.scenario = scenario
        self.granularity = granularity if scenario.model is not None else OPS
        self.include_root = include_root
        self.saved = saved
        self.breakpoints: set[str] = set()  # module paths (and their children) or op names

        self.paused = Signal("paused")  # (ForwardStop)
        self.finished = Signal("finished")  # (ForwardResult)

        self._cond = threading.Condition()
        self._mode = "step"
        self._go = False
        self._abort = False
        self._busy = False  # inside our own hook: the op mode ignores what we do
        self._thread: threading.Thread | None = None
        self._ident: int | None = None
        self._stack: list[str] = []
        self._fn_module: dict[Any, str] = {}
        self._seen: list[torch.Tensor] = []
        self.order: list[tuple[str, str]] = []
        self.stop: ForwardStop | None = None  # the current pause
        self.output: Any = None
        self.graph: Graph | None = None
        self.result: ForwardResult | None = None

    # ----------------------------------------------------------------- control
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def is_paused(self) -> bool:
        return self.stop is not None

    def start(self, mode: str = "step") -> None:
        """Start the forward on the worker: ``mode`` is step, step_op, continue or run."""
        if self._thread is not None:
            raise RuntimeError("this stepper has already run; make a new one")
        self._set_mode(mode)
        self._thread = threading.Thread(target=self._work, name="graphviz-app-forward", daemon=True)
        self._thread.start()

    def _set_mode(self, mode: str) -> None:
        if mode not in ("step", "step_op", "continue", "run"):
            raise ValueError(f"unknown mode {mode!r}")
        with self._cond:
            self._mode = mode
            self._go = True
            self.stop = None
            self._cond.notify_all()

    def _resume(self, mode: str) -> None:
        if self._thread is None:
            self.start(mode)
        else:
            self._set_mode(mode)

    def step(self) -> None:
        """Run to the next stop at the current granularity."""
        self._resume("step")

    def step_op(self) -> None:
        """Run to the next op (or module end), whatever the granularity."""
        self._resume("step_op")

    def continue_(self) -> None:
        """Run until a breakpoint matches (or the end)."""
        self._resume("continue")

    def run_to_end(self) -> None:
        self._resume("run")

    def set_granularity(self, granularity: str) -> None:
        if granularity not in (MODULE, OPS):
            raise ValueError(f"granularity must be {MODULE!r} or {OPS!r}")
        self.granularity = granularity

    def abort(self) -> None:
        with self._cond:
            self._abort = True
            self._cond.notify_all()

    def wait(self, timeout: float | None = None) -> ForwardResult | None:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.result

    def wait_paused(self, timeout: float | None = 10.0) -> ForwardStop | None:
        """Block until the forward pauses or ends; the stop, or None if it ended."""
        with self._cond:
            self._cond.wait_for(lambda: self.stop is not None or self.result is not None, timeout)
            return self.stop

    # ------------------------------------------------------------------ hooks
    def _assign(self, roots: Iterable[Any], path: str | None) -> None:
        """Tag grad_fns not yet tagged, walking back from ``roots``, with ``path``."""
        if path is None:
            return
        stack = [fn for fn in roots if fn is not None and fn not in self._fn_module]
        while stack:
            fn = stack.pop()
            if fn in self._fn_module:
                continue
            if hasattr(fn, "variable"):  # AccumulateGrad: a leaf, not made here
                continue
            self._fn_module[fn] = path
            for child, _ in fn.next_functions:
                if child is not None and child not in self._fn_module:
                    stack.append(child)

    def _on_op(self, name: str, outputs: list[torch.Tensor]) -> None:
        if threading.get_ident() != self._ident:
            return
        self._busy = True
        try:
            module = self._stack[-1] if self._stack else None
            self._assign((t.grad_fn for t in outputs), module)
            self._seen.extend(outputs)
            self._reached(OPS, name, module, outputs)
        finally:
            self._busy = False

    def _pre_hook(self, path: str):
        def pre(module, args):
            if threading.get_ident() == self._ident:
                if self._abort:
                    raise ForwardAborted("forward aborted")
                self._stack.append(path)
            return None

        return pre

    def _post_hook(self, path: str):
        def post(module, args, output):
            if threading.get_ident() != self._ident:
                return None
            self._busy = True
            try:
                if self._stack and self._stack[-1] == path:
                    self._stack.pop()
                outs = [t for t in _tensors(output) if t.grad_fn is not None]
                self._assign((t.grad_fn for t in outs), path)
                self._seen.extend(outs)
                if path or self.include_root:
                    self._reached(MODULE, path, path, outs)
            finally:
                self._busy = False
            return None

        return post

    def _reached(self, kind: str, name: str, module: str | None, outputs: list[torch.Tensor]) -> None:
        self.order.append((kind, name))
        if self._abort:
            raise ForwardAborted("forward aborted")
        if self._should_pause(kind, name, module):
            self._pause(kind, name, module, outputs)

    def _should_pause(self, kind: str, name: str, module: str | None) -> bool:
        mode = self._mode
        if mode == "run":
            return False
        if mode == "step_op":
            return True
        if mode == "step":
            return kind == MODULE or self.granularity == OPS
        for bp in self.breakpoints:
            if kind == OPS and name == bp:
                return True
            if kind == MODULE and (name == bp or (bp and name.startswith(f"{bp}."))):
                return True
        return False

    def partial_graph(self) -> Graph:
        """The graph behind every output seen so far; only unconsumed ones are outputs."""
        g = capture(self._seen, names=self.scenario.names(), model=self.scenario.model,
                    modules=self._fn_module, saved=self.saved)
        consumed = {e.dst for e in g.edges}
        for n in g.nodes:
            if n.kind == OUTPUT and n.id in consumed:
                n.kind = OP
        g.meta.update(scenario=self.scenario.name, partial=True, forward_stop=len(self.order) - 1)
        return g

    def _pause(self, kind: str, name: str, module: str | None, outputs: list[torch.Tensor]) -> None:
        stop = ForwardStop(
            index=len(self.order) - 1,
            kind=kind,
            name=name,
            module=module,
            graph=self.partial_graph(),
            output=[{"shape": list(t.shape), "dtype": str(t.dtype).replace("torch.", ""), "device": str(t.device)}
                    for t in outputs],
        )
        with self._cond:
            self._go = False
            self.stop = stop
            self._cond.notify_all()
        self.paused.emit(stop)
        with self._cond:
            while not self._go and not self._abort:
                self._cond.wait()
            self.stop = None
            if self._abort:
                raise ForwardAborted("forward aborted")

    # ----------------------------------------------------------------- worker
    def _work(self) -> None:
        self._ident = threading.get_ident()
        sc = self.scenario
        result = ForwardResult(status="finished")
        handles: list[Any] = []
        try:
            if sc.model is not None:
                for path, m in sc.model.named_modules():
                    try:
                        handles.append(m.register_forward_pre_hook(self._pre_hook(path)))
                        handles.append(m.register_forward_hook(self._post_hook(path)))
                    except (RuntimeError, AttributeError, TypeError):  # TorchScript modules take no hooks
                        continue
            sc.prepare_step()
            with _OpMode(self):
                out = sc.output()
            self.output = out
            self._busy = True
            loss = sc.record_loss(out)
            graph = capture(out, names=sc.names(), model=sc.model, modules=self._fn_module)
            graph.meta.update(scenario=sc.name, step=sc.step_count, loss=loss,
                              loss_history=list(sc.loss_history))
            self.graph = graph
        except ForwardAborted:
            result.status = "aborted"
        except BaseException as exc:  # the user's error, with their traceback
            result.status = "failed"
            result.error = f"{type(exc).__name__}: {exc}"
            result.traceback = "".join(traceback.format_exception(exc))
        finally:
            for h in handles:
                h.remove()
            self._busy = False
            self._stack.clear()
            self._seen = []
        result.order = list(self.order)
        with self._cond:
            self.result = result
            self.stop = None
            self._cond.notify_all()
        self.finished.emit(result)

    def make_debugger(self) -> BackwardDebugger:
        """After a finished forward: a backward debugger on its graph (the scenario's backward)."""
        if self.result is None or not self.result.ok or self.graph is None:
            raise RuntimeError("the forward pass has not finished")
        out = self.output
        return BackwardDebugger(self.graph, run=lambda: self.scenario.run_backward(out))

    def release(self) -> None:
        self.abort()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        if self.graph is not None:
            self.graph.detach()
        self.output = None


def call_order(scenario: Scenario) -> list[str]:
    """Module paths in the order their calls finish in one forward (no pauses)."""
    st = ForwardStepper(scenario)
    st.start("run")
    res = st.wait()
    if res is None or not res.ok:
        raise RuntimeError(res.error if res else "the forward did not finish")
    st.release()
    return res.modules()
