"""Scene benchmark: the Qt scene for real autograd graphs of ~1.8k and ~19k nodes, offscreen.

    python bench/scene.py [--frames 10] [--size 1280x800]

For each graph (nn.TransformerEncoder d_model=64, nhead=4, dim_feedforward=128, with
24 and 250 layers): layout time; scene build time, both in one go and the way the
app builds big scenes (in chunks through the event loop, with the longest single
event-loop turn, i.e. the longest the window would not respond); then the frame
time of a view of ``--size`` pixels, rendered into a QImage, at 100% zoom (centred
on the output) and fully zoomed out (whole graph in view), median of ``--frames``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import _graphs  # noqa: E402
from PySide6.QtCore import QEventLoop, QRectF, Qt, QTimer  # noqa: E402
from PySide6.QtGui import QColor, QImage, QPainter  # noqa: E402

from graphviz_app.core.layout import layout_graph  # noqa: E402
from graphviz_app.ui.app import get_app  # noqa: E402
from graphviz_app.ui.graph_scene import GraphScene, GraphView, box_size  # noqa: E402

GRAPHS = {"Transformer x24": 24, "Transformer x250": 250}


def chunked_build(graph, layout):
    """Build in chunks through the event loop; (total seconds, longest turn in seconds)."""
    scene = GraphScene()
    loop = QEventLoop()
    stamps = []
    scene.build_progress.connect(lambda done, total: stamps.append(time.perf_counter()))
    scene.built.connect(loop.quit)
    t0 = time.perf_counter()
    scene.set_graph(graph, layout, chunked=True)
    stamps.append(time.perf_counter())
    if scene.building:
        guard = QTimer(singleShot=True)
        guard.timeout.connect(loop.quit)
        guard.start(120_000)
        loop.exec()
    total = time.perf_counter() - t0
    gaps = [b - a for a, b in zip([t0] + stamps, stamps)]
    return scene, total, max(gaps) if gaps else total


def frame_times(view: GraphView, frames: int) -> float:
    vp = view.viewport().rect()
    image = QImage(vp.width(), vp.height(), QImage.Format_RGB32)
    times = []
    for _ in range(frames):
        image.fill(QColor("white"))
        t = time.perf_counter()
        painter = QPainter(image)
        painter.setRenderHints(view.renderHints())
        view.render(painter, QRectF(image.rect()), vp)
        painter.end()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=10)
    ap.add_argument("--size", default="1280x800")
    ap.add_argument("--only", help="run only the graphs whose name contains this")
    args = ap.parse_args(argv)
    vw, vh = (int(v) for v in args.size.lower().split("x"))
    get_app()
    rows = []
    for name, layers in GRAPHS.items():
        if args.only and args.only.lower() not in name.lower():
            continue
        graph = _graphs.transformer(layers)
        t = time.perf_counter()
        layout = layout_graph(graph, sizes=[box_size(n) for n in graph.nodes])
        layout_s = time.perf_counter() - t

        t = time.perf_counter()
        scene = GraphScene()
        scene.set_graph(graph, layout)
        sync_s = time.perf_counter() - t
        scene.clear()
        del scene
        scene, chunked_s, longest_s = chunked_build(graph, layout)

        view = GraphView(scene)
        view.resize(vw, vh)
        view.show()
        get_app().processEvents()
        view.resetTransform()
        outs = graph.outputs() or graph.nodes[:1]
        items = scene.items_by_id.get(outs[0].id)
        if items:
            view.centerOn(items[0])
        full_ms = frame_times(view, args.frames) * 1e3
        view.fitInView(scene.sceneRect(), Qt.KeepAspectRatio)
        zoom = view.transform().m11()
        out_ms = frame_times(view, args.frames) * 1e3
        rows.append((name, len(graph.nodes), len(layout.node_index), len(layout.edges), layout_s, sync_s,
                     chunked_s, longest_s, full_ms, out_ms, zoom))
        view.close()
        view.deleteLater()
        get_app().processEvents()

    print(f"view {vw}x{vh}, offscreen, median of {args.frames} frames")
    print()
    print("| graph | nodes | boxes | edges drawn | layout s | scene build s (one go) | scene build s (chunked) "
          "| longest event-loop turn ms | frame ms at 100% | frame ms zoomed out (zoom) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, n, boxes, edges, layout_s, sync_s, chunked_s, longest_s, full_ms, out_ms, zoom in rows:
        print(f"| {name} | {n} | {boxes} | {edges} | {layout_s:.2f} | {sync_s:.2f} | {chunked_s:.2f} | "
              f"{longest_s * 1e3:.0f} | {full_ms:.1f} | {out_ms:.1f} ({zoom * 100:.2g}%) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
