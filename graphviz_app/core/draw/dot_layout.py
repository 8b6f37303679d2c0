"""Optional layout engine: Graphviz ``dot``, when it is installed.

The embedded layout (:mod:`graphviz_app.core.draw.layout`) is the default and needs no
system install. Users who know Graphviz's drawings may choose ``dot`` instead; it is
much slower on autograd graphs (tens of seconds at a few thousand nodes), so it runs
as a child process with a time limit and can be cancelled at any moment.

The graph goes to ``dot -Tplain`` with one fixed-size box per node, in the same
direction convention as the embedded engine (edges point the way gradients flow;
"TB" puts the output on top). The plain output's inches are turned into the same
:class:`~graphviz_app.core.draw.layout.Layout` the scene draws (y grows downward; edges
are dot's spline control points).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections import defaultdict, deque
from typing import Sequence

import numpy as np

from ..graph.model import Graph
from .layout import DrawnEdge, Layout, node_size

DEFAULT_TIMEOUT = 120.0
POINTS = 72.0  # dot's plain output is in inches


class DotError(RuntimeError):
    """dot is missing, failed, or ran past its time limit (a plain message)."""


class DotCancelled(Exception):
    """The user cancelled the layout; dot was stopped."""


def dot_available() -> str | None:
    """The path of ``dot``, or None when Graphviz is not installed."""
    return shutil.which("dot")


def dot_source(graph: Graph, direction: str, sizes: Sequence[tuple[float, float]]) -> str:
    """The input for dot: nodes ``n<index>`` as fixed boxes, no labels (only positions matter)."""
    lines = [
        "digraph G {",
        f"  graph [rankdir={'BT' if direction == 'BT' else 'TB'}, nodesep=0.25, ranksep=0.4, splines=spline];",
        '  node [shape=box, fixedsize=true, label=""];',
    ]
    index = {n.id: i for i, n in enumerate(graph.nodes)}
    for i, (w, h) in enumerate(sizes):
        lines.append(f"  n{i} [width={w / POINTS:.4f}, height={h / POINTS:.4f}];")
    for e in graph.edges:
        lines.append(f"  n{index[e.src]} -> n{index[e.dst]};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def parse_plain(text: str, graph: Graph, direction: str, sizes: Sequence[tuple[float, float]]) -> Layout:
    """Turn ``dot -Tplain`` output into a :class:`Layout` (scene coordinates, y down)."""
    n = len(graph.nodes)
    x = np.zeros(n)
    y = np.zeros(n)
    seen = np.zeros(n, dtype=bool)
    height = 0.0
    width = 0.0
    splines: dict[tuple[int, int], deque] = defaultdict(deque)
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "graph" and len(parts) >= 4:
            width, height = float(parts[2]) * POINTS, float(parts[3]) * POINTS
        elif parts[0] == "node" and len(parts) >= 4 and parts[1].startswith("n"):
            i = int(parts[1][1:])
            x[i] = float(parts[2]) * POINTS
            y[i] = height - float(parts[3]) * POINTS
            seen[i] = True
        elif parts[0] == "edge" and len(parts) >= 4:
            a, b, k = int(parts[1][1:]), int(parts[2][1:]), int(parts[3])
            coords = [float(v) * POINTS for v in parts[4:4 + 2 * k]]
            pts = np.array([(coords[j], height - coords[j + 1]) for j in range(0, 2 * k, 2)], dtype=float)
            splines[(a, b)].append(pts)
    if not seen.all():
        raise DotError(f"dot left {int((~seen).sum())} of {n} nodes without a position")
    w = np.array([s[0] for s in sizes], dtype=float)
    h = np.array([s[1] for s in sizes], dtype=float)
    rows = np.unique(np.round(y, 1))
    layer = np.searchsorted(rows, np.round(y, 1))
    index = {nd.id: i for i, nd in enumerate(graph.nodes)}
    edges: list[DrawnEdge] = []
    for ei, e in enumerate(graph.edges):
        a, b = index[e.src], index[e.dst]
        queue = splines.get((a, b))
        pts = queue.popleft() if queue else np.array([(x[a], y[a]), (x[b], y[b])], dtype=float)
        if len(pts) < 2:
            pts = np.array([(x[a], y[a]), (x[b], y[b])], dtype=float)
        edges.append(DrawnEdge(edge=ei, src=a, dst=b, points=pts))
    return Layout(node_index=np.arange(n), x=x, y=y, w=w, h=h, layer=layer.astype(int), edges=edges,
                  width=max(width, float((x + w / 2).max()) if n else 0.0),
                  height=max(height, float((y + h / 2).max()) if n else 0.0), direction=direction)


def dot_layout(
    graph: Graph,
    direction: str = "TB",
    sizes: Sequence[tuple[float, float]] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    cancel: threading.Event | None = None,
    dot: str | None = None,
) -> Layout:
    """Lay ``graph`` out with Graphviz ``dot`` in a child process.

    Raises :class:`DotCancelled` soon after ``cancel`` is set (dot is killed) and
    :class:`DotError` when dot is missing, fails or runs past ``timeout`` seconds."""
    exe = dot or dot_available()
    if exe is None:
        raise DotError("Graphviz dot is not installed (not found on PATH); the embedded layout needs nothing")
    if sizes is None:
        sizes = [node_size(nd.label) for nd in graph.nodes]
    with tempfile.TemporaryDirectory(prefix="graphviz_app_dot_") as tmp:
        src = os.path.join(tmp, "graph.dot")
        out = os.path.join(tmp, "graph.plain")
        with open(src, "w", encoding="utf-8") as f:
            f.write(dot_source(graph, direction, sizes))
        try:
            proc = subprocess.Popen([exe, "-Tplain", "-o", out, src], stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
        except OSError as exc:
            raise DotError(f"could not start dot: {exc}") from None
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    proc.wait(timeout=0.05)
                    break
                except subprocess.TimeoutExpired:
                    pass
                if cancel is not None and cancel.is_set():
                    raise DotCancelled()
                if time.monotonic() > deadline:
                    raise DotError(f"dot did not finish within {timeout:g} s on {len(graph.nodes)} nodes")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        err = proc.stderr.read().decode("utf-8", "replace").strip() if proc.stderr else ""
        if proc.stderr:
            proc.stderr.close()
        if proc.returncode != 0 or not os.path.exists(out):
            raise DotError(f"dot failed (exit code {proc.returncode}): {err.splitlines()[-1] if err else 'no message'}")
        with open(out, encoding="utf-8", errors="replace") as f:
            text = f.read()
    return parse_plain(text, graph, direction, sizes)
