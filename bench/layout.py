"""Layout benchmark: the embedded layered layout against Graphviz ``dot`` on real autograd graphs.

    python bench/layout.py [--dot-timeout 60] [--no-dot] [--repeat 3]

For each graph: boxes drawn (shared leaves copied per use where the layout does so),
edges, milliseconds to positions (best of ``--repeat``), crossings of the edges as
drawn (between consecutive layers, through dummy points), and width in node slots
(drawing width / (mean box width + gap)). When ``dot`` is on PATH it lays out the very
same boxes and edges (same box sizes) in the same run, with a timeout; its crossings
are counted the same way, from its splines sampled at every rank. Then module
grouping on the largest transformer: first view, expand one layer, collapse it back.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import _graphs  # noqa: E402

from graphviz_app.core.draw.layout import (  # noqa: E402
    GAP_X,
    DrawnEdge,
    Layout,
    count_crossings,
    layout_graph,
)
from graphviz_app.core.graph.grouping import (  # noqa: E402
    collapse,
    expand,
    group_graph,
    initial_collapse,
)


def best_time(fn, repeat: int):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def slots(width: float, w: np.ndarray) -> float:
    return width / (float(np.mean(w)) + GAP_X)


def to_dot(lay: Layout) -> str:
    lines = ["digraph G {", "node [shape=box, fixedsize=true, label=\"\"];"]
    for i in range(len(lay.x)):
        lines.append(f"b{i} [width={lay.w[i] / 72:.3f}, height={lay.h[i] / 72:.3f}];")
    for de in lay.edges:
        lines.append(f"b{de.src} -> b{de.dst};")
    lines.append("}")
    return "\n".join(lines)


def _bezier(ctrl: np.ndarray, k: int = 12) -> np.ndarray:
    out = [ctrl[:1]]
    t = np.linspace(0, 1, k + 1)[1:, None]
    for s in range(0, len(ctrl) - 3, 3):
        p0, p1, p2, p3 = ctrl[s:s + 4]
        out.append((1 - t) ** 3 * p0 + 3 * (1 - t) ** 2 * t * p1 + 3 * (1 - t) * t ** 2 * p2 + t ** 3 * p3)
    return np.concatenate(out)


def dot_layout(lay: Layout, timeout: float):
    """(seconds, Layout with dot's positions) or (None, None) on timeout."""
    text = to_dot(lay)
    t = time.perf_counter()
    try:
        res = subprocess.run(["dot", "-Tplain"], input=text, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, None
    dt = time.perf_counter() - t
    if res.returncode != 0:
        return None, None
    m = len(lay.x)
    x = np.zeros(m)
    y = np.zeros(m)
    w = np.zeros(m)
    h = np.zeros(m)
    splines = []
    height = width = 0.0
    for line in res.stdout.splitlines():
        f = shlex.split(line)
        if not f:
            continue
        if f[0] == "graph":
            width, height = float(f[2]) * 72, float(f[3]) * 72
        elif f[0] == "node":
            i = int(f[1][1:])
            x[i], y[i], w[i], h[i] = (float(v) * 72 for v in f[2:6])
        elif f[0] == "edge":
            n = int(f[3])
            pts = np.array(f[4:4 + 2 * n], dtype=float).reshape(n, 2) * 72
            splines.append((int(f[1][1:]), int(f[2][1:]), pts))
    y = height - y  # y down, like ours
    ranks = np.unique(np.round(y, 2))
    layer = np.searchsorted(ranks, np.round(y, 2))
    edges = []
    for s, d, pts in splines:
        poly = _bezier(pts)
        poly[:, 1] = height - poly[:, 1]
        ls, ld = layer[s], layer[d]
        ry = ranks[min(ls, ld):max(ls, ld) + 1]
        o = np.argsort(poly[:, 1])
        xs = np.interp(ry, poly[o, 1], poly[o, 0])
        edges.append(DrawnEdge(-1, s, d, np.column_stack([xs, ry]) if ls < ld else np.column_stack([xs, ry])[::-1]))
    dl = Layout(lay.node_index, x, y, w, h, layer, edges, width, height, "TB")
    return dt, dl


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dot-timeout", type=float, default=60.0)
    ap.add_argument("--no-dot", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", default="", help="run only graphs whose name contains this")
    args = ap.parse_args()
    dot = None if args.no_dot else shutil.which("dot")

    print("| graph | nodes | boxes | edges | layout ms | crossings | width (slots) |"
          + (" dot s | dot crossings | dot width (slots) |" if dot else ""))
    print("|---|---:|---:|---:|---:|---:|---:|" + ("---:|---:|---:|" if dot else ""))
    keep = {}
    for name, make in _graphs.GRAPHS.items():
        if args.only and args.only not in name:
            continue
        g = make()
        keep[name] = g
        layout_graph(g)  # warm caches (label sizes)
        dt, lay = best_time(lambda: layout_graph(g), args.repeat)
        c = count_crossings(lay)
        row = (f"| {name} | {len(g.nodes)} | {len(lay.x)} | {len(g.edges)} | {dt * 1e3:.1f} | {c} | "
               f"{slots(lay.width, lay.w):.1f} |")
        if dot:
            ddt, dl = dot_layout(lay, args.dot_timeout)
            if dl is None:
                row += f" > {args.dot_timeout:.0f} | – | – |"
            else:
                row += f" {ddt:.2f} | {count_crossings(dl)} | {slots(dl.width, dl.w):.1f} |"
        print(row, flush=True)
    if not dot and not args.no_dot:
        print("(dot not on PATH: no comparison)")

    name = "Transformer x250"
    g = keep.get(name) or (None if args.only else _graphs.transformer(250))
    if g is None:
        return
    print()
    print(f"Module grouping, {name} ({len(g.nodes)} nodes):")
    t = time.perf_counter()
    c0 = initial_collapse(g, max_boxes=300)
    t_init = time.perf_counter() - t

    def relayout(c):
        gg, _ = group_graph(g, c)
        return gg, layout_graph(gg)

    dt0, (gg0, _) = best_time(lambda: relayout(c0), args.repeat)
    path = sorted(c0, key=lambda p: (p.count("."), len(p), p))[len(c0) // 2]
    parent = path
    c1 = expand(g, c0, path)
    dt1, (gg1, _) = best_time(lambda: relayout(c1), args.repeat)
    c2 = collapse(c1, parent)
    dt2, (gg2, _) = best_time(lambda: relayout(c2), args.repeat)
    print("| step | boxes | ms (group + layout) |")
    print("|---|---:|---:|")
    print(f"| first view (initial_collapse {t_init * 1e3:.0f} ms) | {len(gg0.nodes)} | {dt0 * 1e3:.1f} |")
    print(f"| expand {path} | {len(gg1.nodes)} | {dt1 * 1e3:.1f} |")
    print(f"| collapse {parent} | {len(gg2.nodes)} | {dt2 * 1e3:.1f} |")


if __name__ == "__main__":
    main()
