"""Layouts on workers: the embedded engine or Graphviz dot, the modules drawn as one box
each (grouping), the direction and how shared leaves are drawn. A relayout keeps the
debugger, the execution list and the inspector as they are."""

from __future__ import annotations

import threading
import time

from ...core.graph.model import Graph
from ..scene_items import box_size
from .jobs import Cancelled


def compute_layout(graph: Graph, direction: str, collapsed=(), engine: str = "embedded",
                   cancel: threading.Event | None = None, timeout: float = 120.0, split_leaves: bool | None = None):
    """Layout of ``graph`` with the modules in ``collapsed`` drawn as one box each, by
    the embedded engine or (``engine="dot"``) Graphviz dot in a child process.

    The layout carries what it drew: ``layout.drawn`` (the grouped graph, or ``graph``)
    and ``layout.box_of`` (node id -> box id; empty when nothing is collapsed)."""
    from ...core.draw.layout import layout_graph
    from ...core.graph.grouping import group_graph

    drawn, box_of = (group_graph(graph, collapsed) if collapsed else (graph, {}))
    if collapsed and split_leaves is None:
        # A collapsed view is small: a weight shared by every call of a cell is one
        # box with its fan-out, not one copy beside each collapsed run of calls.
        split_leaves = False
    from ...core.graph.summary import remembered_texts

    with remembered_texts():  # a gradient sent is the dict its consumer received: format it once
        sizes = [box_size(n) for n in drawn.nodes]
    if engine == "dot":
        from ...core.draw.dot_layout import DotCancelled, dot_layout

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


class Layouts:
    """Lays the controller's graph out (on the worker that calls :meth:`layout`) and
    starts relayouts; ``ctl`` holds ``direction``, ``collapsed``, ``auto_collapse``,
    ``layout_engine``, ``split_leaves`` and ``dot_timeout``."""

    def __init__(self, ctl) -> None:
        self.ctl = ctl

    def compute(self, graph: Graph, direction: str, collapsed):
        """compute_layout with the chosen engine; dot that fails or runs too long falls
        back to the embedded layout with a message."""
        ctl = self.ctl
        if ctl.layout_engine == "dot":
            from ...core.draw.dot_layout import DotError

            try:
                return compute_layout(graph, direction, collapsed, "dot", ctl.jobs.cancel_event, ctl.dot_timeout)
            except DotError as exc:
                ctl.info.emit(f"Graphviz dot: {exc}. The embedded layout is shown instead.")
        if ctl.split_leaves is None:
            return compute_layout(graph, direction, collapsed)
        return compute_layout(graph, direction, collapsed, split_leaves=ctl.split_leaves)

    def layout(self, graph: Graph, new_source: bool = False):
        """Lay out ``graph``; for a newly opened source, first pick the modules to show
        collapsed (a large model opens at a depth of at most about 300 boxes)."""
        from ...core.graph.grouping import initial_collapse, known_keys

        ctl = self.ctl
        t0 = time.perf_counter()
        if new_source:
            ctl.collapsed = initial_collapse(graph) if ctl.auto_collapse else set()
        shown = known_keys(graph, ctl.collapsed) if ctl.collapsed else set()
        layout = self.compute(graph, ctl.direction, shown)
        ctl.last_layout_s = time.perf_counter() - t0
        return layout

    def relayout(self, message: str = "Laying out…", collapsed: set[str] | None = None) -> bool:
        """Lay the current graph out again on a worker (``relayout_ready``; the debugger's
        state, the execution list and the inspector stay). ``collapsed``: the modules to
        draw as one box each from now on (default: as they are)."""
        ctl = self.ctl
        graph = ctl.graph
        if graph is None:
            return False

        def job() -> None:
            if collapsed is None:
                layout = self.layout(graph)
            else:
                t0 = time.perf_counter()
                layout = self.compute(graph, ctl.direction, collapsed)
                ctl.last_layout_s = time.perf_counter() - t0
            ctl.jobs.check_cancel()
            if collapsed is not None:
                ctl.collapsed = collapsed
            ctl.layout = layout
            ctl.relayout_ready.emit(graph, layout)

        return ctl.jobs.spawn("layout", job, message)

    def set_split_leaves(self, split: bool | None) -> None:
        """Draw a shared leaf once per use (True), once (False) or automatically (None)."""
        self.ctl.split_leaves = split
        self.relayout()

    def set_layout_engine(self, engine: str) -> None:
        """"embedded" (default) or "dot"; lays the current graph out again."""
        self.ctl.layout_engine = "dot" if engine == "dot" else "embedded"
        self.relayout("Laying out with Graphviz dot…" if engine == "dot" else "Laying out…")

    def set_direction(self, direction: str) -> None:
        """Lay the current graph out again top-to-bottom ("TB") or bottom-to-top ("BT")."""
        self.ctl.direction = direction
        self.relayout()

    def set_collapsed(self, paths) -> bool:
        """Draw the modules in ``paths`` as one box each (relayout on a worker; the
        debugger, execution list and inspector stay as they are)."""
        return self.relayout(collapsed=set(paths))

    def collapse_module(self, path: str) -> bool:
        from ...core.graph.grouping import collapse

        return self.set_collapsed(collapse(self.ctl.collapsed, path))

    def expand_module(self, path: str) -> bool:
        from ...core.graph.grouping import expand

        ctl = self.ctl
        return self.set_collapsed(expand(ctl.graph, ctl.collapsed, path) if ctl.graph is not None else set())
