"""Export benchmark: a ~20k-node autograd graph written in every format, headless.

    python bench/export.py [--layers 250] [--formats png,svg,pdf,dot,json] [--keep DIR]

The graph is a real one: nn.TransformerEncoder(d_model=64, nhead=4,
dim_feedforward=128) with ``--layers`` layers, forward + sum, captured like the app
does. Each format is timed the way ``graphviz-app export`` writes it: the layout
(computed once and shared, reported on its own line), then the file. Target: each
format ≤ 5 s with the layout included.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import _graphs  # noqa: E402

from graphviz_app.core.draw.layout import layout_graph  # noqa: E402

TARGET_S = 5.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=250)
    ap.add_argument("--formats", default="png,svg,pdf,dot,json")
    ap.add_argument("--keep", help="write the files into this folder (default: a temporary one)")
    args = ap.parse_args(argv)
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]

    t = time.perf_counter()
    graph = _graphs.transformer(args.layers)
    capture_s = time.perf_counter() - t
    print(f"graph: TransformerEncoder x{args.layers}: {len(graph.nodes)} nodes, {len(graph.edges)} edges "
          f"(captured in {capture_s:.1f} s, not counted)")

    from graphviz_app.core.draw.export_dot import write_dot
    from graphviz_app.core.draw.export_svg import write_svg
    from graphviz_app.core.files import snapshot

    qt_layout = plain_layout = None
    t = time.perf_counter()
    plain_layout = layout_graph(graph)
    plain_layout_s = time.perf_counter() - t
    if any(f in ("png", "pdf") for f in formats):
        from graphviz_app.ui.app import get_app
        from graphviz_app.ui.graph_scene import box_size
        from graphviz_app.ui.render import render_pdf, render_png

        get_app()
        t = time.perf_counter()
        qt_layout = layout_graph(graph, sizes=[box_size(n) for n in graph.nodes])
        qt_layout_s = time.perf_counter() - t

    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="export-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for fmt in formats:
        out = folder / f"transformer{args.layers}.{fmt}"
        t = time.perf_counter()
        if fmt == "png":
            render_png(graph, qt_layout, out)
            layout_s = qt_layout_s
        elif fmt == "pdf":
            render_pdf(graph, qt_layout, out)
            layout_s = qt_layout_s
        elif fmt == "svg":
            write_svg(graph, plain_layout, out)
            layout_s = plain_layout_s
        elif fmt == "dot":
            write_dot(graph, out)
            layout_s = 0.0
        elif fmt == "json":
            snapshot.save(graph, out)
            layout_s = 0.0
        else:
            raise SystemExit(f"unknown format {fmt!r}")
        write_s = time.perf_counter() - t
        rows.append((fmt, layout_s, write_s, out.stat().st_size))

    print()
    print(f"| format | layout s | write s | total s | size MB | ≤ {TARGET_S:.0f} s |")
    print("|---|---:|---:|---:|---:|:---:|")
    for fmt, layout_s, write_s, size in rows:
        total = layout_s + write_s
        print(f"| {fmt} | {layout_s:.2f} | {write_s:.2f} | {total:.2f} | {size / 1e6:.1f} | "
              f"{'yes' if total <= TARGET_S else 'NO'} |")
    if not args.keep:
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
