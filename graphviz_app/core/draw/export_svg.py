"""SVG export without Qt: boxes, curves and text as real SVG text elements.

Reads a Graph and its layout, so the headless CLI and the app write the same
picture; every label is XML-escaped (quotes, angle brackets, control characters).
"""

from __future__ import annotations

from xml.sax.saxutils import escape as _xml_escape

from ..graph.model import LEAF, OUTPUT, Graph
from . import text_metrics as tm
from .box_text import export_detail, fitted, slots

FILL = {LEAF: "#add8e6", OUTPUT: "#caff70", "group": "#fff7c2"}
OP_FILL = "#e4e4e4"
EXECUTED_FILL = "#ffd59a"


def xml_text(text: str, limit: int = 200) -> str:
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    if not text.isprintable():  # control characters become spaces
        text = "".join(ch if ch.isprintable() else " " for ch in text)
    return _xml_escape(text, {'"': "&quot;"})


def detail_line(n, inside: int | None = None) -> str:
    return export_detail(n, inside)


def _path_d(points) -> str:
    pts = [(float(x), float(y)) for x, y in points]
    d = [f"M{pts[0][0]:.1f},{pts[0][1]:.1f}"]
    if len(pts) == 2:
        d.append(f"L{pts[1][0]:.1f},{pts[1][1]:.1f}")
    else:
        for i in range(1, len(pts) - 1):
            if i < len(pts) - 2:
                mx, my = (pts[i][0] + pts[i + 1][0]) / 2, (pts[i][1] + pts[i + 1][1]) / 2
            else:
                mx, my = pts[i + 1]
            d.append(f"Q{pts[i][0]:.1f},{pts[i][1]:.1f} {mx:.1f},{my:.1f}")
    return " ".join(d)


def to_svg(graph: Graph, layout, margin: float = 20.0) -> str:
    w, h = layout.width + 2 * margin, layout.height + 2 * margin
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w:.0f}" height="{h:.0f}" '
        f'viewBox="{-margin:.0f} {-margin:.0f} {w:.0f} {h:.0f}" font-family="{tm.FAMILY}, sans-serif" '
        f'data-measured-with="{tm.measured_with()}">',
        '<desc>Box sizes were measured for the font named here; a viewer without it may '
        'draw text wider or narrower than its box.</desc>',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#8c8c8c"/></marker></defs>',
        f'<rect x="{-margin:.0f}" y="{-margin:.0f}" width="{w:.0f}" height="{h:.0f}" fill="#ffffff"/>',
        '<g class="edges" fill="none" stroke="#8c8c8c" stroke-width="1.1">',
    ]
    for de in layout.edges:
        out.append(f'<path d="{_path_d(de.points)}" marker-end="url(#arrow)"/>')
    out.append("</g>")
    out.append('<g class="nodes">')
    counts = graph.meta.get("groups") or {}
    for i in range(len(layout.node_index)):
        n = graph.nodes[int(layout.node_index[i])]
        x, y, bw, bh = float(layout.x[i]), float(layout.y[i]), float(layout.w[i]), float(layout.h[i])
        fill = FILL.get(n.kind, EXECUTED_FILL if n.exec_order is not None else OP_FILL)
        out.append(f'<g class="node" id="{xml_text(n.id, 100)}_{i}">')
        out.append(
            f'<rect x="{x - bw / 2:.1f}" y="{y - bh / 2:.1f}" width="{bw:.1f}" height="{bh:.1f}" rx="6" '
            f'fill="{fill}" stroke="#7a7a7a"/>'
        )
        detail = detail_line(n, counts.get(n.name) if n.kind == "group" else None)
        out.extend(_box_text(n.label, detail, x, y, bw, bh))
        out.append("</g>")
    out.append("</g></svg>")
    return "\n".join(out) + "\n"


def _box_text(label: str, detail: str, x: float, y: float, bw: float, bh: float) -> list[str]:
    """The ``<text>`` lines of one box, elided to fit it (as the scene draws them)."""
    (_, t1, _, h1), (_, t2, _, h2) = slots(bw, bh)
    if not detail:  # the name alone: centred in the box
        t1, h1 = -bh / 2, bh
    lines = [f'<text x="{x:.1f}" y="{y + tm.baseline_in(t1, h1, tm.LABEL_PX):.1f}" text-anchor="middle" '
             f'font-size="{tm.LABEL_PX:g}" font-weight="bold">'
             f"{xml_text(fitted(label, bw, True, tm.LABEL_PX), 400)}</text>"]
    if detail:
        lines.append(f'<text x="{x:.1f}" y="{y + tm.baseline_in(t2, h2, tm.DETAIL_PX):.1f}" text-anchor="middle" '
                     f'font-size="{tm.DETAIL_PX:g}" fill="#b3261e">'
                     f"{xml_text(fitted(detail, bw, False, tm.DETAIL_PX), 400)}</text>")
    return lines


def write_svg(graph: Graph, layout, path) -> None:
    from ..system.atomic import atomic_write_text

    atomic_write_text(path, to_svg(graph, layout))
