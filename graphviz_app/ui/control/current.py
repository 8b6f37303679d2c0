"""The graph on screen and the session behind it: run its forward (on a worker),
publish a graph with its layout, replace the session, end the runs on it."""

from __future__ import annotations

import time

from ...core.graph.model import Graph
from ...core.run.session import Session
from ...core.system import memory


class CurrentGraph:
    """What every feature does to the shown graph; ``ctl`` holds ``session``, ``graph``,
    ``layout``, ``record_sources`` and the runs (``debugger``, ``stepper``, ``trainer``)."""

    def __init__(self, ctl) -> None:
        self.ctl = ctl

    def forward(self, session: Session, sources: bool | None = None) -> Graph:
        """session.forward() (module names, optional source lines) plus small saved values."""
        from ...core.graph.explain import record_saved_values

        ctl = self.ctl
        sources = ctl.record_sources if sources is None else sources
        t0 = time.perf_counter()
        graph = session.forward(sources=bool(sources))
        if graph.live:
            record_saved_values(graph)
        graph.meta.setdefault("device", str(session.scenario.device))
        ctl.last_forward_s = time.perf_counter() - t0
        return graph

    def publish(self, graph: Graph, layout) -> None:
        """Show ``graph`` with ``layout`` (``graph_ready``)."""
        # Keep the cyclic GC off what a load allocates (model, graph, layout): a full
        # collection over it holds the GIL for 50-200 ms and the window would stutter.
        # Acyclic objects are still freed by reference counting when dropped.
        memory.keep()
        ctl = self.ctl
        ctl.graph, ctl.layout = graph, layout
        ctl.graph_ready.emit(graph, layout)

    def forward_and_publish(self, session: Session, sources: bool | None = None) -> Graph:
        """A fresh forward of ``session``, laid out and shown."""
        graph = self.forward(session, sources)
        self.publish(graph, self.ctl.layouts.layout(graph))
        return graph

    def emit_loss(self, session: Session) -> None:
        """The session's latest loss as a point on the loss plot."""
        hist = session.scenario.loss_history
        if hist:
            self.ctl.loss_added.emit(len(hist) - 1, float(hist[-1]))

    def replace_session(self, new: Session | None) -> None:
        """Release the current session for ``new``: its hooks, its graph and the code
        it was built from (so a model kept in a module global is freed too)."""
        old = self.ctl.session
        if old is None or old is new:
            return
        old.release()
        memory.forget_code(old.scenario)

    def drop_runs(self) -> None:
        """End any backward, forward stepping or training (before a new forward)."""
        ctl = self.ctl
        ctl.backward.abort_debugger()
        st = ctl.stepper
        if st is not None:
            st.release()
            ctl.stepper = None
        tr = ctl.trainer
        if tr is not None and tr.running:
            tr.stop()
            tr.wait(5.0)
