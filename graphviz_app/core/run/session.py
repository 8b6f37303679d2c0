"""One loaded scenario, run step by step: forward, capture, backward, update.

The GUI's controller and the headless ``export`` command both drive this class, so
what the app shows and what the CLI writes come from the same code.
"""

from __future__ import annotations

import time
from typing import Any

import torch

from ..graph.capture import capture
from ..graph.model import Graph
from .debugger import BackwardDebugger, BackwardResult
from .scenario import Scenario


class Session:
    """A scenario plus its latest forward output and captured graph."""

    def __init__(self, scenario: Scenario, source: str | None = None) -> None:
        self.scenario = scenario
        self.source = source
        self.output: Any = None
        self.graph: Graph | None = None
        self.debugger: BackwardDebugger | None = None
        self.last_forward_s = 0.0

    def forward(self, sources: bool = False) -> Graph:
        """Run the forward pass and capture its graph (the previous one is released).

        Nodes carry the module that made them (``encoder.layers.3.linear1``);
        ``sources=True`` also runs the forward under anomaly mode so each node carries
        its forward ``file:line`` (slower).
        """
        import contextlib

        from ..graph.anomaly import record_sources
        from ..graph.modules import track_modules

        sc = self.scenario
        self.release()
        if sc.zero_grad and sc.optimizer is None:
            sc.zero_grads()
        t0 = time.perf_counter()
        tracker = track_modules(sc.model) if sc.model is not None else contextlib.nullcontext(None)
        with tracker as mods, (record_sources() if sources else contextlib.nullcontext(None)) as srcs:
            out = sc.output()
        loss = sc.record_loss(out)
        self.output = out
        graph = capture(out, names=sc.names(), model=sc.model, modules=mods, sources=srcs)
        if hasattr(mods, "clear"):
            mods.clear()  # the tracker holds graph nodes: let them go with the graph
        self.last_forward_s = time.perf_counter() - t0
        graph.meta.update(
            scenario=sc.name,
            step=sc.step_count,
            loss_history=list(sc.loss_history),
            loss=loss,
        )
        self.graph = graph
        return graph

    def make_debugger(self) -> BackwardDebugger:
        """A debugger for the current graph that runs the scenario's own backward."""
        if self.graph is None:
            self.forward()
        out = self.output
        if self.scenario.backward is None:  # a custom backward may start from other tensors
            from .diagnose import check_backward_ready

            check_backward_ready(out, self.graph, self.scenario)
        self.debugger = BackwardDebugger(self.graph, out, run=lambda: self._run_backward(out))
        self.debugger.scenario = self.scenario
        return self.debugger

    def _run_backward(self, out: Any) -> None:
        """The scenario's backward (on the debugger's worker), with what reentrant
        checkpoints recompute added to the graph under their checkpoint node."""
        from ..graph.recompute import recording

        sc = self.scenario
        assert self.graph is not None
        recording(self.graph, lambda: sc.run_backward(out), sc.model, sc.names())

    def backward(self, timeout: float | None = None) -> BackwardResult:
        """Run backward to the end (hooks record everything) and return its result.

        Without ``timeout`` it runs on the calling thread (see
        :meth:`BackwardDebugger.run_here`); with one, on a backward worker, waited for
        at most ``timeout`` seconds."""
        dbg = self.make_debugger()
        if timeout is None:
            return dbg.run_here()
        dbg.start("run")
        result = dbg.wait(timeout)
        assert result is not None, "backward did not finish in time"
        return result

    def finish_step(self) -> None:
        """After a successful backward: the optimizer or manual update, step count."""
        self.scenario.apply_update()
        self.scenario.step_count += 1
        if self.graph is not None:
            self.graph.meta["step"] = self.scenario.step_count

    def train(self, steps: int) -> list[float]:
        """Plain training steps (no hooks) on the calling thread; returns the losses."""
        losses = []
        for _ in range(steps):
            loss = self.scenario.train_step()
            if loss is not None:
                losses.append(loss)
        return losses

    def release(self) -> None:
        if self.debugger is not None:
            self.debugger.release()
            self.debugger = None
        # The output first, then the live nodes from the output down: each node is then
        # freed on its own, never a deep chain at once (see graph.LiveNodes).
        self.output = None
        if self.graph is not None:
            self.graph.detach()

    @property
    def device(self) -> str:
        return self.scenario.device

    @staticmethod
    def torch_version() -> str:
        return torch.__version__
