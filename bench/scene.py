"""Scene benchmark: the Qt scene for real autograd graphs of ~1.8k and ~19k nodes, offscreen.

    python bench/scene.py [--frames 10] [--size 1280x800] [--huge]

For each graph (nn.TransformerEncoder d_model=64, nhead=4, dim_feedforward=128, with
24 and 250 layers; ``--huge`` adds 1390 layers, about 100k nodes): layout time; scene
build time, both in one go and the way the app builds big scenes (in chunks through
the event loop, with the longest single event-loop turn, i.e. the longest the window
would not respond); then the frame time of a view of ``--size`` pixels, rendered
into a QImage through ``QGraphicsView.render`` (which always draws every item), at
100% zoom (centred on the output) and fully zoomed out (whole graph in view),
median of ``--frames``.

A second table is about the zoomed-out view the app shows, painted the way the
window paints it (the viewport's paint event, rendered into a QImage), side by side:
every item's ``paint`` against the scene's overview (bulk paths by colour); the first
overview frame after the minimap's first rerender (below); a frame after a backward step (20 boxes refreshed, the current node moved); the minimap's
first rerender, 300 ms after the build as in the window (meanwhile the overview reads
the new items on idle event-loop turns), with the longest event-loop turn in those
300 ms; the minimap's rerender after a step; and a hit test (``itemAt``, what a click
or a tooltip costs).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import _graphs  # noqa: E402
from PySide6.QtCore import QEventLoop, QPointF, QRectF, Qt, QTimer  # noqa: E402
from PySide6.QtGui import QColor, QImage, QPainter, QTransform  # noqa: E402

from graphviz_app.core.draw.layout import layout_graph  # noqa: E402
from graphviz_app.ui.app import get_app  # noqa: E402
from graphviz_app.ui.graph_scene import GraphScene, GraphView, box_size  # noqa: E402
from graphviz_app.ui.overlays import Minimap  # noqa: E402

GRAPHS = {"Transformer x24": 24, "Transformer x250": 250}
HUGE = {"Transformer x1390": 1390}


def on_big_stack(fn):
    """Run ``fn`` on a thread with a large stack: freeing a very deep autograd graph
    recurses in C++ and overflows the main thread's stack."""
    old = threading.stack_size(512 * 2**20)
    box = {}
    try:
        t = threading.Thread(target=lambda: box.update(result=fn()))
        t.start()
    finally:
        threading.stack_size(old)
    t.join()
    return box["result"]


def graph_and_layout(layers: int):
    def build():
        graph = _graphs.transformer(layers)
        t = time.perf_counter()
        layout = layout_graph(graph, sizes=[box_size(n) for n in graph.nodes])
        return graph, layout, time.perf_counter() - t
    return on_big_stack(build)


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


def viewport_frames(view: GraphView, frames: int) -> float:
    """Median time of the viewport's own paint event (what the window runs), into a QImage."""
    vp = view.viewport()
    image = QImage(vp.width(), vp.height(), QImage.Format_RGB32)
    times = []
    for _ in range(frames):
        image.fill(QColor("white"))
        t = time.perf_counter()
        vp.render(image)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def backward_step(scene: GraphScene, graph, k: int) -> None:
    """What a paused backward step changes: a few boxes refreshed, the current node moved."""
    ids = [n.id for n in graph.nodes]
    start = (k * 20) % max(len(ids) - 20, 1)
    for nid in ids[start:start + 20]:
        scene.refresh_node(nid)
    scene.set_current(ids[start])


def idle(ms: int) -> float:
    """Run the event loop for ``ms`` milliseconds; the longest turn in it, in seconds."""
    loop = QEventLoop()
    ticks = [time.perf_counter()]
    tick = QTimer(interval=1)
    tick.timeout.connect(lambda: ticks.append(time.perf_counter()))
    tick.start()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()
    tick.stop()
    ticks.append(time.perf_counter())
    return max(b - a for a, b in zip(ticks, ticks[1:]))


def zoomed_out(view: GraphView, scene: GraphScene, graph, frames: int) -> dict:
    """The second table's numbers for a view fitted to the whole graph."""
    out = {}
    minimap = Minimap(view)
    # As in the window: a big graph opens at a readable zoom (drawn item by item), and the
    # minimap re-renders 300 ms after the build (its throttle); meanwhile the overview
    # reads the new items on idle event-loop turns.
    fitted = view.transform()
    view.resetTransform()
    out["idle_turn"] = idle(300)
    out["minimap_cold"] = timed(minimap.rerender)
    view.setTransform(fitted)
    out["first"] = viewport_frames(view, 1)
    view.overview_enabled = True
    assert view.uses_overview() or scene.box_count() <= 1000
    out["overview"] = viewport_frames(view, frames)
    view.overview_enabled = False
    out["items"] = viewport_frames(view, max(1, min(frames, 3)))  # slow: fewer frames
    view.overview_enabled = True
    steps, maps = [], []
    for k in range(5):
        backward_step(scene, graph, k)
        steps.append(viewport_frames(view, 1))
        backward_step(scene, graph, k + 5)
        maps.append(timed(minimap.rerender))
    out["step"] = statistics.median(steps)
    out["minimap_step"] = statistics.median(maps)
    lay = scene.layout
    pts = [QPointF(float(lay.x[i]), float(lay.y[i])) for i in range(0, len(lay.x), max(1, len(lay.x) // 20))]
    out["itemat"] = statistics.median(timed(lambda p=p: scene.itemAt(p, QTransform())) for p in pts)
    minimap.deleteLater()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=10)
    ap.add_argument("--size", default="1280x800")
    ap.add_argument("--only", help="run only the graphs whose name contains this")
    ap.add_argument("--huge", action="store_true", help="also a ~100k-node graph (slow)")
    args = ap.parse_args(argv)
    vw, vh = (int(v) for v in args.size.lower().split("x"))
    get_app()
    rows, rows2 = [], []
    graphs = dict(GRAPHS, **(HUGE if args.huge else {}))
    for name, layers in graphs.items():
        if args.only and args.only.lower() not in name.lower():
            continue
        graph, layout, layout_s = graph_and_layout(layers)

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
        out_ms = frame_times(view, args.frames if len(layout.node_index) < 50_000 else 2) * 1e3
        rows.append((name, len(graph.nodes), len(layout.node_index), len(layout.edges), layout_s, sync_s,
                     chunked_s, longest_s, full_ms, out_ms, zoom))
        rows2.append((name, zoomed_out(view, scene, graph, args.frames)))
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
    print()
    print("zoomed out (whole graph in view), painted as the window paints it:")
    print()
    print("| graph | frame ms, every item | frame ms, overview | first overview frame ms | frame ms after a step "
          "| first minimap ms (300 ms after the build) | longest turn in those 300 ms | minimap ms after a step "
          "| itemAt ms |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, r in rows2:
        print(f"| {name} | {r['items'] * 1e3:.1f} | {r['overview'] * 1e3:.1f} | {r['first'] * 1e3:.1f} | "
              f"{r['step'] * 1e3:.1f} | {r['minimap_cold'] * 1e3:.0f} | {r['idle_turn'] * 1e3:.0f} | "
              f"{r['minimap_step'] * 1e3:.1f} | {r['itemat'] * 1e3:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
